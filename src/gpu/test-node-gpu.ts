/**
 * For unit tests that need a WebGPU adapter in Node (Dawn through the
 * `webgpu` package): SwiftShader's Vulkan driver when no ICD is set and
 * Chromium's is installed, and null when Dawn finds no adapter, so a test
 * can skip rather than fail on a machine without one.
 */
import { existsSync } from 'node:fs';
import type { Gpu } from './gpu';

const SWIFTSHADER = '/usr/lib/chromium/vk_swiftshader_icd.json';

export async function tryNodeGpu(): Promise<Gpu | null> {
  if (!process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER)) process.env.VK_ICD_FILENAMES = SWIFTSHADER;
  try {
    const { createNodeGpu } = await import('./node-gpu');
    return await createNodeGpu();
  } catch {
    return null;
  }
}

/**
 * WebGPU in Node through Dawn (npm `webgpu`), for kernel checks and benchmarks
 * on machines without a browser. Without a GPU, point Vulkan at Chromium's
 * SwiftShader: VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json.
 */
import { Gpu } from './gpu';

// Dawn's GPU object must outlive every device made from it: once it is
// garbage-collected, the next mapAsync crashes the process.
const keepAlive: GPU[] = [];

export async function createNodeGpu(): Promise<Gpu> {
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  const gpu = create([]);
  keepAlive.push(gpu);
  return Gpu.create(gpu);
}

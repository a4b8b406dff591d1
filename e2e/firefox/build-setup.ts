/**
 * One production build for every test file of this suite: it is served on a
 * free loopback port for as long as the suite runs, and each file finds it
 * with inject('buildUrl').
 */
import type { TestProject } from 'vitest/node';
import { serveProductionBuild } from './serve-build';

declare module 'vitest' {
  export interface ProvidedContext {
    buildUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const build = await serveProductionBuild();
  project.provide('buildUrl', build.url);
  return () => build.close();
}

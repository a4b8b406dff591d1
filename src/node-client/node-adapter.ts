/**
 * The headless client's GPU: Dawn in Node (the `webgpu` package), on the
 * adapter the operator names. Dawn picks an adapter by a substring of its
 * name (its `adapter=` option) and lists the ones it has when none matches,
 * which is how the client lists them.
 */
import { Gpu } from '../gpu/gpu';

/** Dawn's GPU objects must outlive every device made from them: once one is collected, the next mapAsync crashes the process. */
const keepAlive: GPU[] = [];

async function dawn(flags: string[]): Promise<GPU> {
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  const gpu = create(flags);
  keepAlive.push(gpu);
  return gpu;
}

/** A device on the first adapter whose name contains `adapter` (Dawn's high-performance pick when none is named). */
export async function createAdapterGpu(adapter: string | null, onLost: (message: string) => void): Promise<Gpu> {
  return Gpu.create(await dawn(adapter ? [`adapter=${adapter}`] : []), onLost);
}

/** The adapters Dawn finds on this machine, as "backend: name" lines. */
export async function listAdapters(): Promise<string[]> {
  const gpu = await dawn(['adapter=\u0001no adapter has this name']);
  try {
    await gpu.requestAdapter();
    return [];
  } catch (err) {
    const lines = String((err as Error).message).split('\n');
    return lines.flatMap((l) => {
      const m = /backend: '([^']*)', name: '([^']*)'/.exec(l);
      return m ? [`${m[1]}: ${m[2]}`] : [];
    });
  }
}

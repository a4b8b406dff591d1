/**
 * onnxruntime-web with the WebGPU execution provider on a one-node MatMul
 * model. ONNX MatMul has no transposed-B form, so ORT always computes the
 * 'nn' product; the bench compares it with both of our layouts.
 */
import ortWasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url';
import { agreement, type MatmulData } from './data';
import { adapterRecord, emptyF32, readF32, uploadF32 } from './gpu-buffers';
import { matmulModel } from './onnx-matmul';
import { errorText, type Candidate } from './timing';
import type { AdapterRecord, Reference, Size } from './types';

type Ort = typeof import('onnxruntime-web/webgpu');
type Session = import('onnxruntime-web/webgpu').InferenceSession;

export class OrtBench {
  private constructor(
    private readonly ort: Ort,
    /** Never released: ORT destroys its device when its last WebGPU session goes, and buffers made on it die too. */
    readonly keepAlive: Session,
    readonly device: GPUDevice,
  ) {}

  static async create(): Promise<OrtBench> {
    const ort = await import('onnxruntime-web/webgpu');
    // Threads need SharedArrayBuffer, i.e. a cross-origin-isolated page; ours is not.
    ort.env.wasm.numThreads = 1;
    // The webgpu bundle carries its Emscripten glue inside but fetches the
    // .wasm next to itself (new URL(..., import.meta.url)); after Vite
    // rebundles ORT that guess is wrong, so point it at the asset Vite emitted.
    ort.env.wasm.wasmPaths = { wasm: ortWasmUrl };
    ort.env.logLevel = 'warning';
    // ORT requests its adapter and device with its first WebGPU session and publishes the device in env.webgpu.device.
    const keepAlive = await createSession(ort, { M: 1, N: 1, K: 1 }, 'cpu');
    return new OrtBench(ort, keepAlive, await ort.env.webgpu.device);
  }

  get adapter(): AdapterRecord {
    return adapterRecord(this.device.adapterInfo);
  }

  /** GPU-resident I/O when ORT accepts it (one trial run decides), else CPU tensors. */
  async candidate(d: MatmulData, reference: () => Reference): Promise<Candidate> {
    const gpu = await this.gpuResident(d, reference);
    try {
      await gpu.step();
      await gpu.sync();
      return gpu;
    } catch (err) {
      await gpu.dispose();
      const cpu = await this.cpuResident(d, reference);
      cpu.note += `; GPU-resident I/O failed: ${errorText(err)}`;
      return cpu;
    }
  }

  /** The device of the session just created: buffers made on any other device are invalid there. */
  private async sessionDevice(): Promise<GPUDevice> {
    const device = await this.ort.env.webgpu.device;
    if (device !== this.device) throw new Error('ORT switched to a new GPUDevice between sessions');
    return device;
  }

  /** Inputs and output stay in GPU buffers, as inside a model: no upload or readback per rep. */
  private async gpuResident(d: MatmulData, reference: () => Reference): Promise<Candidate> {
    const session = await createSession(this.ort, d, 'gpu-buffer');
    const device = await this.sessionDevice().catch(async (err: unknown) => {
      await session.release();
      throw err;
    });
    const bufs = { a: uploadF32(device, 'ort.A', d.a), b: uploadF32(device, 'ort.B', d.b), y: emptyF32(device, 'ort.Y', d.M * d.N) };
    const tensor = (buffer: GPUBuffer, dims: number[]) => this.ort.Tensor.fromGpuBuffer(buffer, { dataType: 'float32', dims });
    const feeds = { A: tensor(bufs.a, [d.M, d.K]), B: tensor(bufs.b, [d.K, d.N]) };
    const fetches = { Y: tensor(bufs.y, [d.M, d.N]) };
    return {
      impl: 'ort',
      layout: 'nn',
      note: 'GPU-resident A, B, Y (Tensor.fromGpuBuffer, preallocated output); sync: queue.onSubmittedWorkDone',
      step: () => session.run(feeds, fetches),
      sync: () => device.queue.onSubmittedWorkDone(),
      async finish() {
        const output = await readF32(device, bufs.y, d.M * d.N);
        const ref = reference();
        return { output, gpuMs: null, check: agreement(output, ref) };
      },
      async dispose() {
        await session.release();
        for (const buf of Object.values(bufs)) buf.destroy();
      },
    };
  }

  /** Fallback: CPU tensors, so every rep uploads A and B and downloads Y (which is also its sync). */
  private async cpuResident(d: MatmulData, reference: () => Reference): Promise<Candidate> {
    const { ort } = this;
    const session = await createSession(ort, d, 'cpu');
    const feeds = { A: new ort.Tensor('float32', d.a, [d.M, d.K]), B: new ort.Tensor('float32', d.b, [d.K, d.N]) };
    let last: Float32Array = new Float32Array(0);
    return {
      impl: 'ort',
      layout: 'nn',
      note: 'CPU-resident I/O: each rep uploads A, B and reads Y back',
      step: async () => {
        last = (await session.run(feeds)).Y.data as Float32Array;
      },
      sync: async () => undefined,
      async finish() {
        const ref = reference();
        return { output: last, gpuMs: null, check: agreement(last, ref) };
      },
      dispose: () => session.release(),
    };
  }
}

function createSession(ort: Ort, s: Size, output: 'cpu' | 'gpu-buffer'): Promise<Session> {
  return ort.InferenceSession.create(matmulModel(s.M, s.N, s.K), {
    executionProviders: ['webgpu'],
    preferredOutputLocation: output,
    graphOptimizationLevel: 'all',
    // Fail instead of quietly running MatMul on the wasm CPU provider.
    extra: { session: { disable_cpu_ep_fallback: '1' } },
  });
}

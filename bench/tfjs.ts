/**
 * @tensorflow/tfjs-backend-webgpu: tf.matMul with transposeB matching our
 * layout ('nt' is a linear layer's x·Wᵀ), plus tfjs's own timestamp-query
 * kernel time from tf.time.
 */
import { agreement, type MatmulData } from './data';
import { adapterRecord } from './gpu-buffers';
import type { Candidate } from './timing';
import type { AdapterRecord, Layout, Reference } from './types';

type Tf = typeof import('@tensorflow/tfjs-core');
type Tensor = import('@tensorflow/tfjs-core').Tensor;

export class TfjsBench {
  private constructor(private readonly tf: Tf) {}

  static async create(): Promise<TfjsBench> {
    const tf = await import('@tensorflow/tfjs-core');
    await import('@tensorflow/tfjs-backend-webgpu'); // registers the 'webgpu' backend
    // tfjs runs small ops on the CPU by default; a GPU benchmark must not.
    tf.env().set('WEBGPU_CPU_FORWARD', false);
    if (!(await tf.setBackend('webgpu'))) throw new Error('tf.setBackend("webgpu") returned false');
    await tf.ready();
    return new TfjsBench(tf);
  }

  get adapter(): AdapterRecord {
    const backend = this.tf.backend() as unknown as { device?: GPUDevice };
    return adapterRecord(backend.device?.adapterInfo);
  }

  candidate(d: MatmulData, layout: Layout, reps: number, reference: () => Reference): Candidate {
    const { tf } = this;
    const transposeB = layout === 'nt';
    const a = tf.tensor2d(d.a, [d.M, d.K]);
    const b = transposeB ? tf.tensor2d(d.bt, [d.N, d.K]) : tf.tensor2d(d.b, [d.K, d.N]);
    const product = () => tf.matMul(a, b, false, transposeB);
    let last: Tensor | null = null;
    const lastResult = (): Tensor => {
      if (!last) throw new Error('tfjs: sync before any step');
      return last;
    };
    return {
      impl: 'tfjs',
      layout,
      note: 'sync: await data() of the last result (one M×N readback per batch); gpuMs: tf.time kernelMs',
      step: () => {
        last?.dispose();
        last = product();
      },
      // data() is tfjs's only public sync; it also reads C back, once per timed batch.
      sync: () => lastResult().data(),
      finish: async () => {
        const output = (await lastResult().data()) as Float32Array;
        const ref = reference();
        return { output, gpuMs: await this.kernelMs(product, reps), check: agreement(output, ref) };
      },
      async dispose() {
        last?.dispose();
        a.dispose();
        b.dispose();
      },
    };
  }

  /** Mean kernel time per matMul from tf.time, or null when tfjs has no timestamps. */
  private async kernelMs(product: () => Tensor, reps: number): Promise<number | null> {
    let total = 0;
    for (let r = 0; r < reps; r++) {
      const t = await this.tf.time(() => product().dispose());
      if (typeof t.kernelMs !== 'number') return null;
      total += t.kernelMs;
    }
    return total / reps;
  }
}

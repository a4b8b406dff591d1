/**
 * Compiles each (WGSL source, entry point, override constants) once. Shader
 * compilation is slow everywhere and very slow on SwiftShader, so kernels
 * take their shapes from uniforms and only tile sizes from constants.
 */
export class PipelineCache {
  private readonly modules = new Map<string, GPUShaderModule>();
  private readonly pipelines = new Map<string, GPUComputePipeline>();

  constructor(private readonly device: GPUDevice) {}

  get(label: string, code: string, entryPoint = 'main', constants: Record<string, number> = {}): GPUComputePipeline {
    const constKey = Object.keys(constants)
      .sort()
      .map((k) => `${k}=${constants[k]}`)
      .join(',');
    const key = `${label}|${entryPoint}|${constKey}|${code.length}|${hash(code)}`;
    let pipeline = this.pipelines.get(key);
    if (pipeline) return pipeline;
    let module = this.modules.get(code);
    if (!module) {
      module = this.device.createShaderModule({ label: `${label}.wgsl`, code });
      this.modules.set(code, module);
    }
    pipeline = this.device.createComputePipeline({
      label: `${label}:${entryPoint}${constKey ? `[${constKey}]` : ''}`,
      layout: 'auto',
      compute: { module, entryPoint, constants },
    });
    this.pipelines.set(key, pipeline);
    return pipeline;
  }

  get size(): number {
    return this.pipelines.size;
  }
}

/** FNV-1a: cheap key material; the source length also goes into the key. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

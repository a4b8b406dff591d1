/** Plain WebGPU helpers for libraries that hand us their own GPUDevice. */
import type { AdapterRecord } from './types';

const USAGE = 0x80 | 0x4 | 0x8; // STORAGE | COPY_SRC | COPY_DST

export function uploadF32(device: GPUDevice, label: string, data: Float32Array): GPUBuffer {
  const buf = device.createBuffer({ label, size: Math.max(16, data.byteLength), usage: USAGE });
  device.queue.writeBuffer(buf, 0, data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
  return buf;
}

export function emptyF32(device: GPUDevice, label: string, n: number): GPUBuffer {
  return device.createBuffer({ label, size: Math.max(16, n * 4), usage: USAGE });
}

export async function readF32(device: GPUDevice, buf: GPUBuffer, n: number): Promise<Float32Array> {
  const staging = device.createBuffer({ label: `${buf.label}.readback`, size: n * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const enc = device.createCommandEncoder({ label: `${buf.label}.read` });
  enc.copyBufferToBuffer(buf, 0, staging, 0, n * 4);
  device.queue.submit([enc.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const out = new Float32Array(staging.getMappedRange().slice(0));
  staging.unmap();
  staging.destroy();
  return out;
}

export function adapterRecord(info: GPUAdapterInfo | undefined): AdapterRecord {
  return {
    vendor: info?.vendor ?? '',
    architecture: info?.architecture ?? '',
    device: info?.device ?? '',
    description: info?.description ?? '',
  };
}

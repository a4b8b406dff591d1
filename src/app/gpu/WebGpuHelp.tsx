/** Shown in place of a page that needs WebGPU when the browser cannot give us a device. */
import type { GpuGate } from './useGpuGate';

export function WebGpuPending() {
  return (
    <div className="card" data-testid="webgpu-pending">
      <p className="muted">Starting WebGPU…</p>
    </div>
  );
}

export function WebGpuHelp({ gate, page }: { gate: Extract<GpuGate, { state: 'unavailable' }>; page: string }) {
  const secure = window.isSecureContext;
  return (
    <section className="card help" data-testid="webgpu-help" role="alert">
      <h2>{gate.missing ? 'WebGPU is not available in this browser' : 'WebGPU could not start'}</h2>
      <p>
        The {page} runs on your GPU through WebGPU, and this browser did not give Tessera a GPU device. The Model page
        works without it.
      </p>
      <div className="alert">{gate.message}</div>
      {!secure && (
        <div className="alert warn">
          This page is not a secure context. WebGPU only exists on <strong>https://</strong> pages or on{' '}
          <strong>localhost</strong>.
        </div>
      )}
      <h3>How to get WebGPU</h3>
      <ul>
        <li>
          <strong>Chrome or Edge 113+</strong> on Windows, macOS or ChromeOS: on by default. Check that hardware
          acceleration is on (<code>chrome://settings/system</code>) and see <code>chrome://gpu</code>.
        </li>
        <li>
          <strong>Chrome on Linux</strong>: enable <code>chrome://flags/#enable-unsafe-webgpu</code> and Vulkan (
          <code>chrome://flags/#enable-vulkan</code>), then restart the browser.
        </li>
        <li>
          <strong>Firefox 141+</strong> on Windows: on by default (other platforms: <code>dom.webgpu.enabled</code> in{' '}
          <code>about:config</code>).
        </li>
        <li>
          <strong>Safari 26</strong> (macOS, iOS, iPadOS): on by default.
        </li>
        <li>
          The page must be served over <strong>https</strong> or from <strong>localhost</strong>.
        </li>
      </ul>
      <p>
        <button type="button" onClick={() => window.location.reload()}>
          Reload after enabling
        </button>
      </p>
    </section>
  );
}

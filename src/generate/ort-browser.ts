/**
 * onnxruntime-web as the page and its workers load it: the WebGPU build
 * (which carries the wasm backend too), single-threaded (threads need a
 * cross-origin-isolated page; ours is not), with its .wasm where Vite put it.
 */
import * as ort from 'onnxruntime-web/webgpu';
import ortWasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url';

ort.env.wasm.numThreads = 1;
ort.env.wasm.wasmPaths = { wasm: ortWasmUrl };
// Its warnings say only that shape ops run on the CPU, by its own design.
ort.env.logLevel = 'error';

export { ort };

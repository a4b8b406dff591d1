/**
 * Vite config for `npm run bench -- --pack-node`: one self-contained script
 * for a GPU server that has no node_modules, so every dependency is bundled
 * except `webgpu`, whose native dawn.node the pack carries beside it.
 */
import { defineConfig } from 'vite';

export default defineConfig({
  publicDir: false,
  ssr: { noExternal: true, external: ['webgpu'] },
});

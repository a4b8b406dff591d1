#!/usr/bin/env bash
# npm run bench [-- flags]: the browser benchmark (scripts/bench.ts), writing
# bench-results/bench.json and printing tables. Flags: --sizes 64,128,512x256x128
# --reps 5 --warmup 1 --trials 3 --out FILE --sections matmul,training,demo,share
# --no-build; DeMo's share of a 4096-token round for tinyDemo, small and
# bpe-100m alone: npm run bench -- --sections share (scripts/bench.ts lists
# every flag).
#
# npm run bench -- --node [flags]: our kernels through Dawn in Node
# (scripts/bench-node.ts), for GPU servers without a browser: training
# tokens/s, DeMo's share and the memory plan of bpe-100m, then matmul tiles.
#
# npm run bench -- --pack-node: packs scripts/bench-node.ts for a GPU server
# that has neither node nor npm (the borrowed H200) into bench-results/node-pack
# (~30 MB: node, dawn.node, the Vulkan loader, one bundled script). There:
#   bash bench-results/node-pack/run.sh [bench-node flags]
# Its defaults finish in under a minute on an H200; on this machine, e.g.
#   VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json \
#     bash bench-results/node-pack/run.sh --sections training,demo,memory --preset tinyDemo --sequences 8 --steps 1
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund

pack_node() {
  local out=bench-results/node-pack
  rm -rf "$out"
  # An SSR build resolves the ?raw WGSL imports; its config bundles every
  # dependency but `webgpu` (the server has no node_modules).
  npx vite build --config bench/node-pack.config.ts --ssr scripts/bench-node.ts --outDir "$out/app" --logLevel warn
  local wg="$out/app/node_modules/webgpu"
  mkdir -p "$wg/dist/linux-x64" "$out/debs"
  cp node_modules/webgpu/{index.js,package.json,LICENSE.md} "$wg/"
  xz -T0 -6 -c node_modules/webgpu/dist/linux-x64/dawn.node >"$wg/dist/linux-x64/dawn.node.xz"
  xz -T0 -6 -c "$(command -v node)" >"$out/node.xz"
  # dawn.node dlopens libvulkan.so.1, and NVIDIA's Vulkan driver (libGLX_nvidia)
  # needs glvnd; the CUDA image on the borrowed H100 has neither.
  (cd "$out/debs" && apt-get download libvulkan1 libglvnd0 libgl1 libglx0 libegl1 libopengl0 libgles2 >/dev/null 2>&1) ||
    echo "warning: the Vulkan loader and glvnd .debs were not packed"
  cat >"$out/run.sh" <<'RUN'
#!/usr/bin/env bash
# Unpacks and runs the bench-node bundle: bash run.sh [--sizes 1024,2048,4096 ...]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if ! ldconfig -p | grep -q 'libvulkan.so.1' || ! ldconfig -p | grep -q 'libGLdispatch.so.0'; then
  for f in "$here"/debs/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -z "${VK_ICD_FILENAMES:-}${VK_DRIVER_FILES:-}" ] && [ -f "$icd" ]; then export VK_DRIVER_FILES="$icd"; fi
tmp="$(mktemp -d)"
cp -r "$here/app" "$tmp/app"
xz -dc "$here/node.xz" >"$tmp/node" && chmod +x "$tmp/node"
xz -dc "$tmp/app/node_modules/webgpu/dist/linux-x64/dawn.node.xz" >"$tmp/app/node_modules/webgpu/dist/linux-x64/dawn.node"
exec "$tmp/node" "$tmp/app/bench-node.js" "$@"
RUN
  du -sh "$out"
}

case "${1:-}" in
  --node)
    shift
    exec npx vite-node scripts/bench-node.ts -- "$@"
    ;;
  --pack-node)
    pack_node
    exit 0
    ;;
esac
bash scripts/ensure-browser.sh >/dev/null
exec npx vite-node scripts/bench.ts -- "$@"

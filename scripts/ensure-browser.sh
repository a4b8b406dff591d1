#!/usr/bin/env bash
# Installs what the browser tests need when it is missing: Debian's Chromium
# (which ships SwiftShader, a CPU Vulkan driver, so WebGPU works without a
# GPU), the Vulkan loader, and Debian's Firefox ESR with Mesa's Vulkan drivers
# (Firefox's WebGPU runs through wgpu on lavapipe, Mesa's CPU Vulkan driver).
# Playwright cannot download its own browser here.
set -euo pipefail
need=()
[ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] || need+=(chromium)
ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1' || need+=(libvulkan1)
[ -x "${FIREFOX_PATH:-/usr/bin/firefox-esr}" ] || need+=(firefox-esr)
[ -f "${LAVAPIPE_ICD:-/usr/share/vulkan/icd.d/lvp_icd.x86_64.json}" ] || need+=(mesa-vulkan-drivers)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
"${CHROMIUM_PATH:-/usr/bin/chromium}" --version
"${FIREFOX_PATH:-/usr/bin/firefox-esr}" --version

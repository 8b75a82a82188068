#!/usr/bin/env bash
# Runs a bench packed by bench/device/pack.sh on the GPU machine:
#   bash out/device-pack/run.sh <script.mjs> [args...]
# Unpacks Node.js and the native libraries into /tmp, points the Vulkan
# loader at the NVIDIA driver (through libEGL_nvidia: the manifest that
# containers ship names libGLX_nvidia, which fails headless with
# VK_ERROR_INCOMPATIBLE_DRIVER), and runs the script with the arguments
# (the lego_400 subset, when packed, is at /tmp/samnerf-device/data/lego_400).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
w=/tmp/samnerf-device; rm -rf "$w"; mkdir -p "$w/bin"
cp -r "$here"/. "$w/"
unxz() { if command -v xz >/dev/null; then xz -dc "$1"; else python3 -c 'import lzma,sys; sys.stdout.buffer.write(lzma.open(sys.argv[1]).read())' "$1"; fi; }
unxz "$w/node.xz" > "$w/bin/node"; chmod +x "$w/bin/node"; rm "$w/node.xz"
for f in $(find "$w/node_modules" -name '*.xz'); do unxz "$f" > "${f%.xz}"; rm "$f"; done
export PATH="$w/bin:$PATH" SAMNERF_VULKAN_LOADER="$w/lib/libvulkan.so.1"
if [ -z "${VK_ICD_FILENAMES:-}" ]; then
  egl=$(ldconfig -p | awk '/libEGL_nvidia.so.0/ {print $NF; exit}')
  if [ -n "$egl" ]; then
    printf '{"file_format_version":"1.0.0","ICD":{"library_path":"%s","api_version":"1.3.0"}}\n' "$egl" > "$w/nvidia_egl_icd.json"
    export VK_ICD_FILENAMES="$w/nvidia_egl_icd.json"
  fi
fi
echo "node $(node --version); VK_ICD_FILENAMES=${VK_ICD_FILENAMES:-unset}; $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null || echo 'no nvidia-smi')"
cd "$w"
script=${1:?usage: run.sh <script.mjs> [args...]}; shift
exec node "$script" "$@"

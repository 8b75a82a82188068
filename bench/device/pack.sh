#!/usr/bin/env bash
# Packs a bench script for a bare GPU machine (the device tool's H100/H200:
# no Node.js, no network, no Vulkan loader, at most 64 MiB carried) into
# out/device-pack/: a compressed Node.js binary, the script bundled by esbuild,
# the native parts it needs (Dawn's dawn.node, onnxruntime-node's CPU
# library), Chromium's libvulkan.so.1, and a lego_400 subset (train views and
# every 8th test view). bench/device/run.sh unpacks and runs it there.
#
# Usage: bench/device/pack.sh <entry.ts>... [--no-ort] [--no-data]
#   e.g. bench/device/pack.sh bench/nerf-gpu.ts test/gpu/device-checks.ts
# Each entry becomes <its base name>.mjs; on the device:
#   bash out/device-pack/run.sh nerf-gpu.mjs --data /tmp/samnerf-device/data/lego_400 ...
set -euo pipefail
cd "$(dirname "$0")/../.."
ort=1; data=1; entries=()
for a in "$@"; do case $a in --no-ort) ort=0 ;; --no-data) data=0 ;; -*) echo "unknown option $a" >&2; exit 2 ;; *) entries+=("$a") ;; esac; done
[ ${#entries[@]} -gt 0 ] || { echo "usage: bench/device/pack.sh <entry.ts>... [--no-ort] [--no-data]" >&2; exit 2; }
out=out/device-pack
rm -rf "$out"; mkdir -p "$out/node_modules" "$out/lib"

# Node.js itself (xz: 99 MB -> 24 MB), compressed once and cached.
cache=${SAMNERF_PACK_CACHE:-$HOME/.cache/samnerf-pack}; mkdir -p "$cache"
node_xz="$cache/node-$(node --version).xz"
[ -f "$node_xz" ] || xz -9 -T0 -c "$(command -v node)" > "$node_xz.tmp" && mv -f "$node_xz.tmp" "$node_xz" 2>/dev/null || true
cp "$node_xz" "$out/node.xz"

# The script, with everything but native modules inlined. sharp is replaced by
# a module that throws when loaded, so the host falls back to pngjs.
printf 'throw new Error("sharp is not in the device pack");\nexport default undefined;\n' > "$out/sharp-stub.mjs"
for entry in "${entries[@]}"; do
  npx esbuild "$entry" --bundle --platform=node --format=esm --target=node20 \
    --external:webgpu --external:onnxruntime-node --alias:sharp=./$out/sharp-stub.mjs \
    --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" \
    --outfile="$out/$(basename "${entry%.ts}").mjs" --log-level=warning
done
rm "$out/sharp-stub.mjs"

# Dawn (webgpu): index.js + the linux-x64 binary.
mkdir -p "$out/node_modules/webgpu/dist/linux-x64"
cp node_modules/webgpu/{index.js,package.json} "$out/node_modules/webgpu/"
xz -6 -T0 -c node_modules/webgpu/dist/linux-x64/dawn.node > "$out/node_modules/webgpu/dist/linux-x64/dawn.node.xz"
cp /usr/lib/chromium/libvulkan.so.1 "$out/lib/"

if [ $ort = 1 ]; then
  o=node_modules/onnxruntime-node; d="$out/$o"
  mkdir -p "$d/bin/napi-v6/linux/x64" "$out/node_modules/onnxruntime-common"
  cp -r $o/package.json $o/dist "$d/"
  cp $o/bin/napi-v6/linux/x64/onnxruntime_binding.node "$d/bin/napi-v6/linux/x64/"
  xz -6 -T0 -c $o/bin/napi-v6/linux/x64/libonnxruntime.so.1 > "$d/bin/napi-v6/linux/x64/libonnxruntime.so.1.xz"
  cp -r node_modules/onnxruntime-common/{package.json,dist} "$out/node_modules/onnxruntime-common/"
fi

if [ $data = 1 ]; then
  src=../shared/data/lego_400; dst="$out/data/lego_400"
  mkdir -p "$dst/train" "$dst/test"
  cp "$src"/train/*.png "$dst/train/"
  cp "$src/transforms_train.json" "$dst/"
  # Every 8th test view, renamed nowhere: the names stay test/r_0, test/r_8, ...
  node -e '
    const fs = require("fs"); const [src, dst] = process.argv.slice(1);
    const t = JSON.parse(fs.readFileSync(src + "/transforms_test.json", "utf8"));
    t.frames = t.frames.filter((_, i) => i % 8 === 0);
    for (const f of t.frames) fs.copyFileSync(src + "/" + f.file_path.replace(/^\.\//, "") + ".png", dst + "/" + f.file_path.replace(/^\.\//, "") + ".png");
    fs.writeFileSync(dst + "/transforms_test.json", JSON.stringify(t, null, 2));
  ' "$src" "$dst"
fi
cp bench/device/run.sh "$out/"
du -sh "$out"

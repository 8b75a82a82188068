// The GPU for the kernel tests: Dawn (npm webgpu) in Node, on whatever
// adapter exists, else Chromium's SwiftShader (VK_ICD_FILENAMES is set to it
// when unset). CI installs Chromium, so there an adapter must exist: failing
// to create one fails the tests. Only without /usr/lib/chromium and without
// any adapter do the tests skip, with a message saying why.

import { existsSync } from 'node:fs';
import { adapterName, type GpuContext } from '../../runtime-gpu/webgpu/device';
import { acquireNodeGpu, CHROMIUM_DIR } from '../../runtime-gpu/webgpu/node/gpu';

export interface TestGpu {
  ctx?: GpuContext;
  skip?: string;
}

let pending: Promise<TestGpu> | undefined;

export function testGpu(): Promise<TestGpu> {
  pending ??= (async () => {
    try {
      const ctx = await acquireNodeGpu({ softwareFallback: true });
      console.log(`GPU tests on ${adapterName(ctx.adapter)} (Vulkan loader: ${ctx.loader})`);
      return { ctx };
    } catch (e) {
      if (existsSync(CHROMIUM_DIR)) throw e;
      const skip = `GPU kernel tests skipped: no WebGPU adapter (${(e as Error).message}) and no ${CHROMIUM_DIR} (SwiftShader); install chromium to run them`;
      console.warn(skip);
      return { skip };
    }
  })();
  return pending;
}

/** Largest |a - b| and where, for messages. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): { diff: number; at: number } {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let diff = 0, at = -1;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= diff)) {
      diff = d;
      at = i;
    }
  }
  return { diff, at };
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

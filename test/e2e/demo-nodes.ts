// Small, fast node types for the editor's end-to-end test and its unit
// tests: a synthetic (or uploaded) image, a threshold mask, a heat map and a
// slow number. They reach the host only through the SamnerfHost interface.

import { defineNode, NodeError, type HeatmapValue, type ImageValue, type MaskValue, type NodeDefinition, type NodeRegistry } from '../../engine';
import type { SamnerfHost } from '../../nodes/host';

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      reject(signal.reason ?? Object.assign(new Error('aborted'), { name: 'AbortError' }));
    });
  });

export const DemoImage = defineNode<SamnerfHost, NodeDefinition<SamnerfHost>>({
  type: 'DemoImage',
  version: 1,
  category: 'Demo',
  description: 'A gradient image, or the picked photo when `file` is set',
  inputs: {},
  outputs: { image: { type: 'Image', description: 'the picture' } },
  params: {
    file: { type: 'path', mode: 'file', default: '', extensions: ['.png', '.jpg', '.jpeg'], description: 'a photo (empty: a gradient)' },
    size: { type: 'integer', default: 64, min: 8, max: 512, description: 'gradient side in pixels' },
  },
  cacheKey: async (params, host) => {
    const file = params.file as string;
    if (!file) return undefined;
    const stat = await host.files.stat(file);
    return stat ? `${stat.size}:${stat.mtimeMs}` : 'missing';
  },
  run: async (ctx, _inputs, params) => {
    const file = params.file as string;
    if (file) {
      const bytes = await ctx.host.files.readFile(file);
      const { image } = await ctx.host.images.decode(bytes, { name: file });
      return { image };
    }
    const n = params.size as number;
    const data = new Uint8Array(n * n * 3);
    for (let y = 0; y < n; y++)
      for (let x = 0; x < n; x++) {
        const o = (y * n + x) * 3;
        data[o] = Math.round((255 * x) / (n - 1));
        data[o + 1] = Math.round((255 * y) / (n - 1));
        data[o + 2] = 128;
      }
    const image: ImageValue = { kind: 'Image', width: n, height: n, data, name: 'gradient' };
    return { image };
  },
});

export const DemoThreshold = defineNode<SamnerfHost, NodeDefinition<SamnerfHost>>({
  type: 'DemoThreshold',
  version: 1,
  category: 'Demo',
  description: 'Pixels whose red channel is above the threshold',
  inputs: { image: { type: 'Image', description: 'the picture' } },
  outputs: { mask: { type: 'Mask', description: 'where red > threshold' } },
  params: {
    threshold: { type: 'integer', default: 128, min: 0, max: 255, description: 'red level' },
    invert: { type: 'boolean', default: false, description: 'keep the other side' },
    mode: { type: 'enum', options: ['red', 'green'], default: 'red', description: 'which channel' },
  },
  run: (ctx, inputs, params) => {
    const image = inputs.image as ImageValue;
    const channel = params.mode === 'green' ? 1 : 0;
    const data = new Uint8Array(image.width * image.height);
    for (let p = 0; p < data.length; p++) {
      const above = image.data[p * 3 + channel]! > (params.threshold as number);
      data[p] = above !== (params.invert as boolean) ? 1 : 0;
    }
    ctx.progress(1, 1, 'thresholded');
    const mask: MaskValue = { kind: 'Mask', width: image.width, height: image.height, data };
    return { mask };
  },
});

export const DemoHeat = defineNode<SamnerfHost, NodeDefinition<SamnerfHost>>({
  type: 'DemoHeat',
  version: 1,
  category: 'Demo',
  description: 'Brightness as a heat map',
  inputs: { image: { type: 'Image', description: 'the picture' } },
  outputs: { heat: { type: 'Heatmap', description: 'brightness in [0, 1]' } },
  params: {},
  run: (_ctx, inputs) => {
    const image = inputs.image as ImageValue;
    const data = new Float32Array(image.width * image.height);
    for (let p = 0; p < data.length; p++) data[p] = (image.data[p * 3]! + image.data[p * 3 + 1]! + image.data[p * 3 + 2]!) / 765;
    const heat: HeatmapValue = { kind: 'Heatmap', width: image.width, height: image.height, data };
    return { heat };
  },
});

export const DemoSlow = defineNode<SamnerfHost, NodeDefinition<SamnerfHost>>({
  type: 'DemoSlow',
  version: 1,
  category: 'Demo',
  description: 'Counts up slowly, reporting progress (for Cancel)',
  inputs: { mask: { type: 'Mask', description: 'waits for it', optional: true } },
  outputs: { value: { type: 'Number', description: 'how many steps ran' } },
  params: {
    steps: { type: 'integer', default: 5, min: 1, max: 1000, description: 'steps of 100 ms' },
    fail: { type: 'boolean', default: false, description: 'fail at the end' },
    note: { type: 'json', default: { tag: 'x' }, shape: '{"tag"}', description: 'any JSON' },
  },
  run: async (ctx, _inputs, params) => {
    const steps = params.steps as number;
    for (let i = 0; i < steps; i++) {
      await sleep(100, ctx.signal);
      ctx.progress(i + 1, steps);
    }
    if (params.fail) throw new NodeError('asked to fail', { param: 'fail', fix: 'untick "fail"' });
    return { value: steps };
  },
});

export const DEMO_NODES: NodeDefinition[] = [DemoImage, DemoThreshold, DemoHeat, DemoSlow];

/** Adds the demo nodes (skipping any type the registry already has). */
export function registerDemoNodes(registry: NodeRegistry): NodeRegistry {
  for (const d of DEMO_NODES) if (!registry.has(d.type)) registry.register(d);
  return registry;
}

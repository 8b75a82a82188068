// ViewRenderer: renders a radiance field at the cameras of a Views value
// (one split) or along an orbit around the scene, and writes per frame
// rgb/<name>.png, depth/<name>.png (colour-mapped z-depth), acc/<name>.png
// (accumulated opacity), an animated preview.png (APNG) of the RGB frames,
// and renders.json (PSNR per frame when the views have images). On the CPU
// or a WebGPU adapter (device; the same kernels as NeRFTrainer's webgpu).

import { defineNode, NodeError, type NodeContext } from '../engine';
import type { Camera, ImageValue, RadianceFieldValue, View, ViewsValue } from '../engine/values';
import { encodeApng } from '../runtime-gpu/image/apng';
import { colormapLut } from '../runtime-gpu/image/draw';
import { paramLayout } from '../runtime-gpu/nerf/config';
import { createFieldEvaluator } from '../runtime-gpu/nerf/evaluators';
import { Nerf, type RenderOutput } from '../runtime-gpu/nerf/nerf';
import { cameraCenter, lookAt } from '../runtime-gpu/nerf/rays';
import { psnrFromMse, renderMse, renderToRgb8 } from '../runtime-gpu/nerf/trainer';
import { adapterName } from '../runtime-gpu/webgpu/device';
import { GpuNerf } from '../runtime-gpu/webgpu/gpu-nerf';
import type { SamnerfHost } from './host';
import { chooseDevice } from './nerf-trainer';
import { checkRgb } from './params';

export const RENDER_DEVICES = ['auto', 'cpu', 'webgpu'] as const;

interface Frame {
  name: string;
  camera: Camera;
  view?: View;
}

/**
 * Cameras on a circle around the field's centre: `elevation` degrees above
 * the plane orthogonal to `up`, at `radius`, looking at the centre.
 */
export function orbitCameras(
  center: readonly number[], up: readonly number[], radius: number, elevationDeg: number, frames: number,
  width: number, height: number, focal: number,
): Camera[] {
  const n = Math.hypot(up[0]!, up[1]!, up[2]!);
  const u = [up[0]! / n, up[1]! / n, up[2]! / n];
  // Two axes spanning the plane orthogonal to up.
  const seed = Math.abs(u[0]!) < 0.9 ? [1, 0, 0] : [0, 1, 0];
  let a = [u[1]! * seed[2]! - u[2]! * seed[1]!, u[2]! * seed[0]! - u[0]! * seed[2]!, u[0]! * seed[1]! - u[1]! * seed[0]!];
  const an = Math.hypot(a[0]!, a[1]!, a[2]!);
  a = a.map((x) => x / an);
  const b = [u[1]! * a[2]! - u[2]! * a[1]!, u[2]! * a[0]! - u[0]! * a[2]!, u[0]! * a[1]! - u[1]! * a[0]!];
  const el = (elevationDeg * Math.PI) / 180;
  const cameras: Camera[] = [];
  for (let i = 0; i < frames; i++) {
    const phi = (2 * Math.PI * i) / frames;
    const eye = [0, 1, 2].map((k) => center[k]! + radius * (Math.cos(el) * (Math.cos(phi) * a[k]! + Math.sin(phi) * b[k]!) + Math.sin(el) * u[k]!));
    cameras.push(lookAt(eye, center, u, width, height, focal));
  }
  return cameras;
}

/** Depth frames to colour with one range for all (near = bright); pixels with little opacity are black. */
export function colorDepth(renders: readonly RenderOutput[]): Uint8Array[] {
  const values: number[] = [];
  for (const r of renders) for (let i = 0; i < r.depth.length; i += 3) if (r.accumulation[i]! > 0.5) values.push(r.depth[i]!);
  values.sort((x, y) => x - y);
  const lo = values.length ? values[Math.floor(values.length * 0.02)]! : 0;
  const hi = values.length ? values[Math.min(values.length - 1, Math.floor(values.length * 0.98))]! : 1;
  const lut = colormapLut('viridis');
  return renders.map((r) => {
    const out = new Uint8Array(r.depth.length * 3);
    for (let p = 0; p < r.depth.length; p++) {
      if (r.accumulation[p]! < 0.1) continue;
      const t = hi > lo ? Math.min(1, Math.max(0, (r.depth[p]! - lo) / (hi - lo))) : 0;
      const i = Math.min(255, Math.floor((1 - t) * 256));
      out[3 * p] = lut[3 * i]!;
      out[3 * p + 1] = lut[3 * i + 1]!;
      out[3 * p + 2] = lut[3 * i + 2]!;
    }
    return out;
  });
}

export const ViewRenderer = defineNode({
  type: 'ViewRenderer',
  version: 1,
  category: '3D',
  description: 'Renders a NeRF at the views of a dataset split or along an orbit: RGB, depth and opacity PNGs, an animated preview and PSNR',
  inputs: {
    field: { type: 'RadianceField', description: 'the field to render' },
    views: { type: 'Views', description: 'cameras to render at (and images to compare with)', optional: true },
  },
  outputs: { image: { type: 'Image', description: 'the first RGB frame, for previews' } },
  params: {
    mode: { type: 'enum', options: ['auto', 'views', 'orbit'], default: 'auto', description: 'auto: the views when connected, else an orbit' },
    split: { type: 'enum', options: ['test', 'val', 'train', 'all'], default: 'test', description: 'which views to render' },
    every: { type: 'integer', default: 1, min: 1, description: 'render every n-th view of the split' },
    maxFrames: { type: 'integer', default: 0, min: 0, description: 'render at most this many frames (0: all)' },
    orbitFrames: { type: 'integer', default: 36, min: 1, max: 3600, description: 'frames of the orbit' },
    elevation: { type: 'number', default: 30, min: -89, max: 89, description: 'orbit elevation in degrees above the horizontal plane' },
    radius: { type: 'number', default: 0, min: 0, description: 'orbit radius in world units (0: the mean camera distance, else twice the scene size)' },
    width: { type: 'integer', default: 0, min: 0, max: 8192, description: 'orbit frame width (0: the views\' width, else 200)' },
    height: { type: 'integer', default: 0, min: 0, max: 8192, description: 'orbit frame height (0: the views\' height, else 200)' },
    fov: { type: 'number', default: 0, min: 0, max: 170, description: 'orbit horizontal field of view in degrees (0: the views\', else 40)' },
    background: { type: 'json', shape: '[r, g, b] (0-255) or null', default: null, description: 'colour behind the field (null: the one it was trained with)', check: (v) => (v === null ? undefined : checkRgb(v)) },
    frameMs: { type: 'integer', default: 100, min: 10, max: 10000, description: 'preview frame duration in milliseconds' },
    device: { type: 'enum', options: RENDER_DEVICES, default: 'auto', description: 'where to render: cpu, webgpu (WGSL kernels), or auto (webgpu on a hardware adapter, else cpu)' },
  },
  async run(ctx: NodeContext<SamnerfHost>, inputs, params) {
    const field = inputs.field as RadianceFieldValue;
    const views = inputs.views as ViewsValue | undefined;
    let mode = params.mode as 'auto' | 'views' | 'orbit';
    if (mode === 'auto') mode = views ? 'views' : 'orbit';
    let frames: Frame[];
    if (mode === 'views') {
      if (!views) throw new NodeError('mode is "views" but no views are connected', { port: 'views', fix: 'connect a Views output, or set mode to orbit' });
      const split = params.split as string;
      const chosen = views.views.filter((v) => split === 'all' || v.split === split).filter((_, i) => i % (params.every as number) === 0);
      if (chosen.length === 0) throw new NodeError(`the views have no "${split}" split`, { param: 'split', fix: `use one of ${[...new Set(views.views.map((v) => v.split))].join(', ')} or all` });
      frames = chosen.map((v) => ({ name: v.name, camera: v.camera, view: v }));
    } else {
      const center = field.config.scene.center;
      let up = [0, 0, 1];
      let radius = params.radius as number;
      let width = params.width as number, height = params.height as number;
      let fov = params.fov as number;
      if (views && views.views.length > 0) {
        // Up: the mean of the cameras' +Y axes; radius: their mean distance; size and fov: the first view's.
        const sum = [0, 0, 0];
        let dist = 0;
        for (const v of views.views) {
          const m = v.camera.cameraToWorld;
          sum[0] += m[1]!;
          sum[1] += m[5]!;
          sum[2] += m[9]!;
          const c = cameraCenter(v.camera);
          dist += Math.hypot(c[0] - center[0], c[1] - center[1], c[2] - center[2]);
        }
        if (Math.hypot(sum[0]!, sum[1]!, sum[2]!) > 1e-6) up = sum;
        if (!radius) radius = dist / views.views.length;
        const c0 = views.views[0]!.camera;
        width ||= c0.width;
        height ||= c0.height;
        fov ||= (2 * Math.atan(c0.width / (2 * c0.fx)) * 180) / Math.PI;
      }
      width ||= 200;
      height ||= 200;
      fov ||= 40;
      if (!radius) radius = 2 * field.config.scene.halfSize * Math.sqrt(3);
      const focal = width / (2 * Math.tan((fov * Math.PI) / 360));
      const cameras = orbitCameras(center, up, radius, params.elevation as number, params.orbitFrames as number, width, height, focal);
      frames = cameras.map((camera, i) => ({ name: `orbit_${String(i).padStart(3, '0')}`, camera }));
    }
    const maxFrames = params.maxFrames as number;
    if (maxFrames > 0) frames = frames.slice(0, maxFrames);
    const bgParam = params.background as number[] | null;
    const background = bgParam ? bgParam.map((x) => x / 255) : field.config.render.background;

    const gpu = await chooseDevice(ctx, params.device as string, 'render');
    let nerf: Pick<Nerf, 'renderCamera'>;
    let dispose: () => Promise<void> | void;
    if (gpu) {
      let g: GpuNerf;
      try {
        g = await GpuNerf.fromValue(gpu, field);
      } catch (e) {
        throw new NodeError(`cannot render on webgpu: ${(e as Error).message}`, { param: 'device', fix: 'set device to cpu or auto' });
      }
      ctx.log(`rendering ${frames.length} frames with WebGPU on ${adapterName(gpu.adapter)}`);
      nerf = g;
      dispose = () => g.dispose();
    } else {
      const layout = paramLayout(field.config);
      const { evaluator, fallback } = await createFieldEvaluator(field.config, layout, 'auto', 'cpu');
      if (fallback) ctx.log(fallback);
      nerf = Nerf.fromValue(field, evaluator);
      dispose = async () => {
        await evaluator.dispose?.();
      };
    }
    const renders: RenderOutput[] = [];
    const rgbFrames: Uint8Array[] = [];
    const report: Array<{ name: string; psnr?: number }> = [];
    const { output, images } = ctx.host;
    try {
      for (const [i, frame] of frames.entries()) {
        ctx.progress(i, frames.length, `rendering ${frame.name}`);
        const render = await nerf.renderCamera(frame.camera, { background, signal: ctx.signal });
        const rgb = renderToRgb8(render);
        renders.push(render);
        rgbFrames.push(rgb);
        const { width, height } = render;
        await output.write(ctx.nodeId, `rgb/${frame.name}.png`, await images.encodePng({ width, height, channels: 3, data: rgb }));
        const acc = new Uint8Array(width * height);
        for (let p = 0; p < acc.length; p++) acc[p] = Math.round(Math.min(1, Math.max(0, render.accumulation[p]!)) * 255);
        await output.write(ctx.nodeId, `acc/${frame.name}.png`, await images.encodePng({ width, height, channels: 1, data: acc }));
        const image = frame.view?.image;
        report.push({ name: frame.name, psnr: image && image.width === width && image.height === height ? round(psnrFromMse(renderMse(render, image))) : undefined });
      }
    } finally {
      await dispose();
    }
    const depths = colorDepth(renders);
    for (const [i, frame] of frames.entries()) {
      const { width, height } = renders[i]!;
      await output.write(ctx.nodeId, `depth/${frame.name}.png`, await images.encodePng({ width, height, channels: 3, data: depths[i]! }));
    }
    const sameSize = renders.every((r) => r.width === renders[0]!.width && r.height === renders[0]!.height);
    if (sameSize) await output.write(ctx.nodeId, 'preview.png', encodeApng(rgbFrames, renders[0]!.width, renders[0]!.height, { frameMs: params.frameMs as number }));
    const scored = report.filter((r) => r.psnr !== undefined);
    const summary = {
      mode,
      frames: report,
      psnr_mean: scored.length ? round(scored.reduce((s, r) => s + r.psnr!, 0) / scored.length) : null,
    };
    await output.write(ctx.nodeId, 'renders.json', JSON.stringify(summary, null, 2) + '\n');
    ctx.progress(frames.length, frames.length);
    const first = renders[0]!;
    const image: ImageValue = { kind: 'Image', width: first.width, height: first.height, data: rgbFrames[0]!, name: `${ctx.nodeId}/rgb/${frames[0]!.name}.png` };
    return { image };
  },
});

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

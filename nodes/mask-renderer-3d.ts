// MaskRenderer3D: writes what a user keeps from a 3D segmentation
// (docs/lock3d.md): per view masks/<view>.png and overlays/<view>.png (the
// training photos and held-out views alike), an animated orbit preview, the
// objects as a coloured point cloud (object.ply), the mask grid
// (mask-grid.npy + mask-grid.json) and metrics.json with per-view IoU
// against the dataset's ground truth when it has some.

import { defineNode, NodeError, type NodeContext } from '../engine';
import type { ImageValue, MaskFieldValue, Prompts3DValue, RadianceFieldValue, ViewMasksValue, ViewObjectMask, ViewsValue } from '../engine/values';
import { encodeApng } from '../runtime-gpu/image/apng';
import { drawPoints, tintMask } from '../runtime-gpu/image/draw';
import type { SamnerfHost } from './host';
import { colorParam } from './params';
import { encodeNpyUint8, encodePly } from './lock3d/export';
import { chooseGeometry, type DepthRender } from './lock3d/geometry';
import { denseLabels, labelPoints, renderObjects } from './lock3d/mask-field';
import { groundTruth, iou, type GroundTruthMode } from './lock3d/metrics';
import { orbitCameras, splat, surfaceCloud } from './lock3d/preview';
import { pickViews } from './lock3d/sam-views';

function tint(base: Uint8Array, width: number, height: number, masks: readonly Uint8Array[], colors: ReadonlyArray<readonly [number, number, number]>, opacity: number): Uint8Array {
  let out = base;
  masks.forEach((m, o) => {
    let any = false;
    for (let p = 0; p < m.length && !any; p++) any = m[p] !== 0;
    if (any) out = tintMask({ kind: 'Image', width, height, data: out, name: '' }, { width, height, data: m }, colors[o]!, opacity);
  });
  return out === base ? base.slice() : out;
}

const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
const round4 = (x: number) => Math.round(x * 1e4) / 1e4;

export const MaskRenderer3D = defineNode({
  type: 'MaskRenderer3D',
  version: 1,
  category: 'Output',
  description: 'Writes a 3D segmentation: masks/<view>.png and overlays/<view>.png for every view, orbit.png (animated), object.ply, mask-grid.npy/.json and metrics.json (IoU against ground truth when the dataset has it)',
  inputs: {
    views: { type: 'Views', description: 'the posed views to render the masks into' },
    mask: { type: 'MaskField', description: 'from MaskFusion' },
    field: { type: 'RadianceField', description: 'the NeRF giving depth (when the mask was made with it)', optional: true },
    prompts: { type: 'Prompts3D', description: 'the clicks, drawn on the overlays of their views and used to match ground-truth instances', optional: true },
  },
  outputs: {
    overlay: { type: 'Image', description: 'the overlay of the first clicked view, for previews' },
    masks: { type: 'ViewMasks', description: 'the 3D mask rendered into every view written (with IoU against ground truth when known)' },
  },
  params: {
    splits: { type: 'string', default: 'train,val,test', description: 'splits whose views are written, comma-separated' },
    maxViews: { type: 'integer', default: 0, min: 0, description: 'write at most this many views, evenly spaced over the splits (0 = all)' },
    orbitFrames: { type: 'integer', default: 24, min: 0, max: 360, description: 'frames of the orbit preview (0 = none)' },
    orbitSize: { type: 'integer', default: 160, min: 16, max: 2048, description: 'orbit preview width and height in pixels' },
    opacity: { type: 'number', default: 0.5, min: 0, max: 1, step: 0.05, description: 'mask tint opacity on overlays' },
    groundTruth: {
      type: 'enum',
      options: ['auto', 'instances', 'alpha', 'none'],
      default: 'auto',
      description: 'what metrics.json scores against: instance ids (generated scenes), alpha (one-object captures), or auto',
    },
    background: colorParam('orbit preview background', [255, 255, 255]),
    fillRadius: { type: 'integer', default: 2, min: 0, max: 8, advanced: true, description: 'a pixel whose surface point falls where no fused view saw a surface takes the mask of the observed grid nodes within this many voxels (0 = it stays background)' },
    minAccumulation: { type: 'number', default: 0.5, min: 0, max: 1, step: 0.05, advanced: true, description: 'pixels less opaque than this have no surface' },
  },
  async run(ctx: NodeContext<SamnerfHost>, inputs, params) {
    const views = inputs.views as ViewsValue;
    const field = inputs.mask as MaskFieldValue;
    const nerf = inputs.field as RadianceFieldValue | undefined;
    const prompts = inputs.prompts as Prompts3DValue | undefined;
    if (prompts && (prompts.objects.length !== field.objects.length || prompts.objects.some((o, i) => o.id !== field.objects[i]!.id)))
      throw new NodeError('the prompts do not match the 3D mask (their objects differ)', { port: 'prompts', fix: 'connect the LiftPrompts output the mask was made from' });
    const geometry = chooseGeometry(field.depthSource, views, nerf);
    const minAccumulation = params.minAccumulation as number;
    const targets = pickViews(views.views, params.splits as string, [], params.maxViews as number);
    if (targets.length === 0) throw new NodeError(`no view is in the splits "${params.splits}"`, { param: 'splits', fix: `use splits the dataset has: ${[...new Set(views.views.map((v) => v.split))].join(', ')}` });
    const { output, images } = ctx.host;
    const colors = field.objects.map((o) => o.color);
    const opacity = params.opacity as number;
    const gt = groundTruth(targets, prompts, field.objects.length, params.groundTruth as GroundTruthMode);
    const perObject = field.objects.map(() => ({ views: {} as Record<string, number>, bySplit: {} as Record<string, number[]>, visible: 0 }));
    const rendered: ViewMasksValue['views'] = [];
    const renders: Array<{ camera: (typeof targets)[number]['camera']; render: DepthRender; image: Uint8Array }> = [];
    let preview: ImageValue | undefined;
    const firstClicked = prompts?.objects[0]?.view;
    const steps = targets.length + 3;
    const clock = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());
    const started = clock();
    let geometryMs = 0;

    for (const [i, view] of targets.entries()) {
      ctx.progress(i, steps, view.name);
      const { width, height } = view.camera;
      const t0 = clock();
      const render = await geometry.render(view.camera, view.name, ctx.signal);
      geometryMs += clock() - t0;
      renders.push({ camera: view.camera, render, image: view.image.data });
      const r = renderObjects(field, view.camera, render, minAccumulation, params.fillRadius as number);
      // masks/<view>.png: 255 = any object; labels/<view>.png: object index 1..n when there are several.
      const union = new Uint8Array(width * height);
      for (let p = 0; p < union.length; p++) union[p] = r.labels[p] ? 255 : 0;
      await output.write(ctx.nodeId, `masks/${view.name}.png`, await images.encodePng({ width, height, channels: 1, data: union }));
      if (field.objects.length > 1) await output.write(ctx.nodeId, `labels/${view.name}.png`, await images.encodePng({ width, height, channels: 1, data: r.labels }));
      const overlay = tint(view.image.data, width, height, r.masks, colors, opacity);
      if (prompts) {
        const clicks = prompts.sources.flatMap((s, k) => (s.view === view.name ? [{ x: s.x, y: s.y, label: prompts.labels[k]! }] : []));
        if (clicks.length) drawPoints(overlay, width, height, clicks, Math.max(2, Math.round(Math.min(width, height) / 40)));
      }
      await output.write(ctx.nodeId, `overlays/${view.name}.png`, await images.encodePng({ width, height, channels: 3, data: overlay }));
      if (!preview || view.name === firstClicked) preview = { kind: 'Image', width, height, data: overlay, name: `${ctx.nodeId}/overlays/${view.name}.png` };
      const objects = r.masks.map((m, o): ViewObjectMask => {
        let area = 0;
        for (let p = 0; p < m.length; p++) area += m[p]!;
        const entry: ViewObjectMask = area ? { status: 'rendered', mask: m, points: [], area } : { status: 'not-visible', points: [], area: 0 };
        const truth = gt?.mask(view, o);
        if (truth) {
          const value = iou(m, truth);
          entry.iou = value;
          perObject[o]!.views[view.name] = round4(value);
          (perObject[o]!.bySplit[view.split] ??= []).push(value);
          let t = 0;
          for (let p = 0; p < truth.length; p++) t += truth[p]!;
          if (t > 0) perObject[o]!.visible++;
        }
        return entry;
      });
      rendered.push({ view: view.name, width, height, objects });
    }

    // The scene as points (half-voxel cells), labelled by the 3D mask.
    ctx.progress(targets.length, steps, 'point cloud');
    const cloud = surfaceCloud(renders, field.grid.voxelSize / 2, minAccumulation);
    const labels = labelPoints(field, cloud.positions);
    const keep: number[] = [];
    for (let i = 0; i < labels.length; i++) if (labels[i]) keep.push(i);
    const objectCloud = {
      positions: Float32Array.from(keep.flatMap((i) => [cloud.positions[3 * i]!, cloud.positions[3 * i + 1]!, cloud.positions[3 * i + 2]!])),
      colors: Uint8Array.from(keep.flatMap((i) => [cloud.colors[3 * i]!, cloud.colors[3 * i + 1]!, cloud.colors[3 * i + 2]!])),
      labels: Uint8Array.from(keep.map((i) => labels[i]!)),
    };
    await output.write(
      ctx.nodeId,
      'object.ply',
      encodePly(objectCloud, ['samnerf 3D segmentation (docs/lock3d.md)', ...field.objects.map((o, i) => `object ${i + 1}: ${o.name}`)]),
    );

    // The mask grid: labels at the grid nodes, [nz, ny, nx], and its header.
    ctx.progress(targets.length + 1, steps, 'mask grid');
    const [nx, ny, nz] = field.grid.dims;
    await output.write(ctx.nodeId, 'mask-grid.npy', encodeNpyUint8(denseLabels(field), [nz, ny, nx]));
    const gridHeader = {
      format: 'samnerf.mask-grid',
      version: 1,
      file: 'mask-grid.npy',
      dtype: 'uint8',
      shape: [nz, ny, nx],
      axes: 'value[k][j][i] is the node at origin + voxelSize * (i, j, k) (world units; x fastest in memory)',
      values: '0 = no object or never observed; k = objects[k - 1]',
      interpolation: 'the mask at a point: trilinear over its cell\'s 8 nodes (the stored logits); the labels here are the nodes\' own',
      origin: field.grid.origin,
      voxelSize: field.grid.voxelSize,
      dims: field.grid.dims,
      storedNodes: field.nodes.length,
      depthSource: field.depthSource,
      objects: field.objects.map((o, i) => ({ label: i + 1, id: o.id, name: o.name, color: o.color, views: o.views.length, rejected: o.rejected })),
    };
    await output.write(ctx.nodeId, 'mask-grid.json', JSON.stringify(gridHeader, null, 2) + '\n');

    // The orbit: novel cameras around the objects. With a field they are
    // rendered (depth and colour) and segmented like any view, and their
    // masks and overlays written as orbit/<k>; with dataset depth, which has
    // no novel views, the coloured cloud is splatted instead.
    const frames = params.orbitFrames as number;
    let orbitSource = 'none';
    if (frames > 0) {
      ctx.progress(targets.length + 2, steps, 'orbit');
      let cx = 0, cy = 0, cz = 0;
      const src = objectCloud.labels.length ? objectCloud.positions : cloud.positions;
      const count = src.length / 3;
      for (let i = 0; i < count; i++) {
        cx += src[3 * i]!;
        cy += src[3 * i + 1]!;
        cz += src[3 * i + 2]!;
      }
      const size = params.orbitSize as number;
      const cams = orbitCameras(targets, [cx / count, cy / count, cz / count], frames, size);
      const background = params.background as number[];
      const rgbFrames: Uint8Array[] = [];
      if (geometry.novelViews) {
        orbitSource = 'field';
        for (const [k, cam] of cams.entries()) {
          const t0 = clock();
          const render = await geometry.render(cam, undefined, ctx.signal);
          geometryMs += clock() - t0;
          const r = renderObjects(field, cam, render, minAccumulation, params.fillRadius as number);
          const rgb = new Uint8Array(size * size * 3);
          for (let p = 0; p < size * size; p++) {
            const a = render.accumulation[p]!;
            for (let c = 0; c < 3; c++) rgb[3 * p + c] = Math.round(255 * Math.min(1, Math.max(0, render.rgb ? render.rgb[3 * p + c]! : a)));
          }
          const name = `orbit/${String(k).padStart(3, '0')}`;
          const union = r.labels.map((l) => (l ? 255 : 0));
          await output.write(ctx.nodeId, `masks/${name}.png`, await images.encodePng({ width: size, height: size, channels: 1, data: union }));
          const overlay = tint(rgb, size, size, r.masks, colors, opacity);
          await output.write(ctx.nodeId, `overlays/${name}.png`, await images.encodePng({ width: size, height: size, channels: 3, data: overlay }));
          rgbFrames.push(overlay);
        }
      } else {
        orbitSource = 'points';
        const full = { ...cloud, labels };
        // Splatted points leave speckle at object borders: blend the colour without outlines.
        for (const cam of cams) {
          const s = splat(full, cam, field.grid.voxelSize / 2, background);
          for (let p = 0; p < s.labels.length; p++) {
            const l = s.labels[p]!;
            if (!l) continue;
            for (let c = 0; c < 3; c++) s.rgb[3 * p + c] = Math.round(s.rgb[3 * p + c]! * (1 - opacity) + colors[l - 1]![c]! * opacity);
          }
          rgbFrames.push(s.rgb);
        }
      }
      await output.write(ctx.nodeId, 'orbit.png', encodeApng(rgbFrames, size, size, { frameMs: 1000 / 12 }));
      await output.write(ctx.nodeId, 'orbit.json', JSON.stringify({ source: orbitSource, frames: cams.map((c, k) => ({ name: `orbit/${String(k).padStart(3, '0')}`, camera: c })) }, null, 2) + '\n');
    }

    const metrics = {
      depthSource: field.depthSource,
      groundTruth: gt?.mode ?? 'none',
      notes: gt?.notes ?? (params.groundTruth === 'none' ? [] : ['the dataset has no ground truth to score against (no instance ids; alpha only scores one object)']),
      views: targets.length,
      objects: field.objects.map((o, i) => {
        const p = perObject[i]!;
        const all = Object.values(p.views);
        return {
          id: o.id,
          name: o.name,
          groundTruthId: gt?.ids[i] ?? null,
          meanIoU: all.length ? round4(mean(all)!) : null,
          meanIoUBySplit: Object.fromEntries(Object.entries(p.bySplit).map(([s, xs]) => [s, round4(mean(xs)!)])),
          viewsWithObject: p.visible,
          fusedViews: o.views.length,
          rejectedViews: o.rejected,
          pointCloudPoints: objectCloud.labels.reduce((n, l) => n + (l === i + 1 ? 1 : 0), 0),
          iou: p.views,
        };
      }),
    };
    await output.write(ctx.nodeId, 'metrics.json', JSON.stringify(metrics, null, 2) + '\n');
    for (const o of metrics.objects) if (o.meanIoU !== null) ctx.log(`${o.name}: mean IoU ${o.meanIoU.toFixed(3)} over ${Object.keys(o.iou).length} views (${Object.entries(o.meanIoUBySplit).map(([s, v]) => `${s} ${v.toFixed(3)}`).join(', ')})`);
    ctx.log(`timing: geometry ${Math.round(geometryMs)} ms, other ${Math.round(clock() - started - geometryMs)} ms`);
    ctx.progress(steps, steps);
    const masks: ViewMasksValue = { kind: 'ViewMasks', objects: field.objects.map(({ id, name }) => ({ id, name })), views: rendered };
    return { overlay: preview!, masks };
  },
});

// ImageLoader: a PNG or JPEG photo (8- or 16-bit, RGBA composited on a
// background colour) from a file, or the n-th image of a folder; or a posed
// multi-view dataset (NeRF Blender, nerfstudio / instant-ngp, LLFF), whose
// views all go out on `views` while `image` and `alpha` carry one of them.
//
// A plain photo also gives a one-view `views` value of format 'images': its
// camera is a placeholder (identity pose, focal = the longer side), so 3D
// nodes must refuse it; 2D nodes never look at it.

import { defineNode, NodeError, type NodeContext } from '../engine';
import type { ImageValue, MaskValue, View, ViewsValue } from '../engine/values';
import { ImageDecodeError } from '../runtime-gpu/image/codec';
import { resizeRgb8 } from '../runtime-gpu/image/resize';
import type { SamnerfHost } from './host';
import { colorParam } from './params';
import { loadPlan, resizeGray8 } from './views/load';
import { locateDataset, parseSplits, planDataset, planStamp, type DatasetFormat, type DatasetLocation, type PlanOptions } from './views';
import { IMAGE_EXTENSIONS, stripImageExtension } from './views/files';

const FORMATS = ['auto', 'image', 'blender', 'nerfstudio', 'llff'] as const;
type FormatParam = (typeof FORMATS)[number];

async function locateImage(host: SamnerfHost, path: string, index: number): Promise<{ file: string; stamp: string }> {
  if (path === '') throw new NodeError('no image chosen', { param: 'path', fix: 'set "path" to a PNG or JPEG file, a folder of them, or a dataset folder' });
  const stat = await host.files.stat(path);
  if (!stat) throw new NodeError(`"${path}" does not exist`, { param: 'path', fix: 'check the path (relative paths resolve against the graph file\'s folder)' });
  if (!stat.isDirectory) return { file: path, stamp: `${stat.size}:${stat.mtimeMs}` };
  const images = (await host.files.list(path)).filter((name) => IMAGE_EXTENSIONS.some((e) => name.toLowerCase().endsWith(e)));
  if (images.length === 0)
    throw new NodeError(`folder "${path}" holds no PNG or JPEG images and no dataset (transforms_train.json, transforms.json or poses_bounds.npy)`, {
      param: 'format',
      fix: 'point "path" at an image, a folder of images or a dataset folder; "format" can be auto, image, blender, nerfstudio or llff',
    });
  if (index >= images.length)
    throw new NodeError(`folder "${path}" has ${images.length} images, so index ${index} is out of range`, { param: 'index', fix: `use 0 to ${images.length - 1}` });
  const file = `${path.replace(/[\\/]+$/, '')}/${images[index]}`;
  const fileStat = await host.files.stat(file);
  return { file, stamp: `${images.length}:${fileStat?.size}:${fileStat?.mtimeMs}` };
}

/** The dataset behind the params, or undefined for plain images. */
async function locate(host: SamnerfHost, params: Readonly<Record<string, unknown>>): Promise<DatasetLocation | undefined> {
  const path = params.path as string;
  const format = params.format as FormatParam;
  if (format === 'image' || path === '') return undefined;
  if (!(await host.files.stat(path))) return undefined; // locateImage reports it
  return locateDataset(host, path, format as DatasetFormat | 'auto');
}

function planOptions(params: Readonly<Record<string, unknown>>): PlanOptions {
  return {
    splits: parseSplits(params.splits as string),
    evalEvery: params.evalEvery as number,
    scale: params.scale as number,
    groundTruth: params.groundTruth as boolean,
  };
}

/** The view that `image` and `alpha` carry: by name when `view` is set, else the index-th. */
function pickView(views: ViewsValue, params: Readonly<Record<string, unknown>>): View {
  const name = params.view as string;
  if (name !== '') {
    const found = views.views.find((v) => v.name === name);
    if (!found) {
      const some = views.views.slice(0, 4).map((v) => v.name).join(', ');
      throw new NodeError(`the dataset has no view "${name}" in the splits loaded`, { param: 'view', fix: `use a name such as ${some} (or check "splits")` });
    }
    return found;
  }
  const index = params.index as number;
  if (index >= views.views.length)
    throw new NodeError(`the dataset has ${views.views.length} views in the splits loaded, so index ${index} is out of range`, { param: 'index', fix: `use 0 to ${views.views.length - 1}` });
  return views.views[index]!;
}

function alphaMask(width: number, height: number, alpha: Uint8Array | undefined): MaskValue {
  const data = new Uint8Array(width * height);
  if (alpha) for (let i = 0; i < data.length; i++) data[i] = alpha[i]! > 0 ? 1 : 0;
  else data.fill(1);
  return { kind: 'Mask', width, height, data };
}

export const ImageLoader = defineNode({
  type: 'ImageLoader',
  version: 1,
  category: 'Input',
  description: 'Loads a PNG or JPEG photo (8/16-bit, RGBA composited over a background), the n-th image of a folder, or a posed multi-view dataset (NeRF Blender, nerfstudio / instant-ngp, LLFF)',
  inputs: {},
  outputs: {
    image: { type: 'Image', description: 'the photo as 8-bit RGB (for a dataset: the chosen view)' },
    alpha: { type: 'Mask', description: 'pixels with alpha > 0 (all pixels when the file has no alpha)' },
    views: { type: 'Views', description: 'every view of a dataset with cameras, splits and bounds (a plain photo: one unposed view, format "images")' },
  },
  params: {
    path: { type: 'path', mode: 'any', default: '', extensions: [...IMAGE_EXTENSIONS, '.json', '.npy'], description: 'an image file, a folder of images, or a dataset folder (or its transforms / poses_bounds file)' },
    index: { type: 'integer', default: 0, min: 0, description: 'which image of a folder (sorted by name), or which view of a dataset' },
    background: colorParam('colour under transparent pixels', [255, 255, 255]),
    format: { type: 'enum', options: FORMATS, default: 'auto', description: 'auto detects a dataset folder; image reads plain images only' },
    view: { type: 'string', default: '', description: 'a dataset view by name (e.g. "train/r_0"), instead of index' },
    splits: { type: 'string', default: 'train,val,test', description: 'dataset splits to load, comma-separated (fewer loads faster)' },
    scale: { type: 'number', default: 1, min: 0.01, max: 1, description: 'downsample images by this factor; intrinsics scale with them' },
    evalEvery: { type: 'integer', default: 8, min: 0, advanced: true, description: 'nerfstudio / LLFF: every Nth view is test (0 = none)' },
    groundTruth: { type: 'boolean', default: true, advanced: true, description: 'read depth and instance maps when the dataset has them' },
  },
  // File sizes and times enter the cache signature, so an edited photo or frame is read again.
  async cacheKey(params, host: SamnerfHost) {
    try {
      const location = await locate(host, params);
      if (location) return await planStamp(host, await planDataset(host, location, planOptions(params)));
      return (await locateImage(host, params.path as string, params.index as number)).stamp;
    } catch {
      return undefined;
    }
  },
  async run(ctx: NodeContext<SamnerfHost>, _inputs, params) {
    const background = params.background as [number, number, number];
    const location = await locate(ctx.host, params);
    if (location) {
      const t0 = Date.now();
      const plan = await planDataset(ctx.host, location, planOptions(params));
      for (const note of plan.notes) ctx.log(note);
      const views = await loadPlan(plan, ctx.host, {
        background,
        signal: ctx.signal,
        progress: (done, total) => ctx.progress(done, total, 'views'),
      });
      const view = pickView(views, params);
      const counts = ['train', 'val', 'test'].map((s) => [s, views.views.filter((v) => v.split === s).length] as const).filter(([, n]) => n > 0);
      const withDepth = views.views.filter((v) => v.depth).length, withIds = views.views.filter((v) => v.instances).length;
      const truth = withDepth || withIds ? `; ground truth: depth in ${withDepth}, instance ids in ${withIds}` : '';
      ctx.log(`${location.root}: ${location.format}, ${counts.map(([s, n]) => `${n} ${s}`).join(', ')} views in ${Date.now() - t0} ms${truth}; image = ${view.name}`);
      return { image: view.image, alpha: alphaMask(view.image.width, view.image.height, view.alpha), views };
    }

    const { file } = await locateImage(ctx.host, params.path as string, params.index as number);
    let bytes: Uint8Array;
    try {
      bytes = await ctx.host.files.readFile(file);
    } catch (e) {
      throw new NodeError(`cannot read "${file}": ${(e as Error).message}`, { param: 'path' });
    }
    let decoded;
    try {
      decoded = await ctx.host.images.decode(bytes, { name: file, background });
    } catch (e) {
      if (e instanceof ImageDecodeError) throw new NodeError(e.message, { param: 'path', fix: 'choose a PNG or JPEG file' });
      throw e;
    }
    let image: ImageValue = decoded.image;
    let alpha = decoded.alpha;
    const scale = params.scale as number;
    if (scale !== 1) {
      const w = Math.max(1, Math.round(image.width * scale));
      const h = Math.max(1, Math.round(image.height * scale));
      if (alpha) alpha = resizeGray8(alpha, image.width, image.height, w, h);
      image = { ...image, width: w, height: h, data: resizeRgb8(image.data, image.width, image.height, w, h) };
    }
    const { width, height } = image;
    ctx.log(`${file}: ${width}x${height}, ${decoded.format} ${decoded.bitDepth}-bit${decoded.alpha ? ' with alpha' : ''}`);
    return { image, alpha: alphaMask(width, height, alpha), views: unposedViews(file, image, alpha) };
  },
});

/** One view with a placeholder camera (identity pose, focal = longer side, about a 53° field of view). */
function unposedViews(file: string, image: ImageValue, alpha: Uint8Array | undefined): ViewsValue {
  const { width, height } = image;
  const f = Math.max(width, height);
  const name = stripImageExtension(file.replace(/^.*[\\/]/, ''));
  const view: View = {
    name,
    split: 'train',
    image,
    camera: { width, height, fx: f, fy: f, cx: width / 2, cy: height / 2, cameraToWorld: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1] },
  };
  if (alpha) view.alpha = alpha;
  return { kind: 'Views', views: [view], bounds: { min: [-1, -1, -2], max: [1, 1, 0] }, near: 0.1, far: 100, sceneKind: 'forward', source: file, format: 'images' };
}

// ImageLoader: a PNG or JPEG photo (8- or 16-bit, RGBA composited on a
// background colour) from a file, or the n-th image of a folder.

import { defineNode, NodeError, type NodeContext } from '../engine';
import type { ImageValue, MaskValue } from '../engine/values';
import { ImageDecodeError } from '../runtime-gpu/image/codec';
import type { SamnerfHost } from './host';
import { colorParam } from './params';

const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.webp'];

async function locateImage(host: SamnerfHost, path: string, index: number): Promise<{ file: string; stamp: string }> {
  if (path === '') throw new NodeError('no image chosen', { param: 'path', fix: 'set "path" to a PNG or JPEG file or a folder of them' });
  const stat = await host.files.stat(path);
  if (!stat) throw new NodeError(`"${path}" does not exist`, { param: 'path', fix: 'check the path (relative paths resolve against the graph file\'s folder)' });
  if (!stat.isDirectory) return { file: path, stamp: `${stat.size}:${stat.mtimeMs}` };
  const images = (await host.files.list(path)).filter((name) => IMAGE_EXTENSIONS.some((e) => name.toLowerCase().endsWith(e)));
  if (images.length === 0) throw new NodeError(`folder "${path}" holds no PNG or JPEG images`, { param: 'path' });
  if (index >= images.length)
    throw new NodeError(`folder "${path}" has ${images.length} images, so index ${index} is out of range`, { param: 'index', fix: `use 0 to ${images.length - 1}` });
  const file = `${path.replace(/[\\/]+$/, '')}/${images[index]}`;
  const fileStat = await host.files.stat(file);
  return { file, stamp: `${images.length}:${fileStat?.size}:${fileStat?.mtimeMs}` };
}

export const ImageLoader = defineNode({
  type: 'ImageLoader',
  version: 1,
  category: 'Input',
  description: 'Loads a PNG or JPEG photo (8/16-bit, RGBA composited over a background), or the n-th image of a folder',
  inputs: {},
  outputs: {
    image: { type: 'Image', description: 'the photo as 8-bit RGB' },
    alpha: { type: 'Mask', description: 'pixels with alpha > 0 (all pixels when the file has no alpha)' },
  },
  params: {
    path: { type: 'path', mode: 'any', default: '', extensions: IMAGE_EXTENSIONS, description: 'an image file, or a folder of images' },
    index: { type: 'integer', default: 0, min: 0, description: 'which image of a folder (sorted by name)' },
    background: colorParam('colour under transparent pixels', [255, 255, 255]),
  },
  // The file's size and time enter the cache signature, so an edited photo is read again.
  async cacheKey(params, host: SamnerfHost) {
    try {
      return (await locateImage(host, params.path as string, params.index as number)).stamp;
    } catch {
      return undefined;
    }
  },
  async run(ctx: NodeContext<SamnerfHost>, _inputs, params) {
    const { file } = await locateImage(ctx.host, params.path as string, params.index as number);
    let bytes: Uint8Array;
    try {
      bytes = await ctx.host.files.readFile(file);
    } catch (e) {
      throw new NodeError(`cannot read "${file}": ${(e as Error).message}`, { param: 'path' });
    }
    let decoded;
    try {
      decoded = await ctx.host.images.decode(bytes, { name: file, background: params.background as [number, number, number] });
    } catch (e) {
      if (e instanceof ImageDecodeError) throw new NodeError(e.message, { param: 'path', fix: 'choose a PNG or JPEG file' });
      throw e;
    }
    const image: ImageValue = decoded.image;
    const { width, height } = image;
    const alpha = new Uint8Array(width * height);
    if (decoded.alpha) for (let i = 0; i < alpha.length; i++) alpha[i] = decoded.alpha[i]! > 0 ? 1 : 0;
    else alpha.fill(1);
    const alphaMask: MaskValue = { kind: 'Mask', width, height, data: alpha };
    ctx.log(`${file}: ${width}x${height}, ${decoded.format} ${decoded.bitDepth}-bit${decoded.alpha ? ' with alpha' : ''}`);
    return { image, alpha: alphaMask };
  },
});

// ImageCodec for the browser or a Web Worker: the platform decodes
// (createImageBitmap) and encodes (OffscreenCanvas.convertToBlob); the
// compositing over the background is the shared one in ./codec.
//
// Limits of the platform, unlike ./codec-sharp:
// - Canvas pixels are 8-bit: a 16-bit PNG reports bitDepth 16 but arrives
//   already reduced to 8 bits by the browser (which may truncate rather than
//   round), so values can differ by 1 from the Node codec.
// - A 2D canvas stores premultiplied alpha, so the colour of partly
//   transparent pixels comes back with premultiplication rounding (at most
//   about 1 step after compositing), and encodePng of RGBA data is not exact
//   where alpha < 255.
// - colorSpaceConversion 'none' skips embedded ICC profiles, where sharp
//   converts to sRGB.

import {
  checkBackground,
  checkImageBytes,
  checkRawImage,
  compositeToRgb8,
  corruptImageError,
  makeDecoded,
  readPngInfo,
  type DecodedImage,
  type DecodeOptions,
  type ImageCodec,
  type RawImage,
} from './codec';

function toBlob(bytes: Uint8Array, type?: string): Blob {
  // Blob wants ArrayBuffer-backed views; copy anything else (e.g. shared memory).
  const part = bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : bytes.slice();
  return new Blob([part], type ? { type } : undefined);
}

function context2d(canvas: OffscreenCanvas): OffscreenCanvasRenderingContext2D {
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new Error('OffscreenCanvas 2D context is not available');
  return ctx;
}

export class BrowserImageCodec implements ImageCodec {
  async decode(bytes: Uint8Array, opts: DecodeOptions): Promise<DecodedImage> {
    const { name } = opts;
    const background = checkBackground(opts.background);
    const format = checkImageBytes(bytes, name);
    const png = format === 'png' ? readPngInfo(bytes) : undefined;
    const mime = format === 'png' ? 'image/png' : format === 'jpeg' ? 'image/jpeg' : 'image/webp';

    let bitmap: ImageBitmap;
    try {
      bitmap = await createImageBitmap(toBlob(bytes, mime), {
        premultiplyAlpha: 'none',
        colorSpaceConversion: 'none',
        imageOrientation: 'from-image',
      });
    } catch (e) {
      throw corruptImageError(name, format, e);
    }
    const { width, height } = bitmap;
    let rgba: Uint8ClampedArray;
    try {
      const ctx = context2d(new OffscreenCanvas(width, height));
      ctx.drawImage(bitmap, 0, 0);
      rgba = ctx.getImageData(0, 0, width, height).data;
    } finally {
      bitmap.close();
    }

    // JPEG has no alpha; PNG says so in its header; for WebP look at the pixels.
    let hasAlpha = png ? png.hasAlpha : false;
    if (format === 'webp') {
      for (let i = 3; i < rgba.length; i += 4) {
        if (rgba[i] !== 255) {
          hasAlpha = true;
          break;
        }
      }
    }
    const composited = compositeToRgb8(rgba, width, height, 4, background);
    if (!hasAlpha) delete composited.alpha;
    return makeDecoded(name, width, height, composited, png?.bitDepth === 16 ? 16 : 8, format);
  }

  async encodePng(img: RawImage): Promise<Uint8Array> {
    checkRawImage(img);
    const { width, height, channels, data } = img;
    const rgba = new Uint8ClampedArray(width * height * 4);
    for (let p = 0, n = width * height; p < n; p++) {
      const o = p * 4;
      if (channels === 1) {
        rgba[o] = rgba[o + 1] = rgba[o + 2] = data[p]!;
        rgba[o + 3] = 255;
      } else {
        const s = p * channels;
        rgba[o] = data[s]!;
        rgba[o + 1] = data[s + 1]!;
        rgba[o + 2] = data[s + 2]!;
        rgba[o + 3] = channels === 4 ? data[s + 3]! : 255;
      }
    }
    const canvas = new OffscreenCanvas(width, height);
    context2d(canvas).putImageData(new ImageData(rgba, width, height), 0, 0);
    const blob = await canvas.convertToBlob({ type: 'image/png' });
    return new Uint8Array(await blob.arrayBuffer());
  }
}

/** A shared instance (the codec has no state). */
export const browserImageCodec: ImageCodec = new BrowserImageCodec();

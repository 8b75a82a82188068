// ImageCodec for Node, on sharp (libvips). Not for the browser bundle.
//
// Decoding applies EXIF orientation (.rotate() without arguments), converts
// to sRGB (sharp's default, which also applies an embedded ICC profile and
// turns CMYK JPEGs into RGB) and reads raw samples. 16-bit files are read as
// 16-bit samples in the 'rgb16'/'grey16' colourspace: without that, sharp
// reduces them to 8 bits (by truncation) before handing out the samples,
// even with raw({ depth: 'ushort' }).

import sharp from 'sharp';
import {
  checkBackground,
  checkImageBytes,
  checkRawImage,
  compositeToRgb8,
  corruptImageError,
  makeDecoded,
  ImageDecodeError,
  type DecodedImage,
  type DecodeOptions,
  type ImageCodec,
  type RawImage,
} from './codec';

export class SharpImageCodec implements ImageCodec {
  async decode(bytes: Uint8Array, opts: DecodeOptions): Promise<DecodedImage> {
    const { name } = opts;
    const background = checkBackground(opts.background);
    const format = checkImageBytes(bytes, name);

    let meta: sharp.Metadata;
    try {
      meta = await sharp(bytes).metadata();
    } catch (e) {
      throw corruptImageError(name, format, e);
    }
    const wide = meta.depth === 'ushort';
    const gray = (meta.channels ?? 3) <= 2;
    if (meta.depth !== undefined && meta.depth !== 'uchar' && meta.depth !== 'ushort') {
      throw new ImageDecodeError(`${name} has ${meta.depth} samples; only 8- and 16-bit images are supported`, {
        file: name,
        problem: 'unsupported',
      });
    }
    const space = wide ? (gray ? 'grey16' : 'rgb16') : gray ? 'b-w' : 'srgb';

    let data: Buffer;
    let info: sharp.OutputInfo;
    try {
      ({ data, info } = await sharp(bytes)
        .rotate()
        .toColourspace(space)
        .raw({ depth: wide ? 'ushort' : 'uchar' })
        .toBuffer({ resolveWithObject: true }));
    } catch (e) {
      throw corruptImageError(name, format, e);
    }
    const { width, height, channels } = info;
    if (channels < 1 || channels > 4) {
      throw new ImageDecodeError(`${name} decoded to ${channels} channels; expected 1 to 4`, { file: name, problem: 'unsupported' });
    }
    let samples: Uint8Array | Uint16Array;
    if (wide) {
      // Native-endian 16-bit samples; copy when the Buffer is not 2-byte aligned.
      const aligned = data.byteOffset % 2 === 0 ? data : Buffer.from(data);
      samples = new Uint16Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 2);
    } else {
      samples = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    }
    const composited = compositeToRgb8(samples, width, height, channels as 1 | 2 | 3 | 4, background);
    return makeDecoded(name, width, height, composited, wide ? 16 : 8, format);
  }

  async encodePng(img: RawImage): Promise<Uint8Array> {
    checkRawImage(img);
    const { width, height, channels, data } = img;
    const png = await sharp(data, { raw: { width, height, channels } })
      .toColourspace(channels === 1 ? 'b-w' : 'srgb')
      .png()
      .toBuffer();
    return new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
  }
}

/** A shared instance (the codec has no state). */
export const sharpImageCodec: ImageCodec = new SharpImageCodec();

// ImageCodec for Node without native code, on pngjs: PNG only (8- and 16-bit,
// grey, RGB, palette, with or without alpha). For machines where sharp's
// libvips binary is not installed (a bare GPU box the bench is copied to);
// the CLI uses ./codec-sharp, which also reads JPEG and applies EXIF and ICC.

import { PNG } from 'pngjs';
import {
  checkBackground,
  checkImageBytes,
  checkRawImage,
  compositeToRgb8,
  corruptImageError,
  makeDecoded,
  ImageDecodeError,
  readPngInfo,
  type DecodedImage,
  type DecodeOptions,
  type ImageCodec,
  type RawImage,
} from './codec';

export class PngjsImageCodec implements ImageCodec {
  async decode(bytes: Uint8Array, opts: DecodeOptions): Promise<DecodedImage> {
    const { name } = opts;
    const background = checkBackground(opts.background);
    const format = checkImageBytes(bytes, name);
    if (format !== 'png')
      throw new ImageDecodeError(`${name} is ${format.toUpperCase()}; this image codec (pngjs) reads PNG only: install sharp (npm ci) to read it`, { file: name, problem: 'unsupported' });
    const info = readPngInfo(bytes);
    const wide = info?.bitDepth === 16;
    let png: PNG;
    try {
      // Always RGBA out; skipRescale keeps 16-bit samples (then data is 16-bit).
      png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { skipRescale: true });
    } catch (e) {
      throw corruptImageError(name, format, e);
    }
    const { width, height } = png;
    const raw = png.data as unknown as Uint8Array | Uint16Array;
    const samples = wide && !(raw instanceof Uint16Array) ? Uint16Array.from(raw) : raw;
    if (info?.hasAlpha) return makeDecoded(name, width, height, compositeToRgb8(samples, width, height, 4, background), wide ? 16 : 8, format);
    const rgb = wide ? new Uint16Array(width * height * 3) : new Uint8Array(width * height * 3);
    for (let p = 0; p < width * height; p++) for (let c = 0; c < 3; c++) rgb[p * 3 + c] = samples[p * 4 + c]!;
    return makeDecoded(name, width, height, compositeToRgb8(rgb, width, height, 3, background), wide ? 16 : 8, format);
  }

  async encodePng(img: RawImage): Promise<Uint8Array> {
    checkRawImage(img);
    const { width, height, channels, data } = img;
    const rgba = Buffer.alloc(width * height * 4);
    for (let p = 0; p < width * height; p++) {
      const s = p * channels;
      rgba[p * 4] = data[s]!;
      rgba[p * 4 + 1] = channels >= 3 ? data[s + 1]! : data[s]!;
      rgba[p * 4 + 2] = channels >= 3 ? data[s + 2]! : data[s]!;
      rgba[p * 4 + 3] = channels === 4 ? data[s + 3]! : 255;
    }
    const png = new PNG({ width, height });
    png.data = rgba;
    const out = PNG.sync.write(png, { colorType: channels === 4 ? 6 : channels === 1 ? 0 : 2, inputColorType: 6, inputHasAlpha: true });
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  }
}

export const pngjsImageCodec: ImageCodec = new PngjsImageCodec();

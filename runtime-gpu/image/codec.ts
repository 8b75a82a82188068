// Platform-neutral image decoding/encoding interface, plus the pieces both
// implementations share: magic-byte sniffing, PNG header reading, the typed
// decode error and the compositing of RGBA (8- or 16-bit) over a background.
//
// Implementations: ./codec-sharp (Node, sharp) and ./codec-browser (browser
// or Web Worker, createImageBitmap + OffscreenCanvas).

import type { ImageValue } from '../../engine/values';

export type RgbColor = [number, number, number];

export interface DecodeOptions {
  /** File name or view name, used in ImageValue.name and in error messages. */
  name: string;
  /** Colour (0-255 per channel) that transparent pixels are composited over; default white. */
  background?: RgbColor;
}

export interface DecodedImage {
  /** 8-bit RGB, with any alpha already composited over the background. */
  image: ImageValue;
  /** Straight alpha 0-255 per pixel (width*height bytes), only when the file had an alpha channel. */
  alpha?: Uint8Array;
  /** Bits per sample in the file (1-, 2- and 4-bit files report 8). */
  bitDepth: 8 | 16;
  format: 'png' | 'jpeg' | (string & {});
}

export interface RawImage {
  width: number;
  height: number;
  /** 1 = gray, 3 = RGB, 4 = RGBA (straight alpha), interleaved 8-bit samples. */
  channels: 1 | 3 | 4;
  data: Uint8Array;
}

export interface ImageCodec {
  decode(bytes: Uint8Array, opts: DecodeOptions): Promise<DecodedImage>;
  encodePng(img: RawImage): Promise<Uint8Array>;
}

export const DEFAULT_BACKGROUND: RgbColor = [255, 255, 255];

export type ImageFormat = 'png' | 'jpeg' | 'webp' | 'unknown';

/** The format of an encoded image from its magic bytes. */
export function sniffImageFormat(bytes: Uint8Array): ImageFormat {
  const b = bytes;
  if (b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47 && b[4] === 0x0d && b[5] === 0x0a && b[6] === 0x1a && b[7] === 0x0a) {
    return 'png';
  }
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (
    b.length >= 12 &&
    b[0] === 0x52 && b[1] === 0x49 && b[2] === 0x46 && b[3] === 0x46 && // RIFF
    b[8] === 0x57 && b[9] === 0x45 && b[10] === 0x42 && b[11] === 0x50 // WEBP
  ) {
    return 'webp';
  }
  return 'unknown';
}

export type ImageDecodeProblem = 'empty' | 'unknown-format' | 'corrupt' | 'unsupported';

/** A file that could not be decoded; the message names the file and what is wrong. */
export class ImageDecodeError extends Error {
  /** The name passed to decode(). */
  readonly file: string;
  readonly problem: ImageDecodeProblem;
  constructor(message: string, details: { file: string; problem: ImageDecodeProblem; cause?: unknown }) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'ImageDecodeError';
    this.file = details.file;
    this.problem = details.problem;
  }
}

/** The first `count` bytes as lowercase hex, e.g. "48 65 6c 6c". */
export function leadingBytesHex(bytes: Uint8Array, count = 4): string {
  return Array.from(bytes.subarray(0, count), (v) => v.toString(16).padStart(2, '0')).join(' ');
}

/**
 * Sniffs the bytes and throws an ImageDecodeError for an empty file or one
 * that is not PNG, JPEG or WebP; returns the format otherwise.
 */
export function checkImageBytes(bytes: Uint8Array, name: string): Exclude<ImageFormat, 'unknown'> {
  if (bytes.length === 0) {
    throw new ImageDecodeError(`${name} is empty (0 bytes), not a PNG or JPEG image`, { file: name, problem: 'empty' });
  }
  const format = sniffImageFormat(bytes);
  if (format === 'unknown') {
    throw new ImageDecodeError(`${name} is not a PNG or JPEG image (starts with bytes ${leadingBytesHex(bytes)})`, {
      file: name,
      problem: 'unknown-format',
    });
  }
  return format;
}

/** The error for bytes that sniffed as an image but failed to decode. */
export function corruptImageError(name: string, format: string, cause: unknown): ImageDecodeError {
  const detail = cause instanceof Error ? cause.message : String(cause);
  const what = format === 'jpeg' ? 'JPEG' : format === 'webp' ? 'WebP' : format.toUpperCase();
  return new ImageDecodeError(`${name} is a corrupt or truncated ${what} image (${detail.trim()})`, {
    file: name,
    problem: 'corrupt',
    cause,
  });
}

export interface PngInfo {
  width: number;
  height: number;
  /** 1, 2, 4, 8 or 16. */
  bitDepth: number;
  /** 0 gray, 2 RGB, 3 palette, 4 gray+alpha, 6 RGBA. */
  colorType: number;
  /** Colour type 4 or 6, or a tRNS chunk before the image data. */
  hasAlpha: boolean;
}

/** Reads a PNG's IHDR (and looks for tRNS); undefined when the header is not there. */
export function readPngInfo(bytes: Uint8Array): PngInfo | undefined {
  if (sniffImageFormat(bytes) !== 'png' || bytes.length < 33) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u32 = (at: number) => view.getUint32(at);
  const type = (at: number) => String.fromCharCode(bytes[at]!, bytes[at + 1]!, bytes[at + 2]!, bytes[at + 3]!);
  if (type(12) !== 'IHDR') return undefined;
  const info: PngInfo = {
    width: u32(16),
    height: u32(20),
    bitDepth: bytes[24]!,
    colorType: bytes[25]!,
    hasAlpha: bytes[25] === 4 || bytes[25] === 6,
  };
  // Chunks: length(4) type(4) data(length) crc(4). tRNS must precede IDAT.
  let at = 8;
  while (!info.hasAlpha && at + 8 <= bytes.length) {
    const length = u32(at);
    const t = type(at + 4);
    if (t === 'tRNS') info.hasAlpha = true;
    if (t === 'IDAT' || t === 'IEND') break;
    at += 12 + length;
  }
  return info;
}

/** Checks a background colour: three integers 0-255. */
export function checkBackground(background: RgbColor | undefined): RgbColor {
  if (background === undefined) return DEFAULT_BACKGROUND;
  if (
    !Array.isArray(background) ||
    background.length !== 3 ||
    background.some((v) => !Number.isInteger(v) || v < 0 || v > 255)
  ) {
    throw new RangeError(`background must be three integers 0-255, got ${JSON.stringify(background)}`);
  }
  return background;
}

/** Checks the header and data length of an image given to encodePng. */
export function checkRawImage(img: RawImage): void {
  const { width, height, channels, data } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`encodePng: width and height must be positive integers, got ${width}x${height}`);
  }
  if (channels !== 1 && channels !== 3 && channels !== 4) {
    throw new RangeError(`encodePng: channels must be 1, 3 or 4, got ${String(channels)}`);
  }
  if (!(data instanceof Uint8Array) || data.length !== width * height * channels) {
    throw new RangeError(
      `encodePng: a ${width}x${height} image with ${channels} channel(s) needs ${width * height * channels} bytes, got ${data?.length}`,
    );
  }
}

/** 16-bit sample -> 8 bits, rounded to nearest (v / 257; never a tie since 257 is odd). */
export function to8Bit(v16: number): number {
  return Math.round(v16 / 257);
}

/**
 * Interleaved samples (gray, gray+alpha, RGB or RGBA; 8-bit in a Uint8Array,
 * 16-bit in a Uint16Array) -> 8-bit RGB with straight alpha composited over
 * `background`, plus the 8-bit alpha when there was one. 16-bit samples keep
 * their precision through the blend and are rounded once at the end.
 */
export function compositeToRgb8(
  samples: Uint8Array | Uint8ClampedArray | Uint16Array,
  width: number,
  height: number,
  channels: 1 | 2 | 3 | 4,
  background: RgbColor = DEFAULT_BACKGROUND,
): { rgb: Uint8Array; alpha?: Uint8Array } {
  const n = width * height;
  if (samples.length !== n * channels) {
    throw new RangeError(`expected ${n * channels} samples for ${width}x${height}x${channels}, got ${samples.length}`);
  }
  const rgb = new Uint8Array(n * 3);
  const hasAlpha = channels === 2 || channels === 4;
  const alpha = hasAlpha ? new Uint8Array(n) : undefined;
  const colour = channels >= 3 ? 3 : 1;
  const wide = samples instanceof Uint16Array;
  const [br, bg, bb] = background;
  const back = [br, bg, bb];

  for (let p = 0; p < n; p++) {
    const s = p * channels;
    const o = p * 3;
    if (!hasAlpha) {
      for (let c = 0; c < 3; c++) {
        const v = samples[s + (colour === 3 ? c : 0)]!;
        rgb[o + c] = wide ? to8Bit(v) : v;
      }
      continue;
    }
    const a = samples[s + colour]!;
    if (wide) {
      alpha![p] = to8Bit(a);
      const ia = 65535 - a;
      for (let c = 0; c < 3; c++) {
        const v = samples[s + (colour === 3 ? c : 0)]!;
        // (v*a + bg16*(65535-a)) / 65535, then / 257 to 8 bits, rounded once.
        rgb[o + c] = Math.round((v * a + back[c]! * 257 * ia) / 16842495);
      }
    } else {
      alpha![p] = a;
      const ia = 255 - a;
      for (let c = 0; c < 3; c++) {
        const v = samples[s + (colour === 3 ? c : 0)]!;
        // round((v*a + bg*(255-a)) / 255), halves up, in integers.
        rgb[o + c] = ((v * a + back[c]! * ia) * 2 + 255) / 510 | 0;
      }
    }
  }
  return alpha ? { rgb, alpha } : { rgb };
}

/** Builds the DecodedImage value. */
export function makeDecoded(
  name: string,
  width: number,
  height: number,
  composited: { rgb: Uint8Array; alpha?: Uint8Array },
  bitDepth: 8 | 16,
  format: string,
): DecodedImage {
  const image: ImageValue = { kind: 'Image', width, height, data: composited.rgb, name };
  const out: DecodedImage = { image, bitDepth, format };
  if (composited.alpha) out.alpha = composited.alpha;
  return out;
}

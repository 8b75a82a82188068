import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { ImageValue } from '../engine/values';
import {
  compositeToRgb8,
  ImageDecodeError,
  readPngInfo,
  sniffImageFormat,
} from '../runtime-gpu/image/codec';
import { sharpImageCodec as codec } from '../runtime-gpu/image/codec-sharp';
import {
  colormapLut,
  drawBox,
  drawPoints,
  heatmapToRgb,
  maskToGray,
  NEGATIVE_POINT_COLOR,
  POINT_RING_COLOR,
  POSITIVE_POINT_COLOR,
  tintMask,
} from '../runtime-gpu/image/draw';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const shared = resolve(repoRoot, '../shared');
const truckPath = resolve(shared, 'data/images/truck.jpg');
const legoPath = resolve(shared, 'data/lego_400/test/r_0.png');

function pixel(rgb: Uint8Array, width: number, x: number, y: number): number[] {
  const o = (y * width + x) * 3;
  return [rgb[o]!, rgb[o + 1]!, rgb[o + 2]!];
}

/** A 16-bit PNG written by pngjs from 16-bit samples. */
function png16(width: number, height: number, colorType: 0 | 2 | 4 | 6, samples: number[]): Uint8Array {
  const hasAlpha = colorType === 4 || colorType === 6;
  const png = new PNG({ width, height, bitDepth: 16, colorType, inputColorType: colorType, inputHasAlpha: hasAlpha });
  png.data = Uint16Array.from(samples) as unknown as Buffer;
  return new Uint8Array(PNG.sync.write(png, { bitDepth: 16, colorType, inputColorType: colorType, inputHasAlpha: hasAlpha }));
}

describe('sniffImageFormat', () => {
  it('recognises magic bytes', () => {
    expect(sniffImageFormat(Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0]))).toBe('png');
    expect(sniffImageFormat(Uint8Array.from([0xff, 0xd8, 0xff, 0xe0]))).toBe('jpeg');
    expect(sniffImageFormat(new TextEncoder().encode('RIFF\0\0\0\0WEBPVP8 '))).toBe('webp');
    expect(sniffImageFormat(new TextEncoder().encode('Hello'))).toBe('unknown');
    expect(sniffImageFormat(new Uint8Array())).toBe('unknown');
  });
});

describe('decode errors', () => {
  it('names the file and its first bytes for a text file', async () => {
    const text = new TextEncoder().encode('Hello, this is not an image\n');
    const err = await codec.decode(text, { name: 'truck.txt' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageDecodeError);
    expect((err as ImageDecodeError).message).toBe('truck.txt is not a PNG or JPEG image (starts with bytes 48 65 6c 6c)');
    expect((err as ImageDecodeError).file).toBe('truck.txt');
    expect((err as ImageDecodeError).problem).toBe('unknown-format');
  });

  it('says when a file is empty', async () => {
    await expect(codec.decode(new Uint8Array(), { name: 'empty.png' })).rejects.toThrow(/empty\.png is empty/);
  });

  it('names a truncated PNG', async () => {
    const good = png16(4, 4, 2, new Array(48).fill(1000));
    const err = await codec.decode(good.subarray(0, 40), { name: 'cut.png' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageDecodeError);
    expect((err as Error).message).toMatch(/^cut\.png is a corrupt or truncated PNG image/);
  });

  it('rejects a bad background', async () => {
    const png = png16(1, 1, 2, [0, 0, 0]);
    await expect(codec.decode(png, { name: 'x.png', background: [0, 0, 256] })).rejects.toThrow(/background/);
  });
});

describe('16-bit PNG', () => {
  // v/257 rounded; 51200 (199.2) and 129 (0.502) tell rounding from the
  // truncating v >> 8 that sharp applies when left to itself.
  const values = [65535, 32896, 257, 51200, 129, 128, 0, 32767, 32768];
  const expected = [255, 128, 1, 199, 1, 0, 0, 127, 128];

  it('reduces RGB samples to 8 bits with rounding', async () => {
    const samples = values.flatMap((v, i) => [v, values[(i + 1) % values.length]!, values[(i + 2) % values.length]!]);
    const out = await codec.decode(png16(values.length, 1, 2, samples), { name: 'deep.png' });
    expect(out.bitDepth).toBe(16);
    expect(out.format).toBe('png');
    expect(out.alpha).toBeUndefined();
    expect(Array.from(out.image.data)).toEqual(
      expected.flatMap((v, i) => [v, expected[(i + 1) % expected.length]!, expected[(i + 2) % expected.length]!]),
    );
  });

  it('reduces gray samples and expands them to RGB', async () => {
    const out = await codec.decode(png16(values.length, 1, 0, values), { name: 'gray16.png' });
    expect(out.bitDepth).toBe(16);
    expect(Array.from(out.image.data)).toEqual(expected.flatMap((v) => [v, v, v]));
  });

  it('composites 16-bit RGBA at full precision, then rounds once', async () => {
    // Pixels: opaque (51200, 257, 65535); fully transparent; (65535, 51200, 0) at alpha 32768.
    // Over black: 51200*32768/65535/257 = 99.61 -> 100; alpha 32768/257 = 127.502 -> 128.
    // Over white: (51200*32768 + 65535*32767)/65535/257 = 227.11 -> 227; 0 -> 32767/257 = 127.498 -> 127.
    const samples = [51200, 257, 65535, 65535, 1000, 2000, 3000, 0, 65535, 51200, 0, 32768];
    const png = png16(3, 1, 6, samples);
    const black = await codec.decode(png, { name: 'rgba16.png', background: [0, 0, 0] });
    expect(black.bitDepth).toBe(16);
    expect(Array.from(black.alpha!)).toEqual([255, 0, 128]);
    expect(pixel(black.image.data, 3, 0, 0)).toEqual([199, 1, 255]);
    expect(pixel(black.image.data, 3, 1, 0)).toEqual([0, 0, 0]);
    expect(pixel(black.image.data, 3, 2, 0)).toEqual([128, 100, 0]);
    const white = await codec.decode(png, { name: 'rgba16.png' });
    expect(pixel(white.image.data, 3, 1, 0)).toEqual([255, 255, 255]);
    expect(pixel(white.image.data, 3, 2, 0)).toEqual([255, 227, 127]);
  });

  it('gray+alpha 16-bit', async () => {
    const out = await codec.decode(png16(2, 1, 4, [51200, 65535, 65535, 0]), { name: 'ga16.png', background: [10, 20, 30] });
    expect(Array.from(out.alpha!)).toEqual([255, 0]);
    expect(Array.from(out.image.data)).toEqual([199, 199, 199, 10, 20, 30]);
  });
});

describe('compositeToRgb8', () => {
  it('blends 8-bit straight alpha with round-half-up', () => {
    // 200 at alpha 128 over 0: 200*128/255 = 100.39 -> 100; over 255: (25600 + 255*127)/255 = 227.39 -> 227.
    const rgba = Uint8Array.from([200, 200, 200, 128, 10, 20, 30, 255, 99, 99, 99, 0]);
    const black = compositeToRgb8(rgba, 3, 1, 4, [0, 0, 0]);
    expect(Array.from(black.rgb)).toEqual([100, 100, 100, 10, 20, 30, 0, 0, 0]);
    expect(Array.from(black.alpha!)).toEqual([128, 255, 0]);
    const white = compositeToRgb8(rgba, 3, 1, 4);
    expect(Array.from(white.rgb)).toEqual([227, 227, 227, 10, 20, 30, 255, 255, 255]);
  });
});

describe.skipIf(!existsSync(truckPath))(`truck.jpg (skipped: ${truckPath} not found; shared data lives at ../shared)`, () => {
  it('decodes 1800x1200 8-bit RGB without alpha, same pixels as sharp', async () => {
    const bytes = new Uint8Array(readFileSync(truckPath));
    const out = await codec.decode(bytes, { name: 'truck.jpg' });
    expect(out.format).toBe('jpeg');
    expect(out.bitDepth).toBe(8);
    expect(out.alpha).toBeUndefined();
    expect(out.image).toMatchObject({ kind: 'Image', width: 1800, height: 1200, name: 'truck.jpg' });
    expect(out.image.data.length).toBe(1800 * 1200 * 3);
    const ref = await sharp(bytes).removeAlpha().raw().toBuffer();
    expect(Buffer.compare(Buffer.from(out.image.data), ref)).toBe(0);
  });
});

describe.skipIf(!existsSync(legoPath))(`lego r_0.png (skipped: ${legoPath} not found; shared data lives at ../shared)`, () => {
  const load = () => new Uint8Array(readFileSync(legoPath));

  it('composites RGBA over white and black and returns the alpha', async () => {
    const bytes = load();
    const ref = PNG.sync.read(Buffer.from(bytes)); // independent decoder
    expect(readPngInfo(bytes)).toMatchObject({ width: 400, height: 400, bitDepth: 8, colorType: 6, hasAlpha: true });
    const white = await codec.decode(bytes, { name: 'r_0.png' });
    const black = await codec.decode(bytes, { name: 'r_0.png', background: [0, 0, 0] });
    for (const d of [white, black]) {
      expect(d.format).toBe('png');
      expect(d.bitDepth).toBe(8);
      expect(d.image.width).toBe(400);
      expect(d.image.height).toBe(400);
      expect(d.alpha).toHaveLength(400 * 400);
    }
    // Fully transparent corners become the background.
    expect(ref.data[3]).toBe(0);
    expect(pixel(white.image.data, 400, 0, 0)).toEqual([255, 255, 255]);
    expect(pixel(black.image.data, 400, 0, 0)).toEqual([0, 0, 0]);
    expect(pixel(white.image.data, 400, 399, 399)).toEqual([255, 255, 255]);
    // An opaque pixel of the bulldozer is unchanged on both.
    expect(Array.from(ref.data.subarray((200 * 400 + 200) * 4, (200 * 400 + 200) * 4 + 4))).toEqual([251, 2, 0, 255]);
    expect(pixel(white.image.data, 400, 200, 200)).toEqual([251, 2, 0]);
    expect(pixel(black.image.data, 400, 200, 200)).toEqual([251, 2, 0]);
    // Alpha and every composited pixel agree with pngjs + the straight-alpha formula.
    let partial = 0;
    for (let p = 0; p < 400 * 400; p++) {
      const a = ref.data[p * 4 + 3]!;
      if (white.alpha![p] !== a || black.alpha![p] !== a) throw new Error(`pixel ${p}: alpha ${white.alpha![p]}, want ${a}`);
      if (a > 0 && a < 255) partial++;
      for (let c = 0; c < 3; c++) {
        const v = ref.data[p * 4 + c]!;
        const w = Math.round((v * a + 255 * (255 - a)) / 255);
        const b = Math.round((v * a) / 255);
        if (white.image.data[p * 3 + c] !== w || black.image.data[p * 3 + c] !== b) {
          throw new Error(`pixel ${p} channel ${c}: got ${white.image.data[p * 3 + c]}/${black.image.data[p * 3 + c]}, want ${w}/${b}`);
        }
      }
    }
    expect(partial).toBeGreaterThan(100); // the antialiased edge was exercised
  });
});

describe('EXIF orientation', () => {
  it('applies orientation 6 (rotate 90 clockwise) like photo viewers', async () => {
    // 2x1 stored image: red, blue. Orientation 6 displays it as 1x2: red on top.
    const stored = await sharp(Buffer.from([255, 0, 0, 0, 0, 255]), { raw: { width: 2, height: 1, channels: 3 } })
      .png()
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const out = await codec.decode(new Uint8Array(stored), { name: 'rotated.png' });
    expect([out.image.width, out.image.height]).toEqual([1, 2]);
    expect(Array.from(out.image.data)).toEqual([255, 0, 0, 0, 0, 255]);
  });
});

describe('encodePng', () => {
  it('round-trips gray', async () => {
    const data = Uint8Array.from({ length: 6 * 5 }, (_, i) => (i * 37) % 256);
    const png = await codec.encodePng({ width: 6, height: 5, channels: 1, data });
    expect(sniffImageFormat(png)).toBe('png');
    expect(readPngInfo(png)).toMatchObject({ width: 6, height: 5, colorType: 0, bitDepth: 8 });
    const ref = PNG.sync.read(Buffer.from(png));
    expect(Array.from(ref.data.filter((_, i) => i % 4 === 0))).toEqual(Array.from(data));
    const back = await codec.decode(png, { name: 'gray.png' });
    expect(Array.from(back.image.data)).toEqual(Array.from(data).flatMap((v) => [v, v, v]));
    expect(back.alpha).toBeUndefined();
  });

  it('round-trips RGB', async () => {
    const data = Uint8Array.from({ length: 7 * 3 * 3 }, (_, i) => (i * 91 + 7) % 256);
    const png = await codec.encodePng({ width: 7, height: 3, channels: 3, data });
    expect(readPngInfo(png)).toMatchObject({ width: 7, height: 3, colorType: 2 });
    const back = await codec.decode(png, { name: 'rgb.png' });
    expect(back.image.width).toBe(7);
    expect(Array.from(back.image.data)).toEqual(Array.from(data));
  });

  it('round-trips RGBA alpha exactly (straight, not premultiplied)', async () => {
    const data = Uint8Array.from([200, 100, 50, 1, 10, 20, 30, 255, 255, 255, 255, 0, 90, 91, 92, 128]);
    const png = await codec.encodePng({ width: 2, height: 2, channels: 4, data });
    const ref = PNG.sync.read(Buffer.from(png));
    expect(Array.from(ref.data)).toEqual(Array.from(data));
  });

  it('rejects a wrong data length', async () => {
    await expect(codec.encodePng({ width: 2, height: 2, channels: 3, data: new Uint8Array(11) })).rejects.toThrow(/needs 12 bytes, got 11/);
  });
});

describe('draw', () => {
  const W = 20;
  const H = 10;
  const image = (): ImageValue => ({ kind: 'Image', width: W, height: H, data: new Uint8Array(W * H * 3).fill(100), name: 'flat' });
  /** Mask: the rectangle x 5..14, y 2..7. */
  const mask = () => {
    const data = new Uint8Array(W * H);
    for (let y = 2; y <= 7; y++) for (let x = 5; x <= 14; x++) data[y * W + x] = 1;
    return { width: W, height: H, data };
  };

  it('tintMask blends inside, draws a 2 px contour at the boundary, leaves the rest', () => {
    const out = tintMask(image(), mask(), [30, 144, 255], 0.5);
    // Interior: round(100*0.5 + c*0.5).
    expect(pixel(out, W, 9, 4)).toEqual([65, 122, 178]);
    // Contour: last object pixel and first background pixel, full colour.
    expect(pixel(out, W, 5, 4)).toEqual([30, 144, 255]);
    expect(pixel(out, W, 4, 4)).toEqual([30, 144, 255]);
    expect(pixel(out, W, 9, 1)).toEqual([30, 144, 255]);
    expect(pixel(out, W, 9, 2)).toEqual([30, 144, 255]);
    expect(pixel(out, W, 14, 7)).toEqual([30, 144, 255]);
    expect(pixel(out, W, 15, 8)).toEqual([30, 144, 255]); // diagonal neighbour
    // One pixel further in or out is not contour.
    expect(pixel(out, W, 6, 4)).toEqual([65, 122, 178]);
    expect(pixel(out, W, 3, 4)).toEqual([100, 100, 100]);
    expect(pixel(out, W, 0, 0)).toEqual([100, 100, 100]);
  });

  it('tintMask does not draw a contour along the image border, and does not touch the input', () => {
    const img = image();
    const full = { width: W, height: H, data: new Uint8Array(W * H).fill(1) };
    const out = tintMask(img, full, [0, 0, 0], 0.25);
    expect(pixel(out, W, 0, 0)).toEqual([75, 75, 75]);
    expect(img.data[0]).toBe(100);
  });

  it('tintMask refuses a mask of another size, naming both sizes', () => {
    expect(() => tintMask(image(), { width: 8, height: 4, data: new Uint8Array(32) })).toThrow(/mask is 8x4 but image flat is 20x10/);
  });

  it('drawPoints: green disc with white ring for 1, red for 0', () => {
    const rgb = new Uint8Array(40 * 40 * 3);
    const ret = drawPoints(rgb, 40, 40, [{ x: 10, y: 10, label: 1 }, { x: 30, y: 30, label: 0 }], 6);
    expect(ret).toBe(rgb);
    expect(pixel(rgb, 40, 10, 10)).toEqual([...POSITIVE_POINT_COLOR]);
    expect(pixel(rgb, 40, 12, 10)).toEqual([...POSITIVE_POINT_COLOR]);
    expect(pixel(rgb, 40, 16, 10)).toEqual([...POINT_RING_COLOR]); // distance 6 = radius: ring
    expect(pixel(rgb, 40, 17, 10)).toEqual([0, 0, 0]); // outside
    expect(pixel(rgb, 40, 30, 30)).toEqual([...NEGATIVE_POINT_COLOR]);
    // Clipped at the border without throwing.
    drawPoints(rgb, 40, 40, [{ x: 0, y: 39, label: 1 }], 6);
    expect(pixel(rgb, 40, 0, 39)).toEqual([...POSITIVE_POINT_COLOR]);
  });

  it('drawBox outlines inside the box', () => {
    const rgb = new Uint8Array(W * H * 3);
    drawBox(rgb, W, H, { x0: 2, y0: 1, x1: 12, y1: 9 }, [255, 255, 0], 2);
    expect(pixel(rgb, W, 2, 1)).toEqual([255, 255, 0]);
    expect(pixel(rgb, W, 3, 5)).toEqual([255, 255, 0]);
    expect(pixel(rgb, W, 11, 8)).toEqual([255, 255, 0]);
    expect(pixel(rgb, W, 4, 5)).toEqual([0, 0, 0]); // interior
    expect(pixel(rgb, W, 12, 5)).toEqual([0, 0, 0]); // right of the box
    expect(pixel(rgb, W, 1, 1)).toEqual([0, 0, 0]);
  });

  it('heatmapToRgb: viridis endpoints #440154 and #fde725, clamped', () => {
    const data = Float32Array.from([0, 1, -3, 7, Number.NaN, 0.5]);
    const out = heatmapToRgb({ width: 6, height: 1, data });
    expect(pixel(out, 6, 0, 0)).toEqual([0x44, 0x01, 0x54]);
    expect(pixel(out, 6, 1, 0)).toEqual([0xfd, 0xe7, 0x25]);
    expect(pixel(out, 6, 2, 0)).toEqual([0x44, 0x01, 0x54]);
    expect(pixel(out, 6, 3, 0)).toEqual([0xfd, 0xe7, 0x25]);
    expect(pixel(out, 6, 4, 0)).toEqual([0x44, 0x01, 0x54]);
    expect(pixel(out, 6, 5, 0)).toEqual([0x21, 0x91, 0x8c]); // viridis(128) = #21918c
    expect(colormapLut('viridis')).toHaveLength(768);
  });

  it('heatmapToRgb: jet endpoints', () => {
    const out = heatmapToRgb({ width: 3, height: 1, data: Float32Array.from([0, 0.5, 1]) }, 'jet');
    expect(pixel(out, 3, 0, 0)).toEqual([0, 0, 128]);
    expect(pixel(out, 3, 1, 0)[1]).toBe(255);
    expect(pixel(out, 3, 2, 0)).toEqual([128, 0, 0]);
  });

  it('maskToGray maps non-zero to 255', () => {
    expect(Array.from(maskToGray({ width: 2, height: 2, data: Uint8Array.from([0, 1, 7, 0]) }))).toEqual([0, 255, 255, 0]);
  });
});

describe('pngjs codec (no native code): the same pixels as sharp', () => {
  it('decodes 16-bit RGB, gray, RGBA and gray+alpha identically to sharp', async () => {
    const { pngjsImageCodec } = await import('../runtime-gpu/image/codec-pngjs');
    const values = [65535, 32896, 257, 51200, 129, 128, 0, 32767, 32768];
    const files = [
      png16(3, 3, 2, values.flatMap((v, i) => [v, values[(i + 4) % 9]!, values[(i + 7) % 9]!])),
      png16(9, 1, 0, values),
      png16(3, 1, 6, [51200, 257, 65535, 65535, 1000, 2000, 3000, 0, 65535, 51200, 0, 32768]),
      png16(2, 1, 4, [51200, 65535, 65535, 0]),
    ];
    for (const [i, bytes] of files.entries()) {
      for (const background of [[0, 0, 0], [10, 200, 30]] as const) {
        const a = await codec.decode(bytes, { name: `f${i}.png`, background: [...background] });
        const b = await pngjsImageCodec.decode(bytes, { name: `f${i}.png`, background: [...background] });
        expect(b.bitDepth, `file ${i}`).toBe(a.bitDepth);
        expect(Array.from(b.image.data), `file ${i}`).toEqual(Array.from(a.image.data));
        expect(b.alpha ? Array.from(b.alpha) : undefined, `file ${i}`).toEqual(a.alpha ? Array.from(a.alpha) : undefined);
      }
    }
  });

  it.skipIf(!existsSync(legoPath))('decodes an 8-bit RGBA dataset view (lego) identically to sharp, round-trips encodePng, and refuses JPEG naming the fix', async () => {
    const { pngjsImageCodec } = await import('../runtime-gpu/image/codec-pngjs');
    const bytes = new Uint8Array(readFileSync(legoPath));
    const a = await codec.decode(bytes, { name: 'r_0.png' });
    const b = await pngjsImageCodec.decode(bytes, { name: 'r_0.png' });
    expect(Buffer.compare(Buffer.from(b.image.data), Buffer.from(a.image.data))).toBe(0);
    expect(Buffer.compare(Buffer.from(b.alpha!), Buffer.from(a.alpha!))).toBe(0);
    const png = await pngjsImageCodec.encodePng({ width: a.image.width, height: a.image.height, channels: 3, data: a.image.data });
    const back = await codec.decode(png, { name: 'again.png' });
    expect(Buffer.compare(Buffer.from(back.image.data), Buffer.from(a.image.data))).toBe(0);
    if (existsSync(truckPath))
      await expect(pngjsImageCodec.decode(new Uint8Array(readFileSync(truckPath)), { name: 'truck.jpg' })).rejects.toThrow(/truck\.jpg is JPEG.*install sharp/);
  });
});

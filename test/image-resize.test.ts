import { describe, expect, it } from 'vitest';
import { resizeFloat, resizeRgb8 } from '../runtime-gpu/image/resize';

/** Gray values -> interleaved RGB with the same value in each channel. */
function grayToRgb(values: number[]): Uint8Array {
  return Uint8Array.from(values.flatMap((v) => [v, v, v]));
}

/** First channel of interleaved RGB. */
function red(rgb: Uint8Array): number[] {
  return Array.from(rgb.filter((_, i) => i % 3 === 0));
}

describe('resizeRgb8 (PIL BILINEAR)', () => {
  it('upsamples 2x2 -> 4x4 with half-pixel centres and edge clamping', () => {
    const out = resizeRgb8(grayToRgb([0, 100, 200, 40]), 2, 2, 4, 4);
    // Horizontal weights 1 | .75 .25 | .25 .75 | 1, then the same vertically.
    expect(red(out)).toEqual([
      0, 25, 75, 100,
      50, 59, 76, 85, // 58.75, 76.25 round to nearest
      150, 126, 79, 55, // 126.25, 78.75
      200, 160, 80, 40,
    ]);
  });

  it('rounds halves up like PIL', () => {
    const out = resizeRgb8(grayToRgb([0, 2]), 2, 1, 4, 1);
    expect(red(out)).toEqual([0, 1, 2, 2]); // 0.5 -> 1, 1.5 -> 2
  });

  it('keeps channels apart', () => {
    const out = resizeRgb8(Uint8Array.from([10, 20, 30, 50, 60, 70]), 2, 1, 4, 1);
    expect(Array.from(out)).toEqual([10, 20, 30, 20, 30, 40, 40, 50, 60, 50, 60, 70]);
  });

  it('antialiases 4x4 -> 2x2 with a triangle of support 2 (weights 3/7 3/7 1/7 at the border)', () => {
    const row = [10, 20, 30, 40];
    const out = resizeRgb8(grayToRgb([...row, ...row, ...row, ...row]), 4, 4, 2, 2);
    // (3*10 + 3*20 + 30) / 7 = 17.14; (20 + 3*30 + 3*40) / 7 = 32.86
    expect(red(out)).toEqual([17, 33, 17, 33]);
  });

  it('averages pairs when antialias is off (plain bilinear)', () => {
    const row = [10, 20, 30, 40];
    const out = resizeRgb8(grayToRgb([...row, ...row, ...row, ...row]), 4, 4, 2, 2, { antialias: false });
    expect(red(out)).toEqual([15, 35, 15, 35]);
  });

  it('leaves a constant image constant at any size', () => {
    const src = new Uint8Array(37 * 23 * 3).fill(123);
    for (const [w, h] of [[11, 50], [100, 7], [37, 23], [1, 1]]) {
      const out = resizeRgb8(src, 37, 23, w, h);
      expect(out.length).toBe(w * h * 3);
      expect(out.every((v) => v === 123)).toBe(true);
    }
  });

  it('returns a copy at the same size and checks its input length', () => {
    const src = grayToRgb([1, 2, 3, 4]);
    const out = resizeRgb8(src, 2, 2, 2, 2);
    expect(out).not.toBe(src);
    expect(Array.from(out)).toEqual(Array.from(src));
    expect(() => resizeRgb8(src, 3, 2, 2, 2)).toThrow(/expected 18/);
    expect(() => resizeRgb8(src, 2, 2, 0, 2)).toThrow(/dstW/);
  });
});

describe('resizeFloat (torch bilinear, align_corners=False)', () => {
  it('upsamples 2x2 -> 4x4 exactly', () => {
    const out = resizeFloat(Float32Array.from([0, 100, 200, 40]), 2, 2, 4, 4);
    expect(Array.from(out)).toEqual([
      0, 25, 75, 100,
      50, 58.75, 76.25, 85,
      150, 126.25, 78.75, 55,
      200, 160, 80, 40,
    ]);
  });

  it('averages 2x2 blocks when halving (no antialias)', () => {
    const src = Float32Array.from([
      1, 3, 10, 20,
      5, 7, 30, 40,
      0, 0, -4, 4,
      0, 8, 2, 2,
    ]);
    expect(Array.from(resizeFloat(src, 4, 4, 2, 2))).toEqual([4, 25, 2, 1]);
  });

  it('resizes each plane of channel-major data independently', () => {
    const src = Float32Array.from([0, 2, 0, 2, /* plane 2 */ 7, 7, 7, 7]);
    const out = resizeFloat(src, 2, 2, 4, 1, 2);
    expect(Array.from(out)).toEqual([0, 0.5, 1.5, 2, 7, 7, 7, 7]);
  });

  it('keeps constants and rejects bad shapes', () => {
    const out = resizeFloat(new Float32Array(5 * 3).fill(-2.5), 5, 3, 64, 17);
    expect(out.every((v) => v === -2.5)).toBe(true);
    expect(() => resizeFloat(new Float32Array(4), 2, 2, 4, 4, 2)).toThrow(/expected 8/);
  });
});

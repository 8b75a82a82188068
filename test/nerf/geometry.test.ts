// Conventions: the scene contraction and its inverse, camera rays (OpenGL,
// pixel centres, distortion), look-at cameras, and the APNG encoder.
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { encodeApng } from '../../runtime-gpu/image/apng';
import { normalizedToWorld, worldToNormalized } from '../../runtime-gpu/nerf/contraction';
import { lookAt, pixelRay, undistort } from '../../runtime-gpu/nerf/rays';
import { Rng } from '../../runtime-gpu/nerf/rng';

describe('contraction', () => {
  const mapping = { mode: 'contract' as const, center: [1, 2, 3] as [number, number, number], halfSize: 2 };
  it('is the identity (up to the affine map) inside the unit region and bounded outside, with an exact inverse', () => {
    const rng = new Rng(1);
    const out = new Float64Array(3);
    for (let i = 0; i < 200; i++) {
      const scale = i % 2 ? 1 : 100;
      const p = [1 + rng.uniform(-1, 1) * 2 * scale, 2 + rng.uniform(-1, 1) * 2 * scale, 3 + rng.uniform(-1, 1) * 2 * scale];
      worldToNormalized(mapping, p[0]!, p[1]!, p[2]!, out, 0);
      for (const x of out) expect(x).toBeGreaterThanOrEqual(0), expect(x).toBeLessThanOrEqual(1);
      const back = normalizedToWorld(mapping, out[0]!, out[1]!, out[2]!);
      for (let k = 0; k < 3; k++) expect(back[k]).toBeCloseTo(p[k]!, 6);
    }
    // A point at distance halfSize along x from the centre sits on the unit region's face: n = (1 + 2) / 4.
    worldToNormalized(mapping, 3, 2, 3, out, 0);
    expect([...out]).toEqual([0.75, 0.5, 0.5]);
    // Far away along +x it approaches the cube's face n = 1.
    worldToNormalized(mapping, 1e6, 2, 3, out, 0);
    expect(out[0]).toBeCloseTo(1, 5);
  });
});

describe('camera rays', () => {
  it('follow the OpenGL convention with pixel centres at +0.5, and report the z-depth factor', () => {
    const camera = lookAt([0, -4, 0], [0, 0, 0], [0, 0, 1], 100, 80, 120);
    const ray = new Float64Array(6);
    // The principal point (50, 40) is the centre of pixel (49.5, 39.5): the ray looks straight at the target.
    const z = pixelRay(camera, 49.5, 39.5, ray);
    expect([...ray.subarray(0, 3)]).toEqual([0, -4, 0]);
    expect(ray[3]).toBeCloseTo(0, 12);
    expect(ray[4]).toBeCloseTo(1, 12);
    expect(ray[5]).toBeCloseTo(0, 12);
    expect(z).toBeCloseTo(1, 12);
    // Pixel row 0 is at the top (+Z world here, the camera's up), column 0 at the left (-X).
    pixelRay(camera, 49.5, 0, ray);
    expect(ray[5]).toBeGreaterThan(0);
    const zCorner = pixelRay(camera, 0, 39.5, ray);
    expect(ray[3]).toBeLessThan(0);
    // z-depth = t * factor: the direction's component along the viewing axis.
    expect(zCorner).toBeCloseTo(ray[4]!, 12);
  });

  it('undistort inverts OpenCV radial-tangential distortion', () => {
    const [k1, k2, p1, p2] = [-0.12, 0.03, 0.001, -0.002];
    for (const [x, y] of [[0.3, -0.2], [-0.5, 0.4], [0.05, 0.01]] as const) {
      const r2 = x * x + y * y;
      const radial = 1 + k1 * r2 + k2 * r2 * r2;
      const xd = x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x);
      const yd = y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y;
      const [ux, uy] = undistort(xd, yd, k1, k2, p1, p2);
      expect(ux).toBeCloseTo(x, 10);
      expect(uy).toBeCloseTo(y, 10);
    }
  });
});

describe('APNG', () => {
  it('writes an animated PNG whose first frame decodes to the first frame', async () => {
    const w = 7, h = 5;
    const frames = [0, 1, 2].map((k) => new Uint8Array(w * h * 3).map((_, i) => (i * 7 + k * 50) & 0xff));
    const bytes = Buffer.from(encodeApng(frames, w, h, { frameMs: 80 }));
    const actl = bytes.indexOf('acTL');
    expect(bytes.readUInt32BE(actl + 4)).toBe(3);
    expect(bytes.toString('latin1').split('fdAT').length - 1).toBe(2);
    const decoded = await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
    expect([decoded.info.width, decoded.info.height, decoded.info.channels]).toEqual([w, h, 3]);
    expect(Buffer.from(frames[0]!).equals(decoded.data)).toBe(true);
  });
});

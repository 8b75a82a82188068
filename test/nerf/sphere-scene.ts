// A tiny analytic scene for NeRF tests: a sphere of radius 0.5 at the origin,
// coloured by its normal (so every view sees a different colour pattern),
// over white, seen from cameras on a sphere of radius 2.5. Pixels are
// rendered by exact ray-sphere intersection with 2x2 supersampling, so
// edges carry fractional alpha like a real RGBA dataset.
import type { View, ViewsValue } from '../../engine/values';
import { lookAt } from '../../runtime-gpu/nerf/rays';

export const SPHERE_RADIUS = 0.5;

function shade(nx: number, ny: number, nz: number): [number, number, number] {
  // Bands along z plus the normal: texture the field has to learn.
  const band = Math.sin(nz * 6) > 0 ? 1 : 0.55;
  return [band * (0.5 + 0.45 * nx), band * (0.5 + 0.45 * ny), 0.3 + 0.25 * nz];
}

export function renderSphereView(name: string, split: View['split'], eye: number[], size: number): View {
  const focal = size * 1.1;
  const camera = lookAt(eye, [0, 0, 0], [0, 0, 1], size, size, focal);
  const m = camera.cameraToWorld;
  const data = new Uint8Array(size * size * 3);
  const alpha = new Uint8Array(size * size);
  for (let v = 0; v < size; v++) {
    for (let u = 0; u < size; u++) {
      let r = 0, g = 0, b = 0, a = 0;
      for (const [su, sv] of [[0.25, 0.25], [0.75, 0.25], [0.25, 0.75], [0.75, 0.75]] as const) {
        const x = (u + su - camera.cx) / focal, y = -(v + sv - camera.cy) / focal;
        let dx = m[0]! * x + m[1]! * y - m[2]!, dy = m[4]! * x + m[5]! * y - m[6]!, dz = m[8]! * x + m[9]! * y - m[10]!;
        const n = Math.hypot(dx, dy, dz);
        dx /= n; dy /= n; dz /= n;
        const ox = m[3]!, oy = m[7]!, oz = m[11]!;
        const bq = ox * dx + oy * dy + oz * dz;
        const c = ox * ox + oy * oy + oz * oz - SPHERE_RADIUS * SPHERE_RADIUS;
        const disc = bq * bq - c;
        if (disc < 0) {
          r += 1; g += 1; b += 1;
          continue;
        }
        const t = -bq - Math.sqrt(disc);
        const px = ox + t * dx, py = oy + t * dy, pz = oz + t * dz;
        const [cr, cg, cb] = shade(px / SPHERE_RADIUS, py / SPHERE_RADIUS, pz / SPHERE_RADIUS);
        r += cr; g += cg; b += cb; a += 1;
      }
      const p = v * size + u;
      data[3 * p] = Math.round((r / 4) * 255);
      data[3 * p + 1] = Math.round((g / 4) * 255);
      data[3 * p + 2] = Math.round((b / 4) * 255);
      alpha[p] = Math.round((a / 4) * 255);
    }
  }
  return { name, split, camera, alpha, image: { kind: 'Image', width: size, height: size, data, name } };
}

/** `train` views on a Fibonacci sphere (upper and lower), `test` views in between. */
export function sphereScene(options: { train?: number; test?: number; size?: number } = {}): ViewsValue {
  const nTrain = options.train ?? 24, nTest = options.test ?? 4, size = options.size ?? 32;
  const views: View[] = [];
  const golden = Math.PI * (3 - Math.sqrt(5));
  const at = (i: number, n: number, offset: number) => {
    const z = 0.9 - (1.8 * (i + offset)) / n;
    const r = Math.sqrt(1 - z * z), phi = golden * (i + offset) * 7;
    return [2.5 * r * Math.cos(phi), 2.5 * r * Math.sin(phi), 2.5 * z];
  };
  for (let i = 0; i < nTrain; i++) views.push(renderSphereView(`train/v_${i}`, 'train', at(i, nTrain, 0), size));
  for (let i = 0; i < nTest; i++) views.push(renderSphereView(`test/v_${i}`, 'test', at(i * (nTrain / nTest), nTrain, 0.5), size));
  return { kind: 'Views', views, bounds: { min: [-1, -1, -1], max: [1, 1, 1] }, near: 0.5, far: 5, sceneKind: 'object', source: 'sphere-scene', format: 'images' };
}

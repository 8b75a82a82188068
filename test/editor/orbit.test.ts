// The orbit view's camera maths and click lifting, on an analytic scene (a
// sphere rendered exactly, so the expected world points are known).

import { describe, expect, it } from 'vitest';
import type { Camera, View, ViewsValue } from '../../engine/values';
import type { DepthRender } from '../../nodes/lock3d/geometry';
import { lookAt } from '../../nodes/scene';
import { pixelRay, project } from '../../nodes/views/camera';
import { clickToPixel, dragOrbit, MAX_ELEVATION, orbitCamera, orbitDirection, orbitFromViews, pixelCamera, zoomOrbit, type Orbit, type Vec3 } from '../../editor/orbit';
import { composeFrame, liftOrbitClick, renderOrbitFrame, type CameraRenderer } from '../../editor/worker/orbit-render';

const SPHERE = { centre: [0.2, -0.1, 0.3] as Vec3, radius: 0.5 };

/** Exact depth, accumulation and colour of one sphere; counts rendered rays. */
function sphereRenderer(stats = { rays: 0 }): CameraRenderer {
  return async (camera: Camera) => {
    const { width, height } = camera;
    const depth = new Float32Array(width * height), accumulation = new Float32Array(width * height), rgb = new Float32Array(width * height * 3);
    for (let v = 0; v < height; v++)
      for (let u = 0; u < width; u++) {
        stats.rays++;
        const { origin, direction } = pixelRay(camera, u + 0.5, v + 0.5);
        const oc = [origin[0] - SPHERE.centre[0], origin[1] - SPHERE.centre[1], origin[2] - SPHERE.centre[2]];
        const a = direction[0] ** 2 + direction[1] ** 2 + direction[2] ** 2;
        const b = 2 * (oc[0]! * direction[0] + oc[1]! * direction[1] + oc[2]! * direction[2]);
        const c = oc[0]! ** 2 + oc[1]! ** 2 + oc[2]! ** 2 - SPHERE.radius ** 2;
        const disc = b * b - 4 * a * c;
        const p = v * width + u;
        if (disc < 0) continue;
        const t = (-b - Math.sqrt(disc)) / (2 * a);
        if (t <= 0) continue;
        depth[p] = t; // direction has camera-space z = -1: t is the planar depth
        accumulation[p] = 1;
        rgb[3 * p] = 0.9;
        rgb[3 * p + 1] = 0.2;
        rgb[3 * p + 2] = 0.1;
      }
    return { width, height, depth, accumulation, rgb } satisfies DepthRender;
  };
}

function ring(count: number, radius: number, height: number, size = 64): ViewsValue {
  const views: View[] = [];
  for (let i = 0; i < count; i++) {
    const a = (2 * Math.PI * i) / count;
    const eye: Vec3 = [radius * Math.cos(a), radius * Math.sin(a), height];
    const m = lookAt(eye, [0, 0, 0]);
    const camera: Camera = { width: size, height: size, fx: size, fy: size, cx: size / 2, cy: size / 2, cameraToWorld: m };
    views.push({ name: `train/${i}`, split: 'train', image: { kind: 'Image', width: size, height: size, data: new Uint8Array(size * size * 3), name: 'blank' }, camera });
  }
  return { kind: 'Views', views, bounds: { min: [-1, -1, -1], max: [1, 1, 1] }, near: 0.1, far: 10, sceneKind: 'object', source: 'test', format: 'blender' };
}

const eyeOf = (c: Camera): Vec3 => [c.cameraToWorld[3]!, c.cameraToWorld[7]!, c.cameraToWorld[11]!];
const dist = (a: readonly number[], b: readonly number[]) => Math.hypot(a[0]! - b[0]!, a[1]! - b[1]!, a[2]! - b[2]!);

describe('orbit camera', () => {
  const views = ring(8, 3, 2);
  const orbit = orbitFromViews(views);

  it('starts at the first camera: centre of the bounds, its distance, elevation and field of view', () => {
    expect(orbit.centre).toEqual([0, 0, 0]);
    expect(orbit.up[2]).toBeGreaterThan(0.99);
    expect(orbit.radius).toBeCloseTo(Math.hypot(3, 2), 6);
    expect(orbit.elevation).toBeCloseTo(Math.atan2(2, 3), 6);
    expect(orbit.fovY).toBeCloseTo(2 * Math.atan(0.5), 6);
    const cam = orbitCamera(orbit, 64);
    expect(dist(eyeOf(cam), eyeOf(views.views[0]!.camera))).toBeLessThan(1e-9);
    // Same pose as the first dataset camera, so the same pixels see the same points.
    for (const p of [[0, 0, 0], [0.3, -0.2, 0.4]]) {
      const a = project(cam, p), b = project(views.views[0]!.camera, p);
      expect(Math.abs(a.x - b.x) + Math.abs(a.y - b.y)).toBeLessThan(1e-6);
    }
  });

  it('looks at the centre from every angle, with an orthonormal right-handed pose, +Y towards up', () => {
    for (const [az, el] of [[0, 0], [1, 0.5], [-2.5, -1.2], [3, MAX_ELEVATION]]) {
      const cam = orbitCamera({ ...orbit, azimuth: az!, elevation: el! }, 96, 64);
      const centre = project(cam, orbit.centre);
      expect(centre.x).toBeCloseTo(48, 6);
      expect(centre.y).toBeCloseTo(32, 6);
      expect(centre.depth).toBeCloseTo(orbit.radius, 6);
      const m = cam.cameraToWorld;
      const x = [m[0]!, m[4]!, m[8]!], y = [m[1]!, m[5]!, m[9]!], z = [m[2]!, m[6]!, m[10]!];
      const dot = (a: number[], b: number[]) => a[0]! * b[0]! + a[1]! * b[1]! + a[2]! * b[2]!;
      expect(dot(x, y)).toBeCloseTo(0, 9);
      expect(dot(x, z)).toBeCloseTo(0, 9);
      expect(dot(x, x)).toBeCloseTo(1, 9);
      // x cross y = z (right-handed)
      expect(x[1]! * y[2]! - x[2]! * y[1]!).toBeCloseTo(z[0]!, 9);
      if (Math.abs(el!) < 1.4) expect(dot(y, orbit.up)).toBeGreaterThan(0);
    }
  });

  it('drags: horizontal turns about up (same height), vertical changes elevation within the limits, wheel zooms within its limits', () => {
    const turned = dragOrbit(orbit, 100, 0);
    expect(turned.azimuth).toBeCloseTo(-1, 9);
    const a = orbitDirection(orbit), b = orbitDirection(turned);
    expect(b[2]).toBeCloseTo(a[2], 9); // same elevation
    expect(Math.acos(Math.min(1, (a[0] * b[0] + a[1] * b[1]) / Math.hypot(a[0], a[1]) / Math.hypot(b[0], b[1])))).toBeCloseTo(1, 6);
    expect(dragOrbit(orbit, 0, 10_000).elevation).toBe(MAX_ELEVATION);
    expect(dragOrbit(orbit, 0, -10_000).elevation).toBe(-MAX_ELEVATION);
    expect(Math.abs(dragOrbit(orbit, 1000, 0).azimuth)).toBeLessThanOrEqual(Math.PI);
    expect(zoomOrbit(orbit, 100).radius).toBeGreaterThan(orbit.radius);
    expect(zoomOrbit(orbit, -100).radius).toBeLessThan(orbit.radius);
    expect(zoomOrbit(orbit, 1e6).radius).toBe(orbit.maxRadius);
    expect(zoomOrbit(orbit, -1e6).radius).toBe(orbit.minRadius);
  });

  it('maps a click on the shown element to render pixels, and a pixel camera sees exactly that pixel', () => {
    expect(clickToPixel(150, 75, 300, 300, 96, 96)).toEqual({ x: 48, y: 24 });
    const cam = orbitCamera(orbit, 96);
    const one = pixelCamera(cam, 40.7, 12.2);
    const a = pixelRay(one, 0.5, 0.5), b = pixelRay(cam, 40.5, 12.5);
    for (let k = 0; k < 3; k++) {
      expect(a.origin[k]).toBeCloseTo(b.origin[k]!, 12);
      expect(a.direction[k]).toBeCloseTo(b.direction[k]!, 12);
    }
  });
});

describe('orbit click lifting', () => {
  const orbit: Orbit = { ...orbitFromViews(ring(8, 3, 2)), azimuth: 0.7, elevation: 0.3 };
  const size = 96;

  it('lifts a click on the surface to a point that projects back to the clicked pixel within 1 px, rendering one ray', async () => {
    const cam = orbitCamera(orbit, size);
    const sphereCentre = project(cam, SPHERE.centre);
    let lifted = 0;
    for (const [dx, dy] of [[0, 0], [5.3, -3.1], [-8, 7.7], [10, 2]]) {
      const x = sphereCentre.x + dx!, y = sphereCentre.y + dy!;
      const stats = { rays: 0 };
      const r = await liftOrbitClick(sphereRenderer(stats), orbit, size, x, y, 0.5);
      expect(stats.rays).toBe(1);
      expect(r.ok, r.ok ? '' : r.reason).toBe(true);
      if (!r.ok) continue;
      lifted++;
      // On the sphere's surface, on the camera's side.
      expect(Math.abs(dist(r.xyz, SPHERE.centre) - SPHERE.radius)).toBeLessThan(1e-4);
      const back = project(cam, r.xyz);
      expect(Math.abs(back.x - x)).toBeLessThanOrEqual(1);
      expect(Math.abs(back.y - y)).toBeLessThanOrEqual(1);
      expect(back.x).toBeCloseTo(Math.floor(x) + 0.5, 4);
      expect(back.y).toBeCloseTo(Math.floor(y) + 0.5, 4);
      expect(back.depth).toBeCloseTo(r.depth, 4);
    }
    expect(lifted).toBe(4);
  });

  it('agrees with the full render at the same pixel', async () => {
    const renderer = sphereRenderer();
    const cam = orbitCamera(orbit, size);
    const full = await renderer(cam);
    const c = project(cam, SPHERE.centre);
    const u = Math.floor(c.x) + 3, v = Math.floor(c.y) - 2;
    const r = await liftOrbitClick(renderer, orbit, size, u + 0.2, v + 0.9, 0.5);
    expect(r.ok && r.depth).toBeCloseTo(full.depth[v * size + u]!, 5);
  });

  it('refuses a click on empty space with the reason, and one outside the view', async () => {
    const r = await liftOrbitClick(sphereRenderer(), orbit, size, 1, 1, 0.5);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toMatch(/empty space under the click: accumulation 0\.00 < minAccumulation 0\.5/);
    const out = await liftOrbitClick(sphereRenderer(), orbit, size, 200, 3, 0.5);
    expect(!out.ok && out.reason).toMatch(/outside the 96x96 view/);
  });

  it('renders frames: RGB where the sphere is, depth colour-mapped near-bright, orbiting changes the picture', async () => {
    const renderer = sphereRenderer();
    const rgb = await renderOrbitFrame(renderer, orbit, 48, 'rgb', { minAccumulation: 0.5 });
    expect(rgb.rgba.length).toBe(48 * 48 * 4);
    const cam = orbitCamera(orbit, 48);
    const c = project(cam, SPHERE.centre);
    const p = (Math.floor(c.y) * 48 + Math.floor(c.x)) * 4;
    expect([rgb.rgba[p], rgb.rgba[p + 1], rgb.rgba[p + 2]]).toEqual([229, 51, 26]);
    expect([rgb.rgba[0], rgb.rgba[3]]).toEqual([0, 255]);
    const depth = await renderOrbitFrame(renderer, orbit, 48, 'depth', { minAccumulation: 0.5 });
    expect(depth.depthRange![0]).toBeLessThan(depth.depthRange![1]);
    const moved = await renderOrbitFrame(renderer, dragOrbit(orbit, 60, 20), 48, 'rgb', { minAccumulation: 0.5 });
    let changed = 0;
    for (let i = 0; i < moved.rgba.length; i += 4) if (moved.rgba[i] !== rgb.rgba[i]) changed++;
    expect(changed).toBeGreaterThan(20);
    // Without a mask, mask mode is the RGB picture.
    const render = await renderer(cam);
    expect(composeFrame(render, 'mask', { camera: cam, minAccumulation: 0.5 }).rgba).toEqual(rgb.rgba);
  });
});

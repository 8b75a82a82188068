// The field MLPs as ONNX graphs (forward, density-only, and forward +
// explicit backward), so onnxruntime's kernels run the matrix products:
// its CPU provider (MLAS) is several times faster than scalar TypeScript,
// and its CUDA and WebGPU providers run the same graphs on a GPU. The
// graphs compute exactly what field-cpu.ts computes (tests compare them).
// Weights are graph inputs (they change every step); the batch dimension is
// symbolic.

import type { FieldConfig, ParamLayout } from './config';
import { shCoefficients } from './config';
import { GraphBuilder, type ValueInfo } from './onnx';
import { MAX_LOG_DENSITY } from './field-kernels';

export interface MlpGraphs {
  forward: Uint8Array;
  density: Uint8Array;
  backward: Uint8Array;
  /** Names of the weight inputs in order: D1, D2, C0..C(k-1), Cout. */
  weightNames: string[];
}

const f = (name: string, shape: (number | string)[]): ValueInfo => ({ name, elemType: 'float', shape });

export function buildMlpGraphs(config: FieldConfig, layout: ParamLayout): MlpGraphs {
  const E = layout.encodingWidth;
  const G = 1 + config.mlp.geoFeatures;
  const nSh = shCoefficients(config.mlp.shDegree);
  const slots = [layout.density1, layout.density2, ...layout.color];
  const weightNames = ['D1', 'D2', ...layout.color.map((_, i) => (i === layout.color.length - 1 ? 'Cout' : `C${i}`))];
  const weightInputs = slots.map((s, i) => f(weightNames[i]!, [s.rows, s.cols]));

  const densityPart = (b: GraphBuilder) => {
    const h = b.node('Relu', [b.node('Gemm', ['enc', 'D1'], { transB: 1 })]);
    const d = b.node('Gemm', [h, 'D2'], { transB: 1 });
    const d0 = b.node('Slice', [d, b.constInt64([0]), b.constInt64([1]), b.constInt64([1])]);
    const lo = b.constFloat([-MAX_LOG_DENSITY], []), hi = b.constFloat([MAX_LOG_DENSITY], []);
    const sigma = b.node('Exp', [b.node('Clip', [d0, lo, hi])]);
    return { h, d, sigma };
  };
  const colorPart = (b: GraphBuilder, d: string) => {
    const acts: string[] = [b.node('Concat', [d, 'sh'], { axis: 1 })];
    for (let k = 0; k < layout.color.length - 1; k++) acts.push(b.node('Relu', [b.node('Gemm', [acts[k]!, `C${k}`], { transB: 1 })]));
    const rgb = b.node('Sigmoid', [b.node('Gemm', [acts[acts.length - 1]!, 'Cout'], { transB: 1 })]);
    return { acts, rgb };
  };

  // Forward.
  const fb = new GraphBuilder('field_forward');
  {
    const { d, sigma } = densityPart(fb);
    const { rgb } = colorPart(fb, d);
    fb.node('Identity', [sigma], undefined, 'sigma');
    fb.node('Identity', [rgb], undefined, 'rgb');
  }
  const forward = fb.build([f('enc', ['n', E]), f('sh', ['n', nSh]), ...weightInputs], [f('sigma', ['n', 1]), f('rgb', ['n', 3])]);

  // Density only.
  const db = new GraphBuilder('field_density');
  {
    const { sigma } = densityPart(db);
    db.node('Identity', [sigma], undefined, 'sigma');
  }
  const density = db.build([f('enc', ['n', E]), weightInputs[0]!, weightInputs[1]!], [f('sigma', ['n', 1])]);

  // Forward + backward.
  const bb = new GraphBuilder('field_backward');
  {
    const { h, d, sigma } = densityPart(bb);
    const { acts, rgb } = colorPart(bb, d);
    const zero = bb.constFloat([0], []), one = bb.constFloat([1], []);
    const reluGrad = (dy: string, y: string) => bb.node('Where', [bb.node('Greater', [y, zero]), dy, zero]);
    // Sigmoid.
    let dY = bb.node('Mul', ['dRgb', bb.node('Mul', [rgb, bb.node('Sub', [one, rgb])])]);
    const nColor = layout.color.length;
    const outputs: string[] = [];
    for (let k = nColor - 1; k >= 0; k--) {
      const W = k === nColor - 1 ? 'Cout' : `C${k}`;
      const X = acts[k]!;
      bb.node('Gemm', [dY, X], { transA: 1 }, `d${W}`);
      outputs.push(`d${W}`);
      const dX = bb.node('Gemm', [dY, W]);
      dY = k > 0 ? reluGrad(dX, X) : dX;
    }
    // dY is now d(colour input): its first G columns flow into the density MLP's outputs.
    const dGeo = bb.node('Slice', [dY, bb.constInt64([0]), bb.constInt64([G]), bb.constInt64([1])]);
    const onehot = bb.constFloat([1, ...new Array(G - 1).fill(0)], [1, G]);
    const dd = bb.node('Add', [dGeo, bb.node('Mul', [bb.node('Mul', ['dSigma', sigma]), onehot])]);
    bb.node('Gemm', [dd, h], { transA: 1 }, 'dD2');
    const dh = reluGrad(bb.node('Gemm', [dd, 'D2']), h);
    bb.node('Gemm', [dh, 'enc'], { transA: 1 }, 'dD1');
    bb.node('Gemm', [dh, 'D1'], undefined, 'dEnc');
  }
  const gradOutputs = [
    f('dEnc', ['n', E]),
    ...slots.map((s, i) => f(`d${weightNames[i]}`, [s.rows, s.cols])),
  ];
  const backward = bb.build(
    [f('enc', ['n', E]), f('sh', ['n', nSh]), ...weightInputs, f('dSigma', ['n', 1]), f('dRgb', ['n', 3])],
    gradOutputs,
  );
  return { forward, density, backward, weightNames };
}

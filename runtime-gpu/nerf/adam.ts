// Adam (Kingma & Ba) over the flat parameter buffer, with instant-ngp's
// sparse variant for the hash tables: an entry whose gradient is exactly 0
// this step (no sample touched it) keeps its parameters and moments, so
// rarely seen cells are not dragged by stale momentum. The gradient buffer
// is zeroed as it is consumed.

export interface AdamConfig {
  beta1: number;
  beta2: number;
  epsilon: number;
}

export const ADAM_DEFAULTS: AdamConfig = { beta1: 0.9, beta2: 0.99, epsilon: 1e-15 };

export class Adam {
  readonly m: Float32Array;
  readonly v: Float32Array;
  /** Steps taken (for bias correction). */
  step = 0;

  constructor(
    readonly size: number,
    readonly config: AdamConfig = ADAM_DEFAULTS,
    state?: { m: Float32Array; v: Float32Array; step: number },
  ) {
    this.m = state ? state.m.slice() : new Float32Array(size);
    this.v = state ? state.v.slice() : new Float32Array(size);
    this.step = state?.step ?? 0;
  }

  /**
   * One update of params[begin..end) from grad (then zeroed). `sparse`: skip
   * entries with a zero gradient. Call `nextStep()` once per training step first.
   */
  update(params: Float32Array, grad: Float32Array, begin: number, end: number, lr: number, sparse: boolean): void {
    const { beta1, beta2, epsilon } = this.config;
    const t = this.step;
    const c1 = 1 - beta1 ** t, c2 = 1 - beta2 ** t;
    const stepSize = (lr * Math.sqrt(c2)) / c1;
    const eps = epsilon * Math.sqrt(c2);
    const { m, v } = this;
    const b1 = 1 - beta1, b2 = 1 - beta2;
    for (let i = begin; i < end; i++) {
      const g = grad[i]!;
      if (sparse && g === 0) continue;
      grad[i] = 0;
      const mi = beta1 * m[i]! + b1 * g;
      const vi = beta2 * v[i]! + b2 * g * g;
      m[i] = mi;
      v[i] = vi;
      params[i] = params[i]! - (stepSize * mi) / (Math.sqrt(vi) + eps);
    }
  }

  nextStep(): void {
    this.step++;
  }
}

/**
 * Learning rate at training progress p in [0, 1]: constant for the first
 * `hold` part, then exponential decay to lr * finalRatio at p = 1 (a short
 * anneal at the end of a fixed budget adds PSNR that a constant rate leaves
 * on the table).
 */
export function learningRate(lr: number, p: number, hold = 0.3, finalRatio = 0.05): number {
  if (p <= hold) return lr;
  const q = Math.min(1, (p - hold) / (1 - hold));
  return lr * finalRatio ** q;
}

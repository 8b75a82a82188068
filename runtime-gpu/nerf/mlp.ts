// Dense-layer kernels for the small MLPs, on flat Float32Arrays: register-
// blocked (4 x 4) matrix products, no allocation. Activations are row-major
// [samples x width]; weights are row-major [out x in] with no bias (as
// tiny-cuda-nn's fully fused MLPs).
//
//   forward         Y  = X W^T            gemmNT(X, W)
//   input gradient  dX = dY W             gemmNT(dY, W^T)  (W^T from transpose())
//   weight gradient dW += dY^T X          gemmTNAcc(dY, X)

/** C[m][n] (+)= sum_k A[aOff + m lda + k] * B[bOff + n ldb + k]. */
export function gemmNT(
  A: Float32Array, aOff: number, lda: number,
  B: Float32Array, bOff: number, ldb: number,
  C: Float32Array, cOff: number, ldc: number,
  M: number, N: number, K: number,
  accumulate = false,
): void {
  const M4 = M - (M % 4), N4 = N - (N % 4);
  for (let m = 0; m < M4; m += 4) {
    const a0 = aOff + m * lda, a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda;
    const c0 = cOff + m * ldc;
    for (let n = 0; n < N4; n += 4) {
      const b0 = bOff + n * ldb, b1 = b0 + ldb, b2 = b1 + ldb, b3 = b2 + ldb;
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
      for (let k = 0; k < K; k++) {
        const x0 = A[a0 + k]!, x1 = A[a1 + k]!, x2 = A[a2 + k]!, x3 = A[a3 + k]!;
        const w0 = B[b0 + k]!, w1 = B[b1 + k]!, w2 = B[b2 + k]!, w3 = B[b3 + k]!;
        c00 += x0 * w0; c01 += x0 * w1; c02 += x0 * w2; c03 += x0 * w3;
        c10 += x1 * w0; c11 += x1 * w1; c12 += x1 * w2; c13 += x1 * w3;
        c20 += x2 * w0; c21 += x2 * w1; c22 += x2 * w2; c23 += x2 * w3;
        c30 += x3 * w0; c31 += x3 * w1; c32 += x3 * w2; c33 += x3 * w3;
      }
      let o = c0 + n;
      if (accumulate) {
        C[o] += c00; C[o + 1] += c01; C[o + 2] += c02; C[o + 3] += c03; o += ldc;
        C[o] += c10; C[o + 1] += c11; C[o + 2] += c12; C[o + 3] += c13; o += ldc;
        C[o] += c20; C[o + 1] += c21; C[o + 2] += c22; C[o + 3] += c23; o += ldc;
        C[o] += c30; C[o + 1] += c31; C[o + 2] += c32; C[o + 3] += c33;
      } else {
        C[o] = c00; C[o + 1] = c01; C[o + 2] = c02; C[o + 3] = c03; o += ldc;
        C[o] = c10; C[o + 1] = c11; C[o + 2] = c12; C[o + 3] = c13; o += ldc;
        C[o] = c20; C[o + 1] = c21; C[o + 2] = c22; C[o + 3] = c23; o += ldc;
        C[o] = c30; C[o + 1] = c31; C[o + 2] = c32; C[o + 3] = c33;
      }
    }
    for (let n = N4; n < N; n++) {
      const b = bOff + n * ldb;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let k = 0; k < K; k++) {
        const w = B[b + k]!;
        s0 += A[a0 + k]! * w; s1 += A[a1 + k]! * w; s2 += A[a2 + k]! * w; s3 += A[a3 + k]! * w;
      }
      const o = c0 + n;
      if (accumulate) {
        C[o] += s0; C[o + ldc] += s1; C[o + 2 * ldc] += s2; C[o + 3 * ldc] += s3;
      } else {
        C[o] = s0; C[o + ldc] = s1; C[o + 2 * ldc] = s2; C[o + 3 * ldc] = s3;
      }
    }
  }
  for (let m = M4; m < M; m++) {
    const a = aOff + m * lda;
    for (let n = 0; n < N; n++) {
      const b = bOff + n * ldb;
      let s = 0;
      for (let k = 0; k < K; k++) s += A[a + k]! * B[b + k]!;
      const o = cOff + m * ldc + n;
      if (accumulate) C[o] += s;
      else C[o] = s;
    }
  }
}

const TN_CHUNK = 128;

/**
 * C[cOff + m ldc + n] += sum_s A[s lda + m] * B[s ldb + n] for s < S: the
 * weight gradient dW += dY^T X, summed over samples in chunks that stay in cache.
 */
export function gemmTNAcc(
  A: Float32Array, lda: number,
  B: Float32Array, ldb: number,
  C: Float32Array, cOff: number, ldc: number,
  M: number, N: number, S: number,
): void {
  const M4 = M - (M % 4), N4 = N - (N % 4);
  for (let s0 = 0; s0 < S; s0 += TN_CHUNK) {
    const s1 = Math.min(S, s0 + TN_CHUNK);
    for (let m = 0; m < M4; m += 4) {
      for (let n = 0; n < N4; n += 4) {
        let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
        let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
        for (let s = s0; s < s1; s++) {
          const a = s * lda + m, b = s * ldb + n;
          const x0 = A[a]!, x1 = A[a + 1]!, x2 = A[a + 2]!, x3 = A[a + 3]!;
          const w0 = B[b]!, w1 = B[b + 1]!, w2 = B[b + 2]!, w3 = B[b + 3]!;
          c00 += x0 * w0; c01 += x0 * w1; c02 += x0 * w2; c03 += x0 * w3;
          c10 += x1 * w0; c11 += x1 * w1; c12 += x1 * w2; c13 += x1 * w3;
          c20 += x2 * w0; c21 += x2 * w1; c22 += x2 * w2; c23 += x2 * w3;
          c30 += x3 * w0; c31 += x3 * w1; c32 += x3 * w2; c33 += x3 * w3;
        }
        let o = cOff + m * ldc + n;
        C[o] += c00; C[o + 1] += c01; C[o + 2] += c02; C[o + 3] += c03; o += ldc;
        C[o] += c10; C[o + 1] += c11; C[o + 2] += c12; C[o + 3] += c13; o += ldc;
        C[o] += c20; C[o + 1] += c21; C[o + 2] += c22; C[o + 3] += c23; o += ldc;
        C[o] += c30; C[o + 1] += c31; C[o + 2] += c32; C[o + 3] += c33;
      }
      for (let n = N4; n < N; n++) {
        let c0 = 0, c1 = 0, c2 = 0, c3 = 0;
        for (let s = s0; s < s1; s++) {
          const a = s * lda + m, w = B[s * ldb + n]!;
          c0 += A[a]! * w; c1 += A[a + 1]! * w; c2 += A[a + 2]! * w; c3 += A[a + 3]! * w;
        }
        const o = cOff + m * ldc + n;
        C[o] += c0; C[o + ldc] += c1; C[o + 2 * ldc] += c2; C[o + 3 * ldc] += c3;
      }
    }
    for (let m = M4; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let c = 0;
        for (let s = s0; s < s1; s++) c += A[s * lda + m]! * B[s * ldb + n]!;
        C[cOff + m * ldc + n] += c;
      }
    }
  }
}

/** out[c * rows + r] = W[off + r * cols + c]: the transpose of a [rows x cols] matrix. */
export function transpose(W: Float32Array, off: number, rows: number, cols: number, out: Float32Array): void {
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = W[off + r * cols + c]!;
}

/** In place: x = max(x, 0) over the first n values. */
export function reluInPlace(x: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) if (x[i]! < 0) x[i] = 0;
}

/** dY[i] = 0 where the ReLU output Y[i] is 0 (its input was negative). */
export function reluBackwardInPlace(dY: Float32Array, Y: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) if (Y[i]! <= 0) dY[i] = 0;
}

// Real spherical harmonics of a unit direction up to degree 4 (16
// coefficients), with tiny-cuda-nn's constants and ordering, as the colour
// MLP's direction encoding. Written once per ray, copied to its samples.

export function shEncode(x: number, y: number, z: number, out: Float32Array, offset: number, degree = 4): void {
  const xy = x * y, xz = x * z, yz = y * z, x2 = x * x, y2 = y * y, z2 = z * z;
  out[offset] = 0.28209479177387814;
  if (degree <= 1) return;
  out[offset + 1] = -0.48860251190291987 * y;
  out[offset + 2] = 0.48860251190291987 * z;
  out[offset + 3] = -0.48860251190291987 * x;
  if (degree <= 2) return;
  out[offset + 4] = 1.0925484305920792 * xy;
  out[offset + 5] = -1.0925484305920792 * yz;
  out[offset + 6] = 0.94617469575755997 * z2 - 0.31539156525251999;
  out[offset + 7] = -1.0925484305920792 * xz;
  out[offset + 8] = 0.54627421529603959 * x2 - 0.54627421529603959 * y2;
  if (degree <= 3) return;
  out[offset + 9] = 0.59004358992664352 * y * (-3.0 * x2 + y2);
  out[offset + 10] = 2.8906114426405538 * xy * z;
  out[offset + 11] = 0.45704579946446572 * y * (1.0 - 5.0 * z2);
  out[offset + 12] = 0.3731763325901154 * z * (5.0 * z2 - 3.0);
  out[offset + 13] = 0.45704579946446572 * x * (1.0 - 5.0 * z2);
  out[offset + 14] = 1.4453057213202769 * z * (x2 - y2);
  out[offset + 15] = 0.59004358992664352 * x * (-x2 + 3.0 * y2);
  if (degree > 4) throw new Error(`spherical harmonics of degree ${degree} are not implemented (at most 4)`);
}

// Pure drawing helpers on 8-bit RGB buffers (row-major, interleaved, 3 bytes
// per pixel) for overlays and previews: tinted masks with their contour,
// prompt points and boxes, heat maps through a colormap, masks as gray.
// Platform-neutral: plain typed arrays only.

import type { HeatmapValue, ImageValue, PromptBox } from '../../engine/values';

export type Rgb = readonly [number, number, number];

/** A mask-like plane: one byte per pixel, object where non-zero. */
export interface MaskPlane {
  width: number;
  height: number;
  data: Uint8Array;
}

export interface DrawPoint {
  x: number;
  y: number;
  /** 1 = foreground (green), anything else = background (red). */
  label: number;
}

/** segment-anything's overlay colour (30, 144, 255) = dodger blue. */
export const DEFAULT_MASK_COLOR: Rgb = [30, 144, 255];
/** matplotlib 'green' and 'red', as in the segment-anything notebooks' show_points. */
export const POSITIVE_POINT_COLOR: Rgb = [0, 128, 0];
export const NEGATIVE_POINT_COLOR: Rgb = [255, 0, 0];
export const POINT_RING_COLOR: Rgb = [255, 255, 255];
/** matplotlib 'green', as in the notebooks' show_box. */
export const DEFAULT_BOX_COLOR: Rgb = [0, 128, 0];

function checkColor(color: Rgb, what: string): void {
  if (color.length !== 3 || color.some((v) => !Number.isInteger(v) || v < 0 || v > 255)) {
    throw new RangeError(`${what} must be three integers 0-255, got ${JSON.stringify(color)}`);
  }
}

function checkRgb(rgb: Uint8Array, width: number, height: number, what: string): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 0 || height < 0) {
    throw new RangeError(`${what}: bad size ${width}x${height}`);
  }
  if (rgb.length !== width * height * 3) {
    throw new RangeError(`${what}: a ${width}x${height} RGB image needs ${width * height * 3} bytes, got ${rgb.length}`);
  }
}

function checkPlane(plane: { width: number; height: number; data: ArrayLike<number> }, what: string): void {
  if (plane.data.length !== plane.width * plane.height) {
    throw new RangeError(`${what} is ${plane.width}x${plane.height} but has ${plane.data.length} values, not ${plane.width * plane.height}`);
  }
}

/**
 * The image with the mask tinted over it (colour blended with weight
 * `alpha`), plus a 2 px contour in the full colour straddling the mask
 * boundary (the last object pixel and the first background pixel, 8-connected).
 * The image border is not a boundary. Returns a new RGB buffer of the image's size.
 */
export function tintMask(image: ImageValue, mask: MaskPlane, color: Rgb = DEFAULT_MASK_COLOR, alpha = 0.5): Uint8Array {
  const { width, height } = image;
  checkRgb(image.data, width, height, `image ${image.name}`);
  if (mask.width !== width || mask.height !== height) {
    throw new Error(`mask is ${mask.width}x${mask.height} but image ${image.name} is ${width}x${height}; resize the mask to the image first`);
  }
  checkPlane(mask, 'mask');
  checkColor(color, 'tint color');
  if (!Number.isFinite(alpha)) throw new RangeError(`tint alpha must be a number in [0, 1], got ${alpha}`);
  const a = Math.min(1, Math.max(0, alpha));
  const src = image.data;
  const m = mask.data;
  const out = new Uint8Array(src);
  // Blend LUT per channel: out = round(v*(1-a) + color*a).
  const blend = [new Uint8Array(256), new Uint8Array(256), new Uint8Array(256)];
  for (let c = 0; c < 3; c++) for (let v = 0; v < 256; v++) blend[c]![v] = Math.round(v * (1 - a) + color[c]! * a);
  const [b0, b1, b2] = blend as [Uint8Array, Uint8Array, Uint8Array];
  const [c0, c1, c2] = color;

  for (let y = 0; y < height; y++) {
    const y0 = y > 0 ? y - 1 : y;
    const y1 = y < height - 1 ? y + 1 : y;
    for (let x = 0; x < width; x++) {
      const p = y * width + x;
      const inside = m[p] !== 0;
      const x0 = x > 0 ? x - 1 : x;
      const x1 = x < width - 1 ? x + 1 : x;
      let edge = false;
      for (let yy = y0; yy <= y1 && !edge; yy++) {
        const row = yy * width;
        for (let xx = x0; xx <= x1; xx++) {
          if ((m[row + xx] !== 0) !== inside) {
            edge = true;
            break;
          }
        }
      }
      const o = p * 3;
      if (edge) {
        out[o] = c0;
        out[o + 1] = c1;
        out[o + 2] = c2;
      } else if (inside) {
        out[o] = b0[src[o]!]!;
        out[o + 1] = b1[src[o + 1]!]!;
        out[o + 2] = b2[src[o + 2]!]!;
      }
    }
  }
  return out;
}

/** A default point radius for an image: about 1/60 of its short side, at least 4 px. */
export function defaultPointRadius(width: number, height: number): number {
  return Math.max(4, Math.round(Math.min(width, height) / 60));
}

/**
 * Draws prompt points in place (and returns `rgb`): a filled disc of
 * `radius` px centred on pixel (x, y), green for label 1 and red otherwise,
 * with a white ring (about a quarter of the radius, at least 1 px) as its
 * outer edge. Discs are clipped at the image border.
 */
export function drawPoints(
  rgb: Uint8Array,
  width: number,
  height: number,
  points: readonly DrawPoint[],
  radius: number = defaultPointRadius(width, height),
): Uint8Array {
  checkRgb(rgb, width, height, 'drawPoints');
  if (!Number.isFinite(radius) || radius <= 0) throw new RangeError(`point radius must be > 0, got ${radius}`);
  const ring = Math.max(1, Math.round(radius / 4));
  points.forEach((pt, i) => {
    if (!Number.isFinite(pt.x) || !Number.isFinite(pt.y)) {
      throw new RangeError(`point ${i} has non-finite coordinates (${pt.x}, ${pt.y})`);
    }
    const fill = pt.label === 1 ? POSITIVE_POINT_COLOR : NEGATIVE_POINT_COLOR;
    const r = Math.ceil(radius);
    const cx = Math.round(pt.x);
    const cy = Math.round(pt.y);
    for (let y = Math.max(0, cy - r); y <= Math.min(height - 1, cy + r); y++) {
      for (let x = Math.max(0, cx - r); x <= Math.min(width - 1, cx + r); x++) {
        const d = Math.hypot(x - pt.x, y - pt.y);
        if (d > radius) continue;
        const c = d > radius - ring ? POINT_RING_COLOR : fill;
        const o = (y * width + x) * 3;
        rgb[o] = c[0];
        rgb[o + 1] = c[1];
        rgb[o + 2] = c[2];
      }
    }
  });
  return rgb;
}

/**
 * Draws a box outline in place (and returns `rgb`). The box covers pixels
 * floor(min x) .. ceil(max x) - 1 (likewise in y), so (0, 0, width, height)
 * outlines the whole image; the `thickness` px lines lie inside the box and
 * are clipped at the image border.
 */
export function drawBox(
  rgb: Uint8Array,
  width: number,
  height: number,
  box: PromptBox,
  color: Rgb = DEFAULT_BOX_COLOR,
  thickness = 2,
): Uint8Array {
  checkRgb(rgb, width, height, 'drawBox');
  checkColor(color, 'box color');
  const coords = [box.x0, box.y0, box.x1, box.y1];
  if (coords.some((v) => !Number.isFinite(v))) throw new RangeError(`box has non-finite coordinates (${coords.join(', ')})`);
  if (!Number.isInteger(thickness) || thickness < 1) throw new RangeError(`box thickness must be a positive integer, got ${thickness}`);
  const left = Math.floor(Math.min(box.x0, box.x1));
  const top = Math.floor(Math.min(box.y0, box.y1));
  const right = Math.max(left, Math.ceil(Math.max(box.x0, box.x1)) - 1);
  const bottom = Math.max(top, Math.ceil(Math.max(box.y0, box.y1)) - 1);
  const paint = (x: number, y: number) => {
    const o = (y * width + x) * 3;
    rgb[o] = color[0];
    rgb[o + 1] = color[1];
    rgb[o + 2] = color[2];
  };
  for (let y = Math.max(0, top); y <= Math.min(height - 1, bottom); y++) {
    const band = y - top < thickness || bottom - y < thickness;
    for (let x = Math.max(0, left); x <= Math.min(width - 1, right); x++) {
      if (band || x - left < thickness || right - x < thickness) paint(x, y);
    }
  }
  return rgb;
}

export type Colormap = 'viridis' | 'jet';

// matplotlib's viridis (_cm_listed._viridis_data), 256 entries, each channel
// round(v * 255), as hex RRGGBB.
const VIRIDIS_HEX =
  '44015444025645045745055946075a46085c460a5d460b5e470d60470e61471063471164471365481467481668481769' +
  '48186a481a6c481b6d481c6e481d6f481f70482071482173482374482475482576482677482878482979472a7a472c7a' +
  '472d7b472e7c472f7d46307e46327e46337f463480453581453781453882443983443a83443b84433d84433e85423f85' +
  '4240864241864142874144874045884046883f47883f48893e49893e4a893e4c8a3d4d8a3d4e8a3c4f8a3c508b3b518b' +
  '3b528b3a538b3a548c39558c39568c38588c38598c375a8c375b8d365c8d365d8d355e8d355f8d34608d34618d33628d' +
  '33638d32648e32658e31668e31678e31688e30698e306a8e2f6b8e2f6c8e2e6d8e2e6e8e2e6f8e2d708e2d718e2c718e' +
  '2c728e2c738e2b748e2b758e2a768e2a778e2a788e29798e297a8e297b8e287c8e287d8e277e8e277f8e27808e26818e' +
  '26828e26828e25838e25848e25858e24868e24878e23888e23898e238a8d228b8d228c8d228d8d218e8d218f8d21908d' +
  '21918c20928c20928c20938c1f948c1f958b1f968b1f978b1f988b1f998a1f9a8a1e9b8a1e9c891e9d891f9e891f9f88' +
  '1fa0881fa1881fa1871fa28720a38620a48621a58521a68522a78522a88423a98324aa8325ab8225ac8226ad8127ad81' +
  '28ae8029af7f2ab07f2cb17e2db27d2eb37c2fb47c31b57b32b67a34b67935b77937b87838b9773aba763bbb753dbc74' +
  '3fbc7340bd7242be7144bf7046c06f48c16e4ac16d4cc26c4ec36b50c46a52c56954c56856c66758c7655ac8645cc863' +
  '5ec96260ca6063cb5f65cb5e67cc5c69cd5b6ccd5a6ece5870cf5773d05675d05477d1537ad1517cd2507fd34e81d34d' +
  '84d44b86d54989d5488bd6468ed64590d74393d74195d84098d83e9bd93c9dd93ba0da39a2da37a5db36a8db34aadc32' +
  'addc30b0dd2fb2dd2db5de2bb8de29bade28bddf26c0df25c2df23c5e021c8e020cae11fcde11dd0e11cd2e21bd5e21a' +
  'd8e219dae319dde318dfe318e2e418e5e419e7e419eae51aece51befe51cf1e51df4e61ef6e620f8e621fbe723fde725';

function hexLut(hex: string): Uint8Array {
  const lut = new Uint8Array(256 * 3);
  for (let i = 0; i < lut.length; i++) lut[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return lut;
}

// matplotlib's jet segment data: (x, value) knots per channel, linear between.
const JET_KNOTS: readonly (readonly (readonly [number, number])[])[] = [
  [[0, 0], [0.35, 0], [0.66, 1], [0.89, 1], [1, 0.5]],
  [[0, 0], [0.125, 0], [0.375, 1], [0.64, 1], [0.91, 0], [1, 0]],
  [[0, 0.5], [0.11, 1], [0.34, 1], [0.65, 0], [1, 0]],
];

function jetLut(): Uint8Array {
  const lut = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    const x = i / 255;
    for (let c = 0; c < 3; c++) {
      const knots = JET_KNOTS[c]!;
      let k = 1;
      while (k < knots.length - 1 && knots[k]![0] < x) k++;
      const [xa, ya] = knots[k - 1]!;
      const [xb, yb] = knots[k]!;
      const v = xb === xa ? yb : ya + ((x - xa) / (xb - xa)) * (yb - ya);
      lut[i * 3 + c] = Math.round(Math.min(1, Math.max(0, v)) * 255);
    }
  }
  return lut;
}

const LUTS: Partial<Record<Colormap, Uint8Array>> = {};

/** The 256-entry RGB lookup table (768 bytes) of a colormap. */
export function colormapLut(colormap: Colormap): Uint8Array {
  let lut = LUTS[colormap];
  if (!lut) {
    if (colormap === 'viridis') lut = hexLut(VIRIDIS_HEX);
    else if (colormap === 'jet') lut = jetLut();
    else throw new RangeError(`unknown colormap ${JSON.stringify(colormap)}; use 'viridis' or 'jet'`);
    LUTS[colormap] = lut;
  }
  return lut;
}

/**
 * A heat map through a colormap: values clamped to [0, 1] (NaN counts as 0)
 * pick entry min(255, floor(v * 256)) as matplotlib does. Returns RGB8.
 */
export function heatmapToRgb(
  heatmap: Pick<HeatmapValue, 'width' | 'height' | 'data'>,
  colormap: Colormap = 'viridis',
): Uint8Array {
  checkPlane(heatmap, 'heatmap');
  const lut = colormapLut(colormap);
  const { data } = heatmap;
  const out = new Uint8Array(data.length * 3);
  for (let p = 0; p < data.length; p++) {
    const v = data[p]!;
    const i = v > 0 ? Math.min(255, Math.floor(v * 256)) : 0;
    out[p * 3] = lut[i * 3]!;
    out[p * 3 + 1] = lut[i * 3 + 1]!;
    out[p * 3 + 2] = lut[i * 3 + 2]!;
  }
  return out;
}

/** A mask as 8-bit gray: 255 where the mask is non-zero, 0 elsewhere (width*height bytes). */
export function maskToGray(mask: MaskPlane): Uint8Array {
  checkPlane(mask, 'mask');
  const out = new Uint8Array(mask.data.length);
  for (let p = 0; p < out.length; p++) out[p] = mask.data[p] !== 0 ? 255 : 0;
  return out;
}

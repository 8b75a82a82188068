// Node outputs -> preview pictures: images as they are, masks tinted over
// the image they segment (gray when no image is at hand), heat maps through
// a colormap. The drawing is runtime-gpu's; this module only picks what to
// draw. Pure apart from the codec it is handed.

import type { HeatmapValue, ImageValue, MaskValue } from '../../engine';
import type { ImageCodec, RawImage } from '../../runtime-gpu/image/codec';
import { heatmapToRgb, maskToGray, tintMask } from '../../runtime-gpu/image/draw';
import type { PreviewData } from './protocol';

type Previewable = ImageValue | MaskValue | HeatmapValue;

function kindOf(value: unknown): string | undefined {
  return typeof value === 'object' && value !== null ? ((value as { kind?: unknown }).kind as string | undefined) : undefined;
}

function isPreviewable(value: unknown): value is Previewable {
  const k = kindOf(value);
  return k === 'Image' || k === 'Mask' || k === 'Heatmap';
}

/** The first output (in the node's port order) that can be pictured. */
export function previewPort(outputs: Readonly<Record<string, unknown>>, portOrder: readonly string[]): string | undefined {
  return portOrder.find((p) => isPreviewable(outputs[p]));
}

/** An image of the given size among the values (an Image, or the image a SAM embedding carries). */
export function imageAmong(values: readonly unknown[], width: number, height: number): ImageValue | undefined {
  for (const v of values) {
    const k = kindOf(v);
    const image = k === 'Image' ? (v as ImageValue) : k === 'SamEmbedding' ? (v as { image?: ImageValue }).image : undefined;
    if (image && image.width === width && image.height === height) return image;
  }
  return undefined;
}

export interface PreviewPixels {
  kind: Previewable['kind'];
  raw: RawImage;
  maskArea?: number;
  score?: number;
}

/** The picture of one value; `context` holds values that may supply the image under a mask. */
export function previewPixels(value: Previewable, context: readonly unknown[]): PreviewPixels {
  const { width, height } = value;
  switch (value.kind) {
    case 'Image':
      return { kind: 'Image', raw: { width, height, channels: 3, data: value.data } };
    case 'Heatmap':
      return { kind: 'Heatmap', raw: { width, height, channels: 3, data: heatmapToRgb(value) } };
    case 'Mask': {
      let area = 0;
      for (let i = 0; i < value.data.length; i++) if (value.data[i] !== 0) area++;
      const image = imageAmong(context, width, height);
      const raw: RawImage = image
        ? { width, height, channels: 3, data: tintMask(image, value) }
        : { width, height, channels: 1, data: maskToGray(value) };
      return { kind: 'Mask', raw, maskArea: area, score: value.score };
    }
  }
}

export async function renderPreview(
  node: string,
  outputs: Readonly<Record<string, unknown>>,
  portOrder: readonly string[],
  inputs: readonly unknown[],
  version: number,
  codec: ImageCodec,
): Promise<PreviewData | undefined> {
  const port = previewPort(outputs, portOrder);
  if (!port) return undefined;
  const value = outputs[port] as Previewable;
  // Other outputs first: a node that outputs both an image and its mask shows the mask on that image.
  const pixels = previewPixels(value, [...Object.values(outputs), ...inputs]);
  const png = await codec.encodePng(pixels.raw);
  return {
    node,
    port,
    kind: pixels.kind,
    width: pixels.raw.width,
    height: pixels.raw.height,
    png,
    maskArea: pixels.maskArea,
    score: pixels.score,
    version,
  };
}

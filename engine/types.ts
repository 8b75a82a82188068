// Port types and the rules for which output may feed which input.
// The same function answers the editor's "can I drop this wire here?" and
// the validator's type_mismatch check, so the two can never disagree.

export const PORT_TYPES = {
  Image: 'An 8-bit RGB photo',
  Views: 'Posed images of one scene (cameras, splits, bounds)',
  Mask: 'A binary mask (1 = object) with optional logits and score',
  Heatmap: 'A map of values in [0, 1], e.g. a ClipSeg relevance map',
  Points: 'Prompt points (x, y, label) and an optional box, in pixel coordinates',
  SamEmbedding: 'A SAM image embedding [1,256,64,64] with its resize transform',
  RadianceField: 'A trained NeRF that renders RGB, depth and accumulation',
  FeatureField: 'A distilled 3D field that renders SAM (and ClipSeg) features',
  PatchAggregation: "A feature field's patch settings: rays per embedding cell side and the aggregator's convolution channels (0 = plain patch mean)",
  Prompts3D: 'Prompt points lifted to 3D (world positions, labels, object groups)',
  MaskField: 'A 3D object mask over the occupied space, renderable into any view',
  ViewMasks: 'One mask per view of a scene (by view name), e.g. SAM masks of a locked object',
  Number: 'A number',
  String: 'A string',
  Boolean: 'true or false',
  Any: 'Any value (for inspection and output nodes)',
} as const;

export type PortType = keyof typeof PORT_TYPES;

export function isPortType(name: string): name is PortType {
  return Object.prototype.hasOwnProperty.call(PORT_TYPES, name);
}

/**
 * Extra edges beyond "same type" and "anything into Any". Each entry is a
 * deliberate widening: a Mask is a Heatmap with values 0 and 1, so heat-map
 * consumers (PromptToPoints, overlays) accept masks as they are.
 */
const WIDENINGS: ReadonlyArray<readonly [PortType, PortType]> = [
  ['Mask', 'Heatmap'],
];

export type Compatibility = { ok: true } | { ok: false; reason: string };

export function canConnect(from: PortType, to: PortType): Compatibility {
  if (from === to || to === 'Any') return { ok: true };
  if (WIDENINGS.some(([a, b]) => a === from && b === to)) return { ok: true };
  const accepted = acceptedBy(to).join(', ');
  return { ok: false, reason: `a ${from} output cannot feed a ${to} input (it accepts ${accepted})` };
}

/** Every output type an input of type `to` accepts, for messages and socket legends. */
export function acceptedBy(to: PortType): PortType[] {
  if (to === 'Any') return Object.keys(PORT_TYPES) as PortType[];
  return [to, ...WIDENINGS.filter(([, b]) => b === to).map(([a]) => a)];
}

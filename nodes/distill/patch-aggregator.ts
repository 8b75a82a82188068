// PatchAggregator: the patch rendering and neighbour aggregation settings of
// a feature field as a node of their own (docs/distill.md, "Feature head and
// patch aggregation"). The aggregator is trained jointly with the feature
// head in FeatureDistiller's optimisation and its weights live in the same
// FeatureField, so this node only carries settings: connected to
// FeatureDistiller's `aggregation` input they replace the distiller's own
// `patch`, `aggregate` and `aggChannels` params (like an unconnected
// socket's default in a node editor: the params apply only when nothing is
// connected).

import { defineNode, NodeError, type NodeContext } from '../../engine';
import type { PatchAggregationValue } from '../../engine/values';

/** Rays per cell side FeatureDistiller and PatchAggregator accept (their `patch` params). */
export const PATCH_RANGE = { min: 1, max: 8 } as const;
/** Convolution channels they accept when aggregating (`channels` / `aggChannels`). */
export const AGG_CHANNELS_RANGE = { min: 1, max: 256 } as const;

const isInt = (v: unknown, r: { min: number; max: number }) => typeof v === 'number' && Number.isInteger(v) && v >= r.min && v <= r.max;

/**
 * The PatchAggregation value of the given settings; a NodeError naming
 * `node`, the param and the fix when a setting is outside what the feature
 * head accepts (the same ranges as FeatureDistiller's params).
 */
export function patchAggregation(node: string, settings: { patch: unknown; aggregate: unknown; channels: unknown }, names = { patch: 'patch', aggregate: 'aggregate', channels: 'channels' }): PatchAggregationValue {
  const { patch, aggregate, channels } = settings;
  if (!isInt(patch, PATCH_RANGE))
    throw new NodeError(`${node}: ${names.patch} must be an integer from ${PATCH_RANGE.min} to ${PATCH_RANGE.max} (rays per embedding cell side), got ${String(patch)}`, {
      param: names.patch,
      fix: `set ${names.patch} to 4 (the default) or another integer in ${PATCH_RANGE.min}-${PATCH_RANGE.max}`,
    });
  if (typeof aggregate !== 'boolean')
    throw new NodeError(`${node}: ${names.aggregate} must be true or false, got ${String(aggregate)}`, { param: names.aggregate, fix: `set ${names.aggregate} to true (3x3 convolutions, then the patch mean) or false (the plain patch mean)` });
  if (aggregate && !isInt(channels, AGG_CHANNELS_RANGE))
    throw new NodeError(`${node}: ${names.channels} must be an integer from ${AGG_CHANNELS_RANGE.min} to ${AGG_CHANNELS_RANGE.max} when ${names.aggregate} is on, got ${String(channels)}`, {
      param: names.channels,
      fix: `set ${names.channels} to 32 (the default) or another integer in ${AGG_CHANNELS_RANGE.min}-${AGG_CHANNELS_RANGE.max}, or turn ${names.aggregate} off for the plain patch mean`,
    });
  return { kind: 'PatchAggregation', patch: patch as number, aggChannels: aggregate ? (channels as number) : 0 };
}

/**
 * A PatchAggregation value arriving on an input (`port` of `node`), checked:
 * a NodeError on the port when it is not one the feature head accepts.
 */
export function checkPatchAggregation(node: string, port: string, value: unknown): PatchAggregationValue {
  const v = value as Partial<PatchAggregationValue> | null;
  const ok = typeof v === 'object' && v !== null && v.kind === 'PatchAggregation' && isInt(v.patch, PATCH_RANGE) && (v.aggChannels === 0 || isInt(v.aggChannels, AGG_CHANNELS_RANGE));
  if (!ok)
    throw new NodeError(`${node}: the ${port} input is not a valid PatchAggregation (patch ${String(v?.patch)}, aggChannels ${String(v?.aggChannels)}; patch must be ${PATCH_RANGE.min}-${PATCH_RANGE.max}, aggChannels 0 or ${AGG_CHANNELS_RANGE.min}-${AGG_CHANNELS_RANGE.max})`, {
      port,
      fix: `connect a PatchAggregator's aggregation output, or disconnect ${port} to use the node's own params`,
    });
  return { kind: 'PatchAggregation', patch: v.patch!, aggChannels: v.aggChannels! };
}

/** "patch 4, aggregation 32 channels" / "patch 4, plain patch mean", for logs and messages. */
export function describePatchAggregation(a: { patch: number; aggChannels: number }): string {
  return `patch ${a.patch}, ${a.aggChannels > 0 ? `aggregation ${a.aggChannels} channels` : 'plain patch mean (no aggregation)'}`;
}

export const PatchAggregator = defineNode({
  type: 'PatchAggregator',
  version: 1,
  category: '3D segmentation',
  description: "Patch rendering and neighbour aggregation for FeatureDistiller: each SAM embedding cell is rendered as P x P rays, then 3x3 convolutions and the patch mean (trained jointly with the feature head). Connected to FeatureDistiller's aggregation input, it replaces the distiller's patch, aggregate and aggChannels params",
  inputs: {},
  outputs: { aggregation: { type: 'PatchAggregation', description: "the settings, for FeatureDistiller's aggregation input" } },
  params: {
    patch: { type: 'integer', default: 4, min: PATCH_RANGE.min, max: PATCH_RANGE.max, description: 'rays per embedding cell side (P x P rays spread over the cell, the same in training and rendering)' },
    aggregate: { type: 'boolean', default: true, description: 'neighbour aggregation over the patch (3x3 convolutions, then the mean); off = the plain mean of the patch' },
    channels: { type: 'integer', default: 32, min: AGG_CHANNELS_RANGE.min, max: AGG_CHANNELS_RANGE.max, description: "channels of the aggregator's convolution (used when aggregate is on)", advanced: true },
  },
  async run(ctx: NodeContext, _inputs, params) {
    const aggregation = patchAggregation('PatchAggregator', { patch: params.patch, aggregate: params.aggregate, channels: params.channels });
    if (aggregation.aggChannels > 0 && aggregation.patch === 1)
      ctx.log('note: with patch 1 a cell is one ray, so the 3x3 convolutions see no neighbours (a per-ray residual); set patch 2 or more for neighbour aggregation');
    ctx.log(describePatchAggregation(aggregation));
    return { aggregation };
  },
});

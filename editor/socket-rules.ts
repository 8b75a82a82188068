// Socket colours and the "may this wire exist?" question, answered by the
// engine's own canConnect so the canvas and the validator never disagree.

import { canConnect, PORT_TYPES, type NodeDescription, type PortType } from '../engine';

/** One distinct colour per port type, for sockets, wires and the legend. */
export const SOCKET_COLORS: Partial<Record<PortType, string>> = {
  Image: '#4caf50',
  Views: '#8bc34a',
  Mask: '#2196f3',
  Heatmap: '#ff9800',
  Points: '#e91e63',
  SamEmbedding: '#9c27b0',
  RadianceField: '#795548',
  FeatureField: '#607d8b',
  PatchAggregation: '#90a4ae',
  Number: '#ffeb3b',
  String: '#00bcd4',
  Boolean: '#cddc39',
  Any: '#bdbdbd',
  Prompts3D: '#f06292',
  MaskField: '#4dd0e1',
  ViewMasks: '#64b5f6',
};

/** A type's colour; a type added to the engine later gets a stable hue from its name until it is given one here. */
export function socketColor(type: string): string {
  const known = SOCKET_COLORS[type as PortType];
  if (known) return known;
  let h = 0;
  for (const c of type) h = (h * 31 + c.charCodeAt(0)) % 360;
  return `hsl(${h}, 65%, 60%)`;
}

export interface LegendEntry {
  type: PortType;
  color: string;
  description: string;
}

/** The legend lists only the types the palette's nodes use, in PORT_TYPES order. */
export function legendFor(descriptions: readonly NodeDescription[]): LegendEntry[] {
  const used = new Set<string>();
  for (const d of descriptions) {
    for (const p of Object.values(d.inputs)) used.add(p.type);
    for (const p of Object.values(d.outputs)) used.add(p.type);
  }
  return (Object.keys(PORT_TYPES) as PortType[])
    .filter((t) => used.has(t))
    .map((type) => ({ type, color: socketColor(type), description: PORT_TYPES[type] }));
}

export interface SocketRef {
  /** Node type of the socket's node. */
  nodeType: string;
  /** Port name on that node. */
  port: string;
}

export type ConnectionVerdict = { ok: true } | { ok: false; reason: string };

/**
 * Whether an output of one node may feed an input of another. Unknown types
 * or ports are refused with a reason rather than thrown on, since this runs
 * inside a pointer handler.
 */
export function checkConnection(
  byType: ReadonlyMap<string, NodeDescription>,
  from: SocketRef,
  to: SocketRef,
): ConnectionVerdict {
  const output = byType.get(from.nodeType)?.outputs[from.port];
  const input = byType.get(to.nodeType)?.inputs[to.port];
  if (!output) return { ok: false, reason: `${from.nodeType} has no output "${from.port}"` };
  if (!input) return { ok: false, reason: `${to.nodeType} has no input "${to.port}"` };
  const verdict = canConnect(output.type, input.type);
  if (verdict.ok) return verdict;
  return { ok: false, reason: `${from.nodeType}.${from.port} → ${to.nodeType}.${to.port}: ${verdict.reason}` };
}

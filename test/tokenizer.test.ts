import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'fflate';
import { beforeAll, describe, expect, it } from 'vitest';
import { ClipTokenizer, clipCleanText, htmlUnescape } from '../nodes/clipseg/tokenizer';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const sharedDir = resolve(repoRoot, '../shared');
const bpePath = resolve(sharedDir, 'data/clip/bpe_simple_vocab_16e6.txt.gz');
const vectorsPath = resolve(sharedDir, 'data/vectors/clip_token_ids.json');
const haveShared = existsSync(bpePath) && existsSync(vectorsPath);
const sharedNote = haveShared ? '' : ` (SKIPPED: ${bpePath} or ${vectorsPath} not found; shared data lives at ../shared)`;

interface VectorCase {
  text: string;
  ids: number[];
}
const vectorCases: VectorCase[] = haveShared ? JSON.parse(readFileSync(vectorsPath, 'utf8')).cases : [];

describe('html unescape and text clean-up (as Python html.unescape / OpenAI basic_clean)', () => {
  it('matches Python html.unescape on named, numeric, legacy and unknown references', () => {
    // Expected strings printed by Python 3's html.unescape.
    expect(htmlUnescape('&amp;amp; &ampfoo &#39; &#x27; &#150; &lt;b&gt; &nosuch; &copy2 &hellip;')).toBe(
      "&amp; &foo ' ' \u2013 <b> &nosuch; \u00a92 \u2026",
    );
    expect(htmlUnescape('&#0; &#x110000; &#xD800; &#1; &#65 &eacute;')).toBe('\ufffd \ufffd \ufffd  A \u00e9');
    expect(htmlUnescape('no entities')).toBe('no entities');
  });

  it('unescapes twice, collapses whitespace, trims and lowercases', () => {
    expect(clipCleanText('  A &amp;amp; B\t\n\u3000C  ')).toBe('a & b c');
    expect(clipCleanText('don\u2019t \uff21\ufb01')).toBe("don't afi");
  });
});

describe.skipIf(!haveShared)(`CLIP tokenizer from bpe_simple_vocab_16e6.txt.gz${sharedNote}`, () => {
  let gz: Uint8Array;
  let tokenizer: ClipTokenizer;
  beforeAll(() => {
    gz = new Uint8Array(readFileSync(bpePath));
    tokenizer = ClipTokenizer.fromBpeMerges(gz);
  });

  it('has the 49,408-entry vocabulary with start 49406 and end 49407', () => {
    expect(tokenizer.vocabSize).toBe(49408);
    expect(tokenizer.startId).toBe(49406);
    expect(tokenizer.endId).toBe(49407);
  });

  it.each(vectorCases.map((c) => [c.text, c.ids] as const))('encodes %j like the reference', (text, ids) => {
    expect(tokenizer.encode(text)).toEqual(ids);
    // Second call goes through the BPE cache and must agree.
    expect(tokenizer.encode(text)).toEqual(ids);
  });

  it('accepts the merges as text as well as gzipped bytes', () => {
    const text = new TextDecoder().decode(gunzipSync(gz));
    const fromText = ClipTokenizer.fromBpeMerges(text);
    for (const c of vectorCases) expect(fromText.encode(c.text)).toEqual(c.ids);
  });

  it('refuses a truncated merges file', () => {
    const text = new TextDecoder().decode(gunzipSync(gz));
    const short = text.split('\n').slice(0, 1000).join('\n');
    expect(() => ClipTokenizer.fromBpeMerges(short)).toThrow(/expected 48894/);
  });

  it('cleans text as OpenAI CLIP: html entities, whitespace, case, curly quotes', () => {
    const plain = tokenizer.encode("don't stop");
    expect(tokenizer.encode('  DON&amp;#39;T   Stop ')).toEqual(plain);
    expect(tokenizer.encode('don\u2019t stop')).toEqual(plain);
    expect(tokenizer.encode('')).toEqual([49406, 49407]);
    // Special tokens written in the text map to their ids, not to BPE pieces.
    expect(tokenizer.encode('<|endoftext|>')).toEqual([49406, 49407, 49407]);
  });

  describe('encodeBatch', () => {
    it('pads with 49407 by default and masks the padding', () => {
      const batch = tokenizer.encodeBatch(['a photo of a cat', 'Hello, world!']);
      expect(batch.dims).toEqual([2, 77]);
      expect(batch.inputIds.length).toBe(2 * 77);
      const row0 = Array.from(batch.inputIds.slice(0, 77), Number);
      const row1 = Array.from(batch.inputIds.slice(77), Number);
      expect(row0.slice(0, 7)).toEqual(tokenizer.encode('a photo of a cat'));
      expect(row0.slice(7).every((id) => id === 49407)).toBe(true);
      expect(row1.slice(0, 6)).toEqual(tokenizer.encode('Hello, world!'));
      const mask0 = Array.from(batch.attentionMask.slice(0, 77), Number);
      const mask1 = Array.from(batch.attentionMask.slice(77), Number);
      expect(mask0).toEqual([...Array(7).fill(1), ...Array(70).fill(0)]);
      expect(mask1).toEqual([...Array(6).fill(1), ...Array(71).fill(0)]);
    });

    it('honours padId (OpenAI pads with 0) and contextLength', () => {
      const batch = tokenizer.encodeBatch(['a cat'], { padId: 0, contextLength: 8 });
      expect(batch.dims).toEqual([1, 8]);
      expect(Array.from(batch.inputIds, Number)).toEqual([...tokenizer.encode('a cat'), 0, 0, 0, 0]);
      expect(Array.from(batch.attentionMask, Number)).toEqual([1, 1, 1, 1, 0, 0, 0, 0]);
    });

    it('throws a clear error naming the text and its length when too long', () => {
      const long = 'cat '.repeat(100).trim();
      expect(() => tokenizer.encodeBatch(['ok', long])).toThrow(/Text "cat cat .*" is 102 tokens long.*context length 77/);
    });

    it('truncates to the context keeping the end token when asked', () => {
      const long = 'cat '.repeat(100).trim();
      const batch = tokenizer.encodeBatch([long], { truncate: true });
      const ids = Array.from(batch.inputIds, Number);
      expect(ids[0]).toBe(49406);
      expect(ids[76]).toBe(49407);
      expect(ids.slice(1, 76).every((id) => id === tokenizer.encode('cat')[1])).toBe(true);
      expect(Array.from(batch.attentionMask, Number).every((m) => m === 1)).toBe(true);
    });
  });

  describe('fromTokenizerJson (Hugging Face tokenizer.json)', () => {
    /** Builds the tokenizer.json CLIP ships, independently of the tokenizer's own vocabulary code. */
    function buildTokenizerJson(mergeFormat: 'string' | 'pair', specialsIn: 'vocab' | 'added_tokens') {
      const lines = new TextDecoder().decode(gunzipSync(gz)).split('\n');
      const merges = lines.slice(1, 48895).map((line) => line.split(' ') as [string, string]);
      const printable = (b: number) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
      const byteSymbols: string[] = [];
      for (let b = 0; b < 256; b++) if (printable(b)) byteSymbols.push(String.fromCharCode(b));
      let next = 256;
      for (let b = 0; b < 256; b++) if (!printable(b)) byteSymbols.push(String.fromCharCode(next++));
      const tokens = [...byteSymbols, ...byteSymbols.map((s) => `${s}</w>`), ...merges.map(([a, b]) => a + b)];
      const vocab: Record<string, number> = Object.fromEntries(tokens.map((t, i) => [t, i]));
      const specials = [
        { id: 49406, content: '<|startoftext|>', special: true },
        { id: 49407, content: '<|endoftext|>', special: true },
      ];
      if (specialsIn === 'vocab') for (const s of specials) vocab[s.content] = s.id;
      return {
        version: '1.0',
        added_tokens: specialsIn === 'added_tokens' ? specials : [],
        model: {
          type: 'BPE',
          continuing_subword_prefix: '',
          end_of_word_suffix: '</w>',
          unk_token: '<|endoftext|>',
          vocab,
          merges: mergeFormat === 'string' ? merges.map(([a, b]) => `${a} ${b}`) : merges,
        },
      };
    }

    it.each([
      ['string', 'vocab'],
      ['pair', 'added_tokens'],
    ] as const)('merges as %s, specials in %s: same ids as the reference', (mergeFormat, specialsIn) => {
      // Round-trip through JSON text, as a loaded file would be.
      const json = JSON.parse(JSON.stringify(buildTokenizerJson(mergeFormat, specialsIn)));
      const fromJson = ClipTokenizer.fromTokenizerJson(json);
      expect(fromJson.startId).toBe(49406);
      expect(fromJson.endId).toBe(49407);
      for (const c of vectorCases) expect(fromJson.encode(c.text)).toEqual(c.ids);
    });

    it('rejects a file without a BPE model', () => {
      expect(() => ClipTokenizer.fromTokenizerJson({})).toThrow(/model.vocab/);
      expect(() => ClipTokenizer.fromTokenizerJson({ model: { type: 'WordPiece', vocab: {}, merges: [] } })).toThrow(
        /BPE/,
      );
    });
  });
});

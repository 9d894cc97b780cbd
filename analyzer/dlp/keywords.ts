// Dictionary keywords (dlp.keywords): whole words or phrases, case-insensitive, a run of spaces in a
// phrase matching any run of whitespace. A trie walked from each word start: the work per character
// of text is at most the longest word (128), whatever the size of the dictionary. The regex
// alternation this replaces tried every word at every position: 10,000 words on 100 KB of "w w w…"
// took 36 s.

const SPACE = 0x20;
const WS = /\s/;
const WORDISH = /[\p{L}\p{N}]/u;

/** case folding of one UTF-16 unit, close to the simple folding of a /iu regex ('ς' and 'σ', 'ſ' and 's') */
const foldCache = new Map<number, number>();
function fold(c: number): number {
  if (c < 0x80) return c >= 0x41 && c <= 0x5a ? c + 32 : c;
  let f = foldCache.get(c);
  if (f === undefined) {
    const ch = String.fromCharCode(c);
    const u = ch.toUpperCase();
    const l = u.length === 1 ? u.toLowerCase() : ch.toLowerCase();
    f = l.length === 1 ? l.charCodeAt(0) : c;
    if (foldCache.size < 65536) foldCache.set(c, f);
  }
  return f;
}

function isSpace(c: number): boolean {
  if (c < 0x80) return c === 0x20 || (c >= 0x09 && c <= 0x0d);
  return WS.test(String.fromCharCode(c));
}

/** is the code point ending just before `at` (or starting at `at`) a letter or digit */
function wordishBefore(text: string, at: number): boolean {
  if (at <= 0) return false;
  const c = text.charCodeAt(at - 1);
  if (c < 0x80) return (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a);
  const lowSur = c >= 0xdc00 && c <= 0xdfff && at >= 2;
  return WORDISH.test(lowSur ? text.slice(at - 2, at) : text[at - 1]);
}

function wordishAt(text: string, at: number): boolean {
  if (at >= text.length) return false;
  const c = text.charCodeAt(at);
  if (c < 0x80) return (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a);
  return WORDISH.test(String.fromCodePoint(text.codePointAt(at)!));
}

export interface KeywordMatch {
  start: number;
  end: number;
}

export class KeywordMatcher {
  /** edge (node * 65536 + unit) → child node; node 0 is the root */
  private edges = new Map<number, number>();
  /** nodes that end a word */
  private ends = new Set<number>();
  private nodes = 1;

  constructor(words: readonly string[]) {
    for (const w of words) {
      let node = 0;
      let inSpace = false;
      for (let i = 0; i < w.length; i++) {
        const raw = w.charCodeAt(i);
        const space = isSpace(raw);
        if (space && (inSpace || node === 0)) continue;
        inSpace = space;
        const c = space ? SPACE : fold(raw);
        const key = node * 65536 + c;
        let next = this.edges.get(key);
        if (next === undefined) this.edges.set(key, (next = this.nodes++));
        node = next;
      }
      if (node !== 0) this.ends.add(node);
    }
  }

  /** the first match at or after `from` (leftmost, then longest), or undefined */
  next(text: string, from: number): KeywordMatch | undefined {
    const n = text.length;
    for (let s = from; s < n; s++) {
      const c0 = text.charCodeAt(s);
      if (c0 >= 0xdc00 && c0 <= 0xdfff && s > 0 && text.charCodeAt(s - 1) >= 0xd800 && text.charCodeAt(s - 1) <= 0xdbff) continue; // inside a code point
      if (!this.edges.has(fold(c0)) || wordishBefore(text, s)) continue;
      let node = 0;
      let best = -1;
      let i = s;
      while (i < n) {
        const c = text.charCodeAt(i);
        if (isSpace(c)) {
          const child = this.edges.get(node * 65536 + SPACE);
          if (child === undefined) break;
          node = child;
          while (i < n && isSpace(text.charCodeAt(i))) i++;
        } else {
          const child = this.edges.get(node * 65536 + fold(c));
          if (child === undefined) break;
          node = child;
          i++;
        }
        if (this.ends.has(node) && !wordishAt(text, i)) best = i;
      }
      if (best > s) return { start: s, end: best };
    }
    return undefined;
  }
}

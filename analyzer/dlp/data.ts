// Loads the detectors' data files (issuer ranges, IBAN lengths, context words) once, at first use.
import path from 'node:path';
import { readDataFile } from '../../common/dataFile';

const DATA = path.join(__dirname, 'data');

function load(name: string): any {
  return readDataFile(path.join(DATA, name));
}

export interface IssuerRule {
  name: string;
  /** [width, lo, hi]: the first `width` digits as a number lie in lo..hi */
  ranges: Array<[number, number, number]>;
  lengths: Set<number>;
}

let issuers: IssuerRule[] | undefined;
let testNumbers: Set<string> | undefined;
export function cardIssuers(): { issuers: IssuerRule[]; testNumbers: Set<string> } {
  if (!issuers) {
    const d = load('card-issuers.yaml');
    issuers = (d.issuers as any[]).map((e) => {
      const ranges: Array<[number, number, number]> = [];
      for (const p of e.prefixes ?? []) ranges.push([p.length, Number(p), Number(p)]);
      for (const r of e.ranges ?? []) {
        const [lo, hi] = String(r).split('-');
        ranges.push([lo.length, Number(lo), Number(hi)]);
      }
      // longest prefixes first so that the most specific network names the card
      ranges.sort((a, b) => b[0] - a[0]);
      return { name: e.name, ranges, lengths: new Set<number>(e.lengths) };
    });
    testNumbers = new Set((d.test_numbers as string[]).map(String));
  }
  return { issuers, testNumbers: testNumbers! };
}

let ibanLen: Map<string, number> | undefined;
export function ibanLengths(): Map<string, number> {
  if (!ibanLen) ibanLen = new Map(Object.entries(load('iban-lengths.yaml') as Record<string, number>));
  return ibanLen;
}

/** separator kinds of digit groups, by code point (separators.yaml) */
export interface Separators {
  space: Set<number>;
  dash: Set<number>;
  dot: Set<number>;
}

let seps: Separators | undefined;
export function separators(): Separators {
  if (!seps) {
    const d = load('separators.yaml');
    const set = (k: string) => new Set<number>((d[k] as Array<number | string>).map((c) => Number(c)));
    seps = { space: set('space'), dash: set('dash'), dot: set('dot') };
  }
  return seps;
}

export interface ContextWords {
  before: number;
  after: number;
  /** detector → regex matching any of its words (global, for scanning a window) */
  words: Map<string, RegExp>;
  /** a currency word or sign at the start of the text after a number / at the end of the text before it */
  currencyAfter: RegExp;
  currencyBefore: RegExp;
}

let ctx: ContextWords | undefined;
export function contextWords(): ContextWords {
  if (!ctx) {
    const d = load('context.yaml');
    const words = new Map<string, RegExp>();
    for (const [k, v] of Object.entries(d)) {
      if (!Array.isArray(v) || k === 'currency') continue;
      words.set(k, wordRegex(v as string[]));
    }
    const cur = (d.currency as string[]).map((w) => w.toLowerCase().replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'));
    // a word (ASCII letters: yen, usd) needs a word boundary; a sign or a CJK character (¥, 円, 元, 원) not
    // ('15000000円です')
    const named = cur.filter((w) => /[a-z]/.test(w));
    const signs = cur.filter((w) => !/[a-z]/.test(w));
    ctx = {
      before: d.window_before,
      after: d.window_after,
      words,
      currencyAfter: new RegExp(`^\\s?(?:(?:${named.join('|')})(?![\\p{L}\\p{N}])|${signs.join('|')})`, 'iu'),
      currencyBefore: new RegExp(`(?:(?<![\\p{L}\\p{N}])(?:${named.join('|')})|${signs.join('|')})\\s?$`, 'iu'),
    };
  }
  return ctx;
}

/** A case-insensitive regex matching any of `words` as whole words (words are literals, escaped). */
export function wordRegex(words: string[]): RegExp {
  const alts = [...words]
    .sort((a, b) => b.length - a.length)
    .map((w) => w.toLowerCase().replace(/[.*+?^${}()|[\]\\/]/g, '\\$&').replace(/ +/g, '\\s+'));
  return new RegExp(`(?<![\\p{L}\\p{N}])(?:${alts.join('|')})(?![\\p{L}\\p{N}])`, 'giu');
}

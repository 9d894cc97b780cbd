// Context words near a candidate: the nearest labelled word before (or shortly after) the match.
import { contextWords } from './data';

export interface NearestContext {
  /** label of the nearest context word ('pan', 'us_ssn', …, 'negative'), or undefined */
  label?: string;
  /** distance in characters from the match */
  distance: number;
  /** every label with a word in the window, and the distance of its nearest word */
  seen: Map<string, number>;
}

/** spans of `re`'s matches in s */
function spans(re: RegExp | undefined, s: string): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  if (!re) return out;
  re.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s))) out.push([m.index, m.index + m[0].length]);
  return out;
}

/**
 * The nearest context word among `labels` around text[start, end). Words before the match win ties
 * (people write "SSN: 123-45-6789" far more often than the reverse). A negative word inside a
 * `not_negative` phrase after the match ("in case the other one fails") does not count.
 */
export function nearestContext(text: string, start: number, end: number, labels: readonly string[]): NearestContext {
  const c = contextWords();
  const from = Math.max(0, start - c.before);
  const to = Math.min(text.length, end + c.after);
  const before = text.slice(from, start);
  const after = text.slice(end, to);
  let best: NearestContext = { distance: Infinity, seen: new Map() };
  const seen = best.seen;
  for (const label of labels) {
    const re = c.words.get(label);
    if (!re) continue;
    const isNeg = label === 'negative';
    // not_negative only after the number: "4539 1852 9630 7417 in case the other one fails" is a
    // clause; "filed in case 219-09-9998" names a case number
    const exceptAfter = isNeg ? spans(c.words.get('not_negative'), after) : [];
    const excepted = (sp: Array<[number, number]>, m: RegExpExecArray) => sp.some(([s, e]) => m.index >= s && m.index + m[0].length <= e);
    re.lastIndex = 0;
    let m: RegExpExecArray | null;
    while ((m = re.exec(before))) {
      const d = before.length - (m.index + m[0].length);
      if (d < (seen.get(label) ?? Infinity)) seen.set(label, d);
      if (d < best.distance) best = { label, distance: d, seen };
    }
    re.lastIndex = 0;
    while ((m = re.exec(after))) {
      if (isNeg && excepted(exceptAfter, m)) continue;
      const d = m.index + 1; // after the match: slightly farther than the same gap before it
      if (d < (seen.get(label) ?? Infinity)) seen.set(label, d);
      if (d < best.distance) best = { label, distance: d, seen };
      break;
    }
  }
  return best;
}

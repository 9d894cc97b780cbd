// Context words near a candidate: the nearest labelled word before (or shortly after) the match.
import { contextWords } from './data';

export interface NearestContext {
  /** label of the nearest context word ('pan', 'us_ssn', …, 'negative'), or undefined */
  label?: string;
  /** distance in characters from the match */
  distance: number;
}

/**
 * The nearest context word among `labels` around text[start, end). Words before the match win ties
 * (people write "SSN: 123-45-6789" far more often than the reverse).
 */
export function nearestContext(text: string, start: number, end: number, labels: readonly string[]): NearestContext {
  const c = contextWords();
  const from = Math.max(0, start - c.before);
  const to = Math.min(text.length, end + c.after);
  const before = text.slice(from, start);
  const after = text.slice(end, to);
  let best: NearestContext = { distance: Infinity };
  for (const label of labels) {
    const re = c.words.get(label);
    if (!re) continue;
    re.lastIndex = 0;
    let m: RegExpExecArray | null;
    while ((m = re.exec(before))) {
      const d = before.length - (m.index + m[0].length);
      if (d < best.distance) best = { label, distance: d };
    }
    re.lastIndex = 0;
    while ((m = re.exec(after))) {
      const d = m.index + 1; // after the match: slightly farther than the same gap before it
      if (d < best.distance) best = { label, distance: d };
      break;
    }
  }
  return best;
}

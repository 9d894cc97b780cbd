// A session's evidence list as the store keeps it: JSON of at most MAX_EVIDENCE_CHARS characters made of
// whole entries. Until 27 November the JSON was cut at that length, which left invalid JSON, and a
// session with many or long entries read back with no evidence at all. See docs/storage.md.
import { clip } from '../analyzer/clip';

/** characters of a session's evidence JSON */
export const MAX_EVIDENCE_CHARS = 16384;
/** entries kept of a session */
export const MAX_EVIDENCE_ENTRIES = 32;
/** characters of one entry's JSON: a long one is cut to this, so it cannot crowd out the others */
export const MAX_EVIDENCE_ENTRY = 4096;
/** the signature of the last entry when some were left out (what the dashboard shows as "(more): …") */
export const MORE = '(more)';

const more = (n: number): string => JSON.stringify({ signature: MORE, reason: `${n} more not stored` });

/** one entry as JSON within MAX_EVIDENCE_ENTRY: as it was when it fits, else its signature and reason cut (marked …) */
function entryJson(e: unknown): string {
  const j = JSON.stringify(e) ?? 'null'; // what JSON.stringify of the list writes for undefined
  if (j.length <= MAX_EVIDENCE_ENTRY) return j;
  const o = (e ?? {}) as { signature?: unknown; reason?: unknown };
  const text = (v: unknown) => (v === undefined || v === null ? '' : String(v));
  const signature = clip(text(o.signature), 256);
  const reason = text(o.reason);
  // escapes make JSON longer than the text (a control character or a lone surrogate is 6): cut until it fits
  for (let n = MAX_EVIDENCE_ENTRY; ; ) {
    const c = JSON.stringify({ signature, reason: clip(reason, n) });
    if (c.length <= MAX_EVIDENCE_ENTRY || n === 0) return c; // at 0: the 257-character signature fits however escaped
    n = Math.max(0, Math.min(n - 1, Math.floor((n * MAX_EVIDENCE_ENTRY) / c.length) - 8));
  }
}

/**
 * The evidence column of a session: the first entries (at most MAX_EVIDENCE_ENTRIES) that fit whole in
 * MAX_EVIDENCE_CHARS, each within MAX_EVIDENCE_ENTRY; when some are left out, a last entry
 * {"signature":"(more)","reason":"N more not stored"} says how many.
 */
export function evidenceJson(list: unknown): string {
  const all = Array.isArray(list) ? list : [];
  const reserve = more(all.length).length + 1;
  const parts: string[] = [];
  let len = 2;
  for (let i = 0; i < all.length && parts.length < MAX_EVIDENCE_ENTRIES; i++) {
    const j = entryJson(all[i]);
    const add = j.length + (parts.length ? 1 : 0);
    // room for the (more) entry unless this is the last one
    if (len + add + (i < all.length - 1 ? reserve : 0) > MAX_EVIDENCE_CHARS) break;
    parts.push(j);
    len += add;
  }
  if (parts.length < all.length) parts.push(more(all.length - parts.length));
  return `[${parts.join(',')}]`;
}

/**
 * A stored evidence column as a list. A row written before 27 November may hold JSON cut at
 * MAX_EVIDENCE_CHARS: its whole entries are read, with a (more) entry for the rest.
 */
export function readEvidence(s: string | null): Array<{ signature: string; reason: string }> {
  if (!s) return [];
  try {
    const v = JSON.parse(s);
    return Array.isArray(v) ? v : [];
  } catch {
    // the end of the last whole entry: a '}' closing an object at depth 1 of the list, outside strings
    let depth = 0;
    let inString = false;
    let last = -1;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (inString) {
        if (c === 0x5c) i++;
        else if (c === 0x22) inString = false;
      } else if (c === 0x22) inString = true;
      else if (c === 0x7b || c === 0x5b) depth++;
      else if (c === 0x7d || c === 0x5d) {
        depth--;
        if (depth === 1 && c === 0x7d) last = i + 1;
      }
    }
    let kept: Array<{ signature: string; reason: string }> = [];
    if (last > 0 && s.charCodeAt(0) === 0x5b) {
      try {
        const v = JSON.parse(`${s.slice(0, last)}]`);
        if (Array.isArray(v)) kept = v;
      } catch {
        // not a list cut short: nothing to read
      }
    }
    return [...kept, { signature: MORE, reason: 'the rest was cut when stored' }];
  }
}

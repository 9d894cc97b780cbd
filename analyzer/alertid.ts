// Stable alert ids: a hash of what the finding IS (kind, protocol, who/where, detector, redacted
// match), never of when it was seen, so the same finding has the same id across runs and sensors.
import crypto from 'node:crypto';

// The same findings come back again and again (every flow of a client, every repeat of a match):
// the ids of short identities are kept (bounded; emptied when full) instead of hashing each time.
const MAX_KEPT = 16_384;
const MAX_KEY = 256;
const kept = new Map<string, string>();

export function alertId(parts: Array<string | number | undefined>): string {
  const text = JSON.stringify(parts.map((p) => (p === undefined ? '' : String(p))));
  let id = kept.get(text);
  if (id === undefined) {
    id = crypto.createHash('sha256').update(text).digest('hex').slice(0, 24);
    if (text.length <= MAX_KEY) {
      if (kept.size >= MAX_KEPT) kept.clear();
      kept.set(text, id);
    }
  }
  return id;
}

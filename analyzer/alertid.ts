// Stable alert ids: a hash of what the finding IS (kind, protocol, who/where, detector, redacted
// match), never of when it was seen, so the same finding has the same id across runs and sensors.
import crypto from 'node:crypto';

export function alertId(parts: Array<string | number | undefined>): string {
  const h = crypto.createHash('sha256');
  h.update(JSON.stringify(parts.map((p) => (p === undefined ? '' : String(p)))));
  return h.digest('hex').slice(0, 24);
}

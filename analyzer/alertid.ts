// Stable alert ids: a hash of what the finding IS (kind, protocol, who/where, detector, redacted
// match), never of when it was seen, so the same finding has the same id across runs and sensors.
import crypto from 'node:crypto';

// The same findings come back again and again (every flow of a client, every repeat of a match):
// ids are kept in a tree keyed by the parts themselves, so a kept id costs a few map lookups and no
// string building or hashing. Bounded: emptied when full; identities with a long part are not kept.
interface Node {
  id?: string;
  next?: Map<string, Node>;
}
const MAX_NODES = 65_536;
const MAX_PART = 256;
let root: Node = {};
let nodes = 0;

export function alertId(parts: Array<string | number | undefined>): string {
  let node: Node | undefined = root;
  for (const p of parts) {
    const s = p === undefined ? '' : String(p);
    if (s.length > MAX_PART) {
      node = undefined;
      break;
    }
    let next: Node | undefined = node.next?.get(s);
    if (!next) {
      if (nodes >= MAX_NODES) {
        root = {};
        nodes = 0;
        node = undefined; // this one is hashed, not kept; the next call starts a new tree
        break;
      }
      next = {};
      (node.next ??= new Map()).set(s, next);
      nodes++;
    }
    node = next;
  }
  if (node?.id) return node.id;
  const id = crypto.createHash('sha256').update(JSON.stringify(parts.map((p) => (p === undefined ? '' : String(p))))).digest('hex').slice(0, 24);
  if (node) node.id = id;
  return id;
}

// Who is behind an address or an IM identity: IPs/CIDRs and screen names, UINs, passports, Yahoo
// ids, JIDs, nicks → a person. Loaded from the policy and from a CSV file (identity,person).
import { anyContains, parseCidr, type Cidr } from './cidr';
import { cutBeforePair } from './clip';
import { canonicalIp } from '../sensor/addr';

/**
 * Characters of an IM identity from the wire (screen name, nick, JID) the analyzer keeps: the XMPP
 * decoder's cut, and the longest identity a directory may name. Decoders are not all this careful,
 * and a 1.2 MB name once made a 5.4 MB alert.
 */
export const MAX_IDENTITY = 256;

/**
 * The first MAX_IDENTITY characters of an identity, a surrogate pair left whole: what is matched
 * against the policy and the directory, and what the analyzer keeps (flow keys, alert ids). Matched
 * after the cut, not before: a directory identity is at most this long (IdentityMap.add), matching
 * then costs at most this much per event however long the name (normalizing is a regex over it), and
 * the alert shows the name that was matched. A name is the sender's claim either way: what its first
 * 256 characters match, the sender could have claimed with those alone.
 */
export function identityPrefix<T>(s: T): T {
  return typeof s === 'string' ? (cutBeforePair(s, MAX_IDENTITY) as T) : s;
}

/** An identity as an alert shows it: its prefix, marked '…' when cut (as clip() marks cut text in summaries). */
export function shownIdentity<T>(s: T): T {
  return typeof s === 'string' && s.length > MAX_IDENTITY ? ((identityPrefix(s) + '…') as T) : s;
}

/** identities as the policy matches them (identityPrefix each; the same array when none is longer) */
export function matchedIdentities(ids: string[]): string[] {
  return eachLong(ids, identityPrefix);
}

/** identities as an alert shows them (shownIdentity each; the same array when none is longer) */
export function shownIdentities(ids: string[]): string[] {
  return eachLong(ids, shownIdentity);
}

function eachLong(ids: string[], f: (s: string) => string): string[] {
  for (const u of ids) if (u.length > MAX_IDENTITY) return ids.map(f);
  return ids;
}

/** a usable identity: not empty, not a decoder's placeholder such as "(unknown)" */
export function realIdentity(s: unknown): s is string {
  return typeof s === 'string' && s.length > 0 && s !== '?' && !(s.startsWith('(') && s.endsWith(')'));
}

/** Canonical form of an IM identity: lower case, no spaces (AIM ignores them), no XMPP resource. */
export function normalizeIdentity(s: string): string {
  let t = s.trim().toLowerCase().replace(/\s+/g, '');
  const at = t.indexOf('@');
  const slash = t.indexOf('/');
  if (at >= 0 && slash > at) t = t.slice(0, slash);
  return t;
}

/**
 * Whether a mapping's identity is meant as an address or a block (so a typo in one is an error, not a
 * screen name): dotted digits, hex with colons, or anything of those with a /prefix.
 */
function looksLikeAddress(id: string): boolean {
  return /^[0-9.]+(\/\d*)?$/.test(id) ? id.includes('.') : /^[0-9a-fA-F:.]+(\/\d*)?$/.test(id) && (id.includes('::') || id.split(':').length > 2 || id.includes('/'));
}

export class IdentityMap {
  private byId = new Map<string, string>();
  private byIp = new Map<string, string>();
  private nets: Array<[Cidr, string]> = [];

  get size(): number {
    return this.byId.size + this.byIp.size + this.nets.length;
  }

  /** Adds one mapping; returns an error text when the identity is unusable. */
  add(identity: string, person: string): string | undefined {
    const id = identity.trim();
    const who = person.trim();
    if (!id) return 'identity is empty';
    if (!who) return 'person is empty';
    if (id.length > 256 || who.length > 256) return 'identity or person is longer than 256 characters';
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(id + who)) return 'identity or person has a control character';
    if (looksLikeAddress(id)) {
      const c = parseCidr(id);
      if (!c) return `'${id}' is not a valid IP address or CIDR block`;
      if (c.prefix === 128) {
        // as the sensor writes addresses (RFC 5952, IPv4 dotted), whatever the spelling here
        const ip = canonicalIp(id.split('/')[0]) ?? id.split('/')[0].toLowerCase();
        return this.put(this.byIp, ip, who, id);
      }
      this.nets.push([c, who]);
      return undefined;
    }
    return this.put(this.byId, normalizeIdentity(id), who, id);
  }

  /** one person per identity: the same twice is fine, another is a mistake to show */
  private put(m: Map<string, string>, key: string, who: string, id: string): string | undefined {
    const had = m.get(key);
    if (had !== undefined && had !== who) return `'${id}' is mapped to ${had} already; one identity names one person`;
    m.set(key, who);
    return undefined;
  }

  byIdentity(id: string): string | undefined {
    return this.byId.get(normalizeIdentity(id));
  }

  byAddress(ip: string): string | undefined {
    const p = this.byIp.get(ip.toLowerCase());
    if (p) return p;
    for (const [c, who] of this.nets) if (anyContains([c], ip)) return who;
    return undefined;
  }

  /** The person for these identities (first known wins), else for the client address. */
  resolve(identities: string[], ip?: string): string | undefined {
    if (!this.byId.size && !this.byIp.size && !this.nets.length) return undefined; // no mapping: skip normalizing
    for (const id of identities) {
      const p = id ? this.byIdentity(id) : undefined;
      if (p) return p;
    }
    return ip ? this.byAddress(ip) : undefined;
  }

  people(): string[] {
    return [...new Set([...this.byId.values(), ...this.byIp.values(), ...this.nets.map((n) => n[1])])].sort();
  }
}

/** Minimal RFC 4180 reader: one record per line, quoted fields may hold commas and "" quotes. */
export function parseCsvLine(line: string): string[] | undefined {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    if (line[i] === '"') {
      i++;
      for (;;) {
        if (i >= line.length) return undefined; // unterminated quote
        if (line[i] === '"') {
          if (line[i + 1] === '"') {
            field += '"';
            i += 2;
          } else {
            i++;
            break;
          }
        } else field += line[i++];
      }
      if (i < line.length && line[i] !== ',') return undefined;
    } else {
      const j = line.indexOf(',', i);
      field = j < 0 ? line.slice(i) : line.slice(i, j);
      if (field.includes('"')) return undefined;
      i = j < 0 ? line.length : j;
    }
    out.push(field.trim());
    if (i >= line.length) break;
    i++; // comma
  }
  return out;
}

/** Loads identity,person rows into `map`. Throws "FILE: row N: problem". */
export function loadIdentityCsv(text: string, file: string, map: IdentityMap): number {
  const lines = text.replace(/^\ufeff/, '').split(/\r?\n/); // spreadsheet exports start with a BOM
  let n = 0;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i];
    if (!raw.trim() || raw.trimStart().startsWith('#')) continue;
    const row = i + 1;
    const f = parseCsvLine(raw);
    if (!f) throw new Error(`${file}: row ${row}: malformed quoting`);
    if (n === 0 && f[0].toLowerCase() === 'identity') continue; // header
    if (f.length !== 2) throw new Error(`${file}: row ${row}: expected 2 fields (identity,person), found ${f.length}`);
    const err = map.add(f[0], f[1]);
    if (err) throw new Error(`${file}: row ${row}: ${err}`);
    n++;
  }
  return n;
}

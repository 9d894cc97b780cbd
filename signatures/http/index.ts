// Cleartext HTTP requests: Host header in the IM host tables, or a User-Agent of an IM client
// (data.yaml `user_agents`). Any other request is not IM (null), so web browsing never is.
import type { DetectInput, DetectResult, SignatureData, SignatureModule } from '../types';
import { usableServerName } from '../tls/parser';
import { headEnd } from './stream';

const METHODS = ['GET ', 'POST ', 'PUT ', 'HEAD ', 'OPTIONS ', 'DELETE ', 'PATCH ', 'CONNECT '];
const METHOD_BYTES = METHODS.map((m) => Buffer.from(m, 'latin1'));
const MAX_HEAD = 8192;

/** The method `d` starts with, or whose beginning `d` is (startsWith either way over the first 8 bytes). */
function methodOf(d: Buffer): string | undefined {
  for (let i = 0; i < METHODS.length; i++) {
    const m = METHOD_BYTES[i];
    const n = Math.min(d.length, m.length);
    let k = 0;
    while (k < n && d[k] === m[k]) k++;
    if (k === n) return METHODS[i];
  }
  return undefined;
}

export interface HttpRequestHead { method: string; host?: string; userAgent?: string }

/** what String.prototype.trim removes, for latin1 text */
function isTrimmed(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d) || c === 0xa0;
}

/** index of the first CRLF at or after `from` that ends by `end`, or -1 */
function crlf(d: Buffer, from: number, end: number): number {
  for (let i = from + 1; i < end; i++) if (d[i] === 0x0a && d[i - 1] === 0x0d) return i - 1;
  return -1;
}

/** bytes [s, e) are `name` (lower-case ASCII) in any case */
function namedAs(d: Buffer, s: number, e: number, name: string): boolean {
  if (e - s !== name.length) return false;
  for (let k = 0; k < name.length; k++) {
    const c = d[s + k];
    const w = name.charCodeAt(k);
    if (c !== w && !(w >= 0x61 && w <= 0x7a && c === w - 0x20)) return false;
  }
  return true;
}

const VERSION = Buffer.from(' HTTP/1.', 'latin1');

/** bytes before `e` end with " HTTP/1.0" or " HTTP/1.1" */
function endsWithVersion(d: Buffer, e: number): boolean {
  const s = e - VERSION.length - 1;
  if (s < 0) return false;
  for (let k = 0; k < VERSION.length; k++) if (d[s + k] !== VERSION[k]) return false;
  return d[e - 1] === 0x30 || d[e - 1] === 0x31;
}

/** 'more' while the request head is incomplete (bounded), null when this is not an HTTP request. */
export function parseRequestHead(d: Buffer): HttpRequestHead | 'more' | null {
  const method = methodOf(d);
  if (!method) return null;
  if (d.length < method.length) return 'more';
  const end = headEnd(d);
  if (end < 0) {
    if (d.length >= MAX_HEAD) return null;
    // the request line alone must look right once it is complete
    const eol = crlf(d, 0, d.length);
    if (eol >= 0 && !endsWithVersion(d, eol)) return null;
    return 'more';
  }
  // the head is read by byte comparison: only the two values kept become strings
  const eol = crlf(d, 0, end);
  const firstEnd = eol < 0 ? end : eol;
  if (!endsWithVersion(d, firstEnd)) return null;
  const head: HttpRequestHead = { method: method.trim() };
  // through an explicit proxy the tunnel's destination is the request target: CONNECT host:443
  if (head.method === 'CONNECT') head.host = d.toString('latin1', 0, firstEnd).split(' ')[1]?.replace(/:\d+$/, '').slice(0, 255);
  // header lines 1–99, split on CRLF like the text would be
  let ls = firstEnd + 2;
  for (let i = 1; eol >= 0 && ls <= end && i < 100; i++) {
    const next = crlf(d, ls, end);
    const le = next < 0 ? end : next;
    let c = ls;
    while (c < le && d[c] !== 0x3a) c++;
    if (c < le) {
      // the name trimmed, compared without case; the value trimmed and cut to 512 characters
      let ks = ls, ke = c;
      while (ks < ke && isTrimmed(d[ks])) ks++;
      while (ke > ks && isTrimmed(d[ke - 1])) ke--;
      const isHost = namedAs(d, ks, ke, 'host');
      if (isHost || namedAs(d, ks, ke, 'user-agent')) {
        let vs = c + 1, ve = le;
        while (vs < ve && isTrimmed(d[vs])) vs++;
        while (ve > vs && isTrimmed(d[ve - 1])) ve--;
        const v = d.toString('latin1', vs, Math.min(ve, vs + 512));
        if (isHost && head.method !== 'CONNECT') head.host = v.replace(/:\d+$/, '');
        else if (!isHost) head.userAgent = v;
      }
    }
    if (next < 0) break;
    ls = next + 2;
  }
  return head;
}

interface Agents {
  list: [string, unknown[]][];
  /** User-Agent → first [protocol, pattern] it contains (null: none); the same few agents recur */
  seen: Map<string, [string, unknown] | null>;
}
const uaMemo = new WeakMap<object, Agents>();
const NO_AGENTS = {};
const MAX_SEEN_AGENTS = 4096;

/** data.yaml `user_agents` as [protocol, patterns] pairs, built once per config object */
function userAgents(data: SignatureData): Agents {
  const src = (data.user_agents ?? NO_AGENTS) as Record<string, string[]>;
  let v = uaMemo.get(src);
  if (!v) {
    v = { list: Object.entries(src).map(([proto, pats]) => [proto, pats ?? []]), seen: new Map() };
    uaMemo.set(src, v);
  }
  return v;
}

function agentMatch(agents: Agents, ua: string): [string, unknown] | null {
  let r = agents.seen.get(ua);
  if (r !== undefined) return r;
  r = null;
  for (const [proto, pats] of agents.list) {
    const hit = pats.find((p) => ua.includes(String(p)));
    if (hit) {
      r = [proto, hit];
      break;
    }
  }
  if (agents.seen.size >= MAX_SEEN_AGENTS) agents.seen.clear();
  agents.seen.set(ua, r);
  return r;
}

function detect(input: DetectInput, data: SignatureData): DetectResult {
  if (input.dir !== 0) return null;
  const head = parseRequestHead(input.data);
  if (head === null || head === 'more') return head;
  const host = usableServerName(head.host);
  const byHost = host ? input.lookup.host(host) : undefined;
  if (byHost) {
    return {
      protocol: byHost.protocol, serverName: host,
      ...(head.method === 'CONNECT' ? { encrypted: true } : {}),
      evidence: { signature: 'http.host', reason: `HTTP ${head.method} to ${host} matches ${byHost.protocol} host ${byHost.matched}` },
    };
  }
  if (head.userAgent) {
    const m = agentMatch(userAgents(data), head.userAgent);
    if (m) {
      const [proto, hit] = m;
      return {
        protocol: proto, ...(host ? { serverName: host } : {}),
        evidence: { signature: 'http.user-agent', reason: `HTTP User-Agent contains "${hit}" (${proto} client)` },
      };
    }
  }
  // An explicit server name beats a guess, as for TLS/QUIC: a shared front end whose address DNS
  // also gave for an IM name (www.google.com on the address chat.google.com resolved to) is not IM.
  if (host && input.knownServerName && input.lookup.host(input.knownServerName)) {
    return { protocol: 'http', notIm: true, serverName: host, evidence: { signature: 'http.host', reason: `HTTP ${head.method} to ${host}, not an IM host` } };
  }
  return null;
}

export const module: SignatureModule = {
  id: 'http',
  protocols: ['http'],
  transports: ['tcp'],
  detect,
};

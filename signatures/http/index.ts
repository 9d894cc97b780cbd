// Cleartext HTTP requests: Host header in the IM host tables, or a User-Agent of an IM client
// (data.yaml `user_agents`). Any other request is not IM (null), so web browsing never is.
import type { DetectInput, DetectResult, SignatureData, SignatureModule } from '../types';
import { usableServerName } from '../tls/parser';

const METHODS = ['GET ', 'POST ', 'PUT ', 'HEAD ', 'OPTIONS ', 'DELETE ', 'PATCH ', 'CONNECT '];
const MAX_HEAD = 8192;

export interface HttpRequestHead { method: string; host?: string; userAgent?: string }

/** 'more' while the request head is incomplete (bounded), null when this is not an HTTP request. */
export function parseRequestHead(d: Buffer): HttpRequestHead | 'more' | null {
  const start = d.toString('latin1', 0, Math.min(d.length, 8));
  const method = METHODS.find((m) => start.startsWith(m) || m.startsWith(start));
  if (!method) return null;
  if (d.length < method.length) return 'more';
  const end = d.indexOf('\r\n\r\n', 0, 'latin1');
  if (end < 0) {
    if (d.length >= MAX_HEAD) return null;
    // the request line alone must look right once it is complete
    const eol = d.indexOf('\r\n', 0, 'latin1');
    if (eol >= 0 && !/ HTTP\/1\.[01]$/.test(d.toString('latin1', 0, eol))) return null;
    return 'more';
  }
  const lines = d.toString('latin1', 0, end).split('\r\n');
  if (!/ HTTP\/1\.[01]$/.test(lines[0])) return null;
  const head: HttpRequestHead = { method: method.trim() };
  // through an explicit proxy the tunnel's destination is the request target: CONNECT host:443
  if (head.method === 'CONNECT') head.host = lines[0].split(' ')[1]?.replace(/:\d+$/, '').slice(0, 255);
  for (const l of lines.slice(1, 100)) {
    const c = l.indexOf(':');
    if (c < 0) continue;
    const k = l.slice(0, c).trim().toLowerCase();
    const v = l.slice(c + 1).trim().slice(0, 512);
    if (k === 'host' && head.method !== 'CONNECT') head.host = v.replace(/:\d+$/, '');
    else if (k === 'user-agent') head.userAgent = v;
  }
  return head;
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
    const ua = head.userAgent;
    for (const [proto, pats] of Object.entries((data.user_agents ?? {}) as Record<string, string[]>)) {
      const hit = (pats ?? []).find((p) => ua.includes(String(p)));
      if (hit) {
        return {
          protocol: proto, ...(host ? { serverName: host } : {}),
          evidence: { signature: 'http.user-agent', reason: `HTTP User-Agent contains "${hit}" (${proto} client)` },
        };
      }
    }
  }
  return null;
}

export const module: SignatureModule = {
  id: 'http',
  protocols: ['http'],
  transports: ['tcp'],
  detect,
};

// The parts of SDP (RFC 4566) that tell an IM session from a call: media lines, MSRP paths
// (RFC 4975 a=path) and file offers (RFC 5547 a=file-selector).

export interface SdpMedia {
  media: string;
  port: number;
  proto: string;
  paths: string[];
  fileSelector?: { name?: string; size?: number; type?: string };
}

export function parseSdp(body: Buffer): SdpMedia[] {
  const out: SdpMedia[] = [];
  const lines = body.subarray(0, 64 * 1024).toString('utf8').split(/\r?\n/);
  for (const l of lines.slice(0, 500)) {
    const m = l.match(/^m=(\w{1,32}) (\d{1,5})(?:\/\d+)? (\S{1,64})/);
    if (m) {
      if (out.length >= 16) break;
      out.push({ media: m[1].toLowerCase(), port: Number(m[2]), proto: m[3], paths: [] });
      continue;
    }
    const cur = out[out.length - 1];
    if (!cur) continue;
    const p = l.match(/^a=path:(.{1,2048})$/);
    if (p) {
      // at most 8 URIs, the last always: it is the endpoint's own (relays come before it)
      const uris = p[1].trim().split(/\s+/);
      cur.paths.push(...(uris.length > 8 ? [...uris.slice(0, 7), uris[uris.length - 1]] : uris));
    }
    const fs = l.match(/^a=file-selector:(.{1,2048})$/);
    if (fs) {
      const name = fs[1].match(/name:"([^"]{0,1024})"/)?.[1];
      const size = fs[1].match(/size:(\d{1,15})/)?.[1];
      const type = fs[1].match(/type:([^\s]{1,128})/)?.[1];
      cur.fileSelector = { name, size: size ? Number(size) : undefined, type };
    }
  }
  return out;
}

/** msrp://host:port/session;tcp → host and port (IPv6 in brackets) */
export function msrpAuthority(uri: string): { host: string; port: number } | undefined {
  const m = uri.match(/^msrps?:\/\/(?:[^@/]*@)?(\[[0-9a-fA-F:.]+\]|[^:/;]+):(\d{1,5})\//i);
  if (!m) return undefined;
  return { host: m[1].replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

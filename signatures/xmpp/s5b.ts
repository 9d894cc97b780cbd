// XEP-0065 SOCKS5 bytestreams (also the Jingle S5B transport): a side connection to an announced
// streamhost (the sender itself, the receiver, or a proxy). Both sides first run a SOCKS5 handshake
// (greeting / method choice, CONNECT to the 40-hex-digit stream hash / reply); after it the file's
// bytes flow one way only, so the first direction that carries bytes past the handshake is carved.
import type { Dir } from '../../sensor/types';
import type { FileMeta, FileWriter, SessionContext, StreamDecoder } from '../types';
import { ByteQueue } from '../text';
import { createHash } from 'node:crypto';

const MAX_HANDSHAKE = 600;

/**
 * Where one side's request or reply starts (`b` has 2 bytes at least): the client sends VER NMETHODS
 * METHODS… then VER CMD RSV ATYP ADDR PORT, the server VER METHOD then VER REP RSV ATYP ADDR PORT.
 */
function requestAt(b: Buffer, client: boolean): number {
  return client ? 2 + b[1] : 2;
}

/** Bytes of a SOCKS5 handshake at the start of `b` for one side; undefined = incomplete; -1 = not SOCKS5. */
function handshakeLength(b: Buffer, client: boolean): number | undefined {
  if (b.length < 2) return undefined;
  if (b[0] !== 5) return -1;
  const o = requestAt(b, client);
  if (b.length < o + 5) return undefined;
  if (b[o] !== 5) return -1;
  const atyp = b[o + 3];
  const addr = atyp === 1 ? 4 : atyp === 4 ? 16 : atyp === 3 ? 1 + b[o + 4] : -1;
  if (addr < 0) return -1;
  const end = o + 4 + addr + 2;
  return b.length < end ? undefined : end;
}

/** An announced streamhost connection is one only if a direction opens with SOCKS version 5 (Expectation.verify: `d` has a byte at least) */
export function socks5Opening(d: Buffer): boolean {
  return d[0] === 5;
}

/**
 * The DST.ADDR values a bytestream's connections may ask for (XEP-0065 §5.3.2, XEP-0260 §2.3):
 * SHA-1 of the sid and the two full JIDs, in hex. Both orders: XEP-0260 clients differ on whose JID
 * comes first when the initiator connects to the responder's candidate. Empty when a JID is unknown.
 */
export function streamHashes(sid: string, a: string | undefined, b: string | undefined, dstaddr?: string): string[] {
  const out: string[] = [];
  if (dstaddr && /^[0-9a-fA-F]{40}$/.test(dstaddr)) out.push(dstaddr.toLowerCase());
  if (a && b) {
    // also with the bare parts lower-cased (a localpart and domain compare without case; the resource as written)
    const pairs = [[a, b], [b, a], [lowerBare(a), lowerBare(b)], [lowerBare(b), lowerBare(a)]];
    for (const [x, y] of pairs) out.push(createHash('sha1').update(sid + x + y).digest('hex'));
  }
  return [...new Set(out)];
}

function lowerBare(jid: string): string {
  const slash = jid.indexOf('/');
  return slash < 0 ? jid.toLowerCase() : jid.slice(0, slash).toLowerCase() + jid.slice(slash);
}

/**
 * A verifier for the connection of one bytestream: SOCKS5 whose CONNECT (the client's greeting then
 * request) or reply (the method choice then reply, which repeats the address) names one of `hashes`;
 * without hashes, a SOCKS5 opening is enough. Several transfers through one proxy are told apart so.
 */
export function socks5To(hashes: string[]): (d: Buffer) => boolean | 'more' {
  if (!hashes.length) return socks5Opening;
  const want = new Set(hashes);
  return (d) => {
    if (d[0] !== 5) return false;
    let more = false;
    // the side is not known: the client's greeting then request, or the server's choice then reply
    for (const o of d.length > 1 ? [requestAt(d, true), requestAt(d, false)] : [2]) {
      // VER CMD|REP RSV ATYP=3 LEN=40 then the 40 hex digits
      if (d.length < o + 45) {
        if (d.length <= o || d[o] === 5) more = true;
        continue;
      }
      if (d[o] !== 5 || d[o + 3] !== 3 || d[o + 4] !== 40) continue;
      if (want.has(d.toString('latin1', o + 5, o + 45).toLowerCase())) return true;
    }
    return more ? 'more' : false;
  };
}

export class S5bDecoder implements StreamDecoder {
  /** a handshake not yet whole, per direction (at most MAX_HANDSHAKE bytes) */
  private pre: [ByteQueue, ByteQueue] = [new ByteQueue(), new ByteQueue()];
  private done: [boolean, boolean] = [false, false];
  private dataDir: Dir | undefined;
  private writer: FileWriter | undefined;
  private seen = 0;
  private finished = false;

  constructor(private readonly ctx: SessionContext, private readonly meta: FileMeta) {
    ctx.setService('file');
  }

  onData(dir: Dir, data: Buffer, ts: number): void {
    if (this.finished) return;
    if (this.done[dir]) return this.payload(dir, data, ts);
    const q = this.pre[dir];
    const b = q.feed(data);
    const n = handshakeLength(b, dir === 0);
    if (n === -1 || (n === undefined && b.length > MAX_HANDSHAKE)) {
      this.ctx.malformed('SOCKS5 bytestream without a SOCKS5 handshake');
      this.finished = true;
      q.keepFrom(b, b.length);
      return;
    }
    if (n === undefined) return q.keepFrom(b, 0);
    this.done[dir] = true;
    // the bytes after the handshake may be a view of the queue: written (copied) before it is cleared
    this.payload(dir, b.subarray(n), ts);
    q.keepFrom(b, b.length);
  }

  private payload(dir: Dir, rest: Buffer, ts: number): void {
    if (!rest.length) return;
    if (this.dataDir === undefined) this.dataDir = dir;
    if (dir !== this.dataDir) return;
    this.writer ??= this.ctx.openFile(ts, dir, this.meta);
    const size = this.meta.size;
    const take = size !== undefined ? Math.min(rest.length, size - this.seen) : rest.length;
    if (take > 0) this.writer.write(take === rest.length ? rest : rest.subarray(0, take), ts);
    this.seen += Math.max(0, take);
    if (size !== undefined && this.seen >= size) {
      this.finished = true;
      this.writer.end(ts, true);
    }
  }

  onGap(dir: Dir, length: number): void {
    if (this.writer && dir === this.dataDir && !this.finished) {
      this.writer.gap(length);
      this.seen += length;
    }
  }

  onEnd(ts: number): void {
    if (this.writer && !this.finished) {
      this.finished = true;
      this.writer.end(ts);
    }
  }
}

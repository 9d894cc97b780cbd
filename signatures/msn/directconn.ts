// MSN's direct connection (the `TCPv1` bridge a transport INVITE announces) over its own TCP
// connection, as libpurple (msn/directconn.c, P2P v1), Miranda NG (msn_p2p.cpp) and MSNPSharp
// (P2PDirectProcessor.cs, P2PDCHandshakeMessage) write and read it: every packet is a u32
// little-endian length and that many bytes. The connecting side opens with the 4-byte packet "foo\0";
// then each side sends its handshake: in P2P v1 a 48-byte P2P header with flags 0x100 (the nonce in
// its ack fields), in v2 (WLM 2009+) the bare 16-byte nonce. After that each packet is a P2P packet of
// that version, as inside a switchboard MSG, with no footer. The packets go to an MsnSession, which
// carves file data by P2P session id.

import type { Dir } from '../../sensor/types';
import type { SessionContext, StreamDecoder } from '../types';
import { ByteQueue } from '../text';

export const DC_FOO = Buffer.from([4, 0, 0, 0, 0x66, 0x6f, 0x6f, 0]);
const P2P_HEADER = 48;
/** the v2 handshake: the nonce alone (MSNPSharp tells the versions apart by this length) */
const V2_NONCE = 16;
/** libpurple sends at most 1352 bytes of data per packet; other clients more: 64 KiB bounds a packet */
const MAX_PACKET = 65536 + P2P_HEADER;
const FL_HANDSHAKE = 0x100;

/**
 * The start of the connecting side: "foo\0", then a v1 handshake (a 48-byte packet whose flags are
 * 0x100) or a v2 one (a 16-byte packet). true, false, or 'more' while the bytes that decide have not
 * all arrived (44 for v1, 12 for v2).
 */
export function dcStart(d: Buffer): boolean | 'more' {
  const n = Math.min(d.length, DC_FOO.length);
  if (!d.subarray(0, n).equals(DC_FOO.subarray(0, n))) return false;
  if (d.length < 12) return 'more';
  return d.readUInt32LE(8) === V2_NONCE || v1HandshakeAt(d, 8);
}

/** The v1 handshake packet (length 48, flags 0x100) at `at`: true, false, or 'more' */
function v1HandshakeAt(d: Buffer, at: number): boolean | 'more' {
  if (d.length >= at + 4 && d.readUInt32LE(at) !== P2P_HEADER) return false;
  if (d.length < at + 4 + 32) return 'more';
  return d.readUInt32LE(at + 4 + 28) === FL_HANDSHAKE;
}

/**
 * An announced direct connection is one only if a direction opens as one: the connecting side with
 * "foo\0" and its handshake, or the listening side with a v1 handshake (a v2 one, 16 bytes of nonce,
 * says too little alone; the connecting side speaks first anyway).
 */
export function dcOpening(d: Buffer): boolean | 'more' {
  return d[0] === 4 ? dcStart(d) : v1HandshakeAt(d, 0);
}

export function msnDcDecoder(ctx: SessionContext, session: { dcPacket(dir: Dir, packet: Buffer, ts: number, version: 1 | 2): void }): StreamDecoder {
  ctx.setService('file');
  const held: [ByteQueue, ByteQueue] = [new ByteQueue(), new ByteQueue()];
  /** a direction whose framing was lost (a gap, a length past the bound): read no further */
  const lost = [false, false];
  /** per direction: 0 nothing read yet, 1 "foo" read, 2 past the handshake (or none came) */
  const stage = [0, 0];
  /** the P2P version the handshakes showed; 0 until one did (a connection picked up mid-stream) */
  let version: 0 | 1 | 2 = 0;

  const feed = (dir: Dir, data: Buffer, ts: number) => {
    if (lost[dir]) return;
    const q = held[dir];
    const b = q.feed(data);
    let pos = 0;
    while (b.length - pos >= 4) {
      const len = b.readUInt32LE(pos);
      if (len > MAX_PACKET) {
        ctx.malformed('MSN direct-connection packet longer than 64 KiB');
        lost[dir] = true;
        q.clear();
        return;
      }
      if (b.length - pos - 4 < len) break;
      const packet = b.subarray(pos + 4, pos + 4 + len);
      pos += 4 + len;
      if (stage[dir] === 0) {
        stage[dir] = 1;
        if (len === 4 && packet.toString('latin1') === 'foo\0') continue;
      }
      if (stage[dir] === 1) {
        // a direction's first packet after "foo" is its handshake: a v2 ACK is 16 bytes too, later
        stage[dir] = 2;
        if (len === V2_NONCE && version !== 1) {
          version = 2;
          continue;
        }
        if (len === P2P_HEADER && packet.readUInt32LE(28) === FL_HANDSHAKE && version !== 2) {
          version = 1;
          continue;
        }
      }
      // no handshake seen: a v1 packet's length field accounts for the packet exactly
      const v = version || (len >= P2P_HEADER && packet.readUInt32LE(24) === len - P2P_HEADER ? 1 : 2);
      if (v === 1 && len < P2P_HEADER) {
        ctx.malformed('MSN direct-connection packet shorter than the P2P header');
        continue;
      }
      session.dcPacket(dir, packet, ts, v);
    }
    q.keepFrom(b, pos);
  };

  return {
    onData: feed,
    onGap(dir) {
      // the length framing is lost with the bytes: a transfer in flight ends incomplete at the end
      lost[dir] = true;
      held[dir].clear();
    },
    onEnd() {
      for (const dir of [0, 1] as Dir[]) if (!lost[dir] && held[dir].length) ctx.malformed('stream ended inside an MSN direct-connection packet');
    },
  };
}

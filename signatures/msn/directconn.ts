// MSN's direct connection (MSNP2P v1 over its own TCP connection, the `TCPv1` bridge a transport
// INVITE announces), as libpurple writes and reads it (msn/directconn.c): every packet is a u32
// little-endian length and that many bytes. The connecting side opens with the 4-byte packet "foo\0";
// then each side sends a 48-byte handshake (the P2P header with flags 0x100, the nonce in its ack
// fields); after that each packet is a P2P header and its data, as inside a switchboard MSG, with no
// footer. The packets go to an MsnSession, which carves file data by P2P session id.

import type { Dir } from '../../sensor/types';
import type { SessionContext, StreamDecoder } from '../types';
import { ByteQueue } from '../text';

export const DC_FOO = Buffer.from([4, 0, 0, 0, 0x66, 0x6f, 0x6f, 0]);
const P2P_HEADER = 48;
/** libpurple sends at most 1352 bytes of data per packet; other clients more: 64 KiB bounds a packet */
const MAX_PACKET = 65536 + P2P_HEADER;
const FL_HANDSHAKE = 0x100;

/**
 * The start of a direction of a direct connection: "foo\0", then a 48-byte packet whose flags are the
 * handshake's. true, false, or 'more' while the 44 bytes up to those flags have not all arrived.
 */
export function dcStart(d: Buffer): boolean | 'more' {
  const n = Math.min(d.length, DC_FOO.length);
  if (!d.subarray(0, n).equals(DC_FOO.subarray(0, n))) return false;
  return d.length < 8 ? 'more' : handshakeAt(d, 8);
}

/** The handshake packet (length 48, flags 0x100) at `at`: true, false, or 'more' */
function handshakeAt(d: Buffer, at: number): boolean | 'more' {
  if (d.length >= at + 4 && d.readUInt32LE(at) !== P2P_HEADER) return false;
  if (d.length < at + 4 + 32) return 'more';
  return d.readUInt32LE(at + 4 + 28) === FL_HANDSHAKE;
}

/**
 * An announced direct connection is one only if a direction opens as one: the connecting side with
 * "foo\0" and the handshake, the listening side with its handshake (libpurple msn_dc_process_packet).
 */
export function dcOpening(d: Buffer): boolean | 'more' {
  if (d.length === 0) return 'more';
  return d[0] === 4 ? dcStart(d) : handshakeAt(d, 0);
}

export function msnDcDecoder(ctx: SessionContext, session: { dcPacket(dir: Dir, packet: Buffer, ts: number): void }): StreamDecoder {
  ctx.setService('file');
  const held: [ByteQueue, ByteQueue] = [new ByteQueue(), new ByteQueue()];
  /** a direction whose framing was lost (a gap, a length past the bound): read no further */
  const lost = [false, false];
  const started = [false, false];

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
      if (!started[dir]) {
        started[dir] = true;
        if (len === 4 && packet.toString('latin1') === 'foo\0') continue;
      }
      if (len === P2P_HEADER && packet.readUInt32LE(28) === FL_HANDSHAKE) continue; // the nonce handshake
      if (len < P2P_HEADER) {
        ctx.malformed('MSN direct-connection packet shorter than the P2P header');
        continue;
      }
      session.dcPacket(dir, packet, ts);
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

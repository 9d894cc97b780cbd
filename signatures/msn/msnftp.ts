// MSNFTP, the legacy MSN file-transfer side connection: `VER MSNFTP`, `USR user cookie`, `FIL size`,
// `TFR`, then the sender's data in blocks of [0, len lo, len hi] + len bytes (first byte 1 = cancel),
// `BYE` at the end. Either side may be the TCP client (Sender-Connect), so roles come from the lines.

import type { Dir } from '../../sensor/types';
import { UNKNOWN_ID, type FileMeta, type FileWriter, type SessionContext, type StreamDecoder } from '../types';
import { ByteQueue } from '../text';

const MAX_LINE = 4096;

/**
 * An announced MSNFTP connection is one only if a direction opens with `VER [trid] MSNFTP` (whichever
 * side connects sends it first): true, false, or 'more' while its first line has not arrived.
 */
export function msnftpOpening(d: Buffer): boolean | 'more' {
  const head = d.toString('latin1', 0, Math.min(d.length, 40));
  if (!head.startsWith('VER '.slice(0, head.length))) return false;
  const nl = head.indexOf('\n');
  if (nl < 0) return head.length < 40 ? 'more' : false;
  return /^VER (\d{1,10} )?MSNFTP\r?$/.test(head.slice(0, nl));
}

/**
 * The verifier of one announced MSNFTP connection: it opens as MSNFTP, and the `USR user cookie` line
 * of the side that connected names the ACCEPT's AuthCookie — two transfers offered on one port (6891,
 * the clients' usual) are told apart. A second line that is the listener's FIL (its USR was lost)
 * decides by the opening alone, any other is no MSNFTP of this invitation; without an AuthCookie the
 * opening is all there is.
 */
export function msnftpOpeningFor(authCookie: string | undefined): (d: Buffer) => boolean | 'more' {
  if (!authCookie) return msnftpOpening;
  return (d) => {
    const v = msnftpOpening(d);
    if (v !== true) return v;
    const head = d.toString('latin1', 0, Math.min(d.length, 700));
    const first = head.indexOf('\n');
    const second = head.indexOf('\n', first + 1);
    if (second < 0) return head.length < 700 ? 'more' : false;
    const line = head.slice(first + 1, second);
    // the listener's reply to a USR line the capture lost: the opening alone
    if (line.startsWith('FIL ')) return true;
    const m = /^USR \S+ (\S{1,64})\r?$/.exec(line);
    return !!m && m[1] === authCookie;
  };
}

export function msnftpDecoder(ctx: SessionContext, meta?: FileMeta): StreamDecoder {
  ctx.setService('file');
  /** a line whose LF has not arrived, per direction (at most MAX_LINE bytes) */
  const lineBuf: [ByteQueue, ByteQueue] = [new ByteQueue(), new ByteQueue()];
  /** direction that announced FIL (the sender) */
  let senderDir: Dir | -1 = -1;
  let declared: number | undefined = meta?.size;
  let user = '';
  let writer: FileWriter | undefined;
  let dataMode = false;
  let written = 0;
  // block reassembly in the sender's direction: the 3-byte block header so far
  const hdr = new ByteQueue();
  let blockLeft = 0;
  let done = false;

  const startData = (ts: number) => {
    if (dataMode || senderDir < 0) return;
    dataMode = true;
    const m: FileMeta = meta ?? { filename: 'unknown (MSNFTP)', from: UNKNOWN_ID, to: user || UNKNOWN_ID };
    writer = ctx.openFile(ts, senderDir as Dir, { ...m, ...(declared !== undefined ? { size: declared } : {}) });
    // bytes that arrived after FIL but before we knew they were data
    const rest = lineBuf[senderDir as Dir];
    if (rest.length) blocks(rest.view(), ts);
    rest.clear();
  };

  const finish = (ts: number, complete?: boolean) => {
    if (done) return;
    done = true;
    writer?.end(ts, complete);
  };

  const blocks = (data: Buffer, ts: number) => {
    let pos = 0;
    while (pos < data.length && !done) {
      if (blockLeft === 0) {
        const take = Math.min(3 - hdr.length, data.length - pos);
        hdr.push(data.subarray(pos, pos + take));
        pos += take;
        if (hdr.length < 3) return;
        const h = hdr.view();
        const flag = h[0];
        blockLeft = h[1] | (h[2] << 8);
        hdr.clear();
        if (flag !== 0) {
          finish(ts, false); // the sender cancelled
          return;
        }
        continue;
      }
      const n = Math.min(blockLeft, data.length - pos);
      writer!.write(data.subarray(pos, pos + n), ts);
      written += n;
      blockLeft -= n;
      pos += n;
      if (declared !== undefined && written >= declared && blockLeft === 0) finish(ts, true);
    }
  };

  const line = (dir: Dir, text: string, ts: number) => {
    const [cmd, ...args] = text.split(' ');
    if (cmd === 'USR' && args[0]) {
      user = args[0].slice(0, 256);
      ctx.addUser(user);
    } else if (cmd === 'FIL' && /^\d{1,15}$/.test(args[0] ?? '')) {
      senderDir = dir;
      if (declared === undefined) declared = Number(args[0]);
    } else if (cmd === 'TFR' && senderDir >= 0 && dir !== senderDir) {
      startData(ts);
    } else if (cmd === 'BYE' || cmd === 'CCL') {
      if (dataMode) finish(ts, cmd === 'BYE' && (declared === undefined || written >= declared));
    } else if (cmd !== 'VER') {
      ctx.malformed('unexpected MSNFTP line');
    }
  };

  return {
    onData(dir, data, ts) {
      if (dataMode && dir === senderDir) {
        blocks(data, ts);
        return;
      }
      const q = lineBuf[dir];
      const b = q.feed(data);
      let pos = 0;
      for (;;) {
        const nl = b.indexOf(0x0a, pos);
        if (nl < 0) break;
        const text = b.toString('latin1', pos, nl).replace(/\r$/, '');
        pos = nl + 1;
        if (text) line(dir, text, ts);
        if (dataMode && dir === senderDir) {
          blocks(b.subarray(pos), ts);
          pos = b.length;
          break;
        }
      }
      if (b.length - pos > MAX_LINE) {
        ctx.malformed('MSNFTP line too long');
        pos = b.length;
      }
      q.keepFrom(b, pos);
    },
    onGap(dir, length, ts) {
      if (dataMode && dir === senderDir && writer && !done) {
        // the block framing is lost with the bytes: count them and stop trusting the stream
        writer.gap(length);
        finish(ts, false);
      }
    },
    onEnd(ts) {
      if (dataMode) finish(ts);
    },
  };
}

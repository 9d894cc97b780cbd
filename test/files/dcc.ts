// Generated IRC captures carrying DCC SEND transfers (alice 10.1.1.10 → bob 10.9.9.9), for the file tests.
import fs from 'node:fs';
import path from 'node:path';
import { Capture } from '../helpers/pcapgen';

export interface Transfer {
  /** the name as sent on the wire (may be hostile) */
  name: string;
  data: Buffer;
  /** declared size in the offer (default data.length) */
  declared?: number | string;
  /** false: the DCC connection never closes (capture ends mid-transfer) */
  close?: boolean;
  /** DCC sender is outside: the offer comes from bob (198.51.100.20) to alice */
  inbound?: boolean;
}

const REG = 'NICK alice\r\nUSER alice 0 * :Alice A\r\n';
const WELCOME = ':irc.example.net 001 alice :Welcome to the network alice\r\n';

function ipInt(ip: string): number {
  return ip.split('.').reduce((a, b) => a * 256 + Number(b), 0);
}

export function dccCapture(file: string, transfers: Transfer[], opts: { chunk?: number } = {}): string {
  const c = new Capture();
  const irc = c.tcp('10.1.1.10:40000', '198.51.100.7:6667');
  irc.open();
  irc.send('c', REG);
  irc.send('s', WELCOME);
  let port = 5000;
  const open: Array<() => void> = [];
  for (const t of transfers) {
    port++;
    const declared = t.declared ?? t.data.length;
    const quoted = /[\s"]/.test(t.name) ? `"${t.name.replace(/"/g, '')}"` : t.name;
    if (t.inbound) {
      irc.send('s', Buffer.from(`:bob!b@h PRIVMSG alice :\x01DCC SEND ${quoted} ${ipInt('198.51.100.20')} ${port} ${declared}\x01\r\n`, 'utf8'));
      const d = c.tcp(`10.1.1.10:${40000 + port}`, `198.51.100.20:${port}`);
      d.open();
      sendFile(d, t.data, opts.chunk);
      if (t.close !== false) d.close();
    } else {
      irc.send('c', Buffer.from(`PRIVMSG bob :\x01DCC SEND ${quoted} ${ipInt('10.1.1.10')} ${port} ${declared}\x01\r\n`, 'utf8'));
      const d = c.tcp(`10.9.9.9:${50000 + (port % 10000)}`, `10.1.1.10:${port}`);
      d.open();
      sendFile(d, t.data, opts.chunk);
      if (t.close !== false) d.close();
    }
  }
  for (const f of open) f();
  irc.close();
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, c.pcap());
  return file;
}

/** A DCC SEND connection's bytes: `data` from the sender ('s') in `chunk`s, each acknowledged by the receiver's 4-byte count. */
export function sendFile(d: ReturnType<Capture['tcp']>, data: Buffer, chunk = 16384): void {
  for (let o = 0; o < data.length; o += chunk) {
    d.send('s', data.subarray(o, o + chunk));
    const ack = Buffer.alloc(4);
    ack.writeUInt32BE(Math.min(o + chunk, data.length) >>> 0);
    d.send('c', ack);
  }
}

export const EICAR = Buffer.from('X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*', 'latin1');

/** A minimal zip (stored members), with optional general-purpose flags per member. */
export function makeZip(entries: Array<{ name: string; data: Buffer; flags?: number; deflate?: boolean }>): Buffer {
  const zlib = require('node:zlib') as typeof import('node:zlib');
  const locals: Buffer[] = [];
  const central: Buffer[] = [];
  let off = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const crc = zlib.crc32 ? zlib.crc32(e.data) : 0;
    const body = e.deflate ? zlib.deflateRawSync(e.data) : e.data;
    const method = e.deflate ? 8 : 0;
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0);
    lh.writeUInt16LE(20, 4);
    lh.writeUInt16LE(e.flags ?? 0, 6);
    lh.writeUInt16LE(method, 8);
    lh.writeUInt32LE(crc >>> 0, 14);
    lh.writeUInt32LE(body.length, 18);
    lh.writeUInt32LE(e.data.length, 22);
    lh.writeUInt16LE(name.length, 26);
    locals.push(lh, name, body);
    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(0x02014b50, 0);
    ch.writeUInt16LE(20, 4);
    ch.writeUInt16LE(20, 6);
    ch.writeUInt16LE(e.flags ?? 0, 8);
    ch.writeUInt16LE(method, 10);
    ch.writeUInt32LE(crc >>> 0, 16);
    ch.writeUInt32LE(body.length, 20);
    ch.writeUInt32LE(e.data.length, 24);
    ch.writeUInt16LE(name.length, 28);
    ch.writeUInt32LE(off, 42);
    central.push(ch, name);
    off += 30 + name.length + body.length;
  }
  const cd = Buffer.concat(central);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(entries.length, 8);
  eocd.writeUInt16LE(entries.length, 10);
  eocd.writeUInt32LE(cd.length, 12);
  eocd.writeUInt32LE(off, 16);
  return Buffer.concat([...locals, cd, eocd]);
}

/** A Windows PE-looking file: MZ header with e_lfanew → "PE\0\0". */
export function fakePe(size = 4096): Buffer {
  const b = Buffer.alloc(size, 0);
  b.write('MZ', 0, 'latin1');
  b.writeUInt32LE(0x80, 0x3c);
  b.write('PE\0\0', 0x80, 'latin1');
  return b;
}

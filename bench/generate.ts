// Writes a large, realistic mixed capture for the benchmark: thousands of interleaved concurrent
// flows — DNS, HTTP, TLS to ordinary sites and to IM services (SNI), QUIC-like UDP, cleartext IRC and
// XMPP chat, SSH-like bulk transfers and SYN-scan probes — as classic µs pcap, streamed to disk.
// Deterministic (seeded). IPv4 header checksums are right; TCP/UDP checksums are left 0 (no tool
// in the benchmark verifies them, and UDP checksum 0 means "none").
//
//   node bin/run-ts.js bench/generate.ts OUT.pcap [PACKETS]
//   node bin/run-ts.js bench/generate.ts /dev/stdout 9000000 | shadowim analyze -   (no file on disk)

import fs from 'node:fs';
import { rng } from '../common/rng';

export interface GenResult {
  packets: number;
  flows: number;
  bytes: number;
  /** flows per kind */
  kinds: Record<string, number>;
}

const MSS = 1460;
const FIN = 1, SYN = 2, RST = 4, PSH = 8, ACK = 16;

function clientHello(sni: string, r: () => number): Buffer {
  const host = Buffer.from(sni);
  const sniExt = Buffer.alloc(9 + host.length);
  sniExt.writeUInt16BE(0, 0);
  sniExt.writeUInt16BE(5 + host.length, 2);
  sniExt.writeUInt16BE(3 + host.length, 4);
  sniExt[6] = 0;
  sniExt.writeUInt16BE(host.length, 7);
  host.copy(sniExt, 9);
  const alpn = Buffer.from([0x00, 0x10, 0x00, 0x0e, 0x00, 0x0c, 0x02, 0x68, 0x32, 0x08, ...Buffer.from('http/1.1')]);
  const versions = Buffer.from([0x00, 0x2b, 0x00, 0x03, 0x02, 0x03, 0x04]);
  const exts = Buffer.concat([sniExt, alpn, versions]);
  const random = Buffer.alloc(32);
  for (let i = 0; i < 32; i++) random[i] = Math.floor(r() * 256);
  const suites = Buffer.from([0x00, 0x06, 0x13, 0x01, 0x13, 0x02, 0xc0, 0x2f]);
  const body = Buffer.concat([Buffer.from([3, 3]), random, Buffer.from([0]), suites, Buffer.from([1, 0]), u16(exts.length), exts]);
  const hs = Buffer.concat([Buffer.from([1, 0, body.length >> 8, body.length & 255]), body]);
  return Buffer.concat([Buffer.from([0x16, 3, 1]), u16(hs.length), hs]);
}

function u16(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v);
  return b;
}

function tlsRecord(type: number, len: number, r: () => number): Buffer {
  const b = Buffer.alloc(5 + len);
  b[0] = type;
  b[1] = 3;
  b[2] = 3;
  b.writeUInt16BE(len, 3);
  for (let i = 5; i < b.length; i += 64) b[i] = Math.floor(r() * 256);
  return b;
}

type Step = [dir: 0 | 1, payload: Buffer];
interface Kind {
  name: string;
  weight: number;
  proto: 6 | 17;
  port: () => number;
  script: () => Step[];
  /** a SYN answered by RST: scan probe */
  scan?: boolean;
}

class Writer {
  private buf = Buffer.alloc(8 << 20);
  private o = 0;
  bytes = 0;
  constructor(private readonly fd: number) {
    const h = Buffer.alloc(24);
    h.writeUInt32LE(0xa1b2c3d4, 0);
    h.writeUInt16LE(2, 4);
    h.writeUInt16LE(4, 6);
    h.writeUInt32LE(262144, 16);
    h.writeUInt32LE(1, 20);
    fs.writeSync(fd, h);
  }
  packet(ts: number, src: number, dst: number, proto: number, sport: number, dport: number, seq: number, ack: number, flags: number, pay: Buffer, po: number, pl: number): void {
    const l4 = proto === 6 ? 20 : 8;
    const frame = 14 + 20 + l4 + pl;
    if (this.o + 16 + frame > this.buf.length) this.flush();
    const b = this.buf;
    let o = this.o;
    b.writeUInt32LE(Math.floor(ts / 1e6), o);
    b.writeUInt32LE(ts % 1e6, o + 4);
    b.writeUInt32LE(frame, o + 8);
    b.writeUInt32LE(frame, o + 12);
    o += 16;
    // Ethernet
    b.writeUInt32BE(0x02000000, o); b.writeUInt16BE(0x0002, o + 4);
    b.writeUInt32BE(0x02000000, o + 6); b.writeUInt16BE(0x0001, o + 10);
    b.writeUInt16BE(0x0800, o + 12);
    o += 14;
    // IPv4
    const ip = o;
    b[o] = 0x45; b[o + 1] = 0;
    b.writeUInt16BE(20 + l4 + pl, o + 2);
    b.writeUInt16BE(seq & 0xffff, o + 4);
    b.writeUInt16BE(0x4000, o + 6);
    b[o + 8] = 64; b[o + 9] = proto;
    b.writeUInt16BE(0, o + 10);
    b.writeUInt32BE(src >>> 0, o + 12);
    b.writeUInt32BE(dst >>> 0, o + 16);
    let sum = 0;
    for (let i = 0; i < 20; i += 2) sum += (b[ip + i] << 8) | b[ip + i + 1];
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    b.writeUInt16BE(~sum & 0xffff, ip + 10);
    o += 20;
    b.writeUInt16BE(sport, o);
    b.writeUInt16BE(dport, o + 2);
    if (proto === 6) {
      b.writeUInt32BE(seq >>> 0, o + 4);
      b.writeUInt32BE(ack >>> 0, o + 8);
      b[o + 12] = 0x50; b[o + 13] = flags;
      b.writeUInt16BE(64240, o + 14);
      b.writeUInt32BE(0, o + 16);
    } else {
      b.writeUInt16BE(8 + pl, o + 4);
      b.writeUInt16BE(0, o + 6);
    }
    o += l4;
    pay.copy(b, o, po, po + pl);
    this.o = o + pl;
    this.bytes += 16 + frame;
  }
  flush(): void {
    if (this.o) fs.writeSync(this.fd, this.buf, 0, this.o);
    this.o = 0;
  }
}

interface Flow {
  kind: Kind;
  c: number; s: number; cp: number; sp: number;
  seq: [number, number];
  ops: number[]; // encoded steps: see below
  steps: Step[];
  i: number;
  // position inside the current step's payload
  off: number;
  phase: number;
}

export function generate(file: string, packets: number, seed = 42): GenResult {
  const r = rng(seed);
  const pick = <T>(a: T[]): T => a[Math.floor(r() * a.length)];
  const sites = ['www.example.com', 'cdn.jsdelivr.net', 'fonts.gstatic.com', 'www.wikipedia.org', 'api.github.com', 'news.ycombinator.com',
    'update.microsoft.com', 'www.bbc.co.uk', 'static.cloudflareinsights.com', 'ocsp.digicert.com'];
  const imSites = ['web.whatsapp.com', 'discord.com', 'gateway.discord.gg', 'web.telegram.org', 'teams.microsoft.com', 'app.slack.com', 'signal.org'];
  const helloWeb = sites.map((s) => clientHello(s, r));
  const helloIm = imSites.map((s) => clientHello(s, r));
  const serverHello = tlsRecord(0x16, 2800, r);
  const appData = [tlsRecord(0x17, 600, r), tlsRecord(0x17, 1400, r), tlsRecord(0x17, 4000, r), tlsRecord(0x17, 120, r)];
  const bulk = tlsRecord(0x17, 16000, r);
  const httpReq = Buffer.from('GET /index.html HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: Mozilla/5.0\r\nAccept: */*\r\n\r\n');
  const httpResp = (n: number) => Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: ${n}\r\n\r\n`), Buffer.alloc(n, 0x61)]);
  const httpResps = [httpResp(300), httpResp(2500), httpResp(9000)];
  const dnsQ = Buffer.from('12340100000100000000000003777777076578616d706c6503636f6d0000010001', 'hex');
  const dnsR = Buffer.from('12348180000100010000000003777777076578616d706c6503636f6d0000010001c00c000100010000012c00045db8d822', 'hex');
  const quic = [Buffer.alloc(1200, 0xc3), Buffer.alloc(1200, 0x41), Buffer.alloc(300, 0x52)];
  quic[0][0] = 0xc3; quic[0].writeUInt32BE(1, 1);
  const ircLines = (n: number): Step[] => [
    [0, Buffer.from(`NICK user${n}\r\nUSER user${n} 0 * :Bench User\r\n`)],
    [1, Buffer.from(`:irc.example.net 001 user${n} :Welcome to the Example IRC Network user${n}\r\n`)],
    [0, Buffer.from('JOIN #bench\r\n')],
    [0, Buffer.from('PRIVMSG #bench :the quarterly numbers are in the usual place\r\n')],
    [1, Buffer.from(`:friend!f@host PRIVMSG #bench :thanks user${n}\r\n`)],
    [0, Buffer.from('QUIT :bye\r\n')],
  ];
  const xmpp = (n: number): Step[] => [
    [0, Buffer.from("<?xml version='1.0'?><stream:stream to='example.com' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>")],
    [1, Buffer.from("<?xml version='1.0'?><stream:stream from='example.com' id='s1' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'><stream:features/>")],
    [0, Buffer.from(`<message to='bob@example.com' from='user${n}@example.com/pc' type='chat'><body>lunch at noon?</body></message>`)],
    [1, Buffer.from(`<message to='user${n}@example.com/pc' from='bob@example.com' type='chat'><body>sure</body></message>`)],
  ];
  const eph = () => 32768 + Math.floor(r() * 28000);
  const kinds: Kind[] = [
    { name: 'dns', weight: 34, proto: 17, port: () => 53, script: () => [[0, dnsQ], [1, dnsR]] },
    { name: 'syn-scan', weight: 16, proto: 6, port: () => pick([22, 23, 25, 80, 443, 1863, 5050, 5190, 5222, 6667, 8080]), script: () => [], scan: true },
    { name: 'tls-web', weight: 22, proto: 6, port: () => 443, script: () => [[0, pick(helloWeb)], [1, serverHello], [0, appData[3]], [0, pick(appData)], [1, pick(appData)], [1, pick(appData)]] },
    { name: 'tls-im', weight: 3, proto: 6, port: () => 443, script: () => [[0, pick(helloIm)], [1, serverHello], [0, appData[3]], [1, pick(appData)], [0, appData[0]], [1, appData[1]]] },
    { name: 'http', weight: 12, proto: 6, port: () => 80, script: () => [[0, httpReq], [1, pick(httpResps)]] },
    { name: 'quic', weight: 8, proto: 17, port: () => 443, script: () => [[0, quic[0]], [1, quic[1]], [1, quic[1]], [0, quic[2]], [1, quic[2]]] },
    { name: 'irc', weight: 1.5, proto: 6, port: () => 6667, script: () => ircLines(Math.floor(r() * 1e6)) },
    { name: 'xmpp', weight: 1.5, proto: 6, port: () => 5222, script: () => xmpp(Math.floor(r() * 1e6)) },
    { name: 'bulk', weight: 2, proto: 6, port: () => pick([22, 443, 8443]), script: () => {
      const n = 5 + Math.floor(r() * 20);
      const s: Step[] = [[0, appData[0]]];
      for (let i = 0; i < n; i++) s.push([1, bulk]);
      return s;
    } },
  ];
  const totalW = kinds.reduce((n, k) => n + k.weight, 0);
  const pickKind = () => {
    let x = r() * totalW;
    for (const k of kinds) if ((x -= k.weight) < 0) return k;
    return kinds[0];
  };
  const fd = fs.openSync(file, 'w');
  const w = new Writer(fd);
  const res: GenResult = { packets: 0, flows: 0, bytes: 0, kinds: {} };
  const newFlow = (): Flow => {
    const kind = pickKind();
    res.flows++;
    res.kinds[kind.name] = (res.kinds[kind.name] ?? 0) + 1;
    return {
      kind,
      c: (10 << 24) | (Math.floor(r() * 65536) << 8) | Math.floor(r() * 254 + 1),
      s: kind.name === 'dns' ? ((10 << 24) | 53) : ((Math.floor(r() * 200 + 20) << 24) | Math.floor(r() * 0xffffff)),
      cp: eph(), sp: kind.port(),
      seq: [Math.floor(r() * 4e9), Math.floor(r() * 4e9)],
      ops: [], steps: kind.script(), i: 0, off: 0, phase: 0,
    };
  };
  const CONCURRENT = 4000;
  const active: Flow[] = [];
  for (let i = 0; i < CONCURRENT; i++) active.push(newFlow());
  let ts = Date.UTC(2024, 4, 2, 8, 0, 0) * 1000;
  const emit = (f: Flow, dir: 0 | 1, flags: number, pay: Buffer, po: number, pl: number) => {
    const [src, dst, sp, dp] = dir === 0 ? [f.c, f.s, f.cp, f.sp] : [f.s, f.c, f.sp, f.cp];
    ts += 1 + Math.floor(r() * 400);
    w.packet(ts, src, dst, f.kind.proto, sp, dp, f.seq[dir], f.seq[dir ^ 1], flags, pay, po, pl);
    res.packets++;
  };
  const EMPTY = Buffer.alloc(0);
  while (res.packets < packets) {
    const idx = Math.floor(r() * active.length);
    const f = active[idx];
    let done = false;
    if (f.kind.proto === 17) {
      const [dir, pay] = f.steps[f.i++];
      emit(f, dir, 0, pay, 0, pay.length);
      done = f.i >= f.steps.length;
    } else if (f.kind.scan) {
      if (f.phase++ === 0) emit(f, 0, SYN, EMPTY, 0, 0);
      else {
        f.seq[1]++;
        emit(f, 1, RST | ACK, EMPTY, 0, 0);
        done = true;
      }
    } else if (f.phase === 0) {
      emit(f, 0, SYN, EMPTY, 0, 0);
      f.seq[0] = (f.seq[0] + 1) >>> 0;
      f.phase = 1;
    } else if (f.phase === 1) {
      emit(f, 1, SYN | ACK, EMPTY, 0, 0);
      f.seq[1] = (f.seq[1] + 1) >>> 0;
      f.phase = 2;
    } else if (f.phase === 2) {
      emit(f, 0, ACK, EMPTY, 0, 0);
      f.phase = 3;
    } else if (f.phase === 3) {
      const [dir, pay] = f.steps[f.i];
      const n = Math.min(MSS, pay.length - f.off);
      emit(f, dir, ACK | PSH, pay, f.off, n);
      f.seq[dir] = (f.seq[dir] + n) >>> 0;
      f.off += n;
      if (f.off >= pay.length) {
        f.off = 0;
        f.i++;
        if (f.i >= f.steps.length) f.phase = 4;
      }
    } else if (f.phase === 4) {
      emit(f, 0, FIN | ACK, EMPTY, 0, 0);
      f.seq[0] = (f.seq[0] + 1) >>> 0;
      f.phase = 5;
    } else if (f.phase === 5) {
      emit(f, 1, FIN | ACK, EMPTY, 0, 0);
      f.seq[1] = (f.seq[1] + 1) >>> 0;
      f.phase = 6;
    } else {
      emit(f, 0, ACK, EMPTY, 0, 0);
      done = true;
    }
    if (done) active[idx] = newFlow();
  }
  w.flush();
  fs.closeSync(fd);
  res.bytes = w.bytes + 24;
  return res;
}

if (process.argv[1] && require("node:path").resolve(process.argv[1]) === __filename) {
  const out = process.argv[2];
  if (!out) {
    console.error('usage: node bin/run-ts.js bench/generate.ts OUT.pcap [PACKETS]');
    process.exit(2);
  }
  const t = Date.now();
  const r = generate(out, Number(process.argv[3] ?? 1_500_000));
  // on stderr: OUT may be /dev/stdout, piped into `shadowim analyze -`
  console.error(JSON.stringify(r), `${((Date.now() - t) / 1000).toFixed(1)} s`);
}

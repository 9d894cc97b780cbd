// Seeded round-trip property fuzz of file carving: random files sent over each IM file-transfer path
// (IRC DCC SEND, AIM/ICQ OFT2, MSN MSNFTP and MSNSLP P2P, Yahoo Y7 relay upload and download) in
// generated captures, with random TCP segmentation, reordering, retransmitted and overlapping
// segments, the receiver's acks interleaved, transfers cut short (RST/FIN/capture end) or with a lost
// segment. Read in process (reader → packet path → engine → file service with a quarantine), as
// `analyze --out` would. Invariants (docs/files.md):
//  - a whole transfer: one data event, complete, observed_size = size, sha256/md5 of the file, the
//    quarantined bytes equal the file, file_type from its magic bytes;
//  - cut short: complete false, observed_size = the file bytes sent, hashes of that prefix;
//  - a lost segment: never complete, never the file's hashes;
//  - over the spool bound: truncated_at, unscanned:too-large, not quarantined, hashes of the whole file;
//  - names sanitized as documented; no decoder exception.
// SHADOWIM_FUZZ_SEED / SHADOWIM_FUZZ_SCALE as the other fuzz tests (test/helpers/fuzz.ts).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FileTransferEvent, ShadowEvent } from '../../common/events';
import { FileService, defaultFilesConfig, quarantinePath } from '../../analyzer/files';
import { defaultPolicy } from '../../analyzer/policy';
import { CaptureReader } from '../../sensor/captureFile';
import { PacketPath } from '../../sensor/packetPath';
import { Engine } from '../../signatures/engine';
import { loadRegistry } from '../../signatures/registry';
import { fuzzCases, fuzzSeed, xorshift32 } from '../helpers/fuzz';
import { playMessy, type Mess, type Side, type Write } from '../helpers/messyTcp';
import { Capture } from '../helpers/pcapgen';
import { invite, msnftpBlocks, p2p, slpInvite } from '../signatures/msn-wire';
import { fakePe, makeZip } from './dcc';

const SPOOL_CAP = 256 * 1024;
const ME = 'alice@example.com', BUDDY = 'bob@example.net';
const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');
const md5 = (b: Buffer) => crypto.createHash('md5').update(b).digest('hex');

type PathId = 'dcc' | 'oft' | 'msnftp' | 'p2p' | 'yahoo-post' | 'yahoo-get';
const PATHS: PathId[] = ['dcc', 'oft', 'msnftp', 'p2p', 'yahoo-post', 'yahoo-get'];

/** One conversation being written: its writes and, for the side sending the file, where the file's bytes lie in its stream. */
class Conv {
  writes: Write[] = [];
  at = { c: 0, s: 0 };
  /** pieces of the file in the data side's stream: [stream start, length, atomic (counted only when its frame is whole), frame bytes after the piece] */
  pieces: Array<[number, number, boolean, number]> = [];
  constructor(readonly client: string, readonly server: string, readonly dataDir: Side) {}
  w(dir: Side, data: Buffer | string, barrier = true): this {
    const b = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    this.writes.push({ dir, data: b, barrier });
    this.at[dir] += b.length;
    return this;
  }
  /** file bytes (raw in the stream), or a framed PDU carrying `fileLen` of them after `lead` bytes */
  file(data: Buffer, o: { lead?: number; fileLen?: number; atomic?: boolean; tail?: number } = {}): this {
    this.pieces.push([this.at[this.dataDir] + (o.lead ?? 0), o.fileLen ?? data.length, !!o.atomic, o.tail ?? 0]);
    return this.w(this.dataDir, data, false);
  }
  /** file bytes a reader has once the data side's stream is cut at `x` */
  fileBytesBefore(x: number): number {
    let n = 0;
    // an atomic piece is read only with its whole frame: a P2P chunk's MSG ends with a 4-byte footer after the data
    for (const [start, len, atomic, tail] of this.pieces) n += atomic ? (x >= start + len + tail ? len : 0) : Math.max(0, Math.min(len, x - start));
    return n;
  }
  get fileStart(): number {
    return this.pieces[0]?.[0] ?? 0;
  }
  get fileEnd(): number {
    const p = this.pieces[this.pieces.length - 1];
    return p ? p[0] + p[1] : 0;
  }
  /** cut the data side's stream at `x`: nothing is written after it (by either side) */
  cutAt(x: number): void {
    let off = 0;
    for (let i = 0; i < this.writes.length; i++) {
      const w = this.writes[i];
      if (w.dir !== this.dataDir) continue;
      if (off + w.data.length >= x) {
        w.data = w.data.subarray(0, x - off);
        this.writes.length = i + 1;
        return;
      }
      off += w.data.length;
    }
  }
}

interface Case {
  k: number;
  path: PathId;
  file: Buffer;
  kind: string;
  wireName: string;
  /** the name shows as written (no sanitizing needed) */
  plainName: boolean;
  outcome: 'whole' | 'cut' | 'gap';
  expectObserved?: number;
  mess: Mess;
}

function ipInt(ip: string): number {
  return ip.split('.').reduce((a, b) => a * 256 + Number(b), 0);
}

function makeCase(rnd: () => number, k: number, pathId: PathId, scale: number): { c: Case; convs: Conv[]; data: Conv } {
  const below = (n: number) => rnd() % n;
  const pick = <T>(a: readonly T[]): T => a[below(a.length)];
  // sizes: empty, tiny, around segment/chunk/block/head/spool boundaries, up to a few MB
  const edges = [0, 1, 2, 1202, 1203, 1459, 1460, 1461, 2045, 2046, 4096, 16383, 16384, 16385, 33 * 1024 - 1, 33 * 1024, 33 * 1024 + 1, 65535, 65536, 65537, SPOOL_CAP - 1, SPOOL_CAP, SPOOL_CAP + 1];
  const r = below(10);
  let size = r < 5 ? pick(edges) : r < 8 ? below(200_000) : below(Math.round(3_000_000 * Math.min(scale, 3)));
  const kind = pick(['random', 'pdf', 'zip', 'pe', 'png'] as const);
  let file: Buffer;
  const rand = (n: number) => {
    const b = Buffer.alloc(n);
    let i = 0;
    for (; i + 4 <= n; i += 4) b.writeUInt32LE(rnd(), i);
    for (; i < n; i++) b[i] = rnd() & 255;
    return b;
  };
  if (kind === 'zip') {
    const z = makeZip([{ name: 'a.txt', data: rand(Math.min(size, 5000)) }, { name: 'dir/b.bin', data: rand(100) }]);
    file = Buffer.concat([z, rand(Math.max(0, size - z.length))]);
  } else if (kind === 'pe') file = Buffer.concat([fakePe(Math.max(256, Math.min(size, 4096))), rand(Math.max(0, size - 4096))]);
  else if (kind === 'pdf') file = Buffer.concat([Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n', 'latin1'), rand(Math.max(0, size - 15))]);
  else if (kind === 'png') file = Buffer.concat([Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'), rand(Math.max(0, size - 16))]);
  else file = rand(size);
  size = file.length;
  const ext = { random: '.bin', pdf: '.pdf', zip: '.zip', pe: '.exe', png: '.png' }[kind];
  const hostile = [
    `../../etc/${k}passwd`, `C:\\Windows\\System32\\evil${k}.dll`, `photo${k}\u202Egpj.exe`, `\uff0e\uff0e\uff0f${k}secret${ext}`,
    `Z\u00fcrich \u6771\u4eac ${k} \ud83d\ude00${ext}`, `zero\u200bwidth${k}${ext}`, `${'x'.repeat(260 + below(200))}${k}${ext}`,
    `${'\ud83d\ude00'.repeat(140)}${k}${ext}`, `a/b\\c:d\u2215e\u2044f${k}${ext}`, `   spaced ${k} name ${ext}`, `...`, `\u0007bell\u001b[31m${k}${ext}`,
  ];
  let plainName = below(2) === 0;
  let wireName = plainName ? `f${k}_${below(1e6)}${ext}` : pick(hostile);
  if (pathId === 'yahoo-post' || pathId === 'yahoo-get') {
    wireName = 'unknown (Yahoo file relay)'; // named by the session's offer; none here
    plainName = true;
  }
  const o = below(20);
  const outcome: Case['outcome'] = size === 0 || o < 12 ? 'whole' : o < 17 ? 'cut' : 'gap';
  const mess: Mess = {
    cut: size > 65536 ? pick(['random', 'mss', 'coalesce'] as const) : pick(['tiny', 'random', 'mss', 'coalesce'] as const),
    reorder: pick([0, 0.05, 0.3]),
    retransmit: pick([0, 0.05, 0.3]),
    end: outcome === 'whole' ? 'fin' : pick(['fin', 'rst-c', 'rst-s', 'none'] as const),
  };
  const port = 20000 + k;
  const convs: Conv[] = [];
  let data: Conv;
  if (pathId === 'dcc') {
    // alice offers on IRC; bob connects to her announced port and she streams the file; bob acks each chunk
    const irc = new Conv(`10.1.1.10:${40000 + (k % 20000)}`, '198.51.100.7:6667', 'c');
    const name = wireName.replace(/[\r\n\x01\0"]/g, '');
    const quoted = /[\s]/.test(name) ? `"${name}"` : name;
    irc.w('c', 'NICK alice\r\nUSER alice 0 * :Alice A\r\n').w('s', ':irc.example.net 001 alice :Welcome to the network alice\r\n');
    irc.w('c', `PRIVMSG bob :\x01DCC SEND ${quoted} ${ipInt('10.1.1.10')} ${port} ${size}\x01\r\n`);
    convs.push(irc);
    data = new Conv(`10.9.9.9:${50000 + (k % 10000)}`, `10.1.1.10:${port}`, 's');
    const chunk = pick([512, 1024, 4096, 16384, 1 + below(40000)]);
    for (let o = 0; o < size; o += chunk) {
      data.file(file.subarray(o, o + chunk));
      const ack = Buffer.alloc(4);
      ack.writeUInt32BE(Math.min(o + chunk, size));
      data.w('c', ack, false);
    }
  } else if (pathId === 'oft') {
    // the receiver connects; the sender prompts (0x0101, name in UTF-16BE), the receiver acks (0x0202), bytes follow, done (0x0204)
    data = new Conv(`203.0.113.77:${41000 + (k % 20000)}`, `10.20.0.5:${port}`, 's');
    const cookie = Buffer.alloc(8);
    cookie.writeUInt32BE(rnd());
    cookie.writeUInt32BE((rnd() | 1) >>> 0, 4);
    const hdr = (type: number) => {
      const n = Buffer.from(wireName, 'utf16le').swap16();
      const len = Math.min(0x2000, (0xc0 + n.length + 2 + 3) & ~3);
      const h = Buffer.alloc(Math.max(256, len));
      h.write('OFT2', 0, 'latin1');
      h.writeUInt16BE(h.length, 4);
      h.writeUInt16BE(type, 6);
      cookie.copy(h, 8);
      for (const [at, v] of [[0x14, 1], [0x16, 1], [0x18, 1], [0x1a, 1]]) h.writeUInt16BE(v, at);
      h.writeUInt32BE(size, 0x1c);
      h.writeUInt32BE(size, 0x20);
      h.write('Cool FileXfer', 0x44, 'latin1');
      h.writeUInt16BE(2, 0xbc);
      n.copy(h, 0xc0, 0, Math.min(n.length, h.length - 0xc2) & ~1);
      return h;
    };
    data.w('s', hdr(0x0101)).w('c', hdr(0x0202));
    for (let o = 0; o < size; ) {
      const n = 1 + below(65536);
      data.file(file.subarray(o, o + n));
      o += n;
    }
    data.w('c', hdr(0x0204));
  } else if (pathId === 'msnftp') {
    const sb = new Conv(`10.1.1.10:${40000 + (k % 20000)}`, '203.0.113.9:1863', 'c');
    const name = wireName.replace(/[\r\n\0]/g, '');
    sb.w('c', `ANS 1 ${ME} 849102291.520491113 11752013\r\n`).w('s', `IRO 1 1 1 ${BUDDY} Bob\r\nANS 1 OK\r\n`);
    sb.w('c', invite('2 N', { 'Application-Name': 'File Transfer', 'Application-GUID': '{5D3E02AB-6190-11d3-BBBB-00C04F795683}', 'Invitation-Command': 'INVITE', 'Invitation-Cookie': String(4000 + k), 'Application-File': name, 'Application-FileSize': String(size) }));
    sb.w('s', invite(`${BUDDY} Bob`, { 'Invitation-Command': 'ACCEPT', 'Invitation-Cookie': String(4000 + k), 'Launch-Application': 'FALSE', 'Request-Data': 'IP-Address:' }));
    sb.w('c', invite('3 N', { 'Invitation-Command': 'ACCEPT', 'Invitation-Cookie': String(4000 + k), 'IP-Address': '10.1.1.10', 'IP-Address-Internal': '10.1.1.10', 'Port': String(port), 'AuthCookie': '1618033', 'Launch-Application': 'FALSE', 'Request-Data': 'IP-Address:' }));
    convs.push(sb);
    // bob connects to alice's port; alice (the server) sends
    data = new Conv(`198.51.100.20:${51000 + (k % 10000)}`, `10.1.1.10:${port}`, 's');
    data.w('c', 'VER MSNFTP\r\n').w('s', 'VER MSNFTP\r\n').w('c', `USR ${BUDDY} 1618033\r\n`).w('s', `FIL ${size}\r\n`).w('c', 'TFR\r\n');
    const blocks = msnftpBlocks(file);
    for (let o = 0; o < blocks.length; o += 2048) data.file(blocks.subarray(o, o + 2048), { lead: 3, fileLen: Math.min(2045, size - (o / 2048) * 2045) });
    data.w('c', 'BYE 16777989\r\n');
  } else if (pathId === 'p2p') {
    // MSNSLP INVITE then the data chunks on the switchboard; bob acks each chunk
    data = new Conv(`10.1.1.10:${40000 + (k % 20000)}`, '203.0.113.9:1863', 'c');
    data.w('c', `USR 1 ${ME} 1835953129.20013021.2623242\r\n`).w('s', `USR 1 OK ${ME} Alice\r\n`);
    data.w('c', `CAL 2 ${BUDDY}\r\n`).w('s', `CAL 2 RINGING 1835953129\r\nJOI ${BUDDY} Bob 1616756780\r\n`);
    const session = 100 + k;
    const slp = slpInvite(ME, BUDDY, session, wireName.slice(0, 270), size);
    data.w('c', p2p('7 D', BUDDY, { session: 0, id: 1000, offset: 0, total: slp.length, flags: 0 }, slp));
    // an empty file is still one data message, with nothing in it (libpurple msn_slplink_send_msgpart)
    for (let o = 0, i = 0; o < size || i === 0; o += 1202, i++) {
      const chunk = file.subarray(o, o + 1202);
      const m = p2p(`${9 + i} D`, BUDDY, { session, id: 2000 + i, offset: o, total: size, flags: 0x01000030 }, chunk, 2);
      data.file(m, { lead: m.length - 4 - chunk.length, fileLen: chunk.length, atomic: true, tail: 4 });
      if (below(4) === 0) data.w('s', p2p(`${BUDDY} Bob`, ME, { session, id: 9000 + i, offset: 0, total: 0, flags: 2 }, Buffer.alloc(0)), false);
    }
  } else {
    const target = `/relay?token=t${k}x&sender=${encodeURIComponent(ME)}&recver=${encodeURIComponent(BUDDY)}`;
    if (pathId === 'yahoo-post') {
      data = new Conv(`10.1.1.10:${40000 + (k % 20000)}`, `98.136.112.33:80`, 'c');
      data.w('c', `POST ${target} HTTP/1.1\r\nHost: 98.136.112.33\r\nContent-Length: ${size}\r\n\r\n`);
      for (let o = 0; o < size; o += 30000) data.file(file.subarray(o, o + 30000));
      data.w('s', 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
    } else {
      data = new Conv(`10.1.1.10:${40000 + (k % 20000)}`, `98.136.112.34:80`, 's');
      data.w('c', `GET ${target} HTTP/1.1\r\nHost: 98.136.112.34\r\n\r\n`);
      data.w('s', `HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: ${size}\r\n\r\n`);
      for (let o = 0; o < size; o += 30000) data.file(file.subarray(o, o + 30000));
    }
  }
  if (!convs.includes(data)) convs.push(data);
  const c: Case = { k, path: pathId, file, kind, wireName, plainName, outcome, mess };
  if (outcome === 'cut') {
    // somewhere inside the file's part of the stream, leaving fewer bytes than the file
    const x = data.fileStart + below(Math.max(1, data.fileEnd - data.fileStart));
    data.cutAt(x);
    c.expectObserved = data.fileBytesBefore(x);
  } else if (outcome === 'gap') {
    // a lost segment among the file's bytes, followed by more (not the last segment: that would be a cut)
    const span = data.fileEnd - data.fileStart;
    if (span < 4000) c.outcome = 'whole';
    else mess.lose = { dir: data.dataDir, at: data.fileStart + 1500 + below(span - 3000) };
  }
  return { c, convs, data };
}

/** the documented sanitizing, as properties of the name shown */
function checkName(c: Case, shown: string, why: string): void {
  assert.ok(shown.length > 0 && shown.length <= 255, `${why}: name length ${shown.length}`);
  // eslint-disable-next-line no-control-regex
  assert.doesNotMatch(shown, /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/, `${why}: control or formatting character in ${JSON.stringify(shown)}`);
  assert.doesNotMatch(shown, /[/\\:\u2044\u2215\uff0f\uff3c]/, `${why}: path separator in ${JSON.stringify(shown)}`);
  assert.doesNotMatch(shown, /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/, `${why}: lone surrogate in ${JSON.stringify(shown)}`);
  assert.notEqual(shown, '..');
  if (c.plainName) assert.equal(shown, c.wireName, why);
  const ext = /\.[a-z]{3}$/.exec(c.wireName)?.[0];
  if (ext && c.path !== 'p2p' && c.wireName.length < 1000) assert.ok(shown.endsWith(ext), `${why}: extension kept in ${JSON.stringify(shown)}`);
}

async function runRound(seed: number, n: number, tmp: string): Promise<{ cases: number; whole: number; cut: number; gap: number; bytes: number }> {
  const rnd = xorshift32(seed);
  const cap = new Capture();
  cap.step = 100;
  const cases: Case[] = [];
  const scale = Number(process.env.SHADOWIM_FUZZ_SCALE ?? 1) || 1;
  for (let k = 0; k < n; k++) {
    const { c, convs } = makeCase(rnd, k, PATHS[k % PATHS.length], scale);
    cases.push(c);
    for (const cv of convs) playMessy(cap, cv.client, cv.server, cv.writes, cv === convs[convs.length - 1] ? c.mess : { cut: 'random', reorder: 0.2, retransmit: 0.1, end: 'fin' }, rnd);
  }
  const file = path.join(tmp, `round-${seed}.pcap`);
  fs.writeFileSync(file, cap.pcap());
  const qdir = path.join(tmp, `q-${seed}`);
  const events: ShadowEvent[] = [];
  const files = new FileService({
    policy: defaultPolicy(),
    config: { ...defaultFilesConfig(), spoolMaxFileBytes: SPOOL_CAP, quarantine: { dir: qdir, maxBytes: 1024 ** 3, maxFiles: 100_000, keep: 'all' } },
    emit: (e) => events.push(e),
  });
  const engine = new Engine(loadRegistry(), { emit: (e) => events.push(e), files });
  const pp = new PacketPath(engine, { maxFlows: 100_000 });
  await CaptureReader.open(file, pp).run();
  pp.finish();
  await files.drain();
  const replay = `SHADOWIM_FUZZ_SEED=${process.env.SHADOWIM_FUZZ_SEED ?? '(unset)'} round seed ${seed}`;
  assert.equal(engine.stats.decoderErrors, 0, `${replay}: decoder exceptions`);
  assert.equal(pp.internalErrors, 0, `${replay}: packet path exceptions`);
  const data = events.filter((e): e is FileTransferEvent => e.type === 'file_transfer' && e.stage === 'data');
  const stats = { cases: cases.length, whole: 0, cut: 0, gap: 0, bytes: 0 };
  for (const c of cases) {
    const why = `${replay} case ${c.k} (${c.path}, ${c.kind}, ${c.file.length} bytes, ${c.outcome}, ${JSON.stringify(c.mess)})`;
    stats[c.outcome]++;
    stats.bytes += c.file.length;
    // the data flow: the case's own port (DCC, OFT, MSNFTP listen on 20000+k; the switchboard and relay client use 40000+k)
    const mine = data.filter((e) => e.server?.port === 20000 + c.k || (e.client?.port === 40000 + (c.k % 20000) && (e.server?.port === 1863 || e.server?.port === 80)));
    const whole = sha(c.file);
    for (const e of mine) {
      if (e.complete) assert.equal(e.sha256, whole, `${why}: complete with another file's hash`);
      if (e.sha256 === whole && c.outcome !== 'whole' && c.file.length) assert.fail(`${why}: the whole file's hash from a transfer that was not whole`);
    }
    // an empty file over DCC is a connection without a payload byte either way (irssi's receiver closes at
    // once on size 0), and the sensor hands a TCP flow to the engine at its first payload byte: no data event
    if (c.path === 'dcc' && !c.file.length && !mine.length) continue;
    if (c.outcome === 'whole') {
      assert.equal(mine.length, 1, `${why}: one data event, got ${JSON.stringify(mine.map((e) => [e.filename, e.observed_size, e.complete]))}; all: ${JSON.stringify(data.map((e) => [e.protocol, e.transfer_id, e.client?.port, e.server?.port, e.observed_size]))}`);
    } else if (c.outcome === 'cut') {
      assert.ok(mine.length <= 1, `${why}: at most one data event`);
      // a cut before any file byte arrived may leave nothing to report
      if (!mine.length) {
        assert.equal(c.expectObserved, 0, `${why}: no data event for a transfer cut after ${c.expectObserved} bytes`);
        continue;
      }
    } else {
      assert.ok(mine.length <= 1, `${why}: at most one data event`);
      if (!mine.length) continue;
    }
    const e = mine[0];
    checkName(c, e.filename, why);
    if (c.outcome === 'whole') {
      assert.deepEqual([e.complete, e.observed_size, e.sha256, e.md5, e.gap_bytes], [true, c.file.length, whole, md5(c.file), undefined], why);
      const want = { pdf: 'pdf', zip: 'zip', pe: 'pe', png: 'png', random: undefined }[c.kind as 'pdf'];
      if (want && c.file.length >= 16) assert.equal(e.file_type, want, `${why}: file_type`);
    } else if (c.outcome === 'cut') {
      const prefix = c.file.subarray(0, c.expectObserved);
      assert.deepEqual([e.complete, e.observed_size, e.sha256, e.md5], [false, c.expectObserved, sha(prefix), md5(prefix)], `${why}: cut`);
    } else {
      assert.equal(e.complete, false, `${why}: gap`);
      assert.ok(e.observed_size! < c.file.length, `${why}: gap observed ${e.observed_size}`);
    }
    // kept whole in the quarantine unless over the spool bound
    const carved = e.observed_size ?? 0;
    if (carved > SPOOL_CAP) {
      assert.equal(e.truncated_at !== undefined && e.truncated_at <= SPOOL_CAP, true, `${why}: truncated_at ${e.truncated_at}`);
      assert.equal(e.verdict, 'unscanned:too-large', why);
      assert.ok(!e.quarantined, `${why}: over the spool bound yet quarantined`);
    } else {
      assert.equal(e.truncated_at, undefined, `${why}: truncated_at under the bound`);
      assert.equal(e.quarantined, true, `${why}: quarantined`);
      const kept = fs.readFileSync(quarantinePath(qdir, e.sha256!));
      assert.equal(kept.length, carved, `${why}: quarantined length`);
      if (c.outcome === 'whole') assert.ok(kept.equals(c.file), `${why}: quarantined bytes differ from the file`);
      if (c.outcome === 'cut') assert.ok(kept.equals(c.file.subarray(0, carved)), `${why}: quarantined bytes differ from the prefix sent`);
    }
  }
  fs.rmSync(file, { force: true });
  fs.rmSync(qdir, { recursive: true, force: true });
  return stats;
}

describe('files: carving round trip (seeded fuzz over every IM file-transfer path)', function () {
  this.timeout(120_000 * Math.max(1, Number(process.env.SHADOWIM_FUZZ_SCALE ?? 1) || 1));
  let tmp: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-carve-rt-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('each file sent is carved byte for byte, or reported incomplete with the bytes seen; never a wrong hash as complete', async () => {
    const rounds = fuzzCases(3);
    const total = { cases: 0, whole: 0, cut: 0, gap: 0, bytes: 0 };
    for (let r = 0; r < rounds; r++) {
      const s = await runRound(fuzzSeed(0xca7e0 + r), 36, tmp);
      for (const key of Object.keys(total) as (keyof typeof total)[]) total[key] += s[key];
    }
    if (process.env.SHADOWIM_FUZZ_VERBOSE) console.log(total);
    assert.ok(total.whole > 0 && total.cut > 0 && total.gap > 0);
  });
});

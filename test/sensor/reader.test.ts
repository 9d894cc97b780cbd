// Capture file reading: every pcap/pcapng variant, standard input, and bad input, through the real CLI
// where a user would see it. Ground truth: the generator's frames, and capinfos for the shared captures.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { Capture, LINKTYPE, linkFrame, pcapngOf, tcpPacket, udpPacket, type Frame } from '../helpers/pcapgen';
import { PCAPS_DIR, havePcaps } from '../helpers/paths';
import { shadowim } from '../helpers/run';
import { runCapture, tmpFile } from './record';

function conversation(): Capture {
  const c = new Capture();
  c.step = 1234; // µs: a step that shows up in every timestamp digit
  const t = c.tcp('10.0.0.5:40001', '192.0.2.50:5190');
  t.open();
  t.send('c', 'hello server, this is the client speaking');
  t.send('s', 'hello client');
  t.close();
  c.udp('10.0.0.5:5353', '192.0.2.53:53', 'dns-ish');
  return c;
}

function allCaptures(): string[] {
  const out: string[] = [];
  for (const d of fs.readdirSync(PCAPS_DIR)) {
    const p = path.join(PCAPS_DIR, d);
    if (!fs.statSync(p).isDirectory()) continue;
    for (const f of fs.readdirSync(p)) if (/\.pcap(ng)?$/.test(f)) out.push(path.join(p, f));
  }
  return out.sort();
}

function capinfosCount(file: string): number | undefined {
  const r = spawnSync('capinfos', ['-c', '-M', '-T', '-r', file]);
  if (r.error || r.status !== 0) return undefined;
  const n = Number(r.stdout.toString().trim().split('\t').pop());
  return Number.isFinite(n) ? n : undefined;
}

describe('sensor: capture reader', () => {
  const base = conversation();

  for (const nano of [false, true]) {
    for (const bigEndian of [false, true]) {
      it(`classic pcap, ${nano ? 'ns' : 'µs'}, ${bigEndian ? 'big' : 'little'}-endian: every frame, exact timestamps, both directions`, async () => {
        const out = await runCapture(base.pcap({ nano, bigEndian }));
        assert.equal(out.error, undefined);
        assert.equal(out.counters.packets, base.frames.length);
        assert.equal(out.counters.malformed, 0);
        const tcp = out.rec.flows.find((f) => f.info.transport === 'tcp')!;
        assert.equal(tcp.data[0].toString(), 'hello server, this is the client speaking');
        assert.equal(tcp.data[1].toString(), 'hello client');
        assert.equal(tcp.info.firstTs, base.frames[0].tsMicros);
        assert.equal(tcp.end!.counters.lastTs, base.frames[base.frames.length - 2].tsMicros);
        assert.equal(tcp.end!.counters.packets, 8);
      });
    }
  }

  it('pcapng with two interfaces of different link types (Ethernet and Linux SLL2), ns resolution, big-endian, unknown blocks skipped', async () => {
    const frames: Frame[] = [];
    let ts = Date.UTC(2024, 2, 1) * 1000 + 1;
    const add = (ip: Buffer, lt: number) => frames.push({ tsMicros: (ts += 777), data: linkFrame(ip, lt), linktype: lt });
    add(tcpPacket('10.1.1.1:40000', '198.51.100.1:5222', 100, 2), LINKTYPE.ETHERNET);
    add(tcpPacket('198.51.100.1:5222', '10.1.1.1:40000', 500, 18, '', 101), LINKTYPE.SLL2);
    add(tcpPacket('10.1.1.1:40000', '198.51.100.1:5222', 101, 24, '<stream:stream>', 501), LINKTYPE.ETHERNET);
    add(udpPacket('[2001:db8::1]:40000', '[2001:db8::2]:3478', 'stun'), LINKTYPE.SLL2);
    const file = pcapngOf(frames, { bigEndian: true, tsresol: 9, unknownBlocks: true });
    const out = await runCapture(file);
    assert.equal(out.error, undefined);
    assert.equal(out.counters.packets, 4);
    assert.equal(out.counters.malformed, 0);
    assert.equal(out.rec.flows.length, 2);
    const [tcp, udp] = out.rec.flows;
    assert.equal(tcp.data[0].toString(), '<stream:stream>');
    assert.equal(tcp.info.clientBy, 'syn');
    assert.equal(tcp.info.firstTs, frames[0].tsMicros);
    assert.equal(tcp.end!.counters.packets, 3);
    assert.deepEqual(udp.info.server, { ip: '2001:db8::2', port: 3478 });
    assert.equal(udp.info.firstTs, frames[3].tsMicros);
    // tshark agrees on the frame count of what we wrote
    const f = tmpFile(file, '.pcapng');
    const r = spawnSync('capinfos', ['-c', '-M', '-T', '-r', f]);
    if (!r.error && r.status === 0) assert.equal(Number(r.stdout.toString().trim().split('\t').pop()), 4);
  });

  it('pcapng simple packet blocks and obsolete packet blocks', async () => {
    const frames: Frame[] = conversation().frames;
    for (const kind of ['simple', 'obsolete'] as const) {
      const out = await runCapture(pcapngOf(frames, { [kind]: true }));
      assert.equal(out.error, undefined, kind);
      assert.equal(out.counters.packets, frames.length, kind);
      const tcp = out.rec.flows.find((f) => f.info.transport === 'tcp')!;
      assert.equal(tcp.data[1].toString(), 'hello client', kind);
    }
  });

  it('pcapng times finer than a µs are cut to the µs, not rounded up past it (ns at .999999999 s, 2^-12 s)', async () => {
    // before: the 64-bit count went through one double (1.7e18 ns is past 2^53), so 09:30:00.999999999
    // was read as 09:30:01.000000 and 7/4096 s (1708.98 µs) as 1709
    const S = 1705311000; // 2024-01-15 09:30:00 UTC
    const cases = [
      { name: 'ns', tsresolByte: 9, units: 1_000_000_000n, frac: 999_999_999n, us: 999_999, iso: '.999Z' },
      { name: '2^-12 s', tsresolByte: 0x80 | 12, units: 4096n, frac: 7n, us: 1708, iso: '.001Z' },
    ];
    for (const k of cases) {
      const frames = base.frames.map((f, i) => ({ ...f, tsUnits: BigInt(S + i) * k.units + k.frac }));
      const file = pcapngOf(frames, { tsresolByte: k.tsresolByte });
      const out = await runCapture(file);
      assert.equal(out.error, undefined, k.name);
      const tcp = out.rec.flows.find((f) => f.info.transport === 'tcp')!;
      assert.equal(tcp.info.firstTs, S * 1e6 + k.us, k.name);
      assert.equal(tcp.end!.counters.lastTs, (S + frames.length - 2) * 1e6 + k.us, k.name);
      // what the user sees: the last packet's time in the stats event, in its own second
      const r = shadowim(['analyze', tmpFile(file, '.pcapng'), '--format', 'jsonl']);
      assert.equal(r.status, 0, r.stderr);
      const last = new Date((S + frames.length - 1) * 1000).toISOString().replace('.000Z', k.iso);
      assert.equal(r.events.find((e) => e.type === 'stats').ts, last, k.name);
    }
  });

  it('reads standard input (-) like a file', () => {
    const c = new Capture();
    const t = c.tcp('10.0.0.5:40001', '192.0.2.10:6667');
    t.open().send('c', 'NICK alice\r\nUSER alice 0 * :Alice\r\n').send('s', ':irc.example.net 001 alice :Welcome to IRC alice\r\n').close();
    const fromFile = shadowim(['analyze', tmpFile(c.pcap()), '--format', 'jsonl']);
    const fromStdin = shadowim(['analyze', '-', '--format', 'jsonl'], { input: c.pcapng() });
    assert.equal(fromStdin.status, 0, fromStdin.stderr);
    const stats = fromStdin.events.find((e) => e.type === 'stats');
    assert.equal(stats.packets, c.frames.length);
    assert.equal(stats.flows, 1);
    assert.deepEqual(fromStdin.events.map((e) => e.type), fromFile.events.map((e) => e.type));
  });

  it('truncated capture: prints the events it could (open flows flushed), then one error line and exit 1', () => {
    const c = new Capture();
    const t = c.tcp('10.0.0.5:40001', '192.0.2.10:6667');
    t.open().send('c', 'NICK alice\r\nUSER alice 0 * :Alice\r\n').send('s', ':irc.example.net 001 alice :Welcome to IRC alice\r\n');
    t.send('c', 'PRIVMSG #chan :first message\r\n');
    t.send('c', 'PRIVMSG #chan :this one is cut off in the middle of its record\r\n');
    const whole = c.pcap();
    const cut = whole.subarray(0, whole.length - 20);
    const r = shadowim(['analyze', tmpFile(cut), '--format', 'jsonl']);
    assert.equal(r.status, 1);
    const lines = r.stderr.trim().split('\n');
    assert.match(lines[lines.length - 1], /^shadowim: .*truncated capture: last record cut at byte \d+/);
    assert.doesNotMatch(r.stderr, /\n\s+at /); // no stack trace
    const stats = r.events.find((e) => e.type === 'stats');
    assert.equal(stats.packets, c.frames.length - 1);
    // the IRC flow was still open at the cut: its session is flushed
    assert.ok(r.events.some((e) => e.type === 'session' && e.protocol === 'irc'), r.stdout);
  });

  it('a record header cut short and a pcapng block cut short are truncations too', async () => {
    const pcap = conversation().pcap();
    const a = await runCapture(pcap.subarray(0, 24 + 8));
    assert.match(a.error!, /truncated capture: last record header cut/);
    const ng = conversation().pcapng();
    const b = await runCapture(ng.subarray(0, ng.length - 10));
    assert.match(b.error!, /truncated capture: last block cut/);
    assert.equal(b.counters.packets, conversation().frames.length - 1);
  });

  it('garbage, text and empty input: one line naming the problem, exit 1, nothing on stdout', () => {
    for (const input of [Buffer.from('GET / HTTP/1.1\r\nHost: example.com\r\n\r\n'), Buffer.alloc(0), Buffer.from([0xa1, 0xb2])]) {
      const r = shadowim(['analyze', '-', '--format', 'jsonl'], { input });
      assert.equal(r.status, 1, r.stderr);
      assert.equal(r.stdout, '');
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, /^shadowim: stdin: (not a capture file|empty input)/);
    }
    const r = shadowim(['analyze', '/nonexistent/file.pcap']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^shadowim: \/nonexistent\/file.pcap: no such file/);
    // a file where a directory of the path should be: the same words (was 'cannot open (ENOTDIR)')
    const under = path.join(tmpFile(Buffer.from('x'), '.txt'), 'file.pcap');
    const u = shadowim(['analyze', under]);
    assert.equal(u.status, 1);
    assert.equal(u.stderr, `shadowim: ${under}: no such file; give the path of a pcap or pcapng capture, or '-' for standard input\n`);
  });

  it('a gzip-compressed capture is read as the capture it holds: the same events from a file, on one thread or two, and from a pipe that trickles', () => {
    const zlib = require('node:zlib') as typeof import('node:zlib');
    const plain = conversation().pcapng();
    const want = shadowim(['analyze', tmpFile(plain, '.pcapng'), '--format', 'jsonl']);
    assert.equal(want.status, 0, want.stderr);
    const gz = tmpFile(zlib.gzipSync(plain), '.pcapng.gz');
    for (const threads of ['1', '2']) {
      const r = shadowim(['analyze', gz, '--format', 'jsonl', '--threads', threads]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, want.stdout);
      assert.match(r.stderr, new RegExp(`: ${conversation().frames.length} packets, `));
    }
    // through a pipe, the compressed bytes a few at a time with pauses (the inflater waits for more,
    // then goes on where it was): the same events
    const sh = spawnSync('sh', ['-c', `(head -c 40 "$1"; sleep 0.3; tail -c +41 "$1" | head -c 100; sleep 0.3; tail -c +141 "$1") | "${process.execPath}" "$2" analyze - --format jsonl`,
      'sh', gz, path.join(__dirname, '..', '..', 'bin', 'shadowim.js')], { encoding: 'utf8' });
    assert.equal(sh.status, 0, sh.stderr);
    assert.equal(sh.stdout, want.stdout);
  });

  it('a gzip capture cut short, corrupt, empty or holding something else: one line, after the frames it held', () => {
    const zlib = require('node:zlib') as typeof import('node:zlib');
    // cut: the frames inflated before the cut are analyzed, then the error
    const big = conversation();
    const whole = zlib.gzipSync(big.pcap(), { level: 0 }); // stored blocks: a cut keeps what precedes it
    const cut = shadowim(['analyze', tmpFile(whole.subarray(0, whole.length - 200), '.pcap.gz'), '--format', 'jsonl']);
    assert.equal(cut.status, 1);
    assert.match(cut.stderr.trim().split('\n').pop()!, /: truncated capture: the gzip stream ends early$/);
    assert.ok(cut.events.find((e) => e.type === 'stats').packets > 0, cut.stdout);
    const bad = Buffer.from(zlib.gzipSync(big.pcap()));
    for (let i = 20; i < 40; i++) bad[i] ^= 0xa5;
    const cases: Array<[Buffer, RegExp]> = [
      [bad, /: corrupt capture: bad gzip data \(/],
      [zlib.gzipSync(Buffer.alloc(0)), /: empty input: a gzip file with nothing in it$/],
      [zlib.gzipSync(Buffer.from('ab')), /: not a capture file: a gzip file too short to hold a pcap or pcapng header$/],
      [zlib.gzipSync(Buffer.from('GET / HTTP/1.1\r\n\r\n')), /: not a capture file: a gzip file whose content is not pcap or pcapng \(magic number 20544547\)$/],
    ];
    for (const [input, want] of cases) {
      const r = shadowim(['analyze', tmpFile(input, '.gz'), '--format', 'jsonl']);
      assert.equal(r.status, 1, r.stderr);
      assert.equal(r.stderr.trim().split('\n').filter((l) => !/ packets\/s\)$/.test(l)).length, 1, r.stderr);
      assert.match(r.stderr.trim().split('\n').pop()!, want);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    }
  });

  it('another compression or capture format: one line naming it and the command that makes it readable', () => {
    const named: Array<[Buffer, RegExp]> = [
      [Buffer.from('BZh91AY&SY\x00\x00', 'latin1'), /bzip2-compressed: decompress it first \(bzip2 -dc FILE \| shadowim analyze -\)/],
      [Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0, 4]), /xz-compressed: decompress it first \(xz -dc FILE/],
      [Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0]), /zstd-compressed/],
      [Buffer.from('PK\x03\x04\x14\x00\x00\x00', 'latin1'), /a zip archive: extract the capture from it first/],
      [Buffer.from('snoop\0\0\0\0\0\0\x02\0\0\0\x04', 'latin1'), /a Solaris snoop capture: convert it to pcapng first \(editcap -F pcapng FILE out.pcapng\)/],
      [Buffer.from('GMBU\x00\x02\x00\x00', 'latin1'), /a Microsoft Network Monitor capture: convert it/],
      // text: said so
      [Buffer.from('Placeholder text\r\n\twith a tab\n', 'latin1'), /not a capture file: it is text; a capture is pcap or pcapng \(tcpdump -w FILE, tshark -w FILE; a hex dump converts with text2pcap\)\n$/],
      // unknown: the magic number, as before
      [Buffer.from('Place\x00holder', 'latin1'), /not a capture file: unknown magic number 63616c50 \(expected pcap or pcapng\)/],
    ];
    for (const [input, want] of named) {
      const n = shadowim(['analyze', '-', '--format', 'jsonl'], { input });
      assert.equal(n.status, 1, n.stderr);
      assert.equal(n.stderr.trim().split('\n').length, 1, n.stderr);
      assert.match(n.stderr, want);
    }
    // and the advice works: xz -dc FILE | shadowim analyze - reads it
    const xz = spawnSync('xz', ['-c'], { input: conversation().pcap() });
    if (xz.status === 0) {
      const file = tmpFile(xz.stdout, '.pcap.xz');
      const sh = spawnSync('sh', ['-c', `xz -dc "$1" | "${process.execPath}" "$2" analyze - --format jsonl`, 'sh', file, path.join(__dirname, '..', '..', 'bin', 'shadowim.js')], { encoding: 'utf8' });
      assert.equal(sh.status, 0, sh.stderr);
      assert.equal(JSON.parse(sh.stdout.trim().split('\n').pop()!).packets, conversation().frames.length);
    }
  });

  it('a corrupt record length is an error after the good frames, not a crash or a huge allocation', async () => {
    const pcap = Buffer.from(conversation().pcap());
    const second = 24 + 16 + pcap.readUInt32LE(24 + 8);
    pcap.writeUInt32LE(0x7fffffff, second + 8);
    const out = await runCapture(pcap);
    assert.match(out.error!, /corrupt capture: record at byte \d+ claims/);
    assert.equal(out.counters.packets, 1);
  });

  it('analyze --help and bad options', () => {
    const h = shadowim(['analyze', '--help']);
    assert.equal(h.status, 0);
    assert.match(h.stdout, /usage: shadowim analyze <capture\|->/);
    assert.match(h.stdout, /--max-flows N/);
    const bad = shadowim(['analyze', 'x.pcap', '--max-flows', 'lots']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--max-flows must be a whole number/);
  });

  (havePcaps() ? describe : describe.skip)('every shared capture', () => {
    for (const file of havePcaps() ? allCaptures() : []) {
      const name = path.relative(PCAPS_DIR, file);
      it(`${name}: read to the end, packet count as capinfos reports, nothing malformed`, () => {
        const r = shadowim(['analyze', file, '--format', 'jsonl']);
        assert.equal(r.status, 0, r.stderr);
        const stats = r.events.find((e) => e.type === 'stats');
        assert.ok(stats, 'a stats event at the end');
        const expected = capinfosCount(file);
        if (expected !== undefined) assert.equal(stats.packets, expected);
        assert.equal(stats.malformed, 0, 'every link type in the corpus decodes');
        assert.ok(stats.flows > 0);
      });
    }
  });
});

// Tunnels: mirrored traffic that arrives inside GRE (ERSPAN I/II/III, transparent Ethernet bridging,
// PPTP), IP-in-IP, VXLAN, Geneve or GTP-U is analysed as the packets inside. Ground truth: the same
// conversations captured without the tunnel (every event must be the same) and tshark, which opens all
// of these tunnels with its own dissectors.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Capture, ether, ipPacket, udpHeader, parseEp, vxlanFrame } from '../helpers/pcapgen';
import { haveCommand } from '../helpers/netns';
import { analyzeCaptureRun } from '../helpers/analyze';
import { boundedIt } from '../helpers/bounded';
import { PacketPath } from '../../sensor/packetPath';
import { Recorder, runCapture } from './record';

const O4 = ['198.51.100.1', '198.51.100.2'];
const O6 = ['2001:db8:ffff::1', '2001:db8:ffff::2'];

/** IRC over IPv4 and over IPv6, and a DNS lookup: what the tunnels will carry */
function plain(): Capture {
  const cap = new Capture();
  cap
    .tcp('10.1.1.10:40001', '192.0.2.7:6667')
    .open()
    .send('c', 'NICK alice\r\nUSER alice 0 * :Alice\r\n')
    .send('s', ':irc.example.net 001 alice :Welcome alice\r\n')
    .send('c', 'PRIVMSG bob :the vault code is in the usual place\r\n')
    .send('s', ':bob!b@host PRIVMSG alice :got it\r\n')
    .close();
  cap
    .tcp('[2001:db8:1::10]:40002', '[2001:db8:2::7]:6667')
    .open()
    .send('c', 'NICK carol\r\nUSER carol 0 * :Carol\r\n')
    .send('c', 'PRIVMSG #ops :deploy at five\r\n')
    .close();
  return cap;
}

const u16 = (v: number) => Buffer.from([v >> 8, v & 255]);
const u32 = (v: number) => Buffer.from([v >>> 24, (v >> 16) & 255, (v >> 8) & 255, v & 255]);
/** the IP packet inside an Ethernet frame */
const ipOf = (frame: Buffer) => frame.subarray(14);
const gre = (type: number, opts: { csum?: boolean; key?: number; seq?: number } = {}) =>
  Buffer.concat([
    Buffer.from([(opts.csum ? 0x80 : 0) | (opts.key !== undefined ? 0x20 : 0) | (opts.seq !== undefined ? 0x10 : 0), 0]),
    u16(type),
    opts.csum ? Buffer.alloc(4) : Buffer.alloc(0),
    opts.key !== undefined ? u32(opts.key) : Buffer.alloc(0),
    opts.seq !== undefined ? u32(opts.seq) : Buffer.alloc(0),
  ]);
const outer = (payload: Buffer, proto: number, v6 = false) => ether(ipPacket(v6 ? O6[0] : O4[0], v6 ? O6[1] : O4[1], proto, payload));
const outerUdp = (sport: number, dport: number, payload: Buffer, v6 = false) => {
  const [a, b] = v6 ? O6 : O4;
  return ether(ipPacket(a, b, 17, udpHeader(parseEp(`[${a}]:${sport}`), parseEp(`[${b}]:${dport}`), payload)));
};
const vxlan = (f: Buffer, v6 = false) => (v6 ? outerUdp(49152, 4789, Buffer.concat([Buffer.from([0x08, 0, 0, 0]), u32(0x001234 << 8), f]), true) : vxlanFrame(f));
const isV6 = (f: Buffer) => ipOf(f)[0] >> 4 === 6;

/**
 * Each wraps one inner Ethernet frame into the outer frame that carries it. Tunnels that carry IP
 * packets rather than Ethernet frames (marked IP_ONLY) leave out the 14-byte Ethernet header, so
 * their flows count 14 bytes less per packet than on the plain capture.
 */
const IP_ONLY = new Set(['GRE, IP inside', 'GRE with checksum, key and sequence', 'IP-in-IP and IPv6-in-IP', 'PPTP (enhanced GRE, PPP inside)', 'GTP-U with an extension header']);
const WRAPS: Record<string, (f: Buffer, n: number) => Buffer> = {
  'GRE, IP inside': (f) => outer(Buffer.concat([gre(isV6(f) ? 0x86dd : 0x0800), ipOf(f)]), 47),
  'GRE with checksum, key and sequence': (f, n) => outer(Buffer.concat([gre(isV6(f) ? 0x86dd : 0x0800, { csum: true, key: 7, seq: n }), ipOf(f)]), 47),
  'GRE transparent Ethernet bridging (GRETAP)': (f) => outer(Buffer.concat([gre(0x6558, { key: 0x100 }), f]), 47),
  'ERSPAN type I': (f) => outer(Buffer.concat([gre(0x88be), f]), 47),
  'ERSPAN type II': (f, n) => outer(Buffer.concat([gre(0x88be, { seq: n }), Buffer.from([0x10, 42, 0x00, 0x05, 0, 0, 0, 0]), f]), 47),
  'ERSPAN type III with a platform subheader': (f, n) =>
    outer(Buffer.concat([gre(0x22eb, { seq: n }), Buffer.from([0x20, 42, 0x00, 0x05]), u32(n * 1000), Buffer.from([0, 0, 0, 1]), Buffer.alloc(8, 0x11), f]), 47),
  'GRE over IPv6': (f) => outer(Buffer.concat([gre(0x6558), f]), 47, true),
  'IP-in-IP and IPv6-in-IP': (f) => outer(ipOf(f), isV6(f) ? 41 : 4),
  'PPTP (enhanced GRE, PPP inside)': (f, n) =>
    outer(Buffer.concat([Buffer.from([0x30, 0x81]), u16(0x880b), u16(ipOf(f).length + 4), u16(9), u32(n), u32(n), Buffer.from([0xff, 0x03]), u16(isV6(f) ? 0x57 : 0x21), ipOf(f)]), 47),
  VXLAN: (f) => vxlan(f),
  'VXLAN over IPv6': (f) => vxlan(f, true),
  'Geneve with options': (f) => outerUdp(49153, 6081, Buffer.concat([Buffer.from([0x02, 0x00]), u16(0x6558), u32(77 << 8), Buffer.alloc(8, 0x22), f])),
  'GTP-U with an extension header': (f) => {
    const ip = ipOf(f);
    // E and S flags, a sequence number; then a PDU session container (0x85, one 4-byte word) ending the chain
    const opt = Buffer.concat([u16(1), Buffer.from([0, 0x85]), Buffer.from([1, 0x00, 0x09, 0])]);
    return outerUdp(2152, 2152, Buffer.concat([Buffer.from([0x36, 0xff]), u16(opt.length + ip.length), u32(0xabc), opt, ip]));
  },
  'VXLAN inside GRE': (f) => outer(Buffer.concat([gre(0x0800), ipOf(vxlan(f))]), 47),
};

function wrapped(wrap: (f: Buffer, n: number) => Buffer): Capture {
  const cap = new Capture();
  plain().frames.forEach((f, n) => cap.add(wrap(f.data, n)));
  return cap;
}

/** tshark's IRC request lines (it opens the tunnels itself) */
function tsharkIrc(file: string): string[] {
  const r = spawnSync('tshark', ['-r', file, '-Y', 'irc.request', '-T', 'fields', '-E', 'aggregator=|', '-e', 'irc.request'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\n').flatMap((l) => l.split('|')).filter(Boolean).sort();
}

const withoutStats = (events: any[]) => events.filter((e) => e.type !== 'stats');

describe('sensor: tunnels', function () {
  this.timeout(60_000);
  const base = analyzeCaptureRun(plain());
  const baseStats = base.events.find((e) => e.type === 'stats');

  it('the plain capture: two IRC sessions with their messages (the reference)', () => {
    const texts = base.events.filter((e) => e.type === 'message').map((e) => e.text);
    assert.deepEqual(texts.sort(), ['deploy at five', 'got it', 'the vault code is in the usual place']);
    assert.equal(base.events.filter((e) => e.type === 'session' && e.protocol === 'irc').length, 2);
    assert.doesNotMatch(base.stderr, /inside tunnels/);
  });

  for (const [name, wrap] of Object.entries(WRAPS)) {
    it(`${name}: the same events as without the tunnel${haveCommand('tshark') ? ', the same IRC lines as tshark' : ''}`, () => {
      const cap = wrapped(wrap);
      let theirs: string[] | undefined;
      const run = analyzeCaptureRun(cap, haveCommand('tshark') ? (f) => (theirs = tsharkIrc(f)) : undefined);
      const expected = withoutStats(base.events).map((e) =>
        e.type === 'session' && IP_ONLY.has(name) ? { ...e, bytes: e.bytes - 14 * e.packets } : e);
      assert.deepEqual(withoutStats(run.events), expected);
      // the tunnel's own datagrams or GRE packets are not flows: the same flow count
      const stats = run.events.find((e) => e.type === 'stats');
      assert.equal(stats.flows, baseStats.flows);
      assert.equal(stats.packets, baseStats.packets);
      assert.equal(stats.malformed, 0);
      assert.match(run.stderr, new RegExp(`, ${cap.frames.length} inside tunnels,`));
      if (theirs) {
        // tshark reads the same client lines inside the tunnel as it does on the plain capture
        const ours = withoutStats(run.events).filter((e) => e.type === 'message' && e.direction === 'outbound').map((e) => e.text);
        for (const t of ours) assert.ok(theirs.some((l) => l.endsWith(`:${t}`)), `tshark did not see "${t}" in ${JSON.stringify(theirs)}`);
        assert.ok(theirs.includes('NICK alice') && theirs.includes('NICK carol'), JSON.stringify(theirs));
      }
    });
  }

  it('mirror-truncated frames (ERSPAN II with the T bit, 80 bytes kept): flows as in the plain capture cut by an 80-byte snaplen', async () => {
    // the flow counts what the packet had on the mirrored link (its IP length), not the 80 bytes carried
    const cut = new Capture();
    plain().frames.forEach((f, n) =>
      cut.add(outer(Buffer.concat([gre(0x88be, { seq: n }), Buffer.from([0x10, 42, 0x04, 0x05, 0, 0, 0, 0]), f.data.subarray(0, 80)]), 47)));
    const [ours, theirs] = await Promise.all([runCapture(cut.pcap()), runCapture(plain().pcap({ snaplen: 80 }))]);
    const flows = (o: typeof ours) => o.rec.flows.map((f) => [f.info.client.port, f.end?.counters.bytes, f.end?.counters.packets, f.end?.counters.gapBytes, f.data[0].length, f.data[1].length]);
    assert.deepEqual(flows(ours), flows(theirs));
    assert.equal(ours.counters.malformed, theirs.counters.malformed);
    assert.ok(theirs.counters.malformed > 0 && flows(theirs).some(([, bytes, packets]) => bytes! > 80 * packets!), JSON.stringify(flows(theirs)));
  });

  it('ordinary UDP on a tunnel port stays ordinary UDP (not VXLAN, bad GTP headers, unknown inner types)', () => {
    const cap = new Capture();
    const inner = plain().frames[0].data;
    // no I flag; I flag but the reserved last byte set; an inner frame of an unknown ethertype
    cap.add(outerUdp(40000, 4789, Buffer.concat([Buffer.alloc(8), inner])));
    cap.add(outerUdp(40000, 4789, Buffer.concat([Buffer.from([8, 0, 0, 0, 0, 0, 1, 5]), inner])));
    const junk = Buffer.from(inner);
    junk.writeUInt16BE(0x1234, 12);
    cap.add(outerUdp(40000, 4789, Buffer.concat([Buffer.from([8, 0, 0, 0, 0, 0, 1, 0]), junk])));
    // GTP: a control message (not a G-PDU), an extension header of length 0 (would never end)
    cap.add(outerUdp(2152, 2152, Buffer.concat([Buffer.from([0x30, 0x01, 0, 4]), u32(1), Buffer.alloc(4)])));
    cap.add(outerUdp(2152, 2152, Buffer.concat([Buffer.from([0x34, 0xff, 0, 8]), u32(1), Buffer.from([0, 0, 0, 0x85, 0, 0, 0, 0]), ipOf(inner)])));
    // S only: the next-extension byte names a header that E says is not there (so the IP packet would
    // be read from the wrong place): its first byte is not an IP version, so not opened
    cap.add(outerUdp(2152, 2152, Buffer.concat([Buffer.from([0x32, 0xff, 0, 8]), u32(1), Buffer.from([0, 1, 0, 0x85]), Buffer.from([1, 0, 9, 0]), ipOf(inner)])));
    // Geneve version 1
    cap.add(outerUdp(40000, 6081, Buffer.concat([Buffer.from([0x40, 0]), u16(0x6558), Buffer.alloc(4), inner])));
    const run = analyzeCaptureRun(cap);
    const stats = run.events.find((e) => e.type === 'stats');
    assert.equal(stats.malformed, 0);
    // each stays a datagram of its own outer UDP flow: 40000→4789, 2152↔2152, 40000→6081
    assert.equal(stats.flows, 3);
    assert.doesNotMatch(run.stderr, /inside tunnels/);
  });

  it('hostile tunnels: truncated headers are malformed, a tunnel nested past the bound is not opened, nothing throws', () => {
    const cap = new Capture();
    const inner = plain().frames[0].data;
    cap.add(outer(Buffer.from([0, 0, 0x08]), 47)); // GRE cut short
    cap.add(outer(Buffer.concat([gre(0x0800, { key: 1 })]).subarray(0, 6), 47)); // key announced, not there
    cap.add(outer(Buffer.concat([gre(0x22eb, { seq: 1 }), Buffer.from([0x20, 0, 0])]), 47)); // ERSPAN III header cut
    cap.add(outer(Buffer.concat([gre(0x88be, { seq: 1 }), Buffer.from([0x10, 0, 0, 0, 0, 0, 0, 0]), Buffer.alloc(6)]), 47)); // frame cut
    cap.add(outer(Buffer.concat([gre(0x0800), Buffer.from([0x45, 0])]), 47)); // IP inside cut
    // GRE in GRE, eight deep: opened four times, then left (counted as not TCP/UDP)
    let p = ipOf(inner);
    for (let i = 0; i < 8; i++) p = ipPacket(O4[0], O4[1], 47, Buffer.concat([gre(0x0800), p]));
    cap.add(ether(p));
    // a GRE keepalive (nothing inside), source routing (obsolete), version 2
    cap.add(outer(gre(0x0000), 47));
    cap.add(outer(Buffer.concat([Buffer.from([0x40, 0]), u16(0x0800), ipOf(inner)]), 47));
    cap.add(outer(Buffer.concat([Buffer.from([0, 2]), u16(0x0800), ipOf(inner)]), 47));
    const run = analyzeCaptureRun(cap);
    const stats = run.events.find((e) => e.type === 'stats');
    assert.equal(stats.packets, 9);
    assert.equal(stats.malformed, 5);
    assert.equal(stats.flows, 0);
    // the IP packet cut short inside GRE was opened (and found malformed), as was the deep one
    assert.match(run.stderr, /4 not TCP\/UDP, 2 inside tunnels,/);
  });

  boundedIt(__filename, 'mutated tunnel headers: 40,000 frames, nothing thrown or caught on the packet path', 60, () => {
    // seeded: byte changes and cuts within the first 120 bytes (outer headers, tunnel header, inner headers)
    let x = 12345;
    const r = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const frames = Object.values(WRAPS).flatMap((w) => plain().frames.map((f, n) => w(f.data, n)));
    const rec = new Recorder();
    const pp = new PacketPath(rec, { maxFlows: 1000 });
    let ts = 1e15;
    for (let i = 0; i < 40_000; i++) {
      const f = Buffer.from(frames[i % frames.length]);
      for (let k = 1 + Math.floor(r() * 4); k > 0; k--) f[Math.floor(r() * Math.min(120, f.length))] = r() < 0.3 ? 0xff : Math.floor(r() * 256);
      const len = r() < 0.2 ? Math.floor(r() * f.length) : f.length;
      pp.packet(1, (ts += 10), f.subarray(0, len), f.length);
    }
    pp.finish();
    assert.equal(pp.internalErrors, 0);
    assert.equal(pp.counters.packets, 40_000);
    assert.ok(pp.counters.tunneled > 10_000, `only ${pp.counters.tunneled} opened`);
  });
});

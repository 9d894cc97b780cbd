// Tunnels: mirrored traffic that arrives inside GRE (ERSPAN I/II/III, transparent Ethernet bridging,
// PPTP), IP-in-IP, VXLAN, Geneve, GTP-U, L2TPv2 or Teredo is analysed as the packets inside. Ground truth: the same
// conversations captured without the tunnel (every event must be the same) and tshark, which opens all
// of these tunnels with its own dissectors.
import assert from 'node:assert/strict';
import { Capture, ether, ipPacket } from '../helpers/pcapgen';
import { haveCommand } from '../helpers/netns';
import { analyzeCaptureRun } from '../helpers/analyze';
import { boundedIt } from '../helpers/bounded';
import { PacketPath } from '../../sensor/packetPath';
import { Recorder, runCapture } from './record';
import { O4, erspanII, erspanIII, geneve, gre, greIp, gretap, gtpu, ipOf, l2tpData, outer, outerUdp, pptp, teredo, tsharkIrc, u16, u32, vxlan } from './tunnelFrames';

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

/**
 * Each wraps one inner Ethernet frame into the outer frame that carries it. Tunnels that carry IP
 * packets rather than Ethernet frames (marked IP_ONLY) leave out the 14-byte Ethernet header, so
 * their flows count 14 bytes less per packet than on the plain capture.
 */
const IP_ONLY = new Set(['GRE, IP inside', 'GRE with checksum, key and sequence', 'IP-in-IP and IPv6-in-IP', 'PPTP (enhanced GRE, PPP inside)', 'GTP-U with an extension header',
  'L2TPv2 (length, Ns/Nr, PPP inside)', 'L2TPv2 (offset pad, compressed PPP fields)']);
const WRAPS: Record<string, (f: Buffer, n: number) => Buffer> = {
  'GRE, IP inside': (f) => greIp(f),
  'GRE with checksum, key and sequence': (f, n) => greIp(f, { csum: true, key: 7, seq: n }),
  'GRE transparent Ethernet bridging (GRETAP)': (f) => gretap(f, 0x100),
  'ERSPAN type I': (f) => outer(Buffer.concat([gre(0x88be), f]), 47),
  'ERSPAN type II': (f, n) => erspanII(f, n),
  'ERSPAN type III with a platform subheader': (f, n) => erspanIII(f, n),
  'GRE over IPv6': (f) => outer(Buffer.concat([gre(0x6558), f]), 47, true),
  'IP-in-IP and IPv6-in-IP': (f) => outer(ipOf(f), ipOf(f)[0] >> 4 === 6 ? 41 : 4),
  'PPTP (enhanced GRE, PPP inside)': (f, n) => pptp(f, n),
  VXLAN: (f) => vxlan(f),
  'VXLAN over IPv6': (f) => vxlan(f, true),
  'Geneve with options': (f) => geneve(f),
  'GTP-U with an extension header': (f) => gtpu(f),
  'L2TPv2 (length, Ns/Nr, PPP inside)': (f, n) => l2tpData(f, n),
  'L2TPv2 (offset pad, compressed PPP fields)': (f, n) => l2tpData(f, n, true),
  'VXLAN inside GRE': (f) => outer(Buffer.concat([gre(0x0800), ipOf(vxlan(f))]), 47),
};
/** Tunnels whose id keys the flows inside (a tunnel zone): their flow ids differ from the plain capture's */
const ZONED = new Set(['GRE transparent Ethernet bridging (GRETAP)', 'ERSPAN type II', 'ERSPAN type III with a platform subheader', 'VXLAN', 'VXLAN over IPv6', 'Geneve with options', 'VXLAN inside GRE']);

function wrapped(wrap: (f: Buffer, n: number) => Buffer): Capture {
  const cap = new Capture();
  plain().frames.forEach((f, n) => cap.add(wrap(f.data, n)));
  return cap;
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
      // a zoned tunnel's flows are keyed by its id too: other flow ids, everything else the same
      const baseIds = new Set(expected.map((e) => e.flow_id).filter(Boolean));
      const ids = withoutStats(run.events).map((e) => e.flow_id).filter(Boolean);
      assert.ok(ids.length > 0);
      for (const id of ids) assert.equal(baseIds.has(id), !ZONED.has(name), `flow id ${id}`);
      // … and their events name the zone (events outside zones have none), which alert ids include
      for (const e of withoutStats(run.events)) assert.equal(typeof e.zone, ZONED.has(name) ? 'string' : 'undefined', JSON.stringify(e));
      const noId = (e: any) => (ZONED.has(name) ? { ...e, flow_id: undefined, zone: undefined, id: undefined } : e);
      assert.deepEqual(withoutStats(run.events).map(noId), expected.map(noId));
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

  // Teredo carries IPv6 only, with a Teredo client's address (2001:0::/32) at one end at least
  const TEREDO_A = '2001:0:4136:e378:8000:63bf:3fff:fdd2', TEREDO_B = '2001:0:4136:e378:8000:edcb:3dfd:f6f6';
  const plainTeredo = () => {
    const cap = new Capture();
    cap.tcp(`[${TEREDO_A}]:40003`, '[2001:db8:2::7]:6667').open()
      .send('c', 'NICK dave\r\nUSER dave 0 * :Dave\r\n').send('s', ':irc.example.net 001 dave :Welcome dave\r\n')
      .send('c', 'PRIVMSG #ops :the relay sees this\r\n').close();
    cap.tcp(`[${TEREDO_A}]:40004`, `[${TEREDO_B}]:6667`).open()
      .send('c', 'NICK erin\r\nUSER erin 0 * :Erin\r\n').send('c', 'PRIVMSG frank :peer to peer over teredo\r\n').close();
    return cap;
  };
  it(`Teredo: to a relay on 3544 (origin indications) and between two clients on any ports (an authentication indicator): the same events as without the tunnel${haveCommand('tshark') ? ', the same IRC lines as tshark' : ''}`, () => {
    const ref = analyzeCaptureRun(plainTeredo());
    assert.deepEqual(ref.events.filter((e) => e.type === 'message').map((e) => e.text).sort(), ['peer to peer over teredo', 'the relay sees this']);
    const cap = new Capture();
    plainTeredo().frames.forEach((f, n) => {
      const toPeer = f.data.includes(Buffer.from([0xed, 0xcb, 0x3d, 0xfd])); // the second conversation: TEREDO_B at one end
      cap.add(toPeer ? teredo(f.data, 51000, 62000, { auth: n % 3 === 0 }) : teredo(f.data, 51000, 3544, { origin: n % 2 === 0 }));
    });
    let theirs: string[] | undefined;
    const run = analyzeCaptureRun(cap, haveCommand('tshark') ? (file) => (theirs = tsharkIrc(file, false, ['--enable-heuristic', 'teredo_udp'])) : undefined);
    const expected = withoutStats(ref.events).map((e) => (e.type === 'session' ? { ...e, bytes: e.bytes - 14 * e.packets } : e));
    assert.deepEqual(withoutStats(run.events), expected);
    const stats = run.events.find((e) => e.type === 'stats');
    assert.equal(stats.flows, 2);
    assert.equal(stats.malformed, 0);
    assert.match(run.stderr, new RegExp(`, ${cap.frames.length} inside tunnels,`));
    if (theirs) assert.deepEqual(theirs.filter((l) => l.startsWith('PRIVMSG')), ['PRIVMSG #ops :the relay sees this', 'PRIVMSG frank :peer to peer over teredo']);
  });

  it('Teredo look-alikes stay ordinary UDP: an exact IPv6 packet without a Teredo address, a wrong payload length, a next header that cannot be; qualification on 3544 is not a flow', () => {
    const cap = new Capture();
    const native = new Capture();
    native.tcp('[2001:db8:1::10]:40002', '[2001:db8:2::7]:6667').open().send('c', 'NICK carol\r\n');
    const v6 = native.frames.map((f) => f.data);
    cap.add(teredo(v6[0], 51000, 62000)); // native addresses on ports that are not 3544
    const bad = Buffer.from(ipOf(v6[3]));
    bad.writeUInt16BE(bad.readUInt16BE(4) + 1, 4);
    cap.add(outerUdp(51001, 62001, bad)); // Teredo address missing anyway, and one byte short
    const short = new Capture();
    short.tcp(`[${TEREDO_A}]:40009`, `[${TEREDO_B}]:6667`).open().send('c', 'NICK x\r\n');
    const lie = Buffer.from(ipOf(short.frames[3].data));
    lie.writeUInt16BE(lie.readUInt16BE(4) + 8, 4);
    cap.add(outerUdp(51002, 62002, lie)); // Teredo addresses, but the payload length is not the datagram's
    // a router solicitation from a link-local address to the server, an IPv6 packet that is no TCP or UDP
    const rs = Buffer.concat([Buffer.from([0x60, 0, 0, 0, 0, 8, 58, 255]), Buffer.from('fe80000000000000ffffffffffffffff', 'hex'), Buffer.from('ff020000000000000000000000000002', 'hex'), Buffer.from([133, 0, 0, 0, 0, 0, 0, 0])]);
    cap.add(outerUdp(51003, 3544, Buffer.concat([Buffer.from([0, 1, 0, 0]), Buffer.alloc(9), rs])));
    // an exact IPv6 header from a Teredo address whose next header cannot fit (a hop-by-hop header in 0
    // bytes), and one with a next header Teredo does not carry: ordinary UDP, not malformed
    const teredoSrc = Buffer.from('200100004136e378800063bf3ffffdd2', 'hex');
    cap.add(outerUdp(51004, 62004, Buffer.concat([Buffer.from([0x60, 0, 0, 0, 0, 0, 0, 64]), teredoSrc, Buffer.alloc(16, 1)])));
    cap.add(outerUdp(51005, 62005, Buffer.concat([Buffer.from([0x60, 0, 0, 0, 0, 8, 47, 64]), teredoSrc, Buffer.alloc(16, 1), Buffer.alloc(8)])));
    const run = analyzeCaptureRun(cap);
    const stats = run.events.find((e) => e.type === 'stats');
    assert.equal(stats.malformed, 0);
    assert.equal(stats.flows, 5, 'the five look-alikes are flows of their own');
    assert.match(run.stderr, /1 not TCP\/UDP, 1 inside tunnels,/);
  });

  it('mirror-truncated frames (ERSPAN II with the T bit, 80 bytes kept): flows as in the plain capture cut by an 80-byte snaplen', async () => {
    // the flow counts what the packet had on the mirrored link (its IP length), not the 80 bytes carried
    const cut = new Capture();
    plain().frames.forEach((f, n) =>
      cut.add(outer(Buffer.concat([gre(0x88be, { seq: n }), Buffer.from([0x10, 42, 0x04, 0x05, 0, 0, 0, 0]), f.data.subarray(0, 80)]), 47)));
    const [ours, theirs] = await Promise.all([runCapture(cut.pcap()), runCapture(plain().pcap({ snaplen: 80 }))]);
    const flows = (o: typeof ours) => o.rec.flows.map((f) => [f.info.client.port, f.end?.counters.bytes, f.end?.counters.packets, f.end?.counters.gapBytes, f.data[0].length, f.data[1].length]);
    assert.deepEqual(flows(ours), flows(theirs));
    assert.equal(ours.counters.snapped, theirs.counters.snapped);
    assert.equal(ours.counters.malformed, 0);
    assert.equal(theirs.counters.malformed, 0);
    assert.ok(theirs.counters.snapped > 0 && flows(theirs).some(([, bytes, packets]) => bytes! > 80 * packets!), JSON.stringify(flows(theirs)));
  });

  it('ordinary UDP on a tunnel port stays ordinary UDP (not VXLAN, bad GTP headers, unknown inner types, L2TP control and PPP negotiation)', () => {
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
    // L2TP: a control message (SCCRQ), a data message carrying PPP's LCP, one whose IPCP-numbered
    // protocol field is followed by IP anyway, an L2TPv3 header, a data message cut inside its offset pad
    cap.add(outerUdp(1701, 1701, Buffer.concat([Buffer.from([0xc8, 0x02]), u16(20), u16(0), u16(0), u16(0), u16(0), Buffer.from([0x80, 8, 0, 0, 0, 0, 0, 1])])));
    cap.add(outerUdp(1701, 1701, Buffer.concat([Buffer.from([0x00, 0x02]), u16(1), u16(1), Buffer.from([0xff, 0x03, 0xc0, 0x21, 1, 1, 0, 4])])));
    cap.add(outerUdp(1701, 1701, Buffer.concat([Buffer.from([0x00, 0x02]), u16(1), u16(1), Buffer.from([0xff, 0x03, 0x80, 0x21]), ipOf(inner)])));
    cap.add(outerUdp(1701, 1701, Buffer.concat([Buffer.from([0x00, 0x03]), u16(1), u16(1), Buffer.from([0xff, 0x03, 0x00, 0x21]), ipOf(inner)])));
    cap.add(outerUdp(1701, 1701, Buffer.concat([Buffer.from([0x02, 0x02]), u16(1), u16(1), u16(400), ipOf(inner)])));
    const run = analyzeCaptureRun(cap);
    const stats = run.events.find((e) => e.type === 'stats');
    assert.equal(stats.malformed, 0);
    // each stays a datagram of its own outer UDP flow: 40000→4789, 2152↔2152, 40000→6081, 1701↔1701
    assert.equal(stats.flows, 4);
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

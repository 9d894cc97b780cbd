// Frame decoding: every link type, VLAN stacks, IPv4 fragments, IPv6 extension headers, and frames
// that lie about their lengths. Ground truth: what the generator put on the wire.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  LINKTYPE, checksum, ipv4Fragments, ipv6Fragments, ipv6WithExtensions, linkFrame, pcapngOf, tcpPacket, udpPacket, type Frame,
} from '../helpers/pcapgen';
import { runCapture, tmpFile } from './record';
import { PacketPath } from '../../sensor/packetPath';
import { Recorder } from './record';

const T0 = Date.UTC(2024, 0, 15, 9, 30, 0) * 1000;

function frames(list: [Buffer, number][]): Frame[] {
  return list.map(([data, linktype], i) => ({ tsMicros: T0 + i * 1000, data, linktype }));
}

/** the same UDP datagram and TCP exchange over a link type */
function overLink(lt: number, v6: boolean, opts: Parameters<typeof linkFrame>[2] = {}): Frame[] {
  const c = v6 ? '[2001:db8::10]:40000' : '10.0.0.10:40000';
  const s = v6 ? '[2001:db8::20]:5222' : '192.0.2.20:5222';
  const u = v6 ? '[2001:db8::20]:3478' : '192.0.2.20:3478';
  return frames([
    [linkFrame(tcpPacket(c, s, 1000, 2), lt, opts), lt],
    [linkFrame(tcpPacket(s, c, 9000, 18, '', 1001), lt, opts), lt],
    [linkFrame(tcpPacket(c, s, 1001, 24, 'client hello', 9001), lt, opts), lt],
    [linkFrame(tcpPacket(s, c, 9001, 24, 'server hello', 1013), lt, opts), lt],
    [linkFrame(udpPacket(c, u, 'binding request'), lt, opts), lt],
  ]);
}

async function checkLink(lt: number, v6: boolean, opts: Parameters<typeof linkFrame>[2] = {}) {
  const fr = overLink(lt, v6, opts);
  const out = await runCapture(pcapngOf(fr));
  assert.equal(out.error, undefined);
  assert.equal(out.counters.malformed, 0);
  assert.equal(out.rec.flows.length, 2);
  const [tcp, udp] = out.rec.flows;
  assert.equal(tcp.data[0].toString(), 'client hello');
  assert.equal(tcp.data[1].toString(), 'server hello');
  assert.equal(tcp.info.client.ip, v6 ? '2001:db8::10' : '10.0.0.10');
  assert.equal(tcp.info.server.port, 5222);
  assert.equal(udp.datagrams[0][0].toString(), 'binding request');
  assert.equal(udp.info.server.port, 3478);
  return out;
}

describe('sensor: decoding', () => {
  for (const [name, lt] of Object.entries(LINKTYPE)) {
    for (const v6 of [false, true]) {
      if (lt === LINKTYPE.IPV4 && v6) continue;
      if (lt === LINKTYPE.IPV6 && !v6) continue;
      it(`link type ${name} (${lt}), IPv${v6 ? 6 : 4}`, () => checkLink(lt, v6));
    }
  }

  it('null/loopback: address family in either byte order, all BSD IPv6 values', async () => {
    for (const fam of [24, 28, 30, 10]) await checkLink(LINKTYPE.NULL, true, { nullFamily: fam });
    // a big-endian capturing host writes AF_INET as 00 00 00 02
    const ip = udpPacket('10.0.0.1:1000', '10.0.0.2:53', 'q');
    const f = Buffer.concat([Buffer.from([0, 0, 0, 2]), ip]);
    const out = await runCapture(pcapngOf(frames([[f, 0]])));
    assert.equal(out.rec.flows.length, 1);
  });

  it('802.1Q VLAN, QinQ (0x88a8 and 0x9100 outer tags): VLAN id of the outer tag on the flow', async () => {
    const one = await checkLink(LINKTYPE.ETHERNET, false, { vlans: [42] });
    assert.equal(one.rec.flows[0].info.vlan, 42);
    const q = await checkLink(LINKTYPE.ETHERNET, true, { vlans: [100, 200] });
    assert.equal(q.rec.flows[0].info.vlan, 100);
    const old = await checkLink(LINKTYPE.ETHERNET, false, { vlans: [7, 8], qinqType: 0x9100 });
    assert.equal(old.rec.flows[0].info.vlan, 7);
    const none = await checkLink(LINKTYPE.ETHERNET, false);
    assert.equal(none.rec.flows[0].info.vlan, undefined);
  });

  it('IPv4 fragments out of order (and a duplicate) are reassembled into one datagram', async () => {
    const payload = Buffer.alloc(3000);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 7) & 255;
    const frags = ipv4Fragments(udpPacket('10.0.0.1:40000', '10.0.0.2:5060', payload), 1200);
    assert.equal(frags.length, 3);
    const order = [frags[2], frags[0], frags[0], frags[1]];
    const out = await runCapture(pcapngOf(frames(order.map((f) => [linkFrame(f, 1), 1]))));
    assert.equal(out.counters.malformed, 0);
    assert.equal(out.rec.flows.length, 1);
    assert.equal(out.rec.flows[0].datagrams[0].length, 1);
    assert.ok(out.rec.flows[0].datagrams[0][0].equals(payload));
    // tshark reassembles the same datagram
    const f = tmpFile(pcapngOf(frames(order.map((x) => [linkFrame(x, 1), 1]))), '.pcapng');
    const r = spawnSync('tshark', ['-r', f, '-Y', 'udp', '-T', 'fields', '-e', 'udp.length']);
    if (!r.error && r.status === 0) assert.equal(r.stdout.toString().trim(), String(8 + payload.length));
  });

  it('overlapping IPv4 fragments: the bytes that arrived first win', async () => {
    const a = Buffer.alloc(16, 0x41);
    const full = udpPacket('10.0.0.1:40000', '10.0.0.2:5060', Buffer.concat([a, a])); // 8 + 32 bytes of UDP
    const [f1, f2, f3] = ipv4Fragments(full, 16);
    // a forged copy of the middle fragment with other bytes, arriving after the real one
    const forged = Buffer.from(f2);
    forged.fill(0x58, 20);
    forged.writeUInt16BE(0, 10);
    forged.writeUInt16BE(checksum([forged.subarray(0, 20)]), 10);
    const out = await runCapture(pcapngOf(frames([f1, f2, forged, f3].map((f) => [linkFrame(f, 1), 1]))));
    assert.equal(out.rec.flows[0].datagrams[0][0].toString(), 'A'.repeat(32));
  });

  it('incomplete fragments time out and are counted, bounded', async () => {
    const frags = ipv4Fragments(udpPacket('10.0.0.1:40000', '10.0.0.2:5060', Buffer.alloc(2000)), 800);
    const rec = new Recorder();
    const pp = new PacketPath(rec, { fragments: { timeoutMicros: 1_000_000 } });
    pp.packet(1, T0, linkFrame(frags[0], 1), 0);
    pp.packet(1, T0 + 5_000_000, linkFrame(udpPacket('10.0.0.3:1', '10.0.0.4:53', 'x'), 1), 0);
    pp.packet(1, T0 + 6_000_000, linkFrame(frags[1], 1), 0);
    pp.packet(1, T0 + 6_000_001, linkFrame(frags[2], 1), 0);
    pp.finish();
    assert.equal(rec.flows.filter((f) => f.info.server.port === 5060).length, 0);
    assert.ok(pp.counters.fragmentsDropped >= 3);
  });

  it('IPv6 extension headers (hop-by-hop, routing, destination options, AH, atomic fragment) are walked', async () => {
    const ip = tcpPacket('[2001:db8::1]:40000', '[2001:db8::2]:5222', 77, 24, 'behind extension headers');
    const wrapped = ipv6WithExtensions(ip, [0, 43, 60, 51, 44]);
    const out = await runCapture(pcapngOf(frames([[linkFrame(wrapped, 1), 1]])));
    assert.equal(out.counters.malformed, 0);
    assert.equal(out.rec.flows[0].data[0].toString(), 'behind extension headers');
    assert.equal(out.rec.flows[0].info.clientBy, 'port');
  });

  it('IPv6 fragments are reassembled', async () => {
    const payload = Buffer.from('x'.repeat(2500));
    const fr = ipv6Fragments(udpPacket('[2001:db8::1]:40000', '[2001:db8::2]:3478', payload), 1024);
    const out = await runCapture(pcapngOf(frames([fr[1], fr[2], fr[0]].map((f) => [linkFrame(f, 1), 1]))));
    assert.equal(out.counters.malformed, 0);
    assert.ok(out.rec.flows[0].datagrams[0][0].equals(payload));
  });

  it('IPv6 fragments whose fragmentable part starts with destination options or AH (RFC 8200 4.5) are read past them', async () => {
    // tshark 4.0 reads the same: frame 2 reassembled, dstopts next header 6, the IRC line
    const ip = tcpPacket('[2001:db8::1]:40000', '[2001:db8::2]:6667', 77, 24, 'PRIVMSG bob :after the fragment header\r\n', 1);
    const list: [Buffer, number][] = [];
    const fragmented = (first: number, ext: Buffer, id: number) => {
      const part = Buffer.concat([ext, ip.subarray(40)]);
      for (const [o, more] of [[0, 1], [32, 0]]) {
        const piece = more ? part.subarray(0, 32) : part.subarray(32);
        const h = Buffer.from(ip.subarray(0, 40));
        h[6] = 44;
        h.writeUInt16BE(8 + piece.length, 4);
        const fh = Buffer.from([first, 0, 0, o | more, 0, 0, 0, id]);
        list.push([linkFrame(Buffer.concat([h, fh, piece]), 1), 1]);
      }
    };
    fragmented(60, Buffer.from([6, 0, 1, 4, 0, 0, 0, 0]), 1); // destination options, PadN
    fragmented(51, Buffer.concat([Buffer.from([6, 4]), Buffer.alloc(22)]), 2); // AH
    const dstThenAh = Buffer.concat([Buffer.from([51, 0, 1, 4, 0, 0, 0, 0]), Buffer.from([6, 4]), Buffer.alloc(22)]);
    fragmented(60, dstThenAh, 3); // destination options, then AH
    // a second (non-atomic) fragment header inside a reassembled datagram is malformed
    fragmented(44, Buffer.from([6, 0, 0, 9, 0, 0, 0, 1]), 4);
    const out = await runCapture(pcapngOf(frames(list)));
    assert.equal(out.counters.skipped, 0);
    assert.equal(out.counters.malformed, 1);
    const flow = out.rec.flows.find((f) => f.info.server.port === 6667);
    assert.equal(flow?.data[0].toString(), 'PRIVMSG bob :after the fragment header\r\n'); // one copy: the same seq three times
    assert.equal(flow?.end?.counters.packets, 3);
  });

  it('lying lengths, cut frames, zero-length and jumbo frames are counted as malformed, never a crash', async () => {
    const good = tcpPacket('10.0.0.1:40000', '10.0.0.2:80', 1, 24, 'GET / HTTP/1.0\r\n\r\n');
    const bogusTotal = Buffer.from(good);
    bogusTotal.writeUInt16BE(10, 2); // total length shorter than the header
    const badIhl = Buffer.from(good);
    badIhl[0] = 0x43;
    const badDoff = Buffer.from(good);
    badDoff[20 + 12] = 0xf0; // 60-byte TCP header in a short packet
    const badUdp = udpPacket('10.0.0.1:1', '10.0.0.2:53', 'abc');
    badUdp.writeUInt16BE(500, 24);
    const v6 = tcpPacket('[2001:db8::1]:1', '[2001:db8::2]:2', 1, 24, 'x');
    const jumbo = Buffer.from(v6);
    jumbo.writeUInt16BE(0, 4);
    jumbo[6] = 0;
    const list: [Buffer, number][] = [
      [Buffer.alloc(0), 1],
      [Buffer.alloc(10), 1],
      [linkFrame(bogusTotal, 1), 1],
      [linkFrame(badIhl, 1), 1],
      [linkFrame(badDoff, 1), 1],
      [linkFrame(badUdp, 1), 1],
      [linkFrame(jumbo, 1), 1],
      [Buffer.alloc(9000, 0xff), 1],
      [linkFrame(good, 1).subarray(0, 30), 1], // cut inside the IP header
      [Buffer.from([0x45]), 101],
      [Buffer.from([0x99, 0, 0, 0]), 101],
      [linkFrame(good, 1), 147], // a link type we do not know: not malformed, counted apart
    ];
    const out = await runCapture(pcapngOf(frames(list)));
    assert.equal(out.error, undefined);
    assert.equal(out.counters.packets, list.length);
    assert.equal(out.counters.unsupportedLink, 1);
    assert.deepEqual(out.counters.unsupportedLinkTypes, [147]);
    assert.equal(out.counters.malformed + out.counters.skipped, list.length - 1);
    assert.ok(out.counters.malformed >= list.length - 2);
    assert.equal(out.rec.flows.length, 0);
  });

  it('a frame cut by the snaplen: counted in its flow, the missing payload reported as a gap', async () => {
    const payload = Buffer.from('0123456789'.repeat(20));
    const syn = linkFrame(tcpPacket('10.0.0.1:40000', '10.0.0.2:5190', 100, 2), 1);
    const data = linkFrame(tcpPacket('10.0.0.1:40000', '10.0.0.2:5190', 101, 24, payload), 1);
    const more = linkFrame(tcpPacket('10.0.0.1:40000', '10.0.0.2:5190', 301, 24, 'tail'), 1);
    const rec = new Recorder();
    const pp = new PacketPath(rec);
    pp.packet(1, T0, syn, syn.length);
    pp.packet(1, T0 + 1, data.subarray(0, 54 + 50), data.length); // snaplen kept 50 payload bytes
    pp.packet(1, T0 + 2, more, more.length);
    pp.finish();
    const f = rec.flows[0];
    assert.equal(f.data[0].toString(), payload.subarray(0, 50).toString() + 'tail');
    assert.deepEqual(f.gaps[0], [150]);
    assert.equal(f.end!.counters.packets, 3);
    assert.equal(pp.counters.snapped, 1, 'counted as cut by the snaplen');
    assert.equal(pp.counters.malformed, 0, 'its headers decoded: not malformed');
  });

  it('IPv4 header options (IHL > 5) are skipped', async () => {
    const ip = tcpPacket('10.0.0.1:40000', '10.0.0.2:5190', 100, 24, 'after options');
    const opts = Buffer.from([0x94, 0x04, 0x00, 0x00, 0x01, 0x01, 0x01, 0x00]); // router alert, NOPs, EOL
    const withOpts = Buffer.concat([ip.subarray(0, 20), opts, ip.subarray(20)]);
    withOpts[0] = 0x47;
    withOpts.writeUInt16BE(withOpts.length, 2);
    withOpts.writeUInt16BE(0, 10);
    withOpts.writeUInt16BE(checksum([withOpts.subarray(0, 28)]), 10);
    const out = await runCapture(pcapngOf(frames([[linkFrame(withOpts, 1), 1]])));
    assert.equal(out.counters.malformed, 0);
    assert.equal(out.rec.flows[0].data[0].toString(), 'after options');
  });

  it('Ethernet padding after a short IP packet is not payload', async () => {
    const ip = tcpPacket('10.0.0.1:40000', '10.0.0.2:5190', 100, 24, 'hi');
    const padded = Buffer.concat([linkFrame(ip, 1), Buffer.alloc(12, 0xee)]);
    const out = await runCapture(pcapngOf(frames([[padded, 1]])));
    assert.equal(out.rec.flows[0].data[0].toString(), 'hi');
  });
});

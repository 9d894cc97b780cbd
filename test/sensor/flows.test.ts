// The flow table: who is the client, timeouts, lifetime, stable ids, and a hard bound on memory
// under floods and scans.
import assert from 'node:assert/strict';
import { ACK, SYN, linkFrame, tcpPacket, udpPacket } from '../helpers/pcapgen';
import { PacketPath } from '../../sensor/packetPath';
import { Recorder } from './record';

const T0 = Date.UTC(2024, 0, 15, 9, 30, 0) * 1000;

function feed(pp: PacketPath, ts: number, ip: Buffer): void {
  const f = linkFrame(ip, 1);
  pp.packet(1, ts, f, f.length);
}

describe('sensor: flow table', () => {
  it('client side: the SYN sender; the SYN-ACK receiver; else the non-server port; UDP first sender', () => {
    const rec = new Recorder();
    const pp = new PacketPath(rec);
    feed(pp, T0, tcpPacket('10.0.0.1:5190', '10.0.0.2:40000', 1, SYN)); // SYN from the "server port" side
    feed(pp, T0 + 1, tcpPacket('10.0.0.1:5190', '10.0.0.2:40000', 2, ACK, 'x'));
    feed(pp, T0 + 2, tcpPacket('10.0.0.3:6667', '10.0.0.4:51000', 1, SYN | ACK)); // SYN-ACK seen first
    feed(pp, T0 + 3, tcpPacket('10.0.0.3:6667', '10.0.0.4:51000', 2, ACK, 'x'));
    feed(pp, T0 + 4, udpPacket('10.0.0.5:53', '10.0.0.6:33333', 'answer first')); // reply seen first
    feed(pp, T0 + 5, udpPacket('10.0.0.7:40001', '10.0.0.8:40002', 'p2p')); // no well-known port
    feed(pp, T0 + 6, tcpPacket('10.0.0.9:7777', '10.0.0.10:9999', 5, ACK, 'mid')); // no SYN, no server port
    pp.finish();
    const by = rec.flows.map((f) => [`${f.info.client.ip}:${f.info.client.port}`, f.info.clientBy]);
    assert.deepEqual(by, [
      ['10.0.0.1:5190', 'syn'],
      ['10.0.0.4:51000', 'syn'],
      ['10.0.0.6:33333', 'port'],
      ['10.0.0.7:40001', 'first'],
      ['10.0.0.10:9999', 'port'],
    ]);
    assert.deepEqual(rec.flows[2].datagrams[1].map(String), ['answer first']);
  });

  it('idle timeouts: UDP after a minute, TCP after five, an unanswered SYN after 30 s, in capture time', () => {
    const rec = new Recorder();
    const pp = new PacketPath(rec);
    feed(pp, T0, tcpPacket('10.0.0.1:40000', '10.0.0.2:5222', 1, ACK, 'tcp'));
    feed(pp, T0 + 10, tcpPacket('10.0.0.2:5222', '10.0.0.1:40000', 1, ACK, 'reply'));
    feed(pp, T0, udpPacket('10.0.0.1:40000', '10.0.0.2:3478', 'udp'));
    feed(pp, T0, tcpPacket('10.0.0.1:40001', '10.0.0.2:5190', 1, SYN));
    const clock = (from: number, to: number) => {
      for (let s = from; s <= to; s += 1) feed(pp, T0 + s * 1e6, udpPacket('10.9.0.1:1000', '10.9.0.2:53', 'tick'));
    };
    clock(1, 29);
    assert.equal(pp.counters.activeFlows, 4);
    clock(30, 59);
    assert.equal(pp.counters.activeFlows, 3, 'the unanswered SYN is gone after 30 s');
    clock(60, 200);
    const [tcp, udp] = rec.flows;
    assert.equal(udp.end?.reason, 'idle');
    assert.ok(!tcp.end, 'a TCP conversation stays for 5 minutes');
    clock(201, 305);
    assert.equal(rec.flows[0].end?.reason, 'idle');
    assert.equal(pp.counters.activeFlows, 1);
    pp.finish();
    assert.equal(rec.flows[2].end?.reason, 'capture-end');
  });

  it('a UDP exchange ends about one idle timeout after its last packet, even behind newer flows', () => {
    const rec = new Recorder();
    const pp = new PacketPath(rec);
    feed(pp, T0, udpPacket('10.0.0.1:40000', '10.0.0.2:53', 'query'));
    feed(pp, T0 + 2000, udpPacket('10.0.0.2:53', '10.0.0.1:40000', 'answer'));
    // a steady stream of newer short flows
    for (let s = 1; s <= 70; s++) feed(pp, T0 + s * 1e6, udpPacket(`10.9.0.${s}:1000`, '10.9.0.200:53', 'q'));
    assert.equal(rec.flows[0].end?.reason, 'idle');
    assert.ok(rec.flows[0].end!.counters.packets === 2);
    pp.finish();
  });

  it('advance(): a quiet live interface still expires idle flows and ticks the inspector', () => {
    const rec = new Recorder();
    const pp = new PacketPath(rec);
    feed(pp, T0, udpPacket('10.0.0.1:40000', '10.0.0.2:3478', 'x'));
    pp.advance(T0 + 30e6);
    assert.equal(rec.flows[0].endCalls, 0);
    pp.advance(T0 + 62e6);
    assert.equal(rec.flows[0].end?.reason, 'idle');
    assert.ok(rec.ticks.includes(T0 + 62e6));
  });

  it('absolute lifetime: a flow that never goes idle is still ended and restarted', () => {
    const rec = new Recorder();
    const pp = new PacketPath(rec, { lifetimeSec: 100 });
    for (let s = 0; s <= 250; s += 10) feed(pp, T0 + s * 1e6, udpPacket('10.0.0.1:40000', '10.0.0.2:3478', `t${s}`));
    pp.finish();
    assert.deepEqual(rec.flows.map((f) => f.end?.reason), ['lifetime', 'lifetime', 'capture-end']);
    assert.equal(rec.flows.reduce((n, f) => n + f.end!.counters.packets, 0), 26);
  });

  it('flow ids are stable for the same 5-tuple and start time, different otherwise', () => {
    const ids = (start: number) => {
      const rec = new Recorder();
      const pp = new PacketPath(rec);
      feed(pp, start, udpPacket('10.0.0.1:40000', '10.0.0.2:3478', 'a'));
      feed(pp, start, udpPacket('[2001:db8::1]:40000', '[2001:db8::2]:3478', 'b'));
      pp.finish();
      return rec.flows.map((f) => f.info.id);
    };
    const a = ids(T0), b = ids(T0), c = ids(T0 + 1);
    assert.deepEqual(a, b);
    assert.match(a[0], /^[0-9a-f]{16}$/);
    assert.notEqual(a[0], a[1]);
    assert.notEqual(a[0], c[0]);
  });

  it('the inspector is ticked as capture time advances, about once a second', () => {
    const rec = new Recorder();
    const pp = new PacketPath(rec);
    for (let i = 0; i < 1000; i++) feed(pp, T0 + i * 10_000, udpPacket('10.0.0.1:40000', '10.0.0.2:3478', 'x'));
    pp.finish();
    assert.ok(rec.ticks.length >= 9 && rec.ticks.length <= 11, String(rec.ticks.length));
  });

  it('a SYN flood cannot grow the table past --max-flows: the flows nearest their idle timeout are evicted, memory stays flat', () => {
    const rec = new Recorder();
    const max = 2000;
    const pp = new PacketPath(rec, { maxFlows: max });
    const heap0 = process.memoryUsage().heapUsed;
    let peakActive = 0;
    for (let i = 0; i < 100_000; i++) {
      const src = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:${1024 + (i % 60000)}`;
      feed(pp, T0 + i, tcpPacket(src, '192.0.2.1:5222', i, SYN));
      if (i % 1000 === 0) peakActive = Math.max(peakActive, pp.counters.activeFlows);
    }
    assert.ok(peakActive <= max);
    assert.equal(pp.counters.flows, 100_000);
    assert.equal(pp.counters.evictedFlows, 100_000 - max);
    assert.equal(rec.flows.length, 0, 'no handler for a flow without payload');
    global.gc?.();
    assert.ok(process.memoryUsage().heapUsed - heap0 < 64 << 20);
    // a flood with payload: handlers are created and ended as flows are evicted
    for (let i = 0; i < 10_000; i++) feed(pp, T0 + 1e6 + i, udpPacket(`10.1.${(i >> 8) & 255}.${i & 255}:${2000 + i}`, '192.0.2.1:3478', 'x'));
    assert.ok(pp.counters.activeFlows <= max);
    assert.equal(rec.flows.filter((f) => !f.end).length, Math.min(max, 10_000));
    assert.ok(rec.flows.slice(0, 8000).every((f) => f.end?.reason === 'evicted'));
    pp.finish();
    assert.ok(rec.flows.every((f) => f.endCalls === 1));
  });
});

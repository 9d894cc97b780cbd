// Impossible capture times (regression: a fuzzed pcapng if_tsresol made timestamps ~1e25 µs, past
// where doubles count seconds exactly, and the flow table's wheel never advanced: CI hung for 25 min).
// Such frames get the newest good time and are counted in counters.badTimestamps; analysis finishes
// and the flows are reported. Each capture runs in a child process with a deadline, so a regression
// fails here instead of hanging the suite.
import assert from 'node:assert/strict';
import { Capture, pcapngOf, type Frame } from '../helpers/pcapgen';
import { shadowim } from '../helpers/run';
import { runCaptureBounded, tmpFile, type BoundedOutput } from './record';

const CLIENT = 'hello server, this is the client speaking';
const SERVER = 'hello client';

function conversation(step = 250_000): Capture {
  const c = new Capture();
  c.step = step; // µs: the capture spans seconds, so the wheel has buckets to walk
  const t = c.tcp('10.0.0.5:40001', '192.0.2.50:5190');
  t.open();
  t.send('c', CLIENT);
  t.send('s', SERVER);
  t.close();
  c.udp('10.0.0.5:5353', '192.0.2.53:53', 'dns-ish');
  return c;
}

/** Both flows reported, their bytes intact, each ended once. */
function assertFlows(out: BoundedOutput): void {
  assert.equal(out.error, undefined);
  const tcp = out.flows.find((f) => f.info.transport === 'tcp');
  const udp = out.flows.find((f) => f.info.transport === 'udp');
  assert.ok(tcp && udp, `flows reported: ${out.flows.map((f) => f.info.transport)}`);
  assert.deepEqual(tcp.data, [CLIENT, SERVER]);
  assert.equal(tcp.end?.reason, 'fin');
  assert.equal(tcp.info.client.ip, '10.0.0.5');
  assert.equal(udp.data[0], 'dns-ish');
  assert.ok(udp.end);
}

describe('sensor: impossible capture timestamps', function () {
  this.timeout(60_000);
  const c = conversation();
  const n = c.frames.length;

  for (const [name, opts] of [
    ['if_tsresol says seconds, timestamps are µs (~1e21 µs)', { tsresolByte: 0 }],
    ['if_tsresol 2^0 per second (~1e21 µs)', { tsresolByte: 0x80 }],
    ['if_tsoffset of 2^40 s (~1e18 µs, year 36000)', { tsoffset: 1n << 40n }],
    ['if_tsoffset of the largest signed 64-bit value (~1e25 µs)', { tsoffset: (1n << 63n) - 1n }],
    ['if_tsoffset of -2^40 s (negative)', { tsoffset: -(1n << 40n) }],
  ] as const) {
    it(`pcapng, ${name}: every frame counted, flows still reported`, () => {
      const out = runCaptureBounded(pcapngOf(c.frames, opts));
      assert.equal(out.counters.packets, n);
      assert.equal(out.counters.badTimestamps, n);
      assertFlows(out);
      // no good time was ever seen: every frame got time 0
      assert.equal(out.flows[0].info.firstTs, 0);
    });
  }

  it('pcapng, if_tsoffset of 2^54 s, frames seconds apart (the original hang: past 2^53 s a second counter stands still)', () => {
    const slow = conversation(5_000_000);
    const out = runCaptureBounded(pcapngOf(slow.frames, { tsoffset: 1n << 54n }));
    assert.equal(out.counters.badTimestamps, slow.frames.length);
    assertFlows(out);
  });

  it('classic pcap, some records at 0xffffffff s (year 2106): those counted, the others keep their times', () => {
    const bad = new Set([3, 5, 8]);
    const frames: Frame[] = c.frames.map((f, i) => (bad.has(i) ? { ...f, tsMicros: 0xffffffff * 1e6 + 17 } : f));
    const cap = new Capture();
    cap.frames = frames;
    const out = runCaptureBounded(cap.pcap());
    assert.equal(out.counters.packets, n);
    assert.equal(out.counters.badTimestamps, bad.size);
    assertFlows(out);
    const tcp = out.flows.find((f) => f.info.transport === 'tcp')!;
    assert.equal(tcp.info.firstTs, c.frames[0].tsMicros);
    // the last TCP frame (index n-2: the UDP datagram is last) kept its own time
    assert.equal(tcp.end!.counters.lastTs, c.frames[n - 2].tsMicros);
  });

  it('a good time after impossible ones: every byte still delivered, the clock moves on from the good time', () => {
    const frames: Frame[] = c.frames.map((f, i) => (i < 4 ? { ...f, tsMicros: 0xffffffff * 1e6 } : f));
    const cap = new Capture();
    cap.frames = frames;
    const out = runCaptureBounded(cap.pcap());
    assert.equal(out.error, undefined);
    assert.equal(out.counters.badTimestamps, 4);
    // the flow begun before any good time starts at the first good one: one flow, not split in two
    const tcp = out.flows.filter((f) => f.info.transport === 'tcp');
    assert.equal(tcp.length, 1);
    assert.equal(tcp[0].info.clientBy, 'syn');
    assert.equal(tcp[0].data[0], CLIENT);
    assert.equal(tcp[0].data[1], SERVER);
    const udp = out.flows.find((f) => f.info.transport === 'udp')!;
    assert.equal(udp.info.firstTs, c.frames[n - 1].tsMicros);
  });

  it('analyze: finishes, says how many timestamps were impossible, reports the flows', () => {
    const file = tmpFile(pcapngOf(c.frames, { tsresolByte: 0 }), '.pcapng');
    const r = shadowim(['analyze', file, '--format', 'jsonl'], { timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`: ${n} packets, .*, 2 flows, .*${n} with impossible timestamps, `));
    const stats = r.events.find((e) => e.type === 'stats');
    assert.equal(stats?.packets, n);
    assert.equal(stats?.flows, 2);
  });

  it('the stats event of a capture with no packet carries the time of the run, not 1970', () => {
    const before = Date.now();
    const r = shadowim(['analyze', tmpFile(new Capture().pcap(), '.pcap'), '--format', 'jsonl'], { timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    const stats = r.events.find((e) => e.type === 'stats')!;
    assert.equal(stats.packets, 0);
    const t = Date.parse(stats.ts);
    assert.ok(t >= before - 1000 && t <= Date.now() + 1000, stats.ts);
  });

  it('the stats event of a capture carries its newest packet\'s time', () => {
    const c = conversation();
    const r = shadowim(['analyze', tmpFile(c.pcap(), '.pcap'), '--format', 'jsonl'], { timeout: 30_000 });
    assert.equal(r.events.find((e) => e.type === 'stats')!.ts, new Date(Math.floor(c.frames[c.frames.length - 1].tsMicros / 1000)).toISOString());
  });
});

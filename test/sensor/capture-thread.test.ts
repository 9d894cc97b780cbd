// `analyze` on two threads: the packet path in a worker, the inspector here, joined by the flow
// channel (a shared ring). The inspector must see exactly the calls it sees in one thread — the same
// flows, bytes, gaps, end counters and ticks, in the same order — whatever the ring's size, when
// handlers stop wanting data mid-flow, when table slots are reused, and when a delivery is larger than
// a ring record. Ground truth is the one-thread packet path, which the rest of the sensor tests pin.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { Capture, ether, ipPacket, ipv4Fragments, udpHeader, parseEp } from '../helpers/pcapgen';
import { CLI, PCAPS_DIR, havePcaps } from '../helpers/paths';
import { startCaptureThread } from '../../sensor/captureThread';
import { CaptureReader, openCapture } from '../../sensor/captureFile';
import { Recorder, runCapture, tmpFile } from './record';
import { PacketPath, type PacketPathOptions } from '../../sensor/packetPath';
import type { FlowInspector } from '../../sensor/types';
import { rng } from '../../common/rng';

/** A recorder's calls as one comparable value (FlowInfo's id is a getter: taken explicitly). */
function transcript(rec: Recorder): unknown {
  return {
    ticks: rec.ticks,
    flows: rec.flows.map((f) => ({
      id: f.info.id,
      info: JSON.parse(JSON.stringify(f.info)),
      calls: f.calls,
      data: [f.data[0].toString('base64'), f.data[1].toString('base64')],
      datagrams: f.datagrams.map((d) => d.map((b) => b.length)),
      end: f.end,
      endCalls: f.endCalls,
    })),
  };
}

/** The one-thread packet path over `file` into `insp`, to the end (what the two-thread runs must match). */
async function oneThread(file: string, insp: FlowInspector): Promise<void> {
  const pp = new PacketPath(insp, {});
  await new CaptureReader(openCapture(file), pp).run();
  pp.finish();
}

async function threaded(file: string, opts: PacketPathOptions & { wantBytes?: number }, ringBytes: number) {
  const rec = new Recorder(opts.wantBytes);
  const r = await startCaptureThread(openCapture(file), opts, ringBytes).run(rec);
  return { rec, r };
}

/** Many interleaved flows: reordering, retransmissions, holes, resets, UDP, IPv6, big datagrams. */
function busyCapture(): Buffer {
  const c = new Capture();
  c.step = 20_000; // 50 packets a second: ticks (one per second of capture time) happen
  const convs = [];
  for (let i = 0; i < 60; i++) {
    const cl = i % 7 === 3 ? `[2001:db8::${i + 1}]:${40000 + i}` : `10.1.${i >> 4}.${(i & 15) + 2}:${40000 + i}`;
    const sv = i % 7 === 3 ? `[2001:db8:1::5]:${5000 + (i % 5)}` : `192.0.2.${(i % 9) + 10}:${5000 + (i % 5)}`;
    convs.push(c.tcp(cl, sv).open());
  }
  for (let round = 0; round < 4; round++) {
    convs.forEach((t, i) => {
      const body = Buffer.alloc(300 + ((i * 977 + round * 131) % 3000), `r${round}f${i}-`);
      if (i % 5 === 1) t.send('c', body, { segment: 400, reorder: [1, 0, 2, 3, 4, 5, 6, 7].filter((k) => k * 400 < body.length) });
      else if (i % 5 === 2) t.send('s', body, { segment: 500, retransmit: [0] });
      else if (i % 5 === 3) t.send('c', body, { segment: 300, drop: [1] });
      else t.send(i % 2 ? 'c' : 's', body);
      if (i % 11 === 0) c.udp(`10.9.0.${i + 1}:5353`, '192.0.2.99:53', Buffer.alloc(40 + i, i));
    });
  }
  // a datagram of 40 KB in IPv4 fragments: larger than a record of a small ring
  const a = parseEp('10.2.0.1:4000'), b = parseEp('192.0.2.77:9999');
  const big = ipPacket(a.ip, b.ip, 17, udpHeader(a, b, Buffer.alloc(40_000, 7)));
  for (const f of ipv4Fragments(big, 1480)) c.add(ether(f));
  convs.forEach((t, i) => (i % 3 === 0 ? t.close() : undefined));
  return c.pcap();
}

describe('sensor: analyze on two threads (the flow channel)', function () {
  this.timeout(120_000);
  const file = tmpFile(busyCapture());

  for (const [name, opts, ring] of [
    ['every byte wanted, a 4 KiB ring (wraps and waits all the time)', {}, 4096],
    ['handlers that stop wanting data after 700 bytes, 8 KiB ring', { wantBytes: 700 }, 8192],
    ['16 table slots (flows evicted, slots reused), 64 KiB ring', { maxFlows: 16, wantBytes: 2000 }, 65536],
    ['the default ring', {}, undefined],
  ] as [string, PacketPathOptions & { wantBytes?: number }, number | undefined][]) {
    it(`the inspector sees what it sees in one thread: ${name}`, async () => {
      const one = await runCapture(file, opts);
      const two = await threaded(file, opts, ring ?? 8 << 20);
      assert.ok(one.rec.flows.length >= 60, `flows seen: ${one.rec.flows.length}`);
      assert.ok(one.rec.ticks.length > 0, 'the capture spans several seconds: ticks happen');
      assert.deepEqual(transcript(two.rec), transcript(one.rec));
      assert.deepEqual(two.r.counters, one.counters);
      assert.equal(two.r.failure, undefined);
      assert.equal(two.r.internalErrors + two.r.inspectorErrors, 0);
      if (ring === 4096) assert.ok(two.r.ringWaits > 0, 'a 4 KiB ring must have made the worker wait');
    });
  }

  it('a truncated capture: every flow before the cut, then the same one-line reason', async () => {
    const whole = fs.readFileSync(file);
    const cut = tmpFile(whole.subarray(0, Math.floor(whole.length * 0.6) + 5));
    const one = await runCapture(cut, {});
    const two = await threaded(cut, {}, 16384);
    assert.match(one.error ?? '', /truncated/);
    assert.equal(two.r.failure, one.error);
    assert.deepEqual(transcript(two.rec), transcript(one.rec));
  });

  it('mutated captures (seeded byte flips): the same calls on two threads as on one', async () => {
    const whole = fs.readFileSync(file);
    const r = rng(0x5eed7);
    let damaged = 0;
    for (let run = 0; run < 24; run++) {
      const m = Buffer.from(whole);
      const flips = 1 + Math.floor(r() * 40);
      for (let i = 0; i < flips; i++) m[24 + Math.floor(r() * (m.length - 24))] = Math.floor(r() * 256);
      const f = tmpFile(m);
      const opts = run % 3 === 0 ? { wantBytes: 500, maxFlows: 32 } : {};
      const one = await runCapture(f, opts);
      const two = await threaded(f, opts, run % 2 ? 4096 : 65536);
      assert.equal(two.r.failure, one.error, `run ${run}`);
      assert.deepEqual(two.r.counters, one.counters, `run ${run}`);
      assert.deepEqual(transcript(two.rec), transcript(one.rec), `run ${run} (seed 0x5eed7)`);
      assert.equal(two.r.internalErrors + two.r.inspectorErrors, 0, `run ${run}`);
      if (one.error || one.counters.malformed > 0) damaged++;
    }
    assert.ok(damaged >= 6, `mutations reached the decoders (${damaged} of 24 runs damaged)`);
  });

  it('shadowim analyze prints the same events and summary with --threads 1 and --threads 2', () => {
    const files = [file];
    if (havePcaps()) {
      for (const d of fs.readdirSync(PCAPS_DIR, { withFileTypes: true })) {
        if (!d.isDirectory()) continue;
        for (const f of fs.readdirSync(path.join(PCAPS_DIR, d.name))) if (/\.(pcap|pcapng|cap)$/.test(f)) files.push(path.join(PCAPS_DIR, d.name, f));
      }
    }
    const run = (f: string, t: string) => {
      const r = spawnSync(process.execPath, [CLI, 'analyze', f, '--format', 'jsonl', '--threads', t], { encoding: 'utf8', maxBuffer: 256 << 20 });
      return { status: r.status, out: r.stdout, err: r.stderr.replace(/ in [0-9.]+ s \([0-9,]+ packets\/s\)/, '') };
    };
    let events = 0;
    for (const f of files) {
      const a = run(f, '1'), b = run(f, '2');
      assert.equal(b.status, a.status, f);
      assert.equal(b.err, a.err, f);
      assert.equal(b.out, a.out, f);
      events += a.out.split('\n').length;
    }
    assert.ok(events > files.length, 'events were printed');
  });

  it('a handler that says it is finished is let go, on one thread and on two: no onEnd, no more data', async () => {
    // odd flows finish after their first payload, even ones keep wanting data
    const make = () => {
      const seen = { ends: 0, dataAfterFinish: 0, finished: 0, flows: 0 };
      const insp = {
        newFlow() {
          const n = seen.flows++;
          const h = {
            wantsData: true,
            finished: false,
            onData() {
              if (h.finished) seen.dataAfterFinish++;
              if (n % 2 === 1) {
                h.wantsData = false;
                h.finished = true;
                seen.finished++;
              }
            },
            onGap() {},
            onEnd() {
              if (h.finished) seen.ends++;
              else seen.ends += 1000;
            },
          };
          return h;
        },
      };
      return { seen, insp };
    };
    const one = make();
    await oneThread(file, one.insp);
    const two = make();
    await startCaptureThread(openCapture(file), {}, 4096).run(two.insp);
    for (const { seen } of [one, two]) {
      assert.ok(seen.finished > 20, `flows finished early: ${seen.finished}`);
      assert.equal(seen.dataAfterFinish, 0);
      // every unfinished flow ended once (1000 each); no finished one was ended
      assert.equal(seen.ends, (seen.flows - seen.finished) * 1000);
    }
    assert.deepEqual(two.seen, one.seen);
  });

  it('a UDP handler that lets go with reopen: the next datagram with payload opens a new one, on one thread and on two', async () => {
    const c = new Capture();
    c.step = 1000;
    // one client socket: datagrams 'k…' keep the handler, 'x…' let it go (reopen); an empty datagram opens nothing
    const sock = ['10.3.0.5:40000', '192.0.2.53:53'] as const;
    for (const [i, p] of ['k1', 'x2', 'k3', 'x4', '', 'x6', 'k7'].entries()) c.udp(...sock, p, i % 2 ? 's' : 'c');
    c.udp(...sock, '');
    // a TCP flow whose handler sets reopen too: TCP is never re-opened
    const t = c.tcp('10.3.0.6:40001', '192.0.2.80:80').open();
    t.send('c', 'x-first').send('c', 'x-second').close();
    const f = tmpFile(c.pcap());
    const make = () => {
      const log: string[] = [];
      const insp = {
        newFlow(info: { id: string; transport: string }) {
          log.push(`open ${info.transport} ${info.id}`);
          const h = {
            wantsData: true,
            finished: false,
            reopen: false,
            onData(_d: number, data: Buffer) {
              log.push(`data ${data.toString()}`);
              if (data[0] === 0x78) {
                h.wantsData = false;
                h.finished = true;
                h.reopen = true;
              }
            },
            onGap() {},
            onEnd() {
              log.push('end');
            },
          };
          return h;
        },
      };
      return { log, insp };
    };
    const one = make();
    await oneThread(f, one.insp);
    const udpId = one.log[0].split(' ')[2];
    assert.deepEqual(one.log.filter((l) => !l.includes(' tcp ') && !/data x-/.test(l)), [
      `open udp ${udpId}`, 'data k1', 'data x2', `open udp ${udpId}`, 'data k3', 'data x4', `open udp ${udpId}`, 'data x6', `open udp ${udpId}`, 'data k7', 'end',
    ]);
    assert.equal(one.log.filter((l) => l.includes(' tcp ')).length, 1, 'the TCP flow is opened once');
    assert.ok(one.log.includes('data x-first') && !one.log.includes('data x-second'), 'a TCP handler that let go gets nothing more');
    for (const ring of [4096, 1 << 20]) {
      const two = make();
      await startCaptureThread(openCapture(f), {}, ring).run(two.insp);
      assert.deepEqual(two.log, one.log, `ring ${ring}`);
    }
  });

  it('--threads takes 1 or 2 and says so otherwise', () => {
    const r = spawnSync(process.execPath, [CLI, 'analyze', file, '--threads', '3'], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--threads must be 1 or 2, not '3'/);
  });
});

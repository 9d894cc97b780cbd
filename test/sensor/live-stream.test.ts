// The frame stream between the sensor's capture process and its analysis process (sensor/frameStream.ts):
// what goes in comes out, in any chunking; a lying stream stops the reader without a crash or an
// allocation; a full queue drops frames and counts them. No capture needed.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  FrameQueue, FrameStreamReader, WorkerWriter, STREAM_MAGIC, REC_HEADER, frameRecord, countersRecord, emptyCounters,
  type BatchWriter,
} from '../../sensor/frameStream';

interface Got { lt: number; ts: number; data: Buffer; orig: number }

function collector(): { frames: Got[]; frame(lt: number, ts: number, b: Buffer, off: number, len: number, orig: number): void } {
  const frames: Got[] = [];
  return {
    frames,
    frame(lt, ts, b, off, len, orig) {
      frames.push({ lt, ts, data: Buffer.from(b.subarray(off, off + len)), orig });
    },
  };
}

/** A writer that keeps every batch; `paused` holds back the progress the queue sees. */
class MemoryWriter implements BatchWriter {
  batches: Buffer[] = [];
  total = 0;
  paused = false;
  private done = 0;
  write(b: Buffer): void {
    this.batches.push(Buffer.from(b));
    this.total += b.length;
    if (!this.paused) this.done = this.total;
  }
  written(): number {
    return this.done;
  }
  resume(): void {
    this.paused = false;
    this.done = this.total;
  }
  bytes(): Buffer {
    return Buffer.concat(this.batches);
  }
}

/** deterministic pseudo-random numbers */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function frameOf(i: number, len: number): Buffer {
  const b = Buffer.alloc(len);
  for (let k = 0; k < len; k++) b[k] = (i * 31 + k) & 0xff;
  if (len >= 4) b.writeUInt32LE(i, 0);
  return b;
}

function feed(reader: FrameStreamReader, bytes: Buffer, sizes: () => number): boolean {
  let ok = true;
  for (let p = 0; p < bytes.length && ok;) {
    const n = Math.max(1, Math.min(bytes.length - p, sizes()));
    ok = reader.push(bytes.subarray(p, p + n));
    p += n;
  }
  return ok;
}

describe('live sensor frame stream', () => {
  it('round trip: every frame (link type, time, bytes, original length) and the counters, in any chunking', () => {
    const w = new MemoryWriter();
    const q = new FrameQueue(w, { limit: 64 << 20, batchSize: 70000 });
    const r = rng(7);
    const sent: Got[] = [];
    const lts = [1, 113, 276, 101];
    for (let i = 0; i < 3000; i++) {
      // sizes from empty to the largest frame cap delivers, so records straddle batches and chunks
      const len = i % 500 === 0 ? 65535 : Math.floor(r() * 1600);
      const data = frameOf(i, len);
      const ts = 1_764_000_000_000_000 + i * 137;
      const orig = i % 7 === 0 ? len + 100 : len;
      q.frame(lts[i % 4], ts, data, 0, len, orig);
      sent.push({ lt: lts[i % 4], ts, data, orig });
      if (i % 97 === 0) q.flush();
    }
    q.end(1_764_000_001_000_000);
    const bytes = w.bytes();
    assert.ok(bytes.subarray(0, 8).equals(STREAM_MAGIC));
    for (const sizes of [() => 1, () => 7, () => 65536, () => 1 + Math.floor(r() * 100000)]) {
      const sink = collector();
      const reader = new FrameStreamReader(sink);
      assert.ok(feed(reader, bytes, sizes), reader.error);
      assert.equal(reader.error, undefined);
      assert.equal(reader.partial, 0);
      assert.equal(sink.frames.length, sent.length);
      for (let i = 0; i < sent.length; i++) {
        const a = sink.frames[i], b = sent[i];
        assert.equal(a.lt, b.lt, `frame ${i} link type`);
        assert.equal(a.ts, b.ts, `frame ${i} time`);
        assert.equal(a.orig, b.orig, `frame ${i} original length`);
        assert.ok(a.data.equals(b.data), `frame ${i} bytes`);
      }
      assert.equal(reader.frames, 3000);
      assert.deepEqual(reader.counters, { ...q.snapshot(), queued: reader.counters!.queued });
      assert.equal(reader.counters!.received, 3000);
      assert.equal(reader.counters!.queueDropped, 0);
    }
  });

  it('clock records reach the sink in order with the frames (a quiet link), in any chunking; one with a body is an error', () => {
    const w = new MemoryWriter();
    const q = new FrameQueue(w, { limit: 1 << 20 });
    const T = 1_764_000_000_000_000;
    q.frame(1, T, frameOf(1, 60), 0, 60, 60);
    q.clock(T + 1_000_000);
    q.clock(T + 2_000_000);
    q.frame(1, T + 2_500_000, frameOf(2, 60), 0, 60, 60);
    q.end(T + 3_000_000);
    for (const sizes of [() => 1, () => 13, () => 1 << 16]) {
      const seen: string[] = [];
      const reader = new FrameStreamReader({
        frame: (_lt, ts) => seen.push(`frame ${ts - T}`),
        advance: (ts) => seen.push(`clock ${ts - T}`),
      });
      assert.ok(feed(reader, w.bytes(), sizes), reader.error);
      assert.deepEqual(seen, ['frame 0', 'clock 1000000', 'clock 2000000', 'frame 2500000']);
      assert.equal(reader.frames, 2);
    }
    // a sink without advance() ignores clock records
    const plain = collector();
    assert.ok(new FrameStreamReader(plain).push(w.bytes()));
    assert.equal(plain.frames.length, 2);
    // a clock record claiming a body
    const bad = Buffer.concat([STREAM_MAGIC, Buffer.alloc(REC_HEADER)]);
    bad[8] = 3;
    bad.writeUInt32LE(8, 8 + 4);
    const reader = new FrameStreamReader(collector());
    assert.equal(reader.push(bad), false);
    assert.match(reader.error ?? '', /a clock record of 8 bytes/);
  });

  it('a length that lies stops the reader at that record, without a crash, an allocation or another frame', () => {
    const good = frameRecord(1, 1e15, Buffer.from('ok'));
    const lie = (mut: (b: Buffer) => void): Buffer => {
      const b = frameRecord(1, 2e15, Buffer.alloc(40, 0x41));
      mut(b);
      return b;
    };
    const cases: [string, Buffer, RegExp][] = [
      ['a frame longer than 65535', lie((b) => b.writeUInt32LE(70000, 4)), /a frame of 70000 bytes \(at most 65535\) at byte 30/],
      ['a 4 GiB frame', lie((b) => b.writeUInt32LE(0xffffffff, 4)), /a frame of 4294967295 bytes/],
      ['captured longer than the original', lie((b) => b.writeUInt32LE(10, 8)), /longer than its original length 10/],
      ['an unknown record type', lie((b) => (b[0] = 9)), /unknown type 9/],
      ['an empty counters record', lie((b) => { b[0] = 2; b.writeUInt32LE(0, 4); }), /a counters record of 0 bytes/],
      ['a huge counters record', lie((b) => { b[0] = 2; b.writeUInt32LE(1 << 30, 4); }), /a counters record of 1073741824 bytes/],
    ];
    for (const [name, rec, re] of cases) {
      const bytes = Buffer.concat([STREAM_MAGIC, good, rec, good, good]);
      for (const sizes of [() => 1, () => 3, () => bytes.length]) {
        const sink = collector();
        const reader = new FrameStreamReader(sink);
        const before = process.memoryUsage().arrayBuffers;
        assert.equal(feed(reader, bytes, sizes), false, name);
        assert.match(reader.error ?? '', re, name);
        assert.ok(process.memoryUsage().arrayBuffers - before < 1 << 20, `${name}: no allocation from the lying length`);
        assert.deepEqual(sink.frames.map((f) => f.data.toString()), ['ok'], `${name}: only the frame before it`);
        assert.equal(reader.push(good), false, 'nothing more after the error');
        assert.equal(sink.frames.length, 1);
      }
    }
    const notOurs = new FrameStreamReader(collector());
    assert.equal(notOurs.push(Buffer.from('GET / HTTP/1.1\r\n')), false);
    assert.match(notOurs.error!, /frame stream header/);
  });

  it('random bytes after the header: never throws, stops or waits, delivers only bounded frames', () => {
    const r = rng(42);
    for (let round = 0; round < 300; round++) {
      const junk = Buffer.alloc(1 + Math.floor(r() * 4000));
      for (let i = 0; i < junk.length; i++) junk[i] = Math.floor(r() * 256);
      // plausible headers now and then, so that some records parse and some lie
      if (round % 2) junk[0] = 1 + (round % 3 === 0 ? 1 : 0);
      const sink = collector();
      const reader = new FrameStreamReader(sink);
      feed(reader, Buffer.concat([STREAM_MAGIC, junk]), () => 1 + Math.floor(r() * 300));
      for (const f of sink.frames) assert.ok(f.data.length <= 65535 && f.orig >= f.data.length);
      assert.ok(reader.partial <= REC_HEADER + 65535);
    }
  });

  it('a record cut by the end of the stream is left over, not delivered (the capture process died mid-write)', () => {
    const rec = frameRecord(1, 1e15, Buffer.alloc(300, 1));
    const sink = collector();
    const reader = new FrameStreamReader(sink);
    assert.ok(reader.push(Buffer.concat([STREAM_MAGIC, frameRecord(1, 1e15, Buffer.from('a')), rec.subarray(0, 150)])));
    assert.equal(sink.frames.length, 1);
    assert.equal(reader.partial, 150);
    assert.equal(reader.counters, undefined, 'no counters record: not a clean end');
  });

  it('a full queue drops frames and counts them while the consumer is paused, then takes frames again', () => {
    const w = new MemoryWriter();
    w.paused = true; // the analysis is not reading: nothing leaves the queue
    const limit = 4096;
    const q = new FrameQueue(w, { limit, batchSize: 70000 });
    for (let i = 0; i < 100; i++) q.frame(1, 1000 + i, frameOf(i, 100), 0, 100, 100);
    const fit = Math.floor((limit - STREAM_MAGIC.length) / (REC_HEADER + 100));
    assert.equal(q.counters.received, 100);
    assert.equal(q.counters.queueDropped, 100 - fit);
    assert.equal(q.counters.queueDroppedBytes, (100 - fit) * 100);
    assert.ok(q.counters.queuePeak <= limit && q.counters.queuePeak > limit - 120, `peak ${q.counters.queuePeak}`);
    q.flush();
    for (let i = 100; i < 110; i++) q.frame(1, 1000 + i, frameOf(i, 100), 0, 100, 100);
    assert.equal(q.counters.queueDropped, 100 - fit + 10, 'still full: flushing does not empty the queue');
    w.resume(); // the analysis caught up
    for (let i = 110; i < 120; i++) q.frame(1, 1000 + i, frameOf(i, 100), 0, 100, 100);
    assert.equal(q.counters.queueDropped, 100 - fit + 10, 'room again');
    q.end(5000);
    const sink = collector();
    const reader = new FrameStreamReader(sink);
    assert.ok(reader.push(w.bytes()), reader.error);
    const ids = sink.frames.map((f) => f.data.readUInt32LE(0));
    const expected = [...Array.from({ length: fit }, (_, i) => i), ...Array.from({ length: 10 }, (_, i) => 110 + i)];
    assert.deepEqual(ids, expected, 'the frames that fit, in order');
    assert.equal(reader.counters!.received, 120);
    assert.equal(reader.counters!.queueDropped, 120 - expected.length);
    assert.equal(reader.counters!.queueLimit, limit);
  });

  it('through a real pipe and the writer thread: a paused reader makes the queue drop and count; the rest arrives in order', async function () {
    this.timeout(30000);
    if (spawnSync('sh', ['-c', 'command -v mkfifo'], { stdio: 'ignore' }).status !== 0) this.skip();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-fs-'));
    const fifo = path.join(dir, 'frames');
    try {
      assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
      const rfd = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
      const wfd = fs.openSync(fifo, 'w');
      const writer = new WorkerWriter(wfd);
      const limit = 1 << 20;
      // default batches: full ones go to the writer thread and come back to be filled again
      const q = new FrameQueue(writer, { limit });
      const n = 5000; // 5000 × 1020 bytes ≈ 5 MB into a 1 MiB queue and a 64 KiB pipe that nobody reads
      for (let i = 0; i < n; i++) {
        q.frame(1, i, frameOf(i, 1000), 0, 1000, 1000);
        if (i % 50 === 0) await new Promise((r) => setImmediate(r)); // written batches come back meanwhile
      }
      assert.ok(q.counters.queueDropped > 0, 'frames dropped while the reader was paused');
      assert.ok(q.counters.queuePeak <= limit);
      q.end(n);
      const closing = writer.close();
      // now read everything, to the end of the stream
      const sink = collector();
      const reader = new FrameStreamReader(sink);
      const buf = Buffer.alloc(1 << 16);
      for (;;) {
        let got: number;
        try {
          got = fs.readSync(rfd, buf, 0, buf.length, null);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
          await new Promise((r) => setTimeout(r, 2));
          continue;
        }
        if (got === 0) break;
        assert.ok(reader.push(buf.subarray(0, got)), reader.error);
      }
      await closing;
      fs.closeSync(rfd);
      const c = reader.counters!;
      assert.ok(c, 'the counters record closes the stream');
      assert.equal(c.received, n);
      assert.equal(c.queueDropped, q.counters.queueDropped);
      assert.equal(reader.frames + c.queueDropped, n, 'every frame either arrived or was counted as dropped');
      const ids = sink.frames.map((f) => f.data.readUInt32LE(0));
      for (let i = 1; i < ids.length; i++) assert.ok(ids[i] > ids[i - 1], 'in order');
      for (const f of sink.frames) assert.ok(f.data.equals(frameOf(f.data.readUInt32LE(0), 1000)));
      assert.equal(writer.error, undefined);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('counters records carry every field, and a reader ignores fields it does not know', () => {
    const c = { ...emptyCounters(), received: 5, bytes: 500, truncated: 1, queueDropped: 2, queueDroppedBytes: 200, queued: 0, queuePeak: 300, queueLimit: 1 << 20 };
    const rec = countersRecord(c, 1e15);
    const longer = Buffer.concat([rec, Buffer.alloc(16, 0x7f)]);
    longer.writeUInt32LE(rec.length - REC_HEADER + 16, 4);
    for (const r of [rec, longer]) {
      const reader = new FrameStreamReader(collector());
      assert.ok(reader.push(Buffer.concat([STREAM_MAGIC, r])), reader.error);
      assert.deepEqual(reader.counters, c);
    }
  });
});

// Append-only on-disk spool of line-protocol points: the write-ahead buffer between a sensor and
// InfluxDB. Points are appended to segment files and fsync'd in small batches; a reader sends them in
// order and acknowledges what InfluxDB accepted. Bounded in bytes: past the bound the oldest segment is
// dropped and its points counted in `dropped` (persisted). One directory per sensor; a lock file keeps a
// second process off it.

import fs from 'node:fs';
import path from 'node:path';
import { whyCannotWrite } from '../common/fsError';
import { makeNamedDir } from '../common/makeDirs';

export interface SpoolOptions {
  maxBytes: number;
  /** segment size (default maxBytes / 8) */
  segmentBytes?: number;
}

interface State {
  seg: number;
  off: number;
  dropped: number;
}

export class SpoolError extends Error {}

const SEG_RE = /^seg-(\d{12})\.lp$/;
const segName = (n: number) => `seg-${String(n).padStart(12, '0')}.lp`;

export class Spool {
  private segs: Array<{ n: number; size: number }> = [];
  private fd = -1;
  private buf: string[] = [];
  private bufBytes = 0;
  private state: State = { seg: 0, off: 0, dropped: 0 };
  private readonly segmentBytes: number;
  private readonly lockFile: string;
  /** points dropped in this process's lifetime (the persisted total is `dropped`) */
  droppedNow = 0;
  onDrop?: (n: number) => void;

  constructor(readonly dir: string, private readonly opts: SpoolOptions) {
    this.segmentBytes = Math.max(1024, opts.segmentBytes ?? Math.floor(opts.maxBytes / 8));
    makeNamedDir(dir, { label: 'spool', hint: 'fix influx.spool_dir', error: SpoolError });
    this.lockFile = path.join(dir, 'lock');
    this.lock();
    try {
      this.state = { ...this.state, ...JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8')) };
    } catch {
      /* new spool */
    }
    for (const f of fs.readdirSync(dir)) {
      const m = SEG_RE.exec(f);
      if (m) this.segs.push({ n: Number(m[1]), size: fs.statSync(path.join(dir, f)).size });
    }
    this.segs.sort((a, b) => a.n - b.n);
    const last = this.segs[this.segs.length - 1];
    // a process killed mid-write can leave half a line: cut it off
    if (last) last.size = this.truncatePartial(last.n, last.size);
    this.openSegment((last?.n ?? 0) + 1);
  }

  private lock(): void {
    for (let i = 0; i < 2; i++) {
      try {
        fs.writeFileSync(this.lockFile, String(process.pid), { flag: 'wx' });
        return;
      } catch (e: any) {
        if (e.code !== 'EEXIST') throw new SpoolError(`cannot use spool ${this.dir}: ${whyCannotWrite(e, this.lockFile)}; fix influx.spool_dir`);
        const pid = Number(fs.readFileSync(this.lockFile, 'utf8'));
        if (pid && pid !== process.pid && alive(pid)) throw new SpoolError(`spool ${this.dir} is in use by process ${pid}; give each sensor its own name (sensor.name) or spool_dir`);
        fs.rmSync(this.lockFile, { force: true }); // left by a process that died
      }
    }
  }

  private truncatePartial(n: number, size: number): number {
    if (!size) return 0;
    const file = path.join(this.dir, segName(n));
    const fd = fs.openSync(file, 'r+');
    try {
      const chunk = Buffer.alloc(Math.min(size, 65536));
      fs.readSync(fd, chunk, 0, chunk.length, size - chunk.length);
      const nl = chunk.lastIndexOf(10);
      const keep = nl < 0 ? size - chunk.length : size - chunk.length + nl + 1;
      if (keep !== size) fs.ftruncateSync(fd, keep);
      return keep;
    } finally {
      fs.closeSync(fd);
    }
  }

  private openSegment(n: number): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = fs.openSync(path.join(this.dir, segName(n)), 'a');
    this.segs.push({ n, size: 0 });
    this.fsyncDir();
  }

  private fsyncDir(): void {
    try {
      const d = fs.openSync(this.dir, 'r');
      fs.fsyncSync(d);
      fs.closeSync(d);
    } catch {
      /* not supported on every filesystem */
    }
  }

  /** Queues one line (no newline inside); written and fsync'd by sync(). */
  append(line: string): void {
    this.buf.push(line + '\n');
    this.bufBytes += line.length + 1;
  }

  get buffered(): number {
    return this.buf.length;
  }

  /** Writes queued lines and fsyncs them: from here on they survive a killed process. */
  sync(): void {
    if (!this.buf.length) return;
    const data = Buffer.from(this.buf.join(''));
    this.buf = [];
    this.bufBytes = 0;
    let cur = this.segs[this.segs.length - 1];
    if (cur.size > 0 && cur.size + data.length > this.segmentBytes) {
      this.openSegment(cur.n + 1);
      cur = this.segs[this.segs.length - 1];
    }
    fs.writeSync(this.fd, data);
    fs.fsyncSync(this.fd);
    cur.size += data.length;
    this.enforceBound();
  }

  /** bytes not yet acknowledged */
  pendingBytes(): number {
    let n = 0;
    for (const s of this.segs) if (s.n >= this.state.seg) n += s.size - (s.n === this.state.seg ? this.state.off : 0);
    return n;
  }

  get dropped(): number {
    return this.state.dropped;
  }

  private enforceBound(): void {
    // drop whole oldest segments (never the one being written) until under the bound
    while (this.pendingBytes() > this.opts.maxBytes && this.segs.length > 1) {
      const old = this.segs[0];
      const from = old.n === this.state.seg ? this.state.off : old.n > this.state.seg ? 0 : old.size;
      const lines = from < old.size ? countLines(path.join(this.dir, segName(old.n)), from) : 0;
      this.removeSegment(old.n);
      this.state.dropped += lines;
      this.droppedNow += lines;
      if (this.state.seg <= old.n) this.state = { ...this.state, seg: this.segs[0].n, off: 0 };
      this.saveState();
      if (lines) this.onDrop?.(lines);
    }
  }

  private removeSegment(n: number): void {
    fs.rmSync(path.join(this.dir, segName(n)), { force: true });
    this.segs = this.segs.filter((s) => s.n !== n);
  }

  /**
   * Up to `maxLines` complete lines from the acknowledged position, oldest first, and the position after
   * them (pass it to ack()). Only lines already sync()'d are read.
   */
  read(maxLines: number, maxBytes = 8 << 20): { lines: string[]; pos: { seg: number; off: number } } | undefined {
    let { seg, off } = this.state;
    const lines: string[] = [];
    let bytes = 0;
    for (;;) {
      const s = this.segs.find((x) => x.n === seg);
      if (!s) {
        const next = this.segs.find((x) => x.n > seg);
        if (!next) break;
        (seg = next.n), (off = 0);
        continue;
      }
      if (off >= s.size) {
        const next = this.segs.find((x) => x.n > seg);
        if (!next || lines.length >= maxLines) break;
        (seg = next.n), (off = 0);
        continue;
      }
      if (lines.length >= maxLines || bytes >= maxBytes) break;
      const want = Math.min(s.size - off, 1 << 20);
      const b = Buffer.alloc(want);
      const fd = fs.openSync(path.join(this.dir, segName(seg)), 'r');
      try {
        fs.readSync(fd, b, 0, want, off);
      } finally {
        fs.closeSync(fd);
      }
      let start = 0;
      while (lines.length < maxLines && bytes < maxBytes) {
        const nl = b.indexOf(10, start);
        if (nl < 0) break;
        lines.push(b.toString('utf8', start, nl));
        bytes += nl + 1 - start;
        start = nl + 1;
      }
      if (start === 0) break; // a line longer than the read window: cannot happen with capped fields
      off += start;
    }
    if (!lines.length) return undefined;
    return { lines, pos: { seg, off } };
  }

  /** Marks everything before `pos` as delivered; finished segments are deleted. */
  ack(pos: { seg: number; off: number }): void {
    // the position may name a segment dropped meanwhile by the bound: never move backwards
    if (pos.seg < this.state.seg) return;
    this.state = { ...this.state, seg: pos.seg, off: pos.off };
    for (const s of [...this.segs]) if (s.n < pos.seg) this.removeSegment(s.n);
    this.saveState();
  }

  private saveState(): void {
    const tmp = path.join(this.dir, 'state.json.tmp');
    fs.writeFileSync(tmp, JSON.stringify(this.state));
    fs.renameSync(tmp, path.join(this.dir, 'state.json'));
  }

  close(): void {
    this.sync();
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
    // an empty last segment is not worth keeping
    const last = this.segs[this.segs.length - 1];
    if (last && last.size === 0 && this.segs.length > 1) this.removeSegment(last.n);
    this.saveState();
    fs.rmSync(this.lockFile, { force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e: any) {
    return e.code === 'EPERM';
  }
}

function countLines(file: string, from: number): number {
  const b = fs.readFileSync(file);
  let n = 0;
  for (let i = from; i < b.length; i++) if (b[i] === 10) n++;
  return n;
}

// Bounded on-disk spool for carved files waiting to be scanned: a private directory (0700), files
// named by random ids (never the wire name, mode 0600), a per-file bound and a total budget shared
// by every file being spooled. A spool over a bound is deleted at once; its carve is still hashed.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CarveSpool } from '../../signatures/carve';
import { ByteQueue } from '../../signatures/text';
import { makeDirs } from '../../common/makeDirs';

// written in 64 KiB blocks: with up to 1024 carves open at once this bounds the buffers to 64 MiB
const FLUSH_BYTES = 64 * 1024;
// spool files carry the writer's pid: several processes may share a quarantine's work directory
const PREFIX = `spool-${process.pid}-`;

export class SpoolDir {
  private dir: string | undefined;
  private made = false;
  /** bytes held by open or not-yet-released spools */
  used = 0;
  readonly stats = { spooled: 0, tooLarge: 0, spoolFull: 0 };

  /** `dir` undefined = a private directory under the system temp dir, removed by cleanup() */
  constructor(private readonly wanted: string | undefined, readonly maxFileBytes: number, readonly maxTotalBytes: number) {}

  /** the directory, created on first use */
  path(): string {
    if (this.dir) return this.dir;
    if (this.wanted) {
      makeDirs(this.wanted, 0o700);
      fs.chmodSync(this.wanted, 0o700);
      this.dir = this.wanted;
      sweepStale(this.wanted);
    } else {
      this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-files-'));
      this.made = true;
    }
    return this.dir;
  }

  open(): FileSpool {
    this.stats.spooled++;
    return new FileSpool(this, path.join(this.path(), `${PREFIX}${crypto.randomBytes(12).toString('hex')}`));
  }

  /** removes every spool file left (and the directory when it was a private temp dir) */
  cleanup(): void {
    if (!this.dir) return;
    try {
      for (const f of fs.readdirSync(this.dir)) if (f.startsWith(PREFIX)) fs.rmSync(path.join(this.dir, f), { force: true });
      if (this.made) fs.rmdirSync(this.dir);
    } catch {
      /* best effort */
    }
    this.dir = undefined;
  }
}

export class FileSpool implements CarveSpool {
  private fd: number | undefined;
  /** bytes not written yet: one buffer of at most FLUSH_BYTES (a Buffer per write cost ~110 bytes a byte in 1-byte writes) */
  private q = new ByteQueue();
  /** bytes accepted (charged to the budget) */
  size = 0;
  refused?: 'too-large' | 'spool-full';
  private released = false;

  constructor(private readonly owner: SpoolDir, readonly path: string) {}

  write(data: Buffer): boolean {
    if (this.refused || this.released) return false;
    if (this.size + data.length > this.owner.maxFileBytes) {
      this.refused = 'too-large';
      this.owner.stats.tooLarge++;
      return false;
    }
    if (this.owner.used + data.length > this.owner.maxTotalBytes) {
      this.refused = 'spool-full';
      this.owner.stats.spoolFull++;
      return false;
    }
    this.owner.used += data.length;
    this.size += data.length;
    try {
      // written before the buffer would grow past FLUSH_BYTES: it stays one 64 KiB block
      if (this.q.length && this.q.length + data.length > FLUSH_BYTES) this.flush();
      this.q.push(data);
      if (this.q.length >= FLUSH_BYTES) this.flush();
    } catch {
      this.refused = 'spool-full'; // disk full or the directory went away: never an error on the packet path
      this.owner.stats.spoolFull++;
      return false;
    }
    return true;
  }

  private flush(): void {
    if (this.fd === undefined) this.fd = fs.openSync(this.path, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | (fs.constants.O_NOFOLLOW ?? 0), 0o600);
    const buf = this.q.view();
    this.q.clear();
    let off = 0;
    while (off < buf.length) off += fs.writeSync(this.fd, buf, off);
  }

  close(): void {
    if (this.released) return;
    this.flush(); // also creates an empty file for an empty transfer
    this.q = new ByteQueue(); // a closed spool waiting for its scan holds no block
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }

  abort(): void {
    this.release();
  }

  /** the file was moved away (quarantine): only give the budget back */
  handedOver(): void {
    if (this.released) return;
    this.released = true;
    this.owner.used -= this.size;
  }

  /** delete the file and give its bytes back to the budget */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.q = new ByteQueue();
    if (this.fd !== undefined) {
      try {
        fs.closeSync(this.fd);
      } catch {
        /* already closed */
      }
      this.fd = undefined;
    }
    fs.rmSync(this.path, { force: true });
    this.owner.used -= this.size;
  }
}

/** spool files left by a process that is gone (killed mid-run) */
function sweepStale(dir: string): void {
  try {
    for (const f of fs.readdirSync(dir)) {
      const m = /^spool-(\d+)-/.exec(f);
      if (!m || Number(m[1]) === process.pid || alive(Number(m[1]))) continue;
      fs.rmSync(path.join(dir, f), { force: true });
    }
  } catch {
    /* best effort */
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

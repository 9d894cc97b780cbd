// Carving: the bytes of a file sent over IM, hashed as they stream past. Bounded memory: only the
// first bytes are kept (for the magic-byte type); the whole file goes to a bounded on-disk spool only
// when a consumer (ClamAV, DLP, quarantine: analyzer/files) asked for one. Fingerprinting and scanning
// build on this.
import crypto from 'node:crypto';
import { cutBeforePair } from '../analyzer/clip';
import type { FileTransferEvent } from '../common/events';
import type { FlowInfo } from '../sensor/types';
import type { FileMeta, FileWriter } from './types';

export interface CarvedFile {
  meta: FileMeta;
  observedSize: number;
  gapBytes: number;
  complete: boolean;
  sha256: string;
  md5: string;
  /** first bytes of the file (up to HEAD_BYTES), for type detection */
  head: Buffer;
  /** 'outbound' = sent from the monitored network */
  direction?: 'outbound' | 'inbound';
  /** the endpoint that sent the bytes, and the one that received them */
  sender?: { ip: string; port: number };
  receiver?: { ip: string; port: number };
  /** capture times (µs) of the first and last bytes */
  firstTs?: number;
  lastTs?: number;
  /** the spool holding every byte written (gaps not filled); undefined when none was asked for or it was given up */
  spool?: CarveSpool;
  /** the spool was given up at this many bytes (file too large, or the total budget was spent) */
  truncatedAt?: number;
  /** why it was given up: 'too-large' (per-file bound) or 'spool-full' (total budget) */
  truncatedWhy?: 'too-large' | 'spool-full';
}

/** A bounded sink for a file's bytes (implemented in analyzer/files/spool.ts). */
export interface CarveSpool {
  /** where the bytes are (a name the spool chose; never the wire name) */
  readonly path: string;
  /** false = over a bound: nothing more is kept, the caller aborts the spool */
  write(data: Buffer): boolean;
  /** why write() refused */
  readonly refused?: 'too-large' | 'spool-full';
  /** all bytes written: flush and close the file */
  close(): void;
  /** give up: delete what was written and free the budget */
  abort(): void;
}

/**
 * The file handling the engine hands carves to (EngineOptions.files): it may give each carve a spool,
 * and it takes over emitting the carve's `file_transfer` event (after scanning, with a verdict).
 */
export interface FileHandling {
  spool(meta: FileMeta, flow: FlowInfo): CarveSpool | undefined;
  finish(f: CarvedFile, ev: FileTransferEvent, flow: FlowInfo): void;
}

// 33 KiB: an ISO 9660 volume descriptor ("CD001") sits at byte 32769
export const HEAD_BYTES = 33 * 1024;

const NO_BYTES = Buffer.alloc(0);

export class Carver implements FileWriter {
  private sha = crypto.createHash('sha256');
  private md5 = crypto.createHash('md5');
  private size = 0;
  private gaps = 0;
  /** the first HEAD_BYTES, in one buffer grown by doubling up to that (a Buffer per write cost ~110 bytes a byte in 1-byte writes) */
  private head = NO_BYTES;
  private headLen = 0;
  private done = false;
  private truncatedAt: number | undefined;
  private truncatedWhy: CarvedFile['truncatedWhy'];
  /** capture time of the first and last write */
  firstTs = 0;
  lastTs = 0;

  constructor(
    readonly meta: FileMeta,
    private readonly onDone: (f: CarvedFile, tsMicros: number) => void,
    private spool?: CarveSpool,
  ) {}

  get finished(): boolean {
    return this.done;
  }

  write(data: Buffer, tsMicros?: number): void {
    if (tsMicros) {
      this.lastTs = tsMicros;
      if (!this.firstTs) this.firstTs = tsMicros;
    }
    if (this.done || !data.length) return;
    this.sha.update(data);
    this.md5.update(data);
    if (this.spool && !this.spool.write(data)) {
      // over the bound: hashed to the end, but not kept
      this.truncatedAt = this.size;
      this.truncatedWhy = this.spool.refused ?? 'too-large';
      this.spool.abort();
      this.spool = undefined;
    }
    this.size += data.length;
    if (this.headLen < HEAD_BYTES) {
      const part = data.subarray(0, HEAD_BYTES - this.headLen);
      if (this.headLen + part.length > this.head.length) {
        const grown = Buffer.allocUnsafe(Math.min(HEAD_BYTES, Math.max(this.headLen + part.length, this.head.length * 2, 1024)));
        this.head.copy(grown, 0, 0, this.headLen);
        this.head = grown;
      }
      part.copy(this.head, this.headLen);
      this.headLen += part.length;
    }
  }

  gap(length: number): void {
    if (this.done) return;
    this.gaps += length;
  }

  end(tsMicros: number, complete?: boolean): void {
    if (this.done) return;
    this.done = true;
    const declared = this.meta.size;
    const done = this.gaps === 0 && (complete ?? (declared === undefined ? true : this.size >= declared));
    try {
      this.spool?.close();
    } catch {
      this.spool?.abort();
      this.spool = undefined;
      this.truncatedWhy = 'spool-full';
      this.truncatedAt = 0;
    }
    const head = this.head.subarray(0, this.headLen);
    this.head = NO_BYTES;
    this.onDone(
      {
        meta: this.meta,
        observedSize: this.size,
        gapBytes: this.gaps,
        complete: done,
        sha256: this.sha.digest('hex'),
        md5: this.md5.digest('hex'),
        head,
        firstTs: this.firstTs || undefined,
        lastTs: this.lastTs || tsMicros,
        ...(this.spool ? { spool: this.spool } : {}),
        ...(this.truncatedAt !== undefined ? { truncatedAt: this.truncatedAt, truncatedWhy: this.truncatedWhy } : {}),
      },
      tsMicros,
    );
  }
}

/**
 * A transfer beyond the bounds on concurrent carves (per flow, in total): its bytes are counted, not
 * hashed or kept, and its event says so (verdict 'unscanned:too-many-transfers').
 */
export class CountingWriter implements FileWriter {
  private size = 0;
  private gaps = 0;
  private done = false;
  lastTs = 0;
  constructor(readonly meta: FileMeta, private readonly onDone: (observed: number, gaps: number, tsMicros: number) => void) {}
  get finished(): boolean {
    return this.done;
  }
  write(data: Buffer, tsMicros?: number): void {
    if (tsMicros) this.lastTs = tsMicros;
    if (!this.done) this.size += data.length;
  }
  gap(length: number): void {
    if (!this.done) this.gaps += length;
  }
  end(tsMicros: number): void {
    if (this.done) return;
    this.done = true;
    this.onDone(this.size, this.gaps, tsMicros);
  }
}

export const MAX_FILENAME_CHARS = 255;

/**
 * A file name from the wire, made safe to show and log: no control or formatting characters (NUL,
 * bidi overrides such as U+202E that make "gpj.exe" read as "exe.jpg", zero-width), no path: every
 * separator or separator look-alike becomes '_' (so `../../etc/passwd` → `.._.._etc_passwd`), at most
 * 255 characters with the extension kept, never cut inside a surrogate pair. It is still never used
 * as a path on disk.
 */
/** where a long name's middle was cut, until NFKC has run (a private-use character NFKC leaves alone) */
const JOIN = '\ue000';
const JOINS = /\ue000/g;

export function sanitizeFileName(raw: string): string {
  let s = String(raw ?? '');
  if (s.length > 4096) {
    // bounded work; keeps the extension. Neither half is cut inside a surrogate pair (a lone half is
    // written \udXXX in JSON and it would survive when most of the name is control characters)
    const tail = s.slice(-2048);
    const t0 = tail.charCodeAt(0);
    // the join is marked: what the DLP finds cut there (a card's first digits) it masks whole, and
    // the characters stripped below can bring the name under the later cut's length
    s = cutBeforePair(s, 2048) + JOIN + (t0 >= 0xdc00 && t0 <= 0xdfff ? tail.slice(1) : tail);
  }
  // NFKC folds full-width and other compatibility look-alikes (／ ＼ ． ｅｘｅ) to ASCII
  s = s.normalize('NFKC');
  // eslint-disable-next-line no-control-regex
  s = s.replace(/[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]/g, '');
  s = s.replace(/[/\\\u2044\u2215\u29f5\u29f8\u29f9\ufe68\uff0f\uff3c:]/g, '_');
  s = s.replace(JOINS, '…'); // (after NFKC, which would make '…' three dots)
  s = s.trim();
  if (!s || /^\.+$/.test(s)) s = s.replace(/\./g, '_') || '(unnamed)';
  if (s.length > MAX_FILENAME_CHARS) {
    const dot = s.lastIndexOf('.');
    const ext = dot > 0 && s.length - dot <= 16 ? s.slice(dot) : '';
    s = cutBeforePair(s, MAX_FILENAME_CHARS - ext.length - 1) + '…' + ext; // an emoji is kept whole or left out
  }
  return s;
}

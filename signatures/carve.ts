// Carving: the bytes of a file sent over IM, hashed as they stream past (bounded memory: only the
// first bytes are kept, for the magic-byte type). Fingerprinting and scanning build on this.
import crypto from 'node:crypto';
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
}

export const HEAD_BYTES = 8192;

export class Carver implements FileWriter {
  private sha = crypto.createHash('sha256');
  private md5 = crypto.createHash('md5');
  private size = 0;
  private gaps = 0;
  private headParts: Buffer[] = [];
  private headLen = 0;
  private done = false;
  /** capture time of the last write */
  lastTs = 0;

  constructor(readonly meta: FileMeta, private readonly onDone: (f: CarvedFile, tsMicros: number) => void) {}

  write(data: Buffer, tsMicros?: number): void {
    if (tsMicros) this.lastTs = tsMicros;
    if (this.done || !data.length) return;
    this.sha.update(data);
    this.md5.update(data);
    this.size += data.length;
    if (this.headLen < HEAD_BYTES) {
      const part = Buffer.from(data.subarray(0, HEAD_BYTES - this.headLen));
      this.headParts.push(part);
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
    this.onDone(
      {
        meta: this.meta,
        observedSize: this.size,
        gapBytes: this.gaps,
        complete: done,
        sha256: this.sha.digest('hex'),
        md5: this.md5.digest('hex'),
        head: Buffer.concat(this.headParts),
      },
      tsMicros,
    );
  }
}

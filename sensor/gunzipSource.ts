// A gzip-compressed capture (.pcap.gz, .pcapng.gz: how Wireshark's own test captures and many archived
// captures are kept) read as the capture it holds, in bounded memory: the compressed bytes are pumped
// from the reader's file descriptor into zlib's streaming inflater (which runs on libuv's thread pool,
// beside the packet path) and the capture reader pulls the inflated bytes as it would read a file.
// Back-pressure both ways: the pump waits while the inflater's input is full, the inflater while its
// output has not been taken (about 64 KiB each).

import zlib from 'node:zlib';
import { CaptureError } from './captureFile';

export class GunzipSource {
  private readonly z = zlib.createGunzip({ chunkSize: 64 << 10 });
  /** what the last read left of the inflater's chunk */
  private left: Buffer | undefined;
  private ended = false;
  private failed: CaptureError | undefined;
  private wake: (() => void) | undefined;
  private closed = false;

  /**
   * @param head the compressed bytes already read
   * @param readRaw reads more compressed bytes: the count, 0 at the end, -1 when none are there yet (a quiet pipe)
   * @param idle waits a little for a quiet pipe (and sees a stop: it may throw)
   */
  constructor(head: Buffer, private readonly readRaw: (b: Buffer, off: number, len: number) => number, private readonly idle: () => Promise<void>) {
    const poke = () => {
      const w = this.wake;
      this.wake = undefined;
      w?.();
    };
    this.z.on('readable', poke);
    this.z.on('end', () => {
      this.ended = true;
      poke();
    });
    this.z.on('error', (e: NodeJS.ErrnoException) => {
      this.fail(e.code === 'Z_BUF_ERROR' || /unexpected end/i.test(e.message)
        ? 'truncated capture: the gzip stream ends early'
        : `corrupt capture: bad gzip data (${e.message})`);
      poke();
    });
    void this.pump(head).catch((e) => {
      this.fail(e instanceof CaptureError ? e.message : `read error: ${(e as Error).message}`);
      poke();
    });
  }

  private fail(message: string): void {
    this.failed ??= new CaptureError(message);
  }

  private async pump(head: Buffer): Promise<void> {
    let full = !this.z.write(head);
    const raw = Buffer.allocUnsafe(256 << 10);
    while (!this.closed && !this.failed) {
      if (full) {
        await new Promise<void>((resolve) => this.z.once('drain', resolve));
        full = false; // a quiet pipe (-1 below) comes back here with nothing written since
      }
      const got = this.readRaw(raw, 0, raw.length);
      if (got < 0) {
        await this.idle();
        continue;
      }
      if (got === 0) {
        this.z.end();
        return;
      }
      // a copy: zlib keeps the chunk until it has inflated it
      full = !this.z.write(Buffer.from(raw.subarray(0, got)));
    }
  }

  /** Inflated bytes into b[off, off+len): the count, 0 at the end of the capture. */
  async read(b: Buffer, off: number, len: number): Promise<number> {
    for (;;) {
      const c = this.left ?? (this.z.read() as Buffer | null);
      if (c) {
        const n = Math.min(len, c.length);
        c.copy(b, off, 0, n);
        this.left = n < c.length ? c.subarray(n) : undefined;
        return n;
      }
      if (this.failed) throw this.failed;
      if (this.ended) return 0;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  close(): void {
    this.closed = true;
    this.z.destroy();
  }
}

// Reads classic pcap (µs or ns, either byte order, also the "modified" Kuznetzov variant) and pcapng
// (several sections and interfaces, per-interface link type, if_tsresol and if_tsoffset; enhanced,
// simple and obsolete packet blocks; every other block skipped) from a file or standard input.
//
// Streaming in bounded memory: one 1 MiB buffer is refilled with readSync (it grows only for a record
// larger than that, up to 16 MiB); a frame handed to the sink points into that buffer and is valid
// only during the call. Every record is delivered before
// an error is raised, so a truncated capture still yields what it held. A gzip-compressed capture is
// read through a streaming inflater (gunzipSource.ts); byte offsets in errors are then offsets in the
// inflated capture.

import fs from 'node:fs';
import { whyCannotRead } from '../common/fsError';
import type { GunzipSource } from './gunzipSource';

export interface FrameSink {
  /** one frame: `buf[off, off+len)`; valid only during the call */
  frame(linktype: number, tsMicros: number, buf: Buffer, off: number, len: number, origLen: number): void;
  /** capture time reached `tsMicros` with no frame (a quiet live link) */
  advance?(tsMicros: number): void;
}

/** The input is not a capture, is corrupt, or ends mid-record. The message is one line for the user. */
export class CaptureError extends Error {}

/** Throws the CaptureError that ends a read early once stop[0] holds a signal number (analyze on SIGINT/SIGTERM). */
export function stopCheck(stop: Int32Array | undefined): void {
  const n = stop ? Atomics.load(stop, 0) : 0;
  if (n) throw new CaptureError(`stopped on ${n === 2 ? 'SIGINT' : n === 15 ? 'SIGTERM' : `signal ${n}`} before the end of the capture`);
}

/**
 * 1 MiB: the bytes just read are still in the CPU cache when the frames are decoded (16 MiB: the
 * sensor stage took 810-850 ms CPU on the 1.5M-packet benchmark; 1 MiB: 530-590 ms)
 */
const CHUNK = 1 << 20;
/** a record or block larger than this cannot be a frame: the file is corrupt */
const MAX_RECORD = 16 << 20;
const MAX_INTERFACES = 4096;

/**
 * Reads a capture to its end: undefined when it was read whole, else the one-line reason it could not
 * be (every frame before that point was delivered). Anything but bad input is thrown.
 */
export async function readToEnd(reader: CaptureReader): Promise<string | undefined> {
  try {
    await reader.run();
    return undefined;
  } catch (e) {
    if (!(e instanceof CaptureError)) throw e;
    return e.message;
  }
}

/** Opens a capture file ('-' = standard input) for reading; the error names the file and the fix. */
export function openCapture(file: string): number {
  if (file === '-') return 0;
  try {
    const fd = fs.openSync(file, 'r');
    if (fs.fstatSync(fd).isDirectory()) {
      fs.closeSync(fd);
      throw Object.assign(new Error('directory'), { code: 'EISDIR' });
    }
    return fd;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CaptureError(
      code === 'ENOENT' || code === 'ENOTDIR' ? `${file}: no such file; give the path of a pcap or pcapng capture, or '-' for standard input`
        : code === 'EISDIR' ? `${file}: is a directory, not a capture file`
          : code === 'EACCES' || code === 'EPERM' ? `${file}: permission denied`
            : `${file}: cannot open: ${whyCannotRead(e)}`,
    );
  }
}

/**
 * A pipe or FIFO to read without blocking: the same pipe opened again through /proc (a new open file
 * description, so the shell's and other readers' flags are untouched) with O_NONBLOCK. A read that
 * would block then returns, and the reader waits in the event loop, where a stop (SIGINT/SIGTERM)
 * is seen, instead of sleeping in read() until the writer sends more. Anything else (a file, a
 * socket, no /proc) is returned as it is; a FIFO we opened ourselves is closed once reopened.
 */
export function nonBlockingPipe(fd: number): number {
  try {
    if (!fs.fstatSync(fd).isFIFO()) return fd;
    const again = fs.openSync(`/proc/self/fd/${fd}`, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    if (fd > 2) fs.closeSync(fd);
    return again;
  } catch {
    return fd;
  }
}

/** gzip's first two bytes (RFC 1952: ID1 ID2) at b[off] */
function gzipAt(b: Buffer, off: number): boolean {
  return b[off] === 0x1f && b[off + 1] === 0x8b;
}

/** A regular file that starts as gzip does (read at offset 0: the descriptor's position is kept). */
export function gzipFile(fd: number): boolean {
  try {
    const b = Buffer.alloc(2);
    return fs.readSync(fd, b, 0, 2, 0) === 2 && gzipAt(b, 0);
  } catch {
    return false;
  }
}

export type CaptureFormat = 'pcap' | 'pcapng';

export interface ReadResult {
  format: CaptureFormat;
  frames: number;
  bytes: number;
}

interface Iface {
  linktype: number;
  snaplen: number;
  /** time units per second (if_tsresol) */
  units: number;
  /** if_tsoffset, µs */
  offset: number;
}

export class CaptureReader {
  private buf = Buffer.allocUnsafe(CHUNK);
  private start = 0;
  private end = 0;
  private eof = false;
  /** file offset of buf[0] */
  private base = 0;
  /** byte order of the current pcapng section */
  private le = true;
  // readers for the current section's byte order, made once (not a closure per block)
  private readonly r32 = (o: number): number => {
    const b = this.buf;
    return this.le ? (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0 : ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
  };
  private readonly r16 = (o: number): number => {
    const b = this.buf;
    return this.le ? b[o] | (b[o + 1] << 8) : (b[o] << 8) | b[o + 1];
  };
  frames = 0;
  bytes = 0;
  /** set once the header was recognised */
  format: CaptureFormat | undefined;
  /** the inflater, when the input is gzip-compressed */
  private gz: GunzipSource | undefined;

  /** @param fd an open file descriptor (0 for standard input) */
  constructor(private readonly fd: number, private readonly sink: FrameSink, private readonly onChunk?: () => Promise<void> | void) {}

  static open(file: string, sink: FrameSink, onChunk?: () => Promise<void> | void): CaptureReader {
    return new CaptureReader(openCapture(file), sink, onChunk);
  }

  close(): void {
    this.gz?.close();
    if (this.fd !== 0) {
      try {
        fs.closeSync(this.fd);
      } catch {
        /* already closed */
      }
    }
  }

  /** Reads everything; throws CaptureError (after delivering every complete frame) on bad input. */
  async run(): Promise<ReadResult> {
    try {
      await this.need(4);
      if (this.end - this.start === 0) throw new CaptureError('empty input: not a capture file (expected pcap or pcapng)');
      if (this.end - this.start < 4) throw new CaptureError('not a capture file: too short for a pcap or pcapng header');
      if (gzipAt(this.buf, this.start)) await this.gunzip();
      const magic = this.buf.readUInt32LE(this.start);
      if (magic === 0x0a0d0d0a) {
        this.format = 'pcapng';
        await this.pcapng();
        return { format: 'pcapng', frames: this.frames, bytes: this.bytes };
      }
      await this.pcap();
      return { format: 'pcap', frames: this.frames, bytes: this.bytes };
    } finally {
      this.close();
    }
  }

  /** From here on, the bytes are those the gzip stream holds (loaded only for a gzip file). */
  private async gunzip(): Promise<void> {
    const { GunzipSource } = require('./gunzipSource') as typeof import('./gunzipSource');
    const head = Buffer.from(this.buf.subarray(this.start, this.end));
    this.gz = new GunzipSource(head, (b, off, len) => this.readSome(b, off, len), () => this.idle());
    this.start = this.end = this.base = 0;
    this.eof = false;
    await this.need(4);
    if (this.end - this.start < 4) throw new CaptureError(this.end === 0 ? 'empty input: a gzip file with nothing in it' : 'not a capture file: a gzip file too short to hold a pcap or pcapng header');
  }

  // ---- buffer management ---------------------------------------------------------------------

  /** Makes at least n bytes available from `start` unless the input ends first. */
  private async need(n: number): Promise<boolean> {
    if (this.end - this.start >= n) return true;
    if (this.eof) return false;
    if (n > this.buf.length) {
      const nb = Buffer.allocUnsafe(Math.max(n, this.buf.length * 2));
      this.buf.copy(nb, 0, this.start, this.end);
      this.buf = nb;
    } else if (this.start > 0) {
      this.buf.copy(this.buf, 0, this.start, this.end);
    }
    this.base += this.start;
    this.end -= this.start;
    this.start = 0;
    // before the read, not after: from a pipe the read can block until more traffic comes, and the
    // frames of the last chunk must reach the analysis (and the user) first
    if (this.onChunk) await this.onChunk();
    while (this.end < n && !this.eof) {
      const got = this.gz ? await this.gz.read(this.buf, this.end, this.buf.length - this.end) : this.readSome(this.buf, this.end, this.buf.length - this.end);
      if (got < 0) {
        await this.idle();
        continue;
      }
      this.idleMs = 0;
      if (got === 0) this.eof = true;
      this.end += got;
    }
    return this.end >= n;
  }

  private idleMs = 0;
  /**
   * A non-blocking pipe is empty: wait in the event loop (1 ms, doubling to 50 ms while it stays
   * quiet: at most 20 wake-ups a second), then let onChunk run (it sees a stop).
   */
  private async idle(): Promise<void> {
    this.idleMs = Math.min(50, this.idleMs * 2 || 1);
    await new Promise<void>((resolve) => setTimeout(resolve, this.idleMs));
    if (this.onChunk) await this.onChunk();
  }

  /** bytes read (0 at the end of the input), or -1: none yet from a non-blocking pipe */
  private readSome(b: Buffer, off: number, len: number): number {
    for (;;) {
      try {
        return fs.readSync(this.fd, b, off, len, null);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') return -1; // a non-blocking pipe with nothing in it: need() waits
        if (code === 'EOF') return 0;
        if (code === 'EISDIR') throw new CaptureError('input is a directory, not a capture file');
        throw new CaptureError(`read error: ${code ?? (e as Error).message}`);
      }
    }
  }

  private get pos(): number {
    return this.base + this.start;
  }

  // ---- classic pcap ----------------------------------------------------------------------------

  private async pcap(): Promise<void> {
    const b0 = this.buf;
    const m = b0.readUInt32LE(this.start);
    let le: boolean, nano: boolean, hdrLen = 16;
    switch (m) {
      case 0xa1b2c3d4: le = true; nano = false; break;
      case 0xd4c3b2a1: le = false; nano = false; break;
      case 0xa1b23c4d: le = true; nano = true; break;
      case 0x4d3cb2a1: le = false; nano = true; break;
      case 0xa1b2cd34: le = true; nano = false; hdrLen = 24; break;
      case 0x34cdb2a1: le = false; nano = false; hdrLen = 24; break;
      default:
        throw new CaptureError(this.gz
          ? `not a capture file: a gzip file whose content is not pcap or pcapng (magic number ${m.toString(16).padStart(8, '0')})`
          : `not a capture file: ${otherFormat(b0.subarray(this.start, this.end)) ?? `unknown magic number ${m.toString(16).padStart(8, '0')} (expected pcap or pcapng)`}`);
    }
    if (!(await this.need(24))) throw new CaptureError('truncated capture: the pcap file header is incomplete');
    this.format = 'pcap';
    let b = this.buf;
    const linktype = (le ? b.readUInt32LE(this.start + 20) : b.readUInt32BE(this.start + 20)) & 0x03ffffff; // upper bits: FCS length flags
    this.start += 24;
    for (;;) {
      if (this.end - this.start < hdrLen) {
        if (!(await this.need(hdrLen))) {
          if (this.end - this.start > 0) throw new CaptureError(`truncated capture: last record header cut at byte ${this.pos}`);
          return;
        }
        b = this.buf;
      }
      const s = this.start;
      let sec: number, frac: number, incl: number, orig: number;
      if (le) {
        // byte arithmetic: Buffer#readUInt32LE's argument checks cost more than the read
        sec = (b[s] | (b[s + 1] << 8) | (b[s + 2] << 16) | (b[s + 3] << 24)) >>> 0;
        frac = (b[s + 4] | (b[s + 5] << 8) | (b[s + 6] << 16) | (b[s + 7] << 24)) >>> 0;
        incl = (b[s + 8] | (b[s + 9] << 8) | (b[s + 10] << 16) | (b[s + 11] << 24)) >>> 0;
        orig = (b[s + 12] | (b[s + 13] << 8) | (b[s + 14] << 16) | (b[s + 15] << 24)) >>> 0;
      } else {
        sec = b.readUInt32BE(s);
        frac = b.readUInt32BE(s + 4);
        incl = b.readUInt32BE(s + 8);
        orig = b.readUInt32BE(s + 12);
      }
      if (incl > MAX_RECORD) throw new CaptureError(`corrupt capture: record at byte ${this.pos} claims ${incl} bytes`);
      if (this.end - s < hdrLen + incl) {
        if (!(await this.need(hdrLen + incl))) throw new CaptureError(`truncated capture: last record cut at byte ${this.pos} (${incl} bytes announced, ${this.end - this.start - hdrLen} present)`);
        b = this.buf;
        continue;
      }
      const ts = nano ? sec * 1e6 + Math.floor(frac / 1000) : sec * 1e6 + frac;
      this.frames++;
      this.bytes += orig;
      this.start = s + hdrLen + incl;
      this.sink.frame(linktype, ts, b, s + hdrLen, incl, orig < incl ? incl : orig);
    }
  }

  // ---- pcapng ----------------------------------------------------------------------------------

  private async pcapng(): Promise<void> {
    let le = true;
    let ifaces: Iface[] = [];
    let lastTs = 0;
    let sawSection = false;
    for (;;) {
      if (!(await this.need(12))) {
        if (this.end - this.start > 0) throw new CaptureError(`truncated capture: last block header cut at byte ${this.pos}`);
        return;
      }
      let b = this.buf;
      let s = this.start;
      const rawType = b.readUInt32LE(s);
      if (rawType === 0x0a0d0d0a) {
        // section header: its byte-order magic decides how every following block is read
        const bom = b.readUInt32LE(s + 8);
        if (bom === 0x1a2b3c4d) le = true;
        else if (bom === 0x4d3c2b1a) le = false;
        else throw new CaptureError(`corrupt capture: bad pcapng byte-order magic at byte ${this.pos}`);
        ifaces = [];
        sawSection = true;
      } else if (!sawSection) {
        throw new CaptureError('not a capture file: pcapng without a section header');
      }
      const type = le ? rawType : b.readUInt32BE(s);
      const len = le ? b.readUInt32LE(s + 4) : b.readUInt32BE(s + 4);
      if (len < 12 || len % 4 !== 0 || len > MAX_RECORD) throw new CaptureError(`corrupt capture: pcapng block at byte ${this.pos} has bad length ${len}`);
      if (this.end - s < len) {
        if (!(await this.need(len))) throw new CaptureError(`truncated capture: last block cut at byte ${this.pos} (${len} bytes announced, ${this.end - this.start} present)`);
        b = this.buf;
        s = this.start;
      }
      this.le = le;
      const r32 = this.r32, r16 = this.r16;
      if (r32(s + len - 4) !== len) throw new CaptureError(`corrupt capture: pcapng block at byte ${this.pos} has mismatched trailing length`);
      const bodyEnd = s + len - 4;
      this.start = s + len;
      switch (type) {
        case 0x0a0d0d0a: {
          if (len < 28) throw new CaptureError(`corrupt capture: section header at byte ${this.pos - len} too short`);
          const major = r16(s + 12);
          if (major !== 1) throw new CaptureError(`unsupported pcapng version ${major}`);
          break;
        }
        case 1: {
          if (len < 20) throw new CaptureError(`corrupt capture: interface block at byte ${this.pos - len} too short`);
          if (ifaces.length >= MAX_INTERFACES) throw new CaptureError('corrupt capture: too many interfaces');
          const iface: Iface = { linktype: r16(s + 8), snaplen: r32(s + 12), units: 1e6, offset: 0 };
          // options: if_tsresol (9), if_tsoffset (14)
          let o = s + 16;
          while (o + 4 <= bodyEnd) {
            const code = r16(o);
            const olen = r16(o + 2);
            if (code === 0) break;
            const v = o + 4;
            if (v + olen > bodyEnd) break;
            if (code === 9 && olen >= 1) {
              const r = b[v];
              const exp = r & 0x7f;
              iface.units = r & 0x80 ? Math.pow(2, exp) : Math.pow(10, exp);
            } else if (code === 14 && olen >= 8) {
              const hi = r32(le ? v + 4 : v), lo = r32(le ? v : v + 4);
              iface.offset = ((hi | 0) * 4294967296 + lo) * 1e6;
            }
            o = v + ((olen + 3) & ~3);
          }
          ifaces.push(iface);
          break;
        }
        case 6:
        case 2: {
          // enhanced (6) and obsolete (2) packet blocks share the layout but for the interface field
          if (len < 32) throw new CaptureError(`corrupt capture: packet block at byte ${this.pos - len} too short`);
          const ifId = type === 6 ? r32(s + 8) : r16(s + 8);
          const iface = ifaces[ifId];
          if (!iface) throw new CaptureError(`corrupt capture: packet block at byte ${this.pos - len} names interface ${ifId}, which was not described`);
          const hi = r32(s + 12), lo = r32(s + 16);
          const cap = r32(s + 20), orig = r32(s + 24);
          if (28 + cap > len - 4) throw new CaptureError(`corrupt capture: packet block at byte ${this.pos - len} claims ${cap} bytes`);
          const ts = unitsToMicros(hi, lo, iface.units) + iface.offset;
          lastTs = ts;
          this.frames++;
          this.bytes += orig;
          this.sink.frame(iface.linktype, ts, b, s + 28, cap, orig < cap ? cap : orig);
          break;
        }
        case 3: {
          const iface = ifaces[0];
          if (!iface) throw new CaptureError(`corrupt capture: simple packet block at byte ${this.pos - len} before any interface`);
          const orig = r32(s + 8);
          let cap = Math.min(orig, len - 16);
          if (iface.snaplen > 0 && cap > iface.snaplen) cap = iface.snaplen;
          this.frames++;
          this.bytes += orig;
          this.sink.frame(iface.linktype, lastTs, b, s + 12, cap, orig < cap ? cap : orig);
          break;
        }
        default:
          break; // statistics, name resolution, custom and unknown blocks: skipped
      }
    }
  }
}

/**
 * A pcapng time of `hi:lo` (64 bits) units of 1/`units` s in µs, truncated as tshark does, exactly.
 * As one double the count is rounded past 2^53 (a nanosecond time of today, 1.7e18, by up to 128 ns;
 * a 2^-26 s one by up to 8 units), and count × 10^6/units rounded again (2^-12 s), so the µs came out
 * one too many (found by test/sensor/reader-diff.test.ts). So the seconds and the remainder come from
 * a long division in 16-bit digits, every step below 2^53 while `units` is at most 2^37 (BigInt beyond).
 */
function unitsToMicros(hi: number, lo: number, units: number): number {
  if (units === 1e6) return hi * 4294967296 + lo; // µs, the usual: exact for any time before 2255
  if (units > 137438953472) return Number((((BigInt(hi) << 32n) | BigInt(lo)) * 1000000n) / BigInt(units));
  let cur = hi >>> 16;
  let q = Math.floor(cur / units);
  let sec = q;
  cur = (cur - q * units) * 65536 + (hi & 0xffff);
  q = Math.floor(cur / units);
  sec = sec * 65536 + q;
  cur = (cur - q * units) * 65536 + (lo >>> 16);
  q = Math.floor(cur / units);
  sec = sec * 65536 + q;
  cur = (cur - q * units) * 65536 + (lo & 0xffff);
  q = Math.floor(cur / units);
  sec = sec * 65536 + q;
  // remainder (< units) to µs in two steps of 1000, for the same reason
  cur = (cur - q * units) * 1000;
  const ms = Math.floor(cur / units);
  const us = Math.floor(((cur - ms * units) * 1000) / units);
  return sec * 1e6 + ms * 1000 + us;
}

/**
 * What a file that is not pcap or pcapng is, when its first bytes tell, and what to do: compressed
 * captures are common (gzip is read as it is; the others Node cannot inflate in a stream), and other
 * capture formats convert with Wireshark's editcap. `head`: the file's first bytes (at least 4).
 */
export function otherFormat(head: Buffer): string | undefined {
  const starts = (...bytes: number[]) => head.length >= bytes.length && bytes.every((x, i) => head[i] === x);
  const unpack = (what: string, cmd: string) => `${what}: decompress it first (${cmd} FILE | shadowim analyze -)`;
  if (starts(0x42, 0x5a, 0x68)) return unpack('bzip2-compressed', 'bzip2 -dc');
  if (starts(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00)) return unpack('xz-compressed', 'xz -dc');
  if (starts(0x28, 0xb5, 0x2f, 0xfd)) return unpack('zstd-compressed', 'zstd -dc');
  if (starts(0x04, 0x22, 0x4d, 0x18)) return unpack('lz4-compressed', 'lz4 -dc');
  if (starts(0x50, 0x4b, 0x03, 0x04)) return 'a zip archive: extract the capture from it first (unzip)';
  const convert = (what: string) => `${what}: convert it to pcapng first (editcap -F pcapng FILE out.pcapng)`;
  if (head.toString('latin1', 0, 8) === 'snoop\0\0\0') return convert('a Solaris snoop capture');
  if (head.toString('latin1', 0, 4) === 'GMBU') return convert('a Microsoft Network Monitor capture');
  // text (a log, a decoded dump, a web page saved by mistake): printable ASCII, tabs and line ends
  const n = Math.min(head.length, 512);
  let text = n >= 4;
  for (let i = 0; i < n && text; i++) text = (head[i] >= 0x20 && head[i] < 0x7f) || head[i] === 0x09 || head[i] === 0x0a || head[i] === 0x0d;
  if (text) return 'it is text; a capture is pcap or pcapng (tcpdump -w FILE, tshark -w FILE; a hex dump converts with text2pcap)';
  return undefined;
}

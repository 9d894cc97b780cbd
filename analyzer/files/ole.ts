// A bounded reader of OLE2 compound files (MS-CFB): header, DIFAT → FAT, mini FAT and mini stream,
// the directory's red-black tree of the root storage; one named stream read with random access.
// The input is hostile: every sector chain is walked at most once per sector of the file (a loop or
// a pointer out of range ends it), the directory tree is walked with a visited set, and nothing is
// allocated by a size the file declares — only by the sectors the file really has.
import type { ByteSource } from './inspect';

const SIG = Buffer.from('d0cf11e0a1b11ae1', 'hex');
const ENDOFCHAIN = 0xfffffffe;
const MAXREGSECT = 0xfffffffa;

export const OLE_LIMITS = {
  /** bytes of the file looked at: sectors past it are out of range */
  maxFileBytes: 256 * 1024 * 1024,
  /** directory entries read (a real document has tens) */
  maxDirEntries: 65_536,
};

export interface OleEntry {
  name: string;
  /** 1 storage, 2 stream, 5 root */
  type: number;
  left: number;
  right: number;
  child: number;
  start: number;
  size: number;
}

/** A stream of the compound file: random access through its sector chain. */
export class OleStream {
  private cacheOff = -1;
  private cache: Buffer = Buffer.alloc(0);
  constructor(
    /** bytes the chain really covers (never more than the declared size) */
    readonly size: number,
    private readonly chain: Uint32Array,
    private readonly unit: number,
    private readonly readUnit: (sector: number, off: number, len: number) => Buffer,
  ) {}

  /** up to `len` bytes at `off` (fewer at the end of the stream) */
  read(off: number, len: number): Buffer {
    if (off < 0 || off >= this.size || len <= 0) return Buffer.alloc(0);
    len = Math.min(len, this.size - off);
    if (off >= this.cacheOff && off + len <= this.cacheOff + this.cache.length) return this.cache.subarray(off - this.cacheOff, off - this.cacheOff + len);
    // a small read that misses caches the run of contiguous sectors it starts in (8 at most): one
    // read of the source per miss, so reads jumping to and fro (a piece table alternating between two
    // places 100,000 times) cost what they ask for, not a 64 KiB window each (36 s for 1.35 MB)
    const u = this.unit, i = Math.floor(off / u);
    let n = 1;
    while (n < 8 && i + n < this.chain.length && this.chain[i + n] === this.chain[i] + n) n++;
    if (len > u || off + len > (i + n) * u) return this.raw(off, len);
    this.cacheOff = i * u;
    this.cache = this.raw(this.cacheOff, Math.min(n * u, this.size - this.cacheOff));
    return this.cache.subarray(off - this.cacheOff, off - this.cacheOff + len);
  }

  private raw(off: number, len: number): Buffer {
    const parts: Buffer[] = [];
    let got = 0;
    while (got < len) {
      const p = off + got;
      const i = Math.floor(p / this.unit), inUnit = p % this.unit;
      if (i >= this.chain.length) break;
      // contiguous sectors are read at once
      let n = 1;
      while (i + n < this.chain.length && this.chain[i + n] === this.chain[i] + n && n * this.unit - inUnit < len - got) n++;
      const want = Math.min(len - got, n * this.unit - inUnit);
      const b = this.readUnit(this.chain[i], inUnit, want);
      if (!b.length) break;
      parts.push(b);
      got += b.length;
      if (b.length < want) break;
    }
    return parts.length === 1 ? parts[0] : Buffer.concat(parts);
  }
}

export class OleFile {
  readonly entries: OleEntry[] = [];
  private fat: Uint32Array = new Uint32Array(0);
  private miniFat: Uint32Array = new Uint32Array(0);
  private ministream?: OleStream;
  private sectorSize = 512;
  private nSectors = 0;
  private miniCutoff = 4096;

  private constructor(private readonly src: ByteSource) {}

  /** undefined when the header is not a compound file's */
  static open(src: ByteSource): OleFile | undefined {
    const h = src.read(0, 512);
    if (h.length < 512 || !h.subarray(0, 8).equals(SIG) || h.readUInt16LE(0x1c) !== 0xfffe) return undefined;
    const shift = h.readUInt16LE(0x1e);
    if (shift !== 9 && shift !== 12) return undefined;
    const f = new OleFile(src);
    const ss = (f.sectorSize = 1 << shift);
    f.nSectors = Math.max(0, Math.floor((Math.min(src.size, OLE_LIMITS.maxFileBytes) - ss + ss - 1) / ss));
    f.miniCutoff = h.readUInt32LE(0x38) || 4096;
    f.readFat(h);
    const dir = f.chainOf(h.readUInt32LE(0x30), f.fat, f.nSectors);
    f.readDirectory(dir);
    const mf = f.chainOf(h.readUInt32LE(0x3c), f.fat, f.nSectors);
    f.miniFat = f.readU32s(mf, mf.length * (ss / 4));
    const root = f.entries[0];
    if (root && root.type === 5 && root.start < MAXREGSECT) f.ministream = f.regular(root.start, root.size);
    return f;
  }

  /** a stream directly under the root storage, by name (case-insensitive, as MS-CFB compares) */
  stream(name: string): OleStream | undefined {
    const e = this.rootChildren().find((x) => x.type === 2 && x.name.toUpperCase() === name.toUpperCase());
    if (!e) return undefined;
    if (e.size < this.miniCutoff) {
      const ms = this.ministream;
      if (!ms) return undefined;
      const chain = this.chainOf(e.start, this.miniFat, Math.min(this.miniFat.length, Math.ceil(ms.size / 64)));
      return new OleStream(Math.min(e.size, chain.length * 64), chain, 64, (s, off, len) => ms.read(s * 64 + off, len));
    }
    return this.regular(e.start, e.size);
  }

  /** the root storage's children: an in-order walk of its red-black tree, each entry once */
  rootChildren(): OleEntry[] {
    const out: OleEntry[] = [];
    const root = this.entries[0];
    if (!root) return out;
    const seen = new Uint8Array(this.entries.length);
    const stack: number[] = [root.child];
    while (stack.length) {
      const i = stack.pop()!;
      if (i >= this.entries.length || seen[i]) continue;
      seen[i] = 1;
      const e = this.entries[i];
      out.push(e);
      stack.push(e.left, e.right);
    }
    return out;
  }

  private regular(start: number, size: number): OleStream {
    const ss = this.sectorSize;
    const chain = this.chainOf(start, this.fat, Math.ceil(Math.min(size, this.nSectors * ss) / ss));
    return new OleStream(Math.min(size, chain.length * ss), chain, ss, (s, off, len) => this.src.read((s + 1) * ss + off, Math.min(len, ss * (this.nSectors - s) - off)));
  }

  /** a chain of sectors from `start`: stops at ENDOFCHAIN, a sector out of range, a loop, or `max` */
  private chainOf(start: number, table: Uint32Array, max: number): Uint32Array {
    const limit = Math.min(max, table.length, this.nSectors * (table === this.fat ? 1 : this.sectorSize / 64));
    const out: number[] = [];
    const seen = new Set<number>();
    let s = start;
    while (s < MAXREGSECT && s < table.length && out.length < limit && !seen.has(s)) {
      if (table === this.fat && s >= this.nSectors) break;
      seen.add(s);
      out.push(s);
      s = table[s];
    }
    return Uint32Array.from(out);
  }

  /** the FAT: its sectors are listed by the header's 109 DIFAT entries and the DIFAT chain */
  private readFat(h: Buffer): void {
    const ss = this.sectorSize, per = ss / 4;
    const fatSectors: number[] = [];
    const want = Math.min(h.readUInt32LE(0x2c), Math.ceil(this.nSectors / per));
    for (let i = 0; i < 109 && fatSectors.length < want; i++) {
      const s = h.readUInt32LE(0x4c + i * 4);
      if (s < this.nSectors) fatSectors.push(s);
    }
    let d = h.readUInt32LE(0x44);
    const seen = new Set<number>();
    while (d < this.nSectors && !seen.has(d) && fatSectors.length < want) {
      seen.add(d);
      const b = this.src.read((d + 1) * ss, ss);
      if (b.length < ss) break;
      for (let i = 0; i < per - 1 && fatSectors.length < want; i++) {
        const s = b.readUInt32LE(i * 4);
        if (s < this.nSectors) fatSectors.push(s);
      }
      d = b.readUInt32LE(ss - 4);
    }
    this.fat = this.readU32s(fatSectors, this.nSectors);
  }

  /** the 32-bit entries of the given sectors, at most `max` */
  private readU32s(sectors: ArrayLike<number>, max: number): Uint32Array {
    const ss = this.sectorSize, per = ss / 4;
    const n = Math.min(max, sectors.length * per);
    const out = new Uint32Array(n).fill(ENDOFCHAIN);
    for (let k = 0; k * per < n; k++) {
      const b = this.src.read((sectors[k] + 1) * ss, ss);
      for (let i = 0; i < per && k * per + i < n && i * 4 + 4 <= b.length; i++) out[k * per + i] = b.readUInt32LE(i * 4);
    }
    return out;
  }

  private readDirectory(dir: Uint32Array): void {
    const ss = this.sectorSize;
    for (let k = 0; k < dir.length && this.entries.length < OLE_LIMITS.maxDirEntries; k++) {
      const b = this.src.read((dir[k] + 1) * ss, ss);
      for (let o = 0; o + 128 <= b.length; o += 128) {
        const nlen = Math.min(64, b.readUInt16LE(o + 0x40));
        const name = b.toString('utf16le', o, o + Math.max(0, nlen - 2)).replace(/\0+$/, '');
        this.entries.push({
          name,
          type: b[o + 0x42],
          left: b.readUInt32LE(o + 0x44),
          right: b.readUInt32LE(o + 0x48),
          child: b.readUInt32LE(o + 0x4c),
          start: b.readUInt32LE(o + 0x74),
          size: b.readUInt32LE(o + 0x78),
        });
      }
    }
  }
}

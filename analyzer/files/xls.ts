// Text of Excel 97–2003 workbooks (MS-XLS, BIFF8): the Workbook stream's records in order — the
// shared string table (SST, continued over CONTINUE records with the split-string rules), then the
// cells of each sheet (LABELSST, LABEL, RSTRING, NUMBER, RK, MULRK, FORMULA's cached value), one line
// per row, cells apart by a tab. Numbers read as a person sees them in a cell: an integer whole (a
// card number typed as a number is still its 16 digits), others to 15 significant digits.
import type { OleStream } from './ole';

const BOF = 0x0809, EOF = 0x000a, FILEPASS = 0x002f, SST = 0x00fc, CONTINUE = 0x003c;
const LABELSST = 0x00fd, LABEL = 0x0204, RSTRING = 0x00d6, NUMBER = 0x0203, RK = 0x027e, MULRK = 0x00bd;
const FORMULA = 0x0006, STRING = 0x0207;

/** records walked at most (a record is at least 4 bytes, so this is also ≤ the stream's size / 4) */
const MAX_RECORDS = 4_000_000;
const EMPTY = Buffer.alloc(0);

/** A FILEPASS record in the workbook globals: the rest is encrypted (RC4 or XOR), no text. */
export function xlsEncrypted(wb: OleStream): boolean {
  let off = 0;
  for (let n = 0; n < 10_000 && off + 4 <= wb.size; n++) {
    const h = wb.read(off, 4);
    if (h.length < 4) break;
    const t = h.readUInt16LE(0);
    if (t === FILEPASS) return true;
    if (t === EOF) break;
    off += 4 + h.readUInt16LE(2);
  }
  return false;
}

/** what reading a workbook cost: for tests that bound it without timing it */
export interface XlsStats {
  /** records walked (CONTINUE records included) */
  records: number;
  /** reads asked of the stream (a 64 KiB window each, not one per record) */
  reads: number;
  /** shared strings kept, and the bytes allocated to keep them */
  sstEntries: number;
  sstBytes: number;
}

type Stream = Pick<OleStream, 'size' | 'read'>;

/** The workbook's cell text, at most `maxChars`; '' when encrypted or not BIFF8. */
export function xlsText(wb: Stream, maxChars: number, stats?: XlsStats): string {
  const first = wb.read(0, 8);
  if (first.length < 8 || first.readUInt16LE(0) !== BOF || first.readUInt16LE(4) !== 0x0600) return '';
  const out = new Lines(maxChars);
  const w = new StreamWindow(wb);
  let sst = new Sst();
  let formulaString = false;
  let off = 0;
  let n = 0;
  for (; n < MAX_RECORDS && off + 4 <= wb.size && !out.full; n++) {
    // headers and bodies are read in place from the window: two reads and a Buffer per record were
    // most of the cost of a workbook of tiny records (1 MB of 5-byte CONTINUE records: 68 ms)
    const p = w.at(off, 4);
    if (p + 4 > w.buf.length) break;
    const type = w.buf.readUInt16LE(p), len = w.buf.readUInt16LE(p + 2);
    const at = off + 4;
    off += 4 + len;
    // a string formula's cached value is the next STRING record (shared/array formula records may come between)
    const wantString: boolean = formulaString;
    formulaString = wantString && (type === 0x04bc || type === 0x0221 || type === 0x0236);
    if (!READ.has(type)) continue;
    if (type === FILEPASS) return '';
    if (type === SST) {
      // the SST and the CONTINUE records after it, read as they come
      const r = new Segments(w, wb.size, at, len);
      sst = readSst(r, 4 * maxChars);
      off = r.skipRest();
      n += r.records;
      continue;
    }
    if (type === EOF) {
      out.endSheet();
      continue;
    }
    const q = w.at(at, len);
    const body = len ? w.buf.subarray(q, q + len) : EMPTY;
    switch (type) {
      case LABELSST:
        if (body.length >= 10) out.cell(body.readUInt16LE(0), sst.get(body.readUInt32LE(6)));
        break;
      case LABEL:
      case RSTRING:
        if (body.length >= 9) out.cell(body.readUInt16LE(0), xlString(body, 6));
        break;
      case NUMBER:
        if (body.length >= 14) out.cell(body.readUInt16LE(0), numberText(body.readDoubleLE(6)));
        break;
      case RK:
        if (body.length >= 10) out.cell(body.readUInt16LE(0), numberText(rkValue(body.readUInt32LE(6))));
        break;
      case MULRK:
        for (let p = 4; p + 6 <= body.length - 2; p += 6) out.cell(body.readUInt16LE(0), numberText(rkValue(body.readUInt32LE(p + 2))));
        break;
      case FORMULA:
        if (body.length >= 14) {
          if (body.readUInt16LE(12) !== 0xffff) out.cell(body.readUInt16LE(0), numberText(body.readDoubleLE(6)));
          else if (body[6] === 0) {
            // the cached string is in the STRING record that follows
            formulaString = true;
            out.row(body.readUInt16LE(0));
          }
        }
        break;
      case STRING:
        if (wantString && body.length >= 3) out.cellInRow(xlString(body, 0));
        break;
    }
  }
  if (stats) Object.assign(stats, { records: n, reads: w.reads, sstEntries: sst.count, sstBytes: sst.bytes });
  return out.text();
}

/** the record types read; the others are stepped over by their header alone */
const READ = new Set([FILEPASS, SST, EOF, LABELSST, LABEL, RSTRING, NUMBER, RK, MULRK, FORMULA, STRING]);

/** the stream through a 64 KiB window: a record's header and body are read in place */
class StreamWindow {
  buf: Buffer = EMPTY;
  private start = 0;
  reads = 0;
  constructor(private readonly s: Stream) {}
  /** makes [off, off + len) readable in `buf` (fewer bytes at the stream's end) and returns its index there */
  at(off: number, len: number): number {
    if (off < this.start || off + len > this.start + this.buf.length) {
      this.buf = this.s.read(off, Math.max(len, WINDOW));
      this.start = off;
      this.reads++;
    }
    return off - this.start;
  }
}
const WINDOW = 64 * 1024;

/** RkNumber: a 30-bit integer or the top 30 bits of a double, optionally ×100 */
export function rkValue(rk: number): number {
  let v: number;
  if (rk & 2) v = rk >> 2;
  else {
    const b = Buffer.alloc(8);
    b.writeUInt32LE((rk & 0xfffffffc) >>> 0, 4);
    v = b.readDoubleLE(0);
  }
  return rk & 1 ? v / 100 : v;
}

/** an integer whole, digit for digit (no exponent below 10^21); other numbers to 15 significant digits as Excel keeps them */
export function numberText(v: number): string {
  if (!Number.isFinite(v)) return '';
  if (Number.isInteger(v)) return String(v);
  return String(Number(v.toPrecision(15)));
}

/** XLUnicodeString at `p` (cch 16-bit, flags, characters) within one record */
function xlString(b: Buffer, p: number): string {
  if (p + 3 > b.length) return '';
  const cch = b.readUInt16LE(p), high = b[p + 2] & 1;
  let q = p + 3;
  if (b[p + 2] & 8) q += 2; // a rich string's run count (RSTRING's runs come after the text)
  if (b[p + 2] & 4) q += 4;
  const end = Math.min(b.length, q + cch * (high ? 2 : 1));
  return high ? b.toString('utf16le', q, end - ((end - q) & 1)) : b.toString('latin1', q, end);
}

/**
 * The shared strings, read across the SST's CONTINUE records; characters kept up to `maxChars` in all
 * (later strings read as '', so reading stops there). Kept in one buffer, not a string each: a million
 * one-character strings cost 29 MB of RSS for 4.3 MB as strings.
 */
export function readSst(r: Segments, maxChars: number): Sst {
  const out = new Sst();
  r.skip(8); // cstTotal, cstUnique (never trusted for sizes)
  while (out.chars < maxChars && !r.done()) {
    const cch = r.u16(), flags = r.byte();
    if (cch < 0 || flags < 0) break;
    const runs = flags & 8 ? r.u16() : 0;
    const ext = flags & 4 ? r.u32() : 0;
    out.begin(cch);
    if (!r.chars(cch, flags & 1, out)) {
      out.drop();
      break;
    }
    out.end();
    r.skip(runs * 4 + ext);
  }
  return out;
}

/**
 * Shared strings in chunks of bytes, not a string each: each entry's characters as Latin-1 while they
 * are all 8-bit, else as UTF-16LE, never across two chunks; per entry a 32-bit word (width, chunk,
 * offset). Nothing is copied to grow (grown arrays were garbage twice their size until a GC): about
 * 1.3x the SST's bytes for a million one-character strings, at most ~2x (an entry is at least 3 bytes
 * of the file and 4 here, a character 1 or 2 bytes in both, chunks' ends unused).
 */
export class Sst {
  private at: Uint32Array[] = [];
  private chunks: Buffer[] = [];
  /** bytes used in each chunk */
  private fills: number[] = [];
  private cur: Buffer = EMPTY;
  private used = 0;
  private start = 0;
  private wide = false;
  count = 0;
  /** characters (UTF-16 code units) kept */
  chars = 0;
  /** bytes allocated */
  bytes = 0;
  get(i: number): string {
    if (i >= this.count) return '';
    const a = this.at[i >>> AT_SHIFT][i & AT_MASK];
    const k = (a >>> 20) & 0x7ff;
    let e = this.fills[k];
    if (i + 1 < this.count) {
      const b = this.at[(i + 1) >>> AT_SHIFT][(i + 1) & AT_MASK];
      if (((b >>> 20) & 0x7ff) === k) e = b & 0xfffff;
    }
    return this.chunks[k].toString(a >>> 31 ? 'utf16le' : 'latin1', a & 0xfffff, e);
  }
  /** an entry of at most `cch` characters: room for them as UTF-16 in the current chunk or a new one */
  begin(cch: number): void {
    if (this.used + 2 * cch >= this.cur.length) {
      // chunks of 4 KiB, 16 KiB, … 1 MiB: a small workbook costs little
      const size = Math.max(2 * cch + 1, Math.min(CHUNK, 4096 << (2 * Math.min(this.chunks.length, 4))));
      this.cur = Buffer.alloc(size);
      this.chunks.push(this.cur);
      this.fills.push(0);
      this.used = 0;
      this.bytes += size;
    }
    this.start = this.used;
    this.wide = false;
  }
  /** `n` characters at `b[p]`, 8-bit or 16-bit (2n bytes) */
  put(b: Buffer, p: number, n: number, high: boolean): void {
    const d = this.cur;
    if (high && !this.wide) {
      // the entry so far was 8-bit: widened in place, from its end
      const k = this.used - this.start;
      for (let i = k - 1; i >= 0; i--) {
        d[this.start + 2 * i] = d[this.start + i];
        d[this.start + 2 * i + 1] = 0;
      }
      this.used += k;
      this.wide = true;
    }
    if (high || !this.wide) {
      const k = high ? 2 * n : n;
      // Buffer.copy costs ~100 ns a call: most of the time for a million one-character strings
      if (k > 32) this.used += b.copy(d, this.used, p, p + k);
      else for (let i = 0; i < k; i++) d[this.used++] = b[p + i];
    } else {
      for (let i = 0; i < n; i++) {
        d[this.used++] = b[p + i];
        d[this.used++] = 0;
      }
    }
  }
  end(): void {
    const i = this.count++;
    if ((i & AT_MASK) === 0) {
      this.at.push(new Uint32Array(AT_MASK + 1));
      this.bytes += 4 * (AT_MASK + 1);
    }
    this.at[i >>> AT_SHIFT][i & AT_MASK] = ((this.wide ? 0x80000000 : 0) | ((this.chunks.length - 1) << 20) | this.start) >>> 0;
    this.fills[this.chunks.length - 1] = this.used;
    this.chars += this.wide ? (this.used - this.start) / 2 : this.used - this.start;
  }
  /** the entry begun is not one (its characters ran past the last record) */
  drop(): void {
    this.used = this.start;
  }
}
/** a chunk of characters at most (an entry of 65,535 UTF-16 characters fits; offsets are 20 bits) */
const CHUNK = 1 << 20;
/** entries per chunk of the entries' words */
const AT_SHIFT = 12, AT_MASK = (1 << AT_SHIFT) - 1;

/**
 * A reader over a record and its CONTINUE records, read from the window as they come: a character
 * array resumes after a flags byte. The current record's body is `buf[o..end)`.
 */
export class Segments {
  private buf: Buffer;
  private o: number;
  private end: number;
  /** the stream offset of the next record */
  private next: number;
  private last = false;
  /** CONTINUE records read */
  records = 0;
  constructor(private readonly w: StreamWindow, private readonly size: number, at: number, len: number) {
    const p = w.at(at, len);
    this.buf = w.buf;
    this.o = p;
    this.end = Math.min(p + len, w.buf.length);
    this.next = at + len;
  }
  /** on to the next CONTINUE record; false when there is none */
  private advance(): boolean {
    if (this.last || this.next + 4 > this.size) return !(this.last = true);
    const w = this.w;
    const p = w.at(this.next, 4);
    if (p + 4 > w.buf.length || w.buf.readUInt16LE(p) !== CONTINUE) return !(this.last = true);
    const len = w.buf.readUInt16LE(p + 2);
    const q = w.at(this.next + 4, Math.min(len, this.size - this.next - 4));
    this.buf = w.buf;
    this.o = q;
    this.end = Math.min(q + len, w.buf.length);
    this.next += 4 + len;
    this.records++;
    return true;
  }
  /** steps over the CONTINUE records not read; the offset of the record after them */
  skipRest(): number {
    while (!this.last) this.advance();
    return this.next;
  }
  done(): boolean {
    while (this.o >= this.end) if (!this.advance()) return true;
    return false;
  }
  byte(): number {
    if (this.done()) return -1;
    return this.buf[this.o++];
  }
  u16(): number {
    const a = this.byte(), b = this.byte();
    return a < 0 || b < 0 ? -1 : a | (b << 8);
  }
  u32(): number {
    const a = this.u16(), b = this.u16();
    return a < 0 || b < 0 ? 0 : (a + b * 65536) >>> 0;
  }
  skip(n: number): void {
    while (n > 0 && !this.done()) {
      const k = Math.min(n, this.end - this.o);
      this.o += k;
      n -= k;
    }
  }
  /** `cch` characters into `out`; when they run into the next record, its first byte says 8- or 16-bit for
   *  the rest. False when the records end before the first character's record (the string is not one). */
  chars(cch: number, high: number, out: Sst): boolean {
    let left = cch;
    let first = true;
    while (left > 0) {
      if (this.o >= this.end) {
        if (!this.advance()) return !first;
        high = this.o < this.end ? this.buf[this.o++] & 1 : 0;
        continue;
      }
      first = false;
      const w = high ? 2 : 1;
      const take = Math.min(left, Math.floor((this.end - this.o) / w));
      if (take === 0) {
        this.o = this.end; // an odd byte at the end of a record: step over it
        continue;
      }
      out.put(this.buf, this.o, take, high === 1);
      this.o += take * w;
      left -= take;
    }
    return true;
  }
}

/** Cells to lines: one line per row, cells separated by tabs, a blank line between sheets. */
class Lines {
  private parts: string[] = [];
  private cur: string[] = [];
  private curRow = -1;
  length = 0;
  constructor(private readonly max: number) {}
  get full(): boolean {
    return this.length >= this.max;
  }
  row(r: number): void {
    if (r !== this.curRow) this.endRow();
    this.curRow = r;
  }
  cell(r: number, s: string): void {
    this.row(r);
    this.cellInRow(s);
  }
  cellInRow(s: string): void {
    if (!s || this.full) return;
    this.cur.push(s);
    this.length += s.length + 1;
  }
  private endRow(): void {
    if (this.cur.length) this.parts.push(this.cur.join('\t'));
    this.cur = [];
    this.curRow = -1;
  }
  endSheet(): void {
    this.endRow();
    if (this.parts.length && this.parts[this.parts.length - 1] !== '') this.parts.push('');
  }
  text(): string {
    this.endRow();
    return this.parts.join('\n').trim().slice(0, this.max);
  }
}

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

/** The workbook's cell text, at most `maxChars`; '' when encrypted or not BIFF8. */
export function xlsText(wb: OleStream, maxChars: number): string {
  const first = wb.read(0, 8);
  if (first.length < 8 || first.readUInt16LE(0) !== BOF || first.readUInt16LE(4) !== 0x0600) return '';
  const out = new Lines(maxChars);
  let sst: string[] = [];
  let formulaString = false;
  let off = 0;
  for (let n = 0; n < MAX_RECORDS && off + 4 <= wb.size && !out.full; n++) {
    const h = wb.read(off, 4);
    if (h.length < 4) break;
    const type = h.readUInt16LE(0), len = h.readUInt16LE(2);
    const body = len ? wb.read(off + 4, len) : EMPTY;
    off += 4 + len;
    // a string formula's cached value is the next STRING record (shared/array formula records may come between)
    const wantString: boolean = formulaString;
    formulaString = wantString && (type === 0x04bc || type === 0x0221 || type === 0x0236);
    switch (type) {
      case FILEPASS:
        return '';
      case SST: {
        // the SST and the CONTINUE records after it
        const segs = [body];
        for (; off + 4 <= wb.size; n++) {
          const c = wb.read(off, 4);
          if (c.length < 4 || c.readUInt16LE(0) !== CONTINUE) break;
          segs.push(wb.read(off + 4, c.readUInt16LE(2)));
          off += 4 + c.readUInt16LE(2);
        }
        sst = readSst(segs, 4 * maxChars);
        break;
      }
      case EOF:
        out.endSheet();
        break;
      case LABELSST:
        if (body.length >= 10) out.cell(body.readUInt16LE(0), sst[body.readUInt32LE(6)] ?? '');
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
  return out.text();
}

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

/** The shared strings, read across the SST's CONTINUE records; characters kept up to `maxChars` in all. */
export function readSst(segs: Buffer[], maxChars: number): string[] {
  const r = new Segments(segs);
  r.skip(8); // cstTotal, cstUnique (never trusted for sizes)
  const out: string[] = [];
  let kept = 0;
  while (!r.done()) {
    const cch = r.u16(), flags = r.byte();
    if (cch < 0 || flags < 0) break;
    const runs = flags & 8 ? r.u16() : 0;
    const ext = flags & 4 ? r.u32() : 0;
    const s = r.chars(cch, flags & 1, kept < maxChars);
    if (s === undefined) break;
    kept += s.length;
    out.push(s);
    r.skip(runs * 4 + ext);
  }
  return out;
}

/** A reader over a record and its CONTINUE records: a character array resumes after a flags byte. */
class Segments {
  private i = 0;
  private o = 0;
  constructor(private readonly segs: Buffer[]) {}
  done(): boolean {
    while (this.i < this.segs.length && this.o >= this.segs[this.i].length) {
      this.i++;
      this.o = 0;
    }
    return this.i >= this.segs.length;
  }
  byte(): number {
    if (this.done()) return -1;
    return this.segs[this.i][this.o++];
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
      const k = Math.min(n, this.segs[this.i].length - this.o);
      this.o += k;
      n -= k;
    }
  }
  /** `cch` characters; when they run into the next record, its first byte says 8- or 16-bit for the rest */
  chars(cch: number, high: number, keep: boolean): string | undefined {
    let s = '';
    let left = cch;
    let first = true;
    while (left > 0) {
      if (this.i >= this.segs.length) return s;
      const seg = this.segs[this.i];
      if (this.o >= seg.length) {
        this.i++;
        this.o = 0;
        if (this.i >= this.segs.length) return first ? undefined : s;
        high = this.segs[this.i][this.o++] & 1;
        continue;
      }
      first = false;
      const w = high ? 2 : 1;
      const take = Math.min(left, Math.floor((seg.length - this.o) / w));
      if (take === 0) {
        this.o = seg.length; // an odd byte at the end of a record: step over it
        continue;
      }
      if (keep) s += seg.toString(high ? 'utf16le' : 'latin1', this.o, this.o + take * w);
      this.o += take * w;
      left -= take;
    }
    return s;
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

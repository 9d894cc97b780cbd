// Text of Word 97–2003 documents (MS-DOC): the FIB of the WordDocument stream names the table stream
// (0Table/1Table) and the CLX in it; the CLX's piece table lists the pieces of text in character
// order, each 8-bit ("compressed", MS-DOC 2.4.1's code page) or UTF-16LE. Read in that order, with
// paragraph and cell marks as separators and field instructions left out (their results are kept).
import type { OleFile, OleStream } from './ole';
import { CappedText } from './cappedText';

/** MS-DOC 2.4.1: bytes 0x82–0x9F of a compressed piece that are not their own code point */
const DOC_EXCEPTIONS: Record<number, number> = {
  0x82: 0x201a, 0x83: 0x0192, 0x84: 0x201e, 0x85: 0x2026, 0x86: 0x2020, 0x87: 0x2021, 0x88: 0x02c6, 0x89: 0x2030,
  0x8a: 0x0160, 0x8b: 0x2039, 0x8c: 0x0152, 0x91: 0x2018, 0x92: 0x2019, 0x93: 0x201c, 0x94: 0x201d, 0x95: 0x2022,
  0x96: 0x2013, 0x97: 0x2014, 0x98: 0x02dc, 0x99: 0x2122, 0x9a: 0x0161, 0x9b: 0x203a, 0x9c: 0x0153, 0x9f: 0x0178,
};
const COMPRESSED = Array.from({ length: 256 }, (_, b) => DOC_EXCEPTIONS[b] ?? b);

/** pieces at most (a real document has a few hundred) */
const MAX_PIECES = 100_000;
/** CLX bytes read from the table stream */
const MAX_CLX = 4 * 1024 * 1024;

export interface DocFib {
  encrypted: boolean;
  tableStream: string;
  fcClx: number;
  lcbClx: number;
  /** Word 6/95 files: no piece table here, the text is fcMin..fcMac */
  fcMin: number;
  fcMac: number;
  nFib: number;
}

/** The FIB fields we need; undefined when the WordDocument stream does not start with one. */
export function readFib(word: OleStream): DocFib | undefined {
  const b = word.read(0, 1024);
  if (b.length < 0x22 || b.readUInt16LE(0) !== 0xa5ec) return undefined;
  const flags = b.readUInt16LE(0x0a);
  const fib: DocFib = {
    nFib: b.readUInt16LE(2),
    encrypted: (flags & 0x0100) !== 0 || (flags & 0x8000) !== 0, // fEncrypted, fObfuscated
    tableStream: flags & 0x0200 ? '1Table' : '0Table',
    fcClx: 0,
    lcbClx: 0,
    fcMin: b.length >= 0x20 ? b.readUInt32LE(0x18) : 0,
    fcMac: b.length >= 0x20 ? b.readUInt32LE(0x1c) : 0,
  };
  // FibRgW97 (csw words), FibRgLw97 (cslw longs), then FibRgFcLcb97: fcClx/lcbClx is its 34th pair
  const csw = b.readUInt16LE(0x20);
  const lwAt = 0x22 + csw * 2;
  if (lwAt + 2 > b.length) return fib;
  const cslw = b.readUInt16LE(lwAt);
  const fcAt = lwAt + 2 + cslw * 4;
  if (fcAt + 2 > b.length) return fib;
  const pairs = b.readUInt16LE(fcAt);
  const clxAt = fcAt + 2 + 33 * 8;
  if (pairs > 33 && clxAt + 8 <= b.length) {
    fib.fcClx = b.readUInt32LE(clxAt);
    fib.lcbClx = b.readUInt32LE(clxAt + 4);
  }
  return fib;
}

interface Piece {
  cpStart: number;
  cpEnd: number;
  fc: number;
  compressed: boolean;
}

/** The piece table from the CLX: Prc entries (property modifiers) skipped, then the Pcdt. */
export function pieceTable(clx: Buffer): Piece[] {
  let p = 0;
  while (p < clx.length && clx[p] === 0x01) {
    if (p + 3 > clx.length) return [];
    p += 3 + Math.max(0, clx.readInt16LE(p + 1));
  }
  if (p + 5 > clx.length || clx[p] !== 0x02) return [];
  const lcb = Math.min(clx.readUInt32LE(p + 1), clx.length - p - 5);
  const plc = clx.subarray(p + 5, p + 5 + lcb);
  const n = Math.min(MAX_PIECES, Math.floor((plc.length - 4) / 12));
  const out: Piece[] = [];
  for (let i = 0; i < n; i++) {
    const cpStart = plc.readUInt32LE(i * 4), cpEnd = plc.readUInt32LE(i * 4 + 4);
    const fcRaw = plc.readUInt32LE((n + 1) * 4 + i * 8 + 2);
    const compressed = (fcRaw & 0x40000000) !== 0;
    const fc = fcRaw & 0x3fffffff;
    if (cpEnd > cpStart) out.push({ cpStart, cpEnd, fc: compressed ? fc >>> 1 : fc, compressed });
  }
  return out;
}

/** The document's text, at most `maxChars`; '' for an encrypted document or one we cannot read. */
export function docText(ole: OleFile, maxChars: number): string {
  const word = ole.stream('WordDocument');
  if (!word) return '';
  const fib = readFib(word);
  if (!fib || fib.encrypted) return '';
  const out = new DocTextSink(maxChars);
  const table = fib.lcbClx > 0 ? ole.stream(fib.tableStream) : undefined;
  const pieces = table ? pieceTable(table.read(fib.fcClx, Math.min(fib.lcbClx, MAX_CLX))) : [];
  if (pieces.length) {
    // pieces of a real document do not overlap: together they hold at most the stream's bytes as
    // characters. A hostile table naming the same bytes again and again (inside field instructions, so
    // no text fills the cap) stops at twice that, counted as read: it was the stream plus the text cap,
    // so a 40 KB file cost a million characters (4 ms, 100 ms per MB), and a piece claiming 2^30
    // characters used it all up for the pieces after it
    let budget = 2 * word.size;
    for (const pc of pieces) {
      if (out.full || budget <= 0) break;
      const chars = Math.min(pc.cpEnd - pc.cpStart, budget);
      // read in slices so a piece claiming 2^30 characters costs what the stream really has
      for (let done = 0; done < chars && !out.full; ) {
        const n = Math.min(chars - done, 32 * 1024);
        const b = word.read(pc.fc + done * (pc.compressed ? 1 : 2), n * (pc.compressed ? 1 : 2));
        if (!b.length) break;
        if (pc.compressed) for (let i = 0; i < b.length; i++) out.push(COMPRESSED[b[i]]);
        else for (let i = 0; i + 1 < b.length; i += 2) out.push(b[i] | (b[i + 1] << 8));
        budget -= pc.compressed ? b.length : b.length >> 1;
        done += n;
        if (b.length < n * (pc.compressed ? 1 : 2)) break;
      }
    }
  } else if (fib.fcMac > fib.fcMin && fib.nFib < 0xc1) {
    // a Word 6/95 document without a complex piece table: 8-bit text from fcMin to fcMac
    const b = word.read(fib.fcMin, Math.min(fib.fcMac - fib.fcMin, maxChars));
    for (let i = 0; i < b.length; i++) out.push(COMPRESSED[b[i]]);
  }
  return out.text();
}

/** Word's special characters → text; field instructions (0x13 … 0x14) dropped, results kept. */
class DocTextSink extends CappedText {
  /** open fields; per field whether its instruction is still being read (bounded: deeper ones only counted) */
  private fields: boolean[] = [];
  private deeper = 0;
  private inInstr = 0;
  push(c: number): void {
    if (c === 0x13) {
      if (this.fields.length < 64) {
        this.fields.push(true);
        this.inInstr++;
      } else this.deeper++;
      return;
    }
    if (c === 0x14 || c === 0x15) {
      if (this.deeper) {
        if (c === 0x15) this.deeper--;
        return;
      }
      const n = this.fields.length;
      if (!n) return;
      if (this.fields[n - 1]) {
        this.fields[n - 1] = false;
        this.inInstr--;
      }
      if (c === 0x15) this.fields.pop();
      return;
    }
    if (this.inInstr || this.deeper) return;
    let ch: number;
    if (c === 0x0d || c === 0x0b || c === 0x0c || c === 0x0e) ch = 0x0a;
    else if (c === 0x07 || c === 0x09) ch = 0x09;
    else if (c === 0x1e) ch = 0x2d; // non-breaking hyphen
    else if (c < 0x20) return; // pictures, footnote references, optional hyphens …
    else ch = c;
    this.add(ch);
  }
}

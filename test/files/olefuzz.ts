// Structure-aware mutations of .doc, .xls, .ppt and .rtf files for the hostile-input fuzz (legacy-office.test.ts
// runs a bounded, seeded share of them; the campaign in docs/files.md ran the same generator for
// hundreds of thousands of cases). Each case starts from a valid file of one of several shapes written
// by olegen.ts (8-bit/UTF-16 pieces, many pieces, streams in the mini stream or in sectors, SST split
// over CONTINUE records, RTF with \uN, \'hh, destinations, pictures) and changes what a reader trusts:
// header, FAT, DIFAT, mini FAT and directory fields, sector order, FIB and piece table fields, BIFF
// record lengths and SST counts, PowerPoint record headers (lengths, recVer, recInstance, types, nesting)
// and Current User / UserEditAtom fields, RTF control words and numbers at their limits, truncations.
import { pptRec, writeCfb, writeDoc, writePpt, writeXls, type DocPiece, type PptSlide, type XlsCell } from './olegen';
import { OleFile } from '../../analyzer/files/ole';
import { bufferSource } from '../../analyzer/files/inspect';
import { xorshift32 } from '../helpers/fuzz';

export class Rnd {
  readonly u32: () => number;
  constructor(s: number) { this.u32 = xorshift32((s * 2654435761) >>> 0); }
  n(k: number): number { return k <= 0 ? 0 : this.u32() % k; }
  pick<T>(a: readonly T[]): T { return a[this.n(a.length)]; }
  chance(p: number): boolean { return this.u32() / 4294967296 < p; }
}
const SS = 512;
const PAN = '4556 7375 8689 9855';
const ALPH = 'abcdefghij klmnop\u00e9\u00fc\u2013\u201c\u03a9\u0416';

function interesting(r: Rnd, near = 0): number {
  return (r.pick([0, 1, 2, 3, 0x7f, 0x80, 0xff, 0x100, 0xfff, 0x1000, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffa, 0xfffffffb,
    0xfffffffc, 0xfffffffd, 0xfffffffe, 0xffffffff, 0x3fffffff, 0x40000000, near, near + 1, near - 1, near * 2, r.n(64), r.n(1 << 16), r.u32()]) >>> 0) >>> 0;
}

function docText(r: Rnd, len: number, compressed: boolean): string {
  let s = '';
  while (s.length < len) {
    const k = r.n(20);
    if (k === 0) s += '\r'; else if (k === 1) s += '\x07'; else if (k === 2) s += '\x13 HYPERLINK "x" \x14res\x15'; else if (k === 3) s += PAN;
    else if (k === 4) s += '\x13'; else if (k === 5) s += '\x15'; else s += compressed ? 'abc def '[r.n(8)] : ALPH[r.n(ALPH.length)];
  }
  return s + '\r';
}

export type Fmt = 'doc' | 'xls' | 'rtf' | 'ppt';
/** a valid base of one of several shapes */
export function baseDoc(r: Rnd): { streams: Array<{ name: string; data: Buffer }> } {
  const shape = r.n(5);
  const pieces: DocPiece[] = [];
  const np = shape === 1 ? 50 + r.n(400) : 1 + r.n(4);
  const big = shape === 2 ? 20000 + r.n(60000) : shape === 3 ? 2000 : 200;
  for (let i = 0; i < np; i++) { const c = r.chance(0.5); pieces.push({ text: docText(r, 1 + r.n(big / np + 5), c), compressed: c }); }
  const lay = writeDoc(pieces);
  const ole = OleFile.open(bufferSource(lay.file))!;
  const get = (n: string) => { const s = ole.stream(n)!; return s.read(0, s.size); };
  let word = get('WordDocument'), table = get('1Table');
  if (shape === 3) table = Buffer.concat([table, Buffer.alloc(5000)]); // table in regular sectors
  if (shape === 4) word = word.subarray(0, Math.max(0x600 + 16, 1000)); // WordDocument in the mini stream
  return { streams: [{ name: 'WordDocument', data: Buffer.from(word) }, { name: '1Table', data: Buffer.from(table) }] };
}
export function baseXls(r: Rnd): { streams: Array<{ name: string; data: Buffer }> } {
  const rows: XlsCell[][] = [];
  const nr = r.chance(0.2) ? 500 + r.n(3000) : 2 + r.n(20);
  for (let i = 0; i < nr; i++) {
    const row: XlsCell[] = [];
    for (let c = 0; c < 1 + r.n(5); c++) {
      const k = r.n(5);
      row.push(k === 0 ? 4556737586899855 : k === 1 ? { rk: r.n(100000) } : k === 2 ? { label: 'SSN 536-22-8765' } : k === 3 ? r.n(1000) / 7 : Array.from({ length: 1 + r.n(40) }, () => ALPH[r.n(ALPH.length)]).join(''));
    }
    rows.push(row);
  }
  const sheets = [{ name: 'A', rows: rows.slice(0, nr / 2) }, { name: 'B', rows: rows.slice(nr / 2) }];
  const f = writeXls(sheets, { maxRecord: r.pick([8224, 24, 40, 9, 100]), continueAs16: r.chance(0.3) });
  const ole = OleFile.open(bufferSource(f))!;
  const s = ole.stream('Workbook')!;
  let wb = Buffer.from(s.read(0, s.size));
  if (r.chance(0.3)) { let e = wb.length; while (e > 0 && wb[e - 1] === 0) e--; wb = wb.subarray(0, e); } // maybe the mini stream
  return { streams: [{ name: 'Workbook', data: wb }] };
}
export function baseRtf(r: Rnd): Buffer {
  const parts: string[] = ['{\\rtf1\\ansi', r.pick(['\\ansicpg1252', '\\ansicpg1251', '\\ansicpg932', '\\ansicpg936', '\\mac', '']), '\\deff0{\\fonttbl{\\f0 Arial 4111111111111111;}}{\\colortbl;\\red1;}\n'];
  const n = r.chance(0.2) ? 2000 + r.n(20000) : 10 + r.n(200);
  for (let i = 0; i < n; i++) {
    const k = r.n(16);
    if (k === 0) parts.push('\\par\n'); else if (k === 1) parts.push(`\\u${r.n(65536) - 32768}?`); else if (k === 2) parts.push(`\\'${r.n(256).toString(16).padStart(2, '0')}`);
    else if (k === 3) parts.push('{\\b '); else if (k === 4) parts.push('}'); else if (k === 5) parts.push('{\\*\\gen x}'); else if (k === 6) parts.push(`{\\pict\\pngblip ${'0a1b'.repeat(r.n(50))}}`);
    else if (k === 7) parts.push(`{\\field{\\*\\fldinst HYPERLINK "y"}{\\fldrslt ${PAN}}}`); else if (k === 8) parts.push(`\\uc${r.n(4)} `); else if (k === 9) parts.push('\\~'); else if (k === 10) parts.push('\\tab ');
    else parts.push('abc def 123 '.slice(r.n(6)));
  }
  parts.push('}');
  return Buffer.from(parts.join(''), 'latin1');
}

// ---- stream-level mutators ----
function fibMutate(r: Rnd, w: Buffer): void {
  if (w.length < 0x22) return;
  const csw = w.readUInt16LE(0x20), lwAt = 0x22 + csw * 2;
  const cslw = lwAt + 2 <= w.length ? w.readUInt16LE(lwAt) : 0, fcAt = lwAt + 2 + cslw * 4, clxAt = fcAt + 2 + 33 * 8;
  const k = r.n(9);
  const put32 = (o: number, v: number) => { if (o >= 0 && o + 4 <= w.length) w.writeUInt32LE(v >>> 0, o); };
  const put16 = (o: number, v: number) => { if (o >= 0 && o + 2 <= w.length) w.writeUInt16LE(v & 0xffff, o); };
  if (k === 0) put32(clxAt, interesting(r, clxAt < w.length - 4 ? w.readUInt32LE(clxAt) : 0)); // fcClx
  else if (k === 1) put32(clxAt + 4, interesting(r, clxAt + 8 <= w.length ? w.readUInt32LE(clxAt + 4) : 0)); // lcbClx
  else if (k === 2) put16(0x0a, w.readUInt16LE(0x0a) ^ (1 << r.n(16))); // flags: fWhichTblStm, fEncrypted, ...
  else if (k === 3) put16(0x20, interesting(r, csw));
  else if (k === 4) put16(lwAt, interesting(r, cslw));
  else if (k === 5) put16(fcAt, interesting(r, 0x5d));
  else if (k === 6) put32(lwAt + 2 + 3 * 4, interesting(r)); // ccpText
  else if (k === 7) { put32(0x18, interesting(r, 0x600)); put32(0x1c, interesting(r)); put16(2, r.pick([0x65, 0x68, 0xc1, 0xd9, 0x101])); }
  else put16(0, r.chance(0.5) ? 0xa5ec : r.u32());
}
function clxMutate(r: Rnd, t: Buffer): Buffer {
  // the CLX is at the table's end (olegen): its Pcdt
  const p = t.lastIndexOf(0x02, t.length - 1);
  let at = -1;
  for (let i = 0; i + 5 <= t.length; i++) if (t[i] === 2 && i + 5 + t.readUInt32LE(i + 1) === t.length) { at = i; break; }
  if (at < 0) { if (p >= 0) t[p] = r.n(256); return t; }
  const plc = at + 5, n = Math.floor((t.length - plc - 4) / 12);
  const k = r.n(8);
  if (k === 0) t.writeUInt32LE(interesting(r, t.length), at + 1); // lcb
  else if (k === 1 && n > 0) t.writeUInt32LE(interesting(r, t.readUInt32LE(plc + 4 * r.n(n + 1))), plc + 4 * r.n(n + 1)); // a CP
  else if (k === 2 && n > 0) { const o = plc + (n + 1) * 4 + r.n(n) * 8 + 2; t.writeUInt32LE((interesting(r, t.readUInt32LE(o)) ^ (r.chance(0.3) ? 0x40000000 : 0)) >>> 0, o); } // an fc
  else if (k === 3) { // Prc entries before the Pcdt
    const pre = Buffer.alloc(3 + r.n(40)); pre[0] = 1; pre.writeUInt16LE(r.chance(0.5) ? pre.length - 3 : interesting(r) & 0xffff, 1);
    t = Buffer.concat([t.subarray(0, at), pre, t.subarray(at)]);
  } else if (k === 4 && n > 1) { // repeat the piece table's pieces over the same bytes
    const m = Math.min(100000, n * (2 + r.n(2000)));
    const b = Buffer.alloc((m + 1) * 4 + m * 8);
    let cp = 0;
    for (let i = 0; i < m; i++) { const j = i % n; b.writeUInt32LE(cp, i * 4); cp += t.readUInt32LE(plc + 4 * (j + 1)) - t.readUInt32LE(plc + 4 * j); t.copy(b, (m + 1) * 4 + i * 8, plc + (n + 1) * 4 + j * 8, plc + (n + 1) * 4 + j * 8 + 8); }
    b.writeUInt32LE(cp, m * 4);
    const h = Buffer.alloc(5); h[0] = 2; h.writeUInt32LE(b.length, 1);
    t = Buffer.concat([t.subarray(0, at), h, b]);
  } else if (k === 5) t = t.subarray(0, at + r.n(t.length - at)); // truncated CLX
  else if (n > 0) { const o = plc + (n + 1) * 4 + r.n(n) * 8 + 2; t.writeUInt32LE((r.n(0x2000) | (r.chance(0.5) ? 0x40000000 : 0)) >>> 0, o); }
  return t;
}
function records(b: Buffer): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let o = 0; o + 4 <= b.length && out.length < 100000; ) { out.push([o, b.readUInt16LE(o + 2)]); o += 4 + b.readUInt16LE(o + 2); }
  return out;
}
function xlsMutate(r: Rnd, wb: Buffer): Buffer {
  const recs = records(wb);
  if (!recs.length) return wb;
  const [o, len] = r.pick(recs);
  const k = r.n(9);
  if (k === 0) wb.writeUInt16LE(interesting(r, len) & 0xffff, o + 2); // record length
  else if (k === 1) wb.writeUInt16LE(r.pick([0x0809, 0x000a, 0x002f, 0x00fc, 0x003c, 0x00fd, 0x0204, 0x00d6, 0x0203, 0x027e, 0x00bd, 0x0006, 0x0207, 0x04bc]), o);
  else if (k === 2) { const s = recs.find(([q]) => wb.readUInt16LE(q) === 0xfc); if (s) { wb.writeUInt32LE(interesting(r), s[0] + 4 + 4 * r.n(2)); if (s[1] > 10) wb.writeUInt16LE(interesting(r, 3) & 0xffff, s[0] + 12); if (r.chance(0.5) && s[1] > 10) wb[s[0] + 14] = r.pick([0, 1, 4, 5, 8, 9, 12, 13, 0xff]); } }
  else if (k === 3 && len >= 10) wb.writeUInt32LE(interesting(r), o + 4 + 6); // LABELSST index / number bits
  else if (k === 4) { const n = 1 + r.n(r.chance(0.1) ? 50000 : 50); return Buffer.concat([wb.subarray(0, o), ...Array(n).fill(wb.subarray(o, o + 4 + len)), wb.subarray(o)]); } // duplicate a record
  else if (k === 5) return Buffer.concat([wb.subarray(0, o), wb.subarray(o + 4 + len)]); // drop a record
  else if (k === 6) return wb.subarray(0, o + r.n(4 + len + 1)); // truncated at/within a record
  else if (k === 7 && len > 0) wb[o + 4 + r.n(len)] = r.pick([0, 1, 0xff, r.n(256), 8, 4, 5, 9]);
  else { // a CONTINUE split somewhere inside an SST
    const s = recs.find(([q]) => wb.readUInt16LE(q) === 0xfc);
    if (s && s[1] > 12) { const cut = 8 + r.n(s[1] - 8); const body = wb.subarray(s[0] + 4, s[0] + 4 + s[1]); const h1 = Buffer.from([0xfc, 0, cut & 255, cut >> 8]); const h2 = Buffer.from([0x3c, 0, (s[1] - cut + 1) & 255, (s[1] - cut + 1) >> 8, r.pick([0, 1])]); return Buffer.concat([wb.subarray(0, s[0]), h1, body.subarray(0, cut), h2, body.subarray(cut), wb.subarray(s[0] + 4 + s[1])]); }
  }
  return wb;
}
export function rtfMutate(r: Rnd, b: Buffer): Buffer {
  const at = r.n(b.length + 1);
  const ins = (s: string | Buffer) => Buffer.concat([b.subarray(0, at), typeof s === 'string' ? Buffer.from(s, 'latin1') : s, b.subarray(at)]);
  const k = r.n(14);
  if (k === 0) return ins(`\\uc${r.pick(['999999999999', '255', '256', '0', '-1', '65535', String(r.n(10))])} `);
  if (k === 1) return ins(`\\u${r.pick(['-32768', '-32769', '32767', '65535', '65536', '-999999999999', '99999999999999', '-0', '55357\\u56832'])}`);
  if (k === 2) return ins(r.pick(["\\'zz", "\\'", "\\'a", "\\'g0", "\\'0", "\\'FF\\'FE"]));
  if (k === 3) return ins(`\\bin${r.pick(['999999999999', '2147483647', '-5', '0', String(r.n(100)), '4294967296', String(b.length - at - r.n(20))])} `);
  if (k === 4) return ins('{'.repeat(1 + r.n(r.chance(0.1) ? 300000 : 400)));
  if (k === 5) return ins('}'.repeat(1 + r.n(400)));
  if (k === 6) return ins(r.pick(['{\\*', '{\\pict ', '{\\fonttbl ', '\\*', '{\\*\\unknown ', '{\\fldinst ', '\\ansicpg932 ', '\\ansicpg936 ', '\\ansicpg65001 ', `\\ansicpg${r.n(100000)} `, '\\mac ', '\\ansicpg1251 ']));
  if (k === 7) return ins('\\' + 'abcdefgh'.repeat(1 + r.n(r.chance(0.1) ? 20000 : 10)) + (r.chance(0.5) ? '-' : '') + '1234567890'.repeat(r.n(20)));
  if (k === 8) return b.subarray(0, at); // truncated anywhere (inside a control word, \'h, a \bin)
  if (k === 9) { const a2 = Math.min(b.length, at + r.n(200)); const seg = b.subarray(at, a2); return Buffer.concat([b.subarray(0, at), ...Array(1 + r.n(r.chance(0.1) ? 20000 : 50)).fill(seg), b.subarray(at)]); }
  if (k === 10) { const c = Buffer.from(b); for (let m = 0; m < 1 + r.n(20); m++) if (c.length) c[r.n(c.length)] = r.pick([0x7b, 0x7d, 0x5c, 0x27, 0, 0x0d, 0x2d, 0x30, r.n(256)]); return c; }
  if (k === 11) return ins(r.pick(['\\\\', '\\{', '\\}', '\\~', '\\-', '\\_', '\\\n', '\\']).repeat(1 + r.n(100)));
  if (k === 12) return ins(`\\'${r.pick(['82', '95', '81', 'e0'])}`.repeat(r.n(3000)) + r.pick(['}', '', '\\\\', '\\ansicpg1252 ', '{']));
  return ins(`\\ansicpg${r.pick([932, 936, 949, 950, 1250, 1251, 10000, 874])} `.repeat(1 + r.n(200)));
}

/** a presentation of one of several shapes: slides of UTF-16 and 8-bit atoms, drawings, names, comments, a footer, sometimes an encryption marker */
export function basePpt(r: Rnd): { streams: Array<{ name: string; data: Buffer }> } {
  const shape = r.n(6);
  const ns = shape === 1 ? 100 + r.n(1500) : 1 + r.n(6);
  const txt = (n: number) => Array.from({ length: n }, () => (r.chance(0.05) ? PAN : r.chance(0.05) ? '\r' : ALPH[r.n(ALPH.length)])).join('');
  const slides: PptSlide[] = [];
  for (let i = 0; i < ns; i++) {
    const texts = Array.from({ length: r.n(4) }, () => { const bytes = r.chance(0.4); const t = txt(1 + r.n(shape === 2 ? 20000 : 60)); return { text: bytes ? t.replace(/[^\x00-\xff]/g, 'x') : t, bytes }; });
    slides.push({ texts, name: r.chance(0.3) ? `Slide ${i}` : undefined, drawing: r.chance(0.4) ? txt(1 + r.n(40)) : undefined, comment: r.chance(0.2) ? { author: 'Pat', text: txt(1 + r.n(30)) } : undefined });
  }
  // a notes container (its own drawing with a text box) and other CStrings: text or not by their parent and recInstance
  const extra = shape === 3 || r.chance(0.2) ? Buffer.concat([
    pptRec(0xf, 0, 0x03f0, Buffer.concat([pptRec(0, 0, 0x03f1, Buffer.alloc(8)), pptRec(0xf, 0, 0x040c, pptRec(0xf, 0, 0xf002, pptRec(0xf, 0, 0xf004, pptRec(0xf, 0, 0xf00d, pptRec(0, 0, 0x0fa0, Buffer.from(`notes ${txt(20)}`, 'utf16le'))))))])),
    pptRec(0xf, 0, 0x1388, pptRec(0xf, 0, 0x1389, Buffer.concat([pptRec(0, 0, 0x0fba, Buffer.from('tag name', 'utf16le')), pptRec(0, 1, 0x0fba, Buffer.from(`tag ${PAN}`, 'utf16le'))]))),
    pptRec(0xf, 0, 0x0409, pptRec(0, 1, 0x0fba, Buffer.from('http://x/4111111111111111', 'utf16le'))),
  ]) : undefined;
  const enc = shape === 4 ? r.pick([true, 'token', 'useredit', 'crypt'] as const) : undefined;
  const f = writePpt(slides, { footer: r.chance(0.5) ? `Footer ${txt(10)}` : undefined, encrypted: enc, extra });
  const ole = OleFile.open(bufferSource(f))!;
  const get = (n: string) => { const s = ole.stream(n)!; return Buffer.from(s.read(0, s.size)); };
  let doc = get('PowerPoint Document');
  if (shape === 5 && doc.length < 4000) doc = Buffer.concat([doc, Buffer.alloc(4096 - doc.length)]); // in regular sectors
  return { streams: [{ name: 'Current User', data: get('Current User') }, { name: 'PowerPoint Document', data: doc }] };
}

interface PptRec { o: number; ver: number; inst: number; type: number; len: number; depth: number; }
/** the record tree of a stream, in order (lengths as they are, cut at the parent's end) */
function pptRecords(b: Buffer): PptRec[] {
  const out: PptRec[] = [];
  const ends = [b.length];
  for (let o = 0; o + 8 <= b.length && out.length < 200000; ) {
    while (ends.length > 1 && o >= ends[ends.length - 1]) ends.pop();
    if (o + 8 > ends[ends.length - 1]) { o = ends[ends.length - 1]; continue; }
    const vi = b.readUInt16LE(o), len = b.readUInt32LE(o + 4);
    out.push({ o, ver: vi & 0xf, inst: vi >> 4, type: b.readUInt16LE(o + 2), len, depth: ends.length - 1 });
    const end = Math.min(o + 8 + len, ends[ends.length - 1]);
    if ((vi & 0xf) === 0xf) { ends.push(end); o += 8; } else o = end;
  }
  return out;
}
const PPT_TYPES = [0x0fa0, 0x0fa8, 0x0fba, 0x03ee, 0x03e8, 0x0ff0, 0x0fd9, 0x2ee0, 0x2f14, 0x03f2, 0x040b, 0x0409, 0x0ff5, 0x0ff6, 0x1772, 0x0f9f, 0xf00d, 0x0000, 0xffff];
function pptMutate(r: Rnd, d: Buffer): Buffer {
  const recs = pptRecords(d);
  if (!recs.length) return d;
  const pickOf = (f: (x: PptRec) => boolean) => { const a = recs.filter(f); return a.length ? r.pick(a) : r.pick(recs); };
  const k = r.n(11);
  if (k === 0) { const x = r.pick(recs); d.writeUInt32LE(r.chance(0.5) ? (d.length - x.o - 8 + 1 + r.n(1 << 20)) >>> 0 : interesting(r, x.len), x.o + 4); } // recLen past the parent/stream end
  else if (k === 1) { const x = pickOf((y) => y.ver !== 0xf); d[x.o] |= 0xf; } // an atom read as a container
  else if (k === 2) { const x = pickOf((y) => y.ver === 0xf); d[x.o] = (d[x.o] & 0xf0) | r.n(15); } // a container read as an atom
  else if (k === 3) { const x = r.pick(recs); d.writeUInt16LE(((r.pick([0xfff, 0x800, 0x7ff, r.n(0x1000)]) << 4) | (d[x.o] & 0xf)) & 0xffff, x.o); } // recInstance
  else if (k === 4) { const x = r.pick(recs); d.writeUInt16LE(r.pick(PPT_TYPES), x.o + 2); } // recType
  else if (k === 5) { // deep nesting around a record: lengths that fit, or all claiming the rest of the stream
    const x = r.pick(recs), n = 1 + r.n(r.chance(0.2) ? 100000 : 2000), exact = r.chance(0.5);
    const tail = d.subarray(x.o, Math.min(d.length, x.o + 8 + x.len));
    const hs = Buffer.alloc(8 * n);
    for (let i = 0; i < n; i++) { hs.writeUInt16LE(0xf | (r.n(4) << 4), i * 8); hs.writeUInt16LE(r.pick([0x03ee, 0x03e8, 0x0ff0, 0x1388, 0xf00d, 0x2ee0]), i * 8 + 2); hs.writeUInt32LE(exact ? (n - 1 - i) * 8 + tail.length : 0xffffffff, i * 8 + 4); }
    return Buffer.concat([d.subarray(0, x.o), hs, d.subarray(x.o)]);
  } else if (k === 6) { const x = r.pick(recs); return d.subarray(0, x.o + r.pick([0, 0, 4, 7, 8, 8 + r.n(Math.min(x.len, d.length - x.o) + 1)])); } // truncated at/within a record
  else if (k === 7) { const x = pickOf((y) => y.ver !== 0xf); const seg = d.subarray(x.o, Math.min(d.length, x.o + 8 + x.len)); return Buffer.concat([d.subarray(0, x.o), ...Array(Math.min(1 + r.n(r.chance(0.1) ? 50000 : 50), Math.ceil((4 << 20) / seg.length))).fill(seg), d.subarray(x.o)]); } // an atom repeated (to 4 MiB)
  else if (k === 8) { const x = r.pick(recs); return Buffer.concat([d.subarray(0, x.o), d.subarray(Math.min(d.length, x.o + 8 + (x.ver === 0xf ? 0 : x.len)))]); } // a record (or a container's header) dropped
  else if (k === 9) { const ue = recs.filter((y) => y.type === 0x0ff5); if (ue.length) { const x = ue[ue.length - 1]; const f = r.pick([4, 8 + 12, 8 + 16, 8 + 20, 8 + 28]); if (x.o + f + 4 <= d.length) d.writeUInt32LE(interesting(r, f === 4 ? x.len : d.length), x.o + f); } } // UserEditAtom: recLen, offsetPersistDirectory, ids, encryptSessionPersistIdRef
  else { const x = r.pick(recs); for (let m = 0; m < 1 + r.n(4); m++) d[Math.min(d.length - 1, x.o + r.n(8))] = r.n(256); } // header bytes
  return d;
}
/** the Current User stream: its recLen, size, headerToken, offsetToCurrentEdit, user name length, or cut short */
function currentUserMutate(r: Rnd, c: Buffer, docLen: number): Buffer {
  const k = r.n(6);
  if (k === 5) return c.subarray(0, r.n(c.length));
  const o = [4, 8, 12, 16, 20, 8 + 16][k];
  if (o + 4 <= c.length) c.writeUInt32LE(o === 12 ? r.pick([0xf3d1c4df, 0xe391c05f, r.u32()]) : interesting(r, o === 16 ? docLen : c.length), o);
  return c;
}

// ---- container-level mutators ----
interface Lay { file: Buffer; dirSector: number; fatSector: number; }
function relayout(r: Rnd, streams: Array<{ name: string; data: Buffer }>): Lay {
  // sometimes add padding streams so the directory has more entries
  const extra = r.chance(0.2) ? Array.from({ length: 1 + r.n(12) }, (_, i) => ({ name: `Pad${i}`, data: Buffer.alloc(r.chance(0.5) ? 100 : 5000, i) })) : [];
  const lay = writeCfb([...streams, ...extra]);
  return { file: Buffer.from(lay.file), dirSector: lay.dirSector, fatSector: lay.fatSector };
}
/** move the FAT sector numbers from the header into a DIFAT sector appended at the end */
function difatBeyond(l: Lay): void {
  const n = l.file.length / SS - 1;
  const d = Buffer.alloc(SS, 0xff);
  const nfat = l.file.readUInt32LE(0x2c);
  for (let i = 0; i < nfat; i++) d.writeUInt32LE(l.file.readUInt32LE(0x4c + i * 4), i * 4);
  d.writeUInt32LE(0xfffffffe, SS - 4);
  for (let i = 0; i < 109; i++) l.file.writeUInt32LE(0xffffffff, 0x4c + i * 4);
  l.file.writeUInt32LE(n, 0x44);
  l.file.writeUInt32LE(1, 0x48);
  l.file = Buffer.concat([l.file, d]);
}
/** permute the sectors of the file (except the header), rewriting FAT, header and directory pointers: still valid */
function shuffleSectors(r: Rnd, l: Lay): void {
  const ole = OleFile.open(bufferSource(l.file));
  if (!ole) return;
  const n = l.file.length / SS - 1;
  const perm = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) { const j = r.n(i + 1); [perm[i], perm[j]] = [perm[j], perm[i]]; }
  const map = (s: number) => (s < n ? perm[s] : s);
  const out = Buffer.alloc(l.file.length);
  l.file.copy(out, 0, 0, SS);
  for (let s = 0; s < n; s++) l.file.copy(out, (perm[s] + 1) * SS, (s + 1) * SS, (s + 2) * SS);
  // the FAT: its sectors are listed in the header (first 109)
  const nfat = out.readUInt32LE(0x2c);
  const fatSecs: number[] = [];
  for (let i = 0; i < Math.min(109, nfat); i++) fatSecs.push(l.file.readUInt32LE(0x4c + i * 4));
  const fat: number[] = [];
  for (const fs of fatSecs) for (let i = 0; i < 128; i++) fat.push(l.file.readUInt32LE((fs + 1) * SS + i * 4));
  const nf = new Array(fat.length).fill(0xffffffff);
  for (let s = 0; s < Math.min(n, fat.length); s++) nf[perm[s]] = map(fat[s]);
  fatSecs.forEach((fs, k) => { for (let i = 0; i < 128; i++) out.writeUInt32LE(nf[k * 128 + i] >>> 0, (perm[fs] + 1) * SS + i * 4); });
  for (let i = 0; i < Math.min(109, nfat); i++) out.writeUInt32LE(perm[fatSecs[i]], 0x4c + i * 4);
  for (const o of [0x30, 0x3c]) out.writeUInt32LE(map(out.readUInt32LE(o)), o);
  // directory entries: start sectors of the root (mini stream) and big streams
  const dirChain: number[] = [];
  for (let s = l.file.readUInt32LE(0x30); s < n && dirChain.length < n; s = fat[s]) dirChain.push(s);
  for (const ds of dirChain) for (let e = 0; e < 4; e++) {
    const o = (perm[ds] + 1) * SS + e * 128;
    const type = out[o + 0x42], size = out.readUInt32LE(o + 0x78);
    if (type === 5 || (type === 2 && size >= 4096)) out.writeUInt32LE(map(out.readUInt32LE(o + 0x74)), o + 0x74);
  }
  l.file = out;
  l.dirSector = perm[l.dirSector];
}
function containerMutate(r: Rnd, l: Lay): void {
  const b = l.file;
  const n = b.length / SS - 1;
  const k = r.n(8);
  const dirAt = (i: number) => SS * (l.dirSector + 1) + i * 128;
  if (k === 0) { const o = r.pick([0x1e, 0x2c, 0x30, 0x38, 0x3c, 0x40, 0x44, 0x48, 0x4c, 0x50]); if (o === 0x1e) b.writeUInt16LE(r.pick([9, 12, 7, 16, 0]), o); else b.writeUInt32LE(interesting(r, n), o); }
  else if (k === 1) { const s = r.n(n); b.writeUInt32LE(r.chance(0.5) ? r.n(n + 2) : interesting(r, s), SS * (l.fatSector + 1) + s * 4); } // a FAT entry
  else if (k === 2) { const e = r.n(4); const f = r.pick([0x44, 0x48, 0x4c]); b.writeUInt32LE(r.chance(0.6) ? r.n(6) : interesting(r), dirAt(e) + f); } // child/sibling ids
  else if (k === 3) { const e = r.n(4); b.writeUInt32LE(r.chance(0.5) ? r.n(n + 2) : interesting(r, n), dirAt(e) + 0x74); } // start
  else if (k === 4) { const e = r.n(4); const o = dirAt(e) + 0x78; b.writeUInt32LE(interesting(r, b.readUInt32LE(o)), o); } // size
  else if (k === 5) { const e = r.n(4); b[dirAt(e) + 0x42] = r.pick([0, 1, 2, 5, 0xff]); if (r.chance(0.3)) b.writeUInt16LE(r.pick([0, 1, 64, 66, 0xffff]), dirAt(e) + 0x40); }
  else if (k === 6) { const mf = b.readUInt32LE(0x3c); if (mf < n) b.writeUInt32LE(r.chance(0.5) ? r.n(200) : interesting(r), SS * (mf + 1) + r.n(128) * 4); } // a mini FAT entry
  else { l.file = b.subarray(0, SS * (1 + r.n(n + 1)) - (r.chance(0.3) ? r.n(SS) : 0)); } // truncation at a sector boundary
}

export interface Case { fmt: Fmt; muts: string[]; data: Buffer; }
/** case k of a seed: .doc, .xls and RTF in turn, or (only = 'ppt') a .ppt, from its own sequence */
export function makeCase(seed: number, k: number, only?: 'ppt'): Case {
  const r = new Rnd(seed * 1000003 + k + (only ? 0x5bd1e995 : 0));
  const fmt: Fmt = only ?? (['doc', 'xls', 'rtf'] as const)[k % 3];
  const muts: string[] = [];
  if (fmt === 'rtf') {
    let b = baseRtf(r);
    for (let m = 0; m < 1 + r.n(6); m++) { try { b = rtfMutate(r, b); } catch { muts.push('generr'); } muts.push('rtf'); }
    if (r.chance(0.2)) { b = Buffer.from(b); for (let m = 0; m < 1 + r.n(30); m++) if (b.length) b[r.n(b.length)] = r.n(256); muts.push('flip'); }
    return { fmt, muts, data: b.subarray(0, 40 << 20) };
  }
  const base = fmt === 'doc' ? baseDoc(r) : fmt === 'ppt' ? basePpt(r) : baseXls(r);
  for (let m = 0; m < r.n(fmt === 'ppt' ? 5 : 4); m++) {
    try { if (fmt === 'ppt') { if (r.chance(0.15)) { base.streams[0].data = currentUserMutate(r, Buffer.from(base.streams[0].data), base.streams[1].data.length); muts.push('cu'); } else { base.streams[1].data = pptMutate(r, Buffer.from(base.streams[1].data)); muts.push('rec'); } }
    else if (fmt === 'doc') { if (r.chance(0.5)) { fibMutate(r, base.streams[0].data); muts.push('fib'); } else { base.streams[1].data = clxMutate(r, Buffer.from(base.streams[1].data)); muts.push('clx'); } }
    else { base.streams[0].data = xlsMutate(r, Buffer.from(base.streams[0].data)); muts.push('biff'); } } catch { muts.push('generr'); }
  }
  const l = relayout(r, base.streams);
  try {
    if (r.chance(0.3)) { shuffleSectors(r, l); muts.push('shuffle'); }
    if (r.chance(0.25)) { difatBeyond(l); muts.push('difat'); }
    for (let m = 0; m < (r.chance(0.3) ? 0 : 1 + r.n(4)); m++) { containerMutate(r, l); muts.push('cfb'); }
  } catch { muts.push('generr'); }
  let b = l.file;
  if (r.chance(0.2)) { b = Buffer.from(b); for (let m = 0; m < 1 + r.n(30); m++) b[8 + r.n(b.length - 8)] = r.n(256); muts.push('flip'); }
  return { fmt, muts, data: b };
}

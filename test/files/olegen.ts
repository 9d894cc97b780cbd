// Test fixtures written from the specs: a compound file (MS-CFB v3, 512-byte sectors, streams under
// 4 KiB in the mini stream), a Word 97 document (MS-DOC: FIB, 1Table with a CLX piece table) and an
// Excel 97 workbook (MS-XLS: BIFF8 records, SST split over CONTINUE records).
const ENDOFCHAIN = 0xfffffffe, FREESECT = 0xffffffff, FATSECT = 0xfffffffd, NOSTREAM = 0xffffffff;

export interface CfbLayout {
  file: Buffer;
  /** sector numbers: first FAT sector, first directory sector, first sector of each regular stream by name */
  fatSector: number;
  dirSector: number;
  streamSector: Record<string, number>;
}

/** MS-CFB 2.6.4: shorter names first, then by upper-case code units */
function cfbCompare(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  const A = a.toUpperCase(), B = b.toUpperCase();
  return A < B ? -1 : A > B ? 1 : 0;
}

export function writeCfb(streams: Array<{ name: string; data: Buffer }>): CfbLayout {
  const SS = 512, MINI = 64;
  const mini = streams.filter((s) => s.data.length < 4096);
  const big = streams.filter((s) => s.data.length >= 4096);
  // mini stream: each mini stream padded to 64 bytes
  const miniStart: number[] = [];
  const miniFat: number[] = [];
  const miniParts: Buffer[] = [];
  for (const s of mini) {
    const n = Math.max(1, Math.ceil(s.data.length / MINI));
    miniStart.push(miniFat.length);
    for (let k = 0; k < n; k++) miniFat.push(k === n - 1 ? ENDOFCHAIN : miniFat.length + 1);
    miniParts.push(s.data, Buffer.alloc(n * MINI - s.data.length));
  }
  const miniStream = Buffer.concat(miniParts);
  const entries = 1 + streams.length;
  const dirSectors = Math.ceil(entries / 4);
  const miniFatSectors = miniFat.length ? Math.ceil(miniFat.length / 128) : 0;
  const miniStreamSectors = Math.ceil(miniStream.length / SS);
  const bigSectors = big.map((s) => Math.ceil(s.data.length / SS));
  const content = dirSectors + miniFatSectors + miniStreamSectors + bigSectors.reduce((a, b) => a + b, 0);
  let fatSectors = 1;
  while (fatSectors * 128 < fatSectors + content) fatSectors++;
  const total = fatSectors + content;
  const fat = new Array<number>(fatSectors * 128).fill(FREESECT);
  let next = 0;
  const chain = (n: number): number => {
    const start = next;
    for (let k = 0; k < n; k++) fat[next + k] = k === n - 1 ? ENDOFCHAIN : next + k + 1;
    next += n;
    return n ? start : ENDOFCHAIN;
  };
  for (let k = 0; k < fatSectors; k++) fat[next++] = FATSECT;
  const dirStart = chain(dirSectors);
  const miniFatStart = chain(miniFatSectors);
  const miniStreamStart = chain(miniStreamSectors);
  const streamSector: Record<string, number> = {};
  const bigStart = big.map((s, k) => (streamSector[s.name] = chain(bigSectors[k])));

  // directory: the root and its children as a binary search tree (all black)
  const dir = Buffer.alloc(dirSectors * SS);
  const names = streams.map((s) => s.name);
  const sorted = [...names.keys()].sort((a, b) => cfbCompare(names[a], names[b]));
  const links = new Map<number, { left: number; right: number }>();
  const build = (lo: number, hi: number): number => {
    if (lo > hi) return NOSTREAM;
    const mid = (lo + hi) >> 1;
    const id = sorted[mid] + 1;
    links.set(id, { left: build(lo, mid - 1), right: build(mid + 1, hi) });
    return id;
  };
  const rootChild = build(0, sorted.length - 1);
  const entry = (i: number, name: string, type: number, start: number, size: number, l: { left: number; right: number }, child: number) => {
    const o = i * 128;
    const n = Buffer.from(name + '\0', 'utf16le');
    n.copy(dir, o);
    dir.writeUInt16LE(n.length, o + 0x40);
    dir[o + 0x42] = type;
    dir[o + 0x43] = 1;
    dir.writeUInt32LE(l.left, o + 0x44);
    dir.writeUInt32LE(l.right, o + 0x48);
    dir.writeUInt32LE(child, o + 0x4c);
    dir.writeUInt32LE(start, o + 0x74);
    dir.writeUInt32LE(size, o + 0x78);
  };
  entry(0, 'Root Entry', 5, miniStream.length ? miniStreamStart : ENDOFCHAIN, miniStream.length, { left: NOSTREAM, right: NOSTREAM }, rootChild);
  streams.forEach((s, k) => {
    const mi = mini.indexOf(s), bi = big.indexOf(s);
    entry(k + 1, s.name, 2, mi >= 0 ? miniStart[mi] : bigStart[bi], s.data.length, links.get(k + 1)!, NOSTREAM);
  });
  for (let i = entries; i < dirSectors * 4; i++) {
    dir.writeUInt32LE(NOSTREAM, i * 128 + 0x44);
    dir.writeUInt32LE(NOSTREAM, i * 128 + 0x48);
    dir.writeUInt32LE(NOSTREAM, i * 128 + 0x4c);
  }

  const h = Buffer.alloc(SS);
  Buffer.from('d0cf11e0a1b11ae1', 'hex').copy(h, 0);
  h.writeUInt16LE(0x003e, 0x18);
  h.writeUInt16LE(3, 0x1a);
  h.writeUInt16LE(0xfffe, 0x1c);
  h.writeUInt16LE(9, 0x1e);
  h.writeUInt16LE(6, 0x20);
  h.writeUInt32LE(fatSectors, 0x2c);
  h.writeUInt32LE(dirStart, 0x30);
  h.writeUInt32LE(4096, 0x38);
  h.writeUInt32LE(miniFatSectors ? miniFatStart : ENDOFCHAIN, 0x3c);
  h.writeUInt32LE(miniFatSectors, 0x40);
  h.writeUInt32LE(ENDOFCHAIN, 0x44);
  for (let i = 0; i < 109; i++) h.writeUInt32LE(i < fatSectors ? i : FREESECT, 0x4c + i * 4);

  const u32s = (a: number[], sectors: number) => {
    const b = Buffer.alloc(sectors * SS, 0xff);
    a.forEach((v, i) => b.writeUInt32LE(v >>> 0, i * 4));
    return b;
  };
  const pad = (b: Buffer, sectors: number) => Buffer.concat([b, Buffer.alloc(sectors * SS - b.length)]);
  const file = Buffer.concat([
    h,
    u32s(fat, fatSectors),
    dir,
    u32s(miniFat, miniFatSectors),
    pad(miniStream, miniStreamSectors),
    ...big.map((s, k) => pad(s.data, bigSectors[k])),
  ]);
  if (file.length !== SS * (1 + total)) throw new Error('cfb layout');
  return { file, fatSector: 0, dirSector: dirStart, streamSector };
}

export interface DocPiece {
  text: string;
  /** 8-bit piece (cp1252 as MS-DOC 2.4.1 maps it) instead of UTF-16LE */
  compressed?: boolean;
}

/**
 * A Word 97 document: WordDocument = FIB (nFib 0xC1, 1Table) + the pieces' bytes (padded to 4 KiB, as
 * Word writes it); 1Table = the CLX (a Pcdt with one Pcd per piece). Text must end with '\r'.
 */
export function writeDoc(pieces: DocPiece[], opts: { encrypted?: boolean; clxOverride?: (clx: Buffer) => Buffer } = {}): CfbLayout {
  const FIB = 0x600; // text starts here, after the 900-byte FIB
  const data: Buffer[] = [];
  const pcds: Array<{ cp: number; fc: number; compressed: boolean }> = [];
  let fc = FIB, cp = 0;
  for (const p of pieces) {
    const b = p.compressed ? Buffer.from([...p.text].map((ch) => cp1252Byte(ch))) : Buffer.from(p.text, 'utf16le');
    pcds.push({ cp, fc, compressed: !!p.compressed });
    data.push(b);
    fc += b.length;
    cp += p.text.length;
  }
  const textEnd = fc;
  const word = Buffer.alloc(Math.max(4096, textEnd + 512));
  Buffer.concat(data).copy(word, FIB);
  word.writeUInt16LE(0xa5ec, 0);
  word.writeUInt16LE(0x00c1, 2);
  word.writeUInt16LE(0x0409, 6);
  // fWhichTblStm, fExtChar; fComplex when there are several pieces (antiword reads only the first otherwise)
  word.writeUInt16LE(0x0200 | 0x1000 | (pieces.length > 1 ? 0x0004 : 0) | (opts.encrypted ? 0x0100 : 0), 0x0a);
  word.writeUInt16LE(0x00bf, 0x0c);
  word.writeUInt32LE(FIB, 0x18); // fcMin/fcMac, for readers of older versions
  word.writeUInt32LE(textEnd, 0x1c);
  word.writeUInt16LE(14, 0x20);
  word.writeUInt16LE(22, 0x3e);
  word.writeUInt32LE(word.length, 0x40); // cbMac
  word.writeUInt32LE(cp, 0x4c); // ccpText
  word.writeUInt16LE(0x5d, 0x98);
  // CLX: Pcdt = 0x02, lcb, PlcPcd (n+1 CPs, n Pcds of 8 bytes)
  const n = pcds.length;
  const plc = Buffer.alloc((n + 1) * 4 + n * 8);
  pcds.forEach((p, i) => {
    plc.writeUInt32LE(p.cp, i * 4);
    plc.writeUInt32LE((p.compressed ? (p.fc * 2) | 0x40000000 : p.fc) >>> 0, (n + 1) * 4 + i * 8 + 2);
  });
  plc.writeUInt32LE(cp, n * 4);
  let clx: Buffer = Buffer.concat([Buffer.from([0x02]), u32(plc.length), plc]);
  if (opts.clxOverride) clx = opts.clxOverride(clx);
  // the table stream: an empty stylesheet (STSH: an 18-byte Stshif, no styles) and font table
  // (SttbfFfn: no fonts) — antiword reads uninitialized memory without them — then the CLX
  const stsh = Buffer.concat([u16(18), u16(0), u16(0x0a), Buffer.alloc(14)]);
  const table = Buffer.concat([stsh, Buffer.alloc(4), clx]);
  word.writeUInt32LE(0, 0x9a + 1 * 8); // fcStshf
  word.writeUInt32LE(stsh.length, 0x9a + 1 * 8 + 4);
  word.writeUInt32LE(stsh.length, 0x9a + 15 * 8); // fcSttbfFfn
  word.writeUInt32LE(4, 0x9a + 15 * 8 + 4);
  word.writeUInt32LE(stsh.length + 4, 0x9a + 33 * 8); // fcClx
  word.writeUInt32LE(clx.length, 0x9a + 33 * 8 + 4); // lcbClx
  return writeCfb([
    { name: 'WordDocument', data: word },
    { name: '1Table', data: table },
  ]);
}

const CP1252_HIGH = '€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008dŽ\u008f\u0090‘’“”•–—˜™š›œ\u009džŸ';
function cp1252Byte(ch: string): number {
  const c = ch.charCodeAt(0);
  const k = CP1252_HIGH.indexOf(ch);
  if (k >= 0) return 0x80 + k;
  if (c > 0xff) throw new Error(`not in a compressed piece: ${ch}`);
  return c;
}

const u16 = (v: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(v);
  return b;
};
const u32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b;
};
const rec = (type: number, body: Buffer) => Buffer.concat([u16(type), u16(body.length), body]);

export type XlsCell = string | number | { rk: number } | { label: string };

/**
 * A BIFF8 workbook: globals (BOF, CODEPAGE, XF, BOUNDSHEET per sheet, SST split into CONTINUE records of
 * at most `maxRecord` bytes, EOF), then each sheet: BOF, DIMENSIONS, cells (strings through the SST,
 * or LABEL records; numbers as NUMBER or RK), EOF.
 */
export function writeXls(
  sheets: Array<{ name: string; rows: XlsCell[][] }>,
  opts: { maxRecord?: number; filepass?: boolean; continueAs16?: boolean } = {},
): Buffer {
  const sst: string[] = [];
  const sstIndex = new Map<string, number>();
  for (const sh of sheets)
    for (const row of sh.rows)
      for (const c of row)
        if (typeof c === 'string' && !sstIndex.has(c)) {
          sstIndex.set(c, sst.length);
          sst.push(c);
        }
  const bof = (dt: number) => rec(0x0809, Buffer.concat([u16(0x0600), u16(dt), u16(0x0dbb), u16(0x07cc), u32(0x000100c1), u32(0x00000406)]));
  const eof = rec(0x000a, Buffer.alloc(0));
  // 16 XF records (cell format 15 is the default "General" one readers expect)
  const xf = Buffer.concat(Array.from({ length: 16 }, (_, i) => rec(0x00e0, Buffer.concat([u16(0), u16(0), u16(i < 15 ? 0xfff5 : 0x0001), Buffer.alloc(14)]))));
  const font = rec(0x0031, Buffer.concat([u16(200), u16(0), u16(0x7fff), u16(400), u16(0), Buffer.from([0, 0, 0, 0]), Buffer.from([5, 0]), Buffer.from('Arial', 'latin1')]));
  const sheetBodies = sheets.map((sh) => {
    const cells: Buffer[] = [];
    const cols = Math.max(1, ...sh.rows.map((r) => r.length));
    cells.push(rec(0x0200, Buffer.concat([u32(0), u32(sh.rows.length), u16(0), u16(cols), u16(0)])));
    sh.rows.forEach((row, r) =>
      row.forEach((c, col) => {
        const head = Buffer.concat([u16(r), u16(col), u16(15)]);
        if (typeof c === 'string') cells.push(rec(0x00fd, Buffer.concat([head, u32(sstIndex.get(c)!)])));
        else if (typeof c === 'number') {
          const d = Buffer.alloc(8);
          d.writeDoubleLE(c);
          cells.push(rec(0x0203, Buffer.concat([head, d])));
        } else if ('rk' in c) cells.push(rec(0x027e, Buffer.concat([head, u32(((c.rk << 2) | 2) >>> 0)])));
        else cells.push(rec(0x0204, Buffer.concat([head, u16(c.label.length), Buffer.from([0]), Buffer.from(c.label, 'latin1')])));
      }),
    );
    return Buffer.concat([bof(0x10), ...cells, eof]);
  });
  const sstRecs = sstRecords(sst, opts.maxRecord ?? 8224, !!opts.continueAs16);
  const globalsWithout = (sheetOffsets: number[]) =>
    Buffer.concat([
      bof(0x0005),
      opts.filepass ? rec(0x002f, Buffer.concat([u16(1), u16(1), u16(1), Buffer.alloc(48)])) : Buffer.alloc(0),
      rec(0x0042, u16(1200)),
      font, font, font, font, font,
      xf,
      ...sheets.map((sh, k) => rec(0x0085, Buffer.concat([u32(sheetOffsets[k]), u16(0), Buffer.from([sh.name.length, 0]), Buffer.from(sh.name, 'latin1')]))),
      ...sstRecs,
      eof,
    ]);
  const glen = globalsWithout(sheets.map(() => 0)).length;
  const offsets: number[] = [];
  let o = glen;
  for (const b of sheetBodies) {
    offsets.push(o);
    o += b.length;
  }
  const wb = Buffer.concat([globalsWithout(offsets), ...sheetBodies]);
  const padded = wb.length < 4096 ? Buffer.concat([wb, Buffer.alloc(4096 - wb.length)]) : wb;
  return writeCfb([{ name: 'Workbook', data: padded }]).file;
}

/** the SST record and its CONTINUE records: a string's characters may go on in the next record after a flags byte */
function sstRecords(strings: string[], maxData: number, continueAs16: boolean): Buffer[] {
  const bodies: number[][] = [[...u32(strings.length), ...u32(strings.length)]];
  let cur = bodies[0];
  const room = () => maxData - cur.length;
  for (const s of strings) {
    let high = /[^\x00-\xff]/.test(s) ? 1 : 0;
    if (room() < 3 + (high ? 2 : 1)) bodies.push((cur = []));
    cur.push(...u16(s.length), high);
    let i = 0;
    while (i < s.length) {
      const w = high ? 2 : 1;
      const n = Math.min(s.length - i, Math.floor(room() / w));
      if (n === 0) {
        if (continueAs16) high = 1;
        bodies.push((cur = [high]));
        continue;
      }
      const part = s.slice(i, i + n);
      cur.push(...(high ? Buffer.from(part, 'utf16le') : Buffer.from(part, 'latin1')));
      i += n;
    }
  }
  return bodies.map((b, k) => rec(k === 0 ? 0x00fc : 0x003c, Buffer.from(b)));
}

// ---- PowerPoint 97 (MS-PPT) ----

/** a record: recVer (0xF for a container) and recInstance, recType, recLen */
export const pptRec = (ver: number, instance: number, type: number, body: Buffer) => {
  const h = Buffer.alloc(8);
  h.writeUInt16LE((ver & 0xf) | (instance << 4));
  h.writeUInt16LE(type, 2);
  h.writeUInt32LE(body.length, 4);
  return Buffer.concat([h, body]);
};
const box = (type: number, children: Buffer[], instance = 0) => pptRec(0xf, instance, type, Buffer.concat(children));
const cstr = (instance: number, s: string) => pptRec(0, instance, 0x0fba, Buffer.from(s, 'utf16le'));

export interface PptText {
  text: string;
  /** a TextBytesAtom (8-bit, Latin-1) instead of a TextCharsAtom */
  bytes?: boolean;
}
export interface PptSlide {
  /** placeholder text, in the SlideListWithText (title first) */
  texts: PptText[];
  /** the slide's name (a CString in its SlideContainer) */
  name?: string;
  /** a text box of the slide's drawing (OfficeArtClientTextbox) */
  drawing?: string;
  /** a comment (Comment10Container in the PPT10 binary tag): author, text */
  comment?: { author: string; text: string };
}

const textAtom = (t: PptText, textType: number) => [
  pptRec(0, 0, 0x0f9f, u32(textType)), // TextHeaderAtom
  t.bytes ? pptRec(0, 0, 0x0fa8, Buffer.from(t.text, 'latin1')) : pptRec(0, 0, 0x0fa0, Buffer.from(t.text, 'utf16le')),
];

/**
 * The "PowerPoint Document" stream: DocumentContainer (DocumentAtom, Environment with a font and a
 * kinsoku CString, DocInfoList with a string tag, SlideListWithText, HeadersFooters with a footer,
 * EndDocumentAtom), one SlideContainer per slide, PersistDirectoryAtom, UserEditAtom; and the
 * "Current User" stream pointing at the UserEditAtom. `encrypted`: the markers of MS-PPT 2.3.7 (all,
 * or one) and the other records scrambled.
 */
export function writePpt(slides: PptSlide[], opts: { footer?: string; encrypted?: true | 'token' | 'useredit' | 'crypt'; extra?: Buffer } = {}): Buffer {
  const enc = opts.encrypted;
  const docAtom = Buffer.alloc(40);
  docAtom.writeInt32LE(5760, 0); // slide 10 in × 7.5 in (master units)
  docAtom.writeInt32LE(4320, 4);
  docAtom.writeInt32LE(4320, 8); // notes
  docAtom.writeInt32LE(5760, 12);
  docAtom.writeInt32LE(1, 16); // zoom 1/2
  docAtom.writeInt32LE(2, 20);
  docAtom.writeUInt16LE(1, 32); // firstSlideNumber
  const face = Buffer.alloc(68);
  face.write('Arial 4929187654321095', 'utf16le');
  const env = box(0x03f2, [
    box(0x07d5, [pptRec(0, 0, 0x0fb7, face)]), // FontCollection / FontEntityAtom
    box(0x0fc8, [pptRec(0, 0, 0x0fd3, u32(0)), cstr(2, '4929187654321095 kinsoku')], 2), // KinsokuContainer
  ]);
  const docInfo = box(0x07d0, [box(0x1388, [box(0x1389, [cstr(0, 'tag 371487654321009'), cstr(1, 'value 371487654321009 SSN 536-22-8765')])])]);
  const slwt: Buffer[] = [];
  slides.forEach((s, k) => {
    const spa = Buffer.alloc(20);
    spa.writeUInt32LE(2 + k, 0); // persistIdRef
    spa.writeInt32LE(s.texts.length, 8);
    spa.writeUInt32LE(256 + k, 12); // slideId
    slwt.push(pptRec(0, 0, 0x03f3, spa));
    s.texts.forEach((t, i) => slwt.push(...textAtom(t, i === 0 ? 0 : 1)));
  });
  const hf = opts.footer ? [box(0x0fd9, [pptRec(0, 0, 0x0fda, u32(0x0020)), cstr(2, opts.footer)], 3)] : [];
  const docc = box(0x03e8, [pptRec(1, 0, 0x03e9, docAtom), env, docInfo, box(0x0ff0, slwt), ...hf, pptRec(0, 0, 0x03ea, Buffer.alloc(0))]);
  const slideRecs = slides.map((s, k) => {
    const atom = Buffer.alloc(24);
    atom.writeUInt32LE(0x80000000, 12); // masterIdRef
    atom.writeUInt32LE(256 + k, 16);
    const parts = [pptRec(2, 0, 0x03ef, atom)];
    if (s.drawing) parts.push(box(0x040c, [box(0xf002, [box(0xf004, [box(0xf00d, textAtom({ text: s.drawing }, 4))])])]));
    if (s.name) parts.push(cstr(3, s.name));
    if (s.comment) {
      const c = box(0x2ee0, [cstr(0, s.comment.author), cstr(1, s.comment.text), cstr(2, 'AB'), pptRec(0, 0, 0x2ee1, Buffer.alloc(24))]);
      parts.push(box(0x1388, [box(0x138a, [cstr(0, '___PPT10'), box(0x138b, [c])])]));
    }
    return box(0x03ee, parts);
  });
  const body = [docc, ...slideRecs, ...(opts.extra ? [opts.extra] : [])];
  if (enc === true || enc === 'token' || enc === 'useredit') {
    // the encrypted records: header and all (RC4 in real files; any scrambling will do here)
    for (const b of body) for (let i = 0; i < b.length; i++) b[i] ^= (i * 167 + 89) & 0xff;
  }
  if (enc === true || enc === 'crypt') body.push(box(0x2f14, [Buffer.from([4, 0, 2, 0, 0x24, 0, 0, 0]), Buffer.alloc(64)]));
  const offsets: number[] = [];
  let o = 0;
  for (const b of body) {
    offsets.push(o);
    o += b.length;
  }
  const pd = Buffer.alloc(4 + 4 * offsets.length);
  pd.writeUInt32LE((1 | (offsets.length << 20)) >>> 0, 0);
  offsets.forEach((v, i) => pd.writeUInt32LE(v, 4 + i * 4));
  const persistDir = pptRec(0, 0, 0x1772, pd);
  const withRef = enc === true || enc === 'useredit';
  const ue = Buffer.alloc(withRef ? 32 : 28);
  ue.writeUInt32LE(256, 0); // lastSlideIdRef
  ue[7] = 3; // majorVersion
  ue.writeUInt32LE(o, 12); // offsetPersistDirectory
  ue.writeUInt32LE(1, 16); // docPersistIdRef
  ue.writeUInt32LE(offsets.length + 1, 20); // persistIdSeed
  ue.writeUInt16LE(1, 24); // lastView
  if (withRef) ue.writeUInt32LE(offsets.length, 28); // encryptSessionPersistIdRef
  const userEdit = pptRec(0, 0, 0x0ff5, ue);
  const stream = Buffer.concat([...body, persistDir, userEdit]);
  const user = Buffer.from('Pat', 'latin1');
  const cu = Buffer.concat([
    u32(0x14),
    u32(enc === true || enc === 'token' ? 0xf3d1c4df : 0xe391c05f),
    u32(o + persistDir.length), // offsetToCurrentEdit
    u16(user.length),
    u16(0x03f4),
    Buffer.from([3, 0]),
    u16(0),
    user,
    u32(8),
  ]);
  return writeCfb([
    { name: 'Current User', data: pptRec(0, 0, 0x0ff6, cu) },
    { name: 'PowerPoint Document', data: stream },
  ]).file;
}

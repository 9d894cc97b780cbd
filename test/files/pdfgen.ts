// A tiny PDF writer for the tests: numbered objects, streams (plain, Flate, ASCIIHex, ASCII85),
// a correct xref table and trailer, and incremental updates appended after %%EOF.
import zlib from 'node:zlib';

export type Filter = 'none' | 'flate' | 'hex' | 'a85+flate';

export interface PdfObject {
  num: number;
  /** the object's value (PDF syntax), or a stream's dictionary entries without /Length and /Filter */
  body: string;
  stream?: Buffer | string;
  filter?: Filter;
}

export function ascii85Encode(b: Buffer): string {
  let s = '';
  for (let i = 0; i < b.length; i += 4) {
    const chunk = Buffer.alloc(4);
    b.copy(chunk, 0, i, Math.min(b.length, i + 4));
    const n = Math.min(4, b.length - i);
    let v = chunk.readUInt32BE(0);
    if (v === 0 && n === 4) {
      s += 'z';
      continue;
    }
    const d: string[] = [];
    for (let k = 0; k < 5; k++) {
      d.unshift(String.fromCharCode(33 + (v % 85)));
      v = Math.floor(v / 85);
    }
    s += d.slice(0, n + 1).join('');
  }
  return s + '~>';
}

function objBytes(o: PdfObject): Buffer {
  if (o.stream === undefined) return Buffer.from(`${o.num} 0 obj\n${o.body}\nendobj\n`, 'latin1');
  const raw = Buffer.isBuffer(o.stream) ? o.stream : Buffer.from(o.stream, 'latin1');
  let data = raw;
  let filter = '';
  if (o.filter === 'flate') {
    data = zlib.deflateSync(raw);
    filter = '/Filter /FlateDecode ';
  } else if (o.filter === 'hex') {
    data = Buffer.from(raw.toString('hex').replace(/(.{64})/g, '$1\n') + '>', 'latin1');
    filter = '/Filter /ASCIIHexDecode ';
  } else if (o.filter === 'a85+flate') {
    data = Buffer.from(ascii85Encode(zlib.deflateSync(raw)), 'latin1');
    filter = '/Filter [/ASCII85Decode /FlateDecode] ';
  }
  const dict = o.body.replace(/>>\s*$/, `${filter}/Length ${data.length} >>`);
  return Buffer.concat([Buffer.from(`${o.num} 0 obj\n${dict}\nstream\n`, 'latin1'), data, Buffer.from('\nendstream\nendobj\n', 'latin1')]);
}

/** A whole PDF: header, objects, xref, trailer (`trailer` holds the entries besides /Size). */
export function writePdf(objects: PdfObject[], trailer: string): Buffer {
  return appendUpdate(Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n', 'latin1'), objects, trailer, undefined);
}

/** An incremental update (7.5.6): new or replaced objects, a new xref section and a trailer with /Prev. */
export function appendUpdate(pdf: Buffer, objects: PdfObject[], trailer: string, prev: number | undefined = lastStartxref(pdf)): Buffer {
  const parts: Buffer[] = [pdf];
  let off = pdf.length;
  const offsets = new Map<number, number>();
  for (const o of objects) {
    const b = objBytes(o);
    offsets.set(o.num, off);
    parts.push(b);
    off += b.length;
  }
  const xrefAt = off;
  let xref = 'xref\n';
  if (prev === undefined) xref += `0 1\n0000000000 65535 f \n`;
  for (const [n, o] of [...offsets].sort((a, b) => a[0] - b[0])) xref += `${n} 1\n${String(o).padStart(10, '0')} 00000 n \n`;
  const size = Math.max(0, ...objects.map((o) => o.num)) + 1;
  xref += `trailer\n<< /Size ${size} ${trailer}${prev !== undefined ? ` /Prev ${prev}` : ''} >>\nstartxref\n${xrefAt}\n%%EOF\n`;
  parts.push(Buffer.from(xref, 'latin1'));
  return Buffer.concat(parts);
}

function lastStartxref(pdf: Buffer): number {
  const s = pdf.toString('latin1');
  const m = /startxref\s+(\d+)\s+%%EOF\s*$/.exec(s);
  return m ? Number(m[1]) : 0;
}

/** A ToUnicode CMap: 2-byte codes (or 1-byte with `oneByte`), bfchar and bfrange entries. */
export function toUnicodeCMap(chars: Array<[number, string]>, ranges: Array<[number, number, number]>, oneByte = false): string {
  const w = oneByte ? 2 : 4;
  const hex = (n: number) => '<' + n.toString(16).padStart(w, '0').toUpperCase() + '>';
  const u16 = (s: string) => '<' + Buffer.from(s, 'utf16le').swap16().toString('hex').toUpperCase() + '>';
  return [
    '/CIDInit /ProcSet findresource begin',
    '12 dict begin',
    'begincmap',
    '/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def',
    '/CMapName /Adobe-Identity-UCS def',
    '/CMapType 2 def',
    '1 begincodespacerange',
    oneByte ? '<00> <FF>' : '<0000> <FFFF>',
    'endcodespacerange',
    `${chars.length} beginbfchar`,
    ...chars.map(([c, s]) => `${hex(c)} ${u16(s)}`),
    'endbfchar',
    `${ranges.length} beginbfrange`,
    ...ranges.map(([a, z, u]) => `${hex(a)} ${hex(z)} <${u.toString(16).padStart(4, '0').toUpperCase()}>`),
    'endbfrange',
    'endcmap',
    'CMapName currentdict /CMap defineresource pop',
    'end',
    'end',
  ].join('\n');
}

/** PDF literal string with the escapes a writer must use */
export const lit = (s: string) => '(' + s.replace(/([\\()])/g, '\\$1') + ')';

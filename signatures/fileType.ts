// True file type from magic bytes (never from the name). Returns a short id such as 'pe', 'zip', 'docx'.
// Data-driven: the table is in fileTypes.yaml so that types can be added without code changes.
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';

interface Magic { type: string; offset: number; bytes: Buffer }

let table: Magic[] | undefined;

function load(): Magic[] {
  if (table) return table;
  const doc = YAML.parse(fs.readFileSync(path.join(__dirname, 'fileTypes.yaml'), 'utf8')) as { magic: { type: string; offset?: number; hex: string }[] };
  table = doc.magic.map((m) => ({ type: m.type, offset: m.offset ?? 0, bytes: Buffer.from(m.hex.replace(/\s+/g, ''), 'hex') }));
  return table;
}

export function fileTypeOf(head: Buffer): string {
  for (const m of load()) {
    if (head.length >= m.offset + m.bytes.length && head.subarray(m.offset, m.offset + m.bytes.length).equals(m.bytes)) {
      if (m.type === 'zip') return zipKind(head);
      return m.type;
    }
  }
  if (head.length === 0) return 'empty';
  return looksLikeText(head) ? 'text' : 'data';
}

/** Office Open XML and friends are zip files: tell them apart by their first member names. */
function zipKind(head: Buffer): string {
  const s = head.toString('latin1');
  if (s.includes('word/')) return 'docx';
  if (s.includes('xl/')) return 'xlsx';
  if (s.includes('ppt/')) return 'pptx';
  if (s.includes('[Content_Types].xml')) return 'ooxml';
  if (s.includes('META-INF/MANIFEST.MF')) return 'jar';
  if (s.includes('mimetypeapplication/vnd.oasis.opendocument')) return 'odf';
  return 'zip';
}

function looksLikeText(b: Buffer): boolean {
  const n = Math.min(b.length, 4096);
  let bad = 0;
  for (let i = 0; i < n; i++) {
    const c = b[i];
    if (c === 0) return false;
    if (c < 9 || (c > 13 && c < 32)) bad++;
  }
  return bad * 20 < n;
}

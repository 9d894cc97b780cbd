// True file type from magic bytes (never from the name). Returns a short id such as 'pe', 'zip', 'docx'.
// Data-driven: the table is in fileTypes.yaml so that types can be added without code changes.
import path from 'node:path';
import { readDataFile } from '../common/dataFile';

interface Magic { type: string; offset: number; bytes: Buffer }

let table: Magic[] | undefined;

function load(): Magic[] {
  if (table) return table;
  const doc = readDataFile(path.join(__dirname, 'fileTypes.yaml')) as { magic: { type: string; offset?: number; hex: string }[] };
  table = doc.magic.map((m) => ({ type: m.type, offset: m.offset ?? 0, bytes: Buffer.from(m.hex.replace(/\s+/g, ''), 'hex') }));
  return table;
}

/** the types fileTypeOf refines containers and text into (beside the table's own) */
const REFINED = ['office-encrypted', 'doc', 'xls', 'ppt', 'msi', 'svg', 'xml', 'hta', 'html', 'script', 'text', 'docx', 'xlsx', 'pptx', 'ooxml', 'apk', 'jar', 'odf', 'empty', 'data'];

/** every type id fileTypeOf can return: what a policy's files.block_types may name */
export function knownFileTypes(): Set<string> {
  return new Set([...load().map((m) => m.type), ...REFINED]);
}

export function fileTypeOf(head: Buffer): string {
  for (const m of load()) {
    if (head.length >= m.offset + m.bytes.length && head.subarray(m.offset, m.offset + m.bytes.length).equals(m.bytes)) {
      if (m.type === 'zip') return zipKind(head);
      if (m.type === 'ole') return oleKind(head);
      return m.type;
    }
  }
  if (head.length === 0) return 'empty';
  return looksLikeText(head) ? textKind(head) : 'data';
}

const utf16 = (s: string) => Buffer.from(s, 'utf16le');
const OLE_STREAMS: Array<[Buffer, string]> = [
  [utf16('EncryptedPackage'), 'office-encrypted'], // an encrypted docx/xlsx/pptx is an OLE container
  [utf16('WordDocument'), 'doc'],
  [utf16('Workbook'), 'xls'],
  [utf16('PowerPoint Document'), 'ppt'],
];
// root-entry CLSIDs of Windows Installer packages, patches and transforms ({000C1084/86/82-0000-0000-C000-000000000046})
const MSI_CLSID_TAIL = Buffer.from('00000000c000000000000046', 'hex');

/** OLE compound files: Windows Installer by the root entry's CLSID, Office by its stream names. */
export function oleKind(b: Buffer): string {
  if (b.length >= 512) {
    const shift = b.readUInt16LE(0x1e);
    const dirSect = b.readUInt32LE(0x30);
    if (shift >= 9 && shift <= 12 && dirSect < 0xfffffffa) {
      const root = (dirSect + 1) * (1 << shift);
      if (root + 128 <= b.length) {
        const clsid = b.subarray(root + 0x50, root + 0x60);
        if (clsid[1] === 0x10 && clsid[2] === 0x0c && clsid[3] === 0 && [0x84, 0x86, 0x82].includes(clsid[0]) && clsid.subarray(4).equals(MSI_CLSID_TAIL)) return 'msi';
      }
    }
  }
  for (const [name, kind] of OLE_STREAMS) if (b.includes(name)) return kind;
  return 'ole';
}

/** Text by its first words: markup and scripts are worth telling apart from plain text. */
function textKind(b: Buffer): string {
  let s = b.subarray(0, 1024).toString('latin1');
  if (s.startsWith('\xef\xbb\xbf')) s = s.slice(3);
  s = s.trimStart().toLowerCase();
  if (s.startsWith('<?xml')) return s.includes('<svg') ? 'svg' : 'xml';
  if (s.includes('<hta:application')) return 'hta';
  if (s.startsWith('<!doctype html') || s.startsWith('<html') || s.startsWith('<head') || s.startsWith('<script')) return 'html';
  if (s.startsWith('@echo off') || s.startsWith('<#') || s.startsWith('on error resume next')) return 'script';
  return 'text';
}

/** Office Open XML and friends are zip files: tell them apart by their member names (local headers in the head). */
function zipKind(head: Buffer): string {
  return zipKindFromNames(zipLocalNames(head, 64), head);
}

/** The kind of a zip file from its member names (local headers, or the central directory when read). */
export function zipKindFromNames(names: string[], head: Buffer): string {
  const has = (p: (n: string) => boolean) => names.some(p);
  if (has((n) => n.startsWith('word/'))) return 'docx';
  if (has((n) => n.startsWith('xl/'))) return 'xlsx';
  if (has((n) => n.startsWith('ppt/'))) return 'pptx';
  if (has((n) => n === '[Content_Types].xml')) return 'ooxml';
  if (has((n) => n === 'AndroidManifest.xml' || n === 'classes.dex')) return 'apk';
  if (has((n) => n === 'META-INF/MANIFEST.MF')) return 'jar';
  if (names[0] === 'mimetype' && head.toString('latin1', 0, 256).includes('application/vnd.oasis.opendocument')) return 'odf';
  return 'zip';
}

/** Member names from the zip local headers found in `b` (bounded; names are latin1/utf8 bytes as text). */
export function zipLocalNames(b: Buffer, max: number): string[] {
  const out: string[] = [];
  let i = b.indexOf(LOCAL_SIG);
  while (i >= 0 && i + 30 <= b.length && out.length < max) {
    const nlen = b.readUInt16LE(i + 26);
    if (i + 30 + nlen > b.length) break;
    out.push(b.toString('utf8', i + 30, i + 30 + nlen));
    i = b.indexOf(LOCAL_SIG, i + 30 + nlen);
  }
  return out;
}
const LOCAL_SIG = Buffer.from('504b0304', 'hex');

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

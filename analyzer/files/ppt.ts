// Text of PowerPoint 97–2003 presentations (MS-PPT): the "PowerPoint Document" stream is a tree of
// records (8-byte header: recVer/recInstance, recType, recLen; containers have recVer 0xF). Walked in
// stream order with an explicit stack: TextCharsAtom (UTF-16LE) and TextBytesAtom (8-bit, each byte
// the low byte of a UTF-16 code unit) wherever they are — SlideListWithText (placeholder text) and the
// drawings' client text boxes (other shapes, notes) — and the CStrings that are text a person wrote
// (headers/footers, slide names, comments); font names (FontEntityAtom), tag names and values, OLE
// program ids and hyperlink targets are not.
import type { OleFile, OleStream } from './ole';
import { CappedText } from './cappedText';

export const PPT_LIMITS = {
  /** containers nested deeper are stepped over whole (a real presentation nests about 10 deep) */
  maxDepth: 64,
  /** records walked at most (each is at least 8 bytes, so this is also ≤ the stream's size / 8) */
  maxRecords: 4_000_000,
};

const RT = {
  Slide: 0x03ee,
  Environment: 0x03f2,
  ExObjList: 0x0409,
  PPDrawingGroup: 0x040b,
  TextCharsAtom: 0x0fa0,
  TextBytesAtom: 0x0fa8,
  CString: 0x0fba,
  HeadersFooters: 0x0fd9,
  UserEditAtom: 0x0ff5,
  CurrentUserAtom: 0x0ff6,
  Comment10: 0x2ee0,
  CryptSession10Container: 0x2f14,
} as const;

/** containers with no slide text, stepped over: fonts, text styles and kinsoku; pictures; OLE objects and hyperlinks */
const SKIP = new Set<number>([RT.Environment, RT.PPDrawingGroup, RT.ExObjList]);

/** MS-PPT 2.3.2: CurrentUserAtom.headerToken of an encrypted presentation (0xE391C05F otherwise) */
const ENCRYPTED_TOKEN = 0xf3d1c4df;

/** a CString kept as text: by its container and recInstance (MS-PPT 2.4.*, 2.5.1, 2.6.*) */
function cstringIsText(parent: number, instance: number): boolean {
  if (parent === RT.HeadersFooters) return instance <= 2; // user date, header, footer
  if (parent === RT.Slide) return instance === 3; // slideNameAtom
  if (parent === RT.Comment10) return instance === 1; // the comment's text (not author or initials)
  return false;
}

/**
 * An encrypted presentation (RC4 CryptoAPI): the Current User atom's header token, the UserEditAtom's
 * encryptSessionPersistIdRef, an EncryptedSummary stream, or a CryptSession10Container among the
 * first top-level records. The other records are encrypted header and all: no text can be read.
 */
export function pptEncrypted(ole: OleFile): boolean {
  if (ole.stream('EncryptedSummary')) return true;
  const doc = ole.stream('PowerPoint Document');
  const cu = ole.stream('Current User')?.read(0, 24);
  if (cu && cu.length >= 20 && cu.readUInt16LE(2) === RT.CurrentUserAtom) {
    if (cu.readUInt32LE(12) === ENCRYPTED_TOKEN) return true;
    const ue = doc?.read(cu.readUInt32LE(16), 40);
    if (ue && ue.length >= 40 && ue.readUInt16LE(2) === RT.UserEditAtom && ue.readUInt32LE(4) >= 0x20 && ue.readUInt32LE(8 + 0x1c) !== 0) return true;
  }
  if (!doc) return false;
  let off = 0;
  for (let n = 0; n < 10_000 && off + 8 <= doc.size; n++) {
    const h = doc.read(off, 8);
    if (h.length < 8) break;
    if (h.readUInt16LE(2) === RT.CryptSession10Container) return true;
    off += 8 + h.readUInt32LE(4);
  }
  return false;
}

/** The presentation's text, at most `maxChars`; '' when there is none we can read. */
export function pptText(ole: OleFile, maxChars: number): string {
  const s = ole.stream('PowerPoint Document');
  if (!s) return '';
  const out = new PptTextSink(maxChars);
  walk(s, out);
  return out.text();
}

function walk(s: OleStream, out: PptTextSink): void {
  // open containers: their end offsets and types (the stream is the outermost, type -1)
  const ends: number[] = [s.size];
  const types: number[] = [-1];
  let off = 0;
  for (let n = 0; n < PPT_LIMITS.maxRecords && !out.full; n++) {
    while (ends.length > 1 && off >= ends[ends.length - 1]) {
      ends.pop();
      types.pop();
    }
    const parentEnd = ends[ends.length - 1];
    if (off + 8 > parentEnd) {
      // a truncated header: the rest of this container is unreadable
      if (ends.length === 1) return;
      off = parentEnd;
      continue;
    }
    const h = s.read(off, 8);
    if (h.length < 8) return;
    const verInst = h.readUInt16LE(0), type = h.readUInt16LE(2);
    // a length past the container's (or the stream's) end is cut there
    const end = Math.min(off + 8 + h.readUInt32LE(4), parentEnd);
    off += 8;
    if ((verInst & 0xf) === 0xf) {
      if (SKIP.has(type) || ends.length > PPT_LIMITS.maxDepth) off = end;
      else {
        ends.push(end);
        types.push(type);
      }
      continue;
    }
    if (type === RT.TextCharsAtom || (type === RT.CString && cstringIsText(types[types.length - 1], verInst >> 4))) readText(s, off, end, true, out);
    else if (type === RT.TextBytesAtom) readText(s, off, end, false, out);
    off = end;
  }
}

/** one atom's characters, read in slices (an atom may claim the whole stream), then a line end */
function readText(s: OleStream, from: number, to: number, wide: boolean, out: PptTextSink): void {
  for (let p = from; p < to && !out.full; ) {
    let n = Math.min(to - p, 32 * 1024);
    if (wide) n &= ~1;
    const b = n ? s.read(p, n) : Buffer.alloc(0);
    if (!b.length) break;
    if (wide) for (let i = 0; i + 1 < b.length; i += 2) out.push(b[i] | (b[i + 1] << 8));
    else for (let i = 0; i < b.length; i++) out.push(b[i]);
    p += b.length;
  }
  out.push(0x0a);
}

/** characters → text: paragraph ends (CR) and vertical tabs become line ends, other controls but tab dropped */
class PptTextSink extends CappedText {
  push(c: number): void {
    if (c === 0x0d || c === 0x0b) c = 0x0a;
    else if (c < 0x20 && c !== 0x09 && c !== 0x0a) return;
    this.add(c);
  }
}

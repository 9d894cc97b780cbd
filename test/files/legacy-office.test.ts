// Word 97–2003 (.doc), Excel 97–2003 (.xls) and RTF text for DLP (analyzer/files/ole.ts, doc.ts,
// xls.ts, rtf.ts): files written from the specs by test/files/olegen.ts, read through inspect/textOf
// as the file service does, checked against what catdoc, antiword, xls2csv and unrtf read from the
// same bytes, carried through the CLI as IRC DCC transfers, and hostile files that must stay bounded.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { bufferSource, inspect, textOf } from '../../analyzer/files/inspect';
import { OleFile, OleStream } from '../../analyzer/files/ole';
import { docText } from '../../analyzer/files/doc';
import { numberText, rkValue, xlsText, type XlsStats } from '../../analyzer/files/xls';
import { rtfText } from '../../analyzer/files/rtf';
import { fileTypeOf } from '../../signatures/fileType';
import { shadowim } from '../helpers/run';
import { haveCommand } from '../helpers/netns';
import { readInspected } from './inspectRead';
import { boundedIt } from '../helpers/bounded';
import { dccCapture } from './dcc';
import { makeCase } from './olefuzz';
import { writeCfb, writeDoc, writeXls, type DocPiece } from './olegen';

const PAN = '4556 7375 8689 9855'; // Luhn-valid, not a well-known test number
const read = readInspected;
/** the ASCII letters and digits in order: what two readers must agree on whatever their spacing */
const alnum = (s: string) => s.replace(/[^A-Za-z0-9]+/g, '');
const words = (s: string) => s.split(/\s+/).filter(Boolean);

const FIELD = '\x13 HYPERLINK "http://intranet.example/4111111111111111" \x14intranet page\x15';
const docPieces: DocPiece[] = [
  { text: 'Quarterly payroll \u2013 \u201cconfidential\u201d\rEmployee SSN: 536-22-8765\rReviewed by the payroll team\r', compressed: true },
  { text: `Card ${PAN} for Zo\u00eb \u03a9mega\rSee the ${FIELD} for details\rTable\x07cell\x07\x07Last line\r` },
];

const RTF = String.raw`{\rtf1\ansi\ansicpg1252\deff0{\fonttbl{\f0\fswiss Arial 4111111111111111;}{\f1 Times;}}
{\colortbl;\red255\green0\blue0;}{\stylesheet{\s0 Normal 378282246310005;}}
{\info{\title Secret 5105105105105100}{\author Pat}}
{\*\generator Msftedit 5.41.21.2510;}\viewkind4\uc1\pard\f0\fs20 Caf\'e9 na\u239?ve \u8364? 100\par
Card: 4556\~7375\~8689\~9855\par
Split: 4556 {\b 7375} 8689\cf1  9855\par
SSN\tab 536-22-8765\line next\par
{\pict\wmetafile8\picw100\pich100 4111111111111111378282246310005abcdef0123}
{\field{\*\fldinst HYPERLINK "http://x.example/4111111111111111"}{\fldrslt link text}}\par
Opt\-ional hy\_phen \{braces\} back\\slash\par
}`;

describe('files: Word, Excel 97–2003 and RTF text for DLP', function () {
  this.timeout(120000);
  let tmp: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-legacy-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('Word: 8-bit and UTF-16 pieces in order, MS-DOC code page, paragraph and cell marks as separators, field instruction left out', () => {
    const { type, ins, text } = read(writeDoc(docPieces).file);
    assert.equal(type, 'doc');
    assert.deepEqual(ins.info, {});
    assert.deepEqual(text!.split('\n'), [
      'Quarterly payroll \u2013 \u201cconfidential\u201d',
      'Employee SSN: 536-22-8765',
      'Reviewed by the payroll team',
      `Card ${PAN} for Zo\u00eb \u03a9mega`,
      'See the intranet page for details',
      'Table\tcell\t\tLast line',
      '',
    ]);
    assert.ok(!text!.includes('4111'), 'field instruction skipped');
  });

  it('Word: catdoc and antiword read the same words from the same bytes', function () {
    if (!haveCommand('catdoc') || !haveCommand('antiword')) this.skip();
    // catdoc reads a single piece (8-bit or UTF-16); antiword also several
    for (const pieces of [[{ text: `Card ${PAN} Zo\u00eb \u201cq\u201d\rSSN 536-22-8765\r`, compressed: true }], [{ text: `\u03a9mega ${PAN}\rnext line\r` }]] as DocPiece[][]) {
      const f = path.join(tmp, 'one.doc');
      fs.writeFileSync(f, writeDoc(pieces).file);
      const ours = read(fs.readFileSync(f)).text!;
      assert.deepEqual(words(execFileSync('catdoc', ['-d', 'utf-8', f]).toString('utf8')), words(ours));
      assert.deepEqual(words(execFileSync('antiword', [f], { env: { ...process.env, LANG: 'C.UTF-8' } }).toString('utf8')), words(ours));
    }
    const f = path.join(tmp, 'pieces.doc');
    fs.writeFileSync(f, writeDoc(docPieces).file);
    const theirs = execFileSync('antiword', [f], { env: { ...process.env, LANG: 'C.UTF-8' } }).toString('utf8').replace(/\[This was fast-saved.*?\]/, '').replace(/\|/g, ' '); // it draws cell marks as |
    assert.deepEqual(words(theirs), words(read(fs.readFileSync(f)).text!));
  });

  it('Excel: SST over CONTINUE records (split strings, 8→16-bit switch), LABELSST, LABEL, NUMBER, RK; integers whole; rows as lines', () => {
    const sheets = [
      { name: 'Pay', rows: [['Name', 'Card', 'Amount'], ['Zo\u00eb \u00c5nstr\u00f6m', 4556737586899855, { rk: 1200 }], ['Bob \u03a9mega', { label: 'SSN 536-22-8765' }, 12.5]] },
      { name: 'Notes', rows: [['A rather long note that will be split over several CONTINUE records of the SST'], [-3, 0.1 + 0.2]] },
    ];
    for (const opts of [{}, { maxRecord: 24 }, { maxRecord: 24, continueAs16: true }]) {
      const { type, text } = read(writeXls(sheets, opts));
      assert.equal(type, 'xls');
      assert.deepEqual(text!.split('\n'), [
        'Name\tCard\tAmount',
        'Zo\u00eb \u00c5nstr\u00f6m\t4556737586899855\t1200',
        'Bob \u03a9mega\tSSN 536-22-8765\t12.5',
        '',
        'A rather long note that will be split over several CONTINUE records of the SST',
        '-3\t0.3',
      ], JSON.stringify(opts));
    }
    assert.equal(numberText(4556737586899855), '4556737586899855');
    assert.equal(numberText(1e20), '100000000000000000000');
    assert.equal(rkValue(((1234 << 2) | 3) >>> 0), 12.34);
  });

  it('Excel: xls2csv reads the same cells from the same bytes (numbers compared as numbers: it writes 16 digits as 4.55674e+15)', function () {
    if (!haveCommand('xls2csv')) this.skip();
    const f = path.join(tmp, 'cards.xls');
    fs.writeFileSync(f, writeXls([
      { name: 'Pay', rows: [['Name', 'Card', 'Amount'], ['Zo\u00eb \u00c5nstr\u00f6m', 4556737586899855, { rk: 1200 }], ['Bob \u03a9mega', { label: 'SSN 536-22-8765' }, 12.5]] },
      { name: 'Notes', rows: [['A rather long note that will be split over several CONTINUE records of the SST']] },
    ], { maxRecord: 24 }));
    const theirs = execFileSync('xls2csv', ['-d', 'utf-8', f]).toString('utf8').split('\f').map((sheet) => sheet.split('\n').filter(Boolean).map((l) => l.replace(/^"|"$/g, '').split('","')));
    const ours = read(fs.readFileSync(f)).text!.split('\n\n').map((sheet) => sheet.split('\n').map((l) => l.split('\t')));
    assert.equal(ours.length, theirs.filter((s) => s.length).length);
    ours.forEach((sheet, s) =>
      sheet.forEach((row, r) =>
        row.forEach((cell, c) => {
          const t = theirs[s][r][c];
          if (/^-?[\d.]+(e[+-]\d+)?$/.test(t)) assert.ok(Math.abs(Number(t) - Number(cell)) <= Math.abs(Number(cell)) * 1e-5, `${t} vs ${cell}`);
          else assert.equal(cell, t);
        }),
      ),
    );
  });

  it('RTF: destinations skipped (fonts, colors, styles, info, picture hex, field instruction), \\\'hh in the code page, \\uN with its fallback dropped, \\~ a space, control words between digit groups', () => {
    const { type, text } = read(Buffer.from(RTF, 'latin1'));
    assert.equal(type, 'rtf');
    assert.deepEqual(text!.split('\n'), [
      'Caf\u00e9 na\u00efve \u20ac 100',
      `Card: ${PAN}`,
      `Split: ${PAN}`,
      'SSN\t536-22-8765',
      'next',
      'link text',
      'Optional hy-phen {braces} back\\slash',
      '',
    ]);
    // code pages: \ansicpg1251, a double-byte one (932), and \mac
    assert.equal(rtfText(Buffer.from(String.raw`{\rtf1\ansi\ansicpg1251 \'cf\'f0\'e8\'e2\'e5\'f2}`), 100), '\u041f\u0440\u0438\u0432\u0435\u0442');
    // Windows-1252 (the default) and Latin-1: curly quotes, dash and euro at 0x80–0x9F (not C1 controls)
    assert.equal(rtfText(Buffer.from(String.raw`{\rtf1\ansi \'93Hi\'94 \'96 5\'80}`), 100), '\u201cHi\u201d \u2013 5\u20ac');
    assert.equal(rtfText(Buffer.from(String.raw`{\rtf1\ansi\ansicpg28591 \'92s}`), 100), '\u2019s');
    assert.equal(rtfText(Buffer.from(String.raw`{\rtf1\ansi\ansicpg932 \'82\'a0\'83\'41}`), 100), '\u3042\u30a2');
    assert.equal(rtfText(Buffer.from(String.raw`{\rtf1\mac \'8a}`), 100), '\u00e4');
    // \ucN: two fallback bytes; a group end stops the skipping; \bin data is stepped over
    assert.equal(rtfText(Buffer.from(String.raw`{\rtf1{\uc2\u8364\'80\'80x}{\u8364??}\bin4 {}\\ ok}`), 100), '\u20acx\u20ac? ok');
  });

  it('RTF: a double-byte code page keeps its pairs: a trail byte written as \\\\, \\{ or \\} and a pair across the 4096-byte decode buffer', () => {
    // Shift-JIS 表 is 95 5C and ソ is 83 5C: writers that escape the trail byte as \\ must not split the pair
    assert.equal(rtfText(Buffer.from(String.raw`{\rtf1\ansi\ansicpg932 \'95\\\'83\\}`), 100), '\u8868\u30bd');
    // x then 2,049 あ (82 A0): the 4,096th byte is a lead byte
    const body = 'x' + String.raw`\'82\'a0`.repeat(2049);
    assert.equal(rtfText(Buffer.from(`{\\rtf1\\ansi\\ansicpg932 ${body}}`), 10_000), 'x' + '\u3042'.repeat(2049));
  });

  it('RTF: unrtf and catdoc read the same letters and digits, in order', function () {
    if (!haveCommand('unrtf') || !haveCommand('catdoc')) this.skip();
    const f = path.join(tmp, 'memo.rtf');
    fs.writeFileSync(f, RTF, 'latin1');
    const ours = alnum(read(fs.readFileSync(f)).text!);
    // unrtf prints the document info first (up to a dashed line) and names the picture it would write
    const u = execFileSync('unrtf', ['--text', f], { cwd: tmp }).toString('latin1');
    assert.equal(alnum(u.slice(u.indexOf('-----------------')).replace(/^###.*$/gm, '').replace(/pict\d+\.wmf/g, '')), ours);
    assert.equal(alnum(execFileSync('catdoc', [f]).toString('latin1')), ours);
  });

  it('through the CLI: a card number and an SSN in .doc, .xls and .rtf sent over IRC DCC raise sensitive_data; encrypted .doc/.xls are flagged; picture hex in RTF is no card', () => {
    const policy = path.join(tmp, 'policy.yaml');
    fs.writeFileSync(policy, 'files:\n  block_encrypted_archives: true\n');
    const cards = writeXls([{ name: 'S', rows: [['customer', 'card'], ['Pat', 4556737586899855]] }]);
    const decoy = Buffer.from(String.raw`{\rtf1\ansi{\fonttbl{\f0 Arial 4556737586899855;}}{\pict\pngblip 4556737586899855 536228765}\pard Nothing here\par}`, 'latin1');
    const cap = dccCapture(path.join(tmp, 'legacy.pcap'), [
      { name: 'payroll.doc', data: writeDoc(docPieces).file },
      { name: 'cards.xls', data: cards },
      { name: 'memo.rtf', data: Buffer.from(RTF, 'latin1') },
      { name: 'decoy.rtf', data: decoy },
      { name: 'locked.doc', data: writeDoc(docPieces, { encrypted: true }).file },
      { name: 'locked.xls', data: writeXls([{ name: 'S', rows: [[4556737586899855]] }], { filepass: true }) },
    ]);
    const r = shadowim(['analyze', cap, '--format', 'jsonl', '--policy', policy]);
    assert.equal(r.status, 0, r.stderr);
    const d = Object.fromEntries(r.events.filter((e) => e.type === 'file_transfer' && e.stage === 'data').map((e) => [e.filename, e]));
    assert.equal(d['payroll.doc'].file_type, 'doc');
    assert.match(d['payroll.doc'].verdict, /^sensitive:(pan|us_ssn)$/);
    assert.equal(d['cards.xls'].file_type, 'xls');
    assert.equal(d['cards.xls'].verdict, 'sensitive:pan');
    assert.match(d['memo.rtf'].verdict, /^sensitive:(pan|us_ssn)$/);
    assert.doesNotMatch(d['decoy.rtf'].verdict, /^sensitive/);
    for (const f of ['locked.doc', 'locked.xls']) {
      assert.equal(d[f].verdict, 'forbidden:encrypted_archive', f);
      assert.equal(d[f].file_info.encrypted, true);
    }
    const sens = r.events.filter((e) => e.type === 'alert' && e.kind === 'sensitive_data');
    const by = (name: string) => sens.filter((a) => a.summary.includes(name)).map((a) => a.detector).sort();
    assert.deepEqual(by('payroll.doc'), ['pan', 'us_ssn']);
    assert.deepEqual(by('cards.xls'), ['pan']);
    assert.deepEqual(by('memo.rtf'), ['pan', 'us_ssn']);
    assert.deepEqual(by('locked'), []);
    assert.ok(!r.stdout.includes('4556737586899855') && !r.stdout.includes(PAN) && !r.stdout.includes('536-22-8765'), 'values redacted');
  });
});

// ---- hostile input ----

const SS = 512;
const u32at = (b: Buffer, off: number, v: number) => b.writeUInt32LE(v >>> 0, off);

describe('files: hostile .doc, .xls and .rtf stay bounded and never throw', function () {
  this.timeout(120000);

  boundedIt(__filename, 'compound files: a FAT loop, chains out of range, a directory cycle, a DIFAT loop and absurd counts', 30, () => {
    const base = writeDoc([{ text: `Loop test ${PAN} end\r` }]);
    const w = base.streamSector['WordDocument'];
    const fatAt = (s: number) => SS * (base.fatSector + 1) + s * 4;
    // the WordDocument chain's last sector points back to its first (a loop) / far out of range
    for (const v of [w, 0x7fffffff, w + 1]) {
      const b = Buffer.from(base.file);
      u32at(b, fatAt(w + 7), v);
      assert.match(read(b).text!, /Loop test 4556 7375 8689 9855 end/);
    }
    // every FAT entry points to the next sector, the last back to 0: one big loop through everything
    const b2 = Buffer.from(base.file);
    const n = b2.length / SS - 1;
    for (let s = 0; s < n; s++) u32at(b2, fatAt(s), (s + 1) % n);
    assert.ok((read(b2).text ?? '').length <= 1 << 20);
    // directory: root → 1 → 2 → 1 (left/right siblings in a cycle), and an entry that is its own child
    const b3 = Buffer.from(base.file);
    const dirAt = (i: number) => SS * (base.dirSector + 1) + i * 128;
    u32at(b3, dirAt(0) + 0x4c, 1);
    u32at(b3, dirAt(1) + 0x44, 2);
    u32at(b3, dirAt(2) + 0x48, 1);
    u32at(b3, dirAt(2) + 0x44, 2);
    u32at(b3, dirAt(1) + 0x4c, 1);
    const ole = OleFile.open(bufferSource(b3))!;
    assert.ok(ole.rootChildren().length <= 2);
    assert.match(read(b3).text!, /Loop test/);
    // header: 2^32-1 FAT sectors, a DIFAT chain that loops on itself, a directory chain starting out of range
    const b4 = Buffer.from(base.file);
    u32at(b4, 0x2c, 0xffffffff);
    u32at(b4, 0x44, 1);
    u32at(b4, 0x48, 0xffffffff);
    u32at(b4, SS * 2 + SS - 4, 1); // sector 1 (the DIFAT sector named above) points to itself
    assert.equal(typeof (read(b4).text ?? ''), 'string');
    const b5 = Buffer.from(base.file);
    u32at(b5, 0x30, 0xfffffff0);
    assert.equal(read(b5).text, undefined);
    // a 4096-byte sector shift on a small file, a mini stream cutoff of 0
    const b6 = Buffer.from(base.file);
    b6.writeUInt16LE(12, 0x1e);
    u32at(b6, 0x38, 0);
    assert.equal(typeof (read(b6).text ?? ''), 'string');
  });

  boundedIt(__filename, 'Word: a piece table pointing past the end, claiming 2^30 characters, or naming the same bytes 100,000 times', 30, () => {
    const past = writeDoc([{ text: 'a\r' }], {
      clxOverride: (clx) => {
        const b = Buffer.from(clx);
        b.writeUInt32LE(0x7fffffff, 5 + 4); // cpEnd
        b.writeUInt32LE(0x3ffffff0, 5 + 8 + 2); // fc far past the stream
        return b;
      },
    });
    assert.equal(read(past.file).text, undefined);
    const huge = writeDoc([{ text: `real ${PAN}\r` }], {
      clxOverride: (clx) => {
        const b = Buffer.from(clx);
        b.writeUInt32LE(0x3fffffff, 5 + 4); // the one piece claims 2^30 characters from the text's start
        return b;
      },
    });
    const t = read(huge.file, 4096).text!;
    assert.ok(t.startsWith(`real ${PAN}`) && t.length <= 4096);
    // 100,000 pieces, each the same 2 KiB of text inside a field instruction (no output, all work)
    const instr = '\x13' + 'x'.repeat(2000);
    const again = writeDoc([{ text: instr, compressed: true }], {
      clxOverride: (clx) => {
        const n = 100_000;
        const plc = Buffer.alloc((n + 1) * 4 + n * 8);
        for (let i = 0; i <= n; i++) plc.writeUInt32LE(i * 2001, i * 4);
        for (let i = 0; i < n; i++) plc.writeUInt32LE(((0x600 * 2) | 0x40000000) >>> 0, (n + 1) * 4 + i * 8 + 2);
        const out = Buffer.alloc(5 + plc.length);
        out[0] = 2;
        out.writeUInt32LE(plc.length, 1);
        plc.copy(out, 5);
        return out;
      },
    });
    assert.equal(read(again.file).text, undefined);
    // garbage CLX: Prc entries to the end, a Pcdt whose lcb lies
    for (const clx of [Buffer.alloc(70_000, 1), Buffer.from([2, 0xff, 0xff, 0xff, 0xff, 1, 2, 3])]) {
      assert.equal(read(writeDoc([{ text: 'x\r' }], { clxOverride: () => clx }).file).text, undefined);
    }
  });

  it('Word: pieces naming the same bytes again and again read at most twice the WordDocument stream, counted as read, so a piece claiming 2^30 characters starves no later piece', () => {
    // found by the fuzz campaign (seed 24, case 8865): 1,052 pieces of a 40 KB file claiming 5.7 M
    // characters read the stream plus the text cap, a million characters in field instructions (4.4 ms,
    // 108 ms per MB); the budget was also spent by what a piece claimed, not what it had
    const n = 2000;
    const again = writeDoc([{ text: '\x13' + 'x'.repeat(2000), compressed: true }], {
      clxOverride: () => {
        const plc = Buffer.alloc((n + 1) * 4 + n * 8);
        for (let i = 0; i <= n; i++) plc.writeUInt32LE(i * 2001, i * 4);
        for (let i = 0; i < n; i++) plc.writeUInt32LE(((0x600 * 2) | 0x40000000) >>> 0, (n + 1) * 4 + i * 8 + 2);
        return Buffer.concat([Buffer.from([2]), Buffer.from(Uint32Array.of(plc.length).buffer), plc]);
      },
    });
    const streamRead = OleStream.prototype.read;
    let got = 0;
    OleStream.prototype.read = function (this: OleStream, off: number, len: number) {
      const b = streamRead.call(this, off, len);
      got += b.length;
      return b;
    };
    try {
      const size = OleFile.open(bufferSource(again.file))!.stream('WordDocument')!.size;
      got = 0;
      assert.equal(read(again.file, 1 << 20).text, undefined);
      assert.ok(got <= 2 * size + 64 * 1024, `${got} bytes read for a ${size}-byte WordDocument stream (and its table)`);
    } finally {
      OleStream.prototype.read = streamRead;
    }
    // the first piece claims 2^30 characters 8 bytes before the stream's end: the second is still read
    const starve = writeDoc([{ text: 'ab\r', compressed: true }, { text: `card ${PAN}\r`, compressed: true }], {
      clxOverride: (clx) => {
        const b = Buffer.from(clx);
        const len = b.readUInt32LE(5 + 8) - b.readUInt32LE(5 + 4);
        b.writeUInt32LE(0x3fff0000, 5 + 4);
        b.writeUInt32LE(0x3fff0000 + len, 5 + 8);
        b.writeUInt32LE((((4096 - 8) * 2) | 0x40000000) >>> 0, 5 + 12 + 2);
        return b;
      },
    });
    assert.equal(read(starve.file).text, `card ${PAN}\n`);
  });

  boundedIt(__filename, 'Excel: an SST claiming 2^32 strings, strings claiming 65,535 characters, 500,000 empty CONTINUE records', 30, () => {
    const base = writeXls([{ name: 'S', rows: [['only', 4556737586899855]] }]);
    const s = base.toString('latin1');
    const sst = s.indexOf('\xfc\x00');
    const b = Buffer.from(base);
    u32at(b, sst + 4, 0xffffffff);
    u32at(b, sst + 8, 0xffffffff);
    b.writeUInt16LE(0xffff, sst + 12); // the first string's cch
    assert.equal(typeof (read(b).text ?? ''), 'string');
    // a workbook stream of one SST and 500,000 empty CONTINUE records, then 200,000 cells
    const rec = (t: number, body: Buffer) => Buffer.concat([Buffer.from([t & 255, t >> 8, body.length & 255, body.length >> 8]), body]);
    const bof = rec(0x0809, Buffer.from([0, 6, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
    const cont = rec(0x003c, Buffer.alloc(0));
    const cell = rec(0x00fd, Buffer.from([1, 0, 1, 0, 15, 0, 0, 0, 0, 0]));
    const wb = Buffer.concat([bof, rec(0x00fc, Buffer.from([1, 0, 0, 0, 1, 0, 0, 0, 3, 0, 0, 0x61, 0x62])), Buffer.concat(Array(500_000).fill(cont)), Buffer.concat(Array(200_000).fill(cell))]);
    const t = read(writeCfb([{ name: 'Workbook', data: wb }]).file, 10_000).text!;
    assert.ok(t.length <= 10_000 && t.startsWith('ab'), t.slice(0, 20));
  });

  // the Workbook stream of a .xls built from records, and its text read with the reader's counters
  const biff = (t: number, body: Buffer) => Buffer.concat([Buffer.from([t & 255, t >> 8, body.length & 255, body.length >> 8]), body]);
  const BIFF_BOF = biff(0x0809, Buffer.from([0, 6, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
  const labelSst = (row: number, col: number, i: number) => {
    const b = Buffer.from([row & 255, row >> 8, col & 255, col >> 8, 15, 0, 0, 0, 0, 0]);
    b.writeUInt32LE(i, 6);
    return biff(0x00fd, b);
  };
  const label = (row: number, s: string) => biff(0x0204, Buffer.concat([Buffer.from([row & 255, row >> 8, 0, 0, 15, 0, s.length & 255, s.length >> 8, 0]), Buffer.from(s, 'latin1')]));
  const countedXls = (wb: Buffer, max: number) => {
    const file = writeCfb([{ name: 'Workbook', data: wb }]).file;
    const s = OleFile.open(bufferSource(file))!.stream('Workbook')!;
    let reads = 0;
    const stats = {} as XlsStats;
    const text = xlsText({ size: s.size, read: (o, n) => (reads++, s.read(o, n)) }, max, stats);
    assert.equal(read(file, max).text, text || undefined, 'the same through inspect/textOf');
    return { text, reads, stats };
  };

  boundedIt(__filename, 'Excel: 1 MB of 5-byte CONTINUE records after an SST is read through a window: a few reads of the stream, not two per record', 30, () => {
    // found by the fuzz campaign: 68 ms per MB, each record read as a header and a body Buffer and all
    // bodies kept until the SST was read (37 MB of RSS); now about 5 ms per MB
    const n = 200_000;
    const cont = Buffer.alloc(5 * n);
    for (let i = 0; i < n; i++) cont.set([0x3c, 0, 1, 0, i & 1], i * 5); // each body the flags byte of the string going on
    const sst = biff(0x00fc, Buffer.from([1, 0, 0, 0, 1, 0, 0, 0, 0xff, 0xff, 0, 0x78])); // one string claiming 65,535 characters: "x"
    const wb = Buffer.concat([BIFF_BOF, sst, cont, labelSst(0, 0, 0), label(1, PAN), biff(0x000a, Buffer.alloc(0))]);
    const { text, reads, stats } = countedXls(wb, 1 << 20);
    assert.equal(text, `x\n${PAN}`);
    assert.equal(stats.records, n + 5);
    assert.ok(reads <= 2 + wb.length / 32768, `${reads} reads of a ${wb.length}-byte stream of ${n} records`);
    assert.ok(stats.sstBytes <= 160 * 1024, `${stats.sstBytes} bytes for the SST (room for one string of 65,535 UTF-16 characters)`);
  });

  boundedIt(__filename, 'Excel: an SST of a million one-character strings is kept in one buffer (at most twice the stream), and only up to the text cap', 30, () => {
    // found by the fuzz campaign: a string and an array slot per entry, ~7x the file (29 MB of RSS for
    // 4.3 MB) and 63 ms per MB; now 1.35x the stream and about 6 ms per MB
    const n = 1_000_000;
    const strs = Buffer.alloc(4 * n);
    for (let i = 0; i < n; i++) strs.set([1, 0, 0, 0x61 + (i % 26)], i * 4);
    const recs: Buffer[] = [];
    const head = Buffer.alloc(8);
    head.writeUInt32LE(n, 0);
    head.writeUInt32LE(n, 4);
    for (let o = 0; o < strs.length; o += 8216) recs.push(biff(o ? 0x3c : 0xfc, o ? strs.subarray(o, o + 8216) : Buffer.concat([head, strs.subarray(0, 8216)])));
    const wb = Buffer.concat([BIFF_BOF, ...recs, labelSst(0, 0, 0), labelSst(0, 1, 27), labelSst(0, 2, n - 1), label(1, PAN), biff(0x000a, Buffer.alloc(0))]);
    const all = countedXls(wb, 1 << 20);
    assert.equal(all.text, `a\tb\tn\n${PAN}`);
    assert.equal(all.stats.sstEntries, n);
    assert.ok(all.stats.sstBytes <= 2 * wb.length, `${all.stats.sstBytes} bytes for a ${wb.length}-byte stream`);
    // strings past 4x the text cap read as '' (they always did): not kept at all
    const capped = countedXls(wb, 1000);
    assert.equal(capped.text, `a\tb\n${PAN}`);
    assert.ok(capped.stats.sstEntries <= 4000 && capped.stats.sstBytes <= 64 * 1024, JSON.stringify(capped.stats));
    // a string that goes on in the next record in the other width: 8-bit then UTF-16, UTF-16 then 8-bit
    const mixed = Buffer.concat([
      BIFF_BOF,
      biff(0x00fc, Buffer.from([2, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0x61, 0x62])),
      biff(0x003c, Buffer.from([1, 0xa9, 0x03, 3, 0, 1, 0x16, 0x04])),
      biff(0x003c, Buffer.from([0, 0x7a, 0x79])),
      labelSst(0, 0, 0), labelSst(0, 1, 1), biff(0x000a, Buffer.alloc(0)),
    ]);
    assert.equal(countedXls(mixed, 100).text, 'ab\u03a9\t\u0416zy');
  });

  boundedIt(__filename, 'RTF: 1 MB of {, of }, of \\\', of \\u-1, of one long control word or number, of \\* groups: linear, bounded text', 30, () => {
    const MB = 1 << 20;
    const cases: Array<[string, Buffer]> = [
      ['{', Buffer.from('{\\rtf1 ' + '{'.repeat(MB) + ' deep text')],
      ['}', Buffer.from('{\\rtf1 ' + '}'.repeat(MB) + ' after')],
      ["\\'", Buffer.from('{\\rtf1 ' + "\\'".repeat(MB / 2))],
      ["\\'41", Buffer.from('{\\rtf1 ' + "\\'41".repeat(MB / 4))],
      ['\\u-1', Buffer.from('{\\rtf1\\uc0 ' + '\\u-1'.repeat(MB / 4))],
      ['word', Buffer.from('{\\rtf1 \\' + 'a'.repeat(MB) + ' x')],
      ['number', Buffer.from('{\\rtf1 \\b' + '9'.repeat(MB) + ' x')],
      ['\\*', Buffer.from('{\\rtf1 ' + '{\\*\\x '.repeat(MB / 6) + ' x')],
      ['\\bin', Buffer.from('{\\rtf1 \\bin999999999999 ' + 'x'.repeat(MB))],
      ['\\par', Buffer.from('{\\rtf1 ' + '\\par '.repeat(MB / 5))],
    ];
    for (const [name, b] of cases) {
      const t0 = process.cpuUsage();
      const r = read(b, 65536);
      const ms = (process.cpuUsage(t0).user + process.cpuUsage(t0).system) / 1000;
      assert.ok((r.text ?? '').length <= 65536, name);
      if (process.env.SHADOWIM_DEBUG) console.error(`${name}: ${ms.toFixed(0)} ms`);
    }
    assert.equal(read(Buffer.from('{\\rtf1 ' + '{'.repeat(MB) + ' deep text'), 65536).text, ' deep text');
  });

  it('Word: 100,000 one-character pieces jumping between two places of a stream whose sectors are out of order read a sector each, not a 64 KiB window each', () => {
    // found by the fuzz campaign: 36 s of CPU for this 1.35 MB file read from the spool (6.5 GB asked of it)
    const n = 100_000;
    const lay = writeDoc([{ text: 'a'.repeat(140_000) + '\r', compressed: true }], {
      clxOverride: () => {
        const plc = Buffer.alloc((n + 1) * 4 + n * 8);
        for (let i = 0; i <= n; i++) plc.writeUInt32LE(i, i * 4);
        for (let i = 0; i < n; i++) plc.writeUInt32LE((((0x600 + (i % 2) * 70_000) * 2) | 0x40000000) >>> 0, (n + 1) * 4 + i * 8 + 2);
        return Buffer.concat([Buffer.from([2]), Buffer.from(Uint32Array.of(plc.length).buffer), plc]);
      },
    });
    // the WordDocument stream's sectors in reverse order (a valid file: its FAT chain says so)
    const b = Buffer.from(lay.file), orig = lay.file;
    const w = lay.streamSector['WordDocument'], k = Math.ceil((0x600 + 140_001 + 512) / SS);
    for (let i = 0; i < k; i++) orig.copy(b, (w + k - i) * SS, (w + i + 1) * SS, (w + i + 2) * SS);
    for (let i = 0; i < k; i++) u32at(b, SS * (lay.fatSector + 1) + (w + k - 1 - i) * 4, i === k - 1 ? 0xfffffffe : w + k - 2 - i);
    const dirAt = (i: number) => SS * (lay.dirSector + 1) + i * 128;
    const e = [0, 1, 2, 3].find((i) => b.toString('utf16le', dirAt(i), dirAt(i) + 24) === 'WordDocument')!;
    u32at(b, dirAt(e) + 0x74, w + k - 1);
    let asked = 0;
    const src = bufferSource(b);
    const counting = { size: src.size, read: (o: number, len: number) => ((asked += len), src.read(o, len)) };
    const ins = inspect(counting, 'doc');
    assert.equal(textOf(counting, ins, 1 << 20), 'a'.repeat(n));
    assert.ok(asked < 64 * b.length, `${asked} bytes asked of a ${b.length}-byte file`);
  });

  boundedIt(__filename, 'RTF: \\ansicpgN switching between known code pages after naming 70 unknown ones builds each code page once', 30, () => {
    // found by the fuzz campaign: once 64 code pages were cached (unknown ones too, by any earlier file),
    // every \ansicpgN rebuilt its 256-entry table: 2.2 s of CPU per MB
    const Real = globalThis.TextDecoder;
    let made = 0;
    globalThis.TextDecoder = class extends Real {
      constructor(...a: ConstructorParameters<typeof Real>) {
        super(...a);
        made++;
      }
    };
    try {
      const unknown = Array.from({ length: 70 }, (_, i) => `\\ansicpg${90000 + i}`).join('');
      const known = [1250, 1251, 1253, 1254, 1255, 1256, 1257, 1258, 874, 10000, 932, 936];
      const body = Array.from({ length: 20_000 }, (_, i) => `\\ansicpg${known[i % known.length]} x`).join('');
      assert.equal(rtfText(Buffer.from(`{\\rtf1 ${unknown}${body}}`), 1 << 20), 'x'.repeat(20_000));
      assert.ok(made <= known.length + 1, `${made} decoders made`);
    } finally {
      globalThis.TextDecoder = Real;
    }
  });

  boundedIt(__filename, 'RTF: text made of one-character pieces (a\\~ 4 M times, 12 MB) at an 8 M character cap costs memory in proportion to the text, not 40 bytes per character', 60, () => {
    // found by the fuzz campaign (a case of \uN and \~ at 42 MB of RSS for 2.5 MB): each \~, \par or
    // \uN was kept as its own string until the end; 378 MB of peak RSS here before, 38 MB after
    const b = Buffer.from('{\\rtf1 ' + 'a\\~'.repeat(4 << 20) + '}');
    rtfText(Buffer.from('{\\rtf1 a\\~b}'), 100);
    const rss0 = process.resourceUsage().maxRSS;
    const t = rtfText(b, 8 << 20);
    const grew = (process.resourceUsage().maxRSS - rss0) / 1024;
    assert.equal(t.length, 8 << 20);
    assert.equal(t.slice(0, 6), 'a a a ');
    assert.ok(grew < 120, `peak RSS grew by ${grew.toFixed(0)} MB`);
  });

  boundedIt(__filename, 'RTF: double-byte code pages alternating around lone bytes (\\ansicpg932\\\'82\\ansicpg936\\\'82…, 1 MB) decode each short run once per code page, not a TextDecoder call per byte', 30, () => {
    // found by the fuzz campaign: 54 ms per MB, a decode call for every byte; now about 12-20 ms per MB
    rtfText(Buffer.from('{\\rtf1 x}'), 10); // cp1252's table is built (128 decode calls) once per process
    const decode = TextDecoder.prototype.decode;
    let calls = 0;
    TextDecoder.prototype.decode = function (this: TextDecoder, ...a: Parameters<TextDecoder['decode']>) {
      calls++;
      return decode.apply(this, a);
    };
    try {
      const unit = "\\ansicpg932\\'82\\ansicpg936\\'82\\ansicpg949\\'b0\\'a1\\b ";
      const k = Math.floor((1 << 20) / unit.length);
      const t = rtfText(Buffer.from(`{\\rtf1 ${unit.repeat(k)}}`, 'latin1'), 1 << 20);
      assert.equal(t, '\ufffd\ufffd\uac00'.repeat(k));
      assert.ok(calls <= 8, `${calls} decode calls for ${k} switches`);
    } finally {
      TextDecoder.prototype.decode = decode;
    }
  });

  it('RTF: a control word named like a member of Object (\\constructor, \\toString) is no text', () => {
    // found while reading the code: special characters were looked up with `in`, so these emitted
    // "function Object() { [native code] }"
    assert.equal(rtfText(Buffer.from('{\\rtf1 a\\constructor b\\toString c\\hasOwnProperty d\\emdash e}'), 100), 'abcd\u2014e');
  });

  it('RTF: a double-byte lead byte left at the end of one file is not put before the next file\'s text', () => {
    // found by the fuzz campaign: the shared Shift-JIS decoder kept the lead byte of a pair cut at the
    // 4,096-byte buffer's end, and the next file's \'a0 read as あ
    const a = Buffer.from('{\\rtf1\\ansi\\ansicpg932 ' + 'x'.repeat(4095) + "\\'82}");
    assert.equal(rtfText(a, 10_000).slice(0, 4095), 'x'.repeat(4095));
    const b = Buffer.from("{\\rtf1\\ansi\\ansicpg932 \\'a0zz}");
    assert.equal(rtfText(b, 100), '\ufffdzz');
  });

  // SHADOWIM_FUZZ_SEED=n runs other cases, SHADOWIM_FUZZ_CASES=n more or fewer (n .doc/.xls/RTF cases and n/5
  // .ppt ones; the child's deadline grows with n): the campaign in docs/files.md ran the generator outside CI
  const FUZZ = Math.max(5, Number(process.env.SHADOWIM_FUZZ_CASES ?? 3000) || 3000), FUZZ_PPT = Math.floor(FUZZ / 5);
  boundedIt(__filename, `structure-aware mutations of .doc, .xls, .rtf and .ppt files (olefuzz.ts, ${FUZZ.toLocaleString('en-US')} + ${FUZZ_PPT.toLocaleString('en-US')} seeded cases) never throw, keep text within the cap and read at most 64 times the file`, Math.max(60, Math.ceil(FUZZ / 50)), () => {
    const seed = Number(process.env.SHADOWIM_FUZZ_SEED ?? 1);
    const max = 10_000;
    let ppt = 0;
    for (let k = 0; k < FUZZ + FUZZ_PPT; k++) {
      const c = k < FUZZ ? makeCase(seed, k) : makeCase(seed, k - FUZZ, 'ppt');
      let asked = 0;
      const src = bufferSource(c.data);
      const counting = { size: src.size, read: (o: number, n: number) => {
        const b = src.read(o, n);
        asked += b.length;
        return b;
      } };
      const what = `seed ${seed} case ${k < FUZZ ? k : `${k - FUZZ} of makeCase(seed, k, 'ppt')`} (${c.fmt}: ${c.muts.join(',')}, ${c.data.length} bytes)`;
      let text: string | undefined;
      try {
        text = textOf(counting, inspect(counting, fileTypeOf(c.data.subarray(0, 33 * 1024))), max);
      } catch (e) {
        assert.fail(`${what} threw: ${(e as Error).stack}`);
      }
      assert.ok(text === undefined || text.length <= max, what);
      assert.ok(asked <= 64 * c.data.length + (1 << 20), `${what}: ${asked} bytes read`);
      if (c.fmt === 'ppt' && text) ppt++;
    }
    // the .ppt cases are not all rejected before their records are walked
    assert.ok(FUZZ_PPT < 30 || ppt > FUZZ_PPT / 3, `${ppt} of ${FUZZ_PPT} .ppt cases gave text`);
});
});

// the spec's own reading of a document, for the record: the same text docText gives
describe('files: docText straight from a compound file', () => {
  it('reads the WordDocument/1Table pair found through the directory tree', () => {
    const ole = OleFile.open(bufferSource(writeDoc([{ text: 'direct\r' }]).file))!;
    assert.deepEqual(ole.rootChildren().map((e) => e.name).sort(), ['1Table', 'WordDocument']);
    assert.equal(docText(ole, 100), 'direct\n');
  });
});

// PowerPoint 97–2003 (.ppt) text for DLP (analyzer/files/ppt.ts): presentations written from MS-PPT by
// test/files/olegen.ts, read through inspect/textOf as the file service does, checked against what
// catppt reads from the same bytes, carried through the CLI as IRC DCC transfers, and hostile record
// trees that must stay bounded.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { bufferSource } from '../../analyzer/files/inspect';
import { OleFile } from '../../analyzer/files/ole';
import { pptEncrypted, pptText, PPT_LIMITS } from '../../analyzer/files/ppt';
import { shadowim } from '../helpers/run';
import { haveCommand } from '../helpers/netns';
import { readInspected } from './inspectRead';
import { boundedIt } from '../helpers/bounded';
import { dccCapture } from './dcc';
import { pptRec, writeCfb, writePpt, type PptSlide } from './olegen';

const PAN = '4556 7375 8689 9855'; // Luhn-valid, not a well-known test number
const read = readInspected;
const lines = (s: string) => s.split('\n').filter(Boolean);

/** what catppt prints too: placeholder text (8-bit and UTF-16), a footer, a slide name */
const plain: PptSlide[] = [
  { texts: [{ text: 'Quarterly payroll' }, { text: `Card ${PAN}\rSSN 536-22-8765\vnext line` }], name: 'Payroll slide' },
  { texts: [{ text: 'Zo\u00eb caf\u00e9 \u00c5ngstr\u00f6m', bytes: true }, { text: '\u03a9mega \u201cquoted\u201d \ud83d\ude00 end' }] },
];
/** and what it does not: a drawing's text box and a comment */
const rich: PptSlide[] = [
  ...plain,
  { texts: [{ text: 'Third' }], drawing: 'Text box 536-22-8765', comment: { author: 'Pat Author', text: 'Comment with 4556737586899855' } },
];

describe('files: PowerPoint 97–2003 text for DLP', function () {
  this.timeout(120000);
  let tmp: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-ppt-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('text atoms in stream order (UTF-16 and 8-bit), CR and VT as line ends, footer, slide name, drawing text and comment; fonts, kinsoku, tags and comment authors left out', () => {
    const { type, ins, text } = read(writePpt(rich, { footer: 'Confidential footer' }));
    assert.equal(type, 'ppt');
    assert.deepEqual(ins.info, {});
    assert.deepEqual(text!.split('\n'), [
      'Quarterly payroll',
      `Card ${PAN}`,
      'SSN 536-22-8765',
      'next line',
      'Zo\u00eb caf\u00e9 \u00c5ngstr\u00f6m',
      '\u03a9mega \u201cquoted\u201d \ud83d\ude00 end',
      'Third',
      'Confidential footer',
      'Payroll slide',
      'Text box 536-22-8765',
      'Comment with 4556737586899855',
      '',
    ]);
    // the decoys: a font name, a kinsoku string, a tag name and value, the PPT10 tag's name, the comment's author
    for (const d of ['4929187654321095', '371487654321009', 'Arial', '___PPT10', 'Pat Author']) assert.ok(!text!.includes(d), d);
  });

  it('TextBytesAtom: each byte is the low byte of a UTF-16 code unit (Latin-1, not cp1252); C0 controls but tab dropped', () => {
    const ole = OleFile.open(bufferSource(writePpt([{ texts: [{ text: 'a\u0093b\u00ffc\u0009d\u0001e', bytes: true }] }])))!;
    assert.equal(pptText(ole, 100), 'a\u0093b\u00ffc\tde\n');
    assert.equal(pptText(ole, 3), 'a\u0093b');
  });

  it('catppt reads the same lines from the same bytes', function () {
    if (!haveCommand('catppt')) this.skip();
    const f = path.join(tmp, 'plain.ppt');
    // catppt writes each half of a surrogate pair as a character of its own: the emoji is left out here
    const noAstral = plain.map((sl) => ({ ...sl, texts: sl.texts.map((t) => ({ ...t, text: t.text.replace(/[\ud800-\udfff]/g, '') })) }));
    fs.writeFileSync(f, writePpt(noAstral, { footer: 'Confidential footer' }));
    // catppt ends a slide with a form feed and leaves a vertical tab as it is
    const theirs = execFileSync('catppt', ['-d', 'utf-8', f]).toString('utf8').replace(/[\f\v]/g, '\n');
    assert.deepEqual(lines(read(fs.readFileSync(f)).text!), lines(theirs));
    assert.ok(theirs.includes(PAN));
  });

  it('encrypted (MS-PPT 2.3.7): the Current User token, the UserEditAtom\'s encryptSessionPersistIdRef, a CryptSession10Container: file_info.encrypted, no text', () => {
    for (const encrypted of [true, 'token', 'useredit', 'crypt'] as const) {
      const b = writePpt(plain, { encrypted });
      const { type, ins, text } = read(b);
      assert.equal(type, 'ppt', String(encrypted));
      assert.equal(ins.info.encrypted, true, String(encrypted));
      assert.equal(text, undefined, String(encrypted));
      assert.equal(pptEncrypted(OleFile.open(bufferSource(b))!), true);
    }
    assert.equal(pptEncrypted(OleFile.open(bufferSource(writePpt(plain)))!), false);
  });

  it('through the CLI: a card number and an SSN in a .ppt sent over IRC DCC raise sensitive_data; an encrypted .ppt is flagged; decoys make no finding', () => {
    const policy = path.join(tmp, 'policy.yaml');
    fs.writeFileSync(policy, 'files:\n  block_encrypted_archives: true\n');
    const cap = dccCapture(path.join(tmp, 'ppt.pcap'), [
      { name: 'payroll.ppt', data: writePpt(rich, { footer: 'Confidential' }) },
      // the font, kinsoku and tag strings carry card numbers: none of them is slide text
      { name: 'decoy.ppt', data: writePpt([{ texts: [{ text: 'Nothing here' }] }]) },
      { name: 'locked.ppt', data: writePpt(plain, { encrypted: true }) },
    ]);
    const r = shadowim(['analyze', cap, '--format', 'jsonl', '--policy', policy]);
    assert.equal(r.status, 0, r.stderr);
    const d = Object.fromEntries(r.events.filter((e) => e.type === 'file_transfer' && e.stage === 'data').map((e) => [e.filename, e]));
    assert.equal(d['payroll.ppt'].file_type, 'ppt');
    assert.match(d['payroll.ppt'].verdict, /^sensitive:(pan|us_ssn)$/);
    assert.doesNotMatch(d['decoy.ppt'].verdict, /^sensitive/);
    assert.equal(d['locked.ppt'].verdict, 'forbidden:encrypted_archive');
    assert.equal(d['locked.ppt'].file_info.encrypted, true);
    const sens = r.events.filter((e) => e.type === 'alert' && e.kind === 'sensitive_data');
    const by = (name: string) => sens.filter((a) => a.summary.includes(name)).map((a) => a.detector).sort();
    assert.deepEqual(by('payroll.ppt'), ['pan', 'us_ssn']);
    assert.deepEqual(by('decoy.ppt'), []);
    assert.deepEqual(by('locked.ppt'), []);
    assert.ok(!r.stdout.includes('4556737586899855') && !r.stdout.includes(PAN) && !r.stdout.includes('536-22-8765'), 'values redacted');
  });
});

// ---- hostile input ----

/** a presentation whose PowerPoint Document stream is exactly `stream` */
const pptFile = (stream: Buffer) => writeCfb([{ name: 'PowerPoint Document', data: stream }]).file;
const chars = (s: string) => pptRec(0, 0, 0x0fa0, Buffer.from(s, 'utf16le'));
const withLen = (rec: Buffer, len: number) => {
  const b = Buffer.from(rec);
  b.writeUInt32LE(len >>> 0, 4);
  return b;
};
/** CPU milliseconds of f, printed with SHADOWIM_DEBUG */
function cpu<T>(what: string, f: () => T): T {
  const t0 = process.cpuUsage();
  const r = f();
  const u = process.cpuUsage(t0);
  if (process.env.SHADOWIM_DEBUG) console.error(`${what}: ${((u.user + u.system) / 1000).toFixed(0)} ms`);
  return r;
}

describe('files: hostile .ppt stays bounded and never throws', function () {
  this.timeout(120000);

  boundedIt(__filename, 'record lengths past the end: an atom, a container and the last header cut short', 30, () => {
    const ok = chars(`before ${PAN}`);
    // a text atom claiming 2^32-1 bytes: read to the stream's end, in slices
    assert.deepEqual(lines(read(pptFile(Buffer.concat([ok, withLen(chars('tail text'), 0xffffffff)]))).text!), [`before ${PAN}`, 'tail text']);
    // a container claiming more than its parent: cut at the parent's end, the parent's sibling still read
    const inner = withLen(pptRec(0xf, 0, 0x0ff0, chars('inside')), 0x7fffffff);
    const outer = pptRec(0xf, 0, 0x03e8, inner);
    assert.deepEqual(lines(read(pptFile(Buffer.concat([outer, ok]))).text!), ['inside', `before ${PAN}`]);
    // a header cut short at the end, and a stream of nothing but 0xFF
    assert.deepEqual(lines(read(pptFile(Buffer.concat([ok, Buffer.from([0x0f, 0, 0xe8, 3])]))).text!), [`before ${PAN}`]);
    assert.equal(read(pptFile(Buffer.alloc(5000, 0xff))).text, undefined);
  });

  boundedIt(__filename, '10,000-deep containers (and 100,000 zero-length ones): stepped over past the depth bound, the text after them read', 30, () => {
    const n = 10_000;
    // nested: each container's length is what it holds
    let deep = chars('too deep');
    for (let i = 0; i < n; i++) deep = pptRec(0xf, 0, 0x03e8, deep);
    const t = cpu('10,000 deep', () => read(pptFile(Buffer.concat([deep, chars(`after ${PAN}`)]))).text!);
    assert.deepEqual(lines(t), [`after ${PAN}`]);
    // the same depth within the bound is read
    let shallow = chars('shallow');
    for (let i = 0; i < PPT_LIMITS.maxDepth - 1; i++) shallow = pptRec(0xf, 0, 0x03e8, shallow);
    assert.deepEqual(lines(read(pptFile(shallow)).text!), ['shallow']);
    // 10,000 headers claiming to hold the rest of the stream, then text: all open at once
    const open = Buffer.concat([Buffer.concat(Array.from({ length: n }, () => withLen(pptRec(0xf, 0, 0x03e8, Buffer.alloc(0)), 0xffffffff))), chars('inner')]);
    assert.equal(read(pptFile(open)).text, undefined);
    // 100,000 empty containers then text
    const empty = Buffer.concat([Buffer.concat(Array(100_000).fill(pptRec(0xf, 0, 0x0ff0, Buffer.alloc(0)))), chars('end')]);
    assert.deepEqual(lines(cpu('100,000 empty containers', () => read(pptFile(empty)).text!)), ['end']);
  });

  boundedIt(__filename, 'a 1 MB stream of tiny atoms (text, CStrings, empty containers) in one container: linear, text within the cap', 30, () => {
    const atoms = [chars('a'), pptRec(0, 0, 0x0fa8, Buffer.from('b')), pptRec(0, 2, 0x0fba, Buffer.from('c\0', 'latin1')), pptRec(0xf, 0, 0x03ee, Buffer.alloc(0))];
    const group = Buffer.concat(atoms);
    const groups = Math.ceil((1 << 20) / group.length);
    const body = Buffer.concat(Array(groups).fill(group));
    const stream = pptRec(0xf, 3, 0x0fd9, body); // inside HeadersFooters: its CStrings are text
    assert.ok(stream.length >= 1 << 20);
    const full = cpu('1 MB of tiny atoms', () => read(pptFile(stream), 1 << 20).text!);
    assert.equal(full.length, groups * 6);
    assert.ok(full.startsWith('a\nb\nc\na\n'));
    const capped = read(pptFile(stream), 1000).text!;
    assert.equal(capped.length, 1000);
  });
});

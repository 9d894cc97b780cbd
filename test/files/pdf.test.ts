// PDF text for DLP (analyzer/files/pdf.ts): PDFs written by the test itself (test/files/pdfgen.ts),
// read through inspect/textOf as the file service does, cross-checked with poppler's pdftotext when it
// is installed, carried through the CLI as an IRC DCC transfer, and hostile PDFs that must stay bounded.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { execFileSync, spawnSync } from 'node:child_process';
import { PDF_LIMITS, PdfDoc, ascii85, parseCMap, scaledBound, textString } from '../../analyzer/files/pdf';
import { shadowim } from '../helpers/run';
import { boundedIt } from '../helpers/bounded';
import { dccCapture } from './dcc';
import { readInspected } from './inspectRead';
import { appendUpdate, ascii85Encode, lit, toUnicodeCMap, writePdf, type PdfObject } from './pdfgen';

const PAN = '4556 7375 8689 9855'; // Luhn-valid, not a well-known test number
const hasPdftotext = spawnSync('pdftotext', ['-v']).status === 0;

const read = readInspected;

const courier = `<< /Type /Font /Subtype /Type1 /BaseFont /Courier /Encoding /WinAnsiEncoding /FirstChar 32 /LastChar 126 /Widths [${Array(95).fill(600).join(' ')}] >>`;
const descriptor = '<< /Type /FontDescriptor /FontName /Fake /Flags 32 /FontBBox [0 -200 600 800] /ItalicAngle 0 /Ascent 800 /Descent -200 /CapHeight 700 /StemV 80 >>';

// F2: a Type0 font (2-byte codes, Identity-H) whose codes mean nothing without its ToUnicode CMap:
// 0x0003 space, 0x0010-0x0019 digits, 0x0021-0x003A A-Z
const f2Code = (s: string) =>
  '<' +
  [...s]
    .map((ch) => (ch === ' ' ? 3 : /\d/.test(ch) ? 0x10 + Number(ch) : 0x21 + ch.charCodeAt(0) - 65))
    .map((n) => n.toString(16).padStart(4, '0'))
    .join('') +
  '>';
// F3: a subset TrueType font with 1-byte codes 1, 2, 3 … in order of first use, mapped by bfchar
const F3_TEXT = 'Project Nightingale';
const f3Chars = [...new Set(F3_TEXT)];
const f3Code = (s: string) => '<' + [...s].map((ch) => (f3Chars.indexOf(ch) + 1).toString(16).padStart(2, '0')).join('') + '>';

function mainPdf(): Buffer {
  const page1 = [
    'BT /F1 12 Tf 72 720 Td',
    `(Customer card: ) Tj [(4556 7)-30(375 86)15(89 9855)] TJ`,
    // a number split across two Tj with a Td to exactly where the first ended (21 glyphs x 7.2)
    '0 -14 Td (Employee SSN: 536-22-) Tj 151.2 0 Td (8765) Tj',
    // digits on two lines stay on two lines
    '-151.2 -14 Td (Ref 1234 5678) Tj 0 -14 Td (9012 3456 end) Tj',
    '16 TL T* (Octal \\101\\102 and \\(parens\\) ok) Tj',
    "(quote operator line) '",
    'T* <4865782073747269 6e67> Tj ET',
  ].join('\n');
  const page2a = `BT /F2 11 Tf 72 700 Td ${f2Code('ACCOUNT 4929 1234')} Tj 0 -14 Td ${f2Code('BRANCH 77')} Tj ET\n`;
  const page2b = `BT /F3 10 Tf 72 650 Td ${f3Code(F3_TEXT)} Tj ET`;
  const xmp = '<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:description><rdf:Alt><rdf:li xml:lang="x-default">Internal only &amp; XMP</rdf:li></rdf:Alt></dc:description></rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>';
  const author = '<' + Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from('Zoë Ånström', 'utf16le').swap16()]).toString('hex') + '>';
  const objs: PdfObject[] = [
    { num: 1, body: '<< /Type /Catalog /Pages 2 0 R /Metadata 20 0 R >>' },
    { num: 2, body: '<< /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 /Resources 10 0 R /MediaBox [0 0 612 792] >>' },
    { num: 3, body: '<< /Type /Page /Parent 2 0 R /Contents 5 0 R >>' },
    { num: 4, body: '<< /Type /Page /Parent 2 0 R /Contents [6 0 R 7 0 R] >>' },
    { num: 5, body: '<< >>', stream: page1 },
    { num: 6, body: '<< >>', stream: page2a, filter: 'flate' },
    { num: 7, body: '<< >>', stream: page2b, filter: 'a85+flate' },
    { num: 10, body: '<< /Font << /F1 11 0 R /F2 12 0 R /F3 15 0 R >> >>' },
    { num: 11, body: courier },
    { num: 12, body: '<< /Type /Font /Subtype /Type0 /BaseFont /Fake /Encoding /Identity-H /DescendantFonts [13 0 R] /ToUnicode 14 0 R >>' },
    { num: 13, body: '<< /Type /Font /Subtype /CIDFontType2 /BaseFont /Fake /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /FontDescriptor 16 0 R /DW 600 /CIDToGIDMap /Identity >>' },
    { num: 14, body: '<< >>', stream: toUnicodeCMap([[3, ' ']], [[0x10, 0x19, 0x30], [0x21, 0x3a, 0x41]]), filter: 'flate' },
    { num: 15, body: `<< /Type /Font /Subtype /TrueType /BaseFont /ABCDEF+Fake /FirstChar 1 /LastChar ${f3Chars.length} /Widths [${Array(f3Chars.length).fill(600).join(' ')}] /FontDescriptor 16 0 R /ToUnicode 17 0 R >>` },
    { num: 16, body: descriptor },
    { num: 17, body: '<< >>', stream: toUnicodeCMap(f3Chars.map((ch, i) => [i + 1, ch]), [], true), filter: 'hex' },
    { num: 20, body: '<< /Type /Metadata /Subtype /XML >>', stream: xmp },
    { num: 21, body: `<< /Title (Quarterly payroll) /Author ${author} /Subject (HR) /Keywords (confidential, salary) >>` },
  ];
  return writePdf(objs, '/Root 1 0 R /Info 21 0 R');
}

const PAGE_TEXT = [
  `Customer card: ${PAN}`,
  'Employee SSN: 536-22-8765',
  'Ref 1234 5678',
  '9012 3456 end',
  'Octal AB and (parens) ok',
  'quote operator line',
  'Hex string',
  'ACCOUNT 4929 1234',
  'BRANCH 77',
  F3_TEXT,
];

/** a one-page PDF with a Courier font and the given content stream */
function simplePdf(content: string, opts: { filter?: PdfObject['filter']; trailer?: string; extra?: PdfObject[]; res?: string } = {}): Buffer {
  return writePdf(
    [
      { num: 1, body: '<< /Type /Catalog /Pages 2 0 R >>' },
      { num: 2, body: '<< /Type /Pages /Kids [3 0 R] /Count 1 >>' },
      { num: 3, body: `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> ${opts.res ?? ''} >> /Contents 5 0 R >>` },
      { num: 4, body: courier },
      { num: 5, body: '<< >>', stream: content, filter: opts.filter },
      ...(opts.extra ?? []),
    ],
    opts.trailer ?? '/Root 1 0 R',
  );
}

function updatedPdf(): Buffer {
  const v1 = simplePdf(`BT /F1 12 Tf 72 720 Td ${lit('Draft: nothing to see')} Tj ET`);
  return appendUpdate(v1, [{ num: 5, body: '<< >>', stream: `BT /F1 12 Tf 72 720 Td ${lit('Final: SSN 536-22-8765')} Tj ET`, filter: 'flate' }], '/Root 1 0 R');
}

describe('files: PDF text for DLP', function () {
  this.timeout(120000);
  let tmp: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-pdf-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('pages in order: TJ kerning inside a card number, a number split across Tj/Td joined, lines kept apart, escapes, hex strings, ToUnicode (2- and 1-byte), Flate/ASCII85/ASCIIHex; then info and XMP', () => {
    const { text, ins } = read(mainPdf());
    assert.equal(ins.type, 'pdf');
    assert.deepEqual(ins.info, { title: 'Quarterly payroll', creator: 'Zoë Ånström' });
    const lines = text!.split('\n');
    assert.deepEqual(lines.slice(0, PAGE_TEXT.length), PAGE_TEXT);
    const rest = lines.slice(PAGE_TEXT.length).join('\n');
    for (const s of ['Quarterly payroll', 'Zoë Ånström', 'HR', 'confidential, salary', 'Internal only & XMP']) assert.ok(rest.includes(s), `${s} in ${JSON.stringify(rest)}`);
  });

  it('incremental update: the later definition of an object wins; a broken xref does not matter', () => {
    const pdf = updatedPdf();
    const text = read(pdf).text!;
    assert.match(text, /^Final: SSN 536-22-8765$/m);
    assert.doesNotMatch(text, /Draft/);
    // xref offsets and startxref garbled: objects are found by scanning
    const broken = Buffer.from(pdf.toString('latin1').replace(/\d{10} 00000 n/g, '0000000001 00000 n').replace(/startxref\s+\d+/g, 'startxref\n999999999'), 'latin1');
    assert.equal(read(broken).text, text);
  });

  it('without a page tree, content streams are still read; images, fonts and unknown filters are skipped', () => {
    const img = zlib.deflateSync(Buffer.from('BT (not text) Tj ET'.repeat(10)));
    const pdf = writePdf(
      [
        { num: 5, body: '<< >>', stream: `BT /F1 10 Tf 1 0 0 1 50 700 Tm ${lit('orphan 536-22-8765')} Tj ET`, filter: 'flate' },
        { num: 6, body: '<< /Type /XObject /Subtype /Image /Width 8 /Height 8 /BitsPerComponent 8 >>', stream: img },
        { num: 7, body: '<< /Length1 40 >>', stream: 'BT (font program) Tj ET' },
        { num: 8, body: '<< /Filter /LZWDecode >>', stream: 'BT (lzw) Tj ET' },
      ],
      '',
    );
    assert.equal(read(pdf).text, 'orphan 536-22-8765');
  });

  it('Form XObjects drawn with Do are read (bounded depth: a form drawing itself stops)', () => {
    const pdf = simplePdf('q /Fm1 Do Q', {
      res: '/XObject << /Fm1 6 0 R >>',
      extra: [{ num: 6, body: '<< /Type /XObject /Subtype /Form /BBox [0 0 600 800] /Resources << /Font << /F1 4 0 R >> /XObject << /Fm1 6 0 R >> >> >>', stream: 'BT /F1 9 Tf 10 10 Td (in a form) Tj ET /Fm1 Do', filter: 'flate' }],
    });
    const text = read(pdf).text!;
    assert.match(text, /^in a form$/m);
    assert.ok(text.split('in a form').length - 1 <= 9, 'depth bounded');
  });

  it('encrypted PDF (/Encrypt in the trailer): no text, file_info.encrypted', () => {
    const pdf = simplePdf(`BT /F1 12 Tf 72 720 Td ${lit(PAN)} Tj ET`, {
      trailer: '/Root 1 0 R /Encrypt 9 0 R /ID [<00112233445566778899aabbccddeeff> <00112233445566778899aabbccddeeff>]',
      extra: [{ num: 9, body: '<< /Filter /Standard /V 2 /R 3 /Length 128 /O <00> /U <00> /P -3904 >>' }],
    });
    const { text, ins } = read(pdf);
    assert.equal(text, undefined);
    assert.equal(ins.info.encrypted, true);
    // a cross-reference stream's dictionary carries /Encrypt too
    const xs = writePdf([{ num: 1, body: '<< /Type /XRef /Size 2 /W [1 2 1] /Encrypt 3 0 R /Root 2 0 R >>', stream: Buffer.alloc(8) }, { num: 2, body: `<< /T ${lit(PAN)} >>` }], '');
    assert.equal(read(xs).ins.info.encrypted, true);
  });

  it('object streams (/Type /ObjStm) hold page and font dictionaries', () => {
    const members = ['<< /Type /Pages /Kids [3 0 R] /Count 1 >>', '<< /Type /Page /Parent 2 0 R /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>', courier];
    let header = '', body = '';
    members.forEach((m, i) => {
      header += `${i + 2} ${body.length} `;
      body += m + '\n';
    });
    const pdf = writePdf(
      [
        { num: 1, body: '<< /Type /Catalog /Pages 2 0 R >>' },
        { num: 5, body: '<< >>', stream: `BT /F1 12 Tf 72 720 Td (in obj stm 536-22-8765) Tj ET`, filter: 'flate' },
        { num: 9, body: `<< /Type /ObjStm /N 3 /First ${header.length} >>`, stream: header + body, filter: 'flate' },
      ],
      '/Root 1 0 R',
    );
    assert.equal(read(pdf).text, 'in obj stm 536-22-8765');
  });

  it('the pieces: UTF-16BE and PDFDocEncoding text strings, ASCII85, a CMap bfrange with an array', () => {
    assert.equal(textString(Buffer.from('feff00480069d83dde00', 'hex')), 'Hi😀');
    assert.equal(textString(Buffer.from([0x41, 0x80, 0x92, 0xa0])), 'A•™€');
    assert.equal(ascii85(Buffer.from(ascii85Encode(Buffer.from('Hello, world! zzzz\0\0\0\0')))).toString('latin1'), 'Hello, world! zzzz\0\0\0\0');
    const cm = parseCMap(Buffer.from('1 begincodespacerange <00> <FF> endcodespacerange 1 beginbfrange <41> <43> [<0078> <0079> <D83DDE00>] endbfrange'));
    assert.equal(cm.map.get(0x43 + 2 ** 32), '😀');
    assert.equal(cm.spaces[0].len, 1);
  });

  it('cross-check with poppler pdftotext: the same page text (whitespace aside)', function () {
    if (!hasPdftotext) {
      this.test!.title += ' (skipped: pdftotext not installed; apt-get install poppler-utils)';
      this.skip();
    }
    const norm = (s: string) => s.replace(/[\s\f]+/g, '');
    const cases: Array<[string, Buffer]> = [
      ['main', mainPdf()],
      ['update', updatedPdf()],
      ['hex', simplePdf(`BT /F1 12 Tf 72 720 Td ${lit('hex filter')} Tj 0 -14 Td <3533362d32322d38373635> Tj ET`, { filter: 'hex' })],
      ['a85', simplePdf(`BT /F1 12 Tf 72 720 Td [(A85)-600(and)-600(Flate)] TJ ET`, { filter: 'a85+flate' })],
    ];
    for (const [name, pdf] of cases) {
      const f = path.join(tmp, `${name}.pdf`);
      fs.writeFileSync(f, pdf);
      const theirs = execFileSync('pdftotext', ['-q', '-enc', 'UTF-8', f, '-']).toString('utf8');
      const ours = PdfDoc.parse(pdf).text(1 << 20);
      assert.ok(norm(theirs).length > 5, `${name}: pdftotext read it`);
      assert.ok(norm(ours).startsWith(norm(theirs)), `${name}:\n ours ${JSON.stringify(ours)}\n poppler ${JSON.stringify(theirs)}`);
      // line by line where poppler keeps lines
      const theirLines = theirs.split('\n').map((l) => l.trim().replace(/\s+/g, ' ')).filter(Boolean);
      const ourLines = ours.split('\n').map((l) => l.trim());
      for (const l of theirLines) assert.ok(ourLines.includes(l), `${name}: poppler line ${JSON.stringify(l)} not in ${JSON.stringify(ourLines)}`);
    }
  });
  it('through the CLI: a PDF with a card number and an SSN sent over IRC DCC raises both sensitive_data alerts; an encrypted PDF is forbidden:encrypted_archive under block_encrypted_archives', () => {
    const policy = path.join(tmp, 'policy.yaml');
    fs.writeFileSync(policy, 'files:\n  block_encrypted_archives: true\n');
    const secret = simplePdf(`BT /F1 12 Tf 72 720 Td ${lit('Payroll')} Tj ET`, {
      trailer: '/Root 1 0 R /Encrypt 9 0 R',
      extra: [{ num: 9, body: '<< /Filter /Standard /V 2 /R 3 /Length 128 /O <00> /U <00> /P -3904 >>' }],
    });
    const cap = dccCapture(path.join(tmp, 'pdf.pcap'), [
      { name: 'statement.pdf', data: mainPdf() },
      { name: 'locked.pdf', data: secret },
      { name: 'update.pdf', data: updatedPdf() },
    ]);
    const r = shadowim(['analyze', cap, '--format', 'jsonl', '--policy', policy]);
    assert.equal(r.status, 0, r.stderr);
    const d = Object.fromEntries(r.events.filter((e) => e.type === 'file_transfer' && e.stage === 'data').map((e) => [e.filename, e]));
    assert.equal(d['statement.pdf'].file_type, 'pdf');
    assert.match(d['statement.pdf'].verdict, /^sensitive:(pan|us_ssn)$/);
    assert.deepEqual(d['statement.pdf'].file_info, { title: 'Quarterly payroll', creator: 'Zoë Ånström' });
    assert.equal(d['locked.pdf'].verdict, 'forbidden:encrypted_archive');
    assert.equal(d['locked.pdf'].file_info.encrypted, true);
    assert.equal(d['update.pdf'].verdict, 'sensitive:us_ssn');
    const sens = r.events.filter((e) => e.type === 'alert' && e.kind === 'sensitive_data');
    const statement = sens.filter((a) => /statement\.pdf/.test(a.summary));
    assert.deepEqual(statement.map((a) => a.detector).sort(), ['pan', 'us_ssn'], JSON.stringify(sens.map((a) => a.summary)));
    for (const a of statement) assert.match(a.summary, /in the content of irc file/);
    assert.match(statement.find((a) => a.detector === 'pan').match, /9855$/);
    assert.ok(!r.stdout.includes('4556737586899855') && !r.stdout.includes(PAN) && !r.stdout.includes('536-22-8765'), 'values redacted');
  });
});

describe('files: hostile PDFs stay bounded and never throw', function () {
  this.timeout(120000);
  const page = (t: string) => simplePdf(`BT /F1 12 Tf 72 720 Td ${lit(t)} Tj ET`);

  it('a Flate bomb (64 MiB of zeros in ~64 KB, 40 copies) is skipped; the real page is read', () => {
    const bomb = zlib.deflateSync(Buffer.alloc(64 << 20), { level: 9 });
    const extra: PdfObject[] = [];
    for (let i = 0; i < 40; i++) extra.push({ num: 100 + i, body: `<< /Filter /FlateDecode /Length ${bomb.length} >>`, stream: bomb });
    const pdf = simplePdf(`BT /F1 12 Tf 72 720 Td ${lit('real text 536-22-8765')} Tj ET`, { extra });
    const doc = PdfDoc.parse(pdf);
    assert.equal(doc.text(1 << 20), 'real text 536-22-8765');
    // a truncated Flate stream gives what it has
    const full = zlib.deflateSync(Buffer.from(`BT /F1 12 Tf 72 720 Td ${lit('cut short but read')} Tj ` + Array.from({ length: 2000 }, (_, i) => `(${i * 7919}) Tj`).join(' ') + ' ET'));
    const cut = simplePdf('').toString('latin1').replace(/5 0 obj\n<< \/Length 0 >>\nstream\n\nendstream/, () => `5 0 obj\n<< /Filter /FlateDecode >>\nstream\n${full.subarray(0, full.length >> 1).toString('latin1')}\nendstream`);
    assert.match(read(Buffer.from(cut, 'latin1')).text!, /cut short but read/);
  });

  it('200,000 tiny objects, 100,000 unterminated strings, deep nesting, lying /Length: bounded', () => {
    const junk = Array.from({ length: 200_000 }, (_, i) => `${i + 10} 0 obj << /A ${i} /B [1 2 (x)] >> endobj\n`).join('');
    let pdf = Buffer.concat([page('first page read'), Buffer.from(junk)]);
    let doc = PdfDoc.parse(pdf);
    assert.equal(doc.text(1 << 20), 'first page read');
    assert.equal(doc.truncated, true); // over the object bound
    pdf = Buffer.concat([page('still read'), Buffer.from('1 0 obj ('.repeat(100_000) + 'x'.repeat(1 << 20))]);
    doc = PdfDoc.parse(pdf);
    assert.equal(typeof doc.text(1 << 20), 'string');
    for (const deep of ['[', '<<', '(']) {
      const b = Buffer.concat([page('nested'), Buffer.from(`7 0 obj ${deep.repeat(200_000)}\nendobj\n`)]);
      assert.equal(typeof read(b).text, 'string');
    }
    const content = `BT /F1 12 Tf 72 720 Td ${'['.repeat(100_000)} (deep) TJ ${lit('after')} Tj (unterminated ${'x'.repeat(3 << 20)}`;
    // the unclosed array swallows the rest of the stream: nothing, but bounded
    assert.ok((read(simplePdf(content), 1000).text ?? '').length <= 1000);
    // /Length that lies, both ways: the data is found by `endstream`
    const lying = page('lying length 536-22-8765').toString('latin1').replace(/\/Length \d+/, '/Length 999999999');
    assert.equal(read(Buffer.from(lying, 'latin1')).text, 'lying length 536-22-8765');
    const short = page('short length').toString('latin1').replace(/\/Length \d+/, '/Length 3');
    assert.equal(read(Buffer.from(short, 'latin1')).text, 'short length');
  });

  it('a CMap with huge ranges and forms drawn a million times stay bounded', () => {
    const ranges = Array.from({ length: 2000 }, () => '<0000> <FFFF> <0041>').join('\n');
    const cm = parseCMap(Buffer.from(`1 begincodespacerange <0000> <FFFF> endcodespacerange 2000 beginbfrange\n${ranges}\nendbfrange`));
    assert.ok(cm.map.size <= 100_000);
    const pdf = simplePdf('/Fm1 Do '.repeat(1_000_000), {
      res: '/XObject << /Fm1 6 0 R >>',
      extra: [{ num: 6, body: '<< /Type /XObject /Subtype /Form /Resources << /XObject << /Fm1 6 0 R >> >> >>', stream: '/Fm1 Do '.repeat(10_000) + 'BT (f) Tj ET' }],
    });
    assert.ok(read(pdf, 1000).text!.length <= 1000);
  });

  it('garbage and mutated PDFs never throw', () => {
    let seed = 7;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const base = mainPdf();
    for (let k = 0; k < 300; k++) {
      let b: Buffer;
      if (k % 3 === 0) {
        b = Buffer.alloc(2000 + rnd(20000));
        for (let i = 0; i < b.length; i++) b[i] = rnd(256);
        b.write('%PDF-1.4\n', 0, 'latin1');
      } else {
        b = Buffer.from(base.subarray(0, k % 3 === 1 ? rnd(base.length) : base.length));
        for (let m = 0; m < 1 + rnd(20); m++) if (b.length) b[rnd(b.length)] = rnd(256);
      }
      const r = read(b, 10_000);
      assert.ok(r.text === undefined || r.text.length <= 10_000);
    }
  });
});

// Inputs found by a structure-aware fuzz of the extractor: each used to take seconds to minutes (or
// gigabytes) for a small file; each runs in a child process with a deadline.
const objAt = (n: number, body: string) => `${n} 0 obj\n${body}\nendobj\n`;
function streamAt(n: number, dict: string, data: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${n} 0 obj\n<< ${dict} /Length ${data.length} >>\nstream\n`, 'latin1'), data, Buffer.from('\nendstream\nendobj\n')]);
}
function rawPdf(parts: Array<string | Buffer>, root = 1): Buffer {
  return Buffer.concat([Buffer.from('%PDF-1.7\n'), ...parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : p)), Buffer.from(`trailer\n<< /Root ${root} 0 R >>\n%%EOF\n`)]);
}
const textPage = (n: number, content: number, t: string, res = '') =>
  [objAt(n, `<< /Type /Page /Resources << /Font << /F1 ${content + 1} 0 R >> ${res} >> /Contents ${content} 0 R >>`), streamAt(content, '', Buffer.from(`BT /F1 12 Tf 72 720 Td ${lit(t)} Tj ET`)), objAt(content + 1, courier)];

describe('files: hostile PDFs found by fuzzing', function () {
  this.timeout(120000);

  boundedIt(__filename, 'page-tree nodes sharing one /Kids array naming them all: bounded walk, pages still found', 30, () => {
    const n = 25_000;
    const parts: Array<string | Buffer> = [objAt(1, '<< /Type /Catalog /Pages 10 0 R >>'), objAt(2, '[' + Array.from({ length: n }, (_, i) => `${10 + i} 0 R`).join(' ') + ']')];
    for (let i = 0; i < n; i++) parts.push(objAt(10 + i, '<< /Type /Pages /Kids 2 0 R >>'));
    parts.push(...textPage(3, 4, 'outside the tree'));
    const doc = PdfDoc.parse(rawPdf(parts));
    assert.equal(doc.text(1 << 20), 'outside the tree');
    assert.equal(doc.truncated, true);
  });

  boundedIt(__filename, 'one 16 MiB content stream named by 10,000 pages and 1,000 times in one /Contents: read once, up to the content bound, never copied whole', 20, () => {
    const parts: Array<string | Buffer> = [...textPage(3, 4, 'first page')];
    parts.push(streamAt(6, '/Filter /FlateDecode', zlib.deflateSync(Buffer.alloc((16 << 20) - 64, 0x20))));
    for (let i = 0; i < 10_000; i++) parts.push(objAt(10 + i, '<< /Type /Page /Contents 6 0 R >>'));
    parts.push(objAt(7, `<< /Type /Page /Contents [${'6 0 R '.repeat(1000)}] >>`));
    assert.equal(PdfDoc.parse(rawPdf(parts)).text(1 << 20), 'first page');
  });

  boundedIt(__filename, 'an object stream whose 2,000 members all start at one unterminated 8 MiB string: the offset is parsed once', 20, () => {
    const hdr = Array.from({ length: 2000 }, (_, i) => `${50 + (i % 3)} 0`).join(' ') + ' ';
    const data = Buffer.concat([Buffer.from(hdr), Buffer.from('('), Buffer.alloc(8 << 20, 0x61)]);
    const doc = PdfDoc.parse(rawPdf([...textPage(3, 4, 'page text'), streamAt(9, `/Type /ObjStm /N 2000 /First ${hdr.length} /Filter /FlateDecode`, zlib.deflateSync(data))]));
    assert.equal(doc.text(1 << 20), 'page text');
    // one value for the three objects (it was parsed again for each of the 2,000 members), cut at the bound
    const v = doc.objects.get(50)!.value;
    assert.ok(v === doc.objects.get(51)!.value && v === doc.objects.get(52)!.value);
    assert.equal(doc.truncated, true);
  });

  boundedIt(__filename, '1,000 fonts, each with its own 65,536-entry ToUnicode CMap from 20 compressed bytes: the range is kept as a range, every font maps', 20, () => {
    const n = 1000;
    const cmap = zlib.deflateSync(Buffer.from('1 begincodespacerange <0000> <FFFF> endcodespacerange 1 beginbfrange <0000> <FFFF> <0041> endbfrange'));
    const parts: Array<string | Buffer> = [objAt(1, '<< /Type /Catalog /Pages 2 0 R >>'), objAt(2, '<< /Type /Pages /Kids [3 0 R] >>')];
    parts.push(objAt(3, `<< /Type /Page /Resources << /Font << ${Array.from({ length: n }, (_, i) => `/F${i} ${10_000 + i} 0 R`).join(' ')} >> >> /Contents 4 0 R >>`));
    parts.push(streamAt(4, '', Buffer.from(Array.from({ length: n }, (_, i) => `BT /F${i} 1 Tf <0000> Tj ET`).join('\n'))));
    for (let i = 0; i < n; i++) parts.push(objAt(10_000 + i, `<< /Type /Font /Subtype /Type0 /ToUnicode ${20_000 + i} 0 R >>`), streamAt(20_000 + i, '/Filter /FlateDecode', cmap));
    const text = PdfDoc.parse(rawPdf(parts)).text(1 << 20);
    // expanded, 65,536 entries each, only the fonts read before the document's 1,000,000 entries were
    // spent mapped code 0 to 'A' (15 or 16 of them, ~250 ms of CPU)
    assert.equal(text, 'A'.repeat(n));
  });

  boundedIt(__filename, 'a CMap of 256 codespace ranges that match nothing, 64 MiB of string bytes shown with it: bounded lookups', 20, () => {
    const cm = '256 begincodespacerange ' + '<FFFFFFFF> <00000000> '.repeat(255) + '<0000> <0000> endcodespacerange 1 beginbfchar <0000> <0042> endbfchar';
    const shown = zlib.deflateSync(Buffer.from(`BT /F9 1 Tf (${'a'.repeat((16 << 20) - 64)}) Tj ET`));
    const parts: Array<string | Buffer> = [...textPage(3, 4, 'before')];
    parts.push(objAt(6, '<< /Type /Page /Resources 7 0 R /Contents 8 0 R >>'), objAt(7, '<< /Font << /F9 9 0 R >> /XObject << /X 11 0 R >> >>'));
    parts.push(streamAt(8, '', Buffer.from('/X Do /X Do /X Do /X Do BT /F9 1 Tf <0000> Tj ET')), objAt(9, '<< /Type /Font /Subtype /Type0 /ToUnicode 10 0 R >>'), streamAt(10, '', Buffer.from(cm)));
    parts.push(streamAt(11, '/Type /XObject /Subtype /Form /Resources 7 0 R /Filter /FlateDecode', shown));
    assert.equal(PdfDoc.parse(rawPdf(parts)).text(1 << 20), 'before\nB');
  });

  boundedIt(__filename, 'XMP metadata of 1 MiB of unclosed <br / <script / < tags (a few KB compressed): its text in linear time', 20, () => {
    const xmp = (junk: string) => streamAt(9, '/Type /Metadata /Subtype /XML /Filter /FlateDecode', zlib.deflateSync(Buffer.from(`<x:xmpmeta><dc:title>t</dc:title>${junk}`)));
    for (const junk of ['<br '.repeat(1 << 18), '<script '.repeat(1 << 17), '<'.repeat(1 << 20)]) {
      const text = read(rawPdf([...textPage(3, 4, 'page'), xmp(junk)])).text!;
      assert.equal(text, `page\nt${junk}`.slice(0, 1 << 20));
    }
  });

  boundedIt(__filename, '12,000 fonts sharing one 4,096-name /Differences array, then 20,000 Tf past the font cache: one table, bounded', 15, () => {
    const parts: Array<string | Buffer> = [objAt(1, '<< /Type /Catalog /Pages 2 0 R >>'), objAt(2, '<< /Type /Pages /Kids [3 0 R] >>')];
    parts.push(objAt(3, '<< /Type /Page /Resources << /XObject << /A 30 0 R /B 31 0 R /C 32 0 R >> /Font << /D 100 0 R >> >> /Contents 4 0 R >>'));
    parts.push(streamAt(4, '', Buffer.from('/A Do /B Do /C Do ' + '/D 1 Tf '.repeat(20_000) + 'BT /D 1 Tf <000102> Tj ET')));
    parts.push(objAt(7, '<< /Differences 8 0 R >>'), objAt(8, '[0 ' + '/a '.repeat(4096) + ']'));
    for (let f = 0; f < 3; f++) {
      parts.push(objAt(40 + f, '<< /Font << ' + Array.from({ length: 4000 }, (_, i) => `/F${i} ${1000 + f * 4000 + i} 0 R`).join(' ') + ' >> >>'));
      parts.push(streamAt(30 + f, `/Type /XObject /Subtype /Form /Resources ${40 + f} 0 R`, Buffer.from(Array.from({ length: 4000 }, (_, i) => `/F${i} 1 Tf`).join(' '))));
    }
    for (let i = 0; i <= 12_000; i++) parts.push(objAt(i < 12_000 ? 1000 + i : 100, '<< /Type /Font /Subtype /Type1 /Encoding 7 0 R >>'));
    assert.equal(PdfDoc.parse(rawPdf(parts)).text(1 << 20), 'aaa');
  });

  boundedIt(__filename, 'two tiny forms drawing each other 8 deep, 5,000 times: each form read once per depth, its text replayed for every draw', 30, () => {
    const parts: Array<string | Buffer> = [objAt(1, '<< /Type /Catalog /Pages 2 0 R >>'), objAt(2, '<< /Type /Pages /Kids [3 0 R] >>')];
    parts.push(objAt(3, '<< /Type /Page /Resources 5 0 R /Contents 4 0 R >>'), streamAt(4, '', Buffer.from('/X1 Do '.repeat(5000))));
    parts.push(objAt(5, '<< /XObject << /X1 6 0 R /X2 7 0 R >> >>'));
    parts.push(streamAt(6, '/Type /XObject /Subtype /Form /Resources 5 0 R', Buffer.from('BT (f) Tj ET /X2 Do /X1 Do /X2 Do')));
    parts.push(streamAt(7, '/Type /XObject /Subtype /Form /Resources 5 0 R', Buffer.from('/X1 Do /X1 Do')));
    const text = PdfDoc.parse(rawPdf(parts)).text(1 << 20);
    // every draw is there (read, it was ~120,000 draws within the old 128 MiB bound, 1.1 KiB each):
    // an 'f' and a line break each, to the whole 1 MiB of text
    assert.ok(/^f(\nf)+\n?$/.test(text), text.slice(0, 50));
    assert.equal(text.length, 1 << 20);
  });

  boundedIt(__filename, 'streams of Flate of Flate of 16 MiB of empty stored blocks: intermediate outputs count, the document is marked truncated', 60, () => {
    const blocks = Buffer.alloc((Math.floor((16 << 20) / 5) - 200) * 5);
    for (let o = 0; o < blocks.length; o += 5) blocks.writeUInt32BE(0x0000ffff, o + 1); // BFINAL 0, stored, LEN 0
    const twice = zlib.deflateSync(Buffer.concat([Buffer.from([0x78, 0x9c]), blocks, Buffer.from([0x03, 0x00])]));
    const parts: Array<string | Buffer> = [...textPage(3, 4, 'page text')];
    for (let i = 0; i < 100; i++) parts.push(streamAt(10 + i, '/Filter [/FlateDecode /FlateDecode]', twice));
    const doc = PdfDoc.parse(rawPdf(parts));
    assert.equal(doc.text(1 << 20), 'page text');
    assert.equal(doc.truncated, true);
  });

  boundedIt(__filename, '65,536 object headers before one unterminated 30 MiB hex string: parsed within bounded memory', 60, () => {
    const pdf = Buffer.concat([rawPdf(textPage(3, 4, 'page text')), Buffer.from(' 1 0 obj [<'.repeat(1 << 16)), Buffer.alloc(30 << 20, 0x61)]);
    assert.equal(PdfDoc.parse(pdf).text(1 << 20), 'page text');
    // each hex string was a number[] (~45 bytes per byte: 1.4 GB peak), now bytes like literal strings
    assert.ok(process.resourceUsage().maxRSS < 800 * 1024, `${process.resourceUsage().maxRSS} KB`);
  });

  boundedIt(__filename, 'operator-dense content (q/Q, unknown operators) named 1,000 times by one page: read once', 30, () => {
    const ops = zlib.deflateSync(Buffer.from('q '.repeat(40_000) + 'BT /F1 12 Tf (kept) Tj ET xyz Tq ' + ' Q'.repeat(40_000)));
    const parts: Array<string | Buffer> = [objAt(1, '<< /Type /Catalog /Pages 2 0 R >>'), objAt(2, '<< /Type /Pages /Kids [3 0 R] >>')];
    parts.push(objAt(3, `<< /Type /Page /Resources << /Font << /F1 5 0 R >> >> /Contents [${'4 0 R '.repeat(1000)}] >>`), streamAt(4, '/Filter /FlateDecode', ops), objAt(5, courier));
    // 1,000 x 160 KB was over the 128 MiB bound (nothing read) and 500 times read 500 times; a stream
    // named again in one /Contents is not read again
    assert.equal(PdfDoc.parse(rawPdf(parts)).text(1 << 20), 'kept');
    const half = rawPdf(parts).toString('latin1').replace('4 0 R '.repeat(1000), '4 0 R '.repeat(500));
    assert.equal(PdfDoc.parse(Buffer.from(half, 'latin1')).text(1 << 20), 'kept');
  });

  boundedIt(__filename, 'inline images of EIEIEI… data (one candidate end every 2 bytes) in 500 streams of one page: the whitespace-delimited EI is found, up to the content bound', 30, () => {
    const img = (k: number) => zlib.deflateSync(Buffer.from(`BT /F1 12 Tf (a) Tj ET BI /W ${k} ID ${'EI'.repeat(64 << 10)} EI BT /F1 12 Tf 0 -20 Td (b) Tj ET\n`));
    const parts: Array<string | Buffer> = [objAt(1, '<< /Type /Catalog /Pages 2 0 R >>'), objAt(2, '<< /Type /Pages /Kids [3 0 R] >>'), objAt(5, courier)];
    parts.push(objAt(3, `<< /Type /Page /Resources << /Font << /F1 5 0 R >> >> /Contents [${Array.from({ length: 500 }, (_, k) => `${10 + k} 0 R`).join(' ')}] >>`));
    for (let k = 0; k < 500; k++) parts.push(streamAt(10 + k, '/Filter /FlateDecode', img(k)));
    const pdf = rawPdf(parts);
    const doc = PdfDoc.parse(pdf);
    const text = doc.text(1 << 20);
    // 128 KB a stream: the streams within the file's content bound are read, the last one cut short
    const within = Math.floor(scaledBound(PDF_LIMITS.content, pdf.length) / (128 << 10));
    assert.match(text, /^a\nb(\na\nb)*(\na)?$/);
    const n = text.split('b').length - 1;
    assert.ok(n >= within - 1 && n <= within && n < 500, `${n} read, ${within} within the bound`);
    assert.equal(doc.truncated, true);
  });
});

// The content bound (PDF_LIMITS.content, scaled by the file's size): a small file used to buy
// 128 MiB of interpretation (seconds of CPU on the analysis thread) by naming one stream again and
// again or with a Flate bomb of content; each runs in a child process with a deadline.
describe('files: PDF content read once, bounded by the size of the file', function () {
  this.timeout(120000);
  const catalog = [objAt(1, '<< /Type /Catalog /Pages 2 0 R >>'), objAt(2, '<< /Type /Pages /Kids [3 0 R] >>'), objAt(5, courier)];
  const fill = (unit: string, bytes: number) => unit.repeat(Math.floor(bytes / unit.length));

  boundedIt(__filename, 'a 7 KB PDF naming one 120 KB stream 1,000 times in /Contents, for 8 kinds of content: read once each', 30, () => {
    // these took 2.5 to 9.6 s of CPU each (the stream read 1,000 times, to the 128 MiB bound)
    for (const unit of ['/a ', '<41> ', '<< /a 1 >> ', '() Tj ', '0 0 Td ', '[1 2 3 4] TJ ', '/F1 1 Tf ', '1 0 0 1 0 0 Tm ']) {
      const content = zlib.deflateSync(Buffer.from(`BT /F1 12 Tf (kept) Tj ET ${fill(unit, 120 << 10)}`));
      const pdf = rawPdf([...catalog, objAt(3, `<< /Type /Page /Resources << /Font << /F1 5 0 R >> >> /Contents [${'4 0 R '.repeat(1000)}] >>`), streamAt(4, '/Filter /FlateDecode', content)]);
      assert.ok(pdf.length < 10_000, `${unit}: ${pdf.length} bytes`);
      assert.equal(PdfDoc.parse(pdf).text(1 << 20), 'kept', unit);
    }
  });

  boundedIt(__filename, 'Flate bombs of content (4 pages of 16 MiB names, shown strings or moves) in files under 140 KB: read up to a bound of 4 MiB plus 16 bytes a byte of the file', 30, () => {
    // read whole (64 MiB), these took 1.5 to 7.9 s of CPU each
    for (const unit of ['/a ', '(\x01) Tj ', '0 -1 Td ']) {
      const parts: Array<string | Buffer> = [objAt(1, '<< /Type /Catalog /Pages 2 0 R >>'), objAt(2, '<< /Type /Pages /Resources << /Font << /F1 5 0 R >> >> /Kids [10 0 R 11 0 R 12 0 R 13 0 R] >>'), objAt(5, courier)];
      for (let i = 0; i < 4; i++) {
        const body = `BT /F1 12 Tf (page ${i}) Tj ET BT ${fill(unit, (16 << 20) - 100)} ET`;
        parts.push(objAt(10 + i, `<< /Type /Page /Parent 2 0 R /Contents ${20 + i} 0 R >>`), streamAt(20 + i, '/Filter /FlateDecode', zlib.deflateSync(Buffer.from(body), { level: 9 })));
      }
      const pdf = rawPdf(parts);
      assert.ok(pdf.length < 140_000, `${unit}: ${pdf.length} bytes`);
      const doc = PdfDoc.parse(pdf);
      const text = doc.text(1 << 20);
      assert.ok(text.startsWith('page 0'), text.slice(0, 20));
      assert.ok(!text.includes('page 1'), 'the second page is past the bound');
      // the shown strings (an \x01 each, nothing in WinAnsi) and moves make no text
      assert.equal(text, 'page 0');
      assert.equal(doc.truncated, true);
    }
  });

  boundedIt(__filename, '20,000 pages sharing one content stream that draws one letterhead form: read once, every page\'s text kept', 30, () => {
    // each page counted 10 KB toward the 128 MiB bound: the pages after ~13,000 had no text
    const n = 20_000;
    const parts: Array<string | Buffer> = [objAt(1, '<< /Type /Catalog /Pages 2 0 R >>'), objAt(5, courier)];
    parts.push(objAt(2, `<< /Type /Pages /Resources << /Font << /F1 5 0 R >> /XObject << /L 6 0 R >> >> /Kids [${Array.from({ length: n }, (_, i) => `${100 + i} 0 R`).join(' ')}] >>`));
    parts.push(streamAt(4, '/Filter /FlateDecode', zlib.deflateSync(Buffer.from(`${fill('q Q ', 6 << 10)} /L Do BT /F1 12 Tf 72 700 Td (page) Tj ET`))));
    parts.push(streamAt(6, '/Type /XObject /Subtype /Form /Filter /FlateDecode', zlib.deflateSync(Buffer.from(`${fill('q Q ', 3 << 10)} BT /F1 12 Tf 72 760 Td (Letterhead) Tj ET`))));
    for (let i = 0; i < n; i++) parts.push(objAt(100 + i, '<< /Type /Page /Parent 2 0 R /Contents 4 0 R >>'));
    const doc = PdfDoc.parse(rawPdf(parts));
    assert.equal(doc.text(1 << 20), Array(n).fill('Letterhead\npage').join('\n'));
    assert.equal(doc.truncated, false);
  });
});

// Decoding, XMP metadata, object streams and CMaps: what a few KB could buy before (0.3 to 1.2 s of
// CPU each) is bounded by the size of the file too (PDF_LIMITS.decodeWork, metadata, cmapEntries).
describe('files: PDF decoding, metadata, object streams and CMaps bounded by the size of the file', function () {
  this.timeout(120000);

  boundedIt(__filename, 'a 4 KB file of 8 Flate chains 4 deep, each making 16 MiB of empty stored blocks on the way: decoding stops at 16 MiB plus 32 bytes a byte', 30, () => {
    const blocks = Buffer.alloc((Math.floor((16 << 20) / 5) - 200) * 5);
    for (let o = 0; o < blocks.length; o += 5) blocks.writeUInt32BE(0x0000ffff, o + 1); // BFINAL 0, stored, LEN 0
    const chain = zlib.deflateSync(zlib.deflateSync(zlib.deflateSync(Buffer.concat([Buffer.from([0x78, 0x9c]), blocks, Buffer.from([0x03, 0x00])]), { level: 9 })));
    const parts: Array<string | Buffer> = [...textPage(3, 4, 'page text')];
    for (let i = 0; i < 8; i++) parts.push(streamAt(10 + i, '/Filter [/FlateDecode /FlateDecode /FlateDecode /FlateDecode]', chain));
    const pdf = rawPdf(parts);
    assert.ok(pdf.length < 8000, String(pdf.length));
    const doc = PdfDoc.parse(pdf);
    assert.equal(doc.text(1 << 20), 'page text');
    // 128 MiB of decoding was within the old 256 MiB bound
    assert.equal(doc.truncated, true);
    for (let i = 1; i < 8; i++) assert.equal(doc.streamData(10 + i), undefined);
  });

  boundedIt(__filename, '64 XMP streams of 1 MiB of tags in a 74 KB file: at most 1 MiB plus 4 bytes a byte made text', 30, () => {
    const parts: Array<string | Buffer> = [...textPage(3, 4, 'page text')];
    for (let i = 0; i < 64; i++) parts.push(streamAt(100 + i, '/Type /Metadata /Subtype /XML /Filter /FlateDecode', zlib.deflateSync(Buffer.from('<a>'.repeat((1 << 20) / 3 + i)), { level: 9 })));
    const pdf = rawPdf(parts);
    let fed = 0;
    const doc = PdfDoc.parse(pdf);
    const text = doc.text(1 << 20, (x) => {
      fed += x.length;
      return x.replace(/<[^>]*>/g, '');
    });
    assert.match(text, /^page text\n?<?$/); // the last stream read is cut in a tag
    // each stream was read up to 4 MiB: 64 MiB in all, 1.2 s of CPU in xmlText
    assert.ok(fed > 0 && fed <= scaledBound(PDF_LIMITS.metadata, pdf.length), `${fed} of ${pdf.length}`);
    assert.equal(doc.truncated, true);
  });

  boundedIt(__filename, '2 object streams of 2,000 members, each a byte further into one unterminated 256 KiB string: each member parsed up to the next', 30, () => {
    const hdr = Array.from({ length: 2000 }, (_, i) => `${50 + i} ${i}`).join(' ') + ' ';
    const data = Buffer.concat([Buffer.from(hdr), Buffer.from('('), Buffer.alloc(256 << 10, 0x61)]);
    const parts: Array<string | Buffer> = [...textPage(3, 4, 'page text')];
    for (let k = 0; k < 2; k++) parts.push(streamAt(9 + k, `/Type /ObjStm /N 2000 /First ${hdr.length} /Filter /FlateDecode`, zlib.deflateSync(Buffer.concat([data, Buffer.from(' ' + k)]))));
    const doc = PdfDoc.parse(rawPdf(parts));
    assert.equal(doc.text(1 << 20), 'page text');
    // each member was parsed to the end of the string (2,000 x 256 KiB), cut at 4 times the stream's size
    assert.equal(doc.truncated, false);
  });

  boundedIt(__filename, '16 fonts, each with a CMap of 400 ranges of 256 codes, in a 30 KB file: CMap entries bounded at 32 Ki plus 1 a byte of the file for the document', 30, () => {
    const cmap = '1 begincodespacerange <0000> <FFFF> endcodespacerange 400 beginbfrange ' + Array.from({ length: 400 }, (_, i) => `<${(i * 256).toString(16).padStart(4, '0')}> <${(i * 256 + 255).toString(16).padStart(4, '0')}> <0041>`).join(' ') + ' endbfrange';
    const n = 16;
    const parts: Array<string | Buffer> = [objAt(1, '<< /Type /Catalog /Pages 2 0 R >>'), objAt(2, '<< /Type /Pages /Kids [3 0 R] >>')];
    parts.push(objAt(3, `<< /Type /Page /Resources << /Font << ${Array.from({ length: n }, (_, i) => `/F${i} ${100 + i} 0 R`).join(' ')} >> >> /Contents 4 0 R >>`));
    parts.push(streamAt(4, '', Buffer.from(Array.from({ length: n }, (_, i) => `BT /F${i} 1 Tf <0000> Tj ET`).join('\n'))));
    for (let i = 0; i < n; i++) parts.push(objAt(100 + i, `<< /Type /Font /Subtype /Type0 /ToUnicode ${200 + i} 0 R >>`), streamAt(200 + i, '/Filter /FlateDecode', zlib.deflateSync(Buffer.from(cmap + ' '.repeat(i)))));
    const pdf = rawPdf(parts);
    assert.ok(pdf.length < 40_000, String(pdf.length));
    // each CMap is 100,000 entries (its own bound); the fonts read while the document's bound lasts map code 0
    const mapped = Math.ceil(scaledBound(PDF_LIMITS.cmapEntries, pdf.length) / PDF_LIMITS.maxCMapEntries);
    assert.ok(mapped < 10, String(mapped)); // 1,000,000 in all were 10 fonts, ~300 ms of CPU
    assert.equal(PdfDoc.parse(pdf).text(1 << 20), 'A'.repeat(mapped));
  });
});

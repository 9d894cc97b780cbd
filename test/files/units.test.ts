// Unit tests of the file pieces: name sanitizer, magic-byte types, zip/OLE inspection, hash lists,
// the files: config, the clamd INSTREAM client, the engine's bounds on concurrent carves, quarantine.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { sanitizeFileName } from '../../signatures/carve';
import { fileTypeOf } from '../../signatures/fileType';
import { Engine } from '../../signatures/engine';
import { loadRegistry } from '../../signatures/registry';
import type { SignatureModule } from '../../signatures/types';
import { bufferSource, inspect, textOf, xmlText } from '../../analyzer/files/inspect';
import { HashList } from '../../analyzer/files/hashlist';
import { parseFilesConfig, parseSize } from '../../analyzer/files/config';
import { clamdScan, parseClamdReply } from '../../analyzer/files/clamav';
import { Quarantine, listQuarantine, exportQuarantined } from '../../analyzer/files/quarantine';
import { nameMismatch } from '../../analyzer/files/types';
import { FileService, defaultFilesConfig } from '../../analyzer/files';
import { defaultPolicy, parsePolicy } from '../../analyzer/policy';
import type { AlertEvent, FileTransferEvent, ShadowEvent } from '../../common/events';
import { makeZip, fakePe } from './dcc';
import { boundedIt } from '../helpers/bounded';
import { fuzzCases, fuzzSeconds, fuzzSeed } from '../helpers/fuzz';
import { rng } from '../../common/rng';

describe('files: file names from the wire', () => {
  it('no path, no control or formatting characters, bounded, extension kept', () => {
    assert.equal(sanitizeFileName('../../etc/passwd'), '.._.._etc_passwd');
    assert.equal(sanitizeFileName('/etc/shadow'), '_etc_shadow');
    assert.equal(sanitizeFileName('..\\..\\win\\evil.dll'), '.._.._win_evil.dll');
    assert.equal(sanitizeFileName('a\u0000b\u0007c\u001b[0m.txt'), 'abc[0m.txt');
    assert.equal(sanitizeFileName('photo\u202Egpj.exe'), 'photogpj.exe');
    assert.equal(sanitizeFileName('\uff0e\uff0e\uff0fetc\uff0fpasswd'), '.._etc_passwd');
    assert.equal(sanitizeFileName('x\u2215y\u2044z'), 'x_y_z');
    assert.equal(sanitizeFileName('zero\u200bwidth'), 'zerowidth');
    assert.equal(sanitizeFileName('..'), '__');
    assert.equal(sanitizeFileName(''), '(unnamed)');
    assert.equal(sanitizeFileName('file.txt:evil.exe'), 'file.txt_evil.exe');
    const long = sanitizeFileName('a'.repeat(100_000) + '.pdf');
    assert.equal(long.length, 255);
    assert.ok(long.endsWith('….pdf'));
  });

  it('a long name is never cut inside an emoji (no lone surrogate before the …); names that fit are unchanged', () => {
    const lone = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
    // the cut for '….pdf' falls at 250: the emoji is units 249-250, so it is left out
    assert.equal(sanitizeFileName('a'.repeat(249) + '😀' + 'b'.repeat(20) + '.pdf'), 'a'.repeat(249) + '….pdf');
    // no extension: cut at 254, units 253-254
    assert.equal(sanitizeFileName('a'.repeat(253) + '😀b'), 'a'.repeat(253) + '…');
    // one unit earlier the emoji fits whole
    assert.equal(sanitizeFileName('a'.repeat(248) + '😀' + 'b'.repeat(20) + '.pdf'), 'a'.repeat(248) + '😀….pdf');
    const fits = 'a'.repeat(253) + '😀';
    assert.equal(sanitizeFileName(fits), fits);
    // names over 4,096 units are first cut to their two ends; neither end may hold half an emoji, which
    // stays when the rest is control characters
    const nul = '\u0000';
    // (the join is marked '…': a value cut there is masked whole by the DLP)
    assert.equal(sanitizeFileName(nul.repeat(2047) + '😀' + nul.repeat(3000) + 'b.txt'), '…b.txt');
    assert.equal(sanitizeFileName(nul.repeat(3000) + '😀' + nul.repeat(2043) + '.txt'), '….txt');
    for (let k = 240; k < 260; k++) {
      const name = sanitizeFileName('a'.repeat(k) + '😀'.repeat(20) + '.docx');
      assert.ok(name.length <= 255 && name.endsWith('….docx') && !lone.test(name), `${k}: ${JSON.stringify(name)}`);
    }
  });
});

describe('files: true type from magic bytes', () => {
  const pad = (b: Buffer, n = 600) => Buffer.concat([b, Buffer.alloc(Math.max(0, n - b.length))]);
  it('executables, installers, archives, disk images and scripts', () => {
    assert.equal(fileTypeOf(fakePe()), 'pe');
    assert.equal(fileTypeOf(pad(Buffer.from('7f454c46020101', 'hex'))), 'elf');
    assert.equal(fileTypeOf(pad(Buffer.from('cffaedfe07000001', 'hex'))), 'macho');
    assert.equal(fileTypeOf(pad(Buffer.from('4d534346000000001234', 'hex'))), 'cab');
    assert.equal(fileTypeOf(pad(Buffer.from('4c0000000114020000000000c000000000000046', 'hex'))), 'lnk');
    const iso = Buffer.alloc(40000);
    iso.write('\x01CD001', 32768, 'latin1');
    assert.equal(fileTypeOf(iso), 'iso');
    assert.equal(fileTypeOf(Buffer.from('#!/bin/sh\nrm -rf /\n')), 'script');
    assert.equal(fileTypeOf(Buffer.from('@echo off\r\ndel *.*\r\n')), 'script');
    assert.equal(fileTypeOf(Buffer.from('<html><head><hta:application id="x"/></head></html>')), 'hta');
    assert.equal(fileTypeOf(Buffer.from('<!DOCTYPE html><html></html>')), 'html');
    assert.equal(fileTypeOf(Buffer.from('plain words\n')), 'text');
  });

  it('OLE: Windows Installer by its root CLSID, Word by its stream name', () => {
    const ole = Buffer.alloc(2048);
    Buffer.from('d0cf11e0a1b11ae1', 'hex').copy(ole);
    ole.writeUInt16LE(9, 0x1e); // 512-byte sectors
    ole.writeUInt32LE(1, 0x30); // directory at sector 1 → offset 1024
    const root = 1024;
    Buffer.from('Root Entry', 'utf16le').copy(ole, root);
    Buffer.from('84100c00000000000c000000000000046'.slice(0, 32), 'hex'); // (readability)
    Buffer.from('84100c0000000000c000000000000046', 'hex').copy(ole, root + 0x50);
    assert.equal(fileTypeOf(ole), 'msi');
    const doc = Buffer.alloc(2048);
    Buffer.from('d0cf11e0a1b11ae1', 'hex').copy(doc);
    doc.writeUInt16LE(9, 0x1e);
    doc.writeUInt32LE(1, 0x30);
    Buffer.from('WordDocument', 'utf16le').copy(doc, 1024 + 128);
    assert.equal(fileTypeOf(doc), 'doc');
    Buffer.from('_VBA_PROJECT', 'utf16le').copy(doc, 1024 + 256);
    assert.equal(inspect(bufferSource(doc), 'doc').info.macros, true);
  });

  it('zip kinds from member names; a name that merely appears in compressed bytes does not count', () => {
    assert.equal(fileTypeOf(makeZip([{ name: 'xl/workbook.xml', data: Buffer.from('<x/>') }])), 'xlsx');
    assert.equal(fileTypeOf(makeZip([{ name: 'AndroidManifest.xml', data: Buffer.from('x') }, { name: 'classes.dex', data: Buffer.from('dex\n') }])), 'apk');
    assert.equal(fileTypeOf(makeZip([{ name: 'notes.txt', data: Buffer.from('see word/ and xl/ folders') }])), 'zip');
  });

  it('name/type mismatch only for listed types', () => {
    assert.equal(nameMismatch('holiday.jpg', 'pe'), 'pe named .jpg');
    assert.equal(nameMismatch('setup.exe', 'pe'), undefined);
    assert.equal(nameMismatch('README', 'pe'), undefined);
    assert.equal(nameMismatch('data.bin', 'text'), undefined);
  });
});

describe('files: zip inspection and text for DLP', () => {
  it('members, encryption, macros, bounded names; text of a docx body with runs joined', () => {
    const z = makeZip([
      { name: '[Content_Types].xml', data: Buffer.from('<Types/>') },
      { name: 'word/document.xml', data: Buffer.from('<w:document><w:p><w:r><w:t>Card 4556 7375 </w:t></w:r><w:r><w:t>8689 9855</w:t></w:r></w:p><w:p><w:t>A &amp; B</w:t></w:p></w:document>') },
      { name: 'word/vbaProject.bin', data: Buffer.from('x') },
    ]);
    const ins = inspect(bufferSource(z), fileTypeOf(z));
    assert.equal(ins.type, 'docx');
    assert.equal(ins.info.members, 3);
    assert.equal(ins.info.macros, true);
    assert.equal(textOf(bufferSource(z), ins, 10000), 'Card 4556 7375 8689 9855\nA & B\n');
    const many = makeZip(Array.from({ length: 50 }, (_, i) => ({ name: `f${i}\u0007.txt`, data: Buffer.from('') })));
    const mi = inspect(bufferSource(many), 'zip');
    assert.equal(mi.info.members, 50);
    assert.equal(mi.info.member_names!.length, 20);
    assert.ok(mi.info.member_names!.every((n) => !n.includes('\u0007')));
  });

  it('a truncated zip (no central directory) falls back to the local headers; garbage does not throw', () => {
    const z = makeZip([{ name: 'a.txt', data: Buffer.from('hello') }, { name: 'b.txt', data: Buffer.from('world'), flags: 1 }]);
    const cut = z.subarray(0, z.length - 40);
    const ins = inspect(bufferSource(cut), 'zip');
    assert.deepEqual(ins.info.member_names, ['a.txt', 'b.txt']);
    assert.equal(ins.info.encrypted, true);
    for (let i = 0; i < 200; i++) {
      const g = Buffer.concat([Buffer.from('504b0304', 'hex'), crypto.randomBytes(200 + i)]);
      inspect(bufferSource(g), 'zip');
      const e = Buffer.concat([crypto.randomBytes(100), Buffer.from('504b0506', 'hex'), crypto.randomBytes(18)]);
      inspect(bufferSource(Buffer.concat([Buffer.from('504b0304', 'hex'), e])), 'zip');
    }
  });

  it('deflated members are read; a zip bomb member (200 MB of zeros in ~200 KB) is read only to the cap', () => {
    const z = makeZip([
      { name: 'word/document.xml', data: Buffer.from('<w:p><w:t>' + 'inflated text '.repeat(1000) + '</w:t></w:p>'), deflate: true },
      { name: 'word/header1.xml', data: Buffer.alloc(200 * 1024 * 1024, 0x20), deflate: true },
    ]);
    assert.ok(z.length < 1024 * 1024);
    const ins = inspect(bufferSource(z), fileTypeOf(z));
    assert.equal(ins.type, 'docx');
    const before = process.memoryUsage().arrayBuffers;
    const t = textOf(bufferSource(z), ins, 1 << 20)!;
    assert.ok(process.memoryUsage().arrayBuffers - before < 64 * 1024 * 1024);
    assert.ok(t.startsWith('inflated text inflated text'));
    assert.equal(t.trim().length, 'inflated text '.repeat(1000).trim().length);
  });

  // a member that inflates past the cap (4 x content_max_chars) was skipped whole: the card at the
  // start of a 1 MB document.xml (a long Word document, or padding) was never scanned
  it('a member over the inflate cap gives its first part: text at its start is read', () => {
    const doc = (filler: string) => Buffer.from('<w:document><w:p><w:t>card 4111 1111 1111 1111</w:t></w:p><w:p><w:t>' + filler + '</w:t></w:p></w:document>');
    const z = makeZip([{ name: 'word/document.xml', data: doc('lorem ipsum '.repeat(100000)), deflate: true }]);
    const ins = inspect(bufferSource(z), fileTypeOf(z));
    assert.equal(ins.type, 'docx');
    const t = textOf(bufferSource(z), ins, 65536)!;
    assert.ok(t.startsWith('card 4111 1111 1111 1111\nlorem ipsum lorem'), t.slice(0, 60));
    assert.equal(t.length, 65536);
    // more than 8 MiB compressed (random base64): the first 8 MiB are read
    const big = doc(crypto.randomBytes(9 * 1024 * 1024).toString('base64'));
    const z2 = makeZip([{ name: 'word/document.xml', data: big, deflate: true }]);
    assert.ok(z2.length > 8 * 1024 * 1024);
    const t2 = textOf(bufferSource(z2), inspect(bufferSource(z2), fileTypeOf(z2)), 4096)!;
    assert.ok(t2.startsWith('card 4111 1111 1111 1111\n'), String(t2).slice(0, 60));
    assert.equal(t2.length, 4096);
  });

  it('markup to text', () => {
    assert.equal(xmlText('<html><script>var a="4556737586899855"</script><p>x&#65;y</p></html>'), ' xAy\n');
  });
});

describe('files: hash lists and configuration', () => {
  let tmp: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-units-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('reads CSV, whitespace and ClamAV .hdb formats; names are safe tokens', () => {
    const a = 'a'.repeat(64), b = 'b'.repeat(32), c = 'c'.repeat(32);
    const f = path.join(tmp, 'list.txt');
    fs.writeFileSync(f, `# comment\n${a},Evil One\n${b}  Other;thing\n${c}:68:Eicar.hdb\nnot a hash line\n`);
    const h = HashList.load([f]);
    assert.equal(h.size, 3);
    assert.equal(h.match(a, 'x'), 'Evil');
    assert.equal(h.match('x', b), 'Other');
    assert.equal(h.match('x', c), 'Eicar.hdb');
    fs.writeFileSync(path.join(tmp, 'empty.csv'), 'nothing here\n');
    assert.throws(() => HashList.load([path.join(tmp, 'empty.csv')]), /holds no MD5 or SHA-256/);
    assert.throws(() => HashList.load([path.join(tmp, 'missing.csv')]), /cannot read hash list .*missing\.csv: no such file; fix the path in files\.hash_lists$/);
    assert.throws(() => HashList.load([tmp]), /cannot read hash list .*: is a directory; fix the path in files\.hash_lists$/);
  });

  it('files: config: defaults, sizes, relative paths, clear errors', () => {
    const c = parseFilesConfig({ spool: { max_file_bytes: '8MiB' }, clamav: { clamd: 'tcp://127.0.0.1:3310' }, quarantine: { dir: 'q', max_bytes: '1 GiB' }, hash_lists: 'intel.csv' }, '/etc/shadowim', 'x.yaml');
    assert.equal(c.spoolMaxFileBytes, 8 << 20);
    assert.deepEqual(c.clamav!.clamd, { host: '127.0.0.1', port: 3310 });
    assert.equal(c.quarantine!.dir, '/etc/shadowim/q');
    assert.equal(c.quarantine!.maxBytes, 1 << 30);
    assert.deepEqual(c.hashLists, ['/etc/shadowim/intel.csv']);
    assert.equal(parseFilesConfig({ clamav: { database: 'db' } }, '/x').clamav!.command, 'clamscan');
    assert.equal(parseSize('500kB'), 500_000);
    assert.throws(() => parseFilesConfig({ quarantine: { max_files: 3 } }, '/x', 'c.yaml'), /^Error: c\.yaml: files\.quarantine\.dir is required/);
    assert.throws(() => parseFilesConfig({ clamav: {} }, '/x'), /clamav needs clamd/);
    assert.throws(() => parseFilesConfig({ clamav: { clamd: 'http://x:1' } }, '/x'), /unix socket path or tcp:\/\/HOST:PORT/);
    assert.throws(() => parseFilesConfig({ spool: { max_file_bytes: -1 } }, '/x'), /spool\.max_file_bytes must be a whole number/);
    assert.throws(() => parseFilesConfig({ quarantin: {} }, '/x'), /files\.quarantin is not a setting/);
  });
});

describe('files: clamd INSTREAM client', () => {
  // No clamd can run here (Debian's clamav-daemon is not installed): a stand-in server speaks the
  // documented INSTREAM framing (zINSTREAM\0, 4-byte big-endian length + chunk, zero length ends).
  function fakeClamd(sock: string, answer: (data: Buffer) => string): Promise<net.Server> {
    return new Promise((resolve) => {
      const srv = net.createServer((c) => {
        let buf = Buffer.alloc(0);
        const chunks: Buffer[] = [];
        let cmd = false;
        c.on('data', (d) => {
          buf = Buffer.concat([buf, d]);
          if (!cmd) {
            const z = buf.indexOf(0);
            if (z < 0) return;
            assert.equal(buf.subarray(0, z).toString(), 'zINSTREAM');
            buf = buf.subarray(z + 1);
            cmd = true;
          }
          while (buf.length >= 4) {
            const n = buf.readUInt32BE(0);
            if (n === 0) {
              c.end(answer(Buffer.concat(chunks)) + '\0');
              return;
            }
            if (buf.length < 4 + n) return;
            chunks.push(buf.subarray(4, 4 + n));
            buf = buf.subarray(4 + n);
          }
        });
      });
      srv.listen(sock, () => resolve(srv));
    });
  }

  it('streams the whole file and reads FOUND / OK / ERROR', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-clamd-'));
    const sock = path.join(tmp, 'clamd.sock');
    const file = path.join(tmp, 'f.bin');
    const data = crypto.randomBytes(300_000);
    fs.writeFileSync(file, data);
    let seen = '';
    const srv = await fakeClamd(sock, (d) => {
      seen = crypto.createHash('sha256').update(d).digest('hex');
      return 'stream: Win.Test.EICAR_HDB-1 FOUND';
    });
    try {
      assert.deepEqual(await clamdScan({ path: sock }, file, 10000), { status: 'infected', name: 'Win.Test.EICAR_HDB-1' });
      assert.equal(seen, crypto.createHash('sha256').update(data).digest('hex'));
      assert.deepEqual(await clamdScan({ path: path.join(tmp, 'nope.sock') }, file, 10000), { status: 'error', why: 'clamd-enoent' });
    } finally {
      srv.close();
      fs.rmSync(tmp, { recursive: true, force: true });
    }
    assert.deepEqual(parseClamdReply('stream: OK\0'), { status: 'clean' });
    assert.deepEqual(parseClamdReply('INSTREAM size limit exceeded. ERROR\0'), { status: 'error', why: 'clamd-size-limit' });
    assert.deepEqual(parseClamdReply('stream: Evil;rm -rf FOUND'), { status: 'infected', name: 'Evil_rm_-rf' });
  });
});

describe('files: bounded carving in the engine', () => {
  // a stand-in decoder that opens a new transfer for every line and never ends one
  const flood: SignatureModule = {
    id: 'flood', protocols: ['flood'], transports: ['tcp'],
    detect: (i) => (i.data.toString('latin1').startsWith('FLOOD') ? { protocol: 'flood', evidence: { signature: 'flood', reason: 'test' } } : null),
    decoder: (ctx) => ({
      onData(dir, data, ts) {
        for (const line of data.toString('latin1').split('\n')) {
          if (!line) continue;
          ctx.openFile(ts, dir, { filename: line, from: 'a', to: 'b', size: 1e15 }).write(Buffer.from(line), ts);
        }
      },
    }),
  };

  it('at most maxCarvesPerFlow carves at once on a flow; the rest are counted and reported unscanned:too-many-transfers', () => {
    const reg = loadRegistry();
    const events: any[] = [];
    const engine = new Engine({ ...reg, modules: [{ module: flood, data: { id: 'flood' } as any, sources: [] }] }, { emit: (e) => events.push(e), maxCarvesPerFlow: 8, maxCarves: 100 });
    const h = engine.newFlow({ id: 'f1', transport: 'tcp', client: { ip: '10.0.0.1', port: 1 }, server: { ip: '10.0.0.2', port: 2 }, firstTs: 1, clientBy: 'syn' } as any)!;
    const lines = Array.from({ length: 2000 }, (_, i) => `../x${i}`).join('\n');
    h.onData(0, Buffer.from('FLOOD\n' + lines + '\n'), 2);
    assert.equal(engine.activeCarves, 2001);
    assert.equal(engine.stats.filesCarved, 8);
    assert.equal(engine.stats.filesNotCarved, 1993);
    h.onEnd({ packets: 1, bytes: 1, packetsC2S: 1, packetsS2C: 0, bytesC2S: 1, bytesS2C: 0, firstTs: 1, lastTs: 3, gapBytes: 0 }, 'capture-end');
    assert.equal(engine.activeCarves, 0);
    const data = events.filter((e) => e.type === 'file_transfer');
    assert.equal(data.length, 2001);
    assert.equal(data.filter((e) => e.sha256).length, 8);
    assert.equal(data.filter((e) => e.verdict === 'unscanned:too-many-transfers').length, 1993);
    assert.ok(data.every((e) => e.complete === false && !e.filename.includes('/')));
  });
});

describe('files: quarantine store', () => {
  it('bounded by bytes (oldest evicted), planted symlinks replaced not followed, export never overwrites silently', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-qs-'));
    try {
      const qd = path.join(tmp, 'q');
      const q = new Quarantine(qd, 25_000, 100);
      const put = (b: Buffer, i: number) => {
        const src = path.join(q.workDir(), `spool-${i}`);
        fs.writeFileSync(src, b);
        const sha = crypto.createHash('sha256').update(b).digest('hex');
        return { sha, ok: q.store(src, { type: 'file_transfer', ts: `2024-01-0${i + 1}T00:00:00.000Z`, protocol: 'irc', from: 'a', to: 'b', filename: `f${i}`, sha256: sha, md5: 'm', complete: true }, b.length) };
      };
      const bufs = [0, 1, 2].map(() => crypto.randomBytes(10_000));
      // a symlink planted where the first file's sidecar goes
      const victim = path.join(tmp, 'victim');
      fs.writeFileSync(victim, 'keep me');
      fs.symlinkSync(victim, path.join(qd, crypto.createHash('sha256').update(bufs[0]).digest('hex') + '.json'));
      const r = bufs.map(put);
      assert.ok(r.every((x) => x.ok));
      assert.equal(fs.readFileSync(victim, 'utf8'), 'keep me');
      const listed = listQuarantine(qd).map((e) => e.sha256);
      assert.equal(listed.length, 2);
      assert.ok(!listed.includes(r[0].sha));
      assert.equal(put(crypto.randomBytes(30_000), 3).ok, false, 'larger than the whole quarantine');
      const out = path.join(tmp, 'out.bin');
      fs.writeFileSync(out, 'x');
      assert.throws(() => exportQuarantined(qd, r[2].sha, out), /exists; add --force/);
      exportQuarantined(qd, r[2].sha, out, { force: true });
      assert.deepEqual(fs.readFileSync(out), bufs[2]);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});

/** one carved file through the file service (spooled, quarantined): the events it emits and the quarantine directory */
function serveFile(body: Buffer, filename: string, policyText?: string): { events: ShadowEvent[]; alerts: AlertEvent[]; ev: FileTransferEvent; qdir: string; cleanup: () => void } {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-fsvc-'));
  const qdir = path.join(tmp, 'q');
  const events: ShadowEvent[] = [];
  const policy = policyText ? parsePolicy(policyText, 'p.yaml') : defaultPolicy();
  const svc = new FileService({ policy, config: { ...defaultFilesConfig(), spoolDir: path.join(tmp, 'spool'), quarantine: { dir: qdir, maxBytes: 1 << 30, maxFiles: 100, keep: 'all' } }, emit: (e) => events.push(e) });
  const flow = {} as any;
  const spool = svc.spool({} as any, flow)!;
  spool.write(body);
  spool.close();
  const sha256 = crypto.createHash('sha256').update(body).digest('hex');
  const md5 = crypto.createHash('md5').update(body).digest('hex');
  const ev = { type: 'file_transfer', ts: '2024-01-15T14:30:02.000Z', protocol: 'irc', from: 'alice', to: 'bob', filename, size: body.length, observed_size: body.length, direction: 'outbound', stage: 'data', file_type: fileTypeOf(body), sha256, md5, complete: true } as any;
  svc.finish({ meta: {}, observedSize: body.length, gapBytes: 0, complete: true, sha256, md5, head: body.subarray(0, 4096), spool } as any, ev, flow);
  const alerts = events.filter((e): e is AlertEvent => e.type === 'alert');
  return { events, alerts, ev, qdir, cleanup: () => fs.rmSync(tmp, { recursive: true, force: true }) };
}

describe('files: DLP in the file service', () => {
  // a comma next to a digit was taken for a thousands separator: a CSV of customers (DCC) with two
  // cards and two SSNs raised no sensitive_data alert
  it('cards and SSNs in CSV fields are found', () => {
    const csv = 'name,card,exp,cvv,ssn,born\nJane Roe,4539185296307417,12/25,123,219-09-9998,1980-01-02\nJohn Doe,5412185296307416,01/27,456,536-22-5598,1975-03-04\n';
    const r = serveFile(Buffer.from(csv), 'customers.csv');
    try {
      // one alert per detector and card network
      assert.deepEqual(r.alerts.map((a) => [a.detector, a.match]), [['pan', '************7417'], ['us_ssn', '***-**-9998'], ['pan', '************7416']]);
      assert.match(r.alerts[1].summary, /\(2 in this file\)$/);
      assert.equal(r.ev.verdict, 'sensitive:pan');
    } finally {
      r.cleanup();
    }
  });

  // the file service built its alert summary and the quarantine entry from the raw file name: a DCC
  // file named after a card showed it on stdout, in the store's alerts, the SIEM output, the
  // quarantine's sidecar, 'files list --quarantine' and the dashboard's download header
  // file_info's member names and Office title/author went out as the sender wrote them
  it('zip member names and the document title and author are masked in file_info and the quarantine', () => {
    const core = '<cp:coreProperties><dc:title>card 4539 1852 9630 7417</dc:title><dc:creator>SSN 536-22-5598</dc:creator></cp:coreProperties>';
    const z = makeZip([
      { name: '[Content_Types].xml', data: Buffer.from('<Types/>') },
      { name: 'word/document.xml', data: Buffer.from('<w:document><w:p><w:t>hello</w:t></w:p></w:document>') },
      { name: 'docProps/core.xml', data: Buffer.from(core) },
      { name: 'payroll 219-09-9998.txt', data: Buffer.from('x') },
    ]);
    const r = serveFile(z, 'report.docx');
    try {
      const want = { members: 4, member_names: ['[Content_Types].xml', 'word/document.xml', 'docProps/core.xml', 'payroll ***-**-9998.txt'], title: 'card **** **** **** 7417', creator: 'SSN ***-**-5598' };
      const ev = r.events.find((e) => e.type === 'file_transfer') as FileTransferEvent;
      assert.deepEqual(ev.file_info, want);
      assert.deepEqual(listQuarantine(r.qdir)[0].file_info, want);
    } finally {
      r.cleanup();
    }
  });

  // user regexes read all of content_max_chars (1 MiB) while max_scan_bytes (64 KiB) bounds their cost
  // on a message: `x(?:.*y)?` took 16 s on 256 KiB of file text, and the sensor waited
  boundedIt(__filename, 'user regexes read file text in windows of max_scan_bytes: bounded like a message, matches anywhere found', 40, () => {
    const pol = "dlp:\n  regexes:\n    - { name: emp, pattern: 'EMP-[0-9]{6}' }\n    - { name: slow, pattern: 'x(?:.*y)?', redact: false }\n";
    const body = Buffer.from('EMP-000001\n' + 'x'.repeat(1000 * 1024) + '\nEMP-123456 at the end\n');
    const t0 = Date.now();
    const r = serveFile(body, 'big.txt', pol);
    try {
      const ms = Date.now() - t0;
      assert.deepEqual(r.alerts.map((a) => [a.detector, a.summary.match(/pattern '(\w+)'/)?.[1], a.match]), [['regex', 'emp', '***-**0001'], ['regex', 'slow', 'x']]);
      assert.match(r.alerts[0].summary, /\(2 in this file\)$/);
      assert.ok(ms < 20000, `${ms} ms`);
    } finally {
      r.cleanup();
    }
  });

  // the windows did not overlap: a match crossing a window's end was missed ('password=…;' at offset
  // 65530 of a CSV with no line end)
  it('a user regex match across the end of a file-text window is found whole', () => {
    const pol = "dlp:\n  regexes:\n    - { name: pw, pattern: 'password=[a-z0-9]+;' }\n";
    const mk = (at: number) => Buffer.from('a,'.repeat(at >> 1).slice(0, at) + 'password=hunter2secret;' + ',b'.repeat(5000));
    for (const at of [30000, 65530]) {
      const r = serveFile(mk(at), 'users.csv', pol);
      try {
        assert.deepEqual(r.alerts.map((a) => [a.detector, a.match]), [['regex', '********=*********cret;']], `at ${at}`);
      } finally {
        r.cleanup();
      }
    }
  });

  // member names and title/author are cut at 128 characters ('…'), a file name at 255: a card cut after
  // 12 digits was no card to the detectors and went out as '… 4539 1852 9630…'
  it('the digits at the cut of a member name, a title or a file name are masked whole', () => {
    const card = '4539 1852 9630 7417';
    const core = `<cp:coreProperties><dc:title>${'t'.repeat(112)} ${card}</dc:title><dc:creator>bob</dc:creator></cp:coreProperties>`;
    const z = makeZip([
      { name: '[Content_Types].xml', data: Buffer.from('<Types/>') },
      { name: 'word/document.xml', data: Buffer.from('<w:document><w:p><w:t>hello</w:t></w:p></w:document>') },
      { name: 'docProps/core.xml', data: Buffer.from(core) },
      { name: 'm'.repeat(112) + ' ' + card + '.txt', data: Buffer.from('x') },
    ]);
    const name = sanitizeFileName('n'.repeat(235) + ' ' + card + ' end.docx');
    assert.match(name, / 4539 1852 963….docx$/);
    const r = serveFile(z, name);
    try {
      const ev = r.events.find((e) => e.type === 'file_transfer') as FileTransferEvent;
      assert.equal(ev.file_info!.title, 't'.repeat(112) + ' **** **** ****…');
      assert.equal(ev.file_info!.member_names![3], 'm'.repeat(112) + ' **** **** ****…');
      const q = listQuarantine(r.qdir)[0];
      assert.equal(q.filename, name.replace(/[0-9]/g, '*'));
      assert.deepEqual(q.file_info, ev.file_info);
      // (the event's file name is the analyzer's to mask: test/analyzer/alerts.test.ts)
      assert.ok(!JSON.stringify([ev.file_info, r.alerts, q]).includes('4539'));
    } finally {
      r.cleanup();
    }
  });

  it('a card in the file name is masked in the content alert and the quarantine entry', () => {
    const r = serveFile(Buffer.from('pay with 4111 1111 1111 1111 today\n'), 'card 4539 1852 9630 7417.txt');
    try {
      assert.equal(r.alerts.length, 1);
      assert.match(r.alerts[0].summary, /in the content of irc file card \*\*\*\* \*\*\*\* \*\*\*\* 7417\.txt from alice to bob$/);
      const q = listQuarantine(r.qdir);
      assert.deepEqual([q[0].filename, q[0].sightings[0].filename], ['card **** **** **** 7417.txt', 'card **** **** **** 7417.txt']);
      const all = JSON.stringify(r.alerts) + fs.readdirSync(r.qdir).filter((f) => f.endsWith('.json')).map((f) => fs.readFileSync(path.join(r.qdir, f), 'utf8')).join('');
      assert.ok(!/4539 1852|1852 9630/.test(all), all.slice(0, 400));
    } finally {
      r.cleanup();
    }
  });
});

describe('files: seeded fuzz of the carve-side readers', () => {
  // what the engine and the file service run on every carved head and wire name: the magic-byte type
  // (zip member names, the OLE root entry), the zip central directory and members, DLP text
  boundedIt(__filename, 'mutated zips, OLE heads and random bytes: type, inspection, text and names never throw, stay bounded', fuzzSeconds(60), () => {
    const r = rng(fuzzSeed(0xf11e));
    const ole = Buffer.alloc(2048);
    Buffer.from('d0cf11e0a1b11ae1', 'hex').copy(ole);
    ole.writeUInt16LE(9, 0x1e);
    ole.writeUInt32LE(1, 0x30);
    Buffer.from('Root Entry', 'utf16le').copy(ole, 1024);
    Buffer.from('WordDocument', 'utf16le').copy(ole, 1152);
    const bases = [
      makeZip([
        { name: '[Content_Types].xml', data: Buffer.from('<Types/>') },
        { name: 'word/document.xml', data: Buffer.from('<w:document><w:p><w:r><w:t>Card 4556 7375 8689 9855 &amp; &#x41;</w:t></w:r></w:p></w:document>'), deflate: true },
        { name: 'docProps/core.xml', data: Buffer.from('<cp:coreProperties><dc:creator>me</dc:creator></cp:coreProperties>') },
      ]),
      makeZip([{ name: 'xl/sharedStrings.xml', data: Buffer.from('<sst><si><t>a</t></si></sst>'), deflate: true }, { name: 'b.txt', data: Buffer.from('x'), flags: 1 }]),
      makeZip([{ name: 'mimetype', data: Buffer.from('application/vnd.oasis.opendocument.text') }, { name: 'content.xml', data: Buffer.from('<text:p>odf</text:p>'), deflate: true }]),
      ole, fakePe(600), Buffer.from('%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF'),
      Buffer.from('{\\rtf1\\ansi\\ansicpg1252 hello \\u8364? world}'), Buffer.from('\xef\xbb\xbf<?xml version="1.0"?><svg/>'),
    ];
    const vals = [0, 1, 0xff, 0xffff, 0x7fffffff, 0xffffffff, 22, 46, 0x06054b50, 0x02014b50, 0x04034b50];
    const cases = fuzzCases(3000);
    let texts = 0;
    for (let i = 0; i < cases; i++) {
      let b: Buffer;
      if (r() < 0.15) b = Buffer.from(Array.from({ length: Math.floor(r() * 3000) }, () => Math.floor(r() * 256)));
      else {
        b = Buffer.from(bases[i % bases.length]);
        for (let k = 0, n = 1 + Math.floor(r() * 8); k < n && b.length; k++) {
          const at = Math.floor(r() * b.length);
          if (r() < 0.6) b[at] = Math.floor(r() * 256);
          else if (at + 4 <= b.length) b.writeUInt32LE(vals[Math.floor(r() * vals.length)] >>> 0, at);
        }
        if (r() < 0.2) b = b.subarray(0, Math.floor(r() * b.length));
      }
      const what = `case ${i}: ${b.toString('hex').slice(0, 400)}`;
      const type = fileTypeOf(b);
      assert.equal(typeof type, 'string', what);
      const ins = inspect(bufferSource(b), type);
      JSON.stringify(ins.info);
      const text = textOf(bufferSource(b), ins, 10_000);
      assert.ok(text === undefined || text.length <= 10_000, what);
      if (text) texts++;
      const name = sanitizeFileName(b.toString(r() < 0.5 ? 'utf8' : 'utf16le'));
      assert.ok(name.length > 0 && name.length <= 255 && !/[\/\\\u0000-\u001f]/.test(name), what);
    }
    assert.ok(texts > cases / 10, `the fuzz reached the text readers (${texts} of ${cases})`);
  });
});

// Files sent over IM, through the real command line: ClamAV (real clamscan with a local signature
// database), hash lists, policy file rules, DLP on file text, quarantine and `shadowim files`.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { shadowim } from '../helpers/run';
import { dccCapture, EICAR, fakePe, makeZip } from './dcc';

const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');
const hasClamscan = spawnSync('clamscan', ['--version']).status === 0;

describe('files: scanning and rules through the CLI', function () {
  this.timeout(180000);
  let tmp: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-files-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  function config(name: string, yaml: string): string {
    const f = path.join(tmp, name);
    fs.writeFileSync(f, yaml);
    return f;
  }

  it('ClamAV (clamscan + a local database built with sigtool): the EICAR file over IRC DCC is infected and raises a critical alert; a clean file does not', function () {
    if (!hasClamscan) this.skip();
    const db = path.join(tmp, 'clamdb');
    fs.mkdirSync(db);
    const eicarFile = path.join(tmp, 'eicar.com');
    fs.writeFileSync(eicarFile, EICAR);
    // the database is built by ClamAV's own tool from the file's bytes
    fs.writeFileSync(path.join(db, 'local.hdb'), execFileSync('sigtool', ['--md5', eicarFile]));
    const cfg = config('clam.yaml', `files:\n  clamav:\n    database: ${db}\n`);
    const clean = Buffer.from('minutes of the meeting, nothing to see here\n'.repeat(50));
    const cap = dccCapture(path.join(tmp, 'clam.pcap'), [
      { name: 'totally-safe.com', data: EICAR },
      { name: 'minutes.txt', data: clean },
    ]);
    const r = shadowim(['analyze', cap, '--format', 'jsonl'], { env: { SHADOWIM_CONFIG: cfg } });
    assert.equal(r.status, 0, r.stderr);
    const data = r.events.filter((e) => e.type === 'file_transfer' && e.stage === 'data');
    const bad = data.find((e) => e.filename === 'totally-safe.com');
    const good = data.find((e) => e.filename === 'minutes.txt');
    assert.ok(bad && good, JSON.stringify(data));
    // clamscan names the signature after the file sigtool read: eicar.com.UNOFFICIAL
    assert.equal(bad.verdict, 'infected:eicar.com.UNOFFICIAL');
    assert.equal(bad.sha256, sha(EICAR));
    assert.equal(good.verdict, 'clean');
    const alerts = r.events.filter((e) => e.type === 'alert' && e.kind === 'file_transfer');
    const malware = alerts.filter((a) => a.detector === 'malware');
    assert.equal(malware.length, 1, JSON.stringify(alerts));
    assert.equal(malware[0].severity, 'critical');
    assert.match(malware[0].summary, /totally-safe\.com.*infected:eicar\.com\.UNOFFICIAL/);
    assert.ok(!alerts.some((a) => a.detector && /minutes/.test(a.summary)), 'no finding for the clean file');
    // the closing stats event comes after every file verdict
    const stats = r.events.findIndex((e) => e.type === 'stats');
    const lastFile = r.events.map((e) => e.type).lastIndexOf('file_transfer');
    assert.ok(stats > lastFile, 'stats after the file events');
  });

  it('a missing ClamAV command is reported per file as unscanned, not a crash', () => {
    const cfg = config('noclam.yaml', 'files:\n  clamav:\n    command: /nonexistent/clamscan\n');
    const cap = dccCapture(path.join(tmp, 'noclam.pcap'), [{ name: 'a.txt', data: Buffer.from('hello\n') }]);
    const r = shadowim(['analyze', cap, '--format', 'jsonl'], { env: { SHADOWIM_CONFIG: cfg } });
    assert.equal(r.status, 0, r.stderr);
    const d = r.events.find((e) => e.type === 'file_transfer' && e.stage === 'data');
    assert.equal(d.verdict, 'unscanned:clamav-not-installed');
  });

  it('hash list (threat intelligence CSV): a listed SHA-256 or MD5 is infected:<name>', () => {
    const a = crypto.randomBytes(3000), b = crypto.randomBytes(2000), c = crypto.randomBytes(1000);
    const list = path.join(tmp, 'intel.csv');
    fs.writeFileSync(list, `# sha256 or md5, name\nsha256,name\n${sha(a)},Trojan.Test.A\n"Dropper.B";${crypto.createHash('md5').update(b).digest('hex')}\n`);
    const cfg = config('intel.yaml', `files:\n  hash_lists: [${list}]\n`);
    const cap = dccCapture(path.join(tmp, 'intel.pcap'), [{ name: 'a.bin', data: a }, { name: 'b.bin', data: b }, { name: 'c.bin', data: c }]);
    const r = shadowim(['analyze', cap, '--format', 'jsonl'], { env: { SHADOWIM_CONFIG: cfg } });
    assert.equal(r.status, 0, r.stderr);
    const v = Object.fromEntries(r.events.filter((e) => e.type === 'file_transfer' && e.stage === 'data').map((e) => [e.filename, e.verdict]));
    assert.deepEqual(v, { 'a.bin': 'infected:Trojan.Test.A', 'b.bin': 'infected:Dropper.B', 'c.bin': 'clean' });
  });

  it('a bad files: section in the config is one clear line', () => {
    const cfg = config('bad.yaml', 'files:\n  quarantine:\n    max_files: lots\n');
    const cap = dccCapture(path.join(tmp, 'bad.pcap'), [{ name: 'a.txt', data: Buffer.from('x') }]);
    const r = shadowim(['analyze', cap, '--format', 'jsonl'], { env: { SHADOWIM_CONFIG: cfg } });
    assert.equal(r.status, 2, 'a configuration mistake');
    assert.match(r.stderr, /^shadowim: .*bad\.yaml: files\.quarantine\.(dir is required|max_files must be a whole number)/);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  });

  it('type mismatch: a Windows executable named holiday.jpg is forbidden:type_mismatch with a high alert; an honest one is not', () => {
    const pe = fakePe();
    const cap = dccCapture(path.join(tmp, 'mismatch.pcap'), [{ name: 'holiday.jpg', data: pe }, { name: 'setup.exe', data: fakePe(2048) }]);
    const r = shadowim(['analyze', cap, '--format', 'jsonl']);
    assert.equal(r.status, 0, r.stderr);
    const d = r.events.filter((e) => e.type === 'file_transfer' && e.stage === 'data');
    const jpg = d.find((e) => e.filename === 'holiday.jpg');
    assert.equal(jpg.file_type, 'pe');
    assert.equal(jpg.verdict, 'forbidden:type_mismatch');
    assert.equal(jpg.file_info.name_mismatch, 'pe named .jpg');
    assert.equal(d.find((e) => e.filename === 'setup.exe').verdict, 'unscanned:no-scanner');
    const a = r.events.find((e) => e.type === 'alert' && e.kind === 'file_transfer' && e.detector === 'type_mismatch');
    assert.ok(a, 'type_mismatch alert');
    assert.equal(a.severity, 'high');
    assert.match(a.summary, /holiday\.jpg/);
  });

  it('policy file rules: block_types (from outside only), encrypted archives, macros, max_size', () => {
    const policy = path.join(tmp, 'policy.yaml');
    fs.writeFileSync(policy, 'files:\n  block_types: [executable]\n  from_outside_only: true\n  block_encrypted_archives: true\n  block_macros: true\n  max_size: 100000\n');
    const enc = makeZip([{ name: 'secret.txt', data: Buffer.from('xxxxxxxxxxxx'), flags: 1 }]);
    const macro = makeZip([
      { name: '[Content_Types].xml', data: Buffer.from('<Types/>') },
      { name: 'word/document.xml', data: Buffer.from('<w:document/>') },
      { name: 'word/vbaProject.bin', data: Buffer.from('vba') },
    ]);
    const cap = dccCapture(path.join(tmp, 'rules.pcap'), [
      { name: 'tool.exe', data: fakePe(), inbound: true },
      { name: 'mine.exe', data: fakePe() },
      { name: 'archive.zip', data: enc },
      { name: 'invoice.docm', data: macro },
      { name: 'big.bin', data: crypto.randomBytes(150000) },
    ]);
    const r = shadowim(['analyze', cap, '--format', 'jsonl', '--policy', policy]);
    assert.equal(r.status, 0, r.stderr);
    const d = r.events.filter((e) => e.type === 'file_transfer' && e.stage === 'data');
    const v = Object.fromEntries(d.map((e) => [e.filename, e.verdict]));
    assert.deepEqual(v, {
      'tool.exe': 'forbidden:block_types:pe',
      'mine.exe': 'unscanned:no-scanner', // outbound: from_outside_only
      'archive.zip': 'forbidden:encrypted_archive',
      'invoice.docm': 'forbidden:macros',
      'big.bin': 'forbidden:max_size',
    });
    const info = Object.fromEntries(d.map((e) => [e.filename, e.file_info]));
    assert.deepEqual(info['archive.zip'], { members: 1, member_names: ['secret.txt'], encrypted: true });
    assert.equal(info['invoice.docm'].macros, true);
    assert.equal(d.find((e) => e.filename === 'invoice.docm').file_type, 'docx');
    const forb = r.events.filter((e) => e.type === 'alert' && e.kind === 'file_transfer' && e.detector === 'forbidden');
    assert.equal(forb.length, 4, JSON.stringify(forb.map((a) => a.summary)));
  });

  it('DLP on file content: a card number in a text file and an SSN in a docx (python zipfile builds it) raise sensitive_data alerts, redacted', function () {
    const py = spawnSync('python3', ['--version']);
    if (py.status !== 0) this.skip();
    const pan = '4556 7375 8689 9855'; // Luhn-valid, not a well-known test number
    const text = Buffer.from(`order notes\ncustomer card: ${pan} exp 09/27\n`);
    const docx = path.join(tmp, 'hr.docx');
    execFileSync('python3', ['-c', `
import zipfile, sys
z = zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED)
z.writestr('[Content_Types].xml', '<Types/>')
z.writestr('docProps/core.xml', '<cp:coreProperties xmlns:dc="x"><dc:title>Payroll &amp; HR</dc:title><dc:creator>Pat Doe</dc:creator></cp:coreProperties>')
z.writestr('word/document.xml', '<w:document><w:body><w:p><w:r><w:t>Employee SSN: 536-</w:t></w:r><w:r><w:t>22-8765</w:t></w:r></w:p></w:body></w:document>')
z.close()`, docx]);
    const cap = dccCapture(path.join(tmp, 'dlp.pcap'), [{ name: 'orders.txt', data: text }, { name: 'hr.docx', data: fs.readFileSync(docx) }]);
    const r = shadowim(['analyze', cap, '--format', 'jsonl']);
    assert.equal(r.status, 0, r.stderr);
    const d = Object.fromEntries(r.events.filter((e) => e.type === 'file_transfer' && e.stage === 'data').map((e) => [e.filename, e]));
    assert.equal(d['orders.txt'].verdict, 'sensitive:pan');
    assert.equal(d['hr.docx'].verdict, 'sensitive:us_ssn');
    assert.equal(d['hr.docx'].file_type, 'docx');
    assert.equal(d['hr.docx'].file_info.title, 'Payroll & HR');
    assert.equal(d['hr.docx'].file_info.creator, 'Pat Doe');
    const sens = r.events.filter((e) => e.type === 'alert' && e.kind === 'sensitive_data');
    assert.deepEqual(sens.map((a) => a.detector).sort(), ['pan', 'us_ssn']);
    for (const a of sens) assert.match(a.summary, /in the content of irc file/);
    // the full values appear nowhere in the output
    assert.ok(!r.stdout.includes('4556737586899855') && !r.stdout.includes(pan) && !r.stdout.includes('536-22-8765'));
    assert.match(sens.find((a) => a.detector === 'pan').match, /9855$/);
  });
});

// Quarantine and `shadowim files`, and hostile transfers: hostile names, terabyte declared sizes,
// transfers that never end, thousands of tiny transfers, spool bounds. Nothing is ever written
// outside the quarantine directory (checked by listing the file system around it).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { shadowim } from '../helpers/run';
import { dccCapture, fakePe } from './dcc';

const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

/** every path under dir (relative), with its mode */
function walk(dir: string, base = dir): Map<string, number> {
  const out = new Map<string, number>();
  for (const n of fs.readdirSync(dir)) {
    const p = path.join(dir, n);
    const st = fs.lstatSync(p);
    out.set(path.relative(base, p), st.mode & 0o7777);
    if (st.isDirectory()) for (const [k, v] of walk(p, base)) out.set(k, v);
  }
  return out;
}

describe('files: quarantine and shadowim files', function () {
  this.timeout(180000);
  let tmp: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-q-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('analyze --out DIR keeps each file once under its sha256 (0400, no execute bit) with a 0600 sidecar in a 0700 directory; files list/get read it back', () => {
    const a = Buffer.from('quarterly numbers\n'.repeat(200));
    const pe = fakePe(5000);
    const cap = dccCapture(path.join(tmp, 'in', 'q.pcap'), [
      { name: 'report.txt', data: a },
      { name: 'again.txt', data: a }, // the same bytes under another name: one file, two sightings
      { name: 'photo.jpg', data: pe },
    ]);
    const out = path.join(tmp, 'out');
    const r = shadowim(['analyze', cap, '--format', 'jsonl', '--out', out]);
    assert.equal(r.status, 0, r.stderr);
    const data = r.events.filter((e) => e.type === 'file_transfer' && e.stage === 'data');
    assert.equal(data.length, 3);
    for (const d of data) assert.equal(d.quarantined, true, d.filename);
    const q = path.join(out, 'quarantine');
    assert.equal(fs.statSync(q).mode & 0o777, 0o700);
    const files = [...walk(q)].filter(([n]) => !n.startsWith('.work'));
    assert.deepEqual(files.map(([n]) => n).sort(), [sha(a), `${sha(a)}.json`, sha(pe), `${sha(pe)}.json`].sort());
    for (const [n, mode] of files) assert.equal(mode, n.endsWith('.json') ? 0o600 : 0o400, n);
    assert.deepEqual(fs.readFileSync(path.join(q, sha(pe))), pe);
    const side = JSON.parse(fs.readFileSync(path.join(q, `${sha(a)}.json`), 'utf8'));
    assert.equal(side.filename, 'report.txt');
    assert.deepEqual(side.sightings.map((s: any) => s.filename), ['report.txt', 'again.txt']);
    assert.equal(side.sightings[0].from, 'alice');
    assert.equal(side.sightings[0].to, 'bob');
    assert.ok(side.sightings[0].flow_id);
    assert.equal(side.size, a.length);

    // files list
    const l = shadowim(['files', 'list', '--quarantine', q, '--format', 'jsonl']);
    assert.equal(l.status, 0, l.stderr);
    assert.deepEqual(l.events.map((e) => e.sha256).sort(), [sha(a), sha(pe)].sort());
    const pel = l.events.find((e) => e.sha256 === sha(pe));
    assert.equal(pel.verdict, 'forbidden:type_mismatch');
    assert.equal(pel.file_type, 'pe');
    const t = shadowim(['files', 'list', '--quarantine', q]);
    assert.equal(t.stdout.trim().split('\n').length, 2);
    assert.match(t.stdout, /photo\.jpg/);

    // files get
    const dest = path.join(tmp, 'got.bin');
    const g = shadowim(['files', 'get', sha(pe), '--quarantine', q, '--out', dest]);
    assert.equal(g.status, 0, g.stderr);
    assert.deepEqual(fs.readFileSync(dest), pe);
    assert.equal(fs.statSync(dest).mode & 0o111, 0, 'no execute bit');
    const again = shadowim(['files', 'get', sha(pe), '--quarantine', q, '--out', dest]);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /exists; add --force/);
    fs.writeFileSync(dest, 'old');
    assert.equal(shadowim(['files', 'get', sha(pe), '--quarantine', q, '--out', dest, '--force']).status, 0);
    assert.deepEqual(fs.readFileSync(dest), pe);
    // to standard output (not a terminal here)
    const so = shadowim(['files', 'get', sha(a).toUpperCase(), '--quarantine', q]);
    assert.equal(so.status, 0, so.stderr);
    assert.equal(so.stdout, a.toString());
    // hostile or unknown ids
    for (const bad of ['../../etc/passwd', `${sha(a)}/../x`, 'abc']) {
      const b = shadowim(['files', 'get', bad, '--quarantine', q, '--out', path.join(tmp, 'nope')]);
      assert.equal(b.status, 1, bad);
      assert.match(b.stderr, /is not a SHA-256/);
      assert.equal(b.stderr.trim().split('\n').length, 1);
    }
    const missing = shadowim(['files', 'get', '0'.repeat(64), '--quarantine', q, '--out', path.join(tmp, 'nope')]);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /is not in the quarantine/);
    assert.ok(!fs.existsSync(path.join(tmp, 'nope')));
    // an --out that cannot be written: one line in words, no temporary file left (was a raw ENOENT copyfile line)
    const inWay = path.join(tmp, 'in-the-way');
    fs.writeFileSync(inWay, 'x');
    for (const [out, why] of [[path.join(tmp, 'no-dir', 'x.bin'), 'no such directory'], [path.join(inWay, 'x.bin'), 'not a directory'], ['/proc/shadowim-x.bin', 'files cannot be created there']]) {
      const w = shadowim(['files', 'get', sha(pe), '--quarantine', q, '--out', out]);
      assert.equal(w.status, 1, out);
      assert.equal(w.stderr, `shadowim: cannot write ${out}: ${why}; give --out a file in a writable directory\n`);
    }
    assert.deepEqual(fs.readdirSync(tmp).filter((n) => n.endsWith('.part')), []);
    // a quarantine that is a file
    const notDir = shadowim(['files', 'list', '--quarantine', inWay]);
    assert.equal(notDir.status, 1);
    assert.equal(notDir.stderr, `shadowim: cannot read quarantine directory ${inWay}: not a directory\n`);
    // no quarantine given
    const none = shadowim(['files', 'list'], { env: { SHADOWIM_CONFIG: '' } });
    assert.equal(none.status, 2);
    assert.match(none.stderr, /no quarantine directory/);
  });

  it('a quarantine directory that cannot be made is one line naming where it came from, before any event', () => {
    const cap = dccCapture(path.join(tmp, 'in', 'qbad.pcap'), [{ name: 'a.txt', data: Buffer.from('hello\n') }]);
    const cfg = path.join(tmp, 'qbad.yaml');
    fs.writeFileSync(cfg, 'files:\n  quarantine:\n    dir: /proc/shadowim-q\n');
    const r = shadowim(['analyze', cap, '--format', 'jsonl'], { env: { SHADOWIM_CONFIG: cfg } });
    assert.equal(r.status, 2, 'a configuration mistake');
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, 'shadowim: cannot use quarantine directory /proc/shadowim-q: files cannot be created there; fix files.quarantine.dir in the config\n');
    // analyze --out DIR with a file where DIR/quarantine goes
    const out = path.join(tmp, 'out-file-q');
    fs.mkdirSync(out);
    fs.writeFileSync(path.join(out, 'quarantine'), 'x');
    const o = shadowim(['analyze', cap, '--format', 'jsonl', '--out', out], { env: { SHADOWIM_CONFIG: '' } });
    assert.equal(o.status, 1);
    assert.equal(o.stderr, `shadowim: cannot use quarantine directory ${path.join(out, 'quarantine')}: not a directory; give --out a directory in which quarantine/ can be made\n`);
  });

  it('quarantine bounds: max_files evicts the oldest; keep: flagged keeps only flagged files', () => {
    const q = path.join(tmp, 'bounded');
    const cfg = path.join(tmp, 'bounded.yaml');
    fs.writeFileSync(cfg, `files:\n  quarantine:\n    dir: ${q}\n    max_files: 2\n    max_bytes: 1MiB\n`);
    const bufs = [1, 2, 3].map((i) => Buffer.from(`file number ${i}\n`.repeat(100)));
    const cap = dccCapture(path.join(tmp, 'b.pcap'), bufs.map((b, i) => ({ name: `f${i}.txt`, data: b })));
    const r = shadowim(['analyze', cap, '--format', 'jsonl'], { env: { SHADOWIM_CONFIG: cfg } });
    assert.equal(r.status, 0, r.stderr);
    const kept = fs.readdirSync(q).filter((n) => /^[0-9a-f]{64}$/.test(n)).sort();
    assert.equal(kept.length, 2);
    assert.ok(!kept.includes(sha(bufs[0])), 'the oldest was evicted');

    const q2 = path.join(tmp, 'flagged');
    const cfg2 = path.join(tmp, 'flagged.yaml');
    fs.writeFileSync(cfg2, `files:\n  quarantine:\n    dir: ${q2}\n    keep: flagged\n`);
    const cap2 = dccCapture(path.join(tmp, 'f.pcap'), [{ name: 'ok.txt', data: bufs[0] }, { name: 'cat.png', data: fakePe() }]);
    const r2 = shadowim(['analyze', cap2, '--format', 'jsonl'], { env: { SHADOWIM_CONFIG: cfg2 } });
    assert.equal(r2.status, 0, r2.stderr);
    assert.deepEqual(fs.readdirSync(q2).filter((n) => /^[0-9a-f]{64}$/.test(n)), [sha(fakePe())]);
  });
});

describe('files: hostile transfers', function () {
  this.timeout(300000);
  let tmp: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-hostile-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('hostile names are sanitized in events and never become paths; nothing is written outside the quarantine', () => {
    const names = [
      '../../etc/passwd',
      '/etc/shadow',
      '..\\..\\Windows\\System32\\evil.dll',
      'C:\\Users\\Public\\run.bat',
      'bell\x07and\x1b[31mescape.txt',
      'invoice\u202Egpj.exe', // right-to-left override: displays as "invoiceexe.jpg"
      '\uff0e\uff0e\uff0fetc\uff0fpasswd', // full-width "../etc/passwd"
      '\u2025\u2215etc\u2215hosts', // look-alike two-dot leader and division slash
      'a'.repeat(300) + '.pdf',
      '..',
    ];
    const work = path.join(tmp, 'work');
    fs.mkdirSync(work);
    const cap = dccCapture(path.join(work, 'names.pcap'), names.map((n, i) => ({ name: n, data: Buffer.from(`payload ${i}\n`) })));
    const before = walk(tmp);
    const etcBefore = fs.statSync('/etc/passwd').mtimeMs;
    const r = shadowim(['analyze', cap, '--format', 'jsonl', '--out', path.join(work, 'out')]);
    assert.equal(r.status, 0, r.stderr);
    const ev = r.events.filter((e) => e.type === 'file_transfer');
    const data = ev.filter((e) => e.stage === 'data');
    assert.equal(data.length, names.length, JSON.stringify(data.map((e) => e.filename)));
    for (const e of ev) {
      assert.ok(!/[/\\\u2215\uff0f\u0000-\u001f\u007f\u202e]/.test(e.filename), `unsafe name in event: ${JSON.stringify(e.filename)}`);
      assert.ok(e.filename.length <= 255);
      assert.notEqual(e.filename, '..');
    }
    const got = data.map((e) => e.filename);
    // the IRC decoder already keeps only the last path element; the engine's sanitizer catches the rest
    assert.ok(got.includes('passwd') && got.includes('evil.dll'), JSON.stringify(got));
    assert.ok(got.includes('invoicegpj.exe'));
    // only the capture and the out directory appeared; the out directory holds only sha256-named entries
    const after = walk(tmp);
    const added = [...after.keys()].filter((k) => !before.has(k));
    for (const k of added) assert.ok(k.startsWith(path.join('work', 'out')), `written outside the quarantine: ${k}`);
    for (const k of added) {
      const base = path.basename(k);
      assert.ok(['out', 'quarantine', '.work'].includes(base) || /^[0-9a-f]{64}(\.json)?$/.test(base), `unexpected entry ${k}`);
    }
    assert.equal(fs.statSync('/etc/passwd').mtimeMs, etcBefore);
    // text output: no raw control characters reach the terminal
    const t = shadowim(['analyze', cap, '--format', 'text']);
    assert.ok(!/[\x07\x1b]/.test(t.stdout));
  });

  it('a declared size of terabytes allocates nothing by it; a transfer that never ends is reported incomplete at flow end', () => {
    const small = crypto.randomBytes(100_000);
    const tail = crypto.randomBytes(50_000);
    const cap = dccCapture(path.join(tmp, 'tb.pcap'), [
      { name: 'huge.iso', data: small, declared: 5_000_000_000_000 },
      { name: 'endless.bin', data: tail, declared: 80_000, close: false }, // the sender stalls, the capture ends
    ]);
    const r = shadowim(['analyze', cap, '--format', 'jsonl']);
    assert.equal(r.status, 0, r.stderr);
    const d = Object.fromEntries(r.events.filter((e) => e.type === 'file_transfer' && e.stage === 'data').map((e) => [e.filename, e]));
    assert.equal(d['huge.iso'].observed_size, 100_000);
    assert.equal(d['huge.iso'].complete, false);
    assert.equal(d['huge.iso'].sha256, sha(small));
    assert.equal(d['endless.bin'].observed_size, 50_000);
    assert.equal(d['endless.bin'].complete, false);
    assert.equal(d['endless.bin'].sha256, sha(tail));
  });

  it('spool bounds: a file over spool.max_file_bytes is hashed to the end but not kept (truncated_at, unscanned:too-large)', () => {
    const big = crypto.randomBytes(300_000);
    const cfg = path.join(tmp, 'spool.yaml');
    const q = path.join(tmp, 'spoolq');
    fs.writeFileSync(cfg, `files:\n  spool:\n    max_file_bytes: 100000\n  quarantine:\n    dir: ${q}\n`);
    const cap = dccCapture(path.join(tmp, 'big.pcap'), [{ name: 'big.bin', data: big }, { name: 'small.txt', data: Buffer.from('ok\n') }]);
    const r = shadowim(['analyze', cap, '--format', 'jsonl'], { env: { SHADOWIM_CONFIG: cfg } });
    assert.equal(r.status, 0, r.stderr);
    const d = Object.fromEntries(r.events.filter((e) => e.type === 'file_transfer' && e.stage === 'data').map((e) => [e.filename, e]));
    assert.equal(d['big.bin'].sha256, sha(big));
    assert.equal(d['big.bin'].observed_size, 300_000);
    assert.equal(d['big.bin'].verdict, 'unscanned:too-large');
    assert.ok(d['big.bin'].truncated_at <= 100_000);
    assert.equal(d['big.bin'].quarantined, undefined);
    assert.equal(d['small.txt'].quarantined, true);
    assert.deepEqual(fs.readdirSync(q).filter((n) => !n.startsWith('.')).length, 2); // small.txt + sidecar
    assert.deepEqual(fs.readdirSync(path.join(q, '.work')), [], 'no spool left behind');
  });

  it('without a quarantine the spool is a private temp directory that is gone after the run', () => {
    const t = path.join(tmp, 'tmpdir');
    fs.mkdirSync(t);
    const cap = dccCapture(path.join(tmp, 'tmp.pcap'), [{ name: 'a.txt', data: Buffer.from('some text\n'.repeat(1000)) }]);
    const r = shadowim(['analyze', cap, '--format', 'jsonl'], { env: { TMPDIR: t, SHADOWIM_CONFIG: '' } });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.events.find((e) => e.type === 'file_transfer' && e.stage === 'data').verdict, 'unscanned:no-scanner');
    assert.deepEqual(fs.readdirSync(t).filter((n) => !n.startsWith('tsx-')), []); // (tsx keeps its own cache there)
  });

  it('thousands of tiny transfers: every one is reported, nothing piles up in the spool', () => {
    const n = 1500;
    const transfers = Array.from({ length: n }, (_, i) => ({ name: `t${i}.txt`, data: Buffer.from(`tiny ${i}\n`) }));
    const cap = dccCapture(path.join(tmp, 'many.pcap'), transfers);
    const r = shadowim(['analyze', cap, '--format', 'jsonl', '--out', path.join(tmp, 'many-out')]);
    assert.equal(r.status, 0, r.stderr);
    const d = r.events.filter((e) => e.type === 'file_transfer' && e.stage === 'data');
    assert.equal(d.length, n);
    assert.ok(d.every((e) => e.complete === true));
    assert.equal(new Set(d.map((e) => e.sha256)).size, n);
    const q = path.join(tmp, 'many-out', 'quarantine');
    assert.equal(fs.readdirSync(q).filter((x) => /^[0-9a-f]{64}$/.test(x)).length, n);
    assert.deepEqual(fs.readdirSync(path.join(q, '.work')), []);
  });
});

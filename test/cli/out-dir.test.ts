// analyze --out DIR: made (with its parents) before the run, or refused with one line. Node 20's
// recursive mkdir never returns under /proc, where mkdir answers ENOENT although the parent exists:
// before common/makeDirs.ts an --out there hung analyze at 100 % CPU.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { shadowim } from '../helpers/run';
import { dccCapture } from '../files/dcc';
import { makeDirs } from '../../common/makeDirs';

describe('cli: analyze --out DIR', function () {
  this.timeout(60000);
  let tmp: string;
  let cap: string;
  const data = crypto.randomBytes(2500);

  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-out-dir-'));
    cap = dccCapture(path.join(tmp, 'dcc.pcap'), [{ name: 'report.bin', data }]);
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('refuses a directory that cannot be made with one line and exit 2, without hanging or output', function () {
    const file = path.join(tmp, 'a-file');
    fs.writeFileSync(file, 'x');
    const cases: Array<[string, RegExp]> = [
      [path.join(tmp, 'a-file'), /: not a directory; give a directory that exists or can be created$/],
      [path.join(tmp, 'a-file', 'below'), /: not a directory; /],
    ];
    if (fs.existsSync('/proc/self')) cases.push(['/proc/shadowim-no-such/out', /^shadowim: cannot use --out \/proc\/shadowim-no-such\/out: /]);
    for (const [dir, re] of cases) {
      // a hang is a failure: the time limit kills it and status is null
      const r = shadowim(['analyze', cap, '--out', dir, '--format', 'jsonl'], { timeout: 20000 });
      assert.equal(r.status, 2, `${dir}: ${r.stderr}`);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr.trim(), re);
      assert.equal(r.stdout, '', 'no events before the refusal');
    }
  });

  it('makes a missing directory and its parents, and keeps the carved file there', () => {
    const dir = path.join(tmp, 'new', 'nested', 'out');
    const r = shadowim(['analyze', cap, '--out', dir, '--format', 'jsonl']);
    assert.equal(r.status, 0, r.stderr);
    const sha = crypto.createHash('sha256').update(data).digest('hex');
    assert.ok(r.events.some((e) => e.type === 'file_transfer' && e.sha256 === sha), 'the transfer is carved');
    assert.ok(fs.existsSync(path.join(dir, 'quarantine', sha)), 'kept in DIR/quarantine by its sha256');
  });

  it('files.spool.dir that cannot be made stops the run with one line (was: every carve silently spool-full)', () => {
    const file = path.join(tmp, 'in-the-way');
    fs.writeFileSync(file, '');
    const cfg = path.join(tmp, 'spool.yaml');
    fs.writeFileSync(cfg, `files:\n  spool:\n    dir: ${path.join(file, 'spool')}\n`);
    const r = shadowim(['analyze', cap, '--format', 'jsonl'], { env: { SHADOWIM_CONFIG: cfg }, timeout: 20000 });
    assert.notEqual(r.status, 0);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr.trim(), `shadowim: cannot use files.spool.dir ${path.join(file, 'spool')}: not a directory; fix files.spool.dir in the config`);
    const ok = path.join(tmp, 'spool-ok', 'nested');
    fs.writeFileSync(cfg, `files:\n  spool:\n    dir: ${ok}\n`);
    const good = shadowim(['analyze', cap, '--format', 'jsonl'], { env: { SHADOWIM_CONFIG: cfg } });
    assert.equal(good.status, 0, good.stderr);
    assert.equal(fs.statSync(ok).mode & 0o777, 0o700, 'made private');
  });

  it('makeDirs: nested, already there, and a file in the way', () => {
    const d = path.join(tmp, 'm', 'a', 'b');
    makeDirs(d, 0o700);
    assert.ok(fs.statSync(d).isDirectory());
    assert.equal(fs.statSync(d).mode & 0o777, 0o700 & ~process.umask());
    makeDirs(d); // there already: no error
    fs.writeFileSync(path.join(tmp, 'm', 'f'), '');
    assert.throws(() => makeDirs(path.join(tmp, 'm', 'f', 'x')), (e: NodeJS.ErrnoException) => e.code === 'ENOTDIR');
  });
});

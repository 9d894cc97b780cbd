// `shadowim files get`: a hash that is not kept points at 'files list' with the --quarantine the user
// gave (without it, 'files list' finds no quarantine when none is configured); '1 byte', not '1 bytes'.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { shadowim } from '../helpers/run';
import { Quarantine } from '../../analyzer/files/quarantine';

describe('files get: what it suggests and counts', function () {
  this.timeout(60000);
  let tmp: string;
  let q: string;
  let sha: string;
  const env = { SHADOWIM_CONFIG: '' };
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim files hint '));
    q = path.join(tmp, 'quarantine');
    const src = path.join(tmp, 'x.bin');
    fs.writeFileSync(src, 'x');
    sha = crypto.createHash('sha256').update('x').digest('hex');
    const md5 = crypto.createHash('md5').update('x').digest('hex');
    const ev = { type: 'file', stage: 'data', ts: '2024-01-15T09:30:00.000Z', protocol: 'irc', filename: 'x.bin', from: 'alice', to: 'bob', sha256: sha, md5, complete: true };
    assert.ok(new Quarantine(q, 1 << 20, 10).store(src, ev as never, 1));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it("an unknown hash suggests 'files list --quarantine DIR' with the DIR given (quoted for the shell)", () => {
    const unknown = '0'.repeat(64);
    const want = `shadowim: ${unknown} is not in the quarantine ${q}; 'shadowim files list --quarantine "${q}"' shows what is\n`;
    for (const extra of [[], ['--out', path.join(tmp, 'out.bin')]]) {
      const r = shadowim(['files', 'get', unknown, '--quarantine', q, ...extra], { env });
      assert.equal(r.status, 1, extra.join(' '));
      assert.equal(r.stderr, want, extra.join(' '));
    }
    // and that suggestion, run, lists the quarantine
    const l = shadowim(['files', 'list', '--quarantine', q], { env });
    assert.equal(l.status, 0, l.stderr);
    assert.match(l.stdout, new RegExp(`^${sha} `));
  });

  it("a 1-byte file is 'wrote 1 byte'", () => {
    const out = path.join(tmp, 'got.bin');
    const r = shadowim(['files', 'get', sha, '--quarantine', q, '--out', out], { env });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, `shadowim: wrote 1 byte (unknown type, verdict -) to ${out}\n`);
    assert.equal(fs.readFileSync(out, 'utf8'), 'x');
  });
});

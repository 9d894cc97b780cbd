// `shadowim user` answering a user's mistakes in one line: a missing --role (not "role ''"), a list
// --format that does not exist.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { shadowim } from '../helpers/run';

describe('user: mistakes on the command line', function () {
  this.timeout(60000);
  let tmp: string;
  let store: string;
  const env = { SHADOWIM_CONFIG: '' };
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-user-cli-'));
    store = path.join(tmp, 'store.db');
    const add = shadowim(['user', 'add', 'dana', '--role', 'analyst', '--password-stdin', '--store', store], { input: 'correct horse battery\n', env });
    assert.equal(add.status, 0, add.stderr);
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it("add without --role says that --role is required, not \"role must be … not ''\" (exit 2, no store made)", () => {
    const fresh = path.join(tmp, 'fresh.db');
    const r = shadowim(['user', 'add', 'eve', '--password-stdin', '--store', fresh], { input: 'long enough pw\n', env });
    assert.equal(r.status, 2);
    assert.equal(r.stderr, 'shadowim: --role is required (viewer, analyst or admin)\n');
    assert.equal(fs.existsSync(fresh), false);
    // role NAME without the role: the same, not the empty role
    const role = shadowim(['user', 'role', 'dana', '--store', store], { env });
    assert.equal(role.status, 2);
    assert.equal(role.stderr, 'shadowim: user role dana needs the new role (viewer, analyst or admin)\n');
    assert.match(shadowim(['user', 'list', '--store', store], { env }).stdout, /^dana +analyst /);
  });

  it('list --format that is not text or json: one line naming both, exit 2', () => {
    const r = shadowim(['user', 'list', '--format', 'xml', '--store', store], { env });
    assert.equal(r.status, 2);
    assert.equal(r.stderr, "shadowim: --format must be text or json, not 'xml'\n");
    assert.equal(r.stdout, '');
    const j = shadowim(['user', 'list', '--format', 'json', '--store', store], { env });
    assert.deepEqual(JSON.parse(j.stdout).map((u: { name: string }) => u.name), ['dana']);
  });

});

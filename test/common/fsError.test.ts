// common/fsError.ts: the one mapping of fs errors to words, on errors the file system really raises.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { whyCannotRead, whyCannotWrite } from '../../common/fsError';
import { makeDirs } from '../../common/makeDirs';

const caught = (f: () => unknown): unknown => {
  try {
    f();
  } catch (e) {
    return e;
  }
  assert.fail('expected an error');
};
const errno = (code: string, message = `${code}: something, open 'x'`) => Object.assign(new Error(message), { code });

describe('common/fsError: why a file cannot be read or written', () => {
  let tmp: string;
  let file: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-fserror-'));
    file = path.join(tmp, 'plain.txt');
    fs.writeFileSync(file, 'x');
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('reading: missing, under a file, a directory, not allowed, anything else', () => {
    assert.equal(whyCannotRead(caught(() => fs.readFileSync(path.join(tmp, 'nope')))), 'no such file');
    assert.equal(whyCannotRead(caught(() => fs.readFileSync(path.join(file, 'x.yaml')))), 'no such file', 'ENOTDIR: a part of the path is a file');
    assert.equal(whyCannotRead(caught(() => fs.readFileSync(tmp))), 'is a directory');
    assert.equal(whyCannotRead(errno('EACCES')), 'permission denied');
    assert.equal(whyCannotRead(errno('EPERM')), 'permission denied');
    assert.equal(whyCannotRead(errno('EIO', 'EIO: i/o error, read\nmore')), 'EIO: i/o error, read', 'others: the first line of the message');
    assert.equal(whyCannotRead('plain text'), 'plain text');
  });

  it('writing: missing directory, a directory that takes no files, a file in the way, read-only, a directory as the file', () => {
    const missingDir = path.join(tmp, 'gone', 'r.html');
    assert.equal(whyCannotWrite(caught(() => fs.openSync(missingDir, 'wx')), missingDir), 'no such directory');
    assert.equal(whyCannotWrite(errno('ENOENT'), path.join(tmp, 'r.html')), 'files cannot be created there');
    const underFile = path.join(file, 'r.html');
    assert.equal(whyCannotWrite(caught(() => fs.openSync(underFile, 'wx')), underFile), 'not a directory');
    assert.equal(whyCannotWrite(caught(() => fs.writeFileSync(tmp, 'x')), tmp), 'is a directory');
    assert.equal(whyCannotWrite(errno('EACCES'), file), 'permission denied');
    assert.equal(whyCannotWrite(errno('EPERM'), file), 'permission denied');
    assert.equal(whyCannotWrite(errno('EROFS'), file), 'read-only file system');
    assert.equal(whyCannotWrite(errno('ENOSPC', 'ENOSPC: no space left on device, write'), file), 'ENOSPC: no space left on device, write');
  });

  it('making parents: judged by the directory mkdir could not make, not by the one asked for', function () {
    if (!fs.existsSync('/proc/self')) this.skip();
    // /proc exists and takes no new entries: mkdir /proc/x fails with ENOENT, its parent is there
    const deep = '/proc/shadowim-no-such/a/b';
    const e = caught(() => makeDirs(deep));
    assert.equal(whyCannotWrite(e, deep), 'files cannot be created there', 'was: no such directory (/proc/shadowim-no-such/a is missing)');
    // a copy's ENOENT names its source as path: the destination's directory decides
    const missingDir = path.join(tmp, 'gone', 'c.bin');
    assert.equal(whyCannotWrite(caught(() => fs.copyFileSync(file, missingDir)), missingDir), 'no such directory');
  });
});

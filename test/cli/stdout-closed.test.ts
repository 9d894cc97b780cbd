// A reader that goes away (`analyze … | head -1`): with only stdout to write to, analyze ends at once,
// exit 0; with a store as well, it goes on without stdout and the store gets every session of the
// capture, as without the pipe. Before cli/stdout.ts the first EPIPE ended the run: the store kept
// what was committed until then. Ground truth: the same capture analysed with stdout to /dev/null.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CLI } from '../helpers/paths';
import { generate } from '../../bench/generate';

/** analyze with stdout read up to its first line, then closed; the exit status */
function firstLineOnly(args: string[]): Promise<{ status: number | null; first: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, 'analyze', ...args], { stdio: ['ignore', 'pipe', 'ignore'] });
    let got = '';
    child.stdout.on('data', (d: Buffer) => {
      got += d.toString('utf8');
      if (got.includes('\n')) child.stdout.destroy();
    });
    const t = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('exit', (status) => {
      clearTimeout(t);
      resolve({ status, first: got.split('\n')[0] });
    });
  });
}

function sessionsIn(store: string): number {
  const Sqlite = require('better-sqlite3');
  const db = new Sqlite(store, { readonly: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM sessions').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

describe('cli: standard output closed by its reader', function () {
  this.timeout(120_000);
  let tmp: string;
  let cap: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-stdout-'));
    cap = path.join(tmp, 'mix.pcap');
    generate(cap, 60000); // ~0.8 MB of events over ~1 s: the reader is gone long before the end
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('with a store: the run goes on and the store has every session, exit 0', async () => {
    const whole = path.join(tmp, 'whole.db');
    const ref = spawnSync(process.execPath, [CLI, 'analyze', cap, '--format', 'jsonl', '--store', whole], { stdio: ['ignore', 'ignore', 'pipe'] });
    assert.equal(ref.status, 0, String(ref.stderr));
    const expected = sessionsIn(whole);
    assert.ok(expected > 100, `${expected} sessions in the reference run`);
    for (const threads of ['1', '2']) {
      const store = path.join(tmp, `cut${threads}.db`);
      const r = await firstLineOnly([cap, '--format', 'jsonl', '--store', store, '--threads', threads]);
      assert.equal(r.status, 0);
      assert.ok(r.first.startsWith('{"type":'), r.first);
      assert.equal(sessionsIn(store), expected, `--threads ${threads}`);
    }
  });

  it('without another output: ends at once, exit 0', async () => {
    const r = await firstLineOnly([cap, '--format', 'jsonl']);
    assert.equal(r.status, 0);
    assert.ok(r.first.startsWith('{"type":'), r.first);
  });
});

// Lines the JSONL writer still buffers when the process exits without closing it (analyze's second
// Ctrl-C exits at once) are written out: the alerts found last are the likeliest to be buffered, and
// the outbox's exit line names standard output as the copy that has every alert.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { REPO } from '../helpers/paths';

describe('cli: standard output at a hard exit', () => {
  it('a buffered line is written when the process exits without closing the writer (pipe and file)', () => {
    const child = `
      const { JsonlWriter } = require(${JSON.stringify(path.join(REPO, 'cli', 'pipeline'))});
      const w = new JsonlWriter(process.stdout);
      w.write({ type: 'alert', id: 'a1', kind: 'sensitive_data' });
      process.exit(130);
    `;
    const r = spawnSync(process.execPath, ['--require', 'tsx/cjs', '-e', child], { cwd: REPO, encoding: 'utf8' });
    assert.equal(r.status, 130, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n').map((l) => JSON.parse(l).id), ['a1']);
  });
});

// Every configuration example in docs/*.md (the ```yaml blocks) loads as a configuration file: a user
// who copies one gets no error. Was: docs/storage.md's full example set `sensor:` twice, which YAML
// refuses ("Map keys must be unique"), so any command given it stopped.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO } from '../helpers/paths';
import { loadConfig } from '../../common/config';

describe('docs: configuration examples', () => {
  const docs = path.join(REPO, 'docs');
  const blocks: Array<{ where: string; text: string }> = [];
  for (const f of fs.readdirSync(docs).filter((x) => x.endsWith('.md')).sort()) {
    const s = fs.readFileSync(path.join(docs, f), 'utf8');
    for (const m of s.matchAll(/```yaml\n([\s\S]*?)```/g)) blocks.push({ where: `docs/${f}:${s.slice(0, m.index).split('\n').length}`, text: m[1] });
  }

  it('there are examples to check (the full one in docs/storage.md among them)', () => {
    assert.ok(blocks.some((b) => b.where.startsWith('docs/storage.md') && /^influx:/m.test(b.text) && /^sensor:/m.test(b.text)), blocks.map((b) => b.where).join(', '));
  });

  it('each loads with the configuration loader', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-docyaml-'));
    try {
      const failed: string[] = [];
      blocks.forEach((b, i) => {
        const file = path.join(tmp, `example-${i}.yaml`);
        fs.writeFileSync(file, b.text);
        try {
          loadConfig({ file });
        } catch (e) {
          failed.push(`${b.where}: ${(e as Error).message}`);
        }
      });
      assert.deepEqual(failed, []);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});

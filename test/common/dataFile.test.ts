// common/dataFile.ts: built-in YAML data files come from a JSON cache keyed by the file's text. Each
// check runs in a fresh process (the cache is read once per process and written at exit), pointed at
// its own cache file, and reports whether the yaml package had to be loaded.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';

const ROOT = path.resolve(__dirname, '..', '..');

function builtinYamlFiles(): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'node_modules') walk(p);
      } else if (e.name.endsWith('.yaml')) out.push(p);
    }
  };
  for (const d of ['cli', 'common', 'sensor', 'signatures', 'analyzer', 'storage', 'dashboard', 'outputs']) if (fs.existsSync(path.join(ROOT, d))) walk(path.join(ROOT, d));
  return out;
}

/** Reads `files` with readDataFile in a new process: the documents (or error messages) and whether yaml was loaded. */
function readInChild(cache: string, files: string[]): { docs: unknown[]; yamlLoaded: boolean } {
  const script = `
    require(${JSON.stringify(path.join(ROOT, 'bin', 'register.js'))}).install();
    const { readDataFile } = require(${JSON.stringify(path.join(ROOT, 'common', 'dataFile.ts'))});
    const docs = ${JSON.stringify(files)}.map((f) => { try { return { doc: readDataFile(f) }; } catch (e) { return { error: e.message }; } });
    const yamlLoaded = Object.keys(require.cache).some((k) => k.includes('/node_modules/yaml/'));
    process.stdout.write(JSON.stringify({ docs, yamlLoaded }));`;
  const out = execFileSync(process.execPath, ['-e', script], { env: { ...process.env, SHADOWIM_DATA_CACHE: cache }, encoding: 'utf8' });
  return JSON.parse(out);
}

function parsed(file: string): unknown {
  try {
    return { doc: YAML.parse(fs.readFileSync(file, 'utf8')) };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

describe('common/dataFile: parsed built-in data from a cache keyed by the text', function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-datafile-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('gives what YAML.parse gives for every built-in YAML file, on a miss and then from the cache without the yaml package', () => {
    const files = builtinYamlFiles();
    assert.ok(files.length >= 20, `found ${files.length} files`);
    const cache = path.join(dir, 'cache.json');
    const want = files.map(parsed);
    const miss = readInChild(cache, files);
    assert.deepEqual(miss.docs, want);
    assert.equal(miss.yamlLoaded, true);
    const hit = readInChild(cache, files);
    assert.deepEqual(hit.docs, want);
    assert.equal(hit.yamlLoaded, false);
  });

  it('re-reads a changed file', () => {
    const cache = path.join(dir, 'cache.json');
    const f = path.join(dir, 'data.yaml');
    fs.writeFileSync(f, 'ports: [1, 2]\nname: a\n');
    assert.deepEqual(readInChild(cache, [f]), { docs: [{ doc: { ports: [1, 2], name: 'a' } }], yamlLoaded: true });
    assert.deepEqual(readInChild(cache, [f, f]), { docs: [{ doc: { ports: [1, 2], name: 'a' } }, { doc: { ports: [1, 2], name: 'a' } }], yamlLoaded: false });
    fs.writeFileSync(f, 'ports: [1, 3]\nname: a\n'); // same length, same mtime second possibly
    assert.deepEqual(readInChild(cache, [f]), { docs: [{ doc: { ports: [1, 3], name: 'a' } }], yamlLoaded: true });
    assert.deepEqual(readInChild(cache, [f]), { docs: [{ doc: { ports: [1, 3], name: 'a' } }], yamlLoaded: false });
  });

  it('returns a fresh object on every call, from the cache too', () => {
    const cache = path.join(dir, 'cache.json');
    const f = path.join(dir, 'data.yaml');
    fs.writeFileSync(f, 'list: [1]\n');
    const script = `
      require(${JSON.stringify(path.join(ROOT, 'bin', 'register.js'))}).install();
      const { readDataFile } = require(${JSON.stringify(path.join(ROOT, 'common', 'dataFile.ts'))});
      const a = readDataFile(${JSON.stringify(f)});
      a.list.push(2);
      const b = readDataFile(${JSON.stringify(f)});
      process.stdout.write(JSON.stringify(b));`;
    for (let run = 0; run < 2; run++) {
      const out = execFileSync(process.execPath, ['-e', script], { env: { ...process.env, SHADOWIM_DATA_CACHE: cache }, encoding: 'utf8' });
      assert.deepEqual(JSON.parse(out), { list: [1] }, `run ${run}`);
    }
  });

  it('ignores a corrupt cache file or entry and rewrites it', () => {
    const cache = path.join(dir, 'cache.json');
    const f = path.join(dir, 'data.yaml');
    fs.writeFileSync(f, 'a: {b: [x, 2, true, null]}\n');
    const want = { docs: [{ doc: { a: { b: ['x', 2, true, null] } } }], yamlLoaded: true };
    for (const junk of ['', '{"key":', '\0\0\0', '[]', '{"key":"1|x","files":[]}', 'null']) {
      fs.writeFileSync(cache, junk);
      assert.deepEqual(readInChild(cache, [f]), want, JSON.stringify(junk));
      assert.equal(readInChild(cache, [f]).yamlLoaded, false, `rewritten after ${JSON.stringify(junk)}`);
    }
    // a damaged entry whose hash still matches
    const c = JSON.parse(fs.readFileSync(cache, 'utf8'));
    for (const k of Object.keys(c.files)) c.files[k].j = '{"a": {"b": [';
    fs.writeFileSync(cache, JSON.stringify(c));
    assert.deepEqual(readInChild(cache, [f]), want);
    assert.equal(readInChild(cache, [f]).yamlLoaded, false);
  });

  it('throws what YAML.parse throws for an invalid file, and keeps values JSON cannot hold out of the cache', () => {
    const cache = path.join(dir, 'cache.json');
    const bad = path.join(dir, 'bad.yaml');
    fs.writeFileSync(bad, 'a: 1\na: 2\n');
    const odd = path.join(dir, 'odd.yaml');
    fs.writeFileSync(odd, 'x: .inf\ny: -0\n');
    const r = readInChild(cache, [bad, odd]);
    assert.deepEqual(r.docs[0], parsed(bad));
    assert.ok((r.docs[0] as { error?: string }).error);
    // Infinity and -0 do not survive JSON: parsed every time (the child's JSON output shows them as null and 0)
    assert.equal(readInChild(cache, [odd]).yamlLoaded, true);
  });

  it('node bin/register.js --build fills the cache with every built-in data file', () => {
    const cache = path.join(dir, 'cache.json');
    const out = execFileSync(process.execPath, [path.join(ROOT, 'bin', 'register.js'), '--build'], {
      env: { ...process.env, SHADOWIM_TS_CACHE: path.join(dir, 'ts.json'), SHADOWIM_DATA_CACHE: cache },
      encoding: 'utf8',
    });
    assert.match(out, /cached \d+ parsed YAML data files/);
    const files = Object.keys(JSON.parse(fs.readFileSync(cache, 'utf8')).files);
    for (const f of builtinYamlFiles()) assert.ok(files.includes(path.relative(ROOT, f)), `${f} not cached`);
    assert.equal(readInChild(cache, builtinYamlFiles()).yamlLoaded, false);
  });
});

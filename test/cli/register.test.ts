// bin/register.js: the TypeScript loader behind bin/shadowim.js. A cache hit must come from the cache, a
// changed file must never run its old code (same size and modification time included), and the CLI must
// print the same as under tsx.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { CLI, PCAPS_DIR, REPO, havePcaps } from '../helpers/paths';

const REGISTER = path.join(REPO, 'bin', 'register.js');

describe('cli: the TypeScript loader (bin/register.js)', function () {
  this.timeout(60000);
  let dir: string;
  let cacheFile: string;
  let mod: string;

  // a fresh node that loads `mod` through the hook and prints what it exports
  function load(): { status: number | null; out: string; err: string } {
    const code = `require(${JSON.stringify(REGISTER)}).install(); const m = require(${JSON.stringify(mod)}); console.log(JSON.stringify(m));`;
    const r = spawnSync(process.execPath, ['-e', code], { env: { ...process.env, SHADOWIM_TS_CACHE: cacheFile, SHADOWIM_DEBUG: '' } });
    return { status: r.status, out: r.stdout.toString().trim(), err: r.stderr.toString() };
  }
  function cached(): Record<string, { h: string; code: string }> {
    return JSON.parse(fs.readFileSync(cacheFile, 'utf8')).files;
  }
  const entry = () => cached()[path.relative(REPO, mod)];

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-register-'));
    cacheFile = path.join(dir, 'cache', 'ts.json');
    mod = path.join(dir, 'mod.ts');
    fs.writeFileSync(mod, 'interface T { n: number }\nconst t: T = { n: 1 };\nexport const v: number = t.n;\nexport const dir: string = __dirname;\n');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('transpiles on a miss, keeps the module its own __dirname, and stores the JavaScript', () => {
    const r = load();
    assert.equal(r.status, 0, r.err);
    assert.deepEqual(JSON.parse(r.out), { v: 1, dir });
    assert.ok(entry(), 'no cache entry for the module');
    assert.doesNotMatch(entry().code, /interface|: number/);
  });

  it('serves an unchanged file from the cache', () => {
    assert.equal(load().status, 0);
    const all = JSON.parse(fs.readFileSync(cacheFile, 'utf8'));
    all.files[path.relative(REPO, mod)].code = 'exports.v = 42;';
    fs.writeFileSync(cacheFile, JSON.stringify(all));
    assert.deepEqual(JSON.parse(load().out), { v: 42 });
  });

  it('runs the new code of a changed file even with the same size and modification time', () => {
    assert.equal(load().status, 0);
    const st = fs.statSync(mod);
    const before = fs.readFileSync(mod, 'utf8');
    const after = before.replace('n: 1', 'n: 7');
    assert.equal(after.length, before.length);
    fs.writeFileSync(mod, after);
    fs.utimesSync(mod, st.atime, st.mtime);
    assert.equal(JSON.parse(load().out).v, 7);
    assert.match(entry().code, /7/);
  });

  it('ignores a corrupt cache file and replaces it', () => {
    fs.mkdirSync(path.dirname(cacheFile), { recursive: true });
    fs.writeFileSync(cacheFile, '{"key": "x", "files": {"mod.ts"');
    const r = load();
    assert.equal(r.status, 0, r.err);
    assert.equal(JSON.parse(r.out).v, 1);
    assert.ok(entry());
  });

  // the V8 code cache beside the transpile cache: what a run reports of it
  function loadStats(): { v: number; hits: number; misses: number } {
    const code = `const r = require(${JSON.stringify(REGISTER)}); r.install(); const m = require(${JSON.stringify(mod)}); console.log(JSON.stringify({ v: m.v, ...r.codeCacheStats() }));`;
    const p = spawnSync(process.execPath, ['-e', code], { env: { ...process.env, SHADOWIM_TS_CACHE: cacheFile, SHADOWIM_DEBUG: '', SHADOWIM_NO_CODE_CACHE: '' } });
    assert.equal(p.status, 0, p.stderr.toString());
    return JSON.parse(p.stdout.toString());
  }

  it('a second run takes the module from the V8 code cache', () => {
    const first = loadStats();
    assert.deepEqual([first.v, first.hits, first.misses], [1, 0, 1]);
    const second = loadStats();
    assert.deepEqual([second.v, second.hits, second.misses], [1, 1, 0]);
  });

  it('a changed file of the same length never runs its old bytecode (V8 checks only the length)', () => {
    assert.equal(loadStats().v, 1);
    assert.equal(loadStats().hits, 1);
    const before = fs.readFileSync(mod, 'utf8');
    const after = before.replace('n: 1', 'n: 7');
    assert.equal(after.length, before.length);
    fs.writeFileSync(mod, after);
    const r = loadStats();
    assert.deepEqual([r.v, r.hits, r.misses], [7, 0, 1]);
    assert.deepEqual([loadStats().v, loadStats().hits], [7, 1]);
  });

  it('a corrupt code cache file is ignored and replaced', () => {
    assert.equal(loadStats().misses, 1);
    const file = fs.readdirSync(path.dirname(cacheFile)).find((f) => f.startsWith('v8-'));
    assert.ok(file, 'no code cache file beside the transpile cache');
    const full = path.join(path.dirname(cacheFile), file);
    const b = fs.readFileSync(full);
    for (let i = 4; i < b.length; i += 7) b[i] ^= 0x5a; // index and data both
    fs.writeFileSync(full, b);
    const r = loadStats();
    assert.deepEqual([r.v, r.misses], [1, 1]);
    assert.deepEqual([loadStats().v, loadStats().hits], [1, 1]);
  });

  it('gives importers plain values, not esbuild\'s getters, and circular imports still work', () => {
    fs.writeFileSync(path.join(dir, 'a.ts'), "import { twice } from './b';\nexport const one = (): number => 1;\nexport const viaB = (): number => twice();\n");
    fs.writeFileSync(path.join(dir, 'b.ts'), "import { one } from './a';\nexport function twice(): number { return one() * 2; }\nexport class K { k = 3; }\n");
    const code = `require(${JSON.stringify(REGISTER)}).install(); const a = require(${JSON.stringify(path.join(dir, 'a.ts'))}); const b = require(${JSON.stringify(path.join(dir, 'b.ts'))});
      const kinds = [a, b].map((m) => Object.keys(m).sort().map((k) => k + ':' + ('value' in Object.getOwnPropertyDescriptor(m, k) ? 'value' : 'getter')).join(','));
      console.log(JSON.stringify({ kinds, viaB: a.viaB(), twice: b.twice(), k: new b.K().k, esm: a.__esModule }));`;
    const r = spawnSync(process.execPath, ['-e', code], { env: { ...process.env, SHADOWIM_TS_CACHE: cacheFile, SHADOWIM_DEBUG: '' } });
    assert.equal(r.status, 0, r.stderr.toString());
    assert.deepEqual(JSON.parse(r.stdout.toString()), { kinds: ['one:value,viaB:value', 'K:value,twice:value'], viaB: 2, twice: 2, k: 3, esm: true });
  });

  it('--build transpiles every source file, including those a command loads lazily', () => {
    const r = spawnSync(process.execPath, [REGISTER, '--build'], { env: { ...process.env, SHADOWIM_TS_CACHE: cacheFile } });
    assert.equal(r.status, 0, r.stderr.toString());
    const files = cached();
    for (const f of ['cli/main.ts', 'cli/commands/analyze.ts', 'cli/commands/serve.ts', 'signatures/registry.ts', 'storage/sqlite-worker.ts', 'dashboard/server.ts']) {
      assert.ok(files[f], `${f} missing from the build`);
    }
    assert.ok(!Object.keys(files).some((f) => f.startsWith('test/') || f.startsWith('node_modules/')));
    // and warms the V8 code cache with an analysis: the packet path and the signatures are in it
    const code = fs.readdirSync(path.dirname(cacheFile)).find((f) => f.startsWith('v8-'));
    assert.ok(code, `no code cache written: ${r.stdout}${r.stderr}`);
    const b = fs.readFileSync(path.join(path.dirname(cacheFile), code));
    const index = JSON.parse(b.toString('utf8', 4, 4 + b.readUInt32LE(0)));
    for (const f of ['sensor/packetPath.ts', 'signatures/engine.ts', 'signatures/dns/index.ts', 'analyzer/analyzer.ts']) assert.ok(index[f]?.len > 0, `${f} missing from the code cache`);
  });

  it('the CLI runs through the cache and fills it', () => {
    const r = spawnSync(process.execPath, [CLI, '--version'], { env: { ...process.env, SHADOWIM_TS_CACHE: cacheFile, SHADOWIM_DEBUG: '' } });
    assert.equal(r.status, 0, r.stderr.toString());
    assert.equal(r.stdout.toString().trim(), JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')).version);
    assert.ok(cached()['cli/main.ts']);
  });

  it('analyze prints the same events through the cache as through tsx', function () {
    const cap = path.join(PCAPS_DIR, 'im', 'msn-switchboard-chat.pcap');
    if (!havePcaps() || !fs.existsSync(cap)) this.skip();
    const run = (debug: string) =>
      spawnSync(process.execPath, [CLI, 'analyze', cap, '--format', 'jsonl', '--quiet'], { env: { ...process.env, SHADOWIM_TS_CACHE: cacheFile, SHADOWIM_DEBUG: debug } });
    const fast = run('');
    const tsx = run('1');
    assert.equal(fast.status, 0, fast.stderr.toString());
    assert.equal(tsx.status, 0, tsx.stderr.toString());
    assert.ok(fast.stdout.toString().includes('"type":"message"'), 'the capture yields no messages');
    assert.equal(fast.stdout.toString(), tsx.stdout.toString());
    assert.ok(cached()['signatures/msn/index.ts'], 'analyze did not go through the cache');
  });
});

'use strict';
// Runs the TypeScript sources without tsx's start-up cost (~170 ms CPU per run, measured): a require hook
// for .ts files whose transpiled JavaScript is kept in one cache file, keyed by each file's path and checked
// against a hash of its current contents on every load. A changed file (git pull, an edit) never runs
// stale: it misses and is transpiled again with esbuild (the one tsx uses), then the cache is rewritten.
// Modules keep their own paths, so __dirname, require.resolve and data files behave as under tsx.
// `node bin/register.js --build` fills the cache for every source file (npm's prepare step runs it).
const fs = require('node:fs');
const path = require('node:path');
const Module = require('node:module');
const crypto = require('node:crypto');

const ROOT = path.resolve(__dirname, '..');
// SHADOWIM_TS_CACHE: another cache file (tests)
const CACHE_FILE = process.env.SHADOWIM_TS_CACHE || path.join(ROOT, 'node_modules', '.cache', 'shadowim', 'ts-cache.json');
const SOURCE_DIRS = ['cli', 'common', 'sensor', 'signatures', 'analyzer', 'storage', 'dashboard', 'outputs'];
// bump FORMAT when the transform options change; the tsconfig and node version also key the cache
const FORMAT = 2;

let cache;
let dirty = false;
let esbuild;
let tsconfigRaw;

function cacheKey() {
  let tsconfig = '';
  try {
    tsconfig = fs.readFileSync(path.join(ROOT, 'tsconfig.json'), 'utf8');
  } catch {}
  return `${FORMAT}|${process.versions.node}|${hash(tsconfig)}`;
}

function hash(s) {
  return crypto.createHash('sha1').update(s).digest('base64');
}

function loadCache(key) {
  try {
    const c = JSON.parse(fs.readFileSync(CACHE_FILE, 'utf8'));
    if (c && c.key === key && c.files && typeof c.files === 'object') return c;
  } catch {}
  return { key, files: {} };
}

function transform(src, filename) {
  if (!esbuild) {
    // esbuild comes with tsx (a dependency); resolve it from there so it is found hoisted or nested
    esbuild = require(require.resolve('esbuild', { paths: [path.dirname(require.resolve('tsx/cjs'))] }));
    try {
      tsconfigRaw = JSON.parse(fs.readFileSync(path.join(ROOT, 'tsconfig.json'), 'utf8'));
    } catch {
      tsconfigRaw = undefined;
    }
  }
  // the options tsx uses for a CommonJS .ts file, minus its source maps
  return esbuild.transformSync(src, {
    loader: 'ts',
    format: 'cjs',
    platform: 'node',
    target: `node${process.versions.node}`,
    keepNames: false, // names survive without minifying; keepNames wraps every closure in a defineProperty call
    minifyWhitespace: true,
    sourcefile: filename,
    tsconfigRaw,
  }).code;
}

function compiled(filename) {
  const src = fs.readFileSync(filename, 'utf8');
  const h = hash(src);
  const rel = path.relative(ROOT, filename);
  const hit = cache.files[rel];
  if (hit && hit.h === h) return hit.code;
  const code = transform(src, filename);
  cache.files[rel] = { h, code };
  dirty = true;
  return code;
}

function save() {
  if (!dirty) return;
  dirty = false;
  for (const rel of Object.keys(cache.files)) if (!fs.existsSync(path.resolve(ROOT, rel))) delete cache.files[rel];
  writeJsonAtomic(CACHE_FILE, cache);
}

/** Writes a cache file whole or not at all (a concurrent run reads the old or the new one, never half); never throws. */
function writeJsonAtomic(file, value) {
  writeFileAtomic(file, JSON.stringify(value));
}

/** writeJsonAtomic for bytes or text already made */
function writeFileAtomic(file, data) {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
  } catch {
    try {
      fs.unlinkSync(tmp);
    } catch {}
  }
}

/** Installs the .ts hook; false when it cannot (the caller then uses tsx). */
function install() {
  if (cache) return true;
  try {
    cache = loadCache(cacheKey());
  } catch {
    return false;
  }
  // replaces any other .ts handler (e.g. Node's own type stripping on newer versions, which lacks enums)
  Module._extensions['.ts'] = function (module, filename) {
    const js = compiled(filename);
    if (codeCache.off) module._compile(js, filename);
    else runCached(module, filename, js);
  };
  process.on('exit', () => {
    save();
    saveCode();
  });
  return true;
}

function walk(dir, out) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'node_modules' && e.name !== 'public') walk(p, out);
    } else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Transpiles every source file into a fresh cache; returns the number of files. */
function build() {
  cache = { key: cacheKey(), files: {} };
  const files = [];
  for (const d of SOURCE_DIRS) if (fs.existsSync(path.join(ROOT, d))) walk(path.join(ROOT, d), files);
  for (const f of files) compiled(f);
  dirty = true;
  save();
  return files.length;
}

// ---- the V8 code cache -------------------------------------------------------------------------
// Node 20 parses and compiles every module on each run, and each function again on its first call
// (Node 22's module.enableCompileCache saves that; Node 20 has no such thing). V8 can serialize a
// script's bytecode, with the functions compiled lazily since, and take it back on the next run: on the
// 1.5 M-packet benchmark ~30 ms of a 1.25 s run, on a small capture 0.15 → 0.12 s. V8 checks cached
// data against its version and flags but the source only by its *length*, so entries are keyed by each
// file's content hash: a changed file never runs old bytecode. Written at exit by a run that missed
// (a new or changed file, another node or flags); `--build` warms it with a short analysis so that it
// holds the packet path's and the signatures' functions, not only the modules' top levels.
const vm = require('node:vm');
const CODE_FILE = path.join(path.dirname(CACHE_FILE), `v8-${process.versions.v8}-${process.arch}.bin`);
const codeCache = {
  // SHADOWIM_NO_CODE_CACHE=1: compile as Node does (to compare, or if a V8 bug ever bites)
  off: !!process.env.SHADOWIM_NO_CODE_CACHE,
  /** rel → { h, data } as read from CODE_FILE */
  files: undefined,
  /** rel → { h, script } compiled in this run */
  scripts: new Map(),
  hits: 0,
  misses: 0,
  /** false in the `--build` process itself: its child's warm cache is the one to keep */
  save: true,
};

/** CODE_FILE: u32le index length, JSON index { rel: { h, len } }, then the cached data in index order. */
function readCodeFile() {
  const files = {};
  try {
    const b = fs.readFileSync(CODE_FILE);
    const n = b.readUInt32LE(0);
    let o = 4 + n;
    for (const [rel, e] of Object.entries(JSON.parse(b.toString('utf8', 4, 4 + n)))) {
      if (typeof e.h !== 'string' || !(e.len > 0) || o + e.len > b.length) break;
      files[rel] = { h: e.h, data: b.subarray(o, o + e.len) };
      o += e.len;
    }
  } catch {}
  return files;
}

/** module._compile for the hook's JavaScript, through a vm.Script that takes and gives cached data. */
function runCached(mod, filename, js) {
  codeCache.files ??= readCodeFile();
  const rel = path.relative(ROOT, filename);
  const h = cache.files[rel] && cache.files[rel].h;
  const hit = codeCache.files[rel];
  const cachedData = h && hit && hit.h === h ? hit.data : undefined;
  const script = new vm.Script(Module.wrap(js), { filename, cachedData });
  if (cachedData && !script.cachedDataRejected) codeCache.hits++;
  else codeCache.misses++;
  if (h) codeCache.scripts.set(rel, { h, script });
  // the require Node's own module._compile would make (lib/internal/modules/helpers.js makeRequireFunction)
  const req = function require(id) {
    return mod.require(id);
  };
  req.resolve = (request, options) => Module._resolveFilename(request, mod, false, options);
  req.resolve.paths = (request) => Module._resolvePaths(request, mod);
  req.main = process.mainModule;
  req.extensions = Module._extensions;
  req.cache = Module._cache;
  const fn = script.runInThisContext({ displayErrors: true });
  fn.call(mod.exports, mod.exports, req, mod, filename, path.dirname(filename));
  mod.exports = plainExports(mod.exports);
}

/**
 * esbuild's CommonJS form of an ES module exports every binding through two getters (its __export, then
 * __toCommonJS's copy), which each use of an import calls; V8 does not always inline them: ~30 ms of
 * a 1.25 s benchmark run. Once the module has run, its exports are plain values (the sources export
 * no `let` that they reassign, which would need the live binding), so later importers get a plain
 * object. A circular importer that took the exports during the load keeps the getters, which still work.
 */
function plainExports(exp) {
  if (exp === null || typeof exp !== 'object' || exp.__esModule !== true) return exp;
  const plain = {};
  Object.defineProperty(plain, '__esModule', { value: true });
  for (const k of Object.keys(exp)) plain[k] = exp[k];
  return plain;
}

/** At exit, after a miss (or when asked to): this run's scripts, and the entries it did not load, whole or not at all. */
function saveCode() {
  const force = !!process.env.SHADOWIM_CODE_CACHE_WRITE;
  if (codeCache.off || !codeCache.save || !require('node:worker_threads').isMainThread) return;
  if (!codeCache.scripts.size || (codeCache.misses === 0 && !force)) return;
  const index = {};
  const parts = [];
  const add = (rel, h, data) => {
    index[rel] = { h, len: data.length };
    parts.push(data);
  };
  // what another run cached meanwhile is kept (re-read now) unless this run compiled that file itself
  for (const [rel, e] of Object.entries(readCodeFile())) if (!codeCache.scripts.has(rel) && fs.existsSync(path.resolve(ROOT, rel))) add(rel, e.h, e.data);
  for (const [rel, s] of codeCache.scripts) {
    try {
      add(rel, s.h, s.script.createCachedData());
    } catch {}
  }
  const head = Buffer.from(JSON.stringify(index));
  const len = Buffer.alloc(4);
  len.writeUInt32LE(head.length);
  writeFileAtomic(CODE_FILE, Buffer.concat([len, head, ...parts]));
}

/** (tests) this run's code-cache hits and misses */
function codeCacheStats() {
  return { hits: codeCache.hits, misses: codeCache.misses, file: CODE_FILE };
}

/** `--build`: a short analysis of a generated capture, in a child that writes the code cache at its exit. */
function warmCodeCache() {
  codeCache.save = false;
  const os = require('node:os');
  const { spawnSync } = require('node:child_process');
  const cap = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-warm-')), 'warm.pcap');
  try {
    require(path.join(ROOT, 'bench', 'generate.ts')).generate(cap, 20000);
    const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'shadowim.js'), 'analyze', cap, '--format', 'jsonl', '--threads', '1', '--quiet'], {
      env: { ...process.env, SHADOWIM_CODE_CACHE_WRITE: '1', SHADOWIM_DEBUG: '' },
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: 60000,
    });
    if (r.status !== 0) throw new Error(`the warm-up analysis exited with ${r.status}: ${String(r.stderr).trim().split('\n')[0]}`);
  } finally {
    fs.rmSync(path.dirname(cap), { recursive: true, force: true });
  }
}

module.exports = { install, build, CACHE_FILE, CODE_FILE, hash, writeJsonAtomic, codeCacheStats };

if (require.main === module && process.argv[2] === '--build') {
  // never fails an install: without the cache, the first run fills it
  try {
    const t = Date.now();
    const n = build();
    console.log(`shadowim: transpiled ${n} TypeScript files into ${path.relative(ROOT, CACHE_FILE)} in ${Date.now() - t} ms`);
  } catch (e) {
    console.warn(`shadowim: could not prebuild the TypeScript cache (${e && e.message}); the first run will build it`);
  }
  // the parsed built-in YAML data files too (common/dataFile.ts); same rule: never fails an install
  try {
    cache = undefined; // build() left the cache without the hook: install it over the saved cache
    install();
    const n = require(path.join(ROOT, 'common', 'dataFile.ts')).warmDataFiles(SOURCE_DIRS);
    console.log(`shadowim: cached ${n} parsed YAML data files`);
  } catch (e) {
    console.warn(`shadowim: could not prebuild the data-file cache (${e && e.message}); the first run will build it`);
  }
  // the V8 code cache, from a short analysis; same rule
  if (!codeCache.off) {
    try {
      const t = Date.now();
      warmCodeCache();
      console.log(`shadowim: compiled the analysis path into ${path.relative(ROOT, CODE_FILE)} in ${Date.now() - t} ms`);
    } catch (e) {
      console.warn(`shadowim: could not prebuild the code cache (${e && e.message}); the first run will build it`);
    }
  }
}

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
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(tmp, JSON.stringify(value));
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
    module._compile(compiled(filename), filename);
  };
  process.on('exit', save);
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

module.exports = { install, build, CACHE_FILE, hash, writeJsonAtomic };

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
}

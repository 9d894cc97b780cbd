// The YAML data files shipped in the repo (signature data, server ports, file types, DLP tables),
// parsed from a JSON cache: loading the yaml package and parsing them cost ~80 ms CPU of every
// start, JSON.parse <1 ms. Each entry is keyed by a hash of the file's current text (and the yaml
// package's version), so an edited file is never read stale: it misses, is parsed with the yaml
// package, and the cache is rewritten atomically at exit. A corrupt or unreadable cache is ignored.
// For built-in files only: user files (policies, overrides, the configuration) go through the yaml
// package themselves, to report problems with their line numbers.
import fs from 'node:fs';
import path from 'node:path';
// the transpile cache's content hash and atomic write (plain JS: it runs before any TypeScript loads)
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { hash, writeJsonAtomic } = require('../bin/register') as { hash(s: string): string; writeJsonAtomic(file: string, value: unknown): void };

const ROOT = path.resolve(__dirname, '..');
// bump when what is stored changes
const FORMAT = 1;

interface Cache {
  key: string;
  /** repo-relative path -> hash of the text and the parsed document as JSON text */
  files: Record<string, { h: string; j: string }>;
}

let cache: Cache | undefined;
let dirty = false;
let hooked = false;

/** SHADOWIM_DATA_CACHE: another cache file (tests); next to bin/register.js's transpile cache by default */
function cacheFile(): string {
  return process.env.SHADOWIM_DATA_CACHE || path.join(ROOT, 'node_modules', '.cache', 'shadowim', 'data-cache.json');
}

function cacheKey(): string {
  let version = '';
  try {
    version = JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', 'yaml', 'package.json'), 'utf8')).version ?? '';
  } catch {}
  return `${FORMAT}|${version}`;
}


function loaded(): Cache {
  if (cache) return cache;
  const key = cacheKey();
  try {
    const c = JSON.parse(fs.readFileSync(cacheFile(), 'utf8'));
    if (c && c.key === key && c.files && typeof c.files === 'object' && !Array.isArray(c.files)) return (cache = c as Cache);
  } catch {}
  return (cache = { key, files: {} });
}

/** True when JSON gives back exactly this value (no NaN/Infinity/-0, Dates, Maps, undefined, ...). */
function jsonSafe(v: unknown, depth = 0): boolean {
  if (depth > 100) return false;
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return true;
  if (typeof v === 'number') return Number.isFinite(v) && !Object.is(v, -0);
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (!(i in v) || !jsonSafe(v[i], depth + 1)) return false;
    return true;
  }
  if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    for (const k of Object.keys(v as object)) if (k === '__proto__' || !jsonSafe((v as Record<string, unknown>)[k], depth + 1)) return false;
    return true;
  }
  return false;
}

function save(): void {
  if (!dirty || !cache) return;
  dirty = false;
  writeJsonAtomic(cacheFile(), cache);
}

/**
 * The document of a built-in YAML file, as YAML.parse(text) returns it (a fresh object on every call).
 * Throws what YAML.parse throws for an invalid file, and what fs throws for a missing one.
 */
export function readDataFile(file: string): any {
  const text = fs.readFileSync(file, 'utf8');
  const c = loaded();
  const rel = path.relative(ROOT, path.resolve(file));
  const h = hash(text);
  const hit = c.files[rel];
  if (hit && hit.h === h && typeof hit.j === 'string') {
    try {
      return JSON.parse(hit.j);
    } catch {}
  }
  const doc = (require('yaml') as typeof import('yaml')).parse(text);
  if (doc === undefined || !jsonSafe(doc)) {
    if (hit) {
      delete c.files[rel];
      markDirty();
    }
    return doc;
  }
  c.files[rel] = { h, j: JSON.stringify(doc) };
  markDirty();
  return doc;
}

function markDirty(): void {
  dirty = true;
  if (!hooked) {
    hooked = true;
    process.on('exit', save);
  }
}

/** Parses every .yaml file under the source folders into the cache now (install time); returns how many. */
export function warmDataFiles(dirs: string[]): number {
  let n = 0;
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'node_modules' && e.name !== 'public') walk(p);
      } else if (e.name.endsWith('.yaml')) {
        try {
          readDataFile(p);
          n++;
        } catch {} // an invalid file is reported when it is used
      }
    }
  };
  for (const d of dirs) if (fs.existsSync(path.join(ROOT, d))) walk(path.join(ROOT, d));
  save();
  return n;
}

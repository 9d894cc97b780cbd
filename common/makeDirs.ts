// `mkdir -p` that always ends. Node 20's fs.mkdirSync(dir, { recursive: true }) never returns when a
// parent exists but refuses new entries with ENOENT (any path under /proc: measured, it spins at
// 100 % CPU), so a mistyped --out would hang the sensor. This walks up to the nearest existing
// ancestor (at most one step per path component) and creates each missing directory in turn.
import fs from 'node:fs';
import path from 'node:path';
import { whyCannotWrite } from './fsError';

/** Creates `dir` and its missing parents with `mode`; throws the first error (errno codes as fs does). */
export function makeDirs(dir: string, mode = 0o777): void {
  const missing: string[] = [];
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(d);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    if (st) {
      if (!st.isDirectory()) throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${d}'`), { code: 'ENOTDIR', path: d });
      break;
    }
    missing.push(d);
    if (path.dirname(d) === d) break; // the root itself is missing: mkdir below says why
  }
  for (let i = missing.length - 1; i >= 0; i--) {
    try {
      fs.mkdirSync(missing[i], mode);
    } catch (e) {
      // made meanwhile by another process: fine if it is a directory
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || !fs.statSync(missing[i]).isDirectory()) throw e;
    }
  }
}

/**
 * makeDirs for a directory the user named, failing with one line in words: "cannot use LABEL DIR: WHY;
 * HINT" (LABEL the option or setting, HINT what to do), as an `error` (a UsageError, a config error…).
 */
export function makeNamedDir(dir: string, o: { label: string; hint: string; mode?: number; error: new (message: string) => Error }): void {
  try {
    makeDirs(dir, o.mode);
  } catch (e) {
    throw new o.error(`cannot use ${o.label} ${dir}: ${whyCannotWrite(e, dir)}; ${o.hint}`);
  }
}

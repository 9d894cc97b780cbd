// Opens the SQLite store: WAL mode, schema migrated, one clear line when the file cannot be used.

import fs from 'node:fs';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { migrate } from './schema';

export class StoreError extends Error {}

export interface OpenOptions {
  /** open an existing store for reading only (search, report, dashboard) */
  readonly?: boolean;
  synchronous?: 'normal' | 'full';
}

export function openStore(file: string, opts: OpenOptions = {}): Database.Database {
  const Sqlite = require('better-sqlite3') as typeof Database;
  const abs = path.resolve(file);
  if (opts.readonly && !fs.existsSync(abs)) throw new StoreError(`no store at ${file}; write one first with 'shadowim analyze CAPTURE --store ${file}'`);
  if (!opts.readonly) {
    const dir = path.dirname(abs);
    if (!fs.existsSync(dir)) throw new StoreError(`cannot create store ${file}: directory ${dir} does not exist`);
  }
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(abs);
  } catch {}
  // SQLite's own words for these are 'unable to open database file' and 'disk I/O error'
  if (st?.isDirectory()) throw new StoreError(`cannot open store ${file}: it is a directory; give the path of a store file (made if missing)`);
  if (st && !st.isFile()) throw new StoreError(`cannot open store ${file}: not a regular file (a device, pipe or socket); give the path of a store file`);
  let db: Database.Database;
  try {
    // readonly handles still need the -wal/-shm files, so they open read-write and only ever read
    db = new Sqlite(abs, { fileMustExist: !!opts.readonly, timeout: 5000 });
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${opts.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    db.pragma('foreign_keys = ON');
    db.pragma('temp_store = MEMORY');
    db.pragma('cache_size = -32000');
    migrate(db);
  } catch (e: any) {
    const msg = String(e?.message ?? e);
    // a store at rest that this user may read but not write (an archive, a read-only mount, another
    // user's sensor that is not running): SQLite cannot make the WAL index beside it, so read a copy
    if (opts.readonly && /readonly|unable to open|disk I\/O/i.test(msg) && !writable(abs)) return readOnlyCopy(file, abs, st?.size ?? 0);
    if (NOT_A_DATABASE.test(msg)) throw notAStore(file);
    if (/readonly/i.test(msg)) throw new StoreError(`cannot open store ${file}: ${msg}; a store needs write access to its file and its directory (the WAL files), also for reading`);
    if (/permission|unable to open/i.test(msg)) throw new StoreError(`cannot open store ${file}: ${msg}`);
    throw new StoreError(`store ${file}: ${msg}`);
  }
  return db;
}

/** SQLite's words for a file that is no database */
const NOT_A_DATABASE = /not a database|file is encrypted/i;
const notAStore = (file: string) => new StoreError(`${file} is not a shadowim store (not an SQLite database)`);

/** can this process write the file and make files beside it (the WAL's -wal and -shm)? */
function writable(abs: string): boolean {
  try {
    fs.accessSync(abs, fs.constants.W_OK);
    fs.accessSync(path.dirname(abs), fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** the most a read-only store is copied into memory to be read (fs.readFileSync's own limit is 2 GiB) */
const MAX_COPY = 1 << 30;

/**
 * Opens an in-memory copy of a store this process cannot write, for reading (search, report, rules).
 * The copy's header says "rollback journal" instead of WAL (bytes 18-19: an in-memory database has no
 * WAL); anything still in a -wal file beside it would be missed, so then the copy is refused.
 */
function readOnlyCopy(file: string, abs: string, size: number): Database.Database {
  const Sqlite = require('better-sqlite3') as typeof Database;
  const fix = `copy it to a directory you can write (cp ${file} /tmp/) and give the copy, or run as the user that writes it`;
  let walBytes = 0;
  try {
    walBytes = fs.statSync(`${abs}-wal`).size;
  } catch {}
  if (walBytes > 0) throw new StoreError(`cannot open store ${file}: it is read-only here and its last writes are still in ${file}-wal, which SQLite can only read with write access; ${fix}`);
  if (size > MAX_COPY) throw new StoreError(`cannot open store ${file}: it is read-only here and too large (${Math.round(size / (1 << 20))} MiB) to read from a copy in memory; ${fix}`);
  try {
    const bytes = fs.readFileSync(abs);
    if (bytes.length >= 100 && bytes.toString('latin1', 0, 16) === 'SQLite format 3\0') bytes[18] = bytes[19] = 1;
    const db = new Sqlite(bytes);
    migrate(db); // an older schema is upgraded in the copy only
    return db;
  } catch (e: any) {
    const msg = String(e?.message ?? e);
    if (NOT_A_DATABASE.test(msg)) throw notAStore(file);
    throw new StoreError(`cannot open store ${file}: it is read-only here and its copy could not be read (${msg}); ${fix}`);
  }
}

export function hasFtsTable(db: Database.Database): boolean {
  return !!db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'messages_fts'").get();
}

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
    if (/not a database|file is encrypted/i.test(msg)) throw new StoreError(`${file} is not a shadowim store (not an SQLite database)`);
    if (/readonly/i.test(msg)) throw new StoreError(`cannot open store ${file}: ${msg}; a store needs write access to its file and its directory (the WAL files), also for reading`);
    if (/permission|unable to open/i.test(msg)) throw new StoreError(`cannot open store ${file}: ${msg}`);
    throw new StoreError(`store ${file}: ${msg}`);
  }
  return db;
}

export function hasFtsTable(db: Database.Database): boolean {
  return !!db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'messages_fts'").get();
}

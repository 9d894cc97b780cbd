// SQLite schema, migrated by version number (PRAGMA user_version). Append migrations; never edit one
// that has shipped. Times are integer milliseconds since the epoch (UTC); *_ms columns.
// stored_ms grows with rowid (rows are appended), so retention walks rowids and needs no index on it.

import type Database from 'better-sqlite3';

const ROLLUP_COLUMNS = `
  sessions INTEGER NOT NULL DEFAULT 0,
  messages INTEGER NOT NULL DEFAULT 0,
  files INTEGER NOT NULL DEFAULT 0,
  bytes INTEGER NOT NULL DEFAULT 0,
  alerts INTEGER NOT NULL DEFAULT 0,
  al_low INTEGER NOT NULL DEFAULT 0,
  al_medium INTEGER NOT NULL DEFAULT 0,
  al_high INTEGER NOT NULL DEFAULT 0,
  al_critical INTEGER NOT NULL DEFAULT 0,
  unauth INTEGER NOT NULL DEFAULT 0`;

// messages, file transfers, credentials: one row per event, the same head and tail around their own columns
const eventTable = (name: string, cols: string, afterEnds = '') => `CREATE TABLE ${name} (
  id INTEGER PRIMARY KEY,
  ts_ms INTEGER NOT NULL,
  sensor TEXT NOT NULL,
  protocol TEXT NOT NULL,
  flow_id TEXT,${cols}
  client_ip TEXT, client_port INTEGER,
  server_ip TEXT, server_port INTEGER,${afterEnds}
  stored_ms INTEGER NOT NULL
);`;

// dim: 0 = per sensor and protocol, 1 = per user (key = user), 2 = per host (key = client IP),
// 3 = per protocol over all sensors (sensor = ''), so the overview reads few rows however many sensors
const rollupTable = (name: string) => `
CREATE TABLE ${name} (
  dim INTEGER NOT NULL,
  bucket_ms INTEGER NOT NULL,
  sensor TEXT NOT NULL,
  protocol TEXT NOT NULL,
  key TEXT NOT NULL,
  ${ROLLUP_COLUMNS},
  PRIMARY KEY (dim, bucket_ms, sensor, protocol, key)
) WITHOUT ROWID;`;

// The users/hosts pages group one (key, protocol) at a time: this index holds each one's rows in time
// order with the counters they sum, so no query sorts every rollup row of a range (bench/storage-overview.ts).
// Not on rollup_1m: the largest table, read for users/hosts only over ranges up to 6 hours.
const usageIndex = (t: string) => `CREATE INDEX ${t}_usage ON ${t}(dim, key, protocol, sensor, bucket_ms, sessions, messages, files, bytes, alerts);`;

/** Every (dim, key, protocol, sensor) of the per-user and per-host rollups, with the first and last day it has rows. */
export const ROLLUP_KEYS_UPSERT = `INSERT INTO rollup_keys (dim, key, protocol, sensor, first_ms, last_ms) VALUES (?,?,?,?,?,?)
  ON CONFLICT (dim, key, protocol, sensor) DO UPDATE SET first_ms = min(first_ms, excluded.first_ms), last_ms = max(last_ms, excluded.last_ms)`;

/** rollup_keys from the daily rollups (migration 2; bench/storage-overview.ts, which writes rollups directly) */
export const FILL_ROLLUP_KEYS = `INSERT OR IGNORE INTO rollup_keys SELECT dim, key, protocol, sensor, min(bucket_ms), max(bucket_ms) FROM rollup_1d
  WHERE dim IN (1, 2) GROUP BY dim, key, protocol, sensor`;

type Migration = (db: Database.Database, fts: boolean) => void;

export const MIGRATIONS: Migration[] = [
  // 1: initial schema
  (db, fts) => {
    db.exec(`
CREATE TABLE sensors (
  name TEXT PRIMARY KEY,
  first_seen_ms INTEGER,
  last_seen_ms INTEGER,
  packets INTEGER NOT NULL DEFAULT 0,
  bytes INTEGER NOT NULL DEFAULT 0,
  dropped INTEGER NOT NULL DEFAULT 0,
  malformed INTEGER NOT NULL DEFAULT 0,
  flows INTEGER NOT NULL DEFAULT 0,
  spool_dropped INTEGER NOT NULL DEFAULT 0,
  updated_ms INTEGER
);
CREATE TABLE sessions (
  id INTEGER PRIMARY KEY,
  flow_id TEXT,
  sensor TEXT NOT NULL,
  protocol TEXT NOT NULL,
  transport TEXT,
  client_ip TEXT, client_port INTEGER,
  server_ip TEXT, server_port INTEGER,
  server_name TEXT,
  users TEXT NOT NULL DEFAULT '[]',
  start_ms INTEGER, end_ms INTEGER, ts_ms INTEGER NOT NULL,
  packets INTEGER, bytes INTEGER,
  encrypted INTEGER NOT NULL DEFAULT 0,
  service TEXT,
  evidence TEXT NOT NULL DEFAULT '[]',
  malformed INTEGER, gaps INTEGER,
  stored_ms INTEGER NOT NULL
);
CREATE INDEX sessions_ts ON sessions(ts_ms);
CREATE INDEX sessions_flow ON sessions(flow_id);
CREATE TABLE session_users (
  session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  user TEXT NOT NULL,
  PRIMARY KEY (session_id, user)
) WITHOUT ROWID;
CREATE INDEX session_users_user ON session_users(user);
${eventTable('messages', `
  from_user TEXT, to_user TEXT,
  direction TEXT, kind TEXT,`, `
  text TEXT,`)}
CREATE INDEX messages_ts ON messages(ts_ms);
CREATE INDEX messages_from ON messages(from_user, ts_ms);
CREATE INDEX messages_to ON messages(to_user, ts_ms);
CREATE INDEX messages_flow ON messages(flow_id);
${eventTable('file_transfers', `
  from_user TEXT, to_user TEXT,
  filename TEXT, size INTEGER,
  direction TEXT, stage TEXT, transfer_id TEXT,
  complete INTEGER, observed_size INTEGER,
  sha256 TEXT, md5 TEXT, file_type TEXT, verdict TEXT,`)}
CREATE INDEX file_transfers_ts ON file_transfers(ts_ms);
CREATE INDEX file_transfers_flow ON file_transfers(flow_id);
CREATE TABLE alerts (
  id TEXT PRIMARY KEY,
  first_ms INTEGER NOT NULL,
  last_ms INTEGER NOT NULL,
  sensor TEXT NOT NULL,
  kind TEXT NOT NULL,
  severity TEXT NOT NULL,
  sev_rank INTEGER NOT NULL,
  protocol TEXT,
  summary TEXT NOT NULL,
  client_ip TEXT, client_port INTEGER,
  server_ip TEXT, server_port INTEGER,
  users TEXT NOT NULL DEFAULT '[]',
  person TEXT, detector TEXT, match TEXT,
  count INTEGER NOT NULL DEFAULT 1,
  -- count before the analyzer's current suppression interval began (see sqlite-sink.ts)
  window_base INTEGER NOT NULL DEFAULT 0,
  flow_id TEXT,
  acked INTEGER NOT NULL DEFAULT 0,
  acked_by TEXT, acked_at_ms INTEGER, ack_note TEXT,
  stored_ms INTEGER NOT NULL
);
CREATE INDEX alerts_last ON alerts(last_ms);
CREATE INDEX alerts_sev ON alerts(sev_rank, last_ms);
CREATE INDEX alerts_kind ON alerts(kind, last_ms);
CREATE INDEX alerts_flow ON alerts(flow_id);
${eventTable('credentials', `
  user TEXT, mechanism TEXT,`)}
CREATE INDEX credentials_ts ON credentials(ts_ms);
${rollupTable('rollup_1m')}
${rollupTable('rollup_1h')}
${rollupTable('rollup_1d')}
`);
    if (fts) {
      // external-content index over messages.text, kept in step by triggers; detail=none: search is by
      // words (no phrases), and the index costs far less to write
      db.exec(`
CREATE VIRTUAL TABLE messages_fts USING fts5(text, content='messages', content_rowid='id', tokenize='unicode61 remove_diacritics 2', detail='none');
CREATE TRIGGER messages_ai AFTER INSERT ON messages WHEN new.text IS NOT NULL BEGIN
  INSERT INTO messages_fts(rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER messages_ad AFTER DELETE ON messages WHEN old.text IS NOT NULL BEGIN
  INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;`);
    }
  },
  // 2: users and hosts read in index order from a list of their keys (the daily rollups hold every key)
  (db) => {
    db.exec(`
${usageIndex('rollup_1h')}
${usageIndex('rollup_1d')}
CREATE TABLE rollup_keys (
  dim INTEGER NOT NULL,
  key TEXT NOT NULL,
  protocol TEXT NOT NULL,
  sensor TEXT NOT NULL,
  first_ms INTEGER NOT NULL,
  last_ms INTEGER NOT NULL,
  PRIMARY KEY (dim, key, protocol, sensor)
) WITHOUT ROWID;
${FILL_ROLLUP_KEYS};`);
  },
  // 3: the sink adds each transaction's messages to the full-text index in one statement
  // (sqlite-sink.ts); through this per-row trigger FTS5 flushed its buffer at every message
  (db) => db.exec('DROP TRIGGER IF EXISTS messages_ai'),
  // 4: the tunnel zone of a flow (events' `zone`: two tenants mirrored in VNIs 100 and 200 may share
  // addresses); NULL outside zoned tunnels. ADD COLUMN rewrites no row.
  (db) => db.exec(['sessions', 'messages', 'file_transfers', 'credentials', 'alerts'].map((t) => `ALTER TABLE ${t} ADD COLUMN zone TEXT;`).join('\n')),
];

export const SCHEMA_VERSION = MIGRATIONS.length;

export function hasFts5(db: Database.Database): boolean {
  try {
    return !!db.prepare("SELECT 1 FROM pragma_compile_options WHERE compile_options = 'ENABLE_FTS5'").get();
  } catch {
    return false;
  }
}

/** Brings the file to SCHEMA_VERSION; each step in its own transaction. */
export function migrate(db: Database.Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) throw new Error(`store was written by a newer shadowim (schema ${current}, this one knows ${SCHEMA_VERSION}); upgrade shadowim`);
  const fts = hasFts5(db);
  for (let v = current; v < SCHEMA_VERSION; v++) {
    db.transaction(() => {
      MIGRATIONS[v](db, fts);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}

// Where a stored session's packets can be read again: `analyze CAPTURE --store PATH` records, for each
// session it stores, the capture file it came from (table dash_session_sources, owned by the dashboard so
// the store's own schema is untouched). Live sessions have no file: their packets are not kept.

import fs from 'node:fs';
import path from 'node:path';
import type Database from 'better-sqlite3';
import type { EventSink, ShadowEvent } from '../common/events';

type Db = Database.Database;

export function ensureSourceTable(db: Db): void {
  db.exec(`
CREATE TABLE IF NOT EXISTS dash_session_sources (
  sensor TEXT NOT NULL,
  flow_id TEXT,
  client_ip TEXT, client_port INTEGER,
  server_ip TEXT, server_port INTEGER,
  start_ms INTEGER,
  source TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS dash_session_sources_flow ON dash_session_sources(flow_id);
CREATE INDEX IF NOT EXISTS dash_session_sources_ends ON dash_session_sources(client_ip, client_port, start_ms);`);
}

type Row = [string, string | null, string | null, number | null, string | null, number | null, number | null, string];

/** The pipeline sink that records the capture path of every session (undefined without a store). */
export function sourceRecorder(o: { store?: string; source: string; sensor?: string }): EventSink | undefined {
  const { getConfig } = require('../common/config') as typeof import('../common/config');
  const cfg = getConfig();
  const storePath = o.store ?? cfg.store.path;
  if (!storePath || o.source === '-') return undefined;
  const source = path.resolve(o.source);
  const sensor = o.sensor ?? cfg.sensor.name;
  let rows: Row[] = [];
  let db: Db | undefined;
  const flush = () => {
    if (!rows.length) return;
    if (!db) {
      const { openStore } = require('../storage/store') as typeof import('../storage/store');
      db = openStore(storePath);
      // the store's own worker may be committing a large backlog on the other connection
      db.pragma('busy_timeout = 60000');
      ensureSourceTable(db);
    }
    const ins = db.prepare('INSERT INTO dash_session_sources (sensor, flow_id, client_ip, client_port, server_ip, server_port, start_ms, source) VALUES (?,?,?,?,?,?,?,?)');
    const batch = rows;
    rows = [];
    db.transaction(() => {
      for (const r of batch) ins.run(...r);
    })();
  };
  return {
    write(ev: ShadowEvent) {
      if (ev.type !== 'session') return;
      const start = Date.parse(ev.start ?? ev.ts);
      rows.push([
        String(ev.sensor ?? sensor).slice(0, 64),
        ev.flow_id ? String(ev.flow_id).slice(0, 128) : null,
        ev.client?.ip ? String(ev.client.ip).slice(0, 64) : null,
        typeof ev.client?.port === 'number' ? ev.client.port : null,
        ev.server?.ip ? String(ev.server.ip).slice(0, 64) : null,
        typeof ev.server?.port === 'number' ? ev.server.port : null,
        Number.isFinite(start) ? start : null,
        source,
      ]);
      if (rows.length >= 5000) flush();
    },
    close() {
      flush();
      db?.close();
    },
  };
}

export interface SessionEnds {
  sensor: string;
  flow_id: string | null;
  client: { ip: string; port: number | null };
  server: { ip: string; port: number | null };
  start: string | null;
}

/** The capture file a stored session was read from, or undefined (live session, or store written before this). */
export function sessionSource(db: Db, s: SessionEnds): string | undefined {
  const has = db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'dash_session_sources'").get();
  if (!has) return undefined;
  const start = s.start ? Date.parse(s.start) : null;
  const row = db
    .prepare(
      `SELECT source FROM dash_session_sources WHERE client_ip IS @cip AND client_port IS @cport AND server_ip IS @sip AND server_port IS @sport
        AND start_ms IS @start AND sensor = @sensor AND (flow_id IS @flow OR @flow IS NULL) ORDER BY rowid DESC LIMIT 1`,
    )
    .get({ cip: s.client.ip, cport: s.client.port, sip: s.server.ip, sport: s.server.port, start, sensor: s.sensor, flow: s.flow_id }) as any;
  return row?.source;
}

export function sourceExists(file: string): boolean {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

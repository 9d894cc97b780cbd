// The store sink: events → SQLite. Buffered and written in transactions (every `batch` events or
// `flushMs`), so that `analyze` is not slowed by per-row commits. Alerts are the exception: an alert
// flushes the buffer (everything before it, then the alert) in one commit before write() returns, so an
// alert that any later output (stdout, SIEM) has shown is already in the file, even if the process is
// then killed (SIGKILL). See docs/storage.md "Durability".

import type Database from 'better-sqlite3';
import type { AlertEvent, EventSink, ShadowEvent, StatsEvent } from '../common/events';
import type { ArchiveConfig } from '../common/config';
import { ROLLUP_KEYS_UPSERT } from './schema';
import { hasFtsTable } from './store';
import { hostName } from '../common/zoneKey';
import { userNames } from '../common/userKey';
import { cutBeforePair } from '../analyzer/clip';
import { evidenceJson } from './evidence';

export interface SqliteSinkOptions {
  /** sensor name used when an event carries none */
  sensor: string;
  archive: ArchiveConfig;
  /** sessions, alerts, files, credentials: days kept after being stored (0 = forever) */
  retentionDays?: number;
  batch?: number;
  flushMs?: number;
  /** how often rollups are written (ms; default 2000) */
  rollupMs?: number;
  /** wall clock (tests move it) */
  now?: () => number;
  /** close the database when the sink closes */
  ownDb?: boolean;
  /**
   * false: the sink arms no timer of its own (no flush or rollup timer, no purge at open or hourly); its
   * owner calls flush() and purge() — the store worker does, through the path that waits out a locked
   * store (a timer's flush() would throw SQLITE_BUSY where nothing catches it)
   */
  timers?: boolean;
}

const SEV_RANK: Record<string, number> = { low: 1, medium: 2, high: 3, critical: 4 };
const MAX_TEXT = 65536;
const MAX_FIELD = 1024;

// Well-formed UTF-16 only, and never cut inside a surrogate pair: a lone surrogate (UTF-16 text from the
// wire) was bound as the 3 bytes of no UTF-8 character and read back as three U+FFFD; now it is one U+FFFD.
const wellFormed = (s: string): string => ((s as any).isWellFormed() ? s : (s as any).toWellFormed());
const cap = (s: unknown, n = MAX_FIELD): string | null => (s === undefined || s === null ? null : wellFormed(cutBeforePair(String(s), n)));
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
function ms(iso: string | undefined, fallback: number): number {
  const t = iso ? Date.parse(iso) : NaN;
  return Number.isFinite(t) ? t : fallback;
}

// rollup counters, in column order
const C_SESSIONS = 0, C_MESSAGES = 1, C_FILES = 2, C_BYTES = 3, C_ALERTS = 4, C_UNAUTH = 9;
const SEV_COL: Record<string, number> = { low: 5, medium: 6, high: 7, critical: 8 };
const NCOL = 10;
const RESOLUTIONS = [60_000, 3600_000, 86400_000] as const;

/** one rollup row's identity; used as a Map key by identity, so an event hashes no composite strings */
interface RollKey {
  dim: number;
  sensor: string;
  protocol: string;
  key: string;
}
/** the keys of one sensor and protocol: dim 0 and 3, and per user / per host */
interface RollKeys {
  sp: RollKey;
  all: RollKey;
  users: Map<string, RollKey>;
  hosts: Map<string, RollKey>;
}

/**
 * New occurrences an alert event adds. The analyzer emits the first occurrence of an alert id with count 1
 * and, when more followed within its suppression interval, one update with the same id and the interval's
 * total count N: that update adds N - 1. (A row's count = count before the interval + N.)
 */
export function alertOccurrences(ev: { count?: number }): number {
  const n = num(ev.count) ?? 1;
  return n > 1 ? Math.floor(n) - 1 : 1;
}

export class SqliteSink implements EventSink {
  private pending: ShadowEvent[] = [];
  /** per resolution (RESOLUTIONS): bucket → row → counters, folded in memory until written */
  private roll = RESOLUTIONS.map(() => new Map<number, Map<RollKey, number[]>>());
  /** sensor → protocol → keys; emptied with the rollups it serves */
  private rollKeys = new Map<string, Map<string, RollKeys>>();
  private timer: NodeJS.Timeout | undefined;
  private rollTimer: NodeJS.Timeout | undefined;
  private purgeTimer: NodeJS.Timeout | undefined;
  private readonly st: Record<string, Database.Statement>;
  private readonly ftsFill: Database.Statement | undefined;
  private readonly tx: () => void;
  private readonly batch: number;
  private readonly flushMs: number;
  private readonly now: () => number;
  /** last cumulative stats seen per sensor in this run (stats events are cumulative) */
  private lastStats = new Map<string, StatsEvent>();
  private rollupsAt = Date.now();
  private withRollups = false;
  private readonly rollupMs: number;
  /** first messages.id written in the current transaction (0: none yet) */
  private ftsFrom = 0;
  closed = false;
  written = 0;

  constructor(readonly db: Database.Database, private readonly opts: SqliteSinkOptions) {
    this.batch = opts.batch ?? 1000;
    this.flushMs = opts.flushMs ?? 250;
    this.rollupMs = opts.rollupMs ?? 2000;
    this.now = opts.now ?? Date.now;
    const rollupUpsert = (t: string) =>
      db.prepare(`INSERT INTO ${t} (dim, bucket_ms, sensor, protocol, key, sessions, messages, files, bytes, alerts, al_low, al_medium, al_high, al_critical, unauth)
        VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
        ON CONFLICT (dim, bucket_ms, sensor, protocol, key) DO UPDATE SET
          sessions = sessions + excluded.sessions, messages = messages + excluded.messages, files = files + excluded.files,
          bytes = bytes + excluded.bytes, alerts = alerts + excluded.alerts, al_low = al_low + excluded.al_low,
          al_medium = al_medium + excluded.al_medium, al_high = al_high + excluded.al_high,
          al_critical = al_critical + excluded.al_critical, unauth = unauth + excluded.unauth`);
    this.st = {
      session: db.prepare(`INSERT INTO sessions (flow_id, sensor, protocol, transport, client_ip, client_port, server_ip, server_port, server_name, users,
        start_ms, end_ms, ts_ms, packets, bytes, encrypted, service, evidence, malformed, gaps, zone, stored_ms)
        VALUES (@flow_id, @sensor, @protocol, @transport, @client_ip, @client_port, @server_ip, @server_port, @server_name, @users,
        @start_ms, @end_ms, @ts_ms, @packets, @bytes, @encrypted, @service, @evidence, @malformed, @gaps, @zone, @stored_ms)`),
      sessionUser: db.prepare('INSERT OR IGNORE INTO session_users (session_id, user) VALUES (?, ?)'),
      message: db.prepare(`INSERT INTO messages (ts_ms, sensor, protocol, flow_id, from_user, to_user, direction, kind, client_ip, client_port, server_ip, server_port, text, zone, stored_ms)
        VALUES (@ts_ms, @sensor, @protocol, @flow_id, @from_user, @to_user, @direction, @kind, @client_ip, @client_port, @server_ip, @server_port, @text, @zone, @stored_ms)`),
      file: db.prepare(`INSERT INTO file_transfers (ts_ms, sensor, protocol, flow_id, from_user, to_user, filename, size, direction, stage, transfer_id, complete,
        observed_size, sha256, md5, file_type, verdict, client_ip, client_port, server_ip, server_port, zone, stored_ms)
        VALUES (@ts_ms, @sensor, @protocol, @flow_id, @from_user, @to_user, @filename, @size, @direction, @stage, @transfer_id, @complete,
        @observed_size, @sha256, @md5, @file_type, @verdict, @client_ip, @client_port, @server_ip, @server_port, @zone, @stored_ms)`),
      alert: db.prepare(`INSERT INTO alerts (id, first_ms, last_ms, sensor, kind, severity, sev_rank, protocol, summary, client_ip, client_port, server_ip, server_port,
        users, person, detector, match, count, flow_id, zone, stored_ms)
        VALUES (@id, @ts_ms, @ts_ms, @sensor, @kind, @severity, @sev_rank, @protocol, @summary, @client_ip, @client_port, @server_ip, @server_port,
        @users, @person, @detector, @match, @count, @flow_id, @zone, @stored_ms)
        ON CONFLICT (id) DO UPDATE SET
          first_ms = min(first_ms, excluded.first_ms), last_ms = max(last_ms, excluded.last_ms),
          window_base = CASE WHEN excluded.count <= 1 THEN count ELSE window_base END,
          count = CASE WHEN excluded.count <= 1 THEN count + 1 ELSE max(count, window_base + excluded.count) END,
          summary = excluded.summary,
          severity = CASE WHEN excluded.sev_rank > sev_rank THEN excluded.severity ELSE severity END,
          sev_rank = max(sev_rank, excluded.sev_rank),
          users = CASE WHEN excluded.users <> '[]' THEN excluded.users ELSE users END,
          person = coalesce(excluded.person, person), match = coalesce(excluded.match, match),
          flow_id = coalesce(flow_id, excluded.flow_id), zone = coalesce(zone, excluded.zone),
          stored_ms = max(stored_ms, excluded.stored_ms)`),
      credential: db.prepare(`INSERT INTO credentials (ts_ms, sensor, protocol, flow_id, user, mechanism, client_ip, client_port, server_ip, server_port, zone, stored_ms)
        VALUES (@ts_ms, @sensor, @protocol, @flow_id, @user, @mechanism, @client_ip, @client_port, @server_ip, @server_port, @zone, @stored_ms)`),
      sensorSeen: db.prepare(`INSERT INTO sensors (name, first_seen_ms, last_seen_ms, updated_ms) VALUES (?, ?, ?, ?)
        ON CONFLICT (name) DO UPDATE SET first_seen_ms = min(coalesce(first_seen_ms, excluded.first_seen_ms), excluded.first_seen_ms),
          last_seen_ms = max(coalesce(last_seen_ms, excluded.last_seen_ms), excluded.last_seen_ms), updated_ms = excluded.updated_ms`),
      sensorAdd: db.prepare(`INSERT INTO sensors (name, packets, bytes, dropped, malformed, flows, spool_dropped, updated_ms) VALUES (?,?,?,?,?,?,?,?)
        ON CONFLICT (name) DO UPDATE SET packets = packets + excluded.packets, bytes = bytes + excluded.bytes, dropped = dropped + excluded.dropped,
          malformed = malformed + excluded.malformed, flows = flows + excluded.flows, spool_dropped = spool_dropped + excluded.spool_dropped,
          updated_ms = excluded.updated_ms`),
      r1m: rollupUpsert('rollup_1m'),
      r1h: rollupUpsert('rollup_1h'),
      r1d: rollupUpsert('rollup_1d'),
      rkey: db.prepare(ROLLUP_KEYS_UPSERT),
    };
    // the transaction's messages into the full-text index at once: FTS5 then writes one segment per
    // transaction instead of one per message (11 instead of 27 µs CPU per message)
    this.ftsFill = hasFtsTable(db) ? db.prepare('INSERT INTO messages_fts (rowid, text) SELECT id, text FROM messages WHERE id >= ? AND text IS NOT NULL') : undefined;
    this.tx = db.transaction(() => this.writePending());
    if (opts.timers === false) return;
    this.purge();
    this.purgeTimer = setInterval(() => this.purge(), 3600_000);
    this.purgeTimer.unref();
  }

  write(ev: ShadowEvent): void {
    if (this.closed) return;
    this.pending.push(ev);
    this.rollup(ev);
    if (ev.type === 'alert' || this.pending.length >= this.batch) this.flush();
    else if (!this.timer && this.opts.timers !== false) {
      this.timer = setTimeout(() => this.flush(), this.flushMs);
      this.timer.unref();
    }
  }

  /**
   * Commits the buffered events (one transaction). Rollups, which collapse many events into few rows,
   * are written every `rollupMs` or when `all` is set (close), so the dashboard's charts lag by that much.
   */
  flush(all = false): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const rollups = this.roll[0].size > 0 && (all || Date.now() - this.rollupsAt >= this.rollupMs);
    if (!this.pending.length && !rollups) return;
    this.withRollups = rollups;
    this.tx();
    // only once committed: a failed transaction (the store locked by another connection) rolls back,
    // and its events and counters stay here for the next try
    this.written += this.pending.length;
    this.pending = [];
    if (rollups) {
      for (const buckets of this.roll) buckets.clear();
      this.rollKeys.clear();
      this.rollupsAt = Date.now();
    }
    else if (this.roll[0].size && !this.rollTimer && this.opts.timers !== false) {
      this.rollTimer = setTimeout(() => ((this.rollTimer = undefined), this.flush()), this.rollupMs);
      this.rollTimer.unref();
    }
  }

  /** Adds sensor counters (packets, dropped, …) outside the event stream, e.g. the InfluxDB spool's drops. */
  addSensorCounters(name: string, c: { packets?: number; bytes?: number; dropped?: number; malformed?: number; flows?: number; spool_dropped?: number }): void {
    if (this.closed) return;
    this.flush();
    const now = this.now();
    this.st.sensorAdd.run(name, c.packets ?? 0, c.bytes ?? 0, c.dropped ?? 0, c.malformed ?? 0, c.flows ?? 0, c.spool_dropped ?? 0, now);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.flush(true);
    this.closed = true;
    if (this.purgeTimer) clearInterval(this.purgeTimer);
    if (this.rollTimer) clearTimeout(this.rollTimer);
    if (this.opts.ownDb) {
      try {
        this.db.pragma('wal_checkpoint(PASSIVE)');
      } catch {
        /* a reader holds the WAL; checkpoint later */
      }
      this.db.close();
    }
  }

  /** Deletes what is past its retention (archive: messages; store: the rest). */
  purge(): { messages: number; other: number } {
    const now = this.now();
    let messages = 0, other = 0;
    const days = this.opts.archive.retention_days;
    if (days > 0) messages = this.deleteOlder('messages', now - days * 86400_000);
    const rd = this.opts.retentionDays ?? 0;
    if (rd > 0) {
      const cut = now - rd * 86400_000;
      other += this.deleteSources(cut);
      for (const t of ['sessions', 'file_transfers', 'credentials']) other += this.deleteOlder(t, cut);
      other += this.deleteAlerts(cut);
      if (rd > 0) {
        // rollups carry no stored time; their buckets are capture time
        other += this.db.prepare('DELETE FROM rollup_1m WHERE bucket_ms < ?').run(cut).changes;
      }
    }
    return { messages, other };
  }

  /**
   * An alert's stored time is that of its last occurrence (the upsert moves it on), so one still firing
   * is kept with its acknowledgement; an update leaves rowid order behind, hence no rowid slices here.
   */
  private deleteAlerts(cut: number): number {
    const stmt = this.db.prepare('DELETE FROM alerts WHERE rowid IN (SELECT rowid FROM alerts WHERE stored_ms < ? LIMIT 5000)');
    let n = 0;
    for (;;) {
      const c = stmt.run(cut).changes;
      n += c;
      if (c < 5000) return n;
    }
  }

  /**
   * The dashboard's record of which capture file each session came from (addresses, ports, path; see
   * dashboard/sources.ts) goes with the sessions it describes: the rows matching a session about to be
   * purged, unless a session that stays matches them too (the same capture analysed again later).
   */
  private deleteSources(cut: number): number {
    if (!this.db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'dash_session_sources'").get()) return 0;
    const match = (s: string) =>
      `${s}.client_ip IS d.client_ip AND ${s}.client_port IS d.client_port AND ${s}.server_ip IS d.server_ip AND ${s}.server_port IS d.server_port
        AND ${s}.start_ms IS d.start_ms AND ${s}.sensor = d.sensor AND (d.flow_id IS ${s}.flow_id OR ${s}.flow_id IS NULL)`;
    return this.db
      .prepare(
        `DELETE FROM dash_session_sources WHERE rowid IN (
          SELECT d.rowid FROM sessions s JOIN dash_session_sources d ON ${match('s')} WHERE s.stored_ms < @cut
            AND NOT EXISTS (SELECT 1 FROM sessions k WHERE ${match('k')} AND k.stored_ms >= @cut))`,
      )
      .run({ cut }).changes;
  }

  private deleteOlder(table: string, cut: number): number {
    // oldest rowids first (stored_ms grows with rowid), in slices so the write lock is never held long
    const stmt = this.db.prepare(`DELETE FROM ${table} WHERE rowid IN (SELECT rowid FROM ${table} ORDER BY rowid LIMIT 5000) AND stored_ms < ?`);
    let n = 0;
    for (;;) {
      const c = stmt.run(cut).changes;
      n += c;
      if (c < 5000) return n;
    }
  }

  private writePending(): void {
    const now = this.now();
    this.ftsFrom = 0;
    const seen = new Map<string, [number, number]>();
    for (const ev of this.pending) {
      const sensor = cap(ev.sensor ?? this.opts.sensor, 64)!;
      const ts = ms(ev.ts, now);
      const s = seen.get(sensor);
      if (!s) seen.set(sensor, [ts, ts]);
      else (s[0] = Math.min(s[0], ts)), (s[1] = Math.max(s[1], ts));
      this.insert(ev, sensor, ts, now);
    }
    // ids only grow within a transaction (it holds the write lock), so these are this transaction's rows
    if (this.ftsFrom && this.ftsFill) this.ftsFill.run(this.ftsFrom);
    for (const [name, [a, b]] of seen) this.st.sensorSeen.run(name, a, b, now);
    if (!this.withRollups) return;
    const stmts = [this.st.r1m, this.st.r1h, this.st.r1d];
    this.roll.forEach((buckets, i) => {
      for (const [bucket, rows] of buckets) {
        for (const [k, c] of rows) {
          stmts[i].run(k.dim, bucket, k.sensor, k.protocol, k.key, ...c);
          // the users/hosts queries start from this list (storage/queries.ts usage())
          if (i === 2 && (k.dim === 1 || k.dim === 2)) this.st.rkey.run(k.dim, k.key, k.protocol, k.sensor, bucket, bucket);
        }
      }
    });
  }

  private insert(ev: ShadowEvent, sensor: string, ts: number, now: number): void {
    const e = ev as any;
    // one parameter object per event: each case adds its columns by assignment (a spread costs ~1 µs a property)
    const base: Record<string, unknown> = {
      sensor,
      ts_ms: ts,
      stored_ms: now,
      flow_id: cap(e.flow_id, 128),
      protocol: cap(e.protocol ?? '', 64) ?? '',
      client_ip: cap(e.client?.ip, 64),
      client_port: num(e.client?.port),
      server_ip: cap(e.server?.ip, 64),
      server_port: num(e.server?.port),
      zone: cap(e.zone, 64),
    };
    switch (ev.type) {
      case 'session': {
        const users = (Array.isArray(ev.users) ? ev.users : []).slice(0, 64).map((u) => cutBeforePair(String(u), MAX_FIELD));
        base.transport = cap(ev.transport, 8);
        base.server_name = cap(ev.server_name, 256);
        base.users = JSON.stringify(users);
        base.start_ms = ms(ev.start, ts);
        base.end_ms = ms(ev.end, ts);
        base.packets = num(ev.packets);
        base.bytes = num(ev.bytes);
        base.encrypted = ev.encrypted ? 1 : 0;
        base.service = cap(ev.service, 32);
        base.evidence = evidenceJson(ev.evidence);
        base.malformed = num(ev.malformed);
        base.gaps = num(ev.gaps);
        const id = this.st.session.run(base).lastInsertRowid;
        // the user filters and the report group by user name (an XMPP account, not each of its resources)
        for (const u of userNames(ev.protocol, users)) this.st.sessionUser.run(id, u);
        return;
      }
      case 'message': {
        const a = this.opts.archive;
        if (!a.enabled && !a.metadata) return;
        base.from_user = cap(ev.from);
        base.to_user = cap(ev.to);
        base.direction = cap(ev.direction, 16);
        base.kind = cap(ev.kind, 32);
        base.text = a.enabled ? cap(ev.text, MAX_TEXT) : null;
        const id = this.st.message.run(base).lastInsertRowid;
        this.ftsFrom ||= Number(id);
        return;
      }
      case 'file_transfer':
        base.from_user = cap(ev.from);
        base.to_user = cap(ev.to);
        base.filename = cap(ev.filename);
        base.size = num(ev.size);
        base.direction = cap(ev.direction, 16);
        base.stage = cap(ev.stage, 16);
        base.transfer_id = cap(ev.transfer_id, 128);
        base.complete = ev.complete === undefined ? null : ev.complete ? 1 : 0;
        base.observed_size = num(ev.observed_size);
        base.sha256 = cap(ev.sha256, 64);
        base.md5 = cap(ev.md5, 32);
        base.file_type = cap(ev.file_type, 64);
        base.verdict = cap(ev.verdict, 256);
        this.st.file.run(base);
        return;
      case 'alert': {
        const a = ev as AlertEvent;
        base.protocol = cap(a.protocol, 64);
        base.id = cap(a.id, 256) ?? `${sensor}:${ts}`;
        base.kind = cap(a.kind, 64) ?? 'unknown';
        base.severity = SEV_RANK[a.severity] ? a.severity : 'low';
        base.sev_rank = SEV_RANK[a.severity] ?? 1;
        base.summary = cap(a.summary, 4096) ?? '';
        base.users = JSON.stringify((Array.isArray(a.users) ? a.users : []).slice(0, 64).map((u) => cutBeforePair(String(u), MAX_FIELD)));
        base.person = cap(a.person);
        base.detector = cap(a.detector, 64);
        base.match = cap(a.match, 256);
        base.count = Math.max(1, num(a.count) ?? 1);
        this.st.alert.run(base);
        return;
      }
      case 'credential':
        base.user = cap(ev.user);
        base.mechanism = cap(ev.mechanism, 64);
        this.st.credential.run(base);
        return;
      case 'stats': {
        const last = this.lastStats.get(sensor);
        // cumulative counters: add what grew since the last report of this run
        const d = (k: keyof StatsEvent) => {
          const v = num((ev as any)[k]) ?? 0;
          const p = num((last as any)?.[k]) ?? 0;
          return v >= p ? v - p : v;
        };
        this.st.sensorAdd.run(sensor, d('packets'), d('bytes'), d('dropped'), d('malformed'), d('flows'), 0, now);
        this.lastStats.set(sensor, ev);
        return;
      }
      default:
        return; // event types this store does not know yet are left to other outputs
    }
  }

  private rollup(ev: ShadowEvent): void {
    const e = ev as any;
    let col: number, bytes = 0, add = 1;
    let users: string[] = [];
    const protocol = noTab(cap(e.protocol ?? '', 64) ?? '');
    switch (ev.type) {
      case 'session':
        col = C_SESSIONS;
        bytes = num(ev.bytes) ?? 0;
        users = ev.users ?? [];
        break;
      case 'message':
        col = C_MESSAGES;
        users = ev.from ? [ev.from] : [];
        break;
      case 'file_transfer':
        col = C_FILES;
        users = ev.from ? [ev.from] : [];
        break;
      case 'alert':
        col = C_ALERTS;
        add = alertOccurrences(ev);
        users = ev.users ?? [];
        break;
      default:
        return;
    }
    const ts = ms(ev.ts, this.now());
    const keys = this.keysOf(noTab(cap(ev.sensor ?? this.opts.sensor, 64)!), protocol);
    const rows: RollKey[] = [keys.sp, keys.all];
    for (const u of userNames(protocol, users.slice(0, 16))) rows.push(keyOf(keys.users, 1, keys.sp, noTab(u.slice(0, 256))));
    const ip = cap(e.client?.ip, 64);
    // inside a zoned tunnel a host is address@zone: two tenants' 10.0.0.5 are two rows
    if (ip) rows.push(keyOf(keys.hosts, 2, keys.sp, noTab(hostName(ip, cap(e.zone, 64) ?? undefined))));
    const sc = ev.type === 'alert' ? SEV_COL[ev.severity] : undefined;
    const unauth = ev.type === 'alert' && ev.kind === 'unauthorized_im';
    for (let i = 0; i < RESOLUTIONS.length; i++) {
      const bucket = Math.floor(ts / RESOLUTIONS[i]) * RESOLUTIONS[i];
      let m = this.roll[i].get(bucket);
      if (!m) this.roll[i].set(bucket, (m = new Map()));
      for (const k of rows) {
        let c = m.get(k);
        if (!c) m.set(k, (c = new Array(NCOL).fill(0)));
        c[col] += add;
        c[C_BYTES] += bytes;
        if (sc) c[sc] += add;
        if (unauth) c[C_UNAUTH] += add;
      }
    }
  }

  private keysOf(sensor: string, protocol: string): RollKeys {
    let bySensor = this.rollKeys.get(sensor);
    if (!bySensor) this.rollKeys.set(sensor, (bySensor = new Map()));
    let k = bySensor.get(protocol);
    if (!k) {
      const sp = { dim: 0, sensor, protocol, key: '' };
      bySensor.set(protocol, (k = { sp, all: { dim: 3, sensor: '', protocol, key: '' }, users: new Map(), hosts: new Map() }));
    }
    return k;
  }
}

function keyOf(m: Map<string, RollKey>, dim: number, sp: RollKey, key: string): RollKey {
  let k = m.get(key);
  if (!k) m.set(key, (k = { dim, sensor: sp.sensor, protocol: sp.protocol, key }));
  return k;
}

// tabs were separators in rollup keys once; kept out so a name keeps the key it had
const noTab = (s: string) => (s.includes('\t') ? s.replace(/\t/g, ' ') : s);

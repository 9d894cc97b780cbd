// Read side of the store: what the dashboard, `search` and `report` ask. Every function takes an open
// database (openStore(path, { readonly: true })) and plain values; times are epoch milliseconds and come
// back as ISO strings. All filters are bound parameters; sort keys are whitelisted.

import type Database from 'better-sqlite3';
import { hasFtsTable } from './store';
import { UsageError } from '../cli/args';
import { iso } from './time';
import { hostName, parseHostName } from '../common/zoneKey';
import { bareJid, JID_PROTOCOL_LIST } from '../common/userKey';
import { readEvidence } from './evidence';

type Db = Database.Database;

export interface Range {
  from: number;
  to: number;
  sensor?: string;
}

const HOUR = 3600_000;
const BUCKETS = [60_000, 300_000, 900_000, HOUR, 6 * HOUR, 24 * HOUR];
const MAX_POINTS = 1500;

/** The bucket a chart of `range` uses: the one asked for, made coarse enough for ≤ MAX_POINTS points. */
export function chooseBucket(from: number, to: number, asked?: number): number {
  const span = Math.max(1, to - from);
  let b = asked && asked >= 60_000 ? Math.round(asked / 60_000) * 60_000 : BUCKETS.find((x) => span / x <= 300) ?? 24 * HOUR;
  while (span / b > MAX_POINTS) b = BUCKETS.find((x) => x > b) ?? b * 2;
  return b;
}

const DAY = 24 * HOUR;
const SEVERITIES = ['critical', 'high', 'medium', 'low'] as const;

/** the coarsest rollup table whose resolution divides the bucket */
function rollupFor(bucket: number): { table: string; res: number } {
  if (bucket % DAY === 0) return { table: 'rollup_1d', res: DAY };
  return bucket % HOUR === 0 ? { table: 'rollup_1h', res: HOUR } : { table: 'rollup_1m', res: 60_000 };
}

export interface SeriesPoint {
  t: string;
  sessions: number;
  messages: number;
  files: number;
  bytes: number;
  alerts: number;
  unauthorized: number;
}

export interface Overview {
  from: string;
  to: string;
  bucket_ms: number;
  /** per protocol ('' = alerts with no protocol); points only for buckets with activity */
  series: Record<string, SeriesPoint[]>;
  totals: Record<string, Omit<SeriesPoint, 't'>>;
  /** alert occurrences in the range per severity (the severity each one fired with), from the same rows as `totals` */
  severity_occurrences: Record<string, number>;
}

/** Activity per protocol over time (sessions, messages, files, bytes, alerts, unauthorized-use alerts). */
export function overview(db: Db, q: Range & { bucketMs?: number; protocol?: string }): Overview {
  // all time (from 0): the chart starts at the store's first day, not at 1970
  if (q.from <= 0) {
    const first = (db.prepare('SELECT min(bucket_ms) AS t FROM rollup_1d WHERE dim = 0').get() as { t: number | null }).t;
    if (first !== null && first < q.to) q = { ...q, from: first };
  }
  const bucket = chooseBucket(q.from, q.to, q.bucketMs);
  const { table, res } = rollupFor(bucket);
  const from = Math.floor(q.from / res) * res;
  const rows = db
    .prepare(
      // integer floor to a multiple of @b (better-sqlite3 binds numbers as REAL, so `/` would not be
      // integer division; `%` works on integers); right for times before 1970 too
      `SELECT bucket_ms - ((bucket_ms % @b) + @b) % @b AS t, protocol, sum(sessions) AS sessions, sum(messages) AS messages, sum(files) AS files,
        sum(bytes) AS bytes, sum(alerts) AS alerts, sum(unauth) AS unauthorized,
        sum(al_critical) AS al_critical, sum(al_high) AS al_high, sum(al_medium) AS al_medium, sum(al_low) AS al_low
       FROM ${table} WHERE bucket_ms >= @from AND bucket_ms < @to
       ${q.sensor !== undefined ? 'AND dim = 0 AND sensor = @sensor' : "AND dim = 3 AND sensor = ''"} ${q.protocol !== undefined ? 'AND protocol = @protocol' : ''}
       GROUP BY t, protocol ORDER BY t`,
    )
    .all({ b: bucket, from, to: q.to, sensor: q.sensor, protocol: q.protocol }) as any[];
  // keyed by protocol names from the wire: no prototype, so '__proto__' or 'constructor' is a key like any other
  const series: Overview['series'] = Object.create(null);
  const totals: Overview['totals'] = Object.create(null);
  const severity_occurrences: Record<string, number> = { critical: 0, high: 0, medium: 0, low: 0 };
  for (const r of rows) {
    for (const s of SEVERITIES) severity_occurrences[s] += r[`al_${s}`];
    const p = { t: iso(r.t)!, sessions: r.sessions, messages: r.messages, files: r.files, bytes: r.bytes, alerts: r.alerts, unauthorized: r.unauthorized };
    (series[r.protocol] ??= []).push(p);
    const tt = (totals[r.protocol] ??= { sessions: 0, messages: 0, files: 0, bytes: 0, alerts: 0, unauthorized: 0 });
    tt.sessions += r.sessions, tt.messages += r.messages, tt.files += r.files, tt.bytes += r.bytes, tt.alerts += r.alerts, tt.unauthorized += r.unauthorized;
  }
  return { from: iso(q.from)!, to: iso(q.to)!, bucket_ms: bucket, series, totals, severity_occurrences };
}

export type UnauthorizedPoint = { t: string; count: number; by_protocol: Record<string, number> };

/** Unauthorized-IM alerts over time, total and per protocol. */
export function unauthorizedTrend(db: Db, q: Range & { bucketMs?: number }): { bucket_ms: number; points: UnauthorizedPoint[] } {
  const ov = overview(db, q);
  return { bucket_ms: ov.bucket_ms, points: unauthorizedPoints(ov) };
}

/** The unauthorized-IM counts of an overview per bucket (buckets without any left out), oldest first. */
export function unauthorizedPoints(ov: Overview): UnauthorizedPoint[] {
  const byT = new Map<string, UnauthorizedPoint>();
  for (const [proto, pts] of Object.entries(ov.series)) {
    for (const p of pts) {
      if (!p.unauthorized) continue;
      let e = byT.get(p.t);
      if (!e) byT.set(p.t, (e = { t: p.t, count: 0, by_protocol: Object.create(null) }));
      e.count += p.unauthorized;
      e.by_protocol[proto] = p.unauthorized;
    }
  }
  return [...byT.values()].sort((a, b) => (a.t < b.t ? -1 : 1));
}

/**
 * Alerts per severity in the range as stored rows count them (the report): distinct alerts active in the
 * range (by their highest severity), their whole counts (`occurrences`, also those outside the range), and
 * those not acknowledged.
 */
export function alertsBySeverity(db: Db, q: Range): Record<string, { occurrences: number; alerts: number; open: number }> {
  const out: Record<string, { occurrences: number; alerts: number; open: number }> = {};
  for (const s of SEVERITIES) out[s] = { occurrences: 0, alerts: 0, open: 0 };
  const rows = db
    .prepare(
      `SELECT severity, count(*) AS alerts, sum(count) AS occurrences, sum(acked = 0) AS open FROM alerts
       WHERE last_ms >= @from AND first_ms < @to ${q.sensor !== undefined ? 'AND sensor = @sensor' : ''} GROUP BY severity`,
    )
    .all({ from: q.from, to: q.to, sensor: q.sensor }) as any[];
  for (const r of rows) out[r.severity] = { occurrences: r.occurrences, alerts: r.alerts, open: r.open };
  return out;
}

/**
 * Alerts per severity as the overview shows them beside its totals: `alerts` and `open` are the distinct
 * alerts active in the range (what the alerts list shows), `occurrences` what fired in the range, from the
 * overview's own rollup rows. An alert row keeps only its lifetime count, so occurrences within a range
 * can only come from the rollups; the analyst reading "24 h" expects the last 24 hours, and the chart then
 * adds up to the alerts total beside it (sum(count) counted repeats from weeks before).
 */
export function overviewSeverity(db: Db, q: Range, ov: Overview): Record<string, { occurrences: number; alerts: number; open: number }> {
  const out = alertsBySeverity(db, q);
  for (const s of SEVERITIES) out[s].occurrences = ov.severity_occurrences[s];
  return out;
}

/** Unauthorized IM use in the range per protocol: the distinct `unauthorized_im` alerts active in it (what the alerts list shows), their whole counts, users and hosts. */
export function unauthorizedAlerts(db: Db, r: Range): Report['unauthorized'] {
  const sens = r.sensor !== undefined ? 'AND sensor = @sensor' : '';
  return db
    .prepare(
      `SELECT coalesce(protocol, '') AS protocol, count(*) AS alerts, sum(count) AS occurrences,
         (SELECT count(DISTINCT ${userSql('j.value', 'a2.protocol')}) FROM alerts a2, json_each(a2.users) j WHERE a2.kind = 'unauthorized_im'
            AND coalesce(a2.protocol, '') = coalesce(alerts.protocol, '') AND a2.last_ms >= @from AND a2.first_ms < @to ${sens.replace('sensor', 'a2.sensor')}) AS users,
         count(DISTINCT ${hostSql()}) AS hosts
       FROM alerts WHERE kind = 'unauthorized_im' AND last_ms >= @from AND first_ms < @to ${sens} GROUP BY coalesce(protocol, '') ORDER BY occurrences DESC, protocol`,
    )
    .all({ from: r.from, to: r.to, sensor: r.sensor }) as any[];
}

/**
 * "Unauthorized-use alerts" as one number (the overview's tile and the report's): the distinct alerts, so
 * it is the rows the alerts list shows for the range, in the same unit as "open alerts" beside it, and
 * exact from the stored rows (the report reads no rollups; a row's count also holds repeats outside the
 * range). The overview's trend and totals show occurrences and say so.
 */
export const unauthorizedAlertCount = (rows: Report['unauthorized']): number => rows.reduce((a, u) => a + (Number(u.alerts) || 0), 0);

/** What the dashboard's overview shows: activity per protocol, the unauthorized trend, alerts by severity, the unauthorized-use alerts. */
export function overviewPage(db: Db, q: Range & { bucketMs?: number }) {
  const ov = overview(db, q);
  return { ...ov, unauthorized: unauthorizedPoints(ov), severity: overviewSeverity(db, q, ov), unauthorized_alerts: unauthorizedAlertCount(unauthorizedAlerts(db, q)) };
}

export interface Endpoint {
  ip: string;
  port: number | null;
}

const endpoint = (ip: string | null, port: number | null): Endpoint | null => (ip ? { ip, port } : null);

export interface AlertRow {
  id: string;
  first_seen: string;
  last_seen: string;
  sensor: string;
  kind: string;
  severity: string;
  protocol: string | null;
  summary: string;
  client: Endpoint | null;
  server: Endpoint | null;
  users: string[];
  person: string | null;
  detector: string | null;
  match: string | null;
  count: number;
  flow_id: string | null;
  acked: boolean;
  acked_by: string | null;
  acked_at: string | null;
  ack_note: string | null;
  /** tunnel zone of the flow, only when it was in one */
  zone?: string;
}

/** a stored row's tunnel zone on its answer, only when it has one (rows outside tunnels are as before) */
function withZone<T extends { zone?: string }>(row: T, r: any): T {
  if (r.zone) row.zone = r.zone;
  return row;
}

function alertRow(r: any): AlertRow {
  return withZone<AlertRow>({
    id: r.id,
    first_seen: iso(r.first_ms)!,
    last_seen: iso(r.last_ms)!,
    sensor: r.sensor,
    kind: r.kind,
    severity: r.severity,
    protocol: r.protocol,
    summary: r.summary,
    client: endpoint(r.client_ip, r.client_port),
    server: endpoint(r.server_ip, r.server_port),
    users: safeJson(r.users, []),
    person: r.person,
    detector: r.detector,
    match: r.match,
    count: r.count,
    flow_id: r.flow_id,
    acked: !!r.acked,
    acked_by: r.acked_by,
    acked_at: iso(r.acked_at_ms),
    ack_note: r.ack_note,
  }, r);
}

function safeJson<T>(s: string | null, dflt: T): T {
  try {
    return s ? JSON.parse(s) : dflt;
  } catch {
    return dflt;
  }
}

export interface AlertFilter extends Partial<Range> {
  severity?: string[];
  kind?: string[];
  protocol?: string[];
  /** true = acknowledged only, false = open only */
  acked?: boolean;
  user?: string;
  host?: string;
  /** words in the summary */
  q?: string;
  sort?: 'last_seen' | 'first_seen' | 'severity' | 'count' | 'kind' | 'protocol';
  order?: 'asc' | 'desc';
  limit?: number;
  offset?: number;
}

const ALERT_SORT: Record<string, string> = {
  last_seen: 'last_ms',
  first_seen: 'first_ms',
  severity: 'sev_rank',
  count: 'count',
  kind: 'kind',
  protocol: 'protocol',
};

function inList(col: string, vals: string[] | undefined, params: Record<string, unknown>, name: string): string {
  if (!vals?.length) return '';
  const keys = vals.slice(0, 50).map((v, i) => ((params[`${name}${i}`] = v), `@${name}${i}`));
  return ` AND ${col} IN (${keys.join(',')})`;
}

/** common/zoneKey.ts hostName in SQL, of the row (or table alias `t`): address, or address@zone */
const hostSql = (t = '') => `${t}client_ip || coalesce('@' || ${t}zone, '')`;

const JID_IN = JID_PROTOCOL_LIST.map((x) => `'${x}'`).join(', ');

/**
 * For a bare JID (local@domain) as `user`: binds @jidLo/@jidHi, the range of its full JIDs
 * (local@domain/…) in text order, and returns the SQL of a column in that range (an index range scan);
 * for anything else binds nothing and returns undefined.
 */
function fullJidsOf(user: string, p: Record<string, unknown>): ((col: string) => string) | undefined {
  const at = user.indexOf('@');
  if (at <= 0 || at === user.length - 1 || user.includes('/')) return undefined;
  p.jidLo = `${user}/`;
  p.jidHi = `${user}0`; // '0' is the character after '/'
  return (col) => `(${col} >= @jidLo AND ${col} < @jidHi)`;
}

/** The `user` filter of sessions: the name as session_users keeps it (an XMPP account by its bare JID), and in stores written before names were grouped, the full JIDs of an account */
function sessionUserFilter(user: string, p: Record<string, unknown>): string {
  p.user = user;
  p.bareJid = bareJid(user);
  const full = fullJidsOf(user, p);
  const jidUsers = `user = @bareJid${full ? ` OR ${full('user')}` : ''}`;
  return ` AND (id IN (SELECT session_id FROM session_users WHERE user = @user) OR (protocol IN (${JID_IN}) AND id IN (SELECT session_id FROM session_users WHERE ${jidUsers})))`;
}

/** The SQL twin of common/userKey.ts userName: the user name `v` (of a row of protocol `proto`) as the users page groups it, an XMPP full JID without its resource */
const userSql = (v: string, proto: string) =>
  `(CASE WHEN ${proto} IN (${JID_IN}) AND instr(${v}, '@') > 1 AND instr(${v}, '/') > instr(${v}, '@') + 1 THEN substr(${v}, 1, instr(${v}, '/') - 1) ELSE ${v} END)`;

/** `host` (an address, or address@zone as the hosts page names a host in a tunnel zone) as SQL */
function hostFilter(host: string, params: Record<string, unknown>): string {
  const h = parseHostName(host);
  params.host = h.ip;
  if (h.zone === undefined) return ' AND (client_ip = @host OR server_ip = @host)';
  params.host_zone = h.zone;
  return ' AND (client_ip = @host OR server_ip = @host) AND zone = @host_zone';
}

/** Alert list with filters, sort and paging; `total` counts all matches. */
export function listAlerts(db: Db, f: AlertFilter = {}): { total: number; rows: AlertRow[] } {
  const p: Record<string, unknown> = {};
  let where = 'WHERE 1=1';
  if (f.from !== undefined) (where += ' AND last_ms >= @from'), (p.from = f.from);
  if (f.to !== undefined) (where += ' AND first_ms < @to'), (p.to = f.to);
  if (f.sensor !== undefined) (where += ' AND sensor = @sensor'), (p.sensor = f.sensor);
  where += inList('severity', f.severity, p, 'sev') + inList('kind', f.kind, p, 'kind') + inList('protocol', f.protocol, p, 'proto');
  if (f.acked !== undefined) (where += ' AND acked = @acked'), (p.acked = f.acked ? 1 : 0);
  // a user name as the users page lists it: an XMPP account matches every resource of it
  if (f.user) (where += ` AND EXISTS (SELECT 1 FROM json_each(alerts.users) WHERE value = @user OR ${userSql('value', 'alerts.protocol')} = @user)`), (p.user = f.user);
  if (f.host) where += hostFilter(f.host, p);
  if (f.q) (where += " AND summary LIKE @q ESCAPE '\\'"), (p.q = `%${likeEscape(f.q)}%`);
  // own keys only: ?sort=constructor must not put Object.prototype's function text into the SQL
  const col = (f.sort && Object.hasOwn(ALERT_SORT, f.sort) && ALERT_SORT[f.sort]) || 'last_ms';
  const dir = f.order === 'asc' ? 'ASC' : 'DESC';
  const limit = clampInt(f.limit, 1, 1000, 50);
  const offset = clampInt(f.offset, 0, 1e9, 0);
  const total = (db.prepare(`SELECT count(*) AS n FROM alerts ${where}`).get(p) as any).n;
  const rows = db.prepare(`SELECT * FROM alerts ${where} ORDER BY ${col} ${dir}, last_ms DESC, id LIMIT ${limit} OFFSET ${offset}`).all(p) as any[];
  return { total, rows: rows.map(alertRow) };
}

/** One alert with its session(s), messages and files of the same flow, and the session evidence. */
export function getAlert(db: Db, id: string): null | {
  alert: AlertRow;
  sessions: SessionRow[];
  messages: MessageRow[];
  files: any[];
  evidence: Array<{ signature: string; reason: string }>;
} {
  const r = db.prepare('SELECT * FROM alerts WHERE id = ?').get(id);
  if (!r) return null;
  const alert = alertRow(r);
  let sessions: SessionRow[] = [], messages: MessageRow[] = [], files: any[] = [];
  if (alert.flow_id) {
    sessions = (db.prepare('SELECT * FROM sessions WHERE flow_id = ? ORDER BY ts_ms LIMIT 20').all(alert.flow_id) as any[]).map(sessionRow);
    messages = (db.prepare('SELECT * FROM messages WHERE flow_id = ? ORDER BY ts_ms, id LIMIT 200').all(alert.flow_id) as any[]).map(messageRow);
    files = (db.prepare('SELECT * FROM file_transfers WHERE flow_id = ? ORDER BY ts_ms, id LIMIT 100').all(alert.flow_id) as any[]).map(fileRow);
  }
  const evidence = sessions.flatMap((s) => s.evidence);
  return { alert, sessions, messages, files, evidence };
}

/** Acknowledges an alert (the dashboard's button). false when there is no such alert. */
export function ackAlert(db: Db, id: string, by: string, note?: string, now = Date.now()): boolean {
  return db.prepare('UPDATE alerts SET acked = 1, acked_by = ?, acked_at_ms = ?, ack_note = ? WHERE id = ?').run(by.slice(0, 256), now, note?.slice(0, 4096) ?? null, id).changes > 0;
}

export function unackAlert(db: Db, id: string): boolean {
  return db.prepare('UPDATE alerts SET acked = 0, acked_by = NULL, acked_at_ms = NULL, ack_note = NULL WHERE id = ?').run(id).changes > 0;
}

export interface UsageRow {
  name: string;
  protocol: string;
  sessions: number;
  messages: number;
  files: number;
  bytes: number;
  /** distinct alerts active in the range of this user or host and protocol: what the alerts list shows for them */
  alerts: number;
  /** the starts of the rollup buckets holding the first and last activity in the range (never before it) */
  first_seen: string;
  last_seen: string;
  /** how precise first_seen/last_seen are: the rollup the range was read from */
  seen_to: 'minute' | 'hour' | 'day';
}

type UsageQuery = Range & { protocol?: string; sort?: string; limit?: number; offset?: number; name?: string };

function usage(db: Db, dim: 1 | 2, q: UsageQuery): UsageRow[] {
  if (q.sort !== 'alerts') return withAlertCounts(db, dim, q, usageRows(db, dim, q));
  // the rollups count occurrences, not the alerts column: every row of the range by name, then a stable
  // sort by alerts (ties stay in name order), then the page
  const all = withAlertCounts(db, dim, q, usageRows(db, dim, { ...q, sort: 'name' }, true));
  const offset = clampInt(q.offset, 0, 1e9, 0);
  return all.sort((a, b) => b.alerts - a.alerts).slice(offset, offset + clampInt(q.limit, 1, 10000, 100));
}

/**
 * Sets each row's `alerts` to the distinct alerts active in the range of that user or host and protocol,
 * counted as listAlerts counts them (user in the alert's users; host as client or server address, a bare
 * address in every zone), so the number is the list the row links to. Alerts of no protocol count for
 * the row of protocol ''.
 */
function withAlertCounts(db: Db, dim: 1 | 2, q: UsageQuery, rows: UsageRow[]): UsageRow[] {
  if (!rows.length) return rows;
  const p: Record<string, unknown> = { from: q.from, to: q.to, sensor: q.sensor, protocol: q.protocol };
  const where = `a.last_ms >= @from AND a.first_ms < @to ${q.sensor !== undefined ? 'AND a.sensor = @sensor' : ''} ${q.protocol !== undefined ? 'AND a.protocol = @protocol' : ''}`;
  const n = new Map<string, number>();
  if (dim === 1) {
    p.names = JSON.stringify([...new Set(rows.map((r) => r.name))]);
    const got = db
      .prepare(
        `SELECT ${userSql('j.value', 'a.protocol')} AS name, coalesce(a.protocol, '') AS proto, count(DISTINCT a.id) AS n FROM alerts a, json_each(a.users) j
         WHERE ${where} AND ${userSql('j.value', 'a.protocol')} IN (SELECT value FROM json_each(@names)) GROUP BY 1, 2`,
      )
      .all(p) as any[];
    for (const r of got) n.set(`${r.name}\t${r.proto}`, r.n);
  } else {
    const ips = new Set(rows.map((r) => parseHostName(r.name).ip));
    p.ips = JSON.stringify([...ips]);
    const got = db
      .prepare(
        `SELECT a.client_ip, a.server_ip, a.zone, coalesce(a.protocol, '') AS proto FROM alerts a
         WHERE ${where} AND (a.client_ip IN (SELECT value FROM json_each(@ips)) OR a.server_ip IN (SELECT value FROM json_each(@ips)))`,
      )
      .all(p) as any[];
    for (const a of got) {
      const keys = new Set<string>();
      for (const ip of [a.client_ip, a.server_ip]) {
        if (!ips.has(ip)) continue;
        keys.add(`${ip}\t${a.proto}`);
        if (a.zone) keys.add(`${hostName(ip, a.zone)}\t${a.proto}`);
      }
      for (const k of keys) n.set(k, (n.get(k) ?? 0) + 1);
    }
  }
  for (const r of rows) r.alerts = n.get(`${r.name}\t${r.protocol}`) ?? 0;
  return rows;
}

function usageRows(db: Db, dim: 1 | 2, q: UsageQuery, all = false): UsageRow[] {
  // up to 6 hours from per-minute rollups, up to 3 days hourly, longer daily (first/last seen round to that)
  const span = q.to - q.from;
  const { table, res } = rollupFor(span <= 6 * HOUR ? 60_000 : span <= 3 * DAY ? HOUR : DAY);
  const sort = q.sort && ['bytes', 'sessions', 'messages', 'name'].includes(q.sort) ? q.sort : 'bytes';
  const limit = all ? -1 : clampInt(q.limit, 1, 10000, 100);
  const offset = all ? 0 : clampInt(q.offset, 0, 1e9, 0);
  const p = { from: Math.floor(q.from / res) * res, to: q.to, sensor: q.sensor, protocol: q.protocol, name: q.name };
  const filter = (t: string) =>
    `${q.sensor !== undefined ? `AND ${t}.sensor = @sensor` : ''} ${q.protocol !== undefined ? `AND ${t}.protocol = @protocol` : ''} ${q.name !== undefined ? `AND ${t}.key = @name` : ''}`;
  // no alerts: the rollups count occurrences, withAlertCounts the alerts the row links to
  const sums = `sum(r.sessions) AS sessions, sum(r.messages) AS messages, sum(r.files) AS files, sum(r.bytes) AS bytes,
    min(r.bucket_ms) AS first_ms, max(r.bucket_ms) + ${res} AS last_ms`;
  const order = `ORDER BY ${sort === 'name' ? '' : `${sort} DESC, `}name, proto`;
  let rows: any[];
  if (table === 'rollup_1m') {
    // a few hours: few rows, grouped straight from the per-minute table
    rows = db
      .prepare(
        `SELECT r.key AS name, r.protocol AS proto, ${sums} FROM rollup_1m r WHERE r.dim = ${dim} AND r.bucket_ms >= @from AND r.bucket_ms < @to ${filter('r')}
         GROUP BY r.key, r.protocol ${order} LIMIT ${limit} OFFSET ${offset}`,
      )
      .all(p) as any[];
  } else {
    // Each (key, protocol, sensor) the range may hold is read from the usage index, in key order, so
    // nothing sorts every row of the range. First only the sort column, to pick the page; then the
    // full sums of the page's rows alone (summing every column of every row costs twice as much).
    const join = `CROSS JOIN ${table} r INDEXED BY ${table}_usage ON r.dim = ${dim} AND r.key = k.key AND r.protocol = k.protocol
        AND r.sensor = k.sensor AND r.bucket_ms >= @from AND r.bucket_ms < @to
      WHERE k.dim = ${dim} AND k.first_ms < @to AND k.last_ms > @from - ${DAY} ${filter('k')}`;
    const page = db
      .prepare(
        `SELECT k.key AS name, k.protocol AS proto${sort === 'name' ? '' : `, sum(r.${sort}) AS ${sort}`} FROM rollup_keys k ${join}
         GROUP BY k.key, k.protocol ${order} LIMIT ${limit} OFFSET ${offset}`,
      )
      .all(p) as any[];
    if (!page.length) return [];
    const full = db
      .prepare(
        `SELECT j.key AS i, k.key AS name, k.protocol AS proto, ${sums}
         FROM json_each(@page) j CROSS JOIN rollup_keys k ON k.dim = ${dim} AND k.key = j.value ->> 0 AND k.protocol = j.value ->> 1 ${join}
         GROUP BY j.key`,
      )
      .all({ ...p, page: JSON.stringify(page.map((r) => [r.name, r.proto])) }) as any[];
    rows = full.sort((a, b) => a.i - b.i);
  }
  // the starts of the first and last buckets with activity (not the last one's end: today's daily bucket
  // ends at tomorrow's midnight), never before the range; seen_to says how precise they are
  const seen_to = res === DAY ? 'day' : res === HOUR ? 'hour' : 'minute';
  return rows.map((r) => ({
    name: r.name, protocol: r.proto, sessions: r.sessions, messages: r.messages, files: r.files, bytes: r.bytes, alerts: 0,
    first_seen: iso(Math.max(r.first_ms, q.from))!, last_seen: iso(Math.max(r.last_ms - res, q.from))!, seen_to,
  }));
}

/** Who uses which IM: one row per (user, protocol). */
export function users(db: Db, q: Range & { protocol?: string; user?: string; sort?: 'bytes' | 'sessions' | 'messages' | 'alerts' | 'name'; limit?: number; offset?: number }): UsageRow[] {
  return usage(db, 1, { ...q, name: q.user });
}

/** Top talkers: one row per (client host, protocol). */
export function hosts(db: Db, q: Range & { protocol?: string; host?: string; sort?: 'bytes' | 'sessions' | 'messages' | 'alerts' | 'name'; limit?: number; offset?: number }): UsageRow[] {
  return usage(db, 2, { ...q, name: q.host });
}

export interface SessionRow {
  id: number;
  flow_id: string | null;
  sensor: string;
  protocol: string;
  transport: string | null;
  client: Endpoint;
  server: Endpoint;
  server_name: string | null;
  users: string[];
  start: string | null;
  end: string | null;
  packets: number | null;
  bytes: number | null;
  encrypted: boolean;
  service: string | null;
  evidence: Array<{ signature: string; reason: string }>;
  zone?: string;
}

function sessionRow(r: any): SessionRow {
  return withZone<SessionRow>({
    id: r.id,
    flow_id: r.flow_id,
    sensor: r.sensor,
    protocol: r.protocol,
    transport: r.transport,
    client: { ip: r.client_ip, port: r.client_port },
    server: { ip: r.server_ip, port: r.server_port },
    server_name: r.server_name,
    users: safeJson(r.users, []),
    start: iso(r.start_ms),
    end: iso(r.end_ms),
    packets: r.packets,
    bytes: r.bytes,
    encrypted: !!r.encrypted,
    service: r.service,
    evidence: readEvidence(r.evidence),
  }, r);
}

/** Sessions in a range (newest first), optionally of one user, host or protocol. */
export function listSessions(db: Db, q: Range & { user?: string; host?: string; protocol?: string; limit?: number; offset?: number }): { total: number; rows: SessionRow[] } {
  const p: Record<string, unknown> = { from: q.from, to: q.to };
  let where = 'WHERE ts_ms >= @from AND ts_ms < @to';
  if (q.sensor !== undefined) (where += ' AND sensor = @sensor'), (p.sensor = q.sensor);
  if (q.protocol !== undefined) (where += ' AND protocol = @protocol'), (p.protocol = q.protocol);
  if (q.host !== undefined) where += hostFilter(q.host, p);
  if (q.user !== undefined) where += sessionUserFilter(q.user, p);
  const limit = clampInt(q.limit, 1, 1000, 50);
  const offset = clampInt(q.offset, 0, 1e9, 0);
  const total = (db.prepare(`SELECT count(*) AS n FROM sessions ${where}`).get(p) as any).n;
  const rows = db.prepare(`SELECT * FROM sessions ${where} ORDER BY ts_ms DESC, id DESC LIMIT ${limit} OFFSET ${offset}`).all(p) as any[];
  return { total, rows: rows.map(sessionRow) };
}

export interface MessageRow {
  id: number;
  ts: string;
  sensor: string;
  protocol: string;
  from: string | null;
  to: string | null;
  direction: string | null;
  kind: string | null;
  client: Endpoint | null;
  server: Endpoint | null;
  /** null when the archive was off when the message was stored */
  text: string | null;
  flow_id: string | null;
  zone?: string;
}

function messageRow(r: any): MessageRow {
  return withZone<MessageRow>({
    id: r.id,
    ts: iso(r.ts_ms)!,
    sensor: r.sensor,
    protocol: r.protocol,
    from: r.from_user,
    to: r.to_user,
    direction: r.direction,
    kind: r.kind,
    client: endpoint(r.client_ip, r.client_port),
    server: endpoint(r.server_ip, r.server_port),
    text: r.text,
    flow_id: r.flow_id,
  }, r);
}

/** a file_transfers row (SELECT *): its columns in table order (schema.ts), then the renamed ones; a literal, not a rest spread (~1 µs a property) */
function fileRow(r: any): any {
  return withZone<any>({
    id: r.id, sensor: r.sensor, protocol: r.protocol, flow_id: r.flow_id, filename: r.filename, size: r.size, direction: r.direction, stage: r.stage, transfer_id: r.transfer_id,
    complete: r.complete === null ? null : !!r.complete, observed_size: r.observed_size, sha256: r.sha256, md5: r.md5, file_type: r.file_type, verdict: r.verdict,
    ts: iso(r.ts_ms), from: r.from_user, to: r.to_user, client: endpoint(r.client_ip, r.client_port), server: endpoint(r.server_ip, r.server_port),
  }, r);
}

export interface MessageQuery extends Partial<Range> {
  /** sender or recipient */
  user?: string;
  protocol?: string;
  /** words that must all occur in the text (full-text index when the SQLite has FTS5, else substring match) */
  text?: string;
  flow_id?: string;
  limit?: number;
  offset?: number;
  /** oldest first (default newest first) */
  order?: 'asc' | 'desc';
}

/** The most different words a text search takes: each is a lookup in the index (1,000 took 0.3–1.8 s on 200,000 messages). */
export const MAX_SEARCH_WORDS = 32;

/** A search the user asked for that cannot run (too many words): one line; the dashboard answers 400, `search` exits 2. */
export class SearchError extends UsageError {
  readonly status = 400;
}

/** the tokenizer of messages_fts (storage/schema.ts) */
const FTS_TOKENIZE = 'unicode61 remove_diacritics 2';
let wordsOf: ((text: string) => string[]) | undefined;

/**
 * The words of a search text as the full-text index splits the stored texts (FTS5 unicode61: case and
 * diacritics folded, `_` and marks it does not fold are separators), from that tokenizer itself on a
 * table in memory. A word split otherwise (a regex's `foo_bar`, `e\u0301te`) either is never found or,
 * as two tokens in one quoted string, is a phrase query, which the index (detail=none) refuses with an
 * SQLite error.
 */
export function indexWords(text: string): string[] {
  if (!wordsOf) {
    const Sqlite = require('better-sqlite3') as typeof import('better-sqlite3');
    const mem = new Sqlite(':memory:');
    mem.exec(`CREATE VIRTUAL TABLE w USING fts5(t, tokenize='${FTS_TOKENIZE}'); CREATE VIRTUAL TABLE wv USING fts5vocab(w, 'instance');`);
    const ins = mem.prepare('INSERT INTO w (rowid, t) VALUES (1, ?)');
    const sel = mem.prepare('SELECT term FROM wv ORDER BY "offset"').pluck();
    const del = mem.prepare('DELETE FROM w');
    wordsOf = (t) => {
      ins.run(t);
      try {
        return sel.all() as string[];
      } finally {
        del.run();
      }
    };
  }
  return wordsOf(text);
}

/** The most messages one page of the dashboard's /api/messages holds (a text is up to 65,536 characters). */
export const MESSAGE_PAGE_MAX = 1000;

/** Conversation search: the archive, filtered, newest first, paged. `total` counts all matches. */
export function searchMessages(db: Db, q: MessageQuery): { total: number; rows: MessageRow[] } {
  const f = messageFilter(db, q);
  if (!f) return { total: 0, rows: [] };
  const { where, p } = f;
  const limit = clampInt(q.limit, 1, 100000, 100);
  const offset = clampInt(q.offset, 0, 1e9, 0);
  const dir = q.order === 'asc' ? 'ASC' : 'DESC';
  const total = (db.prepare(`SELECT count(*) AS n FROM messages m ${where}`).get(p) as any).n;
  const rows = db.prepare(`SELECT m.* FROM messages m ${where} ORDER BY m.ts_ms ${dir}, m.id ${dir} LIMIT ${limit} OFFSET ${offset}`).all(p) as any[];
  return { total, rows: rows.map(messageRow) };
}

/**
 * The messages of a search, in the search's order, `page` rows at a time (an export). Each page is a
 * query of its own, continuing after the last row of the one before (time, id): no statement stays open
 * between pages, so the caller may wait (a slow client) while the connection serves other requests.
 */
export function* messagePages(db: Db, q: MessageQuery, page = 200): Generator<MessageRow[]> {
  const f = messageFilter(db, q);
  if (!f) return;
  const dir = q.order === 'asc' ? 'ASC' : 'DESC';
  const op = q.order === 'asc' ? '>' : '<';
  const next = db.prepare(`SELECT m.* FROM messages m ${f.where} AND (m.ts_ms ${op} @kts OR (m.ts_ms = @kts AND m.id ${op} @kid)) ORDER BY m.ts_ms ${dir}, m.id ${dir} LIMIT ${page}`);
  // the first page from q.offset, as the list's pages (was: ignored, the export always began at the first row)
  const offset = clampInt(q.offset, 0, 1e9, 0);
  let rows = db.prepare(`SELECT m.* FROM messages m ${f.where} ORDER BY m.ts_ms ${dir}, m.id ${dir} LIMIT ${page} OFFSET ${offset}`).all(f.p) as any[];
  while (rows.length) {
    const last = rows[rows.length - 1];
    yield rows.map(messageRow);
    if (rows.length < page) return;
    rows = next.all({ ...f.p, kts: last.ts_ms, kid: last.id }) as any[];
  }
}

/** the WHERE clause of a message search and its parameters; undefined: a search text with no word matches nothing */
function messageFilter(db: Db, q: MessageQuery): { where: string; p: Record<string, unknown> } | undefined {
  const p: Record<string, unknown> = {};
  let where = 'WHERE 1=1';
  if (q.from !== undefined) (where += ' AND m.ts_ms >= @from'), (p.from = q.from);
  if (q.to !== undefined) (where += ' AND m.ts_ms < @to'), (p.to = q.to);
  if (q.sensor !== undefined) (where += ' AND m.sensor = @sensor'), (p.sensor = q.sensor);
  if (q.protocol !== undefined) (where += ' AND m.protocol = @protocol'), (p.protocol = q.protocol);
  if (q.flow_id !== undefined) (where += ' AND m.flow_id = @flow'), (p.flow = q.flow_id);
  if (q.user !== undefined) {
    p.user = q.user;
    // an XMPP account (bare JID) matches its messages from and to every resource of it (index range scans)
    const full = fullJidsOf(q.user, p);
    // one OR term per column, each a range on its own index
    const res = (c: string) => (full ? ` OR (${full(c)} AND m.protocol IN (${JID_IN}))` : '');
    where += ` AND (m.from_user = @user OR m.to_user = @user${res('m.from_user')}${res('m.to_user')})`;
  }
  if (q.text !== undefined && q.text.trim()) {
    const fts = hasFtsTable(db);
    // the index's own words (see indexWords), so every word is one token, as in the stored texts
    const words = [...new Set(fts ? indexWords(q.text) : q.text.match(/[\p{L}\p{N}_]+/gu) ?? [])];
    if (!words.length) return undefined;
    if (words.length > MAX_SEARCH_WORDS) throw new SearchError(`the search text has ${words.length} different words, more than the ${MAX_SEARCH_WORDS} a search takes; search for fewer words`);
    if (fts) {
      // each word quoted: the user's text is never FTS syntax
      p.fts = words.map((w) => `"${w.replace(/"/g, '""')}"`).join(' ');
      where += ' AND m.id IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH @fts)';
    } else {
      words.forEach((w, i) => ((p[`w${i}`] = `%${likeEscape(w)}%`), (where += ` AND m.text LIKE @w${i} ESCAPE '\\'`)));
    }
  }
  return { where, p };
}

export interface SensorRow {
  name: string;
  first_seen: string | null;
  last_seen: string | null;
  packets: number;
  bytes: number;
  dropped: number;
  malformed: number;
  flows: number;
  spool_dropped: number;
  updated: string | null;
}

/** The sensors that wrote to this store and their counters. */
export function sensors(db: Db): SensorRow[] {
  return (db.prepare('SELECT * FROM sensors ORDER BY name').all() as any[]).map((r) => ({
    name: r.name,
    first_seen: iso(r.first_seen_ms),
    last_seen: iso(r.last_seen_ms),
    packets: r.packets,
    bytes: r.bytes,
    dropped: r.dropped,
    malformed: r.malformed,
    flows: r.flows,
    spool_dropped: r.spool_dropped,
    updated: iso(r.updated_ms),
  }));
}

export interface Report {
  from: string;
  to: string;
  protocols: Array<{ protocol: string; sessions: number; users: number; hosts: number; bytes: number; messages: number; files: number; encrypted_sessions: number }>;
  top_users: Array<{ user: string; protocols: string; sessions: number; messages: number; bytes: number }>;
  top_hosts: Array<{ host: string; protocols: string; sessions: number; users: number; bytes: number }>;
  alerts_by_kind: Array<{ kind: string; severity: string; alerts: number; occurrences: number; open: number }>;
  alerts_by_severity: Record<string, { occurrences: number; alerts: number; open: number }>;
  unauthorized: Array<{ protocol: string; alerts: number; occurrences: number; users: number; hosts: number }>;
}

/** The usage report: exact counts from the stored rows (not rollups) over [from, to). */
export function report(db: Db, r: Range & { top?: number }): Report {
  const p = { from: r.from, to: r.to, sensor: r.sensor };
  const sens = r.sensor !== undefined ? 'AND sensor = @sensor' : '';
  const top = clampInt(r.top, 1, 1000, 10);
  const protocols = db
    .prepare(
      `WITH s AS (SELECT * FROM sessions WHERE ts_ms >= @from AND ts_ms < @to ${sens}),
            m AS (SELECT protocol, count(*) AS n FROM messages WHERE ts_ms >= @from AND ts_ms < @to ${sens} GROUP BY protocol),
            f AS (SELECT protocol, count(*) AS n FROM file_transfers WHERE ts_ms >= @from AND ts_ms < @to ${sens} GROUP BY protocol),
            u AS (SELECT s.protocol, ${userSql('su.user', 's.protocol')} AS user FROM s JOIN session_users su ON su.session_id = s.id
                  UNION SELECT protocol, ${userSql('from_user', 'protocol')} FROM messages WHERE ts_ms >= @from AND ts_ms < @to AND from_user IS NOT NULL ${sens}),
            protos AS (SELECT protocol FROM s UNION SELECT protocol FROM m UNION SELECT protocol FROM f)
       SELECT protos.protocol AS protocol,
         (SELECT count(*) FROM s WHERE s.protocol = protos.protocol) AS sessions,
         (SELECT count(DISTINCT user) FROM u WHERE u.protocol = protos.protocol) AS users,
         (SELECT count(DISTINCT ${hostSql()}) FROM s WHERE s.protocol = protos.protocol) AS hosts,
         (SELECT coalesce(sum(bytes), 0) FROM s WHERE s.protocol = protos.protocol) AS bytes,
         (SELECT coalesce(sum(encrypted), 0) FROM s WHERE s.protocol = protos.protocol) AS encrypted_sessions,
         coalesce((SELECT n FROM m WHERE m.protocol = protos.protocol), 0) AS messages,
         coalesce((SELECT n FROM f WHERE f.protocol = protos.protocol), 0) AS files
       FROM protos ORDER BY bytes DESC, sessions DESC, protocol`,
    )
    .all(p) as any[];
  const top_users = db
    .prepare(
      `WITH a AS (
         SELECT ${userSql('su.user', 's.protocol')} AS user, s.protocol, 1 AS sessions, 0 AS messages, coalesce(s.bytes, 0) AS bytes
           FROM sessions s JOIN session_users su ON su.session_id = s.id WHERE s.ts_ms >= @from AND s.ts_ms < @to ${sens.replace('sensor', 's.sensor')}
         UNION ALL
         SELECT ${userSql('from_user', 'protocol')}, protocol, 0, 1, 0 FROM messages WHERE ts_ms >= @from AND ts_ms < @to AND from_user IS NOT NULL ${sens})
       SELECT user, group_concat(DISTINCT protocol) AS protocols, sum(sessions) AS sessions, sum(messages) AS messages, sum(bytes) AS bytes
       FROM a GROUP BY user ORDER BY bytes DESC, messages DESC, sessions DESC, user LIMIT ${top}`,
    )
    .all(p) as any[];
  // a host inside a zoned tunnel is address@zone (common/zoneKey.ts hostName): two tenants' 10.0.0.5 are two hosts
  const top_hosts = db
    .prepare(
      `WITH h AS (SELECT ${hostSql()} AS host, group_concat(DISTINCT protocol) AS protocols, count(*) AS sessions, coalesce(sum(bytes), 0) AS bytes
                  FROM sessions WHERE ts_ms >= @from AND ts_ms < @to AND client_ip IS NOT NULL ${sens} GROUP BY host),
            hu AS (SELECT ${hostSql('s.')} AS host, count(DISTINCT ${userSql('su.user', 's.protocol')}) AS users FROM sessions s JOIN session_users su ON su.session_id = s.id
                  WHERE s.ts_ms >= @from AND s.ts_ms < @to ${sens.replace('sensor', 's.sensor')} GROUP BY 1)
       SELECT h.host, h.protocols, h.sessions, h.bytes, coalesce(hu.users, 0) AS users
       FROM h LEFT JOIN hu ON hu.host = h.host ORDER BY h.bytes DESC, h.sessions DESC, h.host LIMIT ${top}`,
    )
    .all(p) as any[];
  const alertWhere = `last_ms >= @from AND first_ms < @to ${sens}`;
  const alerts_by_kind = db
    .prepare(
      `SELECT kind, severity, count(*) AS alerts, sum(count) AS occurrences, sum(acked = 0) AS open FROM alerts WHERE ${alertWhere}
       GROUP BY kind, severity ORDER BY max(sev_rank) DESC, occurrences DESC, kind`,
    )
    .all(p) as any[];
  const unauthorized = unauthorizedAlerts(db, r);
  return {
    from: iso(r.from)!,
    to: iso(r.to)!,
    protocols,
    top_users,
    top_hosts,
    alerts_by_kind,
    alerts_by_severity: alertsBySeverity(db, r),
    unauthorized,
  };
}

function likeEscape(s: string): string {
  return s.replace(/[\\%_]/g, (c) => '\\' + c);
}

function clampInt(v: number | undefined, min: number, max: number, dflt: number): number {
  if (v === undefined || !Number.isFinite(v)) return dflt;
  return Math.min(max, Math.max(min, Math.floor(v)));
}

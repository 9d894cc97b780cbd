// The REST API routes (mounted under /api behind the login check in server.ts). Every read goes through
// storage/queries; every filter is a bound parameter there. Roles: viewer < analyst < admin.

import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream';
import type { Request, Response, Router } from 'express';
import * as Q from '../storage/queries';
import { csvRow } from '../storage/csv';
import { formatReport, REPORT_CSP, REPORT_MIME, reportFileName } from '../storage/report-format';
import { parseTime, TimeArgError } from '../storage/time';
import { HttpError, need, type DashboardOptions } from './server';
import type { UserStore } from './auth';
import type { Sessions } from './security';
import { sessionSource, sourceExists } from './sources';
import { extractFlow, EvidenceError } from './evidence';
import { cutBeforePair } from '../analyzer/clip';

type Ctx = DashboardOptions & { users: UserStore; sessions: Sessions };

const str = (v: unknown, max = 256): string | undefined => (typeof v === 'string' && v.length ? v.slice(0, max) : undefined);
/** a host filter: an address (64, as stored), or address@zone (a zone name is stored up to 64 too) */
const HOST_MAX = 64 + 1 + 64;
const list = (v: unknown): string[] | undefined => {
  const s = str(v, 2048);
  return s ? s.split(',').map((x) => x.trim()).filter(Boolean).slice(0, 50) : undefined;
};
const int = (v: unknown): number | undefined => {
  const s = str(v, 12);
  if (s === undefined) return undefined;
  const n = Number(s);
  if (!Number.isFinite(n)) throw new HttpError(400, `'${s}' is not a number`);
  return n;
};

/** from/to from ?range=24h (before now) or ?from=&to= (any time the CLI takes). */
export function rangeOf(req: Request, dflt = '24h'): { from: number; to: number } {
  const now = Date.now();
  try {
    const to = str(req.query.to, 64) ? parseTime(String(req.query.to), now, 'to') : now;
    const from = str(req.query.from, 64) ? parseTime(String(req.query.from), now, 'from') : parseTime(str(req.query.range, 16) ?? dflt, to, 'range');
    if (from > to) throw new HttpError(400, 'from is after to');
    return { from, to };
  } catch (e) {
    if (e instanceof TimeArgError) throw new HttpError(400, e.message);
    throw e;
  }
}

function sensorOf(req: Request): { sensor?: string } {
  const s = str(req.query.sensor, 64);
  return s ? { sensor: s } : {};
}

function csv(res: Response, name: string, header: string[], rows: unknown[][]): void {
  res.setHeader('Content-Type', 'text/csv; charset=utf-8');
  res.setHeader('Content-Disposition', `attachment; filename="${name}"`);
  res.send(csvRow(header) + rows.map(csvRow).join(''));
}

/** the messages export's bounds: rows, bytes, characters of one text (Excel's limit for a cell is 32,767) */
export const CSV_MAX_ROWS = 10_000;
export const CSV_MAX_BYTES = 32 << 20;
export const CSV_MAX_TEXT = 32_000;

/**
 * The messages export, written row by row as the client takes it (was: all of it built as one string,
 * which 9,000 long texts took past V8's longest string: a 500 after ~1.5 GB of memory). A text is cut at
 * CSV_MAX_TEXT characters, saying how many were left out; past CSV_MAX_ROWS rows or CSV_MAX_BYTES bytes
 * the export stops with a last row saying so.
 */
export async function messagesCsv(res: Response, pages: Generator<Q.MessageRow[]>): Promise<void> {
  const first = pages.next(); // a search that cannot run (too many words) is still a 400, before any byte
  // the client went away before this ran (during the asynchronous login check): nothing to write
  if (gone(res)) return void pages.return(undefined);
  res.setHeader('Content-Type', 'text/csv; charset=utf-8');
  res.setHeader('Content-Disposition', 'attachment; filename="shadowim-messages.csv"');
  res.write(csvRow(['ts', 'sensor', 'protocol', 'from', 'to', 'direction', 'text', 'zone']));
  let rows = 0, bytes = 0, stopped = false;
  for (let it = first; !it.done && !stopped; it = pages.next()) {
    for (const m of it.value) {
      if (rows >= CSV_MAX_ROWS || bytes >= CSV_MAX_BYTES) {
        stopped = true;
        break;
      }
      const text = m.text !== null && m.text.length > CSV_MAX_TEXT ? `${cutBeforePair(m.text, CSV_MAX_TEXT)} [… ${m.text.length - CSV_MAX_TEXT} more characters: the whole text is in the console]` : m.text;
      const line = csvRow([m.ts, m.sensor, m.protocol, m.from, m.to, m.direction, text, m.zone]);
      rows++;
      bytes += Buffer.byteLength(line);
      if (!res.write(line)) await drained(res);
      if (gone(res)) return void pages.return(undefined);
    }
  }
  if (stopped) res.write(csvRow([`[export stopped after ${rows} messages: an export holds at most ${CSV_MAX_ROWS} messages and ${CSV_MAX_BYTES >> 20} MiB; narrow the range or the search for the rest]`]));
  res.end();
}

const gone = (res: Response) => res.destroyed || res.writableEnded;

/**
 * Until the response takes more, or is closed. A response already closed emits neither again (was: its
 * 'close' had fired before the handler ran, and the export waited forever, one pending handler each).
 */
function drained(res: Response): Promise<void> {
  if (gone(res)) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** Viewers see message metadata, never text. */
function redactMessages<T extends { text: string | null }>(rows: T[], role: string): Array<T & { text_hidden?: boolean }> {
  if (role !== 'viewer') return rows;
  return rows.map((m) => ({ ...m, text: null, text_hidden: true }));
}

function tableExists(db: Ctx['db'], name: string): boolean {
  return !!db.prepare('SELECT 1 FROM sqlite_master WHERE type = ? AND name = ?').get('table', name);
}

export function apiRoutes(api: Router, c: Ctx): void {
  const db = c.db;

  // ---- overview ----------------------------------------------------------------------------------
  api.get('/overview', need('viewer'), (req, res) => {
    const r = { ...rangeOf(req), ...sensorOf(req) };
    const bucketMs = int(req.query.bucket);
    const sensors = Q.sensors(db);
    res.json({ ...Q.overviewPage(db, { ...r, bucketMs }), sensors: sensors.length, now: new Date().toISOString() });
  });

  // the usage report of `shadowim report` for the overview's period, as a download (user names and
  // counts, no message text: what a viewer sees on the users and hosts pages)
  api.get('/report', need('viewer'), (req, res) => {
    const format = str(req.query.format, 8) ?? 'html';
    if (format !== 'html' && format !== 'csv') throw new HttpError(400, 'format must be html or csv');
    const top = int(req.query.top);
    const q = { ...rangeOf(req), ...sensorOf(req) };
    const r = Q.report(db, { ...q, top: top === undefined ? 10 : Math.min(1000, Math.max(1, Math.floor(top))) });
    res.setHeader('Content-Type', REPORT_MIME[format]);
    res.setHeader('Content-Disposition', `attachment; filename="${reportFileName(r, format, q.sensor)}"`);
    if (format === 'html') res.setHeader('Content-Security-Policy', `${REPORT_CSP}; frame-ancestors 'none'`);
    res.send(formatReport(r, format, { sensor: q.sensor }));
  });

  // ---- alerts ------------------------------------------------------------------------------------
  const alertFilter = (req: Request): Q.AlertFilter => {
    const acked = str(req.query.acked, 8);
    const useRange = str(req.query.range, 16) || str(req.query.from, 64);
    return {
      ...(useRange ? rangeOf(req) : {}),
      ...sensorOf(req),
      severity: list(req.query.severity),
      kind: list(req.query.kind),
      protocol: list(req.query.protocol),
      acked: acked === 'true' || acked === '1' ? true : acked === 'false' || acked === '0' ? false : undefined,
      user: str(req.query.user),
      host: str(req.query.host, HOST_MAX),
      q: str(req.query.q),
      sort: (str(req.query.sort, 16) as Q.AlertFilter['sort']) ?? 'last_seen',
      order: str(req.query.order, 4) === 'asc' ? 'asc' : 'desc',
      limit: int(req.query.limit),
      offset: int(req.query.offset),
    };
  };
  api.get('/alerts', need('viewer'), (req, res) => {
    res.json(Q.listAlerts(db, alertFilter(req)));
  });
  api.get('/alerts.csv', need('viewer'), (req, res) => {
    const { rows } = Q.listAlerts(db, { ...alertFilter(req), limit: 1000 });
    csv(res, 'shadowim-alerts.csv', ['id', 'first_seen', 'last_seen', 'sensor', 'kind', 'severity', 'protocol', 'summary', 'client', 'server', 'users', 'person', 'detector', 'match', 'count', 'acked', 'acked_by', 'ack_note', 'zone'],
      rows.map((a) => [a.id, a.first_seen, a.last_seen, a.sensor, a.kind, a.severity, a.protocol, a.summary, a.client ? `${a.client.ip}:${a.client.port ?? ''}` : '', a.server ? `${a.server.ip}:${a.server.port ?? ''}` : '', a.users.join(' '), a.person, a.detector, a.match, a.count, a.acked, a.acked_by, a.ack_note, a.zone]));
  });
  api.get('/alerts/:id', need('viewer'), (req, res) => {
    const a = Q.getAlert(db, String(req.params.id));
    if (!a) throw new HttpError(404, 'no such alert');
    const role = req.principal!.role;
    res.json({
      ...a,
      messages: redactMessages(a.messages, role),
      sessions: a.sessions.map((s) => ({ ...s, pcap: !!s.client?.ip && !!sessionSource(db, s) })),
    });
  });
  api.post('/alerts/:id/ack', need('analyst'), (req, res) => {
    const note = typeof req.body?.note === 'string' ? req.body.note : undefined;
    if (!Q.ackAlert(db, String(req.params.id), req.principal!.user, note)) throw new HttpError(404, 'no such alert');
    res.json({ ok: true });
  });
  api.post('/alerts/:id/unack', need('analyst'), (req, res) => {
    if (!Q.unackAlert(db, String(req.params.id))) throw new HttpError(404, 'no such alert');
    res.json({ ok: true });
  });
  api.get('/alerts/:id/pcap', need('analyst'), async (req, res) => {
    const a = Q.getAlert(db, String(req.params.id));
    if (!a) throw new HttpError(404, 'no such alert');
    const s = a.sessions[0];
    if (!s) throw new HttpError(404, 'this alert has no stored session (no flow id), so there are no packets to extract');
    await sendPcap(res, s, `alert-${a.alert.id.slice(0, 24)}.pcap`);
  });

  // ---- sessions, users, hosts ----------------------------------------------------------------------
  api.get('/sessions', need('viewer'), (req, res) => {
    res.json(Q.listSessions(db, { ...rangeOf(req, '7d'), ...sensorOf(req), user: str(req.query.user), host: str(req.query.host, HOST_MAX), protocol: str(req.query.protocol, 64), limit: int(req.query.limit), offset: int(req.query.offset) }));
  });
  api.get('/sessions/:id/pcap', need('analyst'), async (req, res) => {
    const id = Number(req.params.id);
    const row = Number.isInteger(id) ? sessionById(db, id) : undefined;
    if (!row) throw new HttpError(404, 'no such session');
    await sendPcap(res, row, `session-${id}.pcap`);
  });
  const usage = (fn: typeof Q.users) => (req: Request, res: Response) => {
    const sort = (str(req.query.sort, 16) ?? 'bytes') as 'bytes';
    res.json({ rows: fn(db, { ...rangeOf(req, '7d'), ...sensorOf(req), protocol: str(req.query.protocol, 64), sort, limit: int(req.query.limit) ?? 100, offset: int(req.query.offset) }) });
  };
  api.get('/users', need('viewer'), usage(Q.users));
  api.get('/hosts', need('viewer'), usage(Q.hosts as typeof Q.users));

  // ---- conversations (message text: analyst and admin only) ------------------------------------------
  const msgQuery = (req: Request): Q.MessageQuery => ({
    ...(str(req.query.range, 16) || str(req.query.from, 64) ? rangeOf(req) : {}),
    ...sensorOf(req),
    user: str(req.query.user),
    protocol: str(req.query.protocol, 64),
    text: str(req.query.text, 512),
    flow_id: str(req.query.flow, 128),
    // clamped, as the other lists' limits are: a page of 1000 texts of 65,536 characters is 65 MB already
    limit: Math.min(int(req.query.limit) ?? 100, Q.MESSAGE_PAGE_MAX),
    offset: int(req.query.offset),
    order: str(req.query.order, 4) === 'asc' ? 'asc' : 'desc',
  });
  api.get('/messages', need('analyst'), (req, res) => {
    res.json(Q.searchMessages(db, msgQuery(req)));
  });
  api.get('/messages.csv', need('analyst'), async (req, res) => {
    await messagesCsv(res, Q.messagePages(db, msgQuery(req)));
  });

  // ---- sensors -------------------------------------------------------------------------------------
  api.get('/sensors', need('viewer'), (_req, res) => {
    res.json({ rows: Q.sensors(db), now: new Date().toISOString() });
  });

  // ---- firewall rules (admin) ------------------------------------------------------------------------
  const rules = (req: Request) => {
    const { FORMATS } = require('../outputs/firewall/formats') as typeof import('../outputs/firewall/formats');
    const fmt = FORMATS.find((f) => f.id === str(req.query.format, 32));
    if (!fmt) throw new HttpError(400, `choose a format: ${FORMATS.map((f) => f.id).join(', ')}`);
    const action = str(req.query.action, 8) ?? 'block';
    if (action !== 'block' && action !== 'log') throw new HttpError(400, 'action must be block or log');
    const { buildRuleInput } = require('../outputs/firewall/inputs') as typeof import('../outputs/firewall/inputs');
    const { buildModel } = require('../outputs/firewall/model') as typeof import('../outputs/firewall/model');
    const input = buildRuleInput({ policyFile: c.policyFile, eventFiles: [], store: c.storePath });
    return { fmt, text: fmt.render(buildModel({ ...input, action })) };
  };
  api.get('/rules/formats', need('admin'), (_req, res) => {
    const { FORMATS } = require('../outputs/firewall/formats') as typeof import('../outputs/firewall/formats');
    res.json({ formats: FORMATS.map((f) => ({ id: f.id, description: f.description })) });
  });
  api.get('/rules', need('admin'), (req, res) => {
    const { fmt, text } = rules(req);
    res.json({ format: fmt.id, text, lines: text.split('\n').length });
  });
  api.get('/rules/download', need('admin'), (req, res) => {
    const { fmt, text } = rules(req);
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.setHeader('Content-Disposition', `attachment; filename="shadowim-${fmt.id}.rules"`);
    res.send(text);
  });

  // ---- policy (admin) ------------------------------------------------------------------------------
  api.get('/policy', need('admin'), (_req, res) => {
    const { defaultPolicy, loadPolicyFile } = require('../analyzer/policy') as typeof import('../analyzer/policy');
    const { explainPolicy } = require('../analyzer/explain') as typeof import('../analyzer/explain');
    let text: string | null = null;
    let explanation: string;
    if (c.policyFile) {
      try {
        text = fs.readFileSync(c.policyFile, 'utf8');
        explanation = explainPolicy(loadPolicyFile(c.policyFile));
      } catch (e) {
        explanation = `error: ${(e as Error).message.split('\n')[0]}`;
      }
    } else explanation = explainPolicy(defaultPolicy());
    res.json({ file: c.policyFile ? path.basename(c.policyFile) : null, text, explanation });
  });
  api.post('/policy/check', need('admin'), (req, res) => {
    const text = req.body?.text;
    if (typeof text !== 'string') throw new HttpError(400, 'send the policy as JSON {"text": "..."}');
    const { parsePolicy } = require('../analyzer/policy') as typeof import('../analyzer/policy');
    const { explainPolicy } = require('../analyzer/explain') as typeof import('../analyzer/explain');
    // only a file name for messages: '.' or '..' would move the directory its paths resolve in
    const given = (str(req.body?.name, 128) ?? 'policy.yaml').replace(/[^\w.-]/g, '_');
    const name = /^\.*$/.test(given) ? 'policy.yaml' : given;
    // relative paths in the policy (people: csv, ldif) resolve next to the sensors' policy, as they would;
    // a pasted policy may not reach other files on the server (absolute paths, '..')
    const base = c.policyFile ? path.dirname(path.resolve(c.policyFile)) : process.cwd();
    // an empty file is the built-in policy, but an empty box is a paste that did not happen
    if (!text.trim()) return void res.json({ ok: false, error: 'nothing to check: paste a policy (analyzer/policy.example.yaml is an annotated one)', line: null });
    const outside = csvPathsOutside(text, base);
    if (outside) return void res.json({ ok: false, error: `${outside.key} '${outside.path.slice(0, 200)}': a checked policy may only name files in the policy's own directory`, line: null });
    try {
      const full = path.join(base, name);
      // the explanation names the file as the user named it, not the server's directory (as errors do)
      res.json({ ok: true, explanation: explainPolicy(parsePolicy(text, full)).split(full).join(name) });
    } catch (e) {
      const msg = (e as Error).message.split('\n')[0];
      const m = /:(\d+): /.exec(msg);
      res.json({ ok: false, error: msg.replace(/^.*?([^/]+:\d+: )/, '$1'), line: m ? Number(m[1]) : null });
    }
  });

  // ---- alert delivery (the sinks' outbox) ------------------------------------------------------------
  const odb = c.outboxDb ?? db;
  api.get('/delivery', need('viewer'), (req, res) => {
    if (!tableExists(odb, 'alert_outbox')) return void res.json({ available: false, summary: [], rows: [] });
    const o = require('../outputs/sinks/outbox') as typeof import('../outputs/sinks/outbox');
    const state = str(req.query.state, 16);
    const rows = o.outboxRows(odb, { state: state && ['pending', 'dead', 'delivered'].includes(state) ? state : undefined, limit: 200 }).map((r) => {
      let a: any = {};
      try {
        a = JSON.parse(r.alert);
      } catch {
        /* kept raw */
      }
      return { alert_id: r.alert_id, sink: r.sink, state: r.state, attempts: r.attempts, next_at: iso(r.next_at), created_at: iso(r.created_at), delivered_at: iso(r.delivered_at), last_error: r.last_error, kind: a.kind ?? null, severity: a.severity ?? null, summary: a.summary ?? null };
    });
    res.json({ available: true, summary: o.outboxSummary(odb).map((s) => ({ ...s, oldest: iso(s.oldest) })), rows });
  });
  api.post('/delivery/retry', need('admin'), (req, res) => {
    if (!tableExists(odb, 'alert_outbox')) throw new HttpError(404, 'no alert outbox in this store (no SIEM sink configured)');
    const o = require('../outputs/sinks/outbox') as typeof import('../outputs/sinks/outbox');
    res.json({ retried: o.retryDead(odb, str(req.body?.alert_id)) });
  });

  // ---- files (carved files in the quarantine, else the transfers seen; analyst and admin) -------------
  api.get('/files', need('analyst'), (req, res) => {
    const r = rangeOf(req, '30d');
    const limit = Math.min(1000, Math.max(1, Math.floor(int(req.query.limit) ?? 500)));
    const offset = Math.min(1e9, Math.max(0, Math.floor(int(req.query.offset) ?? 0)));
    if (c.quarantineDir) {
      const { listQuarantine } = require('../analyzer/files') as typeof import('../analyzer/files');
      // the range first, then the page: every sidecar is read either way, and a file of an old capture
      // stays findable behind any number quarantined after it (was: the 500 stored last, then the range)
      const all = listQuarantine(c.quarantineDir)
        .filter((e) => Date.parse(e.last_seen) >= r.from && Date.parse(e.first_seen) < r.to)
        .sort((a, b) => Date.parse(b.last_seen) - Date.parse(a.last_seen) || (a.sha256 < b.sha256 ? -1 : 1));
      const rows = all.slice(offset, offset + limit);
      return void res.json({
        source: 'quarantine',
        total: all.length,
        rows: rows.map((e) => {
          const s0 = e.sightings[0];
          return { ts: e.last_seen, protocol: s0?.protocol ?? null, from: s0?.from ?? null, to: s0?.to ?? null, filename: e.filename, size: e.size, file_type: e.file_type ?? null, sha256: e.sha256, md5: e.md5, verdict: e.verdict ?? null, complete: e.complete, sightings: e.sightings.length, download: true };
        }),
      });
    }
    const rows = db
      .prepare(`SELECT id, ts_ms, sensor, protocol, flow_id, from_user, to_user, filename, size, direction, stage, complete, observed_size, sha256, md5, file_type, verdict
        FROM file_transfers WHERE ts_ms >= ? AND ts_ms < ? ORDER BY ts_ms DESC, id DESC LIMIT ? OFFSET ?`)
      .all(r.from, r.to, limit, offset) as any[];
    const total = (db.prepare('SELECT count(*) AS n FROM file_transfers WHERE ts_ms >= ? AND ts_ms < ?').get(r.from, r.to) as any).n;
    // a literal in the SELECT's order, the renamed columns last (a rest spread costs ~1 µs a property a row)
    res.json({
      source: 'transfers',
      total,
      rows: rows.map((x) => ({
        id: x.id, sensor: x.sensor, protocol: x.protocol, flow_id: x.flow_id, filename: x.filename, size: x.size, direction: x.direction, stage: x.stage,
        observed_size: x.observed_size, sha256: x.sha256, md5: x.md5, file_type: x.file_type, verdict: x.verdict,
        ts: iso(x.ts_ms), from: x.from_user, to: x.to_user, complete: x.complete === null ? null : !!x.complete, download: false,
      })),
    });
  });
  api.get('/files/:sha256/download', need('analyst'), (req, res) => {
    if (!c.quarantineDir) throw new HttpError(404, 'no quarantine configured (files.quarantine.dir, or serve --quarantine DIR): carved bytes are not kept');
    const files = require('../analyzer/files') as typeof import('../analyzer/files');
    let q: ReturnType<typeof files.openQuarantined>;
    try {
      q = files.openQuarantined(c.quarantineDir, String(req.params.sha256));
    } catch (e) {
      if (e instanceof files.QuarantineError) throw new HttpError(400, e.message);
      throw e;
    }
    if (!q) throw new HttpError(404, 'that file is not in the quarantine');
    // the wire name never reaches the header unfiltered; the bytes may be malware: never rendered inline
    const safe = q.entry.filename.replace(/[^\w.-]/g, '_').slice(0, 80);
    res.setHeader('Content-Type', 'application/octet-stream');
    res.setHeader('Content-Disposition', `attachment; filename="${q.entry.sha256.slice(0, 12)}-${safe}.quarantined"`);
    res.setHeader('Content-Length', String(q.entry.size));
    // pipeline, not pipe: a client gone mid-download closes the file (pipe() left its descriptor open),
    // and a read error ends the response instead of going unhandled
    pipeline(q.stream, res, (e) => {
      if (e && !res.headersSent) res.status(500).end();
      else if (e) res.destroy();
    });
  });

  // ---- users (admin) ---------------------------------------------------------------------------------
  api.get('/admin/users', need('admin'), (_req, res) => {
    res.json({ rows: c.users.list(), tokens: c.users.tokens() });
  });

  // each extraction reads a whole capture file: a few at a time
  let extracting = 0;
  const MAX_EXTRACTIONS = 2;

  async function sendPcap(res: Response, s: Q.SessionRow, name: string): Promise<void> {
    const source = sessionSource(db, s);
    if (!source) {
      throw new HttpError(404, 'packets of live sessions are not kept: run the sensor with --evidence-dir DIR to keep them (or read a capture with `shadowim analyze FILE --store PATH`)');
    }
    if (!sourceExists(source)) throw new HttpError(410, `the capture this session was read from (${path.basename(source)}) is no longer on the server`);
    if (extracting >= MAX_EXTRACTIONS) {
      res.setHeader('Retry-After', '5');
      throw new HttpError(429, 'other packet extractions are running; try again in a few seconds');
    }
    extracting++;
    try {
      const out = await extractFlow(source, { transport: s.transport, client: s.client, server: s.server, startMs: s.start ? Date.parse(s.start) : undefined, endMs: s.end ? Date.parse(s.end) : undefined, flowId: s.flow_id });
      res.setHeader('Content-Type', 'application/vnd.tcpdump.pcap');
      res.setHeader('Content-Disposition', `attachment; filename="${name.replace(/[^\w.-]/g, '_')}"`);
      res.setHeader('X-Packets', String(out.packets));
      res.send(out.pcap);
    } catch (e) {
      if (e instanceof EvidenceError) throw new HttpError(422, e.message);
      throw e;
    } finally {
      extracting--;
    }
  }
}

/** The first people.csv or people.ldif path of a policy text that leaves `base`, if any (YAML errors: left to parsePolicy). */
function csvPathsOutside(text: string, base: string): { key: string; path: string } | undefined {
  let doc: any;
  try {
    doc = (require('yaml') as typeof import('yaml')).parse(text, { logLevel: 'error' });
  } catch {
    return undefined;
  }
  for (const key of ['csv', 'ldif']) {
    const files = doc?.people?.[key];
    for (const v of Array.isArray(files) ? files : files === undefined ? [] : [files]) {
      const p = String(v);
      const abs = path.resolve(base, p);
      if (path.isAbsolute(p) || !abs.startsWith(base + path.sep)) return { key: `people.${key}`, path: p };
    }
  }
  return undefined;
}

/** The few fields of a stored session that evidence extraction needs. */
function sessionById(db: Ctx['db'], id: number): Q.SessionRow | undefined {
  const r = db.prepare('SELECT * FROM sessions WHERE id = ?').get(id) as any;
  if (!r) return undefined;
  return {
    id: r.id, flow_id: r.flow_id, sensor: r.sensor, protocol: r.protocol, transport: r.transport,
    client: { ip: r.client_ip, port: r.client_port }, server: { ip: r.server_ip, port: r.server_port }, server_name: r.server_name,
    users: [], start: iso(r.start_ms), end: iso(r.end_ms), packets: r.packets, bytes: r.bytes, encrypted: !!r.encrypted, service: r.service, evidence: [],
  };
}

function iso(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined ? null : new Date(ms).toISOString();
}

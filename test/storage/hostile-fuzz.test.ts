// Seeded property fuzz of the storage path with hostile events: contract events (session, message,
// file_transfer, alert, credential) whose wire-derived strings hold NUL, line breaks, lone surrogates,
// bidi controls, SQL (' " ; -- /* */), FTS5 syntax (AND OR NOT NEAR * ^ : " ( ) column filters), LIKE
// wildcards (% _ \), line-protocol metacharacters (, = space \ " newline), emoji, combining marks and
// 100 KB values (and values at every cut, a surrogate pair or a backslash on the cut), from a hostile
// sensor name, through the store sink and the InfluxDB line protocol.
//
// Invariants (docs/storage.md):
// - SQLite: ingest never throws; messages, sessions, alerts and files read back through the query API
//   (searchMessages, listSessions, listAlerts, getAlert) equal what was written, cut where documented
//   (names 1,024, text 65,536, …; never half a surrogate pair) and, for TEXT columns, as UTF-8 keeps them
//   (a lone surrogate reads back as U+FFFD; the JSON columns keep it escaped).
// - Search (--text): every hostile text either returns exactly the messages holding all of its words
//   (the index's words, FTS5 unicode61 as an oracle table in memory tokenizes them) or, past the word
//   limit, throws the one-line SearchError; never an SQLite error. A piece of a stored message between
//   two separators finds that message. User, protocol and sensor filters return only equal rows, all of them.
//   Through the command line: the same rows as jsonl, and the word limit is one `shadowim:` line, exit 2.
// - InfluxDB: each event's point is one line that a parser written from the 1.x line-protocol reference
//   reads back with the measurement, exactly the documented tags and fields, their values intact or cut
//   as documented (line breaks → space; tags 256, strings 4,096; a tag's trailing backslashes dropped;
//   integers past int64 left out), nothing injected. One batch goes to a real influxd (skipped without
//   it, as influx.test.ts): nothing refused, the same tag values and strings come back, no extra tag keys.
//
// SHADOWIM_FUZZ_SEED / SHADOWIM_FUZZ_SCALE as for the other fuzz tests (test/helpers/fuzz.ts).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type Database from 'better-sqlite3';
import type { ShadowEvent } from '../../common/events';
import { defaults } from '../../common/config';
import { JID_PROTOCOL_LIST } from '../../common/userKey';
import { openStore } from '../../storage/store';
import { SqliteSink } from '../../storage/sqlite-sink';
import { getAlert, listAlerts, listSessions, MAX_SEARCH_WORDS, searchMessages, type MessageRow } from '../../storage/queries';
import { eventLine, MEASUREMENTS, Stamper } from '../../storage/influx-points';
import { InfluxSink } from '../../storage/influx-sink';
import { fuzzCases, fuzzSeed, Rand } from '../helpers/fuzz';
import { shadowim } from '../helpers/run';
import { haveInfluxd, Influxd } from './influxd';

// ---- generator ---------------------------------------------------------------------------------

const ATOMS = [
  '\0', '\r', '\n', '\r\n', '\n\n', '\u2028', '\u2029', '\u0085', '\t', '\u000b', '\u001b[2J', '\u007f',
  '\ud800', '\udfff', '\udbff', '\u202e', '\u202d', '\u2066', '\u2069', '\u200f', '\u200b', '\ufeff',
  "'", '"', ';', '--', '/*', '*/', "' OR 1=1 --", '"; DROP TABLE messages; --', "x'); DELETE FROM alerts; --",
  'AND', 'OR', 'NOT', 'NEAR', 'NEAR(alpha bravo, 2)', '*', '^', ':', '(', ')', 'text:', '{text}:', 'text : alpha', '-text:x', '+', '"alpha', 'alpha*', '^alpha',
  '%', '_', '\\', '\\\\', '%_\\', 'ESCAPE',
  ',', '=', ' ', '\\,', '\\ ', '\\=', '\\"', 'a=b,c=d', ' count=1i', 'im_alert,kind=x', '\n#c', 'x=1i 1', '"=,',
  '😀', '👩‍👩‍👧', '🇩🇪', 'e\u0301', 'n\u0303', '\u0305', '\u0903', '\u20dd', 'ǅ', 'ß', 'İ', 'ﬁ', '\ue000', '١٢٣', 'ＡＢＣ', '\ufffd',
];
const WORDS = [
  'alpha', 'Bravo', 'CHARLIE', 'delta', 'naïve', 'Ærø', 'straße', 'İstanbul', 'ǅemal', 'Ωmega', '中文', '日本語', 'العربية', 'עברית',
  'ᏸᏸ', '١٢٣', 'x1', '42', 'snake_case_word', 'e\u0301te', 'n\u0303o', 'ab\ue000cd', '𝔘nicode', 'ﬁle', 'ＦＵＬＬ',
  'AND', 'OR', 'NOT', 'NEAR', 'text', 'messages_fts', 'rowid', 'SELECT', 'null', 'im_alert', 'sensor',
];
/** the caps of docs/storage.md, where a value is cut */
const CUTS = [8, 16, 32, 64, 128, 256, 1024, 4096, 16384, 65536];

function piece(g: Rand): string {
  const r = g.int(10);
  if (r < 4) return g.pick(WORDS);
  if (r < 8) return g.pick(ATOMS);
  return String.fromCodePoint(g.chance(0.5) ? 0x20 + g.int(0x5f) : 0xa0 + g.int(0x2ff60));
}

function small(g: Rand, max = 12): string {
  let s = '';
  for (let n = g.int(max) + 1; n > 0; n--) s += piece(g) + g.pick(['', ' ', ' ', ' ', '\t', g.pick(ATOMS)]);
  return s;
}

/** a hostile value: mostly short; some 100 KB; some just at a cut with a surrogate pair, backslash or comma on it */
function hostile(g: Rand): string {
  const r = g.int(20);
  if (r < 15) return small(g);
  if (r < 17) {
    const unit = small(g, 6) || 'x';
    return unit.repeat(Math.ceil(100_000 / unit.length)).slice(0, 100_000);
  }
  const n = g.pick(CUTS);
  const at = g.pick(['😀', '\\', '\\\\', ',', ' ', '=', '"', '\r\n', 'e\u0301', '\ud800']);
  return 'w'.repeat(Math.max(0, n - 1 - g.int(2))) + at + small(g, 3);
}

const PROTOCOLS = ['irc', 'xmpp', 'msn', 'aim', 'slack', 'yahoo'];
const ip4 = (g: Rand) => `${10 + g.int(200)}.${g.int(256)}.${g.int(256)}.${g.int(256)}`;
const ep = (g: Rand) => ({ ip: g.chance(0.8) ? ip4(g) : `2001:db8::${g.int(65536).toString(16)}`, port: g.int(65536) });
/** contract numbers, among them sizes past int64 (a 64-bit length field of 2^64 - 1 read as a double) */
const count = (g: Rand) => g.pick([0, 1, 7, 4096, 2 ** 31, 2 ** 53 - 1, 2 ** 63, 2 ** 64, 1e21, g.int(1e6)]);

function events(g: Rand, n: number, t0: number): ShadowEvent[] {
  const out: ShadowEvent[] = [];
  for (let i = 0; i < n; i++) {
    const ts = new Date(t0 + i).toISOString();
    const base: any = { ts, protocol: g.chance(0.9) ? g.pick(PROTOCOLS) : hostile(g), flow_id: `flow-${i}`, client: ep(g), server: ep(g) };
    if (g.chance(0.3)) base.sensor = hostile(g);
    if (g.chance(0.1)) base.zone = hostile(g);
    const r = g.int(20);
    if (r < 9) {
      out.push({ ...base, type: 'message', from: hostile(g), to: hostile(g), text: hostile(g), direction: g.pick(['outbound', 'inbound']), ...(g.chance(0.3) ? { kind: hostile(g) } : {}) });
    } else if (r < 12) {
      out.push({
        ...base, type: 'session', transport: g.pick(['tcp', 'udp']), users: Array.from({ length: g.int(5) }, () => hostile(g)), start: ts, end: new Date(t0 + i + g.int(5000)).toISOString(),
        packets: count(g), bytes: count(g), encrypted: g.chance(0.5), evidence: [{ signature: 'sig', reason: small(g, 4) }],
        ...(g.chance(0.5) ? { server_name: hostile(g) } : {}), ...(g.chance(0.3) ? { service: hostile(g) } : {}),
      });
    } else if (r < 15) {
      out.push({
        ...base, type: 'file_transfer', from: hostile(g), to: hostile(g), filename: hostile(g), size: count(g), stage: g.pick(['offer', 'data'] as const),
        ...(g.chance(0.5) ? { verdict: g.pick(['clean', 'infected:', 'forbidden:', 'unscanned:']) + small(g, 3), file_type: hostile(g), sha256: 'ab'.repeat(32) } : {}),
      });
      // the file's alert, whose flow getAlert() reads the file back by
      out.push({ ...base, ts, type: 'alert', id: `file-${i}`, kind: 'file_transfer', severity: 'medium', summary: 'file', users: [], count: 1 });
    } else if (r < 18) {
      out.push({
        ...base, type: 'alert', id: `al-${i}`, kind: g.chance(0.7) ? g.pick(['unauthorized_im', 'sensitive_data', 'policy_violation']) : hostile(g),
        severity: g.pick(['low', 'medium', 'high', 'critical'] as const), summary: hostile(g), users: Array.from({ length: g.int(4) }, () => hostile(g)),
        count: g.pick([1, 1, 2, 17]), ...(g.chance(0.5) ? { person: hostile(g), detector: hostile(g), match: hostile(g) } : {}),
      });
    } else {
      out.push({ ...base, type: 'credential', user: hostile(g), mechanism: hostile(g) });
    }
  }
  return out;
}

// ---- what the docs say comes back ---------------------------------------------------------------

/** the first n UTF-16 units, n - 1 when unit n would be the first half of a pair (docs: never half a pair) */
function cut(s: string, n: number): string {
  if (s.length <= n) return s;
  const c = s.charCodeAt(n - 1);
  return s.slice(0, c >= 0xd800 && c <= 0xdbff ? n - 1 : n);
}
/** as UTF-8 keeps a string: each lone surrogate is U+FFFD */
const wf = (s: string) => s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
/** a TEXT column: cut, then as UTF-8 keeps it */
const col = (s: string | undefined, n = 1024) => (s === undefined ? null : wf(cut(s, n)));

// ---- search oracle: FTS5's unicode61 tokenizer on a table of its own -------------------------------

class Oracle {
  private db: Database.Database;
  private terms = new Map<number, Set<string>>();
  constructor() {
    const Sqlite = require('better-sqlite3') as typeof import('better-sqlite3');
    this.db = new Sqlite(':memory:');
    this.db.exec("CREATE VIRTUAL TABLE o USING fts5(t, tokenize='unicode61 remove_diacritics 2'); CREATE VIRTUAL TABLE ov USING fts5vocab(o, 'instance');");
  }
  tokens(text: string): Set<string> {
    this.db.prepare('DELETE FROM o').run();
    this.db.prepare('INSERT INTO o (rowid, t) VALUES (1, ?)').run(text);
    return new Set(this.db.prepare('SELECT term FROM ov').pluck().all() as string[]);
  }
  index(rows: MessageRow[]): void {
    for (const m of rows) this.terms.set(m.id, this.tokens(m.text ?? ''));
  }
  /** ids of the messages a --text search must return (docs: every word must occur; no words, no match) */
  expect(q: string): number[] | 'too many' {
    if (!q.trim()) return [...this.terms.keys()].sort((a, b) => a - b);
    const want = this.tokens(q);
    if (!want.size) return [];
    if (want.size > MAX_SEARCH_WORDS) return 'too many';
    return [...this.terms].filter(([, t]) => [...want].every((w) => t.has(w))).map(([id]) => id).sort((a, b) => a - b);
  }
  close(): void {
    this.db.close();
  }
}

/** characters the index surely splits at (ASCII, neither letter nor digit): a piece between two of them is whole words */
const SEP = /[\x00-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]/;

/** a piece of `text` that starts and ends at separators (or the ends), at most ~60 units */
function wordsFrom(g: Rand, text: string): string | undefined {
  const bounds = [0];
  for (let i = 0; i < text.length && bounds.length < 4000; i++) if (SEP.test(text[i])) bounds.push(i, i + 1);
  bounds.push(text.length);
  for (let tries = 0; tries < 8; tries++) {
    const a = bounds[g.int(bounds.length)];
    const ends = bounds.filter((b) => b > a && b - a <= 60);
    if (!ends.length) continue;
    const s = text.slice(a, g.pick(ends));
    if (/[\p{L}\p{N}]/u.test(s)) return s;
  }
  return undefined;
}

const FTS_SYNTAX = ['alpha AND bravo', 'alpha OR bravo', 'NOT alpha', 'alpha NOT bravo', 'NEAR(alpha bravo)', 'text:alpha', '{text}: alpha', '- text : alpha', 'alpha*', '^alpha', '"alpha bravo"', 'alpha + bravo', '(alpha', 'alpha)', '"', "'", '%', '_', '\\', "%' OR '1'='1", 'a_b', 'snake_case_word', '*', ''];

function checkSearchError(e: unknown, q: string): void {
  const msg = String((e as Error)?.message ?? e);
  assert.equal((e as Error)?.constructor?.name, 'SearchError', `search ${JSON.stringify(q.slice(0, 200))} threw ${msg}`);
  assert.ok(!/[\r\n]/.test(msg) && !/sqlite|fts5|syntax error|no such|malformed/i.test(msg), msg);
}

// ---- a line-protocol reader written from the InfluxDB 1.x reference ------------------------------
// measurement: `\,` `\ ` escapes; tag keys/values and field keys: `\,` `\=` `\ `; other backslashes are
// themselves. String fields in double quotes: `\"` and `\\`. Integers `Ni` (int64), floats, booleans.

interface Point {
  measurement: string;
  tags: Map<string, string>;
  fields: Map<string, string | number | bigint | boolean>;
  ts: string;
}

function parseLine(line: string): Point {
  if (/[\n]/.test(line)) throw new Error('line break inside a line');
  let i = 0;
  const name = (stops: string, escapable: string, what: string): string => {
    let out = '';
    while (i < line.length) {
      const c = line[i];
      if (c === '\\' && i + 1 < line.length && escapable.includes(line[i + 1])) {
        out += line[i + 1];
        i += 2;
        continue;
      }
      if (stops.includes(c)) break;
      out += c;
      i++;
    }
    if (!out) throw new Error(`empty ${what} at ${i}`);
    return out;
  };
  const measurement = name(', ', ', ', 'measurement');
  const tags = new Map<string, string>();
  while (line[i] === ',') {
    i++;
    const k = name('=, ', ',= ', 'tag key');
    if (line[i] !== '=') throw new Error(`tag key ${k} without =`);
    i++;
    const v = name(', =', ',= ', 'tag value');
    if (line[i] === '=') throw new Error(`unescaped = in the value of tag ${k}`);
    if (tags.has(k)) throw new Error(`tag ${k} twice`);
    tags.set(k, v);
  }
  if (line[i] !== ' ') throw new Error(`no space before the fields at ${i}`);
  i++;
  const fields = new Map<string, string | number | bigint | boolean>();
  for (;;) {
    const k = name('=, ', ',= ', 'field key');
    if (line[i] !== '=') throw new Error(`field key ${k} without =`);
    i++;
    let v: string | number | bigint | boolean;
    if (line[i] === '"') {
      i++;
      let s = '';
      for (;;) {
        if (i >= line.length) throw new Error(`unterminated string in field ${k}`);
        const c = line[i];
        if (c === '\\' && (line[i + 1] === '"' || line[i + 1] === '\\')) (s += line[i + 1]), (i += 2);
        else if (c === '"') break;
        else (s += c), i++;
      }
      i++;
      v = s;
    } else {
      const start = i;
      while (i < line.length && line[i] !== ',' && line[i] !== ' ') i++;
      const raw = line.slice(start, i);
      if (/^-?\d+i$/.test(raw)) {
        v = BigInt(raw.slice(0, -1));
        if (v >= 2n ** 63n || v < -(2n ** 63n)) throw new Error(`integer ${raw} out of int64`);
      } else if (/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(raw)) v = Number(raw);
      else if (/^(t|T|true|True|TRUE)$/.test(raw)) v = true;
      else if (/^(f|F|false|False|FALSE)$/.test(raw)) v = false;
      else throw new Error(`field ${k}: no value in ${JSON.stringify(raw)}`);
    }
    if (fields.has(k)) throw new Error(`field ${k} twice`);
    fields.set(k, v);
    if (line[i] === ',') {
      i++;
      continue;
    }
    break;
  }
  if (line[i] !== ' ') throw new Error(`no timestamp at ${i}`);
  const ts = line.slice(i + 1);
  if (!/^-?\d+$/.test(ts)) throw new Error(`bad timestamp ${JSON.stringify(ts)}`);
  return { measurement, tags, fields, ts };
}

/** docs/storage.md InfluxDB: a tag value, as written (undefined: no tag) */
function tagOf(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  // influxd's line splitter and tag parser disagree after a backslash run before `,` `=` or a space (influx-points.ts tagValue)
  const t = cut(v.replace(/[\r\n]+/g, ' '), 256).replace(/\\+(?=[,= ]|$)/g, '');
  return t || undefined;
}
const strOf = (v: unknown) => (typeof v === 'string' ? cut(v.replace(/[\r\n]+/g, ' '), 4096) : undefined);
const intOf = (v: unknown) => (typeof v === 'number' && Number.isInteger(v) && Math.abs(v) < 2 ** 63 ? BigInt(v) : undefined);
const listOf = (a: unknown) => (Array.isArray(a) ? strOf(a.slice(0, 64).map(String).join(',')) : undefined);

/** the measurement's tags and fields of the docs' table, from the event itself */
function expectedPoint(ev: any, sensor: string): { tags: Record<string, string | undefined>; fields: Record<string, unknown> } {
  const tags: Record<string, string | undefined> = { sensor: tagOf(ev.sensor ?? sensor), protocol: tagOf(ev.protocol), zone: typeof ev.zone === 'string' ? tagOf(cut(ev.zone, 64)) : undefined };
  const ends = { client: strOf(ev.client?.ip.slice(0, 64)), server: strOf(ev.server?.ip.slice(0, 64)), flow_id: strOf(ev.flow_id) };
  switch (ev.type) {
    case 'session':
      Object.assign(tags, { encrypted: String(ev.encrypted), transport: tagOf(ev.transport), service: tagOf(ev.service) });
      return { tags, fields: { count: 1n, bytes: intOf(ev.bytes), packets: intOf(ev.packets), users: listOf(ev.users), ...ends, server_port: intOf(ev.server.port), server_name: strOf(ev.server_name), duration_ms: intOf(Date.parse(ev.end) - Date.parse(ev.start)) } };
    case 'message':
      Object.assign(tags, { direction: tagOf(ev.direction), kind: tagOf(ev.kind) });
      return { tags, fields: { count: 1n, from: strOf(ev.from), to: strOf(ev.to), length: intOf(ev.text.length), ...ends } };
    case 'file_transfer':
      Object.assign(tags, { verdict: tagOf(ev.verdict?.split(':')[0]), stage: tagOf(ev.stage) });
      return { tags, fields: { count: 1n, from: strOf(ev.from), to: strOf(ev.to), filename: strOf(ev.filename), size: intOf(ev.size), sha256: strOf(ev.sha256), file_type: strOf(ev.file_type), verdict_detail: strOf(ev.verdict), ...ends } };
    case 'alert':
      Object.assign(tags, { kind: tagOf(ev.kind), severity: tagOf(ev.severity) });
      return { tags, fields: { count: BigInt(ev.count > 1 ? ev.count - 1 : 1), total: BigInt(ev.count), id: strOf(ev.id), summary: strOf(ev.summary), users: listOf(ev.users), person: strOf(ev.person), detector: strOf(ev.detector), match: strOf(ev.match), ...ends } };
    case 'credential':
      tags.mechanism = tagOf(ev.mechanism);
      return { tags, fields: { count: 1n, user: strOf(ev.user), ...ends } };
  }
  throw new Error(ev.type);
}

const defined = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

// ---- the test ------------------------------------------------------------------------------------

const T0 = Date.now() - 3600_000; // inside InfluxDB's 30-day raw retention
const ROUNDS = fuzzCases(3);
const EVENTS = 160;
const QUERIES = 120;

describe('storage: hostile events fuzz (SQLite store, archive search, InfluxDB line protocol)', function () {
  this.timeout(120000 * Math.max(1, ROUNDS / 3));
  let tmp: string;
  before(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-storage-fuzz-'))));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  // the first round's store and events, for the command line and influxd
  let first: { file: string; evs: ShadowEvent[]; sensor: string; queries: string[] } | undefined;

  it(`${ROUNDS} rounds of ${EVENTS} events: stored, read back, searched, and written as line protocol`, async () => {
    const g = new Rand(fuzzSeed(0x57a6e));
    let searched = 0, refused = 0, pieces = 0, lines = 0;
    for (let round = 0; round < ROUNDS; round++) {
      // the configured sensor name: common/config.ts allows [A-Za-z0-9_.-]{1,64}; the events' own are hostile
      const sensor = Array.from({ length: 1 + g.int(64) }, () => g.pick([...'aZ09_.-'])).join('').replace(/^\.{1,2}$/, 's');
      const evs = events(g, EVENTS, T0 + round * 10_000_000);
      const file = path.join(tmp, `r${round}.db`);
      const db = openStore(file);
      const sink = new SqliteSink(db, { sensor, archive: defaults().archive, batch: 1 + g.int(50), rollupMs: g.chance(0.5) ? 0 : 2000 });
      for (const ev of evs) {
        try {
          sink.write(ev);
        } catch (e) {
          assert.fail(`store sink threw on ${JSON.stringify(ev).slice(0, 300)}: ${(e as Error).stack}`);
        }
      }
      await sink.close();
      const who = (ev: any) => col(ev.sensor ?? sensor, 64);

      // messages, as `search` and the dashboard read them
      const sent = evs.filter((e) => e.type === 'message') as any[];
      const all = searchMessages(db, { limit: 100000, order: 'asc' });
      assert.equal(all.total, sent.length);
      all.rows.forEach((m, k) => {
        const ev = sent[k];
        const want = {
          ts: ev.ts, sensor: who(ev), protocol: col(ev.protocol, 64), from: col(ev.from), to: col(ev.to), direction: col(ev.direction, 16), kind: col(ev.kind, 32),
          client: { ip: ev.client.ip, port: ev.client.port }, server: { ip: ev.server.ip, port: ev.server.port }, text: col(ev.text, 65536), flow_id: ev.flow_id,
          ...(ev.zone !== undefined ? { zone: col(ev.zone, 64) } : {}),
        };
        const { id: _id, ...got } = m;
        assert.deepEqual(got, want, `message ${k} read back`);
      });

      // sessions (users and evidence are JSON: a lone surrogate survives escaped), alerts, files
      const sessions = new Map(listSessions(db, { from: 0, to: 8.64e15, limit: 1000 }).rows.map((s) => [s.flow_id, s]));
      for (const ev of evs.filter((e) => e.type === 'session') as any[]) {
        const s = sessions.get(ev.flow_id)!;
        assert.ok(s, `session ${ev.flow_id}`);
        assert.deepEqual(
          [s.sensor, s.protocol, s.transport, s.server_name, s.service, s.users, s.evidence, s.bytes, s.packets, s.start, s.end],
          [who(ev), col(ev.protocol, 64), ev.transport, col(ev.server_name, 256), col(ev.service, 32), ev.users.map((u: string) => cut(u, 1024)), ev.evidence, ev.bytes, ev.packets, ev.start, ev.end],
          `session ${ev.flow_id}`,
        );
        // the user filter finds it under a name it was seen with
        if (ev.users.length) {
          const u = cut(g.pick(ev.users as string[]), 1024);
          if (!JID_PROTOCOL_LIST.includes(col(ev.protocol, 64)!)) {
            const hit = listSessions(db, { from: 0, to: 8.64e15, user: u, limit: 1000 }).rows;
            assert.ok(hit.some((h) => h.flow_id === ev.flow_id), `session ${ev.flow_id} by user ${JSON.stringify(u.slice(0, 80))}`);
          }
        }
      }
      const alerts = new Map(listAlerts(db, { limit: 1000 }).rows.map((a) => [a.id, a]));
      for (const ev of evs.filter((e) => e.type === 'alert') as any[]) {
        const a = alerts.get(ev.id)!;
        assert.ok(a, `alert ${ev.id}`);
        assert.deepEqual(
          [a.sensor, a.kind, a.severity, a.summary, a.users, a.person, a.detector, a.match, a.count, a.protocol],
          [who(ev), col(ev.kind, 64), ev.severity, col(ev.summary, 4096), ev.users.map((u: string) => cut(u, 1024)), col(ev.person), col(ev.detector, 64), col(ev.match, 256), ev.count, col(ev.protocol, 64)],
          `alert ${ev.id}`,
        );
      }
      for (const ev of evs.filter((e) => e.type === 'file_transfer') as any[]) {
        const f = getAlert(db, `file-${ev.flow_id.slice(5)}`)!.files[0];
        assert.deepEqual(
          [f.from, f.to, f.filename, f.size, f.stage, f.file_type ?? null, f.verdict ?? null, f.sha256 ?? null],
          [col(ev.from), col(ev.to), col(ev.filename), ev.size, ev.stage, col(ev.file_type, 64), col(ev.verdict, 256), ev.sha256 ?? null],
          `file ${ev.flow_id}`,
        );
      }

      // search: hostile texts, FTS syntax, pieces of stored messages, many words
      const oracle = new Oracle();
      oracle.index(all.rows);
      const queries: string[] = [];
      for (let k = 0; k < QUERIES; k++) {
        const r = g.int(10);
        let q: string;
        let source: number | undefined;
        if (r < 3) q = small(g, 6);
        else if (r < 5) q = g.pick(FTS_SYNTAX) + g.pick(['', ' ', ' ' + g.pick(WORDS)]);
        else if (r < 9) {
          const m = g.pick(all.rows);
          const piece = wordsFrom(g, m.text ?? '');
          q = piece ?? g.pick(WORDS);
          if (piece !== undefined) source = m.id;
        } else q = Array.from({ length: 20 + g.int(30) }, () => g.pick(WORDS) + g.int(100)).join(' ');
        // argv: no NUL, not taken for an option
        if (!q.includes('\0') && !q.startsWith('-') && q.trim() && queries.length < 6) queries.push(q);
        const want = oracle.expect(q);
        let res: { total: number; rows: MessageRow[] };
        try {
          res = searchMessages(db, { text: q, limit: 100000, order: 'asc' });
        } catch (e) {
          checkSearchError(e, q);
          assert.equal(want, 'too many', `search ${JSON.stringify(q.slice(0, 200))} refused: ${(e as Error).message}`);
          refused++;
          continue;
        }
        searched++;
        assert.notEqual(want, 'too many', `search of more than ${MAX_SEARCH_WORDS} words ran: ${JSON.stringify(q.slice(0, 200))}`);
        const got = res.rows.map((m) => m.id);
        assert.deepEqual(got, want, `search ${JSON.stringify(q.slice(0, 200))}: messages with all its words`);
        assert.equal(res.total, got.length);
        if (source !== undefined && (want as number[]).length) (pieces++, assert.ok(got.includes(source), 'a piece of a message finds it'));
      }
      oracle.close();

      // user, protocol and sensor filters with hostile values: equal rows, all of them
      for (let k = 0; k < 20; k++) {
        const m = g.pick(all.rows);
        const byUser = searchMessages(db, { user: m.from!, limit: 100000 }).rows;
        assert.ok(byUser.some((x) => x.id === m.id), 'user filter finds the sender');
        if (!JID_PROTOCOL_LIST.includes(m.protocol)) for (const x of byUser) assert.ok(x.from === m.from || x.to === m.from, 'user filter: only that user');
        const byProto = searchMessages(db, { protocol: m.protocol, sensor: m.sensor, limit: 100000 }).rows;
        assert.deepEqual(byProto.map((x) => x.id).sort((a, b) => a - b), all.rows.filter((x) => x.protocol === m.protocol && x.sensor === m.sensor).map((x) => x.id));
      }
      db.close();

      // InfluxDB line protocol, one line per event, read by the spec parser
      const stamper = new Stamper();
      for (const ev of evs as any[]) {
        const l = eventLine(ev, sensor);
        assert.ok(l, `${ev.type} has a point`);
        const line = `${l} ${stamper.stamp(Date.parse(ev.ts))}`;
        let p: Point;
        try {
          p = parseLine(line);
        } catch (e) {
          assert.fail(`${ev.type} ${ev.flow_id}: ${(e as Error).message}: ${JSON.stringify(line.slice(0, 400))}`);
        }
        const want = expectedPoint(ev, sensor);
        assert.equal(p.measurement, MEASUREMENTS[ev.type as keyof typeof MEASUREMENTS]);
        assert.deepEqual(Object.fromEntries(p.tags), defined(want.tags), `${ev.type} ${ev.flow_id} tags`);
        assert.deepEqual(Object.fromEntries(p.fields), defined(want.fields), `${ev.type} ${ev.flow_id} fields`);
        lines++;
      }
      if (round === 0) first = { file, evs, sensor, queries };
    }
    console.log(`      ${ROUNDS * EVENTS}+ events, ${searched} searches (${pieces} pieces of messages found), ${refused} refused (too many words), ${lines} points parsed`);
    assert.ok(pieces > 0 && refused > 0 && searched > 100);
  });

  it('search on the command line: the same rows as jsonl; more words than a search takes is one line, exit 2', function () {
    if (!first) this.skip();
    const { file, queries } = first!;
    const db = openStore(file, { readonly: true });
    try {
      for (const q of queries.slice(0, 1)) {
        let want: MessageRow[] | undefined;
        try {
          want = searchMessages(db, { text: q, limit: 100000 }).rows;
        } catch {
          continue;
        }
        const r = shadowim(['search', '--store', file, '--text', q, '--format', 'jsonl', '--limit', '100000']);
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(r.events.map((m) => m.id), want.map((m) => m.id), `--text ${JSON.stringify(q)}`);
      }
    } finally {
      db.close();
    }
    const many = Array.from({ length: MAX_SEARCH_WORDS + 1 }, (_, i) => `w${i}`).join(' ');
    const r = shadowim(['search', '--store', file, '--text', many]);
    assert.equal(r.status, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^shadowim: the search text has 33 different words, more than the 32 a search takes; search for fewer words\n$/);
  });

  it('one batch to a real influxd: nothing refused, the same tag values and strings come back, no extra tag keys', async function () {
    if (!first) this.skip();
    if (!haveInfluxd()) {
      console.log('    (skipped: influxd is not installed; apt-get install influxdb)');
      this.skip();
    }
    const { evs, sensor } = first!;
    const d = new Influxd();
    try {
      await d.start();
      const sink = new InfluxSink({ ...defaults().influx, url: d.url, sensor, spool_dir: path.join(tmp, 'spool'), flush_ms: 50, close_timeout_ms: 30000, log: () => {} });
      for (const ev of evs) sink.write(ev);
      await sink.close();
      assert.equal(sink.rejected, 0, 'InfluxDB refused points');
      assert.equal(sink.sent, evs.length);
      for (const [type, m] of Object.entries(MEASUREMENTS)) {
        const mine = (evs as any[]).filter((e) => e.type === type);
        if (!mine.length) continue;
        const rows = await d.query(`SELECT * FROM raw."${m}"`, 'shadowim');
        assert.equal(rows.length, mine.length, `${m} points`);
        const byFlow = new Map(rows.map((r) => [r.flow_id, r]));
        const keys = new Set<string>();
        for (const ev of mine) {
          const want = expectedPoint(ev, sensor);
          const row = byFlow.get(ev.flow_id);
          assert.ok(row, `${m} ${ev.flow_id}`);
          for (const [k, v] of Object.entries(want.tags)) {
            if (v !== undefined) keys.add(k);
            assert.equal(row[k] ?? undefined, v === undefined ? undefined : wf(v), `${m} ${ev.flow_id} tag ${k}`);
          }
          for (const k of ['from', 'to', 'filename', 'summary', 'user', 'server_name', 'users']) {
            if (k in want.fields) assert.equal(row[k] ?? undefined, want.fields[k] === undefined ? undefined : wf(want.fields[k] as string), `${m} ${ev.flow_id} field ${k}`);
          }
        }
        const tagKeys = (await d.query(`SHOW TAG KEYS FROM raw."${m}"`, 'shadowim')).map((r) => r.tagKey);
        assert.deepEqual(tagKeys.sort(), [...keys].sort(), `${m}: no tag key but the documented ones`);
      }
    } finally {
      await d.cleanup();
    }
  });
});

// The dashboard's rollup queries against ground truth: overview buckets fall on exact bucket boundaries
// and sum what was written; users/hosts agree with counts made here from the events themselves.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type Database from 'better-sqlite3';
import type { ShadowEvent } from '../../common/events';
import { defaults } from '../../common/config';
import { openStore } from '../../storage/store';
import { SqliteSink } from '../../storage/sqlite-sink';
import { getAlert, hosts, overview, report, unauthorizedPoints, unauthorizedTrend, users, type Overview, type UsageRow } from '../../storage/queries';
import { hasFts5, MIGRATIONS, SCHEMA_VERSION } from '../../storage/schema';

const MIN = 60_000, HOUR = 3600_000, DAY = 86400_000;
const T0 = Date.UTC(2024, 0, 15); // a Monday, 00:00 UTC
const ep = (ip: string, port: number) => ({ ip, port });

let seed = 7;
const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) >> 8) % n;

/** Sessions and messages spread over three days at odd minutes, two sensors, three protocols. */
function events(): ShadowEvent[] {
  const out: ShadowEvent[] = [];
  for (let i = 0; i < 600; i++) {
    const ts = new Date(T0 + rnd(3 * DAY / MIN) * MIN + rnd(MIN)).toISOString();
    const protocol = ['irc', 'xmpp', 'msn'][rnd(3)];
    const sensor = ['s1', 's2'][rnd(2)];
    const user = `u${rnd(12)}`;
    const client = ep(`10.0.0.${rnd(9)}`, 40000);
    const r = rnd(20);
    if (r < 5) out.push({ type: 'session', ts, sensor, protocol, transport: 'tcp', client, server: ep('198.51.100.7', 6667), users: r === 0 ? [user, `u${rnd(12)}`] : [user], start: ts, end: ts, packets: 3, bytes: 100 + rnd(900), encrypted: false, evidence: [] });
    else if (r === 5) out.push({ type: 'file_transfer', ts, sensor, protocol, from: user, to: 'bob', filename: 'a.pdf', size: 10, client, server: ep('198.51.100.7', 6667) });
    else if (r === 6) out.push({ type: 'alert', ts, sensor, protocol, id: `a${i}`, kind: 'unauthorized_im', severity: 'low', summary: 'x', users: [user], client, count: 1 });
    else out.push({ type: 'message', ts, sensor, protocol, from: user, to: 'bob', text: 'hi', direction: 'outbound', client, server: ep('198.51.100.7', 6667) });
  }
  return out;
}

describe('storage: rollup queries', function () {
  this.timeout(60000);
  let tmp: string;
  let db: Database.Database;
  let evs: ShadowEvent[];

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-queries-'));
    db = openStore(path.join(tmp, 'q.db'));
    evs = events();
    const sink = new SqliteSink(db, { sensor: 'x', archive: defaults().archive, rollupMs: 0 });
    // in several flushes, so rollup rows are upserted more than once
    evs.forEach((e, i) => (sink.write(e), i % 97 === 0 && sink.flush(true)));
    sink.flush(true);
  });
  after(() => {
    db.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  /** ground truth: per bucket start and protocol, the messages and sessions in [from, to) */
  function truth(from: number, to: number, bucket: number, sensor?: string): Map<string, { messages: number; sessions: number; bytes: number }> {
    const m = new Map<string, { messages: number; sessions: number; bytes: number }>();
    for (const e of evs as any[]) {
      const t = Date.parse(e.ts);
      if (t < from || t >= to || (sensor !== undefined && e.sensor !== sensor)) continue;
      const k = `${e.protocol} ${new Date(Math.floor(t / bucket) * bucket).toISOString()}`;
      const c = m.get(k) ?? { messages: 0, sessions: 0, bytes: 0 };
      if (e.type === 'message') c.messages++;
      else if (e.type === 'session') c.sessions++, (c.bytes += e.bytes);
      m.set(k, c);
    }
    return m;
  }

  for (const [name, bucket, from, to] of [
    ['6-hour buckets from the hourly table', 6 * HOUR, T0, T0 + 3 * DAY],
    ['15-minute buckets from the per-minute table', 15 * MIN, T0 + 7 * HOUR, T0 + 19 * HOUR],
    ['2-day buckets from the daily table', 2 * DAY, T0, T0 + 4 * DAY],
    ['3-hour buckets, one sensor', 3 * HOUR, T0, T0 + 3 * DAY],
  ] as const) {
    it(`overview: ${name} start on a bucket boundary and hold exactly that bucket's events`, () => {
      const sensor = name.includes('one sensor') ? 's2' : undefined;
      const ov = overview(db, { from, to, bucketMs: bucket, sensor });
      assert.equal(ov.bucket_ms, bucket);
      const want = truth(from, to, bucket, sensor);
      const got = new Map<string, { messages: number; sessions: number; bytes: number }>();
      for (const [proto, pts] of Object.entries(ov.series)) {
        let prev = -Infinity;
        for (const p of pts) {
          const t = Date.parse(p.t);
          assert.equal(t % bucket, 0, `${p.t} is not on a ${bucket} ms boundary`);
          assert.ok(t > prev, `${proto}: one point per bucket, in order (${p.t})`);
          prev = t;
          got.set(`${proto} ${p.t}`, { messages: p.messages, sessions: p.sessions, bytes: p.bytes });
        }
      }
      assert.ok(want.size > 3, 'the range holds several buckets');
      assert.deepEqual(Object.fromEntries([...got].sort()), Object.fromEntries([...want].sort()));
    });
  }

  it('report, one sensor: the unauthorized section counts that sensor\'s alerts, users and hosts only', () => {
    const q = { from: T0, to: T0 + 3 * DAY };
    for (const sensor of ['s1', 's2']) {
      const rep = report(db, { ...q, sensor });
      for (const row of rep.unauthorized) {
        const mine = evs.filter((e: any) => e.type === 'alert' && e.sensor === sensor && e.protocol === row.protocol);
        assert.equal(row.alerts, mine.length, `${sensor} ${row.protocol} alerts`);
        assert.equal(row.users, new Set(mine.flatMap((e: any) => e.users)).size, `${sensor} ${row.protocol} users`);
        assert.equal(row.hosts, new Set(mine.map((e: any) => e.client.ip)).size, `${sensor} ${row.protocol} hosts`);
      }
      assert.ok(rep.unauthorized.length > 0);
    }
  });

  // Was: a daily bucket's end (tomorrow's midnight) as "last seen", in the future for today's activity
  it('users and hosts: last seen is the start of the last active bucket (never after the activity), first seen never before the range', () => {
    const now = Date.now();
    const recent = openStore(path.join(tmp, 'recent.db'));
    try {
      const sink = new SqliteSink(recent, { sensor: 'x', archive: defaults().archive, rollupMs: 0 });
      sink.write({ type: 'message', ts: new Date(now - 60_000).toISOString(), sensor: 's', protocol: 'irc', from: 'alice', to: 'bob', text: 'hi', direction: 'outbound', client: ep('10.0.0.1', 4000), server: ep('198.51.100.7', 6667) } as ShadowEvent);
      sink.flush(true);
      for (const [range, seen] of [[7 * DAY, 'day'], [2 * DAY, 'hour'], [HOUR, 'minute']] as const) {
        const [u] = users(recent, { from: now - range, to: now });
        assert.ok(Date.parse(u.last_seen) <= now - 60_000, `${seen}: ${u.last_seen}`);
        assert.deepEqual(users(recent, { from: now - range, to: now + 5 }), [u], 'the same answer a moment later');
        assert.ok(Date.parse(u.first_seen) >= now - range, `${seen}: ${u.first_seen}`);
        assert.equal(u.seen_to, seen);
      }
    } finally {
      recent.close();
    }
  });

  // The dashboard's "All time" (range=all, from 0) on a store of old captures: the chart starts at
  // the store's first day, not in 1970 (was: 1970 to now in ~300 buckets, the data in one or two)
  it('overview of all time starts at the first day stored and counts everything', () => {
    const all = overview(db, { from: 0, to: Date.now() });
    assert.equal(all.from, new Date(T0).toISOString());
    const sessions = evs.filter((e) => e.type === 'session').length;
    assert.equal(Object.values(all.totals).reduce((t, x) => t + x.sessions, 0), sessions);
    assert.ok(all.bucket_ms <= 7 * DAY, `bucket ${all.bucket_ms}`);
  });

  it('unauthorized points: per bucket with any, summed over protocols, oldest first; the trend is the same over the store', () => {
    const pt = (t: string, unauthorized: number) => ({ t, sessions: 0, messages: 0, files: 0, bytes: 0, alerts: unauthorized, unauthorized });
    const ov = { from: '', to: '', bucket_ms: 60000, totals: {}, series: { irc: [pt('2026-01-01T00:02:00.000Z', 2), pt('2026-01-01T00:00:00.000Z', 0)], aim: [pt('2026-01-01T00:02:00.000Z', 1), pt('2026-01-01T00:01:00.000Z', 4)] } } as unknown as Overview;
    // as the API sends it (by_protocol has no prototype: a protocol may be named __proto__)
    assert.deepEqual(JSON.parse(JSON.stringify(unauthorizedPoints(ov))), [
      { t: '2026-01-01T00:01:00.000Z', count: 4, by_protocol: { aim: 4 } },
      { t: '2026-01-01T00:02:00.000Z', count: 3, by_protocol: { irc: 2, aim: 1 } },
    ]);
    const q = { from: T0, to: T0 + 3 * DAY, bucketMs: 6 * HOUR };
    const trend = unauthorizedTrend(db, q);
    assert.equal(trend.bucket_ms, 6 * HOUR);
    assert.ok(trend.points.length > 0, 'the fixture holds unauthorized alerts');
    assert.deepEqual(trend.points, unauthorizedPoints(overview(db, q)));
  });

  it("an alert's file transfers: every column once, in table order, then the renamed ones (the JSON the dashboard shows)", () => {
    const db2 = openStore(path.join(tmp, 'files.db'));
    try {
      const sink = new SqliteSink(db2, { sensor: 's', archive: defaults().archive, rollupMs: 0 });
      const ts = new Date(T0).toISOString();
      const flow = { flow_id: 'ff', protocol: 'yahoo', server: { ip: '192.0.2.1', port: 5050 } };
      sink.write({ type: 'file_transfer', ts, ...flow, from: 'a', to: 'b', filename: 'x.txt', size: 3, direction: 'c2s', stage: 'data', transfer_id: 't', complete: false, sha256: 'ab' } as any);
      sink.write({ type: 'alert', ts, ...flow, id: 'al', kind: 'file_transfer', severity: 'low', summary: 's', users: [], count: 1 } as any);
      sink.flush(true);
      const f = getAlert(db2, 'al')!.files;
      assert.equal(JSON.stringify(f), JSON.stringify([{
        id: 1, sensor: 's', protocol: 'yahoo', flow_id: 'ff', filename: 'x.txt', size: 3, direction: 'c2s', stage: 'data', transfer_id: 't', complete: false, observed_size: null,
        sha256: 'ab', md5: null, file_type: null, verdict: null, ts, from: 'a', to: 'b', client: null, server: { ip: '192.0.2.1', port: 5050 },
      }]));
    } finally {
      db2.close();
    }
  });

  /** ground truth for users (dim 1) or hosts (dim 2): rows at resolution `res`, as the rollups keep them */
  function usageTruth(dim: 1 | 2, from: number, to: number, res: number, f: { sensor?: string; protocol?: string; name?: string } = {}): UsageRow[] {
    const m = new Map<string, UsageRow & { f: number; l: number }>();
    for (const e of evs as any[]) {
      const b = Math.floor(Date.parse(e.ts) / res) * res;
      if (b < Math.floor(from / res) * res || b >= to || (f.sensor !== undefined && e.sensor !== f.sensor) || (f.protocol !== undefined && e.protocol !== f.protocol)) continue;
      const names: string[] = dim === 2 ? [e.client.ip] : e.type === 'session' || e.type === 'alert' ? e.users : [e.from];
      // a session naming one user twice is one session of that user
      for (const name of new Set(names)) {
        if (f.name !== undefined && name !== f.name) continue;
        const k = `${name}\t${e.protocol}`;
        let r = m.get(k);
        if (!r) m.set(k, (r = { name, protocol: e.protocol, sessions: 0, messages: 0, files: 0, bytes: 0, alerts: 0, first_seen: '', last_seen: '', seen_to: res === DAY ? 'day' : res === HOUR ? 'hour' : 'minute', f: b, l: b }));
        if (e.type === 'session') r.sessions++, (r.bytes += e.bytes);
        if (e.type === 'message') r.messages++;
        if (e.type === 'file_transfer') r.files++;
        // alerts: the distinct alerts active in the range itself (what the alert list shows), not per rollup bucket
        const t = Date.parse(e.ts);
        if (e.type === 'alert' && t >= from && t < to) r.alerts++;
        r.f = Math.min(r.f, b);
        r.l = Math.max(r.l, b);
      }
    }
    // the starts of the buckets of the first and last activity, never before the range
    return [...m.values()].map(({ f: a, l, ...r }) => ({ ...r, first_seen: new Date(Math.max(a, from)).toISOString(), last_seen: new Date(Math.max(l, from)).toISOString() }));
  }

  const sorted = (rows: UsageRow[], sort: 'bytes' | 'sessions' | 'messages' | 'alerts' | 'name') =>
    [...rows].sort((a, b) => (sort === 'name' ? 0 : b[sort] - a[sort]) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) || (a.protocol < b.protocol ? -1 : 1));

  for (const [what, from, to, res] of [
    ['5 hours (per-minute rollups)', T0 + 30 * HOUR + 7 * MIN, T0 + 35 * HOUR + 7 * MIN, MIN],
    ['2 days (hourly rollups)', T0 + 13 * HOUR + 30 * MIN, T0 + 61 * HOUR + 30 * MIN, HOUR],
    ['4 days (daily rollups)', T0 - DAY + 5 * HOUR, T0 + 3 * DAY + 5 * HOUR, DAY],
    ['3 days from the middle of the data (daily rollups)', T0 + DAY + 2 * HOUR, T0 + 4 * DAY + 9 * HOUR, DAY],
  ] as const) {
    it(`users and hosts over ${what} agree with the events, for every sort, filter and page`, () => {
      for (const [dim, fn] of [[1, users], [2, hosts]] as const) {
        for (const sort of ['bytes', 'sessions', 'messages', 'alerts', 'name'] as const) {
          const want = sorted(usageTruth(dim, from, to, res), sort);
          assert.ok(want.length > 10, 'enough rows to page through');
          assert.deepEqual(fn(db, { from, to, sort, limit: 1000 }), want, `dim ${dim} by ${sort}`);
          assert.deepEqual(fn(db, { from, to, sort, limit: 7, offset: 5 }), want.slice(5, 12), `dim ${dim} by ${sort}, page 2`);
        }
        const name = dim === 1 ? 'u3' : '10.0.0.4';
        const filters = [{ sensor: 's2' }, { protocol: 'xmpp' }, { sensor: 's1', protocol: 'msn' }, { name }];
        for (const f of filters) {
          const want = sorted(usageTruth(dim, from, to, res, f), 'bytes');
          assert.ok(want.length > 0, JSON.stringify(f));
          const q = { from, to, limit: 1000, ...f, ...(dim === 1 ? { user: f.name } : { host: f.name }) };
          assert.deepEqual(fn(db, q), want, `dim ${dim} ${JSON.stringify(f)}`);
        }
        assert.deepEqual(fn(db, { from, to, sensor: 'nobody' }), []);
      }
    });
  }

  it('a store written before the usage index (schema 1) migrates and answers the same', () => {
    const Sqlite = require('better-sqlite3');
    const file = path.join(tmp, 'v1.db');
    const v1 = new Sqlite(file);
    v1.transaction(() => {
      MIGRATIONS[0](v1, hasFts5(v1));
      v1.pragma('user_version = 1');
    })();
    // the rollup rows a version-1 sink wrote for the same events
    v1.exec(`ATTACH '${path.join(tmp, 'q.db')}' AS src`);
    for (const t of ['rollup_1m', 'rollup_1h', 'rollup_1d']) v1.exec(`INSERT INTO ${t} SELECT * FROM src.${t}`);
    v1.close();
    const migrated = openStore(file);
    try {
      assert.equal(migrated.pragma('user_version', { simple: true }), SCHEMA_VERSION);
      // the alerts too: the users and hosts pages count them
      migrated.exec(`ATTACH '${path.join(tmp, 'q.db')}' AS src; INSERT INTO alerts SELECT * FROM src.alerts; DETACH src`);
      for (const [from, to] of [[T0 - DAY, T0 + 4 * DAY], [T0 + 13 * HOUR, T0 + 61 * HOUR]]) {
        for (const fn of [users, hosts]) assert.deepEqual(fn(migrated, { from, to, limit: 1000 }), fn(db, { from, to, limit: 1000 }));
      }
    } finally {
      migrated.close();
    }
  });
});

describe('storage: message pages (the CSV export)', () => {
  it('pages continue after the last row, through equal times, in either order, and with a text search', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-pages-'));
    const { fillStore } = require('../helpers/store') as typeof import('../helpers/store');
    const { messagePages, searchMessages } = require('../../storage/queries') as typeof import('../../storage/queries');
    // 57 messages on 5 distinct times: a page boundary falls inside a run of equal times
    await fillStore(path.join(dir, 's.db'), Array.from({ length: 57 }, (_, i): ShadowEvent => ({ type: 'message', ts: new Date(T0 + (i % 5) * MIN).toISOString(), protocol: 'irc', from: `u${i}`, to: 'bob', text: i % 3 ? 'hello there' : 'bye', direction: 'outbound', client: ep('10.0.0.5', 4000), server: ep('198.51.100.7', 6667) })));
    const db = openStore(path.join(dir, 's.db'), { readonly: true });
    for (const q of [{}, { order: 'asc' as const }, { text: 'hello' }, { offset: 10 }, { order: 'asc' as const, offset: 23 }, { text: 'hello', offset: 5 }, { offset: 100 }]) {
      const paged = [...messagePages(db, q, 7)].flat().map((m) => m.from);
      // offset honoured (was: ignored, the export began at the first row)
      assert.deepEqual(paged, searchMessages(db, { ...q, limit: 1000 }).rows.map((m) => m.from), JSON.stringify(q));
    }
    assert.deepEqual([...messagePages(db, { text: '!!' })], []);
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

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
import { overview } from '../../storage/queries';

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
    if (rnd(4) === 0) out.push({ type: 'session', ts, sensor, protocol, transport: 'tcp', client, server: ep('198.51.100.7', 6667), users: [user], start: ts, end: ts, packets: 3, bytes: 100 + rnd(900), encrypted: false, evidence: [] });
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
      else (c.sessions++, (c.bytes += e.bytes));
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
});

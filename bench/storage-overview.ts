// Dashboard read speed: 30 days of per-minute rollups for 50 sensors (plus the hourly rollups the sink
// keeps alongside), then the dashboard's queries, timed. Rows are generated straight into the rollup
// tables (what the sink would have written for that traffic); the store file is temporary.
//   node bin/run-ts.js bench/storage-overview.ts [--sensors 50] [--days 30] [--keep FILE]
// --keep FILE keeps the store; when FILE already exists, it is opened (and migrated) and only queried.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openStore } from '../storage/store';
import { FILL_ROLLUP_KEYS } from '../storage/schema';
import * as Q from '../storage/queries';

const arg = (n: string, d: string) => {
  const i = process.argv.indexOf(`--${n}`);
  return i > 0 ? process.argv[i + 1] : d;
};
const SENSORS = Number(arg('sensors', '50'));
const DAYS = Number(arg('days', '30'));
const PROTOCOLS = ['aim', 'xmpp', 'irc', 'msn', 'yahoo', 'whatsapp', 'telegram', 'discord'];
const USERS_PER_SENSOR = 20;
const keep = process.argv.includes('--keep');
const file = keep ? arg('keep', '') : path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-bench-')), 'overview.db');

let seed = 42;
const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);

const reuse = keep && fs.existsSync(file);
let t0 = Date.now();
const db = openStore(file);
if (reuse) console.log(`opened ${file} (${(fs.statSync(file).size / 1e6).toFixed(0)} MB) in ${((Date.now() - t0) / 1000).toFixed(1)} s, migrations included`);
const end = reuse ? (db.prepare('SELECT max(bucket_ms) AS m FROM rollup_1h').get() as any).m + 3600_000 : Math.floor(Date.now() / 3600_000) * 3600_000;
const start = end - DAYS * 86400_000;
const ins = (t: string) =>
  db.prepare(`INSERT INTO ${t} (dim, bucket_ms, sensor, protocol, key, sessions, messages, files, bytes, alerts, al_low, al_medium, al_high, al_critical, unauth) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`);
const stmts: Record<number, ReturnType<typeof ins>> = { 60_000: ins('rollup_1m'), 3600_000: ins('rollup_1h'), 86400_000: ins('rollup_1d') };
const counts: Record<number, number> = { 60_000: 0, 3600_000: 0, 86400_000: 0 };
type Acc = Map<string, number[]>;
// counters: sessions, messages, bytes, alerts, unauth
function add(m: Acc, k: string, c: number[]): void {
  const a = m.get(k);
  if (!a) m.set(k, [...c]);
  else for (let i = 0; i < c.length; i++) a[i] += c[i];
}
function flush(m: Acc, res: number): void {
  for (const [k, c] of m) {
    const [dim, b, sensor, p, key] = k.split('\t');
    stmts[res].run(Number(dim), Number(b), sensor, p, key, c[0], c[1], 0, c[2], c[3], 0, c[3], 0, 0, c[4]);
    counts[res]++;
  }
  m.clear();
}
t0 = Date.now();
const global: Record<number, Acc> = { 60_000: new Map(), 3600_000: new Map(), 86400_000: new Map() };
for (let s = 0; s < (reuse ? 0 : SENSORS); s++) {
  const sensor = `sensor-${String(s).padStart(2, '0')}`;
  const per: Record<number, Acc> = { 60_000: new Map(), 3600_000: new Map(), 86400_000: new Map() };
  // each sensor sees 3 of the protocols in a given hour; a few of its users and hosts per hour
  for (let t = start; t < end; t += 60_000) {
    for (let k = 0; k < 3; k++) {
      const p = PROTOCOLS[(s + k * 3 + Math.floor(t / 3600_000)) % PROTOCOLS.length];
      const alerts = rnd() < 0.05 ? 1 : 0;
      const c = [Math.floor(rnd() * 5), Math.floor(rnd() * 20), Math.floor(rnd() * 50000), alerts, alerts && rnd() < 0.5 ? 1 : 0];
      const user = `user${s}-${Math.floor(rnd() * USERS_PER_SENSOR)}`;
      const host = `10.${s}.0.${Math.floor(rnd() * USERS_PER_SENSOR)}`;
      for (const res of [60_000, 3600_000, 86400_000]) {
        const b = Math.floor(t / res) * res;
        add(per[res], `0\t${b}\t${sensor}\t${p}\t`, c);
        add(global[res], `3\t${b}\t\t${p}\t`, c);
        if (res > 60_000) {
          add(per[res], `1\t${b}\t${sensor}\t${p}\t${user}`, c);
          add(per[res], `2\t${b}\t${sensor}\t${p}\t${host}`, c);
        }
      }
    }
  }
  db.transaction(() => {
    for (const res of [60_000, 3600_000, 86400_000]) flush(per[res], res);
  })();
}
db.transaction(() => {
  for (const res of [60_000, 3600_000, 86400_000]) flush(global[res], res);
})();
db.exec(FILL_ROLLUP_KEYS); // the sink keeps this list as it writes rollups
const rows1m = counts[60_000], rows1h = counts[3600_000];
db.pragma('optimize');
const gen = (Date.now() - t0) / 1000;
if (!reuse) console.log(`generated ${rows1m.toLocaleString()} per-minute, ${rows1h.toLocaleString()} hourly and ${counts[86400_000].toLocaleString()} daily rollup rows (${SENSORS} sensors, ${DAYS} days) in ${gen.toFixed(1)} s; file ${(fs.statSync(file).size / 1e6).toFixed(0)} MB`);

// wall clock and CPU time (user + system) of this thread: on a shared machine CPU time is the steadier one
function time(name: string, f: () => unknown, runs = 5): void {
  f(); // warm the page cache, as a running dashboard has it
  const ms: number[] = [], cpu: number[] = [];
  for (let i = 0; i < runs; i++) {
    const a = process.hrtime.bigint(), c = process.cpuUsage();
    f();
    const u = process.cpuUsage(c);
    ms.push(Number(process.hrtime.bigint() - a) / 1e6);
    cpu.push((u.user + u.system) / 1000);
  }
  const med = (v: number[]) => v.sort((a, b) => a - b)[Math.floor(runs / 2)].toFixed(1).padStart(7);
  console.log(`${name.padEnd(48)} median ${med(ms)} ms   CPU ${med(cpu)} ms   max ${ms[runs - 1].toFixed(1).padStart(7)} ms`);
}

const r30 = { from: start, to: end };
const r7 = { from: end - 7 * 86400_000, to: end };
const r1 = { from: end - 86400_000, to: end };
time('overview 30 d (auto bucket, all sensors)', () => Q.overview(db, r30));
time('overview 30 d, 1 h buckets', () => Q.overview(db, { ...r30, bucketMs: 3600_000 }));
const one = `sensor-${String(Math.min(7, SENSORS - 1)).padStart(2, '0')}`;
time('overview 30 d, one sensor', () => Q.overview(db, { ...r30, sensor: one }));
time('overview 30 d, 1 d buckets', () => Q.overview(db, { ...r30, bucketMs: 86400_000 }));
time('overview 7 d (auto bucket)', () => Q.overview(db, r7));
time('overview 24 h, 1 min buckets (per-minute table)', () => Q.overview(db, { ...r1, bucketMs: 60_000 }));
time('unauthorized trend 30 d', () => Q.unauthorizedTrend(db, r30));
time('users 30 d (top 100)', () => Q.users(db, r30));
time('users 30 d, one sensor', () => Q.users(db, { ...r30, sensor: one }));
time('users 30 d, by name, page 3', () => Q.users(db, { ...r30, sort: 'name', offset: 200 }));
time('users 7 d (top 100)', () => Q.users(db, r7));
time('hosts 30 d (top 100)', () => Q.hosts(db, r30));
time('users 24 h (top 100)', () => Q.users(db, r1));
time('hosts 24 h (top 100)', () => Q.hosts(db, r1));
time('alerts by severity 30 d', () => Q.alertsBySeverity(db, r30));
db.close();
if (!keep) fs.rmSync(path.dirname(file), { recursive: true, force: true });

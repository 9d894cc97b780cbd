// Ingest speed: events/s into SQLite (SqliteSink: batched transactions, rollups, FTS) and into a real
// influxd (InfluxSink: fsync'd spool + batched HTTP writes), on generated events.
//   node bin/run-ts.js bench/storage-ingest.ts [--events 200000] [--no-influx]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ShadowEvent } from '../common/events';
import { defaults } from '../common/config';
import { openStore } from '../storage/store';
import { SqliteSink } from '../storage/sqlite-sink';
import { InfluxSink } from '../storage/influx-sink';
import { haveInfluxd, Influxd } from '../test/storage/influxd';

const i = process.argv.indexOf('--events');
const N = i > 0 ? Number(process.argv[i + 1]) : 200_000;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-ingest-'));
const WORDS = 'the quarterly numbers are ready lunch at noon deploy tonight please review the draft before friday'.split(' ');

function events(n: number): ShadowEvent[] {
  const out: ShadowEvent[] = [];
  const t0 = Date.now() - 3600_000;
  for (let k = 0; k < n; k++) {
    const ts = new Date(t0 + k).toISOString();
    const u = `user${k % 500}`, client = { ip: `10.0.${(k >> 8) & 255}.${k & 255}`, port: 40000 + (k % 1000) }, server = { ip: '198.51.100.7', port: 6667 };
    const r = k % 100;
    if (r < 10) out.push({ type: 'session', ts, protocol: 'irc', transport: 'tcp', client, server, users: [u], start: ts, end: ts, packets: 20, bytes: 4000, encrypted: false, evidence: [{ signature: 'irc.registration', reason: 'NICK/USER' }], flow_id: `f${k}` });
    else if (r < 11) out.push({ type: 'alert', ts, id: `unauth:${u}`, kind: 'unauthorized_im', severity: 'medium', protocol: 'irc', summary: `IRC used by ${u}`, users: [u], client, server, count: 1 });
    else if (r < 14) out.push({ type: 'file_transfer', ts, protocol: 'irc', from: u, to: 'bob', filename: `report-${k}.pdf`, size: 10000, client, server });
    else out.push({ type: 'message', ts, protocol: 'irc', from: u, to: '#ops', text: Array.from({ length: 8 }, (_, j) => WORDS[(k * 7 + j) % WORDS.length]).join(' '), direction: 'outbound', client, server, flow_id: `f${k - (k % 100)}` });
  }
  return out;
}

const cpuSec = (since: NodeJS.CpuUsage) => {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1e6;
};

async function main(): Promise<void> {
  const evs = events(N);
  console.log(`${N.toLocaleString()} events: 10% sessions, 1% alerts (each committed at once), 3% files, 86% messages`);

  const db = openStore(path.join(tmp, 'ingest.db'));
  const sink = new SqliteSink(db, { sensor: 'bench', archive: defaults().archive });
  let cpu = process.cpuUsage();
  let a = performance.now();
  for (const e of evs) sink.write(e);
  await sink.close();
  let s = (performance.now() - a) / 1000;
  let c = cpuSec(cpu);
  console.log(`SQLite   ${Math.round(N / s).toLocaleString().padStart(9)} events/s wall, ${Math.round(N / c).toLocaleString()} per CPU-second  (${s.toFixed(2)} s, file ${(fs.statSync(path.join(tmp, 'ingest.db')).size / 1e6).toFixed(0)} MB + WAL)`);
  db.close();

  const db2 = openStore(path.join(tmp, 'ingest-noalerts.db'));
  const sink2 = new SqliteSink(db2, { sensor: 'bench', archive: defaults().archive });
  const noAlerts = evs.filter((e) => e.type !== 'alert');
  cpu = process.cpuUsage();
  a = performance.now();
  for (const e of noAlerts) sink2.write(e);
  await sink2.close();
  s = (performance.now() - a) / 1000;
  c = cpuSec(cpu);
  console.log(`SQLite   ${Math.round(noAlerts.length / s).toLocaleString().padStart(9)} events/s wall, ${Math.round(noAlerts.length / c).toLocaleString()} per CPU-second  without alerts (1000-event transactions only)`);
  db2.close();

  if (process.argv.includes('--no-influx')) return;
  if (!haveInfluxd()) {
    console.log('InfluxDB skipped: influxd is not installed');
    return;
  }
  const d = new Influxd();
  await d.start();
  try {
    const isink = new InfluxSink({ ...defaults().influx, url: d.url, sensor: 'bench', spool_dir: path.join(tmp, 'spool'), close_timeout_ms: 600_000, log: () => {} });
    a = performance.now();
    for (const e of evs) isink.write(e);
    const spooled = (performance.now() - a) / 1000;
    await isink.close();
    s = (performance.now() - a) / 1000;
    const r = await d.query('SELECT count(id) FROM raw.im_alert', 'shadowim');
    console.log(`InfluxDB ${Math.round(N / s).toLocaleString().padStart(9)} events/s  end to end (spooled in ${spooled.toFixed(2)} s, delivered by ${s.toFixed(2)} s; ${isink.sent.toLocaleString()} points; ${r[0]?.count} alert points)`);
  } finally {
    await d.cleanup();
  }
}

main()
  .catch((e) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(() => fs.rmSync(tmp, { recursive: true, force: true }));

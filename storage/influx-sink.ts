// Events → InfluxDB 1.x. Every point first goes to the on-disk spool (fsync'd in small batches; an alert
// at once), then a sender posts spooled points in order, in batches (batch_points or flush_ms), and
// acknowledges what InfluxDB accepted. When InfluxDB is unreachable the sender retries with backoff while
// the spool grows up to its bound; nothing is lost short of that bound, and drops past it are counted.
// On start it creates the database, retention policies and continuous queries (influx.setup).

import path from 'node:path';
import type { EventSink, ShadowEvent } from '../common/events';
import type { InfluxConfig } from '../common/config';
import { Spool } from './spool';
import { eventLine, spoolLine, Stamper } from './influx-points';
import { stderrLine } from '../common/stderr';

export interface InfluxSinkOptions extends InfluxConfig {
  url: string;
  sensor: string;
  /** called with the number of points the spool bound dropped */
  onDropped?: (n: number) => void;
  /** warnings (default: standard error, one line each, rate-limited) */
  log?: (line: string) => void;
  /** fsync the spool at least this often (ms) */
  syncMs?: number;
  syncLines?: number;
}

export const RP_RAW = 'raw';
export const RP_1M = 'rollup_1m';
export const RP_1H = 'rollup_1h';

/**
 * The sensor's folder under spool_dir: its name with anything but letters, digits, _ . - made _, and
 * a name of dots only (".", "..", from --sensor) made underscores — path.join would otherwise put the
 * spool in spool_dir itself or in its parent.
 */
export function spoolLeaf(sensor: string): string {
  const safe = sensor.replace(/[^A-Za-z0-9_.-]/g, '_');
  return /^\.*$/.test(safe) ? safe.replace(/\./g, '_') || '_' : safe;
}

export class InfluxSink implements EventSink {
  readonly spool: Spool;
  private stamper = new Stamper();
  private syncTimer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  private stopping = false;
  private loop: Promise<void>;
  private setupDone = false;
  private lastSend = 0;
  private closed = false;
  private spoolClosed = false;
  private warnedAt = 0;
  /** points InfluxDB accepted in this run */
  sent = 0;
  /** points InfluxDB refused (HTTP 400: older than the retention policy, field type conflict), skipped */
  rejected = 0;
  /** the last delivery error, for status displays */
  lastError: string | undefined;
  private readonly log: (line: string) => void;

  constructor(private readonly o: InfluxSinkOptions) {
    this.log = o.log ?? ((l) => stderrLine(`shadowim: ${l}`));
    const dir = path.join(o.spool_dir, spoolLeaf(o.sensor));
    this.spool = new Spool(dir, { maxBytes: o.spool_max_bytes });
    this.spool.onDrop = (n) => {
      this.warn(`InfluxDB spool ${dir} is full (${o.spool_max_bytes} bytes): dropped ${n} oldest points (${this.spool.dropped} in all)`);
      o.onDropped?.(n);
    };
    this.loop = this.run();
  }

  write(ev: ShadowEvent): void {
    if (this.closed) return;
    const line = eventLine(ev, this.o.sensor);
    if (!line) return;
    const t = Date.parse(ev.ts);
    this.spool.append(`${line} ${this.stamper.stamp(Number.isFinite(t) ? t : Date.now())}`);
    // alerts are on disk before write() returns; other points within syncMs or syncLines
    if (ev.type === 'alert' || this.spool.buffered >= (this.o.syncLines ?? 1000)) this.sync();
    else if (!this.syncTimer) {
      this.syncTimer = setTimeout(() => this.sync(), this.o.syncMs ?? 100);
      this.syncTimer.unref();
    }
  }

  private sync(): void {
    if (this.syncTimer) clearTimeout(this.syncTimer);
    this.syncTimer = undefined;
    this.spool.sync();
    this.wake?.();
  }

  private warn(line: string): void {
    const now = Date.now();
    if (now - this.warnedAt < 10_000) return;
    this.warnedAt = now;
    this.log(line);
  }

  private sleep(msec: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => ((this.wake = undefined), resolve()), msec);
      this.wake = () => {
        clearTimeout(t);
        this.wake = undefined;
        resolve();
      };
    });
  }

  private async run(): Promise<void> {
    let backoff = 250;
    while (!this.stopping) {
      try {
        if (this.o.setup && !this.setupDone) {
          await setupInflux(this.o);
          this.setupDone = true;
        }
        const batch = this.spool.read(this.o.batch_points);
        const full = batch && batch.lines.length >= this.o.batch_points;
        if (!batch || (!full && Date.now() - this.lastSend < this.o.flush_ms && !this.closed)) {
          await this.sleep(batch ? this.o.flush_ms - (Date.now() - this.lastSend) : this.o.flush_ms);
          continue;
        }
        await this.post(batch.lines);
        if (this.spoolClosed) return; // close() timed out meanwhile; the next start resends (idempotent)
        this.spool.ack(batch.pos);
        this.sent += batch.lines.length;
        this.lastSend = Date.now();
        this.lastError = undefined;
        backoff = 250;
      } catch (e: any) {
        this.lastError = String(e?.message ?? e).split('\n')[0];
        this.warn(`InfluxDB at ${this.o.url} not reachable (${this.lastError}); points are kept in the spool and sent when it is back`);
        if (this.closed) return; // close() gives up at the first failure: the spool keeps the rest
        await this.sleep(backoff);
        backoff = Math.min(backoff * 2, 10_000);
      }
    }
  }

  private async post(lines: string[]): Promise<void> {
    const q = new URLSearchParams({ db: this.o.database, precision: 'ns' });
    if (this.o.setup) q.set('rp', RP_RAW);
    if (this.o.username) q.set('u', this.o.username);
    if (this.o.password) q.set('p', this.o.password);
    const res = await fetch(`${this.o.url}/write?${q}`, { method: 'POST', body: lines.join('\n'), signal: AbortSignal.timeout(15_000) });
    if (res.status === 204) return;
    const body = (await res.text()).slice(0, 300);
    if (res.status === 400) {
      // points InfluxDB will never take (e.g. a field type conflict): the rest of the batch was written
      const m = /dropped=(\d+)/.exec(body);
      this.rejected += m ? Number(m[1]) : 1;
      this.warn(`InfluxDB refused part of a batch: ${body.replace(/\s+/g, ' ')}`);
      return;
    }
    throw new Error(`HTTP ${res.status} ${body.replace(/\s+/g, ' ')}`);
  }

  /** Points written to the spool but not yet accepted by InfluxDB (bytes). */
  pendingBytes(): number {
    return this.spool.pendingBytes();
  }

  /**
   * Syncs the spool and keeps sending until it is empty, InfluxDB fails, or close_timeout_ms passes;
   * whatever is left is sent by the next process that opens this sensor's spool.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.sync();
    if (this.spool.dropped) this.spool.append(`${spoolLine(this.o.sensor, this.spool.dropped, this.spool.pendingBytes())} ${Date.now()}000000`), this.spool.sync();
    const deadline = Date.now() + this.o.close_timeout_ms;
    const timer = new Promise<void>((r) => setTimeout(r, this.o.close_timeout_ms).unref());
    this.lastError = undefined;
    this.wake?.();
    // the loop ends when the spool is empty (checked below) or at the first failure
    const drained = (async () => {
      while (Date.now() < deadline && this.spool.read(1) && !this.lastError) await new Promise((r) => setTimeout(r, 20));
    })();
    await Promise.race([drained, timer]);
    this.stopping = true;
    this.wake?.();
    await Promise.race([this.loop, timer]);
    this.spoolClosed = true;
    this.spool.close();
    if (this.spool.droppedNow) this.log(`InfluxDB spool dropped ${this.spool.droppedNow} points in this run (bound ${this.o.spool_max_bytes} bytes)`);
    const left = this.spool.pendingBytes();
    if (left) this.log(`${left} bytes of points for InfluxDB remain in the spool ${this.spool.dir}; they are sent on the next start`);
  }
}

function clientFor(o: InfluxConfig & { url: string }): any {
  const Influx = require('influx');
  const u = new URL(o.url);
  return new Influx.InfluxDB({
    host: u.hostname,
    port: Number(u.port) || (u.protocol === 'https:' ? 443 : 8086),
    protocol: u.protocol.replace(':', ''),
    database: o.database,
    username: o.username,
    password: o.password,
    options: { timeout: 10_000 } as any,
  });
}

const CQ_MEASUREMENTS: Record<string, string> = {
  im_session: 'sum("count") AS "count", sum(bytes) AS bytes, sum(packets) AS packets',
  im_message: 'sum("count") AS "count", sum(length) AS length',
  im_file: 'sum("count") AS "count", sum(size) AS size',
  im_alert: 'sum("count") AS "count"',
  im_credential: 'sum("count") AS "count"',
};

/** Database, retention policies (raw, rollup_1m, rollup_1h) and downsampling continuous queries. */
export async function setupInflux(o: InfluxConfig & { url: string }): Promise<void> {
  const c = clientFor(o);
  const db = o.database;
  await c.createDatabase(db);
  const rps = [
    [RP_RAW, o.retention, true],
    [RP_1M, o.rollup_retention, false],
    [RP_1H, o.long_retention, false],
  ] as const;
  const existing = new Set(((await c.showRetentionPolicies(db)) as any[]).map((r) => r.name));
  for (const [name, duration, isDefault] of rps) {
    const spec = { database: db, duration, replication: 1, isDefault };
    if (existing.has(name)) await c.alterRetentionPolicy(name, spec);
    else await c.createRetentionPolicy(name, spec);
  }
  const cqs = new Set(((await c.showContinousQueries(db)) as any[]).map((r) => r.name));
  for (const [m, sel] of Object.entries(CQ_MEASUREMENTS)) {
    const q1 = `SELECT ${sel} INTO "${db}"."${RP_1M}"."${m}_1m" FROM "${db}"."${RP_RAW}"."${m}" GROUP BY time(1m), *`;
    const q2 = `SELECT ${sel} INTO "${db}"."${RP_1H}"."${m}_1h" FROM "${db}"."${RP_1M}"."${m}_1m" GROUP BY time(1h), *`;
    if (!cqs.has(`${m}_1m`)) await c.createContinuousQuery(`${m}_1m`, q1, db);
    if (!cqs.has(`${m}_1h`)) await c.createContinuousQuery(`${m}_1h`, q2, db);
  }
}

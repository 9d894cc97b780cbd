// The alert outbox: every alert bound for a sink is committed to SQLite before delivery is tried, so a
// crash, a SIGKILL or a receiver outage loses nothing. Delivery is at-least-once; the alert id is the
// idempotency key (the same alert, or its updated count, always goes out under the same id).
// Retries back off exponentially with full jitter; after max_attempts the row is dead-lettered and
// stays visible (`shadowim alerts outbox --state dead`, the dashboard) until retried.
import fs from 'node:fs';
import path from 'node:path';
import type { AlertEvent } from '../../common/events';
import { ConfigError } from '../../common/configError';
import type { DeliveryConfig } from './config';
import type { AlertSink } from './sinks';

type Db = import('better-sqlite3').Database;

export interface OutboxRow {
  alert_id: string;
  sink: string;
  state: 'pending' | 'delivered' | 'dead';
  attempts: number;
  next_at: number;
  created_at: number;
  updated_at: number;
  delivered_at: number | null;
  last_error: string | null;
  alert: string;
}

export function openOutbox(file: string): Db {
  const Database = require('better-sqlite3');
  let db: Db;
  try {
    db = new Database(file);
  } catch (e) {
    // better-sqlite3 names neither the file nor an errno code
    const why = isDir(path.dirname(path.resolve(file))) ? String((e as Error).message).split('\n')[0] : 'no such directory';
    throw new ConfigError(`cannot open the alert outbox ${file}: ${why}; fix sinks.delivery.outbox or --store`);
  }
  try {
    db.pragma('journal_mode = WAL');
  } catch (e) {
    // SQLite says only 'file is not a database', without the file
    db.close();
    const msg = String((e as Error).message);
    throw new ConfigError(`cannot open the alert outbox ${file}: ${/not a database|encrypted/i.test(msg) ? 'it is not an SQLite database' : msg}; fix sinks.delivery.outbox or --store`);
  }
  // enqueue promises the alert is durable when it returns, also across a power cut: the outbox has its
  // own connection, so this costs the store nothing (about one fsync per alert here)
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  db.exec(`CREATE TABLE IF NOT EXISTS alert_outbox (
    alert_id TEXT NOT NULL,
    sink TEXT NOT NULL,
    alert TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    delivered_at INTEGER,
    last_error TEXT,
    PRIMARY KEY (alert_id, sink)
  );
  -- the head of a sink's queue is the first entry of (sink, state, created_at); the old index, with
  -- next_at before created_at, made every pick sort all due rows (quadratic after an outage)
  DROP INDEX IF EXISTS alert_outbox_due;
  CREATE INDEX IF NOT EXISTS alert_outbox_head ON alert_outbox(sink, state, created_at);
  CREATE INDEX IF NOT EXISTS alert_outbox_delivered ON alert_outbox(delivered_at) WHERE state = 'delivered';`);
  return db;
}

/** Backoff before attempt n+1 after n failures: base·2^(n-1), capped, with full jitter (AWS style). */
export function backoffMs(attempts: number, d: Pick<DeliveryConfig, 'base_ms' | 'max_ms'>, rand = Math.random): number {
  const cap = Math.min(d.max_ms, d.base_ms * 2 ** Math.min(30, Math.max(0, attempts - 1)));
  return Math.floor(cap / 2 + rand() * (cap / 2));
}

/** A sink's oldest pending row, due or not: a row backing off holds the newer ones back (oldest first). */
export const HEAD_SQL = `SELECT * FROM alert_outbox WHERE sink = ? AND state = 'pending' ORDER BY created_at, rowid LIMIT 1`;

/** An SQLite error (locked past busy_timeout, disk full, I/O): the row stays as it is and is tried again later. */
function dbError(e: unknown): string | undefined {
  const code = (e as { code?: unknown })?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_') ? `${code}: ${String((e as Error).message).split('\n')[0]}` : undefined;
}

/** what to do about an outbox the database refuses; `final`: said when nothing retries any more (delivery stopped, the process exiting) */
function dbAdvice(why: string, final = false): string {
  if (/SQLITE_FULL/.test(why)) return 'free space on its disk';
  if (/SQLITE_BUSY|SQLITE_LOCKED/.test(why)) return `another process holds its lock (alerts deliver, alerts retry, the store writer)${final ? '' : ': it is retried'}`;
  return 'check the file and its disk';
}

/** after the outbox refused an alert, how long until the alerts waiting are tried again */
const ENQUEUE_RETRY_MS = 1000;
/** how long such a retry waits for another connection's lock (the first attempt waits busy_timeout) */
const PROBE_BUSY_MS = 100;

export class Outbox {
  private enqueueStmt;
  private headStmt;
  private okStmt;
  private failStmt;
  private pendingStmt;
  private purgeStmt;
  /** per sink: the timer that wakes it when its oldest pending row is due */
  private timers = new Map<string, NodeJS.Timeout>();
  private purgeTimer: NodeJS.Timeout | undefined;
  private busy = new Set<string>();
  /** sinks whose last attempt failed (for logging state changes only) */
  private failing = new Set<string>();
  /** per sink: database errors in a row, and until when the sink waits after one (performance.now(): a
   * monotonic clock, so neither Date.now()'s rounding nor a wall-clock step back keeps the hold on) */
  private dbFailures = new Map<string, number>();
  private holdUntil = new Map<string, number>();
  /**
   * Alerts the outbox refused (locked past busy_timeout, disk full), oldest first, waiting in memory to
   * be queued, in order and before any newer alert, at the next enqueue or by their timer; at most
   * maxHeld: past it a newer alert is not kept (counted in `dropped`, said), the older ones are.
   */
  private held: { a: AlertEvent; json: string; now: number }[] = [];
  readonly maxHeld: number = 10_000;
  private dropped = 0;
  /** the first and last alert not kept (past maxHeld) since the outbox last took alerts */
  private firstDropped = '';
  private lastDropped = '';
  /** while alerts wait in memory: a process 'exit' handler tries them once more and says what is lost */
  private exitHooked = false;
  private readonly onExit = (): void => this.exiting();
  /** why the outbox refuses alerts (undefined: it takes them), and when to try again (performance.now()) */
  private refused: string | undefined;
  private retryAt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  /** the connection's busy_timeout; a retry while refused waits at most PROBE_BUSY_MS for the lock */
  private readonly busyMs: number;
  private stopped = false;
  /** set once stop() finished: the database may be closed by the owner */
  private closed = false;
  private wake: (() => void) | undefined;
  private lastPending = 0;

  constructor(readonly db: Db, readonly sinks: AlertSink[], readonly delivery: DeliveryConfig, private readonly log: (s: string) => void = () => {}) {
    this.enqueueStmt = db.prepare(`INSERT INTO alert_outbox (alert_id, sink, alert, state, attempts, next_at, created_at, updated_at)
      VALUES (@id, @sink, @alert, 'pending', 0, @now, @now, @now)
      ON CONFLICT (alert_id, sink) DO UPDATE SET alert = excluded.alert, updated_at = excluded.updated_at,
        attempts = CASE WHEN alert_outbox.state = 'pending' THEN alert_outbox.attempts ELSE 0 END,
        next_at = CASE WHEN alert_outbox.state = 'pending' THEN alert_outbox.next_at ELSE excluded.next_at END,
        state = 'pending'`);
    this.headStmt = db.prepare(HEAD_SQL);
    this.okStmt = db.prepare(`UPDATE alert_outbox SET state = 'delivered', attempts = attempts + 1, delivered_at = @now, updated_at = @now, last_error = NULL WHERE alert_id = @id AND sink = @sink AND alert = @alert`);
    this.failStmt = db.prepare(`UPDATE alert_outbox SET state = @state, attempts = @attempts, next_at = @next, updated_at = @now, last_error = @err WHERE alert_id = @id AND sink = @sink`);
    // rows of a sink no longer configured stay (listed by `alerts outbox --sink NAME`) but are nobody's work
    this.pendingStmt = db.prepare(`SELECT COUNT(*) AS n FROM alert_outbox WHERE state = 'pending' AND sink IN (SELECT value FROM json_each(?))`);
    this.purgeStmt = db.prepare(`DELETE FROM alert_outbox WHERE rowid IN (SELECT rowid FROM alert_outbox WHERE state = 'delivered' AND delivered_at < ? LIMIT 2000)`);
    this.busyMs = Number(db.pragma('busy_timeout', { simple: true })) || 0;
  }

  /**
   * Commit the alert for every sink that wants it (synchronous: durable when this returns); returns how
   * many sinks it was queued for. A database that refuses it (locked past busy_timeout, disk full) is
   * said once; the alert then waits in memory (up to maxHeld, oldest kept) and is queued, in order,
   * once the outbox takes alerts again: tried at the next enqueue or every ENQUEUE_RETRY_MS, not
   * sooner (one blocked attempt, not one per alert), each retry waiting at most PROBE_BUSY_MS for the
   * lock. Returns 0 while it waits. What is still waiting when delivery stops is said, with what to do.
   */
  enqueue(a: AlertEvent, now = Date.now()): number {
    const json = JSON.stringify(a);
    // full: the alerts waiting are tried first (when their second is over); only if the outbox still
    // refuses them is this one not kept (was: counted and said lost before the try, which could succeed)
    if (this.held.length >= this.maxHeld) this.queueHeld();
    if (this.held.length >= this.maxHeld) {
      if (!this.dropped++) {
        this.firstDropped = a.id;
        this.log(`alert ${a.id} is not delivered to the sinks: the outbox ${this.db.name} still refuses alerts (${this.refused}) and ${this.maxHeld} wait in memory, the most kept; newer ones are not kept (counted and named later), the older ones are queued if it takes them before the run ends. ${dbAdvice(this.refused ?? '')}. Alerts are still printed on standard output and stored`);
      }
      this.lastDropped = a.id;
      return 0;
    }
    this.held.push({ a, json, now });
    return this.queueHeld();
  }

  /** Commits the alerts waiting (one transaction, oldest first); returns the sinks the last one went to. */
  private queueHeld(force = false): number {
    try {
      return this.tryHeld(force);
    } finally {
      this.hookExit();
    }
  }

  private tryHeld(force: boolean): number {
    if (!this.held.length) return 0;
    if (!force && performance.now() < this.retryAt) {
      this.armRetry();
      return 0;
    }
    const retry = this.refused !== undefined;
    let last = 0;
    const tx = this.db.transaction(() => {
      for (const h of this.held) {
        last = 0;
        for (const s of this.sinks) {
          if (!s.accepts(h.a)) continue;
          this.enqueueStmt.run({ id: h.a.id, sink: s.name, alert: h.json, now: h.now });
          last++;
        }
      }
    });
    try {
      if (retry) this.db.pragma(`busy_timeout = ${Math.min(this.busyMs, PROBE_BUSY_MS)}`);
      tx();
    } catch (e) {
      const why = dbError(e);
      if (!why) throw e;
      if (!retry) this.log(`alert ${this.held[0].a.id} could not be queued for the sinks: the outbox ${this.db.name} refused it (${why}); ${dbAdvice(why)}. Alerts are still printed and stored; up to ${this.maxHeld} wait in memory and are queued, in order, if the outbox takes them before the run ends (those it does not are named then)`);
      this.refused = why;
      this.retryAt = performance.now() + ENQUEUE_RETRY_MS;
      this.armRetry();
      return 0;
    } finally {
      if (retry) this.db.pragma(`busy_timeout = ${this.busyMs}`);
    }
    const n = this.held.length;
    this.held = [];
    if (retry) {
      const lost = this.dropped ? `; ${this.dropped} more (${span(this.firstDropped, this.lastDropped)}), past the ${this.maxHeld} kept, were not and are not delivered to the sinks: they are on standard output, forward them by hand` : '';
      this.log(`alerts are queued for the sinks again (${n} that waited in memory, in order${lost})`);
      this.refused = undefined;
      this.dropped = 0;
    }
    this.kick();
    return last;
  }

  /** the 'exit' handler is on exactly while alerts wait in memory */
  private hookExit(): void {
    if (this.held.length && !this.exitHooked) process.on('exit', this.onExit);
    else if (!this.held.length && this.exitHooked) process.off('exit', this.onExit);
    else return;
    this.exitHooked = !this.exitHooked;
  }

  /**
   * The process exits while alerts wait in memory (analyze's second Ctrl-C, any exit without stop()):
   * one last try (at most PROBE_BUSY_MS for the lock), then what is not queued is said, synchronously
   * (process.stderr is synchronous for files, pipes and terminals on Linux). Was: nothing said, and the
   * last line on stderr had promised they would be queued.
   */
  private exiting(): void {
    if (!this.held.length) return;
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    try {
      if (this.db.open) this.queueHeld(true);
    } catch {
      // said below with the reason last known
    }
    this.sayLost('the process exited');
  }

  /** what still waits in memory (and what was not kept) is said with what to do, and let go */
  private sayLost(when: string): void {
    if (this.held.length || this.dropped) {
      const n = this.held.length + this.dropped;
      const first = this.held.length ? this.held[0].a.id : this.firstDropped;
      const last = this.dropped ? this.lastDropped : this.held[this.held.length - 1].a.id;
      this.log(`${n} alert${n === 1 ? '' : 's'} (${span(first, last)}) could not be queued for the sinks and ${n === 1 ? 'is' : 'are'} not delivered to them: the outbox ${this.db.name} refused ${n === 1 ? 'it' : 'them'} until ${when} (${this.refused}); ${dbAdvice(this.refused ?? '', true)}. Standard output has every alert, so ${n === 1 ? 'it is' : 'they are'} there (and in the store, if one is kept, unless it reported that it stopped): forward ${n === 1 ? 'it' : 'them'} by hand`);
    }
    this.held = [];
    this.dropped = 0;
    this.hookExit();
  }

  private armRetry(): void {
    if (this.retryTimer || this.stopped || !this.held.length) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.queueHeld();
    }, Math.max(1, Math.ceil(this.retryAt - performance.now())));
    this.retryTimer.unref?.();
  }

  /** deliveries the alerts waiting in memory will make once queued */
  private heldDeliveries(): number {
    let n = 0;
    for (const h of this.held) for (const s of this.sinks) if (s.accepts(h.a)) n++;
    return n;
  }

  /** Start delivering in the background (one alert at a time per sink, oldest first). */
  start(): void {
    this.stopped = false;
    this.closed = false;
    this.purge();
    this.kick();
  }

  kick(): void {
    if (this.stopped) return;
    for (const s of this.sinks) if (!this.busy.has(s.name)) void this.drainSink(s);
  }

  /** Delete delivered rows (each holds the whole alert) older than delivery.keep_delivered_days; hourly while running. */
  purge(now = Date.now()): number {
    const days = this.delivery.keep_delivered_days ?? 30; // ?? : a DeliveryConfig built by hand
    if (this.purgeTimer) clearTimeout(this.purgeTimer);
    this.purgeTimer = undefined;
    if (!days || this.stopped) return 0;
    let n = 0;
    try {
      // in slices: the write lock is shared with the store's writer
      for (let c; (c = this.purgeStmt.run(now - days * 86_400_000).changes); ) n += c;
    } catch (e) {
      const why = dbError(e);
      if (!why) throw e;
      this.log(`delivered alerts older than ${days} days could not be removed from the outbox ${this.db.name} (${why}); tried again in an hour`);
    }
    this.purgeTimer = setTimeout(() => this.purge(), 3_600_000);
    this.purgeTimer.unref?.();
    return n;
  }

  private async drainSink(s: AlertSink): Promise<void> {
    // after a database error the sink waits; its timer wakes it (and is armed again if it is not there)
    const left = (this.holdUntil.get(s.name) ?? 0) - performance.now();
    if (left > 0) {
      if (!this.timers.has(s.name)) this.arm(s.name, left);
      return;
    }
    this.holdUntil.delete(s.name);
    this.busy.add(s.name);
    this.clearTimer(s.name);
    let wait: number | undefined;
    try {
      for (;;) {
        if (this.stopped) return;
        const row = this.headStmt.get(s.name) as OutboxRow | undefined;
        if (!row) break;
        const now = Date.now();
        if (row.next_at > now) {
          wait = row.next_at - now;
          break;
        }
        await this.attempt(s, row);
      }
      if (this.dbFailures.delete(s.name)) this.log(`${s.name}: the outbox ${this.db.name} works again`);
    } catch (e) {
      // never an unhandled rejection: that would end the whole process (analyze, the sensor)
      if (this.closed) return;
      const why = dbError(e) ?? String((e as Error)?.message ?? e);
      const n = (this.dbFailures.get(s.name) ?? 0) + 1;
      this.dbFailures.set(s.name, n);
      wait = backoffMs(n, this.delivery);
      this.holdUntil.set(s.name, performance.now() + wait);
      if (n === 1) this.log(`${s.name}: the outbox ${this.db.name} could not be read or updated (${why}); ${dbAdvice(why)}. The alert stays queued (it may be sent twice, under the same id); retrying with backoff`);
    } finally {
      this.busy.delete(s.name);
    }
    if (this.stopped) return;
    if (wait !== undefined) this.arm(s.name, wait);
    this.wake?.();
  }

  /**
   * Wakes the sink in `wait` ms. The wake-up ends its hold: a timer may fire a little before the hold's
   * end as a clock reads it (was: the sink then returned without a timer, stalled until the next alert).
   */
  private arm(name: string, wait: number): void {
    this.clearTimer(name);
    // setTimeout takes at most 2^31-1 ms
    const t = setTimeout(() => {
      this.timers.delete(name);
      this.holdUntil.delete(name);
      this.kick();
    }, Math.min(Math.max(1, Math.ceil(wait)), 2 ** 31 - 1));
    t.unref?.();
    this.timers.set(name, t);
  }

  private clearTimer(name: string): void {
    const t = this.timers.get(name);
    if (t) clearTimeout(t);
    this.timers.delete(name);
  }

  private async attempt(s: AlertSink, row: OutboxRow): Promise<void> {
    let alert: AlertEvent;
    try {
      alert = JSON.parse(row.alert);
    } catch {
      this.failStmt.run({ id: row.alert_id, sink: s.name, state: 'dead', attempts: row.attempts, next: row.next_at, now: Date.now(), err: 'unreadable outbox row' });
      return;
    }
    let r;
    try {
      r = await s.send(alert);
    } catch (e) {
      r = { ok: false, detail: (e as Error).message };
    }
    // stopped while the attempt was in flight: leave the row as it is (at-least-once: sent again later)
    if (this.closed) return;
    const now = Date.now();
    if (r.ok) {
      // only if the row still holds what was sent; an update that arrived meanwhile stays pending
      const changed = this.okStmt.run({ id: row.alert_id, sink: s.name, alert: row.alert, now }).changes;
      if (this.failing.delete(s.name)) this.log(`${s.name}: delivering again`);
      if (!changed) this.log(`${s.name}: alert ${row.alert_id} changed while it was being delivered; sending the update`);
      return;
    }
    const attempts = row.attempts + 1;
    const dead = r.permanent || attempts >= this.delivery.max_attempts;
    // a receiver's Retry-After is honoured, up to max_ms (a hostile one cannot park the queue for longer)
    const wait = Math.max(backoffMs(attempts, this.delivery), Math.min(r.retryAfterMs ?? 0, this.delivery.max_ms));
    this.failStmt.run({ id: row.alert_id, sink: s.name, state: dead ? 'dead' : 'pending', attempts, next: now + wait, now, err: r.detail.slice(0, 500) });
    // say it when a sink starts failing and when something is dead-lettered, not on every retry
    if (dead) this.log(`${s.name}: alert ${row.alert_id} dead-lettered after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${r.detail}`);
    else if (!this.failing.has(s.name)) this.log(`${s.name}: delivery failing (${r.detail}); retrying with backoff`);
    this.failing.add(s.name);
  }

  /** Pending deliveries of the configured sinks, with those of alerts waiting to be queued (a database error: the last count known). */
  pending(): number {
    try {
      this.lastPending = (this.pendingStmt.get(JSON.stringify(this.sinks.map((s) => s.name))) as { n: number }).n;
    } catch (e) {
      if (!dbError(e)) throw e;
    }
    return this.lastPending + this.heldDeliveries();
  }

  /** Resolves when nothing is pending, or after `ms` (what is left stays for the next run). */
  drain(ms: number): Promise<number> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.wake = undefined;
        resolve(this.pending());
      };
      const t = setTimeout(done, ms);
      this.wake = () => {
        if (this.pending() === 0) done();
      };
      this.queueHeld();
      this.kick();
      if (this.pending() === 0) done();
    });
  }

  /** Stop delivering; resolves once attempts in flight are over (each bounded by its sink's timeout). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.held.length) this.queueHeld(true); // a last try (queued: the next run or 'alerts deliver' sends them)
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.sayLost('delivery stopped');
    for (const name of [...this.timers.keys()]) this.clearTimer(name);
    if (this.purgeTimer) clearTimeout(this.purgeTimer);
    const deadline = performance.now() + Math.max(1000, ...this.sinks.map((s) => s.config.timeout_ms)) + 1000;
    while (this.busy.size && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    this.closed = true;
    for (const s of this.sinks) s.close();
  }
}

export function outboxRows(db: Db, q: { state?: string; sink?: string; alertId?: string; limit?: number } = {}): OutboxRow[] {
  const where: string[] = [];
  const args: unknown[] = [];
  if (q.alertId !== undefined) {
    where.push('alert_id = ?');
    args.push(q.alertId);
  }
  if (q.state) {
    where.push('state = ?');
    args.push(q.state);
  }
  if (q.sink) {
    where.push('sink = ?');
    args.push(q.sink);
  }
  return db.prepare(`SELECT * FROM alert_outbox ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC LIMIT ?`).all(...args, Math.min(q.limit ?? 100, 10000)) as OutboxRow[];
}

/** The sink names that have rows in the outbox (a sink removed from the configuration may still have some). */
export function outboxSinks(db: Db): string[] {
  return (db.prepare('SELECT DISTINCT sink FROM alert_outbox ORDER BY sink').all() as { sink: string }[]).map((r) => r.sink);
}

export function outboxSummary(db: Db): { sink: string; state: string; count: number; oldest: number }[] {
  return db.prepare(`SELECT sink, state, COUNT(*) AS count, MIN(created_at) AS oldest FROM alert_outbox GROUP BY sink, state ORDER BY sink, state`).all() as any;
}

/** Put dead-lettered rows (all, or one alert) back in the queue. */
export function retryDead(db: Db, alertId?: string, now = Date.now()): number {
  return db.prepare(`UPDATE alert_outbox SET state = 'pending', attempts = 0, next_at = ?, updated_at = ? WHERE state = 'dead'${alertId ? ' AND alert_id = ?' : ''}`).run(...(alertId ? [now, now, alertId] : [now, now])).changes;
}

/** 'a1' or 'a1 … a9' */
function span(first: string, last: string): string {
  return first === last ? first : `${first} … ${last}`;
}

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

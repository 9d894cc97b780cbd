// Alert suppression (the Zeek notice framework's model): identical findings (same alert id) within
// an interval collapse into one. The first is emitted at once with count 1; if more arrive in the
// interval, an update with the SAME id and the total count is emitted when the interval ends (seen
// from the capture clock: the first event whose timestamp is past the end) or at close().
// After an interval ends, the next occurrence opens a new interval and is emitted at once again.
import type { AlertEvent, EventSink } from '../common/events';

interface Window {
  alert: AlertEvent;
  endMs: number;
  /** its interval (the queue it is in) and its place in the order windows were opened */
  interval: number;
  seq: number;
  count: number;
  emitted: number;
  /** the occurrence that opened the interval (e.g. a flow id: one unauthorized_im per session) */
  first?: string;
  /** every occurrence counted, once a second one came (most intervals see one: no Set for them) */
  keys?: Set<string>;
}

/** users an alert names at most (the analyzer cuts the first alert's list, merge() the later additions) */
export const MAX_ALERT_USERS = 32;
const MAX_WINDOWS = 100_000;
const MAX_KEYS = 4096;

export class Suppressor {
  private windows = new Map<string, Window>();
  /**
   * The open windows per interval length, in the order they were opened: within one queue that is
   * also the order they end in. Kinds may have different intervals, so one queue for all would let a
   * short window opened late wait behind a long one opened early.
   */
  private queues = new Map<number, Map<string, Window>>();
  private seq = 0;
  /** tick() runs for every event: the earliest end among the queues' heads is remembered until a window is removed */
  private headEnd = 0;
  private headKnown = false;

  constructor(private readonly next: EventSink, private readonly intervalFor: (kind: string) => number) {}

  /** Offers one occurrence at capture time `nowMs`. `occurrence` dedupes repeats of one thing (a flow). */
  offer(alert: AlertEvent, nowMs: number, occurrence?: string): void {
    const w = this.windows.get(alert.id);
    if (w && nowMs < w.endMs) {
      this.count(w, alert.ts, alert.users, alert.person, occurrence);
      return;
    }
    const interval = this.intervalFor(alert.kind);
    if (w) this.finish(alert.id, w);
    alert.count = 1;
    this.next.write(alert);
    if (interval <= 0) return;
    if (this.windows.size >= MAX_WINDOWS) {
      const [id, oldest] = this.windows.entries().next().value as [string, Window];
      this.finish(id, oldest);
    }
    const w2: Window = { alert: { ...alert, users: [...alert.users] }, endMs: nowMs + interval, interval, seq: this.seq++, count: 1, emitted: 1, first: occurrence || undefined };
    this.windows.set(alert.id, w2);
    let q = this.queues.get(interval);
    if (!q) this.queues.set(interval, (q = new Map()));
    q.set(alert.id, w2);
    if (this.headKnown && w2.endMs < this.headEnd) this.headEnd = w2.endMs;
  }

  /**
   * Counts a repeat of alert `id` when its interval is open at `nowMs` (true), else does nothing
   * (false: offer the whole alert). Lets the analyzer skip building an alert that is only counted.
   */
  repeat(id: string, nowMs: number, ts: string, users: string[], person: string | undefined, occurrence?: string): boolean {
    const w = this.windows.get(id);
    if (!w || !(nowMs < w.endMs)) return false;
    this.count(w, ts, users, person, occurrence);
    return true;
  }

  /** one more occurrence in an open interval */
  private count(w: Window, ts: string, users: string[], person: string | undefined, occurrence: string | undefined): void {
    if (occurrence && w.first !== undefined) {
      if (w.keys ? w.keys.has(occurrence) : w.first === occurrence) {
        this.merge(w, users, person);
        return;
      }
      if (!w.keys) w.keys = new Set<string>().add(w.first).add(occurrence);
      else if (w.keys.size < MAX_KEYS) w.keys.add(occurrence);
    }
    w.count++;
    this.merge(w, users, person);
    if (ts > w.alert.ts) w.alert.ts = ts; // the update carries the latest occurrence's time
  }

  /** Ends the intervals that closed by `nowMs`, in the order they were opened. */
  tick(nowMs: number): void {
    if (this.headKnown && this.headEnd > nowMs) return;
    let ended: [string, Window][] | undefined;
    let head = Infinity;
    for (const q of this.queues.values()) {
      for (const [id, w] of q) {
        if (w.endMs > nowMs) {
          if (w.endMs < head) head = w.endMs;
          break;
        }
        (ended ??= []).push([id, w]);
      }
    }
    if (ended) {
      if (this.queues.size > 1) ended.sort((a, b) => a[1].seq - b[1].seq);
      for (const [id, w] of ended) this.finish(id, w);
    }
    this.headEnd = head;
    this.headKnown = true;
  }

  /** Emits the pending updates (alerts that repeated) and forgets every interval. */
  flush(): void {
    for (const [id, w] of this.windows) this.finish(id, w);
  }

  private finish(id: string, w: Window): void {
    this.windows.delete(id);
    const q = this.queues.get(w.interval);
    if (q) {
      q.delete(id);
      if (!q.size) this.queues.delete(w.interval);
    }
    this.headKnown = false;
    if (w.count > w.emitted) {
      w.emitted = w.count;
      this.next.write({ ...w.alert, summary: `${w.alert.summary} [seen ${w.count} times]`, count: w.count });
    }
  }

  /** later occurrences may know more: users seen later, a person, a higher severity */
  private merge(w: Window, users: string[], person: string | undefined): void {
    for (const u of users) if (!w.alert.users.includes(u) && w.alert.users.length < MAX_ALERT_USERS) w.alert.users.push(u);
    if (!w.alert.person && person) w.alert.person = person;
  }
}

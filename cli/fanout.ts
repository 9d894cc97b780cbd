// The pipeline's outputs, written one after another. One output failing (the store's disk full, its
// write lock held by another program) never keeps an event from the others: standard output gets every
// event whatever happens to the store. An output's first failure is one line on stderr, the rest are
// counted and summed up when the run ends.

import type { EventSink, ShadowEvent } from '../common/events';
import { stderrLine } from '../common/stderr';

interface Failure {
  first: string;
  events: number;
}

export class Fanout implements EventSink {
  private readonly failed = new Map<EventSink, Failure>();

  constructor(readonly outputs: EventSink[]) {}

  write(ev: ShadowEvent): void {
    for (const o of this.outputs) {
      try {
        o.write(ev);
      } catch (e) {
        this.fail(o, e);
      }
    }
  }

  /** closes `list` (default: every output) in order, each even when one before it failed */
  async close(list: EventSink[] = this.outputs): Promise<void> {
    for (const o of list) {
      try {
        await o.close?.();
      } catch (e) {
        const f = this.failed.get(o);
        if (!f) this.failed.set(o, { first: message(e), events: 0 });
      }
    }
  }

  /** the outputs' failures, one line each (the first failure, and how many events it missed); empty when none */
  failures(): string[] {
    return [...this.failed.values()].map((f) => (f.events ? `${f.first} (${f.events} event${f.events === 1 ? '' : 's'} not written to it)` : f.first));
  }

  private fail(o: EventSink, e: unknown): void {
    let f = this.failed.get(o);
    if (!f) {
      this.failed.set(o, (f = { first: message(e), events: 0 }));
      // (an error marked `reported` was already said on stderr by its output)
      if (!(e as any)?.reported) stderrLine(`shadowim: ${f.first}; the other outputs still get every event (later failures of this output are counted)`);
    }
    f.events++;
  }
}

const message = (e: unknown) => String(e instanceof Error ? e.message : e).split('\n')[0];

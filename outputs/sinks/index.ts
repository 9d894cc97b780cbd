// Alert delivery as an output of the pipeline: alerts are committed to the outbox and delivered in the
// background; on close the pipeline waits up to delivery.drain_ms, and what is left is delivered by the
// next run or `shadowim alerts deliver`.
import path from 'node:path';
import type { EventSink, ShadowEvent } from '../../common/events';
import { groupsMissing, parseSinks, type SinksConfig } from './config';
import { Outbox, openOutbox } from './outbox';
import { createSink } from './sinks';
import { stderrLine } from '../../common/stderr';
import { count } from '../../common/count';

export function sinksConfig(): SinksConfig & { file?: string; storePath?: string } {
  const { getConfig } = require('../../common/config') as typeof import('../../common/config');
  const cfg = getConfig();
  return { ...parseSinks(cfg.extra.sinks, cfg.file), file: cfg.file, storePath: cfg.store.path };
}

export function outboxPath(c: { delivery: { outbox?: string }; storePath?: string }, store?: string): string {
  return c.delivery.outbox ?? store ?? c.storePath ?? path.resolve('shadowim-outbox.db');
}

export function openDelivery(store?: string, log: (s: string) => void = (s) => stderrLine(`shadowim: ${s}`)): Outbox | undefined {
  const c = sinksConfig();
  if (!c.sinks.length) return undefined;
  return new Outbox(openOutbox(outboxPath(c, store)), c.sinks.map(createSink), c.delivery, log);
}

/**
 * The pipeline's alert sink: undefined when no sink is configured. `policy`: its group names, to warn
 * once of a sink routed by a group the policy does not have (it would silently receive nothing).
 */
export function alertDelivery(opts: { store?: string; policy?: { groups: string[]; source: string } }): EventSink | undefined {
  const outbox = openDelivery(opts.store);
  if (!outbox) return undefined;
  if (opts.policy) {
    for (const { sink, missing } of groupsMissing(outbox.sinks.map((s) => s.config), opts.policy.groups)) {
      stderrLine(`shadowim: warning: sink ${sink} takes groups ${missing.map((g) => `'${g}'`).join(', ')}, which ${missing.length === 1 ? 'is no group' : 'are no groups'} of the policy (${opts.policy.source}): those receive no alert`);
    }
  }
  outbox.start();
  return {
    write(ev: ShadowEvent) {
      if (ev.type === 'alert') outbox.enqueue(ev);
    },
    async close() {
      let left = await outbox.drain(outbox.delivery.drain_ms);
      await outbox.stop();
      // alerts that waited in memory for the outbox are either queued now or said lost by stop()
      if (left) left = outbox.pending();
      if (left) process.stderr.write(`shadowim: ${count(left, 'alert delivery', 'alert deliveries')} still pending (receiver slow or down); ${left === 1 ? 'it is' : 'they are'} kept in the outbox — run 'shadowim alerts deliver' or the next run sends ${left === 1 ? 'it' : 'them'}\n`);
      outbox.db.close();
    },
  };
}

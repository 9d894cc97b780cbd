// The analyzer's face: wrap an event sink so that it also receives alerts.
import type { EventSink } from '../common/events';
import { Analyzer } from './analyzer';
import { defaultPolicy, loadPolicyFile, type Policy } from './policy';

export { Analyzer } from './analyzer';
export { defaultPolicy, loadPolicyFile, parsePolicy, PolicyError, type Policy } from './policy';

/** `live`: suppression intervals also end by the wall clock (checked every 30 s), not only when a later event arrives. */
export function createAnalyzer(next: EventSink, opts: { policyFile?: string; policy?: Policy; live?: boolean; tickMs?: number } = {}): Analyzer {
  const policy = opts.policy ?? (opts.policyFile ? loadPolicyFile(opts.policyFile) : defaultPolicy());
  return new Analyzer(next, policy, { live: opts.live, tickMs: opts.tickMs });
}

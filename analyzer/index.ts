// The analyzer's face: wrap an event sink so that it also receives alerts.
import type { EventSink } from '../common/events';
import { Analyzer } from './analyzer';
import { defaultPolicy, loadPolicyFile, type Policy } from './policy';

export { Analyzer } from './analyzer';
export { defaultPolicy, loadPolicyFile, parsePolicy, PolicyError, type Policy } from './policy';

export function createAnalyzer(next: EventSink, opts: { policyFile?: string; policy?: Policy } = {}): Analyzer {
  const policy = opts.policy ?? (opts.policyFile ? loadPolicyFile(opts.policyFile) : defaultPolicy());
  return new Analyzer(next, policy);
}

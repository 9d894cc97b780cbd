// The analyzer's face: wrap an event sink so that it also receives alerts.
import type { EventSink } from '../common/events';
import { Analyzer } from './analyzer';
import { defaultPolicy, loadPolicyFile, type Policy } from './policy';
import type { LinkFilter } from './links';

export { Analyzer } from './analyzer';
export { defaultPolicy, loadPolicyFile, parsePolicy, PolicyError, type Policy } from './policy';

/**
 * `live`: suppression intervals also end by the wall clock (checked every 30 s), not only when a later event arrives.
 * `links`: link blocklists; default: the configuration's `links:` section (null = none).
 */
export function createAnalyzer(next: EventSink, opts: { policyFile?: string; policy?: Policy; live?: boolean; tickMs?: number; links?: LinkFilter | null } = {}): Analyzer {
  const policy = opts.policy ?? (opts.policyFile ? loadPolicyFile(opts.policyFile) : defaultPolicy());
  const links = opts.links === undefined ? linksFromConfig() : (opts.links ?? undefined);
  return new Analyzer(next, policy, { live: opts.live, tickMs: opts.tickMs, links });
}

/** links.ts is loaded only when the configuration has a `links:` section */
function linksFromConfig(): LinkFilter | undefined {
  const { getConfig } = require('../common/config') as typeof import('../common/config');
  if (getConfig().extra.links == null) return undefined;
  return (require('./links') as typeof import('./links')).linkFilterFromProcess();
}

import type { RuleModel } from '../model';

/** a policy a format cannot express: `shadowim rules` says its message (what, and what to do) and exits 2 */
export class ExportError extends Error {}

/** One firewall/IPS syntax. Every format renders exceptions (sanctioned servers, authorized groups) first. */
export interface RuleFormat {
  id: string;
  description: string;
  render(model: RuleModel): string;
}

export function header(model: RuleModel, commentPrefix: string, lines: string[]): string {
  const c = (s: string) => `${commentPrefix} ${s}`.trimEnd();
  return [
    c(`shadowim firewall export, generated ${model.generatedAt}, action: ${model.action}`),
    c(`protocols: ${model.targets.map((t) => t.protocol).join(', ') || 'none'}`),
    c('Port-only rules catch only clients that use their usual ports: IM falls back to 80/443,'),
    c('so address rules (and, for an IPS, the payload rules of the suricata export) do the real work.'),
    ...lines.map(c),
    '',
  ].join('\n');
}

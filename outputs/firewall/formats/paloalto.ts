// Palo Alto PAN-OS set commands: App-ID rules (port-independent) plus address rules for known and
// observed servers. Exceptions and sanctioned servers come first in the rulebase.
import type { RuleModel } from '../model';
import { exceptionApplies } from '../model';
import { header, type RuleFormat } from './types';

function render(model: RuleModel): string {
  const out: string[] = [];
  const action = model.action === 'block' ? 'deny' : 'allow';
  const br = (xs: string[]) => `[ ${xs.join(' ')} ]`;
  if (model.sanctioned.length) {
    out.push(`set rulebase security rules shadowim-sanctioned from any to any source any destination ${br(model.sanctioned.map((c) => c.text))} application any service any action allow`);
  }
  model.exceptions.forEach((e, i) => {
    const ts = model.targets.filter((t) => exceptionApplies(e, t.protocol));
    const apps = [...new Set(ts.flatMap((t) => t.paloalto))];
    const dsts = ts.flatMap((t) => t.cidrs.map((c) => c.text));
    if (apps.length) out.push(`set rulebase security rules shadowim-exception-${i}-apps from any to any source ${br(e.sources.map((c) => c.text))} destination any application ${br(apps)} service application-default action allow description "${e.reason}"`);
    if (dsts.length) out.push(`set rulebase security rules shadowim-exception-${i}-servers from any to any source ${br(e.sources.map((c) => c.text))} destination ${br(dsts)} application any service any action allow description "${e.reason}"`);
  });
  const apps = [...new Set(model.targets.flatMap((t) => t.paloalto))];
  if (apps.length) out.push(`set rulebase security rules shadowim-im-apps from any to any source any destination any application ${br(apps)} service application-default action ${action} log-end yes`);
  for (const t of model.targets) {
    if (!t.cidrs.length) continue;
    t.cidrs.forEach((c, j) => out.push(`set address shadowim-${t.protocol}-${j + 1} ip-netmask ${c.text}`));
    out.push(`set address-group shadowim-${t.protocol} static ${br(t.cidrs.map((_, j) => `shadowim-${t.protocol}-${j + 1}`))}`);
    out.push(`set rulebase security rules shadowim-${t.protocol}-servers from any to any source any destination shadowim-${t.protocol} application any service any action ${action} log-end yes`);
  }
  return header(model, '#', ['PAN-OS configure-mode set commands; App-ID names: verify in Applipedia for your PAN-OS version.']) + out.join('\n') + '\n';
}

export const paloalto: RuleFormat = { id: 'paloalto', description: 'Palo Alto PAN-OS set commands (App-ID + address rules)', render };

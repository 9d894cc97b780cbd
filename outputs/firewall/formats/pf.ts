// OpenBSD/FreeBSD pf: tables per protocol, `quick` so that the first match wins (exceptions first).
import type { RuleModel } from '../model';
import { exceptionApplies } from '../model';
import type { Cidr } from '../validate';
import { header, type RuleFormat } from './types';

const list = (cs: Cidr[]) => cs.map((c) => (c.bits === (c.family === 4 ? 32 : 128) ? c.addr : c.text)).join(' ');

function render(model: RuleModel): string {
  const out: string[] = [];
  const verdict = model.action === 'block' ? 'block return out log quick' : 'pass out log quick';
  if (model.sanctioned.length) {
    out.push(`table <shadowim_sanctioned> const { ${list(model.sanctioned)} }`);
  }
  for (const t of model.targets) if (t.cidrs.length) out.push(`table <shadowim_${t.protocol}> const { ${list(t.cidrs)} }`);
  model.exceptions.forEach((e, i) => out.push(`table <shadowim_exception${i}> const { ${list(e.sources)} }`));
  out.push('');
  if (model.sanctioned.length) out.push('pass out quick to <shadowim_sanctioned>   # sanctioned servers');
  model.exceptions.forEach((e, i) => {
    for (const t of model.targets.filter((t) => exceptionApplies(e, t.protocol))) {
      if (t.cidrs.length) out.push(`pass out quick from <shadowim_exception${i}> to <shadowim_${t.protocol}>   # exception ${e.reason}`);
      if (t.ports.tcp.length) out.push(`pass out quick proto tcp from <shadowim_exception${i}> to any port { ${t.ports.tcp.join(' ')} }   # exception ${e.reason}`);
      if (t.ports.udp.length) out.push(`pass out quick proto udp from <shadowim_exception${i}> to any port { ${t.ports.udp.join(' ')} }   # exception ${e.reason}`);
    }
  });
  for (const t of model.targets) {
    if (t.cidrs.length) out.push(`${verdict} to <shadowim_${t.protocol}>   # ${t.protocol} servers`);
    if (t.ports.tcp.length) out.push(`${verdict} proto tcp to any port { ${t.ports.tcp.join(' ')} }   # ${t.protocol} port-only`);
    if (t.ports.udp.length) out.push(`${verdict} proto udp to any port { ${t.ports.udp.join(' ')} }   # ${t.protocol} port-only`);
  }
  return header(model, '#', ['Include from pf.conf (anchor or include "FILE"); check with pfctl -nf FILE.']) + out.join('\n') + '\n';
}

export const pf: RuleFormat = { id: 'pf', description: 'OpenBSD/FreeBSD pf', render };

// iptables-restore input (one family per file: `iptables` for IPv4, `ip6tables` for IPv6).
// A chain of its own, SHADOWIM-IM; hook it in with `-I FORWARD -j SHADOWIM-IM` (and OUTPUT on hosts).
import type { RuleModel } from '../model';
import { chunk, exceptionApplies } from '../model';
import { label } from '../validate';
import { header, type RuleFormat } from './types';

function render(model: RuleModel, family: 4 | 6): string {
  const out: string[] = [];
  const chain = 'SHADOWIM-IM';
  const add = (rule: string) => out.push(`-A ${chain} ${rule}`);
  const verdicts = (prefix: string) => {
    const p = `${label(prefix, 27)}: `.slice(0, 29);
    const log = `-j LOG --log-prefix "${p}"`;
    return model.action === 'block' ? [log, '-j DROP'] : [log];
  };
  for (const c of model.sanctioned.filter((c) => c.family === family)) add(`-d ${c.text} -m comment --comment "sanctioned server" -j RETURN`);
  for (const e of model.exceptions) {
    for (const src of e.sources.filter((c) => c.family === family)) {
      for (const t of model.targets.filter((t) => exceptionApplies(e, t.protocol))) {
        for (const c of t.cidrs.filter((c) => c.family === family)) add(`-s ${src.text} -d ${c.text} -m comment --comment "exception ${e.reason} ${t.protocol}" -j RETURN`);
        for (const [proto, ports] of [['tcp', t.ports.tcp], ['udp', t.ports.udp]] as const) {
          for (const ps of chunk(ports, 15)) add(`-s ${src.text} -p ${proto} -m multiport --dports ${ps.join(',')} -m comment --comment "exception ${e.reason} ${t.protocol}" -j RETURN`);
        }
      }
    }
  }
  for (const t of model.targets) {
    for (const c of t.cidrs.filter((c) => c.family === family)) {
      for (const v of verdicts(`shadowim ${t.protocol}`)) add(`-d ${c.text} -m comment --comment "shadowim ${t.protocol} server" ${v}`);
    }
    for (const [proto, ports] of [['tcp', t.ports.tcp], ['udp', t.ports.udp]] as const) {
      for (const ps of chunk(ports, 15)) {
        for (const v of verdicts(`shadowim ${t.protocol} port`)) add(`-p ${proto} -m multiport --dports ${ps.join(',')} -m comment --comment "shadowim ${t.protocol} port-only" ${v}`);
      }
    }
  }
  return (
    header(model, '#', [
      `Load with: ${family === 4 ? 'iptables' : 'ip6tables'}-restore --noflush < FILE, then hook the chain in:`,
      `  ${family === 4 ? 'iptables' : 'ip6tables'} -I FORWARD -j ${chain}   (and -I OUTPUT on a host firewall)`,
      family === 4 ? 'IPv6 ranges are in the ip6tables export.' : 'IPv4 ranges are in the iptables export.',
    ]) + ['*filter', `:${chain} - [0:0]`, `-F ${chain}`, ...out, 'COMMIT', ''].join('\n')
  );
}

export const iptables: RuleFormat = { id: 'iptables', description: 'iptables-restore (IPv4)', render: (m) => render(m, 4) };
export const ip6tables: RuleFormat = { id: 'ip6tables', description: 'ip6tables-restore (IPv6)', render: (m) => render(m, 6) };

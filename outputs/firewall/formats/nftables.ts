// nftables: one table `inet shadowim_im` with interval sets per protocol and family; loading the
// file replaces the table (the empty declaration + delete idiom makes it idempotent).
import type { RuleModel } from '../model';
import { exceptionApplies } from '../model';
import type { Cidr } from '../validate';
import { label } from '../validate';
import { header, type RuleFormat } from './types';

function set(name: string, family: 4 | 6, cidrs: Cidr[]): string[] {
  const els = cidrs.filter((c) => c.family === family).map((c) => c.text);
  if (!els.length) return [];
  return [`\tset ${name}_v${family} {`, `\t\ttype ${family === 4 ? 'ipv4_addr' : 'ipv6_addr'}; flags interval; auto-merge;`, `\t\telements = { ${els.join(', ')} }`, '\t}'];
}

function render(model: RuleModel): string {
  const sets: string[] = [];
  const rules: string[] = [];
  const has = (name: string, fam: 4 | 6) => sets.includes(`\tset ${name}_v${fam} {`);
  const verdict = (prefix: string) => `log prefix "${label(prefix, 60)}: " counter${model.action === 'block' ? ' drop' : ''}`;
  sets.push(...set('sanctioned', 4, model.sanctioned), ...set('sanctioned', 6, model.sanctioned));
  for (const fam of [4, 6] as const) if (has('sanctioned', fam)) rules.push(`\t\t${fam === 4 ? 'ip' : 'ip6'} daddr @sanctioned_v${fam} accept comment "sanctioned servers"`);
  for (const t of model.targets) sets.push(...set(t.protocol, 4, t.cidrs), ...set(t.protocol, 6, t.cidrs));
  model.exceptions.forEach((e, i) => {
    sets.push(...set(`exception${i}`, 4, e.sources), ...set(`exception${i}`, 6, e.sources));
    for (const t of model.targets.filter((t) => exceptionApplies(e, t.protocol))) {
      for (const fam of [4, 6] as const) {
        if (!has(`exception${i}`, fam)) continue;
        const ip = fam === 4 ? 'ip' : 'ip6';
        if (has(t.protocol, fam)) rules.push(`\t\t${ip} saddr @exception${i}_v${fam} ${ip} daddr @${t.protocol}_v${fam} accept comment "exception ${e.reason} ${t.protocol}"`);
        if (t.ports.tcp.length) rules.push(`\t\t${ip} saddr @exception${i}_v${fam} tcp dport { ${t.ports.tcp.join(', ')} } accept comment "exception ${e.reason} ${t.protocol}"`);
        if (t.ports.udp.length) rules.push(`\t\t${ip} saddr @exception${i}_v${fam} udp dport { ${t.ports.udp.join(', ')} } accept comment "exception ${e.reason} ${t.protocol}"`);
      }
    }
  });
  for (const t of model.targets) {
    for (const fam of [4, 6] as const) {
      if (has(t.protocol, fam)) rules.push(`\t\t${fam === 4 ? 'ip' : 'ip6'} daddr @${t.protocol}_v${fam} ${verdict(`shadowim ${t.protocol}`)} comment "${t.protocol} servers"`);
    }
    if (t.ports.tcp.length) rules.push(`\t\ttcp dport { ${t.ports.tcp.join(', ')} } ${verdict(`shadowim ${t.protocol} port`)} comment "${t.protocol} port-only"`);
    if (t.ports.udp.length) rules.push(`\t\tudp dport { ${t.ports.udp.join(', ')} } ${verdict(`shadowim ${t.protocol} port`)} comment "${t.protocol} port-only"`);
  }
  return (
    header(model, '#', ['Load with: nft -f FILE (replaces the table inet shadowim_im).']) +
    [
      'table inet shadowim_im', 'delete table inet shadowim_im', '',
      'table inet shadowim_im {',
      ...sets,
      '\tchain im {', ...rules, '\t}',
      '\tchain forward {', '\t\ttype filter hook forward priority filter; policy accept;', '\t\tjump im', '\t}',
      '\tchain output {', '\t\ttype filter hook output priority filter; policy accept;', '\t\tjump im', '\t}',
      '}', '',
    ].join('\n')
  );
}

export const nftables: RuleFormat = { id: 'nftables', description: 'nftables (nft -f), IPv4 and IPv6', render };

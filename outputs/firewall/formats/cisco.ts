// Cisco ASA (object-groups, netmasks) and Cisco IOS (extended ACL, wildcard masks).
import type { RuleModel } from '../model';
import { exceptionApplies } from '../model';
import type { Cidr } from '../validate';
import { maskOf, wildcardOf } from '../validate';
import { header, type RuleFormat } from './types';

const grp = (p: string) => `SHADOWIM-${p.toUpperCase()}`;

function asaObject(c: Cidr): string {
  if (c.family === 6) return ` network-object ${c.text}`;
  return c.bits === 32 ? ` network-object host ${c.addr}` : ` network-object ${c.addr} ${maskOf(c.bits)}`;
}

function renderAsa(model: RuleModel): string {
  const out: string[] = [];
  const acl = 'SHADOWIM-IM';
  const deny = model.action === 'block' ? 'deny' : 'permit';
  if (model.sanctioned.length) out.push(`object-group network ${grp('sanctioned')}`, ...model.sanctioned.map(asaObject));
  for (const t of model.targets) if (t.cidrs.length) out.push(`object-group network ${grp(t.protocol)}`, ` description shadowim ${t.protocol} servers`, ...t.cidrs.map(asaObject));
  model.exceptions.forEach((e, i) => out.push(`object-group network ${grp(`exception${i}`)}`, ` description ${e.reason}`, ...e.sources.map(asaObject)));
  out.push(`access-list ${acl} remark shadowim IM rules: exceptions first`);
  if (model.sanctioned.length) out.push(`access-list ${acl} extended permit ip any object-group ${grp('sanctioned')}`);
  model.exceptions.forEach((e, i) => {
    for (const t of model.targets.filter((t) => exceptionApplies(e, t.protocol))) {
      if (t.cidrs.length) out.push(`access-list ${acl} extended permit ip object-group ${grp(`exception${i}`)} object-group ${grp(t.protocol)}`);
      for (const p of t.ports.tcp) out.push(`access-list ${acl} extended permit tcp object-group ${grp(`exception${i}`)} any eq ${p}`);
      for (const p of t.ports.udp) out.push(`access-list ${acl} extended permit udp object-group ${grp(`exception${i}`)} any eq ${p}`);
    }
  });
  for (const t of model.targets) {
    if (t.cidrs.length) out.push(`access-list ${acl} extended ${deny} ip any object-group ${grp(t.protocol)} log`);
    for (const p of t.ports.tcp) out.push(`access-list ${acl} extended ${deny} tcp any any eq ${p} log`);
    for (const p of t.ports.udp) out.push(`access-list ${acl} extended ${deny} udp any any eq ${p} log`);
  }
  out.push(`access-list ${acl} extended permit ip any any`);
  return header(model, '!', [`Apply with: access-group ${acl} in interface inside`]) + out.join('\n') + '\n';
}

function iosAddr(c: Cidr): string {
  return c.bits === 32 ? `host ${c.addr}` : `${c.addr} ${wildcardOf(c.bits)}`;
}
function ios6Addr(c: Cidr): string {
  return c.bits === 128 ? `host ${c.addr}` : c.text;
}

function renderIos(model: RuleModel): string {
  const v4: string[] = [];
  const v6: string[] = [];
  const deny = model.action === 'block' ? 'deny' : 'permit';
  const emit = (fam: 4 | 6, line: string) => (fam === 4 ? v4 : v6).push(` ${line}`);
  const addr = (c: Cidr) => (c.family === 4 ? iosAddr(c) : ios6Addr(c));
  const ipKw = (fam: 4 | 6) => (fam === 4 ? 'ip' : 'ipv6');
  for (const c of model.sanctioned) emit(c.family, `permit ${ipKw(c.family)} any ${addr(c)}`);
  for (const e of model.exceptions) {
    for (const src of e.sources) {
      for (const t of model.targets.filter((t) => exceptionApplies(e, t.protocol))) {
        for (const c of t.cidrs.filter((c) => c.family === src.family)) emit(src.family, `permit ${ipKw(src.family)} ${addr(src)} ${addr(c)}`);
        for (const p of t.ports.tcp) emit(src.family, `permit tcp ${addr(src)} any eq ${p}`);
        for (const p of t.ports.udp) emit(src.family, `permit udp ${addr(src)} any eq ${p}`);
      }
    }
  }
  for (const t of model.targets) {
    for (const c of t.cidrs) emit(c.family, `${deny} ${ipKw(c.family)} any ${addr(c)} log`);
    for (const fam of [4, 6] as const) {
      for (const p of t.ports.tcp) emit(fam, `${deny} tcp any any eq ${p} log`);
      for (const p of t.ports.udp) emit(fam, `${deny} udp any any eq ${p} log`);
    }
  }
  return (
    header(model, '!', ['Apply with: interface <inside> / ip access-group SHADOWIM-IM in / ipv6 traffic-filter SHADOWIM-IM6 in']) +
    ['ip access-list extended SHADOWIM-IM', ' remark shadowim IM rules: exceptions first', ...v4, ' permit ip any any',
      'ipv6 access-list SHADOWIM-IM6', ' remark shadowim IM rules: exceptions first', ...v6, ' permit ipv6 any any', ''].join('\n')
  );
}

export const ciscoAsa: RuleFormat = { id: 'cisco-asa', description: 'Cisco ASA access-list with object-groups', render: renderAsa };
export const ciscoIos: RuleFormat = { id: 'cisco-ios', description: 'Cisco IOS extended ACLs (IPv4 and IPv6)', render: renderIos };

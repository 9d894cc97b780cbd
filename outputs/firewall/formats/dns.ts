// DNS-level blocking: the IM host names as a Response Policy Zone (BIND, Knot Resolver, PowerDNS
// Recursor, Unbound all load RPZ) and as Unbound local-zone configuration. For the encrypted messengers,
// whose servers sit behind CDNs and change addresses, refusing to resolve their names is often the
// control that works; address rules still catch clients with hard-coded addresses or their own resolver.
// A name blocks itself and every sub-domain; sanctioned server names resolve whatever encloses them
// (a policy's `.corp.example` with its sub-domains, `chat.corp.example` alone).
import type { RuleModel } from '../model';
import { header, type RuleFormat } from './types';

// the order of String.prototype.localeCompare, one collator for all the comparisons of a sort
const byLocale = new Intl.Collator().compare;

/** NAME and the names enclosing it (a.b.example, b.example, example), each checked only when `lengths` has its length */
function* selfAndParents(name: string, lengths?: Set<number>): Generator<string> {
  for (let from = 0; ; ) {
    if (!lengths || lengths.has(name.length - from)) yield name.slice(from);
    const dot = name.indexOf('.', from);
    if (dot < 0) return;
    from = dot + 1;
  }
}

/** exact sanctioned names whose sub-domains are forbidden: inside a forbidden name and not under a `.name` sanctioned with its sub-domains */
function exactInsideForbidden(model: RuleModel): Array<{ name: string; protocols: string[] }> {
  const out: Array<{ name: string; protocols: string[] }> = [];
  const wide = new Set(model.sanctionedHosts.filter((s) => s.subdomains).map((s) => s.name));
  // host -> protocols naming it, built once: a scan of every target's hosts per sanctioned name was quadratic
  const named = new Map<string, Set<string>>();
  for (const t of model.targets) for (const h of t.hosts) (named.get(h) ?? named.set(h, new Set()).get(h)!).add(t.protocol);
  for (const s of model.sanctionedHosts) {
    if (s.subdomains || [...selfAndParents(s.name)].some((n) => wide.has(n))) continue;
    const by = new Set([...selfAndParents(s.name)].flatMap((n) => [...(named.get(n) ?? [])]));
    const protocols = model.targets.filter((t) => by.has(t.protocol)).map((t) => t.protocol);
    if (protocols.length) out.push({ name: s.name, protocols });
  }
  return out;
}

/**
 * every host name of the forbidden protocols, once, with the protocols that named it; not those a
 * sanctioned name covers (itself or a sub-domain: a sanctioned server observed in --events is a
 * target host too, and the same owner twice is an RPZ BIND refuses to load)
 */
function blockedNames(model: RuleModel): Array<[string, string[]]> {
  const by = new Map<string, string[]>();
  const exact = new Set(model.sanctionedHosts.map((s) => s.name));
  const wide = new Set(model.sanctionedHosts.filter((s) => s.subdomains).map((s) => s.name));
  const wideLengths = new Set([...wide].map((n) => n.length));
  const sanctioned = (h: string) => exact.has(h) || [...selfAndParents(h, wideLengths)].some((n) => n !== h && wide.has(n));
  for (const t of model.targets) {
    for (const h of t.hosts) {
      if (sanctioned(h)) continue;
      const l = by.get(h);
      if (l) l.push(t.protocol);
      else by.set(h, [t.protocol]);
    }
  }
  return [...by.entries()].sort((a, b) => byLocale(a[0], b[0]));
}

// An RPZ owner is relative to the zone: `*.` + the name + rpz.shadowim must fit a DNS name's 255
// octets (wire length of a name of L characters: L + 2), or BIND refuses the whole zone ("ran out of
// space") and a resolver loads no block at all. Longer names (from traffic: up to 253) are left out.
const RPZ_ZONE = 'rpz.shadowim';
const RPZ_MAX_NAME = 255 - 2 - 2 - RPZ_ZONE.length - 1;

function rpz(model: RuleModel): string {
  const out: string[] = [];
  const tooLong = new Set<string>();
  const fits = (name: string) => (name.length <= RPZ_MAX_NAME ? true : (tooLong.add(name), false));
  // the serial: the generation time as seconds since 2000 fits the 32-bit field and only grows
  const serial = Math.max(1, Math.floor((Date.parse(model.generatedAt) - Date.UTC(2000, 0, 1)) / 1000)) >>> 0;
  out.push('$TTL 300');
  out.push(`@ IN SOA localhost. hostmaster.localhost. ( ${serial} 3600 600 86400 300 )`);
  out.push('@ IN NS localhost.');
  if (model.sanctionedHosts.length) out.push('; sanctioned servers: always resolved');
  // an exact name alone: its sub-domains stay under whatever wildcard of a forbidden name covers them
  for (const s of model.sanctionedHosts.filter((s) => fits(s.name))) out.push(`${s.name} CNAME rpz-passthru.`, ...(s.subdomains ? [`*.${s.name} CNAME rpz-passthru.`] : []));
  // block: NXDOMAIN (CNAME .); log: resolved normally, and the resolver's RPZ log records the client
  const action = model.action === 'block' ? '.' : 'rpz-passthru.';
  for (const [h, protocols] of blockedNames(model).filter(([h]) => fits(h))) {
    out.push(`; ${protocols.join(', ')}`);
    out.push(`${h} CNAME ${action}`, `*.${h} CNAME ${action}`);
  }
  // a name sanctioned exactly inside (or at) a forbidden one: it resolves (above), its sub-domains do
  // not. The spec says the enclosing wildcard already covers them; Unbound keeps a trigger as a whole
  // subtree (measured), so they are named again.
  for (const s of exactInsideForbidden(model).filter((s) => fits(s.name))) out.push(`; ${s.protocols.join(', ')} (${s.name} itself is sanctioned)`, `*.${s.name} CNAME ${action}`);
  const notes = [
    'Response Policy Zone (RPZ) for a recursive resolver. BIND: zone "rpz.shadowim" { type primary; file "FILE"; };',
    'and options { response-policy { zone "rpz.shadowim"; }; }; Unbound: rpz: name: rpz.shadowim zonefile: FILE.',
    `action ${model.action}: ${model.action === 'block' ? 'NXDOMAIN for each name and its sub-domains' : 'names still resolve (PASSTHRU), the resolver logs each hit'}.`,
    ...exceptionNotes(model),
    ...(tooLong.size ? [`left out, longer than the ${RPZ_MAX_NAME} characters a trigger in zone ${RPZ_ZONE} can have (the unbound and suricata exports keep them): ${[...tooLong].join(', ')}`] : []),
  ];
  return header(model, ';', notes) + out.join('\n') + '\n';
}

// A resolver cannot exempt a group from some protocols only: a view without the block (BIND
// match-clients, Unbound views) exempts its clients from every name, and Unbound consults its global
// local-zones again after a view's transparent zone (measured), so per-protocol views do not work there.
function exceptionNotes(model: RuleModel): string[] {
  return model.exceptions.map((e) =>
    `not in this zone: ${e.sources.map((c) => c.text).join(', ')} may use ${e.protocols.includes('*') ? 'every protocol' : e.protocols.join(', ')} (${e.reason}): serve those clients from a resolver view without it`);
}

function unbound(model: RuleModel): string {
  const out: string[] = ['server:'];
  const type = model.action === 'block' ? 'always_nxdomain' : 'inform';
  // the closest enclosing local-zone decides: a sanctioned name inside a blocked domain still resolves
  for (const s of model.sanctionedHosts) out.push(`    local-zone: "${s.name}." transparent`);
  const blocked = blockedNames(model);
  for (const [h, protocols] of blocked) out.push(`    local-zone: "${h}." ${type}    # ${protocols.join(', ')}`);
  // a local-zone is a whole subtree: an exact sanctioned name inside a forbidden one lets its sub-domains through too
  const wider = exactInsideForbidden(model).map((s) => s.name);
  const notes = [
    'Unbound configuration: include: FILE from unbound.conf (a server: clause of local-zone lines).',
    ...(wider.length ? [`sanctioned as exact names, their sub-domains also resolve here (an Unbound local-zone is a whole subtree; the rpz export keeps them exact): ${wider.join(', ')}`] : []),
    `action ${model.action}: ${model.action === 'block' ? 'always_nxdomain for each name and its sub-domains' : 'inform (resolved, and each query logged with its client)'}.`,
    ...exceptionNotes(model),
  ];
  return header(model, '#', notes) + out.join('\n') + '\n';
}

export const dnsRpz: RuleFormat = { id: 'rpz', description: 'DNS Response Policy Zone for BIND, Unbound, Knot, PowerDNS (IM host names)', render: rpz };
export const dnsUnbound: RuleFormat = { id: 'unbound', description: 'Unbound local-zone configuration (IM host names; exceptions as views)', render: unbound };

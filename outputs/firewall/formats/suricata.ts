// Suricata rules: payload rules from the signatures (apps.yaml), TLS SNI / DNS query / HTTP Host rules
// for the IM host names, and address rules. Sanctioned servers (addresses and names) and exceptions are
// `pass` rules, which Suricata applies before drop and alert (action-order's default) and which pass
// the whole flow: an exception is, for each rule of its protocols, the same rule as `pass` from its
// sources. sids are stable: 9_200_000 + position in a deterministic order.
import type { RuleModel } from '../model';
import { exceptionApplies } from '../model';
import { header, type RuleFormat } from './types';

const SID_BASE = 9200000;
/**
 * Characters of one address list in a rule: Suricata reads a rule line into an 8 KiB buffer and cuts a
 * longer one into fragments (suricata -T fails; a normal run drops the rule), so a long list is split
 * over several rules (~190 IPv4 /32s each) — an exception rule has two lists and stays under 6.5 KiB.
 */
const LIST_MAX = 3000;

/** `[a,b,…]` lists of at most LIST_MAX characters */
function lists(cs: { text: string }[]): string[] {
  const out: string[] = [];
  let cur: string[] = [];
  let n = 0;
  for (const { text } of cs) {
    if (cur.length && n + text.length + 1 > LIST_MAX) {
      out.push(`[${cur.join(',')}]`);
      cur = [];
      n = 0;
    }
    cur.push(text);
    n += text.length + 1;
  }
  if (cur.length) out.push(`[${cur.join(',')}]`);
  return out;
}

const clean = (s: string) => s.replace(/[";\\]/g, '');

/** the name rules' bodies: TLS SNI, DNS query, HTTP Host; `exact`: the name only, else it and its sub-domains */
function nameRules(name: string, exact: boolean): { proto: string; dst: string; body: string }[] {
  // dotprefix makes ".example.com" match the name itself and its sub-domains, nothing else; http.host is
  // lower-cased by Suricata (as the names are), which refuses nocase with startswith there
  const match = (nocase: string) => (exact ? `content:"${name}"; startswith; endswith;${nocase}` : `dotprefix; content:".${name}"; endswith;${nocase}`);
  return [
    { proto: 'tls', dst: '$EXTERNAL_NET', body: `TLS SNI ${name}"; flow:to_server,established; tls.sni; ${match(' nocase;')}` },
    { proto: 'dns', dst: 'any', body: `DNS query ${name}"; dns.query; ${match(' nocase;')}` },
    { proto: 'http', dst: '$EXTERNAL_NET', body: `HTTP Host ${name}"; flow:to_server,established; http.host; ${match('')}` },
  ];
}

function render(model: RuleModel): string {
  const out: string[] = [];
  let sid = SID_BASE;
  const action = model.action === 'block' ? 'drop' : 'alert';
  const tail = (proto: string) => `classtype:policy-violation; sid:${++sid}; rev:1; metadata:shadowim_protocol ${proto};`;
  for (const dst of lists(model.sanctioned)) out.push(`pass ip $HOME_NET any -> ${dst} any (msg:"shadowim sanctioned server"; sid:${++sid}; rev:1;)`);
  for (const h of model.sanctionedHosts) {
    for (const r of nameRules(h.name, !h.subdomains)) out.push(`pass ${r.proto} $HOME_NET any -> ${r.dst} any (msg:"shadowim sanctioned ${r.body} sid:${++sid}; rev:1;)`);
  }
  model.exceptions.forEach((e) => {
    const why = clean(e.reason);
    for (const t of model.targets.filter((t) => exceptionApplies(e, t.protocol))) {
      const name = clean(t.name);
      for (const src of lists(e.sources)) {
        // the protocol's own rules, passed for these sources (XMPP, say, has no addresses to pass)
        for (const r of t.suricata) out.push(`pass ${r.proto} ${src} any -> $EXTERNAL_NET any (msg:"shadowim exception ${why}: ${clean(r.msg)}"; flow:${r.dir}${r.proto === 'tcp' ? ',established' : ''}; ${r.options} sid:${++sid}; rev:1;)`);
        for (const h of t.hosts) for (const r of nameRules(h, false)) out.push(`pass ${r.proto} ${src} any -> ${r.dst} any (msg:"shadowim exception ${why}: ${name} ${r.body} sid:${++sid}; rev:1;)`);
        for (const dst of lists(t.cidrs)) out.push(`pass ip ${src} any -> ${dst} any (msg:"shadowim exception ${why} ${t.protocol}"; sid:${++sid}; rev:1;)`);
      }
    }
  });
  for (const t of model.targets) {
    const name = clean(t.name);
    for (const r of t.suricata) {
      out.push(`${action} ${r.proto} $HOME_NET any -> $EXTERNAL_NET any (msg:"shadowim ${clean(r.msg)}"; flow:${r.dir}${r.proto === 'tcp' ? ',established' : ''}; ${r.options} ${tail(t.protocol)})`);
    }
    for (const h of t.hosts) {
      for (const r of nameRules(h, false)) out.push(`${r.proto === 'dns' ? 'alert' : action} ${r.proto} $HOME_NET any -> ${r.dst} any (msg:"shadowim ${name} ${r.body} ${tail(t.protocol)})`);
    }
    for (const dst of lists(t.cidrs)) out.push(`${action} ip $HOME_NET any -> ${dst} any (msg:"shadowim ${name} server address"; ${tail(t.protocol)})`);
  }
  return header(model, '#', ['Load with: suricata -S FILE (drop rules need IPS mode; --action log writes alert rules).']) + out.join('\n') + '\n';
}

export const suricata: RuleFormat = { id: 'suricata', description: 'Suricata 7 rules (payload, TLS SNI, DNS, HTTP Host, addresses)', render };

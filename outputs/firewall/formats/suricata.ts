// Suricata rules: payload rules from the signatures (apps.yaml), TLS SNI / DNS query / HTTP Host rules
// for the IM host names, and address rules. Exceptions are `pass` rules, which Suricata applies first.
// sids are stable: 9_200_000 + position in a deterministic order.
import type { RuleModel } from '../model';
import { exceptionApplies } from '../model';
import { header, type RuleFormat } from './types';

const SID_BASE = 9200000;

function render(model: RuleModel): string {
  const out: string[] = [];
  let sid = SID_BASE;
  const action = model.action === 'block' ? 'drop' : 'alert';
  const tail = (proto: string) => `classtype:policy-violation; sid:${++sid}; rev:1; metadata:shadowim_protocol ${proto};`;
  const nets = (cs: { text: string }[]) => `[${cs.map((c) => c.text).join(',')}]`;
  if (model.sanctioned.length) out.push(`pass ip $HOME_NET any -> ${nets(model.sanctioned)} any (msg:"shadowim sanctioned server"; sid:${++sid}; rev:1;)`);
  model.exceptions.forEach((e) => {
    for (const t of model.targets.filter((t) => exceptionApplies(e, t.protocol) && t.cidrs.length)) {
      out.push(`pass ip ${nets(e.sources)} any -> ${nets(t.cidrs)} any (msg:"shadowim exception ${e.reason} ${t.protocol}"; sid:${++sid}; rev:1;)`);
    }
  });
  for (const t of model.targets) {
    const name = t.name.replace(/[";\\]/g, '');
    for (const r of t.suricata) {
      out.push(`${action} ${r.proto} $HOME_NET any -> $EXTERNAL_NET any (msg:"shadowim ${r.msg.replace(/[";\\]/g, '')}"; flow:${r.dir}${r.proto === 'tcp' ? ',established' : ''}; ${r.options} ${tail(t.protocol)})`);
    }
    for (const h of t.hosts) {
      // dotprefix makes ".example.com" match the name itself and its sub-domains, nothing else
      out.push(`${action} tls $HOME_NET any -> $EXTERNAL_NET any (msg:"shadowim ${name} TLS SNI ${h}"; flow:to_server,established; tls.sni; dotprefix; content:".${h}"; endswith; nocase; ${tail(t.protocol)})`);
      out.push(`alert dns $HOME_NET any -> any any (msg:"shadowim ${name} DNS query ${h}"; dns.query; dotprefix; content:".${h}"; endswith; nocase; ${tail(t.protocol)})`);
      out.push(`${action} http $HOME_NET any -> $EXTERNAL_NET any (msg:"shadowim ${name} HTTP Host ${h}"; flow:to_server,established; http.host; dotprefix; content:".${h}"; endswith; nocase; ${tail(t.protocol)})`);
    }
    if (t.cidrs.length) out.push(`${action} ip $HOME_NET any -> ${nets(t.cidrs)} any (msg:"shadowim ${name} server address"; ${tail(t.protocol)})`);
  }
  return header(model, '#', ['Load with: suricata -S FILE (drop rules need IPS mode; --action log writes alert rules).']) + out.join('\n') + '\n';
}

export const suricata: RuleFormat = { id: 'suricata', description: 'Suricata 7 rules (payload, TLS SNI, DNS, HTTP Host, addresses)', render };

// Suricata rules: payload rules from the signatures (apps.yaml), TLS SNI / DNS query / HTTP Host rules
// for the IM host names, and address rules. sids are stable: 9_200_000 + position in a deterministic order.
// Suricata applies `pass` before drop and alert (action-order's default) and a pass passes the whole
// flow, so a pass is written only where the flow is the excepted protocol's alone:
//  - sanctioned servers: addresses, and names by TLS SNI (one name a connection); a sanctioned name is
//    left out of the DNS query and HTTP Host block rules themselves (a negated content), since one DNS
//    flow (a reused socket, TCP) or HTTP connection (keep-alive, a proxy) carries many names;
//  - an exception: for each rule of its protocols the same rule as `pass` from its sources — a TLS SNI
//    rule without the names of other forbidden protocols under it (teams.skype.com under skype.com),
//    a payload rule only if anchored at the data's start and no other forbidden protocol not excepted
//    for them shares it (apps.yaml `shared_with`: OSCAR is AIM's and ICQ's); DNS, HTTP and unanchored
//    payload rules instead skip the flows the sources open (a flowbit set by an address rule with
//    flow:to_server: a server inside the sources, answering, sets nothing), as a pass would pass the
//    flow's later queries and requests, or a flow merely carrying the text.
import type { RuleModel, SuricataContent } from '../model';
import { exceptionApplies } from '../model';
import { ExportError, header, type RuleFormat } from './types';

const SID_BASE = 9200000;
/**
 * Characters of one address list in a rule: Suricata reads a rule line into an 8 KiB buffer and cuts a
 * longer one into fragments (suricata -T fails; a normal run drops the rule), so a long list is split
 * over several rules (~190 IPv4 /32s each) — an exception rule has two lists and stays under 6.5 KiB.
 */
const LIST_MAX = 3000;
/**
 * Bytes of one rule line at most (Suricata's buffer is 8,192 with the newline and the NUL). The sanctioned
 * names a DNS/HTTP rule leaves out are negated contents of that one rule (negations cannot be split over
 * rules), so past this the export is refused, saying what to do.
 */
const RULE_MAX = 8000;

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

const under = (n: string, h: string) => n === h || n.endsWith(`.${h}`);

type NameRule = { proto: 'tls' | 'dns' | 'http'; dst: string; body: string };

/**
 * the name rules' bodies: TLS SNI, DNS query, HTTP Host; `exact`: the name only, else it and its
 * sub-domains; `not`: names to leave out (exact: that name only), `extra`: options before the msg's end
 */
function nameRules(name: string, exact: boolean, not: { name: string; exact: boolean }[] = [], extra: Partial<Record<NameRule['proto'], string>> = {}): NameRule[] {
  // dotprefix makes ".example.com" match the name itself and its sub-domains, nothing else; http.host is
  // lower-cased by Suricata (as the names are), which refuses nocase with startswith there
  const match = (nocase: string) => (exact ? `content:"${name}"; startswith; endswith;${nocase}` : `dotprefix; content:".${name}"; endswith;${nocase}`);
  // after dotprefix the buffer is ".query": a name is ".name" at its end (and its start for exact)
  const leave = (nocase: string) => not.map((n) => ` content:!".${n.name}";${n.exact ? ' startswith;' : ''} endswith;${nocase}`).join('');
  const x = (p: NameRule['proto']) => (extra[p] ? ` ${extra[p]}` : '');
  return [
    { proto: 'tls', dst: '$EXTERNAL_NET', body: `TLS SNI ${name}"; flow:to_server,established; tls.sni; ${match(' nocase;')}${leave(' nocase;')}${x('tls')}` },
    { proto: 'dns', dst: 'any', body: `DNS query ${name}"; dns.query; ${match(' nocase;')}${leave(' nocase;')}${x('dns')}` },
    { proto: 'http', dst: '$EXTERNAL_NET', body: `HTTP Host ${name}"; flow:to_server,established; http.host; ${match('')}${leave('')}${x('http')}` },
  ];
}

/** a payload rule on HTTP buffers: per request, like the HTTP Host rules */
const perRequest = (options: string) => /\bhttp[._]/.test(options);

/**
 * a payload rule anchored at the start of the data: its first content has a depth (or startswith), not a
 * distance/within. Only such a rule is written as an exception pass — an unanchored one (XMPP's stream,
 * IRC's DCC SEND) matches its text anywhere on a flow, so its pass would pass, say, a keep-alive HTTP
 * flow whose POST body carries that text and whose later requests are another forbidden protocol's
 */
export function anchored(options: string): boolean {
  const first = /\bcontent:(?:"(?:[^"\\]|\\.)*"|[^;]*);((?:(?!\s*content:)[^;]*;)*)/.exec(options);
  return !!first && /\b(?:depth|startswith)\b/.test(first[1]) && !/\b(?:distance|within)\b/.test(first[1]);
}

/** the flowbit set on flows from the sources of an exception for PROTOCOL */
const excBit = (protocol: string) => `shadowim.exc.${protocol}`;

function render(model: RuleModel): string {
  const out: string[] = [];
  let sid = SID_BASE;
  const action = model.action === 'block' ? 'drop' : 'alert';
  const tail = (proto: string) => `classtype:policy-violation; sid:${++sid}; rev:1; metadata:shadowim_protocol ${proto};`;
  const forbidden = new Set(model.targets.map((t) => t.protocol));
  // the payload rules that skip the flows of the exceptions' sources instead of a pass: per-request HTTP
  // rules, and unanchored ones (no other forbidden protocol's traffic matching them: the flowbit is the
  // protocol's, set for all its exceptions' sources, so a shared rule stays caught)
  const skips = (r: SuricataContent) =>
    perRequest(r.options) || (!anchored(r.options) && !(r.shared_with ?? []).some((q) => forbidden.has(q)));
  for (const dst of lists(model.sanctioned)) out.push(`pass ip $HOME_NET any -> ${dst} any (msg:"shadowim sanctioned server"; sid:${++sid}; rev:1;)`);
  for (const h of model.sanctionedHosts) {
    const [tls] = nameRules(h.name, !h.subdomains);
    out.push(`pass ${tls.proto} $HOME_NET any -> ${tls.dst} any (msg:"shadowim sanctioned ${tls.body} sid:${++sid}; rev:1;)`);
  }
  model.exceptions.forEach((e) => {
    const why = clean(e.reason);
    // another forbidden protocol this exception does not cover: its traffic must stay caught
    const other = (q: string) => forbidden.has(q) && !exceptionApplies(e, q);
    for (const t of model.targets.filter((t) => exceptionApplies(e, t.protocol))) {
      const name = clean(t.name);
      const others = model.targets.filter((u) => u !== t && other(u.protocol)).flatMap((u) => u.hosts);
      for (const src of lists(e.sources)) {
        // the protocol's own payload rules, passed for these sources (XMPP, say, has no addresses to pass)
        for (const r of t.suricata) {
          if (perRequest(r.options) || !anchored(r.options) || (r.shared_with ?? []).some(other)) continue;
          out.push(`pass ${r.proto} ${src} any -> $EXTERNAL_NET any (msg:"shadowim exception ${why}: ${clean(r.msg)}"; flow:${r.dir}${r.proto === 'tcp' ? ',established' : ''}; ${r.options} sid:${++sid}; rev:1;)`);
        }
        for (const h of t.hosts) {
          const [tls] = nameRules(h, false, others.filter((o) => o !== h && under(o, h)).map((o) => ({ name: o, exact: false })));
          out.push(`pass ${tls.proto} ${src} any -> ${tls.dst} any (msg:"shadowim exception ${why}: ${name} ${tls.body} sid:${++sid}; rev:1;)`);
        }
        for (const dst of lists(t.cidrs)) out.push(`pass ip ${src} any -> ${dst} any (msg:"shadowim exception ${why} ${t.protocol}"; sid:${++sid}; rev:1;)`);
      }
    }
  });
  // the DNS and HTTP rules of a protocol skip the flows of its exceptions' sources, marked here
  const marked = new Set<string>();
  for (const t of model.targets) {
    const es = model.exceptions.filter((e) => exceptionApplies(e, t.protocol));
    if (!es.length || !(t.hosts.length || t.suricata.some((r) => skips(r)))) continue;
    marked.add(t.protocol);
    const seen = new Set<string>();
    const sources = es.flatMap((e) => e.sources).filter((c) => !seen.has(c.text) && seen.add(c.text));
    for (const src of lists(sources)) out.push(`alert ip ${src} any -> any any (msg:"shadowim exception sources ${t.protocol}"; flow:to_server; flowbits:set,${excBit(t.protocol)}; noalert; sid:${++sid}; rev:1;)`);
  }
  for (const t of model.targets) {
    const name = clean(t.name);
    const skip = marked.has(t.protocol) ? `flowbits:isnotset,${excBit(t.protocol)};` : '';
    for (const r of t.suricata) {
      const x = skips(r) && skip ? `${skip} ` : '';
      out.push(`${action} ${r.proto} $HOME_NET any -> $EXTERNAL_NET any (msg:"shadowim ${clean(r.msg)}"; flow:${r.dir}${r.proto === 'tcp' ? ',established' : ''}; ${r.options} ${x}${tail(t.protocol)})`);
    }
    for (const h of t.hosts) {
      // sanctioned names under h, or a sanctioned domain h is in: left out of the DNS and HTTP rules
      const not = model.sanctionedHosts.filter((s) => under(s.name, h) || (s.subdomains && under(h, s.name))).map((s) => ({ name: s.name, exact: !s.subdomains }));
      // TLS: the sanctioned names are pass rules (one name a connection)
      const [tls] = nameRules(h, false);
      out.push(`${action} tls $HOME_NET any -> ${tls.dst} any (msg:"shadowim ${name} ${tls.body} ${tail(t.protocol)})`);
      for (const r of nameRules(h, false, not, skip ? { dns: skip, http: skip } : {}).slice(1)) {
        const line = `${r.proto === 'dns' ? 'alert' : action} ${r.proto} $HOME_NET any -> ${r.dst} any (msg:"shadowim ${name} ${r.body} ${tail(t.protocol)})`;
        const size = Buffer.byteLength(line);
        if (size > RULE_MAX) {
          throw new ExportError(`too many sanctioned names under ${h} for one Suricata rule (${not.length} names, a ${Math.ceil(size / 1024)} KiB ${r.proto.toUpperCase()} rule; Suricata reads at most 8 KiB a line): sanction the parent domain (.${h}) or fewer names, or use another format`);
        }
        out.push(line);
      }
    }
    for (const dst of lists(t.cidrs)) out.push(`${action} ip $HOME_NET any -> ${dst} any (msg:"shadowim ${name} server address"; ${tail(t.protocol)})`);
  }
  const long = out.find((l) => Buffer.byteLength(l) > RULE_MAX);
  if (long) throw new ExportError(`a Suricata rule of ${Buffer.byteLength(long)} bytes, past the 8 KiB Suricata reads a line (${long.slice(0, 60)}…); use another format`);
  return header(model, '#', ['Load with: suricata -S FILE (drop rules need IPS mode; --action log writes alert rules).']) + out.join('\n') + '\n';
}

export const suricata: RuleFormat = { id: 'suricata', description: 'Suricata 7 rules (payload, TLS SNI, DNS, HTTP Host, addresses)', render };

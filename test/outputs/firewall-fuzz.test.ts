// Seeded property fuzz of every firewall/DNS export format (`shadowim rules`), fed with hostile observed
// values the way the command gets them: session events in an --events JSONL (read by observedFromJsonl),
// plus hostile forbidden lists, sanctioned servers and exceptions. Each case checks, per format:
//  - no exception;
//  - every line is in a whitelist grammar written from the format's syntax (comments only in its own
//    comment syntax, printable ASCII, so a newline in a value cannot end a comment or a rule early), and
//    every address, host name, port and protocol id in it is checked on its own (addresses parse,
//    names are valid DNS names: RFC 1035/1123 labels, at least two, TLD not all digits, <= 253);
//  - nothing of a hostile value appears anywhere (each carries a sentinel: "zq" in names, 198.18/15
//    and 2001:db8:bad: in addresses, that no well-formed value uses);
//  - every well-formed observed address is in every address format of its family, and every
//    well-formed observed name in suricata, rpz and unbound (docs/integrations.md), but for the names a
//    sanctioned name covers (DNS formats) and those too long to be an RPZ trigger (rpz); none of an
//    event the reader skips, nor of a protocol that is none or not forbidden.
// One seeded batch is then loaded by the real tools installed here (test/helpers/fwTools.ts).
// SHADOWIM_FUZZ_SEED / SHADOWIM_FUZZ_SCALE as for the other fuzz tests (test/helpers/fuzz.ts).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { FORMATS } from '../../outputs/firewall/formats';
import { observedFromJsonl } from '../../outputs/firewall/inputs';
import { buildModel, loadApps, type ModelInput } from '../../outputs/firewall/model';
import { loadRegistry, type Registry } from '../../signatures/registry';
import { fuzzCases, fuzzSeconds, fuzzSeed, xorshift32 } from '../helpers/fuzz';
import { exportCheck } from '../helpers/fwTools';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-fwfuzz-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const APPS = loadApps();
const KNOWN = Object.keys(APPS).sort();
const PORTS = new Set(KNOWN.flatMap((p) => [...(APPS[p].port_only?.tcp ?? []), ...(APPS[p].port_only?.udp ?? [])]));
const APP_IDS = new Set(KNOWN.flatMap((p) => APPS[p].paloalto ?? []));
const SURI_OPTIONS = new Set(KNOWN.flatMap((p) => (APPS[p].suricata ?? []).map((r) => r.options)));
const SURI_MSGS = new Set(KNOWN.flatMap((p) => (APPS[p].suricata ?? []).map((r) => r.msg.replace(/[";\\]/g, ''))));
/** the RPZ's zone, as the export's notes and the tests load it */
const RPZ_ORIGIN = 'rpz.shadowim';

// ---------------------------------------------------------------------------------------------------
// what a valid value is, written from the RFCs, not from outputs/firewall/validate.ts

/** RFC 1035 2.3.1 / RFC 1123 2.1 host name: LDH labels of 1-63, no hyphen at either end; at least two labels; a TLD not all digits (RFC 3696 2); at most 253 characters; lower case (the exports write names lower-cased) */
function validName(s: string): boolean {
  if (s.length === 0 || s.length > 253) return false;
  const labels = s.split('.');
  return labels.length >= 2 && labels.every((l) => /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(l)) && !/^\d+$/.test(labels[labels.length - 1]);
}

/** an address, IPv4 dotted quad or IPv6, no zone */
const validAddr = (s: string, fam?: 4 | 6) => (fam ? net.isIP(s) === fam : net.isIP(s) !== 0) && !s.includes('%');

/** addr/bits; no block wider than the widest the model data has (a /0 or /1 would block everything) */
function validCidr(s: string, fam?: 4 | 6): boolean {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(s);
  if (!m || !validAddr(m[1], fam)) return false;
  const bits = Number(m[2]);
  return net.isIP(m[1]) === 4 ? bits >= 8 && bits <= 32 : bits >= 16 && bits <= 128;
}

const mask = (s: string, wildcard: boolean) => {
  if (!validAddr(s, 4)) return false;
  const n = s.split('.').reduce((a, o) => ((a << 8) | Number(o)) >>> 0, 0);
  const m = wildcard ? ~n >>> 0 : n;
  return m !== 0 && ((~m >>> 0) & ((~m >>> 0) + 1)) === 0; // ones then zeros, not all zeros
};

// ---------------------------------------------------------------------------------------------------
// the grammar: one template per line shape; «KIND» is a value checked by KINDS[KIND], «KIND+SEP» a
// non-empty list of them, «=a|b» one of the literal alternatives

type Kind = { re: string; ok: (s: string) => boolean };
const LABEL_RE = '[a-z0-9 ._-]*';
const KINDS: Record<string, Kind> = {
  CIDR: { re: '[0-9a-f.:]+/\\d{1,3}', ok: (s) => validCidr(s) },
  CIDR4: { re: '[0-9.]+/\\d{1,2}', ok: (s) => validCidr(s, 4) },
  CIDR6: { re: '[0-9a-f.:]+/\\d{1,3}', ok: (s) => validCidr(s, 6) },
  ADDR4: { re: '[0-9.]+', ok: (s) => validAddr(s, 4) },
  ADDR6: { re: '[0-9a-f.:]+', ok: (s) => validAddr(s, 6) },
  /** pf: an address alone or a block */
  PFADDR: { re: '[0-9a-f.:]+(?:/\\d{1,3})?', ok: (s) => (s.includes('/') ? validCidr(s) : validAddr(s)) },
  QCIDR: { re: "'[0-9a-f.:]+/\\d{1,3}'", ok: (s) => validCidr(s.slice(1, -1)) },
  MASK: { re: '[0-9.]+', ok: (s) => mask(s, false) },
  IOSA4: { re: 'host [0-9.]+|[0-9.]+ [0-9.]+', ok: (s) => (s.startsWith('host ') ? validAddr(s.slice(5), 4) : validAddr(s.split(' ')[0], 4) && mask(s.split(' ')[1], true)) },
  IOSA6: { re: 'host [0-9a-f:.]+|[0-9a-f:.]+/\\d{1,3}', ok: (s) => (s.startsWith('host ') ? validAddr(s.slice(5), 6) : validCidr(s, 6)) },
  NAME: { re: '[a-z0-9.-]+', ok: validName },
  /** an RPZ owner: a name or its wildcard, relative to the zone, which must fit 255 octets with it */
  RPZOWNER: { re: '(?:\\*\\.)?[a-z0-9.-]+', ok: (s) => validName(s.replace(/^\*\./, '')) && s.length + 2 + RPZ_ORIGIN.length + 1 <= 255 },
  LABEL: { re: LABEL_RE, ok: () => true },
  /** a log prefix: iptables takes at most 29 characters */
  IPTPREFIX: { re: `${LABEL_RE}: `, ok: (s) => s.length <= 29 },
  PORT: { re: '\\d{1,5}', ok: (s) => !/^0/.test(s) && PORTS.has(Number(s)) && s !== '80' && s !== '443' },
  PROTO: { re: '[a-z][a-z0-9_-]{0,31}', ok: (s) => KNOWN.includes(s) },
  SETNAME: { re: '[a-z][a-z0-9_-]*_v[46]', ok: (s) => /^(sanctioned|exception\d+)_v[46]$/.test(s) || KNOWN.includes(s.slice(0, -3)) },
  PFTABLE: { re: 'shadowim_[a-z0-9_-]+', ok: (s) => /^shadowim_(sanctioned|exception\d+)$/.test(s) || KNOWN.includes(s.slice(9)) },
  ASAGRP: { re: 'SHADOWIM-[A-Z0-9_-]+', ok: (s) => /^SHADOWIM-(SANCTIONED|EXCEPTION\d+)$/.test(s) || KNOWN.includes(s.slice(9).toLowerCase()) },
  APPID: { re: '[a-z0-9-]+', ok: (s) => APP_IDS.has(s) },
  PANADDR: { re: 'shadowim-[a-z0-9_-]+-\\d+', ok: (s) => KNOWN.includes(s.replace(/^shadowim-|-\d+$/g, '')) },
  NUM: { re: '\\d{1,10}', ok: () => true },
  OPTNUM: { re: '(?: \\d{1,4})?', ok: () => true },
  SURIOPTS: { re: '.+?', ok: (s) => SURI_OPTIONS.has(s) },
  SURIMSG: { re: '[^"]+', ok: (s) => SURI_MSGS.has(s) },
  TEXT: { re: '[ -~]*', ok: () => true },
  /** names left out of a name rule (sanctioned; another protocol's under an excepted one), nocase (TLS, DNS) or not (HTTP) */
  NOTNAMES: { re: '(?: content:!"\\.[a-z0-9.-]+";(?: startswith;)? endswith; nocase;)*', ok: (s) => [...s.matchAll(/!"\.([^"]*)"/g)].every((m) => validName(m[1])) },
  NOTHOSTS: { re: '(?: content:!"\\.[a-z0-9.-]+";(?: startswith;)? endswith;)*', ok: (s) => [...s.matchAll(/!"\.([^"]*)"/g)].every((m) => validName(m[1])) },
  /** a DNS/HTTP rule skips the flows of its protocol's exceptions */
  EXCBIT: { re: '(?:flowbits:isnotset,shadowim\\.exc\\.[a-z][a-z0-9_-]{0,31}; )?', ok: (s) => !s || KNOWN.includes(s.slice('flowbits:isnotset,shadowim.exc.'.length, -2)) },
};
const SEPS: Record<string, string> = { comma: ',', commasp: ', ', sp: ' ' };
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

interface Template { src: string; re: RegExp; checks: Array<{ kind: string; sep?: string }> }
function compile(src: string): Template {
  const checks: Template['checks'] = [];
  const body = src.split(/(«[^»]+»)/).map((part) => {
    const m = /^«(.+)»$/.exec(part);
    if (!m) return esc(part);
    if (m[1].startsWith('=')) return `(?:${m[1].slice(1).split('|').map(esc).join('|')})`;
    const [kind, sepName] = m[1].split('+');
    const k = KINDS[kind];
    if (!k) throw new Error(`grammar: no kind ${kind}`);
    const sep = sepName === undefined ? undefined : SEPS[sepName];
    checks.push({ kind, sep });
    return sep === undefined ? `(${k.re})` : `((?:${k.re})(?:${esc(sep)}(?:${k.re}))*)`;
  });
  return { src, re: new RegExp(`^${body.join('')}$`), checks };
}

const comment = (prefix: string) => `${prefix}«TEXT»`;
const IPT_VERDICT = ['-j LOG --log-prefix "«IPTPREFIX»"', '-j DROP'];
const iptLines = (c: 'CIDR4' | 'CIDR6') => [
  '*filter', ':SHADOWIM-IM - [0:0]', '-F SHADOWIM-IM', 'COMMIT', '',
  `-A SHADOWIM-IM -d «${c}» -m comment --comment "sanctioned server" -j RETURN`,
  `-A SHADOWIM-IM -s «${c}» -d «${c}» -m comment --comment "exception «LABEL» «PROTO»" -j RETURN`,
  `-A SHADOWIM-IM -s «${c}» -p «=tcp|udp» -m multiport --dports «PORT+comma» -m comment --comment "exception «LABEL» «PROTO»" -j RETURN`,
  ...IPT_VERDICT.flatMap((v) => [
    `-A SHADOWIM-IM -d «${c}» -m comment --comment "shadowim «PROTO» server" ${v}`,
    `-A SHADOWIM-IM -p «=tcp|udp» -m multiport --dports «PORT+comma» -m comment --comment "shadowim «PROTO» port-only" ${v}`,
  ]),
  comment('# '), '#',
];
const SURI_TAIL = 'classtype:policy-violation; sid:«NUM»; rev:1; metadata:shadowim_protocol «PROTO»;';
const SURI_ACT = '«=drop|alert»';
const GRAMMAR_SRC: Record<string, string[]> = {
  iptables: iptLines('CIDR4'),
  ip6tables: iptLines('CIDR6'),
  nftables: [
    '', 'table inet shadowim_im', 'delete table inet shadowim_im', 'table inet shadowim_im {', '}', '\t}',
    '\tset «SETNAME» {', '\t\ttype «=ipv4_addr|ipv6_addr»; flags interval; auto-merge;', '\t\telements = { «CIDR+commasp» }',
    '\tchain «=im|forward|output» {', '\t\ttype filter hook «=forward|output» priority filter; policy accept;', '\t\tjump im',
    '\t\t«=ip|ip6» daddr @«SETNAME» accept comment "sanctioned servers"',
    '\t\t«=ip|ip6» saddr @«SETNAME» «=ip|ip6» daddr @«SETNAME» accept comment "exception «LABEL» «PROTO»"',
    '\t\t«=ip|ip6» saddr @«SETNAME» «=tcp|udp» dport { «PORT+commasp» } accept comment "exception «LABEL» «PROTO»"',
    '\t\t«=ip|ip6» daddr @«SETNAME» log prefix "«LABEL»: " counter«=| drop» comment "«PROTO» servers"',
    '\t\t«=tcp|udp» dport { «PORT+commasp» } log prefix "«LABEL»: " counter«=| drop» comment "«PROTO» port-only"',
    comment('# '), '#',
  ],
  pf: [
    '', 'table <«PFTABLE»> const { «PFADDR+sp» }',
    'pass out quick to <«PFTABLE»>   # sanctioned servers',
    'pass out quick from <«PFTABLE»> to <«PFTABLE»>   # exception «LABEL»',
    'pass out quick proto «=tcp|udp» from <«PFTABLE»> to any port { «PORT+sp» }   # exception «LABEL»',
    '«=block return out log quick|pass out log quick» to <«PFTABLE»>   # «PROTO» servers',
    '«=block return out log quick|pass out log quick» proto «=tcp|udp» to any port { «PORT+sp» }   # «PROTO» port-only',
    comment('# '), '#',
  ],
  'cisco-asa': [
    '', 'object-group network «ASAGRP»', ' description shadowim «PROTO» servers', ' description «LABEL»',
    ' network-object host «ADDR4»', ' network-object «ADDR4» «MASK»', ' network-object «CIDR6»',
    'access-list SHADOWIM-IM remark shadowim IM rules: exceptions first',
    'access-list SHADOWIM-IM extended permit ip any object-group «ASAGRP»',
    'access-list SHADOWIM-IM extended permit ip object-group «ASAGRP» object-group «ASAGRP»',
    'access-list SHADOWIM-IM extended permit «=tcp|udp» object-group «ASAGRP» any eq «PORT»',
    'access-list SHADOWIM-IM extended «=deny|permit» ip any object-group «ASAGRP» log',
    'access-list SHADOWIM-IM extended «=deny|permit» «=tcp|udp» any any eq «PORT» log',
    'access-list SHADOWIM-IM extended permit ip any any',
    comment('! '), '!',
  ],
  'cisco-ios': [
    '', 'ip access-list extended SHADOWIM-IM', 'ipv6 access-list SHADOWIM-IM6', ' remark shadowim IM rules: exceptions first', ' permit ip any any', ' permit ipv6 any any',
    ' permit ip any «IOSA4»', ' permit ipv6 any «IOSA6»', ' permit ip «IOSA4» «IOSA4»', ' permit ipv6 «IOSA6» «IOSA6»',
    ' permit «=tcp|udp» «IOSA4» any eq «PORT»', ' permit «=tcp|udp» «IOSA6» any eq «PORT»',
    ' «=deny|permit» ip any «IOSA4» log', ' «=deny|permit» ipv6 any «IOSA6» log', ' «=deny|permit» «=tcp|udp» any any eq «PORT» log',
    comment('! '), '!',
  ],
  windows: [
    '', 'Remove-NetFirewallRule -Group "shadowim-im" -ErrorAction SilentlyContinue',
    'New-NetFirewallRule -Group "shadowim-im" -DisplayName "shadowim «PROTO» servers«OPTNUM»" -Direction Outbound «=-Action Block|-Action Allow -Enabled False» -RemoteAddress @(«QCIDR+commasp»)',
    'New-NetFirewallRule -Group "shadowim-im" -DisplayName "shadowim «PROTO» «=TCP|UDP» ports (port-only)" -Direction Outbound «=-Action Block|-Action Allow -Enabled False» -Protocol «=TCP|UDP» -RemotePort @(«PORT+commasp»)',
    comment('# '), '#',
  ],
  paloalto: [
    '',
    'set rulebase security rules shadowim-sanctioned from any to any source any destination [ «CIDR+sp» ] application any service any action allow',
    'set rulebase security rules shadowim-exception-«NUM»-apps from any to any source [ «CIDR+sp» ] destination any application [ «APPID+sp» ] service application-default action allow description "«LABEL»"',
    'set rulebase security rules shadowim-exception-«NUM»-servers from any to any source [ «CIDR+sp» ] destination [ «CIDR+sp» ] application any service any action allow description "«LABEL»"',
    'set rulebase security rules shadowim-im-apps from any to any source any destination any application [ «APPID+sp» ] service application-default action «=deny|allow» log-end yes',
    'set address shadowim-«PROTO»-«NUM» ip-netmask «CIDR»',
    'set address-group shadowim-«PROTO» static [ «PANADDR+sp» ]',
    'set rulebase security rules shadowim-«PROTO»-servers from any to any source any destination shadowim-«PROTO» application any service any action «=deny|allow» log-end yes',
    comment('# '), '#',
  ],
  suricata: [
    '',
    'pass ip $HOME_NET any -> [«CIDR+comma»] any (msg:"shadowim sanctioned server"; sid:«NUM»; rev:1;)',
    'pass ip [«CIDR+comma»] any -> [«CIDR+comma»] any (msg:"shadowim exception «LABEL» «PROTO»"; sid:«NUM»; rev:1;)',
    'pass tls $HOME_NET any -> $EXTERNAL_NET any (msg:"shadowim sanctioned TLS SNI «NAME»"; flow:to_server,established; tls.sni; content:"«NAME»"; startswith; endswith; nocase; sid:«NUM»; rev:1;)',
    'pass tls $HOME_NET any -> $EXTERNAL_NET any (msg:"shadowim sanctioned TLS SNI «NAME»"; flow:to_server,established; tls.sni; dotprefix; content:".«NAME»"; endswith; nocase; sid:«NUM»; rev:1;)',
    'pass tls [«CIDR+comma»] any -> $EXTERNAL_NET any (msg:"shadowim exception «LABEL»: «LABEL» TLS SNI «NAME»"; flow:to_server,established; tls.sni; dotprefix; content:".«NAME»"; endswith; nocase;«NOTNAMES» sid:«NUM»; rev:1;)',
    'alert ip [«CIDR+comma»] any -> any any (msg:"shadowim exception sources «PROTO»"; flow:to_server; flowbits:set,shadowim.exc.«PROTO»; noalert; sid:«NUM»; rev:1;)',
    'pass «=tcp|udp» [«CIDR+comma»] any -> $EXTERNAL_NET any (msg:"shadowim exception «LABEL»: «SURIMSG»"; flow:«=to_server|to_client»«=|,established»; «SURIOPTS» sid:«NUM»; rev:1;)',
    `${SURI_ACT} «=tcp|udp» $HOME_NET any -> $EXTERNAL_NET any (msg:"shadowim «SURIMSG»"; flow:«=to_server|to_client»«=|,established»; «SURIOPTS» «EXCBIT»${SURI_TAIL})`,
    `${SURI_ACT} tls $HOME_NET any -> $EXTERNAL_NET any (msg:"shadowim «LABEL» TLS SNI «NAME»"; flow:to_server,established; tls.sni; dotprefix; content:".«NAME»"; endswith; nocase; ${SURI_TAIL})`,
    `alert dns $HOME_NET any -> any any (msg:"shadowim «LABEL» DNS query «NAME»"; dns.query; dotprefix; content:".«NAME»"; endswith; nocase;«NOTNAMES» «EXCBIT»${SURI_TAIL})`,
    `${SURI_ACT} http $HOME_NET any -> $EXTERNAL_NET any (msg:"shadowim «LABEL» HTTP Host «NAME»"; flow:to_server,established; http.host; dotprefix; content:".«NAME»"; endswith;«NOTHOSTS» «EXCBIT»${SURI_TAIL})`,
    `${SURI_ACT} ip $HOME_NET any -> [«CIDR+comma»] any (msg:"shadowim «LABEL» server address"; ${SURI_TAIL})`,
    comment('# '), '#',
  ],
  rpz: [
    '', '$TTL 300', '@ IN SOA localhost. hostmaster.localhost. ( «NUM» 3600 600 86400 300 )', '@ IN NS localhost.',
    '«RPZOWNER» CNAME «=.|rpz-passthru.»',
    comment('; '), ';',
  ],
  unbound: [
    '', 'server:',
    '    local-zone: "«NAME»." transparent',
    '    local-zone: "«NAME»." «=always_nxdomain|inform»    # «PROTO+commasp»',
    comment('# '), '#',
  ],
};
const GRAMMAR: Record<string, Template[]> = Object.fromEntries(Object.entries(GRAMMAR_SRC).map(([id, ls]) => [id, ls.map(compile)]));

const PASSED = new Set<string>();

/** the first line of TEXT outside FORMAT's grammar, with why, or undefined */
function grammarError(format: string, text: string): string | undefined {
  if (!text.endsWith('\n')) return 'the export does not end with a newline';
  // nothing but printable ASCII, newline and (nftables) tab: no CR, NUL, escapes, Unicode line separators
  const bad = /[^\n\x20-\x7e\t]/.exec(text) ?? (format !== 'nftables' ? /\t/.exec(text) : null);
  if (bad) return `character U+${bad[0].charCodeAt(0).toString(16).padStart(4, '0')} at offset ${bad.index}`;
  const sids = new Set<string>();
  const owners = new Set<string>();
  const lines = text.slice(0, -1).split('\n');
  for (const [i, line] of lines.entries()) {
    let why = `line ${i + 1} is in no line shape of the ${format} grammar`;
    let matched = PASSED.has(`${format}\n${line}`); // most lines are the built-in data's, the same in every case
    for (const t of matched ? [] : GRAMMAR[format]) {
      const m = t.re.exec(line);
      if (!m) continue;
      const bad = t.checks.flatMap((c, j) => (c.sep === undefined ? [m[j + 1]] : m[j + 1].split(c.sep)).filter((v) => !KINDS[c.kind].ok(v)).map((v) => `${c.kind} ${JSON.stringify(v)}`));
      if (bad.length) {
        why = `line ${i + 1}: ${bad.join(', ')} not valid (shape ${JSON.stringify(t.src)})`;
        continue;
      }
      matched = true;
      PASSED.add(`${format}\n${line}`);
      break;
    }
    if (!matched) return `${why}: ${JSON.stringify(line.slice(0, 300))}`;
    // a rule set the tool would refuse as a whole: the same sid twice, the same RPZ owner twice
    const sid = format === 'suricata' ? /\bsid:(\d+);/.exec(line)?.[1] : undefined;
    if (sid && sids.has(sid)) return `line ${i + 1}: sid ${sid} again`;
    if (sid) sids.add(sid);
    const owner = format === 'rpz' ? /^(\S+) CNAME /.exec(line)?.[1] : format === 'unbound' ? /^ {4}local-zone: "([^"]+)"/.exec(line)?.[1] : undefined;
    if (owner && owners.has(owner)) return `line ${i + 1}: ${owner} again`;
    if (owner) owners.add(owner);
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------
// the generator

const ADDR_FORMATS: Record<string, Array<4 | 6>> = {
  iptables: [4], ip6tables: [6], nftables: [4, 6], pf: [4, 6], 'cisco-asa': [4, 6], 'cisco-ios': [4, 6], windows: [4, 6], paloalto: [4, 6], suricata: [4, 6],
};
const NAME_FORMATS = ['suricata', 'rpz', 'unbound'];
/** the longest name an RPZ under rpz.shadowim can carry as `*.name` (255 octets in all, docs/integrations.md) */
const RPZ_MAX_NAME = 255 - 2 - 2 - RPZ_ORIGIN.length - 1;

class Gen {
  private next: () => number;
  private serial = 0;
  constructor(seed: number) {
    this.next = xorshift32(seed);
  }
  int(n: number): number {
    return this.next() % n;
  }
  chance(p: number): boolean {
    return this.next() / 0x100000000 < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  /** a fresh number: sentinels and addresses are unique in a case */
  fresh(): number {
    return ++this.serial;
  }
  /** an LDH label of 1..max, never containing the sentinels (no z, no y) */
  label(max = 12): string {
    const n = 1 + this.int(max);
    const A = 'abcdefghijklmnopqrstuvwx0123456789';
    let s = '';
    for (let i = 0; i < n; i++) s += i > 0 && i < n - 1 && this.chance(0.1) ? '-' : A[this.int(A.length)];
    return s;
  }
  tld(): string {
    return this.pick(['example', 'org', 'net', 'io', 'xn--p1ai', 'co', 'example.com', 'a1']);
  }
  /** a well-formed name: sometimes an xn-- label, a 63-character label, or close to 253 in all */
  goodName(): string {
    const r = this.int(10);
    if (r === 0) return `xn--${this.label(8)}-${this.fresh()}a.${this.tld()}`;
    if (r === 1) return `${this.label(8)}${this.fresh()}.${'x'.repeat(63 - 3)}${this.label(3).padEnd(3, 'q')}.${this.tld()}`;
    if (r === 2) {
      // 200..253 characters: near the RPZ's and DNS's limits
      const target = 200 + this.int(54);
      let s = `${this.label(6)}${this.fresh()}`;
      for (let room = target - s.length - 9; room >= 1; room = target - s.length - 9) s += `.${'h'.repeat(Math.min(room, 40 + this.int(24)))}`;
      return `${s}.example`;
    }
    return [this.label(), ...Array.from({ length: this.int(3) }, () => this.label()), `n${this.fresh()}`, this.tld()].join('.');
  }
  /** a name that is not valid whatever is done to its case or ends: it carries the sentinel zqN */
  hostileName(): { value: unknown; sentinel: string } {
    const z = `zq${this.fresh()}`;
    const base = `${z}.${this.label()}.${this.tld()}`;
    const chars = [' ', '"', "'", ';', '\n', '\r', '\t', '\0', '#', '{', '}', '$', '`', '\\', '/', '|', '&', '(', ')', '<', '>', '*', '@', ':', '=', ',', '_', '!', '%', '~', '+', '[', ']', '\u202e', '\u2028', 'ü', '\u00a0', '\uff0e', '\ud800'];
    const at = 1 + this.int(base.length - 1); // inside: trimming the ends cannot remove it
    const variants: Array<() => string> = [
      () => base.slice(0, at) + this.pick(chars) + base.slice(at),
      () => `${z}..${this.label()}.${this.tld()}`,
      () => `${z}${'a'.repeat(61)}.${this.tld()}`, // a 64-character label
      () => `${z}.${Array.from({ length: 4 }, () => 'b'.repeat(63)).join('.')}.${this.tld()}`, // > 253
      () => `${z}.bücher.${this.tld()}`,
      () => `${z}.пример.${this.tld()}`,
      () => `-${z}.${this.tld()}`,
      () => `${z}-.${this.tld()}`,
      () => `${z}.${this.label()}-.${this.tld()}`,
      () => z, // one label
      () => `${z}.${this.label()}.${100 + this.int(900)}`, // a numeric TLD
      () => `${base}"; drop all; #`,
      () => `${base}\n-A INPUT -j ACCEPT`,
      () => `${base}}; table ip x {`,
      () => `${base}. IN A 1.2.3.4`,
      () => `${base}\n*.com CNAME .`,
      () => `$(reboot).${base}`,
      () => `\`id\`.${base}`,
      () => `${base};rm -rf /`,
      () => `..${base}`,
      () => `*.*.${base}`,
      () => `${base}..`,
      () => `${base}:5222`,
      () => `${base}/`,
      () => `user@${base}`,
      () => `${base}\0`,
      () => `${base} ${base}`,
    ];
    return { value: this.pick(variants)(), sentinel: z };
  }
  /** names a normalisation may make valid (case, a trailing dot, a leading dot or *., spaces around): no check but the grammar's */
  oddName(): string {
    const n = `yq${this.fresh()}.${this.label()}.${this.tld()}`;
    return this.pick([n.toUpperCase(), `${n}.`, `.${n}`, `*.${n}`, ` ${n}\n`, `\t${n} `, n.replace(/^./, (c) => c.toUpperCase())]);
  }
  goodV4(): string {
    const k = this.fresh();
    return `100.${64 + ((k >> 16) & 63)}.${(k >> 8) & 255}.${k & 255}`;
  }
  goodV6(): string {
    const h = () => (1 + this.int(0xfffe)).toString(16);
    return `2001:db8:${(0x100 + this.fresh()).toString(16)}:${h()}::${h()}`;
  }
  /**
   * an address that is not one: each carries a sentinel address from 198.18/15 or 2001:db8:bad:.
   * For the policy (sanctioned servers, exception sources) a block is not hostile: its author may write
   * any (a /0 there is the policy's own choice, analyzer/policy's to refuse), so `policy` leaves blocks out
   */
  hostileAddr(policy = false): { value: unknown; sentinel: string } {
    const k = this.fresh();
    const a = `198.${18 + ((k >> 16) & 1)}.${(k >> 8) & 255}.${k & 255}`;
    // a block made of it keeps its first two octets if it is /15 or longer (wider ones fail validCidr)
    const a2 = a.split('.').slice(0, 2).join('.') + '.';
    const six = `2001:db8:bad:${k.toString(16)}`;
    const variants: Array<() => [unknown, string]> = [
      () => [`${a} -j ACCEPT`, a],
      () => [`${a}/0`, a2],
      () => [`${a}/${this.pick([1, 4, 7, 15, 16, 20, 24, 28, 31, 32])}`, a2],
      () => [`${a};`, a],
      () => [`${a}\n-A INPUT -j ACCEPT`, a],
      () => [`${a}.5`, a],
      () => [`${a}:5222`, a],
      () => [`${a} ${a}`, a],
      () => [`${a},10.0.0.0/8`, a],
      () => {
        const v = `${300 + this.int(700)}.${a.slice(4)}`;
        return [v, v];
      },
      () => [`${six}::1%eth0`, six],
      () => [`${six}::1/64`, six],
      () => [`[${six}::1]`, six],
      () => [`${six}::1:`, six],
      () => [`${six}::1::2`, six],
      () => [`${six}::1 }; table ip x {`, six],
      () => [`${six}::g`, six],
      () => [`0${a}`, a],
    ];
    const blocks = [variants[1], variants[2], variants[11]];
    const [value, sentinel] = this.pick(policy ? variants.filter((v) => !blocks.includes(v)) : variants)();
    return { value, sentinel };
  }
  /** addresses that parse but are unusual: no check but the grammar's */
  oddAddr(): string {
    const k = this.fresh() & 255;
    return this.pick([`::ffff:192.0.2.${k}`, `2001:DB8:0:0::${k.toString(16)}`, ` 192.0.2.${k} `, `2001:0db8:0000:0000:0000:0000:0000:${k.toString(16)}`, `::`, `0.0.0.0`, `::1`, `192.0.2.${k}\n`]);
  }
  hostileProtocol(): unknown {
    return this.pick(['not a protocol; rm -rf /', '__proto__', 'constructor', 'toString', 'hasOwnProperty', '', ' ', 'xmpp\n', 'xmpp; drop', 'XMPP', ' irc', 'irc"}', 'a'.repeat(40), 'zqproto', 'dns', 'tls', 'http', 42, null, ['xmpp'], { xmpp: 1 }]);
  }
  hostilePort(): unknown {
    return this.pick([0, -1, 65536, 70000, 1.5, '5222', '5222; drop', 'abc', null, '99999', 1e21, [5222]]);
  }
  junk(n: number): string {
    const A = 'abcdefghijklmnopqrstuvwx0123456789 "\';\n\r\t#{}$`\\/|&()<>*@:=,_!%~+[]\u202e\u2028\0ü.-';
    let s = '';
    for (let i = 0; i < n; i++) s += A[this.int(A.length)];
    return s;
  }
}

interface Case {
  lines: string[];
  input: Omit<ModelInput, 'registry' | 'observed'>;
  /** forbidden protocols (the default: all) */
  forbidden: Set<string>;
  goodAddrs: Array<{ addr: string; family: 4 | 6; protocol: string }>;
  /** well-formed addresses that must not be a rule (their event is skipped, or its protocol is none) */
  absentAddrs: string[];
  goodNames: Array<{ name: string; protocol: string }>;
  /** well-formed names that must not be in any export (as absentAddrs) */
  absentNames: string[];
  /** what no export may contain (lower case compared): a part of a hostile value */
  sentinels: string[];
  /** sanctioned names (name, with sub-domains) */
  sanctionedNames: Array<{ name: string; subdomains: boolean }>;
}

function makeCase(g: Gen, events: number): Case {
  const c: Case = { lines: [], input: {}, forbidden: new Set(KNOWN), goodAddrs: [], absentAddrs: [], goodNames: [], absentNames: [], sentinels: [], sanctionedNames: [] };
  if (g.chance(0.2)) {
    c.input.forbidden = [...KNOWN.filter(() => g.chance(0.5)), ...Array.from({ length: g.int(3) }, () => String(g.hostileProtocol()))];
    c.forbidden = new Set(c.input.forbidden.filter((p) => KNOWN.includes(p))); // String(['xmpp']) is xmpp
  }
  c.input.action = g.chance(0.5) ? 'block' : 'log';
  c.input.now = new Date(Date.UTC(2026, g.int(12), 1 + g.int(28), g.int(24)));
  for (let i = 0; i < events; i++) {
    const protocol = g.chance(0.85) ? g.pick(KNOWN) : g.hostileProtocol();
    const goodProto = typeof protocol === 'string' && KNOWN.includes(protocol);
    const ev: any = { type: 'session', ts: '2026-01-01T00:00:00Z', protocol, transport: g.pick(['tcp', 'udp', 'sctp; drop', 7]), client: { ip: '10.0.0.1', port: 40000 } };
    // the server address
    const ra = g.int(10);
    if (ra < 4) {
      const family = g.chance(0.7) ? 4 : 6;
      const addr = family === 4 ? g.goodV4() : g.goodV6();
      ev.server = { ip: addr };
      if (goodProto) c.goodAddrs.push({ addr, family, protocol: protocol as string });
      else c.absentAddrs.push(addr); // a protocol that is not one: its server is no target
    } else if (ra < 8) {
      const h = g.hostileAddr();
      ev.server = { ip: h.value };
      c.sentinels.push(h.sentinel);
    } else if (ra < 9) {
      ev.server = { ip: g.oddAddr() };
    } else {
      ev.server = g.pick([{ ip: 3232235777 }, { ip: null }, {}, 'server', null, { ip: ['1.2.3.4'] }]);
    }
    if (ev.server && typeof ev.server === 'object') ev.server.port = g.chance(0.7) ? g.pick([5222, 6667, 443, 1863]) : g.hostilePort();
    // the server name
    const rn = g.int(10);
    if (rn < 4 && !goodProto) {
      // a well-formed name, but of a protocol that is not one: no target
      const z = `zq${g.fresh()}`;
      ev.server_name = `${z}.${g.tld()}`;
      c.sentinels.push(z);
    } else if (rn < 4) {
      const name = g.goodName();
      ev.server_name = name;
      if (ev.server && typeof ev.server.ip === 'string') c.goodNames.push({ name, protocol: protocol as string });
    } else if (rn < 8) {
      const h = g.hostileName();
      ev.server_name = h.value;
      c.sentinels.push(h.sentinel);
    } else if (rn < 9) {
      ev.server_name = g.oddName();
    } else {
      ev.server_name = g.pick([42, null, true, ['a.example'], { name: 'a.example' }, '']);
    }
    // the shapes observedFromJsonl must skip
    const shape = g.int(30);
    let line: string;
    if (shape === 0) line = JSON.stringify({ ...ev, type: 'alert' });
    else if (shape === 1) line = JSON.stringify({ ...ev, type: 'Session' });
    else if (shape === 2) line = ` ${JSON.stringify(ev)}`;
    else if (shape === 3) line = JSON.stringify(ev).slice(0, -1);
    else line = JSON.stringify(ev);
    if (shape <= 3) {
      // none of it is exported: take back what this event promised
      const last = c.goodAddrs.at(-1);
      if (last && last.addr === ev.server?.ip) c.absentAddrs.push(c.goodAddrs.pop()!.addr);
      if (c.goodNames.length && c.goodNames.at(-1)!.name === ev.server_name) c.absentNames.push(c.goodNames.pop()!.name);
    }
    c.lines.push(line);
  }
  // a server of a protocol the policy does not forbid is no target (each value is in one event only)
  c.absentAddrs.push(...c.goodAddrs.filter((a) => !c.forbidden.has(a.protocol)).map((a) => a.addr));
  c.absentNames.push(...c.goodNames.filter((n) => !c.forbidden.has(n.protocol)).map((n) => n.name));
  c.goodAddrs = c.goodAddrs.filter((a) => c.forbidden.has(a.protocol));
  c.goodNames = c.goodNames.filter((n) => c.forbidden.has(n.protocol));
  // the policy's sanctioned servers and exceptions
  const sanctioned: string[] = [];
  for (let i = g.int(4); i > 0; i--) {
    const r = g.int(6);
    if (r === 0) sanctioned.push(`192.0.2.${g.int(256)}`, `2001:db8:5a:${g.int(0xffff).toString(16)}::/64`);
    else if (r === 1) {
      const n = `${g.label()}.corp.invalid`;
      const sub = g.chance(0.5);
      sanctioned.push(sub ? `.${n}` : n);
      c.sanctionedNames.push({ name: n, subdomains: sub });
    } else if (r === 2 && c.goodNames.length) {
      // a name both observed and sanctioned (DNS formats must leave it out of the block, and load)
      const n = g.pick(c.goodNames).name;
      const sub = g.chance(0.5);
      sanctioned.push(sub ? `.${n}` : n);
      c.sanctionedNames.push({ name: n, subdomains: sub });
    } else if (r === 3) {
      const h = g.hostileName();
      sanctioned.push(String(h.value));
      c.sentinels.push(h.sentinel);
    } else if (r === 4) {
      const h = g.hostileAddr(true);
      sanctioned.push(String(h.value));
      c.sentinels.push(h.sentinel);
    } else sanctioned.push(g.oddName());
  }
  c.input.sanctioned = sanctioned;
  c.input.exceptions = Array.from({ length: g.int(3) }, () => {
    const sources: string[] = [];
    for (let i = 1 + g.int(3); i > 0; i--) {
      if (g.chance(0.6)) sources.push(g.chance(0.7) ? `10.${g.int(256)}.0.0/16` : `fd00:${(1 + g.int(0xfffe)).toString(16)}::/48`);
      else {
        const h = g.hostileAddr(true);
        sources.push(String(h.value));
        c.sentinels.push(h.sentinel);
      }
    }
    const protocols = Array.from({ length: 1 + g.int(3) }, () => (g.chance(0.6) ? g.pick([...KNOWN, '*']) : String(g.hostileProtocol())));
    return { sources, protocols, reason: g.junk(g.int(70)) };
  });
  return c;
}

/** a name is left out of the DNS formats' block when a sanctioned name covers it (docs/integrations.md) */
const coveredBy = (c: Case, name: string) => c.sanctionedNames.some((s) => s.name === name || (s.subdomains && name.endsWith(`.${s.name}`)));

function render(c: Case, registry: Registry, file: string): Record<string, string> {
  // as analyze writes it, the file ends with the stats event (a file without any event is refused)
  fs.writeFileSync(file, [...c.lines, '{"type":"stats"}'].join('\n') + '\n');
  const model = buildModel({ registry, ...c.input, observed: observedFromJsonl(file) });
  return Object.fromEntries(FORMATS.map((f) => [f.id, f.render(model)]));
}

/** the RPZ blocks NAME: its trigger follows the comment naming its protocols (sanctioned names, passed through too, come under their own heading) */
function rpzBlocks(text: string, name: string, action: string): boolean {
  const lines = text.split('\n');
  const i = lines.indexOf(`${name} CNAME ${action === 'block' ? '.' : 'rpz-passthru.'}`);
  return i > 0 && lines[i - 1].startsWith('; ') && !lines[i - 1].startsWith('; sanctioned servers');
}

/** what is wrong with one case's exports (first failure per format), or [] */
function problems(c: Case, out: Record<string, string>): string[] {
  const errs: string[] = [];
  for (const [id, text] of Object.entries(out)) {
    const g = grammarError(id, text);
    if (g) {
      errs.push(`${id}: ${g}`);
      continue;
    }
    const lower = text.toLowerCase();
    const leak = c.sentinels.find((s) => lower.includes(s.toLowerCase()));
    if (leak) {
      errs.push(`${id}: a hostile value (sentinel ${JSON.stringify(leak)}) is in the export: ${JSON.stringify(text.split('\n').find((l) => l.toLowerCase().includes(leak.toLowerCase())))}`);
      continue;
    }
    const tokens = new Set(text.split(/[\s[\],{}'"()@;]+/).map((t) => t.replace(/\/(32|128)$/, '')));
    const stray = c.absentAddrs.find((a) => tokens.has(a));
    if (stray) errs.push(`${id}: ${stray} is a rule, though its event is skipped or its protocol is none or not forbidden`);
    const strayName = c.absentNames.find((n) => text.includes(n));
    if (strayName) errs.push(`${id}: ${strayName} is in it, though its event is skipped or its protocol not forbidden`);
    const fams = ADDR_FORMATS[id] ?? [];
    if (fams.length) {
      const missing = c.goodAddrs.find((a) => fams.includes(a.family) && !tokens.has(a.addr));
      if (missing) errs.push(`${id}: the observed ${missing.protocol} server ${missing.addr} is missing`);
    }
    if (NAME_FORMATS.includes(id)) {
      for (const { name, protocol } of c.goodNames) {
        const dns = id !== 'suricata';
        const expected = !(dns && coveredBy(c, name)) && !(id === 'rpz' && name.length > RPZ_MAX_NAME);
        const there =
          id === 'suricata' ? text.includes(`content:".${name}"`) : id === 'rpz' ? rpzBlocks(text, name, c.input.action!) : text.includes(`    local-zone: "${name}." ${c.input.action === 'block' ? 'always_nxdomain' : 'inform'}`);
        if (expected && !there) errs.push(`${id}: the observed ${protocol} name ${name} is not blocked`);
        if (!expected && there) errs.push(`${id}: ${name} is blocked though ${name.length > RPZ_MAX_NAME ? 'too long for an RPZ trigger' : 'sanctioned'}`);
        if (expected !== there) break;
      }
    }
  }
  return errs;
}

describe('firewall/DNS export fuzz: hostile observed values in every format', function () {
  this.timeout(fuzzSeconds(120) * 1000);
  const registry = loadRegistry();
  const SEED = fuzzSeed(0x0f1e3a11);
  const CASES = fuzzCases(60);

  it('the grammar takes the exports of the built-in model and of firewall.test-like inputs, and no sentinel is in them', () => {
    const c: Case = { lines: [], input: { exceptions: [{ sources: ['10.20.0.0/16', 'fd00:20::/48'], protocols: ['xmpp'], reason: 'engineering' }], sanctioned: ['192.0.2.50', '2001:db8:50::/48', '.chat.corp.example'] }, forbidden: new Set(KNOWN), goodAddrs: [], absentAddrs: [], goodNames: [], absentNames: [], sentinels: ['zq', 'yq', '198.18.', '198.19.', 'db8:bad'], sanctionedNames: [] };
    for (const action of ['block', 'log'] as const) {
      c.input.action = action;
      assert.deepEqual(problems(c, render(c, registry, path.join(tmp, 'base.jsonl'))), []);
    }
  });

  it(`${CASES} seeded cases (seed ${SEED}): every export in its grammar, no hostile value in it, every well-formed observed value in it`, () => {
    const g = new Gen(SEED);
    for (let i = 0; i < CASES; i++) {
      const c = makeCase(g, 1 + g.int(40));
      let out: Record<string, string>;
      try {
        out = render(c, registry, path.join(tmp, 'case.jsonl'));
      } catch (e) {
        assert.fail(`case ${i} (seed ${SEED}) threw: ${(e as Error).stack}\ninput: ${JSON.stringify(c.input)}\nevents: ${c.lines.join('\n')}`);
      }
      const errs = problems(c, out);
      assert.deepEqual(errs, [], `case ${i} (seed ${SEED}):\n${errs.join('\n')}\ninput: ${JSON.stringify(c.input)}\nevents:\n${c.lines.join('\n')}`);
    }
  });

  describe('one seeded batch, loaded by the real tools installed here', () => {
    const g = new Gen(fuzzSeed(0x0b47c4));
    const c = makeCase(g, fuzzCases(300));
    let out: Record<string, string> = {};
    before(() => {
      out = render(c, registry, path.join(tmp, 'batch.jsonl'));
    });
    it('the batch is itself in the grammar and complete', () => {
      assert.ok(c.goodAddrs.length > 20 && c.goodNames.length > 20, 'the batch has well-formed values to find');
      assert.deepEqual(problems(c, out), []);
    });
    for (const f of FORMATS) {
      const check = exportCheck(f.id);
      if (!check) continue;
      (check.ready ? it : it.skip)(`${f.id}: ${check.tool} accepts it`, () => {
        const file = path.join(tmp, `batch.${f.id}`);
        fs.writeFileSync(file, out[f.id]);
        check.check(file);
      });
    }
  });
});

// The firewall export model: for each IM protocol the policy forbids, the endpoints to block —
// built from the signatures' data (address ranges, host names), the export data in apps.yaml
// (distinctive ports, historical ranges, App-IDs, Suricata payload rules) and the servers the sensors
// actually observed — plus the policy's exceptions (authorized groups, sanctioned servers), which
// every format renders first.
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import type { Registry } from '../../signatures/registry';
import { type Cidr, label, notAServer, parseCidr, validHost, validPort } from './validate';

export interface SuricataContent {
  msg: string;
  proto: 'tcp' | 'udp';
  dir: 'to_server' | 'to_client';
  options: string;
  /** other protocols whose traffic this rule also matches (OSCAR: aim and icq) */
  shared_with?: string[];
}

export interface AppData {
  name?: string;
  block_cidrs?: string[];
  paloalto?: string[];
  port_only?: { tcp?: number[]; udp?: number[] };
  suricata?: SuricataContent[];
}

export interface Target {
  protocol: string;
  name: string;
  cidrs: Cidr[];
  hosts: string[];
  ports: { tcp: number[]; udp: number[] };
  paloalto: string[];
  suricata: SuricataContent[];
  /** how many addresses came from observed traffic */
  observed: number;
}

export interface Exception {
  /** sources allowed to use `protocols` ('*' = all) */
  sources: Cidr[];
  protocols: string[];
  reason: string;
}

export interface RuleModel {
  action: 'block' | 'log';
  targets: Target[];
  exceptions: Exception[];
  /** destinations always allowed (sanctioned enterprise servers) */
  sanctioned: Cidr[];
  /** sanctioned server names: DNS formats let them resolve (a policy's `.name` also every sub-domain) */
  sanctionedHosts: SanctionedName[];
  generatedAt: string;
}

export interface SanctionedName {
  name: string;
  /** `.corp.example` in the policy: the name and every sub-domain; `chat.corp.example`: that name only */
  subdomains: boolean;
}

export interface ObservedServer {
  protocol: string;
  ip: string;
  port?: number;
  transport?: string;
  server_name?: string;
}

export interface ModelInput {
  registry: Registry;
  /** protocols the policy forbids; default: every IM protocol we know */
  forbidden?: string[];
  exceptions?: { sources: string[]; protocols: string[]; reason: string }[];
  /** addresses/blocks; host names among them go to sanctionedHosts */
  sanctioned?: string[];
  observed?: ObservedServer[];
  action?: 'block' | 'log';
  now?: Date;
}

const appsCache = new Map<string, Record<string, AppData>>();

/** apps.yaml, parsed once per process (it ships with the code; parsing it took ~28 ms a call) */
export function loadApps(file = path.join(__dirname, 'apps.yaml')): Record<string, AppData> {
  let apps = appsCache.get(file);
  if (!apps) appsCache.set(file, (apps = YAML.parse(fs.readFileSync(file, 'utf8')) as Record<string, AppData>));
  return apps;
}

// the order String.prototype.localeCompare gives, without building a collator on every call
const byLocale = new Intl.Collator().compare;

const PROTOCOL_ID = /^[a-z][a-z0-9_-]{0,31}$/;

export function buildModel(input: ModelInput): RuleModel {
  const apps = loadApps();
  const imProtocols = new Set<string>(Object.keys(apps));
  for (const m of input.registry.modules) {
    // protocol ids of non-IM helper modules (dns, tls, quic, http) are not export targets
    for (const p of m.module.protocols) if (apps[p]) imProtocols.add(p);
  }
  const forbidden = (input.forbidden ?? [...imProtocols]).filter((p) => PROTOCOL_ID.test(p) && imProtocols.has(p)).sort();
  const targets = new Map<string, Target>();
  // what each target already has, so that de-duplication stays linear in the observed servers
  const seen = new Map<Target, { hosts: Set<string>; cidrs: Set<string> }>();
  const addHost = (t: Target, h: string | undefined) => {
    const s = seen.get(t)!.hosts;
    if (!h || s.has(h)) return;
    s.add(h);
    t.hosts.push(h);
  };
  const addCidr = (t: Target, text: string): boolean => {
    const c = parseCidr(text);
    const s = seen.get(t)!.cidrs;
    if (!c || s.has(c.text)) return false;
    s.add(c.text);
    t.cidrs.push(c);
    return true;
  };
  for (const p of forbidden) {
    const a = apps[p] ?? {};
    targets.set(p, {
      protocol: p,
      name: label(a.name ?? p, 40),
      cidrs: [],
      hosts: [],
      ports: {
        tcp: (a.port_only?.tcp ?? []).map(validPort).filter((x): x is number => x !== undefined && x !== 80 && x !== 443),
        udp: (a.port_only?.udp ?? []).map(validPort).filter((x): x is number => x !== undefined && x !== 53 && x !== 443),
      },
      paloalto: (a.paloalto ?? []).map((x) => label(x, 63)).filter(Boolean),
      suricata: [...(a.suricata ?? [])],
      observed: 0,
    });
    seen.set(targets.get(p)!, { hosts: new Set(), cidrs: new Set() });
    for (const c of a.block_cidrs ?? []) addCidr(targets.get(p)!, c);
  }
  for (const [host, p] of input.registry.hosts.entries()) {
    const t = targets.get(p);
    if (t) addHost(t, validHost(host));
  }
  for (const [cidr, p] of input.registry.cidrs.entries()) {
    const t = targets.get(p);
    if (t) addCidr(t, cidr);
  }
  // a month of sessions names the same servers again and again: each spelling is parsed once per target
  const spelled = new Map<Target, { ips: Set<string>; names: Set<string> }>();
  for (const o of input.observed ?? []) {
    const t = targets.get(o.protocol);
    if (!t) continue;
    const done = spelled.get(t) ?? spelled.set(t, { ips: new Set(), names: new Set() }).get(t)!;
    if (typeof o.ip === 'string' && !done.ips.has(o.ip)) {
      done.ips.add(o.ip);
      // a server is one address: a block given as one ("1.2.3.4/0" in an events file) would block far
      // more, and so would a rule for 255.255.255.255 or a multicast group a spoofed packet named
      const c = o.ip.includes('/') ? undefined : parseCidr(o.ip);
      if (c && !notAServer(c) && addCidr(t, c.text)) t.observed++;
    }
    if (typeof o.server_name === 'string' && !done.names.has(o.server_name)) {
      done.names.add(o.server_name);
      addHost(t, validHost(o.server_name));
    }
  }
  for (const t of targets.values()) {
    t.hosts.sort();
    t.cidrs.sort((a, b) => a.family - b.family || byLocale(a.text, b.text));
  }
  const exceptions: Exception[] = (input.exceptions ?? []).map((e) => ({
    sources: e.sources.map(parseCidr).filter((c): c is Cidr => !!c),
    protocols: e.protocols.filter((p) => p === '*' || PROTOCOL_ID.test(p)),
    reason: label(e.reason, 48),
  })).filter((e) => e.sources.length && e.protocols.length);
  return {
    action: input.action ?? 'block',
    targets: [...targets.values()],
    exceptions,
    sanctioned: (input.sanctioned ?? []).map(parseCidr).filter((c): c is Cidr => !!c),
    sanctionedHosts: sanctionedNames((input.sanctioned ?? []).filter((s) => !parseCidr(s))),
    generatedAt: (input.now ?? new Date()).toISOString(),
  };
}

/** Policy host entries → names, once each (`x` and `.x` both given: the wider one), sorted. */
function sanctionedNames(entries: string[]): SanctionedName[] {
  const by = new Map<string, boolean>();
  for (const e of entries) {
    const name = validHost(e);
    if (name) by.set(name, (by.get(name) ?? false) || /^\*?\./.test(e.trim()));
  }
  return [...by].sort((a, b) => a[0].localeCompare(b[0])).map(([name, subdomains]) => ({ name, subdomains }));
}

/** Ports an exception covers for a target (its distinctive ports) — used by port-based formats. */
export function exceptionApplies(e: Exception, protocol: string): boolean {
  return e.protocols.includes('*') || e.protocols.includes(protocol);
}

export function chunk<T>(xs: T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}

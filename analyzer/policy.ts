// The policy: who may use which IM protocol when, which servers are sanctioned, who is who, and how
// DLP, suppression and severities are set. Loaded from YAML and validated strictly: every problem is
// reported as one line "FILE:LINE: problem" (node positions from the yaml package).
import fs from 'node:fs';
import path from 'node:path';
import type { LineCounter, Node as YNode, Scalar, YAMLMap, YAMLSeq } from 'yaml';
import type { Severity } from '../common/events';
import { whyCannotRead } from '../common/fsError';
import { ConfigError } from '../common/configError';
import { parseCidr, anyContains, hostBitsNetwork, type Cidr } from './cidr';
import { IdentityMap, loadIdentityCsv, normalizeIdentity } from './identity';
import { addDirectory, directoryGroupKey, emptyDirectory, parseLdif, type Directory } from './directory';
import { dayList, parseDays, parseRange, validTimezone, type Schedule } from './schedule';
import { BUILTIN_DETECTORS, DEFAULT_MAX_SCAN, type BuiltinDetector, type DetectorSettings, type DlpSettings, type KeywordDictionary, type UserPattern } from './dlp/scanner';
import { compileSafe } from './dlp/saferegex';
import { KeywordMatcher } from './dlp/keywords';

// The yaml package (~30 ms to load) only when a policy file is parsed: not at every start.
let yamlLib: typeof import('yaml') | undefined;
function yaml(): typeof import('yaml') {
  return (yamlLib ??= require('yaml') as typeof import('yaml'));
}
function isMap(node: unknown): node is YAMLMap {
  return yaml().isMap(node);
}
function isSeq(node: unknown): node is YAMLSeq {
  return yaml().isSeq(node);
}
function isScalar(node: unknown): node is Scalar {
  return yaml().isScalar(node);
}

export const SEVERITIES: readonly Severity[] = ['low', 'medium', 'high', 'critical'];
export { ALERT_KINDS } from './vocabulary';
import { ALERT_KINDS, knownProtocols } from './vocabulary';
import { knownFileTypes } from '../signatures/fileType';

export interface AllowRule {
  /** undefined = any protocol */
  protocols?: Set<string>;
  /** undefined = at any time */
  schedule?: Schedule;
  chat: boolean;
  files: boolean;
  line: number;
}

export interface Group {
  name: string;
  networks: Cidr[];
  users: Set<string>;
  /** users as written, for explanations */
  userLabels: string[];
  allow: AllowRule[];
  /**
   * the tunnel zones the group applies in (events' `zone`, '' = outside zoned tunnels); undefined =
   * everywhere. Two tenants mirrored in VNIs 100 and 200 may use the same private addresses.
   */
  zones?: Set<string>;
}

export interface FilePolicy {
  severity: Severity;
  dangerousExtensions: Set<string>;
  dangerousSeverity: Severity;
  largeBytes: number;
  largeSeverity: Severity;
  // file rules applied to carved files by analyzer/files (docs/files.md); a match is verdict 'forbidden:<rule>'
  /** true types (signatures/fileTypes.yaml ids, or 'executable') that may not be transferred */
  blockTypes: Set<string>;
  /** block_types apply only to files coming from outside the monitored network (inbound) */
  fromOutsideOnly: boolean;
  blockEncryptedArchives: boolean;
  /** Office documents with macros */
  blockMacros: boolean;
  /** bytes; undefined = no limit */
  maxSize?: number;
  /** an executable, script or installer whose name claims another type (an '.jpg' that is a PE) */
  blockTypeMismatch: boolean;
  /** DLP detectors also read the text in files (plain text, CSV, HTML, docx/xlsx/pptx) */
  scanContent: boolean;
}

export interface Policy {
  /** the file it came from, or '(default policy)' */
  source: string;
  timezone: string;
  groups: Group[];
  people: IdentityMap;
  /** directory groups and their people, from people.ldif */
  directory: Directory;
  sanctionedNets: Cidr[];
  /** the monitored network: a flow's local side is its client, unless only the server is in here */
  homeNets: Cidr[];
  /** lower-case host names; an entry ".corp.example" or "*.corp.example" also matches sub-domains */
  sanctionedHosts: string[];
  dlp: DlpSettings;
  /** milliseconds; per kind, with 'default' */
  suppression: Record<string, number>;
  /** 'kind', 'kind.protocol', 'kind.detector', 'unauthorized_im.encrypted' / '.cleartext' → severity */
  severity: Map<string, Severity>;
  files: FilePolicy;
}

/** A mistake in a policy file, or one that cannot be read: a mistake in configuration, exit 2 as for the config file */
export class PolicyError extends ConfigError {}

// private, shared and link-local ranges (as the signatures' default home networks)
export const DEFAULT_HOME_NETS = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '127.0.0.0/8', '169.254.0.0/16', 'fc00::/7', 'fe80::/10', '::1/128'];

const DEFAULT_DANGEROUS = ['exe', 'dll', 'scr', 'com', 'pif', 'bat', 'cmd', 'msi', 'vbs', 'vbe', 'js', 'jse', 'wsf', 'wsh', 'ps1', 'hta', 'jar', 'lnk', 'reg', 'cpl', 'sh', 'app', 'apk', 'dmg', 'iso'];

export function defaultDlp(): DlpSettings {
  const det = (severity: Severity): DetectorSettings => ({ enabled: true, threshold: 1, severity });
  return {
    maxScanChars: DEFAULT_MAX_SCAN,
    detectors: { pan: det('critical'), us_ssn: det('critical'), iban: det('high'), aba_routing: det('medium'), us_bank_account: det('high') },
    keywords: [],
    patterns: [],
  };
}

/** The policy used without --policy: no group, no sanctioned server, so every public IM session is unauthorized. */
/** the configuration's home_nets where it sets them (common/config.ts), else DEFAULT_HOME_NETS */
function defaultHomeNets(): Cidr[] {
  const { getConfig } = require('../common/config') as typeof import('../common/config');
  let nets: string[] | undefined;
  try {
    nets = getConfig().home_nets;
  } catch {
    // a broken configuration stops the commands that read it; what only reads a policy still can
  }
  return (nets ?? DEFAULT_HOME_NETS).map((n) => parseCidr(n)!);
}

export function defaultPolicy(): Policy {
  return {
    source: '(default policy)',
    timezone: 'UTC',
    groups: [],
    people: new IdentityMap(),
    directory: emptyDirectory(),
    sanctionedNets: [],
    homeNets: defaultHomeNets(),
    sanctionedHosts: [],
    dlp: defaultDlp(),
    suppression: { default: 3600_000 },
    severity: new Map(),
    files: { severity: 'low', dangerousExtensions: new Set(DEFAULT_DANGEROUS), dangerousSeverity: 'high', largeBytes: 50 * 1024 * 1024, largeSeverity: 'medium',
      blockTypes: new Set(), fromOutsideOnly: false, blockEncryptedArchives: false, blockMacros: false, blockTypeMismatch: true, scanContent: true },
  };
}

export function loadPolicyFile(file: string): Policy {
  let src: string;
  try {
    src = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new PolicyError(`${file}: cannot read the policy file: ${whyCannotRead(e)}`);
  }
  return parsePolicy(src, file);
}

/** Reader for one YAML document with positions. */
/** A block whose text has address bits set past its prefix is refused, with the block it would mean. */
function exactBlock(r: Reader, node: unknown, c: Cidr, what: string): Cidr {
  const net = hostBitsNetwork(c);
  if (net === undefined) return c;
  const one = c.text.slice(0, c.text.indexOf('/'));
  r.fail(node, `${what}: '${c.text}' has address bits set past its prefix, so it would cover all of ${net}; write ${net} if that is meant, or ${one} for the one address`);
}

class Reader {
  constructor(readonly file: string, private readonly lc: LineCounter) {}
  line(node: unknown): number {
    const r = (node as YNode | undefined)?.range;
    return r ? this.lc.linePos(r[0]).line : 1;
  }
  fail(node: unknown, msg: string): never {
    throw new PolicyError(`${this.file}:${this.line(node)}: ${msg}`);
  }
  map(node: unknown, what: string): YAMLMap {
    if (!isMap(node)) this.fail(node, `${what} must be a mapping (key: value lines)`);
    return node as YAMLMap;
  }
  /** pairs of a mapping, with unknown keys rejected */
  entries(node: unknown, what: string, allowed?: readonly string[]): Array<{ key: string; value: unknown; keyNode: unknown }> {
    const m = this.map(node, what);
    const out: Array<{ key: string; value: unknown; keyNode: unknown }> = [];
    for (const p of m.items) {
      const key = isScalar(p.key) ? String(p.key.value) : this.fail(p.key, `${what}: keys must be plain words`);
      if (allowed && !allowed.includes(key)) this.fail(p.key, `unknown setting '${key}' in ${what} (expected one of: ${allowed.join(', ')})`);
      out.push({ key, value: p.value ?? p.key, keyNode: p.key });
    }
    return out;
  }
  str(node: unknown, what: string): string {
    if (!isScalar(node) || node.value === null || typeof node.value === 'object') this.fail(node, `${what} must be a single value`);
    return String((node as any).value);
  }
  /** a scalar or a list of scalars */
  list(node: unknown, what: string): Array<{ value: string; node: unknown }> {
    if (isSeq(node)) return node.items.map((n) => ({ value: this.str(n, `each entry of ${what}`), node: n }));
    if (isScalar(node) && node.value !== null) return [{ value: String(node.value), node }];
    this.fail(node, `${what} must be a value or a list of values`);
  }
  bool(node: unknown, what: string): boolean {
    if (!isScalar(node) || typeof node.value !== 'boolean') this.fail(node, `${what} must be true or false`);
    return node.value as boolean;
  }
  int(node: unknown, what: string, min: number, max: number): number {
    if (!isScalar(node) || typeof node.value !== 'number' || !Number.isInteger(node.value) || node.value < min || node.value > max) {
      this.fail(node, `${what} must be a whole number from ${min} to ${max}`);
    }
    return node.value as number;
  }
  severity(node: unknown, what: string): Severity {
    const s = this.str(node, what).toLowerCase();
    if (!SEVERITIES.includes(s as Severity)) this.fail(node, `${what} '${s}' is not a severity (low, medium, high, critical)`);
    return s as Severity;
  }
  /** "90s", "10m", "1h", "2d", "0" → milliseconds */
  duration(node: unknown, what: string): number {
    const s = this.str(node, what).trim();
    const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|min|h|d)?$/.exec(s);
    if (!m) this.fail(node, `${what} '${s}' is not a duration (e.g. 30s, 10m, 1h, 1d; 0 = no suppression)`);
    const unit = { ms: 1, s: 1000, m: 60_000, min: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] ?? 's']!;
    const v = Number(m[1]) * unit;
    if (v > 30 * 86_400_000) this.fail(node, `${what} is longer than 30 days`);
    return v;
  }
}

/**
 * What may follow a kind in a severity key, besides a protocol id, for the kinds whose alerts name a
 * closed set (severityFor's qualifiers); the others' (a credential mechanism, a link list's label, a
 * file detector) are open and taken as written.
 */
const SEVERITY_QUALIFIERS: Record<string, string[]> = {
  unauthorized_im: ['encrypted', 'cleartext'],
  policy_violation: ['outside_hours', 'chat_not_allowed', 'file_transfer_not_allowed'],
  sensitive_data: [...BUILTIN_DETECTORS, 'keyword', 'regex'],
};

const TOP_KEYS = ['version', 'timezone', 'home_networks', 'people', 'groups', 'sanctioned_servers', 'dlp', 'suppression', 'severity', 'files'] as const;

export function parsePolicy(src: string, file: string): Policy {
  const { LineCounter: LC, parseDocument } = yaml();
  const lc: LineCounter = new LC();
  const doc = parseDocument(src, { lineCounter: lc, uniqueKeys: true, prettyErrors: false, logLevel: 'error' }); // no YAMLWarning on stderr (a collection as a key)
  if (doc.errors.length) {
    const e = doc.errors[0];
    const line = e.pos ? lc.linePos(e.pos[0]).line : (e.linePos?.[0]?.line ?? 1);
    throw new PolicyError(`${file}:${line}: not valid YAML: ${e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}`);
  }
  const r = new Reader(file, lc);
  // an alias (*nets) reads as no value at all below; say so rather than "must be a list"
  yaml().visit(doc, { Alias: (_k, n) => r.fail(n, `YAML aliases (*${n.source.slice(0, 40)}) are not supported in a policy; write the values out`) });
  const p = defaultPolicy();
  p.source = file;
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) return p; // empty file = defaults
  const top = r.entries(doc.contents, 'the policy', TOP_KEYS);
  const get = (k: string) => top.find((e) => e.key === k);

  const v = get('version');
  if (v && r.int(v.value, 'version', 1, 1) !== 1) r.fail(v.value, 'version must be 1');
  const tz = get('timezone');
  if (tz) p.timezone = timezone(r, tz.value);

  const home = get('home_networks');
  if (home) {
    p.homeNets = r.list(home.value, 'home_networks').map(({ value, node }) => exactBlock(r, node, parseCidr(value) ?? r.fail(node, `home_networks: '${value}' is not a CIDR block or IP address`), 'home_networks'));
  }

  const people = get('people');
  if (people) loadPeople(r, people.value, p, path.dirname(file));

  const groups = get('groups');
  if (groups) {
    for (const g of r.entries(groups.value, 'groups')) p.groups.push(group(r, g.key, g.value, p.timezone, p.directory));
  }

  const sanctioned = get('sanctioned_servers');
  if (sanctioned) {
    for (const { value, node } of r.list(sanctioned.value, 'sanctioned_servers')) {
      const c = parseCidr(value);
      if (c) p.sanctionedNets.push(exactBlock(r, node, c, 'sanctioned_servers'));
      else if (/^(\*\.|\.)?([a-z0-9_]([a-z0-9_-]{0,62})\.)*[a-z0-9_][a-z0-9_-]{0,62}\.?$/i.test(value) && !/^[\d./]+$/.test(value)) p.sanctionedHosts.push(value.toLowerCase().replace(/^\*/, '').replace(/\.$/, ''));
      else r.fail(node, `sanctioned server '${value}' is not an IP address, CIDR block or host name`);
    }
  }

  const dlp = get('dlp');
  if (dlp) parseDlp(r, dlp.value, p.dlp);

  const sup = get('suppression');
  if (sup) {
    for (const e of r.entries(sup.value, 'suppression', ['default', ...ALERT_KINDS])) p.suppression[e.key] = r.duration(e.value, `suppression.${e.key}`);
  }

  const sev = get('severity');
  if (sev) {
    for (const e of r.entries(sev.value, 'severity')) {
      const [kind, ...rest] = e.key.toLowerCase().split('.');
      if (!(ALERT_KINDS as readonly string[]).includes(kind)) r.fail(e.keyNode, `severity key '${e.key}' must start with an alert kind (${ALERT_KINDS.join(', ')})`);
      const qualifiers = SEVERITY_QUALIFIERS[kind];
      if (rest.length && qualifiers) {
        const q = rest.join('.');
        const known = [...qualifiers, ...knownProtocols()];
        if (!known.includes(q)) r.fail(e.keyNode, `severity key '${e.key}': '${q}' is none of ${kind}'s qualifiers (${qualifiers.join(', ')}, or a protocol id), so it would apply to nothing`);
      }
      p.severity.set(e.key.toLowerCase(), r.severity(e.value, `severity.${e.key}`));
    }
  }

  const files = get('files');
  if (files) {
    for (const e of r.entries(files.value, 'files', ['severity', 'dangerous_extensions', 'dangerous_severity', 'large_bytes', 'large_severity',
      'block_types', 'from_outside_only', 'block_encrypted_archives', 'block_macros', 'max_size', 'block_type_mismatch', 'scan_content'])) {
      if (e.key === 'severity') p.files.severity = r.severity(e.value, 'files.severity');
      else if (e.key === 'dangerous_severity') p.files.dangerousSeverity = r.severity(e.value, 'files.dangerous_severity');
      else if (e.key === 'large_severity') p.files.largeSeverity = r.severity(e.value, 'files.large_severity');
      else if (e.key === 'large_bytes') p.files.largeBytes = r.int(e.value, 'files.large_bytes', 1, Number.MAX_SAFE_INTEGER);
      else if (e.key === 'block_types') {
        p.files.blockTypes = new Set(r.list(e.value, 'files.block_types').map((x) => {
          const t = x.value.toLowerCase();
          if (t !== 'executable' && !knownFileTypes().has(t)) r.fail(x.node, `files.block_types: '${x.value.slice(0, 40)}' is not a file type id (e.g. pe, elf, macho, script, msi, executable; see docs/files.md)`);
          return t;
        }));
      } else if (e.key === 'from_outside_only') p.files.fromOutsideOnly = r.bool(e.value, 'files.from_outside_only');
      else if (e.key === 'block_encrypted_archives') p.files.blockEncryptedArchives = r.bool(e.value, 'files.block_encrypted_archives');
      else if (e.key === 'block_macros') p.files.blockMacros = r.bool(e.value, 'files.block_macros');
      else if (e.key === 'max_size') p.files.maxSize = r.int(e.value, 'files.max_size', 1, Number.MAX_SAFE_INTEGER);
      else if (e.key === 'block_type_mismatch') p.files.blockTypeMismatch = r.bool(e.value, 'files.block_type_mismatch');
      else if (e.key === 'scan_content') p.files.scanContent = r.bool(e.value, 'files.scan_content');
      else p.files.dangerousExtensions = new Set(r.list(e.value, 'files.dangerous_extensions').map((x) => {
        // '.scr' and '*.scr' mean 'scr'; nothing left (or a path) is no extension
        const ext = x.value.toLowerCase().replace(/^\*?\./, '');
        if (!/^[^\s./\\*]{1,16}$/u.test(ext)) r.fail(x.node, `files.dangerous_extensions: '${x.value.slice(0, 40)}' is not an extension (write scr, or .scr)`);
        return ext;
      }));
    }
  }
  return p;
}

function timezone(r: Reader, node: unknown): string {
  const tz = r.str(node, 'timezone');
  if (!validTimezone(tz)) r.fail(node, `unknown time zone '${tz}' (use an IANA name such as UTC, Europe/Berlin, America/New_York)`);
  return tz;
}

function loadPeople(r: Reader, node: unknown, p: Policy, dir: string): void {
  for (const e of r.entries(node, 'people', ['csv', 'map', 'ldif'])) {
    if (e.key === 'ldif') {
      for (const { value, node: n } of r.list(e.value, 'people.ldif')) {
        let text: string;
        try {
          text = fs.readFileSync(path.resolve(dir, value), 'utf8');
        } catch (err) {
          r.fail(n, `cannot read people LDIF '${value}': ${whyCannotRead(err)}; the path is relative to the policy file`);
        }
        try {
          addDirectory(parseLdif(text, value), value, p.people, p.directory);
        } catch (err) {
          r.fail(n, `people.ldif: ${(err as Error).message}`);
        }
      }
    } else if (e.key === 'csv') {
      for (const { value, node: n } of r.list(e.value, 'people.csv')) {
        const f = path.resolve(dir, value);
        let text: string;
        try {
          text = fs.readFileSync(f, 'utf8');
        } catch (err) {
          r.fail(n, `cannot read people CSV '${value}': ${whyCannotRead(err)}; the path is relative to the policy file`);
        }
        try {
          loadIdentityCsv(text, value, p.people);
        } catch (err) {
          r.fail(n, (err as Error).message);
        }
      }
    } else {
      for (const m of r.entries(e.value, 'people.map')) {
        const err = p.people.add(m.key, r.str(m.value, `people.map.${m.key}`));
        if (err) r.fail(m.keyNode, `people.map: ${err}`);
      }
    }
  }
}

function group(r: Reader, name: string, node: unknown, tz: string, dir: Directory): Group {
  const g: Group = { name, networks: [], users: new Set(), userLabels: [], allow: [] };
  const what = `group '${name}'`;
  for (const e of r.entries(node, what, ['networks', 'hosts', 'users', 'directory_groups', 'allow', 'zone'])) {
    if (e.key === 'zone') {
      g.zones = new Set(r.list(e.value, `${what} zone`).map(({ value, node: n }) => {
        const z = parseZone(value);
        if (z === undefined) r.fail(n, `${what}: '${value}' is not a tunnel zone (as events write it: vxlan:100, geneve:7, erspan:3, gre_ethernet:42, gre_ip:7; or none for flows outside zoned tunnels)`);
        return z;
      }));
      continue;
    }
    if (e.key === 'directory_groups') {
      // a directory group, by its DN or its CN: its people (from people.ldif) are members
      for (const { value, node: n } of r.list(e.value, `${what} directory_groups`)) {
        const members = dir.groups.get(directoryGroupKey(value));
        if (!members) {
          const known = [...dir.groups.keys()].filter((k) => !k.includes('=')).slice(0, 6);
          r.fail(n, dir.groups.size
            ? `${what}: no directory group '${value}' in people.ldif (by CN or DN; some there: ${known.join(', ')})`
            : `${what}: directory group '${value}' needs people.ldif (a directory export with memberOf or group entries)`);
        }
        for (const person of members) g.users.add(normalizeIdentity(person));
        g.userLabels.push(`${value} (directory group, ${members.size} ${members.size === 1 ? 'person' : 'people'})`);
      }
      continue;
    }
    if (e.key === 'networks' || e.key === 'hosts') {
      for (const { value, node: n } of r.list(e.value, `${what} ${e.key}`)) {
        const c = parseCidr(value);
        if (!c) r.fail(n, `${what}: '${value}' is not ${e.key === 'hosts' ? 'an IP address' : 'a CIDR block or IP address'}`);
        if (e.key === 'hosts' && value.includes('/')) r.fail(n, `${what}: hosts are single addresses; put '${value}' under networks`);
        g.networks.push(exactBlock(r, n, c, `${what} networks`));
      }
    } else if (e.key === 'users') {
      for (const { value } of r.list(e.value, `${what} users`)) {
        g.users.add(normalizeIdentity(value));
        g.userLabels.push(value);
      }
    } else {
      if (!isSeq(e.value)) r.fail(e.value, `${what} allow must be a list of rules (- protocols: …)`);
      for (const item of (e.value as any).items) g.allow.push(allowRule(r, item, `${what} allow rule`, tz));
    }
  }
  return g;
}

function allowRule(r: Reader, node: unknown, what: string, tz: string): AllowRule {
  const rule: AllowRule = { chat: true, files: true, line: r.line(node) };
  let days: { mask: number; node: unknown } | undefined;
  let hours: { ranges: Array<[number, number]>; node: unknown; text: string } | undefined;
  let zone = tz;
  for (const e of r.entries(node, what, ['protocols', 'days', 'hours', 'timezone', 'chat', 'files'])) {
    if (e.key === 'protocols') {
      const list = r.list(e.value, `${what} protocols`).map((x) => ({ ...x, value: x.value.toLowerCase() }));
      if (!list.length) r.fail(e.value, `${what} protocols is empty, so the rule allows nothing; list protocols, write any, or remove the rule`);
      if (list.some((x) => x.value === 'any' || x.value === 'all')) rule.protocols = undefined;
      else {
        for (const x of list) if (!/^[a-z0-9_-]{2,32}$/.test(x.value)) r.fail(x.node, `'${x.value}' is not a protocol id (e.g. xmpp, irc, aim, msn, slack, teams, or any)`);
        rule.protocols = new Set(list.map((x) => x.value));
      }
    } else if (e.key === 'days') {
      try {
        days = { mask: parseDays(r.list(e.value, `${what} days`).map((x) => x.value)), node: e.value };
        if (days.mask === 0) throw new Error('the list is empty, so the rule never applies; list days (mon-fri), or leave days out for every day');
      } catch (err) {
        r.fail(e.value, `${what} days: ${(err as Error).message}`);
      }
    } else if (e.key === 'hours') {
      const list = r.list(e.value, `${what} hours`);
      if (!list.length) r.fail(e.value, `${what} hours is empty, so the rule never applies; list ranges (09:00-17:00), or leave hours out for all day`);
      const ranges: Array<[number, number]> = [];
      for (const x of list) {
        try {
          ranges.push(parseRange(x.value));
        } catch (err) {
          r.fail(x.node, `${what} hours: ${(err as Error).message}`);
        }
      }
      hours = { ranges, node: e.value, text: list.map((x) => x.value).join(', ') };
    } else if (e.key === 'timezone') zone = timezone(r, e.value);
    else if (e.key === 'chat') rule.chat = r.bool(e.value, `${what} chat`);
    else rule.files = r.bool(e.value, `${what} files`);
  }
  if (!rule.chat && !rule.files) r.fail(node, `${what} allows neither chat nor files; remove the rule instead`);
  if (days || hours) {
    const mask = days?.mask ?? 0b1111111;
    const ranges = hours?.ranges ?? [[0, 1440]];
    rule.schedule = { days: mask, ranges, timezone: zone, text: `${dayList(mask)}, ${hours ? hours.text : 'all day'} (${zone})` };
  }
  return rule;
}

function parseDlp(r: Reader, node: unknown, d: DlpSettings): void {
  for (const e of r.entries(node, 'dlp', ['max_scan_bytes', 'detectors', 'keywords', 'regexes'])) {
    if (e.key === 'max_scan_bytes') d.maxScanChars = r.int(e.value, 'dlp.max_scan_bytes', 256, 1 << 20);
    else if (e.key === 'detectors') {
      for (const det of r.entries(e.value, 'dlp.detectors', BUILTIN_DETECTORS)) {
        const s = d.detectors[det.key as BuiltinDetector];
        if (isScalar(det.value) && typeof det.value.value === 'boolean') {
          s.enabled = det.value.value;
          continue;
        }
        const allowed = det.key === 'pan' ? ['enabled', 'threshold', 'severity', 'ignore_test_numbers'] : ['enabled', 'threshold', 'severity'];
        for (const o of r.entries(det.value, `dlp.detectors.${det.key}`, allowed)) {
          if (o.key === 'enabled') s.enabled = r.bool(o.value, `dlp.detectors.${det.key}.enabled`);
          else if (o.key === 'threshold') s.threshold = r.int(o.value, `dlp.detectors.${det.key}.threshold`, 1, 65535);
          else if (o.key === 'severity') s.severity = r.severity(o.value, `dlp.detectors.${det.key}.severity`);
          else s.ignore_test_numbers = r.bool(o.value, `dlp.detectors.${det.key}.ignore_test_numbers`);
        }
      }
    } else if (e.key === 'keywords') {
      if (!isSeq(e.value)) r.fail(e.value, 'dlp.keywords must be a list of dictionaries (- name: …, words: […])');
      for (const item of (e.value as any).items) {
        const k: Partial<KeywordDictionary> = { threshold: 1, severity: 'medium' };
        for (const o of r.entries(item, 'a keyword dictionary', ['name', 'words', 'threshold', 'severity'])) {
          if (o.key === 'name') k.name = r.str(o.value, 'dictionary name');
          else if (o.key === 'threshold') k.threshold = r.int(o.value, 'dictionary threshold', 1, 65535);
          else if (o.key === 'severity') k.severity = r.severity(o.value, 'dictionary severity');
          else {
            const words = r.list(o.value, 'dictionary words');
            for (const w of words) if (!w.value.trim() || w.value.length > 128) r.fail(w.node, 'each dictionary word must have 1 to 128 characters');
            if (words.length > 10000) r.fail(o.value, 'a dictionary holds at most 10000 words');
            k.words = words.map((w) => w.value.trim());
          }
        }
        if (!k.name) r.fail(item, 'a keyword dictionary needs a name');
        if (!k.words?.length) r.fail(item, `keyword dictionary '${k.name}' needs words`);
        k.matcher = new KeywordMatcher(k.words);
        d.keywords.push(k as KeywordDictionary);
      }
    } else {
      if (!isSeq(e.value)) r.fail(e.value, 'dlp.regexes must be a list (- name: …, pattern: …)');
      for (const item of (e.value as any).items) {
        const u: Partial<UserPattern> = { threshold: 1, severity: 'medium', redact: true, ignoreCase: false };
        let patNode: unknown;
        for (const o of r.entries(item, 'a regex', ['name', 'pattern', 'threshold', 'severity', 'redact', 'ignore_case'])) {
          if (o.key === 'name') u.name = r.str(o.value, 'regex name');
          else if (o.key === 'pattern') {
            u.pattern = r.str(o.value, 'regex pattern');
            patNode = o.value;
          } else if (o.key === 'threshold') u.threshold = r.int(o.value, 'regex threshold', 1, 65535);
          else if (o.key === 'severity') u.severity = r.severity(o.value, 'regex severity');
          else if (o.key === 'redact') u.redact = r.bool(o.value, 'regex redact');
          else u.ignoreCase = r.bool(o.value, 'regex ignore_case');
        }
        if (!u.name) r.fail(item, 'a regex needs a name');
        if (!u.pattern) r.fail(item, `regex '${u.name}' needs a pattern`);
        try {
          u.regex = compileSafe(u.pattern);
        } catch (err) {
          r.fail(patNode, `regex '${u.name}': ${(err as Error).message}`);
        }
        // the bounded-time engine has no case-insensitive flag: the text is matched in lower case, so an
        // upper-case letter in the pattern would never match
        const upper = u.ignoreCase ? upperLiteral(u.pattern) : undefined;
        if (upper) r.fail(patNode, `regex '${u.name}' has ignore_case but '${upper}' in upper case, which never matches (the text is matched in lower case); write the pattern's letters in lower case`);
        d.patterns.push(u as UserPattern);
      }
    }
  }
}

// ---- questions the analyzer asks ----

/** The monitored side of a flow: the client, unless only the server is in the home networks. */
export function localSide<E extends { ip: string }>(p: Policy, client: E, server: E): { local: E; remote: E; inbound: boolean } {
  if (isInbound(p, client, server)) return { local: server, remote: client, inbound: true };
  return { local: client, remote: server, inbound: false };
}

/** Only the server side is in the home networks: localSide(…).inbound, without an answer object. */
export function isInbound(p: Policy, client: { ip: string }, server: { ip: string }): boolean {
  return !anyContains(p.homeNets, client.ip) && anyContains(p.homeNets, server.ip);
}

export function isSanctioned(p: Policy, serverIp: string | undefined, serverName: string | undefined): boolean {
  if (serverIp && anyContains(p.sanctionedNets, serverIp)) return true;
  if (serverName && p.sanctionedHosts.length) {
    const n = serverName.toLowerCase().replace(/\.$/, '');
    for (const h of p.sanctionedHosts) {
      if (h.startsWith('.') ? n.endsWith(h) || n === h.slice(1) : n === h) return true;
    }
  }
  return false;
}

/**
 * A tunnel zone as events write it (sensor/packetPath.ts zoneText): 'vxlan:100', 'gre_ethernet:42',
 * nested 'erspan/vxlan#0000abcd'; 'none' = outside zoned tunnels (''). undefined when it is none of these.
 */
export function parseZone(text: string): string | undefined {
  const t = text.trim().toLowerCase();
  if (t === 'none') return '';
  const kind = '(?:vxlan|geneve|erspan|gre_ethernet|gre_ip)';
  const one = new RegExp(`^${kind}:(\\d{1,10})$`).exec(t);
  if (one) return Number(one[1]) <= 0xffffffff ? `${t.slice(0, t.indexOf(':'))}:${Number(one[1])}` : undefined;
  return new RegExp(`^${kind}(?:/${kind})+#[0-9a-f]{8}$`).test(t) ? t : undefined;
}

/** Groups the client belongs to: by address, identity or person; a group with zones only in those (`zone`: the event's tunnel zone). */
export function groupsOf(p: Policy, clientIp: string | undefined, identities: string[], person: string | undefined, zone?: string): Group[] {
  if (!p.groups.length) return [];
  const ids = identities.map(normalizeIdentity);
  const who = person ? normalizeIdentity(person) : undefined;
  const out: Group[] = [];
  for (const g of p.groups) {
    if (g.zones && !g.zones.has(zone ?? '')) continue;
    if (clientIp && anyContains(g.networks, clientIp)) out.push(g);
    else if (g.users.size && (ids.some((i) => g.users.has(i)) || (who && g.users.has(who)))) out.push(g);
  }
  return out;
}

export function severityFor(p: Policy, kind: string, computed: Severity, ...qualifiers: Array<string | undefined>): Severity {
  if (!p.severity.size) return computed; // no overrides (the default policy): no key to build
  for (const q of qualifiers) {
    if (!q) continue;
    const s = p.severity.get(`${kind}.${q}`.toLowerCase());
    if (s) return s;
  }
  return p.severity.get(kind) ?? computed;
}

export function suppressionFor(p: Policy, kind: string): number {
  return p.suppression[kind] ?? p.suppression.default ?? 3600_000;
}

/**
 * The first upper-case letter a pattern would look for in the text, if any: not inside its escapes
 * (\\D, \\p{Lu}, \\u{1F600}, \\u00E9, \\x2F, \\cJ), a group's name, or a negated class (whose
 * letters the lower-cased text simply never holds, which changes nothing).
 */
function upperLiteral(pattern: string): string | undefined {
  let negated = false; // inside [^…]
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') {
      const e = pattern[++i];
      if ((e === 'p' || e === 'P' || e === 'u' || e === 'k') && (pattern[i + 1] === '{' || pattern[i + 1] === '<')) i = Math.max(i, pattern.indexOf(pattern[i + 1] === '{' ? '}' : '>', i));
      else if (e === 'u') i += 4;
      else if (e === 'x') i += 2;
      else if (e === 'c') i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = negated = false;
      else if (!negated && c.toLowerCase() !== c) return c;
      continue;
    }
    if (c === '[') {
      inClass = true;
      negated = pattern[i + 1] === '^';
      if (negated) i++;
      continue;
    }
    if (c === '(' && pattern.startsWith('(?<', i) && pattern[i + 3] !== '=' && pattern[i + 3] !== '!') {
      i = Math.max(i, pattern.indexOf('>', i)); // a group's name
      continue;
    }
    if (c.toLowerCase() !== c) return c;
  }
  return undefined;
}

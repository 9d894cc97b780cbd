// The product's one configuration file (YAML). Found at --config FILE, else $SHADOWIM_CONFIG, else
// ./shadowim.yaml when present, else built-in defaults. Every value is checked here, once; a mistake is
// reported as one line naming the file, the line and the problem (ConfigError).
//
// Adding a section: add its defaults to DEFAULTS, its type to Config and a validator to SECTIONS.
// Sections parsed by their own modules (sinks, files, links) are kept raw in `extra` for them.
// Values that are defaults of command-line options (sensor.interface, policy, dashboard.port, …) are
// read through OptionSpec.config (cli/args.ts): the command line wins over them.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkTimeZone } from './calendar';
import { whyCannotRead } from './fsError';

import { ConfigError } from './configError';

export { ConfigError };

export interface StoreConfig {
  /** SQLite file; undefined = no store unless --store PATH is given */
  path?: string;
  /** 'normal' survives a killed process; 'full' also survives power loss (slower) */
  synchronous: 'normal' | 'full';
  /** days of sessions, alerts, files and rollups kept (0 = forever); counted from when they were stored */
  retention_days: number;
}

export interface InfluxConfig {
  /** e.g. http://127.0.0.1:8086; undefined = InfluxDB output off */
  url?: string;
  database: string;
  username?: string;
  password?: string;
  /** raw points kept this long (InfluxQL duration, e.g. 30d) */
  retention: string;
  /** 1-minute rollups kept this long */
  rollup_retention: string;
  /** 1-hour rollups kept this long */
  long_retention: string;
  /** create the database, retention policies and continuous queries on start */
  setup: boolean;
  batch_points: number;
  flush_ms: number;
  /** on-disk spool (write-ahead buffer), one subdirectory per sensor */
  spool_dir: string;
  spool_max_bytes: number;
  /** how long close() keeps sending what is spooled before leaving it for the next start */
  close_timeout_ms: number;
}

export interface ArchiveConfig {
  /** false: message text is never stored (sessions, alerts and counts still are) */
  enabled: boolean;
  /** with the archive off, still keep who wrote to whom and when */
  metadata: boolean;
  /** messages are deleted this many days after they were stored (0 = forever) */
  retention_days: number;
}

export interface SensorConfig {
  name: string;
  // defaults of `shadowim sensor` options (YAML keys use _ where options use -)
  interface?: string;
  filter?: string;
  snaplen?: number;
  buffer_size?: number;
  queue_size?: number;
  max_flows?: number;
  stats_interval?: number;
  stats?: boolean;
  /** absolute (relative to the config file's directory) */
  evidence_dir?: string;
}

/** defaults of `shadowim serve` options; paths absolute */
export interface DashboardConfig {
  port?: number;
  host?: string;
  tls_cert?: string;
  tls_key?: string;
  trust_proxy?: boolean | number | string;
  /** text shown above the login form (an "authorized use only, activity is monitored" notice) */
  login_notice?: string;
}

/** [min, max, default] of the sensor's numeric options: `shadowim sensor` enforces the same on its options */
export const SENSOR_LIMITS = {
  snaplen: [64, 65535, 65535],
  buffer_size: [1, 4096, 64],
  queue_size: [1, 16384, 256],
  max_flows: [16, 50_000_000, 200000],
  stats_interval: [0, 86400, 10],
} as const satisfies Record<string, readonly [number, number, number]>;

export interface Config {
  /** file the values came from; undefined = defaults only */
  file?: string;
  sensor: SensorConfig;
  /**
   * CIDRs of the monitored network (outbound = from these): the home networks of a policy that names
   * none (and of the built-in policy); undefined = the policy's own default
   */
  home_nets?: string[];
  store: StoreConfig;
  influx: InfluxConfig;
  archive: ArchiveConfig;
  /** the policy file (absolute): default --policy of analyze, sensor, serve, rules, doctor */
  policy?: string;
  /** dir: signature override folder (absolute); $SHADOWIM_SIGNATURES_DIR wins over it */
  signatures: { dir?: string };
  dashboard: DashboardConfig;
  /** tz: the time zone of `report`'s calendar periods (--since yesterday, …); undefined = UTC */
  report: { tz?: string };
  /** sections parsed by their own modules (sinks, files, links) */
  extra: Record<string, unknown>;
}

export function defaults(): Config {
  return {
    sensor: { name: defaultSensorName() },
    store: { synchronous: 'normal', retention_days: 0 },
    influx: {
      database: 'shadowim',
      retention: '30d',
      rollup_retention: '90d',
      long_retention: '730d',
      setup: true,
      batch_points: 5000,
      flush_ms: 1000,
      spool_dir: 'shadowim-spool',
      spool_max_bytes: 256 * 1024 * 1024,
      close_timeout_ms: 10000,
    },
    archive: { enabled: true, metadata: true, retention_days: 90 },
    signatures: {},
    dashboard: {},
    report: {},
    extra: {},
  };
}

function defaultSensorName(): string {
  return (os.hostname() || 'sensor').replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 64);
}

/** Sections validated by the parts that read them (outputs/sinks, analyzer/files, analyzer/links). */
const RAW_SECTIONS = new Set(['sinks', 'files', 'links']);

/** Sections a user plausibly writes here that belong elsewhere: what to do instead. */
const ELSEWHERE: Record<string, string> = {
  dlp: "DLP settings go in the policy file (its dlp: section); see analyzer/policy.example.yaml, and give the policy with 'policy: FILE'",
  analyzer: "analyzer settings (groups, schedules, DLP) go in the policy file; see analyzer/policy.example.yaml, and give it with 'policy: FILE'",
  firewall: "firewall/IPS rules are exported with 'shadowim rules --format FORMAT' (it reads the policy named by 'policy:')",
  outputs: "alert outputs are the sinks: section (docs/integrations.md); firewall rules come from 'shadowim rules --format FORMAT'",
};

type Node = any;
interface Ctx {
  file: string;
  lines: { linePos: (offset: number) => { line: number; col: number } };
}

function fail(ctx: Ctx, node: Node, msg: string): never {
  const off = node?.range?.[0];
  const where = typeof off === 'number' ? `:${ctx.lines.linePos(off).line}` : '';
  throw new ConfigError(`${ctx.file}${where}: ${msg}`);
}

function mapEntries(ctx: Ctx, node: Node, name: string): Array<[string, Node, Node]> {
  const { isMap, isScalar } = require('yaml');
  if (!isMap(node)) fail(ctx, node, `${name} must be a mapping (key: value lines)`);
  return node.items.map((p: any) => {
    if (!isScalar(p.key)) fail(ctx, p.key ?? node, `${name}: keys must be plain words`);
    return [String(p.key.value), p.key, p.value];
  });
}

function scalar(ctx: Ctx, node: Node, name: string): unknown {
  const { isScalar } = require('yaml');
  if (!isScalar(node)) fail(ctx, node, `${name} must be a single value`);
  return node.value;
}

function str(ctx: Ctx, node: Node, name: string, re?: RegExp, hint?: string): string {
  const v = scalar(ctx, node, name);
  if (typeof v !== 'string' && typeof v !== 'number') fail(ctx, node, `${name} must be text`);
  const s = String(v);
  if (re && !re.test(s)) fail(ctx, node, `${name}: '${s.slice(0, 60)}' is not valid${hint ? ` (${hint})` : ''}`);
  return s;
}

/** a path, relative to the config file's folder; empty is a mistake (it would name that folder) */
function pathOf(ctx: Ctx, node: Node, name: string, base: string): string {
  const s = str(ctx, node, name);
  if (s === '') fail(ctx, node, `${name} is empty: give a path, or remove the key for the default`);
  return path.resolve(base, s);
}

function bool(ctx: Ctx, node: Node, name: string): boolean {
  const v = scalar(ctx, node, name);
  if (typeof v !== 'boolean') fail(ctx, node, `${name} must be true or false`);
  return v;
}

function int(ctx: Ctx, node: Node, name: string, min: number, max: number): number {
  const v = scalar(ctx, node, name);
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) fail(ctx, node, `${name} must be a whole number from ${min} to ${max}`);
  return v;
}

function bytesValue(ctx: Ctx, node: Node, name: string): number {
  const v = scalar(ctx, node, name);
  if (typeof v === 'number' && Number.isInteger(v) && v >= 4096) return v;
  const m = typeof v === 'string' ? /^(\d+)\s*(k|m|g)i?b?$/i.exec(v.trim()) : null;
  if (!m) fail(ctx, node, `${name} must be a size in bytes, e.g. 268435456 or 256MiB (at least 4096)`);
  const n = Number(m[1]) * { k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2].toLowerCase() as 'k' | 'm' | 'g'];
  if (n < 4096) fail(ctx, node, `${name} must be at least 4096 bytes`);
  return n;
}

const DURATION = /^(\d+(w|d|h|m|s)|INF)$/;
const CIDR = /^(\d{1,3}(\.\d{1,3}){3}\/\d{1,2}|[0-9a-fA-F:]+\/\d{1,3})$/;

function unknownKey(ctx: Ctx, keyNode: Node, section: string, key: string, known: string[]): never {
  fail(ctx, keyNode, `unknown key '${key}' in ${section}; known keys: ${known.join(', ')}`);
}

type SectionValidator = (ctx: Ctx, node: Node, cfg: Config, baseDir: string) => void;

const SECTIONS: Record<string, SectionValidator> = {
  sensor(ctx, node, cfg, base) {
    const { isScalar } = require('yaml');
    // `sensor: hq-1` is short for `sensor: {name: hq-1}`
    if (isScalar(node)) {
      cfg.sensor.name = str(ctx, node, 'sensor', /^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, . _ -, at most 64');
      return;
    }
    const s = cfg.sensor;
    const known = ['name', 'interface', 'filter', 'snaplen', 'buffer_size', 'queue_size', 'max_flows', 'stats_interval', 'stats', 'evidence_dir'];
    for (const [k, kn, v] of mapEntries(ctx, node, 'sensor')) {
      switch (k) {
        case 'name':
          s.name = str(ctx, v, 'sensor.name', /^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, . _ -, at most 64');
          break;
        case 'interface':
          // as --interface: one name, 'any', or several separated by commas (the sensor checks the list)
          s.interface = str(ctx, v, 'sensor.interface', /^[A-Za-z0-9_.:@-]{1,64}(\s*,\s*[A-Za-z0-9_.:@-]{1,64}){0,15}$/, "an interface name, 'any', or names separated by commas: eth1,eth2");
          break;
        case 'filter':
          s.filter = str(ctx, v, 'sensor.filter', /^[^\n]{1,4096}$/, 'one line of pcap-filter syntax');
          break;
        case 'snaplen':
        case 'buffer_size':
        case 'queue_size':
        case 'max_flows':
        case 'stats_interval':
          s[k] = int(ctx, v, `sensor.${k}`, SENSOR_LIMITS[k][0], SENSOR_LIMITS[k][1]);
          break;
        case 'stats':
          s.stats = bool(ctx, v, 'sensor.stats');
          break;
        case 'evidence_dir':
          s.evidence_dir = pathOf(ctx, v, 'sensor.evidence_dir', base);
          break;
        default:
          unknownKey(ctx, kn, 'sensor', k, known);
      }
    }
  },
  policy(ctx, node, cfg, base) {
    const { isScalar } = require('yaml');
    // `policy: FILE` is short for `policy: {file: FILE}`
    if (isScalar(node)) {
      cfg.policy = pathOf(ctx, node, 'policy', base);
      return;
    }
    for (const [k, kn, v] of mapEntries(ctx, node, 'policy')) {
      if (k === 'file') cfg.policy = pathOf(ctx, v, 'policy.file', base);
      else unknownKey(ctx, kn, 'policy', k, ['file']);
    }
  },
  signatures(ctx, node, cfg, base) {
    for (const [k, kn, v] of mapEntries(ctx, node, 'signatures')) {
      if (k === 'dir') cfg.signatures.dir = pathOf(ctx, v, 'signatures.dir', base);
      else unknownKey(ctx, kn, 'signatures', k, ['dir']);
    }
  },
  dashboard(ctx, node, cfg, base) {
    const d = cfg.dashboard;
    const known = ['port', 'host', 'tls_cert', 'tls_key', 'trust_proxy', 'login_notice'];
    for (const [k, kn, v] of mapEntries(ctx, node, 'dashboard')) {
      switch (k) {
        case 'port':
          d.port = int(ctx, v, 'dashboard.port', 0, 65535);
          break;
        case 'host':
          d.host = str(ctx, v, 'dashboard.host', /^[A-Za-z0-9_.:%-]{1,253}$/, 'an address such as 127.0.0.1, :: or a host name');
          break;
        case 'tls_cert':
        case 'tls_key':
          d[k] = pathOf(ctx, v, `dashboard.${k}`, base);
          break;
        case 'trust_proxy': {
          const t = scalar(ctx, v, 'dashboard.trust_proxy');
          if (typeof t !== 'boolean' && typeof t !== 'number' && typeof t !== 'string') fail(ctx, v, "dashboard.trust_proxy must be true, false, a number of hops or an express 'trust proxy' value such as loopback");
          d.trust_proxy = t;
          break;
        }
        case 'login_notice': {
          const t = scalar(ctx, v, 'dashboard.login_notice');
          if (typeof t !== 'string' || !t.trim() || t.length > 2000) fail(ctx, v, 'dashboard.login_notice must be text of 1 to 2,000 characters (shown above the login form)');
          d.login_notice = t;
          break;
        }
        case 'quarantine':
          fail(ctx, kn, "dashboard.quarantine: the dashboard offers the files of files.quarantine.dir; set that instead (docs/files.md)");
        default:
          unknownKey(ctx, kn, 'dashboard', k, known);
      }
    }
  },
  report(ctx, node, cfg) {
    for (const [k, kn, v] of mapEntries(ctx, node, 'report')) {
      if (k !== 'tz') unknownKey(ctx, kn, 'report', k, ['tz']);
      const tz = str(ctx, v, 'report.tz');
      try {
        cfg.report.tz = checkTimeZone(tz);
      } catch (e) {
        fail(ctx, v, `report.tz: ${(e as Error).message}`);
      }
    }
  },
  home_nets(ctx, node, cfg) {
    const { isSeq } = require('yaml');
    if (!isSeq(node)) fail(ctx, node, 'home_nets must be a list of CIDRs, e.g. [10.0.0.0/8]');
    const { parseCidr, hostBitsNetwork } = require('../analyzer/cidr') as typeof import('../analyzer/cidr');
    cfg.home_nets = node.items.map((n: Node) => {
      const c = str(ctx, n, 'home_nets entry', CIDR, 'a CIDR such as 10.0.0.0/8');
      const block = parseCidr(c);
      if (!block) fail(ctx, n, `home_nets entry: '${c.slice(0, 60)}' is not valid (a CIDR such as 10.0.0.0/8)`);
      // as the policy's home_networks: 10.1.2.3/8 means all of 10.0.0.0/8, or was meant as one address
      const net = hostBitsNetwork(block!);
      if (net) fail(ctx, n, `home_nets entry: '${c}' has address bits set past its prefix, so it would cover all of ${net}; write ${net} if that is meant, or ${c.slice(0, c.indexOf('/'))} for the one address`);
      return c;
    });
  },
  store(ctx, node, cfg, base) {
    const known = ['path', 'synchronous', 'retention_days'];
    for (const [k, kn, v] of mapEntries(ctx, node, 'store')) {
      if (k === 'path') cfg.store.path = pathOf(ctx, v, 'store.path', base);
      else if (k === 'synchronous') cfg.store.synchronous = str(ctx, v, 'store.synchronous', /^(normal|full)$/, 'normal or full') as 'normal' | 'full';
      else if (k === 'retention_days') cfg.store.retention_days = int(ctx, v, 'store.retention_days', 0, 100000);
      else unknownKey(ctx, kn, 'store', k, known);
    }
  },
  influx(ctx, node, cfg, base) {
    const i = cfg.influx;
    const known = ['url', 'database', 'username', 'password', 'retention', 'rollup_retention', 'long_retention', 'setup', 'batch_points', 'flush_ms', 'spool_dir', 'spool_max_bytes', 'close_timeout_ms'];
    for (const [k, kn, v] of mapEntries(ctx, node, 'influx')) {
      switch (k) {
        case 'url':
          i.url = str(ctx, v, 'influx.url', /^https?:\/\/[^\s/]+(\/[^\s]*)?$/, 'e.g. http://127.0.0.1:8086').replace(/\/+$/, '');
          break;
        case 'database':
          i.database = str(ctx, v, 'influx.database', /^[A-Za-z0-9_]{1,64}$/, 'letters, digits and _');
          break;
        case 'username':
          i.username = str(ctx, v, 'influx.username');
          break;
        case 'password':
          i.password = str(ctx, v, 'influx.password');
          break;
        case 'retention':
        case 'rollup_retention':
        case 'long_retention':
          i[k] = str(ctx, v, `influx.${k}`, DURATION, 'an InfluxQL duration such as 30d, 52w or INF');
          break;
        case 'setup':
          i.setup = bool(ctx, v, 'influx.setup');
          break;
        case 'batch_points':
          i.batch_points = int(ctx, v, 'influx.batch_points', 1, 100000);
          break;
        case 'flush_ms':
          i.flush_ms = int(ctx, v, 'influx.flush_ms', 10, 600000);
          break;
        case 'close_timeout_ms':
          i.close_timeout_ms = int(ctx, v, 'influx.close_timeout_ms', 0, 3600000);
          break;
        case 'spool_dir':
          i.spool_dir = pathOf(ctx, v, 'influx.spool_dir', base);
          break;
        case 'spool_max_bytes':
          i.spool_max_bytes = bytesValue(ctx, v, 'influx.spool_max_bytes');
          break;
        default:
          unknownKey(ctx, kn, 'influx', k, known);
      }
    }
  },
  archive(ctx, node, cfg) {
    const known = ['enabled', 'metadata', 'retention_days'];
    for (const [k, kn, v] of mapEntries(ctx, node, 'archive')) {
      if (k === 'enabled') cfg.archive.enabled = bool(ctx, v, 'archive.enabled');
      else if (k === 'metadata') cfg.archive.metadata = bool(ctx, v, 'archive.metadata');
      else if (k === 'retention_days') cfg.archive.retention_days = int(ctx, v, 'archive.retention_days', 0, 100000);
      else unknownKey(ctx, kn, 'archive', k, known);
    }
  },
};

/** Parses and validates YAML text; `file` is used in messages and to resolve relative paths. */
export function parseConfig(text: string, file: string): Config {
  const YAML = require('yaml');
  const lines = new YAML.LineCounter();
  const doc = YAML.parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true, logLevel: 'error' }); // warnings (a collection as a key) are no stderr lines of ours
  const ctx: Ctx = { file, lines };
  if (doc.errors.length) {
    const e = doc.errors[0];
    const line = e.linePos?.[0]?.line ?? (typeof e.pos?.[0] === 'number' ? lines.linePos(e.pos[0]).line : undefined);
    throw new ConfigError(`${file}${line ? `:${line}` : ''}: not valid YAML: ${String(e.message).split('\n')[0]}`);
  }
  const cfg = defaults();
  cfg.file = file;
  const base = path.dirname(path.resolve(file));
  // relative default paths are relative to the config file's directory
  cfg.influx.spool_dir = path.resolve(base, cfg.influx.spool_dir);
  if (doc.contents == null) return cfg;
  for (const [k, kn, v] of mapEntries(ctx, doc.contents, 'the configuration')) {
    // own keys only: 'toString:' or '__proto__:' is an unknown section, not Object.prototype's function
    const validate = Object.hasOwn(SECTIONS, k) ? SECTIONS[k] : undefined;
    if (validate) validate(ctx, v, cfg, base);
    else if (RAW_SECTIONS.has(k)) cfg.extra[k] = rawSection(ctx, doc, k, v);
    else if (Object.hasOwn(ELSEWHERE, k)) fail(ctx, kn, `section '${k}' does not belong in the configuration: ${ELSEWHERE[k]}`);
    else fail(ctx, kn, `unknown section '${k}'; known sections: ${[...Object.keys(SECTIONS), ...RAW_SECTIONS].join(', ')}`);
  }
  return cfg;
}

/** A section its own module checks, as plain values: aliases resolved (at most 100: an alias bomb is an
 * error, not gigabytes), a %YAML 1.1 merge of something that is no mapping a ConfigError (was a plain Error, exit 1). */
function rawSection(ctx: Ctx, doc: Node, k: string, v: Node): unknown {
  if (!v?.toJS) return v;
  try {
    return v.toJS(doc, { maxAliasCount: 100 });
  } catch (e) {
    fail(ctx, v, `${k}: ${String((e as Error).message).split('\n')[0]}`);
  }
}

/** Finds and loads the configuration (see the top of this file). */
export function loadConfig(opts: { file?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Config {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  let file = opts.file ?? (env.SHADOWIM_CONFIG || undefined);
  const explicit = file !== undefined;
  if (!file) {
    const local = path.join(cwd, 'shadowim.yaml');
    if (fs.existsSync(local)) file = local;
  }
  if (!file) {
    const cfg = defaults();
    cfg.influx.spool_dir = path.resolve(cwd, cfg.influx.spool_dir);
    return cfg;
  }
  let text: string;
  try {
    text = fs.readFileSync(path.resolve(cwd, file), 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read config ${file}${explicit ? '' : ' (./shadowim.yaml)'}: ${whyCannotRead(e)}`);
  }
  return parseConfig(text, file);
}

let cached: Config | undefined;
/** The process-wide configuration (loaded once); the global --config reaches it as $SHADOWIM_CONFIG (cli/main.ts). */
export function getConfig(): Config {
  return (cached ??= loadConfig());
}
/** A value of the configuration by dotted key ('sensor.interface', 'policy'); undefined when not set. */
export function configValue(cfg: Config, key: string): unknown {
  let v: unknown = cfg;
  for (const part of key.split('.')) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[part] : undefined;
  return v;
}

export function setConfig(cfg: Config): void {
  cached = cached === cfg ? cached : cfg;
}

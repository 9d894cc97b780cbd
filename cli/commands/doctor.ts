// `shadowim doctor`: checks an installation and its configuration, one line per check (ok, warn,
// FAIL, or skip for a network probe left out by --offline), each line not ok with what to do.
// Read-only: nothing is created or written (a store is opened read-only, and only when it exists),
// no packet is sent, no alert is delivered; the only network traffic is a TCP connect (InfluxDB: GET
// /ping and SHOW DATABASES) to services the configuration names, with a short timeout.
// Each check reuses the loader the product itself uses, so doctor reports what the product would.
import { count } from '../../common/count';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Command } from '../main';
import { parseOrHelp, UsageError, type OptionSpec } from '../args';
import { whyCannotRead, whyCannotWrite } from '../../common/fsError';
import type { Config } from '../../common/config';

const PROBE_TIMEOUT_MS = 2000;
const DISK_WARN_BYTES = 1024 ** 3;
const DISK_WARN_FRACTION = 0.05;
const CERT_WARN_DAYS = 30;
const CAP_NET_RAW = 13; // bit of CapEff (linux/capability.h)
const DEFAULT_STORE = 'shadowim.db'; // what serve and user use without --store or store.path

export type Status = 'ok' | 'warn' | 'FAIL' | 'skip';
export interface Result {
  check: string;
  status: Status;
  detail: string;
  fix?: string;
}
type Partial = Omit<Result, 'check'> & { check?: string };

interface Ctx {
  opts: Record<string, unknown>;
  offline: boolean;
  cfg: Config;
  configOk: boolean;
  configError?: string;
  storePath: string;
  /** options that took their value from the configuration (option → config key) */
  fromConfig?: Record<string, string>;
}

const ok = (detail: string): Partial => ({ status: 'ok', detail });
const warn = (detail: string, fix: string): Partial => ({ status: 'warn', detail, fix });
const fail = (detail: string, fix: string): Partial => ({ status: 'FAIL', detail, fix });
const skip = (detail: string): Partial => ({ status: 'skip', detail });
const firstLine = (e: unknown) => String((e as Error)?.message ?? e).split('\n')[0];
const errCode = (e: unknown) => (e as NodeJS.ErrnoException)?.code ?? firstLine(e);
const baseDir = (c: Ctx) => (c.cfg.file ? path.dirname(path.resolve(c.cfg.file)) : process.cwd());

// ---- the checks, in the order they are printed ----

const CHECKS: Array<{ name: string; run: (c: Ctx) => Promise<Partial | Partial[]> }> = [
  { name: 'config', run: checkConfig },
  { name: 'policy', run: checkPolicy },
  { name: 'signatures', run: checkSignatures },
  { name: 'store', run: checkStore },
  { name: 'disk', run: checkDisk },
  { name: 'capture', run: checkCapture },
  { name: 'privileges', run: checkPrivileges },
  { name: 'interface', run: checkInterface },
  { name: 'influx', run: checkInflux },
  { name: 'sinks', run: checkSinks },
  { name: 'files', run: checkFiles },
  { name: 'dashboard users', run: checkUsers },
  { name: 'dashboard tls', run: checkTls },
  { name: 'links', run: checkLinks },
];

async function checkConfig(c: Ctx): Promise<Partial[]> {
  const cliGiven = process.argv.some((a) => a === '--config' || a.startsWith('--config='));
  const env = process.env.SHADOWIM_CONFIG;
  const where = env ? `${env} (${cliGiven ? '--config' : '$SHADOWIM_CONFIG'})` : c.cfg.file ? `${c.cfg.file} (./shadowim.yaml)` : '';
  if (c.configError) return [fail(c.configError, 'fix the line named (sections: docs/storage.md#configuration-commonconfigts); the checks below use the built-in defaults')];
  if (!c.cfg.file) return [ok('no file (no --config, $SHADOWIM_CONFIG or ./shadowim.yaml): built-in defaults')];
  const cfg = c.cfg;
  // the sections the file has (cfg has them all, filled in with the defaults)
  const raw = readRaw(c.cfg.file);
  const sections = raw ? Object.keys(raw) : undefined;
  const listed = !sections ? '' : sections.length ? `; sections: ${sections.join(', ')}` : '; no section: the built-in defaults';
  const out: Partial[] = [ok(`${where} parses${listed}`)];
  // what the file sets for the commands (each option given on the command line wins over it)
  const sets: string[] = [];
  for (const key of raw ? keysIn(raw) : []) {
    const o = OPTION_DEFAULTS[key];
    if (o) sets.push(`${key} → ${o.commands.map((cmd) => `${cmd} --${o.option}`).join(', ')}`);
    else if (key === 'signatures.dir') sets.push(`signatures.dir → the signature override folder${process.env.SHADOWIM_SIGNATURES_DIR ? ' (but $SHADOWIM_SIGNATURES_DIR is set and wins)' : ''}`);
    else if (READ_DIRECTLY[key]) sets.push(`${key} → ${READ_DIRECTLY[key]}`);
  }
  if (sets.length) out.push(ok(`sets the defaults (the command line wins): ${sets.join('; ')}`));
  return out;
}

/**
 * Configuration keys that are the defaults of command-line options (OptionSpec.config of each
 * command's specs): key → the option and the commands that take it. test/cli/doctor.test.ts holds
 * this against every command's --help both ways: no option named here is missing, none is left out.
 */
const OPTION_DEFAULTS: Record<string, { option: string; commands: string[] }> = {
  policy: { option: 'policy', commands: ['analyze', 'sensor', 'serve', 'rules', 'doctor'] },
  'sensor.interface': { option: 'interface', commands: ['sensor', 'doctor'] },
  'sensor.filter': { option: 'filter', commands: ['sensor'] },
  'sensor.snaplen': { option: 'snaplen', commands: ['sensor'] },
  'sensor.buffer_size': { option: 'buffer-size', commands: ['sensor'] },
  'sensor.queue_size': { option: 'queue-size', commands: ['sensor'] },
  'sensor.max_flows': { option: 'max-flows', commands: ['sensor'] },
  'sensor.evidence_dir': { option: 'evidence-dir', commands: ['sensor'] },
  'sensor.stats': { option: 'stats', commands: ['sensor'] },
  'sensor.stats_interval': { option: 'stats-interval', commands: ['sensor'] },
  'dashboard.port': { option: 'port', commands: ['serve'] },
  'dashboard.host': { option: 'host', commands: ['serve'] },
  'dashboard.tls_cert': { option: 'tls-cert', commands: ['serve', 'doctor'] },
  'dashboard.tls_key': { option: 'tls-key', commands: ['serve', 'doctor'] },
  'dashboard.trust_proxy': { option: 'trust-proxy', commands: ['serve'] },
  'report.tz': { option: 'tz', commands: ['report'] },
};

/** keys a command reads itself, with no option to give them on the command line */
const READ_DIRECTLY: Record<string, string> = {
  'dashboard.login_notice': 'serve shows it above the login form (no command-line option)',
};

/** the dotted keys the file sets, in its order: policy (also as policy.file), sensor (a bare name: sensor.name), dashboard.port, … */
function keysIn(raw: Record<string, unknown>): string[] {
  return Object.entries(raw).flatMap(([section, v]) => {
    if (!v || typeof v !== 'object' || Array.isArray(v)) return [section === 'sensor' ? 'sensor.name' : section];
    return Object.keys(v).map((k) => (section === 'policy' && k === 'file' ? 'policy' : `${section}.${k}`));
  });
}

/** why `file` cannot be read ('no such file', 'permission denied', 'is a directory'), or undefined */
function cannotRead(file: string): string | undefined {
  try {
    if (fs.statSync(file).isDirectory()) return 'is a directory';
    fs.closeSync(fs.openSync(file, 'r'));
    return undefined;
  } catch (e) {
    return whyCannotRead(e);
  }
}

/** the file's top level as YAML reads it (it has parsed once already), or undefined when it cannot be read again */
function readRaw(file: string): Record<string, unknown> | undefined {
  try {
    const v = (require('yaml') as typeof import('yaml')).parse(fs.readFileSync(path.resolve(file), 'utf8'), { logLevel: 'error' });
    return v && typeof v === 'object' && !Array.isArray(v) ? v : {};
  } catch {
    return undefined;
  }
}

function policyFile(c: Ctx): { file?: string; from: string } {
  if (!c.opts.policy) return { from: '' };
  return { file: String(c.opts.policy), from: c.fromConfig?.policy ? 'config policy' : '--policy' };
}

async function checkPolicy(c: Ctx): Promise<Partial[]> {
  const { file, from } = policyFile(c);
  if (!file) return [ok("none given (--policy FILE): the default policy, every public IM unauthorized ('shadowim policy default')")];
  // a file that cannot be read has no line to fix: say why, and where its name came from
  const why = cannotRead(file);
  if (why) {
    const example = path.resolve(__dirname, '../../analyzer/policy.example.yaml');
    const start = fs.existsSync(example) ? `, or start one from ${example}` : '';
    const where = c.fromConfig?.policy ? `set policy: in ${c.cfg.file} to an existing file (a relative path is from that file's folder)` : `give --policy an existing policy file (a relative path is from ${process.cwd()})`;
    const fix = why === 'no such file' ? `${where}${start}` : why === 'permission denied' ? `give the user running shadowim read access to ${file}` : why === 'is a directory' ? `name the policy file in that directory, not the directory` : `check ${file}`;
    return [fail(`${file} (${from}): cannot read the policy file: ${why}`, fix)];
  }
  const { loadPolicyFile } = require('../../analyzer/policy') as typeof import('../../analyzer/policy');
  let p;
  try {
    p = loadPolicyFile(file);
  } catch (e) {
    return [fail(firstLine(e), `fix ${file} at the line named; 'shadowim policy check ${file}' explains the result`)];
  }
  const out: Partial[] = [ok(`${file} (${from}): ${count(p.groups.length, 'group')}, ${count(p.people.size ?? 0, 'person', 'people')} mapped, ${count(p.sanctionedHosts.length + p.sanctionedNets.length, 'sanctioned server')}`)];
  // a sink routed by a group the policy lacks receives nothing (the same warning analyze gives)
  try {
    const { parseSinks, groupsMissing } = require('../../outputs/sinks/config') as typeof import('../../outputs/sinks/config');
    for (const { sink, missing } of groupsMissing(parseSinks(c.cfg.extra.sinks, c.cfg.file).sinks, p.groups.map((g) => g.name))) {
      out.push(warn(`sink ${sink} takes ${missing.length === 1 ? 'group' : 'groups'} ${missing.join(', ')}, not in ${file}: it receives no alert for them`, `add the group to the policy or fix the sink's groups:`));
    }
  } catch {
    /* reported by the sinks check */
  }
  return out;
}

async function checkSignatures(c: Ctx): Promise<Partial[]> {
  const { overrideDirSource } = require('../../signatures/registry') as typeof import('../../signatures/registry');
  const src = overrideDirSource(); // $SHADOWIM_SIGNATURES_DIR, else signatures.dir of c.cfg (set by the command)
  const dir = src?.dir;
  const { summarize } = require('./signatures') as typeof import('./signatures');
  let s;
  try {
    s = summarize();
  } catch (e) {
    return [fail(firstLine(e), dir ? `fix or remove the override file named in ${dir} ('shadowim signatures list --dir ${dir}' reads the same)` : 'the built-in signatures/*/data.yaml are damaged: reinstall shadowim')];
  }
  const overrides = dir ? s.modules.filter((m) => m.sources.length > 1).length : 0;
  const out: Partial[] = [ok(`${count(s.modules.length, 'module')}, ${count(s.modules.reduce((n, m) => n + m.hosts, 0), 'host name')}${dir ? `; overrides from ${dir} (${src!.from}): ${count(overrides, 'module')}` : '; no override folder ($SHADOWIM_SIGNATURES_DIR or signatures.dir)'}`)];
  for (const f of s.ignored) out.push(warn(`${f} matches no module and is ignored`, "rename it <module-id>.yaml ('shadowim signatures list' shows the ids) or remove it"));
  for (const w of s.warnings) out.push(warn(w.split(';')[0], w.split(';').slice(1).join(';').trim() || 'see docs/modern.md'));
  return out;
}

/**
 * The store for reading only, or undefined when it does not exist. SQLite's readonly flag would leave
 * empty -wal/-shm files behind on a store in WAL mode that was closed cleanly, so the file is opened as
 * any reader is, with query_only set (no statement can write): the last connection to close removes the
 * -wal/-shm as it found them. But a -wal already there (a writer running, or killed) would be
 * checkpointed into the store by that last close: then, as without write access to the directory,
 * the readonly flag.
 */
function openReadOnly(file: string): import('better-sqlite3').Database | undefined {
  if (!fs.existsSync(file)) return undefined;
  const Sqlite = require('better-sqlite3') as typeof import('better-sqlite3');
  let db;
  try {
    if (fs.existsSync(`${file}-wal`)) throw new Error('a write-ahead log is there');
    db = new Sqlite(file, { fileMustExist: true, timeout: 2000 });
  } catch {
    db = new Sqlite(file, { readonly: true, fileMustExist: true, timeout: 2000 });
  }
  db.pragma('query_only = ON');
  return db;
}

/** why `dir` cannot take new files, or undefined when it can */
function notWritable(dir: string): string | undefined {
  try {
    if (!fs.statSync(dir).isDirectory()) return `${dir} is not a directory`;
    fs.accessSync(dir, fs.constants.W_OK | fs.constants.X_OK);
    return undefined;
  } catch (e) {
    // ENOTDIR: a part of the path is a file, so the directory does not exist either
    return errCode(e) === 'ENOENT' || errCode(e) === 'ENOTDIR' ? `directory ${dir} does not exist` : `directory ${dir} is not writable: ${whyCannotWrite(e, dir)}`;
  }
}

async function checkStore(c: Ctx): Promise<Partial> {
  const file = path.resolve(c.storePath);
  const from = c.opts.store ? '--store' : c.cfg.store.path ? 'config store.path' : 'default of serve/user';
  const dir = path.dirname(file);
  if (!fs.existsSync(file)) {
    const why = notWritable(dir);
    if (why) return fail(`${file} (${from}) cannot be created: ${why}`, `create it for the user the sensor runs as: mkdir -p ${dir} (or set store.path to a writable place)`);
    return ok(`${file} (${from}) does not exist yet; ${dir} is writable, the first 'analyze --store' or 'sensor --store' creates it`);
  }
  const { SCHEMA_VERSION } = require('../../storage/schema') as typeof import('../../storage/schema');
  let db;
  try {
    db = openReadOnly(file)!;
    const v = db.pragma('user_version', { simple: true }) as number;
    const tables = (db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'").get() as { n: number }).n;
    if (v > SCHEMA_VERSION) return fail(`${file}: schema ${v}, newer than this shadowim (${SCHEMA_VERSION})`, 'upgrade shadowim to the version that wrote the store');
    if (v === 0 && tables > 0 && !db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'sessions'").get()) return fail(`${file} is an SQLite file but not a shadowim store (no sessions table)`, 'point --store / store.path at the shadowim store, or move this file away');
    const w = notWritable(dir) ?? (fs.accessSync(file, fs.constants.W_OK), undefined);
    if (w) return warn(`${file} opens read-only (schema ${v}), but ${w}`, `the sensor must write it: chown the store and ${dir} to the user the sensor runs as`);
    if (v < SCHEMA_VERSION) return warn(`${file}: schema ${v} of ${SCHEMA_VERSION}; it is migrated when next opened for writing`, `run 'shadowim analyze' or 'shadowim sensor' with --store ${c.storePath} once (keep a copy first)`);
    return ok(`${file} (${from}) opens read-only, schema ${v} (current)`);
  } catch (e) {
    const msg = firstLine(e);
    if (/not a database|encrypted/i.test(msg)) return fail(`${file} is not an SQLite database`, 'point --store / store.path at the shadowim store, or move this file away');
    return fail(`${file} cannot be read: ${msg}`, `give the user running shadowim read access to ${file} and ${dir}`);
  } finally {
    db?.close();
  }
}

async function checkDisk(c: Ctx): Promise<Partial> {
  // the store's filesystem: its directory, else the nearest parent that exists
  let dir = path.dirname(path.resolve(c.storePath));
  while (!fs.existsSync(dir) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  const s = fs.statfsSync(dir);
  const free = s.bavail * s.bsize;
  const frac = s.blocks ? s.bavail / s.blocks : 1;
  const text = `${(free / 1024 ** 3).toFixed(1)} GiB free (${(frac * 100).toFixed(0)} %) on the store's filesystem (${dir})`;
  if (free < DISK_WARN_BYTES || frac < DISK_WARN_FRACTION) return warn(text, `free space, or shorten store.retention_days / archive.retention_days (docs/storage.md)`);
  return ok(text);
}

/** the interfaces libpcap lists, or the one-line reason the 'cap' module does not load */
function capDevices(): string[] | string {
  const live = require('../../sensor/live') as typeof import('../../sensor/live');
  try {
    return live.loadCap().Cap.deviceList().map((d) => d.name);
  } catch (e) {
    return firstLine(e);
  }
}

async function checkCapture(): Promise<Partial> {
  const devs = capDevices();
  if (typeof devs === 'string') return warn(`the 'cap' module does not load: live capture is unavailable (analyze, serve and the rest work)`, "apt-get install libpcap-dev, then 'npm rebuild cap' (docs/live.md#requirements)");
  return ok(`the 'cap' module loads; libpcap sees ${count(devs.length, 'interface')}: ${devs.join(', ')}`);
}

/** CapEff of this process (hex bit mask), or undefined off Linux */
function capEff(): bigint | undefined {
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/im.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    return m ? BigInt('0x' + m[1]) : undefined;
  } catch {
    return undefined;
  }
}

async function checkPrivileges(): Promise<Partial> {
  const uid = process.getuid?.();
  const eff = capEff();
  const raw = eff !== undefined && (eff >> BigInt(CAP_NET_RAW)) & 1n;
  if (uid === 0 && raw) return ok('running as root: may capture');
  if (raw) return ok(`uid ${uid} holds CAP_NET_RAW: may capture`);
  return warn(`uid ${uid} without CAP_NET_RAW: 'shadowim sensor' cannot capture as this user`, 'run the sensor as root, or as the unit deploy/systemd/shadowim-sensor.service does (AmbientCapabilities=CAP_NET_RAW); docs/live.md#permissions');
}

async function checkInterface(c: Ctx): Promise<Partial[]> {
  const given = c.opts.interface as string | undefined; // --interface, else sensor.interface
  if (!given) return [ok('none named (--interface IF, or sensor.interface in the config): not checked')];
  const { deviceList } = require('../../sensor/live') as typeof import('../../sensor/live');
  let names: string[];
  try {
    names = deviceList(given);
  } catch (e) {
    return [fail(firstLine(e), `fix the ${c.fromConfig?.interface ? 'sensor.interface value in the config' : '--interface value'}`)];
  }
  const devs = capDevices();
  const seen = typeof devs === 'string' ? undefined : new Set(devs);
  return names.map((n): Partial => {
    const check = `interface ${n}`;
    if (n === 'any') return { check, ...ok("'any': every interface of the host") };
    let flags: number;
    try {
      flags = Number(fs.readFileSync(`/sys/class/net/${n}/flags`, 'utf8').trim());
    } catch {
      return { check, ...fail(`${n} does not exist on this host`, `name one of the host's interfaces (ip -br link)${seen ? `: ${[...seen].filter((d) => d !== 'any').join(', ')}` : ''}`) };
    }
    if (!(flags & 1)) return { check, ...fail(`${n} is down`, `bring it up: ip link set ${n} up (a span port needs no address)`) };
    let oper = '';
    try {
      oper = fs.readFileSync(`/sys/class/net/${n}/operstate`, 'utf8').trim();
    } catch {
      /* not every kernel has it */
    }
    if (oper === 'down' || oper === 'lowerlayerdown') return { check, ...warn(`${n} is up but has no link (operstate ${oper})`, `check the cable or the span/tap port feeding ${n}`) };
    if (seen && !seen.has(n)) return { check, ...warn(`${n} is up but libpcap does not list it`, 'run doctor as the user the sensor runs as (root or CAP_NET_RAW)') };
    return { check, ...ok(`${n} exists and is up${oper ? ` (operstate ${oper})` : ''}`) };
  });
}

async function checkInflux(c: Ctx): Promise<Partial[]> {
  const i = c.cfg.influx;
  if (!i.url) return [ok('not configured (influx.url): InfluxDB output off')];
  if (c.offline) return [skip(`${i.url}: not probed (--offline)`)];
  try {
    const r = await fetch(`${i.url}/ping`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    if (r.status !== 204 && r.status !== 200) return [fail(`${i.url}/ping answered HTTP ${r.status}: not an InfluxDB 1.x`, 'point influx.url at the InfluxDB HTTP API (e.g. http://127.0.0.1:8086)')];
    const version = r.headers.get('x-influxdb-version') ?? '?';
    const q = new URLSearchParams({ q: 'SHOW DATABASES' });
    if (i.username) q.set('u', i.username);
    if (i.password) q.set('p', i.password);
    const d = await fetch(`${i.url}/query?${q}`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    if (d.status === 401 || d.status === 403) return [fail(`${i.url}: InfluxDB ${version} refuses the credentials (HTTP ${d.status})`, 'fix influx.username / influx.password')];
    const body = (await d.json()) as any;
    const names: string[] = (body?.results?.[0]?.series?.[0]?.values ?? []).map((v: unknown[]) => String(v[0]));
    if (!names.includes(i.database)) {
      if (i.setup) return [ok(`${i.url}: InfluxDB ${version} answers; database '${i.database}' does not exist yet, the first run creates it (influx.setup)`)];
      return [fail(`${i.url}: InfluxDB ${version} has no database '${i.database}' and influx.setup is false`, `create it (CREATE DATABASE ${i.database}) or set influx.setup: true`)];
    }
    return [ok(`${i.url}: InfluxDB ${version} answers; database '${i.database}' exists`)];
  } catch (e) {
    const why = (e as Error).name === 'TimeoutError' ? `no answer in ${PROBE_TIMEOUT_MS} ms` : firstLine((e as any).cause ?? e);
    return [fail(`${i.url} unreachable (${why})`, 'start influxd or fix influx.url; meanwhile points wait in the spool (influx.spool_dir)')];
  }
}

/** a TCP connect to host:port: undefined when it connects, else why not */
function tcpProbe(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const done = (why?: string) => {
      s.destroy();
      resolve(why);
    };
    s.setTimeout(PROBE_TIMEOUT_MS, () => done(`no answer in ${PROBE_TIMEOUT_MS} ms`));
    s.once('connect', () => done());
    s.once('error', (e) => done(errCode(e)));
  });
}

async function checkSinks(c: Ctx): Promise<Partial[]> {
  const sinksMod = require('../../outputs/sinks/config') as typeof import('../../outputs/sinks/config');
  let cfg;
  try {
    cfg = sinksMod.parseSinks(c.cfg.extra.sinks, c.cfg.file);
  } catch (e) {
    return [fail(firstLine(e), 'fix the sinks: section (docs/integrations.md)')];
  }
  if (!cfg.sinks.length) return [ok('no sinks configured: alerts go to stdout and the store only')];
  const out: Partial[] = [ok(`${count(cfg.sinks.length, 'sink')}: ${cfg.sinks.map((s) => `${s.name} (${s.type}${s.transport ? `/${s.transport}` : ''})`).join(', ')}`)];
  const { outboxPath } = require('../../outputs/sinks') as typeof import('../../outputs/sinks');
  const file = path.resolve(outboxPath({ ...cfg, storePath: c.cfg.store.path }, c.opts.store as string | undefined));
  let db;
  try {
    db = openReadOnly(file);
    if (!db) {
      const why = notWritable(path.dirname(file));
      out.push(why ? { check: 'outbox', ...fail(`${file} cannot be created: ${why}`, `create ${path.dirname(file)} writable by the sensor, or set sinks.delivery.outbox`) } : { check: 'outbox', ...ok(`${file} does not exist yet; created with the first alert`) });
    } else {
      const has = db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'alert_outbox'").get();
      const { outboxSummary } = require('../../outputs/sinks/outbox') as typeof import('../../outputs/sinks/outbox');
      const rows = has ? outboxSummary(db) : [];
      const n = (state: string) => rows.filter((r) => r.state === state).reduce((t, r) => t + r.count, 0);
      const text = `${file}: ${n('pending')} pending, ${n('delivered')} delivered, ${n('dead')} dead-lettered`;
      out.push({ check: 'outbox', ...(n('dead') ? warn(text, "see why with 'shadowim alerts outbox --state dead', fix the sink, then 'shadowim alerts retry'") : ok(text)) });
    }
  } catch (e) {
    out.push({ check: 'outbox', ...fail(`${file} cannot be read: ${firstLine(e)}`, `give the user running shadowim access to ${file}, or set sinks.delivery.outbox`) });
  } finally {
    db?.close();
  }
  const probes = cfg.sinks.map(async (s): Promise<Partial> => {
    const check = `sink ${s.name}`;
    let host: string, port: number;
    if (s.url) {
      const u = new URL(s.url);
      host = u.hostname.replace(/^\[|\]$/g, '');
      port = Number(u.port) || (u.protocol === 'https:' ? 443 : 80);
    } else {
      host = s.host!;
      port = s.port!;
    }
    if (s.transport === 'udp') return { check, ...ok(`${host}:${port} over UDP: cannot be probed without sending ('shadowim alerts test-sink ${s.name}' sends a test alert)`) };
    if (c.offline) return { check, ...skip(`${host}:${port}: not probed (--offline)`) };
    const why = await tcpProbe(host, port);
    if (why) return { check, ...warn(`${host}:${port} unreachable (${why}); alerts wait in the outbox`, `start the receiver or fix the sink's address/firewall, then 'shadowim alerts test-sink ${s.name}'`) };
    return { check, ...ok(`${host}:${port} accepts TCP connections ('shadowim alerts test-sink ${s.name}' sends a test alert)`) };
  });
  return [...out, ...(await Promise.all(probes))];
}

function onPath(cmd: string): string | undefined {
  if (cmd.includes('/')) return fs.existsSync(cmd) ? cmd : undefined;
  for (const d of (process.env.PATH ?? '').split(':')) {
    const f = path.join(d || '.', cmd);
    try {
      fs.accessSync(f, fs.constants.X_OK);
      return f;
    } catch {
      /* next */
    }
  }
  return undefined;
}

/** clamd's answer to PING (zPING), or why there is none */
function clamdPing(t: { path?: string; host?: string; port?: number }): Promise<string | undefined> {
  return new Promise((resolve) => {
    const s = t.path ? net.connect({ path: t.path }) : net.connect({ host: t.host!, port: t.port! });
    let got = '';
    const done = (why?: string) => {
      s.destroy();
      resolve(why);
    };
    s.setTimeout(PROBE_TIMEOUT_MS, () => done(`no answer in ${PROBE_TIMEOUT_MS} ms`));
    s.once('connect', () => s.write('zPING\0'));
    s.on('data', (d) => {
      got += d.toString('latin1');
      if (got.includes('\0') || got.length > 64) done(/^PONG/.test(got) ? undefined : `answered '${got.replace(/\0/g, '').slice(0, 40)}', not PONG`);
    });
    s.once('end', () => done(/^PONG/.test(got) ? undefined : 'closed without PONG'));
    s.once('error', (e) => done(errCode(e)));
  });
}

async function checkFiles(c: Ctx): Promise<Partial[]> {
  const files = require('../../analyzer/files/config') as typeof import('../../analyzer/files/config');
  let f;
  try {
    f = files.parseFilesConfig(c.cfg.extra.files, baseDir(c), c.cfg.file ?? 'config');
  } catch (e) {
    return [{ check: 'files', ...fail(firstLine(e), 'fix the files: section (docs/files.md)') }];
  }
  const out: Partial[] = [];
  const qdir = (c.opts.quarantine as string | undefined) ?? f.quarantine?.dir;
  if (!qdir) out.push({ check: 'quarantine', ...ok('off (files.quarantine): carved files are examined, not kept') });
  else if (fs.existsSync(qdir)) {
    const why = notWritable(qdir);
    out.push({ check: 'quarantine', ...(why ? fail(why, `chown ${qdir} to the user the sensor runs as (mode 0700)`) : ok(`${qdir} is writable`)) });
  } else {
    let parent = path.dirname(path.resolve(qdir));
    while (!fs.existsSync(parent) && path.dirname(parent) !== parent) parent = path.dirname(parent);
    const why = notWritable(parent);
    out.push({ check: 'quarantine', ...(why ? fail(`${qdir} does not exist and cannot be created: ${why}`, `mkdir -p -m 0700 ${qdir} for the user the sensor runs as`) : ok(`${qdir} does not exist yet; created (0700) when the first file is kept`)) });
  }
  const cl = f.clamav;
  // what analyzer/files/service.ts does without ClamAV: the hash lists are then the only scanner
  if (!cl && f.hashLists.length) out.push({ check: 'clamav', ...ok('not configured (files.clamav): carved files are checked against the hash lists and the policy\'s file rules, not scanned for malware') });
  else if (!cl) out.push({ check: 'clamav', ...ok('not configured (files.clamav), nor any hash list (files.hash_lists): carved files are typed, hashed and held to the policy\'s file rules but not scanned (verdict unscanned:no-scanner)') });
  else if (cl.clamd) {
    const t = cl.clamd;
    const where = t.path ?? `${t.host}:${t.port}`;
    if (!t.path && c.offline) out.push({ check: 'clamav', ...skip(`clamd at ${where}: not probed (--offline)`) });
    else {
      const why = await clamdPing(t);
      out.push({ check: 'clamav', ...(why ? fail(`clamd at ${where}: ${why}`, `start clamd (systemctl start clamav-daemon) or fix files.clamav.clamd`) : ok(`clamd at ${where} answers PONG`)) });
    }
  } else {
    const cmd = cl.command ?? 'clamscan';
    const found = onPath(cmd);
    if (!found) out.push({ check: 'clamav', ...fail(`${cmd} not found on PATH`, 'apt-get install clamav (clamscan) or clamav-daemon (clamdscan), or fix files.clamav.command') });
    else if (cl.database && notWritable(cl.database)?.includes('does not exist')) out.push({ check: 'clamav', ...fail(`${found}; database ${cl.database} does not exist`, 'run freshclam, or point files.clamav.database at a signature directory') });
    else out.push({ check: 'clamav', ...ok(`${found}${cl.database ? ` with database ${cl.database}` : ''}`) });
  }
  if (!f.hashLists.length) out.push({ check: 'hash lists', ...ok('none configured (files.hash_lists)') });
  else {
    const { HashList } = require('../../analyzer/files/hashlist') as typeof import('../../analyzer/files/hashlist');
    try {
      const h = HashList.load(f.hashLists);
      out.push({ check: 'hash lists', ...ok(`${count(f.hashLists.length, 'file')}, ${count(h.size, 'hash', 'hashes')}`) });
    } catch (e) {
      out.push({ check: 'hash lists', ...fail(firstLine(e), 'fix the file or files.hash_lists') });
    }
  }
  return out;
}

async function checkUsers(c: Ctx): Promise<Partial> {
  const add = `shadowim user add NAME --role admin --store ${c.storePath}`;
  let db;
  try {
    db = openReadOnly(path.resolve(c.storePath));
    if (!db) return warn(`no store at ${c.storePath} yet, so no dashboard user`, add);
    const has = db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'dash_users'").get();
    const rows = has ? (db.prepare('SELECT role, count(*) AS n FROM dash_users GROUP BY role').all() as { role: string; n: number }[]) : [];
    const total = rows.reduce((t, r) => t + r.n, 0);
    if (!total) return warn(`${c.storePath} has no dashboard user: nobody can log in`, add);
    const admins = rows.find((r) => r.role === 'admin')?.n ?? 0;
    const text = `${count(total, 'user')} (${rows.map((r) => `${r.n} ${r.role}`).join(', ')})`;
    return admins ? ok(text) : warn(`${text}, no admin`, `shadowim user role NAME admin --store ${c.storePath}`);
  } catch (e) {
    return fail(`cannot read users from ${c.storePath}: ${firstLine(e)}`, 'see the store line above');
  } finally {
    db?.close();
  }
}

async function checkTls(c: Ctx): Promise<Partial> {
  // --tls-cert/--tls-key, else dashboard.tls_cert/tls_key
  const certFile = c.opts['tls-cert'] as string | undefined;
  const keyFile = c.opts['tls-key'] as string | undefined;
  if (!certFile && !keyFile) return ok('no certificate given (serve --tls-cert/--tls-key): plain HTTP, fine on 127.0.0.1 or behind a TLS proxy');
  if (!certFile || !keyFile) return fail(`only the ${certFile ? 'certificate' : 'key'} is given`, 'give both --tls-cert FILE and --tls-key FILE (PEM)');
  const crypto = require('node:crypto') as typeof import('node:crypto');
  const read = (f: string) => {
    try {
      return fs.readFileSync(f);
    } catch (e) {
      return whyCannotRead(e);
    }
  };
  const certPem = read(certFile), keyPem = read(keyFile);
  if (typeof certPem === 'string') return fail(`cannot read the certificate ${certFile}: ${certPem}`, 'fix the path or its permissions for the user running serve');
  if (typeof keyPem === 'string') return fail(`cannot read the key ${keyFile}: ${keyPem}`, 'fix the path or its permissions for the user running serve');
  let cert, key;
  try {
    cert = new crypto.X509Certificate(certPem);
  } catch (e) {
    return fail(`${certFile} is not a PEM certificate (${firstLine(e)})`, 'give the certificate in PEM (-----BEGIN CERTIFICATE-----)');
  }
  try {
    key = crypto.createPrivateKey(keyPem);
  } catch (e) {
    return fail(`${keyFile} is not a PEM private key (${firstLine(e)})`, 'give the unencrypted private key in PEM');
  }
  if (!cert.checkPrivateKey(key)) return fail(`${keyFile} is not the key of ${certFile}`, 'give the private key the certificate was issued for');
  const now = Date.now();
  const to = Date.parse(cert.validTo), from = Date.parse(cert.validFrom);
  const subject = cert.subject.replace(/\n/g, ', ');
  const renew = `renew ${certFile} and restart 'shadowim serve' (it does not renew certificates itself)`;
  if (to <= now) return fail(`${certFile} (${subject}) expired on ${new Date(to).toISOString().slice(0, 10)}`, renew);
  if (from > now) return fail(`${certFile} is not valid before ${new Date(from).toISOString().slice(0, 10)}`, 'check the clock of this host, or use a certificate valid now');
  const days = Math.floor((to - now) / 86400_000);
  const mode = fs.statSync(keyFile).mode;
  if (days < CERT_WARN_DAYS) return warn(`${certFile} (${subject}) expires in ${count(days, 'day')} (${new Date(to).toISOString().slice(0, 10)})`, renew);
  if (mode & 0o004) return warn(`${keyFile} is readable by every user (mode ${(mode & 0o777).toString(8)})`, `chmod 600 ${keyFile} (and chown it to the user running serve)`);
  return ok(`${certFile} (${subject}) matches its key, valid ${count(days, 'more day')}`);
}

async function checkLinks(c: Ctx): Promise<Partial> {
  const links = require('../../analyzer/links') as typeof import('../../analyzer/links');
  try {
    const lc = links.parseLinksConfig(c.cfg.extra.links, baseDir(c), c.cfg.file ?? 'config');
    if (!lc) return ok('not configured (links:): links in messages are not looked up');
    const b = links.LinkBlocklist.load(lc.blocklists, lc.severity);
    return b.dropped
      ? warn(`${count(lc.blocklists.length, 'blocklist')}, ${count(b.size, 'entry', 'entries')}; ${b.dropped} beyond the limit not loaded`, 'split or trim the lists (docs/analyzer.md#links)')
      : ok(`${count(lc.blocklists.length, 'blocklist')}, ${count(b.size, 'entry', 'entries')}`);
  } catch (e) {
    return fail(firstLine(e), 'fix the links: section or the file it names (docs/analyzer.md#links)');
  }
}

// ---- the command ----

const SPECS: OptionSpec[] = [
  { name: 'format', value: true, arg: 'text|json', help: 'output format (default text): json is an array of {check, status, detail, fix}' },
  { name: 'offline', help: 'no network probe (InfluxDB, sinks, clamd over TCP): those checks say skip' },
  { name: 'policy', value: true, arg: 'FILE', config: 'policy', help: 'the policy the sensor is given (as analyze/sensor --policy)' },
  { name: 'store', value: true, arg: 'PATH', help: 'the store (default: config store.path, else shadowim.db)' },
  { name: 'interface', short: 'i', value: true, arg: 'IF', config: 'sensor.interface', help: 'the interface(s) the sensor captures on (as sensor --interface)' },
  { name: 'quarantine', value: true, arg: 'DIR', help: 'quarantine directory (default: files.quarantine.dir)' },
  { name: 'tls-cert', value: true, arg: 'FILE', config: 'dashboard.tls_cert', help: "the dashboard's certificate (as serve --tls-cert)" },
  { name: 'tls-key', value: true, arg: 'FILE', config: 'dashboard.tls_key', help: "the dashboard's private key (as serve --tls-key)" },
  { name: 'help', short: 'h', help: 'show this help' },
];
const USAGE = 'shadowim doctor [--offline] [--format text|json] [--policy FILE] [--store PATH] [--interface IF] [--tls-cert FILE --tls-key FILE]';
const DESCRIPTION = `Checks the installation and the configuration, one line per check: ok, warn, FAIL (with what to
do), or skip (a network probe left out by --offline). Exit 0 when nothing failed, 1 when something did.
Changes nothing: no file or store is created, no packet is sent, no alert is delivered ('shadowim alerts
test-sink NAME' does that); the network probes are TCP connects (InfluxDB: /ping and SHOW DATABASES) to
the services the configuration names, ${PROBE_TIMEOUT_MS / 1000} s at most each. Give it the options the
sensor and the dashboard are started with (--policy, --store, --interface, --tls-cert/--tls-key).`;

export async function runChecks(c: Ctx): Promise<Result[]> {
  const lists = await Promise.all(
    CHECKS.map(async ({ name, run }) => {
      let r: Partial | Partial[];
      try {
        r = await run(c);
      } catch (e) {
        r = fail(`could not be checked: ${firstLine(e)}`, 'run with SHADOWIM_DEBUG=1 and report it');
        if (process.env.SHADOWIM_DEBUG) console.error(e);
      }
      return (Array.isArray(r) ? r : [r]).map((x) => ({ check: x.check ?? name, status: x.status, detail: x.detail, ...(x.fix ? { fix: x.fix } : {}) }));
    }),
  );
  return lists.flat();
}

export const command: Command = {
  summary: 'check the installation and configuration (read-only): ok / warn / FAIL per check',
  async run(argv) {
    // loaded here, not by the option parser: a broken file is a FAIL line, and the checks go on with the defaults
    const config = require('../../common/config') as typeof import('../../common/config');
    let cfg: Config;
    let configError: string | undefined;
    try {
      cfg = config.loadConfig();
    } catch (e) {
      if (!(e instanceof config.ConfigError)) throw e;
      configError = firstLine(e);
      cfg = config.defaults();
    }
    config.setConfig(cfg);
    const args = parseOrHelp(argv, SPECS, 'doctor', USAGE, DESCRIPTION, cfg);
    if (!args) return 0;
    const { opts, positional, fromConfig } = args;
    if (positional.length) throw new UsageError(`doctor takes no arguments (got '${positional[0]}'); see 'shadowim doctor --help'`);
    const format = (opts.format as string | undefined) ?? 'text';
    if (format !== 'text' && format !== 'json') throw new UsageError(`--format must be text or json, not '${format}'`);
    const storePath = (opts.store as string | undefined) ?? cfg.store.path ?? DEFAULT_STORE;
    const results = await runChecks({ opts, offline: !!opts.offline, cfg, configOk: !configError, configError, storePath, fromConfig });
    if (format === 'json') process.stdout.write(JSON.stringify(results.map((r) => ({ ...r, fix: r.fix ?? null })), null, 2) + '\n');
    else {
      const { escapeControl } = require('../pipeline') as typeof import('../pipeline');
      const width = Math.max(...results.map((r) => r.check.length));
      const { shortLine } = require('../../common/stderr') as typeof import('../../common/stderr');
      // a value quoted from a file (a megabyte sink name) must not make a megabyte line: its middle is cut
      const lines = results.map((r) => shortLine(escapeControl(`${r.status.padEnd(4)}  ${r.check.padEnd(width)}  ${r.detail}${r.fix ? ` — fix: ${r.fix}` : ''}`)));
      const n = (s: Status) => results.filter((r) => r.status === s).length;
      lines.push('', `${n('FAIL')} failed, ${count(n('warn'), 'warning')}, ${n('ok')} ok${n('skip') ? `, ${n('skip')} skipped` : ''}`);
      process.stdout.write(lines.join('\n') + '\n');
    }
    return results.some((r) => r.status === 'FAIL') ? 1 : 0;
  },
};

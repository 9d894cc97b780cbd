// Loads every protocol module with its data.yaml, then merges the user's overrides:
// a folder (config `signatures.dir`, or $SHADOWIM_SIGNATURES_DIR) of <module-id>.yaml files.
// Lists in an override are appended to the built-in ones; scalars replace them.
// `shadowim signatures list` prints what this returns.

import fs from 'node:fs';
import path from 'node:path';
import { readDataFile } from '../common/dataFile';
import { closest } from '../common/closest';
import { whyCannotRead } from '../common/fsError';
import { ConfigError } from '../common/configError';
import type { SignatureData, SignatureModule } from './types';
import { MODULES } from './modules';
import { CidrTable, HostTable } from './lookup';

export interface LoadedModule {
  module: SignatureModule;
  data: SignatureData;
  /** files the data came from, in merge order */
  sources: string[];
}

export interface Registry {
  modules: LoadedModule[];
  hosts: HostTable;
  cidrs: CidrTable;
}

/** The override folder in effect and where it was named: $SHADOWIM_SIGNATURES_DIR wins over the config's signatures.dir. */
export function overrideDirSource(): { dir: string; from: string } | undefined {
  const env = process.env.SHADOWIM_SIGNATURES_DIR;
  if (env) return { dir: env, from: '$SHADOWIM_SIGNATURES_DIR' };
  const { getConfig } = require('../common/config') as typeof import('../common/config');
  const cfg = getConfig();
  return cfg.signatures.dir ? { dir: cfg.signatures.dir, from: `signatures.dir in ${cfg.file}` } : undefined;
}

export function loadRegistry(opts: { overrideDir?: string } = {}): Registry {
  const src = opts.overrideDir === undefined ? overrideDirSource() : undefined;
  // a folder the config names must exist (the environment variable keeps its old, lenient meaning)
  // (a mistake in the configuration file: exit 2, as `signatures list` answers it)
  if (src && src.from !== '$SHADOWIM_SIGNATURES_DIR' && !fs.existsSync(src.dir)) throw new ConfigError(`${src.dir}: no such directory (signature overrides, from ${src.from}); create it or fix signatures.dir`);
  const overrideDir = opts.overrideDir ?? src?.dir;
  const modules: LoadedModule[] = [];
  for (const module of MODULES) {
    const builtin = path.join(__dirname, module.id, 'data.yaml');
    const sources: string[] = [];
    let data: SignatureData = { id: module.id };
    if (fs.existsSync(builtin)) {
      data = { ...readYaml(builtin, true), id: module.id };
      sources.push(builtin);
    }
    if (overrideDir) {
      const user = path.join(overrideDir, `${module.id}.yaml`);
      if (fs.existsSync(user)) {
        const over = readYaml(user);
        checkOverride(user, data, over);
        data = mergeData(data, over);
        sources.push(user);
      }
    }
    modules.push({ module, data, sources });
  }
  const hosts = new HostTable();
  const cidrs = new CidrTable();
  for (const { module, data, sources } of modules) {
    for (const [host, proto] of entriesOf(data.hosts, module.protocols[0], sources, 'hosts')) hosts.add(host, proto);
    for (const [cidr, proto] of entriesOf(data.cidrs, module.protocols[0], sources, 'cidrs')) {
      try {
        cidrs.add(cidr, proto);
      } catch (e) {
        throw new Error(`${sources[sources.length - 1]}: ${(e as Error).message}; fix or remove that address range`);
      }
    }
  }
  return { modules, hosts, cidrs };
}

/** hosts/cidrs are either a list (all for the module's first protocol) or { protocol: [entries] }. */
function entriesOf(v: SignatureData['hosts'], defaultProto: string, sources: string[], key: string): [string, string][] {
  if (!v) return [];
  if (Array.isArray(v)) return v.map((h) => [String(h), defaultProto]);
  const out: [string, string][] = [];
  for (const [proto, list] of Object.entries(v)) {
    // (was a TypeError, 'list is not iterable', for `hosts: {aim: 5}` in an override)
    if (list != null && !Array.isArray(list)) throw new Error(`${sources[sources.length - 1]}: '${key}.${proto}' must be a list; fix the file or remove it`);
    for (const h of list ?? []) out.push([String(h), proto]);
  }
  return out;
}

/** builtin: a shipped data.yaml, read through the parsed-data cache; user overrides always parse. */
function readYaml(file: string, builtin = false): SignatureData {
  let doc: unknown;
  let text = '';
  if (!builtin) {
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      throw new Error(`${file}: cannot read the signature override: ${whyCannotRead(e)}; fix the file or remove it`);
    }
  }
  try {
    // logLevel 'error': the yaml package's warnings (an unknown tag) would go to stderr as a multi-line
    // "(node:PID) YAMLWarning" instead of one line; an error still throws
    doc = builtin ? readDataFile(file) : (require('yaml') as typeof import('yaml')).parse(text, { logLevel: 'error' });
  } catch (e) {
    throw new Error(`${file}: not valid YAML (${(e as Error).message.split('\n')[0]}); fix the file or remove it`);
  }
  if (doc === null || doc === undefined) return { id: '' };
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new Error(`${file}: expected a mapping of keys to values at the top level`);
  return doc as SignatureData;
}

function mergeData(base: SignatureData, over: SignatureData): SignatureData {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    if (Array.isArray(b) && Array.isArray(v)) out[k] = [...b, ...v];
    else if (isPlainObject(b) && isPlainObject(v)) out[k] = mergeData(b as SignatureData, v as SignatureData);
    else out[k] = v;
  }
  return out as SignatureData;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** keys an override may add to any module: its host names, address ranges and port hints */
const ANY_MODULE_KEYS = ['hosts', 'cidrs', 'ports', 'name'];

/**
 * An override is checked against the module's built-in data before it is merged: a misspelt key, or a
 * value of another kind than the one it replaces, would otherwise be ignored (or clamped) in silence.
 */
function checkOverride(file: string, base: SignatureData, over: SignatureData): void {
  const fail = (msg: string): never => {
    throw new Error(`${file}: ${msg}; fix the file or remove it`);
  };
  const known = Object.keys(base).filter((k) => k !== 'id');
  for (const [k, v] of Object.entries(over)) {
    if (k === 'id') continue;
    if (!(k in base)) {
      if (ANY_MODULE_KEYS.includes(k)) continue;
      const near = closest(k, [...known, ...ANY_MODULE_KEYS]);
      fail(`unknown key '${k.slice(0, 60)}'${near ? ` (did you mean '${near}'?)` : ''}; this module's keys: ${[...new Set([...known, ...ANY_MODULE_KEYS])].join(', ')}`);
    }
    // hosts and cidrs may be a list or a mapping by protocol either way (entriesOf reads both)
    if (k !== 'hosts' && k !== 'cidrs') sameShape(fail, k, base[k], v);
  }
  const ports = over.ports as unknown;
  if (ports !== undefined) {
    if (!isPlainObject(ports)) fail("'ports' must be a mapping of tcp/udp to lists of port numbers");
    for (const [t, list] of Object.entries(ports as Record<string, unknown>)) {
      if (t !== 'tcp' && t !== 'udp') fail(`'ports.${t.slice(0, 20)}' is not a transport (tcp or udp)`);
      if (!Array.isArray(list)) fail(`'ports.${t}' must be a list of port numbers`);
      for (const p of list as unknown[]) if (!Number.isInteger(p) || (p as number) < 1 || (p as number) > 65535) fail(`'ports.${t}': ${JSON.stringify(p)?.slice(0, 40)} is not a port number (1-65535)`);
    }
  }
  const hosts = over.hosts as unknown;
  for (const h of Array.isArray(hosts) ? hosts : isPlainObject(hosts) ? Object.values(hosts).filter(Array.isArray).flat() : []) {
    if (typeof h !== 'string' || !/^(\*?\.)?[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,251}[A-Za-z0-9_])?\.?$/.test(h)) fail(`'hosts': ${JSON.stringify(h)?.slice(0, 60)} is not a host name (write example.com, or .example.com for its sub-domains)`);
  }
}

/** the value replaces (or extends) one of the same kind: a list, a mapping, a number (≥ 0 where the built-in is), text, true/false */
function sameShape(fail: (msg: string) => never, where: string, b: unknown, v: unknown): void {
  const kind = (x: unknown) => (Array.isArray(x) ? 'a list' : isPlainObject(x) ? 'a mapping' : typeof x === 'number' ? 'a number' : typeof x === 'boolean' ? 'true or false' : 'text');
  if (b === null || b === undefined || v === null) return;
  if (kind(b) !== kind(v)) fail(`'${where}' must be ${kind(b)}, as in the built-in data`);
  if (Array.isArray(b) && b.length && b.every((x) => typeof x === 'number') && !(v as unknown[]).every((x) => typeof x === 'number')) fail(`'${where}' must be a list of numbers, as in the built-in data`);
  if (typeof b === 'number' && (!Number.isFinite(v as number) || (b >= 0 && (v as number) < 0))) fail(`'${where}' must be a number${b >= 0 ? ' of 0 or more' : ''}, as in the built-in data (${b})`);
  if (isPlainObject(b)) for (const [k, x] of Object.entries(v as Record<string, unknown>)) if (k in b) sameShape(fail, `${where}.${k}`, b[k], x);
}

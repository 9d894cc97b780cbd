// `shadowim signatures list`: every protocol module with its protocols, transports, port hints,
// the sizes of its host/address/pattern tables and the files its data came from (built-in data.yaml
// and the user's override files from --dir, else $SHADOWIM_SIGNATURES_DIR, else the config's signatures.dir).
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from '../main';
import { commandConfig, helpText, parseOrHelp, UsageError, type OptionSpec } from '../args';
import { stderrLine } from '../../common/stderr';

const SPECS: OptionSpec[] = [
  { name: 'format', value: true, arg: 'text|json', help: 'output format (default text)' },
  { name: 'dir', value: true, arg: 'DIR', help: 'folder of override files <module>.yaml (default $SHADOWIM_SIGNATURES_DIR, else signatures.dir of the config)' },
  { name: 'help', short: 'h', help: 'show this help' },
];
const USAGE = 'shadowim signatures list [--format text|json] [--dir DIR]';
const DESCRIPTION = 'Lists the protocol modules, what they detect, and where their data (hosts, address ranges, patterns) came from.';

const STANDARD_KEYS = new Set(['id', 'name', 'description', 'ports', 'hosts', 'cidrs']);

export interface ModuleSummary {
  id: string;
  name?: string;
  protocols: string[];
  transports: string[];
  ports: { tcp: number[]; udp: number[] };
  hosts: number;
  cidrs: number;
  patterns: number;
  sources: string[];
}

function countEntries(v: unknown): number {
  if (Array.isArray(v)) return v.length;
  if (v && typeof v === 'object') return Object.values(v).reduce((n: number, l) => n + (Array.isArray(l) ? l.length : 0), 0);
  return 0;
}

/** leaf values of the module-specific keys (byte patterns, user agents, thresholds …) */
function countPatterns(v: unknown, depth = 0): number {
  if (depth > 8) return 0;
  if (Array.isArray(v)) return v.reduce((n: number, x) => n + (typeof x === 'object' && x ? countPatterns(x, depth + 1) : 1), 0);
  if (v && typeof v === 'object') return Object.values(v).reduce((n: number, x) => n + countPatterns(x, depth + 1), 0);
  return v === undefined || v === null ? 0 : 1;
}

/** hosts/cidrs in an override must be a list of strings or a mapping protocol → list of strings */
function checkOverride(file: string, builtin: Record<string, unknown>, warnings: string[]): void {
  let doc: any;
  try {
    doc = require('yaml').parse(fs.readFileSync(file, 'utf8'), { logLevel: 'error' }); // no multi-line YAMLWarning on stderr (as signatures/registry.ts)
  } catch {
    return; // the registry reports YAML errors with the file name
  }
  if (!doc || typeof doc !== 'object') return;
  for (const key of ['hosts', 'cidrs']) {
    const v = doc[key];
    if (v === undefined || v === null) continue;
    const lists = Array.isArray(v) ? [v] : typeof v === 'object' ? Object.values(v) : null;
    if (!lists || !lists.every((l) => Array.isArray(l) && l.every((x) => typeof x === 'string'))) {
      throw new UsageError(`${file}: '${key}' must be a list of strings or a mapping of protocol to a list of strings; fix the file or remove it`);
    }
    const base = builtin[key];
    if (Array.isArray(v) && base && typeof base === 'object' && !Array.isArray(base)) {
      warnings.push(`${file}: '${key}' is a list, so it replaces the built-in ${key} of every protocol; write '${key}: {protocol: [...]}' to add to them`);
    }
  }
}

export function summarize(overrideDir?: string, from = '--dir'): { modules: ModuleSummary[]; ignored: string[]; warnings: string[]; overrides?: { dir: string; from: string } } {
  const { loadRegistry, overrideDirSource } = require('../../signatures/registry') as typeof import('../../signatures/registry');
  const src = overrideDir !== undefined ? { dir: overrideDir, from } : overrideDirSource();
  const dir = src?.dir;
  if (dir !== undefined && dir !== '') {
    let st: fs.Stats;
    try {
      st = fs.statSync(dir);
    } catch {
      throw new UsageError(`${dir}: no such directory (signature overrides, from ${src!.from}); create it or fix ${src!.from}`);
    }
    if (!st.isDirectory()) throw new UsageError(`${dir}: not a directory (signature overrides are <module>.yaml files in a folder)`);
  }
  const registry = loadRegistry({ overrideDir: dir ?? '' });
  const known = new Set(registry.modules.map((m) => m.module.id));
  const ignored: string[] = [];
  const warnings: string[] = [];
  if (dir) {
    for (const f of fs.readdirSync(dir).sort()) {
      if (!/\.ya?ml$/.test(f)) continue;
      const id = f.replace(/\.ya?ml$/, '');
      if (!known.has(id) || f.endsWith('.yml')) ignored.push(path.join(dir, f));
      else {
        const builtinFile = path.join(__dirname, '../../signatures', id, 'data.yaml');
        const builtin = fs.existsSync(builtinFile) ? (require('yaml').parse(fs.readFileSync(builtinFile, 'utf8')) ?? {}) : {};
        checkOverride(path.join(dir, f), builtin, warnings);
      }
    }
  }
  const modules = registry.modules.map(({ module, data, sources }) => {
    let patterns = 0;
    for (const [k, v] of Object.entries(data)) if (!STANDARD_KEYS.has(k)) patterns += countPatterns(v);
    return {
      id: module.id,
      ...(data.name ? { name: String(data.name) } : {}),
      protocols: [...module.protocols],
      transports: [...module.transports],
      ports: { tcp: [...(data.ports?.tcp ?? [])], udp: [...(data.ports?.udp ?? [])] },
      hosts: countEntries(data.hosts),
      cidrs: countEntries(data.cidrs),
      patterns,
      sources: sources.map((s) => path.relative(process.cwd(), s).startsWith('..') ? s : path.relative(process.cwd(), s) || s),
    };
  });
  return { modules, ignored, warnings, ...(dir ? { overrides: src } : {}) };
}

function text(modules: ModuleSummary[], ignored: string[], overrides?: { dir: string; from: string }): string {
  const lines: string[] = [];
  for (const m of modules) {
    lines.push(`${m.id}${m.name ? ` — ${m.name}` : ''}`);
    lines.push(`  protocols:  ${m.protocols.join(', ')}`);
    const ports = [m.ports.tcp.length ? `tcp ${m.ports.tcp.join(',')}` : '', m.ports.udp.length ? `udp ${m.ports.udp.join(',')}` : ''].filter(Boolean).join('; ');
    lines.push(`  transports: ${m.transports.join(', ')}${ports ? `   port hints: ${ports}` : ''}`);
    lines.push(`  hosts: ${m.hosts}   cidrs: ${m.cidrs}   patterns: ${m.patterns}`);
    lines.push(`  data:       ${m.sources.length ? m.sources.join(' + ') : '(built in, no data file)'}`);
  }
  const totals = modules.reduce((t, m) => ({ hosts: t.hosts + m.hosts, cidrs: t.cidrs + m.cidrs }), { hosts: 0, cidrs: 0 });
  lines.push('', `${modules.length} modules, ${totals.hosts} host names, ${totals.cidrs} address ranges`);
  lines.push(overrides ? `override folder: ${overrides.dir} (${overrides.from})` : 'override folder: none (--dir, $SHADOWIM_SIGNATURES_DIR or signatures.dir in the config)');
  for (const f of ignored) lines.push(`ignored override file (no module of that name; use <module-id>.yaml): ${f}`);
  return lines.join('\n');
}

export const command: Command = {
  summary: 'list the protocol signatures and where their data comes from',
  async run(argv) {
    const [sub, ...rest] = argv;
    if (!sub || sub === '--help' || sub === '-h' || sub === 'help') {
      console.log(helpText(USAGE, DESCRIPTION, SPECS));
      return sub ? 0 : 2;
    }
    if (sub !== 'list') throw new UsageError(`unknown subcommand '${sub}' for 'signatures'; use: ${USAGE}`);
    const args = parseOrHelp(rest, SPECS, 'signatures list', USAGE, DESCRIPTION);
    if (!args) return 0;
    const { opts, positional } = args;
    if (positional.length) throw new UsageError(`unexpected argument '${positional[0]}'; use: ${USAGE}`);
    const format = (opts.format as string | undefined) ?? 'text';
    if (format !== 'text' && format !== 'json') throw new UsageError(`--format must be text or json, not '${format}'`);
    commandConfig(); // a broken configuration is one line (exit 2) before signatures.dir is read from it
    const { modules, ignored, warnings, overrides } = summarize(opts.dir as string | undefined);
    if (format === 'json') process.stdout.write(JSON.stringify({ modules, ignored_overrides: ignored, override_dir: overrides ?? null }, null, 2) + '\n');
    else process.stdout.write(text(modules, ignored, overrides) + '\n');
    for (const f of ignored) stderrLine(`shadowim: warning: ${f} matches no module and was ignored`);
    for (const w of warnings) stderrLine(`shadowim: warning: ${w}`);
    return 0;
  },
};

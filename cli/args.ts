// A small, strict option parser: unknown options and missing values are user errors with a one-line fix.

import { closest } from '../common/closest';

export class UsageError extends Error {}

export interface OptionSpec {
  /** long name without dashes */
  name: string;
  /** takes a value (otherwise a boolean flag) */
  value?: boolean;
  /** may be given several times (values collected in an array) */
  repeat?: boolean;
  short?: string;
  help: string;
  /** placeholder shown in help, e.g. FILE */
  arg?: string;
  /**
   * dotted key of the configuration ('sensor.interface', 'policy') whose value is the default when the
   * option is not on the command line. Paths are already absolute there (relative to the config file's
   * directory, resolved by common/config.ts). A flag (no value) with a config key also takes --no-NAME,
   * which sets it to false: the command line wins over the file either way.
   */
  config?: string;
}

export interface Parsed {
  opts: Record<string, string | boolean | string[] | undefined>;
  positional: string[];
  /** options that took their value from the configuration: option name → config key */
  fromConfig: Record<string, string>;
}

/**
 * Parses argv; then, unless --help was given, an option not on the command line takes its value from
 * the configuration (OptionSpec.config). The configuration is loaded only when a spec names a key:
 * `cfg` when given (doctor, which must survive a broken file), else commandConfig().
 */
export function parseArgs(argv: string[], specs: OptionSpec[], command: string, cfg?: import('../common/config').Config): Parsed {
  const parsed = parseCommandLine(argv, specs, command);
  if (!parsed.opts.help && specs.some((s) => s.config)) applyConfig(parsed, specs, cfg ?? commandConfig(), command);
  return parsed;
}

function applyConfig(parsed: Parsed, specs: OptionSpec[], cfg: import('../common/config').Config, command: string): void {
  const { configValue } = require('../common/config') as typeof import('../common/config');
  for (const s of specs) {
    if (!s.config || parsed.opts[s.name] !== undefined) continue;
    const v = configValue(cfg, s.config);
    if (v === undefined || v === null) continue;
    if (s.value) {
      if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') continue;
      if (v === '' && PATH_ARGS.has(s.arg ?? '')) throw new UsageError(emptyPath(`${s.config} (config ${cfg.file ?? ''})`, s, command));
      parsed.opts[s.name] = s.repeat ? [String(v)] : String(v);
    } else if (v === true) parsed.opts[s.name] = true;
    else continue;
    parsed.fromConfig[s.name] = s.config;
  }
}

/** How to name an option's value in a message: '--policy', or 'policy (config /etc/shadowim/shadowim.yaml)'. */
export function optionSource(parsed: Parsed, name: string): string {
  const key = parsed.fromConfig[name];
  if (!key) return `--${name}`;
  const { getConfig } = require('../common/config') as typeof import('../common/config');
  return `${key} (config ${getConfig().file ?? ''})`;
}

/**
 * Options naming a file, folder or interface: an empty value (`--policy "$POLICY"` with the variable
 * unset) is a mistake, never "the default" — a policy's exceptions, a store, a quarantine silently gone.
 */
const PATH_ARGS = new Set(['FILE', 'PATH', 'DIR', 'IF']);
function emptyPath(where: string, spec: OptionSpec, command: string): string {
  const what = spec.arg === 'DIR' ? 'a folder' : spec.arg === 'IF' ? 'an interface name' : 'a file name';
  return `${where} is empty: it needs ${what} (${spec.arg}); give one, or leave the option out for the default; see 'shadowim ${command} --help'`;
}

function parseCommandLine(argv: string[], specs: OptionSpec[], command: string): Parsed {
  const opts: Parsed['opts'] = {};
  const positional: string[] = [];
  const byName = new Map(specs.map((s) => [s.name, s]));
  const byShort = new Map(specs.filter((s) => s.short).map((s) => [s.short!, s]));
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('--') || (a.startsWith('-') && a.length === 2 && a !== '-')) {
      let name = a.startsWith('--') ? a.slice(2) : a.slice(1);
      let value: string | undefined;
      const eq = name.indexOf('=');
      if (eq >= 0) {
        value = name.slice(eq + 1);
        name = name.slice(0, eq);
      }
      let spec = a.startsWith('--') ? byName.get(name) : byShort.get(name);
      if (!spec && a.startsWith('--no-')) {
        // --no-NAME switches off a flag the configuration may have switched on
        spec = byName.get(name.slice(3));
        if (spec && !negatable(spec)) {
          const arg = spec.arg ?? 'VALUE';
          const why = spec.value ? `--${spec.name} takes a value and cannot be switched off; give --${spec.name} ${arg} instead` : `--${spec.name} is off unless given, so leave it out`;
          throw new UsageError(`unknown option --${name} for '${command}': ${why}; see 'shadowim ${command} --help'`);
        }
        if (spec) {
          if (value !== undefined) throw new UsageError(`option --${name} takes no value; see 'shadowim ${command} --help'`);
          opts[spec.name] = false;
          continue;
        }
      }
      if (!spec) {
        const near = a.startsWith('--') ? closest(name, specs.map((x) => x.name)) : undefined;
        throw new UsageError(`unknown option ${a.split('=')[0]} for '${command}'${near ? ` (did you mean --${near}?)` : ''}; see 'shadowim ${command} --help'`);
      }
      if (spec.value) {
        if (value === undefined) {
          if (i + 1 >= argv.length) throw new UsageError(`option --${spec.name} needs a value (${spec.arg ?? 'VALUE'}); see 'shadowim ${command} --help'`);
          value = argv[++i];
        }
        if (value === '' && PATH_ARGS.has(spec.arg ?? '')) throw new UsageError(emptyPath(`--${spec.name}`, spec, command));
        if (spec.repeat) opts[spec.name] = [...((opts[spec.name] as string[]) ?? []), value];
        else opts[spec.name] = value;
      } else {
        if (value !== undefined) throw new UsageError(`option --${spec.name} takes no value; see 'shadowim ${command} --help'`);
        opts[spec.name] = true;
      }
    } else positional.push(a);
  }
  return { opts, positional, fromConfig: {} };
}

/** parseArgs for a command whose --help prints its help: then undefined (the command returns 0). */
export function parseOrHelp(argv: string[], specs: OptionSpec[], command: string, usage: string, description: string, cfg?: import('../common/config').Config): Parsed | undefined {
  const parsed = parseArgs(argv, specs, command, cfg);
  if (!parsed.opts.help) return parsed;
  console.log(helpText(usage, description, specs));
  return undefined;
}

/** Options of every command, before or after its name; cli/main.ts takes them out of argv (each takes a value). */
export const GLOBAL_SPECS: OptionSpec[] = [
  { name: 'config', value: true, arg: 'FILE', help: 'configuration file (default: $SHADOWIM_CONFIG, else ./shadowim.yaml)' },
];

/** Splits the global options from the rest of the command line (a `--` and what follows stay in the rest). */
export function takeGlobalOptions(argv: string[]): { global: Record<string, string>; rest: string[] } {
  const global: Record<string, string> = {};
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    const spec = a.startsWith('--') ? GLOBAL_SPECS.find((s) => a === `--${s.name}` || a.startsWith(`--${s.name}=`)) : undefined;
    if (!spec) {
      rest.push(a);
      continue;
    }
    if (a.length > spec.name.length + 2) global[spec.name] = a.slice(spec.name.length + 3);
    else if (i + 1 < argv.length) global[spec.name] = argv[++i];
    else throw new UsageError(`option --${spec.name} needs a value (${spec.arg ?? 'VALUE'}); see 'shadowim --help'`);
  }
  return { global, rest };
}

/** A flag the configuration can switch on has --no-NAME, so that the command line can switch it off. */
function negatable(s: OptionSpec): boolean {
  return !s.value && !!s.config;
}

export function optionLines(specs: OptionSpec[]): string[] {
  return specs.map((s) => {
    const flag = `${s.short ? `-${s.short}, ` : ''}--${s.name}${s.value ? ` ${s.arg ?? 'VALUE'}` : ''}${negatable(s) ? `, --no-${s.name}` : ''}`;
    return `  ${flag.padEnd(28)} ${s.help}${s.config ? ` [config: ${s.config.replace(/-/g, '_')}]` : ''}`;
  });
}

/** The help of one command: usage, description, its options, then the options every command takes. */
export function helpText(usage: string, description: string, specs: OptionSpec[]): string {
  const lines = [`usage: ${usage}`, '', description, ''];
  if (specs.length) lines.push('options:', ...optionLines(specs), '');
  lines.push('global options (before or after the command name):', ...optionLines(GLOBAL_SPECS));
  return lines.join('\n');
}

/** The configuration ($SHADOWIM_CONFIG, which --config sets, else ./shadowim.yaml), loaded once; a mistake in it is a usage error. */
export function commandConfig(): import('../common/config').Config {
  const { getConfig, ConfigError } = require('../common/config') as typeof import('../common/config');
  try {
    return getConfig();
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(e.message);
    throw e;
  }
}

export { closest } from '../common/closest';

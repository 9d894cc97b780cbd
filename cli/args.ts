// A small, strict option parser: unknown options and missing values are user errors with a one-line fix.

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
}

export interface Parsed {
  opts: Record<string, string | boolean | string[] | undefined>;
  positional: string[];
}

export function parseArgs(argv: string[], specs: OptionSpec[], command: string): Parsed {
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
      const spec = a.startsWith('--') ? byName.get(name) : byShort.get(name);
      if (!spec) throw new UsageError(`unknown option ${a} for '${command}'; see 'shadowim ${command} --help'`);
      if (spec.value) {
        if (value === undefined) {
          if (i + 1 >= argv.length) throw new UsageError(`option --${spec.name} needs a value (${spec.arg ?? 'VALUE'}); see 'shadowim ${command} --help'`);
          value = argv[++i];
        }
        if (spec.repeat) opts[spec.name] = [...((opts[spec.name] as string[]) ?? []), value];
        else opts[spec.name] = value;
      } else {
        if (value !== undefined) throw new UsageError(`option --${spec.name} takes no value; see 'shadowim ${command} --help'`);
        opts[spec.name] = true;
      }
    } else positional.push(a);
  }
  return { opts, positional };
}

export function helpText(usage: string, description: string, specs: OptionSpec[]): string {
  const lines = [`usage: ${usage}`, '', description, ''];
  if (specs.length) {
    lines.push('options:');
    for (const s of specs) {
      const flag = `${s.short ? `-${s.short}, ` : ''}--${s.name}${s.value ? ` ${s.arg ?? 'VALUE'}` : ''}`;
      lines.push(`  ${flag.padEnd(28)} ${s.help}`);
    }
  }
  return lines.join('\n');
}

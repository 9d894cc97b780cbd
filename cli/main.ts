// `shadowim <command>`: each command is a module in cli/commands exporting { summary, run }.
// Errors a user can cause print one line and exit non-zero; a stack trace only with SHADOWIM_DEBUG=1.
// Global options (--config FILE) are taken out here, wherever they stand, before any command runs.
import fs from 'node:fs';
import { whyCannotRead } from '../common/fsError';
import { closest, GLOBAL_SPECS, optionLines, takeGlobalOptions, UsageError } from './args';
import { installStdoutGuard } from './stdout';
import { stderrLine } from '../common/stderr';
import { ConfigError } from '../common/configError';

export interface Command {
  summary: string;
  /** returns the exit status */
  run(argv: string[]): Promise<number>;
}

// loaded lazily so that `analyze` never pays for the dashboard's dependencies
const COMMANDS: Record<string, () => { command: Command }> = {
  analyze: () => require('./commands/analyze'),
  sensor: () => require('./commands/sensor'),
  signatures: () => require('./commands/signatures'),
  policy: () => require('./commands/policy'),
  search: () => require('./commands/search'),
  report: () => require('./commands/report'),
  serve: () => require('./commands/serve'),
  user: () => require('./commands/user'),
  alerts: () => require('./commands/alerts'),
  rules: () => require('./commands/rules'),
  files: () => require('./commands/files'),
  doctor: () => require('./commands/doctor'),
};

export async function main(argv: string[]): Promise<void> {
  installStdoutGuard();
  try {
    const { global, rest: args } = takeGlobalOptions(argv);
    if (global.config !== undefined) useConfigFile(global.config);
    const [name, ...rest] = args;
    if (!name || name === '--help' || name === '-h' || name === 'help') {
      // asked for: standard output, 0; no command at all is a usage error: standard error, 2
      if (name) console.log(await overview());
      else process.stderr.write(`${await overview()}\n`);
      process.exitCode = name ? 0 : 2;
      return;
    }
    if (name === '--version') {
      console.log(require('../package.json').version);
      return;
    }
    const load = COMMANDS[name];
    if (!load) {
      const near = closest(name, Object.keys(COMMANDS));
      throw new UsageError(`unknown command '${name}'${near ? ` (did you mean '${near}'?)` : ''}; run 'shadowim --help' for the list`);
    }
    const { command } = load();
    process.exitCode = await command.run(rest);
  } catch (e) {
    if (process.env.SHADOWIM_DEBUG) console.error(e);
    // all of it, escaped: a line break in a file name must not cut the message, nor ESC reach the terminal
    stderrLine(`shadowim: ${e instanceof Error ? e.message : String(e)}`);
    process.exitCode = e instanceof UsageError || e instanceof ConfigError ? 2 : 1;
  }
}

/**
 * The file is checked here so that a wrong name stops everything; it is read where the configuration is
 * loaded (common/config.ts), through $SHADOWIM_CONFIG, which `sensor`'s capture process inherits.
 */
function useConfigFile(file: string): void {
  const fix = 'give the path of a readable YAML configuration file';
  if (!file) throw new UsageError(`--config needs a file name; ${fix}`);
  let why: string | undefined;
  try {
    if (fs.statSync(file).isDirectory()) why = 'is a directory';
    else fs.accessSync(file, fs.constants.R_OK);
  } catch (e) {
    why = whyCannotRead(e);
  }
  if (why) throw new UsageError(`--config ${file}: ${why}; ${fix}`);
  process.env.SHADOWIM_CONFIG = file;
}

async function overview(): Promise<string> {
  const lines = ['usage: shadowim [--config FILE] <command> [options]   (shadowim <command> --help for each)', '', 'commands:'];
  for (const [name, load] of Object.entries(COMMANDS)) {
    let summary = '';
    try {
      summary = load().command.summary;
    } catch {
      summary = '(not available)';
    }
    lines.push(`  ${name.padEnd(12)} ${summary}`);
  }
  lines.push('', 'global options (before or after the command name):', ...optionLines(GLOBAL_SPECS));
  return lines.join('\n');
}

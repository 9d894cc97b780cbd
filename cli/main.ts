// `shadowim <command>`: each command is a module in cli/commands exporting { summary, run }.
// Errors a user can cause print one line and exit non-zero; a stack trace only with SHADOWIM_DEBUG=1.
import { UsageError } from './args';

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
};

export async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
  });
  try {
    if (!name || name === '--help' || name === '-h' || name === 'help') {
      console.log(await overview());
      process.exitCode = name ? 0 : 1;
      return;
    }
    if (name === '--version') {
      console.log(require('../package.json').version);
      return;
    }
    const load = COMMANDS[name];
    if (!load) throw new UsageError(`unknown command '${name}'; run 'shadowim --help' for the list`);
    const { command } = load();
    process.exitCode = await command.run(rest);
  } catch (e) {
    if (process.env.SHADOWIM_DEBUG) console.error(e);
    const msg = e instanceof Error ? e.message : String(e);
    process.stderr.write(`shadowim: ${msg.split('\n')[0]}\n`);
    process.exitCode = e instanceof UsageError ? 2 : 1;
  }
}

async function overview(): Promise<string> {
  const lines = ['usage: shadowim <command> [options]   (shadowim <command> --help for each)', '', 'commands:'];
  for (const [name, load] of Object.entries(COMMANDS)) {
    let summary = '';
    try {
      summary = load().command.summary;
    } catch {
      summary = '(not available)';
    }
    lines.push(`  ${name.padEnd(12)} ${summary}`);
  }
  return lines.join('\n');
}

// `shadowim files list|get`: the quarantined files (docs/files.md). Reads only the quarantine
// directory; writes only the one file `get --out` names.
import type { Command } from '../main';
import { helpText, parseArgs, UsageError, type OptionSpec } from '../args';
import { stderrLine } from '../../common/stderr';
import { count } from '../../common/count';

const SPECS: OptionSpec[] = [
  { name: 'quarantine', value: true, arg: 'DIR', help: 'quarantine directory (default: files.quarantine.dir in the config; analyze --out DIR keeps files in DIR/quarantine)' },
  { name: 'format', value: true, arg: 'text|jsonl', help: 'list: one line per file (default text), or one JSON object per line' },
  { name: 'limit', value: true, arg: 'N', help: 'list: at most N files, newest first (default all)' },
  { name: 'out', short: 'o', value: true, arg: 'FILE', help: "get: write the file's bytes to FILE (mode 0600); without it, to standard output unless that is a terminal" },
  { name: 'force', help: 'get: replace FILE when it exists' },
  { name: 'help', short: 'h', help: 'show this help' },
];

const USAGE = 'shadowim files list [--quarantine DIR] [--format text|jsonl] [--limit N]\n       shadowim files get SHA256 [--out FILE] [--force] [--quarantine DIR]';
const DESCRIPTION = `Carved files are kept in the quarantine only when it is enabled (config files.quarantine, or
analyze --out DIR). Each file is stored under its SHA-256 without execute permission, with a JSON
sidecar: the sanitized name it was sent under, who sent it to whom, when, the flow and the verdict.
'list' shows them, newest first; 'get' copies one out by its SHA-256. Handle what you get with care:
it may be malware.`;

export const command: Command = {
  summary: 'list and fetch the carved files kept in the quarantine',
  async run(argv) {
    const { opts, positional } = parseArgs(argv, SPECS, 'files');
    if (opts.help || positional.length === 0) {
      console.log(helpText(USAGE, DESCRIPTION, SPECS));
      return opts.help ? 0 : 2;
    }
    const files = require('../../analyzer/files') as typeof import('../../analyzer/files');
    const sub = positional[0];
    const dir = (opts.quarantine as string | undefined) ?? configured(files);
    if (!dir) throw new UsageError("no quarantine directory: pass --quarantine DIR, or set files.quarantine.dir in the config (analyze --out DIR keeps files in DIR/quarantine)");
    try {
      if (sub === 'list') return list(files, dir, opts, positional);
      if (sub === 'get') return await get(files, dir, opts, positional);
    } catch (e) {
      if (e instanceof files.QuarantineError) throw new Error(e.message);
      throw e;
    }
    throw new UsageError(`unknown files command '${sub}'; use list or get (see 'shadowim files --help')`);
  },
};

function configured(files: typeof import('../../analyzer/files')): string | undefined {
  try {
    return files.configuredQuarantineDir();
  } catch (e) {
    throw new Error((e as Error).message);
  }
}

function list(files: typeof import('../../analyzer/files'), dir: string, opts: Record<string, unknown>, pos: string[]): number {
  if (pos.length > 1) throw new UsageError(`files list takes no argument; got '${pos[1]}'`);
  const format = (opts.format as string | undefined) ?? 'text';
  if (format !== 'text' && format !== 'jsonl') throw new UsageError(`--format must be text or jsonl, not '${format}'`);
  let limit: number | undefined;
  if (opts.limit !== undefined) {
    const s = String(opts.limit);
    if (!/^\d+$/.test(s) || Number(s) < 1) throw new UsageError(`--limit must be a whole number of at least 1, not '${s}'`);
    limit = Number(s);
  }
  const fs = require('node:fs') as typeof import('node:fs');
  if (!fs.existsSync(dir)) throw new Error(`quarantine directory ${dir} does not exist (nothing was kept yet, or the path is wrong)`);
  const entries = files.listQuarantine(dir, { limit });
  const { escapeControl } = require('../pipeline') as typeof import('../pipeline');
  const out: string[] = [];
  for (const e of entries) {
    if (format === 'jsonl') out.push(JSON.stringify(e));
    else {
      const s = e.sightings[e.sightings.length - 1];
      out.push(escapeControl(`${e.sha256}  ${String(e.size).padStart(10)}  ${(e.file_type ?? '?').padEnd(8)}  ${(e.verdict ?? '-').padEnd(24)}  ${e.last_seen}  ${s?.protocol ?? '?'} ${s?.from ?? '?'} -> ${s?.to ?? '?'}  ${e.filename}`));
    }
  }
  if (format === 'text' && !entries.length) stderrLine(`shadowim: no files in the quarantine ${dir}`);
  if (out.length) process.stdout.write(out.join('\n') + '\n');
  return 0;
}

async function get(files: typeof import('../../analyzer/files'), dir: string, opts: Record<string, unknown>, pos: string[]): Promise<number> {
  if (pos.length !== 2) throw new UsageError("files get needs one SHA-256; see 'shadowim files list'");
  const sha = pos[1];
  files.quarantinePath(dir, sha); // validates the hash before anything else
  // the suggestion names the --quarantine given: without it 'files list' may find no quarantine at all
  if (!files.getQuarantined(dir, sha)) throw new Error(`${sha.toLowerCase()} is not in the quarantine ${dir}; 'shadowim files list${opts.quarantine !== undefined ? ` --quarantine ${shellWord(dir)}` : ''}' shows what is`);
  const out = opts.out as string | undefined;
  if (out) {
    const e = files.exportQuarantined(dir, sha, out, { force: !!opts.force });
    stderrLine(`shadowim: wrote ${count(e.size, 'byte')} (${e.file_type ?? 'unknown type'}, verdict ${e.verdict ?? '-'}) to ${out}`);
    return 0;
  }
  if (process.stdout.isTTY) throw new UsageError('refusing to write a carved file to the terminal; add --out FILE or redirect standard output');
  const q = files.openQuarantined(dir, sha);
  if (!q) throw new Error(`${sha.toLowerCase()} is not in the quarantine ${dir}`); // removed since the check above
  await new Promise<void>((resolve, reject) => {
    q.stream.on('error', reject);
    q.stream.on('end', () => resolve());
    q.stream.pipe(process.stdout, { end: false });
  });
  return 0;
}

/** A path as one shell word, in double quotes only when it needs them (the suggestion itself is in single quotes). */
function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `"${s.replace(/["$`\\]/g, '\\$&')}"`;
}

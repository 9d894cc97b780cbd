// `shadowim search`: the message archive, filtered by user, protocol, time and words.
import type { Command } from '../main';
import { parseOrHelp, UsageError, type OptionSpec } from '../args';
import { escapeControl } from '../pipeline';

const SPECS: OptionSpec[] = [
  { name: 'user', value: true, arg: 'USER', help: 'messages from or to this user' },
  { name: 'protocol', value: true, arg: 'ID', help: 'protocol id, e.g. aim, xmpp, irc' },
  { name: 'since', value: true, arg: 'WHEN', help: 'from: 7d, 24h, 30m, an ISO date/time, or all (default: all)' },
  { name: 'until', value: true, arg: 'WHEN', help: 'until (default: now)' },
  { name: 'text', value: true, arg: 'WORDS', help: 'all these words occur in the message' },
  { name: 'sensor', value: true, arg: 'NAME', help: 'only what this sensor saw' },
  { name: 'format', value: true, arg: 'FMT', help: 'text (default), jsonl or csv' },
  { name: 'limit', value: true, arg: 'N', help: 'at most N messages, newest first (default 100)' },
  { name: 'offset', value: true, arg: 'N', help: 'skip the first N matches (paging)' },
  { name: 'store', value: true, arg: 'PATH', help: 'SQLite store (default: config store.path, else ./shadowim.db)' },
  { name: 'help', short: 'h', help: 'this help' },
];

const USAGE = 'shadowim search [--user U] [--protocol P] [--since 7d|ISO] [--until WHEN] [--text WORDS] [--format text|jsonl|csv] [--limit N] [--store PATH]';
const DESCRIPTION = 'Prints stored messages that match every filter given, newest first.';

export const command: Command = {
  summary: 'search the stored message archive (user, protocol, time, words)',
  async run(argv) {
    const args = parseOrHelp(argv, SPECS, 'search', USAGE, DESCRIPTION);
    if (!args) return 0;
    const { opts, positional } = args;
    const { openForReading, timeOpt, intOpt, formatOpt } = require('../../storage/cli') as typeof import('../../storage/cli');
    if (positional.length) throw new UsageError(`unexpected argument '${positional[0]}'; put words to find after --text`);
    const format = formatOpt(opts.format, ['text', 'jsonl', 'csv'], 'text');
    const now = Date.now();
    const from = timeOpt(opts.since, 'since', 0, now);
    const to = timeOpt(opts.until, 'until', now + 1, now);
    const limit = intOpt(opts.limit, 'limit', 100, 1, 100000);
    const offset = intOpt(opts.offset, 'offset', 0, 0, 1e9);
    const { db } = openForReading(opts);
    const { searchMessages } = require('../../storage/queries') as typeof import('../../storage/queries');
    const res = searchMessages(db, {
      from,
      to,
      user: opts.user as string | undefined,
      protocol: opts.protocol as string | undefined,
      sensor: opts.sensor as string | undefined,
      text: opts.text as string | undefined,
      limit,
      offset,
    });
    db.close();
    const out: string[] = [];
    if (format === 'jsonl') {
      for (const m of res.rows) out.push(JSON.stringify(m) + '\n');
    } else if (format === 'csv') {
      const { csvRow } = require('../../storage/csv') as typeof import('../../storage/csv');
      out.push(csvRow(['ts', 'sensor', 'protocol', 'from', 'to', 'direction', 'client', 'server', 'text', 'flow_id']));
      for (const m of res.rows) out.push(csvRow([m.ts, m.sensor, m.protocol, m.from, m.to, m.direction, m.client?.ip, m.server?.ip, m.text, m.flow_id]));
    } else {
      for (const m of res.rows) out.push(escapeControl(`${m.ts} ${m.protocol} ${m.from ?? '?'} -> ${m.to ?? '?'}: ${m.text ?? '(text not archived)'}`) + '\n');
      process.stderr.write(`${res.total} message${res.total === 1 ? '' : 's'} matched${res.total > res.rows.length ? `; ${shown(res.rows.length, offset)} (use --limit/--offset)` : ''}\n`);
    }
    process.stdout.write(out.join(''));
    return 0;
  },
};

/** Which page of the matches is printed (newest first), in words: 'showing the newest 10'. */
function shown(n: number, offset: number): string {
  if (!n) return `none shown: --offset ${offset} is past the last match`;
  return offset ? `showing ${n} after the newest ${offset}` : `showing the newest ${n}`;
}

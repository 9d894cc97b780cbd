// `shadowim report`: usage by protocol, top users and hosts, alerts by kind and severity, unauthorized use.
import fs from 'node:fs';
import type { Command } from '../main';
import { parseOrHelp, UsageError, type OptionSpec } from '../args';
import { escapeControl } from '../pipeline';

const SPECS: OptionSpec[] = [
  { name: 'since', value: true, arg: 'WHEN', help: 'from: 7d (default), 24h, an ISO date/time, or all' },
  { name: 'until', value: true, arg: 'WHEN', help: 'until (default: now)' },
  { name: 'sensor', value: true, arg: 'NAME', help: 'only what this sensor saw' },
  { name: 'top', value: true, arg: 'N', help: 'rows in the top users/hosts tables (default 10)' },
  { name: 'format', value: true, arg: 'FMT', help: 'text (default), json or csv' },
  { name: 'out', value: true, arg: 'FILE', help: 'write the report to FILE instead of standard output' },
  { name: 'store', value: true, arg: 'PATH', help: 'SQLite store (default: config store.path, else ./shadowim.db)' },
  { name: 'help', short: 'h', help: 'this help' },
];

const USAGE = 'shadowim report [--since 7d] [--until WHEN] [--format text|json|csv] [--out FILE] [--store PATH]';
const DESCRIPTION = 'Summarises what the store holds for a time range.';

export const command: Command = {
  summary: 'usage report: protocols, top users and hosts, alerts, unauthorized use',
  async run(argv) {
    const args = parseOrHelp(argv, SPECS, 'report', USAGE, DESCRIPTION);
    if (!args) return 0;
    const { opts, positional } = args;
    if (positional.length) throw new UsageError(`unexpected argument '${positional[0]}'`);
    const { openForReading, timeOpt, intOpt, formatOpt } = require('../../storage/cli') as typeof import('../../storage/cli');
    const format = formatOpt(opts.format, ['text', 'json', 'csv'], 'text');
    const now = Date.now();
    const from = timeOpt(opts.since ?? '7d', 'since', 0, now);
    const to = timeOpt(opts.until, 'until', now + 1, now);
    const top = intOpt(opts.top, 'top', 10, 1, 1000);
    const { db } = openForReading(opts);
    const { report } = require('../../storage/queries') as typeof import('../../storage/queries');
    const r = report(db, { from, to, sensor: opts.sensor as string | undefined, top });
    db.close();
    let text: string;
    if (format === 'json') text = JSON.stringify(r, null, 2) + '\n';
    else if (format === 'csv') text = toCsv(r);
    else text = toText(r);
    if (opts.out) {
      try {
        fs.writeFileSync(String(opts.out), text);
      } catch (e: any) {
        throw new UsageError(`cannot write ${opts.out}: ${e.code === 'ENOENT' ? 'no such directory' : e.message}`);
      }
    } else process.stdout.write(text);
    return 0;
  },
};

type Report = import('../../storage/queries').Report;

function toCsv(r: Report): string {
  const { csvRow } = require('../../storage/csv') as typeof import('../../storage/csv');
  // one table: section + generic columns, so a spreadsheet can filter by section
  let s = csvRow(['section', 'name', 'protocol', 'severity', 'sessions', 'users', 'hosts', 'messages', 'files', 'bytes', 'alerts', 'occurrences', 'open']);
  for (const p of r.protocols) s += csvRow(['protocol', p.protocol, p.protocol, '', p.sessions, p.users, p.hosts, p.messages, p.files, p.bytes, '', '', '']);
  for (const u of r.top_users) s += csvRow(['top_user', u.user, u.protocols, '', u.sessions, '', '', u.messages, '', u.bytes, '', '', '']);
  for (const h of r.top_hosts) s += csvRow(['top_host', h.host, h.protocols, '', h.sessions, h.users, '', '', '', h.bytes, '', '', '']);
  for (const a of r.alerts_by_kind) s += csvRow(['alert_kind', a.kind, '', a.severity, '', '', '', '', '', '', a.alerts, a.occurrences, a.open]);
  for (const [sev, a] of Object.entries(r.alerts_by_severity)) s += csvRow(['alert_severity', sev, '', sev, '', '', '', '', '', '', a.alerts, a.occurrences, a.open]);
  for (const u of r.unauthorized) s += csvRow(['unauthorized', u.protocol, u.protocol, '', '', u.users, u.hosts, '', '', '', u.alerts, u.occurrences, '']);
  return s;
}

function table(head: string[], rows: unknown[][]): string {
  const cells = [head, ...rows.map((r) => r.map((c) => escapeControl(String(c ?? ''))))];
  const w = head.map((_, i) => Math.min(40, Math.max(...cells.map((r) => String(r[i]).length))));
  return cells.map((r) => r.map((c, i) => String(c).slice(0, 40).padEnd(w[i])).join('  ').trimEnd()).join('\n') + '\n';
}

function toText(r: Report): string {
  const parts = [`shadowim report ${r.from} .. ${r.to}\n`];
  parts.push('\nUsage by protocol\n' + (r.protocols.length ? table(['protocol', 'sessions', 'users', 'hosts', 'messages', 'files', 'bytes'], r.protocols.map((p) => [p.protocol, p.sessions, p.users, p.hosts, p.messages, p.files, p.bytes])) : '(none)\n'));
  parts.push('\nTop users\n' + (r.top_users.length ? table(['user', 'protocols', 'sessions', 'messages', 'bytes'], r.top_users.map((u) => [u.user, u.protocols, u.sessions, u.messages, u.bytes])) : '(none)\n'));
  parts.push('\nTop hosts\n' + (r.top_hosts.length ? table(['host', 'protocols', 'sessions', 'users', 'bytes'], r.top_hosts.map((h) => [h.host, h.protocols, h.sessions, h.users, h.bytes])) : '(none)\n'));
  parts.push('\nAlerts by severity\n' + table(['severity', 'alerts', 'occurrences', 'open'], Object.entries(r.alerts_by_severity).map(([s, a]) => [s, a.alerts, a.occurrences, a.open])));
  parts.push('\nAlerts by kind\n' + (r.alerts_by_kind.length ? table(['kind', 'severity', 'alerts', 'occurrences', 'open'], r.alerts_by_kind.map((a) => [a.kind, a.severity, a.alerts, a.occurrences, a.open])) : '(none)\n'));
  parts.push('\nUnauthorized IM use\n' + (r.unauthorized.length ? table(['protocol', 'alerts', 'occurrences', 'users', 'hosts'], r.unauthorized.map((u) => [u.protocol, u.alerts, u.occurrences, u.users, u.hosts])) : '(none)\n'));
  return parts.join('');
}

// `shadowim report`: usage by protocol, top users and hosts, alerts by kind and severity, unauthorized use.
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from '../main';
import { whyCannotWrite } from '../../common/fsError';
import { parseOrHelp, UsageError, type OptionSpec } from '../args';

const SPECS: OptionSpec[] = [
  { name: 'since', value: true, arg: 'WHEN', help: 'from: 7d (default), 24h, an ISO date/time, all; or the calendar period today, yesterday, last-week (Monday to Monday) or last-month, to its end' },
  { name: 'until', value: true, arg: 'WHEN', help: 'until (default: now, or the end of the --since period)' },
  { name: 'tz', value: true, arg: 'ZONE', config: 'report.tz', help: 'time zone of the calendar periods, e.g. Europe/Berlin (default UTC)' },
  { name: 'sensor', value: true, arg: 'NAME', help: 'only what this sensor saw' },
  { name: 'top', value: true, arg: 'N', help: 'rows in the top users/hosts tables (default 10)' },
  { name: 'format', value: true, arg: 'FMT', help: 'text (default), json, csv or html (one self-contained page)' },
  { name: 'out', value: true, arg: 'FILE', help: 'write the report to FILE, or into DIR/ as shadowim-report-[<sensor>-]<from>_<to>.<ext> (prints the path)' },
  { name: 'store', value: true, arg: 'PATH', help: 'SQLite store (default: config store.path, else ./shadowim.db)' },
  { name: 'help', short: 'h', help: 'this help' },
];

const USAGE = 'shadowim report [--since 7d|yesterday|…] [--until WHEN] [--tz ZONE] [--format text|json|csv|html] [--out FILE|DIR/] [--store PATH]';
const DESCRIPTION = `Summarises what the store holds for a time range, [since, until). Calendar periods begin at
midnight (UTC unless --tz or report.tz says otherwise), so daily runs of --since yesterday tile exactly.`;

// For tests only: the moment the report takes as now (ISO time or ms), so calendar periods can be checked.
const NOW_ENV = 'SHADOWIM_REPORT_NOW';

export const command: Command = {
  summary: 'usage report: protocols, top users and hosts, alerts, unauthorized use',
  async run(argv) {
    const args = parseOrHelp(argv, SPECS, 'report', USAGE, DESCRIPTION);
    if (!args) return 0;
    const { opts, positional } = args;
    if (positional.length) throw new UsageError(`unexpected argument '${positional[0]}'`);
    const { openForReading, intOpt, formatOpt } = require('../../storage/cli') as typeof import('../../storage/cli');
    const { REPORT_FORMATS, formatReport, reportFileName } = require('../../storage/report-format') as typeof import('../../storage/report-format');
    const format = formatOpt(opts.format, [...REPORT_FORMATS], 'text') as import('../../storage/report-format').ReportFormat;
    const now = reportNow();
    const { from, to } = reportRange(opts, now);
    const top = intOpt(opts.top, 'top', 10, 1, 1000);
    const { db } = openForReading(opts);
    const { report } = require('../../storage/queries') as typeof import('../../storage/queries');
    const sensor = opts.sensor as string | undefined;
    const r = report(db, { from, to, sensor, top });
    db.close();
    const text = formatReport(r, format, { sensor });
    if (opts.out !== undefined) {
      const out = String(opts.out);
      if (out.endsWith('/') || isDir(out)) {
        const file = path.join(out, reportFileName(r, format, sensor));
        writeAtomic(file, text, `to ${out}`);
        process.stdout.write(file + '\n');
      } else writeAtomic(out, text, out);
    } else process.stdout.write(text);
    return 0;
  },
};

function reportNow(): number {
  const v = process.env[NOW_ENV];
  if (!v) return Date.now();
  const t = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isFinite(t)) throw new UsageError(`$${NOW_ENV} '${v.slice(0, 40)}' is not a time (ms or ISO)`);
  return t;
}

/** --since/--until; a calendar word in --since gives the period, and its end unless --until is given */
function reportRange(opts: Record<string, unknown>, now: number): { from: number; to: number } {
  const { timeOpt } = require('../../storage/cli') as typeof import('../../storage/cli');
  const cal = require('../../common/calendar') as typeof import('../../common/calendar');
  const words = cal.CALENDAR_WORDS.join(', ');
  const until = opts.until as string | undefined;
  if (until !== undefined && cal.isCalendarWord(until.trim())) {
    throw new UsageError(`--until ${until.trim()}: calendar periods (${words}) go with --since, which then ends the report at the end of the period`);
  }
  const tz = tzOpt(opts.tz);
  const since = String(opts.since ?? '7d').trim();
  if (!cal.isCalendarWord(since)) return { from: timeOpt(since, 'since', 0, now), to: timeOpt(until, 'until', now + 1, now) };
  const p = cal.calendarPeriod(since, now, tz);
  // today's period is not over: it ends now, as any report does
  return { from: p.from, to: until !== undefined ? timeOpt(until, 'until', 0, now) : Math.min(p.to, now + 1) };
}

function tzOpt(v: unknown): string {
  if (v === undefined) return 'UTC';
  const { checkTimeZone, CalendarError } = require('../../common/calendar') as typeof import('../../common/calendar');
  try {
    return checkTimeZone(String(v));
  } catch (e) {
    if (e instanceof CalendarError) throw new UsageError(`--tz: ${e.message}`);
    throw e;
  }
}

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** temp file in the same directory, mode 0640 whatever the umask, then rename: a reader never sees half a report */
function writeAtomic(file: string, text: string, what: string): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    const fd = fs.openSync(tmp, 'wx', 0o640);
    try {
      fs.fchmodSync(fd, 0o640);
      fs.writeFileSync(fd, text);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    try {
      fs.unlinkSync(tmp);
    } catch {
      /* never created */
    }
    throw new UsageError(`cannot write ${what}: ${whyCannotWrite(e, file)}`);
  }
}

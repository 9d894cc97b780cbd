// Calendar periods (today, yesterday, last-week, last-month) as [start, end) in ms, in a time zone
// (UTC unless told otherwise). Consecutive periods share their boundary, so daily reports tile the
// time line exactly whenever in the day they run.

export class CalendarError extends Error {}

export const CALENDAR_WORDS = ['today', 'yesterday', 'last-week', 'last-month'] as const;
export type CalendarWord = (typeof CALENDAR_WORDS)[number];

export function isCalendarWord(v: string): v is CalendarWord {
  return (CALENDAR_WORDS as readonly string[]).includes(v);
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    } catch {
      throw new CalendarError(`unknown time zone '${tz.slice(0, 60)}'; use UTC or a name such as Europe/Berlin or America/New_York`);
    }
    formatters.set(tz, f);
  }
  return f;
}

/** the zone's name as Intl knows it; throws CalendarError for an unknown one */
export function checkTimeZone(tz: string): string {
  return formatter(tz).resolvedOptions().timeZone;
}

/** wall-clock time in `tz` at `t`, as if it were UTC (ms, whole seconds) */
function wall(t: number, tz: string): number {
  const p: Record<string, number> = {};
  for (const part of formatter(tz).formatToParts(t)) if (part.type !== 'literal') p[part.type] = Number(part.value);
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
}

/** the first instant of the local date y-m-d (m 1-based, d may overflow) in `tz` */
function startOfDay(y: number, m: number, d: number, tz: string): number {
  const day = Date.UTC(y, m - 1, d);
  const offset = (t: number) => wall(t, tz) - Math.floor(t / 1000) * 1000;
  const first = day - offset(day);
  const t = day - offset(first);
  // where a DST change skips midnight, the day begins at the change (`first`)
  return wall(t, tz) < day ? first : t;
}

/** The period a calendar word names, at `now`, in `tz`: [from, to). `today` ends at tomorrow's start. */
export function calendarPeriod(word: CalendarWord, now: number, tz = 'UTC'): { from: number; to: number } {
  const today = new Date(wall(now, tz));
  const y = today.getUTCFullYear(), m = today.getUTCMonth() + 1, d = today.getUTCDate();
  const at = (dd: number, mm = m) => startOfDay(y, mm, dd, tz);
  switch (word) {
    case 'today':
      return { from: at(d), to: at(d + 1) };
    case 'yesterday':
      return { from: at(d - 1), to: at(d) };
    case 'last-week': {
      // ISO weeks: Monday to Monday
      const monday = d - ((today.getUTCDay() + 6) % 7);
      return { from: at(monday - 7), to: at(monday) };
    }
    case 'last-month':
      return { from: at(1, m - 1), to: at(1) };
  }
}

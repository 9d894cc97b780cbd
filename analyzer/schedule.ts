// "At which hours": days of the week plus time ranges, in a named time zone (IANA, default UTC).
// Ranges may cross midnight ("22:00-06:00"); the part after midnight belongs to the starting day.

export const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

export interface Schedule {
  /** bit d set = weekday d (0 = Sunday) allowed */
  days: number;
  /** minutes since local midnight, [from, to); to may be ≤ from (crosses midnight) */
  ranges: Array<[number, number]>;
  timezone: string;
  /** as written, for explanations */
  text: string;
}

const fmtCache = new Map<string, Intl.DateTimeFormat>();
function formatter(tz: string): Intl.DateTimeFormat {
  let f = fmtCache.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', weekday: 'short', hour: '2-digit', minute: '2-digit' });
    fmtCache.set(tz, f);
  }
  return f;
}

export function validTimezone(tz: string): boolean {
  try {
    formatter(tz);
    return true;
  } catch {
    return false;
  }
}

// Intl's formatToParts is slow and every event with a time rule asks: answers are kept per zone and
// UTC second (time zone offsets and their changes are whole seconds, so the local weekday and minute
// cannot change within one). Events of a few seconds share them (a session event carries its start
// time, older than the messages around it). Bounded: a zone's answers are dropped when it has many.
const MAX_SECONDS = 4096;
const kept = new Map<string, Map<number, { readonly day: number; readonly minute: number }>>();

/** Local weekday (0 = Sunday) and minute of day of an instant in `tz`. */
export function localTime(ms: number, tz: string): { readonly day: number; readonly minute: number } {
  const sec = Math.floor(ms / 1000);
  let zone = kept.get(tz);
  const hit = zone?.get(sec);
  if (hit) return hit;
  const local = formatLocal(ms, tz);
  if (!zone) {
    if (kept.size >= 256) kept.clear();
    kept.set(tz, (zone = new Map()));
  } else if (zone.size >= MAX_SECONDS) zone.clear();
  if (Number.isFinite(sec)) zone.set(sec, local);
  return local;
}

function formatLocal(ms: number, tz: string): { day: number; minute: number } {
  let day = 0;
  let h = 0;
  let m = 0;
  for (const p of formatter(tz).formatToParts(ms)) {
    if (p.type === 'weekday') day = DAY_NAMES.indexOf(p.value.toLowerCase().slice(0, 3));
    else if (p.type === 'hour') h = Number(p.value);
    else if (p.type === 'minute') m = Number(p.value);
  }
  return { day, minute: h * 60 + m };
}

export function inSchedule(s: Schedule, ms: number): boolean {
  const { day, minute } = localTime(ms, s.timezone);
  for (const [from, to] of s.ranges) {
    if (from < to) {
      if (minute >= from && minute < to && s.days & (1 << day)) return true;
    } else {
      // crosses midnight: evening of an allowed day, or early morning after one
      if (minute >= from && s.days & (1 << day)) return true;
      if (minute < to && s.days & (1 << ((day + 6) % 7))) return true;
    }
  }
  return false;
}

/** Parses "mon-fri", "sat,sun", "weekdays", "weekends", "daily"/"all"/"any". Throws a one-line reason. */
export function parseDays(items: string[]): number {
  let mask = 0;
  for (const raw of items) {
    for (const part of raw.toLowerCase().split(',').map((x) => x.trim()).filter(Boolean)) {
      if (part === 'weekdays') mask |= 0b0111110;
      else if (part === 'weekends') mask |= 0b1000001;
      else if (part === 'daily' || part === 'all' || part === 'any' || part === 'every day') mask |= 0b1111111;
      else {
        const m = /^([a-z]+)\s*(?:-\s*([a-z]+))?$/.exec(part);
        const a = m ? DAY_NAMES.indexOf(m[1].slice(0, 3)) : -1;
        const b = m && m[2] ? DAY_NAMES.indexOf(m[2].slice(0, 3)) : a;
        if (!m || a < 0 || b < 0 || (m[1].length > 3 && !fullDay(m[1])) || (m[2] && m[2].length > 3 && !fullDay(m[2]))) {
          throw new Error(`'${raw}' is not a day or day range (use mon, tue, …, sun, ranges like mon-fri, weekdays, weekends or daily)`);
        }
        for (let d = a; ; d = (d + 1) % 7) {
          mask |= 1 << d;
          if (d === b) break;
        }
      }
    }
  }
  return mask;
}

function fullDay(s: string): boolean {
  return ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'].includes(s);
}

/** Parses "08:00-18:00" (24-hour clock; "24:00" allowed as an end). Throws a one-line reason. */
export function parseRange(s: string): [number, number] {
  const t = s.trim().toLowerCase();
  if (t === 'all day' || t === 'any' || t === '00:00-24:00') return [0, 1440];
  const m = /^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$/.exec(t);
  if (!m) throw new Error(`'${s}' is not a time range (write HH:MM-HH:MM, 24-hour clock, e.g. 08:00-18:00)`);
  const a = Number(m[1]) * 60 + Number(m[2]);
  const b = Number(m[3]) * 60 + Number(m[4]);
  if (Number(m[1]) > 23 || Number(m[2]) > 59 || Number(m[4]) > 59 || b > 1440) throw new Error(`'${s}' has an impossible time of day`);
  if (a === b) throw new Error(`'${s}' is an empty time range`);
  return [a, b];
}

export function describeSchedule(s: Schedule): string {
  return s.text;
}

export function dayList(mask: number): string {
  if (mask === 0b1111111) return 'every day';
  if (mask === 0b0111110) return 'Monday to Friday';
  if (mask === 0b1000001) return 'weekends';
  return DAY_NAMES.filter((_, i) => mask & (1 << i)).join(', ');
}

export function minuteText(m: number): string {
  return `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
}

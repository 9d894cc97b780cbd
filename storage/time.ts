// Time arguments for search, report and the dashboard: "7d", "24h", "30m", "2w" (before now), an ISO
// date or date-time, or "all".

export class TimeArgError extends Error {}

const UNIT: Record<string, number> = { s: 1000, m: 60_000, h: 3600_000, d: 86400_000, w: 7 * 86400_000 };

export function parseTime(s: string, now = Date.now(), what = 'time'): number {
  const v = s.trim();
  if (v === 'all') return 0;
  if (v === 'now') return now;
  const rel = /^(\d{1,6})(s|m|h|d|w)$/.exec(v);
  if (rel) return now - Number(rel[1]) * UNIT[rel[2]];
  if (/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(v)) {
    // a bare date or date-time without zone is UTC, like every time the product prints
    const iso = /[Zz]|[+-]\d{2}:?\d{2}$/.test(v) || v.length === 10 ? v : v + 'Z';
    const t = Date.parse(iso);
    if (Number.isFinite(t)) return t;
  }
  throw new TimeArgError(`${what} '${v.slice(0, 40)}' is not a time; use e.g. 7d, 24h, 30m, 2024-01-15, 2024-01-15T09:30:00Z or all`);
}

export const iso = (ms: number | null | undefined): string | null => (ms === null || ms === undefined ? null : new Date(ms).toISOString());

// common/calendar.ts: calendar periods begin at local midnight and follow each other without gap or overlap.
import assert from 'node:assert/strict';
import { calendarPeriod, CalendarError, checkTimeZone } from '../../common/calendar';

const at = (iso: string) => Date.parse(iso);
const period = (word: Parameters<typeof calendarPeriod>[0], now: string, tz?: string) => {
  const p = calendarPeriod(word, at(now), tz);
  return [new Date(p.from).toISOString(), new Date(p.to).toISOString()];
};

describe('common/calendar: calendar periods', () => {
  it('in UTC: today, yesterday, last week (Monday to Monday), last month, across a year boundary', () => {
    assert.deepEqual(period('yesterday', '2024-01-16T00:17:23.456Z'), ['2024-01-15T00:00:00.000Z', '2024-01-16T00:00:00.000Z']);
    assert.deepEqual(period('yesterday', '2024-01-16T23:59:59.999Z'), ['2024-01-15T00:00:00.000Z', '2024-01-16T00:00:00.000Z']);
    assert.deepEqual(period('yesterday', '2024-01-01T00:00:00.000Z'), ['2023-12-31T00:00:00.000Z', '2024-01-01T00:00:00.000Z']);
    assert.deepEqual(period('yesterday', '2024-03-01T06:00:00Z'), ['2024-02-29T00:00:00.000Z', '2024-03-01T00:00:00.000Z']);
    assert.deepEqual(period('today', '2024-01-16T13:00:00Z'), ['2024-01-16T00:00:00.000Z', '2024-01-17T00:00:00.000Z']);
    // 2024-01-15 is a Monday
    assert.deepEqual(period('last-week', '2024-01-15T00:10:00Z'), ['2024-01-08T00:00:00.000Z', '2024-01-15T00:00:00.000Z']);
    assert.deepEqual(period('last-week', '2024-01-21T23:00:00Z'), ['2024-01-08T00:00:00.000Z', '2024-01-15T00:00:00.000Z']);
    assert.deepEqual(period('last-week', '2024-01-03T12:00:00Z'), ['2023-12-25T00:00:00.000Z', '2024-01-01T00:00:00.000Z']);
    assert.deepEqual(period('last-month', '2024-01-03T12:00:00Z'), ['2023-12-01T00:00:00.000Z', '2024-01-01T00:00:00.000Z']);
    assert.deepEqual(period('last-month', '2024-03-31T23:59:59Z'), ['2024-02-01T00:00:00.000Z', '2024-03-01T00:00:00.000Z']);
  });

  it('yesterday, run once each local day at a different moment, for a year: every period starts where the last ended', () => {
    for (const tz of ['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kathmandu', 'America/Sao_Paulo']) {
      let prev: { from: number; to: number } | undefined;
      for (let day = 0; day < 366; day++) {
        const dayStart = calendarPeriod('today', Date.UTC(2018, 9, 1, 12) + day * 86400_000, tz).from;
        const now = dayStart + ((day * 7919) % (23 * 60)) * 60_000 + (day % 1000); // somewhere in the (possibly 23-hour) day
        const p = calendarPeriod('yesterday', now, tz);
        assert.equal(p.to, dayStart, `${tz} ${new Date(now).toISOString()}`);
        if (prev) assert.equal(p.from, prev.to, `${tz}: gap or overlap at ${new Date(now).toISOString()}`);
        assert.ok(p.to - p.from >= 23 * 3600_000 && p.to - p.from <= 25 * 3600_000);
        prev = p;
      }
    }
  });

  it('in a time zone: local midnight, 23- and 25-hour days at DST changes, a skipped midnight, a 45-minute offset', () => {
    assert.deepEqual(period('yesterday', '2024-01-16T12:00:00Z', 'Europe/Berlin'), ['2024-01-14T23:00:00.000Z', '2024-01-15T23:00:00.000Z']);
    // 2024-03-10 and 2024-11-03: New York changes clocks
    assert.deepEqual(period('yesterday', '2024-03-11T12:00:00Z', 'America/New_York'), ['2024-03-10T05:00:00.000Z', '2024-03-11T04:00:00.000Z']);
    assert.deepEqual(period('yesterday', '2024-11-04T12:00:00Z', 'America/New_York'), ['2024-11-03T04:00:00.000Z', '2024-11-04T05:00:00.000Z']);
    // 2018-11-04 in São Paulo: 00:00 became 01:00, so the day began at 01:00 local (03:00Z)
    assert.deepEqual(period('yesterday', '2018-11-05T12:00:00Z', 'America/Sao_Paulo'), ['2018-11-04T03:00:00.000Z', '2018-11-05T02:00:00.000Z']);
    // 2019-02-17: 00:00 became 23:00 of the 16th, which therefore lasted 25 hours
    assert.deepEqual(period('yesterday', '2019-02-17T12:00:00Z', 'America/Sao_Paulo'), ['2019-02-16T02:00:00.000Z', '2019-02-17T03:00:00.000Z']);
    assert.deepEqual(period('yesterday', '2024-01-16T12:00:00Z', 'Asia/Kathmandu'), ['2024-01-14T18:15:00.000Z', '2024-01-15T18:15:00.000Z']);
    // early in the UTC day it is already tomorrow in Auckland
    assert.deepEqual(period('today', '2024-01-16T13:00:00Z', 'Pacific/Auckland'), ['2024-01-16T11:00:00.000Z', '2024-01-17T11:00:00.000Z']);
  });

  it('names a time zone it does not know in one line', () => {
    assert.equal(checkTimeZone('Europe/Berlin'), 'Europe/Berlin');
    assert.throws(() => checkTimeZone('Mars/Olympus'), (e: Error) => e instanceof CalendarError && e.message === "unknown time zone 'Mars/Olympus'; use UTC or a name such as Europe/Berlin or America/New_York");
  });
});

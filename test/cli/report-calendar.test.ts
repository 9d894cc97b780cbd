// `shadowim report --since yesterday|today|last-week|last-month`: calendar periods, so that daily runs
// tile the time line whatever moment the timer's random delay picks. "Now" is fixed through
// $SHADOWIM_REPORT_NOW, which exists for these tests only.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ShadowEvent } from '../../common/events';
import { shadowim } from '../helpers/run';
import { fillStore } from '../helpers/store';

const NO_ENV = { SHADOWIM_CONFIG: '' };
/** one session and one message of `user` at `iso` */
function chat(user: string, iso: string): ShadowEvent[] {
  const client = { ip: '10.0.0.5', port: 40000 }, server = { ip: '198.51.100.7', port: 6667 };
  return [
    { type: 'session', ts: iso, sensor: 's1', protocol: 'irc', transport: 'tcp', client, server, users: [user], start: iso, end: iso, packets: 3, bytes: 100, encrypted: false, evidence: [] } as ShadowEvent,
    { type: 'message', ts: iso, sensor: 's1', protocol: 'irc', from: user, to: 'bob', text: 'hi', direction: 'outbound', client, server } as ShadowEvent,
  ];
}
// the instants either side of the midnights of 15, 16 and 17 January 2024 (UTC)
const EVENTS: Array<[string, string]> = [
  ['before15', '2024-01-14T23:59:59.999Z'],
  ['start15', '2024-01-15T00:00:00.000Z'],
  ['end15', '2024-01-15T23:59:59.000Z'],
  ['last15', '2024-01-15T23:59:59.999Z'],
  ['start16', '2024-01-16T00:00:00.000Z'],
  ['end16', '2024-01-16T23:59:59.000Z'],
  ['start17', '2024-01-17T00:00:00.000Z'],
];

describe('shadowim report: calendar periods (--since yesterday, today, last-week, last-month; --tz)', function () {
  this.timeout(60000);
  let tmp: string;
  let store: string;
  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-report-cal-'));
    store = path.join(tmp, 's.db');
    await fillStore(store, EVENTS.flatMap(([user, iso]) => chat(user, iso)));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  const report = (now: string, args: string[], env: Record<string, string> = {}) => {
    const r = shadowim(['report', '--store', store, '--format', 'json', ...args], { env: { ...NO_ENV, SHADOWIM_REPORT_NOW: now, ...env } });
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    return { from: j.from, to: j.to, users: j.top_users.map((u: any) => u.user).sort(), sessions: j.protocols[0]?.sessions ?? 0, messages: j.protocols[0]?.messages ?? 0 };
  };

  it('two consecutive daily runs at different moments: 23:59:59 and 00:00:00 each fall into exactly one report', () => {
    const day15 = report('2024-01-16T00:17:42.123Z', ['--since', 'yesterday']);
    const day16 = report('2024-01-17T00:03:05.000Z', ['--since', 'yesterday']);
    assert.deepEqual([day15.from, day15.to], ['2024-01-15T00:00:00.000Z', '2024-01-16T00:00:00.000Z']);
    assert.deepEqual([day16.from, day16.to], ['2024-01-16T00:00:00.000Z', '2024-01-17T00:00:00.000Z']);
    assert.deepEqual(day15.users, ['end15', 'last15', 'start15']);
    assert.deepEqual(day16.users, ['end16', 'start16']);
    assert.deepEqual([day15.sessions, day15.messages, day16.sessions, day16.messages], [3, 3, 2, 2], 'sessions and messages alike');
    // the same day, run late in the evening of the next one, is the same report
    assert.deepEqual(report('2024-01-16T23:59:59.999Z', ['--since', 'yesterday']), day15);
  });

  it('--out DIR/ names consecutive daily pages by their shared midnight', () => {
    const dir = path.join(tmp, 'pages') + '/';
    fs.mkdirSync(dir);
    for (const now of ['2024-01-16T00:12:00Z', '2024-01-17T00:19:59Z']) {
      const r = shadowim(['report', '--store', store, '--since', 'yesterday', '--format', 'html', '--out', dir], { env: { ...NO_ENV, SHADOWIM_REPORT_NOW: now } });
      assert.equal(r.status, 0, r.stderr);
    }
    assert.deepEqual(fs.readdirSync(dir).sort(), ['shadowim-report-2024-01-15T000000Z_2024-01-16T000000Z.html', 'shadowim-report-2024-01-16T000000Z_2024-01-17T000000Z.html']);
  });

  it('today ends now; last-week is Monday to Monday; --until still wins over the period\'s end', () => {
    const today = report('2024-01-16T12:00:00.000Z', ['--since', 'today']);
    assert.deepEqual([today.from, today.to, today.users], ['2024-01-16T00:00:00.000Z', '2024-01-16T12:00:00.001Z', ['start16']]);
    // 2024-01-22 is a Monday: last week is 15-22 January
    const week = report('2024-01-22T00:10:00Z', ['--since', 'last-week']);
    assert.deepEqual([week.from, week.to, week.users], ['2024-01-15T00:00:00.000Z', '2024-01-22T00:00:00.000Z', ['end15', 'end16', 'last15', 'start15', 'start16', 'start17']]);
    const month = report('2024-02-01T00:10:00Z', ['--since', 'last-month']);
    assert.deepEqual([month.from, month.to, month.users.length], ['2024-01-01T00:00:00.000Z', '2024-02-01T00:00:00.000Z', EVENTS.length]);
    const cut = report('2024-01-22T00:10:00Z', ['--since', 'last-week', '--until', '2024-01-16']);
    assert.deepEqual([cut.to, cut.users], ['2024-01-16T00:00:00.000Z', ['end15', 'last15', 'start15']]);
  });

  it('--tz and report.tz move the midnights to that zone; the command line wins', () => {
    // in New York (UTC-5 in January) the 15th runs from 05:00Z to 05:00Z the next day
    const ny = report('2024-01-16T12:00:00Z', ['--since', 'yesterday', '--tz', 'America/New_York']);
    assert.deepEqual([ny.from, ny.to, ny.users], ['2024-01-15T05:00:00.000Z', '2024-01-16T05:00:00.000Z', ['end15', 'last15', 'start16']]);
    const cfg = path.join(tmp, 'tz.yaml');
    fs.writeFileSync(cfg, 'report:\n  tz: Asia/Tokyo\n');
    const tokyo = report('2024-01-16T12:00:00Z', ['--since', 'yesterday', '--config', cfg]);
    assert.deepEqual([tokyo.from, tokyo.to], ['2024-01-14T15:00:00.000Z', '2024-01-15T15:00:00.000Z']);
    const utc = report('2024-01-16T12:00:00Z', ['--since', 'yesterday', '--config', cfg, '--tz', 'UTC']);
    assert.deepEqual([utc.from, utc.to], ['2024-01-15T00:00:00.000Z', '2024-01-16T00:00:00.000Z']);
  });

  it('mistakes are one line: an unknown zone, a calendar word in --until, report.tz in the file', () => {
    const one = (args: string[], env: Record<string, string> = {}) => {
      const r = shadowim(['report', '--store', store, ...args], { env: { ...NO_ENV, ...env } });
      assert.equal(r.status, 2, r.stderr);
      assert.equal(r.stdout, '');
      return r.stderr;
    };
    assert.equal(one(['--since', 'yesterday', '--tz', 'Mars/Olympus']), "shadowim: --tz: unknown time zone 'Mars/Olympus'; use UTC or a name such as Europe/Berlin or America/New_York\n");
    assert.equal(one(['--since', '2024-01-01', '--until', 'yesterday']), 'shadowim: --until yesterday: calendar periods (today, yesterday, last-week, last-month) go with --since, which then ends the report at the end of the period\n');
    assert.match(one(['--since', 'the-day-before']), /^shadowim: --since 'the-day-before' is not a time; use e\.g\. 7d/);
    const bad = path.join(tmp, 'badtz.yaml');
    fs.writeFileSync(bad, 'store:\n  retention_days: 0\nreport:\n  tz: Europe/Atlantis\n');
    assert.equal(one(['--since', 'yesterday', '--config', bad]), `shadowim: ${bad}:4: report.tz: unknown time zone 'Europe/Atlantis'; use UTC or a name such as Europe/Berlin or America/New_York\n`);
    const help = shadowim(['report', '--help'], { env: NO_ENV });
    assert.match(help.stdout, /--tz ZONE .*\[config: report\.tz\]/);
    assert.match(help.stdout, /--since WHEN .*yesterday/);
  });
});

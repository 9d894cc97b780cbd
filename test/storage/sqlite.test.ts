// The SQLite store as a user meets it: `analyze --store` on a generated capture, then `search` and
// `report`; plus retention, the archive off-switch, alert upserts/acks, and redaction at rest.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Capture } from '../helpers/pcapgen';
import { shadowim } from '../helpers/run';
import { CLI, REPO } from '../helpers/paths';
import { spawnSync } from 'node:child_process';
import { openStore } from '../../storage/store';
import { SqliteSink } from '../../storage/sqlite-sink';
import { ackAlert, getAlert, listAlerts, overview, searchMessages, sensors } from '../../storage/queries';
import { defaults } from '../../common/config';

const CLIENT = '10.0.0.5:40001';
const SERVER = '198.51.100.7:6667';

/** An IRC session: alice registers and writes to bob and to #ops (ground truth for the assertions). */
function ircCapture(file: string, lines: string[]): number {
  const c = new Capture();
  const t = c.tcp(CLIENT, SERVER);
  t.open();
  t.send('c', 'NICK alice\r\nUSER alice 0 * :Alice\r\n');
  t.send('s', ':irc.example.net 001 alice :Welcome\r\n');
  for (const l of lines) t.send('c', l + '\r\n');
  t.close();
  fs.writeFileSync(file, c.pcap());
  return c.frames.length;
}

const MESSAGES = ['PRIVMSG bob :the quarterly numbers are ready', 'PRIVMSG #ops :=HYPERLINK("http://x.example/","click") deploy tonight', 'PRIVMSG bob :lunch at noon?'];

describe('storage: SQLite store through the CLI', function () {
  this.timeout(120000);
  let tmp: string;
  let cap: string;
  let store: string;
  let frames: number;

  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-store-test-'));
    cap = path.join(tmp, 'irc.pcap');
    store = path.join(tmp, 'store.db');
    frames = ircCapture(cap, MESSAGES);
    const r = shadowim(['analyze', cap, '--format', 'jsonl', '--store', store, '--sensor', 'lab-1'], { env: { SHADOWIM_CONFIG: '' } });
    assert.equal(r.status, 0, r.stderr);
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('search returns every stored message with sender, recipient and text', () => {
    const r = shadowim(['search', '--store', store, '--format', 'jsonl', '--since', 'all']);
    assert.equal(r.status, 0, r.stderr);
    const got = r.events.map((m) => [m.from, m.to, m.text, m.protocol, m.sensor]).reverse();
    assert.deepEqual(got, [
      ['alice', 'bob', 'the quarterly numbers are ready', 'irc', 'lab-1'],
      ['alice', '#ops', '=HYPERLINK("http://x.example/","click") deploy tonight', 'irc', 'lab-1'],
      ['alice', 'bob', 'lunch at noon?', 'irc', 'lab-1'],
    ]);
  });

  it('search filters by text, user, protocol and time', () => {
    const q = (...a: string[]) => shadowim(['search', '--store', store, '--format', 'jsonl', ...a]).events.map((m) => m.text);
    assert.deepEqual(q('--text', 'QUARTERLY numbers'), ['the quarterly numbers are ready']);
    assert.deepEqual(q('--text', 'quarterly lunch'), [], 'all words must occur');
    assert.deepEqual(q('--user', '#ops'), ['=HYPERLINK("http://x.example/","click") deploy tonight']);
    assert.equal(q('--user', 'bob').length, 2);
    assert.equal(q('--protocol', 'xmpp').length, 0);
    assert.equal(q('--protocol', 'irc', '--limit', '1').length, 1);
    // the capture is from 2024-01-15 09:30 UTC
    assert.equal(q('--since', '2024-01-15T09:00:00Z', '--until', '2024-01-15T10:00:00Z').length, 3);
    assert.equal(q('--since', '2024-01-15T10:00:00Z').length, 0);
    assert.equal(q('--since', '7d').length, 0, 'a week ago is after the capture');
  });

  it('search CSV neutralises spreadsheet formulas; bad arguments give one line', () => {
    const r = shadowim(['search', '--store', store, '--format', 'csv', '--user', '#ops']);
    const row = r.stdout.split('\r\n')[1];
    assert.match(row, /,"'=HYPERLINK\(""http:\/\/x\.example\/"",""click""\) deploy tonight",/);
    const bad = shadowim(['search', '--store', store, '--since', 'last tuesday']);
    assert.equal(bad.status, 2);
    assert.equal(bad.stderr.trim().split('\n').length, 1);
    assert.match(bad.stderr, /--since 'last tuesday' is not a time/);
    const none = shadowim(['search', '--store', path.join(tmp, 'missing.db')]);
    assert.notEqual(none.status, 0);
    assert.match(none.stderr, /no store at .*missing\.db/);
  });

  it('report shows usage by protocol, top users and hosts', () => {
    const r = shadowim(['report', '--store', store, '--since', 'all', '--format', 'json']);
    assert.equal(r.status, 0, r.stderr);
    const rep = JSON.parse(r.stdout);
    const irc = rep.protocols.find((p: any) => p.protocol === 'irc');
    assert.ok(irc, JSON.stringify(rep.protocols));
    assert.equal(irc.sessions, 1);
    assert.equal(irc.messages, 3);
    assert.equal(irc.users, 1); // alice (recipients are not users of the network)
    assert.ok(irc.bytes > 0);
    assert.equal(rep.top_users[0].user, 'alice');
    assert.equal(rep.top_hosts[0].host, '10.0.0.5');
    const text = shadowim(['report', '--store', store, '--since', 'all']).stdout;
    assert.match(text, /Usage by protocol\nprotocol +sessions +users +hosts +messages +files +bytes\nirc +1 +1 +1 +3 +0 +\d+/);
    const out = path.join(tmp, 'r.csv');
    assert.equal(shadowim(['report', '--store', store, '--since', 'all', '--format', 'csv', '--out', out]).status, 0);
    assert.match(fs.readFileSync(out, 'utf8'), /^section,name,protocol,/);
    assert.match(fs.readFileSync(out, 'utf8'), /\r\nprotocol,irc,irc,,1,1,1,3,0,\d+/);
    const week = JSON.parse(shadowim(['report', '--store', store, '--format', 'json']).stdout);
    assert.deepEqual(week.protocols, [], 'the default range is the last 7 days; the capture is older');
  });

  it('keeps sensor counters from the stats event', () => {
    const db = openStore(store, { readonly: true });
    const s = sensors(db).find((x) => x.name === 'lab-1');
    db.close();
    assert.ok(s);
    assert.equal(s.packets, frames);
    assert.equal(s.first_seen!.slice(0, 16), '2024-01-15T09:30');
  });

  it('archive.enabled: false stores no message text but still sessions and who wrote to whom', () => {
    const cfg = path.join(tmp, 'noarchive.yaml');
    fs.writeFileSync(cfg, 'archive:\n  enabled: false\n');
    const st = path.join(tmp, 'noarchive.db');
    const r = shadowim(['analyze', cap, '--format', 'jsonl', '--store', st], { env: { SHADOWIM_CONFIG: cfg } });
    assert.equal(r.status, 0, r.stderr);
    const rows = shadowim(['search', '--store', st, '--format', 'jsonl']).events;
    assert.equal(rows.length, 3);
    assert.ok(rows.every((m) => m.text === null && m.from === 'alice'));
    assert.equal(shadowim(['search', '--store', st, '--format', 'jsonl', '--text', 'quarterly']).events.length, 0);
    const rep = JSON.parse(shadowim(['report', '--store', st, '--since', 'all', '--format', 'json']).stdout);
    assert.equal(rep.protocols[0].sessions, 1);
    const bytes = Buffer.concat([st, st + '-wal'].filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f)));
    assert.equal(bytes.indexOf('quarterly numbers'), -1, 'message text is nowhere in the file');
  });

  it('works from any directory (the store worker finds its modules)', () => {
    const st = path.join(tmp, 'elsewhere.db');
    const r = spawnSync(process.execPath, [CLI, 'analyze', cap, '--format', 'jsonl', '--store', st], { cwd: os.tmpdir(), env: { ...process.env, SHADOWIM_CONFIG: '' } });
    assert.equal(r.status, 0, r.stderr.toString());
    assert.equal(shadowim(['search', '--store', st, '--format', 'jsonl']).events.length, 3);
  });

  it('a store path that is a directory, a device or a pipe is one line saying what to give (was SQLite\'s "unable to open database file" / "disk I/O error")', () => {
    const fifo = path.join(tmp, 'pipe.db');
    spawnSync('mkfifo', [fifo]);
    const cases: Array<[string[], string, RegExp]> = [
      [['analyze', cap, '--format', 'jsonl'], tmp, /it is a directory; give the path of a store file \(made if missing\)$/],
      [['analyze', cap, '--format', 'jsonl'], '/dev/null', /not a regular file \(a device, pipe or socket\); give the path of a store file$/],
      [['search', '--text', 'x'], '/dev/null', /not a regular file/],
    ];
    if (fs.existsSync(fifo)) cases.push([['report'], fifo, /not a regular file/]);
    for (const [args, st, re] of cases) {
      const r = shadowim([...args, '--store', st], { timeout: 30000 });
      assert.notEqual(r.status, 0);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr.trim(), new RegExp(`^shadowim: cannot open store ${st.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: `));
      assert.match(r.stderr.trim(), re);
    }
  });

  it('a config error names the file and line', () => {
    const cfg = path.join(tmp, 'bad.yaml');
    fs.writeFileSync(cfg, 'store:\n  path: x.db\narchive:\n  retention_dayz: 3\n');
    const r = shadowim(['analyze', cap, '--format', 'jsonl', '--store', path.join(tmp, 'x.db')], { env: { SHADOWIM_CONFIG: cfg } });
    assert.notEqual(r.status, 0);
    assert.equal(r.stderr.trim(), `shadowim: ${cfg}:4: unknown key 'retention_dayz' in archive; known keys: enabled, metadata, retention_days`);
  });
});

describe('storage: SQLite sink and queries', () => {
  let tmp: string;
  beforeEach(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-sink-test-'))));
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const ep = (ip: string, port: number) => ({ ip, port });

  it('deletes archived messages past archive.retention_days (counted from when they were stored)', () => {
    let now = Date.UTC(2026, 0, 1);
    const db = openStore(path.join(tmp, 's.db'));
    const archive = { enabled: true, metadata: true, retention_days: 30 };
    const sink = new SqliteSink(db, { sensor: 's', archive, now: () => now });
    sink.write({ type: 'message', ts: '2024-01-15T09:30:00Z', protocol: 'irc', from: 'a', to: 'b', text: 'old secret', direction: 'outbound', client: ep('10.0.0.1', 1), server: ep('1.2.3.4', 6667) });
    sink.flush();
    now += 20 * 86400_000;
    sink.write({ type: 'message', ts: '2024-01-16T09:30:00Z', protocol: 'irc', from: 'a', to: 'b', text: 'new secret', direction: 'outbound', client: ep('10.0.0.1', 1), server: ep('1.2.3.4', 6667) });
    sink.flush();
    assert.equal(searchMessages(db, { text: 'secret' }).total, 2);
    now += 15 * 86400_000; // the first is 35 days old, the second 15
    assert.deepEqual(sink.purge(), { messages: 1, other: 0 });
    assert.deepEqual(searchMessages(db, { text: 'secret' }).rows.map((m) => m.text), ['new secret']);
    // the full-text index forgot it too
    assert.equal((db.prepare("SELECT count(*) AS n FROM messages_fts WHERE messages_fts MATCH 'old'").get() as any).n, 0);
    void sink.close();
    db.close();
  });

  it('store retention: an alert still firing is kept with its ack; a session\'s capture-file record goes with it', async () => {
    const DAY = 86400_000;
    const { ensureSourceTable } = require('../../dashboard/sources') as typeof import('../../dashboard/sources');
    const db = openStore(path.join(tmp, 's.db'));
    ensureSourceTable(db);
    let now = Date.UTC(2026, 0, 1);
    const sink = () => new SqliteSink(db, { sensor: 's1', archive: { enabled: true, metadata: true, retention_days: 30 }, retentionDays: 30, rollupMs: 0, now: () => now });
    const session = (flow: string, port: number, t: string) => ({ type: 'session' as const, ts: t, protocol: 'irc', transport: 'tcp' as const, client: ep('10.0.0.5', port), server: ep('1.2.3.4', 6667), users: ['alice'], start: t, end: t, packets: 1, bytes: 1, encrypted: false, evidence: [], flow_id: flow });
    const source = db.prepare('INSERT INTO dash_session_sources VALUES (?,?,?,?,?,?,?,?)');
    const alert = (t: string) => ({ type: 'alert' as const, ts: t, id: 'A1', kind: 'unauthorized_im', severity: 'high' as const, protocol: 'irc', summary: 'irc use', users: ['alice'], count: 1 });
    // day 0: two sessions of one capture (and their sources), an alert acknowledged
    let s = sink();
    const t0 = new Date(now).toISOString();
    s.write(session('f1', 4000, t0));
    s.write(alert(t0));
    await s.close();
    source.run('s1', 'f1', '10.0.0.5', 4000, '1.2.3.4', 6667, now, '/captures/monday.pcap');
    assert.ok(ackAlert(db, 'A1', 'analyst', 'known, approved', now));
    // day 20: the alert fires again; another session, stored then
    now += 20 * DAY;
    s = sink();
    const t20 = new Date(now).toISOString();
    s.write(alert(t20));
    s.write(session('f2', 4001, t20));
    await s.close();
    source.run('s1', 'f2', '10.0.0.5', 4001, '1.2.3.4', 6667, now, '/captures/later.pcap');
    // day 31: a sink opens (purge): the day-0 session is past retention, the alert last seen 11 days ago is not
    now += 11 * DAY;
    await sink().close();
    assert.deepEqual((db.prepare('SELECT flow_id FROM sessions').all() as any[]).map((r) => r.flow_id), ['f2']);
    assert.deepEqual((db.prepare('SELECT source FROM dash_session_sources').all() as any[]).map((r) => r.source), ['/captures/later.pcap']);
    const [a] = listAlerts(db, { from: now - 15 * DAY, to: now }).rows;
    assert.equal(a?.id, 'A1', 'an alert last seen 11 days ago is kept by a 30-day retention');
    assert.equal(a.acked, true);
    assert.equal(a.ack_note, 'known, approved');
    // day 51: 31 days since it last fired: gone, and so is the later session's source
    now += 20 * DAY;
    await sink().close();
    assert.equal(listAlerts(db, { from: 0, to: now }).total, 0);
    assert.equal((db.prepare('SELECT count(*) AS n FROM dash_session_sources').get() as any).n, 0);
    db.close();
  });

  it('a repeated alert id updates one row (count, last seen, highest severity); acks are kept', () => {
    const db = openStore(path.join(tmp, 's.db'));
    const sink = new SqliteSink(db, { sensor: 's', archive: defaults().archive });
    const a = { type: 'alert' as const, id: 'irc:10.0.0.5', kind: 'unauthorized_im', protocol: 'irc', summary: 'IRC in use', users: ['alice'], client: ep('10.0.0.5', 4000), flow_id: 'f1' };
    sink.write({ ...a, ts: '2024-01-15T09:30:00Z', severity: 'medium' });
    assert.equal(listAlerts(db).total, 1, 'an alert is committed when write() returns');
    assert.ok(ackAlert(db, a.id, 'soc-analyst', 'known user', Date.UTC(2024, 0, 15, 10)));
    // the analyzer's end-of-interval update: same id, the interval's total
    sink.write({ ...a, ts: '2024-01-15T09:40:00Z', severity: 'high', count: 3 });
    assert.equal(listAlerts(db).rows[0].count, 3);
    // a new interval: first occurrence again (count 1), then its update (total 2)
    sink.write({ ...a, ts: '2024-01-15T10:30:00Z', severity: 'medium', count: 1 });
    sink.write({ ...a, ts: '2024-01-15T11:00:00Z', severity: 'medium', count: 2 });
    const [row] = listAlerts(db).rows;
    assert.equal(row.count, 5);
    assert.equal(row.first_seen, '2024-01-15T09:30:00.000Z');
    assert.equal(row.last_seen, '2024-01-15T11:00:00.000Z');
    assert.equal(row.severity, 'high');
    assert.equal(row.acked, true);
    assert.equal(row.acked_by, 'soc-analyst');
    sink.write({ type: 'session', ts: '2024-01-15T09:29:00Z', protocol: 'irc', transport: 'tcp', client: ep('10.0.0.5', 4000), server: ep('198.51.100.7', 6667), users: ['alice'], start: '2024-01-15T09:29:00Z', end: '2024-01-15T11:00:00Z', packets: 5, bytes: 500, encrypted: false, evidence: [{ signature: 'irc.registration', reason: 'NICK/USER' }], flow_id: 'f1' });
    sink.flush(true);
    const full = getAlert(db, a.id)!;
    assert.equal(full.sessions.length, 1);
    assert.deepEqual(full.evidence, [{ signature: 'irc.registration', reason: 'NICK/USER' }]);
    assert.equal(listAlerts(db, { acked: false }).total, 0);
    assert.equal(listAlerts(db, { severity: ['high'], user: 'alice' }).total, 1);
    const ov = overview(db, { from: Date.UTC(2024, 0, 15), to: Date.UTC(2024, 0, 16), bucketMs: 3600_000 });
    assert.equal(ov.totals.irc.unauthorized, 5, 'rollups count occurrences the same way');
    assert.equal(ov.totals.irc.sessions, 1);
    void sink.close();
    db.close();
  });

  it('stores redacted text only: no card number in the file bytes (analyzer in the pipeline)', function () {
    const pipeline = fs.readFileSync(path.join(REPO, 'cli', 'pipeline.ts'), 'utf8');
    if (!/analyzer/.test(pipeline.replace(/\/\/.*$/gm, ''))) {
      console.log('    (skipped: the analyzer is not wired into cli/pipeline.ts yet, so nothing redacts before the store)');
      return this.skip();
    }
    const cap = path.join(tmp, 'pan.pcap');
    ircCapture(cap, ['PRIVMSG bob :my card is 4111 1111 1111 1111 exp 12/29', 'PRIVMSG bob :or 5500-0000-0000-0004']);
    const st = path.join(tmp, 'pan.db');
    const r = shadowim(['analyze', cap, '--format', 'jsonl', '--store', st], { env: { SHADOWIM_CONFIG: '' } });
    assert.equal(r.status, 0, r.stderr);
    const bytes = Buffer.concat([st, st + '-wal'].filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f))).toString('latin1');
    for (const pan of ['4111 1111 1111 1111', '4111111111111111', '5500-0000-0000-0004', '5500000000000004']) assert.equal(bytes.indexOf(pan), -1, `${pan} is in the store`);
    assert.ok(bytes.includes('1111') || bytes.includes('0004'), 'the redacted message (last four digits) is stored');
  });
});

describe('storage: what the store keeps of text from the wire', () => {
  it('a lone surrogate reads back as one U+FFFD, and a cut never splits a surrogate pair', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-utf16-'));
    try {
      const db = openStore(path.join(tmp, 's.db'));
      const sink = new SqliteSink(db, { sensor: 's', archive: defaults().archive });
      const base = { type: 'message', ts: '2024-01-15T09:00:00.000Z', protocol: 'msn', direction: 'outbound', client: { ip: '10.0.0.5', port: 1 }, server: { ip: '198.51.100.7', port: 1863 } } as const;
      // UTF-16 text from the wire can hold a lone surrogate; a 1,024-unit name cut at an emoji
      sink.write({ ...base, from: 'a'.repeat(1023) + '😀', to: 'bob', text: 'x\ud800y' });
      await sink.close();
      const [m] = searchMessages(db, {}).rows;
      // before: 'x\ufffd\ufffd\ufffdy' (the surrogate stored as 3 bytes of no UTF-8 character) and 1,023 a's and a U+FFFD
      assert.equal(m.text, 'x\ufffdy');
      assert.equal(m.from, 'a'.repeat(1023));
      db.close();
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});

// An XMPP account is one user however many resources (laptop, phone) it connects from: the users page,
// the report and the user filters group full JIDs under the bare JID (common/userKey.ts). Other
// protocols' names are kept as seen, even when they look like a JID with a resource.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type Database from 'better-sqlite3';
import type { ShadowEvent } from '../../common/events';
import { defaults } from '../../common/config';
import { openStore } from '../../storage/store';
import { SqliteSink } from '../../storage/sqlite-sink';
import { listAlerts, listSessions, report, searchMessages, users } from '../../storage/queries';
import { userName } from '../../common/userKey';

const T0 = Date.UTC(2024, 0, 15, 10);
const ep = (ip: string, port: number) => ({ ip, port });
const at = (min: number) => new Date(T0 + min * 60_000).toISOString();
const range = { from: T0 - 3600_000, to: T0 + 3600_000 };

function events(): ShadowEvent[] {
  const s = (ts: string, protocol: string, userList: string[], ip: string): ShadowEvent => ({
    type: 'session', ts, sensor: 's1', protocol, transport: 'tcp', client: ep(ip, 40000), server: ep('198.51.100.7', 5222),
    users: userList, start: ts, end: ts, packets: 10, bytes: 1000, encrypted: false, evidence: [],
  });
  const m = (ts: string, from: string, to: string): ShadowEvent => ({
    type: 'message', ts, sensor: 's1', protocol: 'xmpp', from, to, text: 'hi', direction: 'outbound', client: ep('10.0.0.5', 40000), server: ep('198.51.100.7', 5222),
  });
  return [
    // what the decoder reports for a real login: the stream header's bare JID and the bound full JID
    s(at(1), 'xmpp', ['tom@cs-xmpp.lan', 'tom@cs-xmpp.lan/darkstar'], '10.0.0.5'),
    s(at(2), 'xmpp', ['tom@cs-xmpp.lan/phone'], '10.0.0.6'),
    m(at(3), 'tom@cs-xmpp.lan/darkstar', 'ann@cs-xmpp.lan'),
    m(at(4), 'tom@cs-xmpp.lan/phone', 'ann@cs-xmpp.lan'),
    m(at(5), 'ann@cs-xmpp.lan/web', 'tom@cs-xmpp.lan/phone'),
    // a conference occupant is room/nick: grouped under the room
    s(at(6), 'xmpp', ['room@conference.cs-xmpp.lan/tom', 'room@conference.cs-xmpp.lan'], '10.0.0.5'),
    { type: 'alert', ts: at(7), sensor: 's1', protocol: 'xmpp', id: 'x1', kind: 'unauthorized_im', severity: 'medium', summary: 'xmpp use', users: ['tom@cs-xmpp.lan/darkstar'], client: ep('10.0.0.5', 40000), count: 1 },
    // not XMPP: kept as seen
    s(at(8), 'irc', ['nick@user/cloak'], '10.0.0.7'),
  ];
}

describe('storage: XMPP users grouped by account (bare JID)', function () {
  this.timeout(30000);
  let tmp: string;
  let db: Database.Database;

  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-jid-'));
    db = openStore(path.join(tmp, 'j.db'));
    const sink = new SqliteSink(db, { sensor: 's1', archive: defaults().archive, rollupMs: 0 });
    for (const e of events()) sink.write(e);
    sink.flush(true);
  });
  after(() => {
    db.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('userName strips the resource of XMPP names only', () => {
    assert.equal(userName('xmpp', 'tom@x.org/darkstar'), 'tom@x.org');
    assert.equal(userName('xmpp', 'room@conf.x.org/tom@x.org'), 'room@conf.x.org');
    assert.equal(userName('xmpp', 'tom@x.org'), 'tom@x.org');
    assert.equal(userName('xmpp', 'x.org/component'), 'x.org/component');
    assert.equal(userName('xmpp', '@/'), '@/');
    assert.equal(userName('irc', 'nick@user/cloak'), 'nick@user/cloak');
  });

  it('the users page has one row per account, with all its resources\' sessions and messages', () => {
    const rows = users(db, { ...range, sort: 'name' });
    const xmpp = rows.filter((r) => r.protocol === 'xmpp').map((r) => [r.name, r.sessions, r.messages, r.alerts]);
    assert.deepEqual(xmpp, [
      ['ann@cs-xmpp.lan', 0, 1, 0],
      ['room@conference.cs-xmpp.lan', 1, 0, 0],
      ['tom@cs-xmpp.lan', 2, 2, 1],
    ]);
    assert.deepEqual(rows.filter((r) => r.protocol === 'irc').map((r) => r.name), ['nick@user/cloak']);
  });

  it('the user filters match every resource of an account', () => {
    assert.equal(listSessions(db, { ...range, user: 'tom@cs-xmpp.lan' }).total, 2);
    assert.equal(listSessions(db, { ...range, user: 'tom@cs-xmpp.lan/phone' }).total, 2, 'a full JID names the account');
    assert.equal(listSessions(db, { ...range, user: 'nick@user/cloak' }).total, 1);
    assert.equal(listSessions(db, { ...range, user: 'nick@user' }).total, 0, 'IRC names are not JIDs');
    // from tom (two resources) and to tom's phone
    assert.equal(searchMessages(db, { ...range, user: 'tom@cs-xmpp.lan' }).total, 3);
    assert.equal(searchMessages(db, { ...range, user: 'tom@cs-xmpp.lan/phone' }).total, 2, 'a full JID is that resource only');
    assert.equal(searchMessages(db, { ...range, user: 'tom@cs-xmpp.la' }).total, 0, 'a prefix of an account is not it');
    assert.equal(listAlerts(db, { ...range, user: 'tom@cs-xmpp.lan' }).total, 1);
  });

  it('the report counts an account once', () => {
    const r = report(db, range);
    assert.equal(r.protocols.find((p) => p.protocol === 'xmpp')!.users, 3, 'tom, ann and the room');
    const tom = r.top_users.filter((u) => u.user.startsWith('tom@'));
    assert.deepEqual(tom.map((u) => [u.user, u.sessions, u.messages]), [['tom@cs-xmpp.lan', 2, 2]]);
    assert.equal(r.unauthorized.find((u) => u.protocol === 'xmpp')!.users, 1);
  });

  it('a store written before the grouping (full JIDs in session_users) is still found by the account', () => {
    const id = (db.prepare('SELECT id FROM sessions WHERE protocol = ? ORDER BY id LIMIT 1').get('xmpp') as any).id;
    db.prepare('DELETE FROM session_users WHERE session_id = ?').run(id);
    db.prepare('INSERT INTO session_users (session_id, user) VALUES (?, ?)').run(id, 'tom@cs-xmpp.lan/darkstar');
    assert.equal(listSessions(db, { ...range, user: 'tom@cs-xmpp.lan' }).total, 2);
    const tom = report(db, range).top_users.filter((u) => u.user.startsWith('tom@'));
    assert.deepEqual(tom.map((u) => u.user), ['tom@cs-xmpp.lan']);
  });
});

// The full-text index is filled by the sink once per transaction (no per-row trigger since schema 3):
// every stored text is found, exactly once, however the transactions were cut (alerts commit at once,
// explicit flushes, text-less rows between), after retention, and across the schema 2 → 3 upgrade.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type Database from 'better-sqlite3';
import type { ShadowEvent } from '../../common/events';
import { defaults } from '../../common/config';
import { openStore } from '../../storage/store';
import { SqliteSink } from '../../storage/sqlite-sink';
import { MAX_SEARCH_WORDS, searchMessages } from '../../storage/queries';
import { hasFts5, MIGRATIONS, SCHEMA_VERSION } from '../../storage/schema';

const T0 = Date.UTC(2024, 0, 15, 9);
const WORDS = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf'];
const ep = (ip: string, port: number) => ({ ip, port });

/** message i says WORDS[i % 7] and WORDS[(i * 3) % 7] and its own number */
const text = (i: number) => `${WORDS[i % 7]} and ${WORDS[(i * 3) % 7]} number${i}`;
const message = (i: number): ShadowEvent => ({ type: 'message', ts: new Date(T0 + i * 1000).toISOString(), protocol: 'irc', from: `u${i % 5}`, to: 'bob', text: text(i), direction: 'outbound', client: ep('10.0.0.5', 4000), server: ep('198.51.100.7', 6667), flow_id: `f${i % 3}` });

function integrity(db: Database.Database): void {
  // FTS5 compares the index with the content table and throws on any difference (it counts text-less
  // rows as missing documents, so only for stores where every row has text)
  db.prepare("INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 1)").run();
}

/** documents in the index: one per message with text */
const indexed = (db: Database.Database) => (db.prepare('SELECT count(*) AS n FROM messages_fts_docsize').get() as any).n;

function found(db: Database.Database, q: string): number[] {
  return searchMessages(db, { text: q, limit: 100000, order: 'asc' }).rows.map((m) => Number(/number(\d+)/.exec(m.text!)![1]));
}

describe('storage: full-text index filled per transaction', function () {
  this.timeout(60000);
  let tmp: string;
  before(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-fts-'))));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('finds every message once, whatever cut the transactions', async () => {
    const db = openStore(path.join(tmp, 'a.db'));
    assert.equal((db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'trigger' AND name = 'messages_ai'").get() as any).n, 0);
    const sink = new SqliteSink(db, { sensor: 's', archive: defaults().archive, batch: 37 });
    const N = 400;
    for (let i = 0; i < N; i++) {
      sink.write(message(i));
      // an alert commits everything buffered at once: transactions of 1 to 37 messages
      if (i % 11 === 0) sink.write({ type: 'alert', ts: new Date(T0 + i * 1000).toISOString(), id: `a${i}`, kind: 'unauthorized_im', severity: 'low', protocol: 'irc', summary: 'x', users: [], count: 1 });
      if (i % 50 === 0) sink.write({ type: 'session', ts: new Date(T0 + i * 1000).toISOString(), protocol: 'irc', transport: 'tcp', client: ep('10.0.0.5', 4000), server: ep('198.51.100.7', 6667), users: ['u1'], start: '', end: '', packets: 1, bytes: 1, encrypted: false, evidence: [] });
    }
    await sink.close();
    integrity(db);
    assert.equal(indexed(db), N);
    const all = Array.from({ length: N }, (_, i) => i);
    for (const w of WORDS) assert.deepEqual(found(db, w), all.filter((i) => text(i).split(' ').includes(w)), w);
    assert.deepEqual(found(db, 'number399'), [399]);
    assert.deepEqual(found(db, 'alpha bravo'), all.filter((i) => text(i).includes('alpha') && text(i).includes('bravo')));
    db.close();
  });

  it('text-less rows (archive off) between texts; retention removes texts from the index', async () => {
    const db = openStore(path.join(tmp, 'b.db'));
    let now = T0;
    const on = new SqliteSink(db, { sensor: 's', archive: { ...defaults().archive, retention_days: 1 }, now: () => now });
    const off = new SqliteSink(db, { sensor: 's', archive: { enabled: false, metadata: true, retention_days: 0 }, now: () => now });
    for (let i = 0; i < 60; i++) {
      (i % 3 === 0 ? off : on).write(message(i));
      if (i % 7 === 0) (on.flush(), off.flush());
    }
    on.flush(), off.flush();
    assert.equal(indexed(db), 40);
    const texts = Array.from({ length: 60 }, (_, i) => i).filter((i) => i % 3 !== 0);
    assert.deepEqual(found(db, 'echo'), texts.filter((i) => text(i).split(' ').includes('echo')));
    assert.equal((db.prepare('SELECT count(*) AS n FROM messages WHERE text IS NULL').get() as any).n, 20);
    now += 2 * 86400_000;
    assert.equal(on.purge().messages, 60);
    assert.equal(indexed(db), 0);
    assert.deepEqual(found(db, 'echo'), []);
    await on.close();
    await off.close();
    db.close();
  });

  it('a schema-2 store (trigger-indexed messages) upgrades: old and new messages found once each', async () => {
    const Sqlite = require('better-sqlite3');
    const file = path.join(tmp, 'v2.db');
    const v2 = new Sqlite(file);
    v2.transaction(() => {
      MIGRATIONS[0](v2, hasFts5(v2));
      MIGRATIONS[1](v2, hasFts5(v2));
      v2.pragma('user_version = 2');
    })();
    const ins = v2.prepare("INSERT INTO messages (ts_ms, sensor, protocol, text, stored_ms) VALUES (?, 's', 'irc', ?, ?)");
    for (let i = 0; i < 30; i++) ins.run(T0 + i * 1000, text(i), Date.now());
    v2.close();
    const db = openStore(file);
    assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    const sink = new SqliteSink(db, { sensor: 's', archive: defaults().archive });
    for (let i = 30; i < 60; i++) sink.write(message(i));
    await sink.close();
    integrity(db);
    const all = Array.from({ length: 60 }, (_, i) => i);
    assert.deepEqual(found(db, 'golf'), all.filter((i) => text(i).split(' ').includes('golf')));
    db.close();
  });

  it("a search's words are the index's words (snake_case, a combining accent, a private-use letter); more than it takes is one clear error", async () => {
    const db = openStore(path.join(tmp, 'w.db'));
    const sink = new SqliteSink(db, { sensor: 's', archive: defaults().archive });
    const texts = ['call fetch_user_id now', 'e\u0301te a\u0301 Paris', 'ab\ue000cd', 'one two three'];
    texts.forEach((t, i) => sink.write({ ...(message(i) as any), text: t }));
    await sink.close();
    const hits = (q: string) => searchMessages(db, { text: q, order: 'asc' }).rows.map((m) => texts.indexOf(m.text!));
    // before: an SQLite error (fts5: phrase queries are not supported), nothing found, nothing found
    assert.deepEqual(hits('fetch_user_id'), [0]);
    assert.deepEqual(hits('e\u0301te'), [1]);
    assert.deepEqual(hits('ab\ue000cd'), [2]);
    // before: words past the 16th were dropped, so a 17th that no message holds still found message 3
    const many = ['one', 'two', 'three', ...Array.from({ length: 14 }, () => 'one'), 'absent'].join(' ');
    assert.deepEqual(hits(many), []);
    const tooMany = Array.from({ length: MAX_SEARCH_WORDS + 1 }, (_, i) => `w${i}`).join(' ');
    assert.throws(() => hits(tooMany), (e: any) => e.constructor.name === 'SearchError' && e.status === 400 && /^the search text has 33 different words, more than the 32 a search takes; search for fewer words$/.test(e.message));
    db.close();
  });
});

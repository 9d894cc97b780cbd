// A session's evidence in the store: whole entries within the 16,384-character cap, a "(more)" entry
// when some were left out, and what the dashboard reads back (listSessions, getAlert). Until 27
// November the JSON was cut at the cap, left invalid, and read back as no evidence at all.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openStore } from '../../storage/store';
import { SqliteSink } from '../../storage/sqlite-sink';
import { getAlert, listSessions } from '../../storage/queries';
import { defaults } from '../../common/config';
import type { Evidence, ShadowEvent } from '../../common/events';

const T = '2024-01-15T09:29:00Z';
const ep = (ip: string, port: number) => ({ ip, port });

function session(flow: string, evidence: Evidence[]): ShadowEvent {
  return { type: 'session', ts: T, protocol: 'irc', transport: 'tcp', client: ep('10.0.0.5', 4000), server: ep('198.51.100.7', 6667), users: ['alice'], start: T, end: T, packets: 5, bytes: 500, encrypted: false, evidence, flow_id: flow };
}

/** no lone surrogate: a cut never splits a pair */
const wellFormed = (s: string) => (s as any).isWellFormed() as boolean;

describe('storage: session evidence within its cap', () => {
  let tmp: string;
  let db: ReturnType<typeof openStore>;
  let sink: SqliteSink;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-evidence-'));
    db = openStore(path.join(tmp, 's.db'));
    sink = new SqliteSink(db, { sensor: 's', archive: defaults().archive });
  });
  after(() => {
    void sink.close();
    db.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const stored = (flow: string) => (db.prepare('SELECT evidence FROM sessions WHERE flow_id = ?').get(flow) as { evidence: string }).evidence;
  const read = (flow: string) => listSessions(db, { from: 0, to: Date.UTC(2030, 0, 1), limit: 1000 }).rows.find((r) => r.flow_id === flow)!.evidence;

  it('500 entries: the first whole ones that fit, then a (more) entry saying how many were left out', () => {
    const many = Array.from({ length: 500 }, (_, i) => ({ signature: `irc.line${i}`, reason: `${i} ${'r😀'.repeat(300)}` }));
    sink.write(session('many', many));
    sink.flush(true);
    const raw = stored('many');
    assert.ok(raw.length <= 16384, `${raw.length} characters stored`);
    const back = read('many');
    assert.deepEqual(back, JSON.parse(raw), 'valid JSON, read back as stored');
    const more = back[back.length - 1];
    const kept = back.slice(0, -1);
    assert.ok(kept.length >= 10, `${kept.length} whole entries kept`);
    assert.deepEqual(kept, many.slice(0, kept.length), 'whole entries, unchanged, in order');
    assert.deepEqual(more, { signature: '(more)', reason: `${500 - kept.length} more not stored` });
    // short entries: the first 32 kept (as before), the rest counted
    sink.write(session('short', Array.from({ length: 500 }, (_, i) => ({ signature: 'sig', reason: `r${i}` }))));
    sink.flush(true);
    const s = read('short');
    assert.equal(s.length, 33);
    assert.deepEqual(s[32], { signature: '(more)', reason: '468 more not stored' });
  });

  it('a 100 KB reason is cut within the entry, never inside a surrogate pair; the entries after it are kept', () => {
    const long = `start ${'😀'.repeat(50_000)}`; // 100 KB of UTF-16
    const ctl = '\u0000\ud800'.repeat(50_000); // escaped to 6 characters each in JSON
    sink.write(session('long', [{ signature: 'tls.sni', reason: long }, { signature: 'ctl', reason: ctl }, { signature: 'irc.registration', reason: 'NICK/USER' }]));
    sink.write(session('alone', [{ signature: 'x'.repeat(100_000), reason: long }]));
    sink.flush(true);
    for (const flow of ['long', 'alone']) {
      const raw = stored(flow);
      assert.ok(raw.length <= 16384, `${flow}: ${raw.length} characters stored`);
      assert.deepEqual(read(flow), JSON.parse(raw));
    }
    const [a, b, c] = read('long');
    assert.ok(a.reason.length > 1000 && a.reason.endsWith('…') && long.startsWith(a.reason.slice(0, -1)), `reason cut and marked: ${a.reason.length}`);
    assert.ok(wellFormed(a.reason), 'no half of an emoji');
    assert.ok(b.reason.endsWith('…') && ctl.startsWith(b.reason.slice(0, -1)) && JSON.stringify(b).length <= 4096, 'escapes counted');
    assert.deepEqual(c, { signature: 'irc.registration', reason: 'NICK/USER' });
    const [alone, ...rest] = read('alone');
    assert.deepEqual(rest, []);
    assert.ok(alone.signature.length <= 257 && alone.reason.length > 1000 && wellFormed(alone.reason));
  });

  it('the alert detail (what the dashboard shows) lists the kept evidence and the (more) entry', () => {
    sink.write({ type: 'alert', id: 'e'.repeat(24), ts: T, kind: 'unauthorized_im', severity: 'medium', protocol: 'irc', summary: 'IRC', client: ep('10.0.0.5', 4000), server: ep('198.51.100.7', 6667), users: ['alice'], flow_id: 'many' } as ShadowEvent);
    sink.flush(true);
    const ev = getAlert(db, 'e'.repeat(24))!.evidence;
    assert.ok(ev.length > 10);
    assert.equal(ev[ev.length - 1].signature, '(more)');
  });

  it('a row written before the fix (JSON cut at the cap) reads back its whole entries and a (more) entry', () => {
    const old = JSON.stringify(Array.from({ length: 32 }, (_, i) => ({ signature: `s${i}`, reason: `a "quoted" {brace} ${'x'.repeat(600)}` }))).slice(0, 16384);
    sink.write(session('old', []));
    sink.flush(true);
    db.prepare('UPDATE sessions SET evidence = ? WHERE flow_id = ?').run(old, 'old');
    const back = read('old');
    assert.ok(back.length > 10);
    assert.deepEqual(back.slice(0, -1).map((e) => e.signature), Array.from({ length: back.length - 1 }, (_, i) => `s${i}`));
    assert.deepEqual(back[back.length - 1], { signature: '(more)', reason: 'the rest was cut when stored' });
  });
});

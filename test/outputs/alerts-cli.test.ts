// `shadowim alerts outbox|retry|deliver` answering a user's mistakes: a wrong --state, --sink or
// --format, an alert id that is no dead letter, a --store that is not there (never created), each one
// line and a non-zero exit; and a real retry still queues the dead letter again.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ircUsersCapture } from '../helpers/sinks';
import { shadowim } from '../helpers/run';
import { openOutbox } from '../../outputs/sinks/outbox';

describe('alerts: mistakes on the command line', function () {
  this.timeout(60000);
  let tmp: string;
  let cfg: string;
  let outbox: string;
  let env: Record<string, string>;
  const run = (...args: string[]) => shadowim(['alerts', ...args], { env });

  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-alerts-cli-'));
    cfg = path.join(tmp, 'c.yaml');
    // port 9 (discard): nothing listens, so a delivery fails at once and stays pending
    fs.writeFileSync(cfg, 'sinks:\n  targets:\n    - name: soc\n      type: webhook\n      url: http://127.0.0.1:9/hook\n    - name: arcsight\n      type: syslog\n      transport: tcp\n      host: 127.0.0.1\n      port: 9\n');
    env = { SHADOWIM_CONFIG: cfg };
    outbox = path.join(tmp, 'outbox.db');
    // a1 dead-lettered for soc; a2 pending for soc; a3 delivered to 'old', a sink no longer configured
    const db = openOutbox(outbox);
    const ins = db.prepare(`INSERT INTO alert_outbox (alert_id, sink, alert, state, attempts, next_at, created_at, updated_at, last_error)
      VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?)`);
    const alert = (id: string) => JSON.stringify({ type: 'alert', id, ts: '2024-01-15T09:30:00.000Z', kind: 'test', severity: 'low', protocol: 'irc', summary: 'test', users: [] });
    ins.run('a1', 'soc', alert('a1'), 'dead', 12, 1000, 1000, 'HTTP 400');
    ins.run('a2', 'soc', alert('a2'), 'pending', 1, 2000, 2000, 'connection refused');
    ins.run('a3', 'old', alert('a3'), 'delivered', 1, 3000, 3000, null);
    db.close();
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('outbox --state that is not a state: one line naming the states, exit 2', () => {
    const r = run('outbox', '--store', outbox, '--state', 'bogus');
    assert.equal(r.status, 2);
    assert.equal(r.stderr, "shadowim: --state must be pending, delivered or dead, not 'bogus'\n");
    assert.equal(r.stdout, '');
    const dead = run('outbox', '--store', outbox, '--state', 'dead');
    assert.equal(dead.status, 0, dead.stderr);
    assert.match(dead.stdout, /^\S+ soc +dead +attempts=12 a1 — HTTP 400\n$/);
  });

  it("outbox text shows a receiver's error with its control characters escaped: no terminal escape, no forged line", () => {
    const db = openOutbox(outbox);
    // what a hostile receiver answered: clear the screen, retitle the terminal, then a line that looks like a row
    db.prepare("UPDATE alert_outbox SET last_error = ? WHERE alert_id = 'a1'").run('HTTP 400: \x1b[2J\x1b]0;pwned\x07\r\n2024-01-01T00:00:00.000Z soc delivered attempts=1 x\u202e\x9b');
    db.close();
    const r = run('outbox', '--store', outbox, '--state', 'dead');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.split('\n').length, 2, r.stdout);
    assert.doesNotMatch(r.stdout, /[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/);
    assert.match(r.stdout, / a1 — HTTP 400: \\x1b\[2J\\x1b\]0;pwned\\x07\\x0d\\x0a2024-01-01T00:00:00\.000Z soc delivered attempts=1 x\\u202e\\x9b\n$/);
  });

  it('an option of another subcommand is refused, naming what the subcommand takes (was: ignored, exit 0)', () => {
    for (const [args, line] of [
      [['retry', '--store', outbox, '--state', 'dead'], "shadowim: alerts retry takes no --state (it takes --store); see 'shadowim alerts --help'\n"],
      [['deliver', '--store', outbox, '--format', 'jsonl'], "shadowim: alerts deliver takes no --format (it takes --store, --watch); see 'shadowim alerts --help'\n"],
      [['test-sink', 'soc', '--sink', 'soc'], "shadowim: alerts test-sink takes no --sink; see 'shadowim alerts --help'\n"],
    ] as const) {
      const r = run(...args);
      assert.equal(r.status, 2, r.stderr);
      assert.equal(r.stderr, line);
      assert.equal(r.stdout, '');
    }
    const db = openOutbox(outbox);
    try {
      assert.equal((db.prepare("SELECT state FROM alert_outbox WHERE alert_id = 'a1'").get() as { state: string }).state, 'dead', 'nothing was retried');
    } finally {
      db.close();
    }
  });

  it('outbox --sink that is neither configured nor in the outbox: one line listing the configured sinks, exit 2', () => {
    const r = run('outbox', '--store', outbox, '--sink', 'nosuch');
    assert.equal(r.status, 2);
    assert.equal(r.stderr, `shadowim: no sink named 'nosuch' in ${cfg} or the outbox ${outbox}; configured: soc, arcsight\n`);
    // a configured sink without rows, and a sink only the outbox still knows, are listed as usual
    assert.deepEqual([run('outbox', '--store', outbox, '--sink', 'arcsight').status, run('outbox', '--store', outbox, '--sink', 'arcsight').stdout], [0, '']);
    const old = run('outbox', '--store', outbox, '--sink', 'old');
    assert.equal(old.status, 0, old.stderr);
    assert.match(old.stdout, /^\S+ old +delivered attempts=1 a3\n$/);
  });

  it('outbox --format that is not text or jsonl: one line naming both, exit 2', () => {
    const r = run('outbox', '--store', outbox, '--format', 'xml');
    assert.equal(r.status, 2);
    assert.equal(r.stderr, "shadowim: --format must be text or jsonl, not 'xml'\n");
    assert.equal(r.stdout, '');
    const j = run('outbox', '--store', outbox, '--format', 'jsonl');
    assert.deepEqual(j.events.map((e) => e.alert_id), ['a3', 'a2', 'a1']);
  });

  it('retry ALERT_ID: an id not in the outbox, or not dead-lettered, is said so (exit 1); a dead letter is queued again', () => {
    const none = run('retry', 'nosuchid', '--store', outbox);
    assert.equal(none.status, 1);
    assert.equal(none.stderr, `shadowim: no alert 'nosuchid' in the outbox ${outbox}; 'shadowim alerts outbox --state dead' lists what can be retried\n`);
    assert.equal(none.stdout, '');
    const pending = run('retry', 'a2', '--store', outbox);
    assert.equal(pending.status, 1);
    assert.equal(pending.stderr, 'shadowim: alert a2 is not dead-lettered (soc: pending); only dead letters are retried\n');
    const ok = run('retry', 'a1', '--store', outbox);
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(ok.stdout, "1 dead-lettered delivery queued again; run 'shadowim alerts deliver'\n");
    assert.match(run('outbox', '--store', outbox, '--state', 'pending').stdout, / a1 — HTTP 400\n/);
    // nothing left to retry: said in words, not '0 … queued again; run deliver'
    const again = run('retry', '--store', outbox);
    assert.deepEqual([again.status, again.stdout], [0, 'nothing is dead-lettered; nothing to retry\n']);
  });

  it('a --store that is not there is refused by outbox, retry and deliver, and never created', () => {
    const typo = path.join(tmp, 'typo.db');
    for (const args of [['outbox'], ['retry'], ['retry', 'a1'], ['deliver'], ['deliver', '--watch']]) {
      const r = run(...args, '--store', typo);
      assert.equal(r.status, 2, args.join(' '));
      assert.equal(r.stderr, `shadowim: no store at ${typo}; check the path given to --store (the store or outbox 'analyze' wrote)\n`, args.join(' '));
      assert.equal(fs.existsSync(typo), false, args.join(' '));
    }
    // the outbox of the configuration (sinks.delivery.outbox) that is not there: named with its setting
    const missing = path.join(tmp, 'missing.db');
    fs.appendFileSync(cfg, `  delivery:\n    outbox: ${missing}\n`);
    const r = run('outbox');
    assert.equal(r.status, 2);
    assert.equal(r.stderr, `shadowim: no alert outbox at ${missing} (sinks.delivery.outbox in ${cfg}): nothing was queued there yet, or fix the path\n`);
    assert.equal(fs.existsSync(missing), false);
  });

  it('deliver and analyze count what is left in the singular: 1 delivery still pending', () => {
    const db = openOutbox(outbox);
    db.exec(`DELETE FROM alert_outbox WHERE alert_id <> 'a2'`);
    db.close();
    fs.appendFileSync(cfg, '  delivery:\n    drain_ms: 100\n'); // deliver then waits 6 s, not 30
    const r = run('deliver', '--store', outbox);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr.split('\n').slice(-2)[0], 'shadowim: 1 delivery still pending (next retry later); run again or use --watch');
    // analyze leaves one alert for the sink that is down
    const cap = path.join(tmp, 'irc.pcap');
    ircUsersCapture(cap, 1, () => 'hello');
    const one = path.join(tmp, 'one-sink.yaml');
    fs.writeFileSync(one, 'sinks:\n  targets:\n    - name: soc\n      type: webhook\n      url: http://127.0.0.1:9/hook\n  delivery:\n    drain_ms: 100\n');
    const a = shadowim(['analyze', cap, '--format', 'jsonl', '--store', path.join(tmp, 'store.db')], { env: { SHADOWIM_CONFIG: one } });
    assert.equal(a.status, 0, a.stderr);
    assert.equal(a.events.filter((e) => e.type === 'alert').length, 1);
    assert.match(a.stderr, /^shadowim: 1 alert delivery still pending \(receiver slow or down\); it is kept in the outbox — run 'shadowim alerts deliver' or the next run sends it$/m);
  });
});

// End to end: the real CLI on a generated IRC capture whose messages carry card numbers, SSNs,
// IBANs and routing numbers (fictitious, valid check digits) and look-alikes that are not.
// Every output channel (stdout JSONL, stderr, text format) is searched for the full values.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Capture } from '../helpers/pcapgen';
import { shadowim } from '../helpers/run';

const SECRETS = {
  card: '4539 1488 0343 6467',
  card2: '5425-2334-3010-9903',
  ssn: '536-22-5598',
  iban: 'DE89 3704 0044 0532 0130 00',
  routing: '021000021',
  account: '73620019334',
  password: 's3cret-Passw0rd',
};
const positives = [
  `my card is ${SECRETS.card} exp 04/27`,
  `use the mastercard ${SECRETS.card2}`,
  `SSN ${SECRETS.ssn}`,
  `wire to IBAN ${SECRETS.iban} today`,
  `routing ${SECRETS.routing} account ${SECRETS.account}`,
];
const negatives = ['call me at +1 415 555 2671', 'ups 1Z999AA10123456784', 'meeting 2024-01-15 09:30', 'ISBN 978-0-306-40615-7', 'server 192.168.100.200', 'ssn 078-05-1120 is the wallet sample'];

function capture(): Buffer {
  const c = new Capture();
  const t = c.tcp('10.0.0.5:40001', '198.51.100.7:6667');
  t.open();
  t.send('c', `PASS ${SECRETS.password}\r\nNICK alice\r\nUSER alice 0 * :Alice\r\n`);
  t.send('s', ':irc.example.net 001 alice :Welcome to the net alice\r\n');
  for (const m of [...negatives, ...positives]) t.send('c', `PRIVMSG bob :${m}\r\n`);
  t.close();
  return c.pcap();
}

function fullValues(): string[] {
  const v = Object.values(SECRETS);
  // and the separator-free forms
  return [...v, ...v.map((x) => x.replace(/[ -]/g, ''))];
}

describe('analyzer: end to end on a generated IRC capture', function () {
  this.timeout(120000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-an-e2e-'));
  const pcap = path.join(tmp, 'irc-dlp.pcap');
  fs.writeFileSync(pcap, capture());
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('raises the right redacted alerts and none on look-alikes', () => {
    const r = shadowim(['analyze', pcap, '--format', 'jsonl']);
    assert.equal(r.status, 0, r.stderr);
    const alerts = r.events.filter((e) => e.type === 'alert');
    const dlp = alerts.filter((a) => a.kind === 'sensitive_data').map((a) => `${a.detector} ${a.match}`).sort();
    assert.deepEqual(dlp, ['aba_routing *****0021', 'iban DE****************3000', 'pan ************6467', 'pan ************9903', 'us_bank_account *******9334', 'us_ssn ***-**-5598']);
    for (const a of alerts.filter((x) => x.kind === 'sensitive_data')) {
      assert.equal(a.protocol, 'irc');
      assert.deepEqual(a.client, { ip: '10.0.0.5', port: 40001 });
      assert.match(a.id, /^[0-9a-f]{24}$/);
    }
    assert.equal(alerts.filter((a) => a.kind === 'unauthorized_im').length, 1);
    const cred = alerts.filter((a) => a.kind === 'cleartext_credentials');
    assert.equal(cred.length, 1, 'IRC PASS');
    assert.deepEqual(cred[0].users, ['alice']);
    // negatives reach the output unchanged (nothing to redact)
    const texts = r.events.filter((e) => e.type === 'message').map((m) => m.text);
    for (const n of negatives.filter((x) => !x.includes('078-05'))) assert.ok(texts.includes(n), n);
  });

  it('no full value on any output channel: JSONL stdout, stderr, text format', () => {
    const j = shadowim(['analyze', pcap, '--format', 'jsonl']);
    const t = shadowim(['analyze', pcap, '--format', 'text']);
    assert.equal(t.status, 0, t.stderr);
    assert.match(t.stdout, /ALERT CRITICAL sensitive_data: payment card number \(visa\) \*{12}6467/);
    for (const out of [j.stdout, j.stderr, t.stdout, t.stderr]) {
      for (const v of fullValues()) assert.ok(!out.includes(v), `full value ${v} leaked`);
    }
    // the message itself is redacted before it leaves the analyzer
    assert.ok(j.events.some((e) => e.type === 'message' && e.text === 'my card is **** **** **** 6467 exp 04/27'));
  });

  it('no full value in the store (every byte of the SQLite files)', () => {
    const dir = path.join(tmp, 'store');
    fs.mkdirSync(dir, { recursive: true });
    const r = shadowim(['analyze', pcap, '--format', 'jsonl', '--store', path.join(dir, 'events.sqlite')]);
    assert.equal(r.status, 0, r.stderr);
    const files = fs.readdirSync(dir);
    assert.ok(files.length > 0, 'the store was written');
    let sawRedacted = false;
    for (const f of files) {
      const bytes = fs.readFileSync(path.join(dir, f));
      sawRedacted ||= bytes.includes(Buffer.from('**** 6467'));
      for (const v of fullValues()) {
        assert.ok(!bytes.includes(Buffer.from(v, 'utf8')), `full value ${v} in ${f}`);
        assert.ok(!bytes.includes(Buffer.from(v, 'utf16le')), `full value ${v} (UTF-16) in ${f}`);
      }
    }
    assert.ok(sawRedacted, 'the redacted message is in the store (so the search above looked at real content)');
  });

  it('a policy that authorizes IRC for the client: no unauthorized_im, DLP still on', () => {
    const pol = path.join(tmp, 'allow-irc.yaml');
    fs.writeFileSync(pol, 'groups:\n  lab:\n    networks: [10.0.0.0/24]\n    allow:\n      - protocols: [irc]\n');
    const r = shadowim(['analyze', pcap, '--format', 'jsonl', '--policy', pol]);
    assert.equal(r.status, 0, r.stderr);
    const kinds = r.events.filter((e) => e.type === 'alert').map((a) => a.kind);
    assert.ok(!kinds.includes('unauthorized_im'));
    assert.equal(kinds.filter((k) => k === 'sensitive_data').length, 6);
  });
});

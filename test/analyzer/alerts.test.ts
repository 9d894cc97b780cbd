// The analyzer on contract events: which alerts, with which severity, person, redaction,
// suppression counts and stable ids. Events are written as the signatures would emit them
// (messages before their session, as a flow's session event is printed when it ends).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AlertEvent, ShadowEvent } from '../../common/events';
import { createAnalyzer } from '../../analyzer';
import { parsePolicy, defaultPolicy } from '../../analyzer/policy';
import { defaultFilesConfig, FileService } from '../../analyzer/files';
import { LinkBlocklist, LinkFilter } from '../../analyzer/links';
import { Collect } from '../helpers/collect';
import { sanitizeFileName } from '../../signatures/carve';

const C = { ip: '10.1.2.3', port: 40001 };
const S = { ip: '198.51.100.7', port: 6667 };
const T0 = Date.UTC(2024, 0, 15, 14, 30); // Monday 09:30 in New York

function at(ms: number) {
  return new Date(ms).toISOString();
}
function session(over: Partial<any> = {}): ShadowEvent {
  return { type: 'session', ts: at(T0 + 60000), protocol: 'irc', transport: 'tcp', client: C, server: S, users: ['alice'], start: at(T0), end: at(T0 + 60000), packets: 10, bytes: 1000, encrypted: false, evidence: [{ signature: 'irc.nick', reason: 'NICK' }], flow_id: 'f1', ...over } as ShadowEvent;
}
function message(text: string, over: Partial<any> = {}): ShadowEvent {
  return { type: 'message', ts: at(T0 + 1000), protocol: 'irc', from: 'alice', to: '#ops', text, direction: 'outbound', client: C, server: S, flow_id: 'f1', ...over } as ShadowEvent;
}
function file(name: string, over: Partial<any> = {}): ShadowEvent {
  return { type: 'file_transfer', ts: at(T0 + 2000), protocol: 'irc', from: 'alice', to: 'bob', filename: name, size: 1234, direction: 'outbound', client: C, server: S, flow_id: 'f1', ...over } as ShadowEvent;
}

function run(events: ShadowEvent[], policyText?: string): Collect {
  const out = new Collect();
  const a = createAnalyzer(out, { policy: policyText ? parsePolicy(policyText, 'test.yaml') : defaultPolicy() });
  for (const e of events) a.write(e);
  a.close();
  return out;
}

const POLICY = `
timezone: America/New_York
people:
  map: { alice: Alice Example, 10.9.0.1: Bob Example }
groups:
  eng:
    networks: [10.1.0.0/16]
    allow:
      - { protocols: [irc], days: mon-fri, hours: "09:00-17:00", chat: true, files: false }
  filers:
    networks: [10.2.0.0/16]
    allow:
      - { protocols: [xmpp], chat: false, files: true }
sanctioned_servers: [203.0.113.0/24, chat.corp.example]
`;

describe('analyzer: alerts', () => {
  // An inbound message to a channel or room names the channel in `to`: the local user is not known
  // from it. Was: '#ops' as the user of the unauthorized_im alert and a "user" on the users page.
  it('an inbound channel, room or conference message gives no user; a private one names the recipient', () => {
    for (const over of [{ kind: 'channel' }, { kind: 'notice' }, { protocol: 'xmpp', kind: 'groupchat', to: 'ops@conference.example.org' }, { protocol: 'yahoo', kind: 'conference', to: 'ops-room' }]) {
      const m = message('hi', { direction: 'inbound', from: 'bob', ...over });
      const a = run([m]).alerts;
      assert.equal(a.length, 1, JSON.stringify(over));
      assert.deepEqual(a[0].users, [], JSON.stringify(over));
      assert.doesNotMatch(a[0].summary, / as /);
    }
    const priv = run([message('hi', { direction: 'inbound', from: 'bob', to: 'alice', kind: 'private' })]).alerts;
    assert.deepEqual(priv[0].users, ['alice']);
    // the session that follows still names the flow's users (the alert's repeat carries them)
    const withSession = run([message('hi', { direction: 'inbound', from: 'bob', kind: 'channel' }), session()]).alerts;
    assert.ok(withSession.every((x) => !x.users.includes('#ops')), JSON.stringify(withSession));
  });

  it('default policy: every IM session is unauthorized, decided on the first event of the flow', () => {
    const out = run([message('hi'), session()]);
    const a = out.alerts;
    assert.equal(a.length, 1, 'one alert for the flow, not one per event');
    assert.equal(a[0].kind, 'unauthorized_im');
    assert.equal(a[0].severity, 'high', 'cleartext');
    assert.equal(a[0].protocol, 'irc');
    assert.deepEqual(a[0].client, C);
    assert.equal(a[0].flow_id, 'f1');
    // the alert follows the message that revealed the flow, before the session event
    assert.ok(out.events.findIndex((e) => e.type === 'alert') < out.events.findIndex((e) => e.type === 'session'));
    const enc = run([session({ protocol: 'whatsapp', encrypted: true, users: [], server: { ip: '157.240.1.1', port: 443 } })]).alerts;
    assert.equal(enc[0].severity, 'medium', 'encrypted sessions expose less');
  });

  it('names the person from the identity mapping (identity first, then address)', () => {
    const a = run([session()], POLICY.replace('10.1.0.0/16', '10.99.0.0/16')).alerts;
    assert.equal(a[0].person, 'Alice Example');
    const b = run([session({ users: [], client: { ip: '10.9.0.1', port: 5 } })], POLICY).alerts;
    assert.equal(b[0].person, 'Bob Example');
  });

  it('authorizes a group inside its hours; outside them it is a policy_violation', () => {
    assert.deepEqual(run([session(), message('hi')], POLICY).alerts, []);
    const late = T0 + 9 * 3600_000; // 18:30 New York
    const a = run([message('hi', { ts: at(late) })], POLICY).alerts;
    assert.equal(a.length, 1);
    assert.equal(a[0].kind, 'policy_violation');
    assert.equal(a[0].detector, 'outside_hours');
    assert.match(a[0].summary, /Monday to Friday, 09:00-17:00 \(America\/New_York\)/);
    // another protocol from the same group is unauthorized
    assert.equal(run([session({ protocol: 'msn' })], POLICY).alerts[0].kind, 'unauthorized_im');
  });

  it('enforces chat-only and files-only rules', () => {
    const a = run([message('hi'), file('notes.txt')], POLICY).alerts;
    const v = a.filter((x) => x.kind === 'policy_violation');
    assert.equal(v.length, 1);
    assert.equal(v[0].detector, 'file_transfer_not_allowed');
    const C2 = { ip: '10.2.0.9', port: 5000 };
    const b = run([message('hi', { protocol: 'xmpp', client: C2 }), file('x.pdf', { protocol: 'xmpp', client: C2 })], POLICY).alerts;
    assert.deepEqual(b.filter((x) => x.kind === 'policy_violation').map((x) => x.detector), ['chat_not_allowed']);
  });

  it('sanctioned servers are authorized by address or by the session name', () => {
    assert.deepEqual(run([session({ server: { ip: '203.0.113.9', port: 5222 }, protocol: 'xmpp' })], POLICY).alerts, []);
    assert.deepEqual(run([session({ server_name: 'chat.corp.example', protocol: 'xmpp', client: { ip: '172.16.0.1', port: 1 } })], POLICY).alerts, []);
    // a later flow's messages to the same server address are recognized too
    const out = run([session({ server_name: 'chat.corp.example', protocol: 'xmpp', client: { ip: '172.16.0.1', port: 1 } }), message('hi', { protocol: 'xmpp', flow_id: 'f2', client: { ip: '172.16.0.2', port: 2 } })], POLICY);
    assert.deepEqual(out.alerts, []);
  });

  it('sensitive data: redacted in the alert AND in the forwarded message', () => {
    const out = run([message('card 4111 1111 1111 1111 and ssn 536-22-5598 ok')]);
    const msg = out.events.find((e) => e.type === 'message') as any;
    assert.equal(msg.text, 'card **** **** **** 1111 and ssn ***-**-5598 ok');
    const s = out.alerts.filter((a) => a.kind === 'sensitive_data');
    assert.deepEqual(s.map((a) => [a.detector, a.match, a.severity]), [
      ['pan', '************1111', 'critical'],
      ['us_ssn', '***-**-5598', 'critical'],
    ]);
    assert.ok(!JSON.stringify(out.events).includes('4111 1111 1111 1111'));
    assert.ok(!JSON.stringify(out.events).includes('536-22-5598'));
  });

  it('sensitive data in a file name is redacted in the event and the alerts', () => {
    const out = run([file('ssn 536-22-5598.txt')]);
    assert.equal((out.events.find((e) => e.type === 'file_transfer') as any).filename, 'ssn ***-**-5598.txt');
    assert.ok(!JSON.stringify(out.events).includes('536-22-5598'));
    assert.ok(out.alerts.some((a) => a.kind === 'sensitive_data' && a.match === '***-**-5598'));
  });

  // the DCC connection's session event quoted the file name in its evidence, in clear
  it("a file name quoted in a session's evidence is masked there too", () => {
    const reason = 'IRC DCC SEND of card 4539 1852 9630 7417.txt by alice';
    const out = run([session({ evidence: [{ signature: 'expected-connection', reason }], service: 'file' })]);
    const s = out.events.find((e) => e.type === 'session') as any;
    assert.deepEqual(s.evidence, [{ signature: 'expected-connection', reason: 'IRC DCC SEND of card **** **** **** 7417.txt by alice' }]);
    assert.ok(!JSON.stringify(out.events).includes('4539 1852'));
  });

  // the engine cuts an evidence reason at 200 or 300 characters, unmarked, and a file name at 255 with
  // '…': a card cut after 12 digits is no card to the detectors, and they went out as '… 4539 1852 9630 '
  it('the digits at a cut of an evidence reason or a file name are masked whole', () => {
    const reason = 'IRC DCC SEND of ' + 'a'.repeat(163) + ' card 4539 1852 9630 ';
    assert.equal(reason.length, 200);
    const name = sanitizeFileName('n'.repeat(235) + ' 4539 1852 9630 7417 end.txt');
    assert.ok(name.endsWith(' 4539 1852 9630….txt'));
    const out = run([session({ evidence: [{ signature: 'expected-connection', reason }], service: 'file' }), file(name)]);
    const s = out.events.find((e) => e.type === 'session') as any;
    assert.equal(s.evidence[0].reason, 'IRC DCC SEND of ' + 'a'.repeat(163) + ' card **** **** **** ');
    const f = out.events.find((e) => e.type === 'file_transfer') as any;
    assert.equal(f.filename, 'n'.repeat(235) + ' **** **** ****….txt');
    assert.ok(!JSON.stringify(out.events).includes('4539'));
    // a reason shorter than the cut keeps its digits
    const short = run([session({ evidence: [{ signature: 'x', reason: 'DCC SEND on port 5000' }] })]).events.find((e) => e.type === 'session') as any;
    assert.equal(short.evidence[0].reason, 'DCC SEND on port 5000');
  });

  // third review of 30 November
  it('a name over 4,096 characters cut in its middle is marked there, so the digits at the join are masked whole', () => {
    const raw = '\u200b'.repeat(2028) + 'card 4539 1852 9630 ' + '7417yyyyyyyyyy' + '\u200b'.repeat(2040) + ' end.txt';
    const name = sanitizeFileName(raw);
    assert.equal(name, 'card 4539 1852 9630 … end.txt');
    const f = run([file(name)]).events.find((e) => e.type === 'file_transfer') as any;
    assert.equal(f.filename, 'card **** **** **** … end.txt');
  });

  it('a keyword alert masks the card it covers also when the policy has keywords and no regexes', () => {
    const out = run([message('SSN 219-09-9998 card 4539 1852 9630 7417')], "dlp:\n  keywords:\n    - { name: cards, words: ['card 4539'] }\n");
    const k = out.alerts.filter((a) => a.detector === 'keyword');
    assert.deepEqual(k.map((a) => a.match), ['card ****']);
    assert.ok(!JSON.stringify(out.alerts).includes('4539'));
  });

  it("\"won't\" after an account number is no amount in won (the word is not a currency word)", () => {
    const out = run([message("my account 40012345678 won't take the deposit")]);
    const m = out.events.find((e) => e.type === 'message') as any;
    assert.equal(m.text, "my account *******5678 won't take the deposit");
    assert.ok(out.alerts.some((a) => a.detector === 'us_bank_account'));
  });

  it('per-session count thresholds', () => {
    const pol = 'dlp:\n  detectors:\n    us_ssn: { threshold: 3 }\n';
    const two = run([message('ssn 536-22-5598'), message('ssn 536-22-5599')], pol).alerts.filter((a) => a.kind === 'sensitive_data');
    assert.equal(two.length, 0);
    const three = run([message('ssn 536-22-5598'), message('ssn 536-22-5599'), message('ssn 536-22-5597')], pol).alerts.filter((a) => a.kind === 'sensitive_data');
    assert.equal(three.length, 1);
    assert.equal(three[0].match, '***-**-5597');
    // counted per session: another flow starts from zero
    const other = run([message('ssn 536-22-5598'), message('ssn 536-22-5599'), message('ssn 536-22-5597', { flow_id: 'f9' })], pol).alerts.filter((a) => a.kind === 'sensitive_data');
    assert.equal(other.length, 0);
  });

  it('keyword dictionaries and user regexes (redacted by default)', () => {
    const pol = `dlp:
  keywords: [{ name: codenames, words: [bluebird, operation nightjar], severity: high }]
  regexes: [{ name: emp, pattern: "EMP-[0-9]{6}" }]
`;
    const out = run([message('Operation  Nightjar starts, ask EMP-123456')], pol);
    const s = out.alerts.filter((a) => a.kind === 'sensitive_data');
    assert.deepEqual(s.map((a) => [a.detector, a.match, a.severity]), [
      ['keyword', 'Operation  Nightjar', 'high'],
      ['regex', '***-**3456', 'medium'],
    ]);
    assert.match((out.events.find((e) => e.type === 'message') as any).text, /ask \*\*\*-\*\*3456$/);
  });

  // the scan stopped at exactly max_scan_bytes: a card across the limit was read as 15 digits (no
  // card) and they were forwarded ("card: 453918529630741 […8 characters not scanned, removed]")
  it('a value across max_scan_bytes is cut from the text whole, not forwarded in part', () => {
    const out = run([
      message('a'.repeat(65536 - 22) + ' card: 4539185296307417 thanks'),
      message('a'.repeat(65536 - 16) + ' SSN: 219-09-9998 thanks'),
      message('a'.repeat(65536 - 20) + ' card 4539 1852 9630 7417 thanks'),
    ]);
    const tails = out.events.filter((e) => e.type === 'message').map((e: any) => e.text.slice(-45));
    assert.deepEqual(tails, [' card:  […23 characters not scanned, removed]', 'a SSN:  […18 characters not scanned, removed]', 'a card  […26 characters not scanned, removed]']);
    assert.ok(!JSON.stringify(out.events).match(/45391|219-09|4539 1852/));
  });

  // full-width, CJK and thin separators did not join digit groups: such cards and SSNs were neither
  // alerted nor masked
  it('numbers with full-width, ideographic or thin separators are found and masked', () => {
    const texts = [
      'カード ４５３９－１８５２－９６３０－７４１７',
      'カード ４５３９　１８５２　９６３０　７４１７',
      'card 4539\u20091852\u20099630\u20097417',
      'SSN ２１９－０９－９９９８',
      'SSN ２１９ー０９ー９９９８',
      'SSN ２１９．０９．９９９８',
    ];
    const out = run(texts.map((t) => message(t)));
    assert.deepEqual(out.events.filter((e) => e.type === 'message').map((e: any) => e.text), [
      'カード ****－****－****－７４１７',
      'カード ****　****　****　７４１７',
      'card ****\u2009****\u2009****\u20097417',
      'SSN ***－**－９９９８',
      'SSN *******９９９８', // ー is a letter (Lm): masked with the digits
      'SSN ***．**．９９９８',
    ]);
    assert.deepEqual([...new Set(out.alerts.filter((a) => a.kind === 'sensitive_data').map((a) => a.match))], ['************7417', '***-**-9998']);
  });

  // overlapping findings: the later one was skipped, so a regex match ending inside a card left the
  // card after it in clear ("***: 4539 1852 9630 7417"), and a card ending inside a regex match left
  // the rest of that match; the regex's alert showed the card's first group
  it('overlapping findings are masked as their union, never more of a card than its last four', () => {
    const pol = `dlp:
  regexes:
    - { name: secret, pattern: '(?:pin|password|pwd)[:=]? *[^ ]+', ignore_case: true }
    - { name: tok, pattern: '7417 [A-Z0-9]{6,}' }
`;
    const out = run([message('PIN: 4539 1852 9630 7417'), message('card 4539 1852 9630 7417 SECRETTOKEN99')], pol);
    const texts = out.events.filter((e) => e.type === 'message').map((e: any) => e.text);
    assert.deepEqual(texts, ['***: **** **** **** 7417', 'card **** **** **** **** *********EN99']);
    const s = out.alerts.filter((a) => a.kind === 'sensitive_data');
    assert.deepEqual(s.map((a) => [a.detector, a.match]), [
      ['regex', '***: ****'],
      ['pan', '************7417'],
      ['regex', '**** *********EN99'],
      ['pan', '************7417'],
    ]);
  });

  // a regex with redact: false (or a dictionary word with digits) showed the card it covers in full in
  // its alert's match and summary, while the message text had it masked
  it('a redact: false regex or a keyword shows no card or SSN it covers in its alert', () => {
    const pol = `dlp:
  regexes:
    - { name: ticket, pattern: 'ticket [^ ]+ [^ ]+ [^ ]+ [^ ]+', redact: false }
  keywords:
    - { name: cards, words: ['card 4539'] }
`;
    const out = run([message('ticket 4539 1852 9630 7417'), message('SSN 219-09-9998 card 4539 1852 9630 7417')], pol);
    assert.deepEqual(
      out.events.filter((e) => e.type === 'message').map((e: any) => e.text),
      ['ticket **** **** **** 7417', 'SSN ***-**-9998 card **** **** **** 7417'],
    );
    const s = out.alerts.filter((a) => a.kind === 'sensitive_data');
    const shown = s.filter((a) => a.detector === 'regex' || a.detector === 'keyword').map((a) => [a.detector, a.match]);
    assert.deepEqual(shown, [
      ['regex', 'ticket **** **** **** 7417'],
      ['keyword', 'card ****'],
    ]);
    for (const a of s) assert.ok(!/4539|1852|9630|219-09/.test(JSON.stringify(a)), JSON.stringify(a));
  });

  // masking kept every character that was not an ASCII letter or digit: Cyrillic and full-width
  // letters of a matched password went out as typed ("******rd: пароль-секрет-42")
  it('a masking regex masks letters and numbers of every script, separators kept', () => {
    const pol = "dlp:\n  regexes: [{ name: pw, pattern: 'password: [^ ]+' }]\n";
    const out = run([message('password: пароль-секрет-42'), message('password: ＳｅｃｒｅｔＰａｓｓ９９'), message('password: 𝐒𝐞𝐜𝐫𝐞𝐭99')], pol);
    const texts = out.events.filter((e) => e.type === 'message').map((e: any) => e.text);
    // one '*' for a letter outside the BMP (a surrogate pair), never half of it
    assert.deepEqual(texts, ['********: ******-****ет-42', '********: ********ｓｓ９９', '********: ****𝐞𝐭99']);
    const s = out.alerts.filter((a) => a.kind === 'sensitive_data');
    assert.equal(s[0].match, '********: ******-****ет-42');
  });

  it('cleartext credentials: an alert naming the user, never a secret', () => {
    const cred = { type: 'credential', ts: at(T0), protocol: 'irc', user: 'alice', mechanism: 'irc-pass', client: C, server: S, flow_id: 'f1', password: 'hunter2' } as any;
    const out = run([cred]);
    const c = out.alerts.find((a) => a.kind === 'cleartext_credentials')!;
    assert.equal(c.severity, 'high');
    assert.deepEqual(c.users, ['alice']);
    assert.equal(c.detector, 'irc-pass');
    assert.ok(!JSON.stringify(out.events).includes('hunter2'), 'a secret field is stripped even if a decoder set one');
  });

  it('file transfers: severity by policy, executables disguised by name are high, malware critical', () => {
    const sev = (ev: ShadowEvent, pol?: string) => run([ev], pol).alerts.filter((a) => a.kind === 'file_transfer').map((a) => [a.severity, a.detector ?? '']);
    assert.deepEqual(sev(file('notes.txt')), [['low', '']]);
    assert.deepEqual(sev(file('setup.exe')), [['high', '']]);
    assert.deepEqual(sev(file('invoice.pdf', { stage: 'data', file_type: 'pe', complete: true })), [['high', 'type_mismatch']]);
    assert.deepEqual(sev(file('tool.exe', { stage: 'data', file_type: 'pe' })), [['high', '']]);
    assert.deepEqual(sev(file('a.doc', { verdict: 'infected:Eicar-Test-Signature' })), [['critical', 'malware']]);
    assert.deepEqual(sev(file('notes.txt'), 'files: { severity: medium }\n'), [['medium', '']]);
    assert.deepEqual(sev(file('big.iso', { size: 100 * 1024 * 1024 }), 'files: { dangerous_extensions: [exe], large_bytes: 1000 }\n'), [['medium', '']]);
    // an offer and its carved data are one transfer
    const both = run([file('notes.txt', { transfer_id: 't1', stage: 'offer' }), file('notes.txt', { transfer_id: 't1', stage: 'data', complete: true })]).alerts.filter((a) => a.kind === 'file_transfer');
    assert.equal(both.length, 1);
  });

  it('severity overrides by kind, protocol, detector and encryption', () => {
    const pol = 'severity:\n  unauthorized_im: low\n  unauthorized_im.msn: critical\n  sensitive_data.pan: medium\n';
    assert.equal(run([session()], pol).alerts[0].severity, 'low');
    assert.equal(run([session({ protocol: 'msn' })], pol).alerts[0].severity, 'critical');
    const s = run([message('card 4111111111111111')], pol).alerts.find((a) => a.kind === 'sensitive_data')!;
    assert.equal(s.severity, 'medium');
  });

  it("an alert's groups are its local side's, not the groups of the person at the other end of a message", () => {
    // two colleagues over IRC: alice (support) writes to bob (executives); the capture sees alice's client
    const pol = 'groups:\n  support:\n    users: [alice]\n  executives:\n    users: [bob]\n';
    const out = run([
      message('card 4111111111111111', { to: 'bob' }),
      file('payroll.exe', { to: 'bob' }),
      message('card 4111111111111111', { from: 'bob', to: 'alice', direction: 'inbound', flow_id: 'f2', ts: at(T0 + 5000) }),
    ], pol);
    const by = (kind: string, flow: string) => out.alerts.find((a) => a.kind === kind && a.flow_id === flow)?.groups;
    assert.deepEqual(by('sensitive_data', 'f1'), ['support']);
    assert.deepEqual(by('file_transfer', 'f1'), ['support']);
    assert.deepEqual(by('sensitive_data', 'f2'), ['support'], 'inbound: the local side is the receiver');
  });
});

// The analyzer copied user names into alerts as decoders gave them, and not every decoder cuts them
// (XMPP does, at 256): a session with a 1.2 MB name made a 5.4 MB alert.
describe('analyzer: identities from the wire are bounded in alerts', () => {
  const MB = 1 << 20;
  const big = (c: string) => `${c}-${'é'.repeat(MB)}`;
  const cut = (name: string) => `${name.slice(0, 256)}…`;

  it('a 1 MB user name is cut to 256 characters, marked …, in every alert; the alert stays small', () => {
    const A = big('alice');
    const B = big('bob');
    const M = big('mallory');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-ids-'));
    try {
      fs.writeFileSync(path.join(dir, 'list.txt'), 'evil.example\n');
      const links = new LinkFilter(LinkBlocklist.load([{ file: path.join(dir, 'list.txt') }]));
      const out = new Collect();
      const an = createAnalyzer(out, { policy: defaultPolicy(), links });
      const cred = { type: 'credential', ts: at(T0), protocol: 'irc', user: M, mechanism: 'irc-pass', client: C, server: S, flow_id: 'f3' } as any;
      for (const e of [
        message('card 4111111111111111 at http://evil.example/x', { from: A, to: B }),
        file('setup.exe', { from: A, to: B }),
        cred,
        session({ users: [A] }),
        // a repeat in the interval, with another long name: the update merges users
        session({ users: [M], flow_id: 'f2', client: { ip: C.ip, port: 40002 } }),
      ])
        an.write(e);
      an.close();
      const kinds = new Set(out.alerts.map((a) => a.kind));
      assert.deepEqual([...kinds].sort(), ['cleartext_credentials', 'file_transfer', 'malicious_link', 'sensitive_data', 'unauthorized_im']);
      for (const a of out.alerts) {
        const bytes = Buffer.byteLength(JSON.stringify(a));
        assert.ok(bytes < 8192, `${a.kind}: ${bytes} bytes`);
        assert.ok(a.users.length > 0 && a.users.every((u) => [cut(A), cut(B), cut(M)].includes(u)), `${a.kind}: ${a.users.map((u) => u.slice(0, 12))}`);
      }
      assert.deepEqual(out.alerts.find((a) => a.kind === 'sensitive_data')!.users, [cut(A), cut(B)]);
      assert.deepEqual(out.alerts.find((a) => a.kind === 'cleartext_credentials')!.users, [cut(M)]);
      assert.ok(out.alerts.some((a) => a.kind === 'unauthorized_im' && a.count === 2 && a.users.includes(cut(M))), 'the update names the second user');
      assert.equal(cut(A).length, 257);
      assert.ok(cut(A).startsWith('alice-éé'));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names up to 256 characters are unchanged; a cut never splits a surrogate pair', () => {
    const n256 = `bob-${'x'.repeat(252)}`;
    for (const name of ['alice', 'Ålice Ørsted', '(ops)x', n256]) {
      const a = run([session({ users: [name] })]).alerts[0];
      assert.equal(JSON.stringify(a.users), JSON.stringify([name]), name.slice(0, 12));
    }
    const astral = `${'a'.repeat(255)}😀${'b'.repeat(1000)}`;
    assert.deepEqual(run([session({ users: [astral] })]).alerts[0].users, [`${'a'.repeat(255)}…`]);
  });

  it('the policy still matches a long name on its first 256 characters', () => {
    const pol = 'people:\n  map: { alice@corp.example: Alice Example }\ngroups:\n  staff:\n    users: [alice@corp.example]\n    allow:\n      - { protocols: [xmpp] }\n';
    const jid = `alice@corp.example/${'r'.repeat(MB)}`;
    assert.deepEqual(run([session({ protocol: 'xmpp', users: [jid], client: { ip: '172.16.0.1', port: 1 } })], pol).alerts, [], 'allowed: the JID without its resource is staff');
    const a = run([session({ protocol: 'msn', users: [jid], client: { ip: '172.16.0.1', port: 1 } })], pol).alerts[0];
    assert.equal(a.person, 'Alice Example');
    assert.deepEqual(a.groups, ['staff']);
    assert.deepEqual(a.users, [cut(jid)]);
  });

  it('file content alerts (the file service) cut the names too', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-ids-'));
    try {
      const got: ShadowEvent[] = [];
      const svc = new FileService({ policy: defaultPolicy(), config: { ...defaultFilesConfig(), spoolDir: dir }, emit: (e) => got.push(e) });
      const flow = {} as any;
      const spool = svc.spool({} as any, flow)!;
      const body = Buffer.from('pay 4111111111111111 today\n');
      spool.write(body);
      spool.close();
      const A = big('alice');
      const ev = file('note.txt', { from: A, to: 'bob', stage: 'data', file_type: 'text', size: body.length, observed_size: body.length, sha256: 'a'.repeat(64), md5: 'b'.repeat(32) }) as any;
      const carved = { meta: {}, observedSize: body.length, gapBytes: 0, complete: true, sha256: ev.sha256, md5: ev.md5, head: body, spool } as any;
      svc.finish(carved, ev, flow);
      const alerts = got.filter((e): e is AlertEvent => e.type === 'alert');
      assert.equal(alerts.length, 1, JSON.stringify(got).slice(0, 300));
      assert.deepEqual(alerts[0].users, [cut(A), 'bob']);
      assert.ok(Buffer.byteLength(JSON.stringify(alerts[0])) < 8192);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  // clip() cut summaries at n UTF-16 units: an emoji across the cut left half of its surrogate pair,
  // which JSON.stringify writes as \udXXX (some SIEMs reject the line). Was: "\ud83d…" in the summary.
  it('a summary never cuts a name or file name inside a surrogate pair', () => {
    const lone = /\\ud[89a-f][0-9a-f]{2}/i; // JSON.stringify escapes only a lone surrogate
    const name = `${'a'.repeat(47)}😀tail`; // who() and the DLP summary cut names at 48
    for (const a of run([message('card 4111111111111111', { from: name }), session({ users: [name] })]).alerts) {
      assert.doesNotMatch(JSON.stringify(a), lone, a.summary);
      assert.ok(a.summary.includes(`${'a'.repeat(47)}…`), a.summary);
    }
    // text of 48 units or fewer is not cut
    const fits = `${'a'.repeat(46)}😀`;
    assert.ok(run([session({ users: [fits] })]).alerts[0].summary.includes(` as ${fits} to `));
    // the file service's content alerts cut the file name at 96
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-clip-'));
    try {
      const got: ShadowEvent[] = [];
      const svc = new FileService({ policy: defaultPolicy(), config: { ...defaultFilesConfig(), spoolDir: dir }, emit: (e) => got.push(JSON.parse(JSON.stringify(e))) });
      const flow = {} as any;
      const spool = svc.spool({} as any, flow)!;
      const body = Buffer.from('pay 4111111111111111 today\n');
      spool.write(body);
      spool.close();
      const fname = `${'n'.repeat(95)}😀.txt`;
      const ev = file(fname, { stage: 'data', file_type: 'text', size: body.length, observed_size: body.length, sha256: 'a'.repeat(64), md5: 'b'.repeat(32) }) as any;
      svc.finish({ meta: {}, observedSize: body.length, gapBytes: 0, complete: true, sha256: ev.sha256, md5: ev.md5, head: body, spool } as any, ev, flow);
      const alerts = got.filter((e): e is AlertEvent => e.type === 'alert');
      assert.equal(alerts.length, 1, JSON.stringify(got).slice(0, 300));
      assert.doesNotMatch(JSON.stringify(alerts[0]), lone, alerts[0].summary);
      assert.ok(alerts[0].summary.includes(` file ${'n'.repeat(95)}… from `), alerts[0].summary);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('analyzer: suppression and alert ids', () => {
  // A session names up to 64 users (the engine's cap); Suppressor.merge capped only the users later
  // repeats added, at 32. Was: the first alert, and its update, carried all 64.
  it('an alert names at most 32 users, the first of its interval too', () => {
    const many = Array.from({ length: 64 }, (_, i) => `user${i}`);
    const a = run([session({ users: many }), session({ users: ['late'], flow_id: 'f2', client: { ip: C.ip, port: 40002 } })]).alerts;
    assert.deepEqual(a.map((x) => x.count), [1, 2]);
    assert.deepEqual(a[0].users, many.slice(0, 32), 'the first 32, in order');
    assert.deepEqual(a[1].users, many.slice(0, 32), 'the update adds none past 32');
  });

  it('collapses repeats within the interval: first at once, an update with the same id and count at the end', () => {
    const flows = [0, 1, 2].map((i) => session({ flow_id: `f${i}`, client: { ip: C.ip, port: 40000 + i }, ts: at(T0 + i * 60000), start: at(T0 + i * 60000) }));
    const out = run(flows);
    const a = out.alerts;
    assert.equal(a.length, 2, 'the first, then one update at close()');
    assert.equal(a[0].count, 1);
    assert.equal(a[1].count, 3);
    assert.equal(a[0].id, a[1].id);
    assert.equal(a[1].ts, at(T0 + 120000), 'the update carries the latest occurrence time');
  });

  it('the update is emitted when the capture clock passes the interval end', () => {
    const out = new Collect();
    const an = createAnalyzer(out, { policy: parsePolicy('suppression: { unauthorized_im: 10m }\n', 's.yaml') });
    an.write(session({ flow_id: 'a' }));
    an.write(session({ flow_id: 'b', client: { ip: C.ip, port: 2 } }));
    assert.equal(out.alerts.length, 1);
    an.write({ type: 'stats', ts: at(T0 + 11 * 60000 + 60000), packets: 1, bytes: 1 } as ShadowEvent);
    assert.equal(out.alerts.length, 2, 'update emitted on the first event past the interval');
    assert.equal(out.alerts[1].count, 2);
    // a new occurrence after the interval opens a new one: emitted at once, same id
    an.write(session({ flow_id: 'c', client: { ip: C.ip, port: 3 }, ts: at(T0 + 30 * 60000), start: at(T0 + 30 * 60000) }));
    assert.equal(out.alerts.length, 3);
    assert.equal(out.alerts[2].count, 1);
    assert.equal(out.alerts[2].id, out.alerts[0].id);
    an.close();
    assert.equal(out.alerts.length, 3, 'nothing repeated, nothing to update');
  });

  it('a shorter interval that began later ends on time, not behind a longer one', () => {
    // unauthorized_im 1h opens first; sensitive_data 10m opens a minute later and repeats: its update
    // is due at 11 min, while the 1h window is still open
    const out = new Collect();
    const an = createAnalyzer(out, { policy: parsePolicy('suppression: { unauthorized_im: 1h, sensitive_data: 10m }\n', 's.yaml') });
    an.write(session({ flow_id: 'a' }));
    an.write(message('card 4111111111111111', { flow_id: 'b', client: { ip: C.ip, port: 2 }, ts: at(T0 + 60000) }));
    an.write(message('card 4111111111111111', { flow_id: 'c', client: { ip: C.ip, port: 3 }, ts: at(T0 + 120000) }));
    const dlp = () => out.alerts.filter((x) => x.kind === 'sensitive_data');
    assert.equal(dlp().length, 1);
    an.write({ type: 'stats', ts: at(T0 + 12 * 60000), packets: 1, bytes: 1 } as ShadowEvent);
    assert.deepEqual(dlp().map((x) => x.count), [1, 2], 'the 10 min update is out at 12 min');
    assert.equal(out.alerts.filter((x) => x.kind === 'unauthorized_im' && (x.count ?? 0) > 1).length, 0, 'the 1 h window is still open');
    an.close();
  });

  it('the same session seen twice (message, then session event) counts once', () => {
    const a = run([message('hi'), message('again'), session()]).alerts;
    assert.equal(a.length, 1);
    assert.equal(a[0].count, 1);
  });

  it('interval 0 disables suppression', () => {
    const a = run([message('card 4111111111111111'), message('card 4111111111111111', { ts: at(T0 + 5000) })], 'suppression: { sensitive_data: 0 }\n').alerts.filter((x) => x.kind === 'sensitive_data');
    assert.equal(a.length, 2);
    assert.equal(a[0].id, a[1].id);
  });

  it('ids are stable across runs and independent of time; different findings differ', () => {
    const one = run([message('card 4111111111111111')]).alerts;
    const two = run([message('card 4111111111111111', { ts: at(T0 + 86400_000 * 30), flow_id: 'other' })]).alerts;
    assert.deepEqual(one.map((a) => a.id), two.map((a) => a.id));
    const three = run([message('card 5555555555554444')]).alerts.find((a) => a.kind === 'sensitive_data')!;
    assert.notEqual(three.id, one.find((a) => a.kind === 'sensitive_data')!.id);
    assert.match(one[0].id, /^[0-9a-f]{24}$/);
  });
});

describe('analyzer: inbound flows', () => {
  it('an inbound flow (outside client, our server) is judged and named by our host', () => {
    const inbound = session({ protocol: 'skype', encrypted: true, client: { ip: '93.71.110.205', port: 3478 }, server: { ip: '192.168.1.6', port: 50016 }, users: [] });
    const a = run([inbound]).alerts;
    assert.equal(a.length, 1);
    assert.match(a[0].summary, /^unauthorized skype use by 192\.168\.1\.6, inbound from 93\.71\.110\.205:3478/);
    const pol = 'groups:\n  lan:\n    networks: [192.168.1.0/24]\n    allow: [{ protocols: [skype] }]\n';
    assert.deepEqual(run([inbound], pol).alerts, [], 'the group of our host applies');
    const pol2 = 'home_networks: [203.0.113.0/24]\n';
    assert.match(run([inbound], pol2).alerts[0].summary, /use by 93\.71\.110\.205 to 192\.168\.1\.6:50016/, 'home networks are configurable');
  });
});

describe('analyzer: live mode', () => {
  it('ends suppression intervals by the wall clock when traffic goes quiet', async () => {
    const out = new Collect();
    const an = createAnalyzer(out, { policy: parsePolicy('suppression: { unauthorized_im: 100ms }\n', 'live.yaml'), live: true, tickMs: 25 });
    const now = new Date().toISOString();
    an.write(session({ flow_id: 'l1', ts: now, start: now }));
    an.write(session({ flow_id: 'l2', ts: now, start: now, client: { ip: C.ip, port: 2 } }));
    assert.equal(out.alerts.length, 1);
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(out.alerts.length, 2, 'the update came without another event');
    assert.equal(out.alerts[1].count, 2);
    an.close();
  });
});

describe('analyzer: malformed events', () => {
  it('never throws on events with missing or odd fields', () => {
    const out = new Collect();
    const an = createAnalyzer(out, { policy: parsePolicy(POLICY, 'p.yaml') });
    const odd: any[] = [
      { type: 'message', ts: 'not a time' },
      { type: 'message', ts: at(T0), protocol: 'irc', text: 42, client: C, server: S },
      { type: 'message', ts: at(T0), protocol: 'irc', text: 'card 4111111111111111', from: null, to: undefined },
      { type: 'file_transfer', ts: at(T0), protocol: 'irc', filename: undefined, size: 'big' },
      { type: 'file_transfer', ts: at(T0), protocol: 'irc', filename: 'x.exe', file_type: 'pe', verdict: 5, client: { ip: 'nonsense', port: -1 }, server: S },
      { type: 'session', ts: at(T0), protocol: 'irc', users: [null, 7, '(unknown)'], client: { ip: '::ffff:10.1.2.3', port: 1 }, server: { ip: 'fe80::1%eth0', port: 2 }, start: 'x', encrypted: 'yes' },
      { type: 'credential', ts: at(T0), protocol: 'irc', user: undefined, mechanism: undefined },
      { type: 'alert', ts: at(T0), id: 'upstream', kind: 'x', severity: 'low', summary: 's', users: [] },
      { type: 'unknown-type', ts: at(T0) },
    ];
    for (const e of odd) an.write(e);
    an.close();
    assert.ok(out.events.length >= odd.length);
    assert.ok(!JSON.stringify(out.events).includes('4111111111111111'));
    assert.equal(an.errors, 0);
  });

  it('if analysis fails anyway, the event goes on with its text withheld and the sensor keeps running', () => {
    const out = new Collect();
    const an = createAnalyzer(out);
    (an as any).scanner = {
      scan() {
        throw new Error('scanner exploded');
      },
    };
    const write = process.stderr.write;
    let err = '';
    (process.stderr as any).write = (s: string) => ((err += s), true);
    try {
      an.write(message('card 4111111111111111'));
      an.write(message('again 4111111111111111'));
    } finally {
      (process.stderr as any).write = write;
    }
    const msgs = out.events.filter((e) => e.type === 'message') as any[];
    assert.deepEqual(msgs.map((m) => m.text), ['[withheld: the analyzer could not check this text]', '[withheld: the analyzer could not check this text]']);
    assert.equal(an.errors, 2);
    assert.equal(err.trim().split('\n').length, 1, 'one line, once');
    assert.match(err, /analyzer: scanner exploded/);
  });
});

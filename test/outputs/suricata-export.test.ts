// The Suricata export as Suricata reads it: a long address list is split over rules that suricata -T
// accepts (one line was cut into fragments past 8 KiB), and suricata -r on a capture shows which flows
// the rules catch — a sanctioned name and an exception's sources are passed by every kind of rule
// (TLS SNI, payload, address), not by the address rules only; and no pass reaches further than the
// traffic it is for: an AIM exception passes no ICQ (OSCAR is both's), a Skype one no teams.skype.com,
// and a sanctioned or excepted DNS/HTTP name does not pass the later queries and requests of its flow.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FORMATS } from '../../outputs/firewall/formats';
import { buildModel, loadApps } from '../../outputs/firewall/model';
import { loadRegistry } from '../../signatures/registry';
import { exportCheck } from '../helpers/fwTools';
import { Capture } from '../helpers/pcapgen';
import { tlsClientHello } from '../helpers/tlsWire';

const suri = exportCheck('suricata')!;
/** skips the test, its title saying why */
function skip(ctx: Mocha.Context): void {
  ctx.test!.title += ' (skipped: suricata or /etc/suricata/suricata.yaml is not installed here)';
  ctx.skip();
}
const render = (m: ReturnType<typeof buildModel>) => FORMATS.find((f) => f.id === 'suricata')!.render(m);

/** n observed XMPP servers, 198.18.x.y */
const observed = (n: number) => Array.from({ length: n }, (_, i) => ({ protocol: 'xmpp', ip: `198.${18 + (i >> 16)}.${(i >> 8) & 255}.${(i % 254) + 1}`, port: 5222 }));
const v6 = (n: number) => Array.from({ length: n }, (_, i) => ({ protocol: 'xmpp', ip: `2001:db8:${(i * 7919).toString(16)}:ffff:ffff:ffff:ffff:${i.toString(16)}`, port: 5222 }));

/** a DNS query message (or its answer's header and question) */
function dnsq(id: number, name: string, answer = false): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(id, 0);
  h.writeUInt16BE(answer ? 0x8180 : 0x0100, 2);
  h.writeUInt16BE(1, 4);
  const labels = name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
  return Buffer.concat([h, ...labels, Buffer.from([0, 0, 1, 0, 1])]);
}
const get = (host: string) => `GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n`;
const OK = 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n';
/** OSCAR FLAPs as AIM and ICQ clients both send them: sign-on (channel 1), a SNAC 4/6 message (channel 2) */
const FLAP_SIGNON = Buffer.from('2a01000100040000000100060000', 'hex');
const SNAC_4_6 = Buffer.from('2a0200020016000400060000000000010000000000000000000100', 'hex');

function model(n: number, extra: object[] = []) {
  return buildModel({
    registry: loadRegistry(), forbidden: ['slack', 'xmpp'], action: 'log', now: new Date('2026-01-01T00:00:00Z'),
    observed: [...observed(n), ...(extra as any[])],
    exceptions: [{ sources: ['10.20.0.0/16'], protocols: ['xmpp'], reason: 'engineering may use xmpp' }],
    sanctioned: ['acme.slack.com', '192.0.2.50'],
  });
}

describe('Suricata export read by Suricata', function () {
  this.timeout(180000);
  let tmp: string;
  before(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-suri-'))));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  /** the export of M read by suricata -T, then suricata -r on C: the distinct "client-address msg" of fast.log */
  function caughtBy(m: ReturnType<typeof buildModel>, c: Capture): string[] {
    const dir = fs.mkdtempSync(path.join(tmp, 'run-'));
    const rules = path.join(dir, 'export.rules');
    fs.writeFileSync(rules, render(m));
    suri.check(rules);
    const pcap = path.join(dir, 'flows.pcap');
    fs.writeFileSync(pcap, c.pcap());
    const r = spawnSync('suricata', ['-c', '/etc/suricata/suricata.yaml', '-k', 'none', '-S', rules, '-r', pcap, '-l', dir], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr + r.stdout);
    const lines = fs.readFileSync(path.join(dir, 'fast.log'), 'utf8').split('\n').filter(Boolean);
    return [...new Set(lines.map((l) => `${/\{(?:TCP|UDP)\} (\S+?):\d+ ->/.exec(l)![1]} ${/\] (shadowim [^[]+?) \[\*\*\]/.exec(l)![1]}`))].sort();
  }
  const policy = (forbidden: string[], more: { exceptions?: { sources: string[]; protocols: string[]; reason: string }[]; sanctioned?: string[]; action?: 'block' | 'log' } = {}) =>
    buildModel({ registry: loadRegistry(), forbidden, action: more.action ?? 'log', now: new Date('2026-01-01T00:00:00Z'), exceptions: more.exceptions, sanctioned: more.sanctioned });
  const send = (c: Capture, from: string, to: string, ...data: Buffer[]) => {
    const t = c.tcp(from, to).open();
    for (const d of data) t.send('c', d);
    t.close();
  };

  it('suricata -r: an AIM exception passes no ICQ flow (OSCAR is both\'s); one for AIM and ICQ passes both', function () {
    if (!suri.ready) return skip(this);
    const c = new Capture();
    send(c, '10.20.1.5:40001', '203.0.113.9:5190', FLAP_SIGNON, SNAC_4_6); // OSCAR from the excepted group
    send(c, '192.168.1.5:40002', '203.0.113.9:5190', FLAP_SIGNON, SNAC_4_6); // and from elsewhere
    const aim = { sources: ['10.20.0.0/16'], protocols: ['aim'], reason: 'aim ok' };
    const everywhere = ['shadowim AIM OSCAR ICBM outgoing message', 'shadowim AIM/ICQ OSCAR FLAP sign-on', 'shadowim ICQ OSCAR message'];
    const both = (...ips: string[]) => ips.flatMap((ip) => everywhere.map((m) => `${ip} ${m}`)).sort();
    // forbidden AIM and ICQ, AIM excepted: the flow may be ICQ's, so it stays caught (the docs say so)
    assert.deepEqual(caughtBy(policy(['aim', 'icq'], { exceptions: [aim] }), c), both('10.20.1.5', '192.168.1.5'));
    // excepted for both: passed; only AIM forbidden: the AIM exception passes its rules
    assert.deepEqual(caughtBy(policy(['aim', 'icq'], { exceptions: [{ ...aim, protocols: ['aim', 'icq'] }] }), c), both('192.168.1.5'));
    assert.deepEqual(caughtBy(policy(['aim'], { exceptions: [aim] }), c), ['192.168.1.5 shadowim AIM OSCAR ICBM outgoing message', '192.168.1.5 shadowim AIM/ICQ OSCAR FLAP sign-on']);
  });

  it('suricata -r: every payload rule against traffic of every protocol: a rule another forbidden protocol\'s traffic trips names it in shared_with', function () {
    if (!suri.ready) return skip(this);
    // traffic of the protocols with payload rules, one flow each: every rule must catch one of its protocol's
    const samples: { protocol: string; proto: 'tcp' | 'udp'; data: Buffer[] }[] = [
      { protocol: 'aim', proto: 'tcp', data: [FLAP_SIGNON, SNAC_4_6] },
      { protocol: 'aim', proto: 'tcp', data: [Buffer.concat([Buffer.from('OFT2'), Buffer.alloc(252)])] },
      { protocol: 'icq', proto: 'tcp', data: [FLAP_SIGNON, SNAC_4_6] },
      { protocol: 'icq', proto: 'tcp', data: [Buffer.concat([Buffer.from('OFT2'), Buffer.alloc(252)])] }, // ICQ's OSCAR file transfer is OFT2 too
      { protocol: 'icq', proto: 'udp', data: [Buffer.concat([Buffer.from('0500', 'hex'), Buffer.alloc(30, 1)])] },
      { protocol: 'msn', proto: 'tcp', data: [Buffer.from('VER 1 MSNP15 MSNP14 CVR0\r\n')] },
      { protocol: 'msn', proto: 'tcp', data: [Buffer.from('POST /gateway/gateway.dll?Action=open&Server=NS HTTP/1.1\r\nHost: gateway.messenger.hotmail.com\r\nContent-Length: 0\r\n\r\n')] },
      { protocol: 'yahoo', proto: 'tcp', data: [Buffer.concat([Buffer.from('YMSG'), Buffer.alloc(16)])] },
      { protocol: 'xmpp', proto: 'tcp', data: [Buffer.from("<?xml version='1.0'?><stream:stream to='example.net' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>")] },
      { protocol: 'irc', proto: 'tcp', data: [Buffer.from('NICK alice\r\nUSER alice 0 * :Alice\r\n'), Buffer.from('PRIVMSG bob :\x01DCC SEND f.txt 3232235777 5000 10\x01\r\n')] },
      { protocol: 'sip', proto: 'udp', data: [Buffer.from('MESSAGE sip:bob@example.com SIP/2.0\r\nContent-Length: 2\r\n\r\nhi')] },
      { protocol: 'sip', proto: 'tcp', data: [Buffer.from('MESSAGE sip:bob@example.com SIP/2.0\r\nContent-Length: 2\r\n\r\nhi')] },
      { protocol: 'whatsapp', proto: 'tcp', data: [Buffer.from('574106020000', 'hex')] },
    ];
    const apps = loadApps();
    const withRules = Object.keys(apps).filter((p) => apps[p].suricata?.length).sort();
    assert.deepEqual([...new Set(samples.map((s) => s.protocol))].sort(), withRules, 'a sample of every protocol with payload rules');
    const ruleOf = new Map(withRules.flatMap((p) => apps[p].suricata!.map((r): [string, { protocol: string; rule: (typeof r) }] => [`shadowim ${r.msg}`, { protocol: p, rule: r }])));
    const c = new Capture();
    samples.forEach((s, i) => {
      const from = `192.168.2.${i + 1}:${41000 + i}`;
      const to = `203.0.113.${i + 1}:${s.proto === 'udp' ? 4000 : 80}`;
      if (s.proto === 'udp') for (const d of s.data) c.udp(from, to, d);
      else send(c, from, to, ...s.data);
    });
    const caught = caughtBy(policy(withRules), c).map((l) => l.split(' '));
    const tripped = new Set<string>();
    for (const [i, s] of samples.entries()) {
      const hits = caught.filter(([ip]) => ip === `192.168.2.${i + 1}`).flatMap(([, ...msg]) => ruleOf.get(msg.join(' ')) ?? []); // the payload rules (a Host header may trip a name rule)
      assert.ok(hits.length, `sample ${i} (${s.protocol}) is caught`);
      for (const h of hits.filter((h) => h.protocol === s.protocol)) tripped.add(`${h.protocol} ${h.rule.msg}`);
      for (const h of hits.filter((h) => h.protocol !== s.protocol)) assert.ok(h.rule.shared_with?.includes(s.protocol), `${s.protocol} traffic trips ${h.protocol}'s '${h.rule.msg}', whose shared_with does not name ${s.protocol}`);
    }
    assert.deepEqual([...tripped].sort(), [...ruleOf.values()].map((r) => `${r.protocol} ${r.rule.msg}`).sort(), 'every rule is tripped by a sample of its own protocol');
  });

  it('suricata -r: an exception for skype.com passes no teams.skype.com (Teams forbidden)', function () {
    if (!suri.ready) return skip(this);
    const c = new Capture();
    send(c, '10.20.1.5:40001', '203.0.113.80:443', tlsClientHello({ sni: 'teams.skype.com' }));
    send(c, '10.20.1.6:40002', '203.0.113.80:443', tlsClientHello({ sni: 'web.skype.com' }));
    const m = policy(['skype', 'teams'], { exceptions: [{ sources: ['10.20.0.0/16'], protocols: ['skype'], reason: 'skype ok' }] });
    assert.ok(m.targets.find((t) => t.protocol === 'skype')!.hosts.includes('skype.com') && m.targets.find((t) => t.protocol === 'teams')!.hosts.includes('teams.skype.com'), 'the data still has the nested names');
    assert.deepEqual(caughtBy(m, c).filter((l) => /TLS SNI/.test(l)), ['10.20.1.5 shadowim microsoft teams TLS SNI teams.skype.com', '10.20.1.5 shadowim skype TLS SNI skype.com']);
  });

  for (const action of ['log', 'block'] as const) {
    it(`suricata -r (${action}): a sanctioned or excepted DNS query / HTTP Host does not pass the next ones on its flow (a reused socket, DNS over TCP, keep-alive)`, function () {
      if (!suri.ready) return skip(this);
      const c = new Capture();
      // sanctioned acme.slack.com, then other.slack.com on the same flow
      c.udp('192.168.1.10:5300', '192.0.2.53:53', dnsq(1, 'acme.slack.com'));
      c.udp('192.168.1.10:5300', '192.0.2.53:53', dnsq(2, 'other.slack.com'));
      c.udp('192.168.1.11:5301', '192.0.2.53:53', dnsq(3, 'acme.slack.com')); // alone: passed
      c.udp('192.168.1.15:5303', '192.0.2.53:53', dnsq(8, 'x.acme.slack.com')); // acme.slack.com is sanctioned alone
      c.udp('192.168.1.16:5304', '192.0.2.53:53', dnsq(9, 'a.corp.slack.com')); // .corp.slack.com: with its sub-domains
      const tcpDns = (id: number, name: string) => { const q = dnsq(id, name); return Buffer.concat([Buffer.from([q.length >> 8, q.length & 255]), q]); };
      send(c, '192.168.1.12:40003', '192.0.2.53:53', tcpDns(4, 'acme.slack.com'), tcpDns(5, 'other.slack.com'));
      const http = (from: string, ...hosts: string[]) => {
        const t = c.tcp(from, '203.0.113.80:80').open();
        for (const h of hosts) { t.send('c', get(h)); t.send('s', OK); }
        t.close();
      };
      http('192.168.1.13:40004', 'acme.slack.com', 'other.slack.com');
      http('192.168.1.14:40005', 'acme.slack.com');
      // the excepted group (slack): its slack names pass, a discord name after them on the same flow does not
      c.udp('10.20.1.5:5302', '192.0.2.53:53', dnsq(6, 'slack.com'));
      c.udp('10.20.1.5:5302', '192.0.2.53:53', dnsq(7, 'discord.com'));
      http('10.20.1.6:40006', 'slack.com', 'discord.com');
      const m = policy(['discord', 'slack'], { action, sanctioned: ['acme.slack.com', '.corp.slack.com'], exceptions: [{ sources: ['10.20.0.0/16'], protocols: ['slack'], reason: 'slack ok' }] });
      assert.deepEqual(caughtBy(m, c), [
        '10.20.1.5 shadowim discord DNS query discord.com',
        '10.20.1.6 shadowim discord HTTP Host discord.com',
        '192.168.1.10 shadowim slack DNS query slack.com',
        '192.168.1.12 shadowim slack DNS query slack.com',
        '192.168.1.13 shadowim slack HTTP Host slack.com',
        '192.168.1.15 shadowim slack DNS query slack.com',
      ]);
    });
  }

  // review of 30 November (third): the flowbit that makes the DNS/HTTP rules skip an exception's sources
  // was set by any packet from them, a server's answers too, so a client outside the exception using a
  // resolver or proxy inside it had its forbidden names skipped
  it('suricata -r: only a flow an exception\'s source opens skips its DNS/HTTP rules, not one to a server inside its sources', function () {
    if (!suri.ready) return skip(this);
    const c = new Capture();
    const flows = (client: string, port: number, resolver: string) => {
      // a UDP flow whose first answer comes from the resolver, then DNS over TCP (its SYN-ACK is the resolver's)
      c.udp(`${client}:${port}`, `${resolver}:53`, dnsq(1, 'example.org'));
      c.udp(`${client}:${port}`, `${resolver}:53`, dnsq(1, 'example.org', true), 's'); // the answer, from the resolver
      c.udp(`${client}:${port}`, `${resolver}:53`, dnsq(2, 'slack.com'));
      const q = dnsq(3, 'slack.com');
      send(c, `${client}:${port + 1}`, `${resolver}:53`, Buffer.concat([Buffer.from([q.length >> 8, q.length & 255]), q])); // DNS over TCP: a SYN-ACK from the resolver
    };
    flows('192.168.1.10', 5300, '10.20.0.53'); // outside the exception, its resolver inside it
    flows('192.168.1.11', 5310, '192.0.2.53'); // outside, resolver outside
    flows('10.20.1.5', 5320, '192.0.2.53'); // the excepted group: skipped
    flows('10.20.1.6', 5330, '10.20.0.53');
    for (const action of ['log', 'block'] as const) {
      const m = policy(['slack'], { action, exceptions: [{ sources: ['10.20.0.0/16'], protocols: ['slack'], reason: 'slack ok' }] });
      assert.deepEqual(caughtBy(m, c), ['192.168.1.10 shadowim slack DNS query slack.com', '192.168.1.11 shadowim slack DNS query slack.com'], action);
    }
  });

  // review of 30 November (third): an exception's pass for a payload rule matching its text anywhere
  // (XMPP's stream, IRC's DCC SEND) passed any flow carrying that text, with another forbidden protocol in it
  it('suricata -r: an exception passes only payload rules anchored at the start of the data; its unanchored ones skip its sources\' flows', function () {
    const passed = (m: ReturnType<typeof buildModel>) => render(m).split('\n').filter((l) => /^pass tcp .*"shadowim exception/.test(l)).map((l) => /: ([^:"]+)"; flow:/.exec(l)![1]).sort();
    const all = policy(['aim', 'icq', 'msn', 'yahoo', 'xmpp', 'irc', 'sip', 'whatsapp'], { exceptions: [{ sources: ['10.20.0.0/16'], protocols: ['*'], reason: 'all' }] });
    assert.deepEqual(passed(all), ['AIM OFT2 direct file transfer', 'AIM OSCAR ICBM outgoing message', 'AIM/ICQ OSCAR FLAP sign-on', 'ICQ OSCAR message', 'IRC NICK/USER registration', 'MSN Messenger login (VER MSNP)', 'SIP MESSAGE over TCP (SIMPLE instant message)', 'WhatsApp Noise handshake prologue', 'Yahoo Messenger YMSG']);
    if (!suri.ready) return skip(this);
    const c = new Capture();
    const keepAlive = (from: string, body: Buffer | string, own = false) => {
      const t = c.tcp(from, '203.0.113.80:80').open();
      const head = `POST / HTTP/1.1\r\nHost: example.org\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
      if (own) t.send('c', head).send('c', body); // the body in a segment of its own: starts a packet
      else t.send('c', Buffer.concat([Buffer.from(head), Buffer.from(body)]));
      t.send('s', OK).send('c', get('slack.com')).send('s', OK).close();
    };
    keepAlive('10.20.1.5:40001', "<stream:stream xmlns='jabber:client'>");
    keepAlive('10.20.1.6:40002', 'PRIVMSG bob :\x01DCC SEND f.txt 3232235777 5000 10\x01\r\n');
    keepAlive('10.20.1.7:40003', Buffer.concat([Buffer.from('YMSG'), Buffer.alloc(16)]), true); // anchored: not mid-flow
    const xmpp = "<?xml version='1.0'?><stream:stream to='example.net' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>";
    send(c, '10.20.1.8:40004', '203.0.113.77:5222', Buffer.from(xmpp)); // the excepted group's XMPP and IRC: not caught
    send(c, '10.20.1.9:40005', '203.0.113.78:6667', Buffer.from('NICK alice\r\nUSER alice 0 * :Alice\r\n'), Buffer.from('PRIVMSG bob :\x01DCC SEND f.txt 3232235777 5000 10\x01\r\n'));
    send(c, '192.168.1.8:40006', '203.0.113.77:5222', Buffer.from(xmpp)); // and from elsewhere: caught
    const m = policy(['slack', 'xmpp', 'irc', 'yahoo'], { exceptions: [{ sources: ['10.20.0.0/16'], protocols: ['xmpp', 'irc', 'yahoo'], reason: 'old im ok' }] });
    assert.deepEqual(caughtBy(m, c), [
      '10.20.1.5 shadowim slack HTTP Host slack.com',
      '10.20.1.6 shadowim slack HTTP Host slack.com',
      '10.20.1.7 shadowim slack HTTP Host slack.com',
      '192.168.1.8 shadowim XMPP client stream',
    ]);
  });

  // review of 30 November (third): the sanctioned names are negated contents of one DNS/HTTP rule, and
  // 200 of them made 12-14 KiB lines that Suricata cut (suricata -T failed; a run dropped the rules)
  it('sanctioned names under a forbidden host: 20 fit one rule (suricata -T accepts it), 200 are refused saying what to do', function () {
    const names = (n: number) => Array.from({ length: n }, (_, i) => `team-workspace-${i}.slack.com`);
    const text = render(policy(['slack'], { sanctioned: names(20) }));
    const rules = text.split('\n').filter((l) => l && !l.startsWith('#'));
    for (const l of rules) assert.ok(Buffer.byteLength(l) < 8192, `a rule of ${Buffer.byteLength(l)} bytes`);
    assert.equal(rules.filter((l) => /team-workspace-19\.slack\.com/.test(l)).length, 3, 'TLS pass, DNS and HTTP rules');
    assert.throws(() => render(policy(['slack'], { sanctioned: names(200) })), (e: Error) => {
      assert.equal(e.constructor.name, 'ExportError');
      assert.match(e.message, /^too many sanctioned names under slack\.com for one Suricata rule \(200 names, a 1\d KiB DNS rule; Suricata reads at most 8 KiB a line\): sanction the parent domain \(\.slack\.com\) or fewer names, or use another format$/);
      return true;
    });
    // the most that fit: every line under 8 KiB, accepted by suricata -T
    let n = 20;
    while ((() => { try { render(policy(['slack'], { sanctioned: names(n + 1) })); return true; } catch { return false; } })()) n++;
    assert.ok(n >= 100 && n < 200, `${n} names fit`); // 109 here; the docs say about 110
    const most = render(policy(['slack'], { sanctioned: names(n) }));
    for (const l of most.split('\n')) assert.ok(Buffer.byteLength(l) < 8192, `a rule of ${Buffer.byteLength(l)} bytes`);
    if (!suri.ready) return skip(this);
    for (const [f, t] of [['twenty.rules', text], ['most.rules', most]]) {
      fs.writeFileSync(path.join(tmp, f), t);
      suri.check(path.join(tmp, f));
    }
  });

  it('600 IPv4 and 300 IPv6 servers: every rule line under 8 KiB, each address in one rule, distinct sids; suricata -T accepts it', function () {
    const m = model(600, v6(300));
    const text = render(m);
    const rules = text.split('\n').filter((l) => l && !l.startsWith('#'));
    for (const l of rules) assert.ok(Buffer.byteLength(l) < 8192, `a rule of ${Buffer.byteLength(l)} bytes`);
    const sids = rules.map((l) => /sid:(\d+);/.exec(l)![1]);
    assert.equal(new Set(sids).size, sids.length, 'sids are distinct');
    const blocked = rules.filter((l) => /server address"/.test(l)).flatMap((l) => /-> \[([^\]]+)\]/.exec(l)![1].split(','));
    assert.deepEqual(blocked.sort(), m.targets.flatMap((t) => t.cidrs.map((c) => c.text)).sort());
    if (!suri.ready) return skip(this);
    const file = path.join(tmp, 'many.rules');
    fs.writeFileSync(file, text);
    suri.check(file);
  });

  it('suricata -r: a sanctioned name and an exception pass; the same traffic from elsewhere is caught', function () {
    if (!suri.ready) return skip(this);
    const m = model(600);
    const last = observed(600).at(-1)!.ip;
    const xmpp = "<?xml version='1.0'?><stream:stream to='example.net' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>";
    const c = new Capture();
    const flow = (from: string, to: string, data?: Buffer | string) => {
      const t = c.tcp(from, to).open();
      t.send('c', data ?? 'hello');
      t.close();
    };
    flow('192.168.1.10:40001', '203.0.113.80:443', tlsClientHello({ sni: 'acme.slack.com' })); // sanctioned
    flow('192.168.1.12:40002', '203.0.113.82:443', tlsClientHello({ sni: 'other.slack.com' })); // not
    flow('10.20.1.5:40003', '203.0.113.77:5222', xmpp); // exception: engineering may use XMPP
    flow('192.168.1.11:40004', '203.0.113.81:5222', xmpp); // not excepted
    flow('192.168.1.13:40005', `${last}:5222`); // the last observed server: in the last split rule
    flow('10.20.1.6:40006', `${last}:5222`); // excepted
    const pcap = path.join(tmp, 'flows.pcap');
    fs.writeFileSync(pcap, c.pcap());
    const rules = path.join(tmp, 'export.rules');
    fs.writeFileSync(rules, render(m));
    const log = fs.mkdtempSync(path.join(tmp, 'log-'));
    const r = spawnSync('suricata', ['-c', '/etc/suricata/suricata.yaml', '-k', 'none', '-S', rules, '-r', pcap, '-l', log], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr + r.stdout);
    const caught = fs.readFileSync(path.join(log, 'fast.log'), 'utf8').split('\n').filter(Boolean)
      .map((l) => `${/\{TCP\} (\S+?):\d+ ->/.exec(l)![1]} ${/\] (shadowim [^[]+?) \[\*\*\]/.exec(l)![1]}`);
    assert.deepEqual([...new Set(caught)].sort(), [
      '192.168.1.11 shadowim XMPP client stream',
      '192.168.1.12 shadowim slack TLS SNI slack.com',
      '192.168.1.13 shadowim xmpp-jabber server address',
    ]);
  });
});

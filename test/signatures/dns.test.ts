// DNS: claims DNS flows without reporting them as IM, learns names from answers (CNAME chains: the
// address is known under the queried name), and the engine attributes a later TLS flow without SNI
// to the learned address. Hostile messages (pointer loops, lying counts, long labels) never throw.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Capture } from '../helpers/pcapgen';
import { shadowim } from '../helpers/run';
import { analyzeCapture } from '../helpers/analyze';
import { FlowHarness } from '../helpers/harness';
import { Engine } from '../../signatures/engine';
import { loadRegistry } from '../../signatures/registry';
import { addressesOf, parseDns, readName } from '../../signatures/dns/parser';
import { dnsQuery, dnsResponse, tlsClientHello } from './modern-wire';

describe('dns: learning server names', () => {
  it('parses a response and follows a CNAME chain to the queried name', () => {
    const m = parseDns(dnsResponse('presence.teams.microsoft.com', '52.114.77.58', 'presence.services.sfb.trafficmanager.net'))!;
    assert.equal(m.complete, true);
    assert.deepEqual(addressesOf(m), [{ ip: '52.114.77.58', queried: 'presence.teams.microsoft.com', owner: 'presence.services.sfb.trafficmanager.net' }]);
  });

  it('DNS answer, then a TLS flow without SNI to that address → the IM protocol, and DNS itself is not IM', () => {
    const c = new Capture();
    c.udp('10.0.0.5:53000', '10.0.0.1:53', dnsQuery('e12.whatsapp.net'));
    c.udp('10.0.0.5:53000', '10.0.0.1:53', dnsResponse('e12.whatsapp.net', '198.51.100.77', 'whatsapp-cdn.example.net'), 's');
    const t = c.tcp('10.0.0.5:40002', '198.51.100.77:443').open();
    t.send('c', tlsClientHello({})); // no SNI
    t.send('s', Buffer.from('160303003a020000360303', 'hex'));
    t.close();
    const s = analyzeCapture(c).filter((e) => e.type === 'session');
    assert.equal(s.length, 1, JSON.stringify(s));
    assert.equal(s[0].protocol, 'whatsapp');
    assert.equal(s[0].transport, 'tcp');
    assert.match(JSON.stringify(s[0].evidence), /e12\.whatsapp\.net/);
    // the name the address was resolved from is the session's server_name (as on dns.learned flows)
    assert.equal(s[0].server_name, 'e12.whatsapp.net');
  });

  it('a policy sanctioning the resolved name authorizes the TLS flow without SNI to its address', () => {
    const c = new Capture();
    c.udp('10.0.0.5:53001', '10.0.0.1:53', dnsQuery('chat.whatsapp.net'));
    c.udp('10.0.0.5:53001', '10.0.0.1:53', dnsResponse('chat.whatsapp.net', '198.51.100.78'), 's');
    const t = c.tcp('10.0.0.5:40003', '198.51.100.78:443').open();
    t.send('c', tlsClientHello({})); // no SNI
    t.send('s', Buffer.from('160303003a020000360303', 'hex'));
    t.close();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-dns-sanction-'));
    try {
      const cap = path.join(dir, 'c.pcap');
      fs.writeFileSync(cap, c.pcap());
      const policy = path.join(dir, 'p.yaml');
      fs.writeFileSync(policy, 'version: 1\nsanctioned_servers: [chat.whatsapp.net]\n');
      const r = shadowim(['analyze', cap, '--format', 'jsonl', '--policy', policy]);
      assert.equal(r.status, 0, r.stderr);
      const ev = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
      assert.equal(ev.filter((e) => e.type === 'session' && e.protocol === 'whatsapp').length, 1);
      assert.deepEqual(ev.filter((e) => e.type === 'alert' && e.kind === 'unauthorized_im'), [], 'sanctioned by the resolved name');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('AAAA answers: a later IPv6 flow to the address is attributed (address text matches the sensor)', () => {
    const c = new Capture();
    c.udp('[2001:db8::5]:53001', '[2001:db8::1]:53', dnsQuery('chat.signal.org'));
    c.udp('[2001:db8::5]:53001', '[2001:db8::1]:53', dnsResponse('chat.signal.org', '2001:db8:0:0:0:0:0:77'), 's');
    const t = c.tcp('[2001:db8::5]:40003', '[2001:db8::77]:443').open();
    t.send('c', tlsClientHello({}));
    t.close();
    const s = analyzeCapture(c).filter((e) => e.type === 'session');
    assert.deepEqual(s.map((e) => [e.protocol, e.server.ip]), [['signal', '2001:db8::77']]);
  });

  it('a DNS answer for a name that is not IM attributes nothing', () => {
    const events: any[] = [];
    const engine = new Engine(loadRegistry(), { emit: (e) => events.push(e) });
    const d = new FlowHarness({ engine, transport: 'udp', client: '10.0.0.5:53001', server: '10.0.0.1:53' });
    d.send('c', dnsQuery('www.google.com')).send('s', dnsResponse('www.google.com', '198.51.100.78')).end();
    assert.equal(engine.kb.nameFor('198.51.100.78'), 'www.google.com');
    const t = new FlowHarness({ engine, server: '198.51.100.78:443' });
    t.send('c', tlsClientHello({})).end();
    assert.deepEqual(events, []);
    // the same flow after an IM name was learned for the address is reported: the test can fail
    engine.kb.learnName('198.51.100.78', 'web.telegram.org');
    new FlowHarness({ engine, server: '198.51.100.78:443' }).send('c', tlsClientHello({})).end();
    assert.deepEqual(events.map((e: any) => e.protocol), ['telegram']);
  });

  it('an exception under an IM domain (config.edge.skype.com, used by all of Office) attributes nothing', () => {
    const events: any[] = [];
    const engine = new Engine(loadRegistry(), { emit: (e) => events.push(e) });
    engine.kb.learnName('198.51.100.80', 'config.edge.skype.com');
    const t = new FlowHarness({ engine, server: '198.51.100.80:443' });
    t.send('c', tlsClientHello({})).end();
    assert.deepEqual(events, []);
    engine.kb.learnName('198.51.100.81', 'api.skype.com');
    const u = new FlowHarness({ engine, server: '198.51.100.81:443' });
    u.send('c', tlsClientHello({})).end();
    assert.deepEqual(events.map((e: any) => e.protocol), ['skype']);
  });

  it('DNS over TCP (length-prefixed) is learned too', () => {
    const engine = new Engine(loadRegistry(), { emit: () => {} });
    const resp = dnsResponse('web.telegram.org', '198.51.100.79');
    const d = new FlowHarness({ engine, client: '10.0.0.5:53002', server: '10.0.0.1:53' });
    const q = dnsQuery('web.telegram.org');
    d.send('c', Buffer.concat([Buffer.from([0, q.length]), q]));
    d.send('s', Buffer.concat([Buffer.from([0, resp.length]), resp.subarray(0, 10)])).send('s', resp.subarray(10));
    d.end();
    assert.equal(engine.kb.nameFor('198.51.100.79'), 'web.telegram.org');
  });

  it('a UDP DNS session is let go once answered (reopen): it holds nothing for the flow\'s idle minute', () => {
    const engine = new Engine(loadRegistry(), { emit: () => {} });
    const h = engine.newFlow({ id: 'dns-flow', transport: 'udp', client: { ip: '10.0.0.5', port: 53003 }, server: { ip: '10.0.0.1', port: 53 }, firstTs: 1, clientBy: 'port' })!;
    h.onData(0, dnsQuery('web.whatsapp.com'), 2);
    assert.equal(h.finished, false, 'waiting for the answer');
    h.onData(1, dnsResponse('web.whatsapp.com', '198.51.100.90'), 3);
    assert.equal(engine.kb.nameFor('198.51.100.90'), 'web.whatsapp.com');
    assert.deepEqual([h.wantsData, h.finished, h.reopen], [false, true, true]);
    // DNS over TCP keeps its session (a stream, not datagrams)
    const t = engine.newFlow({ id: 'dns-tcp', transport: 'tcp', client: { ip: '10.0.0.5', port: 53004 }, server: { ip: '10.0.0.1', port: 53 }, firstTs: 1, clientBy: 'syn' })!;
    const resp = dnsResponse('web.telegram.org', '198.51.100.91');
    t.onData(1, Buffer.concat([Buffer.from([0, resp.length]), resp]), 2);
    assert.deepEqual([t.wantsData, !!t.finished], [true, false]);
  });

  // review of 30 November: any response-shaped datagram was learned, and the name memory serves every
  // flow to the address — a host on the network named a WhatsApp address for everyone
  it('an answer nobody asked for teaches nothing: unsolicited, sent towards the resolver, another id, another question', () => {
    const c = new Capture();
    const victim = (ip: string) => {
      const t = c.tcp('10.0.0.9:40002', `${ip}:443`).open();
      t.send('c', tlsClientHello({})); // no SNI: only a DNS answer could name it
      t.close();
    };
    c.udp('10.0.0.66:40000', '203.0.113.53:53', dnsResponse('g.whatsapp.net', '93.184.216.34'), 's'); // no query
    c.udp('10.0.0.66:40001', '8.8.8.8:53', dnsResponse('g.whatsapp.net', '93.184.216.35'), 'c'); // towards the resolver
    c.udp('10.0.0.5:53000', '10.0.0.1:53', dnsQuery('example.com', 0x1111));
    c.udp('10.0.0.5:53000', '10.0.0.1:53', dnsResponse('g.whatsapp.net', '93.184.216.36', undefined, 0x2222), 's'); // another id
    c.udp('10.0.0.5:53001', '10.0.0.1:53', dnsQuery('example.com', 0x3333));
    c.udp('10.0.0.5:53001', '10.0.0.1:53', dnsResponse('g.whatsapp.net', '93.184.216.37', undefined, 0x3333), 's'); // another question
    c.udp('10.0.0.66:40000', '203.0.113.9:12345', dnsResponse('g.whatsapp.net', '93.184.216.38'), 's'); // no query, off the DNS ports
    // an answer learned once is not learned again from a replay of it (the query it answered is spent)
    c.udp('10.0.0.5:53002', '10.0.0.1:53', dnsQuery('G.WhatsApp.NET', 0x4444)); // 0x20 mixed case, echoed in lower case
    c.udp('10.0.0.5:53002', '10.0.0.1:53', dnsResponse('g.whatsapp.net', '93.184.216.39', undefined, 0x4444), 's');
    c.udp('10.0.0.5:53002', '10.0.0.1:53', dnsResponse('g.whatsapp.net', '93.184.216.40', undefined, 0x4444), 's');
    for (const last of [34, 35, 36, 37, 38, 39, 40]) victim(`93.184.216.${last}`);
    const s = analyzeCapture(c).filter((e) => e.type === 'session');
    assert.deepEqual(s.map((e) => [e.server.ip, e.protocol]), [['93.184.216.39', 'whatsapp']]);
  });

  it('one client socket asking again and again (two at once, then one): every answer is learned, on one thread and on two', () => {
    const c = new Capture();
    const sock = ['10.0.0.5:53005', '10.0.0.1:53'] as const;
    c.udp(...sock, dnsQuery('web.whatsapp.com'));
    c.udp(...sock, dnsResponse('web.whatsapp.com', '198.51.100.101'), 's');
    // a stub resolver's A and AAAA-style pair: both asked, then both answered (the second answer comes after a let-go)
    c.udp(...sock, dnsQuery('discord.com'));
    c.udp(...sock, dnsQuery('app.slack.com'));
    c.udp(...sock, dnsResponse('discord.com', '198.51.100.102'), 's');
    c.udp(...sock, dnsResponse('app.slack.com', '198.51.100.103'), 's');
    c.udp(...sock, dnsQuery('teams.microsoft.com'));
    c.udp(...sock, dnsResponse('teams.microsoft.com', '198.51.100.104'), 's');
    for (const [i, ip] of ['198.51.100.101', '198.51.100.102', '198.51.100.103', '198.51.100.104'].entries()) {
      const t = c.tcp(`10.0.0.5:${41000 + i}`, `${ip}:443`).open();
      t.send('c', tlsClientHello({})); // no SNI: only the DNS answer names it
      t.close();
    }
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-dns-sock-')), 'dns-socket.pcap');
    fs.writeFileSync(file, c.pcap());
    const one = shadowim(['analyze', file, '--format', 'jsonl', '--threads', '1']);
    const two = shadowim(['analyze', file, '--format', 'jsonl', '--threads', '2']);
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
    assert.equal(one.status, 0, one.stderr);
    const s = one.events.filter((e) => e.type === 'session');
    assert.deepEqual(s.map((e) => [e.server.ip, e.protocol]), [
      ['198.51.100.101', 'whatsapp'], ['198.51.100.102', 'discord'], ['198.51.100.103', 'slack'], ['198.51.100.104', 'teams'],
    ]);
    assert.equal(two.status, 0, two.stderr);
    assert.deepEqual(two.events, one.events);
  });

  it('an answer cut inside its last record (TC, or a short snaplen) teaches its whole records, also as the first datagram of a session', () => {
    // found by dns-diff.test.ts: a socket's second answer comes after the first let the session go;
    // cut short, it was not taken for DNS (only complete messages were) and nothing of it was learned
    const cutAnswer = (name: string, ips: string[]) => {
      const one = dnsResponse(name, ips[0]);
      const more = ips.slice(1).map((ip) => Buffer.concat([Buffer.from('c00c00010001000001000004', 'hex'), Buffer.from(ip.split('.').map(Number))]));
      const m = Buffer.concat([one, ...more, Buffer.from('c00c0001', 'hex')]); // a record more, cut after its type
      m.writeUInt16BE(0x8380, 2); // TC
      m.writeUInt16BE(ips.length + 1, 6);
      return m;
    };
    const c = new Capture();
    const sock = ['10.0.0.5:53006', '10.0.0.1:53'] as const;
    c.udp(...sock, dnsQuery('discord.com'));
    c.udp(...sock, dnsQuery('app.slack.com'));
    c.udp(...sock, dnsResponse('discord.com', '198.51.100.105'), 's');
    c.udp(...sock, cutAnswer('app.slack.com', ['198.51.100.106', '198.51.100.107']), 's');
    // the same cut answer right after its query (one session) was learned before too
    c.udp('10.0.0.5:53007', '10.0.0.1:53', dnsQuery('web.whatsapp.com'));
    c.udp('10.0.0.5:53007', '10.0.0.1:53', cutAnswer('web.whatsapp.com', ['198.51.100.108']), 's');
    for (const [i, ip] of ['198.51.100.105', '198.51.100.106', '198.51.100.107', '198.51.100.108'].entries()) {
      const t = c.tcp(`10.0.0.5:${42000 + i}`, `${ip}:443`).open();
      t.send('c', tlsClientHello({}));
      t.close();
    }
    const s = analyzeCapture(c).filter((e) => e.type === 'session');
    assert.deepEqual(s.map((e) => [e.server.ip, e.protocol]), [
      ['198.51.100.105', 'discord'], ['198.51.100.106', 'slack'], ['198.51.100.107', 'slack'], ['198.51.100.108', 'whatsapp'],
    ]);
  });

  it('compression pointer loops, lying counts and over-long names are rejected without throwing', () => {
    const loop = Buffer.from('123481800001000100000000' + 'c00c00010001', 'hex'); // question name points at itself
    assert.equal(readName(loop, 12), null);
    const m0 = parseDns(loop)!;
    assert.equal(m0.complete, false);
    assert.equal(m0.questions.length, 0);
    const lying = Buffer.from(dnsResponse('a.example', '192.0.2.1'));
    lying.writeUInt16BE(0xffff, 6); // 65535 answers claimed
    const m = parseDns(lying)!;
    assert.equal(m.complete, false);
    assert.equal(m.answers.length, 1);
    const long = Buffer.concat([Buffer.alloc(12), ...Array(200).fill(Buffer.from([2, 0x61, 0x61])), Buffer.from([0, 0, 1, 0, 1])]);
    long.writeUInt16BE(1, 4);
    assert.equal(parseDns(long)!.questions.length, 0);
    // forward pointer (could loop with a backward one) is refused
    const fwd = Buffer.from([0xc0, 0x04, 0, 0, 1, 0x61, 0]);
    assert.equal(readName(fwd, 0), null);
  });
});

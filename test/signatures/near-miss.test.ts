// The near-miss corpus: ordinary protocols whose bytes carry IM-looking words and shapes (PRIVMSG in
// logs, "PNG"/"CHL" lines in mail, <message to="a@b.c"><body> in XML webhooks, prose lines starting
// with Join/Ping/Who, STX…ETX datagrams on QQ's port, …), on their own ports and on IM ports, seen from
// the SYN and picked up mid-stream (at a random byte, a line start, or right on an IM keyword). All of
// it goes through `shadowim analyze` as one generated capture; none of it may be reported as IM
// (issue #3: port-only guesses and look-alikes are not detections). A few real IM flows ride along as
// controls, so a harness that reports nothing at all fails too. Seed: NEAR_MISS_SEED.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Capture, ACK, RST, SYN, ether, tcpPacket } from '../helpers/pcapgen';
import { shadowim } from '../helpers/run';
import { IM_TCP_PORTS, IM_UDP_PORTS, Rng, TCP_GENERATORS, UDP_GENERATORS, pickUp, tlsHello, type Exchange } from '../helpers/nearmiss';
import { dnsQuery, dnsResponse } from './modern-wire';
import { MORE_TCP_GENERATORS } from '../helpers/nearmiss-tcp-more';
import { OPS_TCP_GENERATORS } from '../helpers/nearmiss-tcp-ops';
import { APP_TCP_GENERATORS } from '../helpers/nearmiss-tcp-apps';
import { LEGACY_TCP_GENERATORS } from '../helpers/nearmiss-tcp-legacy';
import { MORE_UDP_GENERATORS } from '../helpers/nearmiss-udp-more';
import { TELEMETRY_UDP_GENERATORS } from '../helpers/nearmiss-udp-telemetry';
import { LAN_UDP_GENERATORS } from '../helpers/nearmiss-udp-lan';

const TCP_ALL = [...TCP_GENERATORS, ...MORE_TCP_GENERATORS, ...OPS_TCP_GENERATORS, ...APP_TCP_GENERATORS, ...LEGACY_TCP_GENERATORS];
const UDP_ALL = [...UDP_GENERATORS, ...MORE_UDP_GENERATORS, ...TELEMETRY_UDP_GENERATORS, ...LAN_UDP_GENERATORS];

const SEED = Number(process.env.NEAR_MISS_SEED ?? 20240115);
const MAILRU_ICQ = '178.237.24.249'; // icq_oscar_servers: names the OSCAR variant, never classifies alone

/**
 * False positives found here whose fix belongs to another module are listed (the test below is
 * pending while they occur) instead of failing the corpus. None at present: the QQ one (STX/ETX
 * telemetry on 8000) was fixed in signatures/messengers qq().
 */
const KNOWN_ELSEWHERE: { name: string; signature: string }[] = [];

interface Case {
  name: string;
  how: string;
  port: number;
  transport: 'tcp' | 'udp';
  allow: string[];
  /** protocol a control flow must be reported as */
  expect?: string;
  first: string;
}

function clientIp(i: number): string {
  const n = i + 1;
  return `10.${100 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`;
}

function preview(ex: Exchange[]): string {
  const first = ex[0]?.[1] ?? Buffer.alloc(0);
  return `${ex[0]?.[0] ?? '-'}: ${JSON.stringify(first.toString('latin1', 0, 60))}`;
}

function buildCorpus(seed: number): { cap: Capture; cases: Map<string, Case> } {
  const rng = new Rng(seed);
  const cap = new Capture();
  const cases = new Map<string, Case>();
  let n = 0;
  const next = (c: Case) => {
    const ip = clientIp(n++);
    cases.set(ip, c);
    return ip;
  };

  const tcpFlow = (server: string, ip: string, ex: Exchange[], syn: boolean) => {
    const t = cap.tcp(`${ip}:${40000 + (n % 20000)}`, server);
    if (syn) t.open();
    const segment = rng.pick([1460, 1460, 1460, 536, 128]);
    for (const [side, data] of ex) if (data.length) t.send(side, data, { segment });
    if (syn || rng.chance(0.5)) t.close();
  };

  for (let g = 0; g < TCP_ALL.length; g++) {
    const gen = TCP_ALL[g];
    const serverIp = `198.51.100.${10 + g}`;
    const ownPort = gen(new Rng(seed + g)).port;
    const ports = [...new Set([ownPort, ...IM_TCP_PORTS])];
    for (const port of ports) {
      for (const how of ['syn', 'byte', 'line', 'keyword'] as const) {
        const s = gen(rng);
        const ex = how === 'syn' ? s.exchanges : pickUp(rng, s, how);
        const ip = next({ name: s.name, how, port, transport: 'tcp', allow: s.allow ?? [], first: preview(ex) });
        tcpFlow(`${serverIp}:${port}`, ip, ex, how === 'syn');
      }
    }
    // Mail.ru's ICQ range hosts other services too
    for (const port of [443, 5190]) {
      for (const how of ['syn', 'byte'] as const) {
        const s = gen(rng);
        const ex = how === 'syn' ? s.exchanges : pickUp(rng, s, how);
        const ip = next({ name: s.name, how: `${how} to ${MAILRU_ICQ}`, port, transport: 'tcp', allow: s.allow ?? [], first: preview(ex) });
        tcpFlow(`${MAILRU_ICQ}:${port}`, ip, ex, how === 'syn');
      }
    }
  }

  // a SYN scan of the IM ports: refused, or accepted and closed without a byte
  for (const port of [...IM_TCP_PORTS, 5223, 6697, 7000]) {
    const ip = next({ name: 'syn-scan', how: 'syn', port, transport: 'tcp', allow: [], first: '-' });
    const cli = `${ip}:${50000 + (n % 10000)}`, srv = `198.51.100.200:${port}`;
    cap.add(ether(tcpPacket(cli, srv, 1000, SYN)));
    if (port % 2) cap.add(ether(tcpPacket(srv, cli, 0, RST | ACK, Buffer.alloc(0), 1001)));
    else {
      cap.add(ether(tcpPacket(srv, cli, 7000, SYN | ACK, Buffer.alloc(0), 1001)));
      cap.add(ether(tcpPacket(cli, srv, 1001, RST)));
    }
  }

  for (let g = 0; g < UDP_ALL.length; g++) {
    const gen = UDP_ALL[g];
    const serverIp = `203.0.113.${10 + g}`;
    const ownPort = gen(new Rng(seed + 100 + g)).port;
    for (const port of [...new Set([ownPort, ...IM_UDP_PORTS])]) {
      for (const how of ['start', 'later'] as const) {
        const s = gen(rng);
        const dg = how === 'start' ? s.datagrams : s.datagrams.slice(rng.int(s.datagrams.length));
        const ip = next({ name: s.name, how, port, transport: 'udp', allow: [], first: preview(dg) });
        const cli = `${ip}:${port === 53 || port === 123 ? rng.range(1024, 65000) : 40000 + (n % 20000)}`;
        for (const [side, d] of dg) cap.udp(cli, `${serverIp}:${port}`, d, side);
      }
    }
  }

  // an address DNS gave for an IM name is shared: an explicit other name on it, or SSH or mail, is not IM
  for (const [imName, addr] of [['chat.google.com', '198.51.100.180'], ['web.whatsapp.com', '198.51.100.181'], ['teams.microsoft.com', '198.51.100.182']]) {
    const dnsIp = next({ name: `dns-answer ${imName}`, how: 'udp', port: 53, transport: 'udp', allow: [], first: imName });
    const id = rng.int(65536);
    cap.udp(`${dnsIp}:53001`, '192.0.2.53:53', dnsQuery(imName, id));
    cap.udp(`${dnsIp}:53001`, '192.0.2.53:53', dnsResponse(imName, addr, undefined, id), 's');
    for (const [port, ex] of [
      [80, [['c', Buffer.from(`GET /search?q=x HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n`)], ['s', Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok')]]],
      [443, [['c', tlsHello('www.example.com')], ['s', Buffer.from([0x16, 3, 3, 0, 4, 2, 0, 0, 0])]]],
      // cleartext non-IM protocols on the shared address (engine: notImBanners.yaml)
      [22, [['s', Buffer.from('SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n')], ['c', Buffer.from('SSH-2.0-OpenSSH_9.6\r\n')]]],
      [25, [['s', Buffer.from('220 mx.example.net ESMTP\r\n')], ['c', Buffer.from('EHLO client.example.org\r\n')]]],
    ] as [number, Exchange[]][]) {
      const ip = next({ name: `explicit other name on the address of ${imName}`, how: 'syn', port, transport: 'tcp', allow: [], first: preview(ex) });
      tcpFlow(`${addr}:${port}`, ip, ex, true);
    }
  }

  // controls: real IM, reported (otherwise an analyzer that reports nothing would pass)
  const ircIp = next({ name: 'control-irc', how: 'syn', port: 6667, transport: 'tcp', allow: ['irc'], expect: 'irc', first: 'NICK' });
  tcpFlow(`198.51.100.250:6667`, ircIp, [['c', Buffer.from('NICK alice\r\nUSER alice 0 * :Alice\r\n')], ['s', Buffer.from(':irc.example.net 001 alice :Welcome\r\n')], ['c', Buffer.from('PRIVMSG #ops :hello\r\n')]], true);
  const xmppIp = next({ name: 'control-xmpp', how: 'byte', port: 5222, transport: 'tcp', allow: ['xmpp'], expect: 'xmpp', first: '<message' });
  tcpFlow(`198.51.100.251:5222`, xmppIp, [
    ['c', Buffer.from("chat</body></message><message to='juliet@example.com' type='chat' id='m2'><body>hi</body></message>")],
    ['s', Buffer.from("<message from='juliet@example.com/balcony' to='romeo@example.net/orchard' type='chat' id='m3'><body>hello</body></message>")],
  ], false);
  const mime = 'MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nsee you at nine';
  const msnMidIp = next({ name: 'control-msn-mid', how: 'line', port: 1863, transport: 'tcp', allow: ['msn'], expect: 'msn', first: 'JOI' });
  tcpFlow('198.51.100.249:1863', msnMidIp, [
    ['s', Buffer.from(`JOI bob@example.net Bob 1616756780\r\nMSG bob@example.net Bob ${mime.length}\r\n${mime}`)],
    ['c', Buffer.from(`MSG 4 N ${mime.length}\r\n${mime}`)], ['s', Buffer.from('BYE bob@example.net\r\n')],
  ], false);
  // an explicit proxy's tunnel to an IM port is IM when the tunnel carries it
  const msnIp = next({ name: 'control-msn-connect', how: 'syn', port: 3128, transport: 'tcp', allow: ['msn'], expect: 'msn', first: 'CONNECT' });
  tcpFlow('198.51.100.252:3128', msnIp, [
    ['c', Buffer.from('CONNECT 192.0.2.44:1863 HTTP/1.1\r\nHost: 192.0.2.44:1863\r\n\r\n')], ['s', Buffer.from('HTTP/1.1 200 Connection established\r\n\r\n')],
    ['c', Buffer.from('VER 1 MSNP12 MSNP11 CVR0\r\n')], ['s', Buffer.from('VER 1 MSNP12\r\n')],
  ], true);
  const ymsgIp = next({ name: 'control-ymsg-connect', how: 'syn', port: 3128, transport: 'tcp', allow: ['yahoo'], expect: 'yahoo', first: 'CONNECT' });
  const body = Buffer.from('1\xc0\x80alice_example\xc0\x80', 'latin1');
  const pdu = Buffer.concat([Buffer.from('YMSG'), Buffer.from([0, 0x10, 0, 0, body.length >> 8, body.length & 255, 0, 0x57, 0, 0, 0, 0, 0, 0, 0, 0]), body]);
  tcpFlow('198.51.100.253:3128', ymsgIp, [
    ['c', Buffer.from('CONNECT 192.0.2.45:5050 HTTP/1.0\r\n\r\n')], ['s', Buffer.from('HTTP/1.0 200 Connection established\r\n\r\n')], ['c', pdu],
  ], true);
  return { cap, cases };
}

describe('near-miss corpus: ordinary traffic that looks a little like IM', function () {
  this.timeout(120000);
  let cases: Map<string, Case>;
  let events: any[];

  before(() => {
    const built = buildCorpus(SEED);
    cases = built.cases;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-nearmiss-'));
    try {
      const file = path.join(dir, 'near-miss.pcap');
      fs.writeFileSync(file, built.cap.pcap());
      if (process.env.NEAR_MISS_DUMP) {
        fs.copyFileSync(file, process.env.NEAR_MISS_DUMP);
        fs.writeFileSync(`${process.env.NEAR_MISS_DUMP}.json`, JSON.stringify([...cases]));
      }
      const r = shadowim(['analyze', file, '--format', 'jsonl']);
      assert.equal(r.status, 0, r.stderr);
      events = r.events;
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  function caseOf(e: any): [string, Case] | undefined {
    for (const ip of [e.client?.ip, e.server?.ip]) {
      const c = ip && cases.get(ip);
      if (c) return [ip, c];
    }
    return undefined;
  }

  it(`every flow was read (seed ${SEED})`, () => {
    const stats = events.find((e) => e.type === 'stats');
    assert.ok(stats, 'no stats event');
    assert.ok(cases.size > 1000, `only ${cases.size} cases`);
    // every case is a flow of its own (DNS answers and pcap-download inner flows aside)
    assert.ok(stats.flows >= cases.size, `${stats.flows} flows for ${cases.size} cases`);
    assert.equal(stats.malformed, 0);
  });

  it('the real IM controls are reported', () => {
    const got = new Map<string, string[]>();
    for (const e of events) {
      if (e.type !== 'session') continue;
      const hit = caseOf(e);
      if (hit?.[1].expect) got.set(hit[1].name, [...(got.get(hit[1].name) ?? []), e.protocol]);
    }
    assert.deepEqual(Object.fromEntries(got), { 'control-irc': ['irc'], 'control-xmpp': ['xmpp'], 'control-msn-mid': ['msn'], 'control-msn-connect': ['msn'], 'control-ymsg-connect': ['yahoo'] });
  });

  /** reported flows of `known` cases (see KNOWN_ELSEWHERE), by case */
  const knownSeen = new Map<string, string>();

  it('no session, message, credential, file transfer or alert for any near-miss flow', () => {
    const bad = new Map<string, string[]>();
    const knownIps = new Set<string>();
    for (const e of events) {
      const hit = caseOf(e);
      if (e.type === 'session' && hit && KNOWN_ELSEWHERE.some((k) => k.name === hit[1].name && (e.evidence ?? []).some((v: any) => v.signature === k.signature))) {
        knownIps.add(hit[0]);
        knownSeen.set(`${hit[1].transport}/${hit[1].port} ${hit[1].name} (${hit[1].how}) ${hit[0]}`, `${e.protocol}: ${e.evidence.map((v: any) => v.reason).join('; ')}`);
      }
    }
    for (const e of events) {
      if (!['session', 'message', 'credential', 'file_transfer', 'alert'].includes(e.type)) continue;
      const hit = caseOf(e);
      if (hit && (hit[1].expect || hit[1].allow.includes(e.protocol) || knownIps.has(hit[0]))) continue;
      const key = hit ? `${hit[1].transport}/${hit[1].port} ${hit[1].name} (${hit[1].how}) ${hit[0]} first ${hit[1].first}` : `unknown flow ${e.client?.ip} -> ${e.server?.ip}`;
      const what = e.type === 'session' ? `session ${e.protocol}: ${(e.evidence ?? []).map((v: any) => `${v.signature}: ${v.reason}`).join('; ')}` : `${e.type} ${e.protocol ?? ''} ${e.kind ?? ''}`;
      bad.set(key, [...(bad.get(key) ?? []), what]);
    }
    const lines = [...bad].map(([k, v]) => `${k}\n    ${[...new Set(v)].join('\n    ')}`);
    assert.equal(lines.length, 0, `${lines.length} near-miss flows reported as IM:\n${lines.join('\n')}`);
  });

  it('known false positives whose fix belongs to another module (pending while they occur)', function () {
    if (knownSeen.size) {
      console.log([...knownSeen].map(([k, v]) => `      known: ${k}: ${v}`).join('\n'));
      this.skip();
    }
  });
});

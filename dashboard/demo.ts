// Demo data for `shadowim serve --demo` (npm start): a week of IM activity on three sensors, written as
// contract events through the real analyzer (policy, DLP, alerts) into the real store sink, so the demo
// store is what a store filled by sensors looks like. Names, addresses and card numbers are fictitious
// (card numbers are issuers' published test numbers).

import fs from 'node:fs';
import crypto from 'node:crypto';
import path from 'node:path';
import type { ShadowEvent } from '../common/events';

export const DEMO_POLICY = `version: 1
home_networks: [10.0.0.0/8]
groups:
  engineering:
    networks: [10.20.0.0/16]
    allow:
      - protocols: [xmpp]
        chat: true
        files: false
  support:
    networks: [10.30.0.0/16]
    allow:
      - protocols: [teams, slack]
sanctioned_servers:
  - chat.corp.example
`;

/** bump when the generator changes, so old demo stores are regenerated */
export const DEMO_VERSION = 4;

interface Server {
  protocol: string;
  ip: string;
  port: number;
  name?: string;
  encrypted: boolean;
  transport?: 'tcp' | 'udp';
  evidence: { signature: string; reason: string };
}

/** a TLS server known by the name its clients send (SNI) */
const sni = (protocol: string, ip: string, name: string): Server => ({ protocol, ip, port: 443, name, encrypted: true, evidence: { signature: 'tls.sni', reason: `SNI ${name}` } });

const SERVERS: Server[] = [
  { protocol: 'irc', ip: '198.51.100.7', port: 6667, name: 'irc.libera.example', encrypted: false, evidence: { signature: 'irc.registration', reason: 'NICK and USER registration from the client' } },
  { protocol: 'xmpp', ip: '203.0.113.20', port: 5222, name: 'jabber.example.org', encrypted: false, evidence: { signature: 'xmpp.stream', reason: 'jabber:client stream header' } },
  { protocol: 'msn', ip: '65.54.239.80', port: 1863, name: 'messenger.hotmail.com', encrypted: false, evidence: { signature: 'msn.ver', reason: 'VER MSNP negotiation' } },
  { protocol: 'yahoo', ip: '98.136.112.30', port: 5050, name: 'scs.msg.yahoo.com', encrypted: false, evidence: { signature: 'ymsg.header', reason: 'YMSG header' } },
  { protocol: 'aim', ip: '64.12.24.50', port: 5190, name: 'login.oscar.aol.com', encrypted: false, evidence: { signature: 'oscar.flap', reason: 'FLAP channel 1 sign-on' } },
  { protocol: 'icq', ip: '64.12.25.110', port: 5190, name: 'login.icq.com', encrypted: false, evidence: { signature: 'oscar.flap', reason: 'FLAP sign-on with a numeric UIN' } },
  { protocol: 'gadugadu', ip: '91.214.237.10', port: 8074, encrypted: false, evidence: { signature: 'gg.welcome', reason: 'GG_WELCOME seed' } },
  sni('whatsapp', '157.240.1.53', 'g.whatsapp.net'),
  { protocol: 'telegram', ip: '149.154.167.51', port: 443, name: 'web.telegram.org', encrypted: true, evidence: { signature: 'ip.range', reason: 'Telegram address range' } },
  sni('discord', '162.159.130.234', 'gateway.discord.gg'),
  sni('signal', '13.248.212.111', 'chat.signal.org'),
  sni('slack', '3.120.15.7', 'wss-primary.slack.com'),
  sni('teams', '52.113.194.132', 'teams.microsoft.com'),
];

const FIRST = ['alice', 'bob', 'carol', 'dmitri', 'erin', 'farah', 'gus', 'hana', 'ivan', 'jules', 'kenji', 'lena', 'mo', 'nadia', 'omar', 'priya', 'quinn', 'rosa', 'sam', 'tomas', 'uma', 'vik', 'wen', 'xavi'];
const PHRASES = [
  'are we still on for the standup?', 'can you review my PR before lunch', 'the build is red again', 'lol', 'ok, sending it now',
  'what is the wifi password in the new office', 'I will be 10 minutes late', 'did the customer reply?', 'pushing the fix tonight',
  'meeting moved to 3pm', 'thanks!', 'the VPN keeps dropping', 'can you cover my shift on friday', 'server 10.20.4.17 is down again',
  'the quote is in the shared drive', 'call me when you are free', 'see the ticket for details', 'lunch at the usual place?',
];
const SENSITIVE = [
  'card for the hotel booking: 4539 1488 0343 6467 exp 04/27', 'use my mastercard 5425-2334-3010-9903', 'my SSN is 536-22-5598 for the form',
  'wire it to IBAN DE89 3704 0044 0532 0130 00 please', 'the prod db password is Winter2024! do not share',
];
const FILES = ['Q3-forecast.xlsx', 'customer-list.csv', 'setup.exe', 'holiday-photos.zip', 'design-v2.pdf', 'invoice-4471.pdf', 'payroll_march.xlsx'];

export interface DemoOptions {
  days?: number;
  now?: number;
  seed?: number;
}

/** The demo's side files: its policy and its capture (next to the store). */
export function demoFiles(file: string): { policy: string; pcap: string } {
  const base = file.replace(/\.db$/, '');
  return { policy: `${base}-policy.yaml`, pcap: `${base}.pcap` };
}

/**
 * Writes the demo into `file` (replaced): the generated events, then a generated capture of a day of
 * IRC sessions put through the real `shadowim analyze --store` (so those sessions have pcap evidence).
 * Returns the counts of events written directly.
 */
export async function generateDemo(file: string, o: DemoOptions = {}): Promise<Record<string, number>> {
  for (const f of [file, `${file}-wal`, `${file}-shm`]) fs.rmSync(f, { force: true });
  const side = demoFiles(file);
  fs.writeFileSync(side.policy, DEMO_POLICY);
  const { openStore } = require('../storage/store') as typeof import('../storage/store');
  const { SqliteSink } = require('../storage/sqlite-sink') as typeof import('../storage/sqlite-sink');
  const { createAnalyzer } = require('../analyzer') as typeof import('../analyzer');
  const { parsePolicy } = require('../analyzer/policy') as typeof import('../analyzer/policy');
  const db = openStore(file);
  const sink = new SqliteSink(db, { sensor: 'demo', archive: { enabled: true, metadata: true, retention_days: 0 }, retentionDays: 0, batch: 5000, ownDb: true });
  const counts: Record<string, number> = {};
  // the analyzer's alerts name no sensor: give them the sensor of the flow they concern
  const flowSensor = new Map<string, string>();
  const out = {
    write(ev: ShadowEvent) {
      counts[ev.type] = (counts[ev.type] ?? 0) + 1;
      if (ev.type === 'alert' && !ev.sensor && ev.flow_id) ev = { ...ev, sensor: flowSensor.get(ev.flow_id) };
      sink.write(ev);
    },
  };
  const analyzer = createAnalyzer(out, { policy: parsePolicy(DEMO_POLICY, 'demo-policy.yaml') });
  for (const ev of demoEvents(o)) {
    if (ev.sensor && (ev as any).flow_id) flowSensor.set((ev as any).flow_id, ev.sensor);
    analyzer.write(ev);
  }
  await analyzer.close?.();
  await sink.close();
  try {
    fs.writeFileSync(side.pcap, demoCapture(o));
    const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
    const cli = path.join(__dirname, '..', 'bin', 'shadowim.js');
    const r = spawnSync(process.execPath, [cli, 'analyze', side.pcap, '--store', file, '--sensor', 'hq-core', '--policy', side.policy, '--format', 'jsonl', '--quiet'], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 120_000 });
    if (r.status !== 0) process.stderr.write(`shadowim: demo capture not analyzed: ${String(r.stderr).split('\n')[0]}\n`);
  } catch (e) {
    // the capture part needs the test helpers' packet generator; without it the demo has no pcaps
    process.stderr.write(`shadowim: demo capture skipped (${(e as Error).message.split('\n')[0]})\n`);
  }
  const meta = openStore(file);
  meta.exec('CREATE TABLE IF NOT EXISTS dash_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
  meta.prepare("INSERT OR REPLACE INTO dash_meta (key, value) VALUES ('demo', ?)").run(JSON.stringify({ version: DEMO_VERSION, generated_ms: o.now ?? Date.now() }));
  meta.close();
  return counts;
}

/** The demo store's generation time, or undefined when `file` is no demo store of this version. */
export function demoGeneratedAt(db: import('better-sqlite3').Database): number | undefined {
  try {
    const r = db.prepare("SELECT value FROM dash_meta WHERE key = 'demo'").get() as any;
    const v = r ? JSON.parse(r.value) : undefined;
    return v?.version === DEMO_VERSION ? v.generated_ms : undefined;
  } catch {
    return undefined;
  }
}

/** The demo's events, in time order. */
export function* demoEvents(o: DemoOptions = {}): Generator<ShadowEvent> {
  let seed = o.seed ?? 20241125;
  const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff) / 0x80000000);
  const pick = <T>(a: T[]) => a[Math.floor(rnd() * a.length)];
  const hex = (n: number) => Array.from({ length: n }, () => Math.floor(rnd() * 16).toString(16)).join('');
  const now = o.now ?? Date.now();
  const days = o.days ?? 7;
  const start = now - days * 86400_000;
  const sensors = [
    { name: 'hq-core', nets: ['10.20', '10.30'], weight: 1 },
    { name: 'branch-lisbon', nets: ['10.40'], weight: 0.5 },
    { name: 'dc-east', nets: ['10.50'], weight: 0.3 },
  ];
  // people: a nick, a host and the protocols they use
  const people = FIRST.map((n, i) => {
    const s = sensors[i % 7 === 3 ? 1 : i % 11 === 5 ? 2 : 0];
    const net = pick(s.nets);
    const protos = [pick(SERVERS), pick(SERVERS)].filter((x, j, a) => a.indexOf(x) === j);
    if (net === '10.20' && rnd() < 0.7) protos.push(SERVERS[1]);
    if (net === '10.30' && rnd() < 0.7) protos.push(SERVERS[12]);
    return { nick: n + (rnd() < 0.4 ? String(Math.floor(rnd() * 90) + 10) : ''), ip: `${net}.${Math.floor(rnd() * 8) + 1}.${Math.floor(rnd() * 200) + 10}`, sensor: s.name, protos, activity: 0.3 + rnd() * 1.2 };
  });
  const evs: ShadowEvent[] = [];
  const iso = (t: number) => new Date(t).toISOString();
  let sport = 40000;
  for (let day = 0; day <= days; day++) {
    const dayStart = Math.floor(start / 86400_000) * 86400_000 + day * 86400_000;
    const weekend = [0, 6].includes(new Date(dayStart).getUTCDay());
    for (const p of people) {
      const n = Math.round((weekend ? 1 : 8) * p.activity * (0.5 + rnd()));
      for (let k = 0; k < n; k++) {
        // office hours, mostly
        const hour = rnd() < 0.85 ? 8 + rnd() * 10 : rnd() * 24;
        const t0 = dayStart + Math.floor(hour * 3600_000);
        if (t0 < start || t0 > now - 60_000) continue;
        const srv = pick(p.protos);
        const dur = Math.floor((2 + rnd() * 40) * 60_000);
        const t1 = Math.min(t0 + dur, now - 1000);
        const flow = hex(16);
        const client = { ip: p.ip, port: (sport = sport >= 64000 ? 40000 : sport + 1) };
        const server = { ip: srv.ip, port: srv.port };
        const peer = pick(people).nick;
        let packets = 20, bytes = 3000;
        if (!srv.encrypted) {
          if (srv.protocol === 'irc' && rnd() < 0.2) evs.push({ type: 'credential', ts: iso(t0 + 50), sensor: p.sensor, protocol: srv.protocol, user: p.nick, mechanism: 'irc-pass', client, server, flow_id: flow });
          const msgs = 1 + Math.floor(rnd() * 12);
          for (let m = 0; m < msgs; m++) {
            const t = t0 + Math.floor(((m + 1) / (msgs + 1)) * (t1 - t0));
            const out = rnd() < 0.6;
            const text = rnd() < 0.012 ? pick(SENSITIVE) : pick(PHRASES);
            evs.push({ type: 'message', ts: iso(t), sensor: p.sensor, protocol: srv.protocol, from: out ? p.nick : peer, to: out ? peer : p.nick, text, direction: out ? 'outbound' : 'inbound', client, server, flow_id: flow, kind: 'chat' });
            packets += 2;
            bytes += 120 + text.length * 2;
          }
          if (rnd() < 0.05) {
            const filename = pick(FILES);
            evs.push({ type: 'file_transfer', ts: iso(t0 + 30_000), sensor: p.sensor, protocol: srv.protocol, from: p.nick, to: peer, filename, size: Math.floor(5000 + rnd() * 5e6), direction: 'outbound', client, server, flow_id: flow, stage: 'offer' });
          }
        } else {
          packets = 40 + Math.floor(rnd() * 3000);
          bytes = packets * (200 + Math.floor(rnd() * 900));
        }
        evs.push({
          type: 'session', ts: iso(t0), sensor: p.sensor, protocol: srv.protocol, transport: srv.transport ?? 'tcp', client, server,
          users: srv.encrypted ? [] : [p.nick], start: iso(t0), end: iso(t1), packets, bytes, encrypted: srv.encrypted,
          evidence: [srv.evidence], flow_id: flow, ...(srv.name ? { server_name: srv.name } : {}), service: 'chat',
        });
      }
    }
  }
  // the session event comes when the flow ends; order by that, then by time within a flow
  const key = (e: ShadowEvent) => (e.type === 'session' ? Date.parse((e as any).end) : Date.parse(e.ts));
  evs.sort((a, b) => key(a) - key(b));
  // sensor counters, cumulative per sensor
  const tot: Record<string, { packets: number; bytes: number; flows: number }> = {};
  for (const e of evs) {
    if (e.type !== 'session') continue;
    const s = (tot[e.sensor!] ??= { packets: 0, bytes: 0, flows: 0 });
    s.packets += e.packets * 40;
    s.bytes += e.bytes * 30;
    s.flows += 35;
  }
  yield* evs;
  for (const s of sensors) {
    const t = tot[s.name] ?? { packets: 0, bytes: 0, flows: 0 };
    yield { type: 'stats', ts: iso(now - 30_000), sensor: s.name, packets: t.packets, bytes: t.bytes, flows: t.flows, malformed: Math.floor(t.packets * 1e-5), dropped: s.name === 'branch-lisbon' ? Math.floor(t.packets * 0.002) : 0 };
  }
}

export function randomPassword(): string {
  return crypto.randomBytes(12).toString('base64url');
}

/**
 * A capture of IRC sessions over the last day from hq-core's networks (built with the project's packet
 * generator, test/helpers/pcapgen.ts): nicks, channels, a password and a card number in the clear.
 */
export function demoCapture(o: DemoOptions = {}): Buffer {
  const { Capture } = require('../test/helpers/pcapgen') as typeof import('../test/helpers/pcapgen');
  let seed = (o.seed ?? 20241125) ^ 0x5bd1e995;
  const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff) / 0x80000000);
  const pick = <T>(a: T[]) => a[Math.floor(rnd() * a.length)];
  const now = o.now ?? Date.now();
  const c = new Capture();
  c.step = 40_000;
  const hosts = ['10.20.3.41', '10.20.5.17', '10.30.2.88', '10.20.7.120', '10.30.6.19'];
  const nicks = ['kenji', 'rosa63', 'tomas82', 'priya', 'wen'];
  for (let i = 0; i < 12; i++) {
    c.now = (now - 22 * 3600_000 + i * 1.8 * 3600_000 + Math.floor(rnd() * 600_000)) * 1000;
    const h = i % hosts.length;
    const nick = nicks[h];
    const t = c.tcp(`${hosts[h]}:${41000 + i}`, '198.51.100.7:6667');
    t.open();
    t.send('c', `${i % 4 === 0 ? 'PASS Winter2024!\r\n' : ''}NICK ${nick}\r\nUSER ${nick} 0 * :${nick}\r\n`);
    t.send('s', `:irc.libera.example 001 ${nick} :Welcome to the network ${nick}\r\n`);
    t.send('c', 'JOIN #ops\r\n');
    const n = 3 + Math.floor(rnd() * 5);
    for (let m = 0; m < n; m++) {
      const text = i === 5 && m === 1 ? 'corporate card for the AWS bill: 4539 1488 0343 6467' : pick(PHRASES);
      if (rnd() < 0.5) t.send('c', `PRIVMSG #ops :${text}\r\n`);
      else t.send('s', `:${pick(nicks)}!u@h PRIVMSG #ops :${text}\r\n`);
    }
    t.send('c', 'QUIT :bye\r\n');
    t.close();
  }
  return c.pcap();
}

// Events name the tunnel zone of their flow, and the analyzer keeps tenants apart by it: two tenants
// mirrored through one sensor in VXLAN VNIs 100 and 200 use the same private addresses (docs/sensor.md,
// "Tunnel zones"; docs/analyzer.md, "Tunnel zones"). Ground truth: the sessions put in each VNI.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Capture } from '../helpers/pcapgen';
import { shadowim } from '../helpers/run';
import { inZone, PLAIN, VNI100, VNI200, type ZoneWrap } from '../sensor/tunnelFrames';
import { alertId } from '../../analyzer/alertid';
import { openStore } from '../../storage/store';
import * as Q from '../../storage/queries';
import { cef, ecs, leef, rfc5424 } from '../../outputs/sinks/formats';
import { eventLine } from '../../storage/influx-points';
import type { AlertEvent } from '../../common/events';

type Wrap = ZoneWrap;

// both tenants: the same client, server and ports
const CLIENT = '10.0.0.5', SERVER = '10.0.9.9';

/** an IRC session (a cleartext PASS, and unless `text` is '' a message each way) whose server calls itself `serverName` */
function ircSession(c: Capture, nick: string, text: string, serverName = 'irc.example.net'): void {
  const t = c.tcp(`${CLIENT}:40001`, `${SERVER}:6667`)
    .open()
    .send('c', `PASS hunter2\r\nNICK ${nick}\r\nUSER ${nick} 0 * :${nick}\r\n`)
    .send('s', `:${serverName} 001 ${nick} :Welcome ${nick}\r\n`);
  if (text) t.send('c', `PRIVMSG bob :${text}\r\n`).send('s', `:bob!b@host PRIVMSG ${nick} :ok\r\n`);
  t.close();
}

function capture(sessions: Array<[Wrap, string, string, string?]>): Capture {
  const c = new Capture();
  for (const [wrap, nick, text, serverName] of sessions) inZone(c, wrap, () => ircSession(c, nick, text, serverName));
  return c;
}

let dir: string;
/** `shadowim analyze` of the capture with `args`; its standard output and events */
function analyze(c: Capture, args: string[] = ['--format', 'jsonl']): { stdout: string; events: any[] } {
  const file = path.join(dir, `c${Math.random().toString(36).slice(2)}.pcap`);
  fs.writeFileSync(file, c.pcap());
  const r = shadowim(['analyze', file, ...args]);
  assert.equal(r.status, 0, r.stderr);
  return { stdout: r.stdout, events: r.events };
}

function policy(text: string): string {
  const file = path.join(dir, `p${Math.random().toString(36).slice(2)}.yaml`);
  fs.writeFileSync(file, text);
  return file;
}

const of = (events: any[], type: string, kind?: string) => events.filter((e) => e.type === type && (!kind || e.kind === kind));
/** distinct alerts (the suppressor's update of a repeat has the same id) */
const distinct = (alerts: any[]) => [...new Map(alerts.map((a) => [a.id, a])).values()];

describe('analyzer: tunnel zones on events, alert ids, sanctioned servers and policy groups', function () {
  this.timeout(60_000);
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-zones-'))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('two VNIs with the same addresses, each an IRC session: two unauthorized_im alerts with their own ids and zones', () => {
    // the same nick in both tenants: only the zone tells their findings apart
    const { events } = analyze(capture([[VNI100, 'alice', 'tenant A here'], [VNI200, 'alice', 'tenant B here']]));
    const sessions = of(events, 'session');
    assert.deepEqual(sessions.map((s) => s.zone).sort(), ['vxlan:100', 'vxlan:200']);
    const flowZone = new Map(sessions.map((s) => [s.flow_id, s.zone]));
    // every event of a flow names the flow's zone
    for (const e of events.filter((x) => x.type !== 'stats')) assert.equal(e.zone, flowZone.get(e.flow_id), JSON.stringify(e));
    assert.deepEqual(of(events, 'message').filter((m) => m.from === 'alice').map((m) => `${m.zone} ${m.text}`).sort(), ['vxlan:100 tenant A here', 'vxlan:200 tenant B here']);
    assert.deepEqual(of(events, 'credential').map((m) => m.zone).sort(), ['vxlan:100', 'vxlan:200']);
    for (const kind of ['unauthorized_im', 'cleartext_credentials']) {
      const alerts = distinct(of(events, 'alert', kind));
      assert.equal(alerts.length, 2, `${kind}: ${JSON.stringify(of(events, 'alert', kind))}`);
      assert.deepEqual(alerts.map((a) => a.zone).sort(), ['vxlan:100', 'vxlan:200']);
      for (const a of alerts) {
        assert.equal(a.client.ip, CLIENT);
        assert.equal(flowZone.get(a.flow_id), a.zone);
        assert.equal(a.count, 1);
      }
    }
  });

  it('outside tunnels events carry no zone and alert ids are as before; the same session in VNI 100 is another alert', () => {
    const { events } = analyze(capture([[PLAIN, 'alice', 'at the office'], [VNI100, 'alice', 'in the cloud']]));
    const plain = of(events, 'session').find((s) => !s.zone);
    assert.ok(plain, JSON.stringify(of(events, 'session')));
    const plainEvents = events.filter((e) => e.flow_id === plain.flow_id);
    assert.ok(plainEvents.length >= 5, JSON.stringify(plainEvents)); // session, messages, credential, alerts
    for (const e of plainEvents) assert.ok(!('zone' in e), JSON.stringify(e));
    const alerts = distinct(of(events, 'alert', 'unauthorized_im'));
    assert.equal(alerts.length, 2, JSON.stringify(alerts));
    const outside = alerts.find((a) => a.flow_id === plain.flow_id);
    assert.equal(outside.id, alertId(['unauthorized_im', 'irc', CLIENT]));
    assert.equal(alerts.find((a) => a !== outside).zone, 'vxlan:100');
  });

  it('a server learned as sanctioned in VNI 100 is exempt there only, not in VNI 200 nor outside tunnels', () => {
    const p = policy('sanctioned_servers: [irc.corp.example]\n');
    const { events } = analyze(capture([
      // no message: judged by its session event alone, which names the server (messages do not)
      [VNI100, 'alice', '', 'irc.corp.example'],
      [VNI100, 'alice', 'same server, no name', 'irc.example.net'],
      [VNI200, 'mallory', 'another tenant', 'irc.example.net'],
      [PLAIN, 'bob', 'outside tunnels', 'irc.example.net'],
    ]), ['--format', 'jsonl', '--policy', p]);
    assert.equal(of(events, 'session').length, 4);
    const alerts = distinct(of(events, 'alert', 'unauthorized_im'));
    assert.deepEqual(alerts.map((a) => `${a.zone ?? 'none'} ${a.users.join(',')}`).sort(), ['none bob', 'vxlan:200 mallory']);
  });

  it('a policy group with a zone applies to flows in that zone only', () => {
    const p = policy([
      'groups:',
      '  tenant-a:',
      '    zone: "vxlan:100"',
      '    networks: [10.0.0.0/24]',
      '    allow:',
      '      - protocols: [irc]',
      '',
    ].join('\n'));
    const { events } = analyze(capture([[VNI100, 'alice', 'allowed here'], [VNI200, 'alice', 'not here'], [PLAIN, 'alice', 'nor here']]), ['--format', 'jsonl', '--policy', p]);
    const alerts = distinct(of(events, 'alert', 'unauthorized_im'));
    assert.deepEqual(alerts.map((a) => a.zone ?? 'none').sort(), ['none', 'vxlan:200']);
    const check = shadowim(['policy', 'check', p]);
    assert.equal(check.status, 0, check.stderr);
    assert.match(check.stdout, /tenant-a: addresses 10\.0\.0\.0\/24 — only in tunnel zone vxlan:100/);
    const bad = shadowim(['policy', 'check', policy('groups:\n  g:\n    zone: gretap:42\n    networks: [10.0.0.0/24]\n')]);
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /:3: group 'g': 'gretap:42' is not a tunnel zone/);
  });

  it('the same file with a card number sent in two VNIs: a sensitive_data alert per tenant, each naming its zone', () => {
    const ipInt = (ip: string) => ip.split('.').reduce((a, b) => a * 256 + Number(b), 0);
    const file = Buffer.from('quarterly numbers\ncard 4111 1111 1111 1111 exp 12/29\n');
    const c = new Capture();
    for (const wrap of [VNI100, VNI200]) {
      inZone(c, wrap, () => {
        const irc = c.tcp(`${CLIENT}:40002`, `${SERVER}:6667`).open()
          .send('c', 'NICK alice\r\nUSER alice 0 * :alice\r\n')
          .send('s', ':irc.example.net 001 alice :Welcome alice\r\n')
          .send('c', `PRIVMSG bob :\x01DCC SEND notes.txt ${ipInt(CLIENT)} 5001 ${file.length}\x01\r\n`);
        c.tcp('10.0.0.77:50001', `${CLIENT}:5001`).open().send('s', file).send('c', Buffer.from([0, 0, 0, file.length])).close();
        irc.close();
      });
    }
    const { events } = analyze(c);
    const found = distinct(of(events, 'alert', 'sensitive_data').filter((a) => /file notes\.txt/.test(a.summary)));
    assert.deepEqual(found.map((a) => a.zone).sort(), ['vxlan:100', 'vxlan:200'], JSON.stringify(of(events, 'alert')));
    assert.notEqual(found[0].id, found[1].id);
    assert.ok(found.every((a) => a.detector === 'pan' && !JSON.stringify(a).includes('4111 1111 1111 1111') && !JSON.stringify(a).includes('4111111111111111')), 'redacted');
  });

  it('the text format shows the zone after the addresses, only inside a tunnel', () => {
    const zoned = analyze(capture([[VNI200, 'alice', 'hi']]), ['--format', 'text']).stdout;
    assert.match(zoned, /SESSION irc 10\.0\.0\.5:40001 -> 10\.0\.9\.9:6667 zone=vxlan:200 users=\[alice, bob\]/);
    assert.match(zoned, /MESSAGE irc zone=vxlan:200 alice -> bob: hi/);
    assert.match(zoned, /ALERT HIGH unauthorized_im zone=vxlan:200: /);
    const plain = analyze(capture([[PLAIN, 'alice', 'hi']]), ['--format', 'text']).stdout;
    assert.match(plain, /SESSION irc 10\.0\.0\.5:40001 -> 10\.0\.9\.9:6667 users=\[alice, bob\]/);
    assert.doesNotMatch(plain, /zone/);
  });

  it('the store keeps the zone of sessions, messages and alerts (none outside tunnels)', () => {
    const store = path.join(dir, 'zones.db');
    analyze(capture([[VNI100, 'alice', 'tenant A'], [VNI200, 'alice', 'tenant B'], [PLAIN, 'alice', 'office']]), ['--format', 'jsonl', '--store', store]);
    const db = openStore(store, { readonly: true });
    try {
      const range = { from: 0, to: Date.now() + 86400_000 };
      const zones = (rows: Array<{ zone?: string }>) => rows.map((r) => r.zone ?? 'none').sort();
      assert.deepEqual(zones(Q.listSessions(db, range).rows), ['none', 'vxlan:100', 'vxlan:200']);
      const alerts = Q.listAlerts(db, { kind: ['unauthorized_im'] }).rows;
      assert.deepEqual(zones(alerts), ['none', 'vxlan:100', 'vxlan:200']);
      assert.ok(!('zone' in alerts.find((a) => !a.zone)!));
      assert.deepEqual(Q.searchMessages(db, { user: 'alice' }).rows.filter((m) => m.from === 'alice').map((m) => `${m.zone ?? 'none'} ${m.text}`).sort(), ['none office', 'vxlan:100 tenant A', 'vxlan:200 tenant B']);
      const detail = Q.getAlert(db, alerts.find((a) => a.zone === 'vxlan:200')!.id)!;
      assert.deepEqual(detail.sessions.map((s) => s.zone), ['vxlan:200']);
      assert.deepEqual(detail.messages.map((m) => m.zone), ['vxlan:200', 'vxlan:200']);
    } finally {
      db.close();
    }
  });

  // Ground truth: the three sessions put in the capture, one per tenant and one outside tunnels, all
  // from the same client address 10.0.0.5 and each with 2 messages.
  it('hosts page, report and host filters keep the tenants apart: 10.0.0.5@vxlan:100, @vxlan:200 and 10.0.0.5', () => {
    const store = path.join(dir, 'zone-hosts.db');
    analyze(capture([[VNI100, 'alice', 'tenant A'], [VNI200, 'carol', 'tenant B'], [PLAIN, 'dave', 'office']]), ['--format', 'jsonl', '--store', store]);
    const db = openStore(store, { readonly: true });
    try {
      // the capture's time is 2024 (pcapgen): a range over all of it, read from the daily rollups
      const range = { from: 0, to: Date.now() + 86400_000 };
      const hosts = Q.hosts(db, { ...range, sort: 'name' });
      assert.deepEqual(hosts.map((h) => `${h.name} ${h.protocol} ${h.sessions} ${h.messages}`), ['10.0.0.5 irc 1 2', '10.0.0.5@vxlan:100 irc 1 2', '10.0.0.5@vxlan:200 irc 1 2']);
      // the same from the per-minute rollups (a range of a few hours around the capture)
      const t0 = Date.parse(Q.listSessions(db, range).rows[0].start!);
      assert.equal(Q.hosts(db, { from: t0 - 3600_000, to: t0 + 3600_000 }).length, 3);
      assert.deepEqual(Q.hosts(db, { ...range, host: '10.0.0.5@vxlan:200' }).map((h) => h.name), ['10.0.0.5@vxlan:200']);
      // a host page's links: sessions and alerts of that tenant's host only; a bare address, every zone
      const users = (rows: Array<{ users: string[] }>) => rows.flatMap((r) => r.users).filter((u) => u !== 'bob').sort();
      assert.deepEqual(users(Q.listSessions(db, { ...range, host: '10.0.0.5@vxlan:100' }).rows), ['alice']);
      assert.deepEqual(users(Q.listSessions(db, { ...range, host: '10.0.0.5' }).rows), ['alice', 'carol', 'dave']);
      assert.deepEqual(Q.listAlerts(db, { kind: ['unauthorized_im'], host: '10.0.0.5@vxlan:200' }).rows.map((a) => a.zone), ['vxlan:200']);
      assert.equal(Q.listAlerts(db, { kind: ['unauthorized_im'], host: '10.0.0.5' }).rows.length, 3);
      const rep = Q.report(db, range);
      assert.deepEqual(rep.top_hosts.map((h) => `${h.host} ${h.sessions} ${h.users}`).sort(), ['10.0.0.5 1 2', '10.0.0.5@vxlan:100 1 2', '10.0.0.5@vxlan:200 1 2']);
      assert.equal(rep.protocols.find((x) => x.protocol === 'irc')!.hosts, 3);
      assert.equal(rep.unauthorized.find((x) => x.protocol === 'irc')!.hosts, 3);
    } finally {
      db.close();
    }
  });

  it('SIEM formats carry the zone in their own field, escaped like the others, and nothing without one', () => {
    const base: AlertEvent = { type: 'alert', ts: '2026-11-26T10:00:00.000Z', id: 'a1', kind: 'unauthorized_im', severity: 'high', protocol: 'irc', summary: 's', client: { ip: CLIENT, port: 40001 }, server: { ip: SERVER, port: 6667 }, users: ['alice'] };
    const z = { ...base, zone: 'vxlan:100' };
    assert.match(cef(z), / cs6Label=zone cs6=vxlan:100( |$)/);
    assert.match(leef(z), /\^zone=vxlan:100(\^|$)/);
    assert.match(rfc5424(z, { facility: 16, payload: 'text' }), / zone="vxlan:100"\]/);
    assert.deepEqual((ecs(z).observer as any).ingress, { zone: 'vxlan:100' });
    for (const s of [cef(base), leef(base), rfc5424(base, { facility: 16, payload: 'text' })]) assert.doesNotMatch(s, /zone/);
    assert.equal((ecs(base).observer as any).ingress, undefined);
    // a hostile value cannot open a field, element or line
    const evil = { ...base, zone: 'x=1 cs1=forged\n]"^sev=1|' };
    assert.match(cef(evil), / cs6=x\\=1 cs1\\=forged\\n\]"\^sev\\=1\| cn1Label=count /);
    assert.doesNotMatch(leef(evil), /\n|\^sev=1/);
    const sd = rfc5424(evil, { facility: 16, payload: 'text' });
    assert.doesNotMatch(sd, /\n/);
    assert.match(sd, / zone="x=1 cs1=forged \\]\\"\^sev=1\|"\]/);
  });

  it('InfluxDB points of a zoned flow are tagged with the zone, others as before', () => {
    const msg = { type: 'message', ts: '2026-11-26T10:00:00.000Z', protocol: 'irc', from: 'alice', to: 'bob', text: 'hi', direction: 'outbound', client: { ip: CLIENT, port: 40001 }, server: { ip: SERVER, port: 6667 }, flow_id: 'f1' } as const;
    assert.equal(eventLine(msg, 's1'), 'im_message,direction=outbound,protocol=irc,sensor=s1 count=1i,from="alice",to="bob",length=2i,client="10.0.0.5",server="10.0.9.9",flow_id="f1"');
    assert.equal(eventLine({ ...msg, zone: 'vxlan:100' }, 's1'), 'im_message,direction=outbound,protocol=irc,sensor=s1,zone=vxlan:100 count=1i,from="alice",to="bob",length=2i,client="10.0.0.5",server="10.0.9.9",flow_id="f1"');
  });
});

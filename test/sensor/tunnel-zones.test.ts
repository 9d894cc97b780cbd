// Tunnel zones: two tenants (VPCs, mirror sessions) with overlapping private addresses send the same
// inner 5-tuple inside different VXLAN VNIs, Geneve VNIs, ERSPAN sessions or GRETAP keys. Their flows
// must stay apart (each IRC session found with its own messages), while a tunnel whose id differs per
// direction (GTP-U's TEIDs, PPTP's call ids, a point-to-point GRE tunnel's keys) keeps one flow.
// Ground truth: the messages put in, and tshark's reading of the IRC lines inside the tunnels.
import assert from 'node:assert/strict';
import { Capture, ether, ipv4Fragments } from '../helpers/pcapgen';
import { haveCommand } from '../helpers/netns';
import { analyzeCaptureRun } from '../helpers/analyze';
import { startCaptureThread } from '../../sensor/captureThread';
import { openCapture } from '../../sensor/captureFile';
import { Recorder, runCapture, tmpFile } from './record';
import { shadowim } from '../helpers/run';
import { extractFlow } from '../../dashboard/evidence';
import { erspanII, erspanIII, geneve, greIp, gretap, gtpu, ipOf, pptp, tsharkIrc, vxlan } from './tunnelFrames';

const CLIENT = '10.0.0.5', SERVER = '10.0.9.9';

/** one IRC session on the 5-tuple both tenants use: `nick` registers, says `mine`, hears `theirs` from `peer` */
function ircSession(nick: string, peer: string, mine: string, theirs: string): Capture {
  const cap = new Capture();
  cap
    .tcp(`${CLIENT}:40001`, `${SERVER}:6667`)
    .open()
    .send('c', `NICK ${nick}\r\nUSER ${nick} 0 * :${nick}\r\n`)
    .send('s', `:irc.example.net 001 ${nick} :Welcome ${nick}\r\n`)
    .send('c', `PRIVMSG ${peer} :${mine}\r\n`)
    .send('s', `:${peer}!p@host PRIVMSG ${nick} :${theirs}\r\n`)
    .close();
  return cap;
}

const A = { nick: 'alice', peer: 'bob', mine: 'the vault code is in the usual place', theirs: 'got it' };
const B = { nick: 'mallory', peer: 'trent', mine: 'wire the money to account 7', theirs: 'done, ref 12' };
const sessionOf = (t: typeof A) => ircSession(t.nick, t.peer, t.mine, t.theirs);

type Wrap = (f: Buffer, n: number) => Buffer;

/** the two sessions' frames, interleaved packet by packet, each tenant's in its own tunnel */
function interleaved(wrapA: Wrap, wrapB: Wrap): Capture {
  const a = sessionOf(A).frames, b = sessionOf(B).frames;
  const cap = new Capture();
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (i < a.length) cap.add(wrapA(a[i].data, i));
    if (i < b.length) cap.add(wrapB(b[i].data, i));
  }
  return cap;
}

/** the frame travels client → server */
const c2s = (f: Buffer) => ipOf(f).subarray(12, 16).join('.') === CLIENT;

/** per flow id: its IRC messages as from → to: text, sorted */
function messagesByFlow(events: any[]): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const e of events) {
    if (e.type !== 'message') continue;
    const l = m.get(e.flow_id) ?? [];
    l.push(`${e.from} → ${e.to}: ${e.text}`);
    m.set(e.flow_id, l.sort());
  }
  return m;
}
const expectedMessages = (t: typeof A) => [`${t.nick} → ${t.peer}: ${t.mine}`, `${t.peer} → ${t.nick}: ${t.theirs}`].sort();

const ZONED: [string, Wrap, Wrap][] = [
  ['VXLAN, VNIs 5001 and 5002', (f) => vxlan(f, false, 5001), (f) => vxlan(f, false, 5002)],
  ['VXLAN over IPv6, VNIs 0 and 1', (f) => vxlan(f, true, 0), (f) => vxlan(f, true, 1)],
  ['Geneve, VNIs 77 and 78', (f) => geneve(f, 77), (f) => geneve(f, 78)],
  // 5 and 0x205 differ only in the session id's two high bits; the COS bits above them are not the id
  ['ERSPAN type II, sessions 5 and 517', (f, n) => erspanII(f, n, 5, 0xe0), (f, n) => erspanII(f, n, 0x205, 0xe0)],
  ['ERSPAN type III, sessions 5 and 1023', (f, n) => erspanIII(f, n, 5), (f, n) => erspanIII(f, n, 1023)],
  ['GRETAP, keys 0x100 and 0x200', (f) => gretap(f, 0x100), (f) => gretap(f, 0x200)],
  ['VXLAN inside ERSPAN: one VNI in two ERSPAN sessions', (f, n) => erspanII(vxlan(f, false, 5001), n, 5), (f, n) => erspanII(vxlan(f, false, 5001), n, 6)],
  ['VXLAN inside ERSPAN: two VNIs in one ERSPAN session', (f, n) => erspanII(vxlan(f, false, 5001), n, 5), (f, n) => erspanII(vxlan(f, false, 5002), n, 5)],
];

describe('sensor: tunnel zones (flows keyed by VNI, ERSPAN session, GRE key)', function () {
  this.timeout(60_000);
  const tshark = haveCommand('tshark');

  for (const [name, wrapA, wrapB] of ZONED) {
    it(`${name}: the same inner 5-tuple, interleaved: two sessions, each with its own messages${tshark ? ' (tshark reads the same lines)' : ''}`, () => {
      const cap = interleaved(wrapA, wrapB);
      let theirs: string[] | undefined;
      const run = analyzeCaptureRun(cap, tshark ? (f) => (theirs = tsharkIrc(f, true)) : undefined);
      const sessions = run.events.filter((e) => e.type === 'session' && e.protocol === 'irc');
      assert.equal(sessions.length, 2, JSON.stringify(sessions));
      assert.deepEqual(sessions.map((s) => s.users.slice().sort().join(',')).sort(), ['alice,bob', 'mallory,trent']);
      // every packet of each tenant in its own flow: 10 frames each, both directions
      assert.deepEqual(sessions.map((s) => s.packets), [10, 10]);
      assert.equal(new Set(sessions.map((s) => s.flow_id)).size, 2);
      const byFlow = messagesByFlow(run.events);
      assert.deepEqual([...byFlow.values()].sort(), [expectedMessages(A), expectedMessages(B)].sort());
      for (const s of sessions) assert.ok(byFlow.has(s.flow_id), `no messages on session ${s.flow_id}`);
      const stats = run.events.find((e) => e.type === 'stats');
      assert.equal(stats.flows, 2);
      assert.equal(stats.malformed, 0);
      assert.match(run.stderr, new RegExp(`, ${cap.frames.length} inside tunnels,`));
      if (theirs) {
        for (const t of [A, B]) {
          assert.ok(theirs.includes(`NICK ${t.nick}`), JSON.stringify(theirs));
          assert.ok(theirs.includes(`PRIVMSG ${t.peer} :${t.mine}`), JSON.stringify(theirs));
        }
      }
    });
  }

  it('IP fragments: two tenants\' fragments with the same addresses and IP id, interleaved in two VNIs, are reassembled apart', () => {
    // each tenant's payload-carrying packets cut into 16-byte fragments, the n-th packet of each with IP id n
    const pieces = (f: Buffer, n: number) => {
      if (ipOf(f).length <= 60) return [f];
      const ip = Buffer.from(ipOf(f));
      ip.writeUInt16BE(n, 4);
      return ipv4Fragments(ip, 16).map((p) => ether(p));
    };
    const a = sessionOf(A).frames.flatMap((f, n) => pieces(f.data, n)), b = sessionOf(B).frames.flatMap((f, n) => pieces(f.data, n));
    assert.ok(a.length > 20 && b.length > 20);
    const cap = new Capture();
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      if (i < a.length) cap.add(vxlan(a[i], false, 5001));
      if (i < b.length) cap.add(vxlan(b[i], false, 5002));
    }
    const run = analyzeCaptureRun(cap);
    const sessions = run.events.filter((e) => e.type === 'session' && e.protocol === 'irc');
    assert.equal(sessions.length, 2, JSON.stringify(sessions));
    assert.deepEqual([...messagesByFlow(run.events).values()].sort(), [expectedMessages(A), expectedMessages(B)].sort());
  });

  // the dashboard's pcap evidence of each tenant's session, picked by its flow_id among packets that
  // all match the session's 5-tuple and time window
  const evidenceCases: [string, Wrap, Wrap][] = [
    ['the dashboard\'s evidence of one tenant\'s session holds that tenant\'s packets only (picked by its flow_id)', (f) => vxlan(f, false, 5001), (f) => vxlan(f, false, 5002)],
    // one tenant's traffic seen as it is, the other's mirrored to the same sensor in VXLAN 5002
    ['the evidence of the session outside the tunnel holds its own packets only when the same 5-tuple is also seen inside a VNI', (f) => f, (f) => vxlan(f, false, 5002)],
  ];
  for (const [name, wrapA, wrapB] of evidenceCases) {
    it(name, async () => {
      const file = tmpFile(interleaved(wrapA, wrapB).pcap());
      const r = shadowim(['analyze', file, '--format', 'jsonl']);
      assert.equal(r.status, 0, r.stderr);
      const sessions = r.events.filter((e: any) => e.type === 'session');
      assert.equal(sessions.length, 2);
      for (const s of sessions) {
        const spec = { transport: s.transport, client: s.client, server: s.server, startMs: Date.parse(s.start), endMs: Date.parse(s.end) };
        const mine = await extractFlow(file, { ...spec, flowId: s.flow_id });
        assert.equal(mine.packets, 10);
        const text = mine.pcap.toString('latin1');
        const [me, other] = s.users.includes('alice') ? ['alice', 'mallory'] : ['mallory', 'alice'];
        assert.ok(text.includes(`NICK ${me}`) && !text.includes(`NICK ${other}`), `${me}'s evidence`);
        // without the flow id both tenants' packets match the 5-tuple and window
        assert.equal((await extractFlow(file, spec)).packets, 20);
      }
    });
  }

  const perDirection: [string, Wrap][] = [
    ['GTP-U, uplink TEID 0x100 and downlink TEID 0x200', (f) => gtpu(f, c2s(f) ? 0x100 : 0x200)],
    ['PPTP, call id 9 one way and 0x4000 the other', (f, n) => pptp(f, n, c2s(f) ? 9 : 0x4000)],
    ['GRE carrying IP, key 7 one way and 8 the other', (f, n) => greIp(f, { key: c2s(f) ? 7 : 8, seq: n })],
  ];
  for (const [name, wrap] of perDirection) {
    it(`${name}: the two directions still form one flow`, () => {
      const cap = new Capture();
      sessionOf(A).frames.forEach((f, n) => cap.add(wrap(f.data, n)));
      const run = analyzeCaptureRun(cap);
      const sessions = run.events.filter((e) => e.type === 'session' && e.protocol === 'irc');
      assert.equal(sessions.length, 1);
      assert.equal(sessions[0].packets, 10);
      assert.deepEqual([...messagesByFlow(run.events).values()], [expectedMessages(A)]);
      assert.equal(run.events.find((e) => e.type === 'stats').flows, 1);
    });
  }

  it('the flow knows its zone (FlowInfo.zone), on one thread and through the flow channel', async () => {
    const cap = interleaved((f, n) => erspanII(vxlan(f, false, 5001), n, 5), (f) => vxlan(f, false, 5002));
    const file = tmpFile(cap.pcap());
    const one = await runCapture(file);
    const zones = one.rec.flows.map((f) => f.info.zone);
    assert.equal(zones.length, 2);
    assert.equal(zones[1], 'vxlan:5002');
    assert.match(zones[0]!, /^erspan\/vxlan#[0-9a-f]{8}$/);
    assert.equal(one.rec.flows[1].data[0].toString(), `NICK ${B.nick}\r\nUSER ${B.nick} 0 * :${B.nick}\r\nPRIVMSG ${B.peer} :${B.mine}\r\n`);
    const rec = new Recorder();
    await startCaptureThread(openCapture(file), {}, 4096).run(rec);
    const seen = (r: Recorder) => r.flows.map((f) => [f.info.id, f.info.zone, f.data[0].toString(), f.data[1].toString()]);
    assert.deepEqual(seen(rec), seen(one.rec));
    // outside a tunnel: no zone
    const plain = await runCapture(sessionOf(A).pcap());
    assert.equal(plain.rec.flows[0].info.zone, undefined);
    assert.ok(!('zone' in JSON.parse(JSON.stringify(plain.rec.flows[0].info))));
  });

  it('tunnels.yaml zones: GRE keys on IP tunnels keyed when asked (gre_ip); no zones: VNIs meet again', async () => {
    const gre = interleaved((f, n) => greIp(f, { key: 7, seq: n }), (f, n) => greIp(f, { key: 8, seq: n })).pcap();
    const keyed = await runCapture(gre, { tunnelZones: ['gre_ip'] });
    assert.deepEqual(keyed.rec.flows.map((f) => f.info.zone), ['gre_ip:7', 'gre_ip:8']);
    assert.deepEqual(keyed.rec.flows.map((f) => f.data[0].toString().split('\r\n')[2]), [`PRIVMSG ${A.peer} :${A.mine}`, `PRIVMSG ${B.peer} :${B.mine}`]);
    // by default such keys are not a zone (they may differ per direction): the two tenants meet
    assert.equal((await runCapture(gre)).rec.flows.length, 1);
    const vx = interleaved((f) => vxlan(f, false, 5001), (f) => vxlan(f, false, 5002)).pcap();
    assert.equal((await runCapture(vx)).rec.flows.length, 2);
    const none = await runCapture(vx, { tunnelZones: [] });
    assert.equal(none.rec.flows.length, 1);
    assert.equal(none.rec.flows[0].info.zone, undefined);
  });
});

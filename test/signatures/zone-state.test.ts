// The engine's state across flows is kept per tunnel zone: two tenants mirrored through one sensor in
// VXLAN VNIs 100 and 200 use the same private addresses. A DCC offer made in one tenant claims the
// connection to the announced ip:port in that tenant only, and a DNS answer seen in one tenant names
// that tenant's server address only (docs/sensor.md, "Tunnel zones": the rule for flows outside any
// tunnel is the same, zone 0 is a zone of its own). Ground truth: the bytes and files put in.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { Capture } from '../helpers/pcapgen';
import { analyzeCapture } from '../helpers/analyze';
import { sendFile } from '../files/dcc';
import { inZone, PLAIN, VNI100, VNI200, type ZoneWrap } from '../sensor/tunnelFrames';
import { dnsQuery, dnsResponse, stunMessage, tlsClientHello } from './modern-wire';
import { Engine } from '../../signatures/engine';
import { loadRegistry } from '../../signatures/registry';

type Wrap = ZoneWrap;

const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

// ---- expected connections (IRC DCC SEND) ----------------------------------------------------------

const ALICE = '10.0.0.5', IRC_SERVER = '10.0.9.9', BOB = '10.0.0.7';
const DCC_PORT = 5000;
/** 10.0.0.5 as DCC writes it */
const ALICE_INT = (10 << 24) + 5;

/** an IRC session from ALICE, with a DCC SEND offer of `size` bytes on DCC_PORT when `offer` */
function ircSession(c: Capture, nick: string, offer?: { name: string; size: number }): void {
  const t = c.tcp(`${ALICE}:40001`, `${IRC_SERVER}:6667`).open();
  t.send('c', `NICK ${nick}\r\nUSER ${nick} 0 * :${nick}\r\n`);
  t.send('s', `:irc.example.net 001 ${nick} :Welcome ${nick}\r\n`);
  t.send('c', `PRIVMSG bob :hello from ${nick}\r\n`);
  if (offer) t.send('c', `PRIVMSG bob :\x01DCC SEND ${offer.name} ${ALICE_INT} ${DCC_PORT} ${offer.size}\x01\r\n`);
  t.close();
}

/** bob connects to ALICE:DCC_PORT and receives `file` (with DCC's 4-byte acknowledgements) */
function dccConnection(c: Capture, file: Buffer): void {
  const d = c.tcp(`${BOB}:51000`, `${ALICE}:${DCC_PORT}`).open();
  sendFile(d, file, 4096);
  d.close();
}

describe('signature engine: cross-flow state is kept per tunnel zone', function () {
  this.timeout(60_000);

  describe('expected connections (IRC DCC SEND)', () => {
    const offered = crypto.randomBytes(20_000), other = crypto.randomBytes(20_000);

    /** the offer in `offerZone`; then a DCC connection of `other` in `otherZone`, then one of `offered` in `claimZone` */
    function run(offerZone: Wrap, otherZone: Wrap, claimZone: Wrap): any[] {
      const c = new Capture();
      inZone(c, offerZone, () => ircSession(c, 'alice', { name: 'plans.bin', size: offered.length }));
      // the other tenant's IRC session on the same 5-tuple, without an offer
      if (otherZone !== offerZone) inZone(c, otherZone, () => ircSession(c, 'mallory'));
      // the other tenant's connection to the same ip:port comes first: it must not take the offer
      inZone(c, otherZone, () => dccConnection(c, other));
      inZone(c, claimZone, () => dccConnection(c, offered));
      return analyzeCapture(c);
    }

    it('an offer in VNI 100 claims the connection to its ip:port in VNI 100, not the one in VNI 200 that came first', () => {
      const events = run(VNI100, VNI200, VNI100);
      const data = events.filter((e) => e.type === 'file_transfer' && e.stage === 'data');
      assert.equal(data.length, 1, JSON.stringify(data));
      assert.equal(data[0].sha256, sha256(offered));
      assert.equal(data[0].observed_size, offered.length);
      assert.equal(data[0].complete, true);
      assert.equal(data[0].filename, 'plans.bin');
      const offer = events.find((e) => e.type === 'file_transfer' && e.stage === 'offer');
      assert.equal(data[0].transfer_id, offer.transfer_id);
      // one DCC session (the claimed flow), and the two IRC sessions
      const sessions = events.filter((e) => e.type === 'session');
      const dcc = sessions.filter((s) => s.server.port === DCC_PORT);
      assert.equal(dcc.length, 1, JSON.stringify(sessions));
      assert.equal(dcc[0].flow_id, data[0].flow_id);
      assert.match(JSON.stringify(dcc[0].evidence), /expected-connection/);
      assert.deepEqual(sessions.filter((s) => s.server.port === 6667).map((s) => s.users.slice().sort().join(',')).sort(), ['alice', 'mallory']);
      assert.ok(!JSON.stringify(events).includes(sha256(other)));
    });

    it('an offer outside any tunnel does not claim a connection inside a VNI, nor the other way round', () => {
      for (const [offerZone, otherZone] of [[PLAIN, VNI200], [VNI100, PLAIN]]) {
        const events = run(offerZone, otherZone, offerZone);
        const data = events.filter((e) => e.type === 'file_transfer' && e.stage === 'data');
        assert.deepEqual(data.map((d) => d.sha256), [sha256(offered)]);
        assert.equal(events.filter((e) => e.type === 'session' && e.server.port === DCC_PORT).length, 1);
      }
    });
  });

  // ---- DNS-learned names --------------------------------------------------------------------------

  describe('DNS-learned names', () => {
    const CLIENT = '10.0.0.5', RESOLVER = '10.0.0.2', SERVER = '10.0.9.77', NAME = 'e12.whatsapp.net';
    // bytes no module claims (not a ClientHello): the flow is classified by the learned name alone
    const opaque = (n: number) => Buffer.concat([Buffer.from('17030300', 'hex'), Buffer.alloc(n, 0x5a)]);

    /**
     * the answer NAME → SERVER in `dnsZone`; then, in each of `zones` (its payloads `extra` bytes
     * longer, to tell the zones' sessions apart), a TCP flow of opaque bytes and a TLS flow without SNI to SERVER
     */
    function run(dnsZone: Wrap, zones: Array<[Wrap, number]>): any[] {
      const c = new Capture();
      inZone(c, dnsZone, () => {
        c.udp(`${CLIENT}:53000`, `${RESOLVER}:53`, dnsQuery(NAME));
        c.udp(`${CLIENT}:53000`, `${RESOLVER}:53`, dnsResponse(NAME, SERVER), 's');
      });
      for (const [zone, extra] of zones)
        inZone(c, zone, () => {
          const t = c.tcp(`${CLIENT}:40002`, `${SERVER}:5222`).open();
          t.send('c', opaque(40 + extra));
          t.close();
          const s = c.tcp(`${CLIENT}:40003`, `${SERVER}:443`).open();
          s.send('c', tlsClientHello({}));
          s.send('s', Buffer.alloc(20 + extra, 0x16));
          s.close();
        });
      return analyzeCapture(c).filter((e) => e.type === 'session');
    }

    it('an answer seen in VNI 100 classifies the flows to that address in VNI 100 only (opaque bytes and TLS without SNI)', () => {
      // VNI 200's flows first: they must not be taken for WhatsApp
      const sessions = run(VNI100, [[VNI200, 0], [VNI100, 10]]);
      const opaqueFlows = sessions.filter((s) => s.server.port === 5222);
      assert.equal(opaqueFlows.length, 1, JSON.stringify(sessions));
      assert.equal(opaqueFlows[0].protocol, 'whatsapp');
      assert.equal(opaqueFlows[0].evidence[0].signature, 'dns.learned');
      assert.match(opaqueFlows[0].evidence[0].reason, /e12\.whatsapp\.net/);
      // VNI 100's flows (their payloads are 10 bytes longer than VNI 200's)
      const alone = run(VNI100, [[VNI100, 10]]);
      assert.equal(opaqueFlows[0].bytes, alone.find((s) => s.server.port === 5222).bytes);
      const tls = sessions.filter((s) => s.server.port === 443);
      assert.equal(tls.length, 1, JSON.stringify(sessions));
      assert.equal(tls[0].protocol, 'whatsapp');
      assert.match(JSON.stringify(tls[0].evidence), /e12\.whatsapp\.net/);
      assert.equal(tls[0].bytes, alone.find((s) => s.server.port === 443).bytes);
      assert.deepEqual(sessions.map((s) => s.protocol), ['whatsapp', 'whatsapp']);
    });

    it('an answer outside any tunnel names no address inside a VNI, and one inside a VNI none outside', () => {
      for (const [dnsZone, flowZone] of [[PLAIN, VNI100], [VNI100, PLAIN]]) assert.deepEqual(run(dnsZone, [[flowZone, 0]]), []);
      // the same answer and flows all outside tunnels, or all in one VNI: classified
      for (const zone of [PLAIN, VNI200]) assert.deepEqual(run(zone, [[zone, 0]]).map((s) => [s.server.port, s.protocol]).sort(), [[443, 'whatsapp'], [5222, 'whatsapp']]);
    });

    it('the cache is one bounded LRU across zones: the same address in two zones is two entries', () => {
      const engine = new Engine(loadRegistry(), { emit: () => {}, maxKnownNames: 2 });
      engine.kb.learnName(SERVER, 'a.example', 0, 'vxlan:100');
      engine.kb.learnName(SERVER, 'b.example', 0, 'vxlan:200');
      engine.kb.learnName(SERVER, 'c.example', 0);
      assert.equal(engine.kb.nameFor(SERVER, 'vxlan:100'), undefined); // the oldest, dropped
      assert.equal(engine.kb.nameFor(SERVER, 'vxlan:200'), 'b.example');
      assert.equal(engine.kb.nameFor(SERVER), 'c.example');
      assert.equal(engine.kb.nameFor(SERVER, 'vxlan:300'), undefined);
      // learning an entry again makes it the newest
      engine.kb.learnName(SERVER, 'b2.example', 0, 'vxlan:200');
      engine.kb.learnName('10.0.0.1', 'd.example', 0, 'vxlan:200');
      assert.equal(engine.kb.nameFor(SERVER), undefined);
      assert.equal(engine.kb.nameFor(SERVER, 'vxlan:200'), 'b2.example');
      assert.equal(engine.kb.nameFor('10.0.0.1', 'vxlan:200'), 'd.example');
    });
  });
});

// ---- STUN call endpoints (signatures/stun: a socket of an attributed call is the app's) ------------

describe('signature engine: STUN call endpoints are kept per tunnel zone', function () {
  this.timeout(60_000);
  const APP = '10.0.0.5:45419';
  const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);
  const allocate = () => stunMessage(0x0003, [{ type: 0x0019, value: Buffer.from([17, 0, 0, 0]) }]);
  /** a TURN relay's 401 challenge with REALM signal.org: attributes the flow (and its client socket) to Signal */
  const challenge = () => stunMessage(0x0113, [
    { type: 0x0009, value: Buffer.concat([Buffer.from([0, 0, 4, 1]), Buffer.from('Unauthorized')]) },
    { type: 0x0014, value: Buffer.from('signal.org') },
    { type: 0x0015, value: Buffer.concat([u16(0x0b1a), Buffer.from('3f5c7d9e2f4a')]) },
  ]);

  /** the relay flow in `relayZone`, then a Binding check from the same socket to a peer in each of `zones` */
  function run(relayZone: Wrap, zones: Wrap[]): any[] {
    const c = new Capture();
    inZone(c, relayZone, () => {
      c.udp(APP, '35.219.252.146:3478', allocate());
      c.udp(APP, '35.219.252.146:3478', challenge(), 's');
    });
    zones.forEach((zone, i) =>
      inZone(c, zone, () => {
        c.udp(APP, '35.219.226.11:54116', stunMessage(0x0001));
        c.udp(APP, '35.219.226.11:54116', stunMessage(0x0101, [{ type: 0x8022, value: Buffer.from(`peer ${i}`) }]), 's');
      }),
    );
    return analyzeCapture(c).filter((e) => e.type === 'session' && e.server.port === 54116);
  }

  it('a socket attributed in VNI 100 makes the same ip:port\'s checks in VNI 100 the app\'s, not those in VNI 200 or outside tunnels', () => {
    const checks = run(VNI100, [VNI200, PLAIN, VNI100]);
    assert.equal(checks.length, 1, JSON.stringify(checks));
    assert.equal(checks[0].protocol, 'signal');
    assert.equal(checks[0].evidence[0].signature, 'stun.endpoint');
    // VNI 100's check: the third, from the capture's seventh frame on
    assert.equal(checks[0].start, '2024-01-15T09:30:00.006Z');
    // outside tunnels as before
    assert.deepEqual(run(PLAIN, [PLAIN]).map((s) => s.protocol), ['signal']);
  });
});

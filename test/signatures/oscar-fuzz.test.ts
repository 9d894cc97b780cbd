// Bounded, seeded fuzzing of the OSCAR, OFT2 and ICQ v5 parsers and decoders: mutated valid PDUs and
// random bytes, a few seconds in all. Nothing may throw; decoders must never be disabled by an error.
import assert from 'node:assert/strict';
import { FlowHarness } from '../helpers/harness';
import * as P from '../../signatures/oscar/parser';
import { parseOftHeader, looksLikeOft } from '../../signatures/oscar/oft';
import { parseOdcHeader, looksLikeOdc, odcText, proxyInit } from '../../signatures/oscar/odc';
import { detectOscar } from '../../signatures/oscar';
import { detectIcq5 } from '../../signatures/icq5';
import { decryptClient, parseServer, parseMessage, splitMulti } from '../../signatures/icq5/parser';
import {
  Flaps, channel4, fragment, incomingIm, messageBlock, oftHeader, outgoingIm, sendFileProposal, seeded, typing, u32, tlv,
  icq5Login, icq5SendMsg, icq5Server, serverRelayMessage, directImProposal, odcFrame, odcTyping, proxyInitFrame, DIRECT_IM,
  chatRoomInfo, chatUsers, chatSend, chatIncoming,
} from './oscar-wire';
import { boundedIt } from '../helpers/bounded';
import { fuzzCases, fuzzSeconds, fuzzSeed } from '../helpers/fuzz';

// SHADOWIM_FUZZ_SEED / SHADOWIM_FUZZ_SCALE as for every other fuzz test (test/helpers/fuzz.ts);
// FUZZ_SEED / FUZZ_ROUNDS, this file's older knobs, still set the base seed and rounds
const SEED = fuzzSeed(Number(process.env.FUZZ_SEED ?? 20240115));
const ROUNDS = fuzzCases(Number(process.env.FUZZ_ROUNDS ?? 3000));

function mutate(b: Buffer, rnd: () => number): Buffer {
  const out = Buffer.from(b);
  const n = 1 + (rnd() % 6);
  for (let i = 0; i < n && out.length; i++) {
    const pos = rnd() % out.length;
    switch (rnd() % 4) {
      case 0: out[pos] = rnd() & 0xff; break;
      case 1: out[pos] = [0, 0xff, 0x7f, 0x80][rnd() % 4]; break;
      case 2: if (pos + 1 < out.length) out.writeUInt16BE([0, 0xffff, 0x8000, out.length][rnd() % 4] & 0xffff, pos); break;
      default: return out.subarray(0, pos);
    }
  }
  return out;
}

function corpus(): Buffer[] {
  const c = new Flaps(1), s = new Flaps(50);
  return [
    c.flap(1, Buffer.concat([u32(1), tlv(1, 'fuzzer'), tlv(2, Buffer.alloc(8, 0x55))])),
    outgoingIm(c, 'buddy', messageBlock(fragment(Buffer.from('<b>hi</b> &amp;'), 0))),
    incomingIm(s, 'buddy', messageBlock(fragment(Buffer.from('hé', 'utf16le').swap16(), 2), fragment(Buffer.from('x'), 3))),
    typing(c, 'buddy'),
    channel4(c, 1234567, '7654321', 'icq text', false),
    channel4(s, 7654321, '1234567', 'icq reply', true),
    sendFileProposal(c, 'buddy', { cookie: Buffer.alloc(8, 1), ip: '10.0.0.1', port: 5190, filename: 'a.zip', size: 100 }),
    serverRelayMessage(c, '1234567', 'relay text'),
    directImProposal(c, 'buddy', { cookie: Buffer.alloc(8, 2), ip: '10.0.0.1', port: 5191 }),
    ...chatCorpus(c, s),
  ];
}

/** chat-room SNACs (family 0x000E): room info, users joined/left, messages both ways and a reflection */
function chatCorpus(c: Flaps, s: Flaps): Buffer[] {
  const k = Buffer.alloc(8, 4);
  return [
    chatRoomInfo(s, { exchange: 4, cookie: '!aol://2719:10-4-fuzz%20room', name: 'fuzz room', desc: 'd', occupants: ['buddy', 'other'] }),
    chatUsers(s, 3, ['buddy', 'third']),
    chatUsers(s, 4, ['third']),
    chatSend(c, { cookie: k, text: Buffer.from('<b>room</b> &amp; text'), encoding: 'us-ascii' }),
    chatIncoming(s, { cookie: k, sender: 'fuzzer', text: Buffer.from('<b>room</b> &amp; text'), encoding: 'us-ascii' }),
    chatIncoming(s, { cookie: Buffer.alloc(8, 5), sender: 'buddy', text: Buffer.from('hé', 'utf16le').swap16(), encoding: 'unicode-2-0' }),
    chatIncoming(s, { cookie: Buffer.alloc(8, 6), sender: 'other', text: Buffer.from([0x93, 0x41, 0x94]), encoding: 'text/aolrtf; charset="iso-8859-1"' }),
  ];
}

const ODC_COOKIE = Buffer.alloc(8, 3);
function odcCorpus(): Buffer[] {
  return [
    odcFrame({ sn: 'peer', cookie: ODC_COOKIE, flags: 0x0060 }),
    odcTyping('peer', ODC_COOKIE, 'typing'),
    odcFrame({ sn: 'peer', cookie: ODC_COOKIE, payload: Buffer.from('<HTML>hi &amp; <B>bye</B></HTML>') }),
    odcFrame({ sn: 'peer', cookie: ODC_COOKIE, payload: Buffer.from('<b>x</b>', 'utf16le').swap16(), encoding: 2 }),
    odcFrame({ sn: 'peer', cookie: ODC_COOKIE, payload: Buffer.from('img<BINARY><DATA ID="1" SIZE="3">abc</DATA></BINARY>') }),
    proxyInitFrame('peer', ODC_COOKIE, DIRECT_IM, 0x1234),
  ];
}

describe('oscar/icq5: seeded fuzz (bounded)', () => {
  boundedIt(__filename, `parsers never throw on mutated PDUs (seed ${SEED})`, fuzzSeconds(120), () => {
    const rnd = seeded(SEED);
    const base = corpus();
    for (let i = 0; i < ROUNDS; i++) {
      const b = mutate(base[i % base.length], rnd);
      const p = b.subarray(Math.min(6, b.length));
      P.scanFlaps(b);
      P.parseTlvs(p);
      const s = P.parseSnac(p);
      if (s && s.family === 0x000e) {
        const r = P.parseRoomInfo(s.body);
        if (r) P.roomNameFromCookie(r.cookie);
        P.parseUserList(s.body);
        for (const incoming of [false, true]) {
          const m = P.parseChatMessage(s.body, incoming);
          if (m?.text) P.htmlToText(P.decodeText(m.text, P.chatCharset(m.encoding)).text);
        }
      }
      if (s) {
        const m = P.parseIcbm(s.body, s.subtype === 7);
        if (m) {
          for (const t of m.tlvs) {
            P.parseMessageBlock(t.value);
            P.parseRendezvous(t.value);
            P.parseCh4(t.value);
            P.parseFileInfo(t.value);
            P.parseIcqOffline(t.value);
            P.parseServerRelay(t.value);
            const rv = P.parseRendezvous(t.value);
            if (rv) for (const x of rv.tlvs) P.parseServerRelay(x.value);
          }
        }
      }
      P.htmlToText(b.toString('latin1'));
      P.utf16be(b);
      const h = mutate(oftHeader(0x0101, { cookie: Buffer.alloc(8), size: 10, filename: 'f.txt' }), rnd);
      parseOftHeader(h);
      looksLikeOft(h);
      const od = odcCorpus();
      const f = mutate(od[i % od.length], rnd);
      const oh = parseOdcHeader(f);
      looksLikeOdc(f);
      proxyInit(f);
      odcText(f.subarray(Math.min(76, f.length)), oh ? oh.encoding : i % 4);
      const q = mutate(i % 2 ? icq5SendMsg(1000 + i, 2000, 'msg ' + i) : icq5Server(0x0104, 1, 2, 'srv'), rnd);
      const clear = decryptClient(q);
      if (clear) parseMessage(clear.subarray(0x18));
      const sp = parseServer(q);
      if (sp) splitMulti(sp.body);
    }
  });

  boundedIt(__filename, 'detect() answers within bounds on random and mutated input', fuzzSeconds(120), () => {
    const rnd = seeded(SEED + 1);
    const base = corpus();
    const lookup = { host: () => undefined, ip: () => undefined };
    const flow = { id: 'f', transport: 'tcp' as const, client: { ip: '10.0.0.1', port: 1 }, server: { ip: '10.0.0.2', port: 443 }, firstTs: 0, clientBy: 'syn' as 'syn' | 'first' };
    let oscarHits = 0;
    for (let i = 0; i < ROUNDS; i++) {
      const rand = Buffer.from(Array.from({ length: rnd() % 3000 }, () => rnd() & 0xff));
      if (i % 4 === 0 && rand.length) rand[0] = 0x2a;
      for (let k = 0; k < rand.length; k += 97) if (rnd() % 2) rand[k] = 0x2a; // many candidate offsets
      // half the flows without a SYN seen, where detection also searches for a later FLAP boundary
      const r = detectOscar({ transport: 'tcp', dir: 0, data: rand, other: Buffer.alloc(0), packetIndex: 0, flow: i % 2 ? flow : { ...flow, clientBy: 'first' }, lookup });
      if (r && r !== 'more') oscarHits++;
      detectOscar({ transport: 'tcp', dir: 1, data: mutate(Buffer.concat(base.slice(0, 3)), rnd), other: mutate(base[3], rnd), packetIndex: 1, flow, lookup });
      const od = odcCorpus();
      detectOscar({ transport: 'tcp', dir: 0, data: mutate(od[i % od.length], rnd), other: Buffer.alloc(0), packetIndex: 0, flow, lookup });
      const u = detectIcq5({ transport: 'udp', dir: 0, data: i % 2 ? rand : mutate(icq5Login(5555 + i, 'x'), rnd), other: Buffer.alloc(0), packetIndex: 0, flow: { ...flow, transport: 'udp' }, lookup });
      assert.ok(u === null || u === 'more' || typeof u === 'object');
    }
    assert.equal(oscarHits, 0, 'random bytes were classified as OSCAR');
  });

  boundedIt(__filename, 'whole sessions of mutated traffic: no decoder error, everything bounded', fuzzSeconds(120), () => {
    const rnd = seeded(SEED + 2);
    const base = corpus();
    let chatMessages = 0;
    for (let round = 0; round < 60; round++) {
      const h = new FlowHarness({ server: '198.51.100.7:5190' });
      const c = new Flaps(1), s = new Flaps(9);
      h.send('s', s.hello()).send('c', c.hello()).send('s', s.snac(1, 3, Buffer.alloc(8)));
      for (let i = 0; i < 40; i++) {
        const b = rnd() % 3 ? mutate(base[rnd() % base.length], rnd) : Buffer.from(Array.from({ length: rnd() % 200 }, () => rnd() & 0xff));
        h.send(rnd() % 2 ? 'c' : 's', b);
      }
      h.end();
      assert.equal(h.engine.stats.decoderErrors, 0, `round ${round}`);
      for (const m of h.of('message')) assert.ok(m.text.length <= P.MAX_TEXT);

      // a chat-server connection: mutated family-0x000E SNACs and random bytes, one or both directions
      const ch = new FlowHarness({ server: '198.51.100.8:5190' });
      const cc = new Flaps(3), cs = new Flaps(90);
      ch.send('s', cs.hello()).send('c', cc.flap(1, Buffer.concat([u32(1), tlv(6, Buffer.alloc(32, 7))]))).send('s', cs.snac(1, 3, Buffer.alloc(8)));
      const only = round % 3; // 0 both directions, 1 client only, 2 server only
      for (let i = 0; i < 40; i++) {
        const chat = chatCorpus(cc, cs);
        const pick = rnd() % chat.length;
        const d = pick === 3 ? 'c' : 's';
        if ((only === 1 && d === 's') || (only === 2 && d === 'c')) continue;
        const b = rnd() % 4 ? mutate(chat[pick], rnd) : Buffer.from(Array.from({ length: rnd() % 200 }, () => rnd() & 0xff));
        ch.send(d, b);
      }
      ch.end();
      assert.equal(ch.engine.stats.decoderErrors, 0, `chat round ${round}`);
      for (const m of ch.of('message')) {
        chatMessages++;
        assert.ok(m.text.length <= P.MAX_TEXT && m.to.length <= P.MAX_ROOM_NAME && m.kind === 'groupchat');
      }

      const o = new FlowHarness({ server: '203.0.113.1:4443' });
      o.send('s', oftHeader(0x0101, { cookie: Buffer.alloc(8), size: 64, filename: 'x.bin' }));
      for (let i = 0; i < 10; i++) o.send(rnd() % 2 ? 'c' : 's', mutate(oftHeader(0x0101, { cookie: Buffer.alloc(8), size: rnd() % 100, filename: 'y' }), rnd));
      o.end();
      assert.equal(o.engine.stats.decoderErrors, 0);

      // Direct IM: mutated frames and random bytes after a valid start, through the engine
      const od = odcCorpus();
      const dh = new FlowHarness({ server: '203.0.113.1:5191' });
      dh.send('c', od[0]);
      for (let i = 0; i < 20; i++) {
        const b = rnd() % 3 ? mutate(od[rnd() % od.length], rnd) : Buffer.from(Array.from({ length: rnd() % 200 }, () => rnd() & 0xff));
        dh.send(rnd() % 2 ? 'c' : 's', b);
      }
      dh.end();
      assert.equal(dh.engine.stats.decoderErrors, 0);
      for (const m of dh.of('message')) assert.ok(m.text.length <= P.MAX_TEXT);

      const u = new FlowHarness({ transport: 'udp', server: '198.51.100.9:4000' });
      u.send('c', icq5Login(4242, 'pw'));
      for (let i = 0; i < 20; i++) u.send(rnd() % 2 ? 'c' : 's', mutate(rnd() % 2 ? icq5SendMsg(4242, 99, 'hello') : icq5Server(0x0212, 4242, 99, 'multi'), rnd));
      u.end();
      assert.equal(u.engine.stats.decoderErrors, 0);
    }
    // the chat decoder was reached: some mutated rooms still carried readable messages
    assert.ok(chatMessages > 0, 'no chat message decoded');
  });
});

// AIM chat rooms (SNAC family 0x000E): the chat-server connection through the engine (FlowHarness) and
// the parsers; bytes from test/signatures/oscar-wire.ts (libpurple family_chat.c layouts).
import assert from 'node:assert/strict';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { FlowHarness } from '../helpers/harness';
import { Engine } from '../../signatures/engine';
import { loadRegistry } from '../../signatures/registry';
import * as P from '../../signatures/oscar/parser';
import {
  Flaps, bname, bosOpening, chatIncoming, chatJoinRequest, chatRoomInfo, chatSend, chatUsers, roomRef, serviceRedirect, tlv, u16, userInfo,
} from './oscar-wire';

const ME = 'CorpAnalyst9';
const ROOM_COOKIE = '!aol://2719:10-4-Q3 Pricing%21';
const ck = (n: number) => Buffer.from(`c0ffee00000000${n.toString(16).padStart(2, '0')}`, 'hex');

/** a chat-server connection: hello, sign-on with the redirect's cookie (TLV 6), host-online; then `rest` */
function chatConn(rest: (c: Flaps, s: Flaps) => Array<['c' | 's', Buffer]>, o: { server?: string; clientBy?: 'syn' | 'first'; opening?: boolean } = {}) {
  const h = new FlowHarness({ server: o.server ?? '64.12.28.10:5190', clientBy: o.clientBy });
  const c = new Flaps(0x0300), s = new Flaps(0x7000);
  const frames = [...(o.opening === false ? [] : bosOpening(c, s)), ...rest(c, s)];
  for (const [d, b] of frames) h.send(d, b);
  h.end();
  return h;
}

/** a BOS connection on its own engine, signed on as ME: the events of every flow on that engine */
function bosSignedOn() {
  const events: any[] = [];
  const engine = new Engine(loadRegistry(), { emit: (e) => events.push(e) });
  const bos = new FlowHarness({ engine, client: '10.1.1.10:40000', server: '64.12.24.50:443' });
  const c = new Flaps(0x0100), s = new Flaps(0x2000);
  for (const [d, b] of bosOpening(c, s, { me: ME })) bos.send(d, b);
  return { events, engine, bos, c, s };
}

const msgs = (h: FlowHarness) => h.of('message').map((m) => [m.from, m.to, m.text, m.kind, m.direction]);

describe('oscar chat rooms: parsers', () => {
  it('reads the room reference, the room info TLVs and the name inside the cookie', () => {
    const f = new Flaps(1);
    const info = chatRoomInfo(f, { exchange: 4, cookie: ROOM_COOKIE, instance: 7, name: 'Q3 Pricing!', desc: 'pricing talk', occupants: ['alice', 'bob'] });
    const r = P.parseRoomInfo(P.parseSnac(info.subarray(6))!.body)!;
    assert.deepEqual(r, { exchange: 4, cookie: ROOM_COOKIE, instance: 7, name: 'Q3 Pricing!', desc: 'pricing talk', users: ['alice', 'bob'] });
    assert.equal(P.roomNameFromCookie(ROOM_COOKIE), 'Q3 Pricing!');
    assert.equal(P.roomNameFromCookie('!aol://2719:10-4-caf%C3%A9 talk'), 'café talk');
    assert.equal(P.roomNameFromCookie('no dashes'), undefined);
    assert.equal(P.parseRoomRef(roomRef(4, 'x').subarray(0, 4)), null, 'cookie length past the end');
  });

  it('reads user-info lists and refuses a block whose TLV count lies', () => {
    assert.deepEqual(P.parseUserList(Buffer.concat([userInfo('alice'), userInfo('bob', [])])), { names: ['alice', 'bob'], ok: true });
    const lying = Buffer.concat([bname('carol'), u16(0), u16(3), tlv(1, u16(0))]);
    assert.deepEqual(P.parseUserList(Buffer.concat([userInfo('alice'), lying])), { names: ['alice'], ok: false });
  });

  it('reads both message SNACs: cookie, channel, flags, sender, text and encoding', () => {
    const f = new Flaps(1);
    const out = P.parseChatMessage(P.parseSnac(chatSend(f, { cookie: ck(1), text: Buffer.from('hi'), encoding: 'us-ascii' }).subarray(6))!.body, false)!;
    assert.deepEqual([out.cookie, out.channel, out.reflect, out.toRoom, out.text, out.encoding, out.sender], [ck(1), 3, true, true, Buffer.from('hi'), 'us-ascii', undefined]);
    const inc = P.parseChatMessage(P.parseSnac(chatIncoming(f, { cookie: ck(2), sender: 'alice', text: Buffer.from('yo') }).subarray(6))!.body, true)!;
    assert.deepEqual([inc.sender, inc.text, inc.encoding, inc.reflect], ['alice', Buffer.from('yo'), undefined, false]);
    assert.equal(P.parseChatMessage(Buffer.alloc(9), true), null);
  });

  it('maps encoding names as libpurple encoding.c does onto the ICBM charsets', () => {
    for (const [e, n] of [['unicode-2-0', 2], ['iso-8859-1', 3], ['ISO-8859-1-Windows-3.1-Latin-1', 3], ['us-ascii', 0], ['utf-8', 0],
      ['text/aolrtf; charset="unicode-2-0"', 2], ['text/x-aolrtf; charset="iso-8859-1"', 3], ['klingon', 0], [undefined, 0], ['2', 2]] as const) {
      assert.equal(P.chatCharset(e), n, String(e));
    }
  });
});

describe('oscar chat rooms: through the engine', () => {
  it('reports the room, its occupants and each message once (reflection on), as groupchat', () => {
    const h = chatConn((c, s) => [
      ['s', chatRoomInfo(s, { exchange: 4, cookie: ROOM_COOKIE, name: 'Q3 Pricing!', occupants: [ME, 'alice'] })],
      ['s', chatUsers(s, 3, ['bob.sales'])],
      ['c', chatSend(c, { cookie: ck(1), text: Buffer.from('<HTML><BODY>numbers <B>attached</B> &amp; final</BODY></HTML>'), encoding: 'us-ascii' })],
      ['s', chatIncoming(s, { cookie: ck(1), sender: ME, text: Buffer.from('<HTML><BODY>numbers <B>attached</B> &amp; final</BODY></HTML>'), encoding: 'us-ascii' })],
      ['s', chatIncoming(s, { cookie: ck(2), sender: 'alice', text: Buffer.from('Zürich 東京', 'utf16le').swap16(), encoding: 'unicode-2-0' })],
      ['s', chatIncoming(s, { cookie: ck(3), sender: 'bob.sales', text: Buffer.from([0x93, 0x71, 0x94, 0x20, 0x80, 0x35, 0x96, 0x6f, 0x6b]), encoding: 'iso-8859-1' })],
      ['s', chatUsers(s, 4, ['bob.sales'])],
    ]);
    assert.deepEqual(msgs(h), [
      [ME, 'Q3 Pricing!', 'numbers attached & final', 'groupchat', 'outbound'],
      ['alice', 'Q3 Pricing!', 'Zürich 東京', 'groupchat', 'inbound'],
      ['bob.sales', 'Q3 Pricing!', '\u201cq\u201d \u20ac5\u2013ok', 'groupchat', 'inbound'],
    ]);
    const sess = h.of('session');
    assert.equal(sess.length, 1);
    assert.equal(sess[0].protocol, 'aim');
    assert.equal(sess[0].service, 'chat-room');
    assert.deepEqual([...sess[0].users].sort(), [ME, 'alice', 'bob.sales'].sort());
    assert.ok(sess[0].evidence.some((e) => e.signature === 'oscar.chat-room' && e.reason.includes('Q3 Pricing!')));
    assert.ok(!sess[0].malformed);
  });

  it('our name known first: the message is reported when sent and its reflection dropped', () => {
    const h = chatConn((c, s) => [
      ['s', s.snac(1, 0x0f, Buffer.concat([bname(ME), u16(0), u16(0)]))],
      ['s', chatRoomInfo(s, { exchange: 4, cookie: ROOM_COOKIE })],
      ['c', chatSend(c, { cookie: ck(5), text: Buffer.from('one') })],
      ['s', chatIncoming(s, { cookie: ck(5), sender: ME, text: Buffer.from('one') })],
    ]);
    assert.deepEqual(msgs(h), [[ME, 'Q3 Pricing!', 'one', 'groupchat', 'outbound']]);
  });

  it('the reflection read before the message it reflects is still one message', () => {
    const h = chatConn((c, s) => {
      const send = chatSend(c, { cookie: ck(6), text: Buffer.from('early echo') });
      return [['s', chatIncoming(s, { cookie: ck(6), sender: ME, text: Buffer.from('early echo') })], ['c', send]];
    });
    assert.deepEqual(h.of('message').map((m) => [m.from, m.text]), [[ME, 'early echo']]);
  });

  it('a reflection is matched once, and only from us: a later copy of our cookie from someone else is their message and does not rename us', () => {
    const h = chatConn((c, s) => [
      ['s', s.snac(1, 0x0f, Buffer.concat([bname(ME), u16(0), u16(0)]))],
      ['s', chatRoomInfo(s, { exchange: 4, cookie: ROOM_COOKIE })],
      ['c', chatSend(c, { cookie: ck(9), text: Buffer.from('hello all') })],
      ['s', chatIncoming(s, { cookie: ck(9), sender: ME, text: Buffer.from('hello all') })],
      // another occupant re-sends with the cookie it saw on our message
      ['s', chatIncoming(s, { cookie: ck(9), sender: 'mallory', text: Buffer.from('the real plan') })],
      ['c', chatSend(c, { cookie: ck(10), text: Buffer.from('next') })],
      ['s', chatIncoming(s, { cookie: ck(10), sender: ME, text: Buffer.from('next') })],
    ]);
    assert.deepEqual(msgs(h), [
      [ME, 'Q3 Pricing!', 'hello all', 'groupchat', 'outbound'],
      ['mallory', 'Q3 Pricing!', 'the real plan', 'groupchat', 'inbound'],
      [ME, 'Q3 Pricing!', 'next', 'groupchat', 'outbound'],
    ]);
    // our name learned from the reflection (held message): the reused cookie is still mallory's message
    const u = chatConn((c, s) => [
      ['s', chatRoomInfo(s, { exchange: 4, cookie: ROOM_COOKIE })],
      ['c', chatSend(c, { cookie: ck(11), text: Buffer.from('held') })],
      ['s', chatIncoming(s, { cookie: ck(11), sender: ME, text: Buffer.from('held') })],
      ['s', chatIncoming(s, { cookie: ck(11), sender: 'mallory', text: Buffer.from('hidden?') })],
    ]);
    assert.deepEqual(u.of('message').map((m) => [m.from, m.text, m.direction]), [[ME, 'held', 'outbound'], ['mallory', 'hidden?', 'inbound']]);
  });

  it('a room name is one clean line: control characters dropped, and a name that is nothing else is no name', () => {
    const h = chatConn((c, s) => [
      ['s', chatRoomInfo(s, { exchange: 4, cookie: '!aol://2719:10-4-Sales%0AALERT%09%1b[2Jx', name: '\x01\x02\n' })],
      ['s', chatIncoming(s, { cookie: ck(12), sender: 'alice', text: Buffer.from('hi') })],
    ]);
    assert.deepEqual(msgs(h), [['alice', 'SalesALERT[2Jx', 'hi', 'groupchat', 'inbound']]);
    assert.match(h.of('session')[0].evidence.map((e) => e.reason).join(), /AIM chat room "SalesALERT\[2Jx"/);
  });

  it('one direction only: the client side alone still yields its messages, the server side alone its messages', () => {
    const c1 = chatConn((c) => [
      ['c', chatSend(c, { cookie: ck(7), text: Buffer.from('only the client side') })],
      ['c', chatSend(c, { cookie: ck(8), text: Buffer.from('no reflection asked'), reflect: false })],
    ], { opening: false, clientBy: 'first' });
    assert.deepEqual(msgs(c1).map((m) => [m[0], m[1], m[2], m[4]]).sort(), [
      ['(unknown)', '(unknown room)', 'no reflection asked', 'outbound'],
      ['(unknown)', '(unknown room)', 'only the client side', 'outbound'],
    ]);
    const s1 = chatConn((_c, s) => [
      ['s', chatRoomInfo(s, { exchange: 4, cookie: '!aol://2719:10-4-night shift' })],
      ['s', chatIncoming(s, { cookie: ck(9), sender: 'alice', text: Buffer.from('server side only') })],
    ], { opening: false, clientBy: 'first' });
    assert.deepEqual(msgs(s1), [['alice', 'night shift', 'server side only', 'groupchat', 'inbound']]);
  });

  it('a BOS redirect to a chat room names the room and our name on the chat connection that follows', () => {
    const { events, engine, bos, c, s } = bosSignedOn();
    bos.send('c', chatJoinRequest(c, 0x00a1, 4, '!aol://2719:10-4-after%20hours'));
    bos.send('c', chatJoinRequest(c, 0x00a2, 4, '!aol://2719:10-4-other room'));
    bos.send('s', serviceRedirect(s, 0x00a1, 0x000e, '64.12.28.10:5190', Buffer.alloc(64, 9)));
    // the chat connection: its sign-on with the redirect's cookie, then only our messages (no room info, no reflection captured)
    const ch = new FlowHarness({ engine, client: '10.1.1.10:40001', server: '64.12.28.10:5190' });
    const cc = new Flaps(0x0500), cs = new Flaps(0x0600);
    for (const [d, b] of bosOpening(cc, cs, { cookie: Buffer.alloc(64, 9) })) ch.send(d, b);
    ch.send('c', chatSend(cc, { cookie: ck(30), text: Buffer.from('<HTML>hello room</HTML>'), encoding: 'us-ascii' }));
    ch.send('s', chatIncoming(cs, { cookie: ck(31), sender: 'alice', text: Buffer.from('hi') }));
    ch.end();
    bos.end();
    const m = events.filter((e) => e.type === 'message').map((e) => [e.from, e.to, e.text, e.direction]);
    assert.deepEqual(m, [[ME, 'after hours', 'hello room', 'outbound'], ['alice', 'after hours', 'hi', 'inbound']]);
    const sess = events.find((e) => e.type === 'session' && e.server.ip === '64.12.28.10');
    assert.equal(sess.service, 'chat-room');
    assert.equal(sess.protocol, 'aim');
  });

  it('two rooms on one chat server: each connection is the room whose redirect cookie its sign-on carries, whatever the order; a sign-on with another cookie is neither', () => {
    const { events, engine, bos, c, s } = bosSignedOn();
    const rooms = ['after hours', 'night shift'];
    const cookies = [Buffer.alloc(256, 1), Buffer.alloc(256, 2)];
    for (const [i, r] of rooms.entries()) bos.send('c', chatJoinRequest(c, 0x00b1 + i, 4, `!aol://2719:10-4-${r.replace(' ', '%20')}`));
    for (const i of [0, 1]) bos.send('s', serviceRedirect(s, 0x00b1 + i, 0x000e, '64.12.28.10:5190', cookies[i]));
    bos.end();
    // the second room's connection first; before both, a sign-on with a cookie of neither redirect
    for (const [port, cookie, text] of [[40009, Buffer.alloc(256, 3), 'to no room of ours'], [40002, cookies[1], 'in the second room'], [40001, cookies[0], 'in the first room']] as const) {
      const ch = new FlowHarness({ engine, client: `10.1.1.10:${port}`, server: '64.12.28.10:5190' });
      const cc = new Flaps(port), cs = new Flaps(port + 1);
      for (const [d, b] of bosOpening(cc, cs, { cookie })) ch.send(d, b);
      ch.send('c', chatSend(cc, { cookie: ck(port % 256), text: Buffer.from(text), encoding: 'us-ascii', reflect: false })).end();
    }
    const m = events.filter((e) => e.type === 'message').map((e) => [e.from, e.to, e.text]);
    assert.deepEqual(m, [['(unknown)', '(unknown room)', 'to no room of ours'], [ME, 'night shift', 'in the second room'], [ME, 'after hours', 'in the first room']]);
  });

  it('a redirect is for the host that asked: a connection from another host to the same chat server gets neither our name nor our room', () => {
    const { events, engine, bos, c, s } = bosSignedOn();
    bos.send('c', chatJoinRequest(c, 0x00a1, 4, '!aol://2719:10-4-after%20hours'));
    bos.send('s', serviceRedirect(s, 0x00a1, 0x000e, '64.12.28.10:5190', Buffer.alloc(64, 9)));
    // a colleague's machine joins some other room on the same chat server a moment later
    const other = new FlowHarness({ engine, client: '10.1.1.77:50000', server: '64.12.28.10:5190' });
    const oc = new Flaps(0x0700), os = new Flaps(0x0800);
    for (const [d, b] of bosOpening(oc, os)) other.send(d, b);
    other.send('c', chatSend(oc, { cookie: ck(40), text: Buffer.from('not from CorpAnalyst9'), reflect: false }));
    other.end();
    bos.end();
    const m = events.filter((e) => e.type === 'message').map((e) => [e.from, e.to, e.text]);
    assert.deepEqual(m, [['(unknown)', '(unknown room)', 'not from CorpAnalyst9']]);
  });

  it('is found mid-connection on 443 (no SYN seen, the capture starts inside a SNAC)', () => {
    const h = chatConn((c, s) => {
      const lost = chatIncoming(s, { cookie: ck(10), sender: 'alice', text: Buffer.from('we see only the tail of this') });
      return [
        ['s', Buffer.concat([lost.subarray(30), chatIncoming(s, { cookie: ck(11), sender: 'alice', text: Buffer.from('first whole one') }), chatIncoming(s, { cookie: ck(12), sender: 'bob', text: Buffer.from('second whole one') })])],
        ['c', chatSend(c, { cookie: ck(13), text: Buffer.from('mine'), reflect: false })],
      ];
    }, { opening: false, clientBy: 'first', server: '64.12.28.10:443' });
    assert.equal(h.of('session')[0]?.protocol, 'aim');
    assert.deepEqual(h.of('message').map((m) => [m.from, m.text]).sort(), [['(unknown)', 'mine'], ['alice', 'first whole one'], ['bob', 'second whole one']]);
  });

  it('hostile SNACs are counted malformed and cost bounded work: lying lengths, TLV floods, huge user lists', () => {
    const many = Buffer.concat(Array.from({ length: 5000 }, (_, i) => userInfo(`u${i}`, [])));
    const flood = Buffer.concat(Array.from({ length: 8000 }, () => tlv(0x00ff, Buffer.alloc(0))));
    const t0 = process.hrtime.bigint();
    const h = chatConn((c, s) => [
      ['s', s.snac(0x0e, 2, Buffer.from([0, 4, 200, 0x21]))], // cookie length past the end
      ['s', s.snac(0x0e, 3, Buffer.concat([userInfo('alice'), bname('liar'), u16(0), u16(9), tlv(1, u16(1))]))],
      ['s', s.snac(0x0e, 3, many.subarray(0, 60000))],
      ['s', s.snac(0x0e, 6, Buffer.concat([ck(20), u16(3), tlv(3, Buffer.concat([bname('x'), u16(0), u16(40)]))]))], // user info TLV count lies
      ['s', s.snac(0x0e, 6, Buffer.concat([ck(21), u16(3), tlv(3, userInfo('alice')), u16(5), u16(0xffff), Buffer.from('short')]))],
      ['c', c.snac(0x0e, 5, Buffer.concat([ck(22), u16(3), flood.subarray(0, 60000)]))],
      ['c', c.snac(0x0e, 5, Buffer.concat([ck(23), u16(3), tlv(5, Buffer.concat([tlv(5, tlv(5, tlv(1, 'nested'))), flood.subarray(0, 50000)]))]))],
      ['s', chatIncoming(s, { cookie: ck(24), sender: 'alice', text: Buffer.from('still reading') })],
    ]);
    assert.ok(Number(process.hrtime.bigint() - t0) / 1e6 < 3000);
    assert.deepEqual(h.of('message').map((m) => [m.from, m.text]), [['alice', 'still reading']]);
    const sess = h.of('session')[0];
    assert.ok((sess.malformed ?? 0) >= 3, `malformed ${sess.malformed}`);
    assert.ok(sess.users.length <= 64);
    assert.equal(h.engine.stats.decoderErrors, 0);
  });
});

describe('oscar chat rooms: memory', () => {
  it('our messages held for their reflection while our name is unknown keep a bounded number of characters: 8 flows x 32 long messages hold well under 2 MB', function () {
    this.timeout(120_000);
    // before: up to 32 texts of 16 K characters a flow, each keeping its whole decoded message alive
    const script = `
      const { FlowHarness } = require('./test/helpers/harness');
      const { Engine } = require('./signatures/engine');
      const { loadRegistry } = require('./signatures/registry');
      const { Flaps, bosOpening, chatSend } = require('./test/signatures/oscar-wire');
      // events are dropped as they come: what is measured is what the decoder holds
      const engine = new Engine(loadRegistry(), { emit: () => {} });
      const held = () => { gc(); gc(); const m = process.memoryUsage(); return m.heapUsed + m.arrayBuffers; };
      const flows = [];
      for (let f = 0; f < 8; f++) {
        const h = new FlowHarness({ engine, server: '64.12.28.10:5190', client: '10.1.1.' + (10 + f) + ':40000' });
        const c = new Flaps(0x0300), s = new Flaps(0x7000);
        for (const [d, b] of bosOpening(c, s)) h.send(d, b);
        flows.push([h, c]);
      }
      const before = held();
      for (const [h, c] of flows) for (let i = 0; i < 32; i++) {
        const cookie = Buffer.alloc(8); cookie.writeUInt32BE(i, 4);
        h.send('c', chatSend(c, { cookie, text: Buffer.from('<HTML>' + 'x'.repeat(20000 - i) + '</HTML>') }));
      }
      console.log(JSON.stringify({ held: held() - before, kept: flows.length }));
    `;
    const r = spawnSync(process.execPath, ['--expose-gc', '--max-old-space-size=512', '-r', 'tsx/cjs', '-e', script], { cwd: path.join(__dirname, '../..'), encoding: 'utf8', timeout: 100_000, killSignal: 'SIGKILL' });
    assert.equal(r.status, 0, r.stderr.slice(-2000));
    const out = JSON.parse(r.stdout);
    assert.ok(out.held < 2_000_000, `${out.held} bytes held by 256 messages waiting for their reflection`);
  });

  it('a message whose reflection never comes is still reported when later ones push it out, the same cookie twice included', () => {
    const h = chatConn((c) => [
      ['c', chatSend(c, { cookie: ck(50), text: Buffer.from('one') })],
      ['c', chatSend(c, { cookie: ck(50), text: Buffer.from('two, same cookie') })],
      ['c', chatSend(c, { cookie: ck(51), text: Buffer.from('x'.repeat(16000)) })],
      ['c', chatSend(c, { cookie: ck(52), text: Buffer.from('y'.repeat(16000)) })],
    ]);
    assert.deepEqual(h.of('message').map((m) => [m.from, m.text.slice(0, 16)]).sort(), [['(unknown)', 'one'], ['(unknown)', 'two, same cookie'], ['(unknown)', 'x'.repeat(16)], ['(unknown)', 'y'.repeat(16)]]);
  });
});

// XMPP over BOSH (XEP-0124/0206) and over WebSocket (RFC 7395), cleartext: detection and its
// negatives, decoding through the plain XMPP decoder (messages, users, credentials without the
// secret, file offers), HTTP framing (Content-Length, chunked, keep-alive, pipelining, CORS
// preflight), WebSocket framing (masking, fragments, control frames, close, binary and compressed
// messages counted), hostile input, and generated captures through the CLI cross-checked with tshark.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { FlowHarness } from '../helpers/harness';
import { Capture } from '../helpers/pcapgen';
import { shadowim } from '../helpers/run';
import { boundedIt } from '../helpers/bounded';
import { fuzzCases, fuzzSeconds, fuzzSeed } from '../helpers/fuzz';
import { REPO } from '../helpers/paths';
import { haveTshark } from './irc-replay';
import { HttpSide } from '../../signatures/http/stream';
import zlib from 'node:zlib';
import { WsReader } from '../../signatures/xmpp/websocket';
import { InflateBudget, PmdInflater } from '../../signatures/xmpp/inflate';
import { boshPost, boshReply, boshWrap, clientFrame, preflight, preflightReply, sasl, wsAccept, wsFrame, wsUpgrade, PmdDeflater, WS_LIB_EXPECTED, WS_LIB_NO_CONTEXT, WS_LIB_SECRET, WS_LIB_TAKEOVER, type BodyOpts } from './xmpp-web-wire';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-xmpp-web-'));
const SECRET = 'B0sh-S3cret-pw';
const SID = 'a7c3f1e2b9d04c58';
const CLIENT = 'jabber:client';

/** a whole BOSH session: [side, bytes] in wire order; `chunk` makes every other body chunked, `encode` compresses body i */
function boshSession(chunk = 0, encode?: (i: number) => BodyOpts['encode']): ['c' | 's', Buffer][] {
  let rid = 1573741820;
  const w = (inner = '', extra = '') => boshWrap(`rid='${rid++}' sid='${SID}'${extra}`, inner);
  const o = (i: number): BodyOpts => ({ ...(chunk && i % 2 ? { chunk } : {}), ...(encode?.(i) ? { encode: encode(i) } : {}) });
  return [
    ['c', boshPost(boshWrap(`content='text/xml; charset=utf-8' hold='1' rid='${rid++}' to='example.org' ver='1.6' wait='60' xml:lang='en' xmpp:version='1.0' xmlns:xmpp='urn:xmpp:xbosh'`), o(0))],
    ['s', boshReply(boshWrap(`sid='${SID}' wait='60' requests='2' inactivity='30' polling='5' hold='1' from='example.org' ver='1.6' xmpp:version='1.0' xmlns:xmpp='urn:xmpp:xbosh' xmlns:stream='http://etherx.jabber.org/streams'`, "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism><mechanism>SCRAM-SHA-1</mechanism></mechanisms></stream:features>"), o(1))],
    ['c', boshPost(w(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${sasl('juliet', SECRET)}</auth>`), o(2))],
    ['s', boshReply(boshWrap('', "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"), o(3))],
    ['c', boshPost(w('', ` to='example.org' xml:lang='en' xmpp:restart='true' xmlns:xmpp='urn:xmpp:xbosh'`), o(4))],
    ['s', boshReply(boshWrap('', "<stream:features xmlns:stream='http://etherx.jabber.org/streams'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>"), o(5))],
    ['c', boshPost(w(`<iq id='bind_1' type='set' xmlns='${CLIENT}'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>converse.js-1</resource></bind></iq>`), o(6))],
    ['s', boshReply(boshWrap('', `<iq id='bind_1' type='result' xmlns='${CLIENT}'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>juliet@example.org/converse.js-1</jid></bind></iq>`), o(7))],
    ['c', boshPost(w(`<message to='romeo@example.net' type='chat' id='m1' xmlns='${CLIENT}'><body>Wherefore art thou, Romeo? &amp; café</body><active xmlns='http://jabber.org/protocol/chatstates'/></message>`), o(8))],
    ['s', boshReply(boshWrap('', `<message from='romeo@example.net/orchard' to='juliet@example.org/converse.js-1' type='chat' xmlns='${CLIENT}'><body>By a name I know not how to tell thee</body></message><presence from='romeo@example.net/orchard' to='juliet@example.org/converse.js-1' xmlns='${CLIENT}'/>`), o(9))],
    ['c', boshPost(w(`<presence type='unavailable' xmlns='${CLIENT}'/>`, ` type='terminate'`), o(10))],
    ['s', boshReply(boshWrap(`type='terminate'`), o(11))],
  ];
}

function run(parts: ['c' | 's', Buffer | string][], server = '198.51.100.7:5280'): FlowHarness {
  const h = new FlowHarness({ server });
  for (const [d, p] of parts) h.send(d, p);
  h.end();
  return h;
}

const xmppSessions = (h: FlowHarness) => h.of('session').filter((s) => s.protocol === 'xmpp');
const EXPECTED_BOSH = [
  ['juliet@example.org/converse.js-1', 'romeo@example.net', 'Wherefore art thou, Romeo? & café', 'chat', 'outbound'],
  ['romeo@example.net/orchard', 'juliet@example.org/converse.js-1', 'By a name I know not how to tell thee', 'chat', 'inbound'],
];

function assertBosh(h: FlowHarness): void {
  const s = xmppSessions(h);
  assert.equal(s.length, 1, JSON.stringify(h.of('session')));
  assert.equal(s[0].server_name, 'example.org');
  assert.ok(s[0].evidence.some((e) => e.signature === 'xmpp.bosh'));
  assert.deepEqual(h.of('message').map((m) => [m.from, m.to, m.text, m.kind, m.direction]), EXPECTED_BOSH);
  assert.deepEqual(h.of('credential').map((c) => [c.user, c.mechanism]), [['juliet@example.org', 'sasl-plain']]);
  for (const u of ['juliet@example.org/converse.js-1', 'juliet@example.org', 'romeo@example.net/orchard']) assert.ok(s[0].users.includes(u), u);
  const all = JSON.stringify(h.events);
  assert.ok(!all.includes(SECRET) && !all.includes(sasl('juliet', SECRET)), 'the secret never appears');
  assert.equal(s[0].malformed ?? 0, 0);
}

describe('xmpp over BOSH: detection and decoding', () => {
  it('a whole session, Content-Length bodies, one request per round trip', () => assertBosh(run(boshSession())));

  it('chunked bodies (every other message), bytes fed one at a time after the first exchange', () => {
    const h = new FlowHarness({ server: '198.51.100.7:80' });
    // (detection sees at most 12 segments: the first request comes whole, as it does on the wire)
    boshSession(7).forEach(([d, p], i) => {
      if (i < 1) h.send(d, p);
      else for (const b of p) h.send(d, Buffer.from([b]));
    });
    h.end();
    assertBosh(h);
  });

  it('keep-alive with pipelining: two requests in one segment, their two responses in one', () => {
    const s = boshSession(13);
    const two = (a: number, b: number) => Buffer.concat([s[a][1], s[b][1]]);
    assertBosh(run([...s.slice(0, 8), ['c', two(8, 10)], ['s', two(9, 11)]]));
  });

  it('a CORS preflight (OPTIONS) first, on any path, with an XML declaration and application/xml', () => {
    const s = boshSession();
    const first = boshPost("<?xml version='1.0' encoding='utf-8'?>\n" + boshWrap("rid='1' to='example.org' ver='1.6' wait='60' hold='1'"), { contentType: 'application/xml' }, '/chat/bind');
    const h = run([['c', preflight('/chat/bind')], ['s', preflightReply()], ['c', first], ...s.slice(1)]);
    assert.equal(xmppSessions(h).length, 1);
    assert.equal(h.of('message').length, 2);
  });

  it('an HTTP request head and its body in separate segments (the body decides)', () => {
    const req = boshSession()[0][1];
    const at = req.indexOf('\r\n\r\n') + 4;
    const h = run([['c', req.subarray(0, at)], ['c', req.subarray(at)], ...boshSession().slice(1)]);
    assert.equal(xmppSessions(h).length, 1);
  });

  it('an SI file offer inside a BOSH body is a file_transfer offer', () => {
    const offer = `<iq type='set' id='si1' to='romeo@example.net/orchard' xmlns='${CLIENT}'><si xmlns='http://jabber.org/protocol/si' id='s5' profile='http://jabber.org/protocol/si/profile/file-transfer'><file xmlns='http://jabber.org/protocol/si/profile/file-transfer' name='plans.pdf' size='1234'/></si></iq>`;
    const s = boshSession();
    const h = run([...s.slice(0, 8), ['c', boshPost(boshWrap("rid='9' sid='x'", offer))], ['s', boshReply(boshWrap(''))]]);
    assert.deepEqual(h.of('file_transfer').map((f) => [f.filename, f.size, f.stage, f.to]), [['plans.pdf', 1234, 'offer', 'romeo@example.net/orchard']]);
  });

  for (const [name, parts] of [
    ['a SOAP POST (XML, not BOSH)', [['c', boshPost('<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><message to="a@b.c"><body>hi</body></message></soap:Body></soap:Envelope>', {}, '/http-bind')], ['s', boshReply('<ok/>')]]],
    ['XML that mentions the httpbind namespace deeper inside', [['c', boshPost(`<config><body xmlns='http://jabber.org/protocol/httpbind' rid='1'><message to='a@b.c'><body>x</body></message></body></config>`)], ['s', boshReply('<ok/>')]]],
    ['a JSON POST to /http-bind (the path alone is nothing)', [['c', boshPost('{"body":"http://jabber.org/protocol/httpbind"}', { contentType: 'application/json' })], ['s', boshReply('{}', { contentType: 'application/json' })]]],
    ['an XML body without the BOSH wrapper sent as text/plain', [['c', boshPost("<body rid='1' to='example.org'/>", { contentType: 'text/plain' })], ['s', boshReply('<ok/>')]]],
    ['a <body> without the httpbind namespace', [['c', boshPost("<body rid='1' to='example.org'><message to='a@b.c' type='chat'><body>x</body></message></body>")], ['s', boshReply('<body/>')]]],
    ['a GET of /http-bind (the page a BOSH server shows to browsers)', [['c', 'GET /http-bind HTTP/1.1\r\nHost: xmpp.example.org\r\n\r\n'], ['s', 'HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 36\r\n\r\n<html><body>BOSH here</body></html>\n']]],
  ] as [string, ['c' | 's', Buffer | string][]][]) {
    it(`not XMPP: ${name}`, () => {
      const h = run(parts, '198.51.100.7:80');
      assert.equal(xmppSessions(h).length, 0, JSON.stringify(h.of('session')));
      assert.equal(h.of('message').length, 0);
    });
  }
});

const WS_MSG = `<message to='romeo@example.net' type='chat' id='w1' xmlns='${CLIENT}'><body>Good night, good night! Parting is such sweet sorrow</body></message>`;

/** a whole RFC 7395 session; the message from the client is cut into three fragments with a ping between */
function wsSession(): ['c' | 's', Buffer][] {
  const frag = Buffer.from(WS_MSG);
  return [
    ['c', wsUpgrade()],
    ['s', wsAccept()],
    ['c', clientFrame("<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='example.org' version='1.0'/>")],
    ['s', wsFrame("<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' from='example.org' id='++TR84Sm6A3hnt3Q065SnAbbk3Y=' version='1.0' xml:lang='en'/>")],
    ['s', wsFrame("<stream:features xmlns:stream='http://etherx.jabber.org/streams'><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms></stream:features>")],
    ['c', clientFrame(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${sasl('juliet', SECRET)}</auth>`)],
    ['s', wsFrame("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>")],
    ['c', clientFrame("<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='example.org' version='1.0'/>")],
    ['s', wsFrame("<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' from='example.org' id='2' version='1.0'/>")],
    ['c', clientFrame(`<iq type='set' id='b1' xmlns='${CLIENT}'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>`)],
    ['s', wsFrame(`<iq type='result' id='b1' xmlns='${CLIENT}'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>juliet@example.org/web</jid></bind></iq>`)],
    ['c', clientFrame(frag.subarray(0, 40), { fin: false })],
    ['c', clientFrame('ping!', { opcode: 9 })],
    ['c', clientFrame(frag.subarray(40, 100), { fin: false, opcode: 0 })],
    ['s', wsFrame('ping!', { opcode: 10 })],
    ['c', clientFrame(frag.subarray(100), { opcode: 0 })],
    ['s', wsFrame(`<message from='romeo@example.net/orchard' to='juliet@example.org/web' type='chat' xmlns='${CLIENT}'><body>Sleep dwell upon thine eyes ✓</body></message>`)],
    ['s', wsFrame(Buffer.from([0, 1, 2, 3]), { opcode: 2 })],
    ['c', clientFrame("<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>")],
    ['s', wsFrame("<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>")],
    ['c', clientFrame(Buffer.from([0x03, 0xe8]), { opcode: 8 })],
    ['s', wsFrame(Buffer.from([0x03, 0xe8]), { opcode: 8 })],
  ];
}

const EXPECTED_WS = [
  ['juliet@example.org/web', 'romeo@example.net', 'Good night, good night! Parting is such sweet sorrow', 'chat', 'outbound'],
  ['romeo@example.net/orchard', 'juliet@example.org/web', 'Sleep dwell upon thine eyes ✓', 'chat', 'inbound'],
];

describe('xmpp over WebSocket: detection and decoding', () => {
  it('a whole RFC 7395 session: masked client frames, a fragmented message with a ping inside, pong, binary, close', () => {
    const h = run(wsSession(), '198.51.100.7:443');
    const s = xmppSessions(h);
    assert.equal(s.length, 1);
    assert.equal(s[0].server_name, 'example.org');
    assert.ok(s[0].evidence.some((e) => e.signature === 'xmpp.websocket'));
    assert.ok(s[0].evidence.some((e) => e.signature === 'xmpp.websocket-binary' && e.reason.startsWith('1 ')), JSON.stringify(s[0].evidence));
    assert.deepEqual(h.of('message').map((m) => [m.from, m.to, m.text, m.kind, m.direction]), EXPECTED_WS);
    assert.deepEqual(h.of('credential').map((c) => [c.user, c.mechanism]), [['juliet@example.org', 'sasl-plain']]);
    assert.ok(s[0].users.includes('juliet@example.org/web'));
    assert.ok(!JSON.stringify(h.events).includes(SECRET));
    assert.equal(s[0].malformed ?? 0, 0);
  });

  it('frames split byte by byte, and all frames of a side in one segment', () => {
    const h = new FlowHarness({ server: '198.51.100.7:5280' });
    wsSession().forEach(([d, p], i) => {
      if (i < 2) h.send(d, p);
      else for (const b of p) h.send(d, Buffer.from([b]));
    });
    h.end();
    assert.deepEqual(h.of('message').map((m) => m.text), EXPECTED_WS.map((e) => e[2]));
    const s = wsSession();
    const h2 = run([s[0], s[1], ['c', Buffer.concat(s.slice(2).filter((x) => x[0] === 'c').map((x) => x[1]))], ['s', Buffer.concat(s.slice(2).filter((x) => x[0] === 's').map((x) => x[1]))]]);
    assert.deepEqual(h2.of('message').map((m) => m.text), EXPECTED_WS.map((e) => e[2]));
  });

  it('RSV1 without permessage-deflate accepted: the message is still inflated (RFC 7692 defaults), garbage is counted', () => {
    const h = run([
      ['c', wsUpgrade('xmpp', '/ws', 'permessage-deflate; client_max_window_bits')], ['s', wsAccept('xmpp')],
      ['c', clientFrame("<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='example.org' version='1.0'/>")],
      // RFC 7692 §7.2.3.1's "Hello", then a message whose two fragments are not DEFLATE
      ['c', clientFrame(Buffer.from([0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]), { rsv: 4 })],
      ['c', clientFrame(Buffer.from([0xff, 0xff]), { rsv: 4, fin: false })],
      ['c', clientFrame(Buffer.from([0xff, 0xff]), { opcode: 0 })],
      ['c', clientFrame(WS_MSG)],
    ]);
    const s = xmppSessions(h)[0];
    assert.ok(!s.evidence.some((e) => e.signature === 'xmpp.websocket-deflate'));
    assert.ok(s.evidence.some((e) => e.signature === 'xmpp.websocket-inflated' && e.reason.startsWith('1 ')), JSON.stringify(s.evidence));
    assert.ok(s.evidence.some((e) => e.signature === 'xmpp.websocket-compressed' && e.reason.startsWith('1 ') && e.reason.includes('1 corrupt')), JSON.stringify(s.evidence));
    assert.deepEqual(h.of('message').map((m) => m.text), [EXPECTED_WS[0][2]]);
  });

  for (const [name, parts] of [
    ['an ordinary WebSocket upgrade (graphql-ws)', [['c', wsUpgrade('graphql-ws', '/graphql')], ['s', wsAccept('graphql-ws')], ['c', clientFrame('{"type":"connection_init"}')], ['s', wsFrame('{"type":"connection_ack"}')], ['c', clientFrame(WS_MSG)]]],
    ['a WebSocket that asked for xmpp but the server chose another protocol', [['c', wsUpgrade('xmpp, mqtt')], ['s', wsAccept('mqtt')], ['c', clientFrame(WS_MSG)]]],
    ['a WebSocket that asked for xmpp and was refused', [['c', wsUpgrade('xmpp')], ['s', 'HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n']]],
    ['a WebSocket upgrade without any subprotocol', [['c', wsUpgrade('chat').toString().replace('Sec-WebSocket-Protocol: chat\r\n', '')], ['s', wsAccept(null)], ['c', clientFrame(WS_MSG)]]],
  ] as [string, ['c' | 's', Buffer | string][]][]) {
    it(`not XMPP: ${name}`, () => {
      const h = run(parts, '198.51.100.7:80');
      assert.equal(xmppSessions(h).length, 0, JSON.stringify(h.of('session')));
      assert.equal(h.of('message').length, 0);
    });
  }
});

// ---- compressed: permessage-deflate (RFC 7692) and gzip/deflate BOSH bodies --------------------------

const FRAMING = 'urn:ietf:params:xml:ns:xmpp-framing';
const OPEN_C = `<open xmlns='${FRAMING}' to='example.org' version='1.0'/>`;
const OPEN_S = `<open xmlns='${FRAMING}' from='example.org' id='z1' version='1.0' xml:lang='en'/>`;
const CLOSE = `<close xmlns='${FRAMING}'/>`;
const chatTo = (body: string, id: string) => `<message to='romeo@example.net' type='chat' id='${id}' xmlns='${CLIENT}'><body>${body}</body></message>`;
const chatFrom = (body: string) => `<message from='romeo@example.net/orchard' to='juliet@example.org/web' type='chat' xmlns='${CLIENT}'><body>${body}</body></message>`;

/** seeded text of about `n` characters from a small vocabulary (compressible, as chat is) */
function prose(n: number, seed: number): string {
  const vocab = 'thou thee art wherefore rose name sweet sorrow night moon swear love heart fair light window east sun envious maid eyes speak yet nothing cheek hand glove touch'.split(' ');
  const out: string[] = [];
  let len = 0;
  while (len < n) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const w = vocab[seed % vocab.length] + (seed % 7 === 0 ? ` ${seed % 1000}` : '');
    out.push(w);
    len += w.length + 1;
  }
  return out.join(' ');
}

/** 36 KB of prose: more than a 32 KiB window, so the message after it refers back across it */
const BIG = prose(36000, 41);
/** 600 characters taken from 31 KB before BIG's end: the compressor refers back 31 KB for them */
const SPAN = BIG.slice(BIG.length - 31000, BIG.length - 30400);

type Step = ['c' | 's', string, { plain?: boolean; frags?: number }?];

/**
 * The frames of `steps` after the upgrade, each message compressed by its direction's deflater (RSV1)
 * unless `plain`; `frags` sends the compressed payload in that many frames (RSV1 on the first only,
 * RFC 7692 §6.1) with a ping after the first. Also the compressed payload of each step.
 */
async function deflated(steps: Step[], c: PmdDeflater, s: PmdDeflater): Promise<{ frames: ['c' | 's', Buffer][]; payloads: Buffer[] }> {
  const frames: ['c' | 's', Buffer][] = [];
  const payloads: Buffer[] = [];
  for (const [d, text, o = {}] of steps) {
    const frame = d === 'c' ? clientFrame : wsFrame;
    if (o.plain) {
      frames.push([d, frame(text)]);
      payloads.push(Buffer.from(text));
      continue;
    }
    const z = await (d === 'c' ? c : s).compress(text);
    payloads.push(z);
    const n = o.frags ?? 1;
    const size = Math.ceil(z.length / n);
    for (let i = 0; i < n; i++) {
      frames.push([d, frame(z.subarray(i * size, (i + 1) * size), { rsv: i === 0 ? 4 : 0, opcode: i === 0 ? 1 : 0, fin: i === n - 1 })]);
      if (i === 0 && n > 1) frames.push([d, frame('ping!', { opcode: 9 })]);
    }
  }
  return { frames, payloads };
}

const LOGIN: Step[] = [
  ['c', OPEN_C],
  ['s', OPEN_S],
  ['s', "<stream:features xmlns:stream='http://etherx.jabber.org/streams'><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms></stream:features>"],
  ['c', `<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${sasl('juliet', SECRET)}</auth>`],
  ['s', "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"],
  ['c', OPEN_C],
  ['s', OPEN_S],
  ['c', `<iq type='set' id='b1' xmlns='${CLIENT}'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>`],
  ['s', `<iq type='result' id='b1' xmlns='${CLIENT}'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>juliet@example.org/web</jid></bind></iq>`],
];

/** messages each way, a fragmented compressed one, an uncompressed one among them, BIG and SPAN */
const CHAT: Step[] = [
  ['c', WS_MSG, { frags: 3 }],
  ['s', chatFrom('Sleep dwell upon thine eyes ✓')],
  ['c', chatTo('sent without compression, between compressed ones', 'p1'), { plain: true }],
  ['s', chatFrom(BIG)],
  ['s', chatFrom(SPAN)],
  ['c', chatTo('Good night, good night! Parting is such sweet sorrow, that I shall say good night till it be morrow', 'w2')],
  ['c', CLOSE],
  ['s', CLOSE],
];
const CHAT_EXPECTED = [
  ['juliet@example.org/web', 'romeo@example.net', EXPECTED_WS[0][2], 'outbound'],
  ['romeo@example.net/orchard', 'juliet@example.org/web', 'Sleep dwell upon thine eyes ✓', 'inbound'],
  ['juliet@example.org/web', 'romeo@example.net', 'sent without compression, between compressed ones', 'outbound'],
  ['romeo@example.net/orchard', 'juliet@example.org/web', BIG, 'inbound'],
  ['romeo@example.net/orchard', 'juliet@example.org/web', SPAN, 'inbound'],
  ['juliet@example.org/web', 'romeo@example.net', 'Good night, good night! Parting is such sweet sorrow, that I shall say good night till it be morrow', 'outbound'],
];
const msgRows = (h: FlowHarness) => h.of('message').map((m) => [m.from, m.to, m.text, m.direction]);
const evidence = (h: FlowHarness, sig: string) => xmppSessions(h)[0]?.evidence.find((e) => e.signature === sig)?.reason;
const INFLATE_SYNC = { finishFlush: zlib.constants.Z_SYNC_FLUSH };

/** a permessage-deflate session: the handshake with `offer`/`accept`, then `steps` compressed by the two deflaters */
async function pmdSession(accept: string, steps: Step[], c: PmdDeflater, s: PmdDeflater) {
  const { frames, payloads } = await deflated(steps, c, s);
  const parts: ['c' | 's', Buffer][] = [['c', wsUpgrade('xmpp', '/xmpp-websocket', 'permessage-deflate; client_max_window_bits')], ['s', wsAccept('xmpp', accept)], ...frames];
  return { parts, payloads };
}

describe('xmpp over WebSocket and BOSH, compressed: permessage-deflate and gzip/deflate bodies are inflated', () => {
  it('the examples of RFC 7692 §7.2.3: one frame, fragments, a shared window, stored, BFINAL and two blocks all give "Hello"', () => {
    const examples: [string, number[][], string[]][] = [
      ['7.2.3.1 one frame', [[0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]], ['Hello']],
      ['7.2.3.1 two fragments', [[0x41, 0x03, 0xf2, 0x48, 0xcd], [0x80, 0x04, 0xc9, 0xc9, 0x07, 0x00]], ['Hello']],
      ['7.2.3.2 sharing the window', [[0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00], [0xc1, 0x05, 0xf2, 0x00, 0x11, 0x00, 0x00]], ['Hello', 'Hello']],
      ['7.2.3.3 no compression', [[0xc1, 0x0b, 0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00]], ['Hello']],
      ['7.2.3.4 BFINAL set', [[0xc1, 0x08, 0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00]], ['Hello']],
      ['7.2.3.5 two blocks', [[0xc1, 0x0d, 0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00]], ['Hello']],
    ];
    const read = (frames: number[][], takeover = true) => {
      const got: string[] = [];
      let cur = '';
      const ws = new WsReader({ text: (b) => (cur += b.toString()), messageEnd: () => { got.push(cur); cur = ''; }, messageAbort: () => undefined, malformed: () => undefined });
      ws.deflate = new PmdInflater(new InflateBudget(1 << 20, 1 << 28), 1 << 20);
      ws.deflate.configure({ takeover, bits: 15 });
      for (const f of frames) ws.push(Buffer.from(f));
      return { got, counts: ws.deflate.counts };
    };
    for (const [name, frames, want] of examples) assert.deepEqual(read(frames).got, want, name);
    // the second message of 7.2.3.2 refers back into the first: without context takeover it cannot be read
    const alone = read(examples[2][1], false);
    assert.deepEqual(alone.got, ['Hello']);
    assert.equal(alone.counts.corrupt, 1);
  });

  it('empty messages (RFC 7692 §7.2.3.6: 0x00, or no payload) are read without an inflate call and keep the window', () => {
    // an inflate call costs 4-10 µs however small the message: two-byte frames were 4 µs of CPU per byte
    const got: string[] = [];
    let cur = '';
    const ws = new WsReader({ text: (b) => (cur += b.toString()), messageEnd: () => { got.push(cur); cur = ''; }, messageAbort: () => undefined, malformed: () => undefined });
    ws.deflate = new PmdInflater(new InflateBudget(1 << 20, 1 << 28), 1 << 20);
    const real = zlib.inflateRawSync;
    let calls = 0;
    zlib.inflateRawSync = ((b: Buffer, o: zlib.ZlibOptions) => (calls++, real(b, o))) as typeof zlib.inflateRawSync;
    try {
      ws.push(Buffer.from([0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00])); // "Hello"
      for (let i = 0; i < 1000; i++) ws.push(Buffer.from(i % 2 ? [0xc1, 0x01, 0x00] : [0xc1, 0x00]));
      ws.push(Buffer.from([0xc1, 0x05, 0xf2, 0x00, 0x11, 0x00, 0x00])); // "Hello" again, from the window
    } finally {
      zlib.inflateRawSync = real;
    }
    assert.deepEqual([got[0], got[1000], got[1001]], ['Hello', '', 'Hello']);
    assert.equal(got.length, 1002);
    assert.equal(ws.deflate.counts.decoded, 1002);
    assert.equal(calls, 2);
  });

  it("permessage-deflate with context takeover (Node's deflateRaw, one stream per direction, Z_SYNC_FLUSH): messages each way, fragmented, spanning the window", async () => {
    const { parts, payloads } = await pmdSession('permessage-deflate', [...LOGIN, ...CHAT], new PmdDeflater(), new PmdDeflater());
    // the session does use the window: SPAN's message refers back 31 KB, into BIG's
    const spanAt = LOGIN.length + 4;
    assert.throws(() => zlib.inflateRawSync(Buffer.concat([payloads[spanAt], Buffer.from([0, 0, 0xff, 0xff])]), INFLATE_SYNC), /distance too far back/);
    assert.ok(payloads[spanAt].length < 200, `SPAN compressed to ${payloads[spanAt].length} bytes`);
    for (const split of [0, 1]) {
      const h = new FlowHarness({ server: '198.51.100.7:80' });
      for (const [i, [d, p]] of parts.entries()) {
        if (!split || i < 2) h.send(d, p);
        else for (let o = 0; o < p.length; o += 7) h.send(d, p.subarray(o, o + 7));
      }
      h.end();
      assert.deepEqual(msgRows(h), CHAT_EXPECTED);
      assert.deepEqual(h.of('credential').map((c) => [c.user, c.mechanism]), [['juliet@example.org', 'sasl-plain']]);
      assert.ok(!JSON.stringify(h.events).includes(SECRET));
      const compressed = LOGIN.length + CHAT.length - 1;
      assert.equal(evidence(h, 'xmpp.websocket-inflated'), `${compressed} permessage-deflate compressed WebSocket message(s) decoded`);
      assert.match(evidence(h, 'xmpp.websocket-deflate') ?? '', /client: context takeover, 15-bit window; server: context takeover, 15-bit window/);
      assert.equal(evidence(h, 'xmpp.websocket-compressed'), undefined);
      assert.equal(xmppSessions(h)[0].malformed ?? 0, 0);
    }
  });

  it('permessage-deflate with smaller windows (server_max_window_bits=9, client_max_window_bits=10), context takeover', async () => {
    const { parts } = await pmdSession('permessage-deflate; server_max_window_bits=9; client_max_window_bits=10', [...LOGIN, ...CHAT], new PmdDeflater({ windowBits: 10 }), new PmdDeflater({ windowBits: 9 }));
    const h = run(parts, '198.51.100.7:80');
    assert.deepEqual(msgRows(h), CHAT_EXPECTED);
    assert.match(evidence(h, 'xmpp.websocket-deflate') ?? '', /client: context takeover, 10-bit window; server: context takeover, 9-bit window/);
  });

  it('permessage-deflate with server_no_context_takeover and client_no_context_takeover', async () => {
    const { parts, payloads } = await pmdSession('permessage-deflate; server_no_context_takeover; client_no_context_takeover', [...LOGIN, ...CHAT], new PmdDeflater({ takeover: false }), new PmdDeflater({ takeover: false }));
    // every message inflates on its own
    for (const [i, [, , o]] of [...LOGIN, ...CHAT].entries()) if (!o?.plain) zlib.inflateRawSync(Buffer.concat([payloads[i], Buffer.from([0, 0, 0xff, 0xff])]), INFLATE_SYNC);
    const h = run(parts, '198.51.100.7:80');
    assert.deepEqual(msgRows(h), CHAT_EXPECTED);
    assert.match(evidence(h, 'xmpp.websocket-deflate') ?? '', /client: no context takeover, 15-bit window; server: no context takeover, 15-bit window/);
    assert.equal(evidence(h, 'xmpp.websocket-compressed'), undefined);
  });

  for (const [name, fixture] of [['context takeover', WS_LIB_TAKEOVER], ['no context takeover, a 10-bit server window', WS_LIB_NO_CONTEXT]] as const) {
    it(`a session recorded between two ws library endpoints, ${name}`, () => {
      const h = run(fixture.map(([d, x]) => [d, Buffer.from(x, 'hex')]), '198.51.100.7:80');
      const s = xmppSessions(h);
      assert.equal(s.length, 1);
      assert.equal(s[0].server_name, 'example.org');
      assert.deepEqual(h.of('message').map((m) => [m.from, m.to, m.text, m.direction]), WS_LIB_EXPECTED);
      assert.deepEqual(h.of('credential').map((c) => [c.user, c.mechanism]), [['juliet@example.org', 'sasl-plain']]);
      assert.ok(!JSON.stringify(h.events).includes(WS_LIB_SECRET));
      assert.equal(evidence(h, 'xmpp.websocket-inflated'), '16 permessage-deflate compressed WebSocket message(s) decoded');
      assert.equal(s[0].malformed ?? 0, 0);
    });
  }

  it('a BOSH session whose bodies are gzip, x-gzip, deflate (zlib) and raw deflate labelled deflate, some chunked', () => {
    const codings = ['gzip', 'x-gzip', 'deflate', 'deflate-raw'] as const;
    const s = boshSession(11, (i) => (i ? codings[i % 4] : undefined));
    const h = run(s);
    assertBosh(h);
    assert.equal(evidence(h, 'xmpp.bosh-inflated'), '11 gzip/deflate content-encoded BOSH bodies decoded');
    assert.equal(evidence(h, 'xmpp.bosh-encoded'), undefined);
    // the same, fed byte by byte after the first exchange
    const h2 = new FlowHarness({ server: '198.51.100.7:5280' });
    s.forEach(([d, p], i) => {
      if (i < 1) h2.send(d, p);
      else for (const b of p) h2.send(d, Buffer.from([b]));
    });
    h2.end();
    assertBosh(h2);
  });
});

describe('xmpp over HTTP, compressed: hostile input is bounded', () => {
  const BOMB_TEXT = 50 << 20;

  it('an inflate bomb (50 MiB from 50 KB) in a permessage-deflate message: refused at 1 MiB, the window is lost, the other direction goes on', async () => {
    const c = new PmdDeflater();
    const s = new PmdDeflater();
    const { frames } = await deflated([...LOGIN, ['c', chatTo('before the bomb', 'a1')]], c, s);
    // spaces, then the start of a stanza that the next message repeats (so that it refers back into the bomb)
    const bomb = await c.compress(Buffer.concat([Buffer.alloc(BOMB_TEXT, 0x20), Buffer.from(chatTo('bomb', 'b0'))]));
    assert.ok(bomb.length < 64 << 10);
    const after = await deflated([['c', chatTo('after the bomb, referring back', 'a2')], ['s', chatFrom('the server still speaks')], ['c', CLOSE]], c, s);
    const parts: ['c' | 's', Buffer][] = [['c', wsUpgrade('xmpp', '/ws', 'permessage-deflate')], ['s', wsAccept('xmpp', 'permessage-deflate')], ...frames, ['c', clientFrame(bomb, { rsv: 4 })], ...after.frames];
    const h = run(parts, '198.51.100.7:80');
    assert.deepEqual(h.of('message').map((m) => m.text), ['before the bomb', 'the server still speaks']);
    assert.match(evidence(h, 'xmpp.websocket-compressed') ?? '', /^3 .*\(2 referring into a lost window, 1 over 1048576 bytes\)/);
    assert.match(evidence(h, 'xmpp.websocket-window-lost') ?? '', /^1 time\(s\).*: 2 later message\(s\)/);
    assert.ok((xmppSessions(h)[0].malformed ?? 0) >= 1);
  });

  it('a compressed message in 900,000 one-byte frames, a gzip BOSH body in 900,000 one-byte chunks: memory about their size, then read', function () {
    this.timeout(120_000);
    // before: one Buffer per frame or chunk was kept (109 MiB held for 7 MB of one-byte frames)
    const script = `
      const zlib = require('node:zlib');
      const { FlowHarness } = require('./test/helpers/harness');
      const w = require('./test/signatures/xmpp-web-wire');
      const N = 900000;
      const held = () => { gc(); gc(); const m = process.memoryUsage(); return m.heapUsed + m.arrayBuffers; };
      const stanza = (text) => "<message to='romeo@example.net' type='chat' xmlns='jabber:client'><body>" + text + '</body></message>';
      const out = {};
      // permessage-deflate, no context takeover: one message, a masked frame per compressed byte
      const msg = zlib.deflateRawSync(Buffer.from(stanza('one byte a frame') + ' '.repeat(1000000)), { level: 0 }); // stored: as long as the text
      const frames = Buffer.alloc(msg.length * 7);
      for (let i = 0; i < msg.length; i++) {
        const o = i * 7;
        frames[o] = (i === msg.length - 1 ? 0x80 : 0) | (i === 0 ? 0x41 : 0);
        frames[o + 1] = 0x81; frames[o + 2] = 1; frames[o + 3] = 2; frames[o + 4] = 3; frames[o + 5] = 4;
        frames[o + 6] = msg[i] ^ [1, 2, 3, 4][0];
      }
      let h = new FlowHarness({ server: '198.51.100.7:80' });
      h.send('c', w.wsUpgrade('xmpp', '/ws', 'permessage-deflate; client_no_context_takeover'));
      h.send('s', w.wsAccept('xmpp', 'permessage-deflate; client_no_context_takeover'));
      h.send('c', w.clientFrame("<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='example.org' version='1.0'/>"));
      let before = held();
      h.send('c', frames.subarray(0, N * 7));
      out.ws = held() - before;
      out.wsInput = N * 7;
      h.send('c', frames.subarray(N * 7));
      out.wsText = h.of('message').map((m) => m.text.slice(0, 16));
      h.end();
      // BOSH: a gzip body, Transfer-Encoding chunked, one byte a chunk
      const body = zlib.gzipSync(Buffer.from("<body rid='1' sid='s' xmlns='http://jabber.org/protocol/httpbind'>" + stanza('one byte a chunk') + '</body>' + ' '.repeat(1000000)), { level: 0 });
      const post = w.boshPost('', { chunk: 1 }, '/http-bind');
      const head = Buffer.from(post.toString('latin1').split('\\r\\n\\r\\n')[0].replace('Content-Type', 'Content-Encoding: gzip\\r\\nContent-Type') + '\\r\\n\\r\\n');
      const chunks = Buffer.alloc(body.length * 6);
      for (let i = 0; i < body.length; i++) chunks.write('1\\r\\n' + String.fromCharCode(body[i]) + '\\r\\n', i * 6, 'latin1');
      h = new FlowHarness({ server: '198.51.100.7:5280' });
      // a plain first exchange (a compressed first request is not told from other HTTP)
      h.send('c', w.boshPost("<body rid='0' to='example.org' ver='1.6' wait='60' hold='1' xmlns='http://jabber.org/protocol/httpbind'/>"));
      h.send('s', w.boshReply("<body sid='s' wait='60' xmlns='http://jabber.org/protocol/httpbind'/>"));
      h.send('c', head);
      before = held();
      h.send('c', chunks.subarray(0, N * 6));
      out.bosh = held() - before;
      out.boshInput = N * 6;
      h.send('c', chunks.subarray(N * 6));
      h.send('c', Buffer.from('0\\r\\n\\r\\n'));
      h.send('s', w.boshReply("<body xmlns='http://jabber.org/protocol/httpbind'/>"));
      out.boshText = h.of('message').map((m) => m.text);
      h.end();
      console.log(JSON.stringify(out));
    `;
    const r = spawnSync(process.execPath, ['--expose-gc', '--max-old-space-size=512', '-r', 'tsx/cjs', '-e', script], { cwd: REPO, encoding: 'utf8', timeout: 100_000, killSignal: 'SIGKILL' });
    assert.equal(r.status, 0, `${r.signal ?? ''} ${r.stderr.slice(-2000)}`);
    const out = JSON.parse(r.stdout);
    assert.deepEqual(out.wsText, ['one byte a frame']);
    assert.deepEqual(out.boshText, ['one byte a chunk']);
    assert.ok(out.ws < 4 << 20, `${out.ws} bytes held for ${out.wsInput} bytes of frames`);
    assert.ok(out.bosh < 4 << 20, `${out.bosh} bytes held for ${out.boshInput} bytes of chunks`);
  });

  it("many small bombs (1,000,000 bytes each, under the message bound): the flow's budget stops them, a later real message is read", async () => {
    const c = new PmdDeflater({ takeover: false });
    const s = new PmdDeflater({ takeover: false });
    const { frames } = await deflated(LOGIN, c, s);
    const one = await c.compress(Buffer.alloc(1_000_000, 0x20));
    const parts: ['c' | 's', Buffer][] = [['c', wsUpgrade('xmpp', '/ws', 'permessage-deflate')], ['s', wsAccept('xmpp', 'permessage-deflate; client_no_context_takeover; server_no_context_takeover')], ...frames];
    for (let i = 0; i < 200; i++) parts.push(['c', clientFrame(one, { rsv: 4 })]);
    parts.push(['c', clientFrame(await c.compress(chatTo('a real message after the bombs', 'r1')), { rsv: 4 })]);
    const h = run(parts, '198.51.100.7:80');
    assert.deepEqual(h.of('message').map((m) => m.text), ['a real message after the bombs']);
    const inflated = Number(/^(\d+) /.exec(evidence(h, 'xmpp.websocket-inflated') ?? '')?.[1]);
    // 1 MiB, and 64 bytes per compressed byte: 200 × ~1 KB of bombs buys about 13 MiB
    const budget = (1 << 20) + 64 * (200 * one.length + 2000);
    assert.ok((inflated - LOGIN.length - 1) * 1_000_000 <= budget, `${inflated} decoded`);
    assert.match(evidence(h, 'xmpp.websocket-compressed') ?? '', /over the flow's inflate budget/);
  });

  it('corrupt DEFLATE data: counted; without context takeover the next message is read, with it the window is lost', async () => {
    // BTYPE 11: a reserved block type
    const garbage = Buffer.concat([Buffer.from([0x06]), Buffer.from('not deflate data')]);
    for (const takeover of [false, true]) {
      const c = new PmdDeflater({ takeover });
      const { frames } = await deflated(LOGIN, c, new PmdDeflater({ takeover }));
      const accept = takeover ? 'permessage-deflate' : 'permessage-deflate; client_no_context_takeover; server_no_context_takeover';
      const h = run([['c', wsUpgrade('xmpp', '/ws', 'permessage-deflate')], ['s', wsAccept('xmpp', accept)], ...frames, ['c', clientFrame(garbage, { rsv: 4 })], ['c', clientFrame(await c.compress(chatTo('after the garbage', 'g1')), { rsv: 4 })]], '198.51.100.7:80');
      assert.deepEqual(h.of('message').map((m) => m.text), takeover ? [] : ['after the garbage'], `takeover ${takeover}`);
      assert.match(evidence(h, 'xmpp.websocket-compressed') ?? '', takeover ? /^2 .*1 corrupt, 1 referring into a lost window/ : /^1 .*\(1 corrupt\)/);
      assert.ok((xmppSessions(h)[0].malformed ?? 0) >= 1);
    }
  });

  it('a gap inside a compressed message: that message and the later ones that refer into the lost window are not decoded (nothing garbled is read)', async () => {
    const c = new PmdDeflater();
    const texts: string[] = [];
    const got: string[] = [];
    let cur: Buffer[] = [];
    const ws = new WsReader({ text: (b) => cur.push(Buffer.from(b)), messageEnd: () => { got.push(Buffer.concat(cur).toString()); cur = []; }, messageAbort: () => { cur = []; }, malformed: () => undefined });
    const budget = new InflateBudget(1 << 20, 256 << 20);
    ws.deflate = new PmdInflater(budget, 1 << 20);
    for (let i = 0; i < 8; i++) texts.push(chatTo(`message ${i}: ${prose(300, i)}`, `g${i}`));
    const z: Buffer[] = [];
    for (const t of texts) z.push(await c.compress(t));
    for (let i = 0; i < 3; i++) ws.push(clientFrame(z[i], { rsv: 4 }));
    const lost = clientFrame(z[3], { rsv: 4 });
    ws.push(lost.subarray(0, 20));
    ws.gap(10);
    ws.push(lost.subarray(30));
    for (let i = 4; i < 8; i++) ws.push(clientFrame(z[i], { rsv: 4 }));
    assert.equal(ws.stopped, false);
    assert.deepEqual(got, texts.slice(0, 3));
    assert.deepEqual({ ...ws.deflate.counts }, { decoded: 3, corrupt: 0, windowLost: 4, oversized: 0, budget: 0, cut: 1, losses: 1 });
    // a sender that resets (a new deflate stream, as after no_context_takeover) is read again
    ws.push(clientFrame(await new PmdDeflater().compress(texts[0]), { rsv: 4 }));
    assert.deepEqual(got, [...texts.slice(0, 3), texts[0]]);
  });

  it('a gzip bomb, a corrupt gzip body and an unknown coding in BOSH responses: counted, the next bodies read', () => {
    const s = boshSession();
    const bomb = zlib.gzipSync(Buffer.alloc(BOMB_TEXT, 0x20));
    const head = (n: number, enc: string) => Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: text/xml; charset=utf-8\r\nContent-Encoding: ${enc}\r\nContent-Length: ${n}\r\n\r\n`);
    const h = run([
      ...s.slice(0, 8),
      ['c', s[8][1]], ['s', Buffer.concat([head(bomb.length, 'gzip'), bomb])],
      ['c', s[8][1]], ['s', Buffer.concat([head(12, 'gzip'), Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xff])])],
      ['c', s[8][1]], ['s', Buffer.concat([head(6, 'br'), Buffer.from('\x0b\x02\x80hi\x03', 'latin1')])],
      ['c', s[8][1]], ['s', head(0, 'gzip')], // empty: nothing to inflate, nothing wrong
      ...s.slice(8),
    ]);
    assert.deepEqual(h.of('message').map((m) => m.text), [...Array(4).fill(EXPECTED_BOSH[0][2]), ...EXPECTED_BOSH.map((e) => e[2])]);
    assert.equal(evidence(h, 'xmpp.bosh-encoded'), '3 content-encoded BOSH bodies not decoded (1 in a coding other than gzip or deflate, 1 corrupt, 1 over 1048576 bytes)');
    assert.equal(xmppSessions(h)[0].malformed, 2, 'the bomb and the corrupt body');
  });
});

describe('xmpp over HTTP: hostile input is bounded and never throws', () => {
  const start = () => run(boshSession().slice(0, 2));

  it('a huge declared Content-Length, then the connection ends', () => {
    const s = boshSession();
    const h = new FlowHarness({ server: '198.51.100.7:5280' });
    h.send('c', s[0][1]).send('s', s[1][1]);
    h.send('c', Buffer.from(`POST /http-bind HTTP/1.1\r\nContent-Type: text/xml\r\nContent-Length: 999999999999999\r\n\r\n${boshWrap("rid='2'", `<message to='a@b.c' type='chat'><body>in a huge body</body></message>`)}`));
    for (let i = 0; i < 64; i++) h.send('c', Buffer.alloc(32768, 0x20));
    h.end();
    assert.deepEqual(h.of('message').map((m) => m.text), ['in a huge body']);
    void start;
  });

  it('endless chunk extensions, a bad chunk size, a 64 KiB head: counted, and the next request is read', () => {
    const s = boshSession();
    const h = new FlowHarness({ server: '198.51.100.7:5280' });
    h.send('c', s[0][1]).send('s', s[1][1]);
    h.send('c', Buffer.from('POST /http-bind HTTP/1.1\r\nContent-Type: text/xml\r\nTransfer-Encoding: chunked\r\n\r\n10;ext=' + 'x'.repeat(4000)));
    for (let i = 0; i < 32; i++) h.send('c', Buffer.from(';e=' + 'y'.repeat(8000)));
    h.send('c', '\r\n');
    h.send('c', boshPost(boshWrap("rid='3'", `<message to='a@b.c' type='chat'><body>after the extensions</body></message>`)));
    h.send('c', Buffer.from('POST /http-bind HTTP/1.1\r\nContent-Type: text/xml\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'));
    h.send('c', boshPost(boshWrap("rid='4'", `<message to='a@b.c' type='chat'><body>after the bad size</body></message>`), { chunk: 5, ext: ';a=b' }));
    h.send('c', Buffer.from('POST /x HTTP/1.1\r\nX: ' + 'z'.repeat(65536)));
    h.send('c', '\r\n\r\n');
    h.send('c', boshPost(boshWrap("rid='5'", `<message to='a@b.c' type='chat'><body>after the long head</body></message>`)));
    h.end();
    assert.deepEqual(h.of('message').map((m) => m.text), ['after the extensions', 'after the bad size', 'after the long head']);
    assert.ok((xmppSessions(h)[0].malformed ?? 0) >= 3);
  });

  it('a 2 MiB WebSocket frame is refused (skipped whole); the next frame is read', () => {
    const s = wsSession();
    const h = new FlowHarness({ server: '198.51.100.7:5280' });
    for (const [d, p] of s.slice(0, 4)) h.send(d, p);
    const big = clientFrame(`<message to='a@b.c' type='chat'><body>${'A'.repeat(2 << 20)}</body></message>`);
    for (let o = 0; o < big.length; o += 65536) h.send('c', big.subarray(o, o + 65536));
    h.send('c', clientFrame(WS_MSG));
    h.end();
    const sess = xmppSessions(h)[0];
    assert.deepEqual(h.of('message').map((m) => m.text), [EXPECTED_WS[0][2]]);
    assert.ok(sess.evidence.some((e) => e.signature === 'xmpp.websocket-oversized'), JSON.stringify(sess.evidence));
  });

  it('frame garbage: reserved opcodes, RSV bits, long control frames, a 2^63 length, a lone continuation', () => {
    const cases: Buffer[] = [
      Buffer.from([0x83, 0x00]), // reserved opcode 3
      Buffer.from([0xb1, 0x00]), // RSV2+RSV3 on a text frame
      Buffer.from([0x09, 0x01, 0x00]), // fragmented ping
      Buffer.concat([Buffer.from([0x89, 126, 0x01, 0x00]), Buffer.alloc(256)]), // 256-byte ping
      Buffer.from([0x81, 127, 0x80, 0, 0, 0, 0, 0, 0, 0]), // 64-bit length, top bit set
      Buffer.from([0x81, 127, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), // beyond 2^53
    ];
    for (const garbage of cases) {
      const s = wsSession();
      const h = new FlowHarness({ server: '198.51.100.7:5280' });
      for (const [d, p] of s.slice(0, 4)) h.send(d, p);
      h.send('c', garbage);
      h.send('c', clientFrame(WS_MSG)); // framing is lost: not read
      h.end();
      assert.equal(h.of('message').length, 0, garbage.toString('hex'));
      assert.ok((xmppSessions(h)[0].malformed ?? 0) >= 1);
    }
    const h = new FlowHarness({ server: '198.51.100.7:5280' });
    for (const [d, p] of wsSession().slice(0, 4)) h.send(d, p);
    h.send('c', clientFrame('stray', { opcode: 0 })); // continuation without a message: skipped, in step
    h.send('c', clientFrame(WS_MSG));
    h.end();
    assert.deepEqual(h.of('message').map((m) => m.text), [EXPECTED_WS[0][2]]);
  });

  it('a gap inside a WebSocket payload or a BOSH body loses that document only', () => {
    const ws = new WsReader({ text: () => undefined, messageEnd: () => undefined, messageAbort: () => undefined, malformed: () => undefined });
    ws.push(wsFrame('x'.repeat(300)).subarray(0, 100));
    ws.gap(50);
    ws.push(wsFrame('x'.repeat(300)).subarray(150));
    assert.equal(ws.stopped, false);
    ws.gap(10); // between frames: framing lost
    assert.equal(ws.stopped, true);
    const got: string[] = [];
    const side = new HttpSide({ head: (hd) => got.push(`head ${hd.method}`), body: (b) => got.push(`body ${b.length}`), end: (w) => got.push(`end ${w}`), raw: () => undefined, malformed: (r) => got.push(`bad ${r}`) }, false);
    const req = boshPost('y'.repeat(100));
    side.push(req.subarray(0, req.length - 60));
    side.gap(20);
    side.push(req.subarray(req.length - 40));
    side.push(boshPost('z'));
    assert.deepEqual(got.filter((g) => !g.startsWith('body')), ['head POST', 'end false', 'head POST', 'end true']);
  });

  boundedIt(__filename, 'seeded fuzz: mutated BOSH and WebSocket sessions never throw', fuzzSeconds(150), async () => {
    let seed = fuzzSeed(20240115);
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    // plain, chunked, WebSocket, permessage-deflate with context takeover, gzip/deflate BOSH bodies
    const pmd = (await pmdSession('permessage-deflate', [...LOGIN, ...CHAT], new PmdDeflater(), new PmdDeflater())).parts;
    const sessions = [boshSession(), boshSession(11), wsSession(), pmd, boshSession(7, (i) => (i ? (['gzip', 'deflate', 'deflate-raw'] as const)[i % 3] : undefined))];
    let messages = 0;
    let inflated = 0;
    for (let i = 0, cases = fuzzCases(300); i < cases; i++) {
      const s = sessions[i % sessions.length].map(([d, p]) => [d, Buffer.from(p)] as ['c' | 's', Buffer]);
      // keep the first request/response intact half the time, so that detection passes and the decoder is fuzzed
      const from = rnd() < 0.5 ? 2 : 0;
      for (let k = 0; k < 1 + Math.floor(rnd() * 24); k++) {
        const [, p] = s[from + Math.floor(rnd() * (s.length - from))];
        const at = Math.floor(rnd() * p.length);
        const r = rnd();
        p[at] = r < 0.4 ? Math.floor(rnd() * 256) : r < 0.7 ? '<>/\'"&;=\r\n'.charCodeAt(Math.floor(rnd() * 10)) : r < 0.85 ? 0x7f : 0xff;
      }
      const h = new FlowHarness({ server: '198.51.100.7:5280' });
      for (const [d, p] of s) {
        let o = 0;
        while (o < p.length) {
          const n = 1 + Math.floor(rnd() * 300);
          h.send(d, p.subarray(o, o + n));
          o += n;
        }
      }
      h.end();
      assert.equal(h.engine.stats.decoderErrors, 0, `case ${i}`);
      messages += h.of('message').length;
      if (xmppSessions(h)[0]?.evidence.some((e) => e.signature === 'xmpp.websocket-inflated' || e.signature === 'xmpp.bosh-inflated')) inflated++;
    }
    assert.ok(messages > 0, 'the fuzz reached the decoder');
    assert.ok(inflated > 0, 'the fuzz reached the inflation');
  });
});

/** segment order with every pair of neighbours swapped: [1, 0, 3, 2, …] */
function swapped(bytes: number, segment: number): number[] {
  const n = Math.ceil(bytes / segment);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i + 1 < n; i += 2) [order[i], order[i + 1]] = [order[i + 1], order[i]];
  return order;
}

function xmlText(s: string): string {
  return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
}

/** chat bodies of the whole <message> elements in `s`, in order */
/**
 * What tshark reassembles of a capture's XMPP web traffic: the <message> bodies of the 12 BOSH HTTP
 * bodies it exports (de-chunked, Content-Encoding undone) and of the WebSocket texts `wsFilter` selects.
 */
function tsharkBodies(file: string, wsFilter: string): { bosh: string[]; ws: string[] } {
  const dir = fs.mkdtempSync(path.join(tmp, 'objects-'));
  execFileSync('tshark', ['-r', file, '-o', 'tcp.reassemble_out_of_order:TRUE', '-q', '--export-objects', `http,${dir}`], { stdio: ['ignore', 'ignore', 'ignore'] });
  const nth = (f: string) => Number(/\((\d+)\)$/.exec(f)?.[1] ?? 0);
  const objects = fs.readdirSync(dir).filter((f) => f.startsWith('http-bind')).sort((a, b) => nth(a) - nth(b));
  assert.equal(objects.length, 12, 'tshark exported the 12 BOSH bodies');
  const bosh = messageBodies(objects.map((f) => fs.readFileSync(path.join(dir, f), 'utf8')).join('\n'));
  const ws = messageBodies(
    execFileSync('tshark', ['-r', file, '-o', 'tcp.reassemble_out_of_order:TRUE', '-Y', wsFilter, '-T', 'fields', '-e', 'websocket.payload.text'], { stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 << 20 }).toString('utf8'),
  );
  return { bosh, ws };
}

function messageBodies(s: string): string[] {
  return [...s.matchAll(/<message\b[^>]*>(?:(?!<\/message>)[\s\S])*?<body>([^<]*)<\/body>/g)].map((m) => xmlText(m[1]));
}

describe('xmpp over HTTP: generated captures through the CLI', function () {
  this.timeout(180000);
  const file = path.join(tmp, 'xmpp-web.pcap');
  let r: ReturnType<typeof shadowim>;

  before(() => {
    const c = new Capture();
    const b = c.tcp('10.1.1.10:40001', '198.51.100.7:5280');
    b.open();
    // Content-Length and chunked bodies, every body in 37-byte segments sent pairwise out of order
    for (const [d, p] of boshSession(29)) b.send(d, p, { segment: 37, reorder: swapped(p.length, 37) });
    b.close();
    const w = c.tcp('10.1.1.11:40002', '198.51.100.8:443');
    w.open();
    for (const [d, p] of wsSession()) w.send(d, p, { segment: 23, reorder: swapped(p.length, 23) });
    w.close();
    fs.writeFileSync(file, c.pcap());
    r = shadowim(['analyze', file, '--format', 'jsonl']);
    assert.equal(r.status, 0, r.stderr);
  });

  it('BOSH and WebSocket sessions: messages, users and credentials as for a plain XMPP stream, no secret', () => {
    const sessions = r.events.filter((e) => e.type === 'session' && e.protocol === 'xmpp');
    assert.equal(sessions.length, 2, JSON.stringify(r.events.filter((e) => e.type === 'session')));
    const msgs = (port: number) => r.events.filter((e) => e.type === 'message' && e.server.port === port).map((e) => [e.from, e.to, e.text, e.kind, e.direction]);
    assert.deepEqual(msgs(5280), EXPECTED_BOSH);
    assert.deepEqual(msgs(443), EXPECTED_WS);
    assert.deepEqual(r.events.filter((e) => e.type === 'credential').map((e) => `${e.server.port}:${e.mechanism}:${e.user}`).sort(), ['443:sasl-plain:juliet@example.org', '5280:sasl-plain:juliet@example.org']);
    for (const s of sessions) assert.equal(s.server_name, 'example.org');
    assert.ok(!r.stdout.includes(SECRET) && !r.stdout.includes(sasl('juliet', SECRET)));
  });

  it('message bodies agree with tshark (ground truth: its HTTP reassembly and de-chunking, and its WebSocket unmasking and defragmentation)', function () {
    if (!haveTshark()) this.skip();
    // tshark 4.0 has no XMPP dissector for HTTP bodies or WebSocket text (XMPP is bound to tcp/5222 only,
    // and no dissector registers for the WebSocket subprotocol "xmpp"): what it gives is the HTTP bodies
    // (--export-objects http: reassembled and de-chunked, byte for byte; http.file_data would print
    // non-ASCII as U+FFFD) and the unmasked, reassembled WebSocket text (websocket.payload.text); the
    // <message> bodies are taken from those texts here.
    const { bosh, ws } = tsharkBodies(file, 'tcp.port == 443');
    assert.equal(bosh.length, 2, 'tshark read both BOSH messages');
    assert.equal(ws.length, 2, 'tshark read both WebSocket messages');
    const ours = (port: number) => r.events.filter((e) => e.type === 'message' && e.server.port === port).map((e) => e.text);
    assert.deepEqual(ours(5280), bosh);
    assert.deepEqual(ours(443), ws);
  });
});

describe('xmpp over HTTP, compressed: generated captures through the CLI', function () {
  this.timeout(180000);
  const file = path.join(tmp, 'xmpp-web-compressed.pcap');
  const codings = ['gzip', 'x-gzip', 'deflate', 'deflate-raw'] as const;
  let r: ReturnType<typeof shadowim>;

  before(async () => {
    const c = new Capture();
    // permessage-deflate with context takeover, whole messages (tshark inflates each frame on its own)
    const whole = await pmdSession('permessage-deflate', [...LOGIN, ...CHAT.map(([d, t, o]) => [d, t, o?.plain ? o : undefined] as Step)], new PmdDeflater(), new PmdDeflater());
    const w = c.tcp('10.1.1.12:40003', '198.51.100.9:8080');
    w.open();
    for (const [d, p] of whole.parts) w.send(d, p, { segment: 23, reorder: swapped(p.length, 23) });
    w.close();
    // gzip, x-gzip, zlib and raw deflate BOSH bodies, every other one chunked
    const b = c.tcp('10.1.1.13:40004', '198.51.100.10:5280');
    b.open();
    for (const [d, p] of boshSession(29, (i) => (i ? codings[i % 4] : undefined))) b.send(d, p, { segment: 37, reorder: swapped(p.length, 37) });
    b.close();
    // the ws library's session: a compressed message in three fragments
    const l = c.tcp('10.1.1.14:40005', '198.51.100.11:8081');
    l.open();
    for (const [d, x] of WS_LIB_TAKEOVER) l.send(d, Buffer.from(x, 'hex'), { segment: 19 });
    l.close();
    // context takeover, and a segment of the client's first chat message is never captured
    const gap = await pmdSession('permessage-deflate', [...LOGIN, ...CHAT.map(([d, t, o]) => [d, t, o?.plain ? o : undefined] as Step)], new PmdDeflater(), new PmdDeflater());
    const g = c.tcp('10.1.1.15:40006', '198.51.100.12:8082');
    g.open();
    const lostAt = 2 + LOGIN.length; // the client's first chat message
    for (const [i, [d, p]] of gap.parts.entries()) g.send(d, p, i === lostAt ? { segment: 10, drop: [2] } : {});
    g.close();
    fs.writeFileSync(file, c.pcap());
    r = shadowim(['analyze', file, '--format', 'jsonl']);
    assert.equal(r.status, 0, r.stderr);
  });

  const msgs = (port: number) => r.events.filter((e) => e.type === 'message' && e.server.port === port).map((e) => [e.from, e.to, e.text, e.direction]);
  const sessionAt = (port: number): { server_name?: string; evidence: { signature: string; reason: string }[] } => r.events.find((e) => e.type === 'session' && e.protocol === 'xmpp' && e.server.port === port);

  it('permessage-deflate and gzip/deflate BOSH sessions: messages, users and credentials as for a plain stream, no secret', () => {
    assert.deepEqual(msgs(8080), CHAT_EXPECTED);
    assert.deepEqual(msgs(5280), EXPECTED_BOSH.map(([f, t, x, , d]) => [f, t, x, d]));
    assert.deepEqual(msgs(8081), WS_LIB_EXPECTED);
    for (const port of [8080, 5280, 8081, 8082]) assert.equal(sessionAt(port)?.server_name, 'example.org', String(port));
    assert.deepEqual(r.events.filter((e) => e.type === 'credential').map((e) => `${e.server.port}:${e.mechanism}:${e.user}`).sort(), ['5280:sasl-plain:juliet@example.org', '8080:sasl-plain:juliet@example.org', '8081:sasl-plain:juliet@example.org', '8082:sasl-plain:juliet@example.org']);
    assert.ok(!r.stdout.includes(SECRET) && !r.stdout.includes(sasl('juliet', SECRET)) && !r.stdout.includes(WS_LIB_SECRET));
    assert.ok(sessionAt(5280).evidence.some((e) => e.signature === 'xmpp.bosh-inflated' && e.reason.startsWith('11 ')));
  });

  it('a segment lost inside a compressed message: the server side is read whole, the client side until the gap, then the lost window is said', () => {
    // the client's messages after the gap all refer back into what was lost (the uncompressed one excepted)
    const rows = msgs(8082);
    assert.deepEqual(rows.filter((m) => m[3] === 'inbound'), CHAT_EXPECTED.filter((m) => m[3] === 'inbound'));
    assert.deepEqual(rows.filter((m) => m[3] === 'outbound').map((m) => m[2]), ['sent without compression, between compressed ones']);
    const ev = sessionAt(8082).evidence;
    assert.match(ev.find((e) => e.signature === 'xmpp.websocket-compressed')?.reason ?? '', /^3 .*\(2 referring into a lost window, 1 cut off or with bytes lost\)/);
    assert.match(ev.find((e) => e.signature === 'xmpp.websocket-window-lost')?.reason ?? '', /^1 time/);
  });

  it('message bodies agree with tshark (its permessage-deflate inflation, and its gzip/deflate HTTP bodies)', function () {
    if (!haveTshark()) this.skip();
    // tshark 4.0 inflates each WebSocket frame on its own, in order, with one window per direction: right
    // for whole messages (port 8080), not for fragmented compressed ones (8081: the first fragment comes
    // out empty, and with context takeover the later messages of that direction are garbled). Its
    // HTTP export objects are the bodies with their Content-Encoding undone.
    const { bosh, ws } = tsharkBodies(file, 'tcp.port == 8080 && websocket.pmc == 1');
    assert.equal(bosh.length, 2, 'tshark read both BOSH messages');
    assert.equal(ws.length, CHAT_EXPECTED.length - 1, 'tshark inflated every compressed message');
    const ours = (port: number) => r.events.filter((e) => e.type === 'message' && e.server.port === port).map((e) => e.text);
    assert.deepEqual(ours(5280), bosh);
    assert.deepEqual(ours(8080).filter((t) => !t.includes('without compression')), ws);
  });
});

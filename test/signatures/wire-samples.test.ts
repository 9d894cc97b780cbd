// Real wire samples, found in public repositories, for the decoders that were written from client
// sources alone (GG 11, AIM Direct IM, MSNP2P v2, XMPP over BOSH/WebSocket). Each test puts the
// sample's bytes, exactly as published, into a generated capture (addresses, ports, TCP and the HTTP
// heads around a BOSH body are ours unless said otherwise) and checks what `shadowim analyze` makes of
// it. Where a sample is not byte-exact (a log that printed a parse tree, a spec example with an
// elided line), the comment says what was filled in.
import assert from 'node:assert/strict';
import { Capture } from '../helpers/pcapgen';
import { analyzeCapture } from '../helpers/analyze';
import { WsReader } from '../../signatures/xmpp/websocket';
import { login105Uin } from '../../signatures/gadugadu/proto110';

const hex = (s: string) => Buffer.from(s.replace(/[^0-9a-fA-F]/g, ''), 'hex');
const of = (events: any[], type: string) => events.filter((e) => e.type === type);

function boshPost(body: string, contentType = 'text/xml; charset=utf-8', host = 'chat.example.net:5280'): Buffer {
  const b = Buffer.from(body, 'utf8');
  return Buffer.concat([Buffer.from(`POST /http-bind/ HTTP/1.1\r\nHost: ${host}\r\nContent-Type: ${contentType}\r\nContent-Length: ${b.length}\r\n\r\n`), b]);
}
function boshReply(body: string): Buffer {
  const b = Buffer.from(body, 'utf8');
  return Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: text/xml; charset=utf-8\r\nContent-Length: ${b.length}\r\n\r\n`), b]);
}

describe('wire samples: AIM Direct IM (ODC2)', () => {
  it('the ODC2 header start printed in nDPI oscar.c is a Direct IM connection', () => {
    // ntop/nDPI src/lib/protocols/oscar.c (LGPL-3.0), ndpi_search_oscar_tcp_connect, comment
    // "PICTURE TRANSFER PATTERN EXMAPLE": the first 16 bytes of a real ODC2 frame. It confirms the
    // magic, the header length 0x004c (76) @4, type 0x0001 @6 and subtype 0x0006 @8 that odc.ts
    // reads (nDPI also requires the u16 @4 to equal the TCP payload length: the header travels alone).
    const sample = hex('4f 44 43 32 00 4c 00 01 00 06 00 00 00 00 00 00');
    const c = new Capture();
    const t = c.tcp('192.168.1.20:40321', '192.168.1.30:4443');
    t.open();
    t.send('c', sample);
    t.close();
    const ev = analyzeCapture(c);
    const s = of(ev, 'session');
    assert.equal(s.length, 1);
    assert.equal(s[0].protocol, 'aim');
    assert.equal(s[0].service, 'direct-im');
    assert.equal(s[0].evidence[0].signature, 'oscar.odc2');
    assert.match(s[0].evidence[0].reason, /length 76/);
    assert.equal(of(ev, 'message').length, 0);
  });
});

describe('wire samples: Gadu-Gadu 11 (GG_LOGIN105)', () => {
  it('the login layout pcap2john reads from real GG 11 captures gives the same UIN as login105Uin', () => {
    // Not a published packet: openwall/john run/pcap2john.py handle_gg_login105 (PR #2464, written
    // against tcpdump captures of a real GG client) reads byte 15 of the GG_LOGIN105 packet as the
    // number of UIN digits, the digits from byte 16, and the SHA-1 two bytes after them. That is the
    // protobuf layout libgadu writes (packets.proto GG105Login: lang = 1 "pl", uin = 2 bytes
    // {magic, len, digits} via gg_protobuf_set_uin, hash = 3 bytes[20]); this packet is built that way
    // and both readings must agree.
    const uin = '47110815';
    const sha1 = Buffer.alloc(20, 0xa5);
    const body = Buffer.concat([
      hex('0a 02'), Buffer.from('pl'),
      Buffer.from([0x12, uin.length + 2, 0x01, uin.length]), Buffer.from(uin),
      Buffer.from([0x1a, 20]), sha1,
      Buffer.from([0x3a, 11]), Buffer.from('GG-Phoenix/'),
    ]);
    const pkt = Buffer.concat([hex('83 00 00 00'), Buffer.from([body.length, 0, 0, 0]), body]);
    // pcap2john, on the hex string of the TCP payload: digits = int(payload[30:32], 16), uid at 32, sha1 at 32 + 2*digits + 4
    const h = pkt.toString('hex');
    const digits = parseInt(h.slice(30, 32), 16);
    const johnUid = Buffer.from(h.slice(32, 32 + 2 * digits), 'hex').toString('latin1');
    const johnSha1 = h.slice(32 + 2 * digits + 4, 32 + 2 * digits + 44);
    assert.equal(johnUid, uin);
    assert.equal(johnSha1, sha1.toString('hex'));
    assert.equal(login105Uin(pkt.subarray(8)), uin);
  });
});

describe('wire samples: XMPP over WebSocket (RFC 6455 framing, RFC 7395)', () => {
  // RFC 6455 §5.7 "Examples" (IETF, Simplified BSD for code components), byte for byte.
  const UNMASKED_HELLO = hex('81 05 48 65 6c 6c 6f');
  const MASKED_HELLO = hex('81 85 37 fa 21 3d 7f 9f 4d 51 58');
  const FRAGMENTED = [hex('01 03 48 65 6c'), hex('80 02 6c 6f')];
  const PING = hex('89 05 48 65 6c 6c 6f');
  const MASKED_PONG = hex('8a 85 37 fa 21 3d 7f 9f 4d 51 58');
  const BINARY_256 = Buffer.concat([hex('82 7e 01 00'), Buffer.alloc(256, 0x5a)]);
  const BINARY_64K = Buffer.concat([hex('82 7f 00 00 00 00 00 01 00 00'), Buffer.alloc(65536, 0x5a)]);

  function read(frames: Buffer[]) {
    const texts: string[] = [];
    let cur = '';
    const bad: string[] = [];
    const r = new WsReader({
      text: (b) => { cur += b.toString('utf8'); },
      messageEnd: () => { texts.push(cur); cur = ''; },
      messageAbort: () => { cur = ''; },
      malformed: (x) => bad.push(x),
    });
    for (const f of frames) r.push(f);
    return { texts, bad, counters: r.counters, stopped: r.stopped };
  }

  it('the RFC 6455 §5.7 frames read as the RFC says', () => {
    assert.deepEqual(read([UNMASKED_HELLO]).texts, ['Hello']);
    assert.deepEqual(read([MASKED_HELLO]).texts, ['Hello']);
    assert.deepEqual(read(FRAGMENTED).texts, ['Hello']);
    const ctl = read([PING, MASKED_PONG]);
    assert.deepEqual(ctl.texts, []);
    assert.equal(ctl.counters.controlFrames, 2);
    const bin = read([BINARY_256, BINARY_64K, UNMASKED_HELLO]);
    assert.deepEqual(bin.texts, ['Hello']);
    assert.equal(bin.counters.binaryMessages, 2);
    // the same, one byte at a time
    const all = Buffer.concat([UNMASKED_HELLO, MASKED_HELLO, ...FRAGMENTED, PING, MASKED_PONG, BINARY_256]);
    const bytes = read([...all].map((b) => Buffer.from([b])));
    assert.deepEqual(bytes.texts, ['Hello', 'Hello', 'Hello']);
    assert.equal(bytes.bad.length + (bytes.stopped ? 1 : 0), 0);
  });

  it('an RFC 7395 session with the RFC 6455 control and binary frames between its stanzas', () => {
    // The handshake is RFC 7395 §3.3's, whose "..." lines are filled with RFC 6455 §1.3's key and
    // accept; <open/> and <close/> are RFC 7395 §3.4 and §3.6 verbatim; the message is RFC 6120
    // §4.10's example; the client's frames use the RFC 6455 §5.7 masking key 37 fa 21 3d. The ping,
    // the masked pong and the 256-byte binary message are the §5.7 frames themselves.
    const mask = hex('37 fa 21 3d');
    const frame = (text: string, masked: boolean) => {
      const p = Buffer.from(text, 'utf8');
      assert.ok(p.length < 65536);
      const x = masked ? Buffer.from(p.map((b, i) => b ^ mask[i & 3])) : p;
      const m = masked ? 0x80 : 0;
      const len = p.length < 126 ? [m | p.length] : [m | 126, p.length >> 8, p.length & 255];
      return Buffer.concat([Buffer.from([0x81, ...len]), masked ? mask : Buffer.alloc(0), x]);
    };
    const upgrade = 'GET /xmpp-websocket HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nOrigin: http://example.com\r\n' +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: xmpp\r\nSec-WebSocket-Version: 13\r\n\r\n';
    const accept = 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: xmpp\r\n\r\n';
    const openC = '<open xmlns="urn:ietf:params:xml:ns:xmpp-framing"\n      to="example.com"\n      version="1.0" />';
    const openS = '<open xmlns="urn:ietf:params:xml:ns:xmpp-framing"\n      from="example.com"\n      id="++TR84Sm6A3hnt3Q065SnAbbk3Y="\n      xml:lang="en"\n      version="1.0" />';
    const msg = "<message from='juliet@im.example.com/balcony'\n         to='romeo@example.net'\n         xml:lang='en'>\n  <body>Art thou not Romeo, and a Montague?</body>\n</message>";
    const close = '<close xmlns="urn:ietf:params:xml:ns:xmpp-framing" />';
    const c = new Capture();
    const t = c.tcp('192.0.2.10:51000', '198.51.100.7:5280');
    t.open();
    t.send('c', upgrade);
    t.send('s', accept);
    t.send('c', frame(openC, true));
    t.send('s', frame(openS, false));
    t.send('s', PING);
    t.send('c', MASKED_PONG);
    t.send('c', frame(msg, true).subarray(0, 40));
    t.send('c', frame(msg, true).subarray(40));
    t.send('s', BINARY_256);
    t.send('c', frame(close, true));
    t.send('s', frame(close, false));
    t.close();
    const ev = analyzeCapture(c);
    const s = of(ev, 'session');
    assert.equal(s.length, 1);
    assert.equal(s[0].protocol, 'xmpp');
    assert.equal(s[0].server_name, 'example.com');
    const sigs = s[0].evidence.map((e: any) => e.signature);
    assert.ok(sigs.includes('xmpp.websocket'), sigs.join());
    assert.ok(sigs.includes('xmpp.websocket-binary'), sigs.join());
    assert.equal(s[0].malformed ?? 0, 0);
    const m = of(ev, 'message');
    assert.equal(m.length, 1);
    assert.equal(m[0].text, 'Art thou not Romeo, and a Montague?');
    assert.equal(m[0].from, 'juliet@im.example.com/balcony');
    assert.equal(m[0].to, 'romeo@example.net');
  });
});

describe('wire samples: XMPP over BOSH (XEP-0124/0206)', () => {
  it('a stanza.io session with Openfire 4.1.3, bodies as posted in legastero/stanza#211', () => {
    // github.com/legastero/stanza issue #211 (2017): the request and response bodies the reporter
    // copied from the browser, verbatim, including the line-wrap artefacts in the server's features
    // ("<mechanism >", "</mech anism>", "</stream:featu res>"). HTTP heads are ours.
    const c = new Capture();
    const t = c.tcp('192.0.2.20:52100', '198.51.100.8:7070');
    t.open();
    t.send('c', boshPost('<body xmlns="http://jabber.org/protocol/httpbind" xmlns:xmpp="urn:xmpp:xbosh" xmpp:version="1.0" to="openopen" xml:lang="en" wait="30" ver="1.6" hold="1" rid="9782020898"/>'));
    t.send('s', boshReply('<body xmlns="http://jabber.org/protocol/httpbind" xmlns:stream="http://etherx.jabber.org/streams" from="openopen" authid="jon2s7wv0" sid="jon2s7wv0" secure="true" requests="2" inactivity="30" polling="5" wait="30" hold="1" ack="9782020898" maxpause="300" ver="1.6"><stream:features><mechanisms xmlns="urn:ietf:params:xml:ns:xmpp-sasl"><mechanism>PLAIN</mechanism><mechanism >SCRAM-SHA-1</mechanism><mechanism>EXTERNAL</mechanism><mechanism>CRAM-MD5</mech anism><mechanism>DIGEST-MD5</mechanism></mechanisms><register xmlns="http://jabber.org/features/iq-register"/><bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"/><session xmlns="urn:ietf:params:xml:ns:xmpp-session"><optional/></session></stream:featu res></body>'));
    t.send('c', boshPost('<body xmlns="http://jabber.org/protocol/httpbind" xmlns:xmpp="urn:xmpp:xbosh" rid="9782020899" sid="jon2s7wv0"><auth xmlns="urn:ietf:params:xml:ns:xmpp-sasl" mechanism="EXTERNAL"></auth></body>'));
    t.send('s', boshReply('<body xmlns="http://jabber.org/protocol/httpbind"/>'));
    t.send('c', boshPost('<body xmlns="http://jabber.org/protocol/httpbind" xmlns:xmpp="urn:xmpp:xbosh" rid="9782020900" sid="jon2s7wv0"/>'));
    t.close();
    const ev = analyzeCapture(c);
    const s = of(ev, 'session');
    assert.equal(s.length, 1);
    assert.equal(s[0].protocol, 'xmpp');
    assert.equal(s[0].evidence[0].signature, 'xmpp.bosh');
    assert.equal(s[0].server_name, 'openopen');
    // EXTERNAL carries no secret; the mangled features are one malformed stanza, not a lost session
    assert.equal(of(ev, 'credential').length, 0);
    assert.ok((s[0].malformed ?? 0) >= 1);
  });

  it("libpurple's BOSH request: its head (\"Content-Encoding: text/xml\", no Content-Type) and a body ejabberd logged (regression)", () => {
    // The head is the one every libpurple writes (pidgin jabber/bosh.c http_connection_send_request,
    // 2.6 to 2.14: "POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\nContent-Encoding: text/xml;
    // charset=utf-8\r\nContent-Length: %u\r\n\r\n%s"; the purple_http rewrite sets the same header):
    // the type is mislabelled as a content coding. Detection wanted a Content-Type and the decoder
    // skipped any body with a coding, so Pidgin's BOSH sessions were missed. The body is the raw
    // "client data" of a Pidgin (id='purple…') BOSH session in processone/ejabberd#1984 (2017).
    const body = "<body rid='3820954511066374' sid='4dc410fd03d4a494409339b8aaa587dcf6978e64' to='company.com' xml:lang='en' xmlns='http://jabber.org/protocol/httpbind' xmlns:xmpp='urn:xmpp:xbosh'><iq xmlns='jabber:client' type='get' id='purple8525ae19'><query xmlns='jabber:iq:auth'><username>user</username></query></iq></body>";
    const purplePost = (b: string) => `POST /http-bind HTTP/1.1\r\nHost: company.com\r\nUser-Agent: Pidgin 2.12.0 (libpurple 2.12.0)\r\nContent-Encoding: text/xml; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(b)}\r\n\r\n${b}`;
    const auth = "<body rid='3820954511066375' sid='4dc410fd03d4a494409339b8aaa587dcf6978e64' xmlns='http://jabber.org/protocol/httpbind'><iq xmlns='jabber:client' type='set' id='purple8525ae1a'><query xmlns='jabber:iq:auth'><username>user</username><password>hunter2-not-here</password><resource>Home</resource></query></iq></body>";
    const c = new Capture();
    const t = c.tcp('192.0.2.21:52101', '198.51.100.9:5280');
    t.open();
    t.send('c', purplePost(body));
    t.send('s', boshReply("<body xmlns='http://jabber.org/protocol/httpbind'/>"));
    t.send('c', purplePost(auth));
    t.close();
    const ev = analyzeCapture(c);
    const s = of(ev, 'session');
    assert.equal(s.length, 1, JSON.stringify(s));
    assert.equal(s[0].protocol, 'xmpp');
    assert.equal(s[0].server_name, 'company.com');
    assert.ok(!s[0].evidence.some((e: any) => e.signature === 'xmpp.bosh-encoded'));
    // the second body (ours, libpurple's legacy iq:auth set) shows that bodies are decoded, not skipped
    const cr = of(ev, 'credential');
    assert.deepEqual(cr.map((x) => [x.user, x.mechanism]), [['user@company.com', 'xmpp-iq-auth-plaintext']]);
    assert.ok(!JSON.stringify(ev).includes('hunter2-not-here'));
  });

  it('a SASL PLAIN BOSH body with an authzid (esl/MongooseIM#306): the authcid is reported, never the secret', () => {
    // github.com/esl/MongooseIM issue #306 (2014) logged the body as a parse tree ({xmlel, …});
    // element names, attributes (in that order) and the base64 payload are the logged ones, the
    // serialisation is ours. The payload is "authzid\0authcid\0password" with a full-JID authzid.
    const payload = 'X3JjX3p4ODRiZmMtMXFiM3RleHdqQGxvY2FsaG9zdABfcmNfeng4NGJmYy0xcWIzdGV4d2oAc2Fwa2FqYTIx';
    const c = new Capture();
    const t = c.tcp('192.0.2.22:52102', '198.51.100.10:5280');
    t.open();
    t.send('c', boshPost(`<body xmlns='http://jabber.org/protocol/httpbind' xmlns:xmpp='urn:xmpp:xbosh' rid='62968' xmpp:version='1.0' sid=''><auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${payload}</auth></body>`, 'text/xml; charset=utf-8', 'localhost:5280'));
    t.close();
    const ev = analyzeCapture(c);
    const cr = of(ev, 'credential');
    assert.equal(cr.length, 1);
    assert.equal(cr[0].mechanism, 'sasl-plain');
    // the authcid; this body names no domain (no `to`), so it stays unqualified
    assert.equal(cr[0].user, '_rc_zx84bfc-1qb3texwj');
    const out = JSON.stringify(ev);
    assert.ok(!out.includes('sapkaja21') && !out.includes(payload));
  });

  it('a BOSH POST typed text/plain, as XMLHttpRequest sends it for Strophe.js (regression)', () => {
    // Strophe.js before 1.2 opened the POST and sent the body string without setting a type, so the
    // browser sent "text/plain;charset=UTF-8" (XMLHttpRequest send(), string body), seen with Wireshark
    // in strophe/strophejs#67 and candy-chat/candy#244 (2014; e.g. the Strophe bundled in
    // benlangfeld/CappuccinoTalk demo/Frameworks/StropheCappuccino/Resources/Strophe/strophe.js:
    // xhr.open("POST", this.service, true); xhr.send(req.data)); current Strophe lets sites choose
    // text/plain to avoid CORS preflights (options.contentType, strophe/strophejs#203). Detection
    // required text/xml or application/xml and missed these sessions. The bodies are the real ones
    // of legastero/stanza#211 and a Strophe bind iq as punjab logged it in thepug/Speeqe#19.
    const c = new Capture();
    const t = c.tcp('192.0.2.23:52103', '198.51.100.11:80');
    t.open();
    t.send('c', boshPost('<body xmlns="http://jabber.org/protocol/httpbind" xmlns:xmpp="urn:xmpp:xbosh" xmpp:version="1.0" to="openopen" xml:lang="en" wait="30" ver="1.6" hold="1" rid="9782020898"/>', 'text/plain;charset=UTF-8'));
    t.send('s', boshReply('<body xmlns="http://jabber.org/protocol/httpbind" sid="jon2s7wv0" from="openopen" ver="1.6"/>'));
    t.send('c', boshPost("<body rid='2878331005' xmlns='http://jabber.org/protocol/httpbind' sid='431c354f555716779ac0b0c1f97988a96318a465'><iq type='set' id='_bind_auth_2' xmlns='jabber:client'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq></body>", 'text/plain;charset=UTF-8'));
    t.close();
    const s = of(analyzeCapture(c), 'session');
    assert.equal(s.length, 1, JSON.stringify(s));
    assert.equal(s[0].protocol, 'xmpp');
    assert.equal(s[0].evidence[0].signature, 'xmpp.bosh');
    assert.equal(s[0].server_name, 'openopen');
    assert.equal(s[0].malformed ?? 0, 0);
  });
});

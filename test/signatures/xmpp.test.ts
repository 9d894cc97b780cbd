// XMPP: detection, the bounded XML reader, messages, credentials, STARTTLS and in-band file
// transfer — harness, generated captures through the CLI, and the shared real capture.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { FlowHarness } from '../helpers/harness';
import { Capture } from '../helpers/pcapgen';
import { PCAPS_DIR, havePcaps, labels } from '../helpers/paths';
import { analyzeCapture, analyzeCaptureRun, analyzeFile } from '../helpers/analyze';
import { haveTshark } from './irc-replay';
import { module as xmppModule } from '../../signatures/xmpp';
import { XmlStream, decodeEntities, type XmlElement } from '../../signatures/xmpp/xml';
import { boundedIt } from '../helpers/bounded';
import { fuzzCases, fuzzSeconds, fuzzSeed } from '../helpers/fuzz';
import { dnsQuery, dnsResponse } from './modern-wire';

const C_HDR = "<?xml version='1.0'?><stream:stream to='example.org' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>";
const S_HDR = "<?xml version='1.0'?><stream:stream from='example.org' id='abc' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>";
const BIND = "<iq type='result' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>juliet@example.org/balcony</jid></bind></iq>";

function xmpp(parts: [('c' | 's'), string | Buffer][], server = '198.51.100.7:5222'): FlowHarness {
  const h = new FlowHarness({ server });
  for (const [d, p] of parts) h.send(d, p);
  h.end();
  return h;
}

/** the protocols of the sessions of a flow the sensor picked up mid-stream (no SYN seen) */
function pickedUp(parts: [('c' | 's'), string][], server: string): string[] {
  const h = new FlowHarness({ server, clientBy: 'first' });
  for (const [d, p] of parts) h.send(d, p);
  h.end();
  return h.of('session').map((x) => x.protocol);
}

describe('xmpp: detection', () => {
  it('a stream header with the jabber namespaces, on any port', () => {
    const h = xmpp([['c', "<?xml version='1.0' ?>"], ['c', C_HDR.slice(21)], ['s', S_HDR]], '198.51.100.7:443');
    assert.equal(h.of('session')[0]?.protocol, 'xmpp');
    assert.equal(h.of('session')[0]?.server_name, 'example.org');
  });

  it('a mid-stream pickup: <presence>/<message> stanzas with XMPP namespaces', () => {
    const h = xmpp([['s', "<message to='juliet@example.org/balcony' from='romeo@example.net/orchard' type='chat'><active xmlns='http://jabber.org/protocol/chatstates'/><body>mid-stream</body></message>"]]);
    assert.equal(h.of('session')[0]?.protocol, 'xmpp');
    assert.equal(h.of('message')[0]?.text, 'mid-stream');
  });

  it('a capture that starts inside a stanza (no SYN seen): the fragment is skipped', () => {
    const lookup = { host: () => undefined, ip: () => undefined };
    const input = (data: string, clientBy: 'first' | 'syn') => ({ transport: 'tcp' as const, dir: 1 as const, data: Buffer.from(data), other: Buffer.alloc(0), packetIndex: 0, flow: { id: 'f', transport: 'tcp' as const, client: { ip: '10.0.0.1', port: 5000 }, server: { ip: '10.0.0.2', port: 5222 }, firstTs: 0, clientBy }, lookup });
    const mid = "ow art thou</body></message><message from='romeo@example.net/o' to='juliet@example.org/b' type='chat'><body>hi</body><active xmlns='http://jabber.org/protocol/chatstates'/></message>";
    assert.equal((xmppModule.detect(input(mid, 'first'), { id: 'xmpp' }) as any)?.protocol, 'xmpp');
    assert.equal(xmppModule.detect(input(mid, 'syn'), { id: 'xmpp' }), null);
  });

  it('picked up mid-stream, a stream header decides only when XMPP goes on: not a syslog line quoting one', () => {
    const pick = (parts: [('c' | 's'), string][]) => pickedUp(parts, '198.51.100.7:5222');
    // syslog on 5222 picked up at a line that quotes a stream header; the next lines come later (near-miss seed 20261152)
    const quoted = ` <stream:stream to="example.com" xmlns="jabber:client" xmlns:stream="http://etherx.jabber.org/streams" version="1.0">\n`;
    assert.deepEqual(pick([['c', quoted], ['c', '118 <134>1 2024-01-15T09:30:12Z host3 app 4242 - - c2s: session opened\n']]), []);
    assert.deepEqual(pick([['c', quoted]]), []);
    // a sensor that missed the SYN but none of the data: the server answers with its header, or the client goes on in XML
    assert.deepEqual(pick([['c', C_HDR], ['s', S_HDR]]), ['xmpp']);
    assert.deepEqual(pick([['c', C_HDR + "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"]]), ['xmpp']);
  });

  it('seen from the SYN, the client sends the first stream header: XML served after a request of another kind is no stream', () => {
    const served = xmpp([['c', '/logs/xmpp-session.xml\r\n'], ['s', S_HDR + BIND]], '198.51.100.7:70');
    assert.equal(served.of('session').length, 0);
    // the client's header first, or the server's with nothing from the client yet: XMPP
    assert.equal(xmpp([['c', C_HDR], ['s', S_HDR + BIND]], '198.51.100.7:70').of('session')[0]?.protocol, 'xmpp');
    assert.equal(xmpp([['s', S_HDR + BIND]], '198.51.100.7:70').of('session')[0]?.protocol, 'xmpp');
    assert.equal(xmpp([['c', '\ufeff' + C_HDR], ['s', S_HDR + BIND]], '198.51.100.7:70').of('session')[0]?.protocol, 'xmpp', 'after a byte order mark');
  });

  it('picked up mid-stream, prose that quotes a stanza is not one: a stanza holds elements, not text (near-miss seed 41000469)', () => {
    const pick = (parts: [('c' | 's'), string][]) => pickedUp(parts, '198.51.100.7:80');
    // an FTP data transfer picked up at a line of a text file; log lines further on close a <message> and name jabber:client
    const file = '<message to="ops@example.com"> in the config.\nThe numbers for Q3 look good.\n' +
      '2024-01-15T09:00:00Z INFO [bridge] bridge out: <message to="a@b.c"><body>hello 5</body></message>\n' +
      '2024-01-15T09:00:01Z INFO [bridge] c2s recv: <stream:stream to="example.com" xmlns="jabber:client" xmlns:stream="http://etherx.jabber.org/streams" version="1.0">\n' +
      '2024-01-15T09:00:02Z INFO [bridge] c2s send: </stream:stream> (idle)\n</message>\n';
    assert.deepEqual(pick([['s', file]]), []);
    // whitespace between a stanza's children is what real streams have: still XMPP
    assert.deepEqual(pick([['s', "<message to='juliet@example.org/b' type='chat'>\n  <body>hi</body>\n  <active xmlns='http://jabber.org/protocol/chatstates'/>\n</message>"]]), ['xmpp']);
  });

  for (const [name, c, s] of [
    ['SOAP over HTTP', '<?xml version="1.0"?><soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Body/></soap:Envelope>', 'HTTP/1.1 200 OK\r\n\r\n'],
    ['an XML declaration alone, then other XML', "<?xml version='1.0'?><config><message>not xmpp</message></config>", ''],
    ['TLS on 5223 (legacy SSL belongs to the tls module)', Buffer.from([0x16, 3, 1, 0, 0x40, 1, 0, 0, 0x3c, 3, 3]), ''],
    ['HTTP', 'GET /stream HTTP/1.1\r\nHost: www.example.com\r\n\r\n', 'HTTP/1.1 404 Not Found\r\n\r\n'],
  ] as const) {
    it(`not XMPP: ${name}`, () => {
      const parts: [('c' | 's'), string | Buffer][] = [['c', c as any]];
      if (s) parts.push(['s', s]);
      const h = xmpp(parts, '198.51.100.7:5223');
      assert.equal(h.of('session').filter((x) => x.protocol === 'xmpp').length, 0);
    });
  }
});

describe('xmpp: decoding', () => {
  it('JIDs, a message split byte by byte, entities and character references', () => {
    const h = new FlowHarness({ server: '198.51.100.7:5222' });
    h.send('c', C_HDR).send('s', S_HDR).send('s', BIND);
    const msg = "<message to='romeo@example.net' type='chat' id='m1'><body>5 &lt; 6 &amp;&amp; &quot;caf&#xE9;&quot; &#9731; ✓</body></message>";
    for (const ch of Buffer.from(msg)) h.send('c', Buffer.from([ch]));
    h.send('s', "<message from='romeo@example.net/orchard' to='juliet@example.org/balcony' type='chat'><body>Wherefore art thou?</body></message>");
    h.end();
    assert.deepEqual(h.of('message').map((m) => [m.from, m.to, m.text, m.kind, m.direction]), [
      ['juliet@example.org/balcony', 'romeo@example.net', '5 < 6 && "café" ☃ ✓', 'chat', 'outbound'],
      ['romeo@example.net/orchard', 'juliet@example.org/balcony', 'Wherefore art thou?', 'chat', 'inbound'],
    ]);
    const users = h.of('session')[0].users;
    for (const u of ['juliet@example.org/balcony', 'romeo@example.net', 'romeo@example.net/orchard']) assert.ok(users.includes(u), u);
  });

  it('chat states, receipts and subjects are not messages; groupchat kind is kept', () => {
    const h = xmpp([
      ['c', C_HDR], ['s', S_HDR], ['s', BIND],
      ['c', "<message to='romeo@example.net' type='chat'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>"],
      ['c', "<message to='romeo@example.net'><received xmlns='urn:xmpp:receipts' id='x'/></message>"],
      ['s', "<message from='room@conf.example.org' type='groupchat'><subject>Topic</subject></message>"],
      ['s', "<message from='room@conf.example.org/nurse' type='groupchat'><body>Madam!</body></message>"],
      ['s', "<message from='romeo@example.net' type='error'><body>bounced</body><error type='cancel'/></message>"],
    ]);
    assert.deepEqual(h.of('message').map((m) => [m.text, m.kind]), [['Madam!', 'groupchat']]);
  });

  it('without a bind result in view, what the client sends is from the account SASL signed in', () => {
    // e.g. a capture cut between authentication and bind, or a client whose bind reply was lost
    const b64 = Buffer.from('\0juliet\0secret').toString('base64');
    const digest = Buffer.from('username="romeo",realm="example.org",nonce="x",cnonce="y",nc=00000001,qop=auth,digest-uri="xmpp/example.org",response=0123,charset=utf-8').toString('base64');
    const plain = xmpp([
      ['c', C_HDR], ['s', S_HDR],
      ['c', `<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${b64}</auth>`],
      ['s', "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"],
      ['c', "<message to='romeo@example.net' type='chat'><body>no bind seen</body></message>"],
    ]);
    assert.deepEqual(plain.of('message').map((m) => [m.from, m.to, m.text]), [['juliet@example.org', 'romeo@example.net', 'no bind seen']]);
    const md5 = xmpp([
      ['c', C_HDR], ['s', S_HDR],
      ['c', "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='DIGEST-MD5'/>"],
      ['s', "<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>cmVhbG09ImV4YW1wbGUub3JnIg==</challenge>"],
      ['c', `<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>${digest}</response>`],
      ['c', "<message to='juliet@example.org' type='chat'><body>digest account</body></message>"],
    ]);
    assert.deepEqual(md5.of('message').map((m) => m.from), ['romeo@example.org']);
    // a bind result still names the full JID
    const bound = xmpp([
      ['c', C_HDR], ['s', S_HDR],
      ['c', `<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${b64}</auth>`],
      ['s', BIND],
      ['c', "<message to='romeo@example.net' type='chat'><body>bound</body></message>"],
    ]);
    assert.deepEqual(bound.of('message').map((m) => m.from), ['juliet@example.org/balcony']);
  });

  it('SASL PLAIN and jabber:iq:auth give credentials without the secret', () => {
    const secret = 'n0t-in-the-output!';
    const b64 = Buffer.from(`\0juliet\0${secret}`).toString('base64');
    const h = xmpp([
      ['c', C_HDR], ['s', S_HDR + "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms></stream:features>"],
      ['c', `<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${b64}</auth>`],
      ['s', "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"],
      ['c', C_HDR], ['s', S_HDR],
      ['c', `<iq type='set' id='a1'><query xmlns='jabber:iq:auth'><username>nurse</username><password>${secret}</password><resource>r</resource></query></iq>`],
    ]);
    assert.deepEqual(h.of('credential').map((c) => [c.mechanism, c.user]), [['sasl-plain', 'juliet@example.org'], ['xmpp-iq-auth-plaintext', 'nurse@example.org']]);
    // PLAIN with an empty initial response: the payload comes in <response/>
    const h2 = xmpp([
      ['c', C_HDR], ['s', S_HDR],
      ['c', "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>=</auth>"],
      ['s', "<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"],
      ['c', `<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>${b64}</response>`],
    ]);
    assert.deepEqual(h2.of('credential').map((c) => [c.mechanism, c.user]), [['sasl-plain', 'juliet@example.org']]);
    assert.ok(!JSON.stringify(h2.events).includes(secret));
    const all = JSON.stringify(h.events);
    assert.ok(!all.includes(secret) && !all.includes(b64), 'the secret must not appear in any event');
  });

  it('STARTTLS: <proceed/> marks the session encrypted and stops reading', () => {
    const h = xmpp([
      ['c', C_HDR], ['s', S_HDR + "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features>"],
      ['c', "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"],
      ['s', "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"],
      ['c', Buffer.from([0x16, 3, 1, 0, 0x40, 1, 0, 0, 0x3c])],
      ['c', "<message to='x@y'><body>never seen</body></message>"],
    ]);
    const s = h.of('session')[0];
    assert.equal(s.encrypted, true);
    assert.ok(s.evidence.some((e) => e.signature === 'xmpp.starttls'));
    assert.equal(h.of('message').length, 0);
  });

  it('SI file offer + in-band bytestream (XEP-0096/0047) carved byte for byte', () => {
    const file = crypto.randomBytes(10_000);
    const parts: [('c' | 's'), string][] = [
      ['c', C_HDR], ['s', S_HDR], ['s', BIND],
      ['c', `<iq type='set' id='si1' to='romeo@example.net/orchard'><si xmlns='http://jabber.org/protocol/si' id='s5' profile='http://jabber.org/protocol/si/profile/file-transfer'><file xmlns='http://jabber.org/protocol/si/profile/file-transfer' name='plans.docx' size='${file.length}'/></si></iq>`],
      ['c', "<iq type='set' id='o1' to='romeo@example.net/orchard'><open xmlns='http://jabber.org/protocol/ibb' sid='s5' block-size='4096' stanza='iq'/></iq>"],
    ];
    let seq = 0;
    for (let o = 0; o < file.length; o += 4096) {
      parts.push(['c', `<iq type='set' id='d${seq}' to='romeo@example.net/orchard'><data xmlns='http://jabber.org/protocol/ibb' seq='${seq}' sid='s5'>${file.subarray(o, o + 4096).toString('base64')}</data></iq>`]);
      seq++;
    }
    parts.push(['c', "<iq type='set' id='c1' to='romeo@example.net/orchard'><close xmlns='http://jabber.org/protocol/ibb' sid='s5'/></iq>"]);
    const h = xmpp(parts);
    const ft = h.of('file_transfer');
    const offer = ft.find((f) => f.stage === 'offer')!;
    const data = ft.find((f) => f.stage === 'data')!;
    assert.equal(offer.filename, 'plans.docx');
    assert.equal(offer.size, 10000);
    assert.equal(offer.from, 'juliet@example.org/balcony');
    assert.equal(offer.to, 'romeo@example.net/orchard');
    assert.equal(data.transfer_id, offer.transfer_id);
    assert.equal(data.observed_size, 10000);
    assert.equal(data.complete, true);
    assert.equal(data.sha256, crypto.createHash('sha256').update(file).digest('hex'));
  });

  it('Jingle file transfer (XEP-0234) over an IBB transport is offered and carved', () => {
    const file = Buffer.from('jingle in-band payload '.repeat(100));
    const h = xmpp([
      ['c', C_HDR], ['s', S_HDR], ['s', BIND],
      ['s', "<iq from='romeo@example.net/orchard' to='juliet@example.org/balcony' type='set' id='j1'><jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' initiator='romeo@example.net/orchard' sid='851ba2'><content creator='initiator' name='a-file-offer' senders='initiator'><description xmlns='urn:xmpp:jingle:apps:file-transfer:5'><file><name>balcony.jpg</name><size>" + file.length + "</size></file></description><transport xmlns='urn:xmpp:jingle:transports:ibb:1' block-size='4096' sid='ch3d9s71'/></content></jingle></iq>"],
      ['s', "<iq from='romeo@example.net/orchard' type='set' id='o'><open xmlns='http://jabber.org/protocol/ibb' block-size='4096' sid='ch3d9s71'/></iq>"],
      ['s', `<iq from='romeo@example.net/orchard' type='set' id='d'><data xmlns='http://jabber.org/protocol/ibb' seq='0' sid='ch3d9s71'>${file.toString('base64')}</data></iq>`],
      ['s', "<iq from='romeo@example.net/orchard' type='set' id='c'><close xmlns='http://jabber.org/protocol/ibb' sid='ch3d9s71'/></iq>"],
    ]);
    const ft = h.of('file_transfer');
    const offer = ft.find((f) => f.stage === 'offer')!;
    assert.deepEqual([offer.filename, offer.size, offer.from, offer.to, offer.direction], ['balcony.jpg', file.length, 'romeo@example.net/orchard', 'juliet@example.org/balcony', 'inbound']);
    const data = ft.find((f) => f.stage === 'data')!;
    assert.equal(data.transfer_id, offer.transfer_id);
    assert.equal(data.complete, true);
    assert.equal(data.sha256, crypto.createHash('sha256').update(file).digest('hex'));
  });

  it('SI offer + SOCKS5 bytestream (XEP-0065) to an announced streamhost: the SOCKS5 handshake is skipped, the file carved', () => {
    const file = crypto.randomBytes(30_000);
    const h = new FlowHarness({ server: '198.51.100.7:5222' });
    h.send('c', C_HDR).send('s', S_HDR).send('s', BIND);
    h.send('s', `<iq type='set' id='si2' from='romeo@example.net/orchard' to='juliet@example.org/balcony'><si xmlns='http://jabber.org/protocol/si' id='vxf9n471bn46' profile='http://jabber.org/protocol/si/profile/file-transfer'><file xmlns='http://jabber.org/protocol/si/profile/file-transfer' name='rose.png' size='${file.length}'/></si></iq>`);
    h.send('s', "<iq type='set' id='hu3vax16' from='romeo@example.net/orchard' to='juliet@example.org/balcony'><query xmlns='http://jabber.org/protocol/bytestreams' sid='vxf9n471bn46' mode='tcp'><streamhost jid='romeo@example.net/orchard' host='203.0.113.5' port='5086'/><streamhost jid='proxy.example.net' host='proxy.example.net' port='7777'/></query></iq>");
    h.end();
    // juliet (the target) connects to romeo's streamhost; romeo streams the file after SOCKS5
    const d = new FlowHarness({ client: '10.1.1.10:50500', server: '203.0.113.5:5086', engine: h.engine });
    const hash = crypto.createHash('sha1').update('vxf9n471bn46romeo@example.net/orchardjuliet@example.org/balcony').digest('hex');
    d.send('c', Buffer.from([5, 1, 0])).send('s', Buffer.from([5, 0]));
    d.send('c', Buffer.concat([Buffer.from([5, 1, 0, 3, 40]), Buffer.from(hash), Buffer.from([0, 0])]));
    d.send('s', Buffer.concat([Buffer.from([5, 0, 0, 3, 40]), Buffer.from(hash), Buffer.from([0, 0]), file.subarray(0, 1000)]));
    for (let o = 1000; o < file.length; o += 8000) d.send('s', file.subarray(o, o + 8000));
    d.end();
    const ft = h.of('file_transfer');
    const offer = ft.find((f) => f.stage === 'offer')!;
    const data = ft.find((f) => f.stage === 'data')!;
    assert.equal(offer.filename, 'rose.png');
    assert.equal(data.transfer_id, offer.transfer_id);
    assert.equal(data.observed_size, 30000);
    assert.equal(data.complete, true);
    assert.equal(data.sha256, crypto.createHash('sha256').update(file).digest('hex'));
  });

  /** a bytestream connection: the target's SOCKS5 CONNECT to DST.ADDR `hash`, the sender's file after the reply */
  const s5bConnection = (engine: FlowHarness['engine'], client: string, server: string, hash: string, file: Buffer) => {
    const d = new FlowHarness({ client, server, engine });
    d.send('c', Buffer.from([5, 1, 0])).send('s', Buffer.from([5, 0]));
    d.send('c', Buffer.concat([Buffer.from([5, 1, 0, 3, 40]), Buffer.from(hash), Buffer.from([0, 0])]));
    d.send('s', Buffer.concat([Buffer.from([5, 0, 0, 3, 40]), Buffer.from(hash), Buffer.from([0, 0]), file])).end();
  };
  const sha1 = (s: string) => crypto.createHash('sha1').update(s).digest('hex');
  const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

  it('two files through one SOCKS5 proxy (the same host and port): each connection is told by its stream hash, whatever the order; SOCKS5 for another hash and a web client take neither', () => {
    const files = [crypto.randomBytes(3000), crypto.randomBytes(4000)];
    const sids = ['sidone', 'sidtwo'];
    const h = new FlowHarness({ server: '198.51.100.7:5222' });
    h.send('c', C_HDR).send('s', S_HDR).send('s', BIND);
    for (const [i, sid] of sids.entries()) {
      h.send('s', `<iq type='set' id='si${i}' from='romeo@example.net/orchard' to='juliet@example.org/balcony'><si xmlns='http://jabber.org/protocol/si' id='${sid}' profile='http://jabber.org/protocol/si/profile/file-transfer'><file xmlns='http://jabber.org/protocol/si/profile/file-transfer' name='f${i}.bin' size='${files[i].length}'/></si></iq>`);
      h.send('s', `<iq type='set' id='bs${i}' from='romeo@example.net/orchard' to='juliet@example.org/balcony'><query xmlns='http://jabber.org/protocol/bytestreams' sid='${sid}' mode='tcp'><streamhost jid='proxy.example.net' host='203.0.113.77' port='7777'/></query></iq>`);
    }
    h.end();
    // a web client reaching the proxy's port, and a bytestream of a transfer not announced here
    new FlowHarness({ client: '10.1.1.10:50400', server: '203.0.113.77:7777', engine: h.engine }).send('c', 'GET / HTTP/1.1\r\nHost: x\r\n\r\n').end();
    s5bConnection(h.engine, '10.1.1.10:50401', '203.0.113.77:7777', sha1('othersidromeo@example.net/orchardjuliet@example.org/balcony'), crypto.randomBytes(500));
    // the second transfer's connection comes first
    for (const i of [1, 0]) s5bConnection(h.engine, `10.1.1.10:${50501 + i}`, '203.0.113.77:7777', sha1(`${sids[i]}romeo@example.net/orchardjuliet@example.org/balcony`), files[i]);
    const data = h.of('file_transfer').filter((x) => x.stage === 'data');
    assert.deepEqual(data.map((x) => [x.filename, x.sha256, x.complete]).sort(), [['f0.bin', sha256(files[0]), true], ['f1.bin', sha256(files[1]), true]], JSON.stringify(h.of('file_transfer')));
  });

  // Prosody's mod_proxy65 gives its proxy's host name (proxy65_address, by default the component's
  // name) as the streamhost's host: the engine matched announced addresses only, so a transfer
  // through it was never followed
  it('a streamhost given by host name: the connection to the address DNS answered for that name is the bytestream, though another peer named the address itself (through the CLI)', () => {
    const file = crypto.randomBytes(6000);
    const c = new Capture();
    const xmpp = c.tcp('10.1.1.10:50300', '198.51.100.7:5222').open();
    xmpp.send('c', C_HDR).send('s', S_HDR).send('s', BIND);
    // mallory offers a bytestream naming the proxy's address, and never connects: the announcement by
    // address was asked alone, and hid the one by name
    xmpp.send('s', "<iq type='set' id='bs8' from='mallory@evil.example/x' to='juliet@example.org/balcony'><query xmlns='http://jabber.org/protocol/bytestreams' sid='decoy' mode='tcp'><streamhost jid='proxy.example.net' host='203.0.113.88' port='7777'/></query></iq>");
    xmpp.send('s', `<iq type='set' id='si9' from='romeo@example.net/orchard' to='juliet@example.org/balcony'><si xmlns='http://jabber.org/protocol/si' id='named1' profile='http://jabber.org/protocol/si/profile/file-transfer'><file xmlns='http://jabber.org/protocol/si/profile/file-transfer' name='plan.pdf' size='${file.length}'/></si></iq>`);
    xmpp.send('s', "<iq type='set' id='bs9' from='romeo@example.net/orchard' to='juliet@example.org/balcony'><query xmlns='http://jabber.org/protocol/bytestreams' sid='named1' mode='tcp'><streamhost jid='proxy.example.net' host='Proxy.Example.NET.' port='7777'/></query></iq>");
    // juliet's client resolves the proxy (a CNAME to the host that runs it), then connects to it
    c.udp('10.1.1.10:53001', '10.1.1.1:53', dnsQuery('proxy.example.net', 0x4242));
    c.udp('10.1.1.10:53001', '10.1.1.1:53', dnsResponse('proxy.example.net', '203.0.113.88', 'xmpp-host-3.example.net', 0x4242), 's');
    const hash = sha1('named1romeo@example.net/orchardjuliet@example.org/balcony');
    const d = c.tcp('10.1.1.10:50301', '203.0.113.88:7777').open();
    d.send('c', Buffer.from([5, 1, 0])).send('s', Buffer.from([5, 0]));
    d.send('c', Buffer.concat([Buffer.from([5, 1, 0, 3, 40]), Buffer.from(hash), Buffer.from([0, 0])]));
    d.send('s', Buffer.concat([Buffer.from([5, 0, 0, 3, 40]), Buffer.from(hash), Buffer.from([0, 0]), file])).close();
    // another host's address on the same port, never answered for the name: not the bytestream
    const other = c.tcp('10.1.1.10:50302', '203.0.113.89:7777').open();
    other.send('c', Buffer.from([5, 1, 0])).send('s', Buffer.from([5, 0])).close();
    xmpp.close();
    const data = analyzeCapture(c).filter((e) => e.type === 'file_transfer' && e.stage === 'data');
    assert.deepEqual(data.map((e) => [e.filename, e.server.ip, e.sha256, e.complete]), [['plan.pdf', '203.0.113.88', sha256(file), true]]);
  });

  it('streamhosts our client announces (no from: the server stamps it) are hashed with its bound full JID', () => {
    const file = crypto.randomBytes(2500);
    const h = new FlowHarness({ server: '198.51.100.7:5222' });
    h.send('c', C_HDR).send('s', S_HDR).send('s', BIND);
    h.send('c', `<iq type='set' id='si' to='romeo@example.net/orchard'><si xmlns='http://jabber.org/protocol/si' id='up1' profile='http://jabber.org/protocol/si/profile/file-transfer'><file xmlns='http://jabber.org/protocol/si/profile/file-transfer' name='out.bin' size='${file.length}'/></si></iq>`);
    h.send('c', "<iq type='set' id='bs' to='romeo@example.net/orchard'><query xmlns='http://jabber.org/protocol/bytestreams' sid='up1' mode='tcp'><streamhost jid='proxy.example.net' host='203.0.113.77' port='7777'/></query></iq>");
    h.end();
    // first a bytestream hashed with the bare JID: another transfer's, not this one
    const decoy = new FlowHarness({ client: '10.1.1.10:50599', server: '203.0.113.77:7777', engine: h.engine });
    const bare = sha1('up1juliet@example.orgromeo@example.net/orchard');
    decoy.send('c', Buffer.concat([Buffer.from([5, 1, 0, 5, 1, 0, 3, 40]), Buffer.from(bare), Buffer.from([0, 0])])).send('s', Buffer.from([5, 0])).send('c', crypto.randomBytes(900)).end();
    // juliet, the sender, connects to the proxy and streams the file upward
    const d = new FlowHarness({ client: '10.1.1.10:50600', server: '203.0.113.77:7777', engine: h.engine });
    const hash = sha1('up1juliet@example.org/balconyromeo@example.net/orchard');
    d.send('c', Buffer.from([5, 1, 0])).send('s', Buffer.from([5, 0]));
    d.send('c', Buffer.concat([Buffer.from([5, 1, 0, 3, 40]), Buffer.from(hash), Buffer.from([0, 0])]));
    d.send('s', Buffer.concat([Buffer.from([5, 0, 0, 3, 40]), Buffer.from(hash), Buffer.from([0, 0])]));
    d.send('c', file).end();
    const data = h.of('file_transfer').filter((x) => x.stage === 'data');
    assert.deepEqual(data.map((x) => [x.filename, x.sha256, x.from, x.to]), [['out.bin', sha256(file), 'juliet@example.org/balcony', 'romeo@example.net/orchard']]);
  });

  it('a stream hash over the JIDs with their bare parts in lower case matches an iq that wrote them in capitals', () => {
    const file = crypto.randomBytes(1500);
    const h = new FlowHarness({ server: '198.51.100.7:5222' });
    h.send('c', C_HDR).send('s', S_HDR).send('s', BIND);
    h.send('s', `<iq type='set' id='si' from='Romeo@Example.NET/Orchard' to='juliet@example.org/balcony'><si xmlns='http://jabber.org/protocol/si' id='cs1' profile='http://jabber.org/protocol/si/profile/file-transfer'><file xmlns='http://jabber.org/protocol/si/profile/file-transfer' name='caps.bin' size='${file.length}'/></si></iq>`);
    h.send('s', "<iq type='set' id='bs' from='Romeo@Example.NET/Orchard' to='juliet@example.org/balcony'><query xmlns='http://jabber.org/protocol/bytestreams' sid='cs1' mode='tcp'><streamhost jid='proxy.example.net' host='203.0.113.77' port='7777'/></query></iq>").end();
    // (the resource keeps its case: it is compared as written)
    s5bConnection(h.engine, '10.1.1.10:50800', '203.0.113.77:7777', sha1('cs1romeo@example.net/Orchardjuliet@example.org/balcony'), file);
    assert.deepEqual(h.of('file_transfer').filter((x) => x.stage === 'data').map((x) => [x.filename, x.sha256]), [['caps.bin', sha256(file)]]);
  });

  it('Jingle SOCKS5 candidates (XEP-0260): the transport sid is hashed with the two JIDs in either order', () => {
    const files = [crypto.randomBytes(1800), crypto.randomBytes(2200)];
    const h = new FlowHarness({ server: '198.51.100.7:5222' });
    h.send('c', C_HDR).send('s', S_HDR).send('s', BIND);
    for (const [i, f] of files.entries()) {
      h.send('s', `<iq from='romeo@example.net/orchard' to='juliet@example.org/balcony' type='set' id='j${i}'><jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' initiator='romeo@example.net/orchard' sid='js${i}'><content creator='initiator' name='c'><description xmlns='urn:xmpp:jingle:apps:file-transfer:5'><file><name>j${i}.bin</name><size>${f.length}</size></file></description><transport xmlns='urn:xmpp:jingle:transports:s5b:1' sid='ts${i}' mode='tcp'><candidate cid='c${i}' host='192.0.2.${10 + i}' jid='romeo@example.net/orchard' port='6539' priority='8257636' type='direct'/></transport></content></jingle></iq>`);
    }
    h.end();
    const jids = ['romeo@example.net/orchard', 'juliet@example.org/balcony'];
    // hashed with the Jingle session's sid instead of the transport's: not these transfers
    s5bConnection(h.engine, '10.1.1.10:50699', '192.0.2.10:6539', sha1(`js0${jids[0]}${jids[1]}`), crypto.randomBytes(700));
    s5bConnection(h.engine, '10.1.1.10:50700', '192.0.2.10:6539', sha1(`ts0${jids[0]}${jids[1]}`), files[0]);
    s5bConnection(h.engine, '10.1.1.10:50701', '192.0.2.11:6539', sha1(`ts1${jids[1]}${jids[0]}`), files[1]);
    const data = h.of('file_transfer').filter((x) => x.stage === 'data');
    assert.deepEqual(data.map((x) => [x.filename, x.sha256]).sort(), [['j0.bin', sha256(files[0])], ['j1.bin', sha256(files[1])]]);
  });

  it('an IBB block that never arrived makes the file incomplete', () => {
    const b = (seq: number) => `<iq type='set'><data xmlns='http://jabber.org/protocol/ibb' seq='${seq}' sid='q'>${Buffer.alloc(100, seq).toString('base64')}</data></iq>`;
    const h = xmpp([
      ['c', C_HDR], ['s', S_HDR],
      ['s', "<iq type='set' from='romeo@example.net/o'><open xmlns='http://jabber.org/protocol/ibb' sid='q' block-size='100'/></iq>"],
      ['s', b(0)], ['s', b(2)],
      ['s', "<iq type='set'><close xmlns='http://jabber.org/protocol/ibb' sid='q'/></iq>"],
    ]);
    const data = h.of('file_transfer').find((f) => f.stage === 'data')!;
    assert.equal(data.complete, false);
    assert.equal(data.observed_size, 200);
  });

  it('hostile XML: billion laughs, deep nesting, huge stanzas, invalid UTF-8 — bounded, counted, no exception', () => {
    const laughs = '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>';
    const h = new FlowHarness({ server: '198.51.100.7:5222' });
    h.send('c', C_HDR).send('s', S_HDR).send('s', BIND);
    h.send('c', laughs + "<message to='a@b'><body>&lol2;</body></message>");
    h.send('c', "<message to='a@b'><body>" + '<x>'.repeat(5000) + 'deep' + '</x>'.repeat(5000) + '</body></message>');
    const big = 'A'.repeat(64 * 1024);
    h.send('c', "<message to='a@b'><body>");
    for (let i = 0; i < 32; i++) h.send('c', big); // 2 MiB of text in one stanza
    h.send('c', '</body></message>');
    h.send('c', Buffer.concat([Buffer.from("<message to='a@b'><body>bad \xff\xfe utf8 "), Buffer.from([0xc3, 0x28]), Buffer.from('</body></message>')]));
    h.send('c', "<message to='a@b'><body>still alive</body></message>");
    h.end();
    const s = h.of('session')[0];
    assert.ok((s.malformed ?? 0) >= 4, `malformed counted: ${s.malformed}`);
    const texts = h.of('message').map((m) => m.text);
    assert.equal(texts[0], '&lol2;', 'custom entities are never expanded');
    assert.ok(texts.includes('still alive'));
    assert.ok(texts.every((t) => t.length <= 8192));
    assert.ok(!texts.includes('deep'), 'the too-deep stanza was dropped');
  });
});

describe('xmpp: XML reader', () => {
  it('decodeEntities: predefined and numeric only', () => {
    assert.equal(decodeEntities('&lt;&gt;&amp;&quot;&apos;&#65;&#x42;&foo;&#0;'), '<>&"\'AB&foo;\uFFFD');
  });

  boundedIt(__filename, 'seeded fuzz: random and mutated stanzas never throw', fuzzSeconds(120), () => {
    let seed = fuzzSeed(42);
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const seedDoc = Buffer.from(C_HDR + BIND + "<message to='a@b' type='chat'><body>x &amp; y</body></message><iq type='set'><open xmlns='http://jabber.org/protocol/ibb' sid='s' block-size='4'/></iq><![CDATA[z]]><!-- c -->");
    let stanzas = 0;
    for (let i = 0, cases = fuzzCases(400); i < cases; i++) {
      const b = Buffer.from(seedDoc);
      for (let k = 0; k < 1 + Math.floor(rnd() * 20); k++) b[Math.floor(rnd() * b.length)] = rnd() < 0.5 ? Math.floor(rnd() * 256) : '<>/\'"&;='.charCodeAt(Math.floor(rnd() * 8));
      const r = new XmlStream({ streamOpen: () => undefined, streamClose: () => undefined, stanza: (_e: XmlElement) => void stanzas++, malformed: () => undefined });
      // the same bytes read as BOSH bodies (wrapper mode, a document end every few segments)
      const bosh = new XmlStream({ streamOpen: () => undefined, streamClose: () => undefined, stanza: () => undefined, malformed: () => undefined }, undefined, true);
      let o = 0;
      while (o < b.length) {
        const n = 1 + Math.floor(rnd() * 64);
        r.push(b.subarray(o, o + n));
        bosh.push(Buffer.concat([Buffer.from("<body xmlns='http://jabber.org/protocol/httpbind'>"), b.subarray(o, o + n)]));
        if (rnd() < 0.3) bosh.endDocument();
        o += n;
      }
      const h = new FlowHarness({ server: '198.51.100.7:5222' });
      h.send('c', C_HDR).send(rnd() < 0.5 ? 'c' : 's', b).end();
      assert.equal(h.engine.stats.decoderErrors, 0, `case ${i}`);
    }
    assert.ok(stanzas > 0);
  });
});

describe('xmpp: generated capture through the CLI', function () {
  this.timeout(120000);
  it('a message split across out-of-order segments', () => {
    const c = new Capture();
    const t = c.tcp('10.1.1.10:40001', '198.51.100.7:5222');
    t.open();
    t.send('c', C_HDR);
    t.send('s', S_HDR);
    t.send('s', BIND);
    t.send('c', "<message to='romeo@example.net' type='chat'><body>Parting is such sweet sorrow &amp; more</body></message>", { segment: 20, reorder: [2, 0, 1, 4, 3, 5] });
    t.close();
    const events = analyzeCapture(c);
    assert.deepEqual(events.filter((e) => e.type === 'message').map((e) => [e.from, e.to, e.text]), [
      ['juliet@example.org/balcony', 'romeo@example.net', 'Parting is such sweet sorrow & more'],
    ]);
    assert.ok(events.find((e) => e.type === 'session' && e.protocol === 'xmpp'));
  });
});

describe('xmpp: a long message through the CLI', function () {
  this.timeout(120000);
  it('a body of 12,000 characters is reported whole (found by the tshark differential fuzz)', () => {
    // XMPP sets no length on a message (a pasted log); before, the text was cut at 8,192 characters,
    // so what came after, a card number included, reached neither the event nor DLP
    const text = `${'line of a pasted log '.repeat(570)}card 4111 1111 1111 1111 end`;
    const c = new Capture();
    const t = c.tcp('10.1.1.10:40002', '198.51.100.7:5222');
    t.open();
    t.send('c', C_HDR);
    t.send('s', S_HDR);
    t.send('s', BIND);
    t.send('c', `<message to='romeo@example.net' type='chat'><body>${text}</body></message>`);
    t.close();
    const events = analyzeCapture(c);
    const msgs = events.filter((e) => e.type === 'message');
    assert.equal(msgs.length, 1);
    assert.equal(msgs[0].text.length, text.length);
    assert.ok(msgs[0].text.endsWith('1111 end'), msgs[0].text.slice(-40));
    assert.ok(events.some((e) => e.type === 'alert' && e.kind === 'sensitive_data' && e.detector === 'pan'), 'the card past 8,192 characters is found');
  });
});

describe('xmpp + irc: secrets never reach the CLI output (analyzer and alerts included)', function () {
  this.timeout(120000);
  it('SASL PLAIN (XMPP and IRC), IRC PASS and NickServ IDENTIFY: credential events, no secret anywhere', () => {
    const secret = 'Sup3r-Secret-Pw';
    const c = new Capture();
    const x = c.tcp('10.1.1.10:40010', '198.51.100.7:5222');
    x.open();
    x.send('c', C_HDR);
    x.send('s', S_HDR);
    x.send('c', `<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${Buffer.from(`\0juliet\0${secret}`).toString('base64')}</auth>`, { segment: 17 });
    x.send('s', "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>");
    x.close();
    const i = c.tcp('10.1.1.10:40011', '198.51.100.9:6667');
    i.open();
    i.send('c', `PASS ${secret}\r\nNICK alice\r\nUSER alice 0 * :A\r\nAUTHENTICATE PLAIN\r\nAUTHENTICATE ${Buffer.from(`alice\0alice\0${secret}`).toString('base64')}\r\n`);
    i.send('s', ':irc.example.net 001 alice :Welcome\r\n');
    i.send('c', `PRIVMSG NickServ :IDENTIFY ${secret}\r\n`);
    i.close();
    const r = analyzeCaptureRun(c);
    const creds = r.events.filter((e) => e.type === 'credential').map((e) => `${e.protocol}:${e.mechanism}:${e.user}`).sort();
    assert.deepEqual(creds, ['irc:irc-pass:alice', 'irc:nickserv-identify:alice', 'irc:sasl-plain:alice', 'xmpp:sasl-plain:juliet@example.org']);
    const b64 = (v: string) => Buffer.from(v).toString('base64');
    for (const needle of [secret, b64(secret), b64(`\0juliet\0${secret}`), b64(`alice\0alice\0${secret}`)]) {
      assert.ok(!r.stdout.includes(needle) && !r.stderr.includes(needle), `"${needle}" must not be printed`);
    }
  });
});

describe('xmpp: shared real capture', function () {
  this.timeout(120000);
  before(function () {
    if (!havePcaps()) this.skip();
  });

  it('im/xmpp-jabber.pcap meets its label and agrees with tshark on message bodies', function () {
    const file = path.join(PCAPS_DIR, 'im/xmpp-jabber.pcap');
    const r = analyzeFile(file);
    const protos = new Set(r.events.filter((e) => e.type === 'session').map((e) => e.protocol));
    for (const p of labels()['im/xmpp-jabber.pcap'].protocols) assert.ok(protos.has(p), p);
    const users = new Set(r.events.filter((e) => e.type === 'session').flatMap((e) => e.users));
    assert.ok(users.has('tom@cs-xmpp.lan/darkstar'), 'bound JID');
    const texts = r.events.filter((e) => e.type === 'message' && e.protocol === 'xmpp').map((e) => e.text);
    if (!haveTshark()) return;
    const out = execFileSync('tshark', ['-r', file, '-Y', 'xmpp.message.body', '-O', 'xmpp'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
    const bodies = [...out.matchAll(/BODY \[value="([^"]*)"\]/g)].map((m) => m[1]);
    assert.ok(bodies.length > 0);
    assert.deepEqual(texts, bodies);
  });
});

// Gadu-Gadu 10.5/11 ("110") protobuf packets on generated captures. tshark's gadu-gadu dissector does
// not know the 110 packets (it stops at GG_LOGIN105's type), so there is no tshark cross-check here:
// the ground truth is libgadu's packets.proto (GG105Login, GG110LoginOK, GG110SendMessage,
// GG110RecvMessage, GG110Ack), its include/protocol.h packet types (libgadu 1.12), src/protobuf.c
// (UIN fields: { magic, len, digits }) and the way src/libgadu.c gg_send_message_110 writes a message
// (0x0a recipient, 0x10 0x08, 0x18 seq, 0x2a plain, 0x32 xhtml, for a chat 0x3a "" and 0x51 chat_id).
import assert from 'node:assert/strict';
import { FlowHarness } from '../helpers/harness';
import { Capture } from '../helpers/pcapgen';
import { pkt, welcome } from './gadugadu-wire';
import { analyzeCapture } from '../helpers/analyze';
import { boundedIt } from '../helpers/bounded';
import { fuzzCases, fuzzSeconds, fuzzSeed } from '../helpers/fuzz';
import { PacketFramer } from '../../signatures/gadugadu/parser';
import { login105Uin, msg110, pbFields, pbUin } from '../../signatures/gadugadu/proto110';

function varint(v: number | bigint): Buffer {
  let n = BigInt(v);
  const out: number[] = [];
  do {
    let b = Number(n & 0x7fn);
    n >>= 7n;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return Buffer.from(out);
}
const key = (no: number, wt: number) => varint(no * 8 + wt);
const pbVarint = (no: number, v: number) => Buffer.concat([key(no, 0), varint(v)]);
const pbBytes = (no: number, b: Buffer | string) => {
  const d = typeof b === 'string' ? Buffer.from(b, 'utf8') : b;
  return Buffer.concat([key(no, 2), varint(d.length), d]);
};
const pbFixed32 = (no: number, v: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return Buffer.concat([key(no, 5), b]);
};
const pbFixed64 = (no: number, v: bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(v);
  return Buffer.concat([key(no, 1), b]);
};
/** src/protobuf.c gg_protobuf_set_uin: magic 0x01 from the client (the server sends 0x00), length, digits */
const uinField = (uin: number, magic = 0x01) => {
  const s = Buffer.from(String(uin));
  return Buffer.concat([Buffer.from([magic, s.length]), s]);
};

/** GG105Login as handlers.c gg_session_handle_welcome_110 fills it; hash = 20-byte SHA-1 of password + seed */
function login105(uin: number): Buffer {
  return pkt(0x83, Buffer.concat([
    pbBytes(1, 'pl'), pbBytes(2, uinField(uin)), pbBytes(3, Buffer.alloc(20, 0x5a)), pbVarint(4, 4),
    pbFixed32(5, 0x03eeff77), pbFixed32(6, 0x00030614), pbBytes(7, 'GG-Phoenix/11.3.45.10771 (BUILD;WINNT_x86-msvc;rv:11.0,pl;release;standard) (OS;Windows;Windows NT 6.1)'),
    pbFixed32(8, 0x02), pbBytes(9, ''), pbBytes(10, Buffer.alloc(4)), pbBytes(11, 'avatar,StatusComments,ggaccount,edisc,music_shared,bot,fanpage,pubdir,botCaps,gifts,Gift'),
    pbVarint(12, 0xff), pbVarint(13, 100), pbFixed32(14, 0x7f), pbVarint(15, 0), pbVarint(17, 0),
  ]));
}
/** GG110LoginOK */
const loginOk = (uin: number) => pkt(0x9d, Buffer.concat([pbVarint(1, 1), pbBytes(2, 'dummyhash'), pbVarint(3, uin), pbFixed32(4, 1700000000)]));
/** GG110SendMessage (GG_SEND_MSG110 0x7d, or GG_CHAT_SEND_MSG 0x8d when chatId is given) */
function send110(to: number | undefined, seq: number, plain: string, xhtml: string, chatId?: bigint): Buffer {
  const parts: Buffer[] = [to ? pbBytes(1, uinField(to)) : Buffer.alloc(0), pbVarint(2, 0x08), pbVarint(3, seq), pbBytes(5, plain), pbBytes(6, xhtml)];
  if (chatId !== undefined) parts.push(pbBytes(7, ''), pbFixed64(10, chatId));
  return pkt(chatId !== undefined ? 0x8d : 0x7d, Buffer.concat(parts));
}
/** GG110RecvMessage (GG_RECV_MSG110 0x7e by default) */
function recv110(from: number | undefined, seq: number, plain: string | undefined, xhtml: string | undefined, o: { type?: number; chatId?: bigint; extra?: Buffer } = {}): Buffer {
  const parts: Buffer[] = [from ? pbBytes(1, uinField(from, 0x00)) : Buffer.alloc(0), pbVarint(2, 0), pbVarint(3, seq), pbFixed32(4, 1700000000)];
  if (plain !== undefined) parts.push(pbBytes(5, plain));
  if (xhtml !== undefined) parts.push(pbBytes(6, xhtml));
  parts.push(pbFixed64(9, 0x1122334455667788n));
  if (o.chatId !== undefined) parts.push(pbFixed64(10, o.chatId));
  parts.push(pbFixed64(11, 0x99n));
  if (o.extra) parts.push(o.extra);
  return pkt(o.type ?? 0x7e, Buffer.concat(parts));
}
/** GG110Ack (client → server, GG_ACK110 0x86) and GG110MessageAck (server → client, GG_SEND_MSG_ACK110 0x87) */
const ack110 = (type: number, seq: number) => pkt(0x86, Buffer.concat([pbVarint(1, type), pbVarint(2, seq), pbVarint(3, 1)]));
const msgAck110 = (seq: number) => pkt(0x87, Buffer.concat([pbVarint(1, 2), pbVarint(2, seq), pbFixed32(3, 1700000001), pbFixed64(4, 1n), pbFixed64(5, 2n), pbVarint(7, 0)]));

const PL = 'Zażółć gęślą jaźń: ąęłńóśźż ĄĘŁŃÓŚŹŻ';
const ME = 12345678;
const PEER = 7654321;

function msgs(events: any[]): string[][] {
  return events.filter((e) => e.type === 'message').map((e) => [e.from, e.to, e.text, e.direction, e.kind].filter((x) => x !== undefined));
}

describe('gadugadu 10/11 (protobuf packets)', function () {
  this.timeout(120000);

  it('a GG 11 session through the CLI: welcome, GG_LOGIN105, login OK, send/receive message 110, acks, a chat, out-of-order and coalesced segments', () => {
    const c = new Capture();
    const t = c.tcp('10.1.1.10:40002', '91.214.237.10:443');
    t.open();
    t.send('s', welcome);
    t.send('c', login105(ME));
    t.send('s', loginOk(ME));
    // split into small segments delivered out of order
    const first = send110(PEER, 1, PL, `<span style="color:#000000; ">${PL}</span>`);
    const order = Array.from({ length: Math.ceil(first.length / 13) }, (_, i) => i);
    [order[0], order[2], order[3], order[4]] = [order[2], order[0], order[4], order[3]];
    t.send('c', first, { segment: 13, reorder: order });
    t.send('s', msgAck110(1));
    // several packets in one segment: a received message, an XHTML-only one, our ack, a multilogon echo
    t.send('s', Buffer.concat([
      recv110(PEER, 100, 'dzięki, do jutra', '<span>dzięki, do jutra</span>'),
      recv110(PEER, 101, '', '<span style="font-weight:bold;">tylko</span> xhtml &amp; znaczniki<br>druga linia'),
      recv110(PEER, 102, 'z telefonu', undefined, { type: 0x82 }),
    ]));
    t.send('c', Buffer.concat([ack110(1, 100), ack110(1, 101), ack110(1, 102)]));
    // a conference: we send, someone else writes, and our other device writes (no sender field)
    t.send('c', send110(undefined, 2, 'cześć wszystkim', '<span>cześć wszystkim</span>', 0xabcdef0123456789n));
    t.send('s', recv110(3333333, 103, 'hej', undefined, { type: 0x88, chatId: 0xabcdef0123456789n }));
    t.send('s', recv110(undefined, 104, 'z drugiego komputera', undefined, { type: 0x8e, chatId: 0xabcdef0123456789n }));
    t.send('c', ack110(2, 103));
    t.close();
    const events = analyzeCapture(c);
    const s = events.filter((e) => e.type === 'session');
    assert.equal(s.length, 1);
    assert.equal(s[0].protocol, 'gadugadu');
    assert.equal(s[0].malformed ?? 0, 0);
    for (const u of [String(ME), String(PEER), '3333333']) assert.ok(s[0].users.includes(u), `${u} in ${s[0].users}`);
    assert.ok(!s[0].users.some((u: string) => u.startsWith('chat:')), 'a conference is not a user');
    const chat = `chat:${0xabcdef0123456789n}`;
    assert.deepEqual(msgs(events), [
      [String(ME), String(PEER), PL, 'outbound', 'chat'],
      [String(PEER), String(ME), 'dzięki, do jutra', 'inbound', 'chat'],
      [String(PEER), String(ME), 'tylko xhtml & znaczniki\ndruga linia', 'inbound', 'chat'],
      [String(ME), String(PEER), 'z telefonu', 'outbound', 'chat'],
      [String(ME), chat, 'cześć wszystkim', 'outbound', 'conference'],
      ['3333333', chat, 'hej', 'inbound', 'conference'],
      [String(ME), chat, 'z drugiego komputera', 'outbound', 'conference'],
    ]);
    assert.equal(events.filter((e) => e.type === 'credential').length, 0, 'GG105Login.hash is a SHA-1 of password and seed, not a cleartext credential');
  });

  it('the UIN comes from GG110LoginOK when the login carried none (login by e-mail address)', () => {
    const h = new FlowHarness({ server: '91.214.237.10:8074' });
    const byMail = pkt(0x83, Buffer.concat([pbBytes(1, 'pl'), pbBytes(2, Buffer.concat([Buffer.from([0x01, 13]), Buffer.from('ja@example.pl')])), pbBytes(3, Buffer.alloc(20))]));
    h.send('s', welcome).send('c', byMail).send('s', loginOk(ME));
    h.send('c', send110(PEER, 1, 'x', '<span>x</span>'));
    h.end();
    assert.deepEqual(msgs(h.events), [[String(ME), String(PEER), 'x', 'outbound', 'chat']]);
  });

  it('an image (data with an empty msg_plain) is not a text message; unknown fields are skipped', () => {
    const h = new FlowHarness({ server: '91.214.237.10:8074' });
    h.send('s', welcome).send('c', login105(ME)).send('s', loginOk(ME));
    h.send('s', recv110(PEER, 1, '', '<img name="abc">', { extra: pbBytes(7, Buffer.alloc(9, 1)) }));
    // unknown fields of every wire type around the known ones, and a field number far beyond the schema
    h.send('s', recv110(PEER, 2, 'po nieznanych', undefined, { extra: Buffer.concat([pbVarint(8, 300), pbFixed32(12, 7), pbFixed64(99, 5n), pbBytes(1000, 'zzz'), pbVarint(536870911, 1)]) }));
    h.end();
    assert.deepEqual(msgs(h.events), [[String(PEER), String(ME), 'po nieznanych', 'inbound', 'chat']]);
    assert.equal(h.of('session')[0].malformed ?? 0, 0);
  });

  it('protobuf reader: lying lengths, overlong varints, groups and field floods are refused, bounded', () => {
    const ok = Buffer.concat([pbBytes(5, 'abc'), pbVarint(3, 7)]);
    assert.equal(pbFields(ok)?.length, 2);
    // a length past the end of the body
    assert.equal(pbFields(Buffer.concat([key(5, 2), varint(1000), Buffer.from('abc')])), undefined);
    // a length that does not fit in 2^53 (the 10-byte maximum)
    assert.equal(pbFields(Buffer.concat([key(5, 2), Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), Buffer.from('abc')])), undefined);
    // a varint of 11+ bytes (continuation bit never cleared) and a truncated one
    assert.equal(pbFields(Buffer.concat([key(3, 0), Buffer.alloc(11, 0xff), Buffer.from([0])])), undefined);
    assert.equal(pbFields(Buffer.concat([key(3, 0), Buffer.from([0x80, 0x80])])), undefined);
    // a 10-byte varint is valid
    assert.equal(pbFields(Buffer.concat([key(3, 0), Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])]))?.length, 1);
    // groups (wire types 3/4), wire types 6/7, field number 0, truncated fixed32/64
    for (const bad of [Buffer.from([0x0b, 0x0c]), Buffer.from([0x0e]), Buffer.from([0x0f]), Buffer.from([0x00, 0x01]), Buffer.from([0x0d, 1, 2, 3]), Buffer.from([0x09, 1, 2, 3, 4, 5, 6, 7])]) {
      assert.equal(pbFields(bad), undefined, bad.toString('hex'));
    }
    // more fields than any GG 11 message has: refused (linear work, nothing kept)
    assert.equal(pbFields(Buffer.alloc(100000, 0x08 /* key 1/varint */).fill(0, 1, 2)), undefined);
    // UIN fields: the length byte must match, ≤ 10 digits, digits only, not 0, 32-bit
    assert.equal(pbUin(uinField(1234)), '1234');
    assert.equal(pbUin(Buffer.from([0, 5, 0x31, 0x32])), undefined);
    assert.equal(pbUin(Buffer.concat([Buffer.from([0, 11]), Buffer.from('12345678901')])), undefined);
    assert.equal(pbUin(Buffer.concat([Buffer.from([0, 10]), Buffer.from('9999999999')])), undefined);
    assert.equal(pbUin(Buffer.concat([Buffer.from([0, 3]), Buffer.from('1a2')])), undefined);
    assert.equal(pbUin(Buffer.from([0, 1, 0x30])), undefined);
    assert.equal(login105Uin(login105(ME).subarray(8)), String(ME));
    // a lying length inside a message packet: counted malformed, no message, the stream goes on
    const h = new FlowHarness({ server: '91.214.237.10:8074' });
    h.send('s', welcome).send('c', login105(ME));
    h.send('c', pkt(0x7d, Buffer.concat([pbBytes(1, uinField(PEER)), key(5, 2), varint(5000), Buffer.from('short')])));
    h.send('c', send110(PEER, 2, 'po błędzie', ''));
    h.end();
    assert.deepEqual(msgs(h.events), [[String(ME), String(PEER), 'po błędzie', 'outbound', 'chat']]);
    assert.equal(h.of('session')[0].malformed, 1);
  });

  // review: after a loss only the GG 8 list of packets was a start, so conference and GG 11 status
  // packets kept a direction lost (and a segment holding one with a message was dropped whole)
  it('after a lost segment, reading resumes at conference and GG 11 packets, and at a message followed by a packet of another kind', () => {
    const h = new FlowHarness({ server: '91.214.237.10:8074' });
    h.send('s', welcome).send('c', login105(ME)).send('s', loginOk(ME));
    const gap = (d: 0 | 1) => (h as any).handler.onGap(d, 100, 0);
    gap(0);
    h.send('c', send110(undefined, 2, 'to the conference', '', 0xabcn));
    h.send('c', Buffer.concat([send110(PEER, 3, 'then direct', ''), pkt(0x63, Buffer.alloc(16))]));
    gap(1);
    h.send('s', recv110(333, 5, 'from the conference', undefined, { type: 0x88, chatId: 0xabcn }));
    h.send('s', Buffer.concat([recv110(PEER, 6, 'and back', undefined), pkt(0x44, Buffer.alloc(12))]));
    // libgadu 1.12's other GG 11 packets: a conference's info update, a transfer's info, a conference left
    for (const [type, n] of [[0x9e, 7], [0xa0, 8], [0x66, 9]]) {
      gap(1);
      h.send('s', Buffer.concat([pkt(type, Buffer.alloc(12)), recv110(PEER, n, `after 0x${type.toString(16)}`, undefined)]));
    }
    gap(0);
    h.send('c', Buffer.concat([pkt(0x90, Buffer.alloc(20)), send110(PEER, 10, 'after an invite', '')]));
    h.end();
    assert.deepEqual(h.of('message').map((m) => m.text), ['to the conference', 'then direct', 'from the conference', 'and back', 'after 0x9e', 'after 0xa0', 'after 0x66', 'after an invite']);
  });

  it('a 2 MiB packet: counted malformed and skipped, no exception, the next packet read; a 2 MiB protobuf body parses in bounded work', () => {
    const h = new FlowHarness({ server: '91.214.237.10:8074' });
    h.send('s', welcome).send('c', login105(ME));
    const big = send110(PEER, 1, 'x'.repeat(2 * 1024 * 1024), '');
    for (let o = 0; o < big.length; o += 65536) h.send('c', big.subarray(o, o + 65536));
    h.send('c', send110(PEER, 2, 'after it', ''));
    h.end();
    const s = h.of('session')[0];
    assert.equal(s.protocol, 'gadugadu');
    assert.ok((s.malformed ?? 0) >= 1);
    assert.deepEqual(h.of('message').map((m) => m.text), ['after it']);
    // the parser on its own: a 2 MiB msg_plain is one field (a view), the text is capped by the decoder
    const m = msg110(big.subarray(8), false);
    assert.equal(m?.plain.length, 2 * 1024 * 1024);
    assert.equal(m?.peer, String(PEER));
  });

  // htmlToText rescanned a run of blanks without a newline from each of its characters (64 KiB of
  // spaces: 3.4 s a packet) and an unclosed <script> to the end for each one: a few such packets hung
  boundedIt(__filename, 'XHTML-only messages of 60 KiB blanks or unclosed <script>/<style> tags: read in linear time', 20, () => {
    const h = new FlowHarness({ server: '91.214.237.10:8074' });
    h.send('s', welcome).send('c', login105(ME));
    const bodies = [' '.repeat(60000) + 'x', '\t \t'.repeat(20000) + 'x', 'x<br>' + '<script>'.repeat(7500), 'x' + '<style a="1">'.repeat(4600)];
    for (let i = 0; i < 16; i++) h.send('s', recv110(PEER, i, '', bodies[i % 4]));
    h.end();
    assert.deepEqual(h.of('message').map((m) => m.text), Array(16).fill('x'));
    assert.equal(h.engine.stats.decoderErrors, 0);
  });

  boundedIt(__filename, 'seeded fuzz: mutated GG 11 packets never throw', fuzzSeconds(120), () => {
    let seed = fuzzSeed(11);
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const seeds = [
      login105(ME), loginOk(ME), send110(PEER, 1, PL, `<b>${PL}</b>`), send110(undefined, 2, 'c', '<i>c</i>', 5n),
      recv110(PEER, 3, 'r', '<u>r</u>'), recv110(undefined, 4, 'o', undefined, { type: 0x8e, chatId: 9n }), ack110(1, 3), msgAck110(1),
    ];
    let n = 0;
    const f = new PacketFramer((p) => {
      n++;
      msg110(p.body, true);
      pbFields(p.body);
    }, () => undefined);
    for (let i = 0, cases = fuzzCases(400); i < cases; i++) {
      const base = Buffer.from(seeds[Math.floor(rnd() * seeds.length)]);
      const body = base.subarray(8);
      const edits = 1 + Math.floor(rnd() * 6);
      for (let j = 0; j < edits && body.length; j++) {
        const at = Math.floor(rnd() * body.length);
        const r = rnd();
        body[at] = r < 0.3 ? 0xff : r < 0.5 ? 0x80 : r < 0.6 ? 0 : Math.floor(rnd() * 256);
      }
      const cut = rnd() < 0.2 ? Math.floor(rnd() * body.length) : body.length;
      const p = pkt(base.readUInt32LE(0), body.subarray(0, cut));
      f.push(p);
      const type = p.readUInt32LE(0);
      const h = new FlowHarness({ server: '198.51.100.7:8074' });
      h.send('s', welcome).send('c', login105(ME)).send([0x7e, 0x82, 0x88, 0x8e, 0x9d].includes(type) ? 's' : 'c', p).end();
      for (const e of h.of('message')) assert.ok(typeof e.text === 'string' && e.text.length <= 8192);
      assert.equal(h.engine.stats.decoderErrors, 0, `case ${i}`);
    }
    assert.ok(n > 0);
  });
});

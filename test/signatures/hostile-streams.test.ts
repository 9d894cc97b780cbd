// Hostile streams aimed at the decoders' loops and buffers (not random fuzzing): bytes made to be
// the worst case of one framer, in 1-byte segments. Each test asserts on work or memory counted by
// the decoder, or on what is read after the junk — never on time.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { FlapReader } from '../../signatures/oscar/flap';
import { Flaps, u16, u32 } from './oscar-wire';
import { REPO } from '../helpers/paths';
import { FlowHarness } from '../helpers/harness';
import { resyncWork } from '../../signatures/msn';
import { textMsg } from './msn-wire';
import { sniffWork } from '../../signatures/xmpp/http';
import { boshPost, boshReply } from './xmpp-web-wire';

/** Runs `code` (JavaScript, with `held()` the heap and buffers in use after a full GC) in a child with --expose-gc; what it put in `out`. */
function child(code: string): Record<string, any> {
  const script = `
    const held = () => { gc(); gc(); const m = process.memoryUsage(); return m.heapUsed + m.arrayBuffers; };
    const out = {};
    ${code}
    console.log(JSON.stringify(out));
  `;
  const r = spawnSync(process.execPath, ['--expose-gc', '--max-old-space-size=512', '-r', 'tsx/cjs', '-e', script], { cwd: REPO, encoding: 'utf8', timeout: 100_000, killSignal: 'SIGKILL' });
  assert.equal(r.status, 0, `${r.signal ?? ''} ${r.stderr.slice(-2000)}`);
  return JSON.parse(r.stdout);
}

/** child() with `h` a FlowHarness on `server` to which `open` was sent, `before` = held() then, and `bytewise(dir, b)` */
function measured(server: string, open: string, body: string): Record<string, any> {
  return child(`
    const { FlowHarness } = require('./test/helpers/harness');
    const bytewise = (dir, b) => { for (let i = 0; i < b.length; i++) h.send(dir, b.subarray(i, i + 1)); };
    const h = new FlowHarness({ server: ${JSON.stringify(server)} });
    for (const [dir, b] of ${open}) h.send(dir, b);
    const before = held();
    ${body}
  `);
}

/** `unit` repeated to `n` bytes */
function rep(unit: number[] | Buffer, n: number): Buffer {
  const u = Buffer.from(unit);
  const b = Buffer.alloc(n);
  for (let o = 0; o < n; o += u.length) u.copy(b, o, 0, Math.min(u.length, n - o));
  return b;
}

function bytewise(push: (b: Buffer) => void, data: Buffer): void {
  for (let i = 0; i < data.length; i++) push(data.subarray(i, i + 1));
}

describe('hostile streams: bounded work and memory per byte', () => {
  it('oscar: 16 KiB of FLAP headers claiming 64 KiB each, a byte a segment, while resynchronising: each looked at about once; the FLAPs after them are read', () => {
    // before: every segment searched all the held bytes again (2,000 candidates a byte here; 1 MB took minutes)
    const pdus: number[] = [];
    const r = new FlapReader((_ch, seq) => pdus.push(seq), () => {}, true);
    // channel 3 has no content check: each header waits for 64 KiB to be told
    const junk = rep([0x2a, 0x03, 0x00, 0x00, 0xff, 0xff, 0x00, 0x00], 16 * 1024);
    bytewise((b) => r.push(b), junk);
    const candidates = junk.length / 8;
    assert.ok(r.examined < 2 * candidates, `${r.examined} candidate headers looked at for ${candidates}`);
    const f = new Flaps(0x4000);
    r.push(Buffer.concat([f.snac(4, 6, Buffer.concat([Buffer.alloc(8), u16(1)])), f.snac(1, 2, u32(0)), f.snac(4, 6, Buffer.alloc(10))]));
    assert.deepEqual(pdus, [0x4000, 0x4001, 0x4002]);
  });

  it('msn: a 256 KiB MSG payload and a 256 KiB gateway body, a byte a segment: memory about their size; the MSG is read', function () {
    this.timeout(120_000);
    // before: a Buffer per segment was kept, ~110 bytes a byte (28 MiB for each of these; 114 MiB for a 1 MiB payload)
    const out = measured('198.51.100.8:1863', `[['c', 'USR 1 alice@example.com 1835953129.20013021.2623242\\r\\n'], ['s', 'USR 1 OK alice@example.com Alice\\r\\nJOI bob@example.net Bob 1616756780\\r\\n']]`, `
      const text = 'x'.repeat(256 * 1024);
      const msg = Buffer.from('MIME-Version: 1.0\\r\\nContent-Type: text/plain; charset=UTF-8\\r\\n\\r\\n' + text);
      const all = Buffer.concat([Buffer.from('MSG 2 N ' + msg.length + '\\r\\n'), msg]);
      bytewise('c', all.subarray(0, all.length - 1));
      out.msn = held() - before;
      h.send('c', all.subarray(all.length - 1));
      out.texts = h.of('message').map((m) => m.text.slice(0, 4));
      const g = new FlowHarness({ server: '198.51.100.8:80' });
      const post = (len) => Buffer.from('POST /gateway/gateway.dll?SessionID=1.2 HTTP/1.1\\r\\nHost: gateway.messenger.hotmail.com\\r\\nContent-Type: application/x-msn-messenger\\r\\nContent-Length: ' + len + '\\r\\n\\r\\n');
      g.send('c', Buffer.concat([post(5), Buffer.from('VER 1')]));
      g.send('c', post(all.length));
      const before2 = held();
      for (let i = 0; i < all.length - 1; i++) g.send('c', all.subarray(i, i + 1));
      out.gateway = held() - before2;
      g.send('c', all.subarray(all.length - 1));
      out.gatewayTexts = g.of('message').map((m) => m.text.slice(0, 4));
    `);
    assert.deepEqual(out.texts, ['xxxx']);
    assert.deepEqual(out.gatewayTexts, ['xxxx']);
    assert.ok(out.msn < 4 << 20, `${out.msn} bytes held for a 256 KiB payload`);
    assert.ok(out.gateway < 4 << 20, `${out.gateway} bytes held for a 256 KiB body`);
  });

  it('ymsg: a 64 KiB PDU each way, a byte a segment: memory about its size; both are read', function () {
    this.timeout(120_000);
    // before: a Buffer per segment was kept (7 MB a direction for one PDU)
    const out = measured('198.51.100.11:5050', `[['c', require('./test/signatures/ymsg-wire').pdu(0x57, [[1, 'alice_y']])]]`, `
      const { pdu } = require('./test/signatures/ymsg-wire');
      const big = (from, to) => pdu(0x06, [[1, from], [5, to], [14, 'y'.repeat(65400)]]);
      const a = big('alice_y', 'bob_y'), b = big('bob_y', 'alice_y');
      bytewise('c', a.subarray(0, a.length - 1));
      bytewise('s', b.subarray(0, b.length - 1));
      out.held = held() - before;
      h.send('c', a.subarray(a.length - 1));
      h.send('s', b.subarray(b.length - 1));
      out.texts = h.of('message').map((m) => m.from + ' ' + m.text.length);
    `);
    assert.deepEqual(out.texts, ['alice_y 65400', 'bob_y 65400']);
    assert.ok(out.held < 3 << 20, `${out.held} bytes held for two 64 KiB PDUs`);
  });

  it('irc: 20 flows each holding an 8 KiB line each way, a byte a segment: memory about the lines; each is read', function () {
    this.timeout(120_000);
    // before: a Buffer per segment was kept (900 KB for one 8 KiB line)
    const REG = "[['c', 'NICK alice\\r\\nUSER alice 0 * :Alice\\r\\n'], ['s', ':irc.example.net 001 alice :Welcome\\r\\n']]";
    const out = measured('198.51.100.7:6667', REG, `
      const flows = [h];
      for (let i = 1; i < 20; i++) {
        const f = new FlowHarness({ server: '198.51.100.7:6667', client: '10.1.1.' + (10 + i) + ':40000' });
        for (const [dir, b] of ${REG}) f.send(dir, b);
        flows.push(f);
      }
      const base = held();
      const line = (who) => Buffer.from('PRIVMSG #ops :' + who + ' ' + 'z'.repeat(8000) + '\\r\\n');
      const c = line('from-client'), s = line('from-server');
      for (const f of flows) {
        for (let i = 0; i < c.length - 1; i++) f.send('c', c.subarray(i, i + 1));
        for (let i = 0; i < s.length - 1; i++) f.send('s', s.subarray(i, i + 1));
      }
      out.held = held() - base;
      for (const f of flows) f.send('c', c.subarray(c.length - 1)).send('s', s.subarray(s.length - 1));
      out.texts = flows.map((f) => f.of('message').map((m) => m.text.slice(0, 11)).join());
    `);
    assert.deepEqual(new Set(out.texts), new Set(['from-client,from-server']));
    assert.ok(out.held < 8 << 20, `${out.held} bytes held for 40 lines of 8 KiB`);
  });

  it('gadugadu: a 64 KiB packet each way, a byte a segment: memory about its size; the message is read', function () {
    this.timeout(120_000);
    // before: a Buffer per segment was kept (7 MB a direction for one packet)
    const open = `(() => {
      const { pkt, u32, welcome } = require('./test/signatures/gadugadu-wire');
      const u16 = (v) => { const b = Buffer.alloc(2); b.writeUInt16LE(v); return b; };
      const version = Buffer.from('Gadu-Gadu Client build 8.0.0.7669');
      const login = pkt(0x31, Buffer.concat([u32(1234567), Buffer.from('pl'), Buffer.from([2]), Buffer.alloc(64, 0xaa), u32(2), u32(0), u32(7), u32(0), u16(0), u32(0), u16(0), Buffer.from([0xff, 0x64]), u32(version.length), version, u32(0)]));
      return [['s', welcome], ['c', login], ['s', pkt(0x35, u32(1))]];
    })()`;
    const out = measured('91.214.237.10:8074', open, `
      const { pkt, u32 } = require('./test/signatures/gadugadu-wire');
      const send = pkt(0x0b, Buffer.concat([u32(7654321), u32(2), u32(0x04), Buffer.alloc(65000, 0x67), Buffer.from([0])]));
      const other = pkt(0x99, Buffer.alloc(65000));
      bytewise('c', send.subarray(0, send.length - 1));
      bytewise('s', other.subarray(0, other.length - 1));
      out.held = held() - before;
      h.send('c', send.subarray(send.length - 1));
      out.texts = h.of('message').map((m) => m.text.slice(0, 4));
    `);
    assert.deepEqual(out.texts, ['gggg']);
    assert.ok(out.held < 3 << 20, `${out.held} bytes held for two 64 KiB packets`);
  });

  it('carving: 10 files written a byte at a time, each spooled: memory about the head and one spool block each; hashes and files whole', function () {
    this.timeout(120_000);
    // before: a Buffer per write for the first 33 KiB and for each unwritten spool block (10 MB a file)
    const out = child(`
      const crypto = require('node:crypto');
      const fs = require('node:fs');
      const { Carver } = require('./signatures/carve');
      const { SpoolDir } = require('./analyzer/files/spool');
      const dir = new SpoolDir(undefined, 64 << 20, 1 << 30);
      const file = crypto.randomBytes(60000);
      const done = [];
      const before = held();
      const carves = [];
      for (let k = 0; k < 10; k++) {
        const c = new Carver({ filename: 'f' + k, from: 'a', to: 'b' }, (f) => done.push(f), dir.open());
        for (let i = 0; i < file.length; i++) c.write(file.subarray(i, i + 1));
        carves.push(c);
      }
      out.held = held() - before;
      for (const c of carves) c.end(1);
      const sha = crypto.createHash('sha256').update(file).digest('hex');
      out.ok = done.map((f) => f.sha256 === sha && f.head.equals(file.subarray(0, 33 * 1024)) && fs.readFileSync(f.spool.path).equals(file));
      dir.cleanup();
    `);
    assert.deepEqual(out.ok, Array(10).fill(true));
    assert.ok(out.held < 8 << 20, `${out.held} bytes held by 10 carves of 60,000 1-byte writes`);
  });

  it('oscar Direct IM: a 64 KiB frame each way, a byte a segment: memory about its text; both are read', function () {
    this.timeout(120_000);
    // before: a Buffer per segment was kept for the first 64 KiB of a payload (7.3 MB a direction)
    const open = "[['c', require('./test/signatures/oscar-wire').odcFrame({ sn: 'alice', cookie: Buffer.alloc(8, 1), payload: Buffer.from('hi') })]]";
    const out = measured('198.51.100.20:4443', open, `
      const { odcFrame } = require('./test/signatures/oscar-wire');
      const a = odcFrame({ sn: 'alice', cookie: Buffer.alloc(8, 1), payload: Buffer.alloc(65000, 0x61) });
      const b = odcFrame({ sn: 'bob', cookie: Buffer.alloc(8, 1), payload: Buffer.alloc(65000, 0x62) });
      bytewise('c', a.subarray(0, a.length - 1));
      bytewise('s', b.subarray(0, b.length - 1));
      out.held = held() - before;
      h.send('c', a.subarray(a.length - 1));
      h.send('s', b.subarray(b.length - 1));
      out.texts = h.of('message').map((m) => m.from + ' ' + m.text.slice(0, 4));
    `);
    assert.deepEqual(out.texts, ['alice hi', 'alice aaaa', 'bob bbbb']);
    assert.ok(out.held < 3 << 20, `${out.held} bytes held for two 64 KiB frames`);
  });

  it('msn: a direction picked up mid-stream, 4 KiB of "MSG " without a line end a byte a segment: bounded work per byte; the MSG after it is read', () => {
    // before: every 'MSG ' searched on to the end of the held bytes for its line end, on every segment (~3e9 bytes here)
    const h = new FlowHarness({ server: '198.51.100.8:1863', clientBy: 'port' });
    h.send('s', 'USR 1 OK alice@example.com Alice\r\nJOI bob@example.net Bob 1616756780\r\nJOI carol@example.net Carol 1616756780\r\n');
    const junk = Buffer.concat([Buffer.from('x'), rep(Buffer.from('MSG '), 4000)]);
    const work = resyncWork.lineBytes;
    bytewise((b) => h.send('c', b), junk);
    const looked = resyncWork.lineBytes - work;
    assert.ok(looked < 256 * junk.length, `${looked} bytes looked at for ${junk.length}`);
    h.send('c', Buffer.concat([Buffer.from('\r\n'), textMsg('2 N', 'after the junk'), Buffer.from('PNG\r\n')]));
    h.end();
    assert.deepEqual(h.of('message').map((m) => m.text), ['after the junk']);
  });

  it('msrp: 8 text messages in 100,000 one-byte chunks: memory about their text, not a Buffer per chunk; each is read', function () {
    this.timeout(120_000);
    // before: a Buffer per chunk (~110 bytes a byte of text), up to 64 messages x 256 KiB of them: ~1.6 GB a flow
    const first = 'MSRP a0 SEND\\r\\nTo-Path: msrp://192.0.2.1:2855/a;tcp\\r\\nFrom-Path: msrp://192.0.2.2:2856/b;tcp\\r\\nMessage-ID: m0\\r\\nByte-Range: 1-2/2\\r\\nContent-Type: text/plain\\r\\n\\r\\nhi\\r\\n-------a0$\\r\\n';
    const out = measured('198.51.100.31:2855', `[['c', '${first}']]`, `
      const chunk = (i, m, body, flag) => 'MSRP t' + i + ' SEND\\r\\nMessage-ID: m' + m + '\\r\\nByte-Range: ' + i + '-' + i + '/*\\r\\nContent-Type: text/plain\\r\\n\\r\\n' + body + '\\r\\n-------t' + i + flag + '\\r\\n';
      for (let i = 1; i <= 100000; i += 20) {
        let s = '';
        for (let k = i; k < i + 20; k++) s += chunk(k, 1 + (k % 8), String.fromCharCode(0x61 + (k % 8)), '+');
        h.send('c', Buffer.from(s));
      }
      out.held = held() - before;
      let e = '';
      for (let m = 1; m <= 8; m++) e += chunk(100000 + m, m, '.', '$');
      h.send('c', Buffer.from(e));
      out.texts = h.of('message').map((m) => m.text.length + m.text.slice(0, 2));
    `);
    assert.ok(out.held < 4 << 20, `${out.held} bytes held for 100,000 bytes of text`);
    assert.deepEqual(out.texts, ['2hi', '12501aa', '12501bb', '12501cc', '12501dd', '12501ee', '12501ff', '12501gg', '12501hh']);
  });

  it('xmpp BOSH: a body whose root tag is 2 KiB long, a byte a segment: its bytes read about once while it is sniffed; the message in it is read', () => {
    // before: the held prefix was copied and read again from its start for every segment (2 MB read for this 2 KiB)
    const h = new FlowHarness({ server: '198.51.100.40:5280' });
    h.send('c', boshPost("<body rid='0' to='example.org' ver='1.6' wait='60' hold='1' xmlns='http://jabber.org/protocol/httpbind'/>"));
    h.send('s', boshReply("<body sid='s' wait='60' xmlns='http://jabber.org/protocol/httpbind'/>"));
    const post = boshPost("<body rid='1' sid='s'" + ' '.repeat(1900) + " xmlns='http://jabber.org/protocol/httpbind'><message to='bob@example.org' type='chat'><body>after a long tag</body></message></body>");
    const at = post.indexOf('\r\n\r\n') + 4;
    h.send('c', post.subarray(0, at));
    const work = sniffWork.bytes;
    bytewise((b) => h.send('c', b), post.subarray(at));
    const read = sniffWork.bytes - work;
    assert.ok(read < 4 * (post.length - at), `${read} bytes read to sniff a ${post.length - at}-byte body`);
    h.end();
    assert.deepEqual(h.of('message').map((m) => m.text), ['after a long tag']);
  });

  it('xmpp: 4 flows each with a 60 KB message body each way, a byte a segment: memory about the text; each is read', function () {
    this.timeout(120_000);
    // before: each piece was appended to the element's text string, a rope of 1-character strings (~2 MB a body)
    const OPEN = `[['c', "<?xml version='1.0'?><stream:stream to='example.org' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>"], ['s', "<?xml version='1.0'?><stream:stream from='example.org' id='abc' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>"]]`;
    const out = measured('198.51.100.9:5222', OPEN, `
      const flows = [h];
      for (let i = 1; i < 4; i++) {
        const f = new FlowHarness({ server: '198.51.100.9:5222', client: '10.1.1.' + (10 + i) + ':40000' });
        for (const [dir, b] of ${OPEN}) f.send(dir, b);
        flows.push(f);
      }
      const base = held();
      const msg = (from, to, ch) => Buffer.from("<message from='" + from + "' to='" + to + "' type='chat'><body>" + ch.repeat(60000) + '</body></message>');
      const c = msg('alice@example.org', 'bob@example.org', 'c'), s = msg('bob@example.org', 'alice@example.org', 's');
      for (const f of flows) {
        for (let i = 0; i < c.length - 20; i++) f.send('c', c.subarray(i, i + 1));
        for (let i = 0; i < s.length - 20; i++) f.send('s', s.subarray(i, i + 1));
      }
      out.held = held() - base;
      for (const f of flows) f.send('c', c.subarray(c.length - 20)).send('s', s.subarray(s.length - 20));
      out.texts = flows.map((f) => f.of('message').map((m) => m.text.length + m.text.slice(0, 1)).join());
    `);
    assert.ok(out.held < 6 << 20, `${out.held} bytes held for 8 bodies of 60 KB`);
    // each body whole (XMPP sets no length; the decoder's bound is the 64 KiB stanza, 6241296)
    assert.deepEqual(new Set(out.texts), new Set(['60000c,60000s']));
  });

  it('msn P2P: 4 MSNSLP invitations of 40 KB each, in 1-byte fragments: memory about their size; each offer is read', function () {
    this.timeout(120_000);
    // before: a Buffer per fragment (~100 bytes each), up to 16 reassemblies x 64 KiB of them: ~100 MB a flow
    const OPEN = "[['c', 'USR 1 alice@example.com 1835953129.20013021.2623242\\r\\n'], ['s', 'USR 1 OK alice@example.com Alice\\r\\nJOI bob@example.net Bob 1616756780\\r\\n']]";
    const out = measured('198.51.100.8:1863', OPEN, `
      const { p2p, slpInvite } = require('./test/signatures/msn-wire');
      const slps = [0, 1, 2, 3].map((k) => {
        const s = slpInvite('alice@example.com', 'bob@example.net', 77 + k, 'f' + k + '.txt', 1000).toString('latin1');
        const nl = s.indexOf('\\r\\n') + 2;
        return Buffer.from(s.slice(0, nl) + 'X-Pad: ' + 'p'.repeat(40000) + '\\r\\n' + s.slice(nl), 'latin1');
      });
      let trid = 2;
      const frag = (k, o) => p2p((trid++) + ' D', 'bob@example.net', { session: 0, id: 1000 + k, offset: o, total: slps[k].length, flags: 0 }, slps[k].subarray(o, o + 1));
      const len = slps[0].length;
      for (let o = 0; o < len - 1; o += 8) {
        const parts = [];
        for (let k = 0; k < 4; k++) for (let j = o; j < Math.min(o + 8, len - 1); j++) parts.push(frag(k, j));
        h.send('c', Buffer.concat(parts));
      }
      out.held = held() - before;
      for (let k = 0; k < 4; k++) h.send('c', frag(k, len - 1));
      out.offers = h.of('file_transfer').map((f) => f.filename);
    `);
    assert.ok(out.held < 4 << 20, `${out.held} bytes held for 4 SLP messages of 40 KB`);
    assert.deepEqual(out.offers, ['f0.txt', 'f1.txt', 'f2.txt', 'f3.txt']);
  });

  it('idle flows: after a line, PDU or text split across segments, IRC, YMSG, Gadu-Gadu and XMPP flows hold no buffer', function () {
    this.timeout(120_000);
    // the one-buffer framers above kept their storage once drained (1-2 KB a direction for every flow that ever had a split)
    const out = child(`
      const { FlowHarness } = require('./test/helpers/harness');
      const { Engine } = require('./signatures/engine');
      const { loadRegistry } = require('./signatures/registry');
      const { pdu } = require('./test/signatures/ymsg-wire');
      const gg = require('./test/signatures/gadugadu-wire');
      const engine = new Engine(loadRegistry(), { emit: () => {} });
      const split = (h, dir, b) => h.send(dir, b.subarray(0, b.length >> 1)).send(dir, b.subarray(b.length >> 1));
      const u16 = (v) => { const b = Buffer.alloc(2); b.writeUInt16LE(v); return b; };
      const version = Buffer.from('Gadu-Gadu Client build 8.0.0.7669');
      const login = gg.pkt(0x31, Buffer.concat([gg.u32(1234567), Buffer.from('pl'), Buffer.from([2]), Buffer.alloc(64, 0xaa), gg.u32(2), gg.u32(0), gg.u32(7), gg.u32(0), u16(0), gg.u32(0), u16(0), Buffer.from([0xff, 0x64]), gg.u32(version.length), version, gg.u32(0)]));
      const kinds = {
        irc: ['198.51.100.7:6667', (h) => { h.send('c', 'NICK alice\\r\\nUSER alice 0 * :Alice\\r\\n').send('s', ':irc.example.net 001 alice :Welcome\\r\\n'); split(h, 'c', Buffer.from('PRIVMSG #a :hello\\r\\n')); split(h, 's', Buffer.from(':bob!b@h PRIVMSG #a :hi there\\r\\n')); }],
        ymsg: ['198.51.100.11:5050', (h) => { h.send('c', pdu(0x57, [[1, 'alice_y']])); split(h, 'c', pdu(0x06, [[1, 'alice_y'], [5, 'bob_y'], [14, 'hello']])); split(h, 's', pdu(0x06, [[4, 'bob_y'], [5, 'alice_y'], [14, 'hi']])); }],
        gadugadu: ['91.214.237.10:8074', (h) => { h.send('s', gg.welcome).send('c', login).send('s', gg.pkt(0x35, gg.u32(1))); split(h, 'c', gg.pkt(0x0b, Buffer.concat([gg.u32(7654321), gg.u32(2), gg.u32(4), Buffer.from('hello'), Buffer.from([0])]))); split(h, 's', gg.pkt(0x35, gg.u32(1))); }],
        xmpp: ['198.51.100.9:5222', (h) => {
          h.send('c', "<?xml version='1.0'?><stream:stream to='example.org' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>");
          h.send('s', "<?xml version='1.0'?><stream:stream from='example.org' id='abc' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>");
          const m = "<message to='bob@example.org' type='chat'><body>hello there</body></message>";
          const cut = m.indexOf('there');
          h.send('c', m.slice(0, cut)).send('c', m.slice(cut)).send('s', m.slice(0, cut)).send('s', m.slice(cut));
        }],
      };
      for (const [name, [server, talk]] of Object.entries(kinds)) {
        const flows = [];
        const before = held();
        for (let i = 0; i < 2000; i++) {
          const h = new FlowHarness({ engine, server, client: '10.2.' + (i >> 8) + '.' + (i & 255) + ':40000' });
          talk(h);
          flows.push(h);
        }
        out[name] = Math.round((held() - before) / flows.length);
      }
    `);
    for (const name of ['irc', 'ymsg', 'gadugadu']) assert.ok(out[name] < 4200, `${name}: ${out[name]} bytes an idle flow`);
    assert.ok(out.xmpp < 5000, `xmpp: ${out.xmpp} bytes an idle flow`);
  });
});

// TCP reassembly as a decoder sees it: ordered bytes per direction, first copy wins on overlaps,
// holes reported as gaps (never papered over), bounded buffering, and no more work once unwanted.
import assert from 'node:assert/strict';
import { ACK, Capture, FIN, PSH, RST, SYN, linkFrame, tcpPacket, udpPacket } from '../helpers/pcapgen';
import { PacketPath } from '../../sensor/packetPath';
import { Recorder, runCapture } from './record';

const T0 = Date.UTC(2024, 0, 15, 9, 30, 0) * 1000;
const C = '10.0.0.5:40001', S = '192.0.2.50:5190';

function text(n: number): string {
  let s = '';
  for (let i = 0; s.length < n; i++) s += `<${i}>`;
  return s.slice(0, n);
}

/** feeds raw TCP segments (client side unless dir 's') straight into a PacketPath */
class Wire {
  rec: Recorder;
  pp: PacketPath;
  ts = T0;
  constructor(opts: ConstructorParameters<typeof PacketPath>[1] & { wantBytes?: number } = {}) {
    this.rec = new Recorder(opts.wantBytes);
    this.pp = new PacketPath(this.rec, opts);
  }
  seg(dir: 'c' | 's', seq: number, flags: number, payload: string | Buffer = '', dt = 1000): this {
    const [a, b] = dir === 'c' ? [C, S] : [S, C];
    const f = linkFrame(tcpPacket(a, b, seq, flags, payload), 1);
    this.ts += dt;
    this.pp.packet(1, this.ts, f, f.length);
    return this;
  }
  handshake(): this {
    return this.seg('c', 1000, SYN).seg('s', 5000, SYN | ACK).seg('c', 1001, ACK);
  }
}

describe('sensor: TCP reassembly', () => {
  it('out-of-order segments and retransmissions come out in order, once', async () => {
    const c = new Capture();
    const t = c.tcp(C, S);
    const msg = text(5000);
    t.open().send('c', msg, { segment: 500, reorder: [0, 2, 1, 4, 3, 5, 9, 8, 7, 6], retransmit: [2, 7] }).send('s', 'ok').close();
    const out = await runCapture(c.pcap());
    const f = out.rec.flows[0];
    assert.equal(f.data[0].toString(), msg);
    assert.equal(f.data[1].toString(), 'ok');
    assert.deepEqual(f.gaps, [[], []]);
    assert.equal(f.end!.reason, 'fin');
    assert.equal(f.end!.counters.gapBytes, 0);
  });

  it('overlap: the first copy of a byte wins, whether delivered or still buffered', () => {
    const w = new Wire().handshake();
    w.seg('c', 1001, ACK | PSH, 'AAAAAAAAAA'); // 1001..1010 delivered
    w.seg('c', 1006, ACK | PSH, 'xxxxxBBBBB'); // rewrites 1006..1010 (ignored), adds 1011..1015
    w.seg('c', 1021, ACK | PSH, 'DDDDD'); // buffered, ahead
    w.seg('c', 1019, ACK | PSH, 'yyCCC'); // overlaps the buffered D at 1021..1023: D stays
    w.seg('c', 1016, ACK | PSH, 'CCCzzzzzzz'); // fills 1016..1018, the rest overlaps buffered bytes
    w.pp.finish();
    assert.equal(w.rec.flows[0].data[0].toString(), 'AAAAAAAAAABBBBBCCCyyDDDDD');
    assert.deepEqual(w.rec.flows[0].gaps[0], []);
  });

  it('a hole that is never filled: reported as a gap at the FIN, the bytes after it still delivered', () => {
    const c = new Capture();
    const t = c.tcp(C, S);
    t.open().send('c', 'aaaaabbbbbccccc', { segment: 5, drop: [1] }).close();
    const w = new Recorder();
    const pp = new PacketPath(w);
    for (const f of c.frames) pp.packet(1, f.tsMicros, f.data, f.data.length);
    pp.finish();
    const f = w.flows[0];
    assert.equal(f.data[0].toString(), 'aaaaaccccc');
    assert.deepEqual(f.calls, ['d0:5', 'g0:5', 'd0:5']);
    assert.equal(f.end!.counters.gapBytes, 5);
  });

  it('a lost tail before the FIN is a gap too', () => {
    const w = new Wire().handshake();
    w.seg('c', 1001, ACK | PSH, 'hello');
    w.seg('c', 1016, FIN | ACK); // bytes 1006..1015 never seen
    w.pp.finish();
    assert.deepEqual(w.rec.flows[0].gaps[0], [10]);
  });

  it('buffer bound: a flow buffering too much out-of-order data reports the gap and moves on', () => {
    const w = new Wire({ stream: { maxBytes: 4000 } }).handshake();
    w.seg('c', 1001, ACK, 'x'.repeat(100));
    for (let i = 0; i < 5; i++) w.seg('c', 2101 + i * 1000, ACK, 'y'.repeat(1000)); // 1101..2100 missing
    assert.deepEqual(w.rec.flows[0].gaps[0], [1000]);
    assert.equal(w.rec.flows[0].data[0].length, 100 + 5000);
    assert.equal(w.pp.bufferedBytes, 0);
    w.pp.finish();
  });

  it('segment count bound and the global budget hold too', () => {
    const w = new Wire({ stream: { maxSegments: 10 }, reassemblyBudget: 1 << 20 }).handshake();
    w.seg('c', 1001, ACK, 'a');
    for (let i = 0; i < 30; i++) w.seg('c', 1003 + i * 2, ACK, 'b'); // every other byte missing
    assert.ok(w.rec.flows[0].gaps[0].length > 0);
    assert.ok(w.pp.bufferedBytes <= 11);
    w.pp.finish();
    assert.equal(w.pp.bufferedBytes, 0);
  });

  it('no SYN seen (capture started mid-stream): data still delivered from the first sequence number seen', () => {
    const w = new Wire();
    w.seg('s', 777777, ACK | PSH, '* OK server ready\r\n');
    w.seg('c', 4242, ACK | PSH, 'a001 LOGIN\r\n');
    w.seg('s', 777777 + 19, ACK | PSH, 'a001 OK\r\n');
    w.pp.finish();
    const f = w.rec.flows[0];
    assert.equal(f.info.clientBy, 'port');
    assert.deepEqual(f.info.server, { ip: '192.0.2.50', port: 5190 });
    assert.equal(f.data[1].toString(), '* OK server ready\r\na001 OK\r\n');
    assert.equal(f.data[0].toString(), 'a001 LOGIN\r\n');
  });

  it('sequence numbers wrapping past 2^32', () => {
    const w = new Wire();
    w.seg('c', 0xfffffff0, SYN).seg('s', 5, SYN | ACK);
    w.seg('c', 0xfffffff1 + 10, ACK, 'BBBBBBBBBB'); // crosses zero, arrives first
    w.seg('c', 0xfffffff1, ACK, 'AAAAAAAAAA');
    w.pp.finish();
    assert.equal(w.rec.flows[0].data[0].toString(), 'AAAAAAAAAABBBBBBBBBB');
  });

  it('once the handler no longer wants data, nothing more is delivered or buffered; packets still counted', () => {
    const w = new Wire({ wantBytes: 10 }).handshake();
    w.seg('c', 1001, ACK, '0123456789');
    w.seg('c', 1021, ACK, 'later'); // would be buffered
    w.seg('c', 1011, ACK, 'more data!');
    w.pp.finish();
    const f = w.rec.flows[0];
    assert.equal(f.data[0].toString(), '0123456789');
    assert.equal(w.pp.bufferedBytes, 0);
    assert.equal(f.end!.counters.packets, 6);
    assert.equal(f.endCalls, 1);
  });

  it('RST ends the flow promptly with reason rst; FIN both ways with reason fin', () => {
    const w = new Wire().handshake();
    w.seg('c', 1001, ACK, 'x');
    w.seg('s', 5001, RST);
    w.seg('c', 1, SYN, '', 10_000_000); // much later: an unrelated flow that advances the clock
    assert.equal(w.rec.flows[0].end?.reason, 'rst');
    const c = new Capture();
    c.tcp(C, S).open().send('c', 'bye').close();
    c.now += 5_000_000;
    c.udp('10.9.9.9:5000', '10.9.9.8:53', 'x');
    const pp = new PacketPath(w.rec);
    for (const f of c.frames) pp.packet(1, f.tsMicros, f.data, f.data.length);
    const fin = w.rec.flows[w.rec.flows.length - 2];
    assert.equal(fin.end?.reason, 'fin', 'ended before the capture ended');
    pp.finish();
  });

  it('a new SYN on a closed connection starts a new flow', () => {
    const w = new Wire().handshake();
    w.seg('c', 1001, ACK, 'one').seg('c', 1004, FIN | ACK).seg('s', 5001, FIN | ACK).seg('c', 1005, ACK);
    w.seg('c', 90000, SYN).seg('s', 7000, SYN | ACK).seg('c', 90001, ACK, 'two');
    w.pp.finish();
    assert.deepEqual(w.rec.flows.map((f) => f.data[0].toString()), ['one', 'two']);
    assert.notEqual(w.rec.flows[0].info.id, w.rec.flows[1].info.id);
    assert.equal(w.rec.flows[0].end!.counters.packets, 7);
  });

  it('UDP: every datagram is handed over whole, in arrival order', async () => {
    const c = new Capture();
    for (let i = 0; i < 5; i++) c.udp('10.0.0.5:40000', '192.0.2.1:3478', `req ${i}`, i % 2 ? 's' : 'c');
    const out = await runCapture(c.pcap());
    const f = out.rec.flows[0];
    assert.deepEqual(f.datagrams[0].map(String), ['req 0', 'req 2', 'req 4']);
    assert.deepEqual(f.datagrams[1].map(String), ['req 1', 'req 3']);
    assert.equal(f.info.clientBy, 'port');
  });
  it('once a handler wants no more data, later packets are only counted: its wantsData is not asked per packet', () => {
    // a declined bulk transfer was asking its handler (in two threads: a shared flag) for every segment
    let asked = 0;
    const pp = new PacketPath({
      newFlow() {
        let declined = false;
        return {
          get wantsData() {
            asked++;
            return !declined;
          },
          onData() {
            declined = true;
          },
          onGap() {},
          onEnd() {},
        };
      },
    });
    let ts = T0;
    const send = (f: Buffer) => pp.packet(1, (ts += 1000), f, f.length);
    send(linkFrame(tcpPacket(C, S, 1000, SYN), 1));
    send(linkFrame(tcpPacket(S, C, 5000, SYN | ACK), 1));
    for (let i = 0; i < 500; i++) send(linkFrame(tcpPacket(S, C, 5001 + i * 100, ACK, 'x'.repeat(100)), 1));
    for (let i = 0; i < 500; i++) send(linkFrame(udpPacket('10.0.0.5:40000', '192.0.2.1:3478', `datagram ${i}`), 1));
    const c = pp.counters;
    assert.equal(c.packets, 1002);
    assert.ok(asked < 20, `wantsData asked ${asked} times for 1,000 packets after the handlers declined`);
    pp.finish();
  });
});

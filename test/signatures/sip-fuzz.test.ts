// Seeded, bounded fuzzing of the SIP, SDP, CPIM and MSRP parsers: mutated messages never throw,
// never hang, and the framers keep their buffers bounded.
import assert from 'node:assert/strict';
import { parseDatagram, SipFramer, MAX_HEADER_BYTES, MAX_BODY_BYTES } from '../../signatures/sip/parser';
import { parseSdp } from '../../signatures/sip/sdp';
import { imText } from '../../signatures/sip/body';
import { MsrpFramer } from '../../signatures/sip/msrp';
import { boundedIt } from '../helpers/bounded';
import { fuzzCases, fuzzSeconds, fuzzSeed } from '../helpers/fuzz';
import { FlowHarness } from '../helpers/harness';

function rng(seed: number) {
  return () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
}

const SEEDS = [
  'MESSAGE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nf: <sip:a@b>;tag=1\r\nt: <sip:bob@example.com>\r\ni: x\r\nCSeq: 1 MESSAGE\r\nc: message/cpim\r\nl: 80\r\n\r\nFrom: <im:a@b>\r\nTo: <im:c@d>\r\n\r\nContent-Type: text/html\r\n\r\n<b>hi &amp; &#x1F600;</b>',
  'INVITE sip:b@c SIP/2.0\r\nVia: x\r\nCall-ID: y\r\nCSeq: 1 INVITE\r\nContent-Type: application/sdp\r\nContent-Length: 120\r\n\r\nv=0\r\nm=message 2855 TCP/MSRP *\r\na=path:msrp://[2001:db8::1]:2855/s;tcp\r\na=file-selector:name:"a.txt" size:10\r\n',
  'MSRP abcd SEND\r\nTo-Path: msrp://a:1/x;tcp\r\nFrom-Path: msrp://b:2/y;tcp\r\nMessage-ID: m\r\nByte-Range: 1-5/5\r\nContent-Type: text/plain\r\n\r\nhello\r\n-------abcd$\r\n',
];

describe('SIP parsers under fuzzing (seeded, 3 s)', () => {
  boundedIt(__filename, 'never throw and stay bounded on mutated input', fuzzSeconds(60), function () {
    this.timeout(fuzzSeconds(60) * 1000);
    const rand = rng(fuzzSeed(0x5151));
    const deadline = Date.now() + fuzzCases(3000);
    let runs = 0;
    while (Date.now() < deadline) {
      const base = Buffer.from(SEEDS[runs % SEEDS.length]);
      const b = Buffer.from(base);
      const n = 1 + Math.floor(rand() * 8);
      for (let i = 0; i < n; i++) {
        const pos = Math.floor(rand() * b.length);
        const r = rand();
        if (r < 0.5) b[pos] = Math.floor(rand() * 256);
        else if (r < 0.7) b[pos] = 0x0d;
        else if (r < 0.85) b[pos] = 0x39; // digits make lengths lie
        else b[pos] = 0x3a;
      }
      const cut = b.subarray(0, Math.floor(rand() * (b.length + 1)));
      parseDatagram(cut);
      parseSdp(cut);
      imText('message/cpim', cut);
      imText('text/html', cut);
      const sf = new SipFramer();
      const mf = new MsrpFramer();
      for (let o = 0; o < b.length; o += 1 + Math.floor(rand() * 40)) {
        const part = b.subarray(o, o + 1 + Math.floor(rand() * 40));
        sf.push(part, () => {});
        mf.push(part, () => {});
      }
      assert.ok(sf.buffered <= MAX_HEADER_BYTES + MAX_BODY_BYTES);
      runs++;
    }
    assert.ok(runs > 100, `only ${runs} runs`);
  });

  it('a framer fed megabytes without a header end keeps its buffer bounded', () => {
    const sf = new SipFramer();
    const junk = Buffer.alloc(64 * 1024, 0x41);
    sf.push(Buffer.from('MESSAGE sip:a SIP/2.0\r\n'), () => {});
    for (let i = 0; i < 64; i++) sf.push(junk, () => {});
    assert.ok(sf.buffered <= MAX_HEADER_BYTES + 64 * 1024);
    assert.ok(sf.malformed > 0);
  });

  // addressOf's /<([^>]{1,512})>/ looked 512 characters ahead from every '<' of a header: a From of
  // 60,000 '<' cost ~80 ms a message, so a few hundred messages held a connection for tens of seconds
  boundedIt(__filename, "MESSAGEs whose From holds 60,000 '<': read in linear time", 20, () => {
    const h = new FlowHarness({ server: '192.0.2.5:5060' });
    const junk = '<'.repeat(60000);
    for (let i = 0; i < 400; i++) {
      const body = `hi ${i}`;
      h.send('c', `MESSAGE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/TCP 10.1.1.10;branch=z9hG4bK${i}\r\nFrom: ${junk};tag=1\r\nTo: "Bob" <sip:bob@example.com>\r\nCall-ID: c${i}\r\nCSeq: ${i + 1} MESSAGE\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    }
    h.end();
    const msgs = h.of('message');
    assert.deepEqual(msgs.map((m) => m.text), Array.from({ length: 400 }, (_, i) => `hi ${i}`));
    assert.deepEqual([...new Set(msgs.map((m) => `${m.from}>${m.to}`))], ['>bob@example.com']);
  });

  // CPIM From/To went through /<([^>]+)>/, which scans from every '<' to the next '>': a From line of
  // 300,000 '<' in one MESSAGE body (bodies may reach 1 MiB) took about a minute
  boundedIt(__filename, "a CPIM From line of 300,000 '<': read in linear time", 20, () => {
    const cpim = `From: ${'<'.repeat(300000)}\r\nTo: Bob <im:bob@example.com>\r\n\r\nContent-Type: text/plain\r\n\r\nhello`;
    assert.deepEqual(imText('message/cpim', Buffer.from(cpim)), { text: 'hello', from: undefined, to: 'bob@example.com' });
  });
});

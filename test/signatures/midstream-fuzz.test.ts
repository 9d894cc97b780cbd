// Seeded fuzz of YMSG, MSN, IRC and XMPP sessions picked up mid-stream (no SYN seen: a capture or sensor
// started while the connection was open), like the OSCAR one in oscar-odc.test.ts: the tail of a
// PDU/line/stanza cut at a random point (sometimes junk before it), then whole ones, in random segments.
// Every clean session must be found with its later messages read; mutated ones must never throw.
import assert from 'node:assert/strict';
import { FlowHarness } from '../helpers/harness';
import { boundedIt } from '../helpers/bounded';
import { fuzzCases, fuzzSeconds, fuzzSeed } from '../helpers/fuzz';
import { seeded } from './oscar-wire';
import { pdu } from './ymsg-wire';
import { textMsg } from './msn-wire';

type R = () => number;
/** want: the messages read, client's then server's, joined by commas (or any of several) */
interface Session { cli: Buffer; srv: Buffer; want: string | string[] | RegExp }

const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
function text(r: R, n: number, chars = ALNUM + ' .,!?:;-_/'): string {
  let s = '';
  for (let k = 0; k < n; k++) s += chars[Math.floor(r() * chars.length)];
  return s;
}
function bytes(r: R, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let k = 0; k < n; k++) b[k] = Math.floor(r() * 256);
  return b;
}
/** the tail of `b`, cut at a random point after its first byte */
function tail(r: R, b: Buffer): Buffer {
  return b.subarray(1 + Math.floor(r() * (b.length - 1)));
}

/** runs `cases` sessions; every third one is left clean. Returns the clean ones whose messages were all read, and a few missed. */
function run(seed: number, cases: number, server: string, build: (r: R) => Session): { read: number; clean: number; missed: string[] } {
  const next = seeded(fuzzSeed(seed));
  const r = () => next() / 2 ** 32;
  let read = 0, clean = 0;
  const missed: string[] = [];
  for (let i = 0; i < cases; i++) {
    const { cli, srv, want } = build(r);
    const mutate = i % 3 !== 0;
    if (mutate) {
      for (let k = Math.floor(r() * 4); k >= 0; k--) cli[Math.floor(r() * cli.length)] = Math.floor(r() * 256);
      for (let k = Math.floor(r() * 2); k >= 0; k--) srv[Math.floor(r() * srv.length)] = Math.floor(r() * 256);
    }
    const h = new FlowHarness({ client: '10.1.1.10:40001', server, clientBy: 'port' });
    // the two directions interleave in random segments
    let oc = 0, os = 0;
    while (oc < cli.length || os < srv.length) {
      const n = 1 + Math.floor(r() * 300);
      if (os >= srv.length || (oc < cli.length && r() < 0.6)) {
        h.send('c', cli.subarray(oc, oc + n));
        oc += n;
      } else {
        h.send('s', srv.subarray(os, os + n));
        os += n;
      }
    }
    h.end();
    for (const e of h.events) JSON.stringify(e);
    assert.equal(h.engine.stats.decoderErrors, 0, `case ${i}: an exception in the detector or decoder`);
    if (mutate) continue;
    clean++;
    // the directions interleave: compare each direction's messages in order
    const got = [...h.of('message').filter((m) => m.direction === 'outbound').map((m) => m.text), ...h.of('message').filter((m) => m.direction !== 'outbound').map((m) => m.text)].join(',');
    if (typeof want === 'string' ? got === want : want instanceof RegExp ? want.test(got) : want.includes(got)) read++;
    else if (missed.length < 8) missed.push(`case ${i}: got ${JSON.stringify(got)} (sessions ${h.of('session').map((s) => s.protocol)})\n    c=${JSON.stringify(cli.toString('latin1').slice(0, 300))}\n    s=${JSON.stringify(srv.toString('latin1').slice(0, 200))}`);
  }
  return { read, clean, missed };
}

function check(res: ReturnType<typeof run>): void {
  if (process.env.SHADOWIM_FUZZ_REPORT) console.log(`clean ${res.clean}, read ${res.read}\n  ${res.missed.join('\n  ')}`);
  assert.equal(res.read, res.clean, `every clean session read (${res.clean - res.read} missed):\n  ${res.missed.join('\n  ')}`);
}

const CASES = fuzzCases(3000);

describe('mid-stream pickup fuzz: YMSG, MSN, IRC, XMPP', () => {
  boundedIt(__filename, 'seeded fuzz: YMSG sessions picked up mid-stream (the tail of a PDU, then whole ones) are found; mutated ones never throw', fuzzSeconds(120), () => {
    const ME = 'alice_example', BUDDY = 'bob_buddy';
    check(run(11, CASES, '203.0.113.5:5050', (r) => {
      const lostC = pdu(0x06, [[1, ME], [5, BUDDY], [14, r() < 0.3 ? bytes(r, Math.floor(r() * 300)) : text(r, Math.floor(r() * 300))]]);
      const lostS = pdu(0x06, [[5, ME], [4, BUDDY], [14, text(r, Math.floor(r() * 200))]]);
      const junk = r() < 0.2 ? bytes(r, Math.floor(r() * 200)) : Buffer.alloc(0);
      const cli = Buffer.concat([junk, tail(r, lostC), pdu(0x06, [[1, ME], [5, BUDDY], [14, 'first']]), pdu(0x06, [[1, ME], [5, BUDDY], [14, 'second']])]);
      const srv = Buffer.concat([tail(r, lostS), pdu(0x06, [[5, ME], [4, BUDDY], [14, 'reply']])]);
      // junk ending in "Y" before a tail cut after that "Y" makes the lost PDU whole again (seed 2002,
      // case 46482): its text is then read like any other
      return { cli, srv, want: cli.includes(lostC) ? /^(.*,)?first,second,reply$/s : 'first,second,reply' };
    }));
  });

  boundedIt(__filename, 'seeded fuzz: MSN switchboard sessions picked up mid-stream (the tail of a MSG or line, then whole ones) are found; mutated ones never throw', fuzzSeconds(120), () => {
    const BUDDY = 'bob@example.com';
    check(run(12, CASES, '203.0.113.9:1863', (r) => {
      const lostC = r() < 0.5 ? textMsg(`${1 + Math.floor(r() * 99)} N`, text(r, Math.floor(r() * 300))) : Buffer.from(`ACK ${Math.floor(r() * 99)}\r\n`);
      const lostS = r() < 0.5 ? textMsg(`${BUDDY} Bob`, text(r, Math.floor(r() * 300))) : Buffer.from(`ACK ${Math.floor(r() * 99)}\r\n`);
      const junk = r() < 0.2 ? bytes(r, Math.floor(r() * 200)) : Buffer.alloc(0);
      const cli = Buffer.concat([junk, tail(r, lostC), textMsg('100 N', 'first'), textMsg('101 N', 'second')]);
      const srv = Buffer.concat([tail(r, lostS), textMsg(`${BUDDY} Bob`, 'reply'), Buffer.from('ACK 100\r\n')]);
      return { cli, srv, want: 'first,second,reply' };
    }));
  });

  boundedIt(__filename, 'seeded fuzz: IRC sessions picked up mid-stream (the tail of a line, then whole ones) are found; mutated ones never throw', fuzzSeconds(120), () => {
    check(run(13, CASES, '198.51.100.7:6667', (r) => {
      const lostC = Buffer.from(`PRIVMSG #chan :${text(r, Math.floor(r() * 300))}\r\n`);
      const lostS = Buffer.from(`:bob!b@host.example PRIVMSG #chan :${text(r, Math.floor(r() * 300))}\r\n`);
      const junk = r() < 0.2 ? bytes(r, Math.floor(r() * 200)) : Buffer.alloc(0);
      const cli = Buffer.concat([junk, tail(r, lostC), Buffer.from('PRIVMSG #chan :first\r\nPRIVMSG #chan :second\r\n')]);
      const cut = tail(r, lostS);
      const srv = Buffer.concat([cut, Buffer.from(':bob!b@host.example PRIVMSG #chan :reply\r\n:carol!c@h.example PRIVMSG #chan :again\r\n')]);
      // a cut that leaves a whole line ("PRIVMSG …", or "@host.example PRIVMSG …": IRCv3 tags) is a
      // message like any other: its text is read too
      const lost = /PRIVMSG #chan :(.*)\r\n$/.exec(lostS.toString())![1];
      return { cli, srv, want: ['first,second,reply,again', `first,second,${lost},reply,again`] };
    }));
  });

  boundedIt(__filename, 'seeded fuzz: XMPP sessions picked up mid-stream (the tail of a stanza, then whole ones) are found; mutated ones never throw', fuzzSeconds(120), () => {
    const stanza = (from: string, to: string, body: string) => `<message from='${from}' to='${to}' type='chat' id='m${body.length}'><body>${body}</body></message>`;
    const J = 'juliet@example.org/balcony', R = 'romeo@example.net/orchard';
    const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
    check(run(14, CASES, '198.51.100.7:5222', (r) => {
      const lostC = Buffer.from(stanza(J, R, esc(text(r, Math.floor(r() * 300), ALNUM + ' .,!?<>&\'"'))));
      const lostS = Buffer.from(r() < 0.5 ? stanza(R, J, esc(text(r, Math.floor(r() * 300)))) : `<presence from='${R}'><show>away</show><status>${esc(text(r, Math.floor(r() * 100)))}</status></presence>`);
      const cli = Buffer.concat([tail(r, lostC), Buffer.from(stanza(J, R, 'first') + (r() < 0.5 ? '\n' : '') + stanza(J, R, 'second'))]);
      const srv = Buffer.concat([tail(r, lostS), Buffer.from(stanza(R, J, 'reply'))]);
      return { cli, srv, want: 'first,second,reply' };
    }));
  });

  // found by the fuzz above with SHADOWIM_FUZZ_SEED=1003 SHADOWIM_FUZZ_SCALE=5 (case 14988): the lost
  // message's text ended in ":Ldakj…!D6", so the client's next command read as an IRC numeric reply
  // (prefix "Ldakj…!D6MSG", numeric 100) and the flow was IRC with no message
  it('MSN picked up after a message text ending ":nick!x…": the client\'s "MSG 100 N 118" glued to it is no IRC numeric', () => {
    const h = new FlowHarness({ client: '10.1.1.10:40001', server: '203.0.113.9:1863', clientBy: 'port' });
    h.send('c', Buffer.concat([Buffer.from('PF=22\r\n\r\n:Ldakj09m!qOZ2ToDLqcEJWg.YNyIZK/RY-WFhYAfK!D6'), textMsg('100 N', 'first')]));
    h.send('s', textMsg('bob@example.com Bob', 'reply'));
    h.send('c', textMsg('101 N', 'second'));
    h.end();
    assert.deepEqual(h.of('session').map((s) => s.protocol), ['msn']);
    assert.deepEqual(h.of('message').map((m) => m.text), ['first', 'reply', 'second']);
  });

  // found with SHADOWIM_FUZZ_SEED=2002 SHADOWIM_FUZZ_SCALE=20 (case 4626): the server's lost text began
  // "511 :…" and its reply's MSG was glued to the end; "511" read as an error reply, so the direction
  // started on that line and the reply was lost inside it
  it('MSN picked up after a text starting "511 :…" with the reply\'s MSG glued on: the reply is read', () => {
    const h = new FlowHarness({ client: '10.1.1.10:40001', server: '203.0.113.9:1863', clientBy: 'port' });
    h.send('c', textMsg('100 N', 'first'));
    h.send('s', Buffer.concat([Buffer.from('511 :hTJiiuoAtSfpmNf!o8DPmeptqA3Rp-5ys9lGEcV7qrgv?T'), textMsg('bob@example.com Bob', 'reply'), Buffer.from('ACK 100\r\n')]));
    h.send('c', textMsg('101 N', 'second'));
    h.end();
    assert.deepEqual(h.of('session').map((s) => s.protocol), ['msn']);
    assert.deepEqual(h.of('message').map((m) => m.text), ['first', 'reply', 'second']);
  });

  it('not picked-up sessions: MSNP or stanzas quoted in other traffic without their framing', () => {
    const msn = textMsg('5 N', 'hi');
    for (const [server, c, s] of [
      // an MSG quoted in a log: the bytes after its payload are not MSNP
      ['203.0.113.9:1863', Buffer.concat([Buffer.from('ug: sent '), msn, Buffer.from('\n2024-01-01 12:00:00 debug: next line\n')]), Buffer.from('ok\n')],
      // MSNP inside a downloaded capture: binary record headers between the segments
      ['203.0.113.9:8080', Buffer.concat([Buffer.from([0x12, 0x00, 0x7f]), msn, Buffer.from([0x5a, 0x0c, 0, 0, 0x45, 0, 0, 0x40]), msn, Buffer.alloc(4200, 0x41)]), Buffer.alloc(0)],
      // a web page picked up mid-stream that quotes a stanza
      ['198.51.100.7:8080', Buffer.from("ss='x'>text</p><div>see <code>&lt;message to='a@b.example'&gt;</code></div>\n<p>more</p>" + 'z'.repeat(4200)), Buffer.from('HTTP/1.1 200 OK\r\n\r\n')],
    ] as const) {
      const h = new FlowHarness({ client: '10.1.1.10:40001', server, clientBy: 'port' });
      h.send('c', c);
      if (s.length) h.send('s', s);
      h.end();
      assert.deepEqual(h.of('session').map((x) => x.protocol), [], server);
    }
  });
});

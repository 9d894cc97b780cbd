// The engine's detection → decoding hand-over, with a probe module whose decoder records what it is
// given: bytes seen while detecting are replayed in arrival order, unaltered even when the caller's
// buffer is reused, holes are reported where they were, and the bytes kept per flow are bounded.
import assert from 'node:assert/strict';
import { Engine } from '../../signatures/engine';
import { CidrTable, HostTable } from '../../signatures/lookup';
import type { Registry } from '../../signatures/registry';
import type { DetectInput, SignatureModule } from '../../signatures/types';
import type { Dir, FlowHandler } from '../../sensor/types';

type Call = string;

/** Claims a TCP flow once the server has said HELLO; its decoder logs every call. */
function probe(log: Call[], asked: Array<[Dir, number]>): SignatureModule {
  return {
    id: 'probe', protocols: ['probe'], transports: ['tcp'],
    detect(input: DetectInput) {
      asked.push([input.dir, input.data.length]);
      if (input.dir === 1 && input.data.includes('HELLO')) return { protocol: 'probe', evidence: { signature: 'probe', reason: 'HELLO' } };
      return 'more';
    },
    decoder: () => ({
      onData: (dir: Dir, data: Buffer) => log.push(`${dir}:${data.toString('latin1')}`),
      onGap: (dir: Dir, len: number) => log.push(`${dir}:gap ${len}`),
    }),
  };
}

/** Says no to everything: must not be asked again about a TCP direction it declined. */
function refuser(asked: Dir[]): SignatureModule {
  return { id: 'refuser', protocols: ['refuser'], transports: ['tcp'], detect: (input) => (asked.push(input.dir), null) };
}

/** UDP: waits on PART datagrams, claims the flow on DONE, declines anything else. */
function udpProbe(log: Call[]): SignatureModule {
  return {
    id: 'udpprobe', protocols: ['udpprobe'], transports: ['udp'],
    detect(input: DetectInput) {
      const t = input.data.toString('latin1');
      return t === 'DONE' ? { protocol: 'udpprobe', evidence: { signature: 'udpprobe', reason: 'DONE' } } : t === 'PART' ? 'more' : null;
    },
    decoder: () => ({ onData: (dir: Dir, data: Buffer) => log.push(`${dir}:${data.toString('latin1')}`) }),
  };
}

function flow(modules: SignatureModule[], opts: { maxDetectBytes?: number; maxDetectPackets?: number; transport?: 'tcp' | 'udp' } = {}): FlowHandler {
  const registry: Registry = { modules: modules.map((module) => ({ module, data: { id: module.id }, sources: [] })), hosts: new HostTable(), cidrs: new CidrTable() };
  const engine = new Engine(registry, { emit: () => {}, ...opts });
  return engine.newFlow({ id: 'f', transport: opts.transport ?? 'tcp', client: { ip: '10.0.0.1', port: 40000 }, server: { ip: '192.0.2.1', port: 7000 }, firstTs: 1, clientBy: 'syn' })!;
}

describe('signature engine: detection hand-over', () => {
  it('replays what detection saw in arrival order, intact although the caller reuses its buffer', () => {
    const log: Call[] = [], asked: Array<[Dir, number]> = [];
    const h = flow([probe(log, asked)]);
    const buf = Buffer.from('LOGIN alice\n');
    h.onData(0, buf, 10);
    buf.fill(0x58); // the capture reader refills its buffer: what was kept must be a copy
    h.onData(0, Buffer.from('PASS x\n'), 11);
    h.onData(1, Buffer.from('HELLO\n'), 12);
    h.onData(0, Buffer.from('MSG hi\n'), 13);
    assert.deepEqual(log, ['0:LOGIN alice\n', '0:PASS x\n', '1:HELLO\n', '0:MSG hi\n']);
    // the module saw the direction's growing prefix, not single segments
    assert.deepEqual(asked, [[0, 12], [0, 19], [1, 6]]);
  });

  it('reports a hole in the first bytes to the decoder where it was, and stops offering that direction', () => {
    const log: Call[] = [], asked: Array<[Dir, number]> = [];
    const h = flow([probe(log, asked)]);
    h.onData(0, Buffer.from('A'), 10);
    h.onGap(0, 100, 11);
    h.onData(0, Buffer.from('B'), 12);
    h.onData(1, Buffer.from('HELLO'), 13);
    assert.deepEqual(log, ['0:A', '0:gap 100', '0:B', '1:HELLO']);
    assert.deepEqual(asked, [[0, 1], [1, 5]], 'the direction with a hole is not offered again');
  });

  it('keeps a bounded number of bytes per direction; the rest reaches the decoder as a gap, not spliced', () => {
    const log: Call[] = [], asked: Array<[Dir, number]> = [];
    const h = flow([probe(log, asked)], { maxDetectBytes: 10, maxDetectPackets: 100 });
    for (let i = 0; i < 5; i++) h.onData(0, Buffer.from('0123456789'.slice(0, 6)), 10 + i); // 30 bytes: 20 may be kept
    h.onData(1, Buffer.from('HELLO'), 20);
    assert.deepEqual(log, ['0:012345', '0:012345', '0:012345', '0:012345', '0:gap 6', '1:HELLO']);
  });

  it('does not ask a module again about a TCP direction it declined, and gives up once all declined both', () => {
    const asked: Dir[] = [];
    const h = flow([refuser(asked)]);
    h.onData(0, Buffer.from('one'), 10);
    h.onData(0, Buffer.from('two'), 11);
    assert.equal(h.wantsData, true, 'the server has not spoken yet');
    h.onData(1, Buffer.from('three'), 12);
    assert.deepEqual(asked, [0, 1]);
    assert.equal(h.wantsData, false, 'nothing left to try: the sensor may stop reassembling this flow');
  });

  it('UDP: replays the datagrams a decoding module waited on, not the ones every module declined', () => {
    const log: Call[] = [];
    const h = flow([udpProbe(log)], { transport: 'udp' });
    h.onData(0, Buffer.from('junk'), 10);
    const part = Buffer.from('PART');
    h.onData(0, part, 11);
    part.fill(0x58); // the reader's buffer is reused: the kept datagram must be a copy
    h.onData(1, Buffer.from('noise'), 12);
    h.onData(0, Buffer.from('DONE'), 13);
    h.onData(1, Buffer.from('reply'), 14);
    assert.deepEqual(log, ['0:PART', '0:DONE', '1:reply']);
  });
  it('says a flow is finished only when its end could report nothing', () => {
    // declined by every module: finished at once, no session can come of it
    const none = flow([refuser([])]);
    none.onData(0, Buffer.from('GET / HTTP/1.1\r\n\r\n'), 1);
    none.onData(1, Buffer.from('HTTP/1.1 200 OK\r\n\r\n'), 2);
    assert.equal(none.wantsData, false);
    assert.equal(none.finished, true);
    // classified and decoding: its end reports a session, so it is not finished
    const log: Call[] = [];
    const im = flow([probe(log, [])]);
    im.onData(1, Buffer.from('HELLO\n'), 3);
    assert.equal(im.finished, false);
    // still detecting: not finished either
    const open = flow([probe([], [])]);
    open.onData(0, Buffer.from('x'), 4);
    assert.equal(open.finished, false);
  });
});

describe('signature engine: a tentative IM guess and a cleartext non-IM protocol', () => {
  // the real registry: DNS taught that the address serves web.whatsapp.com (a shared edge address)
  const { loadRegistry } = require('../../signatures/registry') as typeof import('../../signatures/registry');
  const { FlowHarness } = require('../helpers/harness') as typeof import('../helpers/harness');
  function run(client: string[], server: string[], port = 22): any[] {
    const events: any[] = [];
    const engine = new Engine(loadRegistry(), { emit: (e) => events.push(e) });
    engine.kb.learnName('198.51.100.77', 'web.whatsapp.com');
    const h = new FlowHarness({ engine, server: `198.51.100.77:${port}` });
    for (let i = 0; i < Math.max(client.length, server.length); i++) {
      if (server[i]) h.send('s', server[i]);
      if (client[i]) h.send('c', client[i]);
    }
    h.end();
    return events.filter((e) => e.type === 'session');
  }

  it('SSH, SMTP, POP3 or IMAP to an address DNS gave for an IM name is not IM', () => {
    assert.deepEqual(run(['SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n'], ['SSH-2.0-OpenSSH_8.9\r\n']), []);
    assert.deepEqual(run(['SSH-2.0-PuTTY_Release_0.78\r\n'], []), []);
    assert.deepEqual(run(['EHLO mail.example.org\r\n'], ['220 mx.example.net ESMTP Postfix\r\n'], 25), []);
    assert.deepEqual(run(['USER bob\r\n'], ['+OK POP3 ready\r\n'], 110), []);
    assert.deepEqual(run(['a1 CAPABILITY\r\n'], ['* OK [CAPABILITY IMAP4rev1] ready\r\n'], 143), []);
  });

  it('other bytes to that address keep the DNS-learned guess', () => {
    const [s] = run([Buffer.from('17030300200102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20', 'hex').toString('latin1')], [], 5222);
    assert.equal(s?.protocol, 'whatsapp');
    assert.equal(s.evidence[0].signature, 'dns.learned');
  });
});

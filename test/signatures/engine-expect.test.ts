// The engine's announced side connections (SessionContext.expect with verify): which announcement a
// new flow claims, with what the verifier is told, and how much work a flow's opening can cost.
import assert from 'node:assert/strict';
import type { ShadowEvent } from '../../common/events';
import { Engine } from '../../signatures/engine';
import { CidrTable, HostTable } from '../../signatures/lookup';
import type { Registry } from '../../signatures/registry';
import type { SessionContext, SignatureModule } from '../../signatures/types';
import type { Dir, FlowInfo } from '../../sensor/types';

const T0 = 1_700_000_000_000_000;
const END = { packets: 1, bytes: 1, packetsC2S: 1, packetsS2C: 0, bytesC2S: 1, bytesS2C: 0, firstTs: T0, lastTs: T0 + 1, gapBytes: 0 };

/**
 * An engine with one module: a flow opening with "ANNOUNCE n" announces n connections to
 * 192.0.2.9:7000 (for 10.0.0.5 when `client`), each verified by `verify(i)`; a flow opening with
 * "OTHER" is the module's own. Claimed connections report "claimed i" as a message.
 */
function setup(verify: (i: number, label: string) => (d: Buffer, dir: Dir) => boolean | 'more', o: { ttl?: number; client?: string; server?: string } = {}) {
  const events: ShadowEvent[] = [];
  let detects = 0;
  const mod: SignatureModule = {
    id: 'announcer', protocols: ['announcer'], transports: ['tcp'],
    detect: (input) => {
      detects++;
      const t = input.data.toString('latin1');
      if (t.startsWith('ANNOUNCE ') || t.startsWith('OTHER')) return { protocol: 'announcer', evidence: { signature: 'announcer', reason: 'test' } };
      return 'ANNOUNCE '.startsWith(t) || 'OTHER'.startsWith(t) ? 'more' : null;
    },
    decoder: (ctx: SessionContext) => ({
      onData(dir: Dir, data: Buffer) {
        // ANNOUNCE n [label [server]]
        const m = /^ANNOUNCE (\d+)(?: (\w+))?(?: (\S+))?/.exec(data.toString('latin1'));
        for (let i = 0; i < Number(m?.[1] ?? 0); i++) {
          const label = `${m?.[2] ?? ''}${i}`;
          ctx.expect({ transport: 'tcp', server: { ip: m?.[3] ?? o.server ?? '192.0.2.9', port: 7000 }, ...(o.client ? { client: { ip: o.client } } : {}), ttlMicros: o.ttl, reason: `test ${i}`, verify: verify(i, label), key: String(i) },
            (c) => ({ onData(_d: Dir, _b: Buffer, ts: number) { c.message(ts, 0, { from: 'a', to: 'b', text: `claimed ${label}`, kind: 'chat' }); } }));
        }
      },
    }),
  };
  const registry: Registry = { modules: [{ module: mod, data: { id: mod.id }, sources: [] }], hosts: new HostTable(), cidrs: new CidrTable() };
  const engine = new Engine(registry, { emit: (e) => events.push(e) });
  let n = 0;
  const flow = (client: string, server: string, clientBy: FlowInfo['clientBy'] = 'syn', ts = T0) => {
    const [ci, cp] = client.split(':'), [si, sp] = server.split(':');
    return engine.newFlow({ id: `f${n++}`, transport: 'tcp', client: { ip: ci, port: +cp }, server: { ip: si, port: +sp }, firstTs: ts, clientBy })!;
  };
  const announce = (k: number, label = '', end = true, server = '', from = '10.0.0.5:40000') => {
    const h = flow(from, '198.51.100.1:5222');
    h.onData(0, Buffer.from(`ANNOUNCE ${k} ${label}${server ? ` ${server}` : ''}`), T0);
    if (end) h.onEnd(END, 'fin');
    return h;
  };
  const claimed = () => events.filter((e) => e.type === 'message').map((e) => (e as { text: string }).text);
  const sessions = () => events.filter((e) => e.type === 'session') as Array<ShadowEvent & { client: { port: number } }>;
  const claimedBy = () => events.filter((e) => e.type === 'message').map((e) => [(e as { text: string }).text, (e as { client: { port: number } }).client.port]);
  return { engine, flow, announce, claimed, claimedBy, sessions, detects: () => detects };
}

describe('signature engine: announced connections', () => {
  it('a flow claims the first announcement whose verify accepts its opening, not merely the first announced', () => {
    const s = setup((i) => (d) => d.toString('latin1') === `hello ${i}`);
    s.announce(3);
    for (const i of [2, 0]) {
      const h = s.flow('10.0.0.5:5000' + i, '192.0.2.9:7000');
      h.onData(0, Buffer.from(`hello ${i}`), T0 + 10);
      h.onEnd(END, 'fin');
    }
    assert.deepEqual(s.claimed(), ['claimed 2', 'claimed 0']);
  });

  it('a verifier is told which side connected: 0, also when the sensor missed the SYN and has the sides the other way round', () => {
    const seen: Dir[] = [];
    const s = setup(() => (_d, dir) => (seen.push(dir), true));
    s.announce(2);
    // with the SYN: the client connected and speaks first
    s.flow('10.0.0.5:50000', '192.0.2.9:7000').onData(0, Buffer.from('x'), T0 + 10);
    // without it: the announced endpoint is the flow's "client"; the side that connected is its dir 1
    s.flow('192.0.2.9:7000', '10.0.0.5:50001', 'port').onData(1, Buffer.from('y'), T0 + 20);
    assert.deepEqual(seen, [0, 0]);
    assert.deepEqual(s.claimed(), ['claimed 0', 'claimed 1']);
  });

  it('an expired announcement, or one for another client address, is not claimed; the flow is detected as any', () => {
    const s = setup(() => () => true, { ttl: 1_000_000, client: '10.0.0.5' });
    s.announce(1);
    s.flow('10.0.0.5:50000', '192.0.2.9:7000', 'syn', T0 + 2_000_000).onData(0, Buffer.from('OTHER late'), T0 + 2_000_000);
    const s2 = setup(() => () => true, { client: '10.0.0.5' });
    s2.announce(1);
    s2.flow('10.0.0.77:50000', '192.0.2.9:7000').onData(0, Buffer.from('OTHER host'), T0 + 10);
    assert.deepEqual([...s.claimed(), ...s2.claimed()], []);
    s2.flow('10.0.0.5:50001', '192.0.2.9:7000').onData(0, Buffer.from('x'), T0 + 20);
    assert.deepEqual(s2.claimed(), ['claimed 0']);
  });

  it('an opening sent a byte per segment against 64 announcements that all want more: bounded verify calls, then the modules decide', () => {
    let calls = 0;
    const s = setup(() => () => (calls++, 'more'));
    s.announce(64);
    const h = s.flow('10.0.0.5:50000', '192.0.2.9:7000');
    const text = `OTHER${'z'.repeat(3000)}`;
    for (let i = 0; i < text.length; i++) h.onData(0, Buffer.from(text[i]), T0 + 10 + i);
    h.onEnd(END, 'fin');
    assert.ok(calls > 64 && calls <= 512, `verify calls: ${calls}`);
    assert.deepEqual(s.claimed(), []);
    assert.ok(s.detects() > 1, `the module was asked once the announcements gave up (${s.detects()}, ${calls})`);
  });

  it('an announcement made after a flow began is not that flow\'s, though one made before let it wait', () => {
    const s = setup(() => (d) => d[0] === 0x78);
    s.announce(1, 'a');
    const early = s.flow('10.0.0.5:50000', '192.0.2.9:7000'); // began while a was announced
    s.flow('10.0.0.5:50001', '192.0.2.9:7000').onData(0, Buffer.from('x'), T0 + 5); // takes a
    s.announce(1, 'b'); // announced after `early` began
    early.onData(0, Buffer.from('x'), T0 + 30);
    s.flow('10.0.0.5:50002', '192.0.2.9:7000').onData(0, Buffer.from('x'), T0 + 40); // takes b
    assert.deepEqual(s.claimedBy(), [['claimed a0', 50001], ['claimed b0', 50002]]);
  });

  it('an opening held for an announcement that never decided is shown to the modules at the flow\'s end', () => {
    const s = setup(() => (d) => (d.length < 64 ? 'more' : false));
    s.announce(1);
    const h = s.flow('10.0.0.5:50000', '192.0.2.9:7000');
    h.onData(0, Buffer.from('OTHER'), T0 + 10);
    h.onEnd({ ...END, firstTs: T0 + 10, lastTs: T0 + 11 }, 'fin');
    assert.equal(s.claimed().length, 0);
    assert.ok(s.sessions().some((e) => e.client.port === 50000), JSON.stringify(s.sessions()));
  });

  it('a session\'s own later announcements are asked behind its 16 stale ones (the rest of a look)', () => {
    const s = setup((i) => (d) => d.toString('latin1') === `hello ${i}`);
    s.announce(17);
    s.flow('10.0.0.5:50000', '192.0.2.9:7000').onData(0, Buffer.from('hello 16'), T0 + 10);
    assert.deepEqual(s.claimed(), ['claimed 16']);
  });

  it('an announcement re-sent (the same key) after a flow began is still that flow\'s', () => {
    const s = setup(() => (d) => d[0] === 0x78);
    const a = s.announce(1, 'a', false);
    const h = s.flow('10.0.0.5:50000', '192.0.2.9:7000');
    a.onData(0, Buffer.from('ANNOUNCE 1 b'), T0 + 5); // replaces a0 by its key
    h.onData(0, Buffer.from('x'), T0 + 10);
    assert.deepEqual(s.claimed(), ['claimed b0']);
  });

  it('an announcement by host name is claimed by a flow to an address DNS answered for that name (either way round), not by another address', () => {
    const s = setup(() => (d) => d[0] === 0x78, { server: 'Proxy.Example.NET.' });
    s.announce(3);
    s.engine.kb.learnName('192.0.2.50', 'proxy.example.net', T0 + 1);
    s.flow('10.0.0.5:50000', '192.0.2.51:7000').onData(0, Buffer.from('x'), T0 + 10); // no name for this address
    s.flow('10.0.0.5:50001', '192.0.2.50:7001').onData(0, Buffer.from('x'), T0 + 11); // another port
    s.flow('10.0.0.5:50002', '192.0.2.50:7000').onData(0, Buffer.from('x'), T0 + 12);
    s.flow('192.0.2.50:7000', '10.0.0.5:50003', 'port').onData(1, Buffer.from('x'), T0 + 13); // the SYN missed
    assert.deepEqual(s.claimedBy(), [['claimed 0', 50002], ['claimed 1', 7000]]);
  });

  // an XMPP server's components (proxy., upload., conference.) often share its address: a name asked
  // for it after the proxy's must not hide the proxy's (the engine kept one name per address, the last)
  it('an announcement by host name is claimed after other names were asked for the same address, up to the last four names', () => {
    const s = setup(() => (d) => d[0] === 0x78, { server: 'proxy.example.net' });
    s.announce(2);
    s.engine.kb.learnName('192.0.2.50', 'proxy.example.net', T0 + 1);
    s.engine.kb.learnName('192.0.2.50', 'upload.example.net', T0 + 2);
    s.engine.kb.learnName('192.0.2.50', 'example.net', T0 + 3);
    s.engine.kb.learnName('192.0.2.50', 'conference.example.net', T0 + 4);
    assert.equal(s.engine.kb.nameFor('192.0.2.50'), 'conference.example.net'); // classification: the newest
    s.flow('10.0.0.5:50002', '192.0.2.50:7000').onData(0, Buffer.from('x'), T0 + 12);
    s.engine.kb.learnName('192.0.2.50', 'pubsub.example.net', T0 + 13); // a fifth: the proxy's name is the oldest, out
    s.flow('10.0.0.5:50003', '192.0.2.50:7000').onData(0, Buffer.from('x'), T0 + 14);
    assert.deepEqual(s.claimedBy(), [['claimed 0', 50002]]);
    assert.deepEqual(s.engine.kb.namesFor('192.0.2.50'), ['pubsub.example.net', 'conference.example.net', 'example.net', 'upload.example.net']);
    s.engine.kb.learnName('192.0.2.50', 'example.net', T0 + 15); // asked again: the newest, not twice
    assert.deepEqual(s.engine.kb.namesFor('192.0.2.50'), ['example.net', 'pubsub.example.net', 'conference.example.net', 'upload.example.net']);
  });

  it('an announced "host" that is no host name (spaces, a leading hyphen, a 64-character label) expects nothing', () => {
    for (const bad of ['proxy example.net', '-proxy.example.net', `${'a'.repeat(64)}.example.net`, '', '..']) {
      const s = setup(() => () => true, { server: bad });
      s.announce(1);
      s.engine.kb.learnName('192.0.2.50', bad.toLowerCase(), T0 + 1);
      s.flow('10.0.0.5:50000', '192.0.2.50:7000').onData(0, Buffer.from('x'), T0 + 10);
      assert.deepEqual(s.claimed(), [], bad);
    }
  });

  // third review: the look's 64 checks were shared by the address's list and the name's, the
  // address's first — another flow's 64 announcements at a proxy's address hid one by its name
  it('64 announcements at an address (another flow\'s) do not use up the look of one at the name DNS answered for it', () => {
    const s = setup((_i, label) => (d) => label.startsWith('real') && d.toString('latin1') === 'hello');
    s.announce(1, 'real', true, 'proxy.example.net');
    s.announce(64, 'decoy', true, '192.0.2.50', '10.0.0.66:40000');
    s.engine.kb.learnName('192.0.2.50', 'proxy.example.net', T0 + 1);
    s.flow('10.0.0.5:50002', '192.0.2.50:7000').onData(0, Buffer.from('hello'), T0 + 12);
    assert.deepEqual(s.claimed(), ['claimed real0']);
  });
});

// Names from the wire are bounded in the events the engine forwards, not only in alerts: not every
// decoder cuts them, and SIP's CPIM From/To did not (a 1 MB From made a 1 MB message event on stdout,
// in the store and at the SIEM webhooks). The engine cuts identities as alerts show them (256
// characters, '…', a surrogate pair left whole) and server names at 253; shorter names are unchanged,
// and the analyzer matches the cut names as it matched the whole ones (on their first 256 characters).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AlertEvent, ShadowEvent } from '../../common/events';
import { createAnalyzer } from '../../analyzer';
import { parsePolicy } from '../../analyzer/policy';
import { Engine } from '../../signatures/engine';
import { CidrTable, HostTable } from '../../signatures/lookup';
import type { Registry } from '../../signatures/registry';
import type { SessionContext, SignatureModule } from '../../signatures/types';
import type { Dir } from '../../sensor/types';
import { Collect } from '../helpers/collect';
import { Capture } from '../helpers/pcapgen';
import { shadowim } from '../helpers/run';

const MB = 1 << 20;
/** JSON.stringify escapes only a lone surrogate */
const LONE = /\\ud[89a-f][0-9a-f]{2}/i;

// a long name cut at 256; one cut before the emoji that straddles the 256th character; names that fit
const P256 = `mallory-${'m'.repeat(248)}`;
const L1 = `${P256}${'x'.repeat(MB)}`;
const CUT1 = `${P256}…`;
const L2 = `${'q'.repeat(255)}😀${'r'.repeat(MB)}`;
const CUT2 = `${'q'.repeat(255)}…`;
const FITS = `${'n'.repeat(254)}😀`; // 256 characters, the pair last
const L3 = `carol-${'c'.repeat(250)}${'y'.repeat(MB)}`;
const CUT3 = `${L3.slice(0, 256)}…`;
const HOST = `${'h'.repeat(MB)}.example`;

describe('signature engine: names from the wire are bounded in forwarded events', () => {
  it('a SIP MESSAGE whose CPIM From is 1 MB gives a message event of under 2 KiB, the names cut and marked', () => {
    const from = `${'a'.repeat(1_000_000)}@evil.example`; // (a SIP body is read up to 1 MiB)
    const to = `${'b'.repeat(300)}@example.com`;
    const cpim = `From: X <im:${from}>\r\nTo: Bob <im:${to}>\r\n\r\nContent-Type: text/plain\r\n\r\ncard 4111111111111111`;
    const msg = `MESSAGE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/TCP 10.0.0.5;branch=z9hG4bKx\r\nFrom: <sip:alice@example.com>;tag=55\r\nTo: <sip:bob@example.com>\r\nCall-ID: cpim-long\r\nCSeq: 7 MESSAGE\r\nContent-Type: message/cpim\r\nContent-Length: ${Buffer.byteLength(cpim)}\r\n\r\n${cpim}`;
    const c = new Capture();
    c.tcp('10.0.0.5:40000', '192.0.2.10:5060').open().send('c', msg, { segment: 1400 }).close();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-bounds-'));
    try {
      const file = path.join(dir, 'sip.pcap');
      fs.writeFileSync(file, c.pcap());
      const r = shadowim(['analyze', file, '--format', 'jsonl']);
      assert.equal(r.status, 0, r.stderr);
      const lines = r.stdout.split('\n').filter(Boolean);
      const msgLine = lines.find((l) => JSON.parse(l).type === 'message');
      assert.ok(msgLine, 'the message is reported');
      assert.ok(Buffer.byteLength(msgLine) < 2048, `message event: ${Buffer.byteLength(msgLine)} bytes`);
      const m = JSON.parse(msgLine);
      assert.equal(m.from, `${'a'.repeat(256)}…`);
      assert.equal(m.to, `${'b'.repeat(256)}…`);
      assert.equal(m.text, 'card ************1111', 'the text as before (the card masked)');
      assert.ok(Buffer.byteLength(r.stdout) < 8192, `all output: ${Buffer.byteLength(r.stdout)} bytes`);
      assert.doesNotMatch(r.stdout, LONE);
      // the alert on that message names the same two users as the event
      const dlp = r.events.find((e) => e.type === 'alert' && e.kind === 'sensitive_data');
      assert.deepEqual(dlp?.users, [m.from, m.to]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('every event kind cuts its names (users, from, to, user; server_name at 253); names up to the bound are unchanged', () => {
    const events = engineEvents(L1, L2);
    for (const e of events) {
      const bytes = Buffer.byteLength(JSON.stringify(e));
      assert.ok(bytes < 4096, `${e.type}: ${bytes} bytes`);
      assert.doesNotMatch(JSON.stringify(e), LONE, e.type);
    }
    const of = (t: string) => events.filter((e) => e.type === t) as any[];
    const sessions = of('session');
    assert.deepEqual(sessions.map((s) => s.users), [[CUT1, CUT2, FITS, 'alice'], [CUT1, CUT2, FITS, 'alice']]);
    assert.deepEqual(sessions.map((s) => s.server_name), [`${'h'.repeat(253)}…`, `${'h'.repeat(253)}…`], 'from the detection, and from the decoder');
    assert.deepEqual(of('message').map((m) => [m.from, m.to]), [[CUT1, CUT2], ['alice', FITS], [CUT1, CUT2], ['alice', FITS]]);
    assert.deepEqual(of('credential').map((m) => m.user), [CUT2, CUT1, FITS, CUT2, CUT1, FITS]);
    assert.deepEqual(of('file_transfer').map((f) => [f.stage, f.from, f.to]), [['offer', CUT1, CUT2], ['data', CUT2, FITS], ['offer', CUT1, CUT2], ['data', CUT2, FITS]]);
  });

  it('the analyzer gives the same alerts (ids, users, person) for the cut names as for the whole ones', () => {
    const policy = `people:\n  map: { ${P256}: Mallory Example }\n`;
    const alerts = (evs: ShadowEvent[]) => {
      const out = new Collect();
      const an = createAnalyzer(out, { policy: parsePolicy(policy, 'test.yaml'), links: null });
      for (const e of evs) an.write(e);
      an.close();
      return out.alerts;
    };
    // (not L2: a name cut before a pair is matched on its 255 characters and the mark, docs/sensor.md)
    const forwarded = engineEvents(L1, L3);
    const whole = forwarded.map(uncut);
    assert.ok(JSON.stringify(forwarded).length < 64 * 1024, 'the forwarded events hold the cut names');
    assert.ok(JSON.stringify(whole).length > 4 * MB, 'the whole names are the decoder\'s');
    const a = alerts(forwarded);
    assert.deepEqual(a, alerts(whole));
    const kinds = (k: string) => a.filter((x: AlertEvent) => x.kind === k);
    assert.equal(kinds('cleartext_credentials').find((x) => x.users[0] === CUT1)?.person, 'Mallory Example');
    assert.ok(kinds('unauthorized_im').some((x) => x.person === 'Mallory Example'));
    assert.ok(kinds('sensitive_data').some((x) => x.users.join() === [CUT1, CUT3].join()));
  });
});

/** Events of two flows of a module whose decoder hands over hostile names (a, b) through every SessionContext call. */
function engineEvents(L1: string, L2: string): ShadowEvent[] {
  const got: ShadowEvent[] = [];
  const mod: SignatureModule = {
    id: 'hostile', protocols: ['hostile'], transports: ['tcp'],
    detect: (input) => (input.dir === 0 && input.data.includes('DETECTED-NAME') ? { protocol: 'hostile', serverName: HOST, evidence: { signature: 'hostile', reason: 'test' } } : { protocol: 'hostile', evidence: { signature: 'hostile', reason: 'test' } }),
    decoder: (ctx: SessionContext) => ({
      onData(dir: Dir, data: Buffer, ts: number) {
        if (!data.includes('DETECTED-NAME')) ctx.setServerName(HOST);
        for (const u of [L1, L2, FITS, 'alice']) ctx.addUser(u);
        ctx.message(ts, dir, { from: L1, to: L2, text: 'card 4111111111111111', kind: 'chat' });
        ctx.message(ts, dir, { from: 'alice', to: FITS, text: 'hi', kind: 'chat' });
        for (const u of [L2, L1, FITS]) ctx.credential(ts, dir, { user: u, mechanism: 'test-plain' });
        ctx.fileTransfer(ts, dir, { from: L1, to: L2, filename: 'setup.exe', size: 4, stage: 'offer', transfer_id: 't1' });
        const w = ctx.openFile(ts, dir, { filename: 'setup.exe', from: L2, to: FITS, size: 4, transfer_id: 't1' });
        w.write(Buffer.from('MZ\x90\x00'), ts);
        w.end(ts, true);
      },
    }),
  };
  const registry: Registry = { modules: [{ module: mod, data: { id: mod.id }, sources: [] }], hosts: new HostTable(), cidrs: new CidrTable() };
  const engine = new Engine(registry, { emit: (e) => got.push(JSON.parse(JSON.stringify(e))) });
  ['DETECTED-NAME', 'DECODER-NAME'].forEach((first, i) => {
    const ts = 1_700_000_000_000_000 + i * 1_000_000;
    const flow = { id: `f${i}`, transport: 'tcp' as const, client: { ip: '10.0.0.1', port: 40000 + i }, server: { ip: '192.0.2.1', port: 7000 }, firstTs: ts, clientBy: 'syn' as const };
    const h = engine.newFlow(flow)!;
    h.onData(0, Buffer.from(first), ts);
    h.onEnd({ packets: 1, bytes: first.length, packetsC2S: 1, packetsS2C: 0, bytesC2S: first.length, bytesS2C: 0, firstTs: ts, lastTs: ts + 1, gapBytes: 0 }, 'fin');
  });
  return got;
}

/** an event as the decoder gave it: its cut names put back whole */
function uncut(e: ShadowEvent): ShadowEvent {
  const whole = (v: unknown) => (v === CUT1 ? L1 : v === CUT3 ? L3 : v);
  const o: any = { ...e };
  for (const k of ['from', 'to', 'user']) if (k in o) o[k] = whole(o[k]);
  if (Array.isArray(o.users)) o.users = o.users.map(whole);
  return o;
}

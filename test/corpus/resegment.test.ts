// The corpus again, with every TCP payload cut differently: each labelled capture's conversations are
// replayed as a new capture (same addresses, ports and bytes, in the same order) in which every
// segment is split after its first 1-3 bytes. Detection sees a one-byte first segment and prefixes
// that grow byte by byte; decoders see every PDU split mid-header. The labels must still hold —
// ground truth is labels.json, not our own output on the original files.
import assert from 'node:assert/strict';
import path from 'node:path';
import { PCAPS_DIR, havePcaps, labels } from '../helpers/paths';
import { shadowim } from '../helpers/run';
import { Capture } from '../helpers/pcapgen';
import { runCapture, tmpFile } from '../sensor/record';

/**
 * The capture's flows, replayed with each TCP payload split after its first 1-3 bytes, or (`tiny`)
 * with the first 300 bytes of each direction sent one byte per segment, the rest as it was.
 */
async function resegmented(file: string, tiny = false): Promise<Buffer> {
  const { rec } = await runCapture(file);
  const cap = new Capture();
  cap.step = 100; // 0.1 ms between frames: every flow well inside its timeouts
  let cut = 0;
  for (const f of rec.flows) {
    const ep = (e: { ip: string; port: number }) => (e.ip.includes(':') ? `[${e.ip}]:${e.port}` : `${e.ip}:${e.port}`);
    const client = ep(f.info.client), server = ep(f.info.server);
    const at = [0, 0];
    const next = [0, 0];
    const conv = f.info.transport === 'tcp' ? cap.tcp(client, server).open() : undefined;
    for (const call of f.calls) {
      const m = /^([dg])([01]):(\d+)$/.exec(call);
      if (!m || m[1] === 'g') continue; // holes in the original: the replay simply has none
      const dir = Number(m[2]) as 0 | 1, len = Number(m[3]);
      if (conv) {
        const bytes = f.data[dir].subarray(at[dir], at[dir] + len);
        at[dir] += len;
        const side = dir === 0 ? 'c' : 's';
        if (tiny) {
          // the stream offset where this payload starts decides how much of it goes byte by byte
          let o = 0;
          for (; o < bytes.length && at[dir] - len + o < TINY_PREFIX; o++) conv.send(side, bytes.subarray(o, o + 1));
          if (o < bytes.length) conv.send(side, bytes.subarray(o));
        } else {
          const first = 1 + (cut++ % 3);
          conv.send(side, bytes.subarray(0, first));
          if (bytes.length > first) conv.send(side, bytes.subarray(first));
        }
      } else {
        cap.udp(client, server, f.datagrams[dir][next[dir]++], dir === 0 ? 'c' : 's');
      }
    }
    conv?.close();
  }
  return cap.pcap();
}

const IM_TYPES = new Set(['session', 'message', 'file_transfer', 'alert']);
/** bytes of each TCP direction sent a byte per segment in the tiny mode */
const TINY_PREFIX = 300;

for (const tiny of [false, true]) {
(havePcaps() ? describe : describe.skip)(tiny ? `corpus: the first ${TINY_PREFIX} bytes of every TCP direction a byte per segment (tiny-segment evasion), labels still hold` : 'corpus: every TCP segment split after its first bytes, labels still hold', function () {
  this.timeout(120000);
  for (const [file, want] of Object.entries(havePcaps() ? labels() : {})) {
    it(file, async () => {
      const out = tmpFile(await resegmented(path.join(PCAPS_DIR, file), tiny));
      const r = shadowim(['analyze', out, '--format', 'jsonl']);
      assert.equal(r.status, 0, r.stderr);
      const events = r.events as any[];
      if (want.protocols.length === 0) {
        assert.deepEqual(events.filter((e) => IM_TYPES.has(e.type)).map((e) => `${e.type}:${e.protocol ?? ''}`), []);
        return;
      }
      const seen = new Set(events.filter((e) => e.type === 'session').map((e) => e.protocol));
      for (const p of want.protocols) assert.ok(seen.has(p), `protocol ${p} not reported; sessions: ${[...seen].join(', ') || 'none'}`);
      const allowed = new Set([...want.protocols, ...(want.also_ok ?? [])]);
      assert.deepEqual([...seen].filter((p) => !allowed.has(p)), [], 'unexpected protocols');
      const users = new Set<string>();
      for (const e of events) {
        if (e.type === 'session') for (const u of e.users) users.add(u);
        if (e.type === 'message') users.add(e.from).add(e.to);
      }
      for (const u of want.users ?? []) assert.ok(users.has(u), `user ${u} not found`);
      const texts = events.filter((e) => e.type === 'message').map((e) => e.text as string);
      for (const m of want.messages ?? []) assert.ok(texts.some((t) => t.includes(m)), `no message contains ${JSON.stringify(m)}`);
      const names = events.filter((e) => e.type === 'file_transfer').map((e) => e.filename as string);
      for (const n of want.file_transfers ?? []) assert.ok(names.includes(n), `file ${n} not reported; got ${names.join(', ') || 'none'}`);
    });
  }
});
}

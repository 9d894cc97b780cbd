// The live evidence ring: frames go through it into the real packet path and signature engine, as in
// `shadowim sensor --evidence-dir`; a session's packets come out as a pcap with exactly its packets.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Capture } from '../helpers/pcapgen';
import { dashboardCapture } from './fixture';
import { EvidenceRing } from '../../dashboard/evidenceRing';

async function run(pcap: Buffer, dir: string, opts: { maxBytes?: number; perFlowBytes?: number } = {}) {
  const { CaptureReader } = require('../../sensor/captureFile') as typeof import('../../sensor/captureFile');
  const { PacketPath } = require('../../sensor/packetPath') as typeof import('../../sensor/packetPath');
  const { loadRegistry } = require('../../signatures/registry') as typeof import('../../signatures/registry');
  const { Engine } = require('../../signatures/engine') as typeof import('../../signatures/engine');
  const rows: any[] = [];
  const events: any[] = [];
  let ring!: EvidenceRing;
  const engine = new Engine(loadRegistry(), { emit: (ev: any) => (ring.onEvent(ev), events.push(ev)), sensor: 'live-1' });
  const pp = new PacketPath(engine, {});
  ring = new EvidenceRing(pp, { dir, record: (r) => rows.push(r), sensor: 'live-1', ...opts });
  const file = path.join(dir, 'in.pcap');
  fs.writeFileSync(file, pcap);
  await CaptureReader.open(file, ring).run();
  pp.finish();
  await ring.drain();
  return { rows, events, ring };
}

const count = (f: string) => Number(/Number of packets:\s+(\d+)/.exec(execFileSync('capinfos', ['-c', f], { encoding: 'utf8' }))![1]);

describe('evidence ring (live sessions)', function () {
  this.timeout(60000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-ring-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes each IM session\'s packets (both directions, nothing else) and records the file', async () => {
    const cap = dashboardCapture();
    const { rows, events, ring } = await run(cap.pcap, path.join(dir, 'a'));
    const sessions = events.filter((e) => e.type === 'session');
    assert.equal(sessions.length, 2);
    assert.equal(rows.length, 2);
    assert.equal(ring.stats.written, 2);
    const a = rows.find((r) => r.client_port === 40001);
    assert.equal(a.sensor, 'live-1');
    assert.equal(a.start_ms, Date.parse(sessions.find((s) => s.client.port === 40001).start));
    assert.equal(count(a.source), cap.flowAPackets);
    const ports = execFileSync('tshark', ['-r', a.source, '-T', 'fields', '-e', 'tcp.srcport', '-e', 'tcp.dstport'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n');
    for (const l of ports) assert.deepEqual(l.split('\t').sort(), ['40001', '6667']);
    assert.equal((fs.statSync(a.source).mode & 0o777).toString(8), '600');
  });

  it('keeps the first bytes of a long flow only, and stays within its total by dropping the oldest flows', async () => {
    const c = new Capture();
    // one IRC session with 300 messages of ~1 KB, then 50 non-IM flows of 40 KB each
    const t = c.tcp('10.0.0.5:40001', '198.51.100.7:6667');
    t.open();
    t.send('c', 'NICK alice\r\nUSER alice 0 * :Alice\r\n');
    for (let i = 0; i < 300; i++) t.send('c', `PRIVMSG #x :${'x'.repeat(1000)} ${i}\r\n`);
    t.close();
    for (let i = 0; i < 50; i++) {
      const u = c.tcp(`10.0.1.${i + 1}:5000`, '192.0.2.1:8080');
      u.open();
      u.send('c', Buffer.alloc(40000, 1));
      u.close();
    }
    const { rows, ring } = await run(c.pcap(), path.join(dir, 'b'), { perFlowBytes: 64 * 1024, maxBytes: 512 * 1024 });
    assert.equal(rows.length, 1);
    const size = fs.statSync(rows[0].source).size;
    assert.ok(size <= 64 * 1024 + 24, `per-flow cap: ${size}`);
    assert.ok(count(rows[0].source) >= 20);
    assert.ok(ring.stats.evicted > 0, 'old flows dropped to stay under the total');
    assert.ok((ring as any).total <= 512 * 1024);
  });
});

// The benchmark's hand-written Node loop (the sensor issue's third yardstick) must count what a
// reference decoder counts, or the host-speed factor it gives would compare unlike work.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { generate } from '../../bench/generate';
import { referenceLoop } from '../../bench/referenceLoop';

const haveTshark = spawnSync('tshark', ['-v']).status === 0;

describe('bench: the hand-written Node loop yardstick', function () {
  this.timeout(60_000);
  let dir: string;
  let file: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-refloop-'));
    file = path.join(dir, 'mix.pcap');
    generate(file, 20_000, 7);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads every packet and counts the TCP and UDP conversations tshark counts', function () {
    if (!haveTshark) this.skip();
    const r = referenceLoop(file);
    const packets = spawnSync('tshark', ['-r', file, '-T', 'fields', '-e', 'frame.number'], { maxBuffer: 64 << 20 }).stdout.toString().trim().split('\n').length;
    assert.equal(r.packets, packets);
    // tshark's conversation tables: one line per unordered 5-tuple ("<->" rows)
    const conv = spawnSync('tshark', ['-r', file, '-q', '-z', 'conv,tcp', '-z', 'conv,udp'], { maxBuffer: 64 << 20 }).stdout.toString();
    const conversations = conv.split('\n').filter((l) => l.includes('<->')).length;
    assert.ok(conversations > 1000, `a mixed capture has many conversations (${conversations})`);
    assert.equal(r.flows, conversations);
  });

  it('refuses what it cannot read with a message that says so', () => {
    const bad = path.join(dir, 'bad.pcap');
    fs.writeFileSync(bad, Buffer.alloc(64, 7));
    assert.throws(() => referenceLoop(bad), /classic pcap only/);
  });
});

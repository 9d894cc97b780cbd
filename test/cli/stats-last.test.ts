// The closing `stats` event is the last line of a run (README, docs/sensor.md), also when the analyzer
// still holds repeat counts at the end: its "seen N times" alert updates come before it. Was: stats,
// then the updates. Ground truth: three IRC sessions of the same user from the same host to the same
// server are one unauthorized_im alert seen 3 times (docs/analyzer.md, suppression).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Capture } from '../helpers/pcapgen';
import { shadowim, jsonLines } from '../helpers/run';

describe('cli: the stats event closes the run', () => {
  it('comes after the end-of-run alert updates (jsonl and text)', () => {
    const c = new Capture();
    for (const port of [40001, 40002, 40003]) {
      c.tcp(`10.0.0.5:${port}`, '192.0.2.10:6667').open()
        .send('c', 'NICK alice\r\nUSER alice 0 * :Alice\r\n').send('s', ':irc.example.net 001 alice :Welcome alice\r\n')
        .send('c', 'PRIVMSG #chan :hello\r\n').close();
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-stats-'));
    try {
      const f = path.join(dir, 'c.pcap');
      fs.writeFileSync(f, c.pcap());
      const r = shadowim(['analyze', f, '--format', 'jsonl']);
      assert.equal(r.status, 0, r.stderr);
      const evs = jsonLines(r.stdout);
      assert.equal(evs[evs.length - 1].type, 'stats', r.stdout);
      assert.equal(evs.filter((e) => e.type === 'stats').length, 1);
      const unauth = evs.filter((e) => e.type === 'alert' && e.kind === 'unauthorized_im');
      assert.equal(new Set(unauth.map((a) => a.id)).size, 1, 'one alert');
      assert.equal(Math.max(...unauth.map((a) => a.count ?? 1)), 3, 'its update says 3');
      const text = shadowim(['analyze', f, '--format', 'text']);
      assert.match(text.stdout.trim().split('\n').pop()!, / STATS /);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

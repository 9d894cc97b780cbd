// The closing `stats` event is the last line of a run (README, docs/sensor.md), also when the analyzer
// still holds repeat counts at the end: its "seen N times" alert updates come before it. Was: stats,
// then the updates. Ground truth: three IRC sessions of the same user from the same host to the same
// server are one unauthorized_im alert seen 3 times (docs/analyzer.md, suppression).
import assert from 'node:assert/strict';
import { Capture } from '../helpers/pcapgen';
import { analyzeCapture } from '../helpers/analyze';
import { shadowim } from '../helpers/run';

describe('cli: the stats event closes the run', () => {
  it('comes after the end-of-run alert updates (jsonl and text)', () => {
    const c = new Capture();
    for (const port of [40001, 40002, 40003]) {
      c.tcp(`10.0.0.5:${port}`, '192.0.2.10:6667').open()
        .send('c', 'NICK alice\r\nUSER alice 0 * :Alice\r\n').send('s', ':irc.example.net 001 alice :Welcome alice\r\n')
        .send('c', 'PRIVMSG #chan :hello\r\n').close();
    }
    let text = '';
    const evs = analyzeCapture(c, (file) => (text = shadowim(['analyze', file, '--format', 'text']).stdout));
    assert.equal(evs[evs.length - 1].type, 'stats', JSON.stringify(evs.slice(-2)));
    assert.equal(evs.filter((e) => e.type === 'stats').length, 1);
    const unauth = evs.filter((e) => e.type === 'alert' && e.kind === 'unauthorized_im');
    assert.equal(new Set(unauth.map((a) => a.id)).size, 1, 'one alert');
    assert.equal(Math.max(...unauth.map((a) => a.count ?? 1)), 3, 'its update says 3');
    assert.match(text.trim().split('\n').pop()!, / STATS /);
  });
});

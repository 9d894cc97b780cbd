// `shadowim search` says in words which page of the matches it printed ('showing the newest 1'), not
// 'showing 1 from 0'.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Capture } from '../helpers/pcapgen';
import { shadowim } from '../helpers/run';

describe('search: the count line when only part of the matches is shown', function () {
  this.timeout(60000);
  let tmp: string;
  let store: string;
  const env = { SHADOWIM_CONFIG: '' };
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-search-paging-'));
    const c = new Capture();
    const t = c.tcp('10.0.0.5:40001', '198.51.100.7:6667').open();
    t.send('c', 'NICK alice\r\nUSER alice 0 * :Alice\r\n');
    t.send('s', ':irc.example.net 001 alice :Welcome\r\n');
    for (const m of ['one', 'two', 'three']) t.send('c', `PRIVMSG bob :${m}\r\n`);
    t.close();
    const cap = path.join(tmp, 'irc.pcap');
    fs.writeFileSync(cap, c.pcap());
    store = path.join(tmp, 'store.db');
    const r = shadowim(['analyze', cap, '--format', 'jsonl', '--store', store], { env });
    assert.equal(r.status, 0, r.stderr);
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  const line = (...args: string[]) => {
    const r = shadowim(['search', '--store', store, ...args], { env });
    assert.equal(r.status, 0, r.stderr);
    return r.stderr;
  };

  it('names the page in words: the newest N, N after the newest M, none past the last', () => {
    assert.equal(line('--limit', '1'), '3 messages matched; showing the newest 1 (use --limit/--offset)\n');
    assert.equal(line('--limit', '1', '--offset', '1'), '3 messages matched; showing 1 after the newest 1 (use --limit/--offset)\n');
    assert.equal(line('--offset', '5'), '3 messages matched; none shown: --offset 5 is past the last match (use --limit/--offset)\n');
    assert.equal(line(), '3 messages matched\n');
  });
});

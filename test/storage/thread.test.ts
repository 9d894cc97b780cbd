// The store worker (ThreadedSqliteSink): batches queued behind each other are committed together, yet an
// alert — and everything written before it — is in the file when write() returns, and close() leaves
// every event stored.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ShadowEvent } from '../../common/events';
import { defaults } from '../../common/config';
import { openStore } from '../../storage/store';
import { ThreadedSqliteSink } from '../../storage/sqlite-thread';
import { searchMessages } from '../../storage/queries';

const T0 = Date.UTC(2024, 0, 15, 9);
const ep = (ip: string, port: number) => ({ ip, port });
const message = (i: number): ShadowEvent => ({ type: 'message', ts: new Date(T0 + i).toISOString(), protocol: 'irc', from: `u${i % 50}`, to: 'bob', text: `hello number${i}`, direction: 'outbound', client: ep('10.0.0.5', 4000), server: ep('198.51.100.7', 6667), flow_id: `f${i % 7}` });

describe('storage: the store worker', function () {
  this.timeout(120000);
  let tmp: string;
  before(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-thread-'))));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('an alert and all before it are committed when write() returns; close() stores the rest', async () => {
    const file = path.join(tmp, 't.db');
    const sink = new ThreadedSqliteSink({ file, sensor: 's', archive: defaults().archive, retentionDays: 0, synchronous: 'normal', batch: 100 });
    const reader = openStore(file, { readonly: true });
    const count = (t: string) => (reader.prepare(`SELECT count(*) AS n FROM ${t}`).get() as any).n;
    let written = 0;
    for (let round = 1; round <= 3; round++) {
      // many batches in a row: the worker reads them faster than it commits, so they coalesce
      for (let i = 0; i < 5000; i++) sink.write(message(written++));
      sink.write({ type: 'alert', ts: new Date(T0 + written).toISOString(), id: `a${round}`, kind: 'unauthorized_im', severity: 'high', protocol: 'irc', summary: 'x', users: ['u1'], count: 1 });
      assert.equal(count('alerts'), round, 'the alert is in the file when write() returns');
      assert.equal(count('messages'), written, 'and so is every message written before it');
      assert.equal(searchMessages(reader, { text: `number${written - 1}` }).total, 1, 'and in the full-text index');
    }
    for (let i = 0; i < 2500; i++) sink.write(message(written++));
    await sink.close();
    assert.equal(count('messages'), written);
    assert.equal(searchMessages(reader, { text: 'hello' }).total, written);
    reader.close();
  });
});

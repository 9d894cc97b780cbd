// The streamed messages export (/api/messages.csv) for a client gone before the handler ran (it closed
// during the asynchronous login check): the response's 'close' had already fired, res.write() returned
// false, and the export waited for a 'drain' or 'close' that never came — one handler pending for good
// per such request.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ShadowEvent } from '../../common/events';
import { openStore } from '../../storage/store';
import { messagePages } from '../../storage/queries';
import { messagesCsv } from '../../dashboard/api';

describe('dashboard: the messages export to a client already gone', function () {
  this.timeout(30000);
  it('writes nothing and ends at once', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-csvclosed-'));
    const { fillStore } = require('../helpers/store') as typeof import('../helpers/store');
    const file = path.join(dir, 's.db');
    await fillStore(file, Array.from({ length: 5 }, (_, i): ShadowEvent => ({ type: 'message', ts: new Date(Date.UTC(2024, 0, 15, 9, i)).toISOString(), protocol: 'irc', from: `u${i}`, to: 'bob', text: 'hello', direction: 'outbound', client: { ip: '10.0.0.5', port: 4000 }, server: { ip: '198.51.100.7', port: 6667 } })));
    const db = openStore(file, { readonly: true });
    let writes = 0;
    // a response whose socket is gone and whose 'close' has fired: write() returns false, nothing more is emitted
    const res = Object.assign(new EventEmitter(), { destroyed: true, writableEnded: false, setHeader() {}, write: () => (writes++, false), end() {} });
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      messagesCsv(res as any, messagePages(db, {})).then(() => 'ended'),
      new Promise((r) => (timer = setTimeout(() => r('still waiting'), 3000))),
    ]);
    clearTimeout(timer);
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
    assert.equal(outcome, 'ended');
    assert.equal(writes, 0);
    assert.equal(res.listenerCount('drain') + res.listenerCount('close'), 0, 'no listener left behind');
  });
});

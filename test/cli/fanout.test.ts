// The pipeline's outputs: one failing output (the store) never keeps an event from the others (stdout),
// and every output is closed (stdout flushed) even when one closed before it throws.
import assert from 'node:assert/strict';
import type { EventSink, ShadowEvent } from '../../common/events';
import { Fanout } from '../../cli/fanout';

const ev = (i: number): ShadowEvent => ({ type: 'message', ts: new Date(Date.UTC(2024, 0, 15) + i).toISOString(), protocol: 'irc', from: 'alice', to: 'bob', text: `m${i}` }) as ShadowEvent;

describe('cli: the outputs fan-out', () => {
  it('a failing output: the others get every event and are closed; one line, then a count', async () => {
    const broken: EventSink = {
      write: () => {
        throw new Error('store /x/s.db: disk I/O error');
      },
      close: async () => {
        throw new Error('store /x/s.db: disk I/O error');
      },
    };
    const got: string[] = [];
    let closed = false;
    const stdout: EventSink = { write: (e) => void got.push((e as any).text), close: async () => void (closed = true) };
    const f = new Fanout([broken, stdout]);
    const write = process.stderr.write;
    let err = '';
    (process.stderr as any).write = (s: any) => ((err += String(s)), true);
    try {
      for (let i = 0; i < 3; i++) f.write(ev(i));
      await f.close();
    } finally {
      process.stderr.write = write;
    }
    assert.deepEqual(got, ['m0', 'm1', 'm2']);
    assert.equal(closed, true);
    assert.deepEqual(err.trim().split('\n'), ['shadowim: store /x/s.db: disk I/O error; the other outputs still get every event (later failures of this output are counted)']);
    assert.deepEqual(f.failures(), ['store /x/s.db: disk I/O error (3 events not written to it)']);
  });
});

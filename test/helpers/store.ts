// A store filled the way a sensor fills it: events through the real store sink, every one archived.
import type { ShadowEvent } from '../../common/events';
import type { SqliteSink } from '../../storage/sqlite-sink';

/**
 * A store sink writing into the store at `file` (made if new), archiving everything; close() it when done.
 * rollupMs: how often the daily rollups are written (the sink's default 2 s; 0: at every write).
 */
export function storeSink(file: string, sensor: string, opts: { rollupMs?: number } = {}): SqliteSink {
  // required when called: importing this file loads no native module (a skipped browser test needs none)
  const { openStore } = require('../../storage/store') as typeof import('../../storage/store');
  const { SqliteSink } = require('../../storage/sqlite-sink') as typeof import('../../storage/sqlite-sink');
  return new SqliteSink(openStore(file), { sensor, archive: { enabled: true, metadata: true, retention_days: 0 }, ownDb: true, ...opts });
}

/** Writes `events` into the store at `file` (sensor s1, rollups at once) and closes it. */
export async function fillStore(file: string, events: Iterable<ShadowEvent>): Promise<void> {
  const sink = storeSink(file, 's1', { rollupMs: 0 });
  for (const e of events) sink.write(e);
  await sink.close();
}

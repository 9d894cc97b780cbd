// What the pipeline asks storage for: the sinks to add to `outputs` (SQLite store, InfluxDB), built from
// --store and the configuration. Loaded lazily so `analyze` without a store pays nothing.

import type { EventSink } from '../common/events';
import { getConfig, type Config } from '../common/config';

export interface StorageSinkOptions {
  /** --store PATH (wins over config store.path) */
  store?: string;
  /** --sensor NAME (wins over config sensor.name) */
  sensor?: string;
  config?: Config;
}

/** The SQLite and InfluxDB sinks the options and configuration ask for (possibly none). */
export function storageSinks(o: StorageSinkOptions): EventSink[] {
  const cfg = o.config ?? getConfig();
  const sensor = o.sensor ?? cfg.sensor.name;
  const sinks: EventSink[] = [];
  const storePath = o.store ?? cfg.store.path;
  if (storePath) {
    const { openStore } = require('./store') as typeof import('./store');
    const { SqliteSink } = require('./sqlite-sink') as typeof import('./sqlite-sink');
    const db = openStore(storePath, { synchronous: cfg.store.synchronous });
    sinks.push(new SqliteSink(db, { sensor, archive: cfg.archive, retentionDays: cfg.store.retention_days, ownDb: true }));
  }
  if (cfg.influx.url) {
    const { InfluxSink } = require('./influx-sink') as typeof import('./influx-sink');
    const sqlite = sinks[0] as import('./sqlite-sink').SqliteSink | undefined;
    sinks.push(
      new InfluxSink({
        ...cfg.influx,
        url: cfg.influx.url,
        sensor,
        // spool drops are also counted in the store's sensors table
        onDropped: sqlite ? (n) => sqlite.addSensorCounters(sensor, { spool_dropped: n }) : undefined,
      }),
    );
  }
  return sinks;
}

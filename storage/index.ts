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
    // SQLite works in a worker thread (storage/sqlite-thread.ts); alerts are still committed before write() returns
    const { ThreadedSqliteSink } = require('./sqlite-thread') as typeof import('./sqlite-thread');
    sinks.push(new ThreadedSqliteSink({ file: storePath, sensor, archive: cfg.archive, retentionDays: cfg.store.retention_days, synchronous: cfg.store.synchronous }));
  }
  if (cfg.influx.url) {
    const { InfluxSink } = require('./influx-sink') as typeof import('./influx-sink');
    const sqlite = sinks[0] as import('./sqlite-thread').ThreadedSqliteSink | undefined;
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

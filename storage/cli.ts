// What `search` and `report` share: --config / --store resolution, time range, opening the store read-only.

import { UsageError } from '../cli/args';
import { ConfigError, loadConfig, setConfig, type Config } from '../common/config';
import { openStore, StoreError } from './store';
import { parseTime, TimeArgError } from './time';


export function openForReading(opts: Record<string, unknown>): { cfg: Config; db: import('better-sqlite3').Database; path: string } {
  let cfg: Config;
  try {
    cfg = loadConfig({ file: opts.config as string | undefined });
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(e.message);
    throw e;
  }
  setConfig(cfg);
  const path = (opts.store as string | undefined) ?? cfg.store.path ?? 'shadowim.db';
  try {
    return { cfg, db: openStore(path, { readonly: true }), path };
  } catch (e) {
    if (e instanceof StoreError) throw new UsageError(e.message);
    throw e;
  }
}

export function timeOpt(v: unknown, name: string, dflt: number, now: number): number {
  if (v === undefined) return dflt;
  try {
    return parseTime(String(v), now, `--${name}`);
  } catch (e) {
    if (e instanceof TimeArgError) throw new UsageError(e.message);
    throw e;
  }
}

export function intOpt(v: unknown, name: string, dflt: number, min: number, max: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be a whole number from ${min} to ${max}`);
  return n;
}

export function formatOpt(v: unknown, allowed: string[], dflt: string): string {
  const f = (v as string | undefined) ?? dflt;
  if (!allowed.includes(f)) throw new UsageError(`--format must be one of ${allowed.join(', ')}`);
  return f;
}

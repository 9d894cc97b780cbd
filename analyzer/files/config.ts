// The `files:` section of the configuration file (common/config.ts keeps it raw in cfg.extra.files):
// spool bounds, ClamAV, hash lists, quarantine. Validated here; a mistake is one clear line.
import path from 'node:path';
import { configSection } from '../../common/configSection';
import { ConfigError } from '../../common/configError';

export class FilesConfigError extends ConfigError {}

export interface QuarantineConfig {
  dir: string;
  /** most bytes kept in all (oldest evicted beyond) */
  maxBytes: number;
  /** most files kept (oldest evicted beyond) */
  maxFiles: number;
  /** 'all' carved files, or only 'flagged' ones (infected, forbidden, sensitive) */
  keep: 'all' | 'flagged';
}

export interface ClamavConfig {
  /** clamd socket: a unix socket path, or tcp://HOST:PORT (INSTREAM) */
  clamd?: { path?: string; host?: string; port?: number };
  /** else this command on the spooled file: clamscan (with `database`) or clamdscan */
  command?: string;
  /** signature database directory for clamscan (-d) */
  database?: string;
  timeoutMs: number;
}

export interface FilesConfig {
  /** where spooled files wait for their scan; default: <quarantine>/.work, else a private temp dir */
  spoolDir?: string;
  /** a file larger than this is hashed to the end but not kept for scanning (verdict unscanned:too-large) */
  spoolMaxFileBytes: number;
  /** all files being spooled at once together */
  spoolMaxTotalBytes: number;
  /** characters of a file's text the DLP detectors read */
  contentMaxChars: number;
  /** how long close() waits for scans still running; the rest are reported unscanned:timeout */
  drainTimeoutMs: number;
  clamav?: ClamavConfig;
  hashLists: string[];
  quarantine?: QuarantineConfig;
}

export function defaultFilesConfig(): FilesConfig {
  return {
    spoolMaxFileBytes: 64 * 1024 * 1024,
    spoolMaxTotalBytes: 512 * 1024 * 1024,
    contentMaxChars: 1024 * 1024,
    drainTimeoutMs: 120_000,
    hashLists: [],
  };
}


/**
 * `raw` = cfg.extra.files; `base` = directory relative paths are resolved against (the config file's);
 * `where` names the file in messages.
 */
export function parseFilesConfig(raw: unknown, base: string, where = 'config'): FilesConfig {
  const c = defaultFilesConfig();
  if (raw === undefined || raw === null) return c;
  const { fail, map, keys } = configSection('files', where, FilesConfigError);
  const int = (v: unknown, what: string, min: number, max: number): number => {
    const n = typeof v === 'string' ? parseSize(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) fail(`${what} must be a whole number from ${min} to ${max} (sizes may be written 64MiB, 2GiB)`);
    return n as number;
  };
  const str = (v: unknown, what: string): string => {
    if (typeof v !== 'string' || !v.trim()) fail(`${what} must be a non-empty string`);
    return (v as string).trim();
  };
  const file = (v: unknown, what: string) => path.resolve(base, str(v, what));
  const ms = (v: unknown, what: string): number => {
    if (typeof v === 'number' && v > 0) return Math.round(v * 1000);
    const m = typeof v === 'string' ? /^(\d+(?:\.\d+)?)\s*(ms|s|m)?$/.exec(v.trim()) : null;
    if (!m) fail(`${what} must be a duration such as 30s, 500ms or 2m`);
    return Math.round(Number(m![1]) * ({ ms: 1, s: 1000, m: 60_000 } as Record<string, number>)[m![2] ?? 's']);
  };

  const m = map(raw, 'files');
  keys(m, '', ['spool', 'content_max_chars', 'drain_timeout', 'clamav', 'hash_lists', 'quarantine']);
  if (m.spool !== undefined) {
    const s = map(m.spool, 'spool');
    keys(s, 'spool', ['dir', 'max_file_bytes', 'max_total_bytes']);
    if (s.dir !== undefined) c.spoolDir = file(s.dir, 'spool.dir');
    if (s.max_file_bytes !== undefined) c.spoolMaxFileBytes = int(s.max_file_bytes, 'spool.max_file_bytes', 1, 2 ** 40);
    if (s.max_total_bytes !== undefined) c.spoolMaxTotalBytes = int(s.max_total_bytes, 'spool.max_total_bytes', 1, 2 ** 44);
  }
  if (m.content_max_chars !== undefined) c.contentMaxChars = int(m.content_max_chars, 'content_max_chars', 1024, 64 * 1024 * 1024);
  if (m.drain_timeout !== undefined) c.drainTimeoutMs = ms(m.drain_timeout, 'drain_timeout');
  if (m.clamav !== undefined) {
    const a = map(m.clamav, 'clamav');
    keys(a, 'clamav', ['clamd', 'command', 'database', 'timeout']);
    const cl: ClamavConfig = { timeoutMs: 60_000 };
    if (a.clamd !== undefined) {
      const v = str(a.clamd, 'clamav.clamd');
      const t = /^tcp:\/\/(\[[^\]]+\]|[^:/]+):(\d{1,5})\/?$/.exec(v);
      if (t) cl.clamd = { host: t[1].replace(/^\[|\]$/g, ''), port: int(Number(t[2]), 'clamav.clamd port', 1, 65535) };
      else if (/^[a-z]+:\/\//i.test(v)) fail(`clamav.clamd '${v}' must be a unix socket path or tcp://HOST:PORT`);
      else cl.clamd = { path: path.resolve(base, v) };
    }
    if (a.command !== undefined) cl.command = str(a.command, 'clamav.command');
    if (a.database !== undefined) cl.database = file(a.database, 'clamav.database');
    if (a.timeout !== undefined) cl.timeoutMs = ms(a.timeout, 'clamav.timeout');
    if (!cl.clamd && !cl.command && !cl.database) fail('clamav needs clamd (socket), or database (a signature directory for clamscan), or command (e.g. clamdscan)');
    if (!cl.clamd && !cl.command) cl.command = 'clamscan';
    c.clamav = cl;
  }
  if (m.hash_lists !== undefined) {
    const l = Array.isArray(m.hash_lists) ? m.hash_lists : [m.hash_lists];
    c.hashLists = l.map((v, i) => file(v, `hash_lists[${i}]`));
  }
  if (m.quarantine !== undefined && m.quarantine !== false) {
    const q = map(m.quarantine, 'quarantine');
    keys(q, 'quarantine', ['dir', 'max_bytes', 'max_files', 'keep']);
    if (q.dir === undefined) fail('quarantine.dir is required (the directory carved files are kept in)');
    let keep: QuarantineConfig['keep'] = 'all';
    if (q.keep !== undefined) {
      if (q.keep !== 'all' && q.keep !== 'flagged') fail(`quarantine.keep must be all or flagged, not '${String(q.keep)}'`);
      keep = q.keep as QuarantineConfig['keep'];
    }
    c.quarantine = {
      dir: file(q.dir, 'quarantine.dir'),
      maxBytes: q.max_bytes === undefined ? 1024 * 1024 * 1024 : int(q.max_bytes, 'quarantine.max_bytes', 1, 2 ** 44),
      maxFiles: q.max_files === undefined ? 10_000 : int(q.max_files, 'quarantine.max_files', 1, 10_000_000),
      keep,
    };
  }
  return c;
}

/** "64MiB", "2 GiB", "500kB", "1048576" → bytes; NaN when not a size */
export function parseSize(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]i?b?|b)?$/i.exec(s.trim());
  if (!m) return NaN;
  const unit = (m[2] ?? 'b').toLowerCase();
  const pow = { b: 0, k: 1, m: 2, g: 3, t: 4 }[unit[0] as 'b' | 'k' | 'm' | 'g' | 't'];
  const base = unit.includes('i') || unit.length === 1 ? 1024 : 1000;
  return Math.round(Number(m[1]) * base ** pow);
}

/** The files configuration of the process (config file's `files:` section). */
export function filesConfigFromProcess(): FilesConfig {
  const { getConfig } = require('../../common/config') as typeof import('../../common/config');
  const cfg = getConfig();
  return parseFilesConfig(cfg.extra.files, cfg.file ? path.dirname(path.resolve(cfg.file)) : process.cwd(), cfg.file ?? 'config');
}

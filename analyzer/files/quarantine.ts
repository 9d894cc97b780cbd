// The quarantine: carved files kept for an analyst, off unless configured. Each file is stored under
// its sha256 (never the wire name) with no execute bits (0400), next to a JSON sidecar (0600) that
// records the sanitized name, parties, times, flow id and verdict. The directory is 0700; size and
// count are bounded, the oldest evicted first. Readers (CLI `shadowim files`, the dashboard) use
// listQuarantine / getQuarantined / exportQuarantined and nothing else.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Endpoint, FileInfo, FileTransferEvent } from '../../common/events';
import { whyCannotRead, whyCannotWrite } from '../../common/fsError';
import { makeDirs } from '../../common/makeDirs';

export interface Sighting {
  ts: string;
  protocol: string;
  filename: string;
  from: string;
  to: string;
  direction?: string;
  client?: Endpoint;
  server?: Endpoint;
  flow_id?: string;
  sensor?: string;
}

export interface QuarantineEntry {
  sha256: string;
  md5: string;
  size: number;
  /** first sanitized name it was sent under */
  filename: string;
  file_type?: string;
  verdict?: string;
  complete: boolean;
  file_info?: FileInfo;
  /** wall-clock time it was stored (eviction order) */
  stored_at: string;
  /** capture times of the first and last transfer of these bytes */
  first_seen: string;
  last_seen: string;
  /** each transfer of these bytes (at most 20 kept) */
  sightings: Sighting[];
}

export class QuarantineError extends Error {}

const SHA_RE = /^[0-9a-f]{64}$/;
const MAX_SIGHTINGS = 20;

/** The path of a quarantined file's bytes; throws on anything that is not a sha256 (no path tricks). */
export function quarantinePath(dir: string, sha256: string): string {
  const s = String(sha256).toLowerCase();
  if (!SHA_RE.test(s)) throw new QuarantineError(`'${String(sha256).slice(0, 80)}' is not a SHA-256 (64 hex digits)`);
  return path.join(dir, s);
}

export class Quarantine {
  /** sha256 → [size, stored_at ms], in storage order (oldest first) */
  private index = new Map<string, { size: number; at: number }>();
  private bytes = 0;
  readonly stats = { stored: 0, evicted: 0, refused: 0 };

  constructor(readonly dir: string, readonly maxBytes: number, readonly maxFiles: number) {
    try {
      makeDirs(dir, 0o700);
      fs.chmodSync(dir, 0o700);
    } catch (e) {
      throw new QuarantineError(`cannot use quarantine directory ${dir}: ${whyCannotWrite(e, dir)}`);
    }
    const have = listQuarantine(dir).sort((a, b) => Date.parse(a.stored_at) - Date.parse(b.stored_at));
    for (const e of have) {
      this.index.set(e.sha256, { size: e.size, at: Date.parse(e.stored_at) || 0 });
      this.bytes += e.size;
    }
  }

  /** a work directory on the same file system (spools are moved in by rename) */
  workDir(): string {
    const w = path.join(this.dir, '.work');
    makeDirs(w, 0o700);
    fs.chmodSync(w, 0o700);
    return w;
  }

  /**
   * Keeps the file at `src` (moved in, or dropped when it is already kept) for the event `ev`
   * (stage 'data' with sha256). False when it does not fit the bounds at all.
   */
  store(src: string, ev: FileTransferEvent & { sha256: string; md5: string }, size: number): boolean {
    const sha = ev.sha256;
    const dest = quarantinePath(this.dir, sha);
    const side = dest + '.json';
    const sighting: Sighting = {
      ts: ev.ts, protocol: ev.protocol, filename: ev.filename, from: ev.from, to: ev.to,
      ...(ev.direction ? { direction: ev.direction } : {}),
      ...(ev.client ? { client: ev.client } : {}),
      ...(ev.server ? { server: ev.server } : {}),
      ...(ev.flow_id ? { flow_id: ev.flow_id } : {}),
      ...(ev.sensor ? { sensor: ev.sensor } : {}),
    };
    const known = this.index.has(sha) ? readSidecar(side) : undefined;
    if (known) {
      fs.rmSync(src, { force: true });
      known.sightings = [...known.sightings, sighting].slice(-MAX_SIGHTINGS);
      if (ev.ts > known.last_seen) known.last_seen = ev.ts;
      if (ev.ts < known.first_seen) known.first_seen = ev.ts;
      if (ev.verdict && !known.verdict?.match(/^(infected|forbidden|sensitive)/)) known.verdict = ev.verdict;
      this.writeSidecar(side, known);
      return true;
    }
    if (size > this.maxBytes) {
      this.stats.refused++;
      fs.rmSync(src, { force: true });
      return false;
    }
    this.evictFor(size);
    fs.rmSync(dest, { force: true }); // a leftover without a sidecar (or a planted entry): replaced
    try {
      fs.renameSync(src, dest);
    } catch {
      fs.copyFileSync(src, dest, fs.constants.COPYFILE_EXCL);
      fs.rmSync(src, { force: true });
    }
    fs.chmodSync(dest, 0o400);
    const now = new Date();
    const entry: QuarantineEntry = {
      sha256: sha, md5: ev.md5, size, filename: ev.filename,
      ...(ev.file_type ? { file_type: ev.file_type } : {}),
      ...(ev.verdict ? { verdict: ev.verdict } : {}),
      complete: ev.complete === true,
      ...(ev.file_info ? { file_info: ev.file_info } : {}),
      stored_at: now.toISOString(), first_seen: ev.ts, last_seen: ev.ts, sightings: [sighting],
    };
    this.writeSidecar(side, entry);
    this.index.set(sha, { size, at: now.getTime() });
    this.bytes += size;
    this.stats.stored++;
    return true;
  }

  private evictFor(size: number): void {
    for (const [sha, e] of this.index) {
      if (this.index.size < this.maxFiles && this.bytes + size <= this.maxBytes) break;
      const p = quarantinePath(this.dir, sha);
      fs.rmSync(p, { force: true });
      fs.rmSync(p + '.json', { force: true });
      this.index.delete(sha);
      this.bytes -= e.size;
      this.stats.evicted++;
    }
  }

  private writeSidecar(side: string, entry: QuarantineEntry): void {
    // written beside, then renamed over: a reader never sees half a sidecar, and a planted symlink is replaced, not followed
    const tmp = path.join(this.dir, `.sidecar-${crypto.randomBytes(8).toString('hex')}`);
    fs.writeFileSync(tmp, JSON.stringify(entry, null, 1) + '\n', { mode: 0o600, flag: 'wx' });
    fs.renameSync(tmp, side);
  }
}

function readSidecar(p: string): QuarantineEntry | undefined {
  try {
    const st = fs.lstatSync(p);
    if (!st.isFile() || st.size > 1 << 20) return undefined;
    const e = JSON.parse(fs.readFileSync(p, 'utf8')) as QuarantineEntry;
    return e && typeof e.sha256 === 'string' && SHA_RE.test(e.sha256) ? e : undefined;
  } catch {
    return undefined;
  }
}

/** Every quarantined file's sidecar (entries whose bytes are missing are left out), newest first. */
export function listQuarantine(dir: string, opts: { limit?: number; offset?: number } = {}): QuarantineEntry[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    // ENOTDIR: the directory itself, or a part of its path, is a file
    const why = (e as NodeJS.ErrnoException).code === 'ENOTDIR' ? 'not a directory' : whyCannotRead(e);
    throw new QuarantineError(`cannot read quarantine directory ${dir}: ${why}`);
  }
  const out: QuarantineEntry[] = [];
  for (const n of names) {
    if (!n.endsWith('.json') || !SHA_RE.test(n.slice(0, -5))) continue;
    const e = readSidecar(path.join(dir, n));
    if (!e || e.sha256 !== n.slice(0, -5)) continue;
    try {
      if (!fs.lstatSync(path.join(dir, e.sha256)).isFile()) continue;
    } catch {
      continue;
    }
    out.push(e);
  }
  out.sort((a, b) => (a.stored_at < b.stored_at ? 1 : a.stored_at > b.stored_at ? -1 : 0));
  const off = opts.offset ?? 0;
  return out.slice(off, opts.limit !== undefined ? off + opts.limit : undefined);
}

/** One quarantined file: its sidecar and the path of its bytes; undefined when not kept. */
export function getQuarantined(dir: string, sha256: string): { entry: QuarantineEntry; path: string } | undefined {
  const p = quarantinePath(dir, sha256);
  const entry = readSidecar(p + '.json');
  if (!entry) return undefined;
  try {
    if (!fs.lstatSync(p).isFile()) return undefined;
  } catch {
    return undefined;
  }
  return { entry, path: p };
}

/** A read stream of a quarantined file's bytes (for a download); undefined when not kept. */
export function openQuarantined(dir: string, sha256: string): { entry: QuarantineEntry; stream: fs.ReadStream } | undefined {
  const q = getQuarantined(dir, sha256);
  if (!q) return undefined;
  const fd = fs.openSync(q.path, fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0));
  return { entry: q.entry, stream: fs.createReadStream('', { fd }) };
}

/**
 * Copies a quarantined file to exactly `out` (mode 0600, never executable). Refuses to replace an
 * existing file unless `force`, and never follows a symlink at `out`.
 */
export function exportQuarantined(dir: string, sha256: string, out: string, opts: { force?: boolean } = {}): QuarantineEntry {
  const q = getQuarantined(dir, sha256);
  if (!q) throw new QuarantineError(`${String(sha256).toLowerCase()} is not in the quarantine ${dir}; 'shadowim files list' shows what is`);
  let exists = false;
  try {
    const st = fs.lstatSync(out);
    exists = true;
    if (st.isDirectory()) throw new QuarantineError(`${out} is a directory; give a file name with --out`);
  } catch (e) {
    if (e instanceof QuarantineError) throw e;
  }
  if (exists && !opts.force) throw new QuarantineError(`${out} exists; add --force to replace it`);
  const tmp = path.join(path.dirname(path.resolve(out)), `.${path.basename(out)}.${crypto.randomBytes(6).toString('hex')}.part`);
  try {
    fs.copyFileSync(q.path, tmp, fs.constants.COPYFILE_EXCL);
    fs.chmodSync(tmp, 0o600);
    fs.renameSync(tmp, out); // replaces a symlink at `out` itself, never writes through it
  } catch (e) {
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      /* never made */
    }
    throw new QuarantineError(`cannot write ${out}: ${whyCannotWrite(e, out)}; give --out a file in a writable directory`);
  }
  return q.entry;
}

// ClamAV: clamd over its socket (INSTREAM: the bytes are streamed, clamd needs no access to our
// files), else a command on the spooled files — clamscan with a signature directory (-d), or
// clamdscan. Several files waiting are scanned by one clamscan run (it loads its database once).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { ClamavConfig } from './config';

export type ScanResult = { status: 'clean' } | { status: 'infected'; name: string } | { status: 'error'; why: string };

/** Streams a file to clamd (zINSTREAM, 64 KiB chunks) and reads its one-line answer. */
export function clamdScan(target: { path?: string; host?: string; port?: number }, file: string, timeoutMs: number): Promise<ScanResult> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: ScanResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      input.destroy();
      resolve(r);
    };
    const sock = target.path ? net.createConnection(target.path) : net.createConnection(target.port!, target.host!);
    const input = fs.createReadStream(file, { highWaterMark: 64 * 1024 });
    const timer = setTimeout(() => done({ status: 'error', why: 'clamd-timeout' }), timeoutMs);
    const reply: Buffer[] = [];
    let replyLen = 0;
    sock.on('error', (e: NodeJS.ErrnoException) => done({ status: 'error', why: `clamd-${(e.code ?? 'error').toLowerCase()}` }));
    input.on('error', () => done({ status: 'error', why: 'spool-unreadable' }));
    sock.on('data', (d: Buffer) => {
      if (replyLen < 4096) reply.push(d);
      replyLen += d.length;
    });
    sock.on('end', () => done(parseClamdReply(Buffer.concat(reply).toString('utf8'))));
    sock.on('connect', () => {
      sock.write('zINSTREAM\0');
      input.on('data', (chunk) => {
        const b = chunk as Buffer;
        const len = Buffer.alloc(4);
        len.writeUInt32BE(b.length);
        if (!sock.write(Buffer.concat([len, b]))) {
          input.pause();
          sock.once('drain', () => input.resume());
        }
      });
      input.on('end', () => sock.write(Buffer.alloc(4)));
    });
  });
}

export function parseClamdReply(s: string): ScanResult {
  const line = s.replace(/\0+$/, '').trim();
  const m = /^(?:[^:]*:\s*)?(.*?)\s+(FOUND|ERROR)$/.exec(line);
  if (m && m[2] === 'FOUND') return { status: 'infected', name: cleanSig(m[1]) };
  if (m && m[2] === 'ERROR') return { status: 'error', why: /size limit/i.test(m[1]) ? 'clamd-size-limit' : 'clamd-error' };
  if (/:\s*OK$/.test(line)) return { status: 'clean' };
  return { status: 'error', why: 'clamd-bad-reply' };
}

/** Runs clamscan/clamdscan once on several files; a result per file (errors for files it did not report). */
export function commandScan(cfg: ClamavConfig, files: string[]): Promise<Map<string, ScanResult>> {
  return new Promise((resolve) => {
    const cmd = cfg.command ?? 'clamscan';
    const base = path.basename(cmd);
    const args = ['--no-summary', '--stdout'];
    if (base.startsWith('clamdscan')) args.push('--fdpass');
    else if (cfg.database) args.push('-d', cfg.database);
    args.push('--', ...files);
    const out: Buffer[] = [];
    let outLen = 0;
    const err: Buffer[] = [];
    const results = new Map<string, ScanResult>();
    let child;
    try {
      child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    } catch {
      for (const f of files) results.set(f, { status: 'error', why: 'clamav-not-runnable' });
      resolve(results);
      return;
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), cfg.timeoutMs);
    child.stdout.on('data', (d: Buffer) => {
      if (outLen < 4 << 20) out.push(d);
      outLen += d.length;
    });
    child.stderr.on('data', (d: Buffer) => {
      if (err.length < 16) err.push(d);
    });
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      for (const f of files) results.set(f, { status: 'error', why: e.code === 'ENOENT' ? 'clamav-not-installed' : 'clamav-not-runnable' });
      resolve(results);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (results.size) return; // 'error' already answered
      const byPath = new Map<string, ScanResult>();
      for (const line of Buffer.concat(out).toString('utf8').split('\n')) {
        for (const f of files) {
          if (!line.startsWith(f + ': ')) continue;
          const rest = line.slice(f.length + 2).trim();
          if (rest === 'OK') byPath.set(f, { status: 'clean' });
          else if (rest.endsWith(' FOUND')) byPath.set(f, { status: 'infected', name: cleanSig(rest.slice(0, -6)) });
          else if (rest.endsWith(' ERROR')) byPath.set(f, { status: 'error', why: 'clamav-error' });
        }
      }
      const why = signal ? 'clamav-timeout' : code === 2 ? 'clamav-error' : 'clamav-no-answer';
      for (const f of files) results.set(f, byPath.get(f) ?? { status: 'error', why });
      resolve(results);
    });
  });
}

/** signature names end up in verdicts and SIEM lines: a safe token only */
function cleanSig(s: string): string {
  return s.replace(/[^A-Za-z0-9._\-/+:]/g, '_').slice(0, 128) || 'unknown';
}

/** Scans files one clamd stream each, or in batches with the command; at most one command run at a time. */
export class ClamavScanner {
  private queue: Array<{ file: string; resolve: (r: ScanResult) => void }> = [];
  private running = 0;
  constructor(readonly cfg: ClamavConfig) {}

  scan(file: string): Promise<ScanResult> {
    if (this.cfg.clamd) return clamdScan(this.cfg.clamd, file, this.cfg.timeoutMs);
    return new Promise((resolve) => {
      this.queue.push({ file, resolve });
      this.pump();
    });
  }

  private pump(): void {
    if (this.running || !this.queue.length) return;
    const batch = this.queue.splice(0, 256); // one clamscan run loads the database once for many files
    this.running++;
    commandScan(this.cfg, batch.map((b) => b.file)).then((res) => {
      this.running--;
      for (const b of batch) b.resolve(res.get(b.file) ?? { status: 'error', why: 'clamav-no-answer' });
      this.pump();
    });
  }
}

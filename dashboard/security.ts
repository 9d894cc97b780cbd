// Login sessions (kept in the store beside the users, so a restart logs nobody out), CSRF tokens, login
// rate limiting and the security headers every response carries.

import crypto from 'node:crypto';
import type Database from 'better-sqlite3';
import type { Request, Response, NextFunction } from 'express';
import { endSessions, ensureAuthTables, sha256, type Role } from './auth';

export const SESSION_COOKIE = 'sim_session';
export const CSRF_COOKIE = 'sim_csrf';
export const CSRF_HEADER = 'x-csrf-token';

export interface LoginSession {
  /** the cookie value: only ever in memory and in the cookie; the store keeps its SHA-256 */
  id: string;
  user: string;
  role: Role;
  csrf: string;
  created: number;
  seen: number;
}

const IDLE_MS = 8 * 3600_000;
const ABSOLUTE_MS = 24 * 3600_000;
const MAX_SESSIONS = 10_000;
// `seen` goes to disk at most this often per session (idle expiry is exact to this much)
const SEEN_WRITE_MS = 60_000;
const PRUNE_EVERY_MS = 10 * 60_000;
const ID_RE = /^[A-Za-z0-9_-]{43}$/;

/** The session's synchronizer token, derived from its id: nothing to store, and not derivable from the stored hash. */
function csrfOf(id: string): string {
  return crypto.createHmac('sha256', id).update('shadowim csrf').digest('base64url');
}

/**
 * Login sessions in the store's dash_logins table (created by ensureAuthTables): one row per session,
 * keyed by the SHA-256 of its id, so a copy of the store yields no usable cookie. Every lookup reads
 * the row, so ending sessions from another process (`shadowim user passwd|role|del|logout-all`) takes
 * effect on the next request.
 */
export class Sessions {
  private readonly q;
  private lastPrune = -Infinity;

  constructor(private readonly db: Database.Database, private readonly now: () => number = Date.now) {
    ensureAuthTables(db);
    this.q = {
      get: db.prepare('SELECT user, role, created_ms, seen_ms FROM dash_logins WHERE id_hash = ?'),
      insert: db.prepare('INSERT INTO dash_logins (id_hash, user, role, created_ms, seen_ms) VALUES (?, ?, ?, ?, ?)'),
      seen: db.prepare('UPDATE dash_logins SET seen_ms = ? WHERE id_hash = ?'),
      del: db.prepare('DELETE FROM dash_logins WHERE id_hash = ?'),
      count: db.prepare('SELECT count(*) AS n FROM dash_logins').pluck(),
      expire: db.prepare('DELETE FROM dash_logins WHERE seen_ms < ? OR created_ms < ?'),
      dropOldest: db.prepare('DELETE FROM dash_logins WHERE id_hash IN (SELECT id_hash FROM dash_logins ORDER BY seen_ms LIMIT ?)'),
    };
    this.prune(this.now());
  }

  create(user: string, role: Role): LoginSession {
    const t = this.now();
    this.maybePrune(t);
    if ((this.q.count.get() as number) >= MAX_SESSIONS) {
      this.prune(t);
      // drop the oldest tenth
      if ((this.q.count.get() as number) >= MAX_SESSIONS) this.q.dropOldest.run(MAX_SESSIONS / 10);
    }
    const id = crypto.randomBytes(32).toString('base64url');
    this.q.insert.run(sha256(id), user, role, t, t);
    return { id, user, role, csrf: csrfOf(id), created: t, seen: t };
  }

  get(id: string | undefined): LoginSession | undefined {
    if (!id || !ID_RE.test(id)) return undefined;
    const t = this.now();
    this.maybePrune(t);
    const h = sha256(id);
    const r = this.q.get.get(h) as { user: string; role: Role; created_ms: number; seen_ms: number } | undefined;
    if (!r) return undefined;
    if (t - r.seen_ms > IDLE_MS || t - r.created_ms > ABSOLUTE_MS) {
      this.q.del.run(h);
      return undefined;
    }
    let seen = r.seen_ms;
    if (t - seen >= SEEN_WRITE_MS) {
      try {
        this.q.seen.run(t, h);
        seen = t;
      } catch {
        /* store busy: the next request writes it */
      }
    }
    return { id, user: r.user, role: r.role, csrf: csrfOf(id), created: r.created_ms, seen };
  }

  destroy(id: string | undefined): void {
    if (id && ID_RE.test(id)) this.q.del.run(sha256(id));
  }

  /** Ends every session of a user (password or role changed, user deleted). */
  destroyUser(user: string): void {
    endSessions(this.db, user);
  }

  /** Ends every session; the number ended. */
  destroyAll(): number {
    return endSessions(this.db);
  }

  /** How many sessions are stored (expired ones included until pruned). */
  size(): number {
    return this.q.count.get() as number;
  }

  private maybePrune(t: number): void {
    if (t - this.lastPrune < PRUNE_EVERY_MS) return;
    try {
      this.prune(t);
    } catch {
      /* store busy: expired rows are refused anyway, and pruned next time */
    }
  }

  /** Drops expired rows: at most MAX_SESSIONS of them, as create() keeps the table below that. */
  private prune(t: number): void {
    this.lastPrune = t;
    this.q.expire.run(t - IDLE_MS, t - ABSOLUTE_MS);
  }
}

/**
 * Failed logins per key (client address, user name): from the 5th failure on, each further failure
 * doubles the lockout (base 10 s … 15 min). A success clears the user key; the address key decays.
 */
export class LoginLimiter {
  private fails = new Map<string, { n: number; until: number; last: number }>();
  constructor(readonly opts: { free?: number; baseMs?: number; maxMs?: number; now?: () => number } = {}) {}
  private get free() { return this.opts.free ?? 5; }
  private get now() { return (this.opts.now ?? Date.now)(); }

  /** ms until `key` may try again (0 = now). */
  wait(key: string): number {
    const f = this.fails.get(key);
    if (!f) return 0;
    return Math.max(0, f.until - this.now);
  }

  fail(key: string): void {
    const t = this.now;
    if (this.fails.size > 100_000) for (const [k, v] of this.fails) if (t - v.last > 3600_000) this.fails.delete(k);
    const f = this.fails.get(key) ?? { n: 0, until: 0, last: t };
    // a quiet hour forgives
    if (t - f.last > 3600_000) f.n = 0;
    f.n++;
    f.last = t;
    if (f.n >= this.free) f.until = t + Math.min(this.opts.maxMs ?? 15 * 60_000, (this.opts.baseMs ?? 10_000) * 2 ** (f.n - this.free));
    this.fails.set(key, f);
  }

  clear(key: string): void {
    this.fails.delete(key);
  }
}

export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!header) return out;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i < 0) continue;
    const k = part.slice(0, i).trim();
    if (!k || k in out) continue;
    try {
      out[k] = decodeURIComponent(part.slice(i + 1).trim());
    } catch {
      /* malformed cookie: ignored */
    }
  }
  return out;
}

export function setCookie(res: Response, req: Request, name: string, value: string, o: { httpOnly: boolean; maxAgeS?: number }): void {
  const parts = [`${name}=${encodeURIComponent(value)}`, 'Path=/', 'SameSite=Strict'];
  if (o.httpOnly) parts.push('HttpOnly');
  // Secure when the client reached us over TLS (directly, or via a trusted proxy's X-Forwarded-Proto)
  if (req.secure) parts.push('Secure');
  if (o.maxAgeS !== undefined) parts.push(`Max-Age=${o.maxAgeS}`);
  res.append('Set-Cookie', parts.join('; '));
}

export const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export function securityHeaders(req: Request, res: Response, next: NextFunction): void {
  // over TLS (ours, or a trusted proxy's): browsers keep to HTTPS for this host from then on
  if (req.secure) res.setHeader('Strict-Transport-Security', 'max-age=31536000');
  res.setHeader('Content-Security-Policy', CSP);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
  res.setHeader('Permissions-Policy', 'camera=(), microphone=(), geolocation=()');
  next();
}

export function safeEqual(a: string | undefined, b: string | undefined): boolean {
  if (typeof a !== 'string' || typeof b !== 'string' || !a || !b) return false;
  const x = Buffer.from(a), y = Buffer.from(b);
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}

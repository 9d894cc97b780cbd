// Login sessions (in memory: a restart logs everyone out), CSRF tokens, login rate limiting and the
// security headers every response carries.

import crypto from 'node:crypto';
import type { Request, Response, NextFunction } from 'express';
import type { Role } from './auth';

export const SESSION_COOKIE = 'sim_session';
export const CSRF_COOKIE = 'sim_csrf';
export const CSRF_HEADER = 'x-csrf-token';

export interface LoginSession {
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

export class Sessions {
  private map = new Map<string, LoginSession>();
  constructor(private readonly now: () => number = Date.now) {}

  create(user: string, role: Role): LoginSession {
    if (this.map.size >= MAX_SESSIONS) this.prune(true);
    const t = this.now();
    const s: LoginSession = { id: crypto.randomBytes(32).toString('base64url'), user, role, csrf: crypto.randomBytes(32).toString('base64url'), created: t, seen: t };
    this.map.set(s.id, s);
    return s;
  }

  get(id: string | undefined): LoginSession | undefined {
    if (!id) return undefined;
    const s = this.map.get(id);
    if (!s) return undefined;
    const t = this.now();
    if (t - s.seen > IDLE_MS || t - s.created > ABSOLUTE_MS) {
      this.map.delete(id);
      return undefined;
    }
    s.seen = t;
    return s;
  }

  destroy(id: string | undefined): void {
    if (id) this.map.delete(id);
  }

  /** Ends every session of a user (password or role changed). */
  destroyUser(user: string): void {
    for (const [k, s] of this.map) if (s.user === user) this.map.delete(k);
  }

  private prune(force: boolean): void {
    const t = this.now();
    for (const [k, s] of this.map) if (t - s.seen > IDLE_MS || t - s.created > ABSOLUTE_MS) this.map.delete(k);
    if (force && this.map.size >= MAX_SESSIONS) {
      // drop the oldest tenth
      const old = [...this.map.values()].sort((a, b) => a.seen - b.seen).slice(0, MAX_SESSIONS / 10);
      for (const s of old) this.map.delete(s.id);
    }
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

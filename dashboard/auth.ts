// Dashboard users, roles, API tokens and login sessions, kept in the store (tables dash_users,
// dash_tokens, dash_logins, created here on first use so the storage schema stays the storage module's).
// Passwords: scrypt with a per-user random salt; API tokens: 32 random bytes shown once, stored as their SHA-256 (they are high-entropy,
// so a fast hash is enough); compared in constant time.

import crypto from 'node:crypto';
import type Database from 'better-sqlite3';

type Db = Database.Database;

export const ROLES = ['viewer', 'analyst', 'admin'] as const;
export type Role = (typeof ROLES)[number];
const RANK: Record<Role, number> = { viewer: 1, analyst: 2, admin: 3 };

export function roleAtLeast(have: Role, need: Role): boolean {
  return RANK[have] >= RANK[need];
}

export class AuthError extends Error {}

// N=2^15 (32 MiB with r=8): ~50-100 ms per hash on this class of machine
const SCRYPT = { N: 1 << 15, r: 8, p: 1, maxmem: 64 << 20 };
const KEYLEN = 32;
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
// a token's last use goes to disk at most this often (`user tokens` is exact to this much): a client
// polling the API must not turn every read into a write
export const TOKEN_USE_WRITE_MS = 60_000;

export function ensureAuthTables(db: Db): void {
  db.exec(`
CREATE TABLE IF NOT EXISTS dash_users (
  name TEXT PRIMARY KEY,
  role TEXT NOT NULL,
  pw_hash TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS dash_tokens (
  id TEXT PRIMARY KEY,
  user TEXT NOT NULL REFERENCES dash_users(name) ON DELETE CASCADE,
  token_hash TEXT NOT NULL UNIQUE,
  label TEXT,
  created_ms INTEGER NOT NULL,
  last_used_ms INTEGER
);
-- login sessions (dashboard/security.ts): keyed by the SHA-256 of the cookie, never the cookie itself
CREATE TABLE IF NOT EXISTS dash_logins (
  id_hash TEXT PRIMARY KEY,
  user TEXT NOT NULL REFERENCES dash_users(name) ON DELETE CASCADE,
  role TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  seen_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS dash_logins_user ON dash_logins(user);
CREATE INDEX IF NOT EXISTS dash_logins_seen ON dash_logins(seen_ms);`);
}

/** Ends the login sessions of `user`, or everyone's; the number ended. A running server sees it on the next request. */
export function endSessions(db: Db, user?: string): number {
  if (user === undefined) return db.prepare('DELETE FROM dash_logins').run().changes;
  return db.prepare('DELETE FROM dash_logins WHERE user = ?').run(user).changes;
}

export function validName(name: string): void {
  if (!NAME_RE.test(name)) throw new AuthError(`user name '${name.slice(0, 40)}' is not allowed: use 1-64 letters, digits, . _ @ - (starting with a letter or digit)`);
}

export function validRole(role: string): Role {
  if (!(ROLES as readonly string[]).includes(role)) throw new AuthError(`role must be one of ${ROLES.join(', ')}, not '${role.slice(0, 20)}'`);
  return role as Role;
}

export function validPassword(pw: string): void {
  if (pw.length < 10) throw new AuthError('password too short: use at least 10 characters');
  if (pw.length > 1024) throw new AuthError('password too long (1024 characters at most)');
}

export function hashPassword(pw: string): string {
  const salt = crypto.randomBytes(16);
  const key = crypto.scryptSync(pw.normalize('NFC'), salt, KEYLEN, SCRYPT);
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

export function verifyPassword(pw: string, stored: string): boolean {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number);
  const salt = Buffer.from(parts[4], 'base64');
  const want = Buffer.from(parts[5], 'base64');
  const got = crypto.scryptSync(pw.normalize('NFC'), salt, want.length, { N, r, p, maxmem: 256 * N * r + (1 << 20) });
  return crypto.timingSafeEqual(got, want);
}

/** As verifyPassword, off the event loop (libuv's thread pool): a login never stalls other requests. */
export async function verifyPasswordAsync(pw: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number);
  const salt = Buffer.from(parts[4], 'base64');
  const want = Buffer.from(parts[5], 'base64');
  const got = await new Promise<Buffer>((resolve, reject) =>
    crypto.scrypt(pw.normalize('NFC'), salt, want.length, { N, r, p, maxmem: 256 * N * r + (1 << 20) }, (e, k) => (e ? reject(e) : resolve(k))),
  );
  return crypto.timingSafeEqual(got, want);
}

// verifying an unknown user costs as much as a known one: no user enumeration by timing
let dummyHash: string | undefined;

export interface UserRow {
  name: string;
  role: Role;
  created: string;
  updated: string;
  tokens: number;
}

export class UserStore {
  constructor(readonly db: Db) {
    ensureAuthTables(db);
  }

  add(name: string, role: string, password: string, now = Date.now()): void {
    validName(name);
    const r = validRole(role);
    validPassword(password);
    if (this.db.prepare('SELECT 1 FROM dash_users WHERE name = ?').get(name)) throw new AuthError(`user '${name}' already exists; change the password with 'shadowim user passwd ${name}'`);
    this.db.prepare('INSERT INTO dash_users (name, role, pw_hash, created_ms, updated_ms) VALUES (?, ?, ?, ?, ?)').run(name, r, hashPassword(password), now, now);
  }

  /** Creates or replaces (demo admin). */
  upsert(name: string, role: Role, password: string, now = Date.now()): void {
    validName(name);
    this.db
      .prepare(`INSERT INTO dash_users (name, role, pw_hash, created_ms, updated_ms) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (name) DO UPDATE SET role = excluded.role, pw_hash = excluded.pw_hash, updated_ms = excluded.updated_ms`)
      .run(name, role, hashPassword(password), now, now);
    endSessions(this.db, name);
  }

  passwd(name: string, password: string, now = Date.now()): void {
    validPassword(password);
    const h = hashPassword(password);
    this.db.transaction(() => {
      const n = this.db.prepare('UPDATE dash_users SET pw_hash = ?, updated_ms = ? WHERE name = ?').run(h, now, name).changes;
      if (!n) throw new AuthError(`no user '${name}'; add one with 'shadowim user add ${name} --role viewer'`);
      endSessions(this.db, name);
    })();
  }

  setRole(name: string, role: string, now = Date.now()): void {
    const r = validRole(role);
    this.db.transaction(() => {
      const n = this.db.prepare('UPDATE dash_users SET role = ?, updated_ms = ? WHERE name = ?').run(r, now, name).changes;
      if (!n) throw new AuthError(`no user '${name}'`);
      endSessions(this.db, name);
    })();
  }

  remove(name: string): void {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM dash_tokens WHERE user = ?').run(name);
      endSessions(this.db, name);
      const n = this.db.prepare('DELETE FROM dash_users WHERE name = ?').run(name).changes;
      if (!n) throw new AuthError(`no user '${name}'`);
    })();
  }

  list(): UserRow[] {
    return (this.db.prepare('SELECT u.*, (SELECT count(*) FROM dash_tokens t WHERE t.user = u.name) AS tokens FROM dash_users u ORDER BY name').all() as any[]).map((r) => ({
      name: r.name,
      role: r.role,
      created: new Date(r.created_ms).toISOString(),
      updated: new Date(r.updated_ms).toISOString(),
      tokens: r.tokens,
    }));
  }

  count(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM dash_users').get() as any).n;
  }

  /** The user when the password is right; undefined otherwise (same cost either way). */
  check(name: string, password: string): { name: string; role: Role } | undefined {
    const row = this.db.prepare('SELECT name, role, pw_hash FROM dash_users WHERE name = ?').get(String(name).slice(0, 64)) as any;
    if (!row) {
      dummyHash ??= hashPassword(crypto.randomBytes(16).toString('hex'));
      verifyPassword(password, dummyHash);
      return undefined;
    }
    return verifyPassword(password, row.pw_hash) ? { name: row.name, role: row.role } : undefined;
  }

  /** The user's current role and when the account last changed (password, role); undefined when gone. */
  current(name: string): { role: Role; updated_ms: number } | undefined {
    return this.db.prepare('SELECT role, updated_ms FROM dash_users WHERE name = ?').get(name) as { role: Role; updated_ms: number } | undefined;
  }

  /** check(), with the hash computed off the event loop (the dashboard's login). */
  async checkAsync(name: string, password: string): Promise<{ name: string; role: Role } | undefined> {
    const row = this.db.prepare('SELECT name, role, pw_hash FROM dash_users WHERE name = ?').get(String(name).slice(0, 64)) as any;
    if (!row) {
      dummyHash ??= hashPassword(crypto.randomBytes(16).toString('hex'));
      await verifyPasswordAsync(password, dummyHash);
      return undefined;
    }
    return (await verifyPasswordAsync(password, row.pw_hash)) ? { name: row.name, role: row.role } : undefined;
  }

  /** A new API token for `name`: returned once, stored hashed. */
  newToken(name: string, label?: string, now = Date.now()): { id: string; token: string } {
    if (!this.db.prepare('SELECT 1 FROM dash_users WHERE name = ?').get(name)) throw new AuthError(`no user '${name}'; add one with 'shadowim user add ${name} --role viewer'`);
    const id = crypto.randomBytes(6).toString('hex');
    const token = `sim_${id}_${crypto.randomBytes(32).toString('base64url')}`;
    this.db.prepare('INSERT INTO dash_tokens (id, user, token_hash, label, created_ms) VALUES (?, ?, ?, ?, ?)').run(id, name, sha256(token), label?.slice(0, 128) ?? null, now);
    return { id, token };
  }

  revokeToken(id: string): boolean {
    return this.db.prepare('DELETE FROM dash_tokens WHERE id = ?').run(id).changes > 0;
  }

  tokens(name?: string): Array<{ id: string; user: string; label: string | null; created: string; last_used: string | null }> {
    const rows = (name ? this.db.prepare('SELECT * FROM dash_tokens WHERE user = ? ORDER BY created_ms').all(name) : this.db.prepare('SELECT * FROM dash_tokens ORDER BY user, created_ms').all()) as any[];
    return rows.map((r) => ({ id: r.id, user: r.user, label: r.label, created: new Date(r.created_ms).toISOString(), last_used: r.last_used_ms ? new Date(r.last_used_ms).toISOString() : null }));
  }

  /** The user a bearer token belongs to, or undefined. Its last use is written when the stored one is TOKEN_USE_WRITE_MS old. */
  checkToken(token: string, now = Date.now()): { name: string; role: Role } | undefined {
    if (!/^sim_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/.test(token)) return undefined;
    const h = sha256(token);
    const row = this.db.prepare('SELECT t.id, t.token_hash, t.last_used_ms, u.name, u.role FROM dash_tokens t JOIN dash_users u ON u.name = t.user WHERE t.token_hash = ?').get(h) as any;
    if (!row || !crypto.timingSafeEqual(Buffer.from(row.token_hash), Buffer.from(h))) return undefined;
    // |now - last|: a clock set back still gets written
    if (row.last_used_ms === null || Math.abs(now - row.last_used_ms) >= TOKEN_USE_WRITE_MS) {
      try {
        // the condition again: another server on the same store may have just written it
        this.db.prepare('UPDATE dash_tokens SET last_used_ms = @now WHERE id = @id AND (last_used_ms IS NULL OR abs(@now - last_used_ms) >= @every)').run({ now, id: row.id, every: TOKEN_USE_WRITE_MS });
      } catch {
        /* store busy: a later call writes it */
      }
    }
    return { name: row.name, role: row.role };
  }
}

export function sha256(s: string): string {
  return crypto.createHash('sha256').update(s).digest('hex');
}

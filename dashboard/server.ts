// The dashboard's HTTP server (express 5): the REST API under /api and the static console. Nothing but
// POST /api/login answers without a login (cookie session) or an API token (Authorization: Bearer).

import fs from 'node:fs';
import path from 'node:path';
import express, { type Request, type Response, type NextFunction, type Router } from 'express';
import type Database from 'better-sqlite3';
import { UserStore, roleAtLeast, type Role } from './auth';
import { CSRF_COOKIE, CSRF_HEADER, LoginLimiter, Sessions, SESSION_COOKIE, parseCookies, safeEqual, securityHeaders, setCookie } from './security';
import { apiRoutes } from './api';

export interface DashboardOptions {
  db: Database.Database;
  storePath: string;
  demo?: boolean;
  /** policy file the sensors use (settings page); undefined = the built-in default policy */
  policyFile?: string;
  /** express 'trust proxy' value: set it when a TLS proxy in front sets X-Forwarded-Proto */
  trustProxy?: boolean | string | number;
  /** the SIEM outbox when it is kept outside the store (delivery.outbox); default: the store itself */
  outboxDb?: Database.Database;
  /** carved files kept by the files module (files.quarantine.dir); undefined = none */
  quarantineDir?: string;
  limiter?: LoginLimiter;
  /** dashboard.login_notice: shown above the login form, as text */
  loginNotice?: string;
  /** the login sessions' clock (tests) */
  now?: () => number;
  log?: (line: string) => void;
}

export interface Principal {
  user: string;
  role: Role;
  /** 'session' (cookie) or 'token' (Bearer) */
  via: 'session' | 'token';
  csrf?: string;
}

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
  }
}

export class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export interface Dashboard {
  app: express.Express;
  api: Router;
  sessions: Sessions;
  users: UserStore;
}

const PUBLIC = path.join(__dirname, 'public');

export function chartJsFile(): string {
  // the package's exports map hides dist/chart.umd.js from require.resolve; it sits next to the main file
  const file = path.join(path.dirname(require.resolve('chart.js')), 'chart.umd.js');
  if (!fs.existsSync(file)) throw new Error(`chart.js browser bundle missing (${file}); run npm install`);
  return file;
}

export function createDashboard(o: DashboardOptions): Dashboard {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  if (o.trustProxy !== undefined) app.set('trust proxy', o.trustProxy);
  const users = new UserStore(o.db);
  const sessions = new Sessions(o.db, o.now);
  const limiter = o.limiter ?? new LoginLimiter();
  const log = o.log ?? (() => {});
  const inFlight = new Map<string, number>();

  app.use(securityHeaders);

  // ---- API ---------------------------------------------------------------------------------------
  const api = express.Router();
  app.use('/api', (_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  });
  // login: the only route that takes no principal; CSRF by double submit (cookie + header)
  app.post('/api/login', express.json({ limit: '16kb' }), async (req: Request, res: Response) => {
    const cookies = parseCookies(req.headers.cookie);
    if (!safeEqual(cookies[CSRF_COOKIE], req.get(CSRF_HEADER))) throw new HttpError(403, 'missing or wrong CSRF token; reload the page');
    const name = typeof req.body?.user === 'string' ? req.body.user.slice(0, 64) : '';
    const password = typeof req.body?.password === 'string' ? req.body.password.slice(0, 1024) : '';
    const ipKey = `ip:${req.ip}`, userKey = `user:${name.toLowerCase()}`;
    const wait = Math.max(limiter.wait(ipKey), limiter.wait(userKey));
    if (wait > 0) {
      res.setHeader('Retry-After', String(Math.ceil(wait / 1000)));
      throw new HttpError(429, `too many failed logins; try again in ${Math.ceil(wait / 1000)} s`);
    }
    // one check at a time per user name and two per address, so parallel guesses cannot all slip in
    // before the first failures are counted
    if ((inFlight.get(userKey) ?? 0) >= 1 || (inFlight.get(ipKey) ?? 0) >= 2) {
      res.setHeader('Retry-After', '1');
      throw new HttpError(429, 'a login for this user or from this address is already being checked; try again in a second');
    }
    for (const k of [userKey, ipKey]) inFlight.set(k, (inFlight.get(k) ?? 0) + 1);
    let who: { name: string; role: Role } | undefined;
    try {
      who = name && password ? await users.checkAsync(name, password) : undefined;
    } finally {
      for (const k of [userKey, ipKey]) {
        const n = (inFlight.get(k) ?? 1) - 1;
        if (n > 0) inFlight.set(k, n);
        else inFlight.delete(k);
      }
    }
    if (!who) {
      limiter.fail(ipKey);
      limiter.fail(userKey);
      log(`login failed for '${name.replace(/[^\x20-\x7e]/g, '?')}' from ${req.ip}`);
      throw new HttpError(401, 'wrong user name or password');
    }
    limiter.clear(userKey);
    limiter.clear(ipKey);
    const s = sessions.create(who.name, who.role);
    setCookie(res, req, SESSION_COOKIE, s.id, { httpOnly: true });
    res.json({ user: s.user, role: s.role, csrf: s.csrf, demo: !!o.demo });
  });

  // everything else under /api needs a principal
  app.use('/api', (req: Request, res: Response, next: NextFunction) => {
    const authz = req.get('authorization');
    if (authz) {
      const m = /^Bearer\s+(\S+)$/i.exec(authz);
      const who = m ? users.checkToken(m[1], o.now?.()) : undefined;
      if (!who) throw new HttpError(401, 'invalid API token');
      req.principal = { user: who.name, role: who.role, via: 'token' };
      return next();
    }
    let s = sessions.get(parseCookies(req.headers.cookie)[SESSION_COOKIE]);
    if (s) {
      // the account as it is now: deleted, or changed (password, role) since this login → log in again
      const u = users.current(s.user);
      if (!u || u.updated_ms > s.created) {
        sessions.destroy(s.id);
        s = undefined;
      }
    }
    if (!s) {
      // hand out the pre-login CSRF cookie so the console can log in
      const cookies = parseCookies(req.headers.cookie);
      let pre = cookies[CSRF_COOKIE];
      if (!pre || pre.length < 32) {
        pre = require('node:crypto').randomBytes(24).toString('base64url') as string;
        setCookie(res, req, CSRF_COOKIE, pre, { httpOnly: false });
      }
      res.status(401).json({ error: 'login required', csrf: pre, demo: !!o.demo, ...(o.loginNotice ? { notice: o.loginNotice } : {}) });
      return;
    }
    req.principal = { user: s.user, role: s.role, via: 'session', csrf: s.csrf };
    // CSRF: every state change from a browser session carries the session's token
    if (!['GET', 'HEAD', 'OPTIONS'].includes(req.method) && !safeEqual(s.csrf, req.get(CSRF_HEADER))) {
      throw new HttpError(403, 'missing or wrong CSRF token; reload the page');
    }
    next();
  });

  // request bodies (policy text up to 1 MB) are parsed only for a principal
  app.use('/api', express.json({ limit: '1mb' }));

  api.get('/session', (req, res) => {
    const p = req.principal!;
    res.json({ user: p.user, role: p.role, csrf: p.csrf ?? null, demo: !!o.demo, store: path.basename(o.storePath) });
  });
  api.post('/logout', (req, res) => {
    sessions.destroy(parseCookies(req.headers.cookie)[SESSION_COOKIE]);
    setCookie(res, req, SESSION_COOKIE, '', { httpOnly: true, maxAgeS: 0 });
    res.json({ ok: true });
  });
  apiRoutes(api, { ...o, users, sessions });
  app.use('/api', api);
  app.use('/api', (_req, _res) => {
    throw new HttpError(404, 'no such API route');
  });

  // ---- console -----------------------------------------------------------------------------------
  app.get('/vendor/chart.umd.js', (_req, res) => {
    res.setHeader('Content-Type', 'text/javascript; charset=utf-8');
    res.setHeader('Cache-Control', 'max-age=3600');
    res.sendFile(chartJsFile());
  });
  app.use(express.static(PUBLIC, { index: 'index.html', maxAge: 0, dotfiles: 'ignore' }));
  app.use((req, res) => {
    if (req.method === 'GET' && req.accepts('html')) res.sendFile(path.join(PUBLIC, 'index.html'));
    else res.status(404).type('text/plain').send('not found\n');
  });

  app.use((err: any, _req: Request, res: Response, _next: NextFunction) => {
    void _next;
    const status = err instanceof HttpError ? err.status : typeof err?.status === 'number' && err.status >= 400 && err.status < 500 ? err.status : 500;
    if (status === 500) log(`error: ${err?.stack ?? err}`);
    if (res.headersSent) return res.end();
    res.status(status).json({ error: status === 500 ? 'internal error (see the server log)' : String(err.message ?? err).split('\n')[0] });
  });
  return { app, api, sessions, users };
}

/** Route guard: the principal's role must be at least `role`. */
export function need(role: Role) {
  return (req: Request, _res: Response, next: NextFunction) => {
    const p = req.principal;
    if (!p) throw new HttpError(401, 'login required');
    if (!roleAtLeast(p.role, role)) throw new HttpError(403, `your role (${p.role}) may not do this; it needs ${role}`);
    next();
  };
}

export function publicDirExists(): boolean {
  return fs.existsSync(path.join(PUBLIC, 'index.html'));
}

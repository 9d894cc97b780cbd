// `shadowim serve`: the dashboard (web console + REST API) over a store. `--demo` serves a generated demo
// store with a one-time admin password.
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from '../main';
import { commandConfig, optionSource, parseOrHelp, UsageError, type OptionSpec } from '../args';
import { whyCannotRead } from '../../common/fsError';
import { stderrLine } from '../../common/stderr';

const SPECS: OptionSpec[] = [
  { name: 'store', value: true, arg: 'PATH', help: 'SQLite store to show (default: config store.path, else shadowim.db; with --demo: shadowim-demo.db)' },
  { name: 'port', value: true, arg: 'N', config: 'dashboard.port', help: 'TCP port (default 8380; 0 = any free port)' },
  { name: 'host', value: true, arg: 'ADDR', config: 'dashboard.host', help: 'address to listen on (default 127.0.0.1; use --tls-cert/--tls-key or a TLS proxy before exposing it)' },
  { name: 'demo', help: 'serve generated demo data (regenerated when missing or older than a day) with a one-time admin password' },
  { name: 'policy', value: true, arg: 'FILE', config: 'policy', help: 'the policy the sensors use: shown on the settings page, applied to the firewall export' },
  { name: 'quarantine', value: true, arg: 'DIR', help: 'carved files to offer on the files page (default: files.quarantine.dir from the config)' },
  { name: 'tls-cert', value: true, arg: 'FILE', config: 'dashboard.tls_cert', help: 'serve HTTPS with this certificate (PEM, the chain after it); needs --tls-key' },
  { name: 'tls-key', value: true, arg: 'FILE', config: 'dashboard.tls_key', help: 'the private key (PEM) of --tls-cert' },
  { name: 'trust-proxy', value: true, arg: 'VALUE', config: 'dashboard.trust_proxy', help: "express 'trust proxy' (e.g. loopback, 1): honour X-Forwarded-Proto/-For from that proxy (Secure cookies behind TLS)" },
  { name: 'help', short: 'h', help: 'show this help' },
];
const USAGE = 'shadowim serve [--store PATH] [--port N] [--host ADDR] [--demo] [--config FILE] [--policy FILE] [--quarantine DIR] [--tls-cert FILE --tls-key FILE] [--trust-proxy VALUE]';
const DESCRIPTION = `Serves the web console and its REST API (/api) over a store written by 'shadowim analyze --store'
or 'shadowim sensor --store'. Nobody sees anything without logging in: add users with
'shadowim user add NAME --role viewer|analyst|admin --store PATH'.`;

const DAY = 86400_000;

export const command: Command = {
  summary: 'web dashboard and REST API over a store (serve --demo: with demo data)',
  async run(argv) {
    const args = parseOrHelp(argv, SPECS, 'serve', USAGE, DESCRIPTION);
    if (!args) return 0;
    const { opts, positional } = args;
    if (positional.length) throw new UsageError(`serve takes no arguments (got '${positional[0]}'); give the store with --store PATH`);
    const port = opts.port === undefined ? 8380 : Number(opts.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be a whole number from 0 to 65535, not '${opts.port}'`);
    const host = (opts.host as string | undefined) ?? '127.0.0.1';
    let trustProxy: boolean | string | number | undefined;
    if (opts['trust-proxy'] !== undefined) {
      const v = String(opts['trust-proxy']);
      trustProxy = v === 'true' ? true : v === 'false' ? false : /^\d+$/.test(v) ? Number(v) : v;
    }
    // HTTPS of its own: read (and checked as a pair) before anything else starts
    let tls: { cert: Buffer; key: Buffer } | undefined;
    const certFile = opts['tls-cert'] as string | undefined, keyFile = opts['tls-key'] as string | undefined;
    if (certFile !== undefined || keyFile !== undefined) {
      if (!certFile || !keyFile) throw new UsageError('--tls-cert and --tls-key go together: give the certificate (PEM) and its private key (PEM)');
      const read = (f: string, what: string) => {
        try {
          return fs.readFileSync(f);
        } catch (e) {
          throw new UsageError(`cannot read the TLS ${what} ${f}: ${whyCannotRead(e)}; give --tls-cert and --tls-key readable PEM files`);
        }
      };
      tls = { cert: read(certFile, 'certificate'), key: read(keyFile, 'key') };
      try {
        (require('node:tls') as typeof import('node:tls')).createSecureContext(tls);
      } catch (e) {
        throw new UsageError(`cannot use --tls-cert ${certFile} with --tls-key ${keyFile}: ${(e as Error).message.split('\n')[0]} (PEM files, the key matching the certificate)`);
      }
    }
    let policyFile = opts.policy as string | undefined;
    if (policyFile) {
      try {
        fs.readFileSync(policyFile); // readable, and a file (a directory was accepted and failed on the settings page)
      } catch (e) {
        throw new UsageError(`${optionSource(args, 'policy')} ${policyFile}: ${whyCannotRead(e)}; give the policy file the sensors use`);
      }
    }

    const cfg = commandConfig();
    const { openStore, StoreError } = require('../../storage/store') as typeof import('../../storage/store');
    const demo = !!opts.demo;
    const storePath = (opts.store as string | undefined) ?? (demo ? 'shadowim-demo.db' : cfg.store.path ?? 'shadowim.db');
    const log = (s: string) => stderrLine(`shadowim: ${s}`);

    let password: string | undefined;
    let db;
    if (demo) {
      const { generateDemo, demoGeneratedAt, randomPassword, demoFiles } = require('../../dashboard/demo') as typeof import('../../dashboard/demo');
      let at: number | undefined;
      if (fs.existsSync(storePath)) {
        try {
          const probe = openStore(storePath);
          at = demoGeneratedAt(probe);
          probe.close();
        } catch {
          at = undefined;
        }
        if (at === undefined && !(opts.store === undefined)) {
          throw new UsageError(`${storePath} is not a demo store; --demo would replace it. Serve it without --demo, or give --store a new file name`);
        }
      }
      const side = demoFiles(storePath);
      if (at === undefined || Date.now() - at > DAY || !fs.existsSync(side.policy)) {
        log(`generating demo data in ${storePath} …`);
        await generateDemo(storePath);
      }
      policyFile ??= side.policy;
      db = openStore(storePath);
      const { UserStore } = require('../../dashboard/auth') as typeof import('../../dashboard/auth');
      password = randomPassword();
      new UserStore(db).upsert('admin', 'admin', password);
    } else {
      if (!fs.existsSync(storePath)) {
        throw new UsageError(`no store at ${storePath}; write one with 'shadowim analyze CAPTURE --store ${storePath}' or 'shadowim sensor --interface IF --store ${storePath}', or try 'shadowim serve --demo'`);
      }
      try {
        db = openStore(storePath);
      } catch (e) {
        if (e instanceof StoreError) throw new UsageError(e.message);
        throw e;
      }
    }
    const { createDashboard } = require('../../dashboard/server') as typeof import('../../dashboard/server');
    let quarantineDir = opts.quarantine as string | undefined;
    if (quarantineDir === undefined) {
      try {
        quarantineDir = (require('../../analyzer/files') as typeof import('../../analyzer/files')).configuredQuarantineDir();
      } catch (e) {
        throw new UsageError((e as Error).message.split('\n')[0]);
      }
    } else if (!fs.existsSync(quarantineDir)) throw new UsageError(`--quarantine ${quarantineDir}: no such directory`);
    // the SIEM outbox, when the configuration keeps it outside the store (delivery.outbox)
    let outboxDb: import('better-sqlite3').Database | undefined;
    try {
      const sinks = require('../../outputs/sinks') as typeof import('../../outputs/sinks');
      const ob = sinks.outboxPath(sinks.sinksConfig(), storePath);
      if (path.resolve(ob) !== path.resolve(storePath) && fs.existsSync(ob)) outboxDb = openStoreLike(ob);
    } catch (e) {
      log(`delivery page: cannot read the sinks configuration (${(e as Error).message.split('\n')[0]})`);
    }
    const loginNotice = (require('../../common/config') as typeof import('../../common/config')).getConfig().dashboard.login_notice;
    const dash = createDashboard({ db, storePath, demo, policyFile, trustProxy, quarantineDir, outboxDb, log, loginNotice });
    const limits = slowClientLimits();
    const server = tls
      ? (require('node:https') as typeof import('node:https')).createServer({ ...tls, minVersion: 'TLSv1.2', ...limits }, dash.app)
      : (require('node:http') as typeof import('node:http')).createServer(limits, dash.app);
    server.maxConnections = MAX_CONNECTIONS;
    server.listen(port, host);
    await new Promise<void>((resolve, reject) => {
      server.once('listening', () => resolve());
      server.once('error', (e: NodeJS.ErrnoException) =>
        reject(new UsageError(e.code === 'EADDRINUSE' ? `port ${port} on ${host} is in use; choose another with --port N` : `cannot listen on ${host}:${port}: ${e.code ?? e.message}`)),
      );
    });
    const addr = server.address() as import('node:net').AddressInfo;
    const shown = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    const url = `${tls ? 'https' : 'http'}://${shown}:${addr.port}/`;
    const lines = [`shadowim dashboard: ${url}  (store ${path.resolve(storePath)})`];
    if (demo) {
      lines.push('DEMO DATA: generated, fictitious activity — not from your network.');
      lines.push(`log in as admin with the one-time password: ${password}`);
      lines.push('');
      lines.push('To look at your own traffic:');
      lines.push('  a capture:  shadowim analyze FILE.pcap --store shadowim.db   then   shadowim serve --store shadowim.db');
      lines.push('  live:       shadowim sensor --interface eth1 --store shadowim.db   (and shadowim serve --store shadowim.db)');
      lines.push('  users:      shadowim user add NAME --role viewer|analyst|admin --store shadowim.db');
    } else if (dash.users.count() === 0) {
      lines.push(`no users yet: add one with 'shadowim user add NAME --role admin --store ${storePath}'`);
    }
    if (!tls && host !== '127.0.0.1' && host !== '::1' && host !== 'localhost') lines.push(`warning: listening on ${host} over plain HTTP; give it --tls-cert/--tls-key, or put a TLS proxy in front (and use --trust-proxy)`);
    process.stdout.write(lines.join('\n') + '\n');

    await new Promise<void>((resolve) => {
      const stop = () => {
        server.close(() => resolve());
        server.closeAllConnections();
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    db.close();
    outboxDb?.close();
    return 0;
  },
};

/** A plain SQLite handle on the outbox file (it has no store schema). */
function openStoreLike(file: string): import('better-sqlite3').Database {
  const Sqlite = require('better-sqlite3') as typeof import('better-sqlite3');
  const db = new Sqlite(file, { fileMustExist: true, timeout: 5000 });
  db.pragma('journal_mode = WAL');
  return db;
}

/** connections served at once; more are refused until one closes (every one is a file descriptor) */
const MAX_CONNECTIONS = 512;

/**
 * Slow clients: a request's headers must arrive within 15 s and the whole request within 60 s, checked
 * every second (Node's defaults are 60 s and 300 s, checked every 30 s: a slowloris from one host held
 * a connection for minutes). The console's requests are small JSON bodies. SHADOWIM_DASH_HEADERS_TIMEOUT_MS
 * shortens the header limit, for tests only.
 */
function slowClientLimits(): { headersTimeout: number; requestTimeout: number; connectionsCheckingInterval: number } {
  const t = Number(process.env.SHADOWIM_DASH_HEADERS_TIMEOUT_MS);
  const headersTimeout = Number.isInteger(t) && t >= 100 ? t : 15_000;
  return { headersTimeout, requestTimeout: Math.max(60_000, headersTimeout), connectionsCheckingInterval: Math.min(1000, headersTimeout) };
}

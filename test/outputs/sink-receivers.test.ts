// Receivers that misbehave: an HTTP answer that trickles or streams forever, a 429 with Retry-After, a
// syslog receiver that accepts the connection and never reads. Delivery must stay bounded by the
// sink's timeout and the outbox must keep (and pace) what it could not deliver.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ircUsersCapture, webhookConfig } from '../helpers/sinks';
import { shadowimAsync as shadowim } from '../helpers/run';
import { SyslogClient } from '../../outputs/sinks/transports';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-receivers-'));

function listen(handler: http.RequestListener): Promise<{ port: number; server: http.Server; stop: () => Promise<void> }> {
  const server = http.createServer(handler);
  return new Promise((r) =>
    server.listen(0, '127.0.0.1', () =>
      r({ port: (server.address() as net.AddressInfo).port, server, stop: () => new Promise<void>((s) => (server.closeAllConnections(), server.close(() => s()))) }),
    ),
  );
}

/** the webhook on `port` with an 800 ms timeout; `delivery`: more lines of the delivery section */
function config(name: string, port: number, delivery: string): string {
  return webhookConfig(tmp, name, port, '      timeout_ms: 800\n', delivery);
}

describe('alert sinks against misbehaving receivers', function () {
  this.timeout(120000);
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  for (const mode of ['trickles its answer forever', 'streams an endless answer'] as const) {
    it(`test-sink ends within the timeout when the receiver ${mode}`, async () => {
      const rx = await listen((req, res) => {
        req.resume();
        req.on('end', () => {
          res.writeHead(200);
          if (mode === 'trickles its answer forever') {
            const t = setInterval(() => res.write('x'), 100);
            res.on('close', () => clearInterval(t));
          } else {
            const chunk = Buffer.alloc(64 * 1024, 0x78);
            const pump = () => {
              while (!res.destroyed && res.write(chunk));
            };
            res.on('drain', pump);
            pump();
          }
        });
      });
      try {
        const cfg = config('stream', rx.port, '');
        const t0 = Date.now();
        const r = await shadowim(['alerts', 'test-sink', 'soc'], { env: { SHADOWIM_CONFIG: cfg }, timeout: 20000 });
        const ms = Date.now() - t0;
        assert.notEqual(r.status, null, `test-sink still running after ${ms} ms (killed)`);
        assert.equal(r.status, 0, r.stdout + r.stderr);
        // the receiver said 200: that is its answer; the rest is not read
        assert.match(r.stdout, /^soc \(webhook\): delivered — HTTP 200 OK: x+ \(rest of the answer not read\)$/m);
      } finally {
        await rx.stop();
      }
    });
  }

  it('waits as long as a 429 Retry-After asks (up to max_ms) instead of retrying on its own backoff', async () => {
    const cap = path.join(tmp, 'irc.pcap');
    ircUsersCapture(cap, 1);
    for (const c of [
      { name: 'ra-honoured', retryAfter: '3', maxMs: 10000 },
      { name: 'ra-capped', retryAfter: '3600', maxMs: 200 },
    ]) {
      const hits: number[] = [];
      const rx = await listen((req, res) => {
        req.resume();
        req.on('end', () => {
          hits.push(Date.now());
          res.writeHead(429, { 'retry-after': c.retryAfter }).end('slow down');
        });
      });
      try {
        const cfg = config(c.name, rx.port, `    base_ms: 50\n    max_ms: ${c.maxMs}\n    max_attempts: 1000\n    drain_ms: 1500\n`);
        const r = await shadowim(['analyze', cap, '--format', 'jsonl'], { env: { SHADOWIM_CONFIG: cfg } });
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.events.filter((e) => e.type === 'alert').length, 1);
        const Sqlite = require('better-sqlite3');
        const db = new Sqlite(path.join(tmp, `${c.name}-outbox.db`), { readonly: true });
        const row = db.prepare('SELECT * FROM alert_outbox').get();
        db.close();
        assert.equal(row.state, 'pending', 'kept for a later run');
        assert.match(row.last_error, /HTTP 429/);
        if (c.name === 'ra-honoured') {
          // one request in the 1.5 s drain, the next one not before the 3 s asked for
          assert.equal(hits.length, 1, `${hits.length} requests in 1.5 s despite Retry-After: 3`);
          assert.ok(row.next_at - row.updated_at >= 3000, `next try after ${row.next_at - row.updated_at} ms`);
        } else {
          // a receiver cannot park the queue beyond max_ms
          assert.ok(hits.length >= 3, `only ${hits.length} requests in 1.5 s with max_ms 200`);
          assert.ok(row.next_at - row.updated_at <= 200, `next try after ${row.next_at - row.updated_at} ms`);
        }
      } finally {
        await rx.stop();
      }
    }
  });

  it('a TCP syslog receiver that stops reading fails the send after the timeout, not never', async () => {
    const conns: net.Socket[] = [];
    // accepts, never reads: the kernel buffers fill and writes stop completing
    const srv = net.createServer((s) => {
      s.pause();
      conns.push(s);
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const port = (srv.address() as net.AddressInfo).port;
    const client = new SyslogClient({ transport: 'tcp', host: '127.0.0.1', port, timeoutMs: 500, verify: true });
    const msg = 'x'.repeat(256 * 1024);
    try {
      let failed: { detail: string; ms: number } | undefined;
      // at most 400 MB: far beyond loopback socket buffers
      for (let i = 0; i < 1600 && !failed; i++) {
        const t0 = Date.now();
        const r = await Promise.race([client.send(msg), new Promise<'hung'>((res) => setTimeout(() => res('hung'), 10000))]);
        assert.notEqual(r, 'hung', `send ${i} still pending after 10 s`);
        if (r !== 'hung' && !r.ok) failed = { detail: r.detail, ms: Date.now() - t0 };
      }
      assert.ok(failed, 'a send failed once the receiver stopped reading');
      assert.match(failed.detail, /took no bytes for 500 ms/);
      assert.ok(failed.ms < 5000, `failed after ${failed.ms} ms`);
    } finally {
      client.close();
      for (const s of conns) s.destroy();
      srv.close();
    }
  });
});

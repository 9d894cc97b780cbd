// Starts a real influxd (Debian's 1.6) on free loopback ports with its data in a temp folder, for tests
// and benchmarks. Stop it with stop(); restart on the same data dir with start() again.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export function haveInfluxd(): boolean {
  return spawnSync('influxd', ['version'], { stdio: 'ignore' }).status === 0;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
    s.on('error', reject);
  });
}

export class Influxd {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-influxd-'));
  port = 0;
  private proc: ChildProcess | undefined;
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    if (!this.port) this.port = await freePort();
    const rpc = await freePort();
    const conf = path.join(this.dir, 'influxdb.conf');
    fs.writeFileSync(
      conf,
      `reporting-disabled = true
bind-address = "127.0.0.1:${rpc}"
[meta]
  dir = "${this.dir}/meta"
[data]
  dir = "${this.dir}/data"
  wal-dir = "${this.dir}/wal"
  query-log-enabled = false
[coordinator]
[retention]
  enabled = true
[monitor]
  store-enabled = false
[http]
  enabled = true
  bind-address = "127.0.0.1:${this.port}"
  log-enabled = false
[continuous_queries]
  enabled = true
  log-enabled = false
`,
    );
    this.proc = spawn('influxd', ['run', '-config', conf], { stdio: ['ignore', 'ignore', fs.openSync(path.join(this.dir, 'influxd.log'), 'a')] });
    const deadline = Date.now() + 20000;
    while (Date.now() < deadline) {
      try {
        const r = await fetch(`${this.url}/ping`, { signal: AbortSignal.timeout(500) });
        if (r.status === 204) return;
      } catch {
        /* not up yet */
      }
      if (this.proc.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`influxd did not start; see ${this.dir}/influxd.log`);
  }

  async stop(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    this.proc = undefined;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGTERM');
      setTimeout(() => p.kill('SIGKILL'), 5000).unref();
    });
  }

  async query(q: string, db: string): Promise<any[]> {
    const r = await fetch(`${this.url}/query?${new URLSearchParams({ db, q, epoch: 'ns' })}`);
    const j: any = await r.json();
    const s = j.results?.[0]?.series?.[0];
    if (j.results?.[0]?.error) throw new Error(j.results[0].error);
    if (!s) return [];
    return s.values.map((v: any[]) => Object.fromEntries(s.columns.map((c: string, i: number) => [c, v[i]])));
  }

  async cleanup(): Promise<void> {
    await this.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

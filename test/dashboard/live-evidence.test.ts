// Evidence for live sessions end to end: `shadowim sensor --store --evidence-dir` captures a replayed
// capture on a veth pair (two network namespaces), then the dashboard serves the alert's packets.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CLI } from '../helpers/paths';
import { shadowim } from '../helpers/run';
import { liveSkipReason, VethPair } from '../helpers/netns';
import { dashboardCapture } from './fixture';
import { startServe } from './serve';
import { Client } from './setup';

const skip = liveSkipReason();

(skip ? describe.skip : describe)(`live evidence ring${skip ? ` (skipped: ${skip})` : ''}`, function () {
  this.timeout(120000);
  let pair: VethPair | undefined;
  let child: ChildProcess | undefined;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-live-ev-'));
  after(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    pair?.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('keeps a live IM session\'s packets and serves them from its alert', async () => {
    const cap = dashboardCapture();
    const file = path.join(dir, 'irc.pcap');
    fs.writeFileSync(file, cap.pcap);
    const store = path.join(dir, 'store.db');
    const ev = path.join(dir, 'evidence');
    assert.equal(shadowim(['user', 'add', 'ana', '--role', 'analyst', '--password-stdin', '--store', store], { input: 'ana-password-1234\n' }).status, 0);
    pair = new VethPair();
    const out = { stderr: '' };
    child = spawn('ip', ['netns', 'exec', pair.nsB, process.execPath, CLI, 'sensor', '--interface', pair.ifB, '--store', store, '--evidence-dir', ev, '--sensor', 'live-1', '--format', 'jsonl', '--stats-interval', '1'], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.on('data', (d) => (out.stderr += d));
    const until = async (re: RegExp, ms: number) => {
      const t0 = Date.now();
      while (!re.test(out.stderr)) {
        if (child!.exitCode !== null) throw new Error(`sensor exited: ${out.stderr}`);
        if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${re}: ${out.stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await until(/capturing on /, 30000);
    const sent = pair.replay(file, { pps: 500 });
    assert.equal(sent.sent, cap.total);
    await until(new RegExp(`received ${cap.total} packets`), 20000).catch(() => undefined);
    child.kill('SIGINT');
    await new Promise((r) => child!.once('exit', r));
    const files = fs.readdirSync(ev).filter((f) => f.endsWith('.pcap'));
    assert.equal(files.length, 2, `one pcap per IRC session: ${files.join(', ')}\n${out.stderr}`);

    const srv = await startServe(['--store', store]);
    try {
      const c = new Client(srv.url);
      assert.equal(await c.login('ana', 'ana-password-1234'), 200);
      const a = (await c.req('GET', '/api/alerts?kind=sensitive_data')).json.rows[0];
      assert.ok(a, 'the card alert from the live capture');
      const r = await c.req('GET', `/api/alerts/${a.id}/pcap`);
      assert.equal(r.status, 200, r.text);
      const got = path.join(dir, 'got.pcap');
      fs.writeFileSync(got, r.buf);
      const n = Number(/Number of packets:\s+(\d+)/.exec(execFileSync('capinfos', ['-c', got], { encoding: 'utf8' }))![1]);
      assert.equal(n, cap.flowAPackets);
    } finally {
      await srv.stop();
    }
  });
});

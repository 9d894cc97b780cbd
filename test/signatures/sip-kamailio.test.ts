// SIMPLE through a real SIP registrar/proxy: Debian's kamailio on the loopback of a network namespace
// of our own, a scripted user agent pair, tcpdump capturing, then `shadowim analyze` on the capture.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { shadowim } from '../helpers/run';

const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const runnable = process.getuid?.() === 0 && has('kamailio') && has('tcpdump') && has('ip');
const MODULES = '/usr/lib/x86_64-linux-gnu/kamailio/modules/';

const CFG = `#!KAMAILIO
debug=1
log_stderror=yes
children=1
tcp_children=1
listen=udp:127.0.0.1:5060
mpath="${MODULES}"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "maxfwd.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "pv.so"
modparam("usrloc", "db_mode", 0)
request_route {
  if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
  if (is_method("REGISTER")) { save("location"); exit; }
  if (!lookup("location")) { sl_send_reply("404", "Not Found"); exit; }
  record_route();
  t_relay();
}
`;

function waitFor(check: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const t = setInterval(() => {
      if (check()) {
        clearInterval(t);
        resolve();
      } else if (Date.now() > end) {
        clearInterval(t);
        reject(new Error('timed out'));
      }
    }, 50);
  });
}

(runnable ? describe : describe.skip)('SIMPLE through a real kamailio (network namespace)', function () {
  this.timeout(60000);
  const ns = `shsip${process.pid}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-kam-'));
  const pcap = path.join(dir, 'sip.pcap');
  let kam: ChildProcess | undefined;
  let dump: ChildProcess | undefined;
  let dumpErr = '';

  before(async () => {
    spawnSync('ip', ['netns', 'del', ns]);
    assert.equal(spawnSync('ip', ['netns', 'add', ns]).status, 0, 'ip netns add');
    spawnSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    fs.writeFileSync(path.join(dir, 'kamailio.cfg'), CFG);
    dumpErr = '';
    dump = spawn('ip', ['netns', 'exec', ns, 'tcpdump', '-Z', 'root', '--immediate-mode', '-i', 'lo', '-U', '-w', pcap, 'udp port 5060 or udp port 5071 or udp port 5072'], { stdio: ['ignore', 'ignore', 'pipe'] });
    dump.stderr!.on('data', (d) => (dumpErr += d));
    await waitFor(() => /listening on/.test(dumpErr), 10000);
    kam = spawn('ip', ['netns', 'exec', ns, 'kamailio', '-f', path.join(dir, 'kamailio.cfg'), '-DD', '-E', '-P', path.join(dir, 'kam.pid'), '-Y', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
    let kamErr = '';
    kam.stderr!.on('data', (d) => (kamErr += d));
    await waitFor(() => spawnSync('ip', ['netns', 'exec', ns, 'ss', '-uln']).stdout.toString().includes('127.0.0.1:5060'), 10000).catch(() => {
      throw new Error(`kamailio did not start: ${kamErr.slice(-500)}`);
    });
  });

  after(() => {
    kam?.kill('SIGTERM');
    dump?.kill('SIGINT');
    spawnSync('ip', ['netns', 'del', ns]);
  });

  it('reads both instant messages, once each, with the registered users', async () => {
    const ua = spawnSync('ip', ['netns', 'exec', ns, process.execPath, path.join(__dirname, '..', 'helpers', 'sip-ua.js'), '5060', 'Hello Bob, through kamailio', 'Hi Alice, reply via the proxy'], { encoding: 'utf8', timeout: 20000 });
    assert.equal(ua.status, 0, `user agents failed: ${ua.stderr}`);
    await new Promise((r) => setTimeout(r, 300));
    dump!.kill('SIGINT');
    await new Promise((r) => dump!.once('exit', r));
    const r = shadowim(['analyze', pcap, '--format', 'jsonl']);
    assert.equal(r.status, 0, r.stderr);
    const msgs = r.events.filter((e) => e.type === 'message').map((e) => [e.from, e.to, e.text]);
    assert.deepEqual(msgs, [
      ['alice@127.0.0.1', 'bob@127.0.0.1', 'Hello Bob, through kamailio'],
      ['bob@127.0.0.1', 'alice@127.0.0.1', 'Hi Alice, reply via the proxy'],
    ]);
    const users = new Set(r.events.filter((e) => e.type === 'session').flatMap((e) => e.users));
    assert.ok(users.has('alice@127.0.0.1') && users.has('bob@127.0.0.1'));
  });
});

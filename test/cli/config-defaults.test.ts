// Sections of the configuration that give commands their defaults (policy, sensor.*, dashboard.*,
// signatures.dir), run through the real command line: the file takes effect, the command line wins,
// relative paths are relative to the file, and mistakes are one line naming the file and line.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Capture } from '../helpers/pcapgen';
import { CLI } from '../helpers/paths';
import { jsonLines, shadowim, type RunResult } from '../helpers/run';
import { tlsClientHello } from '../signatures/modern-wire';

// nothing from the environment of whoever runs the tests
const NO_ENV = { SHADOWIM_CONFIG: '', SHADOWIM_SIGNATURES_DIR: '' };

/** the CLI run from `cwd` (the helper runs it from the test's directory) */
function runIn(cwd: string, args: string[], env: Record<string, string> = {}): RunResult {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, ...NO_ENV, ...env }, maxBuffer: 64 << 20, timeout: 120000 });
  const stdout = r.stdout.toString('utf8');
  return { status: r.status, stdout, stderr: r.stderr.toString('utf8'), events: jsonLines(stdout) };
}
const unauthorized = (r: RunResult) => r.events.filter((e) => e.type === 'alert' && e.kind === 'unauthorized_im').length;

function ircCapture(): Buffer {
  const c = new Capture();
  const t = c.tcp('10.0.0.5:40001', '198.51.100.7:6667');
  t.open();
  t.send('c', 'NICK alice\r\nUSER alice 0 * :Alice\r\n');
  t.send('s', ':irc.example.net 001 alice :Welcome to the net alice\r\n');
  t.send('c', 'PRIVMSG bob :hello\r\n');
  t.close();
  return c.pcap();
}

function tlsCapture(): Buffer {
  const c = new Capture();
  const t = c.tcp('10.0.0.5:40002', '198.51.100.60:443');
  t.open();
  t.send('c', tlsClientHello({ sni: 'chat.corp-example.net' }));
  t.close();
  return c.pcap();
}

/** a port something already listens on, so a server told to use it fails at once, naming it */
function busyPort(): Promise<{ port: number; close: () => void }> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => resolve({ port: (s.address() as net.AddressInfo).port, close: () => s.close() }));
  });
}

describe('cli: configuration sections as command defaults', function () {
  this.timeout(120000);
  let tmp: string;
  let irc: string;
  let n = 0;
  /** a config file in its own folder */
  const config = (body: string): { file: string; dir: string } => {
    const dir = path.join(tmp, `c${++n}`);
    fs.mkdirSync(dir);
    const file = path.join(dir, 'shadowim.yaml');
    fs.writeFileSync(file, body);
    return { file, dir };
  };

  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-cfgdef-'));
    irc = path.join(tmp, 'irc.pcap');
    fs.writeFileSync(irc, ircCapture());
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('policy: in the config is the policy of analyze (relative to the file, from any cwd); --policy wins', () => {
    const c = config('policy: policies/sanctioned.yaml\n');
    fs.mkdirSync(path.join(c.dir, 'policies'));
    fs.writeFileSync(path.join(c.dir, 'policies', 'sanctioned.yaml'), 'version: 1\nsanctioned_servers: [198.51.100.7]\n');
    const other = path.join(tmp, 'elsewhere');
    fs.mkdirSync(other, { recursive: true });

    const base = runIn(other, ['analyze', irc, '--format', 'jsonl']);
    assert.equal(base.status, 0, base.stderr);
    assert.equal(unauthorized(base), 1, 'the default policy: the IRC server is unauthorized');

    const withCfg = runIn(other, ['--config', c.file, 'analyze', irc, '--format', 'jsonl']);
    assert.equal(withCfg.status, 0, withCfg.stderr);
    assert.ok(withCfg.events.some((e) => e.type === 'session' && e.protocol === 'irc'), withCfg.stdout);
    assert.equal(unauthorized(withCfg), 0, 'the config policy sanctions the server');

    // the long form, {file: PATH}, means the same
    const long = config(`policy:\n  file: ${path.join(c.dir, 'policies', 'sanctioned.yaml')}\n`);
    assert.equal(unauthorized(runIn(other, ['analyze', irc, '--format', 'jsonl', '--config', long.file])), 0);

    // the command line wins: a policy without the exception brings the alert back
    const strict = path.join(tmp, 'strict.yaml');
    fs.writeFileSync(strict, 'version: 1\n');
    const cli = runIn(other, ['--config', c.file, 'analyze', irc, '--format', 'jsonl', '--policy', strict]);
    assert.equal(cli.status, 0, cli.stderr);
    assert.equal(unauthorized(cli), 1);

    // a policy path that does not exist is named (resolved against the config's folder)
    const missing = config('policy: nope.yaml\n');
    const m = runIn(other, ['--config', missing.file, 'analyze', irc]);
    assert.notEqual(m.status, 0);
    assert.ok(m.stderr.includes(path.join(missing.dir, 'nope.yaml')), m.stderr);
  });

  it('policy: reaches rules and doctor too', () => {
    const c = config('policy: pol.yaml\n');
    fs.writeFileSync(path.join(c.dir, 'pol.yaml'), 'version: 1\nsanctioned_servers: [192.0.2.77]\n');
    const r = shadowim(['rules', '--format', 'iptables', '--config', c.file], { env: NO_ENV });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /192\.0\.2\.77/, 'the sanctioned server is the rules\' exception');
    assert.doesNotMatch(shadowim(['rules', '--format', 'iptables'], { env: NO_ENV }).stdout, /192\.0\.2\.77/);
    const d = shadowim(['doctor', '--offline', '--format', 'json', '--config', c.file], { env: NO_ENV });
    const policy = JSON.parse(d.stdout).find((l: any) => l.check === 'policy');
    assert.equal(policy.status, 'ok');
    assert.ok(policy.detail.startsWith(`${path.join(c.dir, 'pol.yaml')} (config policy): `), policy.detail);
  });

  it('signatures.dir: the override folder of signatures list and of analyze; $SHADOWIM_SIGNATURES_DIR wins', () => {
    const c = config('signatures:\n  dir: overrides\n');
    const dir = path.join(c.dir, 'overrides');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'messengers.yaml'), 'hosts:\n  slack: [chat.corp-example.net]\n');
    const tls = path.join(tmp, 'tls.pcap');
    fs.writeFileSync(tls, tlsCapture());

    const list = shadowim(['signatures', 'list', '--config', c.file], { env: NO_ENV });
    assert.equal(list.status, 0, list.stderr);
    assert.ok(list.stdout.includes(`+ ${path.join(dir, 'messengers.yaml')}`), list.stdout);
    assert.ok(list.stdout.includes(`override folder: ${dir} (signatures.dir in ${c.file})`), list.stdout);
    const json = JSON.parse(shadowim(['signatures', 'list', '--format', 'json', '--config', c.file], { env: NO_ENV }).stdout);
    assert.deepEqual(json.override_dir, { dir, from: `signatures.dir in ${c.file}` });
    assert.match(shadowim(['signatures', 'list'], { env: NO_ENV }).stdout, /override folder: none/);

    const slack = (r: RunResult) => r.events.filter((e) => e.type === 'session' && e.protocol === 'slack').length;
    const without = shadowim(['analyze', tls, '--format', 'jsonl'], { env: NO_ENV });
    assert.equal(without.status, 0, without.stderr);
    assert.equal(slack(without), 0);
    const withCfg = shadowim(['analyze', tls, '--format', 'jsonl', '--config', c.file], { env: NO_ENV });
    assert.equal(slack(withCfg), 1, withCfg.stdout);

    // the environment variable wins over the file (an empty folder: no override)
    const empty = path.join(tmp, 'empty-overrides');
    fs.mkdirSync(empty, { recursive: true });
    const env = shadowim(['analyze', tls, '--format', 'jsonl', '--config', c.file], { env: { SHADOWIM_SIGNATURES_DIR: empty, SHADOWIM_CONFIG: '' } });
    assert.equal(slack(env), 0);
    const envList = shadowim(['signatures', 'list', '--config', c.file], { env: { SHADOWIM_SIGNATURES_DIR: empty, SHADOWIM_CONFIG: '' } });
    assert.ok(envList.stdout.includes(`override folder: ${empty} ($SHADOWIM_SIGNATURES_DIR)`), envList.stdout);
    // a folder the config names that does not exist: one line naming it, nothing analysed
    const gone = config('signatures:\n  dir: missing\n');
    const g = shadowim(['analyze', tls, '--config', gone.file], { env: NO_ENV });
    assert.equal(g.status, 2); // a mistake in the configuration, as signatures list answers it (was 1, found by config-fuzz.test.ts)
    assert.equal(g.stdout, '');
    assert.equal(g.stderr, `shadowim: ${path.join(gone.dir, 'missing')}: no such directory (signature overrides, from signatures.dir in ${gone.file}); create it or fix signatures.dir\n`);
  });

  it('sensor.interface is the interface of sensor and doctor; --interface wins', () => {
    const c = config('sensor:\n  name: hq-1\n  interface: nosuchif0\n');
    const r = shadowim(['sensor', '--config', c.file], { env: NO_ENV, timeout: 30000 });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /nosuchif0/);
    const cli = shadowim(['sensor', '--config', c.file, '--interface', 'nosuchif1'], { env: NO_ENV, timeout: 30000 });
    assert.match(cli.stderr, /nosuchif1/);
    assert.doesNotMatch(cli.stderr, /nosuchif0/);
    const d = JSON.parse(shadowim(['doctor', '--offline', '--format', 'json', '--config', c.file], { env: NO_ENV }).stdout);
    const line = d.find((l: any) => l.check === 'interface nosuchif0');
    assert.ok(line, JSON.stringify(d.map((l: any) => l.check)));
    assert.equal(line.status, 'FAIL');
    const config0 = d.filter((l: any) => l.check === 'config');
    assert.deepEqual(config0.map((l: any) => l.status), ['ok', 'ok']);
    assert.match(config0[1].detail, /sensor\.interface → sensor --interface/);
  });

  it('sensor settings are checked like the options: range, type, unknown keys (file:line, exit 2)', () => {
    const c = config('sensor:\n  interface: lo\n  snaplen: 10\n');
    const r = shadowim(['sensor', '--config', c.file], { env: NO_ENV });
    assert.equal(r.status, 2);
    assert.equal(r.stderr, `shadowim: ${c.file}:3: sensor.snaplen must be a whole number from 64 to 65535\n`);
    // the same range as the option's
    const o = shadowim(['sensor', '--interface', 'lo', '--snaplen', '10'], { env: NO_ENV });
    assert.equal(o.status, 2);
    assert.match(o.stderr, /--snaplen must be a whole number from 64 to 65535, not '10'/);
    const q = config('sensor:\n  queue_size: lots\n');
    assert.match(shadowim(['sensor', '--config', q.file], { env: NO_ENV }).stderr, new RegExp(`${q.file}:2: sensor.queue_size must be a whole number from 1 to 16384`));
    const u = config('sensor:\n  name: hq-1\n  interfaces: eth1\n');
    const ur = shadowim(['analyze', irc, '--config', u.file], { env: NO_ENV });
    assert.equal(ur.status, 2);
    assert.equal(ur.stderr, `shadowim: ${u.file}:3: unknown key 'interfaces' in sensor; known keys: name, interface, filter, snaplen, buffer_size, queue_size, max_flows, stats_interval, stats, evidence_dir\n`);
  });

  it('a flag the file can switch on has --no-NAME in --help; --no-NAME of anything else is one line saying what to do', () => {
    const c = config('sensor:\n  interface: lo\n  stats: true\n');
    const h = shadowim(['sensor', '--help', '--config', c.file], { env: NO_ENV });
    assert.match(h.stdout, /\n  --stats, --no-stats +also print .*\[config: sensor\.stats\]\n/);
    assert.doesNotMatch(h.stdout, /--no-(interface|policy|help|stats-interval)/, 'only flags with a config key');
    const cases: Array<[string, string]> = [
      ['--no-policy', "unknown option --no-policy for 'sensor': --policy takes a value and cannot be switched off; give --policy FILE instead; see 'shadowim sensor --help'"],
      ['--no-help', "unknown option --no-help for 'sensor': --help is off unless given, so leave it out; see 'shadowim sensor --help'"],
      ['--no-stats=yes', "option --no-stats takes no value; see 'shadowim sensor --help'"],
      ['--no-colour', "unknown option --no-colour for 'sensor'; see 'shadowim sensor --help'"],
    ];
    for (const [arg, msg] of cases) {
      const r = shadowim(['sensor', '--config', c.file, arg], { env: NO_ENV });
      assert.equal(r.status, 2, arg);
      assert.equal(r.stdout, '');
      assert.equal(r.stderr, `shadowim: ${msg}\n`);
    }
  });

  it('sensor.stats: true in the file is switched off by --no-stats on the command line (live, on lo)', async function () {
    const isRoot = typeof process.getuid !== 'function' || process.getuid() === 0;
    let haveCap = true;
    try {
      require('cap');
    } catch {
      haveCap = false;
    }
    if (!isRoot || !haveCap) return this.skip();
    const c = config('sensor:\n  interface: lo\n  stats: true\n  stats_interval: 1\n');
    /** stats events printed by a sensor stopped (SIGTERM) after its second periodic counter report */
    const statsEvents = (args: string[]) =>
      new Promise<number>((resolve, reject) => {
        const child = spawn(process.execPath, [CLI, 'sensor', '--config', c.file, '--format', 'jsonl', ...args], { env: { ...process.env, ...NO_ENV } });
        let out = '', err = '', stopping = false;
        const kill = setTimeout(() => child.kill('SIGKILL'), 60000);
        child.stdout.on('data', (d) => (out += d));
        child.stderr.on('data', (d) => {
          err += d;
          // once: a second signal stops the sensor without flushing
          if (!stopping && (err.match(/: \d+ s: received/g) ?? []).length >= 2) stopping = child.kill('SIGTERM');
        });
        child.on('close', (status) => {
          clearTimeout(kill);
          if (status !== 0) return reject(new Error(`sensor ${args.join(' ')} exited ${status}: ${err}`));
          resolve(jsonLines(out).filter((e) => e.type === 'stats').length);
        });
      });
    assert.ok((await statsEvents([])) >= 2, 'sensor.stats: a stats event with each periodic report, and one at exit');
    assert.equal(await statsEvents(['--no-stats']), 1, '--no-stats: only the one at exit');
    assert.ok((await statsEvents(['--no-stats', '--stats'])) >= 2, 'the last of --stats/--no-stats wins');
  });

  it('dashboard.port and dashboard.host are where serve listens; --port wins', async () => {
    const { openStore } = require('../../storage/store') as typeof import('../../storage/store');
    const store = path.join(tmp, 'dash.db');
    openStore(store).close();
    const a = await busyPort();
    const b = await busyPort();
    try {
      const c = config(`store:\n  path: ${store}\ndashboard:\n  port: ${a.port}\n  host: 127.0.0.1\n`);
      const r = shadowim(['serve', '--config', c.file], { env: NO_ENV, timeout: 30000 });
      assert.equal(r.status, 2, r.stdout + r.stderr);
      assert.equal(r.stderr, `shadowim: port ${a.port} on 127.0.0.1 is in use; choose another with --port N\n`);
      const cli = shadowim(['serve', '--config', c.file, '--port', String(b.port)], { env: NO_ENV, timeout: 30000 });
      assert.equal(cli.stderr, `shadowim: port ${b.port} on 127.0.0.1 is in use; choose another with --port N\n`);
    } finally {
      a.close();
      b.close();
    }
    const bad = config('dashboard:\n  port: 70000\n');
    assert.equal(shadowim(['serve', '--config', bad.file], { env: NO_ENV }).stderr, `shadowim: ${bad.file}:2: dashboard.port must be a whole number from 0 to 65535\n`);
    const q = config('dashboard:\n  quarantine: /srv/q\n');
    assert.match(shadowim(['serve', '--config', q.file], { env: NO_ENV }).stderr, /:2: dashboard\.quarantine: .*files\.quarantine\.dir/);
  });

  it('sections that belong elsewhere (dlp, analyzer, firewall, outputs) are errors saying where they go', () => {
    const cases: Array<[string, RegExp]> = [
      ['dlp:\n  max_scan_bytes: 256\n', /section 'dlp' does not belong in the configuration: DLP settings go in the policy file \(its dlp: section\); see analyzer\/policy\.example\.yaml/],
      ['analyzer:\n  x: 1\n', /section 'analyzer' .*policy file/],
      ['firewall:\n  format: nftables\n', /section 'firewall' .*shadowim rules --format/],
      ['outputs:\n  - syslog\n', /section 'outputs' .*sinks:.*shadowim rules --format/],
    ];
    for (const [body, re] of cases) {
      const c = config(`sensor: hq-1\n${body}`);
      const r = shadowim(['analyze', irc, '--config', c.file], { env: NO_ENV });
      assert.equal(r.status, 2, body);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.ok(r.stderr.startsWith(`shadowim: ${c.file}:2: `), r.stderr);
      assert.match(r.stderr, re);
    }
  });

  it('--help shows which options the configuration can set, and works with a broken file', () => {
    const c = config('dlp: {}\n');
    const h = shadowim(['sensor', '--help', '--config', c.file], { env: NO_ENV });
    assert.equal(h.status, 0, h.stderr);
    assert.match(h.stdout, /--interface IF .*\[config: sensor\.interface\]/);
    assert.match(h.stdout, /--buffer-size MB .*\[config: sensor\.buffer_size\]/);
    assert.match(shadowim(['serve', '--help'], { env: NO_ENV }).stdout, /--tls-cert FILE .*\[config: dashboard\.tls_cert\]/);
  });
});

// `shadowim sensor` as a user meets it before any packet: help, option errors, a missing libpcap,
// an unknown interface, a bad filter, no permission. Each error is one line on stderr, no stack trace.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { shadowim } from '../helpers/run';
import { CLI } from '../helpers/paths';
import { Capture } from '../helpers/pcapgen';
import { liveSkipReason, VethPair } from '../helpers/netns';

// Stands in for a machine where cap failed to build (no libpcap): require('cap') throws, as it then does.
const HIDE_CAP = path.join(__dirname, '..', 'helpers', 'hide-cap.js');

let haveCap = true;
try {
  require('cap');
} catch {
  haveCap = false;
}
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

function oneLineError(r: { status: number | null; stderr: string; stdout: string }): string {
  assert.notEqual(r.status, 0);
  assert.equal(r.stdout, '');
  const lines = r.stderr.split('\n').filter(Boolean);
  assert.equal(lines.length, 1, `one line, got: ${r.stderr}`);
  assert.doesNotMatch(r.stderr, /\bat .*\.ts:\d+/, 'no stack trace');
  return lines[0];
}

describe('shadowim sensor: command line', () => {
  it('--help shows every option', () => {
    const r = shadowim(['sensor', '--help']);
    assert.equal(r.status, 0);
    for (const o of ['--interface', '--filter', '--format', '--policy', '--store', '--sensor', '--snaplen', '--buffer-size', '--queue-size', '--stats']) assert.ok(r.stdout.includes(o), o);
  });

  it('needs --interface', () => {
    const line = oneLineError(shadowim(['sensor', '--format', 'jsonl']));
    assert.match(line, /needs --interface/);
  });

  it('rejects bad numbers and formats in one line', () => {
    assert.match(oneLineError(shadowim(['sensor', '-i', 'lo', '--snaplen', '10'])), /--snaplen must be a whole number from 64 to 65535/);
    assert.match(oneLineError(shadowim(['sensor', '-i', 'lo', '--buffer-size', 'lots'])), /--buffer-size must be/);
    assert.match(oneLineError(shadowim(['sensor', '-i', 'lo', '--queue-size', '0'])), /--queue-size must be a whole number from 1 to 16384/);
    assert.match(oneLineError(shadowim(['sensor', '-i', 'lo', '--format', 'xml'])), /--format must be jsonl or text/);
    // interface lists (a tap's two ports): no empty names, no repeats, 'any' alone
    assert.match(oneLineError(shadowim(['sensor', '-i', 'eth1,,eth2'])), /has an empty name in its list/);
    assert.match(oneLineError(shadowim(['sensor', '-i', 'lo,lo'])), /names an interface twice/);
    assert.match(oneLineError(shadowim(['sensor', '-i', 'lo,any'])), /'any' already captures every interface: name it alone/);
  });

  it('says what to install when cap/libpcap is missing, and other commands still work', () => {
    const env = { NODE_OPTIONS: `--require ${HIDE_CAP}` };
    const line = oneLineError(shadowim(['sensor', '--interface', 'lo'], { env }));
    assert.match(line, /apt-get install libpcap-dev/);
    assert.match(line, /npm rebuild cap/);
    const help = shadowim(['--help'], { env });
    assert.match(help.stdout, /sensor\s+capture live/);
    const c = new Capture();
    const t = c.tcp('10.0.0.5:40001', '198.51.100.7:6667');
    t.open().send('c', 'NICK alice\r\nUSER alice 0 * :Alice\r\n').send('c', 'PRIVMSG #x :hi there\r\n').close();
    const a = shadowim(['analyze', '-', '--format', 'jsonl'], { env, input: c.pcap() });
    assert.equal(a.status, 0, a.stderr);
    assert.deepEqual(a.events.filter((e) => e.type === 'message').map((e) => e.text), ['hi there']);
  });

  (haveCap ? it : it.skip)(`an --evidence-dir that cannot be made is one line in words before any capture${haveCap ? '' : ' (skipped: cap not built)'}`, () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-evdir-'));
    try {
      const store = path.join(tmp, 's.db');
      const file = path.join(tmp, 'plain');
      fs.writeFileSync(file, 'x');
      // a hang guard, not a timing check: this used to print the raw mkdir error and keep running
      const run = (dir: string) => shadowim(['sensor', '--interface', 'lo', '--store', store, '--evidence-dir', dir], { timeout: 30000 });
      const proc = run('/proc/shadowim-evidence');
      assert.equal(proc.status, 2);
      assert.equal(oneLineError(proc), 'shadowim: cannot use --evidence-dir /proc/shadowim-evidence: files cannot be created there; give a directory that exists or can be created');
      const under = run(path.join(file, 'ev'));
      assert.equal(under.status, 2);
      assert.equal(oneLineError(under), `shadowim: cannot use --evidence-dir ${path.join(file, 'ev')}: not a directory; give a directory that exists or can be created`);
      assert.deepEqual(fs.readdirSync(tmp), ['plain'], 'no store created');
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  (haveCap ? it : it.skip)(`names an unknown interface in one line${haveCap ? '' : ' (skipped: cap not built)'}`, () => {
    const line = oneLineError(shadowim(['sensor', '--interface', 'nosuch0']));
    assert.match(line, /no interface named 'nosuch0'/);
    assert.match(oneLineError(shadowim(['sensor', '--interface', 'lo,nosuch1'])), /no interface named 'nosuch1'/);
  });
});

const skip = liveSkipReason();
(skip ? describe.skip : describe)(`shadowim sensor: errors opening an interface${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let pair: VethPair | undefined;
  afterEach(() => {
    pair?.destroy();
    pair = undefined;
  });

  it('an interface list written with spaces (" lo, eth1") is read as the names the capture opens: counters and messages use them', async () => {
    pair = new VethPair();
    spawnSync('ip', ['-n', pair.nsB, 'link', 'set', 'lo', 'up']);
    const c = spawn('ip', ['netns', 'exec', pair.nsB, process.execPath, CLI, 'sensor', '--interface', ` lo, ${pair.ifB}`, '--format', 'jsonl'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    c.stderr!.on('data', (d) => (err += d));
    const started = Date.now();
    while (!err.includes('Ctrl-C to stop') && Date.now() - started < 30000) await new Promise((r) => setTimeout(r, 100));
    c.kill('SIGINT');
    await new Promise((r) => c.on('close', r));
    assert.match(err, new RegExp(`capturing on lo,${pair.ifB} \\(`), err);
    assert.match(err, new RegExp(`interface lo,${pair.ifB} kernel counters while the sensor ran: rx_packets`), err);
    assert.doesNotMatch(err, /unavailable/, err);
  });

  it('an interface of a link type the sensor does not read (802.11 radiotap, a real TAP device set to it) is one line naming it and what to do', () => {
    // a TAP device whose hardware type is set (TUNSETLINK) to ARPHRD_IEEE80211_RADIOTAP: libpcap opens
    // it with link type 127, as it opens a Wi-Fi interface in monitor mode
    pair = new VethPair();
    const mk = spawnSync('ip', ['netns', 'exec', pair.nsB, 'python3', '-c', [
      'import fcntl, struct, os',
      "fd = os.open('/dev/net/tun', os.O_RDWR)",
      "fcntl.ioctl(fd, 0x400454ca, struct.pack('16sH', b'rt0', 0x0002 | 0x1000))", // TUNSETIFF: TAP, no packet info
      'fcntl.ioctl(fd, 0x400454cd, 803)', // TUNSETLINK: ARPHRD_IEEE80211_RADIOTAP
      'fcntl.ioctl(fd, 0x400454cb, 1)', // TUNSETPERSIST
    ].join('\n')], { encoding: 'utf8' });
    assert.equal(mk.status, 0, mk.stderr);
    spawnSync('ip', ['-n', pair.nsB, 'link', 'set', 'rt0', 'up']);
    assert.match(spawnSync('ip', ['-n', pair.nsB, '-o', 'link', 'show', 'rt0'], { encoding: 'utf8' }).stdout, /link\/ieee802\.11\/radiotap/);
    const r = spawnSync('ip', ['netns', 'exec', pair.nsB, process.execPath, CLI, 'sensor', '--interface', 'rt0'], { encoding: 'utf8', timeout: 60000 });
    const ours = r.stderr.split('\n').filter((l) => l && !/^Warning: .*This may not actually work/.test(l));
    assert.equal(r.status, 2, r.stderr);
    assert.equal(ours.length, 1, r.stderr);
    assert.equal(ours[0], "shadowim: interface 'rt0' has link type 127 (IEEE 802.11 with radiotap header), which the sensor does not read (it reads Ethernet, Linux cooked, raw IP, loopback, PPP, PPPoE, Cisco HDLC and NFLOG): capture on a wired span port or tap");
  });

  it('a bad BPF filter is one line naming the filter', () => {
    pair = new VethPair();
    const r = spawnSync('ip', ['netns', 'exec', pair.nsB, process.execPath, CLI, 'sensor', '--interface', pair.ifB, '--filter', 'tcp port nonsense'], { encoding: 'utf8', timeout: 60000 });
    // libpcap itself prints a harmless "no IPv4 address" warning for an address-less interface: not ours
    const ours = r.stderr.split('\n').filter((l) => l && !/^Warning: .*This may not actually work/.test(l));
    assert.equal(r.status, 2, r.stderr);
    assert.equal(ours.length, 1, r.stderr);
    assert.match(ours[0], /bad --filter 'tcp port nonsense'/);
  });

  (isRoot ? it : it.skip)('no permission is one line saying what to do', function () {
    // an unprivileged user (nobody) has no CAP_NET_RAW
    const probe = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CLI, '--version'], { encoding: 'utf8', env: { ...process.env, HOME: '/tmp' } });
    if (probe.status !== 0) this.skip(); // the repository is not readable by nobody here
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CLI, 'sensor', '--interface', 'lo'], {
      encoding: 'utf8', timeout: 60000, env: { ...process.env, HOME: '/tmp' },
    });
    const ours = r.stderr.split('\n').filter((l) => l && !/^Warning: .*This may not actually work/.test(l));
    assert.equal(r.status, 2, r.stderr);
    assert.equal(ours.length, 1, r.stderr);
    assert.match(ours[0], /no permission to capture on 'lo'.*run as root or give node CAP_NET_RAW/);
  });
});

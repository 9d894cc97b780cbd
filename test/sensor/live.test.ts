// Live capture, end to end and for real: two network namespaces joined by a veth pair; `shadowim sensor`
// captures on one end while tcpreplay replays a generated capture out of the other. The sensor must
// receive every replayed packet, print the events `shadowim analyze` prints for the same file, and end
// cleanly on SIGINT with its counters on stderr. Root only (namespaces, packet capture).
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Capture, vxlanFrame } from '../helpers/pcapgen';
import { dccCapture } from '../files/dcc';
import crypto from 'node:crypto';
import { CLI } from '../helpers/paths';
import { shadowim } from '../helpers/run';
import { liveSkipReason, VethPair } from '../helpers/netns';

const skip = liveSkipReason();

/** IRC conversations (one closed, one still open at the end), plus flows that are not IM. */
function buildCapture(): { pcap: Buffer; packets: number; flows: number } {
  const c = new Capture();
  const irc = c.tcp('10.20.0.5:40001', '198.51.100.7:6667');
  irc.open();
  irc.send('c', 'NICK alice\r\nUSER alice 0 * :Alice A\r\n');
  irc.send('s', ':irc.example.net 001 alice :Welcome to the Example IRC Network alice\r\n');
  irc.send('c', 'JOIN #ops\r\n');
  irc.send('s', ':alice!alice@10.20.0.5 JOIN #ops\r\n');
  irc.send('c', 'PRIVMSG #ops :the vpn password is on the wiki\r\n');
  irc.send('s', ':bob!bob@203.0.113.9 PRIVMSG #ops :thanks, got it\r\n');
  irc.send('c', 'PRIVMSG bob :see you at 5\r\n', { segment: 9 });
  irc.send('c', 'QUIT :bye\r\n');
  irc.close();

  const http = c.tcp('10.20.0.6:40100', '192.0.2.80:80');
  http.open();
  http.send('c', 'GET / HTTP/1.1\r\nHost: intranet.example\r\n\r\n');
  http.send('s', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
  http.close();

  c.udp('10.20.0.7:5353', '192.0.2.53:5000', Buffer.from('not dns, just a datagram'));

  // left open: the sensor must end it (and print its session) when it stops
  const open = c.tcp('10.20.0.8:40200', '198.51.100.8:6697');
  open.open();
  open.send('c', 'NICK carol\r\nUSER carol 0 * :Carol\r\n');
  open.send('s', ':irc2.example.net 001 carol :Welcome carol\r\n');
  open.send('c', 'PRIVMSG #lobby :still here\r\n');
  return { pcap: c.pcap(), packets: c.frames.length, flows: 4 };
}

/** Events without what necessarily differs between a file and a live run: capture times and the flow ids made from them. */
function normalize(events: any[]): string[] {
  const strip = (v: any): any => {
    if (Array.isArray(v)) return v.map(strip);
    if (v && typeof v === 'object') {
      const o: any = {};
      for (const [k, x] of Object.entries(v)) if (!['ts', 'start', 'end', 'flow_id'].includes(k)) o[k] = strip(x);
      return o;
    }
    return v;
  };
  return events.map((e) => JSON.stringify(strip(e))).sort();
}

/** the frames of a classic little-endian pcap as the generator writes it */
function readFrames(pcap: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let o = 24; o + 16 <= pcap.length; ) {
    const n = pcap.readUInt32LE(o + 8);
    out.push(pcap.subarray(o + 16, o + 16 + n));
    o += 16 + n;
  }
  return out;
}

function waitFor(child: ChildProcess, out: { stderr: string }, re: RegExp, ms: number): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const check = () => {
      const m = re.exec(out.stderr);
      if (m) return resolve(m);
      if (child.exitCode !== null) return reject(new Error(`sensor exited (${child.exitCode}): ${out.stderr}`));
      if (Date.now() - t0 > ms) return reject(new Error(`timed out waiting for ${re}: ${out.stderr}`));
      setTimeout(check, 50);
    };
    check();
  });
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: string | null }> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve({ code: child.exitCode, signal: child.signalCode });
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
}

(skip ? describe.skip : describe)(`live capture on a veth pair between two network namespaces${skip ? ` (skipped: ${skip})` : ''}`, function () {
  this.timeout(120000);
  let dir: string;
  let pair: VethPair | undefined;
  let child: ChildProcess | undefined;
  /** more pairs a test set up, destroyed after it */
  const extra: VethPair[] = [];

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-live-'));
  });
  afterEach(() => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    child = undefined;
    pair?.destroy();
    pair = undefined;
    for (const p of extra.splice(0)) p.destroy();
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  async function startSensor(args: string[], device = pair!.ifB): Promise<{ child: ChildProcess; out: { stdout: string; stderr: string } }> {
    const out = { stdout: '', stderr: '' };
    const c = spawn('ip', ['netns', 'exec', pair!.nsB, process.execPath, CLI, 'sensor', '--interface', device, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    c.stdout!.on('data', (d) => (out.stdout += d));
    c.stderr!.on('data', (d) => (out.stderr += d));
    await waitFor(c, out, /capturing on /, 30000);
    return { child: c, out };
  }

  /** buildCapture() written to `name` and what `analyze` prints for it: what a live run must match */
  function reference(name: string): { cap: ReturnType<typeof buildCapture>; file: string; offline: ReturnType<typeof shadowim> } {
    const cap = buildCapture();
    const file = path.join(dir, name);
    fs.writeFileSync(file, cap.pcap);
    const offline = shadowim(['analyze', file, '--format', 'jsonl']);
    assert.equal(offline.status, 0, offline.stderr);
    return { cap, file, offline };
  }

  it('receives every replayed packet, prints what analyze prints for the same file, and stops cleanly on SIGINT', async () => {
    const cap = buildCapture();
    const file = path.join(dir, 'irc.pcap');
    fs.writeFileSync(file, cap.pcap);

    const offline = shadowim(['analyze', file, '--format', 'jsonl']);
    assert.equal(offline.status, 0, `analyze failed: ${offline.stderr}`);
    // ground truth from the capture as built, not from our output: alice's and carol's sessions, and the messages
    const sessions = offline.events.filter((e) => e.type === 'session');
    assert.deepEqual(sessions.map((s) => s.protocol).sort(), ['irc', 'irc']);
    const texts = offline.events.filter((e) => e.type === 'message').map((e) => e.text).sort();
    assert.deepEqual(texts, ['see you at 5', 'still here', 'thanks, got it', 'the vpn password is on the wiki']);

    pair = new VethPair();
    const t0 = Date.now();
    const { child: sensor, out } = await startSensor(['--format', 'jsonl', '--stats-interval', '1']);
    const sent = pair.replay(file, { pps: 1000 });
    assert.equal(sent.sent, cap.packets, 'tcpreplay sent the whole file');
    // wait until the sensor has seen them all (its periodic counters), at most 20 s
    await waitFor(sensor, out, new RegExp(`received ${cap.packets} packets`), 20000).catch(() => undefined);
    // as they happen: the messages are on stdout while the sensor still runs, not only at the stop
    const before = await new Promise<string>((resolve) => {
      const t = Date.now();
      const check = () => ((out.stdout.match(/"type":"message"/g) ?? []).length >= 4 || Date.now() - t > 10000 ? resolve(out.stdout) : setTimeout(check, 50));
      check();
    });
    assert.equal((before.match(/"type":"message"/g) ?? []).length, 4, `messages printed before the stop: ${before}`);
    sensor.kill('SIGINT');
    const { code, signal } = await exited(sensor);
    const t1 = Date.now();

    assert.equal(signal, null, `sensor died from ${signal}: ${out.stderr}`);
    assert.equal(code, 0, `sensor exit status: ${out.stderr}`);
    const received = /received: (\d+) packets/.exec(out.stderr);
    assert.ok(received, `final counters on stderr: ${out.stderr}`);
    assert.equal(Number(received[1]), sent.sent, 'packets received == packets replayed');
    assert.match(out.stderr, /dropped: unknown \(the cap binding exposes no libpcap statistics\)/);
    const flows = /decoded: (\d+) packets, (\d+) flows/.exec(out.stderr);
    assert.ok(flows, out.stderr);
    assert.equal(Number(flows[1]), cap.packets);
    assert.equal(Number(flows[2]), cap.flows);
    assert.match(out.stderr, /stopped on SIGINT/);

    // stdout holds events only, and they are analyze's events
    const lines = out.stdout.split('\n').filter(Boolean);
    const live = lines.map((l) => JSON.parse(l));
    assert.deepEqual(normalize(live), normalize(offline.events));
    // the flow ids left out of the comparison still tie each message to its session
    const sessionIds = new Set(live.filter((e) => e.type === 'session').map((e) => e.flow_id));
    for (const m of live.filter((e) => e.type === 'message')) assert.ok(sessionIds.has(m.flow_id), `message ${m.text} has its session's flow id`);
    // the times left out of the comparison are live times: within the run
    for (const e of live) {
      const ts = Date.parse(e.ts);
      assert.ok(ts >= t0 - 1000 && ts <= t1 + 1000, `event time ${e.ts} within the run`);
    }
  });

  it('mirrored traffic delivered over VXLAN (as cloud traffic mirroring sends it): the events of the traffic inside', async () => {
    const { cap, offline } = reference('plain.pcap');
    // the same frames, each inside a VXLAN datagram from the mirroring source to the sensor
    const c = new Capture();
    for (const f of readFrames(cap.pcap)) c.add(vxlanFrame(f));
    const file = path.join(dir, 'vxlan.pcap');
    fs.writeFileSync(file, c.pcap());

    pair = new VethPair();
    const { child: sensor, out } = await startSensor(['--format', 'jsonl', '--stats-interval', '1']);
    const sent = pair.replay(file, { pps: 1000 });
    assert.equal(sent.sent, cap.packets);
    await waitFor(sensor, out, new RegExp(`received ${cap.packets} packets`), 20000).catch(() => undefined);
    sensor.kill('SIGINT');
    const { code } = await exited(sensor);
    assert.equal(code, 0, out.stderr);
    assert.match(out.stderr, new RegExp(`decoded: ${cap.packets} packets, ${cap.flows} flows .*, ${cap.packets} inside tunnels`));
    // the same events; only the capture's own byte count (stats) includes the tunnel's headers
    const live = out.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));
    const noStats = (ev: any[]) => ev.filter((e) => e.type !== 'stats');
    // inside VXLAN every event names the VNI, and alert ids include it (docs/sensor.md, Tunnel zones)
    for (const e of noStats(live)) assert.equal(e.zone, 'vxlan:4660', JSON.stringify(e));
    const unzoned = (ev: any[]) => ev.map(({ zone: _z, ...e }) => (e.type === 'alert' ? { ...e, id: undefined } : e));
    assert.deepEqual(normalize(unzoned(noStats(live))), normalize(unzoned(noStats(offline.events))));
    const stats = live.find((e) => e.type === 'stats');
    assert.deepEqual([stats.packets, stats.flows], [cap.packets, cap.flows]);
  });

  it('a passive tap\'s two ports (one direction each), captured as one --interface list: the events of the whole conversation', async () => {
    const { cap, offline } = reference('tap.pcap');
    // two veth pairs whose capture ends are both in the sensor's namespace: the client's packets come
    // out of one, the servers' out of the other, as from the two monitor ports of a tap
    pair = new VethPair();
    const other = new VethPair();
    extra.push(other);
    for (const argv of [['-n', other.nsB, 'link', 'set', other.ifB, 'netns', pair.nsB], ['-n', pair.nsB, 'link', 'set', other.ifB, 'up']]) {
      const r = spawnSync('ip', argv, { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    }
    const { child: sensor, out } = await startSensor(['--format', 'jsonl', '--stats-interval', '1'], `${pair.ifB},${other.ifB}`);
    assert.match(out.stderr, new RegExp(`capturing on ${pair.ifB},${other.ifB} `));
    // each frame in capture order, out of the port its direction uses (one tcpreplay per frame keeps the order)
    let sent = 0;
    readFrames(cap.pcap).forEach((f, i) => {
      const one = new Capture();
      one.add(Buffer.from(f));
      const p = path.join(dir, `tap-${i}.pcap`);
      fs.writeFileSync(p, one.pcap());
      const fromClient = f[26] === 10; // Ethernet + IPv4: the source address starts at byte 26
      sent += (fromClient ? pair! : other).replay(p, { pps: 1000 }).sent;
    });
    assert.equal(sent, cap.packets);
    await waitFor(sensor, out, new RegExp(`received ${cap.packets} packets`), 20000).catch(() => undefined);
    sensor.kill('SIGINT');
    const { code } = await exited(sensor);
    assert.equal(code, 0, out.stderr);
    assert.match(out.stderr, new RegExp(`received: ${cap.packets} packets`));
    const live = out.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));
    assert.deepEqual(normalize(live), normalize(offline.events));
  });

  it('on a quiet link, a conversation that ended is reported within seconds, without waiting for another packet', async () => {
    const c = new Capture();
    const irc = c.tcp('10.20.0.5:40001', '198.51.100.7:6667');
    irc.open().send('c', 'NICK alice\r\nUSER alice 0 * :Alice\r\n').send('c', 'PRIVMSG bob :quiet now\r\n').close();
    const file = path.join(dir, 'quiet.pcap');
    fs.writeFileSync(file, c.pcap());
    pair = new VethPair();
    const { child: sensor, out } = await startSensor(['--format', 'jsonl', '--stats-interval', '0']);
    const sent = pair.replay(file, { pps: 1000 });
    assert.equal(sent.sent, c.frames.length);
    const t0 = Date.now();
    // the flow closed with FIN: it ends after the 2 s linger, on the capture's clock; no packet follows
    const session = await new Promise<any>((resolve) => {
      const check = () => {
        const s = out.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((e) => e.type === 'session');
        if (s || Date.now() - t0 > 15000) resolve(s);
        else setTimeout(check, 100);
      };
      check();
    });
    const waited = Date.now() - t0;
    sensor.kill('SIGINT');
    await exited(sensor);
    assert.ok(session, `no session event while the sensor ran (15 s): ${out.stdout} ${out.stderr}`);
    assert.deepEqual([session.protocol, session.users], ['irc', ['alice']]);
    assert.ok(waited < 15000, `printed after ${waited} ms`);
  });

  it('files sent while capturing are carved, hashed and judged live (a listed hash is infected, with its alert)', async () => {
    const bad = crypto.randomBytes(3000);
    const good = crypto.randomBytes(2000);
    const file = dccCapture(path.join(dir, 'dcc.pcap'), [{ name: 'bad.bin', data: bad }, { name: 'good.bin', data: good }]);
    const list = path.join(dir, 'intel.csv');
    fs.writeFileSync(list, `sha256,name\n${crypto.createHash('sha256').update(bad).digest('hex')},Trojan.Live.Test\n`);
    const cfg = path.join(dir, 'intel.yaml');
    fs.writeFileSync(cfg, `files:\n  hash_lists: [${list}]\n`);
    const packets = readFrames(fs.readFileSync(file)).length;

    pair = new VethPair();
    const { child: sensor, out } = await startSensor(['--format', 'jsonl', '--stats-interval', '1', '--config', cfg]);
    const sent = pair.replay(file, { pps: 1000 });
    assert.equal(sent.sent, packets);
    await waitFor(sensor, out, new RegExp(`received ${packets} packets`), 20000).catch(() => undefined);
    sensor.kill('SIGINT');
    const { code } = await exited(sensor);
    assert.equal(code, 0, out.stderr);
    const live = out.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));
    const data = live.filter((e) => e.type === 'file_transfer' && e.stage === 'data');
    assert.deepEqual(Object.fromEntries(data.map((e) => [e.filename, [e.verdict, e.observed_size, e.sha256]])), {
      'bad.bin': ['infected:Trojan.Live.Test', 3000, crypto.createHash('sha256').update(bad).digest('hex')],
      'good.bin': ['clean', 2000, crypto.createHash('sha256').update(good).digest('hex')],
    });
    assert.ok(live.some((e) => e.type === 'alert' && e.detector === 'malware'), 'the listed file raises an alert');
  });

  it('ends on SIGTERM too, with the counters on stderr and only the closing stats event on stdout when no traffic came', async () => {
    pair = new VethPair();
    const { child: sensor, out } = await startSensor(['--format', 'jsonl', '--stats-interval', '0']);
    sensor.kill('SIGTERM');
    const { code } = await exited(sensor);
    assert.equal(code, 0, out.stderr);
    const events = out.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));
    assert.deepEqual(events.map((e) => [e.type, e.packets, e.flows]), [['stats', 0, 0]]);
    assert.match(out.stderr, /stopped on SIGTERM/);
    assert.match(out.stderr, /received: 0 packets/);
  });

  it('applies a BPF filter: only the matching flow is received and reported', async () => {
    const cap = buildCapture();
    const file = path.join(dir, 'filter.pcap');
    fs.writeFileSync(file, cap.pcap);
    pair = new VethPair();
    const { child: sensor, out } = await startSensor(['--filter', 'tcp port 80', '--stats-interval', '1']);
    pair.replay(file, { pps: 1000 });
    // the HTTP flow: handshake 3 + request 1 + response 1 + teardown 3
    await waitFor(sensor, out, /received 8 packets/, 20000).catch(() => undefined);
    sensor.kill('SIGINT');
    const { code } = await exited(sensor);
    assert.equal(code, 0, out.stderr);
    assert.match(out.stderr, /received: 8 packets/);
    assert.match(out.stderr, /decoded: 8 packets, 1 flow /);
    const events = out.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));
    assert.deepEqual(events.map((e) => e.type), ['stats'], 'no IM in the HTTP flow');
  });

  /** the capture process: the one child of the sensor (ip netns exec execs node, so child.pid is the analysis process) */
  function captureProcess(analysis: ChildProcess): number {
    const kids = fs.readFileSync(`/proc/${analysis.pid}/task/${analysis.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    assert.equal(kids.length, 1, `one capture process: ${kids.join(' ')}`);
    return Number(kids[0]);
  }

  /** Replays buildCapture(), ends the capture process abruptly with `kill`, checks what the analysis then reports. */
  async function abruptEnd(kill: (sensor: ChildProcess) => void): Promise<void> {
    const cap = buildCapture();
    const file = path.join(dir, `abrupt-${Date.now()}.pcap`);
    fs.writeFileSync(file, cap.pcap);
    const offline = shadowim(['analyze', file, '--format', 'jsonl']);
    assert.equal(offline.status, 0, offline.stderr);
    pair = new VethPair();
    const { child: sensor, out } = await startSensor(['--format', 'jsonl', '--stats-interval', '1']);
    pair.replay(file, { pps: 1000 });
    await waitFor(sensor, out, new RegExp(`received ${cap.packets} packets`), 20000);
    // analysed too: carol's session is still open, alice's waits for a packet after its FIN linger
    await waitFor(sensor, out, /events: .*message 4/, 20000);
    assert.doesNotMatch(out.stdout, /"type":"session".*"carol"/, 'the open session is not reported before the end');
    kill(sensor);
    const { code } = await exited(sensor);
    assert.equal(code, 1, out.stderr);
    const last = out.stderr.trim().split('\n').pop()!;
    assert.match(last, new RegExp(`^shadowim sensor: the capture on '${pair.ifB}' ended abruptly \\(SIGABRT\\): the interface went down or disappeared, which the cap binding cannot survive; the sessions open then were ended and reported`));
    assert.doesNotMatch(out.stderr, /Assertion/);
    assert.doesNotMatch(out.stderr, /stopped on/);
    assert.match(out.stderr, new RegExp(`decoded: ${cap.packets} packets, ${cap.flows} flows \\([1-9]\\d* open at stop, ended then\\)`));
    // every session is reported, the open ones included: the same events as analyze of the same file
    const live = out.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));
    assert.deepEqual(live.filter((e) => e.type === 'session').map((e) => e.users[0]).sort(), ['alice', 'carol']);
    assert.deepEqual(normalize(live), normalize(offline.events));
  }

  it('the capture process killed with SIGABRT mid-capture: the open sessions are reported, then one line, exit 1', async () => {
    await abruptEnd((sensor) => process.kill(captureProcess(sensor), 'SIGABRT'));
  });

  it('says in one line that the interface went down (the cap binding aborts then) instead of dumping core, after reporting the open sessions', async () => {
    await abruptEnd(() => spawnSync('ip', ['-n', pair!.nsB, 'link', 'set', pair!.ifB, 'down']));
  });

  it('a full queue drops frames and counts them while the analysis is paused; the rest is analysed', async () => {
    // ~4.4 MB of 1514-byte frames against a 1 MiB queue, while the analysis process is stopped
    const c = new Capture();
    const t = c.tcp('10.20.1.5:40300', '192.0.2.80:443');
    t.open();
    t.send('s', Buffer.alloc(1460 * 3000, 0x42));
    t.close();
    const file = path.join(dir, 'bulk.pcap');
    fs.writeFileSync(file, c.pcap());
    pair = new VethPair();
    const { child: sensor, out } = await startSensor(['--format', 'jsonl', '--stats-interval', '1', '--queue-size', '1']);
    sensor.kill('SIGSTOP');
    let sent: number;
    try {
      sent = pair.replay(file, { pps: 10000 }).sent;
    } finally {
      sensor.kill('SIGCONT');
    }
    assert.equal(sent, c.frames.length);
    await waitFor(sensor, out, new RegExp(`received ${sent} packets`), 30000);
    sensor.kill('SIGINT');
    const { code } = await exited(sensor);
    assert.equal(code, 0, out.stderr);
    const received = Number(/received: (\d+) packets/.exec(out.stderr)?.[1]);
    const dropped = /queue: (\d+) packets dropped \((\d+) bytes\): the analysis fell more than the queue's 1 MiB behind the capture; peak ([\d.]+) MiB/.exec(out.stderr);
    const decoded = Number(/decoded: (\d+) packets/.exec(out.stderr)?.[1]);
    assert.ok(dropped, out.stderr);
    assert.equal(received, sent, 'the capture process received every frame');
    assert.ok(Number(dropped[1]) > sent / 2, `most frames dropped: ${dropped[0]}`);
    assert.equal(decoded + Number(dropped[1]), received, 'every frame received was either analysed or counted as dropped');
    assert.ok(Number(dropped[3]) <= 1, 'the queue stayed within its bound');
    const stats = out.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((e) => e.type === 'stats');
    assert.equal(stats.at(-1).packets, decoded);
  });

  it('captures on device any (Linux cooked frames decoded by the packet path)', async () => {
    const cap = buildCapture();
    const file = path.join(dir, 'any.pcap');
    fs.writeFileSync(file, cap.pcap);
    pair = new VethPair();
    const out = { stdout: '', stderr: '' };
    const c = spawn('ip', ['netns', 'exec', pair.nsB, process.execPath, CLI, 'sensor', '--interface', 'any', '--stats-interval', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    c.stdout!.on('data', (d) => (out.stdout += d));
    c.stderr!.on('data', (d) => (out.stderr += d));
    await waitFor(c, out, /capturing on any \(LINKTYPE_LINUX_SLL/, 30000);
    pair.replay(file, { pps: 1000 });
    await waitFor(c, out, new RegExp(`received ${cap.packets} packets`), 20000).catch(() => undefined);
    c.kill('SIGINT');
    const { code } = await exited(c);
    assert.equal(code, 0, out.stderr);
    assert.match(out.stderr, new RegExp(`received: ${cap.packets} packets`));
    assert.match(out.stderr, new RegExp(`decoded: ${cap.packets} packets, ${cap.flows} flows \\(.*\\), 0 malformed`));
    const live = out.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));
    assert.deepEqual(live.filter((e) => e.type === 'message').map((e) => e.text).sort(), ['see you at 5', 'still here', 'thanks, got it', 'the vpn password is on the wiki']);
  });
});

// Live capture, end to end and for real: two network namespaces joined by a veth pair; `shadowim sensor`
// captures on one end while tcpreplay replays a generated capture out of the other. The sensor must
// receive every replayed packet, print the events `shadowim analyze` prints for the same file, and end
// cleanly on SIGINT with its counters on stderr. Root only (namespaces, packet capture).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Capture } from '../helpers/pcapgen';
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

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-live-'));
  });
  afterEach(() => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    child = undefined;
    pair?.destroy();
    pair = undefined;
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  async function startSensor(args: string[]): Promise<{ child: ChildProcess; out: { stdout: string; stderr: string } }> {
    const out = { stdout: '', stderr: '' };
    const c = spawn('ip', ['netns', 'exec', pair!.nsB, process.execPath, CLI, 'sensor', '--interface', pair!.ifB, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    c.stdout!.on('data', (d) => (out.stdout += d));
    c.stderr!.on('data', (d) => (out.stderr += d));
    await waitFor(c, out, /capturing on /, 30000);
    return { child: c, out };
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
    assert.match(out.stderr, /decoded: 8 packets, 1 flows/);
    const events = out.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));
    assert.deepEqual(events.map((e) => e.type), ['stats'], 'no IM in the HTTP flow');
  });

  it('says in one line that the interface went down (the cap binding aborts then) instead of dumping core', async () => {
    pair = new VethPair();
    const { child: sensor, out } = await startSensor(['--stats-interval', '0']);
    const { spawnSync } = await import('node:child_process');
    spawnSync('ip', ['-n', pair.nsB, 'link', 'set', pair.ifB, 'down']);
    const { code } = await exited(sensor);
    assert.equal(code, 1, out.stderr);
    const last = out.stderr.trim().split('\n').pop()!;
    assert.match(last, new RegExp(`the capture on '${pair.ifB}' ended abruptly \\(SIGABRT\\): the interface went down or disappeared`));
    assert.doesNotMatch(out.stderr, /Assertion/);
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

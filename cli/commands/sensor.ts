// `shadowim sensor --interface IF`: live capture through the same pipeline as `analyze`
// (registry → signature engine → packet path; events → analyzer → outputs), printing events as they happen.
// SIGINT/SIGTERM: stop the capture, analyse what is queued, end every open flow (their sessions are
// printed), flush, then counters.
import type { Command } from '../main';
import { helpText, optionSource, parseArgs, UsageError, type OptionSpec } from '../args';
import { makeNamedDir } from '../../common/makeDirs';
import * as live from '../../sensor/live'; // light: cap itself is loaded lazily inside
import { SENSOR_LIMITS } from '../../common/config'; // light: yaml is loaded only to parse
import { stderrLine } from '../../common/stderr';
import type { ShadowEvent } from '../../common/events';

const SPECS: OptionSpec[] = [
  { name: 'interface', short: 'i', value: true, arg: 'IF', config: 'sensor.interface', help: "interface to capture on ('any' = all interfaces; eth1,eth2 = several merged, e.g. a tap's two ports)" },
  { name: 'filter', short: 'f', value: true, arg: 'BPF', config: 'sensor.filter', help: "capture filter in pcap-filter syntax, e.g. 'not host 10.0.0.9'" },
  { name: 'format', value: true, arg: 'jsonl|text', help: 'event output on stdout (default: jsonl, or text on a terminal)' },
  { name: 'policy', value: true, arg: 'FILE', config: 'policy', help: 'policy file for the analyzer (default: the built-in policy)' },
  { name: 'store', value: true, arg: 'PATH', help: 'also keep events in this SQLite store' },
  { name: 'sensor', value: true, arg: 'NAME', help: 'sensor name recorded on every event' },
  { name: 'snaplen', value: true, arg: 'N', config: 'sensor.snaplen', help: 'bytes kept per frame, 64..65535 (default 65535)' },
  { name: 'buffer-size', value: true, arg: 'MB', config: 'sensor.buffer_size', help: 'kernel capture buffer in MiB, 1..4096 (default 64)' },
  { name: 'queue-size', value: true, arg: 'MB', config: 'sensor.queue_size', help: 'frames waiting for the analysis, in MiB, 1..16384 (default 256); beyond, frames are dropped and counted' },
  { name: 'max-flows', value: true, arg: 'N', config: 'sensor.max_flows', help: 'most flows tracked at once; beyond, the flow nearest its idle timeout is ended (default 200000)' },
  { name: 'evidence-dir', value: true, arg: 'DIR', config: 'sensor.evidence_dir', help: "keep each flow's first packets (2 MiB a flow, 64 MiB in all) and write IM sessions' packets to DIR as pcaps, for the dashboard's evidence download (needs a store)" },
  { name: 'stats', config: 'sensor.stats', help: 'also print a `stats` event on stdout with every periodic counter report (one is always printed at exit, as analyze does)' },
  { name: 'stats-interval', value: true, arg: 'SEC', config: 'sensor.stats_interval', help: 'counters to stderr every SEC seconds (default 10; 0 = only at exit)' },
  { name: 'help', short: 'h', help: 'show this help' },
];

const USAGE = 'shadowim sensor --interface IF [--filter BPF] [--format jsonl|text] [--policy FILE] [--store PATH] [--sensor NAME] [--snaplen N] [--buffer-size MB] [--queue-size MB] [--max-flows N] [--evidence-dir DIR] [--stats] [--stats-interval SEC]';
const DESCRIPTION = `Captures live from a network interface (needs root or CAP_NET_RAW) and prints the same events
'shadowim analyze' prints for a capture of the same traffic, as they happen. Events go to stdout;
counters (packets received, drops, flows) go to stderr every --stats-interval seconds and at exit.
Capture and analysis run in two processes, with a queue of --queue-size MiB between them.
Ctrl-C (SIGINT) or SIGTERM ends it cleanly: what is queued is analysed, open sessions are printed,
then the final counters (a second Ctrl-C stops at once).
For headroom at high rates turn the interface's offloads off (ethtool -K IF gro off gso off tso off);
see docs/live.md for permissions, the 'any' device, what the counters mean and measured rates.`;

export const command: Command = {
  summary: 'capture live from a network interface and print events as they happen',
  async run(argv) {
    const args = parseArgs(argv, SPECS, 'sensor');
    const { opts, positional } = args;
    if (opts.help) {
      console.log(helpText(USAGE, DESCRIPTION, SPECS));
      return 0;
    }
    if (positional.length) throw new UsageError(`unexpected argument '${positional[0]}'; the interface is given with --interface IF`);
    const given = opts.interface as string | undefined;
    if (!given) throw new UsageError("sensor needs --interface IF (e.g. eth0, or 'any'), or sensor.interface in the configuration; see 'shadowim sensor --help'");
    let device: string;
    try {
      // the names as the capture opens them ("eth1, eth2" is eth1,eth2): the counters and hints use them too
      device = live.deviceList(given).join(',');
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    const format = (opts.format as string | undefined) ?? (process.stdout.isTTY ? 'text' : 'jsonl');
    if (format !== 'jsonl' && format !== 'text') throw new UsageError(`--format must be jsonl or text, not '${format}'`);
    const snaplen = intOption(opts.snaplen, 'snaplen', ...SENSOR_LIMITS.snaplen);
    const bufferMb = intOption(opts['buffer-size'], 'buffer-size', ...SENSOR_LIMITS.buffer_size);
    const queueMb = intOption(opts['queue-size'], 'queue-size', ...SENSOR_LIMITS.queue_size);
    const interval = intOption(opts['stats-interval'], 'stats-interval', ...SENSOR_LIMITS.stats_interval);
    const maxFlows = opts['max-flows'] === undefined ? undefined : intOption(opts['max-flows'], 'max-flows', ...SENSOR_LIMITS.max_flows);

    const run: RunOptions = {
      device,
      filter: opts.filter as string | undefined,
      snaplen,
      bufferSize: bufferMb * 1024 * 1024,
      queueSize: queueMb * 1024 * 1024,
      format,
      policyFile: opts.policy as string | undefined,
      store: opts.store as string | undefined,
      sensor: opts.sensor as string | undefined,
      statsEvents: Boolean(opts.stats),
      statsIntervalSec: interval,
      maxFlows,
      evidenceDir: opts['evidence-dir'] as string | undefined,
    };
    try {
      live.loadCap(); // before anything else: a missing libpcap is the likeliest failure
      if (process.env[WORKER_ENV] === '1') return await runCapture(run);
      if (run.evidenceDir) {
        evidenceStorePath(run.store); // a missing store, or a directory that cannot be made, is said before any capture starts
        makeNamedDir(run.evidenceDir, { label: optionSource(args, 'evidence-dir'), hint: 'give a directory that exists or can be created', mode: 0o700, error: UsageError });
      }
      return await runSensor(argv, run);
    } catch (e) {
      if (e instanceof live.LiveError) throw new UsageError(e.message);
      throw e;
    }
  },
};

// Two processes, two cores: a capture process (cap, libpcap) that only captures, and this one, which
// analyses. cap 0.2.1 aborts its whole process (an assertion in its poll callback) when the interface
// goes down or disappears; with the capture in a child, the analysis survives that, ends the open flows
// and says what happened in one line. Frames come through a pipe (sensor/frameStream.ts) behind a
// bounded queue in the child, so analysis pauses do not stall the capture; the child's stderr passes
// through, minus the binding's assertion text and libpcap's harmless "no IPv4 address" warning.
const WORKER_ENV = 'SHADOWIM_SENSOR_WORKER';
const NOISE = [/^Warning: .* - This may not actually work$/, /binding\.cc:\d+: .*Assertion .* failed\.?$/];
/** the frame pipe's fd in the capture process (0-2 stdio, 3 IPC) */
const FRAME_FD = 4;

interface RunOptions {
  device: string;
  filter?: string;
  snaplen: number;
  bufferSize: number;
  queueSize: number;
  format: 'jsonl' | 'text';
  policyFile?: string;
  store?: string;
  sensor?: string;
  statsEvents: boolean;
  statsIntervalSec: number;
  maxFlows?: number;
  /** (dashboard) --evidence-dir: where IM sessions' packets are written */
  evidenceDir?: string;
}

/** The capture process: no analysis modules are loaded here. */
async function runCapture(o: RunOptions): Promise<number> {
  const fs = require('node:fs') as typeof import('node:fs');
  let pipeOk = false;
  try {
    pipeOk = fs.fstatSync(FRAME_FD).isSocket() || fs.fstatSync(FRAME_FD).isFIFO();
  } catch {
    /* not open */
  }
  if (!pipeOk || !process.send) throw new UsageError(`${WORKER_ENV} is internal to 'shadowim sensor'`);
  const send = (m: live.CaptureMessage) => {
    if (process.connected) process.send!(m);
  };
  const code = await live.runCaptureProcess({ device: o.device, filter: o.filter, snaplen: o.snaplen, bufferSize: o.bufferSize, queueSize: o.queueSize, fd: FRAME_FD }, send);
  process.channel?.unref();
  return code;
}

/** The analysis process: starts the capture process, analyses what it sends, reports. */
async function runSensor(argv: string[], o: RunOptions): Promise<number> {
  const { spawn } = require('node:child_process') as typeof import('node:child_process');
  const cli = require('node:path').join(__dirname, '..', '..', 'bin', 'shadowim.js');
  const say = (line: string) => stderrLine(`shadowim sensor: ${line}`);
  const startedAt = Date.now();
  const ifCounters = new live.InterfaceCounters(o.device); // read before the capture opens
  const child = spawn(process.execPath, [cli, 'sensor', ...argv], {
    stdio: ['ignore', 'ignore', 'pipe', 'ipc', 'pipe'],
    env: { ...process.env, [WORKER_ENV]: '1' },
  });
  const frames = child.stdio[FRAME_FD] as import('node:stream').Readable;
  frames.pause(); // until the analysis is assembled: frames wait in the pipe and the child's queue
  let rest = '';
  child.stderr!.setEncoding('utf8');
  const pass = (line: string) => {
    if (!NOISE.some((re) => re.test(line))) stderrLine(line);
  };
  child.stderr!.on('data', (d: string) => {
    const lines = (rest + d).split('\n');
    rest = lines.pop()!;
    for (const l of lines) pass(l);
  });
  const stderrDone = new Promise<void>((r) => child.stderr!.once('close', () => {
    if (rest) pass(rest);
    rest = '';
    r();
  }));

  let started: { linkName: string; linktype: number; ring?: live.RingInfo } | undefined;
  let childCounters: import('../../sensor/frameStream').CaptureCounters | undefined;
  let onStarted: () => void = () => undefined;
  const startedP = new Promise<void>((r) => (onStarted = r));
  child.on('message', (m: live.CaptureMessage) => {
    if (m?.type === 'started') {
      const ring = m.ring && Number.isFinite(m.ring.frames) && Number.isFinite(m.ring.frameSize) ? { frames: Number(m.ring.frames), frameSize: Number(m.ring.frameSize) } : undefined;
      started = { linkName: String(m.linkName), linktype: Number(m.linktype), ring };
      onStarted();
    } else if (m?.type === 'counters') childCounters = m.counters;
  });
  let spawnError: string | undefined;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('error', (e) => {
      spawnError = e.message;
      resolve({ code: 1, signal: null });
    });
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });

  // signals: the first stops the capture (the child flushes its queue, we drain it); a second one stops
  // at once, without flushing. Ctrl-C also reaches the child directly (same process group): it ignores repeats.
  let stopSignal: NodeJS.Signals | undefined;
  let onHardStop: () => void = () => undefined;
  const hardStop = new Promise<'hard'>((r) => (onHardStop = () => r('hard')));
  const forward = (sig: NodeJS.Signals) => {
    if (stopSignal) {
      child.kill('SIGKILL');
      onHardStop();
      return;
    }
    stopSignal = sig;
    child.kill(sig);
  };
  const onInt = () => forward('SIGINT');
  const onTerm = () => forward('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  const cleanup = () => {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  };

  // heavy modules only here (not in the capture process, not for --help); built while the child starts
  let assembled;
  try {
    assembled = assemble(o);
  } catch (e) {
    cleanup();
    child.kill('SIGKILL');
    throw e;
  }
  const { pipeline, evidence, sink, reader, isoTime } = assembled;
  const streamEnded = new Promise<void>((resolve) => {
    frames.on('data', (chunk: Buffer) => {
      if (reader.push(chunk)) return;
      // our own child sent something impossible: stop reading (what came before was analysed)
      frames.destroy();
      child.kill('SIGKILL');
    });
    frames.once('close', () => resolve());
    frames.once('error', () => undefined); // the child died mid-write: 'close' follows
  });

  const first = await Promise.race([startedP.then(() => 'started' as const), exited.then(() => 'exited' as const), hardStop]);
  if (first !== 'started') {
    // the capture never started: the child said why on stderr (one line), or a signal stopped it first
    cleanup();
    frames.destroy();
    await Promise.race([stderrDone, new Promise((r) => setTimeout(r, 1000))]);
    await pipeline.close();
    await evidence?.close();
    const { code, signal } = await exited;
    if (spawnError) say(`cannot start the capture process: ${spawnError}`);
    if (first === 'hard' || (stopSignal && (code === 0 || signal === 'SIGINT' || signal === 'SIGTERM'))) {
      say(`stopped on ${stopSignal ?? signal} before the capture started`);
      return 0;
    }
    if (signal) {
      say(`the capture process ended before capturing (${signal})`);
      return 1;
    }
    return code || 1;
  }

  const now = () => Date.now() * 1000;
  const liveCounters = () => {
    const c = reader.counters ?? childCounters;
    return {
      received: Math.max(c?.received ?? 0, reader.frames + (c?.queueDropped ?? 0)),
      bytes: Math.max(c?.bytes ?? 0, reader.bytes),
      truncated: c?.truncated ?? 0,
    };
  };
  const queueCounters = () => {
    const c = reader.counters ?? childCounters;
    return { queueDropped: c?.queueDropped ?? 0, queueDroppedBytes: c?.queueDroppedBytes ?? 0, queued: c?.queued ?? 0, queuePeak: c?.queuePeak ?? 0, queueLimit: c?.queueLimit ?? o.queueSize };
  };
  const snapshot = () => ({
    device: o.device,
    filtered: Boolean(o.filter),
    seconds: (Date.now() - startedAt) / 1000,
    live: liveCounters(),
    queue: queueCounters(),
    sink: sink.counters,
    iface: ifCounters.delta(),
    events: pipeline.counts,
  });
  // the same fields analyze puts in its closing stats event; no `dropped`: libpcap's is not known (see live.ts)
  const stats = (): ShadowEvent => {
    const c = sink.counters;
    return { type: 'stats', ts: isoTime(now()), packets: c.packets, bytes: c.bytes, malformed: c.malformed, flows: c.flows,
      ...(c.snapped ? { snapped: c.snapped } : {}),
      ...(c.unsupportedLink ? { unsupported_link: c.unsupportedLink } : {}),
      ...(o.sensor ? { sensor: o.sensor } : {}) };
  };
  const statsEvent = () => pipeline.emit(stats());
  const timer = o.statsIntervalSec > 0
    ? setInterval(() => {
        for (const l of live.formatCounters(snapshot(), false)) say(l);
        if (o.statsEvents) statsEvent();
      }, o.statsIntervalSec * 1000)
    : undefined;
  // only now that a signal stops us cleanly: tests and scripts wait for this line
  say(`capturing on ${o.device} (${started!.linkName}${o.filter ? `, filter '${o.filter}'` : ''}); Ctrl-C to stop`);
  const ring = started!.ring; // read by the capture process, where the socket is
  if (ring) {
    say(`kernel ring: ${ring.frames} packets of up to ${ring.frameSize} bytes (--buffer-size ${o.bufferSize >> 20} MiB)`);
    if (ring.frameSize > 16384 && o.device !== 'any') {
      const devs = o.device.split(',');
      say(`  ${o.device} ${devs.length > 1 ? 'have' : 'has'} segmentation/receive offloads on, so libpcap reserves 64 KiB per packet; for ~40x more headroom: ${devs.map((d) => `ethtool -K ${d} gro off gso off tso off lro off`).join('; ')}`);
    }
  }
  frames.resume();

  const end = await Promise.race([Promise.all([streamEnded, exited, stderrDone]).then(() => 'ended' as const), hardStop]);
  if (timer) clearInterval(timer);
  if (end === 'hard') {
    cleanup();
    frames.destroy();
    say('stopped without flushing (second signal)');
    return 130;
  }
  const { code, signal } = await exited;
  // every open flow ends now, however the capture ended: their session events are printed
  const activeAtStop = sink.counters.activeFlows;
  sink.finish();
  // always, as analyze ends with one: the last line, after the analyzer's end-of-run alert updates
  await pipeline.close(stats()); // stdout flushed before the counters
  await evidence?.close(); // session pcaps still being written
  cleanup();
  const clean = reader.counters !== undefined && !reader.error && code === 0 && !signal;
  if (clean) say(`stopped on ${stopSignal ?? 'request'} after ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
  for (const l of live.formatCounters({ ...snapshot(), activeAtStop }, true)) say(l);
  if (clean) return 0;
  const lost = 'frames still queued in the capture process were lost';
  if (reader.error) {
    say(`the capture process sent a malformed frame stream (${reader.error}); the sessions open then were ended and reported. This is a bug: please report it`);
    return 1;
  }
  if (signal) {
    say(`the capture on '${o.device}' ended abruptly (${signal}): the interface went down or disappeared, which the cap binding cannot survive; the sessions open then were ended and reported (${lost}). Start the sensor again once ${o.device} is up (under a supervisor: restart on failure)`);
    return 1;
  }
  say(`the capture process ended with status ${code}${stopSignal ? ` while stopping on ${stopSignal}` : ''}; the sessions open then were ended and reported`);
  return code || 1;
}

/** The analysis, assembled exactly as `analyze` assembles it, so both print the same events for the same traffic. */
function assemble(o: RunOptions) {
  const { PacketPath } = require('../../sensor/packetPath') as typeof import('../../sensor/packetPath');
  const { loadRegistry } = require('../../signatures/registry') as typeof import('../../signatures/registry');
  const { Engine } = require('../../signatures/engine') as typeof import('../../signatures/engine');
  const { buildPipeline } = require('../pipeline') as typeof import('../pipeline');
  const { isoTime } = require('../../common/events') as typeof import('../../common/events');
  const { FrameStreamReader } = require('../../sensor/frameStream') as typeof import('../../sensor/frameStream');
  const registry = loadRegistry();
  const pipeline = buildPipeline({ format: o.format, policyFile: o.policyFile, store: o.store, sensor: o.sensor, live: true });
  // (dashboard) --evidence-dir: a bounded per-flow packet ring in front of the packet path
  const evidence = o.evidenceDir ? evidenceFor(o.evidenceDir, o.store, o.sensor) : undefined;
  const engine = new Engine(registry, { emit: evidence ? evidence.wrapEmit(pipeline.emit) : pipeline.emit, sensor: o.sensor, files: pipeline.files, homeNets: pipeline.homeNets });
  const sink = new PacketPath(engine, { maxFlows: o.maxFlows });
  const reader = new FrameStreamReader(evidence ? evidence.tee(sink) : sink);
  return { pipeline, evidence, sink, reader, isoTime };
}

function intOption(v: unknown, name: string, min: number, max: number, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, not '${v}'`);
  return n;
}

function evidenceStorePath(store: string | undefined): string {
  const { getConfig } = require('../../common/config') as typeof import('../../common/config');
  const storePath = store ?? getConfig().store.path;
  if (!storePath) throw new UsageError('--evidence-dir needs a store to record the files in: add --store PATH (or set store.path)');
  return storePath;
}

function evidenceFor(dir: string, store: string | undefined, sensor: string | undefined) {
  const { getConfig } = require('../../common/config') as typeof import('../../common/config');
  const storePath = evidenceStorePath(store);
  const { liveEvidence } = require('../../dashboard/evidenceRing') as typeof import('../../dashboard/evidenceRing');
  return liveEvidence({ dir, store: storePath, sensor: sensor ?? getConfig().sensor.name });
}

// `shadowim sensor --interface IF`: live capture through the same pipeline as `analyze`
// (registry → signature engine → packet path; events → analyzer → outputs), printing events as they happen.
// SIGINT/SIGTERM: stop the capture, end every open flow (their sessions are printed), flush, then counters.
import type { Command } from '../main';
import { helpText, parseArgs, UsageError, type OptionSpec } from '../args';
import * as live from '../../sensor/live'; // light: cap itself is loaded lazily inside

const SPECS: OptionSpec[] = [
  { name: 'interface', short: 'i', value: true, arg: 'IF', help: "interface to capture on ('any' = all interfaces)" },
  { name: 'filter', short: 'f', value: true, arg: 'BPF', help: "capture filter in pcap-filter syntax, e.g. 'not host 10.0.0.9'" },
  { name: 'format', value: true, arg: 'jsonl|text', help: 'event output on stdout (default: jsonl, or text on a terminal)' },
  { name: 'policy', value: true, arg: 'FILE', help: 'policy file for the analyzer (default: the built-in policy)' },
  { name: 'store', value: true, arg: 'PATH', help: 'also keep events in this SQLite store' },
  { name: 'sensor', value: true, arg: 'NAME', help: 'sensor name recorded on every event' },
  { name: 'snaplen', value: true, arg: 'N', help: 'bytes kept per frame, 64..65535 (default 65535)' },
  { name: 'buffer-size', value: true, arg: 'MB', help: 'kernel capture buffer in MiB, 1..4096 (default 64)' },
  { name: 'max-flows', value: true, arg: 'N', help: 'most flows tracked at once; the longest idle is evicted beyond (default 200000)' },
  { name: 'evidence-dir', value: true, arg: 'DIR', help: "keep each flow's first packets (2 MiB a flow, 64 MiB in all) and write IM sessions' packets to DIR as pcaps, for the dashboard's evidence download (needs a store)" },
  { name: 'stats', help: 'also print a `stats` event on stdout with every periodic counter report (one is always printed at exit, as analyze does)' },
  { name: 'stats-interval', value: true, arg: 'SEC', help: 'counters to stderr every SEC seconds (default 10; 0 = only at exit)' },
  { name: 'help', short: 'h', help: 'show this help' },
];

const USAGE = 'shadowim sensor --interface IF [--filter BPF] [--format jsonl|text] [--policy FILE] [--store PATH] [--sensor NAME] [--snaplen N] [--buffer-size MB]';
const DESCRIPTION = `Captures live from a network interface (needs root or CAP_NET_RAW) and prints the same events
'shadowim analyze' prints for a capture of the same traffic, as they happen. Events go to stdout;
counters (packets received, drops, flows) go to stderr every --stats-interval seconds and at exit.
Ctrl-C (SIGINT) or SIGTERM ends it cleanly: open sessions are printed, then the final counters.
For headroom at high rates turn the interface's offloads off (ethtool -K IF gro off gso off tso off);
see docs/live.md for permissions, the 'any' device, what the counters mean and measured rates.`;

export const command: Command = {
  summary: 'capture live from a network interface and print events as they happen',
  async run(argv) {
    const { opts, positional } = parseArgs(argv, SPECS, 'sensor');
    if (opts.help) {
      console.log(helpText(USAGE, DESCRIPTION, SPECS));
      return 0;
    }
    if (positional.length) throw new UsageError(`unexpected argument '${positional[0]}'; the interface is given with --interface IF`);
    const device = opts.interface as string | undefined;
    if (!device) throw new UsageError("sensor needs --interface IF (e.g. eth0, or 'any'); see 'shadowim sensor --help'");
    const format = (opts.format as string | undefined) ?? (process.stdout.isTTY ? 'text' : 'jsonl');
    if (format !== 'jsonl' && format !== 'text') throw new UsageError(`--format must be jsonl or text, not '${format}'`);
    const snaplen = intOption(opts.snaplen, 'snaplen', 64, 65535, 65535);
    const bufferMb = intOption(opts['buffer-size'], 'buffer-size', 1, 4096, 64);
    const interval = intOption(opts['stats-interval'], 'stats-interval', 0, 86400, 10);
    const maxFlows = opts['max-flows'] === undefined ? undefined : intOption(opts['max-flows'], 'max-flows', 16, 50_000_000, 200000);

    try {
      live.loadCap(); // before anything else: a missing libpcap is the likeliest failure
      if (process.env[WORKER_ENV] !== '1') return await supervise(argv, device);
      return await runLive({
        device,
        filter: opts.filter as string | undefined,
        snaplen,
        bufferSize: bufferMb * 1024 * 1024,
        format,
        policyFile: opts.policy as string | undefined,
        store: opts.store as string | undefined,
        sensor: opts.sensor as string | undefined,
        statsEvents: Boolean(opts.stats),
        statsIntervalSec: interval,
        maxFlows,
        evidenceDir: opts['evidence-dir'] as string | undefined,
      });
    } catch (e) {
      if (e instanceof live.LiveError) throw new UsageError(e.message);
      throw e;
    }
  },
};

// cap 0.2.1 aborts the whole process (an assertion in its poll callback) when the interface goes down or
// disappears. So the capture runs in a child process and this one stays to say what happened in one line
// instead of a core dump. Events go straight to our stdout; the child's stderr passes through, minus the
// binding's assertion text and libpcap's harmless "no IPv4 address" warning.
const WORKER_ENV = 'SHADOWIM_SENSOR_WORKER';
const NOISE = [/^Warning: .* - This may not actually work$/, /binding\.cc:\d+: .*Assertion .* failed\.?$/];

function supervise(argv: string[], device: string): Promise<number> {
  const { spawn } = require('node:child_process') as typeof import('node:child_process');
  const cli = require('node:path').join(__dirname, '..', '..', 'bin', 'shadowim.js');
  const child = spawn(process.execPath, [cli, 'sensor', ...argv], {
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    env: { ...process.env, [WORKER_ENV]: '1' },
  });
  let rest = '';
  child.stderr!.setEncoding('utf8');
  const pass = (line: string) => {
    if (!NOISE.some((re) => re.test(line))) process.stderr.write(line + '\n');
  };
  child.stderr!.on('data', (d: string) => {
    const lines = (rest + d).split('\n');
    rest = lines.pop()!;
    for (const l of lines) pass(l);
  });
  let signals = 0;
  const forward = (sig: NodeJS.Signals) => {
    // Ctrl-C also reaches the child directly (same process group); it ignores repeats while it stops
    if (++signals > 1) child.kill('SIGKILL');
    else child.kill(sig);
  };
  const onInt = () => forward('SIGINT');
  const onTerm = () => forward('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return new Promise((resolve) => {
    child.on('error', (e) => {
      process.stderr.write(`shadowim sensor: cannot start the capture process: ${e.message}\n`);
      resolve(1);
    });
    child.on('close', (code, signal) => {
      if (rest) pass(rest);
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      if (signal === 'SIGKILL' && signals > 1) {
        process.stderr.write('shadowim sensor: stopped without flushing (second signal)\n');
        return resolve(130);
      }
      if ((signal === 'SIGINT' || signal === 'SIGTERM') && signals) {
        process.stderr.write(`shadowim sensor: stopped on ${signal} before the capture started\n`);
        return resolve(0);
      }
      if (signal) {
        process.stderr.write(`shadowim sensor: the capture on '${device}' ended abruptly (${signal}): the interface went down or disappeared, which the cap binding cannot survive; sessions open then were not reported. Start the sensor again once ${device} is up (under a supervisor: restart on failure)\n`);
        return resolve(1);
      }
      resolve(code ?? 1);
    });
  });
}

interface RunOptions {
  device: string;
  filter?: string;
  snaplen: number;
  bufferSize: number;
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

async function runLive(o: RunOptions): Promise<number> {
  // heavy modules only in the capturing process (not in the supervisor, not for --help)
  const { PacketPath } = require('../../sensor/packetPath') as typeof import('../../sensor/packetPath');
  const { loadRegistry } = require('../../signatures/registry') as typeof import('../../signatures/registry');
  const { Engine } = require('../../signatures/engine') as typeof import('../../signatures/engine');
  const { buildPipeline } = require('../pipeline') as typeof import('../pipeline');
  const { isoTime } = require('../../common/events') as typeof import('../../common/events');
  // Assembled exactly as `analyze` assembles it, so both print the same events for the same traffic.
  const registry = loadRegistry();
  const pipeline = buildPipeline({ format: o.format, policyFile: o.policyFile, store: o.store, sensor: o.sensor, live: true });
  // (dashboard) --evidence-dir: a bounded per-flow packet ring in front of the packet path
  const evidence = o.evidenceDir ? evidenceFor(o.evidenceDir, o.store, o.sensor) : undefined;
  const engine = new Engine(registry, { emit: evidence ? evidence.wrapEmit(pipeline.emit) : pipeline.emit, sensor: o.sensor, files: pipeline.files });
  const sink = new PacketPath(engine, { maxFlows: o.maxFlows });
  const capture = new live.LiveCapture(evidence ? evidence.tee(sink) : sink, { device: o.device, filter: o.filter, snaplen: o.snaplen, bufferSize: o.bufferSize });
  const ifCounters = new live.InterfaceCounters(o.device);
  const started = Date.now();
  capture.start();
  const say = (line: string) => process.stderr.write(`shadowim sensor: ${line}\n`);
  const snapshot = () => ({
    device: o.device,
    filtered: Boolean(o.filter),
    seconds: (Date.now() - started) / 1000,
    live: capture.counters,
    sink: sink.counters,
    iface: ifCounters.delta(),
    events: pipeline.counts,
  });
  // the same fields analyze puts in its closing stats event; no `dropped`: it is not known (see live.ts)
  const statsEvent = () => {
    const c = sink.counters;
    pipeline.emit({ type: 'stats', ts: isoTime(capture.now()), packets: c.packets, bytes: c.bytes, malformed: c.malformed, flows: c.flows,
      ...(o.sensor ? { sensor: o.sensor } : {}) });
  };

  return new Promise<number>((resolve, reject) => {
    const timer = o.statsIntervalSec > 0
      ? setInterval(() => {
          capture.resyncClock();
          for (const l of live.formatCounters(snapshot(), false)) say(l);
          if (o.statsEvents) statsEvent();
        }, o.statsIntervalSec * 1000)
      : undefined;
    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return; // the supervisor forwards what the terminal also sent us; it alone escalates
      stopping = true;
      if (timer) clearInterval(timer);
      try {
        capture.stop();
        const activeAtStop = sink.counters.activeFlows;
        sink.finish(); // every open flow ends: its session event is printed now
        statsEvent(); // always, as analyze ends with one
        await pipeline.close(); // stdout flushed before the counters
        await evidence?.close(); // session pcaps still being written
        process.off('SIGINT', onInt);
        process.off('SIGTERM', onTerm);
        say(`stopped on ${signal} after ${((Date.now() - started) / 1000).toFixed(1)} s`);
        for (const l of live.formatCounters({ ...snapshot(), activeAtStop }, true)) say(l);
        resolve(0);
      } catch (e) {
        reject(e);
      }
    };
    const onInt = () => void stop('SIGINT');
    const onTerm = () => void stop('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
    // the supervisor is gone (killed): stop cleanly rather than capture on, unwatched
    process.on('disconnect', () => void stop('supervisor exit'));
    process.channel?.unref();
    // only now that a signal stops us cleanly: tests and scripts wait for this line
    say(`capturing on ${o.device} (${capture.linkName}${o.filter ? `, filter '${o.filter}'` : ''}); Ctrl-C to stop`);
    const ring = live.ringInfo();
    if (ring) {
      say(`kernel ring: ${ring.frames} packets of up to ${ring.frameSize} bytes (--buffer-size ${o.bufferSize >> 20} MiB)`);
      if (ring.frameSize > 16384 && o.device !== 'any') {
        say(`  ${o.device} has segmentation/receive offloads on, so libpcap reserves 64 KiB per packet; for ~40x more headroom: ethtool -K ${o.device} gro off gso off tso off lro off`);
      }
    }
  });
}

function intOption(v: unknown, name: string, min: number, max: number, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, not '${v}'`);
  return n;
}

function evidenceFor(dir: string, store: string | undefined, sensor: string | undefined) {
  const { getConfig } = require('../../common/config') as typeof import('../../common/config');
  const storePath = store ?? getConfig().store.path;
  if (!storePath) throw new UsageError('--evidence-dir needs a store to record the files in: add --store PATH (or set store.path)');
  const { liveEvidence } = require('../../dashboard/evidenceRing') as typeof import('../../dashboard/evidenceRing');
  return liveEvidence({ dir, store: storePath, sensor: sensor ?? getConfig().sensor.name });
}

// `shadowim analyze <capture|->`: reads a pcap/pcapng file (or standard input) through the packet path
// (decode → flows → reassembly) into the signature engine, and prints the events it finds.
// Events go to stdout; the summary (packets, flows, IM sessions, speed) goes to stderr.
import { count } from '../../common/count';
import type { Command } from '../main';
import { parseOrHelp, UsageError, type OptionSpec } from '../args';
import type { PipelineOptions } from '../pipeline';
import { makeNamedDir } from '../../common/makeDirs';
import { stderrLine } from '../../common/stderr';

const SPECS: OptionSpec[] = [
  { name: 'format', value: true, arg: 'jsonl|text', help: 'event output on stdout (default: jsonl, or text on a terminal)' },
  { name: 'policy', value: true, arg: 'FILE', config: 'policy', help: 'policy file for the analyzer (default: the built-in policy)' },
  { name: 'store', value: true, arg: 'PATH', help: 'also keep events in this SQLite store' },
  { name: 'out', value: true, arg: 'DIR', help: 'keep the files carved from transfers in DIR/quarantine (made if missing)' },
  { name: 'sensor', value: true, arg: 'NAME', help: 'sensor name recorded on every event' },
  { name: 'max-flows', value: true, arg: 'N', help: 'most flows tracked at once; beyond, the flow nearest its idle timeout is ended (default 200000)' },
  { name: 'threads', value: true, arg: '1|2', help: 'read the capture in a second thread (default: 2 on a machine with more than one CPU, for standard input, pipes and captures of 32 MiB or more)' },
  { name: 'quiet', short: 'q', help: 'no summary on stderr' },
  { name: 'help', short: 'h', help: 'show this help' },
];

const USAGE = 'shadowim analyze <capture|-> [--format jsonl|text] [--policy FILE] [--store PATH] [--out DIR] [--sensor NAME] [--max-flows N] [--threads 1|2]';
const DESCRIPTION = `Reads a capture file — classic pcap (micro- or nanosecond, either byte order) or pcapng (several
interfaces, mixed link types) — or '-' for standard input, and prints one event per finding: IM
sessions, messages, file transfers, credentials and alerts. Events go to stdout; a summary goes to
stderr. Exit status 0 when the capture was read to the end; 1 with a one-line reason when it is not a
capture or is truncated (every event found before that point is printed first); 2 for a bad option.`;

export const command: Command = {
  summary: 'read a pcap/pcapng capture (or stdin) and print the IM sessions, messages and alerts in it',
  async run(argv) {
    const args = parseOrHelp(argv, SPECS, 'analyze', USAGE, DESCRIPTION);
    if (!args) return 0;
    const { opts, positional } = args;
    if (positional.length === 0) throw new UsageError("analyze needs a capture file, or '-' for standard input; see 'shadowim analyze --help'");
    if (positional.length > 1) throw new UsageError(`analyze reads one capture at a time; got ${positional.length} (${positional.slice(0, 3).join(', ')}…)`);
    const file = positional[0];
    const format = (opts.format as string | undefined) ?? (process.stdout.isTTY ? 'text' : 'jsonl');
    if (format !== 'jsonl' && format !== 'text') throw new UsageError(`--format must be jsonl or text, not '${format}'`);
    let maxFlows: number | undefined;
    if (opts['max-flows'] !== undefined) {
      const s = String(opts['max-flows']);
      maxFlows = Number(s);
      if (!/^\d+$/.test(s) || maxFlows < 16 || maxFlows > 50_000_000) throw new UsageError(`--max-flows must be a whole number from 16 to 50000000, not '${s}'`);
    }
    let threads: number | undefined;
    if (opts.threads !== undefined) {
      const s = String(opts.threads);
      if (s !== '1' && s !== '2') throw new UsageError(`--threads must be 1 or 2, not '${s}'`);
      threads = Number(s);
    }
    if (file === '-' && require('node:tty').isatty(0)) throw new UsageError("'-' reads a capture from standard input, but that is a terminal; pipe a capture in (e.g. tcpdump -w - | shadowim analyze -)");

    // heavy modules only once the options are known to be good
    const { openCapture, nonBlockingPipe, gzipFile } = require('../../sensor/captureFile') as typeof import('../../sensor/captureFile');

    const started = process.hrtime.bigint();
    const sensor = opts.sensor as string | undefined;
    const popts: PipelineOptions = {
      format,
      policyFile: opts.policy as string | undefined,
      store: opts.store as string | undefined,
      sensor,
      source: file === '-' ? undefined : file,
      outDir: opts.out as string | undefined,
    };
    // a missing file is reported before any output is created; a pipe is read without blocking, so a
    // stop (SIGINT/SIGTERM) is seen while it is quiet
    const opened = openCapture(file);
    const fd = nonBlockingPipe(opened);
    // a pipe (tcpdump -w - | shadowim analyze -) can stay quiet for hours: what was found must not wait
    // in stdout's 64 KiB buffer for more traffic
    const st = require('node:fs').fstatSync(fd) as import('node:fs').Stats;
    popts.promptly = !st.isFile();
    if (opts.out) {
      makeNamedDir(opts.out as string, { label: '--out', hint: 'give a directory that exists or can be created', error: UsageError });
    }
    // the second thread costs ~0.1 s to start: worth it from a few hundred thousand packets (a gzip
    // file holds about ten times its size of capture)
    threads ??= require('node:os').availableParallelism() > 1 && (!st.isFile() || st.size * (gzipFile(fd) ? 8 : 1) >= 32 << 20) ? 2 : 1;
    // two threads: the worker starts reading while this one loads the signatures
    // SIGINT/SIGTERM: stop reading at the next chunk and end as at the end of the capture (open flows
    // ended, stats, store closed), exit 128+n; was: killed with up to 64 KiB of events and the store's
    // last batch unwritten. A second signal exits at once.
    const stop = new Int32Array(new SharedArrayBuffer(4));
    const thread = threads === 2 ? (require('../../sensor/captureThread') as typeof import('../../sensor/captureThread')).startCaptureThread(fd, { maxFlows }, undefined, stop) : undefined;
    // the rest loads while the worker boots (measured: the worker starts ~60 ms sooner, the first records arrive ~25-45 ms sooner)
    const { PacketPath, readCapture } = require('../../sensor/packetPath') as typeof import('../../sensor/packetPath');
    const { loadRegistry } = require('../../signatures/registry') as typeof import('../../signatures/registry');
    const { Engine } = require('../../signatures/engine') as typeof import('../../signatures/engine');
    const { buildPipeline } = require('../pipeline') as typeof import('../pipeline');
    const { isoTime } = require('../../common/events') as typeof import('../../common/events');
    const registry = loadRegistry();
    const pipeline = buildPipeline(popts);
    let closed = false;
    const engine = new Engine(registry, { emit: (ev) => closed || pipeline.emit(ev), sensor, files: pipeline.files, homeNets: pipeline.homeNets });
    const { stopCheck } = require('../../sensor/captureFile') as typeof import('../../sensor/captureFile');
    let hard: NodeJS.Timeout | undefined;
    const onSignal = (sig: NodeJS.Signals) => {
      const n = sig === 'SIGINT' ? 2 : 15;
      if (Atomics.load(stop, 0)) process.exit(128 + n);
      Atomics.store(stop, 0, n);
      // a worker blocked reading a quiet pipe (a socket: not made non-blocking) never sees the stop:
      // write out what was found and go
      hard = setTimeout(() => {
        closed = true;
        void pipeline.close().catch((e) => stderrLine(`shadowim: ${(e as Error).message}`)).finally(() => {
          stderrLine(`shadowim: ${file === '-' ? 'stdin' : file}: stopped on ${sig} while waiting for input; the sessions still open were not reported`);
          // by the signal itself: process.exit() would wait for the worker, which a blocked read keeps
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
          process.kill(process.pid, sig);
        });
      }, 2000).unref();
    };
    // one thread reading a blocking pipe (a socket) sleeps in read(), where no handler runs: there the
    // default (exit at once) stays
    if (thread || st.isFile() || fd !== opened) {
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
    }
    const { MemoryGuard } = require('../../sensor/memoryGuard') as typeof import('../../sensor/memoryGuard');
    // on two threads the worker holds the flow table and read buffer (~80 MB): this heap gets less
    const guard = new MemoryGuard(Number(process.env.SHADOWIM_HEAP_CEILING_MB ?? (thread ? 128 : 192)));
    let r: import('../../sensor/packetPath').CaptureRun;
    if (thread) {
      // the worker reads and reassembles; this thread runs the signatures and the analyzer
      const t = await thread.run(engine, () => guard.check());
      if (process.env.SHADOWIM_DEBUG) process.stderr.write(`shadowim: capture thread: ${t.ringWaits} waits on a full ring, ${t.internalErrors + t.inspectorErrors} internal errors\n`);
      r = t;
    } else {
      r = await readCapture(fd, new PacketPath(engine, { maxFlows }), () => {
        guard.check();
        stopCheck(stop);
        return new Promise<void>((resolve) => setImmediate(resolve));
      });
    }
    clearTimeout(hard);
    if (closed) return new Promise<number>(() => {}); // the signal's timer is closing and exits
    const { failure, counters: c, captureTime } = r;
    const recognised = r.format !== undefined;
    await pipeline.files?.drain(); // file verdicts (scans) before the closing stats event
    // the stats event is the last line: after the analyzer's end-of-run alert updates ("seen N times")
    await pipeline.close(recognised ? {
      // the newest packet's time; a capture without one has no time of its own: the run's (not 1970)
      type: 'stats', ts: isoTime(c.packets > 0 ? captureTime : Date.now() * 1000), packets: c.packets, bytes: c.bytes, malformed: c.malformed, flows: c.flows,
      ...(c.snapped ? { snapped: c.snapped } : {}),
      ...(c.unsupportedLink ? { unsupported_link: c.unsupportedLink } : {}),
      ...(sensor ? { sensor } : {}),
    } : undefined);
    const secs = Number(process.hrtime.bigint() - started) / 1e9;
    if (!opts.quiet && recognised) {
      const pps = secs > 0 ? Math.round(c.packets / secs) : 0;
      stderrLine(
        `shadowim: ${file === '-' ? 'stdin' : file}: ${count(c.packets, 'packet')}, ${fmtBytes(c.bytes)}, ${count(c.flows, 'flow')}` +
        `${c.evictedFlows ? ` (${c.evictedFlows} evicted)` : ''}, ${c.malformed} malformed, ${snapNote(c.snapped)}${c.badTimestamps ? `${c.badTimestamps} with impossible timestamps, ` : ''}${c.badLengths ? `${c.badLengths} with impossible original lengths, ` : ''}${c.skipped} not TCP/UDP, ${unsupportedNote(c.unsupportedLink, c.unsupportedLinkTypes)}${c.tunneled ? `${c.tunneled} inside tunnels, ` : ''}` +
        `${count(engine.stats.imSessions, 'IM session')}` +
        // a decoder that threw is a bug of ours (its flow was given up, the rest of the capture read)
        `${engine.stats.decoderErrors ? `, ${count(engine.stats.decoderErrors, 'decoder error')} (a bug in shadowim: SHADOWIM_DEBUG=1 shows them; please report it)` : ''}` +
        // (files) carves, and transfers beyond the concurrent-carve bounds (counted, not carved)
        `${engine.stats.filesCarved ? `, ${count(engine.stats.filesCarved, 'file')} carved` : ''}${engine.stats.filesNotCarved ? ` (${engine.stats.filesNotCarved} more not carved: too many at once)` : ''}` +
        ` in ${secs.toFixed(2)} s (${pps.toLocaleString('en-US')} packets/s)`,
      );
    }
    if (process.env.SHADOWIM_DEBUG) process.stderr.write(`shadowim: memory guard: ${guard.collections} full collections; ${engine.stats.decoderErrors} decoder errors\n`);
    if (failure) {
      stderrLine(`shadowim: ${file === '-' ? 'stdin' : file}: ${failure}`);
      const sig = Atomics.load(stop, 0);
      return sig ? 128 + sig : 1;
    }
    return 0;
  },
};

/** frames the snaplen cut: what it means for the messages, and what to do */
function snapNote(n: number): string {
  return n ? `${n} cut by the capture's snapshot length (their payload is missing; capture with tcpdump -s 0 to read it), ` : '';
}

/** frames of link types the decoder does not read: which, and what it reads */
function unsupportedNote(n: number, types: number[]): string {
  if (!n) return '';
  const { linktypeLabel, READABLE_LINKS } = require('../../sensor/decode') as typeof import('../../sensor/decode');
  return `${n} of link type${types.length > 1 ? 's' : ''} ${types.map(linktypeLabel).join(', ')}, which shadowim does not read (it reads ${READABLE_LINKS}), `;
}

function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1 << 20) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1 << 30) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  return `${(n / (1 << 30)).toFixed(2)} GiB`;
}

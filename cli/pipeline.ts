// Where events go after the signatures: analyzer (policy, DLP, alerts) → outputs (stdout, store, sinks).
// `analyze` and `sensor` both build their outputs here, so a capture and a live interface behave alike.

import type { EventSink, ShadowEvent } from '../common/events';
import { keepRunningWithoutStdout, stdoutClosed } from './stdout';
import { escapeControl, stderrLine } from '../common/stderr';
import { cidrText } from '../analyzer/cidr';
import { Fanout } from './fanout';

export interface PipelineOptions {
  format: 'jsonl' | 'text';
  /** policy file (analyzer); undefined = the default policy */
  policyFile?: string;
  /** SQLite store path; undefined = no store */
  store?: string;
  sensor?: string;
  /** analyze --out DIR: where carved files and reports are written; undefined = nowhere */
  outDir?: string;
  /** live capture: events leave stdout as they happen, not in 64 KiB batches */
  live?: boolean;
  /** analyze from a pipe: events leave stdout as they are found (as `live`, for stdout only) */
  promptly?: boolean;
  /** (dashboard) the capture file the events come from (analyze FILE): recorded with the stored sessions for pcap evidence */
  source?: string;
}

export interface Pipeline {
  emit(ev: ShadowEvent): void;
  /** `last` (the closing stats event) goes out after everything the analyzer still holds (repeat counts) */
  close(last?: ShadowEvent): Promise<void>;
  counts: Record<string, number>;
  /** (files) carved files go here for scanning and quarantine: pass as EngineOptions.files */
  files?: import('../analyzer/files').FileService;
  /** the policy's home networks: pass as EngineOptions.homeNets, so an event's direction agrees with its alerts */
  homeNets: string[];
}

export function buildPipeline(opts: PipelineOptions): Pipeline {
  const counts: Record<string, number> = {};
  const outputs: EventSink[] = [opts.format === 'jsonl' ? new JsonlWriter(process.stdout, opts.live || opts.promptly) : new TextWriter(process.stdout)];
  const outs = new Fanout(outputs);
  const fanout: EventSink = {
    write(ev) {
      counts[ev.type] = (counts[ev.type] ?? 0) + 1;
      outs.write(ev);
    },
  };
  // What reads a file the user wrote (the policy; the links, files and sinks sections) comes first: a
  // mistake there throws before the store and InfluxDB outputs are opened, whose retries and threads
  // would keep the process alive after the error line (was: a bad --policy with influx.url set hung).
  // (analyzer) the policy, read before the sinks: they warn of groups it does not have
  const analyzer = require('../analyzer') as typeof import('../analyzer');
  const policy = opts.policyFile ? analyzer.loadPolicyFile(opts.policyFile) : analyzer.defaultPolicy();
  // what policy check warns of (a protocol id no signature reports) is said where the policy is used, too
  const { policyWarnings } = require('../analyzer/explain') as typeof import('../analyzer/explain');
  for (const w of policyWarnings(policy)) stderrLine(escapeControl(`shadowim: policy ${policy.source}: warning: ${w}`));
  // (analyzer) the analyzer wraps `fanout` here: it forwards every event and adds alerts.
  const head: EventSink = analyzer.createAnalyzer(fanout, { policy, live: opts.live });
  // (files) carved files are fingerprinted and scanned before their event reaches the analyzer (docs/files.md)
  const files = (require('../analyzer/files') as typeof import('../analyzer/files')).createFileService({ policy, emit: (ev) => head.write(ev), outDir: opts.outDir });
  const { getConfig } = require('../common/config') as typeof import('../common/config');
  const sinks = getConfig().extra.sinks;
  const sinksModule = sinks === undefined || sinks === null ? undefined : (require('../outputs/sinks') as typeof import('../outputs/sinks'));
  sinksModule?.sinksConfig(); // the sinks section checked here; its outbox is opened after the store, as before
  // (storage) the SQLite store (--store or config store.path) and InfluxDB (config influx.url) sinks, placed
  // before stdout so an alert is committed before it is printed (docs/storage.md "Durability").
  outputs.unshift(...(require('../storage') as typeof import('../storage')).storageSinks({ store: opts.store, sensor: opts.sensor }));
  // (dashboard) which capture file each stored session came from, so its packets can be extracted later
  // The dashboard and sinks modules (~10 ms to load) only when they can have work: the tests below are
  // the ones sourceRecorder and alertDelivery start with (no store / no `sinks` section: undefined).
  let rec: EventSink | undefined;
  if (opts.source && (opts.store ?? getConfig().store.path) && opts.source !== '-') {
    rec = (require('../dashboard/sources') as typeof import('../dashboard/sources')).sourceRecorder({ store: opts.store, source: opts.source, sensor: opts.sensor });
    if (rec) outputs.unshift(rec);
  }
  // (sinks) alerts bound for SIEMs are committed to the outbox before they are printed, then delivered
  const delivery = sinksModule?.alertDelivery({ store: opts.store, policy: { groups: policy.groups.map((g) => g.name), source: policy.source } });
  if (delivery) outputs.splice(outputs.length - 1, 0, delivery);
  // stdout is the last output: anything before it keeps the run going when stdout's reader goes away
  if (outputs.length > 1) keepRunningWithoutStdout();
  return {
    emit: (ev) => head.write(ev),
    counts,
    files,
    homeNets: policy.homeNets.map(cidrText),
    async close(last) {
      await files.close(); // scans still running finish (bounded by files.drain_timeout) before the analyzer closes
      if (head !== fanout) await head.close?.();
      if (last) fanout.write(last);
      // the source recorder writes the store through a second connection: last, once the store's
      // worker has committed its backlog (else it can wait out SQLite's busy timeout)
      // each output closed even when one before it fails: stdout is flushed whatever the store did
      await outs.close(outputs.filter((o) => o !== rec));
      if (rec) await outs.close([rec]);
      const failures = outs.failures();
      for (const l of failures.slice(1)) stderrLine(`shadowim: ${l}`);
      if (failures.length) throw new Error(failures[0]);
    },
  };
}

/**
 * Writers with lines still buffered, flushed when the process exits without closing them (a second
 * Ctrl-C exits at once): the alerts found last are the likeliest to be buffered, and the outbox's exit
 * line names standard output as the copy that has them. One listener for all writers.
 */
const unflushed = new Set<JsonlWriter>();
let exitHook = false;
function flushAtExit(w: JsonlWriter): void {
  unflushed.add(w);
  if (exitHook) return;
  exitHook = true;
  process.on('exit', () => {
    for (const x of unflushed) x.flush();
  });
}

/** One JSON object per line on stdout, buffered (a capture can yield millions of events). */
export class JsonlWriter implements EventSink {
  private buf: string[] = [];
  private size = 0;
  private scheduled = false;
  /** immediate: flush once per event-loop turn (live capture) instead of every 64 KiB */
  constructor(private readonly out: NodeJS.WritableStream, private readonly immediate = false) {
    flushAtExit(this);
  }
  write(ev: ShadowEvent): void {
    const line = JSON.stringify(ev) + '\n';
    this.buf.push(line);
    this.size += line.length;
    if (this.size > 1 << 16) this.flush();
    else if (this.immediate && !this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.flush();
      });
    }
  }
  flush(): void {
    if (!this.buf.length) return;
    if (stdoutClosed()) {
      this.buf = [];
      this.size = 0;
      return;
    }
    this.out.write(this.buf.join(''));
    this.buf = [];
    this.size = 0;
  }
  close(): Promise<void> {
    this.flush();
    unflushed.delete(this);
    return new Promise((resolve) => {
      // a closed stdout never drains
      if ((this.out as any).writableNeedDrain && !stdoutClosed()) this.out.once('drain', () => resolve());
      else resolve();
    });
  }
}

/** A short human line per event. Text from the wire is escaped: no control characters reach the terminal. */
export class TextWriter implements EventSink {
  constructor(private readonly out: NodeJS.WritableStream) {}
  write(ev: ShadowEvent): void {
    const e = ev as any;
    // the tunnel zone (two tenants may share an address), only when the flow was in one
    const z = e.zone ? ` zone=${e.zone}` : '';
    let line: string;
    switch (ev.type) {
      case 'session':
        line = `${e.ts} SESSION ${e.protocol}${e.encrypted ? ' (encrypted)' : ''} ${e.client.ip}:${e.client.port} -> ${e.server.ip}:${e.server.port}${z} users=[${e.users.join(', ')}] ${e.packets} pkts ${e.bytes} B`;
        break;
      case 'message':
        line = `${e.ts} MESSAGE ${e.protocol}${z} ${e.from} -> ${e.to}: ${e.text}`;
        break;
      case 'file_transfer':
        line = `${e.ts} FILE ${e.protocol}${z} ${e.from} -> ${e.to}: ${e.filename}${e.size !== undefined ? ` (${e.size} B)` : ''}`;
        // (files) carved: true type, bytes seen and the scan verdict
        if (e.stage === 'data') line += ` [${e.file_type ?? '?'}, ${e.observed_size ?? 0} B${e.complete ? '' : ' incomplete'}${e.verdict ? `, ${e.verdict}` : ''}${e.sha256 ? `, sha256 ${e.sha256.slice(0, 16)}…` : ''}]`;
        break;
      case 'alert':
        line = `${e.ts} ALERT ${e.severity.toUpperCase()} ${e.kind}${z}: ${e.summary}`;
        break;
      case 'credential':
        line = `${e.ts} CREDENTIAL ${e.protocol}${z} ${e.user} (${e.mechanism})`;
        break;
      default:
        line = `${e.ts} ${e.type.toUpperCase()} ${JSON.stringify(e)}`;
    }
    if (!stdoutClosed()) this.out.write(escapeControl(line) + '\n');
  }
}

export { escapeControl };

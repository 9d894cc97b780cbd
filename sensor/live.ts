// Live capture from a network interface through the `cap` binding (libpcap). LiveCapture feeds raw
// frames with their link type into a sink; `shadowim sensor` runs it in a capture process of its own
// (runCaptureProcess) whose sink is the bounded queue of the frame stream (frameStream.ts) to the
// analysis process. Nothing is decoded here: the packet path decodes every link type itself (cap
// cannot decode the Linux cooked frames of device `any`).
//
// What cap gives and does not give (node_modules/cap/src/binding.cc, cap 0.2.1):
// - one JS callback per packet, with the byte count only: no capture timestamp and no wire length, so
//   timestamps are taken from the clock at the callback and the wire length is the captured length;
// - the frame is copied into ONE buffer we pass to open(), reused for every packet: the sink must be done
//   with it when its call returns;
// - libpcap's snaplen is fixed at 65535 and truncation happens at our buffer's length, so our
//   buffer's length is the effective snaplen;
// - cap's poll callback loops over pcap_dispatch(…, 1) while packets keep coming: the event loop of
//   the capturing thread does not run during a burst (hence the writer thread in frameStream.ts);
// - no pcap_stats(): libpcap's drop counters are unreachable from JS. See InterfaceCounters for what
//   the kernel reports per interface instead; the queue in front of the analysis counts its own drops.

import { count } from '../common/count';
import fs from 'node:fs';
import type { PacketSink, SensorCounters } from './types';
import type { FrameSink } from './captureFile';
import { FrameQueue, WorkerWriter, type CaptureCounters } from './frameStream';
import { LINKTYPES as LINKTYPES_READ, READABLE_LINKS, describeLinktype } from './decode';

/** Thrown for everything a user can cause (bad interface, filter, permission, missing libpcap). One line. */
export class LiveError extends Error {}

interface CapInstance {
  open(device: string, filter: string, bufSize: number, buffer: Buffer): string;
  close(): boolean;
  on(ev: 'packet', cb: (nbytes: number, truncated: boolean) => void): void;
  removeAllListeners(ev?: string): void;
}
interface CapModule {
  Cap: { new (): CapInstance; deviceList(): { name: string; description?: string }[] };
}

export const INSTALL_HINT = "live capture needs libpcap and the 'cap' module built against it: run 'apt-get install libpcap-dev' then 'npm rebuild cap'";

let capModule: CapModule | undefined;
/** Loads cap lazily: every other command works without it. */
export function loadCap(): CapModule {
  if (capModule) return capModule;
  try {
    capModule = require('cap') as CapModule;
  } catch {
    throw new LiveError(INSTALL_HINT);
  }
  return capModule;
}

/** cap's link type names (see binding.cc) → pcap LINKTYPE_* numbers. */
const LINKTYPES: Record<string, number> = {
  NULL: 0,
  ETHERNET: 1,
  RAW: 101,
  IEEE802_11_RADIO: 127,
  LINKTYPE_LINUX_SLL: 113,
};

export function linktypeNumber(name: string): number | undefined {
  if (name in LINKTYPES) return LINKTYPES[name];
  // cap reports others as "Unknown linktype N": N is a DLT_ value, equal to LINKTYPE_ for the common ones
  const m = /^Unknown linktype (\d+)$/.exec(name);
  if (!m) return undefined;
  // on Linux the DLT_ values cap leaves unnamed (e.g. 276, Linux cooked v2) equal the LINKTYPE_ values
  return Number(m[1]);
}

export interface LiveOptions {
  /** an interface, 'any', or several interfaces separated by commas (the two ports of a tap) */
  device: string;
  /** BPF filter expression; empty = everything */
  filter?: string;
  /** bytes kept per frame (the reusable buffer's length), at most 65535 (libpcap's snaplen in cap) */
  snaplen?: number;
  /** libpcap capture buffer, bytes */
  bufferSize?: number;
}

export interface LiveCounters {
  /** frames delivered to us by libpcap */
  received: number;
  /** bytes of those frames (as captured) */
  bytes: number;
  /** frames cut by the snaplen (our buffer's length) */
  truncated: number;
}

// A cap object whose open() failed must never be closed or garbage-collected: its destructor closes it,
// which stops a libuv poll handle that was never started (measured: segfault at the next GC, or an abort
// when open() is retried on it). They are few (one per failed attempt), so they are kept for good.
const failedCaps: CapInstance[] = [];

function tryOpen(cap: CapModule, device: string, filter: string, bufSize: number, buf: Buffer): { c: CapInstance; name: string } | { error: string } {
  const c = new cap.Cap();
  try {
    return { c, name: c.open(device, filter, bufSize, buf) };
  } catch (e) {
    failedCaps.push(c);
    return { error: errMessage(e) };
  }
}

export const DEFAULT_SNAPLEN = 65535;
export const DEFAULT_BUFFER_MB = 64;

/** The interfaces of a --interface value: one name, 'any', or several names separated by commas. */
export function deviceList(device: string): string[] {
  const list = device.split(',').map((d) => d.trim());
  if (list.some((d) => !d)) throw new LiveError(`--interface '${device}' has an empty name in its list (names are separated by commas: eth1,eth2)`);
  if (list.length > 1 && list.includes('any')) throw new LiveError("'any' already captures every interface: name it alone, or list the interfaces without it");
  if (new Set(list).size !== list.length) throw new LiveError(`--interface '${device}' names an interface twice`);
  if (list.length > MAX_DEVICES) throw new LiveError(`--interface names ${list.length} interfaces; at most ${MAX_DEVICES}`);
  return list;
}

const MAX_DEVICES = 16;

/**
 * One live capture, of one interface or of several merged into one stream (the two monitor ports of a
 * passive tap carry one direction each). A new cap object per open() attempt: reusing one after a
 * failed open aborts the process.
 */
export class LiveCapture {
  readonly counters: LiveCounters = { received: 0, bytes: 0, truncated: 0 };
  /** the first interface's link type; each frame carries its own */
  linktype = -1;
  linkName = '';
  private caps: CapInstance[] = [];
  private readonly snaplen: number;
  private clockBase = 0;
  private lastTs = 0;

  constructor(private readonly sink: (PacketSink & Partial<FrameSink>) | FrameSink, readonly opts: LiveOptions) {
    this.snaplen = Math.max(64, Math.min(65535, opts.snaplen ?? DEFAULT_SNAPLEN));
  }

  /** Opens the interfaces and starts delivering frames to the sink. Throws LiveError with one line. */
  start(): void {
    const cap = loadCap();
    const devices = deviceList(this.opts.device);
    const filter = this.opts.filter ?? '';
    const bufSize = this.opts.bufferSize ?? DEFAULT_BUFFER_MB * 1024 * 1024;
    // Checked first so that an unknown name does not reach libpcap (which also prints a stray warning).
    let names: string[] = [];
    try {
      names = cap.Cap.deviceList().map((d) => d.name);
    } catch {
      /* listing failed: let open() report */
    }
    for (const device of devices) {
      if (names.length && !names.includes(device)) {
        throw new LiveError(`no interface named '${device}' here; available: ${names.slice(0, 12).join(', ')}${names.length > 12 ? ', …' : ''}`);
      }
    }
    const opened: Array<{ c: CapInstance; lt: number; name: string; buf: Buffer }> = [];
    const fail = (e: LiveError): never => {
      for (const o of opened) o.c.close();
      throw e;
    };
    for (const device of devices) {
      // a buffer per interface: each cap object copies its frames into its own
      const buf = Buffer.alloc(this.snaplen);
      const r = tryOpen(cap, device, filter, bufSize, buf);
      if ('error' in r) fail(this.explainOpenError(cap, device, filter, bufSize, r.error));
      const { c, name } = r as { c: CapInstance; name: string };
      const lt = linktypeNumber(name);
      if (lt === undefined) {
        c.close();
        fail(new LiveError(`interface '${device}' has a link type the sensor cannot read (${name})`));
      }
      if (!(lt! in LINKTYPES_READ)) {
        // every frame would be counted as of an unsupported link type: say so now, not in the counters
        c.close();
        fail(new LiveError(`interface '${device}' has ${describeLinktype(lt!)}, which the sensor does not read (it reads ${READABLE_LINKS}): capture on a wired span port or tap`));
      }
      opened.push({ c, lt: lt!, name, buf });
    }
    this.caps = opened.map((o) => o.c);
    this.linktype = opened[0].lt;
    this.linkName = [...new Set(opened.map((o) => o.name))].join(', ');
    this.resyncClock();
    for (const o of opened) this.listen(o.c, o.lt, o.buf);
  }

  private listen(c: CapInstance, lt: number, buf: Buffer): void {
    const sink = this.sink, counters = this.counters;
    // frame() takes (buffer, offset, length): no Buffer view allocated per packet
    const frame = 'frame' in sink && typeof sink.frame === 'function' ? sink.frame.bind(sink) : undefined;
    const packet = 'packet' in sink ? sink.packet.bind(sink) : undefined;
    c.on('packet', (nbytes: number, truncated: boolean) => {
      counters.received++;
      counters.bytes += nbytes;
      if (truncated) counters.truncated++;
      // cap passes no timestamp: the clock at delivery (the monotonic clock, anchored to wall time),
      // never behind the previous frame's even when a resync or a wall-clock step moves the anchor back
      let ts = this.clockBase + Math.floor(performance.now() * 1000);
      if (ts < this.lastTs) ts = this.lastTs;
      else this.lastTs = ts;
      // cap passes no wire length either; a truncated frame's true length is unknown (the decoder sees the IP length)
      if (frame) frame(lt, ts, buf, 0, nbytes, nbytes);
      else packet!(lt, ts, buf.subarray(0, nbytes), nbytes);
    });
  }

  /** Keeps the capture clock on wall time over long runs (the monotonic clock drifts from it slowly). */
  resyncClock(): void {
    this.clockBase = Date.now() * 1000 - Math.floor(performance.now() * 1000);
  }

  /** Microseconds since the epoch on the capture clock. */
  now(): number {
    return this.clockBase + Math.floor(performance.now() * 1000);
  }

  /** Stops the capture; frames still in libpcap's buffers are discarded by libpcap. */
  stop(): void {
    const caps = this.caps;
    this.caps = [];
    for (const c of caps) {
      c.removeAllListeners('packet');
      c.close();
    }
  }

  get running(): boolean {
    return this.caps.length > 0;
  }

  private explainOpenError(cap: CapModule, device: string, filter: string, bufSize: number, msg: string): LiveError {
    if (/permitted|permission|denied/i.test(msg)) {
      return new LiveError(`no permission to capture on '${device}' (${msg}): run as root or give node CAP_NET_RAW (systemd: AmbientCapabilities=CAP_NET_RAW; see docs/live.md)`);
    }
    if (/no such device/i.test(msg)) return new LiveError(`no interface named '${device}' here (${msg})`);
    if (/is down|not up/i.test(msg)) return new LiveError(`interface '${device}' is down: bring it up (ip link set ${device} up)`);
    if (filter) {
      // libpcap compiles the filter after opening the device: open again without it (a NEW cap object,
      // see above) to tell a bad filter from a device problem.
      const probe = tryOpen(cap, device, '', Math.min(bufSize, 1 << 20), Buffer.alloc(64));
      if (!('error' in probe)) {
        probe.c.close();
        return new LiveError(`bad --filter '${oneLine(filter)}': ${msg}`);
      }
    }
    return new LiveError(`cannot capture on '${device}': ${msg}`);
  }
}

function errMessage(e: unknown): string {
  return oneLine(e instanceof Error ? e.message : String(e));
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim().slice(0, 300);
}

/**
 * The kernel's own counters for an interface (/sys/class/net/IF/statistics), as differences since
 * start. Not libpcap's drops (cap cannot report those): rx_dropped counts frames the interface/driver
 * dropped before any socket saw them; rx_packets + tx_packets is what the interface carried, which,
 * without a filter, bounds what the sensor could have received.
 */
export class InterfaceCounters {
  private base: Record<string, number> | undefined;
  constructor(readonly device: string) {
    this.base = this.read();
  }

  get available(): boolean {
    return this.base !== undefined;
  }

  /** the counters now, summed over the interfaces of a list */
  read(): Record<string, number> | undefined {
    const out: Record<string, number> = { rx_packets: 0, tx_packets: 0, rx_dropped: 0, rx_missed_errors: 0, carried: 0 };
    for (const dev of this.device.split(',')) {
      if (dev === 'any' || !/^[\w.:@-]+$/.test(dev)) return undefined;
      const dir = `/sys/class/net/${dev}/statistics`;
      try {
        const n: Record<string, number> = {};
        for (const k of ['rx_packets', 'tx_packets', 'rx_dropped', 'rx_missed_errors']) out[k] += n[k] = Number(fs.readFileSync(`${dir}/${k}`, 'utf8').trim());
        // a loopback device counts each frame twice, sent and received, and the capture sees it once
        const loopback = fs.readFileSync(`/sys/class/net/${dev}/type`, 'utf8').trim() === '772'; // ARPHRD_LOOPBACK
        out.carried += n.rx_packets + (loopback ? 0 : n.tx_packets);
      } catch {
        return undefined;
      }
    }
    return out;
  }

  /** counter increases since construction, or undefined where /sys has no statistics for the device */
  delta(): Record<string, number> | undefined {
    const now = this.read();
    if (!now || !this.base) return undefined;
    const d: Record<string, number> = {};
    for (const k of Object.keys(now)) d[k] = now[k] - (this.base[k] ?? 0);
    return d;
  }
}

export interface CounterSnapshot {
  device: string;
  /** a BPF filter was set (then interface totals say nothing about loss) */
  filtered: boolean;
  seconds: number;
  live: LiveCounters;
  sink: SensorCounters;
  iface: Record<string, number> | undefined;
  events: Record<string, number>;
  /** flows still open when the capture stopped (ended by finish()) */
  activeAtStop?: number;
  /** the capture process's queue in front of the analysis */
  queue?: Pick<CaptureCounters, 'queueDropped' | 'queueDroppedBytes' | 'queued' | 'queuePeak' | 'queueLimit'>;
}

export const DROPS_UNKNOWN = 'dropped: unknown (the cap binding exposes no libpcap statistics)';

const mib = (n: number) => (n % (1 << 20) ? (n / (1 << 20)).toFixed(1) : String(n / (1 << 20)));

/** The counters as stderr lines: one line periodically, a block at exit. Nothing estimated is unlabelled. */
export function formatCounters(s: CounterSnapshot, final: boolean): string[] {
  const l = s.live, c = s.sink, q = s.queue;
  const ev = Object.entries(s.events).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
  const ifaceNote = s.iface ? `; interface ${s.device} rx_dropped +${s.iface.rx_dropped}` : '';
  if (!final) {
    const queueNote = q ? `, queue dropped ${q.queueDropped} (${mib(q.queued)} MiB waiting)` : '';
    return [`${s.seconds.toFixed(0)} s: received ${l.received} packets (${l.bytes} bytes), ${DROPS_UNKNOWN}${queueNote}${ifaceNote}; flows ${c.flows} (${c.activeFlows} open), malformed ${c.malformed}; events: ${ev}`];
  }
  const out = [
    `received: ${l.received} packets, ${l.bytes} bytes (cut by snaplen: ${l.truncated})`,
    DROPS_UNKNOWN,
  ];
  if (q) {
    out.push(`queue: ${q.queueDropped} packets dropped (${q.queueDroppedBytes} bytes)${q.queueDropped ? ': the analysis fell' : ': the analysis never fell'} more than the queue's ${mib(q.queueLimit)} MiB behind the capture; peak ${mib(q.queuePeak)} MiB`);
  }
  if (s.iface) {
    const i = s.iface;
    out.push(`interface ${s.device} kernel counters while the sensor ran: rx_packets +${i.rx_packets}, tx_packets +${i.tx_packets}, rx_dropped +${i.rx_dropped}, rx_missed_errors +${i.rx_missed_errors}`);
    if (!s.filtered) {
      const missing = Math.max(0, i.carried - l.received);
      out.push(`not received: ${missing} of the ${i.carried} frames the interface carried (an upper bound on capture loss: the kernel counters span slightly more time than the capture)`);
    }
  } else {
    out.push(`interface counters: unavailable for '${s.device}'`);
  }
  out.push(`decoded: ${count(c.packets, 'packet')}, ${count(c.flows, 'flow')} (${s.activeAtStop ?? c.activeFlows} open at stop, ended then), ${c.malformed} malformed, ${c.skipped} not TCP/UDP over IP, ${c.evictedFlows} flows evicted, ${c.fragmentsDropped} fragments dropped${c.tunneled ? `, ${c.tunneled} inside tunnels` : ''}`);
  out.push(`events: ${ev}`);
  return out;
}

export interface RingInfo {
  frameSize: number;
  frames: number;
}

/**
 * The kernel ring libpcap set up for this process's packet socket, read with `ss` (iproute2): how many
 * packets it can hold while JavaScript is busy. With GRO/GSO/TSO/LRO on, libpcap gives every slot the
 * full 64 KiB snaplen (cap fixes it), so a 64 MiB buffer holds only ~1000 packets; with them off, slots
 * are MTU-sized (~40× more). Undefined when ss is missing or says nothing recognisable.
 */
export function ringInfo(pid = process.pid): RingInfo | undefined {
  const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
  const r = spawnSync('ss', ['-0', '-e', '-m', '-a', '-n', '-p'], { encoding: 'utf8', timeout: 3000 });
  if (r.status !== 0 || !r.stdout) return undefined;
  const blocks = r.stdout.split(/\n(?=\S)/);
  for (const b of blocks) {
    if (!b.includes(`pid=${pid},`)) continue;
    const m = /ring_rx\([^)]*frm_size:(\d+),frm_nr:(\d+)/.exec(b);
    if (m) return { frameSize: Number(m[1]), frames: Number(m[2]) };
  }
  return undefined;
}

/** What the capture process tells the analysis process over the IPC channel (frames go through the pipe). */
export type CaptureMessage =
  | { type: 'started'; linkName: string; linktype: number; ring?: RingInfo }
  | { type: 'counters'; counters: CaptureCounters };

export interface CaptureProcessOptions extends LiveOptions {
  /** bytes the queue in front of the analysis may hold */
  queueSize: number;
  /** the pipe to the analysis process */
  fd: number;
}

/**
 * The capture process of `shadowim sensor`: captures only. Frames go into the bounded queue and on
 * through the pipe `fd`; counters go to `send` twice a second. SIGINT/SIGTERM (or the analysis process
 * going away): the capture stops, the queue is written out with the counters last, the pipe is
 * closed. Resolves with the exit status once that is done. Throws LiveError when the capture cannot start.
 */
export async function runCaptureProcess(o: CaptureProcessOptions, send: (m: CaptureMessage) => void): Promise<number> {
  let stop: ((why: string) => void) | undefined;
  const writer = new WorkerWriter(o.fd, () => stop?.('write failed'));
  // cap wakes this thread for nearly every packet while it keeps up (libpcap in immediate mode, one
  // epoll wake-up and one JS call per packet). While packets keep coming, it naps 1 ms after each burst
  // instead, so that the next wake-up takes everything the kernel ring gathered meanwhile (measured:
  // wake-ups and CPU per packet down several-fold); the ring holds far more than 1 ms of packets.
  // When a nap brought nothing, it stops napping and waits for packets as usual. Also with the small
  // ring of offloads on (1023 slots: 7 ms at 150 kpps), where it lost less than waking at once (measured).
  const napFor = new Int32Array(new SharedArrayBuffer(4));
  let napping = false;
  let seen = 0;
  let stopping = false;
  const tick = () => {
    if (stopping) return;
    queue.flushIfDue(capture.now());
    if (queue.counters.received === seen) {
      napping = false;
      queue.flush(); // quiet: what is there goes to the analysis now
      return;
    }
    seen = queue.counters.received;
    Atomics.wait(napFor, 0, 0, 1);
    setImmediate(tick);
  };
  const onBatchStart = () => {
    if (napping) return;
    napping = true;
    seen = -1; // the first tick naps: a packet alone in its burst is the usual start
    setImmediate(tick);
  };
  const queue = new FrameQueue(writer, { limit: o.queueSize, onBatchStart });
  const capture = new LiveCapture(queue, o);
  try {
    capture.start();
  } catch (e) {
    await writer.close();
    throw e;
  }
  const counters = (): CaptureCounters => ({ ...queue.snapshot(), truncated: capture.counters.truncated });
  const ring = ringInfo(); // read here, where the packet socket is
  send({ type: 'started', linkName: capture.linkName, linktype: capture.linktype, ring });
  const report = setInterval(() => send({ type: 'counters', counters: counters() }), 500);
  const resync = setInterval(() => capture.resyncClock(), 10_000);
  // a second without frames: tell the analysis the time, so that flows idle or closed on a quiet link
  // end (and their sessions are printed) on time rather than at the next packet
  let framesAtClock = -1;
  const clock = setInterval(() => {
    if (queue.counters.received === framesAtClock) queue.clock(capture.now());
    framesAtClock = queue.counters.received;
  }, 1000);
  return new Promise<number>((resolve) => {
    stop = (why: string) => {
      if (stopping) return; // the analysis process forwards what the terminal also sent us
      stopping = true;
      clearInterval(report);
      clearInterval(resync);
      clearInterval(clock);
      capture.stop();
      queue.end(capture.now());
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      void writer.close().then(() => resolve(writer.error && why !== 'analysis exit' ? 1 : 0));
    };
    const onInt = () => stop!('SIGINT');
    const onTerm = () => stop!('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
    process.on('disconnect', () => stop!('analysis exit'));
  });
}

// Evidence for live sessions (`shadowim sensor --evidence-dir DIR`): the sensor keeps the first packets
// of every flow in memory, bounded per flow and in total, and when the flow turns out to be an IM
// session (its session event) writes them to DIR/<flow>.pcap and records that file as the session's
// source, so the dashboard's pcap download works for live traffic as it does for captures.
//
// Packet path cost: one extra decode of the headers (no allocation), a numeric 5-tuple hash and a copy of
// the frame into a per-flow 64 KiB slab; no per-packet objects or string keys. Flows that never become
// sessions are dropped after 15 minutes without packets, or oldest first when the total is reached.

import fs from 'node:fs';
import path from 'node:path';
import type { FrameSink } from '../sensor/captureFile';
import { Decoder } from '../sensor/decode';
import type { ShadowEvent } from '../common/events';
import { makeDirs } from '../common/makeDirs';

export interface EvidenceRingOptions {
  dir: string;
  /** bytes kept per flow (pcap records), default 2 MiB: the start of the flow (login, first messages) */
  perFlowBytes?: number;
  /** bytes kept over all flows, default 64 MiB */
  maxBytes?: number;
  /** a flow without packets this long (µs of capture time) is forgotten; default 15 min */
  idleMicros?: number;
  /** where the session → file rows go (the store) */
  record?: (row: { sensor: string; flow_id: string | null; client_ip: string; client_port: number; server_ip: string; server_port: number; start_ms: number; source: string }) => void;
  sensor?: string;
}

const SLAB = 64 * 1024;

interface Flow {
  /** endpoint A (the lower) address bytes and port, endpoint B, protocol — to tell hash collisions apart */
  a: Buffer;
  pa: number;
  b: Buffer;
  pb: number;
  proto: number;
  slabs: Buffer[];
  /** bytes used in each slab but the last */
  ends: number[];
  /** bytes used in the last slab */
  used: number;
  bytes: number;
  packets: number;
  linktype: number;
  last: number;
  full: boolean;
  /** an IM event already named this flow: evicted only after every other flow */
  pinned: boolean;
}

export class EvidenceRing implements FrameSink {
  private flows = new Map<number, Flow>();
  private total = 0;
  private readonly dec = new Decoder();
  private readonly perFlow: number;
  private readonly max: number;
  private readonly idle: number;
  private lastSweep = 0;
  readonly stats = { written: 0, evicted: 0, collisions: 0, failed: 0 };
  private pending = 0;
  private pendingBytes = 0;
  private writes = new Set<Promise<void>>();

  /** Resolves when every session file started so far is written and recorded. */
  async drain(): Promise<void> {
    while (this.writes.size) await Promise.all([...this.writes]);
  }

  constructor(private readonly next: FrameSink, readonly opts: EvidenceRingOptions) {
    this.perFlow = opts.perFlowBytes ?? 2 << 20;
    this.max = opts.maxBytes ?? 64 << 20;
    this.idle = opts.idleMicros ?? 15 * 60e6;
    makeDirs(opts.dir, 0o700);
  }

  frame(linktype: number, ts: number, buf: Buffer, off: number, len: number, origLen: number): void {
    this.keep(linktype, ts, buf, off, len, origLen);
    this.next.frame(linktype, ts, buf, off, len, origLen);
  }

  /** PacketSink's form, for sources that hand whole buffers */
  packet(linktype: number, ts: number, data: Buffer, origLen: number): void {
    this.frame(linktype, ts, data, 0, data.length, origLen);
  }

  private keep(lt: number, ts: number, buf: Buffer, off: number, len: number, origLen: number): void {
    const d = this.dec.d;
    // fragments are left to the sensor's own decoder: this one only looks at whole packets
    if (this.dec.decode(lt, buf, off, off + len, ts) !== 0) return;
    const alen = d.v6 ? 16 : 4;
    const ab = d.addrBuf;
    // canonical order (lower endpoint first) so both directions find the same entry; scalars only
    const srcFirst = compareEnds(ab, d.srcOff, d.sport, d.dstOff, d.dport, alen) <= 0;
    const ao = srcFirst ? d.srcOff : d.dstOff, ap = srcFirst ? d.sport : d.dport;
    const bo = srcFirst ? d.dstOff : d.srcOff, bp = srcFirst ? d.dport : d.sport;
    let h = 0x811c9dc5 ^ d.proto;
    for (let i = 0; i < alen; i++) h = Math.imul(h ^ ab[ao + i], 16777619);
    for (let i = 0; i < alen; i++) h = Math.imul(h ^ ab[bo + i], 16777619);
    h = Math.imul(h ^ ap, 16777619);
    h = Math.imul(h ^ bp, 16777619) >>> 0;
    let f = this.flows.get(h);
    if (f && (f.proto !== d.proto || f.pa !== ap || f.pb !== bp || f.a.length !== alen || !sameBytes(f.a, ab, ao) || !sameBytes(f.b, ab, bo))) {
      this.stats.collisions++;
      return;
    }
    if (!f) {
      f = { a: Buffer.from(ab.subarray(ao, ao + alen)), pa: ap, b: Buffer.from(ab.subarray(bo, bo + alen)), pb: bp, proto: d.proto, slabs: [], ends: [], used: 0, bytes: 0, packets: 0, linktype: lt, last: ts, full: false, pinned: false };
      this.flows.set(h, f);
    }
    f.last = ts;
    if (ts - this.lastSweep > 10e6) this.sweep(ts);
    if (f.full || lt !== f.linktype) return;
    const rec = 16 + len;
    if (f.bytes + rec > this.perFlow) {
      f.full = true;
      return;
    }
    const cur = f.slabs.length ? f.slabs[f.slabs.length - 1].length : 0;
    if (f.used + rec > cur) {
      // most flows are a few small packets: slabs start small and double up to 64 KiB
      if (f.slabs.length) f.ends.push(f.used);
      f.slabs.push(Buffer.allocUnsafe(Math.max(rec, Math.min(SLAB, cur ? cur * 2 : 2048))));
      f.used = 0;
    }
    const s = f.slabs[f.slabs.length - 1];
    const sec = Math.floor(ts / 1e6);
    s.writeUInt32LE(sec >>> 0, f.used);
    s.writeUInt32LE((ts - sec * 1e6) >>> 0, f.used + 4);
    s.writeUInt32LE(len, f.used + 8);
    s.writeUInt32LE(Math.max(len, origLen), f.used + 12);
    buf.copy(s, f.used + 16, off, off + len);
    f.used += rec;
    f.bytes += rec;
    f.packets++;
    this.total += rec;
    if (this.total > this.max) this.evictOldest();
  }

  private sweep(now: number): void {
    this.lastSweep = now;
    for (const [k, f] of this.flows) if (now - f.last > this.idle) this.drop(k, f);
  }

  private evictOldest(): void {
    // Map order is insertion order: the oldest flows go first, flows known to be IM last
    for (const pinned of [false, true]) {
      for (const [k, f] of this.flows) {
        if (this.total <= this.max * 0.9) return;
        if (f.pinned !== pinned) continue;
        this.drop(k, f);
        this.stats.evicted++;
      }
    }
  }

  private drop(k: number, f: Flow): void {
    this.total -= f.bytes;
    this.flows.delete(k);
  }

  /** Sees every event before the pipeline: a session's packets are written out and recorded. */
  onEvent(ev: ShadowEvent): void {
    const e = ev as { client?: { ip: string; port: number }; server?: { ip: string; port: number }; transport?: string };
    if (!e.client || !e.server || typeof e.client.port !== 'number' || typeof e.server.port !== 'number') return;
    // messages carry no transport: a TCP flow first, else a UDP one
    let key: number | undefined, f: Flow | undefined;
    for (const proto of e.transport === 'udp' ? [17] : e.transport === 'tcp' ? [6] : [6, 17]) {
      key = keyOf(proto, e.client.ip, e.client.port, e.server.ip, e.server.port);
      f = key === undefined ? undefined : this.flows.get(key);
      if (f && f.proto === proto) break;
      f = undefined;
    }
    if (!f || key === undefined) return;
    if (ev.type !== 'session') {
      // a message, credential or transfer on this flow: it is an IM session in the making
      f.pinned = true;
      return;
    }
    if (!f.packets) return;
    if (this.pendingBytes + f.bytes > this.max * 2) {
      // the disk is not keeping up: keep memory bounded (twice the ring) rather than queue more files
      this.drop(key, f);
      this.stats.failed++;
      return;
    }
    const name = `${String(ev.flow_id ?? key.toString(16)).replace(/[^\w-]/g, '_').slice(0, 64)}-${Date.parse(ev.start) || 0}.pcap`;
    const file = path.join(this.opts.dir, name);
    const hdr = Buffer.alloc(24);
    hdr.writeUInt32LE(0xa1b2c3d4, 0);
    hdr.writeUInt16LE(2, 4);
    hdr.writeUInt16LE(4, 6);
    hdr.writeUInt32LE(262144, 16);
    hdr.writeUInt32LE(f.linktype, 20);
    const body = f.slabs.map((sl, i) => sl.subarray(0, i < f.ends.length ? f.ends[i] : f.used));
    this.drop(key, f);
    const row = {
      sensor: String(ev.sensor ?? this.opts.sensor ?? ''),
      flow_id: ev.flow_id ?? null,
      client_ip: ev.client.ip,
      client_port: ev.client.port,
      server_ip: ev.server.ip,
      server_port: ev.server.port,
      start_ms: Date.parse(ev.start),
      source: path.resolve(file),
    };
    // written off the capture thread (libuv's pool); recorded once the file is complete
    this.pending++;
    const bytes = f.bytes;
    this.pendingBytes += bytes;
    const done = fs.promises
      .open(file, 'w', 0o600)
      .then(async (fh) => {
        try {
          await fh.writev([hdr, ...body]);
        } finally {
          await fh.close();
        }
        this.stats.written++;
        this.opts.record?.(row);
      })
      .catch(() => {
        this.stats.failed++; // the disk is the operator's: a failed write costs only this evidence
      })
      .finally(() => {
        this.pending--;
        this.pendingBytes -= bytes;
        this.writes.delete(done);
      });
    this.writes.add(done);
  }
}

function sameBytes(a: Buffer, b: Buffer, off: number): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[off + i]) return false;
  return true;
}

function compareEnds(b: Buffer, o1: number, p1: number, o2: number, p2: number, n: number): number {
  for (let i = 0; i < n; i++) if (b[o1 + i] !== b[o2 + i]) return b[o1 + i] - b[o2 + i];
  return p1 - p2;
}

function ipBytes(ip: string): Buffer | undefined {
  const { isIPv4, isIPv6 } = require('node:net') as typeof import('node:net');
  if (isIPv4(ip)) return Buffer.from(ip.split('.').map(Number));
  if (!isIPv6(ip)) return undefined;
  const s = ip.includes('.') ? ip.replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_m, a, b, c, d) => `${((+a << 8) | +b).toString(16)}:${((+c << 8) | +d).toString(16)}`) : ip;
  const [head, tail] = s.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const g = tail === undefined ? h : [...h, ...new Array(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  g.forEach((x, i) => out.writeUInt16BE(parseInt(x || '0', 16), i * 2));
  return out;
}

/** The ring's hash of a session's 5-tuple (the same canonical order as on the packet path). */
export function keyOf(proto: number, cip: string, cport: number, sip: string, sport: number): number | undefined {
  const a = ipBytes(cip), b = ipBytes(sip);
  if (!a || !b || a.length !== b.length) return undefined;
  const buf = Buffer.concat([a, b]);
  const n = a.length;
  const cmp = compareEnds(buf, 0, cport, n, sport, n);
  const [ao, ap, bo, bp] = cmp <= 0 ? [0, cport, n, sport] : [n, sport, 0, cport];
  let h = 0x811c9dc5 ^ proto;
  for (let i = 0; i < n; i++) h = Math.imul(h ^ buf[ao + i], 16777619);
  for (let i = 0; i < n; i++) h = Math.imul(h ^ buf[bo + i], 16777619);
  h = Math.imul(h ^ ap, 16777619);
  h = Math.imul(h ^ bp, 16777619) >>> 0;
  return h;
}

/** The sink that records ring files as session sources in the store (the same table analyze fills). */
export function storeRecorder(storePath: string): { record: NonNullable<EvidenceRingOptions['record']>; close(): void } {
  const { openStore } = require('../storage/store') as typeof import('../storage/store');
  const { ensureSourceTable } = require('./sources') as typeof import('./sources');
  const db = openStore(storePath);
  ensureSourceTable(db);
  const ins = db.prepare('INSERT INTO dash_session_sources (sensor, flow_id, client_ip, client_port, server_ip, server_port, start_ms, source) VALUES (?,?,?,?,?,?,?,?)');
  return {
    record: (r) => void ins.run(r.sensor, r.flow_id, r.client_ip, r.client_port, r.server_ip, r.server_port, r.start_ms, r.source),
    close: () => db.close(),
  };
}

/**
 * What `shadowim sensor --evidence-dir DIR` wires in: the ring in front of the packet path, the
 * engine's events shown to it first, the files recorded in the store.
 */
export function liveEvidence(o: { dir: string; store: string; sensor?: string }) {
  const rec = storeRecorder(o.store);
  let ring: EvidenceRing | undefined;
  return {
    /** the frame sink the live capture feeds: the ring, then the packet path */
    tee<S extends FrameSink & { packet(lt: number, ts: number, d: Buffer, o: number): void; finish(): void; readonly counters: any }>(sink: S): S {
      ring = new EvidenceRing(sink, { dir: o.dir, record: rec.record, sensor: o.sensor });
      const r = ring;
      return {
        frame: (lt: number, ts: number, b: Buffer, off: number, len: number, orig: number) => r.frame(lt, ts, b, off, len, orig),
        packet: (lt: number, ts: number, d: Buffer, orig: number) => r.frame(lt, ts, d, 0, d.length, orig),
        finish: () => sink.finish(),
        advance: (ts: number) => sink.advance?.(ts),
        get counters() {
          return sink.counters;
        },
      } as unknown as S;
    },
    wrapEmit(emit: (ev: ShadowEvent) => void): (ev: ShadowEvent) => void {
      return (ev) => {
        ring?.onEvent(ev);
        emit(ev);
      };
    },
    async close(): Promise<void> {
      await ring?.drain();
      rec.close();
    },
  };
}

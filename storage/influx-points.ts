// Events → InfluxDB 1.x line protocol. Low-cardinality values are tags (protocol, sensor, kind,
// severity, encrypted, verdict class, direction, mechanism, tunnel zone); users, hosts, ids, sizes and counts are
// fields, so the series count stays small however many users a network has. Message text never goes to
// InfluxDB (the archive lives in SQLite only).

import type { ShadowEvent } from '../common/events';
import { alertOccurrences } from './sqlite-sink';
import { cutBeforePair } from '../analyzer/clip';

export const MEASUREMENTS = {
  session: 'im_session',
  message: 'im_message',
  file_transfer: 'im_file',
  alert: 'im_alert',
  credential: 'im_credential',
  stats: 'im_sensor',
} as const;

/**
 * A tag value as InfluxDB 1.x reads it: line breaks become a space, cut at 256 characters (never inside a
 * surrogate pair or an escape), `,` `=` and space escaped. A backslash is no escape there (written as it
 * is; `\\` would be kept as two), but influxd reads a line twice with two rules: the tag parser takes a
 * separator as escaped when the byte before it is a backslash, while the line splitter skips every
 * backslash with the byte after it. A backslash run before a character we escape (`a\ b` written
 * `a\\\ b`) therefore leaves that space bare to the splitter, which then counts quotes from the
 * wrong place and can join the next line onto this one: both points refused. Such runs are dropped,
 * as are those at the end (one there would escape the separator after the value).
 */
export function tagValue(s: string): string {
  return cutBeforePair(s.replace(/[\r\n]+/g, ' '), 256).replace(/\\+(?=[,= ]|$)/g, '');
}
const escTag = (s: string) => tagValue(s).replace(/[,= ]/g, (c) => '\\' + c);
const escStr = (s: string) => '"' + cutBeforePair(s.replace(/[\r\n]+/g, ' '), 4096).replace(/["\\]/g, (c) => '\\' + c) + '"';

type Fields = Record<string, string | number | boolean | undefined | null>;

function fieldText(f: Fields): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(f)) {
    if (v === undefined || v === null) continue;
    if (typeof v === 'number') {
      // an integer past int64 (a 2^64 size from the wire) would make InfluxDB refuse the whole point
      if (!Number.isFinite(v) || (Number.isInteger(v) && Math.abs(v) >= 2 ** 63)) continue;
      parts.push(`${k}=${Number.isInteger(v) ? `${v}i` : v}`);
    } else if (typeof v === 'boolean') parts.push(`${k}=${v}`);
    else parts.push(`${k}=${escStr(v)}`);
  }
  return parts.join(',');
}

function tagText(t: Record<string, string | undefined>): string {
  let s = '';
  // tags sorted by key: what InfluxDB does itself, cheaper for it
  for (const k of Object.keys(t).sort()) {
    const v = t[k];
    if (v === undefined) continue;
    const e = escTag(v);
    if (e) s += `,${k}=${e}`; // a tag value cannot be empty
  }
  return s;
}

const ip = (e: any, k: 'client' | 'server') => (typeof e?.[k]?.ip === 'string' ? e[k].ip.slice(0, 64) : undefined);
const list = (a: unknown) => (Array.isArray(a) ? a.slice(0, 64).map((x) => String(x)).join(',') : undefined);

/**
 * One line of line protocol for an event, without the timestamp (the caller adds a unique one), or
 * undefined for events that have no InfluxDB form.
 */
export function eventLine(ev: ShadowEvent, sensor: string): string | undefined {
  const e = ev as any;
  // zone: the tunnel zone, a tag (few values, grouped by) present only on events from zoned tunnels
  const tags: Record<string, string | undefined> = { sensor: ev.sensor ?? sensor, protocol: e.protocol, zone: typeof e.zone === 'string' ? cutBeforePair(e.zone, 64) : undefined };
  let fields: Fields;
  switch (ev.type) {
    case 'session':
      tags.encrypted = ev.encrypted ? 'true' : 'false';
      tags.transport = ev.transport;
      tags.service = ev.service;
      fields = {
        count: 1,
        bytes: ev.bytes,
        packets: ev.packets,
        users: list(ev.users),
        client: ip(e, 'client'),
        server: ip(e, 'server'),
        server_port: e.server?.port,
        server_name: ev.server_name,
        flow_id: ev.flow_id,
        duration_ms: Date.parse(ev.end) - Date.parse(ev.start),
      };
      break;
    case 'message':
      tags.direction = ev.direction;
      tags.kind = ev.kind;
      fields = { count: 1, from: ev.from, to: ev.to, length: typeof ev.text === 'string' ? ev.text.length : undefined, client: ip(e, 'client'), server: ip(e, 'server'), flow_id: ev.flow_id };
      break;
    case 'file_transfer':
      tags.verdict = ev.verdict ? ev.verdict.split(':')[0] : undefined;
      tags.stage = ev.stage;
      fields = { count: 1, from: ev.from, to: ev.to, filename: ev.filename, size: ev.size ?? ev.observed_size, sha256: ev.sha256, file_type: ev.file_type, verdict_detail: ev.verdict, client: ip(e, 'client'), server: ip(e, 'server'), flow_id: ev.flow_id };
      break;
    case 'alert':
      tags.kind = ev.kind;
      tags.severity = ev.severity;
      fields = { count: alertOccurrences(ev), total: Math.max(1, Number(ev.count) || 1), id: ev.id, summary: ev.summary, users: list(ev.users), person: ev.person, detector: ev.detector, match: ev.match, client: ip(e, 'client'), server: ip(e, 'server'), flow_id: ev.flow_id };
      break;
    case 'credential':
      tags.mechanism = ev.mechanism;
      fields = { count: 1, user: ev.user, client: ip(e, 'client'), server: ip(e, 'server'), flow_id: ev.flow_id };
      break;
    case 'stats':
      fields = { packets: ev.packets, bytes: ev.bytes, dropped: ev.dropped, malformed: ev.malformed, flows: ev.flows };
      break;
    default:
      return undefined;
  }
  const f = fieldText(fields);
  if (!f) return undefined;
  return `${MEASUREMENTS[ev.type]}${tagText(tags)} ${f}`;
}

/** A line for the spool's own counters. */
export function spoolLine(sensor: string, dropped: number, pendingBytes: number): string {
  return `shadowim_spool${tagText({ sensor })} ${fieldText({ dropped_points: dropped, pending_bytes: pendingBytes })}`;
}

/**
 * Unique nanosecond timestamps: the event's millisecond plus a counter within that millisecond, so two
 * events of one series in the same millisecond do not overwrite each other, and the same capture analysed
 * twice produces the same points (InfluxDB then keeps one copy).
 */
export class Stamper {
  private seq = new Map<number, number>();
  stamp(tsMs: number): string {
    if (this.seq.size > 20000) this.seq.clear();
    const n = this.seq.get(tsMs) ?? 0;
    this.seq.set(tsMs, n + 1);
    return `${tsMs}${String(n % 1e6).padStart(6, '0')}`;
  }
}

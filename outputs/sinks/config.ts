// The `sinks:` section of the configuration: where alerts are delivered. Validated here with messages
// that name the file, the sink and the field.
//
// sinks:
//   - name: soc-webhook            # webhook: JSON (or ecs/cef/leef) body, Standard Webhooks signature
//     type: webhook
//     url: https://siem.example.com/hooks/shadowim
//     secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw   # base64 after whsec_, or any text
//   - name: splunk
//     type: splunk
//     url: https://splunk.example.com:8088
//     token: 00000000-0000-0000-0000-000000000000
//   - name: qradar
//     type: syslog
//     transport: tls                  # udp | tcp | tls
//     host: siem.example.com
//     port: 6514
//     format: leef                    # text | cef | leef | json
// Common filters: min_severity, kinds, protocols. Delivery: see `delivery:` below the list form.

import fs from 'node:fs';
import path from 'node:path';
import type { Severity } from '../../common/events';
import { whyCannotRead } from '../../common/fsError';
import { ConfigError } from '../../common/configError';
import { ALERT_KINDS, knownProtocols } from '../../analyzer/vocabulary';

export type SinkType = 'webhook' | 'splunk' | 'syslog';

export interface SinkConfig {
  name: string;
  type: SinkType;
  /** webhook/splunk */
  url?: string;
  secret?: string;
  token?: string;
  index?: string;
  sourcetype?: string;
  headers?: Record<string, string>;
  /** syslog */
  transport?: 'udp' | 'tcp' | 'tls';
  host?: string;
  port?: number;
  facility?: number;
  pen?: number;
  /** body/payload format */
  format: 'json' | 'ecs' | 'cef' | 'leef' | 'text';
  /** TLS: CA bundle to trust (PEM file), and whether to verify the server (default true) */
  ca?: string;
  verify_tls: boolean;
  timeout_ms: number;
  /** filters */
  min_severity: Severity;
  kinds?: string[];
  protocols?: string[];
  /** only alerts naming one of these people (the policy's identity mapping), case-insensitive */
  people?: string[];
  /** only alerts whose client is in one of these policy groups */
  groups?: string[];
}

export interface DeliveryConfig {
  /** outbox SQLite file; default: the store file, else ./shadowim-outbox.db */
  outbox?: string;
  /** first retry after base_ms, doubling up to max_ms, with full jitter */
  base_ms: number;
  max_ms: number;
  /** dead-lettered after this many failed attempts */
  max_attempts: number;
  /** how long `analyze` waits on exit for deliveries before leaving them to `shadowim alerts deliver` */
  drain_ms: number;
  /** delivered rows (each with its whole alert) are deleted this many days after delivery; 0 = kept */
  keep_delivered_days: number;
}

export interface SinksConfig {
  sinks: SinkConfig[];
  delivery: DeliveryConfig;
}

const SEVERITIES: Severity[] = ['low', 'medium', 'high', 'critical'];

/** Sinks routed by groups a policy does not have (they would receive no alert for them): each with those groups. */
export function groupsMissing(sinks: SinkConfig[], policyGroups: string[]): Array<{ sink: string; missing: string[] }> {
  const known = new Set(policyGroups);
  const out: Array<{ sink: string; missing: string[] }> = [];
  for (const s of sinks) {
    const missing = (s.groups ?? []).filter((g) => !known.has(g));
    if (missing.length) out.push({ sink: s.name, missing });
  }
  return out;
}

/** a mistake in the sinks: section (exit 2, as every configuration mistake) */
export class SinksConfigError extends ConfigError {}

export function parseSinks(raw: unknown, file = 'the configuration'): SinksConfig {
  const delivery: DeliveryConfig = { base_ms: 1000, max_ms: 3_600_000, max_attempts: 12, drain_ms: 5000, keep_delivered_days: 30 };
  if (raw === undefined || raw === null) return { sinks: [], delivery };
  let list: unknown = raw;
  if (!Array.isArray(raw)) {
    if (typeof raw !== 'object') throw new SinksConfigError(`${file}: sinks must be a list of sinks, or a mapping with 'targets' and 'delivery'`);
    const r = raw as Record<string, unknown>;
    for (const k of Object.keys(r)) if (!['targets', 'delivery'].includes(k)) throw new SinksConfigError(`${file}: sinks: unknown key '${k}' (expected targets, delivery)`);
    list = r.targets ?? [];
    const d = (r.delivery ?? {}) as Record<string, unknown>;
    for (const [k, v] of Object.entries(d)) {
      if (k === 'outbox') delivery.outbox = path.resolve(configDir(file), String(v));
      else if (['base_ms', 'max_ms', 'max_attempts', 'drain_ms', 'keep_delivered_days'].includes(k)) {
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new SinksConfigError(`${file}: sinks.delivery.${k} must be a whole number`);
        (delivery as any)[k] = v;
      } else throw new SinksConfigError(`${file}: sinks.delivery: unknown key '${k}' (expected outbox, base_ms, max_ms, max_attempts, drain_ms, keep_delivered_days)`);
    }
  }
  if (!Array.isArray(list)) throw new SinksConfigError(`${file}: sinks.targets must be a list`);
  const names = new Set<string>();
  const sinks = list.map((s, i) => {
    const sink = parseSink(s, `${file}: sinks[${i}]`, configDir(file));
    if (names.has(sink.name)) throw new SinksConfigError(`${file}: sinks[${i}]: the name '${sink.name}' is used twice`);
    names.add(sink.name);
    return sink;
  });
  return { sinks, delivery };
}

/** relative paths in the sinks section (outbox, ca) are relative to the configuration file's directory, as every path of the configuration */
function configDir(file: string): string {
  return path.dirname(path.resolve(file === 'the configuration' ? '.' : file));
}

function parseSink(raw: unknown, where: string, dir = '.'): SinkConfig {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new SinksConfigError(`${where}: each sink is a mapping (name, type, …)`);
  const r = raw as Record<string, unknown>;
  const err = (field: string, msg: string): never => {
    throw new SinksConfigError(`${where}${typeof r.name === 'string' ? ` (${r.name})` : ''}: ${field} ${msg}`);
  };
  const known = ['name', 'type', 'url', 'secret', 'token', 'index', 'sourcetype', 'headers', 'transport', 'host', 'port', 'facility', 'pen', 'format', 'ca', 'verify_tls', 'timeout_ms', 'min_severity', 'kinds', 'protocols', 'people', 'groups'];
  for (const k of Object.keys(r)) if (!known.includes(k)) err(k, `is not a sink setting (known: ${known.join(', ')})`);
  if (typeof r.name !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(r.name)) err('name', 'must be 1-64 letters, digits, _ . -');
  if (!['webhook', 'splunk', 'syslog'].includes(r.type as string)) err('type', 'must be webhook, splunk or syslog');
  const type = r.type as SinkType;
  const s: SinkConfig = {
    name: r.name as string,
    type,
    format: (r.format as SinkConfig['format']) ?? (type === 'syslog' ? 'text' : 'json'),
    verify_tls: r.verify_tls !== false,
    timeout_ms: 10000,
    min_severity: 'low',
  };
  // YAML's `yes`, a quoted "true": anything but the two booleans is a mistake, never "off"
  if (r.verify_tls !== undefined && typeof r.verify_tls !== 'boolean') err('verify_tls', 'must be true or false');
  const formats = type === 'syslog' ? ['text', 'cef', 'leef', 'json'] : type === 'webhook' ? ['json', 'ecs', 'cef', 'leef'] : ['json', 'ecs'];
  if (!formats.includes(s.format)) err('format', `must be one of ${formats.join(', ')} for a ${type} sink`);
  if (type !== 'syslog') {
    if (typeof r.url !== 'string' || !/^https?:\/\/[^\s/]+/.test(r.url)) err('url', 'must be an http:// or https:// URL');
    try {
      new URL(r.url as string);
    } catch {
      err('url', `'${(r.url as string).slice(0, 120)}' is not a valid URL (check the host, the port 1-65535, the brackets of an IPv6 address)`);
    }
    s.url = r.url as string;
    if (type === 'webhook' && r.secret !== undefined) {
      if (typeof r.secret !== 'string' || r.secret.length < 8) err('secret', 'must be text of at least 8 characters');
      s.secret = r.secret as string;
    }
    if (type === 'splunk') {
      if (typeof r.token !== 'string' || !r.token) err('token', 'is required (the HEC token)');
      s.token = r.token as string;
      if (r.index !== undefined) s.index = String(r.index);
      s.sourcetype = r.sourcetype !== undefined ? String(r.sourcetype) : 'shadowim:alert';
    }
    if (r.headers !== undefined) {
      if (!r.headers || typeof r.headers !== 'object' || Array.isArray(r.headers)) err('headers', 'must be a mapping of header names to values');
      s.headers = {};
      for (const [k, v] of Object.entries(r.headers as object)) {
        // the values Node sends (it throws on any other: a control character, or one outside Latin-1)
        if (!/^[A-Za-z0-9-]{1,64}$/.test(k) || /[^\t\x20-\x7e\x80-\xff]/.test(String(v))) err('headers', `has an invalid header '${k}': use letters, digits and - in the name, printable Latin-1 in the value`);
        s.headers[k] = String(v);
      }
    }
  } else {
    s.transport = (r.transport as SinkConfig['transport']) ?? 'udp';
    if (!['udp', 'tcp', 'tls'].includes(s.transport)) err('transport', 'must be udp, tcp or tls');
    if (typeof r.host !== 'string' || !/^[A-Za-z0-9.:_-]{1,253}$/.test(r.host)) err('host', 'must be a host name or address');
    s.host = r.host as string;
    s.port = r.port === undefined ? (s.transport === 'tls' ? 6514 : 514) : (r.port as number);
    if (!Number.isInteger(s.port) || s.port < 1 || s.port > 65535) err('port', 'must be a port number');
    s.facility = r.facility === undefined ? 16 : (r.facility as number);
    if (!Number.isInteger(s.facility) || s.facility < 0 || s.facility > 23) err('facility', 'must be 0-23 (16 = local0)');
    if (r.pen !== undefined) {
      if (!Number.isInteger(r.pen) || (r.pen as number) < 1) err('pen', 'must be your IANA private enterprise number');
      s.pen = r.pen as number;
    }
  }
  if (r.ca !== undefined) {
    if (typeof r.ca !== 'string' || r.ca === '') err('ca', 'must be the path of a CA certificate file (PEM)');
    // from the configuration file's directory, like outbox and the other paths (was: the working directory)
    const ca = path.resolve(dir, r.ca as string);
    const shown = ca === r.ca ? ca : `${r.ca as string} (${ca})`;
    if (!fs.existsSync(ca)) err('ca', `file ${shown} does not exist`);
    let why: string | undefined;
    try {
      if (fs.statSync(ca).isDirectory()) why = 'is a directory';
      else fs.accessSync(ca, fs.constants.R_OK);
    } catch (e) {
      why = whyCannotRead(e);
    }
    if (why) err('ca', `file ${shown}: ${why}; give a readable CA certificate file (PEM)`);
    s.ca = ca;
  }
  if (r.timeout_ms !== undefined) {
    if (!Number.isInteger(r.timeout_ms) || (r.timeout_ms as number) < 100) err('timeout_ms', 'must be a whole number of milliseconds (≥ 100)');
    s.timeout_ms = r.timeout_ms as number;
  }
  if (r.min_severity !== undefined) {
    if (!SEVERITIES.includes(r.min_severity as Severity)) err('min_severity', `must be one of ${SEVERITIES.join(', ')}`);
    s.min_severity = r.min_severity as Severity;
  }
  for (const k of ['kinds', 'protocols', 'people', 'groups'] as const) {
    if (r[k] === undefined) continue;
    if (!Array.isArray(r[k]) || !(r[k] as unknown[]).every((x) => typeof x === 'string')) err(k, 'must be a list of names');
    s[k] = r[k] as string[];
  }
  // a misspelt kind or protocol would route nothing to this sink, silently
  const vocab = { kinds: new Set<string>(ALERT_KINDS), protocols: knownProtocols() };
  for (const k of ['kinds', 'protocols'] as const) {
    if (k === 'protocols' && s.protocols) s.protocols = s.protocols.map((p) => p.toLowerCase());
    const bad = s[k]?.find((x) => !vocab[k].has(x));
    if (bad !== undefined) err(k, `'${bad.slice(0, 60)}' is not ${k === 'kinds' ? 'an alert kind' : 'a protocol id'} (${[...vocab[k]].join(', ')})`);
  }
  return s;
}

export function accepts(s: SinkConfig, a: { severity: Severity; kind: string; protocol?: string; person?: string; groups?: string[] }): boolean {
  if (SEVERITIES.indexOf(a.severity) < SEVERITIES.indexOf(s.min_severity)) return false;
  if (s.kinds && !s.kinds.includes(a.kind)) return false;
  if (s.protocols && (!a.protocol || !s.protocols.includes(a.protocol))) return false;
  // routing by who: the person the analyzer resolved, the policy groups of the client
  if (s.people) {
    const who = typeof a.person === 'string' ? a.person.toLowerCase() : undefined;
    if (!who || !s.people.some((p) => p.toLowerCase() === who)) return false;
  }
  if (s.groups && !(Array.isArray(a.groups) && a.groups.some((g) => s.groups!.includes(g)))) return false;
  return true;
}

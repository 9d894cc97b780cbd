// Alert payload formats for SIEMs. Pure functions: alert in, bytes out. Every value comes from the
// wire or from a user, so each format applies its own escaping and strips line breaks — nothing can
// end a syslog line, open a new CEF field or a structured-data element.
import os from 'node:os';
import type { AlertEvent, Severity } from '../../common/events';

export const VENDOR = 'shadowim';
export const PRODUCT = 'shadowim';
export const VERSION: string = require('../../package.json').version;
/** IANA private enterprise number 32473 is reserved for documentation (RFC 5612); override it with yours. */
export const DEFAULT_PEN = 32473;

const SEVERITY_NUM: Record<Severity, number> = { low: 3, medium: 5, high: 8, critical: 10 };
/** syslog severities: critical → crit(2), high → err(3), medium → warning(4), low → notice(5) */
const SYSLOG_SEVERITY: Record<Severity, number> = { critical: 2, high: 3, medium: 4, low: 5 };

export function severityNumber(s: Severity): number {
  return SEVERITY_NUM[s] ?? 5;
}

/** one line, no control characters, bounded */
function line(s: unknown, max = 2048): string {
  // eslint-disable-next-line no-control-regex
  return String(s ?? '').replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').slice(0, max);
}

export function alertJson(a: AlertEvent): string {
  return JSON.stringify(a);
}

/** Elastic Common Schema document. */
export function ecs(a: AlertEvent): Record<string, unknown> {
  return {
    '@timestamp': a.ts,
    message: a.summary,
    event: {
      kind: 'alert',
      category: ['network', 'intrusion_detection'],
      type: a.kind === 'unauthorized_im' || a.kind === 'policy_violation' ? ['connection', 'denied'] : ['info'],
      action: a.kind,
      code: a.kind,
      id: a.id,
      severity: severityNumber(a.severity),
      dataset: 'shadowim.alert',
      module: 'shadowim',
      ...(a.count && a.count > 1 ? { sequence: a.count } : {}),
    },
    rule: { id: `${a.kind}${a.detector ? `.${a.detector}` : ''}`, name: a.kind, ruleset: 'shadowim' },
    ...(a.client ? { source: { ip: a.client.ip, port: a.client.port, ...(a.users?.[0] ? { user: { name: a.users[0] } } : {}) } } : {}),
    ...(a.server ? { destination: { ip: a.server.ip, port: a.server.port } } : {}),
    network: { protocol: a.protocol, ...(a.client ? { direction: 'outbound' } : {}) },
    // the tunnel zone (VNI, ERSPAN session) the mirrored flow arrived in: ECS's place for a single-armed sensor's traffic zone
    observer: { vendor: VENDOR, product: PRODUCT, version: VERSION, type: 'ids', hostname: os.hostname(), ...(a.sensor ? { name: a.sensor } : {}), ...(a.zone ? { ingress: { zone: a.zone } } : {}) },
    ...(a.person ? { user: { name: a.person } } : {}),
    im: { users: a.users, detector: a.detector, match: a.match, count: a.count ?? 1, flow_id: a.flow_id, severity: a.severity },
  };
}

// ---- CEF (ArcSight) -------------------------------------------------------------------------
function cefHeader(s: unknown): string {
  return line(s, 512).replace(/\\/g, '\\\\').replace(/\|/g, '\\|');
}
function cefValue(s: unknown): string {
  // cut before escaping: a cut after it could leave half an escape (a lone \ that swallows the next field)
  return String(s ?? '').slice(0, 4000).replace(/\\/g, '\\\\').replace(/=/g, '\\=').replace(/\r\n|\r|\n/g, '\\n')
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029]/g, ' ');
}

/** a custom CEF field and its label, or nothing when there is no value */
function labelled(key: string, label: string, v: unknown): [string, unknown][] {
  return v === undefined || v === null || v === '' ? [] : [[`${key}Label`, label], [key, v]];
}

export function cef(a: AlertEvent): string {
  const ext: [string, unknown][] = [
    ['rt', Date.parse(a.ts)],
    ['cat', a.kind],
    ['app', a.protocol],
    ['msg', a.summary],
    ['src', a.client?.ip], ['spt', a.client?.port],
    ['dst', a.server?.ip], ['dpt', a.server?.port],
    ['suser', a.users?.[0]], ['duser', a.users?.[1]],
    ...labelled('cs1', 'alertId', a.id),
    ...labelled('cs2', 'detector', a.detector),
    ...labelled('cs3', 'match', a.match),
    ...labelled('cs4', 'person', a.person),
    ...labelled('cs5', 'sensor', a.sensor),
    ...labelled('cs6', 'zone', a.zone),
    ...labelled('cn1', 'count', a.count ?? 1),
  ];
  const body = ext.filter(([, v]) => v !== undefined && v !== null && v !== '').map(([k, v]) => `${k}=${cefValue(v)}`).join(' ');
  return `CEF:0|${cefHeader(VENDOR)}|${cefHeader(PRODUCT)}|${cefHeader(VERSION)}|${cefHeader(a.kind)}|${cefHeader(a.summary)}|${severityNumber(a.severity)}|${body}`;
}

// ---- LEEF 2.0 (QRadar) ------------------------------------------------------------------------
const LEEF_DELIM = '^';
function leefValue(s: unknown): string {
  // LEEF has no escape for its delimiter: it is replaced, as are line breaks and tabs
  return line(s, 4000).replace(/\^/g, ' ').replace(/\t/g, ' ');
}
function leefHeader(s: unknown): string {
  return line(s, 255).replace(/\|/g, ' ');
}

export function leef(a: AlertEvent): string {
  const attrs: [string, unknown][] = [
    ['devTime', a.ts], ['devTimeFormat', "yyyy-MM-dd'T'HH:mm:ss.SSSX"],
    ['cat', a.kind], ['sev', Math.max(1, severityNumber(a.severity))],
    ['src', a.client?.ip], ['srcPort', a.client?.port],
    ['dst', a.server?.ip], ['dstPort', a.server?.port],
    ['usrName', a.users?.[0]], ['proto', 'TCP'],
    ['imProtocol', a.protocol], ['alertId', a.id], ['detector', a.detector], ['match', a.match],
    ['person', a.person], ['count', a.count ?? 1], ['summary', a.summary], ['sensor', a.sensor], ['zone', a.zone],
  ];
  const body = attrs.filter(([, v]) => v !== undefined && v !== null && v !== '').map(([k, v]) => `${k}=${leefValue(v)}`).join(LEEF_DELIM);
  return `LEEF:2.0|${leefHeader(VENDOR)}|${leefHeader(PRODUCT)}|${leefHeader(VERSION)}|${leefHeader(a.kind)}|${LEEF_DELIM}|${body}`;
}

// ---- syslog RFC 5424 ----------------------------------------------------------------------
function sdValue(s: unknown): string {
  return line(s, 1024).replace(/[\\"\]]/g, (c) => `\\${c}`);
}
function header5424(s: string, max: number): string {
  const t = s.replace(/[^\x21-\x7e]/g, '').slice(0, max);
  return t || '-';
}

export interface SyslogOptions {
  facility: number;
  /** payload after the structured data: 'text' (the summary), 'cef', 'leef' or 'json' */
  payload: 'text' | 'cef' | 'leef' | 'json';
  hostname?: string;
  appName?: string;
  pen?: number;
}

export function rfc5424(a: AlertEvent, o: SyslogOptions): string {
  const pri = o.facility * 8 + (SYSLOG_SEVERITY[a.severity] ?? 5);
  const sd: [string, unknown][] = [
    ['id', a.id], ['kind', a.kind], ['severity', a.severity], ['protocol', a.protocol],
    ['src', a.client?.ip], ['srcPort', a.client?.port], ['dst', a.server?.ip], ['dstPort', a.server?.port],
    ['users', a.users?.join(',')], ['detector', a.detector], ['match', a.match], ['count', a.count ?? 1], ['zone', a.zone],
  ];
  const params = sd.filter(([, v]) => v !== undefined && v !== null && v !== '').map(([k, v]) => `${k}="${sdValue(v)}"`).join(' ');
  const msg = o.payload === 'cef' ? cef(a) : o.payload === 'leef' ? leef(a) : o.payload === 'json' ? alertJson(a) : line(a.summary);
  return `<${pri}>1 ${a.ts} ${header5424(o.hostname ?? os.hostname(), 255)} ${header5424(o.appName ?? 'shadowim', 48)} ${process.pid} ALERT [alert@${o.pen ?? DEFAULT_PEN} ${params}] \ufeff${line(msg, 8000)}`;
}

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

/**
 * Every line a sink sends — the whole RFC 5424 message (header, structured data, MSG) and the CEF or
 * LEEF line of a webhook — is at most this many UTF-8 octets: what receivers count. rsyslog's default
 * maximum message size is 8 KiB and many SIEM UDP listeners drop datagrams above ~8 KiB; the rest is
 * left for the transport's framing. Only free text is cut to fit (docs/integrations.md Length).
 */
export const LINE_MAX = 8000;
/** the syslog MSG is never longer than the line it is in */
export const SYSLOG_MSG_MAX = LINE_MAX;
/** octets of the syslog structured-data element: user names and the match share what the identifying parameters leave */
export const SD_MAX = 2048;
/** protocol, detector, sensor, zone (and a JSON flow_id) in a capped payload: at most this many UTF-16 units each */
export const SHORT_MAX = 128;

/** UTF-8 octets of `s` (a lone surrogate goes out as U+FFFD, 3 octets) */
export function octets(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** the first `max` UTF-16 units of `s`, a surrogate pair left whole: half an emoji is no UTF-8 (a receiver gets U+FFFD or rejects the line) */
function cutUnits(s: string, max: number): string {
  return s.length <= max ? s : s.slice(0, max).replace(/[\ud800-\udbff]$/, '');
}

/** one line, no control characters, bounded */
function line(s: unknown, max = 2048): string {
  // eslint-disable-next-line no-control-regex
  return cutUnits(String(s ?? '').replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' '), max);
}

/** a protocol, detector, sensor or zone in a capped payload: short, so the identifying part of a line is bounded */
function short<T>(v: T): T | string {
  return typeof v === 'string' ? cutUnits(v, SHORT_MAX) : v;
}

/** the alert as JSON; with `max` (UTF-8 octets), the free text (summary, match, person, user names) is cut to fit, so the JSON stays whole */
export function alertJson(a: AlertEvent, max = Infinity): string {
  const full = JSON.stringify(a);
  if (max === Infinity || octets(full) <= max) return full;
  const users = a.users ?? [];
  const vals = [a.summary ?? '', a.match ?? '', a.person ?? '', ...users.map((u) => String(u ?? ''))];
  const shorts: Partial<AlertEvent> = {};
  for (const k of ['protocol', 'detector', 'sensor', 'zone', 'flow_id'] as const) if (typeof a[k] === 'string') shorts[k] = short(a[k]) as string;
  a = { ...a, ...shorts };
  const blank: AlertEvent = { ...a, summary: '', users: users.map(() => '') };
  if (a.match !== undefined) blank.match = '';
  if (a.person !== undefined) blank.person = '';
  const jsonChar = (c: string) => JSON.stringify(c).slice(1, -1);
  const allow = shares(vals.map((v) => octets(JSON.stringify(v)) - 2), max - octets(JSON.stringify(blank)));
  const [summary, match, person, ...u] = vals.map((v, i) => JSON.parse(`"${encodeCut(v, allow[i], jsonChar)}"`) as string);
  return JSON.stringify({ ...a, summary, ...(a.match !== undefined ? { match } : {}), ...(a.person !== undefined ? { person } : {}), users: a.users ? u : a.users });
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

/** Fit free-text values into `budget` characters: water-filling, so the short ones stay whole and the
 * longest (the summary, usually) gives up what does not fit. Returns each value's allowance. */
function shares(lengths: number[], budget: number): number[] {
  const out = lengths.map(() => 0);
  let left = Math.max(0, budget);
  const order = lengths.map((_, i) => i).sort((x, y) => lengths[x] - lengths[y]);
  order.forEach((i, n) => {
    out[i] = Math.min(lengths[i], Math.floor(left / (order.length - n)));
    left -= out[i];
  });
  return out;
}

/** the longest prefix of `s` (whole code points) whose encoding by `enc` is at most `max` UTF-8 octets, encoded */
function encodeCut(s: string, max: number, enc: (c: string) => string): string {
  if (max === Infinity) {
    let all = '';
    for (const c of s) all += enc(c);
    return all;
  }
  let out = '';
  let n = 0;
  for (const c of s) {
    const e = enc(c);
    const k = octets(e);
    if (n + k > max) break;
    out += e;
    n += k;
  }
  return out;
}

/**
 * key=value pairs whose `free` values (user names, match, summary: the long, attacker-chosen ones) are
 * cut so the whole line fits `max`. The identifying fields come first and are never cut; the free text
 * comes last, the summary at the very end, so even a receiver that cuts the line loses only its tail.
 */
function fitPairs(
  prefix: string, fixed: [string, unknown][], free: [string, unknown][], sep: string, max: number,
  value: (v: unknown) => string, cut: (v: string, n: number) => string,
  labels: [forKey: string, key: string, label: string][] = [],
): string {
  const has = (v: unknown) => v !== undefined && v !== null && v !== '';
  const fixedStr = fixed.filter(([, v]) => has(v)).map(([k, v]) => `${k}=${value(v)}`);
  const f = free.filter(([, v]) => has(v)).map(([k, v]) => [k, String(v)] as [string, string]);
  // a free value's label (after the fixed fields) is counted as fixed, but written only when some of the value is kept
  const labelled = labels.filter(([k]) => f.some(([fk]) => fk === k));
  const labelStr = (k: string, l: string) => `${k}=${value(l)}`;
  const withLabels = [...fixedStr, ...labelled.map(([, k, l]) => labelStr(k, l))];
  const full = f.map(([, v]) => value(v));
  const overhead = octets(prefix) + octets([...withLabels, ...f.map(([k]) => `${k}=`)].join(sep)) + (withLabels.length && f.length ? octets(sep) : 0);
  const sizes = full.map(octets);
  const total = overhead + sizes.reduce((n, v) => n + v, 0);
  const allow = total <= max ? sizes : shares(sizes, max - overhead);
  const kept = f.map(([k, v], i) => [k, allow[i] === sizes[i] ? full[i] : cut(v, allow[i])]).filter(([, v]) => v !== '');
  const keptLabels = labelled.filter(([fk]) => kept.some(([k]) => k === fk)).map(([, k, l]) => labelStr(k, l));
  return prefix + [...fixedStr, ...keptLabels, ...kept.map(([k, v]) => `${k}=${v}`)].join(sep);
}

// ---- CEF (ArcSight) -------------------------------------------------------------------------
function cefHeader(s: unknown): string {
  return line(s, 512).replace(/\\/g, '\\\\').replace(/\|/g, '\\|');
}
// eslint-disable-next-line no-control-regex
const CEF_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029]/;
function cefChar(c: string): string {
  return c === '\\' ? '\\\\' : c === '=' ? '\\=' : c === '\n' ? '\\n' : CEF_CONTROL.test(c) ? ' ' : c;
}
function cefValue(s: unknown, max = Infinity): string {
  // cut before escaping: a cut after it could leave half an escape (a lone \ that swallows the next field)
  return encodeCut(cutUnits(String(s ?? ''), 4000).replace(/\r\n|\r/g, '\n'), max, cefChar);
}

/** a custom CEF field and its label, or nothing when there is no value */
function labelled(key: string, label: string, v: unknown): [string, unknown][] {
  return v === undefined || v === null || v === '' ? [] : [[`${key}Label`, label], [key, v]];
}

/** CEF; with `max`, the line is at most `max` UTF-8 octets: the free text is cut, the alert id, addresses and severity never
 * (protocol, detector, sensor and zone are cut short, at SHORT_MAX). */
export function cef(a: AlertEvent, max = Infinity): string {
  const capped = max === Infinity ? <T>(v: T) => v : short;
  const head = `CEF:0|${cefHeader(VENDOR)}|${cefHeader(PRODUCT)}|${cefHeader(VERSION)}|${cefHeader(a.kind)}|${cefHeader(a.summary)}|${severityNumber(a.severity)}|`;
  const fixed: [string, unknown][] = [
    ['rt', Date.parse(a.ts)],
    ['cat', a.kind],
    ['app', capped(a.protocol)],
    ['src', a.client?.ip], ['spt', a.client?.port],
    ['dst', a.server?.ip], ['dpt', a.server?.port],
    ...labelled('cs1', 'alertId', a.id),
    ...labelled('cs2', 'detector', capped(a.detector)),
    ...labelled('cs5', 'sensor', capped(a.sensor)),
    ...labelled('cs6', 'zone', capped(a.zone)),
    ...labelled('cn1', 'count', a.count ?? 1),
  ];
  // labels of cut-away values would dangle: a person or match is labelled only when it is kept whole or in part
  const free: [string, unknown][] = [
    ['suser', a.users?.[0]], ['duser', a.users?.[1]],
    ['cs4', a.person], ['cs3', a.match],
    ['msg', a.summary],
  ];
  return fitPairs(head, fixed, free, ' ', max, (v) => cefValue(v), (v, n) => cefValue(v, n), [['cs4', 'cs4Label', 'person'], ['cs3', 'cs3Label', 'match']]);
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

/** LEEF 2.0; with `max`, at most `max` UTF-8 octets: the free text is cut, never the alert id, addresses or severity
 * (protocol, detector, sensor and zone are cut short, at SHORT_MAX). */
export function leef(a: AlertEvent, max = Infinity): string {
  const capped = max === Infinity ? <T>(v: T) => v : short;
  const head = `LEEF:2.0|${leefHeader(VENDOR)}|${leefHeader(PRODUCT)}|${leefHeader(VERSION)}|${leefHeader(a.kind)}|${LEEF_DELIM}|`;
  const fixed: [string, unknown][] = [
    ['devTime', a.ts], ['devTimeFormat', "yyyy-MM-dd'T'HH:mm:ss.SSSX"],
    ['cat', a.kind], ['sev', Math.max(1, severityNumber(a.severity))],
    ['src', a.client?.ip], ['srcPort', a.client?.port],
    ['dst', a.server?.ip], ['dstPort', a.server?.port],
    ['proto', 'TCP'], ['imProtocol', capped(a.protocol)], ['alertId', a.id], ['detector', capped(a.detector)],
    ['count', a.count ?? 1], ['sensor', capped(a.sensor)], ['zone', capped(a.zone)],
  ];
  const free: [string, unknown][] = [['usrName', a.users?.[0]], ['person', a.person], ['match', a.match], ['summary', a.summary]];
  // no escapes in LEEF: a cut anywhere is safe, except inside a surrogate pair
  const cut = (v: string, n: number) => encodeCut(leefValue(v), n, (c) => c);
  return fitPairs(head, fixed, free, LEEF_DELIM, max, leefValue, cut);
}

// ---- syslog RFC 5424 ----------------------------------------------------------------------
const sdChar = (c: string) => (c === '\\' || c === '"' || c === ']' ? `\\${c}` : c);
/** a PARAM-VALUE, escaped, of at most `max` UTF-8 octets (cut before escaping: no half escape) */
function sdValue(s: unknown, max = Infinity): string {
  return encodeCut(line(s, 1024), max, sdChar);
}
/**
 * The users as one PARAM-VALUE: names joined by ',', a ',' or backslash inside a name escaped with a backslash (so
 * `mallory,ceo` stays one user); a cut that leaves half such an escape at the end drops it.
 */
function sdUsers(users: string, max = Infinity): string {
  const v = sdValue(users, max);
  // every trailing backslash of the value is a doubled one (SD escaping); an odd count of them is half an escape
  const run = /\\*$/.exec(v)![0].length / 2;
  return run % 2 ? v.slice(0, -2) : v;
}
const userList = (users: string[] | undefined) => users?.map((u) => String(u ?? '').replace(/[\\,]/g, (c) => `\\${c}`)).join(',');
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
    ['users', userList(a.users)], ['detector', a.detector], ['match', a.match], ['count', a.count ?? 1], ['zone', a.zone],
  ];
  const has = ([, v]: [string, unknown]) => v !== undefined && v !== null && v !== '';
  const kept = sd.filter(has).map(([k, v]) => [k, SD_SHORT.has(k) ? short(String(v)) : String(v)] as [string, string]);
  const enc = (k: string, v: string, max?: number) => (k === 'users' ? sdUsers(v, max) : sdValue(v, max));
  let vals = kept.map(([k, v]) => enc(k, v));
  const element = () => `[alert@${o.pen ?? DEFAULT_PEN} ${kept.map(([k], i) => `${k}="${vals[i]}"`).filter((_, i) => vals[i] !== '' || !SD_FREE.has(kept[i][0])).join(' ')}]`;
  if (octets(element()) > SD_MAX) {
    // user names and the match share what the identifying parameters leave (an empty one is left out)
    const free = kept.map(([k], i) => (SD_FREE.has(k) ? i : -1)).filter((i) => i >= 0);
    const sizes = free.map((i) => octets(vals[i]));
    for (const i of free) vals[i] = '';
    const allow = shares(sizes, SD_MAX - octets(element()) - free.reduce((n, i) => n + kept[i][0].length + 4, 0));
    vals = vals.map((v, i) => (free.includes(i) ? enc(kept[i][0], kept[i][1], allow[free.indexOf(i)]) : v));
  }
  const head = `<${pri}>1 ${a.ts} ${header5424(o.hostname ?? os.hostname(), 255)} ${header5424(o.appName ?? 'shadowim', 48)} ${process.pid} ALERT ${element()} \ufeff`;
  // the MSG gets what the header and structured data leave of the line
  const room = Math.max(0, LINE_MAX - octets(head));
  const msg = o.payload === 'cef' ? cef(a, room) : o.payload === 'leef' ? leef(a, room) : o.payload === 'json' ? alertJson(a, room) : encodeCut(line(a.summary), room, (c) => c);
  // no line break of any kind, also none JSON leaves as it is (U+2028, NEL): replacing only shortens
  return head + line(msg, Infinity);
}
const SD_FREE = new Set(['users', 'match']);
const SD_SHORT = new Set(['protocol', 'detector', 'zone']);

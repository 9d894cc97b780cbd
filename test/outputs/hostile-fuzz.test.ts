// Seeded fuzz of the alert path as a whole: hostile contract events (session, message, file_transfer,
// credential) whose wire-derived strings hold line breaks of every kind, NUL, bidi controls, lone
// surrogates, format metacharacters (| = ^ \ ] "), markup, JSON and 100 KB values, with card numbers,
// SSNs, IBANs, a masking pattern's matches and passwords planted in them, go through the real analyzer
// (DLP on, a policy with groups, people and suppression) and every alert through every sink payload
// (webhook json/ecs/cef/leef, Splunk HEC json/ecs, RFC 5424 with text/cef/leef/json) and the capped
// CEF, LEEF and JSON builders. Read back with the spec readers of test/helpers/siem.ts.
//
// Invariants: no exception (the analyzer's error count stays 0); every event serializes as JSON; line
// formats are one line (no CR, LF, VT, FF, NUL, NEL, U+2028, U+2029); every whole syslog message and
// webhook CEF/LEEF line within LINE_MAX UTF-8 octets (the structured data within SD_MAX, a webhook body
// within twice LINE_MAX), the capped builders within their cap in octets (docs/integrations.md Length); every payload parses back with the alert id, addresses, ports and
// severity intact, JSON stays JSON; no planted secret is anywhere in clear (docs/analyzer.md
// Redaction: values in message text and file names are masked everywhere they go, a credential event
// holds no field named like a secret); with no lone surrogate in the input, none in any output (cuts
// never split a pair: docs/analyzer.md Alerts).
//
// SHADOWIM_FUZZ_SEED / SHADOWIM_FUZZ_SCALE as for the other fuzz tests (test/helpers/fuzz.ts).
import assert from 'node:assert/strict';
import type { AlertEvent, Endpoint, EventSink, Severity, ShadowEvent } from '../../common/events';
import { createAnalyzer } from '../../analyzer';
import { parsePolicy } from '../../analyzer/policy';
import { parseSinks, type SinkConfig } from '../../outputs/sinks/config';
import { sinkPayload } from '../../outputs/sinks/sinks';
import { alertJson, cef, leef, LINE_MAX, octets, SD_MAX, severityNumber, VERSION } from '../../outputs/sinks/formats';
import { fuzzCases, fuzzSeconds, fuzzSeed, Rand } from '../helpers/fuzz';
import { cefSplit, cefExtension, leefParse, parse5424 } from '../helpers/siem';

// ---- generator ---------------------------------------------------------------------------------

/** the seeded generator, with digit and letter runs for planted values */
class Gen extends Rand {
  digits(n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += String(this.int(10));
    return s;
  }
  letters(n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += String.fromCharCode(65 + this.int(26));
    return s;
  }
}

// No ASCII digits in the filler: a planted number is then the only digit run near itself, and its
// digits found in an output can only be that number in clear.
const ATOMS = [
  '\r', '\n', '\r\n', '\n\r', '\0', '\0\0', '\u0085', '\u2028', '\u2029', '\u000b', '\u000c', '\t', '\u007f', '\u009b', '\u001b[m',
  '\u202e', '\u202d', '\u2066', '\u2067', '\u2069', '\u200f', '\u200b', '\ufeff', '\u00a0',
  '|', '=', '^', '\\', '"', ']', '[', "'", '\\\\', '\\=', '\\|', '\\n', '"]', '\\"', '="', '^=', '|=',
  '<script>alert(document.cookie)</script>', '{"type":"alert","id":"forged","severity":"low"}', '"}]', '[{',
  'CEF:0|evil|x|', '<thirteen>one - - - - - ', 'LEEF:2.0|evil|', ' msg=', ' cs1=forged', '^alertId=forged', ' id="forged"', ' src=evil',
  '😀', '👩‍💻', '𝐀', 'é', 'ß', 'ж', '中', ' ', '  ', 'alice', 'bob', 'card', 'ssn', 'order', 'iban', 'routing', '%', '&amp;', '/', '@', '.', ',', ':', '-', '_',
];
const LONE = ['\ud800', '\udbff', '\udc00', '\udfff', '\ud83d', '\ude00'];
// characters that let a number stand alone (docs/analyzer.md DLP detectors: not letters or digits, /, +, @, %, nor a time,
// decimal, thousands separator or identifier prefix)
const BOUNDS = [' ', '\n', '\r', '\t', '\u0085', '\u2028', '\u2029', '\u000b', '|', '=', '^', '"', ']', '[', '<', '>', '(', ')', ';', '!', '#', "'", '{', '}', '\u202e', '\ufeff', '*', '~', '\\', '&', '?'];

interface Case {
  lone: boolean;
}

function filler(g: Gen, c: Case, pieces = 1 + g.int(12)): string {
  let s = '';
  for (let i = 0; i < pieces; i++) {
    const a = c.lone && g.chance(0.08) ? g.pick(LONE) : g.pick(ATOMS);
    s += g.chance(0.04) ? a.repeat(1 + g.int(400)) : a;
  }
  return s;
}

/** the first n units of s, a surrogate pair left whole (the generator makes lone surrogates only when a case asks for them) */
const cut = (s: string, n: number) => s.slice(0, n).replace(/[\ud800-\udbff]$/, '');

/** a wire string: filler, now and then 100 KB+ of it or just past a length cap (256, 4,000, 8,000) */
function hostile(g: Gen, c: Case): string {
  const r = g.int(100);
  if (r < 3) return cut(filler(g, c, 4).repeat(1 + Math.ceil(100_000 / 8)), 100_000 + g.int(20_000));
  if (r < 12) {
    const cap = g.pick([48, 64, 96, 200, 255, 256, 257, 512, 1024, 2048, 4000, 8000]);
    // a metacharacter, line break or pair right at the cap
    return 'x'.repeat(cap - 1 - g.int(3)) + g.pick(['\\', '=', '^', '|', '"', ']', '\r\n', '😀', '\u2028', ...(c.lone ? LONE : [])]) + filler(g, c, 3);
  }
  return filler(g, c);
}

function luhnDigit(body: string): string {
  let sum = 0;
  for (let i = 0; i < body.length; i++) {
    let d = Number(body[body.length - 1 - i]);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return String((10 - (sum % 10)) % 10);
}

interface Secret {
  /** what must never be found in clear: its letters and digits, in order */
  clear: string;
  /** as planted */
  text: string;
}

const project = (s: string) => s.replace(/[\uff10-\uff19]/g, (d) => String(d.charCodeAt(0) - 0xff10)).replace(/[^0-9A-Za-z]+/g, '');

function grouped(digits: string, lens: number[], sep: string): string {
  const out: string[] = [];
  let at = 0;
  for (const n of lens) {
    out.push(digits.slice(at, at + n));
    at += n;
  }
  return out.join(sep);
}

/** a number as people and decoders write it: NULs between characters (UTF-16 read as bytes) or full-width digits */
function dress(g: Gen, s: string): string {
  const r = g.int(10);
  if (r === 0) return [...s].join('\0');
  if (r === 1) return s.replace(/[0-9]/g, (d) => String.fromCharCode(0xff10 + Number(d)));
  return s;
}

const SAMPLE_SSNS = new Set(['078051120', '219099999', '123456789', '111223333']);

function card(g: Gen): Secret {
  const [prefix, len, lens] = g.pick<[string, number, number[]]>([
    ['4', 16, [4, 4, 4, 4]], ['5' + (1 + g.int(5)), 16, [4, 4, 4, 4]], ['34', 15, [4, 6, 5]], ['37', 15, [4, 6, 5]],
    ['6011', 16, [4, 4, 4, 4]], ['35' + (28 + g.int(62)), 16, [4, 4, 4, 4]], ['4', 19, [4, 4, 4, 4, 3]],
  ]);
  let digits: string;
  do {
    const body = prefix + g.digits(len - prefix.length - 1);
    digits = body + luhnDigit(body);
  } while (/^(\d)\1+$/.test(digits));
  const sep = g.pick(['', '', ' ', '-', '\u00a0']);
  return { clear: digits, text: dress(g, sep ? grouped(digits, lens, sep) : digits) };
}

function ssn(g: Gen): Secret {
  let digits: string;
  do {
    const area = 1 + g.int(899);
    digits = String(area).padStart(3, '0') + String(1 + g.int(99)).padStart(2, '0') + String(1 + g.int(9999)).padStart(4, '0');
  } while (digits.startsWith('666') || SAMPLE_SSNS.has(digits) || /^(\d)\1+$/.test(digits));
  // dashes or spaces: no SSN word needed (docs/analyzer.md)
  return { clear: digits, text: dress(g, grouped(digits, [3, 2, 4], g.pick(['-', ' ']))) };
}

function iban(g: Gen): Secret {
  const [cc, bban] = g.pick<[string, () => string]>([
    ['DE', () => g.digits(18)], ['GB', () => g.letters(4) + g.digits(14)], ['NL', () => g.letters(4) + g.digits(10)], ['FR', () => g.digits(23)],
  ]);
  const b = bban();
  const num = (b + cc + '00').replace(/[A-Z]/g, (c) => String(c.charCodeAt(0) - 55));
  let mod = 0;
  for (const d of num) mod = (mod * 10 + Number(d)) % 97;
  const v = cc + String(98 - mod).padStart(2, '0') + b;
  const shown = g.chance(0.5) ? v : v.replace(/(.{4})(?=.)/g, '$1 ');
  return { clear: v, text: shown };
}

/** the policy's masking pattern EMP-[0-9]{6} (redact is its default) */
function employee(g: Gen): Secret {
  const v = `EMP-${g.digits(6)}`;
  return { clear: project(v), text: v };
}

/** wire text with secrets planted, each standing alone between boundary characters (NULs around them skipped) */
function withSecrets(g: Gen, c: Case, secrets: Secret[]): string {
  let s = hostile(g, c);
  const n = g.int(4);
  for (let i = 0; i < n; i++) {
    const sec = g.pick([card, card, ssn, iban, employee])(g);
    secrets.push(sec);
    const nul = g.chance(0.2) ? '\0' : '';
    s += g.pick(BOUNDS) + nul + sec.text + nul + g.pick(BOUNDS) + (g.chance(0.7) ? filler(g, c) : '');
  }
  if (g.chance(0.03)) {
    // more findings than the scanner reports (256): what is past the last one reported must not leave
    const many = ssn(g);
    const last = card(g);
    secrets.push(many, last);
    s += (' ' + many.text).repeat(300) + ' ' + last.text + ' ';
  }
  return s;
}

const PROTOCOLS = ['irc', 'xmpp', 'aim', 'msn', 'yahoo', 'sip', 'teams', 'whatsapp', 'slack'];
const CLIENTS = ['10.1.2.3', '10.1.9.9', '10.9.0.1', '10.0.0.5', '192.168.1.20', 'fd00::5', '2001:db8::7'];
const SERVERS = ['198.51.100.7', '203.0.113.9', '192.0.2.44', '2001:db8:ffff::1'];
const MECHANISMS = ['irc-pass', 'sasl-plain', 'sasl-x-oauth2', 'nickserv-identify', 'icq-v5-login', 'msn-passport-ticket', 'oscar-roasted-password', 'xmpp-iq-auth-plaintext'];
// docs/analyzer.md Redaction: fields named like a secret are dropped from credential events
const SECRET_FIELDS = ['password', 'pass', 'secret', 'token', 'hash', 'response', 'auth', 'key'];
const T0 = Date.UTC(2024, 0, 15, 14, 30);

function endpoint(g: Gen, ips: string[]): Endpoint {
  return { ip: g.pick(ips), port: 1 + g.int(65535) };
}

function users(g: Gen, c: Case): string[] {
  const n = g.pick([0, 1, 2, 3, 5, 40, 70]);
  return Array.from({ length: n }, () => (g.chance(0.2) ? g.pick(['alice', 'dana', '?', '(unknown)', '']) : hostile(g, c)));
}

/** one case: a few events of a few flows, some repeated so that suppression counts and updates them */
function makeCase(g: Gen): { events: ShadowEvent[]; secrets: Secret[]; lone: boolean } {
  const c: Case = { lone: g.chance(0.4) };
  const secrets: Secret[] = [];
  const events: ShadowEvent[] = [];
  const flows = Array.from({ length: 1 + g.int(3) }, (_, i) => ({
    protocol: g.pick(PROTOCOLS), client: endpoint(g, CLIENTS), server: endpoint(g, SERVERS), flow_id: g.chance(0.7) ? `f${i}` : undefined,
    zone: g.chance(0.15) ? g.pick(['vxlan:100', 'erspan:3']) : undefined,
  }));
  let t = T0 + g.int(7 * 86_400_000);
  const n = 1 + g.int(8);
  for (let i = 0; i < n; i++) {
    t += g.pick([0, 0, 1000, 60_000, 2 * 3_600_000]);
    const f = g.pick(flows);
    const base = { ts: new Date(t).toISOString(), protocol: f.protocol, client: f.client, server: f.server, ...(f.flow_id ? { flow_id: f.flow_id } : {}), ...(f.zone ? { zone: f.zone } : {}) };
    const kind = g.int(10);
    let ev: ShadowEvent;
    if (kind < 2) {
      ev = {
        ...base, type: 'session', transport: g.pick(['tcp', 'udp'] as const), users: users(g, c), start: new Date(t - 60_000).toISOString(), end: base.ts,
        packets: g.int(1000), bytes: g.int(1e6), encrypted: g.chance(0.3), evidence: [{ signature: `${f.protocol}.x`, reason: hostile(g, c) }],
        ...(g.chance(0.5) ? { server_name: g.chance(0.3) ? 'chat.corp.example' : hostile(g, c) } : {}),
      } as ShadowEvent;
    } else if (kind < 6) {
      ev = {
        ...base, type: 'message', from: g.chance(0.3) ? 'alice' : hostile(g, c), to: g.chance(0.3) ? '#ops' : hostile(g, c), text: withSecrets(g, c, secrets),
        direction: g.pick(['outbound', 'inbound'] as const), ...(g.chance(0.3) ? { kind: g.pick(['channel', 'private', 'groupchat']) } : {}),
      } as ShadowEvent;
    } else if (kind < 8) {
      ev = {
        ...base, type: 'file_transfer', from: hostile(g, c), to: hostile(g, c), filename: withSecrets(g, c, secrets) + g.pick(['', '.exe', '.txt', '.pdf', '.']),
        direction: g.pick(['outbound', 'inbound'] as const), ...(g.chance(0.5) ? { size: g.pick([0, 1234, 2 ** 40]) } : {}),
        ...(g.chance(0.3) ? { transfer_id: `t${g.int(3)}` } : {}), ...(g.chance(0.2) ? { file_type: g.pick(['pe', 'elf', 'script', 'pdf']) } : {}),
        ...(g.chance(0.2) ? { verdict: g.pick(['infected:', 'forbidden:', 'clean', '']) + hostile(g, c) } : {}),
      } as ShadowEvent;
    } else {
      const pw: Record<string, string> = {};
      for (const k of SECRET_FIELDS) {
        if (k === 'password' || g.chance(0.2)) {
          const marker = `PWSECRET${g.letters(12)}`;
          secrets.push({ clear: marker, text: marker });
          pw[k] = cut(hostile(g, c), 64) + marker + filler(g, c, 2);
        }
      }
      ev = { ...base, type: 'credential', user: g.chance(0.2) ? 'alice' : hostile(g, c), mechanism: g.pick(MECHANISMS), ...pw } as ShadowEvent;
    }
    events.push(ev);
    // the same finding again (suppression counts it, the update repeats it with [seen N times])
    if (g.chance(0.2)) events.push({ ...ev, ts: new Date(t + 1000).toISOString() } as ShadowEvent);
  }
  return { events, secrets, lone: c.lone };
}

// ---- the product under test --------------------------------------------------------------------

const POLICY = parsePolicy(`
timezone: UTC
people:
  map:
    10.9.0.1: "Lee | Park = ^ \\\\ ] \\" <b>"
    alice: "Al^ice=Example|\\\\"
groups:
  eng:
    networks: [10.1.0.0/16]
    allow:
      - { protocols: [irc, xmpp], days: mon-fri, hours: "09:00-17:00", chat: true, files: false }
  filers:
    networks: ["fd00::/8"]
    allow:
      - { protocols: [aim], chat: false, files: true }
sanctioned_servers: [203.0.113.0/28, chat.corp.example]
dlp:
  keywords:
    - { name: codenames, words: [alice, order] }
  regexes:
    - { name: employee-id, pattern: "EMP-[0-9]{6}" }
suppression:
  default: 1h
`, 'fuzz-policy.yaml');

const SINKS: SinkConfig[] = parseSinks([
  ...(['json', 'ecs', 'cef', 'leef'] as const).map((format) => ({ name: `webhook-${format}`, type: 'webhook', url: 'https://siem.example/hook', secret: 'whsec_dGVzdA==', format })),
  ...(['json', 'ecs'] as const).map((format) => ({ name: `hec-${format}`, type: 'splunk', url: 'https://splunk.example:8088', token: 't', format })),
  ...(['text', 'cef', 'leef', 'json'] as const).map((format) => ({ name: `syslog-${format}`, type: 'syslog', transport: 'tcp', host: 'siem.example', format })),
], 'fuzz-sinks.yaml').sinks;

class Keep implements EventSink {
  events: ShadowEvent[] = [];
  write(ev: ShadowEvent) {
    this.events.push(ev);
  }
}

// ---- invariants --------------------------------------------------------------------------------

const LINE_BREAK = /[\r\n\u000b\u000c\u0000\u0085\u2028\u2029]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const SYSLOG_SEV: Record<Severity, number> = { critical: 2, high: 3, medium: 4, low: 5 };

function oneLine(s: string, what: string): void {
  const m = LINE_BREAK.exec(s);
  assert.ok(!m, `${what}: ${JSON.stringify(m?.[0])} at ${m?.index} of ${s.length}: not one line`);
}

/** every string in a parsed value */
function strings(v: unknown, out: string[] = []): string[] {
  if (typeof v === 'string') out.push(v);
  else if (Array.isArray(v)) for (const x of v) strings(x, out);
  else if (v && typeof v === 'object') for (const x of Object.values(v)) strings(x, out);
  return out;
}

function checkCef(line: string, a: AlertEvent, what: string): void {
  oneLine(line, what);
  const { header } = cefSplit(line);
  const ext = cefExtension(line);
  assert.deepEqual(header.slice(0, 5), ['CEF:0', 'shadowim', 'shadowim', VERSION, a.kind], `${what}: header`);
  assert.equal(header[6], String(severityNumber(a.severity)), `${what}: severity`);
  assert.equal(ext.cs1Label, 'alertId', `${what}: cs1Label`);
  assert.equal(ext.cs1, a.id, `${what}: alert id`);
  assert.equal(ext.src, a.client?.ip, `${what}: src`);
  assert.equal(ext.spt, a.client ? String(a.client.port) : undefined, `${what}: spt`);
  assert.equal(ext.dst, a.server?.ip, `${what}: dst`);
  assert.equal(ext.dpt, a.server ? String(a.server.port) : undefined, `${what}: dpt`);
  assert.equal(ext.cat, a.kind, `${what}: cat`);
  // a label names a value that is there
  for (const k of ['cs3', 'cs4']) assert.equal(k in ext, `${k}Label` in ext, `${what}: ${k} and ${k}Label together (${JSON.stringify(Object.keys(ext))})`);
}

function checkLeef(line: string, a: AlertEvent, what: string): void {
  oneLine(line, what);
  const { header, attrs } = leefParse(line);
  assert.deepEqual(header, ['LEEF:2.0', 'shadowim', 'shadowim', VERSION, a.kind, '^'], `${what}: header`);
  assert.equal(attrs.alertId, a.id, `${what}: alertId`);
  assert.equal(attrs.sev, String(severityNumber(a.severity)), `${what}: sev`);
  assert.equal(attrs.src, a.client?.ip, `${what}: src`);
  assert.equal(attrs.srcPort, a.client ? String(a.client.port) : undefined, `${what}: srcPort`);
  assert.equal(attrs.dst, a.server?.ip, `${what}: dst`);
  assert.equal(attrs.dstPort, a.server ? String(a.server.port) : undefined, `${what}: dstPort`);
}

function checkAlertJson(j: any, a: AlertEvent, what: string): void {
  assert.equal(j.id, a.id, `${what}: id`);
  assert.equal(j.severity, a.severity, `${what}: severity`);
  assert.deepEqual(j.client, a.client, `${what}: client`);
  assert.deepEqual(j.server, a.server, `${what}: server`);
  assert.equal(j.kind, a.kind, `${what}: kind`);
}

function checkEcs(j: any, a: AlertEvent, what: string): void {
  assert.equal(j.event.id, a.id, `${what}: event.id`);
  assert.equal(j.event.severity, severityNumber(a.severity), `${what}: event.severity`);
  assert.equal(j.source?.ip, a.client?.ip, `${what}: source.ip`);
  assert.equal(j.source?.port, a.client?.port, `${what}: source.port`);
  assert.equal(j.destination?.ip, a.server?.ip, `${what}: destination.ip`);
  assert.equal(j.destination?.port, a.server?.port, `${what}: destination.port`);
}

/** the payload a sink sends, checked for its format; returns the texts it carries (raw and parsed values) */
function checkPayload(s: SinkConfig, a: AlertEvent, p: string): string[] {
  const what = `${s.name} of alert ${a.id} (${a.kind})`;
  const texts = [p];
  if (s.type === 'webhook') {
    const j = JSON.parse(p);
    texts.push(...strings(j));
    if (s.format === 'json') checkAlertJson(j, a, what);
    else if (s.format === 'ecs') checkEcs(j, a, what);
    else {
      assert.equal(j.id, a.id, `${what}: id`);
      const line = j[s.format];
      assert.ok(octets(line) <= LINE_MAX, `${what}: ${s.format} line of ${octets(line)} octets`);
      assert.ok(octets(p) <= 2 * LINE_MAX + 64, `${what}: body of ${octets(p)} octets`);
      if (s.format === 'cef') {
        checkCef(line, a, what);
        texts.push(...Object.values(cefExtension(line)), ...cefSplit(line).header);
      } else {
        checkLeef(line, a, what);
        texts.push(...Object.values(leefParse(line).attrs));
      }
    }
  } else if (s.type === 'splunk') {
    const j = JSON.parse(p);
    texts.push(...strings(j));
    assert.equal(j.fields.alert_id, a.id, `${what}: fields.alert_id`);
    assert.equal(j.fields.severity, a.severity, `${what}: fields.severity`);
    assert.equal(j.time, Date.parse(a.ts) / 1000, `${what}: time`);
    if (s.format === 'ecs') checkEcs(j.event, a, what);
    else checkAlertJson(j.event, a, what);
  } else {
    oneLine(p, what);
    assert.ok(octets(p) <= LINE_MAX, `${what}: syslog message of ${octets(p)} octets`);
    const m = parse5424(p);
    assert.equal(m.pri, 16 * 8 + SYSLOG_SEV[a.severity], `${what}: PRI`);
    assert.equal(m.timestamp, a.ts, `${what}: TIMESTAMP`);
    assert.equal(m.sd.length, 1, `${what}: one SD-ELEMENT`);
    const sd = m.sd[0];
    assert.equal(sd.id, 'alert@32473', `${what}: SD-ID`);
    assert.equal(sd.params.id, a.id, `${what}: SD id`);
    assert.equal(sd.params.severity, a.severity, `${what}: SD severity`);
    assert.equal(sd.params.kind, a.kind, `${what}: SD kind`);
    assert.equal(sd.params.src, a.client?.ip, `${what}: SD src`);
    assert.equal(sd.params.srcPort, a.client ? String(a.client.port) : undefined, `${what}: SD srcPort`);
    assert.equal(sd.params.dst, a.server?.ip, `${what}: SD dst`);
    assert.equal(sd.params.dstPort, a.server ? String(a.server.port) : undefined, `${what}: SD dstPort`);
    assert.ok(m.bom && m.msg !== undefined, `${what}: MSG with its BOM`);
    const msg = m.msg!;
    const sdText = p.slice(p.indexOf(' [') + 1, p.indexOf(' \ufeff'));
    assert.ok(octets(sdText) <= SD_MAX, `${what}: structured data of ${octets(sdText)} octets`);
    texts.push(...Object.values(sd.params), msg);
    if (s.format === 'cef') {
      checkCef(msg, a, what);
      texts.push(...Object.values(cefExtension(msg)), ...cefSplit(msg).header);
    } else if (s.format === 'leef') {
      checkLeef(msg, a, what);
      texts.push(...Object.values(leefParse(msg).attrs));
    } else if (s.format === 'json') {
      const j = JSON.parse(msg);
      checkAlertJson(j, a, what);
      texts.push(...strings(j));
    }
  }
  return texts;
}

/** the capped builders at a random cap between what their uncut fields need and past the syslog cap */
function checkCapped(g: Gen, a: AlertEvent): string[] {
  const texts: string[] = [];
  const builders: [string, (a: AlertEvent, max: number) => string, (s: string, what: string) => void][] = [
    ['cef', cef, (s, what) => checkCef(s, a, what)],
    ['leef', leef, (s, what) => checkLeef(s, a, what)],
    ['json', alertJson, (s, what) => checkAlertJson(JSON.parse(s), a, what)],
  ];
  for (const [name, build, check] of builders) {
    const floor = octets(build(a, 0)); // the identifying fields alone
    const max = floor + g.pick([0, 1, 2, 3, 17, 100, 1000, 5000, 20000]) + g.int(50);
    const s = build(a, max);
    const what = `${name}(max ${max}, floor ${floor}) of alert ${a.id}`;
    assert.ok(octets(s) <= max, `${what}: ${octets(s)} octets`);
    check(s, what);
    texts.push(s);
  }
  return texts;
}

function leaks(texts: [string, string][], secrets: Secret[]): string | undefined {
  for (const [where, t] of texts) {
    // every secret but the password markers has digits
    if (!/[0-9\uff10-\uff19]/.test(t) && !t.includes('PWSECRET')) continue;
    const p = project(t);
    for (const sec of secrets) if (p.includes(sec.clear)) return `${JSON.stringify(sec.text)} in clear in ${where}: ${JSON.stringify(t.length > 300 ? `${t.slice(0, 300)}…` : t)}`;
  }
  return undefined;
}

/** runs one case through the analyzer and every format; throws on the first broken invariant */
function runCase(g: Gen, events: ShadowEvent[], secrets: Secret[], lone: boolean): { alerts: number } {
  const out = new Keep();
  const an = createAnalyzer(out, { policy: POLICY, links: null });
  for (const e of events) an.write(e);
  an.close();
  assert.equal(an.errors, 0, 'the analyzer threw on an event');
  const texts: [string, string][] = [];
  for (const ev of out.events) {
    const json = JSON.stringify(ev);
    assert.equal(typeof json, 'string', `a ${ev.type} event that JSON cannot write`);
    assert.equal(JSON.parse(json).type, ev.type);
    for (const t of strings(ev)) texts.push([`the ${ev.type} event`, t]);
    if (ev.type === 'credential') for (const k of SECRET_FIELDS) assert.ok(!(k in ev), `credential event still has ${k}`);
  }
  const alerts = out.events.filter((e): e is AlertEvent => e.type === 'alert');
  for (const a of alerts) {
    assert.match(a.id, /^[0-9a-f]{24}$/);
    assert.ok(['low', 'medium', 'high', 'critical'].includes(a.severity), a.severity);
    for (const s of SINKS) for (const t of checkPayload(s, a, sinkPayload(s, a))) texts.push([`${s.name} of alert ${a.id}`, t]);
    for (const t of checkCapped(g, a)) texts.push([`a capped builder of alert ${a.id}`, t]);
  }
  const leak = leaks(texts, secrets);
  assert.ok(!leak, leak);
  if (!lone) {
    for (const [where, t] of texts) {
      const m = /[\ud800-\udfff]/.test(t) ? LONE_SURROGATE.exec(t) : null;
      assert.ok(!m, `a lone surrogate made by a cut in ${where}: ${JSON.stringify(t.slice(Math.max(0, (m?.index ?? 0) - 40), (m?.index ?? 0) + 10))}`);
    }
  }
  return { alerts: alerts.length };
}

describe('hostile events through the analyzer and every SIEM format (seeded fuzz)', function () {
  this.timeout(fuzzSeconds(120) * 1000);

  it('keeps every payload one parseable line with the alert id, addresses and severity, and no secret in clear', () => {
    const seed = fuzzSeed(0x51e3f022);
    const cases = fuzzCases(200);
    let alerts = 0;
    let planted = 0;
    for (let k = 0; k < cases; k++) {
      const caseSeed = (Math.imul(seed, 0x9e3779b1) + k) >>> 0 || 1;
      const g = new Gen(caseSeed);
      const { events, secrets, lone } = makeCase(g);
      planted += secrets.length;
      try {
        alerts += runCase(g, events, secrets, lone).alerts;
      } catch (e) {
        (e as Error).message = `case ${k} (case seed ${caseSeed}; fuzz seed ${seed}): ${(e as Error).message}`;
        throw e;
      }
    }
    // the fuzz reached what it is for
    assert.ok(alerts > cases && planted > cases, `${alerts} alerts and ${planted} planted secrets in ${cases} cases`);
  });
});

// MSN Messenger (MSNP): notification server and switchboard sessions on any port, the HTTP gateway
// (gateway.dll) and CONNECT tunnels, and the MSNFTP file-transfer side connection.

import { declineOnThrow, type Detection, type DetectInput, type DetectResult, type SessionContext, type SignatureModule, type StreamDecoder } from '../types';
import type { Dir } from '../../sensor/types';
import { HTTP1, httpPair, httpPairFeed, offeredHead, offeredRequestLine, startsWithBytes } from '../http/stream';
import { type FramerLimits, MsnFramer, PAYLOAD_COMMANDS } from './parser';
import type { SignatureData } from '../types';
import { MsnSession } from './session';
import { msnftpDecoder } from './msnftp';
import { dcStart, msnDcDecoder } from './directconn';
import { ByteQueue } from '../text';
import { clip } from '../../analyzer/clip';

const MAX_BODY = 1 << 20;

/** data.yaml `limits` and `payload_commands`, checked: a bad override falls back to the built-in value */
export function framerLimits(data: SignatureData): FramerLimits {
  const l = (data.limits ?? {}) as Record<string, unknown>;
  const num = (v: unknown, lo: number, hi: number, dflt: number) => (typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi ? v : dflt);
  const cmds = Array.isArray(data.payload_commands) ? data.payload_commands.map(String).filter((c) => /^[A-Z0-9]{3}$/.test(c)) : [];
  return {
    maxLine: num(l.max_line, 1024, 1 << 20, 16384),
    maxPayload: num(l.max_payload, 1024, 16 << 20, 1 << 20),
    payloadCommands: cmds.length ? new Set(cmds) : PAYLOAD_COMMANDS,
  };
}

// First lines that only MSNP speaks (client and server side, so a flow picked up mid-stream or seen
// in one direction only is still recognized). A single line must carry a passport or MSNP's exact shape.
const MSNP_LINES: [RegExp, string][] = [
  [/^VER \d{1,10}( MSNP\d{1,2})+( CVR0)?$/, 'VER … MSNPx protocol negotiation'],
  [/^CVR \d{1,10} 0x[0-9a-fA-F]{4} \S+ \S+ \S+ \S+ \S+/, 'CVR client version report'],
  [/^USR \d{1,10} (TWN|SSO|MD5) [IS] \S+$/, 'USR sign-in'],
  [/^USR \d{1,10} [^\s@]+@[^\s@]+ [\d.]+$/, 'USR switchboard sign-in with passport'],
  [/^USR \d{1,10} OK [^\s@]+@[^\s@]+( \S+){0,3}$/, 'USR OK passport'],
  [/^ANS \d{1,10} [^\s@]+@[^\s@]+ [\d.]+ \d+$/, 'ANS switchboard answer with passport'],
  [/^JOI [^\s@]+@[^\s@]+ \S+( \d+)?$/, 'JOI participant joined'],
  [/^IRO \d{1,10} \d{1,4} \d{1,4} [^\s@]+@[^\s@]+ \S+( \d+)?$/, 'IRO initial roster'],
  [/^RNG \d{1,12} [\d.]+:\d{1,5} CKI \S+ [^\s@]+@[^\s@]+ \S+/, 'RNG switchboard invitation'],
  [/^XFR \d{1,10} (NS|SB) [\d.]+:\d{1,5} /, 'XFR server referral'],
  [/^ILN \d{1,10} (NLN|BSY|IDL|BRB|AWY|PHN|LUN|HDN) [^\s@]+@[^\s@]+ \S+/, 'ILN initial presence of a contact'],
  [/^NLN (NLN|BSY|IDL|BRB|AWY|PHN|LUN|HDN) [^\s@]+@[^\s@]+ \S+/, 'NLN contact presence change'],
  [/^FLN [^\s@]+@[^\s@]+( \d+)?$/, 'FLN contact signed off'],
  [/^CHG \d{1,10} (NLN|BSY|IDL|BRB|AWY|PHN|LUN|HDN)( \d+( \S+)?)?$/, 'CHG own presence'],
];
const MSG_LINE = /^MSG ([^\s@]+@[^\s@]+ \S+|\d{1,10} [UNAD]) \d{1,7}$/;
/** every pattern above starts with one of these commands and a space: other lines skip the regexes */
const MSNP_STARTS = new Set(['VER ', 'CVR ', 'USR ', 'ANS ', 'JOI ', 'IRO ', 'RNG ', 'XFR ', 'ILN ', 'NLN ', 'FLN ', 'CHG ', 'MSG ']);

/**
 * Lines MSNP clients and servers exchange all session long that prove nothing alone (keep-alives,
 * challenges, list and status updates): a capture that starts in an idle session (no SYN, no sign-on)
 * usually opens with them. They are stepped over (payload included) to reach a line that decides;
 * they never classify a flow by themselves. `payload`: the last argument is a payload length.
 */
const NEUTRAL_LINES: [RegExp, boolean][] = [
  [/^PNG$/, false],
  [/^QNG \d{1,6}$/, false],
  [/^CHL \d{1,10} \d{8,40}$/, false],
  [/^QRY \d{1,10} \S{1,64} \d{1,6}$/, true],
  [/^(UUX|ADL|RML|GCF|UUN|UUM|SDG|PUT|DEL|FQY) \d{1,10} \d{1,7}$/, true],
  [/^(NFY|NOT) (PUT|DEL|\d{1,7})( \d{1,7})?$/, true],
  [/^UBX \S{1,300} \d{1,7}$/, true],
  [/^(BLP|PRP|SBP|SYN|GTC|ADC|REM|LSG|LST|ACK|NAK|OUT|URL|SDC) ?[ -~]{0,300}$/, false],
];
/** payload commands whose payload shape only MSNP has (MSNP 11–21: status XML, routing headers) */
const MSNP_PAYLOADS: [RegExp, RegExp, string][] = [
  [/^(UBX|UUX) /, /^<(Data|EndpointData|PrivateEndpointData)>/, 'personal status / endpoint data (MSNP 11+)'],
  [/^(ADL|RML) /, /^<ml[ >]/, 'contact list membership XML (MSNP 13+)'],
  [/^GCF /, /^<Policies>/, 'server policies (MSNP 13+)'],
  [/^(SDG|NFY|PUT|DEL) /, /^Routing: 1\.0\r\n/, 'MSNP 21+ routed message'],
];
const MAX_LINES = 16;

export function detectMsn(input: DetectInput): DetectResult {
  const d = input.data;
  if (!d.length) return 'more';
  const mid = midStream(input);
  const c0 = d[0];
  if (c0 === 4) {
    // a direct connection: "foo\0" and the P2P nonce handshake (directconn.ts)
    const dc = dcStart(d);
    if (dc === true) return det('msn.dc', 'MSN direct connection (foo and the P2P handshake)');
    if (dc === 'more') return 'more';
  }
  if (!((c0 >= 0x41 && c0 <= 0x5a) || (c0 >= 0x30 && c0 <= 0x39))) return mid ? resync(d) : null;
  const http = detectHttp(input);
  if (http !== null) return http;
  // Seen from the SYN, the connecting side speaks MSNP first (VER, USR, ANS; VER MSNFTP): server lines
  // after a first client line of anything else are a text being served (a Gopher selector answered by
  // a file quoting "USR 5 OK alice@example.com 1 0": near-miss seed 41001323)
  if (input.flow?.clientBy === 'syn' && input.dir === 1 && clientOpensOther(input.other)) return null;
  const r = detectLines(d, input, mid);
  return r === null && mid ? resync(d) : r;
}

const RESYNC_WINDOW = 4096;

/** bytes looked at for the end of a `MSG` line while resynchronising (detection and decoder): a work count for tests */
export const resyncWork = { lineBytes: 0 };

/**
 * `MSG … len` at `k` whose payload starts with a MIME header: true, false, or 'more' while the line or
 * the payload's first bytes have not arrived. `end`: the payload's end.
 */
function msgAt(d: Buffer, k: number): { ok: boolean | 'more'; end: number } {
  // the line's end looked for in its 200 bytes only: every 'MSG ' of a long line searching on to its end cost O(n²)
  const lim = Math.min(d.length, k + 201);
  let nl = k;
  while (nl < lim && d[nl] !== 0x0a) nl++;
  resyncWork.lineBytes += nl - k;
  if (nl === lim) return { ok: lim === d.length && d.length - k < 200 ? 'more' : false, end: 0 };
  const line = d.toString('latin1', k, nl).replace(/\r$/, '');
  if (!MSG_LINE.test(line)) return { ok: false, end: 0 };
  const end = nl + 1 + Number(line.slice(line.lastIndexOf(' ') + 1));
  return { ok: mimeStart(d.toString('latin1', nl + 1, nl + 15)), end };
}

/** after findMsg answered 'more': where a search of the same bytes, and more, may go on from (what is before it is no MSG) */
let findMsgResume = 1;

/** the first `MSG … len` + MIME payload in the window after a partial line or payload (-1: none; 'more': one may be arriving) */
function findMsg(d: Buffer, from: number): { at: number; end: number } | 'more' | -1 {
  const lim = Math.min(d.length, RESYNC_WINDOW);
  for (let k = d.indexOf('MSG ', from, 'latin1'); k >= 0 && k < lim; k = d.indexOf('MSG ', k + 1, 'latin1')) {
    const m = msgAt(d, k);
    if (m.ok === 'more') {
      findMsgResume = k;
      return 'more';
    }
    if (m.ok) return { at: k, end: m.end };
  }
  findMsgResume = Math.max(from, d.length - 3);
  return d.length < RESYNC_WINDOW ? 'more' : -1;
}

/**
 * A flow picked up without its SYN inside a payload or line (the tail of a message's text, "…firstMSG
 * 4 N 118"): the first `MSG … len` with a MIME payload further in, whose payload is followed, by its
 * exact length, by MSNP lines (up to 8 KiB) — the same evidence a flow starting on a line gets.
 */
function resync(d: Buffer): DetectResult {
  for (let from = 1; ; ) {
    const f = findMsg(d, from);
    if (f === -1) return null;
    if (f === 'more') return 'more';
    if (f.end > d.length) return d.length < 8192 ? 'more' : null;
    const follows = msnpFollows(d.subarray(f.end));
    if (follows === true) return det('msn.msg', 'MSG with MIME payload after a partial one (picked up mid-stream)');
    if (follows === 'empty') return d.length < 8192 ? 'more' : null;
    from = f.at + 1;
  }
}

/** MSNP lines from the start of `d` (a flow's first bytes, or a proxy tunnel's) */
function detectLines(d: Buffer, input: DetectInput, mid: boolean): DetectResult {
  let o = 0;
  for (let n = 0; n < MAX_LINES; n++) {
    const nl = d.indexOf(0x0a, o);
    if (nl < 0) return d.length - o < 512 && /^[A-Z0-9]{1,3}( |$)/.test(d.toString('latin1', o, o + 4)) ? 'more' : null;
    const line = d.toString('latin1', o, Math.min(nl, o + 1024)).replace(/\r$/, '');
    const r = decide(line, d.subarray(nl + 1));
    if (r !== 'skip') return r && r !== 'more' && mid ? pickedUp(r, n, line, d.subarray(nl + 1), d.length, input.other) : r;
    // a neutral line: step over it (and its payload) to the next
    o = nl + 1;
    const payload = /^(\S{3}) .* (\d{1,7})$/.exec(line);
    if (payload && NEUTRAL_LINES.some(([re, p]) => p && re.test(line))) o += Number(payload[2]);
    if (o >= d.length) return d.length < 8192 ? 'more' : null;
  }
  return null;
}

/** the capture missed the flow's SYN (a flow without that information counts as seen from its start) */
function midStream(input: DetectInput): boolean {
  const by = input.flow?.clientBy;
  return by === 'port' || by === 'first';
}

/**
 * A flow picked up without its SYN may start anywhere: in the middle of a line ("…[ircbot] USR 5 OK
 * alice@example.com 1 0" in a log), or inside a file that holds MSNP (a downloaded capture). So what
 * follows the deciding line (and its payload) must frame as MSNP too, up to the window: every line an
 * MSNP command or error code, payloads stepped over by their length. A first line that decides by its
 * shape alone (msn.line / msn.msnftp), or a MSG whose MIME payload is all there is so far, needs such
 * a line after it — in this direction, or else as the other direction's first line. NATS delivers
 * "MSG <subject> <sid> <length>" and a payload too; a subject may hold an address and the payload a
 * mail, and what follows it (CRLF, then NATS lines) is no MSNP. (A MSG found past a partial line is
 * judged so already: resync.)
 */
function pickedUp(r: Detection, n: number, line: string, after: Buffer, seen: number, other: Buffer): DetectResult {
  const pm = /^(\S{3}) .* (\d{1,7})$/.exec(line);
  const rest = pm && PAYLOAD_COMMANDS.has(pm[1]) ? after.subarray(Number(pm[2])) : after;
  if (rolesClash(line, rest)) return null;
  const follows = msnpFollows(rest);
  if (follows === false) return null;
  if (follows === true || n > 0 || r.evidence.signature === 'msn.payload') return r;
  const opens = otherOpens(other);
  return opens === true ? r : seen < 8192 ? 'more' : null;
}

/**
 * The side of MSNP a line can only come from: 'c' a client's forms (a version list offering several
 * protocols, MSNP9 or later among them — servers from MSNP9 on answer with one, the MSNP2–7 servers
 * echoed their list; `USR n TWN|SSO|MD5 I passport`; `QRY n id len`; `CAL n passport`; `ANS n passport
 * cookie id`), 's' a server's (challenge, ring, roster and presence pushes, `USR n OK`). The servers
 * answer QRY, CAL and ANS with the same words in other forms (`QRY 12`, `CAL 3 RINGING 11752013`,
 * `ANS 1 OK`): those are no client's.
 */
function sideOf(line: string): 'c' | 's' | undefined {
  if (/^VER \d{1,10}( MSNP\d{1,2}){2,}/.test(line) && /MSNP(9|[1-9]\d)\b/.test(line) || /^USR \d{1,10} (TWN|SSO|MD5) I /.test(line) || /^QRY \d{1,10} \S+ \d{1,4}$/.test(line) || /^CAL \d{1,10} [^\s@]+@\S+$/.test(line) || /^ANS \d{1,10} \S+@\S+ \S+ \d+$/.test(line)) return 'c';
  if (/^(CHL|RNG|JOI|IRO|NLN|ILN|FLN) /.test(line) || /^USR \d{1,10} OK /.test(line)) return 's';
  return undefined;
}

/**
 * One direction's lines (the deciding one and up to 16 complete lines after it, payloads stepped
 * over) speak as both sides of MSNP: a conversation's text quoting both (a telnet BBS user pasting
 * MSNP lines, picked up mid-stream: near-miss seed 75000048). Judged on what has arrived when the
 * direction is decided: a clash in lines that come later is not seen.
 */
function rolesClash(line: string, rest: Buffer): boolean {
  let sides = sideOf(line) ?? '';
  let o = 0;
  for (let n = 0; n < 16 && o < rest.length && o < 8192; n++) {
    const nl = rest.subarray(o, o + 1025).indexOf(0x0a);
    if (nl < 0) break;
    const next = rest.toString('latin1', o, o + nl).replace(/\r$/, '');
    const side = sideOf(next);
    if (side && !sides.includes(side)) sides += side;
    if (sides.length > 1) return true;
    o += nl + 1;
    const pm = /^(\S{3}) .* (\d{1,7})$/.exec(next);
    if (pm && PAYLOAD_COMMANDS.has(pm[1])) o += Number(pm[2]);
  }
  return false;
}

/**
 * The other direction's first line is an MSNP line: one that decides, a neutral one, an error reply or
 * another MSNP command. A command word alone is not enough: "MSG from the queue looked odd" (a NATS
 * payload's text) starts like MSNP's MSG but has none of its forms.
 */
function otherOpens(other: Buffer): boolean | 'more' {
  if (msnpStart(other.subarray(0, 4)) !== true) return false;
  const nl = other.subarray(0, 1025).indexOf(0x0a);
  if (nl < 0) return other.length < 1024 ? 'more' : false;
  const line = other.toString('latin1', 0, nl).replace(/\r$/, '');
  if (/^\d{3} \d{1,10}( [ -~]{1,300})?$/.test(line)) return true;
  const r = decide(line, other.subarray(nl + 1));
  // a neutral line opens MSNP with its parameters (ACK 4, LST …); a bare word only as OUT: STOMP acks
  // with a bare "ACK" line
  if (r === 'skip') return line.length > 3 || line === 'OUT';
  if (r === 'more') return 'more';
  if (r) return true;
  // a command that decides nothing alone (BYE, CAL, ADD, …), if it is none whose forms were just tried;
  // three digits open MSNP only as an error reply (above): "001 bob :Welcome" is IRC's welcome, or a
  // line pasted into a BBS (near-miss seed 55000006)
  const cmd = line.slice(0, 3);
  return OTHER_COMMANDS.has(cmd) && !MSNP_COMMANDS.has(cmd);
}

/** The client's first line (once it has ended) starts with no MSNP command: not an MSNP session. */
function clientOpensOther(other: Buffer): boolean {
  if (!other.length) return false;
  const nl = other.subarray(0, 1025).indexOf(0x0a);
  if (nl < 0 && other.length < 1024) return false;
  return msnpStart(other.subarray(0, 4)) !== true;
}

/** `b` (up to 8 KiB) frames as MSNP lines and payloads: true, false, or 'empty' when no line has started */
function msnpFollows(b: Buffer): boolean | 'empty' {
  let o = 0;
  let lines = 0;
  while (o < b.length && o < 8192) {
    const start = msnpStart(b.subarray(o, o + 4));
    if (start === false) return false;
    const nl = b.indexOf(0x0a, o);
    // a line (or a MSG's payload head) still arriving frames nothing yet: the next bytes decide
    if (nl < 0) return !msgForm(b.toString('latin1', o, Math.min(b.length, o + 1024)), false) ? false : lines > 0 ? true : 'empty';
    const line = b.toString('latin1', o, Math.min(nl, o + 1024));
    if (!msgForm(line, true)) return false;
    o = nl + 1;
    if (line.startsWith('MSG ')) {
      const mime = mimeStart(b.toString('latin1', o, Math.min(b.length, o + 14)));
      if (mime === false) return false;
      if (mime === 'more') return lines > 0 ? true : 'empty';
    }
    lines++;
    const pm = /^(\S{3}) .* (\d{1,7})\r?$/.exec(line);
    if (pm && PAYLOAD_COMMANDS.has(pm[1])) o += Number(pm[2]);
  }
  return lines > 0 || o < b.length ? true : 'empty';
}

/**
 * A MSG payload's first 14 bytes start a MIME header (true), not (false), or are too few to tell
 * ('more'): every MSNP MSG carries one. A NATS `MSG subject sid length` has MSG's form, and its payload
 * is JSON or anything.
 */
function mimeStart(head: string): boolean | 'more' {
  const h = head.toLowerCase();
  if (h.length < 14) return 'mime-version:'.startsWith(h) || 'content-type:'.startsWith(h) ? 'more' : false;
  return /^(mime-version|content-type):/.test(h);
}

/**
 * A MSG line has MSG's form, or (`whole` false: cut short) may still get it: three parameters, the
 * last a payload length (MSG passport name length, MSG trid ack length; MSNP2's "MSG Hotmail Hotmail
 * length"). Other lines pass. "MSG from the queue looked odd", a chat text, is no MSNP line.
 */
function msgForm(line: string, whole: boolean): boolean {
  if (!line.startsWith('MSG ')) return true;
  if (whole) return /^MSG \S+ \S+ \d{1,7}\r?$/.test(line);
  const t = line.split(' ');
  return t.length < 4 || (t.length === 4 && /^\d{0,7}\r?$/.test(t[3]));
}

/** `b` starts with an MSNP command (or a 3-digit error reply) and its separator; 'more' when too short */
function msnpStart(b: Buffer): boolean | 'more' {
  if (b.length < 4) {
    const head = b.toString('latin1');
    return /^(?:[A-Z0-9]{1,3})?$/.test(head) ? 'more' : false;
  }
  const head = b.toString('latin1', 0, 4);
  return (MSNP_COMMANDS.has(head.slice(0, 3)) || OTHER_COMMANDS.has(head.slice(0, 3)) || /^\d{3}$/.test(head.slice(0, 3))) && (head[3] === ' ' || head[3] === '\r' || head[3] === '\n');
}

/** A first line that is an MSNP error reply: three digits, a transaction id (and parameters). */
function errorReplyStart(b: Buffer): boolean | 'more' {
  // only the line's first 400 bytes are looked at: the held bytes are looked at again on every segment
  const nl = b.subarray(0, 401).indexOf(0x0a);
  if (nl < 0) return b.length < 64 && /^\d{1,3}( \d{0,10})?$/.test(b.toString('latin1')) ? 'more' : false;
  return /^\d{3} \d{1,10}( [ -~]{1,300})?\r?$/.test(b.toString('latin1', 0, nl));
}

/** C0 controls but the tab, and DEL */
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;

/** MSNP commands that decide nothing but may follow a line that does (switchboard, older versions, lists) */
const OTHER_COMMANDS = new Set(['CAL', 'BYE', 'INF', 'ADD', 'ADG', 'RMG', 'REG', 'SBS', 'UBN', 'UBM', 'SND', 'IPG', 'PAG', 'BPR', 'SBP', 'FND', 'REA', 'IMS', 'PRP', 'SDC', 'NOT']);

/** one line (and the bytes after it): a detection, 'more', null, or 'skip' for a neutral line */
/** every command the patterns above start with: other lines (SMTP, FTP, POP, …) skip the regexes */
const MSNP_COMMANDS = new Set([
  'VER', 'CVR', 'USR', 'ANS', 'JOI', 'IRO', 'RNG', 'XFR', 'ILN', 'NLN', 'FLN', 'CHG', 'MSG', 'PNG', 'QNG', 'CHL', 'QRY', 'UUX', 'ADL',
  'RML', 'GCF', 'UUN', 'UUM', 'SDG', 'PUT', 'DEL', 'FQY', 'NFY', 'NOT', 'UBX', 'BLP', 'PRP', 'SBP', 'SYN', 'GTC', 'ADC', 'REM', 'LSG',
  'LST', 'ACK', 'NAK', 'OUT', 'URL', 'SDC',
]);

function decide(line: string, rest: Buffer): DetectResult | 'skip' {
  if (line.length < 3 || !MSNP_COMMANDS.has(line.slice(0, 3))) return null;
  // MSNP lines are text: a NUL or other control byte ends a STOMP frame or a C string, not a command
  // (a STOMP body's tail "USR 5 OK alice@example.com 1 0\0", near-miss seed 56000054)
  if (CONTROL.test(line)) return null;
  if (/^VER (\d{1,10} )?MSNFTP$/.test(line)) return det('msn.msnftp', 'VER MSNFTP file transfer');
  if (MSNP_STARTS.has(line.slice(0, 4))) {
    for (const [re, why] of MSNP_LINES) if (re.test(line)) return det('msn.line', why);
    if (MSG_LINE.test(line)) {
      const head = rest.toString('latin1', 0, 14);
      const mime = mimeStart(head);
      if (mime === 'more') return 'more';
      if (mime) return det('msn.msg', 'MSG with MIME payload');
      if (head.length < 14) return null;
    }
  }
  for (const [cmd, shape, why] of MSNP_PAYLOADS) {
    if (!cmd.test(line) || !NEUTRAL_LINES.some(([re, p]) => p && re.test(line))) continue;
    const head = rest.toString('latin1', 0, 16);
    if (shape.test(head)) return det('msn.payload', `${line.slice(0, 3)} with an MSNP-only payload: ${why}`);
    if (head.length < 16 && rest.length < 16) return 'more';
  }
  return NEUTRAL_LINES.some(([re]) => re.test(line)) ? 'skip' : null;
}

function det(signature: string, reason: string, serverName?: string): Detection {
  return { protocol: 'msn', evidence: { signature, reason }, ...(serverName ? { serverName } : {}) };
}

/** The HTTP gateway and tunnel forms; null when the offered bytes are not HTTP. */
function detectHttp(input: DetectInput): DetectResult {
  const d = input.data;
  const rl = offeredRequestLine(input);
  if (rl) {
    const head = offeredHead(input);
    // the Host value only for a detection that reports it
    if (/\/gateway\/gateway\.dll/i.test(rl.target)) return det('msn.http-gateway', `HTTP ${rl.method} to the MSN gateway (gateway.dll)`, head.header('host'));
    if (rl.method === 'CONNECT' && /:1863$/.test(rl.target)) return connectTunnel(input, rl.target, head.end);
    const ct = head.header('content-type');
    if (ct && /^(application\/x-msn-messenger|text\/x-msnmsgr)/i.test(ct)) return det('msn.http-gateway', `HTTP body of type ${ct.slice(0, 60)}`, head.header('host'));
    return head.end >= 0 || d.length > 8192 ? null : 'more';
  }
  if (startsWithBytes(d, HTTP1)) {
    const head = offeredHead(input);
    const ct = head.header('content-type');
    if (head.header('x-msn-messenger') !== undefined || (ct && /^application\/x-msn-messenger/i.test(ct))) return det('msn.http-gateway', 'HTTP response from the MSN gateway');
    return head.end >= 0 || d.length > 8192 ? null : 'more';
  }
  if (d.length < 8 && /^[A-Z]+$/.test(d.toString('latin1'))) return 'more';
  return null;
}

/**
 * `CONNECT host:1863`: MSN when the host is an MSN server (data.yaml), else only when the tunnel's first
 * bytes are an MSNP client's first command — the port alone is a guess (a proxy user's dev server on
 * 1863, TLS through it).
 */
function connectTunnel(input: DetectInput, target: string, headEnd: number): DetectResult {
  const host = target.replace(/:\d+$/, '');
  const d = input.data;
  const found = () => det('msn.http-connect', `CONNECT tunnel to ${clip(target, 100)}`, host);
  if (input.lookup.host(host.toLowerCase())?.protocol === 'msn') return found();
  if (headEnd < 0) return d.length > 8192 ? null : 'more';
  // an MSNP client opens with VER (notification server) or USR/ANS (switchboard): four bytes tell
  const tunnel = d.toString('latin1', headEnd + 4, headEnd + 8);
  if (/^(?:VER|USR|ANS) $/.test(tunnel)) return found();
  return tunnel.length < 4 && /^(?:V(?:ER?)?|U(?:SR?)?|A(?:NS?)?)?$/.test(tunnel) && d.length <= 8192 ? 'more' : null;
}

function tcpDecoder(ctx: SessionContext): StreamDecoder {
  const session = new MsnSession(ctx);
  const limits = framerLimits(ctx.data);
  let ts = 0;
  const framers = ([0, 1] as Dir[]).map((dir) => new MsnFramer((c) => session.handle(dir, c, ts), (r) => ctx.malformed(r), limits));
  // picked up without the SYN, a direction may start inside a line or payload: until it starts on an
  // MSNP line, its bytes are held (up to the resync window) to start at the first MSG with a MIME payload
  const by = ctx.flow.clientBy;
  const seeking: (ByteQueue | null)[] = by === 'port' || by === 'first' ? [new ByteQueue(), new ByteQueue()] : [null, null];
  /** where the search of seeking[dir] for a MSG goes on (each segment searches its own bytes, not all held again) */
  const seekFrom = [1, 1];
  const seek = (dir: Dir, data: Buffer, ended: boolean) => {
    const q = seeking[dir]!;
    const b = q.feed(data);
    // a number starts a direction only as a whole error reply, "911 3": a bare one is a length's tail
    // ("…Bob 117"), and "511 :x…" the tail of a text that a glued MSG follows
    const start = b[0] >= 0x30 && b[0] <= 0x39 ? errorReplyStart(b) : msnpStart(b.subarray(0, 4));
    let at = start === true ? 0 : -1;
    if (at < 0 && (start === false || ended)) {
      const f = findMsg(b, seekFrom[dir]);
      if (f === 'more' && !ended && b.length < RESYNC_WINDOW) {
        q.keepFrom(b, 0);
        seekFrom[dir] = findMsgResume;
        return;
      }
      at = typeof f === 'object' ? f.at : 0; // none: read from the start, as a flow seen from its SYN is
    } else if (at < 0) {
      q.keepFrom(b, 0);
      return;
    }
    seeking[dir] = null;
    framers[dir].push(b.subarray(at));
  };
  return {
    onData(dir, data, t) {
      ts = t;
      if (seeking[dir]) seek(dir, data, false);
      else framers[dir].push(data);
    },
    onGap(dir) {
      // bytes lost: resynchronize at the next line (a payload in flight is dropped)
      framers[dir] = new MsnFramer((c) => session.handle(dir, c, ts), (r) => ctx.malformed(r), limits);
      seeking[dir]?.clear();
      seekFrom[dir] = 1;
    },
    onEnd() {
      for (const dir of [0, 1] as Dir[]) if (seeking[dir]?.length) seek(dir, Buffer.alloc(0), true);
      // a payload whose length promised more than the stream held (lying length, or a cut capture)
      for (const f of framers) if (f.awaitingPayload) ctx.malformed('stream ended inside a payload');
    },
  };
}

/** MSNP inside HTTP bodies (gateway.dll) or behind a CONNECT tunnel. */
function gatewayDecoder(ctx: SessionContext): StreamDecoder {
  const session = new MsnSession(ctx);
  const limits = framerLimits(ctx.data);
  let ts = 0;
  const raw = ([0, 1] as Dir[]).map((dir) => new MsnFramer((c) => session.handle(dir, c, ts), (r) => ctx.malformed(r), limits));
  const streams = httpPair((dir) => {
    // one growable buffer: a body in 1-byte chunks costs about its size, not a Buffer per chunk
    let body = new ByteQueue(0);
    let isMsn = false;
    let over = false;
    return {
      head(h) {
        body.clear();
        over = false;
        const ct = h.headers.get('content-type') ?? '';
        isMsn = /x-msn-messenger|x-msnmsgr/i.test(ct) || /\/gateway\/gateway\.dll/i.test(h.target) || h.headers.has('x-msn-messenger');
        const host = h.headers.get('host');
        if (host && dir === 0) ctx.setServerName(host.replace(/:\d+$/, ''));
      },
      body(chunk) {
        if (!isMsn || over) return;
        if (body.length + chunk.length > Math.max(MAX_BODY, limits.maxPayload!)) {
          ctx.malformed('gateway body larger than the payload limit');
          over = true;
          body.clear();
          return;
        }
        body.push(chunk);
      },
      end() {
        if (!isMsn || over || !body.length) return;
        // each body holds whole commands: a fresh framer keeps a lying length inside its body
        const f = new MsnFramer((c) => session.handle(dir, c, ts), (r) => ctx.malformed(r), limits);
        const whole = body.view();
        body = new ByteQueue(0); // (`whole` keeps the storage it is a view of)
        f.push(whole);
        if (f.buffered) ctx.malformed('gateway body ends inside a command');
      },
      raw(data) {
        raw[dir].push(data);
      },
      malformed(r) {
        ctx.malformed(r);
      },
    };
  });
  return httpPairFeed(streams, (t) => (ts = t));
}

export const module: SignatureModule = {
  id: 'msn',
  protocols: ['msn'],
  transports: ['tcp'],
  detect: declineOnThrow(detectMsn),
  decoder(ctx, detection) {
    const sig = detection.evidence.signature;
    if (sig === 'msn.msnftp') return msnftpDecoder(ctx);
    if (sig === 'msn.dc') return msnDcDecoder(ctx, new MsnSession(ctx, { direct: true }));
    if (sig.startsWith('msn.http')) return gatewayDecoder(ctx);
    return tcpDecoder(ctx);
  },
};

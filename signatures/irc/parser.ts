// IRC wire format (RFC 1459/2812 + IRCv3 message tags, CTCP, DCC): pure bytes → lines → parsed
// messages. No I/O; every function is bounded and never throws on any input.
import { isUtf8 } from 'node:buffer';
import { ByteQueue, cp1252 } from '../text';

/** Longest line we keep (RFC says 512, IRCv3 tags add 8 KiB); longer lines are skipped as malformed. */
export const MAX_LINE = 8192;

/**
 * Splits a byte stream into lines ending in \n (a trailing \r is dropped). Memory is bounded by
 * MAX_LINE: a line that grows beyond it is reported once through onOverflow and skipped up to its \n.
 */
export class LineFramer {
  /**
   * the start of a line whose \n has not arrived, in one growable buffer: a line in 1-byte segments
   * costs about its size (a Buffer per segment cost ~110 bytes a byte: 900 KB for one 8 KiB line)
   */
  private q = new ByteQueue(0);
  private skipping = false;

  constructor(
    private readonly onLine: (line: Buffer) => void,
    private readonly onOverflow: () => void,
    private readonly max = MAX_LINE,
  ) {}

  /** bytes held of a line not ended yet */
  get buffered(): number {
    return this.q.length;
  }

  push(data: Buffer): void {
    let start = 0;
    while (start < data.length) {
      const nl = data.indexOf(0x0a, start);
      const end = nl < 0 ? data.length : nl;
      if (this.skipping) {
        if (nl >= 0) this.skipping = false;
      } else if (this.q.length + (end - start) > this.max) {
        this.q.clear();
        this.onOverflow();
        if (nl < 0) this.skipping = true;
      } else if (nl < 0) {
        this.q.push(data.subarray(start, end));
      } else {
        let line = data.subarray(start, end);
        if (this.q.length) {
          this.q.push(line);
          line = this.q.view();
        }
        if (line.length && line[line.length - 1] === 0x0d) line = line.subarray(0, line.length - 1);
        // (a view of the queue: valid during the call, as a view of `data` is)
        this.onLine(line);
        this.q.clear();
      }
      if (nl < 0) break;
      start = nl + 1;
    }
  }

  /** a hole in the stream: whatever line was being assembled is lost */
  gap(): void {
    this.q.clear();
    this.skipping = true;
  }
}

/** IRC has no charset: UTF-8 when the bytes are valid UTF-8, else Windows-1252 (irssi's default recode_fallback). */
export function decodeText(b: Buffer): string {
  return isUtf8(b) ? b.toString('utf8') : cp1252(b);
}

export interface IrcMessage {
  tags?: string;
  prefix?: string;
  /** upper-cased command or 3-digit numeric */
  command: string;
  params: string[];
}

const MAX_PARAMS = 20;

/**
 * line[i, sp) upper-cased when it is 1–20 letters or 3 digits, else undefined. ASCII by char codes;
 * other text through toUpperCase and the pattern (some non-ASCII letters upper-case to ASCII ones).
 */
function commandOf(line: string, i: number, sp: number): string | undefined {
  const n = sp - i;
  if (n < 1) return undefined;
  let letters = 0;
  let digits = 0;
  let lower = false;
  for (let k = i; k < sp; k++) {
    const c = line.charCodeAt(k);
    if (c >= 0x41 && c <= 0x5a) letters++;
    else if (c >= 0x61 && c <= 0x7a) {
      letters++;
      lower = true;
    } else if (c >= 0x30 && c <= 0x39) digits++;
    else if (c >= 0x80) {
      const command = line.slice(i, sp).toUpperCase();
      return /^(?:[A-Z]{1,20}|[0-9]{3})$/.test(command) ? command : undefined;
    } else return undefined;
  }
  if (letters === n ? n <= 20 : digits === 3 && n === 3) {
    const command = line.slice(i, sp);
    return lower ? command.toUpperCase() : command;
  }
  return undefined;
}

/** Parses one line (without CR LF). Returns undefined when it is not an IRC message at all. */
export function parseLine(line: string): IrcMessage | undefined {
  let i = 0;
  const n = line.length;
  let tags: string | undefined;
  let prefix: string | undefined;
  if (line.charCodeAt(0) === 0x40 /* @ */) {
    const sp = line.indexOf(' ');
    if (sp < 0) return undefined;
    tags = line.slice(1, sp);
    i = sp + 1;
    while (line.charCodeAt(i) === 0x20) i++;
  }
  if (line.charCodeAt(i) === 0x3a /* : */) {
    const sp = line.indexOf(' ', i);
    if (sp < 0) return undefined;
    prefix = line.slice(i + 1, sp);
    if (!prefix) return undefined;
    i = sp + 1;
    while (line.charCodeAt(i) === 0x20) i++;
  }
  let sp = line.indexOf(' ', i);
  if (sp < 0) sp = n;
  const command = commandOf(line, i, sp);
  if (command === undefined) return undefined;
  const params: string[] = [];
  i = sp;
  while (i < n && params.length < MAX_PARAMS) {
    while (line.charCodeAt(i) === 0x20) i++;
    if (i >= n) break;
    if (line.charCodeAt(i) === 0x3a) {
      params.push(line.slice(i + 1));
      break;
    }
    let e = line.indexOf(' ', i);
    if (e < 0) e = n;
    params.push(line.slice(i, e));
    i = e;
  }
  return { tags, prefix, command, params };
}

/** nick part of a `nick!user@host` prefix; undefined for a server prefix */
export function prefixNick(prefix: string | undefined): string | undefined {
  if (!prefix) return undefined;
  const bang = prefix.indexOf('!');
  if (bang > 0) return prefix.slice(0, bang);
  const at = prefix.indexOf('@');
  if (at > 0) return prefix.slice(0, at);
  // a bare name with a dot is a server name; without one it is a nick (some servers omit user@host)
  return prefix.includes('.') ? undefined : prefix;
}

export function isChannel(target: string): boolean {
  const c = target.charCodeAt(0);
  return c === 0x23 /* # */ || c === 0x26 /* & */ || c === 0x2b /* + */ || c === 0x21 /* ! */;
}

/** Removes mIRC colour and formatting codes: bold, colour (\x03fg[,bg]), hex colour, reset, reverse, italic, underline, strike, monospace. */
export function stripFormatting(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/\x03(?:\d{1,2}(?:,\d{1,2})?)?|\x04(?:[0-9a-fA-F]{6}(?:,[0-9a-fA-F]{6})?)?|[\x02\x0f\x16\x1d\x1e\x1f\x11]/g, '');
}

export interface Ctcp {
  command: string;
  args: string;
}

/** `\x01CMD args\x01` (the closing \x01 is optional in practice) */
export function parseCtcp(text: string): Ctcp | undefined {
  if (text.charCodeAt(0) !== 1) return undefined;
  let body = text.slice(1);
  const end = body.indexOf('\x01');
  if (end >= 0) body = body.slice(0, end);
  const sp = body.indexOf(' ');
  return sp < 0 ? { command: body.toUpperCase(), args: '' } : { command: body.slice(0, sp).toUpperCase(), args: body.slice(sp + 1) };
}

export interface DccOffer {
  kind: 'SEND' | 'CHAT' | 'RESUME' | 'ACCEPT' | string;
  /** file name for SEND ("chat" for CHAT) */
  name: string;
  ip: string;
  port: number;
  size?: number;
  token?: string;
}

/** Parses the arguments of a `DCC …` CTCP: `SEND "file name" ip port [size [token]]`. */
export function parseDcc(args: string): DccOffer | undefined {
  const m = /^(\S+)\s+(?:"([^"]*)"|(\S+))\s+(\S+)\s+(\d{1,5})(?:\s+(\d{1,16}))?(?:\s+(\S{1,64}))?\s*$/.exec(args.slice(0, 1024));
  if (!m) return undefined;
  const ip = dccIp(m[4]);
  const port = Number(m[5]);
  if (ip === undefined || port > 65535) return undefined;
  // not cut here (args are read to 1,024 characters): the engine shortens file names keeping the
  // extension and whole surrogate pairs; a slice at 255 dropped both
  const name = m[2] ?? m[3] ?? '';
  return {
    kind: m[1].toUpperCase(),
    name,
    ip,
    port,
    ...(m[6] !== undefined ? { size: Number(m[6]) } : {}),
    ...(m[7] !== undefined ? { token: m[7] } : {}),
  };
}

export interface DccResumeArgs {
  kind: 'RESUME' | 'ACCEPT';
  /** the port of the offer it resumes (0 for a reverse offer, named by its token) */
  port: number;
  /** the byte the transfer goes on from */
  position: number;
  token?: string;
}

/**
 * `RESUME|ACCEPT file port position [token]` (mIRC's resume: the receiver asks, the sender agrees),
 * every way it reads: the name is not compared (mIRC writes "file.ext") and may hold spaces unquoted,
 * so the numbers are read from the end; after port 0 the last one may be a reverse offer's token, or
 * the name may end in " 0" — the caller takes the reading that names an offer it knows.
 */
export function parseDccResume(args: string): DccResumeArgs[] {
  const a = args.slice(0, 1024);
  const out: DccResumeArgs[] = [];
  const rev = /^(RESUME|ACCEPT)\s+\S.*?\s0\s+(\d{1,16})\s+(\S{1,64})\s*$/i.exec(a);
  if (rev) out.push({ kind: rev[1].toUpperCase() as 'RESUME' | 'ACCEPT', port: 0, position: Number(rev[2]), token: rev[3] });
  const m = /^(RESUME|ACCEPT)\s+\S.*\s(\d{1,5})\s+(\d{1,16})\s*$/i.exec(a);
  if (m && Number(m[2]) <= 65535 && Number(m[2]) > 0) out.push({ kind: m[1].toUpperCase() as 'RESUME' | 'ACCEPT', port: Number(m[2]), position: Number(m[3]) });
  return out;
}

/** DCC addresses are an unsigned 32-bit integer (IPv4), or a dotted IPv4 / IPv6 literal. */
export function dccIp(s: string): string | undefined {
  if (/^\d{1,10}$/.test(s)) {
    const v = Number(s);
    if (v > 0xffffffff) return undefined;
    return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
  }
  if (/^\d{1,3}(?:\.\d{1,3}){3}$/.test(s)) return s.split('.').every((o) => Number(o) < 256) ? s : undefined;
  if (/^[0-9a-fA-F:.]{2,45}$/.test(s) && s.includes(':')) return s.toLowerCase();
  return undefined;
}

/** `authzid \0 authcid \0 password` → authcid (never the password) */
export function saslPlainUser(b64: string): string | undefined {
  if (!/^[A-Za-z0-9+/=\s]*$/.test(b64)) return undefined;
  const raw = Buffer.from(b64, 'base64');
  const parts = raw.toString('utf8').split('\0');
  if (parts.length !== 3) return undefined;
  return parts[1] || parts[0] || undefined;
}

// Byte-pattern recognisers for today's messengers. Each takes the detect input and the module's
// data (constants from data.yaml) and answers a detection, 'more' or null. Bounded, and pure but for
// QQ's, which remembers a few datagrams per flow and per client to see a second one agree (qq()).
import type { DetectInput, Detection, DetectResult, Lookup, SignatureData } from '../types';
import type { FlowInfo } from '../../sensor/types';

type Cfg = Record<string, unknown>;
const hex = (s: unknown): Buffer => Buffer.from(String(s), 'hex');
const NO_CFG: Cfg = Object.freeze({});
const cfg = (data: SignatureData, key: string): Cfg => (data[key] as Cfg | undefined) ?? NO_CFG;
const det = (protocol: string, signature: string, reason: string, encrypted = true): Detection => ({ protocol, encrypted, evidence: { signature, reason } });

/**
 * Constants decoded once per config object (data.yaml, after overrides), not on every packet:
 * detect() runs on the first packets of every flow.
 */
function compiled<T>(memo: Memo<T>, data: SignatureData): T {
  const c = cfg(data, memo.key);
  // the config object of the last call (nearly always the same one) before the WeakMap
  if (c === memo.last) return memo.lastValue!;
  let v = memo.map.get(c);
  if (v === undefined) {
    v = memo.build(c);
    memo.map.set(c, v);
  }
  memo.last = c;
  memo.lastValue = v;
  return v;
}

/** a data.yaml section and how its constants are built (made once: no closure per packet) */
class Memo<T> {
  map = new WeakMap<object, T>();
  last: object | undefined;
  lastValue: T | undefined;
  constructor(readonly key: string, readonly build: (c: Cfg) => T) {}
}

/** the first min(k, d.length) bytes of d are exactly m (Buffer equals of d.subarray(0, k) and m) */
function headIs(d: Buffer, k: number, m: Buffer): boolean {
  const n = Math.min(k, d.length);
  if (m.length !== n) return false;
  for (let i = 0; i < n; i++) if (d[i] !== m[i]) return false;
  return true;
}

/** the first n bytes of a and b agree */
function sameHead(a: Buffer, b: Buffer, n: number): boolean {
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

const waMemo = new Memo<Buffer[]>('whatsapp', (c) => ((c.prologues as string[]) ?? ['574101', '574102', '45440001']).map(hex));

/** WhatsApp: the Noise handshake prologue as the client's first bytes (TCP). */
export function whatsapp(input: DetectInput, data: SignatureData): DetectResult {
  if (input.transport !== 'tcp' || input.dir !== 0) return null;
  const d = input.data;
  const prologues = compiled(waMemo, data);
  for (const p of prologues) {
    const n = Math.min(p.length, d.length);
    if (sameHead(d, p, n)) {
      if (d.length < p.length) return 'more';
      return det('whatsapp', 'whatsapp.noise-prologue', `client opened with the WhatsApp Noise prologue ${p.toString('hex')}`);
    }
  }
  return null;
}

const tgMemo = new Memo<{ lo: number; hi: number; want: number; markers: Buffer[] }>('telegram', (c) => {
  const [lo, hi] = (c.udp_ports as number[]) ?? [500, 600];
  return { lo, hi, want: Number(c.udp_ff_run) || 12, markers: ((c.transport_markers as string[]) ?? ['ef', 'eeeeeeee', 'dddddddd']).map(hex) };
});

/** Telegram: UDP relay packets with a run of 12 0xFF; TCP MTProto transport markers to Telegram addresses. */
export function telegram(input: DetectInput, data: SignatureData): DetectResult {
  const c = compiled(tgMemo, data);
  const d = input.data;
  if (input.transport === 'udp') {
    const { lo, hi } = c;
    const sp = input.flow.server.port, cp = input.flow.client.port;
    if (!((sp >= lo && sp <= hi) || (cp >= lo && cp <= hi)) || d.length < 40) return null;
    const want = c.want;
    let run = 0;
    for (let i = 0; i < d.length && i < 2048; i++) {
      if (d[i] === 0xff) run++;
      else {
        if (run === want) break;
        run = 0;
      }
    }
    return run === want ? det('telegram', 'telegram.udp-relay', `UDP relay packet with a run of ${want} 0xFF bytes`) : null;
  }
  if (input.dir !== 0 || d.length < 1) return null;
  // the bytes first (cheap), the address only when a marker fits
  let marker: Buffer | undefined;
  let more = false;
  for (const m of c.markers) {
    if (d.length < m.length) {
      if (sameHead(d, m, d.length)) {
        more = true;
        break;
      }
      continue;
    }
    if (sameHead(d, m, m.length)) {
      marker = m;
      break;
    }
  }
  if (!more && !marker) return null;
  const ip = input.lookup.ip(input.flow.server.ip);
  if (ip?.protocol !== 'telegram') return null;
  if (more) return 'more';
  // obfuscated transport: 64 random-looking bytes first; the address alone attributes it (engine)
  return det('telegram', 'telegram.mtproto', `MTProto transport marker ${marker!.toString('hex')} to Telegram address ${ip.matched}`);
}

/** Discord voice: 1337cafe keep-alives, 74-byte IP discovery request/response (UDP). */
const dcMemo = new Memo<{ ka: Buffer; len: number; discovery: Buffer[] }>('discord', (c) => ({
  ka: hex(c.keepalive ?? '1337cafe'),
  len: Number(c.ip_discovery_length) || 74,
  discovery: ((c.ip_discovery as string[]) ?? ['00010046', '00020046']).map(hex),
}));

export function discord(input: DetectInput, data: SignatureData): DetectResult {
  if (input.transport !== 'udp') return null;
  const c = compiled(dcMemo, data);
  const d = input.data;
  if (d.length === 8 && headIs(d, 4, c.ka)) return det('discord', 'discord.voice-keepalive', 'Discord voice keep-alive 0x1337cafe');
  const len = c.len;
  if (d.length === len) {
    for (const m of c.discovery) {
      if (headIs(d, 4, m)) return det('discord', 'discord.ip-discovery', `Discord voice IP discovery ${m.toString('hex')} (${len} bytes)`);
    }
  }
  return null;
}

const thMemo = new Memo<{ port: number; ch: number; sh: number; login: number }>('threema', (c) => ({
  port: Number(c.port) || 5222, ch: Number(c.client_hello) || 48, sh: Number(c.server_hello) || 80, login: Number(c.login) || 191,
}));

/**
 * Bytes of keys, cookies and ciphertext, not text: at most 3/4 of them printable ASCII (random bytes:
 * ~38 %; XML, JSON or a line protocol: all of them).
 */
function notText(b: Buffer): boolean {
  let p = 0;
  for (let i = 0; i < b.length; i++) {
    const x = b[i];
    if ((x >= 0x20 && x < 0x7f) || x === 9 || x === 10 || x === 13) p++;
  }
  return p * 4 <= b.length * 3;
}

/**
 * Threema: 48-byte client hello, 80-byte server hello, 191-byte login, on the Threema port or network.
 * Its port is XMPP's too, so sizes alone are not enough: XMPP picked up mid-stream whose first segments
 * happened to be 48, 80 and 191 bytes was taken for Threema (midstream-fuzz seed 20261128). The hellos are
 * a public key and cookies (the whitepaper's handshake), the login ciphertext: none of it is text. On the
 * port alone, only a flow seen from its SYN: the handshake opens the connection.
 */
export function threema(input: DetectInput, data: SignatureData): DetectResult {
  if (input.transport !== 'tcp') return null;
  const c = compiled(thMemo, data);
  const port = c.port;
  // the address only when the port does not already say so; by the port alone, the handshake must be the
  // connection's first bytes (seen from its SYN): a binary stream on XMPP's port picked up mid-stream
  // (MQTT, near-miss seed 46000245) can show 48/80/191-byte segments too
  if ((input.flow.server.port !== port || input.flow.clientBy !== 'syn') && input.lookup.ip(input.flow.server.ip)?.protocol !== 'threema') return null;
  const { ch, sh, login } = c;
  const client = input.dir === 0 ? input.data : input.other;
  const server = input.dir === 0 ? input.other : input.data;
  // in order: client hello, server hello, login; the reassembled prefixes show the exact sizes
  if (client.length < ch) return server.length === 0 ? 'more' : null;
  if (!notText(client.subarray(0, ch)) || (server.length >= sh && !notText(server.subarray(0, sh)))) return null;
  if (client.length === ch) return server.length <= sh ? 'more' : null;
  if (client.length < ch + login) return server.length === sh ? 'more' : null;
  if (client.length === ch + login && server.length === sh && notText(client.subarray(ch))) {
    return det('threema', 'threema.handshake', `Threema handshake sizes ${ch}/${sh}/${login} on TCP/${input.flow.server.port}`);
  }
  return null;
}

const viberMemo = new Memo<number[]>('viber', (c) => (c.udp_ports as number[]) ?? [7985, 7987, 5242, 5243, 4244]);

/**
 * Viber UDP control packets on Viber ports (nDPI viber.c shapes: type bytes at [2..3], with a length
 * where nDPI gives one): 12-byte type 3, 20-byte type 9, a login (type 1, then 05 00), and the 34-byte
 * types 0x19 and 0x1b the client sends to the 7987 relay.
 */
export function viber(input: DetectInput, data: SignatureData): DetectResult {
  if (input.transport !== 'udp') return null;
  const ports = compiled(viberMemo, data);
  if (!ports.includes(input.flow.server.port) && !ports.includes(input.flow.client.port)) return null;
  const d = input.data;
  if (d.length < 6 || d[3] !== 0x00) return null;
  const t = d[2];
  if ((d.length === 12 && t === 0x03) || (d.length === 20 && t === 0x09) || (t === 0x01 && d[4] === 0x05 && d[5] === 0x00) ||
    (d.length === 34 && (t === 0x19 || t === 0x1b))) {
    return det('viber', 'viber.udp', `Viber UDP control packet (${d.length} bytes, type ${d[2]}) on port ${input.flow.server.port}`);
  }
  return null;
}

interface OicqHead {
  version: number;
  command: number;
  seq: number;
  /** the sender's QQ number on client packets (after a 16-bit sequence number) */
  uin: number;
}

/** An OICQ datagram's header (0x02 flag, version, command in range, sequence, QQ number, …, 0x03), or null. */
function oicqHead(d: Buffer, maxCmd: number): OicqHead | null {
  if (d.length < 12 || d.length > 2048 || d[0] !== 0x02 || d[d.length - 1] !== 0x03) return null;
  const version = d.readUInt16BE(1);
  const command = d.readUInt16BE(3);
  if (version === 0 || command === 0 || (command > maxCmd && command !== 0x03f7)) return null;
  return { version, command, seq: d.readUInt16BE(5), uin: d.readUInt32BE(7) };
}

const qqMemo = new Memo<{ ports: number[]; maxCmd: number; commands: Set<number> }>('qq', (c) => ({
  ports: (c.udp_ports as number[]) ?? [8000, 8001],
  maxCmd: Number(c.max_command) || 0xb5,
  commands: new Set(((c.commands as number[]) ?? []).map(Number)),
}));

/** the OICQ datagrams a flow has shown, per direction (the last few): an answer in kind is looked up here */
const oicqFlows = new WeakMap<FlowInfo, [OicqHead[], OicqHead[]]>();
const OICQ_PER_FLOW = 4;

/**
 * A QQ client's last datagram to a server, across flows (the client of the shared oicq.pcap sends each
 * datagram from a new port, one every 5 to 15 minutes): per engine (keyed by its lookup tables, as STUN's
 * endpoints), bounded, and trusted for OICQ_TTL of capture time.
 */
interface OicqClient { version: number; uin: number; seq: number; ts: number }
const oicqClients = new WeakMap<Lookup, Map<string, OicqClient>>();
const MAX_OICQ_CLIENTS = 1024;
const OICQ_TTL = 1_800_000_000; // µs
/** how far a client's sequence number may have moved on between two of its datagrams we see */
const OICQ_SEQ_STEP = 256;

/**
 * QQ / OICQ over UDP. The 0x02 … 0x03 frame on a QQ port is weak (STX/ETX-framed telemetry has it):
 * a datagram counts only with a command Wireshark names, and a client's only with a QQ number (five
 * digits or more: QQ numbers start at 10000). The body between the header (11 bytes from a
 * client, with its QQ number; 7 from the server: LumaQQ's QQ_LENGTH_BASIC_FAMILY_OUT/IN_HEADER) and the
 * trailer is QQ's TEA ciphertext, whole 8-byte blocks, at least two: a framed datagram of another
 * length is not QQ (near-miss seed 20261145). The unencrypted login-token exchange is left to the
 * packets after it.
 * One such datagram still matched framed telemetry about once in 15,000 (near-miss seeds 20262065,
 * 20262522), so it decides only with a second one that agrees with it, as QQ's own bookkeeping does
 * (libpurple qq_network.c): the other side answering the same command and sequence number (a server
 * acknowledges a client's command with them, qq_trans_find_rcved; a client a server's, qq_send_server_reply),
 * or the same client (version and QQ number) again, its sequence number moved on (send_seq++ per
 * command; a retransmission repeats it), in this flow or an earlier one from the same address to the
 * same server. Trade-off: a lone datagram (one log-out, unanswered) is no longer reported, and neither
 * is the first of a client's one-datagram flows.
 */
export function qq(input: DetectInput, data: SignatureData): DetectResult {
  if (input.transport !== 'udp') return null;
  const c = compiled(qqMemo, data);
  const h = oicqHead(input.data, c.maxCmd);
  if (!h || !c.commands.has(h.command) || (input.dir === 0 && h.uin < 10000)) return null;
  const body = input.data.length - (input.dir === 0 ? 11 : 7) - 1;
  if (body < 16 || body % 8 !== 0) return null;
  if (!c.ports.includes(input.flow.server.port) && !c.ports.includes(input.flow.client.port)) return null;
  const what = `OICQ packet version 0x${h.version.toString(16)} command 0x${h.command.toString(16)}`;
  let seen = oicqFlows.get(input.flow);
  if (!seen) oicqFlows.set(input.flow, (seen = [[], []]));
  const answered = seen[input.dir === 0 ? 1 : 0].find((o) => o.command === h.command && o.seq === h.seq);
  if (answered) {
    const uin = input.dir === 0 ? h.uin : answered.uin;
    return det('qq', 'qq.oicq', `${what} sequence ${h.seq}, the same command and sequence from the other side (QQ number ${uin})`);
  }
  const mine = seen[input.dir];
  if (mine.length >= OICQ_PER_FLOW) mine.shift();
  mine.push(h);
  if (input.dir !== 0) return 'more';
  // the same client before: in this flow or an earlier one from its address to this server
  let clients = oicqClients.get(input.lookup);
  if (!clients) oicqClients.set(input.lookup, (clients = new Map()));
  const f = input.flow;
  const key = `${f.zone ?? ''}|${f.client.ip}|${f.server.ip}|${f.server.port}`;
  const ts = f.firstTs;
  const before = clients.get(key);
  if (before) clients.delete(key);
  else if (clients.size >= MAX_OICQ_CLIENTS) clients.delete(clients.keys().next().value!);
  clients.set(key, { version: h.version, uin: h.uin, seq: h.seq, ts });
  if (before && before.version === h.version && before.uin === h.uin && Math.abs(ts - before.ts) <= OICQ_TTL) {
    const step = (h.seq - before.seq) & 0xffff;
    if (step > 0 && step <= OICQ_SEQ_STEP) {
      return det('qq', 'qq.oicq', `${what}, QQ number ${h.uin}: sequence ${before.seq} then ${h.seq} from the same client`);
    }
  }
  return 'more';
}

const wcMemo = new Memo<Buffer[]>('wechat', (c) => ((c.mmtls_versions as string[]) ?? ['f103', 'f104']).map(hex));

/** WeChat MMTLS: a handshake record with WeChat's own version number as the client's first bytes. */
export function wechat(input: DetectInput, data: SignatureData): DetectResult {
  if (input.transport !== 'tcp' || input.dir !== 0) return null;
  const d = input.data;
  if (d.length === 0 || d[0] !== 0x16) return null;
  if (d.length < 5) return d.length < 2 || d[1] === 0xf1 ? 'more' : null;
  const versions = compiled(wcMemo, data);
  if (!versions.some((v) => d[1] === v[0] && d[2] === v[1])) return null;
  const len = d.readUInt16BE(3);
  if (len < 32 || len > 16384) return null;
  return det('wechat', 'wechat.mmtls', `WeChat MMTLS handshake record (version ${d.toString('hex', 1, 3)})`);
}

export const RECOGNISERS = [whatsapp, threema, telegram, discord, viber, qq, wechat];
/** the recognisers that can answer on each transport, in the same order (the others answer null there) */
export const RECOGNISERS_BY_TRANSPORT = { tcp: [whatsapp, threema, telegram, wechat], udp: [telegram, discord, viber, qq] };

// DNS: claims DNS flows (not reported as IM) and teaches the knowledge base which name each answered
// address was resolved from, following CNAME chains, so that TLS/QUIC/… flows to that address are
// attributed by the host tables even without a server name of their own.
import type { DetectInput, Detection, DetectResult, SessionContext, SignatureData, SignatureModule, StreamDecoder } from '../types';
import { addressesOf, parseDns, questionKey, type DnsMessage } from './parser';
import { ByteQueue } from '../text';

const MAX_TCP_MESSAGE = 65535 + 2;
/** queries awaiting their answer, per direction (a stub resolver's one socket may have several out) */
const MAX_ASKED = 16;

function hintPorts(data: SignatureData, transport: 'tcp' | 'udp'): number[] {
  return (data.ports?.[transport] as number[] | undefined) ?? (transport === 'udp' ? [53, 5353, 5355] : [53]);
}

function plausible(m: DnsMessage | null, onHintPort: boolean, data: SignatureData): boolean {
  if (!m || m.opcode > 6) return false;
  // an answer cut inside a record (TC, a short snaplen) is DNS on a DNS port once a question and an
  // answer parsed: the decoder learns its whole records, so must a session it starts (a socket's
  // second answer comes after the first let the session go)
  if (!m.complete && !(onHintPort && m.response && m.questions.length > 0 && m.answers.length > 0)) return false;
  if (onHintPort) return m.questions.length > 0 || (m.response && m.answers.length > 0);
  // elsewhere: one question of a common type, a name made of host-name characters
  const strict = (data.strict_qtypes as number[] | undefined) ?? [1, 28, 5, 12, 15, 16, 33, 65];
  const q = m.questions[0];
  return m.questions.length === 1 && strict.includes(q.type) && /^[A-Za-z0-9_.-]{1,253}$/.test(q.name);
}

function detect(input: DetectInput, data: SignatureData): DetectResult {
  const { flow } = input;
  const ports = hintPorts(data, input.transport);
  const onHint = ports.includes(flow.server.port) || ports.includes(flow.client.port);
  let bytes: Buffer;
  if (input.transport === 'udp') {
    bytes = input.data;
  } else {
    if (input.data.length < 2) return onHint ? 'more' : null;
    const len = input.data.readUInt16BE(0);
    if (len < 12) return null;
    if (input.data.length < 2 + len) return onHint && input.data.length < 4096 ? 'more' : null;
    bytes = input.data.subarray(2, 2 + len);
  }
  // off the DNS ports only one question and opcode ≤ 6 pass (plausible): the header says so before any parsing
  if (!onHint && !(bytes.length >= 12 && bytes[4] === 0 && bytes[5] === 1 && ((bytes[2] >> 3) & 0xf) <= 6)) return null;
  const msg = parseDns(bytes);
  if (!plausible(msg, onHint, data)) return null;
  const d: Detection = {
    protocol: 'dns',
    notIm: true,
    // one join onto a constant (the flow keeps this text for its life: one string object, not three)
    evidence: { signature: 'dns.header', reason: ((msg!.response ? 'DNS response for ' : 'DNS query for ') + (msg!.questions[0]?.name ?? '(no question)')).slice(0, 200) },
  };
  return d;
}

/**
 * Reads the answers to the queries it saw. An answer is learned only when it answers a query sent the
 * other way on the same flow (its id and question): a datagram nobody asked for — spoofed, or sent
 * towards a resolver — teaches nothing, since every flow to the address would be named by it.
 */
class DnsDecoder implements StreamDecoder {
  /** TCP only: a partial length-prefixed message per direction */
  private q: [ByteQueue, ByteQueue] | undefined;
  /** the questions (questionKey) of the queries sent in each direction, not answered yet, oldest first */
  private asked: [string[], string[]] = [[], []];
  constructor(private ctx: SessionContext) {}

  onData(dir: 0 | 1, data: Buffer, ts: number): void {
    if (this.ctx.flow.transport === 'udp') {
      this.message(dir, data, ts);
      // answered: nothing to keep for the flow's idle minute (a later query starts a new session)
      if (this.asked[0].length === 0 && this.asked[1].length === 0) this.ctx.datagramDone();
      return;
    }
    // TCP: 2-byte length-prefixed messages; keep at most one message's worth of bytes
    this.q ??= [new ByteQueue(), new ByteQueue()];
    const q = this.q[dir];
    const b = q.feed(data);
    let pos = 0;
    while (b.length - pos >= 2) {
      const len = b.readUInt16BE(pos);
      if (b.length - pos < 2 + len) break;
      // parsed to strings (names, addresses): nothing keeps a view of `b`
      this.message(dir, b.subarray(pos + 2, pos + 2 + len), ts);
      pos += 2 + len;
    }
    q.keepFrom(b, b.length - pos > MAX_TCP_MESSAGE ? b.length : pos);
  }

  /** a query is remembered; an answer to one of the other side's is learned (if it is no error) */
  private message(dir: 0 | 1, m: Buffer, ts: number): void {
    if (m.length < 12) {
      this.ctx.malformed('DNS message too short');
      return;
    }
    const key = questionKey(m);
    if (key === undefined) return;
    if ((m[2] & 0x80) === 0) {
      const mine = this.asked[dir];
      if (mine.length >= MAX_ASKED) mine.shift();
      mine.push(key);
      return;
    }
    const theirs = this.asked[dir === 0 ? 1 : 0];
    const i = theirs.indexOf(key);
    if (i < 0) return;
    theirs.splice(i, 1);
    if ((m[3] & 0x0f) === 0) this.learn(parseDns(m), ts);
  }

  onGap(dir: 0 | 1): void {
    this.q?.[dir].clear();
  }

  private learn(m: DnsMessage | null, ts: number): void {
    if (!m) {
      this.ctx.malformed('DNS message too short');
      return;
    }
    if (!m.response || m.rcode !== 0) return;
    const addrs = addressesOf(m);
    for (let i = 0; i < addrs.length && i < 32; i++) {
      const a = addrs[i];
      // the CNAME target first, then the name the user asked for: a later flow to the address is
      // attributed by the name that was asked (e.g. web.whatsapp.com, not its CDN alias)
      if (a.owner !== a.queried) this.ctx.kb.learnName(a.ip, a.owner, ts, this.ctx.flow.zone);
      this.ctx.kb.learnName(a.ip, a.queried, ts, this.ctx.flow.zone);
    }
  }
}

export const module: SignatureModule = {
  id: 'dns',
  protocols: ['dns'],
  transports: ['udp', 'tcp'],
  detect,
  decoder: (ctx) => new DnsDecoder(ctx),
};

// DNS message parser (RFC 1035): header, questions, answers. Pure and bounded: names are at most
// 255 bytes / 127 labels, compression pointers may only point backwards and at most 32 are followed,
// and record counts that lie stop at the end of the buffer.

import { ipv6String as sensorIpv6String } from '../../sensor/addr';

export interface DnsQuestion { name: string; type: number }
export interface DnsAnswer { name: string; type: number; ttl: number; /** A/AAAA: address; CNAME: target */ value?: string }
export interface DnsMessage {
  id: number;
  response: boolean;
  opcode: number;
  rcode: number;
  questions: DnsQuestion[];
  answers: DnsAnswer[];
  /** true when every counted section parsed to the end without error */
  complete: boolean;
}

export const TYPE_A = 1, TYPE_CNAME = 5, TYPE_AAAA = 28;
const MAX_RECORDS = 64;
const MAX_POINTERS = 32;

/** a name's bytes, dots between the labels, made a string once (not one string per label and a join) */
const nameScratch = Buffer.alloc(256);
// The last name made a string, with its bytes: an answer repeats its question's name, and names
// recur across queries; comparing a few bytes is cheaper than a Buffer#toString call.
const lastNameBytes = Buffer.alloc(256);
let lastNameLen = 0;
let lastName = '';

function nameString(w: number): string {
  let same = w === lastNameLen;
  for (let i = 0; same && i < w; i++) same = nameScratch[i] === lastNameBytes[i];
  if (!same) {
    lastName = nameScratch.toString('latin1', 0, w);
    nameScratch.copy(lastNameBytes, 0, 0, w);
    lastNameLen = w;
  }
  return lastName;
}

/** Reads a (possibly compressed) name at `off`; returns the name and the offset after it, or null. */
export function readName(buf: Buffer, off: number): { name: string; next: number } | null {
  const name = nameAt(buf, off);
  return name === null ? null : { name, next: nameNext };
}

/** the offset after the name nameAt() read last */
let nameNext = 0;

/** readName without a result object per name (parseDns reads one per record): the offset after it is left in nameNext */
function nameAt(buf: Buffer, off: number): string | null {
  let labels = 0;
  let total = 0;
  let pos = off;
  let next = -1;
  let jumps = 0;
  let w = 0;
  for (;;) {
    if (pos >= buf.length) return null;
    const len = buf[pos];
    if (len === 0) {
      if (next < 0) next = pos + 1;
      break;
    }
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      if (pos + 1 >= buf.length) return null;
      const target = ((len & 0x3f) << 8) | buf[pos + 1];
      // only backwards pointers: a loop is impossible, and the jump count bounds the work anyway
      if (target >= pos || ++jumps > MAX_POINTERS) return null;
      if (next < 0) next = pos + 2;
      pos = target;
      continue;
    }
    if (kind !== 0) return null; // 0x40/0x80 label types are obsolete
    if (pos + 1 + len > buf.length) return null;
    total += len + 1;
    if (total > 255 || labels >= 127) return null;
    // at most 255 bytes including the separators: the scratch buffer holds it
    if (labels++ > 0) nameScratch[w++] = 0x2e;
    for (let i = pos + 1; i <= pos + len; i++) nameScratch[w++] = buf[i];
    pos += 1 + len;
  }
  nameNext = next;
  return w === 0 ? '' : nameString(w);
}

/**
 * What pairs an answer with its query: the id, the first question's type and its name in lower case
 * (a resolver may echo the 0x20 mixed case or not); undefined without a readable question.
 */
export function questionKey(buf: Buffer): string | undefined {
  if (buf.length < 17 || (buf[4] === 0 && buf[5] === 0)) return undefined;
  const name = nameAt(buf, 12);
  if (name === null || nameNext + 4 > buf.length) return undefined;
  return `${buf.readUInt16BE(0)}|${buf.readUInt16BE(nameNext)}|${name.toLowerCase()}`;
}

export function parseDns(buf: Buffer): DnsMessage | null {
  if (buf.length < 12) return null;
  const flags = buf.readUInt16BE(2);
  const msg: DnsMessage = {
    id: buf.readUInt16BE(0),
    response: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    rcode: flags & 0xf,
    questions: [],
    answers: [],
    complete: false,
  };
  const qd = buf.readUInt16BE(4), an = buf.readUInt16BE(6);
  let off = 12;
  for (let i = 0; i < qd; i++) {
    if (i >= MAX_RECORDS) return msg;
    const name = nameAt(buf, off);
    const next = nameNext;
    if (name === null || next + 4 > buf.length) return msg;
    const q = { name, type: buf.readUInt16BE(next) };
    // most messages have one question and one answer: one-element literals (a push onto [] reserves 17 slots)
    if (i === 0) msg.questions = [q];
    else msg.questions.push(q);
    off = next + 4;
  }
  for (let i = 0; i < an; i++) {
    if (i >= MAX_RECORDS) return msg;
    const name = nameAt(buf, off);
    const next = nameNext;
    if (name === null || next + 10 > buf.length) return msg;
    const type = buf.readUInt16BE(next);
    const ttl = buf.readUInt32BE(next + 4);
    const rdlen = buf.readUInt16BE(next + 8);
    const rd = next + 10;
    if (rd + rdlen > buf.length) return msg;
    let value: string | undefined;
    if (type === TYPE_A && rdlen === 4) value = `${buf[rd]}.${buf[rd + 1]}.${buf[rd + 2]}.${buf[rd + 3]}`;
    else if (type === TYPE_AAAA && rdlen === 16) value = ipv6String(buf.subarray(rd, rd + 16));
    else if (type === TYPE_CNAME) value = nameAt(buf, rd) ?? undefined;
    const a = { name, type, ttl, value };
    if (i === 0) msg.answers = [a];
    else msg.answers.push(a);
    off = rd + rdlen;
  }
  msg.complete = true;
  return msg;
}

/** The sensor's text form of an IPv6 address, so learned addresses match flow addresses exactly. */
export function ipv6String(b: Buffer): string {
  return sensorIpv6String(b, 0);
}

/**
 * For each address in the answers: the name the client asked for (first question), and the
 * end of the CNAME chain that led to it. Chains are followed at most 16 steps.
 */
export function addressesOf(msg: DnsMessage): { ip: string; queried: string; owner: string }[] {
  let out: { ip: string; queried: string; owner: string }[] = [];
  const q = msg.questions[0]?.name.toLowerCase();
  if (!q) return out;
  // the common answer has no CNAME: the chain is the question alone (no Set, no loop over it)
  let cname = false;
  for (const a of msg.answers) {
    if (a.type === TYPE_CNAME && a.value) {
      cname = true;
      break;
    }
  }
  if (!cname) {
    for (const a of msg.answers) {
      if ((a.type === TYPE_A || a.type === TYPE_AAAA) && a.value) {
        const owner = a.name.toLowerCase();
        if (owner !== q) continue;
        const found = { ip: a.value, queried: q, owner };
        if (out.length === 0) out = [found]; // one-element literal, as in parseDns
        else out.push(found);
      }
    }
    return out;
  }
  // names reachable from the question through CNAMEs
  const chain = new Set([q]);
  for (let step = 0; step < 16; step++) {
    let grew = false;
    for (const a of msg.answers) {
      if (a.type === TYPE_CNAME && a.value && chain.has(a.name.toLowerCase()) && !chain.has(a.value.toLowerCase())) {
        chain.add(a.value.toLowerCase());
        grew = true;
      }
    }
    if (!grew) break;
  }
  for (const a of msg.answers) {
    if ((a.type === TYPE_A || a.type === TYPE_AAAA) && a.value) {
      const owner = a.name.toLowerCase();
      // an address for a name not on the chain was not asked for: ignore it (cache poisoning shape)
      if (chain.has(owner)) out.push({ ip: a.value, queried: q, owner });
    }
  }
  return out;
}

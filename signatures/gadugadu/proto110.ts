// Gadu-Gadu 10.5/11 ("110") packets: the usual 8-byte { type, length } header around a protobuf body.
// Sources (libgadu, github.com/wojtekka/libgadu):
//  - packet types: include/protocol.h of libgadu 1.12 (as bundled in Pidgin,
//    libpurple/protocols/gg/lib/protocol.h): GG_LOGIN105 0x83, GG_LOGIN110_OK 0x9d, GG_SEND_MSG110 0x7d,
//    GG_RECV_MSG110 0x7e, GG_RECV_OWN_MSG110 0x82, GG_ACK110 0x86, GG_SEND_MSG_ACK110 0x87,
//    GG_CHAT_RECV_MSG 0x88, GG_CHAT_SEND_MSG 0x8d, GG_CHAT_RECV_OWN_MSG 0x8e. The copies of
//    include/protocol.h readable from wojtekka/libgadu itself are older and lack them; its src/handlers.c
//    dispatches on these names, and Wireshark's packet-gadu-gadu.c agrees on 0x7b/0x7c/0x83.
//  - bodies: packets.proto (GG105Login, GG110LoginOK, GG110SendMessage, GG110RecvMessage).
//  - UINs: src/protobuf.c gg_protobuf_get_uin(): a `bytes` field holding { magic u8, len u8, decimal
//    digits[len] }, len ≤ 10 and exactly the rest of the field.
// Our own protobuf reader: flat (no message in these packets nests another that we read), bounded
// (field count cap, lengths checked against what is left, varints ≤ 10 bytes), never throws.

export const GG_SEND_MSG110 = 0x7d;
export const GG_RECV_MSG110 = 0x7e;
export const GG_RECV_OWN_MSG110 = 0x82;
export const GG_LOGIN110_OK = 0x9d;
export const GG_CHAT_RECV_MSG = 0x88;
export const GG_CHAT_SEND_MSG = 0x8d;
export const GG_CHAT_RECV_OWN_MSG = 0x8e;

/** wire types (protobuf encoding): varint, fixed64, length-delimited, fixed32; groups (3, 4) are refused */
const WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5;
/** more top-level fields than any of these messages has (GG105Login: 17) by a wide margin */
export const MAX_FIELDS = 256;

export interface PbField {
  no: number;
  wt: number;
  /** varint or fixed32 (numbers beyond 2^53 lose precision: only seq/flags/uin are read as numbers) */
  num: number;
  /** fixed64, exactly */
  big: bigint;
  /** length-delimited: a view into the body */
  bytes: Buffer;
}

const NONE = Buffer.alloc(0);

/** varint at `off`: [value, next offset], or undefined when truncated or longer than 10 bytes */
function varint(b: Buffer, off: number): [number, number] | undefined {
  let v = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (off + i >= b.length) return undefined;
    const byte = b[off + i];
    v += (byte & 0x7f) * mul;
    mul *= 128;
    if (!(byte & 0x80)) return [v, off + i + 1];
  }
  return undefined;
}

/**
 * All top-level fields of a protobuf message, in order; undefined when the body is not a well-formed
 * message (truncated value, a length past the end, a group or unknown wire type, field number 0, or more
 * than `maxFields` fields). Work is linear in the body and the result holds views, not copies.
 */
export function pbFields(b: Buffer, maxFields = MAX_FIELDS): PbField[] | undefined {
  const out: PbField[] = [];
  let off = 0;
  while (off < b.length) {
    if (out.length >= maxFields) return undefined;
    const key = varint(b, off);
    if (!key) return undefined;
    const no = Math.floor(key[0] / 8);
    const wt = key[0] % 8;
    off = key[1];
    if (no < 1 || no > 0x1fffffff) return undefined;
    const f: PbField = { no, wt, num: 0, big: 0n, bytes: NONE };
    if (wt === WT_VARINT) {
      const v = varint(b, off);
      if (!v) return undefined;
      f.num = v[0];
      off = v[1];
    } else if (wt === WT_I64) {
      if (off + 8 > b.length) return undefined;
      f.big = b.readBigUInt64LE(off);
      f.num = Number(f.big);
      off += 8;
    } else if (wt === WT_LEN) {
      const v = varint(b, off);
      if (!v || v[0] > b.length - v[1]) return undefined;
      f.bytes = b.subarray(v[1], v[1] + v[0]);
      off = v[1] + v[0];
    } else if (wt === WT_I32) {
      if (off + 4 > b.length) return undefined;
      f.num = b.readUInt32LE(off);
      off += 4;
    } else {
      return undefined;
    }
    out.push(f);
  }
  return out;
}

/** the last occurrence of field `no` with wire type `wt` (protobuf: the last value of a scalar wins) */
function last(fields: PbField[], no: number, wt: number): PbField | undefined {
  for (let i = fields.length - 1; i >= 0; i--) if (fields[i].no === no && fields[i].wt === wt) return fields[i];
  return undefined;
}

/** src/protobuf.c gg_protobuf_get_uin(): { magic (0 or 1), len ≤ 10, digits }, nothing after them */
export function pbUin(b: Buffer | undefined): string | undefined {
  if (!b || b.length < 3) return undefined;
  const len = b[1];
  if (b.length !== len + 2 || len > 10) return undefined;
  const s = b.toString('latin1', 2);
  if (!/^[0-9]+$/.test(s)) return undefined;
  const n = Number(s);
  // uin_t is 32-bit and 0 means "no UIN"
  return n > 0 && n <= 0xffffffff ? String(n) : undefined;
}

const utf8 = new TextDecoder('utf-8');

export interface Msg110 {
  /** GG110SendMessage.recipient / GG110RecvMessage.sender (field 1), when present and valid */
  peer?: string;
  /** chat_id (field 10, fixed64): a conference */
  chatId?: bigint;
  /** msg_plain (field 5), UTF-8 */
  plain: string;
  /** msg_xhtml (field 6), UTF-8 */
  xhtml?: string;
  /** GG110RecvMessage.data (field 7) with an empty msg_plain: an image (libgadu: gg_image_queue_parse) */
  image: boolean;
  seq: number;
}

/**
 * GG110SendMessage (client → server: GG_SEND_MSG110, GG_CHAT_SEND_MSG) and GG110RecvMessage (server →
 * client: GG_RECV_MSG110, GG_RECV_OWN_MSG110, GG_CHAT_RECV_MSG, GG_CHAT_RECV_OWN_MSG) share the field
 * numbers read here: 1 recipient/sender (bytes, a UIN), 3 seq, 5 msg_plain, 6 msg_xhtml, 7 data
 * (receive only), 10 chat_id (fixed64).
 */
export function msg110(body: Buffer, recv: boolean): Msg110 | undefined {
  const f = pbFields(body);
  if (!f) return undefined;
  const peer = last(f, 1, WT_LEN);
  const chat = last(f, 10, WT_I64);
  const plain = last(f, 5, WT_LEN);
  const xhtml = last(f, 6, WT_LEN);
  const plainText = plain ? utf8.decode(plain.bytes) : '';
  return {
    peer: pbUin(peer?.bytes),
    chatId: chat ? chat.big : undefined,
    plain: plainText,
    xhtml: xhtml ? utf8.decode(xhtml.bytes) : undefined,
    image: recv && !!last(f, 7, WT_LEN) && plainText === '',
    seq: last(f, 3, WT_VARINT)?.num ?? 0,
  };
}

/** GG105Login.uin (field 2, bytes): the account's UIN, as the client logs in */
export function login105Uin(body: Buffer): string | undefined {
  const f = pbFields(body);
  return f ? pbUin(last(f, 2, WT_LEN)?.bytes) : undefined;
}

/** GG110LoginOK.uin (field 3, uint32): the server confirming the account's UIN */
export function login110OkUin(body: Buffer): string | undefined {
  const f = pbFields(body);
  const v = f ? last(f, 3, WT_VARINT)?.num : undefined;
  return v && v > 0 && v <= 0xffffffff ? String(v) : undefined;
}

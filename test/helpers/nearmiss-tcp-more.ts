// More TCP look-alikes for the near-miss corpus (test/signatures/near-miss.test.ts), beside
// nearmiss.ts's own: protocols whose framing or words resemble an IM protocol's — NATS's MSG lines
// with payload lengths (MSNP's MSG), STOMP's SEND/MESSAGE frames, NNTP and BBS text (IRC), XML
// streams without the jabber namespaces (XMPP), little-endian type+length binary (Gadu-Gadu), length-
// prefixed binary headers (YMSG, OSCAR), tunnels to IM ports carrying something else. Each is built
// from its protocol's spec (cited per generator), with seeded fields and chat-like text.
import crypto from 'node:crypto';
import type { Exchange, Rng, Script } from './nearmiss';

// ---- bytes --------------------------------------------------------------------------------------

export const b = (s: string | Buffer): Buffer => (typeof s === 'string' ? Buffer.from(s, 'utf8') : s);
export const cat = (...parts: (Buffer | string)[]): Buffer => Buffer.concat(parts.map(b));
export const u8 = (n: number) => Buffer.from([n & 255]);
/** text lines, each ended by CR LF (the line protocols' framing) */
export const crlf = (...lines: string[]) => b(lines.map((l) => l + '\r\n').join(''));
export const u16be = (n: number) => Buffer.from([(n >> 8) & 255, n & 255]);
const u16le = (n: number) => Buffer.from([n & 255, (n >> 8) & 255]);
const u24be = (n: number) => Buffer.from([(n >> 16) & 255, (n >> 8) & 255, n & 255]);
const u24le = (n: number) => Buffer.from([n & 255, (n >> 8) & 255, (n >> 16) & 255]);
export function u32be(n: number): Buffer {
  const x = Buffer.alloc(4);
  x.writeUInt32BE(n >>> 0);
  return x;
}
export function u32le(n: number): Buffer {
  const x = Buffer.alloc(4);
  x.writeUInt32LE(n >>> 0);
  return x;
}
function i32be(n: number): Buffer {
  const x = Buffer.alloc(4);
  x.writeInt32BE(n | 0);
  return x;
}
function u64be(n: number | bigint): Buffer {
  const x = Buffer.alloc(8);
  x.writeBigUInt64BE(BigInt.asUintN(64, BigInt(n)));
  return x;
}
function u64le(n: number | bigint): Buffer {
  const x = Buffer.alloc(8);
  x.writeBigUInt64LE(BigInt.asUintN(64, BigInt(n)));
  return x;
}
const utf16 = (s: string) => Buffer.from(s, 'utf16le');
const side = (rng: Rng) => rng.pick(['c', 's'] as const);

// ---- chat-like text (what an app built on these protocols carries) -----------------------------

const PEOPLE = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'mallory', 'trent'];
const ROOMS = ['general', 'ops', 'random', 'support', 'dev', 'lobby'];
/** what people type: IM words in ordinary sentences */
const CHAT = [
  'hi all', 'lunch at noon?', 'brb', 'ok :)', 'who is on call?', 'can you review PR 42?', 'thanks!', 'Join us in #general after standup',
  'PRIVMSG me the link', 'Ping me when the build is green', 'MSG from the queue looked odd', 'NICK change did not stick', 'Notice: build 1234 passed',
  'YMSG packet dropped', 'see <message to="a@b.c"><body>x</body></message>', 'QUIT smoking, they said', 'the log shows USR 5 OK',
];
/** a protocol line pasted as it is (a question about a log, a bridge relaying raw lines) */
const PROTO = [
  'PRIVMSG #ops :deploy done', 'MSG 1 N 12', 'JOIN #general', 'PING', 'USR 5 OK alice@example.com 1 0', 'NICK bob',
  'VER 1 MSNP12 MSNP11 CVR0', 'CHL 0 29409134351025259292', 'QUIT', ':irc.example.net 001 bob :Welcome', ':nick!user@host PRIVMSG #channel :text',
];
/**
 * One line of chat; now and then a pasted protocol line, but never two in a row in one `stream` (the
 * lines one side sends one after another): consecutive lines of an IM protocol are a transcript of it
 * (the detectors may rightly take a run of them for IM).
 */
const lastProto = new Map<string, boolean>();
export function say(rng: Rng, stream = ''): string {
  const proto = !lastProto.get(stream) && rng.chance(0.3);
  lastProto.set(stream, proto);
  return rng.pick(proto ? PROTO : CHAT);
}
export const who = (rng: Rng) => rng.pick(PEOPLE);
export const room = (rng: Rng) => rng.pick(ROOMS);
export const email = (rng: Rng) => `${who(rng)}@example.com`;
export function chatJson(rng: Rng): string {
  return JSON.stringify({ id: rng.hex(12), room: room(rng), from: email(rng), to: email(rng), type: 'chat', text: say(rng), ts: 1705300000 + rng.int(86400) });
}
/** a short RFC 5322 mail with MIME headers (jobs and messages that carry mail) */
function mailText(rng: Rng): string {
  return [
    `MIME-Version: 1.0`, `Content-Type: text/plain; charset=UTF-8`, `From: ${email(rng)}`, `To: ${email(rng)}`,
    `Subject: ${rng.pick(['Re: release', 'MSG queue stats', 'lunch', 'PNG export'])}`, '', say(rng), say(rng), '',
  ].join('\r\n');
}

const TLS_SNI = ['www.example.com', 'api.example.net', 'git.example.org', 'cdn.example.com'];

/** a TLS 1.2/1.3 ClientHello record for `sni` (RFC 8446 4.1.2) */
function clientHello(rng: Rng, sni: string): Buffer {
  const name = b(sni);
  const list = cat(u8(0), u16be(name.length), name);
  const exts = cat(u16be(0), u16be(list.length + 2), u16be(list.length), list, Buffer.from('000a000800060017001d0018002b0003020304', 'hex'));
  const body = cat(Buffer.from([3, 3]), rng.bytes(32), u8(32), rng.bytes(32), u16be(4), Buffer.from('13011302', 'hex'), Buffer.from([1, 0]), u16be(exts.length), exts);
  const hs = cat(u8(1), u24be(body.length), body);
  return cat(Buffer.from([0x16, 3, 1]), u16be(hs.length), hs);
}
const tlsRecord = (type: number, data: Buffer) => cat(Buffer.from([type, 3, 3]), u16be(data.length), data);

function httpRequest(rng: Rng, method: string, target: string, host: string, headers: string[] = [], body = ''): Buffer {
  const h = [`${method} ${target} HTTP/1.1`, `Host: ${host}`, `User-Agent: ${rng.pick(['curl/8.5.0', 'python-requests/2.31.0', 'Go-http-client/1.1'])}`, 'Accept: */*', ...headers];
  if (body) h.push(`Content-Length: ${Buffer.byteLength(body)}`);
  return b(h.join('\r\n') + '\r\n\r\n' + body);
}
function httpResponse(status: string, type: string, body: string | Buffer): Buffer {
  const bb = b(body);
  return cat(`HTTP/1.1 ${status}\r\nServer: nginx/1.24.0\r\nContent-Type: ${type}\r\nContent-Length: ${bb.length}\r\n\r\n`, bb);
}

// ---- message brokers and queues -----------------------------------------------------------------

/** NATS client protocol (docs.nats.io "Client Protocol"): INFO/CONNECT JSON, PUB/SUB/MSG with payload lengths, HPUB/HMSG */
function nats(rng: Rng): Script {
  const subj = () => rng.pick([`chat.${room(rng)}`, `chat.room.${rng.int(9)}`, `notify.${who(rng)}`, 'events.audit', `mail.inbound`, `inbox.${email(rng)}`]);
  const payload = () => rng.pick([chatJson(rng), say(rng), mailText(rng), rng.bytes(rng.range(4, 60)).toString('base64')]);
  const line = (s: string) => b(s + '\r\n');
  const ex: Exchange[] = [
    ['s', line(`INFO {"server_id":"N${rng.hex(20).toUpperCase()}","server_name":"nats-${rng.int(3)}","version":"2.10.${rng.range(1, 9)}","proto":1,"go":"go1.21.5","host":"0.0.0.0","port":4222,"headers":true,"max_payload":1048576,"client_id":${rng.range(1, 9999)},"client_ip":"10.0.0.${rng.range(2, 250)}"}`)],
    ['c', line(`CONNECT {"verbose":false,"pedantic":false,"tls_required":false,"name":"${rng.pick(['chat-svc', 'notifier', 'audit'])}","lang":"${rng.pick(['go', 'node', 'python3'])}","version":"1.31.0","protocol":1,"echo":true,"headers":true,"no_responders":true}`)],
    ['c', line('PING')], ['s', line('PONG')],
  ];
  const sids: [string, number][] = [];
  for (let i = rng.range(1, 3); i > 0; i--) {
    const s = subj(), sid = rng.range(1, 40);
    sids.push([s, sid]);
    ex.push(['c', line(rng.chance(0.3) ? `SUB ${s} ${rng.pick(['workers', 'q1'])} ${sid}` : `SUB ${s} ${sid}`)]);
  }
  for (let i = rng.range(3, 10); i > 0; i--) {
    const [s, sid] = rng.pick(sids);
    const p = b(payload());
    switch (rng.int(5)) {
      case 0: ex.push(['c', cat(`PUB ${s} ${p.length}\r\n`, p, '\r\n')]); break;
      case 1: ex.push(['c', cat(`PUB ${s} _INBOX.${rng.hex(22)} ${p.length}\r\n`, p, '\r\n')]); break;
      case 2: {
        const h = b(`NATS/1.0\r\nNats-Msg-Id: ${rng.hex(16)}\r\nContent-Type: application/json\r\n\r\n`);
        if (rng.chance(0.5)) ex.push(['c', cat(`HPUB ${s} ${h.length} ${h.length + p.length}\r\n`, h, p, '\r\n')]);
        else ex.push(['s', cat(`HMSG ${s} ${sid} ${h.length} ${h.length + p.length}\r\n`, h, p, '\r\n')]);
        break;
      }
      case 3: ex.push(['s', cat(`MSG ${s} ${sid} _INBOX.${rng.hex(22)}.${rng.int(99)} ${p.length}\r\n`, p, '\r\n')]); break;
      default: ex.push(['s', cat(`MSG ${s} ${sid} ${p.length}\r\n`, p, '\r\n')]);
    }
    if (rng.chance(0.2)) ex.push(['s', line('PING')], ['c', line('PONG')]);
  }
  if (rng.chance(0.3)) ex.push(['s', line(`-ERR 'Stale Connection'`)]);
  ex.push(['c', line(`UNSUB ${rng.pick(sids)[1]}`)]);
  return { name: 'nats', port: 4222, exchanges: ex, keywords: ['MSG ', 'PUB ', 'SUB ', 'INFO ', 'CONNECT ', 'PING'] };
}

/** STOMP 1.2 (stomp.github.io/stomp-specification-1.2.html): command, header lines, blank line, body, NUL */
function stomp(rng: Rng): Script {
  const eol = rng.chance(0.3) ? '\r\n' : '\n';
  const frame = (cmd: string, headers: string[], body = '') =>
    b(`${cmd}${eol}${headers.map((h) => h + eol).join('')}${body ? `content-length:${Buffer.byteLength(body)}${eol}` : ''}${eol}${body}\0${rng.chance(0.3) ? eol : ''}`);
  const dest = () => rng.pick([`/topic/chat.${room(rng)}`, `/queue/messages.${who(rng)}`, '/topic/presence', `/exchange/amq.topic/chat.${room(rng)}`]);
  const ex: Exchange[] = [
    ['c', frame(rng.chance(0.5) ? 'CONNECT' : 'STOMP', ['accept-version:1.0,1.1,1.2', `host:${rng.pick(['/', 'broker.example.com'])}`, `login:${who(rng)}`, 'passcode:secret', 'heart-beat:10000,10000'])],
    ['s', frame('CONNECTED', ['version:1.2', `session:ID:broker-${rng.hex(8)}-${rng.int(99)}`, `server:${rng.pick(['ActiveMQ/5.18.3', 'RabbitMQ/3.12.10', 'Artemis/2.31.2'])}`, 'heart-beat:10000,10000'])],
  ];
  const subs: string[] = [];
  for (let i = rng.range(1, 3); i > 0; i--) {
    const d = dest();
    subs.push(d);
    ex.push(['c', frame('SUBSCRIBE', [`id:${i - 1}`, `destination:${d}`, `ack:${rng.pick(['auto', 'client', 'client-individual'])}`])]);
  }
  for (let i = rng.range(3, 10); i > 0; i--) {
    const body = rng.chance(0.6) ? chatJson(rng) : say(rng);
    const ct = body.startsWith('{') ? 'content-type:application/json' : 'content-type:text/plain';
    if (rng.chance(0.5)) {
      ex.push(['c', frame('SEND', [`destination:${dest()}`, ct, `receipt:r-${rng.int(999)}`], body)]);
      if (rng.chance(0.5)) ex.push(['s', frame('RECEIPT', [`receipt-id:r-${rng.int(999)}`])]);
    } else {
      ex.push(['s', frame('MESSAGE', [`subscription:${rng.int(subs.length)}`, `message-id:ID:broker-${rng.hex(8)}-1:${rng.int(99)}:-1:1:${rng.int(999)}`, `destination:${rng.pick(subs)}`, ct, `ack:${rng.hex(6)}`], body)]);
      if (rng.chance(0.4)) ex.push(['c', frame('ACK', [`id:${rng.hex(6)}`])]);
    }
    if (rng.chance(0.2)) ex.push([side(rng), b(eol)]); // heart-beat
  }
  ex.push(['c', frame('DISCONNECT', [`receipt:${rng.int(99)}`])], ['s', frame('RECEIPT', [`receipt-id:${rng.int(99)}`])]);
  return { name: 'stomp', port: 61613, exchanges: ex, keywords: ['MESSAGE', 'SEND', 'CONNECT', 'SUBSCRIBE', 'destination:'] };
}

/** beanstalkd protocol.txt: put <pri> <delay> <ttr> <bytes> / RESERVED <id> <bytes>, data lines counted in bytes */
function beanstalkd(rng: Rng): Script {
  const tube = rng.pick(['chat-fanout', 'mail', 'notifications', 'default']);
  const job = () => b(rng.pick([chatJson(rng), mailText(rng), `MSG ${email(rng)} ${who(rng)} ${rng.range(10, 300)}`, say(rng)]));
  const ex: Exchange[] = [['c', b(`use ${tube}\r\n`)], ['s', b(`USING ${tube}\r\n`)], ['c', b(`watch ${tube}\r\n`)], ['s', b('WATCHING 2\r\n')]];
  let id = rng.range(1, 90000);
  for (let i = rng.range(2, 8); i > 0; i--) {
    const d = job();
    if (rng.chance(0.5)) {
      ex.push(['c', cat(`put ${rng.pick([0, 1024, 65536])} ${rng.pick([0, 0, 5])} ${rng.pick([60, 120])} ${d.length}\r\n`, d, '\r\n')], ['s', b(`INSERTED ${id++}\r\n`)]);
    } else {
      ex.push(['c', b(rng.chance(0.5) ? 'reserve\r\n' : `reserve-with-timeout ${rng.range(1, 30)}\r\n`)], ['s', cat(`RESERVED ${id} ${d.length}\r\n`, d, '\r\n')]);
      ex.push(['c', b(rng.chance(0.8) ? `delete ${id}\r\n` : `bury ${id} 1024\r\n`)], ['s', b(rng.chance(0.8) ? 'DELETED\r\n' : 'BURIED\r\n')]);
    }
  }
  const stats = `---\nname: ${tube}\ncurrent-jobs-urgent: 0\ncurrent-jobs-ready: ${rng.int(50)}\ncurrent-jobs-reserved: 1\ncurrent-watching: 2\ntotal-jobs: ${id}\n`;
  ex.push(['c', b(`stats-tube ${tube}\r\n`)], ['s', b(`OK ${stats.length}\r\n${stats}\r\n`)], ['c', b('quit\r\n')]);
  return { name: 'beanstalkd', port: 11300, exchanges: ex, keywords: ['RESERVED', 'put ', 'MSG ', 'USING'] };
}

/** AMQP 0-9-1 (amqp0-9-1.xml, "4.2.3 General Frame Format"): protocol header, then type/channel/size frames ending 0xCE */
function amqp(rng: Rng): Script {
  const frame = (type: number, ch: number, payload: Buffer) => cat(u8(type), u16be(ch), u32be(payload.length), payload, u8(0xce));
  const method = (ch: number, cls: number, m: number, args: Buffer) => frame(1, ch, cat(u16be(cls), u16be(m), args));
  const shortstr = (s: string) => cat(u8(Buffer.byteLength(s)), s);
  const longstr = (s: string | Buffer) => cat(u32be(b(s).length), b(s));
  const table = (entries: [string, string][]) => {
    const t = Buffer.concat(entries.map(([k, v]) => cat(shortstr(k), 'S', longstr(v))));
    return cat(u32be(t.length), t);
  };
  const ex: Exchange[] = [
    ['c', Buffer.from('AMQP\x00\x00\x09\x01', 'latin1')],
    ['s', method(0, 10, 10, cat(u8(0), u8(9), table([['product', 'RabbitMQ'], ['version', '3.12.10'], ['platform', 'Erlang/OTP 26.1'], ['cluster_name', `rabbit@mq-${rng.int(3)}`]]), longstr('AMQPLAIN PLAIN'), longstr('en_US')))],
    ['c', method(0, 10, 11, cat(table([['product', rng.pick(['pika', 'amqplib', 'Bunny'])], ['connection_name', `chat-worker-${rng.int(9)}`]]), shortstr('PLAIN'), longstr(`\0${who(rng)}\0secret`), shortstr('en_US')))],
    ['s', method(0, 10, 30, cat(u16be(2047), u32be(131072), u16be(60)))],
    ['c', method(0, 10, 31, cat(u16be(2047), u32be(131072), u16be(60)))],
    ['c', method(0, 10, 40, cat(shortstr('/'), shortstr(''), u8(0)))],
    ['s', method(0, 10, 41, shortstr(''))],
    ['c', method(1, 20, 10, shortstr(''))],
    ['s', method(1, 20, 11, longstr(''))],
  ];
  const queue = `chat.${room(rng)}`;
  ex.push(['c', method(1, 50, 10, cat(u16be(0), shortstr(queue), u8(2), u32be(0)))], ['s', method(1, 50, 11, cat(shortstr(queue), u32be(rng.int(20)), u32be(1)))]);
  const tag = `amq.ctag-${rng.hex(22)}`;
  ex.push(['c', method(1, 60, 20, cat(u16be(0), shortstr(queue), shortstr(''), u8(0), u32be(0)))], ['s', method(1, 60, 21, shortstr(tag))]);
  const content = (body: Buffer) => cat(frame(2, 1, cat(u16be(60), u16be(0), u64be(body.length), u16be(0x9000), shortstr('application/json'), u8(2))), frame(3, 1, body));
  for (let i = rng.range(2, 8); i > 0; i--) {
    const body = b(chatJson(rng));
    if (rng.chance(0.5)) ex.push(['c', cat(method(1, 60, 40, cat(u16be(0), shortstr('amq.topic'), shortstr(queue), u8(0))), content(body))]);
    else ex.push(['s', cat(method(1, 60, 60, cat(shortstr(tag), u64be(i), u8(0), shortstr('amq.topic'), shortstr(queue))), content(body))]);
    if (rng.chance(0.2)) ex.push([side(rng), frame(8, 0, Buffer.alloc(0))]);
  }
  ex.push(['c', method(0, 10, 50, cat(u16be(200), shortstr('Goodbye'), u16be(0), u16be(0)))], ['s', method(0, 10, 51, Buffer.alloc(0))]);
  return { name: 'amqp', port: 5672, exchanges: ex, keywords: ['AMQP', 'chat.', '{"id"'] };
}

/** Kafka protocol guide (kafka.apache.org/protocol): size, api_key, api_version, correlation_id, client_id; Produce v3 / Fetch v4 with v2 RecordBatches */
function kafka(rng: Rng): Script {
  const str = (s: string) => cat(u16be(Buffer.byteLength(s)), s);
  const varint = (n: number) => {
    let z = (n << 1) ^ (n >> 31);
    const out: number[] = [];
    while (z & ~0x7f) {
      out.push((z & 0x7f) | 0x80);
      z >>>= 7;
    }
    out.push(z);
    return Buffer.from(out);
  };
  const crc32c = (d: Buffer) => {
    let c = 0xffffffff;
    for (const x of d) {
      c ^= x;
      for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    }
    return (c ^ 0xffffffff) >>> 0;
  };
  const batch = (values: Buffer[], base: number) => {
    const ts = 1705300000000 + rng.int(1e7);
    const recs = values.map((v, i) => {
      const key = b(who(rng));
      const r = cat(u8(0), varint(i * 3), varint(i), varint(key.length), key, varint(v.length), v, varint(0));
      return cat(varint(r.length), r);
    });
    const afterCrc = cat(u16be(0), u32be(values.length - 1), u64be(ts), u64be(ts + values.length * 3), u64be(-1n), u16be(0xffff), u32be(0xffffffff), u32be(values.length), ...recs);
    const tail = cat(u32be(0), u8(2), u32be(crc32c(afterCrc)), afterCrc);
    return cat(u64be(base), u32be(tail.length), tail);
  };
  const clientId = rng.pick(['chat-producer', 'rdkafka', 'consumer-chat-group-1', 'notifier']);
  const topic = rng.pick(['chat-messages', 'user-events', 'notifications', `room.${room(rng)}`]);
  let corr = rng.range(0, 1000);
  const req = (key: number, ver: number, body: Buffer) => {
    const p = cat(u16be(key), u16be(ver), u32be(corr++), str(clientId), body);
    return cat(u32be(p.length), p);
  };
  const res = (body: Buffer) => cat(u32be(body.length + 4), u32be(corr - 1), body);
  const ex: Exchange[] = [
    ['c', req(18, 0, Buffer.alloc(0))],
    ['s', res(cat(u16be(0), u32be(3), u16be(0), u16be(0), u16be(9), u16be(1), u16be(0), u16be(13), u16be(3), u16be(0), u16be(12)))],
    ['c', req(3, 1, cat(u32be(1), str(topic)))],
    ['s', res(cat(u32be(1), u32be(1), str('kafka-1.example.com'), u32be(9092), u16be(0xffff), u32be(1), u32be(1), u16be(0), str(topic), u8(0), u32be(1), u16be(0), u32be(0), u32be(1), u32be(1), u32be(1), u32be(1), u32be(1)))],
  ];
  let offset = rng.range(0, 1e6);
  for (let i = rng.range(2, 5); i > 0; i--) {
    const values = Array.from({ length: rng.range(1, 4) }, () => b(rng.chance(0.7) ? chatJson(rng) : say(rng)));
    if (rng.chance(0.5)) {
      const rs = batch(values, 0);
      ex.push(['c', req(0, 3, cat(u16be(0xffff), u16be(1), u32be(30000), u32be(1), str(topic), u32be(1), u32be(0), u32be(rs.length), rs))]);
      ex.push(['s', res(cat(u32be(1), str(topic), u32be(1), u32be(0), u16be(0), u64be(offset), u64be(-1n), u32be(0)))]);
      offset += values.length;
    } else {
      ex.push(['c', req(1, 4, cat(u32be(0xffffffff), u32be(500), u32be(1), u32be(52428800), u8(0), u32be(1), str(topic), u32be(1), u32be(0), u64be(offset), u32be(1048576)))]);
      const rs = batch(values, offset);
      ex.push(['s', res(cat(u32be(0), u32be(1), str(topic), u32be(1), u32be(0), u16be(0), u64be(offset + values.length), u64be(offset + values.length), u32be(0xffffffff), u32be(rs.length), rs))]);
      offset += values.length;
    }
  }
  return { name: 'kafka', port: 9092, exchanges: ex, keywords: [topic, '{"id"', clientId] };
}

/**
 * A sensor exporting captured packets' payloads to Kafka (a packet broker feeding an analytics
 * pipeline): Produce requests whose record values are whole IM PDUs — YMSG, two OSCAR FLAPs, a
 * Gadu-Gadu message packet — between Kafka's own length-prefixed framing. Carried, not spoken.
 */
function kafkaPacketExport(rng: Rng): Script {
  const ymsg = () => {
    const body = Buffer.from(`1\xc0\x80${who(rng)}_example\xc0\x805\xc0\x80${who(rng)}_example\xc0\x8014\xc0\x80${say(rng)}\xc0\x80`, 'latin1');
    return cat('YMSG', u16be(0x10), u16be(0), u16be(body.length), u16be(6), u32be(1), u32be(rng.int(2 ** 31)), body);
  };
  let seq = rng.int(0x8000);
  const flap = (ch: number, data: Buffer) => cat(u8(0x2a), u8(ch), u16be(seq++ & 0xffff), u16be(data.length), data);
  const snac = (fam: number, sub: number, data: Buffer) => flap(2, cat(u16be(fam), u16be(sub), u16be(0), u32be(rng.int(2 ** 31)), data));
  const gg = () => {
    const text = b(say(rng) + '\0');
    const body = cat(u32le(rng.range(10000, 9999999)), u32le(rng.int(2 ** 31)), u32le(0x08), u32le(20), u32le(20 + text.length), text);
    return cat(u32le(0x2d), u32le(body.length), body);
  };
  const values = () => rng.pick([ymsg, () => cat(flap(1, u32be(1)), snac(1, 3, Buffer.from([0, 1, 0, 2, 0, 3, 0, 4]))), gg])();
  const varint = (n: number) => {
    let z = n << 1;
    const out: number[] = [];
    while (z > 0x7f) {
      out.push((z & 0x7f) | 0x80);
      z >>>= 7;
    }
    out.push(z);
    return Buffer.from(out);
  };
  const str = (x: string) => cat(u16be(x.length), x);
  let corr = rng.int(1000);
  const ex: Exchange[] = [];
  for (let i = rng.range(2, 6); i > 0; i--) {
    const vals = Array.from({ length: rng.range(1, 4) }, values);
    const recs = vals.map((v, k) => {
      const r = cat(u8(0), varint(k), varint(k), u8(1) /* null key: zigzag -1 */, varint(v.length), v, varint(0));
      return cat(varint(r.length), r);
    });
    const afterCrc = cat(u16be(0), u32be(vals.length - 1), u64be(1705300000000), u64be(1705300000000), u64be(-1n), u16be(0xffff), u32be(0xffffffff), u32be(vals.length), ...recs);
    const batch = cat(u64be(0), u32be(afterCrc.length + 9), u32be(0), u8(2), u32be(rng.int(2 ** 32)), afterCrc);
    const p = cat(u16be(0), u16be(3), u32be(corr), str('packet-exporter'), u16be(0xffff), u16be(1), u32be(30000), u32be(1), str('im-packets'), u32be(1), u32be(0), u32be(batch.length), batch);
    ex.push(['c', cat(u32be(p.length), p)]);
    const res = cat(u32be(corr++), u32be(1), str('im-packets'), u32be(1), u32be(0), u16be(0), u64be(rng.int(1e6)), u64be(-1n), u32be(0));
    ex.push(['s', cat(u32be(res.length), res)]);
  }
  return { name: 'kafka-packet-export', port: 9092, exchanges: ex, keywords: ['YMSG', '*', 'im-packets'] };
}

/** ZooKeeper jute wire format (zookeeper.jute, ClientCnxn): length-prefixed ConnectRequest, request headers (xid, type), replies (xid, zxid, err), watcher events; four-letter words */
function zookeeper(rng: Rng): Script {
  const frame = (p: Buffer) => cat(u32be(p.length), p);
  const ustr = (s: string) => cat(u32be(Buffer.byteLength(s)), s);
  const buf = (d: Buffer) => cat(u32be(d.length), d);
  let zxid = BigInt(rng.range(1e6, 9e6));
  const stat = (len: number) => cat(u64be(zxid), u64be(zxid), u64be(1705300000000), u64be(1705300000000), u32be(rng.int(50)), u32be(0), u32be(0), u64be(0), u32be(len), u32be(rng.int(5)), u64be(zxid));
  if (rng.chance(0.2)) {
    const w = rng.pick(['ruok', 'stat', 'mntr', 'srvr']);
    const out = w === 'ruok' ? 'imok' : `Zookeeper version: 3.8.3-${rng.hex(40)}, built on 2023-10-05 10:34 UTC\nClients:\n /10.0.0.${rng.int(250)}:${rng.range(30000, 60000)}[1](queued=0,recved=${rng.int(999)},sent=${rng.int(999)})\n\nLatency min/avg/max: 0/0.5/12\nReceived: ${rng.int(99999)}\nMode: follower\nNode count: ${rng.int(9999)}\n`;
    return { name: 'zookeeper', port: 2181, exchanges: [['c', b(w)], ['s', b(out)]], keywords: ['Clients', 'Mode'] };
  }
  const sid = BigInt('0x' + rng.hex(15));
  const ex: Exchange[] = [
    ['c', frame(cat(u32be(0), u64be(0), u32be(30000), u64be(0), buf(Buffer.alloc(16)), u8(0)))],
    ['s', frame(cat(u32be(0), u32be(30000), u64be(sid), buf(rng.bytes(16)), u8(0)))],
  ];
  let xid = 1;
  for (let i = rng.range(3, 9); i > 0; i--) {
    const path = rng.pick([`/chat/rooms/${room(rng)}/members`, `/chat/presence/${who(rng)}`, '/brokers/ids', `/config/messages/${rng.hex(6)}`]);
    zxid += 1n;
    switch (rng.int(4)) {
      case 0: { // getData
        const data = b(rng.chance(0.5) ? chatJson(rng) : JSON.stringify({ host: `10.0.0.${rng.int(250)}`, port: 5222, status: 'online' }));
        ex.push(['c', frame(cat(u32be(xid), u32be(4), ustr(path), u8(1)))], ['s', frame(cat(u32be(xid++), u64be(zxid), u32be(0), buf(data), stat(data.length)))]);
        break;
      }
      case 1: { // getChildren2
        const kids = rng.some(PEOPLE, rng.range(1, 5));
        ex.push(['c', frame(cat(u32be(xid), u32be(12), ustr(path), u8(1)))], ['s', frame(cat(u32be(xid++), u64be(zxid), u32be(0), u32be(kids.length), ...kids.map(ustr), stat(0)))]);
        break;
      }
      case 2: { // create (ephemeral)
        const data = b(chatJson(rng));
        ex.push(['c', frame(cat(u32be(xid), u32be(1), ustr(path), buf(data), u32be(1), u32be(31), ustr('world'), ustr('anyone'), u32be(1)))], ['s', frame(cat(u32be(xid++), u64be(zxid), u32be(0), ustr(path)))]);
        break;
      }
      default: // ping, and maybe a watch firing
        ex.push(['c', frame(cat(i32be(-2), u32be(11)))], ['s', frame(cat(i32be(-2), u64be(zxid), u32be(0)))]);
        if (rng.chance(0.5)) ex.push(['s', frame(cat(i32be(-1), u64be(-1n), u32be(0), u32be(rng.pick([3, 4])), u32be(3), ustr(path)))]);
    }
  }
  ex.push(['c', frame(cat(u32be(xid), u32be(0xfffffff5)))], ['s', frame(cat(u32be(xid), u64be(zxid), u32be(0)))]);
  return { name: 'zookeeper', port: 2181, exchanges: ex, keywords: ['/chat', '{"id"'] };
}

// ---- text protocols -----------------------------------------------------------------------------

/** NNTP (RFC 3977, RFC 2980 XOVER): greeting, CAPABILITIES, LIST, GROUP, XOVER, ARTICLE, POST; dot-terminated blocks */
function nntp(rng: Rng): Script {
  const groups = ['alt.chat', 'comp.protocols.irc', 'alt.irc.questions', 'comp.lang.c', 'de.comm.chatsysteme', 'alt.msn.messenger', 'news.announce'];
  const g = rng.pick(groups);
  const lo = rng.range(1000, 90000), hi = lo + rng.range(10, 400);
  const article = (n: number) => {
    const subject = rng.pick(['Re: PRIVMSG flood on #help', 'MSN Messenger MSG format', 'Join us on #linux', 'NICK collisions after netsplit', 'Who runs this server?', 'Re: Ping timeouts']);
    const body = [
      `${who(rng)} wrote:`, `> ${say(rng)}`, `> ${say(rng)}`, '',
      rng.pick(['The usual form is :nick!user@host PRIVMSG #channel :text', 'The server answers PING with PONG.', 'MSG 4 N 118 then the MIME payload.', 'Try /join #help and ask there.']),
      say(rng), '', '-- ', `${who(rng)}`,
    ].map((l) => l.replace(/^\./, '..'));
    return [
      `Path: news.example.com!not-for-mail`, `From: ${who(rng)} <${email(rng)}>`, `Newsgroups: ${g}`, `Subject: ${subject}`,
      `Date: Mon, 15 Jan 2024 09:${10 + rng.int(50)}:00 +0000`, `Message-ID: <${rng.hex(12)}@news.example.com>`, `Lines: ${body.length}`,
      `Xref: news.example.com ${g}:${n}`, '', ...body,
    ].join('\r\n');
  };
  const ex: Exchange[] = [
    ['s', b(`200 news.example.com InterNetNews NNRP server INN 2.7.1 ready (posting ok)\r\n`)],
    ['c', b('CAPABILITIES\r\n')],
    ['s', b('101 Capability list:\r\nVERSION 2\r\nIMPLEMENTATION INN 2.7.1\r\nAUTHINFO USER\r\nHDR\r\nLIST ACTIVE ACTIVE.TIMES COUNTS DISTRIB.PATS HEADERS MODERATORS MOTD NEWSGROUPS OVERVIEW.FMT SUBSCRIPTIONS\r\nNEWNEWS\r\nOVER\r\nPOST\r\nREADER\r\n.\r\n')],
    ['c', b('MODE READER\r\n')], ['s', b('200 news.example.com InterNetNews NNRP server INN 2.7.1 ready (posting ok)\r\n')],
  ];
  if (rng.chance(0.5)) {
    ex.push(['c', b('LIST\r\n')], ['s', b(`215 list of newsgroups follows\r\n${groups.map((x) => `${x} ${String(rng.range(1000, 99999)).padStart(10, '0')} ${String(rng.range(1, 999)).padStart(10, '0')} ${rng.pick(['y', 'm', 'n'])}`).join('\r\n')}\r\n.\r\n`)]);
  }
  ex.push(['c', b(`GROUP ${g}\r\n`)], ['s', b(`211 ${hi - lo + 1} ${lo} ${hi} ${g}\r\n`)]);
  ex.push(['c', b(`XOVER ${hi - 5}-${hi}\r\n`)], ['s', b(`224 Overview information follows\r\n${Array.from({ length: 5 }, (_, i) => `${hi - 5 + i}\tRe: ${say(rng)}\t${who(rng)} <${email(rng)}>\tMon, 15 Jan 2024 09:${10 + i}:00 +0000\t<${rng.hex(10)}@news.example.com>\t\t${rng.range(500, 9000)}\t${rng.range(5, 90)}\tXref: news.example.com ${g}:${hi - 5 + i}`).join('\r\n')}\r\n.\r\n`)]);
  for (let i = rng.range(1, 3); i > 0; i--) {
    const n = rng.range(lo, hi);
    ex.push(['c', b(`ARTICLE ${n}\r\n`)], ['s', b(`220 ${n} <${rng.hex(12)}@news.example.com> article\r\n${article(n)}\r\n.\r\n`)]);
  }
  if (rng.chance(0.4)) ex.push(['c', b('POST\r\n')], ['s', b('340 Ok, recommended message-ID <x@news.example.com>\r\n')], ['c', b(article(0) + '\r\n.\r\n')], ['s', b('240 Article received <x@news.example.com>\r\n')]);
  ex.push(['c', b('QUIT\r\n')], ['s', b('205 Bye!\r\n')]);
  return { name: 'nntp', port: 119, exchanges: ex, keywords: ['PRIVMSG', 'MSG ', 'Join', 'NICK', 'Who', 'PING', '2', 'GROUP'] };
}

/** Telnet (RFC 854/855, options 1 ECHO, 3 SGA, 24 TTYPE RFC 1091, 31 NAWS RFC 1073) then a BBS teleconference */
function telnetBbs(rng: Rng): Script {
  const IAC = 255, DO = 253, WILL = 251, WONT = 252, SB = 250, SE = 240;
  const me = who(rng), other = PEOPLE.filter((p) => p !== me);
  const nl = rng.chance(0.5) ? '\r\n' : '\r\0';
  const ex: Exchange[] = [
    ['s', Buffer.from([IAC, DO, 24, IAC, DO, 31, IAC, WILL, 1, IAC, WILL, 3])],
    ['c', Buffer.from([IAC, WILL, 24, IAC, WILL, 31, IAC, DO, 1, IAC, DO, 3, IAC, SB, 31, 0, 80, 0, 24, IAC, SE])],
    ['s', Buffer.from([IAC, SB, 24, 1, IAC, SE])],
    ['c', cat(Buffer.from([IAC, SB, 24, 0]), rng.pick(['ANSI', 'XTERM', 'VT100']), Buffer.from([IAC, SE]))],
    ['s', b(`\x1b[2J\x1b[H\x1b[1;36mWelcome to ${rng.pick(['The Night Owl', 'Dark Realms', 'Byte Bunker'])} BBS\x1b[0m\r\nRunning Synchronet 3.19\r\n\r\nlogin: `)],
  ];
  // the login typed a key at a time, echoed by the server
  for (const ch of me + '\r') ex.push(['c', b(ch === '\r' ? nl : ch)], ['s', b(ch === '\r' ? '\r\n' : ch)]);
  ex.push(['s', b('Password: ')], ['c', b(`hunter2${nl}`)], ['s', b(`\r\n\x1b[33mLast on: Mon Jan 15 09:${rng.range(10, 59)}\x1b[0m\r\n[M]essages [F]iles [T]eleconference [G]oodbye\r\nCommand: `)]);
  ex.push(['c', b('T')], ['s', b(`T\r\n*** Entering teleconference channel ${rng.int(9)} (${room(rng)})\r\n*** ${rng.some(other, 3).join(', ')} are here.\r\n`)]);
  for (let i = rng.range(4, 12); i > 0; i--) {
    const p = rng.pick(other);
    switch (rng.int(5)) {
      case 0: ex.push(['c', b(`${say(rng, 'typed')}${nl}`)], ['s', b(`From ${me}: ${say(rng)}\r\n`)]); break;
      case 1: ex.push(['s', b(`From ${p}: ${say(rng)}\r\n`)]); break;
      case 2: ex.push(['c', b(`/p ${p} ${say(rng)}${nl}`)], ['s', b(`*** Private message sent to ${p}.\r\n`)]); break;
      case 3: ex.push(['s', b(`${p} (whispered): ${say(rng)}\r\n`)]); break;
      default: ex.push(['s', b(`*** ${p} has ${rng.pick(['joined', 'left'])} the channel.\r\n`)]);
    }
  }
  ex.push(['c', b(`/who${nl}`)], ['s', b(`Channel users:\r\n${other.slice(0, 4).map((p) => `  ${p.padEnd(12)} ${rng.pick(['Idle 2m', 'Active', 'Away'])}`).join('\r\n')}\r\n`)]);
  ex.push(['c', b(`/quit${nl}`)], ['s', b(`Goodbye, ${me}!\r\n`), ], ['s', Buffer.from([IAC, WONT, 1])]);
  return { name: 'telnet-bbs', port: 23, exchanges: ex, keywords: ['From ', '*** ', '/p ', 'PRIVMSG', 'JOIN', 'NICK', 'login'] };
}

/** Git smart protocol over git:// (gitprotocol-pack, gitprotocol-common): pkt-lines, side-band-64k, PACK */
function gitDaemon(rng: Rng): Script {
  const pkt = (s: string | Buffer) => {
    const d = b(s);
    return cat((d.length + 4).toString(16).padStart(4, '0'), d);
  };
  const flush = b('0000');
  const repo = rng.pick(['/chat-server.git', '/irc-bot.git', '/msn-bridge.git', '/website.git']);
  const head = rng.hex(40);
  const refs = [pkt(`${head} HEAD\0multi_ack thin-pack side-band side-band-64k ofs-delta shallow deepen-since deepen-not deepen-relative no-progress include-tag multi_ack_detailed symref=HEAD:refs/heads/main object-format=sha1 agent=git/2.43.0\n`)];
  refs.push(pkt(`${head} refs/heads/main\n`));
  for (const t of rng.some(['refs/heads/dev', 'refs/heads/feature/privmsg-relay', 'refs/tags/v1.0', 'refs/tags/v1.1', 'refs/pull/12/head'], rng.range(1, 4))) refs.push(pkt(`${rng.hex(40)} ${t}\n`));
  const pack = cat('PACK', u32be(2), u32be(rng.range(3, 60)), rng.bytes(rng.range(200, 3000)), rng.bytes(20));
  const sb = (band: number, d: Buffer | string) => pkt(cat(u8(band), d));
  const n = rng.range(10, 400);
  const ex: Exchange[] = [
    ['c', pkt(`git-upload-pack ${repo}\0host=git.example.com\0${rng.chance(0.4) ? '\0version=1\0' : ''}`)],
    ['s', cat(...refs, flush)],
    ['c', cat(pkt(`want ${head} multi_ack_detailed side-band-64k thin-pack ofs-delta deepen-since deepen-not agent=git/2.43.0\n`), flush, pkt('done\n'))],
    ['s', cat(pkt('NAK\n'), sb(2, `Enumerating objects: ${n}, done.\n`), sb(2, `Counting objects: 100% (${n}/${n}), done.\n`), sb(2, `Compressing objects: 100% (${n >> 1}/${n >> 1}), done.\n`))],
  ];
  for (let o = 0; o < pack.length; ) {
    const k = Math.min(pack.length - o, rng.range(200, 1000));
    ex.push(['s', sb(1, pack.subarray(o, o + k))]);
    o += k;
  }
  ex.push(['s', cat(sb(2, `Total ${n} (delta ${n >> 2}), reused ${n >> 3} (delta 0), pack-reused 0\n`), flush)]);
  return { name: 'git-daemon', port: 9418, exchanges: ex, keywords: ['want ', 'NAK', 'git-upload-pack', 'PACK'] };
}

// ---- databases ----------------------------------------------------------------------------------

/** MySQL client/server protocol (dev.mysql.com/doc/dev/mysql-server/latest/PAGE_PROTOCOL.html): HandshakeV10, HandshakeResponse41, COM_QUERY, text resultset */
function mysql(rng: Rng): Script {
  let seq = 0;
  const pkt = (p: Buffer) => cat(u24le(p.length), u8(seq++ & 255), p);
  const lenenc = (s: string | Buffer) => {
    const d = b(s);
    return cat(d.length < 251 ? u8(d.length) : cat(u8(0xfc), u16le(d.length)), d);
  };
  const eof = () => pkt(Buffer.from([0xfe, 0, 0, 2, 0]));
  const ok = (affected = 0) => pkt(cat(u8(0), u8(affected), u8(0), u16le(2), u16le(0)));
  const version = rng.pick(['8.0.35', '5.7.44-log', '10.11.6-MariaDB-0+deb12u1']);
  const salt1 = Buffer.from(rng.bytes(8).map((x) => (x & 0x7f) | 1)), salt2 = Buffer.from(rng.bytes(12).map((x) => (x & 0x7f) | 1));
  const ex: Exchange[] = [
    ['s', pkt(cat(u8(10), version, u8(0), u32le(rng.range(8, 99999)), salt1, u8(0), u16le(0xf7ff), u8(0xff), u16le(2), u16le(0xdfff), u8(21), Buffer.alloc(10), salt2, u8(0), 'caching_sha2_password', u8(0)))],
  ];
  seq = 1;
  ex.push(['c', pkt(cat(u32le(0x002fa20f), u32le(16777216), u8(0xff), Buffer.alloc(23), who(rng), u8(0), u8(32), rng.bytes(32), 'chat', u8(0), 'caching_sha2_password', u8(0)))]);
  ex.push(['s', cat(pkt(Buffer.from([1, 3])), ok())]);
  const queries: [string, string[], string[][]][] = [];
  for (let i = rng.range(2, 5); i > 0; i--) {
    const r = room(rng);
    if (rng.chance(0.5)) {
      const rows = Array.from({ length: rng.range(1, 6) }, () => [String(rng.range(1, 99999)), email(rng), say(rng)]);
      queries.push([`SELECT id, sender, body FROM messages WHERE room = '${r}' ORDER BY id DESC LIMIT 50`, ['id', 'sender', 'body'], rows]);
    } else {
      queries.push([`INSERT INTO messages (room, sender, body) VALUES ('${r}', '${email(rng)}', '${say(rng).replace(/'/g, "''")}')`, [], []]);
    }
  }
  for (const [q, cols, rows] of queries) {
    seq = 0;
    ex.push(['c', pkt(cat(u8(3), q))]);
    seq = 1;
    if (!cols.length) {
      ex.push(['s', ok(1)]);
      continue;
    }
    const parts = [pkt(u8(cols.length))];
    for (const c of cols) parts.push(pkt(cat(lenenc('def'), lenenc('chat'), lenenc('messages'), lenenc('messages'), lenenc(c), lenenc(c), u8(0x0c), u16le(c === 'id' ? 63 : 255), u32le(c === 'id' ? 11 : 1020), u8(c === 'id' ? 3 : 0xfd), u16le(c === 'id' ? 0x4203 : 0), u8(0), u16le(0))));
    parts.push(eof());
    for (const r of rows) parts.push(pkt(cat(...r.map((v) => lenenc(v)))));
    parts.push(eof());
    ex.push(['s', cat(...parts)]);
  }
  seq = 0;
  ex.push(['c', pkt(u8(1))]);
  return { name: 'mysql', port: 3306, exchanges: ex, keywords: ['SELECT', 'INSERT', 'PRIVMSG', 'MSG '] };
}

/** PostgreSQL frontend/backend protocol 3.0 (postgresql.org/docs/current/protocol-message-formats.html): startup, auth, simple query, LISTEN/NOTIFY */
function postgres(rng: Rng): Script {
  const msg = (t: string, body: Buffer | string) => cat(t, u32be(b(body).length + 4), b(body));
  const cstr = (s: string) => cat(s, u8(0));
  const user = who(rng);
  const ex: Exchange[] = [];
  if (rng.chance(0.3)) ex.push(['c', cat(u32be(8), u32be(80877103))], ['s', b('N')]);
  const params = cat(...['user', user, 'database', 'chat', 'application_name', rng.pick(['psql', 'chat-api', 'PostgreSQL JDBC Driver']), 'client_encoding', 'UTF8'].map(cstr), u8(0));
  ex.push(['c', cat(u32be(params.length + 8), u32be(196608), params)]);
  ex.push(['s', msg('R', cat(u32be(5), rng.bytes(4)))], ['c', msg('p', cstr('md5' + rng.hex(32)))]);
  ex.push(['s', cat(msg('R', u32be(0)), ...[['server_version', '16.1'], ['client_encoding', 'UTF8'], ['DateStyle', 'ISO, MDY'], ['TimeZone', 'UTC'], ['integer_datetimes', 'on']].map(([k, v]) => msg('S', cat(cstr(k), cstr(v)))), msg('K', cat(u32be(rng.range(100, 99999)), rng.bytes(4))), msg('Z', 'I'))]);
  const channel = `chat_${room(rng)}`;
  for (let i = rng.range(2, 6); i > 0; i--) {
    const k = rng.int(3);
    if (k === 0) {
      const rows = Array.from({ length: rng.range(1, 5) }, () => [String(rng.range(1, 99999)), email(rng), say(rng)]);
      const field = (n: string, oid: number) => cat(cstr(n), u32be(16400), u16be(1), u32be(oid), u16be(oid === 23 ? 4 : 0xffff), i32be(-1), u16be(0));
      ex.push(['c', msg('Q', cstr(`SELECT id, sender, body FROM messages WHERE room = '${room(rng)}' ORDER BY id DESC LIMIT 20;`))]);
      ex.push(['s', cat(msg('T', cat(u16be(3), field('id', 23), field('sender', 25), field('body', 25))), ...rows.map((r) => msg('D', cat(u16be(r.length), ...r.map((v) => cat(u32be(Buffer.byteLength(v)), v))))), msg('C', cstr(`SELECT ${rows.length}`)), msg('Z', 'I'))]);
    } else if (k === 1) {
      ex.push(['c', msg('Q', cstr(`LISTEN ${channel};`))], ['s', cat(msg('C', cstr('LISTEN')), msg('Z', 'I'))]);
    } else {
      const payload = rng.chance(0.5) ? chatJson(rng) : say(rng);
      ex.push(['c', msg('Q', cstr(`NOTIFY ${channel}, '${payload.replace(/'/g, "''")}';`))], ['s', cat(msg('C', cstr('NOTIFY')), msg('A', cat(u32be(rng.range(100, 99999)), cstr(channel), cstr(payload))), msg('Z', 'I'))]);
    }
  }
  ex.push(['c', msg('X', Buffer.alloc(0))]);
  return { name: 'postgres', port: 5432, exchanges: ex, keywords: ['SELECT', 'NOTIFY', 'LISTEN', 'PRIVMSG'] };
}

/** MongoDB wire protocol (mongodb.com/docs/manual/reference/mongodb-wire-protocol): OP_MSG (2013) with BSON section kind 0 */
function mongodb(rng: Rng): Script {
  type V = string | number | boolean | { oid: Buffer } | { dbl: number } | { uuid: Buffer } | V[] | { [k: string]: V };
  const el = (k: string, v: V): Buffer => {
    const name = cat(k, u8(0));
    if (typeof v === 'string') return cat(u8(0x02), name, u32le(Buffer.byteLength(v) + 1), v, u8(0));
    if (typeof v === 'boolean') return cat(u8(0x08), name, u8(v ? 1 : 0));
    if (typeof v === 'number') {
      if (Number.isInteger(v) && Math.abs(v) < 2 ** 31) return cat(u8(0x10), name, u32le(v));
      const d = Buffer.alloc(8);
      d.writeDoubleLE(v);
      return cat(u8(0x01), name, d);
    }
    if (Array.isArray(v)) return cat(u8(0x04), name, doc(Object.fromEntries(v.map((x, i) => [String(i), x]))));
    if ('oid' in v && Buffer.isBuffer(v.oid)) return cat(u8(0x07), name, v.oid);
    if ('uuid' in v && Buffer.isBuffer(v.uuid)) return cat(u8(0x05), name, u32le(16), u8(4), v.uuid);
    if ('dbl' in v && typeof v.dbl === 'number') {
      const d = Buffer.alloc(8);
      d.writeDoubleLE(v.dbl);
      return cat(u8(0x01), name, d);
    }
    return cat(u8(0x03), name, doc(v as { [k: string]: V }));
  };
  const doc = (o: { [k: string]: V }): Buffer => {
    const body = Buffer.concat(Object.entries(o).map(([k, v]) => el(k, v)));
    return cat(u32le(body.length + 5), body, u8(0));
  };
  let reqId = rng.range(1, 1e6);
  const opMsg = (d: { [k: string]: V }, responseTo = 0) => {
    const body = cat(u32le(0), u8(0), doc(d));
    return cat(u32le(body.length + 16), u32le(reqId++), u32le(responseTo), u32le(2013), body);
  };
  const chatDoc = (): { [k: string]: V } => ({ _id: { oid: rng.bytes(12) }, room: room(rng), from: email(rng), to: email(rng), type: 'chat', body: say(rng), ts: 1705300000 + rng.int(86400) });
  const ex: Exchange[] = [
    ['c', opMsg({ hello: 1, client: { driver: { name: rng.pick(['nodejs', 'PyMongo', 'mongo-go-driver']), version: '6.3.0' }, os: { type: 'Linux', architecture: 'x64' }, application: { name: 'chat-api' } }, $db: 'admin' })],
    ['s', opMsg({ isWritablePrimary: true, topologyVersion: { processId: { oid: rng.bytes(12) }, counter: 0 }, maxBsonObjectSize: 16777216, maxMessageSizeBytes: 48000000, maxWriteBatchSize: 100000, localTime: 1705300000, logicalSessionTimeoutMinutes: 30, connectionId: rng.range(1, 9999), minWireVersion: 0, maxWireVersion: 21, readOnly: false, ok: { dbl: 1 } }, reqId - 1)],
  ];
  for (let i = rng.range(2, 6); i > 0; i--) {
    if (rng.chance(0.5)) {
      const docs = Array.from({ length: rng.range(1, 3) }, chatDoc);
      ex.push(['c', opMsg({ insert: 'messages', documents: docs, ordered: true, lsid: { id: { uuid: rng.bytes(16) } }, $db: 'chat' })], ['s', opMsg({ n: docs.length, ok: { dbl: 1 } }, reqId - 1)]);
    } else {
      const docs = Array.from({ length: rng.range(0, 5) }, chatDoc);
      ex.push(['c', opMsg({ find: 'messages', filter: { room: room(rng) }, sort: { ts: -1 }, limit: 20, $db: 'chat' })], ['s', opMsg({ cursor: { firstBatch: docs, id: 0, ns: 'chat.messages' }, ok: { dbl: 1 } }, reqId - 1)]);
    }
  }
  return { name: 'mongodb', port: 27017, exchanges: ex, keywords: ['messages', 'chat', 'body'] };
}

/** MS-TDS (MS-TDS 2.2.6.5 PRELOGIN, 2.2.6.4 LOGIN7, 2.2.6.7 SQLBatch): 8-byte packet header, then TLS in PRELOGIN packets or a cleartext login */
function tds(rng: Rng): Script {
  const packet = (type: number, data: Buffer, id = 1) => cat(u8(type), u8(1), u16be(data.length + 8), u16be(0), u8(id), u8(0), data);
  const prelogin = (opts: [number, Buffer][]) => {
    let off = opts.length * 5 + 1;
    const heads: Buffer[] = [], datas: Buffer[] = [];
    for (const [t, d] of opts) {
      heads.push(cat(u8(t), u16be(off), u16be(d.length)));
      datas.push(d);
      off += d.length;
    }
    return cat(...heads, u8(0xff), ...datas);
  };
  // ENCRYPT_OFF (0): TLS for the login only, cleartext after; ENCRYPT_ON (1): TLS throughout; ENCRYPT_NOT_SUP (2): none
  const encrypt = rng.pick([0, 1, 2]);
  const ex: Exchange[] = [
    ['c', packet(0x12, prelogin([[0, Buffer.from([0x10, 0, 0x07, 0xd0, 0, 0])], [1, u8(encrypt)], [2, b('MSSQLServer\0')], [3, u32be(rng.range(100, 9999))], [4, u8(0)]]))],
    ['s', packet(0x04, prelogin([[0, Buffer.from([0x10, 0, 0x07, 0xd0, 0, 0])], [1, u8(encrypt)], [2, u8(0)], [3, Buffer.alloc(0)], [4, u8(0)]]))],
  ];
  if (encrypt !== 2) {
    // the TLS handshake rides in PRELOGIN packets; the login is then a TLS record
    ex.push(['c', packet(0x12, clientHello(rng, 'sql.example.com'))], ['s', packet(0x12, tlsRecord(0x16, rng.bytes(rng.range(600, 1400))))]);
    ex.push(['c', packet(0x12, cat(tlsRecord(0x16, rng.bytes(rng.range(40, 300))), tlsRecord(0x14, u8(1)), tlsRecord(0x16, rng.bytes(40))))], ['s', packet(0x12, cat(tlsRecord(0x14, u8(1)), tlsRecord(0x16, rng.bytes(40))))]);
    ex.push(['c', tlsRecord(0x17, rng.bytes(rng.range(200, 400)))]);
    if (encrypt === 1) {
      for (let i = rng.range(2, 6); i > 0; i--) ex.push([side(rng), tlsRecord(0x17, rng.bytes(rng.range(40, 1200)))]);
      return { name: 'mssql-tds', port: 1433, exchanges: ex };
    }
  } else {
    // LOGIN7: 36 fixed bytes, nine offset/length pairs into UTF-16LE strings, ClientID, SSPI/AtchDBFile/ChangePassword pairs, cbSSPILong (94 bytes);
    // the password's bytes have their nibbles swapped and are xored with 0xA5
    const strs = [`WS-${rng.hex(4).toUpperCase()}`, who(rng), 'secret', rng.pick(['chat-api', 'Microsoft SQL Server Management Studio']), 'sql.example.com', '', 'ODBC', 'us_english', 'Chat'];
    const enc = strs.map((x, i) => (i === 2 ? Buffer.from(utf16(x).map((c) => (((c << 4) & 0xf0) | (c >> 4)) ^ 0xa5)) : utf16(x)));
    let off = 94;
    const ptrs = enc.map((e, i) => {
      const p = cat(u16le(off), u16le(strs[i].length));
      off += e.length;
      return p;
    });
    const head = cat(u32le(0), u32le(0x74000004), u32le(4096), u32le(0x07000000), u32le(rng.range(100, 9999)), u32le(0), Buffer.from([0xe0, 0x03, 0, 0]), u32le(0), u32le(0x0409));
    const login = cat(head, ...ptrs, rng.bytes(6), u16le(off), u16le(0), u16le(off), u16le(0), u16le(off), u16le(0), u32le(0), ...enc);
    login.writeUInt32LE(login.length, 0);
    ex.push(['c', packet(0x10, login)]);
  }
  const prog = utf16('Microsoft SQL Server');
  const loginack = cat(u8(1), u32be(0x74000004), u8(prog.length / 2), prog, u32be(0x10000fa0));
  ex.push(['s', packet(0x04, cat(u8(0xad), u16le(loginack.length), loginack, u8(0xfd), u16le(0), u16le(0), u64le(0)))]);
  for (let i = rng.range(1, 4); i > 0; i--) {
    const sql = rng.chance(0.5) ? `SELECT TOP 20 id, sender, body FROM dbo.messages WHERE room = N'${room(rng)}' ORDER BY id DESC` : `INSERT INTO dbo.messages (room, sender, body) VALUES (N'${room(rng)}', N'${email(rng)}', N'${say(rng).replace(/'/g, "''")}')`;
    ex.push(['c', packet(0x01, cat(u32le(22), u32le(18), u16le(2), u64le(0), u32le(1), utf16(sql)))]);
    ex.push(['s', packet(0x04, cat(u8(0xfd), u16le(0x10), u16le(0xc1), u64le(rng.int(20))))]);
  }
  return { name: 'mssql-tds', port: 1433, exchanges: ex, keywords: ['M\0S\0S\0Q\0L'] };
}

/** Oracle TNS (Wireshark packet-tns.c): 8-byte header (length, checksum, type, flags, header checksum); CONNECT with a connect descriptor, ACCEPT, DATA */
function oracleTns(rng: Rng): Script {
  const tns = (type: number, body: Buffer) => cat(u16be(body.length + 8), u16be(0), u8(type), u8(0), u16be(0), body);
  const desc = b(`(DESCRIPTION=(CONNECT_DATA=(SERVICE_NAME=${rng.pick(['ORCL', 'CHATDB', 'XEPDB1'])})(CID=(PROGRAM=${rng.pick(['sqlplus', 'JDBC Thin Client', 'python'])})(HOST=${who(rng)}-pc)(USER=${who(rng)})))(ADDRESS=(PROTOCOL=TCP)(HOST=10.0.0.${rng.range(2, 250)})(PORT=1521)))`);
  const fields = (off: number) => cat(u16be(0x013e), u16be(0x012c), u16be(0x0c41), u16be(0x2000), u16be(0xffff), u16be(0x7f08), u16be(0), u16be(1), u16be(desc.length), u16be(off), u32be(0x800), u8(0x41), u8(0x41), Buffer.alloc(24));
  const connect = tns(1, cat(fields(8 + fields(0).length), desc));
  const ex: Exchange[] = [['c', connect]];
  if (rng.chance(0.3)) ex.push(['s', tns(11, Buffer.alloc(0))], ['c', connect]);
  ex.push(['s', tns(2, cat(u16be(0x013e), u16be(0x0c41), u16be(0x2000), u16be(0xffff), u16be(1), u16be(0), u16be(0x20), u8(0x41), u8(0x01), Buffer.alloc(8)))]);
  for (let i = rng.range(3, 8); i > 0; i--) {
    const sql = rng.pick([`SELECT sender, body FROM messages WHERE room = :1`, `BEGIN chat_pkg.post(:room, :sender, :body); END;`]);
    const payload = rng.chance(0.5) ? cat(u8(3), u8(0x5e), rng.bytes(rng.range(10, 60)), u8(sql.length), sql, rng.bytes(rng.range(4, 40))) : cat(u8(6), rng.bytes(rng.range(20, 200)), u8(8), say(rng));
    ex.push([i % 2 ? 'c' : 's', tns(6, cat(u16be(0), payload))]);
  }
  return { name: 'oracle-tns', port: 1521, exchanges: ex, keywords: ['(DESCRIPTION', 'SELECT', 'BEGIN'] };
}

// ---- file sharing, directory, remote desktop ---------------------------------------------------

/** SMB2 (MS-SMB2 2.2.1, 2.2.3, 2.2.5, 2.2.9): NetBIOS session header, 64-byte header, NEGOTIATE, SESSION_SETUP with NTLMSSP, TREE_CONNECT */
function smb2(rng: Rng): Script {
  const nb = (p: Buffer) => cat(u8(0), u24be(p.length), p);
  let mid = 0;
  const sess = BigInt('0x' + rng.hex(15));
  const hdr = (cmd: number, resp: boolean, status = 0, session = 0n, tree = 0) => cat(Buffer.from([0xfe, 0x53, 0x4d, 0x42]), u16le(64), u16le(1), u32le(status), u16le(cmd), u16le(resp ? 1 : 31), u32le(resp ? 1 : 0), u32le(0), u64le(mid), u32le(0xfeff), u32le(tree), u64le(session), Buffer.alloc(16));
  const ntlm = (type: number, rest: Buffer) => cat('NTLMSSP\0', u32le(type), rest);
  const ex: Exchange[] = [];
  if (rng.chance(0.3)) {
    // an SMB1 NEGOTIATE offering SMB2 dialects first, as older Windows and Samba clients send it
    const dialects = cat(...['PC NETWORK PROGRAM 1.0', 'LANMAN1.0', 'NT LM 0.12', 'SMB 2.002', 'SMB 2.???'].map((d) => cat(u8(2), d, u8(0))));
    ex.push(['c', nb(cat(Buffer.from([0xff, 0x53, 0x4d, 0x42, 0x72]), u32le(0), u8(0x18), u16le(0xc853), Buffer.alloc(12), u16le(0), u16le(0xfeff), u16le(0), u16le(0), u8(0), u16le(dialects.length), dialects))]);
  }
  const dial = [0x0202, 0x0210, 0x0300, 0x0302, 0x0311];
  ex.push(['c', nb(cat(hdr(0, false), u16le(36), u16le(dial.length), u16le(1), u16le(0), u32le(0x7f), rng.bytes(16), u32le(0), u16le(0), u16le(0), ...dial.map(u16le)))]);
  const spnego = cat(Buffer.from([0x60, 0x28, 0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02, 0xa0, 0x1e, 0x30, 0x1c, 0xa0, 0x1a, 0x30, 0x18, 0x06, 0x0a]), Buffer.from('2b06010401823702020a', 'hex'), Buffer.from([0x06, 0x0a]), Buffer.from('2b06010401823702021e', 'hex'));
  ex.push(['s', nb(cat(hdr(0, true), u16le(65), u16le(1), u16le(0x0311), u16le(0), rng.bytes(16), u32le(0x2f), u32le(8388608), u32le(8388608), u32le(8388608), u64le(133500000000000000n + BigInt(rng.int(1e9))), u64le(0), u16le(128), u16le(spnego.length), u32le(0), spnego))]);
  mid++;
  const t1 = ntlm(1, cat(u32le(0xe2088297), Buffer.alloc(16), Buffer.from([10, 0, 0x61, 0x58, 0, 0, 0, 15])));
  ex.push(['c', nb(cat(hdr(1, false), u16le(25), u8(0), u8(1), u32le(1), u32le(0), u16le(88), u16le(t1.length), u64le(0), t1))]);
  const domain = utf16(rng.pick(['CORP', 'EXAMPLE', 'WORKGROUP']));
  // target info AV pairs (MS-NLMP 2.2.2.1): MsvAvNbDomainName, MsvAvEOL
  const info = cat(u16le(2), u16le(domain.length), domain, u16le(0), u16le(0));
  const t2 = ntlm(2, cat(u16le(domain.length), u16le(domain.length), u32le(56), u32le(0xe2898215), rng.bytes(8), Buffer.alloc(8), u16le(info.length), u16le(info.length), u32le(56 + domain.length), Buffer.from([10, 0, 0x61, 0x58, 0, 0, 0, 15]), domain, info));
  ex.push(['s', nb(cat(hdr(1, true, 0xc0000016, sess), u16le(9), u16le(0), u16le(72), u16le(t2.length), t2))]);
  mid++;
  const user = utf16(who(rng)), host = utf16(`WS-${rng.hex(4).toUpperCase()}`);
  const ntResp = rng.bytes(2 * rng.range(100, 160));
  const base = 88;
  const t3 = ntlm(3, cat(u16le(24), u16le(24), u32le(base), u16le(ntResp.length), u16le(ntResp.length), u32le(base + 24), u16le(domain.length), u16le(domain.length), u32le(base + 24 + ntResp.length), u16le(user.length), u16le(user.length), u32le(base + 24 + ntResp.length + domain.length), u16le(host.length), u16le(host.length), u32le(base + 24 + ntResp.length + domain.length + user.length), u16le(16), u16le(16), u32le(base + 24 + ntResp.length + domain.length + user.length + host.length), u32le(0xe2888215), Buffer.from([10, 0, 0x61, 0x58, 0, 0, 0, 15]), rng.bytes(16), Buffer.alloc(24), ntResp, domain, user, host, rng.bytes(16)));
  ex.push(['c', nb(cat(hdr(1, false, 0, sess), u16le(25), u8(0), u8(1), u32le(1), u32le(0), u16le(88), u16le(t3.length), u64le(0), t3))]);
  ex.push(['s', nb(cat(hdr(1, true, 0, sess), u16le(9), u16le(0), u16le(0), u16le(0)))]);
  mid++;
  const share = utf16(`\\\\files.example.com\\${rng.pick(['chat-logs', 'public', 'IPC$', 'home'])}`);
  ex.push(['c', nb(cat(hdr(3, false, 0, sess), u16le(9), u16le(0), u16le(72), u16le(share.length), share))]);
  ex.push(['s', nb(cat(hdr(3, true, 0, sess, 1), u16le(16), u8(1), u8(0), u32le(0x30), u32le(0), u32le(0x1f01ff)))]);
  // then encrypted messages (MS-SMB2 2.2.41 TRANSFORM_HEADER): opaque here
  for (let i = rng.range(2, 6); i > 0; i--) {
    const sealed = rng.bytes(rng.range(60, 1400));
    ex.push([side(rng), nb(cat(Buffer.from([0xfd, 0x53, 0x4d, 0x42]), rng.bytes(16), rng.bytes(11), Buffer.alloc(5), u32le(sealed.length), u16le(0), u16le(1), u64le(sess), sealed))]);
  }
  return { name: 'smb2', port: 445, exchanges: ex, keywords: ['NTLMSSP', 'SMB'] };
}

/** BER tag-length-value (X.690 8.1): short and long length forms */
function tlv(tag: number, ...content: Buffer[]): Buffer {
  const c = Buffer.concat(content);
  const len = c.length < 128 ? u8(c.length) : c.length < 256 ? Buffer.from([0x81, c.length]) : Buffer.from([0x82, c.length >> 8, c.length & 255]);
  return cat(u8(tag), len, c);
}
const berInt = (n: number) => (n < 128 ? tlv(0x02, u8(n)) : n < 32768 ? tlv(0x02, u16be(n)) : tlv(0x02, u32be(n)));
const octets = (s: string | Buffer) => tlv(0x04, b(s));

/** LDAP v3 (RFC 4511 4.2 BindRequest, 4.5 SearchRequest/ResultEntry/ResultDone), BER-encoded LDAPMessages */
function ldap(rng: Rng): Script {
  let id = 1;
  const msg = (op: Buffer) => tlv(0x30, berInt(id), op);
  const result = (tag: number) => tlv(tag, tlv(0x0a, u8(0)), octets(''), octets(''));
  const base = 'dc=example,dc=com';
  const bindDn = `cn=${rng.pick(['chat-svc', 'admin', 'readonly'])},ou=services,${base}`;
  const ex: Exchange[] = [['c', msg(tlv(0x60, berInt(3), octets(bindDn), tlv(0x80, b('secret'))))], ['s', msg(result(0x61))]];
  for (let i = rng.range(1, 4); i > 0; i--) {
    id++;
    const u = who(rng);
    const filter = rng.chance(0.5) ? tlv(0xa3, octets('uid'), octets(u)) : tlv(0xa0, tlv(0xa3, octets('objectClass'), octets('person')), tlv(0xa3, octets('mail'), octets(`${u}@example.com`)));
    const attrs = ['cn', 'mail', 'displayName', 'description', 'imHandle'];
    ex.push(['c', msg(tlv(0x63, octets(`ou=people,${base}`), tlv(0x0a, u8(2)), tlv(0x0a, u8(0)), berInt(0), berInt(30), tlv(0x01, u8(0)), filter, tlv(0x30, ...attrs.map((a) => octets(a)))))]);
    const entries: Buffer[] = [];
    for (const p of rng.some(PEOPLE, rng.range(1, 3))) {
      const vals: [string, string][] = [['cn', p], ['mail', `${p}@example.com`], ['displayName', p[0].toUpperCase() + p.slice(1)], ['description', say(rng)], ['imHandle', rng.pick([`xmpp:${p}@example.com`, `msn:${p}@hotmail.com`, `irc://irc.example.net/${p}`])]];
      entries.push(msg(tlv(0x64, octets(`uid=${p},ou=people,${base}`), tlv(0x30, ...vals.map(([k, v]) => tlv(0x30, octets(k), tlv(0x31, octets(v))))))));
    }
    ex.push(['s', cat(...entries, msg(result(0x65)))]);
  }
  id++;
  ex.push(['c', msg(tlv(0x42, Buffer.alloc(0)))]);
  return { name: 'ldap', port: 389, exchanges: ex, keywords: ['uid=', 'mail', 'xmpp:', 'msn:'] };
}

/** RDP connection sequence (MS-RDPBCGR 2.2.1.1/2.2.1.2): TPKT + X.224 Connection Request with mstshash cookie and RDP_NEG_REQ, Confirm, then TLS */
function rdp(rng: Rng): Script {
  const tpkt = (p: Buffer) => cat(u8(3), u8(0), u16be(p.length + 4), p);
  const cookie = b(`Cookie: mstshash=${rng.pick([who(rng), `CORP\\${who(rng)}`, 'administr'])}\r\n`);
  const neg = cat(u8(1), u8(0), u16le(8), u32le(rng.pick([3, 11, 1])));
  const cr = cat(Buffer.from([0xe0, 0, 0, 0, 0, 0]), cookie, neg);
  const ex: Exchange[] = [['c', tpkt(cat(u8(cr.length), cr))]];
  const proto = rng.pick([1, 2]);
  const cc = cat(Buffer.from([0xd0, 0, 0, 0x12, 0x34, 0]), u8(2), u8(0x1f), u16le(8), u32le(proto));
  ex.push(['s', tpkt(cat(u8(cc.length), cc))]);
  ex.push(['c', clientHello(rng, `${rng.pick(['ws', 'term'])}${rng.int(99)}.corp.example.com`)], ['s', tlsRecord(0x16, rng.bytes(rng.range(800, 1800)))]);
  for (let i = rng.range(3, 10); i > 0; i--) ex.push([side(rng), tlsRecord(0x17, rng.bytes(rng.range(30, 1400)))]);
  return { name: 'rdp', port: 3389, exchanges: ex, keywords: ['Cookie'] };
}

/** VNC/RFB 3.8 (RFC 6143): version, security types, VNC auth, ClientInit/ServerInit, then client-to-server and server messages incl. cut text */
function vnc(rng: Rng): Script {
  const pixfmt = Buffer.from([32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0]);
  const name = b(`${who(rng)}'s desktop (${rng.pick(['ws1', 'laptop', 'build'])}:0)`);
  const w = rng.pick([1024, 1280, 1920]), h = rng.pick([768, 800, 1080]);
  const ex: Exchange[] = [
    ['s', b('RFB 003.008\n')], ['c', b('RFB 003.008\n')],
    ['s', Buffer.from([2, 2, 16])], ['c', u8(2)], ['s', rng.bytes(16)], ['c', rng.bytes(16)], ['s', u32be(0)],
    ['c', u8(1)], ['s', cat(u16be(w), u16be(h), pixfmt, u32be(name.length), name)],
    ['c', cat(u8(0), Buffer.alloc(3), pixfmt)],
    ['c', cat(u8(2), u8(0), u16be(4), i32be(16), i32be(1), i32be(0), i32be(-223))],
  ];
  for (let i = rng.range(4, 12); i > 0; i--) {
    switch (rng.int(5)) {
      case 0: ex.push(['c', cat(u8(3), u8(1), u16be(0), u16be(0), u16be(w), u16be(h))]); break;
      case 1: {
        const rw = rng.range(8, 31), rh = rng.range(8, 31);
        ex.push(['s', cat(u8(0), u8(0), u16be(1), u16be(rng.int(w - rw)), u16be(rng.int(h - rh)), u16be(rw), u16be(rh), i32be(0), rng.bytes(rw * rh * 4))]);
        break;
      }
      case 2: for (const ch of say(rng).slice(0, 12)) ex.push(['c', cat(u8(4), u8(1), u16be(0), u32be(ch.charCodeAt(0)))], ['c', cat(u8(4), u8(0), u16be(0), u32be(ch.charCodeAt(0)))]); break;
      case 3: ex.push(['c', cat(u8(5), u8(rng.pick([0, 1])), u16be(rng.int(w)), u16be(rng.int(h)))]); break;
      default: {
        const t = b(say(rng)), s = side(rng);
        ex.push([s, cat(u8(s === 'c' ? 6 : 3), Buffer.alloc(3), u32be(t.length), t)]);
      }
    }
  }
  return { name: 'vnc', port: 5900, exchanges: ex, keywords: ['RFB', 'PRIVMSG', 'MSG '] };
}

// ---- web, tunnels, peer-to-peer -----------------------------------------------------------------

/** HTTP/2 (RFC 9113 3.4 preface, 4.1 frame header, 6.x frames; RFC 7541 HPACK literals): h2c prior knowledge, gRPC chat service */
function h2c(rng: Rng): Script {
  const frame = (type: number, flags: number, stream: number, p: Buffer) => cat(u24be(p.length), u8(type), u8(flags), u32be(stream), p);
  const settings = (s: [number, number][]) => frame(4, 0, 0, Buffer.concat(s.map(([k, v]) => cat(u16be(k), u32be(v)))));
  const lit = (name: string, value: string) => cat(u8(0x00), u8(name.length), name, u8(Buffer.byteLength(value)), value);
  const litIdx = (idx: number, value: string) => cat(u8(idx), u8(Buffer.byteLength(value)), value); // literal without indexing, indexed name (idx < 16)
  const grpc = rng.chance(0.5);
  const host = rng.pick(['chat.internal.example.com:50051', 'api.example.com', 'localhost:8080']);
  const ex: Exchange[] = [
    ['c', cat('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', settings([[2, 0], [3, 100], [4, 65535]]), frame(8, 0, 0, u32be(1048576)))],
    ['s', cat(settings([[3, 250], [5, 16384]]), frame(4, 1, 0, Buffer.alloc(0)))],
    ['c', frame(4, 1, 0, Buffer.alloc(0))],
  ];
  let stream = 1;
  for (let i = rng.range(2, 6); i > 0; i--, stream += 2) {
    if (grpc) {
      const method = rng.pick(['/chat.v1.ChatService/SendMessage', '/chat.v1.ChatService/StreamMessages', '/presence.v1.Presence/SetStatus']);
      const pb = (fields: [number, string][]) => Buffer.concat(fields.map(([f, v]) => cat(u8((f << 3) | 2), u8(Buffer.byteLength(v)), v)));
      const req = pb([[1, room(rng)], [2, email(rng)], [3, say(rng)]]);
      ex.push(['c', cat(frame(1, 4, stream, cat(u8(0x83), u8(0x86), litIdx(4, method), litIdx(1, host), lit('content-type', 'application/grpc'), lit('te', 'trailers'), lit('grpc-timeout', '5S'))), frame(0, 1, stream, cat(u8(0), u32be(req.length), req)))]);
      const res = pb([[1, rng.hex(16)], [2, email(rng)], [3, say(rng)]]);
      ex.push(['s', cat(frame(1, 4, stream, cat(u8(0x88), lit('content-type', 'application/grpc'))), frame(0, 0, stream, cat(u8(0), u32be(res.length), res)), frame(1, 5, stream, cat(lit('grpc-status', '0'), lit('grpc-message', ''))))]);
    } else {
      const path = rng.pick([`/api/v1/rooms/${room(rng)}/messages`, '/api/v1/presence', `/api/v1/users/${who(rng)}`]);
      ex.push(['c', frame(1, 5, stream, cat(u8(0x82), u8(0x86), litIdx(4, path), litIdx(1, host), lit('accept', 'application/json'), lit('user-agent', 'curl/8.5.0')))]);
      const body = b(JSON.stringify({ items: Array.from({ length: rng.range(1, 4) }, () => JSON.parse(chatJson(rng))) }));
      ex.push(['s', cat(frame(1, 4, stream, cat(u8(0x88), lit('content-type', 'application/json'), lit('content-length', String(body.length)))), frame(0, 1, stream, body))]);
    }
    if (rng.chance(0.3)) ex.push(['c', frame(6, 0, 0, rng.bytes(8))]);
  }
  ex.push(['c', frame(7, 0, 0, cat(u32be(stream - 2), u32be(0)))]);
  return { name: grpc ? 'h2c-grpc' : 'h2c', port: grpc ? 50051 : 8080, exchanges: ex, keywords: ['PRI ', 'chat', '{"id"', 'application/grpc'] };
}

/** RFC 6455 WebSocket upgrade carrying Socket.IO (engine.io v4 packet types, socket.io EVENT "42[...]") chat */
function websocketSocketIo(rng: Rng): Script {
  const key = rng.bytes(16).toString('base64');
  const accept = crypto.createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
  const wsFrame = (text: string, masked: boolean, opcode = 1) => {
    const p = b(text);
    const len = p.length < 126 ? u8(p.length | (masked ? 0x80 : 0)) : cat(u8(126 | (masked ? 0x80 : 0)), u16be(p.length));
    if (!masked) return cat(u8(0x80 | opcode), len, p);
    const mask = rng.bytes(4);
    return cat(u8(0x80 | opcode), len, mask, Buffer.from(p.map((x, i) => x ^ mask[i & 3])));
  };
  const host = rng.pick(['chat.example.com', 'app.example.net', 'support.example.org']);
  const sid = rng.bytes(15).toString('base64url');
  const ex: Exchange[] = [
    ['c', b(`GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0\r\nOrigin: https://${host}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Extensions: permessage-deflate\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n`)],
    ['s', b(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`)],
    ['s', wsFrame(`0{"sid":"${sid}","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`, false)],
    ['c', wsFrame('40', true)], ['s', wsFrame(`40{"sid":"${rng.bytes(15).toString('base64url')}"}`, false)],
    ['c', wsFrame(`42["join",{"room":"${room(rng)}","nick":"${who(rng)}"}]`, true)],
  ];
  for (let i = rng.range(3, 10); i > 0; i--) {
    switch (rng.int(4)) {
      case 0: ex.push(['c', wsFrame(`42["chat message",{"room":"${room(rng)}","text":${JSON.stringify(say(rng))}}]`, true)]); break;
      case 1: ex.push(['s', wsFrame(`42["message",{"from":"${who(rng)}","text":${JSON.stringify(say(rng))},"ts":${1705300000000 + rng.int(1e8)}}]`, false)]); break;
      case 2: ex.push(['s', wsFrame(`42["presence",{"user":"${who(rng)}","status":"${rng.pick(['online', 'away', 'offline'])}"}]`, false)]); break;
      default: ex.push(['s', wsFrame('2', false)], ['c', wsFrame('3', true)]);
    }
  }
  return { name: 'websocket-socketio', port: 80, exchanges: ex, keywords: ['42[', 'GET ', 'HTTP/1.1 101'] };
}

/** SOCKS5 (RFC 1928, RFC 1929 user/password) or SOCKS4a, CONNECT to an IM port, then HTTP or TLS through the tunnel */
function socks(rng: Rng): Script {
  const port = rng.pick([5050, 1863, 5190, 5222, 6667, 8074, 443, 4000]);
  const host = rng.pick(['dev.example.com', 'ci.example.net', 'git.example.org', '']);
  const ex: Exchange[] = [];
  if (rng.chance(0.2)) {
    // SOCKS4a: 0.0.0.x and the name after the user id
    ex.push(['c', cat(u8(4), u8(1), u16be(port), Buffer.from([0, 0, 0, 1]), who(rng), u8(0), host || 'dev.example.com', u8(0))], ['s', cat(u8(0), u8(0x5a), Buffer.alloc(6))]);
  } else {
    const auth = rng.chance(0.4);
    ex.push(['c', auth ? Buffer.from([5, 2, 0, 2]) : Buffer.from([5, 1, 0])], ['s', Buffer.from([5, auth ? 2 : 0])]);
    const user = who(rng);
    if (auth) ex.push(['c', cat(u8(1), u8(user.length), user, u8(6), 'secret')], ['s', Buffer.from([1, 0])]);
    const addr = host ? cat(u8(3), u8(host.length), host) : cat(u8(1), Buffer.from([198, 51, 100, rng.range(1, 254)]));
    ex.push(['c', cat(Buffer.from([5, 1, 0]), addr, u16be(port))], ['s', cat(Buffer.from([5, 0, 0, 1]), Buffer.from([10, 0, 0, 1]), u16be(rng.range(30000, 60000)))]);
  }
  if (rng.chance(0.5)) {
    ex.push(['c', clientHello(rng, host || rng.pick(TLS_SNI))], ['s', tlsRecord(0x16, rng.bytes(rng.range(200, 1800)))]);
    for (let i = rng.range(2, 6); i > 0; i--) ex.push([side(rng), tlsRecord(0x17, rng.bytes(rng.range(30, 1400)))]);
  } else {
    ex.push(['c', httpRequest(rng, 'GET', rng.pick(['/api/health', '/status', '/metrics']), `${host || 'dev.example.com'}:${port}`)]);
    ex.push(['s', httpResponse('200 OK', 'application/json', JSON.stringify({ status: 'ok', uptime: rng.int(99999) }))]);
  }
  return { name: 'socks-tunnel', port: 1080, exchanges: ex, keywords: ['GET '] };
}

/** BitTorrent peer wire (BEP 3, BEP 10 extension handshake): handshake, extended handshake, bitfield, interested/unchoke, request, piece */
function bittorrent(rng: Rng): Script {
  const hs = (id: string) => cat(u8(19), 'BitTorrent protocol', Buffer.from([0, 0, 0, 0, 0, 0x10, 0, 0x05]), infohash, id, rng.bytes(20 - id.length));
  const infohash = rng.bytes(20);
  const m = (id: number, p: Buffer = Buffer.alloc(0)) => cat(u32be(p.length + 1), u8(id), p);
  const ext = (name: string) => m(20, cat(u8(0), `d1:md11:ut_metadatai2e6:ut_pexi1ee13:metadata_sizei${rng.range(1000, 90000)}e1:pi${rng.range(6881, 6999)}e4:reqqi500e1:v${name.length}:${name}6:yourip4:`, rng.bytes(4), 'e'));
  const pieces = rng.range(16, 400);
  const ex: Exchange[] = [
    ['c', hs('-qB4630-')], ['s', hs('-TR4050-')],
    ['c', ext('qBittorrent/4.6.3')], ['s', ext('Transmission 4.0.5')],
    ['s', m(5, rng.bytes(Math.ceil(pieces / 8)))], ['c', m(2)], ['s', m(1)],
  ];
  for (let i = rng.range(2, 6); i > 0; i--) {
    const idx = rng.int(pieces), begin = rng.int(16) * 16384;
    ex.push(['c', m(6, cat(u32be(idx), u32be(begin), u32be(16384)))]);
    ex.push(['s', m(7, cat(u32be(idx), u32be(begin), rng.bytes(rng.range(500, 4000))))]);
    if (rng.chance(0.3)) ex.push(['c', m(4, u32be(rng.int(pieces)))]);
    if (rng.chance(0.2)) ex.push([side(rng), u32be(0)]);
  }
  return { name: 'bittorrent', port: 6881, exchanges: ex, keywords: ['BitTorrent', 'd1:m'] };
}

// ---- XML streams that are not XMPP -------------------------------------------------------------

/** XML-RPC (xmlrpc.com/spec.md) over HTTP: a chat service's methodCall/methodResponse */
function xmlRpc(rng: Rng): Script {
  const member = (n: string, v: string) => `<member><name>${n}</name><value><string>${v}</string></value></member>`;
  const ex: Exchange[] = [];
  for (let i = rng.range(1, 3); i > 0; i--) {
    const call = `<?xml version="1.0"?>\n<methodCall>\n<methodName>${rng.pick(['chat.sendMessage', 'messages.post', 'presence.set'])}</methodName>\n<params><param><value><struct>${member('to', email(rng))}${member('from', email(rng))}${member('type', 'chat')}${member('body', say(rng).replace(/</g, '&lt;'))}</struct></value></param></params>\n</methodCall>\n`;
    ex.push(['c', httpRequest(rng, 'POST', '/RPC2', rng.pick(['rpc.example.com', 'chat.example.com']), ['Content-Type: text/xml'], call)]);
    ex.push(['s', httpResponse('200 OK', 'text/xml', `<?xml version="1.0"?>\n<methodResponse><params><param><value><struct>${member('status', 'queued')}<member><name>id</name><value><int>${rng.range(1, 99999)}</int></value></member></struct></value></param></params></methodResponse>\n`)]);
  }
  return { name: 'xml-rpc', port: 80, exchanges: ex, keywords: ['<methodCall', '<member', '<struct', '<?xml'] };
}

/**
 * An in-house chat service's own XML stream (the shape of many 2000s chat servers): a <stream> root
 * in its own namespace, <message>/<presence> elements addressed by nick and #room, no JIDs, no jabber
 * namespaces.
 */
function customXmlStream(rng: Rng): Script {
  // users named by nick, or (as a directory-backed deployment does) by mail address
  const byMail = rng.chance(0.5);
  const id = (p: string) => (byMail ? `${p}@example.com` : p);
  const me = id(who(rng));
  const ex: Exchange[] = [
    ['c', b(`<?xml version="1.0" encoding="UTF-8"?>\n<stream version="2.1" xmlns="urn:example:chatbus:2" client="${rng.pick(['desk', 'web', 'kiosk'])}">\n`)],
    ['s', b(`<?xml version="1.0" encoding="UTF-8"?>\n<stream version="2.1" xmlns="urn:example:chatbus:2" session="${rng.hex(16)}">\n`)],
    ['c', b(`<auth user="${me}" token="${rng.hex(32)}"/>\n`)], ['s', b(`<welcome user="${me}" motd="${say(rng).replace(/[<>"&]/g, '')}"/>\n`)],
  ];
  for (let i = rng.range(3, 10); i > 0; i--) {
    const text = say(rng).replace(/&/g, '&amp;').replace(/</g, '&lt;');
    ex.push(rng.pick([
      () => ['c', b(`<message id="${rng.int(9999)}" to="#${room(rng)}" from="${me}"><text>${text}</text></message>\n`)] as Exchange,
      () => ['s', b(`<message id="${rng.int(9999)}" to="#${room(rng)}" from="${id(who(rng))}" kind="${rng.pick(['say', 'emote'])}"><text>${text}</text></message>\n`)] as Exchange,
      () => ['s', b(`<message id="${rng.int(9999)}" to="${me}" from="${id(who(rng))}" type="${rng.pick(['direct', 'chat'])}"><text>${text}</text></message>\n`)] as Exchange,
      () => ['s', b(`<presence from="${id(who(rng))}" status="${rng.pick(['online', 'away', 'busy'])}"/>\n`)] as Exchange,
      () => ['c', b(`<ping seq="${rng.int(999)}"/>\n`)] as Exchange,
      () => ['s', b(`<event type="typing" user="${who(rng)}" room="#${room(rng)}"/>\n`)] as Exchange,
    ])());
  }
  ex.push(['c', b('</stream>\n')], ['s', b('</stream>\n')]);
  return { name: 'custom-xml-stream', port: 7070, exchanges: ex, keywords: ['<message', '<presence', '<stream', '<'] };
}

/** Flash XMLSocket chat (SmartFoxServer's protocol): NUL-terminated XML, <msg t='sys'><body action=…>, policy-file request */
function flashXmlSocket(rng: Rng): Script {
  const z = (s: string) => b(s + '\0');
  const me = who(rng);
  const ex: Exchange[] = [];
  if (rng.chance(0.5)) ex.push(['c', z('<policy-file-request/>')], ['s', z(`<cross-domain-policy><allow-access-from domain='*' to-ports='9339' /></cross-domain-policy>`)]);
  ex.push(
    ['c', z(`<msg t='sys'><body action='verChk' r='0'><ver v='165' /></body></msg>`)],
    ['s', z(`<msg t='sys'><body action='apiOK' r='0'></body></msg>`)],
    ['c', z(`<msg t='sys'><body action='login' r='0'><login z='simpleChat'><nick><![CDATA[${me}]]></nick><pword><![CDATA[]]></pword></login></body></msg>`)],
    ['s', z(`<msg t='sys'><body action='logOK' r='0'><login id='${rng.int(999)}' mod='0' n='${me}' /></body></msg>`)],
    ['c', z(`<msg t='sys'><body action='getRmList' r='-1'></body></msg>`)],
    ['s', z(`<msg t='sys'><body action='rmList' r='0'><rmList>${ROOMS.slice(0, 3).map((r, i) => `<rm id='${i + 1}' priv='0' temp='0' game='0' ucnt='${rng.int(30)}' maxu='50' maxs='0'><n><![CDATA[${r}]]></n></rm>`).join('')}</rmList></body></msg>`)],
    ['c', z(`<msg t='sys'><body action='joinRoom' r='-1'><room id='1' pwd='' spec='0' leave='0' old='-1' /></body></msg>`)],
  );
  for (let i = rng.range(2, 8); i > 0; i--) {
    if (rng.chance(0.5)) ex.push(['c', z(`<msg t='sys'><body action='pubMsg' r='1'><txt><![CDATA[${say(rng)}]]></txt></body></msg>`)]);
    else ex.push(['s', z(`<msg t='sys'><body action='pubMsg' r='1'><user id='${rng.int(999)}' /><txt><![CDATA[${say(rng)}]]></txt></body></msg>`)]);
  }
  return { name: 'flash-xmlsocket', port: 9339, exchanges: ex, keywords: ['<msg', '<body', "pubMsg"] };
}

export const MORE_TCP_GENERATORS: ((rng: Rng) => Script)[] = [
  nats, stomp, beanstalkd, amqp, kafka, kafkaPacketExport, zookeeper, nntp, telnetBbs, gitDaemon, mysql, postgres, mongodb, tds, oracleTns,
  smb2, ldap, rdp, vnc, h2c, websocketSocketIo, socks, bittorrent, xmlRpc, customXmlStream, flashXmlSocket,
];

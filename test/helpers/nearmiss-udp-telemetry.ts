// Telemetry over UDP for the near-miss corpus (test/signatures/near-miss.test.ts): metrics and logs
// about chat servers (StatsD, collectd, GELF) and flow export whose records name IM ports and whose
// samples copy IM packets (NetFlow v9, sFlow v5 with sampled headers of FLAP, YMSG, MSNP, XMPP, IRC and
// a WhatsApp ClientHello). A copy of an IM packet inside an export is a report about IM, not IM: the
// exporter and the collector are not chatting. Each is built from its specification (cited per
// generator); none of it is IM.
import zlib from 'node:zlib';
import { logLines, type Exchange, type Rng, type UdpScript } from './nearmiss';
import { room, say, who } from './nearmiss-tcp-more';
// strings as latin1: the YMSG body's C0 80 separators are those two bytes
import { cat, u16, u32, u8 } from './nearmiss-udp-more';

const u64 = (n: number) => cat(u32(Math.floor(n / 2 ** 32)), u32(n % 2 ** 32));
const ip4 = (s: string) => Buffer.from(s.split('.').map(Number));
const pad4 = (x: Buffer) => cat(x, Buffer.alloc((4 - (x.length % 4)) % 4));

/** StatsD / DogStatsD line protocol (github.com/statsd/statsd docs/metric_types.md): "name:value|type[|@rate][|#tags]", client only */
function statsd(rng: Rng): UdpScript {
  const names = ['chat.msn.messages', 'im.yahoo.login_ms', 'irc.privmsg.count', 'xmpp.stanzas.message', 'aim.flap.bytes', `chat.room.${room(rng)}.joins`];
  const line = () => {
    const type = rng.pick(['c', 'ms', 'g', 'h', 'c']);
    let l = `${rng.pick(names)}:${type === 'g' && rng.chance(0.3) ? '-' : ''}${rng.range(0, 5000)}|${type}`;
    if (rng.chance(0.3)) l += `|@0.${rng.range(1, 9)}`;
    if (rng.chance(0.4)) l += `|#room:${room(rng)},user:${who(rng)}`;
    return l;
  };
  const d: Exchange[] = Array.from({ length: rng.range(1, 10) }, () => ['c', cat(Array.from({ length: rng.range(1, 6) }, line).join('\n'))] as Exchange);
  return { name: 'statsd', port: 8125, datagrams: d };
}

/** collectd's binary network protocol (collectd wiki "Binary protocol"): typed parts; host, time, plugin, type, values */
function collectd(rng: Rng): UdpScript {
  const str = (type: number, s: string) => {
    const v = cat(s, [0]);
    return cat(u16(type), u16(4 + v.length), v);
  };
  const num = (type: number, n: number) => cat(u16(type), u16(12), u64(n));
  const values = (n: number) => {
    const gauge = rng.chance(0.5);
    const v = Buffer.alloc(8);
    if (gauge) v.writeDoubleLE(n);
    else v.writeBigUInt64BE(BigInt(n));
    return cat(u16(6), u16(4 + 2 + 1 + 8), u16(1), u8(gauge ? 1 : 2), v);
  };
  const d: Exchange[] = [];
  for (let i = rng.range(1, 5); i > 0; i--) {
    const parts = [str(0, `${rng.pick(['chat1', 'im-gw', 'irc'])}.example.com`), num(8, Math.floor((1705300000 + rng.int(86400)) * 2 ** 30)), num(9, 10 * 2 ** 30)];
    for (let j = rng.range(1, 6); j > 0; j--) {
      parts.push(str(2, rng.pick(['irc', 'jabber', 'msn', 'interface', 'cpu'])), str(3, rng.pick(['privmsg', 'c2s', 'usr', 'eth0', room(rng)])), str(4, rng.pick(['counter', 'gauge', 'derive'])), str(5, who(rng)), values(rng.range(0, 100000)));
    }
    d.push(['c', cat(...parts)]);
  }
  return { name: 'collectd', port: 25826, datagrams: d };
}

/** GELF 1.1 over UDP (Graylog docs "GELF"): JSON, zlib- or gzip-compressed, or chunked (0x1e 0x0f, message id, sequence, count) */
function gelf(rng: Rng): UdpScript {
  const d: Exchange[] = [];
  for (let i = rng.range(1, 5); i > 0; i--) {
    const line = rng.chance(0.5) ? logLines(rng, 1)[0] : `${who(rng)}: ${say(rng, 'gelf')}`;
    const json = cat(JSON.stringify({ version: '1.1', host: `${rng.pick(['chat', 'bridge', 'im-gw'])}.example.com`, short_message: line, timestamp: 1705300000 + rng.int(86400), level: rng.range(3, 7), _room: room(rng), _user: who(rng) }));
    const how = rng.int(4);
    const body = how === 1 ? zlib.deflateSync(json) : how === 2 ? zlib.gzipSync(json) : json;
    if (how === 3) {
      const id = Buffer.from(rng.hex(16), 'hex');
      const n = rng.range(2, 3);
      const size = Math.ceil(body.length / n);
      for (let s = 0; s < n; s++) d.push(['c', cat([0x1e, 0x0f], id, [s, n], body.subarray(s * size, (s + 1) * size))]);
    } else d.push(['c', body]);
  }
  return { name: 'gelf', port: 12201, datagrams: d };
}

const IM_PORTS = [5190, 1863, 5050, 5222, 6667, 8074, 443, 4000];

/** NetFlow v9 (RFC 3954): header, a template FlowSet (id 0), data FlowSets of flows on IM ports */
function netflow9(rng: Rng): UdpScript {
  let seq = rng.int(2 ** 31);
  const src = rng.int(256);
  const fields: [number, number][] = [[8, 4], [12, 4], [7, 2], [11, 2], [4, 1], [1, 4], [2, 4]]; // src/dst address, ports, protocol, bytes, packets
  const template = cat(u16(256), u16(fields.length), ...fields.map(([t, l]) => cat(u16(t), u16(l))));
  const flowset = (id: number, body: Buffer) => {
    const p = pad4(cat(u16(id), u16(0), body));
    p.writeUInt16BE(p.length, 2);
    return p;
  };
  const d: Exchange[] = [];
  for (let i = rng.range(1, 4); i > 0; i--) {
    const n = rng.range(1, 20);
    const recs = Array.from({ length: n }, () =>
      cat(ip4(`10.1.${rng.int(255)}.${rng.int(255)}`), ip4(`${rng.pick(['64.12.25', '207.46.4', '66.163.181', '198.51.100'])}.${rng.int(255)}`), u16(rng.range(1024, 65535)), u16(rng.pick(IM_PORTS)), u8(rng.pick([6, 6, 17])), u32(rng.range(40, 1e6)), u32(rng.range(1, 1000))));
    const sets = [flowset(0, template), flowset(256, cat(...recs))];
    d.push(['c', cat(u16(9), u16(n + 1), u32(rng.int(2 ** 31)), u32(1705300000 + rng.int(86400)), u32(seq++), u32(src), ...sets)]);
  }
  return { name: 'netflow-v9', port: 2055, datagrams: d };
}

/** the first bytes of an IM packet, as an sFlow agent samples it (Ethernet + IPv4 + TCP/UDP + payload, cut at 128 bytes) */
function sampledFrame(rng: Rng): Buffer {
  const flap = cat([0x2a, 1], u16(rng.int(0x8000)), u16(4), [0, 0, 0, 1]);
  const ymsgBody = cat(`1\xc0\x80${who(rng)}\xc0\x805\xc0\x80${who(rng)}\xc0\x8014\xc0\x80${say(rng, 'sflow')}\xc0\x80`);
  const ymsg = cat('YMSG', [0, 0x10, 0, 0], u16(ymsgBody.length), u16(6), u32(1), u32(rng.int(2 ** 31)), ymsgBody);
  const sni = 'web.whatsapp.com';
  const hello = cat([0x16, 3, 1, 0, 0xc8, 1, 0, 0, 0xc4, 3, 3], Buffer.alloc(32, 7), [0], u16(2), [0x13, 1], [1, 0], u16(sni.length + 9), u16(0), u16(sni.length + 5), u16(sni.length + 3), [0], u16(sni.length), sni);
  const [proto, port, payload] = rng.pick([
    [6, 5190, flap], [6, 5050, ymsg], [6, 1863, cat('VER 1 MSNP12 MSNP11 CVR0\r\n')], [6, 5222, cat("<stream:stream to='example.com' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>")],
    [6, 6667, cat(`NICK ${who(rng)}\r\nUSER ${who(rng)} 0 * :x\r\nPRIVMSG #ops :${say(rng, 'sflow2')}\r\n`)], [6, 443, hello], [17, 53, cat(u16(rng.int(65536)), [1, 0, 0, 1, 0, 0, 0, 0, 0, 0], [3], 'web', [8], 'whatsapp', [3], 'com', [0], u16(1), u16(1))],
  ] as [number, number, Buffer][]);
  const l4 = proto === 6
    ? cat(u16(rng.range(1024, 65535)), u16(port), u32(rng.int(2 ** 32)), u32(rng.int(2 ** 32)), [0x50, 0x18], u16(502), u16(0), u16(0))
    : cat(u16(rng.range(1024, 65535)), u16(port), u16(8 + payload.length), u16(0));
  const ip = cat([0x45, 0], u16(20 + l4.length + payload.length), u16(rng.int(65536)), [0x40, 0], [64, proto], u16(0), ip4(`10.1.${rng.int(255)}.${rng.int(255)}`), ip4(`198.51.100.${rng.int(255)}`));
  const frame = cat(Buffer.from('0242ac110002', 'hex'), Buffer.from('0242ac110003', 'hex'), [8, 0], ip, l4, payload);
  return frame.subarray(0, 128);
}

/** sFlow v5 (sflow.org sflow_version_5.txt): datagram header, flow samples with sampled_header records, counter samples */
function sflow5(rng: Rng): UdpScript {
  let seq = rng.int(2 ** 31), sampleSeq = rng.int(2 ** 31);
  const rec = (format: number, body: Buffer) => cat(u32(format), u32(body.length), body);
  const d: Exchange[] = [];
  for (let i = rng.range(1, 4); i > 0; i--) {
    const samples: Buffer[] = [];
    for (let j = rng.range(1, 5); j > 0; j--) {
      if (rng.chance(0.8)) {
        const frame = sampledFrame(rng);
        const header = rec(1, cat(u32(1), u32(frame.length + rng.range(0, 1300)), u32(4), u32(frame.length), pad4(frame)));
        samples.push(rec(1, cat(u32(sampleSeq++), u32(rng.range(1, 48)), u32(rng.pick([256, 1024, 4096])), u32(rng.int(2 ** 31)), u32(0), u32(rng.range(1, 48)), u32(rng.range(1, 48)), u32(1), header)));
      } else {
        // counters_sample with generic interface counters (format 1, 88 bytes)
        const ifc = cat(u32(rng.range(1, 48)), u32(6), u64(1e9), u32(1), u32(3), u64(rng.int(2 ** 40)), ...Array.from({ length: 6 }, () => u32(rng.int(2 ** 31))), u64(rng.int(2 ** 40)), ...Array.from({ length: 7 }, () => u32(rng.int(2 ** 31))));
        samples.push(rec(2, cat(u32(sampleSeq++), u32(rng.range(1, 48)), u32(1), rec(1, ifc))));
      }
    }
    d.push(['c', cat(u32(5), u32(1), ip4(`10.0.0.${rng.range(1, 254)}`), u32(0), u32(seq++), u32(rng.int(2 ** 31)), u32(samples.length), ...samples)]);
  }
  return { name: 'sflow-v5', port: 6343, datagrams: d };
}

export const TELEMETRY_UDP_GENERATORS: ((rng: Rng) => UdpScript)[] = [statsd, collectd, gelf, netflow9, sflow5];

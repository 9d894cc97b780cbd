// Datagrams of the office LAN and its edge for the near-miss corpus (test/signatures/near-miss.test.ts):
// device discovery in SOAP (WS-Discovery), Dropbox's LAN sync and Minecraft's LAN game announcements
// (JSON and tags with a user's name), BitTorrent's local peer discovery (HTTP-like), port mapping
// (NAT-PMP), service location (SLP), server management (IPMI over RMCP), routing (RIPv2) and VPN set-up
// (IKEv2, L2TP control). Short binary datagrams on IM ports, names and XML; none of it is IM. Each is
// built from its specification (cited per generator).
import type { Exchange, Rng, UdpScript } from './nearmiss';
import { cat, u16, u32, u8 } from './nearmiss-udp-more';

const PEOPLE = ['alice', 'bob', 'carol', 'dave', 'mallory'];
const uuid = (rng: Rng) => `${rng.hex(8)}-${rng.hex(4)}-4${rng.hex(3)}-a${rng.hex(3)}-${rng.hex(12)}`;
const ip4 = (rng: Rng) => Buffer.from([10, rng.int(256), rng.int(256), rng.range(1, 254)]);

/** WS-Discovery 1.1 (OASIS), SOAP over UDP on 3702: Probe, ProbeMatches, Hello with a device's friendly name */
function wsDiscovery(rng: Rng): UdpScript {
  const ns = 'xmlns:soap="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:wsd="http://schemas.xmlsoap.org/ws/2005/04/discovery" xmlns:wsdp="http://schemas.xmlsoap.org/ws/2006/02/devprof"';
  const env = (action: string, to: string, body: string, rel = '') =>
    Buffer.from(`<?xml version="1.0" encoding="utf-8"?><soap:Envelope ${ns}><soap:Header><wsa:To>${to}</wsa:To><wsa:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/${action}</wsa:Action><wsa:MessageID>urn:uuid:${uuid(rng)}</wsa:MessageID>${rel}</soap:Header><soap:Body>${body}</soap:Body></soap:Envelope>`);
  const dev = uuid(rng);
  const xaddr = `http://10.0.${rng.int(255)}.${rng.range(2, 254)}:5357/${dev}/`;
  const d: Exchange[] = [
    ['c', env('Probe', 'urn:schemas-xmlsoap-org:ws:2005:04:discovery', '<wsd:Probe><wsd:Types>wsdp:Device</wsd:Types></wsd:Probe>')],
    ['s', env('ProbeMatches', 'http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous',
      `<wsd:ProbeMatches><wsd:ProbeMatch><wsa:EndpointReference><wsa:Address>urn:uuid:${dev}</wsa:Address></wsa:EndpointReference><wsd:Types>wsdp:Device pub:Computer</wsd:Types><wsd:XAddrs>${xaddr}</wsd:XAddrs><wsd:MetadataVersion>${rng.range(1, 9)}</wsd:MetadataVersion></wsd:ProbeMatch></wsd:ProbeMatches>`,
      `<wsa:RelatesTo>urn:uuid:${uuid(rng)}</wsa:RelatesTo>`)],
  ];
  if (rng.chance(0.6)) d.push(['s', env('Hello', 'urn:schemas-xmlsoap-org:ws:2005:04:discovery', `<wsd:Hello><wsa:EndpointReference><wsa:Address>urn:uuid:${dev}</wsa:Address></wsa:EndpointReference><wsd:Types>wsdp:Device pub:Computer</wsd:Types><wsd:XAddrs>${xaddr}</wsd:XAddrs><pub:Computer xmlns:pub="http://schemas.microsoft.com/windows/pub/2005/07">${rng.pick(PEOPLE).toUpperCase()}-LAPTOP/Domain:EXAMPLE</pub:Computer></wsd:Hello>`)]);
  return { name: 'ws-discovery', port: 3702, datagrams: d };
}

/** Dropbox LAN sync discovery (Wireshark's packet-db-lsp.c, "db-lsp-disc"): a JSON broadcast every 30 s */
function dropboxLanSync(rng: Rng): UdpScript {
  const host = rng.int(2 ** 31);
  const ns = Array.from({ length: rng.range(1, 6) }, () => rng.range(1e8, 4e9));
  const one = () => Buffer.from(JSON.stringify({ host_int: host, version: [2, 0], displayname: rng.chance(0.5) ? '' : `${rng.pick(PEOPLE)}'s MacBook`, port: 17500, namespaces: ns }));
  return { name: 'dropbox-lan-sync', port: 17500, datagrams: Array.from({ length: rng.range(1, 4) }, () => ['c', one()] as Exchange) };
}

/** Minecraft Java's LAN world announcement (multicast 224.0.2.60:4445, the game's LanServerPinger): [MOTD]…[/MOTD][AD]port[/AD] */
function minecraftLan(rng: Rng): UdpScript {
  const motd = `${rng.pick(PEOPLE)} - ${rng.pick(['New World', 'Survival', 'PRIVMSG #mc :join', 'chat test'])}`;
  const ad = Buffer.from(`[MOTD]${motd}[/MOTD][AD]${rng.range(1024, 65535)}[/AD]`);
  return { name: 'minecraft-lan', port: 4445, datagrams: Array.from({ length: rng.range(1, 4) }, () => ['c', ad] as Exchange) };
}

/** BitTorrent Local Service Discovery (BEP 14): BT-SEARCH over HTTPU to 239.192.152.143:6771 */
function btLsd(rng: Rng): UdpScript {
  const hashes = Array.from({ length: rng.range(1, 3) }, () => `Infohash: ${rng.hex(40)}\r\n`).join('');
  const msg = Buffer.from(`BT-SEARCH * HTTP/1.1\r\nHost: 239.192.152.143:6771\r\nPort: ${rng.range(6881, 6999)}\r\n${hashes}cookie: ${rng.hex(8)}\r\n\r\n\r\n`);
  return { name: 'bittorrent-lsd', port: 6771, datagrams: [['c', msg], ['c', msg]] };
}

/** NAT-PMP (RFC 6886) on 5351: external address and port mapping requests and their responses */
function natPmp(rng: Rng): UdpScript {
  const epoch = () => u32(rng.range(60, 9e6));
  const d: Exchange[] = [['c', Buffer.from([0, 0])], ['s', cat([0, 128], u16(0), epoch(), Buffer.from([198, 51, 100, rng.int(255)]))]];
  for (let i = rng.range(1, 3); i > 0; i--) {
    const op = rng.pick([1, 2]), port = rng.range(1024, 65535), life = rng.pick([0, 3600, 7200]);
    d.push(['c', cat([0, op], u16(0), u16(port), u16(port), u32(life))], ['s', cat([0, 128 + op], u16(rng.chance(0.8) ? 0 : 2), epoch(), u16(port), u16(port), u32(life))]);
  }
  return { name: 'nat-pmp', port: 5351, datagrams: d };
}

/** SLPv2 (RFC 2608) on 427: a service request for printers and the reply's URL entries */
function slp(rng: Rng): UdpScript {
  const str = (s: string) => cat(u16(s.length), s);
  const msg = (fn: number, xid: number, body: Buffer) => {
    const head = cat([2, fn], [0, 0, 0], u16(fn === 1 ? 0x2000 : 0), [0, 0, 0], u16(xid), str('en'));
    const m = cat(head, body);
    m.writeUIntBE(m.length, 2, 3);
    return m;
  };
  const xid = rng.int(65536);
  const urls = Array.from({ length: rng.range(1, 3) }, () => cat([0], u16(rng.pick([10800, 65535])), str(`service:printer:ipp://10.0.${rng.int(255)}.${rng.range(2, 254)}:631/printers/${rng.pick(PEOPLE)}-desk`), [0]));
  return {
    name: 'slp', port: 427,
    datagrams: [['c', msg(1, xid, cat(str(''), str('service:printer'), str('DEFAULT'), str(''), str('')))], ['s', msg(2, xid, cat(u16(0), u16(urls.length), ...urls))]],
  };
}

/** IPMI v1.5 over RMCP (IPMI 2.0 spec 13.1.3, 22.13; ASF's presence ping) on 623: ping/pong, Get Channel Authentication Capabilities */
function ipmiRmcp(rng: Rng): UdpScript {
  const sum = (b: number[]) => (0x100 - (b.reduce((a, x) => a + x, 0) & 255)) & 255;
  const ipmi = (msg: number[]) => cat([6, 0, 0xff, 7], [0], u32(0), u32(0), [msg.length], msg);
  const req = (seq: number) => { const h = [0x20, 0x18]; const t = [0x81, seq << 2, 0x38, 0x8e, 0x04]; return [...h, sum(h), ...t, sum(t)]; };
  const rsp = (seq: number) => { const h = [0x81, 0x1c]; const t = [0x20, seq << 2, 0x38, 0x00, 0x01, 0x97, 0x04, 0x03, 0, 0, 0, 0]; return [...h, sum(h), ...t, sum(t)]; };
  const tag = rng.int(255);
  const d: Exchange[] = [
    ['c', cat([6, 0, 0xff, 6], u32(4542), [0x80, tag, 0, 0])], // ASF presence ping
    ['s', cat([6, 0, 0xff, 6], u32(4542), [0x40, tag, 0, 0x10], u32(4542), u32(0), [0x81, 0, 0, 0, 0, 0, 0, 0])],
  ];
  for (let s = 0, n = rng.range(1, 3); s < n; s++) d.push(['c', ipmi(req(s))], ['s', ipmi(rsp(s))]);
  return { name: 'ipmi-rmcp', port: 623, datagrams: d };
}

/** RIPv2 (RFC 2453) on 520: a whole-table request and responses of up to 25 route entries */
function ripV2(rng: Rng): UdpScript {
  const entry = () => cat(u16(2), u16(0), Buffer.from([10, rng.int(256), rng.int(256), 0]), Buffer.from([255, 255, 255, 0]), u32(0), u32(rng.range(1, 16)));
  const d: Exchange[] = [['c', cat([1, 2], u16(0), u16(0), u16(0), u32(0), u32(0), u32(0), u32(16))]];
  for (let i = rng.range(1, 3); i > 0; i--) d.push(['s', cat([2, 2], u16(0), ...Array.from({ length: rng.range(1, 25) }, entry))]);
  return { name: 'ripv2', port: 520, datagrams: d };
}

/** IKEv2 (RFC 7296) IKE_SA_INIT on 500: header, SA (one proposal, four transforms), KE (group 19), Nonce; the responder's reply */
function ikev2(rng: Rng): UdpScript {
  const gen = (next: number, body: Buffer) => cat([next, 0], u16(body.length + 4), body); // generic payload header
  const transform = (last: boolean, type: number, id: number, attr: Buffer = Buffer.alloc(0)) => { const t = cat([type, 0], u16(id), attr); return cat([last ? 0 : 3, 0], u16(t.length + 4), t); };
  const proposal = () => {
    // AES-CBC-256, PRF_HMAC_SHA2_256, AUTH_HMAC_SHA2_256_128, ECP-256
    const ts = cat(transform(false, 1, 12, cat(u16(0x800e), u16(256))), transform(false, 2, 5), transform(false, 3, 12), transform(true, 4, 19));
    const body = cat([1, 1, 0, 4], ts);
    return cat([0, 0], u16(body.length + 4), body);
  };
  const msg = (spiI: Buffer, spiR: Buffer, flags: number) => {
    const payloads = cat(gen(34, proposal()), gen(40, cat(u16(19), u16(0), rng.bytes(64))), gen(0, rng.bytes(32)));
    return cat(spiI, spiR, [33, 0x20, 34, flags], u32(0), u32(28 + payloads.length), payloads);
  };
  const spiI = rng.bytes(8);
  return { name: 'ikev2', port: 500, datagrams: [['c', msg(spiI, Buffer.alloc(8), 0x08)], ['s', msg(spiI, rng.bytes(8), 0x20)]] };
}

/** L2TPv2 control (RFC 2661) on 1701: SCCRQ/SCCRP/SCCCN with their AVPs, Hello, and zero-length acknowledgements */
function l2tpControl(rng: Rng): UdpScript {
  let nsC = 0, nsS = 0;
  const avp = (type: number, value: Buffer) => cat(u16(0x8000 | (value.length + 6)), u16(0), u16(type), value);
  const ctl = (tunnel: number, ns: number, nr: number, avps: Buffer[]) => { const body = cat(...avps); return cat(u16(0xc802), u16(12 + body.length), u16(tunnel), u16(0), u16(ns), u16(nr), body); };
  const tc = rng.range(1, 65535), ts = rng.range(1, 65535);
  const host = Buffer.from(`${rng.pick(PEOPLE)}-lac.example.com`);
  const d: Exchange[] = [
    ['c', ctl(0, nsC++, 0, [avp(0, u16(1)), avp(2, u16(0x0100)), avp(3, u32(3)), avp(7, host), avp(9, u16(tc)), avp(10, u16(4))])],
    ['s', ctl(tc, nsS++, nsC, [avp(0, u16(2)), avp(2, u16(0x0100)), avp(3, u32(3)), avp(7, Buffer.from('lns.example.net')), avp(9, u16(ts))])],
    ['c', ctl(ts, nsC++, nsS, [avp(0, u16(3))])],
    ['s', ctl(tc, nsS, nsC, [])],
  ];
  for (let i = rng.range(0, 2); i > 0; i--) d.push(['c', ctl(ts, nsC++, nsS, [avp(0, u16(6))])], ['s', ctl(tc, nsS, nsC, [])]);
  return { name: 'l2tp-control', port: 1701, datagrams: d };
}

export const LAN_UDP_GENERATORS: ((rng: Rng) => UdpScript)[] = [wsDiscovery, dropboxLanSync, minecraftLan, btLsd, natPmp, slp, ipmiRmcp, ripV2, ikev2, l2tpControl];

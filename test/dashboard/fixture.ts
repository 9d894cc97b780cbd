// The dashboard tests' capture: two IRC flows from the monitored network (one whose nick and messages
// carry HTML/script payloads, a card number and a spreadsheet formula), plus unrelated UDP, timed two
// hours before now so the overview's default range shows it.
import { Capture } from '../helpers/pcapgen';

export const XSS_NICK = '<svg/onload=window.__xss=1>';
export const XSS_TEXT = '<img src=x onerror=window.__xss=1>';
export const FORMULA_TEXT = '=HYPERLINK("http://evil.example/","click")';
export const CARD = '4539 1488 0343 6467';
export const FLOW_A = { client: '10.0.0.5:40001', server: '198.51.100.7:6667' };
export const FLOW_B = { client: '10.0.0.9:40002', server: '198.51.100.7:6667' };

export function dashboardCapture(nowMs = Date.now()): { pcap: Buffer; flowAPackets: number; total: number } {
  const c = new Capture();
  c.now = (nowMs - 2 * 3600_000) * 1000;
  c.step = 20_000; // 20 ms per packet
  const a = c.tcp(FLOW_A.client, FLOW_A.server);
  const b = c.tcp(FLOW_B.client, FLOW_B.server);
  a.open();
  b.open();
  a.send('c', `PASS hunter22\r\nNICK ${XSS_NICK}\r\nUSER x 0 * :X\r\n`);
  a.send('s', `:irc.example.net 001 ${XSS_NICK} :Welcome\r\n`);
  b.send('c', 'NICK bob\r\nUSER bob 0 * :Bob\r\n');
  b.send('s', ':irc.example.net 001 bob :Welcome\r\n');
  a.send('c', `PRIVMSG bob :${XSS_TEXT}\r\n`);
  c.udp('10.0.0.7:5353', '224.0.0.251:5353', 'not irc');
  a.send('c', `PRIVMSG bob :${FORMULA_TEXT}\r\n`);
  b.send('c', 'PRIVMSG alice :hello from bob\r\n');
  a.send('c', `PRIVMSG bob :my card is ${CARD} thanks\r\n`);
  a.close();
  b.close();
  const [ca, sa] = [FLOW_A.client, FLOW_A.server];
  const portA = Number(ca.split(':')[1]);
  // packets of flow A: frames whose TCP ports are 40001 <-> 6667 (Ethernet + IPv4, no options)
  let flowAPackets = 0;
  for (const f of c.frames) {
    const d = f.data;
    if (d.readUInt16BE(12) !== 0x0800 || d[23] !== 6) continue;
    const ihl = (d[14] & 15) * 4;
    const sp = d.readUInt16BE(14 + ihl), dp = d.readUInt16BE(16 + ihl);
    if ((sp === portA && dp === 6667) || (dp === portA && sp === 6667)) flowAPackets++;
  }
  void sa;
  return { pcap: c.pcap(), flowAPackets, total: c.frames.length };
}

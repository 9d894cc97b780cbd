// Operations and infrastructure protocols for the near-miss corpus (test/signatures/near-miss.test.ts):
// an SMS gateway (SMPP), hospital messaging (HL7 over MLLP), a PBX's manager interface (Asterisk AMI,
// whose MessageSend carries SIP MESSAGE text), monitoring (Zabbix), ZeroMQ, and the old text services
// an IRC server or a Unix host answers beside it (Ident, Finger, WHOIS, DICT, Gopher). Their words are
// IM words — message, deliver, PING, JOIN, numerics, "USERID" — and none of them is IM. Each is built
// from its specification (cited per generator), with seeded fields and chat-like text.
import { logLines, type Exchange, type Rng, type Script } from './nearmiss';
import { b, cat, chatJson, crlf, email, room, say, u32be, u32le, u8, who } from './nearmiss-tcp-more';

const cstr = (s: string) => cat(s, u8(0));
const phone = (rng: Rng) => `+1555${String(rng.range(0, 9999999)).padStart(7, '0')}`;

/** SMPP 3.4 (SMPP v3.4 Issue 1.2, §4): 16-byte big-endian header, C-string fields; submit_sm/deliver_sm carry an SMS */
function smpp(rng: Rng): Script {
  let seq = rng.range(1, 1000);
  const pdu = (id: number, body: Buffer = Buffer.alloc(0), status = 0) => cat(u32be(16 + body.length), u32be(id), u32be(status), u32be(seq++), body);
  const sm = (from: string, to: string, text: string) => {
    const t = b(text).subarray(0, 254);
    return cat(cstr(''), u8(1), u8(1), cstr(from), u8(1), u8(1), cstr(to), u8(0), u8(0), u8(0), cstr(''), cstr(''), u8(1), u8(0), u8(0), u8(0), u8(t.length), t);
  };
  const ex: Exchange[] = [
    ['c', pdu(0x00000009, cat(cstr(rng.pick(['smsgw', 'alerts', 'otp-svc'])), cstr('s3cret'), cstr(''), u8(0x34), u8(0), u8(0), cstr('')))],
    ['s', pdu(0x80000009, cstr(rng.pick(['SMSC', 'Kannel', 'jasmin'])))],
  ];
  for (let i = rng.range(2, 8); i > 0; i--) {
    const text = rng.pick([say(rng), `Your code is ${rng.range(100000, 999999)}`, `${who(rng)}: ${say(rng)}`]);
    if (rng.chance(0.6)) {
      ex.push(['c', pdu(0x00000004, sm(rng.pick(['ACME', phone(rng)]), phone(rng), text))], ['s', pdu(0x80000004, cstr(rng.hex(10)))]);
    } else {
      ex.push(['s', pdu(0x00000005, sm(phone(rng), rng.pick(['ACME', phone(rng)]), text))], ['c', pdu(0x80000005, cstr(''))]);
    }
    if (rng.chance(0.3)) ex.push(['c', pdu(0x00000015)], ['s', pdu(0x80000015)]);
  }
  ex.push(['c', pdu(0x00000006)], ['s', pdu(0x80000006)]);
  return { name: 'smpp', port: 2775, exchanges: ex, keywords: ['Your code', 'SMSC', 'ACME'] };
}

/** HL7 v2.5.1 messages over MLLP (HL7 Transport Specification: MLLP, Release 2: VT … FS CR) */
function hl7(rng: Rng): Script {
  const ts = () => `202401${String(rng.range(10, 28))}0${rng.range(1, 9)}${rng.range(10, 59)}00`;
  const frame = (segments: string[]) => cat(u8(0x0b), segments.join('\r') + '\r', u8(0x1c), u8(0x0d));
  const ex: Exchange[] = [];
  for (let i = rng.range(1, 4); i > 0; i--) {
    const id = `MSG${String(rng.range(1, 99999)).padStart(5, '0')}`;
    const type = rng.pick(['ADT^A01^ADT_A01', 'ORU^R01^ORU_R01', 'ADT^A08^ADT_A01']);
    ex.push(['c', frame([
      `MSH|^~\\&|EPIC|GENERAL HOSP|LAB|CHAT-BRIDGE|${ts()}||${type}|${id}|P|2.5.1`,
      `EVN|${type.slice(4, 7)}|${ts()}`,
      `PID|1||${rng.range(100000, 999999)}^^^HOSP^MR||${who(rng).toUpperCase()}^EXAMPLE^^^^^L||19800101|F|||1 MAIN ST^^ANYTOWN^CA^94105||(555)555-0100|||||||078-05-1120`,
      `PV1|1|I|W^389^1^UABH^^^^3||||12345^DOCTOR^DAVE`,
      `NTE|1||${say(rng)}`,
      `NTE|2||${say(rng)}`,
    ])]);
    ex.push(['s', frame([`MSH|^~\\&|LAB|CHAT-BRIDGE|EPIC|GENERAL HOSP|${ts()}||ACK^${type.slice(4, 7)}^ACK|ACK${id.slice(3)}|P|2.5.1`, `MSA|AA|${id}|Message accepted`])]);
  }
  return { name: 'hl7-mllp', port: 2575, exchanges: ex, keywords: ['MSH|', 'MSA|', 'NTE|', 'MSG'] };
}

/** Asterisk Manager Interface (docs.asterisk.org, AMI v2): "Key: value" blocks ended by a blank line */
function asteriskAmi(rng: Rng): Script {
  let aid = 1;
  const block = (...kv: string[]) => crlf(...kv, '');
  const ex: Exchange[] = [
    ['s', crlf(`Asterisk Call Manager/${rng.pick(['5.0.1', '7.0.3', '2.10.6'])}`)],
    ['c', block('Action: Login', `ActionID: ${aid}`, 'Username: admin', 'Secret: amp111')],
    ['s', block('Response: Success', `ActionID: ${aid++}`, 'Message: Authentication accepted')],
    ['s', block('Event: FullyBooted', 'Privilege: system,all', 'Uptime: 3600', 'LastReload: 3600', 'Status: Fully Booted')],
  ];
  for (let i = rng.range(2, 8); i > 0; i--) {
    switch (rng.int(4)) {
      case 0:
        ex.push(['c', block('Action: MessageSend', `ActionID: ${aid}`, `To: pjsip:${who(rng)}@example.com`, `From: "${who(rng)}" <sip:${email(rng)}>`, `Body: ${say(rng)}`)]);
        ex.push(['s', block('Response: Success', `ActionID: ${aid++}`, 'Message: Message successfully sent')]);
        break;
      case 1:
        ex.push(['s', block('Event: PeerStatus', 'Privilege: system,all', 'ChannelType: PJSIP', `Peer: PJSIP/${who(rng)}`, `PeerStatus: ${rng.pick(['Reachable', 'Unreachable'])}`)]);
        break;
      case 2:
        ex.push(['s', block('Event: MessageWaiting', 'Privilege: call,all', `Mailbox: ${rng.range(100, 999)}@default`, 'Waiting: 1', `New: ${rng.range(1, 9)}`, 'Old: 0')]);
        break;
      default:
        ex.push(['c', block('Action: Ping', `ActionID: ${aid}`)], ['s', block('Response: Success', `ActionID: ${aid++}`, 'Ping: Pong', `Timestamp: 1705309200.${rng.range(100000, 999999)}`)]);
    }
  }
  ex.push(['c', block('Action: Logoff', `ActionID: ${aid}`)], ['s', block('Response: Goodbye', `ActionID: ${aid}`, 'Message: Thanks for all the fish.')]);
  return { name: 'asterisk-ami', port: 5038, exchanges: ex, keywords: ['Action: MessageSend', 'Body:', 'Event:', 'Ping'] };
}

/** Zabbix sender/agent protocol (Zabbix manual, "Header and data length"): ZBXD, flags, 4+4-byte LE lengths, JSON */
function zabbix(rng: Rng): Script {
  const msg = (o: unknown) => {
    const j = b(JSON.stringify(o));
    return cat('ZBXD', u8(1), u32le(j.length), u32le(0), j);
  };
  const ex: Exchange[] = [];
  for (let i = rng.range(1, 4); i > 0; i--) {
    const data = Array.from({ length: rng.range(1, 4) }, () => ({ host: `chat-${rng.int(9)}`, key: rng.pick(['im.messages', 'irc.privmsg.rate', 'xmpp.sessions', 'app.log']), value: rng.pick([say(rng), String(rng.int(500)), chatJson(rng)]), clock: 1705309200 + rng.int(3600) }));
    ex.push(['c', msg({ request: 'sender data', data })]);
    ex.push(['s', msg({ response: 'success', info: `processed: ${data.length}; failed: 0; total: ${data.length}; seconds spent: 0.000${rng.range(10, 99)}` })]);
  }
  return { name: 'zabbix', port: 10051, exchanges: ex, keywords: ['ZBXD', '{"request"', 'privmsg'] };
}

/** ZMTP 3.0 (rfc.zeromq.org/spec/23): 64-byte greeting, READY command, frames of flags + size + body */
function zmtp(rng: Rng): Script {
  const greeting = (server: boolean) => cat(Buffer.from([0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 3, rng.pick([0, 1])]), 'NULL', Buffer.alloc(16), u8(server ? 1 : 0), Buffer.alloc(31));
  const prop = (k: string, v: string) => cat(u8(k.length), k, u32be(Buffer.byteLength(v)), v);
  const command = (body: Buffer) => cat(u8(0x04), u8(body.length), body);
  const frame = (body: string | Buffer, more = false) => {
    const x = b(body);
    return x.length > 255 ? cat(u8(more ? 3 : 2), Buffer.from([0, 0, 0, 0]), u32be(x.length), x) : cat(u8(more ? 1 : 0), u8(x.length), x);
  };
  const ex: Exchange[] = [
    ['c', greeting(false)], ['s', greeting(true)],
    ['c', command(cat(u8(5), 'READY', prop('Socket-Type', 'DEALER'), prop('Identity', who(rng))))],
    ['s', command(cat(u8(5), 'READY', prop('Socket-Type', 'ROUTER')))],
  ];
  for (let i = rng.range(2, 10); i > 0; i--) ex.push([rng.pick(['c', 's'] as const), cat(frame(`chat.${room(rng)}`, true), frame(rng.chance(0.7) ? chatJson(rng) : say(rng)))]);
  return { name: 'zmtp', port: 5555, exchanges: ex, keywords: ['READY', 'chat.', '{"id"'] };
}

/** Ident (RFC 1413): "port , port" → "port , port : USERID : UNIX : user" — what an IRC server asks a client */
function ident(rng: Rng): Script {
  const ex: Exchange[] = [];
  for (let i = rng.range(1, 3); i > 0; i--) {
    const q = `${rng.range(1024, 65535)}, ${rng.pick([6667, 6697, 7000])}`;
    ex.push(['c', crlf(q)]);
    ex.push(['s', crlf(rng.chance(0.8) ? `${q} : USERID : ${rng.pick(['UNIX', 'OTHER'])} : ${who(rng)}` : `${q} : ERROR : NO-USER`)]);
  }
  return { name: 'ident', port: 113, exchanges: ex, keywords: ['USERID', 'UNIX', 'ERROR'] };
}

/** Finger (RFC 1288): a user name (or /W) and the fingerd's plain-text answer, .plan included */
function finger(rng: Rng): Script {
  const u = who(rng);
  const plan = Array.from({ length: rng.range(1, 6) }, () => say(rng, 'plan'));
  return {
    name: 'finger', port: 79, keywords: ['Plan:', 'Login:', 'PRIVMSG', 'JOIN'],
    exchanges: [
      ['c', crlf(rng.chance(0.3) ? `/W ${u}` : u)],
      ['s', crlf(`Login: ${u}${' '.repeat(20)}\tName: ${u[0].toUpperCase()}${u.slice(1)} Example`, `Directory: /home/${u}${' '.repeat(8)}\tShell: /bin/bash`,
        `On since Mon Jan 15 09:0${rng.int(9)} (UTC) on pts/${rng.int(4)} from 10.0.${rng.int(255)}.${rng.int(255)}`, rng.pick(['No mail.', 'New mail received Mon Jan 15 08:12 2024 (UTC)']), 'Plan:', ...plan)],
    ],
  };
}

/** WHOIS (RFC 3912): a query line, then the registry's text until it closes */
function whois(rng: Rng): Script {
  const d = rng.pick(['example.com', 'chat-example.net', 'irc-example.org']);
  return {
    name: 'whois', port: 43, keywords: ['Domain Name', '>>>', 'Registrant'],
    exchanges: [
      ['c', crlf(d)],
      ['s', crlf(`   Domain Name: ${d.toUpperCase()}`, `   Registry Domain ID: ${rng.range(1000000, 9999999)}_DOMAIN_COM-VRSN`, '   Registrar WHOIS Server: whois.example-registrar.com',
        '   Updated Date: 2023-08-14T07:01:38Z', '   Creation Date: 1995-08-14T04:00:00Z', `   Registrant Email: ${email(rng)}`, `   Name Server: NS${rng.range(1, 4)}.${d.toUpperCase()}`,
        '   DNSSEC: signedDelegation', '>>> Last update of whois database: 2024-01-15T09:00:00Z <<<', '', 'NOTICE: The expiration date displayed in this record is the date the',
        "registrar's sponsorship of the domain name registration in the registry is currently set to expire.")],
    ],
  };
}

/** DICT (RFC 2229): numeric status lines (150/151/152/250) and definitions ending in "." — numerics with parameters, like IRC's */
function dict(rng: Rng): Script {
  const word = rng.pick(['ping', 'join', 'nick', 'notice', 'message', 'who']);
  const def = (db: string, name: string) => [`151 "${word}" ${db} "${name}"`, word, `    n 1: ${say(rng, 'dict')}`, `    v 2: ${rng.pick(['to send a message', 'to come together', 'to test a connection'])}`, '.'];
  return {
    name: 'dict', port: 2628, keywords: ['151 ', '152 ', '250 ', 'DEFINE', 'MATCH'],
    exchanges: [
      ['s', crlf(`220 dict.example.org dictd 1.13.1/rf on Linux 6.1 <auth.mime> <${rng.range(100, 9999)}.${rng.range(100, 9999)}@dict.example.org>`)],
      ['c', crlf('CLIENT shadowim-test 1.0')], ['s', crlf('250 ok')],
      ['c', crlf(`DEFINE * ${word}`)], ['s', crlf('150 2 definitions retrieved', ...def('wn', 'WordNet (r) 3.0 (2006)'), ...def('jargon', 'The Jargon File (version 4.4.7)'), `250 ok [d/m/c = 2/0/${rng.range(10, 40)}; 0.000r 0.000u 0.000s]`)],
      ['c', crlf(`MATCH * prefix ${word.slice(0, 3)}`)], ['s', crlf('152 3 matches found', `wn "${word}"`, `wn "${word}s"`, `jargon "${word}"`, '.', '250 ok [d/m/c = 0/3/1; 0.000r 0.000u 0.000s]')],
      ['c', crlf('QUIT')], ['s', crlf('221 bye [d/m/c = 0/0/0; 0.000r 0.000u 0.000s]')],
    ],
  };
}

/** Gopher (RFC 1436): a selector, then a menu (type, display, selector, host, port, tab-separated) or a text file, ending in "." */
function gopher(rng: Rng): Script {
  const host = 'gopher.example.org';
  const menu = [`iWelcome to the ${room(rng)} archive\tfake\t(NULL)\t0`, `0Read me\t/README\t${host}\t70`, `1Chat logs\t/logs\t${host}\t70`, `0PRIVMSG howto\t/irc/privmsg.txt\t${host}\t70`, `7Search\t/search\t${host}\t70`, `hWeb site\tURL:https://www.example.org/\t${host}\t70`, '.'];
  const text = [...(rng.chance(0.5) ? Array.from({ length: rng.range(3, 12) }, () => say(rng, 'gopher')) : logLines(rng, rng.range(3, 12))), '.'];
  const sel = rng.pick(['', '/logs', '/irc/privmsg.txt', '/logs/bridge.txt']);
  return {
    name: 'gopher', port: 70, keywords: ['PRIVMSG', '0', '1', 'i'],
    exchanges: [['c', crlf(sel)], ['s', crlf(...(sel.endsWith('.txt') ? text : menu))]],
  };
}

export const OPS_TCP_GENERATORS: ((rng: Rng) => Script)[] = [smpp, hl7, asteriskAmi, zabbix, zmtp, ident, finger, whois, dict, gopher];

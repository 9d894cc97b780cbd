// Application and device protocols for the near-miss corpus (test/signatures/near-miss.test.ts): a game
// server's query console and a game's own chat (TeamSpeak 3 ServerQuery, Minecraft, a MUD with GMCP on
// port 4000 — ICQ's port), mail filters (ManageSieve), the Flash socket policy that chat sites served
// beside XMPP, a printer's raw port printing a chat log (PJL), trading messages (FIX, whose Email
// message is a message), monitoring (Munin, Graphite), content scanning (ICAP) and industrial polling
// (Modbus/TCP, whose transaction id can begin with OSCAR's '*'). Chat words, screen names and
// XML throughout; none of it is IM. Each is built from its specification (cited per generator).
import { logLines, type Exchange, type Rng, type Script } from './nearmiss';
import { b, cat, chatJson, crlf, email, room, say, u16be, u8, who } from './nearmiss-tcp-more';

const lf = (...lines: string[]) => b(lines.map((l) => l + '\n').join(''));

/** TeamSpeak 3 ServerQuery (TeamSpeak 3 Server Query Manual): "\n"-ended commands, "\n\r"-ended replies, \s-escaped values */
function ts3Query(rng: Rng): Script {
  const esc = (s: string) => s.replace(/\\/g, '\\\\').replace(/\//g, '\\/').replace(/ /g, '\\s').replace(/\|/g, '\\p');
  const reply = (...lines: string[]) => b(lines.map((l) => l + '\n\r').join(''));
  const ok = 'error id=0 msg=ok';
  const ex: Exchange[] = [
    ['s', reply('TS3', 'Welcome to the TeamSpeak 3 ServerQuery interface, type "help" for a list of commands and "help <command>" for information on a specific command.')],
    ['c', lf(`login serveradmin ${rng.hex(8)}`)], ['s', reply(ok)],
    ['c', lf(`use sid=${rng.range(1, 3)}`)], ['s', reply(ok)],
    ['c', lf('clientlist')],
    ['s', reply(Array.from({ length: rng.range(1, 4) }, (_, i) => `clid=${i + 1} cid=${rng.range(1, 9)} client_database_id=${rng.range(1, 99)} client_nickname=${who(rng)} client_type=0`).join('|'), ok)],
    ['c', lf('servernotifyregister event=textserver')], ['s', reply(ok)],
  ];
  for (let i = rng.range(1, 5); i > 0; i--) {
    if (rng.chance(0.5)) ex.push(['c', lf(`sendtextmessage targetmode=${rng.pick([2, 3])} target=1 msg=${esc(say(rng, 'ts3'))}`)], ['s', reply(ok)]);
    else ex.push(['s', reply(`notifytextmessage targetmode=3 msg=${esc(say(rng, 'ts3'))} invokerid=${rng.range(1, 9)} invokername=${who(rng)} invokeruid=${rng.bytes(20).toString('base64')}`)]);
  }
  ex.push(['c', lf('quit')], ['s', reply(ok)]);
  return { name: 'ts3-serverquery', port: 10011, exchanges: ex, keywords: ['sendtextmessage', 'notifytextmessage', 'msg=', 'client_nickname'] };
}

/** ManageSieve (RFC 5804): capability lines, quoted and literal strings, OK/NO replies; a vacation script with chat words */
function manageSieve(rng: Rng): Script {
  const user = email(rng);
  const script = [
    'require ["vacation", "fileinto"];',
    `if header :contains "subject" "${rng.pick(['PRIVMSG', 'MSG', 'chat transcript'])}" { fileinto "Chat"; }`,
    `vacation :days 1 :subject "Out of office" "${say(rng, 'sieve')} Ping me on #${room(rng)} if urgent.";`,
  ].join('\r\n') + '\r\n';
  const lit = Buffer.byteLength(script);
  const ex: Exchange[] = [
    ['s', crlf('"IMPLEMENTATION" "Dovecot Pigeonhole"', '"SIEVE" "fileinto reject envelope encoded-character vacation subaddress comparator-i;ascii-numeric relational regex imap4flags copy include variables body enotify environment mailbox date index ihave duplicate mime"',
      '"NOTIFY" "mailto"', '"SASL" "PLAIN LOGIN"', '"VERSION" "1.0"', 'OK "Dovecot ready."')],
    ['c', crlf(`AUTHENTICATE "PLAIN" "${Buffer.from(`\0${user}\0${rng.hex(10)}`).toString('base64')}"`)], ['s', crlf('OK "Logged in."')],
    ['c', crlf('LISTSCRIPTS')], ['s', crlf('"vacation" ACTIVE', '"chat-filter"', 'OK "Listscripts completed."')],
    ['c', cat(crlf(`PUTSCRIPT "vacation" {${lit}+}`), script, '\r\n')], ['s', crlf('OK "PUTSCRIPT completed."')],
    ['c', crlf('SETACTIVE "vacation"')], ['s', crlf('OK "Setactive completed."')],
    ['c', crlf('LOGOUT')], ['s', crlf('OK "Logout completed."')],
  ];
  return { name: 'managesieve', port: 4190, exchanges: ex, keywords: ['PUTSCRIPT', 'vacation', 'PRIVMSG', 'OK "'] };
}

/** Adobe Flash socket policy file (Adobe "Setting up a socket policy file server"): <policy-file-request/>\0, the policy XML\0 */
function flashPolicy(rng: Rng): Script {
  const ports = rng.pick(['5222,5223', '5222', '443,5222,5269', '*', '1863,5190']);
  const policy = [
    '<?xml version="1.0"?>', '<!DOCTYPE cross-domain-policy SYSTEM "/xml/dtds/cross-domain-policy.dtd">', '<cross-domain-policy>',
    '<site-control permitted-cross-domain-policies="master-only"/>', `<allow-access-from domain="${rng.pick(['*', '*.example.com', 'chat.example.com'])}" to-ports="${ports}"/>`, '</cross-domain-policy>',
  ].join('\n');
  return {
    name: 'flash-policy', port: 843, keywords: ['<cross-domain-policy', '<allow-access-from', 'to-ports'],
    exchanges: [['c', cat('<policy-file-request/>', u8(0))], ['s', cat(policy, u8(0))]],
  };
}

/** HP PJL job on a printer's raw port (HP PJL Technical Reference, UEL + @PJL commands), printing a chat log as text or PostScript */
function pjlPrint(rng: Rng): Script {
  const uel = '\x1b%-12345X';
  const job = rng.pick(['chat-log.txt', 'irc-ops.log', 'transcript.txt']);
  const lines = rng.chance(0.5) ? logLines(rng, rng.range(3, 14)) : Array.from({ length: rng.range(3, 14) }, () => `${who(rng)}: ${say(rng, 'pjl')}`);
  const body = rng.chance(0.5)
    ? cat('@PJL ENTER LANGUAGE=POSTSCRIPT\r\n', `%!PS-Adobe-3.0\n%%Title: ${job}\n%%Creator: a2ps 4.14\n/Courier findfont 9 scalefont setfont\n`,
      lines.map((l, i) => `72 ${720 - i * 11} moveto (${l.replace(/[()\\]/g, '\\$&')}) show\n`).join(''), 'showpage\n%%EOF\n')
    : cat('@PJL ENTER LANGUAGE=PCL\r\n', '\x1bE', lines.join('\r\n'), '\r\n\x0c', '\x1bE');
  const ex: Exchange[] = [
    ['c', cat(uel, `@PJL JOB NAME="${job}"\r\n`, `@PJL SET USERNAME="${who(rng)}"\r\n`, '@PJL USTATUS JOB=ON\r\n', body, uel, `@PJL EOJ NAME="${job}"\r\n`, uel)],
  ];
  if (rng.chance(0.6)) ex.push(['s', cat(`@PJL USTATUS JOB\r\nSTART\r\nNAME="${job}"\r\n\x0c`, `@PJL USTATUS JOB\r\nEND\r\nNAME="${job}"\r\nPAGES=1\r\n\x0c`)]);
  return { name: 'pjl-raw-print', port: 9100, exchanges: ex, keywords: ['@PJL', 'PRIVMSG', 'show', '<message'] };
}

/** Minecraft Java Edition 1.20.1 (protocol 763, wiki.vg "Protocol"): VarInt-framed packets; status JSON, offline login, chat */
function minecraft(rng: Rng): Script {
  const varint = (n: number) => {
    const out: number[] = [];
    let v = n >>> 0;
    do {
      let x = v & 0x7f;
      v >>>= 7;
      if (v) x |= 0x80;
      out.push(x);
    } while (v);
    return Buffer.from(out);
  };
  const str = (s: string) => cat(varint(Buffer.byteLength(s)), s);
  const pkt = (id: number, ...body: Buffer[]) => {
    const p = cat(varint(id), ...body);
    return cat(varint(p.length), p);
  };
  const host = rng.pick(['mc.example.com', 'play.example.net', '10.0.0.5']);
  const me = who(rng);
  const hs = (next: number) => pkt(0x00, varint(763), str(host), u16be(25565), varint(next));
  if (rng.chance(0.4)) {
    const status = JSON.stringify({ version: { name: '1.20.1', protocol: 763 }, players: { max: 20, online: 2, sample: [{ name: who(rng), id: [8, 4, 4, 4, 12].map((n) => rng.hex(n)).join('-') }] }, description: { text: `${room(rng)} chat & build` } });
    const t = Buffer.alloc(8, rng.int(256));
    return {
      name: 'minecraft', port: 25565, keywords: ['"text"', 'sample'],
      exchanges: [['c', cat(hs(1), pkt(0x00))], ['s', pkt(0x00, str(status))], ['c', pkt(0x01, t)], ['s', pkt(0x01, t)]],
    };
  }
  const uuid = rng.bytes(16);
  const ex: Exchange[] = [
    ['c', cat(hs(2), pkt(0x00, str(me), u8(1), uuid))],
    ['s', pkt(0x02, uuid, str(me), varint(0))],
  ];
  for (let i = rng.range(2, 8); i > 0; i--) {
    const text = say(rng, 'mc');
    if (rng.chance(0.5)) {
      // serverbound Chat Message: text, timestamp, salt, no signature, 0 acknowledged, 20-bit bitset
      ex.push(['c', pkt(0x05, str(text), Buffer.alloc(8, 1), rng.bytes(8), u8(0), varint(0), Buffer.alloc(3))]);
    }
    // clientbound System Chat Message: a JSON text component and the overlay flag
    ex.push(['s', pkt(0x64, str(JSON.stringify({ text: `<${rng.chance(0.5) ? me : who(rng)}> ${text}` })), u8(0))]);
  }
  return { name: 'minecraft', port: 25565, exchanges: ex, keywords: ['"text"', '<'] };
}

/** a MUD on port 4000 with telnet option negotiation and GMCP (IAC SB 201 "Comm.Channel.Text {json}" IAC SE) */
function mud(rng: Rng): Script {
  const IAC = 255, SB = 250, SE = 240, WILL = 251, DO = 253;
  const gmcp = (pkg: string, json: unknown) => cat(Buffer.from([IAC, SB, 201]), `${pkg} ${JSON.stringify(json)}`, Buffer.from([IAC, SE]));
  const me = who(rng);
  const ex: Exchange[] = [
    ['s', cat(Buffer.from([IAC, WILL, 201, IAC, WILL, 86]), crlf('', `Welcome to ${rng.pick(['Midgard', 'Aardwolf-like', 'Dark Castle'])}!`, 'By what name do you wish to be known?'))],
    ['c', cat(Buffer.from([IAC, DO, 201]), crlf(me))], ['s', crlf('Password:')], ['c', crlf(rng.hex(8))],
    ['c', gmcp('Core.Hello', { client: 'Mudlet', version: '4.17.2' })], ['c', gmcp('Core.Supports.Set', ['Char 1', 'Comm.Channel 1'])],
  ];
  for (let i = rng.range(2, 8); i > 0; i--) {
    const text = say(rng, 'mud');
    const ch = rng.pick(['ooc', 'gossip', 'newbie']);
    const talker = who(rng);
    switch (rng.int(3)) {
      case 0:
        ex.push(['c', crlf(`${ch} ${text}`)], ['s', crlf(`You ${ch}: '${text}'`)]);
        break;
      case 1:
        ex.push(['s', cat(crlf(`${talker} tells you '${text}'`), gmcp('Comm.Channel.Text', { channel: 'tell', talker, text: `${talker} tells you '${text}'` }))]);
        break;
      default:
        ex.push(['c', crlf(`tell ${talker} ${text}`)], ['s', crlf(`You tell ${talker} '${text}'`, '<100hp 80m 90mv> ')]);
    }
  }
  ex.push(['c', crlf('quit')], ['s', crlf('Fare thee well.')]);
  return { name: 'mud-gmcp', port: 4000, exchanges: ex, keywords: ['tells you', 'Comm.Channel', 'ooc ', 'tell '] };
}

/** FIX 4.4 (FIX Protocol 4.4 spec, vol. 2): tag=value SOH-separated, BodyLength 9 and CheckSum 10; News (B) and Email (C) carry text */
function fix(rng: Rng): Script {
  const sender = rng.pick(['BROKER1', 'CHATDESK']), target = rng.pick(['EXCH', 'CLIENT7']);
  const seq = { c: 1, s: 1 };
  const msg = (from: 'c' | 's', type: string, fields: [number, string][]) => {
    const [s, t] = from === 'c' ? [sender, target] : [target, sender];
    const body = [[35, type], [34, String(seq[from]++)], [49, s], [52, `20240115-09:${String(rng.range(10, 59))}:${String(rng.range(10, 59))}.000`], [56, t], ...fields]
      .map(([k, v]) => `${k}=${v}\x01`).join('');
    const head = `8=FIX.4.4\x019=${Buffer.byteLength(body)}\x01`;
    const all = Buffer.from(head + body, 'latin1');
    let sum = 0;
    for (const x of all) sum += x;
    return cat(all, Buffer.from(`10=${String(sum % 256).padStart(3, '0')}\x01`, 'latin1'));
  };
  const ex: Exchange[] = [['c', msg('c', 'A', [[98, '0'], [108, '30']])], ['s', msg('s', 'A', [[98, '0'], [108, '30']])]];
  for (let i = rng.range(2, 6); i > 0; i--) {
    const from = rng.pick(['c', 's'] as const);
    const text = say(rng, 'fix').replace(/[\x01]/g, '');
    if (rng.chance(0.5)) ex.push([from, msg(from, 'C', [[164, rng.hex(8)], [94, '0'], [147, `Re: ${room(rng)}`], [33, '1'], [58, text]])]);
    else if (rng.chance(0.5)) ex.push([from, msg(from, 'B', [[148, `Desk note from ${who(rng)}`], [33, '1'], [58, text]])]);
    else ex.push([from, msg(from, '0', [])]);
  }
  ex.push(['c', msg('c', '5', [[58, 'bye']])], ['s', msg('s', '5', [])]);
  return { name: 'fix', port: 9878, exchanges: ex, keywords: ['8=FIX', '35=C', '58='] };
}

/** munin-node (Munin "Protocol" docs): a greeting comment, cap/list/config/fetch, "." ends a multi-line answer */
function munin(rng: Rng): Script {
  const plugins = ['cpu', 'load', 'irc_users', 'jabber_msgs', 'msn_sessions', 'df'];
  const ex: Exchange[] = [
    ['s', lf(`# munin node at ${rng.pick(['chat1', 'im-gw', 'irc'])}.example.com`)],
    ['c', lf('cap multigraph dirtyconfig')], ['s', lf('cap multigraph dirtyconfig')],
    ['c', lf('list')], ['s', lf(plugins.join(' '))],
  ];
  for (const p of rng.some(plugins, rng.range(1, 4))) {
    ex.push(['c', lf(`config ${p}`)], ['s', lf(`graph_title ${p.replace('_', ' ')}`, 'graph_category chat', `${p.split('_')[1] ?? 'value'}.label ${say(rng, 'munin')}`, '.')]);
    ex.push(['c', lf(`fetch ${p}`)], ['s', lf(`${p.split('_')[1] ?? 'value'}.value ${rng.range(0, 5000)}`, '.')]);
  }
  ex.push(['c', lf('quit')]);
  return { name: 'munin', port: 4949, exchanges: ex, keywords: ['fetch ', '.value', '# munin'] };
}

/** Graphite carbon plaintext protocol (graphite.readthedocs.io "Feeding In Your Data"): "path value timestamp\n", client only */
function graphite(rng: Rng): Script {
  const paths = ['chat.irc.privmsg.count', 'im.msn.usr_ok', 'im.ymsg.login_ms', 'xmpp.c2s.message.in', 'servers.im1.aim.flap_bytes', `chat.room.${room(rng)}.users`];
  const t = 1705300000 + rng.int(86400);
  const ex: Exchange[] = [];
  for (let i = rng.range(1, 4); i > 0; i--) {
    ex.push(['c', lf(...Array.from({ length: rng.range(3, 30) }, () => `${rng.pick(paths)} ${rng.chance(0.5) ? rng.range(0, 9999) : (rng.int(100000) / 100).toFixed(2)} ${t + rng.int(60)}`))]);
  }
  return { name: 'graphite', port: 2003, exchanges: ex, keywords: ['chat.', 'im.', 'xmpp.'] };
}

/** ICAP (RFC 3507): OPTIONS, then REQMOD/RESPMOD with an encapsulated HTTP message (chunked body) */
function icap(rng: Rng): Script {
  const svc = `icap://icap.example.net/${rng.pick(['avscan', 'dlp', 'reqmod'])}`;
  const chunked = (s: string) => (s ? `${Buffer.byteLength(s).toString(16)}\r\n${s}\r\n0\r\n\r\n` : '0\r\n\r\n');
  const ex: Exchange[] = [
    ['c', crlf(`OPTIONS ${svc} ICAP/1.0`, 'Host: icap.example.net', 'User-Agent: Squid/6.6', '')],
    ['s', crlf('ICAP/1.0 200 OK', 'Methods: REQMOD, RESPMOD', 'Service: C-ICAP/0.5.10 server - DLP', `ISTag: "${rng.hex(16)}"`, 'Preview: 1024', 'Transfer-Preview: *', 'Encapsulated: null-body=0', '')],
  ];
  for (let i = rng.range(1, 4); i > 0; i--) {
    const body = chatJson(rng);
    const req = crlf(`POST /api/v1/${rng.pick(['messages', 'chat/send', 'rooms/' + room(rng)])} HTTP/1.1`, 'Host: app.example.com', 'Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`, '').toString();
    const head = crlf(`REQMOD ${svc} ICAP/1.0`, 'Host: icap.example.net', `X-Client-IP: 10.0.${rng.int(255)}.${rng.int(255)}`, 'Allow: 204', `Encapsulated: req-hdr=0, req-body=${Buffer.byteLength(req)}`, '').toString();
    ex.push(['c', b(head + req + chunked(body))], ['s', crlf('ICAP/1.0 204 No Content', `ISTag: "${rng.hex(16)}"`, '')]);
  }
  if (rng.chance(0.5)) {
    const res = crlf('HTTP/1.1 200 OK', 'Content-Type: text/plain', '').toString();
    const text = logLines(rng, rng.range(2, 6)).join('\n') + '\n';
    const reqHdr = crlf('GET /logs/bridge.txt HTTP/1.1', 'Host: files.example.com', '').toString();
    ex.push(['c', b(crlf(`RESPMOD ${svc} ICAP/1.0`, 'Host: icap.example.net', `Encapsulated: req-hdr=0, res-hdr=${Buffer.byteLength(reqHdr)}, res-body=${Buffer.byteLength(reqHdr + res)}`, '').toString() + reqHdr + res + chunked(text))]);
    ex.push(['s', crlf('ICAP/1.0 204 No Content', `ISTag: "${rng.hex(16)}"`, '')]);
  }
  return { name: 'icap', port: 1344, exchanges: ex, keywords: ['REQMOD', 'POST ', '{"id"', 'PRIVMSG'] };
}

/** Modbus/TCP (Modbus Messaging on TCP/IP Implementation Guide v1.0b): MBAP header (transaction, protocol 0, length, unit) + PDU */
function modbus(rng: Rng): Script {
  // a transaction id from 0x2A01..0x2A05 starts the header with OSCAR's FLAP byte '*' and a FLAP channel
  let tid = rng.chance(0.4) ? 0x2a00 + rng.range(1, 5) : rng.int(0xffff);
  const unit = rng.range(1, 247);
  const adu = (t: number, pdu: Buffer) => cat(u16be(t), u16be(0), u16be(pdu.length + 1), u8(unit), pdu);
  const ex: Exchange[] = [];
  for (let i = rng.range(2, 10); i > 0; i--) {
    const t = tid;
    tid = (tid + (rng.chance(0.7) ? 0 : 1)) & 0xffff; // some masters reuse one transaction id
    const fn = rng.pick([3, 4, 6, 16]);
    const addr = rng.int(0x2000), n = rng.range(1, 60);
    if (fn === 3 || fn === 4) {
      ex.push(['c', adu(t, cat(u8(fn), u16be(addr), u16be(n)))], ['s', adu(t, cat(u8(fn), u8(n * 2), rng.bytes(n * 2)))]);
    } else if (fn === 6) {
      const v = u16be(rng.int(0x10000));
      ex.push(['c', adu(t, cat(u8(6), u16be(addr), v))], ['s', adu(t, cat(u8(6), u16be(addr), v))]);
    } else {
      const m = Math.min(n, 30);
      ex.push(['c', adu(t, cat(u8(16), u16be(addr), u16be(m), u8(m * 2), rng.bytes(m * 2)))], ['s', adu(t, cat(u8(16), u16be(addr), u16be(m)))]);
    }
    if (rng.chance(0.1)) ex.push(['s', adu(t, cat(u8(0x83), u8(2)))]);
  }
  return { name: 'modbus-tcp', port: 502, exchanges: ex };
}

export const APP_TCP_GENERATORS: ((rng: Rng) => Script)[] = [ts3Query, manageSieve, flashPolicy, pjlPrint, minecraft, mud, fix, munin, graphite, icap, modbus];

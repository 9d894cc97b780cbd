// tshark (Wireshark's dissectors) as the reference decoder of cleartext IM: its PDML read into a flat
// list of fields per packet, and the chat messages its dissectors read (AIM, IRC, MSNMS, SIP, XMPP,
// YMSG, Gadu-Gadu), brought to what a chat client shows where shadowim documents that it does the
// same (AIM/SIP HTML reduced to text, IRC and YMSG colour codes stripped). Used by the corpus check
// (test/corpus/tshark-messages.test.ts) and the differential fuzz (test/signatures/tshark-diff.test.ts).
// tshark's fields are read from its PDML (`value` holds the exact bytes, so no escaping of tshark's
// own is undone here).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

export const haveTshark = spawnSync('tshark', ['-v']).status === 0;

export const FILTER = 'aim || irc || msnms || sip || xmpp || ymsg || gadu-gadu';

export interface Item {
  depth: number;
  name: string;
  show: string;
  showname: string;
  bytes: Buffer;
}
export interface Msg {
  /** tshark's tcp.stream of the packet that carried it */
  stream: number;
  text: string;
  from?: string;
  to?: string;
  dedupe?: string;
  /** tshark names the peers of this message but does not read its text (Gadu-Gadu 8.0) */
  textUnread?: boolean;
}

export function unescape(s: string): string {
  return s.replace(/&(lt|gt|amp|quot|apos|#x[0-9a-f]+|#\d+);/gi, (_, e: string) =>
    e[0] === '#' ? String.fromCodePoint(e[1].toLowerCase() === 'x' ? parseInt(e.slice(2), 16) : +e.slice(1)) : ({ lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" } as Record<string, string>)[e.toLowerCase()],
  );
}

/** tshark's PDML as a flat list of fields per packet (protos are items too, named after the protocol). */
export function pdml(file: string, decodeAs: string[] = [], filter = FILTER): Item[][] {
  const r = spawnSync('tshark', ['-r', file, ...decodeAs.flatMap((d) => ['-d', d]), '-Y', filter, '-T', 'pdml'], { maxBuffer: 1024 * 1024 * 1024 });
  assert.equal(r.status, 0, r.stderr.toString());
  const packets: Item[][] = [];
  let depth = 0;
  for (const m of r.stdout.toString('utf8').matchAll(/<(\/?)(packet|proto|field)\b([^>]*?)(\/?)>/g)) {
    if (m[2] === 'packet') {
      if (!m[1]) packets.push([]);
      depth = 0;
      continue;
    }
    if (m[1]) {
      depth--;
      continue;
    }
    const a: Record<string, string> = {};
    for (const [, k, v] of m[3].matchAll(/(\w+)="([^"]*)"/g)) a[k] = unescape(v);
    packets[packets.length - 1].push({ depth, name: a.name ?? '', show: a.show ?? '', showname: a.showname ?? '', bytes: Buffer.from(a.value ?? '', 'hex') });
    if (!m[4]) depth++;
  }
  return packets;
}

/** All the items nested under items[i]. */
export function subtree(items: Item[], i: number): Item[] {
  let j = i + 1;
  while (j < items.length && items[j].depth > items[i].depth) j++;
  return items.slice(i + 1, j);
}

/** The items directly under items[i]. */
export function children(items: Item[], i: number): Item[] {
  return subtree(items, i).filter((x) => x.depth === items[i].depth + 1);
}

export const utf8OrLatin1 = (b: Buffer) => {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(b);
  } catch {
    return b.toString('latin1');
  }
};
// AIM, SIP text/html: a chat client shows HTML as text, so tags go, <br> is a line break, entities are decoded.
export const html = (s: string) => unescape(s.replace(/<br\s*\/?>/gi, '\n').replace(/<[^>]*>/g, ''));
// IRC: mIRC colour and format codes are display attributes, not text.
export const ircPlain = (s: string) => s.replace(/\x03(\d{1,2}(,\d{1,2})?)?|\x04([0-9a-f]{6}(,[0-9a-f]{6})?)?|[\x02\x0f\x11\x16\x1d\x1e\x1f]/gi, '');
// YMSG: ANSI colour codes and Yahoo's font/style tags are display attributes, not text.
export const ymsgPlain = (s: string) => s.replace(/\x1b\[[^m]*m/g, '').replace(/<\/?(font|b|i|u|s|fade|alt)\b[^>]*>/gi, '');

/** The chat messages in tshark's decoding of the packets; dcc collects the DCC CHAT offers seen (port -> nicks). */
export function tsharkMessages(packets: Item[][], dcc: Map<number, { offerer: string; peer: string }>): Msg[] {
  const out: Msg[] = [];
  const nickOf = new Map<string, string>(); // IRC stream -> the client's NICK
  for (const items of packets) {
    const field = (name: string) => items.find((x) => x.name === name)?.show;
    const stream = field('tcp.stream') ?? '';
    const push = (m: Omit<Msg, 'stream'>): Msg => {
      const x = { stream: +stream, ...m };
      out.push(x);
      return x;
    };
    const sport = Number(field('tcp.srcport'));
    const dport = Number(field('tcp.dstport'));
    // AIM: ICBM message blocks; 0x0006 outgoing names the recipient, 0x0007 incoming the sender.
    let sub = 0;
    let buddy = '';
    let charset = 0;
    let cur: Msg | undefined;
    // YMSG: the key/value pairs of each PDU, read when the PDU is complete.
    let ysvc = -1;
    let ypairs: [string, Buffer][] = [];
    const ymsgPdu = () => {
      const k: Record<string, string> = {};
      for (const [key, val] of ypairs) {
        k[key] = utf8OrLatin1(val);
        // 0x06 message (4 from, else 1; 5 to), 0x1d conference (3 from, 57 room), 0xa8 chat room (109 from, 104 room)
        if (ysvc === 0x06 && key === '14') push({ text: ymsgPlain(k[14]), from: k[4] ?? k[1], to: k[5] });
        if (ysvc === 0x1d && key === '14') push({ text: ymsgPlain(k[14]), from: k[3], to: k[57] });
        if (ysvc === 0xa8 && key === '117') push({ text: ymsgPlain(k[117]), from: k[109], to: k[104] });
      }
      ypairs = [];
    };
    for (let i = 0; i < items.length; i++) {
      const it = items[i];
      switch (it.name) {
        case 'aim.fnac.subtype':
          sub = parseInt(it.show, 16);
          buddy = '';
          cur = undefined;
          break;
        case 'aim.buddyname':
          buddy = it.show;
          break;
        case 'aim.messageblock.charset':
          charset = parseInt(it.show, 16);
          break;
        case 'aim.messageblock.message': {
          const text = new TextDecoder(charset === 2 ? 'utf-16be' : charset === 3 ? 'latin1' : 'utf-8').decode(it.bytes);
          if (cur) cur.text += html(text); // further 0x0101 fragments of the same message
          else cur = push({ text: html(text), ...(sub === 7 ? { from: buddy } : { to: buddy }) });
          break;
        }
        case 'irc.request':
        case 'irc.response': {
          const line = utf8OrLatin1(it.bytes);
          const chat = dcc.get(sport) ?? dcc.get(dport);
          if (chat) {
            // a DCC CHAT connection carries bare lines; the offerer listens on the port it offered
            const fromOfferer = dcc.has(sport);
            push({ text: ircPlain(line), from: fromOfferer ? chat.offerer : chat.peer, to: fromOfferer ? chat.peer : chat.offerer });
            break;
          }
          const nick = /^NICK :?(\S+)/.exec(line);
          if (nick && it.name === 'irc.request') nickOf.set(stream, nick[1]);
          const m = /^(?:@\S+ +)?(?::(\S+) +)?(PRIVMSG|NOTICE) +(\S+) +:?(.*)$/.exec(line);
          if (!m) break;
          const [, prefix, cmd, target, body] = m;
          const from = it.name === 'irc.request' ? nickOf.get(stream) : prefix?.split('!')[0];
          // server notices (from a server name, or to * / AUTH before registration) are connection chatter
          if (cmd === 'NOTICE' && ((prefix && !prefix.includes('!')) || target === '*' || target === 'AUTH')) break;
          if (body.startsWith('\x01')) {
            const ctcp = body.replace(/\x01/g, '');
            const offer = /^DCC CHAT \S+ \S+ (\d+)/.exec(ctcp);
            if (offer && from) dcc.set(+offer[1], { offerer: from, peer: target });
            // CTCP is not chat, except ACTION, which a client shows as "* nick text"
            if (ctcp.startsWith('ACTION ')) push({ text: `* ${from} ${ircPlain(ctcp.slice(7))}`, from, to: target });
            break;
          }
          push({ text: ircPlain(body), from, to: target });
          break;
        }
        case 'msnms': {
          // MSN: tshark shows the packet as lines, nothing more; a MSG line's length counts the MIME
          // message after it, which need not end with a line break (the next command then follows on
          // the same "line"), so the MSG commands are framed here from the lines' bytes
          const data = Buffer.concat(children(items, i).map((x) => x.bytes));
          for (let o = 0; o < data.length; ) {
            const eol = data.indexOf('\r\n', o);
            if (eol < 0) break;
            const head = /^MSG (\S+) \S+ (\d+)$/.exec(data.toString('latin1', o, eol));
            o = eol + 2;
            if (!head) continue;
            const mime = data.subarray(o, o + +head[2]);
            o += +head[2];
            const sep = mime.indexOf('\r\n\r\n');
            // only text/plain is chat (typing is text/x-msmsgscontrol); a server's MSG names the sender
            if (sep < 0 || !/^content-type: *text\/plain/im.test(mime.subarray(0, sep).toString('latin1'))) continue;
            push({ text: mime.subarray(sep + 4).toString('utf8'), from: head[1].includes('@') ? head[1] : undefined });
          }
          break;
        }
        case 'sip': {
          const sip = subtree(items, i);
          const get = (n: string) => sip.find((x) => x.name === n)?.show;
          const type = get('sip.Content-Type') ?? '';
          if (get('sip.Method') !== 'MESSAGE' || !/^text\/(plain|html)/i.test(type)) break;
          const ti = sip.findIndex((x) => x.name === 'data-text-lines');
          const body = ti < 0 ? '' : Buffer.concat(children(sip, ti).map((x) => x.bytes)).toString('utf8');
          const uri = (s?: string) => s?.replace(/^sips?:/, '').replace(/[;?].*$/, '');
          push({
            text: /html/i.test(type) ? html(body) : body,
            from: uri(get('sip.from.addr')),
            to: uri(get('sip.to.addr')),
            // a proxy forwards the same request (Call-ID, CSeq, From tag and address): one message, seen twice
            dedupe: [get('sip.Call-ID'), get('sip.CSeq.seq'), get('sip.from.tag'), get('sip.from.addr')].join('|'),
          });
          break;
        }
        case 'xmpp.message': {
          const kids = children(items, i);
          const get = (n: string) => kids.find((x) => x.name === n)?.show;
          if (get('xmpp.type') === 'error') break;
          const body = kids.find((x) => x.name === 'xmpp.message.body');
          if (!body) break; // chat states and subjects carry no body
          const value = children(items, items.indexOf(body)).find((x) => /^\s*(\[truncated\])?value:/.test(x.showname));
          // tshark shows the body's character data as written (entities still escaped), and cuts a long
          // one short: its bytes, <body>…</body>, are whole
          const raw = value?.bytes.length ? value.bytes.toString('utf8').replace(/^<body\b[^>]*>/, '').replace(/<\/body\s*>$/, '') : (value?.show ?? '');
          // attribute values as written too: XML escapes undone
          const attr = (n: string) => (get(n) === undefined ? undefined : unescape(get(n)!));
          // character data: CDATA sections as they are, references outside them decoded
          const chars = raw.split(/(<!\[CDATA\[[\s\S]*?\]\]>)/).map((x) => (x.startsWith('<![CDATA[') ? x.slice(9, -3) : unescape(x))).join('');
          push({ text: chars, from: attr('xmpp.from'), to: attr('xmpp.to') });
          break;
        }
        case 'gadu-gadu': {
          // GG_SEND_MSG/GG_RECV_MSG: text (CP1250, NUL-ended); GG 8.0: only the peers and offsets (the
          // dissector stops there, "packet not fully dissected"). sender/recipient of our side are the login UIN.
          const gg = subtree(items, i);
          const get = (n: string) => gg.find((x) => x.name === n);
          const from = get('gadu-gadu.msg.sender')?.show;
          const to = get('gadu-gadu.msg.recipient')?.show;
          const text = get('gadu-gadu.msg.text');
          if (text) push({ text: new TextDecoder('windows-1250').decode(text.bytes).replace(/\0+$/, ''), from, to });
          else if (get('gadu-gadu.msg80.offset_plain')) push({ text: '', from, to, textUnread: true });
          break;
        }
        case 'ymsg.service':
          if (ysvc >= 0) ymsgPdu();
          ysvc = +it.show;
          break;
        case 'ymsg.content-line.key':
          ypairs.push([it.show, Buffer.alloc(0)]);
          break;
        case 'ymsg.content-line.value':
          if (ypairs.length) ypairs[ypairs.length - 1][1] = it.bytes;
          break;
      }
    }
    if (ysvc >= 0) ymsgPdu();
  }
  const seen = new Set<string>();
  return out.filter((m) => !m.dedupe || (!seen.has(m.dedupe) && seen.add(m.dedupe)));
}

/** The chat messages tshark reads in a capture; decodeAs: `tcp.port==N,proto` for IM on another protocol's port. */
export function tsharkRead(file: string, decodeAs: string[] = []): Msg[] {
  const dcc = new Map<number, { offerer: string; peer: string }>();
  let msgs = tsharkMessages(pdml(file, decodeAs), dcc);
  // DCC CHAT runs on the port its offer names, which tshark cannot know: decode that port as IRC lines
  if (dcc.size) msgs = tsharkMessages(pdml(file, [...decodeAs, ...[...dcc.keys()].map((p) => `tcp.port==${p},irc`)]), dcc);
  return msgs;
}


// Ground truth for the cleartext chat in the real captures: for every capture in ../shared/pcaps/im,
// the messages tshark (Wireshark's dissectors, the reference decoder) reads are the messages
// `shadowim analyze` reports — the same texts, each as often, and the same sender and recipient
// wherever tshark's decoding names them. tshark's fields are read from its PDML (`value` holds the
// exact bytes, so no escaping of tshark's own is undone here).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { PCAPS_DIR, havePcaps, labels } from '../helpers/paths';
import { shadowim } from '../helpers/run';

interface Item {
  depth: number;
  name: string;
  show: string;
  showname: string;
  bytes: Buffer;
}
interface Msg {
  text: string;
  from?: string;
  to?: string;
  dedupe?: string;
}

// Decode-as for captures whose IM runs on a port tshark gives to another dissector:
// OSCAR in cleartext on 443 (tshark tries TLS) and Twitch IRC on 80 (tshark tries HTTP).
const DECODE_AS: Record<string, string[]> = {
  'aim-puzzle1-filetransfer.pcap': ['tcp.port==443,aim'],
  'irc-twitch-port80-vlan.pcap': ['tcp.port==80,irc'],
};
const FILTER = 'aim || irc || msnms || sip || xmpp || ymsg';

const haveTshark = spawnSync('tshark', ['-v']).status === 0;
const why = !havePcaps() ? `no shared captures at ${PCAPS_DIR} (set SHADOWIM_PCAPS)` : !haveTshark ? 'tshark is not installed' : '';

function unescape(s: string): string {
  return s.replace(/&(lt|gt|amp|quot|apos|#x[0-9a-f]+|#\d+);/gi, (_, e: string) =>
    e[0] === '#' ? String.fromCodePoint(e[1].toLowerCase() === 'x' ? parseInt(e.slice(2), 16) : +e.slice(1)) : ({ lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" } as Record<string, string>)[e.toLowerCase()],
  );
}

/** tshark's PDML as a flat list of fields per packet (protos are items too, named after the protocol). */
function pdml(file: string, decodeAs: string[]): Item[][] {
  const r = spawnSync('tshark', ['-r', file, ...decodeAs.flatMap((d) => ['-d', d]), '-Y', FILTER, '-T', 'pdml'], { maxBuffer: 256 * 1024 * 1024 });
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
function subtree(items: Item[], i: number): Item[] {
  let j = i + 1;
  while (j < items.length && items[j].depth > items[i].depth) j++;
  return items.slice(i + 1, j);
}

/** The items directly under items[i]. */
function children(items: Item[], i: number): Item[] {
  return subtree(items, i).filter((x) => x.depth === items[i].depth + 1);
}

const utf8OrLatin1 = (b: Buffer) => {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(b);
  } catch {
    return b.toString('latin1');
  }
};
// AIM, SIP text/html: a chat client shows HTML as text, so tags go, <br> is a line break, entities are decoded.
const html = (s: string) => unescape(s.replace(/<br\s*\/?>/gi, '\n').replace(/<[^>]*>/g, ''));
// IRC: mIRC colour and format codes are display attributes, not text.
const ircPlain = (s: string) => s.replace(/\x03(\d{1,2}(,\d{1,2})?)?|\x04([0-9a-f]{6}(,[0-9a-f]{6})?)?|[\x02\x0f\x11\x16\x1d\x1e\x1f]/gi, '');
// YMSG: ANSI colour codes and Yahoo's font/style tags are display attributes, not text.
const ymsgPlain = (s: string) => s.replace(/\x1b\[[^m]*m/g, '').replace(/<\/?(font|b|i|u|s|fade|alt)\b[^>]*>/gi, '');

/** The chat messages in tshark's decoding of the packets; dcc collects the DCC CHAT offers seen (port -> nicks). */
function tsharkMessages(packets: Item[][], dcc: Map<number, { offerer: string; peer: string }>): Msg[] {
  const out: Msg[] = [];
  const nickOf = new Map<string, string>(); // IRC stream -> the client's NICK
  for (const items of packets) {
    const field = (name: string) => items.find((x) => x.name === name)?.show;
    const stream = field('tcp.stream') ?? '';
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
        if (ysvc === 0x06 && key === '14') out.push({ text: ymsgPlain(k[14]), from: k[4] ?? k[1], to: k[5] });
        if (ysvc === 0x1d && key === '14') out.push({ text: ymsgPlain(k[14]), from: k[3], to: k[57] });
        if (ysvc === 0xa8 && key === '117') out.push({ text: ymsgPlain(k[117]), from: k[109], to: k[104] });
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
          else out.push((cur = { text: html(text), ...(sub === 7 ? { from: buddy } : { to: buddy }) }));
          break;
        }
        case 'irc.request':
        case 'irc.response': {
          const line = utf8OrLatin1(it.bytes);
          const chat = dcc.get(sport) ?? dcc.get(dport);
          if (chat) {
            // a DCC CHAT connection carries bare lines; the offerer listens on the port it offered
            const fromOfferer = dcc.has(sport);
            out.push({ text: ircPlain(line), from: fromOfferer ? chat.offerer : chat.peer, to: fromOfferer ? chat.peer : chat.offerer });
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
            if (ctcp.startsWith('ACTION ')) out.push({ text: `* ${from} ${ircPlain(ctcp.slice(7))}`, from, to: target });
            break;
          }
          out.push({ text: ircPlain(body), from, to: target });
          break;
        }
        case 'msnms': {
          // MSN: tshark splits the payload into lines; a MSG line's length counts the MIME message after it
          const lines = children(items, i).map((x) => x.bytes);
          for (let j = 0; j < lines.length; ) {
            const head = /^MSG (\S+) \S+ (\d+)\r\n$/.exec(lines[j++].toString('latin1'));
            if (!head) continue;
            const parts: Buffer[] = [];
            let n = 0;
            while (n < +head[2] && j < lines.length) n += parts[parts.push(lines[j++]) - 1].length;
            const mime = Buffer.concat(parts);
            const sep = mime.indexOf('\r\n\r\n');
            // only text/plain is chat (typing is text/x-msmsgscontrol); a server's MSG names the sender
            if (sep < 0 || !/^content-type: *text\/plain/im.test(mime.subarray(0, sep).toString('latin1'))) continue;
            out.push({ text: mime.subarray(sep + 4).toString('utf8'), from: head[1].includes('@') ? head[1] : undefined });
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
          out.push({
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
          const value = children(items, items.indexOf(body)).find((x) => x.showname.startsWith('value:'));
          // tshark shows the body's character data as written: entities are still escaped
          out.push({ text: unescape(value?.show ?? ''), from: get('xmpp.from'), to: get('xmpp.to') });
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

function tsharkRead(file: string): Msg[] {
  const decodeAs = DECODE_AS[path.basename(file)] ?? [];
  const dcc = new Map<number, { offerer: string; peer: string }>();
  let msgs = tsharkMessages(pdml(file, decodeAs), dcc);
  // DCC CHAT runs on the port its offer names, which tshark cannot know: decode that port as IRC lines
  if (dcc.size) msgs = tsharkMessages(pdml(file, [...decodeAs, ...[...dcc.keys()].map((p) => `tcp.port==${p},irc`)]), dcc);
  return msgs;
}

const sorted = (xs: string[]) => [...xs].sort();

describe('corpus: cleartext messages agree with tshark', function () {
  this.timeout(120000);
  if (why) {
    it(`skipped: ${why}`, function () {
      this.skip();
    });
    return;
  }
  const dir = path.join(PCAPS_DIR, 'im');
  for (const name of fs.readdirSync(dir).sort()) {
    it(`im/${name}: the same messages, senders and recipients`, function () {
      const file = path.join(dir, name);
      const want = tsharkRead(file);
      const r = shadowim(['analyze', file, '--format', 'jsonl']);
      assert.equal(r.status, 0, r.stderr);
      const got = r.events.filter((e) => e.type === 'message');
      // tshark's reading is itself right: it finds what the capture's label says is there
      for (const m of labels()[`im/${name}`]?.messages ?? []) assert.ok(want.some((w) => w.text.includes(m)), `tshark did not read ${JSON.stringify(m)}`);
      assert.deepEqual(sorted(got.map((e) => e.text)), sorted(want.map((w) => w.text)));
      for (const w of want) {
        const same = got.filter((e) => e.text === w.text);
        const who = same.map((e) => `${e.from} -> ${e.to}`);
        assert.ok(
          same.some((e) => (w.from === undefined || e.from === w.from) && (w.to === undefined || e.to === w.to)),
          `${JSON.stringify(w.text)}: tshark says ${w.from ?? '?'} -> ${w.to ?? '?'}, shadowim ${who.join(', ')}`,
        );
      }
    });
  }
});

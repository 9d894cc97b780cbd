// Tiny-segment evasion: a cleartext IM session written a byte per TCP segment (a client that flushes
// every keystroke, or an evader splitting its packets) must be recognised and read like the same
// session in whole segments. Detection used to give a direction up after its first 12 segments,
// i.e. after 12 bytes here; it now offers the growing prefix again until it has 8 KiB.
import assert from 'node:assert/strict';
import type { ShadowEvent } from '../../common/events';
import { Engine } from '../../signatures/engine';
import { loadRegistry } from '../../signatures/registry';
import { FlowHarness } from '../helpers/harness';
import { textMsg } from './msn-wire';
import { Flaps, bosOpening, fragment, messageBlock, outgoingIm } from './oscar-wire';
import { pdu } from './ymsg-wire';

type Seg = ['c' | 's', Buffer | string];
interface Session { protocol: string; server: string; segs: Seg[] }

function sessions(): Record<string, Session> {
  const c = new Flaps(1), s = new Flaps(9);
  return {
    irc: {
      protocol: 'irc', server: '198.51.100.7:6667',
      segs: [['c', 'NICK alice\r\nUSER alice 0 * :Alice\r\n'], ['s', ':irc.example.net 001 alice :Welcome to the network\r\n'], ['c', 'PRIVMSG #ops :the vault code is 7741\r\n']],
    },
    msn: {
      protocol: 'msn', server: '198.51.100.8:1863',
      segs: [
        ['c', 'USR 1 alice@example.com 1835953129.20013021.2623242\r\n'],
        ['s', 'USR 1 OK alice@example.com Alice\r\nJOI bob@example.net Bob 1616756780\r\n'],
        ['c', textMsg('2 N', 'hello over tiny segments')],
      ],
    },
    xmpp: {
      protocol: 'xmpp', server: '198.51.100.9:5222',
      segs: [
        ['c', "<?xml version='1.0'?><stream:stream to='example.org' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>"],
        ['s', "<?xml version='1.0'?><stream:stream from='example.org' id='abc' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>"],
        ['c', "<message to='bob@example.org' from='alice@example.org/home' type='chat'><body>a byte at a time</body></message>"],
      ],
    },
    aim: {
      protocol: 'aim', server: '198.51.100.10:443',
      segs: [...bosOpening(c, s, { me: 'CorpUser42' }), ['c', outgoingIm(c, 'outside friend', messageBlock(fragment(Buffer.from('split into single bytes'), 0)))]],
    },
    yahoo: {
      protocol: 'yahoo', server: '198.51.100.11:5050',
      segs: [['c', pdu(0x57, [[1, 'alice_y']])], ['c', pdu(0x06, [[1, 'alice_y'], [5, 'bob_y'], [14, 'one byte per packet']])]],
    },
  };
}

function play(sess: Session, bytewise: boolean): ShadowEvent[] {
  const events: ShadowEvent[] = [];
  const engine = new Engine(loadRegistry(), { emit: (e) => events.push(e) });
  const h = new FlowHarness({ engine, client: '10.0.0.5:50000', server: sess.server });
  for (const [dir, data] of sess.segs) {
    const b = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    if (!bytewise) h.send(dir, b);
    else for (let i = 0; i < b.length; i++) h.send(dir, b.subarray(i, i + 1));
  }
  h.end();
  assert.equal(engine.stats.decoderErrors, 0);
  return events;
}

const texts = (events: ShadowEvent[]) => events.filter((e) => e.type === 'message').map((e: any) => e.text);
const protocols = (events: ShadowEvent[]) => events.filter((e) => e.type === 'session').map((e: any) => e.protocol);

describe('engine: sessions written a byte per TCP segment', () => {
  for (const [name, sess] of Object.entries(sessions())) {
    it(`${name}: recognised and read as in whole segments`, () => {
      const whole = play(sess, false);
      assert.deepEqual(protocols(whole), [sess.protocol], 'the whole-segment control');
      assert.ok(texts(whole).length > 0, 'the control has a message');
      const tiny = play(sess, true);
      assert.deepEqual(protocols(tiny), [sess.protocol]);
      assert.deepEqual(texts(tiny), texts(whole));
    });
  }

  it('an ordinary protocol in tiny segments stays unreported (no IM guessed from the longer look)', () => {
    const smtp: Session = {
      protocol: '', server: '198.51.100.12:25',
      segs: [['s', '220 mail.example.com ESMTP\r\n'], ['c', 'EHLO client.example\r\n'], ['s', '250-mail.example.com\r\n250 8BITMIME\r\n'], ['c', 'MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n'], ['c', 'Subject: hi\r\n\r\nPRIVMSG #x :not irc\r\nMSG 1 N 10\r\n.\r\n']],
    };
    assert.deepEqual(play(smtp, true).filter((e) => e.type !== 'stats'), []);
  });
});

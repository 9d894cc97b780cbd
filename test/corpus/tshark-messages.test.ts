// Ground truth for the cleartext chat in the real captures: for every capture in ../shared/pcaps/im,
// the messages tshark (Wireshark's dissectors, the reference decoder) reads are the messages
// `shadowim analyze` reports — the same texts, each as often, and the same sender and recipient
// wherever tshark's decoding names them. tshark's fields are read from its PDML (`value` holds the
// exact bytes, so no escaping of tshark's own is undone here: test/helpers/tshark.ts).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { PCAPS_DIR, havePcaps, labels } from '../helpers/paths';
import { shadowim } from '../helpers/run';
import { haveTshark, tsharkRead } from '../helpers/tshark';

// Decode-as for captures whose IM runs on a port tshark gives to another dissector:
// OSCAR in cleartext on 443 (tshark tries TLS) and Twitch IRC on 80 (tshark tries HTTP).
const DECODE_AS: Record<string, string[]> = {
  'aim-puzzle1-filetransfer.pcap': ['tcp.port==443,aim'],
  'irc-twitch-port80-vlan.pcap': ['tcp.port==80,irc'],
};

const why = !havePcaps() ? `no shared captures at ${PCAPS_DIR} (set SHADOWIM_PCAPS)` : !haveTshark ? 'tshark is not installed' : '';

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
      const want = tsharkRead(file, DECODE_AS[name] ?? []);
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

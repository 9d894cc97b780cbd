// An IM-dense capture for measuring `analyze --store`: S cleartext IRC sessions, interleaved, each
// registering a nick and then sending M messages of a few words (one message per packet).
//   node bin/run-ts.js bench/storage-imcapture.ts OUT.pcap [--sessions 200] [--messages 200]
//   /usr/bin/time -f '%e s %U user %S sys' node bin/shadowim.js analyze OUT.pcap --format jsonl --store S.db > /dev/null
import fs from 'node:fs';
import { Capture, type TcpConversation } from '../test/helpers/pcapgen';

const arg = (n: string, d: number) => {
  const i = process.argv.indexOf(`--${n}`);
  return i > 0 ? Number(process.argv[i + 1]) : d;
};
const out = process.argv[2];
if (!out || out.startsWith('--')) throw new Error('usage: storage-imcapture.ts OUT.pcap [--sessions S] [--messages M]');
const S = arg('sessions', 200), M = arg('messages', 200);
const WORDS = 'the quarterly numbers are ready lunch at noon deploy tonight please review the draft before friday'.split(' ');

const c = new Capture();
c.step = 500; // 0.5 ms per packet
const flows: TcpConversation[] = [];
for (let s = 0; s < S; s++) {
  const t = c.tcp(`10.1.${s >> 8}.${s & 255}:${40000 + s}`, '198.51.100.7:6667');
  t.open();
  t.send('c', `NICK user${s}\r\nUSER user${s} 0 * :User ${s}\r\n`);
  t.send('s', `:irc.example.net 001 user${s} :Welcome\r\n`);
  flows.push(t);
}
for (let m = 0; m < M; m++) {
  for (let s = 0; s < S; s++) {
    const to = m % 3 === 0 ? '#ops' : `user${(s + 1 + m) % S}`;
    const text = Array.from({ length: 4 + ((s + m) % 6) }, (_, j) => WORDS[(s * 7 + m * 3 + j) % WORDS.length]).join(' ');
    flows[s].send('c', `PRIVMSG ${to} :${text}\r\n`);
  }
}
for (const t of flows) t.close();
fs.writeFileSync(out, c.pcap());
console.log(`${out}: ${c.frames.length.toLocaleString()} packets, ${S} IRC sessions, ${(S * M).toLocaleString()} messages`);

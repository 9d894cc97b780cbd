// What the alert-sink tests feed the real command line: IRC captures that raise unauthorized-IM alerts,
// and a sinks config with one webhook target and its outbox.
import fs from 'node:fs';
import path from 'node:path';
import { Capture } from './pcapgen';

/**
 * Writes a capture of `users` IRC clients (10.0.0.10+i:40000+i → 198.51.100.7:6667) to `file`: each
 * registers (NICK, USER, the server's 001), then says `say(i)` on #ops when `say` is given.
 */
export function ircUsersCapture(file: string, users: number, say?: (i: number) => string): void {
  const c = new Capture();
  for (let i = 0; i < users; i++) {
    const t = c.tcp(`10.0.0.${10 + i}:${40000 + i}`, '198.51.100.7:6667').open();
    t.send('c', `NICK user${i}\r\nUSER user${i} 0 * :User ${i}\r\n`);
    t.send('s', `:irc.example.net 001 user${i} :Welcome\r\n`);
    if (say) t.send('c', `PRIVMSG #ops :${say(i)}\r\n`);
    t.close();
  }
  fs.writeFileSync(file, c.pcap());
}

/**
 * Writes `dir/NAME.yaml`, a sinks config with one webhook target, soc, at http://127.0.0.1:PORT/hook
 * (followed by the lines `target`) and the outbox dir/NAME-outbox.db (followed by the lines `delivery`).
 */
export function webhookConfig(dir: string, name: string, port: number, target: string, delivery: string): string {
  const file = path.join(dir, `${name}.yaml`);
  fs.writeFileSync(file, `sinks:
  targets:
    - name: soc
      type: webhook
      url: http://127.0.0.1:${port}/hook
${target}  delivery:
    outbox: ${path.join(dir, `${name}-outbox.db`)}
${delivery}`);
  return file;
}

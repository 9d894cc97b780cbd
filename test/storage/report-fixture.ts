// A store for the report tests, written through the real store sink (as queries.test.ts fills one):
// known sessions, messages, file transfers and alerts on 2024-01-15, with hostile names from the wire.
import type { ShadowEvent } from '../../common/events';
import { fillStore } from '../helpers/store';

export const T0 = Date.UTC(2024, 0, 15, 9, 0);
export const SCRIPT_NAME = '<script>alert(1)</script>';
export const IMG_NAME = '"><img src=x onerror="window.__pwned=1">';
export const ONLOAD_HOST = "'><svg/onload=window.__pwned=2>";
/** right-to-left override + zero-width space: reads as "exe.txt" reversed */
export const RTL_NAME = 'bob\u202Etxt.exe\u200B';
export const LONG_NAME = 'L'.repeat(10 * 1024 - 2) + '<>';

const ep = (ip: string, port: number) => ({ ip, port });
const ts = (min: number) => new Date(T0 + min * 60_000).toISOString();

export function reportEvents(): ShadowEvent[] {
  const ev: ShadowEvent[] = [];
  const users = ['alice', SCRIPT_NAME, IMG_NAME, RTL_NAME, LONG_NAME];
  users.forEach((u, i) => {
    const client = ep(i === 2 ? ONLOAD_HOST : `10.0.0.${i + 1}`, 40000 + i);
    for (let k = 0; k <= i; k++) {
      const t = ts(i * 10 + k);
      ev.push({ type: 'session', ts: t, sensor: 's1', protocol: i % 2 ? 'xmpp' : 'irc', transport: 'tcp', client, server: ep('198.51.100.7', 6667), users: [u], start: t, end: t, packets: 3, bytes: 1000 * (i + 1), encrypted: false, evidence: [] } as ShadowEvent);
      ev.push({ type: 'message', ts: t, sensor: 's1', protocol: i % 2 ? 'xmpp' : 'irc', from: u, to: 'bob', text: 'card 4556 7375 8689 9855', direction: 'outbound', client, server: ep('198.51.100.7', 6667) } as ShadowEvent);
    }
  });
  ev.push({ type: 'file_transfer', ts: ts(3), sensor: 's1', protocol: 'irc', from: SCRIPT_NAME, to: 'bob', filename: '<img src=x onerror=alert(2)>.pdf', size: 10, client: ep('10.0.0.2', 40001), server: ep('198.51.100.7', 6667) } as ShadowEvent);
  ev.push({ type: 'alert', ts: ts(5), sensor: 's1', protocol: 'irc', id: 'u1', kind: 'unauthorized_im', severity: 'medium', summary: 'x', users: [SCRIPT_NAME], client: ep('10.0.0.2', 40001), count: 1 } as ShadowEvent);
  ev.push({ type: 'alert', ts: ts(6), sensor: 's1', protocol: 'xmpp', id: 'u2', kind: 'unauthorized_im', severity: 'medium', summary: 'x', users: [IMG_NAME], client: ep(ONLOAD_HOST, 40002), count: 1 } as ShadowEvent);
  ev.push({ type: 'alert', ts: ts(7), sensor: 's1', protocol: 'irc', id: 'd1', kind: 'dlp_card', severity: 'high', summary: 'card ****9855', users: [RTL_NAME], client: ep('10.0.0.4', 40003), count: 1 } as ShadowEvent);
  return ev;
}

/** writes reportEvents() into a new store at `file` and closes it */
export async function fillReportStore(file: string): Promise<ShadowEvent[]> {
  const evs = reportEvents();
  await fillStore(file, evs);
  return evs;
}

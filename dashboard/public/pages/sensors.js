// Sensors: packets, drops, flows, last seen.
import { api, el, fmtNum, fmtBytes, fmtTime, ago, errorBox, table } from '../lib.js';

export async function render(root) {
  root.append(el('h2', { text: 'Sensors' }));
  const box = el('div', { class: 'card' });
  root.append(box);
  try {
    const d = await api('/sensors');
    const rows = d.rows.map((s) => {
      // of everything seen (kept + dropped): every packet dropped is 100 %, not 0
      const seen = (s.packets || 0) + (s.dropped || 0);
      const dropPct = seen ? (100 * (s.dropped || 0)) / seen : 0;
      const stale = !s.last_seen || Date.now() - Date.parse(s.updated ?? s.last_seen) > 3600_000;
      return el('tr', { dataset: { sensor: s.name } },
        el('td', { text: s.name }),
        el('td', { class: stale ? 'warn' : 'ok', text: ago(s.updated ?? s.last_seen), title: `last traffic ${fmtTime(s.last_seen)}, last report ${fmtTime(s.updated)}` }),
        el('td', { class: 'num', text: fmtNum(s.packets) }),
        el('td', { class: 'num', text: fmtBytes(s.bytes) }),
        el('td', { class: 'num ' + (dropPct > 0.1 ? 'warn' : ''), text: `${fmtNum(s.dropped)} (${dropPct.toFixed(2)} %)` }),
        el('td', { class: 'num', text: fmtNum(s.malformed) }),
        el('td', { class: 'num', text: fmtNum(s.flows) }),
        el('td', { class: 'num', text: fmtNum(s.spool_dropped) }),
        el('td', { text: fmtTime(s.first_seen) }));
    });
    const t = table(['Sensor', 'Last report', { label: 'Packets', num: true }, { label: 'Bytes', num: true }, { label: 'Dropped', num: true }, { label: 'Malformed', num: true }, { label: 'Flows', num: true }, { label: 'Influx spool drops', num: true }, 'First seen'], rows);
    t.id = 'sensors-table';
    box.append(rows.length ? t : el('p', { class: 'muted', text: 'No sensor has written to this store yet.' }));
  } catch (e) {
    box.append(errorBox(e));
  }
}

// Delivery: the SIEM alert outbox, pending and dead-lettered per sink.
import { api, el, fmtNum, fmtTime, errorBox, can, table, kindLabel, visible } from '../lib.js';

export async function render(root) {
  const box = el('div', { class: 'card' });
  root.append(el('h2', { text: 'Alert delivery' }), box);
  async function load() {
    try {
      const d = await api('/delivery');
      if (!d.available) {
        box.replaceChildren(el('p', { class: 'muted', id: 'no-outbox', text: 'No alert outbox in this store: no SIEM sink (syslog, webhook, …) is configured for the sensors writing here.' }));
        return;
      }
      const sum = table(['Sink', 'State', { label: 'Alerts', num: true }, 'Oldest'], d.summary.map((s) => [s.sink, s.state, fmtNum(s.count), fmtTime(s.oldest)]));
      sum.id = 'delivery-summary';
      const rows = d.rows.filter((r) => r.state !== 'delivered');
      // the kind as a word, as on the alerts page, the stored kind its title (no kind: the queued alert had none)
      const alert = (r) => el('td', { class: 'alert' }, r.severity ? `${r.severity} ` : null,
        r.kind !== null && r.kind !== undefined ? [el('span', { class: 'kind', text: kindLabel(r.kind), title: visible(r.kind) }), ': '] : null, r.summary ?? r.alert_id);
      const list = table(['Sink', 'State', { label: 'Attempts', num: true }, 'Alert', 'Last error', 'Next try'], rows.map((r) => [r.sink, r.state, fmtNum(r.attempts), alert(r), r.last_error ?? '—', r.state === 'pending' ? fmtTime(r.next_at) : '—']));
      const parts = [el('h3', { text: 'Per sink' }), sum, el('h3', { text: 'Pending and dead-lettered' }), rows.length ? list : el('p', { class: 'ok', text: 'Nothing waiting: every alert was delivered.' })];
      if (can('admin') && rows.some((r) => r.state === 'dead')) {
        const msg = el('span', { class: 'muted' });
        parts.push(el('div', { class: 'toolbar' }, el('button', { type: 'button', class: 'primary', text: 'Retry dead-lettered', on: { click: async () => {
          try {
            const r = await api('/delivery/retry', { method: 'POST', body: {} });
            msg.textContent = `${r.retried} queued again`;
            load();
          } catch (e) {
            msg.textContent = e.message;
          }
        } } }), msg));
      }
      box.replaceChildren(...parts);
    } catch (e) {
      box.replaceChildren(errorBox(e));
    }
  }
  await load();
}

// Users and hosts: who uses which IM, top talkers.
import { api, el, qs, fmtNum, fmtBytes, fmtTime, RANGES, select, errorBox, routeParams, setRouteParams, table, can } from '../lib.js';

export async function render(root) {
  const p = routeParams();
  const f = { range: p.range || '7d', protocol: p.protocol || '', sort: p.sort || 'bytes' };
  const users = el('div', { class: 'card', id: 'users-card' });
  const hosts = el('div', { class: 'card', id: 'hosts-card' });
  const proto = el('input', { id: 'f-protocol', name: 'protocol', placeholder: 'protocol', value: f.protocol, size: 12 });
  proto.addEventListener('change', () => ((f.protocol = proto.value.trim().toLowerCase()), load()));
  root.append(
    el('div', { class: 'toolbar' }, el('h2', { text: 'Users & hosts' }),
      select('range', RANGES, f.range, (v) => ((f.range = v), load())),
      select('sort', [['bytes', 'by bytes'], ['sessions', 'by sessions'], ['messages', 'by messages'], ['alerts', 'by alerts'], ['name', 'by name']], f.sort, (v) => ((f.sort = v), load())),
      proto),
    el('div', { class: 'grid' }, users, hosts),
  );
  const head = (first) => [first, 'Protocol', { label: 'Sessions', num: true }, { label: 'Messages', num: true }, { label: 'Bytes', num: true }, { label: 'Alerts', num: true }, 'Last seen'];
  // the row's alerts: the Alerts column counts the distinct alerts of this name, protocol and range
  // (queries.ts withAlertCounts), and the list opens with the same filters (acked= : open and acknowledged)
  const alertsHref = (kind, r) => `#/alerts${qs({ [kind]: r.name, protocol: r.protocol, range: f.range })}&acked=`;
  const link = (kind, r) => el('td', {}, el('a', { href: alertsHref(kind, r), text: r.name, title: `alerts of this ${kind} and protocol in the range` }),
    kind === 'user' && can('analyst') ? el('a', { class: 'muted', href: `#/conversations?user=${encodeURIComponent(r.name)}&range=all`, text: ' ✉', title: 'messages' }) : null);
  // daily rollups know the day, not the time: show what is known
  const seen = (r) => (r.seen_to === 'day' ? r.last_seen.slice(0, 10) : fmtTime(r.last_seen));
  const row = (kind) => (r) => [link(kind, r), r.protocol, fmtNum(r.sessions), fmtNum(r.messages), fmtBytes(r.bytes), fmtNum(r.alerts), seen(r)];
  let seq = 0;
  async function load() {
    setRouteParams('people', f);
    const q = qs({ range: f.range, protocol: f.protocol, sort: f.sort, limit: 100 });
    const mine = ++seq;
    try {
      const [u, h] = await Promise.all([api('/users' + q), api('/hosts' + q)]);
      if (mine !== seq) return; // a newer load is under way: these answers are stale
      users.replaceChildren(el('h3', { text: 'Who uses which IM (identities seen on the wire)' }), Object.assign(table(head('User'), u.rows.map(row('user'))), { id: 'users-table' }));
      hosts.replaceChildren(el('h3', { text: 'Top talkers (client hosts)' }), Object.assign(table(head('Host'), h.rows.map(row('host'))), { id: 'hosts-table' }));
    } catch (e) {
      if (mine === seq) users.replaceChildren(errorBox(e));
    }
  }
  await load();
}

// Conversations: the message archive. Text is for analysts and admins; a viewer is told so (the API
// answers 403).
import { el, qs, fmtTime, RANGES, select, routeParams, setRouteParams, can, table, pageOffset, pagedFetch, pager } from '../lib.js';

const PAGE = 100;

export async function render(root) {
  root.append(el('h2', { text: 'Conversations' }));
  if (!can('analyst')) {
    root.append(el('p', { class: 'card muted', id: 'no-text-role', text: 'Your role (viewer) may not read message text. Ask an administrator for the analyst role; session metadata is on the Alerts and Users & hosts pages.' }));
    return;
  }
  const p = routeParams();
  const f = { text: p.text || '', user: p.user || '', protocol: p.protocol || '', range: p.range || '7d', flow: p.flow || '', offset: pageOffset(p.offset, PAGE) };
  const text = el('input', { type: 'search', id: 'f-text', name: 'text', placeholder: 'words in the message', value: f.text, size: 28 });
  const user = el('input', { id: 'f-user', name: 'user', placeholder: 'sender or recipient', value: f.user, size: 18 });
  const proto = el('input', { id: 'f-protocol', name: 'protocol', placeholder: 'protocol', value: f.protocol, size: 10 });
  const out = el('div', { class: 'card', id: 'messages' });
  // a flow filter (from an alert's "Open this conversation") has no form field: said here, with a way out
  const flowBox = el('div', { id: 'flow-filter-box' });
  const csvLink = el('a', { id: 'messages-csv', text: 'CSV', href: '/api/messages.csv' });
  const form = el('form', { class: 'toolbar', id: 'search-form' }, text, user, proto, select('range', RANGES, f.range, (v) => (f.range = v)), el('button', { type: 'submit', class: 'primary', text: 'Search' }), csvLink);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    Object.assign(f, { flow: '', text: text.value.trim(), user: user.value.trim(), protocol: proto.value.trim().toLowerCase(), offset: 0 });
    load();
  });
  root.append(form, flowBox, out);
  const fetchPage = pagedFetch(out, PAGE, load);
  async function load() {
    const params = { text: f.text, user: f.user, protocol: f.protocol, range: f.range, flow: f.flow, limit: PAGE, offset: f.offset, order: f.flow ? 'asc' : undefined };
    // the page is in the URL too: a reload or a shared link opens the same page
    setRouteParams('conversations', { text: f.text, user: f.user, protocol: f.protocol, range: f.range, flow: f.flow, offset: f.offset || undefined });
    csvLink.href = '/api/messages.csv' + qs({ ...params, limit: undefined, offset: undefined });
    flowBox.replaceChildren(...(f.flow ? [el('div', { class: 'filter-notice', id: 'flow-filter', role: 'status' },
      el('strong', { text: 'One conversation only' }),
      el('span', { class: 'muted' }, 'flow ', el('code', { class: 'flow-id', text: f.flow }), ', oldest first'),
      el('button', { type: 'button', id: 'flow-clear', title: 'remove this filter', text: 'Show all conversations ×', on: { click: () => ((f.flow = ''), (f.offset = 0), load()) } }))] : []));
    const d = await fetchPage('/messages' + qs(params), f);
    if (!d) return;
    const t = table(['Time', 'Protocol', 'From', 'To', 'Dir', 'Text'], d.rows.map((m) => el('tr', { dataset: { id: m.id } }, el('td', { text: fmtTime(m.ts) }), el('td', { text: m.zone ? `${m.protocol} (${m.zone})` : m.protocol }), el('td', { class: 'from', text: m.from ?? '—' }), el('td', { class: 'to', text: m.to ?? '—' }), el('td', { text: m.direction ?? '' }), el('td', { class: 'msg-text', text: m.text ?? '(text not archived)' }))));
    t.id = 'messages-table';
    out.replaceChildren(t, pager('messages-total', 'message', f.offset, PAGE, d.rows.length, d.total, (o) => ((f.offset = o), load())));
  }
  await load();
}

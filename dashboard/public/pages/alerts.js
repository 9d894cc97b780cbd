// Alerts: filter, sort, page; detail with the session, its evidence and messages; acknowledge with a note;
// the flow's packets as a pcap.
import { api, el, qs, fmtNum, fmtTime, ep, sevBadge, select, errorBox, routeParams, setRouteParams, can, table, KIND_LABELS, kindLabel, visible, RANGES, pageOffset, pagedFetch, pager } from '../lib.js';

const KINDS = [['', 'any kind'], ...Object.entries(KIND_LABELS)];
const SEVS = [['', 'any severity'], ['critical', 'critical'], ['high', 'high'], ['medium', 'medium'], ['low', 'low'], ['critical,high', 'high and above']];
const ACKED = [['', 'open and acknowledged'], ['false', 'open'], ['true', 'acknowledged']];
const SORTS = [['last_seen', 'last seen'], ['first_seen', 'first seen'], ['severity', 'severity'], ['count', 'count'], ['kind', 'kind'], ['protocol', 'protocol']];
const PAGE = 50;
// a time as date and time, each unbroken (Chromium would break a date after its '-'), with a space between
const when = (iso) => fmtTime(iso).split(' ').flatMap((s, i) => [i ? ' ' : null, el('span', { class: 'nowrap', text: s })]);

export async function render(root, [alertId]) {
  const p = routeParams();
  // no range: all time, as before ranges (and as links without one mean); a range not in the chooser
  // (a hand-edited '2d') is still what the list shows, so the chooser shows it too
  const f = { kind: p.kind || '', severity: p.severity || '', protocol: p.protocol || '', acked: p.acked ?? 'false', range: p.range || 'all', sort: p.sort || 'last_seen', order: p.order || 'desc', q: p.q || '', user: p.user || '', host: p.host || '', offset: pageOffset(p.offset, PAGE) };
  const ranges = RANGES.some(([v]) => v === f.range) ? RANGES : [...RANGES, [f.range, f.range]];
  const list = el('div', { id: 'alert-list' });
  const detail = el('div', { id: 'alert-detail', class: 'card' }, el('p', { class: 'muted', text: 'Choose an alert to see its session, evidence and messages.' }));
  const q = el('input', { type: 'search', name: 'q', id: 'f-q', placeholder: 'words in the summary', value: f.q });
  const proto = el('input', { name: 'protocol', id: 'f-protocol', placeholder: 'protocol (e.g. irc)', value: f.protocol, size: 14 });
  const csvLink = el('a', { id: 'alerts-csv', text: 'CSV', href: '/api/alerts.csv', download: 'shadowim-alerts.csv' });
  // A text box's change event comes when it loses focus, which may be the mousedown on a row: a load
  // then would redraw the list between mousedown and mouseup and the click would be lost. So a box's
  // change loads only when the list does not already show what the boxes say (another control's load
  // reads them too); the Filter button always does.
  const apply = (always) => {
    const nq = q.value.trim(), np = proto.value.trim().toLowerCase();
    if (always !== true && nq === f.q && np === f.protocol) return;
    f.q = nq;
    f.protocol = np;
    f.offset = 0;
    load();
  };
  q.addEventListener('change', () => apply(false));
  proto.addEventListener('change', () => apply(false));
  root.append(
    el('div', { class: 'toolbar' },
      el('h2', { text: 'Alerts' }),
      select('kind', KINDS, f.kind, (v) => ((f.kind = v), (f.offset = 0), load())),
      select('severity', SEVS, f.severity, (v) => ((f.severity = v), (f.offset = 0), load())),
      proto,
      select('acked', ACKED, f.acked, (v) => ((f.acked = v), (f.offset = 0), load())),
      select('range', ranges, f.range, (v) => ((f.range = v), (f.offset = 0), load())),
      select('sort', SORTS, f.sort, (v) => ((f.sort = v), load())),
      select('order', [['desc', 'descending'], ['asc', 'ascending']], f.order, (v) => ((f.order = v), load())),
      q, el('button', { type: 'button', id: 'f-apply', text: 'Filter', on: { click: () => apply(true) } }), csvLink,
      ...[['user', 'user'], ['host', 'host']].filter(([k]) => f[k]).map(([k, label]) => el('button', { type: 'button', class: 'tag', id: `chip-${k}`, title: 'remove this filter', text: `${label}: ${f[k]} ×`, on: { click: (e) => ((f[k] = ''), e.currentTarget.remove(), (f.offset = 0), load()) } }))),
    el('div', { class: 'split' }, el('div', { class: 'card' }, list), detail),
  );

  const fetchPage = pagedFetch(list, PAGE, load);
  async function load() {
    // the text boxes count as typed, whichever control started the load
    f.q = q.value.trim();
    f.protocol = proto.value.trim().toLowerCase();
    // alerts active in the range (what the users and hosts pages count); all time: no range at all
    const range = f.range === 'all' ? undefined : f.range;
    const params = { kind: f.kind, severity: f.severity, protocol: f.protocol, acked: f.acked, range, sort: f.sort, order: f.order, q: f.q, user: f.user, host: f.host, limit: PAGE, offset: f.offset };
    setRouteParams('alerts', { ...params, limit: undefined, offset: f.offset || undefined });
    csvLink.href = '/api/alerts.csv' + qs({ ...params, limit: undefined, offset: undefined });
    const d = await fetchPage('/alerts' + qs(params), f);
    if (!d) return;
    const rows = d.rows.map((a) => {
      const tr = el('tr', { class: 'clickable', dataset: { id: a.id, kind: a.kind, severity: a.severity }, tabIndex: 0 },
        el('td', {}, sevBadge(a.severity)),
        el('td', { class: 'kind', text: kindLabel(a.kind), title: visible(a.kind) }),
        el('td', { class: 'proto', text: a.protocol ?? '—' }),
        el('td', { class: 'summary', text: a.summary }),
        el('td', { class: 'num', text: fmtNum(a.count) }),
        // date and time may go on two lines, but neither is broken
        el('td', { class: 'time' }, when(a.last_seen)),
        el('td', { class: 'ack', text: a.acked ? '✓' : '' }));
      const open = () => {
        for (const r of list.querySelectorAll('tr.selected')) r.classList.remove('selected');
        tr.classList.add('selected');
        // on a narrow screen the detail sits below the list: bring it into view (no-op when it is visible)
        showDetail(a.id).then(() => detail.scrollIntoView({ block: 'nearest' }));
      };
      tr.addEventListener('click', open);
      tr.addEventListener('keydown', (e) => e.key === 'Enter' && open());
      return tr;
    });
    const t = table(['Severity', 'Kind', 'Protocol', 'Summary', { label: 'Count', num: true }, 'Last seen', 'Ack'], rows);
    t.id = 'alerts-table';
    list.replaceChildren(t, pager('alerts-total', 'alert', f.offset, PAGE, d.rows.length, d.total, (o) => ((f.offset = o), load())));
  }

  /** `done`: what the last action did, shown again after the detail is drawn anew */
  async function showDetail(id, done = '') {
    detail.replaceChildren(el('p', { class: 'muted', text: 'Loading…' }));
    let d;
    try {
      d = await api('/alerts/' + encodeURIComponent(id));
    } catch (e) {
      detail.replaceChildren(errorBox(e));
      return;
    }
    const a = d.alert;
    const kv = el('dl', { class: 'kv' });
    const add = (k, v) => kv.append(el('dt', { text: k }), el('dd', {}, v instanceof Node ? v : String(v ?? '—')));
    add('Severity', sevBadge(a.severity));
    add('Kind', kindLabel(a.kind) === a.kind ? a.kind : el('span', {}, kindLabel(a.kind), ' ', el('code', { class: 'muted', text: a.kind })));
    add('Protocol', a.protocol);
    add('Users', a.users.join(', ') || '—');
    if (a.person) add('Person', a.person);
    add('Client', ep(a.client));
    add('Server', ep(a.server));
    // two tenants mirrored in different tunnels may share the addresses above
    if (a.zone) add('Tunnel zone', a.zone);
    if (a.detector) add('Detector', a.detector);
    if (a.match) add('Match (redacted)', a.match);
    add('Occurrences', fmtNum(a.count));
    add('First / last seen', el('span', {}, when(a.first_seen), ' / ', when(a.last_seen)));
    add('Sensor', a.sensor);
    add('Acknowledged', a.acked ? el('span', {}, `by ${a.acked_by} at `, when(a.acked_at), a.ack_note ? ' — ' + a.ack_note : null) : 'no');
    const parts = [el('h3', { text: 'Alert' }), el('p', { class: 'summary', id: 'detail-summary', text: a.summary }), kv];
    if (can('analyst')) {
      const note = el('input', { id: 'ack-note', placeholder: 'note (optional)', maxLength: 4096, size: 28 });
      const msg = el('span', { class: 'muted', id: 'ack-msg', text: done });
      const btn = el('button', { type: 'button', class: 'primary', id: a.acked ? 'unack-btn' : 'ack-btn', text: a.acked ? 'Reopen' : 'Acknowledge' });
      btn.addEventListener('click', async () => {
        try {
          await api(`/alerts/${encodeURIComponent(a.id)}/${a.acked ? 'unack' : 'ack'}`, { method: 'POST', body: { note: note.value } });
          await load();
          // the detail is drawn anew: the confirmation goes with it (was set on the old one and lost)
          await showDetail(a.id, a.acked ? 'reopened' : 'acknowledged');
        } catch (e) {
          msg.textContent = e.message;
        }
      });
      parts.push(el('div', { class: 'toolbar', style: undefined }, a.acked ? null : note, btn, msg));
    }
    if (d.sessions.length) {
      parts.push(el('h3', { text: 'Session' }));
      for (const s of d.sessions) {
        const row = el('div', { class: 'session' },
          el('div', { text: `${s.protocol} ${s.transport ?? ''} ${ep(s.client)} → ${ep(s.server)}${s.zone ? ' in ' + s.zone : ''}${s.server_name ? ' (' + s.server_name + ')' : ''}` }),
          el('div', { class: 'muted', text: `${fmtTime(s.start)} – ${fmtTime(s.end)}, ${fmtNum(s.packets)} packets, ${fmtNum(s.bytes)} bytes${s.encrypted ? ', encrypted' : ''}; users: ${s.users.join(', ') || '—'}` }));
        if (can('analyst')) {
          row.append(s.pcap
            ? el('a', { class: 'pcap', id: 'pcap-link', href: `/api/sessions/${s.id}/pcap`, download: `session-${s.id}.pcap`, text: 'Download the packets (pcap)' })
            : el('div', { class: 'muted', text: 'Packets: not kept for this session (live capture, or its capture file is gone).' }));
        }
        parts.push(row);
      }
    } else parts.push(el('p', { class: 'muted', text: 'No stored session for this alert.' }));
    if (d.evidence.length) parts.push(el('h3', { text: 'Evidence' }), el('ul', {}, d.evidence.map((e) => el('li', { text: `${e.signature}: ${e.reason}` }))));
    if (d.messages.length) {
      parts.push(el('h3', { text: `Messages in this flow (${d.messages.length})` }));
      if (d.messages[0].text_hidden) parts.push(el('p', { class: 'muted', id: 'text-hidden', text: 'Message text is hidden for your role (viewer).' }));
      if (can('analyst') && a.flow_id) parts.push(el('p', {}, el('a', { href: `#/conversations?flow=${encodeURIComponent(a.flow_id)}&range=all`, text: 'Open this conversation in the archive' })));
      parts.push(table(['Time', 'From', 'To', 'Text'], d.messages.map((m) => [fmtTime(m.ts), m.from ?? '—', m.to ?? '—', el('td', { class: 'msg-text', text: m.text_hidden ? '(hidden)' : m.text ?? '(not archived)' })]), { class: 'alert-messages' }));
    }
    if (d.files.length) parts.push(el('h3', { text: 'Files' }), table(['Name', 'Size', 'Verdict'], d.files.map((x) => [x.filename ?? '—', fmtNum(x.size), x.verdict ?? '—'])));
    detail.replaceChildren(...parts);
  }

  await load();
  if (alertId) showDetail(alertId);
}

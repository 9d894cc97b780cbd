// Shared helpers. Everything from the store (screen names, message text, file and host names) is
// attacker-controlled: it only ever reaches the page through textContent / element properties.

export const state = { user: null, role: null, csrf: null, demo: false };

const RANK = { viewer: 1, analyst: 2, admin: 3 };
export const can = (role) => !!state.role && RANK[state.role] >= RANK[role];

// Bidi controls and invisible characters from the wire would make 'invoice\u202Efdp.exe' read as
// 'invoiceexe.pdf' and 'adm\u200Bin' as 'admin': shown as visible ⟨U+XXXX⟩ marks instead.
// (ZWJ/ZWNJ stay: scripts and emoji need them.)
const INVISIBLE = /[\u061c\u115f\u1160\u180e\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\u3164\ufeff\uffa0]/g;
export const visible = (s) => String(s).replace(INVISIBLE, (c) => `⟨U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}⟩`);

/** el('td', { class: 'num', text: 5 }, child, …) — text is set with textContent, never parsed as HTML */
export function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'text') e.textContent = visible(v);
    else if (k === 'class') e.className = v;
    else if (k === 'on') for (const [ev, fn] of Object.entries(v)) e.addEventListener(ev, fn);
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else if (k === 'href') e.href = safeHref(v);
    else if (k in e && typeof v !== 'string') e[k] = v;
    else e.setAttribute(k, String(v));
  }
  for (const c of children.flat()) if (c !== undefined && c !== null && c !== false) e.append(c instanceof Node ? c : document.createTextNode(visible(c)));
  return e;
}

/** only our own relative URLs become links */
function safeHref(v) {
  const s = String(v);
  return s.startsWith('/') && !s.startsWith('//') ? s : s.startsWith('#') ? s : '#';
}

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export async function api(path, opts = {}) {
  const init = { method: opts.method || 'GET', headers: { Accept: 'application/json' }, credentials: 'same-origin' };
  if (opts.body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(opts.body);
  }
  if (init.method !== 'GET' && state.csrf) init.headers['X-CSRF-Token'] = state.csrf;
  if (opts.csrf) init.headers['X-CSRF-Token'] = opts.csrf;
  const r = await fetch('/api' + path, init);
  let data = null;
  try {
    data = await r.json();
  } catch {
    data = null;
  }
  if (!r.ok) {
    if (r.status === 401 && !opts.quiet401) window.dispatchEvent(new CustomEvent('shadowim:logout'));
    throw Object.assign(new ApiError(r.status, (data && data.error) || `HTTP ${r.status}`), { data });
  }
  return data;
}

export function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') u.set(k, String(v));
  const s = u.toString();
  return s ? '?' + s : '';
}

export const fmtNum = (n) => (n === null || n === undefined ? '—' : Number(n).toLocaleString('en-US'));
export function fmtBytes(n) {
  if (n === null || n === undefined) return '—';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0, v = Number(n);
  while (v >= 1024 && i < u.length - 1) (v /= 1024), i++;
  return `${v.toFixed(i ? 1 : 0)} ${u[i]}`;
}
export function fmtTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return d.toISOString().replace('T', ' ').slice(0, 19) + 'Z';
}
export function ago(iso) {
  if (!iso) return 'never';
  const s = Math.round((Date.now() - Date.parse(iso)) / 1000);
  if (s < 90) return `${s} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 129600) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} days ago`;
}
export const ep = (e) => (e ? `${e.ip}${e.port !== null && e.port !== undefined ? ':' + e.port : ''}` : '—');

// Alert kinds as the analyzer names them (analyzer/policy.ts ALERT_KINDS, shared/contract/events.md) and
// as the console shows them. One table, for every page that shows a kind.
export const KIND_LABELS = Object.freeze({
  unauthorized_im: 'Unauthorized IM',
  sensitive_data: 'Sensitive data',
  file_transfer: 'File transfer',
  cleartext_credentials: 'Cleartext credentials',
  policy_violation: 'Policy violation',
  malicious_link: 'Malicious link',
});
/** a kind's label; a kind this table does not know (a newer analyzer, a hostile store) as it is */
export const kindLabel = (kind) => (Object.hasOwn(KIND_LABELS, kind) ? KIND_LABELS[kind] : String(kind ?? '—'));

export const sevBadge = (s) => el('span', { class: `sev sev-${['critical', 'high', 'medium', 'low'].includes(s) ? s : 'low'}`, text: s });

export function table(headers, rows, opts = {}) {
  const t = el('table', { class: opts.class });
  if (opts.caption) t.append(el('caption', { class: 'muted', text: opts.caption }));
  t.append(el('thead', {}, el('tr', {}, headers.map((h) => el('th', { class: h.num ? 'num' : undefined, text: h.label ?? h })))));
  const tb = el('tbody');
  for (const r of rows) tb.append(r instanceof Node ? r : el('tr', {}, r.map((c, i) => (c instanceof Node && c.tagName === 'TD' ? c : el('td', { class: headers[i]?.num ? 'num' : undefined }, c instanceof Node ? c : String(c ?? '—'))))));
  t.append(tb);
  return t;
}

export function select(name, options, value, onChange) {
  const s = el('select', { name, id: `f-${name}`, 'aria-label': name });
  for (const o of options) {
    const [v, label] = Array.isArray(o) ? o : [o, o];
    s.append(el('option', { value: v, text: label, selected: v === value }));
  }
  if (onChange) s.addEventListener('change', () => onChange(s.value));
  return s;
}

// 'all': a store made from old captures (forensic review) holds nothing in the last days
export const RANGES = [['24h', 'Last 24 hours'], ['7d', 'Last 7 days'], ['30d', 'Last 30 days'], ['1h', 'Last hour'], ['all', 'All time']];

export const PALETTE = ['#4fb3ff', '#ff9f43', '#7bd88f', '#f25f8a', '#b48cff', '#f7d154', '#45d6c8', '#ff6b6b', '#9aa9ff', '#c3e88d', '#ffb86c', '#8be9fd', '#e06c75', '#a0a0a0'];
const colorMap = new Map();
export function colorFor(key) {
  if (!colorMap.has(key)) colorMap.set(key, PALETTE[colorMap.size % PALETTE.length]);
  return colorMap.get(key);
}

export function errorBox(e) {
  return el('p', { class: 'error', role: 'alert', text: e instanceof ApiError ? `${e.message}` : `Error: ${e && e.message ? e.message : e}` });
}

/** hash route params: #/alerts?kind=x → { kind: 'x' } */
export function routeParams() {
  const h = location.hash.slice(1);
  const i = h.indexOf('?');
  return Object.fromEntries(new URLSearchParams(i >= 0 ? h.slice(i + 1) : ''));
}
export function setRouteParams(page, params) {
  const q = qs(params);
  history.replaceState(null, '', `#/${page}${q}`);
}

/** a page's offset from the URL: a whole multiple of `page` (at most 1e9, the server's cap); anything
 *  but digits (negative, '1e3', text) is 0. An offset past the end is the caller's to clamp. */
export function pageOffset(v, page) {
  const s = String(v ?? '');
  return /^\d+$/.test(s) ? Math.floor(Math.min(Number(s), 1e9) / page) * page : 0;
}
/** the offset of the last page of `total` rows (0 when there are none) */
export const lastPage = (total, page) => (total > 0 ? Math.floor((total - 1) / page) * page : 0);
/** where a page is: '101–200 of 1,234 messages', '1 message', '0 messages' */
export function position(offset, shown, total, noun) {
  const of = `${fmtNum(total)} ${noun}${total === 1 ? '' : 's'}`;
  return total > 1 && shown > 0 ? `${fmtNum(offset + 1)}–${fmtNum(offset + shown)} of ${of}` : of;
}
/**
 * A paged list's fetch: get(path, f) answers the page at f.offset, or null when there is nothing to
 * draw: a newer get has started (this answer is stale), the request failed (the error is shown in
 * `box`), or f.offset was past the end (an old link, a hand-edited URL): f.offset becomes the last
 * page and reload() shows it instead of an empty one.
 */
export function pagedFetch(box, page, reload) {
  let seq = 0;
  return async (path, f) => {
    const mine = ++seq;
    let d;
    try {
      d = await api(path);
      if (mine !== seq) return null; // a newer request is under way: this answer is stale
    } catch (e) {
      box.replaceChildren(errorBox(e));
      return null;
    }
    if (f.offset > 0 && f.offset >= d.total) {
      f.offset = lastPage(d.total, page);
      await reload();
      return null;
    }
    return d;
  };
}
/** A list's pager: where it is (position) and the newer/older buttons; go(offset) loads that page */
export function pager(id, noun, offset, page, shown, total, go) {
  return el('div', { class: 'pager' },
    el('span', { class: 'muted', id, text: position(offset, shown, total, noun) }),
    el('button', { type: 'button', text: '‹ newer', disabled: offset === 0, on: { click: () => go(Math.max(0, offset - page)) } }),
    el('button', { type: 'button', text: 'older ›', disabled: offset + page >= total, on: { click: () => go(offset + page) } }));
}

// The usage report (storage/queries report()) as text, CSV or one self-contained HTML page; the CLI
// and the dashboard both render through here, so the same period gives the same document.
// Every name in a report came from the wire: in HTML it only ever passes through escapeHtml().

import crypto from 'node:crypto';
import { unauthorizedAlertCount, type Report } from './queries';
import { csvRow } from './csv';
import { escapeControl } from '../cli/pipeline';

export const REPORT_FORMATS = ['text', 'json', 'csv', 'html'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export const REPORT_MIME: Record<ReportFormat, string> = {
  text: 'text/plain; charset=utf-8',
  json: 'application/json; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
  html: 'text/html; charset=utf-8',
};
const EXT: Record<ReportFormat, string> = { text: 'txt', json: 'json', csv: 'csv', html: 'html' };

export function formatReport(r: Report, format: ReportFormat, meta: { sensor?: string } = {}): string {
  if (format === 'json') return JSON.stringify(r, null, 2) + '\n';
  if (format === 'csv') return toCsv(r);
  if (format === 'html') return toHtml(r, meta);
  return toText(r);
}

/**
 * shadowim-report-2024-01-08T093000Z_2024-01-15T093000Z.html, and with the sensor of a one-sensor report
 * shadowim-report-hq-core-2024-….html (two sensors' reports of one period in one directory must not
 * replace each other): UTC, [0-9A-Za-z._-] only, so a sensor name cannot reach another directory or a header.
 */
export function reportFileName(r: Report, format: ReportFormat, sensor?: string): string {
  const stamp = (iso: string) => iso.replace(/\.\d+Z$/, 'Z').replace(/:/g, '').replace(/[^0-9A-Za-z-]/g, '');
  const who = sensor ? `${sensor.replace(/[^0-9A-Za-z._-]/g, '_').slice(0, 64)}-` : '';
  return `shadowim-report-${who}${stamp(r.from)}_${stamp(r.to)}.${EXT[format]}`;
}

/** The one HTML escape: text content and quoted attribute values alike. */
export function escapeHtml(v: unknown): string {
  return String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

// ---- text and CSV (as the report command has always printed them) -----------------------------------

function toCsv(r: Report): string {
  // one table: section + generic columns, so a spreadsheet can filter by section
  let s = csvRow(['section', 'name', 'protocol', 'severity', 'sessions', 'users', 'hosts', 'messages', 'files', 'bytes', 'alerts', 'occurrences', 'open']);
  for (const p of r.protocols) s += csvRow(['protocol', p.protocol, p.protocol, '', p.sessions, p.users, p.hosts, p.messages, p.files, p.bytes, '', '', '']);
  for (const u of r.top_users) s += csvRow(['top_user', u.user, u.protocols, '', u.sessions, '', '', u.messages, '', u.bytes, '', '', '']);
  for (const h of r.top_hosts) s += csvRow(['top_host', h.host, h.protocols, '', h.sessions, h.users, '', '', '', h.bytes, '', '', '']);
  for (const a of r.alerts_by_kind) s += csvRow(['alert_kind', a.kind, '', a.severity, '', '', '', '', '', '', a.alerts, a.occurrences, a.open]);
  for (const [sev, a] of Object.entries(r.alerts_by_severity)) s += csvRow(['alert_severity', sev, '', sev, '', '', '', '', '', '', a.alerts, a.occurrences, a.open]);
  for (const u of r.unauthorized) s += csvRow(['unauthorized', u.protocol, u.protocol, '', '', u.users, u.hosts, '', '', '', u.alerts, u.occurrences, '']);
  return s;
}

function table(head: string[], rows: unknown[][]): string {
  const cells = [head, ...rows.map((r) => r.map((c) => escapeControl(String(c ?? ''))))];
  const w = head.map((_, i) => Math.min(40, Math.max(...cells.map((r) => String(r[i]).length))));
  return cells.map((r) => r.map((c, i) => String(c).slice(0, 40).padEnd(w[i])).join('  ').trimEnd()).join('\n') + '\n';
}

/** The sections every format shows, in order: title, columns, rows (numbers stay numbers). */
function sections(r: Report): Array<{ id: string; title: string; head: string[]; rows: unknown[][]; numFrom: number; always?: boolean }> {
  return [
    { id: 'protocols', title: 'Usage by protocol', head: ['protocol', 'sessions', 'users', 'hosts', 'messages', 'files', 'bytes'], numFrom: 1, rows: r.protocols.map((p) => [p.protocol, p.sessions, p.users, p.hosts, p.messages, p.files, p.bytes]) },
    { id: 'top-users', title: 'Top users', head: ['user', 'protocols', 'sessions', 'messages', 'bytes'], numFrom: 2, rows: r.top_users.map((u) => [u.user, u.protocols, u.sessions, u.messages, u.bytes]) },
    { id: 'top-hosts', title: 'Top hosts', head: ['host', 'protocols', 'sessions', 'users', 'bytes'], numFrom: 2, rows: r.top_hosts.map((h) => [h.host, h.protocols, h.sessions, h.users, h.bytes]) },
    { id: 'alerts-severity', title: 'Alerts by severity', head: ['severity', 'alerts', 'occurrences', 'open'], numFrom: 1, always: true, rows: Object.entries(r.alerts_by_severity).map(([s, a]) => [s, a.alerts, a.occurrences, a.open]) },
    { id: 'alerts-kind', title: 'Alerts by kind', head: ['kind', 'severity', 'alerts', 'occurrences', 'open'], numFrom: 2, rows: r.alerts_by_kind.map((a) => [a.kind, a.severity, a.alerts, a.occurrences, a.open]) },
    { id: 'unauthorized', title: 'Unauthorized IM use', head: ['protocol', 'alerts', 'occurrences', 'users', 'hosts'], numFrom: 1, rows: r.unauthorized.map((u) => [u.protocol, u.alerts, u.occurrences, u.users, u.hosts]) },
  ];
}

function toText(r: Report): string {
  const parts = [`shadowim report ${r.from} .. ${r.to}\n`];
  for (const s of sections(r)) parts.push(`\n${s.title}\n` + (s.rows.length || s.always ? table(s.head, s.rows) : '(none)\n'));
  return parts.join('');
}

// ---- HTML ----------------------------------------------------------------------------------------------

const CSS = `
@page { size: A4; margin: 14mm 12mm; }
* { box-sizing: border-box; }
body { font: 10.5pt/1.4 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; color: #14191f; background: #fff; margin: 2em auto; max-width: 60em; padding: 0 1em; }
h1 { font-size: 1.5em; margin: 0 0 .2em; }
h2 { font-size: 1.15em; margin: 1.6em 0 .4em; border-bottom: 2px solid #2b4a6b; padding-bottom: .15em; color: #2b4a6b; }
.period { color: #4a5561; margin: 0 0 1em; }
.tiles { display: flex; flex-wrap: wrap; gap: .6em; margin: 1em 0; }
.tile { border: 1px solid #c9d2dc; border-radius: 4px; padding: .4em .8em; min-width: 8.5em; }
.tile .v { font-size: 1.4em; font-weight: 600; }
.tile .k { color: #4a5561; font-size: .85em; }
table { border-collapse: collapse; width: 100%; table-layout: auto; }
th, td { text-align: left; padding: .25em .5em; border-bottom: 1px solid #dde3ea; vertical-align: top; overflow-wrap: anywhere; }
th { background: #eef2f6; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.none { color: #6b7682; font-style: italic; }
.ctl { color: #a1261b; font-family: ui-monospace, monospace; font-size: .9em; }
.cut { color: #6b7682; font-size: .85em; }
footer { margin-top: 2em; color: #6b7682; font-size: .85em; }
thead { display: table-header-group; }
tr { break-inside: avoid; }
h2 { break-after: avoid; }
@media print { body { margin: 0; max-width: none; padding: 0; } .tile { break-inside: avoid; } }
`;

/** The page's own Content-Security-Policy: no script, no fetch of anything, only this one style block. */
export const REPORT_CSP = `default-src 'none'; style-src 'sha256-${crypto.createHash('sha256').update(CSS).digest('base64')}'; img-src 'none'; font-src 'none'; base-uri 'none'; form-action 'none'`;

// controls and characters that reorder or hide text (bidi overrides and isolates, zero-width) are shown as
// code points, so a name reads as what it is
// eslint-disable-next-line no-control-regex
const INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]/g;
const MAX_SHOWN = 200;

/** A value from the store as HTML text: escaped, invisible characters made visible, long ones cut. */
function wire(v: unknown): string {
  let s = String(v ?? '');
  let cut = '';
  const cps = Array.from(s);
  if (cps.length > MAX_SHOWN) {
    cut = ` <span class="cut">[… ${cps.length - MAX_SHOWN} more characters]</span>`;
    s = cps.slice(0, MAX_SHOWN).join('');
  }
  let out = '';
  let last = 0;
  for (const m of s.matchAll(INVISIBLE)) {
    out += escapeHtml(s.slice(last, m.index)) + `<span class="ctl">${escapeHtml(`<U+${m[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}>`)}</span>`;
    last = m.index! + m[0].length;
  }
  return `<bdi>${out + escapeHtml(s.slice(last))}</bdi>${cut}`;
}

const num = (n: unknown) => `<td class="num" data-v="${escapeHtml(Number(n) || 0)}">${escapeHtml((Number(n) || 0).toLocaleString('en-US'))}</td>`;
const human = (n: number) => {
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0, v = n;
  while (v >= 1024 && i < u.length - 1) (v /= 1024), i++;
  return `${v.toFixed(i ? 1 : 0)} ${u[i]}`;
};

function toHtml(r: Report, meta: { sensor?: string }): string {
  const sum = (k: 'sessions' | 'messages' | 'files' | 'bytes') => r.protocols.reduce((a, p) => a + (Number(p[k]) || 0), 0);
  const sev = Object.values(r.alerts_by_severity);
  const tiles: Array<[string, string, string]> = [
    ['sessions', 'IM sessions', sum('sessions').toLocaleString('en-US')],
    ['messages', 'Messages', sum('messages').toLocaleString('en-US')],
    ['files', 'File transfers', sum('files').toLocaleString('en-US')],
    ['bytes', 'Traffic', human(sum('bytes'))],
    ['open', 'Open alerts', sev.reduce((a, s) => a + (Number(s.open) || 0), 0).toLocaleString('en-US')],
    ['unauthorized', 'Unauthorized-use alerts (distinct)', unauthorizedAlertCount(r.unauthorized).toLocaleString('en-US')],
  ];
  const body: string[] = [];
  body.push(`<h1>shadowim usage report</h1>`);
  body.push(`<p class="period" id="period">From <time datetime="${escapeHtml(r.from)}">${escapeHtml(r.from)}</time> to <time datetime="${escapeHtml(r.to)}">${escapeHtml(r.to)}</time> (UTC)${meta.sensor !== undefined ? `, sensor ${wire(meta.sensor)}` : ', all sensors'}</p>`);
  body.push(`<div class="tiles">${tiles.map(([id, k, v]) => `<div class="tile" id="tile-${id}"><div class="v">${escapeHtml(v)}</div><div class="k">${escapeHtml(k)}</div></div>`).join('')}</div>`);
  for (const s of sections(r)) {
    body.push(`<section id="${s.id}"><h2>${escapeHtml(s.title)}</h2>`);
    if (!s.rows.length && !s.always) {
      body.push('<p class="none">None in this period.</p></section>');
      continue;
    }
    const head = s.head.map((h, i) => `<th${i >= s.numFrom ? ' class="num"' : ''} scope="col">${escapeHtml(h)}</th>`).join('');
    const rows = s.rows.map((row) => `<tr>${row.map((c, i) => (i >= s.numFrom ? num(c) : `<td>${wire(c)}</td>`)).join('')}</tr>`).join('\n');
    body.push(`<table><thead><tr>${head}</tr></thead><tbody>\n${rows}\n</tbody></table></section>`);
  }
  body.push(`<footer>Counts are exact over the stored rows for the period. Sensitive values (card numbers, passwords, …) appear as the store keeps them: redacted. Names are shown as seen on the wire; invisible characters appear as <span class="ctl">&lt;U+XXXX&gt;</span>.</footer>`);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(REPORT_CSP)}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(`shadowim report ${r.from} .. ${r.to}`)}</title>
<style>${CSS}</style>
</head>
<body>
${body.join('\n')}
</body>
</html>
`;
}

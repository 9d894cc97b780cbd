// Overview: IM sessions and messages over time by protocol, unauthorized-use trend, alerts by severity.
import { api, el, qs, fmtNum, fmtBytes, RANGES, select, colorFor, errorBox, routeParams, setRouteParams, table } from '../lib.js';

const charts = [];
let timer = null;
const SEV = ['critical', 'high', 'medium', 'low'];
const SEV_COLOR = { critical: '#ff4d6a', high: '#ff9f43', medium: '#f7d154', low: '#7bd88f' };

export function destroy() {
  if (timer) clearInterval(timer);
  timer = null;
  while (charts.length) charts.pop().destroy();
}

export async function render(root) {
  const p = routeParams();
  let range = p.range || '24h';
  let sensor = p.sensor || '';
  let auto = p.auto !== '0';
  const body = el('div', { id: 'overview-body' });
  const refreshed = el('span', { class: 'muted', id: 'refreshed' });
  const autoBox = el('input', { type: 'checkbox', id: 'auto-refresh', checked: auto });
  const sensorBox = select('sensor', [['', 'all sensors']], sensor, (v) => ((sensor = v), setRouteParams('overview', { range, sensor }), links(), load()));
  // the usage report of the selected period and sensor, as `shadowim report` writes it (a download: the server names the file)
  const reportLink = el('a', { id: 'report-download', text: 'Report', download: '', title: 'usage report of this period (HTML, print-friendly)' });
  const reportCsv = el('a', { id: 'report-csv', text: 'CSV', download: '', title: 'the same report as CSV' });
  const links = () => {
    reportLink.href = '/api/report' + qs({ range, sensor, format: 'html' });
    reportCsv.href = '/api/report' + qs({ range, sensor, format: 'csv' });
  };
  links();
  api('/sensors').then((d) => {
    for (const s of d.rows) sensorBox.append(el('option', { value: s.name, text: s.name, selected: s.name === sensor }));
  }).catch(() => {});
  root.append(
    el('div', { class: 'toolbar' },
      el('h2', { text: 'Overview' }),
      select('range', RANGES, range, (v) => ((range = v), setRouteParams('overview', { range, sensor }), links(), load())),
      sensorBox,
      el('label', {}, autoBox, ' auto-refresh (30 s)'),
      reportLink, reportCsv,
      refreshed),
    body,
  );
  autoBox.addEventListener('change', () => {
    auto = autoBox.checked;
    schedule();
  });
  function schedule() {
    if (timer) clearInterval(timer);
    timer = auto ? setInterval(load, 30_000) : null;
  }
  let loadSeq = 0;
  async function load() {
    const seq = ++loadSeq;
    let d;
    try {
      d = await api('/overview' + qs({ range, sensor }));
      if (seq !== loadSeq) return; // a newer request is under way: this answer is stale
    } catch (e) {
      body.replaceChildren(errorBox(e));
      return;
    }
    draw(body, d);
    refreshed.textContent = `updated ${new Date().toLocaleTimeString()}`;
  }
  schedule();
  await load();
}

function timeLabel(iso, bucket) {
  const d = new Date(iso);
  return bucket >= 86400_000 ? iso.slice(5, 10) : bucket >= 3600_000 ? `${iso.slice(5, 10)} ${iso.slice(11, 13)}h` : iso.slice(11, 16);
}

function draw(body, d) {
  while (charts.length) charts.pop().destroy();
  const protos = Object.keys(d.series).filter((p) => p !== '').sort((a, b) => d.totals[b].sessions + d.totals[b].messages - (d.totals[a].sessions + d.totals[a].messages));
  // every bucket of the range on the axis, so quiet periods show as zero rather than vanish
  const b = d.bucket_ms, t0 = Math.floor(Date.parse(d.from) / b) * b, t1 = Date.parse(d.to);
  const times = [];
  for (let t = t0; t < t1 && times.length < 5000; t += b) times.push(new Date(t).toISOString());
  const labels = times.map((t) => timeLabel(t, d.bucket_ms));
  const idx = new Map(times.map((t, i) => [t, i]));
  const perProto = (key) =>
    protos.map((p) => {
      const data = new Array(times.length).fill(0);
      for (const x of d.series[p]) if (idx.has(x.t)) data[idx.get(x.t)] = x[key];
      return { label: p, data, backgroundColor: colorFor(p), borderColor: colorFor(p), borderWidth: 1.5, pointRadius: 0, tension: 0.25 };
    });
  const sum = (k) => Object.values(d.totals).reduce((a, t) => a + t[k], 0);
  const open = SEV.reduce((a, s) => a + (d.severity[s]?.open ?? 0), 0);
  const tiles = el('div', { class: 'tiles' },
    tile('IM sessions', sum('sessions'), 'tile-sessions'),
    tile('Messages', sum('messages'), 'tile-messages'),
    // distinct alerts, as the report's tile and the alerts list count them (queries.ts unauthorizedAlertCount)
    tile('Unauthorized-use alerts (distinct)', d.unauthorized_alerts, 'tile-unauthorized'),
    tile('Open alerts', open, 'tile-open'),
    tile('Protocols seen', protos.length, 'tile-protocols'),
    tile('Sensors', d.sensors, 'tile-sensors'),
  );
  const totalsTable = table(
    ['Protocol', { label: 'Sessions', num: true }, { label: 'Messages', num: true }, { label: 'Bytes', num: true }, { label: 'Alert occurrences', num: true }, { label: 'Unauthorized occurrences', num: true }],
    protos.map((p) => el('tr', { dataset: { protocol: p } }, el('td', { text: p }), ...['sessions', 'messages'].map((k) => el('td', { class: 'num', text: fmtNum(d.totals[p][k]) })), el('td', { class: 'num', text: fmtBytes(d.totals[p].bytes) }), ...['alerts', 'unauthorized'].map((k) => el('td', { class: 'num', text: fmtNum(d.totals[p][k]) })))),
    { class: 'totals', caption: 'Totals by protocol in the range' },
  );
  totalsTable.id = 'totals-table';
  const c1 = chartCard('IM sessions by protocol', 'chart-sessions', dataTable('sessions', protos, times, d));
  const c2 = chartCard('Messages by protocol', 'chart-messages', dataTable('messages', protos, times, d));
  const trendRows = d.unauthorized.map((x) => [x.t, x.count]);
  const c3 = chartCard('Unauthorized IM use (alert occurrences)', 'chart-unauthorized', details(table(['Time', { label: 'Alerts', num: true }], trendRows.map(([t, n]) => [t, fmtNum(n)]), { class: 'data-unauthorized' })));
  const sevRows = SEV.map((s) => [s, d.severity[s]?.alerts ?? 0, d.severity[s]?.occurrences ?? 0, d.severity[s]?.open ?? 0]);
  // the chart: occurrences in the range (rollups, as the totals' alerts column); the table adds the
  // distinct alerts active in the range and the open ones (the alerts list's rows)
  const c4 = chartCard('Alert occurrences by severity', 'chart-severity', table(['Severity', { label: 'Distinct alerts', num: true }, { label: 'Occurrences', num: true }, { label: 'Open', num: true }], sevRows.map((r) => el('tr', { dataset: { severity: r[0] } }, el('td', { text: r[0] }), ...r.slice(1).map((n) => el('td', { class: 'num', text: fmtNum(n) })))), { class: 'data-severity' }));
  body.replaceChildren(tiles, el('div', { class: 'grid' }, c1.card, c2.card, c3.card, c4.card), el('div', { class: 'card', style: undefined }, el('h3', { text: 'Totals' }), totalsTable));
  if (!protos.length) body.prepend(el('p', { class: 'muted', id: 'no-data', text: 'No IM activity in this range. Choose a longer range, or feed the store with shadowim analyze / shadowim sensor.' }));
  const Chart = window.Chart;
  const common = { responsive: true, maintainAspectRatio: false, animation: false, plugins: { legend: { labels: { color: '#d9e1e8', boxWidth: 12 } } }, scales: { x: { stacked: true, ticks: { color: '#8a98a6', maxTicksLimit: 12 }, grid: { color: '#26313d' } }, y: { stacked: true, beginAtZero: true, ticks: { color: '#8a98a6' }, grid: { color: '#26313d' } } } };
  charts.push(new Chart(c1.canvas, { type: 'bar', data: { labels, datasets: perProto('sessions') }, options: common }));
  charts.push(new Chart(c2.canvas, { type: 'line', data: { labels, datasets: perProto('messages').map((s) => ({ ...s, fill: true, backgroundColor: s.borderColor + '55' })) }, options: common }));
  charts.push(new Chart(c3.canvas, { type: 'line', data: { labels, datasets: [{ label: 'unauthorized', data: (() => { const a = new Array(times.length).fill(0); for (const x of d.unauthorized) if (idx.has(x.t)) a[idx.get(x.t)] = x.count; return a; })(), borderColor: '#ff4d6a', backgroundColor: '#ff4d6a44', fill: true, pointRadius: 0, tension: 0.25 }] }, options: { ...common, plugins: { legend: { display: false } } } }));
  charts.push(new Chart(c4.canvas, { type: 'bar', data: { labels: SEV, datasets: [{ label: 'occurrences', data: SEV.map((s) => d.severity[s]?.occurrences ?? 0), backgroundColor: SEV.map((s) => SEV_COLOR[s]) }] }, options: { ...common, indexAxis: 'y', plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true, ticks: { color: '#8a98a6' }, grid: { color: '#26313d' } }, y: { ticks: { color: '#d9e1e8' }, grid: { display: false } } } } }));
}

function tile(k, v, id) {
  return el('div', { class: 'tile', id }, el('div', { class: 'v', text: fmtNum(v) }), el('div', { class: 'k', text: k }));
}

function chartCard(title, id, extra) {
  const canvas = el('canvas', { id, role: 'img', 'aria-label': title });
  const card = el('div', { class: 'card' }, el('h3', { text: title }), el('div', { class: 'chart-box' }, canvas), extra);
  return { card, canvas };
}

function details(child) {
  return el('details', { class: 'data' }, el('summary', { text: 'Data table' }), child);
}

function dataTable(key, protos, times, d) {
  const rows = protos.map((p) => el('tr', { dataset: { protocol: p } }, el('td', { text: p }), el('td', { class: 'num', text: fmtNum(d.totals[p][key]) }), el('td', { class: 'num', text: fmtNum(Math.max(0, ...d.series[p].map((x) => x[key]))) })));
  return details(table(['Protocol', { label: `Total ${key}`, num: true }, { label: `Peak per ${bucketName(d.bucket_ms)}`, num: true }], rows, { class: `data-${key}` }));
}

function bucketName(ms) {
  return ms >= 86400_000 ? 'day' : ms >= 3600_000 ? `${ms / 3600_000} h` : `${ms / 60_000} min`;
}

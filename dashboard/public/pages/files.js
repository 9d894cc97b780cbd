// Files: transfers seen and carved (analyst and admin).
import { api, el, fmtNum, fmtTime, RANGES, select, errorBox, table } from '../lib.js';

export async function render(root) {
  let range = '30d';
  const box = el('div', { class: 'card' });
  root.append(el('div', { class: 'toolbar' }, el('h2', { text: 'Files' }), select('range', RANGES, range, (v) => ((range = v), load()))), box);
  async function load() {
    try {
      const d = await api('/files?range=' + encodeURIComponent(range));
      const t = table(['Time', 'Protocol', 'From', 'To', 'File name', { label: 'Size', num: true }, 'Type', 'SHA-256', 'Verdict', ''], d.rows.map((f) => [fmtTime(f.ts), f.protocol ?? '—', f.from ?? '—', f.to ?? '—', f.filename ?? '—', fmtNum(f.size ?? f.observed_size), f.file_type ?? '—', f.sha256 ? f.sha256.slice(0, 16) + '…' : '—', f.verdict ?? (f.stage === 'offer' ? 'offered (not carved)' : '—'),
        f.download && /^[0-9a-f]{64}$/.test(f.sha256) ? el('td', {}, el('a', { class: 'download', href: `/api/files/${f.sha256}/download`, text: 'download' })) : '']));
      t.id = 'files-table';
      box.replaceChildren(
        el('p', { class: 'muted', text: d.source === 'quarantine' ? 'Files kept in the quarantine. They may be malware: downloads are never opened in the browser.' : 'File transfers seen (no quarantine configured: carved bytes are not kept; see files.quarantine in the configuration).' }),
        d.rows.length ? t : el('p', { class: 'muted', text: 'No files in this range.' }));
    } catch (e) {
      box.replaceChildren(errorBox(e));
    }
  }
  await load();
}

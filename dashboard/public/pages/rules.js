// Rules: preview and download of the firewall export for each format (admin).
import { api, el, qs, select, errorBox } from '../lib.js';

export async function render(root) {
  const pre = el('pre', { class: 'code', id: 'rules-text' });
  const info = el('span', { class: 'muted', id: 'rules-info' });
  const dl = el('a', { id: 'rules-download', text: 'Download', href: '/api/rules/download' });
  let formats;
  try {
    formats = (await api('/rules/formats')).formats;
  } catch (e) {
    root.append(errorBox(e));
    return;
  }
  let format = formats[0].id, action = 'block';
  const desc = el('p', { class: 'muted', id: 'rules-desc' });
  root.append(
    el('div', { class: 'toolbar' }, el('h2', { text: 'Firewall rules' }),
      select('format', formats.map((f) => [f.id, f.id]), format, (v) => ((format = v), load())),
      select('action', [['block', 'block'], ['log', 'log only']], action, (v) => ((action = v), load())),
      dl, info),
    desc,
    el('p', { class: 'muted', text: 'Built from the signatures\' known endpoints, the servers the sensors observed in this store and the policy\'s exceptions (which come first).' }),
    pre,
  );
  async function load() {
    desc.textContent = formats.find((f) => f.id === format)?.description ?? '';
    dl.href = '/api/rules/download' + qs({ format, action });
    dl.setAttribute('download', `shadowim-${format}.rules`);
    pre.textContent = 'Building…';
    try {
      const r = await api('/rules' + qs({ format, action }));
      pre.textContent = r.text;
      info.textContent = `${r.lines} lines`;
    } catch (e) {
      pre.replaceChildren(errorBox(e));
    }
  }
  await load();
}

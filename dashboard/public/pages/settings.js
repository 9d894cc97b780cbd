// Settings: the policy in use, and checking a pasted or uploaded policy (admin).
import { api, el, errorBox, table } from '../lib.js';

export async function render(root) {
  root.append(el('h2', { text: 'Settings' }));
  const cur = el('div', { class: 'card' });
  const area = el('textarea', { id: 'policy-text', spellcheck: false, placeholder: 'Paste a policy (YAML) here, or choose a file.' });
  const file = el('input', { type: 'file', id: 'policy-file', accept: '.yaml,.yml,text/yaml,text/plain' });
  const result = el('div', { id: 'policy-result' });
  const check = el('button', { type: 'button', class: 'primary', id: 'policy-check', text: 'Check policy' });
  file.addEventListener('change', async () => {
    const f = file.files && file.files[0];
    if (f) area.value = (await f.text()).slice(0, 1 << 20);
  });
  check.addEventListener('click', async () => {
    result.replaceChildren(el('p', { class: 'muted', text: 'Checking…' }));
    try {
      const r = await api('/policy/check', { method: 'POST', body: { text: area.value, name: (file.files && file.files[0] && file.files[0].name) || 'policy.yaml' } });
      if (r.ok) result.replaceChildren(el('p', { class: 'ok', id: 'policy-ok', text: 'Valid. What it means:' }), el('pre', { class: 'code wrap', text: r.explanation }));
      else {
        const parts = [el('p', { class: 'error', id: 'policy-error', text: r.error })];
        if (r.line) {
          const lines = area.value.split('\n');
          const lo = Math.max(0, r.line - 3), hi = Math.min(lines.length, r.line + 2);
          const pre = el('pre', { class: 'code' });
          for (let i = lo; i < hi; i++) pre.append(el('div', { class: i + 1 === r.line ? 'line-error' : '', text: `${String(i + 1).padStart(4)}  ${lines[i]}` }));
          parts.push(pre);
        }
        result.replaceChildren(...parts);
      }
    } catch (e) {
      result.replaceChildren(errorBox(e));
    }
  });
  root.append(cur, el('div', { class: 'card', style: undefined }, el('h3', { text: 'Check a policy (shadowim policy check)' }), el('div', { class: 'toolbar' }, file, check), area, result));
  const users = el('div', { class: 'card' });
  root.append(users);
  try {
    const p = await api('/policy');
    cur.append(el('h3', { text: p.file ? `Policy in use: ${p.file}` : 'Policy in use: the built-in default (every public IM is unauthorized)' }), el('pre', { class: 'code wrap', id: 'policy-explanation', text: p.explanation }));
    if (p.text) area.value = p.text;
  } catch (e) {
    cur.append(errorBox(e));
  }
  try {
    const u = await api('/admin/users');
    users.append(el('h3', { text: 'Dashboard users (manage with shadowim user add|passwd|role|del|token)' }), table(['User', 'Role', 'API tokens', 'Created'], u.rows.map((r) => [r.name, r.role, String(r.tokens), r.created])));
  } catch (e) {
    users.append(errorBox(e));
  }
}

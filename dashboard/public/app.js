// The console shell: login, navigation (hash routes), role-dependent pages.
import { api, el, state, can } from './lib.js';

const PAGES = [
  { id: 'overview', label: 'Overview', role: 'viewer', load: () => import('./pages/overview.js') },
  { id: 'alerts', label: 'Alerts', role: 'viewer', load: () => import('./pages/alerts.js') },
  { id: 'people', label: 'Users & hosts', role: 'viewer', load: () => import('./pages/people.js') },
  { id: 'conversations', label: 'Conversations', role: 'viewer', load: () => import('./pages/conversations.js') },
  { id: 'sensors', label: 'Sensors', role: 'viewer', load: () => import('./pages/sensors.js') },
  { id: 'files', label: 'Files', role: 'analyst', load: () => import('./pages/files.js') },
  { id: 'delivery', label: 'Delivery', role: 'viewer', load: () => import('./pages/delivery.js') },
  { id: 'rules', label: 'Rules', role: 'admin', load: () => import('./pages/rules.js') },
  { id: 'settings', label: 'Settings', role: 'admin', load: () => import('./pages/settings.js') },
];

const $ = (id) => document.getElementById(id);
let loginCsrf = null;
let current = null;

function showLogin() {
  state.user = state.role = state.csrf = null;
  $('top').hidden = true;
  $('page').hidden = true;
  $('login').hidden = false;
  $('login-user').focus();
}

function buildNav() {
  const nav = $('nav');
  nav.replaceChildren(...PAGES.filter((p) => can(p.role)).map((p) => el('a', { href: `#/${p.id}`, id: `nav-${p.id}`, text: p.label, dataset: { page: p.id } })));
  $('who').textContent = `${state.user} (${state.role})`;
}

async function route() {
  if (!state.user) return;
  const h = location.hash.replace(/^#\/?/, '');
  const [pathPart] = h.split('?');
  const [id, ...rest] = pathPart.split('/');
  const page = PAGES.find((p) => p.id === id && can(p.role)) || PAGES[0];
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('active', a.dataset.page === page.id);
  if (current && current.destroy) current.destroy();
  const root = $('page');
  root.replaceChildren(el('p', { class: 'muted', text: 'Loading…' }));
  root.dataset.page = page.id;
  const mod = await page.load();
  current = mod;
  root.replaceChildren();
  await mod.render(root, rest.map(decodeURIComponent));
}

async function start() {
  try {
    const s = await api('/session', { quiet401: true });
    Object.assign(state, s);
    entered();
  } catch (e) {
    if (e.status === 401 && e.data) {
      loginCsrf = e.data.csrf;
      $('demo-banner').hidden = !e.data.demo;
      // dashboard.login_notice: an operator's text, shown as text (white-space: pre-line keeps its lines)
      $('login-notice').textContent = typeof e.data.notice === 'string' ? e.data.notice : '';
      $('login-notice').hidden = !e.data.notice;
      showLogin();
    } else document.body.append(el('p', { class: 'error', text: `Cannot reach the shadowim server: ${e.message}` }));
  }
}

function entered() {
  $('demo-banner').hidden = !state.demo;
  $('login').hidden = true;
  $('top').hidden = false;
  $('page').hidden = false;
  buildNav();
  route();
}

$('login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  $('login-error').textContent = '';
  const body = { user: $('login-user').value, password: $('login-password').value };
  try {
    if (!loginCsrf) {
      try {
        await api('/session', { quiet401: true });
      } catch (e) {
        loginCsrf = e.data && e.data.csrf;
      }
    }
    const s = await api('/login', { method: 'POST', body, csrf: loginCsrf, quiet401: true });
    $('login-password').value = '';
    Object.assign(state, s);
    entered();
  } catch (e) {
    $('login-error').textContent = e.message;
  }
});

$('logout').addEventListener('click', async () => {
  try {
    await api('/logout', { method: 'POST' });
  } finally {
    location.hash = '';
    location.reload();
  }
});

window.addEventListener('shadowim:logout', () => {
  if (current && current.destroy) current.destroy();
  start();
});
window.addEventListener('hashchange', route);
start();

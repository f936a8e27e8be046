// Settings > Webhooks: the project's webhooks (add, edit, pause, delete) and, under each,
// its last deliveries with their status codes, refreshed while the screen is open.

import { api, get } from './api.js';
import { h, fill, confirmDialog, openDialog, toast, relativeTime } from './dom.js';
import { setCrumbs, projectCrumbs, projectTabs, settingsNav } from './layout.js';

/** How often the delivery lists refresh. */
const REFRESH_MS = 2000;
const MASK = '********';

export async function render(main, [projectId]) {
  const [project, info] = await Promise.all([
    get(`/api/projects/${projectId}/`), get('/api/webhooks/info/'),
  ]);
  setCrumbs(projectCrumbs(project, { label: 'Settings' }));
  const list = h('div', { class: 'webhook-list' });
  let timer = null;
  let left = false;
  const refresh = async () => {
    clearTimeout(timer);
    try {
      const hooks = await get(`/api/webhooks/?project=${projectId}`);
      const cards = await Promise.all(hooks.map(async (hook) =>
        webhookCard(hook, await get(`/api/webhooks/${hook.id}/deliveries/`), { info, projectId, refresh })));
      if (left) return;
      fill(list, cards.length ? cards : h('p', { class: 'muted empty-hooks' },
        'No webhooks yet. A webhook posts JSON to your URL when annotations, tasks, the project or a storage sync change.'));
    } finally {
      if (!left) timer = setTimeout(refresh, REFRESH_MS);
    }
  };
  const add = () => webhookDialog({ info, projectId, onSaved: refresh });
  fill(main, h('section', { class: 'page' },
    h('div', { class: 'page-head' }, h('h1', {}, project.title), projectTabs(project, 'settings')),
    settingsNav(project, 'webhooks'),
    h('div', { class: 'section-head' },
      h('h2', { class: 'section-title' }, 'Webhooks'),
      h('button', { class: 'primary', onclick: add }, 'Add Webhook')),
    list));
  await refresh();
  return () => { left = true; clearTimeout(timer); };
}

function webhookCard(hook, deliveries, { info, projectId, refresh }) {
  const edit = () => webhookDialog({ hook, info, projectId, onSaved: refresh });
  const toggle = async () => {
    await api('PATCH', `/api/webhooks/${hook.id}/`, { is_active: !hook.is_active });
    refresh();
  };
  const remove = async () => {
    if (!await confirmDialog('Delete webhook', `Stop sending events to ${hook.url} and forget its deliveries?`, 'Delete')) return;
    await api('DELETE', `/api/webhooks/${hook.id}/`);
    toast('Webhook deleted');
    refresh();
  };
  const actions = hook.send_for_all_actions ? 'All actions' : hook.actions.join(', ') || 'No actions';
  return h('article', { class: 'webhook-card', dataset: { webhook: hook.id } },
    h('header', { class: 'webhook-head' },
      h('div', {},
        h('div', { class: 'webhook-url' }, hook.url),
        h('div', { class: 'muted' }, actions, hook.send_payload ? '' : ' · without payload',
          hook.has_secret ? ' · signed' : '', hook.is_active ? '' : ' · paused')),
      h('div', { class: 'row' },
        h('button', { onclick: toggle }, hook.is_active ? 'Pause' : 'Resume'),
        h('button', { onclick: edit }, 'Edit'),
        h('button', { class: 'danger', onclick: remove }, 'Delete'))),
    deliveryTable(deliveries));
}

function deliveryTable(deliveries) {
  if (!deliveries.length) return h('p', { class: 'muted' }, 'No deliveries yet.');
  const rows = deliveries.slice(0, 20).map((d) => h('tr', { class: `delivery ${d.status}` },
    h('td', { title: d.created_at }, relativeTime(d.created_at)),
    h('td', {}, d.action),
    h('td', { class: 'delivery-status' }, d.status),
    h('td', { class: 'delivery-code' }, d.status_code ?? '—'),
    h('td', {}, d.attempts),
    h('td', { class: 'delivery-error' }, d.error || '',
      d.status === 'pending' && d.next_attempt_at ? h('span', { class: 'muted' }, ` next try ${relativeTime(d.next_attempt_at)}`) : null)));
  return h('table', { class: 'deliveries' },
    h('caption', {}, 'Last deliveries'),
    h('thead', {}, h('tr', {}, ['When', 'Action', 'Status', 'Code', 'Attempts', 'Error'].map((c) => h('th', {}, c)))),
    h('tbody', {}, rows));
}

/** "Name: value" lines ↔ the headers object. */
function headersText(headers) {
  return Object.entries(headers || {}).map(([k, v]) => `${k}: ${v}`).join('\n');
}

function parseHeaders(text) {
  const headers = {};
  for (const line of text.split('\n').map((l) => l.trim()).filter(Boolean)) {
    const at = line.indexOf(':');
    if (at < 1) throw new Error(`Header "${line}" must read "Name: value".`);
    headers[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  return headers;
}

function webhookDialog({ hook, info, projectId, onSaved }) {
  const url = h('input', { name: 'url', type: 'url', required: true, placeholder: 'https://example.org/hooks/labels', value: hook?.url || '' });
  const headers = h('textarea', { name: 'headers', rows: 3, placeholder: 'Authorization: Bearer …' });
  headers.value = headersText(hook?.headers);
  const secret = h('input', { name: 'secret', type: 'password', autocomplete: 'new-password',
    placeholder: hook?.has_secret ? 'Set (leave empty to keep it)' : 'Optional: signs each body (HMAC-SHA256)' });
  const payload = h('input', { type: 'checkbox', name: 'send_payload', checked: hook ? hook.send_payload : true });
  const active = h('input', { type: 'checkbox', name: 'is_active', checked: hook ? hook.is_active : true });
  const all = h('input', { type: 'checkbox', name: 'send_for_all_actions', checked: hook ? hook.send_for_all_actions : true });
  const boxes = Object.entries(info).filter(([, about]) => !about['organization-only']).map(([name, about]) =>
    h('label', { class: 'check' }, h('input', { type: 'checkbox', value: name, checked: hook?.actions.includes(name) }), ` ${about.name}`));
  const actionList = h('div', { class: 'action-list', hidden: all.checked }, boxes);
  all.addEventListener('change', () => { actionList.hidden = all.checked; });
  const status = h('p', { class: 'form-status', role: 'status' });
  const save = async (event) => {
    event.preventDefault();
    status.className = 'form-status';
    try {
      const body = {
        url: url.value.trim(), headers: parseHeaders(headers.value), send_payload: payload.checked,
        is_active: active.checked, send_for_all_actions: all.checked,
        actions: all.checked ? [] : boxes.map((b) => b.querySelector('input')).filter((i) => i.checked).map((i) => i.value),
      };
      if (secret.value) body.secret = secret.value;
      if (hook) await api('PATCH', `/api/webhooks/${hook.id}/`, body);
      else await api('POST', '/api/webhooks/', { ...body, project: projectId });
      close();
      toast(hook ? 'Webhook saved' : 'Webhook added');
      onSaved();
    } catch (err) {
      status.className = 'form-status error';
      status.textContent = err.message;
    }
  };
  const form = h('form', { class: 'form', onsubmit: save, id: 'webhook-form' },
    h('label', { class: 'field' }, h('span', { class: 'label' }, 'Payload URL'), url),
    h('label', { class: 'field' }, h('span', { class: 'label' }, 'Headers'), headers,
      h('span', { class: 'hint' }, `One "Name: value" per line. Credentials show as ${MASK}; leave them so to keep them.`)),
    h('label', { class: 'field' }, h('span', { class: 'label' }, 'Secret'), secret,
      h('span', { class: 'hint' }, 'Receivers check the X-Labelsync-Signature header: sha256= and the HMAC of the body.')),
    h('label', { class: 'check' }, payload, ' Send payload'),
    h('label', { class: 'check' }, active, ' Active'),
    h('label', { class: 'check' }, all, ' Send for all actions'),
    actionList,
    status);
  const { close } = openDialog({
    title: hook ? 'Edit Webhook' : 'Add Webhook',
    body: form,
    footer: [h('button', { onclick: () => close() }, 'Cancel'),
      h('button', { class: 'primary', type: 'submit', form: 'webhook-form' }, hook ? 'Save' : 'Add Webhook')],
  });
}

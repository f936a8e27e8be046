// The Data Manager's tabs: one per saved view (`/api/dm/views/`), each keeping its filters
// and ordering on the server. A project without views shows one unsaved "Default" tab.

import { api } from './api.js';
import { h, openDialog, confirmDialog, toast } from './dom.js';

/** The tab bar. `open(view)` switches to a view, `create()` saves the current query as a new
 * one, `retitle(view, title)` renames one (and resolves once saved). */
export function viewTabs({ views, active, open, create, retitle, removed }) {
  const tabs = views.length
    ? views.map((view) => tab(view, view.id === active, { open, retitle, removed }))
    : [h('span', { class: 'view-tab active', 'aria-current': 'page' }, h('span', { class: 'view-title' }, 'Default'))];
  return h('nav', { class: 'view-tabs', 'aria-label': 'Views' }, tabs,
    h('button', { class: 'icon add-view', title: 'Save as a new tab', 'aria-label': 'New tab', onclick: create }, '+'));
}

function tab(view, isActive, { open, retitle, removed }) {
  const title = view.data?.title || `Tab ${view.id}`;
  return h('span', { class: isActive ? 'view-tab active' : 'view-tab', dataset: { viewId: view.id } },
    h('button', { class: 'view-title', 'aria-current': isActive ? 'page' : null, onclick: () => open(view) }, title),
    isActive ? h('button', { class: 'icon view-action', 'aria-label': `Rename tab ${title}`, title: 'Rename', onclick: () => rename(view, retitle) }, '✎') : null,
    isActive ? h('button', { class: 'icon view-action', 'aria-label': `Delete tab ${title}`, title: 'Delete', onclick: () => remove(view, removed) }, '×') : null);
}

function rename(view, retitle) {
  const input = h('input', { name: 'title', value: view.data?.title || '', 'aria-label': 'Tab name', maxlength: 120 });
  const save = async () => {
    const title = input.value.trim();
    if (!title) return;
    await retitle(view, title);
    close();
  };
  input.addEventListener('keydown', (e) => { if (e.key === 'Enter') { e.preventDefault(); save(); } });
  const { close } = openDialog({
    title: 'Rename tab',
    body: h('label', { class: 'field' }, h('span', { class: 'label' }, 'Name'), input),
    footer: [h('button', { class: 'outline', onclick: () => close() }, 'Cancel'),
      h('button', { class: 'primary', onclick: save }, 'Save')],
  });
  input.focus();
}

async function remove(view, removed) {
  const ok = await confirmDialog('Delete tab', `Delete the tab "${view.data?.title || view.id}"? Its tasks stay.`, 'Delete');
  if (!ok) return;
  await api('DELETE', `/api/dm/views/${view.id}/`);
  toast('Tab deleted');
  removed(view);
}

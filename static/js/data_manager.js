// Data Manager: the project's tasks, paginated, filtered and ordered by the server in Label
// Studio's query language; view tabs that keep a query; a selection (kept across pages) that
// actions delete; media previews; the empty state; and the Import dialog (JSON / JSON Lines
// files by drag and drop or picker). The address bar holds the whole query.

import { api, get, ApiFailure } from './api.js';
import { h, fill, openDialog, confirmDialog, toast, middleEllipsis, shortDate } from './dom.js';
import { navigate, setCrumbs, projectCrumbs, projectTabs } from './layout.js';
import { dataColumns } from './label_config.js';
import { PAGE_SIZES, readQuery, addressOf, apiQuery, columnsOf } from './dm_query.js';
import { filterPanel } from './dm_filters.js';
import { viewTabs } from './dm_views.js';
import { exportDialog } from './dm_export.js';

/** The selected tasks: all but `ids` when `all`, else just `ids`. Kept while the user pages
 * through the same query; a new query starts a new selection. */
let selection = { key: '', all: false, ids: new Set() };
/** Whether the filter panel is open (it stays so while filters change the page). */
let filtersOpen = false;

function selectionFor(key) {
  if (selection.key !== key) selection = { key, all: false, ids: new Set() };
  return selection;
}

function isSelected(id) {
  return selection.all !== selection.ids.has(id);
}

function selectedCount(total) {
  return selection.all ? total - selection.ids.size : selection.ids.size;
}

function selectedItems() {
  return selection.all ? { all: true, excluded: [...selection.ids] } : { all: false, included: [...selection.ids] };
}

/** A view's query in the address bar's terms. */
function stateOfView(view, pageSize) {
  const data = view.data || {};
  const filters = data.filters && Array.isArray(data.filters.items)
    ? { conjunction: data.filters.conjunction === 'or' ? 'or' : 'and', items: data.filters.items }
    : { conjunction: 'and', items: [] };
  const ordering = Array.isArray(data.ordering) ? data.ordering[0] || '' : (data.ordering || '');
  return { tab: view.id, filters, ordering, page: 1, pageSize };
}

export async function render(main, [projectId], query) {
  const state = readQuery(query);
  // Edits navigate quickly, one after the other: a page drawn for an address the bar no
  // longer shows must not replace the newer one.
  const address = window.location.pathname + window.location.search;
  const stale = () => window.location.pathname + window.location.search !== address;
  const requests = [get(`/api/projects/${projectId}/`), get(`/api/dm/views/?project=${projectId}`),
    get(`/api/projects/${projectId}/members/`)];
  const listing = get(`/api/tasks/?project=${projectId}&page=${state.page}&page_size=${state.pageSize}`
    + `&query=${encodeURIComponent(JSON.stringify(apiQuery(state)))}`);
  listing.catch(() => {});
  const [project, views, members] = await Promise.all(requests);
  if (stale()) return null;
  setCrumbs(projectCrumbs(project));
  // A plain visit opens the first saved tab, as Label Studio does.
  if (!state.tab && views.length && ![...query.keys()].some((k) => ['filters', 'ordering'].includes(k))) {
    navigate(addressOf(projectId, stateOfView(views[0], state.pageSize)), { replace: true });
    return null;
  }
  const go = (next) => navigate(addressOf(projectId, next));
  let result;
  try {
    result = { listing: await listing };
  } catch (err) {
    if (!(err instanceof ApiFailure)) throw err;
    // Past the last page (tasks were deleted meanwhile): Label Studio answers 404.
    if (err.status === 404 && state.page > 1) {
      navigate(addressOf(projectId, { ...state, page: 1 }), { replace: true });
      return null;
    }
    result = { error: err };
  }
  if (stale()) return null;
  const screen = { project, views, members: members.map((m) => m.user), state, go };
  selectionFor(`${projectId}|${state.tab}|${JSON.stringify(apiQuery(state))}`);
  // The kept panel moves into the new page; whoever was typing in it stays there.
  const typing = openPanel?.contains(document.activeElement) ? document.activeElement : null;
  fill(main, h('section', { class: 'page wide' },
    h('div', { class: 'page-head' }, h('h1', {}, project.title), projectTabs(project, 'data')),
    tabsOf(screen),
    toolbar(screen, result.listing),
    filtersOpen ? keptFilterPanel(screen) : null,
    body(screen, result)));
  if (typing?.isConnected) typing.focus();
  return null;
}

/** The open filter panel, kept across redraws while it shows the filters being applied,
 * so a redraw after an edit never takes the focus or a half-typed value from the user. */
let openPanel = null;

function keptFilterPanel(screen) {
  const { project, state, members } = screen;
  const key = JSON.stringify(state.filters);
  if (openPanel?.projectId === project.id && openPanel.filtersKey === key) return openPanel;
  openPanel = filterPanel({
    filters: state.filters,
    columns: columnsOf(dataColumns(project.label_config)),
    members,
    edit: (filters) => changeQuery(screen, { filters }),
  });
  openPanel.projectId = project.id;
  return openPanel;
}

/** The query the address bar holds now: newer than a screen drawn before the last change,
 * so a quick second edit builds on the first. */
function currentState() {
  return readQuery(new URLSearchParams(window.location.search));
}

/** Saves of the open tab, one after the other so the last edit is the one kept. */
let saving = Promise.resolve();

/** Saves a tab's data after the saves before it: its query as the address bar has it now
 * (so a save never brings back an older query), and `title` when given. */
function saveView(view, { title } = {}) {
  const state = currentState();
  const data = { ...view.data, filters: state.filters, ordering: state.ordering ? [state.ordering] : [] };
  if (title) data.title = title;
  view.data = data;
  saving = saving
    .then(() => api('PATCH', `/api/dm/views/${view.id}/`, { data }))
    .catch((err) => toast(`The tab was not saved: ${err.message}`, 'error'));
  return saving;
}

/** Applies a new query: to the address bar at once, then to the open tab's saved view. */
function changeQuery(screen, change) {
  const { project, views } = screen;
  const state = currentState();
  navigate(addressOf(project.id, { ...state, ...change, page: 1 }), { replace: true });
  const view = views.find((v) => v.id === state.tab);
  if (view) saveView(view);
}

function tabsOf({ project, views, state, go }) {
  return viewTabs({
    views,
    active: state.tab,
    open: (view) => go(stateOfView(view, state.pageSize)),
    create: async () => {
      const title = `Tab ${views.length + 1}`;
      const view = await api('POST', '/api/dm/views/', { project: project.id, data: {
        title, filters: state.filters, ordering: state.ordering ? [state.ordering] : [] } });
      toast(`Saved as "${title}"`);
      go(stateOfView(view, state.pageSize));
    },
    retitle: async (view, title) => {
      await saveView(view, { title });
      navigate(addressOf(project.id, currentState()), { replace: true });
    },
    removed: (view) => {
      const rest = views.filter((v) => v.id !== view.id);
      const next = rest.length ? stateOfView(rest[0], state.pageSize)
        : { tab: null, filters: { conjunction: 'and', items: [] }, ordering: '', page: 1, pageSize: state.pageSize };
      navigate(addressOf(project.id, next), { replace: true });
    },
  });
}

function toolbar(screen, listing) {
  const { project, state } = screen;
  const active = state.filters.items.length;
  const total = listing?.total ?? 0;
  screen.total = total;
  screen.selectionBar = h('span', { class: 'selection-bar' });
  drawSelection(screen);
  return h('div', { class: 'toolbar' },
    h('button', { class: filtersOpen || active ? 'outline active-filters' : 'outline', 'aria-expanded': String(filtersOpen),
      onclick: () => { filtersOpen = !filtersOpen; navigate(addressOf(project.id, state), { replace: true }); } },
    active ? `Filters (${active})` : 'Filters'),
    listing ? h('span', { class: 'muted task-total' }, `Tasks: ${total.toLocaleString()}`,
      ` · Annotations: ${listing.total_annotations.toLocaleString()}`,
      ` · Predictions: ${listing.total_predictions.toLocaleString()}`) : null,
    screen.selectionBar,
    sortPicker(screen),
    h('span', { class: 'grow' }),
    h('button', { class: 'outline', onclick: () => importDialog(project) }, 'Import'),
    // An export names picked tasks; a select-all is the whole project, and the dialog says so.
    h('button', { class: 'outline', onclick: () => exportDialog(project, selection.all ? [] : [...selection.ids],
      { allSelected: selection.all }) }, 'Export'),
    h('a', { class: 'button primary', href: `/projects/${project.id}/label`, 'data-link': true }, 'Label All Tasks'));
}

/** Order by any column, the ones the table does not show too. */
function sortPicker(screen) {
  const { project, state } = screen;
  const column = state.ordering.replace(/^-/, '');
  const descending = state.ordering.startsWith('-');
  const columns = columnsOf(dataColumns(project.label_config));
  const order = (id, desc) => changeQuery(screen, { ordering: id ? `${desc ? '-' : ''}${id}` : '' });
  return h('span', { class: 'sort-picker' },
    h('select', { 'aria-label': 'Order by', onchange: (e) => order(e.target.value, descending) },
      h('option', { value: '', selected: !column }, 'Order by ID'),
      columns.filter((c) => c.id !== 'tasks:id').map((c) => h('option', { value: c.id, selected: c.id === column }, `Order by ${c.label}`))),
    h('button', { class: 'icon', 'aria-label': descending ? 'Descending; make it ascending' : 'Ascending; make it descending',
      title: descending ? 'Descending' : 'Ascending', onclick: () => order(column || 'tasks:id', !descending) }, descending ? '↓' : '↑'));
}

/** The selection's count and actions, redrawn in place when the selection changes. */
function drawSelection(screen) {
  const chosen = selectedCount(screen.total);
  fill(screen.selectionBar, chosen
    ? [h('span', { class: 'selected-count' }, `${chosen.toLocaleString()} selected`), actionsMenu(screen)]
    : null);
  for (const box of document.querySelectorAll('input.select-task')) {
    box.checked = isSelected(Number(box.dataset.taskId));
  }
  const all = document.querySelector('input.select-all');
  if (all) all.checked = selection.all && selection.ids.size === 0;
}

/** The actions on the selection, each confirmed first. */
function actionsMenu(screen) {
  const menu = h('div', { class: 'menu', role: 'menu', hidden: true },
    h('button', { role: 'menuitem', onclick: () => runAction(screen, 'delete_tasks', 'Delete tasks') }, 'Delete tasks'),
    h('button', { role: 'menuitem', onclick: () => runAction(screen, 'delete_tasks_annotations', 'Delete annotations') }, 'Delete annotations'),
    h('button', { role: 'menuitem', onclick: () => runAction(screen, 'delete_tasks_predictions', 'Delete predictions') }, 'Delete predictions'));
  const toggle = h('button', { class: 'outline actions', 'aria-haspopup': 'menu',
    onclick: () => { menu.hidden = !menu.hidden; toggle.setAttribute('aria-expanded', String(!menu.hidden)); } }, 'Actions ▾');
  return h('div', { class: 'menu-wrap' }, toggle, menu);
}

async function runAction(screen, id, title) {
  const { project, state } = screen;
  const ok = await confirmDialog(title, `${title} for the selected tasks? This action cannot be undone.`, title);
  if (!ok) return;
  const body = { ...apiQuery(state), selectedItems: selectedItems() };
  const done = await api('POST', `/api/dm/actions/?id=${id}&project=${project.id}`, body);
  toast(done.detail || 'Done');
  selection = { key: '', all: false, ids: new Set() };
  navigate(addressOf(project.id, state), { replace: true });
}

function body(screen, { listing, error }) {
  if (error) {
    return h('p', { class: 'inline-error', role: 'alert' }, `These filters cannot be applied: ${error.message}`);
  }
  const { project, state, go } = screen;
  if (listing.total === 0 && !state.filters.items.length) return emptyState(project);
  if (listing.total === 0) return h('p', { class: 'muted empty-result' }, 'No task matches these filters.');
  const pages = Math.max(1, Math.ceil(listing.total / state.pageSize));
  return [
    taskTable(screen, listing),
    pager(state, pages, listing.total, (page, pageSize = state.pageSize) => go({ ...state, page, pageSize })),
  ];
}

function emptyState(project) {
  return h('div', { class: 'empty' },
    h('h2', {}, 'Import data to get your project started'),
    h('p', {}, 'Connect your cloud storage or upload files from your computer'),
    h('div', { class: 'row' },
      h('a', { class: 'button primary', href: `/projects/${project.id}/settings/storage?open=source`, 'data-link': true }, 'Connect Cloud Storage'),
      h('button', { class: 'outline', onclick: () => importDialog(project) }, 'Import')));
}

/** A header that sorts by its column: first ascending, then descending. */
function sortHeader(screen, column, label) {
  const { state } = screen;
  const current = state.ordering === column ? 'ascending' : state.ordering === `-${column}` ? 'descending' : 'none';
  const next = current === 'ascending' ? `-${column}` : column;
  const arrow = current === 'ascending' ? ' ▲' : current === 'descending' ? ' ▼' : '';
  return h('th', { scope: 'col', 'aria-sort': current, dataset: { column } },
    h('button', { class: 'sort', title: `Sort by ${label}`, 'aria-label': `Sort by ${label}`, onclick: () => changeQuery(screen, { ordering: next }) }, label, arrow));
}

function taskTable(screen, listing) {
  const { project } = screen;
  const columns = dataColumns(project.label_config);
  const tasks = listing.tasks;
  const everything = h('input', { type: 'checkbox', class: 'select-all', 'aria-label': `Select all ${listing.total} tasks`,
    checked: selection.all && selection.ids.size === 0,
    onchange: (e) => { selection.all = e.target.checked; selection.ids.clear(); drawSelection(screen); } });
  const head = h('tr', {},
    h('th', { scope: 'col', class: 'check' }, everything),
    sortHeader(screen, 'tasks:id', 'ID'),
    sortHeader(screen, 'tasks:completed_at', 'Completed'),
    sortHeader(screen, 'tasks:total_annotations', 'Annotations'),
    sortHeader(screen, 'tasks:cancelled_annotations', 'Cancelled'),
    sortHeader(screen, 'tasks:total_predictions', 'Predictions'),
    columns.map((c) => sortHeader(screen, `tasks:data.${c.key}`, c.key)),
    sortHeader(screen, 'tasks:storage_filename', 'Storage filename'));
  const rows = tasks.map((task) => {
    const open = () => navigate(`/projects/${project.id}/label/${task.id}`);
    const box = h('input', { type: 'checkbox', class: 'select-task', 'aria-label': `Select task ${task.id}`,
      checked: isSelected(task.id), dataset: { taskId: task.id },
      onclick: (e) => e.stopPropagation(),
      onchange: (e) => {
        const wanted = e.target.checked !== selection.all;
        if (wanted) selection.ids.add(task.id); else selection.ids.delete(task.id);
        drawSelection(screen);
      } });
    return h('tr', {
      class: 'task-row', tabindex: 0, dataset: { taskId: task.id },
      onclick: open, onkeydown: (e) => { if (e.key === 'Enter' && e.target === e.currentTarget) open(); },
    },
    h('td', { class: 'check', onclick: (e) => e.stopPropagation() }, box),
    h('td', { class: 'num' }, task.id),
    h('td', { class: 'completed', title: task.completed_at ? `Completed ${shortDate(task.completed_at)}` : '' }, task.is_labeled ? '✓' : ''),
    h('td', { class: 'num annotations' }, task.total_annotations),
    h('td', { class: 'num' }, task.cancelled_annotations),
    h('td', { class: 'num' }, task.total_predictions),
    columns.map((c) => h('td', { class: 'data-cell' }, preview(c.tag, task.data[c.key]))),
    h('td', { class: 'muted', title: task.storage_filename || '' }, task.storage_filename ? middleEllipsis(task.storage_filename, 40) : ''));
  });
  return h('div', { class: 'table-wrap' }, h('table', { class: 'tasks' }, h('thead', {}, head), h('tbody', {}, rows)));
}

/** A cell's content: a thumbnail for images, a player for audio, text otherwise. */
export function preview(tag, value) {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') return middleEllipsis(JSON.stringify(value), 80);
  if (tag === 'Image') return h('img', { class: 'thumb', src: value, alt: '', loading: 'lazy', decoding: 'async' });
  if (tag === 'Audio' || tag === 'AudioPlus') return h('audio', { src: value, controls: true, preload: 'none' });
  if (tag === 'Video') return h('video', { src: value, preload: 'none', muted: true, class: 'thumb' });
  return middleEllipsis(value, 120);
}

function pager(state, pages, total, goTo) {
  const { page, pageSize } = state;
  const sizes = h('select', { 'aria-label': 'Tasks per page', onchange: (e) => goTo(1, Number(e.target.value)) },
    PAGE_SIZES.map((n) => h('option', { value: n, selected: n === pageSize }, `${n} per page`)));
  const first = (page - 1) * pageSize + 1;
  return h('nav', { class: 'pager', 'aria-label': 'Pages' },
    h('button', { class: 'outline', disabled: page <= 1, onclick: () => goTo(page - 1) }, '‹ Previous'),
    h('span', { class: 'page-info' }, `${first.toLocaleString()}–${Math.min(page * pageSize, total).toLocaleString()} of ${total.toLocaleString()} · page ${page} of ${pages}`),
    h('button', { class: 'outline', disabled: page >= pages, onclick: () => goTo(page + 1) }, 'Next ›'),
    sizes);
}

/** Import tasks from JSON / JSON Lines files; the whole upload is imported or nothing. */
export function importDialog(project) {
  const picker = h('input', { type: 'file', accept: '.json,.jsonl,.ndjson,application/json', multiple: true, class: 'visually-hidden', id: 'import-files' });
  const chosen = h('ul', { class: 'file-list' });
  const result = h('div', { class: 'import-result', role: 'status', 'aria-live': 'polite' });
  let files = [];
  const show = () => fill(chosen, files.map((f) => h('li', {}, `${f.name} · ${(f.size / 1024).toFixed(1)} KB`)));
  const take = (list) => { files = [...list]; show(); result.replaceChildren(); };
  picker.addEventListener('change', () => take(picker.files));
  const zone = h('label', { class: 'dropzone', for: 'import-files', tabindex: 0,
    onkeydown: (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); picker.click(); } } },
  h('strong', {}, 'Drop JSON or JSON Lines task files here'),
  h('span', { class: 'muted' }, 'or click to browse. Tasks may reference /data/local-files/?d=… or storage URIs (s3://, gs://, azure-blob://).'));
  zone.addEventListener('dragover', (e) => { e.preventDefault(); zone.classList.add('over'); });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => { e.preventDefault(); zone.classList.remove('over'); take(e.dataTransfer.files); });
  const upload = async () => {
    if (!files.length) { fill(result, h('p', { class: 'error' }, 'Choose at least one file first.')); return; }
    const form = new FormData();
    for (const f of files) form.append('file', f, f.name);
    button.disabled = true;
    fill(result, h('p', { class: 'muted' }, 'Importing…'));
    try {
      const answer = await api('POST', `/api/projects/${project.id}/import`, form);
      fill(result, h('p', { class: 'success' }, `${answer.task_count} tasks added`,
        answer.annotation_count ? `, with ${answer.annotation_count} annotations` : '', '.'));
      toast(`${answer.task_count} tasks imported`);
      files = [];
      show();
      onDone = () => navigate(`/projects/${project.id}/data`, { replace: true });
    } catch (err) {
      fill(result, h('p', { class: 'error', role: 'alert' }, `Nothing was imported. ${err.message}`));
    } finally {
      button.disabled = false;
    }
  };
  let onDone = null;
  const button = h('button', { class: 'primary', onclick: upload }, 'Import');
  openDialog({
    title: 'Import data',
    subtitle: `Add tasks to ${project.title}`,
    body: [picker, zone, chosen, result],
    footer: [h('button', { class: 'outline', onclick: (e) => e.target.closest('dialog').close() }, 'Close'), button],
    onClose: () => onDone?.(),
  });
}

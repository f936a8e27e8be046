// Data Manager: the project's tasks, paginated by the server, with media previews; the
// empty state; and the Import dialog (JSON / JSON Lines files by drag and drop or picker).

import { api, get, ApiFailure } from './api.js';
import { h, fill, openDialog, toast, middleEllipsis } from './dom.js';
import { navigate, setCrumbs } from './app.js';
import { dataColumns } from './label_config.js';

const PAGE_SIZES = [30, 50, 100];

export function projectCrumbs(project, ...rest) {
  return [{ label: 'Projects', href: '/projects' },
    { label: project.title || `Project #${project.id}`, href: `/projects/${project.id}/data` }, ...rest];
}

export function projectTabs(project, active) {
  const tab = (label, href, key) => h('a', {
    href, 'data-link': true, class: active === key ? 'tab active' : 'tab',
    'aria-current': active === key ? 'page' : null,
  }, label);
  return h('nav', { class: 'tabs', 'aria-label': 'Project' },
    tab('Data Manager', `/projects/${project.id}/data`, 'data'),
    tab('Label', `/projects/${project.id}/label`, 'label'),
    tab('Cloud Storage', `/projects/${project.id}/settings/storage`, 'storage'),
    tab('Settings', `/projects/${project.id}/settings`, 'settings'));
}

export async function render(main, [projectId], query) {
  const pageSize = PAGE_SIZES.includes(Number(query.get('page_size'))) ? Number(query.get('page_size')) : PAGE_SIZES[0];
  let page = Math.max(1, Number(query.get('page')) || 1);
  // Both requests at once: the page waits for the slower one, not for their sum.
  const listingRequest = get(`/api/tasks/?project=${projectId}&page=${page}&page_size=${pageSize}`);
  listingRequest.catch(() => {});
  const project = await get(`/api/projects/${projectId}/`);
  setCrumbs(projectCrumbs(project));
  let listing;
  try {
    listing = await listingRequest;
  } catch (err) {
    // Past the last page (tasks were deleted meanwhile): Label Studio answers 404.
    if (!(err instanceof ApiFailure) || err.status !== 404 || page === 1) throw err;
    navigate(`/projects/${projectId}/data?page_size=${pageSize}`, { replace: true });
    return null;
  }
  const columns = dataColumns(project.label_config);
  const pages = Math.max(1, Math.ceil(listing.total / pageSize));
  const go = (p, size = pageSize) => navigate(`/projects/${projectId}/data?page=${p}&page_size=${size}`);
  const toolbar = h('div', { class: 'toolbar' },
    h('span', { class: 'muted task-total' }, `Tasks: ${listing.total.toLocaleString()}`,
      ` · Annotations: ${listing.total_annotations.toLocaleString()}`),
    h('span', { class: 'grow' }),
    h('button', { class: 'outline', onclick: () => importDialog(project) }, 'Import'),
    h('a', { class: 'button primary', href: `/projects/${projectId}/label`, 'data-link': true }, 'Label All Tasks'));
  fill(main, h('section', { class: 'page wide' },
    h('div', { class: 'page-head' }, h('h1', {}, project.title), projectTabs(project, 'data')),
    toolbar,
    listing.total === 0 ? emptyState(project) : [
      taskTable(project, columns, listing.tasks),
      pager(page, pages, pageSize, listing.total, go),
    ]));
  return null;
}

function emptyState(project) {
  return h('div', { class: 'empty' },
    h('h2', {}, 'Import data to get your project started'),
    h('p', {}, 'Connect your cloud storage or upload files from your computer'),
    h('div', { class: 'row' },
      h('a', { class: 'button primary', href: `/projects/${project.id}/settings/storage?open=source`, 'data-link': true }, 'Connect Cloud Storage'),
      h('button', { class: 'outline', onclick: () => importDialog(project) }, 'Import')));
}

function taskTable(project, columns, tasks) {
  const head = h('tr', {},
    h('th', { scope: 'col' }, 'ID'),
    h('th', { scope: 'col' }, 'Completed'),
    h('th', { scope: 'col', title: 'Annotations' }, 'Annotations'),
    h('th', { scope: 'col', title: 'Skipped' }, 'Cancelled'),
    columns.map((c) => h('th', { scope: 'col' }, c.key)),
    h('th', { scope: 'col' }, 'Storage filename'));
  const rows = tasks.map((task) => {
    const open = () => navigate(`/projects/${project.id}/label/${task.id}`);
    return h('tr', {
      class: 'task-row', tabindex: 0, dataset: { taskId: task.id },
      onclick: open, onkeydown: (e) => { if (e.key === 'Enter') open(); },
    },
    h('td', { class: 'num' }, task.id),
    h('td', {}, task.is_labeled ? '✓' : ''),
    h('td', { class: 'num' }, task.total_annotations),
    h('td', { class: 'num' }, task.cancelled_annotations),
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

function pager(page, pages, pageSize, total, go) {
  const sizes = h('select', { 'aria-label': 'Tasks per page', onchange: (e) => go(1, Number(e.target.value)) },
    PAGE_SIZES.map((n) => h('option', { value: n, selected: n === pageSize }, `${n} per page`)));
  const first = (page - 1) * pageSize + 1;
  return h('nav', { class: 'pager', 'aria-label': 'Pages' },
    h('button', { class: 'outline', disabled: page <= 1, onclick: () => go(page - 1) }, '‹ Previous'),
    h('span', { class: 'page-info' }, `${first.toLocaleString()}–${Math.min(page * pageSize, total).toLocaleString()} of ${total.toLocaleString()} · page ${page} of ${pages}`),
    h('button', { class: 'outline', disabled: page >= pages, onclick: () => go(page + 1) }, 'Next ›'),
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

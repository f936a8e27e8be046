// The Data Manager's Export dialog: Label Studio's formats (those this project can use),
// whether tasks without annotations go too, and, with a selection, only the selected
// tasks. The file downloads straight from GET /api/projects/<id>/export. Below, the
// project's snapshots: take one, download one in the chosen format, delete one.

import { api, get } from './api.js';
import { h, fill, openDialog, toast, shortDate } from './dom.js';

/** The most task ids an export names in its address (more would make it too long). */
const MAX_NAMED = 1000;

/** Opens the dialog for `project`; `selected` are the ids of the selected tasks (empty
 * when none are, or when all are: `allSelected`). */
export async function exportDialog(project, selected, { allSelected = false } = {}) {
  const formats = await get(`/api/projects/${project.id}/export/formats`);
  const choices = formats.map((format, index) => h('label', { class: format.disabled ? 'choice muted' : 'choice' },
    h('input', { type: 'radio', name: 'export-format', value: format.name, disabled: format.disabled,
      checked: index === 0 }),
    h('span', {}, h('strong', {}, format.title), format.disabled ? ' (not available for this project)' : '',
      h('br'), h('small', { class: 'muted' }, format.description))));
  const all = h('input', { type: 'checkbox', name: 'download_all_tasks' });
  const nameable = selected.length > 0 && selected.length <= MAX_NAMED;
  const onlySelected = h('input', { type: 'checkbox', name: 'only_selected', checked: nameable, disabled: !nameable });
  const selectionNote = allSelected
    ? h('p', { class: 'muted small' }, 'All tasks are selected: the export holds every task of the project (the filters do not apply; a snapshot neither).')
    : selected.length > MAX_NAMED
      ? h('p', { class: 'muted small' }, `${selected.length} tasks are selected, more than an export can name (${MAX_NAMED}): the export holds every task of the project.`)
      : null;
  const chosenFormat = () => choices.map((c) => c.querySelector('input')).find((i) => i.checked).value;
  const snapshots = snapshotList(project, chosenFormat);
  const download = () => {
    const format = chosenFormat();
    const params = new URLSearchParams({ exportType: format, download_all_tasks: String(all.checked) });
    if (nameable && onlySelected.checked) selected.forEach((id) => params.append('ids[]', id));
    downloadFrom(`/api/projects/${project.id}/export?${params}`);
    toast(`Exporting ${project.title} as ${format}`);
    close();
  };
  const { close } = openDialog({
    title: 'Export data',
    subtitle: `Download the tasks and annotations of ${project.title}`,
    body: [
      h('fieldset', { class: 'choices export-formats' }, h('legend', {}, 'Format'), choices),
      h('label', { class: 'choice' }, all, 'Include tasks without annotations'),
      nameable ? h('label', { class: 'choice' }, onlySelected, `Only the ${selected.length} selected tasks`) : null,
      selectionNote,
      snapshots.element,
    ],
    footer: [
      h('button', { class: 'outline', onclick: () => close() }, 'Cancel'),
      h('button', { class: 'primary', onclick: download }, 'Export'),
    ],
  });
}

/** Downloads `href` as a file, as a link the user clicked would. */
function downloadFrom(href) {
  const link = h('a', { href, download: '' });
  document.body.append(link);
  link.click();
  link.remove();
}

/** The project's snapshots, newest first: each downloads in the format chosen above. */
function snapshotList(project, format) {
  const base = `/api/projects/${project.id}/exports/`;
  const list = h('ul', { class: 'snapshot-list' });
  const title = h('input', { name: 'snapshot_title', placeholder: 'Snapshot title', 'aria-label': 'Snapshot title' });
  const draw = async () => {
    const all = await get(base);
    fill(list, all.length ? all.map((snapshot) => h('li', { class: 'snapshot', dataset: { snapshotId: snapshot.id } },
      h('span', {}, h('strong', {}, snapshot.title || `Snapshot #${snapshot.id}`),
        ` · ${snapshot.counters.task_number} tasks · ${shortDate(snapshot.created_at)} · ${snapshot.status}`),
      h('span', { class: 'grow' }),
      snapshot.status === 'completed' ? h('button', { class: 'link',
        onclick: () => downloadFrom(`${base}${snapshot.id}/download?exportType=${format()}`) }, 'Download') : null,
      h('button', { class: 'link', 'aria-label': `Delete snapshot ${snapshot.title || snapshot.id}`,
        onclick: async () => { await api('DELETE', `${base}${snapshot.id}/`); draw(); } }, 'Delete')))
      : h('li', { class: 'muted' }, 'No snapshot yet.'));
  };
  const take = async () => {
    const made = await api('POST', base, { title: title.value.trim() });
    toast(made.status === 'completed' ? `Snapshot of ${made.counters.task_number} tasks taken` : 'The snapshot failed', made.status === 'completed' ? undefined : 'error');
    title.value = '';
    draw();
  };
  draw().catch((err) => fill(list, h('li', { class: 'error' }, err.message)));
  return { element: h('section', { class: 'snapshots', 'aria-label': 'Snapshots' },
    h('h3', {}, 'Snapshots'),
    h('p', { class: 'muted small' }, 'A snapshot freezes every task as it is now, to download later in any format.'),
    h('div', { class: 'row' }, title, h('button', { class: 'outline small', onclick: take }, 'Take snapshot')),
    list) };
}

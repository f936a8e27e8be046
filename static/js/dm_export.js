// The Data Manager's Export dialog: Label Studio's formats (those this project can use),
// whether tasks without annotations go too, and, with a selection, only the selected
// tasks. The file downloads straight from GET /api/projects/<id>/export.

import { get } from './api.js';
import { h, openDialog, toast } from './dom.js';

/** Opens the dialog for `project`; `selected` are the ids of the selected tasks (empty
 * when none are). */
export async function exportDialog(project, selected) {
  const formats = await get(`/api/projects/${project.id}/export/formats`);
  const choices = formats.map((format, index) => h('label', { class: format.disabled ? 'choice muted' : 'choice' },
    h('input', { type: 'radio', name: 'export-format', value: format.name, disabled: format.disabled,
      checked: index === 0 }),
    h('span', {}, h('strong', {}, format.title), format.disabled ? ' (not available for this project)' : '',
      h('br'), h('small', { class: 'muted' }, format.description))));
  const all = h('input', { type: 'checkbox', name: 'download_all_tasks' });
  const onlySelected = h('input', { type: 'checkbox', name: 'only_selected', checked: selected.length > 0 });
  const download = () => {
    const chosen = choices.map((c) => c.querySelector('input')).find((i) => i.checked);
    const params = new URLSearchParams({ exportType: chosen.value, download_all_tasks: String(all.checked) });
    if (onlySelected.checked) selected.forEach((id) => params.append('ids[]', id));
    const link = h('a', { href: `/api/projects/${project.id}/export?${params}`, download: '' });
    document.body.append(link);
    link.click();
    link.remove();
    toast(`Exporting ${project.title} as ${chosen.value}`);
    close();
  };
  const { close } = openDialog({
    title: 'Export data',
    subtitle: `Download the tasks and annotations of ${project.title}`,
    body: [
      h('fieldset', { class: 'choices export-formats' }, h('legend', {}, 'Format'), choices),
      h('label', { class: 'choice' }, all, 'Include tasks without annotations'),
      selected.length ? h('label', { class: 'choice' }, onlySelected, `Only the ${selected.length} selected tasks`) : null,
    ],
    footer: [
      h('button', { class: 'outline', onclick: () => close() }, 'Cancel'),
      h('button', { class: 'primary', onclick: download }, 'Export'),
    ],
  });
}

// Projects list: one card per project with its counts; create (with labeling templates) and delete.

import { api, get } from './api.js';
import { h, fill, openDialog, confirmDialog, shortDate, toast } from './dom.js';
import { navigate, setCrumbs } from './layout.js';
import { configEditor } from './config_editor.js';

export async function render(main) {
  setCrumbs([{ label: 'Projects' }]);
  const list = await get('/api/projects/?page_size=100');
  const projects = list.results;
  fill(main, h('section', { class: 'page' },
    h('div', { class: 'page-head' },
      h('h1', {}, 'Projects'),
      h('button', { class: 'primary', onclick: () => createDialog() }, 'Create')),
    projects.length === 0
      ? h('div', { class: 'empty' }, h('h2', {}, 'Create your first project'),
        h('p', {}, 'A project holds tasks, their annotations and the storages they sync with.'),
        h('button', { class: 'primary', onclick: () => createDialog() }, 'Create Project'))
      : h('ul', { class: 'project-grid' }, projects.map(projectCard)),
    list.count > projects.length ? h('p', { class: 'muted' }, `Showing the ${projects.length} newest of ${list.count} projects.`) : null));
}

function projectCard(project) {
  const remove = async () => {
    const ok = await confirmDialog('Delete project',
      `Delete "${project.title}" with its ${project.task_number} tasks and their annotations? Files in storages are kept. This action cannot be undone.`, 'Delete');
    if (!ok) return;
    await api('DELETE', `/api/projects/${project.id}/`);
    toast(`Project "${project.title}" deleted`);
    navigate('/projects', { replace: true });
  };
  return h('li', { class: 'project-card', dataset: { projectId: project.id } },
    h('a', { class: 'project-title', href: `/projects/${project.id}/data`, 'data-link': true }, project.title || `Project #${project.id}`),
    project.description ? h('p', { class: 'muted clamp' }, project.description) : null,
    h('dl', { class: 'project-counts' },
      h('div', {}, h('dt', {}, 'Tasks'), h('dd', { class: 'task-count' }, project.task_number)),
      h('div', {}, h('dt', {}, 'Annotated'), h('dd', { class: 'annotated-count' }, project.num_tasks_with_annotations)),
      h('div', {}, h('dt', {}, 'Created'), h('dd', {}, shortDate(project.created_at)))),
    h('div', { class: 'card-actions' },
      h('a', { href: `/projects/${project.id}/settings/storage`, 'data-link': true }, 'Cloud Storage'),
      h('button', { class: 'link danger-text', onclick: remove, 'aria-label': `Delete project ${project.title}` }, 'Delete')));
}

function createDialog() {
  const title = h('input', { name: 'title', required: true, placeholder: 'My project', autocomplete: 'off' });
  const description = h('textarea', { name: 'description', rows: 2, placeholder: 'Optional description of your project' });
  const editor = configEditor();
  const error = h('p', { class: 'error', role: 'alert' });
  const save = async () => {
    error.textContent = '';
    if (!title.value.trim()) { error.textContent = 'Project Name is required.'; title.focus(); return; }
    try {
      const project = await api('POST', '/api/projects/', {
        title: title.value.trim(), description: description.value, label_config: editor.textarea.value,
      });
      close();
      navigate(`/projects/${project.id}/data`);
    } catch (err) {
      error.textContent = err.message;
    }
  };
  const { close } = openDialog({
    title: 'Create Project',
    wide: true,
    body: h('form', { class: 'form', onsubmit: (e) => { e.preventDefault(); save(); } },
      h('label', { class: 'field' }, h('span', { class: 'label' }, 'Project Name'), title),
      h('label', { class: 'field' }, h('span', { class: 'label' }, 'Description'), description),
      editor.element, error),
    footer: [h('button', { class: 'outline', onclick: () => close() }, 'Cancel'),
      h('button', { class: 'primary', onclick: save }, 'Save')],
  });
  title.focus();
}

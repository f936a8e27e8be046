// Settings > General: the project's name and description; its members; and deletion. (The
// labeling config has its own section, Settings > Labeling Interface.)

import { api, get } from './api.js';
import { h, fill, confirmDialog, toast } from './dom.js';
import { navigate, setCrumbs, projectCrumbs, projectTabs, settingsNav } from './layout.js';
import { membersSection } from './members.js';

export async function render(main, [projectId]) {
  const project = await get(`/api/projects/${projectId}/`);
  setCrumbs(projectCrumbs(project, { label: 'Settings' }));
  const title = h('input', { name: 'title', value: project.title, required: true });
  const description = h('textarea', { name: 'description', rows: 2 });
  description.value = project.description || '';
  const status = h('p', { class: 'form-status', role: 'status' });
  const save = async (event) => {
    event.preventDefault();
    status.className = 'form-status';
    try {
      await api('PATCH', `/api/projects/${projectId}/`, { title: title.value, description: description.value });
      status.textContent = 'Saved.';
      toast('Project settings saved');
    } catch (err) {
      status.className = 'form-status error';
      status.textContent = err.message;
    }
  };
  const remove = async () => {
    if (!await confirmDialog('Delete project', `Delete "${project.title}" with all its tasks and annotations? This action cannot be undone.`, 'Delete')) return;
    await api('DELETE', `/api/projects/${projectId}/`);
    toast('Project deleted');
    navigate('/projects', { replace: true });
  };
  fill(main, h('section', { class: 'page' },
    h('div', { class: 'page-head' }, h('h1', {}, project.title), projectTabs(project, 'settings')),
    settingsNav(project, 'general'),
    h('form', { class: 'form', onsubmit: save },
      h('h2', { class: 'section-title' }, 'General'),
      h('label', { class: 'field' }, h('span', { class: 'label' }, 'Project Name'), title),
      h('label', { class: 'field' }, h('span', { class: 'label' }, 'Description'), description),
      h('div', { class: 'row' }, h('button', { class: 'primary', type: 'submit' }, 'Save'), status)),
    membersSection(projectId),
    h('section', { class: 'danger-zone' },
      h('h2', { class: 'section-title' }, 'Danger Zone'),
      h('p', {}, 'Deleting the project removes its tasks, annotations and storage connections. Files in the storages are kept.'),
      h('button', { class: 'danger', onclick: remove }, 'Delete Project'))));
  return null;
}

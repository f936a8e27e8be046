// Settings > Labeling Interface: pick one of Label Studio's templates or write the config,
// see it live in the editor over the project's first task, save it when it is valid.

import { api, get } from './api.js';
import { h, fill, toast } from './dom.js';
import { setCrumbs, projectCrumbs, projectTabs, settingsNav } from './layout.js';
import { configEditor } from './config_editor.js';
import { openEditor, loadScript, PREVIEW_INTERFACES } from './editor.js';
import { TEMPLATES, parseConfig } from './label_config.js';

const PREVIEW_DELAY_MS = 400;

export async function render(main, [projectId]) {
  loadScript().catch(() => {});
  const [project, firstTasks] = await Promise.all([get(`/api/projects/${projectId}/`),
    get(`/api/tasks/?project=${projectId}&page=1&page_size=1`)]);
  setCrumbs(projectCrumbs(project, { label: 'Labeling Interface' }));
  const firstTask = (firstTasks.tasks || [])[0] || null;
  const preview = livePreview(firstTask);
  const editor = configEditor(project.label_config, { onChange: (xml, template) => preview.show(xml, template) });
  const status = h('p', { class: 'form-status', role: 'status' });
  const save = async (event) => {
    event.preventDefault();
    status.className = 'form-status';
    status.textContent = '';
    if (!editor.check()) {
      status.className = 'form-status error';
      status.textContent = 'Not saved: fix the config first (see above).';
      return;
    }
    try {
      await api('PATCH', `/api/projects/${projectId}/`, { label_config: editor.textarea.value });
      status.textContent = 'Saved.';
      toast('Labeling interface saved');
    } catch (err) {
      status.className = 'form-status error';
      status.textContent = `Not saved: ${err.message}`;
    }
  };
  fill(main, h('section', { class: 'page wide' },
    h('div', { class: 'page-head' }, h('h1', {}, project.title), projectTabs(project, 'settings')),
    settingsNav(project, 'labeling'),
    h('div', { class: 'config-layout' },
      h('form', { class: 'form config-form', onsubmit: save },
        h('h2', { class: 'section-title' }, 'Labeling Interface'),
        editor.element,
        h('div', { class: 'row' }, h('button', { class: 'primary', type: 'submit' }, 'Save'), status)),
      h('section', { class: 'config-preview', 'aria-label': 'Preview' },
        h('h2', { class: 'section-title' }, 'UI Preview'),
        h('p', { class: 'muted small' }, firstTask ? `With the data of task #${firstTask.id}.` : 'The project has no task yet: the preview shows sample data.'),
        preview.element))));
  preview.show(editor.textarea.value, null);
  return () => preview.close();
}

/** The config drawn by the editor over `task`'s data (or a template's sample), redrawn a
 * moment after the last edit. */
function livePreview(task) {
  const element = h('div', { class: 'preview-frame' });
  let current = null;
  let timer = null;
  let turn = 0;
  const draw = async (xml, template) => {
    const mine = ++turn;
    current?.close();
    current = null;
    try {
      parseConfig(xml);
    } catch (err) {
      fill(element, h('p', { class: 'error' }, `The preview waits for a config it can read. ${err.message}`));
      return;
    }
    const host = h('div', { class: 'editor-host preview' });
    fill(element, host);
    const sample = template?.sample || TEMPLATES.find((t) => t.xml === xml)?.sample || {};
    try {
      const opened = await openEditor(host, {
        config: xml,
        interfaces: PREVIEW_INTERFACES,
        user: { id: 0, username: 'preview' },
        task: { id: task?.id ?? 0, data: task ? { ...sample, ...task.data } : sample, annotations: [], predictions: [] },
        onStorageInitialized: (ls) => {
          const store = ls.annotationStore;
          if (!store.annotations.length) store.selectAnnotation(store.addAnnotation({ userGenerate: true }).id);
        },
      });
      if (mine !== turn) opened.close();
      else current = opened;
    } catch (err) {
      if (mine === turn) fill(element, h('p', { class: 'error' }, err.message));
    }
  };
  return {
    element,
    show(xml, template) {
      clearTimeout(timer);
      timer = setTimeout(() => draw(xml, template), template ? 0 : PREVIEW_DELAY_MS);
    },
    close() {
      clearTimeout(timer);
      turn += 1;
      current?.close();
    },
  };
}

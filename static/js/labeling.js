// Labeling: one task's data shown by the config's object tags, and a form built from its
// Choices and TextArea controls. Submit / Update / Skip, then the next unlabeled task.

import { api, get, ApiFailure } from './api.js';
import { h, fill, toast } from './dom.js';
import { parseConfig } from './label_config.js';
import { navigate, setCrumbs, projectCrumbs, projectTabs } from './layout.js';

export async function render(main, [projectId, taskId]) {
  const taskRequest = get(taskId ? `/api/tasks/${taskId}` : `/api/projects/${projectId}/next/`);
  taskRequest.catch(() => {});
  const project = await get(`/api/projects/${projectId}/`);
  let task;
  try {
    task = await taskRequest;
  } catch (err) {
    if (!(err instanceof ApiFailure) || err.status !== 404) throw err;
    setCrumbs(projectCrumbs(project, { label: 'Labeling' }));
    fill(main, h('section', { class: 'page' },
      h('div', { class: 'page-head' }, h('h1', {}, project.title), projectTabs(project, 'label')),
      h('div', { class: 'empty' }, h('h2', {}, taskId ? 'This task does not exist' : 'All tasks are labeled'),
        h('p', {}, taskId ? 'It may have been deleted.' : 'Every task of this project has an annotation or was skipped.'),
        h('a', { class: 'button outline', href: `/projects/${projectId}/data`, 'data-link': true }, 'Back to the Data Manager'))));
    return null;
  }
  if (!taskId) history.replaceState(null, '', `/projects/${projectId}/label/${task.id}`);
  setCrumbs(projectCrumbs(project, { label: `Task #${task.id}` }));
  const config = parseConfig(project.label_config);
  const existing = task.annotations.find((a) => !a.was_cancelled);
  const form = buildForm(config.controls, existing ? existing.result : []);
  const status = h('p', { class: 'form-status', role: 'status', 'aria-live': 'polite' });

  const goNext = async () => {
    try {
      const next = await get(`/api/projects/${projectId}/next/?after=${task.id}`);
      navigate(`/projects/${projectId}/label/${next.id}`);
    } catch (err) {
      if (!(err instanceof ApiFailure) || err.status !== 404) throw err;
      navigate(`/projects/${projectId}/label`);
    }
  };
  let saving = false;
  const save = async (cancelled) => {
    if (saving) return;
    status.className = 'form-status';
    const result = cancelled ? [] : form.result();
    if (!cancelled) {
      const missing = form.missing();
      if (missing) { status.className = 'form-status error'; status.textContent = missing; return; }
    }
    saving = true;
    try {
      if (existing && !cancelled) {
        await api('PATCH', `/api/annotations/${existing.id}/`, { result });
        toast(`Annotation of task #${task.id} updated`);
      } else {
        await api('POST', `/api/tasks/${task.id}/annotations/`, { result, was_cancelled: cancelled, lead_time: (Date.now() - opened) / 1000 });
        toast(cancelled ? `Task #${task.id} skipped` : `Task #${task.id} submitted`);
      }
      await goNext();
    } catch (err) {
      status.className = 'form-status error';
      status.textContent = err.message;
    } finally {
      saving = false;
    }
  };
  const opened = Date.now();
  const actions = h('div', { class: 'label-actions' },
    task.allow_skip !== false ? h('button', { class: 'outline', onclick: () => save(true) }, 'Skip') : null,
    h('button', { class: 'primary', type: 'submit', title: 'Ctrl+Enter' }, existing ? 'Update' : 'Submit'),
    h('button', { class: 'link', onclick: goNext }, 'Next task ›'));
  const onKey = (e) => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey || e.altKey)) { e.preventDefault(); save(false); } };
  document.addEventListener('keydown', onKey);

  fill(main, h('section', { class: 'page wide' },
    h('div', { class: 'page-head' }, h('h1', {}, project.title), projectTabs(project, 'label')),
    h('div', { class: 'labeling' },
      h('div', { class: 'label-data' },
        h('p', { class: 'muted' }, `Task #${task.id}`,
          existing ? ` · annotated by ${existing.created_username || 'someone'}` : '',
          task.storage_filename ? ` · ${task.storage_filename}` : ''),
        config.objects.map((o) => showObject(o, task.data))),
      h('form', { class: 'label-form', onsubmit: (e) => { e.preventDefault(); save(false); } },
        form.element, status, actions))));
  return () => document.removeEventListener('keydown', onKey);
}

function showObject(object, data) {
  if (object.tag === 'Header') return h('h3', {}, object.value);
  const value = object.variable ? data[object.variable] : object.value;
  if (value === undefined || value === null) {
    return h('p', { class: 'error' }, `The task has no "${object.variable}" value for the ${object.tag} tag.`);
  }
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  switch (object.tag) {
    case 'Image':
      return h('figure', { class: 'label-image' }, h('img', {
        src: text, alt: `Task ${object.name}`,
        onerror: (e) => e.target.replaceWith(h('p', { class: 'error' }, `The image could not be loaded from ${text}. Check the storage connection (Cloud Storage) and that the file still exists.`)),
      }));
    case 'Audio':
    case 'AudioPlus':
      return h('audio', { src: text, controls: true });
    case 'Video':
      return h('video', { src: text, controls: true, class: 'label-video' });
    case 'HyperText':
    case 'Text':
    default:
      return h('div', { class: 'label-text' }, text);
  }
}

/** The form of the config's controls; `result()` gives Label Studio's result list. */
function buildForm(controls, previous) {
  const parts = controls.map((control) => {
    const earlier = previous.find((r) => r.from_name === control.name);
    return control.tag === 'Choices' ? choicesField(control, earlier) : textAreaField(control, earlier);
  });
  return {
    element: controls.length
      ? h('div', { class: 'controls' }, parts.map((p) => p.element))
      : h('p', { class: 'muted' }, 'The labeling config has no Choices or TextArea control: Submit saves an empty annotation.'),
    result: () => parts.map((p) => p.value()).filter(Boolean),
    missing: () => parts.map((p) => p.missing()).find(Boolean) || null,
  };
}

function choicesField(control, earlier) {
  const chosen = new Set(earlier?.value?.choices || []);
  const type = control.multiple ? 'checkbox' : 'radio';
  const inputs = control.options.map((option) => h('input', { type, name: control.name, value: option, checked: chosen.has(option) }));
  const element = h('fieldset', { class: 'choices' }, h('legend', {}, control.name),
    inputs.map((input) => h('label', { class: 'choice' }, input, input.value)));
  const selected = () => inputs.filter((i) => i.checked).map((i) => i.value);
  return {
    element,
    value: () => (selected().length ? {
      from_name: control.name, to_name: control.toName, type: 'choices', origin: 'manual', value: { choices: selected() },
    } : null),
    missing: () => (control.required && !selected().length ? `Choose a value for ${control.name}.` : null),
  };
}

function textAreaField(control, earlier) {
  const textarea = h('textarea', { name: control.name, rows: 3, placeholder: control.placeholder });
  textarea.value = (earlier?.value?.text || []).join('\n');
  return {
    element: h('label', { class: 'field' }, h('span', { class: 'label' }, control.name), textarea),
    value: () => (textarea.value.trim() ? {
      from_name: control.name, to_name: control.toName, type: 'textarea', origin: 'manual', value: { text: [textarea.value] },
    } : null),
    missing: () => (control.required && !textarea.value.trim() ? `Write a text for ${control.name}.` : null),
  };
}

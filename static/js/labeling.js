// Labeling: one task in Label Studio's own editor. Submit / Update / Skip save through the
// REST API as Label Studio's frontend does, then the next unlabeled task opens; drafts are
// saved as the user works and come back when the task is reopened.

import { api, get, ApiFailure } from './api.js';
import { h, fill, toast } from './dom.js';
import { navigate, setCrumbs, projectCrumbs, projectTabs } from './layout.js';
import { openEditor, loadScript, LABELING_INTERFACES } from './editor.js';

export async function render(main, [projectId, taskId]) {
  loadScript().catch(() => {});
  const taskRequest = get(taskId ? `/api/tasks/${taskId}` : `/api/projects/${projectId}/next/`);
  taskRequest.catch(() => {});
  const [project, user] = await Promise.all([get(`/api/projects/${projectId}/`), get('/api/current-user/whoami')]);
  let task;
  try {
    task = await taskRequest;
  } catch (err) {
    if (!(err instanceof ApiFailure) || err.status !== 404) throw err;
    showNothingToLabel(main, project, Boolean(taskId));
    return null;
  }
  if (!taskId) history.replaceState(null, '', `/projects/${projectId}/label/${task.id}`);
  setCrumbs(projectCrumbs(project, { label: `Task #${task.id}` }));
  const host = h('div', { class: 'editor-host', id: `editor-task-${task.id}` });
  fill(main, h('section', { class: 'page wide labeling-page' },
    h('div', { class: 'page-head' }, h('h1', {}, project.title), projectTabs(project, 'label')),
    h('p', { class: 'muted task-line' }, `Task #${task.id}`,
      task.storage_filename ? ` · ${task.storage_filename}` : '',
      h('span', { class: 'grow' }),
      h('button', { class: 'link', onclick: () => goNext(projectId, task.id) }, 'Next task ›')),
    host));
  const session = labelingSession(projectId, task);
  const editor = await openEditor(host, {
    config: project.label_config,
    interfaces: task.allow_skip === false ? LABELING_INTERFACES.filter((i) => i !== 'skip') : LABELING_INTERFACES,
    user: { id: user.id, username: user.username || user.email, email: user.email,
      firstName: user.first_name || '', lastName: user.last_name || '' },
    task: editorTask(task),
    // `data-ready` tells tests and the page benchmark that the task is in the editor.
    onStorageInitialized: (ls) => {
      session.load(ls);
      host.dataset.ready = 'true';
      performance.mark('labelsync:editor-ready');
    },
    onSubmitAnnotation: session.submit,
    onUpdateAnnotation: session.update,
    onSkipTask: session.skip,
    onSubmitDraft: session.saveDraft,
  });
  const flush = () => session.flushDraft(editor.ls);
  window.addEventListener('pagehide', flush);
  return () => {
    window.removeEventListener('pagehide', flush);
    flush();
    editor.close();
  };
}

function showNothingToLabel(main, project, askedForOne) {
  setCrumbs(projectCrumbs(project, { label: 'Labeling' }));
  fill(main, h('section', { class: 'page' },
    h('div', { class: 'page-head' }, h('h1', {}, project.title), projectTabs(project, 'label')),
    h('div', { class: 'empty' }, h('h2', {}, askedForOne ? 'This task does not exist' : 'All tasks are labeled'),
      h('p', {}, askedForOne ? 'It may have been deleted.' : 'Every task of this project has an annotation or was skipped.'),
      h('a', { class: 'button outline', href: `/projects/${project.id}/data`, 'data-link': true }, 'Back to the Data Manager'))));
}

/** The task as the editor takes it: its data (media URLs already resolved by the API), its
 * annotations (a skipped one is a record, not work to edit) with the user's drafts of them
 * (the editor shows a draft in place of what it drafts), the user's draft of a new
 * annotation first, and its predictions. */
function editorTask(task) {
  const drafts = task.drafts || [];
  const annotations = task.annotations.filter((a) => !a.was_cancelled).map((a) => {
    const draft = drafts.find((d) => d.annotation === a.id);
    const shown = { ...a, createdBy: a.created_username || undefined, createdDate: a.created_at };
    return draft ? { ...shown, draft: draft.result } : shown;
  });
  const fresh = newAnnotationDraft(drafts);
  if (fresh) annotations.unshift({ userGenerate: true, draft: fresh.result, createdDate: fresh.created_at });
  const predictions = (task.predictions || []).map((p) => ({ ...p, createdBy: p.model_version ? `Model ${p.model_version}` : 'Prediction' }));
  return { id: task.id, data: task.data, annotations, predictions };
}

/** The user's draft of an annotation not yet submitted. */
function newAnnotationDraft(drafts) {
  return drafts.find((d) => d.annotation === null || d.annotation === undefined) || null;
}

async function goNext(projectId, taskId) {
  try {
    const next = await get(`/api/projects/${projectId}/next/?after=${taskId}`);
    navigate(`/projects/${projectId}/label/${next.id}`);
  } catch (err) {
    if (!(err instanceof ApiFailure) || err.status !== 404) throw err;
    navigate(`/projects/${projectId}/label`);
  }
}

/** The editor's callbacks for one task: what each button and each autosave sends. */
function labelingSession(projectId, task) {
  const opened = Date.now();
  const drafts = task.drafts || [];
  // Draft saves go one after the other, and a submit waits for them: a save still on its
  // way must not create a draft after the annotation that replaces it.
  let draftSaves = Promise.resolve();
  let finished = false;
  const leadTime = () => (Date.now() - opened) / 1000;

  const body = (annotation, extra) => ({
    result: annotation.serializeAnnotation(),
    lead_time: leadTime(),
    draft_id: annotation.draftId > 0 ? annotation.draftId : undefined,
    parent_prediction: annotation.parent_prediction ?? undefined,
    parent_annotation: annotation.parent_annotation ?? undefined,
    ...extra,
  });

  /** Sends what the editor holds now (read before any wait: once the callback returns,
   * the editor drops the annotation's draft id), then opens the next task. */
  const save = async (annotation, send, done) => {
    if (finished) return;
    const request = send();
    annotation?.pauseAutosave?.();
    await draftSaves;
    try {
      const saved = await api(...request);
      // Saved: the editor now knows it by its id (a second Ctrl+Enter updates, never
      // submits it twice).
      if (saved?.id && annotation && !annotation.pk) annotation.updatePersonalKey?.(String(saved.id));
    } catch (err) {
      annotation?.startAutosave?.();
      toast(`Task #${task.id} was not saved: ${err.message}`, 'error');
      return;
    }
    finished = true;
    toast(done);
    await goNext(projectId, task.id);
  };

  return {
    /** Once the editor holds the task: ties the drafts it shows to their ids, and when
     * there is nothing to continue, starts from the first prediction (as Label Studio
     * does) or from an empty annotation. */
    load(ls) {
      const store = ls.annotationStore;
      for (const annotation of store.annotations) {
        const draft = annotation.pk
          ? drafts.find((d) => d.annotation === Number(annotation.pk))
          : newAnnotationDraft(drafts);
        if (draft) annotation.setDraftId(draft.id);
      }
      if (store.annotations.length) {
        store.selectAnnotation(store.annotations[0].id);
        return;
      }
      const prediction = store.predictions[0];
      const started = prediction ? store.addAnnotationFromPrediction(prediction) : store.addAnnotation({ userGenerate: true });
      store.selectAnnotation(started.id);
    },
    submit: (ls, annotation) => save(annotation,
      () => ['POST', `/api/tasks/${task.id}/annotations/`, body(annotation, { was_cancelled: false })],
      `Task #${task.id} submitted`),
    // A submit the server refused leaves the editor showing Update without an id: that
    // one is still to be created.
    update: (ls, annotation) => save(annotation,
      () => (annotation.pk ? ['PATCH', `/api/annotations/${annotation.pk}/`, body(annotation)]
        : ['POST', `/api/tasks/${task.id}/annotations/`, body(annotation, { was_cancelled: false })]),
      `Annotation of task #${task.id} updated`),
    /** Label Studio keeps what was drawn on a skipped task, marked cancelled. */
    skip: (ls) => {
      const annotation = ls.annotationStore.selected;
      return save(annotation,
        () => ['POST', `/api/tasks/${task.id}/annotations/`, annotation
          ? body(annotation, { was_cancelled: true }) : { result: [], was_cancelled: true, lead_time: leadTime() }],
        `Task #${task.id} skipped`);
    },
    saveDraft(ls, annotation) {
      if (finished) return Promise.resolve();
      const draft = { result: annotation.versions.draft ?? annotation.serializeAnnotation(), lead_time: leadTime() };
      draftSaves = draftSaves.then(async () => {
        if (finished) return;
        if (annotation.draftId > 0) {
          await api('PATCH', `/api/drafts/${annotation.draftId}/`, draft, { keepalive: true });
          return;
        }
        const path = annotation.pk ? `/api/tasks/${task.id}/annotations/${annotation.pk}/drafts`
          : `/api/tasks/${task.id}/drafts`;
        const saved = await api('POST', path, draft, { keepalive: true });
        try {
          annotation.setDraftId(saved.id);
        } catch { /* saved while leaving: the editor is gone, the draft is kept */ }
      }).catch((err) => toast(`The draft of task #${task.id} was not saved: ${err.message}`, 'error'));
      return draftSaves;
    },
    /** Saves a change the autosave has not sent yet: the user is leaving the task. */
    flushDraft(ls) {
      if (!finished) ls.annotationStore?.selected?.autosave?.flush?.();
    },
  };
}

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
  const session = labelingSession(projectId, task, user);
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
    onDeleteAnnotation: session.remove,
    onSubmitDraft: session.saveDraft,
  });
  const flush = () => session.flushDraft();
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
function labelingSession(projectId, task, user) {
  const opened = Date.now();
  const drafts = task.drafts || [];
  // Draft ids by the editor's annotation id. Kept here, not read off the annotation: the
  // editor forgets an annotation's draft id as soon as it is submitted, even when the
  // server then refuses it.
  const draftIds = new Map();
  // Draft saves go one after the other, and a save waits for them: a draft still on its way
  // must not be created after the annotation that replaces it.
  let draftSaves = Promise.resolve();
  let editorStore = null;
  let busy = false;
  let finished = false;
  let leaving = false;
  const leadTime = () => (Date.now() - opened) / 1000;

  /** An annotation's fields as Label Studio's frontend sends them; a prediction on screen
   * is not the user's work, so skipping while one is shown sends nothing of it. */
  const fields = (annotation, extra) => (annotation && annotation.type !== 'prediction' ? {
    result: annotation.serializeAnnotation(),
    lead_time: leadTime(),
    parent_prediction: annotation.parent_prediction ?? undefined,
    parent_annotation: annotation.parent_annotation ?? undefined,
    ...extra,
  } : { result: [], lead_time: leadTime(), ...extra });

  /** Sends `request` ([method, path, fields], read when the button was pressed) once the
   * drafts before it are saved, names the draft it replaces, then opens the next task. One
   * at a time: the editor's own guard against a second press lasts half a second. */
  const save = async (annotation, [method, path, body], done) => {
    if (busy || finished) return;
    busy = true;
    const key = annotation?.id;
    annotation?.pauseAutosave?.();
    await draftSaves;
    let saved;
    try {
      saved = await api(method, path, { ...body, draft_id: draftIds.get(key) });
    } catch (err) {
      busy = false;
      annotation?.startAutosave?.();
      toast(`Task #${task.id} was not saved: ${err.message}`, 'error');
      return;
    }
    finished = true;
    draftIds.delete(key);
    // Saved: the editor now knows it by its id (a second Ctrl+Enter updates, never submits
    // it twice).
    if (saved?.id && annotation && !annotation.pk) annotation.updatePersonalKey?.(String(saved.id));
    toast(done);
    try {
      await goNext(projectId, task.id);
    } catch (err) {
      toast(`The next task could not be found: ${err.message}`, 'error');
      navigate(`/projects/${projectId}/label`);
    }
  };

  const saveDraftNow = (annotation) => {
    const key = annotation.id;
    const pk = annotation.pk;
    const draft = { result: annotation.versions.draft ?? annotation.serializeAnnotation(), lead_time: leadTime() };
    // A draft sent while the page goes away must outlive it; browsers carry such a request
    // only up to 64 KiB.
    const keepalive = leaving && JSON.stringify(draft).length < 60000;
    draftSaves = draftSaves.then(async () => {
      if (finished) return;
      const id = draftIds.get(key);
      if (id) {
        await api('PATCH', `/api/drafts/${id}/`, draft, { keepalive });
        return;
      }
      const path = pk ? `/api/tasks/${task.id}/annotations/${pk}/drafts` : `/api/tasks/${task.id}/drafts`;
      const saved = await api('POST', path, draft, { keepalive });
      draftIds.set(key, saved.id);
      try {
        annotation.setDraftId(saved.id);
      } catch { /* saved while leaving: the editor is gone, the draft is kept */ }
    }).catch((err) => toast(`The draft of task #${task.id} was not saved: ${err.message}`, 'error'));
    return draftSaves;
  };

  return {
    /** Once the editor holds the task: ties the drafts it shows to their ids, then opens
     * the user's draft of a new annotation, else the user's own annotation, else a new one
     * started from the first prediction (as Label Studio does) or empty. */
    load(ls) {
      editorStore = ls;
      const store = ls.annotationStore;
      for (const annotation of store.annotations) {
        const draft = annotation.pk
          ? drafts.find((d) => d.annotation === Number(annotation.pk))
          : newAnnotationDraft(drafts);
        if (!draft) continue;
        annotation.setDraftId(draft.id);
        draftIds.set(annotation.id, draft.id);
      }
      const own = task.annotations.filter((a) => !a.was_cancelled && a.completed_by === user.id).map((a) => String(a.id));
      const chosen = store.annotations.find((a) => !a.pk)
        || store.annotations.find((a) => own.includes(String(a.pk)));
      if (chosen) {
        store.selectAnnotation(chosen.id);
        return;
      }
      const first = (task.predictions || [])[0];
      const prediction = first && store.predictions.find((p) => String(p.pk) === String(first.id));
      const started = prediction ? store.addAnnotationFromPrediction(prediction) : store.addAnnotation({ userGenerate: true });
      store.selectAnnotation(started.id);
    },
    submit: (ls, annotation) => save(annotation,
      ['POST', `/api/tasks/${task.id}/annotations/`, fields(annotation, { was_cancelled: false })],
      `Task #${task.id} submitted`),
    // A submit the server refused leaves the editor showing Update without an id: that
    // one is still to be created.
    update: (ls, annotation) => save(annotation, annotation.pk
      ? ['PATCH', `/api/annotations/${annotation.pk}/`, fields(annotation)]
      : ['POST', `/api/tasks/${task.id}/annotations/`, fields(annotation, { was_cancelled: false })],
    `Annotation of task #${task.id} updated`),
    /** As Label Studio: a skipped annotation is kept, marked cancelled; a saved one is
     * changed into a cancelled one, not copied. */
    skip: (ls) => {
      const annotation = ls.annotationStore.selected;
      const body = fields(annotation, { was_cancelled: true });
      return save(annotation, annotation?.pk && annotation.type !== 'prediction'
        ? ['PATCH', `/api/annotations/${annotation.pk}/`, body]
        : ['POST', `/api/tasks/${task.id}/annotations/`, body],
      `Task #${task.id} skipped`);
    },
    /** The editor's delete: the annotation goes from the server too (or, never submitted,
     * its draft). */
    remove: async (ls, annotation) => {
      // The editor cannot show a task with no annotation selected (it fails drawing it):
      // before the last one goes, start an empty one for it to select instead.
      const store = ls.annotationStore;
      if (store.annotations.length === 1) store.addAnnotation({ userGenerate: true });
      const draftId = draftIds.get(annotation.id);
      try {
        if (annotation.pk) await api('DELETE', `/api/annotations/${annotation.pk}/`);
        else if (draftId) await api('DELETE', `/api/drafts/${draftId}/`);
        draftIds.delete(annotation.id);
        if (annotation.pk) toast(`Annotation #${annotation.pk} deleted`);
      } catch (err) {
        toast(`The annotation was not deleted: ${err.message}`, 'error');
      }
    },
    saveDraft: (ls, annotation) => (finished ? Promise.resolve() : saveDraftNow(annotation)),
    /** Saves a change the autosave has not sent yet: the user is leaving the task. */
    flushDraft() {
      if (finished || !editorStore) return;
      leaving = true;
      editorStore.annotationStore?.selected?.autosave?.flush?.();
    },
  };
}

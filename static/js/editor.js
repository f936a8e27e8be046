// Label Studio's own editor (the pinned npm package build.rs embeds under /static/<build>/
// editor/): loaded on first use, its stylesheet present only while a screen shows it (its
// global styles would restyle the other screens), one instance at a time.

const BASE = new URL('../editor/', import.meta.url);
let script = null;
let openEditors = 0;

/** The editor binds its shortcuts on `document` and never unbinds them (Enter focuses a
 * region, and so stops Enter from pressing our buttons). While no editor is open, key
 * presses stop at <html>, after every handler of the page has seen them but before
 * `document`, where only the editor listens for them. */
function keepShortcutsToTheEditor() {
  document.documentElement.addEventListener('keydown', (event) => {
    if (openEditors === 0) event.stopPropagation();
  });
}

/** Resolves with the `LabelStudio` constructor once the editor's script has run. A screen
 * calls it first thing, so the script loads while the screen waits for the API. */
export function loadScript() {
  script ??= new Promise((resolve, reject) => {
    const tag = document.createElement('script');
    tag.src = new URL('main.js', BASE).href;
    tag.onload = () => {
      if (!window.LabelStudio) {
        reject(new Error('The labeling editor loaded but did not start.'));
        return;
      }
      keepShortcutsToTheEditor();
      performance.mark('labelsync:editor-script');
      resolve(window.LabelStudio);
    };
    tag.onerror = () => { script = null; reject(new Error('The labeling editor could not be loaded. Is labelsync still running?')); };
    document.head.append(tag);
  });
  return script;
}

function addStylesheet() {
  const link = document.createElement('link');
  link.rel = 'stylesheet';
  link.href = new URL('main.css', BASE).href;
  link.dataset.editor = '';
  document.head.append(link);
  return link;
}

/** Opens the editor in `host` with Label Studio's options; returns `{ ls, close }`. The
 * options' `onStorageInitialized` runs once it holds the task; `close()` destroys it (once
 * it has started: before, the editor cannot be stopped, so it is stopped as it starts),
 * cancels its pending autosaves and takes its styles away. */
export async function openEditor(host, options) {
  const stylesheet = addStylesheet();
  let LabelStudio;
  try {
    LabelStudio = await loadScript();
  } catch (err) {
    stylesheet.remove();
    throw err;
  }
  let started = false;
  let closed = false;
  const destroy = () => {
    try {
      for (const annotation of ls.store?.annotationStore?.annotations ?? []) annotation.pauseAutosave?.();
      ls.destroy();
    } catch { /* already gone with its element */ }
  };
  const ls = new LabelStudio(host, {
    ...options,
    onStorageInitialized: (store) => {
      started = true;
      if (closed) destroy();
      else options.onStorageInitialized?.(store);
    },
  });
  openEditors += 1;
  return {
    ls,
    close: () => {
      if (closed) return;
      closed = true;
      openEditors -= 1;
      stylesheet.remove();
      if (started) destroy();
    },
  };
}

/** What the editor shows on each screen: Label Studio's panels, minus its own navigation. */
export const LABELING_INTERFACES = [
  'panel', 'update', 'submit', 'skip', 'controls', 'infobar', 'topbar', 'instruction', 'side-column',
  'annotations:history', 'annotations:tabs', 'annotations:menu', 'annotations:current',
  'annotations:add-new', 'annotations:delete', 'annotations:view-all',
  'predictions:tabs', 'predictions:menu', 'edit-history',
];

/** A preview needs no buttons: only the config drawn over one task's data. */
export const PREVIEW_INTERFACES = ['side-column', 'annotations:current'];

// Settings > Cloud Storage: source and target columns of storage cards. A card follows a
// running sync live (polling its storage every second) and opens the error log of a
// failed one; Add / Edit open the wizard (wizard/).

import { api, get } from './api.js';
import { h, fill, openDialog, confirmDialog, formatSyncTime, toast } from './dom.js';
import { setCrumbs, projectCrumbs, projectTabs, providerIcon } from './layout.js';
import { loadProviders, storageBase, locationOf } from './providers.js';
import { openWizard } from './wizard/index.js';

const POLL_MS = 1000;
const RUNNING = ['queued', 'in_progress'];
const INTRO = 'Use cloud or database storage as the source for your labeling tasks or the target of your completed annotations.';

export async function render(main, [projectId], query) {
  const fetchStorages = () => Promise.all([
    get(`/api/storages/?project=${projectId}`),
    get(`/api/storages/export?project=${projectId}`),
  ]);
  // The first listing starts with the project's request, not after it.
  let firstListing = fetchStorages();
  firstListing.catch(() => {});
  const [project, providers] = await Promise.all([get(`/api/projects/${projectId}/`), loadProviders()]);
  setCrumbs(projectCrumbs(project, { label: 'Settings', href: `/projects/${projectId}/settings` }, { label: 'Cloud Storage' }));
  const timers = new Set();
  const page = h('section', { class: 'page storage-page' });
  fill(main, page);

  const columns = {
    import: column('import', 'Source Cloud Storage', 'Add Source Storage'),
    export: column('export', 'Target Cloud Storage', 'Add Target Storage'),
  };
  function column(direction, title, addLabel) {
    const list = h('div', { class: 'storage-list', 'aria-busy': 'true' }, h('p', { class: 'muted' }, 'Loading…'));
    const element = h('section', { class: 'storage-column', dataset: { direction } },
      h('h2', {}, title),
      h('button', { class: 'outline block', onclick: () => add(direction) }, addLabel),
      list);
    return { element, list, storages: [] };
  }
  const add = (direction) => openWizard({ project, direction, onSaved: reload });
  const edit = (storage, direction) => openWizard({ project, direction, storage, onSaved: reload });

  async function reload() {
    const [sources, targets] = await (firstListing || fetchStorages());
    firstListing = null;
    columns.import.storages = sources;
    columns.export.storages = targets;
    draw();
  }

  function draw() {
    const none = !columns.import.storages.length && !columns.export.storages.length;
    fill(page,
      h('div', { class: 'page-head' }, h('h1', {}, project.title), projectTabs(project, 'storage')),
      h('h2', { class: 'section-title' }, 'Cloud Storage'),
      none ? emptyState(add, providers) : [
        h('p', { class: 'muted intro' }, INTRO),
        h('div', { class: 'storage-grid' }, columns.import.element, columns.export.element),
      ]);
    for (const direction of ['import', 'export']) {
      const col = columns[direction];
      col.list.removeAttribute('aria-busy');
      fill(col.list, col.storages.map((s) => storageCard(s, direction, { edit, reload, project, timers, providers })));
    }
  }

  await reload();
  if (query.get('open') === 'source' || query.get('open') === 'target') {
    history.replaceState(null, '', window.location.pathname);
    add(query.get('open') === 'source' ? 'import' : 'export');
  }
  return () => { for (const t of timers) clearTimeout(t); timers.clear(); };
}

function emptyState(add, providers) {
  return h('div', { class: 'empty storage-empty' },
    h('div', { class: 'cloud', 'aria-hidden': 'true' }, '☁'),
    h('h2', {}, 'Add your first cloud storage'),
    h('p', {}, INTRO),
    h('ul', { class: 'provider-icons' }, providers.map((p) => h('li', { title: p.label }, providerIcon(p.name)))),
    h('div', { class: 'row' },
      h('button', { class: 'primary', onclick: () => add('import') }, 'Add Source Storage'),
      h('button', { class: 'primary', onclick: () => add('export') }, 'Add Target Storage')),
    h('a', { href: 'https://labelstud.io/guide/storage.html', target: '_blank', rel: 'noopener' }, 'Learn more'));
}

/** Status code → "In progress". */
function statusText(status) {
  const text = (status || 'initialized').replace(/_/g, ' ');
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function storageCard(initial, direction, ctx) {
  const card = h('article', { class: 'storage-card', dataset: { storageId: initial.id, type: initial.type } });
  let storage = initial;
  let justSynced = false;

  const poll = (wait = POLL_MS) => {
    const timer = setTimeout(async () => {
      ctx.timers.delete(timer);
      if (!card.isConnected) return;
      try {
        storage = await get(`${storageBase(direction, storage.type)}/${storage.id}`);
        draw();
      } catch (err) {
        toast(`Could not refresh storage ${storage.id}: ${err.message}`, 'error');
      }
    }, wait);
    ctx.timers.add(timer);
  };

  const sync = async (button) => {
    button.disabled = true;
    button.classList.add('busy');
    try {
      storage = await api('POST', `${storageBase(direction, storage.type)}/${storage.id}/sync`);
      justSynced = true;
    } catch (err) {
      openDialog({ title: 'Sync failed to start', body: h('p', { class: 'error' }, err.message) });
    }
    draw();
  };

  const remove = async () => {
    const ok = await confirmDialog('Deleting storage',
      direction === 'import'
        ? 'This action cannot be undone. Are you sure? Tasks already imported stay in the project; the storage\'s files are not touched.'
        : 'This action cannot be undone. Are you sure? Annotations already exported stay in the storage.');
    if (!ok) return;
    try {
      await api('DELETE', `${storageBase(direction, storage.type)}/${storage.id}`);
      toast('Storage deleted');
      await ctx.reload();
    } catch (err) {
      toast(err.message, 'error');
    }
  };

  function draw() {
    const provider = ctx.providers.find((p) => p.name === storage.type);
    const running = RUNNING.includes(storage.status);
    const meta = storage.meta || {};
    const syncButton = h('button', { class: 'outline sync-button', disabled: running, onclick: (e) => sync(e.currentTarget) }, running ? 'Syncing…' : 'Sync Storage');
    fill(card,
      h('header', { class: 'card-head' },
        h('h3', { title: storage.title || '' }, (storage.title || `Untitled ${storage.type}`).slice(0, 70)),
        cardMenu(storage, () => ctx.edit(storage, direction), remove)),
      h('dl', { class: 'summary' },
        row('Type', provider ? provider.label : storage.type),
        locationOf(provider, storage).map(([label, value]) => row(label, value)),
        row('Status', statusCell(storage, direction, ctx.project), 'status', STATUS_HELP),
        direction === 'import'
          ? row('Tasks', `${(meta.tasks_existed || 0) + (storage.last_sync_count || 0)} (${storage.last_sync_count || 0} new)`, 'counts',
            `${storage.last_sync_count || 0} new tasks added during the last sync; ${meta.tasks_existed || 0} found and already synced were not added again`)
          : row('Annotations', `${storage.last_sync_count || 0} (${meta.total_annotations || 0} total)`, 'counts',
            'annotations saved during the last sync (total annotations seen in the project at the sync moment)'),
        row('Last Sync', formatSyncTime(storage.last_sync)),
        storage.sync_interval ? row('Schedule', scheduleText(storage), 'schedule',
          'This storage syncs by itself every so many minutes (sync_interval)') : null,
        storage.watch ? row('Watching', watchText(meta), 'watching',
          'New files in the folder become tasks within a second') : null,
        meta.objects_vanished || meta.objects_changed ? row('Objects', objectChanges(storage), 'object-changes',
          'Objects the tasks came from that the last sync no longer found (vanished), or found different (changed)') : null),
      running ? progress(storage, direction) : null,
      meta.export_error ? h('p', { class: 'warning', role: 'alert' }, `Export problem: ${meta.export_error}`) : null,
      h('footer', {}, syncButton,
        justSynced && !running ? h('p', { class: 'muted note' }, 'The last sync has finished.') : null));
    // A storage that keeps itself current is followed while the card is open, more
    // slowly between syncs: its counts rise and its next sync comes near.
    if (running) poll();
    else if (storage.sync_interval || storage.watch) poll(IDLE_POLL_MS);
  }
  draw();
  return card;
}

/** How often the card of a scheduled or watched storage refreshes between syncs. */
const IDLE_POLL_MS = 1000;

/** "every 5 min · next sync in 4 min". */
function scheduleText(storage) {
  const every = `every ${minutes(storage.sync_interval * 60)}`;
  if (!storage.next_sync_at) return `${every} · syncing now`;
  const seconds = (new Date(storage.next_sync_at) - Date.now()) / 1000;
  return `${every} · ${seconds <= 1 ? 'next sync due now' : `next sync in ${minutes(seconds)}`}`;
}

function minutes(seconds) {
  if (seconds < 60) return `${Math.max(1, Math.round(seconds))} s`;
  return `${Math.round(seconds / 60)} min`;
}

/** How the folder is watched: inotify, or polling with the reason. */
function watchText(meta) {
  const watch = meta.watch || {};
  if (watch.mode === 'polling') return `by polling (${watch.reason || 'watching is not possible here'})`;
  if (watch.mode === 'events') return 'yes, file events';
  return 'starting…';
}

const STATUS_HELP = 'Initialized: added, not synced yet. Queued: the sync waits to start. In progress: '
  + 'the sync is running. Completed: the last sync ended well. Completed with errors: some files could not '
  + 'be imported (View Logs). Failed: the sync stopped (View Logs).';

function row(term, value, name, help) {
  return h('div', { class: name ? `dl-row ${name}` : 'dl-row' },
    h('dt', {}, term, help ? h('span', { class: 'help', title: help, 'aria-label': help }, 'i') : null),
    h('dd', {}, value));
}

/** Live counters of a running sync: the better-than-Label-Studio part of the card. */
function progress(storage, direction) {
  const meta = storage.meta || {};
  const elapsed = typeof meta.duration === 'number' ? `${meta.duration.toFixed(1)} s` : '0.0 s';
  const counts = direction === 'import'
    ? [['scanned', meta.objects_scanned], ['created', meta.tasks_created], ['skipped', meta.tasks_existed], ['failed', meta.files_failed]]
    : [['seen', meta.total_annotations], ['exported', meta.annotations_exported], ['failed', meta.annotations_failed]];
  return h('div', { class: 'progress', role: 'status', 'aria-live': 'polite' },
    h('div', { class: 'bar', 'aria-hidden': 'true' }, h('span', {})),
    h('p', {}, storage.status === 'queued' ? 'Waiting to start… ' : 'Syncing: ',
      counts.filter(([, n]) => n !== undefined).map(([label, n]) => h('span', { class: `count-${label}` }, `${Number(n).toLocaleString()} ${label} · `)),
      h('span', { class: 'elapsed' }, `${elapsed} elapsed`)));
}

function statusCell(storage, direction, project) {
  const text = statusText(storage.status);
  if (storage.status === 'failed' || (storage.status === 'completed_with_errors' && storage.traceback)) {
    return h('button', {
      class: `link status-link ${storage.status === 'failed' ? 'danger-text' : 'warning-text'}`,
      onclick: () => errorLog(storage, direction, project),
    }, `${text} (View Logs)`);
  }
  return h('span', { class: `status-${storage.status}` }, text);
}

function cardMenu(storage, onEdit, onDelete) {
  const menu = h('div', { class: 'menu', role: 'menu', hidden: true });
  const toggle = h('button', {
    class: 'icon kebab', 'aria-label': `Actions for ${storage.title || storage.type}`, 'aria-haspopup': 'menu', 'aria-expanded': 'false',
    onclick: () => open(menu.hidden),
  }, '⋮');
  const open = (show) => {
    menu.hidden = !show;
    toggle.setAttribute('aria-expanded', String(show));
    if (show) menu.querySelector('button').focus();
  };
  const item = (label, action) => h('button', { role: 'menuitem', onclick: () => { open(false); action(); } }, label);
  fill(menu, item('Edit', onEdit), item('Delete', onDelete));
  const wrap = h('div', { class: 'menu-wrap', onkeydown: (e) => { if (e.key === 'Escape') { open(false); toggle.focus(); } } }, toggle, menu);
  wrap.addEventListener('focusout', (e) => { if (!wrap.contains(e.relatedTarget)) open(false); });
  return wrap;
}

/** "2 vanished · 1 changed", opening the sync log with their keys. */
function objectChanges(storage) {
  const meta = storage.meta || {};
  const text = [meta.objects_vanished ? `${meta.objects_vanished} vanished` : null,
    meta.objects_changed ? `${meta.objects_changed} changed` : null].filter(Boolean).join(' · ');
  return h('button', { class: 'link', onclick: () => syncLog(storage) }, `${text} (View Sync Log)`);
}

function syncLog(storage) {
  const meta = storage.meta || {};
  const section = (title, count, keys, note) => (count ? [
    h('h3', {}, `${title}: ${count}`),
    note ? h('p', { class: 'muted' }, note) : null,
    h('ul', { class: `object-keys ${title.toLowerCase()}` }, (keys || []).map((key) => h('li', {}, key))),
    count > (keys || []).length ? h('p', { class: 'muted' }, `and ${count - keys.length} more`) : null,
  ] : []);
  openDialog({
    title: 'Sync log',
    subtitle: `${storage.title || storage.type}: last sync ${formatSyncTime(storage.last_sync)}`,
    body: h('div', { class: 'sync-log' },
      section('Vanished', meta.objects_vanished, meta.vanished_keys,
        meta.tasks_removed ? `${meta.tasks_removed} tasks nobody had annotated were removed; the others are flagged (Data Manager filter "Storage object").` : 'Their tasks are flagged (Data Manager filter "Storage object").'),
      section('Changed', meta.objects_changed, meta.changed_keys,
        meta.tasks_reimported ? `${meta.tasks_reimported} tasks were imported again from changed task files.` : 'Their tasks are flagged (Data Manager filter "Storage object").')),
  });
}

function errorLog(storage, direction, project) {
  const kind = direction === 'import' ? '' : 'export ';
  const text = `Error logs for ${kind}${storage.type} storage ${storage.id} in project ${project.id} and job ${storage.last_sync_job || 'none'}:\n\n`
    + `${storage.traceback || 'No error text was recorded.'}\n\nmeta = ${JSON.stringify(storage.meta || {}, null, 2)}`;
  const copy = async (button) => {
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      // Clipboard permission refused (plain http, old browser): select the text instead.
      const range = document.createRange();
      range.selectNodeContents(pre);
      getSelection().removeAllRanges();
      getSelection().addRange(range);
      document.execCommand('copy');
    }
    button.textContent = 'Copied';
  };
  const pre = h('pre', { class: 'error-log', tabindex: 0 }, text);
  openDialog({
    title: 'Storage Sync Error Log',
    wide: true,
    body: [pre, h('p', { class: 'right' }, h('a', { href: 'https://labelstud.io/guide/storage.html', target: '_blank', rel: 'noopener' },
      `Check ${direction === 'import' ? 'Source' : 'Target'} Storage documentation`))],
    footer: [h('button', { class: 'outline', onclick: (e) => copy(e.currentTarget) }, 'Copy'),
      h('button', { class: 'primary', onclick: (e) => e.target.closest('dialog').close() }, 'Close')],
  });
}

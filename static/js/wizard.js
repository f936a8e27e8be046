// The add / edit storage wizard: Select Provider → Configure Connection (Test Connection)
// → Import Settings & Preview → Review & Confirm (sources); targets stop after step 2.
// The server validates everything again; its field errors land on the fields.

import { api } from './api.js';
import { h, fill, openDialog, relativeTime, humanSize, middleEllipsis, relativeKey, toast } from './dom.js';
import { PROVIDERS, ENTERPRISE_PROVIDERS, providerByName, connectionFields, importPrefixField } from './providers.js';
import { providerIcon, storageBase } from './storage_settings.js';

/** Edit mode shows stored secrets as this placeholder; it is never sent back. */
const SECRET_PLACEHOLDER = '••••••••••••••••';
const PREVIEW_LIMIT = 30;
const FILTER_CHIPS = {
  files: [['Images', '.*\\.(jpe?g|png|gif|bmp|webp|tiff?)$'], ['Videos', '.*\\.(mp4|webm|mov|avi|mkv)$'],
    ['Audio', '.*\\.(mp3|wav|ogg|flac|m4a)$'], ['Tabular', '.*\\.(csv|tsv)$']],
  tasks: [['JSON', '.*\\.json$'], ['JSONL', '.*\\.jsonl$'], ['All Tasks Files', '.*\\.(json|jsonl)$']],
};
const IMPORT_FIELDS = ['regex_filter', 'use_blob_urls', 'recursive_scan'];

export function openWizard({ project, direction, storage, onSaved }) {
  const editing = Boolean(storage);
  const source = direction === 'import';
  const state = {
    step: 0,
    provider: editing ? providerByName(storage.type) : PROVIDERS[0],
    values: {},
    tested: editing,
    testReport: null,
    preview: null,
    errors: {},
    message: '',
    busy: false,
  };
  const steps = [
    ...(editing ? [] : ['Select Provider']),
    'Configure Connection',
    ...(source ? ['Import Settings & Preview', 'Review & Confirm'] : []),
  ];
  initValues();

  function initValues() {
    const p = state.provider;
    const values = { title: storage?.title || '' };
    for (const f of connectionFields(p, direction)) {
      if (editing) values[f.name] = f.secret ? SECRET_PLACEHOLDER : storage[f.name] ?? '';
      else values[f.name] = f.defaultFor ? f.defaultFor[direction] : f.default ?? '';
    }
    if (source) {
      const prefix = importPrefixField(p);
      if (prefix) values[prefix.name] = editing ? storage[prefix.name] ?? '' : '';
      values.use_blob_urls = editing ? Boolean(storage.use_blob_urls) : true;
      values.regex_filter = editing ? storage.regex_filter ?? '' : '';
      values.recursive_scan = editing ? Boolean(storage.recursive_scan) : false;
    }
    state.values = values;
  }

  const stepper = h('ol', { class: 'stepper' });
  const body = h('div', { class: 'wizard-body' });
  const footer = h('div', { class: 'wizard-foot' });
  const { close } = openDialog({
    title: `${editing ? 'Edit' : 'Connect'} ${source ? 'Source' : 'Target'} Storage`,
    subtitle: source ? 'Import your data from cloud storage providers' : 'Export your annotations to cloud storage providers',
    wide: true,
    body: [stepper, body],
    footer,
  });
  draw();

  // ---- request bodies ---------------------------------------------------------------

  /** The API body: the provider's fields for this direction, secrets left out unless typed. */
  function payload({ withId = editing } = {}) {
    const p = state.provider;
    const fields = connectionFields(p, direction);
    const out = { project: project.id, title: state.values.title };
    for (const f of fields) {
      const value = state.values[f.name];
      if (f.secret && (value === SECRET_PLACEHOLDER || value === '')) continue;
      if (f.type === 'toggle') out[f.name] = Boolean(value);
      else if (f.type === 'number') out[f.name] = value === '' ? null : Number(value);
      else out[f.name] = value === '' ? null : value;
    }
    if (source) {
      const prefix = importPrefixField(p);
      if (prefix) out[prefix.name] = state.values[prefix.name] || null;
      for (const name of IMPORT_FIELDS) out[name] = state.values[name];
      out.regex_filter = state.values.regex_filter || null;
    }
    if (withId) out.id = storage.id;
    return out;
  }

  function showFailure(err) {
    state.errors = err.fields || {};
    const fieldNames = Object.keys(state.errors).filter((k) => k !== 'non_field_errors');
    state.message = state.errors.non_field_errors ? [].concat(state.errors.non_field_errors).join(' ')
      : fieldNames.length ? 'Some fields need a fix: see the messages under them.' : err.message;
    // Go to the step that holds the first field in error.
    const first = fieldNames[0];
    if (first) {
      const onImportStep = source && (IMPORT_FIELDS.includes(first) || first === importPrefixField(state.provider)?.name)
        && !connectionFields(state.provider, direction).some((f) => f.name === first);
      state.step = steps.indexOf(onImportStep ? 'Import Settings & Preview' : 'Configure Connection');
    }
  }

  async function run(action) {
    state.busy = true;
    state.message = '';
    draw();
    try {
      await action();
    } catch (err) {
      showFailure(err);
    } finally {
      state.busy = false;
      draw();
    }
  }

  function testConnection() {
    return run(async () => {
      state.errors = {};
      const report = await api('POST', `${storageBase(direction, state.provider.name)}/validate`, payload());
      state.tested = true;
      state.testReport = report;
    });
  }

  function loadPreview() {
    return run(async () => {
      state.errors = {};
      const answer = await api('POST', `/api/storages/${state.provider.name}/files`, { ...payload(), limit: PREVIEW_LIMIT });
      state.preview = answer.files;
    });
  }

  function save(thenSync) {
    return run(async () => {
      state.errors = {};
      const base = storageBase(direction, state.provider.name);
      const saved = editing
        ? await api('PATCH', `${base}/${storage.id}`, payload({ withId: false }))
        : await api('POST', base, payload({ withId: false }));
      if (thenSync) {
        try {
          await api('POST', `${base}/${saved.id}/sync`);
        } catch (err) {
          toast(`Saved, but the sync did not start: ${err.message}`, 'error');
        }
      }
      toast(`Storage "${saved.title || saved.type}" saved`);
      close();
      onSaved?.();
    });
  }

  // ---- drawing ----------------------------------------------------------------------

  function draw() {
    const name = steps[state.step];
    fill(stepper, steps.map((label, i) => h('li', {
      class: i < state.step ? 'done' : i === state.step ? 'current' : '',
      'aria-current': i === state.step ? 'step' : null,
    }, h('button', {
      class: 'step', disabled: !(editing || i < state.step) || state.busy,
      onclick: () => { state.step = i; state.message = ''; draw(); },
    }, h('span', { class: 'step-no' }, i < state.step ? '✓' : i + 1), label))));
    const content = {
      'Select Provider': providerStep,
      'Configure Connection': connectionStep,
      'Import Settings & Preview': importStep,
      'Review & Confirm': reviewStep,
    }[name]();
    fill(body, content, state.message ? h('p', { class: 'error inline-error', role: 'alert' }, state.message) : null);
    fill(footer, buttons(name));
  }

  function buttons(name) {
    const last = state.step === steps.length - 1;
    const prev = state.step > 0 ? h('button', { class: 'outline', disabled: state.busy, onclick: () => { state.step -= 1; state.message = ''; draw(); } }, 'Previous') : h('span', {});
    const next = (enabled, title) => h('button', {
      class: 'primary', disabled: !enabled || state.busy, title,
      onclick: () => { state.step += 1; state.message = ''; draw(); },
    }, 'Next');
    const right = [];
    if (name === 'Select Provider') right.push(next(true));
    if (name === 'Configure Connection') {
      right.push(h('button', { class: state.tested ? 'outline verified' : 'primary', disabled: state.busy, onclick: testConnection },
        state.busy ? 'Testing…' : state.tested && state.testReport ? 'Connection Verified' : 'Test Connection'));
      if (last) right.push(h('button', { class: 'primary', disabled: !state.tested || state.busy, title: state.tested ? null : 'Test connection before continuing', onclick: () => save(false) }, 'Save'));
      else right.push(next(state.tested, state.tested ? null : 'Test connection before continuing'));
    }
    if (name === 'Import Settings & Preview') right.push(next(true));
    if (name === 'Review & Confirm') {
      right.push(h('button', { class: 'outline', disabled: state.busy, onclick: () => save(false) }, 'Save'));
      right.push(h('button', { class: 'primary', disabled: state.busy, onclick: () => save(true) }, 'Save & Sync'));
    }
    return [prev, h('span', { class: 'grow' }), right];
  }

  function providerStep() {
    const tile = (p) => h('button', {
      class: p === state.provider ? 'provider-tile selected' : 'provider-tile', 'aria-pressed': String(p === state.provider),
      dataset: { provider: p.name },
      onclick: () => { state.provider = p; state.tested = false; state.testReport = null; state.preview = null; state.errors = {}; initValues(); draw(); },
    }, providerIcon(p.name), h('strong', {}, p.title), h('span', { class: 'muted' }, p.description));
    return [
      h('h3', {}, 'Choose your cloud storage provider'),
      h('p', { class: 'muted' }, 'Select the cloud storage service where your data is stored'),
      h('div', { class: 'provider-grid' }, PROVIDERS.map(tile),
        ENTERPRISE_PROVIDERS.map((p) => h('div', { class: 'provider-tile disabled', 'aria-disabled': 'true' },
          h('strong', {}, p.title), h('span', { class: 'badge' }, 'Enterprise'), h('span', { class: 'muted' }, `${p.description} — not available in labelsync`)))),
    ];
  }

  function connectionStep() {
    const p = state.provider;
    const root = document.getElementById('app').dataset;
    const localBanner = p.name === 'localfiles' && root.localServing !== 'true'
      ? h('p', { class: 'warning' }, 'Local file serving is disabled: tasks can be created, but browsers cannot load the files. Start labelsync with LOCAL_FILES_SERVING_ENABLED=true (or --local-files-serving-enabled true) and restart.')
      : null;
    const fields = [
      { name: 'title', label: 'Storage Title', help: 'This name will help you identify this connection in your project',
        placeholder: "Enter a descriptive name (e.g., 'Legal Documents', 'Training Data')" },
      ...connectionFields(p, direction).map((f) => (f.localPath ? {
        ...f, placeholder: `${root.documentRoot.replace(/\/$/, '')}/my-folder`,
        help: `An absolute path inside the document root ${root.documentRoot}`,
      } : f)),
    ];
    return [
      h('h3', {}, p.title),
      h('p', { class: 'muted' }, `Configure your ${p.title} connection`),
      localBanner,
      h('div', { class: 'form-grid' }, fields.map((f) => fieldInput(f))),
      testResult(),
    ];
  }

  function testResult() {
    const report = state.testReport;
    if (!report) return null;
    const src = report.source;
    return h('div', { class: 'test-result success', role: 'status' },
      h('strong', {}, 'Successfully connected!'),
      src ? h('p', {}, `${src.objects.toLocaleString()}${src.truncated ? '+' : ''} objects found, `
        + `${src.matching.toLocaleString()} match the current filter.`,
      src.sample_keys.length ? h('span', { class: 'muted' }, ` For example: ${src.sample_keys.slice(0, 3).join(', ')}`) : null)
        : h('p', {}, 'A test object was written and removed: annotations can be saved here.'));
  }

  function fieldInput(f) {
    const value = state.values[f.name];
    const id = `f-${f.name}`;
    const errors = [].concat(state.errors[f.name] || []);
    const onChange = (v) => {
      state.values[f.name] = v;
      delete state.errors[f.name];
      if (!f.keepsTest) { state.tested = false; state.testReport = null; }
      state.preview = null;
    };
    let input;
    if (f.type === 'toggle') {
      input = h('input', { id, type: 'checkbox', role: 'switch', checked: Boolean(value), onchange: (e) => { onChange(e.target.checked); draw(); } });
      return h('div', { class: 'field toggle-field', dataset: { field: f.name } },
        h('label', { for: id, class: 'toggle' }, input, h('span', { class: 'label' }, f.label)),
        f.help ? h('p', { class: 'help-text' }, f.help) : null,
        errors.map((m) => h('p', { class: 'field-error' }, m)));
    }
    const common = {
      id, name: f.name, placeholder: f.placeholder || '', 'aria-invalid': errors.length ? 'true' : null,
      autocomplete: f.secret ? 'new-password' : 'off', spellcheck: 'false',
      oninput: (e) => { onChange(e.target.value); refreshButtons(); },
      onfocus: f.secret ? (e) => { if (e.target.value === SECRET_PLACEHOLDER) e.target.select(); } : null,
    };
    if (f.type === 'textarea') {
      input = h('textarea', { ...common, rows: 3, class: f.secret ? 'secret-area' : '' });
    } else if (f.type === 'number') {
      input = h('input', { ...common, type: 'number', min: f.min, max: f.max, disabled: f.name === 'presign_ttl' && !state.values.presign });
    } else {
      input = h('input', { ...common, type: f.secret ? 'password' : 'text' });
    }
    input.value = value ?? '';
    return h('div', { class: errors.length ? 'field invalid' : 'field', dataset: { field: f.name } },
      h('label', { for: id, class: 'label' }, f.label, f.required ? h('span', { class: 'req' }, ' Required') : null),
      f.help ? h('p', { class: 'help-text' }, f.help) : null,
      input,
      errors.map((m) => h('p', { class: 'field-error' }, m)));
  }

  /** Typing changes which buttons are enabled, without redrawing the input being typed in. */
  function refreshButtons() {
    fill(footer, buttons(steps[state.step]));
    body.querySelector('.test-result')?.remove();
  }

  function importStep() {
    const prefixField = importPrefixField(state.provider);
    const method = state.values.use_blob_urls ? 'files' : 'tasks';
    const changed = () => { state.preview = null; draw(); };
    const regex = fieldInput({ name: 'regex_filter', label: 'File Name Filter (optional)', keepsTest: true,
      help: 'Use regex patterns to filter which files are imported',
      placeholder: method === 'files' ? '.*\\.(jpg|png)$ - imports only JPG, PNG files' : '.*\\.(json|jsonl)$ - imports task definitions' });
    regex.append(h('div', { class: 'chips', role: 'group', 'aria-label': 'Common filters' }, h('span', { class: 'muted' }, 'Common filters:'),
      FILTER_CHIPS[method].map(([label, pattern]) => h('button', {
        type: 'button', class: 'chip', onclick: () => { state.values.regex_filter = pattern; changed(); },
      }, label))));
    const methodSelect = h('select', { id: 'f-use_blob_urls', onchange: (e) => {
      state.values.use_blob_urls = e.target.value === 'files'; state.values.regex_filter = ''; changed();
    } },
    h('option', { value: 'files', selected: method === 'files' }, 'Files - Automatically creates a task for each storage object (e.g. JPG, MP3, TXT)'),
    h('option', { value: 'tasks', selected: method === 'tasks' }, 'Tasks - Treat each JSON or JSONL file as one or more task definitions'));
    const left = h('div', { class: 'import-config' },
      h('h4', {}, 'Import Configuration'),
      prefixField ? fieldInput({ ...prefixField, keepsTest: true }) : null,
      h('div', { class: 'field', dataset: { field: 'use_blob_urls' } },
        h('label', { for: 'f-use_blob_urls', class: 'label' }, 'Import Method (optional)'),
        h('p', { class: 'help-text' }, 'Choose how to interpret your data from storage'), methodSelect),
      regex,
      fieldInput({ name: 'recursive_scan', label: 'Scan all sub-folders', type: 'toggle', help: 'Include files from all nested folders', keepsTest: true }));
    // Inputs of this step clear the preview as the user types.
    left.addEventListener('input', () => { if (state.preview) { state.preview = null; fill(previewBox, previewList()); } });
    const previewBox = h('div', { class: 'preview-list', tabindex: 0 }, previewList());
    const right = h('div', { class: 'files-preview' },
      h('h4', {}, 'Files Preview'), previewBox,
      h('button', { class: state.preview ? 'outline' : 'primary', disabled: state.busy, onclick: loadPreview },
        state.busy ? 'Loading…' : state.preview ? 'Preview Loaded' : 'Load Preview'));
    return [
      h('h3', {}, 'Configure Import Settings & Preview Data'),
      h('p', { class: 'muted' }, 'Set up filters for your files and preview what will be synchronized'),
      h('div', { class: 'two-col' }, left, right),
    ];
  }

  function previewList() {
    if (!state.preview) {
      return h('div', { class: 'preview-empty' }, h('strong', {}, 'No Preview Available'),
        h('p', { class: 'muted' }, 'Configure your import settings and click "Load Preview" to see a sample of files that will be imported.'));
    }
    const files = state.preview.filter(Boolean);
    if (!files.length) {
      return h('div', { class: 'preview-empty' }, h('strong', {}, 'No Files Found'),
        h('p', { class: 'muted' }, 'No files matching your current criteria were found. Try adjusting your filter settings and reload the preview.'));
    }
    const root = scanRoot();
    return h('ul', { class: 'files' }, files.map((f) => h('li', { class: 'file-row' },
      h('span', { class: 'key', title: f.key }, middleEllipsis(relativeKey(f.key, root), 44)),
      h('span', { class: 'muted' }, relativeTime(f.last_modified)),
      h('span', { class: 'muted size' }, humanSize(f.size)))),
    state.preview.includes(null) ? h('li', { class: 'muted truncated' }, '... preview limit reached ...') : null);
  }

  /** The folder the listing starts from: Local Files' path or the bucket prefix. */
  function scanRoot() {
    const prefixField = importPrefixField(state.provider);
    return (prefixField ? state.values[prefixField.name] : state.values.path) || '';
  }

  function reviewStep() {
    const v = state.values;
    const p = state.provider;
    const prefixField = importPrefixField(p);
    const location = p.location.map(([label, field]) => [label, typeof field === 'function' ? field(v) : v[field]]);
    const files = (state.preview || []).filter(Boolean);
    const rows = [
      ['Provider', p.title],
      ['Title', v.title || `Untitled ${p.name}`],
      ...location,
      prefixField ? [prefixField.label.replace(' (optional)', ''), v[prefixField.name] || '(root)'] : null,
      ['Import method', v.use_blob_urls ? 'Files: one task per object' : 'Tasks: JSON / JSON Lines task definitions'],
      ['File name filter', v.regex_filter || 'All files'],
      ['Scan all sub-folders', v.recursive_scan ? 'Yes' : 'No'],
      state.preview ? ['Files in preview', `${files.length}${state.preview.includes(null) ? '+' : ''} (${humanSize(files.reduce((n, f) => n + (f.size || 0), 0))})`] : null,
    ].filter(Boolean);
    return [
      h('h3', {}, 'Review & Confirm'),
      h('dl', { class: 'review' }, rows.map(([k, val]) => h('div', { class: 'dl-row' }, h('dt', {}, k), h('dd', {}, val)))),
      h('p', { class: 'muted' }, 'The import runs in the background: the storage card shows its progress live. Choose Save & Sync to start it now, or Save to sync later.'),
    ];
  }
}

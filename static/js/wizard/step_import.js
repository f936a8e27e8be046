// Import Settings & Preview (sources): the provider's import fields (where to look, files
// or task files, a name filter with common patterns, sub-folders) and a preview of the
// objects a sync would take.

import { h, fill, relativeTime, humanSize, middleEllipsis, relativeKey } from '../dom.js';
import { fieldsOn } from '../providers.js';
import { fieldInput } from './fields.js';

const FILTER_CHIPS = {
  files: [['Images', '.*\\.(jpe?g|png|gif|bmp|webp|tiff?)$'], ['Videos', '.*\\.(mp4|webm|mov|avi|mkv)$'],
    ['Audio', '.*\\.(mp3|wav|ogg|flac|m4a)$'], ['Tabular', '.*\\.(csv|tsv)$']],
  tasks: [['JSON', '.*\\.json$'], ['JSONL', '.*\\.jsonl$'], ['All Tasks Files', '.*\\.(json|jsonl)$']],
};

/** Fields drawn their own way; the others are plain inputs (toggles last). */
const SPECIAL = { use_blob_urls: methodField, regex_filter: filterField };

export function render(ctx) {
  const fields = fieldsOn(ctx.state.provider, ctx.state.direction, 'import');
  const plain = (toggles) => fields.filter((f) => !SPECIAL[f.name] && (f.input === 'toggle') === toggles)
    .map((f) => fieldInput(f, ctx));
  const special = ['use_blob_urls', 'regex_filter'].map((name) => fields.find((f) => f.name === name))
    .filter(Boolean).map((f) => SPECIAL[f.name](f, ctx));
  const left = h('div', { class: 'import-config' }, h('h4', {}, 'Import Configuration'), plain(false), special, plain(true));
  const previewBox = h('div', { class: 'preview-list', tabindex: 0 }, previewList(ctx.state));
  // Typing in this step makes the preview stale at once.
  left.addEventListener('input', () => fill(previewBox, previewList(ctx.state)));
  const right = h('div', { class: 'files-preview' },
    h('h4', {}, 'Files Preview'), previewBox,
    h('button', { class: ctx.state.preview ? 'outline' : 'primary', disabled: ctx.state.busy, onclick: ctx.actions.preview },
      ctx.state.busy ? 'Loading…' : ctx.state.preview ? 'Preview Loaded' : 'Load Preview'));
  return [
    h('h3', {}, 'Configure Import Settings & Preview Data'),
    h('p', { class: 'muted' }, 'Set up filters for your files and preview what will be synchronized'),
    h('div', { class: 'two-col' }, left, right),
  ];
}

export function buttons(ctx) {
  return [ctx.nextButton(true)];
}

/** Files or task files: the method picks the filter patterns offered too. */
function method(state) {
  return !state.has('use_blob_urls') || !state.values.use_blob_urls ? 'tasks' : 'files';
}

function methodField(field, ctx) {
  const current = method(ctx.state);
  const select = h('select', {
    id: `f-${field.name}`,
    onchange: (e) => {
      ctx.state.set(field, e.target.value === 'files');
      // The other method's filter would not match its files.
      if (ctx.state.has('regex_filter')) ctx.state.values.regex_filter = '';
      ctx.draw();
    },
  },
  h('option', { value: 'files', selected: current === 'files' }, 'Files - Automatically creates a task for each storage object (e.g. JPG, MP3, TXT)'),
  h('option', { value: 'tasks', selected: current === 'tasks' }, 'Tasks - Treat each JSON or JSONL file as one or more task definitions'));
  return h('div', { class: 'field', dataset: { field: field.name } },
    h('label', { for: select.id, class: 'label' }, field.label),
    field.help ? h('p', { class: 'help-text' }, field.help) : null, select);
}

function filterField(field, ctx) {
  const current = method(ctx.state);
  const placeholder = current === 'files' ? '.*\\.(jpg|png)$ - imports only JPG, PNG files' : '.*\\.(json|jsonl)$ - imports task definitions';
  const element = fieldInput({ ...field, placeholder }, ctx);
  element.append(h('div', { class: 'chips', role: 'group', 'aria-label': 'Common filters' }, h('span', { class: 'muted' }, 'Common filters:'),
    FILTER_CHIPS[current].map(([label, pattern]) => h('button', {
      type: 'button', class: 'chip', onclick: () => { ctx.state.set(field, pattern); ctx.draw(); },
    }, label))));
  return element;
}

function previewList(state) {
  if (!state.preview) {
    return h('div', { class: 'preview-empty' }, h('strong', {}, 'No Preview Available'),
      h('p', { class: 'muted' }, 'Configure your import settings and click "Load Preview" to see a sample of files that will be imported.'));
  }
  const files = state.preview.filter(Boolean);
  if (!files.length) {
    return h('div', { class: 'preview-empty' }, h('strong', {}, 'No Files Found'),
      h('p', { class: 'muted' }, 'No files matching your current criteria were found. Try adjusting your filter settings and reload the preview.'));
  }
  const root = state.values[state.provider.location_field] || '';
  return h('ul', { class: 'files' }, files.map((f) => h('li', { class: 'file-row' },
    h('span', { class: 'key', title: f.key }, middleEllipsis(relativeKey(f.key, root), 44)),
    h('span', { class: 'muted' }, relativeTime(f.last_modified)),
    h('span', { class: 'muted size' }, humanSize(f.size)))),
  state.preview.includes(null) ? h('li', { class: 'muted truncated' }, '... preview limit reached ...') : null);
}

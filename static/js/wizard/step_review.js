// Review & Confirm (sources): what will be saved, then Save or Save & Sync.

import { h, humanSize } from '../dom.js';
import { fieldsOn, locationOf } from '../providers.js';

export function render(ctx) {
  const { state } = ctx;
  const p = state.provider;
  const v = state.values;
  const rows = [
    ['Provider', p.label],
    ['Title', v.title || `Untitled ${p.name}`],
    ...locationOf(p, v),
    ...fieldsOn(p, state.direction, 'import').map((f) => [f.label.replace(' (optional)', ''), shown(f, v[f.name], p)]),
    previewRow(state.preview),
  ].filter(Boolean);
  return [
    h('h3', {}, 'Review & Confirm'),
    h('dl', { class: 'review' }, rows.map(([k, val]) => h('div', { class: 'dl-row' }, h('dt', {}, k), h('dd', {}, val)))),
    h('p', { class: 'muted' }, 'The import runs in the background: the storage card shows its progress live. Choose Save & Sync to start it now, or Save to sync later.'),
  ];
}

export function buttons(ctx) {
  const { state } = ctx;
  return [
    h('button', { class: 'outline', disabled: state.busy, onclick: () => ctx.actions.save(false) }, 'Save'),
    h('button', { class: 'primary', disabled: state.busy, onclick: () => ctx.actions.save(true) }, 'Save & Sync'),
  ];
}

/** A field's value in words. */
function shown(field, value, provider) {
  if (field.name === 'use_blob_urls') return value ? 'Files: one task per object' : 'Tasks: JSON / JSON Lines task definitions';
  if (field.name === 'regex_filter') return value || 'All files';
  if (field.input === 'toggle') return value ? 'Yes' : 'No';
  if (field.input === 'select') return (field.choices.find((c) => c.value === value) || { label: value ?? '—' }).label;
  if (field.name === provider.location_field) return value || '(root)';
  return value === '' || value === null ? '—' : String(value);
}

function previewRow(preview) {
  if (!preview) return null;
  const files = preview.filter(Boolean);
  const bytes = files.reduce((n, f) => n + (f.size || 0), 0);
  return ['Files in preview', `${files.length}${preview.includes(null) ? '+' : ''} (${humanSize(bytes)})`];
}

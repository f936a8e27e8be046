// The Data Manager's filter panel: rows of column, operator and value joined by and/or, as
// Label Studio's. Every change is handed to `edit` as a change to make to the newest
// filters (not to the ones this panel was drawn from: a quick hand may change a second
// field before the page is drawn again); the screen puts them in the address bar and the
// open view.

import { h } from './dom.js';
import { OPERATORS } from './dm_query.js';

/** A new filter on `column`: its first operator; a yes/no column starts at "yes", which
 * the picker shows, so what is shown is what applies. */
function fresh(column) {
  return { filter: `filter:${column.id}`, operator: OPERATORS[column.type][0][0], type: column.type,
    value: column.type === 'Boolean' ? true : null };
}

/** The panel for `filters` over `columns`; `members` fills the user pickers; `edit(change)`
 * applies `change(filters)` to the newest filters. Until the page is drawn again after an
 * edit, the panel takes no other: rows are known by their place, which an edit can move. */
export function filterPanel({ filters, columns, members, edit: apply }) {
  let panel = null;
  const edit = (change) => {
    if (panel.inert) return;
    panel.inert = true;
    apply(change);
  };
  const items = filters.items;
  const rows = items.map((item, index) => filterRow({
    item, index, columns, members,
    conjunction: index === 0 ? h('span', { class: 'muted where' }, 'Where')
      : index === 1 ? h('select', {
        'aria-label': 'Join filters with', class: 'conjunction',
        onchange: (e) => edit((f) => { f.conjunction = e.target.value; }),
      }, ['and', 'or'].map((c) => h('option', { value: c, selected: filters.conjunction === c }, c)))
        : h('span', { class: 'muted where' }, filters.conjunction),
    update: (fields) => edit((f) => { if (f.items[index]) Object.assign(f.items[index], fields); }),
    remove: () => edit((f) => { f.items.splice(index, 1); }),
  }));
  const add = () => edit((f) => { f.items.push(fresh(columns[0])); });
  panel = h('section', { class: 'filter-panel', 'aria-label': 'Filters' },
    rows.length ? rows : h('p', { class: 'muted' }, 'No filters applied'),
    h('div', { class: 'row' },
      h('button', { class: 'outline small add-filter', onclick: add }, '+ Add filter'),
      items.length ? h('button', { class: 'link', onclick: () => edit((f) => { f.items = []; }) }, 'Clear all') : null));
  return panel;
}

function filterRow({ item, index, columns, members, conjunction, update, remove }) {
  const columnId = item.filter.replace(/^filter:/, '');
  const column = columns.find((c) => c.id === columnId) || { id: columnId, label: columnId, type: item.type || 'String' };
  const operators = OPERATORS[column.type] || OPERATORS.String;
  const columnSelect = h('select', {
    'aria-label': `Filter ${index + 1} column`, class: 'filter-column',
    onchange: (e) => update(fresh(columns.find((c) => c.id === e.target.value))),
  }, columns.map((c) => h('option', { value: c.id, selected: c.id === column.id }, c.label)));
  const operatorSelect = h('select', {
    'aria-label': `Filter ${index + 1} operator`, class: 'filter-operator',
    onchange: (e) => update({ operator: e.target.value,
      value: e.target.value === 'empty' || column.type === 'Boolean' ? true : null }),
  }, operators.map(([op, label]) => h('option', { value: op, selected: op === item.operator }, label)));
  const value = valueEditor({ item, column, members, index, set: (v) => update({ value: v }) });
  return h('div', { class: 'filter-row', dataset: { index } },
    conjunction, columnSelect, operatorSelect, value,
    h('button', { class: 'icon remove-filter', 'aria-label': `Remove filter ${index + 1}`, onclick: remove }, '×'));
}

/** The value input(s) of a filter, by column type and operator. */
function valueEditor({ item, column, members, index, set }) {
  const label = `Filter ${index + 1} value`;
  if (item.operator === 'empty' || column.type === 'Boolean') {
    return h('select', { 'aria-label': label, class: 'filter-value', onchange: (e) => set(e.target.value === 'yes') },
      h('option', { value: 'yes', selected: item.value === true }, 'yes'),
      h('option', { value: 'no', selected: item.value === false }, 'no'));
  }
  if (item.operator === 'in' || item.operator === 'not_in') {
    const range = item.value || {};
    const end = (key, text) => scalarInput(column, range[key], `${label} (${text})`,
      (v) => set({ ...range, [key]: v }));
    return h('span', { class: 'filter-value range' }, end('min', 'from'), h('span', { class: 'muted' }, 'and'), end('max', 'to'));
  }
  if (column.users) {
    return h('select', { 'aria-label': label, class: 'filter-value', onchange: (e) => set(Number(e.target.value)) },
      h('option', { value: '', selected: item.value === null }, 'choose a user'),
      members.map((u) => h('option', { value: u.id, selected: item.value === u.id }, u.email)));
  }
  if (column.type === 'List') {
    const current = Array.isArray(item.value) ? item.value.join(', ') : '';
    return h('input', { 'aria-label': label, class: 'filter-value', value: current, placeholder: 'model version', onkeydown: commitOnEnter,
      onchange: (e) => set(e.target.value.split(',').map((s) => s.trim()).filter(Boolean)) });
  }
  return scalarInput(column, item.value, label, set);
}

/** Enter applies a typed value (a blur fires its change). */
function commitOnEnter(e) {
  if (e.key === 'Enter') { e.preventDefault(); e.target.blur(); }
}

function scalarInput(column, value, label, set) {
  if (column.type === 'Number') {
    return h('input', { type: 'number', step: 'any', 'aria-label': label, class: 'filter-value', value: value ?? '', onkeydown: commitOnEnter,
      onchange: (e) => set(e.target.value === '' ? null : Number(e.target.value)) });
  }
  if (column.type === 'Datetime') {
    return h('input', { type: 'datetime-local', 'aria-label': label, class: 'filter-value', value: localTime(value), onkeydown: commitOnEnter,
      onchange: (e) => set(e.target.value ? new Date(e.target.value).toISOString() : null) });
  }
  return h('input', { 'aria-label': label, class: 'filter-value', value: value ?? '', placeholder: 'value', onkeydown: commitOnEnter,
    onchange: (e) => set(e.target.value) });
}

/** An ISO time as a datetime-local input shows it, in local time. */
function localTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

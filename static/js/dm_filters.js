// The Data Manager's filter panel: rows of column, operator and value joined by and/or, as
// Label Studio's. The panel keeps the filters being edited; the screen puts each new set
// in the address bar and the open view.

import { h } from './dom.js';
import { OPERATORS } from './dm_query.js';

/** A new filter on `column`: its first operator; a yes/no column starts at "yes", which
 * the picker shows, so what is shown is what applies. */
function fresh(column) {
  return { filter: `filter:${column.id}`, operator: OPERATORS[column.type][0][0], type: column.type,
    value: column.type === 'Boolean' ? true : null };
}

/** The panel for `filters` over `columns`; `members` fills the user pickers; `apply(filters)`
 * gets the whole new filters after each edit. The panel owns its copy: an edit that changes
 * its shape (a column, an operator, a row added or removed) redraws it at once, so the next
 * edit, however quick, lands on the rows it sees and is never dropped while the page
 * fetches. `panel.filtersKey` says which filters it shows, so the page can keep it (and the
 * focus and half-typed text in it) when it redraws around it. */
export function filterPanel({ filters, columns, members, edit: apply }) {
  let current = structuredClone(filters);
  const panel = h('section', { class: 'filter-panel', 'aria-label': 'Filters' });
  const edit = (change, { redraw = true } = {}) => {
    const next = structuredClone(current);
    change(next);
    current = next;
    panel.filtersKey = JSON.stringify(current);
    if (redraw) draw();
    apply(structuredClone(current));
  };
  const draw = () => panel.replaceChildren(...panelContent(current, { columns, members, edit }));
  panel.filtersKey = JSON.stringify(current);
  draw();
  return panel;
}

function panelContent(filters, { columns, members, edit }) {
  const items = filters.items;
  const rows = items.map((item, index) => filterRow({
    item, index, columns, members,
    conjunction: index === 0 ? h('span', { class: 'muted where' }, 'Where')
      : index === 1 ? h('select', {
        'aria-label': 'Join filters with', class: 'conjunction',
        onchange: (e) => edit((f) => { f.conjunction = e.target.value; }),
      }, ['and', 'or'].map((c) => h('option', { value: c, selected: filters.conjunction === c }, c)))
        : h('span', { class: 'muted where' }, filters.conjunction),
    update: (fields, options) => edit((f) => { if (f.items[index]) Object.assign(f.items[index], fields); }, options),
    remove: () => edit((f) => { f.items.splice(index, 1); }),
  }));
  const add = () => edit((f) => { f.items.push(fresh(columns[0])); });
  return [
    rows.length ? rows : h('p', { class: 'muted' }, 'No filters applied'),
    h('div', { class: 'row' },
      h('button', { class: 'outline small add-filter', onclick: add }, '+ Add filter'),
      items.length ? h('button', { class: 'link', onclick: () => edit((f) => { f.items = []; }) }, 'Clear all') : null),
  ].flat();
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
  // A typed value is already on screen: applying it must not redraw the input under the hand.
  const value = valueEditor({ item, column, members, index, set: (v) => update({ value: v }, { redraw: false }) });
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

// One form field of the wizard, drawn from the server's field spec: a text, password,
// multi-line, number or local path input, a choice, or a toggle; its help, and the server's errors
// for it. Typing updates the state without redrawing the input being typed in.

import { h } from '../dom.js';
import { SECRET_PLACEHOLDER } from './state.js';

/** Fields that are off while another (a toggle) is off. */
const ENABLED_BY = { presign_ttl: 'presign' };

/**
 * `ctx.state` holds the values; `ctx.draw()` redraws the step (after a toggle),
 * `ctx.typed()` refreshes what depends on a typed value (the buttons).
 */
export function fieldInput(field, ctx) {
  const f = field.input === 'local_path' ? localPath(field) : field;
  const errors = [].concat(ctx.state.errors[f.name] || []);
  const messages = errors.map((m) => h('p', { class: 'field-error' }, m));
  const help = f.help ? h('p', { class: 'help-text' }, f.help) : null;
  if (f.input === 'toggle') {
    const input = h('input', {
      id: `f-${f.name}`, type: 'checkbox', role: 'switch', checked: Boolean(ctx.state.values[f.name]),
      onchange: (e) => { ctx.state.set(f, e.target.checked); ctx.draw(); },
    });
    return h('div', { class: 'field toggle-field', dataset: { field: f.name } },
      h('label', { for: input.id, class: 'toggle' }, input, h('span', { class: 'label' }, f.label)), help, messages);
  }
  return h('div', { class: errors.length ? 'field invalid' : 'field', dataset: { field: f.name } },
    h('label', { for: `f-${f.name}`, class: 'label' }, f.label, f.required ? h('span', { class: 'req' }, ' Required') : null),
    help, textInput(f, ctx, errors.length > 0), messages);
}

function textInput(f, ctx, invalid) {
  const attrs = {
    id: `f-${f.name}`, name: f.name, placeholder: f.placeholder || '', 'aria-invalid': invalid ? 'true' : null,
    autocomplete: f.secret ? 'new-password' : 'off', spellcheck: 'false',
    oninput: (e) => { ctx.state.set(f, e.target.value); ctx.typed(); },
    onfocus: f.secret ? (e) => { if (e.target.value === SECRET_PLACEHOLDER) e.target.select(); } : null,
  };
  let input;
  if (f.input === 'textarea') {
    input = h('textarea', { ...attrs, rows: 3, class: f.secret ? 'secret-area' : '' });
  } else if (f.input === 'select') {
    input = h('select', { ...attrs, oninput: null, onchange: (e) => { ctx.state.set(f, e.target.value); ctx.typed(); } },
      f.choices.map((c) => h('option', { value: c.value }, c.label)));
  } else if (f.input === 'number') {
    const switchedOff = ENABLED_BY[f.name] && !ctx.state.values[ENABLED_BY[f.name]];
    input = h('input', { ...attrs, type: 'number', min: f.min, max: f.max, disabled: Boolean(switchedOff) });
  } else {
    input = h('input', { ...attrs, type: f.input === 'password' ? 'password' : 'text' });
  }
  input.value = ctx.state.values[f.name] ?? '';
  return input;
}

/** A path on the server: the placeholder and help name the document root it must be in. */
function localPath(field) {
  const root = document.getElementById('app').dataset.documentRoot;
  return {
    ...field,
    placeholder: `${root.replace(/\/$/, '')}/my-folder`,
    help: `An absolute path inside the document root ${root}`,
  };
}

// The labeling config editor shared by Create Project and Settings > Labeling Interface:
// Label Studio's templates by group, a raw XML textarea, and a line saying what the config
// shows and asks for (or why it cannot be read).

import { h } from './dom.js';
import { TEMPLATES, parseConfig } from './label_config.js';

/** The editor, starting from `initial` (a template when absent); `onChange(xml, template)`
 * runs after each edit, `template` set when one was picked. */
export function configEditor(initial, { onChange } = {}) {
  const textarea = h('textarea', { name: 'label_config', rows: 12, spellcheck: 'false', class: 'code', 'aria-label': 'Labeling config XML' });
  textarea.value = initial ?? TEMPLATES[0].xml;
  const summary = h('p', { class: 'muted config-summary', role: 'status' });
  const describe = () => {
    try {
      const { objects, controls } = parseConfig(textarea.value);
      summary.className = 'muted config-summary';
      summary.textContent = `Shows ${objects.map((o) => `${o.tag} ${o.value}`).join(', ') || 'nothing'}; `
        + `asks for ${controls.map((c) => `${c.tag} "${c.name}"`).join(', ') || 'nothing'}.`;
      return true;
    } catch (err) {
      summary.className = 'error config-summary';
      summary.textContent = err.message;
      return false;
    }
  };
  textarea.addEventListener('input', () => { describe(); onChange?.(textarea.value, null); });
  describe();
  const groups = [...new Set(TEMPLATES.map((t) => t.group))];
  const chips = h('div', { class: 'template-groups', role: 'group', 'aria-label': 'Templates' },
    groups.map((group) => h('div', { class: 'template-group' },
      h('span', { class: 'muted small' }, group),
      h('div', { class: 'chips' }, TEMPLATES.filter((t) => t.group === group).map((t) => h('button', {
        type: 'button', class: 'chip',
        onclick: () => { textarea.value = t.xml; describe(); onChange?.(t.xml, t); },
      }, t.title))))));
  return {
    element: h('div', { class: 'field' }, h('span', { class: 'label' }, 'Labeling Setup'), chips, textarea, summary),
    textarea,
    /** Whether the XML can be read; the summary says why not. */
    check: describe,
  };
}

// The labeling config editor shared by Create Project and Settings: template buttons that
// fill a raw XML textarea, and a line saying what the config shows and asks for.

import { h } from './dom.js';
import { TEMPLATES, parseConfig } from './label_config.js';

/** The labeling config editor: template buttons that fill a raw XML textarea. */
export function configEditor(initial) {
  const textarea = h('textarea', { name: 'label_config', rows: 10, spellcheck: 'false', class: 'code', 'aria-label': 'Labeling config XML' });
  textarea.value = initial ?? TEMPLATES[0].xml;
  const summary = h('p', { class: 'muted config-summary' });
  const describe = () => {
    try {
      const { objects, controls } = parseConfig(textarea.value);
      summary.className = 'muted config-summary';
      summary.textContent = `Shows ${objects.map((o) => `${o.tag} ${o.value}`).join(', ') || 'nothing'}; `
        + `asks for ${controls.map((c) => `${c.tag} "${c.name}"`).join(', ') || 'nothing'}.`;
    } catch (err) {
      summary.className = 'error config-summary';
      summary.textContent = err.message;
    }
  };
  textarea.addEventListener('input', describe);
  describe();
  const chips = h('div', { class: 'chips', role: 'group', 'aria-label': 'Templates' },
    TEMPLATES.map((t) => h('button', {
      type: 'button', class: 'chip',
      onclick: () => { textarea.value = t.xml; describe(); },
    }, t.title)));
  return { element: h('div', { class: 'field' }, h('span', { class: 'label' }, 'Labeling Setup'), chips, textarea, summary), textarea };
}

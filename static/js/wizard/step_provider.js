// Step 1 of a new storage: the provider tiles (and the Enterprise ones, disabled).

import { h } from '../dom.js';
import { providerIcon } from '../layout.js';
import { ENTERPRISE_PROVIDERS } from '../providers.js';

export function render(ctx) {
  const { state } = ctx;
  const tile = (p) => h('button', {
    class: p === state.provider ? 'provider-tile selected' : 'provider-tile', 'aria-pressed': String(p === state.provider),
    dataset: { provider: p.name },
    onclick: () => { state.choose(p); ctx.draw(); },
  }, providerIcon(p.name), h('strong', {}, p.label), h('span', { class: 'muted' }, p.description));
  return [
    h('h3', {}, 'Choose your cloud storage provider'),
    h('p', { class: 'muted' }, 'Select the cloud storage service where your data is stored'),
    h('div', { class: 'provider-grid' }, state.providers.map(tile),
      ENTERPRISE_PROVIDERS.map((p) => h('div', { class: 'provider-tile disabled', 'aria-disabled': 'true' },
        h('strong', {}, p.title), h('span', { class: 'badge' }, 'Enterprise'),
        h('span', { class: 'muted' }, `${p.description} — not available in labelsync`)))),
  ];
}

export function buttons(ctx) {
  return [ctx.nextButton(true)];
}

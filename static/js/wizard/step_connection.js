// Configure Connection: the title and the provider's connection fields, Test Connection
// and its report. A source goes on only once the connection was tested; a target saves here.

import { h } from '../dom.js';
import { fieldsOn } from '../providers.js';
import { fieldInput } from './fields.js';

const TITLE = {
  name: 'title', label: 'Storage Title', input: 'text', keeps_test: true,
  help: 'This name will help you identify this connection in your project',
  placeholder: "Enter a descriptive name (e.g., 'Legal Documents', 'Training Data')",
};

export function render(ctx) {
  const { state } = ctx;
  const p = state.provider;
  const fields = [TITLE, ...fieldsOn(p, state.direction, 'connection')];
  return [
    h('h3', {}, p.label),
    h('p', { class: 'muted' }, `Configure your ${p.label} connection`),
    servingBanner(p),
    h('div', { class: 'form-grid' }, fields.map((f) => fieldInput(f, ctx))),
    testResult(state.testReport),
  ];
}

export function buttons(ctx) {
  const { state } = ctx;
  const test = h('button', { class: state.tested ? 'outline verified' : 'primary', disabled: state.busy, onclick: ctx.actions.test },
    state.busy ? 'Testing…' : state.tested && state.testReport ? 'Connection Verified' : 'Test Connection');
  const untested = state.tested ? null : 'Test connection before continuing';
  const onward = state.isLastStep
    ? h('button', { class: 'primary', disabled: !state.tested || state.busy, title: untested, onclick: () => ctx.actions.save(false) }, 'Save')
    : ctx.nextButton(state.tested, untested);
  return [test, onward];
}

/** Local Files without file serving: tasks can be made, but browsers cannot show them. */
function servingBanner(provider) {
  const serving = document.getElementById('app').dataset.localServing === 'true';
  if (provider.name !== 'localfiles' || serving) return null;
  return h('p', { class: 'warning' }, 'Local file serving is disabled: tasks can be created, but browsers cannot load the files. '
    + 'Start labelsync with LOCAL_FILES_SERVING_ENABLED=true (or --local-files-serving-enabled true) and restart.');
}

function testResult(report) {
  if (!report) return null;
  const src = report.source;
  return h('div', { class: 'test-result success', role: 'status' },
    h('strong', {}, 'Successfully connected!'),
    src ? h('p', {}, `${src.objects.toLocaleString()}${src.truncated ? '+' : ''} objects found, `
      + `${src.matching.toLocaleString()} match the current filter.`,
    src.sample_keys.length ? h('span', { class: 'muted' }, ` For example: ${src.sample_keys.slice(0, 3).join(', ')}`) : null)
      : h('p', {}, 'A test object was written and removed: annotations can be saved here.'));
}

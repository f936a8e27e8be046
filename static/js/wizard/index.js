// The add / edit storage wizard: Select Provider → Configure Connection (Test Connection)
// → Import Settings & Preview → Review & Confirm (sources); targets stop after step 2.
// The dialog, the stepper and the requests live here; the state in state.js, each step
// in its own module. The server validates everything again; its field errors land on the
// fields.

import { api } from '../api.js';
import { h, fill, openDialog, toast } from '../dom.js';
import { loadProviders, storageBase } from '../providers.js';
import { WizardState, STEPS } from './state.js';
import * as providerStep from './step_provider.js';
import * as connectionStep from './step_connection.js';
import * as importStep from './step_import.js';
import * as reviewStep from './step_review.js';

const PREVIEW_LIMIT = 30;
const STEP_MODULES = {
  [STEPS.provider]: providerStep,
  [STEPS.connection]: connectionStep,
  [STEPS.import]: importStep,
  [STEPS.review]: reviewStep,
};

export async function openWizard({ project, direction, storage, onSaved }) {
  const providers = await loadProviders();
  const state = new WizardState({ providers, project, direction, storage });
  const stepper = h('ol', { class: 'stepper' });
  const body = h('div', { class: 'wizard-body' });
  const footer = h('div', { class: 'wizard-foot' });
  const { close } = openDialog({
    title: `${state.editing ? 'Edit' : 'Connect'} ${state.source ? 'Source' : 'Target'} Storage`,
    subtitle: state.source ? 'Import your data from cloud storage providers' : 'Export your annotations to cloud storage providers',
    wide: true,
    body: [stepper, body],
    footer,
  });

  const ctx = {
    state,
    draw,
    /** Typing changes which buttons are enabled, without redrawing the input typed in. */
    typed() {
      fill(footer, buttons());
      body.querySelector('.test-result')?.remove();
    },
    nextButton: (enabled, title) => h('button', {
      class: 'primary', disabled: !enabled || state.busy, title,
      onclick: () => { state.goTo(state.step + 1); draw(); },
    }, 'Next'),
    actions: requests(state, { close, onSaved, run }),
  };

  /** Runs a request with the buttons off; a refusal lands on the fields. */
  async function run(request) {
    state.busy = true;
    state.message = '';
    draw();
    try {
      state.errors = {};
      await request();
    } catch (err) {
      state.fail(err);
    } finally {
      state.busy = false;
      draw();
    }
  }

  function draw() {
    drawStepper();
    const step = STEP_MODULES[state.stepName];
    fill(body, step.render(ctx), state.message ? h('p', { class: 'error inline-error', role: 'alert' }, state.message) : null);
    fill(footer, buttons());
  }

  function drawStepper() {
    fill(stepper, state.steps.map((label, i) => h('li', {
      class: i < state.step ? 'done' : i === state.step ? 'current' : '',
      'aria-current': i === state.step ? 'step' : null,
    }, h('button', {
      class: 'step', disabled: !(state.editing || i < state.step) || state.busy,
      onclick: () => { state.goTo(i); draw(); },
    }, h('span', { class: 'step-no' }, i < state.step ? '✓' : i + 1), label))));
  }

  function buttons() {
    const previous = state.step > 0
      ? h('button', { class: 'outline', disabled: state.busy, onclick: () => { state.goTo(state.step - 1); draw(); } }, 'Previous')
      : h('span', {});
    return [previous, h('span', { class: 'grow' }), STEP_MODULES[state.stepName].buttons(ctx)];
  }

  draw();
}

/** What the wizard asks the server: test the connection, preview the objects, save. */
function requests(state, { close, onSaved, run }) {
  const base = () => storageBase(state.direction, state.provider.name);
  return {
    test: () => run(async () => {
      state.testReport = await api('POST', `${base()}/validate`, state.payload());
      state.tested = true;
    }),
    preview: () => run(async () => {
      const body = { ...state.payload(), limit: PREVIEW_LIMIT };
      state.preview = (await api('POST', `/api/storages/${state.provider.name}/files`, body)).files;
    }),
    save: (thenSync) => run(async () => {
      const body = state.payload({ withId: false });
      const saved = state.editing
        ? await api('PATCH', `${base()}/${state.storage.id}`, body)
        : await api('POST', base(), body);
      if (thenSync) await startSync(`${base()}/${saved.id}/sync`);
      toast(`Storage "${saved.title || saved.type}" saved`);
      close();
      onSaved?.();
    }),
  };
}

async function startSync(path) {
  try {
    await api('POST', path);
  } catch (err) {
    toast(`Saved, but the sync did not start: ${err.message}`, 'error');
  }
}

// The wizard's state: its steps, the chosen provider, the form's values, whether the
// connection was tested, the preview, and what the server refused. Steps read it and
// change it only through these methods; they never talk to the server themselves.

import { fieldsOn, editableFields } from '../providers.js';

/** Edit mode shows stored secrets as this placeholder; it is never sent back. */
export const SECRET_PLACEHOLDER = '••••••••••••••••';

export const STEPS = {
  provider: 'Select Provider',
  connection: 'Configure Connection',
  import: 'Import Settings & Preview',
  review: 'Review & Confirm',
};

export class WizardState {
  constructor({ providers, project, direction, storage }) {
    this.providers = providers;
    this.project = project;
    this.direction = direction;
    this.storage = storage || null;
    this.editing = Boolean(storage);
    this.source = direction === 'import';
    this.steps = [
      ...(this.editing ? [] : [STEPS.provider]),
      STEPS.connection,
      ...(this.source ? [STEPS.import, STEPS.review] : []),
    ];
    this.step = 0;
    this.busy = false;
    this.message = '';
    const provider = this.editing ? providers.find((p) => p.name === storage.type) : providers[0];
    this.choose(provider);
    this.tested = this.editing;
  }

  get stepName() {
    return this.steps[this.step];
  }

  get isLastStep() {
    return this.step === this.steps.length - 1;
  }

  goTo(index) {
    this.step = index;
    this.message = '';
  }

  /** Starts over with another provider: its fields at their defaults (or as stored). */
  choose(provider) {
    this.provider = provider;
    this.tested = false;
    this.testReport = null;
    this.preview = null;
    this.errors = {};
    this.values = { title: this.storage?.title || '' };
    for (const field of editableFields(provider, this.direction)) {
      this.values[field.name] = this.initialValue(field);
    }
  }

  initialValue(field) {
    if (this.editing) return field.secret ? SECRET_PLACEHOLDER : this.storage[field.name] ?? '';
    // New sources start in Files mode (a task per object), as Label Studio's wizard does.
    if (field.name === 'use_blob_urls') return true;
    return field.default ?? '';
  }

  /** Whether the provider has a field in this direction. */
  has(name) {
    return name in this.values && name !== 'title';
  }

  /** A typed value: the field's error goes, and so does a passed test unless the field
   * does not change what is reached. */
  set(field, value) {
    this.values[field.name] = value;
    delete this.errors[field.name];
    if (!field.keeps_test) {
      this.tested = false;
      this.testReport = null;
    }
    this.preview = null;
  }

  /** The API body: the provider's fields for this direction, secrets left out unless typed. */
  payload({ withId = this.editing } = {}) {
    const out = { project: this.project.id, title: this.values.title };
    for (const field of editableFields(this.provider, this.direction)) {
      const value = this.values[field.name];
      if (field.secret && (value === SECRET_PLACEHOLDER || value === '')) continue;
      out[field.name] = apiValue(field, value);
    }
    if (withId) out.id = this.storage.id;
    return out;
  }

  /** Shows what the server refused, on the step that holds the first field in error. */
  fail(err) {
    this.errors = err.fields || {};
    const fieldNames = Object.keys(this.errors).filter((k) => k !== 'non_field_errors');
    this.message = this.errors.non_field_errors ? [].concat(this.errors.non_field_errors).join(' ')
      : fieldNames.length ? 'Some fields need a fix: see the messages under them.' : err.message;
    const first = fieldNames[0];
    if (!first) return;
    const onImportStep = this.source
      && fieldsOn(this.provider, this.direction, 'import').some((f) => f.name === first);
    const step = this.steps.indexOf(onImportStep ? STEPS.import : STEPS.connection);
    if (step >= 0) this.step = step;
  }
}

function apiValue(field, value) {
  if (field.input === 'toggle') return Boolean(value);
  if (value === '' || value === null || value === undefined) return null;
  return field.input === 'number' ? Number(value) : value;
}

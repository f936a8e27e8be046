// The storage providers, as the server describes them (`GET /api/storages/providers`):
// names, titles, each direction's fields with how to show them, and the lines a storage
// card names its place with. The server owns these tables; the UI keeps no copy.

import { get } from './api.js';

/** Presented but not available: shown disabled, as in Label Studio Community. */
export const ENTERPRISE_PROVIDERS = [
  { title: 'Amazon S3 with IAM Role', description: 'Cross-account IAM role access' },
  { title: 'Google Cloud Storage (WIF Auth)', description: 'Workload identity federation' },
  { title: 'Azure Blob Storage with Service Principal', description: 'Service principal (proxy only)' },
];

let loading = null;

/** Every provider, in the server's order (fetched once per page load). */
export function loadProviders() {
  if (!loading) {
    loading = get('/api/storages/providers');
    loading.catch(() => { loading = null; });
  }
  return loading;
}

/** API path prefix of a direction: sources live under /api/storages/, targets under /export/. */
export function storageBase(direction, type) {
  return direction === 'import' ? `/api/storages/${type}` : `/api/storages/export/${type}`;
}

/** The fields of one direction that the wizard shows on `step` ('connection' or 'import'). */
export function fieldsOn(provider, direction, step) {
  return provider.fields[direction].filter((f) => f.step === step);
}

/** The fields of one direction the wizard sends (hidden ones are left to the server). */
export function editableFields(provider, direction) {
  return provider.fields[direction].filter((f) => f.step !== 'hidden');
}

/** A card's location lines, [label, value], read from a storage or from a form's values. */
export function locationOf(provider, values) {
  if (!provider) return [];
  return provider.card.map(({ label, field }) => [label, values[field] ?? '']);
}

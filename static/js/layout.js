// The frame every screen shares: moving between screens, the breadcrumbs of the top bar,
// a project's tabs, and provider icons. Screens import these from here, never from each
// other or from the router (app.js), so imports only point down.

import { h, fill } from './dom.js';

/** The event the router (app.js) draws the current address on. */
export const NAVIGATED = 'labelsync:navigated';

/** Goes to a path inside the app without reloading the page. */
export function navigate(path, { replace = false } = {}) {
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  window.dispatchEvent(new Event(NAVIGATED));
}

/** Sets the breadcrumbs of the top bar: [{label, href?}, ...]. */
export function setCrumbs(items) {
  const crumbs = document.getElementById('crumbs');
  fill(crumbs, items.map((item, i) => [
    i > 0 ? h('span', { class: 'sep', 'aria-hidden': 'true' }, '/') : null,
    item.href ? h('a', { href: item.href, 'data-link': true }, item.label) : h('span', { 'aria-current': 'page' }, item.label),
  ]));
  document.title = [...items].reverse().map((i) => i.label).join(' | ') + ' · labelsync';
}

/** Crumbs from the projects list to a project, then `rest`. */
export function projectCrumbs(project, ...rest) {
  return [{ label: 'Projects', href: '/projects' },
    { label: project.title || `Project #${project.id}`, href: `/projects/${project.id}/data` }, ...rest];
}

/** The tabs of a project's screens, `active` marked. */
export function projectTabs(project, active) {
  const tab = (label, href, key) => h('a', {
    href, 'data-link': true, class: active === key ? 'tab active' : 'tab',
    'aria-current': active === key ? 'page' : null,
  }, label);
  return h('nav', { class: 'tabs', 'aria-label': 'Project' },
    tab('Data Manager', `/projects/${project.id}/data`, 'data'),
    tab('Label', `/projects/${project.id}/label`, 'label'),
    tab('Cloud Storage', `/projects/${project.id}/settings/storage`, 'storage'),
    tab('Settings', `/projects/${project.id}/settings`, 'settings'));
}

/** The sections of a project's settings, `active` marked. */
export function settingsNav(project, active) {
  const link = (label, href, key) => h('a', {
    href, 'data-link': true, class: active === key ? 'active' : null, 'aria-current': active === key ? 'page' : null,
  }, label);
  return h('nav', { class: 'settings-nav', 'aria-label': 'Settings' },
    link('General', `/projects/${project.id}/settings`, 'general'),
    link('Labeling Interface', `/projects/${project.id}/settings/labeling`, 'labeling'),
    link('Webhooks', `/projects/${project.id}/settings/webhooks`, 'webhooks'));
}

const ICON_LETTERS = { s3: 'S3', gcs: 'GCS', azure: 'AZ', redis: 'RD', localfiles: 'LF' };

/** A provider's icon: its letters on its color (a provider without one shows its initials). */
export function providerIcon(name) {
  const letters = ICON_LETTERS[name] || name.slice(0, 2).toUpperCase();
  return h('span', { class: `provider-icon p-${name}`, 'aria-hidden': 'true' }, letters);
}

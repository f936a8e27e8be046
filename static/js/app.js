// The single-page app: a path router that draws one screen at a time into <main id="app">.
// Screens are modules with `render(main, params, query)`; a screen may return a cleanup
// function (to stop polling) that runs when the user leaves it.

import { h, fill, toast } from './dom.js';
import { navigate, setCrumbs, NAVIGATED } from './layout.js';
import * as projects from './projects.js';
import * as dataManager from './data_manager.js';
import * as labeling from './labeling.js';
import * as storageSettings from './storage_settings.js';
import * as generalSettings from './general_settings.js';
import * as labelingSettings from './labeling_settings.js';
import * as webhookSettings from './webhook_settings.js';

const ROUTES = [
  [/^\/(?:projects\/?)?$/, projects.render],
  [/^\/projects\/(\d+)\/?(?:data\/?)?$/, dataManager.render],
  [/^\/projects\/(\d+)\/label(?:\/(\d+))?\/?$/, labeling.render],
  [/^\/projects\/(\d+)\/settings\/storage\/?$/, storageSettings.render],
  [/^\/projects\/(\d+)\/settings\/labeling\/?$/, labelingSettings.render],
  [/^\/projects\/(\d+)\/settings\/webhooks\/?$/, webhookSettings.render],
  [/^\/projects\/(\d+)\/settings\/?$/, generalSettings.render],
];

let leaveScreen = null;
let rendering = 0;

async function route() {
  leaveScreen?.();
  leaveScreen = null;
  const main = document.getElementById('app');
  const { pathname, search } = window.location;
  const query = new URLSearchParams(search);
  const match = ROUTES.map(([pattern, view]) => [pathname.match(pattern), view]).find(([m]) => m);
  const turn = ++rendering;
  if (!match) {
    setCrumbs([{ label: 'Projects', href: '/projects' }, { label: 'Not found' }]);
    fill(main, h('section', { class: 'page' }, h('h1', {}, 'Page not found'),
      h('p', {}, 'Nothing lives at this address. ', h('a', { href: '/projects', 'data-link': true }, 'Back to the projects'))));
    return;
  }
  const [m, view] = match;
  main.classList.add('loading');
  try {
    const cleanup = await view(main, m.slice(1).filter(Boolean).map(Number), query);
    if (turn === rendering) leaveScreen = cleanup || null;
    else cleanup?.();
  } catch (err) {
    if (turn !== rendering) return;
    fill(main, h('section', { class: 'page' }, h('h1', {}, 'Something went wrong'),
      h('p', { class: 'error', role: 'alert' }, err.message),
      h('p', {}, h('a', { href: '/projects', 'data-link': true }, 'Back to the projects'))));
  } finally {
    main.classList.remove('loading');
  }
}

document.addEventListener('click', (event) => {
  const link = event.target.closest('a[data-link]');
  if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey
    || event.shiftKey || event.altKey) return;
  event.preventDefault();
  navigate(link.getAttribute('href'));
});
window.addEventListener('popstate', route);
window.addEventListener(NAVIGATED, route);
window.addEventListener('unhandledrejection', (event) => toast(event.reason?.message || String(event.reason), 'error'));

if (window.location.pathname === '/') history.replaceState(null, '', '/projects');
route();

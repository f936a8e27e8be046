// Page-load benchmark of the admin UI with a large project (run by scripts/bench-ui).
// Syncs N files from a Local Files source into one project through the release binary,
// then opens each screen in headless Chromium and measures, from the start of the
// navigation, the time until the screen's content is on the page (the task rows, the
// storage cards, the editor holding its task). Prints the median and the slowest of several loads.

import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO, startServer, launchBrowser, png } from './harness.mjs';

const TASKS = Number(process.argv[2] || 100000);
const RUNS = Number(process.argv[3] || 9);
const EMAIL = 'bench@example.com';
const PASSWORD = 'bench password for the ui';
const TOKEN = 'bench-ui-token-0123456789';

function makeFiles(root, n) {
  const pixel = png(4, 4, [90, 120, 200]);
  for (let i = 0; i < n; i += 1) {
    const folder = path.join(root, `d${String(Math.floor(i / 1000)).padStart(3, '0')}`);
    if (i % 1000 === 0) mkdirSync(folder, { recursive: true });
    writeFileSync(path.join(folder, `img_${String(i).padStart(7, '0')}.png`), pixel);
  }
}

async function api(server, method, route, body) {
  const response = await fetch(server.url + route, {
    method,
    headers: { Authorization: `Token ${TOKEN}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${method} ${route}: ${response.status} ${await response.text()}`);
  return response.json();
}

/** One project whose Local Files source holds `n` images, synced. */
async function bigProject(server, root) {
  const project = await api(server, 'POST', '/api/projects/', {
    title: 'Big project',
    label_config: '<View><Image name="image" value="$image"/><Choices name="choice" toName="image"><Choice value="Cat"/><Choice value="Dog"/></Choices></View>',
  });
  const storage = await api(server, 'POST', '/api/storages/localfiles/', {
    project: project.id, title: `${TASKS} images`, path: root, use_blob_urls: true, recursive_scan: true,
  });
  const started = performance.now();
  await api(server, 'POST', `/api/storages/localfiles/${storage.id}/sync`, {});
  for (;;) {
    const state = await api(server, 'GET', `/api/storages/localfiles/${storage.id}`);
    if (['completed', 'completed_with_errors', 'failed'].includes(state.status)) {
      if (state.status !== 'completed') throw new Error(`sync ended ${state.status}: ${state.traceback}`);
      console.log(`synced ${state.last_sync_count} tasks in ${((performance.now() - started) / 1000).toFixed(2)} s`);
      break;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  // A second, empty project and a target storage, so the lists are not trivially short.
  await api(server, 'POST', '/api/storages/export/localfiles', { project: project.id, title: 'labels', path: root });
  const tasks = await api(server, 'GET', `/api/tasks/?project=${project.id}&page=2000&page_size=30`);
  return { id: project.id, lastPage: Math.ceil(TASKS / 30), someTask: tasks.tasks[0].id };
}

/** Label Studio's editor holds the task (its data, annotations and predictions loaded). */
const EDITOR_READY = '.editor-host[data-ready]';

/** The screens measured: [name, path, the selector that shows its content is there]. */
const SCREENS = (project) => [
  ['Projects', '/projects', '.project-card'],
  ['Data Manager, first page', `/projects/${project.id}/data`, '.task-row'],
  ['Data Manager, last page', `/projects/${project.id}/data?page=${project.lastPage}&page_size=30`, '.task-row'],
  ['Data Manager, 100 per page', `/projects/${project.id}/data?page=500&page_size=100`, '.task-row'],
  ['Labeling, next task', `/projects/${project.id}/label`, EDITOR_READY],
  ['Labeling, a task', `/projects/${project.id}/label/${project.someTask}`, EDITOR_READY],
  ['Cloud Storage', `/projects/${project.id}/settings/storage`, '.storage-card'],
  ['Settings', `/projects/${project.id}/settings`, 'form.form'],
];

/** Milliseconds from the navigation's start until `selector` is on the page, taken by
 * the page itself (a MutationObserver installed before any script of the page runs), so
 * the benchmark's own round trips to the browser are not counted. */
async function loadTime(page, url, selector) {
  await page.goto(url, { waitUntil: 'commit' });
  await page.locator(selector).first().waitFor({ timeout: 30000 });
  return page.evaluate((sel) => window.firstSeen[sel], selector);
}

/** Records, in every page, when each watched selector first matches. */
function watchSelectors(selectors) {
  window.firstSeen = {};
  const check = () => {
    for (const sel of selectors) {
      if (!(sel in window.firstSeen) && document.querySelector(sel)) window.firstSeen[sel] = performance.now();
    }
  };
  new MutationObserver(check).observe(document, { childList: true, subtree: true });
}

/** Where a first visit of the labeling screen spends its time (from the page's own marks). */
function editorTimings() {
  const script = performance.getEntriesByType('resource').find((e) => e.name.endsWith('/editor/main.js'));
  const mark = (name) => performance.getEntriesByName(name)[0].startTime;
  return { download: script.responseEnd - script.startTime, run: mark('labelsync:editor-script') - script.responseEnd,
    open: mark('labelsync:editor-ready') - mark('labelsync:editor-script') };
}

/** The medians of where the labeling screen's loads spent their time. */
function printSplit(splits) {
  const part = (key) => summary(splits.map((p) => p[key])).median.toFixed(1).padStart(10);
  console.log('  the editor script: download'.padEnd(30), part('download'));
  console.log('                     run'.padEnd(30), part('run'));
  console.log('  the editor opens the task'.padEnd(30), part('open'));
}

/** Opens `path` inside the page (as Submit does) and resolves with the milliseconds until
 * the editor holds the new task. */
function nextTaskInPage(path) {
  const id = path.split('/').pop();
  return new Promise((resolve) => {
    const started = performance.now();
    const done = () => {
      if (!document.querySelector(`#editor-task-${id}[data-ready]`)) return false;
      observer.disconnect();
      resolve(performance.now() - started);
      return true;
    };
    const observer = new MutationObserver(done);
    observer.observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-ready'] });
    history.pushState(null, '', path);
    window.dispatchEvent(new Event('labelsync:navigated'));
  });
}

function summary(times) {
  const sorted = [...times].sort((a, b) => a - b);
  return { median: sorted[Math.floor(sorted.length / 2)], max: sorted[sorted.length - 1] };
}

const root = mkdtempSync(path.join(tmpdir(), 'labelsync-bench-ui-'));
let server;
let browser;
try {
  const files = path.join(root, 'images');
  makeFiles(files, TASKS);
  server = await startServer({ documentRoot: root, email: EMAIL, password: PASSWORD, token: TOKEN,
    binary: process.env.LABELSYNC_BIN || path.join(REPO, 'target/release/labelsync') });
  const project = await bigProject(server, files);

  const endpoints = [
    ['project detail', `/api/projects/${project.id}/`],
    ['project list', '/api/projects/?page_size=100'],
    ['tasks, first page', `/api/tasks/?project=${project.id}&page=1&page_size=30`],
    ['tasks, last page', `/api/tasks/?project=${project.id}&page=${project.lastPage}&page_size=30`],
    ['next task', `/api/projects/${project.id}/next/`],
    ['source storages', `/api/storages/?project=${project.id}`],
  ];
  console.log(`\nAPI calls behind the screens (${RUNS} calls each):`);
  console.log('endpoint'.padEnd(30), 'median ms'.padStart(10), 'max ms'.padStart(10));
  for (const [name, route] of endpoints) {
    const times = [];
    for (let i = 0; i < RUNS; i += 1) {
      const started = performance.now();
      await api(server, 'GET', route);
      times.push(performance.now() - started);
    }
    const { median, max } = summary(times);
    console.log(name.padEnd(30), median.toFixed(1).padStart(10), max.toFixed(1).padStart(10));
  }

  browser = await launchBrowser();
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, baseURL: server.url });
  const page = await context.newPage();
  await page.goto('/user/login');
  await context.addInitScript(watchSelectors, [...new Set(SCREENS(project).map(([, , selector]) => selector))]);
  await page.fill('input[name=email]', EMAIL);
  await page.fill('input[name=password]', PASSWORD);
  await page.click('button[type=submit]');
  await page.waitForURL('**/projects');

  const screens = SCREENS(project);
  console.log(`\npage loads with ${TASKS} tasks in the project (${RUNS} loads each, after one warm-up):`);
  console.log('screen'.padEnd(30), 'median ms'.padStart(10), 'max ms'.padStart(10));
  let worst = 0;
  for (const [name, url, selector] of screens) {
    await loadTime(page, url, selector);
    const times = [];
    const splits = [];
    for (let i = 0; i < RUNS; i += 1) {
      times.push(await loadTime(page, url, selector));
      if (selector === EDITOR_READY) splits.push(await page.evaluate(editorTimings));
    }
    const { median, max } = summary(times);
    worst = Math.max(worst, max);
    console.log(name.padEnd(30), median.toFixed(1).padStart(10), max.toFixed(1).padStart(10));
    if (splits.length) printSplit(splits);
  }
  // First visits: each load in a new browser context (empty cache).
  const firstVisits = async (url, selector, storageState, after) => {
    const times = [];
    for (let i = 0; i < RUNS; i += 1) {
      const fresh = await browser.newContext({ viewport: { width: 1280, height: 800 }, baseURL: server.url, storageState });
      await fresh.addInitScript(watchSelectors, [selector]);
      const freshPage = await fresh.newPage();
      times.push(await loadTime(freshPage, url, selector));
      await after?.(freshPage);
      await fresh.close();
    }
    return times;
  };
  const cold = await firstVisits(`/projects/${project.id}/data`, '.task-row', await context.storageState());
  const { median, max } = summary(cold);
  worst = Math.max(worst, max);
  console.log('Data Manager, empty cache'.padEnd(30), median.toFixed(1).padStart(10), max.toFixed(1).padStart(10));
  if (process.env.BENCH_VERBOSE) console.log('  each:', cold.map((t) => t.toFixed(0)).join(' '));
  const parts = [];
  const coldLabel = summary(await firstVisits(`/projects/${project.id}/label/${project.someTask}`, EDITOR_READY,
    await context.storageState(), async (fresh) => parts.push(await fresh.evaluate(editorTimings))));
  console.log('Labeling, empty cache'.padEnd(30), coldLabel.median.toFixed(1).padStart(10), coldLabel.max.toFixed(1).padStart(10));
  printSplit(parts);
  // The labeling loop itself: Submit opens the next task inside the page, with the editor's
  // script already running; measured from the navigation to the task in the editor.
  const loop = [];
  await page.goto(`/projects/${project.id}/label/${project.someTask}`);
  await page.locator(EDITOR_READY).waitFor();
  for (let i = 0; i < RUNS; i += 1) loop.push(await page.evaluate(nextTaskInPage, `/projects/${project.id}/label/${project.someTask + i + 1}`));
  const next = summary(loop);
  console.log('Labeling, next task in page'.padEnd(30), next.median.toFixed(1).padStart(10), next.max.toFixed(1).padStart(10));
  // The floor of a first visit: the sign-in page (server-rendered HTML and the stylesheet,
  // no script), to tell the browser's own start-up from the app's work.
  const base = summary(await firstVisits('/user/login', 'form button[type=submit]', undefined));
  console.log('(sign-in page, empty cache)'.padEnd(30), base.median.toFixed(1).padStart(10), base.max.toFixed(1).padStart(10));
  console.log(`\nslowest load: ${worst.toFixed(1)} ms (the bar: 200 ms)`);
} finally {
  await browser?.close();
  server?.stop();
  if (server) rmSync(server.dataDir, { recursive: true, force: true });
  rmSync(root, { recursive: true, force: true });
}

// The Data Manager in a real browser: filter to the labeled tasks, sort by a column, save the
// query as a tab that is still there after a reload (and in a shared address), select tasks
// across pages and delete them, delete a task's annotations. Screenshots go to screenshots/.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import http from 'node:http';
import path from 'node:path';
import { SCREENSHOTS, startServer, launchBrowser, signIn, apiClient, collectErrors } from './harness.mjs';

const EMAIL = 'dm-admin@example.com';
const PASSWORD = 'a long data manager password';
const TOKEN = 'dm-browser-token-0123456789';
const CONFIG = '<View><Text name="text" value="$text"/><Choices name="sentiment" toName="text">'
  + '<Choice value="pos"/><Choice value="neg"/></Choices></View>';

let root;
let server;
let browser;
let page;
let projectId;
let taskIds;
const consoleErrors = [];

/** The API as the test's user (set once the server runs). */
let call;

async function screenshot(name, target = page) {
  await target.screenshot({ path: path.join(SCREENSHOTS, `dm-${name}.png`), fullPage: true });
}

const rows = () => page.locator('.task-row');
const rowIds = async () => (await rows().evaluateAll((trs) => trs.map((tr) => Number(tr.dataset.taskId))));
const labeled = () => taskIds.slice(0, 4);

before(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  root = mkdtempSync(path.join(tmpdir(), 'labelsync-dm-root-'));
  server = await startServer({ documentRoot: root, email: EMAIL, password: PASSWORD, token: TOKEN });
  call = apiClient(server, TOKEN);
  const project = await call('POST', '/api/projects/', { title: 'Reviews', label_config: CONFIG });
  projectId = project.id;
  const imported = await call('POST', `/api/projects/${projectId}/import?return_task_ids=true`,
    Array.from({ length: 40 }, (_, i) => ({ text: `review number ${i + 1}` })));
  taskIds = imported.task_ids;
  for (const id of labeled()) {
    await call('POST', `/api/tasks/${id}/annotations/`, { result: [
      { from_name: 'sentiment', to_name: 'text', type: 'choices', value: { choices: ['pos'] } }] });
  }
  browser = await launchBrowser();
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, baseURL: server.url });
  page = await context.newPage();
  page.setDefaultTimeout(10000);
  collectErrors(page, consoleErrors);
  await signIn(page, EMAIL, PASSWORD);
});

after(async () => {
  await browser?.close();
  server?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

test('filter to the labeled tasks, sort by ID, save the tab; a reload and a shared address keep it', async () => {
  await page.goto(`/projects/${projectId}/data`);
  await page.waitForFunction(() => document.querySelectorAll('.task-row').length === 30);
  await page.getByRole('button', { name: 'Filters' }).click();
  await page.getByRole('button', { name: '+ Add filter' }).click();
  await page.getByLabel('Filter 1 column').selectOption({ label: 'Annotations' });
  await page.getByLabel('Filter 1 operator').selectOption('greater');
  await page.getByLabel('Filter 1 value').fill('0');
  await page.getByLabel('Filter 1 value').press('Enter');
  await page.waitForFunction(() => document.querySelectorAll('.task-row').length === 4);
  assert.deepEqual(await rowIds(), labeled());
  assert.equal((await page.getByRole('button', { name: 'Filters (1)' }).count()), 1);
  await screenshot('filtered');

  await page.getByRole('button', { name: 'Sort by ID' }).click();
  await page.waitForFunction(() => document.querySelector('th[data-column="tasks:id"]')?.getAttribute('aria-sort') === 'ascending');
  await page.getByRole('button', { name: 'Sort by ID' }).click();
  await page.waitForFunction(() => document.querySelector('th[data-column="tasks:id"]')?.getAttribute('aria-sort') === 'descending');
  assert.deepEqual(await rowIds(), [...labeled()].reverse());
  const address = new URL(page.url());
  assert.equal(address.searchParams.get('ordering'), '-tasks:id');
  assert.match(address.searchParams.get('filters'), /total_annotations/);

  await page.getByRole('button', { name: 'New tab' }).click();
  await page.locator('.view-tab.active', { hasText: 'Tab 1' }).waitFor();
  await page.getByRole('button', { name: 'Rename tab Tab 1' }).click();
  await page.locator('dialog input[name=title]').fill('Labeled');
  await page.locator('dialog').getByRole('button', { name: 'Save' }).click();
  await page.locator('.view-tab.active', { hasText: 'Labeled' }).waitFor();
  await screenshot('saved-tab');

  await page.reload();
  await page.locator('.view-tab.active', { hasText: 'Labeled' }).waitFor();
  await page.waitForFunction(() => document.querySelectorAll('.task-row').length === 4);
  assert.deepEqual(await rowIds(), [...labeled()].reverse(), 'still filtered and sorted after a reload');

  // Any column orders the list, the ones the table does not show too.
  await page.getByLabel('Order by').selectOption({ label: 'Order by Inner ID' });
  await page.waitForFunction(() => new URL(location.href).searchParams.get('ordering') === '-tasks:inner_id');
  await page.waitForFunction(() => document.querySelectorAll('.task-row').length === 4);
  assert.deepEqual(await rowIds(), [...labeled()].reverse(), 'inner ids follow ids');
  await page.getByRole('button', { name: 'Descending; make it ascending' }).click();
  await page.waitForFunction(() => new URL(location.href).searchParams.get('ordering') === 'tasks:inner_id');
  await page.waitForFunction((first) => Number(document.querySelector('.task-row')?.dataset.taskId) === first, labeled()[0]);
  await page.getByRole('button', { name: 'Sort by ID' }).click();
  await page.getByRole('button', { name: 'Sort by ID' }).click();
  await page.waitForFunction(() => new URL(location.href).searchParams.get('ordering') === '-tasks:id');

  const shared = await page.context().newPage();
  await shared.goto(page.url());
  await shared.waitForFunction(() => document.querySelectorAll('.task-row').length === 4);
  await shared.close();
  await page.goto(`/projects/${projectId}/data`);
  await page.locator('.view-tab.active', { hasText: 'Labeled' }).waitFor();
  await page.waitForFunction(() => document.querySelectorAll('.task-row').length === 4);
  const views = await call('GET', `/api/dm/views/?project=${projectId}`);
  assert.deepEqual(views.map((v) => v.data.title), ['Labeled']);
  assert.deepEqual(views[0].data.ordering, ['-tasks:id']);
});

test('select three tasks across two pages and delete them', async () => {
  // A second tab with no filter: all 40 tasks, 30 to a page.
  await page.getByRole('button', { name: 'New tab' }).click();
  await page.locator('.view-tab.active', { hasText: 'Tab 2' }).waitFor();
  if (!(await page.locator('.filter-panel').count())) await page.getByRole('button', { name: /^Filters/ }).click();
  await page.getByRole('button', { name: 'Clear all' }).click();
  await page.waitForFunction(() => document.querySelectorAll('.task-row').length === 30);
  // A filter being written on a saved tab: kept in the tab, applied once it says something.
  await page.getByRole('button', { name: '+ Add filter' }).click();
  await page.getByLabel('Filter 1 column').selectOption({ label: 'Labeled' });
  await page.waitForFunction(() => document.querySelectorAll('.task-row').length === 4);
  assert.equal(await page.getByLabel('Filter 1 value').inputValue(), 'yes', 'shown as applied');
  await page.getByLabel('Filter 1 column').selectOption({ label: 'Prediction score' });
  await page.waitForFunction(() => document.querySelectorAll('.task-row').length === 30);
  await page.getByRole('button', { name: 'Remove filter 1' }).click();
  await page.waitForFunction(() => !document.querySelector('.filter-row'));
  assert.equal(await page.locator('.toast.error').count(), 0, 'every edit of the tab was saved');
  await page.getByRole('button', { name: 'Sort by ID' }).click();
  await page.waitForFunction(() => document.querySelector('th[data-column="tasks:id"]')?.getAttribute('aria-sort') === 'ascending');
  const chosen = [taskIds[5], taskIds[6], taskIds[35]];
  await page.getByLabel(`Select task ${chosen[0]}`).check();
  await page.getByLabel(`Select task ${chosen[1]}`).check();
  await page.locator('.selected-count', { hasText: '2 selected' }).waitFor();
  await page.getByRole('button', { name: 'Next ›' }).click();
  await page.waitForFunction(() => document.querySelectorAll('.task-row').length === 10);
  await page.getByLabel(`Select task ${chosen[2]}`).check();
  await page.locator('.selected-count', { hasText: '3 selected' }).waitFor();
  await screenshot('selected');
  await page.getByRole('button', { name: 'Actions ▾' }).click();
  await page.getByRole('menuitem', { name: 'Delete tasks' }).click();
  await page.locator('dialog').getByRole('button', { name: 'Delete tasks' }).click();
  await page.locator('.toast', { hasText: 'Deleted 3 tasks' }).waitFor();
  const left = await call('GET', `/api/tasks?project=${projectId}&page_size=100&include=id`);
  assert.equal(left.total, 37);
  const remaining = left.tasks.map((t) => t.id);
  assert.ok(chosen.every((id) => !remaining.includes(id)), 'the three selected tasks are gone');
  assert.deepEqual(taskIds.filter((id) => !chosen.includes(id)), remaining, 'no other task went');
});

test('delete the annotations of a selected task', async () => {
  await page.goto(`/projects/${projectId}/data`);
  await page.locator('.view-tab.active', { hasText: 'Labeled' }).waitFor();
  await page.waitForFunction(() => document.querySelectorAll('.task-row').length === 4);
  await page.getByLabel(`Select task ${taskIds[0]}`).check();
  await page.getByRole('button', { name: 'Actions ▾' }).click();
  await page.getByRole('menuitem', { name: 'Delete annotations' }).click();
  await page.locator('dialog').getByRole('button', { name: 'Delete annotations' }).click();
  await page.locator('.toast', { hasText: 'Deleted 1 annotations' }).waitFor();
  await page.waitForFunction(() => document.querySelectorAll('.task-row').length === 3);
  const task = await call('GET', `/api/tasks/${taskIds[0]}`);
  assert.equal(task.total_annotations, 0);
  assert.equal(task.is_labeled, false);
});

test('a bad filter in the address says what is wrong; the filter panel fits a phone', async () => {
  const bad = encodeURIComponent(JSON.stringify({ conjunction: 'and', items: [
    { filter: 'filter:tasks:data.text', operator: 'regex', type: 'String', value: '([' }] }));
  const errors = consoleErrors.length;
  await page.goto(`/projects/${projectId}/data?filters=${bad}`);
  await page.locator('.inline-error', { hasText: 'invalid regular expression' }).waitFor();
  consoleErrors.splice(errors); // the 400 of that request is expected
  const phone = await page.context().newPage();
  await phone.setViewportSize({ width: 390, height: 844 });
  await phone.goto(`/projects/${projectId}/data`);
  await phone.getByRole('button', { name: /^Filters/ }).click();
  await phone.locator('.filter-row').first().waitFor();
  const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `the page is ${overflow}px wider than the phone`);
  await screenshot('phone-filters', phone);
  await phone.close();
});

test('Export downloads the labeled tasks as CSV, or only the selected ones', async () => {
  // An address with a query of its own: not the first saved tab (filtered to the labeled).
  await page.goto(`/projects/${projectId}/data?ordering=tasks:id`);
  await page.waitForFunction(() => document.querySelectorAll('.task-row').length > 0);
  const exported = async (choose) => {
    await page.getByRole('button', { name: 'Export', exact: true }).click();
    const dialog = page.locator('dialog.modal');
    await dialog.getByRole('heading', { name: 'Export data' }).waitFor();
    await choose(dialog);
    const [download] = await Promise.all([page.waitForEvent('download'), dialog.getByRole('button', { name: 'Export', exact: true }).click()]);
    assert.match(download.suggestedFilename(), new RegExp(`^project-${projectId}-at-.*\\.csv$`));
    return readFileSync(await download.path(), 'utf8');
  };
  const labeledRows = (await call('GET', `/api/tasks/?project=${projectId}&page_size=100&fields=all`)).tasks
    .filter((t) => t.annotations.length).map((t) => t.id);
  const csv = await exported(async (dialog) => {
    await dialog.getByLabel(/^CSV/).check();
    await screenshot('export-dialog');
  });
  const lines = csv.trim().split('\r\n');
  assert.equal(lines[0], '"annotation_id","annotator","created_at","id","lead_time","sentiment","text","updated_at"');
  assert.deepEqual(lines.slice(1).map((l) => Number(l.split(',')[3])).sort((a, b) => a - b), labeledRows);
  assert.ok(lines.slice(1).every((l) => l.includes('"pos"')), csv);

  const picked = (await rowIds()).filter((id) => !labeledRows.includes(id)).slice(0, 2);
  assert.equal(picked.length, 2, 'two unlabeled tasks on the page');
  for (const id of picked) await page.getByLabel(`Select task ${id}`, { exact: true }).check();
  const some = await exported(async (dialog) => {
    await dialog.getByLabel(/^CSV/).check();
    assert.equal(await dialog.getByLabel('Only the 2 selected tasks').isChecked(), true);
    // The picked tasks have no annotation: as in Label Studio, they go only when asked for.
    await dialog.getByLabel('Include tasks without annotations').check();
  });
  const [header, ...rows] = some.trim().split('\r\n');
  const idColumn = header.split(',').indexOf('"id"');
  assert.deepEqual(rows.map((l) => Number(l.split(',')[idColumn])).sort((a, b) => a - b), picked, some);
});

test('take a snapshot in the Export dialog, download it as CSV, delete it', async () => {
  await page.getByRole('button', { name: 'Export', exact: true }).click();
  const dialog = page.locator('dialog.modal');
  await dialog.getByText('No snapshot yet.').waitFor();
  await dialog.getByLabel('Snapshot title').fill('before review');
  await dialog.getByRole('button', { name: 'Take snapshot' }).click();
  const row = dialog.locator('.snapshot', { hasText: 'before review' });
  await row.waitFor();
  const { total } = await call('GET', `/api/tasks/?project=${projectId}&page_size=1`);
  assert.match(await row.textContent(), new RegExp(`${total} tasks .* completed`));
  await screenshot('snapshot');
  await dialog.getByLabel(/^CSV/).check();
  const [download] = await Promise.all([page.waitForEvent('download'), row.getByRole('button', { name: 'Download' }).click()]);
  assert.match(download.suggestedFilename(), /snapshot-\d+\.csv$/);
  const lines = readFileSync(await download.path(), 'utf8').trim().split('\r\n');
  assert.equal(lines.length, total + 1, 'a header and every task, annotated or not');
  await row.getByRole('button', { name: 'Delete snapshot before review' }).click();
  await dialog.getByText('No snapshot yet.').waitFor();
  assert.deepEqual(await call('GET', `/api/projects/${projectId}/exports/`), []);
  await page.keyboard.press('Escape');
});

test('Settings > Webhooks: add a signed webhook, see its deliveries with status codes, and a pending one while the receiver is down', async () => {
  const received = [];
  const receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => { received.push({ headers: req.headers, body: JSON.parse(body) }); res.end(); });
  });
  await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${receiver.address().port}/hook`;
  const [taskId] = (await call('POST', `/api/projects/${projectId}/import?return_task_ids=true`, [{ text: 'hooked' }])).task_ids;

  await page.goto(`/projects/${projectId}/settings/webhooks`);
  await page.getByText('No webhooks yet.').waitFor();
  await page.getByRole('button', { name: 'Add Webhook' }).click();
  const dialog = page.getByRole('dialog', { name: 'Add Webhook' });
  await dialog.getByLabel('Payload URL').fill(url);
  await dialog.getByLabel('Headers').fill('X-Team: reviews');
  await dialog.getByLabel('Secret').fill('browser-secret');
  await dialog.getByLabel('Send for all actions').uncheck();
  await dialog.getByLabel('Annotation created').check();
  await dialog.getByRole('button', { name: 'Add Webhook' }).click();
  const card = page.locator('.webhook-card');
  await card.getByText(url).waitFor();
  await card.getByText('Annotation created'.toUpperCase().replaceAll(' ', '_')).waitFor();

  const result = [{ from_name: 'sentiment', to_name: 'text', type: 'choices', value: { choices: ['neg'] } }];
  const first = await call('POST', `/api/tasks/${taskId}/annotations/`, { result });
  await card.locator('.delivery.delivered .delivery-code', { hasText: '200' }).waitFor();
  assert.equal(received.length, 1);
  assert.equal(received[0].body.action, 'ANNOTATION_CREATED');
  assert.equal(received[0].body.annotation.id, first.id);
  assert.equal(received[0].headers['x-team'], 'reviews');
  assert.match(received[0].headers['x-labelsync-signature'], /^sha256=[0-9a-f]{64}$/);

  await new Promise((resolve) => { receiver.closeAllConnections(); receiver.close(resolve); });
  await call('POST', `/api/tasks/${taskId}/annotations/`, { result });
  await card.locator('.delivery.pending .delivery-error', { hasText: /\S/ }).waitFor();
  await screenshot('webhooks');
  // The secret never comes back to the page.
  assert.ok(!(await page.content()).includes('browser-secret'));
  await card.getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('dialog', { name: 'Delete webhook' }).getByRole('button', { name: 'Delete' }).click();
  await page.getByText('No webhooks yet.').waitFor();
});

test('no console errors', () => {
  assert.deepEqual(consoleErrors, []);
});

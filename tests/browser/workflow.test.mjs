// The whole storage workflow in a real browser (Debian's Chromium), as a person does it:
// log in, create a project, add a Local Files source with the wizard, Save & Sync, see the
// images, import a tasks file, label, add a target and find the export on disk, add an S3
// source and watch its sync live, break storages and read the errors. Screenshots of every
// screen go to screenshots/ (ignored by git).

import { test, before, beforeEach, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { SCREENSHOTS, startServer, documentRoot, png, storageWrite, emulatorPid, launchBrowser, required, collectErrors } from './harness.mjs';

const EMAIL = 'ui-admin@example.com';
const PASSWORD = 'a long and secret ui password';
const S3 = { endpoint: required('EMU_S3_ENDPOINT'), bucket: 'test-bucket', key: 'testing', secret: 'testing' };
const AZURE = { endpoint: required('EMU_AZURE_ENDPOINT'), account: required('AZURE_STORAGE_ACCOUNT_NAME') };
const S3_PREFIX = `ui-${Date.now()}`;

let root;
let server;
let browser;
let context;
let page;
let projectId;
let shot = 0;
/** Console errors and page exceptions; HTTP errors are allowed only inside `expectHttpErrors`. */
const consoleErrors = [];
let httpErrorsExpected = false;

async function screenshot(name, target = page) {
  shot += 1;
  await target.screenshot({ path: path.join(SCREENSHOTS, `${String(shot).padStart(2, '0')}-${name}.png`), fullPage: true });
}

async function expectHttpErrors(action) {
  httpErrorsExpected = true;
  try { return await action(); } finally { httpErrorsExpected = false; }
}

function watchConsole(p) {
  collectErrors(p, consoleErrors, (msg) => httpErrorsExpected
    && /Failed to load resource: the server responded with a status of (400|404)/.test(msg.text()));
}

const wizard = () => page.locator('dialog.modal');
const card = (title) => page.locator('.storage-card', { has: page.locator('h3', { hasText: title }) });

/** Waits until every image matched by `selector` has loaded real pixels. */
async function imagesLoaded(selector, count) {
  await page.waitForFunction(([sel, n]) => {
    const imgs = [...document.querySelectorAll(sel)];
    return imgs.length === n && imgs.every((i) => i.complete && i.naturalWidth > 0);
  }, [selector, count], { timeout: 15000 });
}

before(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  root = documentRoot();
  server = await startServer({ documentRoot: root, email: EMAIL, password: PASSWORD });
  browser = await launchBrowser();
  context = await browser.newContext({ viewport: { width: 1280, height: 800 }, baseURL: server.url });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
  page = await context.newPage();
  page.setDefaultTimeout(10000);
  watchConsole(page);
});

// A failed test may leave a dialog open; the next one starts from a page without one, so
// one failure is reported once instead of timing out every test after it.
beforeEach(async () => {
  for (let i = 0; i < 3 && page && await page.locator('dialog[open]').count(); i += 1) {
    await page.keyboard.press('Escape');
  }
});

after(async () => {
  await browser?.close();
  server?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

test('log in and create a project', async () => {
  await page.goto('/projects');
  assert.match(page.url(), /\/user\/login/, 'an anonymous visitor is sent to the login page');
  await page.fill('input[name=email]', EMAIL);
  await page.fill('input[name=password]', PASSWORD);
  await screenshot('login');
  await page.click('button[type=submit]');
  await page.waitForURL('**/projects');
  await page.getByRole('heading', { name: 'Create your first project' }).waitFor();
  await screenshot('projects-empty');

  await page.getByRole('button', { name: 'Create', exact: true }).click();
  await wizard().locator('input[name=title]').fill('Storage demo');
  await wizard().locator('textarea[name=description]').fill('Cats and dogs from several storages');
  await wizard().getByRole('button', { name: 'Image classification' }).click();
  assert.match(await wizard().locator('.config-summary').textContent(), /Image \$image.*Choices "choice"/);
  await screenshot('create-project');
  await wizard().getByRole('button', { name: 'Save' }).click();
  await page.waitForURL(/\/projects\/\d+\/data$/);
  projectId = Number(page.url().match(/projects\/(\d+)/)[1]);
  const projects = await (await page.request.get('/api/projects')).json();
  assert.deepEqual(projects.results.map((p) => p.title), ['Storage demo'], 'one click, one project');
  await page.getByRole('heading', { name: 'Import data to get your project started' }).waitFor();
  await screenshot('data-manager-empty');
});

test('add a Local Files source with the wizard, preview, Save & Sync, watch it complete', async () => {
  await page.getByRole('link', { name: 'Connect Cloud Storage' }).click();
  await wizard().getByRole('heading', { name: 'Connect Source Storage' }).waitFor();
  await screenshot('wizard-provider');
  await wizard().locator('[data-provider=localfiles]').click();
  await wizard().getByRole('button', { name: 'Next' }).click();
  await wizard().locator('#f-title').fill('Cat and dog images');
  await wizard().locator('#f-path').fill(path.join(root, 'images'));
  assert.equal(await wizard().getByRole('button', { name: 'Next' }).isDisabled(), true, 'Next waits for a tested connection');
  await wizard().getByRole('button', { name: 'Test Connection' }).click();
  await wizard().getByText('Successfully connected!').waitFor();
  assert.match(await wizard().locator('.test-result').textContent(), /6 objects found, 6 match/);
  await screenshot('wizard-local-connection');
  await wizard().getByRole('button', { name: 'Next' }).click();

  await wizard().getByRole('button', { name: 'Images' }).click();
  assert.match(await wizard().locator('#f-regex_filter').inputValue(), /png/);
  await wizard().getByRole('button', { name: 'Load Preview' }).click();
  await wizard().locator('.file-row').first().waitFor();
  const keys = await wizard().locator('.file-row .key').allTextContents();
  assert.deepEqual(keys.sort(), ['photo-1.png', 'photo-2.png', 'photo-3.png', 'photo-4.png', 'photo-5.png'],
    'the preview lists the top-level images only (no sub-folder, no .txt)');
  await screenshot('wizard-preview');
  await wizard().getByRole('button', { name: 'Next' }).click();
  await wizard().getByRole('heading', { name: 'Review & Confirm' }).waitFor();
  assert.match(await wizard().locator('.review').textContent(), /Files in preview5/);
  await screenshot('wizard-review');
  await wizard().getByRole('button', { name: 'Save & Sync' }).click();

  const source = card('Cat and dog images');
  await source.locator('.status', { hasText: 'Completed' }).waitFor({ timeout: 20000 });
  assert.equal((await source.locator('.counts dd').textContent()).trim(), '5 (5 new)');
  assert.match(await source.textContent(), /Last Sync\w+ \d\d, \d{4} ∙ \d\d:\d\d:\d\d/);
  await screenshot('storage-source-synced');
});

test('the Data Manager shows the synced tasks with image previews', async () => {
  await page.getByRole('link', { name: 'Data Manager' }).click();
  await page.locator('.task-row').first().waitFor();
  assert.equal(await page.locator('.task-row').count(), 5);
  await imagesLoaded('img.thumb', 5);
  const names = await page.locator('.task-row td:last-child').allTextContents();
  assert.ok(names.every((n) => /photo-\d\.png$/.test(n)), `storage file names shown: ${names}`);
  await screenshot('data-manager');
});

test('import a JSON tasks file that references local files; a malformed file is refused', async () => {
  await page.getByRole('button', { name: 'Import', exact: true }).click();
  const dialog = wizard();
  // Drag and drop a malformed file onto the drop zone.
  await dialog.locator('.dropzone').evaluate((zone) => {
    const transfer = new DataTransfer();
    transfer.items.add(new File(['{"data": {"image": '], 'broken.json', { type: 'application/json' }));
    zone.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
  });
  await expectHttpErrors(async () => {
    await dialog.getByRole('button', { name: 'Import', exact: true }).click();
    await dialog.locator('.import-result .error').waitFor();
  });
  assert.match(await dialog.locator('.import-result').textContent(), /Nothing was imported\. broken\.json: /);
  await screenshot('import-malformed');

  const tasksFile = path.join(root, 'tasks.json');
  writeFileSync(tasksFile, JSON.stringify([
    { image: '/data/local-files/?d=images/more/extra-1.png' },
    { data: { image: '/data/local-files/?d=images/more/extra-2.png' } },
  ]));
  await page.setInputFiles('#import-files', tasksFile);
  await dialog.getByRole('button', { name: 'Import', exact: true }).click();
  await dialog.getByText('2 tasks added').waitFor();
  await screenshot('import-done');
  await dialog.getByRole('button', { name: 'Close', exact: true }).click();
  await page.waitForFunction(() => document.querySelectorAll('.task-row').length === 7);
  await imagesLoaded('img.thumb', 7);
});

test('label one task; the Data Manager shows it annotated', async () => {
  const firstRow = page.locator('.task-row').first();
  const taskId = Number(await firstRow.getAttribute('data-task-id'));
  await firstRow.click();
  await page.waitForURL(new RegExp(`/label/${taskId}$`));
  await page.locator('.editor-host[data-ready]').waitFor();
  await page.waitForFunction(() => [...document.querySelectorAll('.editor-host img')].some((i) => i.complete && i.naturalWidth > 0));
  await page.locator('.editor-host label', { hasText: 'Cat' }).click();
  await screenshot('labeling');
  await page.locator('.editor-host button', { hasText: /^Submit$/ }).click();
  await page.waitForURL((url) => /\/label\/\d+$/.test(url.pathname) && !url.pathname.endsWith(`/${taskId}`));
  const task = await (await page.request.get(`/api/tasks/${taskId}`)).json();
  assert.equal(task.annotations.length, 1);
  assert.deepEqual(task.annotations[0].result[0].value, { choices: ['Cat'] });

  await page.getByRole('link', { name: 'Data Manager' }).click();
  const row = page.locator(`.task-row[data-task-id="${taskId}"]`);
  await row.waitFor();
  assert.equal((await row.locator('td.completed').textContent()).trim(), '✓');
  assert.equal((await row.locator('td.annotations').textContent()).trim(), '1');
});

test('add a Local Files target and find the exported annotation on disk', async () => {
  await page.getByRole('link', { name: 'Cloud Storage' }).click();
  await page.getByRole('button', { name: 'Add Target Storage' }).click();
  await wizard().getByRole('heading', { name: 'Connect Target Storage' }).waitFor();
  await wizard().locator('[data-provider=localfiles]').click();
  await wizard().getByRole('button', { name: 'Next' }).click();
  await wizard().locator('#f-title').fill('Annotations out');
  await wizard().locator('#f-path').fill(path.join(root, 'annotations'));
  await wizard().getByRole('button', { name: 'Test Connection' }).click();
  await wizard().getByText('Successfully connected!').waitFor();
  await screenshot('wizard-target');
  await wizard().getByRole('button', { name: 'Save' }).click();
  await card('Annotations out').locator('.status', { hasText: 'Completed' }).waitFor({ timeout: 20000 });

  let exported = [];
  for (let i = 0; i < 50 && exported.length === 0; i += 1) {
    exported = readdirSync(path.join(root, 'annotations'));
    if (!exported.length) await page.waitForTimeout(200);
  }
  assert.equal(exported.length, 1, `one exported annotation on disk: ${exported}`);
  const doc = JSON.parse(readFileSync(path.join(root, 'annotations', exported[0]), 'utf8'));
  assert.deepEqual(doc.result[0].value, { choices: ['Cat'] });
  await screenshot('storage-with-target');
});

test('add an S3 source against the test S3 server, watch its sync live, see images through the resolve endpoint', async () => {
  const colors = [[255, 0, 0], [0, 255, 0], [0, 0, 255]];
  colors.forEach((c, i) => {
    const file = path.join(root, `s3-${i}.png`);
    writeFileSync(file, png(32, 32, c));
    storageWrite('s3', { bucket: S3.bucket, prefix: S3_PREFIX, s3_endpoint: S3.endpoint, region_name: 'us-east-1',
      aws_access_key_id: S3.key, aws_secret_access_key: S3.secret }, `bucket-${i}.png`, file);
  });
  await page.getByRole('button', { name: 'Add Source Storage' }).click();
  await wizard().locator('[data-provider=s3]').click();
  await wizard().getByRole('button', { name: 'Next' }).click();
  await wizard().locator('#f-title').fill('S3 pictures');
  await wizard().locator('#f-bucket').fill(S3.bucket);
  await wizard().locator('#f-region_name').fill('us-east-1');
  await wizard().locator('#f-s3_endpoint').fill(S3.endpoint);
  await wizard().locator('#f-aws_access_key_id').fill(S3.key);
  await wizard().locator('#f-aws_secret_access_key').fill(S3.secret);
  assert.equal(await wizard().locator('#f-aws_secret_access_key').getAttribute('type'), 'password');
  await screenshot('wizard-s3-connection');
  await wizard().getByRole('button', { name: 'Test Connection' }).click();
  await wizard().getByText('Successfully connected!').waitFor();
  await wizard().getByRole('button', { name: 'Next' }).click();
  await wizard().locator('#f-prefix').fill(S3_PREFIX);
  await wizard().getByRole('button', { name: 'Images' }).click();
  await wizard().getByRole('button', { name: 'Load Preview' }).click();
  await wizard().locator('.file-row').first().waitFor();
  assert.equal(await wizard().locator('.file-row').count(), 3);
  await wizard().getByRole('button', { name: 'Next' }).click();
  await wizard().getByRole('button', { name: 'Save', exact: true }).click();

  const s3 = card('S3 pictures');
  await s3.locator('.status', { hasText: 'Initialized' }).waitFor();
  assert.match(await s3.textContent(), /Not synced yet/);
  await screenshot('storage-s3-new-card');

  // Freeze the S3 server so the sync is visibly running, and check the card counts the
  // elapsed time by itself (no page reload: the marker set on window survives).
  await page.evaluate(() => { window.noReloadMarker = true; });
  const moto = emulatorPid('moto');
  process.kill(moto, 'SIGSTOP');
  try {
    await s3.getByRole('button', { name: 'Sync Storage' }).click();
    await s3.locator('.progress').waitFor({ timeout: 10000 });
    await s3.locator('.status', { hasText: 'In progress' }).waitFor({ timeout: 10000 });
    const first = await s3.locator('.progress .elapsed').textContent();
    await page.waitForFunction((text) => {
      const el = [...document.querySelectorAll('.storage-card')].find((c) => c.textContent.includes('S3 pictures'))?.querySelector('.progress .elapsed');
      return el && el.textContent !== text;
    }, first, { timeout: 10000 });
    assert.equal(await s3.getByRole('button', { name: 'Syncing…' }).isDisabled(), true);
    await screenshot('storage-sync-live-progress');
  } finally {
    process.kill(moto, 'SIGCONT');
  }
  await s3.locator('.status', { hasText: 'Completed' }).waitFor({ timeout: 60000 });
  assert.equal((await s3.locator('.counts dd').textContent()).trim(), '3 (3 new)');
  assert.equal(await page.evaluate(() => window.noReloadMarker), true, 'the page was not reloaded');

  await page.getByRole('link', { name: 'Data Manager' }).click();
  await page.waitForFunction(() => document.querySelectorAll('.task-row').length === 10);
  const s3Images = 'img.thumb[src*="/resolve/?fileuri="]';
  await imagesLoaded(s3Images, 3);
  await screenshot('data-manager-with-s3');
});

test('a wrong Azure key and a failed sync show readable errors; the log copies', async () => {
  await page.getByRole('link', { name: 'Cloud Storage' }).click();
  await page.getByRole('button', { name: 'Add Source Storage' }).click();
  await wizard().locator('[data-provider=azure]').click();
  await wizard().getByRole('button', { name: 'Next' }).click();
  await wizard().locator('#f-title').fill('Broken Azure');
  await wizard().locator('#f-container').fill('test-bucket');
  await wizard().locator('#f-account_name').fill(AZURE.account);
  await wizard().locator('#f-account_key').fill(Buffer.from('definitely not the account key').toString('base64'));
  await wizard().locator('#f-azure_endpoint').fill(AZURE.endpoint);
  await expectHttpErrors(async () => {
    await wizard().getByRole('button', { name: 'Test Connection' }).click();
    await wizard().locator('.inline-error').waitFor();
  });
  const message = await wizard().locator('.inline-error').textContent();
  assert.match(message, /refused|denied|authori[sz]/i, `a readable reason: ${message}`);
  assert.equal(await wizard().getByRole('button', { name: 'Next' }).isDisabled(), true);
  await screenshot('wizard-azure-wrong-key');
  await page.keyboard.press('Escape');
  await wizard().waitFor({ state: 'detached' });

  // A Local Files source whose folder disappears after it was saved.
  await page.getByRole('button', { name: 'Add Source Storage' }).click();
  await wizard().locator('[data-provider=localfiles]').click();
  await wizard().getByRole('button', { name: 'Next' }).click();
  await wizard().locator('#f-title').fill('Doomed folder');
  await wizard().locator('#f-path').fill(path.join(root, 'doomed'));
  await wizard().getByRole('button', { name: 'Test Connection' }).click();
  await wizard().getByText('Successfully connected!').waitFor();
  await wizard().getByRole('button', { name: 'Next' }).click();
  await wizard().getByRole('button', { name: 'Next' }).click();
  await wizard().getByRole('button', { name: 'Save', exact: true }).click();
  const doomed = card('Doomed folder');
  await doomed.waitFor();
  rmSync(path.join(root, 'doomed'), { recursive: true });
  await doomed.getByRole('button', { name: 'Sync Storage' }).click();
  await doomed.getByRole('button', { name: 'Failed (View Logs)' }).waitFor({ timeout: 20000 });
  await screenshot('storage-failed');
  await doomed.getByRole('button', { name: 'Failed (View Logs)' }).click();
  const log = wizard().locator('pre.error-log');
  await log.waitFor();
  const text = await log.textContent();
  assert.match(text, /Error logs for localfiles storage \d+ in project \d+/);
  assert.match(text, /doomed/, `the log names the missing folder: ${text}`);
  await wizard().getByRole('button', { name: 'Copy' }).click();
  await wizard().getByRole('button', { name: 'Copied' }).waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), text);
  await screenshot('storage-error-log');
  await wizard().getByRole('button', { name: 'Close', exact: true }).click();
});

test('edit keeps secrets masked; delete asks first; everything is reachable by keyboard', async () => {
  const s3 = card('S3 pictures');
  assert.equal(await page.locator('.storage-card .menu').first().isVisible(), false, 'card menus open only on demand');
  await s3.getByRole('button', { name: /Actions for/ }).click();
  await screenshot('storage-card-menu');
  await s3.getByRole('menuitem', { name: 'Edit' }).click();
  await wizard().getByRole('heading', { name: 'Edit Source Storage' }).waitFor();
  assert.equal(await wizard().locator('.stepper li').count(), 3, 'no provider step when editing');
  assert.equal(await wizard().locator('#f-aws_secret_access_key').inputValue(), '••••••••••••••••');
  assert.equal(await wizard().locator('#f-bucket').inputValue(), S3.bucket);
  await screenshot('wizard-edit-source');
  // Save without touching the secret: the stored one is kept, so a test still passes.
  await wizard().getByRole('button', { name: 'Test Connection' }).click();
  await wizard().getByText('Successfully connected!').waitFor();
  await page.keyboard.press('Escape');

  const doomed = card('Doomed folder');
  await doomed.getByRole('button', { name: /Actions for/ }).click();
  await doomed.getByRole('menuitem', { name: 'Delete' }).click();
  await wizard().getByRole('heading', { name: 'Deleting storage' }).waitFor();
  await screenshot('storage-delete-confirm');
  await wizard().getByRole('button', { name: 'OK' }).click();
  await doomed.waitFor({ state: 'detached' });

  // Keyboard only: Tab to "Add Target Storage", Enter opens the wizard, Escape closes it.
  await page.locator('body').click({ position: { x: 5, y: 400 } });
  let reached = false;
  for (let i = 0; i < 40 && !reached; i += 1) {
    await page.keyboard.press('Tab');
    reached = await page.evaluate(() => document.activeElement?.textContent === 'Add Target Storage');
  }
  assert.ok(reached, 'Add Target Storage is reachable with Tab');
  await page.keyboard.press('Enter');
  await wizard().getByRole('heading', { name: 'Connect Target Storage' }).waitFor();
  await page.keyboard.press('Escape');
  await wizard().waitFor({ state: 'detached' });
});

test('Settings > Members: create a user, add them to the project, remove them', async () => {
  await page.goto(`/projects/${projectId}/settings`);
  const members = page.locator('section.members');
  await members.locator('.member-row').first().waitFor();
  assert.equal(await members.locator('.member-row').count(), 1);
  assert.equal(await members.getByRole('button', { name: 'Remove' }).isDisabled(), true, 'the last member stays');
  await members.getByLabel('New user e-mail').fill('teammate@example.com');
  await members.getByLabel('New user password').fill('teammate password');
  await members.getByRole('button', { name: 'Create user and add' }).click();
  const teammate = members.locator('.member-row', { hasText: 'teammate@example.com' });
  await teammate.waitFor();
  await screenshot('settings-members');
  const listed = await (await page.request.get(`/api/projects/${projectId}/members/`)).json();
  assert.deepEqual(listed.map((m) => m.user.email).sort(), [EMAIL, 'teammate@example.com'].sort());

  await teammate.getByRole('button', { name: 'Remove' }).click();
  await wizard().getByRole('heading', { name: 'Remove member' }).waitFor();
  await wizard().getByRole('button', { name: 'Remove' }).click();
  await teammate.waitFor({ state: 'detached' });
  // Still a user of the organization: offered in the list to add back.
  assert.match(await members.locator('select[name=user]').textContent(), /teammate@example\.com/);
});

test('a watched folder with a schedule: set both in the wizard, see "next sync in", drop a file and see the count rise', async () => {
  const folder = path.join(root, 'watched');
  mkdirSync(folder, { recursive: true });
  writeFileSync(path.join(folder, 'first.png'), png(8, 8, [200, 10, 10]));
  await page.goto(`/projects/${projectId}/settings/storage`);
  await page.getByRole('button', { name: 'Add Source Storage' }).click();
  await wizard().locator('[data-provider=localfiles]').click();
  await wizard().getByRole('button', { name: 'Next' }).click();
  await wizard().locator('#f-title').fill('Watched drop folder');
  await wizard().locator('#f-path').fill(folder);
  await wizard().getByRole('button', { name: 'Test Connection' }).click();
  await wizard().getByText('Successfully connected!').waitFor();
  await wizard().getByRole('button', { name: 'Next' }).click();
  await wizard().getByRole('button', { name: 'Images' }).click();
  await wizard().locator('#f-sync_interval').fill('5');
  await wizard().locator('#f-watch').check();
  await screenshot('wizard-schedule-watch');
  await wizard().getByRole('button', { name: 'Next' }).click();
  assert.match(await wizard().locator('.review').textContent(), /Watch the folderYes/);
  await wizard().getByRole('button', { name: 'Save & Sync' }).click();

  const watched = card('Watched drop folder');
  await watched.locator('.status', { hasText: 'Completed' }).waitFor({ timeout: 20000 });
  await watched.locator('.schedule dd', { hasText: /every 5 min · next sync in [45] min/ }).waitFor();
  await watched.locator('.watching dd', { hasText: 'yes, file events' }).waitFor();
  assert.match((await watched.locator('.counts dd').textContent()).trim(), /^1 \(/);
  writeFileSync(path.join(folder, 'second.png'), png(8, 8, [10, 200, 10]));
  // No reload, no click: the card follows the folder.
  await watched.locator('.counts dd', { hasText: /^2 / }).waitFor({ timeout: 10000 });
  await screenshot('storage-watched');

  // A file deleted from the folder: the sync the watcher starts reports it vanished.
  rmSync(path.join(folder, 'first.png'));
  const changes = watched.locator('.object-changes dd', { hasText: '1 vanished' });
  await changes.waitFor({ timeout: 10000 });
  await changes.getByRole('button').click();
  const log = page.getByRole('dialog', { name: 'Sync log' });
  await log.getByText('Vanished: 1').waitFor();
  assert.match(await log.locator('.object-keys.vanished').textContent(), /first\.png/);
  await screenshot('storage-sync-log-vanished');
  await page.keyboard.press('Escape');
  // Back in place, for the screens after this test (they show its image).
  writeFileSync(path.join(folder, 'first.png'), png(8, 8, [200, 10, 10]));
});

test('the screens fit a phone', async () => {
  const phone = await context.newPage();
  watchConsole(phone);
  await phone.setViewportSize({ width: 390, height: 844 });
  for (const [name, url] of [['phone-projects', '/projects'], ['phone-data-manager', `/projects/${projectId}/data`],
    ['phone-cloud-storage', `/projects/${projectId}/settings/storage`], ['phone-labeling', `/projects/${projectId}/label`],
    ['phone-settings', `/projects/${projectId}/settings`]]) {
    await phone.goto(url);
    await phone.locator('main#app > section').waitFor();
    await phone.waitForLoadState('networkidle');
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `${name}: the page is ${overflow}px wider than the phone`);
    await screenshot(name, phone);
  }
  await phone.close();
});

test('no console errors on any screen', () => {
  assert.deepEqual(consoleErrors, []);
});

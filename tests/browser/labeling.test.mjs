// Labeling in Label Studio's own editor, in a real browser, each ending in a real target
// storage (a local folder the target exports to): draw a box on a synced image, update it,
// skip a task, start from a prediction, mark an entity in a text, get a draft back after
// leaving, and set up the labeling interface with a live preview. Screenshots go to
// screenshots/.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SCREENSHOTS, startServer, launchBrowser, png } from './harness.mjs';

const EMAIL = 'labeler@example.com';
const PASSWORD = 'a long labeling password';
const TOKEN = 'labeling-browser-token-0123456789';
const BOXES = '<View><Image name="image" value="$image"/><RectangleLabels name="label" toName="image">'
  + '<Label value="Cat"/><Label value="Dog"/></RectangleLabels></View>';
const ENTITIES = '<View><Labels name="label" toName="text"><Label value="PER"/><Label value="ORG"/></Labels>'
  + '<Text name="text" value="$text"/></View>';
const TEXTS = ['Ada Lovelace worked with Charles Babbage.', 'Grace Hopper joined the Navy in 1943.'];

let root;
let server;
let browser;
let page;
const consoleErrors = [];
const boxes = {};
const entities = {};

async function call(method, route, body) {
  const response = await fetch(server.url + route, {
    method,
    headers: { Authorization: `Token ${TOKEN}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  assert.ok(response.ok, `${method} ${route}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function screenshot(name) {
  await page.screenshot({ path: path.join(SCREENSHOTS, `labeling-${name}.png`), fullPage: true });
}

/** A project with a source and a target storage on local folders; the source synced. */
async function projectWithStorages(title, config, folder) {
  const project = await call('POST', '/api/projects/', { title, label_config: config });
  const exported = path.join(root, `${folder}-export`);
  mkdirSync(exported);
  const target = await call('POST', '/api/storages/export/localfiles', { project: project.id, title: 'annotations', path: exported });
  return { id: project.id, exported, target: target.id };
}

/** The object the target storage holds for an annotation (named by its id), once written. */
async function exportedObject(project, annotationId) {
  const file = path.join(project.exported, String(annotationId));
  for (let i = 0; i < 100 && !existsSync(file); i += 1) await new Promise((r) => setTimeout(r, 100));
  assert.ok(existsSync(file), `the target storage has no ${annotationId} (it has ${readdirSync(project.exported)})`);
  return JSON.parse(readFileSync(file, 'utf8'));
}

/** Waits until `read()` returns something truthy (a file rewritten by the outbox, an API field). */
async function eventually(read, what) {
  for (let i = 0; i < 100; i += 1) {
    const value = await read();
    if (value) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`never happened: ${what}`);
}

/** Opens a task in the editor and waits until it has drawn it. */
async function openTask(projectId, taskId) {
  await page.goto(`/projects/${projectId}/label/${taskId}`);
  await page.locator('.editor-host .lsf-main-view, .editor-host [class*="main-view"]').first().waitFor();
}

before(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  root = mkdtempSync(path.join(tmpdir(), 'labelsync-labeling-root-'));
  mkdirSync(path.join(root, 'photos'));
  [[200, 90, 60], [60, 140, 220], [80, 180, 90]].forEach((color, i) =>
    writeFileSync(path.join(root, `photos/photo-${i + 1}.png`), png(640, 480, color)));
  server = await startServer({ documentRoot: root, email: EMAIL, password: PASSWORD, token: TOKEN });

  Object.assign(boxes, await projectWithStorages('Boxes', BOXES, 'boxes'));
  const source = await call('POST', '/api/storages/localfiles', { project: boxes.id, title: 'photos', path: path.join(root, 'photos'),
    use_blob_urls: true, regex_filter: '.*png' });
  await call('POST', `/api/storages/localfiles/${source.id}/sync`);
  boxes.tasks = await eventually(async () => {
    const listing = await call('GET', `/api/tasks/?project=${boxes.id}&page_size=10`);
    return listing.tasks.length === 3 && listing.tasks.map((t) => t.id);
  }, 'the photos synced as three tasks');

  Object.assign(entities, await projectWithStorages('Entities', ENTITIES, 'entities'));
  entities.tasks = (await call('POST', `/api/projects/${entities.id}/import?return_task_ids=true`, TEXTS.map((text) => ({ text })))).task_ids;

  browser = await launchBrowser();
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, baseURL: server.url });
  page = await context.newPage();
  page.setDefaultTimeout(15000);
  page.on('console', (msg) => { if (msg.type() === 'error') consoleErrors.push(msg.text()); });
  page.on('pageerror', (err) => consoleErrors.push(`page error: ${err.message}`));
  await page.goto('/user/login');
  await page.fill('input[name=email]', EMAIL);
  await page.fill('input[name=password]', PASSWORD);
  await page.click('button[type=submit]');
  await page.waitForURL('**/projects');
});

after(async () => {
  await browser?.close();
  server?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

/** The image the editor draws on, as a box on the page. */
async function imageBox() {
  const image = page.locator('.editor-host .konvajs-content').first();
  await image.waitFor();
  return image.boundingBox();
}

/** Drags a box from (x0, y0) to (x1, y1), in fractions of the image. */
async function drawBox(label, [x0, y0], [x1, y1]) {
  await page.locator('.editor-host').getByText(label, { exact: true }).first().click();
  const box = await imageBox();
  await page.mouse.move(box.x + box.width * x0, box.y + box.height * y0);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * (x0 + x1) / 2, box.y + box.height * (y0 + y1) / 2, { steps: 5 });
  await page.mouse.move(box.x + box.width * x1, box.y + box.height * y1, { steps: 5 });
  await page.mouse.up();
}

/** A button of the editor's top right by its text (the editor labels Submit and Update both
 * "submit" for screen readers). */
const editorButton = (text) => page.locator('.editor-host button', { hasText: new RegExp(`^${text}$`) });

/** The annotations of a task, through the API. */
const annotationsOf = async (taskId) => (await call('GET', `/api/tasks/${taskId}`)).annotations;

test('draw a bounding box on a synced image and submit it: the target storage has it with the image size', async () => {
  const taskId = boxes.tasks[0];
  await openTask(boxes.id, taskId);
  // The image came through the local-files route: same origin, so the editor's canvas can
  // read its pixels (a tainted canvas would throw here).
  const loaded = await page.waitForFunction(() => [...document.querySelectorAll('.editor-host img')]
    .find((i) => i.complete && i.naturalWidth === 640));
  const pixel = await loaded.evaluate((img) => {
    const canvas = document.createElement('canvas');
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    const context = canvas.getContext('2d');
    context.drawImage(img, 0, 0);
    return [...context.getImageData(10, 10, 1, 1).data];
  });
  assert.deepEqual(pixel, [200, 90, 60, 255]);
  await drawBox('Cat', [0.1, 0.2], [0.5, 0.6]);
  await screenshot('box-drawn');
  await editorButton('Submit').click();
  await page.waitForURL((url) => url.pathname === `/projects/${boxes.id}/label/${boxes.tasks[1]}`);
  const [annotation] = await annotationsOf(taskId);
  assert.equal(annotation.was_cancelled, false);
  assert.ok(annotation.lead_time > 0, 'lead_time is sent');
  const exported = await exportedObject(boxes, annotation.id);
  assert.equal(exported.id, annotation.id);
  assert.equal(exported.result.length, 1);
  const [region] = exported.result;
  assert.equal(region.type, 'rectanglelabels');
  assert.equal(region.from_name, 'label');
  assert.equal(region.to_name, 'image');
  assert.equal(region.original_width, 640);
  assert.equal(region.original_height, 480);
  assert.deepEqual(region.value.rectanglelabels, ['Cat']);
  assert.ok(Math.abs(region.value.x - 10) < 2 && Math.abs(region.value.y - 20) < 2, JSON.stringify(region.value));
  assert.ok(Math.abs(region.value.width - 40) < 2 && Math.abs(region.value.height - 40) < 2, JSON.stringify(region.value));
  assert.ok(region.id, 'the editor gives each region an id');
  assert.deepEqual(exported.task.data.image.startsWith('/data/local-files/?d='), true, JSON.stringify(exported.task.data));
  boxes.first = annotation;
});

test('Update changes the exported object', async () => {
  await openTask(boxes.id, boxes.tasks[0]);
  await screenshot('reopened');
  await editorButton('Update').waitFor();
  await drawBox('Dog', [0.6, 0.1], [0.9, 0.4]);
  await editorButton('Update').click();
  await page.waitForURL((url) => url.pathname !== `/projects/${boxes.id}/label/${boxes.tasks[0]}`);
  const [annotation] = await annotationsOf(boxes.tasks[0]);
  assert.equal(annotation.id, boxes.first.id, 'the same annotation, updated');
  const exported = await eventually(async () => {
    const object = await exportedObject(boxes, annotation.id);
    return object.result.length === 2 && object;
  }, 'the exported object has both boxes');
  assert.deepEqual(exported.result.map((r) => r.value.rectanglelabels[0]).sort(), ['Cat', 'Dog']);
});

test('probe2', async () => {
  await openTask(boxes.id, boxes.tasks[1]);
  await screenshot('probe2');
});

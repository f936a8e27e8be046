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
import { SCREENSHOTS, startServer, launchBrowser, png, signIn, apiClient, collectErrors } from './harness.mjs';

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

/** The API as the test's user (set once the server runs). */
let call;

async function screenshot(name) {
  await page.screenshot({ path: path.join(SCREENSHOTS, `labeling-${name}.png`), fullPage: true });
}

/** A project with a source and a target storage on local folders; the source synced. */
async function projectWithStorages(title, config, folder) {
  const project = await call('POST', '/api/projects/', { title, label_config: config });
  const exported = path.join(root, `${folder}-export`);
  mkdirSync(exported);
  // The target may delete what it exported, so deleting an annotation shows in the folder.
  const target = await call('POST', '/api/storages/export/localfiles', { project: project.id, title: 'annotations', path: exported,
    can_delete_objects: true });
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
async function eventually(read, what, { tries = 100 } = {}) {
  for (let i = 0; i < tries; i += 1) {
    const value = await read();
    if (value) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`never happened: ${what}`);
}

/** Opens a task in the editor and waits until it has drawn it. */
async function openTask(projectId, taskId) {
  await page.goto(`/projects/${projectId}/label/${taskId}`);
  await page.locator('.editor-host[data-ready]').waitFor();
}

before(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  root = mkdtempSync(path.join(tmpdir(), 'labelsync-labeling-root-'));
  mkdirSync(path.join(root, 'photos'));
  [[200, 90, 60], [60, 140, 220], [80, 180, 90]].forEach((color, i) =>
    writeFileSync(path.join(root, `photos/photo-${i + 1}.png`), png(640, 480, color)));
  server = await startServer({ documentRoot: root, email: EMAIL, password: PASSWORD, token: TOKEN });
  call = apiClient(server, TOKEN);

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
  // `/next/` answers 404 when every task is done, as Label Studio's does: not an error.
  collectErrors(page, consoleErrors, (msg) => msg.location().url.includes('/next/'));
  await signIn(page, EMAIL, PASSWORD);
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

/** The one annotation of a task (a second one would be a double submit). */
async function onlyAnnotation(taskId) {
  const annotations = await annotationsOf(taskId);
  assert.equal(annotations.length, 1, `task ${taskId} has exactly one annotation: ${JSON.stringify(annotations)}`);
  return annotations[0];
}

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
  const sent = page.waitForRequest((r) => r.method() === 'POST' && r.url().endsWith(`/api/tasks/${taskId}/annotations/`));
  await editorButton('Submit').click();
  const editorResult = (await sent).postDataJSON().result;
  await page.waitForURL((url) => url.pathname === `/projects/${boxes.id}/label/${boxes.tasks[1]}`);
  const annotation = await onlyAnnotation(taskId);
  assert.equal(annotation.was_cancelled, false);
  assert.ok(annotation.lead_time > 0, 'lead_time is sent');
  const exported = await exportedObject(boxes, annotation.id);
  assert.equal(exported.id, annotation.id);
  assert.deepEqual(exported.result, editorResult, "the editor's result, exported unchanged");
  assert.equal(exported.result.length, 1);
  const [region] = exported.result;
  assert.equal(region.type, 'rectanglelabels');
  assert.equal(region.origin, 'manual');
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
  const annotation = await onlyAnnotation(boxes.tasks[0]);
  assert.equal(annotation.id, boxes.first.id, 'the same annotation, updated');
  const exported = await eventually(async () => {
    const object = await exportedObject(boxes, annotation.id);
    return object.result.length === 2 && object;
  }, 'the exported object has both boxes');
  assert.deepEqual(exported.result.map((r) => r.value.rectanglelabels[0]).sort(), ['Cat', 'Dog']);
});

test('Skip records a cancelled annotation, exported as such', async () => {
  const taskId = boxes.tasks[1];
  await openTask(boxes.id, taskId);
  await page.locator('.editor-host button[aria-label="skip-task"]').click();
  await page.waitForURL((url) => url.pathname === `/projects/${boxes.id}/label/${boxes.tasks[2]}`);
  const annotation = await onlyAnnotation(taskId);
  assert.equal(annotation.was_cancelled, true);
  const exported = await exportedObject(boxes, annotation.id);
  assert.equal(exported.was_cancelled, true);
  assert.equal((await call('GET', `/api/tasks/${taskId}`)).is_labeled, false, 'a skipped task is not labeled');
});

test('a prediction is the start of the annotation; submitted, it is exported with parent_prediction', async () => {
  const taskId = boxes.tasks[2];
  const prediction = await call('POST', '/api/predictions/', { task: taskId, model_version: 'detector-v1', score: 0.9, result: [{
    id: 'pred-box', from_name: 'label', to_name: 'image', type: 'rectanglelabels', original_width: 640, original_height: 480,
    image_rotation: 0, value: { x: 25, y: 25, width: 50, height: 30, rotation: 0, rectanglelabels: ['Dog'] } }] });
  await openTask(boxes.id, taskId);
  await page.locator('.editor-host li[aria-label="region"]', { hasText: 'Dog' }).waitFor();
  await screenshot('from-prediction');
  await editorButton('Submit').click();
  await page.waitForURL((url) => url.pathname === `/projects/${boxes.id}/label`);
  await page.getByText('All tasks are labeled').waitFor();
  const annotation = await onlyAnnotation(taskId);
  assert.equal(annotation.parent_prediction, prediction.id);
  const exported = await exportedObject(boxes, annotation.id);
  assert.equal(exported.parent_prediction, prediction.id);
  assert.equal(exported.result.length, 1);
  assert.deepEqual(exported.result[0].value, prediction.result[0].value, 'the predicted box, accepted as it was');
});

/** Selects `phrase` in the editor's text with the mouse, as a user marks an entity. */
async function markEntity(label, phrase, { hotkey } = {}) {
  if (hotkey) await page.keyboard.press(hotkey);
  else await page.locator('.editor-host .lsf-label', { hasText: label }).first().click();
  const span = await page.evaluate((wanted) => {
    // The text as shown: already marked entities split it into several nodes.
    const walker = document.createTreeWalker(document.querySelector('.editor-host .lsf-richtext__container'), NodeFilter.SHOW_TEXT);
    let node = walker.nextNode();
    while (node && !node.data.includes(wanted)) node = walker.nextNode();
    const start = node.data.indexOf(wanted);
    const range = document.createRange();
    range.setStart(node, start);
    range.setEnd(node, start + wanted.length);
    const box = range.getBoundingClientRect();
    return { x0: box.left + 1, x1: box.right - 1, y: box.top + box.height / 2 };
  }, phrase);
  await page.mouse.move(span.x0, span.y);
  await page.mouse.down();
  await page.mouse.move(span.x1, span.y, { steps: 5 });
  await page.mouse.up();
  await page.locator('.editor-host li[aria-label="region"]', { hasText: label }).first().waitFor();
}

test('mark a named entity in a text task and submit it, with the editor\'s keyboard shortcuts', async () => {
  const taskId = entities.tasks[0];
  await openTask(entities.id, taskId);
  await markEntity('PER', 'Ada Lovelace', { hotkey: '1' });
  await screenshot('entity');
  await page.keyboard.press('Control+Enter');
  await page.waitForURL((url) => url.pathname === `/projects/${entities.id}/label/${entities.tasks[1]}`);
  const annotation = await onlyAnnotation(taskId);
  const exported = await exportedObject(entities, annotation.id);
  assert.equal(exported.result.length, 1);
  const [region] = exported.result;
  assert.equal(region.type, 'labels');
  assert.deepEqual(region.value, { start: 0, end: 12, text: 'Ada Lovelace', labels: ['PER'] });
  assert.ok(region.id);
});

test('a draft is saved on leaving, comes back on reopening, is never exported, and goes on submit', async () => {
  const taskId = entities.tasks[1];
  await openTask(entities.id, taskId);
  await markEntity('PER', 'Grace Hopper');
  const exportedBefore = readdirSync(entities.exported).sort();
  await page.getByRole('link', { name: 'Data Manager' }).click();
  await page.waitForURL(`**/projects/${entities.id}/data**`);
  // Saved on leaving, not by the autosave's next round (every 5 s): within about a second.
  const [draft] = await eventually(async () => {
    const drafts = await call('GET', `/api/tasks/${taskId}/drafts`);
    return drafts.length === 1 && drafts;
  }, 'the draft is saved when the user leaves the task', { tries: 12 });
  assert.equal(draft.annotation, null);
  assert.deepEqual(draft.result.map((r) => r.value.text), ['Grace Hopper']);
  assert.deepEqual(readdirSync(entities.exported).sort(), exportedBefore, 'a draft is never exported');
  assert.deepEqual(await annotationsOf(taskId), []);

  await openTask(entities.id, taskId);
  await page.locator('.editor-host li[aria-label="region"]', { hasText: 'PER' }).waitFor();
  await screenshot('draft-restored');
  await markEntity('ORG', 'Navy');
  await editorButton('Submit').click();
  await page.waitForURL((url) => url.pathname === `/projects/${entities.id}/label`);
  const annotation = await onlyAnnotation(taskId);
  assert.deepEqual(annotation.result.map((r) => `${r.value.labels[0]}:${r.value.text}`).sort(), ['ORG:Navy', 'PER:Grace Hopper']);
  assert.deepEqual(await call('GET', `/api/tasks/${taskId}/drafts`), [], 'submitting removed the draft');
  const exported = await exportedObject(entities, annotation.id);
  assert.equal(exported.result.length, 2);
});

test('Settings > Labeling Interface: a template previews live with the first task; an invalid config is refused and not saved', async () => {
  await page.goto(`/projects/${entities.id}/settings/labeling`);
  const preview = page.locator('.config-preview');
  await preview.locator('.lsf-richtext__container', { hasText: 'Ada Lovelace worked with Charles Babbage.' }).waitFor();
  await page.getByRole('button', { name: 'Object detection with bounding boxes' }).click();
  await preview.locator('.konvajs-content').waitFor();
  await preview.getByText('Airplane').first().waitFor();
  await screenshot('settings-template');
  await page.getByRole('button', { name: 'Audio transcription' }).click();
  await preview.getByText('Write the transcription').waitFor();
  await preview.locator('audio, wave, #wave').first().waitFor({ state: 'attached' });

  const before = (await call('GET', `/api/projects/${entities.id}/`)).label_config;
  const xml = page.getByLabel('Labeling config XML');
  await xml.fill('<View><Text name="text" value="$text"></View>');
  await page.locator('.config-summary.error', { hasText: 'not valid XML' }).waitFor();
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await page.locator('.form-status.error', { hasText: 'Not saved' }).waitFor();
  await xml.fill('<View><Text name="text" value="$text"/><Labels name="label" toName="txt"><Label value="PER"/></Labels></View>');
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await page.locator('.form-status.error', { hasText: 'toName="txt"' }).waitFor();
  // The browser logs the refusal (a 400) as a console error: the one expected here.
  const refusal = consoleErrors.findIndex((e) => e.includes('400') && e.includes(`/api/projects/${entities.id}/`));
  assert.notEqual(refusal, -1, 'the server refused the config');
  consoleErrors.splice(refusal, 1);
  await screenshot('settings-invalid');
  assert.equal((await call('GET', `/api/projects/${entities.id}/`)).label_config, before, 'nothing invalid was saved');

  const fixed = '<View><Labels name="label" toName="text"><Label value="PER"/><Label value="LOC"/></Labels><Text name="text" value="$text"/></View>';
  await xml.fill(fixed);
  await preview.getByText('LOC').first().waitFor();
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await page.locator('.form-status', { hasText: 'Saved.' }).waitFor();
  assert.equal((await call('GET', `/api/projects/${entities.id}/`)).label_config, fixed);
});

test('deleting an annotation in the editor deletes it on the server and from the target storage', async () => {
  const taskId = boxes.tasks[0];
  const annotation = await onlyAnnotation(taskId);
  const exported = path.join(boxes.exported, String(annotation.id));
  assert.ok(existsSync(exported));
  await openTask(boxes.id, taskId);
  await page.locator('.editor-host button[aria-label="Delete"]').click();
  await page.getByRole('button', { name: 'Proceed' }).click();
  await eventually(async () => (await annotationsOf(taskId)).length === 0, 'the annotation is deleted on the server');
  await eventually(() => !existsSync(exported), 'the exported object is removed');
});

test('no console errors', () => {
  assert.deepEqual(consoleErrors, []);
});

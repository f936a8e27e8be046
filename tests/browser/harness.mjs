// Shared parts of the browser tests: a real labelsync server on a temporary data dir, PNG
// files, the storage helper, the emulators' pids, and Chromium from Debian via playwright-core.

import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { deflateSync } from 'node:zlib';
import { chromium } from 'playwright-core';

export const REPO = path.resolve(import.meta.dirname, '../..');
export const SCREENSHOTS = path.join(REPO, 'screenshots');
export const DEBUG_BINARY = path.join(REPO, 'target/debug/labelsync');
const STORAGE_TOOL = path.join(REPO, 'target/debug/examples/storage_tool');

/** An environment variable the test cannot run without (set by scripts/test). */
export function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the browser tests through scripts/test or scripts/browser-tests with the emulators' env`);
  return value;
}

/** Starts labelsync on a free port; its environment has no cloud credentials, so every
 * storage the test adds uses the explicit ones typed into the wizard. */
export async function startServer({ documentRoot, email, password, token, binary = DEBUG_BINARY }) {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'labelsync-ui-data-'));
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) =>
    !/^(AWS_|AZURE_|GOOGLE_|S3_ENDPOINT|STORAGE_EMULATOR_HOST|LABEL_STUDIO_|LABELSYNC_|LOCAL_FILES_)/.test(k)));
  env.RUST_LOG = 'info';
  const child = spawn(binary, ['start', '--host', '127.0.0.1', '--port', '0', '--data-dir', dataDir,
    '--username', email, '--password', password, ...(token ? ['--user-token', token] : []),
    '--local-files-serving-enabled', 'true', '--local-files-document-root', documentRoot], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stderr.on('data', (d) => { log += d; });
  const url = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`labelsync did not start in 20 s:\n${log}`)), 20000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/\S+)/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    child.on('exit', (code) => reject(new Error(`labelsync exited with ${code}:\n${log}`)));
  });
  return { url, dataDir, log: () => log, stop: () => child.kill('SIGTERM') };
}

/** A client of `server`'s API with a user token: `call(method, route, body)` resolves with
 * the JSON answer and fails the test on an error status. */
export function apiClient(server, token) {
  return async (method, route, body) => {
    const response = await fetch(server.url + route, {
      method,
      headers: { Authorization: `Token ${token}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${route}: ${response.status} ${text}`);
    return text ? JSON.parse(text) : null;
  };
}

/** Pushes each console error and uncaught exception of `page` onto `errors`, except the
 * console errors `expected(message)` says the test causes on purpose. */
export function collectErrors(page, errors, expected = () => false) {
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !expected(msg)) errors.push(`${msg.text()} (${msg.location().url})`);
  });
  page.on('pageerror', (err) => errors.push(`page error: ${err.message}`));
}

/** Signs `page` in through the sign-in form and waits for the projects list. */
export async function signIn(page, email, password) {
  await page.goto('/user/login');
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
  await page.waitForURL('**/projects');
}

/** A solid-colour PNG of the given size (valid, decodable by the browser). */
export function png(width, height, [r, g, b]) {
  const row = Buffer.alloc(1 + width * 3);
  for (let x = 0; x < width; x += 1) row.set([r, g, b], 1 + x * 3);
  const raw = Buffer.concat(Array.from({ length: height }, () => row));
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk('IHDR', header), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

function chunk(type, data) {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

function crc32(bytes) {
  let c = 0xffffffff;
  for (const byte of bytes) {
    c ^= byte;
    for (let k = 0; k < 8; k += 1) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return (c ^ 0xffffffff) >>> 0;
}

/** A document root with image folders for the local-files parts of the workflow. */
export function documentRoot() {
  const root = mkdtempSync(path.join(tmpdir(), 'labelsync-ui-root-'));
  const colors = [[220, 80, 60], [60, 140, 220], [80, 180, 90], [230, 190, 40], [150, 90, 200]];
  mkdirSync(path.join(root, 'images/more'), { recursive: true });
  colors.forEach((c, i) => writeFileSync(path.join(root, `images/photo-${i + 1}.png`), png(64, 48, c)));
  writeFileSync(path.join(root, 'images/notes.txt'), 'not an image: the Images filter leaves it out');
  writeFileSync(path.join(root, 'images/more/extra-1.png'), png(64, 48, [20, 20, 20]));
  writeFileSync(path.join(root, 'images/more/extra-2.png'), png(64, 48, [200, 200, 200]));
  mkdirSync(path.join(root, 'annotations'));
  mkdirSync(path.join(root, 'doomed'));
  writeFileSync(path.join(root, 'doomed/gone.png'), png(8, 8, [0, 0, 0]));
  return root;
}

/** Writes an object into a storage through labelsync's own providers. */
export function storageWrite(type, fields, name, file) {
  execFileSync(STORAGE_TOOL, ['write', type, 'import', JSON.stringify(fields), name, `@${file}`], { stdio: 'inherit' });
}

/** The pid of an emulator started by scripts/emulators/start-all.sh. */
export function emulatorPid(name) {
  const run = process.env.EMU_RUN || '/tmp/labelsync-test-emulators';
  const line = readFileSync(path.join(run, 'pids'), 'utf8').split('\n').find((l) => l.split(' ')[0] === name);
  if (!line) throw new Error(`no pid for ${name} in ${run}/pids`);
  return Number(line.split(' ')[1]);
}

/** Debian's Chromium, headless, with nothing that reaches outside this machine. */
export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
}

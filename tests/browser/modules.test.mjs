// The shape of the UI's script modules (static/js), read as text: every named import exists
// in the module it names, and no module imports one that imports it back (screens share
// layout pieces from layout.js, never from each other or from the router).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../static/js');
const IMPORT = /import\s+(\{[^}]*\}|\*\s+as\s+\w+)\s+from\s+'([^']+)'/g;
const EXPORT = /export\s+(?:async\s+)?(?:function|const|class|let)\s+([A-Za-z_$][\w$]*)/g;

function modules(dir = ROOT) {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    if (statSync(file).isDirectory()) return modules(file);
    return name.endsWith('.js') ? [file] : [];
  });
}

const sources = new Map(modules().map((file) => [file, readFileSync(file, 'utf8')]));
const exportsOf = (file) => new Set([...sources.get(file).matchAll(EXPORT)].map((m) => m[1]));
const importsOf = (file) => [...sources.get(file).matchAll(IMPORT)].map(([, names, target]) => ({
  names: names.startsWith('{') ? names.slice(1, -1).split(',').map((n) => n.trim().split(/\s+as\s+/)[0]).filter(Boolean) : [],
  target: path.resolve(path.dirname(file), target),
}));

test('every named import exists in the module it names', () => {
  const missing = [];
  for (const file of sources.keys()) {
    for (const { names, target } of importsOf(file)) {
      if (!sources.has(target)) { missing.push(`${file}: no module ${target}`); continue; }
      const exported = exportsOf(target);
      for (const name of names) if (!exported.has(name)) missing.push(`${file}: ${name} from ${target}`);
    }
  }
  assert.deepEqual(missing, []);
});

test('no module imports one that imports it back', () => {
  const graph = new Map([...sources.keys()].map((file) => [file, importsOf(file).map((i) => i.target)]));
  const reaches = (from, to, seen = new Set()) => from === to
    || (!seen.has(from) && (seen.add(from), (graph.get(from) || []).some((next) => reaches(next, to, seen))));
  const cycles = [];
  for (const [file, targets] of graph) {
    for (const target of targets) if (reaches(target, file)) cycles.push(`${path.relative(ROOT, file)} -> ${path.relative(ROOT, target)}`);
  }
  assert.deepEqual(cycles, []);
});

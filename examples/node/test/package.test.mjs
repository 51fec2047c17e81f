// The suite runs against the `usdt-recharge` package installed from its .tgz into a fresh
// folder (test.sh), as a merchant's project would: what was installed, its typings
// (every runtime export declared, nothing more; a strict TypeScript program that uses
// the API compiles against them), and that it needs nothing at run time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ur from 'usdt-recharge';
import * as bindings from 'usdt-recharge/bindings';

const HERE = dirname(fileURLToPath(import.meta.url));
const entry = realpathSync(fileURLToPath(import.meta.resolve('usdt-recharge')));
const PKG = dirname(entry);

test('the package is an installed copy, not the source folder', () => {
  assert.equal(PKG, realpathSync(join(HERE, '..', 'node_modules', 'usdt-recharge')));
  assert.ok(!PKG.includes(join('examples', 'node', 'package')), PKG);
  const pkg = JSON.parse(readFileSync(join(PKG, 'package.json'), 'utf8'));
  assert.equal(pkg.name, 'usdt-recharge');
  assert.deepEqual(pkg.dependencies ?? {}, {}, 'the package needs nothing at run time');
  for (const f of ['usdt-recharge.mjs', 'usdt-recharge.d.ts', 'gen/usdt_recharge.js', 'gen/usdt_recharge.d.ts',
    'gen/usdt_recharge.core.wasm', 'gen/interfaces/usdt-recharge-callbacks.d.ts']) {
    assert.ok(existsSync(join(PKG, f)), `${f} is missing from the package`);
  }
  // The package version is the version of the WIT package its component exports.
  const root = readFileSync(join(PKG, 'gen', 'usdt_recharge.d.ts'), 'utf8');
  assert.ok(root.includes(`'usdt:recharge/callbacks@${pkg.version}'`), `component is not @${pkg.version}`);
});

test('the raw jco bindings are exported as usdt-recharge/bindings', () => {
  assert.equal(typeof bindings.instantiate, 'function');
});

test('the typings declare every runtime export and nothing else', () => {
  const dts = readFileSync(join(PKG, 'usdt-recharge.d.ts'), 'utf8');
  const declared = [...dts.matchAll(/^export (?:const|function|class) (\w+)/gm)].map((m) => m[1]).sort();
  assert.deepEqual(declared, Object.keys(ur).sort());
});

test('a strict TypeScript program using the API compiles against the typings', () => {
  const tsc = process.env.USDT_TSC;
  assert.ok(tsc, 'USDT_TSC (the path of tsc) is not set: run the suite with test.sh');
  execFileSync(process.execPath, [tsc, '-p', join(HERE, 'types')], { stdio: 'inherit' });
  // …and the same program with a type error in it does not.
  assert.throws(() => execFileSync(process.execPath, [tsc, '-p', join(HERE, 'types', 'bad')], { stdio: 'pipe' }));
});

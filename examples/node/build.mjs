// npm run build: transpile the usdt:recharge component with jco into package/gen/, the
// generated half of the `usdt-recharge` npm package (JavaScript, core .wasm files and
// TypeScript typings of the raw bindings; the wrapper's own typings are
// package/usdt-recharge.d.ts).
// Component: $USDT_RECHARGE_COMPONENT, else <repo>/target/component/usdt_recharge.wasm.
// `--instantiation sync` makes gen/usdt_recharge.js export `instantiate()`, so the wrapper
// compiles the core modules once and can make a fresh instance (after a trap, or per test).
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const component = process.env.USDT_RECHARGE_COMPONENT || here('../../target/component/usdt_recharge.wasm');
if (!existsSync(component)) {
  console.error(`missing ${component}: run 'cargo build -p usdt-recharge-component' first`);
  process.exit(1);
}
const out = here('package/gen');
rmSync(out, { recursive: true, force: true });
execFileSync(process.execPath, [
  here('node_modules/@bytecodealliance/jco/dist/jco.js'), 'transpile', component,
  '--out-dir', out, '--name', 'usdt_recharge', '--instantiation', 'sync', '--quiet',
], { stdio: 'inherit' });
console.log(`transpiled ${component} -> package/gen/`);

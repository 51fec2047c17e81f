// npm run build: transpile the usdt:recharge component into ./gen/ with jco.
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
rmSync(here('gen'), { recursive: true, force: true });
execFileSync(process.execPath, [
  here('node_modules/@bytecodealliance/jco/dist/jco.js'), 'transpile', component,
  '--out-dir', here('gen'), '--name', 'usdt_recharge', '--instantiation', 'sync',
  '--no-typescript', '--quiet',
], { stdio: 'inherit' });
console.log(`transpiled ${component} -> gen/`);

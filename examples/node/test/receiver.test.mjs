// End to end: receiver.mjs in a child process on a free port, fed the exact bodies the
// gateway sends (the component's build-callback-body).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import * as ur from 'usdt-recharge';

const SECRET = 'merchant-secret-e2e';
let child;
let url;
const lines = [];
const waiters = [];

function nextLine(timeoutMs = 10000) {
  if (lines.length) return Promise.resolve(lines.shift());
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the receiver printed nothing')), timeoutMs);
    waiters.push((line) => { clearTimeout(timer); resolve(line); });
  });
}

before(async () => {
  child = spawn(process.execPath, [fileURLToPath(new URL('../receiver.mjs', import.meta.url)),
    '--host', '127.0.0.1', '--port', '0'], {
    env: { ...process.env, USDT_MERCHANT_SECRET: SECRET },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  createInterface({ input: child.stdout }).on('line', (line) => {
    const w = waiters.shift();
    if (w) w(line); else lines.push(line);
  });
  const first = await nextLine(30000);
  assert.match(first, /^listening on /);
  url = first.slice('listening on '.length);
});

after(async () => {
  if (child.exitCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
});

async function post(body, method = 'POST') {
  const res = await fetch(url, { method, body, headers: { 'Content-Type': 'application/json' } });
  return [res.status, await res.text()];
}

const now = () => BigInt(Math.floor(Date.now() / 1000));

test('pays once, rejects tampering and replays nothing', async () => {
  const fields = { orderid: 'shop-20250905-e2e001', localusermark: 'uid-42', amount: 1005000n };
  const body = ur.buildCallbackBody({ ...fields, t: now() }, SECRET);

  // 1. the gateway's body: paid
  assert.deepEqual(await post(body), [200, 'success']);
  assert.equal(await nextLine(), 'PAID shop-20250905-e2e001 1005000');

  // 2. the amount changed in transit: refused, nothing paid
  const tampered = JSON.stringify({ ...JSON.parse(body), amount: '99005000' });
  assert.deepEqual(await post(tampered), [400, 'fail: SIGN_MISMATCH']);
  assert.equal(await nextLine(), 'REJECTED SIGN_MISMATCH sign');

  // 3. the same body replayed, and a gateway retry with a fresh t and sign: `success`, never paid twice
  assert.deepEqual(await post(body), [200, 'success']);
  assert.equal(await nextLine(), 'ALREADY_PAID shop-20250905-e2e001');
  const retry = ur.buildCallbackBody({ ...fields, t: now() + 1n }, SECRET);
  assert.notEqual(retry, body);
  assert.deepEqual(await post(retry), [200, 'success']);
  assert.equal(await nextLine(), 'ALREADY_PAID shop-20250905-e2e001');

  // 4. outside the ±300 s window, signed with another secret, not JSON
  const stale = ur.buildCallbackBody({ ...fields, orderid: 'shop-stale', t: now() - 400n }, SECRET);
  assert.deepEqual(await post(stale), [400, 'fail: TIMESTAMP_OUT_OF_WINDOW']);
  assert.equal(await nextLine(), 'REJECTED TIMESTAMP_OUT_OF_WINDOW t');
  const forged = ur.buildCallbackBody({ ...fields, orderid: 'shop-forged', t: now() }, 'guess');
  assert.deepEqual(await post(forged), [400, 'fail: SIGN_MISMATCH']);
  assert.equal(await nextLine(), 'REJECTED SIGN_MISMATCH sign');
  assert.deepEqual(await post('orderid=1'), [400, 'fail: INVALID_JSON']);
  assert.equal(await nextLine(), 'REJECTED INVALID_JSON -');

  // 5. only POST; bodies over 64 KiB are refused
  assert.equal((await post(undefined, 'GET'))[0], 405);
  assert.equal((await post('x'.repeat(70 * 1024)))[0], 413);

  assert.equal(lines.length, 0, `unexpected output: ${lines}`);
});

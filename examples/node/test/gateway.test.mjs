// End to end against the real gateway: `usdt-gateway serve` (SQLite in a temp dir, dev
// chains) pays an order and POSTs its callback to receiver.mjs, which credits it once; a
// copy of a genuine gateway callback with `amount` or `orderid` changed is refused.
//
// Needs the gateway binary: $USDT_GATEWAY_BIN, else ../../target/debug/usdt-gateway
// (`cargo build -p usdt-gateway`; `scripts/test` builds it before this suite). A missing
// binary is a failure, never a skip.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { accessSync, constants, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import * as ur from 'usdt-recharge';

const EXAMPLE_DIR = fileURLToPath(new URL('..', import.meta.url)); // examples/node
const START_TIMEOUT = 60_000; // a cold start on a loaded machine; normally about a second
const CALLBACK_TIMEOUT = 20_000;
const AMOUNT = 1005000; // 100.5 USDT in 1/10000 units
const AMOUNT_TEXT = '100.5';
const REFUSED = [400, 'fail: SIGN_MISMATCH'];

const hex = (bytes) => randomBytes(bytes).toString('hex');
const md5 = (text) => createHash('md5').update(text, 'utf8').digest('hex');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function gatewayBinary() {
  const path = resolve(EXAMPLE_DIR, process.env.USDT_GATEWAY_BIN || '../../target/debug/usdt-gateway');
  try {
    if (!statSync(path).isFile()) throw new Error('not a file');
    accessSync(path, constants.X_OK);
  } catch {
    assert.fail(`the gateway binary ${path} is missing: run \`cargo build -p usdt-gateway\` `
      + 'first (or point USDT_GATEWAY_BIN at a built usdt-gateway)');
  }
  return path;
}

/** Polls `probe` until it returns something other than undefined, or fails after `timeoutMs`. */
async function waitUntil(probe, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 20; ; delay = Math.min(delay * 2, 200)) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) assert.fail(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(delay);
  }
}

/** POSTs a JSON body: an object, or the exact text to send. Returns [status, text]. */
async function post(url, body) {
  const res = await fetch(url, {
    method: 'POST',
    body: typeof body === 'string' ? body : JSON.stringify(body),
    headers: { 'Content-Type': 'application/json' },
  });
  return [res.status, await res.text()];
}

/** The stdout lines of a child; `expect` waits for a line after the last one it matched. */
class Lines {
  constructor(name, stream) {
    this.name = name;
    this.lines = [];
    this.next = 0;
    this.eof = false;
    this.wake = () => {};
    createInterface({ input: stream })
      .on('line', (line) => { this.lines.push(line); this.wake(); })
      .on('close', () => { this.eof = true; this.wake(); });
  }

  async expect(match, timeoutMs, what) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (let i = this.next; i < this.lines.length; i++) {
        if (match(this.lines[i])) {
          this.next = i + 1;
          return this.lines[i];
        }
      }
      this.next = this.lines.length;
      const left = deadline - Date.now();
      if (this.eof || left <= 0) {
        const why = this.eof ? 'exited' : `printed nothing matching within ${timeoutMs / 1000} s`;
        assert.fail(`waiting for ${what}: ${this.name} ${why}; its output: ${JSON.stringify(this.lines)}`);
      }
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => { clearTimeout(timer); resolve(); };
      });
      this.wake = () => {};
    }
  }

  expectLine(line, timeoutMs = 10_000) {
    return this.expect((got) => got === line, timeoutMs, JSON.stringify(line));
  }
}

/** SIGTERM, then wait (SIGKILL after `timeoutMs`); the exit code, or null when killed. */
async function stop(child, timeoutMs = 15_000) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null;
  const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await exited;
  clearTimeout(timer);
  return code;
}

const secret = hex(20); // 40 characters
let tmp;
let receiver;
let receiverOut;
let receiverUrl;
let capture;
let captureUrl;
const captured = []; // { path, headers, body }
let gateway;
let gatewayUrl;
let gatewayStderr = '';

before(async () => {
  const binary = gatewayBinary();
  tmp = mkdtempSync(join(tmpdir(), 'usdt-gw-e2e-'));

  // receiver.mjs, as a merchant runs it
  receiver = spawn(process.execPath, [join(EXAMPLE_DIR, 'receiver.mjs'), '--host', '127.0.0.1', '--port', '0'], {
    env: { ...process.env, USDT_MERCHANT_SECRET: secret },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  receiverOut = new Lines('receiver.mjs', receiver.stdout);
  const first = await receiverOut.expect(() => true, START_TIMEOUT, 'the receiver to start');
  assert.match(first, /^listening on http:\/\//, 'receiver.mjs did not start');
  receiverUrl = first.slice('listening on '.length); // it answers on every path

  // the capture endpoint: records each POST and answers `success`, as a merchant would
  capture = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      captured.push({ path: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('success');
    });
  });
  await new Promise((resolve) => capture.listen(0, '127.0.0.1', resolve));
  captureUrl = `http://127.0.0.1:${capture.address().port}/usdt/notify`;

  // the gateway
  const config = join(tmp, 'gateway.toml');
  writeFileSync(config, `listen = "127.0.0.1:0"
data_dir = ${JSON.stringify(join(tmp, 'data'))}

[log]
level = "warn"

[dev]
enabled = true
poll_interval = "50ms"

[notify]
retry_delays = ["1s", "1s"]
timeout = "3s"
allow_private_targets = true

[[merchants]]
appid = "nodeshop"
secret = "${secret}"
notify_url = "${receiverUrl}"

[[merchants]]
appid = "capture"
secret = "${secret}"
notify_url = "${captureUrl}"
`);
  // The gateway reads every USDT_GATEWAY_* variable as configuration (and refuses unknown
  // keys such as `bin` from USDT_GATEWAY_BIN): only the file counts here.
  const env = Object.fromEntries(Object.entries(process.env)
    .filter(([k]) => !k.startsWith('USDT_GATEWAY_') && k !== 'RUST_LOG'));
  gateway = spawn(binary, ['serve', '--config', config], { env, cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'] });
  gateway.stderr.setEncoding('utf8');
  gateway.stderr.on('data', (s) => { gatewayStderr = (gatewayStderr + s).slice(-8000); });
  gateway.on('error', (e) => { gatewayStderr += `\nspawn: ${e.message}`; });
  const gatewayOut = new Lines('usdt-gateway', gateway.stdout);
  let ready;
  try {
    ready = await gatewayOut.expect((l) => l.startsWith('usdt-gateway listening on http://'),
      START_TIMEOUT, 'the gateway to start');
  } catch (e) {
    assert.fail(`${e.message}\ngateway stderr:\n${gatewayStderr}`);
  }
  gatewayUrl = ready.slice('usdt-gateway listening on '.length).replace(/\/$/, '');
});

after(async () => {
  // The gateway first, so it sends nothing to a stopped receiver; it must exit 0 on SIGTERM.
  const code = await stop(gateway);
  await stop(receiver);
  if (capture) {
    capture.closeAllConnections();
    await new Promise((resolve) => capture.close(resolve));
  }
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  if (gatewayUrl) {
    assert.equal(code, 0, `usdt-gateway exited with ${code} after SIGTERM (null: killed after 15 s)\n`
      + `stderr:\n${gatewayStderr}`);
  }
});

// ---- the gateway's API

async function gw(path, body) {
  const [status, text] = await post(gatewayUrl + path, body);
  assert.equal(status, 200, `${path}: ${status} ${text}`);
  return JSON.parse(text);
}

/** Places an order for 100.5 USDT on a fresh ERC20 address and pays it on the dev chain. */
async function placeAndPay(appid) {
  const order = {
    appid,
    username: `user-${hex(3)}`,
    localusermark: `uid-${hex(4)}`,
    address: `0x${hex(20)}`,
    orderid: `${appid}-e2e-${hex(6)}`,
  };
  const sign = md5([appid, order.username, order.localusermark, order.address, order.orderid, AMOUNT, secret].join('|'));
  const placed = await gw('/api/merchant/v2/TraderRechargeorder', { ...order, amount: AMOUNT, sign });
  assert.equal(placed.status, 1, JSON.stringify(placed));
  assert.equal(placed.data.orderid, order.orderid);
  assert.equal(placed.data.chain, 'ERC20');
  const paid = await gw('/dev/chains/ERC20/transfers', { to: order.address, amount: AMOUNT_TEXT });
  assert.ok(paid.txid, JSON.stringify(paid));
  return order;
}

async function query(appid, orderid) {
  const answer = await gw('/api/merchant/v2/TraderRechargeorderQuery',
    { appid, orderid, sign: md5(`${appid}|${orderid}|${secret}`) });
  assert.equal(answer.status, 1, JSON.stringify(answer));
  return answer.data;
}

// The receiver prints PAID before it answers, so the gateway may record the delivery a
// moment later.
async function waitDelivered(appid, orderid) {
  const data = await waitUntil(async () => {
    const d = await query(appid, orderid);
    return d.callback === 'delivered' ? d : undefined;
  }, 10_000, `the callback of ${orderid} to be delivered`);
  assert.equal(data.state, 'confirmed', JSON.stringify(data));
  assert.equal(data.received_amount, AMOUNT, JSON.stringify(data));
  return data;
}

const toReceiver = (body) => post(receiverUrl, body);

// ---- tests

test('a callback from the gateway pays the receiver', async () => {
  const order = await placeAndPay('nodeshop');
  await receiverOut.expectLine(`PAID ${order.orderid} ${AMOUNT}`, CALLBACK_TIMEOUT);
  await waitDelivered('nodeshop', order.orderid);
});

test('a genuine gateway callback is accepted once, tampered copies are refused', async () => {
  const order = await placeAndPay('capture');
  const oid = order.orderid;

  // The gateway's real callback, as it arrived at the capture endpoint.
  const request = await waitUntil(() => captured.find((r) => JSON.parse(r.body).orderid === oid),
    CALLBACK_TIMEOUT, `the gateway's callback for ${oid}`);
  const { body } = request;
  assert.equal(request.path, '/usdt/notify');
  assert.match(request.headers['content-type'] ?? '', /^application\/json/);
  const fields = JSON.parse(body);
  assert.deepEqual(Object.keys(fields).sort(), ['amount', 'localusermark', 'orderid', 'sign', 't']);
  assert.deepEqual([fields.orderid, fields.localusermark, fields.amount], [oid, order.localusermark, String(AMOUNT)]);
  assert.ok(Math.abs(Number(fields.t) - Date.now() / 1000) <= 60, `t = ${fields.t}`);
  ur.verifyCallback(body, secret); // the component accepts it too
  await waitDelivered('capture', oid);

  const forgedAmount = JSON.stringify({ ...fields, amount: '99005000' });
  const forgedOrderid = JSON.stringify({ ...fields, orderid: `capture-e2e-${hex(6)}` });
  const forgedOid = JSON.parse(forgedOrderid).orderid;

  // 1. tampered before the genuine one arrives: refused, the order stays unpaid
  assert.deepEqual(await toReceiver(forgedAmount), REFUSED);
  await receiverOut.expectLine('REJECTED SIGN_MISMATCH sign');

  // 2. the exact text the gateway sent: paid, with the amount the gateway signed
  assert.deepEqual(await toReceiver(body), [200, 'success']);
  await receiverOut.expectLine(`PAID ${oid} ${AMOUNT}`);

  // 3. amount or orderid changed in transit: refused, nothing credited
  assert.deepEqual(await toReceiver(forgedAmount), REFUSED);
  await receiverOut.expectLine('REJECTED SIGN_MISMATCH sign');
  assert.deepEqual(await toReceiver(forgedOrderid), REFUSED);
  await receiverOut.expectLine('REJECTED SIGN_MISMATCH sign');

  // 4. the genuine body replayed: `success` (idempotent), never paid twice
  assert.deepEqual(await toReceiver(body), [200, 'success']);
  await receiverOut.expectLine(`ALREADY_PAID ${oid}`);

  // receiver.mjs keeps its ledger in memory: what it credited is what it printed
  assert.deepEqual(receiverOut.lines.filter((l) => l.startsWith(`PAID ${oid} `)), [`PAID ${oid} ${AMOUNT}`]);
  assert.deepEqual(receiverOut.lines.filter((l) => l.startsWith(`PAID ${forgedOid} `)), []);
});

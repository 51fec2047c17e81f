// The checkout page and the operator console in a real browser (Debian's chromium,
// driven by playwright-core) against the real gateway binary on a throwaway SQLite
// database, in dev mode (the embedded dev chain), with a merchant receiver on loopback
// that refuses callbacks until told otherwise.
//
//   USDT_GATEWAY_BIN   the gateway binary (default: ../../target/debug/usdt-gateway)
//   CHROMIUM           the browser (default: /usr/bin/chromium)
//   SCREENSHOT_DIR     when set, screenshots of both pages at desktop and mobile width
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync, rmSync, mkdirSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const BIN = process.env.USDT_GATEWAY_BIN || resolve(here, "../../target/debug/usdt-gateway");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const SHOTS = process.env.SCREENSHOT_DIR ? resolve(process.env.SCREENSHOT_DIR) : null;
const ADMIN_TOKEN = randomBytes(32).toString("hex");
const SECRET = "browser-test-secret-" + randomBytes(16).toString("hex");
const CLOSED_SECRET = "closed-merchant-secret-" + randomBytes(16).toString("hex");
// A username a merchant could send: the pages must show it as text.
const HOSTILE = `<img src=x onerror="window.__xss=1">&"'`;

let dir, gateway, receiver, browser, base;
const received = []; // callback bodies the receiver got
let receiverAccepts = false;

// ---- helpers ------------------------------------------------------------------------

const md5 = (text) => createHash("md5").update(text).digest("hex");
const sha256 = (buf) => createHash("sha256").update(buf).digest();
const B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/** A fresh valid TRON address: base58check of 0x41 and 20 random bytes. */
function tronAddress() {
  const payload = Buffer.concat([Buffer.from([0x41]), randomBytes(20)]);
  const full = Buffer.concat([payload, sha256(sha256(payload)).subarray(0, 4)]);
  let n = BigInt("0x" + full.toString("hex"));
  let out = "";
  while (n > 0n) { out = B58[Number(n % 58n)] + out; n /= 58n; }
  for (const byte of full) { if (byte !== 0) break; out = "1" + out; }
  return out;
}

async function post(path, body) {
  const r = await fetch(base + path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: r.status, body: await r.json() };
}

async function placeOrder({ appid = "shop", secret = SECRET, username, address, orderid, amount }) {
  const localusermark = "uid-" + orderid;
  const sign = md5([appid, username, localusermark, address, orderid, amount, secret].join("|"));
  const r = await post("/api/merchant/v2/TraderRechargeorder",
    { appid, username, localusermark, address, orderid, amount, sign });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.data.ordersn;
}

const pay = (to, amount) => post("/dev/chains/TRC20/transfers", { to, amount });
const mine = (blocks) => post("/dev/chains/TRC20/mine", { blocks });

async function waitFor(what, check, ms = 20000) {
  const end = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > end) throw new Error("timed out waiting for " + what);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function freePort() {
  return new Promise((ok) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => { const { port } = s.address(); s.close(() => ok(port)); });
  });
}

async function shot(page, name, width, height) {
  if (!SHOTS) return;
  mkdirSync(SHOTS, { recursive: true });
  await page.setViewportSize({ width, height });
  await page.screenshot({ path: join(SHOTS, name), fullPage: true });
}

// ---- the gateway, the receiver, the browser ----------------------------------------

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "usdt-pages-"));
  receiver = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => { body += c; });
    req.on("end", () => {
      received.push(body);
      if (receiverAccepts) { res.writeHead(200); res.end("success"); }
      else { res.writeHead(500); res.end("database <down> & \"busy\""); }
    });
  });
  await new Promise((ok) => receiver.listen(0, "127.0.0.1", ok));
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const config = join(dir, "gateway.toml");
  writeFileSync(config, `
listen = "127.0.0.1:${port}"
data_dir = "${join(dir, "data")}"
[dev]
enabled = true
poll_interval = "100ms"
[admin]
token = "${ADMIN_TOKEN}"
[notify]
retry_delays = ["1s", "1s"]
timeout = "2s"
allow_private_targets = true
[confirmations]
default = 3
[[merchants]]
appid = "shop"
secret = "${SECRET}"
notify_url = "http://127.0.0.1:${receiver.address().port}/callback"
checkout_page = true
[[merchants]]
appid = "closed"
secret = "${CLOSED_SECRET}"
`);
  gateway = spawn(BIN, ["serve", "--config", config], { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  gateway.stdout.on("data", (c) => { log += c; });
  gateway.stderr.on("data", (c) => { log += c; });
  gateway.on("exit", (code) => { if (code) console.error("gateway exited", code, log); });
  await waitFor("the gateway", async () => {
    try { return (await fetch(base + "/readyz")).ok; } catch { return false; }
  }, 60000);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
});

after(async () => {
  await browser?.close();
  gateway?.kill("SIGTERM");
  await new Promise((ok) => (gateway && gateway.exitCode === null ? gateway.on("exit", ok) : ok()));
  receiver?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// ---- the tests -------------------------------------------------------------------------

test("the front door names the gateway and links the console, health and docs", async () => {
  const page = await browser.newPage();
  const response = await page.goto(base + "/");
  assert.equal(response.status(), 200);
  assert.match(response.headers()["content-security-policy"], /script-src 'self'/);
  assert.match(await page.locator("h1").innerText(), /usdt-gateway/);
  for (const href of ["/admin/", "/healthz", "/readyz", "/docs/protocol.md"]) {
    assert.equal(await page.locator(`a[href="${href}"]`).count(), 1, href);
  }
  const doc = await page.request.get(base + "/docs/protocol.md");
  assert.match(await doc.text(), /USDT Recharge API V2/);
  await page.close();
});

test("the payer sees the confirmations arrive, then 'confirmed', without a reload", async () => {
  const address = tronAddress();
  const ordersn = await placeOrder({ username: HOSTILE, address, orderid: "pay-1", amount: 1005000 });
  const context = await browser.newContext({ locale: "en-US", viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const response = await page.goto(`${base}/pay/${ordersn}`);
  assert.equal(response.status(), 200);
  const csp = response.headers()["content-security-policy"];
  assert.match(csp, /default-src 'none'/);
  assert.doesNotMatch(csp, /unsafe-inline/);
  assert.equal(await page.locator("#state").innerText(), "Waiting for your transfer");
  assert.equal(await page.locator("#amount").innerText(), "100.5000");
  assert.equal(await page.locator("#address").innerText(), address);
  assert.equal(await page.locator("#chain").innerText(), "TRC20");
  assert.equal(await page.locator(".qr svg").count(), 1, "the QR code");
  assert.match(await page.locator("#time-left").innerText(), /^2[34]:\d\d:\d\d$/);
  assert.ok(!(await page.content()).includes(SECRET), "no secret on the page");
  await shot(page, "checkout-desktop.png", 1280, 900);
  // The same document all along: a marker set now must survive until "confirmed".
  await page.evaluate(() => { window.__sameDocument = true; });

  await pay(address, "100.5");
  await page.locator("#state", { hasText: "Transfer seen: 1 of 3 confirmations" }).waitFor();
  assert.equal(await page.locator("#confirmations").getAttribute("max"), "3");
  await mine(1);
  await page.locator("#state", { hasText: "Transfer seen: 2 of 3 confirmations" }).waitFor();
  await mine(1);
  await page.locator("#state", { hasText: "Payment confirmed" }).waitFor();
  assert.equal(await page.evaluate(() => window.__sameDocument), true, "no reload");
  assert.equal(await page.locator("#received").innerText(), "100.5000");
  await context.close();

  // Chinese by the browser's language, and a phone's width without sideways scrolling.
  const zh = await browser.newContext({
    locale: "zh-CN", viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true,
  });
  const phone = await zh.newPage();
  await phone.goto(`${base}/pay/${ordersn}`);
  assert.equal(await phone.locator("html").getAttribute("lang"), "zh-CN");
  assert.equal(await phone.locator("#state").innerText(), "支付已确认");
  const overflow = await phone.evaluate(() =>
    document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `no horizontal scroll on a phone (${overflow}px)`);
  await zh.close();
});

test("a fresh order's page at mobile width, and pages for merchants that did not opt in are 404", async () => {
  const address = tronAddress();
  const ordersn = await placeOrder({ username: "bob", address, orderid: "pay-2", amount: 250000 });
  const context = await browser.newContext({ locale: "en-US", viewport: { width: 390, height: 844 }, isMobile: true });
  const page = await context.newPage();
  await page.goto(`${base}/pay/${ordersn}`);
  assert.equal(await page.locator("#state").innerText(), "Waiting for your transfer");
  await shot(page, "checkout-mobile.png", 390, 844);
  const closed = await placeOrder({
    appid: "closed", secret: CLOSED_SECRET, username: "carol", address: tronAddress(), orderid: "c-1", amount: 10000,
  });
  assert.equal((await page.goto(`${base}/pay/${closed}`)).status(), 404);
  assert.equal((await page.goto(`${base}/pay/cz-no-such-order`)).status(), 404);
  assert.equal((await page.request.get(`${base}/pay/${closed}/status`)).status(), 404);
  await context.close();
});

test("the operator logs in, finds the order, sees the failed callbacks and resends one", async () => {
  // The confirmed order of the checkout test: its callback fails three times (500).
  await waitFor("three refused callbacks", () => received.length >= 3, 30000);
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.on("dialog", () => { throw new Error("a script ran from merchant data"); });

  // Not logged in: the console sends the browser to the login form.
  await page.goto(base + "/admin/orders");
  assert.ok(page.url().endsWith("/admin/login"), page.url());
  await page.fill("#token", "wrong-token-wrong-token");
  const refused = await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
  assert.equal(refused[0].status(), 401);
  await page.fill("#token", ADMIN_TOKEN);
  await Promise.all([page.waitForURL("**/admin/orders"), page.click("button[type=submit]")]);
  const [cookie] = (await context.cookies()).filter((c) => c.name === "usdt_admin");
  assert.ok(cookie, "a session cookie");
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, "Strict");
  const csp = (await page.request.get(base + "/admin/orders")).headers()["content-security-policy"];
  assert.match(csp, /frame-ancestors 'none'/);

  // Find the order by its orderid; the merchant's username shows as text.
  await page.fill("input[name=q]", "pay-1");
  await Promise.all([page.waitForURL("**/admin/orders?**"), page.click("form[role=search] button")]);
  const rows = page.locator("#orders tbody tr");
  assert.equal(await rows.count(), 1);
  assert.equal(await rows.locator("td").nth(3).innerText(), HOSTILE);
  assert.equal(await page.evaluate(() => window.__xss), undefined);
  await shot(page, "console-desktop.png", 1280, 900);

  // Its story: the deposit, the confirmations, every refused attempt.
  await Promise.all([page.waitForURL("**/admin/orders/cz-*"), rows.locator("a").first().click()]);
  await waitFor("the delivery to fail", async () => {
    await page.reload();
    return (await page.locator("#callback-state").innerText()) === "failed";
  });
  assert.equal(await page.locator("#deposits tbody tr").count(), 1);
  assert.match(await page.locator("#confirmations").innerText(), /^\d+ of 3$/);
  const attempts = page.locator("#attempts tbody tr");
  assert.equal(await attempts.count(), 3);
  for (let i = 0; i < 3; i++) {
    const cells = attempts.nth(i).locator("td");
    assert.equal(await cells.nth(2).innerText(), "500");
    assert.equal(await cells.nth(3).innerText(), `database <down> & "busy"`);
    assert.equal(await cells.nth(6).innerText(), "failed");
  }
  const orderUrl = page.url();
  const ordersn = orderUrl.split("/admin/orders/")[1].split("?")[0];

  // An action without the CSRF token (or with a wrong one) is refused, and does nothing.
  const before = received.length;
  const bare = await page.request.post(`${base}/admin/deliveries/${ordersn}/resend`, { form: {} });
  assert.equal(bare.status(), 403);
  const forged = await page.request.post(`${base}/admin/deliveries/${ordersn}/resend`,
    { form: { csrf: "0".repeat(64) } });
  assert.equal(forged.status(), 403);
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(received.length, before, "a refused action sent nothing");
  await page.reload();
  assert.equal(await page.locator("#callback-state").innerText(), "failed");

  // The merchant is back: resend from the console, and the callback is delivered.
  receiverAccepts = true;
  await Promise.all([page.waitForURL("**?done=resent"), page.click("#resend button")]);
  assert.match(await page.locator(".notice").innerText(), /queued/);
  await waitFor("the resent callback", () => received.length > before);
  await waitFor("the delivery to be recorded", async () => {
    await page.reload();
    return (await page.locator("#callback-state").innerText()) === "delivered";
  });
  assert.equal(await attempts.count(), 4);
  assert.equal(await attempts.nth(3).locator("td").nth(6).innerText(), "delivered");
  const callback = JSON.parse(received.at(-1));
  assert.equal(callback.orderid, "pay-1");
  await context.close();
});

test("the operator assigns an unmatched deposit to an order by hand", async () => {
  const address = tronAddress();
  // Paid, then paid again: the second transfer finds no pending order.
  await placeOrder({ username: "dave", address, orderid: "late-1", amount: 50000 });
  await pay(address, "5");
  await mine(2);
  await pay(address, "7");

  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true });
  const page = await context.newPage();
  await page.goto(base + "/admin/login");
  await page.fill("#token", ADMIN_TOKEN);
  await Promise.all([page.waitForURL("**/admin/orders"), page.click("button[type=submit]")]);
  await shot(page, "console-mobile.png", 390, 844);
  await page.goto(base + "/admin/unmatched");
  const row = page.locator("#unmatched tbody tr", { hasText: address });
  await waitFor("the unmatched deposit", async () => {
    await page.reload();
    return (await row.count()) === 1;
  });
  // The order comes only once the watcher has recorded the deposit as unmatched: placed
  // earlier, it could be matched by the watcher itself.
  const late = await placeOrder({ username: "dave", address, orderid: "late-2", amount: 70000 });
  await page.reload();
  await row.locator("input[name=ordersn]").fill(late);
  await Promise.all([page.waitForURL("**?done=assigned"), row.locator("button").click()]);
  assert.match(await page.locator("h1").innerText(), new RegExp(late));
  assert.equal(await page.locator("#deposits tbody tr").count(), 1);
  await mine(3);
  await waitFor("the assigned order to be confirmed", async () => {
    await page.reload();
    return (await page.locator("h1 .badge").innerText()) === "confirmed";
  });
  // Without the token nothing is assigned.
  const refused = await page.request.post(base + "/admin/unmatched/assign",
    { form: { chain: "TRC20", txid: "x", log_index: "0", ordersn: late } });
  assert.equal(refused.status(), 403);
  await context.close();
});

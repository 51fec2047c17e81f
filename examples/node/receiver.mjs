#!/usr/bin/env node
// A merchant's callback receiver for the USDT Recharge API V2 on node:http; the same
// behaviour as examples/python/receiver.py.
//
// * every body is verified through the component (fields, sign with the merchant secret,
//   |now - t| <= 300 s);
// * the order is marked paid once: a replay or a gateway retry of a paid order answers
//   `success` again and credits nothing (in memory here: a real merchant uses its
//   database, with a unique key on the order id, in the same transaction as the credit);
// * `200 success` when verified (new or already paid), `400 fail: <CODE>` when refused,
//   so the gateway retries later.
//
// A real merchant would also check that `orderid` is one of its orders, that
// `localusermark` matches, and decide what to do when `amount` (the amount actually
// received) differs from the ordered amount.
//
//   USDT_MERCHANT_SECRET=... node receiver.mjs --host 127.0.0.1 --port 8080
//
// Prints `listening on http://HOST:PORT/` when ready (`--port 0` picks a free port), then
// one line per callback: `PAID <orderid> <amount>`, `ALREADY_PAID <orderid>` or
// `REJECTED <CODE> <field>`.

import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import * as ur from 'usdt-recharge';

export const MAX_BODY = 64 * 1024;

/** Paid orders in memory; `markPaid` is idempotent per order id. */
export class Ledger {
  #paid = new Map();

  /** true when this call paid the order, false when it was already paid. */
  markPaid(cb) {
    if (this.#paid.has(cb.orderid)) return false;
    this.#paid.set(cb.orderid, { localusermark: cb.localusermark, amount: cb.amount, t: cb.t, paidAt: Date.now() });
    return true;
  }

  paid() {
    return [...this.#paid].map(([orderid, p]) => ({ orderid, ...p }));
  }
}

/** An http.Server (not yet listening) that verifies callbacks with `secret`; `window`
 *  defaults to the protocol's callback window, which the component states. */
export function makeServer({
  secret,
  ledger = new Ledger(),
  clock = () => BigInt(Math.floor(Date.now() / 1000)),
  window,
  log = console.log,
}) {
  if (!secret) throw new Error('the merchant secret is empty');
  ur.defaultRecharge(); // instantiate before the first request

  const answer = (res, status, text, headers = {}) => {
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', ...headers });
    res.end(text);
  };

  const server = createServer((req, res) => {
    if (req.method !== 'POST') {
      answer(res, 405, 'fail: METHOD_NOT_ALLOWED', { Allow: 'POST' });
      return;
    }
    const chunks = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        // Discard the rest (answered 413 at its end) unless it goes on far too long.
        tooLarge = true;
        chunks.length = 0;
        if (size > 16 * MAX_BODY) req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (tooLarge) {
        answer(res, 413, 'fail: BODY_TOO_LARGE', { Connection: 'close' });
        return;
      }
      let cb;
      try {
        cb = ur.verifyCallback(Buffer.concat(chunks), secret, { now: clock(), window });
      } catch (e) {
        if (!(e instanceof ur.RechargeError)) {
          console.error(e);
          answer(res, 500, 'fail: INTERNAL_ERROR');
          return;
        }
        log(`REJECTED ${e.code} ${e.field ?? '-'}`);
        answer(res, 400, `fail: ${e.code}`);
        return;
      }
      if (ledger.markPaid(cb)) {
        // Credit the user here (in the same transaction as the insert, in real code).
        log(`PAID ${cb.orderid} ${cb.amount}`);
      } else {
        log(`ALREADY_PAID ${cb.orderid}`);
      }
      answer(res, 200, 'success');
    });
  });
  return { server, ledger };
}

function main() {
  const { values } = parseArgs({
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '8080' },
      window: { type: 'string' }, // seconds; default: the protocol's, from the component (300)
    },
  });
  const secret = process.env.USDT_MERCHANT_SECRET ?? '';
  if (!secret) {
    console.error('set USDT_MERCHANT_SECRET to the merchant secret');
    process.exit(2);
  }
  const { server } = makeServer({ secret, window: values.window === undefined ? undefined : Number(values.window) });
  server.listen(Number(values.port), values.host, () => {
    const { address, port } = server.address();
    console.log(`listening on http://${address}:${port}/`);
  });
  const stop = () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();

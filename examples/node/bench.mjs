#!/usr/bin/env node
// verifyCallback calls per second through the component (warm; median of 5 runs).
//   node bench.mjs [--calls 20000] [--runs 5]
import { parseArgs } from 'node:util';
import * as ur from 'usdt-recharge';

const { values } = parseArgs({ options: { calls: { type: 'string', default: '20000' }, runs: { type: 'string', default: '5' } } });
const calls = Number(values.calls);
const runs = Number(values.runs);
const SECRET = 'bench-secret';
const now = BigInt(Math.floor(Date.now() / 1000));
const body = ur.buildCallbackBody({ orderid: 'shop-20250905-bench1', localusermark: 'uid-42', amount: 1005000n, t: now }, SECRET);

console.log(`node ${process.version}, body ${body.length} bytes`);
const t0 = performance.now();
const rc = new ur.Recharge();
console.log(`instantiate (core modules already compiled): ${(performance.now() - t0).toFixed(1)} ms`);

for (let i = 0; i < Math.min(calls, 2000); i++) rc.verifyCallback(body, SECRET, { now });
const rates = [];
for (let r = 0; r < runs; r++) {
  const start = performance.now();
  for (let i = 0; i < calls; i++) rc.verifyCallback(body, SECRET, { now });
  rates.push(calls / ((performance.now() - start) / 1000));
}
rates.sort((a, b) => a - b);
const median = rates[Math.floor(rates.length / 2)];
console.log(`verifyCallback: ${Math.round(median).toLocaleString('en-US')} calls/s (median of ${runs} x ${calls})`);

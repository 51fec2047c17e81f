// Every shared vector (tests/vectors/*.json, semantics of FORMAT.md) through the component
// via the installed usdt-recharge package; the answers must agree with the vectors.
//
// As in the Rust conformance runner (tests/tests/vectors.rs), each file section is one
// check loop collecting every disagreement. The idiomatic API answers every case inside
// the protocol's ranges; a case outside them (an order sign over amount 0 or 2^64-1, …)
// must make it throw OutOfRangeError, and is then answered through the raw jco binding,
// which must still agree with the vector. JSON is parsed with big integers kept exact.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as ur from 'usdt-recharge';

const VECTORS = process.env.USDT_RECHARGE_VECTORS
  ?? fileURLToPath(new URL('../../../tests/vectors/', import.meta.url));

// JSON.parse loses integers above 2^53; the vectors have u64 values. Every integer is
// parsed as a BigInt, with the source text (Node 20 has no JSON.parse source access).
function parseJson(text) {
  const quoted = text.replace(/("(?:[^"\\]|\\.)*")|(?<![\d.eE+-])(-?\d+)(?![\d.eE])/g,
    (m, str, int) => (str !== undefined ? str : `{"$int":"${int}"}`));
  return JSON.parse(quoted, (_k, v) => {
    if (typeof v === 'number') throw new Error(`a non-integer number ${v} in a vector file`);
    return v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 1
      && typeof v.$int === 'string' ? BigInt(v.$int) : v;
  });
}

const load = (name) => parseJson(readFileSync(`${VECTORS}/${name}.json`, 'utf8'));
const rc = ur.defaultRecharge();
const code = (r) => r.code.toUpperCase().replaceAll('-', '_');
const WIT_CHAIN = { TRC20: 'trc20', ERC20: 'erc20', OMNI: 'omni' };

let rawCases = 0;
/** The idiomatic answer; when it refuses the protocol range, the raw component's answer. */
function strictOrRaw(strict, raw) {
  try {
    return strict();
  } catch (e) {
    if (!(e instanceof ur.OutOfRangeError)) throw e;
    // Only the protocol's amount ranges may refuse a vector's (valid u64) value.
    assert.ok(/amount$/i.test(e.argument) && [ur.MAX_ORDER_AMOUNT, ur.MAX_STORED_AMOUNT].includes(e.max), e.message);
    rawCases += 1;
    return raw();
  }
}
const rawValue = (r) => (r.ok ? r.value : { error: code(r.error) });
const rawVerdict = (r) => (r.ok ? 'OK' : code(r.error));
function verdict(f) {
  try {
    f();
    return 'OK';
  } catch (e) {
    if (e instanceof ur.RechargeError) return e.code;
    throw e;
  }
}
function errorOr(f) {
  try {
    return f();
  } catch (e) {
    if (e instanceof ur.RechargeError) return { error: e.code };
    throw e;
  }
}

const num = (v) => Number(v);
const ruleOf = (r) => ({ defaultRequired: num(r.default_required), largeAmount: r.large_amount, largeRequired: num(r.large_required) });
const policyOf = (p) => ({ base: ruleOf(p.base), overrides: p.overrides.map(([c, r]) => [c, ruleOf(r)]) });
const rawPolicy = (p) => ({ base: ruleOf(p.base), overrides: p.overrides.map(([c, r]) => [WIT_CHAIN[c], ruleOf(r)]) });

const keyrings = new Map();
const accept = (o) => ({
  appid: o.appid, username: o.username, localusermark: o.localusermark, address: o.address,
  orderid: o.orderid, amount: o.amount, chain: o.chain, canonical_address: o.canonicalAddress,
  notify_url: o.notifyUrl, sign: o.sign,
});

// ---- the protocol, in the vectors' shape (tests/src/lib.rs's Protocol)
const P = {
  parseUsdt: (text) => errorOr(() => ({ scaled: rc.parseAmount(text) })),
  formatUsdt: (scaled) => strictOrRaw(() => rc.formatAmount(scaled), () => rawValue(rc.raw('amounts', 'formatUsdt', scaled))),
  fromChainUnits: (value, decimals) => errorOr(() => rc.fromChainUnits(value, decimals)),
  orderSign: (f, secret) => strictOrRaw(() => rc.signOrder(f, secret), () => rawValue(rc.raw('signing', 'orderSign', f, secret))),
  verifyOrderSign: (f, secret, sign) => strictOrRaw(() => verdict(() => rc.verifyOrderSign(f, secret, sign)),
    () => rawVerdict(rc.raw('signing', 'verifyOrderSign', f, secret, sign))),
  callbackSign: (f, secret) => strictOrRaw(() => rc.callbackSign(f, secret), () => rawValue(rc.raw('signing', 'callbackSign', f, secret))),
  verifyCallbackSign: (f, secret, sign) => strictOrRaw(() => verdict(() => rc.verifyCallbackSign(f, secret, sign)),
    () => rawVerdict(rc.raw('signing', 'verifyCallbackSign', f, secret, sign))),
  buildCallbackBody: (f, secret) => strictOrRaw(() => errorOr(() => rc.buildCallbackBody(f, secret)),
    () => rawValue(rc.raw('signing', 'buildCallbackBody', f, secret))),
  querySign: (appid, orderid, secret) => rc.querySign(appid, orderid, secret),
  verifyQuerySign: (appid, orderid, secret, sign) => verdict(() => rc.verifyQuerySign(appid, orderid, secret, sign)),
  parseOrder(body, secrets) {
    let o;
    try {
      o = rc.parseOrder(body);
    } catch (e) {
      if (e instanceof ur.OrderRejected) return { reject: e.codes };
      throw e;
    }
    const secret = secrets[o.appid];
    return { accept: accept(o), verify: secret === undefined ? null : verdict(() => rc.verifyOrder(o, secret)) };
  },
  checkOrder(body, keys) {
    const k = JSON.stringify(keys);
    if (!keyrings.has(k)) keyrings.set(k, rc.keyring(keys));
    try {
      return { accept: accept(keyrings.get(k).checkOrder(body)) };
    } catch (e) {
      if (e instanceof ur.OrderRejected) return { reject: e.codes };
      throw e;
    }
  },
  verifyCallback(body, secret, now, window) {
    try {
      return { accept: rc.verifyCallback(body, secret, { now, window: num(window) }) };
    } catch (e) {
      if (e instanceof ur.RechargeError) return { reject: e.code };
      throw e;
    }
  },
  inspectAddress: (address) => errorOr(() => {
    const a = rc.inspectAddress(address);
    return { chain: a.chain, canonical: a.canonical, evm_hex: a.evmHex };
  }),
  validateAddress: (address, chain) => verdict(() => rc.validateAddress(address, chain)) === 'OK',
  tronFromHex: (hex) => errorOr(() => ({ base58: rc.tronFromHex(hex) })),
  parseXpub: (xpub) => errorOr(() => {
    const i = rc.parseXpub(xpub);
    return {
      depth: BigInt(i.depth), parent_fingerprint: BigInt(i.parentFingerprint), child_number: BigInt(i.childNumber),
      fingerprint: BigInt(i.fingerprint), public_key: i.publicKey,
    };
  }),
  deriveXpub: (xpub, index) => errorOr(() => ({ child: rc.deriveXpub(xpub, index) })),
  deriveAddress: (xpub, chain, index) => errorOr(() => {
    const a = rc.deriveAddress(xpub, chain, index);
    return { chain: a.chain, index: BigInt(a.index), address: a.address, public_key: a.publicKey };
  }),
  eip55Checksum: (address) => errorOr(() => rc.eip55Checksum(address)),
  makeOrderid: (prefix, date, entropy) => errorOr(() => ({ orderid: rc.makeOrderid(prefix, date.map(num), entropy) })),
  checkOrderid: (orderid) => errorOr(() => {
    const p = rc.checkOrderid(orderid);
    return { prefix: p.prefix, date: [p.date.year, p.date.month, p.date.day].map(BigInt), random: p.random };
  }),
  validatePolicy: (policy) => strictOrRaw(() => errorOr(() => (rc.validatePolicy(policyOf(policy)), { ok: true })),
    () => { const r = rc.raw('confirmations', 'validatePolicy', rawPolicy(policy)); return r.ok ? { ok: true } : { error: code(r.error) }; }),
  requiredConfirmations: (chain, amount, policy) => BigInt(strictOrRaw(
    () => rc.requiredConfirmations(chain, amount, policyOf(policy)),
    () => rawValue(rc.raw('confirmations', 'requiredConfirmations', WIT_CHAIN[chain], amount, rawPolicy(policy))))),
  countConfirmations: (head, block) => rc.countConfirmations(head, block),
  depositState: (confirmations, required) => rc.depositState(confirmations, num(required)),
  // protocol (2.1.0)
  facts() {
    const f = rc.facts();
    return {
      callback_window: BigInt(f.callbackWindow), max_order_amount: f.maxOrderAmount, max_retries: BigInt(f.maxRetries),
      max_token_decimals: BigInt(f.maxTokenDecimals), scale: f.scale,
    };
  },
  chains: () => rc.chains().map((c) => ({ chain: c.chain, wire: c.name, usdt_decimals: BigInt(c.usdtDecimals) })),
  parseChain: (text) => errorOr(() => ({ chain: rc.parseChain(text) })),
  validateNotifyUrl: (url) => errorOr(() => (rc.validateNotifyUrl(url), { ok: true })),
  validateTokenDecimals: (decimals) => errorOr(() => (rc.validateTokenDecimals(decimals), { ok: true })),
  toChainUnits: (scaled, decimals) => strictOrRaw(() => errorOr(() => ({ units: rc.toChainUnits(scaled, decimals) })),
    () => { const r = rc.raw('protocol', 'toChainUnits', scaled, num(decimals)); return r.ok ? { units: r.value } : { error: code(r.error) }; }),
  // gateway (2.1.0)
  parseQuery(body) {
    try {
      return { accept: { ...rc.parseQuery(body) } };
    } catch (e) {
      if (e instanceof ur.QueryRejected) return { reject: e.codes };
      throw e;
    }
  },
  gatewayKeyring: (k) => rc.gatewayKeyring(
    k.merchants.map((m) => ({ appid: m.appid, secret: m.secret, nextSecret: m.next_secret })), policyOf(k.policy)),
  checkQuery(kr, body) {
    try {
      return { accept: { ...kr.checkQuery(body) } };
    } catch (e) {
      if (e instanceof ur.QueryRejected) return { reject: e.codes };
      throw e;
    }
  },
  acceptOrder(kr, body) {
    try {
      const a = kr.acceptOrder(body);
      return { accept: accept(a.order), required_confirmations: BigInt(a.requiredConfirmations) };
    } catch (e) {
      if (e instanceof ur.OrderRejected) return { reject: e.codes };
      throw e;
    }
  },
};

const outcome = (c, keys) => ('error' in c ? { error: c.error } : Object.fromEntries(keys.map((k) => [k, c[k]])));

function cases(file, section) {
  const list = file[section];
  assert.ok(Array.isArray(list) && list.length > 0, `section ${section} missing or empty`);
  return list;
}

const show = (v) => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x));

class Run {
  failures = [];
  checked = 0;

  expect(c, want, got) {
    this.checked += 1;
    let value;
    try {
      value = got();
    } catch (e) {
      value = `<threw ${e?.name}: ${e?.message}>`;
    }
    try {
      assert.deepStrictEqual(value, want);
    } catch {
      this.failures.push(`${show(c.name)}: want ${show(want)}, got ${show(value)}`);
    }
  }

  finish(what) {
    assert.ok(this.checked > 0);
    assert.equal(this.failures.length, 0,
      `${what}: ${this.failures.length} of ${this.checked} checks failed:\n${this.failures.join('\n')}`);
  }
}

test('signs.json', () => {
  const file = load('signs');
  const run = new Run();
  for (const c of cases(file, 'order')) {
    const { fields: f, secret, sign } = c;
    run.expect(c, sign, () => P.orderSign(f, secret));
    run.expect(c, 'OK', () => P.verifyOrderSign(f, secret, sign));
    run.expect(c, 'SIGN_MISMATCH', () => P.verifyOrderSign(f, `${secret}x`, sign));
    run.expect(c, 'INVALID_SIGN', () => P.verifyOrderSign(f, secret, sign.toUpperCase()));
  }
  for (const c of cases(file, 'callback')) {
    const { fields: f, secret, sign } = c;
    run.expect(c, sign, () => P.callbackSign(f, secret));
    run.expect(c, 'OK', () => P.verifyCallbackSign(f, secret, sign));
    run.expect(c, c.body, () => P.buildCallbackBody(f, secret));
  }
  for (const c of cases(file, 'query')) {
    const { appid, orderid, secret, sign } = c;
    run.expect(c, sign, () => P.querySign(appid, orderid, secret));
    run.expect(c, 'OK', () => P.verifyQuerySign(appid, orderid, secret, sign));
    run.expect(c, 'SIGN_MISMATCH', () => P.verifyQuerySign(appid, `${orderid}0`, secret, sign));
  }
  run.finish('signs.json');
});

test('amounts.json', () => {
  const file = load('amounts');
  const run = new Run();
  for (const c of cases(file, 'parse')) run.expect(c, outcome(c, ['scaled']), () => P.parseUsdt(c.text));
  for (const c of cases(file, 'format')) run.expect(c, c.text, () => P.formatUsdt(c.scaled));
  for (const c of cases(file, 'chain_units')) {
    run.expect(c, outcome(c, ['scaled', 'dust']), () => P.fromChainUnits(c.value, num(c.decimals)));
  }
  run.finish('amounts.json');
});

test('addresses.json', () => {
  const file = load('addresses');
  const run = new Run();
  for (const c of cases(file, 'inspect')) {
    run.expect(c, outcome(c, ['chain', 'canonical', 'evm_hex']), () => P.inspectAddress(c.address));
  }
  for (const c of cases(file, 'for_chain')) run.expect(c, c.ok, () => P.validateAddress(c.address, c.chain));
  for (const c of cases(file, 'tron_hex')) run.expect(c, outcome(c, ['base58']), () => P.tronFromHex(c.hex));
  for (const c of cases(file, 'eip55')) run.expect(c, c.checksummed, () => P.eip55Checksum(c.address));
  run.finish('addresses.json');
});

test('orders.json', () => {
  const file = load('orders');
  const run = new Run();
  const keys = Object.entries(file.secrets);
  for (const c of cases(file, 'cases')) {
    let parsed;
    let checked;
    if ('reject' in c) {
      parsed = checked = { reject: c.reject };
    } else if (c.verify === 'OK') {
      [parsed, checked] = [{ accept: c.accept, verify: 'OK' }, { accept: c.accept }];
    } else {
      [parsed, checked] = [{ accept: c.accept, verify: c.verify }, { reject: [c.verify] }];
    }
    run.expect(c, parsed, () => P.parseOrder(c.body, file.secrets));
    run.expect(c, checked, () => P.checkOrder(c.body, keys));
  }
  // An appid the keyring does not know is refused after the body is found valid.
  const accepted = cases(file, 'cases').find((c) => c.verify === 'OK');
  run.expect(accepted, { reject: ['UNKNOWN_APPID'] }, () => P.checkOrder(accepted.body, []));
  run.finish('orders.json');
});

test('callbacks.json', () => {
  const file = load('callbacks');
  const run = new Run();
  for (const c of cases(file, 'cases')) {
    const want = 'reject' in c ? { reject: c.reject } : { accept: c.accept };
    run.expect(c, want, () => P.verifyCallback(c.body, c.secret, c.now, c.window));
  }
  run.finish('callbacks.json');
});

test('orderids.json', () => {
  const file = load('orderids');
  const run = new Run();
  for (const c of cases(file, 'make')) {
    run.expect(c, outcome(c, ['orderid']), () => P.makeOrderid(c.prefix, c.date, c.entropy));
  }
  for (const c of cases(file, 'check')) {
    run.expect(c, outcome(c, ['prefix', 'date', 'random']), () => P.checkOrderid(c.orderid));
  }
  run.finish('orderids.json');
});

test('confirmations.json', () => {
  const file = load('confirmations');
  const run = new Run();
  for (const c of cases(file, 'required')) {
    run.expect(c, c.required, () => P.requiredConfirmations(c.chain, c.amount, c.policy));
  }
  for (const c of cases(file, 'policy')) run.expect(c, outcome(c, ['ok']), () => P.validatePolicy(c.policy));
  for (const c of cases(file, 'count')) run.expect(c, c.confirmations, () => P.countConfirmations(c.head, c.block));
  for (const c of cases(file, 'state')) run.expect(c, c.state, () => P.depositState(c.confirmations, c.required));
  run.finish('confirmations.json');
});

test('protocol.json', () => {
  const file = load('protocol');
  const run = new Run();
  run.expect({ name: 'facts' }, file.facts, () => P.facts());
  run.expect({ name: 'chains' }, cases(file, 'chains').map((c) => ({ chain: c.chain, wire: c.wire, usdt_decimals: c.usdt_decimals })),
    () => P.chains());
  for (const c of cases(file, 'parse_chain')) run.expect(c, outcome(c, ['chain']), () => P.parseChain(c.text));
  for (const c of cases(file, 'notify_url')) run.expect(c, outcome(c, ['ok']), () => P.validateNotifyUrl(c.url));
  for (const c of cases(file, 'token_decimals')) run.expect(c, outcome(c, ['ok']), () => P.validateTokenDecimals(c.decimals));
  for (const c of cases(file, 'to_chain_units')) {
    run.expect(c, outcome(c, ['units']), () => P.toChainUnits(c.scaled, c.decimals));
  }
  run.finish('protocol.json');
});

test('gateway.json', () => {
  const file = load('gateway');
  const run = new Run();
  const kr = P.gatewayKeyring(file.keyring);
  const want = (c, extra = {}) => ('reject' in c ? { reject: c.reject } : { accept: c.accept, ...extra });
  for (const c of cases(file, 'parse_query')) run.expect(c, want(c), () => P.parseQuery(c.body));
  for (const c of cases(file, 'check_query')) run.expect(c, want(c), () => P.checkQuery(kr, c.body));
  for (const c of cases(file, 'accept_order')) {
    run.expect(c, want(c, { required_confirmations: c.required_confirmations }), () => P.acceptOrder(kr, c.body));
  }
  run.finish('gateway.json');
});

test('derivation.json', () => {
  const file = load('derivation');
  const run = new Run();
  for (const c of cases(file, 'steps')) run.expect(c, outcome(c, ['child']), () => P.deriveXpub(c.xpub, c.index));
  const info = ['depth', 'parent_fingerprint', 'child_number', 'fingerprint', 'public_key'];
  for (const c of cases(file, 'parse')) run.expect(c, outcome(c, info), () => P.parseXpub(c.xpub));
  for (const c of cases(file, 'addresses')) {
    run.expect(c, outcome(c, ['chain', 'index', 'address', 'public_key']), () => P.deriveAddress(c.xpub, c.chain, c.index));
  }
  for (const c of cases(file.requests, 'address_sign')) {
    run.expect(c, c.sign, () => rc.addressSign(c.appid, c.username, c.chain, c.secret));
  }
  run.finish('derivation.json');
});

test('every vector file is run, and out-of-range cases went through the raw binding', () => {
  const present = readdirSync(VECTORS).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();
  assert.deepEqual(present, ['addresses', 'amounts', 'callbacks', 'confirmations', 'derivation', 'gateway', 'orderids', 'orders', 'protocol', 'signs']);
  assert.ok(rawCases > 0, 'no vector exercised the raw path');
});

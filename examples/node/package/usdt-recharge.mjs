// Node.js binding of the USDT Recharge protocol component (usdt:recharge@2.2.0).
//
// The npm package `usdt-recharge`: the component, transpiled by jco (./gen/, made by
// examples/node/build.mjs, not committed) into plain JavaScript + core WebAssembly with
// no runtime dependencies, and this module, which compiles the core modules once,
// instantiates them once, and offers idiomatic functions (typings: usdt-recharge.d.ts):
//
//   import * as ur from 'usdt-recharge';
//   const sign = ur.signOrder({ appid, username, localusermark, address, orderid, amount: 1000000n }, secret);
//   try { const cb = ur.verifyCallback(body, secret); }       // ±300 s around Date.now()
//   catch (e) { if (e instanceof ur.RechargeError) console.log(e.code); }   // 'SIGN_MISMATCH', …
//
// Integers: u64 values are BigInt (inputs may also be safe-integer Numbers). jco lowers
// u64 with BigInt.asUintN(64, …) and u32 with `>>> 0`, i.e. it silently wraps -1 to
// 2^64-1; every integer is range-checked here first (OutOfRangeError, a RangeError), and
// amounts against the protocol's ranges: order amounts 1..=2^53-1, other scaled amounts
// 0..=2^63-1. Strings must be well-formed Unicode (a lone surrogate would otherwise be
// replaced by U+FFFD on the way in, changing what is signed).

import { readFileSync } from 'node:fs';

let instantiate;
try {
  ({ instantiate } = await import('./gen/usdt_recharge.js'));
} catch (e) {
  if (e?.code !== 'ERR_MODULE_NOT_FOUND') throw e;
  throw new Error('gen/usdt_recharge.js is missing: run `npm run build` in examples/node (it '
    + 'transpiles target/component/usdt_recharge.wasm or $USDT_RECHARGE_COMPONENT with jco)', { cause: e });
}

export const MAX_U8 = 0xff;
export const MAX_U16 = 0xffff;
export const MAX_U32 = 0xffff_ffff;
export const MAX_U64 = (1n << 64n) - 1n;
/** The largest order amount in scaled units (2^53-1). */
export const MAX_ORDER_AMOUNT = (1n << 53n) - 1n;
/** The largest scaled amount the protocol stores, parses or sends in a callback (2^63-1). */
export const MAX_STORED_AMOUNT = (1n << 63n) - 1n;

// ------------------------------------------------------------------------------ errors

/** The component refused an input; `code` is the stable code (`'SIGN_MISMATCH'`, …). */
export class RechargeError extends Error {
  constructor(code, field, message) {
    super(`${code}${field ? ` (${field})` : ''}${message ? `: ${message}` : ''}`);
    this.name = 'RechargeError';
    this.code = code;
    this.field = field ?? null;
    this.detail = message ?? '';
  }

  get rejection() {
    return { code: this.code, field: this.field, message: this.detail };
  }
}

/** A body was refused; `rejections` lists every reason, in field order. */
export class Rejections extends RechargeError {
  constructor(rejections) {
    const first = rejections[0] ?? { code: 'INVALID_JSON', field: null, message: '' };
    super(first.code, first.field, first.message);
    this.name = new.target.name;
    this.rejections = rejections;
    if (rejections.length > 1) {
      this.message += ` (+${rejections.length - 1} more: ${this.codes.slice(1).join(', ')})`;
    }
  }

  get codes() {
    return this.rejections.map((r) => r.code);
  }
}

/** An order request was refused (see Rejections). */
export class OrderRejected extends Rejections {}

/** An order query was refused (see Rejections). */
export class QueryRejected extends Rejections {}

/** An integer argument is outside its WIT type's or the protocol's range. */
export class OutOfRangeError extends RangeError {
  constructor(argument, value, min, max) {
    super(`${argument} = ${value} is out of range ${min}..=${max}`);
    this.name = 'OutOfRangeError';
    this.argument = argument;
    this.value = value;
    this.min = min;
    this.max = max;
  }
}

// ------------------------------------------------------------------------------ checks

function bigintArg(name, value, min, max) {
  let v;
  if (typeof value === 'bigint') v = value;
  else if (typeof value === 'number' && Number.isInteger(value)) {
    if (!Number.isSafeInteger(value)) {
      throw new TypeError(`${name} = ${value} is not a safe integer: pass a BigInt`);
    }
    v = BigInt(value);
  } else throw new TypeError(`${name} must be a BigInt or an integer Number, not ${typeof value}`);
  if (v < min || v > max) throw new OutOfRangeError(name, v, min, max);
  return v;
}

function numberArg(name, value, max) {
  const v = bigintArg(name, value, 0n, BigInt(max));
  return Number(v);
}

function stringArg(name, value) {
  if (typeof value !== 'string') throw new TypeError(`${name} must be a string, not ${typeof value}`);
  if (!value.isWellFormed()) throw new TypeError(`${name} is not well-formed Unicode (lone surrogate)`);
  return value;
}

const u64 = (name, v) => bigintArg(name, v, 0n, MAX_U64);
const storedAmount = (name, v) => bigintArg(name, v, 0n, MAX_STORED_AMOUNT);
const orderAmount = (name, v) => bigintArg(name, v, 1n, MAX_ORDER_AMOUNT);

const ORDER_NAMES = ['appid', 'username', 'localusermark', 'address', 'orderid', 'amount'];
const CALLBACK_NAMES = ['orderid', 'localusermark', 'amount', 't'];

function fieldsArg(kind, fields, names) {
  if (fields === null || typeof fields !== 'object') throw new TypeError(`${kind} fields must be an object`);
  const missing = names.filter((n) => !(n in fields));
  const unknown = Object.keys(fields).filter((k) => !names.includes(k));
  if (missing.length || unknown.length) {
    throw new TypeError(`${kind} fields: missing [${missing}], unknown [${unknown}]; expected [${names}]`);
  }
  return fields;
}

function orderFields(f) {
  fieldsArg('order', f, ORDER_NAMES);
  const out = {};
  for (const n of ORDER_NAMES.slice(0, -1)) out[n] = stringArg(n, f[n]);
  out.amount = orderAmount('amount', f.amount);
  return out;
}

function callbackFields(f) {
  fieldsArg('callback', f, CALLBACK_NAMES);
  return {
    orderid: stringArg('orderid', f.orderid),
    localusermark: stringArg('localusermark', f.localusermark),
    amount: storedAmount('amount', f.amount),
    t: u64('t', f.t),
  };
}

const CHAINS = { TRC20: 'trc20', ERC20: 'erc20', OMNI: 'omni' };
const CHAIN_NAMES = { trc20: 'TRC20', erc20: 'ERC20', omni: 'OMNI' };

function chainArg(chain) {
  const c = CHAINS[chain];
  if (typeof chain !== 'string' || c === undefined) {
    throw new TypeError(`unknown chain ${JSON.stringify(chain)}: expected TRC20, ERC20 or OMNI`);
  }
  return c;
}

function ruleArg(rule, where) {
  if (rule === null || typeof rule !== 'object') throw new TypeError(`${where} must be an object`);
  return {
    defaultRequired: numberArg(`${where}.defaultRequired`, rule.defaultRequired, MAX_U32),
    largeAmount: storedAmount(`${where}.largeAmount`, rule.largeAmount),
    largeRequired: numberArg(`${where}.largeRequired`, rule.largeRequired, MAX_U32),
  };
}

function policyArg(policy) {
  if (policy === null || typeof policy !== 'object') throw new TypeError('policy must be an object');
  const overrides = policy.overrides instanceof Map ? [...policy.overrides] : (policy.overrides ?? []);
  return {
    base: ruleArg(policy.base, 'policy.base'),
    overrides: overrides.map(([c, r]) => [chainArg(c), ruleArg(r, `policy.overrides[${c}]`)]),
  };
}

function dateArg(date) {
  const [year, month, day] = Array.isArray(date) ? date : [date?.year, date?.month, date?.day];
  return {
    year: numberArg('date.year', year, MAX_U16),
    month: numberArg('date.month', month, MAX_U8),
    day: numberArg('date.day', day, MAX_U8),
  };
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The body as text; not UTF-8: INVALID_JSON, thrown as `Rejected` (a Rejections class) or a RechargeError. */
function bodyArg(body, Rejected) {
  if (body instanceof Uint8Array || body instanceof ArrayBuffer) {
    try {
      return UTF8.decode(body);
    } catch {
      const r = { code: 'INVALID_JSON', field: null, message: 'the body is not UTF-8' };
      throw Rejected ? new Rejected([r]) : new RechargeError(r.code, r.field, r.message);
    }
  }
  return stringArg('body', body);
}

function rejection(r) {
  return { code: r.code.toUpperCase().replaceAll('-', '_'), field: r.field ?? null, message: r.message };
}

// ------------------------------------------------------------------------------ component

const GEN = new URL('./gen/', import.meta.url);
const coreModules = new Map();

function getCoreModule(name) {
  let m = coreModules.get(name);
  if (!m) {
    m = new WebAssembly.Module(readFileSync(new URL(name, GEN)));
    coreModules.set(name, m);
  }
  return m;
}

/**
 * One instance of the component. The core modules are compiled once per process; the
 * module-level functions share one `Recharge`. A trap discards the instance (the next call
 * gets a fresh one) and is rethrown.
 */
export class Recharge {
  #exports;
  /** Bumped on every (re-)instantiation; resources of an older instance are void. */
  generation = 0;

  constructor() {
    this.#instantiate();
  }

  #instantiate() {
    this.#exports = instantiate(getCoreModule, {});
    this.generation += 1;
  }

  /**
   * Run `thunk(exports)` against the instance: a rejection comes back as
   * `{ ok: false, error }`, a value as `{ ok: true, value }`; anything else (a trap)
   * replaces the instance and is rethrown.
   */
  guarded(thunk) {
    try {
      return { ok: true, value: thunk(this.#exports) };
    } catch (e) {
      if (e && typeof e === 'object' && 'payload' in e) return { ok: false, error: e.payload };
      this.#instantiate();
      throw e;
    }
  }

  /**
   * The jco binding of `usdt:recharge/<iface>@2.2.0`, unchecked: jco wraps out-of-range
   * integers silently. Answers as `guarded`.
   */
  raw(iface, fn, ...args) {
    const f = this.#exports[iface]?.[fn];
    if (typeof f !== 'function') throw new TypeError(`the component exports no ${iface}#${fn}`);
    return this.guarded(() => f(...args));
  }

  /** A MerchantKeyring of this instance. */
  keyring(merchants) {
    return new MerchantKeyring(merchants, this);
  }

  #call(iface, fn, ...args) {
    return unwrap(this.raw(iface, fn, ...args));
  }

  // ---- amounts
  /** Decimal USDT text ('100.5') -> scaled units (1005000n). */
  parseAmount(text) {
    return this.#call('amounts', 'parseUsdt', stringArg('text', text));
  }

  /** Scaled units -> USDT text with 4 decimals (1000000n -> '100.0000'). */
  formatAmount(amount) {
    return this.#call('amounts', 'formatUsdt', storedAmount('amount', amount));
  }

  /** An on-chain value (decimal or 0x hex text) with the token's decimals -> { scaled, dust }. */
  fromChainUnits(value, decimals) {
    return this.#call('amounts', 'fromChainUnits', stringArg('value', value), numberArg('decimals', decimals, MAX_U8));
  }

  // ---- signing
  /** md5(appid|username|localusermark|address|orderid|amount|secret). */
  signOrder(fields, secret) {
    return this.#call('signing', 'orderSign', orderFields(fields), stringArg('secret', secret));
  }

  /** Throws RechargeError INVALID_SIGN / SIGN_MISMATCH unless `sign` matches. */
  verifyOrderSign(fields, secret, sign) {
    this.#call('signing', 'verifyOrderSign', orderFields(fields), stringArg('secret', secret), stringArg('sign', sign));
  }

  /** md5(orderid|localusermark|amount|t|secret). */
  callbackSign(fields, secret) {
    return this.#call('signing', 'callbackSign', callbackFields(fields), stringArg('secret', secret));
  }

  verifyCallbackSign(fields, secret, sign) {
    this.#call('signing', 'verifyCallbackSign', callbackFields(fields), stringArg('secret', secret), stringArg('sign', sign));
  }

  /** The exact JSON body the gateway POSTs to the merchant, signed with `secret`. */
  buildCallbackBody(fields, secret) {
    return this.#call('signing', 'buildCallbackBody', callbackFields(fields), stringArg('secret', secret));
  }

  /** md5(appid|orderid|secret). */
  querySign(appid, orderid, secret) {
    return this.#call('signing', 'querySign', stringArg('appid', appid), stringArg('orderid', orderid), stringArg('secret', secret));
  }

  verifyQuerySign(appid, orderid, secret, sign) {
    this.#call('signing', 'verifyQuerySign', stringArg('appid', appid), stringArg('orderid', orderid),
      stringArg('secret', secret), stringArg('sign', sign));
  }

  // ---- orders
  /** Validate an order request body; throws OrderRejected with every rejection. */
  parseOrder(body) {
    return orderRequest(this.#call('orders', 'parseOrder', bodyArg(body, OrderRejected)));
  }

  /** Check a parsed order's sign with the merchant's secret; throws SIGN_MISMATCH. */
  verifyOrder(order, secret) {
    if (order === null || typeof order !== 'object') throw new TypeError('order must come from parseOrder');
    const fields = orderFields(Object.fromEntries(ORDER_NAMES.map((n) => [n, order[n]])));
    const notifyUrl = order.notifyUrl ?? undefined;
    this.#call('orders', 'verifyOrder', {
      fields,
      chain: chainArg(order.chain),
      canonicalAddress: stringArg('canonicalAddress', order.canonicalAddress),
      notifyUrl: notifyUrl === undefined ? undefined : stringArg('notifyUrl', notifyUrl),
      sign: stringArg('sign', order.sign),
    }, stringArg('secret', secret));
  }

  /** `{prefix}-{yyyymmdd}-{6 of [a-z0-9]}`; `date` is {year, month, day} or [y, m, d]. */
  makeOrderid(prefix, date, entropy) {
    return this.#call('orders', 'makeOrderid', stringArg('prefix', prefix), dateArg(date), u64('entropy', entropy));
  }

  /** -> { prefix, date: { year, month, day }, random } */
  checkOrderid(orderid) {
    return this.#call('orders', 'checkOrderid', stringArg('orderid', orderid));
  }

  // ---- callbacks
  /**
   * Parse and verify a callback body (string or bytes); throws RechargeError with the
   * stable code. `now` (Unix seconds) defaults to Date.now(); |now - t| <= window, by
   * default the protocol's (`facts().callbackWindow`, 300 s).
   */
  verifyCallback(body, secret, { now, window } = {}) {
    const text = bodyArg(body, null);
    const n = now === undefined ? BigInt(Math.floor(Date.now() / 1000)) : u64('now', now);
    const w = window === undefined ? this.facts().callbackWindow : numberArg('window', window, MAX_U32);
    const c = this.#call('callbacks', 'verifyCallback', text, stringArg('secret', secret), n, w);
    return { ...c.fields, sign: c.sign };
  }

  // ---- addresses
  /** -> { chain: 'TRC20'|'ERC20'|'OMNI', canonical, evmHex: string|null }; throws INVALID_ADDRESS. */
  inspectAddress(address) {
    return addressInfo(this.#call('addresses', 'inspectAddress', stringArg('address', address)));
  }

  validateAddress(address, chain) {
    return addressInfo(this.#call('addresses', 'validateAddress', stringArg('address', address), chainArg(chain)));
  }

  tronFromHex(hex) {
    return this.#call('addresses', 'tronFromHex', stringArg('hex', hex));
  }

  eip55Checksum(address) {
    return this.#call('addresses', 'eip55Checksum', stringArg('address', address));
  }

  // ---- derivation (2.2.0)
  /** An extended public key -> { depth, parentFingerprint, childNumber, fingerprint, publicKey };
   * throws RechargeError INVALID_XPUB or PRIVATE_KEY_REFUSED. */
  parseXpub(xpub) {
    return this.#call('derivation', 'parseXpub', stringArg('xpub', xpub));
  }

  /** The child xpub at a non-hardened `index` (one BIP32 public step). */
  deriveXpub(xpub, index) {
    return this.#call('derivation', 'deriveXpub', stringArg('xpub', xpub), numberArg('index', index, MAX_U32));
  }

  /** The deposit address `…/0/index` of the account key `xpub` on `chain` -> { chain, index,
   * address, publicKey }: what a merchant runs to check an address the gateway answered. */
  deriveAddress(xpub, chain, index) {
    const a = this.#call('derivation', 'deriveAddress', stringArg('xpub', xpub), chainArg(chain),
      numberArg('index', index, MAX_U32));
    return { chain: CHAIN_NAMES[a.chain], index: a.index, address: a.address, publicKey: a.publicKey };
  }

  /** md5(appid|username|chain|secret): the gateway's address request. */
  addressSign(appid, username, chain, secret) {
    return this.#call('derivation', 'addressSign', stringArg('appid', appid), stringArg('username', username),
      chainArg(chain), stringArg('secret', secret));
  }

  // ---- confirmations
  /** policy: { base: {defaultRequired, largeAmount, largeRequired}, overrides: [[chain, rule], …] | Map } */
  validatePolicy(policy) {
    this.#call('confirmations', 'validatePolicy', policyArg(policy));
  }

  requiredConfirmations(chain, amount, policy) {
    return this.#call('confirmations', 'requiredConfirmations', chainArg(chain), storedAmount('amount', amount),
      policyArg(policy));
  }

  countConfirmations(head, block) {
    return this.#call('confirmations', 'countConfirmations', u64('head', head), u64('block', block));
  }

  /** 'pending' | 'confirming' | 'confirmed' */
  depositState(confirmations, required) {
    return this.#call('confirmations', 'depositStateOf', u64('confirmations', confirmations),
      numberArg('required', required, MAX_U32));
  }

  // ---- protocol (2.1.0)
  #facts;

  /** The protocol's fixed numbers (read once): { callbackWindow, maxRetries, scale, maxOrderAmount, maxTokenDecimals }. */
  facts() {
    this.#facts ??= Object.freeze(this.#call('protocol', 'facts'));
    return this.#facts;
  }

  /** Every chain: [{ chain: 'TRC20', name: 'TRC20', usdtDecimals: 6 }, …]. */
  chains() {
    return this.#call('protocol', 'chains').map((c) => ({ chain: CHAIN_NAMES[c.chain], name: c.name, usdtDecimals: c.usdtDecimals }));
  }

  /** The chain of a wire name (exact: 'TRC20'); throws UNSUPPORTED_CHAIN. */
  parseChain(name) {
    return CHAIN_NAMES[this.#call('protocol', 'parseChain', stringArg('name', name))];
  }

  /** The protocol's notify_url rule; throws INVALID_NOTIFY_URL. */
  validateNotifyUrl(url) {
    this.#call('protocol', 'validateNotifyUrl', stringArg('url', url));
  }

  /** A token's decimals for the amount conversions; throws INVALID_FIELD. */
  validateTokenDecimals(decimals) {
    this.#call('protocol', 'validateTokenDecimals', numberArg('decimals', decimals, MAX_U8));
  }

  /** Scaled units -> the token's base units as decimal text (reverse of fromChainUnits). */
  toChainUnits(amount, decimals) {
    return this.#call('protocol', 'toChainUnits', storedAmount('amount', amount), numberArg('decimals', decimals, MAX_U8));
  }

  // ---- gateway (2.1.0)
  /** Parse an order query body; throws QueryRejected with every rejection. -> { appid, orderid, sign } */
  parseQuery(body) {
    return unwrap(this.raw('gateway', 'parseQuery', bodyArg(body, QueryRejected)), QueryRejected);
  }

  /** A GatewayKeyring of this instance. */
  gatewayKeyring(merchants, policy) {
    return new GatewayKeyring(merchants, policy, this);
  }
}

function unwrap(r, Rejected = OrderRejected) {
  if (r.ok) return r.value;
  if (Array.isArray(r.error)) throw new Rejected(r.error.map(rejection));
  const { code, field, message } = rejection(r.error);
  throw new RechargeError(code, field, message);
}

function orderRequest(o) {
  return {
    ...o.fields,
    chain: CHAIN_NAMES[o.chain],
    canonicalAddress: o.canonicalAddress,
    notifyUrl: o.notifyUrl ?? null,
    sign: o.sign,
  };
}

const DISPOSE = Symbol.dispose ?? Symbol.for('dispose');

/**
 * The merchants' secrets held inside the component (the WIT resource `merchant-keyring`):
 * `checkOrder` parses an order body, finds the merchant of its appid and verifies the
 * sign in one component call. `merchants` is an object or Map `{ appid: secret }` or an
 * array of [appid, secret] pairs; a later duplicate appid replaces an earlier one.
 * `close()` drops it early (jco otherwise drops it after garbage collection). If the
 * instance is replaced after a trap, the keyring is rebuilt in the new one on next use.
 */
export class MerchantKeyring {
  #rc;
  #merchants;
  #handle = null;
  #generation = 0;
  #closed = false;

  constructor(merchants, recharge = defaultRecharge()) {
    const pairs = Array.isArray(merchants) ? merchants
      : merchants instanceof Map ? [...merchants] : Object.entries(merchants ?? {});
    this.#merchants = pairs.map(([appid, secret]) => ({ appid: stringArg('appid', appid), secret: stringArg('secret', secret) }));
    this.#rc = recharge;
  }

  #live() {
    if (this.#closed) throw new Error('the keyring is closed');
    if (this.#handle === null || this.#generation !== this.#rc.generation) {
      const merchants = this.#merchants;
      this.#handle = unwrap(this.#rc.guarded((ex) => new ex.orders.MerchantKeyring(merchants)));
      this.#generation = this.#rc.generation;
    }
    return this.#handle;
  }

  /** Parse, attribute and verify an order body; throws OrderRejected (field rejections,
   *  or UNKNOWN_APPID / SIGN_MISMATCH for a valid body). */
  checkOrder(body) {
    const text = bodyArg(body, OrderRejected);
    const handle = this.#live();
    return orderRequest(unwrap(this.#rc.guarded(() => handle.checkOrder(text))));
  }

  get size() {
    return new Set(this.#merchants.map((m) => m.appid)).size;
  }

  close() {
    if (this.#handle !== null && this.#generation === this.#rc.generation) this.#handle[DISPOSE]?.();
    this.#handle = null;
    this.#closed = true;
  }

  [DISPOSE]() {
    this.close();
  }
}

/**
 * What a gateway holds inside the component (the WIT resource `gateway.keyring`, since
 * 2.1.0): the merchants and the confirmation policy, so that accepting an order and
 * checking a query are one call each. `merchants`: an array of { appid, secret,
 * nextSecret? }, or an object / Map { appid: secret }; a later duplicate appid replaces
 * an earlier one. `policy`: as for validatePolicy. Rebuilt in a new instance after a trap.
 */
export class GatewayKeyring {
  #rc;
  #merchants;
  #policy;
  #handle = null;
  #generation = 0;
  #closed = false;

  constructor(merchants, policy, recharge = defaultRecharge()) {
    const list = Array.isArray(merchants) ? merchants
      : (merchants instanceof Map ? [...merchants] : Object.entries(merchants ?? {})).map(([appid, secret]) => ({ appid, secret }));
    this.#merchants = list.map((m) => {
      if (m === null || typeof m !== 'object') throw new TypeError('a merchant must be { appid, secret, nextSecret? }');
      const nextSecret = m.nextSecret ?? undefined;
      return {
        appid: stringArg('appid', m.appid),
        secret: stringArg('secret', m.secret),
        nextSecret: nextSecret === undefined ? undefined : stringArg('nextSecret', nextSecret),
      };
    });
    this.#policy = policyArg(policy);
    this.#rc = recharge;
  }

  #live() {
    if (this.#closed) throw new Error('the keyring is closed');
    if (this.#handle === null || this.#generation !== this.#rc.generation) {
      const merchants = this.#merchants;
      const policy = this.#policy;
      this.#handle = unwrap(this.#rc.guarded((ex) => new ex.gateway.Keyring(merchants, policy)));
      this.#generation = this.#rc.generation;
    }
    return this.#handle;
  }

  /** Parse an order body, check its sign with its merchant's secret (or next secret) and
   *  compute its required confirmations; throws OrderRejected. -> { order, requiredConfirmations } */
  acceptOrder(body) {
    const text = bodyArg(body, OrderRejected);
    const handle = this.#live();
    const a = unwrap(this.#rc.guarded(() => handle.acceptOrder(text)));
    return { order: orderRequest(a.order), requiredConfirmations: a.requiredConfirmations };
  }

  /** Parse an order query body and check its sign; throws QueryRejected. -> { appid, orderid, sign } */
  checkQuery(body) {
    const text = bodyArg(body, QueryRejected);
    const handle = this.#live();
    return unwrap(this.#rc.guarded(() => handle.checkQuery(text)), QueryRejected);
  }

  get size() {
    return new Set(this.#merchants.map((m) => m.appid)).size;
  }

  close() {
    if (this.#handle !== null && this.#generation === this.#rc.generation) this.#handle[DISPOSE]?.();
    this.#handle = null;
    this.#closed = true;
  }

  [DISPOSE]() {
    this.close();
  }
}

function addressInfo(a) {
  return { chain: CHAIN_NAMES[a.chain], canonical: a.canonical, evmHex: a.evmHex ?? null };
}

// ------------------------------------------------------------------------------ module API

let shared;
/** The process-wide Recharge, instantiated on first use. */
export function defaultRecharge() {
  shared ??= new Recharge();
  return shared;
}

const d = () => defaultRecharge();
export const parseAmount = (text) => d().parseAmount(text);
export const formatAmount = (amount) => d().formatAmount(amount);
export const fromChainUnits = (value, decimals) => d().fromChainUnits(value, decimals);
export const signOrder = (fields, secret) => d().signOrder(fields, secret);
export const verifyOrderSign = (fields, secret, sign) => d().verifyOrderSign(fields, secret, sign);
export const callbackSign = (fields, secret) => d().callbackSign(fields, secret);
export const verifyCallbackSign = (fields, secret, sign) => d().verifyCallbackSign(fields, secret, sign);
export const buildCallbackBody = (fields, secret) => d().buildCallbackBody(fields, secret);
export const querySign = (appid, orderid, secret) => d().querySign(appid, orderid, secret);
export const verifyQuerySign = (appid, orderid, secret, sign) => d().verifyQuerySign(appid, orderid, secret, sign);
export const parseOrder = (body) => d().parseOrder(body);
export const verifyOrder = (order, secret) => d().verifyOrder(order, secret);
/** A MerchantKeyring (`{ appid: secret }`) in the shared instance. */
export const keyring = (merchants) => new MerchantKeyring(merchants);
export const makeOrderid = (prefix, date, entropy) => d().makeOrderid(prefix, date, entropy);
export const checkOrderid = (orderid) => d().checkOrderid(orderid);
export const verifyCallback = (body, secret, options) => d().verifyCallback(body, secret, options);
export const inspectAddress = (address) => d().inspectAddress(address);
export const validateAddress = (address, chain) => d().validateAddress(address, chain);
export const tronFromHex = (hex) => d().tronFromHex(hex);
export const eip55Checksum = (address) => d().eip55Checksum(address);
export const parseXpub = (xpub) => d().parseXpub(xpub);
export const deriveXpub = (xpub, index) => d().deriveXpub(xpub, index);
export const deriveAddress = (xpub, chain, index) => d().deriveAddress(xpub, chain, index);
export const addressSign = (appid, username, chain, secret) => d().addressSign(appid, username, chain, secret);
export const validatePolicy = (policy) => d().validatePolicy(policy);
export const requiredConfirmations = (chain, amount, policy) => d().requiredConfirmations(chain, amount, policy);
export const countConfirmations = (head, block) => d().countConfirmations(head, block);
export const depositState = (confirmations, required) => d().depositState(confirmations, required);
/** The protocol's fixed numbers: `facts().callbackWindow` is 300. */
export const facts = () => d().facts();
export const chains = () => d().chains();
export const parseChain = (name) => d().parseChain(name);
export const validateNotifyUrl = (url) => d().validateNotifyUrl(url);
export const validateTokenDecimals = (decimals) => d().validateTokenDecimals(decimals);
export const toChainUnits = (amount, decimals) => d().toChainUnits(amount, decimals);
export const parseQuery = (body) => d().parseQuery(body);
/** A GatewayKeyring in the shared instance. */
export const gatewayKeyring = (merchants, policy) => new GatewayKeyring(merchants, policy);

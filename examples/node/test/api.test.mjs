// The idiomatic layer: range checks, argument forms, errors.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ur from 'usdt-recharge';

const SECRET = 's3cr3t-merchant';
const ORDER = {
  appid: 'demo_app', username: 'alice', localusermark: 'uid123',
  address: 'TEXv5XbdFV8sWVwr4b1CZHvMXAFXGVgP6d', orderid: 'demo-20250905-k3x9q0', amount: 1000000n,
};
const RULE = { defaultRequired: 1, largeAmount: 100000000n, largeRequired: 3 };

function outOfRange(f, argument) {
  assert.throws(f, (e) => e instanceof ur.OutOfRangeError && e instanceof RangeError && e.argument === argument);
}

test('jco itself wraps out-of-range integers silently (why the wrapper checks)', () => {
  const rc = new ur.Recharge();
  assert.deepEqual(rc.raw('amounts', 'formatUsdt', -1n), { ok: true, value: '1844674407370955.1615' });
  assert.deepEqual(rc.raw('amounts', 'formatUsdt', (1n << 64n) + 5n), { ok: true, value: '0.0005' });
});

test('u64 parameters: negative and above 2^64-1 are refused', () => {
  for (const bad of [-1n, 1n << 64n, -1]) {
    outOfRange(() => ur.countConfirmations(bad, 0n), 'head');
    outOfRange(() => ur.countConfirmations(0n, bad), 'block');
    outOfRange(() => ur.makeOrderid('cz', [2025, 9, 5], bad), 'entropy');
    outOfRange(() => ur.verifyCallback('{}', SECRET, { now: bad }), 'now');
    outOfRange(() => ur.depositState(bad, 1), 'confirmations');
    outOfRange(() => ur.callbackSign({ orderid: 'a', localusermark: 'b', amount: 1n, t: bad }, SECRET), 't');
  }
  assert.equal(ur.countConfirmations((1n << 64n) - 1n, 0n), (1n << 64n) - 1n);
});

test('u32 / u16 / u8 parameters', () => {
  outOfRange(() => ur.verifyCallback('{}', SECRET, { now: 0n, window: -1 }), 'window');
  outOfRange(() => ur.verifyCallback('{}', SECRET, { now: 0n, window: 2 ** 32 }), 'window');
  outOfRange(() => ur.depositState(0n, 2 ** 32), 'required');
  outOfRange(() => ur.fromChainUnits('1', 256), 'decimals');
  outOfRange(() => ur.makeOrderid('cz', [2 ** 16, 1, 1], 0n), 'date.year');
  outOfRange(() => ur.makeOrderid('cz', { year: 2025, month: 256, day: 1 }, 0n), 'date.month');
  assert.throws(() => ur.makeOrderid('cz', [2025, 255, 1], 0n), (e) => e instanceof ur.RechargeError && e.code === 'INVALID_FIELD');
});

test('order amounts are 1..=2^53-1, stored amounts 0..=2^63-1', () => {
  for (const bad of [0n, -1n, 1n << 53n, (1n << 64n) - 1n]) {
    outOfRange(() => ur.signOrder({ ...ORDER, amount: bad }, SECRET), 'amount');
    outOfRange(() => ur.verifyOrderSign({ ...ORDER, amount: bad }, SECRET, '0'.repeat(32)), 'amount');
  }
  assert.match(ur.signOrder({ ...ORDER, amount: (1n << 53n) - 1n }, SECRET), /^[0-9a-f]{32}$/);
  for (const bad of [-1n, 1n << 63n]) {
    outOfRange(() => ur.formatAmount(bad), 'amount');
    outOfRange(() => ur.buildCallbackBody({ orderid: 'a', localusermark: 'b', amount: bad, t: 1n }, SECRET), 'amount');
    outOfRange(() => ur.requiredConfirmations('TRC20', bad, { base: RULE, overrides: [] }), 'amount');
  }
  assert.equal(ur.formatAmount((1n << 63n) - 1n), '922337203685477.5807');
  assert.equal(ur.parseAmount('922337203685477.5807'), (1n << 63n) - 1n);
});

test('numbers: safe integers accepted, others are TypeErrors', () => {
  assert.equal(ur.signOrder({ ...ORDER, amount: 1000000 }, SECRET), ur.signOrder(ORDER, SECRET));
  assert.throws(() => ur.formatAmount(1.5), TypeError);
  assert.throws(() => ur.formatAmount(2 ** 60), TypeError); // unsafe Number: must be a BigInt
  assert.throws(() => ur.formatAmount('1'), TypeError);
  assert.throws(() => ur.parseAmount(100), TypeError);
  assert.throws(() => ur.signOrder({ ...ORDER, username: 'a\ud800' }, SECRET), /well-formed/);
  assert.throws(() => ur.signOrder({ ...ORDER, extra: 1 }, SECRET), TypeError);
  const { amount, ...noAmount } = ORDER;
  assert.throws(() => ur.signOrder(noAmount, SECRET), TypeError);
  assert.ok(amount);
});

test('gateway: parse, verify, reject', () => {
  const body = JSON.stringify({ ...ORDER, amount: 1000000, sign: ur.signOrder(ORDER, SECRET), chain: 'TRC20' });
  const order = ur.parseOrder(new TextEncoder().encode(body));
  assert.equal(order.chain, 'TRC20');
  assert.equal(order.amount, 1000000n);
  assert.equal(order.notifyUrl, null);
  ur.verifyOrder(order, SECRET);
  assert.throws(() => ur.verifyOrder(order, `${SECRET}x`), (e) => e.code === 'SIGN_MISMATCH');
  assert.throws(
    () => ur.parseOrder(JSON.stringify({ ...ORDER, amount: 1e21, address: 'nope', sign: 'ABC' })),
    (e) => e instanceof ur.OrderRejected && e instanceof ur.RechargeError
      && JSON.stringify(e.codes) === '["INVALID_ADDRESS","INVALID_AMOUNT","INVALID_SIGN"]'
      && e.code === 'INVALID_ADDRESS');
  assert.throws(() => ur.parseOrder(new Uint8Array([0xff])), (e) => e instanceof ur.OrderRejected && e.codes[0] === 'INVALID_JSON');
});

test('verifyCallback: default clock, window, codes', () => {
  const now = BigInt(Math.floor(Date.now() / 1000));
  const fields = { orderid: 'demo-20250905-k3x9q0', localusermark: 'uid123', amount: 30000n, t: now };
  const body = ur.buildCallbackBody(fields, SECRET);
  assert.equal(JSON.parse(body).sign, ur.callbackSign(fields, SECRET));
  assert.deepEqual(ur.verifyCallback(Buffer.from(body), SECRET), { ...fields, sign: JSON.parse(body).sign });
  const codeOf = (f) => { try { f(); return 'OK'; } catch (e) { return e.code; } };
  assert.equal(codeOf(() => ur.verifyCallback(body, 'other')), 'SIGN_MISMATCH');
  assert.equal(codeOf(() => ur.verifyCallback(body, SECRET, { now: now + 301n })), 'TIMESTAMP_OUT_OF_WINDOW');
  assert.equal(codeOf(() => ur.verifyCallback(body, SECRET, { now: now + 301n, window: 301 })), 'OK');
  assert.equal(codeOf(() => ur.verifyCallback(body, SECRET, { now: now - 300n })), 'OK');
  assert.equal(codeOf(() => ur.verifyCallback(new Uint8Array([0xc3, 0x28]), SECRET)), 'INVALID_JSON');
  assert.throws(() => ur.buildCallbackBody({ ...fields, orderid: 'a|b' }, SECRET),
    (e) => e.code === 'INVALID_FIELD' && e.field === 'orderid');
});

test('addresses, query signs, policies', () => {
  const info = ur.inspectAddress('0x52908400098527886E0F7030069857D2E4169EE7');
  assert.deepEqual(info, { chain: 'ERC20', canonical: '0x52908400098527886e0f7030069857d2e4169ee7', evmHex: '0x52908400098527886e0f7030069857d2e4169ee7' });
  assert.throws(() => ur.validateAddress(info.canonical, 'BTC'), TypeError);
  const sign = ur.querySign('demo_app', 'demo-1', SECRET);
  ur.verifyQuerySign('demo_app', 'demo-1', SECRET, sign);
  assert.throws(() => ur.verifyQuerySign('demo_app', 'demo-1', SECRET, sign.toUpperCase()), (e) => e.code === 'INVALID_SIGN');
  ur.validatePolicy({ base: RULE, overrides: new Map([['OMNI', { ...RULE, defaultRequired: 2 }]]) });
  assert.throws(() => ur.validatePolicy({ base: RULE, overrides: [['OMNI', RULE], ['OMNI', RULE]] }),
    (e) => e.code === 'INVALID_POLICY');
});

test('merchant keyring: parse, attribute and verify in one call', () => {
  const body = JSON.stringify({ ...ORDER, amount: 1000000, sign: ur.signOrder(ORDER, SECRET) });
  const kr = ur.keyring([['other', 'x'], ['demo_app', 'old'], ['demo_app', SECRET]]);
  assert.equal(kr.size, 2);
  assert.equal(kr.checkOrder(Buffer.from(body)).orderid, ORDER.orderid);
  assert.throws(() => kr.checkOrder(body.replace('alice', 'bob')), (e) => e instanceof ur.OrderRejected && e.codes[0] === 'SIGN_MISMATCH');
  assert.throws(() => ur.keyring({}).checkOrder(body), (e) => e.code === 'UNKNOWN_APPID');
  assert.throws(() => ur.keyring({ demo_app: 1 }), TypeError);
  kr.close();
  assert.throws(() => kr.checkOrder(body), /closed/);
  const rc = new ur.Recharge();
  const kr2 = rc.keyring(new Map([['demo_app', SECRET]]));
  assert.equal(kr2.checkOrder(body).chain, 'TRC20');
  for (let i = 0; i < 50; i++) rc.keyring({ demo_app: SECRET }).close();
  assert.equal(kr2.checkOrder(body).amount, 1000000n);
});

// ---- usdt:recharge@2.1.0: protocol facts and rules, the gateway's calls

const POLICY = {
  base: { defaultRequired: 12, largeAmount: 100000000n, largeRequired: 20 },
  overrides: [['TRC20', { defaultRequired: 19, largeAmount: 100000000n, largeRequired: 30 }]],
};
const codesOf = (f) => { try { f(); return ['OK']; } catch (e) { return e.codes ?? [e.code]; } };

test('facts come from the component; the binding hard-codes no window', () => {
  assert.deepEqual({ ...ur.facts() }, {
    callbackWindow: 300, maxRetries: 8, scale: 10000n, maxOrderAmount: (1n << 53n) - 1n, maxTokenDecimals: 18,
  });
  assert.equal(ur.MAX_ORDER_AMOUNT, ur.facts().maxOrderAmount); // the binding's range check agrees
  assert.equal('PROTOCOL_WINDOW' in ur, false);
});

test('chains, parseChain', () => {
  assert.deepEqual(ur.chains(), [
    { chain: 'TRC20', name: 'TRC20', usdtDecimals: 6 },
    { chain: 'ERC20', name: 'ERC20', usdtDecimals: 6 },
    { chain: 'OMNI', name: 'OMNI', usdtDecimals: 8 },
  ]);
  assert.equal(ur.parseChain('ERC20'), 'ERC20');
  for (const bad of ['erc20', 'BTC', '']) assert.deepEqual(codesOf(() => ur.parseChain(bad)), ['UNSUPPORTED_CHAIN']);
});

test('validateNotifyUrl, validateTokenDecimals', () => {
  ur.validateNotifyUrl('https://shop.example/notify?x=1');
  for (const bad of ['ftp://shop.example/', 'https://user:pw@shop.example/', '/notify', 'https://shop.example/a b']) {
    assert.deepEqual(codesOf(() => ur.validateNotifyUrl(bad)), ['INVALID_NOTIFY_URL'], bad);
  }
  ur.validateTokenDecimals(18);
  assert.throws(() => ur.validateTokenDecimals(19), (e) => e.code === 'INVALID_FIELD' && e.field === 'decimals');
  outOfRange(() => ur.validateTokenDecimals(256), 'decimals');
});

test('toChainUnits reverses fromChainUnits', () => {
  assert.equal(ur.toChainUnits(1005000n, 6), '100500000');
  assert.equal(ur.toChainUnits(1n, 8), '10000');
  assert.equal(ur.toChainUnits(0n, 18), '0');
  for (const [amount, decimals] of [[1005000n, 6], [123456789n, 8], [7n, 18], [50000n, 4]]) {
    assert.deepEqual(ur.fromChainUnits(ur.toChainUnits(amount, decimals), decimals), { scaled: amount, dust: 0n });
  }
  assert.deepEqual(codesOf(() => ur.toChainUnits(1005001n, 2)), ['INVALID_AMOUNT']);
  outOfRange(() => ur.toChainUnits(-1n, 6), 'amount');
});

test('parseQuery lists every rejection as QueryRejected', () => {
  assert.deepEqual(ur.parseQuery(JSON.stringify({ appid: 'demo_app', orderid: 'o-1', sign: 'x', extra: 1 })),
    { appid: 'demo_app', orderid: 'o-1', sign: 'x' });
  assert.throws(() => ur.parseQuery(JSON.stringify({ appid: 7, sign: null })), (e) => e instanceof ur.QueryRejected
    && !(e instanceof ur.OrderRejected) && e instanceof ur.Rejections
    && JSON.stringify(e.codes) === '["INVALID_FIELD","MISSING_FIELD","MISSING_FIELD"]'
    && JSON.stringify(e.rejections.map((r) => r.field)) === '["appid","orderid","sign"]');
  assert.throws(() => ur.parseQuery(new Uint8Array([0xff])), (e) => e instanceof ur.QueryRejected && e.codes[0] === 'INVALID_JSON');
});

test('gateway keyring: accept an order with its confirmations, check a query; rotation', () => {
  const kr = ur.gatewayKeyring([{ appid: 'demo_app', secret: SECRET, nextSecret: 'next-secret' }, { appid: 'other', secret: 'o' }], POLICY);
  assert.equal(kr.size, 2);
  for (const secret of [SECRET, 'next-secret']) {
    const a = kr.acceptOrder(JSON.stringify({ ...ORDER, amount: 1000000, sign: ur.signOrder(ORDER, secret) }));
    assert.equal(a.order.orderid, ORDER.orderid);
    assert.equal(a.requiredConfirmations, 19); // the TRC20 override, below the large amount
  }
  const big = { ...ORDER, amount: 100000000n };
  assert.equal(kr.acceptOrder(JSON.stringify({ ...big, amount: 100000000, sign: ur.signOrder(big, SECRET) })).requiredConfirmations, 30);
  assert.throws(() => kr.acceptOrder(JSON.stringify({ ...ORDER, amount: 1000000, sign: ur.signOrder(ORDER, 'wrong') })),
    (e) => e instanceof ur.OrderRejected && e.codes[0] === 'SIGN_MISMATCH');
  const query = { appid: 'demo_app', orderid: ORDER.orderid };
  assert.equal(kr.checkQuery(JSON.stringify({ ...query, sign: ur.querySign('demo_app', ORDER.orderid, SECRET) })).orderid, ORDER.orderid);
  assert.deepEqual(codesOf(() => kr.checkQuery(JSON.stringify({ ...query, sign: ur.querySign('demo_app', ORDER.orderid, 'x') }))), ['SIGN_MISMATCH']);
  assert.deepEqual(codesOf(() => kr.checkQuery(JSON.stringify({ ...query, sign: 'NOT-HEX' }))), ['INVALID_SIGN']);
  assert.deepEqual(codesOf(() => kr.checkQuery(JSON.stringify({ appid: 'nobody', orderid: 'x', sign: 'NOT-HEX' }))), ['UNKNOWN_APPID']);
  kr.close();
  assert.throws(() => kr.checkQuery('{}'), /closed/);
  // an object { appid: secret } works too, in another instance
  const rc = new ur.Recharge();
  assert.equal(rc.gatewayKeyring({ demo_app: SECRET }, POLICY)
    .acceptOrder(JSON.stringify({ ...ORDER, amount: 1000000, sign: ur.signOrder(ORDER, SECRET) })).order.chain, 'TRC20');
});

// The BIP44 account m/44'/60'/0' of the BIP39 test mnemonic, and BIP32 test vector 1's
// master private key: keys from published test vectors, never anyone's funds.
const ETH_ACCOUNT = 'xpub6DCoCpSuQZB2jawqnGMEPS63ePKWkwWPH4TU45Q7LPXWuNd8TMtVxRrgjtEshuqpK3mdhaWHPFsBngh5GFZaM6si3yZdUsT8ddYM3PwnATt';
const XPRV = 'xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi';

test('a merchant checks an address the gateway answered against its own xpub (2.2.0)', () => {
  const answer = { data: { chain: 'ERC20', index: 0, address: '0x9858EfFD232B4033E47d90003D41EC34EcaEda94' } };
  const mine = ur.deriveAddress(ETH_ACCOUNT, answer.data.chain, answer.data.index);
  assert.equal(mine.address, answer.data.address);
  assert.notEqual(ur.deriveAddress(ETH_ACCOUNT, 'ERC20', 1).address, answer.data.address);
  assert.equal(ur.parseXpub(ETH_ACCOUNT).depth, 3);
  assert.throws(() => ur.parseXpub(XPRV),
    (e) => e instanceof ur.RechargeError && e.code === 'PRIVATE_KEY_REFUSED' && !e.message.includes(XPRV.slice(4)));
  assert.throws(() => ur.deriveAddress(ETH_ACCOUNT, 'ERC20', 2 ** 31), (e) => e instanceof ur.RechargeError && e.code === 'INVALID_INDEX');
  outOfRange(() => ur.deriveAddress(ETH_ACCOUNT, 'ERC20', 2 ** 32), 'index');
});

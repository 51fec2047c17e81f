// A merchant's TypeScript, type-checked (not run) against the installed package's typings.
import * as ur from 'usdt-recharge';
import { instantiate, type Root } from 'usdt-recharge/bindings';

const SECRET = 's3cr3t';
const fields: ur.OrderFields = {
  appid: 'demo_app', username: 'alice', localusermark: 'uid123',
  address: 'TEXv5XbdFV8sWVwr4b1CZHvMXAFXGVgP6d', orderid: 'demo-20250905-k3x9q0', amount: 1_000_000n,
};
const sign: string = ur.signOrder(fields, SECRET);
const body: string = ur.buildCallbackBody({ orderid: fields.orderid, localusermark: 'uid123', amount: 10n, t: 1 }, SECRET);
try {
  const cb: ur.Callback = ur.verifyCallback(body, SECRET, { now: 1, window: ur.facts().callbackWindow });
  const amount: bigint = cb.amount;
  void amount;
} catch (e) {
  if (e instanceof ur.OrderRejected) { const codes: string[] = e.codes; void codes; }
  if (e instanceof ur.RechargeError) { const code: string = e.code; const field: string | null = e.field; void code; void field; }
}
const kr: ur.MerchantKeyring = ur.keyring({ demo_app: SECRET });
const order: ur.OrderRequest = kr.checkOrder(new TextEncoder().encode(JSON.stringify({ ...fields, sign })));
const chain: ur.Chain = order.chain;
const state: ur.DepositState = ur.depositState(3n, 12);
const info: ur.AddressInfo = ur.inspectAddress(order.address);
const evm: string | null = info.evmHex;
const rc = new ur.Recharge();
const scaled: bigint = rc.parseAmount('100.5');
const r = rc.guarded((ex: Root) => ex.amounts.formatUsdt(1n));
if (r.ok) { const text: string = r.value; void text; }
const fresh: Root = instantiate(() => { throw new Error('not run'); }, {});
const gk = ur.gatewayKeyring([{ appid: 'demo_app', secret: SECRET, nextSecret: 'next' }],
  { base: { defaultRequired: 12, largeAmount: 100_000_000n, largeRequired: 20 } });
const accepted: ur.AcceptedOrder = gk.acceptOrder(body);
const needed: number = accepted.requiredConfirmations;
const query: ur.OrderQuery = ur.parseQuery('{}');
const units: string = ur.toChainUnits(1_005_000n, 6);
const decimals: number = ur.chains()[0].usdtDecimals;
void [chain, state, evm, scaled, fresh, ur.MAX_STORED_AMOUNT as bigint, needed, query, units, decimals];

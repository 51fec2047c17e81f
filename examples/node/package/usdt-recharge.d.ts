// Typings of the `usdt-recharge` npm package (usdt-recharge.mjs). The raw jco bindings
// have their own, generated typings: `usdt-recharge/bindings` (gen/usdt_recharge.d.ts).

/** A chain by its wire name. */
export type Chain = 'TRC20' | 'ERC20' | 'OMNI';
/** A u64 argument: a BigInt, or a safe-integer Number. */
export type U64Arg = bigint | number;
/** A u32 / u16 / u8 argument: a safe-integer Number (or a BigInt). */
export type SmallArg = number | bigint;
/** A request or callback body as received. */
export type Body = string | Uint8Array | ArrayBuffer;

export const MAX_U8: number;
export const MAX_U16: number;
export const MAX_U32: number;
export const MAX_U64: bigint;
/** The largest order amount in scaled units (2^53-1). */
export const MAX_ORDER_AMOUNT: bigint;
/** The largest scaled amount the protocol stores, parses or sends in a callback (2^63-1). */
export const MAX_STORED_AMOUNT: bigint;

/** One precise reason the component refused an input. */
export interface Rejection {
  /** Stable upper-snake-case code, e.g. `'SIGN_MISMATCH'`. */
  code: string;
  /** The offending field's wire name, when there is one. */
  field: string | null;
  /** Human-readable English; not part of the stable contract. */
  message: string;
}

/** The component refused an input; `code` is the stable code (`'SIGN_MISMATCH'`, …). */
export class RechargeError extends Error {
  constructor(code: string, field?: string | null, message?: string);
  readonly code: string;
  readonly field: string | null;
  /** The component's message (`message` is the whole error text). */
  readonly detail: string;
  get rejection(): Rejection;
}

/** A body was refused; `rejections` lists every reason, in field order. */
export class Rejections extends RechargeError {
  constructor(rejections: Rejection[]);
  readonly rejections: Rejection[];
  get codes(): string[];
}

/** An order request was refused. */
export class OrderRejected extends Rejections {}

/** An order query was refused. */
export class QueryRejected extends Rejections {}

/** An integer argument is outside its WIT type's or the protocol's range. */
export class OutOfRangeError extends RangeError {
  constructor(argument: string, value: bigint, min: bigint, max: bigint);
  readonly argument: string;
  readonly value: bigint;
  readonly min: bigint;
  readonly max: bigint;
}

/** The signed fields of an order request (amount in scaled units, 1..=2^53-1). */
export interface OrderFields {
  appid: string;
  username: string;
  localusermark: string;
  address: string;
  orderid: string;
  amount: U64Arg;
}

/** The signed fields of a callback (amount in scaled units, t in Unix seconds). */
export interface CallbackFields {
  orderid: string;
  localusermark: string;
  amount: U64Arg;
  t: U64Arg;
}

/** A verified callback. */
export interface Callback {
  orderid: string;
  localusermark: string;
  /** The amount actually received, in scaled units. */
  amount: bigint;
  t: bigint;
  sign: string;
}

/** A parsed, validated order request (its sign checked by `checkOrder` / `verifyOrder`). */
export interface OrderRequest {
  appid: string;
  username: string;
  localusermark: string;
  /** As sent (and signed). */
  address: string;
  orderid: string;
  amount: bigint;
  chain: Chain;
  canonicalAddress: string;
  notifyUrl: string | null;
  sign: string;
}

export interface ChainAmount {
  /** Whole scaled units, rounded down. */
  scaled: bigint;
  /** The remainder below 1/10000 USDT, in token base units. */
  dust: bigint;
}

export interface AddressInfo {
  chain: Chain;
  canonical: string;
  evmHex: string | null;
}

/** An extended public key, parsed (2.2.0). */
export interface XpubInfo {
  depth: number;
  parentFingerprint: number;
  childNumber: number;
  fingerprint: number;
  /** Compressed, 66 lowercase hex digits. */
  publicKey: string;
}

/** The address `…/0/index` of an account key on a chain (2.2.0). */
export interface DerivedAddress {
  chain: Chain;
  index: number;
  address: string;
  publicKey: string;
}

export interface OrderDate {
  year: number;
  month: number;
  day: number;
}

export interface OrderIdParts {
  prefix: string;
  date: OrderDate;
  random: string;
}

export interface ConfirmationRule {
  defaultRequired: SmallArg;
  largeAmount: U64Arg;
  largeRequired: SmallArg;
}

export interface ConfirmationPolicy {
  base: ConfirmationRule;
  /** Per-chain rules, as pairs (so that a duplicate can be expressed, and refused) or a Map. */
  overrides?: Array<[Chain, ConfirmationRule]> | Map<Chain, ConfirmationRule>;
}

export type DepositState = 'pending' | 'confirming' | 'confirmed';

/** The protocol's fixed numbers, as the component states them. */
export interface ProtocolFacts {
  /** Seconds a callback's `t` may differ from the receiver's clock (300). */
  callbackWindow: number;
  /** Most retries of a callback after its first attempt (8). */
  maxRetries: number;
  /** Scaled units per USDT (10000). */
  scale: bigint;
  /** The largest order amount in scaled units (2^53-1). */
  maxOrderAmount: bigint;
  /** Most decimals a token may have for the amount conversions (18). */
  maxTokenDecimals: number;
}

export interface ChainFacts {
  chain: Chain;
  /** The wire name. */
  name: string;
  /** USDT's decimals on this chain. */
  usdtDecimals: number;
}

/** A parsed order query. */
export interface OrderQuery {
  appid: string;
  orderid: string;
  sign: string;
}

/** An order whose sign is checked, and the confirmations its deposit needs. */
export interface AcceptedOrder {
  order: OrderRequest;
  requiredConfirmations: number;
}

/** One merchant of a GatewayKeyring; `nextSecret` during a secret rotation. */
export interface Merchant {
  appid: string;
  secret: string;
  nextSecret?: string | null;
}

export interface VerifyCallbackOptions {
  /** Unix seconds; default `Date.now() / 1000`. */
  now?: U64Arg;
  /** Seconds; default the protocol's, `facts().callbackWindow` (300). */
  window?: SmallArg;
}

/** What `Recharge#raw` and `Recharge#guarded` answer. */
export type Guarded<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** Merchants' secrets: `{ appid: secret }`, a Map, or [appid, secret] pairs. */
export type Merchants = Record<string, string> | Map<string, string> | Array<[string, string]>;

/**
 * One instance of the component. The core modules are compiled once per process; the
 * module-level functions share one `Recharge`. A trap discards the instance (the next
 * call gets a fresh one) and is rethrown.
 */
export class Recharge {
  constructor();
  /** Bumped on every (re-)instantiation. */
  readonly generation: number;
  /** Run `thunk(exports)` against the instance (exports: the jco bindings). */
  guarded<T>(thunk: (exports: import('./gen/usdt_recharge.js').Root) => T): Guarded<T>;
  /** The jco binding of `usdt:recharge/<iface>`, unchecked. */
  raw(iface: string, fn: string, ...args: unknown[]): Guarded<unknown>;
  keyring(merchants: Merchants): MerchantKeyring;

  parseAmount(text: string): bigint;
  formatAmount(amount: U64Arg): string;
  fromChainUnits(value: string, decimals: SmallArg): ChainAmount;

  signOrder(fields: OrderFields, secret: string): string;
  verifyOrderSign(fields: OrderFields, secret: string, sign: string): void;
  callbackSign(fields: CallbackFields, secret: string): string;
  verifyCallbackSign(fields: CallbackFields, secret: string, sign: string): void;
  buildCallbackBody(fields: CallbackFields, secret: string): string;
  querySign(appid: string, orderid: string, secret: string): string;
  verifyQuerySign(appid: string, orderid: string, secret: string, sign: string): void;

  parseOrder(body: Body): OrderRequest;
  verifyOrder(order: OrderRequest, secret: string): void;
  makeOrderid(prefix: string, date: OrderDate | [SmallArg, SmallArg, SmallArg], entropy: U64Arg): string;
  checkOrderid(orderid: string): OrderIdParts;

  verifyCallback(body: Body, secret: string, options?: VerifyCallbackOptions): Callback;

  inspectAddress(address: string): AddressInfo;
  validateAddress(address: string, chain: Chain): AddressInfo;
  tronFromHex(hex: string): string;
  eip55Checksum(address: string): string;

  parseXpub(xpub: string): XpubInfo;
  deriveXpub(xpub: string, index: SmallArg): string;
  deriveAddress(xpub: string, chain: Chain, index: SmallArg): DerivedAddress;
  addressSign(appid: string, username: string, chain: Chain, secret: string): string;

  validatePolicy(policy: ConfirmationPolicy): void;
  requiredConfirmations(chain: Chain, amount: U64Arg, policy: ConfirmationPolicy): number;
  countConfirmations(head: U64Arg, block: U64Arg): bigint;
  depositState(confirmations: U64Arg, required: SmallArg): DepositState;

  facts(): ProtocolFacts;
  chains(): ChainFacts[];
  parseChain(name: string): Chain;
  validateNotifyUrl(url: string): void;
  validateTokenDecimals(decimals: SmallArg): void;
  toChainUnits(amount: U64Arg, decimals: SmallArg): string;
  parseQuery(body: Body): OrderQuery;
  gatewayKeyring(merchants: Merchant[] | Record<string, string> | Map<string, string>, policy: ConfirmationPolicy): GatewayKeyring;
}

/**
 * The merchants' secrets held inside the component: `checkOrder` parses an order body,
 * finds the merchant of its appid and verifies the sign in one component call.
 */
export class MerchantKeyring {
  constructor(merchants: Merchants, recharge?: Recharge);
  /** Throws OrderRejected (field rejections, or UNKNOWN_APPID / SIGN_MISMATCH). */
  checkOrder(body: Body): OrderRequest;
  readonly size: number;
  close(): void;
}

/**
 * The merchants and the confirmation policy held inside the component (since 2.1.0):
 * accepting an order and checking a query are one call each.
 */
export class GatewayKeyring {
  constructor(merchants: Merchant[] | Record<string, string> | Map<string, string>, policy: ConfirmationPolicy, recharge?: Recharge);
  /** Throws OrderRejected (field rejections, or UNKNOWN_APPID / SIGN_MISMATCH). */
  acceptOrder(body: Body): AcceptedOrder;
  /** Throws QueryRejected (field rejections, UNKNOWN_APPID, INVALID_SIGN / SIGN_MISMATCH). */
  checkQuery(body: Body): OrderQuery;
  readonly size: number;
  close(): void;
}

/** The process-wide Recharge, instantiated on first use. */
export function defaultRecharge(): Recharge;

export function parseAmount(text: string): bigint;
export function formatAmount(amount: U64Arg): string;
export function fromChainUnits(value: string, decimals: SmallArg): ChainAmount;
export function signOrder(fields: OrderFields, secret: string): string;
export function verifyOrderSign(fields: OrderFields, secret: string, sign: string): void;
export function callbackSign(fields: CallbackFields, secret: string): string;
export function verifyCallbackSign(fields: CallbackFields, secret: string, sign: string): void;
export function buildCallbackBody(fields: CallbackFields, secret: string): string;
export function querySign(appid: string, orderid: string, secret: string): string;
export function verifyQuerySign(appid: string, orderid: string, secret: string, sign: string): void;
export function parseOrder(body: Body): OrderRequest;
export function verifyOrder(order: OrderRequest, secret: string): void;
/** A MerchantKeyring in the shared instance. */
export function keyring(merchants: Merchants): MerchantKeyring;
export function makeOrderid(prefix: string, date: OrderDate | [SmallArg, SmallArg, SmallArg], entropy: U64Arg): string;
export function checkOrderid(orderid: string): OrderIdParts;
export function verifyCallback(body: Body, secret: string, options?: VerifyCallbackOptions): Callback;
export function inspectAddress(address: string): AddressInfo;
export function validateAddress(address: string, chain: Chain): AddressInfo;
export function tronFromHex(hex: string): string;
export function eip55Checksum(address: string): string;
export function parseXpub(xpub: string): XpubInfo;
export function deriveXpub(xpub: string, index: SmallArg): string;
export function deriveAddress(xpub: string, chain: Chain, index: SmallArg): DerivedAddress;
export function addressSign(appid: string, username: string, chain: Chain, secret: string): string;
export function validatePolicy(policy: ConfirmationPolicy): void;
export function requiredConfirmations(chain: Chain, amount: U64Arg, policy: ConfirmationPolicy): number;
export function countConfirmations(head: U64Arg, block: U64Arg): bigint;
export function depositState(confirmations: U64Arg, required: SmallArg): DepositState;
/** The protocol's fixed numbers: `facts().callbackWindow` is 300. */
export function facts(): ProtocolFacts;
export function chains(): ChainFacts[];
export function parseChain(name: string): Chain;
export function validateNotifyUrl(url: string): void;
export function validateTokenDecimals(decimals: SmallArg): void;
export function toChainUnits(amount: U64Arg, decimals: SmallArg): string;
export function parseQuery(body: Body): OrderQuery;
/** A GatewayKeyring in the shared instance. */
export function gatewayKeyring(merchants: Merchant[] | Record<string, string> | Map<string, string>, policy: ConfirmationPolicy): GatewayKeyring;

"""Python binding of the USDT Recharge protocol component (``usdt:recharge@2.2.0``).

Every protocol rule (signatures, order validation, callback verification, amounts,
addresses, confirmations) lives in one WebAssembly component that imports nothing.
This package ships that component (``usdt_recharge.wasm``, beside this file), loads it
with `wasmtime` (PyPI) through its public component-model API (``wasmtime.component``)
only, and offers Pythonic functions around it::

    import usdt_recharge as ur

    sign = ur.sign_order(appid="shop1", username="alice", localusermark="u-1",
                         address="TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",
                         orderid="sh-20240901-a1b2c3", amount=1_000_000, secret=SECRET)
    try:
        cb = ur.verify_callback(request_body, SECRET)        # ±300 s around time.time()
    except ur.RechargeError as e:
        print(e.code)                                       # "SIGN_MISMATCH", …

The component is compiled once per process (the first call) and its instance is reused;
calls are serialised by a lock, so the functions are safe to use from several threads.
Another build of the component can be loaded with ``$USDT_RECHARGE_COMPONENT`` (a path)
or ``Recharge(path)``.

Integers: the component's ``u64`` / ``u32`` / ``u16`` / ``u8`` parameters are
range-checked here (wasmtime would silently wrap ``-1`` to ``2**64 - 1``), and amounts
are checked against the protocol's ranges: order amounts ``1..=2**53-1``, every other
scaled amount ``0..=2**63-1``. A value out of range raises :class:`OutOfRangeError`
(a ``ValueError``); a non-``int`` (or a ``bool``) raises ``TypeError``. These are
programming errors, distinct from :class:`RechargeError`, which carries the
component's verdict on *data* (a stable code such as ``"SIGN_MISMATCH"``).
"""

from __future__ import annotations

import datetime
import enum
import os
import threading
import time
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import wasmtime
from wasmtime.component import (
    Component,
    Linker,
    ListType,
    OptionType,
    RecordType,
    ResultType,
    TupleType,
    U8,
    U16,
    U32,
    U64,
)

__all__ = [
    "AcceptedOrder", "AddressInfo", "Callback", "CallbackFields", "Chain", "ChainAmount", "ChainFacts",
    "ConfirmationPolicy", "ConfirmationRule", "DerivedAddress", "GatewayKeyring", "Merchant",
    "MerchantKeyring", "XpubInfo", "address_sign", "derive_address", "derive_xpub", "parse_xpub",
    "OrderFields", "OrderIdParts", "OrderQuery", "OrderRejected", "OrderRequest", "OutOfRangeError",
    "ProtocolFacts", "QueryRejected", "Recharge", "RechargeError", "Rejection", "Rejections",
    "MAX_ORDER_AMOUNT", "MAX_STORED_AMOUNT", "MAX_U64", "MAX_U32",
    "build_callback_body", "callback_sign", "chains", "check_orderid", "component_path",
    "count_confirmations", "default", "deposit_state", "eip55_checksum", "facts", "format_amount",
    "from_chain_units", "gateway_keyring", "inspect_address", "keyring", "make_orderid",
    "parse_amount", "parse_chain", "parse_order", "parse_query", "query_sign",
    "required_confirmations", "sign_order", "to_chain_units", "tron_from_hex",
    "validate_address", "validate_notify_url", "validate_policy", "validate_token_decimals",
    "verify_callback", "verify_callback_sign", "verify_order", "verify_order_sign", "verify_query_sign",
]

PACKAGE = "usdt:recharge"
#: The component's file name inside this package.
COMPONENT_FILE = "usdt_recharge.wasm"
VERSION = "2.2.0"
MAX_U8 = 2**8 - 1
MAX_U16 = 2**16 - 1
MAX_U32 = 2**32 - 1
MAX_U64 = 2**64 - 1
#: The largest order amount in scaled units (2**53-1: every JavaScript client is exact).
MAX_ORDER_AMOUNT = 2**53 - 1
#: The largest scaled amount the protocol stores, parses or sends in a callback (2**63-1).
MAX_STORED_AMOUNT = 2**63 - 1


# --------------------------------------------------------------------------- errors


@dataclass(frozen=True)
class Rejection:
    """One precise reason the component refused an input."""

    code: str  #: stable upper-snake-case code, e.g. ``"SIGN_MISMATCH"``
    field: Optional[str]  #: the offending field's wire name, when there is one
    message: str  #: human-readable English; not part of the stable contract


class RechargeError(Exception):
    """The component refused an input. ``code`` is the stable code (``"SIGN_MISMATCH"``)."""

    def __init__(self, code: str, field: Optional[str] = None, message: str = ""):
        self.code = code
        self.field = field
        self.message = message
        where = f" ({field})" if field else ""
        super().__init__(f"{code}{where}: {message}" if message else f"{code}{where}")

    @property
    def rejection(self) -> Rejection:
        return Rejection(self.code, self.field, self.message)

    @classmethod
    def _from(cls, r: Rejection) -> "RechargeError":
        return cls(r.code, r.field, r.message)


class Rejections(RechargeError):
    """A body was refused; ``rejections`` lists every reason, in field order.

    ``code``/``field``/``message`` are those of the first rejection.
    """

    def __init__(self, rejections: Sequence[Rejection]):
        self.rejections: Tuple[Rejection, ...] = tuple(rejections)
        first = self.rejections[0] if self.rejections else Rejection("INVALID_JSON", None, "")
        super().__init__(first.code, first.field, first.message)
        if len(self.rejections) > 1:
            self.args = (f"{self.args[0]} (+{len(self.rejections) - 1} more: "
                         f"{', '.join(self.codes[1:])})",)

    @property
    def codes(self) -> List[str]:
        return [r.code for r in self.rejections]


class OrderRejected(Rejections):
    """An order request was refused (:class:`Rejections`)."""


class QueryRejected(Rejections):
    """An order query was refused (:class:`Rejections`)."""


class OutOfRangeError(ValueError):
    """An integer argument is outside its WIT type's or the protocol's range."""

    def __init__(self, argument: str, value: int, minimum: int, maximum: int):
        self.argument, self.value, self.minimum, self.maximum = argument, value, minimum, maximum
        super().__init__(f"{argument} = {value} is out of range {minimum}..={maximum}")


def _check_int(name: str, value: Any, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if not lo <= value <= hi:
        raise OutOfRangeError(name, value, lo, hi)
    return value


def _check_str(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    return value


# --------------------------------------------------------------------------- data


class Chain(str, enum.Enum):
    """A chain by its wire name; members compare equal to ``"TRC20"`` etc."""

    TRC20 = "TRC20"
    ERC20 = "ERC20"
    OMNI = "OMNI"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def of(cls, value: Union["Chain", str]) -> "Chain":
        if isinstance(value, Chain):
            return value
        if isinstance(value, str):
            try:
                return cls(value)
            except ValueError:
                pass
        raise ValueError(f"unknown chain {value!r}: expected TRC20, ERC20 or OMNI")


@dataclass(frozen=True)
class OrderFields:
    """The signed fields of an order request (amount in scaled units)."""

    appid: str
    username: str
    localusermark: str
    address: str
    orderid: str
    amount: int


@dataclass(frozen=True)
class CallbackFields:
    """The signed fields of a callback (amount in scaled units, t in Unix seconds)."""

    orderid: str
    localusermark: str
    amount: int
    t: int


@dataclass(frozen=True)
class Callback:
    """A verified callback."""

    orderid: str
    localusermark: str
    amount: int  #: the amount actually received, scaled units
    t: int
    sign: str

    @property
    def fields(self) -> CallbackFields:
        return CallbackFields(self.orderid, self.localusermark, self.amount, self.t)


@dataclass(frozen=True)
class OrderRequest:
    """A parsed, validated order request whose sign is not yet checked (see verify_order)."""

    appid: str
    username: str
    localusermark: str
    address: str  #: as sent (and signed)
    orderid: str
    amount: int
    chain: Chain
    canonical_address: str
    notify_url: Optional[str]
    sign: str

    @property
    def fields(self) -> OrderFields:
        return OrderFields(self.appid, self.username, self.localusermark, self.address,
                           self.orderid, self.amount)


@dataclass(frozen=True)
class ChainAmount:
    scaled: int  #: whole scaled units, rounded down
    dust: int  #: remainder below 1/10000 USDT, in token base units


@dataclass(frozen=True)
class AddressInfo:
    chain: Chain
    canonical: str
    evm_hex: Optional[str]


@dataclass(frozen=True)
class XpubInfo:
    """An extended public key, parsed (2.2.0)."""

    depth: int  #: 0 for a master key, 3 for a BIP44 account key
    parent_fingerprint: int
    child_number: int
    fingerprint: int
    public_key: str  #: compressed, 66 lowercase hex digits


@dataclass(frozen=True)
class DerivedAddress:
    """The address ``…/0/index`` of an account key on a chain (2.2.0)."""

    chain: Chain
    index: int
    address: str
    public_key: str


@dataclass(frozen=True)
class OrderIdParts:
    prefix: str
    date: datetime.date
    random: str


@dataclass(frozen=True)
class ConfirmationRule:
    default_required: int
    large_amount: int
    large_required: int


@dataclass(frozen=True)
class ConfirmationPolicy:
    base: ConfirmationRule
    #: per-chain rules; a list of pairs so that a duplicate can be expressed (and refused)
    overrides: Tuple[Tuple[Chain, ConfirmationRule], ...] = ()


@dataclass(frozen=True)
class ProtocolFacts:
    """The protocol's fixed numbers, as the component states them."""

    callback_window: int  #: seconds a callback's ``t`` may differ from the receiver's clock
    max_retries: int  #: most retries of a callback after its first attempt
    scale: int  #: scaled units per USDT
    max_order_amount: int  #: the largest order amount, scaled units
    max_token_decimals: int  #: most decimals a token may have for the amount conversions


@dataclass(frozen=True)
class ChainFacts:
    chain: Chain
    name: str  #: the wire name, ``"TRC20"`` …
    usdt_decimals: int  #: USDT's decimals on this chain


@dataclass(frozen=True)
class OrderQuery:
    """A parsed order query (``TraderRechargeorderQuery``)."""

    appid: str
    orderid: str
    sign: str


@dataclass(frozen=True)
class AcceptedOrder:
    """An order whose sign is checked, and the confirmations its deposit needs."""

    order: OrderRequest
    required_confirmations: int


@dataclass(frozen=True)
class Merchant:
    """One merchant of a :class:`GatewayKeyring`; ``next_secret`` during a rotation."""

    appid: str
    secret: str
    next_secret: Optional[str] = None


# --------------------------------------------------------------------------- conversions

_CODE = {  # WIT error-code case -> stable code
    c: c.upper().replace("-", "_")
    for c in ("invalid-json", "missing-field", "invalid-field", "invalid-amount",
              "invalid-address", "unsupported-chain", "chain-mismatch", "invalid-notify-url",
              "invalid-sign", "sign-mismatch", "timestamp-out-of-window", "invalid-policy",
              "unknown-appid")
}
_CHAIN_TO_WIT = {Chain.TRC20: "trc20", Chain.ERC20: "erc20", Chain.OMNI: "omni"}
_CHAIN_FROM_WIT = {v: k for k, v in _CHAIN_TO_WIT.items()}


def _rec(**fields: Any) -> Any:
    """A value for a WIT record; field names may contain '-'."""
    return types.SimpleNamespace(**{k.replace("_", "-"): v for k, v in fields.items()})


def _rejection(r: Any) -> Rejection:
    return Rejection(_CODE.get(r.code, r.code.upper().replace("-", "_")), r.field, r.message)


def _get(r: Any, name: str) -> Any:
    return getattr(r, name)


def _fields_arg(kind: str, fields: Any, kwargs: Dict[str, Any], names: Tuple[str, ...]) -> Dict[str, Any]:
    if fields is None:
        data = dict(kwargs)
    elif kwargs:
        raise TypeError(f"give the {kind} fields either as a mapping or as keywords, not both")
    elif isinstance(fields, Mapping):
        data = dict(fields)
    elif hasattr(fields, "__dataclass_fields__"):
        data = {n: getattr(fields, n) for n in names if hasattr(fields, n)}
    else:
        raise TypeError(f"{kind} fields must be a mapping, a dataclass or keywords")
    missing = [n for n in names if n not in data]
    unknown = [k for k in data if k not in names]
    if missing or unknown:
        raise TypeError(f"{kind} fields: missing {missing}, unknown {unknown}; expected {list(names)}")
    return data


_ORDER_NAMES = ("appid", "username", "localusermark", "address", "orderid", "amount")
_CALLBACK_NAMES = ("orderid", "localusermark", "amount", "t")


def _order_rec(data: Mapping[str, Any]) -> Any:
    for n in _ORDER_NAMES[:-1]:
        _check_str(n, data[n])
    _check_int("amount", data["amount"], 1, MAX_ORDER_AMOUNT)
    return _rec(**{n: data[n] for n in _ORDER_NAMES})


def _callback_rec(data: Mapping[str, Any]) -> Any:
    _check_str("orderid", data["orderid"])
    _check_str("localusermark", data["localusermark"])
    _check_int("amount", data["amount"], 0, MAX_STORED_AMOUNT)
    _check_int("t", data["t"], 0, MAX_U64)
    return _rec(**{n: data[n] for n in _CALLBACK_NAMES})


def _rule_rec(rule: Any, where: str) -> Any:
    if isinstance(rule, Mapping):
        rule = ConfirmationRule(**rule)
    if not isinstance(rule, ConfirmationRule):
        raise TypeError(f"{where} must be a ConfirmationRule or a mapping")
    return _rec(
        default_required=_check_int(f"{where}.default_required", rule.default_required, 0, MAX_U32),
        large_amount=_check_int(f"{where}.large_amount", rule.large_amount, 0, MAX_STORED_AMOUNT),
        large_required=_check_int(f"{where}.large_required", rule.large_required, 0, MAX_U32),
    )


def _policy_rec(policy: Any) -> Any:
    if isinstance(policy, Mapping):
        policy = ConfirmationPolicy(policy["base"], tuple(policy.get("overrides", ())))
    if not isinstance(policy, ConfirmationPolicy):
        raise TypeError("policy must be a ConfirmationPolicy or a mapping")
    overrides = policy.overrides
    pairs: Iterable[Any] = overrides.items() if isinstance(overrides, Mapping) else overrides
    return _rec(
        base=_rule_rec(policy.base, "policy.base"),
        overrides=[(_CHAIN_TO_WIT[Chain.of(c)], _rule_rec(r, f"policy.overrides[{c}]"))
                   for c, r in pairs],
    )


def _date_arg(date: Any) -> Any:
    if isinstance(date, datetime.date):
        y, m, d = date.year, date.month, date.day
    else:
        y, m, d = date
    return _rec(year=_check_int("date.year", y, 0, MAX_U16),
                month=_check_int("date.month", m, 0, MAX_U8),
                day=_check_int("date.day", d, 0, MAX_U8))


# --------------------------------------------------------------------------- the component


def component_path() -> Path:
    """``$USDT_RECHARGE_COMPONENT``, else the component shipped in this package."""
    env = os.environ.get("USDT_RECHARGE_COMPONENT")
    if env:
        return Path(env)
    return Path(__file__).resolve().with_name(COMPONENT_FILE)


def _int_checker(ty: Any) -> Optional[Callable[[str, Any], None]]:
    """A function that range-checks every integer inside a value of WIT type ``ty``."""
    for cls, hi in ((U8, MAX_U8), (U16, MAX_U16), (U32, MAX_U32), (U64, MAX_U64)):
        if isinstance(ty, cls):
            def check_int(name: str, v: Any, hi: int = hi) -> None:
                _check_int(name, v, 0, hi)
            return check_int
    if isinstance(ty, RecordType):
        subs = [(n, c) for n, c in ((n, _int_checker(t)) for n, t in ty.fields) if c is not None]
        if not subs:
            return None

        def check_record(name: str, v: Any) -> None:
            for n, c in subs:
                c(f"{name}.{n}", getattr(v, n))
        return check_record
    if isinstance(ty, (ListType, TupleType)):
        elems = ty.elements if isinstance(ty, TupleType) else None
        elem = None if elems is not None else _int_checker(ty.element)
        tcs = [_int_checker(t) for t in elems] if elems is not None else []
        if elem is None and not any(tcs):
            return None

        def check_seq(name: str, v: Any) -> None:
            for i, e in enumerate(v):
                c = elem if elems is None else (tcs[i] if i < len(tcs) else None)
                if c is not None:
                    c(f"{name}[{i}]", e)
        return check_seq
    if isinstance(ty, OptionType):
        some = _int_checker(ty.payload)
        if some is None:
            return None

        def check_option(name: str, v: Any) -> None:
            if v is not None:
                some(name, v)
        return check_option
    return None


def _case_classes(ty: Any) -> set:
    """The Python classes wasmtime returns for a value of type ``ty`` (None: ``object``)."""
    classes: set = set()
    if ty is None:
        classes.add(object)
    else:
        ty.add_classes(classes)
    return classes


class _Fn:
    """One exported function: its signature (read once, for the integer checks) and how
    to read its ``result``. Calls go through wasmtime's public ``Func.__call__``."""

    def __init__(self, name: str, func: Any, store: Any):
        self.name = name
        self.func = func
        fty = func.type(store)
        params = fty.params
        self.arity = len(params)
        #: (position, name, checker) of every parameter that holds an integer
        self.checks = [(i, n, c) for i, (n, c) in enumerate((n, _int_checker(t)) for n, t in params)
                       if c is not None]
        result = fty.result
        self.err_classes: Optional[Tuple[type, ...]] = None
        self.tagged = False
        if isinstance(result, ResultType):
            ok, err = _case_classes(result.ok), _case_classes(result.err)
            # wasmtime-py lifts a result as a tagged Variant("ok"/"err", payload) when the
            # Python classes of its two cases (ValType.add_classes) overlap, else as the
            # bare payload; the vector suite exercises both kinds of answer.
            self.tagged = bool(ok & err)
            self.err_classes = tuple(err)

    def call(self, store: Any, args: Sequence[Any]) -> Any:
        if len(args) != self.arity:
            raise TypeError(f"{self.name} takes {self.arity} arguments, got {len(args)}")
        for i, n, check in self.checks:
            check(n, args[i])
        return self.func(store, *args)

    def split(self, value: Any) -> Tuple[bool, Any]:
        """(is_ok, payload) of a ``result`` value."""
        if self.tagged:
            return value.tag == "ok", value.payload
        assert self.err_classes is not None
        if self.err_classes and isinstance(value, self.err_classes):
            return False, value
        return True, value


class Recharge:
    """The component, compiled once and instantiated once; every method is thread-safe.

    Most code uses the module-level functions, which share one ``Recharge``
    (:func:`default`). ``path`` defaults to :func:`component_path`.
    """

    def __init__(self, path: Union[str, os.PathLike, None] = None):
        self.path = Path(path) if path is not None else component_path()
        if not self.path.is_file():
            raise FileNotFoundError(f"{self.path}: the usdt:recharge component is missing")
        self._lock = threading.RLock()
        self._facts: Optional[ProtocolFacts] = None
        self._engine = wasmtime.Engine()
        self._component = Component.from_file(self._engine, str(self.path))
        imports = self._component.type.imports(self._engine)
        if imports:
            raise RuntimeError(f"{self.path} imports {sorted(imports)}; usdt:recharge imports nothing")
        self._instantiate()

    def _instantiate(self) -> None:
        self._store = wasmtime.Store(self._engine)
        self._instance = Linker(self._engine).instantiate(self._store, self._component)
        self._fns: Dict[Tuple[str, str], _Fn] = {}
        #: bumped on every (re-)instantiation; resources of an older instance are void
        self.generation = getattr(self, "generation", 0) + 1
        self._pending_drops: List[Tuple[int, Any]] = []

    def _drop_pending(self) -> None:
        """Drop resources released by finalizers (never dropped from inside __del__)."""
        while self._pending_drops:
            generation, handle = self._pending_drops.pop()
            if generation == self.generation:
                handle.drop(self._store)

    def _fn(self, interface: str, name: str) -> _Fn:
        key = (interface, name)
        fn = self._fns.get(key)
        if fn is None:
            iface = self._component.get_export_index(f"{PACKAGE}/{interface}@{VERSION}")
            idx = self._component.get_export_index(name, iface) if iface is not None else None
            func = self._instance.get_func(self._store, idx) if idx is not None else None
            if func is None:
                raise LookupError(f"the component exports no {PACKAGE}/{interface}@{VERSION}#{name}")
            fn = self._fns[key] = _Fn(f"{interface}#{name}", func, self._store)
        return fn

    def call(self, interface: str, name: str, *args: Any) -> Any:
        """Call ``usdt:recharge/<interface>@2.2.0#<name>`` with raw wasmtime values.

        Integers are checked against their WIT types only (no protocol ranges); records
        are objects with the WIT field names as attributes. Results come back as wasmtime
        values (``Record``, ``Variant``, …). A trap discards the instance (the next call
        gets a fresh one) and raises ``wasmtime.WasmtimeError``.
        """
        with self._lock:
            fn = self._fn(interface, name)
            try:
                if self._pending_drops:
                    self._drop_pending()
                return fn.call(self._store, args)
            except (wasmtime.WasmtimeError, wasmtime.Trap):
                self._instantiate()
                raise

    def call_result(self, interface: str, name: str, *args: Any) -> Tuple[bool, Any]:
        """:meth:`call` for a function returning ``result``: ``(is_ok, payload)``."""
        with self._lock:
            value = self.call(interface, name, *args)
            return self._fn(interface, name).split(value)

    def _ok(self, interface: str, name: str, *args: Any) -> Any:
        ok, payload = self.call_result(interface, name, *args)
        if not ok:
            raise RechargeError._from(_rejection(payload))
        return payload

    # ---- amounts

    def parse_amount(self, text: str) -> int:
        """Decimal USDT text (``"100.5"``) -> scaled units (``1005000``). At most 4 decimals."""
        return self._ok("amounts", "parse-usdt", _check_str("text", text))

    def format_amount(self, amount: int) -> str:
        """Scaled units -> USDT text with 4 decimals (``1000000`` -> ``"100.0000"``)."""
        return self.call("amounts", "format-usdt", _check_int("amount", amount, 0, MAX_STORED_AMOUNT))

    def from_chain_units(self, value: str, decimals: int) -> ChainAmount:
        """An on-chain value (decimal or 0x hex text) with the token's decimals -> scaled + dust."""
        r = self._ok("amounts", "from-chain-units", _check_str("value", value),
                     _check_int("decimals", decimals, 0, MAX_U8))
        return ChainAmount(r.scaled, r.dust)

    # ---- signing

    def sign_order(self, fields: Any = None, secret: Optional[str] = None, **kw: Any) -> str:
        """``md5(appid|username|localusermark|address|orderid|amount|secret)``."""
        data = _fields_arg("order", fields, kw, _ORDER_NAMES)
        return self.call("signing", "order-sign", _order_rec(data), _check_str("secret", secret))

    def verify_order_sign(self, fields: Any, secret: str, sign: str) -> None:
        """Raises RechargeError (``INVALID_SIGN`` / ``SIGN_MISMATCH``) unless ``sign`` matches."""
        data = _fields_arg("order", fields, {}, _ORDER_NAMES)
        self._ok("signing", "verify-order-sign", _order_rec(data), _check_str("secret", secret),
                 _check_str("sign", sign))

    def callback_sign(self, fields: Any = None, secret: Optional[str] = None, **kw: Any) -> str:
        """``md5(orderid|localusermark|amount|t|secret)``."""
        data = _fields_arg("callback", fields, kw, _CALLBACK_NAMES)
        return self.call("signing", "callback-sign", _callback_rec(data), _check_str("secret", secret))

    def verify_callback_sign(self, fields: Any, secret: str, sign: str) -> None:
        data = _fields_arg("callback", fields, {}, _CALLBACK_NAMES)
        self._ok("signing", "verify-callback-sign", _callback_rec(data), _check_str("secret", secret),
                 _check_str("sign", sign))

    def build_callback_body(self, fields: Any = None, secret: Optional[str] = None, **kw: Any) -> str:
        """The exact JSON body the gateway POSTs to the merchant, signed with ``secret``."""
        data = _fields_arg("callback", fields, kw, _CALLBACK_NAMES)
        return self._ok("signing", "build-callback-body", _callback_rec(data), _check_str("secret", secret))

    def query_sign(self, appid: str, orderid: str, secret: str) -> str:
        """``md5(appid|orderid|secret)``."""
        return self.call("signing", "query-sign", _check_str("appid", appid),
                         _check_str("orderid", orderid), _check_str("secret", secret))

    def verify_query_sign(self, appid: str, orderid: str, secret: str, sign: str) -> None:
        self._ok("signing", "verify-query-sign", _check_str("appid", appid),
                 _check_str("orderid", orderid), _check_str("secret", secret), _check_str("sign", sign))

    # ---- orders

    def parse_order(self, body: Union[str, bytes]) -> OrderRequest:
        """Validate an order request body; raises OrderRejected with every rejection."""
        text = _body_text(body, OrderRejected)
        return _order_request(*self.call_result("orders", "parse-order", text))

    def verify_order(self, order: OrderRequest, secret: str) -> None:
        """Check a parsed order's sign with the merchant's secret; raises ``SIGN_MISMATCH``."""
        if not isinstance(order, OrderRequest):
            raise TypeError("order must be an OrderRequest from parse_order")
        rec = _rec(fields=_order_rec(order.fields.__dict__), chain=_CHAIN_TO_WIT[Chain.of(order.chain)],
                   canonical_address=_check_str("canonical_address", order.canonical_address),
                   notify_url=order.notify_url, sign=_check_str("sign", order.sign))
        self._ok("orders", "verify-order", rec, _check_str("secret", secret))

    def keyring(self, merchants: Any) -> "MerchantKeyring":
        """A :class:`MerchantKeyring` of this instance."""
        return MerchantKeyring(merchants, recharge=self)

    def make_orderid(self, prefix: str, date: Any, entropy: int) -> str:
        """``{prefix}-{yyyymmdd}-{6 of [a-z0-9]}``; ``entropy`` is the caller's randomness."""
        return self._ok("orders", "make-orderid", _check_str("prefix", prefix), _date_arg(date),
                        _check_int("entropy", entropy, 0, MAX_U64))

    def check_orderid(self, orderid: str) -> OrderIdParts:
        r = self._ok("orders", "check-orderid", _check_str("orderid", orderid))
        return OrderIdParts(r.prefix, datetime.date(r.date.year, r.date.month, r.date.day), r.random)

    # ---- callbacks

    def verify_callback(self, body: Union[str, bytes], secret: str, now: Optional[int] = None,
                        window: Optional[int] = None) -> Callback:
        """Parse and verify a callback body; raises RechargeError with the stable code.

        ``now`` defaults to ``int(time.time())``; ``|now - t|`` may be at most ``window``,
        by default the protocol's (``facts().callback_window``, 300 s).
        """
        text = _body_text(body, RechargeError)
        if now is None:
            now = int(time.time())
        if window is None:
            window = self.facts().callback_window
        r = self._ok("callbacks", "verify-callback", text, _check_str("secret", secret),
                     _check_int("now", now, 0, MAX_U64), _check_int("window", window, 0, MAX_U32))
        f = r.fields
        return Callback(f.orderid, f.localusermark, f.amount, f.t, r.sign)

    # ---- addresses

    def _address(self, r: Any) -> AddressInfo:
        return AddressInfo(_CHAIN_FROM_WIT[r.chain], r.canonical, _get(r, "evm-hex"))

    def inspect_address(self, address: str) -> AddressInfo:
        """Detect and fully validate an address; raises ``INVALID_ADDRESS``."""
        return self._address(self._ok("addresses", "inspect-address", _check_str("address", address)))

    def validate_address(self, address: str, chain: Union[Chain, str]) -> AddressInfo:
        return self._address(self._ok("addresses", "validate-address", _check_str("address", address),
                                      _CHAIN_TO_WIT[Chain.of(chain)]))

    def tron_from_hex(self, hex: str) -> str:
        return self._ok("addresses", "tron-from-hex", _check_str("hex", hex))

    def eip55_checksum(self, address: str) -> str:
        return self._ok("addresses", "eip55-checksum", _check_str("address", address))

    # ---- confirmations

    def validate_policy(self, policy: Any) -> None:
        self._ok("confirmations", "validate-policy", _policy_rec(policy))

    def required_confirmations(self, chain: Union[Chain, str], amount: int, policy: Any) -> int:
        return self.call("confirmations", "required-confirmations", _CHAIN_TO_WIT[Chain.of(chain)],
                         _check_int("amount", amount, 0, MAX_STORED_AMOUNT), _policy_rec(policy))

    def count_confirmations(self, head: int, block: int) -> int:
        return self.call("confirmations", "count-confirmations", _check_int("head", head, 0, MAX_U64),
                         _check_int("block", block, 0, MAX_U64))

    def deposit_state(self, confirmations: int, required: int) -> str:
        """``"pending"``, ``"confirming"`` or ``"confirmed"``."""
        return self.call("confirmations", "deposit-state-of",
                         _check_int("confirmations", confirmations, 0, MAX_U64),
                         _check_int("required", required, 0, MAX_U32))

    # ---- protocol (2.1.0)

    def facts(self) -> ProtocolFacts:
        """The protocol's fixed numbers (the callback window, …), read once."""
        with self._lock:
            if self._facts is None:
                r = self.call("protocol", "facts")
                self._facts = ProtocolFacts(_get(r, "callback-window"), _get(r, "max-retries"), r.scale,
                                            _get(r, "max-order-amount"), _get(r, "max-token-decimals"))
            return self._facts

    def chains(self) -> List[ChainFacts]:
        """Every chain, in the order TRC20, ERC20, OMNI."""
        return [ChainFacts(_CHAIN_FROM_WIT[c.chain], c.name, _get(c, "usdt-decimals"))
                for c in self.call("protocol", "chains")]

    def parse_chain(self, name: str) -> Chain:
        """The chain of a wire name (exact: ``"TRC20"``); raises ``UNSUPPORTED_CHAIN``."""
        return _CHAIN_FROM_WIT[self._ok("protocol", "parse-chain", _check_str("name", name))]

    def validate_notify_url(self, url: str) -> None:
        """The protocol's ``notify_url`` rule; raises ``INVALID_NOTIFY_URL``."""
        self._ok("protocol", "validate-notify-url", _check_str("url", url))

    def validate_token_decimals(self, decimals: int) -> None:
        """A token's decimals for the amount conversions; raises ``INVALID_FIELD``."""
        self._ok("protocol", "validate-token-decimals", _check_int("decimals", decimals, 0, MAX_U8))

    def to_chain_units(self, amount: int, decimals: int) -> str:
        """Scaled units -> the token's base units as decimal text (reverse of from_chain_units)."""
        return self._ok("protocol", "to-chain-units", _check_int("amount", amount, 0, MAX_STORED_AMOUNT),
                        _check_int("decimals", decimals, 0, MAX_U8))

    # ---- gateway (2.1.0)

    def parse_query(self, body: Union[str, bytes]) -> OrderQuery:
        """Parse an order query body; raises QueryRejected with every rejection."""
        text = _body_text(body, QueryRejected)
        return _order_query(*self.call_result("gateway", "parse-query", text))

    def gateway_keyring(self, merchants: Any, policy: Any) -> "GatewayKeyring":
        """A :class:`GatewayKeyring` of this instance."""
        return GatewayKeyring(merchants, policy, recharge=self)

    # ---- derivation (2.2.0)

    def _derived(self, name: str, *args: Any) -> Any:
        ok, payload = self.call_result("derivation", name, *args)
        if not ok:
            raise _derivation_error(payload)
        return payload

    def parse_xpub(self, xpub: str) -> XpubInfo:
        """An account's extended public key; raises ``INVALID_XPUB`` or ``PRIVATE_KEY_REFUSED``."""
        r = self._derived("parse-xpub", _check_str("xpub", xpub))
        return XpubInfo(r.depth, _get(r, "parent-fingerprint"), _get(r, "child-number"), r.fingerprint,
                        _get(r, "public-key"))

    def derive_xpub(self, xpub: str, index: int) -> str:
        """The child xpub at a non-hardened ``index`` (one BIP32 public step)."""
        return self._derived("derive-xpub", _check_str("xpub", xpub), _check_int("index", index, 0, MAX_U32))

    def derive_address(self, xpub: str, chain: Union[Chain, str], index: int) -> DerivedAddress:
        """The deposit address ``…/0/index`` of the account key ``xpub`` on ``chain``: what a
        merchant runs to check that an address the gateway answered is its own."""
        r = self._derived("derive-address", _check_str("xpub", xpub), _CHAIN_TO_WIT[Chain.of(chain)],
                          _check_int("index", index, 0, MAX_U32))
        return DerivedAddress(_CHAIN_FROM_WIT[r.chain], r.index, r.address, _get(r, "public-key"))

    def address_sign(self, appid: str, username: str, chain: Union[Chain, str], secret: str) -> str:
        """``md5(appid|username|chain|secret)``: the gateway's address request."""
        return self.call("derivation", "address-sign", _check_str("appid", appid),
                         _check_str("username", username), _CHAIN_TO_WIT[Chain.of(chain)],
                         _check_str("secret", secret))


def _derivation_error(r: Any) -> RechargeError:
    """A ``derivation-error`` (no field) as RechargeError: ``INVALID_XPUB``, ``PRIVATE_KEY_REFUSED``, …"""
    return RechargeError(r.code.upper().replace("-", "_"), None, r.message)


def _order_query(ok: bool, r: Any) -> OrderQuery:
    if not ok:
        raise QueryRejected([_rejection(x) for x in r])
    return OrderQuery(r.appid, r.orderid, r.sign)


def _order_request(ok: bool, r: Any) -> OrderRequest:
    if not ok:
        raise OrderRejected([_rejection(x) for x in r])
    f = r.fields
    return OrderRequest(f.appid, f.username, f.localusermark, f.address, f.orderid, f.amount,
                        _CHAIN_FROM_WIT[r.chain], _get(r, "canonical-address"),
                        _get(r, "notify-url"), r.sign)


class _Held:
    """A resource held inside the component, rebuilt in a new instance after a trap.

    Use :meth:`close` (or ``with``) to drop it early; otherwise it is dropped after it is
    garbage-collected.
    """

    _INTERFACE = ""
    _CONSTRUCTOR = ""

    def __init__(self, recharge: Optional["Recharge"]):
        self._rc = recharge or default()
        self._handle: Any = None
        self._generation = 0
        self._closed = False

    def _args(self) -> Tuple[Any, ...]:
        raise NotImplementedError

    def _live_handle(self) -> Any:
        # Called with the Recharge lock held.
        if self._closed:
            raise ValueError(f"the {type(self).__name__} is closed")
        if self._handle is None or self._generation != self._rc.generation:
            self._handle = self._rc.call(self._INTERFACE, self._CONSTRUCTOR, *self._args())
            self._generation = self._rc.generation
        return self._handle

    def _method(self, name: str, text: str) -> Tuple[bool, Any]:
        with self._rc._lock:
            handle = self._live_handle()
            return self._rc.call_result(self._INTERFACE, name, handle, text)

    def close(self) -> None:
        with self._rc._lock:
            if self._handle is not None and self._generation == self._rc.generation:
                self._handle.drop(self._rc._store)
            self._handle, self._closed = None, True

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        handle = getattr(self, "_handle", None)
        if handle is not None:  # dropped by the next call, under the lock
            self._rc._pending_drops.append((self._generation, handle))


class MerchantKeyring(_Held):
    """The merchants' secrets held inside the component (the WIT resource
    ``orders.merchant-keyring``): :meth:`check_order` parses an order body, finds the
    merchant of its ``appid`` and verifies the sign in one component call.

    ``merchants`` is a mapping ``{appid: secret}`` or pairs; a later duplicate appid
    replaces an earlier one. Use :meth:`close` (or ``with``) to drop it early; otherwise it
    is dropped after it is garbage-collected. If the instance is replaced after a trap,
    the keyring is rebuilt in the new one on its next use.
    """

    _INTERFACE = "orders"
    _CONSTRUCTOR = "[constructor]merchant-keyring"

    def __init__(self, merchants: Any, recharge: Optional["Recharge"] = None):
        super().__init__(recharge)
        pairs = merchants.items() if isinstance(merchants, Mapping) else merchants
        self._merchants = [(_check_str("appid", a), _check_str("secret", s)) for a, s in pairs]

    def _args(self) -> Tuple[Any, ...]:
        return ([_rec(appid=a, secret=s) for a, s in self._merchants],)

    def check_order(self, body: Union[str, bytes]) -> OrderRequest:
        """Parse, attribute and verify an order body; raises :class:`OrderRejected`
        (field rejections, or ``UNKNOWN_APPID`` / ``SIGN_MISMATCH`` for a valid body)."""
        text = _body_text(body, OrderRejected)
        return _order_request(*self._method("[method]merchant-keyring.check-order", text))

    def __len__(self) -> int:
        return len({a for a, _ in self._merchants})

    def __repr__(self) -> str:
        return f"<MerchantKeyring of {len(self)} merchants>"


class GatewayKeyring(_Held):
    """What a gateway holds inside the component (the WIT resource ``gateway.keyring``,
    since 2.1.0): the merchants and the confirmation policy, so that accepting an order
    (:meth:`accept_order`) and checking a query (:meth:`check_query`) are one call each.

    ``merchants``: :class:`Merchant` values, mappings with ``appid``, ``secret`` and an
    optional ``next_secret``, or a mapping ``{appid: secret}``; a later duplicate appid
    replaces an earlier one. ``policy``: as for :func:`validate_policy`.
    """

    _INTERFACE = "gateway"
    _CONSTRUCTOR = "[constructor]keyring"

    def __init__(self, merchants: Any, policy: Any, recharge: Optional["Recharge"] = None):
        super().__init__(recharge)
        if isinstance(merchants, Mapping):
            merchants = [Merchant(a, s) for a, s in merchants.items()]
        self._merchants = [m if isinstance(m, Merchant) else Merchant(**m) for m in merchants]
        for m in self._merchants:
            _check_str("appid", m.appid)
            _check_str("secret", m.secret)
            if m.next_secret is not None:
                _check_str("next_secret", m.next_secret)
        self._policy = _policy_rec(policy)

    def _args(self) -> Tuple[Any, ...]:
        return ([_rec(appid=m.appid, secret=m.secret, next_secret=m.next_secret) for m in self._merchants],
                self._policy)

    def accept_order(self, body: Union[str, bytes]) -> AcceptedOrder:
        """Parse an order body, check its sign with its merchant's secret (or next secret)
        and compute its required confirmations; raises :class:`OrderRejected`."""
        text = _body_text(body, OrderRejected)
        ok, r = self._method("[method]keyring.accept-order", text)
        if not ok:
            raise OrderRejected([_rejection(x) for x in r])
        return AcceptedOrder(_order_request(True, r.order), _get(r, "required-confirmations"))

    def check_query(self, body: Union[str, bytes]) -> OrderQuery:
        """Parse an order query body and check its sign; raises :class:`QueryRejected`."""
        text = _body_text(body, QueryRejected)
        return _order_query(*self._method("[method]keyring.check-query", text))

    def __len__(self) -> int:
        return len({m.appid for m in self._merchants})

    def __repr__(self) -> str:
        return f"<GatewayKeyring of {len(self)} merchants>"


def _body_text(body: Union[str, bytes, bytearray], error: type) -> str:
    if isinstance(body, (bytes, bytearray, memoryview)):
        try:
            return bytes(body).decode("utf-8")
        except UnicodeDecodeError as e:
            rej = Rejection("INVALID_JSON", None, f"the body is not UTF-8 ({e.reason})")
            raise (error([rej]) if issubclass(error, Rejections) else RechargeError._from(rej)) from None
    return _check_str("body", body)


# --------------------------------------------------------------------------- module API

_DEFAULT: Optional[Recharge] = None
_DEFAULT_LOCK = threading.Lock()


def default() -> Recharge:
    """The process-wide :class:`Recharge`, compiled on first use."""
    global _DEFAULT
    if _DEFAULT is None:
        with _DEFAULT_LOCK:
            if _DEFAULT is None:
                _DEFAULT = Recharge()
    return _DEFAULT


def parse_amount(text: str) -> int:
    return default().parse_amount(text)


def format_amount(amount: int) -> str:
    return default().format_amount(amount)


def from_chain_units(value: str, decimals: int) -> ChainAmount:
    return default().from_chain_units(value, decimals)


def sign_order(fields: Any = None, secret: Optional[str] = None, **kw: Any) -> str:
    """Order sign from a mapping/``OrderFields`` or keywords, e.g. ``sign_order(d, secret)``."""
    return default().sign_order(fields, secret, **kw)


def verify_order_sign(fields: Any, secret: str, sign: str) -> None:
    default().verify_order_sign(fields, secret, sign)


def callback_sign(fields: Any = None, secret: Optional[str] = None, **kw: Any) -> str:
    return default().callback_sign(fields, secret, **kw)


def verify_callback_sign(fields: Any, secret: str, sign: str) -> None:
    default().verify_callback_sign(fields, secret, sign)


def build_callback_body(fields: Any = None, secret: Optional[str] = None, **kw: Any) -> str:
    return default().build_callback_body(fields, secret, **kw)


def query_sign(appid: str, orderid: str, secret: str) -> str:
    return default().query_sign(appid, orderid, secret)


def verify_query_sign(appid: str, orderid: str, secret: str, sign: str) -> None:
    default().verify_query_sign(appid, orderid, secret, sign)


def parse_order(body: Union[str, bytes]) -> OrderRequest:
    return default().parse_order(body)


def verify_order(order: OrderRequest, secret: str) -> None:
    default().verify_order(order, secret)


def keyring(merchants: Any) -> MerchantKeyring:
    """A :class:`MerchantKeyring` (``{appid: secret}``) in the shared instance."""
    return MerchantKeyring(merchants)


def make_orderid(prefix: str, date: Any, entropy: int) -> str:
    return default().make_orderid(prefix, date, entropy)


def check_orderid(orderid: str) -> OrderIdParts:
    return default().check_orderid(orderid)


def verify_callback(body: Union[str, bytes], secret: str, now: Optional[int] = None,
                    window: Optional[int] = None) -> Callback:
    return default().verify_callback(body, secret, now, window)


def inspect_address(address: str) -> AddressInfo:
    return default().inspect_address(address)


def parse_xpub(xpub: str) -> XpubInfo:
    return default().parse_xpub(xpub)


def derive_xpub(xpub: str, index: int) -> str:
    return default().derive_xpub(xpub, index)


def derive_address(xpub: str, chain: Union[Chain, str], index: int) -> DerivedAddress:
    return default().derive_address(xpub, chain, index)


def address_sign(appid: str, username: str, chain: Union[Chain, str], secret: str) -> str:
    return default().address_sign(appid, username, chain, secret)


def validate_address(address: str, chain: Union[Chain, str]) -> AddressInfo:
    return default().validate_address(address, chain)


def tron_from_hex(hex: str) -> str:
    return default().tron_from_hex(hex)


def eip55_checksum(address: str) -> str:
    return default().eip55_checksum(address)


def validate_policy(policy: Any) -> None:
    default().validate_policy(policy)


def required_confirmations(chain: Union[Chain, str], amount: int, policy: Any) -> int:
    return default().required_confirmations(chain, amount, policy)


def count_confirmations(head: int, block: int) -> int:
    return default().count_confirmations(head, block)


def deposit_state(confirmations: int, required: int) -> str:
    return default().deposit_state(confirmations, required)


def facts() -> ProtocolFacts:
    """The protocol's fixed numbers: ``facts().callback_window`` is 300."""
    return default().facts()


def chains() -> List[ChainFacts]:
    return default().chains()


def parse_chain(name: str) -> Chain:
    return default().parse_chain(name)


def validate_notify_url(url: str) -> None:
    default().validate_notify_url(url)


def validate_token_decimals(decimals: int) -> None:
    default().validate_token_decimals(decimals)


def to_chain_units(amount: int, decimals: int) -> str:
    return default().to_chain_units(amount, decimals)


def parse_query(body: Union[str, bytes]) -> OrderQuery:
    return default().parse_query(body)


def gateway_keyring(merchants: Any, policy: Any) -> GatewayKeyring:
    """A :class:`GatewayKeyring` in the shared instance."""
    return GatewayKeyring(merchants, policy)

"""Every shared vector (tests/vectors/*.json, semantics of FORMAT.md) through the component
via ``usdt_recharge``; the answers must agree with the vectors.

Like the Rust conformance runner (tests/tests/vectors.rs), each file section is one check
loop that collects every disagreement. The Pythonic API is used for every case inside the
protocol's ranges; a case outside them (e.g. an order sign over amount 0 or 2^64-1) must
make the Pythonic API raise OutOfRangeError, and is then answered by the component
through the raw call (WIT-type checks only), which must still agree with the vector.
"""

from __future__ import annotations

import json
import os
import types
import unittest
from pathlib import Path
from typing import Any, Callable, Dict, List

import usdt_recharge as ur

VECTORS = Path(os.environ.get("USDT_RECHARGE_VECTORS",
                              Path(__file__).resolve().parents[3] / "tests" / "vectors"))


def load(name: str) -> Dict[str, Any]:
    return json.loads((VECTORS / f"{name}.json").read_text(encoding="utf-8"))


def rec(**kw: Any) -> Any:
    return types.SimpleNamespace(**{k.replace("_", "-"): v for k, v in kw.items()})


def code_of(r: Any) -> str:
    return r.code.upper().replace("-", "_")


WIT_CHAIN = {"TRC20": "trc20", "ERC20": "erc20", "OMNI": "omni"}


class Adapter:
    """Every operation, answering in the vectors' shape (as tests/src/lib.rs's Protocol)."""

    def __init__(self, rc: ur.Recharge):
        self.rc = rc
        self.raw_cases = 0
        self.keyrings: Dict[Any, ur.MerchantKeyring] = {}

    def _strict_or_raw(self, strict: Callable[[], Any], raw: Callable[[], Any]) -> Any:
        """The Pythonic answer; when it refuses the range, the component's raw answer."""
        try:
            return strict()
        except ur.OutOfRangeError as e:
            # Only the protocol's amount ranges may refuse a vector's (valid u64) value.
            assert e.argument.endswith("amount") and e.maximum in (
                ur.MAX_ORDER_AMOUNT, ur.MAX_STORED_AMOUNT), e
            self.raw_cases += 1
            return raw()

    def _raw_verdict(self, iface: str, fn: str, *args: Any) -> str:
        ok, payload = self.rc.call_result(iface, fn, *args)
        return "OK" if ok else code_of(payload)

    @staticmethod
    def _verdict(f: Callable[[], Any]) -> str:
        try:
            f()
            return "OK"
        except ur.RechargeError as e:
            return e.code

    # amounts
    def parse_usdt(self, text: str) -> Any:
        try:
            return {"scaled": self.rc.parse_amount(text)}
        except ur.RechargeError as e:
            return {"error": e.code}

    def format_usdt(self, scaled: int) -> Any:
        return self._strict_or_raw(lambda: self.rc.format_amount(scaled),
                                   lambda: self.rc.call("amounts", "format-usdt", scaled))

    def from_chain_units(self, value: str, decimals: int) -> Any:
        try:
            a = self.rc.from_chain_units(value, decimals)
            return {"scaled": a.scaled, "dust": a.dust}
        except ur.RechargeError as e:
            return {"error": e.code}

    # signing
    def order_sign(self, f: Dict[str, Any], secret: str) -> Any:
        return self._strict_or_raw(lambda: self.rc.sign_order(f, secret),
                                   lambda: self.rc.call("signing", "order-sign", rec(**f), secret))

    def verify_order_sign(self, f: Dict[str, Any], secret: str, sign: str) -> Any:
        return self._strict_or_raw(
            lambda: self._verdict(lambda: self.rc.verify_order_sign(f, secret, sign)),
            lambda: self._raw_verdict("signing", "verify-order-sign", rec(**f), secret, sign))

    def callback_sign(self, f: Dict[str, Any], secret: str) -> Any:
        return self._strict_or_raw(lambda: self.rc.callback_sign(f, secret),
                                   lambda: self.rc.call("signing", "callback-sign", rec(**f), secret))

    def verify_callback_sign(self, f: Dict[str, Any], secret: str, sign: str) -> Any:
        return self._strict_or_raw(
            lambda: self._verdict(lambda: self.rc.verify_callback_sign(f, secret, sign)),
            lambda: self._raw_verdict("signing", "verify-callback-sign", rec(**f), secret, sign))

    def build_callback_body(self, f: Dict[str, Any], secret: str) -> Any:
        def strict() -> Any:
            try:
                return self.rc.build_callback_body(f, secret)
            except ur.RechargeError as e:
                return {"error": e.code}

        def raw() -> Any:
            ok, p = self.rc.call_result("signing", "build-callback-body", rec(**f), secret)
            return p if ok else {"error": code_of(p)}
        return self._strict_or_raw(strict, raw)

    def query_sign(self, appid: str, orderid: str, secret: str) -> Any:
        return self.rc.query_sign(appid, orderid, secret)

    def verify_query_sign(self, appid: str, orderid: str, secret: str, sign: str) -> Any:
        return self._verdict(lambda: self.rc.verify_query_sign(appid, orderid, secret, sign))

    # orders
    def parse_order(self, body: str, secrets: Dict[str, str]) -> Any:
        try:
            o = self.rc.parse_order(body)
        except ur.OrderRejected as e:
            return {"reject": e.codes}
        secret = secrets.get(o.appid)
        verify = None if secret is None else self._verdict(lambda: self.rc.verify_order(o, secret))
        return {"accept": self._accept(o), "verify": verify}

    @staticmethod
    def _accept(o: ur.OrderRequest) -> Dict[str, Any]:
        return {"appid": o.appid, "username": o.username, "localusermark": o.localusermark,
                "address": o.address, "orderid": o.orderid, "amount": o.amount,
                "chain": o.chain.value, "canonical_address": o.canonical_address,
                "notify_url": o.notify_url, "sign": o.sign}

    def check_order(self, body: str, keys: List[Any]) -> Any:
        """Parse, find the merchant among ``keys`` and verify, in one call (the keyring)."""
        key = tuple(map(tuple, keys))
        if key not in self.keyrings:
            self.keyrings[key] = self.rc.keyring(keys)
        try:
            o = self.keyrings[key].check_order(body)
        except ur.OrderRejected as e:
            return {"reject": e.codes}
        return {"accept": self._accept(o)}

    # callbacks
    def verify_callback(self, body: str, secret: str, now: int, window: int) -> Any:
        try:
            c = self.rc.verify_callback(body, secret, now=now, window=window)
        except ur.RechargeError as e:
            return {"reject": e.code}
        return {"accept": {"orderid": c.orderid, "localusermark": c.localusermark,
                           "amount": c.amount, "t": c.t, "sign": c.sign}}

    # addresses
    def inspect_address(self, address: str) -> Any:
        try:
            a = self.rc.inspect_address(address)
        except ur.RechargeError as e:
            return {"error": e.code}
        return {"chain": a.chain.value, "canonical": a.canonical, "evm_hex": a.evm_hex}

    def validate_address(self, address: str, chain: str) -> Any:
        try:
            self.rc.validate_address(address, chain)
            return True
        except ur.RechargeError:
            return False

    def tron_from_hex(self, hex: str) -> Any:
        try:
            return {"base58": self.rc.tron_from_hex(hex)}
        except ur.RechargeError as e:
            return {"error": e.code}

    # derivation (2.2.0)
    def parse_xpub(self, xpub: str) -> Any:
        try:
            i = self.rc.parse_xpub(xpub)
        except ur.RechargeError as e:
            return {"error": e.code}
        return {"depth": i.depth, "parent_fingerprint": i.parent_fingerprint, "child_number": i.child_number,
                "fingerprint": i.fingerprint, "public_key": i.public_key}

    def derive_xpub(self, xpub: str, index: int) -> Any:
        try:
            return {"child": self.rc.derive_xpub(xpub, index)}
        except ur.RechargeError as e:
            return {"error": e.code}

    def derive_address(self, xpub: str, chain: str, index: int) -> Any:
        try:
            a = self.rc.derive_address(xpub, chain, index)
        except ur.RechargeError as e:
            return {"error": e.code}
        return {"chain": a.chain.value, "index": a.index, "address": a.address, "public_key": a.public_key}

    def eip55_checksum(self, address: str) -> Any:
        try:
            return self.rc.eip55_checksum(address)
        except ur.RechargeError as e:
            return {"error": e.code}

    # order ids
    def make_orderid(self, prefix: str, date: List[int], entropy: int) -> Any:
        try:
            return {"orderid": self.rc.make_orderid(prefix, tuple(date), entropy)}
        except ur.RechargeError as e:
            return {"error": e.code}

    def check_orderid(self, orderid: str) -> Any:
        try:
            p = self.rc.check_orderid(orderid)
        except ur.RechargeError as e:
            return {"error": e.code}
        return {"prefix": p.prefix, "date": [p.date.year, p.date.month, p.date.day],
                "random": p.random}

    # confirmations
    @staticmethod
    def _raw_policy(policy: Dict[str, Any]) -> Any:
        return rec(base=rec(**policy["base"]),
                   overrides=[(WIT_CHAIN[c], rec(**r)) for c, r in policy["overrides"]])

    def validate_policy(self, policy: Dict[str, Any]) -> Any:
        def strict() -> Any:
            try:
                self.rc.validate_policy(policy)
                return {"ok": True}
            except ur.RechargeError as e:
                return {"error": e.code}

        def raw() -> Any:
            ok, p = self.rc.call_result("confirmations", "validate-policy", self._raw_policy(policy))
            return {"ok": True} if ok else {"error": code_of(p)}
        return self._strict_or_raw(strict, raw)

    def required_confirmations(self, chain: str, amount: int, policy: Dict[str, Any]) -> Any:
        return self._strict_or_raw(
            lambda: self.rc.required_confirmations(chain, amount, policy),
            lambda: self.rc.call("confirmations", "required-confirmations", WIT_CHAIN[chain],
                                 amount, self._raw_policy(policy)))

    def count_confirmations(self, head: int, block: int) -> Any:
        return self.rc.count_confirmations(head, block)

    def deposit_state(self, confirmations: int, required: int) -> Any:
        return self.rc.deposit_state(confirmations, required)

    # protocol (2.1.0)
    def facts(self) -> Any:
        f = self.rc.facts()
        return {"callback_window": f.callback_window, "max_retries": f.max_retries, "scale": f.scale,
                "max_order_amount": f.max_order_amount, "max_token_decimals": f.max_token_decimals}

    def chains(self) -> Any:
        return [{"chain": c.chain.value, "wire": c.name, "usdt_decimals": c.usdt_decimals}
                for c in self.rc.chains()]

    def parse_chain(self, text: str) -> Any:
        try:
            return {"chain": self.rc.parse_chain(text).value}
        except ur.RechargeError as e:
            return {"error": e.code}

    def validate_notify_url(self, url: str) -> Any:
        try:
            self.rc.validate_notify_url(url)
            return {"ok": True}
        except ur.RechargeError as e:
            return {"error": e.code}

    def validate_token_decimals(self, decimals: int) -> Any:
        try:
            self.rc.validate_token_decimals(decimals)
            return {"ok": True}
        except ur.RechargeError as e:
            return {"error": e.code}

    def to_chain_units(self, scaled: int, decimals: int) -> Any:
        def strict() -> Any:
            try:
                return {"units": self.rc.to_chain_units(scaled, decimals)}
            except ur.RechargeError as e:
                return {"error": e.code}

        def raw() -> Any:
            ok, p = self.rc.call_result("protocol", "to-chain-units", scaled, decimals)
            return {"units": p} if ok else {"error": code_of(p)}
        return self._strict_or_raw(strict, raw)

    # gateway (2.1.0)
    def parse_query(self, body: str) -> Any:
        try:
            q = self.rc.parse_query(body)
        except ur.QueryRejected as e:
            return {"reject": e.codes}
        return {"accept": {"appid": q.appid, "orderid": q.orderid, "sign": q.sign}}

    def gateway_keyring(self, keyring: Dict[str, Any]) -> ur.GatewayKeyring:
        policy = ur.ConfirmationPolicy(ur.ConfirmationRule(**keyring["policy"]["base"]),
                                       tuple((c, ur.ConfirmationRule(**r)) for c, r in keyring["policy"]["overrides"]))
        return self.rc.gateway_keyring([ur.Merchant(**m) for m in keyring["merchants"]], policy)

    @staticmethod
    def check_query(kr: ur.GatewayKeyring, body: str) -> Any:
        try:
            q = kr.check_query(body)
        except ur.QueryRejected as e:
            return {"reject": e.codes}
        return {"accept": {"appid": q.appid, "orderid": q.orderid, "sign": q.sign}}

    def accept_order(self, kr: ur.GatewayKeyring, body: str) -> Any:
        try:
            a = kr.accept_order(body)
        except ur.OrderRejected as e:
            return {"reject": e.codes}
        return {"accept": self._accept(a.order), "required_confirmations": a.required_confirmations}


def outcome(case: Dict[str, Any], keys: List[str]) -> Any:
    """The vector's expected outcome: the named keys when there is no ``error``."""
    if "error" in case:
        return {"error": case["error"]}
    return {k: case[k] for k in keys}


class Run:
    def __init__(self, test: unittest.TestCase, adapter: Adapter):
        self.test, self.a = test, adapter
        self.failures: List[str] = []
        self.checked = 0

    def expect(self, case: Dict[str, Any], want: Any, got: Callable[[Adapter], Any]) -> None:
        self.checked += 1
        try:
            value = got(self.a)
        except Exception as e:  # a wrapper or binding error is a disagreement too
            value = f"<raised {type(e).__name__}: {e}>"
        if value != want:
            self.failures.append(f"{case['name']!r}: want {want!r}, got {value!r}")

    def finish(self, what: str) -> None:
        self.test.assertGreater(self.checked, 0)
        if self.failures:
            self.test.fail(f"{what}: {len(self.failures)} of {self.checked} checks failed:\n"
                           + "\n".join(self.failures))


def cases(file: Dict[str, Any], section: str) -> List[Dict[str, Any]]:
    items = file.get(section)
    assert isinstance(items, list) and items, f"section {section} missing or empty"
    return items


class VectorsMixin:
    """The sections; ``adapter`` is set by the concrete classes."""

    adapter: Adapter

    def run_(self) -> Run:
        return Run(self, self.adapter)  # type: ignore[arg-type]

    def test_signs(self) -> None:
        file, run = load("signs"), self.run_()
        for c in cases(file, "order"):
            f, secret, sign = c["fields"], c["secret"], c["sign"]
            run.expect(c, sign, lambda p: p.order_sign(f, secret))
            run.expect(c, "OK", lambda p: p.verify_order_sign(f, secret, sign))
            run.expect(c, "SIGN_MISMATCH", lambda p: p.verify_order_sign(f, secret + "x", sign))
            run.expect(c, "INVALID_SIGN", lambda p: p.verify_order_sign(f, secret, sign.upper()))
        for c in cases(file, "callback"):
            f, secret, sign = c["fields"], c["secret"], c["sign"]
            run.expect(c, sign, lambda p: p.callback_sign(f, secret))
            run.expect(c, "OK", lambda p: p.verify_callback_sign(f, secret, sign))
            run.expect(c, c["body"], lambda p: p.build_callback_body(f, secret))
        for c in cases(file, "query"):
            appid, orderid, secret, sign = c["appid"], c["orderid"], c["secret"], c["sign"]
            run.expect(c, sign, lambda p: p.query_sign(appid, orderid, secret))
            run.expect(c, "OK", lambda p: p.verify_query_sign(appid, orderid, secret, sign))
            run.expect(c, "SIGN_MISMATCH",
                       lambda p: p.verify_query_sign(appid, orderid + "0", secret, sign))
        run.finish("signs.json")

    def test_amounts(self) -> None:
        file, run = load("amounts"), self.run_()
        for c in cases(file, "parse"):
            run.expect(c, outcome(c, ["scaled"]), lambda p: p.parse_usdt(c["text"]))
        for c in cases(file, "format"):
            run.expect(c, c["text"], lambda p: p.format_usdt(c["scaled"]))
        for c in cases(file, "chain_units"):
            run.expect(c, outcome(c, ["scaled", "dust"]),
                       lambda p: p.from_chain_units(c["value"], c["decimals"]))
        run.finish("amounts.json")

    def test_addresses(self) -> None:
        file, run = load("addresses"), self.run_()
        for c in cases(file, "inspect"):
            run.expect(c, outcome(c, ["chain", "canonical", "evm_hex"]),
                       lambda p: p.inspect_address(c["address"]))
        for c in cases(file, "for_chain"):
            run.expect(c, c["ok"], lambda p: p.validate_address(c["address"], c["chain"]))
        for c in cases(file, "tron_hex"):
            run.expect(c, outcome(c, ["base58"]), lambda p: p.tron_from_hex(c["hex"]))
        for c in cases(file, "eip55"):
            run.expect(c, c["checksummed"], lambda p: p.eip55_checksum(c["address"]))
        run.finish("addresses.json")

    def test_orders(self) -> None:
        file, run = load("orders"), self.run_()
        secrets = file["secrets"]
        keys = list(secrets.items())
        for c in cases(file, "cases"):
            if "reject" in c:
                parsed = checked = {"reject": c["reject"]}
            elif c["verify"] == "OK":
                parsed, checked = {"accept": c["accept"], "verify": "OK"}, {"accept": c["accept"]}
            else:
                parsed = {"accept": c["accept"], "verify": c["verify"]}
                checked = {"reject": [c["verify"]]}
            run.expect(c, parsed, lambda p: p.parse_order(c["body"], secrets))
            run.expect(c, checked, lambda p: p.check_order(c["body"], keys))
        # An appid the keyring does not know is refused after the body is found valid.
        accepted = next(c for c in cases(file, "cases") if c.get("verify") == "OK")
        run.expect(accepted, {"reject": ["UNKNOWN_APPID"]}, lambda p: p.check_order(accepted["body"], []))
        run.finish("orders.json")

    def test_callbacks(self) -> None:
        file, run = load("callbacks"), self.run_()
        for c in cases(file, "cases"):
            want = {"reject": c["reject"]} if "reject" in c else {"accept": c["accept"]}
            run.expect(c, want, lambda p: p.verify_callback(c["body"], c["secret"], c["now"], c["window"]))
        run.finish("callbacks.json")

    def test_orderids(self) -> None:
        file, run = load("orderids"), self.run_()
        for c in cases(file, "make"):
            run.expect(c, outcome(c, ["orderid"]),
                       lambda p: p.make_orderid(c["prefix"], c["date"], c["entropy"]))
        for c in cases(file, "check"):
            run.expect(c, outcome(c, ["prefix", "date", "random"]),
                       lambda p: p.check_orderid(c["orderid"]))
        run.finish("orderids.json")

    def test_confirmations(self) -> None:
        file, run = load("confirmations"), self.run_()
        for c in cases(file, "required"):
            run.expect(c, c["required"],
                       lambda p: p.required_confirmations(c["chain"], c["amount"], c["policy"]))
        for c in cases(file, "policy"):
            run.expect(c, outcome(c, ["ok"]), lambda p: p.validate_policy(c["policy"]))
        for c in cases(file, "count"):
            run.expect(c, c["confirmations"], lambda p: p.count_confirmations(c["head"], c["block"]))
        for c in cases(file, "state"):
            run.expect(c, c["state"], lambda p: p.deposit_state(c["confirmations"], c["required"]))
        run.finish("confirmations.json")

    def test_protocol(self) -> None:
        file, run = load("protocol"), self.run_()
        facts = file["facts"]
        run.expect({"name": "facts"}, facts, lambda p: p.facts())
        chains = cases(file, "chains")
        run.expect({"name": "chains"}, [{k: c[k] for k in ("chain", "wire", "usdt_decimals")} for c in chains],
                   lambda p: p.chains())
        for c in cases(file, "parse_chain"):
            run.expect(c, outcome(c, ["chain"]), lambda p: p.parse_chain(c["text"]))
        for c in cases(file, "notify_url"):
            run.expect(c, outcome(c, ["ok"]), lambda p: p.validate_notify_url(c["url"]))
        for c in cases(file, "token_decimals"):
            run.expect(c, outcome(c, ["ok"]), lambda p: p.validate_token_decimals(c["decimals"]))
        for c in cases(file, "to_chain_units"):
            run.expect(c, outcome(c, ["units"]), lambda p: p.to_chain_units(c["scaled"], c["decimals"]))
        run.finish("protocol.json")

    def test_gateway(self) -> None:
        file, run = load("gateway"), self.run_()
        kr = self.adapter.gateway_keyring(file["keyring"])
        for c in cases(file, "parse_query"):
            want = {"reject": c["reject"]} if "reject" in c else {"accept": c["accept"]}
            run.expect(c, want, lambda p: p.parse_query(c["body"]))
        for c in cases(file, "check_query"):
            want = {"reject": c["reject"]} if "reject" in c else {"accept": c["accept"]}
            run.expect(c, want, lambda p: p.check_query(kr, c["body"]))
        for c in cases(file, "accept_order"):
            want = ({"reject": c["reject"]} if "reject" in c
                    else {"accept": c["accept"], "required_confirmations": c["required_confirmations"]})
            run.expect(c, want, lambda p: p.accept_order(kr, c["body"]))
        run.finish("gateway.json")

    def test_derivation(self) -> None:
        file, run = load("derivation"), self.run_()
        for c in cases(file, "steps"):
            run.expect(c, outcome(c, ["child"]), lambda p: p.derive_xpub(c["xpub"], c["index"]))
        info = ["depth", "parent_fingerprint", "child_number", "fingerprint", "public_key"]
        for c in cases(file, "parse"):
            run.expect(c, outcome(c, info), lambda p: p.parse_xpub(c["xpub"]))
        for c in cases(file, "addresses"):
            run.expect(c, outcome(c, ["chain", "index", "address", "public_key"]),
                       lambda p: p.derive_address(c["xpub"], c["chain"], c["index"]))
        for c in cases(file["requests"], "address_sign"):
            run.expect(c, c["sign"], lambda p: p.rc.address_sign(c["appid"], c["username"], c["chain"], c["secret"]))
        run.finish("derivation.json")

    def test_every_vector_file_is_covered(self) -> None:
        covered = {"signs", "amounts", "addresses", "orders", "callbacks", "orderids", "confirmations",
                   "protocol", "gateway", "derivation"}
        present = {p.stem for p in VECTORS.glob("*.json")}
        self.assertEqual(present, covered, "a vector file is not run by this suite")  # type: ignore[attr-defined]


class Vectors(VectorsMixin, unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.adapter = Adapter(ur.default())


if __name__ == "__main__":
    unittest.main()

"""The Pythonic layer: range checks, argument forms, errors, threads, loading."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
import types
import unittest
from pathlib import Path

import usdt_recharge as ur
from usdt_recharge import OutOfRangeError, RechargeError

HERE = Path(__file__).resolve().parents[1]
SECRET = "s3cr3t-merchant"
ORDER = dict(appid="demo_app", username="alice", localusermark="uid123",
             address="TEXv5XbdFV8sWVwr4b1CZHvMXAFXGVgP6d", orderid="demo-20250905-k3x9q0",
             amount=1_000_000)


class RangeChecks(unittest.TestCase):
    def assertOutOfRange(self, f, argument: str) -> None:  # noqa: N802
        with self.assertRaises(OutOfRangeError) as cm:
            f()
        self.assertEqual(cm.exception.argument, argument)
        self.assertIsInstance(cm.exception, ValueError)

    def test_wasmtime_itself_wraps_silently(self) -> None:
        # The reason for the checks: wasmtime lowers -1 as 2^64-1 without a word.
        rc = ur.Recharge()
        fn = rc._fn("amounts", "format-usdt")
        self.assertEqual(fn.func(rc._store, -1), "1844674407370955.1615")
        self.assertEqual(fn.func(rc._store, 2**64 + 5), "0.0005")

    def test_u64_parameters(self) -> None:
        for bad in (-1, 2**64):
            self.assertOutOfRange(lambda: ur.count_confirmations(bad, 0), "head")
            self.assertOutOfRange(lambda: ur.count_confirmations(0, bad), "block")
            self.assertOutOfRange(lambda: ur.make_orderid("cz", (2025, 9, 5), bad), "entropy")
            self.assertOutOfRange(lambda: ur.verify_callback("{}", SECRET, now=bad), "now")
            self.assertOutOfRange(lambda: ur.deposit_state(bad, 1), "confirmations")
            self.assertOutOfRange(
                lambda: ur.callback_sign(orderid="a", localusermark="b", amount=1, t=bad, secret=SECRET), "t")
        self.assertEqual(ur.count_confirmations(2**64 - 1, 0), 2**64 - 1)
        self.assertEqual(ur.make_orderid("cz", (2025, 9, 5), 2**64 - 1)[:12], "cz-20250905-")

    def test_small_unsigned_parameters(self) -> None:
        self.assertOutOfRange(lambda: ur.verify_callback("{}", SECRET, now=0, window=-1), "window")
        self.assertOutOfRange(lambda: ur.verify_callback("{}", SECRET, now=0, window=2**32), "window")
        self.assertOutOfRange(lambda: ur.deposit_state(0, 2**32), "required")
        self.assertOutOfRange(lambda: ur.from_chain_units("1", 256), "decimals")
        self.assertOutOfRange(lambda: ur.from_chain_units("1", -1), "decimals")
        self.assertOutOfRange(lambda: ur.make_orderid("cz", (2**16, 1, 1), 0), "date.year")
        self.assertOutOfRange(lambda: ur.make_orderid("cz", (2025, 256, 1), 0), "date.month")
        # In range for the WIT type but not a real date: the component's verdict.
        with self.assertRaises(RechargeError) as cm:
            ur.make_orderid("cz", (2025, 255, 1), 0)
        self.assertEqual(cm.exception.code, "INVALID_FIELD")

    def test_order_amount_is_1_to_2_53_minus_1(self) -> None:
        for bad in (0, -1, 2**53, 2**64 - 1, 2**64):
            self.assertOutOfRange(lambda: ur.sign_order(dict(ORDER, amount=bad), SECRET), "amount")
            self.assertOutOfRange(lambda: ur.verify_order_sign(dict(ORDER, amount=bad), SECRET, "0" * 32), "amount")
        for good in (1, 2**53 - 1):
            self.assertRegex(ur.sign_order(dict(ORDER, amount=good), SECRET), r"^[0-9a-f]{32}$")

    def test_stored_amounts_are_0_to_2_63_minus_1(self) -> None:
        for bad in (-1, 2**63, 2**64 - 1):
            self.assertOutOfRange(lambda: ur.format_amount(bad), "amount")
            self.assertOutOfRange(
                lambda: ur.build_callback_body(orderid="a", localusermark="b", amount=bad, t=1, secret=SECRET),
                "amount")
            self.assertOutOfRange(
                lambda: ur.required_confirmations("TRC20", bad, {"base": {
                    "default_required": 1, "large_amount": 1, "large_required": 3}}), "amount")
        self.assertEqual(ur.format_amount(0), "0.0000")
        self.assertEqual(ur.format_amount(2**63 - 1), "922337203685477.5807")
        self.assertEqual(ur.parse_amount("922337203685477.5807"), 2**63 - 1)

    def test_raw_call_checks_wit_types_recursively(self) -> None:
        rc = ur.default()
        self.assertOutOfRange(lambda: rc.call("amounts", "format-usdt", -1), "amount")
        self.assertEqual(rc.call("amounts", "format-usdt", 2**64 - 1), "1844674407370955.1615")
        fields = types.SimpleNamespace(**dict(ORDER, amount=2**64))
        self.assertOutOfRange(lambda: rc.call("signing", "order-sign", fields, SECRET), "fields.amount")

    def test_non_integers_are_type_errors(self) -> None:
        for bad in (True, 1.0, "1", None):
            with self.assertRaises(TypeError):
                ur.format_amount(bad)
        with self.assertRaises(TypeError):
            ur.sign_order(dict(ORDER, amount=1e6), SECRET)
        with self.assertRaises(TypeError):
            ur.parse_amount(100)  # text only: no float ever reaches an amount


class Api(unittest.TestCase):
    def test_sign_order_forms_agree(self) -> None:
        by_dict = ur.sign_order(ORDER, SECRET)
        self.assertEqual(ur.sign_order(**ORDER, secret=SECRET), by_dict)
        self.assertEqual(ur.sign_order(ur.OrderFields(**ORDER), SECRET), by_dict)
        ur.verify_order_sign(ORDER, SECRET, by_dict)
        with self.assertRaises(TypeError):
            ur.sign_order(ORDER, SECRET, appid="x")
        with self.assertRaises(TypeError):
            ur.sign_order({k: v for k, v in ORDER.items() if k != "amount"}, SECRET)
        with self.assertRaises(TypeError):
            ur.sign_order(dict(ORDER, extra=1), SECRET)

    def test_gateway_order_round_trip(self) -> None:
        body = json.dumps(dict(ORDER, sign=ur.sign_order(ORDER, SECRET), chain="TRC20"))
        order = ur.parse_order(body.encode())
        self.assertEqual(order.chain, "TRC20")
        self.assertIs(order.chain, ur.Chain.TRC20)
        self.assertEqual(order.fields, ur.OrderFields(**ORDER))
        ur.verify_order(order, SECRET)
        with self.assertRaises(RechargeError) as cm:
            ur.verify_order(order, SECRET + "x")
        self.assertEqual(cm.exception.code, "SIGN_MISMATCH")

    def test_order_rejected_lists_every_code(self) -> None:
        with self.assertRaises(ur.OrderRejected) as cm:
            ur.parse_order(json.dumps(dict(ORDER, amount=1e6, address="nope", sign="ABC")))
        e = cm.exception
        self.assertIsInstance(e, RechargeError)
        self.assertEqual(e.codes, ["INVALID_ADDRESS", "INVALID_AMOUNT", "INVALID_SIGN"])
        self.assertEqual([r.field for r in e.rejections], ["address", "amount", "sign"])
        self.assertEqual(e.code, "INVALID_ADDRESS")
        with self.assertRaises(ur.OrderRejected) as cm:
            ur.parse_order(b"\xff{}")
        self.assertEqual(cm.exception.codes, ["INVALID_JSON"])

    def test_verify_callback(self) -> None:
        now = int(time.time())
        fields = dict(orderid="demo-20250905-k3x9q0", localusermark="uid123", amount=30000, t=now)
        body = ur.build_callback_body(fields, SECRET)
        self.assertEqual(json.loads(body)["sign"], ur.callback_sign(fields, SECRET))
        cb = ur.verify_callback(body.encode(), SECRET)  # now defaults to time.time()
        self.assertEqual((cb.orderid, cb.amount, cb.t), ("demo-20250905-k3x9q0", 30000, now))
        self.assertEqual(cb.fields, ur.CallbackFields(**fields))
        for kwargs, code in (({"secret": "other"}, "SIGN_MISMATCH"),
                             ({"now": now + 301}, "TIMESTAMP_OUT_OF_WINDOW"),
                             ({"now": now + 301, "window": 301}, None),
                             ({"now": now - 300}, None)):
            args = dict({"secret": SECRET}, **kwargs)
            if code is None:
                ur.verify_callback(body, **args)
                continue
            with self.assertRaises(RechargeError) as cm:
                ur.verify_callback(body, **args)
            self.assertEqual(cm.exception.code, code)
            self.assertEqual(cm.exception.rejection.code, code)
        with self.assertRaises(RechargeError) as cm:
            ur.verify_callback(b"\xc3\x28", SECRET)
        self.assertEqual(cm.exception.code, "INVALID_JSON")

    def test_build_callback_body_refuses_bad_fields(self) -> None:
        with self.assertRaises(RechargeError) as cm:
            ur.build_callback_body(orderid="a|b", localusermark="x", amount=1, t=1, secret=SECRET)
        self.assertEqual((cm.exception.code, cm.exception.field), ("INVALID_FIELD", "orderid"))

    def test_addresses_and_query(self) -> None:
        info = ur.inspect_address("0x52908400098527886E0F7030069857D2E4169EE7")
        self.assertEqual((info.chain, info.canonical), ("ERC20", "0x52908400098527886e0f7030069857d2e4169ee7"))
        with self.assertRaises(ValueError):
            ur.validate_address(info.canonical, "BTC")
        sign = ur.query_sign("demo_app", "demo-1", SECRET)
        ur.verify_query_sign("demo_app", "demo-1", SECRET, sign)
        with self.assertRaises(RechargeError) as cm:
            ur.verify_query_sign("demo_app", "demo-1", SECRET, sign.upper())
        self.assertEqual(cm.exception.code, "INVALID_SIGN")

    def test_threads_share_one_instance(self) -> None:
        now = int(time.time())
        bodies = [ur.build_callback_body(orderid=f"o-{i}", localusermark="m", amount=i, t=now, secret=SECRET)
                  for i in range(16)]
        errors: list = []

        def work(i: int) -> None:
            try:
                for _ in range(100):
                    cb = ur.verify_callback(bodies[i], SECRET, now=now)
                    assert cb.amount == i, cb
            except Exception as e:  # pragma: no cover
                errors.append(e)
        threads = [threading.Thread(target=work, args=(i,)) for i in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])

    def test_component_path(self) -> None:
        if "USDT_RECHARGE_COMPONENT" not in os.environ:
            self.assertEqual(ur.component_path(), Path(ur.__file__).resolve().with_name("usdt_recharge.wasm"))
        env = dict(os.environ, USDT_RECHARGE_COMPONENT="/nonexistent/x.wasm")
        out = subprocess.run([sys.executable, "-c", "import usdt_recharge as u; u.parse_amount('1')"],
                             env=env, capture_output=True, text=True)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("FileNotFoundError", out.stderr)
        self.assertIn("/nonexistent/x.wasm", out.stderr)


POLICY = ur.ConfirmationPolicy(ur.ConfirmationRule(12, 100_000_000, 20),
                               ((ur.Chain.TRC20, ur.ConfirmationRule(19, 100_000_000, 30)),))


class Protocol21(unittest.TestCase):
    """The items of usdt:recharge@2.1.0: protocol facts and rules, the gateway's calls."""

    def test_facts_come_from_the_component(self) -> None:
        f = ur.facts()
        self.assertEqual((f.callback_window, f.max_retries, f.scale, f.max_order_amount, f.max_token_decimals),
                         (300, 8, 10_000, 2**53 - 1, 18))
        self.assertEqual(ur.MAX_ORDER_AMOUNT, f.max_order_amount)  # the binding's range check agrees
        self.assertFalse(hasattr(ur, "PROTOCOL_WINDOW"))  # the window is the component's, not ours

    def test_chains(self) -> None:
        self.assertEqual([(c.chain, c.name, c.usdt_decimals) for c in ur.chains()],
                         [(ur.Chain.TRC20, "TRC20", 6), (ur.Chain.ERC20, "ERC20", 6), (ur.Chain.OMNI, "OMNI", 8)])
        self.assertIs(ur.parse_chain("ERC20"), ur.Chain.ERC20)
        for bad in ("erc20", "BTC", ""):
            with self.assertRaises(RechargeError) as cm:
                ur.parse_chain(bad)
            self.assertEqual(cm.exception.code, "UNSUPPORTED_CHAIN")

    def test_notify_url_and_token_decimals(self) -> None:
        ur.validate_notify_url("https://shop.example/notify?x=1")
        for bad in ("ftp://shop.example/", "https://user:pw@shop.example/", "/notify", "https://shop.example/a b"):
            with self.assertRaises(RechargeError) as cm:
                ur.validate_notify_url(bad)
            self.assertEqual(cm.exception.code, "INVALID_NOTIFY_URL", bad)
        ur.validate_token_decimals(18)
        with self.assertRaises(RechargeError) as cm:
            ur.validate_token_decimals(19)
        self.assertEqual((cm.exception.code, cm.exception.field), ("INVALID_FIELD", "decimals"))
        with self.assertRaises(OutOfRangeError):
            ur.validate_token_decimals(256)

    def test_to_chain_units_reverses_from_chain_units(self) -> None:
        self.assertEqual(ur.to_chain_units(1_005_000, 6), "100500000")  # 100.5 USDT, 6 decimals
        self.assertEqual(ur.to_chain_units(1, 8), "10000")
        self.assertEqual(ur.to_chain_units(0, 18), "0")
        for amount, decimals in ((1_005_000, 6), (123_456_789, 8), (7, 18), (50_000, 4)):
            back = ur.from_chain_units(ur.to_chain_units(amount, decimals), decimals)
            self.assertEqual((back.scaled, back.dust), (amount, 0))
        with self.assertRaises(RechargeError) as cm:
            ur.to_chain_units(1_005_001, 2)  # not a whole number of base units
        self.assertEqual(cm.exception.code, "INVALID_AMOUNT")
        with self.assertRaises(OutOfRangeError):
            ur.to_chain_units(-1, 6)

    def test_parse_query(self) -> None:
        q = ur.parse_query(json.dumps({"appid": "demo_app", "orderid": "o-1", "sign": "x", "extra": 1}))
        self.assertEqual(q, ur.OrderQuery("demo_app", "o-1", "x"))
        with self.assertRaises(ur.QueryRejected) as cm:
            ur.parse_query(json.dumps({"appid": 7, "sign": None}))
        self.assertEqual(cm.exception.codes, ["INVALID_FIELD", "MISSING_FIELD", "MISSING_FIELD"])
        self.assertEqual([r.field for r in cm.exception.rejections], ["appid", "orderid", "sign"])
        self.assertNotIsInstance(cm.exception, ur.OrderRejected)
        with self.assertRaises(ur.QueryRejected) as cm:
            ur.parse_query(b"\xff")
        self.assertEqual(cm.exception.codes, ["INVALID_JSON"])

    def test_gateway_keyring(self) -> None:
        merchants = [ur.Merchant("demo_app", SECRET, next_secret="next-secret"), {"appid": "other", "secret": "o"}]
        with ur.gateway_keyring(merchants, POLICY) as kr:
            self.assertEqual(len(kr), 2)
            for secret in (SECRET, "next-secret"):  # during a rotation both secrets pass
                body = json.dumps(dict(ORDER, sign=ur.sign_order(ORDER, secret)))
                accepted = kr.accept_order(body)
                self.assertEqual(accepted.order.fields, ur.OrderFields(**ORDER))
                self.assertEqual(accepted.required_confirmations, 19)  # TRC20 override, below large
            big = dict(ORDER, amount=100_000_000)
            self.assertEqual(kr.accept_order(json.dumps(dict(big, sign=ur.sign_order(big, SECRET))))
                             .required_confirmations, 30)
            with self.assertRaises(ur.OrderRejected) as cm:
                kr.accept_order(json.dumps(dict(ORDER, sign=ur.sign_order(ORDER, "wrong"))))
            self.assertEqual(cm.exception.codes, ["SIGN_MISMATCH"])
            query = {"appid": "demo_app", "orderid": ORDER["orderid"]}
            ok = kr.check_query(json.dumps(dict(query, sign=ur.query_sign("demo_app", ORDER["orderid"], SECRET))))
            self.assertEqual(ok.orderid, ORDER["orderid"])
            for sign, code in ((ur.query_sign("demo_app", ORDER["orderid"], "wrong"), "SIGN_MISMATCH"),
                               ("NOT-HEX", "INVALID_SIGN")):
                with self.assertRaises(ur.QueryRejected) as cm:
                    kr.check_query(json.dumps(dict(query, sign=sign)))
                self.assertEqual(cm.exception.codes, [code])
            with self.assertRaises(ur.QueryRejected) as cm:
                kr.check_query(json.dumps({"appid": "nobody", "orderid": "x", "sign": "NOT-HEX"}))
            self.assertEqual(cm.exception.codes, ["UNKNOWN_APPID"])  # before the sign's form
        with self.assertRaises(ValueError):
            kr.check_query("{}")  # closed

    def test_gateway_keyring_survives_a_new_instance(self) -> None:
        rc = ur.Recharge()
        kr = rc.gateway_keyring({"demo_app": SECRET}, POLICY)
        body = json.dumps(dict(ORDER, sign=ur.sign_order(ORDER, SECRET)))
        self.assertEqual(kr.accept_order(body).order.orderid, ORDER["orderid"])
        rc._instantiate()  # what a trap does
        self.assertEqual(kr.accept_order(body).order.orderid, ORDER["orderid"])


class InstalledPackage(unittest.TestCase):
    """The suite runs against the installed wheel, as a merchant's code would."""

    def test_imported_from_the_installed_wheel_with_its_component(self) -> None:
        from importlib.metadata import distribution
        module = Path(ur.__file__).resolve()
        self.assertEqual(module.parent.parent, Path(sysconfig.get_paths()["purelib"]).resolve(),
                         "usdt_recharge was not imported from the environment's site-packages")
        dist = distribution("usdt-recharge")
        self.assertEqual(dist.version, ur.VERSION)  # the package version is the WIT version
        shipped = {str(f) for f in dist.files or ()}
        self.assertIn("usdt_recharge/usdt_recharge.wasm", shipped)
        self.assertIn("usdt_recharge/py.typed", shipped)
        self.assertEqual(dist.requires, ["wasmtime>=50.0.1"])
        wasm = module.with_name("usdt_recharge.wasm")
        self.assertEqual(wasm.read_bytes()[:4], b"\0asm")
        self.assertEqual(ur.Recharge(wasm).parse_amount("100.5"), 1_005_000)

    def test_no_private_wasmtime_module_is_used(self) -> None:
        src = Path(ur.__file__).read_text(encoding="utf-8")
        private = [m.group(0) for m in re.finditer(
            r"wasmtime[\w.]*\._(?!_)\w+|from wasmtime[\w.]* import[\w\s,(]*\b_\w+|\._(ffi|func|tagged|from_ptr)\b", src)]
        self.assertEqual(private, [])


class Keyring(unittest.TestCase):
    def test_check_order_in_one_call(self) -> None:
        body = json.dumps(dict(ORDER, sign=ur.sign_order(ORDER, SECRET)))
        with ur.keyring([("other", "x"), ("demo_app", "old"), ("demo_app", SECRET)]) as kr:
            self.assertEqual(len(kr), 2)  # a later duplicate appid replaces an earlier one
            self.assertEqual(kr.check_order(body.encode()).fields, ur.OrderFields(**ORDER))
            with self.assertRaises(ur.OrderRejected) as cm:
                kr.check_order(body.replace("alice", "bob"))
            self.assertEqual(cm.exception.codes, ["SIGN_MISMATCH"])
        with self.assertRaises(ValueError):
            kr.check_order(body)  # closed
        with self.assertRaises(TypeError):
            ur.keyring({"demo_app": 1})

    def test_dropped_keyrings_are_released_and_survive_a_new_instance(self) -> None:
        rc = ur.Recharge()
        body = json.dumps(dict(ORDER, sign=ur.sign_order(ORDER, SECRET)))
        kr = rc.keyring({"demo_app": SECRET})
        for _ in range(50):  # dropped through the pending list, under the lock
            rc.keyring({"demo_app": SECRET}).check_order(body)
        rc.parse_amount("1")
        self.assertEqual(rc._pending_drops, [])
        rc._instantiate()  # what a trap does
        self.assertEqual(kr.check_order(body).orderid, ORDER["orderid"])


class GatewayValidate(unittest.TestCase):
    def test_validate(self) -> None:
        import gateway_validate as gv
        keyring = ur.keyring({"demo_app": SECRET})
        good = json.dumps(dict(ORDER, sign=ur.sign_order(ORDER, SECRET)))
        v = gv.validate(good, keyring)
        self.assertEqual(v["status"], 1)
        self.assertEqual((v["order"]["chain"], v["order"]["amount_usdt"]), ("TRC20", "100.0000"))
        self.assertEqual(gv.validate(good, ur.keyring({"demo_app": "wrong"}))["codes"], ["SIGN_MISMATCH"])
        self.assertEqual(gv.validate(good, ur.keyring({}))["codes"], ["UNKNOWN_APPID"])
        self.assertEqual(gv.validate("[]", keyring)["codes"], ["INVALID_JSON"])

    def test_cli(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            secrets = Path(tmp) / "secrets.json"
            secrets.write_text(json.dumps({"demo_app": SECRET}))
            body = json.dumps(dict(ORDER, sign=ur.sign_order(ORDER, SECRET)))
            out = subprocess.run([sys.executable, str(HERE / "gateway_validate.py"), "--secrets", str(secrets)],
                                 input=body, capture_output=True, text=True, timeout=60)
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertEqual(json.loads(out.stdout)["order"]["orderid"], ORDER["orderid"])
            out = subprocess.run([sys.executable, str(HERE / "gateway_validate.py"), "--secrets", str(secrets)],
                                 input=body.replace("alice", "bob"), capture_output=True, text=True, timeout=60)
            self.assertEqual(out.returncode, 1)
            self.assertEqual(json.loads(out.stdout)["codes"], ["SIGN_MISMATCH"])


# The BIP44 account m/44'/195'/0' of the BIP39 test mnemonic, and BIP32 test vector 1's master
# private key: keys from published test vectors, never anyone's funds.
TRON_ACCOUNT = ("xpub6D1AabNHCupeiLM65ZR9UStMhJ1vCpyV4XbZdyhMZBiJXALQtmn9p42VTQckoHVn8WNqS7dqnJokZHAH"
                "cHGoaQgmv8D45oNUKx6DZMNZBCd")
XPRV = ("xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3T"
        "GtRBeJgk33yuGBxrMPHi")


class Derivation(unittest.TestCase):
    def test_a_merchant_checks_an_answered_address_against_its_xpub(self) -> None:
        answer = {"data": {"chain": "TRC20", "index": 1, "address": "TSeJkUh4Qv67VNFwY8LaAxERygNdy6NQZK"}}
        mine = ur.derive_address(TRON_ACCOUNT, answer["data"]["chain"], answer["data"]["index"])
        self.assertEqual(mine.address, answer["data"]["address"])
        self.assertEqual((mine.chain, mine.index), (ur.Chain.TRC20, 1))
        self.assertNotEqual(ur.derive_address(TRON_ACCOUNT, "TRC20", 2).address, answer["data"]["address"])
        self.assertEqual(ur.parse_xpub(TRON_ACCOUNT).depth, 3)

    def test_private_keys_and_hardened_indices_are_refused(self) -> None:
        with self.assertRaises(RechargeError) as cm:
            ur.parse_xpub(XPRV)
        self.assertEqual(cm.exception.code, "PRIVATE_KEY_REFUSED")
        self.assertNotIn(XPRV[4:], str(cm.exception))
        with self.assertRaises(RechargeError) as cm:
            ur.derive_address(TRON_ACCOUNT, "TRC20", 2**31)
        self.assertEqual(cm.exception.code, "INVALID_INDEX")
        with self.assertRaises(OutOfRangeError):
            ur.derive_address(TRON_ACCOUNT, "TRC20", 2**32)

    def test_address_sign(self) -> None:
        import hashlib
        want = hashlib.md5("demo_app|alice|OMNI|s3cr3t".encode()).hexdigest()
        self.assertEqual(ur.address_sign("demo_app", "alice", "OMNI", "s3cr3t"), want)


if __name__ == "__main__":
    unittest.main()

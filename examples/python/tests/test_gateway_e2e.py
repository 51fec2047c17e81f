"""End to end against the real gateway: `usdt-gateway serve` (SQLite in a temp dir, dev
chains) pays an order and POSTs its callback to receiver.py, which credits it once; a
copy of a genuine gateway callback with `amount` or `orderid` changed is refused.

Needs the gateway binary: `$USDT_GATEWAY_BIN`, else ../../target/debug/usdt-gateway
(`cargo build -p usdt-gateway`; `scripts/test` builds it before this suite). A missing
binary is a failure, never a skip.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple, TypeVar

import usdt_recharge as ur

HERE = Path(__file__).resolve().parents[1]  # examples/python
START_TIMEOUT = 60.0  # a cold start on a loaded machine; normally about a second
CALLBACK_TIMEOUT = 20.0
AMOUNT = 1_005_000  # 100.5 USDT in 1/10000 units
AMOUNT_TEXT = "100.5"

# No proxy, even if the environment names one: everything here is on 127.0.0.1.
_http = urllib.request.build_opener(urllib.request.ProxyHandler({}))

T = TypeVar("T")


def gateway_binary() -> Path:
    configured = os.environ.get("USDT_GATEWAY_BIN")
    path = Path(configured) if configured else HERE / ".." / ".." / "target" / "debug" / "usdt-gateway"
    if not path.is_file() or not os.access(path, os.X_OK):
        raise AssertionError(
            f"the gateway binary {path} is missing: run `cargo build -p usdt-gateway` "
            "first (or point USDT_GATEWAY_BIN at a built usdt-gateway)")
    return path.resolve()


def md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def wait_until(probe: Callable[[], Optional[T]], timeout: float, what: str) -> T:
    """Poll ``probe`` until it returns something other than None, or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    delay = 0.02
    while True:
        value = probe()
        if value is not None:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(delay)
        delay = min(delay * 2, 0.2)


def post(url: str, body: Any) -> Tuple[int, str]:
    """POST a JSON body (an object, or the exact text/bytes to send)."""
    if isinstance(body, (dict, list)):
        body = json.dumps(body, separators=(",", ":"))
    data = body.encode("utf-8") if isinstance(body, str) else body
    req = urllib.request.Request(url, data=data, method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with _http.open(req, timeout=10) as resp:
            return resp.status, resp.read().decode("utf-8")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8")


class Lines:
    """The stdout lines of a child process, read by a thread; ``expect`` waits for a line
    after the last one it matched."""

    def __init__(self, name: str, stream: Any):
        self.name = name
        self._lines: List[str] = []
        self._next = 0
        self._eof = False
        self._cond = threading.Condition()
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream: Any) -> None:
        for line in stream:
            with self._cond:
                self._lines.append(line.rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self._eof = True
            self._cond.notify_all()

    def all(self) -> List[str]:
        with self._cond:
            return list(self._lines)

    def expect(self, match: Callable[[str], bool], timeout: float, what: str) -> str:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for i in range(self._next, len(self._lines)):
                    if match(self._lines[i]):
                        self._next = i + 1
                        return self._lines[i]
                self._next = len(self._lines)
                left = deadline - time.monotonic()
                if self._eof or left <= 0:
                    why = "exited" if self._eof else f"printed nothing matching within {timeout:.0f} s"
                    raise AssertionError(f"waiting for {what}: {self.name} {why}; "
                                         f"its output: {self._lines!r}")
                self._cond.wait(left)

    def expect_line(self, line: str, timeout: float = 10.0) -> str:
        return self.expect(lambda got: got == line, timeout, repr(line))


class Capture:
    """An HTTP endpoint in a thread: records every POST (path, headers, raw body) and
    answers ``success``, as a merchant would."""

    def __init__(self) -> None:
        self.requests: List[Tuple[str, Dict[str, str], bytes]] = []
        self._lock = threading.Lock()
        capture = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with capture._lock:
                    capture.requests.append(
                        (self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", "7")
                self.end_headers()
                self.wfile.write(b"success")

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/usdt/notify"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def bodies(self) -> List[bytes]:
        with self._lock:
            return [body for _, _, body in self.requests]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def stop(proc: subprocess.Popen, timeout: float = 15.0) -> Optional[int]:
    """SIGTERM, then wait (SIGKILL if it does not exit); returns the exit code of the
    SIGTERM'd process, or None when it had to be killed."""
    if proc.poll() is not None:
        return proc.returncode
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return None


class GatewayToReceiver(unittest.TestCase):
    """One gateway, one receiver.py and one capture endpoint for the class."""

    @classmethod
    def setUpClass(cls) -> None:
        binary = gateway_binary()
        cls.secret = secrets.token_hex(20)  # 40 characters
        cls.tmp = tempfile.TemporaryDirectory(prefix="usdt-gw-e2e-")
        cls.addClassCleanup(cls.tmp.cleanup)
        tmp = Path(cls.tmp.name)

        # receiver.py, as a merchant runs it
        cls.db = tmp / "paid.sqlite3"
        cls.receiver = subprocess.Popen(
            [sys.executable, str(HERE / "receiver.py"), "--host", "127.0.0.1", "--port", "0",
             "--db", str(cls.db)],
            env=dict(os.environ, USDT_MERCHANT_SECRET=cls.secret, PYTHONUNBUFFERED="1"),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        cls.addClassCleanup(stop, cls.receiver)
        cls.receiver_out = Lines("receiver.py", cls.receiver.stdout)
        first = cls.receiver_out.expect(lambda _: True, START_TIMEOUT, "the receiver to start")
        if not first.startswith("listening on http://"):
            raise AssertionError(f"receiver.py did not start: {first!r}")
        cls.receiver_url = first[len("listening on "):]  # it answers on every path

        cls.capture = Capture()
        cls.addClassCleanup(cls.capture.close)

        # the gateway
        config = tmp / "gateway.toml"
        config.write_text(f"""\
listen = "127.0.0.1:0"
data_dir = {json.dumps(str(tmp / "data"))}

[log]
level = "warn"

[dev]
enabled = true
poll_interval = "50ms"

[notify]
retry_delays = ["1s", "1s"]
timeout = "3s"
allow_private_targets = true

[[merchants]]
appid = "pyshop"
secret = "{cls.secret}"
notify_url = "{cls.receiver_url}"

[[merchants]]
appid = "capture"
secret = "{cls.secret}"
notify_url = "{cls.capture.url}"
""")
        # The gateway reads every USDT_GATEWAY_* variable as configuration (and refuses
        # unknown keys such as `bin` from USDT_GATEWAY_BIN): only the file counts here.
        env = {k: v for k, v in os.environ.items() if not k.startswith("USDT_GATEWAY_")}
        env.pop("RUST_LOG", None)
        cls.gateway_log = open(tmp / "gateway.stderr", "w+", encoding="utf-8")
        cls.addClassCleanup(cls.gateway_log.close)
        cls.gateway = subprocess.Popen(
            [str(binary), "serve", "--config", str(config)], env=env, cwd=tmp,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=cls.gateway_log, text=True)
        cls.addClassCleanup(stop, cls.gateway)
        cls.gateway_out = Lines("usdt-gateway", cls.gateway.stdout)
        try:
            ready = cls.gateway_out.expect(
                lambda line: line.startswith("usdt-gateway listening on http://"),
                START_TIMEOUT, "the gateway to start")
        except AssertionError as e:
            raise AssertionError(f"{e}\ngateway stderr:\n{cls.gateway_stderr()}") from None
        cls.gateway_url = ready[len("usdt-gateway listening on "):].rstrip("/")

    @classmethod
    def tearDownClass(cls) -> None:
        # Stop the gateway first, so it sends nothing to a stopped receiver, and check it
        # shut down cleanly (exit 0 on SIGTERM). The class cleanups stop the rest.
        code = stop(cls.gateway)
        if code != 0:
            raise AssertionError(f"usdt-gateway exited with {code} after SIGTERM "
                                 f"(None: killed after 15 s)\nstderr:\n{cls.gateway_stderr()}")

    @classmethod
    def gateway_stderr(cls) -> str:
        cls.gateway_log.flush()
        cls.gateway_log.seek(0)
        return cls.gateway_log.read()[-4000:]

    # ---- the gateway's API

    def gw(self, path: str, body: Any) -> Dict[str, Any]:
        status, text = post(self.gateway_url + path, body)
        self.assertEqual(status, 200, f"{path}: {status} {text}")
        return json.loads(text)

    def place_and_pay(self, appid: str) -> Dict[str, str]:
        """Places an order for 100.5 USDT on a fresh ERC20 address and pays it on the dev chain."""
        order = dict(appid=appid, username=f"user-{secrets.token_hex(3)}",
                     localusermark=f"uid-{secrets.token_hex(4)}",
                     address="0x" + secrets.token_hex(20),
                     orderid=f"{appid}-e2e-{secrets.token_hex(6)}")
        sign = md5(f"{appid}|{order['username']}|{order['localusermark']}|{order['address']}"
                   f"|{order['orderid']}|{AMOUNT}|{self.secret}")
        placed = self.gw("/api/merchant/v2/TraderRechargeorder", dict(order, amount=AMOUNT, sign=sign))
        self.assertEqual(placed["status"], 1, placed)
        self.assertEqual(placed["data"]["orderid"], order["orderid"])
        self.assertEqual(placed["data"]["chain"], "ERC20")
        paid = self.gw("/dev/chains/ERC20/transfers", {"to": order["address"], "amount": AMOUNT_TEXT})
        self.assertIn("txid", paid)
        return order

    def query(self, appid: str, orderid: str) -> Dict[str, Any]:
        answer = self.gw("/api/merchant/v2/TraderRechargeorderQuery",
                         {"appid": appid, "orderid": orderid, "sign": md5(f"{appid}|{orderid}|{self.secret}")})
        self.assertEqual(answer["status"], 1, answer)
        return answer["data"]

    def wait_delivered(self, appid: str, orderid: str) -> Dict[str, Any]:
        # The receiver prints PAID before it answers, so the gateway may record the
        # delivery a moment later.
        def delivered() -> Optional[Dict[str, Any]]:
            data = self.query(appid, orderid)
            return data if data["callback"] == "delivered" else None
        data = wait_until(delivered, 10, f"the callback of {orderid} to be delivered")
        self.assertEqual(data["state"], "confirmed", data)
        self.assertEqual(data["received_amount"], AMOUNT, data)
        return data

    # ---- the receiver

    def to_receiver(self, body: Any) -> Tuple[int, str]:
        return post(self.receiver_url, body)

    def paid_rows(self) -> Dict[str, Tuple[str, int]]:
        with sqlite3.connect(self.db) as db:
            rows = db.execute("SELECT orderid, localusermark, amount FROM paid").fetchall()
        return {orderid: (mark, amount) for orderid, mark, amount in rows}

    # ---- tests

    def test_gateway_callback_pays_the_receiver(self) -> None:
        order = self.place_and_pay("pyshop")
        oid = order["orderid"]
        self.receiver_out.expect_line(f"PAID {oid} {AMOUNT}", CALLBACK_TIMEOUT)
        self.wait_delivered("pyshop", oid)
        self.assertEqual(self.paid_rows().get(oid), (order["localusermark"], AMOUNT))

    def test_genuine_gateway_callback_accepted_tampered_copies_refused(self) -> None:
        order = self.place_and_pay("capture")
        oid = order["orderid"]

        # The gateway's real callback, as it arrived at the capture endpoint.
        def captured() -> Optional[bytes]:
            mine = [b for b in self.capture.bodies() if json.loads(b).get("orderid") == oid]
            return mine[0] if mine else None
        body = wait_until(captured, CALLBACK_TIMEOUT, f"the gateway's callback for {oid}")
        path, headers, _ = next(r for r in self.capture.requests if r[2] == body)
        self.assertEqual(path, "/usdt/notify")
        self.assertTrue(headers.get("content-type", "").startswith("application/json"), headers)
        fields = json.loads(body)
        self.assertEqual(sorted(fields), ["amount", "localusermark", "orderid", "sign", "t"])
        self.assertEqual((fields["orderid"], fields["localusermark"], fields["amount"]),
                         (oid, order["localusermark"], str(AMOUNT)))
        self.assertLessEqual(abs(int(fields["t"]) - time.time()), 60)
        ur.verify_callback(body, self.secret)  # the component accepts it too
        self.wait_delivered("capture", oid)

        def tampered(**change: str) -> bytes:
            return json.dumps(dict(fields, **change), separators=(",", ":")).encode()

        forged_amount = tampered(amount="99005000")
        forged_orderid = tampered(orderid=f"capture-e2e-{secrets.token_hex(6)}")
        refused = (400, "fail: SIGN_MISMATCH")

        # 1. tampered before the genuine one arrives: refused, the order stays unpaid
        self.assertEqual(self.to_receiver(forged_amount), refused)
        self.receiver_out.expect_line("REJECTED SIGN_MISMATCH sign")
        self.assertNotIn(oid, self.paid_rows())

        # 2. the exact bytes the gateway sent: paid, with the amount the gateway signed
        self.assertEqual(self.to_receiver(body), (200, "success"))
        self.receiver_out.expect_line(f"PAID {oid} {AMOUNT}")

        # 3. amount or orderid changed in transit: refused, nothing credited
        self.assertEqual(self.to_receiver(forged_amount), refused)
        self.receiver_out.expect_line("REJECTED SIGN_MISMATCH sign")
        self.assertEqual(self.to_receiver(forged_orderid), refused)
        self.receiver_out.expect_line("REJECTED SIGN_MISMATCH sign")

        # 4. the genuine body replayed: `success` (idempotent), never paid twice
        self.assertEqual(self.to_receiver(body), (200, "success"))
        self.receiver_out.expect_line(f"ALREADY_PAID {oid}")

        rows = self.paid_rows()
        self.assertEqual(rows.get(oid), (order["localusermark"], AMOUNT))
        self.assertNotIn(json.loads(forged_orderid)["orderid"], rows)
        printed_paid = [line for line in self.receiver_out.all() if line.startswith(f"PAID {oid} ")]
        self.assertEqual(printed_paid, [f"PAID {oid} {AMOUNT}"])


if __name__ == "__main__":
    unittest.main()

"""End to end: receiver.py in a subprocess on a free port, fed the exact bodies the
gateway sends (the component's build-callback-body)."""

from __future__ import annotations

import json
import os
import queue
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request
from pathlib import Path
from typing import Tuple

import usdt_recharge as ur

HERE = Path(__file__).resolve().parents[1]
SECRET = "merchant-secret-e2e"


class Receiver(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.tmp = tempfile.TemporaryDirectory()
        cls.db = Path(cls.tmp.name) / "paid.sqlite3"
        env = dict(os.environ, USDT_MERCHANT_SECRET=SECRET, PYTHONUNBUFFERED="1")
        cls.proc = subprocess.Popen(
            [sys.executable, str(HERE / "receiver.py"), "--host", "127.0.0.1", "--port", "0",
             "--db", str(cls.db)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        cls.lines: "queue.Queue[str]" = queue.Queue()

        def pump() -> None:
            assert cls.proc.stdout is not None
            for line in cls.proc.stdout:
                cls.lines.put(line.rstrip("\n"))
        threading.Thread(target=pump, daemon=True).start()
        first = cls.next_line(timeout=60)
        if not first.startswith("listening on "):
            cls.proc.kill()
            raise RuntimeError(f"receiver did not start: {first!r}")
        cls.url = first[len("listening on "):]

    @classmethod
    def tearDownClass(cls) -> None:
        cls.proc.terminate()
        try:
            cls.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover
            cls.proc.kill()
        cls.tmp.cleanup()

    @classmethod
    def next_line(cls, timeout: float = 10) -> str:
        try:
            return cls.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("the receiver printed nothing") from None

    def post(self, body: str, method: str = "POST") -> Tuple[int, str]:
        req = urllib.request.Request(self.url, data=body.encode() if body is not None else None,
                                     method=method, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def paid_rows(self) -> list:
        with sqlite3.connect(self.db) as db:
            return db.execute("SELECT orderid, localusermark, amount FROM paid ORDER BY orderid").fetchall()

    def test_pays_once_rejects_tampering(self) -> None:
        fields = dict(orderid="shop-20250905-e2e001", localusermark="uid-42", amount=1_005_000)
        body = ur.build_callback_body(dict(fields, t=int(time.time())), SECRET)

        # 1. the gateway's body: paid
        self.assertEqual(self.post(body), (200, "success"))
        self.assertEqual(self.next_line(), "PAID shop-20250905-e2e001 1005000")

        # 2. the amount changed in transit: refused, nothing paid
        tampered = json.loads(body)
        tampered["amount"] = "99005000"
        status, text = self.post(json.dumps(tampered, separators=(",", ":")))
        self.assertEqual((status, text), (400, "fail: SIGN_MISMATCH"))
        self.assertEqual(self.next_line(), "REJECTED SIGN_MISMATCH sign")

        # 3. the same body replayed, and a gateway retry with a fresh t and sign:
        #    answered `success` (so the gateway stops), never paid twice
        self.assertEqual(self.post(body), (200, "success"))
        self.assertEqual(self.next_line(), "ALREADY_PAID shop-20250905-e2e001")
        retry = ur.build_callback_body(dict(fields, t=int(time.time()) + 1), SECRET)
        self.assertNotEqual(retry, body)
        self.assertEqual(self.post(retry), (200, "success"))
        self.assertEqual(self.next_line(), "ALREADY_PAID shop-20250905-e2e001")

        # 4. outside the ±300 s window, signed with another secret, not JSON
        stale = ur.build_callback_body(dict(fields, orderid="shop-stale", t=int(time.time()) - 400), SECRET)
        self.assertEqual(self.post(stale), (400, "fail: TIMESTAMP_OUT_OF_WINDOW"))
        self.assertEqual(self.next_line(), "REJECTED TIMESTAMP_OUT_OF_WINDOW t")
        forged = ur.build_callback_body(dict(fields, orderid="shop-forged", t=int(time.time())), "guess")
        self.assertEqual(self.post(forged), (400, "fail: SIGN_MISMATCH"))
        self.assertEqual(self.next_line(), "REJECTED SIGN_MISMATCH sign")
        self.assertEqual(self.post("orderid=1"), (400, "fail: INVALID_JSON"))
        self.assertEqual(self.next_line(), "REJECTED INVALID_JSON -")

        # 5. only POST; bodies over 64 KiB are refused
        self.assertEqual(self.post(None, method="GET")[0], 405)
        self.assertEqual(self.post("x" * (70 * 1024))[0], 413)

        self.assertEqual(self.paid_rows(), [("shop-20250905-e2e001", "uid-42", 1_005_000)])


if __name__ == "__main__":
    unittest.main()

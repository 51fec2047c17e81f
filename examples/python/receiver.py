#!/usr/bin/env python3
"""A merchant's callback receiver for the USDT Recharge API V2 (standard library only,
plus the protocol component through ``usdt_recharge``).

The gateway POSTs ``{"orderid","localusermark","amount","t","sign"}`` (all strings) to the
order's ``notify_url``. This server:

* verifies every body through the component (fields, sign with the merchant secret,
  ``|now - t| <= 300`` s);
* marks the order paid **once**: a retry or a replay of an already-paid order answers
  ``success`` again without crediting twice (sqlite3 ``INSERT OR IGNORE`` on the order id);
* answers ``200 success`` when the callback is verified (new or already paid), and
  ``400 fail: <CODE>`` when it is refused, so the gateway retries later.

A real merchant would also look the order up in its own database (is ``orderid`` one of
ours, does ``localusermark`` match?) and decide what to do when ``amount`` differs from
the ordered amount; the callback carries the amount actually received, which is what is
recorded here.

Run::

    USDT_MERCHANT_SECRET=... python receiver.py --host 127.0.0.1 --port 8080 --db paid.sqlite3

It prints ``listening on http://HOST:PORT/`` once ready (``--port 0`` picks a free port),
then one line per callback: ``PAID <orderid> <amount>``, ``ALREADY_PAID <orderid>`` or
``REJECTED <CODE> <field>``.
"""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Optional, Tuple

import usdt_recharge as ur

MAX_BODY = 64 * 1024


class Ledger:
    """Paid orders in sqlite3; ``mark_paid`` is atomic and idempotent per order id."""

    def __init__(self, path: str = ":memory:"):
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS paid ("
            " orderid TEXT PRIMARY KEY, localusermark TEXT NOT NULL, amount INTEGER NOT NULL,"
            " t INTEGER NOT NULL, sign TEXT NOT NULL, paid_at INTEGER NOT NULL)")

    def mark_paid(self, cb: ur.Callback) -> bool:
        """True when this call paid the order, False when it was already paid."""
        with self._lock:
            cur = self._db.execute(
                "INSERT OR IGNORE INTO paid (orderid, localusermark, amount, t, sign, paid_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (cb.orderid, cb.localusermark, cb.amount, cb.t, cb.sign, int(time.time())))
            return cur.rowcount == 1

    def paid(self) -> list:
        with self._lock:
            return self._db.execute(
                "SELECT orderid, localusermark, amount FROM paid ORDER BY orderid").fetchall()

    def close(self) -> None:
        with self._lock:
            self._db.close()


def make_server(host: str, port: int, secret: str, ledger: Optional[Ledger] = None,
                clock: Callable[[], int] = lambda: int(time.time()),
                window: Optional[int] = None,
                log: Callable[[str], None] = print) -> Tuple[ThreadingHTTPServer, Ledger]:
    """An HTTP server (not yet serving) that verifies callbacks with ``secret``; ``window``
    defaults to the protocol's callback window, which the component states."""
    if not secret:
        raise ValueError("the merchant secret is empty")
    ledger = ledger or Ledger()
    ur.default()  # compile the component before the first request

    class Handler(BaseHTTPRequestHandler):
        server_version = "usdt-recharge-receiver/1"

        def _answer(self, status: int, text: str, extra: Tuple[Tuple[str, str], ...] = ()) -> None:
            data = text.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for k, v in extra:
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            try:
                length = int(self.headers.get("Content-Length", ""))
            except ValueError:
                self._answer(411, "fail: LENGTH_REQUIRED")
                return
            if length < 0 or length > MAX_BODY:
                if 0 < length <= 16 * MAX_BODY:
                    self.rfile.read(length)  # discard, so the client reads the answer
                self.close_connection = True
                self._answer(413, "fail: BODY_TOO_LARGE", (("Connection", "close"),))
                return
            body = self.rfile.read(length)
            try:
                cb = ur.verify_callback(body, secret, now=clock(), window=window)
            except ur.RechargeError as e:
                log(f"REJECTED {e.code} {e.field or '-'}")
                self._answer(400, f"fail: {e.code}")
                return
            if ledger.mark_paid(cb):
                # Credit the user here (in the same transaction as the insert, in real code).
                log(f"PAID {cb.orderid} {cb.amount}")
            else:
                log(f"ALREADY_PAID {cb.orderid}")
            self._answer(200, "success")

        def _not_allowed(self) -> None:
            self._answer(405, "fail: METHOD_NOT_ALLOWED", (("Allow", "POST"),))

        do_GET = do_PUT = do_DELETE = do_PATCH = _not_allowed  # noqa: N815

        def log_message(self, format: str, *args: object) -> None:  # quiet access log
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server, ledger


def main(argv: Optional[list] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080, help="0 picks a free port")
    p.add_argument("--db", default=":memory:", help="sqlite3 file for paid orders (default: memory)")
    p.add_argument("--window", type=int, default=None,
                   help="seconds (default: the protocol's, from the component: 300)")
    args = p.parse_args(argv)
    secret = os.environ.get("USDT_MERCHANT_SECRET", "")
    if not secret:
        print("set USDT_MERCHANT_SECRET to the merchant secret", file=sys.stderr)
        return 2
    server, ledger = make_server(args.host, args.port, secret, Ledger(args.db), window=args.window,
                                 log=lambda line: print(line, flush=True))
    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    host, port = server.server_address[:2]
    print(f"listening on http://{host}:{port}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        ledger.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Gateway side: validate an incoming order request body and check its sign.

This is what a gateway written in Python does with ``POST
/api/merchant/v2/TraderRechargeorder`` before it stores anything. The merchants' secrets
(here: a JSON file ``{"APPID": "SECRET"}``) are loaded once into a ``MerchantKeyring``
inside the component; then one call per request does it all:

1. every field rule of the protocol (types, lengths, characters, integer amount in
   1..=2^53-1, the address valid for its chain, ``chain`` agreeing, ``notify_url``, the
   sign's format), all rejections at once, in field order;
2. the merchant of ``appid`` (``UNKNOWN_APPID`` when there is none);
3. the MD5 sign with that merchant's secret, in constant time (``SIGN_MISMATCH``).

(The same in two steps, when the secret comes from elsewhere: ``parse_order(body)``, look
the secret up, ``verify_order(order, secret)``.)

Usage::

    python gateway_validate.py --secrets secrets.json < body.json
    python gateway_validate.py --secrets secrets.json body.json

Prints one JSON object: ``{"status": 1, "order": {…}}`` (exit 0) or
``{"status": 0, "codes": [...], "rejections": [...]}`` (exit 1).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Optional, Union

import usdt_recharge as ur


def validate(body: Union[str, bytes], keyring: ur.MerchantKeyring) -> dict:
    """The gateway's verdict on one order body, as a JSON-ready dict."""
    try:
        order = keyring.check_order(body)
    except ur.OrderRejected as e:
        return {"status": 0, "codes": e.codes,
                "rejections": [dataclasses.asdict(r) for r in e.rejections]}
    data = dataclasses.asdict(order)
    data["chain"] = order.chain.value
    data["amount_usdt"] = ur.format_amount(order.amount)
    return {"status": 1, "order": data}


def main(argv: Optional[list] = None) -> int:
    p = argparse.ArgumentParser(description="Validate an order request body and check its sign.")
    p.add_argument("--secrets", required=True, help='JSON file {"APPID": "SECRET", ...}')
    p.add_argument("body", nargs="?", help="file with the raw request body (default: stdin)")
    args = p.parse_args(argv)
    secrets = json.loads(Path(args.secrets).read_text(encoding="utf-8"))
    keyring = ur.keyring(secrets)  # once, at start-up; reused for every request
    body = Path(args.body).read_bytes() if args.body else sys.stdin.buffer.read()
    verdict = validate(body, keyring)
    print(json.dumps(verdict, ensure_ascii=False))
    return 0 if verdict["status"] == 1 else 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Independent test vectors for the USDT Recharge API V2 component.

Written from the integration guide (the "seed document": its `gen_sign`, its examples)
and the protocol decisions only, as docs/protocol.md states them (§2-§9; both documents
are described in its "Sources" section) -- never from the Rust guest. Python standard
library only (hashlib, hmac, json, random with a fixed seed, argparse, re, unicodedata).

    python3 tests/vectors/generate.py           # rewrite the JSON files next to this script
    python3 tests/vectors/generate.py --check   # exit 1 if a committed file is not current

See FORMAT.md for the file formats.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import random
import re
import sys
import unicodedata
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED = 20250905  # the guide's date (docs/protocol.md, Sources); fixes every "random" value below

U64_MAX = 2**64 - 1
I64_MAX = 2**63 - 1
U32_MAX = 2**32 - 1
JS_MAX = 2**53 - 1
U256_MAX = 2**256 - 1


# ---------------------------------------------------------------------------
# Keccak-256 (the original Keccak padding 0x01, not SHA3's 0x06)
# ---------------------------------------------------------------------------

def _rc_bit(t: int) -> int:
    if t % 255 == 0:
        return 1
    r = 1
    for _ in range(t % 255):
        r <<= 1
        if r & 0x100:
            r ^= 0x171  # x^8 + x^6 + x^5 + x^4 + 1
    return r & 1


_KECCAK_RC = [sum(_rc_bit(j + 7 * i) << ((1 << j) - 1) for j in range(7)) for i in range(24)]
_KECCAK_ROT = [[0] * 5 for _ in range(5)]
_x, _y = 1, 0
for _t in range(24):
    _KECCAK_ROT[_x][_y] = ((_t + 1) * (_t + 2) // 2) % 64
    _x, _y = _y, (2 * _x + 3 * _y) % 5
_M64 = (1 << 64) - 1


def _rol(v: int, n: int) -> int:
    n %= 64
    return ((v << n) | (v >> (64 - n))) & _M64 if n else v


def _keccak_f(a: list[int]) -> list[int]:
    for rnd in range(24):
        c = [a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20] for x in range(5)]
        d = [c[(x - 1) % 5] ^ _rol(c[(x + 1) % 5], 1) for x in range(5)]
        a = [a[i] ^ d[i % 5] for i in range(25)]
        b = [0] * 25
        for x in range(5):
            for y in range(5):
                b[y + 5 * ((2 * x + 3 * y) % 5)] = _rol(a[x + 5 * y], _KECCAK_ROT[x][y])
        a = [b[x + 5 * y] ^ ((~b[(x + 1) % 5 + 5 * y]) & b[(x + 2) % 5 + 5 * y]) for y in range(5) for x in range(5)]
        # the comprehension above is ordered y-major, i.e. index x + 5*y
        a[0] ^= _KECCAK_RC[rnd]
    return a


def keccak256(data: bytes, pad: int = 0x01) -> bytes:
    """Keccak-256 (pad 0x01, Ethereum); pad 0x06 gives SHA3-256, used only to self-test."""
    rate = 136
    msg = bytearray(data)
    msg.append(pad)
    while len(msg) % rate:
        msg.append(0)
    msg[-1] |= 0x80
    state = [0] * 25
    for off in range(0, len(msg), rate):
        block = msg[off:off + rate]
        for i in range(rate // 8):
            state[i] ^= int.from_bytes(block[8 * i:8 * i + 8], "little")
        state = _keccak_f(state)
    return b"".join(state[i].to_bytes(8, "little") for i in range(4))


# ---------------------------------------------------------------------------
# base58 / base58check (Bitcoin alphabet)
# ---------------------------------------------------------------------------

B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def b58encode(data: bytes) -> str:
    n = int.from_bytes(data, "big")
    out = ""
    while n:
        n, r = divmod(n, 58)
        out = B58[r] + out
    zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * zeros + out


def b58decode(text: str) -> bytes | None:
    n = 0
    for ch in text:
        i = B58.find(ch)
        if i < 0:
            return None
        n = n * 58 + i
    zeros = len(text) - len(text.lstrip("1"))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    return b"\0" * zeros + body


def checksum4(data: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()[:4]


def b58check_encode(payload: bytes) -> str:
    return b58encode(payload + checksum4(payload))


# ---------------------------------------------------------------------------
# Addresses
# ---------------------------------------------------------------------------

def eip55(hex40: str) -> str:
    """EIP-55 checksum of 40 hex digits (any case) -> '0x' + mixed case."""
    low = hex40.lower()
    h = keccak256(low.encode("ascii")).hex()
    return "0x" + "".join(c.upper() if c.isalpha() and int(h[i], 16) >= 8 else c for i, c in enumerate(low))


def inspect_address(addr: str):
    """-> (chain, canonical, evm_hex) or None (INVALID_ADDRESS)."""
    if not isinstance(addr, str):
        return None
    if addr.startswith("T"):
        raw = b58decode(addr)
        if raw is None or len(raw) != 25 or raw[0] != 0x41 or checksum4(raw[:21]) != raw[21:]:
            return None
        return ("TRC20", addr, "0x" + raw[1:21].hex())
    if addr.startswith("0x"):
        if not re.fullmatch(r"0x[0-9a-fA-F]{40}", addr):
            return None
        h = addr[2:]
        if not (h == h.lower() or h == h.upper()) and addr != eip55(h):
            return None
        return ("ERC20", "0x" + h.lower(), "0x" + h.lower())
    if addr.startswith("1") or addr.startswith("3"):
        raw = b58decode(addr)
        if raw is None or len(raw) != 25 or raw[0] not in (0x00, 0x05) or checksum4(raw[:21]) != raw[21:]:
            return None
        return ("OMNI", addr, None)
    return None


def tron_from_hex(text: str) -> str | None:
    if re.fullmatch(r"0x[0-9a-fA-F]{40}", text):
        body = bytes.fromhex(text[2:])
    elif re.fullmatch(r"41[0-9a-fA-F]{40}", text):
        body = bytes.fromhex(text[2:])
    else:
        return None
    return b58check_encode(b"\x41" + body)


def change_char(s: str, i: int) -> str:
    """Replace the base58 character at i by the next one in the alphabet."""
    c = s[i]
    return s[:i] + B58[(B58.index(c) + 1) % 58] + s[i + 1:]


# ---------------------------------------------------------------------------
# Signatures
# ---------------------------------------------------------------------------

def md5hex(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def order_plain(f: dict, secret: str) -> str:
    return "|".join([f["appid"], f["username"], f["localusermark"], f["address"], f["orderid"], str(f["amount"]), secret])


def callback_plain(f: dict, secret: str) -> str:
    return "|".join([f["orderid"], f["localusermark"], str(f["amount"]), str(f["t"]), secret])


def query_plain(appid: str, orderid: str, secret: str) -> str:
    return "|".join([appid, orderid, secret])


def callback_body(f: dict, sign: str) -> str:
    d = {"orderid": f["orderid"], "localusermark": f["localusermark"], "amount": str(f["amount"]),
         "t": str(f["t"]), "sign": sign}
    return json.dumps(d, separators=(",", ":"), ensure_ascii=False)


# ---------------------------------------------------------------------------
# Amounts
# ---------------------------------------------------------------------------

def parse_usdt(text: str):
    m = re.fullmatch(r"(0|[1-9][0-9]*)(?:\.([0-9]{1,4}))?", text, flags=re.ASCII)
    if not m:
        return None
    v = int(m.group(1)) * 10000 + int((m.group(2) or "").ljust(4, "0"))
    return v if v <= I64_MAX else None


def format_usdt(n: int) -> str:
    return f"{n // 10000}.{n % 10000:04d}"


def from_chain_units(value: str, decimals: int):
    if re.fullmatch(r"[0-9]+", value, flags=re.ASCII):
        v = int(value)
    elif re.fullmatch(r"0x[0-9a-fA-F]{1,64}", value, flags=re.ASCII):
        v = int(value[2:], 16)
    else:
        return None
    if v > U256_MAX or not 0 <= decimals <= 18:
        return None
    if decimals >= 4:
        div = 10 ** (decimals - 4)
        scaled, dust = divmod(v, div)
    else:
        scaled, dust = v * 10 ** (4 - decimals), 0
    if scaled > I64_MAX:
        return None
    return scaled, dust


# ---------------------------------------------------------------------------
# JSON with raw number tokens and duplicate detection
# ---------------------------------------------------------------------------

class RawNum:
    """A JSON number token, kept as written."""

    def __init__(self, text: str):
        self.text = text


class Pairs(list):
    """A JSON object as its list of (key, value) pairs, duplicates kept."""


def _no_constant(name):
    raise ValueError(f"not JSON: {name}")


def load_object(body: str, known: tuple[str, ...]):
    """-> dict of the top-level object, or None for INVALID_JSON."""
    try:
        v = json.loads(body, object_pairs_hook=Pairs, parse_int=RawNum, parse_float=RawNum,
                       parse_constant=_no_constant)
    except (ValueError, RecursionError):
        return None
    if not isinstance(v, Pairs):
        return None
    keys = [k for k, _ in v]
    if any(keys.count(k) > 1 for k in known):
        return None
    return dict(v)


# ---------------------------------------------------------------------------
# Field rules
# ---------------------------------------------------------------------------

ID_RE = r"[A-Za-z0-9_-]{1,64}"


def ok_id(v) -> bool:
    return isinstance(v, str) and re.fullmatch(ID_RE, v, flags=re.ASCII) is not None


def ok_text(v, max_chars: int) -> bool:
    if not isinstance(v, str) or not 1 <= len(v) <= max_chars:
        return False
    if "|" in v or any(unicodedata.category(c) == "Cc" for c in v):
        return False
    return not (v[0].isspace() or v[-1].isspace())


def ok_notify_url(v) -> bool:
    if not isinstance(v, str) or not 1 <= len(v) <= 1024:
        return False
    if any(not 0x21 <= ord(c) <= 0x7E for c in v):
        return False
    for scheme in ("http://", "https://"):
        if v.startswith(scheme):
            rest = v[len(scheme):]
            authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
            return authority != "" and "@" not in authority
    return False


ORDER_KNOWN = ("appid", "username", "localusermark", "address", "orderid", "amount", "chain", "notify_url", "sign")
CHAINS = ("TRC20", "ERC20", "OMNI")


def parse_order(body: str):
    """-> ("accept", dict) or ("reject", [codes])."""
    obj = load_object(body, ORDER_KNOWN)
    if obj is None:
        return ("reject", ["INVALID_JSON"])
    g = {k: obj.get(k) for k in ORDER_KNOWN}  # null == absent
    codes = []
    for name in ("appid", "username", "localusermark", "address", "orderid", "amount"):
        v = g[name]
        if v is None:
            codes.append("MISSING_FIELD")
        elif name in ("appid", "orderid") and not ok_id(v):
            codes.append("INVALID_FIELD")
        elif name == "username" and not ok_text(v, 64):
            codes.append("INVALID_FIELD")
        elif name == "localusermark" and not ok_text(v, 128):
            codes.append("INVALID_FIELD")
        elif name == "address" and inspect_address(v) is None:
            codes.append("INVALID_ADDRESS")
        elif name == "amount" and not (isinstance(v, RawNum) and re.fullmatch(r"[0-9]+", v.text, flags=re.ASCII)
                                       and 1 <= int(v.text) <= JS_MAX):
            codes.append("INVALID_AMOUNT")
    info = inspect_address(g["address"]) if g["address"] is not None else None
    chain = g["chain"]
    if chain is not None:
        if not (isinstance(chain, str) and chain in CHAINS):
            codes.append("UNSUPPORTED_CHAIN")
        elif info is not None and info[0] != chain:
            codes.append("CHAIN_MISMATCH")
    if g["notify_url"] is not None and not ok_notify_url(g["notify_url"]):
        codes.append("INVALID_NOTIFY_URL")
    sign = g["sign"]
    if sign is None:
        codes.append("MISSING_FIELD")
    elif not (isinstance(sign, str) and re.fullmatch(r"[0-9a-f]{32}", sign)):
        codes.append("INVALID_SIGN")
    if codes:
        return ("reject", codes)
    return ("accept", {
        "appid": g["appid"], "username": g["username"], "localusermark": g["localusermark"],
        "address": g["address"], "orderid": g["orderid"], "amount": int(g["amount"].text),
        "chain": chain if chain is not None else info[0], "canonical_address": info[1],
        "notify_url": g["notify_url"], "sign": sign,
    })


CALLBACK_KNOWN = ("orderid", "localusermark", "amount", "t", "sign")


def verify_callback(body: str, secret: str, now: int, window: int):
    """-> ("accept", dict) or ("reject", code)."""
    obj = load_object(body, CALLBACK_KNOWN)
    if obj is None:
        return ("reject", "INVALID_JSON")
    g = {k: obj.get(k) for k in CALLBACK_KNOWN}
    non_string = {"amount": "INVALID_AMOUNT", "sign": "INVALID_SIGN"}
    for name in CALLBACK_KNOWN:
        v = g[name]
        if v is None:
            return ("reject", "MISSING_FIELD")
        if not isinstance(v, str):
            return ("reject", non_string.get(name, "INVALID_FIELD"))
        if name == "orderid" and not ok_id(v):
            return ("reject", "INVALID_FIELD")
        if name == "localusermark" and not ok_text(v, 128):
            return ("reject", "INVALID_FIELD")
        if name == "amount" and not (re.fullmatch(r"0|[1-9][0-9]*", v, flags=re.ASCII) and int(v) <= I64_MAX):
            return ("reject", "INVALID_AMOUNT")
        if name == "t" and not (re.fullmatch(r"0|[1-9][0-9]*", v, flags=re.ASCII) and int(v) <= U64_MAX):
            return ("reject", "INVALID_FIELD")
        if name == "sign" and not re.fullmatch(r"[0-9a-f]{32}", v):
            return ("reject", "INVALID_SIGN")
    fields = {"orderid": g["orderid"], "localusermark": g["localusermark"], "amount": int(g["amount"]), "t": int(g["t"])}
    if md5hex(callback_plain(fields, secret)) != g["sign"]:
        return ("reject", "SIGN_MISMATCH")
    if abs(now - fields["t"]) > window:
        return ("reject", "TIMESTAMP_OUT_OF_WINDOW")
    return ("accept", dict(fields, sign=g["sign"]))


# ---------------------------------------------------------------------------
# Order ids
# ---------------------------------------------------------------------------

B36 = "0123456789abcdefghijklmnopqrstuvwxyz"
PREFIX_RE = r"[A-Za-z0-9_]{1,48}"


def is_real_date(y: int, m: int, d: int) -> bool:
    if not (1 <= y <= 9999 and 1 <= m <= 12 and d >= 1):
        return False
    leap = y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)
    days = [31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]
    return d <= days


def make_orderid(prefix: str, date: tuple[int, int, int], entropy: int):
    if not re.fullmatch(PREFIX_RE, prefix, flags=re.ASCII) or not is_real_date(*date):
        return None
    r = entropy % 36**6
    rnd = ""
    for _ in range(6):
        r, k = divmod(r, 36)
        rnd = B36[k] + rnd
    y, m, d = date
    return f"{prefix}-{y:04d}{m:02d}{d:02d}-{rnd}"


def check_orderid(orderid: str):
    parts = orderid.split("-")
    if len(parts) != 3:
        return None
    prefix, ymd, rnd = parts
    if not re.fullmatch(PREFIX_RE, prefix, flags=re.ASCII) or not re.fullmatch(r"[0-9]{8}", ymd, flags=re.ASCII):
        return None
    date = (int(ymd[:4]), int(ymd[4:6]), int(ymd[6:]))
    if not is_real_date(*date) or not re.fullmatch(r"[a-z0-9]{6}", rnd, flags=re.ASCII):
        return None
    return prefix, list(date), rnd


# ---------------------------------------------------------------------------
# Confirmations
# ---------------------------------------------------------------------------

def rule(default_required: int, large_amount: int, large_required: int) -> dict:
    return {"default_required": default_required, "large_amount": large_amount, "large_required": large_required}


def required_confirmations(chain: str, amount: int, policy: dict) -> int:
    r = policy["base"]
    for c, over in policy["overrides"]:
        if c == chain:
            r = over
            break
    req = r["default_required"] if amount < r["large_amount"] else max(r["large_required"], r["default_required"])
    return max(1, req)


def validate_policy(policy: dict) -> bool:
    rules = [policy["base"]] + [r for _, r in policy["overrides"]]
    if any(r["default_required"] < 1 or r["large_required"] < r["default_required"] for r in rules):
        return False
    chains = [c for c, _ in policy["overrides"]]
    return len(chains) == len(set(chains))


def count_confirmations(head: int, block: int) -> int:
    return head - block + 1 if block <= head else 0


def deposit_state(confirmations: int, required: int) -> str:
    if confirmations == 0:
        return "pending"
    return "confirmed" if confirmations >= required else "confirming"


# ---------------------------------------------------------------------------
# Known answers
# ---------------------------------------------------------------------------

EIP55_EXAMPLES = [  # from EIP-55 itself
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
    "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
    "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
]
EIP55_SINGLE_CASE = [  # EIP-55's all-caps and all-lower examples
    "0x52908400098527886E0F7030069857D2E4169EE7",
    "0x8617E340B3D01FA5F11F306F4090FD50E238070D",
    "0xde709f2102306220921060314715629080e2fb77",
    "0x27b1fdb04752bbc536007a920d24acb045561c26",
]
TRON_USDT = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"
TRON_USDT_HEX = "41a614f803b6fd780986a42c78ec9c7f77e6ded13c"
BTC_GENESIS = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"
BTC_GENESIS_H160 = "62e907b15cbf27d5425399ebf6f0fb50ebb88f18"


def self_check() -> None:
    assert keccak256(b"").hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    assert keccak256(b"abc").hex() == "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"
    for n in (0, 1, 135, 136, 137, 271, 272, 300):  # same permutation and absorption as SHA3-256
        msg = bytes(range(256))[:n] if n <= 256 else bytes(range(256)) + b"x" * (n - 256)
        assert keccak256(msg, pad=0x06) == hashlib.sha3_256(msg).digest(), n
    assert hashlib.sha3_256(b"").hexdigest() != keccak256(b"").hex()
    for a in EIP55_EXAMPLES + EIP55_SINGLE_CASE:
        if a[2:] != a[2:].lower() and a[2:] != a[2:].upper():
            assert eip55(a[2:]) == a, a
        assert eip55(a[2:].lower()) == eip55(a[2:].upper())
        assert inspect_address(a) == ("ERC20", a.lower(), a.lower()), a
    raw = b58decode(TRON_USDT)
    assert raw is not None and raw[:21].hex() == TRON_USDT_HEX and checksum4(raw[:21]) == raw[21:]
    assert b58check_encode(bytes.fromhex(TRON_USDT_HEX)) == TRON_USDT
    assert tron_from_hex(TRON_USDT_HEX) == TRON_USDT
    assert inspect_address(TRON_USDT) == ("TRC20", TRON_USDT, "0x" + TRON_USDT_HEX[2:])
    raw = b58decode(BTC_GENESIS)
    assert raw is not None and raw[0] == 0 and raw[1:21].hex() == BTC_GENESIS_H160
    assert b58check_encode(b"\0" + bytes.fromhex(BTC_GENESIS_H160)) == BTC_GENESIS
    assert inspect_address(BTC_GENESIS) == ("OMNI", BTC_GENESIS, None)
    assert b58encode(b"\0\0\x01") == "112" and b58decode("112") == b"\0\0\x01"
    assert md5hex("") == "d41d8cd98f00b204e9800998ecf8427e"
    # RIPEMD-160 paper, appendix B; secp256k1: 2G and n*G.
    assert ripemd160(b"").hex() == "9c1185a5c5e9fc54612808977ee8f548b2258d31"
    assert ripemd160(b"abc").hex() == "8eb208f7e05d987a9b044a8e98c6b087f15a0bfc"
    assert ripemd160(b"a" * 1000).hex() == "aa69deee9a8922e92f8105e007f76110f381e9cf"
    assert ec_mul(2)[0] == 0xC6047F9441ED7D6D3045406E95C07CD85C778E4B8CEF3CA7ABAC09B95C709EE5
    assert ec_mul(SECP_N) is None
    assert parse_usdt("900719925474.0991") == JS_MAX
    assert parse_usdt("922337203685477.5807") == I64_MAX
    assert format_usdt(U64_MAX) == "1844674407370955.1615"


# ---------------------------------------------------------------------------
# secp256k1, RIPEMD-160, BIP32 (private and public derivation), BIP39 seeds
# (SEC 2, the RIPEMD-160 paper, BIP32, BIP39; for the `derivation` interface, 2.2.0)
# ---------------------------------------------------------------------------

SECP_P = 2**256 - 2**32 - 977
SECP_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
SECP_G = (0x79BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798,
          0x483ADA7726A3C4655DA4FBFC0E1108A8FD17B448A68554199C47D08FFB10D4B8)


def ec_add(a, b):
    """Affine point addition; None is the point at infinity."""
    if a is None:
        return b
    if b is None:
        return a
    if a[0] == b[0] and (a[1] + b[1]) % SECP_P == 0:
        return None
    if a == b:
        lam = 3 * a[0] * a[0] * pow(2 * a[1], -1, SECP_P)
    else:
        lam = (b[1] - a[1]) * pow(b[0] - a[0], -1, SECP_P)
    x = (lam * lam - a[0] - b[0]) % SECP_P
    return (x, (lam * (a[0] - x) - a[1]) % SECP_P)


def ec_mul(k: int, point=SECP_G):
    out = None
    while k:
        if k & 1:
            out = ec_add(out, point)
        point = ec_add(point, point)
        k >>= 1
    return out


def ser_p(point, compressed: bool = True) -> bytes:
    x, y = point
    if compressed:
        return bytes([2 + (y & 1)]) + x.to_bytes(32, "big")
    return b"\x04" + x.to_bytes(32, "big") + y.to_bytes(32, "big")


def lift_x(data: bytes):
    """A compressed SEC1 point -> affine point, or None when it is not on the curve."""
    if len(data) != 33 or data[0] not in (2, 3):
        return None
    x = int.from_bytes(data[1:], "big")
    if x >= SECP_P:
        return None
    y = pow((x ** 3 + 7) % SECP_P, (SECP_P + 1) // 4, SECP_P)
    if (y * y - x ** 3 - 7) % SECP_P:
        return None
    return (x, y if (y & 1) == (data[0] & 1) else SECP_P - y)


_RMD_R1 = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 7, 4, 13, 1, 10, 6, 15, 3, 12, 0, 9, 5, 2, 14,
           11, 8, 3, 10, 14, 4, 9, 15, 8, 1, 2, 7, 0, 6, 13, 11, 5, 12, 1, 9, 11, 10, 0, 8, 12, 4, 13, 3, 7, 15,
           14, 5, 6, 2, 4, 0, 5, 9, 7, 12, 2, 10, 14, 1, 3, 8, 11, 6, 15, 13]
_RMD_R2 = [5, 14, 7, 0, 9, 2, 11, 4, 13, 6, 15, 8, 1, 10, 3, 12, 6, 11, 3, 7, 0, 13, 5, 10, 14, 15, 8, 12, 4, 9,
           1, 2, 15, 5, 1, 3, 7, 14, 6, 9, 11, 8, 12, 2, 10, 0, 4, 13, 8, 6, 4, 1, 3, 11, 15, 0, 5, 12, 2, 13, 9,
           7, 10, 14, 12, 15, 10, 4, 1, 5, 8, 7, 6, 2, 13, 14, 0, 3, 9, 11]
_RMD_S1 = [11, 14, 15, 12, 5, 8, 7, 9, 11, 13, 14, 15, 6, 7, 9, 8, 7, 6, 8, 13, 11, 9, 7, 15, 7, 12, 15, 9, 11,
           7, 13, 12, 11, 13, 6, 7, 14, 9, 13, 15, 14, 8, 13, 6, 5, 12, 7, 5, 11, 12, 14, 15, 14, 15, 9, 8, 9, 14,
           5, 6, 8, 6, 5, 12, 9, 15, 5, 11, 6, 8, 13, 12, 5, 12, 13, 14, 11, 8, 5, 6]
_RMD_S2 = [8, 9, 9, 11, 13, 15, 15, 5, 7, 7, 8, 11, 14, 14, 12, 6, 9, 13, 15, 7, 12, 8, 9, 11, 7, 7, 12, 7, 6,
           15, 13, 11, 9, 7, 15, 11, 8, 6, 6, 14, 12, 13, 5, 14, 13, 13, 7, 5, 15, 5, 8, 11, 14, 14, 6, 14, 6, 9,
           12, 9, 12, 5, 15, 8, 8, 5, 12, 9, 12, 5, 14, 6, 8, 13, 6, 5, 15, 13, 11, 11]
_RMD_K1 = [0x00000000, 0x5A827999, 0x6ED9EBA1, 0x8F1BBCDC, 0xA953FD4E]
_RMD_K2 = [0x50A28BE6, 0x5C4DD124, 0x6D703EF3, 0x7A6D76E9, 0x00000000]
_M32 = 0xFFFFFFFF


def _rmd_f(j: int, x: int, y: int, z: int) -> int:
    return [x ^ y ^ z, (x & y) | (~x & z), (x | ~y) ^ z, (x & z) | (y & ~z), x ^ (y | ~z)][j // 16] & _M32


def _rol32(v: int, n: int) -> int:
    return ((v << n) | (v >> (32 - n))) & _M32


def ripemd160(data: bytes) -> bytes:
    """RIPEMD-160 (Dobbertin, Bosselaers, Preneel); hashlib may lack it under OpenSSL 3."""
    msg = bytearray(data) + b"\x80"
    while len(msg) % 64 != 56:
        msg.append(0)
    msg += (8 * len(data)).to_bytes(8, "little")
    h = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0]
    for off in range(0, len(msg), 64):
        x = [int.from_bytes(msg[off + 4 * i:off + 4 * i + 4], "little") for i in range(16)]
        al, bl, cl, dl, el = h
        ar, br, cr, dr, er = h
        for j in range(80):
            t = _rol32((al + _rmd_f(j, bl, cl, dl) + x[_RMD_R1[j]] + _RMD_K1[j // 16]) & _M32, _RMD_S1[j]) + el
            al, el, dl, cl, bl = el, dl, _rol32(cl, 10), bl, t & _M32
            t = _rol32((ar + _rmd_f(79 - j, br, cr, dr) + x[_RMD_R2[j]] + _RMD_K2[j // 16]) & _M32, _RMD_S2[j]) + er
            ar, er, dr, cr, br = er, dr, _rol32(cr, 10), br, t & _M32
        h = [(h[1] + cl + dr) & _M32, (h[2] + dl + er) & _M32, (h[3] + el + ar) & _M32,
             (h[4] + al + br) & _M32, (h[0] + bl + cr) & _M32]
    return b"".join(v.to_bytes(4, "little") for v in h)


def hash160(data: bytes) -> bytes:
    return ripemd160(hashlib.sha256(data).digest())


XPUB_VERSION = bytes.fromhex("0488b21e")
XPRV_VERSION = bytes.fromhex("0488ade4")
HARDENED = 2**31


class XKey:
    """An extended key: private when `k` is set, public otherwise (point `K`)."""

    def __init__(self, depth, parent_fp, child, chain_code, k=None, K=None):
        self.depth, self.parent_fp, self.child, self.chain_code = depth, parent_fp, child, chain_code
        self.k = k
        self.K = K if K is not None else ec_mul(k)

    @staticmethod
    def master(seed: bytes) -> "XKey":
        i = hmac.new(b"Bitcoin seed", seed, hashlib.sha512).digest()
        return XKey(0, b"\0" * 4, 0, i[32:], k=int.from_bytes(i[:32], "big"))

    def fingerprint(self) -> bytes:
        return hash160(ser_p(self.K))[:4]

    def child_key(self, index: int) -> "XKey":
        """CKDpriv when private, CKDpub when public (BIP32)."""
        if index >= HARDENED:
            assert self.k is not None, "hardened needs the private key"
            data = b"\0" + self.k.to_bytes(32, "big") + index.to_bytes(4, "big")
        else:
            data = ser_p(self.K) + index.to_bytes(4, "big")
        i = hmac.new(self.chain_code, data, hashlib.sha512).digest()
        il = int.from_bytes(i[:32], "big")
        assert il < SECP_N
        fp = self.fingerprint()
        if self.k is not None:
            k = (il + self.k) % SECP_N
            assert k
            return XKey(self.depth + 1, fp, index, i[32:], k=k)
        return XKey(self.depth + 1, fp, index, i[32:], K=ec_add(ec_mul(il), self.K))

    def path(self, path: str) -> "XKey":
        key = self
        for part in path.split("/")[1:]:
            key = key.child_key(int(part.rstrip("'H")) + (HARDENED if part[-1] in "'H" else 0))
        return key

    def neuter(self) -> "XKey":
        return XKey(self.depth, self.parent_fp, self.child, self.chain_code, K=self.K)

    def serialize(self, private: bool = False) -> str:
        body = (bytes([self.depth]) + self.parent_fp + self.child.to_bytes(4, "big") + self.chain_code)
        if private:
            return b58check_encode(XPRV_VERSION + body + b"\0" + self.k.to_bytes(32, "big"))
        return b58check_encode(XPUB_VERSION + body + ser_p(self.K))


def bip39_seed(mnemonic: str, passphrase: str = "") -> bytes:
    return hashlib.pbkdf2_hmac("sha512", mnemonic.encode(), ("mnemonic" + passphrase).encode(), 2048)


def key_address(point, chain: str) -> str:
    """The deposit address of a public key on `chain` (TRC20, ERC20, OMNI)."""
    if chain == "OMNI":
        return b58check_encode(b"\0" + hash160(ser_p(point)))
    account = keccak256(ser_p(point, compressed=False)[1:])[-20:]
    return b58check_encode(b"\x41" + account) if chain == "TRC20" else eip55(account.hex())


# ---------------------------------------------------------------------------
# Vector builders
# ---------------------------------------------------------------------------

class Gen:
    def __init__(self) -> None:
        self.rng = random.Random(SEED)

    def bytes20(self) -> bytes:
        return self.rng.getrandbits(160).to_bytes(20, "big")

    def tron(self) -> str:
        return b58check_encode(b"\x41" + self.bytes20())

    def erc(self) -> str:
        while True:
            a = eip55(self.bytes20().hex())
            h = a[2:]
            if h != h.lower() and h != h.upper():
                return a

    def p2pkh(self) -> str:
        return b58check_encode(b"\x00" + self.bytes20())

    def p2sh(self) -> str:
        return b58check_encode(b"\x05" + self.bytes20())


def build_addresses(gen: Gen, pool: dict) -> dict:
    inspect = []

    def ok(name, addr, chain):
        info = inspect_address(addr)
        assert info is not None and info[0] == chain, (name, addr)
        inspect.append({"name": name, "address": addr, "chain": info[0], "canonical": info[1], "evm_hex": info[2]})

    def bad(name, addr):
        assert inspect_address(addr) is None, (name, addr)
        inspect.append({"name": name, "address": addr, "error": "INVALID_ADDRESS"})

    # --- known answers
    ok("known: TRON USDT contract (TR7NH…, 41a614f8…)", TRON_USDT, "TRC20")
    ok("known: Bitcoin genesis P2PKH (1A1zP1…, version 0x00)", BTC_GENESIS, "OMNI")
    for i, a in enumerate(EIP55_EXAMPLES):
        ok(f"known: EIP-55 mixed-case example {i + 1}", a, "ERC20")
    for i, a in enumerate(EIP55_SINGLE_CASE):
        ok(f"known: EIP-55 single-case example {i + 1}", a, "ERC20")
    ok("known: EIP-55 example 1 all lowercase", EIP55_EXAMPLES[0].lower(), "ERC20")
    ok("known: EIP-55 example 2 all uppercase hex", "0x" + EIP55_EXAMPLES[1][2:].upper(), "ERC20")

    # --- random valid ones
    for i in range(4):
        ok(f"TRC20 random valid {i + 1}", pool["tron"][i], "TRC20")
    for i in range(3):
        ok(f"ERC20 random valid EIP-55 {i + 1}", pool["erc"][i], "ERC20")
    ok("ERC20 random valid all lowercase", pool["erc"][0].lower(), "ERC20")
    ok("ERC20 random valid all uppercase hex digits", "0x" + pool["erc"][1][2:].upper(), "ERC20")
    ok("ERC20 digits only (counts as both cases)", "0x1234567890123456789012345678901234567890", "ERC20")
    ok("ERC20 zero address", "0x" + "0" * 40, "ERC20")
    for i in range(3):
        ok(f"OMNI random valid P2PKH {i + 1}", pool["p2pkh"][i], "OMNI")
    for i in range(3):
        ok(f"OMNI random valid P2SH {i + 1}", pool["p2sh"][i], "OMNI")
    ok("TRC20 all-zero account (T9yD14Nj9j7xAB4dbGeiX9h8unkKHxuWwb)", b58check_encode(b"\x41" + b"\0" * 20), "TRC20")
    ok("OMNI P2PKH all-zero hash160 (1111111111111111111114oLvT2)", b58check_encode(b"\0" * 21), "OMNI")

    # --- TRC20 invalid
    t = pool["tron"][0]
    bad("TRC20 bad checksum: last char changed", change_char(t, len(t) - 1))
    bad("TRC20 bad checksum: middle char changed", change_char(t, 17))
    bad("TRC20 known address with one char changed", change_char(TRON_USDT, 5))
    v42 = b58check_encode(b"\x42" + gen.bytes20())
    assert v42.startswith("T")
    bad("TRC20-looking 'T…' with version byte 0x42 (valid checksum)", v42)
    v40 = None
    while v40 is None or not v40.startswith("T"):
        v40 = b58check_encode(b"\x40" + gen.bytes20())
    bad("TRC20-looking 'T…' with version byte 0x40 (valid checksum)", v40)
    long27 = b58check_encode(b"\xc1" + gen.rng.getrandbits(176).to_bytes(22, "big"))
    assert long27.startswith("T")
    bad("'T…' base58check of 27 bytes (wrong length, valid checksum)", long27)
    bad("TRC20 truncated by one char", t[:-1])
    bad("TRC20 with one extra char", t + "1")
    bad("TRC20 with base58-excluded char '0'", t[:10] + "0" + t[11:])
    bad("TRC20 with base58-excluded char 'l'", t[:10] + "l" + t[11:])
    bad("TRC20 lowercase 't' prefix", "t" + t[1:])
    bad("just 'T'", "T")
    bad("TRC20 hex form 41… is not an address", TRON_USDT_HEX)

    # --- ERC20 invalid
    e = EIP55_EXAMPLES[0]
    # flip the case of the first letter in the hex part
    i = next(k for k in range(2, 42) if e[k].isalpha())
    bad("ERC20 EIP-55 wrong case: first letter's case flipped", e[:i] + e[i].swapcase() + e[i + 1:])
    r = pool["erc"][2]
    j = max(k for k in range(2, 42) if r[k].isalpha())
    bad("ERC20 EIP-55 wrong case: last letter's case flipped (random)", r[:j] + r[j].swapcase() + r[j + 1:])
    bad("ERC20 0X prefix (uppercase X)", "0X" + e[2:])
    bad("ERC20 0X prefix with lowercase hex", "0X" + e[2:].lower())
    bad("ERC20 39 hex digits", e[:-1])
    bad("ERC20 41 hex digits", e.lower() + "0")
    bad("ERC20 non-hex digit 'g'", "0x" + "g" + e[3:].lower())
    bad("ERC20 without 0x prefix", e[2:].lower())
    bad("ERC20 '0x' only", "0x")
    bad("ERC20 64 hex digits (a word, not an address)", "0x" + "0" * 24 + e[2:].lower())

    # --- OMNI invalid
    p = pool["p2pkh"][0]
    s = pool["p2sh"][0]
    bad("OMNI P2PKH bad checksum: last char changed", change_char(p, len(p) - 1))
    bad("OMNI P2SH bad checksum: middle char changed", change_char(s, 15))
    bad("Bitcoin genesis with one char changed", change_char(BTC_GENESIS, 8))
    m = b58check_encode(b"\x6f" + gen.bytes20())
    assert m[0] in "mn"
    bad("BTC testnet P2PKH (version 0x6f, 'm…'/'n…')", m)
    ltc = b58check_encode(b"\x30" + gen.bytes20())
    assert ltc.startswith("L")
    bad("Litecoin-style P2PKH (version 0x30, 'L…')", ltc)
    v6 = None
    while v6 is None or not v6.startswith("3"):
        v6 = b58check_encode(b"\x06" + gen.bytes20())
    bad("'3…' with version byte 0x06 (valid checksum)", v6)
    bad("'1…' base58check of 0x00 + 19 bytes (24 bytes, valid checksum)", b58check_encode(b"\0" + gen.bytes20()[:19]))
    bad("'1…' base58check of 0x00 + 21 bytes (26 bytes, valid checksum)", b58check_encode(b"\0" + gen.bytes20() + b"\x07"))
    l3 = b58check_encode(b"\x42" + gen.bytes20() + b"\x07")
    assert l3.startswith("3")
    bad("'3…' base58check of 26 bytes (wrong length, valid checksum)", l3)
    bad("BTC bech32 (bc1…) is not supported", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq")
    bad("just '1'", "1")
    bad("OMNI with base58-excluded char 'O'", p[:5] + "O" + p[6:])
    bad("OMNI truncated by one char", p[:-1])

    # --- generic
    bad("empty string", "")
    bad("leading space (TRC20)", " " + t)
    bad("trailing space (TRC20)", t + " ")
    bad("trailing newline (ERC20)", e + "\n")
    bad("leading tab (OMNI)", "\t" + p)
    bad("fullwidth 'Ｔ' prefix", "Ｔ" + t[1:])
    bad("unknown prefix 'X'", "X" + t[1:])

    # --- for_chain
    for_chain = []
    samples = [
        ("TRC20", pool["tron"][0]), ("TRC20 known", TRON_USDT),
        ("ERC20 EIP-55", pool["erc"][0]), ("ERC20 lowercase", pool["erc"][0].lower()),
        ("ERC20 uppercase hex", "0x" + pool["erc"][0][2:].upper()),
        ("OMNI P2PKH", pool["p2pkh"][0]), ("OMNI P2SH", pool["p2sh"][0]), ("OMNI genesis", BTC_GENESIS),
        ("TRON payload with version 0x00 (a valid P2PKH)", b58check_encode(b"\0" + b58decode(pool["tron"][0])[1:21])),
        ("invalid: TRC20 bad checksum", change_char(t, len(t) - 1)),
        ("invalid: EIP-55 wrong case", e[:i] + e[i].swapcase() + e[i + 1:]),
        ("invalid: BTC testnet", m),
        ("invalid: empty", ""),
    ]
    for label, addr in samples:
        info = inspect_address(addr)
        for chain in CHAINS:
            okv = info is not None and info[0] == chain
            for_chain.append({"name": f"{label} as {chain}", "address": addr, "chain": chain, "ok": okv})
    # the TRON-payload-with-0x00 case is the 'wrong version byte' example: valid OMNI, not TRC20
    assert inspect_address(samples[8][1])[0] == "OMNI"

    # --- tron_hex
    tron_hex = []

    def th_ok(name, hx):
        b = tron_from_hex(hx)
        assert b is not None and inspect_address(b)[0] == "TRC20"
        tron_hex.append({"name": name, "hex": hx, "base58": b})

    def th_bad(name, hx):
        assert tron_from_hex(hx) is None, name
        tron_hex.append({"name": name, "hex": hx, "error": "INVALID_ADDRESS"})

    th_ok("known: TRON USDT contract, 41 form", TRON_USDT_HEX)
    th_ok("known: TRON USDT contract, 0x form", "0x" + TRON_USDT_HEX[2:])
    th_ok("known: TRON USDT contract, 41 form uppercase hex", TRON_USDT_HEX.upper())
    th_ok("known: TRON USDT contract, 0x form uppercase hex", "0x" + TRON_USDT_HEX[2:].upper())
    for k in range(3):
        raw = b58decode(pool["tron"][k])
        th_ok(f"random TRC20 {k + 1}, 41 form", raw[:21].hex())
        th_ok(f"random TRC20 {k + 1}, 0x form", "0x" + raw[1:21].hex())
    th_ok("EIP-55 mixed-case hex is accepted as-is (no checksum check)", EIP55_EXAMPLES[0])
    th_ok("all-zero account, 0x form", "0x" + "0" * 40)
    th_bad("42 + 40 hex", "42" + TRON_USDT_HEX[2:])
    th_bad("0x + 39 hex", "0x" + TRON_USDT_HEX[2:-1])
    th_bad("0x + 41 hex", "0x" + TRON_USDT_HEX[2:] + "0")
    th_bad("41 + 38 hex", TRON_USDT_HEX[:-2])
    th_bad("41 + 42 hex", TRON_USDT_HEX + "00")
    th_bad("0x + 41 + 40 hex (the 21-byte form behind 0x)", "0x" + TRON_USDT_HEX)
    th_bad("non-hex digit", "0x" + "z" + TRON_USDT_HEX[3:])
    th_bad("40 hex without prefix", TRON_USDT_HEX[2:])
    th_bad("0X prefix", "0X" + TRON_USDT_HEX[2:])
    th_bad("empty", "")
    th_bad("base58 address is not hex", TRON_USDT)
    th_bad("surrounding space", " " + TRON_USDT_HEX)

    # --- eip55
    eip = []
    for k, a in enumerate(EIP55_EXAMPLES):
        eip.append({"name": f"EIP-55 example {k + 1} from lowercase", "address": a.lower(), "checksummed": a})
        eip.append({"name": f"EIP-55 example {k + 1} from uppercase hex", "address": "0x" + a[2:].upper(), "checksummed": a})
        eip.append({"name": f"EIP-55 example {k + 1} already checksummed", "address": a, "checksummed": a})
    for k, a in enumerate(EIP55_SINGLE_CASE):
        eip.append({"name": f"EIP-55 single-case example {k + 1}", "address": a.lower(), "checksummed": a})
    for k in range(3):
        a = pool["erc"][k]
        eip.append({"name": f"random {k + 1} from lowercase", "address": a.lower(), "checksummed": a})
    eip.append({"name": "digits only stay as they are", "address": "0x1234567890123456789012345678901234567890",
                "checksummed": "0x1234567890123456789012345678901234567890"})
    for c in eip:
        assert eip55(c["address"][2:]) == c["checksummed"]

    return {"inspect": inspect, "for_chain": for_chain, "tron_hex": tron_hex, "eip55": eip}


def build_signs(pool: dict) -> dict:
    order = []

    def o(name, secret, **f):
        fields = {k: f[k] for k in ("appid", "username", "localusermark", "address", "orderid", "amount")}
        plain = order_plain(fields, secret)
        order.append({"name": name, "fields": fields, "secret": secret, "plain": plain, "sign": md5hex(plain)})

    base = dict(appid="yourAppId", username="alice", localusermark="uid123", address=TRON_USDT,
                orderid="myplat-1662299838", amount=1000000)
    o("seed gen_sign example shape (100 USDT)", "yourSecret", **base)
    o("amount 1", "yourSecret", **dict(base, amount=1))
    o("amount 2^53-1", "yourSecret", **dict(base, amount=JS_MAX))
    o("amount 2^64-1 (the u64 field signs any value)", "yourSecret", **dict(base, amount=U64_MAX))
    o("amount 0 signs as '0'", "yourSecret", **dict(base, amount=0))
    o("Chinese username, localusermark and secret", "商户密钥",
      **dict(base, appid="cn_merchant", username="张三", localusermark="会员八八四八", orderid="cz-20250905-a1b2c3"))
    o("emoji username and secret", "🔑秘密🔑", **dict(base, username="🐳鲸鱼", localusermark="u-🐳"))
    o("ERC20 checksummed address signed as given", "yourSecret", **dict(base, address=pool["erc"][0]))
    o("ERC20 same address lowercase (different sign)", "yourSecret", **dict(base, address=pool["erc"][0].lower()))
    o("OMNI P2PKH address", "yourSecret", **dict(base, address=BTC_GENESIS, amount=123456789))
    o("OMNI P2SH address", "yourSecret", **dict(base, address=pool["p2sh"][0], amount=5))
    o("empty secret (plain ends with '|')", "", **base)
    o("secret with spaces is signed verbatim", " s p a c e ", **base)
    o("pipe ambiguity A: username 'a|b', localusermark 'c' (same plain as B)", "k",
      **dict(base, username="a|b", localusermark="c"))
    o("pipe ambiguity B: username 'a', localusermark 'b|c' (same plain as A)", "k",
      **dict(base, username="a", localusermark="b|c"))
    assert order[-1]["sign"] == order[-2]["sign"]

    callback = []

    def c(name, secret, **f):
        fields = {k: f[k] for k in ("orderid", "localusermark", "amount", "t")}
        plain = callback_plain(fields, secret)
        sign = md5hex(plain)
        callback.append({"name": name, "fields": fields, "secret": secret, "plain": plain, "sign": sign,
                         "body": callback_body(fields, sign)})

    cb = dict(orderid="sh-56073d8a2ff5521a", localusermark="1", amount=30000, t=1662299838)
    c("seed callback template shape (3 USDT)", "yourSecret", **cb)
    c("amount 0", "yourSecret", **dict(cb, amount=0))
    c("amount 2^63-1", "yourSecret", **dict(cb, amount=I64_MAX))
    c("t 0", "yourSecret", **dict(cb, t=0))
    c("t 2^64-1", "yourSecret", **dict(cb, t=U64_MAX))
    c("Chinese localusermark and secret", "商户密钥", **dict(cb, localusermark="会员八八四八", orderid="cz-20250905-a1b2c3"))
    c("emoji localusermark", "yourSecret", **dict(cb, localusermark="🐳 whale"))
    c("localusermark with quote and backslash (JSON-escaped in body)", "yourSecret",
      **dict(cb, localusermark='say "hi" \\ bye'))
    c("slash and non-BMP in localusermark (not escaped in body)", "yourSecret", **dict(cb, localusermark="a/b/𝄞"))

    query = []

    def q(name, appid, orderid, secret):
        plain = query_plain(appid, orderid, secret)
        query.append({"name": name, "appid": appid, "orderid": orderid, "secret": secret, "plain": plain,
                      "sign": md5hex(plain)})

    q("seed-style ids", "yourAppId", "myplat-1662299838", "yourSecret")
    q("recommended orderid form", "demo_app", "demo-20250905-k3x9q0", "s3cr3t")
    q("Chinese secret", "cn_merchant", "cz-20250905-a1b2c3", "商户密钥")
    q("emoji secret", "cn_merchant", "x", "🔑")
    q("empty secret", "yourAppId", "myplat-1", "")
    return {"order": order, "callback": callback, "query": query}


def build_amounts() -> dict:
    parse = []

    def p(name, text, scaled=None):
        got = parse_usdt(text)
        assert got == scaled, (name, got, scaled)
        parse.append({"name": name, "text": text, "scaled": scaled} if scaled is not None
                     else {"name": name, "text": text, "error": "INVALID_AMOUNT"})

    p("integer 100", "100", 1000000)
    p("one fractional digit", "100.5", 1005000)
    p("two fractional digits", "100.25", 1002500)
    p("trailing zero in fraction", "100.50", 1005000)
    p("four fractional digits", "1.2345", 12345)
    p("smallest unit", "0.0001", 1)
    p("zero", "0", 0)
    p("zero with fraction", "0.0", 0)
    p("zero with four zeros", "0.0000", 0)
    p("1 USDT", "1", 10000)
    p("10000 USDT (large-amount default)", "10000", 100000000)
    p("2^53-1 scaled", "900719925474.0991", JS_MAX)
    p("2^63-1 scaled (max)", "922337203685477.5807", I64_MAX)
    p("integer part only at the max integer", "922337203685477", 9223372036854770000)
    p("one above 2^63-1", "922337203685477.5808")
    p("integer part one above max", "922337203685478")
    p("2^64 as integer text", "18446744073709551616")
    p("empty", "")
    p("five fractional digits", "1.00001")
    p("five zero fractional digits", "1.00000")
    p("negative", "-1")
    p("explicit plus", "+1")
    p("exponent", "1e6")
    p("leading space", " 1")
    p("trailing space", "1 ")
    p("trailing dot", "1.")
    p("leading dot", ".5")
    p("leading zero", "01")
    p("double zero", "00")
    p("leading zero before fraction", "00.5")
    p("thousands separator", "1,000")
    p("comma decimal separator", "1,5")
    p("fullwidth digit", "１")
    p("Arabic-Indic digit", "١")
    p("hex", "0x10")
    p("two dots", "1.2.3")
    p("trailing newline", "1\n")
    p("underscore separator", "1_000")
    p("letters", "abc")

    fmt = []
    for name, n in [("zero", 0), ("one unit", 1), ("ten units", 10), ("one USDT", 10000), ("100 USDT", 1000000),
                    ("100.5 USDT", 1005000), ("2^53-1", JS_MAX), ("2^63-1", I64_MAX), ("2^64-1", U64_MAX)]:
        fmt.append({"name": name, "scaled": n, "text": format_usdt(n)})
    assert fmt[4]["text"] == "100.0000" and fmt[0]["text"] == "0.0000" and fmt[1]["text"] == "0.0001"

    cu = []

    def u(name, value, decimals, scaled=None, dust=None):
        got = from_chain_units(value, decimals)
        want = None if scaled is None else (scaled, dust)
        assert got == want, (name, got, want)
        cu.append({"name": name, "value": value, "decimals": decimals, "scaled": scaled, "dust": dust}
                  if scaled is not None else
                  {"name": name, "value": value, "decimals": decimals, "error": "INVALID_AMOUNT"})

    u("TRC20/ERC20 100 USDT (6 decimals)", "100000000", 6, 1000000, 0)
    u("6 decimals with dust", "1234567", 6, 12345, 67)
    u("6 decimals, below one unit is all dust", "99", 6, 0, 99)
    u("6 decimals, exactly one unit", "100", 6, 1, 0)
    u("OMNI 100 USDT (8 decimals)", "10000000000", 8, 1000000, 0)
    u("8 decimals with dust", "123456789", 8, 12345, 6789)
    u("8 decimals, below one unit", "9999", 8, 0, 9999)
    u("18 decimals, 1 token", "1000000000000000000", 18, 10000, 0)
    u("18 decimals, 1 wei is dust", "1", 18, 0, 1)
    u("18 decimals with dust", "1234567890123456789", 18, 12345, 67890123456789)
    u("4 decimals, identity", "123", 4, 123, 0)
    u("2 decimals scale up", "123", 2, 12300, 0)
    u("0 decimals scale up", "5", 0, 50000, 0)
    u("zero", "0", 6, 0, 0)
    u("leading zeros allowed", "0001000000", 6, 10000, 0)
    u("100 leading zeros allowed", "0" * 100 + "1000000", 6, 10000, 0)
    u("hex 64-digit word 0x…0f4240 (1 USDT at 6 decimals)", "0x" + "0" * 58 + "0f4240", 6, 10000, 0)
    u("hex short", "0xf4240", 6, 10000, 0)
    u("hex uppercase digits", "0xF4240", 6, 10000, 0)
    u("hex with dust", "0x12d687", 6, 12345, 67)
    u("hex single digit", "0x0", 6, 0, 0)
    u("scaled exactly 2^63-1 (6 decimals, dust 99)", str(I64_MAX * 100 + 99), 6, I64_MAX, 99)
    u("scaled exactly 2^63-1 (18 decimals, max dust)", str(I64_MAX * 10**14 + 10**14 - 1), 18, I64_MAX, 10**14 - 1)
    u("scaled exactly 2^63-1 as hex (4 decimals)", hex(I64_MAX), 4, I64_MAX, 0)
    u("scaled just above 2^63-1 (6 decimals)", str((I64_MAX + 1) * 100), 6)
    u("scaled just above 2^63-1 (4 decimals)", str(I64_MAX + 1), 4)
    u("0 decimals: largest value that fits", "922337203685477", 0, 9223372036854770000, 0)
    u("0 decimals: scaled overflows", "922337203685478", 0)
    u("2^256-1 decimal: value fits, scaled too large", str(U256_MAX), 6)
    u("2^256-1 hex: value fits, scaled too large", "0x" + "f" * 64, 18)
    u("2^256 decimal: above 256 bits", str(U256_MAX + 1), 18)
    u("65 hex digits", "0x" + "0" * 65, 6)
    u("empty", "", 6)
    u("0x without digits", "0x", 6)
    u("uppercase 0X", "0X10", 6)
    u("negative", "-1", 6)
    u("plus sign", "+1", 6)
    u("decimal point", "1.5", 6)
    u("exponent", "1e6", 6)
    u("surrounding space", " 100", 6)
    u("non-hex after 0x", "0xg1", 6)
    u("decimals 19", "1", 19)
    u("decimals 255", "1", 255)
    u("decimals 19 with zero value", "0", 19)

    return {"parse": parse, "format": fmt, "chain_units": cu}


class Raw:
    """A raw JSON token spliced into a body as written."""

    def __init__(self, text: str):
        self.text = text


def js(v) -> str:
    return v.text if isinstance(v, Raw) else json.dumps(v, ensure_ascii=False)


def body_of(pairs, sep=", ", kv=": ") -> str:
    """A JSON object text from (key, value) pairs; duplicates and Raw tokens kept as given."""
    return "{" + sep.join(f"{js(k) if isinstance(k, Raw) else json.dumps(k, ensure_ascii=False)}{kv}{js(v)}"
                          for k, v in pairs) + "}"


def build_orders(pool: dict) -> dict:
    secrets = {
        "demo_app": "s3cr3t-demo",
        "yourAppId": "yourSecret",
        "cn_merchant": "商户密钥🔑",
        "A" * 64: "long-appid-secret",
    }
    cases = []
    TRX, ERC, P2PKH, P2SH = pool["tron"][1], pool["erc"][1], pool["p2pkh"][1], pool["p2sh"][1]
    BASE = dict(appid="demo_app", username="alice", localusermark="uid123", address=TRX,
                orderid="demo-20250905-k3x9q0", amount=1000000)

    def sign_of(f, secret=None):
        f = dict(f)
        if isinstance(f.get("amount"), Raw):
            f["amount"] = f["amount"].text
        keys = ("appid", "username", "localusermark", "address", "orderid", "amount")
        if not all(type(f.get(k)) in (str, int) for k in keys):
            return md5hex("unsignable")  # a rejected body: any well-formed sign will do
        f = {k: str(f[k]) for k in keys}
        sec = secret if secret is not None else secrets.get(f["appid"], "no-secret")
        return md5hex(order_plain(f, sec))

    def pairs_of(f, sign=None, extra=(), drop=(), order=None):
        f = dict(f)
        if sign is None:
            sign = sign_of(f)
        f["sign"] = sign
        keys = order or ["appid", "username", "localusermark", "address", "orderid", "amount", "chain", "notify_url", "sign"]
        ps = [(k, f[k]) for k in keys if k in f and k not in drop]
        return ps + list(extra)

    def add(name, body, expect):
        kind, got = parse_order(body)
        if isinstance(expect, list):
            assert kind == "reject" and got == expect, (name, kind, got, expect)
            cases.append({"name": name, "body": body, "reject": expect})
        else:
            assert kind == "accept", (name, got)
            want = sign_of({k: got[k] for k in got}, secrets[got["appid"]])
            verify = "OK" if want == got["sign"] else "SIGN_MISMATCH"
            assert verify == expect, (name, verify, expect)
            cases.append({"name": name, "body": body, "accept": got, "verify": verify})

    def case(name, expect, sign=None, extra=(), drop=(), order=None, sep=", ", **over):
        f = dict(BASE, **over)
        add(name, body_of(pairs_of(f, sign, extra, drop, order), sep), expect)

    # ---------------- accepted ----------------
    case("TRC20 ASCII basic order (chain detected)", "OK")
    seed = dict(appid="yourAppId", username="user01", localusermark="uid123", address=TRON_USDT,
                orderid="myplat-1662299838", amount=1000000, notify_url="https://yourdomain.com/usdt_notify")
    add("seed gen_sign demo payload (compact, notify_url)", body_of(pairs_of(seed), ",", ":"), "OK")
    case("Chinese username and localusermark", "OK", appid="cn_merchant", username="张三", localusermark="会员-8848")
    case("emoji username with Chinese secret", "OK", appid="cn_merchant", username="🐳鲸鱼", localusermark="u🐳1")
    case("ERC20 EIP-55 address (canonical lowercase, signed as given)", "OK", address=ERC)
    case("ERC20 lowercase address", "OK", address=ERC.lower())
    case("ERC20 uppercase hex digits", "OK", address="0x" + ERC[2:].upper())
    case("OMNI P2PKH address", "OK", address=P2PKH)
    case("OMNI P2SH address", "OK", address=P2SH)
    case("chain TRC20 present and agreeing", "OK", chain="TRC20")
    case("chain ERC20 present and agreeing", "OK", chain="ERC20", address=ERC)
    case("chain OMNI present and agreeing", "OK", chain="OMNI", address=P2SH)
    case("chain null is absent", "OK", chain=None)
    case("amount 1", "OK", amount=1)
    case("amount 2^53-1", "OK", amount=JS_MAX)
    case("notify_url https with path", "OK", notify_url="https://merchant.example.com/usdt/notify")
    case("notify_url http with port, query, fragment", "OK", notify_url="http://127.0.0.1:8080/cb?x=1&y=2#f")
    case("notify_url with '@' in path (authority has none)", "OK", notify_url="https://cb.example.com/u@x")
    case("notify_url with '@' in query (authority ends at '?')", "OK", notify_url="https://cb.example.com?to=a@b")
    case("notify_url authority only", "OK", notify_url="https://cb.example.com")
    case("notify_url exactly 1024 chars", "OK", notify_url="https://cb.example.com/" + "a" * (1024 - 23))
    case("notify_url null is absent", "OK", notify_url=None)
    case("unknown fields ignored (incl. case-different 'Amount')", "OK",
         extra=[("Amount", "bogus"), ("extra", {"nested": [1, 2.5, None, True]}), ("status", 1)])
    case("username 64 Chinese chars", "OK", appid="cn_merchant", username="中" * 64)
    case("username 64 emoji (4 UTF-8 bytes each)", "OK", username="🐳" * 64)
    case("localusermark exactly 128 chars", "OK", localusermark="m" * 128)
    case("orderid exactly 64 chars", "OK", orderid="o-" + "x" * 62)
    case("orderid 48-char prefix recommended form (64 chars)", "OK", orderid="P" * 48 + "-20250905-zzzzzz")
    case("appid exactly 64 chars", "OK", appid="A" * 64)
    case("username with inner space", "OK", username="John Smith")
    case("username with inner ideographic space", "OK", username="张\u3000三")
    case("localusermark with punctuation and quotes", "OK", localusermark='uid:"42" <x> \\ /')
    case("fields in another order", "OK",
         order=["sign", "amount", "orderid", "address", "localusermark", "username", "appid", "chain", "notify_url"])
    f = dict(BASE, username="中文🐳", notify_url="https://cb.example.com/n")
    body = ('{"\\u0061ppid": "demo_app", "username": "\\u4e2d\\u6587\\ud83d\\udc33", "localusermark": "uid123", '
            f'"address": "{TRX}", "orderid": "demo-20250905-k3x9q0", "amount": 1000000, '
            '"notify_url": "https:\\/\\/cb.example.com\\/n", '
            f'"sign": "{sign_of(f)}"}}')
    add("JSON escapes: \\u4e2d\\u6587, surrogate pair, escaped key, \\/", body, "OK")
    f = dict(BASE)
    body = json.dumps(dict(f, sign=sign_of(f)), indent=4, ensure_ascii=False) + "\n"
    add("pretty-printed body with surrounding whitespace", "\n  " + body, "OK")
    case("known TRON USDT address", "OK", address=TRON_USDT, chain="TRC20")
    case("Bitcoin genesis address", "OK", address=BTC_GENESIS)
    # SIGN_MISMATCH: well-formed but wrong signs
    case("sign of another amount -> SIGN_MISMATCH", "SIGN_MISMATCH", sign=sign_of(dict(BASE, amount=1000001)))
    case("sign made with a wrong secret -> SIGN_MISMATCH", "SIGN_MISMATCH", sign=sign_of(BASE, "wrong-secret"))
    case("sign with username/localusermark swapped -> SIGN_MISMATCH", "SIGN_MISMATCH",
         sign=sign_of(dict(BASE, username=BASE["localusermark"], localusermark=BASE["username"])))
    case("sign over the canonical lowercase address, body has EIP-55 -> SIGN_MISMATCH", "SIGN_MISMATCH",
         address=ERC, sign=sign_of(dict(BASE, address=ERC.lower())))
    case("sign made with another merchant's secret -> SIGN_MISMATCH", "SIGN_MISMATCH",
         sign=sign_of(BASE, secrets["yourAppId"]))
    case("sign of amount written as 1000000.0 -> SIGN_MISMATCH", "SIGN_MISMATCH",
         sign=md5hex(order_plain(dict(BASE, amount="1000000.0"), secrets["demo_app"])))
    case("all-zero sign -> SIGN_MISMATCH", "SIGN_MISMATCH", sign="0" * 32)

    # ---------------- INVALID_JSON ----------------
    valid = body_of(pairs_of(BASE))
    for name, body in [
        ("empty body", ""),
        ("whitespace only", "  \n"),
        ("form-encoded body", "appid=demo_app&username=alice&amount=1000000"),
        ("JSON array", "[" + valid + "]"),
        ("empty JSON array", "[]"),
        ("JSON string", json.dumps(valid)),
        ("JSON null", "null"),
        ("JSON number", "1000000"),
        ("JSON true", "true"),
        ("truncated object", valid[:-1]),
        ("trailing comma", valid[:-1] + ",}"),
        ("single-quoted keys", valid.replace('"', "'")),
        ("two objects", valid + valid),
        ("NaN amount", valid.replace("1000000", "NaN", 1)),
        ("raw newline inside a string", valid.replace("alice", "ali\nce")),
    ]:
        add(f"INVALID_JSON: {name}", body, ["INVALID_JSON"])
    add("INVALID_JSON: amount given twice (same value)", body_of(pairs_of(BASE, extra=[("amount", 1000000)])),
        ["INVALID_JSON"])
    add("INVALID_JSON: sign given twice", body_of(pairs_of(BASE, extra=[("sign", sign_of(BASE))])), ["INVALID_JSON"])
    add("INVALID_JSON: optional chain given twice", body_of(pairs_of(dict(BASE, chain="TRC20"), extra=[("chain", "TRC20")])),
        ["INVALID_JSON"])
    add("INVALID_JSON: appid twice, once via escape \\u0061ppid",
        body_of(pairs_of(BASE, extra=[(Raw('"\\u0061ppid"'), "demo_app")])), ["INVALID_JSON"])

    # ---------------- MISSING_FIELD ----------------
    add("empty object: all 7 required fields missing", "{}", ["MISSING_FIELD"] * 7)
    add("all required fields null", body_of([(k, None) for k in ORDER_KNOWN]), ["MISSING_FIELD"] * 7)
    for k in ("appid", "username", "localusermark", "address", "orderid", "amount", "sign"):
        case(f"{k} absent", ["MISSING_FIELD"], drop=(k,))
    case("amount null", ["MISSING_FIELD"], amount=None)
    add("sign null", body_of(pairs_of(BASE, drop=("sign",), extra=[("sign", None)])), ["MISSING_FIELD"])

    # ---------------- appid ----------------
    case("appid number", ["INVALID_FIELD"], appid=12345)
    case("appid empty", ["INVALID_FIELD"], appid="")
    case("appid 65 chars", ["INVALID_FIELD"], appid="A" * 65)
    case("appid with '.'", ["INVALID_FIELD"], appid="demo.app")
    case("appid with space", ["INVALID_FIELD"], appid="demo app")
    case("appid Chinese", ["INVALID_FIELD"], appid="商户")

    # ---------------- username ----------------
    case("username empty", ["INVALID_FIELD"], username="")
    case("username 65 chars", ["INVALID_FIELD"], username="u" * 65)
    case("username 65 Chinese chars", ["INVALID_FIELD"], username="中" * 65)
    case("username with '|'", ["INVALID_FIELD"], username="a|b")
    case("username leading space", ["INVALID_FIELD"], username=" alice")
    case("username trailing space", ["INVALID_FIELD"], username="alice ")
    case("username inner tab (control char)", ["INVALID_FIELD"], username="al\tice")
    case("username inner newline", ["INVALID_FIELD"], username="al\nice")
    case("username DEL (U+007F)", ["INVALID_FIELD"], username="alice\u007f")
    case("username NUL (U+0000)", ["INVALID_FIELD"], username="a\u0000b")
    case("username leading ideographic space U+3000", ["INVALID_FIELD"], username="\u3000张三")
    case("username trailing no-break space U+00A0", ["INVALID_FIELD"], username="alice\u00a0")
    case("username number", ["INVALID_FIELD"], username=42)
    case("username array", ["INVALID_FIELD"], username=["alice"])
    case("username true", ["INVALID_FIELD"], username=True)

    # ---------------- localusermark ----------------
    case("localusermark 129 chars", ["INVALID_FIELD"], localusermark="m" * 129)
    case("localusermark empty", ["INVALID_FIELD"], localusermark="")
    case("localusermark with '|'", ["INVALID_FIELD"], localusermark="b|c")
    case("localusermark leading tab", ["INVALID_FIELD"], localusermark="\tuid123")
    case("localusermark trailing newline", ["INVALID_FIELD"], localusermark="uid123\n")
    case("localusermark C1 control U+0085", ["INVALID_FIELD"], localusermark="uid\u0085123")
    case("localusermark number", ["INVALID_FIELD"], localusermark=123)

    # ---------------- address ----------------
    t = pool["tron"][1]
    case("address TRC20 bad checksum", ["INVALID_ADDRESS"], address=change_char(t, len(t) - 1))
    e = EIP55_EXAMPLES[1]
    case("address ERC20 EIP-55 wrong case", ["INVALID_ADDRESS"], address=e[:3] + e[3].swapcase() + e[4:])
    case("address ERC20 0X prefix", ["INVALID_ADDRESS"], address="0X" + ERC[2:].lower())
    case("address BTC testnet", ["INVALID_ADDRESS"], address=b58check_encode(b"\x6f" + b58decode(P2PKH)[1:21]))
    case("address with trailing space", ["INVALID_ADDRESS"], address=TRX + " ")
    case("address empty", ["INVALID_ADDRESS"], address="")
    case("address number", ["INVALID_ADDRESS"], address=12345)
    case("address TRON hex form", ["INVALID_ADDRESS"], address=TRON_USDT_HEX)

    # ---------------- orderid ----------------
    case("orderid empty", ["INVALID_FIELD"], orderid="")
    case("orderid 65 chars", ["INVALID_FIELD"], orderid="o" * 65)
    case("orderid with '.'", ["INVALID_FIELD"], orderid="demo.1")
    case("orderid with space", ["INVALID_FIELD"], orderid="demo 1")
    case("orderid Chinese", ["INVALID_FIELD"], orderid="订单1")
    case("orderid number", ["INVALID_FIELD"], orderid=20250905)

    # ---------------- amount ----------------
    for name, tok in [("1000000.0", "1000000.0"), ("1e6", "1e6"), ("1E6", "1E6"), ("string \"1000000\"", '"1000000"'),
                      ("-5", "-5"), ("0", "0"), ("-0", "-0"), ("2^53", "9007199254740992"),
                      ("2^64", "18446744073709551616"), ("true", "true"), ("1.5", "1.5"), ("1.0e0", "1.0e0"),
                      ("array [1000000]", "[1000000]"), ("object", '{"v": 1000000}'), ("empty string", '""')]:
        case(f"amount {name}", ["INVALID_AMOUNT"], amount=Raw(tok))

    # ---------------- chain ----------------
    case("chain lowercase 'trc20'", ["UNSUPPORTED_CHAIN"], chain="trc20")
    case("chain 'BTC'", ["UNSUPPORTED_CHAIN"], chain="BTC")
    case("chain 'USDT-TRC20'", ["UNSUPPORTED_CHAIN"], chain="USDT-TRC20")
    case("chain empty string", ["UNSUPPORTED_CHAIN"], chain="")
    case("chain number", ["UNSUPPORTED_CHAIN"], chain=1)
    case("chain with trailing space", ["UNSUPPORTED_CHAIN"], chain="TRC20 ")
    case("chain ERC20 but TRC20 address", ["CHAIN_MISMATCH"], chain="ERC20")
    case("chain TRC20 but OMNI address", ["CHAIN_MISMATCH"], chain="TRC20", address=P2PKH)
    case("chain OMNI but ERC20 address", ["CHAIN_MISMATCH"], chain="OMNI", address=ERC)
    case("chain valid, address invalid: only INVALID_ADDRESS", ["INVALID_ADDRESS"], chain="ERC20",
         address=change_char(t, 3))
    case("chain invalid and address invalid", ["INVALID_ADDRESS", "UNSUPPORTED_CHAIN"], chain="tron", address="")

    # ---------------- notify_url ----------------
    for name, url in [("ftp scheme", "ftp://cb.example.com/n"), ("uppercase scheme HTTPS://", "HTTPS://cb.example.com/n"),
                      ("no scheme", "cb.example.com/n"), ("scheme-relative", "//cb.example.com/n"),
                      ("https: without //", "https:cb.example.com/n"), ("empty authority", "https:///n"),
                      ("scheme only", "https://"), ("credentials in authority", "https://user:pw@cb.example.com/n"),
                      ("'@' alone in authority", "https://@cb.example.com/n"),
                      ("space in path", "https://cb.example.com/a b"), ("non-ASCII host", "https://例子.com/n"),
                      ("tab at end", "https://cb.example.com/n\t"), ("empty string", ""),
                      ("1025 chars", "https://cb.example.com/" + "a" * (1025 - 23)),
                      ("javascript:", "javascript:alert(1)")]:
        case(f"notify_url {name}", ["INVALID_NOTIFY_URL"], notify_url=url)
    case("notify_url number", ["INVALID_NOTIFY_URL"], notify_url=8080)
    case("notify_url object", ["INVALID_NOTIFY_URL"], notify_url={"url": "https://cb.example.com/n"})

    # ---------------- sign ----------------
    good = sign_of(BASE)
    case("sign uppercase hex", ["INVALID_SIGN"], sign=good.upper())
    case("sign 31 chars", ["INVALID_SIGN"], sign=good[:31])
    case("sign 33 chars", ["INVALID_SIGN"], sign=good + "0")
    case("sign with trailing newline", ["INVALID_SIGN"], sign=good + "\n")
    case("sign with leading space", ["INVALID_SIGN"], sign=" " + good)
    case("sign with non-hex 'g'", ["INVALID_SIGN"], sign="g" + good[1:])
    case("sign empty", ["INVALID_SIGN"], sign="")
    add("sign number", body_of(pairs_of(BASE, drop=("sign",), extra=[("sign", 12345)])), ["INVALID_SIGN"])

    # ---------------- several at once ----------------
    case("several errors reported in field order", ["INVALID_FIELD", "INVALID_FIELD", "INVALID_FIELD", "INVALID_ADDRESS",
                                                    "INVALID_FIELD", "INVALID_AMOUNT", "UNSUPPORTED_CHAIN",
                                                    "INVALID_NOTIFY_URL", "INVALID_SIGN"],
         appid=1, username="a|b", localusermark=" x", address="0x12", orderid="", amount=Raw("0"), chain="eth",
         notify_url="ftp://x", sign=good.upper())
    case("missing and invalid mixed, fields in reverse body order",
         ["MISSING_FIELD", "INVALID_FIELD", "INVALID_AMOUNT", "CHAIN_MISMATCH", "MISSING_FIELD"],
         drop=("appid", "sign"), username="", amount=Raw("1e6"), chain="OMNI",
         order=["notify_url", "chain", "amount", "orderid", "address", "localusermark", "username"])
    case("username and localusermark both with '|'", ["INVALID_FIELD", "INVALID_FIELD"], username="a|b", localusermark="c|d")
    case("valid fields but bad sign and bad notify_url", ["INVALID_NOTIFY_URL", "INVALID_SIGN"],
         notify_url="https://u@h/", sign="X" * 32)

    return {"secrets": secrets, "cases": cases}


def build_callbacks() -> dict:
    cases = []
    SECRET = "yourSecret"
    NOW = 1662299838
    CB = dict(orderid="sh-56073d8a2ff5521a", localusermark="1", amount=30000, t=NOW)

    def signed(f, secret=SECRET):
        return md5hex(callback_plain(f, secret))

    def add(name, body, expect, now=NOW, window=300, secret=SECRET):
        kind, got = verify_callback(body, secret, now, window)
        c = {"name": name, "body": body, "secret": secret, "now": now, "window": window}
        if expect == "ACCEPT":
            assert kind == "accept", (name, got)
            c["accept"] = got
        else:
            assert kind == "reject" and got == expect, (name, kind, got, expect)
            c["reject"] = expect
        cases.append(c)

    def body(f, sign=None, strings=True, extra=(), drop=(), override=None, order=None):
        d = {"orderid": f["orderid"], "localusermark": f["localusermark"],
             "amount": str(f["amount"]) if strings else f["amount"], "t": str(f["t"]) if strings else f["t"],
             "sign": signed(f) if sign is None else sign}
        if override:
            d.update(override)
        keys = order or list(d)
        ps = [(k, d[k]) for k in keys if k not in drop] + list(extra)
        return body_of(ps, ",", ":")

    add("seed template shape, t == now", body(CB), "ACCEPT")
    add("seed template with literal '***' in orderid", body(dict(CB, orderid="sh-56073d***8a2ff5521a")), "INVALID_FIELD")
    add("t 300 s in the past (edge, accepted)", body(CB), "ACCEPT", now=NOW + 300)
    add("t 301 s in the past", body(CB), "TIMESTAMP_OUT_OF_WINDOW", now=NOW + 301)
    add("t 300 s in the future (edge, accepted)", body(CB), "ACCEPT", now=NOW - 300)
    add("t 301 s in the future", body(CB), "TIMESTAMP_OUT_OF_WINDOW", now=NOW - 301)
    add("t one day old", body(CB), "TIMESTAMP_OUT_OF_WINDOW", now=NOW + 86400)
    add("window 0, t == now", body(CB), "ACCEPT", window=0)
    add("window 0, t 1 s old", body(CB), "TIMESTAMP_OUT_OF_WINDOW", now=NOW + 1, window=0)
    add("window u32 max", body(dict(CB, t=0)), "ACCEPT", now=U32_MAX, window=U32_MAX)
    add("t 0, now 300", body(dict(CB, t=0)), "ACCEPT", now=300)
    add("t 301, now 0 (future, no underflow)", body(dict(CB, t=301)), "TIMESTAMP_OUT_OF_WINDOW", now=0)
    add("t 2^64-1, now 300 below (no overflow)", body(dict(CB, t=U64_MAX)), "ACCEPT", now=U64_MAX - 300)
    add("t 2^64-1, now 0", body(dict(CB, t=U64_MAX)), "TIMESTAMP_OUT_OF_WINDOW", now=0)
    add("t 0, now 2^64-1", body(dict(CB, t=0)), "TIMESTAMP_OUT_OF_WINDOW", now=U64_MAX)
    add("tampered amount (not re-signed)", body(CB, sign=signed(CB), override={"amount": "30001"}), "SIGN_MISMATCH")
    add("tampered t (not re-signed)", body(CB, sign=signed(CB), override={"t": str(NOW + 10)}), "SIGN_MISMATCH")
    add("tampered t out of window (sign checked before window)",
        body(CB, sign=signed(CB), override={"t": str(NOW - 10000)}), "SIGN_MISMATCH")
    add("tampered localusermark", body(CB, override={"localusermark": "2"}), "SIGN_MISMATCH")
    add("tampered orderid", body(CB, override={"orderid": "sh-56073d8a2ff5521b"}), "SIGN_MISMATCH")
    add("wrong secret", body(CB, sign=signed(CB, "otherSecret")), "SIGN_MISMATCH")
    add("arbitrary well-formed sign", body(CB, sign=md5hex("x")), "SIGN_MISMATCH")
    add("uppercase sign", body(CB, sign=signed(CB).upper()), "INVALID_SIGN")
    add("sign 31 chars", body(CB, sign=signed(CB)[:31]), "INVALID_SIGN")
    add("sign with trailing newline", body(CB, sign=signed(CB) + "\n"), "INVALID_SIGN")
    add("sign with surrounding spaces", body(CB, sign=" " + signed(CB) + " "), "INVALID_SIGN")
    add("sign number", body(CB, override={"sign": 123}), "INVALID_SIGN")
    add("sign absent", body(CB, drop=("sign",)), "MISSING_FIELD")
    add("sign null", body(CB, override={"sign": None}), "MISSING_FIELD")
    add("leading-zero amount \"030000\" (signed as written)",
        body(CB, sign=md5hex(callback_plain(dict(CB, amount="030000"), SECRET)), override={"amount": "030000"}),
        "INVALID_AMOUNT")
    add("amount and t as JSON numbers (amount checked first)", body(CB, strings=False), "INVALID_AMOUNT")
    add("amount with fraction \"3.0000\"", body(CB, override={"amount": "3.0000"}), "INVALID_AMOUNT")
    add("amount negative", body(CB, override={"amount": "-30000"}), "INVALID_AMOUNT")
    add("amount empty", body(CB, override={"amount": ""}), "INVALID_AMOUNT")
    add("amount with spaces", body(CB, override={"amount": " 30000"}), "INVALID_AMOUNT")
    add("amount 2^63 (above i64 max)", body(CB, override={"amount": str(I64_MAX + 1)}), "INVALID_AMOUNT")
    add("amount 2^63-1", body(dict(CB, amount=I64_MAX)), "ACCEPT")
    add("amount \"0\"", body(dict(CB, amount=0)), "ACCEPT")
    add("amount absent", body(CB, drop=("amount",)), "MISSING_FIELD")
    add("t as JSON number", body(CB, override={"t": NOW}), "INVALID_FIELD")
    add("t with leading zero", body(CB, override={"t": "0" + str(NOW)}), "INVALID_FIELD")
    add("t 2^64 (above u64)", body(CB, override={"t": str(U64_MAX + 1)}), "INVALID_FIELD")
    add("t negative", body(CB, override={"t": "-1"}), "INVALID_FIELD")
    add("t empty", body(CB, override={"t": ""}), "INVALID_FIELD")
    add("t milliseconds with fraction", body(CB, override={"t": "1662299838.5"}), "INVALID_FIELD")
    add("t absent", body(CB, drop=("t",)), "MISSING_FIELD")
    add("orderid absent", body(CB, drop=("orderid",)), "MISSING_FIELD")
    add("orderid null", body(CB, override={"orderid": None}), "MISSING_FIELD")
    add("orderid number", body(CB, override={"orderid": 1}), "INVALID_FIELD")
    add("orderid 65 chars", body(dict(CB, orderid="o" * 65)), "INVALID_FIELD")
    add("orderid 64 chars", body(dict(CB, orderid="o" * 64)), "ACCEPT")
    add("orderid empty", body(dict(CB, orderid="")), "INVALID_FIELD")
    add("Chinese localusermark", body(dict(CB, localusermark="会员八八四八")), "ACCEPT")
    add("Chinese localusermark with Chinese secret", body(dict(CB, localusermark="会员"), sign=signed(dict(CB, localusermark="会员"), "商户密钥")),
        "ACCEPT", secret="商户密钥")
    esc = dict(CB, localusermark="中文")
    add("localusermark written with \\u escapes",
        body(esc).replace('"中文"', '"\\u4e2d\\u6587"'), "ACCEPT")
    add("localusermark 128 chars", body(dict(CB, localusermark="m" * 128)), "ACCEPT")
    add("localusermark 129 chars", body(dict(CB, localusermark="m" * 129)), "INVALID_FIELD")
    add("localusermark with '|'", body(dict(CB, localusermark="1|2")), "INVALID_FIELD")
    add("localusermark leading space", body(dict(CB, localusermark=" 1")), "INVALID_FIELD")
    add("localusermark with tab", body(dict(CB, localusermark="1\t2")), "INVALID_FIELD")
    add("localusermark empty", body(dict(CB, localusermark="")), "INVALID_FIELD")
    add("localusermark number", body(CB, override={"localusermark": 1}), "INVALID_FIELD")
    add("unknown extra fields ignored", body(CB, extra=[("status", "paid"), ("txid", {"h": [1, 2]}), ("Amount", 1)]),
        "ACCEPT")
    add("fields in another order", body(CB, order=["sign", "t", "amount", "localusermark", "orderid"]), "ACCEPT")
    add("pretty-printed body", json.dumps({"orderid": CB["orderid"], "localusermark": "1", "amount": "30000",
                                           "t": str(NOW), "sign": signed(CB)}, indent=2) + "\n", "ACCEPT")
    add("first failure wins: bad orderid before bad sign", body(dict(CB, orderid="a.b"), sign="X"), "INVALID_FIELD")
    add("first failure wins: bad amount before bad t and sign",
        body(CB, override={"amount": "1e3", "t": "x", "sign": "X"}), "INVALID_AMOUNT")
    add("first failure wins: bad localusermark before missing amount",
        body(dict(CB, localusermark="|"), drop=("amount",)), "INVALID_FIELD")
    add("amount given twice", body(CB, extra=[("amount", "30000")]), "INVALID_JSON")
    add("sign given twice", body(CB, extra=[("sign", signed(CB))]), "INVALID_JSON")
    add("JSON array", "[" + body(CB) + "]", "INVALID_JSON")
    add("empty body", "", "INVALID_JSON")
    add("JSON null", "null", "INVALID_JSON")
    add("form-encoded body", "orderid=sh-1&localusermark=1&amount=30000&t=1662299838&sign=x", "INVALID_JSON")
    add("truncated JSON", body(CB)[:-2], "INVALID_JSON")
    add("empty object", "{}", "MISSING_FIELD")
    return {"cases": cases}


def build_orderids(gen: Gen) -> dict:
    make = []

    def mk(name, prefix, date, entropy, want=None, error=False):
        got = make_orderid(prefix, date, entropy)
        if error:
            assert got is None, name
            make.append({"name": name, "prefix": prefix, "date": list(date), "entropy": entropy, "error": "INVALID_FIELD"})
        else:
            assert got is not None and (want is None or got == want), (name, got, want)
            assert check_orderid(got) == (prefix, list(date), got[-6:])
            make.append({"name": name, "prefix": prefix, "date": list(date), "entropy": entropy, "orderid": got})

    mk("entropy 0", "cz", (2025, 9, 5), 0, "cz-20250905-000000")
    mk("entropy 1", "cz", (2025, 9, 5), 1, "cz-20250905-000001")
    mk("entropy 35 -> 'z'", "cz", (2025, 9, 5), 35, "cz-20250905-00000z")
    mk("entropy 36 -> '10'", "cz", (2025, 9, 5), 36, "cz-20250905-000010")
    mk("entropy 36^6-1 -> 'zzzzzz'", "cz", (2025, 9, 5), 36**6 - 1, "cz-20250905-zzzzzz")
    mk("entropy 36^6 wraps to 0", "cz", (2025, 9, 5), 36**6, "cz-20250905-000000")
    mk("entropy 2^64-1", "myplat", (2025, 9, 5), U64_MAX)
    mk("entropy 2^63", "myplat", (2025, 9, 5), 2**63)
    for k in range(8):
        mk(f"random entropy {k + 1}", ["sh", "myplat", "cz", "Shop_01"][k % 4], (2025, 1 + k, 1 + 3 * k),
           gen.rng.getrandbits(64))
    mk("Feb 29 on a leap year (2024)", "cz", (2024, 2, 29), 123456789)
    mk("Feb 29 in 2000 (divisible by 400)", "cz", (2000, 2, 29), 42)
    mk("year 1", "cz", (1, 1, 1), 7)
    mk("year 9999 Dec 31", "cz", (9999, 12, 31), 8)
    mk("48-char prefix (orderid 64 chars)", "P" * 48, (2025, 9, 5), 99)
    mk("prefix with underscore and digits", "Shop_2025", (2025, 12, 31), 100)
    mk("single-char prefix", "x", (2025, 6, 30), 2**40)
    mk("Feb 29 on a non-leap year (2025)", "cz", (2025, 2, 29), 0, error=True)
    mk("Feb 29 in 1900 (century, not leap)", "cz", (1900, 2, 29), 0, error=True)
    mk("month 13", "cz", (2025, 13, 1), 0, error=True)
    mk("month 0", "cz", (2025, 0, 1), 0, error=True)
    mk("day 0", "cz", (2025, 9, 0), 0, error=True)
    mk("day 32", "cz", (2025, 1, 32), 0, error=True)
    mk("April 31", "cz", (2025, 4, 31), 0, error=True)
    mk("year 0", "cz", (0, 1, 1), 0, error=True)
    mk("year 10000", "cz", (10000, 1, 1), 0, error=True)
    mk("u8 max month and day", "cz", (2025, 255, 255), 0, error=True)
    mk("empty prefix", "", (2025, 9, 5), 0, error=True)
    mk("49-char prefix", "P" * 49, (2025, 9, 5), 0, error=True)
    mk("prefix with '-'", "my-plat", (2025, 9, 5), 0, error=True)
    mk("prefix with space", "my plat", (2025, 9, 5), 0, error=True)
    mk("prefix Chinese", "商户", (2025, 9, 5), 0, error=True)
    mk("prefix with '.'", "a.b", (2025, 9, 5), 0, error=True)

    check = []

    def ck(name, orderid, ok=True):
        got = check_orderid(orderid)
        if ok:
            assert got is not None, name
            check.append({"name": name, "orderid": orderid, "prefix": got[0], "date": got[1], "random": got[2]})
        else:
            assert got is None, name
            check.append({"name": name, "orderid": orderid, "error": "INVALID_FIELD"})

    for c in make[:6]:
        ck(f"made: {c['name']}", c["orderid"])
    ck("seed-style with 6 random chars", "myplat-20250905-a1b2c3")
    ck("Feb 29 2024", "cz-20240229-abcdef")
    ck("Feb 29 2000", "cz-20000229-abcdef")
    ck("year 0001", "cz-00010101-000000")
    ck("48-char prefix", "P" * 48 + "-20250905-zzzzzz")
    ck("uppercase prefix", "SHOP_1-20251231-999999")
    ck("Feb 29 2025 (non-leap)", "cz-20250229-abcdef", False)
    ck("Feb 29 1900", "cz-19000229-abcdef", False)
    ck("month 13", "cz-20251301-abcdef", False)
    ck("month 00", "cz-20250001-abcdef", False)
    ck("day 00", "cz-20250900-abcdef", False)
    ck("June 31", "cz-20250631-abcdef", False)
    ck("year 0000", "cz-00000101-abcdef", False)
    ck("uppercase random", "cz-20250905-ABCDEF", False)
    ck("random 5 chars", "cz-20250905-abcde", False)
    ck("random 7 chars", "cz-20250905-abcdefg", False)
    ck("random with '_'", "cz-20250905-abc_ef", False)
    ck("date 7 digits", "cz-2025095-abcdef", False)
    ck("date 9 digits", "cz-202509051-abcdef", False)
    ck("date with letters", "cz-2025O905-abcdef", False)
    ck("date as yyyy-mm-dd (too many parts)", "cz-2025-09-05-abcdef", False)
    ck("two parts", "cz-20250905abcdef", False)
    ck("four parts (prefix with '-')", "my-plat-20250905-abcdef", False)
    ck("empty prefix", "-20250905-abcdef", False)
    ck("49-char prefix", "P" * 49 + "-20250905-abcdef", False)
    ck("prefix with '.'", "a.b-20250905-abcdef", False)
    ck("seed example ordersn (uuid form)", "cz-7ac8c6f2-abcd-4c55-b4f1-2b5c7e871036", False)
    ck("seed callback orderid sh-56073d8a2ff5521a", "sh-56073d8a2ff5521a", False)
    ck("empty", "", False)
    ck("trailing newline", "cz-20250905-abcdef\n", False)
    ck("fullwidth digits in date", "cz-２０２５0905-abcdef", False)
    return {"make": make, "check": check}


def build_confirmations() -> dict:
    DEFAULT = rule(1, 100000000, 3)
    base_only = {"base": DEFAULT, "overrides": []}
    with_over = {"base": DEFAULT, "overrides": [["ERC20", rule(2, 100000000, 12)], ["OMNI", rule(3, 50000000, 6)]]}
    all_over = {"base": DEFAULT, "overrides": [["TRC20", rule(1, 200000000, 20)], ["ERC20", rule(2, 100000000, 12)],
                                               ["OMNI", rule(3, 50000000, 6)]]}
    required = []

    def rq(name, chain, amount, policy, want):
        got = required_confirmations(chain, amount, policy)
        assert got == want, (name, got, want)
        required.append({"name": name, "chain": chain, "amount": amount, "policy": policy, "required": got})

    for ch in CHAINS:
        rq(f"default policy {ch}: 0", ch, 0, base_only, 1)
        rq(f"default policy {ch}: 1 unit", ch, 1, base_only, 1)
        rq(f"default policy {ch}: just below 10000 USDT", ch, 99999999, base_only, 1)
        rq(f"default policy {ch}: exactly 10000 USDT", ch, 100000000, base_only, 3)
        rq(f"default policy {ch}: above 10000 USDT", ch, 100000001, base_only, 3)
        rq(f"default policy {ch}: 2^63-1", ch, I64_MAX, base_only, 3)
    rq("TRC20 without override uses base below threshold", "TRC20", 99999999, with_over, 1)
    rq("TRC20 without override uses base at threshold", "TRC20", 100000000, with_over, 3)
    rq("ERC20 override below threshold", "ERC20", 99999999, with_over, 2)
    rq("ERC20 override at threshold", "ERC20", 100000000, with_over, 12)
    rq("OMNI override small amount", "OMNI", 1, with_over, 3)
    rq("OMNI override below its own threshold", "OMNI", 49999999, with_over, 3)
    rq("OMNI override at its own threshold (below base threshold)", "OMNI", 50000000, with_over, 6)
    rq("TRC20 override raises threshold: base threshold no longer large", "TRC20", 100000000, all_over, 1)
    rq("TRC20 override at its threshold", "TRC20", 200000000, all_over, 20)
    rq("large_amount 0: every amount is large", "TRC20", 0, {"base": rule(2, 0, 5), "overrides": []}, 5)
    rq("large_required below default_required: max is default (degenerate rule)", "ERC20", 100000000,
       {"base": DEFAULT, "overrides": [["ERC20", rule(5, 100, 3)]]}, 5)
    rq("default_required 0: never below 1 (degenerate rule)", "OMNI", 5,
       {"base": rule(0, 100000000, 3), "overrides": []}, 1)
    rq("both 0: never below 1 (degenerate rule)", "OMNI", 100000000,
       {"base": rule(0, 100000000, 0), "overrides": []}, 1)
    rq("u32 max large_required", "ERC20", U64_MAX, {"base": rule(1, U64_MAX, U32_MAX), "overrides": []}, U32_MAX)
    rq("u64 max threshold, amount just below", "ERC20", U64_MAX - 1,
       {"base": rule(1, U64_MAX, U32_MAX), "overrides": []}, 1)

    policy = []

    def pol(name, p, ok):
        assert validate_policy(p) == ok, name
        policy.append({"name": name, "policy": p, "ok": True} if ok else {"name": name, "policy": p, "error": "INVALID_POLICY"})

    pol("protocol default (1 / 10000 USDT / 3)", base_only, True)
    pol("with ERC20 and OMNI overrides", with_over, True)
    pol("override for every chain", all_over, True)
    pol("large_required equal to default_required", {"base": rule(2, 100000000, 2), "overrides": []}, True)
    pol("large_amount 0", {"base": rule(1, 0, 1), "overrides": []}, True)
    pol("u32 max values", {"base": rule(U32_MAX, U64_MAX, U32_MAX), "overrides": []}, True)
    pol("base default_required 0", {"base": rule(0, 100000000, 3), "overrides": []}, False)
    pol("base large_required below default", {"base": rule(3, 100000000, 2), "overrides": []}, False)
    pol("override default_required 0", {"base": DEFAULT, "overrides": [["TRC20", rule(0, 100000000, 3)]]}, False)
    pol("override large_required below default", {"base": DEFAULT, "overrides": [["OMNI", rule(6, 100000000, 3)]]}, False)
    pol("chain overridden twice (identical rules)",
        {"base": DEFAULT, "overrides": [["ERC20", rule(2, 100000000, 12)], ["ERC20", rule(2, 100000000, 12)]]}, False)
    pol("chain overridden twice (different rules, other chain between)",
        {"base": DEFAULT, "overrides": [["OMNI", rule(3, 1, 6)], ["TRC20", DEFAULT], ["OMNI", rule(1, 1, 1)]]}, False)
    pol("all zero", {"base": rule(0, 0, 0), "overrides": []}, False)

    count = []
    for name, head, block in [("same block", 100, 100), ("ten deep", 100, 91), ("block ahead of head", 100, 101),
                              ("genesis only", 0, 0), ("head 1 block 0", 1, 0), ("head 2^63 block 0", 2**63, 0),
                              ("head 2^63 block 2^63", 2**63, 2**63), ("head 2^63 block 1", 2**63, 1),
                              ("block 2^64-1 above head", 0, U64_MAX), ("block 2^63 above small head", 5, 2**63),
                              ("realistic TRON heights", 75123456, 75123437)]:
        count.append({"name": name, "head": head, "block": block, "confirmations": count_confirmations(head, block)})
    assert count[0]["confirmations"] == 1 and count[1]["confirmations"] == 10 and count[2]["confirmations"] == 0

    state = []
    for name, conf, req in [("0 of 1", 0, 1), ("1 of 1", 1, 1), ("5 of 1", 5, 1), ("0 of 3", 0, 3), ("1 of 3", 1, 3),
                            ("2 of 3", 2, 3), ("3 of 3", 3, 3), ("4 of 3", 4, 3), ("11 of 12", 11, 12),
                            ("12 of 12", 12, 12), ("0 of u32 max", 0, U32_MAX), ("u32 max - 1 of u32 max", U32_MAX - 1, U32_MAX),
                            ("u32 max of u32 max", U32_MAX, U32_MAX), ("u64 max of u32 max", U64_MAX, U32_MAX),
                            ("u64 max of 1", U64_MAX, 1)]:
        state.append({"name": name, "confirmations": conf, "required": req, "state": deposit_state(conf, req)})
    assert [s["state"] for s in state[:8]] == ["pending", "confirmed", "confirmed", "pending", "confirming",
                                               "confirming", "confirmed", "confirmed"]
    return {"required": required, "policy": policy, "count": count, "state": state}



# ---------------------------------------------------------------------------
# usdt:recharge@2.1.0: the protocol's facts and small rules, and the gateway's paths
# ---------------------------------------------------------------------------

# docs/protocol.md: the callback window (§6: |now - t| <= 300 s), at most 8 retries after
# the first attempt (§7), 1 USDT = 10000 units and orders up to 2^53-1 (§3), token
# decimals 0..=18 for the conversions (§3), USDT decimals per chain (§4: 6, 6, 8).
FACTS = {"callback_window": 300, "max_retries": 8, "scale": 10000, "max_order_amount": JS_MAX,
         "max_token_decimals": 18}
USDT_DECIMALS = {"TRC20": 6, "ERC20": 6, "OMNI": 8}


def to_chain_units(scaled: int, decimals: int):
    """Scaled units -> token base units (decimal text), exact; None when not representable."""
    if not 0 <= decimals <= 18:
        return None
    if decimals >= 4:
        return str(scaled * 10 ** (decimals - 4))
    q, r = divmod(scaled, 10 ** (4 - decimals))
    return str(q) if r == 0 else None


def build_protocol() -> dict:
    chains = [{"name": f"{c} facts", "chain": c, "wire": c, "usdt_decimals": USDT_DECIMALS[c]} for c in CHAINS]

    parse_chain = []
    for c in CHAINS:
        parse_chain.append({"name": f"wire name {c}", "text": c, "chain": c})
    for name, text in [("lowercase", "trc20"), ("mixed case", "Erc20"), ("hyphenated", "TRC-20"), ("empty", ""),
                       ("leading space", " OMNI"), ("trailing newline", "OMNI\n"), ("other token standard", "BEP20"),
                       ("fullwidth letters", "ＴＲＣ20")]:
        assert text not in CHAINS
        parse_chain.append({"name": name, "text": text, "error": "UNSUPPORTED_CHAIN"})

    urls = []

    def url(name, u):
        ok = ok_notify_url(u)
        urls.append({"name": name, "url": u, "ok": True} if ok else {"name": name, "url": u, "error": "INVALID_NOTIFY_URL"})

    url("https with path", "https://merchant.example.com/usdt/notify")
    url("http with port, query, fragment", "http://127.0.0.1:8080/cb?x=1&y=2#f")
    url("authority only", "https://cb.example.com")
    url("'@' in the path", "https://cb.example.com/u@x")
    url("exactly 1024 characters", "https://cb.example.com/" + "a" * (1024 - 23))
    url("1025 characters", "https://cb.example.com/" + "a" * (1025 - 23))
    url("empty", "")
    url("ftp scheme", "ftp://cb.example.com/")
    url("uppercase scheme", "HTTPS://cb.example.com/")
    url("no authority", "https:///path")
    url("scheme only", "https://")
    url("credentials", "https://user:pw@cb.example.com/")
    url("user name only", "https://user@cb.example.com/")
    url("space in the path", "https://cb.example.com/a b")
    url("non-ASCII host", "https://商户.example/")
    url("tab", "https://cb.example.com/\t")
    url("relative", "/usdt/notify")
    assert sum("ok" in u for u in urls) == 5

    decimals = []
    for d in (0, 2, 6, 8, 18, 19, 255):
        ok = d <= FACTS["max_token_decimals"]
        decimals.append({"name": f"{d} decimals", "decimals": d, "ok": True} if ok else
                        {"name": f"{d} decimals", "decimals": d, "error": "INVALID_FIELD"})

    units = []

    def u(name, scaled, d):
        got = to_chain_units(scaled, d)
        units.append({"name": name, "scaled": scaled, "decimals": d, "units": got} if got is not None else
                     {"name": name, "scaled": scaled, "decimals": d, "error": "INVALID_AMOUNT"})
        if got is not None and d >= 4 and scaled <= I64_MAX:  # the reverse gives it back, no dust
            assert from_chain_units(got, d) == (scaled, 0), name

    u("100 USDT on TRC20 (6 decimals)", 1000000, 6)
    u("100.5 USDT on ERC20", 1005000, 6)
    u("0.0001 USDT on OMNI (8 decimals)", 1, 8)
    u("zero", 0, 6)
    u("4 decimals: identity", 123456789, 4)
    u("18 decimals", 1, 18)
    u("2^63-1 at 18 decimals (beyond 2^64)", I64_MAX, 18)
    u("2^64-1 at 18 decimals", U64_MAX, 18)
    u("2 decimals, whole cents", 700, 2)
    u("2 decimals, a fraction of a cent", 701, 2)
    u("0 decimals, whole tokens", 30000, 0)
    u("0 decimals, a fraction", 15000, 0)
    u("19 decimals", 1, 19)
    return {"facts": FACTS, "chains": chains, "parse_chain": parse_chain, "notify_url": urls,
            "token_decimals": decimals, "to_chain_units": units}


QUERY_KNOWN = ("appid", "orderid", "sign")


def parse_query(body: str):
    """-> ("accept", dict) or ("reject", [codes]): appid, orderid, sign must be JSON strings."""
    obj = load_object(body, QUERY_KNOWN)
    if obj is None:
        return ("reject", ["INVALID_JSON"])
    codes, got = [], {}
    for k in QUERY_KNOWN:
        v = obj.get(k)
        if v is None:
            codes.append("MISSING_FIELD")
        elif not isinstance(v, str):
            codes.append("INVALID_FIELD")
        else:
            got[k] = v
    return ("reject", codes) if codes else ("accept", got)


def check_sign(expected: str, sign: str, secrets: list[str], plain_of) -> str | None:
    """The query/order sign rule with a rotation: None when it passes, else the code."""
    if not re.fullmatch(r"[0-9a-f]{32}", sign):
        return "INVALID_SIGN"
    return None if any(md5hex(plain_of(s)) == sign for s in secrets) else "SIGN_MISMATCH"


def build_gateway(pool: dict) -> dict:
    merchants = [
        {"appid": "demo_app", "secret": "s3cr3t-demo", "next_secret": None},
        {"appid": "rotating", "secret": "old-secret", "next_secret": "new-secret"},
        {"appid": "cn_merchant", "secret": "商户密钥🔑", "next_secret": None},
    ]
    secrets_of = {m["appid"]: [m["secret"]] + ([m["next_secret"]] if m["next_secret"] else []) for m in merchants}
    policy = {"base": rule(1, 100000000, 3), "overrides": [["ERC20", rule(2, 100000000, 12)], ["OMNI", rule(3, 50000000, 6)]]}

    parse = []

    def pq(name, body, expect):
        kind, got = parse_query(body)
        if isinstance(expect, list):
            assert kind == "reject" and got == expect, (name, got)
            parse.append({"name": name, "body": body, "reject": expect})
        else:
            assert kind == "accept", (name, got)
            parse.append({"name": name, "body": body, "accept": got})

    S = md5hex(query_plain("demo_app", "demo-20250905-k3x9q0", "s3cr3t-demo"))
    pq("well-formed query", json.dumps({"appid": "demo_app", "orderid": "demo-20250905-k3x9q0", "sign": S}), "OK")
    pq("unknown fields ignored", json.dumps({"sign": S, "x": [1], "orderid": "o", "appid": "a"}), "OK")
    pq("sign not judged by parse (uppercase)", json.dumps({"appid": "a", "orderid": "o", "sign": S.upper()}), "OK")
    pq("any strings: empty appid", json.dumps({"appid": "", "orderid": "o", "sign": S}), "OK")
    pq("escaped characters", '{"appid": "a\\u0062", "orderid": "o\\/1", "sign": "%s"}' % S, "OK")
    pq("not an object", "[]", ["INVALID_JSON"])
    pq("not JSON", "appid=a&orderid=o", ["INVALID_JSON"])
    pq("empty body", "", ["INVALID_JSON"])
    pq("repeated appid", '{"appid": "a", "appid": "b", "orderid": "o", "sign": "%s"}' % S, ["INVALID_JSON"])
    pq("every field missing", "{}", ["MISSING_FIELD", "MISSING_FIELD", "MISSING_FIELD"])
    pq("appid null", json.dumps({"appid": None, "orderid": "o", "sign": S}), ["MISSING_FIELD"])
    pq("orderid a number", '{"appid": "a", "orderid": 123, "sign": "%s"}' % S, ["INVALID_FIELD"])
    pq("sign an array, appid missing", json.dumps({"orderid": "o", "sign": [S]}), ["MISSING_FIELD", "INVALID_FIELD"])
    pq("appid true", json.dumps({"appid": True, "orderid": "o", "sign": S}), ["INVALID_FIELD"])

    check = []

    def cq(name, appid, orderid, sign_secret=None, sign=None, body=None):
        if sign is None and sign_secret is not None:
            sign = md5hex(query_plain(appid, orderid, sign_secret))
        body = body or json.dumps({"appid": appid, "orderid": orderid, "sign": sign}, ensure_ascii=False)
        kind, got = parse_query(body)
        if kind == "reject":
            check.append({"name": name, "body": body, "reject": got})
            return
        if got["appid"] not in secrets_of:
            check.append({"name": name, "body": body, "reject": ["UNKNOWN_APPID"]})
            return
        code = check_sign(None, got["sign"], secrets_of[got["appid"]],
                          lambda s: query_plain(got["appid"], got["orderid"], s))
        check.append({"name": name, "body": body, "reject": [code]} if code else {"name": name, "body": body, "accept": got})

    cq("current secret", "demo_app", "demo-20250905-k3x9q0", "s3cr3t-demo")
    cq("rotating merchant, current secret", "rotating", "r-1", "old-secret")
    cq("rotating merchant, next secret", "rotating", "r-1", "new-secret")
    cq("rotating merchant, neither secret", "rotating", "r-1", "other-secret")
    cq("Chinese secret", "cn_merchant", "订单-1", "商户密钥🔑")
    cq("another merchant's secret", "demo_app", "o", "old-secret")
    cq("unknown appid", "nobody", "o", "s3cr3t-demo")
    cq("unknown appid before a malformed sign", "nobody", "o", sign="NOT-HEX")
    cq("uppercase sign", "demo_app", "o", sign=md5hex(query_plain("demo_app", "o", "s3cr3t-demo")).upper())
    cq("31-digit sign", "demo_app", "o", sign="0" * 31)
    cq("parse errors first", "demo_app", "o", sign="", body='{"appid": "demo_app", "sign": 1}')
    assert [c.get("reject") for c in check][3:4] == [["SIGN_MISMATCH"]]

    accept = []
    TRX, ERC, P2SH = pool["tron"][1], pool["erc"][1], pool["p2sh"][1]
    BASE = dict(appid="demo_app", username="alice", localusermark="uid123", address=TRX,
                orderid="demo-20250905-k3x9q0", amount=1000000)

    def ao(name, sign_secret=None, sign=None, **over):
        f = dict(BASE, **over)
        if sign is None:
            sign = md5hex(order_plain({k: str(f[k]) for k in
                                       ("appid", "username", "localusermark", "address", "orderid", "amount")},
                                      sign_secret))
        body = json.dumps(dict(f, sign=sign), ensure_ascii=False)
        kind, got = parse_order(body)
        if kind == "reject":
            accept.append({"name": name, "body": body, "reject": got})
            return
        if got["appid"] not in secrets_of:
            accept.append({"name": name, "body": body, "reject": ["UNKNOWN_APPID"]})
            return
        signed = {k: str(got[k]) for k in ("appid", "username", "localusermark", "address", "orderid", "amount")}
        code = check_sign(None, got["sign"], secrets_of[got["appid"]], lambda s: order_plain(signed, s))
        if code:
            accept.append({"name": name, "body": body, "reject": [code]})
            return
        req = required_confirmations(got["chain"], got["amount"], policy)
        accept.append({"name": name, "body": body, "accept": got, "required_confirmations": req})

    ao("TRC20 small order: base rule", "s3cr3t-demo")
    ao("TRC20 at 10000 USDT: base large rule", "s3cr3t-demo", amount=100000000)
    ao("ERC20 small order: ERC20 override", "s3cr3t-demo", address=ERC)
    ao("ERC20 at 10000 USDT: override large rule", "s3cr3t-demo", address=ERC, amount=100000000)
    ao("OMNI at 5000 USDT: override's own threshold", "s3cr3t-demo", address=P2SH, amount=50000000)
    ao("rotating merchant, current secret", "old-secret", appid="rotating")
    ao("rotating merchant, next secret", "new-secret", appid="rotating")
    ao("rotating merchant, neither secret", "other", appid="rotating")
    ao("Chinese secret and username", "商户密钥🔑", appid="cn_merchant", username="张三")
    ao("unknown appid", "s3cr3t-demo", appid="nobody")
    ao("malformed order: every rejection, no merchant lookup", "s3cr3t-demo", appid="nobody", amount=0)
    ao("sign of another merchant", "old-secret")
    assert sum("accept" in c for c in accept) == 8, [c["name"] for c in accept if "accept" in c]
    return {"keyring": {"merchants": merchants, "policy": policy}, "parse_query": parse, "check_query": check,
            "accept_order": accept}


# BIP32's own test vectors 1 and 2: each chain's extended public key, from the BIP text.
BIP32_TV = [
    ("000102030405060708090a0b0c0d0e0f", [
        ("m", "xpub661MyMwAqRbcFtXgS5sYJABqqG9YLmC4Q1Rdap9gSE8NqtwybGhePY2gZ29ESFjqJoCu1Rupje8YtGqsefD265TMg7usUDFdp6W1EGMcet8"),
        ("m/0H", "xpub68Gmy5EdvgibQVfPdqkBBCHxA5htiqg55crXYuXoQRKfDBFA1WEjWgP6LHhwBZeNK1VTsfTFUHCdrfp1bgwQ9xv5ski8PX9rL2dZXvgGDnw"),
        ("m/0H/1", "xpub6ASuArnXKPbfEwhqN6e3mwBcDTgzisQN1wXN9BJcM47sSikHjJf3UFHKkNAWbWMiGj7Wf5uMash7SyYq527Hqck2AxYysAA7xmALppuCkwQ"),
        ("m/0H/1/2H", "xpub6D4BDPcP2GT577Vvch3R8wDkScZWzQzMMUm3PWbmWvVJrZwQY4VUNgqFJPMM3No2dFDFGTsxxpG5uJh7n7epu4trkrX7x7DogT5Uv6fcLW5"),
        ("m/0H/1/2H/2", "xpub6FHa3pjLCk84BayeJxFW2SP4XRrFd1JYnxeLeU8EqN3vDfZmbqBqaGJAyiLjTAwm6ZLRQUMv1ZACTj37sR62cfN7fe5JnJ7dh8zL4fiyLHV"),
        ("m/0H/1/2H/2/1000000000", "xpub6H1LXWLaKsWFhvm6RVpEL9P4KfRZSW7abD2ttkWP3SSQvnyA8FSVqNTEcYFgJS2UaFcxupHiYkro49S8yGasTvXEYBVPamhGW6cFJodrTHy"),
    ]),
    ("fffcf9f6f3f0edeae7e4e1dedbd8d5d2cfccc9c6c3c0bdbab7b4b1aeaba8a5a29f9c999693908d8a8784817e7b7875726f6c696663605d5a5754514e4b484542", [
        ("m", "xpub661MyMwAqRbcFW31YEwpkMuc5THy2PSt5bDMsktWQcFF8syAmRUapSCGu8ED9W6oDMSgv6Zz8idoc4a6mr8BDzTJY47LJhkJ8UB7WEGuduB"),
        ("m/0", "xpub69H7F5d8KSRgmmdJg2KhpAK8SR3DjMwAdkxj3ZuxV27CprR9LgpeyGmXUbC6wb7ERfvrnKZjXoUmmDznezpbZb7ap6r1D3tgFxHmwMkQTPH"),
        ("m/0/2147483647H", "xpub6ASAVgeehLbnwdqV6UKMHVzgqAG8Gr6riv3Fxxpj8ksbH9ebxaEyBLZ85ySDhKiLDBrQSARLq1uNRts8RuJiHjaDMBU4Zn9h8LZNnBC5y4a"),
        ("m/0/2147483647H/1", "xpub6DF8uhdarytz3FWdA8TvFSvvAh8dP3283MY7p2V4SeE2wyWmG5mg5EwVvmdMVCQcoNJxGoWaU9DCWh89LojfZ537wTfunKau47EL2dhHKon"),
        ("m/0/2147483647H/1/2147483646H", "xpub6ERApfZwUNrhLCkDtcHTcxd75RbzS1ed54G1LkBUHQVHQKqhMkhgbmJbZRkrgZw4koxb5JaHWkY4ALHY2grBGRjaDMzQLcgJvLJuZZvRcEL"),
        ("m/0/2147483647H/1/2147483646H/2", "xpub6FnCn6nSzZAw5Tw7cgR9bi15UV96gLZhjDstkXXxvCLsUXBGXPdSnLFbdpq8p9HmGsApME5hQTZ3emM2rnY5agb9rXpVGyy3bdW6EEgAtqt"),
    ]),
]
BIP32_TV1_MASTER_XPRV = "xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi"

# The BIP39 test mnemonic and its BIP44 accounts (coin types: SLIP-44).
TEST_MNEMONIC = " ".join(["abandon"] * 11 + ["about"])
BIP44_ACCOUNTS = {"TRC20": "m/44'/195'/0'", "ERC20": "m/44'/60'/0'", "OMNI": "m/44'/0'/0'"}
# Widely published first addresses of the test mnemonic (BIP44 m/44'/0'/0'/0/0 and m/44'/60'/0'/0/0).
KNOWN_FIRST = {"OMNI": "1LqBGSKuX5yYUonjxT5qGfpUsXKYYWeabA", "ERC20": "0x9858EfFD232B4033E47d90003D41EC34EcaEda94"}
# From another implementation: tests/vectors/oracle-derivation.mjs (npm tronweb 6.5.1 and
# ethers 6.17.0) printed these for m/44'/195'/0'/0/i, m/44'/60'/0'/0/i and the account xpubs.
ORACLE_ADDRESSES = {
    "TRC20": ["TUEZSdKsoDHQMeZwihtdoBiN46zxhGWYdH", "TSeJkUh4Qv67VNFwY8LaAxERygNdy6NQZK",
              "TYJPRrdB5APNeRs4R7fYZSwW3TcrTKw2gx", "TRhVWK5XEDkQBDevcdCWW7RW51aRncty4W",
              "TT2X2yyubp7qpAWYYNE5JQWBtoZ7ikQFsY"],
    "ERC20": ["0x9858EfFD232B4033E47d90003D41EC34EcaEda94", "0x6Fac4D18c912343BF86fa7049364Dd4E424Ab9C0",
              "0xb6716976A3ebe8D39aCEB04372f22Ff8e6802D7A", "0xF3f50213C1d2e255e4B2bAD430F8A38EEF8D718E",
              "0x51cA8ff9f1C0a99f88E86B8112eA3237F55374cA"],
}
ORACLE_ACCOUNT_XPUBS = {
    "TRC20": "xpub6D1AabNHCupeiLM65ZR9UStMhJ1vCpyV4XbZdyhMZBiJXALQtmn9p42VTQckoHVn8WNqS7dqnJokZHAHcHGoaQgmv8D45oNUKx6DZMNZBCd",
    "ERC20": "xpub6DCoCpSuQZB2jawqnGMEPS63ePKWkwWPH4TU45Q7LPXWuNd8TMtVxRrgjtEshuqpK3mdhaWHPFsBngh5GFZaM6si3yZdUsT8ddYM3PwnATt",
    "OMNI": "xpub6BosfCnifzxcFwrSzQiqu2DBVTshkCXacvNsWGYJVVhhawA7d4R5WSWGFNbi8Aw6ZRc1brxMyWMzG3DSSSSoekkudhUd9yLb6qx39T9nMdj",
}


def reserialize(xkey: str, version: str | None = None, **over) -> str:
    """An extended key with some of its 78 bytes replaced (fields by name), re-checksummed."""
    raw = bytearray(b58decode(xkey)[:78])
    if version:
        raw[0:4] = bytes.fromhex(version)
    spans = {"depth": (4, 5), "parent": (5, 9), "child": (9, 13), "chain_code": (13, 45), "key": (45, 78)}
    for name, value in over.items():
        a, b = spans[name]
        assert len(value) == b - a, name
        raw[a:b] = value
    return b58check_encode(bytes(raw))


def xpub_info(xpub: str):
    """-> the parse-xpub record, or the error code (the rules of the `derivation` interface)."""
    raw = b58decode(xpub) if xpub else b""
    if raw is None or len(raw) < 4 or checksum4(raw[:-4]) != raw[-4:] or len(raw) != 82:
        return "INVALID_XPUB"
    version, depth, parent, child, key = raw[:4], raw[4], raw[5:9], raw[9:13], raw[45:78]
    private_versions = ("0488ade4", "04358394", "049d7878", "0295b005", "04b2430c", "02aa7a99", "044a4e28", "045f18bc")
    if version.hex() in private_versions or key[0] == 0:
        return "PRIVATE_KEY_REFUSED"
    if version != XPUB_VERSION or (depth == 0 and (parent != b"\0" * 4 or child != b"\0" * 4)):
        return "INVALID_XPUB"
    point = lift_x(key)
    if point is None:
        return "INVALID_XPUB"
    return {"depth": depth, "parent_fingerprint": int.from_bytes(parent, "big"),
            "child_number": int.from_bytes(child, "big"), "fingerprint": int.from_bytes(hash160(key)[:4], "big"),
            "public_key": key.hex()}


def parse_xpub_key(xpub: str) -> XKey:
    raw = b58decode(xpub)
    return XKey(raw[4], raw[5:9], int.from_bytes(raw[9:13], "big"), raw[13:45], K=lift_x(raw[45:78]))


ADDRESS_REQUEST_KNOWN = ("appid", "username", "chain", "sign")


def parse_address_request(body: str):
    """-> ("accept", dict) or ("reject", [codes]), in field order appid, username, chain, sign."""
    obj = load_object(body, ADDRESS_REQUEST_KNOWN)
    if obj is None:
        return ("reject", ["INVALID_JSON"])
    g = {k: obj.get(k) for k in ADDRESS_REQUEST_KNOWN}
    codes = []
    for name, ok in (("appid", ok_id), ("username", lambda v: ok_text(v, 64)),
                     ("chain", lambda v: isinstance(v, str) and v in CHAINS),
                     ("sign", lambda v: isinstance(v, str) and re.fullmatch(r"[0-9a-f]{32}", v))):
        if g[name] is None:
            codes.append("MISSING_FIELD")
        elif not ok(g[name]):
            codes.append({"chain": "UNSUPPORTED_CHAIN", "sign": "INVALID_SIGN"}.get(name, "INVALID_FIELD"))
    return ("reject", codes) if codes else ("accept", g)


def address_plain(appid: str, username: str, chain: str, secret: str) -> str:
    return f"{appid}|{username}|{chain}|{secret}"


def build_derivation_keys() -> tuple[dict, list]:
    """The vectors of the BIP32 steps and the extended-key parsing."""
    steps = []
    for n, (seed, chains) in enumerate(BIP32_TV, start=1):
        master = XKey.master(bytes.fromhex(seed))
        for path, xpub in chains:
            assert master.path(path).neuter().serialize() == xpub, (n, path)
        for (parent_path, parent), (path, child) in zip(chains, chains[1:]):
            last = path.split("/")[-1]
            name = f"BIP32 test vector {n}: {parent_path} -> {path}"
            if last.endswith("H"):
                steps.append({"name": name + " (hardened: needs the private key)", "xpub": parent,
                              "index": int(last[:-1]) + HARDENED, "error": "INVALID_INDEX"})
            else:
                public = parse_xpub_key(parent).child_key(int(last)).serialize()
                assert public == child, name
                steps.append({"name": name, "xpub": parent, "index": int(last), "child": child})
    tv1 = BIP32_TV[0][1][0][1]
    steps.append({"name": "index 2^32-1", "xpub": tv1, "index": 2**32 - 1, "error": "INVALID_INDEX"})
    steps.append({"name": "an xprv is refused before the index", "xpub": BIP32_TV1_MASTER_XPRV, "index": 0,
                  "error": "PRIVATE_KEY_REFUSED"})
    public_step = parse_xpub_key(tv1).child_key(HARDENED - 1).serialize()
    steps.append({"name": "largest normal index 2^31-1", "xpub": tv1, "index": HARDENED - 1, "child": public_step})
    assert XKey.master(bytes.fromhex(BIP32_TV[0][0])).child_key(HARDENED - 1).neuter().serialize() == public_step

    parse = []

    def px(name, xpub, expect=None):
        info = xpub_info(xpub)
        if expect is not None:
            assert info == expect, (name, info)
        parse.append({"name": name, "xpub": xpub, **({"error": info} if isinstance(info, str) else info)})

    master_xprv = BIP32_TV1_MASTER_XPRV
    k = b58decode(master_xprv)[45:78]
    px("BIP32 test vector 1 master", tv1)
    assert parse[-1]["fingerprint"] == 0x3442193E
    px("BIP32 test vector 2 m/0/2147483647H/1 (hardened parent)", BIP32_TV[1][1][3][1])
    for chain, acct in ORACLE_ACCOUNT_XPUBS.items():
        px(f"test mnemonic account {BIP44_ACCOUNTS[chain]}", acct)
    px("xprv (BIP32 test vector 1 master)", master_xprv, "PRIVATE_KEY_REFUSED")
    for v, name in (("04358394", "tprv"), ("049d7878", "yprv"), ("04b2430c", "zprv")):
        px(f"{name} version", reserialize(master_xprv, v), "PRIVATE_KEY_REFUSED")
    px("xpub version carrying private key data", reserialize(master_xprv, "0488b21e"), "PRIVATE_KEY_REFUSED")
    px("unknown version with private key data", reserialize(master_xprv, "01020304"), "PRIVATE_KEY_REFUSED")
    for v, name in (("043587cf", "tpub (testnet)"), ("049d7cb2", "ypub"), ("04b24746", "zpub"), ("01020304", "unknown")):
        px(f"{name} version", reserialize(tv1, v), "INVALID_XPUB")
    px("checksum broken", change_char(tv1, 20), "INVALID_XPUB")
    px("character outside base58 (0)", tv1[:10] + "0" + tv1[11:], "INVALID_XPUB")
    px("empty", "", "INVALID_XPUB")
    px("an address, not a key", KNOWN_FIRST["OMNI"], "INVALID_XPUB")
    raw = b58decode(tv1)[:78]
    px("77 bytes", b58check_encode(raw[:77]), "INVALID_XPUB")
    px("79 bytes", b58check_encode(raw + b"\0"), "INVALID_XPUB")
    px("master with a parent fingerprint", reserialize(tv1, parent=b"\0\0\0\1"), "INVALID_XPUB")
    px("master with an index", reserialize(tv1, child=b"\0\0\0\1"), "INVALID_XPUB")
    px("key prefix 04", reserialize(tv1, key=b"\4" + raw[46:78]), "INVALID_XPUB")
    px("key prefix 01", reserialize(tv1, key=b"\1" + raw[46:78]), "INVALID_XPUB")
    x = 5
    while lift_x(b"\2" + x.to_bytes(32, "big")) is not None:
        x += 1
    px(f"x = {x}: not on the curve", reserialize(tv1, key=b"\2" + x.to_bytes(32, "big")), "INVALID_XPUB")
    px("x = p: not a field element", reserialize(tv1, key=b"\3" + SECP_P.to_bytes(32, "big")), "INVALID_XPUB")
    assert k[0] == 0
    return {"steps": steps, "parse": parse}, parse


def build_derivation_addresses() -> list:
    """Deposit addresses of the test mnemonic's accounts, by private derivation of the full path."""
    root = XKey.master(bip39_seed(TEST_MNEMONIC))
    cases = []
    for chain, account_path in BIP44_ACCOUNTS.items():
        account = root.path(account_path)
        xpub = account.neuter().serialize()
        assert xpub == ORACLE_ACCOUNT_XPUBS[chain], chain
        for index in (0, 1, 2, 3, 4, 1000, HARDENED - 1):
            key = account.child_key(0).child_key(index)
            address = key_address(key.K, chain)
            if index < 5 and chain in ORACLE_ADDRESSES:
                assert address == ORACLE_ADDRESSES[chain][index], (chain, index)
            if index == 0 and chain in KNOWN_FIRST:
                assert address == KNOWN_FIRST[chain], chain
            cases.append({"name": f"test mnemonic {account_path}/0/{index} {chain}", "xpub": xpub, "chain": chain,
                          "index": index, "address": address, "public_key": ser_p(key.K).hex()})
        for index in (HARDENED, 2**32 - 1):
            cases.append({"name": f"{chain} index {index}: hardened", "xpub": xpub, "chain": chain, "index": index,
                          "error": "INVALID_INDEX"})
    master = XKey.master(bytes.fromhex(BIP32_TV[0][0]))
    for chain in CHAINS:
        key = master.child_key(0).child_key(7)
        cases.append({"name": f"BIP32 test vector 1 master as an account: m/0/7 {chain}",
                      "xpub": master.neuter().serialize(), "chain": chain, "index": 7,
                      "address": key_address(key.K, chain), "public_key": ser_p(key.K).hex()})
    cases.append({"name": "an xprv derives nothing", "xpub": BIP32_TV1_MASTER_XPRV, "chain": "TRC20", "index": 0,
                  "error": "PRIVATE_KEY_REFUSED"})
    cases.append({"name": "a garbled xpub derives nothing", "xpub": "xpub123", "chain": "ERC20", "index": 0,
                  "error": "INVALID_XPUB"})
    return cases


def build_address_requests() -> dict:
    merchants = [
        {"appid": "demo_app", "secret": "s3cr3t-demo", "next_secret": None},
        {"appid": "rotating", "secret": "old-secret", "next_secret": "new-secret"},
    ]
    secrets_of = {m["appid"]: [m["secret"]] + ([m["next_secret"]] if m["next_secret"] else []) for m in merchants}
    signs, parse, check = [], [], []
    for appid, username, chain, secret in (("demo_app", "alice", "TRC20", "s3cr3t-demo"),
                                           ("demo_app", "张三", "ERC20", "s3cr3t-demo"),
                                           ("rotating", "bob 2", "OMNI", "商户密钥🔑")):
        plain = address_plain(appid, username, chain, secret)
        signs.append({"name": f"{appid} {username} {chain}", "appid": appid, "username": username, "chain": chain,
                      "secret": secret, "plain": plain, "sign": md5hex(plain)})

    def case(name, body, secret=None, **f):
        if body is None:
            fields = {"appid": "demo_app", "username": "alice", "chain": "TRC20", **f}
            if "sign" not in fields:
                fields["sign"] = md5hex(address_plain(fields["appid"], fields["username"], fields["chain"], secret))
            body = json.dumps(fields, ensure_ascii=False)
        kind, got = parse_address_request(body)
        parse.append({"name": name, "body": body, kind: got})
        if kind == "accept" and got["appid"] not in secrets_of:
            kind, got = "reject", ["UNKNOWN_APPID"]
        elif kind == "accept":
            code = check_sign(None, got["sign"], secrets_of[got["appid"]],
                              lambda s: address_plain(got["appid"], got["username"], got["chain"], s))
            if code:
                kind, got = "reject", [code]
        check.append({"name": name, "body": body, kind: got})

    case("TRC20 for alice", None, "s3cr3t-demo")
    case("ERC20 for a Chinese username", None, "s3cr3t-demo", username="张三", chain="ERC20")
    case("OMNI, next secret of a rotation", None, "new-secret", appid="rotating", chain="OMNI")
    case("current secret of a rotation", None, "old-secret", appid="rotating")
    case("neither secret", None, "other", appid="rotating")
    case("signed for another chain", None, None, sign=md5hex(address_plain("demo_app", "alice", "ERC20", "s3cr3t-demo")))
    case("unknown appid", None, "s3cr3t-demo", appid="nobody")
    case("uppercase sign", None, None, sign=md5hex(address_plain("demo_app", "alice", "TRC20", "s3cr3t-demo")).upper())
    case("lowercase chain name", None, "s3cr3t-demo", chain="trc20")
    case("chain BEP20", None, "s3cr3t-demo", chain="BEP20")
    case("chain a number", '{"appid": "demo_app", "username": "alice", "chain": 20, "sign": "%s"}' % ("0" * 32))
    case("username with |", None, "s3cr3t-demo", username="a|b")
    case("username of 65 characters", None, "s3cr3t-demo", username="u" * 65)
    case("appid with a space", None, "s3cr3t-demo", appid="demo app")
    case("every field missing", "{}")
    case("fields null", '{"appid": null, "username": null, "chain": null, "sign": null}')
    case("not an object", "[]")
    case("not JSON", "appid=demo_app")
    case("repeated chain", '{"appid": "demo_app", "username": "alice", "chain": "TRC20", "chain": "OMNI", "sign": "%s"}'
         % ("0" * 32))
    case("unknown fields ignored", json.dumps({"x": 1, "appid": "demo_app", "username": "alice", "chain": "TRC20",
                                               "sign": md5hex(address_plain("demo_app", "alice", "TRC20", "s3cr3t-demo"))}))
    assert sum("accept" in c for c in check) == 5, [c["name"] for c in check if "accept" in c]
    return {"keyring": {"merchants": merchants}, "address_sign": signs, "parse": parse, "check": check}


def build_derivation() -> dict:
    keys, _ = build_derivation_keys()
    return {**keys, "addresses": build_derivation_addresses(), "requests": build_address_requests()}


def build_all() -> dict[str, str]:
    self_check()
    gen = Gen()
    pool = {
        "tron": [gen.tron() for _ in range(4)],
        "erc": [gen.erc() for _ in range(3)],
        "p2pkh": [gen.p2pkh() for _ in range(3)],
        "p2sh": [gen.p2sh() for _ in range(3)],
    }
    data = {
        "signs.json": build_signs(pool),
        "amounts.json": build_amounts(),
        "addresses.json": build_addresses(gen, pool),
        "orders.json": build_orders(pool),
        "callbacks.json": build_callbacks(),
        "orderids.json": build_orderids(gen),
        "confirmations.json": build_confirmations(),
        "protocol.json": build_protocol(),
        "gateway.json": build_gateway(pool),
        "derivation.json": build_derivation(),
    }
    for fname, d in data.items():
        for section in d.values():
            for sub in [section] + ([v for v in section.values() if isinstance(v, list)]
                                    if isinstance(section, dict) else []):
                if not isinstance(sub, list) or not all(isinstance(c, dict) and "name" in c for c in sub):
                    continue
                names = [c["name"] for c in sub]
                dup = {n for n in names if names.count(n) > 1}
                assert not dup, (fname, dup)
    return {k: json.dumps(v, indent=2, ensure_ascii=False, sort_keys=True) + "\n" for k, v in data.items()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if a file on disk differs from the generated one")
    ap.add_argument("--out", type=Path, default=HERE, help="output directory (default: next to this script)")
    args = ap.parse_args()
    files = build_all()
    if args.check:
        stale = []
        for name, text in files.items():
            path = args.out / name
            if not path.exists() or path.read_bytes() != text.encode("utf-8"):
                stale.append(name)
        if stale:
            print(f"test vectors out of date: {', '.join(stale)}; run python3 tests/vectors/generate.py",
                  file=sys.stderr)
            return 1
        print(f"{len(files)} vector files are current")
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (args.out / name).write_bytes(text.encode("utf-8"))
    print(f"wrote {len(files)} files to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Checks the test vectors of docs/license-file.md with a verifier written
from that page alone, as another language's implementer would write it.

The text, envelope, key id and signed-bytes steps use Python's standard
library only. The Ed25519 signature is checked when the `cryptography`
package is installed; without it those rows are checked up to the key id,
and the script says so.

Run it from anywhere: python3 docs/license-file-vectors.py (exit 0: every
row of the page's table gives the outcome the page states).
"""
import base64
import binascii
import datetime
import hashlib
import json
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "license-file.md").read_text(encoding="utf-8")
TESTDATA = ROOT / "offline" / "testdata"

PREFIX = b"licentric-license-file/v1:"
BEGIN, END = "-----BEGIN LICENTRIC LICENSE FILE-----", "-----END LICENTRIC LICENSE FILE-----"
FINGERPRINT = "3f2a9c1e7b8d4f6a0c5e9b2d1a7f3c8e"
NOW = datetime.datetime(2026, 1, 15, 11, 30, tzinfo=datetime.timezone.utc)
SKEW = datetime.timedelta(minutes=5)

try:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
except ImportError:  # the signature check is skipped, and reported
    Ed25519PublicKey = None


class Refused(Exception):
    """A check of section 6 failed; the argument is the Go error's name."""


def b64(text):
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise Refused("ErrMalformed")


def is_one(v):
    """Whether a JSON value is the number 1 written as an integer (not 1.0, not true)."""
    return type(v) is int and v == 1


def timestamp(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def verify(raw, keys, now=NOW):
    """Section 6, checks 1 to 11 (no rollback state, no entitlements)."""
    if len(raw) > 1 << 20:
        raise Refused("ErrTooLarge")
    text = raw.decode("ascii", "replace").strip()
    if text.startswith(BEGIN):
        if not text.endswith(END):
            raise Refused("ErrMalformed")
        text = text[len(BEGIN):-len(END)]
    try:
        env = json.loads(b64("".join(text.split())))
    except ValueError:
        raise Refused("ErrMalformed")
    if not isinstance(env, dict) or not is_one(env.get("v")) or env.get("alg") != "ed25519" or not all(
        isinstance(env.get(k), str) and env.get(k) for k in ("kid", "payload", "sig")
    ):
        raise Refused("ErrMalformed")
    sig = b64(env["sig"])
    if len(sig) != 64:
        raise Refused("ErrMalformed")
    if env["kid"] not in keys:
        raise Refused("ErrUnknownKey")
    if Ed25519PublicKey is not None:
        try:
            Ed25519PublicKey.from_public_bytes(keys[env["kid"]]).verify(sig, PREFIX + env["payload"].encode("ascii"))
        except InvalidSignature:
            raise Refused("ErrSignature")
    try:
        p = json.loads(b64(env["payload"]))
        issued, expires = timestamp(p["issuedAt"]), timestamp(p["expiresAt"])
        lic = p["license"]
        if not is_one(p["v"]) or lic["status"] not in ("active", "expired", "suspended", "revoked", "banned"):
            raise Refused("ErrMalformed")
    except (ValueError, KeyError, TypeError):
        raise Refused("ErrMalformed")
    if p["env"] != "live":
        raise Refused("ErrEnvironment")
    if issued > now + SKEW:
        raise Refused("ErrNotYetValid")
    if not now < expires:
        raise Refused("ErrFileExpired")
    for status, err in (("banned", "ErrLicenseBanned"), ("revoked", "ErrLicenseRevoked"), ("suspended", "ErrLicenseSuspended")):
        if lic["status"] == status:
            raise Refused(err)
    expired = lic["status"] == "expired" or (lic.get("expiresAt") and now >= timestamp(lic["expiresAt"]))
    strategy = ((lic.get("policy") or {}).get("expirationStrategy")) or "RESTRICT_ACCESS"
    if expired and strategy == "REVOKE":
        raise Refused("ErrLicenseRevoked")
    if expired and strategy != "ALLOW_ACCESS":
        raise Refused("ErrLicenseExpired")
    if p["fingerprint"] != FINGERPRINT:
        raise Refused("ErrFingerprintMismatch")
    return p, bool(expired)


def main():
    failures = []
    pub = base64.b64decode((TESTDATA / "public-key.b64").read_text().strip(), validate=True)
    if bytes.fromhex((TESTDATA / "public-key.hex").read_text().strip()) != pub:
        failures.append("public-key.hex differs from public-key.b64")
    kid = hashlib.sha256(pub).hexdigest()[:16]
    if f"has the kid `{kid}`" not in DOC:
        failures.append(f"the page does not give the kid {kid}")
    keys = {kid: pub}

    rows = re.findall(r"(?m)^\| `([a-z-]+\.lic)` \| (.+?) \| (`[0-9a-f]{64}`|—) \|$", DOC)
    if len(rows) != len(list(TESTDATA.glob("*.lic"))):
        failures.append("the table does not list every .lic file")
    for name, outcome, digest in rows:
        raw = (TESTDATA / name).read_bytes()
        want = "verifies" if outcome.startswith("verifies") else re.match(r"`(Err\w+)`", outcome).group(1)
        try:
            _, expired = verify(raw, keys)
            got = "verifies"
            if expired != ("reported as expired" in outcome):
                failures.append(f"{name}: license expired {expired}")
        except Refused as e:
            got = e.args[0]
        if got != want and not (Ed25519PublicKey is None and want == "ErrSignature"):
            failures.append(f"{name}: {got}, the page says {want}")
        if digest != "—":
            payload = json.loads(base64.b64decode("".join(l.strip() for l in raw.decode().splitlines() if not l.startswith("-----"))))["payload"]
            got_digest = hashlib.sha256(PREFIX + payload.encode("ascii")).hexdigest()
            if f"`{got_digest}`" != digest:
                failures.append(f"{name}: SHA-256 of the signed bytes is {got_digest}")

    valid = (TESTDATA / "valid.lic").read_bytes()
    for when, want in ((datetime.datetime(2026, 1, 29, 10, 30, tzinfo=datetime.timezone.utc), "ErrFileExpired"),
                       (datetime.datetime(2026, 1, 15, 10, 24, 59, tzinfo=datetime.timezone.utc), "ErrNotYetValid")):
        try:
            verify(valid, keys, when)
            failures.append(f"valid.lic at {when}: verifies, the page says {want}")
        except Refused as e:
            if e.args[0] != want:
                failures.append(f"valid.lic at {when}: {e.args[0]}, the page says {want}")

    for f in failures:
        print("FAIL", f)
    note = "" if Ed25519PublicKey is not None else " (signatures not checked: pip install cryptography)"
    print(f"{len(rows)} vectors, {len(failures)} failures{note}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

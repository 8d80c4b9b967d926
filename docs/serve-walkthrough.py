#!/usr/bin/env python3
"""The README's "Testing from another language" walkthrough, in Python with
only the standard library: start `licentric serve`, read its JSON line,
validate, activate (License auth), heartbeat, check out, move the clock and
list the requests. .ci/run runs it, so the walkthrough can't rot.

Usage: python3 docs/serve-walkthrough.py [LICENTRIC-COMMAND...]
(default: go run ./cmd/licentric, from the repository's root)
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request

SEED = {
    "products": [{
        # "env": "live": an application without an API key validates in live.
        "env": "live",
        "name": "Desktop App", "code": "desktop", "keyPrefix": "DSK",
        "policies": [{
            "name": "Standard", "maxMachines": 2, "offlineAllowed": True,
            "requireHeartbeat": True, "heartbeatIntervalMinutes": 60,
            "heartbeatCullStrategy": "KEEP_DEAD",
            "licenses": [{"key": "DSK-LIVE-0000-0001", "name": "CI"}],
        }],
    }],
}
KEY = "DSK-LIVE-0000-0001"
FINGERPRINT = "ci-machine-0001"


def call(method, url, auth=None, body=None):
    """Sends a request; returns (status, decoded JSON body or None)."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if auth:
        req.add_header("Authorization", auth)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    return status, (json.loads(raw) if raw else None)


def expect(what, got, want):
    if got != want:
        sys.exit(f"walkthrough: {what}: got {got!r}, want {want!r}")
    print(f"ok  {what}: {got}")


def main():
    cmd = sys.argv[1:] or ["go", "run", "./cmd/licentric"]
    with tempfile.TemporaryDirectory() as tmp:
        seed = os.path.join(tmp, "seed.json")
        with open(seed, "w") as f:
            json.dump(SEED, f)
        # 1. Start the server; it prints one JSON line on stdout.
        proc = subprocess.Popen(cmd + ["serve", "--frozen", "--seed", seed], stdout=subprocess.PIPE, text=True)
        try:
            walk(json.loads(proc.stdout.readline()))
        finally:
            proc.send_signal(signal.SIGTERM)  # a clean stop: exit 0
            code = proc.wait(timeout=60)
        # go run reports the signal's exit status itself; the binary exits 0.
        if cmd[:2] != ["go", "run"]:
            expect("exit status after SIGTERM", code, 0)


def walk(info):
    api, control = info["url"] + "/api/v1", info["control"]

    # The OpenAPI document of everything below.
    status, doc = call("GET", info["openapi"])
    expect("GET openapi.json", (status, doc["openapi"]), (200, "3.1.0"))
    for path in ["/licenses/validate-key", "/machines", "/machines/{id}/heartbeat", "/licenses/{id}/checkout"]:
        expect("documented " + path, path in doc["paths"], True)

    # 2. Validate as an application does: no API key (looks in live).
    status, body = call("POST", api + "/licenses/validate-key", body={"key": KEY, "fingerprint": FINGERPRINT})
    expect("validate before activation", (status, body["data"]["code"]), (200, "FINGERPRINT_NOT_FOUND"))
    license_id = body["data"]["license"]["id"]

    # 3. Activate this machine with the license's own key.
    lic = "License " + KEY
    status, body = call("POST", api + "/machines", auth=lic,
                        body={"fingerprint": FINGERPRINT, "platform": "linux", "name": "CI runner"})
    expect("activate", status, 201)
    machine_id = body["data"]["id"]
    status, body = call("POST", api + "/licenses/validate-key", body={"key": KEY, "fingerprint": FINGERPRINT})
    expect("validate after activation", (body["data"]["valid"], body["data"]["code"]), (True, "VALID"))

    # 4. Heartbeat.
    status, body = call("POST", api + f"/machines/{machine_id}/heartbeat", auth=lic)
    expect("heartbeat", (status, body["data"]["status"]), (200, "active"))

    # 5. Check out a signed license file for offline use.
    status, body = call("POST", api + f"/licenses/{license_id}/checkout", auth=lic,
                        body={"fingerprint": FINGERPRINT, "ttl": 86400})
    expect("checkout", (status, body["data"]["ttl"], body["data"]["certificate"] != ""), (200, 86400, True))

    # 6. Move the server's clock past the heartbeat interval: the machine is dead.
    status, body = call("POST", control + "/advance?seconds=7200")
    expect("advance", status, 200)
    status, body = call("POST", api + "/licenses/validate-key", body={"key": KEY, "fingerprint": FINGERPRINT})
    expect("validate after 2 h without heartbeat", body["data"]["code"], "HEARTBEAT_REQUIRED")
    call("POST", api + f"/machines/{machine_id}/heartbeat", auth=lic)
    status, body = call("POST", api + "/licenses/validate-key", body={"key": KEY, "fingerprint": FINGERPRINT})
    expect("validate after a new heartbeat", body["data"]["code"], "VALID")

    # 7. List the requests the server answered.
    status, reqs = call("GET", control + "/requests")
    seen = [(r["method"], r["path"], r["status"]) for r in reqs]
    expect("requests include the activation", ("POST", "/machines", 201) in seen, True)
    expect("requests include the checkout", ("POST", f"/licenses/{license_id}/checkout", 200) in seen, True)


if __name__ == "__main__":
    main()

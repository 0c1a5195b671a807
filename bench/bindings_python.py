"""Python bindings vs the peers Python developers use today, same inputs, same run.

1. authorize, one call at a time: strongroom.policy (engine and entities built once) vs cedarpy
   with policy/entity strings (the usual call) and vs cedarpy with its pre-parsed handles.
2. authorize a batch of 10,000 requests: authorize_batch vs cedarpy.is_authorized_batch.
3. HMAC-SHA256 of a file: KeyRing.sign_file vs hmac + hashlib reading 1 MiB blocks.

Usage: python bench/bindings_python.py FILE_TO_HASH   (prints Markdown table rows)
"""

import hashlib
import hmac
import json
import os
import platform
import random
import sys
import time

import cedarpy

from strongroom.policy import PolicyEngine
from strongroom.verifier import KeyRing

MACHINE = f"{os.cpu_count()}-core {platform.system()} VM"
SCHEMA = """
entity User in [Group];
entity Group;
entity Folder;
entity Doc in [Folder] { owner: User, public: Bool };
action read, write appliesTo { principal: User, resource: Doc, context: { mfa: Bool } };
"""
POLICIES = """
@id("owner-all") permit(principal, action, resource) when { resource.owner == principal };
@id("public-read") permit(principal, action == Action::"read", resource) when { resource.public };
@id("editors-write") permit(principal in Group::"editors", action == Action::"write", resource) when { context.mfa };
@id("readers-read") permit(principal in Group::"readers", action == Action::"read", resource in Folder::"shared");
@id("no-archive") forbid(principal, action == Action::"write", resource in Folder::"archive") unless { principal in Group::"admins" };
"""


def workload(seed=7):
    rnd = random.Random(seed)
    uid = lambda t, i: {"type": t, "id": i}
    groups = ["editors", "readers", "admins"]
    entities = [{"uid": uid("Group", g), "attrs": {}, "parents": []} for g in groups]
    entities += [{"uid": uid("Folder", f), "attrs": {}, "parents": []} for f in ["shared", "archive", "home"]]
    users = [f"u{i}" for i in range(200)]
    for u in users:
        entities.append({"uid": uid("User", u), "attrs": {}, "parents": [uid("Group", g) for g in rnd.sample(groups, 1)]})
    docs = [f"d{i}" for i in range(2000)]
    for d in docs:
        entities.append({
            "uid": uid("Doc", d),
            "attrs": {"owner": {"__entity": uid("User", rnd.choice(users))}, "public": rnd.random() < 0.1},
            "parents": [uid("Folder", rnd.choice(["shared", "archive", "home"]))],
        })
    requests = [
        {
            "principal": f'User::"{rnd.choice(users)}"',
            "action": f'Action::"{rnd.choice(["read", "write"])}"',
            "resource": f'Doc::"{rnd.choice(docs)}"',
            "context": {"mfa": rnd.random() < 0.5},
        }
        for _ in range(10_000)
    ]
    return entities, requests


def per_call(fn, requests, min_seconds=2.0):
    """Median seconds per call over repeated passes."""
    passes = []
    start = time.perf_counter()
    while time.perf_counter() - start < min_seconds or len(passes) < 3:
        t0 = time.perf_counter()
        for r in requests:
            fn(r)
        passes.append((time.perf_counter() - t0) / len(requests))
    passes.sort()
    return passes[len(passes) // 2]


def once(fn, runs=5):
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2]


def row(workload_name, ours, peer_name, theirs, unit):
    fmt = (lambda s: f"{s * 1e6:.1f} µs") if unit == "us" else (lambda s: f"{s:.3f} s")
    print(f"| {workload_name} | {fmt(ours)} | {peer_name} | {fmt(theirs)} | {theirs / ours:.2f}× | {MACHINE} | `bench/bindings.sh` |")


def overhead_only(engine, parsed, requests):
    rust = float(os.environ["RUST_AUTHORIZE_US"]) / 1e6
    ours_call = per_call(lambda r: engine.authorize(r, parsed), requests[:2000])
    row("binding overhead: Python authorize vs the Rust API (request from JSON)", ours_call,
        "Rust `Request::from_json` + `authorize`", rust, "us")


def main():
    only_overhead = "--overhead-only" in sys.argv
    path = [a for a in sys.argv[1:] if a != "--overhead-only"][0]
    entities, requests = workload()
    entities_json = json.dumps(entities)
    if os.environ.get("BENCH_WORKLOAD_OUT"):
        # The Node benchmark decides exactly the same requests over the same entities.
        with open(os.environ["BENCH_WORKLOAD_OUT"], "w") as f:
            json.dump({"schema": SCHEMA, "policies": POLICIES, "entities": entities, "requests": requests}, f)
    engine = PolicyEngine(SCHEMA, POLICIES)
    parsed = engine.entities(entities)
    if only_overhead:
        return overhead_only(engine, parsed, requests)

    # Same answers first: a benchmark of different decisions would be meaningless.
    ours = [d.allowed for d in engine.authorize_batch(requests[:500], parsed)]
    theirs = [r.allowed for r in cedarpy.is_authorized_batch(requests[:500], POLICIES, entities_json, SCHEMA)]
    assert ours == theirs, "strongroom and cedarpy disagree"

    sample = requests[:300]
    ours_call = per_call(lambda r: engine.authorize(r, parsed), requests[:2000])
    cedarpy_strings = per_call(lambda r: cedarpy.is_authorized(r, POLICIES, entities_json, SCHEMA), sample)
    policy_set = cedarpy.PolicySet.from_str(POLICIES)
    schema = cedarpy.Schema.from_str(SCHEMA)
    handles = cedarpy.Entities.from_json_str(entities_json, SCHEMA)
    cedarpy_handles = per_call(lambda r: cedarpy.is_authorized(r, policy_set, handles, schema), requests[:2000])
    row("authorize, 1 request, 2,200 entities", ours_call, "cedarpy 4.12 (strings, the usual call)", cedarpy_strings, "us")
    row("authorize, 1 request, 2,200 entities", ours_call, "cedarpy 4.12 (pre-parsed handles)", cedarpy_handles, "us")

    ours_batch = once(lambda: engine.authorize_batch(requests, parsed))
    cedarpy_batch = once(lambda: cedarpy.is_authorized_batch(requests, policy_set, handles, schema))
    row("authorize_batch, 10,000 requests", ours_batch, "cedarpy.is_authorized_batch (handles)", cedarpy_batch, "s")

    key = os.urandom(32)
    ring = KeyRing()
    ring.add_signing_key("bench", key)

    def python_hmac():
        mac = hmac.new(key, digestmod=hashlib.sha256)
        with open(path, "rb") as f:
            while block := f.read(1 << 20):
                mac.update(block)
        return mac.hexdigest()

    parts_mac = __import__("strongroom").verifier.parse_signature_parts(ring.sign_file(path))["mac"]
    assert parts_mac == python_hmac(), "strongroom and hmac disagree"
    ours_file = once(lambda: ring.sign_file(path))
    peer_file = once(python_hmac)
    size = os.path.getsize(path) / (1 << 30)
    row(f"HMAC-SHA256 of a {size:.0f} GiB file", ours_file, "hmac + hashlib, 1 MiB reads", peer_file, "s")


if __name__ == "__main__":
    main()

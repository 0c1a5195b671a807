"""A file platform in miniature, from Python: who may read a shared report, why a write is
denied, and whether the bytes on disk are the ones that were signed.

    pip install ./bindings/python && python examples/python/share_and_verify.py
"""

import pathlib
import tempfile

import strongroom
from strongroom.policy import PolicyEngine
from strongroom.verifier import KeyRing, generate_key

SCHEMA = """
entity User in [Group];
entity Group;
entity Doc { owner: User };
action read, write appliesTo { principal: User, resource: Doc, context: { mfa: Bool } };
"""
POLICIES = """
@id("owner") permit(principal, action, resource) when { resource.owner == principal };
@id("team-read") permit(principal in Group::"finance", action == Action::"read", resource);
@id("team-write-mfa") permit(principal in Group::"finance", action == Action::"write", resource) when { context.mfa };
"""


def uid(t, i):
    return {"type": t, "id": i}


def main():
    engine = PolicyEngine(SCHEMA, POLICIES)
    entities = engine.entities([
        {"uid": uid("User", "ann"), "attrs": {}, "parents": []},
        {"uid": uid("User", "bob"), "attrs": {}, "parents": [uid("Group", "finance")]},
        {"uid": uid("Group", "finance"), "attrs": {}, "parents": []},
        {"uid": uid("Doc", "q3"), "attrs": {"owner": {"__entity": uid("User", "ann")}}, "parents": []},
    ])

    def request(action, mfa):
        return {"principal": 'User::"bob"', "action": f'Action::"{action}"', "resource": 'Doc::"q3"',
                "context": {"mfa": mfa}}

    read = engine.authorize(request("read", False), entities)
    print(f"bob reads q3: {read.allowed} (by {read.policies})")
    why = engine.explain(request("write", False), entities)
    nearest = why["candidates"][0]
    print(f"bob writes q3 without MFA: denied; nearest permit {nearest['policy']['id']} "
          f"failed at `{nearest['failed']['expression']}`")

    ring = KeyRing()
    ring.add_signing_key("2026-11", generate_key())
    with tempfile.TemporaryDirectory() as tmp:
        report = pathlib.Path(tmp) / "q3.pdf"
        report.write_bytes(b"%PDF-1.7 quarterly numbers")
        signature = ring.sign_file(report)
        print(f"signed: {signature[:40]}...")
        ring.verify_file(report, signature)
        report.write_bytes(b"%PDF-1.7 quarterly numbers, edited")
        try:
            ring.verify_file(report, signature)
        except strongroom.MismatchError:
            print("tampering detected: the file no longer matches its signature")


if __name__ == "__main__":
    main()

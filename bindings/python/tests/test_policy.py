"""strongroom.policy from Python: decisions, batches, explain, hot reload, bad input."""

import pytest

import strongroom
from strongroom.policy import PolicyEngine

SCHEMA = """
entity User in [Group];
entity Group;
entity Doc { owner: User, public: Bool };
action read, write appliesTo { principal: User, resource: Doc, context: { mfa: Bool } };
"""

POLICIES = {
    "base": """
@id("owner-all") @reason("owners may do anything")
permit(principal, action, resource) when { resource.owner == principal };

@id("public-read")
permit(principal, action == Action::"read", resource) when { resource.public };

@id("editors-write")
permit(principal in Group::"editors", action == Action::"write", resource) when { context.mfa };
""",
}


def uid(t, i):
    return {"type": t, "id": i}


ENTITIES = [
    {"uid": uid("User", "ann"), "attrs": {}, "parents": []},
    {"uid": uid("User", "bob"), "attrs": {}, "parents": [uid("Group", "editors")]},
    {"uid": uid("Group", "editors"), "attrs": {}, "parents": []},
    {"uid": uid("Doc", "d1"), "attrs": {"owner": {"__entity": uid("User", "ann")}, "public": False}, "parents": []},
    {"uid": uid("Doc", "d2"), "attrs": {"owner": {"__entity": uid("User", "ann")}, "public": True}, "parents": []},
]


def req(principal, action, resource, mfa=False):
    return {
        "principal": f'User::"{principal}"',
        "action": f'Action::"{action}"',
        "resource": f'Doc::"{resource}"',
        "context": {"mfa": mfa},
    }


@pytest.fixture
def engine():
    return PolicyEngine(SCHEMA, POLICIES)


def test_decisions_name_their_policies(engine):
    entities = engine.entities(ENTITIES)
    assert len(entities) == 5
    allowed = engine.authorize(req("ann", "write", "d1"), entities)
    assert allowed and allowed.allowed and allowed.policies == ["owner-all"]
    assert allowed.annotations["owner-all"]["reason"] == "owners may do anything"
    denied = engine.authorize(req("bob", "read", "d1"), entities)
    assert not denied and denied.policies == [] and denied.errors == []
    assert engine.authorize(req("bob", "read", "d2"), ENTITIES).policies == ["public-read"]
    assert engine.authorize(req("bob", "write", "d1", mfa=True), entities).policies == ["editors-write"]


def test_batches_keep_order(engine):
    entities = engine.entities(ENTITIES)
    requests = [req("bob", "write", "d1", mfa=i % 2 == 0) for i in range(5000)]
    decisions = engine.authorize_batch(requests, entities)
    assert [d.allowed for d in decisions] == [i % 2 == 0 for i in range(5000)]


def test_explain_names_the_failed_clause(engine):
    why = engine.explain(req("bob", "write", "d1", mfa=False), ENTITIES)
    assert why["decision"]["allowed"] is False
    nearest = why["candidates"][0]
    assert nearest["policy"]["id"] == "editors-write"
    assert nearest["failed"]["expression"] == "context.mfa"
    assert "editors-write" in why["text"]


def test_queries(engine):
    entities = engine.entities(ENTITIES)
    assert engine.list_resources('User::"bob"', 'Action::"read"', ['Doc::"d1"', 'Doc::"d2"'], entities, {"mfa": False}) == [
        'Doc::"d2"'
    ]
    assert engine.allowed_actions('User::"ann"', 'Doc::"d1"', entities, {"mfa": False}) == [
        'Action::"read"',
        'Action::"write"',
    ]


def test_replace_is_atomic_and_refuses_invalid_sets(engine):
    v1 = engine.version
    with pytest.raises(strongroom.ValidationError) as caught:
        engine.replace(SCHEMA, 'permit(principal, action, resource) when { resource.no_such_attr };')
    assert caught.value.diagnostics and "no_such_attr" in str(caught.value)
    assert engine.version == v1
    assert engine.authorize(req("ann", "write", "d1"), ENTITIES).allowed
    v2 = engine.replace(SCHEMA, 'forbid(principal, action, resource);')
    assert v2 > v1 and engine.version == v2
    assert not engine.authorize(req("ann", "write", "d1"), ENTITIES).allowed


def test_validate_reports_problems_with_locations():
    assert PolicyEngine.validate(SCHEMA, POLICIES) == []
    problems = PolicyEngine.validate(SCHEMA, 'permit(principal, action, resource) when { resource.nope };')
    assert len(problems) == 1 and problems[0]["message"]


def test_bad_input_raises_clear_exceptions(engine):
    with pytest.raises(strongroom.FormatError) as caught:
        PolicyEngine(SCHEMA, "permit(principal, action resource);")
    assert caught.value.diagnostics[0]["line"] == 1
    with pytest.raises(strongroom.FormatError):
        PolicyEngine("entity User", "")
    with pytest.raises(TypeError):
        PolicyEngine(SCHEMA, 42)
    with pytest.raises(strongroom.FormatError, match="principal"):
        engine.authorize({"action": 'Action::"read"', "resource": 'Doc::"d1"'}, ENTITIES)
    with pytest.raises(strongroom.FormatError):
        engine.authorize(req("ann", "read", "d1") | {"action": 'Action::"delete"'}, ENTITIES)
    with pytest.raises(strongroom.FormatError, match="entities"):
        engine.entities([{"uid": uid("Doc", "x"), "attrs": {"owner": 5, "public": True}, "parents": []}])
    with pytest.raises(TypeError):
        engine.authorize("not a dict", ENTITIES)
    with pytest.raises(TypeError):
        engine.entities(42)
    with pytest.raises(TypeError):
        engine.authorize(req("ann", "read", "d1") | {"context": {"mfa": object()}}, ENTITIES)


def test_the_file_platform_pack_loads():
    engine = PolicyEngine.file_platform()
    assert len(engine.policy_ids) > 5

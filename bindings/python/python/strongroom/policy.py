"""A pre-parsed, validated Cedar policy engine (strongroom-access-policy).

>>> from strongroom.policy import PolicyEngine
>>> schema = '''
... entity User;
... entity Doc { owner: User };
... action read appliesTo { principal: User, resource: Doc };
... '''
>>> engine = PolicyEngine(schema, '@id("owner-read") permit(principal, action == Action::"read", resource) when { resource.owner == principal };')
>>> entities = engine.entities([
...     {"uid": {"type": "User", "id": "ann"}, "attrs": {}, "parents": []},
...     {"uid": {"type": "Doc", "id": "d1"}, "attrs": {"owner": {"__entity": {"type": "User", "id": "ann"}}}, "parents": []},
... ])
>>> engine.authorize({"principal": 'User::"ann"', "action": 'Action::"read"', "resource": 'Doc::"d1"'}, entities).policies
['owner-read']

Parse the schema and policies once, parse entities once with ``engine.entities``, then decide as
often as needed; ``authorize_batch`` releases the GIL and runs large batches in parallel.
"""

from ._native import Decision, Entities, PolicyEngine
from ._native import FormatError, StrongroomError, ValidationError

__all__ = ["Decision", "Entities", "FormatError", "PolicyEngine", "StrongroomError", "ValidationError"]

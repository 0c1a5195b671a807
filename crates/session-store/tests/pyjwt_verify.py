"""Verifies Strongroom access tokens with PyJWT, using only the published JWKS.

stdin:  {"jwks": {...}, "issuer": "...", "audience": "...", "tokens": ["...", ...]}
stdout: one JSON object per token: {"ok": true, "sub": ..., "alg": ...} or {"ok": false, "error": ...}
"""
import json
import sys

import jwt

request = json.load(sys.stdin)
keys = jwt.PyJWKSet.from_dict(request["jwks"])
by_kid = {key.key_id: key for key in keys.keys}
for token in request["tokens"]:
    try:
        kid = jwt.get_unverified_header(token)["kid"]
        key = by_kid[kid]
        # The algorithm comes from the published key, never from the token header.
        claims = jwt.decode(
            token,
            key=key,
            algorithms=[key.algorithm_name],
            audience=request["audience"],
            issuer=request["issuer"],
            options={"require": ["exp", "iat", "nbf", "sub", "jti"]},
        )
        print(json.dumps({"ok": True, "sub": claims["sub"], "sid": claims["sid"], "alg": key.algorithm_name}))
    except Exception as error:  # noqa: BLE001 - report every failure kind to the Rust test
        print(json.dumps({"ok": False, "error": type(error).__name__}))

"""River HalfSpaceTrees on the stream written by the `export_stream` example.

Each event becomes numeric features in [0, 1] (time of day and week, event type, outcome,
log bytes, coordinates, hashed country / ASN / prefix / browser / OS / device class).
`--novelty` adds per-user "never seen before" flags for IP, ASN, country, user agent and
device, a generous hand-made extra that plain HalfSpaceTrees does not have.
The loop (features + score_one + learn_one) is timed; JSON parsing is not.
"""

import argparse
import json
import time
import zlib

from river import anomaly

WOOTHEE_HINTS = ("Chrome", "Firefox", "Safari", "Edg", "iPhone", "Android", "Windows", "Mac OS", "Linux")


def h(value):
    return (zlib.crc32(str(value).encode()) % 10_007) / 10_007.0


def featurize(e, seen, novelty):
    t = e["time"]
    kind = e["kind"]
    is_login = kind == "login"
    action = None if is_login else kind["file"]
    ua = e.get("user_agent") or ""
    ip = e.get("ip") or ""
    coords = e.get("coordinates") or {}
    x = {
        "hour": (t // 3600 % 24) / 24.0,
        "weekday": ((t // 86400 + 3) % 7) / 7.0,
        "login": 1.0 if is_login else 0.0,
        "failure": 1.0 if e.get("outcome") == "failure" else 0.0,
        "download": 1.0 if action == "download" else 0.0,
        "bytes": min(1.0, (e.get("bytes") or 0) ** 0.5 / 1e5),
        "lat": (coords.get("lat", 0.0) + 90.0) / 180.0,
        "lon": (coords.get("lon", 0.0) + 180.0) / 360.0,
        "country": h(e.get("country")),
        "asn": h(e.get("asn")),
        "prefix": h(ip.rsplit(".", 1)[0]),
        "browser": h([w for w in WOOTHEE_HINTS if w in ua][:1]),
        "os": h(ua.split("(", 1)[-1].split(")", 1)[0]),
        "device": 1.0 if ("iPhone" in ua or "Android" in ua) else 0.0,
    }
    if novelty:
        user = seen.setdefault(e["user"], set())
        for key, value in (("ip", ip), ("asn", e.get("asn")), ("cc", e.get("country")),
                           ("ua", ua), ("dev", e.get("device_id"))):
            k = f"{key}:{value}"
            x["new_" + key] = 0.0 if k in user else 1.0
            if e.get("outcome") != "failure":
                user.add(k)
    return x


def auc(scores, labels):
    pairs = sorted(zip(scores, labels))
    pos = sum(1 for _, y in pairs if y)
    neg = len(pairs) - pos
    rank_sum, i = 0.0, 0
    while i < len(pairs):
        j = i
        while j < len(pairs) and pairs[j][0] == pairs[i][0]:
            j += 1
        avg = (i + j + 1) / 2.0
        rank_sum += avg * sum(1 for _, y in pairs[i:j] if y)
        i = j
    return (rank_sum - pos * (pos + 1) / 2.0) / (pos * neg)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("stream")
    ap.add_argument("--novelty", action="store_true")
    args = ap.parse_args()
    with open(args.stream) as f:
        lines = [json.loads(line) for line in f]
    # River's defaults (10 trees of height 8, window 250).
    model = anomaly.HalfSpaceTrees(seed=42)
    seen = {}
    scores = []
    start = time.perf_counter()
    for line in lines:
        x = featurize(line["event"], seen, args.novelty)
        scores.append(model.score_one(x))
        model.learn_one(x)
    elapsed = time.perf_counter() - start
    s = [sc for sc, line in zip(scores, lines) if line["scored"]]
    y = [line["attack"] is not None for line, sc in zip(lines, scores) if line["scored"]]
    print(f"events={len(lines)} seconds={elapsed:.3f}")
    print(f"events_per_sec={len(lines) / elapsed:.0f}")
    print(f"auc={auc(s, y):.4f}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Compares two Zeek-format logs written by slipstream (a live run and an offline run of
the same traffic): rows paired by connection, every field compared except the ones that
depend on when the packets were captured (ts, uid, durations, rtt).

Usage: compare_logs.py EXPECTED ACTUAL  -> prints a summary, exits 1 on any difference.
"""
import sys

TIME_DEPENDENT = {"ts", "uid", "uids", "duration", "rtt", "fuid", "orig_fuids", "resp_fuids", "tunnel_parents"}
PAIR = ("id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "trans_id", "query", "trans_depth")


def load(path):
    fields, rows = None, []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("#fields\t"):
                fields = line.split("\t")[1:]
            elif line and not line.startswith("#") and fields:
                rows.append(dict(zip(fields, line.split("\t"))))
    return rows


def main():
    expected, actual = load(sys.argv[1]), load(sys.argv[2])
    pool = {}
    for r in actual:
        pool.setdefault(tuple(r.get(k) for k in PAIR), []).append(r)
    bad = 0
    for e in expected:
        cands = pool.get(tuple(e.get(k) for k in PAIR))
        if not cands:
            print(f"missing: {[e.get(k) for k in PAIR]}")
            bad += 1
            continue
        a = cands.pop(0)
        diff = {k: (v, a.get(k)) for k, v in e.items() if k not in TIME_DEPENDENT and a.get(k) != v}
        if diff:
            print(f"differs: {[e.get(k) for k in PAIR]}: {diff}")
            bad += 1
    extra = sum(len(v) for v in pool.values())
    if extra:
        print(f"{extra} rows only in {sys.argv[2]}")
        bad += extra
    print(f"{sys.argv[2]}: {len(expected)} expected rows, {len(actual)} actual, {bad} problems")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()

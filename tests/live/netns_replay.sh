#!/usr/bin/env bash
# Live capture for real: a veth pair whose far end sits in its own network namespace;
# tcpreplay sends a test capture into it while slipstream captures on the near end.
#  1. The conn/dns/http logs of the live run equal those of the offline run of the same
#     capture (fields that depend on capture timing aside).
#  2. At the highest rate tcpreplay reaches, packets seen + counted drops == packets sent.
# Needs root (network namespaces, raw capture) and tcpreplay.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${SLIPSTREAM:-target/release/slipstream}
NS=slipstream-replay
WORK=$(mktemp -d)
cleanup() {
    ip netns del "$NS" 2>/dev/null || true
    ip link del slipcap0 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
cleanup
WORK=$(mktemp -d)

ip netns add "$NS"
ip link add slipcap0 type veth peer name slipsend0
ip link set slipsend0 netns "$NS"
ip link set slipcap0 mtu 9000 up
ip -n "$NS" link set slipsend0 mtu 9000 up
ip -n "$NS" link set lo up
# No IPv6 on the link: the kernel's own router solicitations would join the capture.
sysctl -qw net.ipv6.conf.slipcap0.disable_ipv6=1
ip netns exec "$NS" sysctl -qw net.ipv6.conf.slipsend0.disable_ipv6=1

live_run() { # capture OUT [extra flags]: capture on slipcap0 while replaying
    local pcap=$1 out=$2; shift 2
    "$BIN" -i slipcap0 -o "$out" --status-every 1 -v 0 "$@" &
    local pid=$!
    sleep 2
    ip netns exec "$NS" tcpreplay -q -i slipsend0 "${REPLAY_FLAGS[@]}" "$pcap" > "$out.replay.txt" 2>&1
    sleep 2
    kill -TERM "$pid"
    wait "$pid"
}

echo "== 1. live logs equal offline logs"
PCAP=testdata/zeek/wikipedia-default/trace.pcap
REPLAY_FLAGS=()
"$BIN" -f "$PCAP" -o "$WORK/offline" -v 0
live_run "$PCAP" "$WORK/live"
for log in conn dns http; do
    python3 tests/live/compare_logs.py "$WORK/offline/$log.log" "$WORK/live/$log.log"
done

echo "== 2. nothing lost silently at top speed"
BENCH="$WORK/bench.pcap"
python3 benches/gen_bench_pcap.py "$BENCH" --packets "${REPLAY_PACKETS:-200000}" --seed 1 > /dev/null
REPLAY_FLAGS=(--topspeed)
live_run "$BENCH" "$WORK/fast" --conn-only
sent=$(grep -oE 'Successful packets: *[0-9]+' "$WORK/fast.replay.txt" | grep -oE '[0-9]+$')
grep -E 'Rated:' "$WORK/fast.replay.txt" || true
python3 - "$WORK/fast/stats.json" "$sent" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
sent = int(sys.argv[2])
i = s["interfaces"][0]
seen, kdrop = i["packets"], i["kernel_dropped"] + i["interface_dropped"]
print(f"sent {sent}, captured {seen}, kernel drops {kdrop}, queue drops {s['queue_dropped']}")
# Queue drops are among the captured packets; kernel drops never reached us.
assert seen + kdrop == sent, f"{sent - seen - kdrop} packets unaccounted for"
PY
echo "live replay tests passed"

#!/usr/bin/env bash
# Live capture for real: a veth pair whose far end sits in its own network namespace;
# tcpreplay sends a test capture into it while slipstream captures on the near end.
# For each capture back-end named on the command line (default: pcap):
#  1. The conn/dns/http logs of the live run equal those of the offline run of the same
#     capture (fields that depend on capture timing aside).
#  2. At the highest rate tcpreplay reaches, packets seen + counted drops == packets sent.
#  3. The same while slipstream is stopped (SIGSTOP) for the whole replay, so that the
#     kernel must drop: the drops are counted, and the sum still holds.
# Back-ends: `pcap` (libpcap), `af_xdp` (AF_XDP in skb/generic mode; the binary must be
# built with `--features af_xdp`).
# With RATES="50000 100000 ..." (packets/s), each back-end then replays the benchmark at
# each rate (tcpreplay --pps) and prints sent, captured and dropped: the highest rate with
# no drop is what this machine holds.
# Needs root (network namespaces, raw capture, XDP) and tcpreplay.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${SLIPSTREAM:-target/release/slipstream}
NS=slipstream-replay
BACKENDS=("${@:-pcap}")
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

capture_flags() { # back-end -> slipstream flags
    case $1 in
        pcap) echo "--capture pcap" ;;
        af_xdp) echo "--capture af_xdp --xdp-mode skb" ;;
        *) echo "unknown back-end $1" >&2; exit 2 ;;
    esac
}

live_run() { # capture OUT [extra flags]: capture on slipcap0 while replaying
    local pcap=$1 out=$2; shift 2
    # shellcheck disable=SC2046
    "$BIN" -i slipcap0 $(capture_flags "$BACKEND") -o "$out" --status-every 1 -v 0 "$@" &
    local pid=$!
    sleep 2
    [[ -z ${STALL:-} ]] || kill -STOP "$pid"
    ip netns exec "$NS" tcpreplay -q -i slipsend0 "${REPLAY_FLAGS[@]}" "$pcap" > "$out.replay.txt" 2>&1
    [[ -z ${STALL:-} ]] || kill -CONT "$pid"
    sleep 2
    kill -TERM "$pid"
    wait "$pid"
}

# Prints what a run sent, captured and dropped, and checks that every packet sent was
# captured or counted as dropped (and, with a second argument, that some were dropped).
account() { # OUT [must-drop]
    local sent
    sent=$(grep -oE 'Successful packets: *[0-9]+' "$1.replay.txt" | grep -oE '[0-9]+$')
    python3 - "$1/stats.json" "$sent" "${2:-}" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
sent = int(sys.argv[2])
i = s["interfaces"][0]
seen, kdrop = i["packets"], i["kernel_dropped"] + i["interface_dropped"]
print(f"{i['capture']}: sent {sent}, captured {seen}, kernel drops {kdrop}, "
      f"queue drops {s['queue_dropped']}, fill ring empty {i['fill_ring_empty']}")
# Queue drops are among the captured packets; kernel drops never reached us.
assert seen + kdrop == sent, f"{sent - seen - kdrop} packets unaccounted for"
assert kdrop > 0 or not sys.argv[3], "a stalled reader must make the kernel drop"
PY
}

PCAP=testdata/zeek/wikipedia-default/trace.pcap
"$BIN" -f "$PCAP" -o "$WORK/offline" -v 0
BENCH="$WORK/bench.pcap"
python3 benches/gen_bench_pcap.py "$BENCH" --packets "${REPLAY_PACKETS:-200000}" --seed 1 > /dev/null

for BACKEND in "${BACKENDS[@]}"; do
    echo "== $BACKEND 1. live logs equal offline logs"
    REPLAY_FLAGS=()
    live_run "$PCAP" "$WORK/$BACKEND-live"
    for log in conn dns http; do
        python3 tests/live/compare_logs.py "$WORK/offline/$log.log" "$WORK/$BACKEND-live/$log.log"
    done

    echo "== $BACKEND 2. nothing lost silently at top speed"
    REPLAY_FLAGS=(--topspeed)
    # Two workers, so that packets also cross the queues to the workers (and may be dropped there).
    live_run "$BENCH" "$WORK/$BACKEND-fast" --conn-only --workers 2
    grep -E 'Rated:' "$WORK/$BACKEND-fast.replay.txt" || true
    account "$WORK/$BACKEND-fast"

    echo "== $BACKEND 3. drops counted while slipstream is stopped"
    STALL=1 live_run "$BENCH" "$WORK/$BACKEND-stalled" --conn-only
    account "$WORK/$BACKEND-stalled" must-drop

    for pps in ${RATES:-}; do
        echo "== $BACKEND at $pps packets/s"
        REPLAY_FLAGS=(--pps "$pps")
        live_run "$BENCH" "$WORK/$BACKEND-$pps" --conn-only
        grep -E 'Rated:' "$WORK/$BACKEND-$pps.replay.txt" || true
        account "$WORK/$BACKEND-$pps"
    done
done
echo "live replay tests passed (${BACKENDS[*]})"

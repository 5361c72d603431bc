#!/usr/bin/env bash
# Blocking for real (-p), in network namespaces:
#
#   attacker 10.66.1.2 (+ 10.66.1.3, whitelisted) -- router -- victim 10.66.2.2
#
# slipstream runs in the router, capturing on its attacker-side veth with -p. Both
# attacker addresses port-scan the victim (vertical scan: closed ports answer RST),
# which raises an alert for each. For each firewall (nftables, iptables), it checks:
#  1. before the alert the attacker connects to the victim's open port;
#  2. after it, the attacker's connection fails and the firewall counted the drops;
#  3. the whitelisted address raised an alert too, was spared (blocking.log says why)
#     and still connects;
#  4. the block ends by itself after the configured time windows;
#  5. the analysis ran as `nobody` while the privileged part stayed root;
#  6. after `slipstream -cb` the router's rules are exactly what they were before.
# Needs root, nftables, iptables, netcat-openbsd and python3.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=$(realpath "${SLIPSTREAM:-target/release/slipstream}")
ATT=ss-attacker RTR=ss-router VIC=ss-victim
ATTACKER=10.66.1.2 FRIEND=10.66.1.3 VICTIM=10.66.2.2 OPEN_PORT=8080
WIDTH=10 # seconds per time window: a block lasts 1 to 2 windows
WORK=$(mktemp -d)
chmod 755 "$WORK" # the analysis runs as nobody and writes into $WORK/out
SLIP_PID=
cleanup() {
    [ -n "$SLIP_PID" ] && kill -TERM "$SLIP_PID" 2>/dev/null && wait "$SLIP_PID" 2>/dev/null
    for ns in $ATT $RTR $VIC; do
        ip netns pids $ns 2>/dev/null | xargs -r kill 2>/dev/null || true
        ip netns del $ns 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
for ns in $ATT $RTR $VIC; do ip netns del $ns 2>/dev/null || true; done
T0=$SECONDS

nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
for ns in $ATT $RTR $VIC; do
    ip netns add $ns
    nsx $ns ip link set lo up
    # No IPv6 on the links: the kernel's own solicitations would only add noise.
    nsx $ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1
done
ip link add ss-att0 netns $ATT type veth peer name ss-rtr-a netns $RTR
ip link add ss-vic0 netns $VIC type veth peer name ss-rtr-v netns $RTR
nsx $ATT ip addr add $ATTACKER/24 dev ss-att0
nsx $ATT ip addr add $FRIEND/24 dev ss-att0
nsx $RTR ip addr add 10.66.1.1/24 dev ss-rtr-a
nsx $RTR ip addr add 10.66.2.1/24 dev ss-rtr-v
nsx $VIC ip addr add $VICTIM/24 dev ss-vic0
nsx $ATT ip link set ss-att0 up
nsx $RTR ip link set ss-rtr-a up
nsx $RTR ip link set ss-rtr-v up
nsx $VIC ip link set ss-vic0 up
nsx $ATT ip route add default via 10.66.1.1
nsx $VIC ip route add default via 10.66.2.1
nsx $RTR sysctl -qw net.ipv4.ip_forward=1
nsx $VIC python3 -m http.server $OPEN_PORT --bind $VICTIM > /dev/null 2>&1 &
for _ in $(seq 50); do nsx $ATT nc -z -w 1 $VICTIM $OPEN_PORT 2>/dev/null && break; sleep 0.1; done

connects() { # SOURCE: a TCP connection from SOURCE to the victim's open port succeeds
    nsx $ATT nc -z -w 2 -s "$1" $VICTIM $OPEN_PORT 2>/dev/null
}
scan() { # SOURCE: a vertical port scan of the victim's closed ports
    for port in $(seq 20 39); do nsx $ATT nc -z -w 1 -s "$1" $VICTIM "$port" 2>/dev/null || true; done
}
wait_for() { # SECONDS DESCRIPTION COMMAND...: poll until COMMAND succeeds
    local limit=$1 what=$2; shift 2
    local end=$((SECONDS + limit))
    until "$@"; do
        if [ $SECONDS -ge $end ]; then
            echo "FAIL: no $what within ${limit}s" >&2
            cat "$WORK/out/blocking.log" "$WORK/out/alerts.log" "$WORK/slipstream.txt" >&2 2>/dev/null || true
            exit 1
        fi
        sleep 0.5
    done
}
logged() { grep -q "$1" "$WORK/out/blocking.log" 2>/dev/null; }
uid_of() { awk '/^Uid:/ {print $2}' "/proc/$1/status"; }
children_of() { awk -v p="$1" '$4 == p {print $1}' /proc/[0-9]*/stat 2>/dev/null; }

# The router's own rules, which must survive: a table of its own (nftables) and a
# rule in INPUT (iptables, ip6tables).
nsx $RTR nft -f - <<'EOF'
table inet userfw {
    chain keep {
        type filter hook input priority 0; policy accept;
        tcp dport 9 accept
    }
}
EOF
nsx $RTR iptables -A INPUT -p tcp --dport 9 -j ACCEPT
nsx $RTR ip6tables -A INPUT -p tcp --dport 9 -j ACCEPT
nft_rules() { nsx $RTR nft list ruleset; }
iptables_rules() { nsx $RTR iptables -S; nsx $RTR ip6tables -S; }
nft_rules > "$WORK/nft.before"
iptables_rules > "$WORK/iptables.before"

cat > "$WORK/whitelist.conf" <<EOF
"IoCType","IoCValue","Direction","IgnoreType"
; Whitelisted as a destination only: its own scan still raises an alert.
ip,$FRIEND,dst,alerts
EOF

run_case() { # FIREWALL
    local fw=$1
    echo "== $fw"
    rm -rf "$WORK/out"
    cat > "$WORK/config.yaml" <<EOF
parameters:
  time_window_width: $WIDTH
  drop_privileges_to: nobody
detection:
  evidence_detection_threshold: 0.1
whitelists:
  local_whitelist_path: whitelist.conf
enrichment:
  oui_database: ""
blocking:
  unblock_after_time_windows: 1
  firewall: $fw
EOF
    nsx $RTR "$BIN" -i ss-rtr-a -p -c "$WORK/config.yaml" -o "$WORK/out" --status-every 1 -v 1 \
        > "$WORK/slipstream.txt" 2>&1 &
    SLIP_PID=$!
    wait_for 20 "start of blocking" logged "blocking with $fw"
    wait_for 10 "switch to nobody" grep -q "now running as nobody" "$WORK/slipstream.txt"
    # `ip netns exec` runs slipstream as its child; the privileged part is slipstream's.
    local main_pid blocker_pid
    main_pid=$(children_of $SLIP_PID)
    blocker_pid=$(children_of "$main_pid")
    echo "analysis (pid $main_pid) uid $(uid_of "$main_pid"), privileged part (pid $blocker_pid) uid $(uid_of "$blocker_pid")"
    [ "$(uid_of "$main_pid")" = "$(id -u nobody)" ] || { echo "FAIL: the analysis still runs as root" >&2; exit 1; }
    [ "$(uid_of "$blocker_pid")" = 0 ] || { echo "FAIL: the privileged part is not root" >&2; exit 1; }

    connects $ATTACKER || { echo "FAIL: attacker cannot connect before the alert" >&2; exit 1; }
    echo "before the alert: $ATTACKER connects"
    local scan_start=$SECONDS
    scan $ATTACKER &
    local scan_pid=$!
    scan $FRIEND
    wait $scan_pid
    wait_for 30 "block of $ATTACKER" logged "blocked $ATTACKER for"
    wait_for 10 "decision on $FRIEND" logged "not blocked $FRIEND: it is on the whitelist"
    echo "alert to block: $((SECONDS - scan_start)) s after the scan started"
    grep -E "blocked" "$WORK/out/blocking.log" | sed 's/^/  blocking.log: /'

    if connects $ATTACKER; then echo "FAIL: blocked attacker still connects" >&2; exit 1; fi
    echo "after the alert: $ATTACKER cannot connect"
    local drops
    if [ "$fw" = nftables ]; then
        local set
        set=$(nsx $RTR nft list set inet slipstream blocked4)
        echo "$set" | grep "elements" | sed 's/^[[:space:]]*/  nft set blocked4: /'
        [[ "$set" == *"$ATTACKER"* ]] || { echo "FAIL: $ATTACKER is not in the nft set" >&2; exit 1; }
        drops=$(nsx $RTR nft list chain inet slipstream forward \
            | awk '/ip saddr @blocked4/ {for (i = 1; i < NF; i++) if ($i == "packets") print $(i + 1)}')
    else
        drops=$(nsx $RTR iptables -L slipstreamBlocking -v -n -x \
            | awk -v ip=$ATTACKER '$3 == "DROP" && $8 == ip {print $1}')
    fi
    echo "packets from $ATTACKER dropped by $fw: $drops"
    [ "${drops:-0}" -gt 0 ] || { echo "FAIL: no drops counted" >&2; exit 1; }
    connects $FRIEND || { echo "FAIL: whitelisted $FRIEND cannot connect" >&2; exit 1; }
    echo "whitelisted $FRIEND still connects"

    local blocked_at=$SECONDS
    wait_for $((3 * WIDTH)) "end of the block" connects $ATTACKER
    echo "the block ended by itself after $((SECONDS - blocked_at)) s (windows of ${WIDTH} s); $ATTACKER connects again"
    if [ "$fw" = iptables ]; then
        wait_for 5 "unblock line" logged "unblocked $ATTACKER"
    fi

    kill -TERM "$main_pid"
    local status=0
    wait $SLIP_PID || status=$?
    SLIP_PID=
    if [ $status != 0 ]; then
        echo "FAIL: slipstream exited with $status" >&2
        cat "$WORK/slipstream.txt" >&2
        exit 1
    fi
    nsx $RTR "$BIN" -cb
    nft_rules > "$WORK/nft.after"
    iptables_rules > "$WORK/iptables.after"
    diff -u "$WORK/iptables.before" "$WORK/iptables.after" \
        || { echo "FAIL: -cb did not restore the iptables rules" >&2; exit 1; }
    if [ "$fw" = nftables ]; then
        diff -u "$WORK/nft.before" "$WORK/nft.after" \
            || { echo "FAIL: -cb did not restore the nftables ruleset" >&2; exit 1; }
        echo "after slipstream -cb: nft list ruleset, iptables -S and ip6tables -S equal the original ones"
    else
        # iptables-nft creates the built-in chains it is first told about (here FORWARD
        # and OUTPUT, empty with policy ACCEPT) and keeps them: the same rules, but a
        # different nft listing.
        echo "after slipstream -cb: iptables -S and ip6tables -S equal the original ones"
    fi
}

run_case nftables
run_case iptables
echo "blocking tests passed in $((SECONDS - T0)) s"

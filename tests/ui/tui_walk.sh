#!/usr/bin/env bash
# The terminal UI as a person uses it, in tmux (send-keys to type, capture-pane to read
# the screen):
#  1. A finished run: slipstream analyses testdata/slips/test7-malicious.pcap; the walk
#     goes profile -> time window -> timeline -> flows -> alerts -> one alert with its
#     evidence and flows, and back out; q quits with status 0 and gives the terminal back.
#     What each screen must show is read from the run with `slipstream export`.
#  2. A run in progress: Zeek conn.log lines go into `slipstream -f zeek` through a
#     pipe, half, a pause, the rest; the UI shows the run LIVE with the first flows,
#     then (refreshing on its own) the finished run with its alerts.
# Every screen is kept in target/ui-artifacts/tui-*.txt (override: ARTIFACTS).
# Needs tmux. Exit status 0 when every check passed.
set -euo pipefail
[ -n "${TUI_WALK_TRACE:-}" ] && set -x
cd "$(dirname "$0")/../.."
ROOT=$PWD
BIN=$(realpath "${SLIPSTREAM:-target/release/slipstream}")
ARTIFACTS=${ARTIFACTS:-target/ui-artifacts}
PCAP=testdata/slips/test7-malicious.pcap
SOCKET=slipstream-tui-$$
SESSION=walk
WORK=$(mktemp -d)
FEEDER=
cleanup() {
    tmux -L "$SOCKET" kill-server 2>/dev/null || true
    if [ -n "$FEEDER" ]; then kill "$FEEDER" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$ARTIFACTS"
rm -f "$ARTIFACTS"/tui-*.txt

passed=0
tm() { tmux -L "$SOCKET" "$@"; }
pane() { tm capture-pane -p -t "$SESSION"; }
fail() {
    echo "FAIL: $1"
    pane | tee "$ARTIFACTS/tui-failed.txt" || true
    echo "tui: $passed passed, 1 failed"
    exit 1
}
ok() {
    passed=$((passed + 1))
    echo "ok: $1"
}
# The screen shows TEXT (within about 30 s: the UI redraws after each key and refresh).
wait_for() { # TEXT WHAT
    local i
    for ((i = 0; i < 300; i++)); do
        if pane | grep -qF -- "$1"; then
            ok "$2"
            return 0
        fi
        sleep 0.1
    done
    fail "$2: the screen never showed '$1'"
}
keys() { tm send-keys -t "$SESSION" "$@"; }
# Presses Down until the selected row (`> `) of the focused list shows TEXT, one row at
# a time (each press waits for the screen to change).
select_row() { # TEXT WHAT
    local i j before
    for ((i = 0; i < 100; i++)); do
        before=$(pane)
        if grep -qF -- "> $1" <<< "$before"; then
            ok "$2"
            return 0
        fi
        keys Down
        for ((j = 0; j < 50; j++)); do
            [ "$(pane)" != "$before" ] && continue 2
            sleep 0.1
        done
        fail "$2: the end of the list came before a row '$1'"
    done
    fail "$2: no row '$1' in 100 rows"
}
save() { pane > "$ARTIFACTS/tui-$1.txt"; }
# The UI on OUT in a 120x36 terminal; its exit status goes to $WORK/exit. The tmux
# server must not hold the feed pipe of part 2 open (its reader would never see the end).
start_tui() { # OUT
    rm -f "$WORK/exit"
    tm new-session -d -s "$SESSION" -x 120 -y 36 -c "$ROOT" \
        "'$BIN' tui '$1' --refresh 0.5; echo \$? > '$WORK/exit'; sleep 600" 3>&-
}
quit_tui() {
    keys q
    local i
    for ((i = 0; i < 100; i++)); do
        [ -s "$WORK/exit" ] && break
        sleep 0.1
    done
    [ "$(cat "$WORK/exit" 2>/dev/null)" = 0 ] || fail "q ends the UI with status 0"
    ok "q ends the UI with status 0"
    sleep 0.2
    if pane | grep -qF "Profiles ("; then
        fail "the terminal is given back (the UI's screen is gone)"
    fi
    ok "the terminal is given back"
    tm kill-session -t "$SESSION"
}
utc_clock() { date -u -d "@${1%.*}" +%T; }

echo "== 1. a finished run"
OUT=$WORK/out
"$BIN" -f "$PCAP" -o "$OUT" -v 0 || fail "slipstream analyses $PCAP"
# The first alert (in time) and its profile, window and level, as export reads them.
read -r _ PROFILE TWID ATS _ _ _ LEVEL _ < <("$BIN" export "$OUT" --table alerts |
    grep -v '^#' | sort -t$'\t' -k4,4n | head -1)
[ -n "${PROFILE:-}" ] || fail "the capture gives an alert"
ALERTS=$("$BIN" export "$OUT" --table alerts | grep -vc '^#')
echo "first alert: profile $PROFILE, TW $TWID, $(utc_clock "$ATS"), $LEVEL; $ALERTS alerts"

start_tui "$OUT"
wait_for "▶ Profiles (" "the profile list has the keyboard"
wait_for "finished" "the run is shown finished"
wait_for "$ALERTS alerts" "the overview counts the run's $ALERTS alerts"
select_row "! $PROFILE " "the alerted profile $PROFILE is marked (!) and selected"
wait_for "Profile $PROFILE " "its host is shown on the right"
wait_for "threat intel:" "with its threat-intelligence line"
save 1-profiles

keys Enter
wait_for "▶ Time windows" "Enter: the time windows have the keyboard"
select_row "TW$TWID " "the alert's window TW$TWID is selected"
save 2-windows

keys Enter
wait_for "[1 Timeline]" "Enter: the window opens on its timeline"
wait_for "▶ TW $TWID: " "the timeline of TW $TWID has the keyboard"
pane | grep -qE '│> [0-9]{2}:[0-9]{2}:[0-9]{2} ' || fail "the timeline lists flows"
ok "the timeline lists flows"
save 3-timeline

keys 2
wait_for "[2 Flows out]" "2: the flows out"
wait_for "$PROFILE:" "flows from $PROFILE are listed"
save 4-flows-out

keys 5
wait_for "[5 Alerts]" "5: the alerts"
select_row "! $(utc_clock "$ATS") $LEVEL" "the alert of $(utc_clock "$ATS"), $LEVEL, is listed"
EVIDENCE=$(pane | grep -F "> ! $(utc_clock "$ATS")" | grep -oE '[0-9]+ evidence' | head -1 || true)
[ -n "$EVIDENCE" ] || fail "the alert row counts its evidence"
ok "the alert row counts its evidence ($EVIDENCE)"
save 5-alerts

keys Enter
wait_for "▶ Alert (Esc: back)" "Enter: the alert in full"
wait_for "$EVIDENCE, with their flows:" "with its $EVIDENCE"
shown=0
while IFS= read -r type; do
    if pane | grep -qF " $type "; then shown=1; break; fi
done < <("$BIN" export "$OUT" --table evidence | awk -F'\t' -v p="$PROFILE" -v t="$TWID" \
    '$2 == p && $3 == t { print $5 }' | sort -u)
[ "$shown" = 1 ] || fail "an evidence of $PROFILE in TW $TWID is listed"
ok "an evidence of $PROFILE in TW $TWID is listed"
pane | grep -qE "[0-9]{2}:[0-9]{2}:[0-9]{2} ! ${PROFILE//./\\.}:[0-9]+ +→" ||
    fail "a flow behind it, marked malicious (!), is listed"
ok "a flow behind it, marked malicious (!), is listed"
save 6-alert

keys PageDown
sleep 0.2
save 7-alert-page-2
keys Escape
wait_for "▶ TW $TWID: " "Esc: back to the alerts"
keys Escape
wait_for "▶ Time windows" "Esc: back to the windows"
keys Escape
wait_for "▶ Profiles (" "Esc: back to the profiles"
quit_tui

echo "== 2. a run in progress"
LIVE=$WORK/live
# Every row is written at once, so the UI sees the run as it goes.
sed 's/^\(  *sqlite_batch_size:\).*/\1 1/' config/slipstream.yaml > "$WORK/live.yaml"
grep -q 'sqlite_batch_size: 1$' "$WORK/live.yaml" || fail "the live configuration is written"
mkfifo "$WORK/feed"
"$BIN" -f zeek -o "$LIVE" -c "$WORK/live.yaml" -v 0 < "$WORK/feed" > "$WORK/live.txt" 2>&1 &
FEEDER=$!
exec 3> "$WORK/feed"
head -n 200 "$OUT/conn.log" >&3 || fail "the fed run reads its input: $(cat "$WORK/live.txt")"
for ((i = 0; i < 300; i++)); do
    [ -s "$LIVE/flows.sqlite" ] && break
    sleep 0.1
done
start_tui "$LIVE"
wait_for "LIVE" "the run in progress is shown LIVE"
wait_for "run in progress" "its host says the run is in progress"
FIRST=$(pane | grep -oE '[0-9]+ flows ·' | head -1 || true)
save live-1
tail -n +201 "$OUT/conn.log" >&3 || fail "the fed run reads its input: $(cat "$WORK/live.txt")"
exec 3>&-
wait "$FEEDER" || fail "the fed run ends well: $(cat "$WORK/live.txt")"
FEEDER=
LIVE_ALERTS=$("$BIN" export "$LIVE" --table alerts | grep -vc '^#')
[ "$LIVE_ALERTS" -gt 0 ] || fail "the fed run raises alerts"
wait_for "finished" "the UI, refreshing on its own, shows the run finished"
wait_for "$LIVE_ALERTS alerts" "with its $LIVE_ALERTS alerts"
LAST=$(pane | grep -oE '[0-9]+ flows ·' | head -1 || true)
[ "$FIRST" != "$LAST" ] || fail "the flow count grew ($FIRST, then $LAST)"
ok "the flow count grew ($FIRST, then $LAST)"
save live-2
quit_tui

echo "tui: $passed passed, 0 failed"

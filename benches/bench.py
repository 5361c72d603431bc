#!/usr/bin/env python3
"""Throughput and memory of slipstream on a generated capture, side by side with peers.

Usage: benches/bench.py [--packets N] [--pcap PATH] [--workers 1,2] [--repeat 3] [--install-peers]
                        [--binary PATH] [--no-peers]

Generates the capture with benches/gen_bench_pcap.py if it is missing, builds slipstream
in release mode (or takes --binary, for a machine without a toolchain), reads the file once to put it in the page cache, then runs slipstream
(conn.log only, every dissector, every dissector plus the detections) and every peer
that is installed (tshark, suricata, argus, nfpcapd) on the same file, pinned to the same cores, and prints one table: tool,
packets/s, MB/s, Gbit/s, CPU seconds (user + system, all threads), packets per CPU-second
(what one core's worth of work gets through), peak RSS and the ratio to slipstream. Each
row is the fastest of --repeat runs (3 by default) with the largest peak RSS of them.
"""
import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


REPEAT = 3


def run_once(cmd, cpus, fresh_dir=None):
    """Runs cmd pinned to cpus (after emptying fresh_dir, its output folder, so that no
    run pays for deleting the previous run's files); returns (wall seconds, CPU seconds,
    peak RSS in MiB)."""
    if fresh_dir:
        shutil.rmtree(fresh_dir, ignore_errors=True)
        os.makedirs(fresh_dir)
    if shutil.which("taskset") and cpus:
        cmd = ["taskset", "-c", cpus] + cmd
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode(errors="replace")
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{cmd[0]} failed:\n{err}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0


def run_measured(cmd, cpus, fresh_dir=None):
    """The fastest of REPEAT runs (a shared machine only ever slows a run down) with its
    CPU time, and the largest peak RSS seen."""
    runs = [run_once(cmd, cpus, fresh_dir) for _ in range(REPEAT)]
    wall, cpu, _ = min(runs)
    return wall, cpu, max(r for _, _, r in runs)


BACKPORTS = "/etc/apt/sources.list.d/slipstream-backports.sources"


def codename():
    """The Debian release's code name (bookworm)."""
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("VERSION_CODENAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return "bookworm"


def add_backports():
    """Adds the backports suite of the machine's own Debian mirror to apt's sources (Suricata
    7 is only there), once."""
    if os.path.exists(BACKPORTS):
        return
    release, uris = codename(), "http://deb.debian.org/debian"
    try:
        with open("/etc/apt/sources.list.d/debian.sources") as f:
            for line in f:
                if line.startswith("URIs:") and "security" not in line:
                    uris = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    if release:
        with open(BACKPORTS, "w") as f:
            f.write(f"Types: deb\nURIs: {uris}\nSuites: {release}-backports\nComponents: main\n"
                    "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--packets", type=int, default=1_000_000)
    ap.add_argument("--pcap", default=None)
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--install-peers", action="store_true")
    ap.add_argument("--repeat", type=int, default=3, help="runs per row; the fastest is kept")
    ap.add_argument("--binary", default=None, help="a built slipstream (nothing is built)")
    ap.add_argument("--no-peers", action="store_true", help="only slipstream's rows")
    args = ap.parse_args()
    global REPEAT
    REPEAT = max(1, args.repeat)

    pcap = args.pcap or os.path.join(tempfile.gettempdir(), f"slipstream-bench-{args.packets}.pcap")
    if not os.path.exists(pcap):
        print(f"generating {pcap} ({args.packets} packets)...", file=sys.stderr)
        subprocess.check_call([sys.executable, os.path.join(ROOT, "benches", "gen_bench_pcap.py"), pcap,
                               "--packets", str(args.packets), "--seed", "1"])
    if args.install_peers:
        add_backports()
        subprocess.call(["apt-get", "update", "-qq"])
        subprocess.call(["apt-get", "install", "-y", "-qq", "tshark", "argus-server", "nfdump"])
        subprocess.call(["apt-get", "install", "-y", "-qq", "-t", f"{codename()}-backports", "suricata"])
    binary = args.binary
    if binary is None:
        subprocess.check_call(["cargo", "build", "--release", "-q", "-p", "slipstream"], cwd=ROOT)
        binary = os.path.join(ROOT, "target", "release", "slipstream")
    size = os.path.getsize(pcap)
    with open(pcap, "rb") as f:  # page cache
        while f.read(1 << 24):
            pass
    out = tempfile.mkdtemp(prefix="slipstream-bench-")
    rows = []
    for w in [int(x) for x in args.workers.split(",")]:
        cpus = ",".join(str(c) for c in range(min(w + 1, os.cpu_count() or 1)))
        for label, extra in [("conn.log only", ["--conn-only"]), ("all logs (every dissector)", ["--logs-only"]),
                             ("all logs + detections", [])]:
            wall, cpu, rss = run_measured([binary, "-f", pcap, "-o", out, "--workers", str(w), "-v", "0"] + extra, cpus,
                                     fresh_dir=out)
            rows.append((f"slipstream {label}, {w} worker(s)", wall, cpu, rss))
    peers = not args.no_peers
    if peers and shutil.which("tshark"):
        wall, cpu, rss = run_measured(["tshark", "-n", "-r", pcap, "-q", "-z", "conv,tcp"], "0")
        rows.append(("tshark -z conv,tcp", wall, cpu, rss))
    if peers and shutil.which("suricata"):
        sdir = tempfile.mkdtemp(prefix="suricata-bench-")
        wall, cpu, rss = run_measured(["suricata", "-r", pcap, "-l", sdir, "--runmode", "single", "-k", "none",
                                  "-S", "/dev/null"], "0", fresh_dir=sdir)
        rows.append(("suricata --runmode single, no rules", wall, cpu, rss))
    if peers and shutil.which("argus"):
        wall, cpu, rss = run_measured(["argus", "-r", pcap, "-w", os.path.join(out, "bench.argus")], "0",
                                 fresh_dir=out)
        rows.append(("argus, flow records only", wall, cpu, rss))
    if peers and shutil.which("nfpcapd"):
        ndir = tempfile.mkdtemp(prefix="nfpcapd-bench-")
        wall, cpu, rss = run_measured(["nfpcapd", "-r", pcap, "-w", ndir], "0", fresh_dir=ndir)
        rows.append(("nfpcapd, flow records only", wall, cpu, rss))
        shutil.rmtree(ndir, ignore_errors=True)
    base = rows[0][1]
    print(f"capture: {pcap}, {args.packets} packets, {size / 1e6:.0f} MB, {os.cpu_count()} cores")
    print(f"| {'tool':45} | {'packets/s':>12} | {'MB/s':>8} | {'Gbit/s':>7} | {'CPU s':>6} | "
          f"{'pkts/CPU-s':>11} | {'peak RSS MiB':>12} | {'time vs slipstream':>18} |")
    print(f"|{'-' * 47}|{'-' * 14}|{'-' * 10}|{'-' * 9}|{'-' * 8}|{'-' * 13}|{'-' * 14}|{'-' * 20}|")
    for name, wall, cpu, rss in rows:
        print(f"| {name:45} | {args.packets / wall:12,.0f} | {size / wall / 1e6:8.0f} | {size * 8 / wall / 1e9:7.2f} | "
              f"{cpu:6.2f} | {args.packets / max(cpu, 1e-9):11,.0f} | {rss:12.0f} | {wall / base:17.2f}x |")
    shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()

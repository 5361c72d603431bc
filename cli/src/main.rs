//! `slipstream`: the command-line front end. Flags follow Slips where they mean the same
//! thing (`-f`, `-i`, `-o`, `-c`, `-F`, `-v`).

mod allocator;
mod blocking;
mod capture;
mod console;
mod daemon;
mod fanout;
mod flow_model;
mod output;
mod rotation;
mod sharing;
#[cfg(test)]
mod testutil;
mod tui;
mod view;
mod zeek;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use clap::{Parser, ValueEnum};
use dissectors::zeek::LogFormat;
use engine::capture::LiveOptions;
use engine::pipeline::{run_file_until, run_live, FileProgress, PipelineConfig, RunStats};
use engine::readers::zeek_run::ZeekInput;
use engine::readers::{self, InputKind, RecordSource, StreamFormat};

use output::Outputs;

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Format {
    Tsv,
    Json,
}

/// Network security monitor and behavioral IPS: rebuilds Zeek's logs from packets and
/// detects attacks the way Slips does.
#[derive(Parser, Debug)]
#[command(name = "slipstream", version, about)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,

    /// What to read: a capture file (pcap, pcapng), a Zeek log folder or log (TSV or JSON,
    /// gzip too), a Suricata eve.json, an Argus binetflow or an nfdump file, found out by
    /// content; `zeek`, `suricata` or `argus` read that format from standard input.
    #[arg(short = 'f', long = "filepath", conflicts_with = "interface")]
    file: Option<PathBuf>,

    /// Interface(s) to capture from live, comma-separated (`eth0,eth1`). Runs until
    /// Ctrl+C or SIGTERM.
    #[arg(short = 'i', long = "interface", value_delimiter = ',')]
    interface: Vec<String>,

    /// With `-f` naming a Zeek log folder: treat it as growing (a live Zeek writing into
    /// it), following new lines and rotated logs until Ctrl+C or SIGTERM.
    #[arg(short = 'g', long = "growing")]
    growing: bool,

    /// BPF filter for live capture (runs in the kernel with pcap, in user space before
    /// decoding with AF_XDP).
    #[arg(short = 'F', long = "pcapfilter")]
    filter: Option<String>,

    #[command(flatten)]
    capture: capture::CaptureArgs,

    /// Output folder for the logs, alerts and flows.sqlite.
    #[arg(short = 'o', long = "output", default_value = "output")]
    output: PathBuf,

    /// Configuration file (missing: defaults).
    #[arg(short = 'c', long = "config", default_value = "config/slipstream.yaml")]
    config: PathBuf,

    /// Log format: Zeek's TSV (default) or JSON lines.
    #[arg(long = "log-format", value_enum, default_value_t = Format::Tsv)]
    log_format: Format,

    /// Worker threads for flow tracking (default: one less than the number of cores, at
    /// least one: the merge, the logs and the analysis take the remaining core).
    #[arg(long)]
    workers: Option<usize>,

    /// Pin the reader and each worker thread to its own core.
    #[arg(long)]
    pin: bool,

    /// Only rebuild conn.log (no protocol dissectors, no detections).
    #[arg(long)]
    conn_only: bool,

    /// Only rebuild Zeek's logs (every dissector, no profiles, detections, alerts or
    /// flows.sqlite): slipstream as a replacement for Zeek alone.
    #[arg(long, conflicts_with = "conn_only")]
    logs_only: bool,

    /// Ignore transport checksums (Zeek's -C): needed for captures taken on a host with
    /// checksum offloading, where outgoing packets carry unfilled checksums.
    #[arg(short = 'C', long = "ignore-checksums")]
    ignore_checksums: bool,

    /// Seconds between status lines (and `stats.json` updates) in live capture.
    #[arg(long, default_value_t = 5)]
    status_every: u64,

    /// Run in the background (daemon), writing its pid and messages into the output folder.
    #[arg(short = 'D', long = "daemon")]
    daemon: bool,

    /// Stop the daemon that writes into the output folder.
    #[arg(short = 'S', long = "stopdaemon")]
    stop_daemon: bool,

    /// Share the analysis with other sensors through Redis: `redis://host:port/db`
    /// (several comma-separated URLs: a Redis Cluster's nodes). Overrides `redis.url`.
    #[arg(long = "redis", value_name = "URL")]
    redis: Option<String>,

    /// Save the analysis: a snapshot of the Redis data set (`redis_backup.rdb`) with
    /// `--redis`, else the SQLite file (written even if the configuration turns it off).
    #[arg(short = 's', long = "save")]
    save: bool,

    /// Verbosity, as in Slips: 0 nothing, 1 the summary and alerts, 2 also the files read
    /// and written and every evidence, 3 also new profiles and time windows.
    #[arg(short = 'v', long = "verbose", default_value_t = 1)]
    verbose: u8,

    /// Block the addresses of profiles that raise an alert in the Linux firewall
    /// (nftables, else iptables; needs root), as Slips' -p: with -i, or -f -g.
    #[arg(short = 'p', long = "blocking")]
    blocking: bool,

    /// Remove everything slipstream added to the firewall and exit (Slips' `-cb`).
    #[arg(long = "clearblocking", alias = "clear-blocking")]
    clear_blocking: bool,

    /// Let Zeek dissect the capture file or interface instead of the native engine, when
    /// `zeek` is installed (on PATH); its logs go to `OUT/zeek_files/` and are read back.
    /// Without Zeek, says so and uses the native engine.
    #[arg(long)]
    zeek: bool,

    /// Debug level, as in Slips: which problems are also printed (errors.log gets them
    /// all): 0 none, 1 errors, 2 unsupported input, 3 developer warnings.
    #[arg(short = 'e', long = "debug", default_value_t = 0)]
    debug: u8,

    /// Serve the web interface (web_interface.port on 127.0.0.1) while the run goes on,
    /// and after it until Ctrl+C.
    #[arg(short = 'w', long = "webinterface")]
    web: bool,

    /// Show a saved analysis (a run's flows.sqlite or output folder) in the web
    /// interface: the same as `slipstream view FILE`.
    #[arg(short = 'd', long = "db", value_name = "FILE")]
    db: Option<PathBuf>,
}

#[derive(clap::Subcommand, Debug)]
enum Command {
    /// Dump a table of a run's flows.sqlite (flows with their labels, evidence, alerts,
    /// profiles, time windows, other records) to standard output.
    Export {
        /// The output folder of a run (or the flows.sqlite file itself).
        path: PathBuf,
        #[arg(long, value_enum, default_value_t = Format::Tsv)]
        format: Format,
        #[arg(long, default_value = "flows")]
        table: String,
    },
    /// Serve the web interface over a run's output folder (or its flows.sqlite) on
    /// 127.0.0.1: profiles, time windows, timelines, flows, evidence, alerts, plots.
    View {
        path: PathBuf,
        /// Port (default: web_interface.port of the configuration, 55000).
        #[arg(long)]
        port: Option<u16>,
    },
    /// Browse a run's output folder (or its flows.sqlite) in the terminal, keyboard
    /// only: profiles, time windows, timelines, flows, evidence, alerts. A run still
    /// writing is read again every --refresh seconds.
    Tui {
        path: PathBuf,
        #[arg(long, default_value_t = 2.0)]
        refresh: f64,
    },
    /// Train, cross-validate or try the flow classifier (MALICIOUS_FLOW) on labelled flows.
    #[command(name = "flow-model", subcommand)]
    FlowModel(flow_model::FlowModelCommand),
    /// The privileged part of blocking (-p), started by slipstream itself.
    #[command(name = "blocker", hide = true)]
    Blocker {
        #[arg(long, default_value = "auto")]
        firewall: String,
    },
}

fn main() -> ExitCode {
    allocator::keep_to_small_pages();
    detectors::storage::sqlite_memory::use_global_allocator();
    let args = Args::parse_from(blocking::rewrite_args(std::env::args_os()));
    if args.command.is_none() && !args.conn_only && !args.logs_only {
        allocator::release_freed_memory_promptly();
    }
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        // A closed pipe (`slipstream export ... | head`) is the reader's choice, not a failure.
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("slipstream: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<()> {
    if let Some(Command::Export {
        path,
        format,
        table,
    }) = &args.command
    {
        let db = if path.is_dir() {
            path.join("flows.sqlite")
        } else {
            path.clone()
        };
        let format = match format {
            Format::Tsv => detectors::export::ExportFormat::Tsv,
            Format::Json => detectors::export::ExportFormat::Json,
        };
        let stdout = std::io::stdout();
        let mut out = std::io::BufWriter::new(stdout.lock());
        detectors::export::export(&db, table, format, &mut out)?;
        std::io::Write::flush(&mut out)?;
        return Ok(());
    }
    if let Some(Command::FlowModel(command)) = &args.command {
        return flow_model::run(command);
    }
    if let Some(Command::Tui { path, refresh }) = &args.command {
        return tui::run(path, *refresh);
    }
    if let Some(Command::View { path, port }) = &args.command {
        return view::serve(path, *port, &args.config);
    }
    if let Some(db) = &args.db {
        return view::serve(db, None, &args.config);
    }
    if let Some(Command::Blocker { firewall }) = &args.command {
        return blocking::serve(firewall);
    }
    if args.clear_blocking {
        return blocking::clear();
    }
    if args.stop_daemon {
        return daemon::stop(&args.output);
    }
    if args.daemon {
        daemon::detach(&args.output)?;
    }
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, stop.clone())
            .context("cannot install the signal handlers")?;
    }
    let mut config = PipelineConfig {
        workers: args.workers.unwrap_or_else(default_workers),
        pin: args.pin,
        ..PipelineConfig::default()
    };
    config.tracker.dissect = !args.conn_only;
    config.tracker.verify_checksums = !args.ignore_checksums;
    let format = match args.log_format {
        Format::Tsv => LogFormat::Tsv,
        Format::Json => LogFormat::Json,
    };
    let console = console::Console::new(args.verbose, args.debug);
    let mut settings = detectors::Config::load(&args.config)
        .with_context(|| format!("cannot load the configuration {}", args.config.display()))?;
    console.info(2, &format!("configuration: {}", args.config.display()));
    // Zeek's Site::local_nets: the private address space plus the home networks.
    let mut local = dissectors::net::LocalNets::private_address_space();
    for net in &settings.parameters.home_network {
        local
            .add(net)
            .map_err(|e| anyhow::anyhow!("{}: home_network: {e}", args.config.display()))?;
    }
    dissectors::net::install_local_nets(local.clone());
    config.tracker.local_nets = local;
    let mut blocking = blocking::Blocking::start(
        args.blocking,
        !args.interface.is_empty() || args.growing,
        !args.conn_only,
        &settings,
        &args.output,
        stop.clone(),
    )?;
    let redis = sharing::redis_url(&settings, args.redis.as_deref());
    sharing::prepare(&mut settings, args.save, redis.as_deref());
    let shared = settings.clone();
    // As in Slips, only a live capture's logs are rotated.
    let rotation = (settings.parameters.rotation && !args.interface.is_empty()).then(|| {
        (
            settings.parameters.rotation_period_micros(),
            settings.parameters.keep_rotated_micros(),
        )
    });
    let analysis = (!args.conn_only && !args.logs_only).then_some(settings);
    let mut outputs = Outputs::open(&args.output, format, analysis)?;
    if let Some((period, keep)) = rotation {
        outputs.rotate_logs(period, keep);
    }
    sharing::attach(&mut outputs, &shared, redis.as_deref(), &args.output)?;
    blocking.attach(&mut outputs);
    let web = view::during_run(
        args.web,
        !args.conn_only && !args.logs_only,
        &args.output,
        &shared,
    )?;
    outputs.subscribe(Box::new(console::ConsoleReport::new(console.clone())));
    console.info(2, &format!("writing into {}", args.output.display()));
    let started = Instant::now();
    let source;
    let stats = if let Some(path) = args.file.as_deref() {
        source = path.display().to_string();
        let input = if args.growing {
            Input::Logs(Box::new(
                readers::follow_folder(path, stop.clone())
                    .with_context(|| format!("cannot follow {}", path.display()))?,
            ))
        } else {
            input_of(path, &console)?
        };
        let input = match input {
            Input::Capture if args.zeek => zeek::logs_from_zeek(
                ZeekInput::File(path.to_path_buf()),
                &args.output,
                args.ignore_checksums,
                args.filter.clone(),
                stop.clone(),
                &console,
            )?
            .map_or(Input::Capture, Input::Logs),
            other => other,
        };
        // Batches wait to be full: only for input that is all there (not standard input,
        // a pipe or a growing folder, where records come as the traffic does).
        let all_there = std::fs::metadata(path).is_ok_and(|m| m.is_file() || m.is_dir());
        if let Some(lanes) = fanout::log_lanes_for(config.workers) {
            if all_there && !args.growing {
                outputs.parallel(lanes)?;
            }
        }
        match input {
            Input::Capture => {
                let file_progress = Arc::new(FileProgress::default());
                let config = PipelineConfig {
                    progress: Some(file_progress.clone()),
                    ..config.clone()
                };
                let mut bar = console.progress(Some(file_progress));
                let counts = bar.counts.clone();
                let run = run_file_until(path, &config, &stop, &mut |record| {
                    counts.saw(&record);
                    outputs.record(record)
                });
                bar.finish();
                run.map_err(anyhow::Error::new)?
            }
            Input::Logs(records) => {
                let mut bar = console.progress(None);
                blocking.capture_open();
                let stats = read_logs(records, &stop, &mut outputs, &bar.counts);
                bar.finish();
                stats
            }
        }
    } else if let Some(records) = match (args.zeek, args.interface.as_slice()) {
        (true, [iface]) => zeek::logs_from_zeek(
            ZeekInput::Interface(iface.clone()),
            &args.output,
            args.ignore_checksums,
            args.filter.clone(),
            stop.clone(),
            &console,
        )?,
        (true, [_, _, ..]) => anyhow::bail!("--zeek reads one interface; give a single -i"),
        _ => None,
    } {
        source = args.interface.join(",");
        blocking.capture_open();
        read_logs(records, &stop, &mut outputs, &console::Counts::default())
    } else if !args.interface.is_empty() {
        source = args.interface.join(",");
        let options = LiveOptions {
            filter: args.filter.clone(),
            backend: args.capture.backend()?,
            ..LiveOptions::default()
        };
        let out_dir = args.output.clone();
        let verbose = args.verbose;
        let mut status = |s: &engine::pipeline::LiveStatus| {
            blocking.capture_open();
            output::write_live_status(&out_dir, s, verbose);
        };
        let every = Duration::from_secs(args.status_every.max(1));
        run_live(
            &args.interface,
            &options,
            &config,
            &stop,
            every,
            &mut status,
            &mut |record| outputs.record(record),
        )
        .map_err(anyhow::Error::new)?
    } else {
        anyhow::bail!("nothing to read: give a capture file with -f FILE or an interface with -i IFACE (see --help)");
    };
    let elapsed = started.elapsed();
    let report = outputs.finish(&stats)?;
    if args.save {
        if let Some(saved) = sharing::save(redis.as_deref(), &args.output)? {
            console.info(1, &saved);
        }
    }
    console.run_problems(&stats);
    if args.verbose > 0 {
        print_summary(&source, &stats, elapsed, &report, &args.output, &console);
    }
    view::after_run(web, &stop);
    if args.daemon {
        let _ = std::fs::remove_file(daemon::pid_file(&args.output));
    }
    Ok(())
}

/// What `-f` names: a capture for the engine, or other tools' logs for a reader.
enum Input {
    Capture,
    Logs(Box<dyn RecordSource>),
}

/// One flow-tracking worker per core but one: the merge thread (logs, analysis) is busy for
/// the whole run, and on 2 cores a second worker made every run slower (every log 0.609
/// against 0.587 s on the benchmark capture, with the analysis 2.14 against 1.65 s, medians
/// of 4 alternating runs), since both workers decode every packet of a capture file.
fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().saturating_sub(1).max(1))
}

fn input_of(path: &Path, console: &console::Console) -> Result<Input> {
    // As in Slips, `-f zeek|suricata|argus` reads lines of that format from stdin.
    if !path.exists() {
        let format = match path.to_str() {
            Some("zeek") => Some(StreamFormat::Zeek),
            Some("suricata") => Some(StreamFormat::Suricata),
            Some("argus") => Some(StreamFormat::Argus),
            _ => None,
        };
        if let Some(f) = format {
            return Ok(Input::Logs(readers::open_stdin(f)));
        }
    }
    let kind = readers::detect(path).map_err(anyhow::Error::new)?;
    console.info(2, &format!("reading {} as {kind:?}", path.display()));
    match kind {
        InputKind::Pcap => Ok(Input::Capture),
        kind => Ok(Input::Logs(
            readers::open_as(path, kind).map_err(anyhow::Error::new)?,
        )),
    }
}

/// Feeds the records of other tools' logs to the outputs; bad lines are counted and the
/// first ones reported with their place, and reading goes on.
fn read_logs(
    mut records: Box<dyn RecordSource>,
    stop: &AtomicBool,
    outputs: &mut Outputs,
    counts: &console::Counts,
) -> RunStats {
    let mut stats = RunStats::default();
    let drains = records.drains_on_stop();
    for item in records.by_ref() {
        if !drains && stop.load(std::sync::atomic::Ordering::Relaxed) {
            break;
        }
        match item {
            Ok(record) => {
                stats.packets += 1;
                counts.saw(&record);
                outputs.record(record);
            }
            Err(e) => {
                *stats
                    .decode_errors
                    .entry("malformed input line".into())
                    .or_default() += 1;
                if stats.messages.len() < 100 {
                    stats.messages.push(format!("{e}; skipped"));
                }
            }
        }
    }
    stats.messages.extend(records.notes());
    stats
}

fn print_summary(
    source: &str,
    stats: &RunStats,
    elapsed: Duration,
    report: &output::Report,
    out: &Path,
    console: &console::Console,
) {
    let secs = elapsed.as_secs_f64().max(1e-9);
    if stats.bytes == 0 && stats.table.packets == 0 {
        // Other tools' logs: records, not packets.
        eprintln!(
            "slipstream: {source}: {} records ({:.0} records/s), {} bad lines",
            stats.packets,
            stats.packets as f64 / secs,
            stats.decode_error_total()
        );
    } else {
        eprintln!(
        "slipstream: {source}: {} packets ({:.0} packets/s, {:.2} Gbit/s), {} connections, {} decode errors, {} non-IP",
        stats.packets,
        stats.packets as f64 / secs,
        stats.bytes as f64 * 8.0 / secs / 1e9,
        stats.table.connections,
        stats.decode_error_total(),
        stats.non_ip,
    );
    }
    let written: Vec<String> = report
        .logs
        .iter()
        .map(|(p, n)| format!("{p}.log: {n}"))
        .collect();
    eprintln!(
        "slipstream: wrote {} in {}",
        written.join(", "),
        out.display()
    );
    if let Some(s) = &report.summary {
        eprintln!(
            "slipstream: {} flows, {} profiles, {} time windows, {} evidence, {} alerts",
            s.flows,
            s.profiles,
            s.timewindows,
            s.evidence.kept(),
            s.alerts.len()
        );
        if s.evidence.kept() > 0 {
            let levels: Vec<String> = detectors::ThreatLevel::ALL
                .iter()
                .rev()
                .filter(|l| s.evidence.by_level[l.index()] > 0)
                .map(|l| format!("{} {l}", s.evidence.by_level[l.index()]))
                .collect();
            eprintln!(
                "slipstream: evidence by threat level: {}",
                levels.join(", ")
            );
        }
        for p in s.worst_profiles.iter().take(5) {
            eprintln!(
                "slipstream:   {:<39} {} alerts, {} evidence, worst window threat {:.2}{}",
                p.ip,
                p.alerts,
                p.evidence,
                p.worst_window_threat,
                p.max_threat_level
                    .map(|l| format!(", up to {l}"))
                    .unwrap_or_default()
            );
        }
        for w in &s.warnings {
            eprintln!("slipstream: note: {w}");
        }
    }
    let problems = stats.messages.len() as u64
        + u64::from(stats.capture_error.is_some())
        + stats
            .decode_error_total()
            .saturating_sub(stats.messages.len() as u64);
    if problems > 0 && console.debug == 0 {
        eprintln!(
            "slipstream: {problems} problems written to {} (-e 1 prints them)",
            out.join("errors.log").display()
        );
    }
    console.info(
        2,
        &format!(
            "outputs: {}",
            ["alerts.log", "alerts.json", "flows.sqlite", "errors.log"]
                .iter()
                .map(|f| out.join(f))
                .filter(|p| p.exists())
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    );
}

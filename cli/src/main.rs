//! `slipstream`: the command-line front end.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context as _, Result};
use clap::{Parser, ValueEnum};
use dissectors::zeek::{LogFormat, LogSet};
use engine::pipeline::{run_file, PipelineConfig, RunStats};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Format {
    Tsv,
    Json,
}

/// Network security monitor: rebuilds Zeek's logs from packets and detects attacks.
#[derive(Parser, Debug)]
#[command(name = "slipstream", version, about)]
struct Args {
    /// Capture file to read (pcap or pcapng).
    #[arg(short = 'f', long = "filepath")]
    file: Option<PathBuf>,

    /// Output folder for the logs.
    #[arg(short = 'o', long = "output", default_value = "output")]
    output: PathBuf,

    /// Log format: Zeek's TSV (default) or JSON lines.
    #[arg(long = "log-format", value_enum, default_value_t = Format::Tsv)]
    log_format: Format,

    /// Worker threads for flow tracking (default: the number of cores).
    #[arg(long)]
    workers: Option<usize>,

    /// Only rebuild conn.log (no protocol dissectors).
    #[arg(long)]
    conn_only: bool,

    /// Verbosity: how much to print about the run.
    #[arg(short = 'v', long = "verbose", default_value_t = 1)]
    verbose: u8,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("slipstream: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<()> {
    let Some(path) = args.file.as_deref() else {
        anyhow::bail!("nothing to read: give a capture file with -f FILE (see --help)");
    };
    let mut config = PipelineConfig {
        workers: args
            .workers
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
        ..PipelineConfig::default()
    };
    config.tracker.dissect = !args.conn_only;
    fs::create_dir_all(&args.output)
        .with_context(|| format!("cannot create output folder {}", args.output.display()))?;
    let format = match args.log_format {
        Format::Tsv => LogFormat::Tsv,
        Format::Json => LogFormat::Json,
    };
    let dir = args.output.clone();
    let mut logs = LogSet::new(
        format,
        Box::new(move |name| {
            let file = File::create(dir.join(format!("{name}.log")))?;
            Ok(Box::new(BufWriter::with_capacity(1 << 20, file)) as Box<dyn Write + Send>)
        }),
    );
    let mut write_error: Option<std::io::Error> = None;
    let started = Instant::now();
    let stats = run_file(path, &config, &mut |record| {
        if write_error.is_none() {
            if let Err(e) = record.write_to(&mut logs) {
                write_error = Some(e);
            }
        }
    })
    .map_err(anyhow::Error::new)?;
    let elapsed = started.elapsed();
    if let Some(e) = write_error {
        return Err(anyhow::Error::new(e)
            .context(format!("cannot write logs in {}", args.output.display())));
    }
    let counts = logs.counts();
    logs.close().context("cannot finish the logs")?;
    write_errors_log(&args.output, &stats)?;

    if args.verbose > 0 {
        let secs = elapsed.as_secs_f64().max(1e-9);
        eprintln!(
            "slipstream: {}: {} packets ({:.0} packets/s, {:.2} Gbit/s), {} connections, {} decode errors, {} non-IP",
            path.display(),
            stats.packets,
            stats.packets as f64 / secs,
            stats.bytes as f64 * 8.0 / secs / 1e9,
            stats.table.connections,
            stats.decode_error_total(),
            stats.non_ip,
        );
        let written: Vec<String> = counts
            .iter()
            .map(|(p, n)| format!("{p}.log: {n}"))
            .collect();
        eprintln!(
            "slipstream: wrote {} in {}",
            written.join(", "),
            args.output.display()
        );
    }
    if let Some(e) = &stats.capture_error {
        eprintln!("slipstream: warning: {e}; the packets before it were processed");
    }
    Ok(())
}

/// `errors.log`: every problem met on the way, naming the file and the place.
fn write_errors_log(out: &Path, stats: &RunStats) -> Result<()> {
    let path = out.join("errors.log");
    let mut f = BufWriter::new(
        File::create(&path).with_context(|| format!("cannot create {}", path.display()))?,
    );
    for m in &stats.messages {
        writeln!(f, "{m}")?;
    }
    let reported = stats.messages.len() as u64;
    let total = stats.decode_error_total();
    if total > reported {
        writeln!(
            f,
            "... and {} more decode errors not listed",
            total - reported
        )?;
    }
    for (kind, n) in &stats.decode_errors {
        writeln!(f, "count: {kind}: {n}")?;
    }
    if let Some(e) = &stats.capture_error {
        writeln!(f, "{e}; the packets before it were processed")?;
    }
    let fr = &stats.fragments;
    if fr.evicted + fr.timed_out + fr.malformed > 0 {
        writeln!(
            f,
            "fragments: {} evicted (memory cap), {} timed out, {} malformed",
            fr.evicted, fr.timed_out, fr.malformed
        )?;
    }
    if stats.table.evicted > 0 {
        writeln!(
            f,
            "connections evicted at the table cap: {}",
            stats.table.evicted
        )?;
    }
    f.flush()?;
    Ok(())
}

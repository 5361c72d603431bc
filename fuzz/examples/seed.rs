//! Writes the seed corpora of the fuzz targets from the project's test data: the capture
//! files under `testdata/` and the payload fixtures under `dissectors/tests/fixtures/`.
//!
//!     cargo run --example seed -- REPO_ROOT CORPUS_DIR
//!
//! Each seed goes to `CORPUS_DIR/<target>/<source>-<n>`, in the input shape the target
//! reads (see `slipstream_fuzz`).

use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::io;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use dissectors::Timestamp;
use engine::capture::Packets;
use engine::decode::{decode, Decoded, FragmentLimits, FragmentTable, Outcome, L4};
use slipstream_fuzz::{delta_for, push_packet, selector_for, write_schedule, Delivery};

/// Largest seed written: bigger inputs make every execution slow.
const MAX_SEED: usize = 64 * 1024;
/// Packets per packet-sequence seed.
const PACKETS_PER_SEED: usize = 200;

struct Corpus {
    root: PathBuf,
    written: usize,
}

impl Corpus {
    fn put(&mut self, target: &str, name: &str, bytes: &[u8]) -> io::Result<()> {
        let dir = self.root.join(target);
        fs::create_dir_all(&dir)?;
        fs::write(dir.join(name), &bytes[..bytes.len().min(MAX_SEED)])?;
        self.written += 1;
        Ok(())
    }
}

/// One direction-aware conversation, as the dissectors would see it.
#[derive(Default)]
struct Flow {
    orig: Option<(IpAddr, u16)>,
    tcp: bool,
    ports: (u16, u16),
    /// Next sequence number expected per direction (orig, resp): retransmissions dropped.
    next_seq: [Option<u32>; 2],
    chunks: Vec<(bool, Vec<u8>)>,
}

impl Flow {
    fn add(&mut self, d: &Decoded, payload: &[u8]) {
        let from = (d.src, d.src_port);
        let orig = *self.orig.get_or_insert_with(|| match d.l4 {
            // A SYN-ACK first means the other side opened the connection.
            L4::Tcp { flags, .. } if flags.syn() && flags.ack() => (d.dst, d.dst_port),
            _ => from,
        });
        let from_orig = from == orig;
        if self.chunks.is_empty() && self.ports == (0, 0) {
            self.ports = if from_orig {
                (d.src_port, d.dst_port)
            } else {
                (d.dst_port, d.src_port)
            };
        }
        if payload.is_empty() {
            return;
        }
        if let L4::Tcp { seq, .. } = d.l4 {
            self.tcp = true;
            let next = &mut self.next_seq[usize::from(!from_orig)];
            if let Some(n) = *next {
                // Behind what was delivered already: a retransmission.
                if (seq.wrapping_sub(n) as i32) < 0 {
                    return;
                }
            }
            *next = Some(seq.wrapping_add(payload.len() as u32));
        }
        self.chunks.push((from_orig, payload.to_vec()));
    }

    fn deliveries(&self) -> Vec<Delivery<'_>> {
        self.chunks
            .iter()
            .map(|(from_orig, bytes)| Delivery::Data {
                from_orig: *from_orig,
                bytes,
            })
            .collect()
    }

    fn first(&self, from_orig: bool) -> &[u8] {
        self.chunks
            .iter()
            .find(|c| c.0 == from_orig)
            .map_or(&[][..], |c| &c.1[..])
    }

    /// The dissector fuzz target this conversation seeds, if any.
    fn target(&self) -> Option<&'static str> {
        let (o, r) = (self.first(true), self.first(false));
        let on = |ports: &[u16]| ports.contains(&self.ports.0) || ports.contains(&self.ports.1);
        if !self.tcp {
            return if on(&dissectors::dns::UDP_PORTS) {
                Some("dns_udp")
            } else if on(&dissectors::dhcp::PORTS) {
                Some("dhcp")
            } else {
                None
            };
        }
        if on(&dissectors::dns::TCP_PORTS) {
            Some("dns_tcp")
        } else if o.starts_with(b"SSH-") || r.starts_with(b"SSH-") {
            Some("ssh")
        } else if o.first() == Some(&0x16) || r.first() == Some(&0x16) {
            Some("ssl")
        } else if looks_like_http(o) {
            Some("http")
        } else if on(&dissectors::login_analyzer::PORTS) {
            Some("login")
        } else {
            None
        }
    }
}

fn looks_like_http(b: &[u8]) -> bool {
    const METHODS: [&[u8]; 9] = [
        b"GET ",
        b"POST ",
        b"HEAD ",
        b"PUT ",
        b"DELETE ",
        b"OPTIONS ",
        b"CONNECT ",
        b"TRACE ",
        b"PATCH ",
    ];
    METHODS.iter().any(|m| b.starts_with(m))
}

/// DER certificates inside TLS handshake bytes: a SEQUENCE with a two-byte length that
/// starts with another SEQUENCE (the to-be-signed part).
fn certificates(stream: &[u8]) -> Vec<&[u8]> {
    let mut found = Vec::new();
    let mut i = 0;
    while i + 6 <= stream.len() {
        if stream[i] == 0x30 && stream[i + 1] == 0x82 && stream[i + 4] == 0x30 {
            let len = 4 + usize::from(u16::from_be_bytes([stream[i + 2], stream[i + 3]]));
            if let Some(der) = stream.get(i..i + len) {
                if len > 200 {
                    found.push(der);
                    i += len;
                    continue;
                }
            }
        }
        i += 1;
    }
    found
}

fn write_flow(corpus: &mut Corpus, stem: &str, n: usize, flow: &Flow) -> io::Result<()> {
    let Some(target) = flow.target() else {
        return Ok(());
    };
    let name = format!("{stem}-{n}");
    corpus.put(target, &name, &write_schedule(&flow.deliveries()))?;
    if target == "ssl" {
        for from_orig in [true, false] {
            let stream: Vec<u8> = flow
                .chunks
                .iter()
                .filter(|c| c.0 == from_orig)
                .flat_map(|c| c.1.iter().copied())
                .collect();
            for (k, der) in certificates(&stream).into_iter().enumerate() {
                corpus.put("x509", &format!("{name}-{}-{k}", u8::from(from_orig)), der)?;
            }
        }
    }
    if target == "http" {
        // Header lines as strings for the log writer: separator, time, then the lines.
        let mut seed = vec![b'\n'];
        seed.extend_from_slice(&1_258_577_884_844_956i64.to_le_bytes());
        seed.extend_from_slice(flow.first(true));
        corpus.put("zeek_writer", &name, &seed)?;
    }
    Ok(())
}

fn seed_capture(corpus: &mut Corpus, path: &Path, stem: &str) -> io::Result<()> {
    let data = fs::read(path)?;
    corpus.put("pcap", stem, &data)?;
    corpus.put("pipeline", stem, &data)?;
    let Ok(packets) = Packets::new(path, &data) else {
        return Ok(());
    };
    let mut frags = FragmentTable::new(FragmentLimits::default());
    let mut flows: HashMap<engine::flow::FlowKey, usize> = HashMap::new();
    let mut ordered: Vec<Flow> = Vec::new();
    let mut decode_kinds = BTreeSet::new();
    let mut sequences: Vec<(u8, Vec<u8>, usize)> = Vec::new();
    let mut fragment_seq: Option<(u8, Vec<u8>)> = None;
    let mut last_ts: Option<Timestamp> = None;
    for p in packets.flatten() {
        let Some(selector) = selector_for(p.link) else {
            continue;
        };
        let delta = delta_for(last_ts.map_or(0, |t| p.ts.0 - t.0));
        last_ts = Some(p.ts);
        match sequences.last_mut() {
            Some((sel, seq, count))
                if *sel == selector && *count < PACKETS_PER_SEED && seq.len() < MAX_SEED =>
            {
                push_packet(seq, delta, p.data);
                *count += 1;
            }
            _ => {
                let mut seq = vec![selector];
                push_packet(&mut seq, 0, p.data);
                sequences.push((selector, seq, 1));
            }
        }
        let outcome = decode(p.link, p.data);
        let kind = match &outcome {
            Ok(Outcome::Packet(d)) => {
                format!("{selector}-{}-{}", d.ip_proto, d.dst_port.min(d.src_port))
            }
            Ok(Outcome::Fragment(f)) => format!("{selector}-frag-{}", f.v6),
            Err(e) => format!("{selector}-{e}"),
        };
        if decode_kinds.insert(kind) {
            let mut seed = vec![selector];
            seed.extend_from_slice(p.data);
            corpus.put("decode", &format!("{stem}-{}", decode_kinds.len()), &seed)?;
        }
        let whole;
        let (d, bytes) = match outcome {
            Ok(Outcome::Packet(d)) => (d, p.data),
            Ok(Outcome::Fragment(f)) => {
                let seq = fragment_seq.get_or_insert_with(|| (selector, vec![selector]));
                if seq.0 == selector {
                    push_packet(&mut seq.1, delta, p.data);
                }
                let Some(w) = frags.add(p.ts, p.data, &f) else {
                    continue;
                };
                whole = w;
                match whole.outcome {
                    Ok(Outcome::Packet(d)) => (d, &whole.bytes[..]),
                    _ => continue,
                }
            }
            Err(_) => continue,
        };
        let key = engine::flow::FlowKey::of(&d);
        let index = *flows.entry(key).or_insert_with(|| {
            ordered.push(Flow::default());
            ordered.len() - 1
        });
        ordered[index].add(&d, d.payload(bytes));
    }
    for (i, (_, seq, _)) in sequences.iter().enumerate() {
        corpus.put("conn_table", &format!("{stem}-{i}"), seq)?;
    }
    if let Some((_, seq)) = fragment_seq {
        corpus.put("fragments", stem, &seq)?;
    }
    for (n, flow) in ordered.iter().enumerate() {
        write_flow(corpus, stem, n, flow)?;
    }
    Ok(())
}

/// The packets of one conversation in a payload fixture.
struct FixtureFlow {
    /// Both endpoints (empty for single-flow fixtures with `o`/`r` directions).
    pair: String,
    /// The endpoint that sent first (empty for `o`/`r` fixtures).
    originator: String,
    tcp: bool,
    chunks: Vec<(bool, Vec<u8>)>,
}

/// Payload fixtures: one packet per line, hex payload last (`badsum` aside), direction
/// either as `o`/`r` or from the endpoints (`ts proto src sport dst dport hex`).
fn seed_fixture(corpus: &mut Corpus, path: &Path, stem: &str) -> io::Result<()> {
    let text = fs::read_to_string(path)?;
    let Some(kind) = path
        .parent()
        .and_then(Path::file_name)
        .and_then(|k| k.to_str())
    else {
        return Ok(());
    };
    let kind = if path.components().any(|c| c.as_os_str() == "http") {
        "http"
    } else {
        kind
    };
    let mut flows: Vec<FixtureFlow> = Vec::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let tokens: Vec<&str> = line.split_whitespace().collect();
        let Some(hex) = tokens
            .iter()
            .filter(|t| {
                t.len() >= 2 && t.len() % 2 == 0 && t.bytes().all(|b| b.is_ascii_hexdigit())
            })
            .max_by_key(|t| t.len())
        else {
            continue;
        };
        let Some(bytes) = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok())
            .collect::<Option<Vec<u8>>>()
        else {
            continue;
        };
        let (pair, from, tcp, from_orig) =
            if let Some(dir) = tokens.iter().find(|t| **t == "o" || **t == "r") {
                (String::new(), String::new(), kind != "dhcp", *dir == "o")
            } else if tokens.len() >= 7 {
                let a = format!("{} {}", tokens[2], tokens[3]);
                let b = format!("{} {}", tokens[4], tokens[5]);
                let pair = if a < b {
                    format!("{a}|{b}")
                } else {
                    format!("{b}|{a}")
                };
                (pair, a, tokens[1] == "tcp", true)
            } else {
                continue;
            };
        let flow = match flows.iter_mut().position(|f| f.pair == pair) {
            Some(i) => &mut flows[i],
            None => {
                flows.push(FixtureFlow {
                    pair,
                    originator: from.clone(),
                    tcp,
                    chunks: Vec::new(),
                });
                flows.last_mut().expect("just pushed")
            }
        };
        let from_orig = if flow.originator.is_empty() {
            from_orig
        } else {
            flow.originator == from
        };
        flow.chunks.push((from_orig, bytes));
    }
    for (n, flow) in flows.iter().enumerate() {
        let target = match (kind, flow.tcp) {
            ("dns", false) => "dns_udp",
            ("dns", true) => "dns_tcp",
            ("dhcp", _) => "dhcp",
            ("http", _) => "http",
            ("ssh", _) => "ssh",
            ("ssl", _) => "ssl",
            _ => continue,
        };
        let deliveries: Vec<Delivery<'_>> = flow
            .chunks
            .iter()
            .map(|(from_orig, bytes)| Delivery::Data {
                from_orig: *from_orig,
                bytes,
            })
            .collect();
        corpus.put(
            target,
            &format!("fixture-{stem}-{n}"),
            &write_schedule(&deliveries),
        )?;
    }
    Ok(())
}

/// Log files, flow files and configuration, whole (up to the seed size limit), to the
/// target that reads their kind.
fn seed_text_input(corpus: &mut Corpus, path: &Path, stem: &str) -> io::Result<()> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let target = if name.contains(".log") {
        "zeek_log"
    } else if name.ends_with(".binetflow") {
        "argus"
    } else if name.ends_with(".json") {
        "suricata"
    } else if name.ends_with(".nf") || name.contains("nfdump-csv") {
        "nfdump"
    } else if name.ends_with(".yaml") || name.ends_with(".yml") {
        "config"
    } else if name.ends_with(".conf") {
        "whitelist"
    } else {
        return Ok(());
    };
    corpus.put(target, stem, &fs::read(path)?)
}

/// Threat-intelligence feeds, whois and OUI tables for the data-file loaders; the first
/// byte picks the loader as `fuzz_targets/data_files.rs` reads it.
fn seed_data_file(corpus: &mut Corpus, path: &Path, stem: &str) -> io::Result<()> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let kind: u8 = if name.contains("ja3") {
        1
    } else if name.contains("hash") {
        2
    } else if name.contains("tor") {
        5
    } else if name.contains("whois") || name.contains("oui") {
        8
    } else if name.contains("feeds") {
        9
    } else if name.ends_with(".csv") || name.ends_with(".txt") {
        0
    } else {
        return Ok(());
    };
    let mut seed = vec![kind];
    seed.extend_from_slice(&fs::read(path)?);
    corpus.put("data_files", stem, &seed)
}

/// Seeds no capture holds: reassembly scripts and writer strings with separators.
fn seed_synthetic(corpus: &mut Corpus) -> io::Result<()> {
    let op = |flags: u8, seq: u32| {
        let mut v = vec![flags];
        v.extend_from_slice(&seq.to_be_bytes());
        v
    };
    let scripts: [Vec<Vec<u8>>; 3] = [
        vec![op(10, 1), op(10, 81), op(0x80, 161)],
        vec![op(10, 161), op(10, 81), op(10, 1), op(0x80, 241)],
        vec![op(10, 1), op(4, 200), op(0x80, 300), op(10, 300)],
    ];
    for (i, s) in scripts.iter().enumerate() {
        corpus.put("tcp_reassembly", &format!("script-{i}"), &s.concat())?;
    }
    let mut seed = vec![0u8];
    seed.extend_from_slice(&(-1i64).to_le_bytes());
    seed.extend_from_slice(b"GET\0-\0(empty)\0a\tb,c\nd\0\\x41\0\xff\xfe\0\"quoted\"");
    corpus.put("zeek_writer", "separators", &seed)?;
    Ok(())
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

/// A file name for seeds from `path`: its path below `base`, flattened.
fn stem(base: &Path, path: &Path) -> String {
    path.strip_prefix(base)
        .unwrap_or(path)
        .with_extension("")
        .to_string_lossy()
        .replace(['/', '\\'], "_")
}

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, repo, out] = &args[..] else {
        eprintln!("usage: seed REPO_ROOT CORPUS_DIR");
        std::process::exit(2);
    };
    let repo = Path::new(repo);
    let mut corpus = Corpus {
        root: PathBuf::from(out),
        written: 0,
    };
    let testdata = repo.join("testdata");
    let mut files = Vec::new();
    walk(&testdata, &mut files)?;
    files.sort();
    for path in files.iter().filter(|p| {
        p.extension()
            .is_some_and(|e| e == "pcap" || e == "pcapng" || e == "trace")
    }) {
        seed_capture(&mut corpus, path, &stem(&testdata, path))?;
    }
    for path in &files {
        seed_text_input(&mut corpus, path, &stem(&testdata, path))?;
    }
    let config = repo.join("config");
    let mut files = Vec::new();
    walk(&config, &mut files)?;
    files.sort();
    for path in &files {
        seed_text_input(
            &mut corpus,
            path,
            &format!("config_{}", stem(&config, path)),
        )?;
    }
    for dir in [testdata.join("ti"), testdata.join("oui"), config.clone()] {
        let mut files = Vec::new();
        if dir.is_dir() {
            walk(&dir, &mut files)?;
        }
        files.sort();
        for path in &files {
            seed_data_file(&mut corpus, path, &format!("data_{}", stem(repo, path)))?;
        }
    }
    let fixtures = repo.join("dissectors/tests/fixtures");
    let mut files = Vec::new();
    walk(&fixtures, &mut files)?;
    files.sort();
    for path in files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
    {
        seed_fixture(&mut corpus, path, &stem(&fixtures, path))?;
    }
    seed_synthetic(&mut corpus)?;
    println!(
        "wrote {} seeds under {}",
        corpus.written,
        corpus.root.display()
    );
    Ok(())
}

//! Helpers shared by the integration tests: run the pipeline on a capture, render logs
//! in memory, and compare them with Zeek's own logs field by field.

#![allow(dead_code)]

pub mod pcap_writer;

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use dissectors::zeek::{LogFormat, LogSet};
use dissectors::Record;
use engine::pipeline::{collect_file, PipelineConfig};

pub fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata")
}

#[derive(Clone, Default)]
struct SharedBuf(Arc<Mutex<Vec<u8>>>);

impl Write for SharedBuf {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Renders records as Zeek logs, returning log path -> file text.
pub fn render(records: &[Record], format: LogFormat) -> BTreeMap<String, String> {
    let files: Arc<Mutex<BTreeMap<String, SharedBuf>>> = Arc::default();
    let sink_files = files.clone();
    let mut logs = LogSet::new(
        format,
        Box::new(move |name| {
            let buf = SharedBuf::default();
            sink_files
                .lock()
                .expect("lock")
                .insert(name.to_string(), buf.clone());
            Ok(Box::new(buf) as Box<dyn Write + Send>)
        }),
    );
    for r in records {
        r.write_to(&mut logs).expect("write");
    }
    logs.close().expect("close");
    let files = files.lock().expect("lock");
    files
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                String::from_utf8_lossy(&v.0.lock().expect("lock")).into_owned(),
            )
        })
        .collect()
}

pub fn run(pcap: &Path, workers: usize, dissect: bool) -> Vec<Record> {
    run_with(pcap, workers, dissect, true)
}

pub fn run_with(pcap: &Path, workers: usize, dissect: bool, verify_checksums: bool) -> Vec<Record> {
    let mut config = PipelineConfig {
        workers,
        ..PipelineConfig::default()
    };
    config.tracker.dissect = dissect;
    config.tracker.verify_checksums = verify_checksums;
    collect_file(pcap, &config).expect("run").0
}

/// One row of a Zeek TSV log, by field name (unset fields hold `-`).
pub type Row = BTreeMap<String, String>;

pub fn parse_tsv(text: &str) -> Vec<Row> {
    let mut fields: Vec<String> = Vec::new();
    let mut rows = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("#fields\t") {
            fields = rest.split('\t').map(str::to_string).collect();
            continue;
        }
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let row = fields
            .iter()
            .zip(line.split('\t'))
            .map(|(k, v)| (k.clone(), v.to_string()))
            .collect();
        rows.push(row);
    }
    rows
}

/// Fields holding per-run identifiers: compared through a one-to-one renaming instead.
const ID_FIELDS: &[&str] = &[
    "uid",
    "uids",
    "fuid",
    "fuids",
    "conn_uids",
    "orig_fuids",
    "resp_fuids",
    "tunnel_parents",
    "id",
];

const PAIR_FIELDS: &[&str] = &[
    "id.orig_h",
    "id.orig_p",
    "id.resp_h",
    "id.resp_p",
    "proto",
    "trans_id",
    "query",
    "trans_depth",
];

#[derive(Debug, Default)]
pub struct Agreement {
    pub expected: usize,
    pub actual: usize,
    pub matched: usize,
    pub exact: usize,
    pub fields_total: usize,
    pub fields_equal: usize,
    /// field -> (equal, total), only fields with a disagreement.
    pub disagreements: BTreeMap<String, (usize, usize)>,
    /// Examples of disagreeing values: (field, expected, actual).
    pub examples: Vec<(String, String, String)>,
    pub uid_bijection_ok: bool,
}

impl Agreement {
    pub fn percent(&self) -> f64 {
        if self.fields_total == 0 {
            100.0
        } else {
            100.0 * self.fields_equal as f64 / self.fields_total as f64
        }
    }

    pub fn is_exact(&self) -> bool {
        self.expected == self.matched
            && self.exact == self.expected
            && self.uid_bijection_ok
            && self.actual == self.expected
    }
}

/// The renaming between our uids and Zeek's, shared by every log of one trace: a
/// record's `uid` must name the same connection in both.
#[derive(Default)]
pub struct UidMap {
    ours_to_theirs: HashMap<String, String>,
    theirs_to_ours: HashMap<String, String>,
}

impl UidMap {
    /// Records that our `ours` is Zeek's `theirs`; false if that contradicts the map.
    fn pair(&mut self, theirs: &str, ours: &str) -> bool {
        let fwd = self
            .ours_to_theirs
            .entry(ours.to_string())
            .or_insert_with(|| theirs.to_string());
        let back = self
            .theirs_to_ours
            .entry(theirs.to_string())
            .or_insert_with(|| ours.to_string());
        fwd == theirs && back == ours
    }
}

/// Compares our log with Zeek's: rows paired by connection id (and protocol keys),
/// in order; Zeek's masked `ts` and the id fields are not compared directly, but uids
/// must map one-to-one.
pub fn compare(expected: &[Row], actual: &[Row], ignore: &[&str]) -> Agreement {
    compare_mapped(expected, actual, ignore, &mut UidMap::default())
}

/// [`compare`] with a uid renaming shared with the other logs of the trace.
pub fn compare_mapped(
    expected: &[Row],
    actual: &[Row],
    ignore: &[&str],
    uids: &mut UidMap,
) -> Agreement {
    let key = |r: &Row| -> Vec<String> {
        PAIR_FIELDS
            .iter()
            .map(|f| r.get(*f).cloned().unwrap_or_default())
            .collect()
    };
    let mut pool: HashMap<Vec<String>, Vec<&Row>> = HashMap::new();
    for r in actual {
        pool.entry(key(r)).or_default().push(r);
    }
    for v in pool.values_mut() {
        v.reverse();
    }
    let mut a = Agreement {
        expected: expected.len(),
        actual: actual.len(),
        uid_bijection_ok: true,
        ..Agreement::default()
    };
    let mut uid_sets: Vec<(String, String, String)> = Vec::new();
    for e in expected {
        let candidate = pool.get_mut(&key(e)).and_then(Vec::pop);
        let compared: Vec<&String> = e
            .keys()
            .filter(|f| {
                !ignore.contains(&f.as_str()) && !ID_FIELDS.contains(&f.as_str()) && *f != "ts"
            })
            .collect();
        let Some(got) = candidate else {
            a.fields_total += compared.len();
            for f in compared {
                let entry = a.disagreements.entry(f.clone()).or_default();
                entry.1 += 1;
            }
            continue;
        };
        a.matched += 1;
        let mut all = true;
        // Only Zeek's columns are compared: ours may add columns (ja3, ja4 ...).
        let names = compared.clone();
        for f in names {
            a.fields_total += 1;
            let (ev, gv) = (e.get(f), got.get(f));
            let entry = a.disagreements.entry(f.clone()).or_default();
            entry.1 += 1;
            if ev == gv {
                a.fields_equal += 1;
                entry.0 += 1;
            } else {
                all = false;
                if a.examples.len() < 20 {
                    a.examples.push((
                        f.clone(),
                        ev.cloned().unwrap_or("-".into()),
                        gv.cloned().unwrap_or("-".into()),
                    ));
                }
            }
        }
        if let (Some(eu), Some(gu)) = (e.get("uid"), got.get("uid")) {
            if !uids.pair(eu, gu) {
                a.uid_bijection_ok = false;
            }
        }
        for set_field in ["tunnel_parents", "uids"] {
            if let Some(ep) = e.get(set_field) {
                uid_sets.push((
                    set_field.to_string(),
                    ep.clone(),
                    got.get(set_field).cloned().unwrap_or_default(),
                ));
            }
        }
        if all {
            a.exact += 1;
        }
    }
    // Sets of uids (tunnel_parents, dhcp's uids) must name the same connections under the
    // mapping (a uid seen only here maps itself onto Zeek's in order, if still unmapped).
    for (field, theirs, ours) in uid_sets {
        let split = |v: &str| -> Vec<String> {
            let mut items: Vec<String> = if v == "-" || v.is_empty() {
                Vec::new()
            } else {
                v.split(',').map(str::to_string).collect()
            };
            items.sort();
            items
        };
        let (t, o) = (split(&theirs), split(&ours));
        let mut ok = t.len() == o.len();
        if ok {
            let mut mapped: Vec<String> = o
                .iter()
                .map(|u| {
                    uids.ours_to_theirs
                        .get(u)
                        .cloned()
                        .unwrap_or_else(|| u.clone())
                })
                .collect();
            mapped.sort();
            ok = mapped
                .iter()
                .zip(&t)
                .all(|(m, x)| m == x || !uids.theirs_to_ours.contains_key(x));
        }
        let entry = a.disagreements.entry(field.clone()).or_default();
        entry.1 += 1;
        a.fields_total += 1;
        if ok {
            entry.0 += 1;
            a.fields_equal += 1;
        } else {
            a.uid_bijection_ok = false;
            a.examples.push((field, theirs, ours));
        }
    }
    a.disagreements.retain(|_, (eq, tot)| eq != tot);
    a
}

//! Log rotation for long live captures, as Slips has Zeek do it: every rotation period
//! of network time (intervals aligned to multiples of the period, as Zeek aligns its
//! rotation timer) the Zeek-format logs are closed and renamed
//! `<log>.<interval start>.log`, and rotated logs older than the retention are deleted.

use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use dissectors::zeek::{zeek_wall_time, LogFormat, LogSet};
use dissectors::Timestamp;

pub struct Rotation {
    dir: PathBuf,
    period: i64,
    keep: i64,
    /// Start of the interval the open logs belong to; `None` before the first record.
    interval: Option<i64>,
}

impl Rotation {
    /// `period` and `keep` in microseconds (positive).
    pub fn new(dir: &Path, period: i64, keep: i64) -> Self {
        Rotation {
            dir: dir.to_path_buf(),
            period: period.max(1),
            keep,
            interval: None,
        }
    }

    /// Called with the time of each record before it is written: rotates the logs when
    /// the record's time is in a later interval than the open logs' (a connection's
    /// record carries its start time, which can be long ago: time only moves forward).
    pub fn before_record(&mut self, ts: Timestamp, logs: &mut LogSet) -> io::Result<()> {
        let interval = ts.0.div_euclid(self.period) * self.period;
        let Some(open) = self.interval else {
            self.interval = Some(interval);
            return Ok(());
        };
        if interval <= open {
            return Ok(());
        }
        self.interval = Some(interval);
        let closed = logs.rotate()?;
        let stamp = stamp(open);
        for path in closed {
            let ext = extension(logs.format());
            let from = self.dir.join(format!("{path}.{ext}"));
            let to = self.dir.join(format!("{path}.{stamp}.{ext}"));
            std::fs::rename(&from, &to)?;
        }
        self.expire(interval)?;
        Ok(())
    }

    /// Deletes rotated logs whose interval ended more than `keep` before `now`; returns
    /// what it deleted.
    pub fn expire(&self, now: i64) -> io::Result<Vec<PathBuf>> {
        let mut deleted = Vec::new();
        for entry in std::fs::read_dir(&self.dir)? {
            let path = entry?.path();
            let Some(start) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(rotated_interval_start)
            else {
                continue;
            };
            if start + self.period + self.keep <= now {
                std::fs::remove_file(&path)?;
                deleted.push(path);
            }
        }
        Ok(deleted)
    }
}

fn extension(_format: LogFormat) -> &'static str {
    // Zeek names JSON logs `.log` too.
    "log"
}

/// `%Y-%m-%d-%H-%M-%S` of a network time, in UTC.
fn stamp(micros: i64) -> String {
    let secs = micros.div_euclid(1_000_000).max(0) as u64;
    zeek_wall_time(UNIX_EPOCH + Duration::from_secs(secs))
}

/// The interval start in a rotated log's name (`conn.2026-11-25-00-00-00.log`).
fn rotated_interval_start(name: &str) -> Option<i64> {
    let stem = name.strip_suffix(".log")?;
    let (_, stamp) = stem.split_once('.')?;
    let parts: Vec<i64> = stamp
        .split('-')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let [y, mo, d, h, mi, s] = parts[..] else {
        return None;
    };
    let midnight = detectors::timefmt::parse_date(&format!("{y:04}-{mo:02}-{d:02}"))?;
    Some(midnight.0 + ((h * 60 + mi) * 60 + s) * 1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufWriter, Write};

    const HOUR: i64 = 3_600_000_000;

    fn logs(dir: &Path) -> LogSet {
        let dir = dir.to_path_buf();
        LogSet::new(
            LogFormat::Tsv,
            Box::new(move |name| {
                let file = std::fs::File::create(dir.join(format!("{name}.log")))?;
                Ok(Box::new(BufWriter::new(file)) as Box<dyn Write + Send>)
            }),
        )
    }

    fn conn(ts: i64) -> dissectors::Record {
        dissectors::Record::Conn(Box::new(crate::testutil::udp_conn(ts)))
    }

    fn data_rows(path: &Path) -> usize {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with('#'))
            .count()
    }

    #[test]
    fn logs_rotate_at_interval_boundaries_and_old_ones_go() {
        let dir = std::env::temp_dir().join(format!("slipstream-rotation-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut set = logs(&dir);
        // Hourly rotation, rotated logs kept two hours.
        let mut rot = Rotation::new(&dir, HOUR, 2 * HOUR);
        // 2026-11-25 00:00:00 UTC
        let day = 1_795_564_800 * 1_000_000;
        let times = [
            day + 10,
            day + HOUR / 2,
            // A connection that started long ago does not move time backwards.
            day - 5 * HOUR,
            day + HOUR + 1,
            day + 2 * HOUR,
            day + 2 * HOUR + 5,
            day + 5 * HOUR,
        ];
        for ts in times {
            rot.before_record(Timestamp(ts), &mut set).unwrap();
            conn(ts).write_to(&mut set).unwrap();
        }
        // Rotated at 01:00 (3 rows), 02:00 (1 row) and 05:00 (2 rows): by 05:00 the
        // first interval ended 4 hours ago and is gone, the second ended 3 hours ago
        // and is gone too, the third (02:00-03:00) ended 2 hours ago: gone as well.
        assert_eq!(set.counts(), vec![("conn", 7)]);
        set.close().unwrap();
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["conn.log"]);
        assert_eq!(data_rows(&dir.join("conn.log")), 1);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_rotated_log_is_closed_and_named_by_its_interval() {
        let dir =
            std::env::temp_dir().join(format!("slipstream-rotation-names-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut set = logs(&dir);
        let mut rot = Rotation::new(&dir, HOUR, 24 * HOUR);
        let day = 1_795_564_800 * 1_000_000;
        for ts in [day + 10, day + HOUR + 10] {
            rot.before_record(Timestamp(ts), &mut set).unwrap();
            conn(ts).write_to(&mut set).unwrap();
        }
        let rotated = dir.join("conn.2026-11-25-00-00-00.log");
        let text = std::fs::read_to_string(&rotated).unwrap();
        assert!(text.lines().last().unwrap().starts_with("#close"), "{text}");
        assert_eq!(data_rows(&rotated), 1);
        assert_eq!(
            rotated_interval_start("conn.2026-11-25-00-00-00.log"),
            Some(day)
        );
        assert_eq!(rotated_interval_start("conn.log"), None);
        assert_eq!(rotated_interval_start("alerts.json"), None);
        set.close().unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }
}

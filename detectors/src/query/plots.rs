//! The numbers behind the plots: flows and bytes over time, evidence per threat level,
//! top talkers. A finished run has them summed per profile and minute (storage's
//! `flows_per_minute` and `flows_per_profile`), so a plot reads a few rows; a run still
//! going (or a database from before those tables) is summed from its flows. On a
//! finished run, which no longer changes, results are also kept for the next page.

use std::collections::HashMap;

use super::{FlowsOverTime, LevelCount, Store, Talker, TimeBucket};
use crate::error::Error;
use crate::evidence::ThreatLevel;

/// About how many bars a plot over time gets when no bucket width is asked for.
pub const BUCKETS: f64 = 120.0;

/// Bucket widths people read easily, in seconds.
const NICE_WIDTHS: &[f64] = &[
    1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0,
    10800.0, 21600.0, 43200.0, 86400.0, 172_800.0, 604_800.0,
];

#[derive(Default)]
pub(super) struct Cache {
    over_time: HashMap<(Option<String>, Option<u64>), FlowsOverTime>,
    talkers: HashMap<usize, Vec<Talker>>,
    summarized: Option<bool>,
}

impl Cache {
    pub(super) fn clear(&mut self) {
        self.over_time.clear();
        self.talkers.clear();
        self.summarized = None;
    }
}

/// Seconds of a row of `flows_per_minute`.
const MINUTE: f64 = 60.0;

/// The run is finished and its per-minute summaries are there.
fn summarized(store: &Store) -> Result<bool, Error> {
    if !store.is_finished()? {
        return Ok(false);
    }
    if let Some(known) = store.cache.borrow().summarized {
        return Ok(known);
    }
    let there = store
        .holds("SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'flows_per_profile')")?;
    store.cache.borrow_mut().summarized = Some(there);
    Ok(there)
}

/// The smallest readable width giving at most about [`BUCKETS`] bars over `span`.
fn nice_width(span: f64) -> f64 {
    let wanted = span / BUCKETS;
    NICE_WIDTHS
        .iter()
        .copied()
        .find(|w| *w >= wanted)
        .unwrap_or_else(|| (wanted / 86400.0).ceil() * 86400.0)
}

pub(super) fn flows_over_time(
    store: &Store,
    ip: Option<&str>,
    bucket_secs: Option<f64>,
) -> Result<FlowsOverTime, Error> {
    let bucket_secs = bucket_secs.filter(|b| b.is_finite() && *b > 0.0);
    let key = (ip.map(str::to_owned), bucket_secs.map(f64::to_bits));
    if let Some(hit) = store.cache.borrow().over_time.get(&key) {
        return Ok(hit.clone());
    }
    // Whole minutes can be summed from the summary; finer bars need the flows.
    let by_minute = summarized(store)?
        && bucket_secs.is_none_or(|b| b >= MINUTE && (b / MINUTE).fract() == 0.0);
    let filter = match (by_minute, ip.is_some()) {
        (true, _) => "WHERE profile = COALESCE(?1, '')",
        (false, true) => "WHERE profile = ?1",
        (false, false) => "WHERE ?1 IS NULL",
    };
    let range = if by_minute {
        format!(
            "SELECT MIN(minute) * 60.0, MAX(minute) * 60.0 + 59.0 FROM flows_per_minute {filter}"
        )
    } else {
        format!("SELECT MIN(ts), MAX(ts) FROM flows {filter}")
    };
    let (first, last): (Option<f64>, Option<f64>) = store
        .conn
        .query_row(&range, [ip], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(|e| store.sql(e))?;
    let (Some(first), Some(last)) = (first, last) else {
        return Ok(FlowsOverTime {
            bucket_secs: bucket_secs.unwrap_or(1.0),
            buckets: Vec::new(),
        });
    };
    let mut width = bucket_secs.unwrap_or_else(|| nice_width(last - first));
    if by_minute {
        width = width.max(MINUTE);
    }
    // Buckets are aligned to multiples of the width, so the bars of different plots of
    // the same width line up.
    let origin = (first / width).floor() * width;
    let sql = if by_minute {
        format!(
            "SELECT CAST((minute * 60.0 - ?2) / ?3 AS INTEGER) AS b, SUM(flows), SUM(bytes)
             FROM flows_per_minute {filter} GROUP BY b ORDER BY b"
        )
    } else {
        format!(
            "SELECT CAST((ts - ?2) / ?3 AS INTEGER) AS b, COUNT(*),
                    SUM(orig_ip_bytes + resp_ip_bytes)
             FROM flows {filter} GROUP BY b ORDER BY b"
        )
    };
    let mut stmt = store.conn.prepare_cached(&sql).map_err(|e| store.sql(e))?;
    let buckets = stmt
        .query_map(rusqlite::params![ip, origin, width], |r| {
            Ok(TimeBucket {
                start: origin + r.get::<_, i64>(0)? as f64 * width,
                flows: r.get::<_, i64>(1)?.max(0) as u64,
                bytes: r.get::<_, Option<i64>>(2)?.unwrap_or(0).max(0) as u64,
            })
        })
        .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
        .map_err(|e| store.sql(e))?;
    let result = FlowsOverTime {
        bucket_secs: width,
        buckets,
    };
    if store.is_finished()? {
        store
            .cache
            .borrow_mut()
            .over_time
            .insert(key, result.clone());
    }
    Ok(result)
}

pub(super) fn evidence_per_level(store: &Store) -> Result<Vec<LevelCount>, Error> {
    let mut stmt = store
        .conn
        .prepare_cached("SELECT threat_level, COUNT(*) FROM evidence GROUP BY threat_level")
        .map_err(|e| store.sql(e))?;
    let counts: HashMap<String, i64> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .and_then(|rows| rows.collect::<rusqlite::Result<_>>())
        .map_err(|e| store.sql(e))?;
    Ok(ThreatLevel::ALL
        .iter()
        .map(|l| LevelCount {
            threat_level: l.as_str().to_owned(),
            evidence: counts.get(l.as_str()).copied().unwrap_or(0).max(0) as u64,
        })
        .collect())
}

pub(super) fn top_talkers(store: &Store, n: usize) -> Result<Vec<Talker>, Error> {
    if let Some(hit) = store.cache.borrow().talkers.get(&n) {
        return Ok(hit.clone());
    }
    let sql = if summarized(store)? {
        "SELECT profile, flows, bytes FROM flows_per_profile
         ORDER BY bytes DESC, profile LIMIT ?1"
    } else {
        "SELECT profile, COUNT(*), SUM(orig_ip_bytes + resp_ip_bytes) AS bytes
         FROM flows GROUP BY profile ORDER BY bytes DESC, profile LIMIT ?1"
    };
    let mut stmt = store.conn.prepare_cached(sql).map_err(|e| store.sql(e))?;
    let talkers = stmt
        .query_map([i64::try_from(n).unwrap_or(i64::MAX)], |r| {
            Ok(Talker {
                ip: r.get(0)?,
                flows: r.get::<_, i64>(1)?.max(0) as u64,
                bytes: r.get::<_, Option<i64>>(2)?.unwrap_or(0).max(0) as u64,
            })
        })
        .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
        .map_err(|e| store.sql(e))?;
    if store.is_finished()? {
        store.cache.borrow_mut().talkers.insert(n, talkers.clone());
    }
    Ok(talkers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readable_bucket_widths() {
        assert_eq!(nice_width(0.0), 1.0);
        assert_eq!(nice_width(100.0), 1.0);
        assert_eq!(nice_width(3600.0), 30.0);
        assert_eq!(nice_width(86400.0), 900.0);
        assert_eq!(nice_width(365.0 * 86400.0), 604_800.0);
        assert_eq!(nice_width(1000.0 * 86400.0), 9.0 * 86400.0);
    }
}

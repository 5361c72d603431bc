//! Read-only queries over `flows.sqlite` for the viewers (`slipstream view`, the web
//! interface, and `slipstream tui`): the profiles, what is known about a host, its time
//! windows, a window's timeline, flows, evidence and alerts, and the data behind the
//! plots. Both viewers render what this returns; neither writes SQL of its own.
//!
//! It works on a finished run and on one still writing: the writer keeps the database
//! in WAL mode while it runs, so reading never blocks it; the hosts and time windows are
//! only written at the end, so until then their lists are derived from the flows,
//! evidence and alerts written so far (slower: the indexes are built at the end too).
//! Long lists are paged; each page is one indexed range of `flows.sqlite`.

mod plots;
mod tabs;
mod timeline;
mod types;

#[cfg(test)]
mod tests;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{params, Connection, OpenFlags, OptionalExtension, Row};

use crate::error::Error;
use crate::evidence::ThreatLevel;

pub use tabs::WindowTab;
pub use timeline::{human_bytes, human_time};
pub use types::*;

/// Most flows listed with an alert.
pub const ALERT_FLOWS: usize = 500;

/// Most threat-intelligence evidence listed on a host.
const HOST_THREAT_INTEL: u32 = 100;

const FLOW_COLUMNS: &str = "uid, ts, profile, twid, saddr, sport, daddr, dport, proto, \
    service, duration, orig_bytes, resp_bytes, conn_state, history, orig_pkts, \
    orig_ip_bytes, resp_pkts, resp_ip_bytes, label";

const EVIDENCE_COLUMNS: &str = "id, profile, twid, ts, evidence_type, threat_level, \
    confidence, description, attacker, attacker_kind, attacker_direction, victim, \
    victim_kind, victim_direction, proto, src_port, dst_port, accumulated_threat_level";

const ALERT_COLUMNS: &str = "id, profile, twid, ts, tw_start, tw_end, \
    accumulated_threat_level, threat_level, confidence";

/// Evidence types that come from threat intelligence (feeds of IPs, domains, ASNs,
/// JA3/JA3S, certificates, file hashes, Tor exit nodes).
const THREAT_INTEL_FILTER: &str = "(evidence_type LIKE 'THREAT_INTELLIGENCE%' \
    OR evidence_type IN ('MALICIOUS_JA3', 'MALICIOUS_JA3S', 'MALICIOUS_SSL_CERT', \
    'MALICIOUS_DOWNLOADED_FILE', 'MALICIOUS_JARM', 'TOR_EXIT_NODE', \
    'MALICIOUS_IP_FROM_P2P_NETWORK'))";

/// SQL rank of a threat-level column (0 for info ... 4 for critical), so levels sort
/// by severity rather than by name.
fn level_rank(column: &str) -> String {
    let mut s = format!("CASE {column}");
    for (i, l) in ThreatLevel::ALL.iter().enumerate() {
        s.push_str(&format!(" WHEN '{}' THEN {i}", l.as_str()));
    }
    s.push_str(" END");
    s
}

fn level_name(rank: Option<i64>) -> Option<String> {
    let r = usize::try_from(rank?).ok()?;
    ThreatLevel::ALL.get(r).map(|l| l.as_str().to_owned())
}

/// A read-only view of one output folder's `flows.sqlite`. One connection; not shared
/// between threads (open one `Store` per thread, they are cheap).
pub struct Store {
    conn: Connection,
    path: PathBuf,
    /// Once the run is seen finished the database no longer changes.
    finished: Cell<bool>,
    cache: RefCell<plots::Cache>,
    /// Whether the database has VirusTotal scores (runs before they were stored have
    /// none, and are still read).
    virustotal: Cell<Option<bool>>,
}

impl Store {
    /// Opens `path`: an output folder (its `flows.sqlite`) or the database file itself.
    pub fn open(path: &Path) -> Result<Store, Error> {
        let db = if path.is_dir() {
            path.join("flows.sqlite")
        } else {
            path.to_path_buf()
        };
        if !db.is_file() {
            return Err(Error::io(
                &db,
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "no flows.sqlite here (was the run made with output.sqlite turned off?)",
                ),
            ));
        }
        let conn = Connection::open_with_flags(
            &db,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| Error::sqlite(&db, e))?;
        // The writer holds its lock only for the moment it commits a batch.
        conn.busy_timeout(Duration::from_secs(5))
            .map_err(|e| Error::sqlite(&db, e))?;
        let store = Store {
            conn,
            path: db,
            finished: Cell::new(false),
            cache: RefCell::new(plots::Cache::default()),
            virustotal: Cell::new(None),
        };
        // Fails early on a file that is not one of our databases.
        store.is_finished()?;
        Ok(store)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn sql(&self, e: rusqlite::Error) -> Error {
        Error::sqlite(&self.path, e)
    }

    /// The run ended and wrote its hosts, windows and indexes.
    pub fn is_finished(&self) -> Result<bool, Error> {
        if self.finished.get() {
            return Ok(true);
        }
        let done = self.holds("SELECT EXISTS (SELECT 1 FROM hosts)")?;
        if done {
            self.finished.set(true);
        } else {
            // Whatever was cached may be out of date by now.
            self.cache.borrow_mut().clear();
        }
        Ok(done)
    }

    /// The answer of a query that gives one boolean (whether a table, column or row is
    /// there).
    fn holds(&self, sql: &str) -> Result<bool, Error> {
        self.conn
            .query_row(sql, [], |r| r.get(0))
            .map_err(|e| self.sql(e))
    }

    fn count(&self, sql: &str) -> Result<u64, Error> {
        self.conn
            .query_row(sql, [], |r| r.get::<_, i64>(0))
            .map(|n| n.max(0) as u64)
            .map_err(|e| self.sql(e))
    }

    pub fn overview(&self) -> Result<Overview, Error> {
        let finished = self.is_finished()?;
        let profiles = if finished {
            self.count("SELECT COUNT(*) FROM profiles")?
        } else {
            self.count("SELECT COUNT(DISTINCT profile) FROM flows")?
        };
        // MIN and MAX of an unindexed column are one scan each; acceptable for the
        // overview of a finished run only when the flows are indexed by time.
        let (first_ts, last_ts) = if finished {
            self.conn
                .query_row(
                    "SELECT MIN(first_seen), MAX(last_seen) FROM profiles",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .map_err(|e| self.sql(e))?
        } else {
            self.conn
                .query_row("SELECT MIN(ts), MAX(ts) FROM flows", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .map_err(|e| self.sql(e))?
        };
        Ok(Overview {
            path: self.path.display().to_string(),
            finished,
            flows: self.count("SELECT COUNT(*) FROM flows")?,
            profiles,
            evidence: self.count("SELECT COUNT(*) FROM evidence")?,
            alerts: self.count("SELECT COUNT(*) FROM alerts")?,
            first_ts,
            last_ts,
        })
    }

    /// Profiles, those with alerts first, then by their worst threat level, then by
    /// address.
    pub fn profiles(&self, page: Page) -> Result<Paged<ProfileRow>, Error> {
        let sql = if self.is_finished()? {
            format!(
                "SELECT p.ip, p.threat_level, {max_rank}, p.confidence,
                        COALESCE(p.flows_out, 0), COALESCE(p.flows_in, 0),
                        COALESCE(SUM(w.evidence), 0) AS n_evidence,
                        COALESCE(SUM(w.alerts), 0) AS n_alerts
                 FROM profiles p LEFT JOIN timewindows w ON w.profile = p.ip
                 GROUP BY p.ip
                 ORDER BY n_alerts DESC, 3 DESC NULLS LAST, n_evidence DESC, p.ip
                 LIMIT ?1 OFFSET ?2",
                max_rank = level_rank("p.max_threat_level"),
            )
        } else {
            format!(
                "WITH o AS (SELECT profile AS ip, COUNT(*) AS n FROM flows GROUP BY profile),
                      i AS (SELECT daddr AS ip, COUNT(*) AS n FROM flows GROUP BY daddr),
                      e AS (SELECT profile AS ip, COUNT(*) AS n, MAX({rank}) AS worst
                            FROM evidence GROUP BY profile),
                      a AS (SELECT profile AS ip, COUNT(*) AS n FROM alerts GROUP BY profile)
                 SELECT o.ip, NULL, e.worst, NULL, o.n, COALESCE(i.n, 0),
                        COALESCE(e.n, 0) AS n_evidence, COALESCE(a.n, 0) AS n_alerts
                 FROM o LEFT JOIN i ON i.ip = o.ip LEFT JOIN e ON e.ip = o.ip
                        LEFT JOIN a ON a.ip = o.ip
                 ORDER BY n_alerts DESC, 3 DESC NULLS LAST, n_evidence DESC, o.ip
                 LIMIT ?1 OFFSET ?2",
                rank = level_rank("threat_level"),
            )
        };
        let live = !self.is_finished()?;
        self.paged(&sql, page, |r| {
            let max_threat_level = level_name(r.get(2)?);
            let alerts = r.get::<_, i64>(7)?.max(0) as u64;
            Ok(ProfileRow {
                ip: r.get(0)?,
                threat_level: if live {
                    max_threat_level.clone()
                } else {
                    r.get(1)?
                },
                max_threat_level,
                confidence: r.get(3)?,
                flows_out: r.get::<_, i64>(4)?.max(0) as u64,
                flows_in: r.get::<_, i64>(5)?.max(0) as u64,
                evidence: r.get::<_, i64>(6)?.max(0) as u64,
                alerts,
                alerted: alerts > 0,
            })
        })
    }

    /// Runs `sql`, whose last two parameters are LIMIT and OFFSET after `params`, for
    /// one page (asking one row more to know whether another page follows).
    fn paged_with<T>(
        &self,
        sql: &str,
        params: &[&dyn rusqlite::ToSql],
        page: Page,
        map: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Paged<T>, Error> {
        let limit = i64::from(page.limit) + 1;
        let offset = i64::try_from(page.offset).unwrap_or(i64::MAX);
        let mut all: Vec<&dyn rusqlite::ToSql> = params.to_vec();
        all.push(&limit);
        all.push(&offset);
        let mut stmt = self.conn.prepare_cached(sql).map_err(|e| self.sql(e))?;
        let mut items = stmt
            .query_map(all.as_slice(), map)
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<T>>>())
            .map_err(|e| self.sql(e))?;
        let has_more = items.len() > page.limit as usize;
        items.truncate(page.limit as usize);
        Ok(Paged {
            items,
            page,
            has_more,
        })
    }

    fn paged<T>(
        &self,
        sql: &str,
        page: Page,
        map: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Paged<T>, Error> {
        self.paged_with(sql, &[], page, map)
    }

    /// What is known about `ip` (any address seen, not only profiles); `None` when it
    /// appears nowhere.
    pub fn profile(&self, ip: &str) -> Result<Option<HostInfo>, Error> {
        let threat_intel = self.threat_intel(ip)?;
        if self.is_finished()? {
            let virustotal = self.has_virustotal()?;
            let scores = if virustotal {
                "vt_url, vt_down_file, vt_ref_file, vt_com_file"
            } else {
                "NULL, NULL, NULL, NULL"
            };
            let host = self
                .conn
                .query_row(
                    &format!(
                        "SELECT ip, profiled, first_seen, last_seen, mac, vendor, hostname,
                            dhcp_server, asn, as_org, country, city, rdns, threat_level,
                            confidence, max_threat_level, flows_out, flows_in, other_ips,
                            domains, snis, user_agents, software, certificates,
                            threat_history, {scores}
                     FROM hosts WHERE ip = ?1"
                    ),
                    [ip],
                    host_from_row,
                )
                .optional()
                .map_err(|e| self.sql(e))?;
            let Some(mut h) = host else { return Ok(None) };
            h.threat_intel = threat_intel;
            if virustotal {
                h.domains_virustotal = self.domains_virustotal(h.domains.iter().chain(&h.snis))?;
            }
            return Ok(Some(h));
        }
        let (first, last, out): (Option<f64>, Option<f64>, i64) = self
            .conn
            .query_row(
                "SELECT MIN(ts), MAX(ts), COUNT(*) FROM flows WHERE profile = ?1",
                [ip],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .map_err(|e| self.sql(e))?;
        let incoming: i64 = self
            .conn
            .query_row("SELECT COUNT(*) FROM flows WHERE daddr = ?1", [ip], |r| {
                r.get(0)
            })
            .map_err(|e| self.sql(e))?;
        if out == 0 && incoming == 0 && threat_intel.is_empty() {
            return Ok(None);
        }
        let worst: Option<i64> = self
            .conn
            .query_row(
                &format!(
                    "SELECT MAX({}) FROM evidence WHERE profile = ?1",
                    level_rank("threat_level")
                ),
                [ip],
                |r| r.get(0),
            )
            .map_err(|e| self.sql(e))?;
        Ok(Some(HostInfo {
            ip: ip.to_owned(),
            complete: false,
            profiled: out > 0,
            first_seen: first,
            last_seen: last,
            threat_level: level_name(worst),
            max_threat_level: level_name(worst),
            flows_out: out.max(0) as u64,
            flows_in: incoming.max(0) as u64,
            threat_intel,
            ..HostInfo::default()
        }))
    }

    /// Whether the hosts have VirusTotal columns (and `domain_info` exists).
    fn has_virustotal(&self) -> Result<bool, Error> {
        if let Some(known) = self.virustotal.get() {
            return Ok(known);
        }
        let present = self
            .holds("SELECT COUNT(*) > 0 FROM pragma_table_info('hosts') WHERE name = 'vt_url'")?;
        self.virustotal.set(Some(present));
        Ok(present)
    }

    /// The VirusTotal scores stored for `domains`, in their order, each once.
    fn domains_virustotal<'a>(
        &self,
        domains: impl Iterator<Item = &'a String>,
    ) -> Result<Vec<DomainScores>, Error> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT vt_url, vt_down_file, vt_ref_file, vt_com_file
                 FROM domain_info WHERE domain = ?1",
            )
            .map_err(|e| self.sql(e))?;
        let mut out: Vec<DomainScores> = Vec::new();
        for d in domains {
            if out.iter().any(|s| &s.domain == d) {
                continue;
            }
            let scores = stmt
                .query_row([d], |r| {
                    Ok(VtScores {
                        url: r.get(0)?,
                        down_file: r.get(1)?,
                        ref_file: r.get(2)?,
                        com_file: r.get(3)?,
                    })
                })
                .optional()
                .map_err(|e| self.sql(e))?;
            if let Some(virustotal) = scores {
                out.push(DomainScores {
                    domain: d.clone(),
                    virustotal,
                });
            }
        }
        Ok(out)
    }

    fn threat_intel(&self, ip: &str) -> Result<Vec<EvidenceRow>, Error> {
        let sql = format!(
            "SELECT {EVIDENCE_COLUMNS} FROM evidence
             WHERE (profile = ?1 OR attacker = ?1 OR victim = ?1) AND {THREAT_INTEL_FILTER}
             ORDER BY ts LIMIT {HOST_THREAT_INTEL}"
        );
        self.evidence_rows(&sql, &[&ip])
    }

    /// The time windows of profile `ip`, in order.
    pub fn timewindows(&self, ip: &str) -> Result<Vec<WindowRow>, Error> {
        let sql = if self.is_finished()? {
            "SELECT twid, start, end, flows_out, flows_in, evidence, alerts, total_threat,
                    max_threat_level
             FROM timewindows WHERE profile = ?1 ORDER BY twid"
                .to_owned()
        } else {
            // Windows from the flows so far; a window's bounds are those of its flows.
            format!(
                "WITH o AS (SELECT twid, MIN(ts) AS s, MAX(ts) AS e, COUNT(*) AS n
                            FROM flows WHERE profile = ?1 GROUP BY twid),
                      i AS (SELECT twid, MIN(ts) AS s, MAX(ts) AS e, COUNT(*) AS n
                            FROM flows WHERE daddr = ?1 GROUP BY twid),
                      ev AS (SELECT twid, COUNT(*) AS n, MAX(accumulated_threat_level) AS t,
                                    MAX({rank}) AS worst
                             FROM evidence WHERE profile = ?1 GROUP BY twid),
                      a AS (SELECT twid, COUNT(*) AS n FROM alerts WHERE profile = ?1
                            GROUP BY twid),
                      w AS (SELECT twid FROM o UNION SELECT twid FROM i
                            UNION SELECT twid FROM ev)
                 SELECT w.twid, MIN(COALESCE(o.s, i.s), COALESCE(i.s, o.s)),
                        MAX(COALESCE(o.e, i.e), COALESCE(i.e, o.e)),
                        COALESCE(o.n, 0), COALESCE(i.n, 0), COALESCE(ev.n, 0),
                        COALESCE(a.n, 0), COALESCE(ev.t, 0.0), ev.worst
                 FROM w LEFT JOIN o ON o.twid = w.twid LEFT JOIN i ON i.twid = w.twid
                        LEFT JOIN ev ON ev.twid = w.twid LEFT JOIN a ON a.twid = w.twid
                 ORDER BY w.twid",
                rank = level_rank("threat_level")
            )
        };
        let live = !self.is_finished()?;
        let mut stmt = self.conn.prepare_cached(&sql).map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map([ip], |r| {
                Ok(WindowRow {
                    twid: r.get(0)?,
                    start: r.get::<_, Option<f64>>(1)?.unwrap_or(0.0),
                    end: r.get(2)?,
                    flows_out: r.get::<_, i64>(3)?.max(0) as u64,
                    flows_in: r.get::<_, i64>(4)?.max(0) as u64,
                    evidence: r.get::<_, i64>(5)?.max(0) as u64,
                    alerts: r.get::<_, i64>(6)?.max(0) as u64,
                    total_threat: r.get(7)?,
                    max_threat_level: if live {
                        level_name(r.get(8)?)
                    } else {
                        r.get(8)?
                    },
                })
            })
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(|e| self.sql(e))?;
        Ok(rows)
    }

    /// One page of the flows of `ip` in window `twid`, in time order: those it started
    /// (`Out`) or those it received (`In`).
    pub fn flows(
        &self,
        ip: &str,
        twid: i64,
        direction: Direction,
        page: Page,
    ) -> Result<Paged<Flow>, Error> {
        let column = match direction {
            Direction::Out => "profile",
            Direction::In => "daddr",
        };
        // The inner query walks only the index to skip `OFFSET` rows; the outer one
        // reads the page's rows.
        let sql = format!(
            "SELECT {FLOW_COLUMNS} FROM flows WHERE rowid IN (
                SELECT rowid FROM flows WHERE {column} = ?1 AND twid = ?2
                ORDER BY ts, rowid LIMIT ?3 OFFSET ?4)
             ORDER BY ts, rowid"
        );
        self.paged_with(&sql, &[&ip, &twid], page, flow_from_row)
    }

    /// The flows with these uids, in time order (at most `limit`).
    pub fn flows_by_uid(&self, uids: &[String], limit: usize) -> Result<Vec<Flow>, Error> {
        let mut flows = Vec::new();
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT {FLOW_COLUMNS} FROM flows WHERE uid = ?1"))
            .map_err(|e| self.sql(e))?;
        for uid in uids {
            let rows = stmt
                .query_map([uid], flow_from_row)
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
                .map_err(|e| self.sql(e))?;
            flows.extend(rows);
            if flows.len() >= limit {
                break;
            }
        }
        flows.sort_by(|a, b| a.ts.total_cmp(&b.ts));
        flows.truncate(limit);
        Ok(flows)
    }

    /// The evidence of profile `ip` in window `twid`, in time order, each with the
    /// uids of its flows.
    pub fn evidence(&self, ip: &str, twid: i64) -> Result<Vec<EvidenceRow>, Error> {
        let sql = format!(
            "SELECT {EVIDENCE_COLUMNS} FROM evidence WHERE profile = ?1 AND twid = ?2
             ORDER BY ts, id"
        );
        self.evidence_rows(&sql, &[&ip, &twid])
    }

    fn evidence_rows(
        &self,
        sql: &str,
        params: &[&dyn rusqlite::ToSql],
    ) -> Result<Vec<EvidenceRow>, Error> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(|e| self.sql(e))?;
        let mut rows = stmt
            .query_map(params, evidence_from_row)
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(|e| self.sql(e))?;
        let mut uids = self
            .conn
            .prepare_cached("SELECT uid FROM evidence_flows WHERE evidence_id = ?1")
            .map_err(|e| self.sql(e))?;
        for e in &mut rows {
            e.uids = uids
                .query_map([&e.id], |r| r.get(0))
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<String>>>())
                .map_err(|e| self.sql(e))?;
        }
        Ok(rows)
    }

    /// Alerts in time order: all of them, those of profile `ip`, or those of `ip` in
    /// window `twid`.
    pub fn alerts(&self, ip: Option<&str>, twid: Option<i64>) -> Result<Vec<AlertRow>, Error> {
        let (filter, params): (&str, Vec<&dyn rusqlite::ToSql>) = match (&ip, &twid) {
            (Some(ip), Some(tw)) => ("WHERE profile = ?1 AND twid = ?2", vec![ip, tw]),
            (Some(ip), None) => ("WHERE profile = ?1", vec![ip]),
            (None, Some(tw)) => ("WHERE twid = ?1", vec![tw]),
            (None, None) => ("", vec![]),
        };
        let sql = format!("SELECT {ALERT_COLUMNS} FROM alerts {filter} ORDER BY ts, id");
        let mut stmt = self.conn.prepare_cached(&sql).map_err(|e| self.sql(e))?;
        let mut rows = stmt
            .query_map(params.as_slice(), alert_from_row)
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(|e| self.sql(e))?;
        self.fill_alert_evidence(&mut rows)?;
        Ok(rows)
    }

    fn fill_alert_evidence(&self, rows: &mut [AlertRow]) -> Result<(), Error> {
        let mut ids = self
            .conn
            .prepare_cached("SELECT evidence_id FROM alert_evidence WHERE alert_id = ?1")
            .map_err(|e| self.sql(e))?;
        for a in rows {
            a.evidence_ids = ids
                .query_map([&a.id], |r| r.get(0))
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<String>>>())
                .map_err(|e| self.sql(e))?;
        }
        Ok(())
    }

    /// One alert with its evidence and the flows behind them; `None` for an unknown id.
    pub fn alert(&self, id: &str) -> Result<Option<AlertDetail>, Error> {
        let alert = self
            .conn
            .query_row(
                &format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE id = ?1"),
                [id],
                alert_from_row,
            )
            .optional()
            .map_err(|e| self.sql(e))?;
        let Some(mut alert) = alert else {
            return Ok(None);
        };
        self.fill_alert_evidence(std::slice::from_mut(&mut alert))?;
        let sql = format!(
            "SELECT {EVIDENCE_COLUMNS} FROM evidence
             WHERE id IN (SELECT evidence_id FROM alert_evidence WHERE alert_id = ?1)
             ORDER BY ts, id"
        );
        let evidence = self.evidence_rows(&sql, &[&id])?;
        let mut uids: Vec<String> = evidence.iter().flat_map(|e| e.uids.clone()).collect();
        uids.sort_unstable();
        uids.dedup();
        let flows = self.flows_by_uid(&uids, ALERT_FLOWS + 1)?;
        let flows_truncated = flows.len() > ALERT_FLOWS;
        let mut flows = flows;
        flows.truncate(ALERT_FLOWS);
        Ok(Some(AlertDetail {
            alert,
            evidence,
            flows,
            flows_truncated,
        }))
    }

    /// One page of the timeline of profile `ip` in window `twid`: a line in words for
    /// each flow it started, with what its DNS, HTTP, TLS or SSH record says.
    pub fn timeline(&self, ip: &str, twid: i64, page: Page) -> Result<Paged<TimelineEntry>, Error> {
        let flows = self.flows(ip, twid, Direction::Out, page)?;
        let Some(last) = flows.items.last() else {
            return Ok(Paged {
                items: Vec::new(),
                page,
                has_more: false,
            });
        };
        let last_ts = last.ts;
        let mut related: HashMap<String, Vec<(String, String)>> = HashMap::new();
        {
            let mut stmt = self
                .conn
                .prepare_cached(
                    "SELECT kind, json FROM records WHERE uid = ?1
                     AND kind IN ('dns', 'http', 'ssl', 'ssh', 'smtp') ORDER BY ts",
                )
                .map_err(|e| self.sql(e))?;
            for f in &flows.items {
                let rows = stmt
                    .query_map([&f.uid], |r| Ok((r.get(0)?, r.get(1)?)))
                    .and_then(|rows| rows.collect::<rusqlite::Result<Vec<(String, String)>>>())
                    .map_err(|e| self.sql(e))?;
                if !rows.is_empty() {
                    related.insert(f.uid.clone(), rows);
                }
            }
        }
        let resolutions = self.resolutions(ip, twid, last_ts)?;
        let items = flows
            .items
            .iter()
            .map(|f| timeline::entry(f, related.get(&f.uid), &resolutions))
            .collect();
        Ok(Paged {
            items,
            page,
            has_more: flows.has_more,
        })
    }

    /// Addresses the host resolved (its DNS answers) up to `until` in window `twid`,
    /// each with the name asked; the most recent answers count, and at most
    /// [`timeline::RESOLUTIONS`] of them, so a page costs the same in any window.
    fn resolutions(
        &self,
        ip: &str,
        twid: i64,
        until: f64,
    ) -> Result<HashMap<String, String>, Error> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT json FROM records WHERE profile = ?1 AND twid = ?2 AND ts <= ?3
                 AND kind = 'dns' ORDER BY ts DESC LIMIT ?4",
            )
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map(
                params![ip, twid, until, timeline::RESOLUTIONS as i64],
                |r| r.get::<_, String>(0),
            )
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<String>>>())
            .map_err(|e| self.sql(e))?;
        Ok(timeline::resolutions(rows.iter().map(String::as_str)))
    }

    /// Flows and bytes over time of profile `ip` (`None`: every flow), in buckets of
    /// `bucket_secs` (`None`: a width giving about [`plots::BUCKETS`] bars).
    pub fn flows_over_time(
        &self,
        ip: Option<&str>,
        bucket_secs: Option<f64>,
    ) -> Result<FlowsOverTime, Error> {
        plots::flows_over_time(self, ip, bucket_secs)
    }

    /// Evidence per threat level, every level listed (info first).
    pub fn evidence_per_level(&self) -> Result<Vec<LevelCount>, Error> {
        plots::evidence_per_level(self)
    }

    /// The `n` profiles whose outgoing flows moved the most bytes.
    pub fn top_talkers(&self, n: usize) -> Result<Vec<Talker>, Error> {
        plots::top_talkers(self, n)
    }
}

fn opt_u64(r: &Row<'_>, i: usize) -> rusqlite::Result<Option<u64>> {
    Ok(r.get::<_, Option<i64>>(i)?.map(|v| v.max(0) as u64))
}

fn flow_from_row(r: &Row<'_>) -> rusqlite::Result<Flow> {
    Ok(Flow {
        uid: r.get(0)?,
        ts: r.get(1)?,
        profile: r.get(2)?,
        twid: r.get(3)?,
        saddr: r.get(4)?,
        sport: r.get(5)?,
        daddr: r.get(6)?,
        dport: r.get(7)?,
        proto: r.get(8)?,
        service: r.get(9)?,
        duration: r.get(10)?,
        orig_bytes: opt_u64(r, 11)?,
        resp_bytes: opt_u64(r, 12)?,
        conn_state: r.get(13)?,
        history: r.get(14)?,
        orig_pkts: opt_u64(r, 15)?.unwrap_or(0),
        orig_ip_bytes: opt_u64(r, 16)?.unwrap_or(0),
        resp_pkts: opt_u64(r, 17)?.unwrap_or(0),
        resp_ip_bytes: opt_u64(r, 18)?.unwrap_or(0),
        label: r.get(19)?,
    })
}

fn evidence_from_row(r: &Row<'_>) -> rusqlite::Result<EvidenceRow> {
    Ok(EvidenceRow {
        id: r.get(0)?,
        profile: r.get(1)?,
        twid: r.get(2)?,
        ts: r.get(3)?,
        evidence_type: r.get(4)?,
        threat_level: r.get(5)?,
        confidence: r.get(6)?,
        description: r.get(7)?,
        attacker: r.get(8)?,
        attacker_kind: r.get(9)?,
        attacker_direction: r.get(10)?,
        victim: r.get(11)?,
        victim_kind: r.get(12)?,
        victim_direction: r.get(13)?,
        proto: r.get(14)?,
        src_port: r.get(15)?,
        dst_port: r.get(16)?,
        accumulated_threat_level: r.get(17)?,
        uids: Vec::new(),
    })
}

fn alert_from_row(r: &Row<'_>) -> rusqlite::Result<AlertRow> {
    Ok(AlertRow {
        id: r.get(0)?,
        profile: r.get(1)?,
        twid: r.get(2)?,
        ts: r.get(3)?,
        tw_start: r.get(4)?,
        tw_end: r.get(5)?,
        accumulated_threat_level: r.get(6)?,
        threat_level: r.get(7)?,
        confidence: r.get(8)?,
        evidence_ids: Vec::new(),
    })
}

/// A JSON list column; a malformed one reads as empty rather than hiding the host.
fn json_list<T: serde::de::DeserializeOwned>(text: Option<String>) -> Vec<T> {
    text.and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

fn host_from_row(r: &Row<'_>) -> rusqlite::Result<HostInfo> {
    Ok(HostInfo {
        ip: r.get(0)?,
        complete: true,
        profiled: r.get(1)?,
        first_seen: r.get(2)?,
        last_seen: r.get(3)?,
        mac: r.get(4)?,
        vendor: r.get(5)?,
        hostname: r.get(6)?,
        dhcp_server: r.get(7)?,
        asn: r.get(8)?,
        as_org: r.get(9)?,
        country: r.get(10)?,
        city: r.get(11)?,
        rdns: r.get(12)?,
        threat_level: r.get(13)?,
        confidence: r.get(14)?,
        max_threat_level: r.get(15)?,
        flows_out: opt_u64(r, 16)?.unwrap_or(0),
        flows_in: opt_u64(r, 17)?.unwrap_or(0),
        other_ips: json_list(r.get(18)?),
        domains: json_list(r.get(19)?),
        snis: json_list(r.get(20)?),
        user_agents: json_list(r.get(21)?),
        software: json_list(r.get(22)?),
        certificates: json_list(r.get(23)?),
        threat_history: json_list(r.get(24)?),
        threat_intel: Vec::new(),
        virustotal: match (r.get(25)?, r.get(26)?, r.get(27)?, r.get(28)?) {
            (Some(url), Some(down_file), Some(ref_file), Some(com_file)) => Some(VtScores {
                url,
                down_file,
                ref_file,
                com_file,
            }),
            _ => None,
        },
        domains_virustotal: Vec::new(),
    })
}

//! Slips' whitelist (`whitelist.conf`): IPs, domains (with their subdomains), MACs and
//! organisations (their IP ranges, ASNs and domains, from `organizations_info/`), each
//! for a direction (`src`, `dst`, `both`) and an ignore type (`alerts`, `flows`,
//! `both`). A Tranco top-sites list can be added as a second whitelist of alerts.
//!
//! File rules, as Slips reads them: the `"IoCType",...` header and `;` comment lines are
//! skipped, a `#` line removes an entry given earlier, spaces are ignored, the last line
//! for a value wins. A line that cannot be used is reported as a warning naming the file
//! and line, and the rest is still read.

use std::borrow::Cow;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use hashbrown::{HashMap, HashSet};

use crate::config::Config;
use crate::error::Error;
use crate::evidence::{Direction, Evidence, Ioc, IocValue};
use crate::mac::MacAddr;
use crate::profile::{Host, Hosts};
use dissectors::net::{Cidr, PrefixSet};

/// What a whitelist entry suppresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ignore {
    Alerts,
    Flows,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry {
    from_src: bool,
    from_dst: bool,
    alerts: bool,
    flows: bool,
}

impl Entry {
    fn applies(self, dir: Direction, ignore: Ignore) -> bool {
        let dir_ok = match dir {
            Direction::Src => self.from_src,
            Direction::Dst => self.from_dst,
        };
        let kind_ok = match ignore {
            Ignore::Alerts => self.alerts,
            Ignore::Flows => self.flows,
        };
        dir_ok && kind_ok
    }
}

#[derive(Debug, Default)]
struct Org {
    name: String,
    entry: Option<Entry>,
    ranges: PrefixSet,
    asns: HashSet<u32>,
    domains: HashSet<String>,
}

/// Where the whitelist comes from, to reload it when a file changes.
#[derive(Clone, Debug, Default)]
pub struct WhitelistSources {
    pub whitelist: Option<PathBuf>,
    pub organizations: Option<PathBuf>,
    pub tranco: Option<PathBuf>,
}

impl WhitelistSources {
    /// The files `config` names (its `whitelists` section); `None` when both the local
    /// and the online whitelist are off.
    pub fn from_config(config: &Config) -> Option<WhitelistSources> {
        let w = &config.whitelists;
        if !w.enable_local_whitelist && !w.enable_online_whitelist {
            return None;
        }
        Some(WhitelistSources {
            whitelist: w
                .enable_local_whitelist
                .then(|| config.resolve(&w.local_whitelist_path))
                .flatten(),
            organizations: config.resolve(&w.organizations_info_path),
            tranco: w
                .enable_online_whitelist
                .then(|| config.resolve(&w.online_whitelist_path))
                .flatten(),
        })
    }
}

#[derive(Debug, Default)]
pub struct Whitelist {
    ips: HashMap<IpAddr, Entry>,
    /// CIDR entries (an extension of Slips' `ip` type), in file order.
    nets: Vec<(Cidr, Entry)>,
    /// The listed domains; once loading is done, every whitelisted domain (listed, from
    /// Tranco, or of a whitelisted organisation) with the entry that applies to it, taken
    /// in that order of precedence: one lookup per label of a name, where each label took
    /// one per source and organisation (hosts known by hundreds of names made that a
    /// visible cost of every evidence).
    domains: HashMap<String, Entry>,
    macs: HashMap<MacAddr, Entry>,
    orgs: Vec<Org>,
    any_flows: bool,
    sources: WhitelistSources,
    loaded_mtimes: Vec<Option<SystemTime>>,
}

const TRANCO_ENTRY: Entry = Entry {
    from_src: true,
    from_dst: true,
    alerts: true,
    flows: false,
};

impl Whitelist {
    pub fn empty() -> Self {
        Whitelist::default()
    }

    /// Loads the configured files; the returned warnings name each line skipped.
    pub fn load(sources: WhitelistSources) -> Result<(Whitelist, Vec<String>), Error> {
        let mut warnings = Vec::new();
        let mut wl = Whitelist::default();
        if let Some(path) = &sources.whitelist {
            match std::fs::read_to_string(path) {
                Ok(text) => {
                    wl.parse_into(&text, path, sources.organizations.as_deref(), &mut warnings)?
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => warnings.push(format!(
                    "{}: not found; running without a local whitelist",
                    path.display()
                )),
                Err(e) => return Err(Error::io(path, e)),
            }
        }
        let mut tranco = HashSet::new();
        if let Some(path) = &sources.tranco {
            let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
            for line in text.lines() {
                let domain = line.split(',').nth(1).unwrap_or(line).trim();
                if !domain.is_empty() {
                    tranco.insert(domain.to_ascii_lowercase());
                }
            }
        }
        wl.index_domains(tranco);
        wl.loaded_mtimes = mtimes(&sources);
        wl.sources = sources;
        Ok((wl, warnings))
    }

    /// Parses whitelist text (organisation data read from `orgs_dir`).
    pub fn parse(
        text: &str,
        path: &Path,
        orgs_dir: Option<&Path>,
    ) -> Result<(Whitelist, Vec<String>), Error> {
        let mut warnings = Vec::new();
        let mut wl = Whitelist::default();
        wl.parse_into(text, path, orgs_dir, &mut warnings)?;
        wl.index_domains(HashSet::new());
        // No file behind it: never "changed on disk".
        wl.loaded_mtimes = mtimes(&wl.sources);
        Ok((wl, warnings))
    }

    /// True when a file it was loaded from changed since (for long live runs).
    pub fn changed_on_disk(&self) -> bool {
        mtimes(&self.sources) != self.loaded_mtimes
    }

    pub fn sources(&self) -> &WhitelistSources {
        &self.sources
    }

    pub fn is_empty(&self) -> bool {
        self.ips.is_empty()
            && self.nets.is_empty()
            && self.domains.is_empty()
            && self.macs.is_empty()
            && self.orgs.iter().all(|o| o.entry.is_none())
    }

    /// Whether any entry ignores flows (else the per-flow check is skipped).
    pub fn ignores_flows(&self) -> bool {
        self.any_flows
    }

    fn parse_into(
        &mut self,
        text: &str,
        path: &Path,
        orgs_dir: Option<&Path>,
        warnings: &mut Vec<String>,
    ) -> Result<(), Error> {
        for (n, raw) in text.lines().enumerate() {
            let line_no = n + 1;
            let line = raw.trim();
            if line.is_empty() || line.starts_with(';') || line.starts_with("\"IoCType\"") {
                continue;
            }
            let (remove, body) = match line.strip_prefix('#') {
                Some(rest) => (true, rest),
                None => (false, line),
            };
            let cols: Vec<String> = body
                .split(',')
                .map(|c| {
                    c.chars()
                        .filter(|ch| !ch.is_whitespace() && *ch != '"')
                        .collect()
                })
                .collect();
            if cols.len() < 4 {
                if !remove {
                    warnings.push(format!(
                        "{}: line {line_no}: expected 4 columns (type,value,direction,ignore); skipped",
                        path.display()
                    ));
                }
                continue;
            }
            let entry = match parse_entry(&cols[2], &cols[3]) {
                Ok(e) => e,
                Err(m) => {
                    if !remove {
                        warnings.push(format!("{}: line {line_no}: {m}; skipped", path.display()));
                    }
                    continue;
                }
            };
            let value = cols[1].as_str();
            let result = match cols[0].to_ascii_lowercase().as_str() {
                "ip" => self.set_ip(value, entry, remove),
                "domain" => {
                    let d = value.trim_end_matches('.').to_ascii_lowercase();
                    if d.is_empty() || !d.contains('.') {
                        Err(format!("{value}: not a domain"))
                    } else {
                        set_or_remove(&mut self.domains, d, entry, remove);
                        Ok(())
                    }
                }
                "mac" => value
                    .parse::<MacAddr>()
                    .map(|m| set_or_remove(&mut self.macs, m, entry, remove)),
                "organization" | "org" => {
                    self.set_org(&value.to_ascii_lowercase(), entry, remove, orgs_dir)
                }
                other => Err(format!("unknown IoC type {other}")),
            };
            if let Err(m) = result {
                if !remove {
                    warnings.push(format!("{}: line {line_no}: {m}; skipped", path.display()));
                }
            }
        }
        self.any_flows = self.ips.values().any(|e| e.flows)
            || self.nets.iter().any(|(_, e)| e.flows)
            || self.domains.values().any(|e| e.flows)
            || self.macs.values().any(|e| e.flows)
            || self.orgs.iter().any(|o| o.entry.is_some_and(|e| e.flows));
        Ok(())
    }

    fn set_ip(&mut self, value: &str, entry: Entry, remove: bool) -> Result<(), String> {
        if let Ok(ip) = value.parse::<IpAddr>() {
            set_or_remove(&mut self.ips, ip, entry, remove);
            return Ok(());
        }
        let cidr: Cidr = value.parse()?;
        self.nets.retain(|(c, _)| *c != cidr);
        if !remove {
            self.nets.push((cidr, entry));
        }
        Ok(())
    }

    fn set_org(
        &mut self,
        name: &str,
        entry: Entry,
        remove: bool,
        orgs_dir: Option<&Path>,
    ) -> Result<(), String> {
        if let Some(org) = self.orgs.iter_mut().find(|o| o.name == name) {
            org.entry = (!remove).then_some(entry);
            return Ok(());
        }
        if remove {
            return Ok(());
        }
        let Some(dir) = orgs_dir else {
            return Err(format!(
                "organization {name}: no organizations_info folder configured"
            ));
        };
        let org = load_org(dir, name).map_err(|e| match e {
            Error::Io { path: p, .. } => format!(
                "organization {name}: no data files in {} (looked for {})",
                dir.display(),
                p.display()
            ),
            other => format!("organization {name}: {other}"),
        })?;
        self.orgs.push(Org {
            entry: Some(entry),
            ..org
        });
        Ok(())
    }

    fn ip_entry(&self, ip: IpAddr) -> Option<Entry> {
        self.ips.get(&ip).copied().or_else(|| {
            self.nets
                .iter()
                .rev()
                .find(|(c, _)| c.contains(ip))
                .map(|(_, e)| *e)
        })
    }

    fn domain_entry(&self, domain: &str) -> Option<Entry> {
        let domain = lower(domain);
        let mut d: &str = domain.trim_end_matches('.');
        loop {
            if let Some(e) = self.domains.get(d) {
                return Some(*e);
            }
            match d.split_once('.') {
                Some((_, parent)) if parent.contains('.') => d = parent,
                _ => return None,
            }
        }
    }

    /// Adds Tranco's and the whitelisted organisations' domains to `domains`, behind the
    /// listed ones, once everything else is loaded.
    fn index_domains(&mut self, tranco: HashSet<String>) {
        for d in tranco {
            self.domains.entry(d).or_insert(TRANCO_ENTRY);
        }
        for org in &self.orgs {
            if let Some(e) = org.entry {
                for d in &org.domains {
                    self.domains.entry_ref(d.as_str()).or_insert(e);
                }
            }
        }
    }

    /// Whether `domain` (or a parent domain) is whitelisted for `dir` and `ignore`.
    pub fn domain_matches(&self, domain: &str, dir: Direction, ignore: Ignore) -> bool {
        self.domain_entry(domain)
            .is_some_and(|e| e.applies(dir, ignore))
    }

    /// Whether `ip` is whitelisted by itself, its organisation (range or ASN) or, when
    /// the host is known, its MAC or a domain it is known by.
    pub fn ip_matches(
        &self,
        ip: IpAddr,
        host: Option<&Host>,
        dir: Direction,
        ignore: Ignore,
    ) -> bool {
        if self.ip_entry(ip).is_some_and(|e| e.applies(dir, ignore)) {
            return true;
        }
        let asn = host.and_then(|h| h.geo.asn);
        for org in &self.orgs {
            let Some(e) = org.entry else { continue };
            if !e.applies(dir, ignore) {
                continue;
            }
            if org.ranges.contains(ip) || asn.is_some_and(|a| org.asns.contains(&a)) {
                return true;
            }
        }
        let Some(host) = host else { return false };
        if let Some(mac) = host.mac {
            if self.macs.get(&mac).is_some_and(|e| e.applies(dir, ignore)) {
                return true;
            }
        }
        host.known_names()
            .any(|name| self.domain_matches(name, dir, ignore))
    }

    fn ioc_matches(&self, ioc: &Ioc, hosts: &Hosts, ignore: Ignore) -> bool {
        match &ioc.value {
            IocValue::Ip(ip) => self.ip_matches(*ip, hosts.get(*ip), ioc.direction, ignore),
            IocValue::Domain(d) => self.domain_matches(d, ioc.direction, ignore),
            IocValue::Url(u) => {
                url_host(u).is_some_and(|h| self.domain_matches(h, ioc.direction, ignore))
            }
            IocValue::Mac(m) => self
                .macs
                .get(m)
                .is_some_and(|e| e.applies(ioc.direction, ignore)),
            IocValue::Md5(_) => false,
        }
    }

    /// Slips' `is_whitelisted_evidence`: the attacker or the victim is whitelisted for
    /// alerts.
    pub fn is_whitelisted_evidence(&self, evidence: &Evidence, hosts: &Hosts) -> bool {
        self.ioc_matches(&evidence.attacker, hosts, Ignore::Alerts)
            || evidence
                .victim
                .as_ref()
                .is_some_and(|v| self.ioc_matches(v, hosts, Ignore::Alerts))
    }

    /// Slips' `is_whitelisted_flow`: the flow's source or destination (address, MAC,
    /// organisation, a domain the flow names or the destination is known by) is
    /// whitelisted for flows. `domains` are the names the flow itself carries (HTTP
    /// host, SNI, DNS query) and `answers` the addresses a DNS reply gave.
    pub fn is_whitelisted_flow(
        &self,
        src: IpAddr,
        dst: Option<IpAddr>,
        domains: &[&str],
        answers: &[IpAddr],
        hosts: &Hosts,
    ) -> bool {
        if !self.any_flows {
            return false;
        }
        if domains
            .iter()
            .any(|d| self.domain_matches(d, Direction::Dst, Ignore::Flows))
        {
            return true;
        }
        if self.ip_matches(src, hosts.get(src), Direction::Src, Ignore::Flows) {
            return true;
        }
        if let Some(dst) = dst {
            if self.ip_matches(dst, hosts.get(dst), Direction::Dst, Ignore::Flows) {
                return true;
            }
        }
        answers
            .iter()
            .any(|a| self.ip_matches(*a, None, Direction::Dst, Ignore::Flows))
    }
}

fn set_or_remove<K: std::hash::Hash + Eq>(
    map: &mut HashMap<K, Entry>,
    key: K,
    e: Entry,
    remove: bool,
) {
    if remove {
        map.remove(&key);
    } else {
        map.insert(key, e);
    }
}

fn parse_entry(direction: &str, ignore: &str) -> Result<Entry, String> {
    let (from_src, from_dst) = match direction.to_ascii_lowercase().as_str() {
        "src" => (true, false),
        "dst" => (false, true),
        "both" => (true, true),
        other => return Err(format!("direction {other} is not src, dst or both")),
    };
    let (alerts, flows) = match ignore.to_ascii_lowercase().as_str() {
        "alerts" => (true, false),
        "flows" => (false, true),
        "both" => (true, true),
        other => return Err(format!("ignore type {other} is not alerts, flows or both")),
    };
    Ok(Entry {
        from_src,
        from_dst,
        alerts,
        flows,
    })
}

/// Reads `<org>_ip_ranges`, `<org>_asn` and `<org>_domains`; at least one must exist.
fn load_org(dir: &Path, name: &str) -> Result<Org, Error> {
    let mut org = Org {
        name: name.to_string(),
        ..Org::default()
    };
    let mut found = false;
    let mut last_missing = None;
    for (suffix, kind) in [("ip_ranges", 0), ("asn", 1), ("domains", 2)] {
        let path = dir.join(format!("{name}_{suffix}"));
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                last_missing = Some(Error::io(&path, e));
                continue;
            }
            Err(e) => return Err(Error::io(&path, e)),
        };
        found = true;
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            match kind {
                0 => {
                    if let Ok(c) = line.parse::<Cidr>() {
                        org.ranges.insert(c);
                    }
                }
                1 => {
                    let digits = line.trim_start_matches(['A', 'S', 'a', 's']);
                    if let Ok(n) = digits.parse::<u32>() {
                        org.asns.insert(n);
                    }
                }
                _ => {
                    org.domains.insert(line.to_ascii_lowercase());
                }
            }
        }
    }
    org.ranges.normalize();
    match (found, last_missing) {
        (false, Some(e)) => Err(e),
        _ => Ok(org),
    }
}

/// The organisations Slips knows (`utils.supported_orgs`), whose data ships in
/// `organizations_info/`.
pub const SUPPORTED_ORGS: [&str; 5] = ["google", "microsoft", "apple", "facebook", "twitter"];

/// The data of the supported organisations, whitelisted or not, for detections that
/// ask whether an address or a domain belongs to one (Slips' `OrgAnalyzer`).
#[derive(Debug, Default)]
pub struct Organizations {
    orgs: Vec<Org>,
}

impl Organizations {
    /// Reads the supported organisations found in `dir` (others are skipped).
    pub fn load(dir: Option<&Path>) -> Self {
        let orgs = dir.map_or_else(Vec::new, |dir| {
            SUPPORTED_ORGS
                .iter()
                .filter_map(|name| load_org(dir, name).ok())
                .collect()
        });
        Organizations { orgs }
    }

    fn org(&self, name: &str) -> Option<&Org> {
        self.orgs.iter().find(|o| o.name == name)
    }

    /// Slips' `is_ip_in_org`: `ip` is in one of the organisation's ranges.
    pub fn ip_in_org(&self, ip: IpAddr, org: &str) -> bool {
        self.org(org).is_some_and(|o| o.ranges.contains(ip))
    }

    /// Slips' `is_domain_in_org`: a domain of the organisation with the same top-level
    /// domain is part of `domain`, or `domain` is part of it.
    pub fn domain_in_org(&self, domain: &str, org: &str) -> bool {
        let Some(o) = self.org(org) else { return false };
        let domain = lower(domain);
        let domain: &str = domain.trim_end_matches('.');
        let tld = domain.rsplit('.').next().unwrap_or("");
        o.domains.iter().any(|d| {
            d.rsplit('.').next() == Some(tld) && (domain.contains(d.as_str()) || d.contains(domain))
        })
    }
}

fn mtimes(s: &WhitelistSources) -> Vec<Option<SystemTime>> {
    [&s.whitelist, &s.tranco]
        .iter()
        .map(|p| {
            p.as_ref()
                .and_then(|p| std::fs::metadata(p).ok())
                .and_then(|m| m.modified().ok())
        })
        .collect()
}

fn lower(s: &str) -> Cow<'_, str> {
    if s.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(s.to_ascii_lowercase())
    } else {
        Cow::Borrowed(s)
    }
}

fn url_host(url: &str) -> Option<&str> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host = rest.split(['/', '?', '#']).next()?;
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let host = host.split(':').next()?;
    (!host.is_empty()).then_some(host)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::{EvidenceType, ThreatLevel};
    use dissectors::Timestamp;

    fn orgs_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/organizations_info")
    }

    #[test]
    fn organizations_answer_for_ips_and_domains() {
        let orgs = Organizations::load(Some(&orgs_dir()));
        assert!(orgs.domain_in_org("www.google.com", "google"));
        assert!(orgs.domain_in_org("mail.android.com", "google"));
        assert!(!orgs.domain_in_org("google.evil.net", "google"));
        assert!(!orgs.domain_in_org("example.com", "google"));
        assert!(orgs.ip_in_org("8.8.8.8".parse().unwrap(), "google"));
        assert!(!orgs.ip_in_org("1.2.3.4".parse().unwrap(), "google"));
        assert!(!orgs.ip_in_org("8.8.8.8".parse().unwrap(), "nosuchorg"));
        assert!(!Organizations::load(None).domain_in_org("www.google.com", "google"));
    }

    fn wl(text: &str) -> (Whitelist, Vec<String>) {
        Whitelist::parse(text, Path::new("wl.conf"), Some(&orgs_dir())).unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn evidence(attacker: Ioc, victim: Option<Ioc>) -> Evidence {
        let mut e = Evidence::new(
            EvidenceType::LongConnection,
            attacker,
            ThreatLevel::Low,
            1.0,
            String::new(),
            ip("10.0.0.1"),
            1,
            Timestamp(0),
        );
        e.victim = victim;
        e
    }

    #[test]
    fn file_format_rules() {
        let (w, warnings) = wl(concat!(
            "\"IoCType\",\"IoCValue\",\"Direction\",\"IgnoreType\"\n",
            "; a comment,with,commas,here\n",
            "ip,1.2.3.4,both,alerts\n",
            "ip, 5.6.7.8 ,src,flows\n",
            "ip,9.9.9.9,dst,both\n",
            "#ip,9.9.9.9,dst,both\n",
            "domain,Example.COM,both,alerts\n",
            "mac,b1:b1:b1:c1:c2:c3,both,alerts\n",
            "ip,1.2.3.4,dst,flows\n",
            "bogus,x,both,alerts\n",
            "ip,not-an-ip,both,alerts\n",
            "ip,1.1.1.1,sideways,alerts\n",
            "ip,2.2.2.2\n",
        ));
        assert_eq!(warnings.len(), 4, "{warnings:?}");
        assert!(warnings[0].starts_with("wl.conf: line 10:"), "{warnings:?}");
        // The last line for a value wins.
        assert!(!w.ip_matches(ip("1.2.3.4"), None, Direction::Src, Ignore::Alerts));
        assert!(w.ip_matches(ip("1.2.3.4"), None, Direction::Dst, Ignore::Flows));
        assert!(w.ip_matches(ip("5.6.7.8"), None, Direction::Src, Ignore::Flows));
        assert!(!w.ip_matches(ip("5.6.7.8"), None, Direction::Dst, Ignore::Flows));
        assert!(!w.ip_matches(ip("5.6.7.8"), None, Direction::Src, Ignore::Alerts));
        // `#` removed the entry.
        assert!(!w.ip_matches(ip("9.9.9.9"), None, Direction::Dst, Ignore::Alerts));
        assert!(w.ignores_flows());
    }

    #[test]
    fn domains_cover_subdomains() {
        let (w, _) = wl("domain,google.com,both,alerts\ndomain,apple.com,src,both\n");
        assert!(w.domain_matches("google.com", Direction::Dst, Ignore::Alerts));
        assert!(w.domain_matches("mail.GOOGLE.com.", Direction::Dst, Ignore::Alerts));
        assert!(!w.domain_matches("notgoogle.com", Direction::Dst, Ignore::Alerts));
        assert!(!w.domain_matches("google.com.evil.net", Direction::Dst, Ignore::Alerts));
        assert!(!w.domain_matches("google.com", Direction::Dst, Ignore::Flows));
        assert!(w.domain_matches("a.apple.com", Direction::Src, Ignore::Flows));
        assert!(!w.domain_matches("a.apple.com", Direction::Dst, Ignore::Flows));
    }

    #[test]
    fn organisations_by_range_asn_and_domain() {
        let (w, warnings) =
            wl("organization,google,both,alerts\norganization,nosuchorg,both,alerts\n");
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("nosuchorg"));
        assert!(w.ip_matches(ip("8.8.8.8"), None, Direction::Dst, Ignore::Alerts));
        assert!(!w.ip_matches(ip("9.9.9.9"), None, Direction::Dst, Ignore::Alerts));
        assert!(!w.ip_matches(ip("8.8.8.8"), None, Direction::Dst, Ignore::Flows));
        assert!(w.domain_matches("www.google.com", Direction::Src, Ignore::Alerts));
        let mut host = Host::new(ip("203.0.113.9"), Timestamp(0));
        host.geo.asn = Some(15169);
        assert!(w.ip_matches(host.ip, Some(&host), Direction::Src, Ignore::Alerts));
    }

    #[test]
    fn a_listed_domain_takes_precedence_over_its_organisation() {
        // google.com is one of google's domains; the listed entry (source only, flows)
        // applies to it and its subdomains, the organisation's (both, alerts) to its others.
        let (w, _) = wl("organization,google,both,alerts\ndomain,google.com,src,flows\n");
        assert!(w.domain_matches("mail.google.com", Direction::Src, Ignore::Flows));
        assert!(!w.domain_matches("mail.google.com", Direction::Dst, Ignore::Alerts));
        assert!(w.domain_matches("www.blogger.com", Direction::Dst, Ignore::Alerts));
        // Removing the listed domain leaves the organisation's entry.
        let (w, _) = wl(concat!(
            "organization,google,both,alerts\n",
            "domain,google.com,src,flows\n",
            "#domain,google.com,src,flows\n",
        ));
        assert!(w.domain_matches("mail.google.com", Direction::Dst, Ignore::Alerts));
        assert!(!w.is_empty());
    }

    #[test]
    fn evidence_is_checked_on_attacker_and_victim_with_their_names() {
        let (w, _) = wl("ip,1.2.3.4,dst,alerts\ndomain,example.org,both,alerts\n");
        let mut hosts = Hosts::for_tests();
        let a = ip("10.0.0.1");
        let b = ip("1.2.3.4");
        let c = ip("5.5.5.5");
        // Victim 1.2.3.4 as destination: whitelisted.
        let e = evidence(Ioc::src_ip(a), Some(Ioc::dst_ip(b)));
        assert!(w.is_whitelisted_evidence(&e, &hosts));
        // The same address as the attacker (source) is not: the entry says dst.
        let e = evidence(Ioc::src_ip(b), Some(Ioc::dst_ip(c)));
        assert!(!w.is_whitelisted_evidence(&e, &hosts));
        // A victim known (passive DNS) as a whitelisted domain is whitelisted.
        let e = evidence(Ioc::src_ip(a), Some(Ioc::dst_ip(c)));
        assert!(!w.is_whitelisted_evidence(&e, &hosts));
        hosts.add_resolution(c, "cdn.example.org", Timestamp(0));
        assert!(w.is_whitelisted_evidence(&e, &hosts));
        let e = evidence(
            Ioc {
                value: IocValue::Url("http://x.example.org:8080/a?b".into()),
                direction: Direction::Dst,
            },
            None,
        );
        assert!(w.is_whitelisted_evidence(&e, &hosts));
    }

    #[test]
    fn flows_whitelist() {
        let (w, _) = wl("ip,10.0.0.5,src,flows\ndomain,slack.com,both,flows\n");
        let hosts = Hosts::for_tests();
        let a = ip("10.0.0.5");
        let b = ip("10.0.0.6");
        assert!(w.is_whitelisted_flow(a, Some(b), &[], &[], &hosts));
        assert!(!w.is_whitelisted_flow(b, Some(a), &[], &[], &hosts));
        assert!(w.is_whitelisted_flow(b, Some(ip("8.8.8.8")), &["app.slack.com"], &[], &hosts));
        let (alerts_only, _) = wl("ip,10.0.0.5,both,alerts\n");
        assert!(!alerts_only.ignores_flows());
        assert!(!alerts_only.is_whitelisted_flow(a, Some(b), &[], &[], &hosts));
    }

    #[test]
    fn shipped_whitelist_reads_cleanly() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/whitelist.conf");
        let (w, warnings) = Whitelist::load(WhitelistSources {
            whitelist: Some(path),
            organizations: Some(orgs_dir()),
            tranco: None,
        })
        .unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert!(w.ip_matches(ip("8.8.8.8"), None, Direction::Dst, Ignore::Alerts));
        assert!(w.domain_matches("www.bing.com", Direction::Src, Ignore::Alerts));
        assert!(!w.ignores_flows());
    }

    #[test]
    fn slips_own_whitelist_reads_cleanly() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/slips/whitelist.conf");
        let (w, warnings) = Whitelist::load(WhitelistSources {
            whitelist: Some(path),
            organizations: Some(orgs_dir()),
            tranco: None,
        })
        .unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert!(w.domain_matches("www.virustotal.com", Direction::Dst, Ignore::Alerts));
        assert!(w.ip_matches(ip("8.8.8.8"), None, Direction::Dst, Ignore::Alerts));
        assert!(!w.ignores_flows());
        assert!(!w.changed_on_disk());
        // Parsed text has no file that could change.
        assert!(!wl("ip,10.0.0.1,both,alerts\n").0.changed_on_disk());
    }

    #[test]
    fn tranco_list_whitelists_alerts_only() {
        let dir = std::env::temp_dir().join(format!("slipstream-tranco-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("top.csv");
        std::fs::write(&path, "1,google.com\n2,facebook.com\n").unwrap();
        let (w, _) = Whitelist::load(WhitelistSources {
            whitelist: None,
            organizations: None,
            tranco: Some(path),
        })
        .unwrap();
        assert!(w.domain_matches("maps.google.com", Direction::Src, Ignore::Alerts));
        assert!(!w.domain_matches("maps.google.com", Direction::Src, Ignore::Flows));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

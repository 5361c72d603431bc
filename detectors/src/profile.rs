//! The profiler's memory: what is known about every address seen (a [`Host`]), and for
//! the addresses that are profiled, their traffic and threat per time window
//! ([`ProfileState`]). Knowledge comes from the records ([`Hosts::learn`]); every set a
//! host holds is capped (`profiles.max_set_items`), so memory per host is bounded.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use dissectors::dns::RData;
use dissectors::software::SoftwareType;
use dissectors::{Record, Timestamp};
use hashbrown::HashMap;

use crate::config::ProfileLimits;
use crate::evidence::ThreatLevel;
use crate::geo::{GeoDb, GeoInfo};
use crate::mac::{MacAddr, OuiTable};
use crate::timewindow::TimeWindow;
use crate::useragent;

/// A set kept in insertion order that stops growing at its cap.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Capped<T> {
    items: Vec<T>,
    /// Insertions refused because the set was full.
    pub dropped: u32,
}

impl<T> Default for Capped<T> {
    fn default() -> Self {
        Capped {
            items: Vec::new(),
            dropped: 0,
        }
    }
}

impl<T: PartialEq> Capped<T> {
    /// Adds `v` unless present or full; returns whether it was added.
    pub fn insert(&mut self, v: T, cap: usize) -> bool {
        if self.items.contains(&v) {
            return false;
        }
        self.push_new(v, cap)
    }

    fn push_new(&mut self, v: T, cap: usize) -> bool {
        if self.items.len() >= cap {
            self.dropped = self.dropped.saturating_add(1);
            return false;
        }
        self.items.push(v);
        true
    }
}

impl<T> Capped<T> {
    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.items.iter()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn as_slice(&self) -> &[T] {
        &self.items
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserAgent {
    pub ua: String,
    pub os: Option<&'static str>,
    pub browser: Option<&'static str>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SoftwareSeen {
    pub kind: SoftwareType,
    pub name: String,
    pub major: Option<u64>,
    pub minor: Option<u64>,
}

/// A certificate this host presented as a TLS server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertSeen {
    pub fingerprint: String,
    pub subject: Option<String>,
    pub issuer: Option<String>,
    pub cn: Option<String>,
    pub san_dns: Vec<String>,
}

/// One change of a profile's threat level (Slips' `past_threat_levels`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ThreatPoint {
    pub ts: Timestamp,
    pub timewindow: i64,
    pub level: ThreatLevel,
    pub confidence: f64,
}

/// Traffic and threat of a profile in one time window.
#[derive(Clone, Debug, PartialEq)]
pub struct WindowState {
    pub number: i64,
    pub start: Timestamp,
    pub end: Timestamp,
    pub flows_out: u64,
    pub flows_in: u64,
    /// Sum of `threat_level * confidence` of the counted evidence since the last alert
    /// (Slips resets it when an alert is raised).
    pub accumulated_threat: f64,
    /// Sum over the whole window, never reset.
    pub total_threat: f64,
    pub evidence: u32,
    pub alerts: u32,
    pub max_threat: Option<ThreatLevel>,
}

/// What only profiled addresses have.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProfileState {
    /// Windows with traffic or evidence, ordered by number.
    pub windows: Vec<WindowState>,
    pub threat_history: Vec<ThreatPoint>,
    pub threat_level: Option<ThreatLevel>,
    pub confidence: f64,
    pub max_threat_level: Option<ThreatLevel>,
    pub flows_out: u64,
    pub flows_in: u64,
}

impl ProfileState {
    /// The state of window `tw`, created on first use. Records come in time order, so
    /// the last window is checked first.
    pub fn window_mut(&mut self, tw: &TimeWindow) -> &mut WindowState {
        let pos = match self.windows.last() {
            Some(w) if w.number == tw.number => self.windows.len() - 1,
            _ => match self.windows.binary_search_by_key(&tw.number, |w| w.number) {
                Ok(i) => i,
                Err(i) => {
                    self.windows.insert(
                        i,
                        WindowState {
                            number: tw.number,
                            start: tw.start,
                            end: tw.end,
                            flows_out: 0,
                            flows_in: 0,
                            accumulated_threat: 0.0,
                            total_threat: 0.0,
                            evidence: 0,
                            alerts: 0,
                            max_threat: None,
                        },
                    );
                    i
                }
            },
        };
        &mut self.windows[pos]
    }

    pub fn window(&self, number: i64) -> Option<&WindowState> {
        self.windows
            .binary_search_by_key(&number, |w| w.number)
            .ok()
            .map(|i| &self.windows[i])
    }

    /// Records the threat level of a new evidence (Slips' `update_threat_level`): the
    /// latest level and confidence, the maximum, and a history entry when either
    /// changed (else the last entry's time moves).
    pub fn note_threat(&mut self, point: ThreatPoint, history_cap: usize) {
        self.threat_level = Some(point.level);
        self.confidence = point.confidence;
        if self.max_threat_level < Some(point.level) {
            self.max_threat_level = Some(point.level);
        }
        match self.threat_history.last_mut() {
            Some(last) if last.level == point.level && last.confidence == point.confidence => {
                last.ts = point.ts;
                last.timewindow = point.timewindow;
            }
            _ => {
                if self.threat_history.len() >= history_cap.max(1) {
                    self.threat_history.remove(0);
                }
                self.threat_history.push(point);
            }
        }
    }
}

/// Everything known about one address.
#[derive(Clone, Debug, PartialEq)]
pub struct Host {
    pub ip: IpAddr,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    pub geo: GeoInfo,
    /// Passive DNS: names that resolved to this address.
    pub domains: Capped<String>,
    /// Reverse DNS (PTR) name.
    pub rdns: Option<String>,
    /// Server names clients asked this address for in TLS.
    pub snis: Capped<String>,
    pub certificates: Capped<CertSeen>,
    pub mac: Option<MacAddr>,
    pub vendor: Option<Arc<str>>,
    /// DHCP host name.
    pub hostname: Option<String>,
    /// Other addresses of the same machine (same MAC).
    pub other_ips: Capped<IpAddr>,
    pub user_agents: Capped<UserAgent>,
    pub software: Capped<SoftwareSeen>,
    pub dhcp_server: bool,
    /// The local network's router: the DHCP server, as Slips assumes (a home router
    /// serves DHCP).
    pub gateway: bool,
    /// It answered DNS queries.
    pub dns_server: bool,
    pub profile: Option<Box<ProfileState>>,
}

impl Host {
    pub fn new(ip: IpAddr, ts: Timestamp) -> Self {
        Host {
            ip,
            first_seen: ts,
            last_seen: ts,
            geo: GeoInfo::default(),
            domains: Capped::default(),
            rdns: None,
            snis: Capped::default(),
            certificates: Capped::default(),
            mac: None,
            vendor: None,
            hostname: None,
            other_ips: Capped::default(),
            user_agents: Capped::default(),
            software: Capped::default(),
            dhcp_server: false,
            gateway: false,
            dns_server: false,
            profile: None,
        }
    }

    /// Every name this address is known by: resolutions, reverse DNS, SNIs and the
    /// names in its certificates.
    pub fn known_names(&self) -> impl Iterator<Item = &str> {
        self.domains
            .iter()
            .map(String::as_str)
            .chain(self.rdns.as_deref())
            .chain(self.snis.iter().map(String::as_str))
            .chain(self.certificates.iter().flat_map(|c| {
                c.cn.as_deref()
                    .into_iter()
                    .chain(c.san_dns.iter().map(String::as_str))
            }))
    }

    pub fn is_profile(&self) -> bool {
        self.profile.is_some()
    }
}

pub struct Hosts {
    index: HashMap<IpAddr, u32>,
    hosts: Vec<Host>,
    by_mac: HashMap<MacAddr, Vec<u32>>,
    /// Server of each certificate fingerprint seen in TLS, to attach X.509 details.
    cert_owner: HashMap<String, u32>,
    limits: ProfileLimits,
    geo: GeoDb,
    oui: OuiTable,
    profiles: usize,
}

impl Hosts {
    pub fn new(limits: ProfileLimits, geo: GeoDb, oui: OuiTable) -> Self {
        Hosts {
            index: HashMap::new(),
            hosts: Vec::new(),
            by_mac: HashMap::new(),
            cert_owner: HashMap::new(),
            limits,
            geo,
            oui,
            profiles: 0,
        }
    }

    pub fn for_tests() -> Self {
        Hosts::new(
            crate::config::Config::default().profiles,
            GeoDb::none(),
            OuiTable::empty(),
        )
    }

    pub fn get(&self, ip: IpAddr) -> Option<&Host> {
        self.index.get(&ip).map(|&i| &self.hosts[i as usize])
    }

    pub fn profile(&self, ip: IpAddr) -> Option<&ProfileState> {
        self.get(ip).and_then(|h| h.profile.as_deref())
    }

    /// Number of profiled addresses.
    pub fn profile_count(&self) -> usize {
        self.profiles
    }

    pub fn host_count(&self) -> usize {
        self.hosts.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Host> {
        self.hosts.iter()
    }

    pub fn profiles(&self) -> impl Iterator<Item = (&Host, &ProfileState)> {
        self.hosts
            .iter()
            .filter_map(|h| h.profile.as_deref().map(|p| (h, p)))
    }

    fn id(&mut self, ip: IpAddr, ts: Timestamp) -> u32 {
        if let Some(&i) = self.index.get(&ip) {
            let h = &mut self.hosts[i as usize];
            if ts > h.last_seen {
                h.last_seen = ts;
            }
            return i;
        }
        let mut host = Host::new(ip, ts);
        if self.geo.is_enabled() && is_public(ip) {
            host.geo = self.geo.lookup(ip);
        }
        let i = self.hosts.len() as u32;
        self.hosts.push(host);
        self.index.insert(ip, i);
        i
    }

    /// The host of `ip`, created on first sight (with its ASN and location).
    pub fn host_mut(&mut self, ip: IpAddr, ts: Timestamp) -> &mut Host {
        let i = self.id(ip, ts);
        &mut self.hosts[i as usize]
    }

    /// The profile of `ip`, created (with its host) on first sight.
    pub fn profile_mut(&mut self, ip: IpAddr, ts: Timestamp) -> &mut ProfileState {
        let i = self.id(ip, ts) as usize;
        let host = &mut self.hosts[i];
        if host.profile.is_none() {
            host.profile = Some(Box::default());
            self.profiles += 1;
        }
        host.profile
            .as_deref_mut()
            .expect("profile was just ensured")
    }

    /// Passive DNS: `domain` resolved to `ip`.
    pub fn add_resolution(&mut self, ip: IpAddr, domain: &str, ts: Timestamp) {
        let cap = self.limits.max_set_items;
        let host = self.host_mut(ip, ts);
        if !host.domains.iter().any(|d| d == domain) {
            host.domains.push_new(domain.to_string(), cap);
        }
    }

    /// Updates what is known about the addresses a record names.
    pub fn learn(&mut self, record: &Record) {
        let cap = self.limits.max_set_items;
        match record {
            Record::Dns(d) => {
                if d.rcode.is_some() {
                    self.host_mut(d.id.resp_h, d.ts).dns_server = true;
                }
                let Some(answers) = &d.answers else { return };
                let query = d.query.as_deref();
                // Through a CNAME chain the address answers the query; an address record
                // for another name (mDNS volunteers them) belongs to its own name.
                let chained = answers.iter().any(|a| a.rtype == 5);
                for a in answers {
                    match &a.data {
                        RData::Addr(ip) => {
                            let name = match query {
                                Some(q) if chained || q == a.name => q,
                                _ => a.name.as_str(),
                            };
                            if !name.is_empty() && ptr_address(name).is_none() {
                                self.add_resolution(*ip, name, d.ts);
                            }
                        }
                        RData::Name(target) if a.rtype == 12 => {
                            if let Some(ip) = query.and_then(ptr_address) {
                                self.host_mut(ip, d.ts).rdns = Some(target.clone());
                            }
                        }
                        _ => {}
                    }
                }
            }
            Record::Http(h) => {
                let Some(ua) = h.user_agent.as_deref().filter(|u| !u.is_empty()) else {
                    return;
                };
                let host = self.host_mut(h.id.orig_h, h.ts);
                if !host.user_agents.iter().any(|u| u.ua == ua) {
                    let (os, browser) = useragent::classify(ua);
                    host.user_agents.push_new(
                        UserAgent {
                            ua: ua.to_string(),
                            os,
                            browser,
                        },
                        cap,
                    );
                }
            }
            Record::Ssl(s) => {
                let server = self.id(s.id.resp_h, s.ts);
                let host = &mut self.hosts[server as usize];
                if let Some(sni) = s.server_name.as_deref().filter(|n| !n.is_empty()) {
                    if !host.snis.iter().any(|n| n == sni) {
                        host.snis.push_new(sni.to_string(), cap);
                    }
                }
                let Some(fp) = s.cert_chain_fps.as_ref().and_then(|v| v.first()) else {
                    return;
                };
                if !host.certificates.iter().any(|c| &c.fingerprint == fp) {
                    let added = host.certificates.push_new(
                        CertSeen {
                            fingerprint: fp.clone(),
                            subject: s.subject.clone(),
                            issuer: s.issuer.clone(),
                            cn: None,
                            san_dns: Vec::new(),
                        },
                        cap,
                    );
                    if added {
                        self.cert_owner.insert(fp.clone(), server);
                    }
                }
            }
            Record::X509(x) => {
                let Some(&owner) = self.cert_owner.get(&x.fingerprint) else {
                    return;
                };
                let host = &mut self.hosts[owner as usize];
                if let Some(c) = host
                    .certificates
                    .items
                    .iter_mut()
                    .find(|c| c.fingerprint == x.fingerprint)
                {
                    let cert = &x.certificate;
                    c.cn = cert.cn.clone();
                    c.san_dns = cert
                        .san
                        .as_ref()
                        .and_then(|s| s.dns.clone())
                        .unwrap_or_default();
                    c.san_dns.truncate(cap);
                    if c.subject.is_none() {
                        c.subject = Some(cert.subject.clone());
                        c.issuer = Some(cert.issuer.clone());
                    }
                }
            }
            Record::Software(s) => {
                let Some(name) = s.name.as_deref() else {
                    return;
                };
                let host = self.host_mut(s.host, s.ts);
                if !host
                    .software
                    .iter()
                    .any(|x| x.kind == s.software_type && x.name == name)
                {
                    host.software.push_new(
                        SoftwareSeen {
                            kind: s.software_type,
                            name: name.to_string(),
                            major: s.major,
                            minor: s.minor,
                        },
                        cap,
                    );
                }
            }
            Record::Dhcp(d) => {
                if let Some(server) = d.server_addr.filter(|ip| !ip.is_unspecified()) {
                    let host = self.host_mut(server, d.ts);
                    host.dhcp_server = true;
                    host.gateway = true;
                }
                let client = d
                    .assigned_addr
                    .or(d.client_addr)
                    .filter(|ip| !ip.is_unspecified());
                let Some(client) = client else { return };
                let mac = d.mac.as_deref().and_then(|m| m.parse::<MacAddr>().ok());
                let id = self.id(client, d.ts);
                {
                    let host = &mut self.hosts[id as usize];
                    if let Some(name) = d.host_name.as_deref().filter(|n| !n.is_empty()) {
                        host.hostname = Some(name.to_string());
                    }
                }
                if let Some(mac) = mac {
                    self.bind_mac(id, mac);
                }
            }
            Record::Arp(a) => {
                if a.orig_h.is_unspecified() {
                    return;
                }
                let Ok(mac) = a.src_mac.parse::<MacAddr>() else {
                    return;
                };
                let id = self.id(a.orig_h, a.ts);
                self.bind_mac(id, mac);
            }
            Record::Conn(_)
            | Record::Ssh(_)
            | Record::Files(_)
            | Record::Notice(_)
            | Record::Weird(_)
            | Record::Smtp(_)
            | Record::Login(_)
            | Record::Tunnel(_)
            | Record::SoftwareFound(_)
            | Record::DhcpMessage(_) => {}
        }
    }

    /// Gives host `id` its MAC (and vendor) and links it with the other addresses that
    /// had the same MAC (the IPv4 and IPv6 addresses of one machine).
    fn bind_mac(&mut self, id: u32, mac: MacAddr) {
        let cap = self.limits.max_set_items;
        let vendor = self.oui.vendor(mac);
        let host = &mut self.hosts[id as usize];
        host.mac = Some(mac);
        if vendor.is_some() {
            host.vendor = vendor;
        }
        let ip = host.ip;
        let siblings = self.by_mac.entry(mac).or_default();
        if siblings.contains(&id) {
            return;
        }
        let others: Vec<u32> = siblings.clone();
        if siblings.len() < cap {
            siblings.push(id);
        }
        for other in others {
            let other_ip = self.hosts[other as usize].ip;
            self.hosts[other as usize].other_ips.insert(ip, cap);
            self.hosts[id as usize].other_ips.insert(other_ip, cap);
        }
    }

    /// Approximate heap bytes held, per host and overall (for the memory report).
    pub fn approx_heap_bytes(&self) -> usize {
        let strings = |v: &Capped<String>| v.iter().map(|s| s.capacity() + 24).sum::<usize>();
        let mut total = self.hosts.capacity() * std::mem::size_of::<Host>()
            + self.index.capacity() * (std::mem::size_of::<(IpAddr, u32)>() + 1);
        for h in &self.hosts {
            total += strings(&h.domains) + strings(&h.snis);
            total += h.rdns.as_ref().map_or(0, |s| s.capacity());
            total += h.hostname.as_ref().map_or(0, |s| s.capacity());
            total += h.other_ips.len() * std::mem::size_of::<IpAddr>();
            total += h
                .user_agents
                .iter()
                .map(|u| u.ua.capacity() + std::mem::size_of::<UserAgent>())
                .sum::<usize>();
            total += h
                .software
                .iter()
                .map(|s| s.name.capacity() + std::mem::size_of::<SoftwareSeen>())
                .sum::<usize>();
            total += h
                .certificates
                .iter()
                .map(|c| {
                    std::mem::size_of::<CertSeen>()
                        + c.fingerprint.capacity()
                        + c.subject.as_ref().map_or(0, |s| s.capacity())
                        + c.issuer.as_ref().map_or(0, |s| s.capacity())
                        + c.cn.as_ref().map_or(0, |s| s.capacity())
                        + c.san_dns.iter().map(|s| s.capacity() + 24).sum::<usize>()
                })
                .sum::<usize>();
            total += h.geo.as_org.as_ref().map_or(0, |s| s.capacity());
            if let Some(p) = &h.profile {
                total += std::mem::size_of::<ProfileState>()
                    + p.windows.capacity() * std::mem::size_of::<WindowState>()
                    + p.threat_history.capacity() * std::mem::size_of::<ThreatPoint>();
            }
        }
        total
    }
}

/// The address a reverse-lookup name stands for (`4.3.2.1.in-addr.arpa` is 1.2.3.4;
/// `ip6.arpa` names are 32 nibbles, least significant first).
pub fn ptr_address(name: &str) -> Option<IpAddr> {
    let name = name.trim_end_matches('.');
    if let Some(rest) = name.strip_suffix(".in-addr.arpa") {
        let mut octets = [0u8; 4];
        let parts: Vec<&str> = rest.split('.').collect();
        if parts.len() != 4 {
            return None;
        }
        for (i, p) in parts.iter().rev().enumerate() {
            octets[i] = p.parse().ok()?;
        }
        return Some(IpAddr::V4(Ipv4Addr::from(octets)));
    }
    if let Some(rest) = name.strip_suffix(".ip6.arpa") {
        let nibbles: Vec<&str> = rest.split('.').collect();
        if nibbles.len() != 32 {
            return None;
        }
        let mut v: u128 = 0;
        for n in nibbles.iter().rev() {
            if n.len() != 1 {
                return None;
            }
            v = v << 4 | u128::from(u8::from_str_radix(n, 16).ok()?);
        }
        return Some(IpAddr::V6(Ipv6Addr::from(v)));
    }
    None
}

/// Addresses worth an ASN/location look-up: not private, loopback, link-local,
/// multicast, broadcast, shared (CGN) or documentation space.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => {
            let o = a.octets();
            !(a.is_private()
                || a.is_loopback()
                || a.is_link_local()
                || a.is_multicast()
                || a.is_broadcast()
                || a.is_unspecified()
                || a.is_documentation()
                || (o[0] == 100 && (o[1] & 0xc0) == 64)
                || o[0] >= 240)
        }
        IpAddr::V6(a) => {
            let s = a.segments();
            !(a.is_loopback()
                || a.is_unspecified()
                || a.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] == 0x2001 && s[1] == 0x0db8))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dissectors::dhcp::DhcpRecord;
    use dissectors::dns::{DnsAnswer, DnsRecord};
    use dissectors::{ConnId, Interval, Transport, Uid};

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn conn_id(a: &str, b: &str) -> ConnId {
        ConnId {
            orig_h: ip(a),
            orig_p: 40000,
            resp_h: ip(b),
            resp_p: 53,
            proto: Transport::Udp,
        }
    }

    fn dns(query: &str, answers: Vec<(u16, RData)>) -> Record {
        let mut r = DnsRecord {
            ts: Timestamp(1),
            uid: Uid::connection(1),
            id: conn_id("10.0.0.2", "10.0.0.1"),
            trans_id: 1,
            rtt: None,
            query: Some(query.into()),
            qclass: Some(1),
            qtype: Some(1),
            rcode: Some(0),
            aa: false,
            tc: false,
            rd: true,
            ra: true,
            z: 0,
            answers: None,
            rejected: false,
            opcode: Some(0),
            netbios: false,
        };
        r.answers = Some(
            answers
                .into_iter()
                .map(|(rtype, data)| DnsAnswer {
                    name: query.into(),
                    rtype,
                    class: 1,
                    ttl: 60,
                    data,
                })
                .collect(),
        );
        Record::Dns(Box::new(r))
    }

    #[test]
    fn passive_and_reverse_dns() {
        let mut hosts = Hosts::for_tests();
        hosts.learn(&dns(
            "www.example.com",
            vec![
                (1, RData::Addr(ip("93.184.216.34"))),
                (28, RData::Addr(ip("2606:2800::1"))),
            ],
        ));
        hosts.learn(&dns(
            "34.216.184.93.in-addr.arpa",
            vec![(12, RData::Name("edge.example.net".into()))],
        ));
        let h = hosts.get(ip("93.184.216.34")).unwrap();
        assert_eq!(h.domains.as_slice(), ["www.example.com".to_string()]);
        assert_eq!(h.rdns.as_deref(), Some("edge.example.net"));
        assert!(hosts.get(ip("2606:2800::1")).is_some());
        // Resolving is knowledge, not traffic: no profile was created.
        assert_eq!(hosts.profile_count(), 0);
        assert_eq!(
            ptr_address("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"),
            Some(ip("2001:db8::1"))
        );
        assert_eq!(ptr_address("example.com"), None);
        // An address volunteered for another name is known by that name.
        let mut other = dns("_services._dns-sd._udp.local", Vec::new());
        if let Record::Dns(d) = &mut other {
            d.answers = Some(vec![DnsAnswer {
                name: "printer.local".into(),
                rtype: 1,
                class: 1,
                ttl: 120,
                data: RData::Addr(ip("192.168.1.7")),
            }]);
        }
        hosts.learn(&other);
        assert_eq!(
            hosts.get(ip("192.168.1.7")).unwrap().domains.as_slice(),
            ["printer.local".to_string()]
        );
    }

    #[test]
    fn sets_are_capped() {
        let mut limits = crate::config::Config::default().profiles;
        limits.max_set_items = 3;
        let mut hosts = Hosts::new(limits, GeoDb::none(), OuiTable::empty());
        for i in 0..10 {
            hosts.add_resolution(ip("1.1.1.1"), &format!("d{i}.example"), Timestamp(i));
        }
        hosts.add_resolution(ip("1.1.1.1"), "d0.example", Timestamp(11));
        let h = hosts.get(ip("1.1.1.1")).unwrap();
        assert_eq!(h.domains.len(), 3);
        assert_eq!(h.domains.dropped, 7);
        assert_eq!(h.last_seen, Timestamp(11));
    }

    fn dhcp(mac: &str, addr: &str, name: &str) -> Record {
        Record::from(DhcpRecord {
            ts: Timestamp(5),
            uids: vec![Uid::connection(9)],
            client_addr: None,
            server_addr: Some(ip("192.168.1.1")),
            client_port: Some(68),
            server_port: Some(67),
            mac: Some(mac.into()),
            host_name: Some(name.into()),
            client_fqdn: None,
            domain: None,
            requested_addr: None,
            assigned_addr: Some(ip(addr)),
            lease_time: None,
            client_message: None,
            server_message: None,
            msg_types: vec![1, 2, 3, 5],
            duration: Interval(0),
            client_chaddr: None,
            last_message_ts: Timestamp(5),
        })
    }

    #[test]
    fn dhcp_gives_mac_vendor_hostname_and_links_addresses() {
        let oui = OuiTable::parse("08-00-27   (hex)\t\tPCS Systemtechnik GmbH\n");
        let mut hosts = Hosts::new(
            crate::config::Config::default().profiles,
            GeoDb::none(),
            oui,
        );
        hosts.learn(&dhcp("08:00:27:aa:bb:cc", "192.168.1.50", "laptop"));
        hosts.learn(&dhcp("08:00:27:aa:bb:cc", "fd00::50", "laptop"));
        let h = hosts.get(ip("192.168.1.50")).unwrap();
        assert_eq!(h.hostname.as_deref(), Some("laptop"));
        assert_eq!(h.vendor.as_deref(), Some("PCS Systemtechnik GmbH"));
        assert_eq!(h.other_ips.as_slice(), [ip("fd00::50")]);
        assert_eq!(
            hosts.get(ip("fd00::50")).unwrap().other_ips.as_slice(),
            [ip("192.168.1.50")]
        );
        let server = hosts.get(ip("192.168.1.1")).unwrap();
        assert!(server.dhcp_server && server.gateway);
        assert!(!h.gateway);
    }

    #[test]
    fn a_host_that_answers_dns_is_a_dns_server() {
        let mut hosts = Hosts::for_tests();
        let mut unanswered = dns("example.com", vec![]);
        if let Record::Dns(d) = &mut unanswered {
            d.rcode = None;
            d.answers = None;
        }
        hosts.learn(&unanswered);
        assert!(hosts.get(ip("10.0.0.1")).is_none_or(|h| !h.dns_server));
        hosts.learn(&dns(
            "example.com",
            vec![(1, RData::Addr(ip("93.184.216.34")))],
        ));
        assert!(hosts.get(ip("10.0.0.1")).unwrap().dns_server);
        assert!(hosts.get(ip("10.0.0.2")).is_none_or(|h| !h.dns_server));
    }

    #[test]
    fn windows_and_threat_history() {
        let mut p = ProfileState::default();
        let tw = |n: i64| TimeWindow {
            number: n,
            start: Timestamp(n),
            end: Timestamp(n + 1),
        };
        p.window_mut(&tw(2)).flows_out += 1;
        p.window_mut(&tw(1)).flows_out += 1;
        p.window_mut(&tw(2)).flows_out += 1;
        assert_eq!(
            p.windows.iter().map(|w| w.number).collect::<Vec<_>>(),
            [1, 2]
        );
        assert_eq!(p.window(2).unwrap().flows_out, 2);
        let point = |ts, level, c| ThreatPoint {
            ts: Timestamp(ts),
            timewindow: 1,
            level,
            confidence: c,
        };
        p.note_threat(point(1, ThreatLevel::Low, 0.5), 2);
        p.note_threat(point(2, ThreatLevel::Low, 0.5), 2);
        p.note_threat(point(3, ThreatLevel::High, 1.0), 2);
        p.note_threat(point(4, ThreatLevel::Info, 1.0), 2);
        assert_eq!(p.threat_history.len(), 2);
        assert_eq!(p.threat_level, Some(ThreatLevel::Info));
        assert_eq!(p.max_threat_level, Some(ThreatLevel::High));
    }

    #[test]
    fn public_addresses() {
        assert!(is_public(ip("8.8.8.8")));
        assert!(!is_public(ip("192.168.0.1")));
        assert!(!is_public(ip("100.64.1.1")));
        assert!(!is_public(ip("224.0.0.251")));
        assert!(!is_public(ip("fe80::1")));
        assert!(is_public(ip("2a00:1450::1")));
    }
}

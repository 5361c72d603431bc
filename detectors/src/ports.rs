//! Slips' port knowledge (`slips_files/ports_info/`, shipped in `config/ports_info/` and
//! built into the binary): the well-known services by `port/proto` (`services.csv`:
//! name, port, protocol, description) and the ports that are unknown in general but
//! used by a specific organisation (`ports_used_by_specific_orgs.csv`: organisation,
//! address or prefix (may be empty), port or port range, protocol).

use std::sync::OnceLock;

use dissectors::net::Cidr;
use dissectors::Transport;
use hashbrown::HashMap;

const SERVICES: &str = include_str!("../../config/ports_info/services.csv");
const ORG_PORTS: &str = include_str!("../../config/ports_info/ports_used_by_specific_orgs.csv");

/// Organisations known to use one `port/proto`, and where (empty: anywhere).
#[derive(Debug, Default)]
pub struct OrgPort {
    /// Lower-case organisation names.
    pub orgs: Vec<String>,
    pub prefixes: Vec<Cidr>,
}

#[derive(Debug, Default)]
pub struct PortsInfo {
    services: HashMap<(u16, &'static str), String>,
    org_ports: HashMap<(u16, &'static str), OrgPort>,
}

fn proto_key(p: &str) -> Option<&'static str> {
    match p.trim().to_ascii_lowercase().as_str() {
        "tcp" => Some("tcp"),
        "udp" => Some("udp"),
        "sctp" => Some("sctp"),
        _ => None,
    }
}

/// Splits one CSV line on commas outside double quotes, unquoting fields.
fn csv_fields(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for ch in line.chars() {
        match ch {
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    fields.push(cur);
    fields
}

fn port_range(s: &str) -> Option<(u16, u16)> {
    let s = s.trim();
    match s.split_once('-') {
        Some((a, b)) => Some((a.trim().parse().ok()?, b.trim().parse().ok()?)),
        None => s.parse().ok().map(|p| (p, p)),
    }
}

impl PortsInfo {
    /// Parses the two files' text; lines that do not parse (headers, comments) are
    /// skipped.
    pub fn parse(services: &str, org_ports: &str) -> Self {
        let mut info = PortsInfo::default();
        for line in services.lines() {
            let f = csv_fields(line);
            let (Some(name), Some(port), Some(proto)) = (f.first(), f.get(1), f.get(2)) else {
                continue;
            };
            let (Ok(port), Some(proto)) = (port.trim().parse::<u16>(), proto_key(proto)) else {
                continue;
            };
            info.services
                .entry((port, proto))
                .or_insert_with(|| name.trim().to_string());
        }
        for line in org_ports.lines() {
            if line.starts_with('#') {
                continue;
            }
            let f = csv_fields(line);
            let (Some(org), Some(ip), Some(ports), Some(proto)) =
                (f.first(), f.get(1), f.get(2), f.get(3))
            else {
                continue;
            };
            let (Some((lo, hi)), Some(proto)) = (port_range(ports), proto_key(proto)) else {
                continue;
            };
            let prefix = ip.trim().parse::<Cidr>().ok();
            let org = org.trim().to_ascii_lowercase();
            for port in lo..=hi {
                let e = info.org_ports.entry((port, proto)).or_default();
                if !e.orgs.contains(&org) {
                    e.orgs.push(org.clone());
                }
                if let Some(p) = prefix {
                    e.prefixes.push(p);
                }
            }
        }
        info
    }

    /// The shipped files, parsed once.
    pub fn shipped() -> &'static PortsInfo {
        static INFO: OnceLock<PortsInfo> = OnceLock::new();
        INFO.get_or_init(|| PortsInfo::parse(SERVICES, ORG_PORTS))
    }

    /// Slips' `get_port_info`: the service name of `port/proto`, if well known.
    pub fn service(&self, port: u16, proto: Transport) -> Option<&str> {
        self.services
            .get(&(port, proto.as_str()))
            .map(String::as_str)
    }

    /// Slips' `get_organization_of_port`.
    pub fn organizations(&self, port: u16, proto: Transport) -> Option<&OrgPort> {
        self.org_ports.get(&(port, proto.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_files_parse() {
        let p = PortsInfo::shipped();
        assert_eq!(p.service(22, Transport::Tcp), Some("ssh"));
        assert_eq!(p.service(53, Transport::Udp), Some("DNS"));
        assert_eq!(p.service(31337, Transport::Tcp), None);
        let teams = p.organizations(3479, Transport::Udp).unwrap();
        assert_eq!(teams.orgs, ["microsoftteams", "zoom"]);
        assert!(teams
            .prefixes
            .iter()
            .any(|c| c.contains("13.107.64.1".parse().unwrap())));
        let google = p.organizations(19306, Transport::Tcp).unwrap();
        assert!(google.orgs.contains(&"google".to_string()));
        assert!(p.organizations(19306, Transport::Icmp).is_none());
    }

    #[test]
    fn quoted_fields_keep_their_commas() {
        assert_eq!(
            csv_fields(r#"a,"b, c",d"#),
            ["a".to_string(), "b, c".into(), "d".into()]
        );
        assert_eq!(port_range("3478-3481"), Some((3478, 3481)));
        assert_eq!(port_range("x"), None);
    }
}

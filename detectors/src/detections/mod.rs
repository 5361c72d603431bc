//! The detections, one per file, and the registry that builds the enabled ones.
//!
//! To add a detection: write `detections/<name>.rs` with a type implementing
//! [`Detector`](crate::detector::Detector), and add one line to `REGISTRY`.

use crate::config::Config;
use crate::detector::Detector;

pub mod arp_outside_localnet;
pub mod arp_scan;
pub mod cn_url_mismatch;
pub mod command_and_control_channel;
pub mod connection_to_multiple_ports;
pub mod connection_to_private_ip;
pub mod connection_without_dns;
pub mod data_upload;
pub mod device_changing_ip;
pub mod dga_nxdomains;
pub mod dhcp_scan;
pub mod different_localnet;
pub mod dns_answers;
pub mod dns_arpa_scan;
pub mod dns_without_connection;
pub mod empty_connections;
pub mod executable_mime_type;
pub mod gps_location_leaked;
pub mod gre_tunnel;
pub mod high_entropy_dns_answer;
pub mod horizontal_portscan;
pub mod http_traffic;
pub mod icmp_scan;
pub mod incompatible_cn;
pub mod incompatible_user_agent;
pub mod invalid_dns_resolution;
pub mod login;
pub mod long_connection;
pub mod malicious_downloaded_file;
pub mod malicious_flow;
pub mod malicious_ja3;
pub mod malicious_jarm;
pub mod malicious_ssl_cert;
pub mod mitm_arp;
pub mod multiple_reconnection_attempts;
pub mod multiple_ssh_versions;
pub mod multiple_user_agents;
pub mod non_http_port_80;
pub mod non_ssl_port_443;
pub mod p2p;
pub mod password_guessing;
pub mod pastebin_download;
pub mod port_0_connection;
pub mod scan_groups;
pub mod self_signed_certificate;
pub mod smtp_bruteforce;
pub mod ssh_successful;
pub mod suspicious_user_agent;
pub mod ti_answer_of_blacklisted_query;
pub mod ti_blacklisted_asn;
pub mod ti_blacklisted_domain;
pub mod ti_blacklisted_ip;
pub mod ti_dns_answer;
pub mod ti_malicious_url;
pub mod tor_exit_node;
pub mod unknown_port;
pub mod unsolicited_arp;
pub mod vertical_portscan;
pub mod weird_http_method;
pub mod young_domain;

type Constructor = fn(&Config) -> Box<dyn Detector>;

/// Every detection: its name (as in `modules.disable`) and how to build it.
const REGISTRY: &[(&str, Constructor)] = &[
    (horizontal_portscan::NAME, |c| {
        Box::new(horizontal_portscan::HorizontalPortscan::new(c))
    }),
    (vertical_portscan::NAME, |c| {
        Box::new(vertical_portscan::VerticalPortscan::new(c))
    }),
    (icmp_scan::NAME, |c| Box::new(icmp_scan::IcmpScan::new(c))),
    (dhcp_scan::NAME, |c| Box::new(dhcp_scan::DhcpScan::new(c))),
    (dns_arpa_scan::NAME, |c| {
        Box::new(dns_arpa_scan::DnsArpaScan::new(c))
    }),
    (connection_to_multiple_ports::NAME, |c| {
        Box::new(connection_to_multiple_ports::ConnectionToMultiplePorts::new(c))
    }),
    (gre_tunnel::NAME, |c| {
        Box::new(gre_tunnel::GreTunnel::new(c))
    }),
    (long_connection::NAME, |c| {
        Box::new(long_connection::LongConnection::new(c))
    }),
    (ssh_successful::NAME, |c| {
        Box::new(ssh_successful::SshSuccessful::new(c))
    }),
    (password_guessing::NAME, |c| {
        Box::new(password_guessing::PasswordGuessing::new(c))
    }),
    (connection_to_private_ip::NAME, |c| {
        Box::new(connection_to_private_ip::ConnectionToPrivateIp::new(c))
    }),
    (different_localnet::NAME, |c| {
        Box::new(different_localnet::DifferentLocalnet::new(c))
    }),
    (multiple_reconnection_attempts::NAME, |c| {
        Box::new(multiple_reconnection_attempts::MultipleReconnectionAttempts::new(c))
    }),
    (non_http_port_80::NAME, |c| {
        Box::new(non_http_port_80::NonHttpPort80::new(c))
    }),
    (non_ssl_port_443::NAME, |c| {
        Box::new(non_ssl_port_443::NonSslPort443::new(c))
    }),
    (port_0_connection::NAME, |c| {
        Box::new(port_0_connection::Port0Connection::new(c))
    }),
    (unknown_port::NAME, |c| {
        Box::new(unknown_port::UnknownPort::new(c))
    }),
    (ti_blacklisted_ip::NAME, |c| {
        Box::new(ti_blacklisted_ip::TiBlacklistedIp::new(c))
    }),
    (ti_blacklisted_domain::NAME, |c| {
        Box::new(ti_blacklisted_domain::TiBlacklistedDomain::new(c))
    }),
    (ti_dns_answer::NAME, |c| {
        Box::new(ti_dns_answer::TiDnsAnswer::new(c))
    }),
    (ti_answer_of_blacklisted_query::NAME, |c| {
        Box::new(ti_answer_of_blacklisted_query::TiAnswerOfBlacklistedQuery::new(c))
    }),
    (malicious_ja3::NAME, |c| {
        Box::new(malicious_ja3::MaliciousJa3::new(c))
    }),
    (dga_nxdomains::NAME, |c| {
        Box::new(dga_nxdomains::DgaNxdomains::new(c))
    }),
    (high_entropy_dns_answer::NAME, |c| {
        Box::new(high_entropy_dns_answer::HighEntropyDnsAnswer::new(c))
    }),
    (invalid_dns_resolution::NAME, |c| {
        Box::new(invalid_dns_resolution::InvalidDnsResolution::new(c))
    }),
    (self_signed_certificate::NAME, |c| {
        Box::new(self_signed_certificate::SelfSignedCertificate::new(c))
    }),
    (smtp_bruteforce::NAME, |c| {
        Box::new(smtp_bruteforce::SmtpBruteforce::new(c))
    }),
    (malicious_ssl_cert::NAME, |c| {
        Box::new(malicious_ssl_cert::MaliciousSslCert::new(c))
    }),
    (malicious_downloaded_file::NAME, |c| {
        Box::new(malicious_downloaded_file::MaliciousDownloadedFile::new(c))
    }),
    (ti_blacklisted_asn::NAME, |c| {
        Box::new(ti_blacklisted_asn::TiBlacklistedAsn::new(c))
    }),
    (connection_without_dns::NAME, |c| {
        Box::new(connection_without_dns::ConnectionWithoutDns::new(c))
    }),
    (data_upload::NAME, |c| {
        Box::new(data_upload::DataUpload::new(c))
    }),
    (dns_without_connection::NAME, |c| {
        Box::new(dns_without_connection::DnsWithoutConnection::new(c))
    }),
    (multiple_ssh_versions::NAME, |c| {
        Box::new(multiple_ssh_versions::MultipleSshVersions::new(c))
    }),
    (suspicious_user_agent::NAME, |c| {
        Box::new(suspicious_user_agent::SuspiciousUserAgent::new(c))
    }),
    (executable_mime_type::NAME, |c| {
        Box::new(executable_mime_type::ExecutableMimeType::new(c))
    }),
    (weird_http_method::NAME, |c| {
        Box::new(weird_http_method::WeirdHttpMethod::new(c))
    }),
    (empty_connections::NAME, |c| {
        Box::new(empty_connections::EmptyConnections::new(c))
    }),
    (http_traffic::NAME, |c| {
        Box::new(http_traffic::HttpTraffic::new(c))
    }),
    (multiple_user_agents::NAME, |c| {
        Box::new(multiple_user_agents::MultipleUserAgents::new(c))
    }),
    (incompatible_user_agent::NAME, |c| {
        Box::new(incompatible_user_agent::IncompatibleUserAgent::new(c))
    }),
    (pastebin_download::NAME, |c| {
        Box::new(pastebin_download::PastebinDownload::new(c))
    }),
    (gps_location_leaked::NAME, |c| {
        Box::new(gps_location_leaked::GpsLocationLeaked::new(c))
    }),
    (arp_scan::NAME, |c| Box::new(arp_scan::ArpScan::new(c))),
    (unsolicited_arp::NAME, |c| {
        Box::new(unsolicited_arp::UnsolicitedArp::new(c))
    }),
    (arp_outside_localnet::NAME, |c| {
        Box::new(arp_outside_localnet::ArpOutsideLocalnet::new(c))
    }),
    (mitm_arp::NAME, |c| Box::new(mitm_arp::MitmArp::new(c))),
    (device_changing_ip::NAME, |c| {
        Box::new(device_changing_ip::DeviceChangingIp::new(c))
    }),
    (command_and_control_channel::NAME, |c| {
        Box::new(command_and_control_channel::CommandAndControlChannel::new(
            c,
        ))
    }),
    (incompatible_cn::NAME, |c| {
        Box::new(incompatible_cn::IncompatibleCn::new(c))
    }),
    (cn_url_mismatch::NAME, |c| {
        Box::new(cn_url_mismatch::CnUrlMismatch::new(c))
    }),
    (young_domain::NAME, |c| {
        Box::new(young_domain::YoungDomain::new(c))
    }),
    (tor_exit_node::NAME, |c| {
        Box::new(tor_exit_node::TorExitNode::new(c))
    }),
    (ti_malicious_url::NAME, |c| {
        Box::new(ti_malicious_url::TiMaliciousUrl::new(c))
    }),
    (login::NAME, |c| Box::new(login::Login::new(c))),
    (malicious_flow::NAME, |c| {
        Box::new(malicious_flow::MaliciousFlow::new(c))
    }),
    // after command_and_control_channel: it reads that detection's evidence
    (malicious_jarm::NAME, |c| {
        Box::new(malicious_jarm::MaliciousJarm::new(c))
    }),
    (p2p::MALICIOUS_IP_NAME, |c| {
        Box::new(p2p::MaliciousIpFromP2pNetwork::new(c))
    }),
    (p2p::REPORT_NAME, |c| Box::new(p2p::P2pReport::new(c))),
];

/// Names of all detections.
pub fn names() -> Vec<&'static str> {
    REGISTRY.iter().map(|(n, _)| *n).collect()
}

/// The detections the configuration leaves enabled, in registry order.
pub fn enabled(config: &Config) -> Vec<Box<dyn Detector>> {
    REGISTRY
        .iter()
        .filter(|(name, _)| !config.modules.disable.iter().any(|d| d == name))
        .map(|(_, make)| make(config))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_names_match_detectors_and_disable_works() {
        let c = Config::default();
        let all = enabled(&c);
        assert_eq!(all.iter().map(|d| d.name()).collect::<Vec<_>>(), names());
        let mut c = Config::default();
        c.modules.disable.push("long_connection".into());
        assert!(enabled(&c).iter().all(|d| d.name() != "long_connection"));
    }
}

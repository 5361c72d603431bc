//! Records for unit tests.

use dissectors::{ConnId, ConnRecord, ConnState, Interval, Timestamp, Transport, Uid};

/// A finished TCP connection from `src:sport` to `dst:dport` starting at `ts` seconds.
pub fn conn(src: &str, sport: u16, dst: &str, dport: u16, ts: f64) -> ConnRecord {
    ConnRecord {
        ts: Timestamp::from_secs_f64(ts),
        uid: Uid::connection(u128::from(sport) << 64 | u128::from(dport) | (ts as u128) << 20),
        id: ConnId {
            orig_h: src.parse().unwrap(),
            orig_p: sport,
            resp_h: dst.parse().unwrap(),
            resp_p: dport,
            proto: Transport::Tcp,
        },
        service: None,
        duration: Some(Interval::from_secs(1)),
        orig_bytes: Some(100),
        resp_bytes: Some(200),
        conn_state: ConnState::SF,
        local_orig: None,
        local_resp: None,
        missed_bytes: 0,
        history: Some("ShADadFf".into()),
        orig_pkts: 5,
        orig_ip_bytes: 400,
        resp_pkts: 5,
        resp_ip_bytes: 500,
        tunnel_parents: None,
        ip_proto: Some(6),
        interface: None,
        ground_truth: None,
    }
}

/// Runs detections the way `Analysis::process` does (hosts learn each record, the
/// record's source gets a profile and a time window), without the evidence handler.
pub struct Harness {
    pub config: crate::config::Config,
    pub hosts: crate::profile::Hosts,
    windows: crate::timewindow::TimeWindows,
    last_window: Option<crate::timewindow::TimeWindow>,
}

impl Harness {
    pub fn new(config: crate::config::Config) -> Self {
        Harness {
            windows: crate::timewindow::TimeWindows::new(config.window_width_micros()),
            hosts: crate::profile::Hosts::for_tests(),
            last_window: None,
            config,
        }
    }

    /// Feeds one record to `d`, analysed for its source; returns what `d` reported.
    pub fn feed(
        &mut self,
        d: &mut dyn crate::detector::Detector,
        record: impl Into<dissectors::Record>,
    ) -> Vec<crate::evidence::Evidence> {
        let record = record.into();
        self.hosts.learn(&record);
        let ts = record.ts();
        let Some(src) = crate::endpoints(&record).0 else {
            return Vec::new();
        };
        let tw = self.windows.window_of(ts);
        self.last_window = Some(tw);
        self.hosts.profile_mut(src, ts).window_mut(&tw);
        let ctx = crate::detector::Context {
            config: &self.config,
            profile_ip: src,
            profile: self.hosts.get(src).expect("profile was just made"),
            timewindow: tw,
            hosts: &self.hosts,
        };
        let mut out = Vec::new();
        d.process(&ctx, &record, &mut out);
        out
    }

    /// Ends the run for `d`.
    pub fn finish(
        &mut self,
        d: &mut dyn crate::detector::Detector,
    ) -> Vec<crate::evidence::Evidence> {
        let ctx = crate::detector::FinishContext {
            config: &self.config,
            hosts: &self.hosts,
            last_window: self.last_window,
        };
        let mut out = Vec::new();
        while d.finish(&ctx, &mut out) {}
        out
    }
}

fn conn_id(src: &str, sport: u16, dst: &str, dport: u16, proto: Transport) -> ConnId {
    ConnId {
        orig_h: src.parse().unwrap(),
        orig_p: sport,
        resp_h: dst.parse().unwrap(),
        resp_p: dport,
        proto,
    }
}

/// A DNS query for `query` (type A) answered with `answers` (rcode NOERROR).
pub fn dns(
    src: &str,
    query: &str,
    answers: Vec<dissectors::dns::RData>,
    ts: f64,
) -> dissectors::dns::DnsRecord {
    use dissectors::dns::{DnsAnswer, RData};
    dissectors::dns::DnsRecord {
        ts: Timestamp::from_secs_f64(ts),
        uid: Uid::connection((ts * 1000.0) as u128 ^ query.len() as u128),
        id: conn_id(src, 40000, "192.168.1.1", 53, Transport::Udp),
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
        answers: (!answers.is_empty()).then(|| {
            answers
                .into_iter()
                .map(|data| DnsAnswer {
                    name: query.into(),
                    rtype: match &data {
                        RData::Addr(a) if a.is_ipv6() => 28,
                        RData::Addr(_) => 1,
                        RData::Name(_) => 5,
                        RData::Txt(_) => 16,
                        _ => 0,
                    },
                    class: 1,
                    ttl: 60,
                    data,
                })
                .collect()
        }),
        rejected: false,
        opcode: Some(0),
        netbios: false,
    }
}

/// An SSH session from `src` to `dst:dport`.
pub fn ssh(
    src: &str,
    dst: &str,
    dport: u16,
    auth_success: Option<bool>,
    auth_attempts: u64,
    ts: f64,
) -> dissectors::ssh::SshRecord {
    dissectors::ssh::SshRecord {
        ts: Timestamp::from_secs_f64(ts),
        uid: Uid::connection((ts * 1000.0) as u128 | 1 << 100),
        id: conn_id(src, 50000, dst, dport, Transport::Tcp),
        version: Some(2),
        auth_success,
        auth_attempts,
        direction: None,
        client: Some("SSH-2.0-OpenSSH_6.2".into()),
        server: Some("SSH-2.0-OpenSSH_6.6".into()),
        cipher_alg: None,
        mac_alg: None,
        compression_alg: None,
        kex_alg: None,
        host_key_alg: None,
        host_key_fingerprint: None,
    }
}

/// A TLS session from `src` to `dst:443` with SNI `sni`.
pub fn ssl(src: &str, dst: &str, sni: Option<&str>, ts: f64) -> dissectors::ssl::SslRecord {
    dissectors::ssl::SslRecord {
        ts: Timestamp::from_secs_f64(ts),
        uid: Uid::connection((ts * 1000.0) as u128 | 1 << 101),
        id: conn_id(src, 50001, dst, 443, Transport::Tcp),
        version: Some(0x0303),
        cipher: None,
        curve: None,
        server_name: sni.map(String::from),
        resumed: false,
        last_alert: None,
        next_protocol: None,
        established: true,
        ssl_history: "CsxknGIi".into(),
        cert_chain_fps: None,
        client_cert_chain_fps: None,
        sni_matches_cert: None,
        ja3: None,
        ja3s: None,
        ja4: None,
        subject: None,
        issuer: None,
        not_valid_before: None,
        not_valid_after: None,
    }
}

/// An SMTP transaction from `src` to `dst:25` whose last reply is `last_reply`.
pub fn smtp(src: &str, dst: &str, last_reply: &str, ts: f64) -> dissectors::smtp::SmtpRecord {
    dissectors::smtp::SmtpRecord {
        ts: Timestamp::from_secs_f64(ts),
        uid: Uid::connection((ts * 1000.0) as u128 | 1 << 102),
        id: conn_id(src, 50002, dst, 25, Transport::Tcp),
        trans_depth: 1,
        helo: None,
        mailfrom: None,
        rcptto: None,
        date: None,
        from: None,
        to: None,
        cc: None,
        reply_to: None,
        msg_id: None,
        in_reply_to: None,
        subject: None,
        x_originating_ip: None,
        first_received: None,
        second_received: None,
        last_reply: Some(last_reply.into()),
        path: None,
        user_agent: None,
        tls: false,
        fuids: None,
        is_webmail: false,
    }
}

/// A Zeek notice `note` from `src` with message `msg`.
pub fn notice(src: &str, note: &str, msg: &str, ts: f64) -> dissectors::notice::NoticeRecord {
    dissectors::notice::NoticeRecord {
        ts: Timestamp::from_secs_f64(ts),
        uid: None,
        id: None,
        fuid: None,
        file_mime_type: None,
        file_desc: None,
        proto: None,
        note: note.into(),
        msg: Some(msg.into()),
        sub: None,
        src: Some(src.parse().unwrap()),
        dst: None,
        p: None,
        n: None,
        peer_descr: None,
        actions: Vec::new(),
        email_dest: None,
        suppress_for: None,
        remote_location: Default::default(),
    }
}

/// An HTTP GET from `src` to `dst:80` for `host` + `uri`.
pub fn http(src: &str, dst: &str, host: &str, uri: &str, ts: f64) -> dissectors::http::HttpRecord {
    let mut h = dissectors::http::HttpRecord::new(
        Timestamp::from_secs_f64(ts),
        Uid::connection((ts * 1000.0) as u128 | 1 << 103),
        conn_id(src, 50003, dst, 80, Transport::Tcp),
        1,
    );
    h.method = Some("GET".into());
    h.host = Some(host.into());
    h.uri = Some(uri.into());
    h.version = Some("1.1".into());
    h.status_code = Some(200);
    h
}

/// An ARP message as Slips' arp.log has it.
pub fn arp(
    operation: dissectors::arp::ArpOperation,
    (src_mac, dst_mac): (&str, &str),
    (orig_h, resp_h): (&str, &str),
    (orig_hw, resp_hw): (&str, &str),
    ts: f64,
) -> dissectors::arp::ArpRecord {
    dissectors::arp::ArpRecord {
        ts: Timestamp::from_secs_f64(ts),
        operation,
        src_mac: src_mac.into(),
        dst_mac: dst_mac.into(),
        orig_h: orig_h.parse().unwrap(),
        resp_h: resp_h.parse().unwrap(),
        orig_hw: orig_hw.into(),
        resp_hw: resp_hw.into(),
    }
}

/// A files.log entry: a file `dst` sent to `src` over HTTP in the connection `src`->`dst:80`.
pub fn files(src: &str, dst: &str, ts: f64) -> dissectors::files::FileRecord {
    dissectors::files::FileRecord {
        ts: Timestamp::from_secs_f64(ts),
        fuid: Uid::file((ts * 1000.0) as u128 | 1 << 104),
        uid: Some(Uid::connection((ts * 1000.0) as u128 | 1 << 105)),
        id: Some(conn_id(src, 50004, dst, 80, Transport::Tcp)),
        source: Some("HTTP"),
        depth: 0,
        analyzers: vec!["MD5", "SHA1"],
        mime_type: None,
        filename: None,
        duration: Interval(0),
        local_orig: None,
        is_orig: Some(false),
        seen_bytes: 1000,
        total_bytes: Some(1000),
        missing_bytes: 0,
        overflow_bytes: 0,
        timedout: false,
        parent_fuid: None,
        md5: None,
        sha1: None,
        sha256: None,
        extracted: None,
        extracted_cutoff: None,
        extracted_size: None,
        pending_digests: None,
    }
}

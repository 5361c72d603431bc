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
    }
}

//! Records for the unit tests of the CLI's modules.

/// A one-packet UDP connection starting at `ts` (microseconds).
pub fn udp_conn(ts: i64) -> dissectors::ConnRecord {
    dissectors::ConnRecord {
        ts: dissectors::Timestamp(ts),
        uid: dissectors::Uid::connection(ts as u128),
        id: dissectors::ConnId {
            orig_h: "10.0.0.1".parse().unwrap(),
            orig_p: 1,
            resp_h: "10.0.0.2".parse().unwrap(),
            resp_p: 2,
            proto: dissectors::Transport::Udp,
        },
        service: None,
        duration: None,
        orig_bytes: None,
        resp_bytes: None,
        conn_state: dissectors::ConnState::S0,
        local_orig: None,
        local_resp: None,
        missed_bytes: 0,
        history: None,
        orig_pkts: 1,
        orig_ip_bytes: 30,
        resp_pkts: 0,
        resp_ip_bytes: 0,
        tunnel_parents: None,
        ip_proto: Some(17),
        interface: None,
        ground_truth: None,
    }
}

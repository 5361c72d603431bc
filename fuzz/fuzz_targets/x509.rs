//! X.509 certificate parsing: any bytes give a certificate or `None`; a parsed one
//! renders as a well-formed x509.log line and answers hostname checks.
#![no_main]

use dissectors::x509::{check_hostname, fingerprint, Certificate, X509Record};
use dissectors::{Timestamp, Uid};
use libfuzzer_sys::fuzz_target;
use slipstream_fuzz::check_rendering;

fuzz_target!(|data: &[u8]| {
    let split = data.len() / 2;
    let _ = check_hostname(&data[..split], &data[split..]);
    let Some(certificate) = Certificate::parse(data) else {
        return;
    };
    let _ = certificate.is_self_issued();
    if let Some(cn) = certificate.cn.clone() {
        let _ = certificate.matches_hostname(cn.as_bytes());
    }
    let _ = certificate.matches_hostname(b"www.example.com");
    let record = X509Record {
        ts: Timestamp(1_600_000_000_000_000),
        uid: Uid::connection(1),
        fingerprint: fingerprint(data),
        certificate,
        host_cert: true,
        client_cert: false,
    };
    check_rendering(vec![record.into()]);
});

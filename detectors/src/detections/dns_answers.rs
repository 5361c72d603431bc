//! Shared reading of DNS answers for the DNS detections.

use std::net::IpAddr;

use dissectors::dns::{DnsRecord, RData};

/// The addresses a DNS reply gave.
pub fn answer_ips(d: &DnsRecord) -> impl Iterator<Item = IpAddr> + '_ {
    d.answers.iter().flatten().filter_map(|a| match a.data {
        RData::Addr(ip) => Some(ip),
        _ => None,
    })
}

/// Shannon entropy of the characters of `s`, in bits (Slips' `estimate_shannon_entropy`).
pub fn shannon_entropy(s: &str) -> f64 {
    let mut counts: Vec<(char, u32)> = Vec::new();
    let mut total = 0u32;
    for ch in s.chars() {
        total += 1;
        match counts.iter_mut().find(|(c, _)| *c == ch) {
            Some((_, n)) => *n += 1,
            None => counts.push((ch, 1)),
        }
    }
    if total == 0 {
        return 0.0;
    }
    -counts
        .iter()
        .map(|&(_, n)| {
            let p = f64::from(n) / f64::from(total);
            p * p.log2()
        })
        .sum::<f64>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_of_known_strings() {
        assert_eq!(shannon_entropy(""), 0.0);
        assert_eq!(shannon_entropy("aaaa"), 0.0);
        assert!((shannon_entropy("ab") - 1.0).abs() < 1e-12);
        assert!((shannon_entropy("abcdefgh") - 3.0).abs() < 1e-12);
    }
}

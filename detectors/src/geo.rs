//! ASN, organisation, country and city of public addresses, from MaxMind's GeoLite2 /
//! GeoIP2 databases (`.mmdb`), looked up once per host.

use std::net::IpAddr;
use std::path::Path;

use maxminddb::{geoip2, Reader};

use crate::error::Error;

/// What the databases say about one address.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GeoInfo {
    pub asn: Option<u32>,
    pub as_org: Option<String>,
    /// ISO 3166 country code (`SE`).
    pub country: Option<String>,
    /// City name in English.
    pub city: Option<String>,
}

impl GeoInfo {
    pub fn is_empty(&self) -> bool {
        *self == GeoInfo::default()
    }
}

#[derive(Default)]
pub struct GeoDb {
    asn: Option<Reader<Vec<u8>>>,
    /// A City or a Country database (both carry the country).
    location: Option<Reader<Vec<u8>>>,
}

impl GeoDb {
    pub fn none() -> Self {
        GeoDb::default()
    }

    pub fn open(asn: Option<&Path>, location: Option<&Path>) -> Result<Self, Error> {
        let open = |p: &Path| {
            Reader::open_readfile(p).map_err(|e| Error::Geo {
                path: p.to_path_buf(),
                message: e.to_string(),
            })
        };
        Ok(GeoDb {
            asn: asn.map(open).transpose()?,
            location: location.map(open).transpose()?,
        })
    }

    pub fn is_enabled(&self) -> bool {
        self.asn.is_some() || self.location.is_some()
    }

    /// Looks `ip` up; a database without an entry (or a decode fault) leaves the fields
    /// unset: enrichment never stops the analysis.
    pub fn lookup(&self, ip: IpAddr) -> GeoInfo {
        let mut info = GeoInfo::default();
        if let Some(r) = &self.asn {
            if let Ok(Some(a)) = r.lookup(ip).and_then(|l| l.decode::<geoip2::Asn>()) {
                info.asn = a.autonomous_system_number;
                info.as_org = a.autonomous_system_organization.map(str::to_owned);
            }
        }
        if let Some(r) = &self.location {
            if let Ok(Some(c)) = r.lookup(ip).and_then(|l| l.decode::<geoip2::City>()) {
                info.country = c.country.iso_code.map(str::to_owned);
                info.city = c.city.names.english.map(str::to_owned);
            }
        }
        info
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mmdb(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../testdata/mmdb")
            .join(name)
    }

    #[test]
    fn asn_and_city_from_maxmind_test_databases() {
        let db = GeoDb::open(
            Some(&mmdb("GeoLite2-ASN-Test.mmdb")),
            Some(&mmdb("GeoLite2-City-Test.mmdb")),
        )
        .unwrap();
        let i = db.lookup("89.160.20.112".parse().unwrap());
        assert_eq!(i.asn, Some(29518));
        assert!(i.as_org.is_some());
        assert_eq!(i.country.as_deref(), Some("SE"));
        assert!(i.city.is_some());
        let none = db.lookup("10.0.0.1".parse().unwrap());
        assert!(none.is_empty());
    }

    #[test]
    fn a_missing_database_is_an_error_naming_it() {
        let e = GeoDb::open(Some(Path::new("/no/such.mmdb")), None)
            .err()
            .unwrap()
            .to_string();
        assert!(e.starts_with("/no/such.mmdb:"), "{e}");
    }
}

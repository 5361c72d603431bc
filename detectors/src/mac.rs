//! MAC addresses and their vendors, from the IEEE's OUI registry in the text form that
//! Debian's `ieee-data` package ships (`/usr/share/ieee-data/oui.txt`).

use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use hashbrown::HashMap;

use crate::error::Error;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// The 24-bit organisationally unique identifier (the first three bytes).
    pub fn oui(self) -> u32 {
        u32::from(self.0[0]) << 16 | u32::from(self.0[1]) << 8 | u32::from(self.0[2])
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

impl FromStr for MacAddr {
    type Err = String;

    /// Accepts `aa:bb:cc:dd:ee:ff` and `aa-bb-cc-dd-ee-ff`, any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut out = [0u8; 6];
        let mut parts = s.trim().split([':', '-']);
        for byte in &mut out {
            let p = parts
                .next()
                .ok_or_else(|| format!("{s}: not a MAC address"))?;
            if p.len() != 2 {
                return Err(format!("{s}: not a MAC address"));
            }
            *byte = u8::from_str_radix(p, 16).map_err(|_| format!("{s}: not a MAC address"))?;
        }
        if parts.next().is_some() {
            return Err(format!("{s}: not a MAC address"));
        }
        Ok(MacAddr(out))
    }
}

/// Vendor names by OUI. Names are shared (`Arc<str>`) so a profile can hold its
/// vendor without copying the string.
#[derive(Clone, Debug, Default)]
pub struct OuiTable {
    vendors: HashMap<u32, Arc<str>>,
}

impl OuiTable {
    pub fn empty() -> Self {
        OuiTable::default()
    }

    /// Loads `oui.txt`. Only the `XX-XX-XX   (hex)\t\tVendor` lines are read; every
    /// other line (headers, `(base 16)` twins, addresses) is skipped.
    pub fn load(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        // The IEEE file is UTF-8 but has held stray Latin-1 bytes; be lenient.
        let text = String::from_utf8_lossy(&text);
        Ok(Self::parse(&text))
    }

    pub fn parse(text: &str) -> Self {
        let mut vendors = HashMap::new();
        for line in text.lines() {
            let Some((prefix, rest)) = line.split_once("(hex)") else {
                continue;
            };
            let prefix = prefix.trim();
            let digits: String = prefix.chars().filter(|c| *c != '-').collect();
            if digits.len() != 6 {
                continue;
            }
            let Ok(oui) = u32::from_str_radix(&digits, 16) else {
                continue;
            };
            let vendor = rest.trim();
            if !vendor.is_empty() {
                vendors.insert(oui, Arc::from(vendor));
            }
        }
        OuiTable { vendors }
    }

    pub fn len(&self) -> usize {
        self.vendors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.vendors.is_empty()
    }

    pub fn vendor(&self, mac: MacAddr) -> Option<Arc<str>> {
        self.vendors.get(&mac.oui()).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_macs() {
        let m: MacAddr = "B1:b1:b1:C1:c2:c3".parse().unwrap();
        assert_eq!(m.to_string(), "b1:b1:b1:c1:c2:c3");
        assert_eq!(
            "00-22-72-01-02-03".parse::<MacAddr>().unwrap().oui(),
            0x002272
        );
        assert!("00:22:72:01:02".parse::<MacAddr>().is_err());
        assert!("00:22:72:01:02:03:04".parse::<MacAddr>().is_err());
        assert!("zz:22:72:01:02:03".parse::<MacAddr>().is_err());
    }

    #[test]
    fn reads_the_ieee_fixture() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/oui/oui-sample.txt");
        let t = OuiTable::load(&path).unwrap();
        assert!(t.len() >= 3);
        let m: MacAddr = "00:22:72:aa:bb:cc".parse().unwrap();
        assert_eq!(
            t.vendor(m).as_deref(),
            Some("American Micro-Fuel Device Corp.")
        );
        let unknown: MacAddr = "02:00:00:00:00:01".parse().unwrap();
        assert_eq!(t.vendor(unknown), None);
    }
}

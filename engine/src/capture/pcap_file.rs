//! Capture files (classic pcap and pcapng), memory-mapped and read in place: every packet
//! is a slice of the mapping, never a copy.

use std::fmt;
use std::fs::File;
use std::path::{Path, PathBuf};

use dissectors::Timestamp;
use memmap2::Mmap;

use super::LinkType;

/// A packet borrowed from the capture.
#[derive(Clone, Copy, Debug)]
pub struct RawPacket<'a> {
    pub ts: Timestamp,
    pub link: LinkType,
    /// Captured bytes (may be shorter than the packet on the wire: snaplen).
    pub data: &'a [u8],
    /// Length of the packet on the wire.
    pub wire_len: u32,
    /// 1-based packet number in the file, for error messages.
    pub number: u64,
    /// Which of the live capture's interfaces it came from (an index into
    /// `TrackerConfig::interfaces`); `None` for a file.
    pub interface: Option<u16>,
}

/// A problem reading a capture file, naming the file and the place.
#[derive(Debug)]
pub struct CaptureError {
    pub path: PathBuf,
    pub packet: Option<u64>,
    pub offset: u64,
    pub kind: CaptureErrorKind,
}

#[derive(Debug, PartialEq, Eq)]
pub enum CaptureErrorKind {
    Io(String),
    Empty,
    BadMagic(u32),
    TruncatedHeader,
    /// The file ends inside a packet: what came before is kept.
    TruncatedPacket {
        need: u64,
        have: u64,
    },
    /// A record length that cannot be right (e.g. larger than the file or the block).
    BadLength(u64),
    /// A pcapng packet that references an interface never described.
    UnknownInterface(u32),
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(n) = self.packet {
            write!(f, ": packet {n}")?;
        }
        write!(f, " (byte offset {}): ", self.offset)?;
        match &self.kind {
            CaptureErrorKind::Io(e) => write!(f, "cannot read: {e}"),
            CaptureErrorKind::Empty => write!(f, "empty file, not a capture"),
            CaptureErrorKind::BadMagic(m) => {
                write!(f, "not a pcap or pcapng file (magic number {m:#010x})")
            }
            CaptureErrorKind::TruncatedHeader => write!(f, "file header is truncated"),
            CaptureErrorKind::TruncatedPacket { need, have } => write!(
                f,
                "file is truncated inside a packet record ({need} bytes needed, {have} left)"
            ),
            CaptureErrorKind::BadLength(l) => write!(f, "impossible record length {l}"),
            CaptureErrorKind::UnknownInterface(i) => {
                write!(f, "packet refers to undeclared interface {i}")
            }
        }
    }
}

impl std::error::Error for CaptureError {}

/// An open capture file.
pub struct PcapFile {
    path: PathBuf,
    map: Mmap,
}

impl PcapFile {
    pub fn open(path: &Path) -> Result<Self, CaptureError> {
        let err = |kind| CaptureError {
            path: path.to_path_buf(),
            packet: None,
            offset: 0,
            kind,
        };
        let file = File::open(path).map_err(|e| err(CaptureErrorKind::Io(e.to_string())))?;
        // SAFETY: the mapping is read-only and private to this process. Another process
        // truncating the file while we read would raise SIGBUS; capture files being read
        // are not expected to shrink, the same assumption libpcap-based tools make.
        let map =
            unsafe { Mmap::map(&file) }.map_err(|e| err(CaptureErrorKind::Io(e.to_string())))?;
        #[cfg(unix)]
        {
            let _ = map.advise(memmap2::Advice::Sequential);
        }
        Ok(PcapFile {
            path: path.to_path_buf(),
            map,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn bytes(&self) -> &[u8] {
        &self.map
    }

    /// Drops the pages of bytes `start..end` of the mapping from this process's memory,
    /// so that reading a large file keeps a flat resident size. Anything still referring
    /// to those bytes stays valid: the pages come back from the file on the next access.
    pub fn release(&self, start: usize, end: usize) {
        #[cfg(unix)]
        {
            let end = end.min(self.map.len());
            if start >= end {
                return;
            }
            // SAFETY: the mapping is a private, read-only mapping of a file we never write.
            // MADV_DONTNEED on such a mapping only discards the resident copies: later reads
            // of the range fault the same bytes back in from the file, so no slice
            // borrowed from the mapping can observe different contents.
            let _ = unsafe {
                self.map.unchecked_advise_range(
                    memmap2::UncheckedAdvice::DontNeed,
                    start,
                    end - start,
                )
            };
        }
        #[cfg(not(unix))]
        let _ = (start, end);
    }

    /// Maps the pages of bytes `start..end` into this process now (reading them from the
    /// page cache or the disk), so that the reader later takes no page fault on them.
    /// Best effort: without kernel support (before Linux 5.14) the reader faults as usual.
    pub fn populate(&self, start: usize, end: usize) {
        #[cfg(target_os = "linux")]
        {
            let end = end.min(self.map.len());
            if start < end {
                let _ = self
                    .map
                    .advise_range(memmap2::Advice::PopulateRead, start, end - start);
            }
        }
        #[cfg(not(target_os = "linux"))]
        let _ = (start, end);
    }

    /// Asks the CPU to bring bytes `start..end` of the mapping into its cache, one request
    /// per cache line, without waiting for them. The reader calls it a few kilobytes ahead of
    /// the packet it decodes: the hardware prefetcher stops at each 4 KiB page, so without it
    /// the first touch of every packet (its checksum) waited on memory, 21 % of the reader's
    /// time on the benchmark capture.
    pub fn prefetch(&self, start: usize, end: usize) {
        let end = end.min(self.map.len());
        #[cfg(target_arch = "x86_64")]
        for at in (start..end).step_by(64) {
            // SAFETY: `at` is within the mapping, so the pointer is in bounds; a prefetch
            // only hints the cache, reads nothing into the program and cannot fault.
            unsafe {
                use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
                _mm_prefetch::<_MM_HINT_T0>(self.map.as_ptr().add(at).cast());
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = (start, end);
    }

    /// Byte offset of a packet's bytes within the file, when they are borrowed from it.
    pub fn offset_of(&self, bytes: &[u8]) -> Option<usize> {
        let base = self.map.as_ptr() as usize;
        let at = bytes.as_ptr() as usize;
        (at >= base && at <= base + self.map.len()).then(|| at - base)
    }

    /// Iterates the packets. A fault ends the iteration with one `Err`.
    pub fn packets(&self) -> Result<Packets<'_>, CaptureError> {
        Packets::new(&self.path, &self.map)
    }
}

/// Reads packets from capture bytes held in memory (a mapping, or a buffer in tests).
pub struct Packets<'a> {
    path: &'a Path,
    data: &'a [u8],
    pos: usize,
    number: u64,
    format: Format,
    done: bool,
}

#[derive(Clone, Debug)]
enum Format {
    Classic {
        big_endian: bool,
        nanos: bool,
        link: LinkType,
    },
    Ng {
        big_endian: bool,
        interfaces: Vec<NgInterface>,
    },
}

#[derive(Clone, Copy, Debug)]
struct NgInterface {
    link: LinkType,
    /// Timestamp units per second.
    units_per_sec: u64,
}

const PCAP_MAGIC_MICROS: u32 = 0xa1b2_c3d4;
const PCAP_MAGIC_NANOS: u32 = 0xa1b2_3c4d;
const PCAPNG_SHB: u32 = 0x0a0d_0d0a;
const PCAPNG_BYTE_ORDER: u32 = 0x1a2b_3c4d;

fn read_u32(b: &[u8], at: usize, big_endian: bool) -> Option<u32> {
    let bytes: [u8; 4] = b.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(if big_endian {
        u32::from_be_bytes(bytes)
    } else {
        u32::from_le_bytes(bytes)
    })
}

fn read_u16(b: &[u8], at: usize, big_endian: bool) -> Option<u16> {
    let bytes: [u8; 2] = b.get(at..at.checked_add(2)?)?.try_into().ok()?;
    Some(if big_endian {
        u16::from_be_bytes(bytes)
    } else {
        u16::from_le_bytes(bytes)
    })
}

impl<'a> Packets<'a> {
    pub fn new(path: &'a Path, data: &'a [u8]) -> Result<Self, CaptureError> {
        let err = |kind| CaptureError {
            path: path.to_path_buf(),
            packet: None,
            offset: 0,
            kind,
        };
        if data.is_empty() {
            return Err(err(CaptureErrorKind::Empty));
        }
        let magic_le = read_u32(data, 0, false).ok_or(err(CaptureErrorKind::TruncatedHeader))?;
        let magic_be = magic_le.swap_bytes();
        let (format, pos) = if magic_le == PCAPNG_SHB {
            let bom_le = read_u32(data, 8, false).ok_or(err(CaptureErrorKind::TruncatedHeader))?;
            let big_endian = match bom_le {
                PCAPNG_BYTE_ORDER => false,
                b if b.swap_bytes() == PCAPNG_BYTE_ORDER => true,
                other => return Err(err(CaptureErrorKind::BadMagic(other))),
            };
            (
                Format::Ng {
                    big_endian,
                    interfaces: Vec::new(),
                },
                0,
            )
        } else {
            let (big_endian, nanos) = match (magic_le, magic_be) {
                (PCAP_MAGIC_MICROS, _) => (false, false),
                (PCAP_MAGIC_NANOS, _) => (false, true),
                (_, PCAP_MAGIC_MICROS) => (true, false),
                (_, PCAP_MAGIC_NANOS) => (true, true),
                _ => return Err(err(CaptureErrorKind::BadMagic(magic_le))),
            };
            let link =
                read_u32(data, 20, big_endian).ok_or(err(CaptureErrorKind::TruncatedHeader))?;
            (
                Format::Classic {
                    big_endian,
                    nanos,
                    link: LinkType(link & 0x0fff_ffff),
                },
                24,
            )
        };
        Ok(Packets {
            path,
            data,
            pos,
            number: 0,
            format,
            done: false,
        })
    }

    /// Link type of a classic pcap, or of the first pcapng interface seen so far.
    pub fn link_type(&self) -> Option<LinkType> {
        match &self.format {
            Format::Classic { link, .. } => Some(*link),
            Format::Ng { interfaces, .. } => interfaces.first().map(|i| i.link),
        }
    }

    fn fail(
        &mut self,
        packet: Option<u64>,
        kind: CaptureErrorKind,
    ) -> Option<Result<RawPacket<'a>, CaptureError>> {
        self.done = true;
        Some(Err(CaptureError {
            path: self.path.to_path_buf(),
            packet,
            offset: self.pos as u64,
            kind,
        }))
    }

    #[inline]
    fn next_classic(
        &mut self,
        big_endian: bool,
        nanos: bool,
        link: LinkType,
    ) -> Option<Result<RawPacket<'a>, CaptureError>> {
        let rest = self.data.len() - self.pos;
        if rest == 0 {
            self.done = true;
            return None;
        }
        let number = self.number + 1;
        let p = self.pos;
        // The record header as one array: a single bounds check for its four fields.
        let Some(header) = self.data[p..].first_chunk::<16>() else {
            return self.fail(
                Some(number),
                CaptureErrorKind::TruncatedPacket {
                    need: 16,
                    have: rest as u64,
                },
            );
        };
        let field = |at: usize| {
            let bytes = [header[at], header[at + 1], header[at + 2], header[at + 3]];
            if big_endian {
                u32::from_be_bytes(bytes)
            } else {
                u32::from_le_bytes(bytes)
            }
        };
        let (secs, frac, incl, orig) = (field(0), field(4), field(8), field(12));
        // Packets beyond 256 KiB do not exist on any link we read; a larger length means
        // a corrupt record, and trusting it would skip the rest of the file.
        if incl > 0x0004_0000 {
            return self.fail(Some(number), CaptureErrorKind::BadLength(u64::from(incl)));
        }
        let body = p + 16;
        let Some(bytes) = self.data.get(body..body + incl as usize) else {
            return self.fail(
                Some(number),
                CaptureErrorKind::TruncatedPacket {
                    need: u64::from(incl),
                    have: (self.data.len() - body) as u64,
                },
            );
        };
        self.pos = body + incl as usize;
        self.number = number;
        let micros = if nanos { frac / 1000 } else { frac };
        Some(Ok(RawPacket {
            ts: Timestamp::from_secs_micros(i64::from(secs), i64::from(micros)),
            link,
            data: bytes,
            wire_len: orig.max(incl),
            number,
            interface: None,
        }))
    }

    fn next_ng(&mut self) -> Option<Result<RawPacket<'a>, CaptureError>> {
        loop {
            let rest = self.data.len() - self.pos;
            if rest == 0 {
                self.done = true;
                return None;
            }
            let number = self.number + 1;
            let p = self.pos;
            let Format::Ng { big_endian, .. } = self.format else {
                return None;
            };
            // A section header may switch byte order; read its type either way.
            let block_type = read_u32(self.data, p, false);
            let big_endian = if block_type == Some(PCAPNG_SHB) {
                match read_u32(self.data, p + 8, false) {
                    Some(PCAPNG_BYTE_ORDER) => false,
                    Some(b) if b.swap_bytes() == PCAPNG_BYTE_ORDER => true,
                    Some(b) => return self.fail(Some(number), CaptureErrorKind::BadMagic(b)),
                    None => {
                        return self.fail(
                            Some(number),
                            CaptureErrorKind::TruncatedPacket {
                                need: 12,
                                have: rest as u64,
                            },
                        )
                    }
                }
            } else {
                big_endian
            };
            let (Some(btype), Some(blen)) = (
                read_u32(self.data, p, big_endian),
                read_u32(self.data, p + 4, big_endian),
            ) else {
                return self.fail(
                    Some(number),
                    CaptureErrorKind::TruncatedPacket {
                        need: 12,
                        have: rest as u64,
                    },
                );
            };
            let blen = blen as usize;
            if blen < 12 || !blen.is_multiple_of(4) {
                return self.fail(Some(number), CaptureErrorKind::BadLength(blen as u64));
            }
            let Some(block) = self.data.get(p..p + blen) else {
                return self.fail(
                    Some(number),
                    CaptureErrorKind::TruncatedPacket {
                        need: blen as u64,
                        have: rest as u64,
                    },
                );
            };
            self.pos = p + blen;
            let body = &block[8..blen - 4];
            match btype {
                PCAPNG_SHB => {
                    if let Format::Ng {
                        big_endian: be,
                        interfaces,
                    } = &mut self.format
                    {
                        *be = big_endian;
                        interfaces.clear();
                    }
                }
                // Interface description: link type, then options (if_tsresol).
                0x0000_0001 => {
                    let link = read_u16(body, 0, big_endian).unwrap_or(0);
                    let units_per_sec = ng_tsresol(body.get(8..).unwrap_or(&[]), big_endian);
                    if let Format::Ng { interfaces, .. } = &mut self.format {
                        interfaces.push(NgInterface {
                            link: LinkType(u32::from(link)),
                            units_per_sec,
                        });
                    }
                }
                // Enhanced packet block.
                0x0000_0006 => {
                    let (Some(iface), Some(hi), Some(lo), Some(caplen), Some(origlen)) = (
                        read_u32(body, 0, big_endian),
                        read_u32(body, 4, big_endian),
                        read_u32(body, 8, big_endian),
                        read_u32(body, 12, big_endian),
                        read_u32(body, 16, big_endian),
                    ) else {
                        return self.fail(Some(number), CaptureErrorKind::BadLength(blen as u64));
                    };
                    let Some(bytes) = body.get(20..20 + caplen as usize) else {
                        return self
                            .fail(Some(number), CaptureErrorKind::BadLength(u64::from(caplen)));
                    };
                    let Some(info) = self.interface(iface) else {
                        return self.fail(Some(number), CaptureErrorKind::UnknownInterface(iface));
                    };
                    self.number = number;
                    let raw = (u64::from(hi) << 32) | u64::from(lo);
                    return Some(Ok(RawPacket {
                        ts: ng_timestamp(raw, info.units_per_sec),
                        link: info.link,
                        data: bytes,
                        wire_len: origlen.max(caplen),
                        number,
                        interface: None,
                    }));
                }
                // Simple packet block: no timestamp; interface 0.
                0x0000_0003 => {
                    let Some(origlen) = read_u32(body, 0, big_endian) else {
                        return self.fail(Some(number), CaptureErrorKind::BadLength(blen as u64));
                    };
                    let caplen = (origlen as usize).min(body.len().saturating_sub(4));
                    let Some(info) = self.interface(0) else {
                        return self.fail(Some(number), CaptureErrorKind::UnknownInterface(0));
                    };
                    self.number = number;
                    return Some(Ok(RawPacket {
                        ts: Timestamp(0),
                        link: info.link,
                        data: body.get(4..4 + caplen).unwrap_or(&[]),
                        wire_len: origlen,
                        number,
                        interface: None,
                    }));
                }
                // Name resolution, statistics, custom and unknown blocks carry no packets.
                _ => {}
            }
        }
    }

    fn interface(&self, index: u32) -> Option<NgInterface> {
        match &self.format {
            Format::Ng { interfaces, .. } => interfaces.get(index as usize).copied(),
            Format::Classic { .. } => None,
        }
    }
}

/// The `if_tsresol` option of an interface description block, as units per second
/// (default: microseconds).
fn ng_tsresol(mut opts: &[u8], big_endian: bool) -> u64 {
    while let (Some(code), Some(len)) =
        (read_u16(opts, 0, big_endian), read_u16(opts, 2, big_endian))
    {
        if code == 0 {
            break;
        }
        let len = len as usize;
        if code == 9 && len >= 1 {
            if let Some(&v) = opts.get(4) {
                let exp = u32::from(v & 0x7f);
                let units = if v & 0x80 != 0 {
                    2u64.checked_pow(exp)
                } else {
                    10u64.checked_pow(exp)
                };
                return units.unwrap_or(1_000_000).max(1);
            }
        }
        let step = 4 + len.div_ceil(4) * 4;
        match opts.get(step..) {
            Some(rest) => opts = rest,
            None => break,
        }
    }
    1_000_000
}

fn ng_timestamp(raw: u64, units_per_sec: u64) -> Timestamp {
    // 64 bits of coarse units (seconds, say) overflow a microsecond clock: saturate.
    let micros = u128::from(raw) * 1_000_000 / u128::from(units_per_sec);
    Timestamp(i64::try_from(micros).unwrap_or(i64::MAX))
}

impl<'a> Iterator for Packets<'a> {
    type Item = Result<RawPacket<'a>, CaptureError>;

    // Inlined into the reading loop: returned through memory, the packet's fields were
    // read back before the stores had landed (a store-forwarding stall), a tenth of the
    // conn-only reader's samples.
    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.format {
            Format::Classic {
                big_endian,
                nanos,
                link,
            } => self.next_classic(big_endian, nanos, link),
            Format::Ng { .. } => self.next_ng(),
        }
    }
}

/// The header of a classic little-endian pcap file of Ethernet frames (for tests that
/// write captures).
#[cfg(test)]
pub(crate) fn classic_header_for_tests() -> Vec<u8> {
    let mut bytes = Vec::new();
    bytes.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    bytes.extend_from_slice(&2u16.to_le_bytes());
    bytes.extend_from_slice(&4u16.to_le_bytes());
    bytes.extend_from_slice(&[0; 8]);
    bytes.extend_from_slice(&65_535u32.to_le_bytes());
    bytes.extend_from_slice(&1u32.to_le_bytes());
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pcap file of `packets` 1,000-byte packets with distinct contents, at a fresh path.
    fn capture_file(name: &str, packets: u32) -> PathBuf {
        let path = std::env::temp_dir().join(format!("{name}-{}.pcap", std::process::id()));
        let mut bytes = classic_header_for_tests();
        for n in 0..packets {
            bytes.extend_from_slice(&n.to_le_bytes());
            bytes.extend_from_slice(&0u32.to_le_bytes());
            bytes.extend_from_slice(&1_000u32.to_le_bytes());
            bytes.extend_from_slice(&1_000u32.to_le_bytes());
            bytes.extend((0..1_000u32).map(|i| (i.wrapping_mul(31) ^ n) as u8));
        }
        std::fs::write(&path, bytes).unwrap();
        path
    }

    #[test]
    fn prefetching_any_range_leaves_the_bytes_as_they_are() {
        let path = capture_file("prefetch", 100);
        let file = PcapFile::open(&path).unwrap();
        let before = file.bytes().to_vec();
        let len = before.len();
        // Inside, straddling the end, past the end, empty and reversed ranges.
        for (start, end) in [
            (0, len),
            (len - 10, len + 4096),
            (len + 1, len + 9),
            (5, 5),
            (9, 3),
        ] {
            file.prefetch(start, end);
        }
        assert_eq!(file.bytes(), &before[..]);
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn released_and_populated_pages_read_the_same_bytes() {
        let path = capture_file("release-populate", 10_000);
        let file = PcapFile::open(&path).unwrap();
        let before: Vec<Vec<u8>> = file
            .packets()
            .unwrap()
            .map(|p| p.unwrap().data.to_vec())
            .collect();
        // Borrowed slices stay valid across both: they read the file's bytes again.
        let borrowed: Vec<&[u8]> = file.packets().unwrap().map(|p| p.unwrap().data).collect();
        let len = file.bytes().len();
        file.release(0, len);
        file.populate(4096, len / 2);
        file.release(100, 5_000_000);
        file.populate(0, len);
        assert_eq!(borrowed.len(), before.len());
        for (a, b) in borrowed.iter().zip(&before) {
            assert_eq!(a, b);
        }
        let after: Vec<Vec<u8>> = file
            .packets()
            .unwrap()
            .map(|p| p.unwrap().data.to_vec())
            .collect();
        assert_eq!(after, before);
        // Ranges beyond the end or empty are ignored.
        file.release(len, len + 10);
        file.populate(len + 1, len);
        let _ = std::fs::remove_file(&path);
    }
}

//! Live capture through AF_XDP sockets (`--capture af_xdp`, cargo feature `af_xdp`): one
//! socket per receive queue of the interface, each with its own UMEM (the memory the
//! kernel writes frames into), and libxdp's default XDP program, which redirects every
//! packet of a queue to that queue's socket.
//!
//! A frame taken off the receive ring is lent to the decoder where it lies (zero copy from
//! the UMEM; with one worker, to the dissectors too) and goes back to the fill ring once
//! its batch is decoded. Whether the NIC writes into the UMEM itself (zero copy) depends
//! on the driver: [`XdpMode::Auto`] tries zero copy, then driver mode with copies, then
//! skb (generic) mode, which works on any interface (veth included).
//!
//! Two differences from libpcap, on purpose and documented in the README:
//! - the XDP program cannot run a classic BPF expression, so `-F` is compiled by libpcap
//!   and run in user space on each frame before decoding ([`BpfFilter`]): frames the
//!   filter rejects still cross into user space, and are counted as `filtered`;
//! - redirected packets do not reach the host's network stack: capture on a monitoring
//!   interface (a span port, a tap), not on one the host itself uses.

use std::ffi::{c_char, c_int, c_void};
use std::fs;
use std::num::NonZeroU32;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Once;

use dissectors::Timestamp;
use xsk_rs::config::{
    BindFlags, FrameSize, Interface, LibxdpFlags, QueueSize, SocketConfig, UmemConfig, XdpFlags,
};
use xsk_rs::{CompQueue, FillQueue, FrameDesc, RxQueue, Socket, TxQueue, Umem};

use super::{
    wall_clock, BpfFilter, KernelStats, LinkType, LiveError, LiveOptions, LivePacket, LiveSource,
    XdpMode,
};

/// Bytes per UMEM frame: one page, so a frame holds any packet of an MTU up to about
/// 3800 bytes (the rest is the kernel's headroom); larger packets are dropped by the
/// kernel and counted.
const FRAME_SIZE: u32 = 4096;
/// Frames per queue: bounds of the number derived from the capture buffer size.
const MIN_FRAMES: u32 = 2048;
const MAX_FRAMES: u32 = 1 << 16;
/// We never transmit, but a socket always has a TX ring and the UMEM a completion ring.
const TX_RING: u32 = 64;
/// Descriptors taken off the RX ring at most per read.
const BATCH_DESCS: usize = 256;

/// One way of attaching a socket, tried in the order of [`XdpMode::Auto`].
struct Attempt {
    mode: XdpMode,
    method: &'static str,
    xdp: XdpFlags,
    bind: BindFlags,
}

const ATTEMPTS: [Attempt; 3] = [
    Attempt {
        mode: XdpMode::ZeroCopy,
        method: "af_xdp native zero-copy",
        xdp: XdpFlags::XDP_FLAGS_DRV_MODE,
        bind: BindFlags::XDP_ZEROCOPY,
    },
    Attempt {
        mode: XdpMode::DriverCopy,
        method: "af_xdp native copy",
        xdp: XdpFlags::XDP_FLAGS_DRV_MODE,
        bind: BindFlags::XDP_COPY,
    },
    Attempt {
        mode: XdpMode::Skb,
        method: "af_xdp skb copy",
        xdp: XdpFlags::XDP_FLAGS_SKB_MODE,
        bind: BindFlags::XDP_COPY,
    },
];

/// An AF_XDP socket on one receive queue of an interface.
pub struct XdpSocket {
    interface: String,
    method: &'static str,
    umem: Umem,
    rx: RxQueue,
    fill: FillQueue,
    /// Held because the socket lives as long as any of its rings.
    _tx: TxQueue,
    _completion: CompQueue,
    /// Scratch descriptors for one batch taken off the RX ring.
    batch: Vec<FrameDesc>,
    filter: Option<BpfFilter>,
    received: u64,
    filtered: u64,
    /// The time given to the last packet read (see `next_batch`).
    last_ts: Timestamp,
}

/// The time of a batch's first packet: the clock's, but always after the last packet read
/// (the wall clock may step back).
fn first_stamp(now: Timestamp, last: Timestamp) -> Timestamp {
    now.max(Timestamp(last.0.saturating_add(1)))
}

/// The receive queues of an interface, from sysfs (`queues/rx-N`).
fn rx_queue_count(interface: &str) -> Result<u32, String> {
    let dir = format!("/sys/class/net/{interface}/queues");
    let entries = fs::read_dir(&dir).map_err(|e| format!("no such interface ({dir}: {e})"))?;
    let count = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("rx-"))
        .count();
    Ok((count as u32).max(1))
}

/// Frames per queue: as many as `buffer_bytes` (the memory libpcap's kernel buffer gets)
/// holds, rounded to a power of two, the size of the fill and RX rings, so that they
/// always have room for every frame.
fn frames_for(buffer_bytes: i32) -> u32 {
    let wanted = (buffer_bytes.max(0) as u32) / FRAME_SIZE;
    wanted.clamp(MIN_FRAMES, MAX_FRAMES).next_power_of_two()
}

fn queue_size(n: u32) -> QueueSize {
    QueueSize::new(n).expect("ring sizes here are powers of two")
}

/// libbpf's message printer (libbpf is linked statically through libxdp-sys, which binds
/// only libxdp's): `fmt` is a printf format and the last argument its `va_list`.
type LibbpfPrint = unsafe extern "C" fn(c_int, *const c_char, *mut c_void) -> c_int;

extern "C" {
    fn libbpf_set_print(print: Option<LibbpfPrint>) -> Option<LibbpfPrint>;
}

/// Silences libbpf and libxdp, which print warnings on stderr while loading the XDP
/// program (sections they skip, no bpffs to pin the dispatcher in); what fails reaches
/// the user as our error, with its errno.
fn silence_libraries() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: both setters only store the pointer, NULL meaning "print nothing", as
        // documented in libbpf.h and libxdp.h; the previous printers are not used again.
        unsafe {
            libbpf_set_print(None);
            libxdp_sys::libxdp_set_print(None);
        }
    });
}

/// Opens one socket per receive queue of `interface`. The first queue settles the mode
/// (the XDP program is attached once per interface); the others use the same.
pub(super) fn open_queues(
    interface: &str,
    mode: XdpMode,
    options: &LiveOptions,
) -> Result<Vec<XdpSocket>, LiveError> {
    let fail = |message: String| LiveError {
        interface: interface.to_string(),
        message,
    };
    let queues = rx_queue_count(interface).map_err(fail)?;
    silence_libraries();
    let frames = frames_for(options.buffer_bytes);
    let mut failures = Vec::new();
    let mut sockets = Vec::with_capacity(queues as usize);
    for attempt in ATTEMPTS
        .iter()
        .filter(|a| mode == XdpMode::Auto || a.mode == mode)
    {
        match XdpSocket::open(interface, 0, attempt, frames, options) {
            Ok(s) => {
                sockets.push(s);
                for queue in 1..queues {
                    sockets.push(
                        XdpSocket::open(interface, queue, attempt, frames, options)
                            .map_err(|e| fail(format!("queue {queue}: {e}")))?,
                    );
                }
                return Ok(sockets);
            }
            Err(e) => failures.push(format!("{}: {e}", attempt.method)),
        }
    }
    Err(fail(format!(
        "cannot open an AF_XDP socket ({}); AF_XDP needs root (CAP_NET_ADMIN, CAP_NET_RAW, \
         CAP_BPF) and a kernel with XDP sockets",
        failures.join("; ")
    )))
}

impl XdpSocket {
    fn open(
        interface: &str,
        queue: u32,
        attempt: &Attempt,
        frames: u32,
        options: &LiveOptions,
    ) -> Result<Self, String> {
        let filter = options
            .filter
            .as_deref()
            .map(|expr| BpfFilter::compile(expr, LinkType::ETHERNET, options.snaplen))
            .transpose()?;
        let umem_config = UmemConfig::builder()
            .frame_size(FrameSize::new(FRAME_SIZE).map_err(|e| e.to_string())?)
            .fill_queue_size(queue_size(frames))
            .comp_queue_size(queue_size(TX_RING))
            .build()
            .map_err(|e| e.to_string())?;
        let count = NonZeroU32::new(frames).expect("at least MIN_FRAMES");
        let (umem, mut descs) =
            Umem::new(umem_config, count, false).map_err(|e| with_source("UMEM", &e))?;
        let socket_config = SocketConfig::builder()
            .rx_queue_size(queue_size(frames))
            .tx_queue_size(queue_size(TX_RING))
            .libxdp_flags(LibxdpFlags::empty())
            .xdp_flags(attempt.xdp)
            .bind_flags(attempt.bind)
            .build();
        let name: Interface = interface
            .parse()
            .map_err(|_| "name contains a NUL byte".to_string())?;
        // SAFETY: each UMEM here serves one socket, so the (interface, queue) pair is bound
        // to for the first time from this UMEM and libxdp may load its program (the
        // INHIBIT_PROG_LOAD flag is needed only when sharing a UMEM on a bound pair).
        let (tx, rx, rings) = unsafe { Socket::new(socket_config, &umem, &name, queue) }
            .map_err(|e| with_source("socket", &e))?;
        let (mut fill, completion) =
            rings.ok_or("libxdp returned no fill ring for a UMEM of its own")?;
        // SAFETY: the descriptors are the UMEM's own frames, none of which is in a ring
        // yet; the fill ring has room for all of them (same size as the frame count).
        let filled = unsafe { fill.produce(&descs) };
        if filled != descs.len() {
            return Err(format!("fill ring took {filled} of {} frames", descs.len()));
        }
        descs.truncate(BATCH_DESCS);
        Ok(XdpSocket {
            interface: interface.to_string(),
            method: attempt.method,
            umem,
            rx,
            fill,
            _tx: tx,
            _completion: completion,
            batch: descs,
            filter,
            received: 0,
            filtered: 0,
            last_ts: Timestamp(i64::MIN / 2),
        })
    }
}

fn with_source(what: &str, e: &dyn std::error::Error) -> String {
    match e.source() {
        Some(cause) => format!("{what}: {e}: {cause}"),
        None => format!("{what}: {e}"),
    }
}

impl LiveSource for XdpSocket {
    fn interface(&self) -> &str {
        &self.interface
    }

    fn method(&self) -> &str {
        self.method
    }

    fn link(&self) -> LinkType {
        LinkType::ETHERNET
    }

    fn read_batch(
        &mut self,
        max: usize,
        each: &mut dyn FnMut(&LivePacket<'_>),
    ) -> Result<usize, LiveError> {
        let want = max.min(self.batch.len());
        // SAFETY: `batch` holds plain descriptors that `consume` overwrites with the ones
        // the kernel put on this socket's RX ring.
        let taken = unsafe { self.rx.consume(&mut self.batch[..want]) };
        if taken == 0 {
            return Ok(0);
        }
        // AF_XDP gives no capture time: a batch is stamped when it is read, and each of its
        // packets one microsecond after the one before (never at or before the last packet
        // read). They arrived one after another: a DNS reply read in its query's batch with
        // the query's time made a connection of no duration, whose byte counts Zeek leaves
        // unset.
        let mut ts = first_stamp(wall_clock(), self.last_ts);
        for desc in &self.batch[..taken] {
            // SAFETY: the descriptor came off this socket's RX ring, so it names a frame of
            // this UMEM, owned by user space until it is put back on the fill ring below;
            // the slice is lent to `each` for the call only (its lifetime is the call's), so
            // no borrow of the frame outlives this loop.
            let data = unsafe { self.umem.data(desc) }.contents();
            self.received += 1;
            if let Some(f) = &self.filter {
                if !f.matches(data, data.len() as u32) {
                    self.filtered += 1;
                    continue;
                }
            }
            each(&LivePacket {
                ts,
                data,
                wire_len: data.len() as u32,
            });
            self.last_ts = ts;
            ts = Timestamp(ts.0 + 1);
        }
        // SAFETY: these frames came off the RX ring and nothing borrows them any more.
        // The fill ring has as many slots as the UMEM has frames, so it has room for every
        // frame user space holds: they all go back.
        let returned = unsafe { self.fill.produce(&self.batch[..taken]) };
        debug_assert_eq!(returned, taken, "the fill ring holds every frame");
        Ok(taken)
    }

    fn wait_fd(&self) -> RawFd {
        self.rx.fd().as_raw_fd()
    }

    fn kernel_stats(&self) -> Option<KernelStats> {
        let s = self.rx.fd().xdp_statistics().ok()?;
        Some(KernelStats {
            received: self.received,
            // A packet too big for a frame or finding no free frame counts in rx_dropped;
            // one finding the RX ring full, in rx_ring_full.
            dropped: s.rx_dropped() + s.rx_ring_full(),
            if_dropped: 0,
            filtered: self.filtered,
            fill_ring_empty: s.rx_fill_ring_empty_descs(),
            invalid_descs: s.rx_invalid_descs(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_starts_after_the_last_packet_read() {
        let at = |us| Timestamp(us);
        assert_eq!(first_stamp(at(100), at(50)), at(100));
        // Read within the same microsecond, or after the clock stepped back.
        assert_eq!(first_stamp(at(100), at(100)), at(101));
        assert_eq!(first_stamp(at(100), at(200)), at(201));
        assert_eq!(first_stamp(at(5), at(i64::MIN / 2)), at(5));
    }

    #[test]
    fn frames_are_a_power_of_two_within_bounds() {
        assert_eq!(frames_for(64 << 20), 16_384);
        assert_eq!(frames_for(0), MIN_FRAMES);
        assert_eq!(frames_for(-1), MIN_FRAMES);
        assert_eq!(frames_for(i32::MAX), MAX_FRAMES);
        assert_eq!(frames_for(3 << 22), 4096);
        assert_eq!(frames_for(5 << 22), 8192);
    }

    #[test]
    fn loopback_has_a_receive_queue_and_unknown_interfaces_are_named() {
        assert!(rx_queue_count("lo").expect("lo exists") >= 1);
        let err = rx_queue_count("no-such-if0").expect_err("must fail");
        assert!(err.contains("no such interface"), "{err}");
    }

    #[test]
    fn an_impossible_mode_reports_every_failure() {
        // Loopback has no native XDP driver mode; without root nothing opens at all.
        let options = LiveOptions::default();
        let err = open_queues("lo", XdpMode::ZeroCopy, &options)
            .err()
            .expect("zero copy on loopback must fail");
        assert_eq!(err.interface, "lo");
        assert!(
            err.message.contains("af_xdp native zero-copy: "),
            "{}",
            err.message
        );
    }

    /// A veth pair of the test's own, deleted when dropped.
    struct VethPair(&'static str);

    impl VethPair {
        fn create(near: &'static str, far: &str) -> Self {
            let _ = ip(&["link", "del", near]);
            ip(&["link", "add", near, "type", "veth", "peer", "name", far]).expect("veth");
            let pair = VethPair(near);
            for end in [near, far] {
                // No IPv6 on the link: the kernel's own neighbour discovery would join in.
                fs::write(format!("/proc/sys/net/ipv6/conf/{end}/disable_ipv6"), "1")
                    .expect("disable IPv6");
                ip(&["link", "set", end, "up"]).expect("link up");
            }
            pair
        }
    }

    impl Drop for VethPair {
        fn drop(&mut self) {
            let _ = ip(&["link", "del", self.0]);
        }
    }

    fn ip(args: &[&str]) -> Result<(), String> {
        let out = std::process::Command::new("ip")
            .args(args)
            .output()
            .map_err(|e| format!("ip: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// Sends Ethernet frames out of `interface` through a packet socket.
    fn send_frames(interface: &str, frames: &[Vec<u8>]) {
        let name = std::ffi::CString::new(interface).expect("name");
        // SAFETY: plain socket creation; the descriptor is closed below.
        let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW, 0) };
        assert!(
            fd >= 0,
            "packet socket: {}",
            std::io::Error::last_os_error()
        );
        // SAFETY: sockaddr_ll is plain data, valid when zeroed.
        let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        addr.sll_family = libc::AF_PACKET as u16;
        // SAFETY: a NUL-terminated name.
        addr.sll_ifindex = unsafe { libc::if_nametoindex(name.as_ptr()) } as i32;
        addr.sll_halen = 6;
        for frame in frames {
            // SAFETY: the frame's bytes and the address are valid for the call, with their
            // true lengths.
            let sent = unsafe {
                libc::sendto(
                    fd,
                    frame.as_ptr().cast(),
                    frame.len(),
                    0,
                    (&addr as *const libc::sockaddr_ll).cast(),
                    std::mem::size_of::<libc::sockaddr_ll>() as u32,
                )
            };
            assert_eq!(
                sent,
                frame.len() as isize,
                "{}",
                std::io::Error::last_os_error()
            );
        }
        // SAFETY: closing the descriptor opened above, once.
        unsafe { libc::close(fd) };
    }

    /// An Ethernet frame with an IPv4/UDP datagram to `port` whose payload is `marker`.
    fn udp_frame(port: u16, marker: u32) -> Vec<u8> {
        let mut f = vec![0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x00];
        f.extend_from_slice(&[0x45, 0, 0, 32, 0, 0, 0x40, 0, 64, 17, 0, 0]);
        f.extend_from_slice(&[10, 9, 0, 1, 10, 9, 0, 2]);
        f.extend_from_slice(&40000u16.to_be_bytes());
        f.extend_from_slice(&port.to_be_bytes());
        f.extend_from_slice(&[0, 12, 0, 0]);
        f.extend_from_slice(&marker.to_be_bytes());
        f
    }

    /// Frames sent into one end of a veth pair arrive, whole and in order, through an
    /// AF_XDP socket in skb mode on the other end, filtered by a BPF expression. Needs root
    /// (a veth pair, an XDP program): without it the refusal must say so.
    #[test]
    fn captures_frames_sent_into_a_veth() {
        let options = LiveOptions {
            filter: Some("udp port 9".into()),
            ..LiveOptions::default()
        };
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            let err = open_queues("lo", XdpMode::Skb, &options)
                .err()
                .expect("AF_XDP needs privileges");
            assert!(err.message.contains("not permitted"), "{}", err.message);
            return;
        }
        let _pair = VethPair::create("slipxdpt0", "slipxdpt1");
        let mut sockets = open_queues("slipxdpt0", XdpMode::Skb, &options).expect("open");
        assert_eq!(sockets[0].method(), "af_xdp skb copy");
        let wanted: Vec<Vec<u8>> = (0..100).map(|i| udp_frame(9, 0x5eed_0000 + i)).collect();
        let unwanted: Vec<Vec<u8>> = (0..10).map(|i| udp_frame(10, i)).collect();
        send_frames("slipxdpt1", &unwanted);
        send_frames("slipxdpt1", &wanted);
        let mut seen = Vec::new();
        for _ in 0..100 {
            for s in sockets.iter_mut() {
                let mut pfd = libc::pollfd {
                    fd: s.wait_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                };
                // SAFETY: one valid pollfd; poll only reads and writes that struct.
                unsafe { libc::poll(&mut pfd, 1, 20) };
                s.read_batch(64, &mut |p| seen.push(p.data.to_vec()))
                    .expect("read");
            }
            if seen.len() >= wanted.len() {
                break;
            }
        }
        assert_eq!(seen, wanted);
        let stats = sockets[0].kernel_stats().expect("ring statistics");
        assert_eq!(stats.dropped, 0);
        assert!(stats.filtered >= 10, "{stats:?}");
        assert_eq!(stats.received, stats.filtered + 100);
    }

    #[test]
    fn unknown_interface_is_a_clear_error() {
        let err = open_queues("no-such-if0", XdpMode::Auto, &LiveOptions::default())
            .err()
            .expect("must fail");
        assert_eq!(err.interface, "no-such-if0");
        assert!(err.message.contains("no such interface"), "{}", err.message);
    }
}

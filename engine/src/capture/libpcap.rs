//! Live capture through libpcap, loaded at run time: the binary builds and runs without
//! libpcap's development files, and needs the library (Debian's `libpcap0.8`) only when
//! asked to capture from an interface.

use std::ffi::{c_char, c_int, c_uchar, c_uint, c_void, CStr, CString};
use std::fmt;
use std::os::fd::RawFd;
use std::sync::Arc;

use dissectors::Timestamp;
use libloading::Library;

use super::{Backend, LinkType, LiveSource};

/// Why a live capture could not be opened or read, naming the interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveError {
    pub interface: String,
    pub message: String,
}

impl fmt::Display for LiveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "interface {}: {}", self.interface, self.message)
    }
}

impl std::error::Error for LiveError {}

#[derive(Clone, Debug)]
pub struct LiveOptions {
    pub snaplen: i32,
    pub promiscuous: bool,
    /// Kernel buffer size in bytes.
    pub buffer_bytes: i32,
    /// How long a read waits for packets before returning, so a stop request is seen.
    pub timeout_ms: i32,
    /// A BPF filter expression (`-F`): run in the kernel by libpcap, in user space before
    /// decoding by AF_XDP (see [`BpfFilter`]).
    pub filter: Option<String>,
    pub backend: Backend,
}

impl Default for LiveOptions {
    fn default() -> Self {
        LiveOptions {
            snaplen: 65_535,
            promiscuous: true,
            buffer_bytes: 64 << 20,
            timeout_ms: 100,
            filter: None,
            backend: Backend::Pcap,
        }
    }
}

/// Counters the kernel keeps for a live source: libpcap's statistics, or an AF_XDP
/// socket's ring statistics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KernelStats {
    /// libpcap: packets that passed the filter; AF_XDP: packets taken from the ring.
    pub received: u64,
    /// Dropped by the kernel because the buffer (AF_XDP: a ring or the frames) was full,
    /// or the packet did not fit.
    pub dropped: u64,
    /// Dropped by the interface or its driver.
    pub if_dropped: u64,
    /// AF_XDP: packets the user-space BPF filter rejected (libpcap filters in the kernel).
    pub filtered: u64,
    /// AF_XDP: times the kernel found the fill ring empty (the packet is then among
    /// `dropped`): user space returns frames too slowly.
    pub fill_ring_empty: u64,
    /// AF_XDP: descriptors the kernel found invalid.
    pub invalid_descs: u64,
}

impl KernelStats {
    /// Adds another source's counters (the queues of one interface).
    pub fn add(&mut self, other: &KernelStats) {
        self.received += other.received;
        self.dropped += other.dropped;
        self.if_dropped += other.if_dropped;
        self.filtered += other.filtered;
        self.fill_ring_empty += other.fill_ring_empty;
        self.invalid_descs += other.invalid_descs;
    }
}

#[repr(C)]
struct Timeval {
    sec: i64,
    usec: i64,
}

#[repr(C)]
struct PktHdr {
    ts: Timeval,
    caplen: u32,
    len: u32,
}

#[repr(C)]
struct BpfProgram {
    len: c_uint,
    insns: *mut c_void,
}

#[repr(C)]
#[derive(Default)]
struct PcapStat {
    recv: c_uint,
    drop: c_uint,
    ifdrop: c_uint,
}

type Handle = *mut c_void;

/// The libpcap functions we call, with their C signatures (libpcap's stable ABI).
struct Api {
    create: unsafe extern "C" fn(*const c_char, *mut c_char) -> Handle,
    set_snaplen: unsafe extern "C" fn(Handle, c_int) -> c_int,
    set_promisc: unsafe extern "C" fn(Handle, c_int) -> c_int,
    set_timeout: unsafe extern "C" fn(Handle, c_int) -> c_int,
    set_buffer_size: unsafe extern "C" fn(Handle, c_int) -> c_int,
    activate: unsafe extern "C" fn(Handle) -> c_int,
    geterr: unsafe extern "C" fn(Handle) -> *const c_char,
    datalink: unsafe extern "C" fn(Handle) -> c_int,
    compile: unsafe extern "C" fn(Handle, *mut BpfProgram, *const c_char, c_int, u32) -> c_int,
    setfilter: unsafe extern "C" fn(Handle, *mut BpfProgram) -> c_int,
    freecode: unsafe extern "C" fn(*mut BpfProgram),
    next_ex: unsafe extern "C" fn(Handle, *mut *const PktHdr, *mut *const c_uchar) -> c_int,
    stats: unsafe extern "C" fn(Handle, *mut PcapStat) -> c_int,
    setnonblock: unsafe extern "C" fn(Handle, c_int, *mut c_char) -> c_int,
    get_selectable_fd: unsafe extern "C" fn(Handle) -> c_int,
    close: unsafe extern "C" fn(Handle),
    open_dead: unsafe extern "C" fn(c_int, c_int) -> Handle,
    offline_filter: unsafe extern "C" fn(*const BpfProgram, *const PktHdr, *const c_uchar) -> c_int,
    /// Keeps the library loaded while the function pointers above are in use.
    _library: Arc<Library>,
}

const LIBRARY_NAMES: &[&str] = &[
    "libpcap.so.1",
    "libpcap.so.0.8",
    "libpcap.so",
    "libpcap.dylib",
];

fn load_api() -> Result<Api, String> {
    let mut last = String::new();
    for name in LIBRARY_NAMES {
        // SAFETY: loading libpcap runs only its ELF constructors, which have no
        // preconditions on our side.
        match unsafe { Library::new(name) } {
            Ok(lib) => return bind(Arc::new(lib)).map_err(|e| format!("{name}: {e}")),
            Err(e) => last = e.to_string(),
        }
    }
    Err(format!(
        "libpcap not found ({last}); install it (Debian: apt-get install libpcap0.8)"
    ))
}

fn bind(lib: Arc<Library>) -> Result<Api, libloading::Error> {
    // SAFETY: each symbol is looked up by its libpcap name and given the function type
    // of its declaration in pcap/pcap.h; the pointers stay valid because `Api` holds the
    // library.
    unsafe {
        macro_rules! sym {
            ($name:literal) => {
                *lib.get(concat!($name, "\0").as_bytes())?
            };
        }
        Ok(Api {
            create: sym!("pcap_create"),
            set_snaplen: sym!("pcap_set_snaplen"),
            set_promisc: sym!("pcap_set_promisc"),
            set_timeout: sym!("pcap_set_timeout"),
            set_buffer_size: sym!("pcap_set_buffer_size"),
            activate: sym!("pcap_activate"),
            geterr: sym!("pcap_geterr"),
            datalink: sym!("pcap_datalink"),
            compile: sym!("pcap_compile"),
            setfilter: sym!("pcap_setfilter"),
            freecode: sym!("pcap_freecode"),
            next_ex: sym!("pcap_next_ex"),
            stats: sym!("pcap_stats"),
            setnonblock: sym!("pcap_setnonblock"),
            get_selectable_fd: sym!("pcap_get_selectable_fd"),
            close: sym!("pcap_close"),
            open_dead: sym!("pcap_open_dead"),
            offline_filter: sym!("pcap_offline_filter"),
            _library: lib.clone(),
        })
    }
}

/// A packet just captured, borrowed until the next read.
pub struct LivePacket<'a> {
    pub ts: Timestamp,
    pub data: &'a [u8],
    pub wire_len: u32,
}

/// An open live capture on one interface.
pub struct LiveCapture {
    api: Api,
    handle: Handle,
    interface: String,
    link: LinkType,
    /// Descriptor to wait on: libpcap's own read timeout is not honoured on Linux when
    /// no packet arrives, so reads are non-blocking and the pipeline polls this.
    fd: c_int,
}

// SAFETY: a pcap_t may be used from any thread as long as one thread at a time uses it;
// `LiveCapture` is only used through `&mut self` (or `&self` for statistics, which
// libpcap reads without touching the capture buffer).
unsafe impl Send for LiveCapture {}

impl LiveCapture {
    pub fn open(interface: &str, options: &LiveOptions) -> Result<Self, LiveError> {
        let fail = |message: String| LiveError {
            interface: interface.to_string(),
            message,
        };
        let api = load_api().map_err(fail)?;
        let name = CString::new(interface).map_err(|_| fail("name contains a NUL byte".into()))?;
        let mut errbuf = [0 as c_char; 512];
        // SAFETY: `name` is NUL-terminated and errbuf is larger than PCAP_ERRBUF_SIZE.
        let handle = unsafe { (api.create)(name.as_ptr(), errbuf.as_mut_ptr()) };
        if handle.is_null() {
            // SAFETY: libpcap wrote a NUL-terminated message into errbuf.
            let msg = unsafe { CStr::from_ptr(errbuf.as_ptr()) }
                .to_string_lossy()
                .into_owned();
            return Err(fail(msg));
        }
        let mut capture = LiveCapture {
            api,
            handle,
            interface: interface.to_string(),
            link: LinkType::ETHERNET,
            fd: -1,
        };
        // SAFETY: the handle was just created and is not activated yet, which is when
        // these setters are valid.
        unsafe {
            (capture.api.set_snaplen)(handle, options.snaplen);
            (capture.api.set_promisc)(handle, c_int::from(options.promiscuous));
            (capture.api.set_timeout)(handle, options.timeout_ms);
            (capture.api.set_buffer_size)(handle, options.buffer_bytes);
        }
        // SAFETY: activating a created handle.
        let status = unsafe { (capture.api.activate)(handle) };
        if status < 0 {
            return Err(fail(capture.last_error_or(status)));
        }
        // SAFETY: the handle is active.
        capture.link = LinkType(unsafe { (capture.api.datalink)(handle) } as u32);
        // SAFETY: valid active handle; errbuf as above.
        if unsafe { (capture.api.setnonblock)(handle, 1, errbuf.as_mut_ptr()) } < 0 {
            return Err(fail(capture.last_error_or(-1)));
        }
        // SAFETY: valid active handle.
        capture.fd = unsafe { (capture.api.get_selectable_fd)(handle) };
        if let Some(expr) = &options.filter {
            capture.set_filter(expr)?;
        }
        Ok(capture)
    }

    fn last_error_or(&self, status: c_int) -> String {
        // SAFETY: pcap_geterr returns a pointer to the handle's NUL-terminated message
        // buffer, valid until the next call on the handle.
        let p = unsafe { (self.api.geterr)(self.handle) };
        let msg = if p.is_null() {
            String::new()
        } else {
            // SAFETY: see above.
            unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
        };
        if msg.is_empty() {
            format!("libpcap error {status}")
        } else {
            msg
        }
    }

    fn set_filter(&mut self, expr: &str) -> Result<(), LiveError> {
        let fail = |message: String| LiveError {
            interface: self.interface.clone(),
            message,
        };
        let c_expr = CString::new(expr).map_err(|_| fail("filter contains a NUL byte".into()))?;
        let mut program = BpfProgram {
            len: 0,
            insns: std::ptr::null_mut(),
        };
        const NETMASK_UNKNOWN: u32 = 0xffff_ffff;
        // SAFETY: valid handle, NUL-terminated expression, program struct to fill.
        let compiled = unsafe {
            (self.api.compile)(
                self.handle,
                &mut program,
                c_expr.as_ptr(),
                1,
                NETMASK_UNKNOWN,
            )
        };
        if compiled < 0 {
            return Err(fail(format!(
                "bad filter {expr:?}: {}",
                self.last_error_or(compiled)
            )));
        }
        // SAFETY: the program was compiled for this handle; it is freed right after the
        // kernel has its own copy.
        let set = unsafe { (self.api.setfilter)(self.handle, &mut program) };
        // SAFETY: freeing the program compiled above exactly once.
        unsafe { (self.api.freecode)(&mut program) };
        if set < 0 {
            return Err(fail(format!(
                "cannot set filter {expr:?}: {}",
                self.last_error_or(set)
            )));
        }
        Ok(())
    }

    pub fn interface(&self) -> &str {
        &self.interface
    }

    pub fn link(&self) -> LinkType {
        self.link
    }

    /// The next packet if one is ready, without waiting (the handle is non-blocking).
    fn try_next_packet(&mut self) -> Result<Option<LivePacket<'_>>, LiveError> {
        let mut header: *const PktHdr = std::ptr::null();
        let mut data: *const c_uchar = std::ptr::null();
        // SAFETY: valid active handle and out-pointers; libpcap sets them on success.
        let status = unsafe { (self.api.next_ex)(self.handle, &mut header, &mut data) };
        match status {
            1 if !header.is_null() && !data.is_null() => {
                // SAFETY: on success libpcap points `header` at a valid pcap_pkthdr and
                // `data` at `caplen` bytes, both valid until the next call on this handle,
                // which `&mut self` (the borrow the packet keeps) prevents.
                let (h, bytes) = unsafe {
                    let h = &*header;
                    (h, std::slice::from_raw_parts(data, h.caplen as usize))
                };
                Ok(Some(LivePacket {
                    ts: Timestamp::from_secs_micros(h.ts.sec, h.ts.usec),
                    data: bytes,
                    wire_len: h.len.max(h.caplen),
                }))
            }
            0 | 1 => Ok(None),
            s => Err(LiveError {
                interface: self.interface.clone(),
                message: self.last_error_or(s),
            }),
        }
    }

    pub fn kernel_stats(&self) -> Option<KernelStats> {
        let mut st = PcapStat::default();
        // SAFETY: valid handle and a pcap_stat to fill.
        let ok = unsafe { (self.api.stats)(self.handle, &mut st) } == 0;
        ok.then_some(KernelStats {
            received: u64::from(st.recv),
            dropped: u64::from(st.drop),
            if_dropped: u64::from(st.ifdrop),
            ..KernelStats::default()
        })
    }
}

impl LiveSource for LiveCapture {
    fn interface(&self) -> &str {
        &self.interface
    }

    fn method(&self) -> &str {
        "pcap"
    }

    fn link(&self) -> LinkType {
        self.link
    }

    fn read_batch(
        &mut self,
        max: usize,
        each: &mut dyn FnMut(&LivePacket<'_>),
    ) -> Result<usize, LiveError> {
        let mut read = 0;
        while read < max {
            match self.try_next_packet()? {
                Some(p) => each(&p),
                None => break,
            }
            read += 1;
        }
        Ok(read)
    }

    fn wait_fd(&self) -> RawFd {
        self.fd
    }

    fn kernel_stats(&self) -> Option<KernelStats> {
        LiveCapture::kernel_stats(self)
    }
}

impl Drop for LiveCapture {
    fn drop(&mut self) {
        // SAFETY: the handle is valid and closed exactly once.
        unsafe { (self.api.close)(self.handle) };
    }
}

/// A BPF filter expression compiled by libpcap and run in user space on each packet
/// (`pcap_offline_filter`): for capture back-ends whose kernel side cannot run classic
/// BPF (AF_XDP's XDP program is eBPF).
pub struct BpfFilter {
    api: Api,
    program: BpfProgram,
}

// SAFETY: the compiled program is plain memory owned by this value; `pcap_offline_filter`
// only reads it, and it is freed once, on drop.
unsafe impl Send for BpfFilter {}

impl BpfFilter {
    /// Compiles `expr` for packets of `link` type, as libpcap compiles `-F` for a capture.
    pub fn compile(expr: &str, link: LinkType, snaplen: i32) -> Result<Self, String> {
        let api = load_api()?;
        let c_expr = CString::new(expr).map_err(|_| "filter contains a NUL byte".to_string())?;
        // SAFETY: pcap_open_dead takes plain integers and returns a handle (or NULL) that
        // only serves to compile for that link type.
        let dead = unsafe { (api.open_dead)(link.0 as c_int, snaplen) };
        if dead.is_null() {
            return Err("libpcap could not set up a filter compiler".into());
        }
        let mut program = BpfProgram {
            len: 0,
            insns: std::ptr::null_mut(),
        };
        const NETMASK_UNKNOWN: u32 = 0xffff_ffff;
        // SAFETY: valid handle, NUL-terminated expression, program struct to fill.
        let compiled =
            unsafe { (api.compile)(dead, &mut program, c_expr.as_ptr(), 1, NETMASK_UNKNOWN) };
        let result = if compiled < 0 {
            // SAFETY: pcap_geterr points at the handle's NUL-terminated message, read
            // before the handle is closed.
            let msg = unsafe { CStr::from_ptr((api.geterr)(dead)) }
                .to_string_lossy()
                .into_owned();
            Err(format!("bad filter {expr:?}: {msg}"))
        } else {
            Ok(())
        };
        // SAFETY: the dead handle is closed once; the compiled program does not refer to it.
        unsafe { (api.close)(dead) };
        result.map(|()| BpfFilter { api, program })
    }

    /// Whether the filter accepts the packet (`data`: the captured bytes).
    pub fn matches(&self, data: &[u8], wire_len: u32) -> bool {
        let header = PktHdr {
            ts: Timeval { sec: 0, usec: 0 },
            caplen: data.len() as u32,
            len: wire_len.max(data.len() as u32),
        };
        // SAFETY: a compiled program, a header whose caplen is the length of `data`; the
        // interpreter reads at most caplen bytes and only for the call.
        unsafe { (self.api.offline_filter)(&self.program, &header, data.as_ptr()) != 0 }
    }
}

impl Drop for BpfFilter {
    fn drop(&mut self) {
        // SAFETY: the program compiled in `compile`, freed exactly once.
        unsafe { (self.api.freecode)(&mut self.program) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_interface_is_a_clear_error() {
        let err = LiveCapture::open("no-such-interface0", &LiveOptions::default())
            .err()
            .expect("must fail");
        assert_eq!(err.interface, "no-such-interface0");
        assert!(!err.message.is_empty());
    }

    /// Captures a datagram sent on the loopback interface. Capturing needs CAP_NET_RAW:
    /// without it the test checks that the refusal is reported as such.
    #[test]
    fn captures_loopback_traffic() {
        let options = LiveOptions {
            filter: Some("udp port 47999".into()),
            timeout_ms: 50,
            ..LiveOptions::default()
        };
        let mut cap = match LiveCapture::open("lo", &options) {
            Ok(c) => c,
            Err(e) => {
                assert!(
                    e.message.contains("ermission") || e.message.contains("not permitted"),
                    "unexpected failure: {e}"
                );
                return;
            }
        };
        let sock = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        let mut seen = false;
        for _ in 0..40 {
            sock.send_to(b"slipstream-live-test", "127.0.0.1:47999")
                .expect("send");
            let mut pfd = libc::pollfd {
                fd: cap.wait_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd; poll only reads and writes that struct.
            unsafe { libc::poll(&mut pfd, 1, 50) };
            cap.read_batch(64, &mut |p| {
                if p.data.windows(20).any(|w| w == b"slipstream-live-test") {
                    seen = true;
                }
            })
            .expect("read");
            if seen {
                break;
            }
        }
        assert!(seen, "the datagram was not captured");
        assert!(cap.kernel_stats().is_some());
    }

    /// An Ethernet frame carrying an IPv4 datagram of `proto` from port 40000 to `port`.
    fn frame(proto: u8, port: u16) -> Vec<u8> {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x08, 0x00]);
        f.extend_from_slice(&[0x45, 0, 0, 48, 0, 0, 0x40, 0, 64, proto, 0, 0]);
        f.extend_from_slice(&[10, 0, 0, 1, 10, 0, 0, 2]);
        f.extend_from_slice(&40000u16.to_be_bytes());
        f.extend_from_slice(&port.to_be_bytes());
        f.resize(14 + 48, 0);
        f
    }

    #[test]
    fn user_space_filter_runs_the_compiled_expression() {
        let filter =
            BpfFilter::compile("udp port 53", LinkType::ETHERNET, 65_535).expect("compiles");
        let dns = frame(17, 53);
        assert!(filter.matches(&dns, dns.len() as u32));
        assert!(!filter.matches(&frame(17, 54), 62));
        assert!(!filter.matches(&frame(6, 53), 62));
        // A frame cut before the ports is rejected, not read past its end.
        assert!(!filter.matches(&dns[..30], 62));
    }

    #[test]
    fn bad_filter_is_a_clear_error() {
        let err = BpfFilter::compile("udp port", LinkType::ETHERNET, 65_535)
            .err()
            .expect("must fail");
        assert!(err.starts_with("bad filter \"udp port\": "), "{err}");
        assert!(err.len() > "bad filter \"udp port\": ".len(), "{err}");
    }
}

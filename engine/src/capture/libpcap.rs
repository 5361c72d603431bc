//! Live capture through libpcap, loaded at run time: the binary builds and runs without
//! libpcap's development files, and needs the library (Debian's `libpcap0.8`) only when
//! asked to capture from an interface.

use std::ffi::{c_char, c_int, c_uchar, c_uint, c_void, CStr, CString};
use std::fmt;
use std::sync::Arc;

use dissectors::Timestamp;
use libloading::Library;

use super::LinkType;

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
    /// A BPF filter expression (`-F`), compiled and run in the kernel.
    pub filter: Option<String>,
}

impl Default for LiveOptions {
    fn default() -> Self {
        LiveOptions {
            snaplen: 65_535,
            promiscuous: true,
            buffer_bytes: 64 << 20,
            timeout_ms: 100,
            filter: None,
        }
    }
}

/// Counters libpcap reads from the kernel.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KernelStats {
    pub received: u64,
    /// Dropped by the kernel because the buffer was full.
    pub dropped: u64,
    /// Dropped by the interface or its driver.
    pub if_dropped: u64,
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
    /// no packet arrives, so reads are non-blocking and we poll with our timeout.
    fd: c_int,
    timeout_ms: i32,
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
            timeout_ms: options.timeout_ms,
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

    /// The next packet, or `None` when none came within the read timeout.
    pub fn next_packet(&mut self) -> Result<Option<LivePacket<'_>>, LiveError> {
        let mut header: *const PktHdr = std::ptr::null();
        let mut data: *const c_uchar = std::ptr::null();
        let mut status = 0;
        for attempt in 0..2 {
            // SAFETY: valid active handle and out-pointers; libpcap sets them on success.
            status = unsafe { (self.api.next_ex)(self.handle, &mut header, &mut data) };
            if status != 0 || attempt == 1 || self.fd < 0 {
                break;
            }
            let mut pfd = libc::pollfd {
                fd: self.fd,
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd; poll only reads and writes that struct.
            unsafe { libc::poll(&mut pfd, 1, self.timeout_ms) };
        }
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
        })
    }
}

impl Drop for LiveCapture {
    fn drop(&mut self) {
        // SAFETY: the handle is valid and closed exactly once.
        unsafe { (self.api.close)(self.handle) };
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
            while let Some(p) = cap.next_packet().expect("read") {
                if p.data.windows(20).any(|w| w == b"slipstream-live-test") {
                    seen = true;
                }
            }
            if seen {
                break;
            }
        }
        assert!(seen, "the datagram was not captured");
        assert!(cap.kernel_stats().is_some());
    }
}

//! SQLite's memory from the program's global allocator.
//!
//! The bundled SQLite allocates with the C library's `malloc`. The SQLite writer allocates
//! about once per row it inserts or sorts (sorter records, cursors, statement memory), and
//! on the benchmark capture glibc's malloc and free were a tenth of the writer's
//! instructions; the binary's allocator (mimalloc) serves the same requests for a fraction
//! of that (writer 831.7 -> 790.5 M instructions per 100,000 packets). SQLite's memory
//! statistics, which would add a global mutex to each of these calls, are compiled out
//! (`LIBSQLITE3_FLAGS` in `.cargo/config.toml`).

use std::alloc::Layout;
use std::ffi::{c_int, c_void};

use rusqlite::ffi;

/// Bytes in front of each block: its total size, for `free` and `realloc`, which SQLite
/// calls with the pointer alone. Sixteen keeps the payload 16-byte aligned (SQLite needs 8).
const HEADER: usize = 16;
const ALIGN: usize = 16;

fn layout(total: usize) -> Option<Layout> {
    Layout::from_size_align(total, ALIGN).ok()
}

/// The layout of a block holding `n` bytes for SQLite; `None` for a size of zero or less
/// (SQLite never asks for those) or one too large.
fn layout_for(n: c_int) -> Option<Layout> {
    usize::try_from(n)
        .ok()
        .filter(|&n| n > 0)
        .and_then(|n| layout(n.checked_add(HEADER)?))
}

/// The block whose payload is `p` and its total size.
///
/// # Safety
/// `p` came from `x_malloc` or `x_realloc` and has not been freed.
unsafe fn block(p: *mut c_void) -> (*mut u8, usize) {
    // SAFETY: (caller) `p` is HEADER bytes into a live block whose first word is its size.
    unsafe {
        let base = p.cast::<u8>().sub(HEADER);
        (base, base.cast::<usize>().read())
    }
}

/// Writes the size word of a fresh block of `total` bytes at `base` (null when the
/// allocation failed) and gives SQLite its payload.
///
/// # Safety
/// `base` is null or a block of `total` bytes, 16-aligned, from the global allocator.
unsafe fn payload(base: *mut u8, total: usize) -> *mut c_void {
    if base.is_null() {
        return base.cast();
    }
    // SAFETY: (caller) the block is at least HEADER bytes and 16-aligned: room for the size
    // word, and the payload starts HEADER bytes in, inside the block.
    unsafe {
        base.cast::<usize>().write(total);
        base.add(HEADER).cast()
    }
}

unsafe extern "C" fn x_malloc(n: c_int) -> *mut c_void {
    let Some(layout) = layout_for(n) else {
        return std::ptr::null_mut();
    };
    // SAFETY: the layout has a non-zero size; the result is null or a block of that layout.
    unsafe { payload(std::alloc::alloc(layout), layout.size()) }
}

unsafe extern "C" fn x_free(p: *mut c_void) {
    if p.is_null() {
        return;
    }
    // SAFETY: SQLite frees only what this allocator gave it, once.
    let (base, total) = unsafe { block(p) };
    if let Some(layout) = layout(total) {
        // SAFETY: `base` was allocated with exactly this layout (the size word says so).
        unsafe { std::alloc::dealloc(base, layout) };
    }
}

unsafe extern "C" fn x_realloc(p: *mut c_void, n: c_int) -> *mut c_void {
    if p.is_null() {
        // SAFETY: a plain allocation.
        return unsafe { x_malloc(n) };
    }
    // SQLite never shrinks to nothing through realloc; failing leaves `p` intact.
    let Some(new) = layout_for(n) else {
        return std::ptr::null_mut();
    };
    // SAFETY: `p` is a live block of this allocator (SQLite's contract for xRealloc).
    let (base, old) = unsafe { block(p) };
    let Some(old_layout) = layout(old) else {
        return std::ptr::null_mut();
    };
    // SAFETY: `base` was allocated with `old_layout`; the new size is non-zero and a valid
    // layout size at this alignment (`layout_for`); the result is null or the resized block.
    unsafe {
        payload(
            std::alloc::realloc(base, old_layout, new.size()),
            new.size(),
        )
    }
}

unsafe extern "C" fn x_size(p: *mut c_void) -> c_int {
    if p.is_null() {
        return 0;
    }
    // SAFETY: SQLite asks the size of live blocks of this allocator only.
    let (_, total) = unsafe { block(p) };
    c_int::try_from(total - HEADER).unwrap_or(c_int::MAX)
}

unsafe extern "C" fn x_roundup(n: c_int) -> c_int {
    n.saturating_add(7) & !7
}

unsafe extern "C" fn x_init(_: *mut c_void) -> c_int {
    ffi::SQLITE_OK
}

unsafe extern "C" fn x_shutdown(_: *mut c_void) {}

/// Gives SQLite the global allocator. Returns whether SQLite took it; it refuses once it has been initialized (any connection opened), and
/// then keeps its defaults, which work the same, only slower.
///
/// Call first thing in `main`, before any thread starts: SQLite's configuration is global
/// and not guarded against a connection being opened at the same time.
pub fn use_global_allocator() -> bool {
    let methods = ffi::sqlite3_mem_methods {
        xMalloc: Some(x_malloc),
        xFree: Some(x_free),
        xRealloc: Some(x_realloc),
        xSize: Some(x_size),
        xRoundup: Some(x_roundup),
        xInit: Some(x_init),
        xShutdown: Some(x_shutdown),
        pAppData: std::ptr::null_mut(),
    };
    // SAFETY: SQLITE_CONFIG_MALLOC takes a pointer to a sqlite3_mem_methods, which SQLite
    // copies before it returns; every function in it keeps SQLite's
    // contract (8-byte aligned blocks, sizes from xSize, null on failure). The caller runs
    // before any other thread could be initializing SQLite.
    unsafe {
        ffi::sqlite3_config(
            ffi::SQLITE_CONFIG_MALLOC,
            &methods as *const ffi::sqlite3_mem_methods,
        ) == ffi::SQLITE_OK
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The functions themselves, without installing them (SQLite's configuration is global
    // to the test process; `tests/sqlite_memory.rs` installs them in a process of its own).
    #[test]
    fn blocks_keep_their_size_through_realloc_and_are_aligned() {
        // SAFETY: each pointer comes from these functions and is freed once.
        unsafe {
            let p = x_malloc(10);
            assert!(!p.is_null());
            assert_eq!(p as usize % 8, 0);
            assert_eq!(x_size(p), 10);
            std::ptr::write_bytes(p.cast::<u8>(), 0xab, 10);
            let q = x_realloc(p, 5000);
            assert_eq!(x_size(q), 5000);
            assert!(std::slice::from_raw_parts(q.cast::<u8>(), 10)
                .iter()
                .all(|&b| b == 0xab));
            let r = x_realloc(q, 3);
            assert_eq!(x_size(r), 3);
            x_free(r);
            assert!(x_malloc(0).is_null());
            assert!(x_malloc(-1).is_null());
            x_free(std::ptr::null_mut());
            assert_eq!(x_size(std::ptr::null_mut()), 0);
            let s = x_realloc(std::ptr::null_mut(), 7);
            assert_eq!(x_size(s), 7);
            x_free(s);
            assert_eq!(x_roundup(13), 16);
        }
    }
}

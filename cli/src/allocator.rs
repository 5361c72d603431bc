//! The binary's allocator (mimalloc) and how it gives memory back.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc 3's `mi_option_t` (include/mimalloc.h of the
/// libmimalloc-sys version in Cargo.lock): milliseconds before freed pages go back to the
/// system (1000 by default). Not among the crate's named constants, which follow mimalloc 2.
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// `mi_option_allow_thp` in the same enum: whether mimalloc asks the kernel for transparent
/// huge pages on its arenas (1 by default).
const ALLOW_THP: libmimalloc_sys::mi_option_t = 43;

/// The environment variable through which mimalloc takes `allow_thp`; when it is set, the
/// user's choice stands.
const ALLOW_THP_VARIABLE: &str = "MIMALLOC_ALLOW_THP";

/// Keeps the process on 4 KiB pages: no transparent huge pages from here on.
///
/// mimalloc advises huge pages on its arenas, and a partly used or purged 2 MiB page is
/// still a whole 2 MiB resident, zeroed again by the kernel each time it comes back. On the
/// benchmark capture (1 worker) peak RSS went from 90 to 58 MiB (conn.log only), 110 to
/// 74 MiB (every log) and 190 to 163 MiB (with the analysis), at the same speed over ten
/// alternating runs. `MIMALLOC_ALLOW_THP=1` in the environment keeps huge pages.
///
/// Call first thing in `main`: pages faulted in before keep their size.
pub fn keep_to_small_pages() {
    if std::env::var_os(ALLOW_THP_VARIABLE).is_some() {
        return;
    }
    // SAFETY: mi_option_set takes any option value and a long; it writes mimalloc's option
    // table, which no other thread reads yet (the caller runs before starting any).
    unsafe { libmimalloc_sys::mi_option_set(ALLOW_THP, 0) };
    // SAFETY: PR_SET_THP_DISABLE takes an integer flag and no pointer; it only sets a flag
    // of this process's memory map that the kernel reads on later page faults. An old
    // kernel without it returns EINVAL, which changes nothing, so the result is ignored.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

/// Makes freed memory go back to the system within [`PROMPT_PURGE_MS`] instead of after
/// mimalloc's delay (a second).
///
/// The analysis frees and allocates in waves across threads (records made by the reader,
/// dropped by the analysis; rows gathered, then written); with the delay, pages freed by
/// one wave stay resident while the next commits fresh ones, and peak RSS of a run with
/// the analysis was 280 MiB instead of 205 on the benchmark capture, at the same speed.
/// Without the analysis the delay is kept: there it saves page faults on the hot path.
///
/// Call before any thread is started.
pub fn release_freed_memory_promptly() {
    // SAFETY: mi_option_set takes any option value and a long; it writes mimalloc's option
    // table, which no other thread reads yet (the caller runs before starting any).
    unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, PROMPT_PURGE_MS) };
}

/// Milliseconds before freed pages go back with the analysis on. Not zero: then every
/// freed page was decommitted on the spot, one system call each, 2 % of the run's samples
/// in the analysis thread alone. Ten milliseconds batch them: on the benchmark capture
/// (20 alternating runs) 2.8 % less wall time for 2 MiB more peak RSS (139 against 137).
const PROMPT_PURGE_MS: core::ffi::c_long = 10;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purge_delay_is_the_option_mimalloc_documents() {
        // SAFETY: reading an option has no precondition.
        let default = unsafe { libmimalloc_sys::mi_option_get(PURGE_DELAY) };
        // mimalloc 3 sets a default purge delay of 1000 ms (src/options.c; unless the
        // environment sets MIMALLOC_PURGE_DELAY); the options around it default to 0 or 1.
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            assert_eq!(default, 1000);
        }
        release_freed_memory_promptly();
        // SAFETY: as above.
        assert_eq!(
            unsafe { libmimalloc_sys::mi_option_get(PURGE_DELAY) },
            PROMPT_PURGE_MS
        );
    }

    #[test]
    fn small_pages_turn_off_huge_pages_in_mimalloc_and_the_kernel() {
        if std::env::var_os(ALLOW_THP_VARIABLE).is_some() {
            return;
        }
        // SAFETY: reading an option has no precondition.
        let default = unsafe { libmimalloc_sys::mi_option_get(ALLOW_THP) };
        // The documented default of allow_thp (src/options.c) is 1 on Linux: if this fails,
        // the index no longer names that option.
        assert_eq!(default, 1);
        keep_to_small_pages();
        // SAFETY: as above.
        assert_eq!(unsafe { libmimalloc_sys::mi_option_get(ALLOW_THP) }, 0);
        // SAFETY: PR_GET_THP_DISABLE takes no pointer and returns the flag.
        let disabled = unsafe { libc::prctl(libc::PR_GET_THP_DISABLE, 0, 0, 0, 0) };
        assert_eq!(disabled, 1);
    }
}

//! Read-only memory maps of dump files (with `files.rs`' test helper, the
//! crate's only `unsafe` code), guarded against the file shrinking under
//! the map.
//!
//! Mapping (instead of reading) is what lets `summarize` stream a 1 GiB dump
//! at > 1 GB/s without an f64 copy (benches/dump.rs). Its hazard is another
//! process truncating the file while it is mapped: touching a page past the
//! new end raises SIGBUS, which would kill gradrd without a word. Each map
//! is therefore entered in a fixed table of guarded ranges, and a SIGBUS
//! handler (installed once) that finds the faulting address in the table
//! writes one line naming the file — `gradrd: error: FILE: the file shrank
//! while it was being read (bus error on its memory map)` — and exits with
//! code 2, as for any other unreadable input. A fault outside every guarded
//! range is not gradrd's to explain: the handler restores the default action
//! and the fault recurs as before. The handler only loads atomics and calls
//! `write(2)` and `_exit(2)`, which are async-signal-safe.

use std::path::Path;

use super::DumpError;

/// A read-only map of a whole file, guarded while it lives.
pub(crate) struct Mapped {
    map: memmap2::Mmap,
    slot: Option<usize>,
}

impl std::ops::Deref for Mapped {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.map
    }
}

impl Drop for Mapped {
    fn drop(&mut self) {
        if let Some(slot) = self.slot {
            guard::release(slot);
        }
    }
}

/// Memory-maps `path` read-only. An empty file is an error (there is no
/// header to read), reported as such rather than as a zero-length map.
pub(crate) fn map_file(path: &Path) -> Result<Mapped, DumpError> {
    let file = crate::files::open_regular(path).map_err(|e| DumpError::io(path, e))?;
    let len = file.metadata().map_err(|e| DumpError::io(path, e))?.len();
    if len == 0 {
        return Err(DumpError::EmptyFile {
            file: path.to_path_buf(),
        });
    }
    // SAFETY: the map is read-only and private to this process; gradrd never
    // writes to dump files. Every access goes through bounds-checked slices
    // of the map, so a file rewritten in place yields wrong numbers or a
    // `Truncated` error, never out-of-bounds reads; a file truncated under
    // the map faults, and the guard below turns that into a one-line exit.
    #[allow(unsafe_code)]
    let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| DumpError::io(path, e))?;
    let slot = guard::enter(map.as_ptr() as usize, map.len(), path);
    Ok(Mapped { map, slot })
}

#[cfg(unix)]
#[allow(unsafe_code)]
mod guard {
    use std::path::Path;
    use std::sync::atomic::{AtomicPtr, AtomicU8, AtomicUsize, Ordering};
    use std::sync::Once;

    /// Maps guarded at once; a map beyond these is left unguarded.
    const SLOTS: usize = 1024;
    const FREE: u8 = 0;
    const BUSY: u8 = 1;
    const ACTIVE: u8 = 2;

    struct Slot {
        state: AtomicU8,
        start: AtomicUsize,
        len: AtomicUsize,
        /// The whole line to write, leaked while the slot is active.
        message: AtomicPtr<u8>,
        message_len: AtomicUsize,
    }

    #[allow(clippy::declare_interior_mutable_const)]
    const EMPTY: Slot = Slot {
        state: AtomicU8::new(FREE),
        start: AtomicUsize::new(0),
        len: AtomicUsize::new(0),
        message: AtomicPtr::new(std::ptr::null_mut()),
        message_len: AtomicUsize::new(0),
    };

    static TABLE: [Slot; SLOTS] = [EMPTY; SLOTS];
    static INSTALL: Once = Once::new();

    pub(super) fn enter(start: usize, len: usize, path: &Path) -> Option<usize> {
        INSTALL.call_once(install);
        let index = TABLE.iter().position(|slot| {
            slot.state
                .compare_exchange(FREE, BUSY, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
        })?;
        let line = format!(
            "gradrd: error: {}: the file shrank while it was being read (bus error on its memory map)\n",
            crate::escape::terminal(&path.display().to_string())
        );
        let message = Box::leak(line.into_bytes().into_boxed_slice());
        let slot = &TABLE[index];
        slot.start.store(start, Ordering::Relaxed);
        slot.len.store(len, Ordering::Relaxed);
        slot.message_len.store(message.len(), Ordering::Relaxed);
        slot.message.store(message.as_mut_ptr(), Ordering::Relaxed);
        slot.state.store(ACTIVE, Ordering::Release);
        Some(index)
    }

    pub(super) fn release(index: usize) {
        let slot = &TABLE[index];
        slot.state.store(BUSY, Ordering::Release);
        let ptr = slot.message.swap(std::ptr::null_mut(), Ordering::Acquire);
        let len = slot.message_len.load(Ordering::Relaxed);
        if !ptr.is_null() {
            // SAFETY: `ptr`/`len` are the boxed slice leaked in `enter`, and
            // the slot no longer hands it to the handler.
            drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(ptr, len)) });
        }
        slot.state.store(FREE, Ordering::Release);
    }

    fn install() {
        // SAFETY: a zeroed sigaction is a valid value to fill in; the handler
        // has the SA_SIGINFO signature.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_bus_error as *const () as usize;
            action.sa_flags = libc::SA_SIGINFO;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(libc::SIGBUS, &action, std::ptr::null_mut());
        }
    }

    extern "C" fn on_bus_error(_: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
        // SAFETY: the kernel passes a valid siginfo for SA_SIGINFO handlers.
        let address = unsafe { (*info).si_addr() } as usize;
        for slot in &TABLE {
            if slot.state.load(Ordering::Acquire) != ACTIVE {
                continue;
            }
            let start = slot.start.load(Ordering::Relaxed);
            let len = slot.len.load(Ordering::Relaxed);
            if address >= start && address - start < len {
                let ptr = slot.message.load(Ordering::Relaxed);
                let len = slot.message_len.load(Ordering::Relaxed);
                // SAFETY: write(2) and _exit(2) are async-signal-safe; the
                // message stays allocated while its slot is active.
                unsafe {
                    libc::write(2, ptr.cast(), len);
                    libc::_exit(2);
                }
            }
        }
        // Not a guarded map: fall back to the default action, which the
        // fault will meet when the instruction runs again.
        // SAFETY: resetting a signal's disposition is async-signal-safe.
        unsafe {
            libc::signal(libc::SIGBUS, libc::SIG_DFL);
        }
    }
}

#[cfg(not(unix))]
mod guard {
    pub(super) fn enter(_: usize, _: usize, _: &std::path::Path) -> Option<usize> {
        None
    }

    pub(super) fn release(_: usize) {}
}

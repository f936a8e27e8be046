//! Memory the allocator holds after large work, given back to the system.
//!
//! glibc's allocator keeps what a thread freed in that thread's arena and returns pages only
//! from the top of a heap; it also raises its "large buffer" threshold each time a large
//! buffer is freed, so the next ones land in those arenas too. Two calls fix it: a fixed
//! threshold at start (every buffer of 128 KiB or more is its own mapping, unmapped when
//! freed) and a trim of every arena when a background job ends. Measured with 1,000,000
//! files (`scripts/bench-scale`): an idle server after a sync and a re-sync held 195 MB
//! before (peak 273 MB), 33 MB after (peak 125 MB), and the sync took as long.
//!
//! This is the only module with `unsafe` code (`tests/integration/architecture.rs` checks
//! it): two calls into the C library that take no pointers. Elsewhere than glibc both do
//! nothing; the allocators there return memory themselves.

/// Buffers this large or larger get their own mapping (glibc's initial threshold, kept).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const OWN_MAPPING_FROM: libc::c_int = 128 * 1024;

/// Fixes the large-buffer threshold; call once, at start, before the threads start.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn hold_less() {
    // SAFETY: mallopt takes two integers and changes a setting of the allocator; glibc
    // serializes it with every other allocator call.
    let done = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, OWN_MAPPING_FROM) };
    if done != 1 {
        tracing::debug!("the allocator kept its large-buffer threshold");
    }
}

/// Gives the free pages of every arena back to the system. It walks the whole heap (a few
/// milliseconds after a large sync), so it runs after work, not during it.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn give_back() {
    // SAFETY: malloc_trim takes one integer and only releases pages no allocation uses;
    // glibc serializes it with every other allocator call.
    unsafe { libc::malloc_trim(0) };
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn hold_less() {}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn give_back() {}

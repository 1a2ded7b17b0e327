//! The allocator, chosen once per process before its first allocation: mimalloc for `yml2sh
//! audit`, which compiles thousands of configs on every core (mimalloc takes a fifth off its CPU
//! time, bench/audit), and the system's malloc for every other run, which compiles one config and
//! exits (glibc's heap starts in fewer fresh pages: about 70 fewer page faults, a tenth off a
//! `yml2sh -f bash`, bench/compile).
//!
//! The choice is read from the raw command line before `main`, as std reads it: glibc hands
//! every `.init_array` function `argc`, `argv` and `envp`. Any argument that is exactly `audit`
//! picks mimalloc; a run it misjudges (`yml2sh -o audit circle.yml`) is only slower, never wrong,
//! because the choice never changes once made: memory is always freed by the allocator that gave
//! it. Where no hook runs (other platforms, or an allocation before it), the first allocation
//! fixes the system's.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU8, Ordering};

use mimalloc::MiMalloc;

const UNSET: u8 = 0;
const SYSTEM: u8 = 1;
const MIMALLOC: u8 = 2;

static CHOICE: AtomicU8 = AtomicU8::new(UNSET);

/// The global allocator: the system's or mimalloc, whichever `CHOICE` holds.
pub struct Chosen;

impl Chosen {
    /// True when this process allocates with mimalloc. Fixes the system's if nothing was chosen.
    #[inline]
    fn mimalloc() -> bool {
        match CHOICE.load(Ordering::Relaxed) {
            UNSET => {
                match CHOICE.compare_exchange(UNSET, SYSTEM, Ordering::Relaxed, Ordering::Relaxed) {
                    Ok(_) => false,
                    Err(chosen) => chosen == MIMALLOC,
                }
            }
            chosen => chosen == MIMALLOC,
        }
    }
}

// SAFETY: each call is passed to one of two sound allocators, and a process always passes
// its calls to the same one (`CHOICE` is set at most once, before or at the first allocation),
// so every pointer is freed or resized by the allocator that returned it.
unsafe impl GlobalAlloc for Chosen {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if Self::mimalloc() {
            MiMalloc.alloc(layout)
        } else {
            System.alloc(layout)
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if Self::mimalloc() {
            MiMalloc.alloc_zeroed(layout)
        } else {
            System.alloc_zeroed(layout)
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if Self::mimalloc() {
            MiMalloc.dealloc(ptr, layout)
        } else {
            System.dealloc(ptr, layout)
        }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if Self::mimalloc() {
            MiMalloc.realloc(ptr, layout, new_size)
        } else {
            System.realloc(ptr, layout, new_size)
        }
    }
}

/// True when the command line names the `audit` subcommand (or has `audit` anywhere).
fn audits<'a>(mut args: impl Iterator<Item = &'a [u8]>) -> bool {
    args.any(|a| a == b"audit")
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod hook {
    use std::ffi::{c_char, c_int, CStr};
    use std::sync::atomic::Ordering;

    /// Runs before `main`, before any allocation of ours (it allocates nothing itself).
    extern "C" fn choose(argc: c_int, argv: *const *const c_char, _envp: *const *const c_char) {
        if argv.is_null() {
            return;
        }
        let count = usize::try_from(argc).unwrap_or(0);
        // SAFETY: glibc passes the process's `argc` and its `argv` array of `argc`
        // NUL-terminated strings, alive for the whole process.
        let args = (1..count).map(|i| unsafe { CStr::from_ptr(*argv.add(i)) }.to_bytes());
        let chosen = if super::audits(args) {
            super::MIMALLOC
        } else {
            super::SYSTEM
        };
        // Fails only if something allocated first: that allocation fixed the system's.
        let _ = super::CHOICE.compare_exchange(
            super::UNSET,
            chosen,
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
    }

    #[used]
    #[link_section = ".init_array"]
    static CHOOSE: extern "C" fn(c_int, *const *const c_char, *const *const c_char) = choose;
}

#[cfg(test)]
mod tests {
    use super::audits;

    fn args<'a>(words: &'a [&'static str]) -> impl Iterator<Item = &'static [u8]> + 'a {
        words.iter().map(|w| w.as_bytes())
    }

    #[test]
    fn only_an_audit_picks_mimalloc() {
        assert!(audits(args(&["audit", "."])));
        assert!(audits(args(&["--no-infer", "audit", "--json", "a"])));
        assert!(!audits(args(&["-f", "bash", "circle.yml"])));
        assert!(!audits(args(&["check", "audits/circle.yml"])));
        assert!(!audits(args(&[])));
    }
}

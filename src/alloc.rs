//! The allocator, chosen once per process before its first allocation: mimalloc for `yml2sh
//! audit`, which compiles thousands of configs on every core (mimalloc takes a fifth off its CPU
//! time, bench/audit), and [`Pool`] for every other run, which compiles one config and exits.
//!
//! The choice is read from the raw command line before `main`, as std reads it: glibc hands
//! every `.init_array` function `argc`, `argv` and `envp`. Any argument that is exactly `audit`
//! picks mimalloc; a run it misjudges (`yml2sh -o audit circle.yml`) is only slower, never wrong,
//! because the choice never changes once made: memory is always freed by the allocator that gave
//! it. Where no hook runs (other platforms, or an allocation before it), the first allocation
//! fixes the pool.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU8, Ordering};

use mimalloc::MiMalloc;

const UNSET: u8 = 0;
const POOL: u8 = 1;
const MIMALLOC: u8 = 2;

static CHOICE: AtomicU8 = AtomicU8::new(UNSET);

/// The global allocator: the pool or mimalloc, whichever `CHOICE` holds.
pub struct Chosen;

impl Chosen {
    /// True when this process allocates with mimalloc. Fixes the pool if nothing was chosen.
    #[inline]
    fn mimalloc() -> bool {
        match CHOICE.load(Ordering::Relaxed) {
            UNSET => {
                match CHOICE.compare_exchange(UNSET, POOL, Ordering::Relaxed, Ordering::Relaxed) {
                    Ok(_) => false,
                    Err(chosen) => chosen == MIMALLOC,
                }
            }
            chosen => chosen == MIMALLOC,
        }
    }
}

/// The alignment of every block mimalloc's plain `mi_malloc` returns (a machine word), as its
/// own `mi_realloc_aligned` takes it (src/alloc-aligned.c). For layouts aligned to no more,
/// `mi_malloc` and `mi_realloc` skip the aligned entry points' checks, which the `mimalloc`
/// crate's allocator always goes through: nearly every allocation is of bytes or of word-aligned
/// values.
const MI_ALIGN: usize = std::mem::size_of::<usize>();

unsafe extern "C" {
    /// mimalloc's `malloc`, `calloc` and `realloc` of one block, from the library the
    /// `mimalloc` crate links.
    fn mi_malloc(size: usize) -> *mut std::ffi::c_void;
    fn mi_zalloc(size: usize) -> *mut std::ffi::c_void;
    fn mi_realloc(p: *mut std::ffi::c_void, size: usize) -> *mut std::ffi::c_void;
}

// SAFETY: each call is passed to one of two sound allocators, and a process always passes
// its calls to the same one (`CHOICE` is set at most once, before or at the first allocation),
// so every pointer is freed or resized by the allocator that returned it.
unsafe impl GlobalAlloc for Chosen {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if Self::mimalloc() {
            if layout.align() <= MI_ALIGN {
                // SAFETY: every block mimalloc gives is aligned to MI_ALIGN.
                return unsafe { mi_malloc(layout.size()) }.cast();
            }
            MiMalloc.alloc(layout)
        } else {
            Pool.alloc(layout)
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if Self::mimalloc() {
            if layout.align() <= MI_ALIGN {
                // SAFETY: as in `alloc`.
                return unsafe { mi_zalloc(layout.size()) }.cast();
            }
            MiMalloc.alloc_zeroed(layout)
        } else {
            Pool.alloc_zeroed(layout)
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if Self::mimalloc() {
            MiMalloc.dealloc(ptr, layout)
        } else {
            Pool.dealloc(ptr, layout)
        }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if Self::mimalloc() {
            if layout.align() <= MI_ALIGN {
                // SAFETY: as in `alloc`; `ptr` is a block of mimalloc's.
                return unsafe { mi_realloc(ptr.cast(), new_size) }.cast();
            }
            MiMalloc.realloc(ptr, layout, new_size)
        } else {
            Pool.realloc(ptr, layout, new_size)
        }
    }
}

/// The allocator of a single run: small blocks in 32 size classes, carved in turn from 64 KiB
/// chunks of the system's heap and kept on a free list per class once freed; larger or
/// over-aligned blocks go to the system's malloc. A run compiles one config and exits, so the
/// pool never gives memory back: a freed block waits for the next request of its class.
///
/// glibc's malloc spent about 120 instructions on each of the ~3,500 calls a typical
/// `yml2sh -f bash` makes, a fifth of the run (callgrind: 1.79 M instructions in all, 1.40 M
/// with the pool). Blocks of every class share the chunks, as glibc's heap shares its pages, so
/// the run touches only a few more fresh pages than with glibc's (35 against 28); a
/// size-segregated allocator such as mimalloc opens a page per class (about 70 more).
///
/// Each thread has its own pool, so no call takes a lock. A block freed on another thread than
/// the one that gave it joins that thread's free list: its size class, not its origin, is all a
/// list needs. A thread's pool outlives the thread (its chunks are never freed).
pub struct Pool;

/// Size classes: 16 to 256 bytes by 16, then four per doubling up to 4 KiB.
const CLASSES: usize = 32;
/// The largest block the pool serves; larger ones are the system's.
const LARGEST: usize = 4096;
/// The alignment of every pool block (chunks are aligned so, and every class is a multiple).
const ALIGN: usize = 16;
/// The system allocation blocks are carved from.
const CHUNK: usize = 64 * 1024;

/// The class of a block of `size` bytes aligned to `align`, or `None` when the system serves it.
#[inline]
fn class_of(size: usize, align: usize) -> Option<usize> {
    if size > LARGEST || align > ALIGN {
        None
    } else if size <= 256 {
        Some(size.saturating_sub(1) / 16)
    } else {
        let n = size - 1;
        let exp = n.ilog2() as usize; // 8 ..= 11
        Some(16 + (exp - 8) * 4 + (n >> (exp - 2)) - 4)
    }
}

/// The size of the blocks of `class` (the largest size `class_of` maps to it).
#[inline]
fn class_size(class: usize) -> usize {
    if class < 16 {
        (class + 1) * 16
    } else {
        let (exp, quarter) = (8 + (class - 16) / 4, (class - 16) % 4);
        (5 + quarter) << (exp - 2)
    }
}

/// One thread's pool: the free lists and what is left of the current chunk.
struct Lists {
    /// The first free block of each class; each free block holds the address of the next.
    free: [*mut u8; CLASSES],
    /// The unused part of the current chunk: `next ..end`.
    next: *mut u8,
    end: *mut u8,
}

thread_local! {
    // Const-initialised and without a destructor: reading it never allocates and never fails,
    // even while the thread exits.
    static LISTS: std::cell::UnsafeCell<Lists> = const {
        std::cell::UnsafeCell::new(Lists {
            free: [std::ptr::null_mut(); CLASSES],
            next: std::ptr::null_mut(),
            end: std::ptr::null_mut(),
        })
    };
}

impl Lists {
    /// A block of `class`: the first free one, or the next from the chunk (a new chunk when the
    /// current one is used up). Null when the system has no memory.
    #[inline]
    unsafe fn take(&mut self, class: usize) -> *mut u8 {
        let head = self.free[class];
        if !head.is_null() {
            // SAFETY: a free block's first word holds the next free block (see `give`).
            self.free[class] = unsafe { head.cast::<*mut u8>().read() };
            return head;
        }
        let size = class_size(class);
        if (self.end as usize) - (self.next as usize) < size {
            // The rest of the old chunk is left unused: under one block of this class.
            // SAFETY: CHUNK is non-zero and ALIGN a power of two.
            let chunk = unsafe { System.alloc(Layout::from_size_align_unchecked(CHUNK, ALIGN)) };
            if chunk.is_null() {
                return chunk;
            }
            self.next = chunk;
            // SAFETY: one past the end of the chunk just allocated.
            self.end = unsafe { chunk.add(CHUNK) };
        }
        let block = self.next;
        // SAFETY: `size` bytes remain in the chunk (checked above).
        self.next = unsafe { block.add(size) };
        block
    }

    /// Puts a block of `class` back on its free list.
    #[inline]
    unsafe fn give(&mut self, block: *mut u8, class: usize) {
        // SAFETY: every block is at least 16 bytes and 16-aligned: room for the link.
        unsafe { block.cast::<*mut u8>().write(self.free[class]) };
        self.free[class] = block;
    }
}

/// This thread's lists. The reference never outlives one allocator call, and no call makes
/// another, so it is never aliased.
#[inline]
fn lists<R>(f: impl FnOnce(&mut Lists) -> R) -> R {
    // SAFETY: see above; the cell belongs to this thread alone.
    LISTS.with(|cell| f(unsafe { &mut *cell.get() }))
}

// SAFETY: a block of a class is at least the size and alignment asked (`class_of`), comes from
// memory no other block overlaps (a chunk's unused part, or a free list it was put on when
// freed), and is freed by the class of the same layout's size, which is the class it came from.
// Every other layout is passed to the system's allocator, in both directions.
unsafe impl GlobalAlloc for Pool {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match class_of(layout.size(), layout.align()) {
            Some(class) => lists(|l| unsafe { l.take(class) }),
            None => unsafe { System.alloc(layout) },
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        match class_of(layout.size(), layout.align()) {
            Some(class) => {
                let block = lists(|l| unsafe { l.take(class) });
                if !block.is_null() {
                    // SAFETY: the block has at least `layout.size()` bytes.
                    unsafe { block.write_bytes(0, layout.size()) };
                }
                block
            }
            None => unsafe { System.alloc_zeroed(layout) },
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        match class_of(layout.size(), layout.align()) {
            Some(class) => lists(|l| unsafe { l.give(ptr, class) }),
            None => unsafe { System.dealloc(ptr, layout) },
        }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let old = class_of(layout.size(), layout.align());
        let new = class_of(new_size, layout.align());
        match (old, new) {
            (Some(a), Some(b)) if a == b => ptr,
            (None, None) => unsafe { System.realloc(ptr, layout, new_size) },
            _ => {
                // SAFETY: the caller guarantees `new_size`, rounded up to the alignment, fits.
                let to = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
                let moved = unsafe { self.alloc(to) };
                if !moved.is_null() {
                    let kept = layout.size().min(new_size);
                    // SAFETY: both blocks hold `kept` bytes and do not overlap.
                    unsafe { std::ptr::copy_nonoverlapping(ptr, moved, kept) };
                    unsafe { self.dealloc(ptr, layout) };
                }
                moved
            }
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
            super::POOL
        };
        // Fails only if something allocated first: that allocation fixed the pool.
        let set = super::CHOICE.compare_exchange(
            super::UNSET,
            chosen,
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
        if set.is_ok() && chosen == super::MIMALLOC {
            // SAFETY: what mimalloc's own constructor calls, before any allocation, once.
            unsafe { _mi_auto_process_init() };
        }
    }

    unsafe extern "C" {
        /// mimalloc's start-up, which its constructor runs (src/prim/prim.c) where it is built
        /// with one; it is built without (.cargo/config.toml) so that only an audit pays for
        /// it. Without it mimalloc never leaves its "preloading" state: it reads its options
        /// from the environment again each time it asks for one (a thirtieth of an audit's
        /// instructions), and no thread's heap is handed on when the thread ends.
        fn _mi_auto_process_init();
    }

    #[used]
    #[link_section = ".init_array"]
    static CHOOSE: extern "C" fn(c_int, *const *const c_char, *const *const c_char) = choose;
}

#[cfg(test)]
mod tests {
    use super::{audits, class_of, class_size, Pool, ALIGN, CLASSES, LARGEST};
    use std::alloc::{GlobalAlloc, Layout};

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

    #[test]
    fn mimallocs_plain_blocks_are_word_aligned_whatever_their_size() {
        let mut blocks = vec![];
        for size in (1..=1024).chain([4095, 4096, 65_537, 1 << 20]) {
            // SAFETY: blocks of mimalloc's, given back to it below.
            let (p, z) = unsafe { (super::mi_malloc(size), super::mi_zalloc(size)) };
            // A block grown or shrunk keeps its alignment and the bytes both sizes hold.
            let r = unsafe { super::mi_malloc(size) };
            assert!(!r.is_null());
            // SAFETY: `r` holds `size` bytes.
            unsafe { r.cast::<u8>().write_bytes(0xa5, size) };
            let grown = unsafe { super::mi_realloc(r, size * 3) };
            assert!(!grown.is_null());
            assert_eq!(grown as usize % super::MI_ALIGN, 0, "{size} bytes grown");
            // SAFETY: `grown` holds `size * 3` bytes, the first `size` kept.
            let kept = unsafe { std::slice::from_raw_parts(grown.cast::<u8>(), size) };
            assert!(
                kept.iter().all(|&b| b == 0xa5),
                "{size} bytes kept when grown"
            );
            let shrunk = unsafe { super::mi_realloc(grown, size.div_ceil(2)) };
            for b in [p, z, shrunk] {
                assert!(!b.is_null());
                assert_eq!(b as usize % super::MI_ALIGN, 0, "{size} bytes");
            }
            // SAFETY: `z` holds `size` bytes.
            let zeroed = unsafe { std::slice::from_raw_parts(z.cast::<u8>(), size) };
            assert!(zeroed.iter().all(|&b| b == 0), "{size} bytes zeroed");
            blocks.extend([p, z, shrunk]);
        }
        for b in blocks {
            // SAFETY: each came from mimalloc above, and is freed once.
            unsafe { mimalloc_free(b) };
        }
    }

    unsafe extern "C" {
        #[link_name = "mi_free"]
        fn mimalloc_free(p: *mut std::ffi::c_void);
    }

    #[test]
    fn every_small_size_has_the_least_class_that_holds_it() {
        let mut last = 0;
        for size in 1..=LARGEST {
            let class = class_of(size, 8).expect("a pool size");
            assert!(class < CLASSES);
            assert!(class_size(class) >= size, "{size} in class {class}");
            assert_eq!(class_size(class) % ALIGN, 0);
            // The class below is too small: no class is larger than it needs to be.
            if class > 0 {
                assert!(
                    class_size(class - 1) < size,
                    "{size} fits class {}",
                    class - 1
                );
            }
            assert!(class >= last);
            last = class;
        }
        assert_eq!(last, CLASSES - 1);
        assert_eq!(class_of(LARGEST + 1, 8), None);
        assert_eq!(class_of(64, 32), None);
    }

    #[test]
    fn pool_blocks_keep_their_bytes_through_growth_and_are_reused_once_freed() {
        let pool = Pool;
        unsafe {
            // Grow one block from 1 byte to past the pool's largest (into the system's malloc)
            // and back, checking its bytes at every step.
            let mut layout = Layout::from_size_align(1, 1).unwrap();
            let mut p = pool.alloc(layout);
            p.write(7);
            for size in (2..=LARGEST + 600).step_by(37).chain([LARGEST * 3, 40, 1]) {
                let kept = layout.size().min(size);
                p = pool.realloc(p, layout, size);
                assert!(!p.is_null());
                for i in 0..kept {
                    assert_eq!(
                        *p.add(i),
                        (i % 251) as u8 ^ 7,
                        "byte {i} after growing to {size}"
                    );
                }
                for i in kept..size {
                    p.add(i).write((i % 251) as u8 ^ 7);
                }
                layout = Layout::from_size_align(size, 1).unwrap();
            }
            pool.dealloc(p, layout);

            // A freed block is the next one its class gives; blocks are aligned and distinct.
            let small = Layout::from_size_align(24, 8).unwrap();
            let a = pool.alloc(small);
            let b = pool.alloc(small);
            assert_ne!(a, b);
            assert_eq!(a as usize % ALIGN, 0);
            pool.dealloc(a, small);
            assert_eq!(pool.alloc(small), a);
            let zeroed = pool.alloc_zeroed(small);
            assert!((0..24).all(|i| *zeroed.add(i) == 0));
            // Over-aligned blocks come from the system, aligned as asked.
            let wide = Layout::from_size_align(64, 64).unwrap();
            let w = pool.alloc(wide);
            assert_eq!(w as usize % 64, 0);
            pool.dealloc(w, wide);
            for p in [b, a, zeroed] {
                pool.dealloc(p, small);
            }
        }
    }
}

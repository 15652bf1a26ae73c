//! A per-thread cache of small freed blocks, in front of mimalloc.
//!
//! podsec's hot paths (a pod decoded, judged and dropped per document or per request) allocate
//! a handful of small blocks and free them all again each round. mimalloc pushes a freed block
//! onto its page's *local* free list and allocates from the page's *other* list, so each round
//! begins with every size class's allocation list empty: the first allocation of each class
//! takes mimalloc's generic path, which collects the freed blocks back. That path ran several
//! times per pod and cost a few percent of decoding and evaluating one (measured with
//! `cargo bench -p podsec-pss --bench evaluate`).
//!
//! The cache keeps freed blocks of up to [`MAX_CACHED_SIZE`] bytes in one LIFO list per
//! 16-byte size class, so the next allocation of the class pops the block just freed (still in
//! the CPU's cache) without entering mimalloc at all. Every cached block is a mimalloc block of
//! its class's full size, so any request of the class fits it. A thread caches at most
//! [`MAX_CACHED_BYTES`]: a free that would pass it first gives the whole cache back to
//! mimalloc. So does the end of the thread, after which its blocks go straight to mimalloc.

use std::cell::Cell;
use std::ffi::c_void;

use libmimalloc_sys as mi;

/// The width of a size class: class `i` holds blocks of `(i + 1) * CLASS_BYTES` bytes.
const CLASS_BYTES: usize = 16;
/// The largest block the cache keeps (larger blocks are rare on the hot paths).
pub(crate) const MAX_CACHED_SIZE: usize = 2048;
const CLASSES: usize = MAX_CACHED_SIZE / CLASS_BYTES;
/// The most bytes one thread keeps cached, so that a thread that frees a large structure does
/// not hold on to it.
const MAX_CACHED_BYTES: usize = 64 * 1024;

/// The size class of a request of `size` bytes (1 ..= [`MAX_CACHED_SIZE`]).
#[inline]
pub(crate) fn class_of(size: usize) -> usize {
    debug_assert!((1..=MAX_CACHED_SIZE).contains(&size));
    (size - 1) / CLASS_BYTES
}

/// The size of the blocks of `class`: what the cache asks mimalloc for.
#[inline]
pub(crate) fn class_size(class: usize) -> usize {
    (class + 1) * CLASS_BYTES
}

/// A free block: its first word links to the next free block of its class.
struct FreeBlock {
    next: *mut FreeBlock,
}

struct ThreadCache {
    heads: [Cell<*mut FreeBlock>; CLASSES],
    cached_bytes: Cell<usize>,
}

impl ThreadCache {
    const fn new() -> Self {
        ThreadCache {
            heads: [const { Cell::new(std::ptr::null_mut()) }; CLASSES],
            cached_bytes: Cell::new(0),
        }
    }

    #[inline]
    fn pop(&self, class: usize) -> *mut u8 {
        let head = &self.heads[class];
        let block = head.get();
        if !block.is_null() {
            // SAFETY: a cached block is a live mimalloc block of at least 16 bytes whose first
            // word was written by `push`.
            head.set(unsafe { (*block).next });
            self.cached_bytes
                .set(self.cached_bytes.get() - class_size(class));
        }
        block.cast()
    }

    /// Keeps `block`. When that would pass [`MAX_CACHED_BYTES`], the cache is emptied first:
    /// blocks of a class this thread no longer allocates would otherwise fill it for good.
    #[inline]
    fn push(&self, class: usize, block: *mut u8) {
        let mut cached = self.cached_bytes.get() + class_size(class);
        if cached > MAX_CACHED_BYTES {
            self.release_all();
            cached = class_size(class);
        }
        self.cached_bytes.set(cached);
        let block = block.cast::<FreeBlock>();
        let head = &self.heads[class];
        // SAFETY: the block is at least 16 bytes, aligned to 16, and no longer used by anyone.
        unsafe { block.write(FreeBlock { next: head.get() }) };
        head.set(block);
    }

    /// Gives every cached block back to mimalloc.
    #[cold]
    fn release_all(&self) {
        for head in &self.heads {
            let mut block = head.replace(std::ptr::null_mut());
            while !block.is_null() {
                // SAFETY: as in `pop`; each block is freed exactly once, after reading its link.
                unsafe {
                    let next = (*block).next;
                    mi::mi_free(block.cast::<c_void>());
                    block = next;
                }
                #[cfg(test)]
                tests::count_release();
            }
        }
        self.cached_bytes.set(0);
    }
}

impl Drop for ThreadCache {
    fn drop(&mut self) {
        self.release_all();
    }
}

/// Whether this thread's cache may be used: registering the cache's destructor (on its first
/// use) must not itself reach the cache, should the platform allocate through Rust to do it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Unused,
    Starting,
    Ready,
}

thread_local! {
    static STATE: Cell<State> = const { Cell::new(State::Unused) };
    static CACHE: ThreadCache = const { ThreadCache::new() };
}

/// Runs `f` on this thread's cache, or returns `None` while the cache cannot be used (being
/// set up, or already torn down at thread exit).
#[inline]
fn with_cache<R>(f: impl FnOnce(&ThreadCache) -> R) -> Option<R> {
    match STATE.try_with(Cell::get).ok()? {
        State::Ready => CACHE.try_with(f).ok(),
        State::Starting => None,
        State::Unused => {
            STATE.set(State::Starting);
            // The first access registers the destructor.
            let result = CACHE.try_with(f).ok();
            STATE.set(State::Ready);
            result
        }
    }
}

/// A cached block of `class`, or null when there is none.
#[inline]
pub(crate) fn take(class: usize) -> *mut u8 {
    with_cache(|cache| cache.pop(class)).unwrap_or(std::ptr::null_mut())
}

/// Hands a freed block of `class` to the cache; false means the caller must free it.
#[inline]
pub(crate) fn keep(class: usize, block: *mut u8) -> bool {
    with_cache(|cache| cache.push(class, block)).is_some()
}

#[cfg(test)]
mod tests {
    use std::alloc::{GlobalAlloc, Layout};
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::Allocator;

    thread_local! {
        /// Whether this thread counts the blocks its cache gives back (no destructor, so it can
        /// be read while the cache's own runs).
        static COUNTING: Cell<bool> = const { Cell::new(false) };
    }
    static RELEASED: AtomicUsize = AtomicUsize::new(0);

    pub(super) fn count_release() {
        if COUNTING.try_with(Cell::get) == Ok(true) {
            RELEASED.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn cached_bytes() -> usize {
        CACHE.with(|cache| cache.cached_bytes.get())
    }

    #[test]
    fn a_thread_caches_at_most_its_limit() {
        let allocator = Allocator;
        let layout = Layout::from_size_align(MAX_CACHED_SIZE, 8).expect("valid");
        // SAFETY: non-zero-sized layouts; each block freed once with its layout.
        let blocks: Vec<*mut u8> = (0..100)
            .map(|_| unsafe { allocator.alloc(layout) })
            .collect();
        for block in blocks {
            // SAFETY: as above.
            unsafe { allocator.dealloc(block, layout) };
            assert!(cached_bytes() <= MAX_CACHED_BYTES, "{}", cached_bytes());
        }
        assert!(cached_bytes() > 0);
    }

    #[test]
    fn a_thread_gives_its_cache_back_when_it_ends() {
        std::thread::spawn(|| {
            COUNTING.set(true);
            let allocator = Allocator;
            let layout = Layout::from_size_align(100, 8).expect("valid");
            // SAFETY: non-zero-sized layouts; each block freed once with its layout.
            let blocks: Vec<*mut u8> = (0..37)
                .map(|_| unsafe { allocator.alloc(layout) })
                .collect();
            for block in blocks {
                // SAFETY: as above.
                unsafe { allocator.dealloc(block, layout) };
            }
            assert!(cached_bytes() >= 37 * class_size(class_of(100)));
        })
        .join()
        .expect("no panic");
        // The vector of pointers went back too (when cached): at least the 37 blocks.
        assert!(RELEASED.load(Ordering::Relaxed) >= 37);
    }

    #[test]
    fn classes_cover_every_cached_size() {
        assert_eq!(class_of(1), 0);
        assert_eq!(class_of(16), 0);
        assert_eq!(class_of(17), 1);
        assert_eq!(class_of(MAX_CACHED_SIZE), CLASSES - 1);
        for size in 1..=MAX_CACHED_SIZE {
            let class = class_of(size);
            assert!(class_size(class) >= size, "{size}");
            assert!(class_size(class) < size + CLASS_BYTES, "{size}");
        }
    }
}

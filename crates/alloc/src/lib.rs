//! # podsec-alloc: the binaries' global allocator
//!
//! mimalloc, as `mimalloc::MiMalloc` provides it, but entered through `mi_malloc` and
//! `mi_realloc` whenever the layout's alignment is one `malloc` already guarantees, as Rust's own
//! `System` allocator does with the C library.
//!
//! Why not `MiMalloc` itself: it passes every request to `mi_malloc_aligned`. That call takes
//! mimalloc's fast path only while the size class's free list has a block ready; otherwise,
//! for a size that is not a power of two, it over-allocates by the alignment in another size
//! class. A decode-evaluate-drop loop empties a free list once per round, so on podsec's hot
//! paths (a pod decoded, judged and dropped per document or request) that slow path ran for
//! more than half of all allocations. Measured over the conformance pods (`cargo bench -p
//! podsec-pss --bench evaluate`), decoding and evaluating a pod took 6% less time this way.
//!
//! In front of mimalloc sits a small per-thread cache of freed blocks of up to 2 KiB
//! (`src/cache.rs` says why), which spares the same loops mimalloc's generic path
//! altogether: 3–8% less time again for decoding and evaluating a pod, run to run.
//!
//! ```
//! #[global_allocator]
//! static ALLOCATOR: podsec_alloc::Allocator = podsec_alloc::Allocator;
//! ```

use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

use libmimalloc_sys as mi;

mod cache;

/// The largest alignment every `mi_malloc` block of at least that size has (mimalloc's
/// `MI_MAX_ALIGN_SIZE` on 64-bit targets; smaller blocks are aligned to their size class).
const MALLOC_ALIGNMENT: usize = 16;

/// mimalloc, with plain `malloc` for ordinary alignments (see the crate docs).
#[derive(Debug, Clone, Copy, Default)]
pub struct Allocator;

/// True when `mi_malloc` returns memory aligned to `align`: within what malloc guarantees.
/// (Rust's `System` allocator also asks that the size be at least the alignment, as blocks
/// under 16 bytes may be aligned to only 8; every block that does not go through the cache is
/// larger than that.)
#[inline]
fn malloc_suffices(align: usize) -> bool {
    align <= MALLOC_ALIGNMENT
}

/// True when a block of `size` bytes aligned to `align` goes through the thread cache: small,
/// and aligned to at most 16 bytes (every cached block is a `mi_malloc` block of a multiple of
/// 16 bytes).
#[inline]
fn cacheable(size: usize, align: usize) -> bool {
    size <= cache::MAX_CACHED_SIZE && malloc_suffices(align)
}

// SAFETY: every block comes from mimalloc and goes back to it through `mi_free` (directly, or
// later from the thread cache), which accepts blocks from both the plain and the aligned entry
// points; alignment is guaranteed either by `malloc_suffices`, by the aligned entry point, or
// for cached classes by their sizes being multiples of 16. A block of a cacheable layout is
// always at least its class's size, so the cache may hand it to any request of that class.
unsafe impl GlobalAlloc for Allocator {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if cacheable(layout.size(), layout.align()) {
            let class = cache::class_of(layout.size());
            let block = cache::take(class);
            if !block.is_null() {
                return block;
            }
            // SAFETY: mimalloc accepts any size.
            return unsafe { mi::mi_malloc(cache::class_size(class)).cast() };
        }
        // SAFETY: mimalloc's allocation functions accept any size and power-of-two alignment.
        unsafe {
            if malloc_suffices(layout.align()) {
                mi::mi_malloc(layout.size()).cast()
            } else {
                mi::mi_malloc_aligned(layout.size(), layout.align()).cast()
            }
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        unsafe {
            if cacheable(layout.size(), layout.align()) {
                mi::mi_zalloc(cache::class_size(cache::class_of(layout.size()))).cast()
            } else if malloc_suffices(layout.align()) {
                mi::mi_zalloc(layout.size()).cast()
            } else {
                mi::mi_zalloc_aligned(layout.size(), layout.align()).cast()
            }
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if cacheable(layout.size(), layout.align())
            && cache::keep(cache::class_of(layout.size()), ptr)
        {
            return;
        }
        // SAFETY: `ptr` came from this allocator, so from mimalloc.
        unsafe { mi::mi_free(ptr.cast::<c_void>()) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if cacheable(new_size, layout.align()) {
            let class = cache::class_of(new_size);
            // The block already has the class's size: a Vec growing within 16 bytes stays put.
            if cacheable(layout.size(), layout.align()) && cache::class_of(layout.size()) == class {
                return ptr;
            }
            // SAFETY: `ptr` came from this allocator; the class size is a multiple of 16, so
            // the new block is aligned to 16.
            return unsafe {
                mi::mi_realloc(ptr.cast::<c_void>(), cache::class_size(class)).cast()
            };
        }
        // SAFETY: `ptr` came from this allocator; the new block keeps `layout.align()`.
        unsafe {
            if malloc_suffices(layout.align()) {
                mi::mi_realloc(ptr.cast::<c_void>(), new_size).cast()
            } else {
                mi::mi_realloc_aligned(ptr.cast::<c_void>(), new_size, layout.align()).cast()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    unsafe extern "C" {
        /// mimalloc's own size of a block (in its `extended` API, always compiled in).
        fn mi_usable_size(block: *const c_void) -> usize;
    }

    /// A block of a cacheable size must hold any request of its class, however it was made.
    fn assert_holds_its_class(block: *mut u8, size: usize, align: usize) {
        if cacheable(size, align) {
            // SAFETY: a live mimalloc block.
            let usable = unsafe { mi_usable_size(block.cast()) };
            let class_size = cache::class_size(cache::class_of(size));
            assert!(usable >= class_size, "{size}: {usable} < {class_size}");
        }
    }

    #[test]
    fn every_block_has_the_alignment_and_size_asked_for() {
        let allocator = Allocator;
        for align in [1, 2, 4, 8, 16, 32, 64, 4096] {
            for size in [1, 3, 8, 12, 16, 24, 100, 264, 1056, 2048, 2049, 70_000] {
                let layout = Layout::from_size_align(size, align).expect("valid layout");
                // SAFETY: a non-zero-sized layout; every block is freed with its layout.
                unsafe {
                    let block = allocator.alloc(layout);
                    assert!(!block.is_null());
                    assert_eq!(block as usize % align, 0, "alloc {size} aligned {align}");
                    assert_holds_its_class(block, size, align);
                    block.write_bytes(0xa5, size);
                    let mut current = (block, size);
                    for new_size in [size + 1, size * 3, size.div_ceil(2)] {
                        let (block, old_size) = current;
                        let before = Layout::from_size_align_unchecked(old_size, align);
                        let moved = allocator.realloc(block, before, new_size);
                        assert_eq!(moved as usize % align, 0, "realloc {size} aligned {align}");
                        assert_holds_its_class(moved, new_size, align);
                        let kept = old_size.min(new_size);
                        assert_eq!(*moved.add(kept - 1), 0xa5, "realloc keeps the contents");
                        moved.write_bytes(0xa5, new_size);
                        current = (moved, new_size);
                    }
                    let (block, last_size) = current;
                    allocator.dealloc(block, Layout::from_size_align_unchecked(last_size, align));
                    let zeroed = allocator.alloc_zeroed(layout);
                    assert_eq!(zeroed as usize % align, 0, "zalloc {size} aligned {align}");
                    assert_holds_its_class(zeroed, size, align);
                    assert!((0..size).all(|i| *zeroed.add(i) == 0));
                    allocator.dealloc(zeroed, layout);
                }
            }
        }
    }

    #[test]
    fn a_freed_small_block_serves_the_next_request_of_its_class() {
        let allocator = Allocator;
        let small = Layout::from_size_align(40, 8).expect("valid layout");
        let same_class = Layout::from_size_align(48, 8).expect("valid layout");
        // SAFETY: non-zero-sized layouts; every block is freed with the layout it has.
        unsafe {
            let first = allocator.alloc(small);
            first.write_bytes(1, 40);
            allocator.dealloc(first, small);
            let second = allocator.alloc(same_class);
            assert_eq!(second, first, "the cached block is reused");
            second.write_bytes(2, 48);
            // Growing within the class keeps the block; growing past it moves it.
            assert_eq!(allocator.realloc(second, same_class, 33), second);
            let moved = allocator.realloc(second, Layout::from_size_align_unchecked(33, 8), 3000);
            assert!((0..33).all(|i| *moved.add(i) == 2));
            allocator.dealloc(moved, Layout::from_size_align_unchecked(3000, 8));

            // Two freed blocks serve the next two requests, one each.
            let a = allocator.alloc(small);
            let b = allocator.alloc(small);
            allocator.dealloc(a, small);
            allocator.dealloc(b, small);
            let c = allocator.alloc(small);
            let d = allocator.alloc(small);
            assert_ne!(c, d, "one block handed out twice");
            let mut given = [c, d];
            given.sort();
            let mut freed = [a, b];
            freed.sort();
            assert_eq!(given, freed);
            allocator.dealloc(c, small);
            allocator.dealloc(d, small);
        }
    }

    /// Fills `block` with its own tag, so that two live blocks sharing memory show.
    ///
    /// # Safety
    /// `block` holds `size` bytes.
    unsafe fn tag(block: *mut u8, size: usize, tag: u64) {
        for i in 0..size {
            // SAFETY: within the block.
            unsafe { *block.add(i) = tag.to_le_bytes()[i % 8] };
        }
    }

    /// # Safety
    /// `block` holds `size` bytes.
    unsafe fn has_tag(block: *const u8, size: usize, tag: u64) -> bool {
        // SAFETY: within the block.
        (0..size).all(|i| unsafe { *block.add(i) } == tag.to_le_bytes()[i % 8])
    }

    #[test]
    fn blocks_freed_on_other_threads_and_at_thread_exit_are_sound() {
        // Blocks allocated here are freed on other threads (into their caches, which go back to
        // mimalloc when those threads end), and theirs here, many times over. Every live block
        // carries its own tag and no two overlap: a block handed out twice would show.
        let allocator = Allocator;
        for round in 0..20u64 {
            let blocks: Vec<(usize, usize, u64)> = (1..400usize)
                .map(|n| {
                    let layout = Layout::from_size_align(n * 7 % 2100 + 1, 8).expect("valid");
                    // SAFETY: a non-zero-sized layout.
                    let block = unsafe { allocator.alloc(layout) };
                    let tag_value = round << 32 | n as u64;
                    // SAFETY: the block has `layout.size()` bytes.
                    unsafe { tag(block, layout.size(), tag_value) };
                    (block as usize, layout.size(), tag_value)
                })
                .collect();
            let mut ranges: Vec<(usize, usize)> = blocks
                .iter()
                .map(|&(at, size, _)| (at, at + size))
                .collect();
            ranges.sort();
            assert!(
                ranges.windows(2).all(|w| w[0].1 <= w[1].0),
                "blocks overlap"
            );
            let handles: Vec<_> = blocks
                .chunks(50)
                .enumerate()
                .map(|(thread, chunk)| {
                    let chunk = chunk.to_vec();
                    std::thread::spawn(move || {
                        let allocator = Allocator;
                        let small = Layout::from_size_align(64, 8).expect("valid");
                        let mine: Vec<(usize, u64)> = (0..50u64)
                            .map(|i| {
                                // SAFETY: a non-zero-sized layout.
                                let block = unsafe { allocator.alloc(small) };
                                let tag_value = ((u64::MAX - thread as u64) << 8) | i;
                                // SAFETY: the block has 64 bytes.
                                unsafe { tag(block, 64, tag_value) };
                                (block as usize, tag_value)
                            })
                            .collect();
                        for (block, size, tag_value) in chunk {
                            let block = block as *mut u8;
                            // SAFETY: each block is alive, `size` bytes, freed once, here.
                            unsafe {
                                assert!(has_tag(block, size, tag_value), "block changed");
                                allocator
                                    .dealloc(block, Layout::from_size_align_unchecked(size, 8));
                            }
                        }
                        for (block, tag_value) in mine {
                            // SAFETY: allocated above with this layout, freed once, here.
                            unsafe {
                                assert!(has_tag(block as *const u8, 64, tag_value));
                                allocator.dealloc(block as *mut u8, small);
                            }
                        }
                    })
                })
                .collect();
            for handle in handles {
                handle.join().expect("no thread panicked");
            }
        }
    }
}

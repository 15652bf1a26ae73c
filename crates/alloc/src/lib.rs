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
//! ```
//! #[global_allocator]
//! static ALLOCATOR: podsec_alloc::Allocator = podsec_alloc::Allocator;
//! ```

use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

use libmimalloc_sys as mi;

/// The largest alignment every `mi_malloc` block of at least that size has (mimalloc's
/// `MI_MAX_ALIGN_SIZE` on 64-bit targets; smaller blocks are aligned to their size class).
const MALLOC_ALIGNMENT: usize = 16;

/// mimalloc, with plain `malloc` for ordinary alignments (see the crate docs).
#[derive(Debug, Clone, Copy, Default)]
pub struct Allocator;

/// True when `mi_malloc(size)` returns memory aligned to `align`: the rule of Rust's `System`
/// allocator (alignment within what malloc guarantees, and not above the size, since a block
/// smaller than 16 bytes may be aligned to only 8).
#[inline]
fn malloc_suffices(align: usize, size: usize) -> bool {
    align <= MALLOC_ALIGNMENT && align <= size
}

// SAFETY: every block comes from mimalloc and goes back to it through `mi_free`, which accepts
// blocks from both the plain and the aligned entry points; alignment is guaranteed either by
// `malloc_suffices` or by the aligned entry point.
unsafe impl GlobalAlloc for Allocator {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: mimalloc's allocation functions accept any size and power-of-two alignment.
        unsafe {
            if malloc_suffices(layout.align(), layout.size()) {
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
            if malloc_suffices(layout.align(), layout.size()) {
                mi::mi_zalloc(layout.size()).cast()
            } else {
                mi::mi_zalloc_aligned(layout.size(), layout.align()).cast()
            }
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: `ptr` came from this allocator, so from mimalloc.
        unsafe { mi::mi_free(ptr.cast::<c_void>()) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from this allocator; the new block keeps `layout.align()`.
        unsafe {
            if malloc_suffices(layout.align(), new_size) {
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

    #[test]
    fn every_block_has_the_alignment_asked_for() {
        let allocator = Allocator;
        for align in [1, 2, 4, 8, 16, 32, 64, 4096] {
            for size in [1, 3, 8, 12, 16, 24, 100, 264, 1056, 70_000] {
                let layout = Layout::from_size_align(size, align).expect("valid layout");
                // SAFETY: a non-zero-sized layout; every block is freed with its layout.
                unsafe {
                    let block = allocator.alloc(layout);
                    assert!(!block.is_null());
                    assert_eq!(block as usize % align, 0, "alloc {size} aligned {align}");
                    block.write_bytes(0xa5, size);
                    let grown = allocator.realloc(block, layout, size * 3);
                    assert_eq!(grown as usize % align, 0, "realloc {size} aligned {align}");
                    assert_eq!(*grown.add(size - 1), 0xa5, "realloc keeps the contents");
                    allocator.dealloc(grown, Layout::from_size_align_unchecked(size * 3, align));
                    let zeroed = allocator.alloc_zeroed(layout);
                    assert_eq!(zeroed as usize % align, 0, "zalloc {size} aligned {align}");
                    assert!((0..size).all(|i| *zeroed.add(i) == 0));
                    allocator.dealloc(zeroed, layout);
                }
            }
        }
    }
}

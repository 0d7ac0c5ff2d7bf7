//! When a drained buffer gives capacity back: one rule for the service's and the engine's queues that a backlog can fill.
//
// A `VecDeque`, `Vec` or `BinaryHeap` keeps its largest capacity for good. A buffer that holds
// under an eighth of its capacity, above `kept` elements of capacity, shrinks to twice its
// length (at least `kept`), so a buffer hovering around one size is not shrunk and regrown.

/// The capacity to shrink a buffer of `len` elements and `capacity` to, if any.
pub fn shrink_target(len: usize, capacity: usize, kept: usize) -> Option<usize> {
    (capacity > kept && len < capacity / 8).then(|| (len * 2).max(kept))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_mostly_empty_large_buffer_shrinks() {
        assert_eq!(shrink_target(10, 100_000, 4096), Some(4096));
        assert_eq!(shrink_target(10_000, 100_000, 4096), Some(20_000));
        assert_eq!(shrink_target(20_000, 100_000, 4096), None);
        assert_eq!(shrink_target(0, 4096, 4096), None);
    }
}

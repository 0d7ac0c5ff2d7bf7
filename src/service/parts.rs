//! Builds many records on several threads at once: contiguous index ranges, one buffer each, concatenated in order.
//
// A commit builds a record per changed lead twice over (its changelog record and, with phone
// resolution, its contact entry). Building only reads the state, so it splits: the processing
// thread builds the first range and scoped threads the others, then the records are sent in
// range order — the same records in the same order as one pass. Small sets stay on the
// processing thread: a thread costs tens of microseconds to start.

use std::ops::Range;
use std::sync::OnceLock;

/// Fewest items worth a range of their own.
pub const MIN_PART: usize = 512;

/// Most ranges (threads, the processing thread included).
const MAX_PARTS: usize = 4;

/// How many ranges this machine builds in at most: its parallelism, at most [`MAX_PARTS`].
pub fn max_parts() -> usize {
    static PARTS: OnceLock<usize> = OnceLock::new();
    *PARTS.get_or_init(|| {
        std::thread::available_parallelism()
            .map_or(1, usize::from)
            .clamp(1, MAX_PARTS)
    })
}

/// The ranges `0..len` is built in: at most `parts`, none under [`MIN_PART`] items (but one
/// range for fewer), contiguous and in order.
pub fn ranges(len: usize, parts: usize) -> Vec<Range<usize>> {
    let count = (len / MIN_PART).clamp(1, parts.max(1));
    let (size, extra) = (len / count, len % count);
    let mut start = 0;
    (0..count)
        .map(|k| {
            let end = start + size + usize::from(k < extra);
            let range = start..end;
            start = end;
            range
        })
        .collect()
}

/// Builds items `0..len` into `buffers` (grown as needed): range *k* of [`ranges`] into
/// `buffers[k]`, the first on this thread, the others on scoped threads. Returns how many
/// buffers were filled; read them in order.
pub fn build_in_parts<B: Default + Send>(
    len: usize,
    buffers: &mut Vec<B>,
    build: impl Fn(Range<usize>, &mut B) + Sync,
) -> usize {
    let ranges = ranges(len, max_parts());
    if buffers.len() < ranges.len() {
        buffers.resize_with(ranges.len(), B::default);
    }
    let build = &build;
    let mut jobs = ranges.into_iter().zip(buffers.iter_mut());
    let Some((first, first_buffer)) = jobs.next() else {
        return 0;
    };
    let mut count = 1;
    std::thread::scope(|scope| {
        for (range, buffer) in jobs {
            count += 1;
            scope.spawn(move || build(range, buffer));
        }
        build(first, first_buffer);
    });
    count
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn ranges_cover_everything_in_order(len in 0usize..50_000, parts in 1usize..6) {
            let ranges = ranges(len, parts);
            prop_assert!(!ranges.is_empty() && ranges.len() <= parts);
            prop_assert_eq!(ranges[0].start, 0);
            prop_assert_eq!(ranges[ranges.len() - 1].end, len);
            for pair in ranges.windows(2) {
                prop_assert_eq!(pair[0].end, pair[1].start);
            }
            if ranges.len() > 1 {
                prop_assert!(ranges.iter().all(|r| r.len() >= MIN_PART));
            }
        }

        #[test]
        fn parts_concatenate_to_one_pass(len in 0usize..20_000) {
            let mut buffers: Vec<Vec<usize>> = Vec::new();
            let filled = build_in_parts(len, &mut buffers, |range, out| {
                out.clear();
                out.extend(range.map(|i| i * 3));
            });
            let joined: Vec<usize> = buffers[..filled].iter().flatten().copied().collect();
            let expected: Vec<usize> = (0..len).map(|i| i * 3).collect();
            prop_assert_eq!(joined, expected);
        }
    }

    #[test]
    fn many_items_are_split_when_the_machine_has_cores() {
        let ranges = ranges(10 * MIN_PART, 2);
        assert_eq!(ranges, vec![0..5 * MIN_PART, 5 * MIN_PART..10 * MIN_PART]);
        assert_eq!(super::ranges(MIN_PART * 2 - 1, 4).len(), 1);
    }
}

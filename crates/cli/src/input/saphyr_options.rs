//! How serde-saphyr is configured to read manifests: kubectl's YAML 1.1 habits (octal, last
//! duplicate key wins) and budgets against hostile input (see `decode`). Its own file so that the
//! fuzz target comparing the fast YAML path against serde-saphyr compiles the very same options.

/// The options for a document of `length` bytes.
pub fn yaml_options(length: usize) -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_depth: 128,
            max_events: length.max(1_000_000),
            max_nodes: length.max(250_000),
            max_total_scalar_bytes: length.max(64 * 1024 * 1024),
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: 250_000,
        },
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::LastWins,
        legacy_octal_numbers: true,
        // Comments are not needed, and not emitting them is faster.
        emit_comments: false,
        // Errors are located by line and column; a snippet would repeat the
        // document in every message.
        with_snippet: false,
    }
}

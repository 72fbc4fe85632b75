//! Benchmarks that span crates: `cargo bench -p tickete-benches --bench apply_day` measures
//! both stores side by side. The library itself is empty; the load scripts (`*.sh`) beside it
//! drive the release binaries.

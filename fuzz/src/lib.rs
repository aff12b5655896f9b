//! Support code of the fuzz targets: the shared checks (also replayed by `cargo test`,
//! see `regression_test.rs.txt`) and the structured input of `snapshot_to_render`.

pub mod checks;
pub mod structured;

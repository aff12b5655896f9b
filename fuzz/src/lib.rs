//! Support code of the fuzz targets: the structured input of `snapshot_to_render`
//! (built with `arbitrary`). What each target asserts is in `testkit::oracles`, shared
//! with the seed generator and the regression replay in `cargo test`.

pub mod structured;

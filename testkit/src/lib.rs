//! Dev-only support code of check_tidb_log_backup, kept out of the shipped crate: the
//! fixture format and its etcd loader (tests, `examples/load_fixture.rs`, the demo, the
//! seed generator).

pub mod fixture;

pub use fixture::Fixture;

//! Dev-only support code of check_tidb_log_backup, kept out of the shipped crate
//! (`publish = false`; a dev-dependency of the main crate):
//!
//! - [`fixture`]: the fixture format (`fixtures/*.toml`) and its etcd loader, used by the
//!   tests, `examples/load_fixture.rs` (the demo), and the fuzz seed generator;
//! - [`etcd`]: a real etcd on a free loopback port; [`certs`]: test certificates;
//! - [`http`]: the PD HTTP API and TiKV `/metrics` stand-in; [`https`]: PD over HTTPS;
//! - [`run`]: running the built binary, with [`loopback`]'s environment (tests never
//!   leave loopback); [`encode`]: byte builders for the pure tests;
//! - [`oracles`]: what each fuzz target asserts, also replayed by `cargo test`;
//! - [`plan`]: settings and judging as the binary does them, for the pure tests;
//! - backup storage (`--storage`): [`s3`] (moto), [`azurite`], [`gcs`] (a stand-in)
//!   and [`recorder`] (a recording, fault-injecting proxy) serve it; [`layout`] and
//!   [`full_backup`] generate its contents (messages in [`brpb`]), [`sink`] writes them
//!   to a directory or a server, [`store`] reads them with object_store; [`spawn`] and
//!   [`wire`] are the process and HTTP plumbing.

pub mod azurite;
pub mod brpb;
pub mod certs;
pub mod encode;
pub mod etcd;
pub mod fixture;
pub mod full_backup;
pub mod gcs;
pub mod http;
pub mod https;
pub mod layout;
pub mod loopback;
pub mod oracles;
pub mod plan;
pub mod recorder;
pub mod run;
pub mod s3;
pub mod sink;
pub mod spawn;
pub mod store;
pub mod wire;

#[cfg(test)]
mod selftest;

pub use azurite::Azurite;
pub use certs::Certs;
pub use etcd::Etcd;
pub use fixture::{fixture_path, Fixture};
pub use full_backup::FullBackup;
pub use gcs::GcsServer;
pub use http::{PdServer, Route};
pub use https::HttpsPd;
pub use layout::{Flush, LogStorage, MetaName};
pub use recorder::{Mode, Recorder};
pub use run::Run;
pub use s3::S3Server;
pub use sink::Sink;

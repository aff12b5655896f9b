//! check_tidb_log_backup: is TiDB's log backup (PITR) healthy, and what can be restored?
//!
//! One way through, pure in the middle (see ARCHITECTURE.md):
//! [`settings`] (flags, config, environment → one [`settings::Plan`]) →
//! [`runner`] → [`collect`] (all I/O: [`etcd`], [`pd`], [`tikv`], under one deadline) →
//! [`model::decode`] (bytes → tasks) → [`judge::judge`] (rules → findings, metrics,
//! states) → [`render`] (nagios, ndjson, table, br-json). [`guard`] keeps the contract
//! with the engine on every path: one output, exit 0-3, the deadline held.

pub mod collect;
pub mod etcd;
pub mod guard;
pub mod judge;
pub mod keys;
pub mod model;
pub mod pause;
pub mod pd;
pub mod prom;
pub mod proto;
pub mod range;
pub mod render;
pub mod runner;
pub mod selection;
pub mod settings;
pub mod snapshot;
pub mod state;
pub mod storage;
pub mod throughput;
pub mod tidb;
pub mod tikv;
pub mod tls;
pub mod tso;

//! check_tidb_log_backup: is TiDB's log backup (PITR) healthy, and what can be restored?
//!
//! One way through, pure in the middle (ARCHITECTURE.md lists the layers; a module
//! imports only from the layers below it): [`settings`] (flags, config, environment → one
//! [`settings::Plan`]) → [`runner`] → [`collect`] (all I/O: [`etcd`], [`pd`], [`tikv`],
//! [`tidb`], [`storage`], [`statefile`], under one deadline) → [`facts::Observed`] →
//! [`judge::evaluate`] (rules → findings, metrics, states) → save the state file →
//! [`render`] (nagios, ndjson, table, br-json). [`guard`] keeps the contract with the
//! engine on every path: one output, exit 0-3, the deadline held.

pub mod collect;
pub mod deadline;
pub mod etcd;
pub mod facts;
pub mod guard;
pub mod judge;
pub mod keys;
pub mod location;
pub mod model;
pub mod panic_scope;
pub mod pause;
pub mod pd;
pub mod prom;
pub mod proto;
pub mod range;
pub mod render;
pub mod runner;
pub mod secret;
pub mod selection;
pub mod service_state;
pub mod settings;
pub mod snapshot;
pub mod statefile;
pub mod storage;
pub mod text;
pub mod throughput;
pub mod tidb;
pub mod tikv;
pub mod tls;
pub mod transport;
pub mod tso;

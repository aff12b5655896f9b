//! The integration tests as one test binary, `integration`: one module per area, each in
//! the `tests/<module>.rs` file of its name, so a test's name says its file
//! (`golden::every_fixture_in_every_format_matches_its_golden_file`). Run one area with
//! `cargo test --test integration golden::`.
//!
//! The harness (etcd, certificates, PD/TiKV stand-ins, fixtures, fuzz oracles) is the
//! dev-only `testkit` crate; `common` only knows the built binary's path.

mod common;
mod contract;
mod decode;
mod discovery;
mod faults;
mod fleet;
mod fuzz_regressions;
mod golden;
mod gone;
mod layers;
mod loopback;
mod ndjson_schema;
mod output_budget;
mod pause_rules;
mod pd_safepoints;
mod plugin_examples;
mod prometheus;
mod range_oracle;
mod rules;
mod secrets;
mod state_dir;
mod storage;
mod storage_control;
mod storage_hostile;
mod storage_rules;
mod telegraf_parse;
mod throughput;
mod tls;
mod verify;
mod zabbix;

//! Diagnostic (not timed by bench/run's table): replays the check's etcd requests —
//! one `info/` Range, then read-only Txns at that revision built like `src/snapshot.rs`
//! `plan()` (5 fixed reads, the checkpoint/ prefix cut around each task's region/
//! prefix, one count-only read of the whole checkpoint/ prefix) — and prints each
//! request's latency, so the check's time can be split into etcd round trips and its
//! own work. `--serializable` marks every read serializable (no ReadIndex); `--repeat N`
//! runs the whole sequence N times on one connection; `--concurrent` sends the Txn
//! batches at once instead of one after the other.
//!
//! Other plans, for comparison:
//! - `--per-task`: the plan before 2026-12-07, one count-only read per task's region/
//!   prefix (2 ops per task instead of 1: 3 requests at 100 tasks);
//! - `--proposed`: one Txn [Range info/, count-only checkpoint/, the 5 fixed reads],
//!   then one Range of the whole checkpoint/ prefix at that revision (downloads region
//!   keys below a threshold; BENCHMARKS.md finding 4);
//! - `--everything`: one Range of /tidb/br-stream/, what the floor program reads.
//!
//! Each line ends with the total of the sequence; the last line gives medians.
//!
//! usage: rpc_probe ENDPOINT [--serializable] [--repeat N] [--concurrent]
//!        [--per-task | --proposed | --everything]

use etcd_client::{Client, GetOptions, Txn, TxnOp, TxnOpResponse};
use std::time::Instant;

const MAX_TXN_OPS: usize = 128;

fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}

/// (start, end, count_only) per op, as `snapshot::plan` built them before 2026-12-07:
/// one count-only op per task (`--per-task`); the current plan drops them and adds
/// one count of the whole checkpoint/ prefix (see `main`).
fn plan(tasks: &[Vec<u8>]) -> Vec<(Vec<u8>, Vec<u8>, bool)> {
    let p = |s: &str| s.as_bytes().to_vec();
    let mut ops: Vec<(Vec<u8>, Vec<u8>, bool)> = [
        "/tidb/br-stream/pause/",
        "/tidb/br-stream/last-error/",
        "/tidb/br-stream/storage-checkpoint/",
        "/tidb/br-stream/owner/",
    ]
    .iter()
    .map(|s| (p(s), prefix_end(s.as_bytes()), false))
    .collect();
    ops.push((p("/pd/cluster_id"), Vec::new(), false));
    let checkpoint = p("/tidb/br-stream/checkpoint/");
    let mut regions: Vec<Vec<u8>> = tasks
        .iter()
        .map(|t| {
            let mut r = checkpoint.clone();
            r.extend_from_slice(t);
            r.extend_from_slice(b"/region/");
            r
        })
        .collect();
    regions.sort();
    regions.dedup();
    let mut cursor = checkpoint.clone();
    for region in regions {
        let end = prefix_end(&region);
        if cursor < region {
            ops.push((cursor, region.clone(), false));
        }
        ops.push((region, end.clone(), true));
        cursor = end;
    }
    ops.push((cursor, prefix_end(&checkpoint), false));
    ops
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let endpoint = args.first().cloned().expect("usage: rpc_probe ENDPOINT");
    let serializable = args.iter().any(|a| a == "--serializable");
    let repeat: usize = args
        .windows(2)
        .find(|w| w[0] == "--repeat")
        .map_or(1, |w| w[1].parse().expect("--repeat N"));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let result: Result<(), etcd_client::Error> = runtime.block_on(async {
        let t0 = Instant::now();
        let client = Client::connect([endpoint.as_str()], None).await?;
        println!("connect {:.0} us", t0.elapsed().as_secs_f64() * 1e6);
        let mut kv = client.kv_client().max_decoding_message_size(512 << 20);
        let proposed = args.iter().any(|a| a == "--proposed");
        let per_task = args.iter().any(|a| a == "--per-task");
        let concurrent = args.iter().any(|a| a == "--concurrent");
        let mut totals = Vec::new();
        for _ in 0..repeat {
            let t = Instant::now();
            if proposed {
                let mut ops = vec![TxnOp::get(
                    "/tidb/br-stream/info/",
                    Some(GetOptions::new().with_prefix()),
                )];
                ops.push(TxnOp::get(
                    "/tidb/br-stream/checkpoint/",
                    Some(GetOptions::new().with_prefix().with_count_only()),
                ));
                for (start, end, _) in plan(&[]).into_iter().take(5) {
                    let mut o = GetOptions::new();
                    if !end.is_empty() {
                        o = o.with_range(end);
                    }
                    ops.push(TxnOp::get(start, Some(o)));
                }
                let response = kv.txn(Txn::new().and_then(ops)).await?;
                let revision = response.header().map(|h| h.revision()).unwrap_or(0);
                let count = match &response.op_responses()[1] {
                    TxnOpResponse::Get(r) => r.count(),
                    _ => 0,
                };
                let first = t.elapsed().as_secs_f64() * 1e6;
                let t2 = Instant::now();
                let ckpt = kv
                    .get(
                        "/tidb/br-stream/checkpoint/",
                        Some(GetOptions::new().with_prefix().with_revision(revision)),
                    )
                    .await?;
                let total = t.elapsed().as_secs_f64() * 1e6;
                totals.push(total);
                println!(
                    "Txn of 7 ops {first:.0} us (checkpoint count {count}), Range checkpoint/ {:.0} us ({} keys), total {total:.0} us",
                    t2.elapsed().as_secs_f64() * 1e6,
                    ckpt.kvs().len()
                );
                continue;
            }
            if args.iter().any(|a| a == "--everything") {
                let all = kv
                    .get("/tidb/br-stream/", Some(GetOptions::new().with_prefix()))
                    .await?;
                let total = t.elapsed().as_secs_f64() * 1e6;
                totals.push(total);
                println!("Range /tidb/br-stream/ {total:.0} us ({} keys)", all.kvs().len());
                continue;
            }
            let mut info_options = GetOptions::new().with_prefix();
            if serializable {
                info_options = info_options.with_serializable();
            }
            let listing = kv.get("/tidb/br-stream/info/", Some(info_options)).await?;
            let revision = listing.header().map(|h| h.revision()).unwrap_or(0);
            let tasks: Vec<Vec<u8>> = listing
                .kvs()
                .iter()
                .map(|kv| kv.key()["/tidb/br-stream/info/".len()..].to_vec())
                .collect();
            let mut line = format!(
                "Range info/ {:.0} us ({} tasks)",
                t.elapsed().as_secs_f64() * 1e6,
                tasks.len()
            );
            let mut ops = plan(&tasks);
            if !per_task {
                // As the check reads: no count-only op per task, one count of the whole
                // checkpoint/ prefix instead (src/snapshot.rs plan).
                ops.retain(|op| !op.2);
                ops.push((
                    b"/tidb/br-stream/checkpoint/".to_vec(),
                    prefix_end(b"/tidb/br-stream/checkpoint/"),
                    true,
                ));
            }
            if concurrent {
                let mut handles = Vec::new();
                for batch in ops.chunks(MAX_TXN_OPS) {
                    let txn_ops: Vec<TxnOp> = batch
                        .iter()
                        .map(|(start, end, count_only)| {
                            let mut o = GetOptions::new().with_revision(revision);
                            if !end.is_empty() {
                                o = o.with_range(end.clone());
                            }
                            if *count_only {
                                o = o.with_count_only();
                            }
                            TxnOp::get(start.clone(), Some(o))
                        })
                        .collect();
                    let mut kv = kv.clone();
                    let n = batch.len();
                    handles.push(tokio::spawn(async move {
                        kv.txn(Txn::new().and_then(txn_ops)).await.map(|_| n)
                    }));
                }
                for h in handles {
                    let n = h.await.expect("join")?;
                    line.push_str(&format!(", Txn of {n} ops"));
                }
                let total = t.elapsed().as_secs_f64() * 1e6;
                totals.push(total);
                println!("{line} (concurrent), total {total:.0} us");
                continue;
            }
            for batch in ops.chunks(MAX_TXN_OPS) {
                let ops: Vec<TxnOp> = batch
                    .iter()
                    .map(|(start, end, count_only)| {
                        let mut o = GetOptions::new().with_revision(revision);
                        if !end.is_empty() {
                            o = o.with_range(end.clone());
                        }
                        if *count_only {
                            o = o.with_count_only();
                        }
                        if serializable {
                            o = o.with_serializable();
                        }
                        TxnOp::get(start.clone(), Some(o))
                    })
                    .collect();
                let t = Instant::now();
                kv.txn(Txn::new().and_then(ops)).await?;
                line.push_str(&format!(
                    ", Txn of {} ops {:.0} us",
                    batch.len(),
                    t.elapsed().as_secs_f64() * 1e6
                ));
            }
            let total = t.elapsed().as_secs_f64() * 1e6;
            totals.push(total);
            println!("{line}, total {total:.0} us");
        }
        totals.sort_by(f64::total_cmp);
        println!(
            "median total {:.0} us over {} runs",
            totals[totals.len() / 2],
            totals.len()
        );
        Ok(())
    });
    if let Err(e) = result {
        eprintln!("rpc_probe: {e}");
        std::process::exit(1);
    }
}

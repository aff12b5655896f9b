//! Synthetic but format-exact log-backup metadata (docs/etcd-layout.md#key-catalogue) at
//! a given scale, loaded into an etcd in Txns of at most 128 puts (several in flight).
//!
//! usage: gen ENDPOINT --tasks T --stores S [--regions R]
//!
//! Per task (`pitr` when T = 1, else `task_000`…): K1 `info/<task>` (the protobuf of
//! docs/etcd-layout.md#worked-example-baseline with the name, storage prefix and start_ts
//! varied), K2 `ranges/<task>/m` and `/t`, K4
//! `checkpoint/<task>/central_global` (now − 3 s), and K8
//! `storage-checkpoint/<task>/<store>` for S stores (decimal ids, now − 5…24 s).
//! With R > 0 the first task is a v6.2/v6.3 one with `use_checkpoint_v3=false`: K5
//! `checkpoint/<task>/store/<id>` = start_ts and R K6 keys
//! `checkpoint/<task>/region/<region id>/<epoch version>` (u64be TSO values).
//! Plus `/pd/cluster_id` (u64be) and one K10 owner key. Everything under /tidb/br-stream/
//! and /pd/cluster_id is deleted first. All times are relative to now, so the check is OK.

use etcd_client::{Client, DeleteOptions, Txn, TxnOp};
use std::time::{SystemTime, UNIX_EPOCH};

const MAX_TXN_OPS: usize = 128;
const IN_FLIGHT: usize = 8;

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn field_varint(out: &mut Vec<u8>, field: u64, v: u64) {
    varint(out, field << 3);
    varint(out, v);
}

fn field_bytes(out: &mut Vec<u8>, field: u64, bytes: &[u8]) {
    varint(out, (field << 3) | 2);
    varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// `brpb.StreamBackupTaskInfo` (docs/etcd-layout.md#streambackuptaskinfo) with S3 storage
/// `s3://backup/<prefix>`, filter `*.*`, ZSTD, an empty security_config: the value of
/// docs/etcd-layout.md#worked-example-baseline with name, prefix and start_ts varied.
fn task_info(name: &str, storage_prefix: &str, start_ts: u64) -> Vec<u8> {
    let mut s3 = Vec::new();
    field_bytes(&mut s3, 3, b"backup"); // S3.bucket
    field_bytes(&mut s3, 4, storage_prefix.as_bytes()); // S3.prefix
    field_varint(&mut s3, 10, 1); // S3.force_path_style
    let mut storage = Vec::new();
    field_bytes(&mut storage, 3, &s3); // StorageBackend.s3
    let mut info = Vec::new();
    field_bytes(&mut info, 1, &storage); // storage
    field_varint(&mut info, 2, start_ts);
    field_varint(&mut info, 3, 999_999_999_999_999_999); // end_ts (BR's default)
    field_bytes(&mut info, 4, name.as_bytes());
    field_bytes(&mut info, 5, b"*.*"); // table_filter
    field_varint(&mut info, 6, 3); // compression_type ZSTD
    field_bytes(&mut info, 7, b""); // security_config (empty)
    info
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn tso(unix_ms: u64) -> [u8; 8] {
    (unix_ms << 18).to_be_bytes()
}

fn arg(args: &[String], name: &str) -> Option<u64> {
    args.windows(2).find(|w| w[0] == name).map(|w| {
        w[1].parse()
            .unwrap_or_else(|_| panic!("{name} needs a number"))
    })
}

fn main() {
    // The encoder reproduces the worked example's value byte for byte
    // (docs/etcd-layout.md#worked-example-baseline).
    assert_eq!(
        hex(&task_info("pitr", "pitr-log", 446_710_992_076_800_000)),
        "0a161a141a066261636b75702208706974722d6c6f6750011080808080fda8c2990618ffff8fbbbad6adf00d2204706974722a032a2e2a30033a00"
    );
    assert_eq!(hex(&tso(1_704_070_800_000)), "06330a238a000000");

    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(endpoint), Some(tasks), Some(stores)) = (
        args.first().cloned(),
        arg(&args, "--tasks"),
        arg(&args, "--stores"),
    ) else {
        eprintln!("usage: gen ENDPOINT --tasks T --stores S [--regions R]");
        std::process::exit(2);
    };
    let regions = arg(&args, "--regions").unwrap_or(0);

    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let start_ts = (now_ms - 24 * 3600 * 1000) << 18;
    let store_ids: Vec<u64> = (0..stores).map(|i| 1 + 3 * i).collect();

    let mut pairs: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let mut counts = [0usize; 8]; // K1 K2 K4 K5 K6 K8 owner cluster_id
    let put = |pairs: &mut Vec<(Vec<u8>, Vec<u8>)>, key: String, value: Vec<u8>| {
        pairs.push((key.into_bytes(), value));
    };
    put(
        &mut pairs,
        "/pd/cluster_id".into(),
        7_300_000_000_000_000_001u64.to_be_bytes().to_vec(),
    );
    counts[7] += 1;
    put(
        &mut pairs,
        "/tidb/br-stream/owner/694d8d5d2a1c2b04".into(),
        b"5f0c1e3a-8a4b-4c55-9d8e-0b7a1f2c3d4e".to_vec(),
    );
    counts[6] += 1;
    for t in 0..tasks {
        let name = if tasks == 1 {
            "pitr".to_string()
        } else {
            format!("task_{t:03}")
        };
        let p = "/tidb/br-stream";
        put(
            &mut pairs,
            format!("{p}/info/{name}"),
            task_info(&name, &format!("log-{name}"), start_ts),
        );
        counts[0] += 1;
        put(&mut pairs, format!("{p}/ranges/{name}/m"), b"n".to_vec());
        put(&mut pairs, format!("{p}/ranges/{name}/t"), b"u".to_vec());
        counts[1] += 2;
        put(
            &mut pairs,
            format!("{p}/checkpoint/{name}/central_global"),
            tso(now_ms - 3_000).to_vec(),
        );
        counts[2] += 1;
        for (i, id) in store_ids.iter().enumerate() {
            put(
                &mut pairs,
                format!("{p}/storage-checkpoint/{name}/{id}"),
                tso(now_ms - 5_000 - (i as u64 % 20) * 1_000).to_vec(),
            );
            counts[5] += 1;
        }
        if regions > 0 && t == 0 {
            for id in &store_ids {
                put(
                    &mut pairs,
                    format!("{p}/checkpoint/{name}/store/{id}"),
                    start_ts.to_be_bytes().to_vec(),
                );
                counts[3] += 1;
            }
            for r in 0..regions {
                let region_id = 1_000 + 7 * r;
                let version = 1 + r % 57;
                put(
                    &mut pairs,
                    format!("{p}/checkpoint/{name}/region/{region_id}/{version}"),
                    tso(now_ms - 60_000 - (r % 600) * 1_000).to_vec(),
                );
                counts[4] += 1;
            }
        }
    }
    let bytes: usize = pairs.iter().map(|(k, v)| k.len() + v.len()).sum();

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let loaded: Result<(), etcd_client::Error> = runtime.block_on(async {
        let mut client = Client::connect([endpoint.as_str()], None).await?;
        client.delete("/pd/cluster_id", None).await?;
        client
            .delete("/tidb/br-stream/", Some(DeleteOptions::new().with_prefix()))
            .await?;
        let kv = client.kv_client();
        let mut set = tokio::task::JoinSet::new();
        for chunk in pairs.chunks(MAX_TXN_OPS) {
            if set.len() >= IN_FLIGHT {
                set.join_next()
                    .await
                    .expect("a txn in flight")
                    .expect("txn task")?;
            }
            let ops: Vec<TxnOp> = chunk
                .iter()
                .map(|(k, v)| TxnOp::put(k.clone(), v.clone(), None))
                .collect();
            let mut kv = kv.clone();
            set.spawn(async move { kv.txn(Txn::new().and_then(ops)).await.map(|_| ()) });
        }
        while let Some(done) = set.join_next().await {
            done.expect("txn task")?;
        }
        Ok(())
    });
    if let Err(e) = loaded {
        eprintln!("gen: loading {endpoint}: {e}");
        std::process::exit(1);
    }
    println!(
        "loaded {} keys ({} B keys+values): K1 info {}, K2 ranges {}, K4 central_global {}, K5 store {}, K6 region {}, K8 storage-checkpoint {}, owner {}, /pd/cluster_id {}",
        pairs.len(),
        bytes,
        counts[0],
        counts[1],
        counts[2],
        counts[3],
        counts[4],
        counts[5],
        counts[6],
        counts[7]
    );
}

//! What one check reads from PD's etcd, and the plan that reads it in one consistent snapshot.
//!
//! Round trips: one Range lists `info/` (its header revision pins the snapshot), then one
//! read-only Txn at that revision holds every other read. The op count is constant in the
//! number of stores and grows by one per task only because region keys (K6) must never be
//! downloaded: the checkpoint prefix is cut around each `checkpoint/<task>/region/`, and
//! consecutive tasks share one download range. One count-only read of the whole
//! checkpoint prefix says how many keys were left out; with one task they are all its
//! region keys, and only with several tasks and some region keys does one more Txn count
//! them per task ([`Snapshot::count_region_keys`]). Batches stay within etcd's 128
//! operations per Txn.

use crate::keys;
use std::fmt;

/// Why no snapshot could be read from any endpoint: a fact the rules judge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchError {
    /// The run's deadline passed (UNKNOWN), as opposed to PD being unreachable.
    pub timed_out: bool,
    pub message: String,
}

/// etcd's default `--max-txn-ops` (PD keeps it).
pub const MAX_TXN_OPS: usize = 128;

/// One key-value pair. `Debug` never shows the value: K1 values carry credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct Kv {
    pub key: Vec<u8>,
    pub value: Vec<u8>,
}

impl fmt::Debug for Kv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Kv({} = <{} bytes>)",
            keys::display_key(&self.key),
            self.value.len()
        )
    }
}

/// Where the result of a read op goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Pause,
    LastError,
    StorageCheckpoint,
    Owner,
    Checkpoint,
    /// Count of `checkpoint/<task>/region/` keys (K6), never downloaded.
    RegionCount(Vec<u8>),
    /// Count of every key under `checkpoint/`, downloaded or not.
    CheckpointCount,
    ClusterId,
}

/// One read-only range op of the snapshot Txn: keys in `[start, end)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadOp {
    pub start: Vec<u8>,
    pub end: Vec<u8>,
    pub count_only: bool,
    pub target: Target,
}

impl ReadOp {
    fn prefix(prefix: &[u8], target: Target) -> ReadOp {
        ReadOp {
            start: prefix.to_vec(),
            end: keys::prefix_end(prefix),
            count_only: false,
            target,
        }
    }
}

/// Each task's region prefix `checkpoint/<task>/region/`, sorted by that prefix, not the
/// name (`a-b/` sorts before `a/`), with its task.
fn region_prefixes(tasks: &[Vec<u8>]) -> Vec<(Vec<u8>, &Vec<u8>)> {
    let mut regions: Vec<(Vec<u8>, &Vec<u8>)> = tasks
        .iter()
        .map(|task| {
            let mut region = keys::task_prefix(keys::CHECKPOINT, task);
            region.extend_from_slice(b"region/");
            (region, task)
        })
        .collect();
    regions.sort();
    regions.dedup();
    regions
}

/// The reads after the `info/` listing, in Txn batches of at most [`MAX_TXN_OPS`]:
/// 5 fixed reads, the checkpoint prefix without the region prefixes (one range more
/// than tasks) and one count of the whole checkpoint prefix; `tasks` + 7 ops in all.
/// `tasks` are all task names from `info/` in key order (all of them, not only the
/// selected ones, so no task's region keys fall into a download range).
pub fn plan(tasks: &[Vec<u8>]) -> Vec<Vec<ReadOp>> {
    let mut ops = vec![
        ReadOp::prefix(keys::PAUSE, Target::Pause),
        ReadOp::prefix(keys::LAST_ERROR, Target::LastError),
        ReadOp::prefix(keys::STORAGE_CHECKPOINT, Target::StorageCheckpoint),
        ReadOp::prefix(keys::OWNER, Target::Owner),
        ReadOp {
            start: keys::CLUSTER_ID.to_vec(),
            end: Vec::new(),
            count_only: false,
            target: Target::ClusterId,
        },
    ];
    let mut cursor = keys::CHECKPOINT.to_vec();
    for (region, _) in region_prefixes(tasks) {
        let region_end = keys::prefix_end(&region);
        if cursor < region {
            ops.push(ReadOp {
                start: cursor.clone(),
                end: region,
                count_only: false,
                target: Target::Checkpoint,
            });
        }
        // A prefix inside the previous one (a task named `a/region/…` beside `a`) is
        // left out with it already: the cursor never moves back.
        cursor = cursor.max(region_end);
    }
    ops.push(ReadOp {
        start: cursor,
        end: keys::prefix_end(keys::CHECKPOINT),
        count_only: false,
        target: Target::Checkpoint,
    });
    ops.push(ReadOp {
        start: keys::CHECKPOINT.to_vec(),
        end: keys::prefix_end(keys::CHECKPOINT),
        count_only: true,
        target: Target::CheckpointCount,
    });
    ops.chunks(MAX_TXN_OPS).map(<[ReadOp]>::to_vec).collect()
}

/// The result of one op.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpResult {
    pub kvs: Vec<Kv>,
    pub count: u64,
}

/// Everything one check reads, at one etcd revision.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// The endpoint that answered (for diagnostics).
    pub endpoint: String,
    pub revision: i64,
    pub info: Vec<Kv>,
    pub pause: Vec<Kv>,
    pub last_error: Vec<Kv>,
    pub storage_checkpoint: Vec<Kv>,
    pub owner: Vec<Kv>,
    /// `/tidb/server/info/` at the same revision, read only when asked (`--throughput`,
    /// to find the advancer owner): the entries, or why they could not be read (an etcd
    /// role limited to `/tidb/br-stream/` may not see them; that is not a failed read).
    pub tidb_servers: Option<Result<Vec<Kv>, String>>,
    /// `checkpoint/` keys other than region keys.
    pub checkpoint: Vec<Kv>,
    /// Region key counts per task (only tasks that have some).
    pub region_keys: Vec<(Vec<u8>, u64)>,
    pub cluster_id: Option<Vec<u8>>,
    /// Keys under `checkpoint/`, downloaded or not (region keys are only counted).
    pub checkpoint_keys: u64,
    /// etcd requests made to read it.
    pub round_trips: u32,
}

impl Snapshot {
    /// PD's cluster id (`/pd/cluster_id`, 8 bytes big-endian), when it was read and decodes.
    pub fn cluster_id(&self) -> Option<u64> {
        self.cluster_id
            .as_deref()
            .and_then(crate::tso::decode_u64be)
    }

    /// Files one op's result into the snapshot.
    pub fn absorb(&mut self, op: &ReadOp, result: OpResult) {
        let OpResult { kvs, count } = result;
        match &op.target {
            Target::Pause => self.pause.extend(kvs),
            Target::LastError => self.last_error.extend(kvs),
            Target::StorageCheckpoint => self.storage_checkpoint.extend(kvs),
            Target::Owner => self.owner.extend(kvs),
            Target::Checkpoint => self.checkpoint.extend(kvs),
            Target::RegionCount(task) if count > 0 => self.region_keys.push((task.clone(), count)),
            Target::RegionCount(_) => {}
            Target::CheckpointCount => self.checkpoint_keys = count,
            Target::ClusterId => self.cluster_id = kvs.into_iter().next().map(|kv| kv.value),
        }
    }

    /// After [`plan`]'s reads: the checkpoint keys that were counted but not downloaded
    /// are the tasks' region keys. With one task (or none left out) that settles their
    /// count; otherwise it returns the reads that count them per task, at the same
    /// revision, in Txn batches (only a cluster with several tasks and region keys, a
    /// v6.2/v6.3 one, pays this round trip).
    pub fn count_region_keys(&mut self, tasks: &[Vec<u8>]) -> Vec<Vec<ReadOp>> {
        let left_out = self
            .checkpoint_keys
            .saturating_sub(self.checkpoint.len() as u64);
        if left_out == 0 {
            return Vec::new();
        }
        let regions = region_prefixes(tasks);
        if let [(_, task)] = regions.as_slice() {
            self.region_keys.push(((*task).clone(), left_out));
            return Vec::new();
        }
        let ops: Vec<ReadOp> = regions
            .into_iter()
            .map(|(region, task)| ReadOp {
                end: keys::prefix_end(&region),
                start: region,
                count_only: true,
                target: Target::RegionCount(task.clone()),
            })
            .collect();
        ops.chunks(MAX_TXN_OPS).map(<[ReadOp]>::to_vec).collect()
    }

    /// Builds a snapshot from an in-memory key space by running the same plan
    /// (fixtures and unit tests; etcd runs it for real in `etcd.rs`).
    pub fn from_pairs(mut pairs: Vec<Kv>) -> Snapshot {
        pairs.sort_by(|a, b| a.key.cmp(&b.key));
        let in_range = |kv: &Kv, start: &[u8], end: &[u8]| {
            kv.key.as_slice() >= start
                && (end.is_empty() && kv.key == start || kv.key.as_slice() < end)
        };
        let info_end = keys::prefix_end(keys::INFO);
        let info: Vec<Kv> = pairs
            .iter()
            .filter(|kv| in_range(kv, keys::INFO, &info_end))
            .cloned()
            .collect();
        let tasks: Vec<Vec<u8>> = info
            .iter()
            .map(|kv| kv.key[keys::INFO.len()..].to_vec())
            .collect();
        let mut snapshot = Snapshot {
            endpoint: "memory".into(),
            revision: 1,
            info,
            round_trips: 1,
            ..Snapshot::default()
        };
        let run = |snapshot: &mut Snapshot, batches: Vec<Vec<ReadOp>>| {
            for batch in batches {
                snapshot.round_trips += 1;
                for op in batch {
                    let matched: Vec<Kv> = pairs
                        .iter()
                        .filter(|kv| in_range(kv, &op.start, &op.end))
                        .cloned()
                        .collect();
                    let count = matched.len() as u64;
                    let kvs = if op.count_only { Vec::new() } else { matched };
                    snapshot.absorb(&op, OpResult { kvs, count });
                }
            }
        };
        run(&mut snapshot, plan(&tasks));
        let follow_up = snapshot.count_region_keys(&tasks);
        run(&mut snapshot, follow_up);
        snapshot
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(key: &[u8], value: &[u8]) -> Kv {
        Kv {
            key: key.to_vec(),
            value: value.to_vec(),
        }
    }

    fn tasks(n: usize) -> Vec<Vec<u8>> {
        (0..n).map(|i| format!("t{i:03}").into_bytes()).collect()
    }

    #[test]
    fn op_count_is_constant_in_stores_and_batches_stay_under_the_txn_limit() {
        assert_eq!(plan(&[]).concat().len(), 7);
        assert_eq!(plan(&[b"pitr".to_vec()]).concat().len(), 8);
        let batches = plan(&tasks(100));
        assert_eq!(batches.concat().len(), 5 + (100 + 1) + 1);
        assert_eq!(batches.len(), 1, "100 tasks: one Txn");
        assert_eq!(plan(&tasks(121)).len(), 1);
        let batches = plan(&tasks(122));
        assert_eq!(batches.len(), 2);
        assert!(batches.iter().all(|b| b.len() <= MAX_TXN_OPS));
    }

    /// `n` tasks, the first `with_regions` of them with `regions` region keys each.
    fn cluster(n: usize, with_regions: usize, regions: usize) -> Vec<Kv> {
        let mut pairs = Vec::new();
        for (i, task) in tasks(n).iter().enumerate() {
            let task = String::from_utf8(task.clone()).unwrap();
            pairs.push(kv(format!("/tidb/br-stream/info/{task}").as_bytes(), b""));
            pairs.push(kv(
                format!("/tidb/br-stream/checkpoint/{task}/central_global").as_bytes(),
                b"c",
            ));
            pairs.push(kv(
                format!("/tidb/br-stream/checkpoint/{task}/store/1").as_bytes(),
                b"s",
            ));
            for region in 0..if i < with_regions { regions } else { 0 } {
                pairs.push(kv(
                    format!("/tidb/br-stream/checkpoint/{task}/region/{region}/1").as_bytes(),
                    b"r",
                ));
            }
        }
        pairs
    }

    #[test]
    fn region_keys_are_counted_in_the_same_txn_unless_several_tasks_have_to_share_them() {
        // No region keys: two round trips whatever the number of tasks.
        let snap = Snapshot::from_pairs(cluster(100, 0, 0));
        assert_eq!((snap.round_trips, snap.region_keys.len()), (2, 0));
        assert_eq!(snap.checkpoint.len(), 200);
        // One task: the keys counted but not downloaded are its region keys.
        let snap = Snapshot::from_pairs(cluster(1, 1, 30));
        assert_eq!(snap.round_trips, 2);
        assert_eq!(snap.region_keys, vec![(b"t000".to_vec(), 30)]);
        assert_eq!(snap.checkpoint.len(), 2, "region keys are never downloaded");
        // Several tasks and some region keys: one more Txn counts them per task.
        let snap = Snapshot::from_pairs(cluster(3, 2, 7));
        assert_eq!(snap.round_trips, 3);
        assert_eq!(
            snap.region_keys,
            vec![(b"t000".to_vec(), 7), (b"t001".to_vec(), 7)]
        );
        assert_eq!(snap.checkpoint.len(), 6);
        assert_eq!(snap.checkpoint_keys, 6 + 14);
    }

    #[test]
    fn region_keys_are_counted_not_downloaded_and_the_rest_is_kept() {
        let mut pairs = vec![
            kv(b"/tidb/br-stream/info/a", b""),
            kv(b"/tidb/br-stream/info/b", b""),
            kv(
                b"/tidb/br-stream/checkpoint/a/\x00\x00\x00\x00\x00\x00\x00\x04",
                b"1",
            ),
            kv(b"/tidb/br-stream/checkpoint/a/central_global", b"2"),
            kv(b"/tidb/br-stream/checkpoint/a/store/1", b"3"),
            kv(b"/tidb/br-stream/checkpoint/b/store/1", b"4"),
            kv(b"/tidb/br-stream/checkpoint/orphan/central_global", b"5"),
            kv(b"/tidb/br-stream/pause/b", b""),
            kv(b"/pd/cluster_id", b"\x00\x00\x00\x00\x00\x00\x00\x07"),
            kv(b"/pd/cluster_id_other", b"x"),
        ];
        for region in 0..50 {
            pairs.push(kv(
                format!("/tidb/br-stream/checkpoint/a/region/{region}/1").as_bytes(),
                b"r",
            ));
        }
        let snap = Snapshot::from_pairs(pairs);
        let checkpoint_values: Vec<&[u8]> = snap
            .checkpoint
            .iter()
            .map(|kv| kv.value.as_slice())
            .collect();
        assert_eq!(checkpoint_values, vec![&b"1"[..], b"2", b"3", b"4", b"5"]);
        assert_eq!(snap.region_keys, vec![(b"a".to_vec(), 50)]);
        assert_eq!(snap.pause.len(), 1);
        assert_eq!(
            snap.cluster_id.as_deref(),
            Some(&b"\x00\x00\x00\x00\x00\x00\x00\x07"[..])
        );
        assert_eq!(
            snap.round_trips, 3,
            "two tasks, region keys: counted per task"
        );
    }

    #[test]
    fn download_ranges_never_overlap_when_names_sort_differently_from_keys() {
        let tasks = vec![b"a".to_vec(), b"a-b".to_vec(), b"a.b".to_vec()];
        let ops = plan(&tasks).concat();
        // The download ranges and the region prefixes between them tile the prefix.
        let mut pieces: Vec<(Vec<u8>, Vec<u8>)> = ops
            .iter()
            .filter(|op| op.target == Target::Checkpoint)
            .map(|op| (op.start.clone(), op.end.clone()))
            .collect();
        for (region, _) in region_prefixes(&tasks) {
            let end = keys::prefix_end(&region);
            pieces.push((region, end));
        }
        pieces.sort();
        for pair in pieces.windows(2) {
            assert_eq!(
                pair[0].1, pair[1].0,
                "ranges must tile the checkpoint prefix"
            );
        }
        assert_eq!(pieces.first().unwrap().0, keys::CHECKPOINT);
        assert_eq!(pieces.last().unwrap().1, keys::prefix_end(keys::CHECKPOINT));
        let count = ops.last().unwrap();
        assert_eq!(count.target, Target::CheckpointCount);
        assert!(count.count_only);
    }

    #[test]
    fn a_region_prefix_inside_another_never_moves_the_cursor_back() {
        let tasks = vec![b"a".to_vec(), b"a/region/x".to_vec(), b"b".to_vec()];
        let region_a = b"/tidb/br-stream/checkpoint/a/region/".to_vec();
        let region_a_end = keys::prefix_end(&region_a);
        for op in plan(&tasks).concat() {
            if op.target == Target::Checkpoint {
                let overlaps = op.start < region_a_end && (op.end.is_empty() || region_a < op.end);
                assert!(!overlaps, "{op:?} downloads region keys of a");
            }
        }
    }

    #[test]
    fn debug_never_shows_values() {
        let printed = format!("{:?}", kv(b"/tidb/br-stream/info/a", b"SECRET"));
        assert!(!printed.contains("SECRET"));
        assert!(printed.contains("6 bytes"));
    }
}

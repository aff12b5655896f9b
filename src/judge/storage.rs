//! `--storage`: what the backup storage says can be restored, against what etcd claims
//! (docs/storage.md). BR's rules (`br log metadata`, `br restore point`, the migrations'
//! `Load`): restorable_from = max(log start, truncate safepoint, `truncated_to` of BASE and
//! of every migration layer), restorable_to = max(restorable_from, the CRR resume state's
//! `last_checkpoint` when there is one, else the newest `global_checkpoint` file); a full
//! backup is a PITR base when restorable_from ≤ its end_version ≤ restorable_to. Beside
//! them, the storage locks and their ages.

use super::policy::StoragePolicy;
use super::verdict::{Judged, Metric};
use crate::model::Task;
use crate::range::Range;
use crate::service_state::State;
use crate::storage::{
    flush_ms, FullMeta, LogRead, LogStorage, StorageFacts, FLUSH_WINDOW_MS, MAX_LOCKS,
    MAX_MIGRATION_LAYERS, RESUME_STATE,
};
use crate::tso;

use super::verdict::{LockView, StorageView};

/// How far ahead of now a storage's time may be (clock skew) before it is not believed.
const FUTURE_SKEW_MS: u64 = 5 * 60 * 1000;

fn date(ts: u64) -> String {
    tso::br_date(tso::physical_ms(ts))
}

/// A value against optional warning and critical ranges.
fn judge_value(
    out: &mut Judged,
    value: u64,
    warn: Option<Range>,
    crit: Option<Range>,
    text: impl Fn(&Range) -> String,
) {
    let v = value as f64;
    if let Some(c) = crit.filter(|r| r.alerts(v)) {
        out.push(State::Critical, text(&c));
    } else if let Some(w) = warn.filter(|r| r.alerts(v)) {
        out.push(State::Warning, text(&w));
    }
}

/// The storage rules for one task: `None` storage means it was not read for this task.
pub fn judge(
    task: &Task,
    storage: &LogStorage,
    facts: &StorageFacts,
    policy: &StoragePolicy,
    now_ms: u64,
) -> (Judged, StorageView) {
    let mut out = Judged::default();
    let mut view = StorageView {
        state: "unreadable",
        requests: Some(storage.requests),
        ..StorageView::default()
    };
    let url = &storage.url;
    let read = match &storage.read {
        Ok(read) => read,
        Err(e) if storage.refused => {
            view.state = "refused";
            out.push(
                policy.unreachable_state,
                format!("backup storage {url} refused: {e}"),
            );
            return (out, view);
        }
        Err(e) => {
            out.push(
                policy.unreachable_state,
                format!("backup storage {url} unreadable: {e}"),
            );
            return (out, view);
        }
    };
    view.state = "ok";
    let believed = |out: &mut Judged, what: &str, ts: u64| {
        believable(
            out,
            url,
            what,
            tso::physical_ms(ts),
            now_ms,
            "not used for the window",
        )
    };
    // BR's `Load` folds the safepoint file into BASE and merges every layer: the
    // truncation point is the largest of them all (docs/storage.md#migration-layers).
    let base_and_file = [
        ("the truncate safepoint", read.truncate_safepoint),
        ("v1/migrations/BASE", read.base_truncated_to.unwrap_or(0)),
    ]
    .into_iter()
    .filter(|(what, ts)| believed(&mut out, what, *ts))
    .map(|(_, ts)| ts)
    .max()
    .unwrap_or(0);
    let mut truncate = base_and_file;
    let mut beyond_base: Option<(&str, u64)> = None;
    for (name, ts) in &read.layer_truncated_to {
        if !believed(&mut out, &format!("v1/migrations/{name}"), *ts) {
            continue;
        }
        if *ts > truncate {
            truncate = *ts;
            beyond_base = Some((name, *ts));
        }
    }
    view.truncate_ts = Some(truncate);
    view.migration_layers = Some(read.migration_layers);
    if let Some((name, ts)) = beyond_base {
        out.push(
            State::Ok,
            format!(
                "{url}: migration layer v1/migrations/{name} truncates to {}, past BASE and the safepoint file: a truncation not merged into BASE yet (BR counts it)",
                date(ts)
            ),
        );
    }
    if read.migration_layers > MAX_MIGRATION_LAYERS {
        out.push(
            State::Warning,
            format!(
                "{url}: {} in v1/migrations/, only the newest {MAX_MIGRATION_LAYERS} read: restorable_from may be earlier than BR's (br log truncate merges them into BASE)",
                crate::text::plural(read.migration_layers, "migration layer")
            ),
        );
    }
    let mut checkpoints: Vec<u64> = Vec::new();
    for (store, ts) in &read.global_checkpoints {
        if believed(&mut out, &format!("v1/global_checkpoint/{store}.ts"), *ts) && *ts > 0 {
            checkpoints.push(*ts);
        }
    }
    let checkpoint = checkpoints.into_iter().max();
    view.storage_checkpoint_ts = checkpoint;
    // The newest BR takes the CRR resume state's last_checkpoint as the upper bound
    // instead of the checkpoint files (docs/storage.md#the-crr-resume-state).
    let resume = match &read.resume_state {
        None => None,
        Some(Err(e)) => {
            out.push(
                State::Warning,
                format!(
                    "{url}: {RESUME_STATE} holds no last_checkpoint ({e}): TiKV's compact-log-backup refuses this storage; the window uses the checkpoint files"
                ),
            );
            None
        }
        Some(Ok(ts)) => {
            view.resume_state_checkpoint_ts = Some(*ts);
            believed(&mut out, RESUME_STATE, *ts).then_some(*ts)
        }
    };
    for prefix in &read.cut_listings {
        out.push(
            State::Ok,
            format!("{url}: the listing of {prefix} was cut at its page budget"),
        );
    }
    locks(&mut out, &mut view, url, read, policy, now_ms);
    let root = match &read.backupmeta {
        None => {
            out.push(
                State::Critical,
                format!("{url} is not a log backup storage: it has no backupmeta"),
            );
            None
        }
        Some(Err(e)) => {
            out.push(
                State::Critical,
                format!("{url} is not a log backup storage: {e}"),
            );
            None
        }
        Some(Ok(m)) if m.end_version > 0 => {
            out.push(
                State::Critical,
                format!(
                    "{url} is not a log backup storage: its backupmeta is a full backup's (end_version {})",
                    m.end_version
                ),
            );
            None
        }
        Some(Ok(m)) => Some(*m),
    };
    // TiKV writes the file before the etcd key, so the file is never behind the key.
    let etcd_max = task.storage_checkpoints.iter().map(|s| s.ts).max();
    if let Some(key) = etcd_max.filter(|k| *k > checkpoint.unwrap_or(0)) {
        out.push(
            State::Warning,
            format!(
                "storage holds an older checkpoint than TiKV reported: wrong bucket or rolled back? ({} in {url}, {} in etcd)",
                checkpoint.map_or("none".to_string(), date),
                date(key)
            ),
        );
    }
    let Some(root) = root else {
        return (out, view);
    };
    let from = root.start_version.max(truncate);
    let to = from.max(resume.or(checkpoint).unwrap_or(0));
    if let Some(resume) = resume {
        resume_state(&mut out, url, resume, checkpoint);
    }
    let window = (tso::physical_ms(to).saturating_sub(tso::physical_ms(from))) / 1000;
    view.restorable_from_ts = Some(from);
    view.restorable_to_ts = Some(to);
    view.window_seconds = Some(window);
    judge_value(
        &mut out,
        window,
        policy.window_warning,
        policy.window_critical,
        |r| {
            format!(
                "restorable window {} {} ({} .. {})",
                tso::human_duration(window),
                super::lag::describe_violation(r),
                date(from),
                date(to)
            )
        },
    );
    out.metrics.push(Metric::seconds(
        "restorable_window",
        Some(window),
        policy.window_warning,
        policy.window_critical,
    ));
    let flush_age = read
        .newest_flush
        .map(|f| now_ms.saturating_sub(flush_ms(f)) / 1000);
    view.newest_flush_age_seconds = flush_age;
    match flush_age {
        Some(age) => judge_value(
            &mut out,
            age,
            policy.flush_age_warning,
            policy.flush_age_critical,
            |r| {
                format!(
                    "newest flush in {url} {} ago {}",
                    tso::human_duration(age),
                    super::lag::describe_violation(r)
                )
            },
        ),
        None if policy.flush_age_warning.is_some() || policy.flush_age_critical.is_some() => out
            .push(
                if policy.flush_age_critical.is_some() {
                    State::Critical
                } else {
                    State::Warning
                },
                format!(
                    "no meta file flushed to {url} since {} before the checkpoint",
                    tso::human_duration(FLUSH_WINDOW_MS / 1000)
                ),
            ),
        None => {}
    }
    if read.suspicious_metas > 0 {
        out.push(
            State::Ok,
            format!(
                "{} flushed while PD gave no TSO (flush ts 0 or SYNTHETIC)",
                crate::text::plural(read.suspicious_metas, "meta file")
            ),
        );
    }
    out.metrics.push(Metric::seconds(
        "newest_flush_age",
        flush_age,
        policy.flush_age_warning,
        policy.flush_age_critical,
    ));
    if facts.full_backups_asked {
        full_backups(
            &mut out,
            &mut view,
            root.cluster_id,
            from,
            to,
            facts,
            policy,
            now_ms,
        );
    }
    (out, view)
}

/// Full backups that did not finish (a `backup.lock` or `checkpoints/` without a
/// `backupmeta`): the newest attempt unfinished for longer than
/// `--full-incomplete-warning` is a WARNING; every one is listed with its start.
fn unfinished(
    out: &mut Judged,
    incomplete: &[(&str, u64)],
    all: &[crate::storage::FullBackup],
    policy: &StoragePolicy,
    now_ms: u64,
) {
    let Some(&(url, since)) = incomplete.iter().max_by_key(|(_, since)| *since) else {
        return;
    };
    // The newest finished backup's time (its backupmeta's ts, else its last-modified).
    let newest_done = all
        .iter()
        .filter_map(|b| match &b.read {
            Ok(FullMeta::Decoded(m)) => Some(tso::physical_ms(m.end_version)),
            Ok(FullMeta::Encrypted { modified_ms }) => Some(*modified_ms),
            Err(_) => None,
        })
        .max()
        .unwrap_or(0);
    let age = now_ms.saturating_sub(since) / 1000;
    if since > newest_done && age > policy.full_incomplete_warning {
        out.push(
            State::Warning,
            format!(
                "the last full backup did not finish: {url} started {}, {} ago (failed, or still running)",
                tso::br_date(since),
                tso::human_duration(age)
            ),
        );
    }
    let listed: Vec<String> = incomplete
        .iter()
        .take(5)
        .map(|(url, since)| {
            if *since == 0 {
                format!("{url} (checkpoints only)")
            } else {
                format!("{url} (started {})", tso::br_date(*since))
            }
        })
        .collect();
    out.push(
        State::Ok,
        format!(
            "{} (failed, or still running): {}{}",
            crate::text::plural(incomplete.len(), "unfinished full backup"),
            listed.join(", "),
            if incomplete.len() > listed.len() {
                ", …"
            } else {
                ""
            }
        ),
    );
}

/// `--verify`: the chain's data files, checked a few requests per run (docs/storage.md).
/// A missing or short file past the truncation point is CRITICAL: a restore past its data
/// would fail; the proven restore points stop before it.
pub fn verification(storage: &LogStorage, view: &mut StorageView) -> Judged {
    let mut out = Judged::default();
    let Ok(read) = &storage.read else {
        return out;
    };
    let Some(verified) = &read.verified else {
        return out;
    };
    let verified = match verified {
        Ok(v) => v,
        Err(e) => {
            out.push(State::Unknown, format!("log chain not verified: {e}"));
            return out;
        }
    };
    let state = &verified.state;
    let from = view.restorable_from_ts.unwrap_or(0);
    let missing: Vec<_> = state.missing.iter().filter(|m| m.min_ts >= from).collect();
    let mut proven = state.verified_to_ts;
    for m in &missing {
        proven = proven.min(m.min_ts.saturating_sub(1));
        let what = match m.have {
            None => "is missing".to_string(),
            Some(have) => format!("has {have} of {} bytes", m.need),
        };
        out.push(
            State::Critical,
            format!(
                "a restore past {} would fail: {} (referenced by {}) {what}",
                date(m.min_ts),
                // A compacted SST's key is about 130 characters.
                crate::text::shown(&m.path, 200),
                crate::text::shown(&m.meta, 120)
            ),
        );
    }
    if let Some(why) = &verified.undecodable {
        out.push(
            State::Unknown,
            format!(
                "log chain unverified from {}: {}",
                date(state.verified_to_ts),
                crate::text::shown(why, 200)
            ),
        );
    }
    if verified.timed_out {
        out.push(
            State::Ok,
            format!(
                "log chain verified to {}; this run's verification ran out of time (-t) before the storage answered, it goes on next run",
                date(state.verified_to_ts)
            ),
        );
    }
    if verified.backlog > 0 {
        out.push(
            State::Ok,
            format!(
                "log chain verified to {}; {} still to verify (--verify-budget)",
                date(state.verified_to_ts),
                crate::text::plural(verified.backlog, "meta")
            ),
        );
    }
    match &read.compactions {
        None => {}
        Some(Err(e)) => out.push(
            State::Unknown,
            format!("compactions not verified: {}", crate::text::shown(e, 200)),
        ),
        Some(Ok(c)) => {
            for p in &c.problems {
                out.push(State::Unknown, crate::text::shown(p, 300));
            }
            if c.more_problems > 0 {
                out.push(
                    State::Unknown,
                    format!(
                        "{} more unverified",
                        crate::text::plural(c.more_problems, "compaction")
                    ),
                );
            }
            if c.backlog > 0 {
                out.push(
                    State::Ok,
                    format!(
                        "{} of {} verified; {} still to verify (--verify-budget)",
                        c.verified,
                        crate::text::plural(c.live, "compaction"),
                        c.backlog
                    ),
                );
            }
            if c.beyond_cap > 0 {
                out.push(
                    State::Ok,
                    format!(
                        "{} past the newest {} not verified",
                        crate::text::plural(c.beyond_cap, "compaction"),
                        crate::storage::MAX_COMPACTIONS
                    ),
                );
            }
            // A restore past a compaction not fully checked is not proven.
            if let Some(from) = c.unproven_from_ts {
                proven = proven.min(from.saturating_sub(1));
            }
        }
    }
    let verified_to = (state.verified_to_ts > 0).then_some(state.verified_to_ts);
    view.verified_to_ts = verified_to;
    view.verified_restorable_to_ts = verified_to.map(|_| proven);
    view.verify_backlog_metas = Some(verified.backlog as u64);
    view.verify_by_name_metas = Some(verified.by_name as u64);
    view.log_bytes_per_hour = Some(state.recent.iter().map(|(_, b)| *b).sum());
    view.verify_state = Some(state.clone());
    out.metrics
        .push(Metric::count("verify_backlog", verified.backlog as f64));
    if let Some(bytes) = view.log_bytes_per_hour {
        let mut m = Metric::count("log_bytes_per_hour", bytes as f64);
        m.uom = "B";
        out.metrics.push(m);
    }
    out
}

/// The cluster's identity: the log storage's `backupmeta.cluster_id` (the PD cluster id BR
/// recorded when the task started) against the live cluster's, read in the same etcd
/// snapshot. Another cluster's log backup (a copied config, a reused bucket) is
/// CRITICAL: restoring from it would bring back another cluster's data.
pub fn identity(storage: &LogStorage, live: Option<u64>) -> Judged {
    let mut out = Judged::default();
    let Ok(read) = &storage.read else {
        return out;
    };
    if let (Some(Ok(root)), Some(live)) = (&read.backupmeta, live) {
        if root.cluster_id != 0 && root.cluster_id != live {
            out.push(
                State::Critical,
                format!(
                    "storage {} holds the log backup of cluster {}, this is cluster {live}",
                    storage.url, root.cluster_id
                ),
            );
        }
    }
    out
}

/// Whether a time the storage claims (Unix ms) is believable: beyond now and a little
/// clock skew it is not, and a WARNING says so.
fn believable(out: &mut Judged, url: &str, what: &str, ms: u64, now_ms: u64, not: &str) -> bool {
    if ms > now_ms + FUTURE_SKEW_MS {
        out.push(
            State::Warning,
            format!(
                "{url}: {what} claims a time in the future ({}): {not}",
                tso::br_date(ms)
            ),
        );
        return false;
    }
    true
}

/// The CRR resume state against the checkpoint files: BR believes the resume state; a
/// value the files do not reach claims a range nothing is known to have written.
fn resume_state(out: &mut Judged, url: &str, resume: u64, checkpoint: Option<u64>) {
    match checkpoint {
        Some(files) if resume <= files => {
            if resume < files {
                out.push(
                    State::Ok,
                    format!(
                        "restorable to {} as BR takes it from {RESUME_STATE} in {url} (the checkpoint files reach {})",
                        date(resume),
                        date(files)
                    ),
                );
            }
        }
        Some(files) => out.push(
            State::Warning,
            format!(
                "BR would accept restore points up to {} that the storage's checkpoint files do not prove (only up to {}): {RESUME_STATE} in {url} from another replication lineage?",
                date(resume),
                date(files)
            ),
        ),
        None => out.push(
            State::Warning,
            format!(
                "BR would accept restore points up to {} that the storage's checkpoint files do not prove (there are none): {RESUME_STATE} in {url} from another replication lineage?",
                date(resume)
            ),
        ),
    }
}

/// Who takes a lock (tikv/tikv:components/external_storage/src/locking.rs,
/// pingcap/tidb:br/pkg/stream/stream_metas.go, br/pkg/task/stream.go).
fn lock_holder(name: &str) -> &'static str {
    match name {
        "truncating.lock" => "br log truncate",
        "v1/LOCK.WRIT" => "a truncation merging the migrations",
        "v1/APPEND_LOCK.WRIT" => "a compaction appending a migration",
        n if n.starts_with("v1/LOCK.READ.") => "a restore or a compaction",
        _ => "a truncation, compaction or restore",
    }
}

/// The storage locks: each one's age against `--storage-lock-stale`.
fn locks(
    out: &mut Judged,
    view: &mut StorageView,
    url: &str,
    read: &LogRead,
    policy: &StoragePolicy,
    now_ms: u64,
) {
    let mut views = Vec::new();
    for lock in &read.locks {
        let name = &lock.name;
        let age = believable(
            out,
            url,
            &format!("lock {name}"),
            lock.modified_ms,
            now_ms,
            "its age is not judged",
        )
        .then(|| now_ms.saturating_sub(lock.modified_ms) / 1000);
        match age {
            Some(age) if age > policy.lock_stale => out.push(
                State::Warning,
                format!(
                    "{url}: lock {name} is {} old, over {}: left by {} that died? It blocks the next truncation and compaction until removed",
                    tso::human_duration(age),
                    tso::human_duration(policy.lock_stale),
                    lock_holder(name)
                ),
            ),
            Some(age) => out.push(
                State::Ok,
                format!(
                    "{url}: lock {name} held for {}: {} is running",
                    tso::human_duration(age),
                    lock_holder(name)
                ),
            ),
            None => {}
        }
        views.push(LockView {
            name: name.clone(),
            age_seconds: age,
        });
    }
    if read.more_locks > 0 {
        out.push(
            State::Ok,
            format!(
                "{url}: {} more lock{} not shown (the oldest {MAX_LOCKS} are)",
                read.more_locks,
                if read.more_locks == 1 { "" } else { "s" }
            ),
        );
    }
    view.locks = Some(views);
}

/// The full-backup base: BR's `br restore point` checks, without restoring anything.
#[allow(clippy::too_many_arguments)]
fn full_backups(
    out: &mut Judged,
    view: &mut StorageView,
    log_cluster: u64,
    from: u64,
    to: u64,
    facts: &StorageFacts,
    policy: &StoragePolicy,
    now_ms: u64,
) {
    view.bases_asked = true;
    // (ts, approximate, size)
    let mut valid: Vec<(u64, bool, Option<u64>)> = Vec::new();
    let mut rejected: Vec<String> = Vec::new();
    let mut incomplete: Vec<(&str, u64)> = Vec::new();
    for backup in &facts.full_backups {
        if let Some(since) = backup.incomplete_since_ms {
            incomplete.push((&backup.url, since));
            continue;
        }
        let (ts, approximate, size) = match &backup.read {
            Err(e) => {
                rejected.push(format!("{}: {e}", backup.url));
                continue;
            }
            Ok(FullMeta::Encrypted { modified_ms }) => {
                (tso::from_physical_ms(*modified_ms), true, None)
            }
            Ok(FullMeta::Decoded(m)) => {
                if m.is_raw_kv {
                    rejected.push(format!("{}: a raw-KV backup", backup.url));
                    continue;
                }
                if m.cluster_id != 0 && log_cluster != 0 && m.cluster_id != log_cluster {
                    rejected.push(format!(
                        "{}: from cluster {}, the log from cluster {log_cluster}",
                        backup.url, m.cluster_id
                    ));
                    continue;
                }
                (m.end_version, false, m.backup_size)
            }
        };
        if ts < from || ts > to {
            rejected.push(format!(
                "{}: {} outside the log window",
                backup.url,
                date(ts)
            ));
            continue;
        }
        valid.push((ts, approximate, size));
        view.bases.push((backup.url.clone(), ts, approximate));
    }
    for (root, e) in &facts.root_errors {
        out.push(
            policy.unreachable_state,
            format!("full backup root {root} unreadable: {e}"),
        );
    }
    unfinished(out, &incomplete, &facts.full_backups, policy, now_ms);
    if let Some(min) = policy.full_min_count.filter(|min| valid.len() < *min) {
        out.push(
            State::Warning,
            format!(
                "{} inside the log window, fewer than --full-min-count {min}",
                crate::text::plural(valid.len(), "valid full backup")
            ),
        );
    }
    let Some(&(newest, approximate, size)) = valid.iter().max_by_key(|(ts, _, _)| *ts) else {
        let why = if rejected.is_empty() {
            "none found".to_string()
        } else {
            rejected.join("; ")
        };
        out.push(
            State::Critical,
            format!(
                "PITR impossible: no full backup inside the log window [{}, {}] ({why})",
                date(from),
                date(to)
            ),
        );
        out.metrics.push(Metric::seconds(
            "full_backup_age",
            None,
            policy.full_age_warning,
            policy.full_age_critical,
        ));
        return;
    };
    let age = now_ms.saturating_sub(tso::physical_ms(newest)) / 1000;
    view.full_backup_ts = Some(newest);
    view.full_backup_age_seconds = Some(age);
    view.full_backup_approximate = approximate;
    view.full_backup_bytes = size;
    view.pitr_restorable_from_ts = valid.iter().map(|(ts, _, _)| *ts).min();
    let about = if approximate { "about " } else { "" };
    judge_value(
        out,
        age,
        policy.full_age_warning,
        policy.full_age_critical,
        |r| {
            format!(
                "newest full backup {about}{} old {}",
                tso::human_duration(age),
                super::lag::describe_violation(r)
            )
        },
    );
    if approximate {
        out.push(
            State::Ok,
            "the newest full backup's backupmeta is encrypted: its time is the object's last-modified time, approximate",
        );
    }
    out.metrics.push(Metric::seconds(
        "full_backup_age",
        Some(age),
        policy.full_age_warning,
        policy.full_age_critical,
    ));
    if let Some(bytes) = size {
        let mut m = Metric::count("full_backup_bytes", bytes as f64);
        m.uom = "B";
        out.metrics.push(m);
    }
}

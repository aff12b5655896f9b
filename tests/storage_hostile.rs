//! `--storage` against a hostile storage (issue N, "Tried"): each test plays the attacker
//! who can write a task's info into etcd or the objects of its bucket, or who runs the
//! endpoint, against the real servers the suite runs (a local directory, moto behind the
//! recording proxy, Azurite). Every run is measured: its peak RSS stays under
//! [`RSS_LIMIT_KIB`] whatever the storage holds or sends (one run, an endless body read
//! under the default 16 MiB cap, is bounded against the same run under a 2 MiB cap: the
//! debug binary's own floor is already ~25 MB).

use crate::common::check_measured;
use check_tidb_log_backup::snapshot::Kv;
use std::time::{Duration, Instant, SystemTime};
use testkit::encode::{kv, s3_task_info, tso_rfc3339 as at, tso_span, S3Keys};
use testkit::layout::{Flush, LogStorage};
use testkit::recorder::{Mode, Recorder};
use testkit::sink::{Sink, TempDir};
use testkit::{fixture_path, Etcd, Fixture, Run, S3Server};

const NOW: &str = "2024-01-01T01:05:00Z";
/// The most a run may hold, whatever the storage sends: 32 MiB.
const RSS_LIMIT_KIB: u64 = 32 * 1024;
const BUCKET: &str = "pitr-logs";
const PREFIX: &str = "prod/log";

/// The host's own credentials, in the environment of every run that could leak them.
const HOST_KEY: &str = "AKIAHOSTKEY000000000";
const HOST_TOKEN: &str = "HOSTTOKEN0000000000000000000";
const HOST_ENV: &[(&str, &str)] = &[
    ("AWS_ACCESS_KEY_ID", HOST_KEY),
    (
        "AWS_SECRET_ACCESS_KEY",
        "hostsecretaccesskey0000000000000000000000",
    ),
    ("AWS_SESSION_TOKEN", HOST_TOKEN),
];

/// The requests one run sends to a storage holding [`small_layout`] (S3): Tier A (GET
/// backupmeta, the safepoint, BASE, one LIST page of `v1/global_checkpoint/`, GET 1.ts),
/// one freshness LIST page, and the control objects (one LIST page of `v1/migrations/`,
/// GET `truncating.lock`, one LIST page of `v1/`'s locks, GET the resume state).
const SMALL_LAYOUT_REQUESTS: usize = 10;

fn start_ts() -> u64 {
    at("2024-01-01T00:00:00Z")
}

/// A small valid log storage: started 00:00, one store's checkpoint file at 00:59:30, one
/// flush at 01:01:00 (window 59m30s, newest flush 4 min old at [`NOW`]).
fn small_layout() -> testkit::store::Objects {
    LogStorage::new(start_ts())
        .checkpoint(1, at("2024-01-01T00:59:30Z"))
        .flush(Flush::new(1, at("2024-01-01T01:01:00Z")))
        .objects()
}

/// v71-running.toml (task `pitr` running, etcd checkpoints up to 00:59:30) with `info` as
/// the task's info value.
fn pitr_with_info(info: Vec<u8>) -> Vec<Kv> {
    let mut pairs = Fixture::load(&fixture_path("v71-running.toml"))
        .unwrap()
        .pairs(SystemTime::now())
        .unwrap();
    let slot = pairs
        .iter_mut()
        .find(|kv| kv.key == b"/tidb/br-stream/info/pitr")
        .unwrap();
    slot.value = info;
    pairs
}

fn write_config(dir: &TempDir, name: &str, text: &str) -> String {
    let path = dir.path.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// A measured run at [`NOW`] against `etcd`, asserting the RSS bound; also returns the
/// wall time.
fn run(etcd: &Etcd, config: &str, extra: &[&str], env: &[(&str, &str)]) -> (Run, u64, Duration) {
    let mut args = vec![
        "--pd",
        &etcd.endpoint,
        "--no-pd-api",
        "--now",
        NOW,
        "--config",
        config,
    ];
    args.extend_from_slice(extra);
    let started = Instant::now();
    let (out, rss) = check_measured(&args, env);
    let took = started.elapsed();
    assert!(
        rss <= RSS_LIMIT_KIB,
        "peak RSS {rss} KiB > {RSS_LIMIT_KIB} KiB for {extra:?}\n{}",
        out.stdout
    );
    (out, rss, took)
}

fn ndjson_task(run: &Run) -> serde_json::Value {
    serde_json::from_str(run.stdout.lines().next().unwrap()).unwrap()
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Every header value of every request the recorder saw, as one text.
fn all_header_text(recorder: &Recorder) -> String {
    recorder
        .headers()
        .iter()
        .flatten()
        .map(|(k, v)| format!("{k}: {v}\n"))
        .collect()
}

/// "Tried", item 1 of issue N:
///
/// > A task whose info names the S3 endpoint `http://127.0.0.2:PORT` got five GETs
/// > signed with the host's ambient key and the session token in clear, over plain http.
/// > With `storage_credentials = "task"`, a task that carries no keys still gets the host's.
/// > A 307 redirect to another host is followed and the session token is re-sent there.
#[test]
fn an_endpoint_named_in_etcd_gets_nothing_it_was_not_given() {
    let s3 = S3Server::start();
    s3.create_bucket(BUCKET);
    Sink::S3(&s3, BUCKET).write(PREFIX, &small_layout());
    let evil = Recorder::start_at("127.0.0.2", &s3.endpoint());
    let endpoint = evil.endpoint();
    let etcd = Etcd::start();
    let info = |keys: Option<S3Keys>| {
        pitr_with_info(s3_task_info(
            "pitr",
            start_ts(),
            BUCKET,
            PREFIX,
            &endpoint,
            keys,
        ))
    };
    etcd.load_pairs(&info(None));
    let dir = TempDir::new("hostile-trust");
    let host = write_config(&dir, "host.toml", "storage = true\n");

    // Not allowed: never contacted, whatever the state asked for.
    let refused = format!(
        "pitr: backup storage s3://{BUCKET}/{PREFIX} refused: the task info names the endpoint {endpoint}, which is not an Amazon S3 endpoint: not contacted (allow it with --allow-storage-endpoint)"
    );
    let (out, _, _) = run(&etcd, &host, &[], HOST_ENV);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.stdout
            .starts_with("TIDB_LOG_BACKUP WARNING - pitr: backup storage "),
        "{}",
        out.stdout
    );
    assert_eq!(
        out.stdout.lines().nth(1).unwrap(),
        format!(
            "[WARNING] pitr: NORMAL, {}; checkpoint lag 5m30s",
            refused.strip_prefix("pitr: ").unwrap()
        )
    );
    let (out, _, _) = run(
        &etcd,
        &host,
        &[
            "--storage-unreachable-state",
            "critical",
            "--format",
            "ndjson",
        ],
        HOST_ENV,
    );
    assert_eq!(out.code, 2, "{}", out.stdout);
    let t = ndjson_task(&out);
    assert_eq!(t["storage_state"], "refused", "{}", out.stdout);
    assert_eq!(t["storage_requests"], 0);
    assert_eq!(
        t["reasons"][0].as_str().unwrap(),
        refused.strip_prefix("pitr: ").unwrap()
    );
    assert_eq!(evil.requests(), vec![], "a refused endpoint was contacted");

    // Allowed by the operator: the host's credentials go there, and the window is read.
    let allow = ["--allow-storage-endpoint", endpoint.as_str()];
    let (out, _, _) = run(
        &etcd,
        &host,
        &[&allow[..], &["--format", "ndjson"]].concat(),
        HOST_ENV,
    );
    let t = ndjson_task(&out);
    assert_eq!(t["storage_state"], "ok", "{}", out.stdout);
    assert_eq!(t["restorable_window_seconds"], 3570, "{}", out.stdout);
    assert_eq!(t["newest_flush_age_seconds"], 240);
    let seen = evil.requests();
    assert_eq!(seen.len(), SMALL_LAYOUT_REQUESTS, "{seen:?}");
    assert_eq!(t["storage_requests"], SMALL_LAYOUT_REQUESTS);
    assert_eq!(evil.signed(), SMALL_LAYOUT_REQUESTS);
    for h in evil.headers() {
        let auth = header(&h, "authorization").unwrap_or_default();
        assert!(auth.contains(&format!("Credential={HOST_KEY}/")), "{auth}");
        assert_eq!(header(&h, "x-amz-security-token"), Some(HOST_TOKEN));
    }

    // The task's own credentials: a task without keys is read unsigned, never with the
    // host's; a task with keys signs with its own, and nothing of the host's goes along.
    let task = write_config(
        &dir,
        "task.toml",
        "storage = true\nstorage_credentials = \"task\"\n",
    );
    evil.clear();
    let (out, _, _) = run(
        &etcd,
        &task,
        &[&allow[..], &["--format", "ndjson"]].concat(),
        HOST_ENV,
    );
    // moto, like S3, denies unsigned reads of a private bucket: every first read (Tier
    // A's four, the freshness LIST, the control objects' four) was sent, unsigned, and
    // denied; the `.ts` GET never came.
    let t = ndjson_task(&out);
    assert_eq!(t["storage_state"], "unreadable", "{}", out.stdout);
    assert!(
        t["reasons"][0].as_str().unwrap().starts_with(&format!(
            "backup storage s3://{BUCKET}/{PREFIX} unreadable: GET backupmeta: "
        )) && t["reasons"][0].as_str().unwrap().contains("403 Forbidden"),
        "{}",
        out.stdout
    );
    assert_eq!(
        evil.requests().len(),
        SMALL_LAYOUT_REQUESTS - 1,
        "{:?}",
        evil.requests()
    );
    assert_eq!(t["storage_requests"], SMALL_LAYOUT_REQUESTS - 1);
    assert_eq!(evil.signed(), 0, "{}", all_header_text(&evil));
    let text = all_header_text(&evil);
    assert!(
        !text.contains(HOST_KEY) && !text.contains(HOST_TOKEN),
        "{text}"
    );

    etcd.load_pairs(&info(Some(S3Keys {
        access_key: "AKIATASKKEY000000000",
        secret_access_key: "tasksecretaccesskey0000000000000000000000",
        session_token: "TASKTOKEN",
    })));
    evil.clear();
    let (out, _, _) = run(
        &etcd,
        &task,
        &[&allow[..], &["--format", "ndjson"]].concat(),
        HOST_ENV,
    );
    let t = ndjson_task(&out);
    assert_eq!(t["storage_state"], "ok", "{}", out.stdout);
    assert_eq!(evil.signed(), SMALL_LAYOUT_REQUESTS);
    for h in evil.headers() {
        let auth = header(&h, "authorization").unwrap_or_default();
        assert!(auth.contains("Credential=AKIATASKKEY000000000/"), "{auth}");
        assert_eq!(header(&h, "x-amz-security-token"), Some("TASKTOKEN"));
    }
    let text = all_header_text(&evil);
    assert!(
        !text.contains(HOST_KEY) && !text.contains(HOST_TOKEN),
        "{text}"
    );

    // A redirect elsewhere is not followed: the other host gets nothing.
    etcd.load_pairs(&info(None));
    let elsewhere = Recorder::start(&s3.endpoint());
    evil.set_redirect(&format!("http://127.0.0.1:{}/x", elsewhere.port()));
    evil.clear();
    let (out, _, _) = run(&etcd, &host, &allow, HOST_ENV);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.stdout.starts_with(&format!(
            "TIDB_LOG_BACKUP WARNING - pitr: backup storage s3://{BUCKET}/{PREFIX} unreadable: redirected to 127.0.0.1: redirects are not followed ("
        )),
        "{}",
        out.stdout
    );
    assert!(!evil.requests().is_empty());
    assert_eq!(elsewhere.requests(), vec![], "the redirect was followed");
}

/// "Tried", item 2 of issue N:
///
/// > An S3 endpoint such as `::::`, `http://[`, `http://host:99999` in any task's info
/// > panics inside object_store; the panic is caught, but the whole run becomes `UNKNOWN -
/// > internal error`, ndjson reports `"tasks":0`, and a failed task's CRITICAL is gone.
/// > `--full-backup 's3://b/p?endpoint=::::'` passes option parsing.
#[test]
fn a_malformed_endpoint_costs_only_its_own_task() {
    let etcd = Etcd::start();
    let dir = TempDir::new("hostile-endpoint");
    // Task pitr failed (pause-v2-error.toml: a TiKV fatal error, CRITICAL); its storage is
    // a valid local one. Task evil runs, its info naming a malformed endpoint.
    let log = dir.path.join("log");
    Sink::Dir(&log).write("", &small_layout());
    let config = write_config(
        &dir,
        "config.toml",
        &format!(
            "storage = true\n[tasks.pitr.storage]\nurl = \"local://{}\"\n",
            log.display()
        ),
    );
    let failed = Fixture::load(&fixture_path("pause-v2-error.toml"))
        .unwrap()
        .pairs(SystemTime::now())
        .unwrap();
    for (bad, why) in [
        ("::::", "relative URL without a base"),
        ("http://[", "invalid IPv6 address"),
        ("http://host:99999", "invalid port number"),
    ] {
        let mut pairs = failed.clone();
        pairs.push(kv(
            "/tidb/br-stream/info/evil",
            s3_task_info("evil", start_ts(), BUCKET, PREFIX, bad, None),
        ));
        pairs.push(kv(
            "/tidb/br-stream/storage-checkpoint/evil/1",
            at("2024-01-01T01:04:00Z").to_be_bytes(),
        ));
        etcd.load_pairs(&pairs);
        let (out, _, _) = run(&etcd, &config, &["--format", "ndjson"], HOST_ENV);
        assert_eq!(out.code, 2, "{bad}: {}", out.stdout);
        assert_eq!(out.stderr, "", "{bad}");
        assert!(!out.stdout.contains("internal error"), "{}", out.stdout);
        let lines: Vec<serde_json::Value> = out
            .stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let summary = lines.last().unwrap();
        assert_eq!(summary["tasks"], 2, "{bad}: {}", out.stdout);
        assert_eq!(summary["state"], "CRITICAL");
        assert_eq!(
            (summary["critical"].clone(), summary["warning"].clone()),
            (1.into(), 1.into())
        );
        let task = |name: &str| lines.iter().find(|l| l["task"] == name).unwrap().clone();
        let evil = task("evil");
        assert_eq!(evil["state"], "WARNING", "{bad}: {}", out.stdout);
        assert_eq!(evil["storage_state"], "unreadable");
        assert_eq!(evil["storage_requests"], 0);
        assert_eq!(
            evil["reasons"],
            serde_json::json!([
                format!("backup storage s3://{BUCKET}/{PREFIX} unreadable: the task info names an invalid endpoint '{bad}': {why}"),
                "checkpoint lag 1m0s"
            ])
        );
        let pitr = task("pitr");
        assert_eq!(pitr["state"], "CRITICAL", "{bad}: {}", out.stdout);
        assert_eq!(pitr["storage_state"], "ok");
        assert_eq!(pitr["restorable_window_seconds"], 3570);
    }

    // On the command line, the same endpoint is a usage error that names it.
    let (out, _, _) = run(
        &etcd,
        &config,
        &["--full-backup", "s3://b/p?endpoint=::::"],
        &[],
    );
    assert_eq!(out.code, 3, "{}", out.stdout);
    assert_eq!(
        out.stdout,
        "TIDB_LOG_BACKUP UNKNOWN - --full-backup: invalid storage URL 's3://b/p': invalid endpoint '::::': relative URL without a base\n"
    );
}

/// Every output format at the verbosities that print the most.
const OUTPUTS: &[&[&str]] = &[
    &[],
    &["-vvv"],
    &["--format", "ndjson"],
    &["--format", "table", "-vvv"],
    &["--format", "br-json"],
];

/// A file of `bytes` zeros that takes no disk (sparse).
fn sparse(path: &std::path::Path, bytes: u64) {
    std::fs::File::create(path)
        .and_then(|f| f.set_len(bytes))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

/// "Tried", item 3 of issue N:
///
/// > Every GET body is read whole: a 200 MB backupmeta → 398 MB RSS; a chunked 2 GB
/// > reply → 2.1 GB RSS inside `-t`. A 200 MB truncate-safepoint file is echoed into
/// > ndjson (one 200 MB line) and the table (270 MB).
#[test]
fn huge_objects_and_endless_replies_hold_bounded_memory() {
    let etcd = Etcd::start();
    etcd.load(&["v71-running.toml"]);
    let dir = TempDir::new("hostile-huge");
    let log = dir.path.join("log");
    let local = write_config(
        &dir,
        "local.toml",
        &format!(
            "storage = true\n[tasks.pitr.storage]\nurl = \"local://{}\"\n",
            log.display()
        ),
    );
    let url = format!("local://{}", log.display());

    // A 200 MB backupmeta: not read, a finding.
    Sink::Dir(&log).write("", &small_layout());
    sparse(&log.join("backupmeta"), 200 << 20);
    let (out, _, _) = run(&etcd, &local, &[], &[]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert_eq!(
        out.stdout.lines().nth(1).unwrap(),
        format!("[WARNING] pitr: NORMAL, backup storage {url} unreadable: backupmeta is 200 MiB, over --storage-max-object 16 MiB; checkpoint lag 5m30s"),
    );

    // A truncate safepoint of 200 MB (not read) and of 1 MiB of text (read, not echoed):
    // every output stays small.
    std::fs::remove_dir_all(&log).unwrap();
    Sink::Dir(&log).write("", &small_layout());
    let safepoint = log.join(testkit::layout::SAFEPOINT_FILE);
    for (size, want) in [
        (
            200u64 << 20,
            "v1_stream_trancate_safepoint.txt is 200 MiB, over --storage-max-object 16 MiB"
                .to_string(),
        ),
        (
            1 << 20,
            format!(
                "v1_stream_trancate_safepoint.txt holds '{}…', not a TSO",
                "7".repeat(120)
            ),
        ),
    ] {
        if size > 16 << 20 {
            sparse(&safepoint, size);
        } else {
            std::fs::write(&safepoint, vec![b'7'; size as usize]).unwrap();
        }
        for output in OUTPUTS {
            let (out, _, _) = run(&etcd, &local, output, &[]);
            assert!(
                out.stdout.len() < 16 << 10,
                "{size} B safepoint, {output:?}: {} B of output",
                out.stdout.len()
            );
            if output.is_empty() {
                assert_eq!(out.code, 1, "{}", out.stdout);
                assert_eq!(
                    out.stdout.lines().nth(1).unwrap(),
                    format!("[WARNING] pitr: NORMAL, backup storage {url} unreadable: {want}; checkpoint lag 5m30s"),
                );
            }
        }
    }

    // moto, then Azurite, behind an endpoint that answers every object GET with an endless
    // chunked body under a small Content-Length: each read cut at the cap, one at a time,
    // within the deadline. The debug binary's own floor is ~25 MB, so the absolute bound
    // is shown with a 2 MiB cap (five GETs of 2 MiB at once, as before the reads took
    // turns, exceed it); with the default 16 MiB cap the run holds at most the difference
    // more (110 MB before the turns).
    let s3 = S3Server::start();
    s3.create_bucket(BUCKET);
    Sink::S3(&s3, BUCKET).write(PREFIX, &small_layout());
    let recorder = Recorder::start(&s3.endpoint());
    let s3_config = write_config(
        &dir,
        "s3.toml",
        &s3_storage_config(&dir, &recorder.endpoint()),
    );
    let azurite = testkit::Azurite::start();
    azurite.create_container("pitr");
    Sink::Azure(&azurite, "pitr").write("log", &small_layout());
    let azure_recorder = Recorder::start(&azurite.endpoint());
    std::fs::write(dir.path.join("azure.key"), azurite.key()).unwrap();
    let azure_config = write_config(
        &dir,
        "azure.toml",
        &format!(
            "storage = true\n[tasks.pitr.storage]\nurl = \"azure://pitr/log?account-name={}&endpoint={}\"\nazure_key_file = \"{}\"\n",
            azurite.account(),
            azure_recorder.endpoint(),
            dir.path.join("azure.key").display()
        ),
    );
    recorder.set_mode(Mode::HugeBody);
    azure_recorder.set_mode(Mode::HugeBody);
    let mut capped_rss = 0;
    for (config, url) in [
        (&s3_config, format!("s3://{BUCKET}/{PREFIX}")),
        (&azure_config, "azure://pitr/log".to_string()),
    ] {
        let (out, rss, took) = run(
            &etcd,
            config,
            &["-t", "5", "--storage-max-object", "2MiB"],
            &[],
        );

        capped_rss = capped_rss.max(rss);
        assert!(took < Duration::from_millis(5500), "took {took:?}");
        assert_eq!(out.code, 1, "{}", out.stdout);
        assert_eq!(
            out.stdout.lines().nth(1).unwrap(),
            format!("[WARNING] pitr: NORMAL, backup storage {url} unreadable: backupmeta sent more than --storage-max-object 2 MiB (announced as 64 B); checkpoint lag 5m30s"),
        );
    }
    let (out, rss) = check_measured(
        &[
            "--pd",
            &etcd.endpoint,
            "--no-pd-api",
            "--now",
            NOW,
            "--config",
            &s3_config,
            "-t",
            "5",
        ],
        &[],
    );
    assert!(
        out.stdout.contains(&format!("backup storage s3://{BUCKET}/{PREFIX} unreadable: backupmeta sent more than --storage-max-object 16 MiB (announced as 64 B)")),
        "{}",
        out.stdout
    );
    assert!(
        rss <= capped_rss + (14 << 10) + (2 << 10),
        "default cap: peak RSS {rss} KiB, more than 14 MiB (and 2 MiB of slack) above the 2 MiB cap's {capped_rss} KiB"
    );

    // A listing that never ends: cut at the page budget (20 pages and the one that shows
    // there is more), for the checkpoint files and the flushes alike.
    recorder.set_mode(Mode::EndlessList);
    recorder.clear();
    let (out, _, took) = run(&etcd, &s3_config, &["-t", "10", "--format", "ndjson"], &[]);
    assert!(took < Duration::from_millis(10500), "took {took:?}");
    // No `.ts` among the endless names: the storage's checkpoint is missing; the newest
    // "flush" is an endless name's last-modified time.
    let t = ndjson_task(&out);
    assert_eq!(t["storage_state"], "ok", "{}", out.stdout);
    let url = format!("s3://{BUCKET}/{PREFIX}");
    assert_eq!(
        t["reasons"],
        serde_json::json!([
            format!("storage holds an older checkpoint than TiKV reported: wrong bucket or rolled back? (none in {url}, 2024-01-01 00:59:30 +0000 in etcd)"),
            "checkpoint lag 5m30s",
            format!("{url}: the listing of v1/global_checkpoint/ was cut at its page budget"),
            format!("{url}: the listing of v1/migrations/ was cut at its page budget"),
            format!("{url}: the listing of v1/backupmeta/ was cut at its page budget"),
        ])
    );
    assert_eq!(t["newest_flush_age_seconds"], 3900);
    // 21 pages per listing (the 21st shows there is more) of the checkpoint files, the
    // flushes and the migration layers; one of the locks (it stops past `v1/LOCK`); GETs
    // of backupmeta, the safepoint, BASE, truncating.lock and the resume state: all
    // counted.
    assert_eq!(recorder.lists().len(), 3 * 21 + 1);
    assert_eq!(recorder.requests().len(), 3 * 21 + 1 + 5);
    assert_eq!(t["storage_requests"], 3 * 21 + 1 + 5);
}

/// The `[tasks.pitr.storage]` of moto (or a recorder before it) at `endpoint`, with
/// moto's dummy keys in files.
fn s3_storage_config(dir: &TempDir, endpoint: &str) -> String {
    format!(
        "storage = true\n[tasks.pitr.storage]\n{}",
        testkit::s3::storage_table(&dir.path, BUCKET, PREFIX, endpoint)
    )
}

/// "Tried", item 4 of issue N:
///
/// > The newest-flush LIST reads one page of 1,000 keys from 30 minutes before the
/// > checkpoint: with 2,400 metas (200 stores) it reported "newest flush 17m8s ago" when
/// > the newest was 10 s old. The `v1/global_checkpoint/` listing also stops at 1,000
/// > files without saying so. `storage_requests` counts a 403-page LIST as 1.
#[test]
fn listings_are_read_to_their_end_and_every_request_counts() {
    let etcd = Etcd::start();
    etcd.load(&["v71-running.toml"]);
    let dir = TempDir::new("hostile-scale");

    // 200 stores flushing every 175 s, the newest flush 10 s before now: 2,400 metas
    // after the listing's start (etcd's checkpoint 00:59:30 minus 30 minutes), 3 pages of
    // moto's 1,000, and one older flush per store at 00:25 that the listing skips.
    let newest = at("2024-01-01T01:04:50Z");
    let mut flushes = Vec::new();
    for store in 1..=200u64 {
        let last = newest - tso_span(Duration::from_millis((store - 1) * 800));
        for k in 0..12 {
            flushes
                .push(Flush::new(store, last - tso_span(Duration::from_secs(175 * k))).data_len(0));
        }
        let old = at("2024-01-01T00:25:00Z") + tso_span(Duration::from_millis(store));
        flushes.push(Flush::new(store, old).data_len(0));
    }
    let listed_from = at("2024-01-01T00:29:30Z");
    let in_window = flushes.iter().filter(|f| f.flush_ts > listed_from).count();
    assert_eq!((flushes.len(), in_window), (2600, 2400));
    let objects = LogStorage::new(start_ts())
        .checkpoint(1, at("2024-01-01T00:59:30Z"))
        .flushes(flushes)
        .objects();
    let s3 = S3Server::start();
    s3.create_bucket(BUCKET);
    Sink::S3(&s3, BUCKET).write(PREFIX, &objects);
    let recorder = Recorder::start(&s3.endpoint());
    let config = write_config(
        &dir,
        "s3.toml",
        &s3_storage_config(&dir, &recorder.endpoint()),
    );
    let (out, _, _) = run(&etcd, &config, &["--format", "ndjson"], &[]);
    let t = ndjson_task(&out);
    assert_eq!(t["storage_state"], "ok", "{}", out.stdout);
    assert_eq!(t["newest_flush_age_seconds"], 10, "{}", out.stdout);
    assert_eq!(t["reasons"], serde_json::json!(["checkpoint lag 5m30s"]));
    // The small layout's reads, with 3 freshness pages instead of 1.
    let lists = recorder.lists();
    assert_eq!(lists.len(), 6, "{lists:?}");
    assert_eq!(recorder.requests().len(), SMALL_LAYOUT_REQUESTS + 2);
    assert_eq!(t["storage_requests"], SMALL_LAYOUT_REQUESTS + 2);

    // Denied LIST pages count as sent requests too: five GETs, four denied LISTs.
    recorder.set_mode(Mode::DenyList);
    recorder.clear();
    let (out, _, _) = run(&etcd, &config, &["--format", "ndjson"], &[]);
    let t = ndjson_task(&out);
    assert_eq!(t["storage_state"], "unreadable", "{}", out.stdout);
    assert_eq!(recorder.requests().len(), 9, "{:?}", recorder.requests());
    assert_eq!(t["storage_requests"], 9);

    // 5,000 stores' checkpoint files, every one read, the newest store 5000's. In a local
    // directory: moto answers ~150 requests a second here, and 5,000 uploads and 5,000
    // GETs would take a minute. (Its pages are shown above and with Mode::EndlessList.)
    let log = dir.path.join("log");
    let mut storage = LogStorage::new(start_ts());
    let top = at("2024-01-01T00:59:30Z");
    for store in 1..=5000u64 {
        storage = storage.checkpoint(
            store,
            top - tso_span(Duration::from_millis((5000 - store) * 100)),
        );
    }
    Sink::Dir(&log).write("", &storage.objects());
    let local = write_config(
        &dir,
        "local.toml",
        &format!(
            "storage = true\n[tasks.pitr.storage]\nurl = \"local://{}\"\n",
            log.display()
        ),
    );
    let (out, _, _) = run(&etcd, &local, &["--format", "ndjson"], &[]);
    let t = ndjson_task(&out);
    assert_eq!(t["storage_checkpoint_ts"], top, "{}", out.stdout);
    assert_eq!(t["restorable_window_seconds"], 3570);
    // backupmeta, safepoint, BASE, the LIST, 5,000 GETs, the freshness LIST; the control
    // objects' four operations.
    assert_eq!(t["storage_requests"], 5009);
}

/// "Tried", item 5 of issue N:
///
/// > A 0-byte backupmeta (or `/dev/zero`) is judged OK (start 0). A `.ts` of u64::MAX
/// > gives a 2,173-year window; a checkpoint or safepoint in the future is accepted. A
/// > password in an endpoint's userinfo (`http://KEY:SECRET@host`) is printed in error
/// > text in nagios, ndjson and table.
#[test]
fn values_a_storage_cannot_make_believed() {
    let etcd = Etcd::start();
    etcd.load(&["v71-running.toml"]);
    let dir = TempDir::new("hostile-values");
    let log = dir.path.join("log");
    let config = write_config(
        &dir,
        "local.toml",
        &format!(
            "storage = true\n[tasks.pitr.storage]\nurl = \"local://{}\"\n",
            log.display()
        ),
    );
    let url = format!("local://{}", log.display());
    let layout = |storage: LogStorage| {
        let _ = std::fs::remove_dir_all(&log);
        Sink::Dir(&log).write(
            "",
            &storage.checkpoint(1, at("2024-01-01T00:59:30Z")).objects(),
        );
    };

    // An empty backupmeta, and one of /dev/zero: not a log backup storage.
    for zero in [false, true] {
        layout(LogStorage::new(start_ts()));
        let backupmeta = log.join("backupmeta");
        std::fs::remove_file(&backupmeta).unwrap();
        if zero {
            std::os::unix::fs::symlink("/dev/zero", &backupmeta).unwrap();
        } else {
            std::fs::write(&backupmeta, b"").unwrap();
        }
        let (out, _, _) = run(&etcd, &config, &[], &[]);
        assert_eq!(out.code, 2, "{}", out.stdout);
        assert_eq!(
            out.stdout.lines().nth(1).unwrap(),
            format!("[CRITICAL] pitr: NORMAL, {url} is not a log backup storage: its backupmeta is empty; checkpoint lag 5m30s")
        );
    }

    // A checkpoint file of u64::MAX, a truncate safepoint and a BASE in the future: each a
    // WARNING, none used, the window the real one.
    let future = at("2030-01-01T00:00:00Z");
    for (storage, what, date) in [
        (
            LogStorage::new(start_ts()).checkpoint(2, u64::MAX),
            "v1/global_checkpoint/2.ts",
            "4199-11-24 01:22:57.663 +0000",
        ),
        (
            LogStorage::new(start_ts()).safepoint(future),
            "the truncate safepoint",
            "2030-01-01 00:00:00 +0000",
        ),
        (
            LogStorage::new(start_ts()).migration_truncated_to(future),
            "v1/migrations/BASE",
            "2030-01-01 00:00:00 +0000",
        ),
    ] {
        layout(storage);
        let (out, _, _) = run(&etcd, &config, &["--format", "ndjson"], &[]);
        let t = ndjson_task(&out);
        assert_eq!(t["state"], "WARNING", "{}", out.stdout);
        assert_eq!(t["restorable_from"], "2024-01-01T00:00:00.000Z", "{what}");
        assert_eq!(t["restorable_to"], "2024-01-01T00:59:30.000Z", "{what}");
        assert_eq!(t["restorable_window_seconds"], 3570, "{what}");
        assert_eq!(
            t["reasons"],
            serde_json::json!([
                format!(
                    "{url}: {what} claims a time in the future ({date}): not used for the window"
                ),
                "checkpoint lag 5m30s"
            ]),
        );
    }

    // Credentials written into a task info's endpoint reach no output, whatever fails.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let endpoint = format!("http://KEY:SECRETPASS@127.0.0.1:{closed}");
    etcd.load_pairs(&pitr_with_info(s3_task_info(
        "pitr",
        start_ts(),
        BUCKET,
        PREFIX,
        &endpoint,
        None,
    )));
    let plain = write_config(&dir, "plain.toml", "storage = true\n");
    let allow = format!("http://127.0.0.1:{closed}");
    for output in OUTPUTS.iter().chain([&["-v"][..]].iter()) {
        for allowed in [false, true] {
            let mut args = output.to_vec();
            if allowed {
                args.extend(["--allow-storage-endpoint", allow.as_str()]);
            }
            let (out, _, _) = run(&etcd, &plain, &args, HOST_ENV);
            for text in [&out.stdout, &out.stderr] {
                assert!(
                    !text.contains("SECRETPASS") && !text.contains("KEY:"),
                    "{args:?}: {text}"
                );
            }
            if output.is_empty() {
                let want = if allowed {
                    "unreadable: GET backupmeta: ".to_string()
                } else {
                    format!("refused: the task info names the endpoint {allow}, ")
                };
                assert!(out.stdout.contains(&want), "{args:?}: {}", out.stdout);
            }
        }
    }
}

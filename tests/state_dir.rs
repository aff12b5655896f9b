//! The state directory's trust checks, end to end on the built binary (docs/state.md): a
//! directory that is a symlink, owned by another user or writable by group or others is
//! refused (one informational finding, nothing written, the tasks judged as usual); a
//! planted link is never followed; temp files of killed runs are removed; a new directory
//! is 0700 and the file 0600; the default order.
//!
//! These tests run as root (as CI and `scripts/test` do): the attacker is user nobody
//! (65534), switched to with `setpriv`, against a root run of the check.

use crate::common::{check, check_env};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use testkit::Etcd;

const NOBODY: u32 = 65534;

/// demo.toml (times relative to now) in a fresh etcd: pitr OK, pitr_archive paused, and
/// pitr_local failed, so exit 2.
fn demo() -> Etcd {
    let etcd = Etcd::start();
    etcd.load(&["demo.toml"]);
    etcd
}

/// A fresh directory for one test under the temp dir, 0755 so that nobody can reach
/// inside it, removed first in case a run was killed.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ctlb-statedir-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    chmod(&dir, 0o755);
    dir
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path).unwrap().mode() & 0o7777
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// One ndjson run: the exit code, each task's (name, state, status), the summary's state
/// and run-level reasons.
#[derive(Debug, PartialEq)]
struct Judged {
    code: i32,
    tasks: Vec<(String, String, String)>,
    state: String,
    reasons: Vec<String>,
}

fn judged(run: &testkit::Run) -> Judged {
    assert_eq!(run.stderr, "", "nothing on stderr");
    let events: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let text = |v: &serde_json::Value| v.as_str().unwrap().to_string();
    let summary = events.last().unwrap();
    assert_eq!(summary["kind"], "summary", "{}", run.stdout);
    Judged {
        code: run.code,
        tasks: events
            .iter()
            .filter(|e| e["kind"] == "task")
            .map(|e| (text(&e["task"]), text(&e["state"]), text(&e["status"])))
            .collect(),
        state: text(&summary["state"]),
        reasons: summary["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .map(text)
            .collect(),
    }
}

/// The check against `etcd` in ndjson, with `extra` arguments.
fn run(etcd: &Etcd, extra: &[&str]) -> Judged {
    let mut args = vec!["--pd", &etcd.endpoint, "--no-pd-api", "--format", "ndjson"];
    args.extend_from_slice(extra);
    judged(&check(&args))
}

fn with_dir(etcd: &Etcd, dir: &Path) -> Judged {
    run(etcd, &["--state-dir", dir.to_str().unwrap()])
}

/// The verdict without any state: what a run with a refused directory must still say,
/// plus its one finding.
fn baseline(etcd: &Etcd) -> Judged {
    let judged = run(etcd, &["--no-state"]);
    assert_eq!(judged.code, 2, "{judged:?}");
    assert_eq!(judged.reasons, Vec::<String>::new(), "{judged:?}");
    judged
}

/// `judged` is `baseline` plus exactly the finding `reason`.
fn refused_but_judged(judged: Judged, baseline: &Judged, reason: &str) {
    assert_eq!(judged.reasons, [reason]);
    assert_eq!(
        (judged.code, &judged.tasks, &judged.state),
        (baseline.code, &baseline.tasks, &baseline.state)
    );
}

/// The state file's stem for this cluster (demo.toml has no cluster id, so the endpoint),
/// learnt from a run in a throwaway directory.
fn stem(etcd: &Etcd, scratch: &Path) -> String {
    let dir = scratch.join("learn-the-name");
    with_dir(etcd, &dir);
    let file = names(&dir)
        .into_iter()
        .find(|n| n.ends_with(".json"))
        .expect("a state file");
    std::fs::remove_dir_all(&dir).unwrap();
    file.trim_end_matches(".json").to_string()
}

/// Runs `script` (perl) as user nobody, group nogroup, no supplementary groups.
fn as_nobody(script: &str, args: &[&Path]) {
    let status = Command::new("setpriv")
        .args([
            &format!("--reuid={NOBODY}"),
            &format!("--regid={NOBODY}"),
            "--clear-groups",
            "perl",
            "-e",
            script,
        ])
        .args(args)
        .status()
        .expect("setpriv (util-linux) and perl");
    assert!(status.success(), "the attacker's script failed: {status}");
}

fn assert_root() {
    let uid = std::fs::metadata("/proc/self").unwrap().uid();
    assert_eq!(
        uid, 0,
        "the state directory tests run as root (as CI and scripts/test do): the attacker is nobody"
    );
}

/// The attack: an unprivileged user plants links where the check writes, at the lock and
/// at the temp file names a pid-named writer would use (every pid the check can get),
/// pointing at root's files. A root run must create and
/// truncate nothing through them, say why it keeps no state, and judge the tasks as
/// without state.
#[test]
fn links_planted_by_another_user_are_never_followed() {
    assert_root();
    let etcd = demo();
    let base = scratch("attack");
    let stem = stem(&etcd, &base);
    let expected = baseline(&etcd);
    // Root's files: one the lock link would create, one the temp links would truncate.
    let victims = base.join("victims");
    std::fs::create_dir(&victims).unwrap();
    chmod(&victims, 0o755);
    let created = victims.join("created");
    let truncated = victims.join("truncated");
    std::fs::write(&truncated, "precious").unwrap();
    // The attacker's directory (nobody's own), and a root directory anyone may write to.
    let owned = base.join("owned-by-nobody");
    std::fs::create_dir(&owned).unwrap();
    std::os::unix::fs::chown(&owned, Some(NOBODY), Some(NOBODY)).unwrap();
    chmod(&owned, 0o700);
    let shared = base.join("world-writable");
    std::fs::create_dir(&shared).unwrap();
    chmod(&shared, 0o777);
    let plant = r#"
        my ($dir, $stem, $created, $truncated) = @ARGV;
        symlink($created, "$dir/$stem.lock") or die "lock: $!";
        sub number { open(my $f, "<", "/proc/sys/kernel/$_[0]") or die "$_[0]: $!"; 0 + <$f> }
        # Every pid there is when pids wrap at 32768 (the default), else the next 20000.
        my ($max, $last) = (number("pid_max"), number("ns_last_pid"));
        my @pids = $max <= 65536 ? (1 .. $max) : ($last + 1 .. $last + 20000);
        for my $pid (@pids) {
            symlink($truncated, "$dir/$stem.tmp.$pid") or die "tmp: $!";
        }
    "#;
    for (dir, why) in [
        (
            &owned,
            format!("it is owned by uid {NOBODY}, not by the running user (uid 0)"),
        ),
        (
            &shared,
            "it is writable by group or others (mode 0777)".into(),
        ),
    ] {
        as_nobody(plant, &[dir, Path::new(&stem), &created, &truncated]);
        let planted = names(dir);
        assert!(planted.len() > 20000, "{} links planted", planted.len());
        let judged = with_dir(&etcd, dir);
        let kept = std::fs::read_to_string(&truncated).unwrap();
        assert!(
            !created.exists() && kept == "precious",
            "through the links: {} created: {}; {} holds {kept:?}",
            created.display(),
            created.exists(),
            truncated.display()
        );
        assert_eq!(names(dir), planted, "the check changed {}", dir.display());
        refused_but_judged(
            judged,
            &expected,
            &format!(
                "state directory {} refused: {why} (no state kept)",
                dir.display()
            ),
        );
    }
    std::fs::remove_dir_all(&base).unwrap();
}

#[test]
fn a_state_dir_that_is_a_symlink_is_refused() {
    let etcd = demo();
    let base = scratch("symlink");
    let expected = baseline(&etcd);
    let real = base.join("real");
    std::fs::create_dir(&real).unwrap();
    chmod(&real, 0o700);
    let link = base.join("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let judged = with_dir(&etcd, &link);
    assert_eq!(
        names(&real),
        Vec::<String>::new(),
        "written through the link"
    );
    refused_but_judged(
        judged,
        &expected,
        &format!(
            "state directory {} refused: it is a symlink (no state kept)",
            link.display()
        ),
    );
    // The same directory by its real name is used.
    assert_eq!(with_dir(&etcd, &real).reasons, Vec::<String>::new());
    assert_eq!(names(&real).len(), 2, "the state file and its lock");
    std::fs::remove_dir_all(&base).unwrap();
}

#[test]
fn a_state_dir_of_another_user_or_writable_by_others_is_refused() {
    assert_root();
    let etcd = demo();
    let base = scratch("untrusted");
    let expected = baseline(&etcd);
    let dir = base.join("state");
    std::fs::create_dir(&dir).unwrap();
    chmod(&dir, 0o700);
    std::os::unix::fs::chown(&dir, Some(NOBODY), Some(NOBODY)).unwrap();
    let judged = with_dir(&etcd, &dir);
    assert_eq!(
        names(&dir),
        Vec::<String>::new(),
        "written as root into nobody's"
    );
    refused_but_judged(
        judged,
        &expected,
        &format!(
            "state directory {} refused: it is owned by uid {NOBODY}, not by the running user (uid 0) (no state kept)",
            dir.display()
        ),
    );
    std::os::unix::fs::chown(&dir, Some(0), Some(0)).unwrap();
    for bits in [0o770, 0o702] {
        chmod(&dir, bits);
        let judged = with_dir(&etcd, &dir);
        assert_eq!(
            names(&dir),
            Vec::<String>::new(),
            "written at mode {bits:04o}"
        );
        refused_but_judged(
            judged,
            &expected,
            &format!(
                "state directory {} refused: it is writable by group or others (mode {bits:04o}) (no state kept)",
                dir.display()
            ),
        );
    }
    std::fs::remove_dir_all(&base).unwrap();
}

/// `kill -9` while writing leaves the temp file behind: the next run removes it (under the
/// lock no temp file can be in use), and only this cluster's.
#[test]
fn temp_files_left_by_killed_runs_are_removed() {
    let etcd = demo();
    let base = scratch("stale");
    let dir = base.join("state");
    assert_eq!(with_dir(&etcd, &dir).reasons, Vec::<String>::new());
    let before = names(&dir);
    let stem = before[0].trim_end_matches(".json").to_string();
    assert_eq!(before, [format!("{stem}.json"), format!("{stem}.lock")]);
    // What killed runs leave: the pid-named temp file of earlier versions and a random one.
    for left in ["tmp.31337", "tmp.5f1e0c2b9d7a4e86"] {
        std::fs::write(dir.join(format!("{stem}.{left}")), "{ torn").unwrap();
    }
    std::fs::write(dir.join("throughput-another-cluster.tmp.1"), "").unwrap();
    assert_eq!(with_dir(&etcd, &dir).reasons, Vec::<String>::new());
    let mut after = before.clone();
    after.push("throughput-another-cluster.tmp.1".into());
    after.sort();
    assert_eq!(names(&dir), after);
    std::fs::remove_dir_all(&base).unwrap();
}

#[test]
fn a_new_state_dir_is_0700_and_its_files_0600() {
    let etcd = demo();
    let base = scratch("modes");
    let dir = base.join("parent/state");
    assert_eq!(with_dir(&etcd, &dir).reasons, Vec::<String>::new());
    assert_eq!(mode(&base.join("parent")), 0o700, "the parent it created");
    assert_eq!(mode(&dir), 0o700);
    for name in names(&dir) {
        assert_eq!(mode(&dir.join(&name)), 0o600, "{name}");
    }
    std::fs::remove_dir_all(&base).unwrap();
}

/// `$XDG_STATE_HOME` first, else `~/.local/state`; never a name in the shared temp dir.
#[test]
fn the_default_state_dir_follows_xdg_then_home() {
    let etcd = demo();
    let base = scratch("default");
    let xdg = base.join("xdg");
    let home = base.join("home");
    std::fs::create_dir(&home).unwrap();
    let default = |env: &[(&str, &str)]| {
        judged(&check_env(
            &["--pd", &etcd.endpoint, "--no-pd-api", "--format", "ndjson"],
            env,
        ))
    };
    let (xdg_text, home_text) = (xdg.to_str().unwrap(), home.to_str().unwrap());
    let first = default(&[("XDG_STATE_HOME", xdg_text), ("HOME", home_text)]);
    assert_eq!(first.reasons, Vec::<String>::new());
    assert_eq!(names(&xdg.join("check_tidb_log_backup")).len(), 2);
    assert!(!home.join(".local").exists());
    // Unset or relative (ignored, as the XDG spec says): ~/.local/state.
    for unset in ["", "relative/state"] {
        let run = default(&[("XDG_STATE_HOME", unset), ("HOME", home_text)]);
        assert_eq!(run.reasons, Vec::<String>::new());
    }
    assert!(
        !Path::new("relative").exists(),
        "a relative $XDG_STATE_HOME was used"
    );
    let state = home.join(".local/state/check_tidb_log_backup");
    assert_eq!(names(&state).len(), 2);
    assert_eq!(mode(&home.join(".local")), 0o700);
    assert_eq!(mode(&state), 0o700);
    // Neither: /var/lib/check_tidb_log_backup when the packages made it for this user,
    // else no state, and never the old /tmp/check_tidb_log_backup-$USER.
    let old = std::env::temp_dir().join("check_tidb_log_backup-nobody-knows");
    let neither = default(&[
        ("XDG_STATE_HOME", ""),
        ("HOME", ""),
        ("USER", "nobody-knows"),
    ]);
    assert!(!old.exists(), "{} was created", old.display());
    assert_eq!(neither.tasks, first.tasks);
    if !Path::new("/var/lib/check_tidb_log_backup").exists() {
        assert_eq!(
            neither.reasons,
            ["no state directory ($HOME is not set; /var/lib/check_tidb_log_backup does not exist): set --state-dir (no state kept)"]
        );
    }
    std::fs::remove_dir_all(&base).unwrap();
}

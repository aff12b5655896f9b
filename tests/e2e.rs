mod common;
use common::{check, Etcd};

#[test]
fn baseline_fixture_nagios() {
    let etcd = Etcd::start();
    etcd.load(&["v71-running.toml"]);
    let run = check(&[
        "--pd",
        &etcd.endpoint,
        "--now",
        "2024-01-01T01:05:00Z",
        "-vv",
    ]);
    println!("{}", run.stdout);
    assert_eq!(run.code, 0);
    assert_eq!(run.stderr, "");
}

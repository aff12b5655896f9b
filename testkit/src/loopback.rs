//! Tests never leave loopback. Without credentials, object_store's credential chains ask
//! the cloud metadata services (169.254.169.254, …), and without an endpoint a client
//! goes to the cloud itself. `testkit/loopback.env` lists the variables that point every
//! such fallback at [`CLOSED`], a loopback port nothing listens on, and the ones to drop
//! (the developer's credentials and proxies). scripts/test applies the file to the whole
//! `cargo test` (and runs it in a loopback-only network namespace where the machine
//! allows it); [`isolate`] applies it to each check binary a test runs, so a plain
//! `cargo test` gets it too.

use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::Command;

/// The closed port: 9 (discard), below the kernel's ephemeral range, so no test server
/// on a free port ([`crate::spawn::free_port`]) can ever take it.
pub const CLOSED_PORT: u16 = 9;
/// `127.0.0.1:9`, as the redirected endpoints name it.
pub const CLOSED: &str = "127.0.0.1:9";

/// The file scripts/test reads too.
pub const ENV_FILE: &str = include_str!("../loopback.env");

/// What `loopback.env` says: the names and `PREFIX*` patterns to drop, then the
/// variables to set.
pub struct Environment {
    pub unset: Vec<&'static str>,
    pub set: Vec<(&'static str, &'static str)>,
}

/// Parses [`ENV_FILE`] (`#` comments, `unset NAME PREFIX* …`, `NAME=value`).
pub fn environment() -> Environment {
    let mut env = Environment {
        unset: Vec::new(),
        set: Vec::new(),
    };
    for line in ENV_FILE.lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(names) = line.strip_prefix("unset ") {
            env.unset.extend(names.split_whitespace());
        } else if let Some((name, value)) = line.split_once('=') {
            env.set.push((name, value));
        } else {
            panic!("testkit/loopback.env: cannot read line {line:?}");
        }
    }
    env
}

impl Environment {
    /// Whether `name` is one of the variables to drop.
    pub fn drops(&self, name: &OsStr) -> bool {
        let Some(name) = name.to_str() else {
            return false;
        };
        self.unset
            .iter()
            .any(|pattern| match pattern.strip_suffix('*') {
                Some(prefix) => name.starts_with(prefix),
                None => name == *pattern,
            })
    }
}

/// The home of the checks a test runs, one per test process, also their
/// `XDG_STATE_HOME` (every run keeps a state file: never in the user's own home). Not
/// the user's home, for object_store's GCS client reads
/// `~/.config/gcloud/application_default_credentials.json`, whose token exchange would
/// go to Google.
pub fn home() -> PathBuf {
    std::env::temp_dir().join(format!("ctlb-state-{}", std::process::id()))
}

/// Gives `command` the loopback-only environment: drops what [`ENV_FILE`] drops (from
/// the inherited environment and from what `command` already sets), sets every
/// redirected endpoint, and `HOME` and `XDG_STATE_HOME` to [`home`]. Variables set on
/// `command` afterwards win, so a test may still give a credential on purpose.
pub fn isolate(command: &mut Command) -> &mut Command {
    let env = environment();
    let inherited = std::env::vars_os().map(|(name, _)| name);
    let explicit: Vec<_> = command.get_envs().map(|(n, _)| n.to_owned()).collect();
    for name in inherited.chain(explicit) {
        if env.drops(&name) {
            command.env_remove(name);
        }
    }
    command
        .envs(env.set.iter().copied())
        .env("HOME", home())
        .env("XDG_STATE_HOME", home())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::io::ErrorKind;
    use std::net::TcpStream;
    use std::time::Duration;

    /// The port every fallback points at does refuse: nothing listens on it here (in
    /// the namespace or on the host), so a redirected request fails at once.
    #[test]
    fn the_closed_port_refuses_connections() {
        let address = CLOSED.parse().unwrap();
        let error = TcpStream::connect_timeout(&address, Duration::from_secs(2))
            .expect_err("something listens on 127.0.0.1:9: the fallbacks would reach it");
        assert_eq!(error.kind(), ErrorKind::ConnectionRefused, "{error}");
        assert!(CLOSED.ends_with(&format!(":{CLOSED_PORT}")));
    }

    /// Every endpoint variable names the closed port, and the file names the fallbacks
    /// of all three clouds.
    #[test]
    fn every_redirect_names_the_closed_port() {
        let env = environment();
        for (name, value) in &env.set {
            let url = format!("http://{CLOSED}");
            assert!(
                *value == CLOSED || *value == url || value.starts_with(&format!("{url}/")),
                "{name}={value}"
            );
        }
        let names: Vec<_> = env.set.iter().map(|(n, _)| *n).collect();
        for name in [
            "AWS_METADATA_ENDPOINT",
            "AWS_ENDPOINT_URL_STS",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "AWS_ENDPOINT",
            "GCE_METADATA_HOST",
            "GCE_METADATA_IP",
            "AZURE_MSI_ENDPOINT",
            "IDENTITY_ENDPOINT",
            "AZURE_AUTHORITY_HOST",
            "AZURE_STORAGE_ENDPOINT",
        ] {
            assert!(names.contains(&name), "loopback.env sets no {name}");
        }
    }

    /// A process started through [`isolate`] sees the redirects and the test's home, and
    /// none of the credentials, cloud settings or proxies its parent (or the test) gave.
    #[test]
    fn a_spawned_process_gets_the_loopback_environment() {
        let mut command = Command::new("env");
        command
            .env("AWS_ACCESS_KEY_ID", "AKIALEAKED")
            .env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials")
            .env("GOOGLE_APPLICATION_CREDENTIALS", "/root/key.json")
            .env("AZURE_USE_AZURE_CLI", "true")
            .env("IDENTITY_HEADER", "secret")
            .env("HTTPS_PROXY", "http://10.0.0.1:3128")
            .env("https_proxy", "http://10.0.0.1:3128")
            .env("KEEP_ME", "1");
        isolate(&mut command);
        let output = command.output().expect("run env");
        assert!(output.status.success());
        let seen: BTreeMap<String, String> = String::from_utf8(output.stdout)
            .unwrap()
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        let env = environment();
        for (name, value) in &env.set {
            assert_eq!(seen.get(*name).map(String::as_str), Some(*value), "{name}");
        }
        for name in seen.keys() {
            let set = env.set.iter().any(|(n, _)| n == name);
            assert!(
                set || !env.drops(OsStr::new(name)),
                "{name} reached the spawned process"
            );
        }
        assert_eq!(seen["HOME"], home().display().to_string());
        assert_eq!(seen["XDG_STATE_HOME"], home().display().to_string());
        assert_eq!(seen["KEEP_ME"], "1");
    }

    /// scripts/test applies the same file, by its path.
    #[test]
    fn scripts_test_applies_the_file() {
        let script = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/test"),
        )
        .unwrap();
        assert!(script.contains("testkit/loopback.env"), "scripts/test");
    }
}

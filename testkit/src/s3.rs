//! A real S3 API on a free loopback port: moto's standalone server (`moto_server`, from
//! PyPI `moto[server]`), started by the test and killed on drop. A missing
//! `moto_server` fails the test with the install hint; it never skips.
//!
//! Why moto rather than s3s-fs (a Rust S3 server): moto installs in seconds as
//! pre-built Python wheels (`pip install "moto[server]"`) and adds nothing to the Rust
//! build, while s3s-fs must be compiled, either by `cargo install` or as a
//! dev-dependency on every clean build, which is minutes on a 2-core CI machine. moto
//! is also the common reference mock of the S3 API: ListObjectsV2 with `prefix`,
//! `delimiter`, `start-after` and `continuation-token`, 404 `NoSuchKey`, path-style
//! URLs. It starts in about a second (0.7 to 1.0 s measured on a 2-core machine).
//!
//! moto accepts any credentials and does not check signatures; the clients use fixed
//! dummy ones ([`ACCESS_KEY_ID`], [`SECRET_ACCESS_KEY`]) passed explicitly, never read
//! from the environment.
//!
//! # The client settings the product must support
//!
//! [`client`] is object_store's S3 client as it must be built against a custom
//! endpoint (moto, MinIO, Ceph, …):
//!
//! ```text
//! AmazonS3Builder::new()                        // not from_env(): nothing read from $AWS_*
//!     .with_endpoint("http://127.0.0.1:PORT")   // scheme + host + port, no bucket
//!     .with_bucket_name(bucket)
//!     .with_region("us-east-1")                 // any region; signing needs one
//!     .with_virtual_hosted_style_request(false) // path style: http://host/bucket/key
//!     .with_access_key_id(..).with_secret_access_key(..)  // or .with_skip_signature(true)
//!     .with_client_options(ClientOptions::new().with_allow_http(true).with_timeout(..))
//!     .with_retry(..)
//! ```
//!
//! Without credentials and without `with_skip_signature(true)`, object_store asks the
//! EC2 instance metadata service for them (a slow failure off AWS).

use crate::spawn::ServerProcess;
use crate::store::{self, client_options};
use crate::wire;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use std::time::Duration;

/// The dummy credentials the test clients send (moto accepts any).
pub const ACCESS_KEY_ID: &str = "test";
pub const SECRET_ACCESS_KEY: &str = "test";

/// A `[tasks.<name>.storage]` body for moto's `bucket`/`prefix` reached at `endpoint` (moto
/// or a recorder before it), with [`ACCESS_KEY_ID`] and [`SECRET_ACCESS_KEY`] written to
/// files in `dir`, as an operator names them.
pub fn storage_table(dir: &std::path::Path, bucket: &str, prefix: &str, endpoint: &str) -> String {
    let (id, key) = (dir.join("id"), dir.join("key"));
    std::fs::write(&id, ACCESS_KEY_ID).expect("write the key id file");
    std::fs::write(&key, SECRET_ACCESS_KEY).expect("write the key file");
    format!(
        "url = \"s3://{bucket}/{prefix}?endpoint={endpoint}&region=us-east-1&force-path-style=true\"\naccess_key_id_file = \"{}\"\nsecret_access_key_file = \"{}\"\n",
        id.display(),
        key.display()
    )
}
pub const REGION: &str = "us-east-1";

/// s3s-fs (a Rust S3 server serving a directory; `bench/storage` installs it) on
/// 127.0.0.1 with [`ACCESS_KEY_ID`]/[`SECRET_ACCESS_KEY`]: its bucket `bench` is the
/// directory `<process dir>/data/bench`, objects written there as files. `program`: its
/// path; `preload`: a shared object LD_PRELOADed into it (started through `env`).
pub fn start_s3s_fs(program: &str, preload: Option<&str>) -> ServerProcess {
    let hint = "cargo install --locked s3s-fs --version 0.14.1 --features binary";
    let launcher = if preload.is_some() { "env" } else { program };
    ServerProcess::start(launcher, hint, |port, dir| {
        let root = dir.join("data");
        std::fs::create_dir_all(root.join("bench")).unwrap();
        let mut args: Vec<String> = match preload {
            Some(so) => vec![format!("LD_PRELOAD={so}"), program.to_string()],
            None => Vec::new(),
        };
        args.extend([
            "--host".into(),
            "127.0.0.1".into(),
            "--port".into(),
            port.to_string(),
            "--access-key".into(),
            ACCESS_KEY_ID.into(),
            "--secret-key".into(),
            SECRET_ACCESS_KEY.into(),
            root.display().to_string(),
        ]);
        args
    })
}

/// moto's S3 on `127.0.0.1:<free port>`.
pub struct S3Server {
    process: ServerProcess,
}

impl S3Server {
    /// Starts `moto_server -H 127.0.0.1 -p PORT` and waits until it answers.
    pub fn start() -> S3Server {
        let process = ServerProcess::start(
            "moto_server",
            "python3 -m pip install \"moto[server]\"",
            |port, _dir| {
                vec![
                    "-H".into(),
                    "127.0.0.1".into(),
                    "-p".into(),
                    port.to_string(),
                ]
            },
        );
        S3Server { process }
    }

    /// `http://127.0.0.1:PORT` (no bucket: path-style requests add it).
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.process.port)
    }

    pub fn port(&self) -> u16 {
        self.process.port
    }

    /// How long moto took from spawn to its first answer.
    pub fn started_in(&self) -> Duration {
        self.process.started_in()
    }

    /// `PUT /<bucket>` (unsigned; moto does not check), panicking unless 200.
    pub fn create_bucket(&self, bucket: &str) {
        let addr = format!("127.0.0.1:{}", self.process.port);
        let response = wire::request(&addr, "PUT", &format!("/{bucket}"), &[], b"")
            .unwrap_or_else(|e| panic!("create bucket {bucket}: {e}"));
        assert_eq!(
            response.status,
            200,
            "create bucket {bucket}: {}",
            String::from_utf8_lossy(&response.body)
        );
    }

    /// The object_store client for `bucket` on this server (see the module doc).
    pub fn client(&self, bucket: &str) -> AmazonS3 {
        client(&self.endpoint(), bucket)
    }

    /// Uploads one object (through object_store).
    pub fn put(&self, bucket: &str, key: &str, bytes: &[u8]) {
        self.put_all(bucket, "", &[(key.to_string(), bytes.to_vec())]);
    }

    /// Uploads `objects` under `prefix` (`""` for the bucket root).
    pub fn put_all(&self, bucket: &str, prefix: &str, objects: &[(String, Vec<u8>)]) {
        store::put_objects(&self.client(bucket), prefix, objects);
    }
}

/// The builder of [`client`], for tests that change options (`with_client_options`
/// replaces the whole [`ClientOptions`](object_store::ClientOptions): keep
/// `with_allow_http(true)` in it).
pub fn builder(endpoint: &str, bucket: &str) -> AmazonS3Builder {
    AmazonS3Builder::new()
        .with_endpoint(endpoint)
        .with_bucket_name(bucket)
        .with_region(REGION)
        .with_virtual_hosted_style_request(false)
        .with_access_key_id(ACCESS_KEY_ID)
        .with_secret_access_key(SECRET_ACCESS_KEY)
        .with_client_options(client_options(Duration::from_secs(10)))
        .with_retry(store::retry(2))
}

/// object_store's S3 client for `bucket` at `endpoint` (moto, or a [`crate::Recorder`]
/// in front of it), configured as the module doc says the product must be.
pub fn client(endpoint: &str, bucket: &str) -> AmazonS3 {
    builder(endpoint, bucket)
        .build()
        .unwrap_or_else(|e| panic!("S3 client for {endpoint}/{bucket}: {e}"))
}

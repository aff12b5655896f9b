//! PD's HTTP API over HTTPS with client-certificate checking: `openssl s_server -WWW`
//! serving the recorded files of `fixtures/pd/`.

use crate::certs::Certs;
use crate::fixture::fixture_path;
use std::process::{Child, Command, Stdio};

/// `openssl s_server -WWW` serving PD's API files over HTTPS, requiring a client cert.
pub struct HttpsPd {
    child: Child,
    dir: std::path::PathBuf,
    pub endpoint: String,
}

impl HttpsPd {
    /// `client_ca`: the CA whose client certificates it accepts.
    pub fn start(certs: &Certs, client_ca: &str) -> HttpsPd {
        let dir =
            std::env::temp_dir().join(format!("ctlb-https-pd-{client_ca}-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("pd/api/v1/gc")).unwrap();
        for (src, dst) in [
            ("pd/stores.json", "pd/api/v1/stores"),
            ("pd/gc_safepoint.json", "pd/api/v1/gc/safepoint"),
        ] {
            std::fs::copy(fixture_path(src), dir.join(dst)).unwrap();
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("openssl")
            .args([
                "s_server",
                "-quiet",
                "-WWW",
                "-accept",
                &format!("127.0.0.1:{port}"),
            ])
            .args([
                "-cert",
                &certs.path("server.crt"),
                "-key",
                &certs.path("server.key"),
            ])
            .args([
                "-CAfile",
                &certs.path(client_ca),
                "-Verify",
                "1",
                "-verify_return_error",
            ])
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("openssl s_server");
        // Ready when it accepts TCP.
        let started = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed().as_secs() < 10,
                "openssl s_server did not start"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        HttpsPd {
            child,
            dir,
            endpoint: format!("https://127.0.0.1:{port}"),
        }
    }
}

impl Drop for HttpsPd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

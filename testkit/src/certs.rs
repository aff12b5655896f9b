//! Test certificates, made with openssl at test time (see docs/etcd-layout.md#tls).

use std::path::PathBuf;
use std::process::Command;

/// `ca`, a server cert for 127.0.0.1/localhost, a client cert, and a second unrelated CA
/// (`other-ca`) with a client cert of its own (`stranger`), in a temp dir removed on drop.
pub struct Certs {
    pub dir: PathBuf,
    /// Every file made, by name: the paths [`Certs::flags`] lends out.
    files: std::collections::BTreeMap<String, String>,
}

impl Certs {
    pub fn path(&self, name: &str) -> String {
        self.dir.join(name).to_str().unwrap().to_string()
    }

    /// The check's TLS flags for three files of the set: `--cacert <ca> --cert <cert>
    /// --key <key>`.
    pub fn flags(&self, ca: &str, cert: &str, key: &str) -> Vec<&str> {
        let file = |name: &str| -> &str {
            self.files
                .get(name)
                .unwrap_or_else(|| panic!("no {name} in {}", self.dir.display()))
        };
        vec![
            "--cacert",
            file(ca),
            "--cert",
            file(cert),
            "--key",
            file(key),
        ]
    }

    pub fn make(tag: &str) -> Certs {
        let dir = std::env::temp_dir().join(format!("ctlb-certs-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let script = r#"set -e
newkey() { openssl ecparam -name prime256v1 -genkey -noout -out "$1.tmp" && openssl pkcs8 -topk8 -nocrypt -in "$1.tmp" -out "$1" && rm "$1.tmp"; }
ca() { newkey $1.key; openssl req -x509 -new -key $1.key -sha256 -days 3650 -subj "/CN=$1" -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out $1.crt; }
leaf() { # name ca cn ext
  newkey $1.key; openssl req -new -key $1.key -subj "/CN=$3" -out $1.csr
  printf "$4" > $1.ext
  openssl x509 -req -in $1.csr -CA $2.crt -CAkey $2.key -CAcreateserial -days 3650 -sha256 -extfile $1.ext -out $1.crt 2>/dev/null; }
ca ca; ca other-ca
leaf server ca etcd-server 'basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=IP:127.0.0.1,DNS:localhost
'
leaf client ca check-client 'basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth
'
leaf stranger other-ca stranger 'basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth
'
rm -f *.csr *.ext *.srl
"#;
        let out = Command::new("bash")
            .arg("-c")
            .arg(script)
            .current_dir(&dir)
            .output()
            .expect("run openssl (apt-get install openssl)");
        assert!(
            out.status.success(),
            "making test certificates failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let files = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .map(|p| {
                let name = p.file_name().unwrap().to_str().unwrap().to_string();
                (name, p.to_str().unwrap().to_string())
            })
            .collect();
        Certs { dir, files }
    }
}

impl Drop for Certs {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

//! Real peers for the notify tests: an aiosmtpd server, gpg with a temporary home, and MIME
//! taken apart the way a mail client does (enough for PGP/MIME).
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The Python of the venv (`$FIREWATCH_PYTHON`, else `<workspace>/target/py-venv/bin/python`).
pub fn python() -> PathBuf {
    match std::env::var_os("FIREWATCH_PYTHON") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/py-venv/bin/python"),
    }
}

/// True when `python` with aiosmtpd and `gpg` are here. Under `CI=true` a missing tool fails
/// the test; otherwise the test is skipped, loudly.
pub fn tools_present() -> bool {
    let aiosmtpd = Command::new(python())
        .args(["-c", "import aiosmtpd"])
        .output()
        .is_ok_and(|o| o.status.success());
    let gpg = Command::new("gpg")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if aiosmtpd && gpg {
        return true;
    }
    let missing = format!(
        "{}{}",
        if aiosmtpd {
            ""
        } else {
            "aiosmtpd (pip install aiosmtpd into the venv) "
        },
        if gpg {
            ""
        } else {
            "gpg (apt-get install gnupg)"
        }
    );
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("missing under CI=true: {missing}");
    }
    eprintln!("\n!!!!!!!!!! SKIPPED: missing {missing} !!!!!!!!!!\n");
    false
}

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// aiosmtpd writing every accepted message to a directory.
pub struct SmtpSink {
    child: Child,
    pub port: u16,
}

impl SmtpSink {
    /// Starts the sink; with `limit`, it accepts that many messages, then refuses and exits.
    pub fn start(out: &Path, limit: Option<usize>) -> SmtpSink {
        Self::start_with_auth(out, limit, None)
    }

    /// As [`SmtpSink::start`], requiring AUTH with `user:password` when given.
    pub fn start_with_auth(out: &Path, limit: Option<usize>, auth: Option<&str>) -> SmtpSink {
        Self::start_with(out, limit, auth, None)
    }

    /// As [`SmtpSink::start_with_auth`], offering (and requiring) STARTTLS with `cert:key`.
    pub fn start_with(
        out: &Path,
        limit: Option<usize>,
        auth: Option<&str>,
        tls: Option<&str>,
    ) -> SmtpSink {
        let port = free_port();
        // The path works from this crate and from the binary's tests, which share this module.
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../firewatch-notify/tests/smtp_sink.py");
        let mut cmd = Command::new(python());
        cmd.arg(script).arg(port.to_string()).arg(out);
        if let Some(n) = limit {
            cmd.arg(n.to_string());
        }
        match auth {
            Some(a) => cmd.env("SINK_AUTH", a),
            None => cmd.env_remove("SINK_AUTH"),
        };
        match tls {
            Some(t) => cmd.env("SINK_TLS", t),
            None => cmd.env_remove("SINK_TLS"),
        };
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the SMTP sink");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the SMTP sink did not start within 30 s");
        assert_eq!(line.trim(), "ready", "SMTP sink said {line:?}");
        SmtpSink { child, port }
    }

    /// Stops the server (as a crash would).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Every message the sink wrote, in arrival order.
pub fn received(dir: &Path) -> Vec<Vec<u8>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    files.sort();
    files.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

/// gpg with its own home.
pub struct Gpg {
    pub home: tempfile::TempDir,
}

impl Drop for Gpg {
    /// Stops the agent this home started, so no gpg-agent outlives the test.
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .env("GNUPGHOME", self.home.path())
            .args(["--kill", "gpg-agent"])
            .output();
    }
}

impl Gpg {
    pub fn new() -> Gpg {
        let home = tempfile::Builder::new()
            .prefix("fw-gpg")
            .tempdir_in("/tmp")
            .unwrap();
        Gpg { home }
    }

    pub fn run(&self, args: &[&str], stdin: Option<&[u8]>) -> std::process::Output {
        use std::io::Write;
        let mut child = Command::new("gpg")
            .env("GNUPGHOME", self.home.path())
            .args(["--batch", "--no-tty", "--pinentry-mode", "loopback"])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        if let Some(bytes) = stdin {
            input.write_all(bytes).unwrap();
        }
        drop(input);
        child.wait_with_output().unwrap()
    }

    fn ok(&self, args: &[&str], stdin: Option<&[u8]>) -> Vec<u8> {
        let out = self.run(args, stdin);
        assert!(
            out.status.success(),
            "gpg {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// Generates an ed25519 signing key with a cv25519 encryption subkey; returns its
    /// fingerprint.
    pub fn generate(&self, uid: &str, passphrase: &str) -> String {
        self.ok(
            &[
                "--passphrase",
                passphrase,
                "--quick-gen-key",
                uid,
                "ed25519",
                "sign",
                "never",
            ],
            None,
        );
        let listing =
            String::from_utf8(self.ok(&["--with-colons", "--list-keys", uid], None)).unwrap();
        let fpr = listing
            .lines()
            .find_map(|l| l.strip_prefix("fpr:"))
            .map(|l| l.trim_matches(':').to_string())
            .unwrap();
        self.ok(
            &[
                "--passphrase",
                passphrase,
                "--quick-add-key",
                &fpr,
                "cv25519",
                "encr",
                "never",
            ],
            None,
        );
        fpr
    }

    pub fn export_public(&self, fpr: &str) -> String {
        String::from_utf8(self.ok(&["--armor", "--export", fpr], None)).unwrap()
    }

    pub fn export_secret(&self, fpr: &str, passphrase: &str) -> String {
        String::from_utf8(self.ok(
            &[
                "--passphrase",
                passphrase,
                "--armor",
                "--export-secret-keys",
                fpr,
            ],
            None,
        ))
        .unwrap()
    }

    pub fn import(&self, armored: &str, passphrase: &str) {
        self.ok(
            &["--passphrase", passphrase, "--import"],
            Some(armored.as_bytes()),
        );
    }

    /// `gpg --verify`: the fingerprint of the key that made a good signature over `data`.
    pub fn verify(&self, signature: &[u8], data: &[u8]) -> Result<String, String> {
        let dir = tempfile::tempdir().unwrap();
        let (sig, dat) = (dir.path().join("sig.asc"), dir.path().join("data"));
        std::fs::write(&sig, signature).unwrap();
        std::fs::write(&dat, data).unwrap();
        let out = self.run(
            &[
                "--status-fd",
                "1",
                "--verify",
                sig.to_str().unwrap(),
                dat.to_str().unwrap(),
            ],
            None,
        );
        let status = String::from_utf8_lossy(&out.stdout).to_string();
        match status
            .lines()
            .find_map(|l| l.strip_prefix("[GNUPG:] VALIDSIG "))
        {
            Some(rest) if out.status.success() => {
                // VALIDSIG <signing key fpr> ... <primary key fpr> (the last field).
                Ok(rest
                    .split_whitespace()
                    .last()
                    .unwrap_or_default()
                    .to_string())
            }
            _ => Err(format!("{status}{}", String::from_utf8_lossy(&out.stderr))),
        }
    }

    pub fn decrypt(&self, armored: &[u8], passphrase: &str) -> Vec<u8> {
        self.ok(&["--passphrase", passphrase, "--decrypt"], Some(armored))
    }
}

/// A MIME entity: its unfolded headers and its raw body.
pub struct Entity<'a> {
    pub headers: String,
    pub body: &'a [u8],
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Splits an entity at its first empty line.
pub fn entity(bytes: &[u8]) -> Entity<'_> {
    let at = find(bytes, b"\r\n\r\n").expect("an entity has a header block ending in CRLF CRLF");
    let headers = String::from_utf8_lossy(&bytes[..at])
        .replace("\r\n ", " ")
        .replace("\r\n\t", " ");
    Entity {
        headers,
        body: &bytes[at + 4..],
    }
}

impl Entity<'_> {
    /// A header's value (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<String> {
        let prefix = format!("{}:", name.to_ascii_lowercase());
        self.headers
            .split("\r\n")
            .find(|l| l.to_ascii_lowercase().starts_with(&prefix))
            .map(|l| l[prefix.len()..].trim().to_string())
    }

    /// A multipart's parts, byte for byte (RFC 2046 §5.1.1: the CRLF before each delimiter
    /// belongs to the delimiter).
    pub fn parts(&self) -> Vec<&[u8]> {
        let ct = self.header("content-type").expect("Content-Type");
        let boundary = ct
            .split(';')
            .find_map(|p| p.trim().strip_prefix("boundary="))
            .expect("a boundary")
            .trim_matches('"')
            .to_string();
        let first = format!("--{boundary}\r\n");
        let delim = format!("\r\n--{boundary}");
        let start = find(self.body, first.as_bytes()).expect("first boundary") + first.len();
        let mut rest = &self.body[start..];
        let mut parts = Vec::new();
        while let Some(end) = find(rest, delim.as_bytes()) {
            parts.push(&rest[..end]);
            let after = &rest[end + delim.len()..];
            if after.starts_with(b"--") {
                break;
            }
            rest = &after[2..];
        }
        parts
    }
}

/// Quoted-printable to bytes (RFC 2045 §6.7).
pub fn unqp(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < text.len() {
        if text[i] == b'=' {
            if text[i + 1..].starts_with(b"\r\n") {
                i += 3;
                continue;
            }
            let hex = std::str::from_utf8(&text[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(text[i]);
            i += 1;
        }
    }
    out
}

/// Base64 with line breaks to bytes (RFC 4648 §4).
pub fn unbase64(text: &[u8]) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for &c in text {
        let Some(v) = ALPHABET.iter().position(|&a| a == c) else {
            continue; // line breaks and the '=' padding
        };
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// What a recipient sees in a PGP/MIME notice once the signature checked out.
pub struct Opened {
    pub message_id: String,
    pub subject: String,
    pub body: String,
    pub attachment: String,
    pub encrypted: bool,
    /// The primary key fingerprint gpg reported for the good signature.
    pub signer: String,
}

/// Opens a received message: decrypts it if it is `multipart/encrypted`, checks the
/// `multipart/signed` signature with `gpg --verify`, decodes text and attachment.
pub fn open(gpg: &Gpg, message: &[u8], passphrase: &str) -> Result<Opened, String> {
    let top = entity(message);
    let ct = top.header("content-type").unwrap_or_default();
    let decrypted;
    let (signed_bytes, encrypted): (&[u8], bool) = if ct.starts_with("multipart/encrypted") {
        assert!(
            ct.contains("protocol=\"application/pgp-encrypted\""),
            "{ct}"
        );
        let parts = top.parts();
        assert_eq!(parts.len(), 2);
        assert!(
            entity(parts[1])
                .header("content-type")
                .unwrap()
                .starts_with("application/octet-stream")
        );
        decrypted = gpg.decrypt(entity(parts[1]).body, passphrase);
        (&decrypted, true)
    } else {
        (message, false)
    };
    let signed = entity(signed_bytes);
    let sct = signed.header("content-type").unwrap_or_default();
    assert!(sct.starts_with("multipart/signed"), "{sct}");
    assert!(
        sct.contains("protocol=\"application/pgp-signature\""),
        "{sct}"
    );
    assert!(
        sct.contains("micalg=\"pgp-sha256\"") || sct.contains("micalg=pgp-sha256"),
        "{sct}"
    );
    let parts = signed.parts();
    assert_eq!(parts.len(), 2, "signed content and signature");
    let signer = gpg.verify(entity(parts[1]).body, parts[0])?;
    let content = entity(parts[0]);
    let inner = content.parts();
    let text = entity(inner[0]);
    assert_eq!(
        text.header("content-transfer-encoding").as_deref(),
        Some("quoted-printable")
    );
    let attachment = entity(inner[1]);
    assert!(
        attachment
            .header("content-disposition")
            .unwrap()
            .contains("attachment")
    );
    Ok(Opened {
        message_id: top.header("message-id").unwrap_or_default(),
        subject: top.header("subject").unwrap_or_default(),
        body: String::from_utf8(unqp(text.body))
            .unwrap()
            .replace("\r\n", "\n"),
        attachment: String::from_utf8(unbase64(attachment.body)).unwrap(),
        encrypted,
        signer,
    })
}

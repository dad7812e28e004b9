//! Helpers shared by the end-to-end tests: run the real binary against a store in a tempdir.
#![allow(dead_code)]

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A tempdir with its own store.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Self {
        Sandbox {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `--db`'s value for `db`: a file of the sandbox, or a PostgreSQL URL as it is.
    pub fn db_arg(&self, db: &str) -> std::ffi::OsString {
        if db.starts_with("postgres://") {
            db.into()
        } else {
            self.path(db).into()
        }
    }

    /// `firewatch --db <sandbox>/<db> ARGS…` (or `--db URL` for a PostgreSQL URL), isolated
    /// from the user's config.
    pub fn cmd(&self, db: &str) -> Command {
        let mut c = Command::cargo_bin("firewatch").expect("binary");
        c.arg("--db")
            .arg(self.db_arg(db))
            .env_remove("FIREWATCH_CONFIG")
            .env_remove("FIREWATCH_DB");
        c.env("XDG_CONFIG_HOME", self.dir.path());
        c
    }

    /// The same as [`Sandbox::cmd`], as a std command for processes that run in the background.
    pub fn background(&self, db: &str) -> std::process::Command {
        let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("firewatch"));
        c.arg("--db")
            .arg(self.db_arg(db))
            .env_remove("FIREWATCH_CONFIG")
            .env_remove("FIREWATCH_DB")
            .env("XDG_CONFIG_HOME", self.dir.path());
        c
    }

    /// `firewatch serve` on a free loopback port with JSON logs; returns the child and its base
    /// URL once it listens (a bounded wait). The log keeps being drained, so the service never
    /// blocks on a full pipe.
    pub fn serve(&self, db: &str) -> (std::process::Child, String) {
        use std::io::BufRead;
        let mut child = self
            .background(db)
            .arg("serve")
            .env("FIREWATCH__WEB__LISTEN", "127.0.0.1:0")
            .env("FIREWATCH__WEB__LOG_FORMAT", "json")
            .env("FIREWATCH__WEB__SECURE_COOKIES", "false")
            .env("FIREWATCH_LOG", "info")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start serve");
        let stderr = child.stderr.take().expect("stderr");
        let mut lines = std::io::BufReader::new(stderr).lines();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while std::time::Instant::now() < deadline {
            let Some(Ok(line)) = lines.next() else { break };
            if let Ok(log) = serde_json::from_str::<Value>(&line)
                && let Some(addr) = log.get("addr").and_then(Value::as_str)
            {
                std::thread::spawn(move || for _ in lines {});
                return (child, format!("http://{addr}"));
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("serve printed no address");
    }

    /// Writes a synthetic capture and returns the ground truth.
    pub fn synth(&self, name: &str, packets: u64, extra: &[&str]) -> Value {
        let truth = self.path(&format!("{name}.truth.json"));
        let mut c = Command::cargo_bin("firewatch").expect("binary");
        c.args(["synth", "--packets", &packets.to_string(), "--out"])
            .arg(self.path(name))
            .arg("--truth")
            .arg(&truth)
            .args(extra)
            .assert()
            .success();
        serde_json::from_slice(&std::fs::read(truth).expect("truth")).expect("truth json")
    }

    /// The example directory (`examples/teams.toml`) imported into `db`, then a synthetic
    /// capture of `packets` ingested with `ingest_args` (e.g. `--flowtuples`): a telescope whose
    /// sources are routed to several teams.
    pub fn routed_telescope(&self, db: &str, packets: u64, ingest_args: &[&str]) {
        self.cmd(db)
            .args(["teams", "import"])
            .arg(example_teams())
            .assert()
            .success();
        self.synth("cap.pcap", packets, &[]);
        self.cmd(db)
            .args(["ingest", "pcap"])
            .args(ingest_args)
            .arg(self.path("cap.pcap"))
            .assert()
            .success();
    }

    /// Runs a listing with --json and parses it.
    pub fn json(&self, db: &str, args: &[&str]) -> Value {
        let out = self.cmd(db).args(args).arg("--json").output().expect("run");
        assert!(
            out.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{args:?}: not JSON ({e})"))
    }

    /// Everything the store says, as comparable JSON (inputs without their ingest time).
    pub fn dump(&self, db: &str) -> Value {
        let mut inputs = self.json(db, &["inputs", "list"]);
        if let Some(list) = inputs.as_array_mut() {
            for i in list.iter_mut() {
                i.as_object_mut().map(|o| o.remove("ingested_at"));
            }
            list.sort_by_key(|i| i["content_hash"].as_str().unwrap_or_default().to_string());
        }
        serde_json::json!({
            "inputs": inputs,
            "ports": self.json(db, &["ports", "top", "--limit", "100000"]),
            "sources": self.json(db, &["sources", "list"]),
            "attacks": self.json(db, &["attacks", "list"]),
            "alerts": self.json(db, &["alerts", "list"]),
        })
    }
}

/// The shared real-data folder (FIREWATCH_SHARED_DATA, else ../shared/data beside the repo).
pub fn shared_data() -> PathBuf {
    std::env::var_os("FIREWATCH_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"))
}

/// The repository's example team directory.
pub fn example_teams() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/teams.toml")
}

//! A real webhook receiver for the webhook tests: `webhook_receiver.py`, which verifies each
//! delivery with the Standard Webhooks reference library (`standardwebhooks` from PyPI,
//! installed by `scripts/services.sh up webhooks`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub struct Receiver {
    child: Child,
    dir: tempfile::TempDir,
    pub port: u16,
}

impl Receiver {
    /// Starts one on a free port, or `None` when the library is not installed (a failure under
    /// scripts/test.sh).
    pub fn start() -> Option<Receiver> {
        let python = super::required("STRONGROOM_TEST_WEBHOOKS_PYTHON")?;
        let dir = tempfile::tempdir().unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/common/webhook_receiver.py");
        let child = Command::new(python)
            .arg(script)
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the webhook receiver starts");
        let deadline = Instant::now() + Duration::from_secs(20);
        let port = loop {
            if let Ok(p) = std::fs::read_to_string(dir.path().join("port")) {
                break p.trim().parse().unwrap();
            }
            assert!(
                Instant::now() < deadline,
                "the webhook receiver did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        Some(Receiver { child, dir, port })
    }

    /// `http://127.0.0.1:<port>/<path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}/{path}", self.port)
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The secrets it accepts signatures of.
    pub fn trust(&self, secrets: &[&str]) {
        std::fs::write(self.file("secrets"), secrets.join("\n")).unwrap();
    }

    /// Answer `status` to everything from now on (`None`: verify and answer 204).
    pub fn answer(&self, status: Option<u16>) {
        match status {
            Some(s) => std::fs::write(self.file("status"), s.to_string()).unwrap(),
            None => {
                let _ = std::fs::remove_file(self.file("status"));
            }
        }
    }

    fn lines(&self, name: &str) -> Vec<Value> {
        std::fs::read_to_string(self.file(name))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// Verified deliveries so far: `{id, timestamp, signatures, body}`.
    pub fn received(&self) -> Vec<Value> {
        self.lines("received")
    }

    /// Requests whose signature did not verify.
    pub fn rejected(&self) -> Vec<Value> {
        self.lines("rejected")
    }

    /// Requests answered with the forced status.
    pub fn forced(&self) -> Vec<Value> {
        self.lines("forced")
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

//! A real SMTP server for mail tests: aiosmtpd (from PyPI, installed by `scripts/services.sh up
//! smtp`), started by the test on a free port of its own, delivering into a Maildir the test
//! reads.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct MailCatcher {
    child: Child,
    pub port: u16,
    maildir: tempfile::TempDir,
}

impl MailCatcher {
    /// Starts aiosmtpd on `port` (0: a free one), or `None` when it is not installed (a failure
    /// under scripts/test.sh).
    pub fn start(port: u16) -> Option<MailCatcher> {
        let python = super::required("STRONGROOM_TEST_AIOSMTPD_PYTHON")?;
        let port = if port == 0 {
            std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port()
        } else {
            port
        };
        let maildir = tempfile::tempdir().unwrap();
        let child = Command::new(python)
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir.path().join("box"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("aiosmtpd starts");
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "aiosmtpd did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(MailCatcher {
            child,
            port,
            maildir,
        })
    }

    fn new_dir(&self) -> PathBuf {
        self.maildir.path().join("box").join("new")
    }

    /// The messages delivered so far, oldest first, as text.
    pub fn messages(&self) -> Vec<String> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(self.new_dir())
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        paths.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
        paths
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect()
    }

    /// Waits for the `n`th message (1-based) and returns it.
    pub fn wait_for(&self, n: usize) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let all = self.messages();
            if all.len() >= n {
                return all[n - 1].clone();
            }
            assert!(Instant::now() < deadline, "no message {n} arrived");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the server (a fault test: mail sent now fails).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for MailCatcher {
    fn drop(&mut self) {
        self.stop();
    }
}

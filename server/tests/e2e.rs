//! End to end: the `strongroom` binary started on a free port and driven over HTTP, on SQLite +
//! local disk and on PostgreSQL + S3 (Garage) + Kafka (tansu), the real services started by
//! `scripts/services.sh`. Under `scripts/test.sh` (STRONGROOM_TEST_REQUIRE_SERVICES=1) a missing
//! service fails the test instead of skipping it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;

mod common;
use common::{fresh_postgres, required};
use serde_json::{Value, json};

struct Server {
    child: Child,
    base: String,
    admin_password: Option<String>,
    data: Option<tempfile::TempDir>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Server {
    /// Starts the binary with `env` on top of a fresh data directory.
    fn start(env: &[(&str, String)]) -> Server {
        Server::start_in(env, tempfile::tempdir().unwrap())
    }

    /// Kills the process (SIGKILL: no shutdown code runs) and hands back its data directory.
    fn kill(mut self) -> tempfile::TempDir {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.data.take().unwrap()
    }

    /// Starts the binary with `env` on `data`.
    fn start_in(env: &[(&str, String)], data: tempfile::TempDir) -> Server {
        let port = free_port();
        // Under a permissive umask: the server must make its data private by itself.
        let mut cmd = Command::new("sh");
        cmd.args([
            "-c",
            "umask 022 && exec \"$0\" serve",
            env!("CARGO_BIN_EXE_strongroom"),
        ])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("STRONGROOM_LISTEN", format!("127.0.0.1:{port}"))
        .env("STRONGROOM_DATA_DIR", data.path())
        .env("STRONGROOM_LOG_LEVEL", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start strongroom");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut password = None;
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(p) = line.trim().strip_prefix("password: ") {
                    password = Some(p.trim().to_owned());
                }
                if line.contains("listening on") {
                    let _ = tx.send(password.take());
                }
            }
        });
        let admin_password = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("strongroom did not start on port {port}"));
        Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
            admin_password,
            data: Some(data),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

fn s3_env() -> Option<Vec<(&'static str, String)>> {
    Some(vec![
        (
            "STRONGROOM_STORAGE_URL",
            format!("s3://{}", required("STRONGROOM_TEST_S3_BUCKET")?),
        ),
        (
            "STRONGROOM_STORAGE_S3_ENDPOINT",
            required("STRONGROOM_TEST_S3_ENDPOINT")?,
        ),
        (
            "STRONGROOM_STORAGE_S3_REGION",
            required("STRONGROOM_TEST_S3_REGION")?,
        ),
        (
            "STRONGROOM_STORAGE_S3_ACCESS_KEY_ID",
            required("STRONGROOM_TEST_S3_ACCESS_KEY_ID")?,
        ),
        (
            "STRONGROOM_STORAGE_S3_SECRET_ACCESS_KEY",
            required("STRONGROOM_TEST_S3_SECRET_ACCESS_KEY")?,
        ),
        ("STRONGROOM_STORAGE_S3_ALLOW_HTTP", "true".into()),
    ])
}

struct Api {
    http: reqwest::Client,
}

impl Api {
    fn new() -> Api {
        Api {
            http: reqwest::Client::new(),
        }
    }

    async fn json(&self, req: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let res = req.send().await.unwrap();
        let status = res.status();
        let text = res.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn login(&self, s: &Server, email: &str, password: &str) -> Value {
        let (st, v) = self
            .json(
                self.http
                    .post(s.url("/auth/login"))
                    .json(&json!({ "email": email, "password": password })),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        v
    }

    async fn register_and_login(&self, s: &Server) -> (String, Value) {
        let email = format!("u{}@example.com", uuid::Uuid::now_v7().simple());
        let (st, v) = self
            .json(self.http.post(s.url("/auth/register")).json(
                &json!({ "email": email, "name": "Ann", "password": "correct horse battery" }),
            ))
            .await;
        assert_eq!(st, StatusCode::ACCEPTED, "{v}");
        let tokens = self.login(s, &email, "correct horse battery").await;
        (tokens["access_token"].as_str().unwrap().to_owned(), tokens)
    }
}

fn content(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect()
}

/// Waits until the admin's audit query shows `action` for `resource_id` (by `actor_id`, if given).
async fn wait_for_audit(
    api: &Api,
    s: &Server,
    admin: &str,
    action: &str,
    resource_id: &str,
    actor_id: Option<&str>,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (st, page) = api
            .json(
                api.http
                    .get(s.url(&format!(
                        "/audit?action={action}&resource_type=file&resource_id={resource_id}"
                    )))
                    .bearer_auth(admin),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{page}");
        let found = page["records"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| actor_id.is_none_or(|a| r["event"]["actor"]["id"] == a));
        if found {
            return page;
        }
        assert!(
            Instant::now() < deadline,
            "no {action} event for {resource_id} by {actor_id:?} in the audit log: {page}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The story the issue asks for: register, upload, share by link, download anonymously, read
/// the audit trail, scrape /metrics.
async fn story(s: &Server) {
    let api = Api::new();
    let (token, _) = api.register_and_login(s).await;

    // Upload 9 MiB (crosses the multipart threshold) and read it back, whole and in part.
    let data = content(9 * 1024 * 1024 + 123);
    let (st, meta) = api
        .json(
            api.http
                .post(s.url("/files?name=report%20%C3%A9t%C3%A9.bin"))
                .bearer_auth(&token)
                .header("content-type", "application/pdf")
                .body(data.clone()),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{meta}");
    let id = meta["id"].as_str().unwrap().to_owned();
    assert_eq!(meta["size"], data.len() as u64);
    assert_eq!(meta["name"], "report été.bin");
    let got = api
        .http
        .get(s.url(&format!("/files/{id}/content")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), StatusCode::OK);
    let etag = got.headers()["etag"].to_str().unwrap().to_owned();
    assert!(
        got.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("filename*=UTF-8''report%20%C3%A9t%C3%A9.bin")
    );
    assert_eq!(got.bytes().await.unwrap().as_ref(), &data[..]);
    let part = api
        .http
        .get(s.url(&format!("/files/{id}/content")))
        .bearer_auth(&token)
        .header("range", "bytes=8388600-8388615")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        part.bytes().await.unwrap().as_ref(),
        &data[8388600..8388616]
    );
    let cached = api
        .http
        .get(s.url(&format!("/files/{id}/content")))
        .bearer_auth(&token)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(cached.status(), StatusCode::NOT_MODIFIED);
    let (st, v) = api
        .json(
            api.http
                .get(s.url(&format!("/files/{id}/verify")))
                .bearer_auth(&token),
        )
        .await;
    assert_eq!((st, v["ok"].as_bool()), (StatusCode::OK, Some(true)), "{v}");

    // Another user sees nothing: 404, not 403.
    let (other, _) = api.register_and_login(s).await;
    let (st, _) = api
        .json(
            api.http
                .get(s.url(&format!("/files/{id}")))
                .bearer_auth(&other),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    // Share by link with a password and a download limit; download anonymously.
    let (st, link) = api
        .json(
            api.http
                .post(s.url(&format!("/files/{id}/links")))
                .bearer_auth(&token)
                .json(&json!({ "password": "open sesame", "max_downloads": 1, "ttl_secs": 3600 })),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{link}");
    assert!(
        link["url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/s/{}", link["token"].as_str().unwrap()))
    );
    let url = s.url(&format!("/s/{}", link["token"].as_str().unwrap()));
    let tok = link["token"].as_str().unwrap();
    let (st, _) = api
        .json(api.http.get(s.url(&format!("/s/{tok}/content"))))
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, _) = api
        .json(
            api.http
                .get(s.url(&format!("/s/{tok}/content")))
                .header("x-link-password", "wrong"),
        )
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let anon = api
        .http
        .get(format!("{url}/content"))
        .header("x-link-password", "open sesame")
        .send()
        .await
        .unwrap();
    assert_eq!(anon.status(), StatusCode::OK);
    assert_eq!(anon.bytes().await.unwrap().as_ref(), &data[..]);
    let (st, v) = api
        .json(
            api.http
                .get(s.url(&format!("/s/{tok}/content")))
                .header("x-link-password", "open sesame"),
        )
        .await;
    assert_eq!(st, StatusCode::GONE, "{v}");
    let (st, _) = api
        .json(api.http.get(s.url("/s/srl_not-a-real-token/content")))
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    // The audit trail: the admin sees upload, link, downloads and denials; the user sees their own.
    let admin_tokens = api
        .login(
            s,
            "admin@strongroom.local",
            s.admin_password
                .as_deref()
                .expect("bootstrap password printed"),
        )
        .await;
    let admin = admin_tokens["access_token"].as_str().unwrap();
    let owner_id = meta["owner_id"].as_str().unwrap();
    wait_for_audit(&api, s, admin, "file.uploaded", &id, Some(owner_id)).await;
    wait_for_audit(&api, s, admin, "link.created", &id, Some(owner_id)).await;
    // The anonymous download is attributed to the link that opened it.
    let link_actor = format!("link:{}", link["id"].as_str().unwrap());
    wait_for_audit(&api, s, admin, "file.downloaded", &id, Some(&link_actor)).await;
    let (st, _) = api
        .json(api.http.get(s.url("/audit")).bearer_auth(&token))
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, mine) = api
        .json(
            api.http
                .get(s.url("/me/activity?action=file"))
                .bearer_auth(&token),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert!(mine["records"].as_array().unwrap().len() >= 2, "{mine}");
    let (st, chain) = api
        .json(api.http.get(s.url("/audit/verify")).bearer_auth(admin))
        .await;
    assert_eq!(
        (st, chain["ok"].as_bool()),
        (StatusCode::OK, Some(true)),
        "{chain}"
    );

    // Metrics.
    let metrics = api
        .http
        .get(s.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(
            "strongroom_http_requests_total{route=\"/files\",method=\"POST\",status=\"201\"}"
        ),
        "{metrics}"
    );
    assert!(metrics.contains("strongroom_uploaded_bytes_total"));
    assert!(metrics.contains("strongroom_auth_failures_total"));
    assert!(metrics.contains("strongroom_outbox_pending_events"));
    let (st, ready) = api.json(api.http.get(s.url("/readyz"))).await;
    assert_eq!(st, StatusCode::OK, "{ready}");

    // Delete: gone for everyone.
    let del = api
        .http
        .delete(s.url(&format!("/files/{id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(del.status(), StatusCode::NO_CONTENT);
    let (st, _) = api
        .json(
            api.http
                .get(s.url(&format!("/files/{id}/content")))
                .bearer_auth(&token),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

/// Pseudo-random bytes (xorshift): content with no repeats, so every chunk is new.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// SIGKILL in the middle of a new version's upload (chunks written, pinned, not committed):
/// after a restart the old version downloads byte-exact, the new one never appears, and the
/// sweeper releases the abandoned pins and deletes exactly the chunks only it had written; the
/// first version's chunks are all still there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_version_upload_leaks_no_chunk() {
    // A long grace before the kill (a loaded machine must not have the sweeper release the
    // live upload's pins), a short one after it, so the restarted sweeper collects at once.
    let before = [("STRONGROOM_FILES_ORPHAN_GRACE_SECS", "3600".to_owned())];
    let env = [
        ("STRONGROOM_FILES_ORPHAN_GRACE_SECS", "1".to_owned()),
        ("STRONGROOM_FILES_SWEEP_INTERVAL_SECS", "1".to_owned()),
    ];
    let s = Server::start(&before);
    let api = Api::new();
    let (token, tokens) = api.register_and_login(&s).await;
    let email = tokens["user"]["email"].as_str().unwrap().to_owned();
    let owner = tokens["user"]["id"].as_str().unwrap().to_owned();
    let v1 = noise(6 * 1024 * 1024, 11);
    let (st, meta) = api
        .json(
            api.http
                .post(s.url("/files?name=big.bin"))
                .bearer_auth(&token)
                .body(v1.clone()),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{meta}");
    let id = meta["id"].as_str().unwrap().to_owned();
    let place = BlobPlace::Disk(s.data.as_ref().unwrap().path().to_owned());
    let v1_chunks = place.chunks(&owner).await;
    assert!(v1_chunks.len() >= 3, "{v1_chunks:?}");

    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    let body = reqwest::Body::wrap_stream(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }));
    let upload = tokio::spawn({
        let req = api
            .http
            .post(s.url("/files?name=big.bin"))
            .bearer_auth(&token)
            .body(body);
        async move { req.send().await }
    });
    // The first 3 MiB as in version 1 (chunks it shares), then new content.
    let v2 = [&v1[..3 * 1024 * 1024], &noise(16 * 1024 * 1024, 12)[..]].concat();
    for part in v2.chunks(1024 * 1024) {
        tx.send(Ok(part.to_vec())).await.unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while place.chunks(&owner).await.len() < v1_chunks.len() + 3 {
        assert!(
            Instant::now() < deadline,
            "the new chunks never reached the disk"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let data = s.kill();
    drop(tx);
    let _ = upload.await;
    assert!(place.chunks(&owner).await.len() > v1_chunks.len());

    let s = Server::start_in(&env, data);
    let tokens = api.login(&s, &email, "correct horse battery").await;
    let token = tokens["access_token"].as_str().unwrap();
    let (_, versions) = api
        .json(
            api.http
                .get(s.url(&format!("/files/{id}/versions")))
                .bearer_auth(token),
        )
        .await;
    assert_eq!(versions.as_array().unwrap().len(), 1, "{versions}");
    place
        .wait_for_chunks(&owner, &v1_chunks, Duration::from_secs(15))
        .await;
    let got = api
        .http
        .get(s.url(&format!("/files/{id}/content")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(got[..] == v1[..], "version 1 is byte-exact");
}

/// SIGKILL while chunks are being deleted (a folder of 800 files purged from the trash, each
/// file's chunks claimed, deleted and forgotten in turn): after a restart every version of the
/// files kept downloads byte-exact, including the chunks they share with purged files; finishing
/// the purge and letting the sweeper run leaves exactly the chunk objects the kept files use,
/// none leaked and none missing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_garbage_collection_loses_and_leaks_nothing() {
    const JUNK: usize = 800;
    let limits = [
        ("STRONGROOM_HTTP_RATE_LIMIT_PER_IP", "1000000".to_owned()),
        ("STRONGROOM_HTTP_RATE_LIMIT_PER_USER", "1000000".to_owned()),
    ];
    // As above: a long grace while uploading, a short one after the restart.
    let before: Vec<(&str, String)> = limits
        .iter()
        .cloned()
        .chain([("STRONGROOM_FILES_ORPHAN_GRACE_SECS", "3600".to_owned())])
        .collect();
    let env: Vec<(&str, String)> = limits
        .iter()
        .cloned()
        .chain([
            ("STRONGROOM_FILES_ORPHAN_GRACE_SECS", "1".to_owned()),
            ("STRONGROOM_FILES_SWEEP_INTERVAL_SECS", "1".to_owned()),
        ])
        .collect();
    let s = Server::start(&before);
    let api = Api::new();
    let (token, tokens) = api.register_and_login(&s).await;
    let email = tokens["user"]["email"].as_str().unwrap().to_owned();
    let owner = tokens["user"]["id"].as_str().unwrap().to_owned();
    let upload = async |token: &str, query: String, body: Vec<u8>| -> String {
        let (st, meta) = api
            .json(
                api.http
                    .post(s.url(&format!("/files?{query}")))
                    .bearer_auth(token)
                    .body(body),
            )
            .await;
        assert!(st.is_success(), "{st} {meta}");
        meta["id"].as_str().unwrap().to_owned()
    };
    // Kept: a file with two versions (the second shares its first half), and a small one.
    let v1 = noise(4 * 1024 * 1024, 21);
    let v2 = [&v1[..2 * 1024 * 1024], &noise(2 * 1024 * 1024, 24)[..]].concat();
    let small = noise(1000, 23);
    let big = upload(&token, "name=big.bin".into(), v1.clone()).await;
    assert_eq!(upload(&token, "name=big.bin".into(), v2.clone()).await, big);
    let kept = upload(&token, "name=small.bin".into(), small.clone()).await;
    let place = BlobPlace::Disk(s.data.as_ref().unwrap().path().to_owned());
    let baseline = place.chunks(&owner).await;

    // Junk: 800 one-chunk files, plus copies of kept content (their chunks are shared).
    let (st, folder) = api
        .json(
            api.http
                .post(s.url("/folders"))
                .bearer_auth(&token)
                .json(&json!({ "name": "junk" })),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{folder}");
    let junk = folder["id"].as_str().unwrap().to_owned();
    upload(
        &token,
        format!("name=copy.bin&folder_id={junk}"),
        v1.clone(),
    )
    .await;
    upload(
        &token,
        format!("name=small.bin&folder_id={junk}"),
        small.clone(),
    )
    .await;
    let uploads: Vec<_> = (0..JUNK)
        .map(|i| {
            upload(
                &token,
                format!("name=j{i}.bin&folder_id={junk}"),
                noise(1024, 2 * (1000 + i as u64) + 1),
            )
        })
        .collect();
    {
        use futures::StreamExt;
        futures::stream::iter(uploads)
            .buffer_unordered(4)
            .collect::<Vec<_>>()
            .await;
    }
    let full = place.chunks(&owner).await.len();
    assert_eq!(full, baseline.len() + JUNK, "one new chunk per junk file");

    // Trash the folder, purge it, and kill the server while its chunks are going.
    let st = api
        .http
        .delete(s.url(&format!("/folders/{junk}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(st, StatusCode::NO_CONTENT);
    let purge = tokio::spawn(
        api.http
            .delete(s.url(&format!("/trash/folders/{junk}")))
            .bearer_auth(&token)
            .send(),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left = place.chunks(&owner).await.len();
        if left <= full - JUNK / 4 {
            break;
        }
        assert!(Instant::now() < deadline, "the purge never got going");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let data = s.kill();
    let _ = purge.await;
    let left = place.chunks(&owner).await.len();
    eprintln!("killed with {left} of {full} chunk objects left");
    assert!(
        left > baseline.len(),
        "the kill came after the purge finished ({left} chunks left): it proves nothing"
    );

    // Restarted: what was kept is whole, byte for byte, and verifies.
    let s = Server::start_in(&env, data);
    let tokens = api.login(&s, &email, "correct horse battery").await;
    let token = tokens["access_token"].as_str().unwrap().to_owned();
    let get = async |path: String| -> Vec<u8> {
        let res = api
            .http
            .get(s.url(&path))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        res.bytes().await.unwrap().to_vec()
    };
    assert!(
        get(format!("/files/{big}/versions/1/content")).await == v1,
        "version 1"
    );
    assert!(
        get(format!("/files/{big}/content")).await == v2,
        "version 2"
    );
    assert!(
        get(format!("/files/{kept}/content")).await == small,
        "the small file"
    );
    for id in [&big, &kept] {
        let (st, v) = api
            .json(
                api.http
                    .get(s.url(&format!("/files/{id}/verify")))
                    .bearer_auth(&token),
            )
            .await;
        assert_eq!((st, &v["ok"]), (StatusCode::OK, &json!(true)), "{v}");
    }

    // The rest of the purge (the folder is still in the trash, part-emptied), then the sweeper:
    // exactly the kept files' chunks remain.
    let (st, body) = api
        .json(api.http.delete(s.url("/trash")).bearer_auth(&token))
        .await;
    assert!(st.is_success(), "{st} {body}");
    place
        .wait_for_chunks(&owner, &baseline, Duration::from_secs(30))
        .await;
    assert!(get(format!("/files/{big}/versions/1/content")).await == v1);
    assert!(get(format!("/files/{big}/content")).await == v2);
    assert!(get(format!("/files/{kept}/content")).await == small);
}

/// `strongroom rotate-kek`: a new key-encryption key, every data key rewrapped, no chunk
/// rewritten; with the old key file deleted, everything still downloads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_the_key_encryption_key_rewraps_without_rewriting() {
    let s = Server::start(&[]);
    let api = Api::new();
    let (token, tokens) = api.register_and_login(&s).await;
    let email = tokens["user"]["email"].as_str().unwrap().to_owned();
    let owner = tokens["user"]["id"].as_str().unwrap().to_owned();
    let data = noise(2 * 1024 * 1024, 21);
    let (st, meta) = api
        .json(
            api.http
                .post(s.url("/files?name=secret.bin"))
                .bearer_auth(&token)
                .body(data.clone()),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{meta}");
    let id = meta["id"].as_str().unwrap().to_owned();
    let root = s.data.as_ref().unwrap().path().to_owned();
    let place = BlobPlace::Disk(root.clone());
    let before = place.chunks(&owner).await;
    let dir = s.kill();

    let out = Command::new(env!("CARGO_BIN_EXE_strongroom"))
        .arg("rotate-kek")
        .env_clear()
        .env("STRONGROOM_DATA_DIR", dir.path())
        .env("STRONGROOM_LOG_LEVEL", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("content-kek-2.key") && stdout.contains("\"rewrapped\":1"),
        "{stdout}"
    );
    assert_eq!(place.chunks(&owner).await, before, "no chunk was rewritten");
    std::fs::remove_file(dir.path().join("keys").join("content-kek-1.key")).unwrap();

    let s = Server::start_in(&[], dir);
    let tokens = api.login(&s, &email, "correct horse battery").await;
    let got = api
        .http
        .get(s.url(&format!("/files/{id}/content")))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), StatusCode::OK);
    assert!(got.bytes().await.unwrap()[..] == data[..]);
}

/// SIGKILL in the middle of a multipart upload with chunking off (one object per version):
/// nothing becomes visible, and after a restart the sweeper removes what the interrupted upload
/// left on disk.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_upload_leaves_nothing() {
    let env = [
        ("STRONGROOM_FILES_ORPHAN_GRACE_SECS", "1".to_owned()),
        ("STRONGROOM_FILES_SWEEP_INTERVAL_SECS", "1".to_owned()),
        ("STRONGROOM_STORAGE_DEDUP", "false".to_owned()),
        ("STRONGROOM_STORAGE_ENCRYPT", "false".to_owned()),
    ];
    let s = Server::start(&env);
    let api = Api::new();
    let (token, tokens) = api.register_and_login(&s).await;
    let email = tokens["user"]["email"].as_str().unwrap().to_owned();
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    let body = reqwest::Body::wrap_stream(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }));
    let upload = tokio::spawn({
        let req = api
            .http
            .post(s.url("/files?name=half.bin"))
            .bearer_auth(&token)
            .body(body);
        async move { req.send().await }
    });
    // 20 MiB: past the single-PUT threshold, so parts are being written when the process dies.
    for _ in 0..20 {
        tx.send(Ok(vec![1u8; 1024 * 1024])).await.unwrap();
    }
    // Kill only once parts are on disk (the staging file exists), however slow the machine.
    let staging_dir = s.data.as_ref().unwrap().path().join("blobs").join("blobs");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !std::fs::read_dir(&staging_dir)
        .map(|d| {
            d.flatten()
                .any(|e| e.file_name().to_string_lossy().contains('#'))
        })
        .unwrap_or(false)
    {
        assert!(
            Instant::now() < deadline,
            "the upload never reached the disk"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let data = s.kill();
    drop(tx);
    let _ = upload.await;
    let blobs = data.path().join("blobs").join("blobs");
    let leftovers = |dir: &std::path::Path| -> Vec<String> {
        std::fs::read_dir(dir)
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    let left = leftovers(&blobs);
    assert!(
        !left.is_empty(),
        "expected the interrupted upload's staging file"
    );
    assert!(
        left.iter().all(|n| n.contains('#')),
        "a complete blob appeared: {left:?}"
    );

    let s = Server::start_in(&env, data);
    let tokens = api.login(&s, &email, "correct horse battery").await;
    let token = tokens["access_token"].as_str().unwrap();
    let (st, page) = api
        .json(api.http.get(s.url("/files")).bearer_auth(token))
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(page["files"].as_array().unwrap().len(), 0, "{page}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !leftovers(&blobs).is_empty() {
        assert!(
            Instant::now() < deadline,
            "not swept: {:?}",
            leftovers(&blobs)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The command-line client against the running binary: login, whoami, upload, ls, download,
/// share, links, sessions, unshare, rm; its config file holds tokens with mode 0600.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_line_client() {
    use std::os::unix::fs::PermissionsExt;
    let s = Server::start(&[]);
    let api = Api::new();
    let email = "cli@example.com";
    let (st, _) = api
        .json(
            api.http.post(s.url("/auth/register")).json(
                &json!({ "email": email, "name": "Cli", "password": "correct horse battery" }),
            ),
        )
        .await;
    assert_eq!(st, StatusCode::ACCEPTED);
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("client.json");
    let sr = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_strongroom"))
            .args(["--server", &s.base, "--json"])
            .args(args)
            .env("STRONGROOM_CLIENT_CONFIG", &config)
            .env("STRONGROOM_CLIENT_PASSWORD", "correct horse battery")
            .current_dir(home.path())
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, _, err) = sr(&["login", email]);
    assert!(ok, "{err}");
    assert_eq!(
        std::fs::metadata(&config).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let (ok, out, _) = sr(&["whoami"]);
    assert!(ok && out.contains(email), "{out}");
    let file = home.path().join("notes.txt");
    std::fs::write(&file, content(70_000)).unwrap();
    let (ok, out, err) = sr(&["upload", file.to_str().unwrap()]);
    assert!(ok, "{err}");
    let meta: Value = serde_json::from_str(&out).unwrap();
    let id = meta["id"].as_str().unwrap();
    let (ok, out, _) = sr(&["ls"]);
    assert!(ok && out.contains("notes.txt"), "{out}");
    let (ok, out, err) = sr(&["download", id, "-o", "copy.txt"]);
    assert!(ok, "{err}");
    assert_eq!(
        std::fs::read(home.path().join("copy.txt")).unwrap(),
        content(70_000),
        "{out}"
    );
    // Versions: the same name again is version 2; list, diff, download an old one, restore.
    std::fs::write(&file, b"version two\n").unwrap();
    let (ok, out, err) = sr(&["upload", file.to_str().unwrap()]);
    assert!(ok, "{err}");
    let v2: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (v2["id"].as_str(), v2["version"].as_i64()),
        (Some(id), Some(2))
    );
    let (ok, out, err) = sr(&["versions", id]);
    assert!(ok, "{err}");
    let listed: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 2, "{out}");
    let (ok, out, err) = sr(&["diff", id, "1", "2", "--summary"]);
    assert!(ok, "{err}");
    assert!(out.contains("\"changed_blocks\""), "{out}");
    let (ok, _, err) = sr(&["download", id, "--version", "1", "-o", "v1.txt"]);
    assert!(ok, "{err}");
    assert_eq!(
        std::fs::read(home.path().join("v1.txt")).unwrap(),
        content(70_000)
    );
    let (ok, out, err) = sr(&["restore", id, "1"]);
    assert!(ok, "{err}");
    assert!(out.contains("\"version\": 3"), "{out}");
    let (ok, _, err) = sr(&["diff", id, "1", "99"]);
    assert!(!ok && err.contains("no version 99"), "{err}");
    let (ok, out, err) = sr(&["share", id, "--ttl", "600", "--max-downloads", "2"]);
    assert!(ok, "{err}");
    let link: Value = serde_json::from_str(&out).unwrap();
    let anon = api
        .http
        .get(s.url(&format!("/s/{}/content", link["token"].as_str().unwrap())))
        .send()
        .await
        .unwrap();
    assert_eq!(anon.status(), StatusCode::OK);
    let (st, _) = api
        .json(api.http.post(s.url("/auth/register")).json(&json!({ "email": "friend@example.com", "name": "F", "password": "correct horse battery" })))
        .await;
    assert_eq!(st, StatusCode::ACCEPTED);
    let (ok, out, err) = sr(&[
        "share",
        id,
        "--with",
        "friend@example.com",
        "--role",
        "commenter",
    ]);
    assert!(ok && out.contains("commenter"), "{out}{err}");
    let (ok, out, _) = sr(&["links"]);
    assert!(ok && out.contains(link["id"].as_str().unwrap()), "{out}");
    let (ok, out, _) = sr(&["sessions"]);
    assert!(ok && out.contains("\"current\": true"), "{out}");
    let (ok, _, err) = sr(&["unshare", link["id"].as_str().unwrap()]);
    assert!(ok, "{err}");
    let (ok, _, err) = sr(&["rm", id]);
    assert!(ok, "{err}");
    let (ok, _, err) = sr(&["download", id]);
    assert!(!ok && err.contains("404"), "{err}");
    // The trash from the command line: listed, restored, deleted again, purged, emptied.
    let (ok, out, err) = sr(&["trash"]);
    assert!(
        ok && out.contains(id) && out.contains("purge_at"),
        "{out}{err}"
    );
    let (ok, out, err) = sr(&["trash", "restore", id]);
    assert!(ok && out.contains("\"folder_id\""), "{out}{err}");
    let (ok, _, err) = sr(&["download", id]);
    assert!(ok, "{err}");
    let (ok, _, err) = sr(&["rm", id]);
    assert!(ok, "{err}");
    let (ok, _, err) = sr(&["trash", "purge", id]);
    assert!(ok, "{err}");
    let (ok, out, _) = sr(&["trash"]);
    assert!(ok && !out.contains(id), "{out}");
    let (ok, _, err) = sr(&["trash", "restore", id]);
    assert!(!ok && err.contains("not in your trash"), "{err}");
    let (ok, out, err) = sr(&["trash", "empty"]);
    assert!(ok && out.contains("purged"), "{out}{err}");
    let (ok, out, err) = sr(&["usage"]);
    assert!(
        ok && out.contains("\"stored_bytes\"") && out.contains("\"quota_bytes\""),
        "{out}{err}"
    );

    // Organize and find from the command line: tags, search, statistics, a file's history, and
    // the operator's reindex (run next to the live server).
    let minutes = home.path().join("minutes.md");
    std::fs::write(&minutes, "quarterly budget review\n").unwrap();
    let (ok, out, err) = sr(&["upload", minutes.to_str().unwrap()]);
    assert!(ok, "{err}");
    let doc = serde_json::from_str::<Value>(&out).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (ok, out, err) = sr(&["tag", "create", "Urgent", "--colour", "#ff0000"]);
    assert!(ok, "{out}{err}");
    let tag = serde_json::from_str::<Value>(&out).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (ok, out, err) = sr(&["tag", "add", &tag, "--file", &doc]);
    assert!(ok && out.contains("\"changed\": 1"), "{out}{err}");
    let (ok, _, err) = sr(&["tag", "add", &tag]);
    assert!(!ok && err.contains("--file or --folder"), "{err}");
    let (ok, out, _) = sr(&["tag"]);
    assert!(ok && out.contains("Urgent"), "{out}");
    let (ok, out, _) = sr(&["tag", "items", &tag]);
    assert!(ok && out.contains(&doc), "{out}");
    let (ok, out, err) = sr(&["search", "budget"]);
    assert!(
        ok && out.contains("minutes.md") && !out.contains("notes.txt"),
        "{out}{err}"
    );
    let (ok, out, err) = sr(&["search", "--tag", &tag, "--ext", "md"]);
    assert!(ok && out.contains(&doc), "{out}{err}");
    let (ok, _, err) = sr(&["search", "\"unbalanced"]);
    assert!(!ok && err.contains("400"), "{err}");
    let (ok, out, err) = sr(&["stats", "--days", "3"]);
    assert!(ok, "{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["days"].as_array().unwrap().len(), 3, "{report}");
    assert!(out.contains("\"md\""), "{out}");
    let (ok, _, err) = sr(&["stats", "--days", "0"]);
    assert!(!ok && err.contains("400"), "{err}");
    let mut history = String::new();
    for _ in 0..100 {
        let (ok, out, err) = sr(&["activity", "--file", &doc]);
        assert!(ok, "{err}");
        history = out;
        if history.contains("file.uploaded") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(history.contains("file.uploaded"), "{history}");
    let reindex = Command::new(env!("CARGO_BIN_EXE_strongroom"))
        .arg("reindex")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("STRONGROOM_DATA_DIR", s.data.as_ref().unwrap().path())
        .env("STRONGROOM_LOG_LEVEL", "warn")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&reindex.stdout).into_owned();
    assert!(
        reindex.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&reindex.stderr)
    );
    let done: Value = serde_json::from_str(&said).unwrap();
    assert!(
        done["files"].as_u64().unwrap() >= 1 && done["with_content"].as_u64().unwrap() >= 1,
        "{done}"
    );
    let (ok, out, _) = sr(&["search", "budget"]);
    assert!(ok && out.contains("minutes.md"), "{out}");
    let (ok, _, err) = sr(&["tag", "remove", &tag, "--file", &doc]);
    assert!(ok, "{err}");
    let (ok, _, err) = sr(&["tag", "delete", &tag]);
    assert!(ok, "{err}");

    // Accounts from the command line: change one's password; administrators disable, enable
    // and reset accounts.
    let run = |config: &std::path::Path, env: &[(&str, &str)], args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_strongroom"))
            .args(["--server", &s.base, "--json"])
            .args(args)
            .env("STRONGROOM_CLIENT_CONFIG", config)
            .envs(env.iter().copied())
            .current_dir(home.path())
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let new_password = [
        ("STRONGROOM_CLIENT_PASSWORD", "correct horse battery"),
        ("STRONGROOM_CLIENT_NEW_PASSWORD", "a brand new password"),
    ];
    let (ok, _, err) = run(&config, &new_password, &["passwd"]);
    assert!(ok, "{err}");
    let fresh = home.path().join("again.json");
    let (ok, _, _) = run(&fresh, &new_password[..1], &["login", email]);
    assert!(!ok, "the old password still works");
    let (ok, _, err) = run(
        &fresh,
        &[("STRONGROOM_CLIENT_PASSWORD", "a brand new password")],
        &["login", email],
    );
    assert!(ok, "{err}");
    let (ok, _, err) = run(&fresh, &[], &["admin", "users"]);
    assert!(!ok && err.contains("403"), "{err}");
    let admin = home.path().join("admin.json");
    let admin_password = s.admin_password.clone().unwrap();
    let (ok, _, err) = run(
        &admin,
        &[("STRONGROOM_CLIENT_PASSWORD", &admin_password)],
        &["login", "admin@strongroom.local"],
    );
    assert!(ok, "{err}");
    let (ok, out, err) = run(&admin, &[], &["admin", "users"]);
    assert!(ok, "{err}");
    let users: Value = serde_json::from_str(&out).unwrap();
    let cli_id = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == email)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (ok, out, err) = run(&admin, &[], &["admin", "disable", &cli_id]);
    assert!(ok && out.contains("disabled_at"), "{out}{err}");
    let (ok, _, _) = run(
        &home.path().join("x.json"),
        &[("STRONGROOM_CLIENT_PASSWORD", "a brand new password")],
        &["login", email],
    );
    assert!(!ok, "a disabled account signed in");
    let (ok, _, err) = run(&admin, &[], &["admin", "enable", &cli_id]);
    assert!(ok, "{err}");
    let (ok, out, err) = run(
        &admin,
        &[],
        &["admin", "quota", &cli_id, "--bytes", "123456"],
    );
    assert!(ok, "{out}{err}");
    // Sign-in locks from the command line (locking itself is in the lockout tests).
    let (ok, out, err) = run(&admin, &[], &["admin", "lockouts"]);
    assert!(ok, "{err}");
    let locks: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(locks["items"], json!([]), "{out}");
    let (ok, _, err) = run(&admin, &[], &["admin", "unlock", &cli_id]);
    assert!(!ok && err.contains("not locked"), "{err}");
    let (ok, out, err) = run(&admin, &[], &["admin", "reset-password", &cli_id]);
    assert!(ok, "{err}");
    let reset: Value = serde_json::from_str(&out).unwrap();
    let (ok, _, err) = run(
        &home.path().join("y.json"),
        &[(
            "STRONGROOM_CLIENT_PASSWORD",
            reset["password"].as_str().unwrap(),
        )],
        &["login", email],
    );
    assert!(ok, "{err}");

    // Groups, group shares with an expiry, and account administration from the command line.
    let me = home.path().join("y.json");
    let (ok, out, err) = run(
        &admin,
        &[],
        &["group", "create", "cli-team", "--name", "CLI team"],
    );
    assert!(ok && out.contains("cli-team"), "{out}{err}");
    let (ok, out, err) = run(&admin, &[], &["group", "add", "cli-team", "--email", email]);
    assert!(ok && out.contains(email), "{out}{err}");
    let (ok, out, err) = run(&me, &[], &["group"]);
    assert!(ok && out.contains("cli-team"), "{out}{err}");
    let (ok, out, err) = run(&me, &[], &["upload", file.to_str().unwrap()]);
    assert!(ok, "{err}");
    let shared_id = serde_json::from_str::<Value>(&out).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (ok, out, err) = run(
        &me,
        &[],
        &[
            "share",
            &shared_id,
            "--with-group",
            "cli-team",
            "--role",
            "editor",
            "--expires",
            "2999-01-01T00:00:00Z",
        ],
    );
    assert!(
        ok && out.contains("\"group_id\": \"cli-team\""),
        "{out}{err}"
    );
    let (ok, out, err) = run(&me, &[], &["shared", "--by-me"]);
    assert!(ok && out.contains("2999-01-01T00:00:00Z"), "{out}{err}");
    let (ok, _, err) = run(&me, &[], &["unshare", &shared_id, "--group", "cli-team"]);
    assert!(ok, "{err}");
    let (ok, out, _) = run(&me, &[], &["shared", "--by-me"]);
    assert!(ok && !out.contains("cli-team"), "{out}");
    let (ok, out, err) = run(&admin, &[], &["admin", "users", "--search", "CLI@"]);
    assert!(
        ok && out.contains(email) && !out.contains("admin@"),
        "{out}{err}"
    );
    let (ok, out, err) = run(&admin, &[], &["admin", "sessions", &cli_id]);
    assert!(ok && out.contains("last_used_at"), "{out}{err}");
    let (ok, out, err) = run(&admin, &[], &["admin", "make-admin", &cli_id]);
    assert!(ok && out.contains("\"is_admin\": true"), "{out}{err}");
    let (ok, _, err) = run(&me, &[], &["whoami"]);
    assert!(!ok, "still signed in after a change of role: {err}");
    let (ok, out, err) = run(
        &admin,
        &[],
        &[
            "admin",
            "attributes",
            &cli_id,
            "--tag",
            "contractor",
            "--tag",
            "berlin",
        ],
    );
    assert!(ok && out.contains("\"contractor\""), "{out}{err}");
    let (ok, out, err) = run(
        &admin,
        &[],
        &["admin", "attributes", &cli_id, "--field", "shoe=44"],
    );
    assert!(
        !ok && err.contains("422"),
        "an undeclared field: {out}{err}"
    );
    let (ok, out, err) = run(&admin, &[], &["admin", "revoke-admin", &cli_id]);
    assert!(ok && out.contains("\"is_admin\": false"), "{out}{err}");
    let (ok, _, err) = run(&admin, &[], &["admin", "sessions", &cli_id, "--revoke-all"]);
    assert!(ok, "{err}");
    let (ok, _, err) = run(&admin, &[], &["group", "delete", "cli-team"]);
    assert!(ok, "{err}");

    // Teams: create one, upload into its space, give the administrator a role, hand it over,
    // and delete it once its space is empty.
    let me = home.path().join("crew.json");
    let (ok, _, err) = run(
        &me,
        &[(
            "STRONGROOM_CLIENT_PASSWORD",
            reset["password"].as_str().unwrap(),
        )],
        &["login", email],
    );
    assert!(
        ok,
        "signing in again after the sessions were revoked: {err}"
    );
    let (ok, out, err) = run(&me, &[], &["team", "create", "CLI crew"]);
    assert!(ok, "{out}{err}");
    let team: Value = serde_json::from_str(&out).unwrap();
    let (team_id, space) = (
        team["id"].as_str().unwrap().to_owned(),
        team["space_id"].as_str().unwrap().to_owned(),
    );
    let (ok, out, err) = run(
        &me,
        &[],
        &["upload", file.to_str().unwrap(), "--folder", &space],
    );
    assert!(ok, "{out}{err}");
    let in_space = serde_json::from_str::<Value>(&out).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (ok, out, err) = run(
        &me,
        &[],
        &[
            "team",
            "add",
            &team_id,
            "admin@strongroom.local",
            "--role",
            "guest",
        ],
    );
    assert!(ok && out.contains("guest"), "{out}{err}");
    // A team's group: its admin makes it and adds a member; a guest sees it.
    let group = ["group", "--team", team_id.as_str()];
    let (ok, out, err) = run(&me, &[], &[&group[..], &["create", "reviewers"]].concat());
    assert!(
        ok && out.contains(&format!("{team_id}.reviewers")),
        "{out}{err}"
    );
    let add = ["add", "reviewers", "--email", "admin@strongroom.local"];
    let (ok, out, err) = run(&me, &[], &[&group[..], &add].concat());
    assert!(ok && out.contains("admin@strongroom.local"), "{out}{err}");
    let (ok, out, err) = run(&admin, &[], &[&group[..], &["list"]].concat());
    assert!(ok && out.contains("reviewers"), "{out}{err}");
    let (ok, out, err) = run(&admin, &[], &["group"]);
    assert!(
        ok && out.contains(&format!("{team_id}.reviewers")),
        "in my groups: {out}{err}"
    );
    let (ok, out, err) = run(
        &admin,
        &[],
        &[&group[..], &["delete", "reviewers"]].concat(),
    );
    assert!(ok, "an administrator manages any team's groups: {out}{err}");
    let (ok, out, err) = run(&admin, &[], &["team"]);
    assert!(
        ok && out.contains("CLI crew") && out.contains("guest"),
        "{out}{err}"
    );
    let (ok, out, err) = run(&me, &[], &["team", "delete", &team_id]);
    assert!(!ok && err.contains("still holds"), "{out}{err}");
    let (ok, out, err) = run(
        &me,
        &[],
        &["team", "transfer", &team_id, "admin@strongroom.local"],
    );
    assert!(ok && out.contains("admin@strongroom.local"), "{out}{err}");
    let (ok, out, err) = run(&me, &[], &["rm", &in_space]);
    assert!(ok, "an editor deletes: {out}{err}");
    let (ok, out, err) = run(
        &admin,
        &[],
        &["trash", "--team", &team_id, "purge", &in_space],
    );
    assert!(ok, "{out}{err}");
    let (ok, out, err) = run(&admin, &[], &["team", "delete", &team_id]);
    assert!(ok, "{out}{err}");
    let (ok, out, _) = run(&me, &[], &["team"]);
    assert!(ok && !out.contains("CLI crew"), "{out}");

    // Deleting a team that holds files, handing them to a member: the space becomes a folder
    // of theirs, named after the team, with the file in it.
    let (ok, out, err) = run(&me, &[], &["team", "create", "Handed crew"]);
    assert!(ok, "{out}{err}");
    let handed: Value = serde_json::from_str(&out).unwrap();
    let (handed_id, handed_space) = (
        handed["id"].as_str().unwrap().to_owned(),
        handed["space_id"].as_str().unwrap().to_owned(),
    );
    // Small: the quota set above holds the handed-over file too (507 otherwise).
    let small = home.path().join("handed.txt");
    std::fs::write(&small, b"handed over").unwrap();
    let (ok, out, err) = run(
        &me,
        &[],
        &["upload", small.to_str().unwrap(), "--folder", &handed_space],
    );
    assert!(ok, "{out}{err}");
    let handed_file = serde_json::from_str::<Value>(&out).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (ok, out, err) = run(
        &me,
        &[],
        &["team", "delete", &handed_id, "--transfer-to", email],
    );
    assert!(
        ok && out.contains(&handed_space) && out.contains("Handed crew"),
        "{out}{err}"
    );
    let (ok, out, err) = run(&me, &[], &["ls", "--folder", &handed_space]);
    assert!(ok && out.contains(&handed_file), "{out}{err}");
    let (ok, out, _) = run(&me, &[], &["team"]);
    assert!(ok && !out.contains("Handed crew"), "{out}");

    // Webhooks: register (the secret once), list, pause, rotate, see deliveries, delete; a
    // plain-http URL is refused with the reason.
    let (ok, out, err) = run(
        &me,
        &[],
        &["webhook", "create", "http://hooks.example.com/in"],
    );
    assert!(!ok && err.contains("https"), "{out}{err}");
    let (ok, out, err) = run(
        &me,
        &[],
        &[
            "webhook",
            "create",
            "https://hooks.example.com/in",
            "--events",
            "share,file.uploaded",
            "--description",
            "chat",
        ],
    );
    assert!(ok && out.contains("whsec_"), "{out}{err}");
    let hook: Value = serde_json::from_str(&out).unwrap();
    let hook_id = hook["id"].as_str().unwrap().to_owned();
    let (ok, out, err) = run(&me, &[], &["webhook"]);
    assert!(
        ok && out.contains(&hook_id) && !out.contains("whsec_"),
        "{out}{err}"
    );
    let (ok, out, err) = run(&me, &[], &["webhook", "update", &hook_id, "--disable"]);
    assert!(ok && out.contains("\"enabled\": false"), "{out}{err}");
    let (ok, out, err) = run(
        &me,
        &[],
        &["webhook", "rotate", &hook_id, "--overlap", "60"],
    );
    assert!(
        ok && out.contains("whsec_") && out.contains("previous_secret_until"),
        "{out}{err}"
    );
    let (ok, out, err) = run(&me, &[], &["webhook", "deliveries", &hook_id]);
    assert!(ok, "{out}{err}");
    let (ok, out, err) = run(&me, &[], &["webhook", "--platform"]);
    assert!(!ok, "only administrators: {out}{err}");
    let (ok, out, err) = run(&me, &[], &["webhook", "delete", &hook_id]);
    assert!(ok, "{out}{err}");
    let (ok, out, err) = run(&me, &[], &["webhook", "show", &hook_id]);
    assert!(!ok && err.contains("404"), "{out}{err}");

    // Invitations: a team admin invites (no [smtp] here: the link comes back), the invitee
    // follows it signed out and becomes a guest; a second use is refused.
    let (ok, out, err) = run(&me, &[], &["team", "create", "Invited crew"]);
    assert!(ok, "{out}{err}");
    let team_id = serde_json::from_str::<Value>(&out).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (ok, out, err) = run(
        &me,
        &[],
        &[
            "invite",
            "send",
            "newbie@example.com",
            "--team",
            &team_id,
            "--role",
            "guest",
        ],
    );
    assert!(ok, "{out}{err}");
    let link = serde_json::from_str::<Value>(&out).unwrap()["link"]
        .as_str()
        .unwrap()
        .to_owned();
    let newbie = home.path().join("newbie.json");
    let (ok, out, err) = run(&newbie, &[], &["invite", "show", &link]);
    assert!(ok && out.contains("Invited crew"), "{out}{err}");
    let (ok, out, err) = run(
        &newbie,
        &[("STRONGROOM_CLIENT_PASSWORD", "correct horse battery")],
        &["invite", "accept", &link, "--name", "Newbie"],
    );
    assert!(ok && out.contains("\"new_account\": true"), "{out}{err}");
    let (ok, _, err) = run(
        &newbie,
        &[("STRONGROOM_CLIENT_PASSWORD", "correct horse battery")],
        &["login", "newbie@example.com"],
    );
    assert!(ok, "{err}");
    let (ok, out, err) = run(&newbie, &[], &["team"]);
    assert!(
        ok && out.contains("Invited crew") && out.contains("guest"),
        "{out}{err}"
    );
    let (ok, out, err) = run(&newbie, &[], &["invite", "accept", &link]);
    assert!(!ok && err.contains("410"), "{out}{err}");
    let (ok, out, err) = run(&me, &[], &["invite", "list", "--team", &team_id]);
    assert!(ok && out.contains("accepted"), "{out}{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_and_local_disk() {
    use std::os::unix::fs::PermissionsExt;
    let s = Server::start(&[]);
    story(&s).await;
    // Everything the server wrote (database, journal, blobs, keys) is private to its user,
    // although it ran under umask 022.
    let mut checked = 0;
    let mut stack = vec![s.data.as_ref().unwrap().path().to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let meta = entry.metadata().unwrap();
            let mode = meta.permissions().mode() & 0o777;
            assert_eq!(mode & 0o077, 0, "{} is {mode:o}", entry.path().display());
            if meta.is_dir() {
                assert_eq!(mode, 0o700, "{}", entry.path().display());
                stack.push(entry.path());
            }
            checked += 1;
        }
    }
    assert!(checked >= 5, "{checked} entries");
    let mode = std::fs::metadata(s.data.as_ref().unwrap().path())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700);

    // /metrics passes Prometheus's own linter.
    let Some(promtool) = required("STRONGROOM_TEST_PROMTOOL") else {
        return;
    };
    let body = reqwest::get(s.url("/metrics")).await.unwrap();
    assert_eq!(
        body.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let text = body.text().await.unwrap();
    let mut lint = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    lint.stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = lint.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Where content lives, to look at it behind the server's back: the chunk objects of an owner.
enum BlobPlace {
    Disk(std::path::PathBuf),
    S3(std::sync::Arc<dyn object_store::ObjectStore>),
}

impl BlobPlace {
    fn store(&self) -> std::sync::Arc<dyn object_store::ObjectStore> {
        match self {
            BlobPlace::Disk(root) => std::sync::Arc::new(
                object_store::local::LocalFileSystem::new_with_prefix(root.join("blobs")).unwrap(),
            ),
            BlobPlace::S3(store) => store.clone(),
        }
    }

    /// The chunk objects of `owner`, sorted.
    /// Waits (at most `within`) until `owner`'s chunk objects are exactly `want`.
    async fn wait_for_chunks(
        &self,
        owner: &str,
        want: &[object_store::path::Path],
        within: Duration,
    ) {
        let deadline = Instant::now() + within;
        loop {
            let now = self.chunks(owner).await;
            if now == want {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "chunks not collected: {} left, {} expected",
                now.len(),
                want.len()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn chunks(&self, owner: &str) -> Vec<object_store::path::Path> {
        use futures::TryStreamExt;
        let prefix = object_store::path::Path::from(format!("chunks/{owner}"));
        let mut out: Vec<_> = self
            .store()
            .list(Some(&prefix))
            .map_ok(|m| m.location)
            .try_collect()
            .await
            .unwrap();
        out.sort();
        out
    }
}

fn s3_store() -> Option<std::sync::Arc<dyn object_store::ObjectStore>> {
    let s3 = object_store::aws::AmazonS3Builder::new()
        .with_bucket_name(required("STRONGROOM_TEST_S3_BUCKET")?)
        .with_endpoint(required("STRONGROOM_TEST_S3_ENDPOINT")?)
        .with_region(required("STRONGROOM_TEST_S3_REGION")?)
        .with_access_key_id(required("STRONGROOM_TEST_S3_ACCESS_KEY_ID")?)
        .with_secret_access_key(required("STRONGROOM_TEST_S3_SECRET_ACCESS_KEY")?)
        .with_allow_http(true)
        .build()
        .unwrap();
    Some(std::sync::Arc::new(s3))
}

/// Deleting an account removes its blobs (checked in the store itself), its links, the shares
/// it gave and received, and its sessions; an altered blob makes verify answer `ok: false`.
async fn account_deletion_and_tampering(s: &Server, place: BlobPlace) {
    let api = Api::new();
    let (token, tokens) = api.register_and_login(s).await;
    let (friend, _) = api.register_and_login(s).await;
    let (_, friend_me) = api
        .json(api.http.get(s.url("/me")).bearer_auth(&friend))
        .await;
    let friend_email = friend_me["email"].as_str().unwrap().to_owned();
    let mut ids = Vec::new();
    for i in 0..2 {
        let (st, meta) = api
            .json(
                api.http
                    .post(s.url(&format!("/files?name=f{i}.bin")))
                    .bearer_auth(&token)
                    .body(content(10_000 + i)),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{meta}");
        ids.push(meta["id"].as_str().unwrap().to_owned());
    }
    let owner = tokens["user"]["id"].as_str().unwrap().to_owned();
    let first = place.chunks(&owner).await;
    assert_eq!(first.len(), 2, "one chunk per small file: {first:?}");
    // A second version of f0: its chunk must go with the account too.
    let (st, v2) = api
        .json(
            api.http
                .post(s.url("/files?name=f0.bin"))
                .bearer_auth(&token)
                .body(content(12_345)),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v2}");
    assert_eq!(v2["version"], 2);
    assert_eq!(place.chunks(&owner).await.len(), 3);
    let (st, link) = api
        .json(
            api.http
                .post(s.url(&format!("/files/{}/links", ids[0])))
                .bearer_auth(&token)
                .json(&json!({})),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
    let (st, _) = api
        .json(
            api.http
                .post(s.url(&format!("/files/{}/grants", ids[1])))
                .bearer_auth(&token)
                .json(&json!({ "email": friend_email, "role": "viewer" })),
        )
        .await;
    assert_eq!(st, StatusCode::ACCEPTED);
    let (_, shared) = api
        .json(api.http.get(s.url("/shared")).bearer_auth(&friend))
        .await;
    assert_eq!(shared.as_array().unwrap().len(), 1, "{shared}");

    let (st, _) = api
        .json(
            api.http
                .delete(s.url("/me"))
                .bearer_auth(&token)
                .json(&json!({ "password": "correct horse battery" })),
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let left = place.chunks(&owner).await;
    assert!(left.is_empty(), "chunks outlived their account: {left:?}");
    let link_token = link["token"].as_str().unwrap();
    let (st, _) = api
        .json(api.http.get(s.url(&format!("/s/{link_token}"))))
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (_, shared) = api
        .json(api.http.get(s.url("/shared")).bearer_auth(&friend))
        .await;
    assert_eq!(shared, json!([]));
    let (st, _) = api
        .json(
            api.http
                .post(s.url("/auth/refresh"))
                .json(&json!({ "refresh_token": tokens["refresh_token"] })),
        )
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);

    // Tampering behind the server's back: verify notices.
    let (st, meta) = api
        .json(
            api.http
                .post(s.url("/files?name=kept.bin"))
                .bearer_auth(&friend)
                .body(content(50_000)),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
    let id = meta["id"].as_str().unwrap();
    let (_, v) = api
        .json(
            api.http
                .get(s.url(&format!("/files/{id}/verify")))
                .bearer_auth(&friend),
        )
        .await;
    assert_eq!(v["ok"], json!(true), "{v}");
    // Flip one byte of the file's (one) chunk object where it is stored.
    let friend_id = friend_me["id"].as_str().unwrap();
    let stored = place.chunks(friend_id).await;
    assert_eq!(stored.len(), 1, "{stored:?}");
    {
        use object_store::ObjectStoreExt;
        let store = place.store();
        let mut bytes = store
            .get(&stored[0])
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
            .to_vec();
        assert!(bytes.starts_with(b"SRC1"), "chunks are encrypted at rest");
        bytes[1000] ^= 1;
        store.put(&stored[0], bytes.into()).await.unwrap();
    }
    let (_, v) = api
        .json(
            api.http
                .get(s.url(&format!("/files/{id}/verify")))
                .bearer_auth(&friend),
        )
        .await;
    assert_eq!(v["ok"], json!(false), "{v}");
    assert_eq!(v["sha256_matches"], json!(false), "{v}");
    assert_eq!(v["signature_valid"], json!(false), "{v}");

    // Every chunk is authenticated before it is sent: the download, whole or a range, is a
    // problem document and not a byte of the altered content; each failure is counted.
    for range in [None, Some("bytes=0-99")] {
        let mut req = api
            .http
            .get(s.url(&format!("/files/{id}/content")))
            .bearer_auth(&friend);
        if let Some(r) = range {
            req = req.header("Range", r);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR, "{range:?}");
        assert_eq!(
            r.headers()["content-type"],
            "application/problem+json",
            "{range:?}"
        );
    }
    let metrics = api
        .http
        .get(s.url("/metrics"))
        .header("Accept", "text/plain")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("strongroom_integrity_failures_total 2"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_deletion_and_tampering_on_disk() {
    let s = Server::start(&[]);
    let root = s.data.as_ref().unwrap().path().to_owned();
    account_deletion_and_tampering(&s, BlobPlace::Disk(root)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_deletion_and_tampering_on_s3() {
    let (Some(db), Some(s3), Some(store)) = (fresh_postgres("e2e").await, s3_env(), s3_store())
    else {
        return;
    };
    let mut env = s3;
    env.push(("STRONGROOM_DATABASE_URL", db));
    let s = Server::start(&env);
    account_deletion_and_tampering(&s, BlobPlace::S3(store)).await;
}

/// Slow clients: one address holding many half-sent requests gets only its share of
/// connections, each closed at the header deadline, and cannot keep `/healthz` from anyone
/// else; an upload trickling below the minimum rate is cut off and stores nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_cannot_exhaust_the_server() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let s = Server::start(&[
        ("STRONGROOM_HTTP_HEADER_READ_TIMEOUT_SECS", "2".into()),
        ("STRONGROOM_HTTP_IDLE_TIMEOUT_SECS", "3".into()),
        ("STRONGROOM_HTTP_MAX_CONNECTIONS_PER_IP", "20".into()),
        ("STRONGROOM_HTTP_MIN_RATE_BYTES", "4096".into()),
        ("STRONGROOM_HTTP_MIN_RATE_WINDOW_SECS", "2".into()),
    ]);
    let addr: std::net::SocketAddr = s.base.trim_start_matches("http://").parse().unwrap();
    // The attacker speaks from 127.0.0.2, everyone else from 127.0.0.1.
    let mut held = Vec::new();
    for _ in 0..200 {
        let sock = tokio::net::TcpSocket::new_v4().unwrap();
        sock.bind("127.0.0.2:0".parse().unwrap()).unwrap();
        let Ok(mut conn) = sock.connect(addr).await else {
            continue;
        };
        let _ = conn
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            .await;
        held.push(conn);
    }
    let api = Api::new();
    let started = Instant::now();
    let (st, _) = api.json(api.http.get(s.url("/healthz"))).await;
    assert_eq!(st, StatusCode::OK);
    assert!(started.elapsed() < Duration::from_secs(2), "healthz waited");
    // Past the per-address cap, connections are closed at once; the rest at the header
    // deadline. Every one of them ends within a bounded time.
    let deadline = Instant::now() + Duration::from_secs(10);
    for mut conn in held {
        let mut buf = [0u8; 512];
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, conn.read(&mut buf)).await {
            Ok(Ok(_)) | Ok(Err(_)) => {}
            Err(_) => panic!("a half-sent request still holds its connection after 10 s"),
        }
    }
    let metrics = reqwest::get(s.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let refused: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("strongroom_connections_refused_total "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(refused >= 150.0, "{refused} refused");

    // A trickling upload: 100 bytes a second against a minimum of 4096 per 2 s.
    let (token, _) = api.register_and_login(&s).await;
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    conn.write_all(
        format!(
            "POST /files?name=slow.bin HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Length: 1000000\r\n\r\n"
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let cut_off = async {
        for _ in 0..20 {
            if conn.write_all(&[b'x'; 100]).await.is_err() {
                return true;
            }
            let mut buf = [0u8; 1024];
            if let Ok(r) = tokio::time::timeout(Duration::from_secs(1), conn.read(&mut buf)).await {
                // An answer (an error status) or the connection closed.
                let _ = r;
                return true;
            }
        }
        false
    };
    assert!(cut_off.await, "the trickling upload was never cut off");
    let (st, page) = api
        .json(api.http.get(s.url("/files")).bearer_auth(&token))
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(page["files"], json!([]), "{page}");
}

#[cfg(feature = "kafka")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_s3_kafka() {
    let (Some(db), Some(s3), Some(kafka)) = (
        fresh_postgres("e2e").await,
        s3_env(),
        required("STRONGROOM_TEST_KAFKA_BROKERS"),
    ) else {
        return;
    };
    let mut env = s3;
    env.push(("STRONGROOM_DATABASE_URL", db));
    env.push(("STRONGROOM_EVENTS_KAFKA_BROKERS", kafka));
    env.push((
        "STRONGROOM_EVENTS_KAFKA_TOPIC",
        format!("sr-e2e-{}", uuid::Uuid::now_v7().simple()),
    ));
    let s = Server::start(&env);
    story(&s).await;
}

#[cfg(feature = "kafka")]
/// Two processes on one PostgreSQL + S3 + Kafka: a file uploaded through one downloads through
/// the other, a session revoked on one is refused by the other, and with both relays running
/// every outbox event reaches Kafka once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_share_everything() {
    let (Some(db), Some(s3), Some(kafka)) = (
        fresh_postgres("e2e").await,
        s3_env(),
        required("STRONGROOM_TEST_KAFKA_BROKERS"),
    ) else {
        return;
    };
    let keys = tempfile::tempdir().unwrap();
    let topic = format!("sr-e2e-{}", uuid::Uuid::now_v7().simple());
    let mut env = s3;
    env.push(("STRONGROOM_DATABASE_URL", db));
    env.push(("STRONGROOM_EVENTS_KAFKA_BROKERS", kafka.clone()));
    env.push(("STRONGROOM_EVENTS_KAFKA_TOPIC", topic.clone()));
    env.push((
        "STRONGROOM_AUTH_KEYS_DIR",
        keys.path().display().to_string(),
    ));
    env.push(("STRONGROOM_AUTH_REVOCATION_CACHE_MS", "200".into()));
    // Behind one load balancer both answer as the same issuer.
    env.push(("STRONGROOM_PUBLIC_URL", "http://files.example.test".into()));
    let a = Server::start(&env);
    let b = Server::start(&env);
    let admin_password = a
        .admin_password
        .clone()
        .or(b.admin_password.clone())
        .expect("one of them bootstrapped");
    assert!(
        a.admin_password.is_none() || b.admin_password.is_none(),
        "bootstrap happened twice"
    );

    let api = Api::new();
    let (token, tokens) = api.register_and_login(&a).await;
    let data = content(300_000);
    let (st, meta) = api
        .json(
            api.http
                .post(a.url("/files?name=x.bin"))
                .bearer_auth(&token)
                .body(data.clone()),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{meta}");
    let id = meta["id"].as_str().unwrap();
    let got = api
        .http
        .get(b.url(&format!("/files/{id}/content")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), StatusCode::OK);
    assert_eq!(got.bytes().await.unwrap().as_ref(), &data[..]);

    // More events, from both processes.
    for i in 0..20 {
        let s = if i % 2 == 0 { &a } else { &b };
        let (st, _) = api
            .json(
                api.http
                    .get(s.url(&format!("/files/{id}")))
                    .bearer_auth(&token),
            )
            .await;
        assert_eq!(st, StatusCode::OK);
        let (st, _) = api
            .json(
                api.http
                    .post(s.url(&format!("/files/{id}/links")))
                    .bearer_auth(&token)
                    .json(&json!({})),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED);
    }

    // Revoke the session on A; B refuses its access token once its cache entry expires.
    let sid = tokens["session_id"].as_str().unwrap();
    let (st, _) = api
        .json(
            api.http
                .delete(a.url(&format!("/me/sessions/{sid}")))
                .bearer_auth(&token),
        )
        .await;
    assert!(st == StatusCode::NO_CONTENT || st == StatusCode::OK, "{st}");
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (st, _) = api
        .json(api.http.get(b.url("/me")).bearer_auth(&token))
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, _) = api
        .json(api.http.get(a.url("/me")).bearer_auth(&token))
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);

    // Every audit record reached Kafka exactly once.
    let admin = api
        .login(&a, "admin@strongroom.local", &admin_password)
        .await;
    let admin = admin["access_token"].as_str().unwrap().to_owned();
    let audit_ids = audit_ids(&api, &a, &admin).await;
    // Everything listed is published once the outbox is empty again (rows leave the outbox only
    // after every publisher, Kafka included, took them).
    wait_drained(&api, &a).await;
    assert!(audit_ids.len() >= 24, "{} audit records", audit_ids.len());
    let kafka_ids = consume_ids(&kafka, &topic, &audit_ids).await;
    let unique: std::collections::BTreeSet<_> = kafka_ids.iter().cloned().collect();
    assert_eq!(
        unique.len(),
        kafka_ids.len(),
        "an event was published twice"
    );
    let missing: Vec<_> = audit_ids.iter().filter(|i| !unique.contains(*i)).collect();
    assert!(
        missing.is_empty(),
        "audit events missing from Kafka: {missing:?}"
    );
}

/// Two servers on one PostgreSQL: 50 wrong passwords spread over both lock the account on
/// both, an administrator on either sees and lifts the lock, and one per-address rate limit
/// holds across the two (each counts the other's requests).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_lock_together_and_limit_together() {
    let Some(db) = fresh_postgres("e2e").await else {
        return;
    };
    let keys = tempfile::tempdir().unwrap();
    let env = vec![
        ("STRONGROOM_DATABASE_URL", db),
        (
            "STRONGROOM_AUTH_KEYS_DIR",
            keys.path().display().to_string(),
        ),
        ("STRONGROOM_PUBLIC_URL", "http://files.example.test".into()),
        ("STRONGROOM_AUTH_LOCK_AFTER_FAILURES", "50".into()),
        // No delays: the lock alone is under test here (the delays have their own tests).
        ("STRONGROOM_AUTH_BACKOFF_BASE_SECS", "0".into()),
        ("STRONGROOM_HTTP_RATE_LIMIT_PER_IP", "400".into()),
        // The rate-limit part names its own client address (the peer is the one proxy).
        ("STRONGROOM_HTTP_TRUST_FORWARDED_FOR", "true".into()),
    ];
    let a = Server::start(&env);
    let b = Server::start(&env);
    let admin_password = a
        .admin_password
        .clone()
        .or(b.admin_password.clone())
        .unwrap();
    let api = Api::new();
    let (_, tokens) = api.register_and_login(&a).await;
    let email = {
        let (st, me) = api
            .json(
                api.http
                    .get(a.url("/me"))
                    .bearer_auth(tokens["access_token"].as_str().unwrap()),
            )
            .await;
        assert_eq!(st, StatusCode::OK);
        me["email"].as_str().unwrap().to_owned()
    };
    let attempt = |s: &Server, password: &str| {
        api.http
            .post(s.url("/auth/login"))
            .json(&json!({ "email": email, "password": password }))
            .send()
    };
    for i in 0..50 {
        let s = if i % 2 == 0 { &a } else { &b };
        let st = attempt(s, "wrong horse battery").await.unwrap().status();
        assert_eq!(st, StatusCode::UNAUTHORIZED, "guess {i}");
    }
    for s in [&a, &b] {
        let res = attempt(s, "correct horse battery").await.unwrap();
        assert_eq!(
            res.status(),
            StatusCode::FORBIDDEN,
            "locked on both servers"
        );
    }
    let admin = api
        .login(&b, "admin@strongroom.local", &admin_password)
        .await;
    let admin = admin["access_token"].as_str().unwrap().to_owned();
    let (st, page) = api
        .json(api.http.get(a.url("/admin/lockouts")).bearer_auth(&admin))
        .await;
    assert_eq!(st, StatusCode::OK, "{page}");
    let locked = page["items"].as_array().unwrap();
    assert_eq!(locked.len(), 1, "{page}");
    assert_eq!(locked[0]["email"], email.as_str());
    assert_eq!(locked[0]["failures"], 50);
    let user = locked[0]["user_id"].as_str().unwrap();
    let st = api
        .http
        .delete(b.url(&format!("/admin/users/{user}/lockout")))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(st, StatusCode::NO_CONTENT);
    api.login(&a, &email, "correct horse battery").await;

    // One limit of 400 requests a minute per address, counted by both: 250 + 250 requests from
    // one address see exactly 100 refusals between them (either alone would refuse none). The
    // windows are clock minutes: start early in one.
    let second = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        % 60;
    if second > 50 {
        tokio::time::sleep(Duration::from_secs(61 - second)).await;
    }
    let mut refused = 0;
    let mut retry_after = None;
    for i in 0..500 {
        let s = if i % 2 == 0 { &a } else { &b };
        let res = api
            .http
            .get(s.url("/healthz"))
            .header("x-forwarded-for", "203.0.113.7")
            .send()
            .await
            .unwrap();
        if res.status() == StatusCode::TOO_MANY_REQUESTS {
            refused += 1;
            retry_after = res.headers().get("retry-after").cloned();
        } else {
            assert_eq!(res.status(), StatusCode::OK);
        }
    }
    assert_eq!(refused, 100);
    assert!(retry_after.is_some());
}

/// Waits until `s` reports an empty outbox.
async fn wait_drained(api: &Api, s: &Server) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let text = api
            .http
            .get(s.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if text
            .lines()
            .any(|l| l == "strongroom_outbox_pending_events 0")
        {
            return;
        }
        assert!(Instant::now() < deadline, "outbox not drained");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Every audit record's id, oldest first.
async fn audit_ids(api: &Api, s: &Server, admin: &str) -> std::collections::BTreeSet<String> {
    let mut ids = std::collections::BTreeSet::new();
    let mut after: Option<String> = None;
    loop {
        let mut url = s.url("/audit?order=oldest&limit=500");
        if let Some(c) = &after {
            url.push_str(&format!("&after={c}"));
        }
        let (st, page) = api.json(api.http.get(url).bearer_auth(admin)).await;
        assert_eq!(st, StatusCode::OK, "{page}");
        for r in page["records"].as_array().unwrap() {
            ids.insert(r["event"]["id"].as_str().unwrap().to_owned());
        }
        match page["next"].as_str() {
            Some(n) => after = Some(n.to_owned()),
            None => return ids,
        }
    }
}

/// A tansu broker of the test's own, so that stopping it disturbs no other test.
#[cfg(feature = "kafka")]
struct Broker {
    child: Child,
    addr: String,
}

#[cfg(feature = "kafka")]
impl Broker {
    fn start(bin: &str) -> Broker {
        let port = free_port();
        let addr = format!("127.0.0.1:{port}");
        let child = Command::new(bin)
            .args([
                "broker",
                "--listener-url",
                &format!("tcp://{addr}"),
                "--advertised-listener-url",
                &format!("tcp://{addr}"),
                "--storage-engine",
                "memory://tansu/",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start tansu");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(&addr).is_err() {
            assert!(Instant::now() < deadline, "tansu did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        Broker { child, addr }
    }

    /// SIGSTOP / SIGCONT: the broker stops answering, keeping every message it has.
    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill {sig}");
    }
}

#[cfg(feature = "kafka")]
impl Drop for Broker {
    fn drop(&mut self) {
        self.signal("-CONT");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn ready(api: &Api, s: &Server) -> (StatusCode, Value) {
    api.json(api.http.get(s.url("/readyz"))).await
}

/// The broker stopped (the real process, SIGSTOP): `/readyz` says 503 while it is, 200 after,
/// and every event written meanwhile reaches Kafka exactly once.
#[cfg(feature = "kafka")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_outage_is_reported_and_loses_nothing() {
    let Some(bin) = required("STRONGROOM_TEST_TANSU_BIN") else {
        return;
    };
    let broker = Broker::start(&bin);
    let topic = format!("sr-e2e-{}", uuid::Uuid::now_v7().simple());
    let s = Server::start(&[
        ("STRONGROOM_EVENTS_KAFKA_BROKERS", broker.addr.clone()),
        ("STRONGROOM_EVENTS_KAFKA_TOPIC", topic.clone()),
    ]);
    let api = Api::new();
    let admin = api
        .login(
            &s,
            "admin@strongroom.local",
            s.admin_password.as_deref().unwrap(),
        )
        .await;
    let admin = admin["access_token"].as_str().unwrap().to_owned();
    let (token, _) = api.register_and_login(&s).await;
    assert_eq!(ready(&api, &s).await.0, StatusCode::OK);

    broker.signal("-STOP");
    let deadline = Instant::now() + Duration::from_secs(20);
    let body = loop {
        let (st, body) = ready(&api, &s).await;
        if st == StatusCode::SERVICE_UNAVAILABLE {
            break body;
        }
        assert!(
            Instant::now() < deadline,
            "/readyz stayed {st} with the broker stopped"
        );
    };
    assert_eq!(body["bus"], json!(false), "{body}");
    assert_eq!(body["database"], json!(true), "{body}");
    // Work goes on while the broker is away: the events wait in the outbox.
    for i in 0..5 {
        let (st, _) = api
            .json(
                api.http
                    .post(s.url(&format!("/files?name=f{i}.txt")))
                    .bearer_auth(&token)
                    .body("during the outage"),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED);
    }
    broker.signal("-CONT");
    let deadline = Instant::now() + Duration::from_secs(30);
    while ready(&api, &s).await.0 != StatusCode::OK {
        assert!(Instant::now() < deadline, "/readyz did not recover");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    wait_drained(&api, &s).await;
    let ids = audit_ids(&api, &s, &admin).await;
    assert!(ids.len() >= 8, "{} audit records", ids.len());
    let kafka_ids = consume_ids(&broker.addr, &topic, &ids).await;
    let unique: std::collections::BTreeSet<_> = kafka_ids.iter().cloned().collect();
    assert_eq!(
        unique.len(),
        kafka_ids.len(),
        "an event was published twice"
    );
    let missing: Vec<_> = ids.iter().filter(|i| !unique.contains(*i)).collect();
    assert!(missing.is_empty(), "events missing from Kafka: {missing:?}");
}

#[cfg(feature = "kafka")]
async fn consume_ids(
    brokers: &str,
    topic: &str,
    expected: &std::collections::BTreeSet<String>,
) -> Vec<String> {
    use rdkafka::Message;
    use rdkafka::consumer::{Consumer, StreamConsumer};
    use rdkafka::message::Headers;
    let consumer: StreamConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set(
            "group.id",
            format!("sr-e2e-{}", uuid::Uuid::now_v7().simple()),
        )
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    consumer.subscribe(&[topic]).unwrap();
    let mut ids = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_secs(3), consumer.recv()).await {
            Ok(Ok(m)) => {
                let id = m.headers().and_then(|h| {
                    h.iter()
                        .find(|h| h.key == "ce_id")
                        .and_then(|h| h.value.map(|v| String::from_utf8_lossy(v).into_owned()))
                });
                ids.push(id.unwrap_or_default());
            }
            Ok(Err(e)) => panic!("kafka: {e}"),
            // Quiet for 3 s with every expected id seen: a duplicate would have come by now.
            Err(_) if expected.iter().all(|e| ids.contains(e)) => break,
            Err(_) => {}
        }
    }
    ids
}

/// Webhook deliveries survive a crash: the server is killed (SIGKILL) while its deliveries are
/// pending (the receiver answers 503), started again on the same data, and every event arrives,
/// verified by the Standard Webhooks reference library, each once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_with_webhook_deliveries_pending_loses_none() {
    let Some(receiver) = common::receiver::Receiver::start() else {
        return;
    };
    let env = [
        ("STRONGROOM_WEBHOOKS_ALLOW_LOOPBACK", "true".to_owned()),
        ("STRONGROOM_WEBHOOKS_ALLOW_HTTP", "true".to_owned()),
        ("STRONGROOM_WEBHOOKS_POLL_INTERVAL_SECS", "1".to_owned()),
        ("STRONGROOM_WEBHOOKS_TIMEOUT_SECS", "2".to_owned()),
    ];
    let s = Server::start(&env);
    let api = Api::new();
    let (token, _) = api.register_and_login(&s).await;
    let (st, hook) = api
        .json(
            api.http
                .post(s.url("/webhooks"))
                .bearer_auth(&token)
                .json(&json!({ "url": receiver.url("e2e"), "event_types": ["file.uploaded"] })),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{hook}");
    receiver.trust(&[hook["secret"].as_str().unwrap()]);
    receiver.answer(Some(503));
    let mut files = std::collections::BTreeSet::new();
    for i in 0..20 {
        let (st, meta) = api
            .json(
                api.http
                    .post(s.url(&format!("/files?name=f{i}.txt")))
                    .bearer_auth(&token)
                    .body(format!("file {i}")),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{meta}");
        files.insert(meta["id"].as_str().unwrap().to_owned());
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while receiver.forced().len() < files.len() {
        assert!(
            Instant::now() < deadline,
            "the first attempts were not made: {:?}",
            receiver.forced()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(receiver.received().is_empty());
    let data = s.kill();
    receiver.answer(None);
    let s = Server::start_in(&env, data);
    let deadline = Instant::now() + Duration::from_secs(60);
    let arrived = loop {
        let got: Vec<String> = receiver
            .received()
            .iter()
            .map(|m| {
                m["body"]["data"]["resource"]["id"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        if got.len() >= files.len() {
            break got;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {} arrived",
            got.len(),
            files.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    tokio::time::sleep(Duration::from_secs(2)).await;
    let arrived_again: Vec<Value> = receiver.received();
    assert_eq!(arrived_again.len(), files.len(), "each once");
    let set: std::collections::BTreeSet<String> = arrived.into_iter().collect();
    assert_eq!(set, files, "every event, each once");
    assert!(receiver.rejected().is_empty());
    drop(s);
}

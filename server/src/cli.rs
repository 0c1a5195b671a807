//! The command-line client: `strongroom login | whoami | upload | download | ls | rm | versions |
//! diff | restore | share | unshare | shared | group | team | invite | links | sessions | admin`. The server URL and tokens live in a client config file written
//! with mode 0600; an expired access token is refreshed once, transparently.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use futures::TryStreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio_util::io::ReaderStream;

/// What the client remembers.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct ClientConfig {
    /// Server base URL.
    pub server: String,
    /// Access token.
    pub access_token: Option<String>,
    /// Refresh token.
    pub refresh_token: Option<String>,
}

/// The client config path: `$STRONGROOM_CLIENT_CONFIG`, else `$XDG_CONFIG_HOME/strongroom/client.json`,
/// else `~/.config/strongroom/client.json`.
pub fn config_path() -> PathBuf {
    if let Ok(p) = std::env::var("STRONGROOM_CLIENT_CONFIG") {
        return PathBuf::from(p);
    }
    let base = std::env::var("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_else(|_| ".".into())).join(".config")
        });
    base.join("strongroom").join("client.json")
}

impl ClientConfig {
    /// Loads the config (empty if missing).
    pub fn load(path: &Path) -> Result<ClientConfig, String> {
        match std::fs::read_to_string(path) {
            Ok(t) => serde_json::from_str(&t).map_err(|e| format!("{}: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ClientConfig::default()),
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }

    /// Saves atomically with mode 0600 (it holds tokens).
    pub fn save(&self, path: &Path) -> Result<(), String> {
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let tmp = path.with_extension("tmp");
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|e| format!("{}: {e}", tmp.display()))?;
        f.write_all(
            serde_json::to_string_pretty(self)
                .map_err(|e| e.to_string())?
                .as_bytes(),
        )
        .map_err(|e| e.to_string())?;
        f.sync_all().map_err(|e| e.to_string())?;
        std::fs::rename(&tmp, path).map_err(|e| e.to_string())
    }
}

/// Who `share --with` gives a role to.
#[derive(Debug, Clone, Copy)]
pub enum ShareTo<'a> {
    /// A user: an e-mail to share with, a user id to unshare.
    User(&'a str),
    /// A group, by id.
    Group(&'a str),
}

/// A `share --with` request.
#[derive(Debug, Clone, Copy)]
pub struct ShareWith<'a> {
    /// File or folder id.
    pub id: &'a str,
    /// `id` is a folder.
    pub folder: bool,
    /// Who.
    pub to: ShareTo<'a>,
    /// viewer, commenter or editor.
    pub role: &'a str,
    /// When it stops granting (RFC 3339).
    pub expires: Option<&'a str>,
}

/// A client session against one server.
#[derive(Debug)]
pub struct Client {
    http: reqwest::Client,
    config: ClientConfig,
    path: PathBuf,
    progress: bool,
}

fn problem_text(status: reqwest::StatusCode, body: &str) -> String {
    match serde_json::from_str::<Value>(body) {
        Ok(v) => format!(
            "{} {}: {}",
            status.as_u16(),
            v["title"].as_str().unwrap_or(""),
            v["detail"].as_str().unwrap_or(body)
        ),
        Err(_) => format!("{}: {body}", status.as_u16()),
    }
}

impl Client {
    /// Opens the client with its saved config.
    pub fn open(server: Option<String>, progress: bool) -> Result<Client, String> {
        let path = config_path();
        let mut config = ClientConfig::load(&path)?;
        if let Some(s) = server {
            config.server = s.trim_end_matches('/').to_owned();
        }
        if config.server.is_empty() {
            config.server = "http://127.0.0.1:8080".into();
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("strongroom-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Client {
            http,
            config,
            path,
            progress,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.config.server)
    }

    async fn refresh(&mut self) -> Result<bool, String> {
        let Some(rt) = self.config.refresh_token.clone() else {
            return Ok(false);
        };
        let res = self
            .http
            .post(self.url("/auth/refresh"))
            .json(&json!({ "refresh_token": rt }))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !res.status().is_success() {
            return Ok(false);
        }
        let v: Value = res.json().await.map_err(|e| e.to_string())?;
        self.config.access_token = v["access_token"].as_str().map(str::to_owned);
        self.config.refresh_token = v["refresh_token"].as_str().map(str::to_owned);
        self.config.save(&self.path)?;
        Ok(true)
    }

    /// Sends a request built by `build`, retrying once after a token refresh on 401.
    async fn send(
        &mut self,
        build: impl Fn(&reqwest::Client, Option<&str>) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, String> {
        for attempt in 0..2 {
            let res = build(&self.http, self.config.access_token.as_deref())
                .send()
                .await
                .map_err(|e| format!("cannot reach {}: {e}", self.config.server))?;
            if res.status() == reqwest::StatusCode::UNAUTHORIZED
                && attempt == 0
                && self.refresh().await?
            {
                continue;
            }
            if !res.status().is_success() && res.status() != reqwest::StatusCode::NOT_MODIFIED {
                let status = res.status();
                let body = res.text().await.unwrap_or_default();
                return Err(problem_text(status, &body));
            }
            return Ok(res);
        }
        Err("not signed in: run `strongroom login`".into())
    }

    async fn json(
        &mut self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        let url = self.url(path);
        let res = self
            .send(|h, token| {
                let mut r = h.request(method.clone(), &url);
                if let Some(t) = token {
                    r = r.bearer_auth(t);
                }
                if let Some(b) = &body {
                    r = r.json(b);
                }
                r
            })
            .await?;
        if res.status() == reqwest::StatusCode::NO_CONTENT {
            return Ok(Value::Null);
        }
        res.json().await.map_err(|e| e.to_string())
    }

    fn bar(&self, len: u64) -> ProgressBar {
        if !self.progress {
            return ProgressBar::hidden();
        }
        let b = ProgressBar::new(len);
        b.set_style(
            ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        b
    }

    /// `login`: signs in and saves the tokens.
    pub async fn login(&mut self, email: &str, password: &str) -> Result<Value, String> {
        let v = self
            .json(
                reqwest::Method::POST,
                "/auth/login",
                Some(json!({ "email": email, "password": password })),
            )
            .await?;
        self.config.access_token = v["access_token"].as_str().map(str::to_owned);
        self.config.refresh_token = v["refresh_token"].as_str().map(str::to_owned);
        self.config.save(&self.path)?;
        Ok(v["user"].clone())
    }

    /// `whoami`.
    pub async fn whoami(&mut self) -> Result<Value, String> {
        self.json(reqwest::Method::GET, "/me", None).await
    }

    /// `upload`: streams a file with a progress bar.
    pub async fn upload(
        &mut self,
        file: &Path,
        name: Option<&str>,
        folder: Option<&str>,
    ) -> Result<Value, String> {
        let name = match name {
            Some(n) => n.to_owned(),
            None => file
                .file_name()
                .and_then(|n| n.to_str())
                .ok_or("the file name is not UTF-8; give --name")?
                .to_owned(),
        };
        let len = tokio::fs::metadata(file)
            .await
            .map_err(|e| format!("{}: {e}", file.display()))?
            .len();
        let mut url = reqwest::Url::parse(&self.url("/files")).map_err(|e| e.to_string())?;
        url.query_pairs_mut().append_pair("name", &name);
        if let Some(f) = folder {
            url.query_pairs_mut().append_pair("folder_id", f);
        }
        let bar = self.bar(len);
        let path = file.to_owned();
        let res = self
            .send(|h, token| {
                let bar = bar.clone();
                let path = path.clone();
                // A fresh stream per attempt, so a retry after refresh re-reads the file.
                let stream =
                    futures::stream::once(async move { tokio::fs::File::open(path).await })
                        .map_ok(|f| ReaderStream::with_capacity(f, 256 * 1024))
                        .try_flatten()
                        .inspect_ok(move |b| bar.inc(b.len() as u64));
                let mut r = h
                    .post(url.clone())
                    .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
                    .header(reqwest::header::CONTENT_LENGTH, len)
                    .body(reqwest::Body::wrap_stream(stream));
                if let Some(t) = token {
                    r = r.bearer_auth(t);
                }
                r
            })
            .await?;
        bar.finish_and_clear();
        res.json().await.map_err(|e| e.to_string())
    }

    /// `versions`: a file's versions, newest first.
    pub async fn versions(&mut self, id: &str) -> Result<Value, String> {
        self.json(reqwest::Method::GET, &format!("/files/{id}/versions"), None)
            .await
    }

    /// `diff`: the difference between two versions.
    pub async fn diff(
        &mut self,
        id: &str,
        from: i64,
        to: i64,
        summary: bool,
    ) -> Result<Value, String> {
        let format = if summary { "summary" } else { "auto" };
        self.json(
            reqwest::Method::GET,
            &format!("/files/{id}/diff?from={from}&to={to}&format={format}"),
            None,
        )
        .await
    }

    /// `restore`: makes an old version current again.
    pub async fn restore(&mut self, id: &str, version: i64) -> Result<Value, String> {
        self.json(
            reqwest::Method::POST,
            &format!("/files/{id}/versions/{version}/restore"),
            None,
        )
        .await
    }

    /// `download`: streams the current content, or `version`, to `out` (written to a temporary
    /// file, renamed when complete).
    pub async fn download(
        &mut self,
        id: &str,
        version: Option<i64>,
        out: Option<&Path>,
    ) -> Result<PathBuf, String> {
        let meta = self
            .json(reqwest::Method::GET, &format!("/files/{id}"), None)
            .await?;
        let name = meta["name"]
            .as_str()
            .unwrap_or("download")
            .replace('/', "_");
        let target = out.map_or_else(|| PathBuf::from(&name), Path::to_path_buf);
        let url = self.url(&match version {
            Some(v) => format!("/files/{id}/versions/{v}/content"),
            None => format!("/files/{id}/content"),
        });
        let res = self
            .send(|h, token| {
                let mut r = h.get(&url);
                if let Some(t) = token {
                    r = r.bearer_auth(t);
                }
                r
            })
            .await?;
        let bar = self.bar(res.content_length().unwrap_or(0));
        let tmp = target.with_extension("part");
        let mut f = tokio::fs::File::create(&tmp)
            .await
            .map_err(|e| format!("{}: {e}", tmp.display()))?;
        let mut stream = res.bytes_stream();
        while let Some(chunk) = stream.try_next().await.map_err(|e| e.to_string())? {
            f.write_all(&chunk).await.map_err(|e| e.to_string())?;
            bar.inc(chunk.len() as u64);
        }
        f.sync_all().await.map_err(|e| e.to_string())?;
        tokio::fs::rename(&tmp, &target)
            .await
            .map_err(|e| e.to_string())?;
        bar.finish_and_clear();
        Ok(target)
    }

    /// `ls`.
    pub async fn ls(&mut self, folder: Option<&str>) -> Result<Value, String> {
        let path = match folder {
            Some(f) => format!("/files?folder_id={f}"),
            None => "/files".into(),
        };
        self.json(reqwest::Method::GET, &path, None).await
    }

    /// `rm`.
    pub async fn rm(&mut self, id: &str) -> Result<(), String> {
        self.json(reqwest::Method::DELETE, &format!("/files/{id}"), None)
            .await
            .map(|_| ())
    }

    /// `usage`: what the caller stores, and their quota.
    pub async fn usage(&mut self) -> Result<Value, String> {
        self.json(reqwest::Method::GET, "/me/usage", None).await
    }

    /// `admin quota`: sets an account's quota (`None`: the default).
    pub async fn admin_quota(
        &mut self,
        id: &str,
        bytes: Option<u64>,
        files: Option<u64>,
    ) -> Result<Value, String> {
        self.json(
            reqwest::Method::PUT,
            &format!("/admin/users/{id}/quota"),
            Some(serde_json::json!({ "bytes": bytes, "files": files })),
        )
        .await
    }

    /// `admin usage`: every page of the usage export of a month, or of `from..to`.
    pub async fn admin_usage(
        &mut self,
        month: Option<&str>,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<Vec<crate::domain::metering::UsageExport>, String> {
        let mut pages = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut url = reqwest::Url::parse("http://localhost/admin/usage").expect("static url");
            {
                let mut q = url.query_pairs_mut();
                for (k, v) in [("month", month), ("from", from), ("to", to)] {
                    if let Some(v) = v {
                        q.append_pair(k, v);
                    }
                }
                if let Some(a) = &after {
                    q.append_pair("after", a);
                }
            }
            let path = format!("/admin/usage?{}", url.query().unwrap_or_default());
            let page: crate::domain::metering::UsageExport =
                serde_json::from_value(self.json(reqwest::Method::GET, &path, None).await?)
                    .map_err(|e| format!("unexpected usage export: {e}"))?;
            after = page.next.clone();
            pages.push(page);
            if after.is_none() {
                return Ok(pages);
            }
        }
    }

    /// `trash [--team ID]`: what the caller deleted, or what was deleted from a team's space.
    pub async fn trash(&mut self, team: Option<&str>) -> Result<Value, String> {
        let path = match team {
            Some(t) => format!("/teams/{t}/trash"),
            None => "/trash".to_owned(),
        };
        self.json(reqwest::Method::GET, &path, None).await
    }

    /// The trash's path for item `id` (`/trash/files/ID` or `/trash/folders/ID`), found in the
    /// listing (the caller's, or the team's) so the user need not say which kind it is.
    async fn trash_path(&mut self, id: &str, team: Option<&str>) -> Result<String, String> {
        let items = self.trash(team).await?;
        let kind = items
            .as_array()
            .into_iter()
            .flatten()
            .find(|t| t["id"] == id)
            .and_then(|t| t["kind"].as_str())
            .ok_or_else(|| match team {
                Some(t) => format!("{id} is not in the trash of team {t}"),
                None => format!("{id} is not in your trash (a team's: --team ID)"),
            })?;
        Ok(format!("/trash/{kind}s/{id}"))
    }

    /// `trash restore`.
    pub async fn trash_restore(&mut self, id: &str, team: Option<&str>) -> Result<Value, String> {
        let path = self.trash_path(id, team).await?;
        self.json(reqwest::Method::POST, &format!("{path}/restore"), None)
            .await
    }

    /// `trash purge`.
    pub async fn trash_purge(&mut self, id: &str, team: Option<&str>) -> Result<(), String> {
        let path = self.trash_path(id, team).await?;
        self.json(reqwest::Method::DELETE, &path, None)
            .await
            .map(|_| ())
    }

    /// `trash empty`.
    pub async fn trash_empty(&mut self) -> Result<Value, String> {
        self.json(reqwest::Method::DELETE, "/trash", None).await
    }

    /// `share`: creates a public link.
    pub async fn share(
        &mut self,
        id: &str,
        ttl: Option<u64>,
        password: Option<String>,
        max_downloads: Option<u64>,
    ) -> Result<Value, String> {
        let body = json!({ "ttl_secs": ttl, "password": password, "max_downloads": max_downloads });
        self.json(
            reqwest::Method::POST,
            &format!("/files/{id}/links"),
            Some(body),
        )
        .await
    }

    /// `share --with EMAIL | --with-group GROUP`: gives a user or a group a role on a file
    /// (or, with `folder`, on a folder and everything in it), until `expires` (RFC 3339).
    pub async fn share_with(&mut self, share: &ShareWith<'_>) -> Result<Value, String> {
        let mut body = json!({ "role": share.role });
        match share.to {
            ShareTo::User(email) => body["email"] = json!(email),
            ShareTo::Group(group) => body["group"] = json!(group),
        }
        if let Some(e) = share.expires {
            body["expires_at"] = json!(e);
        }
        let kind = if share.folder { "folders" } else { "files" };
        self.json(
            reqwest::Method::POST,
            &format!("/{kind}/{}/grants", share.id),
            Some(body),
        )
        .await
    }

    /// `unshare --user ID | --group ID`: takes a user's or a group's role away.
    pub async fn unshare_with(
        &mut self,
        id: &str,
        folder: bool,
        to: ShareTo<'_>,
    ) -> Result<(), String> {
        let kind = if folder { "folders" } else { "files" };
        let path = match to {
            ShareTo::User(user) => format!("/{kind}/{id}/grants/{user}"),
            ShareTo::Group(group) => format!("/{kind}/{id}/grants/groups/{group}"),
        };
        self.json(reqwest::Method::DELETE, &path, None).await?;
        Ok(())
    }

    /// `shared` (`--by-me`): what others shared with you, or what you shared.
    pub async fn shared(&mut self, by_me: bool) -> Result<Value, String> {
        let path = if by_me { "/shared/by-me" } else { "/shared" };
        self.json(reqwest::Method::GET, path, None).await
    }

    /// Any JSON call of the API (`group …`, `admin …`): `Null` for 204.
    pub async fn call(
        &mut self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        self.json(method, path, body).await
    }

    /// `unshare`: revokes a link.
    pub async fn unshare(&mut self, link_id: &str) -> Result<(), String> {
        self.json(reqwest::Method::DELETE, &format!("/links/{link_id}"), None)
            .await
            .map(|_| ())
    }

    /// `links`.
    pub async fn links(&mut self) -> Result<Value, String> {
        self.json(reqwest::Method::GET, "/links", None).await
    }

    /// `passwd`: changes the signed-in user's password (other sessions are signed out).
    pub async fn passwd(&mut self, current: &str, new: &str) -> Result<(), String> {
        let body = json!({ "current_password": current, "new_password": new });
        self.json(reqwest::Method::POST, "/me/password", Some(body))
            .await
            .map(|_| ())
    }

    /// `admin users`.
    pub async fn admin_users(
        &mut self,
        search: Option<&str>,
        after: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Value, String> {
        // Only to encode the query: the path is joined to the server URL in `json`.
        let mut url =
            reqwest::Url::parse("http://query.invalid/admin/users").map_err(|e| e.to_string())?;
        {
            let mut q = url.query_pairs_mut();
            if let Some(s) = search {
                q.append_pair("q", s);
            }
            if let Some(a) = after {
                q.append_pair("after", a);
            }
            if let Some(l) = limit {
                q.append_pair("limit", &l.to_string());
            }
        }
        let path = match url.query() {
            Some(query) => format!("/admin/users?{query}"),
            None => "/admin/users".to_owned(),
        };
        self.json(reqwest::Method::GET, &path, None).await
    }

    /// `admin disable|enable|reset-password ID`.
    pub async fn admin_user_action(&mut self, id: &str, action: &str) -> Result<Value, String> {
        self.json(
            reqwest::Method::POST,
            &format!("/admin/users/{id}/{action}"),
            None,
        )
        .await
    }

    /// `sessions` (and `--revoke`).
    pub async fn sessions(&mut self, revoke: Option<&str>) -> Result<Value, String> {
        if let Some(id) = revoke {
            self.json(reqwest::Method::DELETE, &format!("/me/sessions/{id}"), None)
                .await?;
        }
        self.json(reqwest::Method::GET, "/me/sessions", None).await
    }
}

/// `text` as one URL path segment or query value: unreserved characters as they are, every
/// other byte percent-encoded (an id or an e-mail never changes the path it is put in).
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

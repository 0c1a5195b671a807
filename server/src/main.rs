//! `strongroom`: the server (`serve`) and its command-line client.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use reqwest::Method;
use strongroom::cli::{self, Client, ShareTo, ShareWith};
use strongroom::config::Config;

#[derive(Debug, Parser)]
#[command(
    name = "strongroom",
    version,
    about = "Strongroom secure file platform: server and client"
)]
struct Cli {
    /// Server URL for client commands (saved by `login`).
    #[arg(long, global = true, env = "STRONGROOM_CLIENT_SERVER")]
    server: Option<String>,
    /// Print JSON instead of tables.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs the server (embedded defaults: SQLite and local disk under ./strongroom-data).
    Serve {
        /// TOML config file (settings: defaults < file < STRONGROOM_* environment).
        #[arg(long, short, env = "STRONGROOM_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Checks the folder trees for damage older versions could leave (cycles, over-deep
    /// nesting, missing parents); `--repair` moves each damaged folder to its owner's root.
    /// Exits 1 when damage was found and not repaired.
    Fsck {
        /// TOML config file (the same as `serve` uses).
        #[arg(long, short, env = "STRONGROOM_CONFIG")]
        config: Option<PathBuf>,
        /// Repair what is found.
        #[arg(long)]
        repair: bool,
    },
    /// Adds a new key-encryption key to the key directory and rewraps every owner's data key
    /// under it (chunks are not rewritten). Other servers sharing the key directory pick the new
    /// key up when they next need one. Afterwards the old `content-kek-<n>.key` files may go.
    RotateKek {
        /// TOML config file (the same as `serve` uses).
        #[arg(long, short, env = "STRONGROOM_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Prints the OpenAPI document.
    Openapi,
    /// Signs in and saves the tokens (password from STRONGROOM_CLIENT_PASSWORD or stdin).
    Login {
        /// Email address.
        email: String,
    },
    /// Shows the signed-in account.
    Whoami,
    /// Uploads a file.
    Upload {
        /// The file.
        file: PathBuf,
        /// Name to store it under (default: the file's name).
        #[arg(long)]
        name: Option<String>,
        /// Folder id.
        #[arg(long)]
        folder: Option<String>,
    },
    /// Downloads a file by id.
    Download {
        /// File id.
        id: String,
        /// An older version instead of the current content.
        #[arg(long)]
        version: Option<i64>,
        /// Output path (default: the file's name).
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Lists a file's versions, newest first.
    Versions {
        /// File id.
        id: String,
    },
    /// Shows what changed between two versions of a file (a unified diff for text).
    Diff {
        /// File id.
        id: String,
        /// The older version.
        from: i64,
        /// The newer version.
        to: i64,
        /// A summary by block even for text.
        #[arg(long)]
        summary: bool,
    },
    /// Makes an old version of a file current again (as a new version).
    Restore {
        /// File id.
        id: String,
        /// The version to bring back.
        version: i64,
    },
    /// Lists your root or a folder.
    Ls {
        /// Folder id.
        #[arg(long)]
        folder: Option<String>,
    },
    /// Moves a file to the trash (`strongroom trash` lists it; `trash restore` brings it back).
    Rm {
        /// File id.
        id: String,
    },
    /// Shows what you store (logical bytes, bytes after dedup, versions, trash) and your quota.
    Usage,
    /// Lists your trash, or restores, purges or empties it.
    Trash {
        /// A team's trash instead of yours (its admins').
        #[arg(long, global = true)]
        team: Option<String>,
        #[command(subcommand)]
        command: Option<TrashCommand>,
    },
    /// Creates a public link to a file, or shares a file or folder with a user (`--with EMAIL`)
    /// or a group (`--with-group ID`), optionally until `--expires`.
    Share {
        /// File id (a folder id with `--folder`).
        id: String,
        /// Share with this user instead of creating a link.
        #[arg(long = "with", value_name = "EMAIL", conflicts_with = "with_group")]
        with: Option<String>,
        /// Share with this group (you must be in it) instead of creating a link.
        #[arg(long = "with-group", value_name = "GROUP")]
        with_group: Option<String>,
        /// `id` is a folder: the share covers everything in it.
        #[arg(long)]
        folder: bool,
        /// Role for `--with`/`--with-group`: viewer, commenter or editor.
        #[arg(long, default_value = "viewer")]
        role: String,
        /// When a `--with`/`--with-group` share stops granting (RFC 3339).
        #[arg(long, value_name = "TIME")]
        expires: Option<String>,
        /// Lifetime in seconds.
        #[arg(long)]
        ttl: Option<u64>,
        /// Password visitors must give (from STRONGROOM_CLIENT_LINK_PASSWORD).
        #[arg(long)]
        password: bool,
        /// Download limit.
        #[arg(long)]
        max_downloads: Option<u64>,
    },
    /// Revokes a link, or (with `--user`/`--group`) a share of a file or folder.
    Unshare {
        /// Link id; with `--user`/`--group`, the file (or `--folder`) id.
        id: String,
        /// Take this user's role away (user id).
        #[arg(long, value_name = "USER_ID", conflicts_with = "group")]
        user: Option<String>,
        /// Take this group's role away.
        #[arg(long, value_name = "GROUP")]
        group: Option<String>,
        /// `id` is a folder.
        #[arg(long)]
        folder: bool,
    },
    /// Lists what others shared with you (or, with `--by-me`, what you shared).
    Shared {
        /// What you shared, expired shares included.
        #[arg(long)]
        by_me: bool,
    },
    /// Groups: the ones you are in, or create and manage them: platform groups
    /// (administrators), or with `--team ID` a team's groups (its admins; its members list and
    /// show them).
    Group {
        /// Act on this team's groups instead of the platform's.
        #[arg(long, global = true, value_name = "TEAM_ID")]
        team: Option<String>,
        #[command(subcommand)]
        command: Option<GroupCommand>,
    },
    /// Webhooks: your endpoints (the default), or with `--team ID` a team's (its admins), or
    /// with `--platform` the platform's (administrators); their deliveries and redelivery.
    Webhook {
        /// Act on this team's endpoints.
        #[arg(
            long,
            global = true,
            value_name = "TEAM_ID",
            conflicts_with = "platform"
        )]
        team: Option<String>,
        /// Act on the platform's endpoints.
        #[arg(long, global = true)]
        platform: bool,
        #[command(subcommand)]
        command: Option<WebhookCommand>,
    },
    /// Teams: the ones you are in (the default), or create and manage one.
    Team {
        #[command(subcommand)]
        command: Option<TeamCommand>,
    },
    /// Invitations: send one (to a team or the platform), list, resend, revoke, accept.
    Invite {
        #[command(subcommand)]
        command: InviteCommand,
    },
    /// Lists your links.
    Links,
    /// Changes your password (current from STRONGROOM_CLIENT_PASSWORD, new from
    /// STRONGROOM_CLIENT_NEW_PASSWORD, or both asked on stdin); your other sessions end.
    Passwd,
    /// Administration (administrators only).
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Searches what you may read: file names (any part), content words (text files), tags and
    /// field values; `"a phrase"`, `-excluded`, `a OR b`, parentheses. No query: everything.
    Search {
        /// The query words.
        query: Vec<String>,
        /// A media type (`image/png`) or family (`image`); repeat for any of several.
        #[arg(long = "type")]
        types: Vec<String>,
        /// A name extension (`pdf`); repeat for any of several.
        #[arg(long = "ext")]
        exts: Vec<String>,
        /// A tag id the files carry; repeat for all of several.
        #[arg(long = "tag")]
        tags: Vec<String>,
        /// A field condition (`pages>=10`, `client=Acme`, `due<2026-12-31`); repeatable.
        #[arg(long = "field")]
        fields: Vec<String>,
        /// Only within this folder, at any depth.
        #[arg(long)]
        folder: Option<String>,
        /// Only this account's files (an id, or `me`).
        #[arg(long)]
        owner: Option<String>,
        /// Only this team's files.
        #[arg(long)]
        team: Option<String>,
        /// At least this many bytes.
        #[arg(long)]
        min_size: Option<u64>,
        /// At most this many bytes.
        #[arg(long)]
        max_size: Option<u64>,
        /// Changed at or after (RFC 3339 or a day).
        #[arg(long)]
        modified_after: Option<String>,
        /// Changed before.
        #[arg(long)]
        modified_before: Option<String>,
        /// `updated` (default), `created`, `name` or `size`.
        #[arg(long)]
        sort: Option<String>,
        /// Descending.
        #[arg(long, conflicts_with = "asc")]
        desc: bool,
        /// Ascending.
        #[arg(long)]
        asc: bool,
        /// Files per page (1 to 200, default 50).
        #[arg(long)]
        limit: Option<u32>,
        /// Continue from the `next_cursor` a previous page printed.
        #[arg(long)]
        cursor: Option<String>,
    },
    /// Tags: your vocabulary (or a team's with `--team`), and tagging files and folders in bulk.
    Tag {
        /// A team's vocabulary instead of yours (for `list` and `create`).
        #[arg(long)]
        team: Option<String>,
        /// What to do (default: list).
        #[command(subcommand)]
        command: Option<TagCommand>,
    },
    /// What you (or a team) store, by type and extension, versions and trash, and uploads and
    /// downloads per day.
    Stats {
        /// A team of yours instead of you.
        #[arg(long)]
        team: Option<String>,
        /// Days up to today (default 30).
        #[arg(long, conflicts_with = "from")]
        days: Option<i64>,
        /// First day (`YYYY-MM-DD`).
        #[arg(long)]
        from: Option<String>,
        /// Last day (default today).
        #[arg(long)]
        to: Option<String>,
    },
    /// Who did what to a file, or to a folder and everything in it, newest first.
    Activity {
        /// The file.
        #[arg(long, required_unless_present = "folder", conflicts_with = "folder")]
        file: Option<String>,
        /// The folder.
        #[arg(long)]
        folder: Option<String>,
        /// Actions equal to or below this (`file`, `share`, `file.downloaded`).
        #[arg(long)]
        action: Option<String>,
        /// Only what this user id did.
        #[arg(long)]
        actor: Option<String>,
        /// At or after (RFC 3339).
        #[arg(long)]
        since: Option<String>,
        /// Before (RFC 3339).
        #[arg(long)]
        until: Option<String>,
        /// Entries (1 to 200, default 50).
        #[arg(long)]
        limit: Option<usize>,
        /// Continue from the `next` a previous page printed.
        #[arg(long)]
        after: Option<String>,
    },
    /// Rebuilds the search index from the stored files: names refolded and the words of each
    /// text file's content extracted again (after changing `search.content_bytes`, or to
    /// repair). Safe while servers run: each file is rewritten in its own transaction.
    Reindex {
        /// TOML config file (the same as `serve` uses).
        #[arg(long, short, env = "STRONGROOM_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Lists your sessions (or revokes one).
    Sessions {
        /// Session id to revoke.
        #[arg(long)]
        revoke: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum TagCommand {
    /// Lists the vocabulary with how many files and folders carry each tag (the default).
    List,
    /// Adds a tag to the vocabulary.
    Create {
        /// Its name (unique regardless of case).
        name: String,
        /// A colour, `#rrggbb`.
        #[arg(long)]
        colour: Option<String>,
    },
    /// Shows a tag.
    Show {
        /// Tag id.
        id: String,
    },
    /// Renames a tag or changes its colour.
    Update {
        /// Tag id.
        id: String,
        /// A new name.
        #[arg(long)]
        name: Option<String>,
        /// A new colour, `#rrggbb`.
        #[arg(long, conflicts_with = "no_colour")]
        colour: Option<String>,
        /// Takes the colour away.
        #[arg(long)]
        no_colour: bool,
    },
    /// Deletes a tag (and every tagging with it).
    Delete {
        /// Tag id.
        id: String,
    },
    /// Puts a tag on files and folders (all or none).
    Add {
        /// Tag id.
        id: String,
        /// A file id; repeat for more.
        #[arg(long = "file")]
        files: Vec<String>,
        /// A folder id; repeat for more.
        #[arg(long = "folder")]
        folders: Vec<String>,
    },
    /// Takes a tag off files and folders.
    Remove {
        /// Tag id.
        id: String,
        /// A file id; repeat for more.
        #[arg(long = "file")]
        files: Vec<String>,
        /// A folder id; repeat for more.
        #[arg(long = "folder")]
        folders: Vec<String>,
    },
    /// Lists what carries a tag.
    Items {
        /// Tag id.
        id: String,
    },
}

#[derive(Debug, Subcommand)]
enum TrashCommand {
    /// Lists what you deleted, oldest first (the default).
    List,
    /// Puts a trashed file or folder back where it was (the root when that folder is gone).
    Restore {
        /// File or folder id (as `strongroom trash` lists it).
        id: String,
    },
    /// Deletes a trashed file or folder for good.
    Purge {
        /// File or folder id.
        id: String,
    },
    /// Deletes everything in your trash for good.
    Empty,
}

#[derive(Debug, Subcommand)]
enum WebhookCommand {
    /// Lists the endpoints.
    List,
    /// Registers an endpoint; prints its signing secret (shown once).
    Create {
        /// `https://…`
        url: String,
        /// Event types or prefixes, comma-separated (`share,file.uploaded`); none: every event.
        #[arg(long, value_delimiter = ',')]
        events: Vec<String>,
        /// A note.
        #[arg(long)]
        description: Option<String>,
    },
    /// Shows one endpoint.
    Show {
        /// Endpoint id.
        id: String,
    },
    /// Changes an endpoint.
    Update {
        /// Endpoint id.
        id: String,
        /// New URL.
        #[arg(long)]
        url: Option<String>,
        /// New event types, comma-separated.
        #[arg(long, value_delimiter = ',')]
        events: Option<Vec<String>>,
        /// New note.
        #[arg(long)]
        description: Option<String>,
        /// Resume deliveries.
        #[arg(long, conflicts_with = "disable")]
        enable: bool,
        /// Stop deliveries (what is pending is given up).
        #[arg(long)]
        disable: bool,
    },
    /// Deletes an endpoint and its deliveries.
    Delete {
        /// Endpoint id.
        id: String,
    },
    /// Gives an endpoint a new secret (printed once); the old one keeps signing for the overlap.
    Rotate {
        /// Endpoint id.
        id: String,
        /// Seconds both secrets sign (default a day).
        #[arg(long)]
        overlap: Option<u64>,
    },
    /// An endpoint's deliveries, newest first; with DELIVERY, that one with its attempts.
    Deliveries {
        /// Endpoint id.
        id: String,
        /// One delivery.
        delivery: Option<String>,
        /// Only `pending`, `delivered` or `dead` ones.
        #[arg(long)]
        state: Option<String>,
    },
    /// Sends a delivered or dead delivery again.
    Redeliver {
        /// Endpoint id.
        id: String,
        /// Delivery id.
        delivery: String,
    },
}

#[derive(Debug, Subcommand)]
enum GroupCommand {
    /// The groups you are in, directly or through nested groups (the default).
    Mine,
    /// Every platform group (administrators), or with `--team` the team's groups.
    List,
    /// Creates a group (administrators; a team's admins with `--team`); its id is what policies
    /// name and never changes (a team's group: `<team id>.<id>`).
    Create {
        /// Group id: a-z, 0-9, '.', '_', '-'.
        id: String,
        /// Display name.
        #[arg(long)]
        name: Option<String>,
        /// What it is for.
        #[arg(long)]
        description: Option<String>,
    },
    /// Shows a group and its members (administrators).
    Show {
        /// Group id.
        id: String,
    },
    /// Adds a user (`--email`) or a nested group (`--group`) (administrators).
    Add {
        /// Group id.
        id: String,
        /// The user's e-mail.
        #[arg(long, conflicts_with = "group")]
        email: Option<String>,
        /// A group to nest inside.
        #[arg(long)]
        group: Option<String>,
    },
    /// Removes a user (`--user ID`) or a nested group (`--group ID`) (administrators).
    Remove {
        /// Group id.
        id: String,
        /// User id.
        #[arg(long, conflicts_with = "group")]
        user: Option<String>,
        /// Group id.
        #[arg(long)]
        group: Option<String>,
    },
    /// Deletes a group and the shares it held (administrators).
    Delete {
        /// Group id.
        id: String,
    },
}

#[derive(Debug, Subcommand)]
enum InviteCommand {
    /// Invites EMAIL to a team (`--team`, as its admin) or to the platform (as an administrator);
    /// prints the link to pass on when the server mails nothing.
    Send {
        /// Who to invite.
        email: String,
        /// The team (default: the platform).
        #[arg(long)]
        team: Option<String>,
        /// admin, editor or guest for a team (default editor); member or admin for the
        /// platform (default member).
        #[arg(long)]
        role: Option<String>,
        /// Until when (RFC 3339; default in 7 days, at most 30).
        #[arg(long)]
        expires: Option<String>,
    },
    /// The invitations you sent, or (`--team`, its admins) those to a team.
    List {
        /// A team's invitations.
        #[arg(long)]
        team: Option<String>,
    },
    /// Sends an invitation again with a new link (the old one stops working).
    Resend {
        /// Invitation id.
        id: String,
    },
    /// Revokes an invitation.
    Revoke {
        /// Invitation id.
        id: String,
    },
    /// Shows what an invitation link offers.
    Show {
        /// The link (or its token).
        link: String,
    },
    /// Accepts an invitation: signed in, as yourself; with `--name`, creating the invited
    /// account (password from STRONGROOM_CLIENT_PASSWORD or stdin), then `login`.
    Accept {
        /// The link (or its token).
        link: String,
        /// The new account's display name (creates the account).
        #[arg(long)]
        name: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum TeamCommand {
    /// The teams you are in, with your role and the id of each team's space (the default).
    Mine,
    /// Every team (administrators).
    List,
    /// Creates a team: you become its admin; upload into its space with `--folder SPACE_ID`.
    Create {
        /// Display name.
        name: String,
    },
    /// Shows a team and its members.
    Show {
        /// Team id.
        id: String,
    },
    /// Renames a team and its space (team admins).
    Rename {
        /// Team id.
        id: String,
        /// New name.
        name: String,
    },
    /// Adds a member, or changes a member's role (team admins).
    Add {
        /// Team id.
        id: String,
        /// The member's e-mail.
        email: String,
        /// admin, editor or guest.
        #[arg(long, default_value = "editor")]
        role: String,
    },
    /// Takes a member out (team admins).
    Remove {
        /// Team id.
        id: String,
        /// The member's user id (as `team show` lists it).
        user_id: String,
    },
    /// Leaves a team.
    Leave {
        /// Team id.
        id: String,
    },
    /// Hands a team over to a member: they become admin, you editor.
    Transfer {
        /// Team id.
        id: String,
        /// The member's e-mail.
        email: String,
    },
    /// Deletes a team (team admins); refused while its space holds anything, unless
    /// `--transfer-to` hands the space and all it holds to a member.
    Delete {
        /// Team id.
        id: String,
        /// The member (e-mail) who receives the team's files.
        #[arg(long, value_name = "EMAIL")]
        transfer_to: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Lists accounts by e-mail (searched with `--search`, paged with `--after`).
    Users {
        /// Only accounts whose e-mail or name contains this.
        #[arg(long)]
        search: Option<String>,
        /// Only accounts after this e-mail.
        #[arg(long)]
        after: Option<String>,
        /// At most this many (default 100).
        #[arg(long)]
        limit: Option<usize>,
    },
    /// Makes an account an administrator (it signs in again to use the role).
    MakeAdmin {
        /// User id.
        id: String,
    },
    /// Takes the administrator role away (the account is signed out everywhere).
    RevokeAdmin {
        /// User id.
        id: String,
    },
    /// Sets an account's tags and custom field values (replacing what it had), which policies
    /// read as `principal.tags` and `principal.<field>`.
    Attributes {
        /// User id.
        id: String,
        /// A tag (repeat for more).
        #[arg(long = "tag")]
        tags: Vec<String>,
        /// A field as NAME=VALUE (repeat for more): whole numbers, true/false, or text and
        /// RFC 3339 dates as written.
        #[arg(long = "field")]
        fields: Vec<String>,
    },
    /// Lists an account's sessions, or ends one (`--revoke SID`) or all (`--revoke-all`).
    Sessions {
        /// User id.
        id: String,
        /// Session id to end.
        #[arg(long, conflicts_with = "revoke_all")]
        revoke: Option<String>,
        /// End every session of the account.
        #[arg(long)]
        revoke_all: bool,
    },
    /// Disables an account: signed out everywhere, its links and shares suspended.
    Disable {
        /// User id.
        id: String,
    },
    /// Enables a disabled account.
    Enable {
        /// User id.
        id: String,
    },
    /// Sets a new random password on an account (printed once) and signs it out.
    ResetPassword {
        /// User id.
        id: String,
    },
    /// Lists accounts locked after too many failed sign-ins (oldest lock first).
    Lockouts {
        /// The `next` of the previous page.
        #[arg(long)]
        after: Option<String>,
        /// At most this many (default 100).
        #[arg(long)]
        limit: Option<u32>,
    },
    /// Lifts an account's sign-in lock (a password reset does too).
    Unlock {
        /// User id.
        id: String,
    },
    /// Sets an account's quota; a limit left out falls back to the operator's default.
    Quota {
        /// User id.
        id: String,
        /// Bytes (all versions of all files, trash included).
        #[arg(long)]
        bytes: Option<u64>,
        /// Files (trash included).
        #[arg(long)]
        files: Option<u64>,
    },
    /// The platform's statistics: what is stored by type and extension, versions and trash,
    /// uploads and downloads per day, and the largest owners.
    Stats {
        /// Days up to today (default 30).
        #[arg(long, conflicts_with = "from")]
        days: Option<i64>,
        /// First day (`YYYY-MM-DD`).
        #[arg(long)]
        from: Option<String>,
        /// Last day (default today).
        #[arg(long)]
        to: Option<String>,
    },
    /// Exports every account's usage over a period as CSV (or, with `--json`, JSON): at its
    /// end, at its peak and on average, logical and after dedup; what billing starts from.
    Usage {
        /// A calendar month in UTC, `YYYY-MM`.
        #[arg(long, conflicts_with_all = ["from", "to"])]
        month: Option<String>,
        /// The period's start (RFC 3339), with `--to`.
        #[arg(long, requires = "to")]
        from: Option<String>,
        /// The period's end, exclusive (RFC 3339), with `--from`.
        #[arg(long, requires = "from")]
        to: Option<String>,
    },
}

fn read_secret(var: &str, prompt: &str) -> Result<String, String> {
    if let Ok(p) = std::env::var(var) {
        return Ok(p);
    }
    eprint!("{prompt}: ");
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

fn print(value: &serde_json::Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_default()
    );
}

/// `key=value&…` of the pairs that have a value, encoded.
fn query_string<const N: usize>(pairs: [(&str, Option<String>); N]) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (key, value) in pairs {
        if let Some(v) = value {
            q.append_pair(key, &v);
        }
    }
    q.finish()
}

/// A statistics report: JSON, or a summary a person reads.
fn print_stats(r: &serde_json::Value, json: bool) {
    if json {
        print(r);
        return;
    }
    let totals = |t: &serde_json::Value| format!("{} files, {} bytes", t["files"], t["bytes"]);
    println!("current   {}", totals(&r["current"]));
    println!(
        "versions  {} versions, {} bytes",
        r["versions"]["files"], r["versions"]["bytes"]
    );
    println!("trash     {}", totals(&r["trash"]));
    for (title, key) in [("by type", "by_type"), ("by extension", "by_extension")] {
        println!("{title}:");
        for b in r[key]["top"].as_array().into_iter().flatten() {
            let name = match b["key"].as_str() {
                Some("") | None => "(none)",
                Some(k) => k,
            };
            println!(
                "  {name:<32} {:>8} files {:>14} bytes",
                b["files"], b["bytes"]
            );
        }
    }
    if let Some(owners) = r["by_owner"].as_array() {
        println!("largest owners ({} in all):", r["owners"]);
        for o in owners {
            println!(
                "  {} {} {}  {} bytes current, {} in versions, {} in trash",
                o["kind"].as_str().unwrap_or(""),
                o["id"].as_str().unwrap_or(""),
                o["email"].as_str().or(o["name"].as_str()).unwrap_or(""),
                o["current"]["bytes"],
                o["versions"]["bytes"],
                o["trash"]["bytes"]
            );
        }
    }
    println!("day         uploads       bytes  downloads       bytes");
    for d in r["days"].as_array().into_iter().flatten() {
        println!(
            "{}  {:>7} {:>11}  {:>9} {:>11}",
            d["day"].as_str().unwrap_or(""),
            d["uploads"],
            d["upload_bytes"],
            d["downloads"],
            d["download_bytes"]
        );
    }
}

async fn client_command(cli: Cli) -> Result<(), String> {
    let progress = !cli.json && std::io::IsTerminal::is_terminal(&std::io::stderr());
    let mut c = Client::open(cli.server, progress)?;
    match cli.command {
        Command::Serve { .. }
        | Command::Openapi
        | Command::Fsck { .. }
        | Command::Reindex { .. }
        | Command::RotateKek { .. } => {
            unreachable!("handled in main")
        }
        Command::Login { email } => {
            let password = read_secret("STRONGROOM_CLIENT_PASSWORD", "password")?;
            let user = c.login(&email, &password).await?;
            if cli.json {
                print(&user);
            } else {
                println!("signed in as {}", user["email"].as_str().unwrap_or(&email));
            }
        }
        Command::Whoami => {
            let me = c.whoami().await?;
            if cli.json {
                print(&me);
            } else {
                println!(
                    "{} <{}>{}",
                    me["name"].as_str().unwrap_or(""),
                    me["email"].as_str().unwrap_or(""),
                    if me["is_admin"] == true {
                        " (admin)"
                    } else {
                        ""
                    }
                );
            }
        }
        Command::Upload { file, name, folder } => {
            let meta = c.upload(&file, name.as_deref(), folder.as_deref()).await?;
            if cli.json {
                print(&meta);
            } else {
                println!(
                    "{}  {}  {} bytes  sha256:{}",
                    meta["id"].as_str().unwrap_or(""),
                    meta["name"].as_str().unwrap_or(""),
                    meta["size"],
                    meta["sha256"].as_str().unwrap_or("")
                );
            }
        }
        Command::Download {
            id,
            version,
            output,
        } => {
            let path = c.download(&id, version, output.as_deref()).await?;
            println!("{}", path.display());
        }
        Command::Versions { id } => {
            let versions = c.versions(&id).await?;
            if cli.json {
                print(&versions);
            } else {
                for v in versions.as_array().into_iter().flatten() {
                    println!(
                        "{:>4}{}  {:>12}  {}  {}{}",
                        v["version"],
                        if v["current"] == true { "*" } else { " " },
                        v["size"],
                        v["created_at"].as_str().unwrap_or(""),
                        v["sha256"].as_str().unwrap_or(""),
                        v["restored_from"]
                            .as_i64()
                            .map(|r| format!("  (restored from {r})"))
                            .unwrap_or_default()
                    );
                }
            }
        }
        Command::Diff {
            id,
            from,
            to,
            summary,
        } => {
            let d = c.diff(&id, from, to, summary).await?;
            if cli.json {
                print(&d);
            } else if let Some(unified) = d["unified"].as_str() {
                print!("{unified}");
            } else {
                let s = &d["summary"];
                println!(
                    "v{from}: {} bytes {}\nv{to}: {} bytes {}\n{} of the {}-byte blocks differ",
                    s["from_size"],
                    s["from_sha256"].as_str().unwrap_or(""),
                    s["to_size"],
                    s["to_sha256"].as_str().unwrap_or(""),
                    s["changed_blocks"],
                    s["block_size"]
                );
            }
        }
        Command::Restore { id, version } => {
            let meta = c.restore(&id, version).await?;
            if cli.json {
                print(&meta);
            } else {
                println!(
                    "{} is at version {}",
                    meta["name"].as_str().unwrap_or(&id),
                    meta["version"]
                );
            }
        }
        Command::Ls { folder } => {
            let page = c.ls(folder.as_deref()).await?;
            if cli.json {
                print(&page);
            } else {
                for f in page["folders"].as_array().into_iter().flatten() {
                    println!(
                        "{}  {:>12}  {}/",
                        f["id"].as_str().unwrap_or(""),
                        "-",
                        f["name"].as_str().unwrap_or("")
                    );
                }
                for f in page["files"].as_array().into_iter().flatten() {
                    println!(
                        "{}  {:>12}  {}",
                        f["id"].as_str().unwrap_or(""),
                        f["size"],
                        f["name"].as_str().unwrap_or("")
                    );
                }
            }
        }
        Command::Rm { id } => c.rm(&id).await?,
        Command::Usage => {
            let u = c.usage().await?;
            if cli.json {
                print(&u);
            } else {
                let limit = |v: &serde_json::Value| match v.as_u64() {
                    Some(n) => n.to_string(),
                    None => "unlimited".into(),
                };
                println!(
                    "{} files ({} versions), {} bytes (quota {}), {} bytes stored after dedup, \
                     trash: {} files, {} bytes; file quota {}",
                    u["files"],
                    u["versions"],
                    u["logical_bytes"],
                    limit(&u["quota_bytes"]),
                    u["stored_bytes"],
                    u["trash_files"],
                    u["trash_bytes"],
                    limit(&u["quota_files"])
                );
            }
        }
        Command::Trash { team, command } => {
            let command = command.unwrap_or(TrashCommand::List);
            let team = team.as_deref();
            let out = match &command {
                TrashCommand::List => c.trash(team).await?,
                TrashCommand::Restore { id } => c.trash_restore(id, team).await?,
                TrashCommand::Purge { id } => {
                    c.trash_purge(id, team).await?;
                    serde_json::json!({ "purged": 1 })
                }
                TrashCommand::Empty if team.is_some() => {
                    return Err(
                        "`trash --team ID empty` is not offered: purge a team's items one by one"
                            .into(),
                    );
                }
                TrashCommand::Empty => c.trash_empty().await?,
            };
            if cli.json {
                print(&out);
            } else {
                match command {
                    TrashCommand::List => {
                        for t in out.as_array().into_iter().flatten() {
                            println!(
                                "{:<6}  {}  {:>12}  deleted {}  purged {}  {}",
                                t["kind"].as_str().unwrap_or(""),
                                t["id"].as_str().unwrap_or(""),
                                t["size"],
                                t["trashed_at"].as_str().unwrap_or(""),
                                t["purge_at"].as_str().unwrap_or(""),
                                t["name"].as_str().unwrap_or("")
                            );
                        }
                    }
                    TrashCommand::Restore { .. } => println!(
                        "restored {} {} into {}",
                        out["kind"].as_str().unwrap_or(""),
                        out["name"].as_str().unwrap_or(""),
                        out["folder_id"].as_str().unwrap_or("the root")
                    ),
                    TrashCommand::Purge { id } => println!("purged {id}"),
                    TrashCommand::Empty => println!("purged {} items", out["purged"]),
                }
            }
        }
        Command::Share {
            id,
            with,
            with_group,
            folder,
            role,
            expires,
            ..
        } if with.is_some() || with_group.is_some() => {
            let to = match (&with, &with_group) {
                (Some(email), _) => ShareTo::User(email),
                (_, Some(group)) => ShareTo::Group(group),
                _ => unreachable!("guarded"),
            };
            let share = ShareWith {
                id: &id,
                folder,
                to,
                role: &role,
                expires: expires.as_deref(),
            };
            let grant = c.share_with(&share).await?;
            if cli.json {
                print(&grant);
            } else {
                let until = grant["expires_at"]
                    .as_str()
                    .map(|e| format!(" until {e}"))
                    .unwrap_or_default();
                match to {
                    ShareTo::User(email) => println!(
                        "shared: if {email} has an account, it now holds the {role} role{until}"
                    ),
                    ShareTo::Group(group) => {
                        println!("shared: group {group} now holds the {role} role{until}")
                    }
                }
            }
        }
        Command::Share {
            id,
            ttl,
            password,
            max_downloads,
            ..
        } => {
            let pw = if password {
                Some(read_secret(
                    "STRONGROOM_CLIENT_LINK_PASSWORD",
                    "link password",
                )?)
            } else {
                None
            };
            let link = c.share(&id, ttl, pw, max_downloads).await?;
            if cli.json {
                print(&link);
            } else {
                println!(
                    "{}\nlink id {} expires {}",
                    link["url"].as_str().unwrap_or(""),
                    link["id"].as_str().unwrap_or(""),
                    link["expires_at"].as_str().unwrap_or("")
                );
            }
        }
        Command::Unshare {
            id,
            user,
            group,
            folder,
        } => match (user.as_deref(), group.as_deref()) {
            (Some(u), _) => c.unshare_with(&id, folder, ShareTo::User(u)).await?,
            (_, Some(g)) => c.unshare_with(&id, folder, ShareTo::Group(g)).await?,
            _ => c.unshare(&id).await?,
        },
        Command::Shared { by_me } => {
            let list = c.shared(by_me).await?;
            if cli.json {
                print(&list);
            } else {
                for g in list.as_array().into_iter().flatten() {
                    let who = g["email"].as_str().or(g["group_id"].as_str()).unwrap_or("");
                    println!(
                        "{} {}  {}  {} {}{}{}",
                        g["resource_kind"].as_str().unwrap_or(""),
                        g["resource_id"].as_str().unwrap_or(""),
                        g["role"].as_str().unwrap_or(""),
                        g["holder_kind"].as_str().unwrap_or(""),
                        who,
                        g["expires_at"]
                            .as_str()
                            .map(|e| format!("  until {e}"))
                            .unwrap_or_default(),
                        if g["expired"] == true {
                            "  (expired)"
                        } else {
                            ""
                        },
                    );
                }
            }
        }
        Command::Webhook {
            team,
            platform,
            command,
        } => {
            let owner = match (&team, platform) {
                (Some(t), _) => serde_json::json!({ "team_id": t }),
                (None, true) => serde_json::json!({ "platform": true }),
                (None, false) => serde_json::json!({}),
            };
            let out = match command.unwrap_or(WebhookCommand::List) {
                WebhookCommand::List => {
                    let query = match (&team, platform) {
                        (Some(t), _) => format!("?team_id={}", cli::encode(t)),
                        (None, true) => "?platform=true".to_owned(),
                        (None, false) => String::new(),
                    };
                    c.call(Method::GET, &format!("/webhooks{query}"), None)
                        .await?
                }
                WebhookCommand::Create {
                    url,
                    events,
                    description,
                } => {
                    let mut body = serde_json::json!({ "url": url, "event_types": events, "description": description });
                    if let (Some(b), Some(o)) = (body.as_object_mut(), owner.as_object()) {
                        b.extend(o.clone());
                    }
                    c.call(Method::POST, "/webhooks", Some(body)).await?
                }
                WebhookCommand::Show { id } => {
                    c.call(
                        Method::GET,
                        &format!("/webhooks/{}", cli::encode(&id)),
                        None,
                    )
                    .await?
                }
                WebhookCommand::Update {
                    id,
                    url,
                    events,
                    description,
                    enable,
                    disable,
                } => {
                    let enabled = (enable || disable).then_some(enable);
                    let body = serde_json::json!({
                        "url": url, "event_types": events, "description": description, "enabled": enabled
                    });
                    c.call(
                        Method::PATCH,
                        &format!("/webhooks/{}", cli::encode(&id)),
                        Some(body),
                    )
                    .await?
                }
                WebhookCommand::Delete { id } => {
                    c.call(
                        Method::DELETE,
                        &format!("/webhooks/{}", cli::encode(&id)),
                        None,
                    )
                    .await?
                }
                WebhookCommand::Rotate { id, overlap } => {
                    let body = serde_json::json!({ "overlap_secs": overlap });
                    c.call(
                        Method::POST,
                        &format!("/webhooks/{}/rotate", cli::encode(&id)),
                        Some(body),
                    )
                    .await?
                }
                WebhookCommand::Deliveries {
                    id,
                    delivery,
                    state,
                } => {
                    let base = format!("/webhooks/{}/deliveries", cli::encode(&id));
                    let path = match (delivery, state) {
                        (Some(d), _) => format!("{base}/{}", cli::encode(&d)),
                        (None, Some(s)) => format!("{base}?state={}", cli::encode(&s)),
                        (None, None) => base,
                    };
                    c.call(Method::GET, &path, None).await?
                }
                WebhookCommand::Redeliver { id, delivery } => {
                    c.call(
                        Method::POST,
                        &format!(
                            "/webhooks/{}/deliveries/{}/redeliver",
                            cli::encode(&id),
                            cli::encode(&delivery)
                        ),
                        None,
                    )
                    .await?
                }
            };
            if cli.json {
                print(&out);
            } else if let Some(list) = out.as_array() {
                for w in list {
                    println!(
                        "{}  {}  {}",
                        w["id"].as_str().unwrap_or(""),
                        w["state"]
                            .as_str()
                            .or(w["enabled"].as_bool().map(|on| if on {
                                "enabled"
                            } else {
                                "disabled"
                            }))
                            .unwrap_or(""),
                        w["url"].as_str().or(w["event_type"].as_str()).unwrap_or("")
                    );
                }
            } else {
                print(&out);
            }
        }
        Command::Group { team, command } => {
            let command = command.unwrap_or(GroupCommand::Mine);
            let base = match team {
                Some(t) => format!("/teams/{t}/groups"),
                None => "/admin/groups".to_owned(),
            };
            let out = match &command {
                GroupCommand::Mine => c.call(Method::GET, "/me/groups", None).await?,
                GroupCommand::List => {
                    c.call(Method::GET, &format!("{base}?limit=1000"), None)
                        .await?
                }
                GroupCommand::Create {
                    id,
                    name,
                    description,
                } => {
                    let body =
                        serde_json::json!({ "id": id, "name": name, "description": description });
                    c.call(Method::POST, &base, Some(body)).await?
                }
                GroupCommand::Show { id } => {
                    c.call(Method::GET, &format!("{base}/{id}"), None).await?
                }
                GroupCommand::Add { id, email, group } => {
                    let body = match (email, group) {
                        (Some(e), _) => serde_json::json!({ "email": e }),
                        (_, Some(g)) => serde_json::json!({ "group": g }),
                        _ => return Err("give --email or --group".into()),
                    };
                    c.call(Method::POST, &format!("{base}/{id}/members"), Some(body))
                        .await?
                }
                GroupCommand::Remove { id, user, group } => {
                    let path = match (user, group) {
                        (Some(u), _) => format!("{base}/{id}/members/user/{u}"),
                        (_, Some(g)) => format!("{base}/{id}/members/group/{g}"),
                        _ => return Err("give --user or --group".into()),
                    };
                    c.call(Method::DELETE, &path, None).await?
                }
                GroupCommand::Delete { id } => {
                    c.call(Method::DELETE, &format!("{base}/{id}"), None)
                        .await?
                }
            };
            if cli.json {
                print(&out);
            } else if let Some(list) = out.as_array() {
                for g in list {
                    println!(
                        "{}  {}",
                        g["id"].as_str().unwrap_or(""),
                        g["name"].as_str().unwrap_or("")
                    );
                }
            } else if let Some(members) = out["members"].as_array() {
                println!(
                    "{}  {}",
                    out["id"].as_str().unwrap_or(""),
                    out["name"].as_str().unwrap_or("")
                );
                for m in members {
                    println!(
                        "  {} {}  {}",
                        m["kind"].as_str().unwrap_or(""),
                        m["id"].as_str().unwrap_or(""),
                        m["name"].as_str().unwrap_or("")
                    );
                }
            } else if out.is_object() {
                println!(
                    "{}  {}",
                    out["id"].as_str().unwrap_or(""),
                    out["name"].as_str().unwrap_or("")
                );
            }
        }
        Command::Invite { command } => {
            let token_of = |link: &str| match link.find("token=") {
                Some(i) => link[i + "token=".len()..].to_owned(),
                None => link.to_owned(),
            };
            let out = match &command {
                InviteCommand::Send {
                    email,
                    team,
                    role,
                    expires,
                } => {
                    let role = role.clone().unwrap_or_else(|| {
                        if team.is_some() { "editor" } else { "member" }.to_owned()
                    });
                    let body = serde_json::json!({
                        "email": email, "team_id": team, "role": role, "expires_at": expires,
                    });
                    c.call(Method::POST, "/invitations", Some(body)).await?
                }
                InviteCommand::List { team: Some(t) } => {
                    c.call(Method::GET, &format!("/teams/{t}/invitations"), None)
                        .await?
                }
                InviteCommand::List { team: None } => {
                    c.call(Method::GET, "/invitations", None).await?
                }
                InviteCommand::Resend { id } => {
                    c.call(Method::POST, &format!("/invitations/{id}/resend"), None)
                        .await?
                }
                InviteCommand::Revoke { id } => {
                    c.call(Method::DELETE, &format!("/invitations/{id}"), None)
                        .await?
                }
                InviteCommand::Show { link } => {
                    let token = token_of(link);
                    let path = format!("/invitations/accept?token={token}");
                    c.call(Method::GET, &path, None).await?
                }
                InviteCommand::Accept { link, name } => {
                    let mut body = serde_json::json!({ "token": token_of(link) });
                    if let Some(n) = name {
                        body["name"] = serde_json::json!(n);
                        body["password"] = serde_json::json!(read_secret(
                            "STRONGROOM_CLIENT_PASSWORD",
                            "password for the new account"
                        )?);
                    }
                    c.call(Method::POST, "/invitations/accept", Some(body))
                        .await?
                }
            };
            if cli.json {
                print(&out);
            } else if let Some(list) = out.as_array() {
                for i in list {
                    println!(
                        "{}  {}  {}  {}  {}",
                        i["id"].as_str().unwrap_or(""),
                        i["email"].as_str().unwrap_or(""),
                        i["role"].as_str().unwrap_or(""),
                        i["status"].as_str().unwrap_or(""),
                        i["expires_at"].as_str().unwrap_or("")
                    );
                }
            } else if let Some(link) = out["link"].as_str() {
                println!("not mailed (no [smtp]): pass this link on\n{link}");
            } else if let Some(d) = out["delivery"].as_str() {
                match out["delivery_error"].as_str() {
                    Some(e) => println!(
                        "{d}: {e} (invite resend {})",
                        out["id"].as_str().unwrap_or("")
                    ),
                    None => println!("mailed to {}", out["email"].as_str().unwrap_or("")),
                }
            } else if out["new_account"].is_boolean() {
                println!(
                    "accepted as {}{}",
                    out["email"].as_str().unwrap_or(""),
                    if out["new_account"] == true {
                        " (new account: sign in with `login`)"
                    } else {
                        ""
                    }
                );
            } else if out.is_object() {
                println!(
                    "{}  {}  {}  {}",
                    out["email"].as_str().unwrap_or(""),
                    out["team_name"].as_str().unwrap_or("the platform"),
                    out["role"].as_str().unwrap_or(""),
                    out["status"].as_str().unwrap_or("")
                );
            }
        }
        Command::Team { command } => {
            let command = command.unwrap_or(TeamCommand::Mine);
            let out = match &command {
                TeamCommand::Mine => c.call(Method::GET, "/teams", None).await?,
                TeamCommand::List => c.call(Method::GET, "/admin/teams?limit=1000", None).await?,
                TeamCommand::Create { name } => {
                    let body = Some(serde_json::json!({ "name": name }));
                    c.call(Method::POST, "/teams", body).await?
                }
                TeamCommand::Show { id } => {
                    c.call(Method::GET, &format!("/teams/{id}"), None).await?
                }
                TeamCommand::Rename { id, name } => {
                    let body = Some(serde_json::json!({ "name": name }));
                    c.call(Method::PATCH, &format!("/teams/{id}"), body).await?
                }
                TeamCommand::Add { id, email, role } => {
                    let body = Some(serde_json::json!({ "email": email, "role": role }));
                    c.call(Method::PUT, &format!("/teams/{id}/members"), body)
                        .await?
                }
                TeamCommand::Remove { id, user_id } => {
                    c.call(
                        Method::DELETE,
                        &format!("/teams/{id}/members/{user_id}"),
                        None,
                    )
                    .await?
                }
                TeamCommand::Leave { id } => {
                    c.call(Method::POST, &format!("/teams/{id}/leave"), None)
                        .await?
                }
                TeamCommand::Transfer { id, email } => {
                    let body = Some(serde_json::json!({ "email": email }));
                    c.call(Method::POST, &format!("/teams/{id}/transfer"), body)
                        .await?
                }
                TeamCommand::Delete { id, transfer_to } => {
                    let mut path = format!("/teams/{}", cli::encode(id));
                    if let Some(to) = transfer_to {
                        path.push_str(&format!("?transfer_to={}", cli::encode(to)));
                    }
                    c.call(Method::DELETE, &path, None).await?
                }
            };
            if cli.json {
                print(&out);
            } else if let Some(list) = out.as_array() {
                for t in list {
                    println!(
                        "{}  {}  space {}  {}",
                        t["id"].as_str().unwrap_or(""),
                        t["name"].as_str().unwrap_or(""),
                        t["space_id"].as_str().unwrap_or(""),
                        t["role"].as_str().unwrap_or("-")
                    );
                }
            } else if let Some(members) = out["members"].as_array() {
                println!(
                    "{}  {}  space {}",
                    out["id"].as_str().unwrap_or(""),
                    out["name"].as_str().unwrap_or(""),
                    out["space_id"].as_str().unwrap_or("")
                );
                for m in members {
                    println!(
                        "  {} {}  {}",
                        m["role"].as_str().unwrap_or(""),
                        m["user_id"].as_str().unwrap_or(""),
                        m["email"].as_str().unwrap_or("")
                    );
                }
            } else if out["user_id"].is_string() {
                println!(
                    "{} {}  {}",
                    out["role"].as_str().unwrap_or(""),
                    out["user_id"].as_str().unwrap_or(""),
                    out["email"].as_str().unwrap_or("")
                );
            } else if out.is_object() {
                println!(
                    "{}  {}  space {}",
                    out["id"].as_str().unwrap_or(""),
                    out["name"].as_str().unwrap_or(""),
                    out["space_id"].as_str().unwrap_or("")
                );
            }
        }
        Command::Search {
            query,
            types,
            exts,
            tags,
            fields,
            folder,
            owner,
            team,
            min_size,
            max_size,
            modified_after,
            modified_before,
            sort,
            desc,
            asc,
            limit,
            cursor,
        } => {
            let mut q = form_urlencoded::Serializer::new(String::new());
            if !query.is_empty() {
                q.append_pair("q", &query.join(" "));
            }
            for (key, values) in [
                ("type", &types),
                ("ext", &exts),
                ("tag", &tags),
                ("field", &fields),
            ] {
                for v in values {
                    q.append_pair(key, v);
                }
            }
            for (key, value) in [
                ("folder", folder),
                ("owner", owner),
                ("team", team),
                ("min_size", min_size.map(|n| n.to_string())),
                ("max_size", max_size.map(|n| n.to_string())),
                ("modified_after", modified_after),
                ("modified_before", modified_before),
                ("sort", sort),
                ("desc", (desc || asc).then(|| desc.to_string())),
                ("limit", limit.map(|n| n.to_string())),
                ("cursor", cursor),
            ] {
                if let Some(v) = value {
                    q.append_pair(key, &v);
                }
            }
            let page = c
                .call(Method::GET, &format!("/search?{}", q.finish()), None)
                .await?;
            if cli.json {
                print(&page);
            } else {
                for f in page["files"].as_array().into_iter().flatten() {
                    println!(
                        "{}  {:>12}  {}  {}",
                        f["id"].as_str().unwrap_or(""),
                        f["size"],
                        f["updated_at"].as_str().unwrap_or(""),
                        f["name"].as_str().unwrap_or("")
                    );
                }
                if let Some(next) = page["next_cursor"].as_str() {
                    println!("more: --cursor {next}");
                }
            }
        }
        Command::Tag { team, command } => {
            let out = match command.unwrap_or(TagCommand::List) {
                TagCommand::List => {
                    let path = match &team {
                        Some(t) => format!("/tags?team_id={}", cli::encode(t)),
                        None => "/tags".to_owned(),
                    };
                    c.call(Method::GET, &path, None).await?
                }
                TagCommand::Create { name, colour } => {
                    let mut body = serde_json::json!({ "name": name });
                    if let Some(c) = colour {
                        body["colour"] = c.into();
                    }
                    if let Some(t) = &team {
                        body["team_id"] = t.clone().into();
                    }
                    c.call(Method::POST, "/tags", Some(body)).await?
                }
                TagCommand::Show { id } => {
                    c.call(Method::GET, &format!("/tags/{}", cli::encode(&id)), None)
                        .await?
                }
                TagCommand::Update {
                    id,
                    name,
                    colour,
                    no_colour,
                } => {
                    let mut body = serde_json::json!({});
                    if let Some(n) = name {
                        body["name"] = n.into();
                    }
                    if no_colour {
                        body["colour"] = serde_json::Value::Null;
                    } else if let Some(c) = colour {
                        body["colour"] = c.into();
                    }
                    c.call(
                        Method::PATCH,
                        &format!("/tags/{}", cli::encode(&id)),
                        Some(body),
                    )
                    .await?
                }
                TagCommand::Delete { id } => {
                    c.call(Method::DELETE, &format!("/tags/{}", cli::encode(&id)), None)
                        .await?;
                    serde_json::json!({ "deleted": id })
                }
                TagCommand::Add { id, files, folders }
                | TagCommand::Remove { id, files, folders }
                    if files.is_empty() && folders.is_empty() =>
                {
                    return Err(format!("give --file or --folder for tag {id}"));
                }
                TagCommand::Add { id, files, folders } => {
                    c.call(
                        Method::POST,
                        &format!("/tags/{}/add", cli::encode(&id)),
                        Some(serde_json::json!({ "files": files, "folders": folders })),
                    )
                    .await?
                }
                TagCommand::Remove { id, files, folders } => {
                    c.call(
                        Method::POST,
                        &format!("/tags/{}/remove", cli::encode(&id)),
                        Some(serde_json::json!({ "files": files, "folders": folders })),
                    )
                    .await?
                }
                TagCommand::Items { id } => {
                    c.call(
                        Method::GET,
                        &format!("/tags/{}/items", cli::encode(&id)),
                        None,
                    )
                    .await?
                }
            };
            if cli.json {
                print(&out);
            } else if let Some(tags) = out["tags"].as_array() {
                for t in tags {
                    println!(
                        "{}  {}  {} files, {} folders",
                        t["id"].as_str().unwrap_or(""),
                        t["name"].as_str().unwrap_or(""),
                        t["files"],
                        t["folders"]
                    );
                }
            } else {
                print(&out);
            }
        }
        Command::Stats {
            team,
            days,
            from,
            to,
        } => {
            let q = query_string([
                ("team", team),
                ("days", days.map(|d| d.to_string())),
                ("from", from),
                ("to", to),
            ]);
            let report = c.call(Method::GET, &format!("/stats?{q}"), None).await?;
            print_stats(&report, cli.json);
        }
        Command::Activity {
            file,
            folder,
            action,
            actor,
            since,
            until,
            limit,
            after,
        } => {
            let base = match (&file, &folder) {
                (Some(f), _) => format!("/files/{}/activity", cli::encode(f)),
                (None, Some(d)) => format!("/folders/{}/activity", cli::encode(d)),
                (None, None) => return Err("give --file or --folder".into()),
            };
            let q = query_string([
                ("action", action),
                ("actor", actor),
                ("since", since),
                ("until", until),
                ("limit", limit.map(|n| n.to_string())),
                ("after", after),
            ]);
            let page = c.call(Method::GET, &format!("{base}?{q}"), None).await?;
            if cli.json {
                print(&page);
            } else {
                for e in page["entries"].as_array().into_iter().flatten() {
                    let who = e["actor"]["name"]
                        .as_str()
                        .or(e["actor"]["id"].as_str())
                        .unwrap_or("anonymous");
                    println!(
                        "{}  {:<22} {} {}  by {}{}",
                        e["time"].as_str().unwrap_or(""),
                        e["action"].as_str().unwrap_or(""),
                        e["resource"]["type"].as_str().unwrap_or(""),
                        e["resource"]["id"].as_str().unwrap_or(""),
                        who,
                        match e["outcome"].as_str() {
                            Some("success") | None => String::new(),
                            Some(o) => format!("  ({o})"),
                        }
                    );
                }
                if let Some(next) = page["next"].as_str() {
                    println!("more: --after {next}");
                }
            }
        }
        Command::Admin {
            command: AdminCommand::Stats { days, from, to },
        } => {
            let q = query_string([
                ("days", days.map(|d| d.to_string())),
                ("from", from),
                ("to", to),
            ]);
            let report = c
                .call(Method::GET, &format!("/admin/stats?{q}"), None)
                .await?;
            print_stats(&report, cli.json);
        }
        Command::Links => {
            let links = c.links().await?;
            if cli.json {
                print(&links);
            } else {
                for l in links.as_array().into_iter().flatten() {
                    println!(
                        "{}  file {}  expires {}  downloads {}{}",
                        l["id"].as_str().unwrap_or(""),
                        l["file_id"].as_str().unwrap_or(""),
                        l["expires_at"].as_str().unwrap_or(""),
                        l["downloads"],
                        if l["revoked_at"].is_null() {
                            ""
                        } else {
                            "  (revoked)"
                        }
                    );
                }
            }
        }
        Command::Passwd => {
            let current = read_secret("STRONGROOM_CLIENT_PASSWORD", "current password")?;
            let new = read_secret("STRONGROOM_CLIENT_NEW_PASSWORD", "new password")?;
            c.passwd(&current, &new).await?;
            if !cli.json {
                println!("password changed; your other sessions are signed out");
            }
        }
        Command::Admin {
            command: AdminCommand::Usage { month, from, to },
        } => {
            let pages = c
                .admin_usage(month.as_deref(), from.as_deref(), to.as_deref())
                .await?;
            if cli.json {
                let accounts: Vec<_> = pages.iter().flat_map(|p| p.accounts.clone()).collect();
                let first = pages.first();
                print(&serde_json::json!({
                    "from": first.map(|p| p.from.clone()),
                    "to": first.map(|p| p.to.clone()),
                    "accounts": accounts,
                }));
            } else {
                println!("{}", strongroom::domain::metering::CSV_HEADER);
                for p in &pages {
                    print!("{}", p.csv_rows());
                }
            }
        }
        Command::Admin { command } => {
            let out = match &command {
                AdminCommand::Users {
                    search,
                    after,
                    limit,
                } => {
                    c.admin_users(search.as_deref(), after.as_deref(), *limit)
                        .await?
                }
                AdminCommand::MakeAdmin { id } => {
                    c.call(
                        reqwest::Method::POST,
                        &format!("/admin/users/{id}/admin"),
                        None,
                    )
                    .await?
                }
                AdminCommand::Attributes { id, tags, fields } => {
                    let mut values = serde_json::Map::new();
                    for f in fields {
                        let (name, value) = f
                            .split_once('=')
                            .ok_or_else(|| format!("--field {f:?}: give NAME=VALUE"))?;
                        let v = if let Ok(n) = value.parse::<i64>() {
                            serde_json::json!(n)
                        } else if let Ok(b) = value.parse::<bool>() {
                            serde_json::json!(b)
                        } else {
                            serde_json::json!(value)
                        };
                        values.insert(name.to_owned(), v);
                    }
                    let body = serde_json::json!({ "tags": tags, "fields": values });
                    c.call(
                        reqwest::Method::PUT,
                        &format!("/admin/users/{id}/attributes"),
                        Some(body),
                    )
                    .await?
                }
                AdminCommand::RevokeAdmin { id } => {
                    c.call(
                        reqwest::Method::DELETE,
                        &format!("/admin/users/{id}/admin"),
                        None,
                    )
                    .await?
                }
                AdminCommand::Sessions {
                    id,
                    revoke,
                    revoke_all,
                } => {
                    let (method, path) = match (revoke, revoke_all) {
                        (Some(sid), _) => (
                            reqwest::Method::DELETE,
                            format!("/admin/users/{id}/sessions/{sid}"),
                        ),
                        (None, true) => (
                            reqwest::Method::DELETE,
                            format!("/admin/users/{id}/sessions"),
                        ),
                        (None, false) => {
                            (reqwest::Method::GET, format!("/admin/users/{id}/sessions"))
                        }
                    };
                    c.call(method, &path, None).await?
                }
                AdminCommand::Disable { id } => c.admin_user_action(id, "disable").await?,
                AdminCommand::Enable { id } => c.admin_user_action(id, "enable").await?,
                AdminCommand::ResetPassword { id } => {
                    c.admin_user_action(id, "password-reset").await?
                }
                AdminCommand::Quota { id, bytes, files } => {
                    c.admin_quota(id, *bytes, *files).await?
                }
                AdminCommand::Lockouts { after, limit } => {
                    let q = query_string([
                        ("after", after.clone()),
                        ("limit", limit.map(|l| l.to_string())),
                    ]);
                    c.call(reqwest::Method::GET, &format!("/admin/lockouts?{q}"), None)
                        .await?
                }
                AdminCommand::Unlock { id } => {
                    c.call(
                        reqwest::Method::DELETE,
                        &format!("/admin/users/{id}/lockout"),
                        None,
                    )
                    .await?
                }
                AdminCommand::Usage { .. } | AdminCommand::Stats { .. } => {
                    unreachable!("handled above")
                }
            };
            if cli.json {
                print(&out);
            } else if out.is_null() {
                println!("done");
            } else if let AdminCommand::Sessions { .. } = command {
                for s in out.as_array().into_iter().flatten() {
                    println!(
                        "{}  {}  last used {}",
                        s["id"].as_str().unwrap_or(""),
                        s["ip"].as_str().unwrap_or("-"),
                        s["last_used_at"].as_str().unwrap_or("")
                    );
                }
            } else if let AdminCommand::MakeAdmin { .. } | AdminCommand::RevokeAdmin { .. } =
                command
            {
                println!(
                    "{} is {}",
                    out["email"].as_str().unwrap_or(""),
                    if out["is_admin"] == true {
                        "an administrator"
                    } else {
                        "not an administrator"
                    }
                );
            } else if let AdminCommand::Lockouts { .. } = command {
                for l in out["items"].as_array().into_iter().flatten() {
                    println!(
                        "{}  {}  {} failures, locked {}",
                        l["user_id"].as_str().unwrap_or("-"),
                        l["email"].as_str().unwrap_or("-"),
                        l["failures"],
                        l["locked_at"].as_str().unwrap_or("")
                    );
                }
                if let Some(next) = out["next"].as_str() {
                    println!("more: --after {next}");
                }
            } else if let AdminCommand::Users { .. } = command {
                for u in out.as_array().into_iter().flatten() {
                    println!(
                        "{}  {}{}{}",
                        u["id"].as_str().unwrap_or(""),
                        u["email"].as_str().unwrap_or(""),
                        if u["is_admin"] == true {
                            "  (admin)"
                        } else {
                            ""
                        },
                        if u["disabled_at"].is_string() {
                            "  (disabled)"
                        } else {
                            ""
                        }
                    );
                }
            } else if let Some(p) = out["password"].as_str() {
                println!("new password (shown once): {p}");
            } else {
                println!(
                    "{} is {}",
                    out["email"].as_str().unwrap_or(""),
                    if out["disabled_at"].is_string() {
                        "disabled"
                    } else {
                        "enabled"
                    }
                );
            }
        }
        Command::Sessions { revoke } => {
            let list = c.sessions(revoke.as_deref()).await?;
            if cli.json {
                print(&list);
            } else {
                for s in list.as_array().into_iter().flatten() {
                    println!(
                        "{}{}  {}  last used {}",
                        s["id"].as_str().unwrap_or(""),
                        if s["current"] == true { " *" } else { "" },
                        s["ip"].as_str().unwrap_or("-"),
                        s["last_used_at"].as_str().unwrap_or("")
                    );
                }
            }
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("strongroom: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match &cli.command {
            Command::Serve { config } => {
                let config =
                    Config::load(config.as_deref(), std::env::vars()).map_err(|e| e.to_string())?;
                strongroom::serve::run(config).await
            }
            Command::Fsck { config, repair } => {
                let config =
                    Config::load(config.as_deref(), std::env::vars()).map_err(|e| e.to_string())?;
                let app = strongroom::app::App::build(config)
                    .await
                    .map_err(|e| e.to_string())?;
                let report = app.folders.fsck(*repair).await.map_err(|e| e.to_string())?;
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
                );
                if !report.damage.is_empty() && !report.repaired {
                    return Err(format!(
                        "{} damaged folder(s) found; run `strongroom fsck --repair`",
                        report.damage.len()
                    ));
                }
                Ok(())
            }
            Command::Reindex { config } => {
                let config =
                    Config::load(config.as_deref(), std::env::vars()).map_err(|e| e.to_string())?;
                let app = strongroom::app::App::build(config)
                    .await
                    .map_err(|e| e.to_string())?;
                let report = app.search.reindex().await.map_err(|e| e.to_string())?;
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
                );
                Ok(())
            }
            Command::RotateKek { config } => {
                let config =
                    Config::load(config.as_deref(), std::env::vars()).map_err(|e| e.to_string())?;
                let app = strongroom::app::App::build(config)
                    .await
                    .map_err(|e| e.to_string())?;
                let keys = app
                    .blobs
                    .data_keys()
                    .ok_or("storage.dedup is off: no content is encrypted, no key to rotate")?;
                let id = keys.keks().add_next()?;
                let n = keys
                    .rewrap_all(app.now())
                    .await
                    .map_err(|e| e.to_string())?;
                println!(
                    "{}",
                    serde_json::json!({ "kek": format!("content-kek-{id}.key"), "rewrapped": n })
                );
                Ok(())
            }
            Command::Openapi => {
                println!(
                    "{}",
                    strongroom::http::openapi()
                        .to_pretty_json()
                        .map_err(|e| e.to_string())?
                );
                Ok(())
            }
            _ => client_command(cli).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("strongroom: {e}");
            ExitCode::FAILURE
        }
    }
}

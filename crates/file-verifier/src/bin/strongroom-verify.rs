//! `strongroom-verify`: sign and verify files, byte ranges and directory trees.
//!
//! Exit codes: 0 verified, 1 mismatch, 2 usage or I/O error.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use serde_json::json;
use strongroom_file_verifier::{
    Algorithm, ChunkMap, Error, KeyRing, Manifest, SecretKey, Signature,
};

#[derive(Parser)]
#[command(
    name = "strongroom-verify",
    version,
    about = "Sign and verify files, byte ranges and directory trees"
)]
struct Cli {
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate a new random 32-byte key into a file readable only by its owner.
    Keygen {
        /// Where to write the key (hex). Refuses to overwrite an existing file.
        #[arg(long)]
        out: PathBuf,
    },
    /// Sign files; prints `SIGNATURE  PATH` per file, like sha256sum.
    Sign {
        #[command(flatten)]
        keys: KeyArgs,
        /// Signature algorithm.
        #[arg(long, default_value = "hmac-sha256")]
        algorithm: Algorithm,
        /// Also write a chunk map (JSON) of the single FILE here, for range verification.
        #[arg(long, value_name = "OUT")]
        chunk_map: Option<PathBuf>,
        /// Chunk size in bytes for --chunk-map.
        #[arg(long, default_value_t = ChunkMap::DEFAULT_CHUNK_SIZE)]
        chunk_size: u32,
        /// Files to sign.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Verify files against signatures.
    Verify {
        #[command(flatten)]
        keys: KeyArgs,
        /// The signature of FILE (as printed by `sign`).
        #[arg(long, requires = "file", conflicts_with_all = ["check", "chunk_map"])]
        signature: Option<String>,
        /// A file of `SIGNATURE  PATH` lines, as `sign` prints them; every line is checked.
        #[arg(long, value_name = "SIGFILE", conflicts_with_all = ["file", "chunk_map"])]
        check: Option<PathBuf>,
        /// Verify FILE against a chunk map written by `sign --chunk-map`.
        #[arg(long, value_name = "MAP", requires = "file")]
        chunk_map: Option<PathBuf>,
        /// With --chunk-map: verify only bytes START-END (end exclusive), reading only their chunks.
        #[arg(long, requires = "chunk_map", value_parser = parse_range)]
        range: Option<(u64, u64)>,
        /// The file to verify.
        file: Option<PathBuf>,
    },
    /// Create or verify signed manifests of directory trees.
    #[command(subcommand)]
    Manifest(ManifestCommand),
}

#[derive(Subcommand)]
enum ManifestCommand {
    /// Hash every file under DIR and write a signed manifest.
    Create {
        #[command(flatten)]
        keys: KeyArgs,
        /// Signature and digest algorithm.
        #[arg(long, default_value = "hmac-sha256")]
        algorithm: Algorithm,
        /// Write the manifest here (atomically) instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
        /// The tree's root.
        dir: PathBuf,
    },
    /// Check a manifest's signature, then report what differs under DIR.
    Verify {
        #[command(flatten)]
        keys: KeyArgs,
        /// The manifest to check against.
        #[arg(long)]
        manifest: PathBuf,
        /// The tree's root.
        dir: PathBuf,
    },
}

#[derive(Args)]
struct KeyArgs {
    /// Key file, as PATH (key id = file name without extension) or KID=PATH. Repeat to verify
    /// with older keys; when signing, the last one signs.
    #[arg(long = "key", required = true, value_name = "[KID=]PATH")]
    keys: Vec<String>,
}

impl KeyArgs {
    fn ring(&self, algorithm: Algorithm) -> Result<KeyRing, Error> {
        let mut ring = KeyRing::with_algorithm(algorithm);
        for spec in &self.keys {
            let (kid, path) = match spec.split_once('=') {
                Some((kid, path)) => (kid.to_owned(), PathBuf::from(path)),
                None => {
                    let path = PathBuf::from(spec);
                    let kid = path
                        .file_stem()
                        .and_then(|s| s.to_str())
                        .unwrap_or_default()
                        .to_owned();
                    (kid, path)
                }
            };
            ring.insert_signing_key(kid, SecretKey::from_file(&path)?)?;
        }
        Ok(ring)
    }
}

fn parse_range(text: &str) -> Result<(u64, u64), String> {
    let (start, end) = text.split_once('-').ok_or("expected START-END")?;
    let start = start
        .parse::<u64>()
        .map_err(|e| format!("bad start: {e}"))?;
    let end = end.parse::<u64>().map_err(|e| format!("bad end: {e}"))?;
    if start > end {
        return Err("START must not exceed END".into());
    }
    Ok((start, end))
}

/// What a command concluded, mapped onto the exit code.
enum Outcome {
    Verified,
    Mismatch,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(Outcome::Verified) => ExitCode::SUCCESS,
        Ok(Outcome::Mismatch) => ExitCode::from(1),
        Err(e) if e.is_mismatch() => {
            report_error(cli.json, &e);
            ExitCode::from(1)
        }
        Err(e) => {
            report_error(cli.json, &e);
            ExitCode::from(2)
        }
    }
}

fn report_error(as_json: bool, e: &Error) {
    if as_json {
        println!(
            "{}",
            json!({ "ok": false, "error": e.to_string(), "mismatch": e.is_mismatch() })
        );
    } else {
        eprintln!("strongroom-verify: {e}");
    }
}

fn run(cli: &Cli) -> Result<Outcome, Error> {
    match &cli.command {
        Command::Keygen { out } => keygen(out, cli.json),
        Command::Sign {
            keys,
            algorithm,
            chunk_map,
            chunk_size,
            files,
        } => {
            let ring = keys.ring(*algorithm)?;
            if let Some(map_path) = chunk_map {
                let [file] = files.as_slice() else {
                    return Err(usage("--chunk-map takes exactly one FILE"));
                };
                let map = ring.chunk_map_path(file, *chunk_size)?;
                write_atomically(map_path, map.to_json().as_bytes())?;
            }
            let mut results = Vec::new();
            for file in files {
                let signature = ring.sign_path(file)?;
                if cli.json {
                    results.push(json!({ "path": file, "signature": signature.to_string() }));
                } else {
                    println!("{signature}  {}", file.display());
                }
            }
            if cli.json {
                println!("{}", serde_json::Value::Array(results));
            }
            Ok(Outcome::Verified)
        }
        Command::Verify {
            keys,
            signature,
            check,
            chunk_map,
            range,
            file,
        } => {
            let ring = keys.ring(Algorithm::default())?;
            if let Some(map_path) = chunk_map {
                let file = file.as_ref().expect("clap requires FILE with --chunk-map");
                return verify_chunk_map(&ring, map_path, file, *range, cli.json);
            }
            let checks: Vec<(PathBuf, String)> = match (signature, check, file) {
                (Some(signature), None, Some(file)) => vec![(file.clone(), signature.clone())],
                (None, Some(list), None) => read_signature_list(list)?,
                _ => {
                    return Err(usage(
                        "give --signature SIG FILE, --check SIGFILE, or --chunk-map MAP FILE",
                    ));
                }
            };
            verify_files(&ring, &checks, cli.json)
        }
        Command::Manifest(ManifestCommand::Create {
            keys,
            algorithm,
            out,
            dir,
        }) => {
            let manifest = keys.ring(*algorithm)?.create_manifest(dir)?;
            let text = manifest.to_json();
            match out {
                Some(out) => write_atomically(out, text.as_bytes())?,
                None => println!("{text}"),
            }
            Ok(Outcome::Verified)
        }
        Command::Manifest(ManifestCommand::Verify {
            keys,
            manifest,
            dir,
        }) => {
            let text = std::fs::read_to_string(manifest).map_err(|e| io_error(manifest, e))?;
            let manifest = Manifest::from_json(&text)?;
            let report = keys
                .ring(manifest.algorithm())?
                .verify_manifest(&manifest, dir)?;
            if cli.json {
                println!("{}", json!({ "ok": report.is_clean(), "report": report }));
            } else {
                for path in &report.added {
                    println!("added      {path}");
                }
                for path in &report.removed {
                    println!("removed    {path}");
                }
                for m in &report.modified {
                    println!("modified   {}  ({:?})", m.path, m.change);
                }
                for u in &report.unreadable {
                    println!("unreadable {}  ({})", u.path, u.error);
                }
                let verdict = if report.is_clean() { "OK" } else { "DIFFERS" };
                println!("{verdict}: {} entries checked", report.checked);
            }
            Ok(if report.is_clean() {
                Outcome::Verified
            } else {
                Outcome::Mismatch
            })
        }
    }
}

fn keygen(out: &Path, as_json: bool) -> Result<Outcome, Error> {
    let key = SecretKey::generate()?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(out).map_err(|e| io_error(out, e))?;
    file.write_all(key.expose_hex().as_bytes())
        .and_then(|()| file.write_all(b"\n"))
        .and_then(|()| file.sync_all())
        .map_err(|e| io_error(out, e))?;
    let kid = out.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
    if as_json {
        println!("{}", json!({ "ok": true, "path": out, "kid": kid }));
    } else {
        eprintln!(
            "wrote a new 32-byte key to {} (key id `{kid}`)",
            out.display()
        );
    }
    Ok(Outcome::Verified)
}

fn read_signature_list(list: &Path) -> Result<Vec<(PathBuf, String)>, Error> {
    let text = std::fs::read_to_string(list).map_err(|e| io_error(list, e))?;
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .enumerate()
        .map(|(n, line)| match line.split_once("  ") {
            Some((signature, path)) => Ok((PathBuf::from(path), signature.to_owned())),
            None => Err(usage(&format!(
                "{}: line {} is not `SIGNATURE  PATH`",
                list.display(),
                n + 1
            ))),
        })
        .collect()
}

fn verify_files(
    ring: &KeyRing,
    checks: &[(PathBuf, String)],
    as_json: bool,
) -> Result<Outcome, Error> {
    let mut all_ok = true;
    let mut results = Vec::new();
    for (path, signature) in checks {
        let result = signature
            .parse::<Signature>()
            .and_then(|sig| ring.verify_path(path, &sig));
        let (ok, detail) = match &result {
            Ok(()) => (true, "OK".to_owned()),
            Err(e) if e.is_mismatch() => (false, "FAILED".to_owned()),
            Err(_) => return result.map(|()| Outcome::Verified),
        };
        all_ok &= ok;
        if as_json {
            results.push(json!({ "path": path, "ok": ok }));
        } else {
            println!("{}: {detail}", path.display());
        }
    }
    if as_json {
        println!("{}", json!({ "ok": all_ok, "files": results }));
    }
    Ok(if all_ok {
        Outcome::Verified
    } else {
        Outcome::Mismatch
    })
}

fn verify_chunk_map(
    ring: &KeyRing,
    map_path: &Path,
    file: &Path,
    range: Option<(u64, u64)>,
    as_json: bool,
) -> Result<Outcome, Error> {
    let text = std::fs::read_to_string(map_path).map_err(|e| io_error(map_path, e))?;
    let map = ChunkMap::from_json(&text)?;
    let reader = std::fs::File::open(file).map_err(|e| io_error(file, e))?;
    let result = match range {
        Some((start, end)) => ring.verify_range(&map, reader, start..end),
        None => ring.verify_chunks(&map, std::io::BufReader::new(reader)),
    };
    let bad_chunks = match result {
        Ok(()) => Vec::new(),
        Err(Error::ChunksMismatch { chunks }) => chunks,
        Err(e) => return Err(e),
    };
    let ok = bad_chunks.is_empty();
    if as_json {
        println!(
            "{}",
            json!({ "ok": ok, "path": file, "bad_chunks": bad_chunks, "chunk_size": map.chunk_size() })
        );
    } else if ok {
        println!("{}: OK", file.display());
    } else {
        println!(
            "{}: FAILED, chunks {bad_chunks:?} differ (chunk size {})",
            file.display(),
            map.chunk_size()
        );
    }
    Ok(if ok {
        Outcome::Verified
    } else {
        Outcome::Mismatch
    })
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename, so a
/// crash never leaves a half-written file under the final name.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| usage("output path has no file name"))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.write_all(b"\n")?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io_error(path, e)
    })
}

fn io_error(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: Some(path.to_owned()),
        source,
    }
}

fn usage(message: &str) -> Error {
    Error::Io {
        path: None,
        source: std::io::Error::new(std::io::ErrorKind::InvalidInput, message.to_owned()),
    }
}

//! Runs a policy test-cases file against a schema and policies (or the built-in pack).
//!
//! ```text
//! strongroom-policy-test --cases cases.json                      # the file-platform pack
//! strongroom-policy-test --schema app.cedarschema --policies policies/ --cases cases.json
//! ```
//! Exits 0 when every case passes, 1 when some fail, 2 on bad input.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use strongroom_access_policy::{DirPolicyStore, PolicyBundle, PolicyEngine, TestSuite, pack};

#[derive(Parser, Debug)]
#[command(about = "Run Cedar policy test cases (request -> expected decision)")]
struct Args {
    /// Cases file (JSON).
    #[arg(long)]
    cases: PathBuf,
    /// Cedar schema (human-readable syntax); omit to use the built-in file-platform pack.
    #[arg(long, requires = "policies")]
    schema: Option<PathBuf>,
    /// A directory of `.cedar` files (and optional links.json), or one `.cedar` file.
    #[arg(long, requires = "schema")]
    policies: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

fn load(args: &Args) -> Result<PolicyEngine, String> {
    let (Some(schema), Some(policies)) = (&args.schema, &args.policies) else {
        return pack::engine().map_err(|e| e.to_string());
    };
    let schema_text =
        std::fs::read_to_string(schema).map_err(|e| format!("{}: {e}", schema.display()))?;
    let schema = strongroom_access_policy::parse_schema(&schema_text).map_err(|e| e.to_string())?;
    let bundle = if policies.is_dir() {
        let store = DirPolicyStore::open(policies).map_err(|e| e.to_string())?;
        let snapshot = store.read_snapshot().map_err(|e| e.to_string())?;
        snapshot.to_bundle(schema).map_err(|e| e.to_string())?
    } else {
        let text = std::fs::read_to_string(policies)
            .map_err(|e| format!("{}: {e}", policies.display()))?;
        let mut b = PolicyBundle::new(schema);
        let stem = policies
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("policies");
        b.add_policies(stem, &text).map_err(|e| e.to_string())?;
        b
    };
    PolicyEngine::new(bundle).map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    let args = Args::parse();
    let engine = match load(&args) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let suite = match std::fs::read_to_string(&args.cases)
        .map_err(|e| format!("{}: {e}", args.cases.display()))
        .and_then(|t| TestSuite::from_json_str(&t).map_err(|e| e.to_string()))
    {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let report = engine.run_tests(&suite);
    if args.json {
        match serde_json::to_string_pretty(&report) {
            Ok(j) => println!("{j}"),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        }
    } else {
        print!("{report}");
    }
    if report.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

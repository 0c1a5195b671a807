//! `strongroom-postmortem`: create, render and lint incident postmortems.
//!
//! Exit codes: 0 success; 1 lint found errors (or warnings with `--deny-warnings`);
//! 2 bad command line; 65 invalid input (incident, audit export, alerts, notes, template);
//! 66 an input file could not be read; 73 an output file could not be written.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand, ValueEnum};
use strongroom_postmortem::jiff::{SignedDuration, Timestamp};
use strongroom_postmortem::{
    AlertmanagerSource, AuditSource, Clock, Error, Incident, Level, LintConfig, Linter,
    NotesSource, OutputFormat, Renderer, Section, Severity, SystemClock, Timeline, TimelineBuilder,
    incident_skeleton,
};

const EXIT_LINT: u8 = 1;
const EXIT_DATA: u8 = 65;
const EXIT_NO_INPUT: u8 = 66;
const EXIT_CANT_CREATE: u8 = 73;

#[derive(Parser)]
#[command(
    name = "strongroom-postmortem",
    version,
    about = "Incident postmortems from incident files, audit events and Alertmanager alerts"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write a new incident file to fill in.
    New {
        /// Incident id, e.g. INC-2025-031.
        #[arg(long)]
        id: String,
        /// One-line title.
        #[arg(long)]
        title: String,
        /// SEV1 (worst) .. SEV5.
        #[arg(long, default_value = "SEV3")]
        severity: String,
        /// When impact began (RFC 3339 with a zone); defaults to now.
        #[arg(long)]
        start: Option<String>,
        /// Where to write it (default: standard output).
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Overwrite an existing output file.
        #[arg(long)]
        force: bool,
    },
    /// Render a postmortem to Markdown or HTML.
    Render {
        #[command(flatten)]
        inputs: Inputs,
        /// A custom template file (minijinja); default: the built-in template.
        #[arg(short, long)]
        template: Option<PathBuf>,
        /// Output format.
        #[arg(short, long, value_enum, default_value_t = Format::Markdown)]
        format: Format,
        /// Fail on variables the template uses but the report lacks.
        #[arg(long)]
        strict: bool,
        /// Where to write it (default: standard output).
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Check a postmortem for missing sections, unowned action items and timeline gaps.
    Lint {
        #[command(flatten)]
        inputs: Inputs,
        /// Longest allowed silence in the timeline (e.g. 30m, 1h); `off` disables the check.
        #[arg(long, default_value = "30m")]
        max_gap: String,
        /// Required sections, comma separated (default: all).
        #[arg(long, value_delimiter = ',')]
        require: Option<Vec<String>>,
        /// Do not report action items without a due date.
        #[arg(long)]
        no_due_dates: bool,
        /// Exit with 1 on warnings too.
        #[arg(long)]
        deny_warnings: bool,
    },
}

#[derive(clap::Args)]
struct Inputs {
    /// The incident file (YAML, or JSON when it ends in .json).
    incident: PathBuf,
    /// Audit export (JSON lines); repeatable.
    #[arg(long)]
    audit: Vec<PathBuf>,
    /// Saved Alertmanager webhook payloads (JSON); repeatable.
    #[arg(long)]
    alerts: Vec<PathBuf>,
    /// Notes, one `TIMESTAMP text` per line; repeatable.
    #[arg(long)]
    notes: Vec<PathBuf>,
    /// Keep entries from this long before the start (e.g. 1h).
    #[arg(long, default_value = "1h")]
    before: String,
    /// Keep entries until this long after the resolution (e.g. 1h).
    #[arg(long, default_value = "1h")]
    after: String,
    /// Keep entries of these services instead of the incident's; repeatable.
    #[arg(long)]
    service: Vec<String>,
    /// Show every audit event instead of collapsing runs of similar ones.
    #[arg(long)]
    no_collapse: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Markdown,
    Html,
}

/// A failure with the exit code it maps to.
struct Failure {
    code: u8,
    message: String,
}

impl From<Error> for Failure {
    fn from(err: Error) -> Self {
        let code = match &err {
            Error::Io { .. } => EXIT_NO_INPUT,
            _ => EXIT_DATA,
        };
        Failure {
            code,
            message: err.to_string(),
        }
    }
}

fn usage(message: String) -> Failure {
    Failure { code: 2, message }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command, Arc::new(SystemClock)) {
        Ok(code) => ExitCode::from(code),
        Err(failure) => {
            eprintln!("strongroom-postmortem: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

fn run(command: Command, clock: Arc<dyn Clock>) -> Result<u8, Failure> {
    match command {
        Command::New {
            id,
            title,
            severity,
            start,
            output,
            force,
        } => {
            let severity = severity
                .parse::<Severity>()
                .map_err(|e| usage(format!("--severity: {e}")))?;
            let start = match start {
                Some(text) => text.parse::<Timestamp>().map_err(|e| {
                    usage(format!(
                        "--start `{text}` must be RFC 3339 with a zone: {e}"
                    ))
                })?,
                None => clock.now(),
            };
            let text = incident_skeleton(&id, &title, severity, start)?;
            write_output(output.as_deref(), &text, force)?;
            Ok(0)
        }
        Command::Render {
            inputs,
            template,
            format,
            strict,
            output,
        } => {
            let (incident, timeline) = load(&inputs)?;
            let renderer = match template {
                Some(path) => Renderer::from_template_file(path)?,
                None => Renderer::new(),
            };
            let format = match format {
                Format::Markdown => OutputFormat::Markdown,
                Format::Html => OutputFormat::Html,
            };
            let text = renderer
                .strict(strict)
                .with_clock(clock)
                .render(&incident, &timeline, format)?;
            write_output(output.as_deref(), &text, true)?;
            Ok(0)
        }
        Command::Lint {
            inputs,
            max_gap,
            require,
            no_due_dates,
            deny_warnings,
        } => {
            let (incident, timeline) = load(&inputs)?;
            let mut config = LintConfig::default();
            config.max_timeline_gap = if max_gap.eq_ignore_ascii_case("off") {
                None
            } else {
                Some(duration("--max-gap", &max_gap)?)
            };
            if let Some(sections) = require {
                config.required_sections = sections
                    .iter()
                    .filter(|s| !s.trim().is_empty())
                    .map(|s| s.parse::<Section>().map_err(|e| usage(e.to_string())))
                    .collect::<Result<_, _>>()?;
            }
            config.require_due_dates = !no_due_dates;
            let findings = Linter::new(config)
                .with_clock(clock)
                .lint(&incident, &timeline);
            let origin = inputs.incident.display();
            for finding in &findings {
                match finding.line {
                    Some(line) => println!(
                        "{origin}:{line}: {}[{}]: {}",
                        finding.level, finding.rule, finding.message
                    ),
                    None => println!(
                        "{origin}: {}[{}]: {}",
                        finding.level, finding.rule, finding.message
                    ),
                }
            }
            let errors = findings.iter().filter(|f| f.level == Level::Error).count();
            let warnings = findings.len() - errors;
            eprintln!("{errors} error(s), {warnings} warning(s)");
            let failed = errors > 0 || (deny_warnings && warnings > 0);
            Ok(if failed { EXIT_LINT } else { 0 })
        }
    }
}

fn duration(flag: &str, text: &str) -> Result<SignedDuration, Failure> {
    text.trim().parse::<SignedDuration>().map_err(|e| {
        usage(format!(
            "{flag} `{text}` is not a duration (e.g. 30m, 1h 30m): {e}"
        ))
    })
}

fn load(inputs: &Inputs) -> Result<(Incident, Timeline), Failure> {
    let incident = Incident::from_path(&inputs.incident)?;
    let mut builder = TimelineBuilder::new(&incident)
        .window(
            duration("--before", &inputs.before)?,
            duration("--after", &inputs.after)?,
        )
        .collapse_runs(!inputs.no_collapse);
    if !inputs.service.is_empty() {
        builder = builder.services(inputs.service.clone());
    }
    for path in &inputs.audit {
        builder = builder.source(AuditSource::from_path(path)?);
    }
    for path in &inputs.alerts {
        builder = builder.source(AlertmanagerSource::from_path(path)?);
    }
    for path in &inputs.notes {
        builder = builder.source(NotesSource::from_path(path)?);
    }
    let timeline = builder.build()?;
    Ok((incident, timeline))
}

fn write_output(path: Option<&Path>, text: &str, overwrite: bool) -> Result<(), Failure> {
    let cant_create = |path: &Path, e: std::io::Error| Failure {
        code: EXIT_CANT_CREATE,
        message: format!("{}: {e}", path.display()),
    };
    match path {
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())
                .and_then(|()| out.flush())
                .map_err(|e| cant_create(Path::new("<stdout>"), e))
        }
        Some(path) => {
            let mut options = std::fs::OpenOptions::new();
            options.write(true);
            if overwrite {
                options.create(true).truncate(true);
            } else {
                options.create_new(true);
            }
            let mut file = options.open(path).map_err(|e| cant_create(path, e))?;
            file.write_all(text.as_bytes())
                .map_err(|e| cant_create(path, e))
        }
    }
}

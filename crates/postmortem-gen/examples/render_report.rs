//! End to end: a sample incident, an audit export and saved Alertmanager payloads become a
//! postmortem.
//!
//! ```sh
//! cargo run -p strongroom-postmortem --example render_report            # Markdown
//! cargo run -p strongroom-postmortem --example render_report -- html    # HTML
//! ```

use std::path::Path;
use std::process::ExitCode;

use strongroom_postmortem::{
    AlertmanagerSource, AuditSource, Incident, Linter, NotesSource, OutputFormat, Renderer,
    TimelineBuilder,
};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("render_report: {err}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> strongroom_postmortem::Result<()> {
    let format = match std::env::args().nth(1) {
        Some(arg) => arg.parse::<OutputFormat>()?,
        None => OutputFormat::Markdown,
    };
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");

    let incident = Incident::from_path(fixtures.join("incident.yaml"))?;
    let timeline = TimelineBuilder::new(&incident)
        .source(AuditSource::from_path(fixtures.join("audit.jsonl"))?)
        .source(AlertmanagerSource::from_path(fixtures.join("alerts.json"))?)
        .source(NotesSource::from_path(fixtures.join("notes.txt"))?)
        .build()?;

    let report = Renderer::new()
        .strict(true)
        .render(&incident, &timeline, format)?;
    print!("{report}");

    for finding in Linter::default().lint(&incident, &timeline) {
        eprintln!("lint: {finding}");
    }
    Ok(())
}

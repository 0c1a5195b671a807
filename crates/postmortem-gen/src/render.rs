//! Rendering a report through a minijinja template, to Markdown or HTML.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use minijinja::syntax::SyntaxConfig;
use minijinja::value::{Serde, ValueKind};
use minijinja::{AutoEscape, Environment, ErrorKind, UndefinedBehavior, Value};
use serde::Serialize;

use crate::clock::{Clock, SystemClock};
use crate::error::{Error, Result, TemplateErrorKind, UnknownVariable};
use crate::html;
use crate::incident::Incident;
use crate::time::human_duration;
use crate::timeline::{Timeline, TimelineEntry, Window};

/// The default template, in the Google SRE book's postmortem shape (also shipped as
/// `docs/postmortem.md`).
pub const DEFAULT_TEMPLATE: &str = include_str!("../templates/postmortem.md");

const DEFAULT_TEMPLATE_NAME: &str = "postmortem.md";

/// What to render to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum OutputFormat {
    /// The template's Markdown output as is.
    #[default]
    Markdown,
    /// A standalone HTML page made from the Markdown, with raw HTML and unsafe link targets
    /// neutralised.
    Html,
}

impl std::str::FromStr for OutputFormat {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        match text.to_ascii_lowercase().as_str() {
            "md" | "markdown" => Ok(OutputFormat::Markdown),
            "html" | "htm" => Ok(OutputFormat::Html),
            other => Err(Error::InvalidArgument(format!(
                "unknown output format `{other}` (expected `markdown` or `html`)"
            ))),
        }
    }
}

/// Renders postmortems through a template.
///
/// The template sees these variables (the README documents each field):
/// `incident` (the [`Incident`]), `timeline` (the [`TimelineEntry`] list), `metrics` (durations
/// as text, e.g. `7m 30s`, and as `*_seconds`, affected users and resources), `window`,
/// `generated_at` and `format` (`markdown` or `html`). Filters: `cell` (escape for a Markdown
/// table cell), `timefmt(fmt)` (strftime on a timestamp, UTC) and `duration` (seconds to
/// `1h 05m`).
///
/// In strict mode, every variable and attribute the template mentions must exist: it is
/// checked before rendering (so typos in branches that do not run are caught too) and during
/// it.
#[derive(Debug)]
pub struct Renderer {
    env: Environment<'static>,
    name: String,
    strict: bool,
    clock: Arc<dyn Clock>,
}

impl Default for Renderer {
    fn default() -> Self {
        Self::new()
    }
}

impl Renderer {
    /// A renderer using [`DEFAULT_TEMPLATE`].
    pub fn new() -> Self {
        // The embedded template is a constant covered by this crate's tests.
        #[allow(clippy::expect_used, reason = "constant input, tested")]
        Self::from_template_str(DEFAULT_TEMPLATE_NAME, DEFAULT_TEMPLATE)
            .expect("the embedded template compiles")
    }

    /// A renderer using `source`; `name` appears in errors. Syntax errors are reported here,
    /// with their line.
    pub fn from_template_str(name: &str, source: &str) -> Result<Self> {
        let mut env = base_environment(name)?;
        env.add_template_owned(name.to_owned(), source.to_owned())
            .map_err(|e| template_error(&e, name))?;
        Ok(Self {
            env,
            name: name.to_owned(),
            strict: false,
            clock: Arc::new(SystemClock),
        })
    }

    /// A renderer using the template in a file. The template may `include`, `import` or
    /// `extend` other templates by paths relative to its own directory (names starting with
    /// `.` are refused, so nothing outside that directory is reachable).
    pub fn from_template_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let source = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let mut renderer = Self::from_template_str(&path.display().to_string(), &source)?;
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        };
        renderer.env.set_loader(minijinja::path_loader(dir));
        Ok(renderer)
    }

    /// Turns strict mode on or off (off by default): unknown variables become errors instead
    /// of empty text.
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self.env.set_undefined_behavior(if strict {
            UndefinedBehavior::Strict
        } else {
            UndefinedBehavior::Lenient
        });
        self
    }

    /// Uses `clock` for `generated_at`.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Renders the report for `incident` and its `timeline`.
    pub fn render(
        &self,
        incident: &Incident,
        timeline: &Timeline,
        format: OutputFormat,
    ) -> Result<String> {
        let context = Value::from(Serde(&Context::new(
            incident,
            timeline,
            self.clock.now(),
            format,
        )));
        let template = self
            .env
            .get_template(&self.name)
            .map_err(|e| template_error(&e, &self.name))?;
        if self.strict {
            self.check_variables(&template, &context)?;
        }
        let markdown = template
            .render(&context)
            .map_err(|e| template_error(&e, &self.name))?;
        Ok(match format {
            OutputFormat::Markdown => markdown,
            OutputFormat::Html => html::document(
                &format!("Postmortem: {} ({})", incident.title, incident.id),
                &markdown,
            ),
        })
    }

    /// Statically finds names and attribute paths the template mentions that the context
    /// lacks. Only attribute lookups on maps are judged: a list, string or none value ends
    /// the walk (its contents depend on data, not on the template).
    fn check_variables(
        &self,
        template: &minijinja::Template<'_, '_>,
        context: &Value,
    ) -> Result<()> {
        let globals: HashSet<String> = self.env.globals().map(|(n, _)| n.to_owned()).collect();
        let source = template.source();
        let mut unknown: Vec<UnknownVariable> = Vec::new();
        let mut paths: Vec<String> = template.undeclared_variables(true).into_iter().collect();
        paths.sort();
        for path in paths {
            let mut parts = path.split('.');
            let Some(root) = parts.next() else { continue };
            if globals.contains(root) {
                continue;
            }
            let mut value = context.get_attr(root).unwrap_or_default();
            let mut seen = root.to_owned();
            let mut missing = value.is_undefined();
            for part in parts {
                if missing || value.kind() != ValueKind::Map {
                    break;
                }
                seen = format!("{seen}.{part}");
                value = value.get_attr(part).unwrap_or_default();
                missing = value.is_undefined();
            }
            if missing && !unknown.iter().any(|u| u.name == seen) {
                unknown.push(UnknownVariable {
                    line: first_line_of(source, &seen),
                    name: seen,
                });
            }
        }
        if unknown.is_empty() {
            Ok(())
        } else {
            unknown.sort_by_key(|u| (u.line, u.name.clone()));
            Err(Error::UnknownVariables {
                template: self.name.clone(),
                variables: unknown,
            })
        }
    }
}

fn base_environment(name: &str) -> Result<Environment<'static>> {
    let mut env = Environment::new();
    // The output is Markdown; HTML escaping happens when (and only when) it becomes HTML.
    env.set_auto_escape_callback(|_| AutoEscape::None);
    // Block tags on their own lines leave no blank lines behind, as in Jinja2 with both
    // options: templates stay readable without `{%-` everywhere.
    let syntax = SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .keep_trailing_newline(true)
        .build()
        .map_err(|e| template_error(&e, name))?;
    env.set_syntax(syntax);
    env.add_filter("cell", cell);
    env.add_filter("timefmt", timefmt);
    env.add_filter("duration", duration);
    Ok(env)
}

/// Makes text safe inside a Markdown table cell: no line breaks, escaped pipes.
fn cell(value: Value) -> String {
    let text = if value.is_none() || value.is_undefined() {
        String::new()
    } else {
        value.to_string()
    };
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

fn timefmt(value: &str, format: Option<&str>) -> std::result::Result<String, minijinja::Error> {
    let invalid = |detail: String| minijinja::Error::new(ErrorKind::InvalidOperation, detail);
    let ts: Timestamp = value
        .parse()
        .map_err(|e| invalid(format!("timefmt: `{value}` is not a timestamp: {e}")))?;
    let format = format.unwrap_or("%Y-%m-%d %H:%M:%S UTC");
    jiff::fmt::strtime::format(format, ts)
        .map_err(|e| invalid(format!("timefmt: bad format `{format}`: {e}")))
}

fn duration(seconds: i64) -> String {
    human_duration(SignedDuration::from_secs(seconds))
}

fn template_error(err: &minijinja::Error, fallback: &str) -> Error {
    let kind = match err.kind() {
        ErrorKind::SyntaxError => TemplateErrorKind::Syntax,
        ErrorKind::UndefinedError => TemplateErrorKind::UndefinedVariable,
        _ => TemplateErrorKind::Render,
    };
    let culprit = err
        .range()
        .zip(err.template_source())
        .and_then(|(range, source)| source.get(range))
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let detail = err.detail().map(str::to_owned);
    let message = match (kind, culprit, detail) {
        (TemplateErrorKind::UndefinedVariable, Some(culprit), _) => {
            format!("`{culprit}` is not defined")
        }
        (_, Some(culprit), Some(detail)) => format!("{detail} (in `{culprit}`)"),
        (_, _, Some(detail)) => detail,
        (_, _, None) => err.kind().to_string(),
    };
    Error::Template {
        template: err.name().unwrap_or(fallback).to_owned(),
        line: err.line(),
        kind,
        message,
    }
}

/// The first line mentioning `name` as a whole dotted word.
fn first_line_of(source: &str, name: &str) -> Option<usize> {
    let is_word = |c: char| c.is_alphanumeric() || c == '_' || c == '.';
    source
        .lines()
        .position(|line| {
            line.match_indices(name).any(|(at, _)| {
                let before = line[..at].chars().next_back();
                let after = line[at + name.len()..].chars().next();
                !before.is_some_and(is_word) && !after.is_some_and(|c| is_word(c) && c != '.')
            })
        })
        .map(|i| i + 1)
}

#[derive(Serialize)]
struct Context<'a> {
    incident: &'a Incident,
    timeline: &'a [TimelineEntry],
    metrics: MetricsView,
    window: &'a Window,
    generated_at: Timestamp,
    format: &'static str,
}

#[derive(Serialize)]
struct MetricsView {
    detected: Option<Timestamp>,
    detected_inferred: bool,
    time_to_detect: Option<String>,
    time_to_detect_seconds: Option<i64>,
    time_to_acknowledge: Option<String>,
    time_to_acknowledge_seconds: Option<i64>,
    time_to_mitigate: Option<String>,
    time_to_mitigate_seconds: Option<i64>,
    time_to_resolve: Option<String>,
    time_to_resolve_seconds: Option<i64>,
    affected_users: usize,
    affected_resources: usize,
    audit_events: usize,
    alerts_fired: usize,
}

impl<'a> Context<'a> {
    fn new(
        incident: &'a Incident,
        timeline: &'a Timeline,
        now: Timestamp,
        format: OutputFormat,
    ) -> Self {
        let m = &timeline.metrics;
        let text = |d: Option<SignedDuration>| d.map(human_duration);
        let secs = |d: Option<SignedDuration>| d.map(|d| d.as_secs());
        Self {
            incident,
            timeline: &timeline.entries,
            metrics: MetricsView {
                detected: m.detected,
                detected_inferred: m.detected_inferred,
                time_to_detect: text(m.time_to_detect),
                time_to_detect_seconds: secs(m.time_to_detect),
                time_to_acknowledge: text(m.time_to_acknowledge),
                time_to_acknowledge_seconds: secs(m.time_to_acknowledge),
                time_to_mitigate: text(m.time_to_mitigate),
                time_to_mitigate_seconds: secs(m.time_to_mitigate),
                time_to_resolve: text(m.time_to_resolve),
                time_to_resolve_seconds: secs(m.time_to_resolve),
                affected_users: m.affected_users,
                affected_resources: m.affected_resources,
                audit_events: m.audit_events,
                alerts_fired: m.alerts_fired,
            },
            window: &timeline.window,
            generated_at: now,
            format: match format {
                OutputFormat::Markdown => "markdown",
                OutputFormat::Html => "html",
            },
        }
    }
}

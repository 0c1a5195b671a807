//! The crate's single error type.

use std::fmt;
use std::path::PathBuf;

/// Everything that can go wrong while reading inputs, building a timeline or rendering a report.
///
/// Each variant carries what a caller needs to point a person at the problem: the input it came
/// from (`origin`: a file path or a label such as `<incident>`) and, where the format allows, a
/// 1-based line number.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An input could not be parsed at all: malformed YAML or JSON, a missing required field, a
    /// value of the wrong type or an unknown field.
    #[error("{origin}{}: malformed {format}: {message}", fmt_line(*line, *column))]
    Malformed {
        /// Where the input came from (a path or a label).
        origin: String,
        /// The format the input was read as.
        format: InputFormat,
        /// 1-based line of the problem, when the parser reported one.
        line: Option<u64>,
        /// 1-based column of the problem, when the parser reported one.
        column: Option<u64>,
        /// What the parser said.
        message: String,
    },

    /// The incident parsed but breaks the model's rules (timestamps without a zone, times out of
    /// order, empty required text). Every problem found is listed, not just the first.
    #[error("{origin}: invalid incident:{}", fmt_problems(problems))]
    InvalidIncident {
        /// Where the incident came from.
        origin: String,
        /// The problems, in document order.
        problems: Vec<Problem>,
    },

    /// A template failed to parse or to render.
    #[error("template {template}{}: {kind}: {message}", line.map(|l| format!(" line {l}")).unwrap_or_default())]
    Template {
        /// The template's name (its path for templates loaded from a file).
        template: String,
        /// 1-based line in the template, when known.
        line: Option<usize>,
        /// What kind of failure it was.
        kind: TemplateErrorKind,
        /// A description of the failure.
        message: String,
    },

    /// Strict mode found variables the template uses but the report does not provide.
    #[error(
        "template {template} uses unknown variables: {}",
        fmt_unknown(variables)
    )]
    UnknownVariables {
        /// The template's name.
        template: String,
        /// The unknown names, each with the first line that mentions it.
        variables: Vec<UnknownVariable>,
    },

    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },

    /// An argument passed to the API is out of range (for example a negative window).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The format an input was read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InputFormat {
    /// YAML 1.2.
    Yaml,
    /// JSON (one document).
    Json,
    /// JSON lines: one JSON document per line.
    JsonLines,
    /// Plain text notes, one `TIMESTAMP text` per line.
    Text,
}

impl fmt::Display for InputFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            InputFormat::Yaml => "YAML",
            InputFormat::Json => "JSON",
            InputFormat::JsonLines => "JSON lines",
            InputFormat::Text => "text",
        })
    }
}

/// One rule an incident breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Problem {
    /// Dotted path of the field, e.g. `resolved` or `action_items[2].due`.
    pub field: String,
    /// 1-based line of the value in the source, when known.
    pub line: Option<u64>,
    /// 1-based column of the value in the source, when known.
    pub column: Option<u64>,
    /// What is wrong, for programs.
    pub kind: ProblemKind,
    /// What is wrong, for people.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}: {}", self.field, self.message),
            None => write!(f, "{}: {}", self.field, self.message),
        }
    }
}

/// The kinds of [`Problem`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProblemKind {
    /// A timestamp has a date and time but no zone or offset (`Z`, `+01:00`): its instant is
    /// ambiguous, so it is refused rather than guessed.
    MissingZone,
    /// A timestamp or date that is not RFC 3339 / ISO 8601 at all.
    InvalidTime,
    /// A time that must not precede another does (e.g. `resolved` before `start`).
    OutOfOrder,
    /// A required text field is empty.
    Empty,
    /// A value outside its allowed set (severity, status, priority ...).
    InvalidValue,
}

/// The kinds of template failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TemplateErrorKind {
    /// The template's syntax is wrong.
    Syntax,
    /// Strict mode: the template used a variable or attribute that is not defined.
    UndefinedVariable,
    /// Any other failure while rendering (bad filter argument, type error ...).
    Render,
}

impl fmt::Display for TemplateErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TemplateErrorKind::Syntax => "syntax error",
            TemplateErrorKind::UndefinedVariable => "undefined variable",
            TemplateErrorKind::Render => "render error",
        })
    }
}

/// A variable a template uses that the report does not define.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnknownVariable {
    /// The variable's name.
    pub name: String,
    /// First line of the template that mentions it, when found.
    pub line: Option<usize>,
}

fn fmt_line(line: Option<u64>, column: Option<u64>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(":{l}:{c}"),
        (Some(l), None) => format!(":{l}"),
        _ => String::new(),
    }
}

fn fmt_problems(problems: &[Problem]) -> String {
    problems.iter().map(|p| format!("\n  {p}")).collect()
}

fn fmt_unknown(vars: &[UnknownVariable]) -> String {
    vars.iter()
        .map(|v| match v.line {
            Some(l) => format!("`{}` (line {l})", v.name),
            None => format!("`{}`", v.name),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

//! Parsers and the renderer never panic, whatever the input: random text and random edits of
//! the valid fixtures either parse or return an error.

use proptest::prelude::*;
use strongroom_postmortem::{
    AlertmanagerSource, AuditSource, Incident, NotesSource, OutputFormat, Renderer, TimelineBuilder,
};

const INCIDENT: &str = include_str!("fixtures/incident.yaml");
const AUDIT: &str = include_str!("fixtures/audit.jsonl");
const ALERTS: &str = include_str!("fixtures/alerts.json");
const NOTES: &str = include_str!("fixtures/notes.txt");

/// `text` with the byte range at `at` (scaled to its length) replaced by `insert`.
fn mutate(text: &str, at: f64, len: usize, insert: &str) -> String {
    let mut start = ((text.len() as f64) * at) as usize;
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = (start + len).min(text.len());
    while !text.is_char_boundary(end) {
        end += 1;
    }
    format!("{}{}{}", &text[..start], insert, &text[end..])
}

fn render_all(incident: &Incident) {
    if let Ok(timeline) = TimelineBuilder::new(incident).build() {
        for format in [OutputFormat::Markdown, OutputFormat::Html] {
            Renderer::new()
                .strict(true)
                .render(incident, &timeline, format)
                .unwrap();
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_text_never_panics(text in "\\PC{0,200}") {
        let _ = Incident::from_yaml_str(&text);
        let _ = Incident::from_json_str(&text);
        let _ = AuditSource::from_json_lines(&text, "x");
        let _ = AlertmanagerSource::from_json(&text, "x");
        let _ = NotesSource::from_text(&text, "x");
        let _ = Renderer::from_template_str("t", &text);
    }

    #[test]
    fn edited_incidents_parse_or_fail_cleanly_and_always_render(
        at in 0.0..1.0f64, len in 0usize..12, insert in "[ :\\-\\[\\]{}'\"#|\\n0-9a-zA-Z<>&]{0,8}"
    ) {
        if let Ok(incident) = Incident::from_yaml_str(&mutate(INCIDENT, at, len, &insert)) {
            render_all(&incident);
        }
    }

    #[test]
    fn edited_sources_parse_or_fail_cleanly(
        at in 0.0..1.0f64, len in 0usize..12, insert in "[ :,\\[\\]{}\"\\n0-9a-zZT+\\-.]{0,8}"
    ) {
        let _ = AuditSource::from_json_lines(&mutate(AUDIT, at, len, &insert), "audit");
        let _ = AlertmanagerSource::from_json(&mutate(ALERTS, at, len, &insert), "alerts");
        let _ = NotesSource::from_text(&mutate(NOTES, at, len, &insert), "notes");
    }
}

#[test]
fn hostile_text_cannot_inject_html() {
    let text = INCIDENT
        .replace(
            "title: EU file downloads failed after a bucket policy push",
            "title: \"<script>alert('t')</script>\"",
        )
        .replace(
            "summary: |\n",
            "summary: |\n  [click](javascript:alert(1)) <img src=x onerror=alert(2)>\n",
        )
        .replace("owners: [alice, bob]", "owners: ['<b onmouseover=x>', bob]");
    let incident = Incident::from_yaml_str(&text).unwrap();
    let timeline = TimelineBuilder::new(&incident).build().unwrap();
    let html = Renderer::new()
        .render(&incident, &timeline, OutputFormat::Html)
        .unwrap();
    assert!(!html.contains("<script"), "{html}");
    assert!(!html.contains("<img"), "{html}");
    assert!(!html.contains("<b "), "{html}");
    assert!(!html.contains("javascript:"), "{html}");
    assert!(
        html.contains("&lt;script&gt;alert(&#39;t&#39;)&lt;/script&gt;")
            || html.contains("&lt;script&gt;alert('t')&lt;/script&gt;"),
        "{html}"
    );
}

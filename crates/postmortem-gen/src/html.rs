//! Markdown to a standalone, safe HTML page.
//!
//! Incident text is written by people and pasted from chats, so the HTML must not execute any
//! of it: raw HTML in the Markdown is shown as text, and links or images whose scheme is not
//! `http`, `https` or `mailto` (or relative) lose their target.

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag};

/// Converts Markdown to an HTML fragment, neutralising raw HTML and unsafe URLs.
pub(crate) fn markdown_to_html(markdown: &str) -> String {
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_FOOTNOTES;
    let events = Parser::new_ext(markdown, options).map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Link {
            link_type,
            dest_url: safe_url(dest_url),
            title,
            id,
        }),
        Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Image {
            link_type,
            dest_url: safe_url(dest_url),
            title,
            id,
        }),
        other => other,
    });
    let mut html = String::with_capacity(markdown.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, events);
    html
}

/// A complete HTML document around the fragment rendered from `markdown`.
pub(crate) fn document(title: &str, markdown: &str) -> String {
    let body = markdown_to_html(markdown);
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n{body}</main>\n</body>\n</html>\n",
        escape_html(title)
    )
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;line-height:1.5;margin:0;padding:2rem;color:#1f2328}\
main{max-width:60rem;margin:auto}table{border-collapse:collapse;width:100%}\
th,td{border:1px solid #d0d7de;padding:.3rem .6rem;text-align:left;vertical-align:top}\
th{background:#f6f8fa}code{background:#f6f8fa;padding:0 .2rem}";

pub(crate) fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn safe_url(url: CowStr<'_>) -> CowStr<'_> {
    if is_safe_url(&url) {
        url
    } else {
        CowStr::Borrowed("#")
    }
}

/// Browsers ignore ASCII whitespace and control characters inside a scheme
/// (`java\tscript:` runs), so they are dropped before the scheme is read.
fn is_safe_url(url: &str) -> bool {
    let cleaned: String = url
        .chars()
        .filter(|c| !c.is_ascii_whitespace() && !c.is_ascii_control())
        .collect();
    let scheme_end = cleaned.find(':');
    let path_start = cleaned.find(['/', '?', '#']);
    match (scheme_end, path_start) {
        // A colon after the first `/`, `?` or `#` is part of a relative URL's path or query.
        (Some(colon), Some(path)) if path < colon => true,
        (Some(colon), _) => {
            let scheme = cleaned[..colon].to_ascii_lowercase();
            matches!(scheme.as_str(), "http" | "https" | "mailto")
        }
        (None, _) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_html_is_shown_not_run() {
        let html = markdown_to_html(
            "Hello <script>alert(1)</script> **there**\n\n<img src=x onerror=alert(1)>\n",
        );
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(html.contains("<strong>there</strong>"), "{html}");
    }

    #[test]
    fn unsafe_link_targets_are_dropped() {
        for bad in [
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            "java\tscript:alert(1)",
            "data:text/html;base64,PHNjcmlwdD4=",
            "vbscript:msgbox",
        ] {
            let html = markdown_to_html(&format!("[x](<{bad}>) ![i](<{bad}>)"));
            assert!(!html.to_lowercase().contains("script:"), "{bad}: {html}");
            assert!(!html.contains("data:"), "{bad}: {html}");
        }
        for good in [
            "https://example.com/a?b=c:d",
            "http://x",
            "mailto:ops@example.com",
            "/runbooks/x",
            "#timeline",
            "runbook.md",
            "a/b:c",
        ] {
            assert!(is_safe_url(good), "{good}");
        }
    }

    #[test]
    fn documents_escape_their_title() {
        let doc = document("<b>\"x\" & y</b>", "# T\n");
        assert!(doc.contains("<title>&lt;b&gt;&quot;x&quot; &amp; y&lt;/b&gt;</title>"));
        assert!(doc.contains("<h1>T</h1>"));
    }
}

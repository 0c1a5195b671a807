//! Validation of names, emails and passwords: what users type.

use crate::error::{Error, Result};

/// Longest file or folder name, in bytes (most filesystems' limit).
pub const MAX_NAME_BYTES: usize = 255;

/// A file or folder name: 1 to 255 bytes, no control characters, no `/` or `\`, not `.`/`..`,
/// no leading or trailing spaces.
pub fn file_name(name: &str) -> Result<String> {
    let bad = |why: &str| Err(Error::Invalid(format!("invalid name: {why}")));
    if name.is_empty() {
        return bad("empty");
    }
    if name.len() > MAX_NAME_BYTES {
        return bad("longer than 255 bytes");
    }
    if name.chars().any(char::is_control) {
        return bad("control characters are not allowed");
    }
    if name.contains('/') || name.contains('\\') {
        return bad("slashes are not allowed");
    }
    if name == "." || name == ".." {
        return bad("`.` and `..` are reserved");
    }
    if name.trim() != name {
        return bad("leading or trailing spaces");
    }
    Ok(name.to_owned())
}

/// An email address: lower-cased, one `@`, a dot in the domain, at most 254 bytes.
pub fn email(email: &str) -> Result<String> {
    let e = email.trim().to_lowercase();
    let bad = || Err(Error::Invalid(format!("invalid email address: {email:?}")));
    if e.len() > 254 || e.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return bad();
    }
    let Some((local, domain)) = e.split_once('@') else {
        return bad();
    };
    if local.is_empty()
        || domain.contains('@')
        || !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
        || domain.contains("..")
    {
        return bad();
    }
    Ok(e)
}

/// A display name: 1 to 100 characters, no control characters.
pub fn display_name(name: &str) -> Result<String> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > 100 || n.chars().any(char::is_control) {
        return Err(Error::Invalid(
            "invalid name: 1 to 100 characters, no control characters".into(),
        ));
    }
    Ok(n.to_owned())
}

/// A password: 12 to 1024 bytes (NIST SP 800-63B's length-over-composition advice).
pub fn password(password: &str) -> Result<()> {
    if password.len() < 12 {
        return Err(Error::Invalid(
            "password must be at least 12 characters".into(),
        ));
    }
    if password.len() > 1024 {
        return Err(Error::Invalid("password must be at most 1024 bytes".into()));
    }
    Ok(())
}

/// An id from a URL: a UUID, or 404 (never a database error for junk).
pub fn id(text: &str) -> Result<String> {
    uuid::Uuid::parse_str(text)
        .map(|u| u.to_string())
        .map_err(|_| Error::NotFound("no such item".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(file_name("report 2026.pdf").is_ok());
        assert!(file_name("ünïcødé ✓.txt").is_ok());
        for bad in [
            "",
            ".",
            "..",
            "a/b",
            "..\\x",
            "a\u{0}b",
            "a\nb",
            " lead",
            &"x".repeat(256),
        ] {
            assert!(matches!(file_name(bad), Err(Error::Invalid(_))), "{bad:?}");
        }
    }

    #[test]
    fn emails() {
        assert_eq!(email(" Ann@Example.COM ").unwrap(), "ann@example.com");
        for bad in [
            "ann",
            "@x.com",
            "a@b",
            "a@@b.com",
            "a b@c.com",
            "a@.com",
            "a@x..com",
        ] {
            assert!(email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn passwords_and_ids() {
        assert!(password("short").is_err());
        assert!(password("correct horse battery").is_ok());
        assert!(password(&"x".repeat(2000)).is_err());
        assert!(matches!(id("../../etc/passwd"), Err(Error::NotFound(_))));
        assert!(id("0190f5c2-7a5e-7cc4-8a53-6a1f0d1b2c3d").is_ok());
    }
}

//! Canonical JSON (RFC 8785 for the values this crate hashes) and SHA-256 helpers.
//!
//! Hashes must not depend on map ordering, so keys are sorted here explicitly rather than
//! relying on `serde_json`'s map type (which another crate in the build may switch to
//! insertion order through the `preserve_order` feature).

use crate::error::{Error, Result};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Serialize `value` as canonical JSON: keys sorted by UTF-16 code units, no whitespace.
/// Non-integer numbers are refused: their textual form is not stable across implementations.
pub(crate) fn to_canonical_json<T: Serialize + ?Sized>(value: &T) -> Result<String> {
    let value = serde_json::to_value(value).map_err(|e| Error::Corrupt {
        reason: format!("value is not representable as JSON: {e}"),
    })?;
    let mut out = String::new();
    write_value(&value, &mut out)?;
    Ok(out)
}

fn write_value(value: &Value, out: &mut String) -> Result<()> {
    match value {
        Value::Null | Value::Bool(_) | Value::String(_) => out.push_str(&value.to_string()),
        Value::Number(n) => {
            if !(n.is_i64() || n.is_u64()) {
                return Err(crate::error::invalid(
                    "json",
                    "non-integer numbers cannot be hashed canonically; encode them as strings",
                ));
            }
            out.push_str(&n.to_string());
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(item, out)?;
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_value(item, out)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

/// SHA-256 of the canonical JSON form of `value`, lowercase hex.
pub(crate) fn canonical_sha256<T: Serialize + ?Sized>(value: &T) -> Result<String> {
    Ok(sha256_hex(to_canonical_json(value)?.as_bytes()))
}

/// SHA-256 of raw bytes, lowercase hex.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Refuse JSON that cannot be hashed canonically or is unreasonably large.
pub(crate) fn check_hashable(field: &'static str, value: &Value, max_bytes: usize) -> Result<()> {
    let text = to_canonical_json(value).map_err(|e| match e {
        Error::InvalidInput { reason, .. } => Error::InvalidInput { field, reason },
        other => other,
    })?;
    if text.len() > max_bytes {
        return Err(crate::error::invalid(
            field,
            format!("{} bytes is above the limit of {max_bytes}", text.len()),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_are_sorted_and_whitespace_dropped() {
        let v = json!({"b": 1, "a": {"d": [true, null], "c": "x"}});
        assert_eq!(
            to_canonical_json(&v).unwrap(),
            r#"{"a":{"c":"x","d":[true,null]},"b":1}"#
        );
    }

    #[test]
    fn keys_sort_by_utf16_code_units() {
        // U+1F600 is a surrogate pair (0xD83D ..) in UTF-16, so it sorts before U+E000 there,
        // while UTF-8 byte order (and serde_json's BTreeMap) puts it after.
        let v = json!({"\u{1F600}": 1, "\u{E000}": 2});
        assert_eq!(
            to_canonical_json(&v).unwrap(),
            "{\"\u{1F600}\":1,\"\u{E000}\":2}"
        );
    }

    #[test]
    fn control_characters_use_lowercase_escapes() {
        assert_eq!(
            to_canonical_json(&json!("\u{1f}\n")).unwrap(),
            r#""\u001f\n""#
        );
    }

    #[test]
    fn floats_are_refused() {
        assert!(matches!(
            to_canonical_json(&json!({"x": 1.5})),
            Err(Error::InvalidInput { .. })
        ));
    }

    #[test]
    fn size_limit_applies() {
        let v = json!({"x": "a".repeat(100)});
        assert!(check_hashable("evidence", &v, 50).is_err());
        assert!(check_hashable("evidence", &v, 500).is_ok());
    }

    #[test]
    fn hash_is_stable_across_key_order() {
        let a = json!({"x": 1, "y": 2});
        let b = json!({"y": 2, "x": 1});
        assert_eq!(canonical_sha256(&a).unwrap(), canonical_sha256(&b).unwrap());
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}

//! The search query language: words, `"quoted phrases"`, `-` to exclude, `OR` between two
//! items, and parentheses. Everything else is an error the caller can read (a 400), never a
//! query handed to a database as text.
//!
//! ```text
//! query := item+                       (all must match)
//! item  := unary ("OR" unary)*
//! unary := "-" unary | atom
//! atom  := word | "phrase" | "(" query ")"
//! ```

use crate::error::{Error, Result};
use crate::store::search::{Match, fold};

/// The longest query, in characters.
pub const MAX_QUERY_CHARS: usize = 500;
/// The most words and phrases in one query.
pub const MAX_TERMS: usize = 32;
/// The deepest nesting of parentheses and exclusions.
pub const MAX_DEPTH: usize = 8;

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Phrase(String),
    Or,
    Minus,
    Open,
    Close,
}

fn bad(why: impl Into<String>) -> Error {
    Error::BadRequest(format!("invalid search query: {}", why.into()))
}

fn tokens(q: &str) -> Result<Vec<Token>> {
    let mut out = Vec::new();
    let mut chars = q.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '"' => {
                chars.next();
                let mut phrase = String::new();
                let mut closed = false;
                for c in chars.by_ref() {
                    if c == '"' {
                        closed = true;
                        break;
                    }
                    phrase.push(c);
                }
                if !closed {
                    return Err(bad("a quote is not closed"));
                }
                let phrase = phrase.split_whitespace().collect::<Vec<_>>().join(" ");
                if phrase.is_empty() {
                    return Err(bad("an empty phrase (\"\")"));
                }
                out.push(Token::Phrase(phrase));
            }
            '(' => {
                chars.next();
                out.push(Token::Open);
            }
            ')' => {
                chars.next();
                out.push(Token::Close);
            }
            '-' => {
                chars.next();
                out.push(Token::Minus);
            }
            _ => {
                let mut word = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || matches!(c, '"' | '(' | ')') {
                        break;
                    }
                    word.push(c);
                    chars.next();
                }
                out.push(if word == "OR" {
                    Token::Or
                } else {
                    Token::Word(word)
                });
            }
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
    terms: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn query(&mut self, depth: usize) -> Result<Match> {
        let mut items = Vec::new();
        while let Some(t) = self.peek() {
            if *t == Token::Close {
                break;
            }
            items.push(self.item(depth)?);
        }
        match items.len() {
            0 => Err(bad("nothing to search for")),
            1 => Ok(items.remove(0)),
            _ => Ok(Match::All(items)),
        }
    }

    fn item(&mut self, depth: usize) -> Result<Match> {
        if self.peek() == Some(&Token::Or) {
            return Err(bad("OR needs something before it"));
        }
        let mut any = vec![self.unary(depth)?];
        while self.peek() == Some(&Token::Or) {
            self.at += 1;
            match self.peek() {
                None | Some(Token::Close) | Some(Token::Or) => {
                    return Err(bad("OR needs something after it"));
                }
                _ => any.push(self.unary(depth)?),
            }
        }
        Ok(if any.len() == 1 {
            any.remove(0)
        } else {
            Match::Any(any)
        })
    }

    fn unary(&mut self, depth: usize) -> Result<Match> {
        if depth > MAX_DEPTH {
            return Err(bad(format!("nested more than {MAX_DEPTH} deep")));
        }
        match self.tokens.get(self.at).cloned() {
            Some(Token::Minus) => {
                self.at += 1;
                match self.peek() {
                    None | Some(Token::Close) | Some(Token::Or) => {
                        Err(bad("'-' needs a word, phrase or group after it"))
                    }
                    _ => Ok(Match::Not(Box::new(self.unary(depth + 1)?))),
                }
            }
            Some(Token::Open) => {
                self.at += 1;
                if self.peek() == Some(&Token::Close) {
                    return Err(bad("empty parentheses"));
                }
                let inner = self.query(depth + 1)?;
                if self.peek() != Some(&Token::Close) {
                    return Err(bad("a parenthesis is not closed"));
                }
                self.at += 1;
                Ok(inner)
            }
            Some(Token::Word(w)) | Some(Token::Phrase(w)) => {
                self.at += 1;
                self.terms += 1;
                if self.terms > MAX_TERMS {
                    return Err(bad(format!("more than {MAX_TERMS} words and phrases")));
                }
                if w.chars().count() > 100 {
                    return Err(bad("a word or phrase is at most 100 characters"));
                }
                Ok(Match::Term(fold(&w)))
            }
            Some(Token::Close) => Err(bad("a ')' without its '('")),
            Some(Token::Or) => Err(bad("OR needs something before it")),
            None => Err(bad("the query ends too early")),
        }
    }
}

/// Parses a query (terms folded as the index holds them).
pub fn parse(q: &str) -> Result<Match> {
    if q.chars().count() > MAX_QUERY_CHARS {
        return Err(bad(format!("longer than {MAX_QUERY_CHARS} characters")));
    }
    let mut p = Parser {
        tokens: tokens(q)?,
        at: 0,
        terms: 0,
    };
    let m = p.query(0)?;
    if p.at < p.tokens.len() {
        return Err(bad("a ')' without its '('"));
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Match {
        Match::Term(s.into())
    }

    #[test]
    fn queries_parse() {
        assert_eq!(parse("Report").unwrap(), t("report"));
        assert_eq!(parse("a b").unwrap(), Match::All(vec![t("a"), t("b")]));
        assert_eq!(parse("\"Annual  report\"").unwrap(), t("annual report"));
        assert_eq!(
            parse("a OR b c").unwrap(),
            Match::All(vec![Match::Any(vec![t("a"), t("b")]), t("c")])
        );
        assert_eq!(parse("-draft").unwrap(), Match::Not(Box::new(t("draft"))));
        assert_eq!(
            parse("a -b").unwrap(),
            Match::All(vec![t("a"), Match::Not(Box::new(t("b")))])
        );
        assert_eq!(
            parse("(a OR b) -c").unwrap(),
            Match::All(vec![
                Match::Any(vec![t("a"), t("b")]),
                Match::Not(Box::new(t("c")))
            ])
        );
        // A hyphen inside a word is part of it; "or" in lower case is a word.
        assert_eq!(
            parse("x-ray or").unwrap(),
            Match::All(vec![t("x-ray"), t("or")])
        );
        assert_eq!(
            parse("東京 مرحبا").unwrap(),
            Match::All(vec![t("東京"), t("مرحبا")])
        );
    }

    #[test]
    fn bad_queries_say_why() {
        for q in [
            "",
            "   ",
            "\"open",
            "\"\"",
            "OR a",
            "a OR",
            "a OR OR b",
            "-",
            "a -",
            "(a",
            "a)",
            "()",
            "(((((((((((a)))))))))))",
            "- OR a",
        ] {
            match parse(q) {
                Err(Error::BadRequest(m)) => {
                    assert!(m.starts_with("invalid search query"), "{q}: {m}")
                }
                other => panic!("{q:?}: {other:?}"),
            }
        }
        assert!(parse(&"a ".repeat(33)).is_err());
        assert!(parse(&"x".repeat(501)).is_err());
    }
}

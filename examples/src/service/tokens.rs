//! Teams' bearer tokens, read from a file and kept only as SHA-256 digests: a token is never
//! held, logged or printed, and a presented token is compared with every digest in constant
//! time.

use std::path::Path;

use fleet::model::TeamName;
use sha2::{Digest, Sha256};

/// The shortest token accepted: 128 bits of hexadecimal or base64 text.
const MIN_TOKEN_LEN: usize = 16;

/// The tokens of every team; `Debug` shows the teams only.
pub struct Tokens {
    digests: Vec<([u8; 32], TeamName)>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.digests.iter().map(|(_, team)| team.as_str())).finish()
    }
}

impl Tokens {
    /// Reads `path`: one `<team> <token>` a line; blank lines and lines starting with `#` are
    /// skipped.
    ///
    /// # Errors
    /// The file cannot be read, or a line is not a team name and a token of at least 16
    /// characters, or a token is given twice: the file and line, never the token.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|err| format!("{}: {err}", path.display()))?;
        Self::parse(&text).map_err(|err| format!("{}:{err}", path.display()))
    }

    /// Parses the text of a tokens file; see [`Tokens::load`].
    ///
    /// # Errors
    /// As [`Tokens::load`], each error starting with its line number.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut digests: Vec<([u8; 32], TeamName)> = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let number = index + 1;
            let mut words = line.split_whitespace();
            let (Some(team), Some(token), None) = (words.next(), words.next(), words.next()) else {
                return Err(format!("{number}: expected `<team> <token>`"));
            };
            let team = TeamName::new(team).map_err(|err| format!("{number}: team: {err}"))?;
            if token.len() < MIN_TOKEN_LEN {
                return Err(format!("{number}: the token of team `{team}` is shorter than {MIN_TOKEN_LEN} characters"));
            }
            let digest = digest_of(token);
            if digests.iter().any(|(known, _)| *known == digest) {
                return Err(format!("{number}: the token of team `{team}` is given twice"));
            }
            digests.push((digest, team));
        }
        if digests.is_empty() {
            return Err("0: no tokens (expected lines of `<team> <token>`)".into());
        }
        Ok(Self { digests })
    }

    /// The team `presented` belongs to. Every digest is compared, each in constant time, so
    /// the time taken says nothing about how much of a token was right.
    pub fn team_of(&self, presented: &str) -> Option<TeamName> {
        let digest = digest_of(presented);
        let mut found = None;
        for (known, team) in &self.digests {
            if equal_in_constant_time(known, &digest) {
                found = Some(team.clone());
            }
        }
        found
    }
}

fn digest_of(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Whether `a` and `b` are equal, looking at every byte whatever the first difference.
fn equal_in_constant_time(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let difference = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(difference) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_names_its_team_and_nothing_else_does() {
        let tokens = Tokens::parse("# teams\npayments 0123456789abcdef0123\n\nsearch fedcba9876543210fedc\n").unwrap();
        assert_eq!(tokens.team_of("0123456789abcdef0123").unwrap().as_str(), "payments");
        assert_eq!(tokens.team_of("fedcba9876543210fedc").unwrap().as_str(), "search");
        assert!(tokens.team_of("0123456789abcdef012").is_none());
        assert!(tokens.team_of("").is_none());
        assert_eq!(format!("{tokens:?}"), r#"["payments", "search"]"#);
    }

    #[test]
    fn a_bad_line_is_named_without_its_token() {
        let err = Tokens::parse("payments short-token\n").err().unwrap();
        assert!(err.starts_with("1: the token of team `payments` is shorter"), "{err}");
        assert!(!err.contains("short-token"));
        let err = Tokens::parse("payments\n").err().unwrap();
        assert_eq!(err, "1: expected `<team> <token>`");
        let err = Tokens::parse("a 0123456789abcdef0123\nb 0123456789abcdef0123\n").err().unwrap();
        assert!(err.starts_with("2: the token of team `b` is given twice"), "{err}");
        assert!(Tokens::parse("# nothing\n").is_err());
    }

    #[test]
    fn equal_digests_compare_equal_and_any_difference_does_not() {
        let a = digest_of("x");
        let mut b = a;
        assert!(equal_in_constant_time(&a, &b));
        b[31] ^= 1;
        assert!(!equal_in_constant_time(&a, &b));
    }
}

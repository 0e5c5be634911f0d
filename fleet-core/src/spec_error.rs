//! Errors in declared files: where (file, line, column, field path) and what was expected.

use std::fmt;
use std::path::PathBuf;

/// One problem in a declared file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct SpecError {
    /// The file, when the problem comes from one.
    pub file: Option<PathBuf>,
    /// 1-based line, where the parser knows it.
    pub line: Option<u64>,
    /// 1-based column, where the parser knows it.
    pub column: Option<u64>,
    /// The field path, e.g. `placements[2].regions[0]`; empty for the whole document.
    pub path: String,
    /// What is wrong and what was expected.
    pub message: String,
}

impl SpecError {
    /// A problem at `path` with no known file.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self { file: None, line: None, column: None, path: path.into(), message: message.into() }
    }

    /// Sets the file.
    pub fn in_file(mut self, file: impl Into<PathBuf>) -> Self {
        self.file = Some(file.into());
        self
    }

    /// Sets line and column.
    pub fn at(mut self, line: u64, column: u64) -> Self {
        self.line = Some(line);
        self.column = Some(column);
        self
    }

    /// Moves the problem to where its value is written, when that is elsewhere than where it
    /// was found (a template's variable, checked against its blueprint's declaration, is
    /// written in the fleet spec): `file`, and the line and column when known.
    pub fn written_at(mut self, file: impl Into<PathBuf>, place: Option<(u64, u64)>) -> Self {
        self.file = Some(file.into());
        self.line = place.map(|(line, _)| line);
        self.column = place.map(|(_, column)| column);
        self
    }

    /// Prefixes the path with `prefix` (e.g. the document's position in a file).
    pub fn under(mut self, prefix: &str) -> Self {
        self.path = match (prefix.is_empty(), self.path.is_empty()) {
            (true, _) => self.path,
            (false, true) => prefix.to_owned(),
            (false, false) if self.path.starts_with('[') => format!("{prefix}{}", self.path),
            (false, false) => format!("{prefix}.{}", self.path),
        };
        self
    }
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{}", file.display())?;
            if let (Some(line), Some(column)) = (self.line, self.column) {
                write!(f, ":{line}:{column}")?;
            }
            f.write_str(": ")?;
        }
        if !self.path.is_empty() {
            write!(f, "`{}`: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

/// Every problem found in a set of declared files.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct SpecErrors(pub Vec<SpecError>);

impl fmt::Display for SpecErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} problem(s) found:", self.0.len())?;
        for error in &self.0 {
            write!(f, "\n  - {error}")?;
        }
        Ok(())
    }
}

impl From<SpecError> for SpecErrors {
    fn from(error: SpecError) -> Self {
        SpecErrors(vec![error])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_file_position_path_and_message() {
        let err = SpecError::new("regions[0]", "unknown region").in_file("fleet.yaml").at(3, 7).under("placements[2]");
        assert_eq!(err.to_string(), "fleet.yaml:3:7: `placements[2].regions[0]`: unknown region");
        let all = SpecErrors(vec![err, SpecError::new("", "empty")]);
        assert!(all.to_string().starts_with("2 problem(s) found:"));
    }
}

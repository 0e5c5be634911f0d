//! One environment request read on its own (a team's request body, a file of its own), with
//! the same checks and errors as in a repository.

use super::documents::{Document, parse_document, split_documents};
use crate::fleet_spec::EnvironmentRequest;
use crate::{SpecError, SpecErrors};

impl EnvironmentRequest {
    /// Parses one `kind: EnvironmentRequest` document (feature `yaml`; JSON is YAML too): the
    /// same document a repository's `requests/` folder holds. Errors name the line and field
    /// path; a document of another kind, or more than one, is refused.
    ///
    /// ```
    /// use fleet_core::fleet_spec::EnvironmentRequest;
    /// let request = EnvironmentRequest::from_yaml(
    ///     "kind: EnvironmentRequest\nspec:\n  name: alice-checkout\n  team: payments\n  blueprint: web-app\n  provider: sim-aws\n  region: eu-west-1\n  ttl: 8h\n",
    /// )
    /// .unwrap();
    /// assert_eq!(request.name.as_str(), "alice-checkout");
    /// let err = EnvironmentRequest::from_yaml("kind: EnvironmentRequest\nspec:\n  name: Bad_Name\n").unwrap_err();
    /// assert!(err.to_string().contains("spec.name"), "{err}");
    /// ```
    pub fn from_yaml(text: &str) -> Result<Self, SpecErrors> {
        let mut documents = Vec::new();
        for (offset, document) in split_documents(text) {
            if let Some(document) = parse_document(&document, offset).map_err(SpecErrors::from)? {
                documents.push(document);
            }
        }
        match documents.len() {
            0 => return Err(SpecError::new("", "no document: expected one `kind: EnvironmentRequest`").into()),
            1 => {}
            more => {
                return Err(
                    SpecError::new("", format!("{more} documents: expected one `kind: EnvironmentRequest`")).into()
                );
            }
        }
        match documents.remove(0) {
            Document::EnvironmentRequest(request) => Ok(request),
            _ => Err(SpecError::new("kind", "expected `kind: EnvironmentRequest`").into()),
        }
    }
}

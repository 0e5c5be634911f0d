//! Blueprints and their layers, as declared in files.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::VariableDecl;
use crate::TeamName;

/// Who owns a layer: operations, or one team.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Owner {
    /// The operations team, whose locks no team can override.
    Ops,
    /// An application team.
    Team(TeamName),
}

impl TryFrom<String> for Owner {
    type Error = crate::NameError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        if value == "ops" { Ok(Owner::Ops) } else { TeamName::new(value).map(Owner::Team) }
    }
}

impl From<Owner> for String {
    fn from(owner: Owner) -> String {
        owner.to_string()
    }
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Owner::Ops => f.write_str("ops"),
            Owner::Team(team) => write!(f, "{team}"),
        }
    }
}

/// One layer of a blueprint: the settings it sets and the ones it locks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[non_exhaustive]
pub struct Layer {
    /// The layer's name, e.g. `base`, `security`, `team`.
    pub name: String,
    /// Who owns it.
    pub owner: Owner,
    /// The settings it sets (a partial [`super::Settings`] mapping, `${var}` allowed).
    #[serde(default)]
    pub set: Map<String, Value>,
    /// Setting paths it locks, e.g. `auditLogging` or `network.privateEndpoint`.
    #[serde(default)]
    pub lock: Vec<String>,
    /// The file it was declared in.
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

impl Layer {
    /// A layer called `name` owned by `owner` that sets `set`.
    pub fn new(name: impl Into<String>, owner: Owner, set: Map<String, Value>) -> Self {
        Self { name: name.into(), owner, set, lock: Vec::new(), source: None }
    }

    /// Adds locked paths.
    pub fn with_locks(mut self, locks: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.lock.extend(locks.into_iter().map(Into::into));
        self
    }

    /// Where the layer was declared, for messages.
    pub fn origin(&self) -> String {
        match &self.source {
            Some(file) => format!("layer `{}` ({})", self.name, file.display()),
            None => format!("layer `{}`", self.name),
        }
    }
}

/// A named, layered cluster definition with typed variables.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Blueprint {
    /// Its name, as fleet specs and requests refer to it.
    pub name: String,
    /// Its variables.
    pub variables: BTreeMap<String, VariableDecl>,
    /// Its layers, earliest first.
    pub layers: Vec<Layer>,
    /// The file it was declared in.
    pub source: Option<PathBuf>,
}

impl Blueprint {
    /// A blueprint from its parts.
    pub fn new(name: impl Into<String>, variables: BTreeMap<String, VariableDecl>, layers: Vec<Layer>) -> Self {
        Self { name: name.into(), variables, layers, source: None }
    }
}

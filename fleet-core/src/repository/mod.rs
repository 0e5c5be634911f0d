//! A GitOps repository of declarations: blueprints, layers, the fleet spec, environment
//! requests and team policies, as YAML documents (`kind:` and `spec:`) in a directory.
//!
//! [`Repository::load_dir`] reads and type-checks every file and returns every problem found;
//! [`Repository::desired`] resolves it into the [`crate::fleet_spec::DesiredFleet`].
//!
//! ```
//! use std::path::PathBuf;
//! use fleet_core::repository::Repository;
//! use fleet_core::sim::{RegionCapacity, SimCloud};
//! use fleet_core::{ProviderName, Region};
//!
//! let files = [(PathBuf::from("fleet.yaml"), r#"
//! kind: Blueprint
//! spec:
//!   name: small
//!   layers:
//!     - name: base
//!       owner: ops
//!       set:
//!         kubernetesVersion: "1.31"
//!         nodePools: {workers: {size: small, minCount: 1, maxCount: 3}}
//! ---
//! kind: FleetSpec
//! spec:
//!   name: demo
//!   templates:
//!     - name: web
//!       blueprint: small
//!       placements: [{provider: sim, regions: [east, west], count: 2}]
//! "#)];
//! let repository = Repository::from_sources(&files).unwrap();
//! let cloud = SimCloud::builder(ProviderName::new("sim").unwrap())
//!     .region(Region::new("east").unwrap(), RegionCapacity::unlimited())
//!     .region(Region::new("west").unwrap(), RegionCapacity::unlimited())
//!     .build();
//! let desired = repository.desired(&[cloud.info().clone()]).unwrap();
//! let ids: Vec<_> = desired.fleet.specs().map(|spec| spec.id.to_string()).collect();
//! assert_eq!(ids, ["web-east-0", "web-east-1", "web-west-0", "web-west-1"]);
//! ```

mod desired;
mod documents;
mod load;
mod request_document;

use std::collections::BTreeMap;
use std::path::PathBuf;

pub use desired::Desired;
pub use documents::KINDS;
pub use load::{MANIFESTS_DIR, MAX_FILE_BYTES};

use crate::TeamName;
use crate::blueprint::{Blueprint, Layer};
use crate::fleet_spec::{EnvironmentRequest, FleetSpec, TeamPolicy};

/// Everything declared in a repository.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Repository {
    /// Blueprints by name, their `use:`d layers filled in.
    pub blueprints: BTreeMap<String, Blueprint>,
    /// Shared `Layer` documents by name.
    pub layers: BTreeMap<String, Layer>,
    /// Fleet specs with their files (a repository has one).
    pub fleet_specs: Vec<(PathBuf, FleetSpec)>,
    /// Environment requests with their files, in file order.
    pub requests: Vec<(PathBuf, EnvironmentRequest)>,
    /// Team policies by team.
    pub policies: BTreeMap<TeamName, TeamPolicy>,
}

impl Repository {
    fn layers_mut(&mut self) -> impl Iterator<Item = &mut Layer> {
        self.blueprints.values_mut().flat_map(|blueprint| blueprint.layers.iter_mut()).chain(self.layers.values_mut())
    }
}

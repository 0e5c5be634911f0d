//! What the fleet looks like once a plan has been carried out, computed without any provider:
//! for previews and for checking that plans converge.

use std::time::SystemTime;

use super::{Action, Plan};
use crate::{Cluster, ClusterPhase, ClusterSpec, FleetTags};

/// The cluster a provider would report once `spec` is created and running.
fn expected(spec: &ClusterSpec, fleet: &crate::FleetName, now: SystemTime) -> Cluster {
    Cluster::for_spec(spec, fleet, format!("planned/{}", spec.id), ClusterPhase::Running).with_timestamps(now, now)
}

impl Plan {
    /// The clusters `observed` becomes once every action has succeeded at time `now`; clusters
    /// the plan does not mention (other fleets', untagged ones) stay as they are.
    pub fn outcome(&self, observed: &[Cluster], now: SystemTime) -> Vec<Cluster> {
        let mut result: Vec<Cluster> = observed.to_vec();
        for action in &self.actions {
            let find = |result: &Vec<Cluster>, id: &crate::ClusterId| {
                result.iter().position(|cluster| &cluster.id == id && FleetTags::belongs_to(&cluster.tags, &self.fleet))
            };
            match action {
                Action::Create { spec } => result.push(expected(spec, &self.fleet, now)),
                Action::Replace { spec, old, .. } => {
                    if let Some(index) = find(&result, old) {
                        result.remove(index);
                    }
                    result.push(expected(spec, &self.fleet, now));
                }
                Action::Update { spec, .. } => {
                    if let Some(index) = find(&result, &spec.id) {
                        let created = result[index].created_at.unwrap_or(now);
                        let mut updated = expected(spec, &self.fleet, created);
                        updated.provider_id = result[index].provider_id.clone();
                        updated.updated_at = Some(now);
                        result[index] = updated;
                    }
                }
                Action::Delete { id, .. } => {
                    if let Some(index) = find(&result, id) {
                        result.remove(index);
                    }
                }
                Action::Hibernate { id } | Action::Resume { id } => {
                    if let Some(index) = find(&result, id) {
                        result[index].phase = if matches!(action, Action::Hibernate { .. }) {
                            ClusterPhase::Hibernated
                        } else {
                            ClusterPhase::Running
                        };
                    }
                }
                Action::Unchanged { .. } => {}
            }
        }
        result.sort_by(|a, b| a.id.cmp(&b.id));
        result
    }
}

//! A plan as people read it, in the style of `terraform plan`.

use std::fmt;

use super::{Action, DeleteReason, Plan, Summary};
use crate::{ClusterSpec, format_duration};

fn describe(spec: &ClusterSpec) -> String {
    let pools: Vec<String> = spec
        .node_pools
        .iter()
        .map(|pool| {
            let machine = pool.machine_type.clone().unwrap_or_else(|| pool.size.to_string());
            format!("{} {}-{} {machine}", pool.name, pool.min_count, pool.max_count)
        })
        .collect();
    let mut text = format!("k8s {}, pools: {}", spec.kubernetes_version, pools.join(", "));
    if let Some(ttl) = spec.ttl {
        text.push_str(&format!(", ttl {}", format_duration(ttl)));
    }
    text
}

fn write_changes(f: &mut fmt::Formatter<'_>, changes: &[super::Change]) -> fmt::Result {
    for change in changes {
        write!(f, "        ~ {}: {} -> {}", change.field, change.from, change.to)?;
        match &change.forces_replacement {
            Some(why) => writeln!(f, "  (forces replacement: {why})")?,
            None => writeln!(f)?,
        }
    }
    Ok(())
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Fleet `{}` plan:", self.fleet)?;
        writeln!(f)?;
        for action in &self.actions {
            match action {
                Action::Create { spec } => {
                    writeln!(
                        f,
                        "  +   {:<32} create   {}/{}  {}",
                        spec.id,
                        spec.provider,
                        spec.region,
                        describe(spec)
                    )?;
                }
                Action::Update { spec, changes } => {
                    writeln!(f, "  ~   {:<32} update   {}/{}", spec.identity(), spec.provider, spec.region)?;
                    write_changes(f, changes)?;
                }
                Action::Replace { spec, old, changes } => {
                    writeln!(
                        f,
                        "  -/+ {:<32} replace  {}/{}  (new cluster `{}` replaces `{old}`)",
                        spec.identity(),
                        spec.provider,
                        spec.region,
                        spec.id
                    )?;
                    write_changes(f, changes)?;
                }
                Action::Delete { id, provider, region, reason } => {
                    let why = match reason {
                        DeleteReason::NotWanted => "no spec wants it".to_owned(),
                        DeleteReason::Superseded => "its replacement runs".to_owned(),
                        DeleteReason::Expired { ttl: Some(ttl) } => {
                            format!("its TTL of {} has passed", format_duration(*ttl))
                        }
                        DeleteReason::Expired { ttl: None } => "it expired".to_owned(),
                    };
                    writeln!(f, "  -   {id:<32} delete   {provider}/{region}  ({why})")?;
                }
                Action::Hibernate { id } => writeln!(f, "  ~   {id:<32} hibernate")?,
                Action::Resume { id } => writeln!(f, "  ~   {id:<32} resume")?,
                Action::Unchanged { .. } => {}
            }
        }
        let summary = self.summary();
        if summary.create + summary.update + summary.replace + summary.delete > 0 {
            writeln!(f)?;
        }
        write!(f, "Plan: {summary}.")
    }
}

/// `3 to create, 0 to update, 1 to replace, 0 to delete, 12 unchanged`.
impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} to create, {} to update, {} to replace, {} to delete, {} unchanged",
            self.create, self.update, self.replace, self.delete, self.unchanged
        )
    }
}

//! Settings and versions: what the provider declares it applies is applied, what it does not
//! is refused, and the versions it offers are the cloud's list.

use super::{Mine, list, listed};
use crate::conformance::runner::{Kit, Stop, Verdict, ensure};
use crate::{Capabilities, ClusterSpec, ErrorKind};

/// A CIDR block of the documentation range (RFC 5737), allowed to reach the API.
const ALLOWED_CIDR: &str = "203.0.113.0/24";

pub(crate) async fn offered_versions_include_the_kits(kit: &Kit<'_>) -> Verdict {
    let region = &kit.ctx.region;
    let offered = kit.ok(kit.provider.offered_versions(region).await, "offered_versions")?;
    let Some(offered) = offered else {
        return Err(Stop::Skip("the provider does not tell which versions it offers".into()));
    };
    ensure!(!offered.is_empty(), "offered_versions of `{region}` is an empty list: say `None` when unknown");
    let mut versions = vec![kit.ctx.kubernetes_version];
    if kit.provider.info().capabilities.in_place_version_upgrade {
        versions.push(kit.ctx.upgrade_version);
    }
    for version in versions {
        ensure!(
            version.offered_by(&offered),
            "offered_versions of `{region}` ({offered:?}) lacks {version}, which the kit creates or upgrades to"
        );
    }
    Ok(())
}

/// Specs turning on the settings `caps` declares, in groups a cloud accepts together (a
/// private endpoint takes no CIDR allow-list on EKS or AKS).
fn specs_with_declared_settings(kit: &Kit<'_>, caps: Capabilities) -> Vec<ClusterSpec> {
    let mut public = kit.spec("applied");
    public.audit_logging = caps.audit_logging;
    public.network.network_policy = caps.network_policy;
    if caps.allowed_cidrs {
        public.network.allowed_cidrs = vec![ALLOWED_CIDR.into()];
    }
    let mut specs = vec![public];
    if caps.private_endpoint {
        let mut private = kit.spec("private");
        private.network.private_endpoint = true;
        private.audit_logging = caps.audit_logging;
        specs.push(private);
    }
    specs.retain(|spec| spec.audit_logging || spec.network != crate::Network::default());
    specs
}

pub(crate) async fn declared_settings_are_applied(kit: &Kit<'_>) -> Verdict {
    let specs = specs_with_declared_settings(kit, kit.provider.info().capabilities);
    if specs.is_empty() {
        return Err(Stop::Skip("the provider declares none of the settings".into()));
    }
    for spec in specs {
        kit.create_running_spec(Mine, &spec).await?;
        let applied = kit.hook("applied_settings", kit.ctx.hooks.applied_settings(&spec.id, &spec.region).await)?;
        let network = &applied.network;
        ensure!(
            applied.audit_logging == spec.audit_logging,
            "`{}`: audit logging {} was asked, the backend recorded {}",
            spec.id,
            spec.audit_logging,
            applied.audit_logging
        );
        ensure!(
            network.private_endpoint == spec.network.private_endpoint,
            "`{}`: private endpoint {} was asked, the backend recorded {}",
            spec.id,
            spec.network.private_endpoint,
            network.private_endpoint
        );
        ensure!(
            network.network_policy == spec.network.network_policy,
            "`{}`: network policy {} was asked, the backend recorded {}",
            spec.id,
            spec.network.network_policy,
            network.network_policy
        );
        for cidr in &spec.network.allowed_cidrs {
            ensure!(
                network.allowed_cidrs.contains(cidr),
                "`{}`: CIDR {cidr} was allowed, the backend recorded {:?}",
                spec.id,
                network.allowed_cidrs
            );
        }
    }
    Ok(())
}

pub(crate) async fn undeclared_settings_are_refused(kit: &Kit<'_>) -> Verdict {
    let caps = kit.provider.info().capabilities;
    let mut refused = Vec::new();
    for (suffix, declared) in [
        ("noaudit", caps.audit_logging),
        ("noprivate", caps.private_endpoint),
        ("nocidrs", caps.allowed_cidrs),
        ("nopolicy", caps.network_policy),
    ] {
        if declared {
            continue;
        }
        let mut spec = kit.spec(suffix);
        match suffix {
            "noaudit" => spec.audit_logging = true,
            "noprivate" => spec.network.private_endpoint = true,
            "nocidrs" => spec.network.allowed_cidrs = vec![ALLOWED_CIDR.into()],
            _ => spec.network.network_policy = true,
        }
        refused.push(spec);
    }
    if refused.is_empty() {
        return Err(Stop::Skip("the provider declares every setting".into()));
    }
    for spec in refused {
        let what = format!("create of `{}` asking for a setting the provider does not declare", spec.id);
        kit.expect_err(kit.create(Mine, &spec).await, &[ErrorKind::InvalidSpec], &what)?;
        let listing = list(kit, "list after a refused create").await?;
        ensure!(listed(&listing.clusters, &spec.id).is_empty(), "{what} left a cluster listed");
    }
    Ok(())
}

//! Whose clusters a provider sees and touches: its fleet's only, found again by their tags.

use std::collections::BTreeMap;

use super::{Mine, Theirs, list, listed};
use crate::conformance::runner::{Kit, Stop, Verdict, ensure};
use crate::{ClusterSpec, ErrorKind, FleetName, FleetTags};

pub(crate) async fn tags_round_trip(kit: &Kit<'_>) -> Verdict {
    let spec = kit.create_running(Mine, "tags").await?;
    let got = kit.ok(kit.provider.get(&spec.id).await, "get")?;
    let Some(tags) = got.fleet_tags() else {
        return Err(Stop::Fail(format!("no Fleet tags on the cluster: {:?}", got.tags)));
    };
    ensure!(tags.identity.is_named(&spec.id), "the cluster-id tag is `{}`", tags.identity);
    ensure!(tags.blueprint_version == spec.blueprint_version, "the blueprint-version tag is wrong");
    ensure!(got.tags.get("purpose").map(String::as_str) == Some("conformance"), "the spec's labels are lost");
    let listing = list(kit, "list").await?;
    let Some(from_list) = listed(&listing.clusters, &spec.id).first().copied() else {
        return Err(Stop::Fail("the cluster is not listed".into()));
    };
    ensure!(from_list.fleet_tags() == Some(tags.clone()), "list and get disagree on the tags");
    ensure!(
        listing.clusters.iter().all(|c| FleetTags::belongs_to(&c.tags, &tags.fleet)),
        "list returned a cluster without this fleet's tags"
    );
    Ok(())
}

pub(crate) async fn list_shows_only_this_fleet(kit: &Kit<'_>) -> Verdict {
    let other = kit.of(Theirs);
    let mine = kit.create_running(Mine, "mine").await?;
    let theirs = kit.create_running(Theirs, "theirs").await?;
    let listing = list(kit, "list").await?;
    ensure!(!listed(&listing.clusters, &mine.id).is_empty(), "list misses this fleet's cluster");
    ensure!(listed(&listing.clusters, &theirs.id).is_empty(), "list shows another fleet's cluster");
    let their_listing = kit.ok(other.list().await, "the other fleet's list")?;
    ensure!(listed(&their_listing.clusters, &mine.id).is_empty(), "the other fleet sees this fleet's cluster");
    Ok(())
}

/// Every operation on a cluster outside this fleet, `spec` naming it: each must refuse, and
/// `get` only read. `tags` are the tags the cluster carries.
async fn hands_off(kit: &Kit<'_>, spec: &ClusterSpec, tags: &BTreeMap<String, String>, whose: &str) -> Verdict {
    let provider = kit.provider;
    let id = &spec.id;
    let refused = [ErrorKind::PermissionDenied];
    let refused_or_undeclared = [ErrorKind::PermissionDenied, ErrorKind::Unsupported];
    let listing = list(kit, "list").await?;
    ensure!(listed(&listing.clusters, id).is_empty(), "list shows {whose} cluster `{id}`");
    kit.expect_err(provider.create(spec).await, &[ErrorKind::AlreadyExists], &format!("create over {whose} cluster"))?;
    kit.expect_err(provider.update(spec).await, &refused, &format!("update of {whose} cluster"))?;
    kit.expect_err(provider.credentials(id).await, &refused, &format!("credentials of {whose} cluster"))?;
    let team = crate::TeamName::new("conformance").map_err(|err| Stop::Fail(err.to_string()))?;
    kit.expect_err(
        provider.team_credentials(id, &team).await,
        &refused_or_undeclared,
        &format!("team credentials of {whose} cluster"),
    )?;
    kit.expect_err(provider.hibernate(id).await, &refused_or_undeclared, &format!("hibernate of {whose} cluster"))?;
    kit.expect_err(provider.resume(id).await, &refused_or_undeclared, &format!("resume of {whose} cluster"))?;
    kit.expect_err(provider.delete(id).await, &refused, &format!("delete of {whose} cluster"))?;
    match provider.get(id).await {
        Ok(seen) => ensure!(&seen.tags == tags, "get of {whose} cluster reports other tags: {:?}", seen.tags),
        Err(err) if err.kind() == ErrorKind::NotFound => kit.saw_error(&err),
        Err(err) => return Err(Stop::Fail(format!("get of {whose} cluster should report it or NotFound: {err}"))),
    }
    Ok(())
}

pub(crate) async fn foreign_clusters_are_left_alone(kit: &Kit<'_>) -> Verdict {
    let other = kit.of(Theirs);
    let theirs = kit.create_running(Theirs, "foreign").await?;
    let before = kit.ok(other.get(&theirs.id).await, "the other fleet's get")?;
    hands_off(kit, &theirs, &before.tags, "another fleet's").await?;
    let after = kit.ok(other.get(&theirs.id).await, "the other fleet's get afterwards")?;
    ensure!(after.phase.is_running(), "the foreign cluster was disturbed: it is {}", after.phase);
    ensure!(after.provider_id == before.provider_id, "the foreign cluster was replaced");
    ensure!(after.tags == before.tags, "the foreign cluster's tags changed: {:?}", after.tags);
    ensure!(after.kubernetes_version == before.kubernetes_version, "the foreign cluster's version changed");
    Ok(())
}

pub(crate) async fn untagged_clusters_are_left_alone(kit: &Kit<'_>) -> Verdict {
    let region = &kit.ctx.region;
    let untagged = kit.ctx.spec_in(kit.provider, "untagged", region);
    let no_tags = BTreeMap::new();
    kit.plant(&untagged.id, region, &no_tags).await?;
    let lookalike = kit.ctx.spec_in(kit.provider, "planted", region);
    let stranger = FleetName::new("conformance-planted").map_err(|err| Stop::Fail(err.to_string()))?;
    let stranger_tags = FleetTags::cluster_tags(&stranger, &lookalike);
    kit.plant(&lookalike.id, region, &stranger_tags).await?;
    hands_off(kit, &untagged, &no_tags, "an untagged").await?;
    hands_off(kit, &lookalike, &stranger_tags, "a planted foreign").await?;
    kit.remove_planted(&untagged.id, region).await?;
    kit.remove_planted(&lookalike.id, region).await?;
    Ok(())
}

/// A cluster carrying this fleet's tags, made and then removed on the backend directly: listed
/// while there (also after a second list, when a provider answers steady clusters from its
/// last description), missing from the first list after it is gone.
pub(crate) async fn removed_clusters_leave_the_next_list(kit: &Kit<'_>) -> Verdict {
    let region = &kit.ctx.region;
    let mine = kit.create_running(Mine, "known").await?;
    let got = kit.ok(kit.provider.get(&mine.id).await, "get")?;
    let Some(fleet) = got.fleet_tags().map(|tags| tags.fleet) else {
        return Err(Stop::Fail(format!("no Fleet tags on the cluster: {:?}", got.tags)));
    };
    let outside = kit.ctx.spec_in(kit.provider, "outside", region);
    kit.plant(&outside.id, region, &FleetTags::cluster_tags(&fleet, &outside)).await?;
    for doing in ["list", "a second list"] {
        let listing = list(kit, doing).await?;
        ensure!(
            listed(&listing.clusters, &outside.id).len() == 1,
            "{doing} does not show `{}`, made on the backend with this fleet's tags",
            outside.id
        );
    }
    kit.remove_planted(&outside.id, region).await?;
    let listing = list(kit, "the list after the removal").await?;
    ensure!(
        listed(&listing.clusters, &outside.id).is_empty(),
        "the list after `{}` was removed on the backend still shows it",
        outside.id
    );
    ensure!(listed(&listing.clusters, &mine.id).len() == 1, "the list after the removal misses `{}`", mine.id);
    Ok(())
}

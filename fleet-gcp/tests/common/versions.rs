//! The versions the local GKE API offers (`getServerConfig`, as GKE listed them in late
//! 2026), and GKE's version rules: a version alias (`1.35`) resolves to the highest patch
//! its channel offers; a cluster created with a version and no channel is enrolled in the
//! most mature channel offering it (STABLE, then REGULAR, then RAPID); a version the
//! cluster's channel does not offer is refused, as is an upgrade skipping a minor, a
//! downgrade, and a channel change that would need a downgrade.

use serde_json::{Value, json};

/// Each channel's `validVersions`, newest first.
pub const CHANNELS: &[(&str, &[&str])] = &[
    ("RAPID", &["1.36.1-gke.1200", "1.35.3-gke.1100", "1.34.6-gke.1000"]),
    ("REGULAR", &["1.35.2-gke.1500", "1.34.5-gke.1400", "1.33.8-gke.1300"]),
    ("STABLE", &["1.34.4-gke.1800", "1.33.7-gke.1700"]),
    ("EXTENDED", &["1.33.7-gke.1700", "1.32.10-gke.1900", "1.31.13-gke.2000"]),
];

/// The channels GKE enrols a cluster without one in, most mature first.
const BY_MATURITY: [&str; 3] = ["STABLE", "REGULAR", "RAPID"];

/// The `ServerConfig` of every location.
pub fn server_config() -> Value {
    let mut master: Vec<&str> =
        CHANNELS.iter().filter(|(c, _)| *c != "EXTENDED").flat_map(|(_, v)| v.iter().copied()).collect();
    master.sort_by_key(|v| std::cmp::Reverse(numbers(v)));
    master.dedup();
    json!({
        "defaultClusterVersion": "1.34.5-gke.1400",
        "validMasterVersions": master,
        "validNodeVersions": master,
        "channels": CHANNELS.iter().map(|(channel, versions)| json!({
            "channel": channel,
            "defaultVersion": versions.get(1).or(versions.first()),
            "validVersions": versions,
        })).collect::<Vec<_>>(),
    })
}

/// `(major, minor, patch)` of a version text; patch 0 when absent.
pub fn numbers(version: &str) -> Option<(u32, u32, u32)> {
    let mut parts = version.split(['.', '-']);
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    let patch = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    Some((major, minor, patch))
}

fn channel(name: &str) -> &'static [&'static str] {
    CHANNELS.iter().find(|(c, _)| *c == name).map(|(_, v)| *v).unwrap_or(&[])
}

/// The version of `channel` an alias (`1.35`, `1.35.2`, `1.35.2-gke.1500`) resolves to.
pub fn resolve(alias: &str, channel_name: &str) -> Option<&'static str> {
    let dots = alias.split('-').next()?.split('.').count();
    channel(channel_name).iter().copied().find(|version| match dots {
        2 => version.starts_with(&format!("{alias}.")),
        3 if !alias.contains('-') => version.starts_with(&format!("{alias}-")),
        _ => *version == alias,
    })
}

/// The channel a new cluster of `alias` is enrolled in, and its version; or why GKE refuses.
pub fn enrol(alias: &str, asked: Option<&str>) -> Result<(String, &'static str), String> {
    match asked {
        Some(asked) => resolve(alias, asked)
            .map(|version| (asked.to_owned(), version))
            .ok_or_else(|| format!("Version \"{alias}\" is not available in release channel {asked}.")),
        None => BY_MATURITY
            .iter()
            .find_map(|c| resolve(alias, c).map(|version| ((*c).to_owned(), version)))
            .ok_or_else(|| format!("Version \"{alias}\" is not supported.")),
    }
}

/// The version an upgrade of a cluster at `current` in `channel_name` to `alias` gets, or
/// why GKE refuses it.
pub fn upgrade(current: &str, alias: &str, channel_name: &str) -> Result<&'static str, String> {
    let Some(wanted) = resolve(alias, channel_name) else {
        return Err(format!("Version \"{alias}\" is not available in release channel {channel_name}."));
    };
    let (Some(now), Some(to)) = (numbers(current), numbers(wanted)) else {
        return Err(format!("Version \"{alias}\" is not a valid Kubernetes version."));
    };
    if to < now {
        return Err(format!("Master version \"{alias}\" is older than the current \"{current}\"."));
    }
    if to.0 != now.0 || to.1 > now.1 + 1 {
        return Err(format!(
            "Master cannot be upgraded to \"{alias}\" from \"{current}\": control planes are upgraded one minor \
             version at a time."
        ));
    }
    Ok(wanted)
}

/// Why a cluster at `current` cannot move to `channel_name`, if it cannot: the channel must
/// exist and offer its minor or a later one (a move must never need a downgrade).
pub fn channel_change_problem(current: &str, channel_name: &str) -> Option<String> {
    let versions = channel(channel_name);
    if versions.is_empty() {
        return Some(format!("Unknown release channel \"{channel_name}\"."));
    }
    let now = numbers(current)?;
    let newest = versions.iter().filter_map(|v| numbers(v)).max()?;
    ((newest.0, newest.1) < (now.0, now.1)).then(|| {
        format!(
            "Cluster at version \"{current}\" cannot move to release channel {channel_name}: its newest version \
             would be a downgrade."
        )
    })
}

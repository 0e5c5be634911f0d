//! The versions GKE offers in a location (`getServerConfig`) and the release channel a
//! cluster is enrolled in: GKE puts every cluster in a channel, and refuses a version its
//! channel does not offer.

use fleet_core::KubernetesVersion;
use google_cloud_container_v1::model;

/// A GKE release channel (`releaseChannel.channel`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ReleaseChannel {
    /// `RAPID`: the newest versions, first.
    Rapid,
    /// `REGULAR`: GA versions, GKE's default channel.
    Regular,
    /// `STABLE`: versions known to be stable in production.
    Stable,
    /// `EXTENDED`: extended support (billed) for older versions.
    Extended,
}

impl ReleaseChannel {
    /// The channels GKE checks, most mature first, when a cluster is created with a version
    /// and no channel (the `releaseChannel` field's documented rule: STABLE, then REGULAR,
    /// then RAPID). `EXTENDED` is billed, so it is only used when configured.
    pub(crate) const BY_MATURITY: [ReleaseChannel; 3] =
        [ReleaseChannel::Stable, ReleaseChannel::Regular, ReleaseChannel::Rapid];

    /// The API's name of the channel.
    pub fn as_str(&self) -> &'static str {
        match self {
            ReleaseChannel::Rapid => "RAPID",
            ReleaseChannel::Regular => "REGULAR",
            ReleaseChannel::Stable => "STABLE",
            ReleaseChannel::Extended => "EXTENDED",
        }
    }

    pub(crate) fn to_model(self) -> model::release_channel::Channel {
        match self {
            ReleaseChannel::Rapid => model::release_channel::Channel::Rapid,
            ReleaseChannel::Regular => model::release_channel::Channel::Regular,
            ReleaseChannel::Stable => model::release_channel::Channel::Stable,
            ReleaseChannel::Extended => model::release_channel::Channel::Extended,
        }
    }

    pub(crate) fn from_model(channel: &model::release_channel::Channel) -> Option<Self> {
        match channel {
            model::release_channel::Channel::Rapid => Some(ReleaseChannel::Rapid),
            model::release_channel::Channel::Regular => Some(ReleaseChannel::Regular),
            model::release_channel::Channel::Stable => Some(ReleaseChannel::Stable),
            model::release_channel::Channel::Extended => Some(ReleaseChannel::Extended),
            _ => None,
        }
    }
}

impl std::fmt::Display for ReleaseChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What `getServerConfig` says of one location's versions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ServerVersions {
    /// `validMasterVersions`.
    pub(crate) master: Vec<KubernetesVersion>,
    /// `channels[].validVersions`, per channel.
    pub(crate) channels: Vec<(ReleaseChannel, Vec<KubernetesVersion>)>,
}

impl ServerVersions {
    pub(crate) fn from_model(config: &model::ServerConfig) -> Self {
        let parse = |versions: &[String]| versions.iter().filter_map(|v| parse_gke_version(v)).collect::<Vec<_>>();
        Self {
            master: parse(&config.valid_master_versions),
            channels: config
                .channels
                .iter()
                .filter_map(|c| Some((ReleaseChannel::from_model(&c.channel)?, parse(&c.valid_versions))))
                .collect(),
        }
    }

    /// The versions of `channel`.
    pub(crate) fn of(&self, channel: ReleaseChannel) -> &[KubernetesVersion] {
        self.channels.iter().find(|(c, _)| *c == channel).map(|(_, v)| v.as_slice()).unwrap_or(&[])
    }

    /// What a new cluster may run, sorted and without repeats: the fixed channel's versions;
    /// else the STABLE, REGULAR and RAPID channels' versions and the valid master versions one
    /// of them offers (GKE enrols a cluster created without a channel in one of those three,
    /// so a version none of them offers, EXTENDED's own included, is refused).
    pub(crate) fn offered(&self, fixed: Option<ReleaseChannel>) -> Vec<KubernetesVersion> {
        let mut all: Vec<KubernetesVersion> = match fixed {
            Some(channel) => self.of(channel).to_vec(),
            None => {
                let channels = ReleaseChannel::BY_MATURITY.iter().flat_map(|c| self.of(*c).iter().copied());
                let master = self.master.iter().copied().filter(|v| self.channel_for(*v, None).is_some());
                channels.chain(master).collect()
            }
        };
        all.sort();
        all.dedup();
        all
    }

    /// The channel to run `version` in: the fixed one, else the most mature channel offering
    /// it; `None` when none does.
    pub(crate) fn channel_for(
        &self,
        version: KubernetesVersion,
        fixed: Option<ReleaseChannel>,
    ) -> Option<ReleaseChannel> {
        match fixed {
            Some(channel) => version.offered_by(self.of(channel)).then_some(channel),
            None => ReleaseChannel::BY_MATURITY.into_iter().find(|c| version.offered_by(self.of(*c))),
        }
    }
}

/// `1.31.5-gke.1000` -> 1.31.5.
pub(crate) fn parse_gke_version(text: &str) -> Option<KubernetesVersion> {
    let plain = text.split('-').next()?;
    plain.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> KubernetesVersion {
        text.parse().unwrap()
    }

    #[test]
    fn the_most_mature_channel_offering_a_version_is_chosen_unless_one_is_fixed() {
        let config =
            model::ServerConfig::new().set_valid_master_versions(["1.35.2-gke.100", "1.34.5-gke.200"]).set_channels([
                model::server_config::ReleaseChannelConfig::new()
                    .set_channel(model::release_channel::Channel::Stable)
                    .set_valid_versions(["1.34.5-gke.200"]),
                model::server_config::ReleaseChannelConfig::new()
                    .set_channel(model::release_channel::Channel::Rapid)
                    .set_valid_versions(["1.36.1-gke.50", "1.35.2-gke.100"]),
            ]);
        let versions = ServerVersions::from_model(&config);
        assert_eq!(versions.offered(None), [v("1.34.5"), v("1.35.2"), v("1.36.1")]);
        let extended = model::server_config::ReleaseChannelConfig::new()
            .set_channel(model::release_channel::Channel::Extended)
            .set_valid_versions(["1.31.13-gke.2000"]);
        let with_extended = ServerVersions::from_model(&config.clone().set_channels([extended]));
        assert!(with_extended.offered(None).iter().all(|o| o.minor() != 31), "EXTENDED is only used when fixed");
        assert_eq!(with_extended.offered(Some(ReleaseChannel::Extended)), [v("1.31.13")]);
        assert_eq!(versions.offered(Some(ReleaseChannel::Stable)), [v("1.34.5")]);
        assert_eq!(versions.channel_for(v("1.34"), None), Some(ReleaseChannel::Stable));
        assert_eq!(versions.channel_for(v("1.36"), None), Some(ReleaseChannel::Rapid));
        assert_eq!(versions.channel_for(v("1.36"), Some(ReleaseChannel::Stable)), None);
        assert_eq!(versions.channel_for(v("1.30"), None), None);
        assert_eq!(parse_gke_version("1.31.5-gke.1000"), Some(v("1.31.5")));
        assert_eq!(parse_gke_version("garbage"), None);
    }
}

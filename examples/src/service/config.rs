//! The service's configuration, from its command line.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use fleet::ClusterProvider;
use fleet::engine::EngineOptions;
use fleet::model::{FleetName, ProviderName};
use fleet::provider::ProviderInfo;
use fleet::repository::Repository;
use fleet::sim::SimCloud;

use super::Failure;

/// `--help`.
pub const USAGE: &str = "\
fleet service: Fleet's engine, failover and self-service behind an HTTP API

options:
  --repository DIR      the repository directory (default: the examples' `examples/fleet`)
  --state FILE          the SQLite state file (default: fleet-service/state.db in the temp dir)
  --tokens FILE         teams' bearer tokens, `<team> <token>` a line (default: the demo
                        tokens in examples/service/tokens.txt)
  --listen ADDR         where to listen (default: 127.0.0.1:8080)
  --reload-every SECS   how often the repository's files are looked at (default: 2)
  --provider KIND=NAME  a real provider under the name the repository places clusters on, instead
                        of the simulated clouds: `kind=NAME` (needs kind and Docker) or
                        `eks=NAME` (feature `aws`, credentials from the environment); repeatable
  --seed N              the simulated clouds' seed (default: 1)
";

/// Where clusters are made.
pub enum Providers {
    /// The repository's **simulated** clouds, at service speed ([`crate::service_clouds`]).
    Simulated(Vec<SimCloud>),
    /// Real providers, each under the name the repository places clusters on.
    Given(Vec<Arc<dyn ClusterProvider>>),
}

impl Providers {
    /// What each provider declares.
    pub fn infos(&self) -> Vec<ProviderInfo> {
        match self {
            Providers::Simulated(clouds) => clouds.iter().map(|cloud| cloud.info().clone()).collect(),
            Providers::Given(providers) => providers.iter().map(|provider| provider.info().clone()).collect(),
        }
    }

    fn is_simulated(&self) -> bool {
        matches!(self, Providers::Simulated(_))
    }
}

/// What the service runs on and where it listens.
pub struct ServiceConfig {
    /// The repository directory.
    pub repository: PathBuf,
    /// The SQLite state file; a restart on the same file resumes.
    pub state: PathBuf,
    /// The tokens file.
    pub tokens: PathBuf,
    /// Where to listen (port 0: any free port).
    pub listen: SocketAddr,
    /// How often the repository's files are looked at.
    pub reload_every: Duration,
    /// Where clusters are made.
    pub providers: Providers,
}

impl ServiceConfig {
    /// The examples' defaults with `providers`: `examples/fleet`, the demo tokens, a state file
    /// in the temp dir, 127.0.0.1:8080.
    pub fn new(providers: Providers) -> Self {
        let examples = Path::new(env!("CARGO_MANIFEST_DIR"));
        Self {
            repository: examples.join("fleet"),
            state: std::env::temp_dir().join("fleet-service").join("state.db"),
            tokens: examples.join("service").join("tokens.txt"),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            reload_every: Duration::from_secs(2),
            providers,
        }
    }

    /// The configuration `args` (without the program's name) give; `None` for `--help`.
    ///
    /// # Errors
    /// An unknown option, a missing or bad value, or a provider that cannot be built.
    pub async fn from_args(args: impl IntoIterator<Item = String>) -> Result<Option<Self>, Failure> {
        let mut config = Self::new(Providers::Given(Vec::new()));
        let mut real: Vec<(String, ProviderName)> = Vec::new();
        let mut seed = 1;
        let mut args = args.into_iter();
        while let Some(option) = args.next() {
            if option == "--help" || option == "-h" {
                return Ok(None);
            }
            let value = args.next().ok_or_else(|| format!("{option} needs a value (see --help)"))?;
            let bad = |err: &dyn std::fmt::Display| format!("{option} {value}: {err}");
            match option.as_str() {
                "--repository" => config.repository = value.into(),
                "--state" => config.state = value.into(),
                "--tokens" => config.tokens = value.into(),
                "--listen" => config.listen = value.parse().map_err(|err| bad(&err))?,
                "--reload-every" => {
                    config.reload_every = Duration::from_secs(value.parse().map_err(|err| bad(&err))?);
                }
                "--seed" => seed = value.parse().map_err(|err| bad(&err))?,
                "--provider" => {
                    let (kind, name) = value.split_once('=').ok_or_else(|| bad(&"expected KIND=NAME"))?;
                    real.push((kind.to_owned(), ProviderName::new(name).map_err(|err| bad(&err))?));
                }
                _ => return Err(format!("unknown option `{option}` (see --help)").into()),
            }
        }
        config.providers = if real.is_empty() {
            Providers::Simulated(super::simulated(&config.repository, seed)?)
        } else {
            Providers::Given(real_providers(&config.repository, real).await?)
        };
        Ok(Some(config))
    }

    /// The engine's options: the defaults for real providers; passes every second and quick
    /// polls on the simulated clouds, whose operations take seconds.
    pub fn engine_options(&self) -> EngineOptions {
        let mut options = EngineOptions::default();
        if self.providers.is_simulated() {
            options.reconcile_interval = Duration::from_secs(1);
            options.poll_initial = Duration::from_millis(200);
            options.poll_max = Duration::from_secs(1);
            options.retry_initial = Duration::from_millis(200);
            options.retry_max = Duration::from_secs(5);
            options.shutdown_grace = Duration::from_secs(2);
        }
        options
    }
}

/// Builds each `(kind, name)` provider for the fleet the repository in `dir` declares.
async fn real_providers(
    dir: &Path,
    wanted: Vec<(String, ProviderName)>,
) -> Result<Vec<Arc<dyn ClusterProvider>>, Failure> {
    let repository = Repository::load_dir(dir)?;
    let fleet: FleetName = repository
        .fleet_specs
        .first()
        .map(|(_, spec)| spec.name.clone())
        .ok_or_else(|| format!("{}: no FleetSpec", dir.display()))?;
    let mut providers: Vec<Arc<dyn ClusterProvider>> = Vec::new();
    for (kind, name) in wanted {
        providers.push(match kind.as_str() {
            "kind" => Arc::new(fleet::kind::KindProvider::builder(fleet.clone()).name(name).build()?),
            #[cfg(feature = "aws")]
            "eks" => Arc::new(fleet::aws::EksProviderBuilder::from_env(fleet.clone()).with_name(name).build().await?),
            #[cfg(not(feature = "aws"))]
            "eks" => return Err("--provider eks=NAME needs the `aws` feature (`--features aws`)".into()),
            other => return Err(format!("--provider {other}={name}: unknown kind (expected kind or eks)").into()),
        });
    }
    Ok(providers)
}

//! Running the `kind` command line: finding it on a search path, running it, and turning its
//! failures into errors that say what is missing.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use fleet_core::{Error, Result};
use tokio::process::Command;

/// What to tell someone whose machine lacks `kind`.
const INSTALL_KIND: &str = "install kind (https://kind.sigs.k8s.io/docs/user/quick-start/#installation) and a \
                            container engine (Docker or Podman), then try again";

/// The `kind` executable and how to run it.
#[derive(Debug, Clone)]
pub struct KindCommand {
    program: PathBuf,
}

impl KindCommand {
    /// `kind` as found on `search_path` (a `PATH`-style list of directories).
    pub fn find(search_path: &OsString) -> Result<Self> {
        std::env::split_paths(search_path)
            .map(|dir| dir.join("kind"))
            .find(|candidate| is_executable(candidate))
            .map(|program| Self { program })
            .ok_or_else(|| Error::Provider {
                message: format!("the `kind` command was not found on PATH: {INSTALL_KIND}"),
                source: None,
            })
    }

    /// The executable at `program`.
    pub fn at(program: impl Into<PathBuf>) -> Self {
        Self { program: program.into() }
    }

    /// The executable's path.
    pub fn program(&self) -> &Path {
        &self.program
    }

    /// Runs `kind` with `args`; returns its standard output, or an error carrying what it
    /// printed on standard error (and what to install when the container engine is missing).
    pub async fn run(&self, args: &[&str]) -> Result<String> {
        tracing::debug!(target: "fleet::kind", program = %self.program.display(), ?args, "running kind");
        let output = Command::new(&self.program).args(args).kill_on_drop(true).output().await.map_err(|err| {
            if err.kind() == std::io::ErrorKind::NotFound {
                Error::Provider {
                    message: format!("`{}` cannot be run: {INSTALL_KIND}", self.program.display()),
                    source: None,
                }
            } else {
                Error::Provider { message: format!("running `{}`: {err}", self.program.display()), source: None }
            }
        })?;
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        if output.status.success() {
            return Ok(stdout);
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        let said: String = stderr.trim().chars().take(2000).collect();
        let engine_missing = ["container runtime", "Cannot connect to the Docker daemon", "docker info", "podman"]
            .iter()
            .any(|sign| said.contains(sign));
        let message = if engine_missing {
            format!("`kind {}` found no working container engine: {said}; {INSTALL_KIND}", args.join(" "))
        } else {
            format!("`kind {}` failed ({}): {said}", args.join(" "), output.status)
        };
        Err(Error::Provider { message, source: None })
    }
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

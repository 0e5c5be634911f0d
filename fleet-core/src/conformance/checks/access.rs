//! Credentials: present, redacted, scoped, and never quoted in an error.

use super::Mine;
use crate::conformance::runner::{Kit, Stop, Verdict, ensure, secret_values};
use crate::{CredentialScope, ErrorKind, TeamName};

pub(crate) async fn credentials_are_present_and_redacted(kit: &Kit<'_>) -> Verdict {
    let spec = kit.create_running(Mine, "creds").await?;
    let cluster = kit.ok(kit.provider.get(&spec.id).await, "get")?;
    let credentials = kit.ok(kit.provider.credentials(&spec.id).await, "credentials")?;
    kit.saw_credentials(&credentials);
    let kubeconfig = credentials.expose_kubeconfig();
    ensure!(kubeconfig.contains("clusters:") && kubeconfig.contains("users:"), "the credentials hold no kubeconfig");
    ensure!(kubeconfig.contains(credentials.endpoint()), "the kubeconfig does not name its endpoint");
    if let Some(endpoint) = &cluster.endpoint {
        ensure!(credentials.endpoint() == endpoint, "the credentials name another endpoint than the cluster");
    }
    for shown in [format!("{credentials:?}"), format!("{credentials}")] {
        ensure!(shown.contains("[redacted]"), "credentials print unredacted: {shown}");
        ensure!(!shown.contains(kubeconfig), "credentials print their kubeconfig");
    }
    Ok(())
}

pub(crate) async fn credentials_before_running_are_retryable_or_work(kit: &Kit<'_>) -> Verdict {
    let spec = kit.spec("early");
    kit.ok(kit.create(Mine, &spec).await, "create")?;
    match kit.provider.credentials(&spec.id).await {
        Ok(credentials) => {
            kit.saw_credentials(&credentials);
            let running = kit.wait_running(Mine, &spec.id).await?;
            if let Some(endpoint) = &running.endpoint {
                ensure!(
                    credentials.endpoint() == endpoint,
                    "credentials handed out before the cluster ran name `{}`, the cluster runs at `{endpoint}`",
                    credentials.endpoint()
                );
            }
        }
        Err(err) if err.is_retryable() => {
            kit.saw_error(&err);
            kit.wait_running(Mine, &spec.id).await?;
            let credentials = kit.ok(kit.provider.credentials(&spec.id).await, "credentials once running")?;
            kit.saw_credentials(&credentials);
        }
        Err(err) => {
            kit.saw_error(&err);
            return Err(Stop::Fail(format!(
                "credentials of a cluster not yet running should be retryable or work, got {:?}: {err}",
                err.kind()
            )));
        }
    }
    Ok(())
}

pub(crate) async fn team_credentials_are_scoped(kit: &Kit<'_>) -> Verdict {
    if !kit.provider.info().capabilities.team_credentials {
        return Err(Stop::Skip("the provider declares no team credentials".into()));
    }
    if !kit.ctx.hooks.clusters_serve_kubernetes_api() {
        return Err(Stop::Skip(
            "the backend's clusters serve no Kubernetes API to set team access up in (hook \
             `clusters_serve_kubernetes_api`)"
                .into(),
        ));
    }
    let spec = kit.create_running(Mine, "team").await?;
    let admin = kit.ok(kit.provider.credentials(&spec.id).await, "credentials")?;
    kit.saw_credentials(&admin);
    let team = TeamName::new("conformance").map_err(|err| Stop::Fail(err.to_string()))?;
    let scoped = kit.ok(kit.provider.team_credentials(&spec.id, &team).await, "team credentials")?;
    kit.saw_credentials(&scoped);
    match scoped.scope() {
        CredentialScope::Namespace { namespace, .. } => {
            ensure!(namespace.contains(team.as_str()), "team credentials are scoped to namespace `{namespace}`");
            ensure!(
                scoped.expose_kubeconfig().contains(&format!("namespace: \"{namespace}\""))
                    || scoped.expose_kubeconfig().contains(&format!("namespace: {namespace}")),
                "the team kubeconfig does not default to namespace `{namespace}`"
            );
        }
        other => return Err(Stop::Fail(format!("team credentials have scope {other:?}"))),
    }
    let team_kubeconfig = scoped.expose_kubeconfig();
    for secret in secret_values(admin.expose_kubeconfig()) {
        ensure!(!team_kubeconfig.contains(&secret), "the team kubeconfig holds a cluster-admin secret");
    }
    ensure!(!secret_values(team_kubeconfig).is_empty(), "the team kubeconfig holds no credential of its own");
    Ok(())
}

pub(crate) async fn errors_hide_secrets(kit: &Kit<'_>) -> Verdict {
    let spec = kit.create_running(Mine, "secret").await?;
    let credentials = kit.ok(kit.provider.credentials(&spec.id).await, "credentials")?;
    kit.saw_credentials(&credentials);
    // Errors about the very cluster whose secrets were just handed out.
    let mut wrong = spec.clone();
    wrong.region = crate::Region::new("fleet-nowhere-9").map_err(|err| Stop::Fail(err.to_string()))?;
    let _ = kit.expect_err(
        kit.provider.update(&wrong).await,
        &[ErrorKind::Unsupported, ErrorKind::InvalidSpec],
        "update to an unknown region",
    );
    let _ = kit.expect_err(
        kit.provider.get(&kit.ctx.id("nosecret")).await,
        &[ErrorKind::NotFound],
        "get of a missing cluster",
    );
    let _ = kit.provider.hibernate(&kit.ctx.id("nosecret")).await.map_err(|err| kit.saw_error(&err));
    let (secrets, errors) = kit.evidence();
    ensure!(!secrets.is_empty(), "the credentials hold no token, key or password to look for");
    for error in &errors {
        for secret in &secrets {
            ensure!(
                !error.contains(secret.as_str()),
                "an error quotes a secret: {}",
                error.replace(secret.as_str(), "<secret>")
            );
        }
    }
    Ok(())
}

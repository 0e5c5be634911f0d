//! The read-only properties of a managed cluster, which a request never carries: an update is
//! the cluster as ARM answered it, changed, and PUT back without them.

use serde_json::Value;

use crate::json_path::remove_path;

/// The read-only properties of `ManagedCluster` in api-version [`crate::API_VERSION`]'s API
/// description (`managedClusters.json` of `Azure/azure-rest-api-specs`): `a.b` is property
/// `b` of object `a`, `a[].b` of each item of array `a`, `a{}.b` of each value of map `a`. A
/// test holds the list equal to the one the API description declares.
pub(crate) const READ_ONLY: &[&str] = &[
    "eTag",
    "id",
    "identity.principalId",
    "identity.tenantId",
    "identity.userAssignedIdentities{}.clientId",
    "identity.userAssignedIdentities{}.principalId",
    "name",
    "properties.addonProfiles{}.identity",
    "properties.agentPoolProfiles[].currentOrchestratorVersion",
    "properties.agentPoolProfiles[].eTag",
    "properties.agentPoolProfiles[].localDNSProfile.state",
    "properties.agentPoolProfiles[].provisioningState",
    "properties.agentPoolProfiles[].status.provisioningError",
    "properties.azurePortalFQDN",
    "properties.currentKubernetesVersion",
    "properties.fqdn",
    "properties.ingressProfile.webAppRouting.identity",
    "properties.maxAgentPools",
    "properties.networkProfile.loadBalancerProfile.effectiveOutboundIPs",
    "properties.networkProfile.natGatewayProfile.effectiveOutboundIPs",
    "properties.oidcIssuerProfile.issuerURL",
    "properties.podIdentityProfile.userAssignedIdentities[].provisioningInfo",
    "properties.podIdentityProfile.userAssignedIdentities[].provisioningState",
    "properties.powerState",
    "properties.privateFQDN",
    "properties.privateLinkResources[].privateLinkServiceID",
    "properties.provisioningState",
    "properties.resourceUID",
    "properties.status.provisioningError",
    "systemData",
    "type",
];

/// `body` without any property [`READ_ONLY`] names.
pub(crate) fn without_read_only(mut body: Value) -> Value {
    for path in READ_ONLY {
        remove_path(&mut body, path);
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn read_only_properties_go_wherever_they_are() {
        let answered = json!({"id": "/subscriptions/s", "name": "c", "location": "westeurope", "eTag": "x",
            "identity": {"type": "UserAssigned", "principalId": "p",
                "userAssignedIdentities": {"/id/1": {"clientId": "c1", "principalId": "p1"}}},
            "properties": {"provisioningState": "Succeeded", "kubernetesVersion": "1.35", "fqdn": "f",
                "agentPoolProfiles": [{"name": "system", "count": 1, "provisioningState": "Succeeded",
                    "currentOrchestratorVersion": "1.35.5"}],
                "networkProfile": {"networkPlugin": "azure", "loadBalancerProfile": {"effectiveOutboundIPs": [],
                    "idleTimeoutInMinutes": 10}}}});
        let sent = without_read_only(answered);
        assert_eq!(
            sent,
            json!({"location": "westeurope",
                "identity": {"type": "UserAssigned", "userAssignedIdentities": {"/id/1": {}}},
                "properties": {"kubernetesVersion": "1.35",
                    "agentPoolProfiles": [{"name": "system", "count": 1}],
                    "networkProfile": {"networkPlugin": "azure", "loadBalancerProfile": {"idleTimeoutInMinutes": 10}}}})
        );
    }
}

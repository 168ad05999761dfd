//! Attribution: which principal a write belongs to, and how strongly we know it.
//!
//! [`Attributor::attribute`] completes the "who" columns of a [`WriteRow`] from the credential
//! its session had in force when the write was sent, following DESIGN.md: a credential that
//! resolves in the identity map gives `attributed`; a credential the map does not know gives
//! `credential_only`; no credential but a known client address gives `network_only`; otherwise
//! `unattributed`. Without an identity map every write with a credential is `credential_only`
//! and every other one `unattributed`.
//!
//! Delegations are not checked here: every write leaves with `no_policy`, and a run given
//! delegations then passes its writes in time order through [`crate::delegation`], which
//! needs the identity set here.

use std::sync::Arc;

use crate::evidence::{Attribution, DelegationStatus, WriteRow};
use crate::identity::IdentityMap;

/// Resolves writes against an optional identity map. Cheap to clone (shared map).
#[derive(Clone, Debug, Default)]
pub struct Attributor {
    identities: Option<Arc<IdentityMap>>,
}

impl Attributor {
    pub fn new(identities: Option<Arc<IdentityMap>>) -> Attributor {
        Attributor { identities }
    }

    /// Fills `identity`, `attribution` and the delegation columns of `write`.
    pub fn attribute(&self, write: &mut WriteRow) {
        let map = self.identities.as_deref();
        let (identity, attribution) = if let Some(credential) = &write.credential {
            let by_credential = map.and_then(|m| m.by_credential(credential));
            let by_certificate = || {
                let thumbprint = write.client_certificate.as_deref()?;
                map?.by_certificate(thumbprint)
            };
            match by_credential.or_else(by_certificate) {
                Some(p) => (Some(p.id.clone()), Attribution::Attributed),
                None => (None, Attribution::CredentialOnly),
            }
        } else {
            let e = &write.endpoints;
            match map.and_then(|m| m.by_network(e.client_ip, e.client_mac)) {
                Some(p) => (Some(p.id.clone()), Attribution::NetworkOnly),
                None => (None, Attribution::Unattributed),
            }
        };
        write.identity = identity;
        write.attribution = attribution;
        write.delegation = None;
        write.delegation_status = DelegationStatus::NoPolicy;
        write.approved_by = None;
    }

    /// As [`Attributor::attribute`], and a write whose credential names nobody is still
    /// attributed when one of `aliases` does: the other names (SHA-1 thumbprint, subject) of
    /// the certificate in `client_certificate`, which the identity map may list instead of its
    /// SHA-256 thumbprint.
    pub fn attribute_with_aliases(&self, write: &mut WriteRow, aliases: &[&str]) {
        self.attribute(write);
        if write.attribution != Attribution::CredentialOnly {
            return;
        }
        let map = self.identities.as_deref();
        if let Some(p) = aliases.iter().find_map(|a| map?.by_certificate(a)) {
            write.identity = Some(p.id.clone());
            write.attribution = Attribution::Attributed;
        }
    }
}

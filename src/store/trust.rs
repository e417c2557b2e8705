//! Loading the facts a trust decision needs: the issuer resolved from how the query names it,
//! the named key, the provider's accreditations with their histories, and their agencies.

use std::sync::Arc;

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use super::cache::{Bindings, Generation, OwnerFacts};
use super::compact::{compacted, shared};
use super::entity::*;
use super::{Store, from_doc};
use crate::domain::enums::IdentifierScheme;
use crate::domain::keys;
use crate::domain::model::*;
use crate::domain::trust::{IssuerRef, NamedKey, TrustFacts};
use crate::domain::{DomainError, Timestamp};

type Result<T> = std::result::Result<T, DomainError>;

/// How a query resolved: the facts, or why the issuer is unknown.
pub enum Resolved {
    Known(Box<TrustFacts>),
    Unknown(String),
}

impl Store {
    /// Every binding of an external identifier, oldest first.
    pub(super) async fn identifier_bindings(
        &self,
        scheme: IdentifierScheme,
        value: &str,
    ) -> Result<Bindings> {
        let rows = external_identifier::Entity::find()
            .filter(external_identifier::Column::Scheme.eq(scheme.as_str()))
            .filter(external_identifier::Column::Value.eq(value))
            .order_by_asc(external_identifier::Column::Id)
            .all(&self.db)
            .await?;
        Ok(shared(
            rows.into_iter()
                .map(|row| {
                    (
                        row.owner_id,
                        ExternalIdentifier {
                            scheme,
                            value: row.value,
                            valid_from: row.valid_from.map(Timestamp::from_micros),
                            valid_until: row.valid_until.map(Timestamp::from_micros),
                        },
                    )
                })
                .collect(),
        ))
    }

    /// The owner of an external identifier, preferring the binding valid at `at`, and every
    /// time any of its bindings begins or ends (where the answer may change: to another owner).
    async fn identifier_owner(
        &self,
        generation: Generation,
        scheme: IdentifierScheme,
        value: &str,
        at: Timestamp,
        changes: &mut Vec<Timestamp>,
    ) -> Result<Option<(String, ExternalIdentifier)>> {
        let bindings = self.cached_bindings(generation, scheme, value).await?;
        changes.extend(
            bindings
                .iter()
                .flat_map(|(_, id)| id.valid_from.into_iter().chain(id.valid_until)),
        );
        let current = bindings
            .iter()
            .find(|(_, id)| crate::domain::time::within(at, id.valid_from, id.valid_until));
        Ok(current.or_else(|| bindings.first()).cloned())
    }

    pub(super) async fn key_by_public_key(
        &self,
        public_key: &[u8; 32],
    ) -> Result<Option<(String, ActorKey)>> {
        let row = actor_key::Entity::find()
            .filter(actor_key::Column::PublicKey.eq(public_key.to_vec()))
            .one(&self.db)
            .await?;
        row.map(|row| {
            Ok(compacted((
                row.owner_id.clone(),
                super::catalogue::key_from_row(row)?,
            )))
        })
        .transpose()
    }

    /// The registered key a did:key names, with its owner; `None` for other DIDs.
    async fn did_key_owner(&self, generation: Generation, did: &str) -> Result<Option<(String, ActorKey)>> {
        let Some(rest) = did.strip_prefix("did:key:") else {
            return Ok(None);
        };
        match keys::parse_multibase("did", rest.split('#').next().unwrap_or(rest)) {
            Ok(public) => self.cached_key(generation, &public).await,
            Err(_) => Ok(None),
        }
    }

    /// Resolves the issuer and loads the facts for a decision at `at`, with the size of the log
    /// they reflect: every write in the first `log_size` entries, and none that committed after
    /// the call ended (writes that commit while it runs may or may not be reflected).
    pub async fn trust_facts(
        &self,
        issuer: &IssuerRef,
        key_id: Option<&str>,
        at: Timestamp,
    ) -> Result<(Resolved, u64)> {
        let generation = self.generation().await?;
        let resolved = self.resolve(generation, issuer, key_id, at).await?;
        Ok((resolved, generation.log_size))
    }

    async fn resolve(
        &self,
        generation: Generation,
        issuer: &IssuerRef,
        key_id: Option<&str>,
        at: Timestamp,
    ) -> Result<Resolved> {
        let mut identifier = None;
        let mut identifier_changes = Vec::new();
        let mut implied_key = None;
        let owner = match issuer {
            IssuerRef::ProviderId(id) => Some(id.clone()),
            // A DID, however the query names it. A did:key names its key: when the key is
            // registered, its owner is the issuer and the key's history counts, even if the DID
            // is also registered as an identifier (whose validity then counts too).
            IssuerRef::Did(did) | IssuerRef::External(IdentifierScheme::Did, did) => {
                let local = self.did_key_owner(generation, did).await?;
                let registered = self
                    .identifier_owner(
                        generation,
                        IdentifierScheme::Did,
                        did,
                        at,
                        &mut identifier_changes,
                    )
                    .await?;
                match local {
                    Some((owner, key)) => {
                        implied_key = Some(key);
                        identifier = registered
                            .filter(|(registered_owner, _)| *registered_owner == owner)
                            .map(|(_, found)| found);
                        Some(owner)
                    }
                    None => registered.map(|(owner, found)| {
                        identifier = Some(found);
                        owner
                    }),
                }
            }
            IssuerRef::External(scheme, value) => self
                .identifier_owner(generation, *scheme, value, at, &mut identifier_changes)
                .await?
                .map(|(owner, found)| {
                    identifier = Some(found);
                    owner
                }),
            IssuerRef::PublicKey(public) => self.cached_key(generation, public).await?.map(|(owner, key)| {
                implied_key = Some(key);
                owner
            }),
        };
        let Some(owner) = owner else {
            return Ok(Resolved::Unknown(
                "no provider is registered under that issuer identifier".into(),
            ));
        };
        if !owner.starts_with("prov_") {
            return Ok(Resolved::Unknown(format!("{owner} is not a provider")));
        }
        let Some(owner_facts) = self.cached_owner(generation, &owner).await? else {
            return Ok(Resolved::Unknown(format!("no provider {owner}")));
        };
        let provider = &owner_facts.provider;
        let key = match (key_id, implied_key) {
            (Some(key_id), implied) => {
                if implied.as_ref().is_some_and(|k| k.key_id != key_id) {
                    Some(NamedKey::NotBound(key_id.to_owned()))
                } else {
                    match provider.keys.iter().find(|k| k.key_id == key_id) {
                        Some(key) => Some(NamedKey::Bound(key.clone())),
                        None => Some(NamedKey::NotBound(key_id.to_owned())),
                    }
                }
            }
            (None, Some(implied)) => Some(NamedKey::Bound(implied)),
            (None, None) => None,
        };
        Ok(Resolved::Known(Box::new(TrustFacts {
            provider: owner_facts.provider.clone(),
            identifier,
            identifier_changes,
            key,
            accreditations: owner_facts.accreditations.clone(),
            agencies: owner_facts.agencies.clone(),
        })))
    }

    /// A provider with its keys, accreditations, their histories and agencies.
    pub(super) async fn owner_facts(
        &self,
        generation: Generation,
        owner: &str,
    ) -> Result<Option<Arc<OwnerFacts>>> {
        let Some(provider) = self.provider(owner).await? else {
            return Ok(None);
        };
        let rows = accreditation::Entity::find()
            .filter(accreditation::Column::ProviderId.eq(owner))
            .order_by_asc(accreditation::Column::Id)
            .all(&self.db)
            .await?;
        let accreditations: Vec<Accreditation> =
            rows.iter().map(|row| from_doc(&row.doc)).collect::<Result<_>>()?;
        // A few agencies at most: a list searched in order takes less than a map's table.
        let mut agencies: Vec<Arc<QaAgency>> = Vec::new();
        for accreditation in &accreditations {
            let id = &accreditation.agency_id;
            if !agencies.iter().any(|agency| agency.id == *id)
                && let Some(agency) = self.cached_agency(generation, id).await?
            {
                agencies.push(agency);
            }
        }
        let accreditations = self.with_history(accreditations).await?;
        Ok(Some(Arc::new(OwnerFacts {
            provider: Arc::new(compacted(provider)),
            accreditations: shared(accreditations),
            agencies: Arc::from(agencies),
        })))
    }
}

//! `trustregistry.v1.TrustService`: issuer trust at time T, signed verdicts, credential checks.

use tonic::{Request, Response, Status};

use super::convert::{FromPbEnum, actor_keys, from_timestamp, localized, opt_timestamp, timestamp};
use super::request::{optional_field_of_study, optional_uri};
use super::signing::VerdictSigner;
use crate::domain::enums::IdentifierScheme;
use crate::domain::ids::IdKind;
use crate::domain::note::Checkpoint;
use crate::domain::query::Keyed;
use crate::domain::trust::*;
use crate::domain::verdict::{RegistryKey, query_hash};
use crate::domain::{DomainError, Timestamp, keys};
use crate::pb;
use crate::store::{Resolved, Store};

/// Most queries in one `CheckIssuers` call.
pub const MAX_BATCH: usize = 1_000;

/// The trust service over a store, signing with the registry key.
#[derive(Clone)]
pub struct TrustApi {
    store: Store,
    signer: VerdictSigner,
    /// The log origin, for the checkpoint each verdict names.
    origin: String,
    /// The last checkpoint body a verdict named, with its log size: the same until the log
    /// grows, so it is formatted once per size.
    checkpoint: std::sync::Arc<std::sync::Mutex<(u64, String)>>,
}

/// A validated issuer query.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub issuer: IssuerRef,
    pub key_id: Option<String>,
    pub scope: ScopeQuery,
    pub at: Option<Timestamp>,
}

/// Checks a DID's syntax: `did:<method>:<method-specific id>`.
pub fn check_did(field: &str, did: &str) -> Result<(), DomainError> {
    let mut parts = did.splitn(3, ':');
    let ok = parts.next() == Some("did")
        && parts.next().is_some_and(|m| {
            !m.is_empty() && m.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
        && parts
            .next()
            .is_some_and(|id| !id.is_empty() && !id.chars().any(char::is_whitespace))
        && did.len() <= 2048;
    if !ok {
        return Err(DomainError::invalid(
            field,
            "must be a DID such as did:web:example.org or did:key:z6Mk...",
        ));
    }
    if let Some(rest) = did.strip_prefix("did:key:") {
        keys::parse_multibase(field, rest.split('#').next().unwrap_or(rest))?;
    }
    Ok(())
}

impl Query {
    /// Validates a query; `prefix` is the field path of the query in the request.
    pub fn from_pb(prefix: &str, query: Option<pb::IssuerQuery>) -> Result<Self, DomainError> {
        let f = |name: &str| format!("{prefix}.{name}");
        let pb::IssuerQuery {
            issuer,
            key_id,
            scope,
            at,
        } = query.ok_or_else(|| DomainError::invalid(prefix, "is required"))?;
        let issuer = match issuer {
            None => {
                return Err(DomainError::invalid(
                    f("issuer"),
                    "one of provider_id, did, public_key_multibase, external_identifier is required",
                ));
            }
            Some(pb::issuer_query::Issuer::ProviderId(id)) => {
                IdKind::Provider.check(&f("provider_id"), &id)?;
                IssuerRef::ProviderId(id)
            }
            Some(pb::issuer_query::Issuer::Did(did)) => {
                check_did(&f("did"), &did)?;
                IssuerRef::Did(did)
            }
            Some(pb::issuer_query::Issuer::PublicKeyMultibase(text)) => {
                IssuerRef::PublicKey(keys::parse_multibase(&f("public_key_multibase"), &text)?)
            }
            Some(pb::issuer_query::Issuer::ExternalIdentifier(pb::ExternalIdentifier {
                scheme,
                value,
                ..
            })) => {
                let scheme = IdentifierScheme::from_pb(&f("external_identifier.scheme"), scheme)?
                    .ok_or_else(|| DomainError::invalid(f("external_identifier.scheme"), "is required"))?;
                if value.is_empty() || value.len() > 512 {
                    return Err(DomainError::invalid(
                        f("external_identifier.value"),
                        "must be 1 to 512 bytes",
                    ));
                }
                IssuerRef::External(scheme, value)
            }
        };
        let key_id = if key_id.is_empty() {
            None
        } else if key_id.len() == 40
            && key_id.starts_with("ed25519:")
            && key_id[8..].bytes().all(|b| b.is_ascii_hexdigit())
        {
            Some(key_id)
        } else {
            return Err(DomainError::invalid(
                f("key_id"),
                "must be a registry key id: ed25519: followed by 32 hex digits",
            ));
        };
        let pb::TrustScope {
            credential_type,
            eqf_level,
            field_of_study,
            jurisdiction,
        } = scope.unwrap_or_default();
        let eqf_level = match eqf_level {
            None => None,
            Some(level @ 1..=8) => Some(level as u8),
            Some(_) => {
                return Err(DomainError::invalid(
                    f("scope.eqf_level"),
                    "must be between 1 and 8",
                ));
            }
        };
        let jurisdiction = super::request::optional_country(&f("scope.jurisdiction"), &jurisdiction)?;
        Ok(Self {
            issuer,
            key_id,
            scope: ScopeQuery {
                credential_type: optional_uri(&f("scope.credential_type"), &credential_type)?,
                eqf_level,
                field_of_study: optional_field_of_study(&f("scope.field_of_study"), &field_of_study)?,
                jurisdiction,
            },
            at: from_timestamp(&f("at"), at.as_ref())?,
        })
    }

    /// Hex SHA-256 of the canonical form (see [`query_hash`]).
    pub fn hash(&self) -> String {
        let issuer = match &self.issuer {
            IssuerRef::ProviderId(id) => format!("provider_id:{id}"),
            IssuerRef::Did(did) => format!("did:{did}"),
            IssuerRef::PublicKey(key) => format!("public_key_multibase:{}", keys::multibase(key)),
            IssuerRef::External(scheme, value) => format!("external:{scheme}:{value}"),
        };
        query_hash(&[
            ("issuer", issuer),
            ("key_id", self.key_id.clone().unwrap_or_default()),
            (
                "credential_type",
                self.scope.credential_type.clone().unwrap_or_default(),
            ),
            (
                "eqf_level",
                self.scope.eqf_level.map(|l| l.to_string()).unwrap_or_default(),
            ),
            (
                "field_of_study",
                self.scope.field_of_study.clone().unwrap_or_default(),
            ),
            (
                "jurisdiction",
                self.scope.jurisdiction.clone().unwrap_or_default(),
            ),
            ("at", self.at.map(|t| t.to_rfc3339()).unwrap_or_default()),
        ])
    }
}

fn reason_code(code: ReasonCode) -> pb::TrustReasonCode {
    use pb::TrustReasonCode as P;
    match code {
        ReasonCode::UnknownIssuer => P::UnknownIssuer,
        ReasonCode::IdentifierNotValid => P::IdentifierNotValid,
        ReasonCode::KeyNotBound => P::KeyNotBound,
        ReasonCode::KeyNotValid => P::KeyNotValid,
        ReasonCode::KeyRevoked => P::KeyRevoked,
        ReasonCode::NoAccreditation => P::NoAccreditation,
        ReasonCode::AccreditationNotYetValid => P::AccreditationNotYetValid,
        ReasonCode::AccreditationExpired => P::AccreditationExpired,
        ReasonCode::AccreditationSuspended => P::AccreditationSuspended,
        ReasonCode::AccreditationWithdrawn => P::AccreditationWithdrawn,
        ReasonCode::NegativeDecision => P::NegativeDecision,
        ReasonCode::OutOfScope => P::OutOfScope,
        ReasonCode::AgencyNotAdmitted => P::AgencyNotAdmitted,
    }
}

fn key_state(state: KeyState) -> pb::KeyState {
    match state {
        KeyState::Valid => pb::KeyState::Valid,
        KeyState::NotYetValid => pb::KeyState::NotYetValid,
        KeyState::Expired => pb::KeyState::Expired,
        KeyState::Revoked => pb::KeyState::Revoked,
        KeyState::NotBound => pb::KeyState::NotBound,
    }
}

/// The provider fields a verdict carries.
pub fn provider_summary(provider: &Keyed<crate::domain::model::Provider>) -> pb::ProviderSummary {
    let p = &provider.item;
    pb::ProviderSummary {
        id: p.id.clone(),
        names: localized(p.names.clone()),
        country: p.country.clone(),
        kind: pb::ProviderKind::from(p.kind).into(),
    }
}

impl TrustApi {
    pub fn new(store: Store, registry_key: RegistryKey, origin: String) -> Self {
        Self {
            store,
            signer: VerdictSigner::new(registry_key),
            origin,
            checkpoint: std::sync::Arc::new(std::sync::Mutex::new((u64::MAX, String::new()))),
        }
    }

    /// The body of the checkpoint of the first `size` entries of the log.
    async fn checkpoint_body(&self, size: u64) -> Result<String, DomainError> {
        {
            let last = self.checkpoint.lock().expect("checkpoint lock");
            if last.0 == size {
                return Ok(last.1.clone());
            }
        }
        let body = Checkpoint {
            origin: self.origin.clone(),
            size,
            root: self.store.log_root(size).await?,
        }
        .body();
        let mut last = self.checkpoint.lock().expect("checkpoint lock");
        // Keep the newest: a verdict naming an older size is the exception.
        if last.0 == u64::MAX || last.0 < size {
            *last = (size, body.clone());
        }
        Ok(body)
    }

    /// Evaluates one query and signs the verdict: the verdict and its signed form.
    pub async fn verdict(
        &self,
        query: &Query,
        raw: pb::IssuerQuery,
    ) -> Result<(pb::Verdict, pb::SignedVerdict), DomainError> {
        let verdict = self.evaluate(query, raw).await?;
        let signed = self.signer.sign(&verdict).await;
        Ok((verdict, signed))
    }

    /// Evaluates one query: the verdict to sign.
    async fn evaluate(&self, query: &Query, raw: pb::IssuerQuery) -> Result<pb::Verdict, DomainError> {
        let now = Timestamp::now();
        let at = query.at.unwrap_or(now);
        // The verdict names the checkpoint of the log size its facts were loaded under, not
        // the log's head when it is signed: a write that commits in between is not in the
        // facts, so naming it would claim the verdict reflects a write it does not.
        let (resolved, log_size) = self
            .store
            .trust_facts(&query.issuer, query.key_id.as_deref(), at)
            .await?;
        let (evaluation, provider) = match resolved {
            Resolved::Unknown(why) => (Evaluation::unknown(why), None),
            Resolved::Known(facts) => (
                evaluate(&facts, &query.scope, at),
                Some(provider_summary(&facts.provider)),
            ),
        };
        let Evaluation {
            status,
            reasons,
            in_force,
            key,
            next_update,
        } = evaluation;
        Ok(pb::Verdict {
            query: Some(raw),
            query_hash: query.hash(),
            status: match status {
                TrustStatus::Trusted => pb::TrustStatus::Trusted,
                TrustStatus::NotTrusted => pb::TrustStatus::NotTrusted,
                TrustStatus::UnknownIssuer => pb::TrustStatus::UnknownIssuer,
            }
            .into(),
            reasons: reasons
                .into_iter()
                .map(|r| pb::TrustReason {
                    code: reason_code(r.code).into(),
                    message: r.message,
                    accreditation_id: r.accreditation_id.unwrap_or_default(),
                })
                .collect(),
            requested_at: opt_timestamp(query.at),
            evaluated_at: Some(timestamp(at)),
            provider,
            accreditations: in_force
                .into_iter()
                .map(
                    |InForce {
                         accreditation: a,
                         status,
                         agency_names,
                     }| pb::AccreditationInForce {
                        effective_until: Some(timestamp(a.effective_until())),
                        accreditation_id: a.id,
                        agency_id: a.agency_id,
                        agency_names: localized(agency_names),
                        kind: pb::AccreditationKind::from(a.kind).into(),
                        decision: pb::Decision::from(a.decision).into(),
                        valid_from: Some(timestamp(a.valid_from)),
                        scope: Some(pb::AccreditationScope {
                            eqf_levels: a.scope.eqf_levels.into_iter().map(u32::from).collect(),
                            credential_types: a.scope.credential_types,
                            fields_of_study: a.scope.fields_of_study,
                            jurisdictions: a.scope.jurisdictions,
                        }),
                        status: pb::AccreditationStatus::from(status).into(),
                    },
                )
                .collect(),
            key: key.map(|(key_id, state, bound)| {
                let bound = bound.and_then(|k| actor_keys(vec![k]).pop());
                pb::KeyStatus {
                    key_id,
                    state: key_state(state).into(),
                    valid_from: bound.as_ref().and_then(|k| k.valid_from),
                    valid_until: bound.as_ref().and_then(|k| k.valid_until),
                    revoked_at: bound.and_then(|k| k.revoked_at),
                }
            }),
            next_update: opt_timestamp(next_update),
            issued_at: Some(timestamp(now)),
            checkpoint: self.checkpoint_body(log_size).await?,
            blinding: crate::cli::random_bytes::<16>()
                .map_err(|e| DomainError::Storage(format!("drawing a verdict's blinding bytes: {e}")))?
                .to_vec(),
        })
    }

    pub fn store(&self) -> &Store {
        &self.store
    }
}

#[tonic::async_trait]
impl pb::trust_service_server::TrustService for TrustApi {
    #[tracing::instrument(skip_all)]
    async fn check_issuer(
        &self,
        request: Request<pb::CheckIssuerRequest>,
    ) -> Result<Response<pb::CheckIssuerResponse>, Status> {
        let raw = request.into_inner().query;
        let query = Query::from_pb("query", raw.clone())?;
        let (_, signed) = self.verdict(&query, raw.unwrap_or_default()).await?;
        Ok(Response::new(pb::CheckIssuerResponse {
            verdict: Some(signed),
        }))
    }

    #[tracing::instrument(skip_all, fields(queries = request.get_ref().queries.len()))]
    async fn check_issuers(
        &self,
        request: Request<pb::CheckIssuersRequest>,
    ) -> Result<Response<pb::CheckIssuersResponse>, Status> {
        let raw = request.into_inner().queries;
        if raw.len() > MAX_BATCH {
            return Err(
                DomainError::invalid("queries", format!("must hold at most {MAX_BATCH} queries")).into(),
            );
        }
        let queries = raw
            .iter()
            .enumerate()
            .map(|(i, q)| Query::from_pb(&format!("queries[{i}]"), Some(q.clone())))
            .collect::<Result<Vec<_>, _>>()?;
        let mut verdicts = Vec::with_capacity(queries.len());
        for (query, raw) in queries.iter().zip(raw) {
            verdicts.push(self.evaluate(query, raw).await?);
        }
        // One signature for the whole answer: the verdicts are one tree.
        Ok(Response::new(pb::CheckIssuersResponse {
            verdicts: self.signer.sign_all(&verdicts),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn verify_credential(
        &self,
        request: Request<pb::VerifyCredentialRequest>,
    ) -> Result<Response<pb::VerifyCredentialResponse>, Status> {
        super::credential::verify(self, request.into_inner())
            .await
            .map(Response::new)
            .map_err(Into::into)
    }

    async fn get_registry_key(
        &self,
        _request: Request<pb::GetRegistryKeyRequest>,
    ) -> Result<Response<pb::GetRegistryKeyResponse>, Status> {
        let public = self.signer.key().public_key();
        Ok(Response::new(pb::GetRegistryKeyResponse {
            key_id: self.signer.key().key_id().to_owned(),
            public_key: public.to_vec(),
            public_key_multibase: keys::multibase(&public),
        }))
    }
}

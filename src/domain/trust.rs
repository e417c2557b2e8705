//! The rule that decides whether an issuer is trusted at a time T, for a scope.
//!
//! An issuer is TRUSTED at T when every link of the chain held at T: the identifier (and the
//! signing key, if named) was bound to the provider; and at least one accreditation of the
//! provider was in force — by an agency admitted and not retired, with a positive decision,
//! inside `[valid_from, effective_until)`, in a granted or reinstated period, with a scope
//! covering what was asked. Every interval is half-open.

use std::sync::Arc;

use super::enums::{AccreditationStatus, IdentifierScheme};
use super::model::*;
use super::query::Keyed;
use super::time::{Timestamp, within};

mod scope;
pub use scope::{check_field_of_study, out_of_scope};

/// What a credential claims; `None` is not checked.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScopeQuery {
    pub credential_type: Option<String>,
    pub eqf_level: Option<u8>,
    pub field_of_study: Option<String>,
    pub jurisdiction: Option<String>,
}

/// How a query names the issuer.
#[derive(Debug, Clone, PartialEq)]
pub enum IssuerRef {
    ProviderId(String),
    Did(String),
    PublicKey([u8; 32]),
    External(IdentifierScheme, String),
}

/// The key a query names: bound to the provider or not.
#[derive(Debug, Clone, PartialEq)]
pub enum NamedKey {
    Bound(ActorKey),
    NotBound(String),
}

/// Everything the rule looks at, loaded by the store.
#[derive(Debug, Clone, PartialEq)]
pub struct TrustFacts {
    pub provider: Arc<Keyed<Provider>>,
    /// The external identifier the issuer was found by, with its validity.
    pub identifier: Option<ExternalIdentifier>,
    /// When any binding of the identifier the query named begins or ends, whichever provider
    /// it binds: from then on the identifier may name another provider, and the answer change.
    pub identifier_changes: Vec<Timestamp>,
    pub key: Option<NamedKey>,
    pub accreditations: Arc<[AccreditationRecord]>,
    /// The registered agencies of the accreditations, each once.
    pub agencies: Arc<[Arc<QaAgency>]>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrustStatus {
    Trusted,
    NotTrusted,
    UnknownIssuer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReasonCode {
    UnknownIssuer,
    IdentifierNotValid,
    KeyNotBound,
    KeyNotValid,
    KeyRevoked,
    NoAccreditation,
    AccreditationNotYetValid,
    AccreditationExpired,
    AccreditationSuspended,
    AccreditationWithdrawn,
    NegativeDecision,
    OutOfScope,
    AgencyNotAdmitted,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Reason {
    pub code: ReasonCode,
    pub message: String,
    pub accreditation_id: Option<String>,
}

impl Reason {
    fn new(code: ReasonCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            accreditation_id: None,
        }
    }
    fn about(code: ReasonCode, accreditation: &Accreditation, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            accreditation_id: Some(accreditation.id.clone()),
        }
    }
}

/// The state of a named key at T.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    Valid,
    NotYetValid,
    Expired,
    Revoked,
    NotBound,
}

/// An accreditation in force at T, with its status there.
#[derive(Debug, Clone, PartialEq)]
pub struct InForce {
    pub accreditation: Accreditation,
    pub status: AccreditationStatus,
    pub agency_names: Vec<LocalizedString>,
}

/// The outcome of the rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub status: TrustStatus,
    pub reasons: Vec<Reason>,
    pub in_force: Vec<InForce>,
    pub key: Option<(String, KeyState, Option<ActorKey>)>,
    pub next_update: Option<Timestamp>,
}

impl Evaluation {
    /// The answer for an issuer the registry does not know.
    pub fn unknown(message: impl Into<String>) -> Self {
        Self {
            status: TrustStatus::UnknownIssuer,
            reasons: vec![Reason::new(ReasonCode::UnknownIssuer, message)],
            in_force: Vec::new(),
            key: None,
            next_update: None,
        }
    }
}

/// The state of a key at `at`.
pub fn key_state(key: &ActorKey, at: Timestamp) -> KeyState {
    if key.revoked_at.is_some_and(|revoked| revoked <= at) {
        KeyState::Revoked
    } else if at < key.valid_from {
        KeyState::NotYetValid
    } else if key.valid_until.is_some_and(|until| until <= at) {
        KeyState::Expired
    } else {
        KeyState::Valid
    }
}

/// Why one accreditation is not in force for `asked` at `at`, or its status when it is.
fn assess(
    record: &AccreditationRecord,
    agency: Option<&QaAgency>,
    asked: &ScopeQuery,
    at: Timestamp,
) -> Result<AccreditationStatus, Reason> {
    let a = &record.accreditation;
    let when = at.to_rfc3339();
    match agency {
        Some(agency) if within(at, Some(agency.admitted_at), agency.retired_at) => {}
        Some(agency) => {
            return Err(Reason::about(
                ReasonCode::AgencyNotAdmitted,
                a,
                format!("agency {} was not admitted (or was retired) at {when}", agency.id),
            ));
        }
        None => {
            return Err(Reason::about(
                ReasonCode::AgencyNotAdmitted,
                a,
                format!("agency {} is not admitted", a.agency_id),
            ));
        }
    }
    if !a.decision.is_positive() {
        return Err(Reason::about(
            ReasonCode::NegativeDecision,
            a,
            format!("decision of {} is negative", a.id),
        ));
    }
    if at < a.valid_from {
        return Err(Reason::about(
            ReasonCode::AccreditationNotYetValid,
            a,
            format!("{} is valid from {}", a.id, a.valid_from.to_rfc3339()),
        ));
    }
    if a.effective_until() <= at {
        return Err(Reason::about(
            ReasonCode::AccreditationExpired,
            a,
            format!("{} expired at {}", a.id, a.effective_until().to_rfc3339()),
        ));
    }
    let period = record
        .history
        .iter()
        .find(|p| within(at, Some(p.effective_from), p.effective_until));
    let status = match period {
        Some(p) if p.status.in_force() => p.status,
        Some(p) if p.status == AccreditationStatus::Suspended => {
            return Err(Reason::about(
                ReasonCode::AccreditationSuspended,
                a,
                format!(
                    "{} was suspended from {} ({})",
                    a.id,
                    p.effective_from.to_rfc3339(),
                    p.reason
                ),
            ));
        }
        Some(p) => {
            return Err(Reason::about(
                ReasonCode::AccreditationWithdrawn,
                a,
                format!(
                    "{} was withdrawn from {} ({})",
                    a.id,
                    p.effective_from.to_rfc3339(),
                    p.reason
                ),
            ));
        }
        None => {
            return Err(Reason::about(
                ReasonCode::NoAccreditation,
                a,
                format!("{} has no status at {when}", a.id),
            ));
        }
    };
    if let Some(why) = out_of_scope(&a.scope, asked) {
        return Err(Reason::about(
            ReasonCode::OutOfScope,
            a,
            format!("{}: {why}", a.id),
        ));
    }
    Ok(status)
}

/// Applies the rule to the facts at `at`.
pub fn evaluate(facts: &TrustFacts, asked: &ScopeQuery, at: Timestamp) -> Evaluation {
    let mut reasons = Vec::new();
    let mut boundaries: Vec<Timestamp> = Vec::new();

    boundaries.extend(facts.identifier_changes.iter().copied());
    if let Some(identifier) = &facts.identifier {
        boundaries.extend(identifier.valid_from.iter().chain(identifier.valid_until.iter()));
        if !within(at, identifier.valid_from, identifier.valid_until) {
            reasons.push(Reason::new(
                ReasonCode::IdentifierNotValid,
                format!(
                    "identifier {} was not bound to {} at {}",
                    identifier.value,
                    facts.provider.item.id,
                    at.to_rfc3339()
                ),
            ));
        }
    }
    let key = facts.key.as_ref().map(|named| match named {
        NamedKey::NotBound(key_id) => {
            reasons.push(Reason::new(
                ReasonCode::KeyNotBound,
                format!("key {key_id} is not a key of {}", facts.provider.item.id),
            ));
            (key_id.clone(), KeyState::NotBound, None)
        }
        NamedKey::Bound(key) => {
            boundaries.push(key.valid_from);
            boundaries.extend(key.valid_until.iter().chain(key.revoked_at.iter()));
            let state = key_state(key, at);
            match state {
                KeyState::Valid => {}
                KeyState::Revoked => reasons.push(Reason::new(
                    ReasonCode::KeyRevoked,
                    format!(
                        "key {} was revoked at {}",
                        key.key_id,
                        key.revoked_at.map(|t| t.to_rfc3339()).unwrap_or_default()
                    ),
                )),
                _ => reasons.push(Reason::new(
                    ReasonCode::KeyNotValid,
                    format!("key {} was not valid at {}", key.key_id, at.to_rfc3339()),
                )),
            }
            (key.key_id.clone(), state, Some(key.clone()))
        }
    });

    let mut in_force = Vec::new();
    let mut accreditation_reasons = Vec::new();
    for record in facts.accreditations.iter() {
        let a = &record.accreditation;
        let agency = facts
            .agencies
            .iter()
            .find(|agency| agency.id == a.agency_id)
            .map(Arc::as_ref);
        boundaries.extend([a.valid_from, a.effective_until()]);
        for period in &record.history {
            boundaries.push(period.effective_from);
            boundaries.extend(period.effective_until.iter());
        }
        if let Some(agency) = agency {
            boundaries.push(agency.admitted_at);
            boundaries.extend(agency.retired_at.iter());
        }
        match assess(record, agency, asked, at) {
            Ok(status) => in_force.push(InForce {
                accreditation: a.clone(),
                status,
                agency_names: agency.map(|g| g.names.clone()).unwrap_or_default(),
            }),
            Err(reason) => accreditation_reasons.push(reason),
        }
    }
    if facts.accreditations.is_empty() {
        accreditation_reasons.push(Reason::new(
            ReasonCode::NoAccreditation,
            format!("{} has no accreditation", facts.provider.item.id),
        ));
    }
    if in_force.is_empty() {
        reasons.extend(accreditation_reasons);
    }
    let status = if reasons.is_empty() {
        TrustStatus::Trusted
    } else {
        TrustStatus::NotTrusted
    };
    let next_update = boundaries.into_iter().filter(|b| *b > at).min();
    Evaluation {
        status,
        reasons,
        in_force,
        key,
        next_update,
    }
}

#[cfg(test)]
mod tests;

//! `TrustService.VerifyCredential`: the checks a verifier needs, answered from registry data
//! only (did:key is decoded locally; nothing is fetched from the network).

use super::convert::{from_timestamp, timestamp};
use super::trust::{Query, TrustApi, provider_summary};
use crate::domain::credential::{self, MAX_CREDENTIAL_BYTES};
use crate::domain::ids::IdKind;
use crate::domain::keys;
use crate::domain::model::ActorKey;
use crate::domain::trust::{IssuerRef, ScopeQuery};
use crate::domain::{DomainError, Timestamp};
use crate::pb::{self, CheckKind, CheckResult};

/// The registry URI prefix of qualifications (see `convert::qualification_uri`).
const QUALIFICATION_URN: &str = "urn:trust-registry:qualification:";

struct Report {
    checks: Vec<pb::Check>,
}

impl Report {
    fn add(&mut self, kind: CheckKind, result: CheckResult, detail: impl Into<String>) {
        self.checks.push(pb::Check {
            kind: kind.into(),
            result: result.into(),
            detail: detail.into(),
        });
    }

    fn result_of(&self, kind: CheckKind) -> CheckResult {
        self.checks
            .iter()
            .find(|c| c.kind == kind as i32)
            .and_then(|c| CheckResult::try_from(c.result).ok())
            .unwrap_or(CheckResult::Unspecified)
    }

    /// PASSED when every check passed, except that QUALIFICATION may be skipped (a credential
    /// need not name a registered micro-credential).
    fn overall(&self) -> CheckResult {
        let essential = [
            CheckKind::Format,
            CheckKind::Signature,
            CheckKind::IssuerKey,
            CheckKind::IssuerAccreditation,
            CheckKind::Validity,
        ];
        let qualification = self.result_of(CheckKind::Qualification);
        if essential
            .iter()
            .all(|k| self.result_of(*k) == CheckResult::Passed)
            && qualification != CheckResult::Failed
        {
            CheckResult::Passed
        } else {
            CheckResult::Failed
        }
    }

    fn skip_rest(&mut self, from: &[CheckKind], why: &str) {
        for kind in from {
            self.add(*kind, CheckResult::Skipped, why);
        }
    }
}

/// Reads a credential secured as `format` says; the error says why it is not a credential the
/// registry can check. The command line reads the credential it sent the same way, to hold the
/// answer's issuer verdict to the credential's issuer and issuance.
pub fn parse(format: pb::CredentialFormat, text: &str) -> Result<credential::Credential, String> {
    match format {
        pb::CredentialFormat::Jws => credential::parse_jws(text.trim()),
        pb::CredentialFormat::DataIntegrity => credential::parse_data_integrity(text.trim()),
        pb::CredentialFormat::Unspecified | pb::CredentialFormat::Auto => credential::parse(text),
    }
}

pub async fn verify(
    api: &TrustApi,
    request: pb::VerifyCredentialRequest,
) -> Result<pb::VerifyCredentialResponse, DomainError> {
    let pb::VerifyCredentialRequest {
        credential: text,
        format,
        at,
    } = request;
    if text.len() > MAX_CREDENTIAL_BYTES {
        return Err(DomainError::invalid(
            "credential",
            format!("must be at most {MAX_CREDENTIAL_BYTES} bytes"),
        ));
    }
    if text.trim().is_empty() {
        return Err(DomainError::invalid("credential", "is required"));
    }
    let format = match pb::CredentialFormat::try_from(format) {
        Ok(f) => f,
        Err(_) => {
            return Err(DomainError::invalid(
                "format",
                format!("{format} is not a value of CredentialFormat"),
            ));
        }
    };
    let verify_at = from_timestamp("at", at.as_ref())?.unwrap_or_else(Timestamp::now);
    let mut report = Report { checks: Vec::new() };
    let rest = [
        CheckKind::Signature,
        CheckKind::IssuerKey,
        CheckKind::IssuerAccreditation,
        CheckKind::Qualification,
        CheckKind::Validity,
    ];

    let credential = match parse(format, &text) {
        Ok(c) => c,
        Err(why) => {
            report.add(CheckKind::Format, CheckResult::Failed, why);
            report.skip_rest(&rest, "the credential could not be read");
            return Ok(response(report, None, None, None));
        }
    };
    let securing = match &credential.securing {
        credential::Securing::Jws { .. } => "compact JWS (EdDSA)",
        credential::Securing::DataIntegrity { .. } => "Data Integrity proof (eddsa-jcs-2022)",
    };
    report.add(
        CheckKind::Format,
        CheckResult::Passed,
        format!("W3C Verifiable Credential secured as a {securing}"),
    );

    // The issuer, from registry data only.
    let issuer_ref = credential.issuer_ref();
    let facts = match api
        .store()
        .trust_facts(&issuer_ref, None, credential.issued_at)
        .await
    {
        Ok((crate::store::Resolved::Known(facts), _)) => Some(facts),
        Ok((crate::store::Resolved::Unknown(_), _)) => None,
        // A malformed issuer DID is the credential's fault, not the request's.
        Err(DomainError::InvalidArgument { rule, .. }) => {
            report.checks.clear();
            report.add(CheckKind::Format, CheckResult::Failed, format!("issuer: {rule}"));
            report.skip_rest(&rest, "the credential could not be read");
            return Ok(response(report, None, None, Some(credential.issued_at)));
        }
        Err(other) => return Err(other),
    };

    // SIGNATURE: with the did:key the credential names, or with the provider's registered keys.
    let candidates: Vec<([u8; 32], Option<ActorKey>)> = match (credential.did_key(), &facts) {
        (Some(public), Some(facts)) => {
            vec![(
                public,
                facts
                    .provider
                    .keys
                    .iter()
                    .find(|k| k.public_key == public)
                    .cloned(),
            )]
        }
        (Some(public), None) => vec![(public, None)],
        (None, Some(facts)) => facts
            .provider
            .keys
            .iter()
            .map(|k| (k.public_key, Some(k.clone())))
            .collect(),
        (None, None) => Vec::new(),
    };
    let verified = candidates
        .iter()
        .find(|(public, _)| credential.signature_verifies(public));
    match verified {
        Some((public, _)) => report.add(
            CheckKind::Signature,
            CheckResult::Passed,
            format!("verifies with {}", keys::multibase(public)),
        ),
        None if candidates.is_empty() => report.add(
            CheckKind::Signature,
            CheckResult::Failed,
            "no key to check the signature with: the issuer is unknown and the credential names no did:key",
        ),
        None => report.add(
            CheckKind::Signature,
            CheckResult::Failed,
            "the signature does not verify with any key of the issuer",
        ),
    }

    // ISSUER_KEY: the signing key is bound to the provider and was valid when the credential was issued.
    let signing_key = verified.and_then(|(_, key)| key.clone());
    match (&facts, verified, &signing_key) {
        (None, _, _) => report.add(
            CheckKind::IssuerKey,
            CheckResult::Failed,
            format!(
                "the issuer {} is not registered with the registry",
                credential.issuer_id
            ),
        ),
        (Some(_), None, _) => report.add(
            CheckKind::IssuerKey,
            CheckResult::Failed,
            "no key of the issuer made the signature",
        ),
        (Some(facts), Some(_), None) => report.add(
            CheckKind::IssuerKey,
            CheckResult::Failed,
            format!("the signing key is not a key of {}", facts.provider.item.id),
        ),
        (Some(_), Some(_), Some(key)) if key.usable_at(credential.issued_at) => report.add(
            CheckKind::IssuerKey,
            CheckResult::Passed,
            format!(
                "key {} was valid at issuance ({})",
                key.key_id,
                credential.issued_at.to_rfc3339()
            ),
        ),
        (Some(_), Some(_), Some(key)) => report.add(
            CheckKind::IssuerKey,
            CheckResult::Failed,
            match key.revoked_at {
                Some(revoked) if revoked <= credential.issued_at => format!(
                    "key {} was revoked at {}, before the credential's issuance ({})",
                    key.key_id,
                    revoked.to_rfc3339(),
                    credential.issued_at.to_rfc3339()
                ),
                _ => format!(
                    "key {} was not valid at issuance ({})",
                    key.key_id,
                    credential.issued_at.to_rfc3339()
                ),
            },
        ),
    }

    // QUALIFICATION: the micro-credential it names is registered by that provider.
    let mut scope = ScopeQuery::default();
    // Only an id in the registry's namespace names a registered micro-credential; any other
    // achievement id (such as an Open Badges achievement's own URL) is not the registry's to judge.
    let qualification_id = credential.achievement_id.as_deref().and_then(|id| {
        id.strip_prefix(QUALIFICATION_URN)
            .or_else(|| id.starts_with("qual_").then_some(id))
            .map(str::to_owned)
    });
    match (&qualification_id, &facts) {
        (None, _) => report.add(
            CheckKind::Qualification,
            CheckResult::Skipped,
            match &credential.achievement_id {
                Some(other) => format!(
                    "the credential names no registered micro-credential: achievement.id {other} is not a {QUALIFICATION_URN} URI"
                ),
                None => "the credential names no registered micro-credential (credentialSubject.achievement.id)".into(),
            },
        ),
        (Some(id), _) if IdKind::Qualification.check("achievement.id", id).is_err() => report.add(
            CheckKind::Qualification,
            CheckResult::Failed,
            format!("achievement.id {id} is not a registry qualification URI ({QUALIFICATION_URN}qual_...)"),
        ),
        (Some(_), None) => report.add(
            CheckKind::Qualification,
            CheckResult::Skipped,
            "the issuer is unknown",
        ),
        (Some(id), Some(facts)) => match api.store().qualification_scope(id).await? {
            None => report.add(
                CheckKind::Qualification,
                CheckResult::Failed,
                format!("no micro-credential {id} is registered"),
            ),
            Some(q)
                if q.provider_id != facts.provider.item.id
                    && !q.awarding_body_ids.contains(&facts.provider.item.id) =>
            {
                report.add(
                    CheckKind::Qualification,
                    CheckResult::Failed,
                    format!(
                        "{id} is registered by {}, not by the issuer {}",
                        q.provider_id, facts.provider.item.id
                    ),
                )
            }
            Some(q) if q.withdrawn_at.is_some_and(|w| w <= credential.issued_at) => report.add(
                CheckKind::Qualification,
                CheckResult::Failed,
                format!("{id} was withdrawn before the credential was issued"),
            ),
            Some(q) => {
                scope.eqf_level = q.eqf_level;
                scope.credential_type = Some(q.credential_type.clone()).filter(|t| !t.is_empty());
                scope.field_of_study = Some(q.field_of_study.clone()).filter(|f| !f.is_empty());
                let level = q
                    .eqf_level
                    .map(|l| format!("EQF level {l}"))
                    .unwrap_or_else(|| "no EQF level".into());
                report.add(CheckKind::Qualification, CheckResult::Passed, format!("{id} is registered by the issuer ({level}); its scope is checked by ISSUER_ACCREDITATION"))
            }
        },
    }

    // ISSUER_ACCREDITATION: the signed verdict at the issuance time, for that scope.
    let mut issuer = None;
    let mut verdict = None;
    if let Some(facts) = &facts {
        issuer = Some(provider_summary(&facts.provider));
        // Asked about the issuer as the credential names it, with the key that signed it: the
        // verdict then also holds the issuer's identifier to its validity at issuance and a
        // did:key issuer to its own key (trust rule 4), as CheckIssuer does for that query.
        let raw_issuer = match &issuer_ref {
            IssuerRef::ProviderId(id) => pb::issuer_query::Issuer::ProviderId(id.clone()),
            IssuerRef::Did(did) => pb::issuer_query::Issuer::Did(did.clone()),
            IssuerRef::PublicKey(public) => {
                pb::issuer_query::Issuer::PublicKeyMultibase(keys::multibase(public))
            }
            IssuerRef::External(scheme, value) => {
                pb::issuer_query::Issuer::ExternalIdentifier(pb::ExternalIdentifier {
                    scheme: pb::IdentifierScheme::from(*scheme).into(),
                    value: value.clone(),
                    valid_from: None,
                    valid_until: None,
                })
            }
        };
        let query = Query {
            issuer: issuer_ref.clone(),
            key_id: signing_key.as_ref().map(|k| k.key_id.clone()),
            scope: scope.clone(),
            at: Some(credential.issued_at),
        };
        let raw = pb::IssuerQuery {
            issuer: Some(raw_issuer),
            key_id: query.key_id.clone().unwrap_or_default(),
            scope: Some(pb::TrustScope {
                credential_type: scope.credential_type.clone().unwrap_or_default(),
                eqf_level: scope.eqf_level.map(u32::from),
                field_of_study: scope.field_of_study.clone().unwrap_or_default(),
                jurisdiction: String::new(),
            }),
            at: Some(timestamp(credential.issued_at)),
        };
        let (v, signed) = api.verdict(&query, raw).await?;
        let trusted = v.status == pb::TrustStatus::Trusted as i32;
        let detail = if trusted {
            format!(
                "trusted at {}: {} accreditation(s) in force",
                credential.issued_at.to_rfc3339(),
                v.accreditations.len()
            )
        } else {
            v.reasons
                .iter()
                .map(|r| r.message.clone())
                .collect::<Vec<_>>()
                .join("; ")
        };
        report.add(
            CheckKind::IssuerAccreditation,
            if trusted {
                CheckResult::Passed
            } else {
                CheckResult::Failed
            },
            detail,
        );
        verdict = Some(signed);
        if let Some(claimed) = &credential.issuer_name
            && !facts.provider.item.names.iter().any(|n| &n.value == claimed)
        {
            tracing::debug!(
                claimed,
                "credential names its issuer differently from the registry"
            );
        }
    } else {
        report.add(
            CheckKind::IssuerAccreditation,
            CheckResult::Failed,
            format!("the issuer {} is unknown to the registry", credential.issuer_id),
        );
    }

    // VALIDITY at the verification time.
    let validity = match (credential.valid_from, credential.valid_until) {
        (Some(from), _) if verify_at < from => Err(format!("not valid before {}", from.to_rfc3339())),
        (_, Some(until)) if until <= verify_at => Err(format!("expired at {}", until.to_rfc3339())),
        _ => Ok(format!("valid at {}", verify_at.to_rfc3339())),
    };
    match validity {
        Ok(detail) => report.add(CheckKind::Validity, CheckResult::Passed, detail),
        Err(detail) => report.add(CheckKind::Validity, CheckResult::Failed, detail),
    }
    Ok(response(report, verdict, issuer, Some(credential.issued_at)))
}

fn response(
    report: Report,
    issuer_verdict: Option<pb::SignedVerdict>,
    issuer: Option<pb::ProviderSummary>,
    issued_at: Option<Timestamp>,
) -> pb::VerifyCredentialResponse {
    let mut checks = report.checks.clone();
    checks.sort_by_key(|c| c.kind);
    pb::VerifyCredentialResponse {
        result: report.overall().into(),
        checks,
        issuer_verdict,
        issuer,
        issued_at: issued_at.map(timestamp),
    }
}

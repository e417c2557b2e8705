//! Whether a verified verdict answers the question. The registry's signature covers a verdict,
//! not the call it came back on: a genuine verdict about another issuer, scope or time verifies
//! as well as the right one, so anyone between the command line and the registry could answer
//! with any verdict they once obtained. `check-issuer` and `verify` accept a verdict only once
//! it is about what they asked (README, "Verifying a verdict offline", step 4).

use anyhow::{anyhow, bail};

use crate::api::trust::Query;
use crate::domain::credential::Credential;
use crate::domain::trust::IssuerRef;
use crate::domain::{Timestamp, keys};
use crate::pb;

/// Checks that `verdict` answers `asked`, the query `check-issuer` sent: its `query` echoes
/// `asked` field for field and its `query_hash` is the canonical hash of `asked`.
pub fn check_answers(verdict: &pb::Verdict, asked: &pb::IssuerQuery) -> anyhow::Result<()> {
    if verdict.query.as_ref() != Some(asked) {
        bail!(
            "the verdict answers another question ({}), not the one asked ({}): refused",
            json(&verdict.query),
            json(asked)
        );
    }
    signed_query(verdict).map(drop)
}

/// Checks that `verdict`, the issuer verdict of a `verify` answer, is about `credential` (its
/// issuer as the credential names it, at the credential's issuance) and that the answer's
/// unsigned fields agree with it where they tell the outcome: a PASSED result and a PASSED
/// ISSUER_ACCREDITATION need a TRUSTED verdict, and the issuer and issuance time printed are
/// the verdict's.
pub fn check_about_credential(
    verdict: &pb::Verdict,
    credential: &Credential,
    response: &pb::VerifyCredentialResponse,
) -> anyhow::Result<()> {
    let query = signed_query(verdict)?;
    let issuer = credential.issuer_ref();
    if query.issuer != issuer {
        bail!(
            "the issuer verdict is about {}, not about the credential's issuer {}: refused",
            issuer_text(&query.issuer),
            issuer_text(&issuer)
        );
    }
    let issued_at = credential.issued_at;
    if query.at != Some(issued_at) {
        bail!(
            "the issuer verdict is about the time {}, not the credential's issuance ({}): refused",
            time_text(query.at),
            issued_at.to_rfc3339()
        );
    }
    let said_issued_at = response
        .issued_at
        .as_ref()
        .and_then(|t| Timestamp::from_seconds_nanos(t.seconds, t.nanos));
    if said_issued_at != Some(issued_at) {
        bail!(
            "the answer gives the issuance time {}, but the credential was issued at {}: refused",
            said_issued_at
                .map(Timestamp::to_rfc3339)
                .unwrap_or_else(|| "none".into()),
            issued_at.to_rfc3339()
        );
    }
    let trusted = verdict.status == pb::TrustStatus::Trusted as i32;
    let status = status_text(verdict.status);
    if response.result == pb::CheckResult::Passed as i32 && !trusted {
        bail!("the answer says PASSED, but the signed issuer verdict says {status}: refused");
    }
    let accreditation = response
        .checks
        .iter()
        .find(|c| c.kind == pb::CheckKind::IssuerAccreditation as i32);
    if let Some(check) = accreditation
        && (check.result == pb::CheckResult::Passed as i32) != trusted
    {
        bail!(
            "the answer's ISSUER_ACCREDITATION check disagrees with the signed issuer verdict, which says {status}: refused"
        );
    }
    if let Some(named) = &response.issuer {
        let signed = verdict.provider.as_ref().map(|p| p.id.as_str());
        if signed != Some(named.id.as_str()) {
            bail!(
                "the answer names the issuer {}, but the signed issuer verdict is about {}: refused",
                named.id,
                signed.unwrap_or("no provider")
            );
        }
    }
    Ok(())
}

/// The query a verdict answers, once its `query_hash` is the canonical hash of its `query`: a
/// verdict kept as evidence is filed and compared by that hash.
fn signed_query(verdict: &pb::Verdict) -> anyhow::Result<Query> {
    let query = Query::from_pb("query", verdict.query.clone())
        .map_err(|e| anyhow!("the verdict's query is not a valid query ({e}): refused"))?;
    let hash = query.hash();
    if verdict.query_hash != hash {
        bail!(
            "the verdict's query_hash {} is not the hash of its query ({hash}): refused",
            verdict.query_hash
        );
    }
    Ok(query)
}

fn json(query: &impl serde::Serialize) -> String {
    serde_json::to_string(query).unwrap_or_else(|e| format!("unprintable: {e}"))
}

fn issuer_text(issuer: &IssuerRef) -> String {
    match issuer {
        IssuerRef::ProviderId(id) => id.clone(),
        IssuerRef::Did(did) => did.clone(),
        IssuerRef::PublicKey(public) => keys::multibase(public),
        IssuerRef::External(scheme, value) => format!("{scheme} {value}"),
    }
}

/// A query's time: none is "now".
fn time_text(t: Option<Timestamp>) -> String {
    t.map(Timestamp::to_rfc3339).unwrap_or_else(|| "now".into())
}

fn status_text(status: i32) -> String {
    pb::TrustStatus::try_from(status)
        .map(|s| s.as_str_name().trim_start_matches("TRUST_STATUS_").to_owned())
        .unwrap_or_else(|_| format!("status {status}"))
}

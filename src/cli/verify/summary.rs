//! The answers of `check-issuer` and `verify` as text for people.

use super::*;

fn when(t: Option<&pbjson_types::Timestamp>) -> String {
    t.and_then(|t| Timestamp::from_seconds_nanos(t.seconds, t.nanos))
        .map(Timestamp::to_rfc3339)
        .unwrap_or_else(|| "-".into())
}

fn enum_name(name: Option<&str>, prefix: &str) -> String {
    name.map(|n| n.strip_prefix(prefix).unwrap_or(n).to_owned())
        .unwrap_or_else(|| "?".into())
}

fn names(names: &[pb::LocalizedString]) -> String {
    names
        .iter()
        .map(|n| n.value.as_str())
        .collect::<Vec<_>>()
        .join(" / ")
}

fn provider_line(p: &pb::ProviderSummary) -> String {
    format!("{}  {} ({})", p.id, names(&p.names), p.country)
}

/// A verified verdict for people.
pub fn verdict_summary(v: &pb::Verdict, signed: &pb::SignedVerdict) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let status = pb::TrustStatus::try_from(v.status).ok().map(|s| s.as_str_name());
    let _ = writeln!(out, "status:        {}", enum_name(status, "TRUST_STATUS_"));
    if let Some(p) = &v.provider {
        let _ = writeln!(out, "provider:      {}", provider_line(p));
    }
    let _ = writeln!(out, "evaluated at:  {}", when(v.evaluated_at.as_ref()));
    if let Some(k) = &v.key {
        let state = pb::KeyState::try_from(k.state).ok().map(|s| s.as_str_name());
        let _ = writeln!(
            out,
            "key:           {} {} (valid from {}, until {}{})",
            k.key_id,
            enum_name(state, "KEY_STATE_"),
            when(k.valid_from.as_ref()),
            when(k.valid_until.as_ref()),
            k.revoked_at
                .as_ref()
                .map(|r| format!(", revoked {}", when(Some(r))))
                .unwrap_or_default()
        );
    }
    if v.reasons.is_empty() {
        let _ = writeln!(out, "reasons:       none");
    } else {
        let _ = writeln!(out, "reasons:");
        for r in &v.reasons {
            let code = pb::TrustReasonCode::try_from(r.code)
                .ok()
                .map(|c| c.as_str_name());
            let _ = writeln!(
                out,
                "  - {}: {}",
                enum_name(code, "TRUST_REASON_CODE_"),
                r.message
            );
        }
    }
    let _ = writeln!(out, "accreditations in force: {}", v.accreditations.len());
    for a in &v.accreditations {
        let kind = pb::AccreditationKind::try_from(a.kind)
            .ok()
            .map(|k| k.as_str_name());
        let status = pb::AccreditationStatus::try_from(a.status)
            .ok()
            .map(|s| s.as_str_name());
        let _ = writeln!(
            out,
            "  - {} by {} {}: {}, {}, from {} until {}",
            a.accreditation_id,
            a.agency_id,
            names(&a.agency_names),
            enum_name(kind, "ACCREDITATION_KIND_"),
            enum_name(status, "ACCREDITATION_STATUS_"),
            when(a.valid_from.as_ref()),
            when(a.effective_until.as_ref()),
        );
        if let Some(scope) = &a.scope {
            let mut parts = Vec::new();
            if !scope.eqf_levels.is_empty() {
                let levels: Vec<String> = scope.eqf_levels.iter().map(u32::to_string).collect();
                parts.push(format!("EQF {}", levels.join(", ")));
            }
            for (label, list) in [
                ("types", &scope.credential_types),
                ("fields", &scope.fields_of_study),
                ("jurisdictions", &scope.jurisdictions),
            ] {
                if !list.is_empty() {
                    parts.push(format!("{label} {}", list.join(", ")));
                }
            }
            if !parts.is_empty() {
                let _ = writeln!(out, "    scope: {}", parts.join("; "));
            }
        }
    }
    let _ = writeln!(
        out,
        "next update:   {}",
        match &v.next_update {
            Some(t) => format!("{} (the answer holds until then)", when(Some(t))),
            None => "none scheduled".into(),
        }
    );
    let _ = writeln!(out, "signed by:     {} (registry key)", signed.registry_key_id);
    out
}

/// A credential verification for people; `verdict` is the issuer verdict, verified.
pub fn verification_summary(
    response: &pb::VerifyCredentialResponse,
    verdict: Option<&pb::Verdict>,
) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let result = |value: i32| {
        enum_name(
            pb::CheckResult::try_from(value).ok().map(|r| r.as_str_name()),
            "CHECK_RESULT_",
        )
    };
    let _ = writeln!(out, "result: {}", result(response.result));
    for check in &response.checks {
        let kind = enum_name(
            pb::CheckKind::try_from(check.kind).ok().map(|k| k.as_str_name()),
            "CHECK_KIND_",
        );
        let _ = writeln!(out, "  {kind:<22} {:<8} {}", result(check.result), check.detail);
    }
    if let Some(issuer) = &response.issuer {
        let _ = writeln!(out, "issuer (registry): {}", provider_line(issuer));
    }
    if response.issued_at.is_some() {
        let _ = writeln!(out, "issued at:         {}", when(response.issued_at.as_ref()));
    }
    if let (Some(signed), Some(v)) = (&response.issuer_verdict, verdict) {
        let status = pb::TrustStatus::try_from(v.status).ok().map(|s| s.as_str_name());
        let scope = v.query.as_ref().and_then(|q| q.scope.as_ref());
        let _ = writeln!(
            out,
            "issuer verdict:    {} for {}, signed by {} (registry key)",
            enum_name(status, "TRUST_STATUS_"),
            scope_text(scope),
            signed.registry_key_id
        );
    }
    out
}

/// The scope a verdict was asked for, for people: the part of the question `verify` cannot
/// hold to the credential itself, so it is shown.
fn scope_text(scope: Option<&pb::TrustScope>) -> String {
    let mut parts = Vec::new();
    if let Some(scope) = scope {
        if let Some(level) = scope.eqf_level {
            parts.push(format!("EQF level {level}"));
        }
        for (label, value) in [
            ("type", &scope.credential_type),
            ("field", &scope.field_of_study),
            ("jurisdiction", &scope.jurisdiction),
        ] {
            if !value.is_empty() {
                parts.push(format!("{label} {value}"));
            }
        }
    }
    if parts.is_empty() {
        "any scope".into()
    } else {
        parts.join(", ")
    }
}

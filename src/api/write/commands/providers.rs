//! Providers and their accreditations.

#![allow(non_snake_case)]

use super::*;

pub fn RegisterProviderCommand(c: pb::RegisterProviderCommand, cx: &Context<'_>) -> Result<Command> {
    let pb::RegisterProviderCommand {
        header: _,
        names: n,
        country: c_,
        kind,
        identifiers: ids,
        website,
        keys: k,
    } = c;
    Ok(Command::RegisterProvider {
        provider: Provider {
            id: cx.mint(IdKind::Provider),
            names: names("names", n)?,
            country: country("country", &c_)?,
            kind: required_enum("kind", kind)?,
            identifiers: identifiers("identifiers", ids)?,
            website: web_url("website", website)?,
            registered_by: String::new(),
            registered_at: cx.issued_at,
        },
        keys: keys("keys", k, cx.issued_at)?,
    })
}

pub fn RecordAccreditationCommand(c: pb::RecordAccreditationCommand, cx: &Context<'_>) -> Result<Command> {
    let pb::RecordAccreditationCommand {
        header: _,
        provider_id,
        kind,
        decision,
        scope,
        valid_from,
        valid_until,
        report_url,
        conditions,
    } = c;
    let valid_from = required_time("valid_from", valid_from)?;
    let pb::AccreditationScope {
        eqf_levels,
        credential_types,
        fields_of_study,
        jurisdictions,
    } = scope.unwrap_or_default();
    let eqf_levels = at_most("scope.eqf_levels", eqf_levels, 8)?
        .into_iter()
        .enumerate()
        .map(|(i, level)| match level {
            1..=8 => Ok(level as u8),
            _ => Err(DomainError::invalid(
                format!("scope.eqf_levels[{i}]"),
                "must be between 1 and 8",
            )),
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Command::RecordAccreditation(Accreditation {
        id: cx.mint(IdKind::Accreditation),
        agency_id: String::new(),
        provider_id: id(IdKind::Provider, "provider_id", provider_id)?,
        kind: required_enum("kind", kind)?,
        decision: required_enum("decision", decision)?,
        scope: AccreditationScope {
            eqf_levels,
            credential_types: uris("scope.credential_types", credential_types)?,
            fields_of_study: crate::api::write::fields::fields_of_study(
                "scope.fields_of_study",
                fields_of_study,
            )?,
            jurisdictions: countries("scope.jurisdictions", jurisdictions)?,
        },
        valid_from,
        valid_until: end_after("valid_until", valid_until, valid_from)?,
        report_url: web_url("report_url", report_url)?,
        conditions: text("conditions", conditions, MAX_TEXT)?,
        recorded_at: cx.issued_at,
    }))
}

pub fn ChangeAccreditationStatusCommand(
    c: pb::ChangeAccreditationStatusCommand,
    cx: &Context<'_>,
) -> Result<Command> {
    let pb::ChangeAccreditationStatusCommand {
        header: _,
        accreditation_id,
        status,
        effective_at,
        reason,
    } = c;
    let status = match required_enum("status", status)? {
        AccreditationStatus::Granted => {
            return Err(DomainError::invalid(
                "status",
                "must be SUSPENDED, REINSTATED or WITHDRAWN",
            ));
        }
        status => status,
    };
    Ok(Command::ChangeAccreditationStatus {
        accreditation_id: id(IdKind::Accreditation, "accreditation_id", accreditation_id)?,
        status,
        effective_at: time_or("effective_at", effective_at, cx.issued_at)?,
        reason: required_text("reason", reason, MAX_TEXT)?,
    })
}

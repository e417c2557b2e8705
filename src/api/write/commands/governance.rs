//! QA agencies, recognition bodies and qualifications frameworks: the operator's commands.

#![allow(non_snake_case)]

use super::*;

pub fn AdmitQaAgencyCommand(c: pb::AdmitQaAgencyCommand, cx: &Context<'_>) -> Result<Command> {
    let pb::AdmitQaAgencyCommand {
        header: _,
        names: n,
        country: c_,
        operating_countries,
        identifiers: ids,
        website,
        keys: k,
        admitted_at,
    } = c;
    let admitted_at = time_or("admitted_at", admitted_at, cx.issued_at)?;
    Ok(Command::AdmitQaAgency {
        agency: QaAgency {
            id: cx.mint(IdKind::QaAgency),
            names: names("names", n)?,
            country: country("country", &c_)?,
            operating_countries: countries("operating_countries", operating_countries)?,
            identifiers: identifiers("identifiers", ids)?,
            website: web_url("website", website)?,
            admitted_at,
            retired_at: None,
        },
        keys: keys("keys", k, admitted_at)?,
    })
}

pub fn RetireQaAgencyCommand(c: pb::RetireQaAgencyCommand, cx: &Context<'_>) -> Result<Command> {
    let pb::RetireQaAgencyCommand {
        header: _,
        agency_id,
        retired_at,
        reason,
    } = c;
    Ok(Command::RetireQaAgency {
        agency_id: id(IdKind::QaAgency, "agency_id", agency_id)?,
        retired_at: time_or("retired_at", retired_at, cx.issued_at)?,
        reason: text("reason", reason, MAX_TEXT)?,
    })
}

pub fn AdmitRecognitionBodyCommand(c: pb::AdmitRecognitionBodyCommand, cx: &Context<'_>) -> Result<Command> {
    let pb::AdmitRecognitionBodyCommand {
        header: _,
        names: n,
        country: c_,
        kind,
        identifiers: ids,
        website,
        keys: k,
        admitted_at,
    } = c;
    let admitted_at = time_or("admitted_at", admitted_at, cx.issued_at)?;
    Ok(Command::AdmitRecognitionBody {
        body: RecognitionBody {
            id: cx.mint(IdKind::RecognitionBody),
            names: names("names", n)?,
            country: country("country", &c_)?,
            kind: required_enum("kind", kind)?,
            identifiers: identifiers("identifiers", ids)?,
            website: web_url("website", website)?,
            admitted_at,
            retired_at: None,
        },
        keys: keys("keys", k, admitted_at)?,
    })
}

pub fn RetireRecognitionBodyCommand(
    c: pb::RetireRecognitionBodyCommand,
    cx: &Context<'_>,
) -> Result<Command> {
    let pb::RetireRecognitionBodyCommand {
        header: _,
        body_id,
        retired_at,
        reason,
    } = c;
    Ok(Command::RetireRecognitionBody {
        body_id: id(IdKind::RecognitionBody, "body_id", body_id)?,
        retired_at: time_or("retired_at", retired_at, cx.issued_at)?,
        reason: text("reason", reason, MAX_TEXT)?,
    })
}

pub fn AddFrameworkCommand(c: pb::AddFrameworkCommand, _cx: &Context<'_>) -> Result<Command> {
    let pb::AddFrameworkCommand { header: _, framework } = c;
    let pb::Framework {
        id: fid,
        code,
        title,
        jurisdiction,
        uri: u,
        is_eqf,
        referencing,
        referencing_note,
        sources,
        levels,
    } = framework.ok_or_else(|| DomainError::invalid("framework", "is required"))?;
    check_framework_id("framework.id", &fid)?;
    let jurisdiction = if jurisdiction == "EU" {
        jurisdiction
    } else {
        country("framework.jurisdiction", &jurisdiction)?
    };
    let referencing = match pb::ReferencingStatus::try_from(referencing) {
        Ok(pb::ReferencingStatus::IsEqf) => ReferencingStatus::SelfReference,
        Ok(pb::ReferencingStatus::Referenced) => ReferencingStatus::Referenced,
        Ok(pb::ReferencingStatus::Compared) => ReferencingStatus::Compared,
        Ok(pb::ReferencingStatus::InPreparation) => ReferencingStatus::InPreparation,
        Ok(pb::ReferencingStatus::None) => ReferencingStatus::None,
        _ => {
            return Err(DomainError::invalid(
                "framework.referencing",
                "is required (not UNSPECIFIED)",
            ));
        }
    };
    if sources.is_empty() {
        return Err(DomainError::invalid(
            "framework.sources",
            "needs at least one public source",
        ));
    }
    let sources = at_most("framework.sources", sources, MAX_ITEMS)?
        .into_iter()
        .enumerate()
        .map(
            |(
                i,
                pb::Source {
                    title,
                    publisher,
                    year,
                    url,
                },
            )| {
                Ok(Source {
                    title: required_text(Child(Item("framework.sources", i), "title"), title, MAX_NAME)?,
                    publisher: text(
                        Child(Item("framework.sources", i), "publisher"),
                        publisher,
                        MAX_NAME,
                    )?,
                    year: (year != 0).then_some(year),
                    url: web_url(Child(Item("framework.sources", i), "url"), url)?,
                })
            },
        )
        .collect::<Result<Vec<_>>>()?;
    if levels.is_empty() {
        return Err(DomainError::invalid(
            "framework.levels",
            "needs at least one level",
        ));
    }
    let levels = at_most("framework.levels", levels, 30)?
        .into_iter()
        .enumerate()
        .map(
            |(
                i,
                pb::FrameworkLevel {
                    code,
                    ordinal,
                    title,
                    award_types,
                    description,
                    eqf_level,
                    note,
                },
            )| {
                let f = |name| Child(Item("framework.levels", i), name);
                let eqf_level = match eqf_level {
                    None => None,
                    Some(level @ 1..=8) => Some(level as u8),
                    Some(_) => {
                        return Err(DomainError::invalid(f("eqf_level"), "must be between 1 and 8"));
                    }
                };
                Ok(FrameworkLevel {
                    code: required_text(f("code"), code, 16)?,
                    ordinal,
                    title: required_text(f("title"), title, MAX_NAME)?,
                    award_types: at_most(f("award_types"), award_types, MAX_ITEMS)?,
                    description: Some(text(f("description"), description, MAX_TEXT)?)
                        .filter(|d| !d.is_empty()),
                    eqf_level,
                    note: Some(text(f("note"), note, MAX_TEXT)?).filter(|n| !n.is_empty()),
                })
            },
        )
        .collect::<Result<Vec<_>>>()?;
    for (i, level) in levels.iter().enumerate() {
        if levels[..i].iter().any(|l| l.code == level.code) {
            return Err(DomainError::invalid(
                format!("framework.levels[{i}].code"),
                "repeats a level code",
            ));
        }
    }
    if is_eqf != (referencing == ReferencingStatus::SelfReference) {
        return Err(DomainError::invalid(
            "framework.is_eqf",
            "must be true exactly when framework.referencing is REFERENCING_STATUS_IS_EQF",
        ));
    }
    // A level's EQF level is a published referencing or comparison, never a guess: a
    // framework without one has no level linked to the EQF, so none of its qualifications
    // gets an EQF level.
    if matches!(
        referencing,
        ReferencingStatus::InPreparation | ReferencingStatus::None
    ) && let Some(i) = levels.iter().position(|l| l.eqf_level.is_some())
    {
        return Err(DomainError::invalid(
            format!("framework.levels[{i}].eqf_level"),
            "must be unset when framework.referencing is IN_PREPARATION or NONE: \
             no EQF referencing is published for the framework",
        ));
    }
    Ok(Command::AddFramework(Framework {
        id: fid,
        code: required_text("framework.code", code, 32)?,
        title: required_text("framework.title", title, MAX_NAME)?,
        jurisdiction,
        uri: Some(uri("framework.uri", u, true)?).filter(|u| !u.is_empty()),
        is_eqf,
        referencing,
        referencing_note: text("framework.referencing_note", referencing_note, MAX_TEXT)?,
        sources,
        levels,
    }))
}

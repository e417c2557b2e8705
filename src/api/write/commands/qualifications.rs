//! Micro-credentials and qualifications, described by the EU standard elements (Annex I).

#![allow(non_snake_case)]

use super::*;

pub fn PublishQualificationCommand(c: pb::PublishQualificationCommand, cx: &Context<'_>) -> Result<Command> {
    let pb::PublishQualificationCommand {
        header: _,
        description,
    } = c;
    let id = cx.mint(IdKind::Qualification);
    Ok(Command::PublishQualification(qualification_description(
        id,
        description,
        cx,
    )?))
}

pub fn ReviseQualificationCommand(c: pb::ReviseQualificationCommand, cx: &Context<'_>) -> Result<Command> {
    let pb::ReviseQualificationCommand {
        header: _,
        qualification_id,
        description,
    } = c;
    let qualification_id = id(IdKind::Qualification, "qualification_id", qualification_id)?;
    let description = qualification_description(qualification_id.clone(), description, cx)?;
    Ok(Command::ReviseQualification {
        qualification_id,
        description,
    })
}

pub fn WithdrawQualificationCommand(
    c: pb::WithdrawQualificationCommand,
    _cx: &Context<'_>,
) -> Result<Command> {
    let pb::WithdrawQualificationCommand {
        header: _,
        qualification_id,
        withdrawn_at,
        reason,
    } = c;
    Ok(Command::WithdrawQualification {
        qualification_id: id(IdKind::Qualification, "qualification_id", qualification_id)?,
        withdrawn_at: from_timestamp("withdrawn_at", withdrawn_at.as_ref())?,
        reason: text("reason", reason, MAX_TEXT)?,
    })
}

/// The Annex I description; mandatory elements are required.
fn qualification_description(
    qualification_id: String,
    description: Option<pb::QualificationDescription>,
    cx: &Context<'_>,
) -> Result<Qualification> {
    let pb::QualificationDescription {
        titles,
        awarding_body_ids,
        countries: c_,
        learning_outcomes,
        workload,
        framework_id,
        level_code,
        assessment_types,
        assessment_description,
        participation,
        quality_assurance,
        prerequisites,
        supervision,
        grading_scheme,
        stackability,
        further_information,
        credential_type,
        field_of_study,
        languages: langs,
    } = description.ok_or_else(|| DomainError::invalid("description", "is required"))?;
    let f = |name| Child("description", name);
    if learning_outcomes.is_empty() {
        return Err(DomainError::invalid(
            f("learning_outcomes"),
            "needs at least one learning outcome (Annex I)",
        ));
    }
    let learning_outcomes = at_most(f("learning_outcomes"), learning_outcomes, MAX_ITEMS)?
        .into_iter()
        .enumerate()
        .map(|(i, pb::LearningOutcome { text: t, skill_uris })| {
            Ok(LearningOutcome {
                text: required_text(Child(Item(f("learning_outcomes"), i), "text"), t, MAX_TEXT)?,
                skill_uris: uris(Child(Item(f("learning_outcomes"), i), "skill_uris"), skill_uris)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let pb::Workload {
        credit_system,
        value,
        other_system,
        ects,
    } = workload
        .ok_or_else(|| DomainError::invalid(f("workload"), "is required (Annex I notional workload)"))?;
    let credit_system: CreditSystem = required_enum(f("workload.credit_system"), credit_system)?;
    let value = amount(f("workload.value"), value)?;
    if value == 0.0 {
        return Err(DomainError::invalid(f("workload.value"), "must be more than 0"));
    }
    let other_system = text(f("workload.other_system"), other_system, MAX_NAME)?;
    if credit_system == CreditSystem::Other && other_system.trim().is_empty() {
        return Err(DomainError::invalid(
            f("workload.other_system"),
            "is required with CREDIT_SYSTEM_OTHER",
        ));
    }
    let ects = match (credit_system, ects) {
        (CreditSystem::Ects, Some(e)) if e != value => {
            return Err(DomainError::invalid(
                f("workload.ects"),
                "must equal workload.value for ECTS workloads",
            ));
        }
        (CreditSystem::Ects, _) => Some(value),
        (_, Some(e)) => Some(amount(f("workload.ects"), e)?),
        (_, None) => None,
    };
    let level = match (framework_id.is_empty(), level_code.is_empty()) {
        (true, true) => None,
        (false, false) => {
            check_framework_id(f("framework_id"), &framework_id)?;
            Some(FrameworkLevelRef {
                framework_id,
                level_code: required_text(f("level_code"), level_code, 16)?,
                eqf_level: None,
            })
        }
        (true, false) => {
            return Err(DomainError::invalid(
                f("framework_id"),
                "is required with level_code",
            ));
        }
        (false, true) => {
            return Err(DomainError::invalid(
                f("level_code"),
                "is required with framework_id",
            ));
        }
    };
    if assessment_types.is_empty() {
        return Err(DomainError::invalid(
            f("assessment_types"),
            "needs at least one type of assessment (Annex I)",
        ));
    }
    let assessment_types = at_most(f("assessment_types"), assessment_types, 16)?
        .into_iter()
        .enumerate()
        .map(|(i, t)| required_enum(Item(f("assessment_types"), i), t))
        .collect::<Result<Vec<AssessmentType>>>()?;
    let pb::QualityAssurance {
        description: qa_description,
        accreditation_ids,
    } = quality_assurance.ok_or_else(|| {
        DomainError::invalid(
            f("quality_assurance"),
            "is required (Annex I type of quality assurance)",
        )
    })?;
    let accreditation_ids = at_most(
        f("quality_assurance.accreditation_ids"),
        accreditation_ids,
        MAX_ITEMS,
    )?
    .into_iter()
    .enumerate()
    .map(|(i, a)| {
        id(
            IdKind::Accreditation,
            Item(f("quality_assurance.accreditation_ids"), i),
            a,
        )
    })
    .collect::<Result<Vec<_>>>()?;
    let stackability = stackability.unwrap_or_default();
    let awarding_body_ids = at_most(f("awarding_body_ids"), awarding_body_ids, MAX_ITEMS)?
        .into_iter()
        .enumerate()
        .map(|(i, a)| id(IdKind::Provider, Item(f("awarding_body_ids"), i), a))
        .collect::<Result<Vec<_>>>()?;
    if c_.is_empty() {
        return Err(DomainError::invalid(
            f("countries"),
            "needs at least one country of the issuer (Annex I)",
        ));
    }
    Ok(Qualification {
        id: qualification_id,
        provider_id: String::new(),
        titles: names(f("titles"), titles)?,
        awarding_body_ids,
        countries: countries(f("countries"), c_)?,
        learning_outcomes,
        workload: Workload {
            credit_system,
            value,
            other_system,
            ects,
        },
        level,
        assessment_types,
        assessment_description: text(f("assessment_description"), assessment_description, MAX_TEXT)?,
        participation: required_enum(f("participation"), participation)?,
        quality_assurance: QualityAssurance {
            description: required_text(f("quality_assurance.description"), qa_description, MAX_TEXT)?,
            accreditation_ids,
        },
        prerequisites: text(f("prerequisites"), prerequisites, MAX_TEXT)?,
        supervision: Supervision::from_pb(f("supervision"), supervision)?,
        grading_scheme: text(f("grading_scheme"), grading_scheme, MAX_TEXT)?,
        stackability: StackabilityOptions {
            stackability: Stackability::from_pb(f("stackability.stackability"), stackability.stackability)?
                .unwrap_or(Stackability::Standalone),
            description: text(f("stackability.description"), stackability.description, MAX_TEXT)?,
            stacks_into: at_most(f("stackability.stacks_into"), stackability.stacks_into, MAX_ITEMS)?
                .into_iter()
                .enumerate()
                .map(|(i, q)| id(IdKind::Qualification, Item(f("stackability.stacks_into"), i), q))
                .collect::<Result<Vec<_>>>()?,
        },
        further_information: text(f("further_information"), further_information, MAX_TEXT)?,
        credential_type: uri(f("credential_type"), credential_type, true)?,
        field_of_study: crate::api::write::fields::field_of_study(f("field_of_study"), field_of_study, true)?,
        languages: languages(f("languages"), langs)?,
        published_at: cx.issued_at,
        withdrawn_at: None,
        version: 1,
    })
}

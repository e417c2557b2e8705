//! Commands of the public contract -> domain commands. Ids of new objects are minted from the
//! command's issued_at and the envelope id, so that replaying the log mints the same ids.

use super::fields::*;
use crate::api::convert::{FromPbEnum, from_timestamp};
use crate::domain::enums::*;
use crate::domain::ids::{IdKind, check_framework_id};
use crate::domain::model::*;
use crate::domain::write::Command;
use crate::domain::{DomainError, Timestamp};
use crate::pb;

/// What a command is converted against.
pub struct Context<'a> {
    pub envelope_id: &'a str,
    pub issued_at: Timestamp,
}

impl Context<'_> {
    fn mint(&self, kind: IdKind) -> String {
        kind.mint_at(self.issued_at, self.envelope_id.as_bytes())
    }
}

/// A command message with the common header.
pub trait SignedCommand: prost::Message + Default {
    fn header(&self) -> Option<&pb::CommandHeader>;
    fn into_command(self, context: &Context<'_>) -> Result<Command>;
}

fn id(kind: IdKind, field: impl FieldPath, value: String) -> Result<String> {
    kind.check(field, &value)?;
    Ok(value)
}

fn optional_actor(field: impl FieldPath, value: String) -> Result<Option<String>> {
    if value.is_empty() {
        return Ok(None);
    }
    let ok = [IdKind::Provider, IdKind::QaAgency, IdKind::RecognitionBody]
        .iter()
        .any(|k| k.check(field, &value).is_ok());
    if ok {
        Ok(Some(value))
    } else {
        Err(DomainError::invalid(
            field,
            "must be a provider, QA agency or recognition body id",
        ))
    }
}

macro_rules! header {
    ($($command:ident),+ $(,)?) => {
        $(impl SignedCommand for pb::$command {
            fn header(&self) -> Option<&pb::CommandHeader> {
                self.header.as_ref()
            }
            fn into_command(self, context: &Context<'_>) -> Result<Command> {
                convert::$command(self, context)
            }
        })+
    };
}

header!(
    AdmitQaAgencyCommand,
    RetireQaAgencyCommand,
    AdmitRecognitionBodyCommand,
    RetireRecognitionBodyCommand,
    AddFrameworkCommand,
    RegisterProviderCommand,
    RecordAccreditationCommand,
    ChangeAccreditationStatusCommand,
    PublishQualificationCommand,
    ReviseQualificationCommand,
    WithdrawQualificationCommand,
    PublishRecognitionCommand,
    RetractRecognitionCommand,
    AddKeyCommand,
    RotateKeyCommand,
    RevokeKeyCommand,
);

#[allow(non_snake_case)]
mod convert {
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

    pub fn AdmitRecognitionBodyCommand(
        c: pb::AdmitRecognitionBodyCommand,
        cx: &Context<'_>,
    ) -> Result<Command> {
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

    pub fn RecordAccreditationCommand(
        c: pb::RecordAccreditationCommand,
        cx: &Context<'_>,
    ) -> Result<Command> {
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

    pub fn PublishQualificationCommand(
        c: pb::PublishQualificationCommand,
        cx: &Context<'_>,
    ) -> Result<Command> {
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

    pub fn ReviseQualificationCommand(
        c: pb::ReviseQualificationCommand,
        cx: &Context<'_>,
    ) -> Result<Command> {
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

    pub fn PublishRecognitionCommand(c: pb::PublishRecognitionCommand, cx: &Context<'_>) -> Result<Command> {
        let pb::PublishRecognitionCommand {
            header: _,
            qualification_id,
            purpose,
            route,
            outcome,
            credits_granted,
            credit_system,
            target_programme,
            conditions,
            decided_at,
        } = c;
        let decided_at = required_time("decided_at", decided_at)?;
        if decided_at > cx.issued_at {
            return Err(DomainError::invalid(
                "decided_at",
                "must not be after header.issued_at: only completed decisions are published",
            ));
        }
        let outcome: RecognitionOutcome = required_enum("outcome", outcome)?;
        let conditions = text("conditions", conditions, MAX_TEXT)?;
        if outcome == RecognitionOutcome::RecognisedWithConditions && conditions.trim().is_empty() {
            return Err(DomainError::invalid(
                "conditions",
                "is required when the outcome is RECOGNISED_WITH_CONDITIONS",
            ));
        }
        let credits_granted = amount("credits_granted", credits_granted)?;
        if outcome == RecognitionOutcome::Refused && credits_granted > 0.0 {
            return Err(DomainError::invalid(
                "credits_granted",
                "must be 0 when the outcome is REFUSED: a refusal grants no credit",
            ));
        }
        let credit_system = CreditSystem::from_pb("credit_system", credit_system)?;
        if credits_granted > 0.0 && credit_system.is_none() {
            return Err(DomainError::invalid(
                "credit_system",
                "is required when credits_granted is above 0: the credits must be of a named system",
            ));
        }
        Ok(Command::PublishRecognition(Recognition {
            id: cx.mint(IdKind::Recognition),
            body_id: String::new(),
            qualification_id: id(IdKind::Qualification, "qualification_id", qualification_id)?,
            purpose: required_enum("purpose", purpose)?,
            route: required_enum("route", route)?,
            outcome,
            credits_granted,
            credit_system,
            target_programme: text("target_programme", target_programme, MAX_NAME)?,
            conditions,
            decided_at,
            retracted_at: None,
        }))
    }

    pub fn RetractRecognitionCommand(c: pb::RetractRecognitionCommand, cx: &Context<'_>) -> Result<Command> {
        let pb::RetractRecognitionCommand {
            header: _,
            recognition_id,
            retracted_at,
            reason,
        } = c;
        Ok(Command::RetractRecognition {
            recognition_id: id(IdKind::Recognition, "recognition_id", recognition_id)?,
            retracted_at: time_or("retracted_at", retracted_at, cx.issued_at)?,
            reason: text("reason", reason, MAX_TEXT)?,
        })
    }

    pub fn AddKeyCommand(c: pb::AddKeyCommand, cx: &Context<'_>) -> Result<Command> {
        let pb::AddKeyCommand {
            header: _,
            actor_id,
            key: spec,
        } = c;
        let spec = spec.ok_or_else(|| DomainError::invalid("key", "is required"))?;
        Ok(Command::AddKey {
            actor_id: optional_actor("actor_id", actor_id)?,
            key: key("key", spec, cx.issued_at)?,
        })
    }

    pub fn RotateKeyCommand(c: pb::RotateKeyCommand, cx: &Context<'_>) -> Result<Command> {
        let pb::RotateKeyCommand {
            header: _,
            actor_id,
            old_key_id,
            new_key,
            rotate_at,
        } = c;
        let rotate_at = time_or("rotate_at", rotate_at, cx.issued_at)?;
        let spec = new_key.ok_or_else(|| DomainError::invalid("new_key", "is required"))?;
        let mut new_key = key(
            "new_key",
            pb::KeySpec {
                valid_from: None,
                ..spec
            },
            rotate_at,
        )?;
        new_key.valid_from = rotate_at;
        Ok(Command::RotateKey {
            actor_id: optional_actor("actor_id", actor_id)?,
            old_key_id: required_text("old_key_id", old_key_id, 64)?,
            new_key,
            rotate_at,
        })
    }

    pub fn RevokeKeyCommand(c: pb::RevokeKeyCommand, cx: &Context<'_>) -> Result<Command> {
        let pb::RevokeKeyCommand {
            header: _,
            actor_id,
            key_id,
            revoked_at,
            reason,
        } = c;
        Ok(Command::RevokeKey {
            actor_id: optional_actor("actor_id", actor_id)?,
            key_id: required_text("key_id", key_id, 64)?,
            revoked_at: time_or("revoked_at", revoked_at, cx.issued_at)?,
            reason: required_text("reason", reason, MAX_TEXT)?,
        })
    }
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

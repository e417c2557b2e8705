//! Conversions between the public contract (`pb`) and the domain.
//!
//! Domain -> contract is total. Contract -> domain validates, and every error names the
//! request field and the rule it broke.

use crate::domain::enums as d;
use crate::domain::error::FieldPath;
use crate::domain::model::*;
use crate::domain::query::Keyed;
use crate::domain::{DomainError, Timestamp, keys};
use crate::pb;

/// Maps a domain vocabulary to the contract's enum with the same variant names, both ways.
macro_rules! enum_map {
    ($domain:ident <=> $pb:ident { $($variant:ident),+ $(,)? }) => {
        impl From<d::$domain> for pb::$pb {
            fn from(value: d::$domain) -> Self {
                match value {
                    $(d::$domain::$variant => pb::$pb::$variant),+
                }
            }
        }

        impl FromPbEnum for d::$domain {
            fn from_pb(field: impl FieldPath, value: i32) -> Result<Option<Self>, DomainError> {
                match pb::$pb::try_from(value) {
                    Ok(pb::$pb::Unspecified) => Ok(None),
                    $(Ok(pb::$pb::$variant) => Ok(Some(d::$domain::$variant)),)+
                    Err(_) => Err(DomainError::invalid(field, format!("{value} is not a value of {}", stringify!($pb)))),
                }
            }
        }
    };
}

/// A contract enum value as an optional domain value: UNSPECIFIED is `None`, unknown numbers
/// are an error naming the field.
pub trait FromPbEnum: Sized {
    fn from_pb(field: impl FieldPath, value: i32) -> Result<Option<Self>, DomainError>;
}

enum_map!(IdentifierScheme <=> IdentifierScheme { Deqar, Did, ErasmusCode, NationalRegister, Vat, WebsiteDomain, Lei });
enum_map!(ProviderKind <=> ProviderKind {
    HigherEducation, VocationalEducation, NonFormal, Company, OnlinePlatform, AwardingBody, AssessmentCentre
});
enum_map!(RecognitionBodyKind <=> RecognitionBodyKind {
    EnicNaric, HigherEducationInstitution, ProfessionalBody, Employer, PublicAuthority
});
enum_map!(AccreditationKind <=> AccreditationKind {
    InstitutionalReview, ProgrammeAccreditation, Licensing, Iso21001Certification, Iso17024Certification,
    PlatformCertification, ProfessionalEndorsement, EmployerEndorsement
});
enum_map!(Decision <=> Decision { Positive, PositiveWithConditions, Negative });
enum_map!(AccreditationStatus <=> AccreditationStatus { Granted, Suspended, Reinstated, Withdrawn });
enum_map!(CreditSystem <=> CreditSystem { Ects, Hours, Ecvet, Other });
enum_map!(AssessmentType <=> AssessmentType {
    WrittenExam, OralExam, PracticalDemonstration, Project, Portfolio, OnlineTest, PeerAssessment
});
enum_map!(ParticipationForm <=> ParticipationForm { Online, Onsite, Blended });
enum_map!(Supervision <=> Supervision {
    UnsupervisedNoIdentityVerification, SupervisedNoIdentityVerification,
    SupervisedOnlineWithIdentityVerification, SupervisedOnsiteWithIdentityVerification
});
enum_map!(Stackability <=> Stackability { Standalone, Stackable, Integrated });
enum_map!(RecognitionPurpose <=> RecognitionPurpose {
    Admission, CreditTransfer, Exemption, Employment, ContinuingProfessionalDevelopment
});
enum_map!(RecognitionRoute <=> RecognitionRoute {
    CreditExchangeAgreement, FreeElective, PriorLearning, LisbonRecognitionConvention, GlobalConvention
});
enum_map!(RecognitionOutcome <=> RecognitionOutcome {
    Recognised, PartiallyRecognised, RecognisedWithConditions, Refused
});

impl From<d::ReferencingStatus> for pb::ReferencingStatus {
    fn from(value: d::ReferencingStatus) -> Self {
        match value {
            d::ReferencingStatus::SelfReference => Self::IsEqf,
            d::ReferencingStatus::Referenced => Self::Referenced,
            d::ReferencingStatus::Compared => Self::Compared,
            d::ReferencingStatus::InPreparation => Self::InPreparation,
            d::ReferencingStatus::None => Self::None,
        }
    }
}

pub fn timestamp(t: Timestamp) -> pbjson_types::Timestamp {
    let (seconds, nanos) = t.to_seconds_nanos();
    pbjson_types::Timestamp { seconds, nanos }
}

pub fn opt_timestamp(t: Option<Timestamp>) -> Option<pbjson_types::Timestamp> {
    t.map(timestamp)
}

/// A request timestamp; `None` when unset.
pub fn from_timestamp(
    field: impl FieldPath,
    t: Option<&pbjson_types::Timestamp>,
) -> Result<Option<Timestamp>, DomainError> {
    t.map(|t| {
        Timestamp::from_seconds_nanos(t.seconds, t.nanos)
            .ok_or_else(|| DomainError::invalid(field, "must be a valid time between years 1 and 9999"))
    })
    .transpose()
}

pub(crate) fn localized(strings: Vec<LocalizedString>) -> Vec<pb::LocalizedString> {
    strings
        .into_iter()
        .map(|LocalizedString { language, value }| pb::LocalizedString { language, value })
        .collect()
}

pub(crate) fn identifiers(ids: Vec<ExternalIdentifier>) -> Vec<pb::ExternalIdentifier> {
    ids.into_iter()
        .map(
            |ExternalIdentifier {
                 scheme,
                 value,
                 valid_from,
                 valid_until,
             }| pb::ExternalIdentifier {
                scheme: pb::IdentifierScheme::from(scheme).into(),
                value,
                valid_from: opt_timestamp(valid_from),
                valid_until: opt_timestamp(valid_until),
            },
        )
        .collect()
}

pub fn actor_keys(keys: Vec<ActorKey>) -> Vec<pb::ActorKey> {
    keys.into_iter()
        .map(
            |ActorKey {
                 key_id,
                 public_key,
                 valid_from,
                 valid_until,
                 revoked_at,
                 revocation_reason,
             }| pb::ActorKey {
                key_id,
                public_key_multibase: keys::multibase(&public_key),
                public_key: public_key.to_vec(),
                valid_from: Some(timestamp(valid_from)),
                valid_until: opt_timestamp(valid_until),
                revoked_at: opt_timestamp(revoked_at),
                revocation_reason,
            },
        )
        .collect()
}

impl From<Framework> for pb::Framework {
    fn from(f: Framework) -> Self {
        let Framework {
            id,
            code,
            title,
            jurisdiction,
            uri,
            is_eqf,
            referencing,
            referencing_note,
            sources,
            levels,
        } = f;
        Self {
            id,
            code,
            title,
            jurisdiction,
            uri: uri.unwrap_or_default(),
            is_eqf,
            referencing: pb::ReferencingStatus::from(referencing).into(),
            referencing_note,
            sources: sources
                .into_iter()
                .map(
                    |Source {
                         title,
                         publisher,
                         year,
                         url,
                     }| pb::Source {
                        title,
                        publisher,
                        year: year.unwrap_or(0),
                        url,
                    },
                )
                .collect(),
            levels: levels
                .into_iter()
                .map(
                    |FrameworkLevel {
                         code,
                         ordinal,
                         title,
                         award_types,
                         description,
                         eqf_level,
                         note,
                     }| {
                        pb::FrameworkLevel {
                            code,
                            ordinal,
                            title,
                            award_types,
                            description: description.unwrap_or_default(),
                            eqf_level: eqf_level.map(u32::from),
                            note: note.unwrap_or_default(),
                        }
                    },
                )
                .collect(),
        }
    }
}

impl From<Keyed<Provider>> for pb::Provider {
    fn from(Keyed { item, keys }: Keyed<Provider>) -> Self {
        let Provider {
            id,
            names,
            country,
            kind,
            identifiers: ids,
            website,
            registered_by,
            registered_at,
        } = item;
        Self {
            id,
            names: localized(names),
            country,
            kind: pb::ProviderKind::from(kind).into(),
            identifiers: identifiers(ids),
            keys: actor_keys(keys),
            website,
            registered_by,
            registered_at: Some(timestamp(registered_at)),
        }
    }
}

impl From<Keyed<QaAgency>> for pb::QaAgency {
    fn from(Keyed { item, keys }: Keyed<QaAgency>) -> Self {
        let QaAgency {
            id,
            names,
            country,
            operating_countries,
            identifiers: ids,
            website,
            admitted_at,
            retired_at,
        } = item;
        Self {
            id,
            names: localized(names),
            country,
            operating_countries,
            identifiers: identifiers(ids),
            keys: actor_keys(keys),
            website,
            admitted_at: Some(timestamp(admitted_at)),
            retired_at: opt_timestamp(retired_at),
        }
    }
}

impl From<Keyed<RecognitionBody>> for pb::RecognitionBody {
    fn from(Keyed { item, keys }: Keyed<RecognitionBody>) -> Self {
        let RecognitionBody {
            id,
            names,
            country,
            kind,
            identifiers: ids,
            website,
            admitted_at,
            retired_at,
        } = item;
        Self {
            id,
            names: localized(names),
            country,
            kind: pb::RecognitionBodyKind::from(kind).into(),
            identifiers: identifiers(ids),
            keys: actor_keys(keys),
            website,
            admitted_at: Some(timestamp(admitted_at)),
            retired_at: opt_timestamp(retired_at),
        }
    }
}

impl From<AccreditationRecord> for pb::Accreditation {
    fn from(
        AccreditationRecord {
            accreditation,
            history,
        }: AccreditationRecord,
    ) -> Self {
        let effective_until = accreditation.effective_until();
        let Accreditation {
            id,
            agency_id,
            provider_id,
            kind,
            decision,
            scope,
            valid_from,
            valid_until,
            report_url,
            conditions,
            recorded_at,
        } = accreditation;
        let AccreditationScope {
            eqf_levels,
            credential_types,
            fields_of_study,
            jurisdictions,
        } = scope;
        Self {
            id,
            agency_id,
            provider_id,
            kind: pb::AccreditationKind::from(kind).into(),
            decision: pb::Decision::from(decision).into(),
            scope: Some(pb::AccreditationScope {
                eqf_levels: eqf_levels.into_iter().map(u32::from).collect(),
                credential_types,
                fields_of_study,
                jurisdictions,
            }),
            valid_from: Some(timestamp(valid_from)),
            valid_until: opt_timestamp(valid_until),
            effective_until: Some(timestamp(effective_until)),
            report_url,
            conditions,
            status_history: history
                .into_iter()
                .map(
                    |StatusPeriod {
                         status,
                         effective_from,
                         effective_until,
                         reason,
                     }| pb::StatusPeriod {
                        status: pb::AccreditationStatus::from(status).into(),
                        effective_from: Some(timestamp(effective_from)),
                        effective_until: opt_timestamp(effective_until),
                        reason,
                    },
                )
                .collect(),
            recorded_at: Some(timestamp(recorded_at)),
        }
    }
}

/// The registry URI of a qualification, which credentials name (e.g. as achievement.id).
pub fn qualification_uri(id: &str) -> String {
    format!("urn:trust-registry:qualification:{id}")
}

impl From<Qualification> for pb::Qualification {
    fn from(q: Qualification) -> Self {
        let Qualification {
            id,
            provider_id,
            titles,
            awarding_body_ids,
            countries,
            learning_outcomes,
            workload,
            level,
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
            languages,
            published_at,
            withdrawn_at,
            version,
        } = q;
        let StackabilityOptions {
            stackability,
            description,
            stacks_into,
        } = stackability;
        let QualityAssurance {
            description: qa_description,
            accreditation_ids,
        } = quality_assurance;
        Self {
            uri: qualification_uri(&id),
            id,
            provider_id,
            titles: localized(titles),
            awarding_body_ids,
            countries,
            learning_outcomes: learning_outcomes
                .into_iter()
                .map(|LearningOutcome { text, skill_uris }| pb::LearningOutcome { text, skill_uris })
                .collect(),
            workload: Some(workload.into()),
            level: level.map(Into::into),
            assessment_types: assessment_types
                .into_iter()
                .map(|t| pb::AssessmentType::from(t).into())
                .collect(),
            assessment_description,
            participation: pb::ParticipationForm::from(participation).into(),
            quality_assurance: Some(pb::QualityAssurance {
                description: qa_description,
                accreditation_ids,
            }),
            prerequisites,
            supervision: supervision
                .map(|s| pb::Supervision::from(s).into())
                .unwrap_or_default(),
            grading_scheme,
            stackability: Some(pb::StackabilityOptions {
                stackability: pb::Stackability::from(stackability).into(),
                description,
                stacks_into,
            }),
            further_information,
            credential_type,
            field_of_study,
            languages,
            published_at: Some(timestamp(published_at)),
            withdrawn_at: opt_timestamp(withdrawn_at),
            version,
        }
    }
}

impl From<Workload> for pb::Workload {
    fn from(workload: Workload) -> Self {
        let Workload {
            credit_system,
            value,
            other_system,
            ects,
        } = workload;
        Self {
            credit_system: pb::CreditSystem::from(credit_system).into(),
            value,
            other_system,
            ects,
        }
    }
}

impl From<FrameworkLevelRef> for pb::FrameworkLevelRef {
    fn from(level: FrameworkLevelRef) -> Self {
        let FrameworkLevelRef {
            framework_id,
            level_code,
            eqf_level,
        } = level;
        Self {
            framework_id,
            level_code,
            eqf_level: eqf_level.map(u32::from),
        }
    }
}

/// The `BASIC` view: the summary's fields set, the rest left at their defaults.
impl From<QualificationSummary> for pb::Qualification {
    fn from(q: QualificationSummary) -> Self {
        let QualificationSummary {
            id,
            provider_id,
            titles,
            countries,
            workload,
            level,
            stackability,
            credential_type,
            field_of_study,
            languages,
            published_at,
            withdrawn_at,
            version,
        } = q;
        Self {
            uri: qualification_uri(&id),
            id,
            provider_id,
            titles: localized(titles),
            countries,
            workload: Some(workload.into()),
            level: level.map(Into::into),
            stackability: Some(pb::StackabilityOptions {
                stackability: pb::Stackability::from(stackability).into(),
                ..Default::default()
            }),
            credential_type,
            field_of_study,
            languages,
            published_at: Some(timestamp(published_at)),
            withdrawn_at: opt_timestamp(withdrawn_at),
            version,
            ..Default::default()
        }
    }
}

impl From<Recognition> for pb::Recognition {
    fn from(r: Recognition) -> Self {
        let Recognition {
            id,
            body_id,
            qualification_id,
            purpose,
            route,
            outcome,
            credits_granted,
            credit_system,
            target_programme,
            conditions,
            decided_at,
            retracted_at,
        } = r;
        Self {
            id,
            body_id,
            qualification_id,
            purpose: pb::RecognitionPurpose::from(purpose).into(),
            route: pb::RecognitionRoute::from(route).into(),
            outcome: pb::RecognitionOutcome::from(outcome).into(),
            credits_granted,
            credit_system: credit_system
                .map(|c| pb::CreditSystem::from(c).into())
                .unwrap_or_default(),
            target_programme,
            conditions,
            decided_at: Some(timestamp(decided_at)),
            retracted_at: opt_timestamp(retracted_at),
        }
    }
}

//! Micro-credentials and qualifications: the full description and the `BASIC` summary.

use super::*;

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

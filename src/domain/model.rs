//! What the registry holds. These types are stored as documents and converted to and from
//! the public contract by the API layer.

use serde::{Deserialize, Serialize};

use super::enums::*;
use super::time::Timestamp;

/// A text in one language (BCP 47 tag).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocalizedString {
    pub language: String,
    pub value: String,
}

/// An identifier in an external scheme, valid in `[valid_from, valid_until)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExternalIdentifier {
    pub scheme: IdentifierScheme,
    pub value: String,
    pub valid_from: Option<Timestamp>,
    pub valid_until: Option<Timestamp>,
}

/// An Ed25519 key of an actor, usable in `[valid_from, min(valid_until, revoked_at))`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActorKey {
    pub key_id: String,
    pub public_key: [u8; 32],
    pub valid_from: Timestamp,
    pub valid_until: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
    pub revocation_reason: String,
}

/// A public document reference data is taken from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Source {
    pub title: String,
    pub publisher: String,
    pub year: Option<u32>,
    pub url: String,
}

/// A qualifications framework.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Framework {
    pub id: String,
    pub code: String,
    pub title: String,
    pub jurisdiction: String,
    pub uri: Option<String>,
    pub is_eqf: bool,
    pub referencing: ReferencingStatus,
    pub referencing_note: String,
    pub sources: Vec<Source>,
    pub levels: Vec<FrameworkLevel>,
}

impl Framework {
    pub fn level(&self, code: &str) -> Option<&FrameworkLevel> {
        self.levels.iter().find(|level| level.code == code)
    }
}

/// One level of a framework, with the EQF level it is referenced to where one is published.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrameworkLevel {
    pub code: String,
    pub ordinal: u32,
    pub title: String,
    #[serde(default)]
    pub award_types: Vec<String>,
    pub description: Option<String>,
    pub eqf_level: Option<u8>,
    pub note: Option<String>,
}

/// A provider (issuer). Its keys are kept apart, with their own history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provider {
    pub id: String,
    pub names: Vec<LocalizedString>,
    pub country: String,
    pub kind: ProviderKind,
    pub identifiers: Vec<ExternalIdentifier>,
    pub website: String,
    pub registered_by: String,
    pub registered_at: Timestamp,
}

/// A QA agency admitted by the operator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QaAgency {
    pub id: String,
    pub names: Vec<LocalizedString>,
    pub country: String,
    pub operating_countries: Vec<String>,
    pub identifiers: Vec<ExternalIdentifier>,
    pub website: String,
    pub admitted_at: Timestamp,
    pub retired_at: Option<Timestamp>,
}

/// A recognition body admitted by the operator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecognitionBody {
    pub id: String,
    pub names: Vec<LocalizedString>,
    pub country: String,
    pub kind: RecognitionBodyKind,
    pub identifiers: Vec<ExternalIdentifier>,
    pub website: String,
    pub admitted_at: Timestamp,
    pub retired_at: Option<Timestamp>,
}

/// What an accreditation covers; an empty list puts no limit on that dimension.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AccreditationScope {
    pub eqf_levels: Vec<u8>,
    pub credential_types: Vec<String>,
    pub fields_of_study: Vec<String>,
    pub jurisdictions: Vec<String>,
}

/// One period of an accreditation's status history, `[effective_from, effective_until)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusPeriod {
    pub status: AccreditationStatus,
    pub effective_from: Timestamp,
    pub effective_until: Option<Timestamp>,
    pub reason: String,
}

/// A QA decision by an agency about a provider. The status history is kept apart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Accreditation {
    pub id: String,
    pub agency_id: String,
    pub provider_id: String,
    pub kind: AccreditationKind,
    pub decision: Decision,
    pub scope: AccreditationScope,
    pub valid_from: Timestamp,
    pub valid_until: Option<Timestamp>,
    pub report_url: String,
    pub conditions: String,
    pub recorded_at: Timestamp,
}

impl Accreditation {
    /// The end of validity the registry applies: the stated one, or six years after the start
    /// when none is stated (DEQAR's rule).
    pub fn effective_until(&self) -> Timestamp {
        self.valid_until
            .unwrap_or_else(|| self.valid_from.plus_six_years())
    }
}

/// A learning outcome with the ESCO skills it names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LearningOutcome {
    pub text: String,
    pub skill_uris: Vec<String>,
}

/// Notional workload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Workload {
    pub credit_system: CreditSystem,
    pub value: f64,
    pub other_system: String,
    /// ECTS equivalent: the value itself for ECTS, else what the provider states.
    pub ects: Option<f64>,
}

/// A framework level; the EQF level follows from the framework's referencing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrameworkLevelRef {
    pub framework_id: String,
    pub level_code: String,
    pub eqf_level: Option<u8>,
}

/// Integration / stackability options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StackabilityOptions {
    pub stackability: Stackability,
    pub description: String,
    pub stacks_into: Vec<String>,
}

/// Type of quality assurance underpinning a micro-credential.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QualityAssurance {
    pub description: String,
    pub accreditation_ids: Vec<String>,
}

/// A micro-credential or qualification with the Annex I elements.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Qualification {
    pub id: String,
    pub provider_id: String,
    pub titles: Vec<LocalizedString>,
    pub awarding_body_ids: Vec<String>,
    pub countries: Vec<String>,
    pub learning_outcomes: Vec<LearningOutcome>,
    pub workload: Workload,
    pub level: Option<FrameworkLevelRef>,
    pub assessment_types: Vec<AssessmentType>,
    pub assessment_description: String,
    pub participation: ParticipationForm,
    pub quality_assurance: QualityAssurance,
    pub prerequisites: String,
    pub supervision: Option<Supervision>,
    pub grading_scheme: String,
    pub stackability: StackabilityOptions,
    pub further_information: String,
    pub credential_type: String,
    pub field_of_study: String,
    pub languages: Vec<String>,
    pub published_at: Timestamp,
    pub withdrawn_at: Option<Timestamp>,
    pub version: u32,
}

impl Qualification {
    /// Every ESCO skill URI named by the learning outcomes, without repeats.
    pub fn skill_uris(&self) -> Vec<&str> {
        let mut uris: Vec<&str> = self
            .learning_outcomes
            .iter()
            .flat_map(|outcome| outcome.skill_uris.iter().map(String::as_str))
            .collect();
        uris.sort_unstable();
        uris.dedup();
        uris
    }

    pub fn eqf_level(&self) -> Option<u8> {
        self.level.as_ref().and_then(|level| level.eqf_level)
    }
}

/// How much of each qualification a search answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QualificationView {
    /// A [`QualificationSummary`] of each.
    Basic,
    /// The whole description.
    Full,
}

/// What a search answers by default (the `BASIC` view): what tells results apart and lets a
/// client pick one. Stored beside each skill of the qualification as a JSON array of the fields
/// in this order, a third smaller than an object naming them (the schema migration that
/// introduced summaries builds the same array with the database's JSON functions).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct QualificationSummary {
    pub id: String,
    pub provider_id: String,
    pub titles: Vec<LocalizedString>,
    pub countries: Vec<String>,
    pub workload: Workload,
    pub level: Option<FrameworkLevelRef>,
    pub stackability: Stackability,
    pub credential_type: String,
    pub field_of_study: String,
    pub languages: Vec<String>,
    pub published_at: Timestamp,
    pub withdrawn_at: Option<Timestamp>,
    pub version: u32,
}

impl Serialize for QualificationSummary {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Self {
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
        } = self;
        (
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
        )
            .serialize(serializer)
    }
}

impl From<&Qualification> for QualificationSummary {
    fn from(q: &Qualification) -> Self {
        Self {
            id: q.id.clone(),
            provider_id: q.provider_id.clone(),
            titles: q.titles.clone(),
            countries: q.countries.clone(),
            workload: q.workload.clone(),
            level: q.level.clone(),
            stackability: q.stackability.stackability,
            credential_type: q.credential_type.clone(),
            field_of_study: q.field_of_study.clone(),
            languages: q.languages.clone(),
            published_at: q.published_at,
            withdrawn_at: q.withdrawn_at,
            version: q.version,
        }
    }
}

/// A completed recognition decision about a qualification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recognition {
    pub id: String,
    pub body_id: String,
    pub qualification_id: String,
    pub purpose: RecognitionPurpose,
    pub route: RecognitionRoute,
    pub outcome: RecognitionOutcome,
    pub credits_granted: f64,
    pub credit_system: Option<CreditSystem>,
    pub target_programme: String,
    pub conditions: String,
    pub decided_at: Timestamp,
    pub retracted_at: Option<Timestamp>,
}

/// Lower-cased text that name searches match against.
pub fn search_text<'a>(texts: impl IntoIterator<Item = &'a LocalizedString>) -> String {
    texts
        .into_iter()
        .map(|t| t.value.to_lowercase())
        .collect::<Vec<_>>()
        .join("\u{1f}")
}

/// An accreditation with its status history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccreditationRecord {
    pub accreditation: Accreditation,
    pub history: Vec<StatusPeriod>,
}

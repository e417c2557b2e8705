//! What catalogue lookups can filter on. Each query has a canonical text form, which binds
//! page tokens to the filters they were issued for.

use super::enums::*;
use super::model::{AccreditationRecord, ActorKey};
use super::time::Timestamp;

/// Filters of a provider search; all optional, combined with AND.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProviderQuery {
    /// Lower-cased substring of a name.
    pub text: Option<String>,
    pub country: Option<String>,
    pub kind: Option<ProviderKind>,
    pub identifier: Option<(IdentifierScheme, String)>,
    pub accredited_at: Option<Timestamp>,
}

/// Filters of a qualification search; all optional, combined with AND.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QualificationQuery {
    pub text: Option<String>,
    pub provider_id: Option<String>,
    pub framework_id: Option<String>,
    pub level_code: Option<String>,
    pub eqf_level: Option<u8>,
    pub ects_min: Option<f64>,
    pub ects_max: Option<f64>,
    pub skill_uri: Option<String>,
    pub stackability: Option<Stackability>,
    pub include_withdrawn: bool,
}

/// Filters of an accreditation listing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AccreditationQuery {
    pub provider_id: Option<String>,
    pub agency_id: Option<String>,
    pub decision: Option<Decision>,
    pub kind: Option<AccreditationKind>,
}

/// Filters of a recognition search.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecognitionQuery {
    pub qualification_id: Option<String>,
    pub body_id: Option<String>,
    pub purpose: Option<RecognitionPurpose>,
    pub route: Option<RecognitionRoute>,
    pub outcome: Option<RecognitionOutcome>,
    pub include_retracted: bool,
}

/// Filters of the QA agency and recognition body listings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrganisationQuery {
    pub country: Option<String>,
    pub body_kind: Option<RecognitionBodyKind>,
}

/// Canonical text of a query's filters, for binding page tokens.
pub fn canonical(query: &impl std::fmt::Debug) -> String {
    format!("{query:?}")
}

/// An object together with the keys of its owner.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Keyed<T> {
    pub item: T,
    pub keys: Vec<ActorKey>,
}

/// A page of results and the token of the next page (empty on the last page).
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_page_token: String,
}

pub type AccreditationPage = Page<AccreditationRecord>;

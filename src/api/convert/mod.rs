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

// The conversions of each part of the contract, named after its .proto file.
mod accreditation;
mod framework;
mod organisation;
mod qualification;
mod recognition;

pub use qualification::qualification_uri;

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

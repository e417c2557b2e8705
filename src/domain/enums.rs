//! Closed vocabularies of the domain. Each value has a stable text form, used in storage and
//! in page tokens; it never changes once released.

macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }

            pub fn parse(text: &str) -> Option<Self> {
                match text {
                    $($text => Some(Self::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

vocabulary!(
    /// Scheme of an external identifier.
    IdentifierScheme {
        Deqar = "deqar",
        Did = "did",
        ErasmusCode = "erasmus_code",
        NationalRegister = "national_register",
        Vat = "vat",
        WebsiteDomain = "website_domain",
        Lei = "lei",
    }
);

vocabulary!(
    /// How a framework is linked to the EQF.
    ReferencingStatus {
        SelfReference = "self",
        Referenced = "referenced",
        Compared = "compared",
        InPreparation = "in_preparation",
        None = "none",
    }
);

vocabulary!(
    /// Kind of provider.
    ProviderKind {
        HigherEducation = "higher_education",
        VocationalEducation = "vocational_education",
        NonFormal = "non_formal",
        Company = "company",
        OnlinePlatform = "online_platform",
        AwardingBody = "awarding_body",
        AssessmentCentre = "assessment_centre",
    }
);

vocabulary!(
    /// Kind of recognition body.
    RecognitionBodyKind {
        EnicNaric = "enic_naric",
        HigherEducationInstitution = "higher_education_institution",
        ProfessionalBody = "professional_body",
        Employer = "employer",
        PublicAuthority = "public_authority",
    }
);

vocabulary!(
    /// Kind of accreditation.
    AccreditationKind {
        InstitutionalReview = "institutional_review",
        ProgrammeAccreditation = "programme_accreditation",
        Licensing = "licensing",
        Iso21001Certification = "iso_21001_certification",
        Iso17024Certification = "iso_17024_certification",
        PlatformCertification = "platform_certification",
        ProfessionalEndorsement = "professional_endorsement",
        EmployerEndorsement = "employer_endorsement",
    }
);

vocabulary!(
    /// Outcome of a QA procedure.
    Decision {
        Positive = "positive",
        PositiveWithConditions = "positive_with_conditions",
        Negative = "negative",
    }
);

impl Decision {
    /// Whether the decision can make a provider trusted.
    pub fn is_positive(self) -> bool {
        matches!(self, Self::Positive | Self::PositiveWithConditions)
    }
}

vocabulary!(
    /// Status of an accreditation during one period of its history.
    AccreditationStatus {
        Granted = "granted",
        Suspended = "suspended",
        Reinstated = "reinstated",
        Withdrawn = "withdrawn",
    }
);

impl AccreditationStatus {
    /// Whether the accreditation is in force during a period with this status.
    pub fn in_force(self) -> bool {
        matches!(self, Self::Granted | Self::Reinstated)
    }
}

vocabulary!(
    /// Credit system of a workload.
    CreditSystem {
        Ects = "ects",
        Hours = "hours",
        Ecvet = "ecvet",
        Other = "other",
    }
);

vocabulary!(
    /// Type of assessment.
    AssessmentType {
        WrittenExam = "written_exam",
        OralExam = "oral_exam",
        PracticalDemonstration = "practical_demonstration",
        Project = "project",
        Portfolio = "portfolio",
        OnlineTest = "online_test",
        PeerAssessment = "peer_assessment",
    }
);

vocabulary!(
    /// Form of participation.
    ParticipationForm {
        Online = "online",
        Onsite = "onsite",
        Blended = "blended",
    }
);

vocabulary!(
    /// Supervision and identity verification during assessment.
    Supervision {
        UnsupervisedNoIdentityVerification = "unsupervised_no_identity_verification",
        SupervisedNoIdentityVerification = "supervised_no_identity_verification",
        SupervisedOnlineWithIdentityVerification = "supervised_online_with_identity_verification",
        SupervisedOnsiteWithIdentityVerification = "supervised_onsite_with_identity_verification",
    }
);

vocabulary!(
    /// Whether a micro-credential stands alone or stacks.
    Stackability {
        Standalone = "standalone",
        Stackable = "stackable",
        Integrated = "integrated",
    }
);

vocabulary!(
    /// Purpose of a recognition decision.
    RecognitionPurpose {
        Admission = "admission",
        CreditTransfer = "credit_transfer",
        Exemption = "exemption",
        Employment = "employment",
        ContinuingProfessionalDevelopment = "continuing_professional_development",
    }
);

vocabulary!(
    /// Route of a recognition decision.
    RecognitionRoute {
        CreditExchangeAgreement = "credit_exchange_agreement",
        FreeElective = "free_elective",
        PriorLearning = "prior_learning",
        LisbonRecognitionConvention = "lisbon_recognition_convention",
        GlobalConvention = "global_convention",
    }
);

vocabulary!(
    /// Outcome of a recognition decision.
    RecognitionOutcome {
        Recognised = "recognised",
        PartiallyRecognised = "partially_recognised",
        RecognisedWithConditions = "recognised_with_conditions",
        Refused = "refused",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_forms_round_trip() {
        for kind in ProviderKind::ALL {
            assert_eq!(ProviderKind::parse(kind.as_str()), Some(*kind));
        }
        assert_eq!(ProviderKind::parse("university"), None);
        assert_eq!(
            serde_json::to_string(&Decision::PositiveWithConditions).unwrap(),
            "\"positive_with_conditions\""
        );
    }
}

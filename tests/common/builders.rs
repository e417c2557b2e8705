//! Small builders that put catalogue objects into a test app's store:
//! `app.provider("Name").country("IE").insert().await`.

use trust_registry::domain::Timestamp;
use trust_registry::domain::enums::*;
use trust_registry::domain::ids::IdKind;
use trust_registry::domain::model::*;

use super::TestApp;

/// `2024-01-01T00:00:00Z`-style text to a timestamp.
pub fn at(rfc3339: &str) -> Timestamp {
    Timestamp::parse_rfc3339(rfc3339).expect("valid RFC 3339 time")
}

fn en(value: &str) -> Vec<LocalizedString> {
    vec![LocalizedString {
        language: "en".into(),
        value: value.into(),
    }]
}

impl TestApp {
    /// A QA agency admitted on 2020-01-01.
    pub async fn agency(&self, name: &str, country: &str) -> QaAgency {
        let agency = QaAgency {
            id: IdKind::QaAgency.mint(name.as_bytes()),
            names: en(name),
            country: country.into(),
            operating_countries: vec![],
            identifiers: vec![],
            website: String::new(),
            admitted_at: at("2020-01-01T00:00:00Z"),
            retired_at: None,
        };
        self.store
            .insert_qa_agency(&agency, &[])
            .await
            .expect("insert agency");
        agency
    }

    /// A QA agency to adjust before inserting: admitted on 2020-01-01, not retired, operating
    /// only in its seat's country unless told otherwise.
    pub fn qa_agency(&self, name: &str, country: &str) -> AgencyBuilder<'_> {
        AgencyBuilder {
            app: self,
            agency: QaAgency {
                id: IdKind::QaAgency.mint(name.as_bytes()),
                names: en(name),
                country: country.into(),
                operating_countries: vec![],
                identifiers: vec![],
                website: String::new(),
                admitted_at: at("2020-01-01T00:00:00Z"),
                retired_at: None,
            },
            keys: vec![],
        }
    }

    /// A recognition body admitted on 2020-01-01.
    pub async fn recognition_body(
        &self,
        name: &str,
        country: &str,
        kind: RecognitionBodyKind,
    ) -> RecognitionBody {
        let body = RecognitionBody {
            id: IdKind::RecognitionBody.mint(name.as_bytes()),
            names: en(name),
            country: country.into(),
            kind,
            identifiers: vec![],
            website: String::new(),
            admitted_at: at("2020-01-01T00:00:00Z"),
            retired_at: None,
        };
        self.store
            .insert_recognition_body(&body, &[])
            .await
            .expect("insert recognition body");
        body
    }

    pub fn provider(&self, name: &str) -> ProviderBuilder<'_> {
        ProviderBuilder {
            app: self,
            provider: Provider {
                id: IdKind::Provider.mint(name.as_bytes()),
                names: en(name),
                country: "IE".into(),
                kind: ProviderKind::HigherEducation,
                identifiers: vec![],
                website: String::new(),
                registered_by: String::new(),
                registered_at: at("2020-06-01T00:00:00Z"),
            },
            keys: vec![],
        }
    }

    pub fn accreditation(&self, agency: &QaAgency, provider: &Provider) -> AccreditationBuilder<'_> {
        let valid_from = at("2021-01-01T00:00:00Z");
        AccreditationBuilder {
            app: self,
            accreditation: Accreditation {
                id: IdKind::Accreditation
                    .mint(format!("{}{}{}", agency.id, provider.id, rand_suffix()).as_bytes()),
                agency_id: agency.id.clone(),
                provider_id: provider.id.clone(),
                kind: AccreditationKind::InstitutionalReview,
                decision: Decision::Positive,
                scope: AccreditationScope::default(),
                valid_from,
                valid_until: None,
                report_url: String::new(),
                conditions: String::new(),
                recorded_at: valid_from,
            },
            history: vec![],
        }
    }

    pub fn qualification(&self, provider: &Provider, title: &str) -> QualificationBuilder<'_> {
        QualificationBuilder {
            app: self,
            qualification: Qualification {
                id: IdKind::Qualification.mint(format!("{}{title}", provider.id).as_bytes()),
                provider_id: provider.id.clone(),
                titles: en(title),
                awarding_body_ids: vec![provider.id.clone()],
                countries: vec![provider.country.clone()],
                learning_outcomes: vec![],
                workload: Workload {
                    credit_system: CreditSystem::Ects,
                    value: 5.0,
                    other_system: String::new(),
                    ects: Some(5.0),
                },
                level: None,
                assessment_types: vec![AssessmentType::Project],
                assessment_description: String::new(),
                participation: ParticipationForm::Online,
                quality_assurance: QualityAssurance::default(),
                prerequisites: String::new(),
                supervision: None,
                grading_scheme: "pass/fail".into(),
                stackability: StackabilityOptions {
                    stackability: Stackability::Standalone,
                    description: String::new(),
                    stacks_into: vec![],
                },
                further_information: String::new(),
                credential_type: String::new(),
                field_of_study: String::new(),
                languages: vec!["en".into()],
                published_at: at("2022-01-01T00:00:00Z"),
                withdrawn_at: None,
                version: 1,
            },
        }
    }

    pub fn recognition(
        &self,
        body: &RecognitionBody,
        qualification: &Qualification,
    ) -> RecognitionBuilder<'_> {
        RecognitionBuilder {
            app: self,
            recognition: Recognition {
                id: IdKind::Recognition
                    .mint(format!("{}{}{}", body.id, qualification.id, rand_suffix()).as_bytes()),
                body_id: body.id.clone(),
                qualification_id: qualification.id.clone(),
                purpose: RecognitionPurpose::CreditTransfer,
                route: RecognitionRoute::CreditExchangeAgreement,
                outcome: RecognitionOutcome::Recognised,
                credits_granted: 5.0,
                credit_system: Some(CreditSystem::Ects),
                target_programme: String::new(),
                conditions: String::new(),
                decided_at: at("2024-01-01T00:00:00Z"),
                retracted_at: None,
            },
        }
    }
}

fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed).to_string()
}

pub struct AgencyBuilder<'a> {
    app: &'a TestApp,
    pub agency: QaAgency,
    pub keys: Vec<ActorKey>,
}

impl AgencyBuilder<'_> {
    pub fn operating(mut self, countries: &[&str]) -> Self {
        self.agency.operating_countries = countries.iter().map(|c| c.to_string()).collect();
        self
    }
    pub fn name(mut self, language: &str, value: &str) -> Self {
        self.agency.names.push(LocalizedString {
            language: language.into(),
            value: value.into(),
        });
        self
    }
    pub fn admitted(mut self, at_time: &str) -> Self {
        self.agency.admitted_at = at(at_time);
        self
    }
    /// The agency's decisions stop counting at `at_time` (exclusive end of its admission).
    pub fn retired(mut self, at_time: &str) -> Self {
        self.agency.retired_at = Some(at(at_time));
        self
    }
    pub fn key(mut self, public_key: [u8; 32], valid_from: Timestamp) -> Self {
        self.keys.push(ActorKey::new(public_key, valid_from));
        self
    }
    pub fn identifier(mut self, scheme: IdentifierScheme, value: &str) -> Self {
        self.agency.identifiers.push(ExternalIdentifier {
            scheme,
            value: value.into(),
            valid_from: None,
            valid_until: None,
        });
        self
    }
    pub async fn insert(self) -> QaAgency {
        self.app
            .store
            .insert_qa_agency(&self.agency, &self.keys)
            .await
            .expect("insert agency");
        self.agency
    }
}

pub struct ProviderBuilder<'a> {
    app: &'a TestApp,
    pub provider: Provider,
    pub keys: Vec<ActorKey>,
}

impl ProviderBuilder<'_> {
    pub fn country(mut self, country: &str) -> Self {
        self.provider.country = country.into();
        self
    }
    pub fn kind(mut self, kind: ProviderKind) -> Self {
        self.provider.kind = kind;
        self
    }
    pub fn name(mut self, language: &str, value: &str) -> Self {
        self.provider.names.push(LocalizedString {
            language: language.into(),
            value: value.into(),
        });
        self
    }
    pub fn identifier(mut self, scheme: IdentifierScheme, value: &str) -> Self {
        self.provider.identifiers.push(ExternalIdentifier {
            scheme,
            value: value.into(),
            valid_from: None,
            valid_until: None,
        });
        self
    }
    /// An identifier bound to the provider in `[from, until)` only (`None`: open).
    pub fn identifier_valid(
        mut self,
        scheme: IdentifierScheme,
        value: &str,
        from: Option<&str>,
        until: Option<&str>,
    ) -> Self {
        self.provider.identifiers.push(ExternalIdentifier {
            scheme,
            value: value.into(),
            valid_from: from.map(at),
            valid_until: until.map(at),
        });
        self
    }
    pub fn key(mut self, public_key: [u8; 32], valid_from: Timestamp) -> Self {
        self.keys.push(ActorKey::new(public_key, valid_from));
        self
    }
    /// A key with its whole life as given: expiry, revocation.
    pub fn actor_key(mut self, key: ActorKey) -> Self {
        self.keys.push(key);
        self
    }
    pub async fn insert(self) -> Provider {
        self.app
            .store
            .insert_provider(&self.provider, &self.keys)
            .await
            .expect("insert provider");
        self.provider
    }
}

pub struct AccreditationBuilder<'a> {
    app: &'a TestApp,
    pub accreditation: Accreditation,
    pub history: Vec<StatusPeriod>,
}

impl AccreditationBuilder<'_> {
    pub fn decision(mut self, decision: Decision) -> Self {
        self.accreditation.decision = decision;
        self
    }
    pub fn kind(mut self, kind: AccreditationKind) -> Self {
        self.accreditation.kind = kind;
        self
    }
    pub fn valid(mut self, from: &str, until: Option<&str>) -> Self {
        self.accreditation.valid_from = at(from);
        self.accreditation.valid_until = until.map(at);
        self
    }
    pub fn eqf_levels(mut self, levels: &[u8]) -> Self {
        self.accreditation.scope.eqf_levels = levels.to_vec();
        self
    }
    pub fn credential_types(mut self, types: &[&str]) -> Self {
        self.accreditation.scope.credential_types = types.iter().map(|t| t.to_string()).collect();
        self
    }
    pub fn fields_of_study(mut self, fields: &[&str]) -> Self {
        self.accreditation.scope.fields_of_study = fields.iter().map(|f| f.to_string()).collect();
        self
    }
    pub fn jurisdictions(mut self, countries: &[&str]) -> Self {
        self.accreditation.scope.jurisdictions = countries.iter().map(|c| c.to_string()).collect();
        self
    }
    /// Appends a status period `[from, until)` to the history.
    pub fn status(
        mut self,
        status: AccreditationStatus,
        from: &str,
        until: Option<&str>,
        reason: &str,
    ) -> Self {
        self.history.push(StatusPeriod {
            status,
            effective_from: at(from),
            effective_until: until.map(at),
            reason: reason.into(),
        });
        self
    }
    /// Inserts; without an explicit history the accreditation is granted from its start.
    pub async fn insert(mut self) -> AccreditationRecord {
        if self.history.is_empty() {
            self.history.push(StatusPeriod {
                status: AccreditationStatus::Granted,
                effective_from: self.accreditation.valid_from,
                effective_until: None,
                reason: String::new(),
            });
        }
        self.app
            .store
            .insert_accreditation(&self.accreditation, &self.history)
            .await
            .expect("insert accreditation");
        AccreditationRecord {
            accreditation: self.accreditation,
            history: self.history,
        }
    }
}

pub struct QualificationBuilder<'a> {
    app: &'a TestApp,
    pub qualification: Qualification,
}

impl QualificationBuilder<'_> {
    /// Sets the framework level; the EQF level is read from the seeded framework.
    pub async fn level(mut self, framework_id: &str, level_code: &str) -> Self {
        let framework = self
            .app
            .store
            .framework(framework_id)
            .await
            .expect("read framework")
            .expect("seeded framework");
        let eqf_level = framework
            .level(level_code)
            .expect("level of the framework")
            .eqf_level;
        self.qualification.level = Some(FrameworkLevelRef {
            framework_id: framework_id.into(),
            level_code: level_code.into(),
            eqf_level,
        });
        self
    }
    /// Adds a title in another language.
    pub fn title(mut self, language: &str, value: &str) -> Self {
        self.qualification.titles.push(LocalizedString {
            language: language.into(),
            value: value.into(),
        });
        self
    }
    pub fn ects(mut self, ects: f64) -> Self {
        self.qualification.workload = Workload {
            credit_system: CreditSystem::Ects,
            value: ects,
            other_system: String::new(),
            ects: Some(ects),
        };
        self
    }
    pub fn hours_without_ects(mut self, hours: f64) -> Self {
        self.qualification.workload = Workload {
            credit_system: CreditSystem::Hours,
            value: hours,
            other_system: String::new(),
            ects: None,
        };
        self
    }
    pub fn skill(mut self, outcome: &str, skill_uri: &str) -> Self {
        self.qualification.learning_outcomes.push(LearningOutcome {
            text: outcome.into(),
            skill_uris: vec![skill_uri.into()],
        });
        self
    }
    pub fn stackability(mut self, stackability: Stackability) -> Self {
        self.qualification.stackability.stackability = stackability;
        self
    }
    pub fn withdrawn(mut self, at_time: &str) -> Self {
        self.qualification.withdrawn_at = Some(at(at_time));
        self
    }
    pub async fn insert(self) -> Qualification {
        self.app
            .store
            .insert_qualification(&self.qualification)
            .await
            .expect("insert qualification");
        self.qualification
    }
}

pub struct RecognitionBuilder<'a> {
    app: &'a TestApp,
    pub recognition: Recognition,
}

impl RecognitionBuilder<'_> {
    pub fn purpose(mut self, purpose: RecognitionPurpose) -> Self {
        self.recognition.purpose = purpose;
        self
    }
    pub fn route(mut self, route: RecognitionRoute) -> Self {
        self.recognition.route = route;
        self
    }
    pub fn outcome(mut self, outcome: RecognitionOutcome) -> Self {
        self.recognition.outcome = outcome;
        self
    }
    pub fn retracted(mut self, at_time: &str) -> Self {
        self.recognition.retracted_at = Some(at(at_time));
        self
    }
    pub async fn insert(self) -> Recognition {
        self.app
            .store
            .insert_recognition(&self.recognition)
            .await
            .expect("insert recognition");
        self.recognition
    }
}

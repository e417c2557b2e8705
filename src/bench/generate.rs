//! A synthetic registry as import lines (signed envelopes): the operator admits QA agencies and
//! recognition bodies; agencies register providers (a did:web identifier and a key each) and
//! accredit them, with status histories (some suspended, reinstated or withdrawn, a few negative
//! decisions); providers publish qualifications (a few withdrawn); bodies publish recognitions.
//!
//! Ids are minted by the registry from the issued_at and envelope id, so the generator computes
//! them itself and later lines can name earlier objects. Every key is derived from a name, so
//! the driver can sign as any provider.

use ed25519_dalek::SigningKey;
use sha2::{Digest, Sha256};

use crate::api::convert::timestamp;
use crate::api::write::seal;
use crate::cli::import::import_line;
use crate::domain::Timestamp;
use crate::domain::envelope::envelope_id;
use crate::domain::ids::IdKind;
use crate::pb;

pub const AGENCIES: usize = 8;
pub const BODIES: usize = 4;
/// Qualifications sharing one skill URI: what a skill search returns.
pub const PER_SKILL: usize = 20;

/// Number of distinct skill URIs among `qualifications` qualifications.
pub fn skills(qualifications: usize) -> usize {
    qualifications.div_ceil(PER_SKILL).max(1)
}
const COUNTRIES: [&str; 8] = ["IE", "NL", "DE", "FR", "FI", "ES", "IT", "PL"];

/// A deterministic key from a name.
pub fn key(name: &str) -> SigningKey {
    SigningKey::from_bytes(&Sha256::digest(format!("trust-registry bench key {name}")).into())
}

pub fn operator_key() -> SigningKey {
    key("operator")
}

pub fn provider_key(i: usize) -> SigningKey {
    key(&format!("provider {i}"))
}

pub fn provider_did(i: usize) -> String {
    format!("did:web:provider-{i}.bench.example")
}

pub fn skill_uri(k: usize) -> String {
    format!("https://skills.bench.example/skill/{k}")
}

fn at(year: i32, month: u8, day: u8) -> Timestamp {
    let date = time::Date::from_calendar_date(year, time::Month::try_from(month).expect("month"), day)
        .expect("date");
    Timestamp::from_unix_seconds(date.midnight().assume_utc().unix_timestamp())
}

const DAY: i64 = 86_400;

fn en(value: String) -> Vec<pb::LocalizedString> {
    vec![pb::LocalizedString {
        language: "en".into(),
        value,
    }]
}

fn key_spec(key: &SigningKey, valid_from: Option<Timestamp>) -> pb::KeySpec {
    pb::KeySpec {
        public_key: key.verifying_key().to_bytes().to_vec(),
        valid_from: valid_from.map(timestamp),
        valid_until: None,
    }
}

/// The description of provider `i`'s qualification number `number` (`k` picks its skill).
pub fn description(
    i: usize,
    number: usize,
    accreditation_id: &str,
    k: usize,
) -> pb::QualificationDescription {
    let country = COUNTRIES[i % COUNTRIES.len()];
    pb::QualificationDescription {
        titles: en(format!("Synthetic micro-credential {i}-{number}")),
        countries: vec![country.into()],
        learning_outcomes: vec![pb::LearningOutcome {
            text: format!("Applies the skills of synthetic topic {k}."),
            skill_uris: vec![skill_uri(k)],
        }],
        workload: Some(pb::Workload {
            credit_system: pb::CreditSystem::Ects.into(),
            value: (1 + (i + number) % 10) as f64,
            other_system: String::new(),
            ects: None,
        }),
        framework_id: "eqf".into(),
        level_code: (4 + (i + number) % 4).to_string(),
        assessment_types: vec![pb::AssessmentType::Project.into()],
        participation: pb::ParticipationForm::Online.into(),
        quality_assurance: Some(pb::QualityAssurance {
            description: "Institutional review by a registered QA agency.".into(),
            accreditation_ids: vec![accreditation_id.to_owned()],
        }),
        languages: vec!["en".into()],
        ..Default::default()
    }
}

/// Writes lines and remembers the ids the registry will mint.
pub struct Generator {
    pub providers: usize,
    pub per_provider: usize,
    /// Accreditations of each provider, each by another agency (the first institutional).
    pub accreditations_per_provider: usize,
    /// Recognition decisions, per provider, on qualifications spread over the registry.
    pub recognitions_per_provider: usize,
    /// Accreditations and recognitions generated so far.
    pub accreditations: usize,
    pub recognitions: usize,
    run: String,
    counter: u64,
    issued_at: Timestamp,
    operator: SigningKey,
    agency_keys: Vec<SigningKey>,
    body_keys: Vec<SigningKey>,
    /// By provider index.
    pub provider_ids: Vec<String>,
    pub accreditation_ids: Vec<String>,
    /// By `i * per_provider + j`.
    pub qualification_ids: Vec<String>,
}

impl Generator {
    pub fn new(
        providers: usize,
        per_provider: usize,
        accreditations_per_provider: usize,
        recognitions_per_provider: usize,
    ) -> Self {
        let run = format!(
            "{:x}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos()
        );
        Self {
            providers,
            per_provider,
            accreditations_per_provider,
            recognitions_per_provider,
            accreditations: 0,
            recognitions: 0,
            run,
            counter: 0,
            issued_at: Timestamp::now(),
            operator: operator_key(),
            agency_keys: (0..AGENCIES).map(|a| key(&format!("agency {a}"))).collect(),
            body_keys: (0..BODIES).map(|b| key(&format!("body {b}"))).collect(),
            provider_ids: Vec::with_capacity(providers),
            accreditation_ids: Vec::with_capacity(providers),
            qualification_ids: Vec::with_capacity(providers * per_provider),
        }
    }

    /// Number of distinct skill URIs.
    pub fn skills(&self) -> usize {
        skills(self.providers * self.per_provider)
    }

    fn header(&mut self) -> Option<pb::CommandHeader> {
        self.counter += 1;
        Some(pb::CommandHeader {
            issued_at: Some(timestamp(self.issued_at)),
            nonce: format!("bench-{}-{:010}", self.run, self.counter),
        })
    }

    /// Seals `command`, appends its line, and returns the envelope id.
    fn push(
        &self,
        out: &mut Vec<String>,
        key: &SigningKey,
        service: &str,
        method: &str,
        command: &impl prost::Message,
    ) -> String {
        let rpc = format!("/trustregistry.v1.{service}/{method}");
        let envelope = seal(key, &rpc, command);
        let id = envelope_id(&rpc, &envelope.command, &envelope.key_id, &envelope.signature);
        out.push(import_line(&rpc, &envelope));
        id
    }

    /// The operator admits the agencies and recognition bodies.
    pub fn governance(&mut self) -> Vec<String> {
        self.issued_at = Timestamp::now();
        let mut out = Vec::new();
        for a in 0..AGENCIES {
            let command = pb::AdmitQaAgencyCommand {
                header: self.header(),
                names: en(format!("Synthetic QA Agency {a}")),
                country: COUNTRIES[a % COUNTRIES.len()].into(),
                keys: vec![key_spec(&self.agency_keys[a], None)],
                admitted_at: Some(timestamp(at(2010, 1, 1))),
                ..Default::default()
            };
            let operator = self.operator.clone();
            self.push(
                &mut out,
                &operator,
                "GovernanceService",
                "AdmitQaAgency",
                &command,
            );
        }
        for b in 0..BODIES {
            let command = pb::AdmitRecognitionBodyCommand {
                header: self.header(),
                names: en(format!("Synthetic Recognition Body {b}")),
                country: COUNTRIES[b % COUNTRIES.len()].into(),
                kind: pb::RecognitionBodyKind::EnicNaric.into(),
                keys: vec![key_spec(&self.body_keys[b], None)],
                admitted_at: Some(timestamp(at(2010, 1, 1))),
                ..Default::default()
            };
            let operator = self.operator.clone();
            self.push(
                &mut out,
                &operator,
                "GovernanceService",
                "AdmitRecognitionBody",
                &command,
            );
        }
        out
    }

    /// Providers `range`: registration, accreditation and its status history, qualifications.
    pub fn providers(&mut self, range: std::ops::Range<usize>) -> Vec<String> {
        self.issued_at = Timestamp::now();
        let mut out = Vec::with_capacity(range.len() * (self.per_provider + 3));
        for i in range {
            assert_eq!(i, self.provider_ids.len(), "providers are generated in order");
            let agency = self.agency_keys[i % AGENCIES].clone();
            let provider_key = provider_key(i);
            let country = COUNTRIES[i % COUNTRIES.len()];
            let command = pb::RegisterProviderCommand {
                header: self.header(),
                names: en(format!("Synthetic Provider {i}")),
                country: country.into(),
                kind: pb::ProviderKind::HigherEducation.into(),
                identifiers: vec![pb::ExternalIdentifier {
                    scheme: pb::IdentifierScheme::Did.into(),
                    value: provider_did(i),
                    valid_from: None,
                    valid_until: None,
                }],
                website: format!("https://provider-{i}.bench.example/"),
                keys: vec![key_spec(&provider_key, Some(at(2015, 1, 1)))],
            };
            let envelope = self.push(
                &mut out,
                &agency,
                "AccreditationService",
                "RegisterProvider",
                &command,
            );
            let provider_id = IdKind::Provider.mint_at(self.issued_at, envelope.as_bytes());

            // The first accreditation is institutional and named by the qualifications; the
            // others are programme accreditations by the next agencies.
            let mut accreditation_id = String::new();
            for a in 0..self.accreditations_per_provider {
                let agency = self.agency_keys[(i + a) % AGENCIES].clone();
                let negative = a == 0 && i % 50 == 49;
                let command = pb::RecordAccreditationCommand {
                    header: self.header(),
                    provider_id: provider_id.clone(),
                    kind: if a == 0 {
                        pb::AccreditationKind::InstitutionalReview
                    } else {
                        pb::AccreditationKind::ProgrammeAccreditation
                    }
                    .into(),
                    decision: if negative {
                        pb::Decision::Negative
                    } else {
                        pb::Decision::Positive
                    }
                    .into(),
                    scope: Some(pb::AccreditationScope {
                        eqf_levels: vec![4, 5, 6, 7],
                        ..Default::default()
                    }),
                    valid_from: Some(timestamp(
                        at(2016, 1, 1).plus_seconds(((i + 97 * a) % 365) as i64 * DAY),
                    )),
                    valid_until: Some(timestamp(at(2036, 1, 1))),
                    report_url: String::new(),
                    conditions: String::new(),
                };
                let envelope = self.push(
                    &mut out,
                    &agency,
                    "AccreditationService",
                    "RecordAccreditation",
                    &command,
                );
                self.accreditations += 1;
                let id = IdKind::Accreditation.mint_at(self.issued_at, envelope.as_bytes());
                let history: &[(pb::AccreditationStatus, Timestamp)] = match (i + 7 * a) % 20 {
                    _ if negative => &[],
                    3 | 13 => &[
                        (pb::AccreditationStatus::Suspended, at(2020, 3, 1)),
                        (pb::AccreditationStatus::Reinstated, at(2021, 3, 1)),
                    ],
                    7 | 17 => &[(pb::AccreditationStatus::Withdrawn, at(2023, 6, 1))],
                    11 => &[(pb::AccreditationStatus::Suspended, at(2024, 9, 1))],
                    _ => &[],
                };
                for &(status, effective_at) in history {
                    let command = pb::ChangeAccreditationStatusCommand {
                        header: self.header(),
                        accreditation_id: id.clone(),
                        status: status.into(),
                        effective_at: Some(timestamp(effective_at)),
                        reason: "synthetic status change".into(),
                    };
                    self.push(
                        &mut out,
                        &agency,
                        "AccreditationService",
                        "ChangeAccreditationStatus",
                        &command,
                    );
                }
                if a == 0 {
                    accreditation_id = id;
                }
            }

            for j in 0..self.per_provider {
                let k = (i * self.per_provider + j) / PER_SKILL;
                let command = pb::PublishQualificationCommand {
                    header: self.header(),
                    description: Some(description(i, j, &accreditation_id, k)),
                };
                let envelope = self.push(
                    &mut out,
                    &provider_key,
                    "ProviderService",
                    "PublishQualification",
                    &command,
                );
                self.qualification_ids
                    .push(IdKind::Qualification.mint_at(self.issued_at, envelope.as_bytes()));
            }
            if i % 10 == 0 && self.per_provider > 1 {
                let command = pb::WithdrawQualificationCommand {
                    header: self.header(),
                    qualification_id: self.qualification_ids.last().cloned().unwrap_or_default(),
                    // Publication is stamped at receipt, after issued_at: withdraw later.
                    withdrawn_at: Some(timestamp(self.issued_at.plus_seconds(3_600))),
                    reason: "synthetic withdrawal".into(),
                };
                self.push(
                    &mut out,
                    &provider_key,
                    "ProviderService",
                    "WithdrawQualification",
                    &command,
                );
            }
            self.provider_ids.push(provider_id);
            self.accreditation_ids.push(accreditation_id);
        }
        out
    }

    /// Recognition decisions: `recognitions_per_provider` for each provider, on qualifications
    /// spread over the registry.
    pub fn recognitions(&mut self) -> Vec<String> {
        self.issued_at = Timestamp::now();
        let mut out = Vec::new();
        let total = self.qualification_ids.len();
        for r in 0..self.provider_ids.len() * self.recognitions_per_provider {
            let index = (r * 7919) % total;
            let (i, j) = (index / self.per_provider, index % self.per_provider);
            if i % 10 == 0 && self.per_provider > 1 && j == self.per_provider - 1 {
                continue; // withdrawn
            }
            let body = self.body_keys[r % BODIES].clone();
            let command = pb::PublishRecognitionCommand {
                header: self.header(),
                qualification_id: self.qualification_ids[index].clone(),
                purpose: pb::RecognitionPurpose::CreditTransfer.into(),
                route: pb::RecognitionRoute::FreeElective.into(),
                outcome: pb::RecognitionOutcome::Recognised.into(),
                credits_granted: 5.0,
                credit_system: pb::CreditSystem::Ects.into(),
                decided_at: Some(timestamp(at(2024, 1, 1))),
                ..Default::default()
            };
            self.push(
                &mut out,
                &body,
                "RecognitionService",
                "PublishRecognition",
                &command,
            );
            self.recognitions += 1;
        }
        out
    }
}

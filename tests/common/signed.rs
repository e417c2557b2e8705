//! Signing helpers for write tests: headers with fresh nonces, envelopes, and clients of the
//! write services.

use std::sync::atomic::{AtomicU64, Ordering};

use ed25519_dalek::SigningKey;
use tonic::transport::Channel;
use trust_registry::api::convert::timestamp;
use trust_registry::api::write::seal;
use trust_registry::domain::Timestamp;
use trust_registry::pb;
use trust_registry::pb::{
    accreditation_service_client::AccreditationServiceClient,
    governance_service_client::GovernanceServiceClient, key_service_client::KeyServiceClient,
    log_service_client::LogServiceClient, provider_service_client::ProviderServiceClient,
    recognition_service_client::RecognitionServiceClient,
};

use super::TestApp;

/// The test operator key (configured as the server's operator key).
pub fn operator_key() -> SigningKey {
    SigningKey::from_bytes(&[42; 32])
}

/// The registry's verdict-signing key in tests.
pub fn registry_key() -> SigningKey {
    SigningKey::from_bytes(&[7; 32])
}

/// A deterministic test key from a name.
pub fn key(name: &str) -> SigningKey {
    use sha2::{Digest, Sha256};
    SigningKey::from_bytes(&Sha256::digest(format!("test key {name}")).into())
}

/// A fresh nonce, never repeated within a test run.
pub fn nonce() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "test-{}-{:012}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A header issued now with a fresh nonce.
pub fn header() -> Option<pb::CommandHeader> {
    header_at(Timestamp::now())
}

/// A header issued at `issued_at` with a fresh nonce.
pub fn header_at(issued_at: Timestamp) -> Option<pb::CommandHeader> {
    Some(pb::CommandHeader {
        issued_at: Some(timestamp(issued_at)),
        nonce: nonce(),
    })
}

/// The full RPC name of `service`/`method` in `trustregistry.v1`.
pub fn rpc(service: &str, method: &str) -> String {
    format!("/trustregistry.v1.{service}/{method}")
}

/// Encodes and signs `command` for `service`/`method`.
pub fn envelope(
    signer: &SigningKey,
    service: &str,
    method: &str,
    command: &impl prost::Message,
) -> Option<pb::SignedEnvelope> {
    Some(seal(signer, &rpc(service, method), command))
}

/// A key spec valid from now on.
pub fn key_spec(key: &SigningKey) -> pb::KeySpec {
    pb::KeySpec {
        public_key: key.verifying_key().to_bytes().to_vec(),
        valid_from: None,
        valid_until: None,
    }
}

/// A RegisterProvider command for an Irish higher-education provider named `name` (in English)
/// holding `keys`, with a fresh header.
pub fn provider_registration(name: &str, keys: Vec<pb::KeySpec>) -> pb::RegisterProviderCommand {
    pb::RegisterProviderCommand {
        header: header(),
        names: en(name),
        country: "IE".into(),
        kind: pb::ProviderKind::HigherEducation as i32,
        keys,
        ..Default::default()
    }
}

/// A valid AddFramework command: framework `id`, with one level (EQF level 1).
pub fn framework_command(id: &str) -> pb::AddFrameworkCommand {
    pb::AddFrameworkCommand {
        header: header(),
        framework: Some(pb::Framework {
            id: id.into(),
            code: id.to_uppercase(),
            title: format!("Test framework {id}"),
            jurisdiction: "MT".into(),
            referencing: pb::ReferencingStatus::Referenced as i32,
            sources: vec![pb::Source {
                title: "Referencing report".into(),
                publisher: "Test authority".into(),
                year: 2024,
                url: "https://example.org/referencing".into(),
            }],
            levels: vec![pb::FrameworkLevel {
                code: "1".into(),
                ordinal: 1,
                title: "Level 1".into(),
                eqf_level: Some(1),
                ..Default::default()
            }],
            ..Default::default()
        }),
    }
}

pub fn en(value: &str) -> Vec<pb::LocalizedString> {
    vec![pb::LocalizedString {
        language: "en".into(),
        value: value.into(),
    }]
}

impl TestApp {
    pub fn governance(&self) -> GovernanceServiceClient<Channel> {
        GovernanceServiceClient::new(self.channel.clone())
    }
    pub fn accreditations(&self) -> AccreditationServiceClient<Channel> {
        AccreditationServiceClient::new(self.channel.clone())
    }
    pub fn providers(&self) -> ProviderServiceClient<Channel> {
        ProviderServiceClient::new(self.channel.clone())
    }
    pub fn recognitions(&self) -> RecognitionServiceClient<Channel> {
        RecognitionServiceClient::new(self.channel.clone())
    }
    pub fn keys(&self) -> KeyServiceClient<Channel> {
        KeyServiceClient::new(self.channel.clone())
    }
    pub fn trust(&self) -> trust_registry::pb::trust_service_client::TrustServiceClient<Channel> {
        trust_registry::pb::trust_service_client::TrustServiceClient::new(self.channel.clone())
    }
    pub fn log(&self) -> LogServiceClient<Channel> {
        LogServiceClient::new(self.channel.clone())
    }
    pub fn catalogue(&self) -> trust_registry::pb::catalogue_service_client::CatalogueServiceClient<Channel> {
        trust_registry::pb::catalogue_service_client::CatalogueServiceClient::new(self.channel.clone())
    }

    /// The operator admits a QA agency holding `key`; returns its registry id.
    pub async fn admit_agency(&self, name: &str, country: &str, key: &SigningKey) -> String {
        let command = pb::AdmitQaAgencyCommand {
            header: header(),
            names: en(name),
            country: country.into(),
            keys: vec![key_spec(key)],
            admitted_at: Some(timestamp(
                Timestamp::parse_rfc3339("2020-01-01T00:00:00Z").unwrap(),
            )),
            ..Default::default()
        };
        let request = pb::AdmitQaAgencyRequest {
            envelope: envelope(&operator_key(), "GovernanceService", "AdmitQaAgency", &command),
        };
        self.governance()
            .admit_qa_agency(request)
            .await
            .expect("admit agency")
            .into_inner()
            .qa_agency
            .expect("agency")
            .id
    }

    /// The operator adds a framework `id` with one level (EQF level 1); returns its id.
    pub async fn add_framework(&self, id: &str) -> String {
        let request = pb::AddFrameworkRequest {
            envelope: envelope(
                &operator_key(),
                "GovernanceService",
                "AddFramework",
                &framework_command(id),
            ),
        };
        self.governance()
            .add_framework(request)
            .await
            .expect("add framework")
            .into_inner()
            .framework
            .expect("framework")
            .id
    }

    /// The operator admits a recognition body holding `key`; returns its registry id.
    pub async fn admit_body(&self, name: &str, country: &str, key: &SigningKey) -> String {
        let command = pb::AdmitRecognitionBodyCommand {
            header: header(),
            names: en(name),
            country: country.into(),
            kind: pb::RecognitionBodyKind::EnicNaric as i32,
            keys: vec![key_spec(key)],
            admitted_at: Some(timestamp(
                Timestamp::parse_rfc3339("2020-01-01T00:00:00Z").unwrap(),
            )),
            ..Default::default()
        };
        let request = pb::AdmitRecognitionBodyRequest {
            envelope: envelope(
                &operator_key(),
                "GovernanceService",
                "AdmitRecognitionBody",
                &command,
            ),
        };
        self.governance()
            .admit_recognition_body(request)
            .await
            .expect("admit body")
            .into_inner()
            .recognition_body
            .expect("body")
            .id
    }

    /// An agency (signing with `agency_key`) registers a provider holding `key`; returns its id.
    pub async fn register_provider(
        &self,
        agency_key: &SigningKey,
        name: &str,
        country: &str,
        key: &SigningKey,
    ) -> String {
        let command = pb::RegisterProviderCommand {
            header: header(),
            names: en(name),
            country: country.into(),
            kind: pb::ProviderKind::HigherEducation as i32,
            keys: vec![pb::KeySpec {
                public_key: key.verifying_key().to_bytes().to_vec(),
                valid_from: Some(timestamp(
                    Timestamp::parse_rfc3339("2020-01-01T00:00:00Z").unwrap(),
                )),
                valid_until: None,
            }],
            ..Default::default()
        };
        let request = pb::RegisterProviderRequest {
            envelope: envelope(agency_key, "AccreditationService", "RegisterProvider", &command),
        };
        self.accreditations()
            .register_provider(request)
            .await
            .expect("register provider")
            .into_inner()
            .provider
            .expect("provider")
            .id
    }
}

impl TestApp {
    /// An agency (signing with `agency_key`) records an accreditation; returns it as stored.
    pub async fn record_accreditation(
        &self,
        agency_key: &SigningKey,
        command: &pb::RecordAccreditationCommand,
    ) -> pb::Accreditation {
        self.accreditations()
            .record_accreditation(pb::RecordAccreditationRequest {
                envelope: envelope(agency_key, "AccreditationService", "RecordAccreditation", command),
            })
            .await
            .expect("RecordAccreditation")
            .into_inner()
            .accreditation
            .expect("accreditation")
    }

    /// A few writes of every kind of actor, four log entries: an agency admitted, a provider it
    /// registers, an accreditation of it, a micro-credential it publishes. The provider's id.
    pub async fn populate(&self, suffix: &str) -> String {
        let agency = key(&format!("audit agency {suffix}"));
        let provider = key(&format!("audit provider {suffix}"));
        self.admit_agency(&format!("Audit Agency {suffix}"), "IE", &agency)
            .await;
        let provider_id = self
            .register_provider(&agency, &format!("Audit College {suffix}"), "IE", &provider)
            .await;
        let record = pb::RecordAccreditationCommand {
            header: header(),
            provider_id: provider_id.clone(),
            kind: pb::AccreditationKind::InstitutionalReview as i32,
            decision: pb::Decision::Positive as i32,
            valid_from: Some(trust_registry::api::convert::timestamp(
                trust_registry::domain::Timestamp::parse_rfc3339("2022-01-01T00:00:00Z").unwrap(),
            )),
            ..Default::default()
        };
        self.record_accreditation(&agency, &record).await;
        let publish = pb::PublishQualificationCommand {
            header: header(),
            description: Some(description(&format!("Audited Course {suffix}"))),
        };
        self.providers()
            .publish_qualification(pb::PublishQualificationRequest {
                envelope: envelope(&provider, "ProviderService", "PublishQualification", &publish),
            })
            .await
            .expect("publish");
        provider_id
    }
}

/// A complete Annex I description for tests.
/// A description of ~240 KB (30 learning outcomes of ~7,900 characters), near the 256 KiB a
/// command may take: fourteen of them pass the 3 MiB a page holds, seventy the 16 MiB an import
/// call holds before applying them.
pub fn large_description(title: &str) -> pb::QualificationDescription {
    pb::QualificationDescription {
        learning_outcomes: (0..30)
            .map(|j| pb::LearningOutcome {
                text: format!("{title} {j} {}", "x".repeat(7_900)),
                skill_uris: vec![],
            })
            .collect(),
        ..description(title)
    }
}

pub fn description(title: &str) -> pb::QualificationDescription {
    pb::QualificationDescription {
        titles: en(title),
        countries: vec!["IE".into()],
        learning_outcomes: vec![pb::LearningOutcome {
            text: "Designs relational database schemas".into(),
            skill_uris: vec!["http://data.europa.eu/esco/skill/test-skill-1".into()],
        }],
        workload: Some(pb::Workload {
            credit_system: pb::CreditSystem::Ects as i32,
            value: 5.0,
            other_system: String::new(),
            ects: None,
        }),
        framework_id: "ie-nfq".into(),
        level_code: "8".into(),
        assessment_types: vec![pb::AssessmentType::Project as i32],
        participation: pb::ParticipationForm::Online as i32,
        quality_assurance: Some(pb::QualityAssurance {
            description: "Internal QA under the provider's accreditation".into(),
            accreditation_ids: vec![],
        }),
        grading_scheme: "pass/fail".into(),
        languages: vec!["en".into()],
        ..Default::default()
    }
}

/// A recognition body's decision recognising `qualification_id` for credit transfer.
pub fn publish_recognition_of(qualification_id: &str) -> pb::PublishRecognitionCommand {
    pb::PublishRecognitionCommand {
        header: header(),
        qualification_id: qualification_id.into(),
        purpose: pb::RecognitionPurpose::CreditTransfer as i32,
        route: pb::RecognitionRoute::FreeElective as i32,
        outcome: pb::RecognitionOutcome::Recognised as i32,
        credits_granted: 5.0,
        credit_system: pb::CreditSystem::Ects as i32,
        decided_at: Some(timestamp(
            Timestamp::parse_rfc3339("2025-03-01T00:00:00Z").unwrap(),
        )),
        ..Default::default()
    }
}

//! Loads the demo dataset as signed writes: the operator (a demo operator key) admits the
//! agencies and bodies, the agencies register and accredit providers, providers publish their
//! micro-credentials and the bodies their recognitions. Object ids are the ones the registry
//! mints; the dataset's own ids only link its parts together.

use std::collections::HashMap;

use super::data::{self, DemoSummary};
use crate::api::convert::{identifiers, localized, timestamp};
use crate::api::write::{OperatorKey, SignedCommand, Writes, seal};
use crate::domain::model::*;
use crate::domain::write::{Applied, Receipt};
use crate::domain::{DomainError, Timestamp};
use crate::pb;
use crate::store::Store;
use ed25519_dalek::SigningKey;

/// The demo operator key. It is public: never configure it as a real registry's operator key.
pub fn demo_operator_key() -> SigningKey {
    data::demo_signing_key("operator")
}

struct Loader {
    writes: Writes,
    keys: HashMap<String, SigningKey>,
    operator: SigningKey,
    /// Dataset id -> registry id.
    ids: HashMap<String, String>,
    counter: u64,
}

impl Loader {
    fn header(&mut self) -> Option<pb::CommandHeader> {
        self.counter += 1;
        Some(pb::CommandHeader {
            issued_at: Some(timestamp(Timestamp::now())),
            nonce: format!("demo-load-{:08}", self.counter),
        })
    }

    fn id(&self, dataset_id: &str) -> Result<String, DomainError> {
        self.ids.get(dataset_id).cloned().ok_or_else(|| {
            DomainError::FailedPrecondition(format!(
                "demo dataset: {dataset_id} referenced before it was written"
            ))
        })
    }

    fn key_of(&self, keys: &[ActorKey], at: Timestamp) -> Result<SigningKey, DomainError> {
        keys.iter()
            .filter(|key| key.usable_at(at))
            .find_map(|key| self.keys.get(&key.key_id).cloned())
            .ok_or_else(|| {
                DomainError::FailedPrecondition("demo dataset: an actor has no usable demo key".into())
            })
    }

    async fn send<C: SignedCommand>(
        &self,
        service: &str,
        method: &str,
        key: &SigningKey,
        command: C,
    ) -> Result<Applied, DomainError> {
        let rpc = format!("/trustregistry.v1.{service}/{method}");
        let envelope = seal(key, &rpc, &command);
        let Receipt { applied, .. } = self.writes.submit::<C>(&rpc, Some(envelope)).await?;
        Ok(applied)
    }
}

fn key_specs(keys: &[ActorKey]) -> Vec<pb::KeySpec> {
    keys.iter()
        .map(|key| pb::KeySpec {
            public_key: key.public_key.to_vec(),
            valid_from: Some(timestamp(key.valid_from)),
            valid_until: key.valid_until.map(timestamp),
        })
        .collect()
}

/// Loads the demo dataset into an empty store; `Ok(None)` without writing when it is not empty.
pub async fn load(store: &Store) -> Result<Option<DemoSummary>, DomainError> {
    if !store.is_empty().await? {
        return Ok(None);
    }
    let frameworks = data::frameworks(store).await?;
    let qualifications = data::qualifications(&frameworks)?;
    let (agencies, bodies, providers) = (data::qa_agencies(), data::recognition_bodies(), data::providers());
    let (accreditations, recognitions) = (data::accreditations(), data::recognitions());
    let operator = demo_operator_key();
    let mut loader = Loader {
        writes: Writes::new(
            store.clone(),
            Some(OperatorKey::new(operator.verifying_key().to_bytes())),
        ),
        keys: data::signing_keys(),
        operator,
        ids: HashMap::new(),
        counter: 0,
    };
    let now = Timestamp::now();
    let mut agency_keys = HashMap::new();
    for (agency, keys) in &agencies {
        let command = pb::AdmitQaAgencyCommand {
            header: loader.header(),
            names: localized(agency.names.clone()),
            country: agency.country.clone(),
            operating_countries: agency.operating_countries.clone(),
            identifiers: identifiers(agency.identifiers.clone()),
            website: agency.website.clone(),
            keys: key_specs(keys),
            admitted_at: Some(timestamp(agency.admitted_at)),
        };
        let operator = loader.operator.clone();
        let Applied::QaAgency(admitted) = loader
            .send("GovernanceService", "AdmitQaAgency", &operator, command)
            .await?
        else {
            unreachable!("AdmitQaAgency answers with an agency")
        };
        loader.ids.insert(agency.id.clone(), admitted.item.id.clone());
        agency_keys.insert(agency.id.clone(), loader.key_of(keys, now)?);
    }
    let mut body_keys = HashMap::new();
    for (body, keys) in &bodies {
        let command = pb::AdmitRecognitionBodyCommand {
            header: loader.header(),
            names: localized(body.names.clone()),
            country: body.country.clone(),
            kind: pb::RecognitionBodyKind::from(body.kind).into(),
            identifiers: identifiers(body.identifiers.clone()),
            website: body.website.clone(),
            keys: key_specs(keys),
            admitted_at: Some(timestamp(body.admitted_at)),
        };
        let operator = loader.operator.clone();
        let Applied::RecognitionBody(admitted) = loader
            .send("GovernanceService", "AdmitRecognitionBody", &operator, command)
            .await?
        else {
            unreachable!("AdmitRecognitionBody answers with a body")
        };
        loader.ids.insert(body.id.clone(), admitted.item.id.clone());
        body_keys.insert(body.id.clone(), loader.key_of(keys, now)?);
    }
    let mut provider_keys = HashMap::new();
    for (provider, keys) in &providers {
        let command = pb::RegisterProviderCommand {
            header: loader.header(),
            names: localized(provider.names.clone()),
            country: provider.country.clone(),
            kind: pb::ProviderKind::from(provider.kind).into(),
            identifiers: identifiers(provider.identifiers.clone()),
            website: provider.website.clone(),
            keys: key_specs(keys),
        };
        let agency = agency_keys[&provider.registered_by].clone();
        let Applied::Provider(registered) = loader
            .send("AccreditationService", "RegisterProvider", &agency, command)
            .await?
        else {
            unreachable!("RegisterProvider answers with a provider")
        };
        loader.ids.insert(provider.id.clone(), registered.item.id.clone());
        provider_keys.insert(provider.id.clone(), loader.key_of(keys, now)?);
    }
    for (accreditation, history) in &accreditations {
        let agency = agency_keys[&accreditation.agency_id].clone();
        let scope = &accreditation.scope;
        let command = pb::RecordAccreditationCommand {
            header: loader.header(),
            provider_id: loader.id(&accreditation.provider_id)?,
            kind: pb::AccreditationKind::from(accreditation.kind).into(),
            decision: pb::Decision::from(accreditation.decision).into(),
            scope: Some(pb::AccreditationScope {
                eqf_levels: scope.eqf_levels.iter().map(|&l| u32::from(l)).collect(),
                credential_types: scope.credential_types.clone(),
                fields_of_study: scope.fields_of_study.clone(),
                jurisdictions: scope.jurisdictions.clone(),
            }),
            valid_from: Some(timestamp(accreditation.valid_from)),
            valid_until: accreditation.valid_until.map(timestamp),
            report_url: accreditation.report_url.clone(),
            conditions: accreditation.conditions.clone(),
        };
        let Applied::Accreditation(recorded) = loader
            .send("AccreditationService", "RecordAccreditation", &agency, command)
            .await?
        else {
            unreachable!("RecordAccreditation answers with an accreditation")
        };
        let registry_id = recorded.accreditation.id.clone();
        loader.ids.insert(accreditation.id.clone(), registry_id.clone());
        // The first period is the grant the registry records itself; later ones are changes.
        for period in history.iter().skip(1) {
            let command = pb::ChangeAccreditationStatusCommand {
                header: loader.header(),
                accreditation_id: registry_id.clone(),
                status: pb::AccreditationStatus::from(period.status).into(),
                effective_at: Some(timestamp(period.effective_from)),
                reason: if period.reason.is_empty() {
                    "status change".into()
                } else {
                    period.reason.clone()
                },
            };
            loader
                .send(
                    "AccreditationService",
                    "ChangeAccreditationStatus",
                    &agency,
                    command,
                )
                .await?;
        }
    }
    // Publish a qualification only once everything it stacks into is published.
    let mut pending: Vec<&Qualification> = qualifications.iter().collect();
    while !pending.is_empty() {
        let before = pending.len();
        let mut waiting = Vec::new();
        for qualification in pending {
            if qualification
                .stackability
                .stacks_into
                .iter()
                .any(|id| !loader.ids.contains_key(id))
            {
                waiting.push(qualification);
                continue;
            }
            publish(&mut loader, &provider_keys, qualification).await?;
        }
        if waiting.len() == before {
            return Err(DomainError::FailedPrecondition(
                "demo dataset: qualifications stack into each other in a cycle".into(),
            ));
        }
        pending = waiting;
    }
    for recognition in &recognitions {
        let body = body_keys[&recognition.body_id].clone();
        let command = pb::PublishRecognitionCommand {
            header: loader.header(),
            qualification_id: loader.id(&recognition.qualification_id)?,
            purpose: pb::RecognitionPurpose::from(recognition.purpose).into(),
            route: pb::RecognitionRoute::from(recognition.route).into(),
            outcome: pb::RecognitionOutcome::from(recognition.outcome).into(),
            credits_granted: recognition.credits_granted,
            credit_system: recognition
                .credit_system
                .map(|c| pb::CreditSystem::from(c).into())
                .unwrap_or_default(),
            target_programme: recognition.target_programme.clone(),
            conditions: recognition.conditions.clone(),
            decided_at: Some(timestamp(recognition.decided_at)),
        };
        let Applied::Recognition(published) = loader
            .send("RecognitionService", "PublishRecognition", &body, command)
            .await?
        else {
            unreachable!("PublishRecognition answers with a recognition")
        };
        if let Some(retracted_at) = recognition.retracted_at {
            let command = pb::RetractRecognitionCommand {
                header: loader.header(),
                recognition_id: published.id,
                retracted_at: Some(timestamp(retracted_at)),
                reason: "demo: retracted decision".into(),
            };
            loader
                .send("RecognitionService", "RetractRecognition", &body, command)
                .await?;
        }
    }
    // Retirements last, so that retired agencies' earlier decisions could be recorded.
    for (agency, _) in agencies.iter().filter(|(a, _)| a.retired_at.is_some()) {
        let command = pb::RetireQaAgencyCommand {
            header: loader.header(),
            agency_id: loader.id(&agency.id)?,
            retired_at: agency.retired_at.map(timestamp),
            reason: "demo: agency retired".into(),
        };
        let operator = loader.operator.clone();
        loader
            .send("GovernanceService", "RetireQaAgency", &operator, command)
            .await?;
    }
    Ok(Some(DemoSummary {
        qa_agencies: agencies.len(),
        recognition_bodies: bodies.len(),
        providers: providers.len(),
        accreditations: accreditations.len(),
        qualifications: qualifications.len(),
        recognitions: recognitions.len(),
    }))
}

async fn publish(
    loader: &mut Loader,
    provider_keys: &HashMap<String, SigningKey>,
    q: &Qualification,
) -> Result<(), DomainError> {
    let key = provider_keys[&q.provider_id].clone();
    let map =
        |ids: &[String], loader: &Loader| ids.iter().map(|id| loader.id(id)).collect::<Result<Vec<_>, _>>();
    let description = pb::QualificationDescription {
        titles: localized(q.titles.clone()),
        awarding_body_ids: map(&q.awarding_body_ids, loader)?,
        countries: q.countries.clone(),
        learning_outcomes: q
            .learning_outcomes
            .iter()
            .map(|o| pb::LearningOutcome {
                text: o.text.clone(),
                skill_uris: o.skill_uris.clone(),
            })
            .collect(),
        workload: Some(pb::Workload {
            credit_system: pb::CreditSystem::from(q.workload.credit_system).into(),
            value: q.workload.value,
            other_system: q.workload.other_system.clone(),
            ects: q.workload.ects,
        }),
        framework_id: q
            .level
            .as_ref()
            .map(|l| l.framework_id.clone())
            .unwrap_or_default(),
        level_code: q.level.as_ref().map(|l| l.level_code.clone()).unwrap_or_default(),
        assessment_types: q
            .assessment_types
            .iter()
            .map(|&t| pb::AssessmentType::from(t).into())
            .collect(),
        assessment_description: q.assessment_description.clone(),
        participation: pb::ParticipationForm::from(q.participation).into(),
        quality_assurance: Some(pb::QualityAssurance {
            description: q.quality_assurance.description.clone(),
            accreditation_ids: map(&q.quality_assurance.accreditation_ids, loader)?,
        }),
        prerequisites: q.prerequisites.clone(),
        supervision: q
            .supervision
            .map(|s| pb::Supervision::from(s).into())
            .unwrap_or_default(),
        grading_scheme: q.grading_scheme.clone(),
        stackability: Some(pb::StackabilityOptions {
            stackability: pb::Stackability::from(q.stackability.stackability).into(),
            description: q.stackability.description.clone(),
            stacks_into: map(&q.stackability.stacks_into, loader)?,
        }),
        further_information: q.further_information.clone(),
        credential_type: q.credential_type.clone(),
        field_of_study: q.field_of_study.clone(),
        languages: q.languages.clone(),
    };
    let command = pb::PublishQualificationCommand {
        header: loader.header(),
        description: Some(description.clone()),
    };
    let Applied::Qualification(published) = loader
        .send("ProviderService", "PublishQualification", &key, command)
        .await?
    else {
        unreachable!("PublishQualification answers with a qualification")
    };
    loader.ids.insert(q.id.clone(), published.id.clone());
    for _ in 1..q.version {
        let command = pb::ReviseQualificationCommand {
            header: loader.header(),
            qualification_id: published.id.clone(),
            description: Some(description.clone()),
        };
        loader
            .send("ProviderService", "ReviseQualification", &key, command)
            .await?;
    }
    if let Some(withdrawn_at) = q.withdrawn_at {
        let command = pb::WithdrawQualificationCommand {
            header: loader.header(),
            qualification_id: published.id.clone(),
            withdrawn_at: Some(timestamp(withdrawn_at.max(Timestamp::now()))),
            reason: "demo: withdrawn by the provider".into(),
        };
        loader
            .send("ProviderService", "WithdrawQualification", &key, command)
            .await?;
    }
    Ok(())
}

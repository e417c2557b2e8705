//! What each command changes, after checking it against the registry as it stands.

use super::checks::*;
use super::*;

pub(super) async fn apply_command(
    tx: &impl Rows,
    envelope: &EnvelopeRecord,
    signer: &Signer,
    command: Command,
    known: &Known,
) -> Result<Applied> {
    let now = envelope.received_at;
    match command {
        Command::AdmitQaAgency { agency, keys } => {
            ensure_new_keys(tx, &keys).await?;
            ensure_free_identifiers(tx, &agency.identifiers).await?;
            insert_qa_agency(tx, &agency, &keys).await?;
            Ok(Applied::QaAgency(Keyed { item: agency, keys }))
        }
        Command::RetireQaAgency {
            agency_id,
            retired_at,
            reason: _,
        } => {
            let mut agency: QaAgency = doc_by_id::<qa_agency::Entity, _>(tx, &agency_id, "QA agency").await?;
            check_retirement(agency.admitted_at, agency.retired_at, retired_at)?;
            agency.retired_at = Some(retired_at);
            update_qa_agency(tx, &agency).await?;
            let keys = keys_of(tx, &agency.id).await?;
            Ok(Applied::QaAgency(Keyed { item: agency, keys }))
        }
        Command::AdmitRecognitionBody { body, keys } => {
            ensure_new_keys(tx, &keys).await?;
            ensure_free_identifiers(tx, &body.identifiers).await?;
            insert_recognition_body(tx, &body, &keys).await?;
            Ok(Applied::RecognitionBody(Keyed { item: body, keys }))
        }
        Command::RetireRecognitionBody {
            body_id,
            retired_at,
            reason: _,
        } => {
            let mut body: RecognitionBody =
                doc_by_id::<recognition_body::Entity, _>(tx, &body_id, "recognition body").await?;
            check_retirement(body.admitted_at, body.retired_at, retired_at)?;
            body.retired_at = Some(retired_at);
            update_recognition_body(tx, &body).await?;
            let keys = keys_of(tx, &body.id).await?;
            Ok(Applied::RecognitionBody(Keyed { item: body, keys }))
        }
        Command::AddFramework(framework) => {
            if framework::Entity::find_by_id(framework.id.as_str())
                .one(tx)
                .await?
                .is_some()
            {
                return Err(DomainError::AlreadyExists(format!(
                    "framework {} exists already",
                    framework.id
                )));
            }
            insert_framework(tx, &framework).await?;
            Ok(Applied::Framework(framework))
        }
        Command::RegisterProvider { mut provider, keys } => {
            ensure_new_keys(tx, &keys).await?;
            ensure_free_identifiers(tx, &provider.identifiers).await?;
            provider.registered_by = signer.actor_id.clone();
            provider.registered_at = now;
            insert_provider(tx, &provider, &keys).await?;
            Ok(Applied::Provider(Keyed { item: provider, keys }))
        }
        Command::RecordAccreditation(mut accreditation) => {
            if !known.provider_exists(tx, &accreditation.provider_id).await? {
                return Err(not_registered("provider_id", "provider"));
            }
            accreditation.agency_id = signer.actor_id.clone();
            accreditation.recorded_at = now;
            let history = initial_history(&accreditation);
            insert_accreditation(tx, &accreditation, &history).await?;
            Ok(Applied::Accreditation(AccreditationRecord {
                accreditation,
                history,
            }))
        }
        Command::ChangeAccreditationStatus {
            accreditation_id,
            status,
            effective_at,
            reason,
        } => {
            // Recorded earlier in this batch and still queued: replaced in the queue, nothing
            // read or deleted. (A refused write fails a batch with a queue as a whole, so rows
            // taken out here never need putting back.)
            let queued = tx.take_queued_accreditation(&accreditation_id);
            let (accreditation, history) = match queued.as_ref() {
                Some(QueuedAccreditation { row, statuses }) => {
                    let doc = row.doc.try_as_ref().ok_or_else(|| {
                        DomainError::Storage(format!(
                            "queued accreditation {accreditation_id} has no document"
                        ))
                    })?;
                    let history = statuses
                        .iter()
                        .map(|status| {
                            period_from_row(&sea_orm::TryIntoModel::try_into_model(status.clone())?)
                        })
                        .collect::<Result<Vec<_>>>()?;
                    (from_doc::<Accreditation>(doc)?, history)
                }
                None => {
                    let accreditation: Accreditation =
                        doc_by_id::<accreditation::Entity, _>(tx, &accreditation_id, "accreditation").await?;
                    let history = history_of(tx, &accreditation.id).await?;
                    (accreditation, history)
                }
            };
            signer.require_owner(
                format_args!("accreditation {accreditation_id}"),
                &accreditation.agency_id,
            )?;
            let history = change_status(accreditation.decision, &history, status, effective_at, &reason)?;
            if queued.is_some() {
                insert_accreditation(tx, &accreditation, &history).await?;
            } else {
                replace_history(tx, &accreditation, &history).await?;
            }
            Ok(Applied::Accreditation(AccreditationRecord {
                accreditation,
                history,
            }))
        }
        Command::PublishQualification(mut qualification) => {
            qualification.provider_id = signer.actor_id.clone();
            if !qualification
                .awarding_body_ids
                .contains(&qualification.provider_id)
            {
                qualification
                    .awarding_body_ids
                    .insert(0, qualification.provider_id.clone());
            }
            qualification.published_at = now;
            qualification.version = 1;
            check_description(tx, &mut qualification, known).await?;
            insert_qualification(tx, &qualification).await?;
            Ok(Applied::Qualification(qualification))
        }
        Command::ReviseQualification {
            qualification_id,
            description,
        } => {
            let current: Qualification =
                doc_by_id::<qualification::Entity, _>(tx, &qualification_id, "qualification").await?;
            signer.require_owner(
                format_args!("qualification {qualification_id}"),
                &current.provider_id,
            )?;
            if current.withdrawn_at.is_some() {
                return Err(DomainError::FailedPrecondition(format!(
                    "qualification {qualification_id} is withdrawn"
                )));
            }
            let mut revised = description;
            revised.id = current.id.clone();
            revised.provider_id = current.provider_id.clone();
            if !revised.awarding_body_ids.contains(&revised.provider_id) {
                revised.awarding_body_ids.insert(0, revised.provider_id.clone());
            }
            revised.published_at = current.published_at;
            revised.withdrawn_at = None;
            revised.version = current.version + 1;
            check_description(tx, &mut revised, known).await?;
            replace_qualification(tx, &current, &revised).await?;
            Ok(Applied::Qualification(revised))
        }
        Command::WithdrawQualification {
            qualification_id,
            withdrawn_at,
            reason: _,
        } => {
            let mut qualification: Qualification =
                doc_by_id::<qualification::Entity, _>(tx, &qualification_id, "qualification").await?;
            signer.require_owner(
                format_args!("qualification {qualification_id}"),
                &qualification.provider_id,
            )?;
            if qualification.withdrawn_at.is_some() {
                return Err(DomainError::FailedPrecondition(format!(
                    "qualification {qualification_id} is withdrawn already"
                )));
            }
            let withdrawn_at =
                withdrawn_at.unwrap_or_else(|| envelope.issued_at.max(qualification.published_at));
            if withdrawn_at < qualification.published_at {
                return Err(DomainError::invalid(
                    "withdrawn_at",
                    "must not be before the publication",
                ));
            }
            qualification.withdrawn_at = Some(withdrawn_at);
            // A withdrawal keeps the skills: the stored skill rows are the new version's too.
            replace_qualification(tx, &qualification, &qualification).await?;
            Ok(Applied::Qualification(qualification))
        }
        Command::PublishRecognition(mut recognition) => {
            if !known
                .qualification_exists(tx, &recognition.qualification_id)
                .await?
            {
                return Err(not_registered("qualification_id", "qualification"));
            }
            recognition.body_id = signer.actor_id.clone();
            insert_recognition(tx, &recognition).await?;
            Ok(Applied::Recognition(recognition))
        }
        Command::RetractRecognition {
            recognition_id,
            retracted_at,
            reason: _,
        } => {
            let mut recognition: Recognition =
                doc_by_id::<recognition::Entity, _>(tx, &recognition_id, "recognition").await?;
            signer.require_owner(format_args!("recognition {recognition_id}"), &recognition.body_id)?;
            if recognition.retracted_at.is_some() {
                return Err(DomainError::FailedPrecondition(format!(
                    "recognition {recognition_id} is retracted already"
                )));
            }
            if retracted_at < recognition.decided_at {
                return Err(DomainError::invalid(
                    "retracted_at",
                    format!(
                        "must not be before the decision (decided_at {})",
                        recognition.decided_at.to_rfc3339()
                    ),
                ));
            }
            recognition.retracted_at = Some(retracted_at);
            update_recognition(tx, &recognition).await?;
            Ok(Applied::Recognition(recognition))
        }
        Command::AddKey { actor_id, key } => {
            let owner = key_target(tx, signer, actor_id).await?;
            ensure_new_keys(tx, std::slice::from_ref(&key)).await?;
            add_keys(tx, &owner, std::slice::from_ref(&key)).await?;
            Ok(Applied::Key(key))
        }
        Command::RotateKey {
            actor_id,
            old_key_id,
            mut new_key,
            rotate_at,
        } => {
            let owner = key_target(tx, signer, actor_id).await?;
            let mut old_key = owned_key(tx, &owner, &old_key_id, "old_key_id").await?;
            if !old_key.usable_at(rotate_at) {
                return Err(DomainError::FailedPrecondition(format!(
                    "key {old_key_id} is not valid at {}; revoke it or add a key instead",
                    rotate_at.to_rfc3339()
                )));
            }
            ensure_new_keys(tx, std::slice::from_ref(&new_key)).await?;
            old_key.valid_until = Some(rotate_at);
            new_key.valid_from = rotate_at;
            update_key(tx, &owner, &old_key).await?;
            add_keys(tx, &owner, std::slice::from_ref(&new_key)).await?;
            Ok(Applied::KeyRotation { old_key, new_key })
        }
        Command::RevokeKey {
            actor_id,
            key_id,
            revoked_at,
            reason,
        } => {
            let owner = key_target(tx, signer, actor_id).await?;
            let mut key = owned_key(tx, &owner, &key_id, "key_id").await?;
            // A revocation may be brought forward (a key revoked from a future date and then
            // compromised must stop signing now), never put off.
            if let Some(revoked) = key.revoked_at
                && revoked_at >= revoked
            {
                return Err(DomainError::FailedPrecondition(format!(
                    "key {key_id} is revoked already, from {}; a revocation can only be brought forward",
                    revoked.to_rfc3339()
                )));
            }
            key.revoked_at = Some(revoked_at);
            key.revocation_reason = reason;
            update_key(tx, &owner, &key).await?;
            Ok(Applied::Key(key))
        }
    }
}

//! The lookups and checks the commands share: existence, keys, identifiers, retirements,
//! descriptions.

use super::*;

/// The stored document of the `kind` with primary key `id` (its `doc` column alone), decoded;
/// not found when there is none.
pub(super) async fn doc_by_id<E, T>(tx: &impl ConnectionTrait, id: &str, kind: &'static str) -> Result<T>
where
    E: EntityTrait,
    String: Into<<E::PrimaryKey as sea_orm::PrimaryKeyTrait>::ValueType>,
    T: serde::de::DeserializeOwned,
{
    let doc: Option<String> = E::find_by_id(id.to_owned())
        .select_only()
        .column_as(
            sea_orm::sea_query::Expr::col(sea_orm::sea_query::Alias::new("doc")),
            "doc",
        )
        .into_tuple()
        .one(tx)
        .await?;
    from_doc(&doc.ok_or_else(|| DomainError::not_found(kind, id))?)
}

pub(super) async fn exists<E: EntityTrait>(
    tx: &impl ConnectionTrait,
    select: sea_orm::Select<E>,
    field: impl std::fmt::Display,
    kind: &str,
) -> Result<()> {
    if select.one(tx).await?.is_some() {
        Ok(())
    } else {
        Err(not_registered(field, kind))
    }
}

/// The refusal of a `field` that names no registered `kind`.
pub(super) fn not_registered(field: impl std::fmt::Display, kind: &str) -> DomainError {
    DomainError::invalid(field, format!("names no registered {kind}"))
}

/// A retirement may be brought forward (an agency or body retired from a future date whose
/// decisions must stop counting sooner), never put off.
pub(super) fn check_retirement(
    admitted_at: Timestamp,
    retired_at: Option<Timestamp>,
    at: Timestamp,
) -> Result<()> {
    if let Some(retired) = retired_at
        && at >= retired
    {
        return Err(DomainError::FailedPrecondition(format!(
            "retired already, from {}; a retirement can only be brought forward",
            retired.to_rfc3339()
        )));
    }
    if at <= admitted_at {
        return Err(DomainError::invalid("retired_at", "must be after the admission"));
    }
    Ok(())
}

/// Refuses a key whose id is registered already. Left to the unique index on key id when the
/// insert is deferred (see rows.rs): a repeated id then fails the batch.
pub(super) async fn ensure_new_keys(tx: &impl Rows, keys: &[ActorKey]) -> Result<()> {
    if tx.defers() {
        return Ok(());
    }
    for key in keys {
        if actor_key::Entity::find_by_id(key.key_id.as_str())
            .one(tx)
            .await?
            .is_some()
        {
            return Err(DomainError::AlreadyExists(format!(
                "key {} is registered already",
                key.key_id
            )));
        }
    }
    Ok(())
}

/// Refuses an external identifier that another actor holds for a time that overlaps the new
/// binding's validity. An identifier (a DID, a DEQAR id ...) names the issuer in trust queries:
/// two actors holding it at once would let the later registration answer for the earlier one
/// wherever the earlier binding does not cover the time asked about.
pub(super) async fn ensure_free_identifiers(
    tx: &impl ConnectionTrait,
    identifiers: &[ExternalIdentifier],
) -> Result<()> {
    for (index, identifier) in identifiers.iter().enumerate() {
        let bound = external_identifier::Entity::find()
            .filter(external_identifier::Column::Scheme.eq(identifier.scheme.as_str()))
            .filter(external_identifier::Column::Value.eq(identifier.value.as_str()))
            .all(tx)
            .await?;
        let overlapping = bound.into_iter().find(|row| {
            let starts_before_end = match (row.valid_from, identifier.valid_until) {
                (Some(from), Some(until)) => from < until.as_micros(),
                _ => true,
            };
            let ends_after_start = match (row.valid_until, identifier.valid_from) {
                (Some(until), Some(from)) => from.as_micros() < until,
                _ => true,
            };
            starts_before_end && ends_after_start
        });
        if let Some(row) = overlapping {
            return Err(DomainError::AlreadyExists(format!(
                "{}: {} {} is bound to {} for a time that overlaps this binding's validity; \
                 an identifier names one actor at a time",
                Item("identifiers", index),
                identifier.scheme.as_str(),
                identifier.value,
                row.owner_id
            )));
        }
    }
    Ok(())
}

pub(super) async fn keys_of(tx: &impl ConnectionTrait, owner_id: &str) -> Result<Vec<ActorKey>> {
    let rows = actor_key::Entity::find()
        .filter(actor_key::Column::OwnerId.eq(owner_id))
        .order_by_asc(actor_key::Column::ValidFrom)
        .order_by_asc(actor_key::Column::KeyId)
        .all(tx)
        .await?;
    rows.into_iter()
        .map(crate::store::catalogue::key_from_row)
        .collect()
}

pub(super) async fn history_of(
    tx: &impl ConnectionTrait,
    accreditation_id: &str,
) -> Result<Vec<StatusPeriod>> {
    let rows = accreditation_status::Entity::find()
        .filter(accreditation_status::Column::AccreditationId.eq(accreditation_id))
        .order_by_asc(accreditation_status::Column::Seq)
        .all(tx)
        .await?;
    rows.iter().map(period_from_row).collect()
}

/// The actor whose keys a key command changes: the signer's own, or any for the operator.
pub(super) async fn key_target(
    tx: &impl ConnectionTrait,
    signer: &Signer,
    actor_id: Option<String>,
) -> Result<String> {
    let target = actor_id.unwrap_or_else(|| signer.actor_id.clone());
    if target != signer.actor_id && signer.role != Role::Operator {
        return Err(DomainError::PermissionDenied(format!(
            "{} may manage only its own keys, not those of {target}",
            signer.actor_id
        )));
    }
    let found = match role_of_actor(&target) {
        Some(Role::QaAgency) => qa_agency::Entity::find_by_id(target.as_str())
            .one(tx)
            .await?
            .is_some(),
        Some(Role::Provider) => provider::Entity::find_by_id(target.as_str())
            .one(tx)
            .await?
            .is_some(),
        Some(Role::RecognitionBody) => recognition_body::Entity::find_by_id(target.as_str())
            .one(tx)
            .await?
            .is_some(),
        _ => {
            return Err(DomainError::FailedPrecondition(
                "the operator key comes from configuration; change it there".into(),
            ));
        }
    };
    if found {
        Ok(target)
    } else {
        Err(DomainError::not_found("actor", target))
    }
}

pub(super) async fn owned_key(
    tx: &impl ConnectionTrait,
    owner: &str,
    key_id: &str,
    field: &str,
) -> Result<ActorKey> {
    let row = actor_key::Entity::find_by_id(key_id).one(tx).await?;
    match row {
        Some(row) if row.owner_id == owner => crate::store::catalogue::key_from_row(row),
        _ => Err(DomainError::invalid(field, format!("names no key of {owner}"))),
    }
}

/// Checks a qualification description against the registry and fills in the EQF level.
pub(super) async fn check_description(
    tx: &impl ConnectionTrait,
    qualification: &mut Qualification,
    known: &Known,
) -> Result<()> {
    if let Some(level) = qualification.level.as_mut() {
        let framework = match known.framework(tx, &level.framework_id).await? {
            Some(framework) => framework,
            None => {
                return Err(DomainError::invalid(
                    "description.framework_id",
                    "names no registered framework",
                ));
            }
        };
        let found = framework.level(&level.level_code).ok_or_else(|| {
            DomainError::invalid(
                "description.level_code",
                format!("is not a level of framework {}", framework.id),
            )
        })?;
        level.eqf_level = found.eqf_level;
    }
    for (index, awarding) in qualification.awarding_body_ids.iter().enumerate() {
        if *awarding == qualification.provider_id {
            // The publisher: an active provider, checked before the write was applied.
            continue;
        }
        exists(
            tx,
            provider::Entity::find_by_id(awarding.as_str()),
            Item("description.awarding_body_ids", index),
            "provider",
        )
        .await?;
    }
    for (index, accreditation_id) in qualification
        .quality_assurance
        .accreditation_ids
        .iter()
        .enumerate()
    {
        let provider = known.accreditation_provider(tx, accreditation_id).await?;
        if provider.as_deref() != Some(qualification.provider_id.as_str()) {
            return Err(DomainError::invalid(
                Item("description.quality_assurance.accreditation_ids", index),
                "names no accreditation of this provider",
            ));
        }
    }
    for (index, target) in qualification.stackability.stacks_into.iter().enumerate() {
        if *target == qualification.id {
            return Err(DomainError::invalid(
                Item("description.stackability.stacks_into", index),
                "must not name the qualification itself",
            ));
        }
        if !known.qualification_exists(tx, target).await? {
            return Err(not_registered(
                Item("description.stackability.stacks_into", index),
                "qualification",
            ));
        }
    }
    Ok(())
}

//! Inserts of catalogue objects, each in one transaction with its index rows.

use sea_orm::{ActiveValue::Set, EntityTrait, TransactionTrait};

use super::entity::*;
use super::rows::Rows;
use super::{Store, to_doc};
use crate::domain::DomainError;
use crate::domain::model::*;

pub(super) async fn insert_framework(db: &impl Rows, framework: &Framework) -> Result<(), DomainError> {
    let row = framework::ActiveModel {
        id: Set(framework.id.clone()),
        jurisdiction: Set(framework.jurisdiction.clone()),
        doc: Set(to_doc(framework)?),
    };
    db.insert_rows(vec![row]).await?;
    Ok(())
}

pub(super) async fn insert_qa_agency(
    db: &impl Rows,
    agency: &QaAgency,
    keys: &[ActorKey],
) -> Result<(), DomainError> {
    let row = qa_agency::ActiveModel {
        id: Set(agency.id.clone()),
        country: Set(agency.country.clone()),
        countries: Set(country_list(&agency.country, &agency.operating_countries)),
        admitted_at: Set(agency.admitted_at.as_micros()),
        retired_at: Set(agency.retired_at.map(|t| t.as_micros())),
        doc: Set(to_doc(agency)?),
    };
    db.insert_rows(vec![row]).await?;
    insert_identifiers(db, &agency.id, &agency.identifiers).await?;
    insert_keys(db, &agency.id, keys).await?;
    Ok(())
}

pub(super) async fn insert_recognition_body(
    db: &impl Rows,
    body: &RecognitionBody,
    keys: &[ActorKey],
) -> Result<(), DomainError> {
    let row = recognition_body::ActiveModel {
        id: Set(body.id.clone()),
        country: Set(body.country.clone()),
        kind: Set(body.kind.as_str().to_owned()),
        admitted_at: Set(body.admitted_at.as_micros()),
        retired_at: Set(body.retired_at.map(|t| t.as_micros())),
        doc: Set(to_doc(body)?),
    };
    db.insert_rows(vec![row]).await?;
    insert_identifiers(db, &body.id, &body.identifiers).await?;
    insert_keys(db, &body.id, keys).await?;
    Ok(())
}

pub(super) async fn insert_provider(
    db: &impl Rows,
    provider: &Provider,
    keys: &[ActorKey],
) -> Result<(), DomainError> {
    let row = provider::ActiveModel {
        id: Set(provider.id.clone()),
        country: Set(provider.country.clone()),
        kind: Set(provider.kind.as_str().to_owned()),
        search_text: Set(search_text(&provider.names)),
        doc: Set(to_doc(provider)?),
    };
    db.insert_rows(vec![row]).await?;
    insert_identifiers(db, &provider.id, &provider.identifiers).await?;
    insert_keys(db, &provider.id, keys).await?;
    Ok(())
}

pub(super) async fn insert_accreditation(
    db: &impl Rows,
    accreditation: &Accreditation,
    history: &[StatusPeriod],
) -> Result<(), DomainError> {
    let row = accreditation::ActiveModel {
        id: Set(accreditation.id.clone()),
        agency_id: Set(accreditation.agency_id.clone()),
        provider_id: Set(accreditation.provider_id.clone()),
        kind: Set(accreditation.kind.as_str().to_owned()),
        decision: Set(accreditation.decision.as_str().to_owned()),
        valid_from: Set(accreditation.valid_from.as_micros()),
        effective_until: Set(accreditation.effective_until().as_micros()),
        doc: Set(to_doc(accreditation)?),
    };
    db.insert_rows(vec![row]).await?;
    let periods: Vec<_> = history
        .iter()
        .enumerate()
        .map(|(seq, period)| accreditation_status::ActiveModel {
            accreditation_id: Set(accreditation.id.clone()),
            seq: Set(seq as i32),
            status: Set(period.status.as_str().to_owned()),
            effective_from: Set(period.effective_from.as_micros()),
            effective_until: Set(period.effective_until.map(|t| t.as_micros())),
            reason: Set(period.reason.clone()),
        })
        .collect();
    db.insert_rows(periods).await?;
    Ok(())
}

pub(super) async fn insert_qualification(
    db: &impl Rows,
    qualification: &Qualification,
) -> Result<(), DomainError> {
    let level = qualification.level.as_ref();
    let row = qualification::ActiveModel {
        id: Set(qualification.id.clone()),
        provider_id: Set(qualification.provider_id.clone()),
        search_text: Set(search_text(&qualification.titles)),
        framework_id: Set(level.map(|l| l.framework_id.clone())),
        level_code: Set(level.map(|l| l.level_code.clone())),
        eqf_level: Set(qualification.eqf_level().map(i16::from)),
        ects: Set(qualification.workload.ects),
        stackability: Set(qualification.stackability.stackability.as_str().to_owned()),
        withdrawn_at: Set(qualification.withdrawn_at.map(|t| t.as_micros())),
        doc: Set(to_doc(qualification)?),
    };
    db.insert_rows(vec![row]).await?;
    let summary = to_doc(&QualificationSummary::from(qualification))?;
    let skills: Vec<_> = qualification
        .skill_uris()
        .into_iter()
        .map(|uri| qualification_skill::ActiveModel {
            skill_uri: Set(uri.to_owned()),
            qualification_id: Set(qualification.id.clone()),
            withdrawn_at: Set(qualification.withdrawn_at.map(|t| t.as_micros())),
            summary: Set(summary.clone()),
        })
        .collect();
    db.insert_rows(skills).await?;
    Ok(())
}

pub(super) async fn insert_recognition(db: &impl Rows, recognition: &Recognition) -> Result<(), DomainError> {
    let row = recognition::ActiveModel {
        id: Set(recognition.id.clone()),
        body_id: Set(recognition.body_id.clone()),
        qualification_id: Set(recognition.qualification_id.clone()),
        purpose: Set(recognition.purpose.as_str().to_owned()),
        route: Set(recognition.route.as_str().to_owned()),
        outcome: Set(recognition.outcome.as_str().to_owned()),
        decided_at: Set(recognition.decided_at.as_micros()),
        retracted_at: Set(recognition.retracted_at.map(|t| t.as_micros())),
        doc: Set(to_doc(recognition)?),
    };
    db.insert_rows(vec![row]).await?;
    Ok(())
}

async fn insert_identifiers(
    db: &impl Rows,
    owner_id: &str,
    identifiers: &[ExternalIdentifier],
) -> Result<(), DomainError> {
    let rows: Vec<_> = identifiers
        .iter()
        .map(|identifier| external_identifier::ActiveModel {
            owner_id: Set(owner_id.to_owned()),
            scheme: Set(identifier.scheme.as_str().to_owned()),
            value: Set(identifier.value.clone()),
            valid_from: Set(identifier.valid_from.map(|t| t.as_micros())),
            valid_until: Set(identifier.valid_until.map(|t| t.as_micros())),
            ..Default::default()
        })
        .collect();
    db.insert_rows(rows).await?;
    Ok(())
}

async fn insert_keys(db: &impl Rows, owner_id: &str, keys: &[ActorKey]) -> Result<(), DomainError> {
    let rows: Vec<_> = keys
        .iter()
        .map(|key| actor_key::ActiveModel {
            key_id: Set(key.key_id.clone()),
            owner_id: Set(owner_id.to_owned()),
            public_key: Set(key.public_key.to_vec()),
            valid_from: Set(key.valid_from.as_micros()),
            valid_until: Set(key.valid_until.map(|t| t.as_micros())),
            revoked_at: Set(key.revoked_at.map(|t| t.as_micros())),
            revocation_reason: Set(key.revocation_reason.clone()),
        })
        .collect();
    db.insert_rows(rows).await?;
    Ok(())
}

/// Countries as ",IE,GB," so that `LIKE '%,IE,%'` finds each one.
pub(super) fn country_list(seat: &str, operating: &[String]) -> String {
    let mut list = String::from(",");
    for country in std::iter::once(seat).chain(operating.iter().map(String::as_str)) {
        list.push_str(country);
        list.push(',');
    }
    list
}

/// Direct inserts, each in its own transaction, for loading trusted data (tests, fixtures).
/// They bypass signatures and the log: nothing a client sends reaches them.
impl Store {
    pub async fn insert_framework(&self, framework: &Framework) -> Result<(), DomainError> {
        insert_framework(&self.db, framework).await?;
        self.touched();
        Ok(())
    }

    pub async fn insert_qa_agency(&self, agency: &QaAgency, keys: &[ActorKey]) -> Result<(), DomainError> {
        let tx = self.db.begin().await?;
        insert_qa_agency(&tx, agency, keys).await?;
        tx.commit().await?;
        self.touched();
        Ok(())
    }

    pub async fn insert_recognition_body(
        &self,
        body: &RecognitionBody,
        keys: &[ActorKey],
    ) -> Result<(), DomainError> {
        let tx = self.db.begin().await?;
        insert_recognition_body(&tx, body, keys).await?;
        tx.commit().await?;
        self.touched();
        Ok(())
    }

    pub async fn insert_provider(&self, provider: &Provider, keys: &[ActorKey]) -> Result<(), DomainError> {
        let tx = self.db.begin().await?;
        insert_provider(&tx, provider, keys).await?;
        tx.commit().await?;
        self.touched();
        Ok(())
    }

    pub async fn insert_accreditation(
        &self,
        accreditation: &Accreditation,
        history: &[StatusPeriod],
    ) -> Result<(), DomainError> {
        let tx = self.db.begin().await?;
        insert_accreditation(&tx, accreditation, history).await?;
        tx.commit().await?;
        self.touched();
        Ok(())
    }

    pub async fn insert_qualification(&self, qualification: &Qualification) -> Result<(), DomainError> {
        let tx = self.db.begin().await?;
        insert_qualification(&tx, qualification).await?;
        tx.commit().await?;
        self.touched();
        Ok(())
    }

    pub async fn insert_recognition(&self, recognition: &Recognition) -> Result<(), DomainError> {
        insert_recognition(&self.db, recognition).await?;
        self.touched();
        Ok(())
    }
}

/// Replaces a qualification's row and skill rows (those of `previous`, the stored version) with
/// a new version of its document.
pub(super) async fn replace_qualification(
    db: &impl Rows,
    previous: &Qualification,
    qualification: &Qualification,
) -> Result<(), DomainError> {
    use sea_orm::{ColumnTrait, QueryFilter};
    // By key: the skill rows have no index on the qualification id alone.
    qualification_skill::Entity::delete_many()
        .filter(qualification_skill::Column::SkillUri.is_in(previous.skill_uris()))
        .filter(qualification_skill::Column::QualificationId.eq(previous.id.as_str()))
        .exec(db)
        .await?;
    qualification::Entity::delete_by_id(qualification.id.as_str())
        .exec(db)
        .await?;
    insert_qualification(db, qualification).await
}

/// Replaces an accreditation's status history.
pub(super) async fn replace_history(
    db: &impl Rows,
    accreditation: &Accreditation,
    history: &[StatusPeriod],
) -> Result<(), DomainError> {
    use sea_orm::{ColumnTrait, QueryFilter};
    accreditation_status::Entity::delete_many()
        .filter(accreditation_status::Column::AccreditationId.eq(accreditation.id.as_str()))
        .exec(db)
        .await?;
    accreditation::Entity::delete_by_id(accreditation.id.as_str())
        .exec(db)
        .await?;
    insert_accreditation(db, accreditation, history).await
}

pub(super) async fn update_qa_agency(db: &impl Rows, agency: &QaAgency) -> Result<(), DomainError> {
    let row = qa_agency::ActiveModel {
        id: Set(agency.id.clone()),
        country: Set(agency.country.clone()),
        countries: Set(country_list(&agency.country, &agency.operating_countries)),
        admitted_at: Set(agency.admitted_at.as_micros()),
        retired_at: Set(agency.retired_at.map(|t| t.as_micros())),
        doc: Set(to_doc(agency)?),
    };
    qa_agency::Entity::update(row).exec(db).await?;
    Ok(())
}

pub(super) async fn update_recognition_body(
    db: &impl Rows,
    body: &RecognitionBody,
) -> Result<(), DomainError> {
    let row = recognition_body::ActiveModel {
        id: Set(body.id.clone()),
        country: Set(body.country.clone()),
        kind: Set(body.kind.as_str().to_owned()),
        admitted_at: Set(body.admitted_at.as_micros()),
        retired_at: Set(body.retired_at.map(|t| t.as_micros())),
        doc: Set(to_doc(body)?),
    };
    recognition_body::Entity::update(row).exec(db).await?;
    Ok(())
}

pub(super) async fn update_recognition(db: &impl Rows, recognition: &Recognition) -> Result<(), DomainError> {
    recognition::Entity::delete_by_id(recognition.id.as_str())
        .exec(db)
        .await?;
    insert_recognition(db, recognition).await
}

pub(super) async fn update_key(db: &impl Rows, owner_id: &str, key: &ActorKey) -> Result<(), DomainError> {
    actor_key::Entity::delete_by_id(key.key_id.as_str())
        .exec(db)
        .await?;
    insert_keys(db, owner_id, std::slice::from_ref(key)).await
}

pub(super) async fn add_keys(db: &impl Rows, owner_id: &str, keys: &[ActorKey]) -> Result<(), DomainError> {
    insert_keys(db, owner_id, keys).await
}

//! Reads of accreditations with their status histories.

use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder};

use super::catalogue::opt_time;
use super::entity::*;
use super::{Store, from_doc};
use crate::domain::enums::AccreditationStatus;
use crate::domain::model::*;
use crate::domain::page::PageRequest;
use crate::domain::query::*;
use crate::domain::{DomainError, Timestamp};

type Result<T> = std::result::Result<T, DomainError>;

impl Store {
    pub async fn accreditation(&self, id: &str) -> Result<Option<AccreditationRecord>> {
        let Some(row) = accreditation::Entity::find_by_id(id).one(&self.db).await? else {
            return Ok(None);
        };
        Ok(self.with_history(vec![from_doc(&row.doc)?]).await?.pop())
    }

    pub async fn list_accreditations(
        &self,
        query: &AccreditationQuery,
        page: &PageRequest,
    ) -> Result<AccreditationPage> {
        let mut condition = Condition::all();
        if let Some(provider_id) = &query.provider_id {
            condition = condition.add(accreditation::Column::ProviderId.eq(provider_id.as_str()));
        }
        if let Some(agency_id) = &query.agency_id {
            condition = condition.add(accreditation::Column::AgencyId.eq(agency_id.as_str()));
        }
        if let Some(decision) = query.decision {
            condition = condition.add(accreditation::Column::Decision.eq(decision.as_str()));
        }
        if let Some(kind) = query.kind {
            condition = condition.add(accreditation::Column::Kind.eq(kind.as_str()));
        }
        let (accreditations, next_page_token) = self
            .doc_page::<accreditation::Entity, Accreditation>(
                condition,
                accreditation::Column::Id,
                accreditation::Column::Doc,
                page,
                |item| &item.id,
            )
            .await?;
        let items = self.with_history(accreditations).await?;
        Ok(Page {
            items,
            next_page_token,
        })
    }

    pub(super) async fn with_history(
        &self,
        accreditations: Vec<Accreditation>,
    ) -> Result<Vec<AccreditationRecord>> {
        if accreditations.is_empty() {
            return Ok(Vec::new());
        }
        let rows = accreditation_status::Entity::find()
            .filter(
                accreditation_status::Column::AccreditationId
                    .is_in(accreditations.iter().map(|a| a.id.as_str())),
            )
            .order_by_asc(accreditation_status::Column::AccreditationId)
            .order_by_asc(accreditation_status::Column::Seq)
            .all(&self.db)
            .await?;
        accreditations
            .into_iter()
            .map(|accreditation| {
                let history = rows
                    .iter()
                    .filter(|row| row.accreditation_id == accreditation.id)
                    .map(period_from_row)
                    .collect::<Result<Vec<_>>>()?;
                Ok(AccreditationRecord {
                    accreditation,
                    history,
                })
            })
            .collect()
    }
}

pub(super) fn period_from_row(row: &accreditation_status::Model) -> Result<StatusPeriod> {
    let status = AccreditationStatus::parse(&row.status)
        .ok_or_else(|| DomainError::Storage(format!("unknown accreditation status {:?}", row.status)))?;
    Ok(StatusPeriod {
        status,
        effective_from: Timestamp::from_micros(row.effective_from),
        effective_until: opt_time(row.effective_until),
        reason: row.reason.clone(),
    })
}

//! Catalogue lookups: point reads by id and filtered, key-paginated lists ordered by id.

use sea_orm::sea_query::{Expr, ExprTrait, LikeExpr, Query};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::entity::*;
use super::{Store, from_doc};
use crate::domain::enums::{AccreditationStatus, Decision};
use crate::domain::model::*;
use crate::domain::page::PageRequest;
use crate::domain::query::*;
use crate::domain::{DomainError, Timestamp};

type Result<T> = std::result::Result<T, DomainError>;

/// `%text%` with LIKE's wildcards in `text` escaped by `\`.
pub(super) fn contains_pattern(text: &str) -> LikeExpr {
    let mut escaped = String::with_capacity(text.len() + 2);
    escaped.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped.push('%');
    LikeExpr::new(escaped).escape('\\')
}

/// The condition "id sorts after the page token's id".
pub(super) fn after(column: impl ColumnTrait, page: &PageRequest) -> Condition {
    let mut condition = Condition::all();
    if let Some(after) = &page.after {
        condition = condition.add(column.gt(after.as_str()));
    }
    condition
}

impl Store {
    /// One page of a list: the rows of `E` that `condition` selects after the page token, in
    /// id order (`id`), each row's stored document (`doc`) decoded, and the next page's token.
    pub(super) async fn doc_page<E: EntityTrait, T: serde::de::DeserializeOwned>(
        &self,
        condition: Condition,
        id: E::Column,
        doc: E::Column,
        page: &PageRequest,
        id_of: impl Fn(&T) -> &str,
    ) -> Result<(Vec<T>, String)> {
        let select = E::find()
            .select_only()
            .column(doc)
            .filter(condition.add(after(id, page)))
            .order_by_asc(id)
            .limit(page.fetch_limit());
        // Filters may scan (a substring of names, say).
        let docs = self.page_texts(select, true).await?;
        page.finish_docs(&docs, |doc| from_doc(doc), id_of)
    }

    async fn keys_of(&self, owner_ids: &[&str]) -> Result<Vec<(String, ActorKey)>> {
        if owner_ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = actor_key::Entity::find()
            .filter(actor_key::Column::OwnerId.is_in(owner_ids.iter().copied()))
            .order_by_asc(actor_key::Column::ValidFrom)
            .order_by_asc(actor_key::Column::KeyId)
            .all(&self.db)
            .await?;
        rows.into_iter()
            .map(|row| Ok((row.owner_id.clone(), key_from_row(row)?)))
            .collect()
    }

    /// Attaches its owner's keys to each item.
    async fn with_keys<T>(&self, items: Vec<T>, id_of: impl Fn(&T) -> &str) -> Result<Vec<Keyed<T>>> {
        let ids: Vec<&str> = items.iter().map(&id_of).collect();
        let mut keys = self.keys_of(&ids).await?;
        Ok(items
            .into_iter()
            .map(|item| {
                let id = id_of(&item).to_owned();
                let (mine, rest): (Vec<_>, Vec<_>) = keys.drain(..).partition(|(owner, _)| *owner == id);
                keys = rest;
                Keyed {
                    item,
                    keys: mine.into_iter().map(|(_, key)| key).collect(),
                }
            })
            .collect())
    }

    pub async fn framework(&self, id: &str) -> Result<Option<Framework>> {
        let row = framework::Entity::find_by_id(id).one(&self.db).await?;
        row.map(|row| from_doc(&row.doc)).transpose()
    }

    pub async fn list_frameworks(&self, page: &PageRequest) -> Result<Page<Framework>> {
        let (items, next_page_token) = self
            .doc_page::<framework::Entity, Framework>(
                Condition::all(),
                framework::Column::Id,
                framework::Column::Doc,
                page,
                |item| &item.id,
            )
            .await?;
        Ok(Page {
            items,
            next_page_token,
        })
    }

    pub async fn provider(&self, id: &str) -> Result<Option<Keyed<Provider>>> {
        let Some(row) = provider::Entity::find_by_id(id).one(&self.db).await? else {
            return Ok(None);
        };
        let provider: Provider = from_doc(&row.doc)?;
        Ok(self.with_keys(vec![provider], |p| &p.id).await?.pop())
    }

    pub async fn search_providers(
        &self,
        query: &ProviderQuery,
        page: &PageRequest,
    ) -> Result<Page<Keyed<Provider>>> {
        let mut condition = Condition::all();
        if let Some(text) = &query.text {
            condition = condition.add(
                Expr::col((provider::Entity, provider::Column::SearchText)).like(contains_pattern(text)),
            );
        }
        if let Some(country) = &query.country {
            condition = condition.add(provider::Column::Country.eq(country.as_str()));
        }
        if let Some(kind) = query.kind {
            condition = condition.add(provider::Column::Kind.eq(kind.as_str()));
        }
        if let Some((scheme, value)) = &query.identifier {
            let owners = Query::select()
                .column(external_identifier::Column::OwnerId)
                .from(external_identifier::Entity)
                .and_where(external_identifier::Column::Scheme.eq(scheme.as_str()))
                .and_where(external_identifier::Column::Value.eq(value.as_str()))
                .to_owned();
            condition = condition.add(provider::Column::Id.in_subquery(owners));
        }
        if let Some(at) = query.accredited_at {
            condition = condition.add(provider::Column::Id.in_subquery(accredited_providers_at(at)));
        }
        let (providers, next_page_token) = self
            .doc_page::<provider::Entity, Provider>(
                condition,
                provider::Column::Id,
                provider::Column::Doc,
                page,
                |item| &item.id,
            )
            .await?;
        let items = self.with_keys(providers, |p| &p.id).await?;
        Ok(Page {
            items,
            next_page_token,
        })
    }

    pub async fn qa_agency(&self, id: &str) -> Result<Option<Keyed<QaAgency>>> {
        let Some(row) = qa_agency::Entity::find_by_id(id).one(&self.db).await? else {
            return Ok(None);
        };
        let agency: QaAgency = from_doc(&row.doc)?;
        Ok(self.with_keys(vec![agency], |a| &a.id).await?.pop())
    }

    pub async fn list_qa_agencies(
        &self,
        query: &OrganisationQuery,
        page: &PageRequest,
    ) -> Result<Page<Keyed<QaAgency>>> {
        let mut condition = Condition::all();
        if let Some(country) = &query.country {
            let pattern = contains_pattern(&format!(",{country},"));
            condition =
                condition.add(Expr::col((qa_agency::Entity, qa_agency::Column::Countries)).like(pattern));
        }
        let (agencies, next_page_token) = self
            .doc_page::<qa_agency::Entity, QaAgency>(
                condition,
                qa_agency::Column::Id,
                qa_agency::Column::Doc,
                page,
                |item| &item.id,
            )
            .await?;
        let items = self.with_keys(agencies, |a| &a.id).await?;
        Ok(Page {
            items,
            next_page_token,
        })
    }

    pub async fn recognition_body(&self, id: &str) -> Result<Option<Keyed<RecognitionBody>>> {
        let Some(row) = recognition_body::Entity::find_by_id(id).one(&self.db).await? else {
            return Ok(None);
        };
        let body: RecognitionBody = from_doc(&row.doc)?;
        Ok(self.with_keys(vec![body], |b| &b.id).await?.pop())
    }

    pub async fn list_recognition_bodies(
        &self,
        query: &OrganisationQuery,
        page: &PageRequest,
    ) -> Result<Page<Keyed<RecognitionBody>>> {
        let mut condition = Condition::all();
        if let Some(country) = &query.country {
            condition = condition.add(recognition_body::Column::Country.eq(country.as_str()));
        }
        if let Some(kind) = query.body_kind {
            condition = condition.add(recognition_body::Column::Kind.eq(kind.as_str()));
        }
        let (bodies, next_page_token) = self
            .doc_page::<recognition_body::Entity, RecognitionBody>(
                condition,
                recognition_body::Column::Id,
                recognition_body::Column::Doc,
                page,
                |item| &item.id,
            )
            .await?;
        let items = self.with_keys(bodies, |b| &b.id).await?;
        Ok(Page {
            items,
            next_page_token,
        })
    }

    pub async fn recognition(&self, id: &str) -> Result<Option<Recognition>> {
        let row = recognition::Entity::find_by_id(id).one(&self.db).await?;
        row.map(|row| from_doc(&row.doc)).transpose()
    }

    pub async fn search_recognitions(
        &self,
        query: &RecognitionQuery,
        page: &PageRequest,
    ) -> Result<Page<Recognition>> {
        use recognition::Column;
        let mut condition = Condition::all();
        if let Some(qualification_id) = &query.qualification_id {
            condition = condition.add(Column::QualificationId.eq(qualification_id.as_str()));
        }
        if let Some(body_id) = &query.body_id {
            condition = condition.add(Column::BodyId.eq(body_id.as_str()));
        }
        if let Some(purpose) = query.purpose {
            condition = condition.add(Column::Purpose.eq(purpose.as_str()));
        }
        if let Some(route) = query.route {
            condition = condition.add(Column::Route.eq(route.as_str()));
        }
        if let Some(outcome) = query.outcome {
            condition = condition.add(Column::Outcome.eq(outcome.as_str()));
        }
        if !query.include_retracted {
            condition = condition.add(Column::RetractedAt.is_null());
        }
        let (items, next_page_token) = self
            .doc_page::<recognition::Entity, Recognition>(condition, Column::Id, Column::Doc, page, |item| {
                &item.id
            })
            .await?;
        Ok(Page {
            items,
            next_page_token,
        })
    }
}

/// Ids of providers with an accreditation in force at `at`: positive decision, inside its
/// validity, in a granted or reinstated period, by an agency admitted and not retired at `at`.
fn accredited_providers_at(at: Timestamp) -> sea_orm::sea_query::SelectStatement {
    let t = at.as_micros();
    let positive: Vec<&str> = [Decision::Positive, Decision::PositiveWithConditions]
        .iter()
        .map(|d| d.as_str())
        .collect();
    let in_force: Vec<&str> = AccreditationStatus::ALL
        .iter()
        .filter(|s| s.in_force())
        .map(|s| s.as_str())
        .collect();
    use accreditation::Column as A;
    use accreditation_status::Column as S;
    use qa_agency::Column as G;
    Query::select()
        .column((accreditation::Entity, A::ProviderId))
        .from(accreditation::Entity)
        .inner_join(
            accreditation_status::Entity,
            Expr::col((accreditation_status::Entity, S::AccreditationId))
                .equals((accreditation::Entity, A::Id)),
        )
        .inner_join(
            qa_agency::Entity,
            Expr::col((qa_agency::Entity, G::Id)).equals((accreditation::Entity, A::AgencyId)),
        )
        .and_where(Expr::col((accreditation::Entity, A::Decision)).is_in(positive))
        .and_where(Expr::col((accreditation::Entity, A::ValidFrom)).lte(t))
        .and_where(Expr::col((accreditation::Entity, A::EffectiveUntil)).gt(t))
        .and_where(Expr::col((accreditation_status::Entity, S::Status)).is_in(in_force))
        .and_where(Expr::col((accreditation_status::Entity, S::EffectiveFrom)).lte(t))
        .cond_where(
            Condition::any()
                .add(Expr::col((accreditation_status::Entity, S::EffectiveUntil)).is_null())
                .add(Expr::col((accreditation_status::Entity, S::EffectiveUntil)).gt(t)),
        )
        .and_where(Expr::col((qa_agency::Entity, G::AdmittedAt)).lte(t))
        .cond_where(
            Condition::any()
                .add(Expr::col((qa_agency::Entity, G::RetiredAt)).is_null())
                .add(Expr::col((qa_agency::Entity, G::RetiredAt)).gt(t)),
        )
        .to_owned()
}

pub(super) fn opt_time(micros: Option<i64>) -> Option<Timestamp> {
    micros.map(Timestamp::from_micros)
}

pub(super) fn key_from_row(row: actor_key::Model) -> Result<ActorKey> {
    let public_key: [u8; 32] = row
        .public_key
        .as_slice()
        .try_into()
        .map_err(|_| DomainError::Storage(format!("key {} is not 32 bytes", row.key_id)))?;
    Ok(ActorKey {
        key_id: row.key_id,
        public_key,
        valid_from: Timestamp::from_micros(row.valid_from),
        valid_until: opt_time(row.valid_until),
        revoked_at: opt_time(row.revoked_at),
        revocation_reason: row.revocation_reason,
    })
}

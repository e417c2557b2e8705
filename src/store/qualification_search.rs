//! Qualification searches: whole descriptions (the `FULL` view) or summaries (`BASIC`).
//!
//! A search by skill answers summaries from the skill rows alone: they are kept in skill
//! order (a `WITHOUT ROWID` table on SQLite) and hold each qualification's summary and
//! withdrawal time, so a skill's results are one run of rows rather than a descent of the id
//! index and the table for each.

use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::catalogue::{after, contains_pattern};
use super::entity::*;
use super::{Store, from_doc};
use crate::domain::DomainError;
use crate::domain::model::{Qualification, QualificationSummary};
use crate::domain::page::PageRequest;
use crate::domain::query::{Page, QualificationQuery};

type Result<T> = std::result::Result<T, DomainError>;

/// The filters on the qualification row's own columns: all but the skill and withdrawal.
fn row_filters(query: &QualificationQuery) -> Condition {
    use qualification::Column;
    let mut condition = Condition::all();
    if let Some(text) = &query.text {
        condition = condition
            .add(Expr::col((qualification::Entity, Column::SearchText)).like(contains_pattern(text)));
    }
    if let Some(provider_id) = &query.provider_id {
        condition = condition.add(Column::ProviderId.eq(provider_id.as_str()));
    }
    if let Some(framework_id) = &query.framework_id {
        condition = condition.add(Column::FrameworkId.eq(framework_id.as_str()));
    }
    if let Some(level_code) = &query.level_code {
        condition = condition.add(Column::LevelCode.eq(level_code.as_str()));
    }
    if let Some(eqf_level) = query.eqf_level {
        condition = condition.add(Column::EqfLevel.eq(i16::from(eqf_level)));
    }
    if let Some(min) = query.ects_min {
        condition = condition.add(Column::Ects.gte(min));
    }
    if let Some(max) = query.ects_max {
        condition = condition.add(Column::Ects.lte(max));
    }
    if let Some(stackability) = query.stackability {
        condition = condition.add(Column::Stackability.eq(stackability.as_str()));
    }
    condition
}

impl Store {
    /// The qualifications `query` selects, whole, one page in id order.
    pub async fn search_qualifications(
        &self,
        query: &QualificationQuery,
        page: &PageRequest,
    ) -> Result<Page<Qualification>> {
        let docs = self.qualification_docs(query, page).await?;
        let (items, next_page_token) = page.finish_docs(&docs, from_doc::<Qualification>, |q| &q.id)?;
        Ok(Page {
            items,
            next_page_token,
        })
    }

    /// The summaries of the qualifications `query` selects, one page in id order: from the
    /// skill rows when the query names a skill, else from the documents.
    pub async fn search_qualification_summaries(
        &self,
        query: &QualificationQuery,
        page: &PageRequest,
    ) -> Result<Page<QualificationSummary>> {
        let (items, next_page_token) = match &query.skill_uri {
            Some(skill_uri) => {
                let summaries = self.skill_summaries(skill_uri, query, page).await?;
                page.finish_docs(&summaries, from_doc::<QualificationSummary>, |q| &q.id)?
            }
            None => {
                let docs = self.qualification_docs(query, page).await?;
                let summary =
                    |doc: &str| from_doc::<Qualification>(doc).map(|q| QualificationSummary::from(&q));
                page.finish_docs(&docs, summary, |q| &q.id)?
            }
        };
        Ok(Page {
            items,
            next_page_token,
        })
    }

    async fn qualification_docs(
        &self,
        query: &QualificationQuery,
        page: &PageRequest,
    ) -> Result<Vec<String>> {
        use qualification::Column;
        let mut condition = after(Column::Id, page).add(row_filters(query));
        if let Some(skill_uri) = &query.skill_uri {
            let holders = Query::select()
                .column(qualification_skill::Column::QualificationId)
                .from(qualification_skill::Entity)
                .and_where(qualification_skill::Column::SkillUri.eq(skill_uri.as_str()))
                .to_owned();
            condition = condition.add(Column::Id.in_subquery(holders));
        }
        if !query.include_withdrawn {
            condition = condition.add(Column::WithdrawnAt.is_null());
        }
        let select = qualification::Entity::find()
            .select_only()
            .column(Column::Doc)
            .filter(condition)
            .order_by_asc(Column::Id)
            .limit(page.fetch_limit());
        self.page_texts(select, query.text.is_some()).await
    }

    async fn skill_summaries(
        &self,
        skill_uri: &str,
        query: &QualificationQuery,
        page: &PageRequest,
    ) -> Result<Vec<String>> {
        use qualification_skill::Column;
        let mut condition = after(Column::QualificationId, page).add(Column::SkillUri.eq(skill_uri));
        if !query.include_withdrawn {
            condition = condition.add(Column::WithdrawnAt.is_null());
        }
        // Filters on anything the skill rows do not hold.
        let row_filters = row_filters(query);
        if !row_filters.is_empty() {
            // Looked up for each of the skill's rows, which are few, rather than gathered from
            // every qualification the other filters select, which may be most of them.
            let matching = Query::select()
                .expr(Expr::val(1))
                .from(qualification::Entity)
                .and_where(
                    Expr::col((qualification::Entity, qualification::Column::Id))
                        .equals((qualification_skill::Entity, Column::QualificationId)),
                )
                .cond_where(row_filters)
                .to_owned();
            condition = condition.add(Expr::exists(matching));
        }
        let select = qualification_skill::Entity::find()
            .select_only()
            .column(Column::Summary)
            .filter(condition)
            .order_by_asc(Column::QualificationId)
            .limit(page.fetch_limit());
        self.page_texts(select, query.text.is_some()).await
    }
}

//! `trustregistry.v1.CatalogueService`: read-only, anonymous lookups.

use tonic::{Request, Response, Status};

use super::convert::{FromPbEnum, from_timestamp};
use super::request::{optional_country, optional_id, optional_text, optional_uri, required_id};
use crate::domain::enums::*;
use crate::domain::ids::{IdKind, check_framework_id};
use crate::domain::model::QualificationView;
use crate::domain::page::PageRequest;
use crate::domain::query::*;
use crate::domain::{DomainError, ids};
use crate::pb::{self, catalogue_service_server::CatalogueService};
use crate::store::Store;

/// The catalogue service over a store.
#[derive(Clone)]
pub struct CatalogueApi {
    store: Store,
}

impl CatalogueApi {
    pub fn new(store: Store) -> Self {
        Self { store }
    }
}

type Reply<T> = Result<Response<T>, Status>;

fn found<T>(kind: &'static str, id: &str, item: Option<T>) -> Result<T, DomainError> {
    item.ok_or_else(|| DomainError::not_found(kind, id))
}

/// Refuses control characters in a filter value: PostgreSQL cannot hold NUL in text, SQLite
/// ends a LIKE pattern at NUL, and U+001F separates the names in the stored search text.
fn without_controls<'a>(field: &str, value: &'a str) -> Result<&'a str, DomainError> {
    if value.chars().any(char::is_control) {
        Err(DomainError::invalid(field, "must not contain control characters"))
    } else {
        Ok(value)
    }
}

/// A free-text filter (see [`optional_text`]) without control characters.
fn text_filter(field: &str, text: &str) -> Result<Option<String>, DomainError> {
    let text = optional_text(field, text)?;
    if let Some(text) = &text {
        without_controls(field, text)?;
    }
    Ok(text)
}

#[tonic::async_trait]
impl CatalogueService for CatalogueApi {
    #[tracing::instrument(skip_all, fields(id = %request.get_ref().id))]
    async fn get_provider(&self, request: Request<pb::GetProviderRequest>) -> Reply<pb::GetProviderResponse> {
        let id = required_id(IdKind::Provider, "id", &request.get_ref().id)?;
        let provider = found("provider", &id, self.store.provider(&id).await?)?;
        Ok(Response::new(pb::GetProviderResponse {
            provider: Some(provider.into()),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn search_providers(
        &self,
        request: Request<pb::SearchProvidersRequest>,
    ) -> Reply<pb::SearchProvidersResponse> {
        let pb::SearchProvidersRequest {
            page_size,
            page_token,
            text,
            country,
            kind,
            identifier_scheme,
            identifier_value,
            accredited_at,
        } = request.into_inner();
        let scheme = IdentifierScheme::from_pb("identifier_scheme", identifier_scheme)?;
        without_controls("identifier_value", &identifier_value)?;
        let identifier = match (scheme, identifier_value.is_empty()) {
            (None, true) => None,
            (Some(scheme), false) => Some((scheme, identifier_value)),
            (None, false) => {
                return Err(
                    DomainError::invalid("identifier_scheme", "is required with identifier_value").into(),
                );
            }
            (Some(_), true) => {
                return Err(
                    DomainError::invalid("identifier_value", "is required with identifier_scheme").into(),
                );
            }
        };
        let query = ProviderQuery {
            text: text_filter("text", &text)?,
            country: optional_country("country", &country)?,
            kind: ProviderKind::from_pb("kind", kind)?,
            identifier,
            accredited_at: from_timestamp("accredited_at", accredited_at.as_ref())?,
        };
        let page = PageRequest::parse("providers", &canonical(&query), page_size, &page_token)?;
        let Page {
            items,
            next_page_token,
        } = self.store.search_providers(&query, &page).await?;
        Ok(Response::new(pb::SearchProvidersResponse {
            providers: items.into_iter().map(Into::into).collect(),
            next_page_token,
        }))
    }

    #[tracing::instrument(skip_all, fields(id = %request.get_ref().id))]
    async fn get_qualification(
        &self,
        request: Request<pb::GetQualificationRequest>,
    ) -> Reply<pb::GetQualificationResponse> {
        let id = required_id(IdKind::Qualification, "id", &request.get_ref().id)?;
        let qualification = found("qualification", &id, self.store.qualification(&id).await?)?;
        Ok(Response::new(pb::GetQualificationResponse {
            qualification: Some(qualification.into()),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn search_qualifications(
        &self,
        request: Request<pb::SearchQualificationsRequest>,
    ) -> Reply<pb::SearchQualificationsResponse> {
        let pb::SearchQualificationsRequest {
            page_size,
            page_token,
            text,
            provider_id,
            framework_id,
            level_code,
            eqf_level,
            ects_min,
            ects_max,
            skill_uri,
            stackability,
            include_withdrawn,
            view,
        } = request.into_inner();
        let view = match pb::QualificationView::try_from(view) {
            Ok(pb::QualificationView::Unspecified | pb::QualificationView::Basic) => QualificationView::Basic,
            Ok(pb::QualificationView::Full) => QualificationView::Full,
            Err(_) => {
                return Err(DomainError::invalid(
                    "view",
                    format!("{view} is not a value of QualificationView"),
                )
                .into());
            }
        };
        let framework_id = if framework_id.is_empty() {
            None
        } else {
            check_framework_id("framework_id", &framework_id)?;
            Some(framework_id)
        };
        let level_code = match (level_code.is_empty(), &framework_id) {
            (true, _) => None,
            (false, None) => return Err(DomainError::invalid("level_code", "needs framework_id").into()),
            (false, Some(_)) if level_code.len() > 16 => {
                return Err(DomainError::invalid("level_code", "must be at most 16 characters").into());
            }
            (false, Some(_)) => Some(without_controls("level_code", &level_code)?.to_owned()),
        };
        let eqf_level = match eqf_level {
            None => None,
            Some(level @ 1..=8) => Some(level as u8),
            Some(_) => return Err(DomainError::invalid("eqf_level", "must be between 1 and 8").into()),
        };
        for (field, value) in [("ects_min", ects_min), ("ects_max", ects_max)] {
            if value.is_some_and(|v| !v.is_finite() || v < 0.0) {
                return Err(
                    DomainError::invalid(field, "must be a finite number of credits, 0 or more").into(),
                );
            }
        }
        if let (Some(min), Some(max)) = (ects_min, ects_max)
            && min > max
        {
            return Err(DomainError::invalid("ects_min", "must not exceed ects_max").into());
        }
        let query = QualificationQuery {
            text: text_filter("text", &text)?,
            provider_id: optional_id(IdKind::Provider, "provider_id", &provider_id)?,
            framework_id,
            level_code,
            eqf_level,
            ects_min,
            ects_max,
            skill_uri: optional_uri("skill_uri", without_controls("skill_uri", &skill_uri)?)?,
            stackability: Stackability::from_pb("stackability", stackability)?,
            include_withdrawn,
        };
        let page = PageRequest::parse("qualifications", &canonical(&query), page_size, &page_token)?;
        let answer = match view {
            QualificationView::Basic => {
                qualifications_page(self.store.search_qualification_summaries(&query, &page).await?)
            }
            QualificationView::Full => {
                qualifications_page(self.store.search_qualifications(&query, &page).await?)
            }
        };
        Ok(Response::new(answer))
    }

    #[tracing::instrument(skip_all)]
    async fn list_frameworks(
        &self,
        request: Request<pb::ListFrameworksRequest>,
    ) -> Reply<pb::ListFrameworksResponse> {
        let pb::ListFrameworksRequest {
            page_size,
            page_token,
        } = request.into_inner();
        let page = PageRequest::parse("frameworks", "", page_size, &page_token)?;
        let Page {
            items,
            next_page_token,
        } = self.store.list_frameworks(&page).await?;
        Ok(Response::new(pb::ListFrameworksResponse {
            frameworks: items.into_iter().map(Into::into).collect(),
            next_page_token,
        }))
    }

    #[tracing::instrument(skip_all, fields(id = %request.get_ref().id))]
    async fn get_framework(
        &self,
        request: Request<pb::GetFrameworkRequest>,
    ) -> Reply<pb::GetFrameworkResponse> {
        let id = &request.get_ref().id;
        ids::check_framework_id("id", id)?;
        let framework = found("framework", id, self.store.framework(id).await?)?;
        Ok(Response::new(pb::GetFrameworkResponse {
            framework: Some(framework.into()),
        }))
    }

    #[tracing::instrument(skip_all, fields(id = %request.get_ref().id))]
    async fn get_accreditation(
        &self,
        request: Request<pb::GetAccreditationRequest>,
    ) -> Reply<pb::GetAccreditationResponse> {
        let id = required_id(IdKind::Accreditation, "id", &request.get_ref().id)?;
        let accreditation = found("accreditation", &id, self.store.accreditation(&id).await?)?;
        Ok(Response::new(pb::GetAccreditationResponse {
            accreditation: Some(accreditation.into()),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn list_accreditations(
        &self,
        request: Request<pb::ListAccreditationsRequest>,
    ) -> Reply<pb::ListAccreditationsResponse> {
        let pb::ListAccreditationsRequest {
            page_size,
            page_token,
            provider_id,
            agency_id,
            decision,
            kind,
        } = request.into_inner();
        let query = AccreditationQuery {
            provider_id: optional_id(IdKind::Provider, "provider_id", &provider_id)?,
            agency_id: optional_id(IdKind::QaAgency, "agency_id", &agency_id)?,
            decision: Decision::from_pb("decision", decision)?,
            kind: AccreditationKind::from_pb("kind", kind)?,
        };
        let page = PageRequest::parse("accreditations", &canonical(&query), page_size, &page_token)?;
        let Page {
            items,
            next_page_token,
        } = self.store.list_accreditations(&query, &page).await?;
        Ok(Response::new(pb::ListAccreditationsResponse {
            accreditations: items.into_iter().map(Into::into).collect(),
            next_page_token,
        }))
    }

    #[tracing::instrument(skip_all, fields(id = %request.get_ref().id))]
    async fn get_recognition(
        &self,
        request: Request<pb::GetRecognitionRequest>,
    ) -> Reply<pb::GetRecognitionResponse> {
        let id = required_id(IdKind::Recognition, "id", &request.get_ref().id)?;
        let recognition = found("recognition", &id, self.store.recognition(&id).await?)?;
        Ok(Response::new(pb::GetRecognitionResponse {
            recognition: Some(recognition.into()),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn search_recognitions(
        &self,
        request: Request<pb::SearchRecognitionsRequest>,
    ) -> Reply<pb::SearchRecognitionsResponse> {
        let pb::SearchRecognitionsRequest {
            page_size,
            page_token,
            qualification_id,
            body_id,
            purpose,
            route,
            outcome,
            include_retracted,
        } = request.into_inner();
        let query = RecognitionQuery {
            qualification_id: optional_id(IdKind::Qualification, "qualification_id", &qualification_id)?,
            body_id: optional_id(IdKind::RecognitionBody, "body_id", &body_id)?,
            purpose: RecognitionPurpose::from_pb("purpose", purpose)?,
            route: RecognitionRoute::from_pb("route", route)?,
            outcome: RecognitionOutcome::from_pb("outcome", outcome)?,
            include_retracted,
        };
        let page = PageRequest::parse("recognitions", &canonical(&query), page_size, &page_token)?;
        let Page {
            items,
            next_page_token,
        } = self.store.search_recognitions(&query, &page).await?;
        Ok(Response::new(pb::SearchRecognitionsResponse {
            recognitions: items.into_iter().map(Into::into).collect(),
            next_page_token,
        }))
    }

    #[tracing::instrument(skip_all, fields(id = %request.get_ref().id))]
    async fn get_qa_agency(
        &self,
        request: Request<pb::GetQaAgencyRequest>,
    ) -> Reply<pb::GetQaAgencyResponse> {
        let id = required_id(IdKind::QaAgency, "id", &request.get_ref().id)?;
        let agency = found("QA agency", &id, self.store.qa_agency(&id).await?)?;
        Ok(Response::new(pb::GetQaAgencyResponse {
            qa_agency: Some(agency.into()),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn list_qa_agencies(
        &self,
        request: Request<pb::ListQaAgenciesRequest>,
    ) -> Reply<pb::ListQaAgenciesResponse> {
        let pb::ListQaAgenciesRequest {
            page_size,
            page_token,
            country,
        } = request.into_inner();
        let query = OrganisationQuery {
            country: optional_country("country", &country)?,
            body_kind: None,
        };
        let page = PageRequest::parse("qa_agencies", &canonical(&query), page_size, &page_token)?;
        let Page {
            items,
            next_page_token,
        } = self.store.list_qa_agencies(&query, &page).await?;
        Ok(Response::new(pb::ListQaAgenciesResponse {
            qa_agencies: items.into_iter().map(Into::into).collect(),
            next_page_token,
        }))
    }

    #[tracing::instrument(skip_all, fields(id = %request.get_ref().id))]
    async fn get_recognition_body(
        &self,
        request: Request<pb::GetRecognitionBodyRequest>,
    ) -> Reply<pb::GetRecognitionBodyResponse> {
        let id = required_id(IdKind::RecognitionBody, "id", &request.get_ref().id)?;
        let body = found("recognition body", &id, self.store.recognition_body(&id).await?)?;
        Ok(Response::new(pb::GetRecognitionBodyResponse {
            recognition_body: Some(body.into()),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn list_recognition_bodies(
        &self,
        request: Request<pb::ListRecognitionBodiesRequest>,
    ) -> Reply<pb::ListRecognitionBodiesResponse> {
        let pb::ListRecognitionBodiesRequest {
            page_size,
            page_token,
            country,
            kind,
        } = request.into_inner();
        let query = OrganisationQuery {
            country: optional_country("country", &country)?,
            body_kind: RecognitionBodyKind::from_pb("kind", kind)?,
        };
        let page = PageRequest::parse("recognition_bodies", &canonical(&query), page_size, &page_token)?;
        let Page {
            items,
            next_page_token,
        } = self.store.list_recognition_bodies(&query, &page).await?;
        Ok(Response::new(pb::ListRecognitionBodiesResponse {
            recognition_bodies: items.into_iter().map(Into::into).collect(),
            next_page_token,
        }))
    }
}

/// A page of qualifications, in either view, as a search's answer.
fn qualifications_page<T: Into<pb::Qualification>>(page: Page<T>) -> pb::SearchQualificationsResponse {
    pb::SearchQualificationsResponse {
        qualifications: page.items.into_iter().map(Into::into).collect(),
        next_page_token: page.next_page_token,
    }
}

//! The one table from domain errors to gRPC status codes.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::domain::DomainError;

impl From<DomainError> for Status {
    fn from(err: DomainError) -> Self {
        match err {
            DomainError::InvalidArgument { field, rule } => {
                let message = format!("{field}: {rule}");
                let details = ErrorDetails::with_bad_request_violation(field, rule);
                Status::with_error_details(Code::InvalidArgument, message, details)
            }
            err @ DomainError::NotFound { .. } => Status::not_found(err.to_string()),
            DomainError::AlreadyExists(message) => Status::already_exists(message),
            DomainError::FailedPrecondition(message) => Status::failed_precondition(message),
            DomainError::Unauthenticated(message) => Status::unauthenticated(message),
            DomainError::PermissionDenied(message) => Status::permission_denied(message),
            DomainError::Storage(detail) => {
                tracing::error!(error = %detail, "storage error");
                Status::internal("internal error; the request was not completed")
            }
        }
    }
}

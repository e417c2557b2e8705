//! Errors of the domain layer; `api::status` maps each to a gRPC code.

/// What went wrong, in terms a client can act on.
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// A request field broke a rule. `field` is the request field path.
    #[error("{field}: {rule}")]
    InvalidArgument { field: String, rule: String },
    /// No object with that id.
    #[error("{kind} {id} not found")]
    NotFound { kind: &'static str, id: String },
    /// The object exists already.
    #[error("{0}")]
    AlreadyExists(String),
    /// The request is valid but the registry's state does not allow it.
    #[error("{0}")]
    FailedPrecondition(String),
    /// The write is not signed by a known, valid key, or the signature does not verify.
    #[error("{0}")]
    Unauthenticated(String),
    /// The signer is known but may not make this write.
    #[error("{0}")]
    PermissionDenied(String),
    /// The store failed; details go to the log, not to the client.
    #[error("storage error: {0}")]
    Storage(String),
}

impl DomainError {
    pub fn invalid(field: impl Into<String>, rule: impl Into<String>) -> Self {
        Self::InvalidArgument {
            field: field.into(),
            rule: rule.into(),
        }
    }

    pub fn not_found(kind: &'static str, id: impl Into<String>) -> Self {
        Self::NotFound { kind, id: id.into() }
    }
}

pub type DomainResult<T> = Result<T, DomainError>;

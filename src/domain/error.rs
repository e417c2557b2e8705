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
    pub fn invalid(field: impl std::fmt::Display, rule: impl Into<String>) -> Self {
        Self::InvalidArgument {
            field: field.to_string(),
            rule: rule.into(),
        }
    }

    pub fn not_found(kind: &'static str, id: impl Into<String>) -> Self {
        Self::NotFound { kind, id: id.into() }
    }
}

pub type DomainResult<T> = Result<T, DomainError>;

/// A request field's path as an error names it: a `&str`, or one composed with [`Child`] and
/// [`Item`], which is formatted only when a rule refuses the field.
pub trait FieldPath: std::fmt::Display + Copy {}

impl<T: std::fmt::Display + Copy> FieldPath for T {}

/// `parent.name` as a field path, formatted only when an error names it.
#[derive(Clone, Copy)]
pub struct Child<'a, P>(pub P, pub &'a str);

impl<P: std::fmt::Display> std::fmt::Display for Child<'_, P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.0, self.1)
    }
}

/// `parent[index]` as a field path, formatted only when an error names it.
#[derive(Clone, Copy)]
pub struct Item<P>(pub P, pub usize);

impl<P: std::fmt::Display> std::fmt::Display for Item<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}[{}]", self.0, self.1)
    }
}

#[cfg(test)]
mod field_path_tests {
    use super::{Child, DomainError, Item};

    #[test]
    fn composed_paths_read_as_written_out() {
        let outcome = Child(Item(Child("description", "learning_outcomes"), 2), "skill_uris");
        assert_eq!(outcome.to_string(), "description.learning_outcomes[2].skill_uris");
        assert_eq!(
            Item(outcome, 0).to_string(),
            "description.learning_outcomes[2].skill_uris[0]"
        );
        match DomainError::invalid(Item("keys", 1), "repeats a key") {
            DomainError::InvalidArgument { field, rule } => {
                assert_eq!((field.as_str(), rule.as_str()), ("keys[1]", "repeats a key"));
            }
            other => panic!("not an invalid argument: {other:?}"),
        }
    }
}

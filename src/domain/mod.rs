//! Types and rules of the registry. Nothing here knows about gRPC or the database.

pub mod accreditation;
pub mod credential;
pub mod enums;
pub mod envelope;
pub mod error;
pub mod ids;
pub mod keys;
pub mod merkle;
pub mod model;
pub mod note;
pub mod page;
pub mod query;
pub mod time;
pub mod trust;
pub mod verdict;
pub mod write;

pub use error::DomainError;
pub use time::Timestamp;

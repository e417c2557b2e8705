//! gRPC services: validate the request, convert it, ask the domain or store, respond.

pub mod catalogue;
pub mod convert;
pub mod cors;
pub mod credential;
pub mod import;
pub mod log;
pub mod rate_limit;
pub mod request;
pub mod signing;
mod status;
pub mod trust;
pub mod write;

pub use catalogue::CatalogueApi;

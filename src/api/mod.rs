//! gRPC services: validate the request, convert it, ask the domain or store, respond.

pub mod catalogue;
pub mod convert;
pub mod request;
pub mod write;
mod status;

pub use catalogue::CatalogueApi;

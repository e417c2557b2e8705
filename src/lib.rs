//! trust-registry: a gRPC registry of trusted issuers and qualifications for micro-credentials.

pub mod api;
pub mod bench;
pub mod cli;
pub mod config;
pub mod demo;
pub mod domain;
pub mod metrics;
pub mod server;
pub mod store;
pub mod telemetry;

/// Code generated from `proto/trustregistry/v1`.
pub mod pb {
    tonic::include_proto!("trustregistry.v1");
    include!(concat!(env!("OUT_DIR"), "/trustregistry.v1.serde.rs"));

    /// Encoded file descriptor set of the public contract, served by gRPC reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("trustregistry_descriptor");
}

pub mod pb {
    tonic::include_proto!("trustregistry.v1");
    pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("trustregistry_descriptor");
}

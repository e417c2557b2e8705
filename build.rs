//! Compiles the public contract in `proto/` with protox (pure Rust, no system `protoc`) and
//! generates the tonic server and client code. The encoded file descriptor set is kept for
//! gRPC server reflection.

use std::{env, path::PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    let protos: Vec<PathBuf> = std::fs::read_dir("proto/trustregistry/v1")?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    let mut protos: Vec<PathBuf> = protos
        .into_iter()
        .filter(|p| p.extension().is_some_and(|ext| ext == "proto"))
        .collect();
    protos.sort();

    let file_descriptors = protox::compile(&protos, ["proto"])?;
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    let descriptor_path = out_dir.join("trustregistry_descriptor.bin");
    std::fs::write(&descriptor_path, prost::Message::encode_to_vec(&file_descriptors))?;

    // Well-known types come from pbjson-types so that every message also has the canonical
    // proto3 JSON mapping (used by `trust-registry submit` and bulk import files).
    tonic_prost_build::configure()
        .compile_well_known_types(true)
        .extern_path(".google.protobuf", "::pbjson_types")
        .build_server(true)
        .build_client(true)
        .skip_protoc_run()
        .file_descriptor_set_path(&descriptor_path)
        .compile_fds(file_descriptors)?;

    let descriptor_bytes = std::fs::read(&descriptor_path)?;
    pbjson_build::Builder::new()
        .register_descriptors(&descriptor_bytes)?
        .build(&[".trustregistry"])?;
    Ok(())
}

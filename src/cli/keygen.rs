//! `trust-registry keygen`: a new Ed25519 key pair.

use std::path::PathBuf;

use base64::Engine;
use ed25519_dalek::SigningKey;

use crate::domain::keys;

#[derive(Debug, Clone, clap::Args)]
pub struct KeygenArgs {
    /// Where to write the private key (PKCS#8 PEM, file mode 0600). Refuses to overwrite.
    #[arg(long, short)]
    pub out: PathBuf,
}

/// Writes a new private key to `args.out` and prints the public key and key id.
pub fn run(args: &KeygenArgs) -> anyhow::Result<()> {
    let key = SigningKey::from_bytes(&super::random_bytes::<32>()?);
    super::write_private_key(&args.out, &key)?;
    let public = key.verifying_key().to_bytes();
    println!("private key: {} (mode 0600; keep it secret)", args.out.display());
    println!("key id:      {}", keys::key_id(&public));
    println!("public key:  {}", keys::multibase(&public));
    println!(
        "base64:      {}",
        base64::engine::general_purpose::STANDARD.encode(public)
    );
    println!("did:key:     {}", keys::did_key(&public));
    Ok(())
}

#[derive(Debug, Clone, clap::Args)]
pub struct RegistryKeyArgs {
    /// The registry's signing key (created by the first `serve`; never created here).
    #[arg(
        long,
        env = "TRUST_REGISTRY_REGISTRY_KEY_FILE",
        default_value = "trust-registry-registry.key"
    )]
    pub registry_key_file: PathBuf,
    /// The log's origin, which names the checkpoint key.
    #[arg(
        long,
        env = "TRUST_REGISTRY_LOG_ORIGIN",
        default_value = crate::server::DEFAULT_LOG_ORIGIN,
        value_parser = crate::config::parse_log_origin
    )]
    pub log_origin: String,
}

/// Prints the registry's public key, which verifiers use to check verdicts offline. Only reads
/// the key: a missing file is an error, never a new key, since a key made here would be printed
/// as the registry's while the registry signs with another (for instance when this runs in
/// another directory than `serve`), and verifiers pinning it would refuse every verdict.
pub fn print_registry_key(args: &RegistryKeyArgs) -> anyhow::Result<()> {
    let path = &args.registry_key_file;
    if !path.exists() {
        anyhow::bail!(
            "--registry-key-file {}: no such file; the registry's key is created by the first \
             `trust-registry serve`: give the path that server uses",
            path.display()
        );
    }
    let key = crate::domain::verdict::RegistryKey::new(super::read_private_key(path)?);
    let public = key.public_key();
    println!("key id:      {}", key.key_id());
    println!(
        "vkey:        {}",
        crate::domain::note::verifier_key(&args.log_origin, &public)?
    );
    println!("public key:  {}", keys::multibase(&public));
    println!(
        "base64:      {}",
        base64::engine::general_purpose::STANDARD.encode(public)
    );
    Ok(())
}

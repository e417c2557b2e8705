//! `trust-registry keygen`: a new Ed25519 key pair.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context as _;
use base64::Engine;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::{EncodePrivateKey, spki::der::pem::LineEnding};

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
    let pem = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|err| anyhow::anyhow!("encoding the key: {err}"))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(&args.out)
        .with_context(|| format!("creating {} (it must not exist yet)", args.out.display()))?;
    file.write_all(pem.as_bytes())
        .with_context(|| format!("writing {}", args.out.display()))?;
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

//! Commands for the people who write to the registry (`keygen`, `submit`) and for those who
//! ask it (`check-issuer`, `verify`).

pub mod answer;
pub mod audit;
pub mod import;
pub mod keygen;
pub mod submit;
pub mod verify;

use std::path::Path;

use anyhow::Context as _;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::DecodePrivateKey;

/// Reads an Ed25519 private key from a PKCS#8 PEM file (as written by `keygen` or by
/// `openssl genpkey -algorithm ed25519`).
pub fn read_private_key(path: &Path) -> anyhow::Result<SigningKey> {
    let pem =
        std::fs::read_to_string(path).with_context(|| format!("reading key file {}", path.display()))?;
    SigningKey::from_pkcs8_pem(&pem).map_err(|err| {
        anyhow::anyhow!(
            "{} is not a PKCS#8 PEM Ed25519 private key: {err}",
            path.display()
        )
    })
}

/// A database URL as it may be printed: the password of `scheme://user:password@host/...` (a
/// PostgreSQL URL may carry one) replaced with `***`, so that output kept in logs or CI records
/// does not hold it.
pub fn redacted_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let Some((user_info, host)) = authority.rsplit_once('@') else {
        return url.to_owned();
    };
    match user_info.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***@{host}{path}"),
        None => url.to_owned(),
    }
}

/// How long a command waits to connect to a registry.
pub const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// How long a command waits for one answer: well beyond the server's own deadline (10 s by
/// default), so only a registry that stopped answering runs into it.
pub const CALL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// A channel to the registry at `server` (a URL such as `http://127.0.0.1:50051`). A command
/// never waits for ever: connecting and each call have a time limit, so a registry (or
/// anything else listening there) that accepts the connection and never answers ends the
/// command with an error instead of hanging it.
pub async fn connect(server: &str) -> anyhow::Result<tonic::transport::Channel> {
    endpoint(server)?
        .timeout(CALL_TIMEOUT)
        .connect()
        .await
        .with_context(|| format!("connecting to {server}"))
}

/// The registry at `server`, with a time limit to connect and none per call: over TLS when the
/// URL is `https://`, trusting the public web roots and the `--tls-ca-file` given (see
/// [`trust_certificate_authority`]).
pub fn endpoint(server: &str) -> anyhow::Result<tonic::transport::Endpoint> {
    let endpoint = tonic::transport::Endpoint::from_shared(server.to_owned())
        .context("--server must be a URL such as http://127.0.0.1:50051 or https://registry.example.org")?
        .connect_timeout(CONNECT_TIMEOUT)
        .tcp_nodelay(true);
    if endpoint.uri().scheme_str() != Some("https") {
        return Ok(endpoint);
    }
    let mut tls = tonic::transport::ClientTlsConfig::new().with_webpki_roots();
    if let Some(authority) = TRUSTED_AUTHORITY.get() {
        tls = tls.ca_certificate(authority.clone());
    }
    endpoint
        .tls_config(tls)
        .with_context(|| format!("--server {server}: cannot set up TLS"))
}

/// A certificate authority the commands trust over TLS besides the public web roots.
static TRUSTED_AUTHORITY: std::sync::OnceLock<tonic::transport::Certificate> = std::sync::OnceLock::new();

/// Reads `--tls-ca-file` (PEM), whose authority the commands then trust for `https://` registries.
pub fn trust_certificate_authority(path: &Path) -> anyhow::Result<()> {
    let pem =
        std::fs::read(path).with_context(|| format!("--tls-ca-file {}: cannot read it", path.display()))?;
    if !pem.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----") {
        anyhow::bail!("--tls-ca-file {}: holds no PEM certificate", path.display());
    }
    // Set once, by main, before any command connects.
    let _ = TRUSTED_AUTHORITY.set(tonic::transport::Certificate::from_pem(pem));
    Ok(())
}

/// Fresh random bytes from the operating system.
pub fn random_bytes<const N: usize>() -> anyhow::Result<[u8; N]> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes)
        .map_err(|err| anyhow::anyhow!("no randomness from the operating system: {err}"))?;
    Ok(bytes)
}

/// Reads the registry's signing key from `path`, creating it (mode 0600) on first start.
pub fn load_or_create_registry_key(path: &Path) -> anyhow::Result<crate::domain::verdict::RegistryKey> {
    if !path.exists() {
        let key = SigningKey::from_bytes(&random_bytes::<32>()?);
        write_private_key(path, &key)?;
        tracing::info!(path = %path.display(), "created a new registry signing key");
    }
    Ok(crate::domain::verdict::RegistryKey::new(read_private_key(path)?))
}

/// Writes a private key as PKCS#8 PEM to a new file readable by its owner only.
pub fn write_private_key(path: &Path, key: &SigningKey) -> anyhow::Result<()> {
    use ed25519_dalek::pkcs8::{EncodePrivateKey, spki::der::pem::LineEnding};
    use std::io::Write;
    let pem = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|err| anyhow::anyhow!("encoding the key: {err}"))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {} (it must not exist yet)", path.display()))?;
    file.write_all(pem.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::redacted_url;

    #[test]
    fn a_database_password_is_redacted() {
        assert_eq!(
            redacted_url("postgres://registry:s3cret@db.example:5432/registry?sslmode=require"),
            "postgres://registry:***@db.example:5432/registry?sslmode=require"
        );
        assert_eq!(
            redacted_url("postgres://p:a@b@host/db"),
            "postgres://p:***@host/db"
        );
        for kept in [
            "postgres://registry@db.example/registry",
            "sqlite://copy.db?mode=rwc",
            "sqlite:///var/lib/registry/x@y.db",
        ] {
            assert_eq!(redacted_url(kept), kept);
        }
    }
}

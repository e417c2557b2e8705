//! `trust-registry check-issuer` and `trust-registry verify`: the trust questions, asked from
//! the command line, answered for people (or as proto3 JSON with `--json`).
//!
//! Exit codes: 0 when the answer is positive (TRUSTED; PASSED), 1 when it is not, 2 when there
//! is no answer (bad arguments, unreadable file, server unreachable, request refused) or none
//! that holds (a verdict that does not verify, or that answers another question).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use tonic::transport::Channel;
use tonic_types::StatusExt;

use super::answer;
use crate::api::convert::timestamp;
use crate::domain::{Timestamp, keys};
use crate::pb;
use crate::pb::trust_service_client::TrustServiceClient;

mod summary;

pub use summary::{verdict_summary, verification_summary};

/// The answer was positive.
const YES: u8 = 0;
/// The answer was negative.
const NO: u8 = 1;
/// There was no answer.
const ERROR: u8 = 2;

/// The registry to ask.
#[derive(Debug, Clone, clap::Args)]
pub struct ServerArgs {
    /// The registry's gRPC address.
    #[arg(long, env = "TRUST_REGISTRY_SERVER", default_value = "http://127.0.0.1:50051")]
    pub server: String,
    /// The registry's verdict-signing public key (multibase z6Mk..., base64 or 64 hex digits),
    /// known out of band; verdicts signed by any other key are refused. Default: the key the
    /// registry names (TrustService.GetRegistryKey), which whoever answers can choose.
    ///
    /// What the key covers: a verdict is accepted only when it verifies and answers the question
    /// asked. For check-issuer that is the whole printed answer. For verify it is the issuer
    /// verdict: the issuer as the credential names it was TRUSTED (or not) at the credential's
    /// issuance, for the scope the verdict names; with this key set it must be in any answer
    /// that names an issuer or says PASSED, and a PASSED result needs a TRUSTED verdict. The
    /// other checks (signature, issuer key, qualification, validity) and the scope read from
    /// the registry's record of the micro-credential are as the server sent them, unsigned.
    #[arg(long, env = "TRUST_REGISTRY_KEY")]
    pub registry_key: Option<String>,
}

/// How the issuer is named: exactly one of these.
#[derive(Debug, Clone, clap::Args)]
#[group(required = true, multiple = false)]
pub struct IssuerArgs {
    /// The registry id of the provider, e.g. prov_...
    #[arg(long)]
    pub provider_id: Option<String>,
    /// A DID: did:key is decoded locally, other methods must be registered identifiers.
    #[arg(long)]
    pub did: Option<String>,
    /// An Ed25519 public key: multibase z6Mk..., base64 or 64 hex digits.
    #[arg(long)]
    pub public_key: Option<String>,
    /// A DEQAR institution id.
    #[arg(long)]
    pub deqar_id: Option<String>,
}

/// Settings of `trust-registry check-issuer`.
#[derive(Debug, Clone, clap::Args)]
pub struct CheckIssuerArgs {
    #[command(flatten)]
    pub issuer: IssuerArgs,
    /// The key that signed the credential (registry key id ed25519:...); it must be the
    /// issuer's and valid at --at.
    #[arg(long)]
    pub key_id: Option<String>,
    /// EQF level of the credential (1-8).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=8))]
    pub eqf_level: Option<u32>,
    /// Credential type URI.
    #[arg(long)]
    pub credential_type: Option<String>,
    /// Field of study URI (ISCED-F).
    #[arg(long)]
    pub field_of_study: Option<String>,
    /// Jurisdiction, ISO 3166-1 alpha-2.
    #[arg(long)]
    pub jurisdiction: Option<String>,
    /// The time to evaluate at (RFC 3339), e.g. the credential's issuance; default now.
    #[arg(long, value_parser = parse_time)]
    pub at: Option<Timestamp>,
    /// Print the verdict and the signed verdict as proto3 JSON instead of a summary.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub server: ServerArgs,
}

/// How the credential is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FormatArg {
    /// Detect: a compact JWS, or JSON with a proof.
    Auto,
    /// Compact JWS (VC-JOSE, EdDSA).
    Jws,
    /// Data Integrity proof (eddsa-jcs-2022).
    DataIntegrity,
}

/// Settings of `trust-registry verify`.
#[derive(Debug, Clone, clap::Args)]
pub struct VerifyArgs {
    /// The credential file: a compact JWS or a JSON document with a proof ("-": standard input).
    pub file: PathBuf,
    /// How the credential is secured.
    #[arg(long, value_enum, default_value = "auto")]
    pub format: FormatArg,
    /// The time to check validFrom / validUntil at (RFC 3339); default now.
    #[arg(long, value_parser = parse_time)]
    pub at: Option<Timestamp>,
    /// Print the response as proto3 JSON instead of a summary.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub server: ServerArgs,
}

fn parse_time(text: &str) -> Result<Timestamp, String> {
    Timestamp::parse_rfc3339(text)
        .ok_or_else(|| format!("{text:?} is not an RFC 3339 time such as 2025-01-15T09:00:00Z"))
}

/// Runs `check-issuer`; the exit code tells the answer.
pub async fn check_issuer(args: &CheckIssuerArgs) -> ExitCode {
    exit(run_check_issuer(args).await)
}

/// Runs `verify`; the exit code tells the answer.
pub async fn verify(args: &VerifyArgs) -> ExitCode {
    exit(run_verify(args).await)
}

/// The exit code of `check-issuer` and `verify` for `result`: 0 yes, 1 no, 2 no answer.
pub fn exit(result: anyhow::Result<bool>) -> ExitCode {
    match result {
        Ok(true) => ExitCode::from(YES),
        Ok(false) => ExitCode::from(NO),
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(ERROR)
        }
    }
}

async fn client(server: &ServerArgs) -> anyhow::Result<TrustServiceClient<Channel>> {
    Ok(TrustServiceClient::new(super::connect(&server.server).await?))
}

fn describe(status: tonic::Status) -> anyhow::Error {
    let mut message = format!(
        "the registry refused the request: {:?}: {}",
        status.code(),
        status.message()
    );
    if let Some(bad_request) = status.get_details_bad_request() {
        for violation in bad_request.field_violations {
            message.push_str(&format!(
                "\n  field {}: {}",
                violation.field, violation.description
            ));
        }
    }
    anyhow::anyhow!(message)
}

/// The query the arguments describe.
pub fn query(args: &CheckIssuerArgs) -> anyhow::Result<pb::IssuerQuery> {
    use pb::issuer_query::Issuer;
    let IssuerArgs {
        provider_id,
        did,
        public_key,
        deqar_id,
    } = &args.issuer;
    let issuer = match (provider_id, did, public_key, deqar_id) {
        (Some(id), None, None, None) => Issuer::ProviderId(id.clone()),
        (None, Some(did), None, None) => Issuer::Did(did.clone()),
        (None, None, Some(key), None) => {
            let public = keys::parse_public_key(key).map_err(|e| anyhow::anyhow!("--public-key: {e}"))?;
            Issuer::PublicKeyMultibase(keys::multibase(&public))
        }
        (None, None, None, Some(value)) => Issuer::ExternalIdentifier(pb::ExternalIdentifier {
            scheme: pb::IdentifierScheme::Deqar as i32,
            value: value.clone(),
            valid_from: None,
            valid_until: None,
        }),
        _ => bail!("name the issuer with exactly one of --provider-id, --did, --public-key, --deqar-id"),
    };
    Ok(pb::IssuerQuery {
        issuer: Some(issuer),
        key_id: args.key_id.clone().unwrap_or_default(),
        scope: Some(pb::TrustScope {
            credential_type: args.credential_type.clone().unwrap_or_default(),
            eqf_level: args.eqf_level,
            field_of_study: args.field_of_study.clone().unwrap_or_default(),
            jurisdiction: args.jurisdiction.clone().unwrap_or_default(),
        }),
        at: args.at.map(timestamp),
    })
}

async fn run_check_issuer(args: &CheckIssuerArgs) -> anyhow::Result<bool> {
    let query = query(args)?;
    let mut registry = client(&args.server).await?;
    let response = registry
        .check_issuer(pb::CheckIssuerRequest {
            query: Some(query.clone()),
        })
        .await
        .map_err(describe)?
        .into_inner();
    let signed = response
        .verdict
        .as_ref()
        .context("the registry sent no verdict")?;
    let verdict = verified(&mut registry, args.server.registry_key.as_deref(), signed).await?;
    answer::check_answers(&verdict, &query)?;
    let trusted = verdict.status == pb::TrustStatus::Trusted as i32;
    if args.json {
        let both = serde_json::json!({ "verdict": verdict, "signedVerdict": signed });
        println!("{}", serde_json::to_string_pretty(&both)?);
    } else {
        print!("{}", verdict_summary(&verdict, signed));
    }
    Ok(trusted)
}

async fn run_verify(args: &VerifyArgs) -> anyhow::Result<bool> {
    let credential = if args.file.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin()).context("reading the credential from standard input")?
    } else {
        std::fs::read_to_string(&args.file).with_context(|| format!("reading {}", args.file.display()))?
    };
    let format = match args.format {
        FormatArg::Auto => pb::CredentialFormat::Auto,
        FormatArg::Jws => pb::CredentialFormat::Jws,
        FormatArg::DataIntegrity => pb::CredentialFormat::DataIntegrity,
    };
    let mut registry = client(&args.server).await?;
    let response = registry
        .verify_credential(pb::VerifyCredentialRequest {
            credential: credential.clone(),
            format: format as i32,
            at: args.at.map(timestamp),
        })
        .await
        .map_err(describe)?
        .into_inner();
    let passed = response.result == pb::CheckResult::Passed as i32;
    let verdict = issuer_verdict(&mut registry, &args.server, format, &credential, &response).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&response)?);
    } else {
        print!("{}", verification_summary(&response, verdict.as_ref()));
    }
    Ok(passed)
}

/// The issuer verdict of a `verify` answer, verified and held to the credential (see
/// [`answer::check_about_credential`]). With a pinned registry key an answer that names an
/// issuer or says PASSED must carry one: else its outcome would rest on unsigned fields alone,
/// which anyone between here and the registry can write.
async fn issuer_verdict(
    registry: &mut TrustServiceClient<Channel>,
    server: &ServerArgs,
    format: pb::CredentialFormat,
    credential: &str,
    response: &pb::VerifyCredentialResponse,
) -> anyhow::Result<Option<pb::Verdict>> {
    let pinned = server.registry_key.as_deref();
    let Some(signed) = &response.issuer_verdict else {
        let passed = response.result == pb::CheckResult::Passed as i32;
        if pinned.is_some() && (passed || response.issuer.is_some()) {
            bail!(
                "the answer {} but carries no signed issuer verdict: refused",
                if passed { "says PASSED" } else { "names an issuer" }
            );
        }
        return Ok(None);
    };
    let verdict = verified(registry, pinned, signed).await?;
    let credential = crate::api::credential::parse(format, credential).map_err(|why| {
        anyhow::anyhow!(
            "the answer carries an issuer verdict, but the credential cannot be read here ({why}): refused"
        )
    })?;
    answer::check_about_credential(&verdict, &credential, response)?;
    Ok(Some(verdict))
}

/// The verdict `signed` carries, once its signature checks out with the registry key (`pinned`,
/// or else asked of `registry` on the connection the answer came on): a verdict that does not
/// verify is an error, never an answer.
async fn verified(
    registry: &mut TrustServiceClient<Channel>,
    pinned: Option<&str>,
    signed: &pb::SignedVerdict,
) -> anyhow::Result<pb::Verdict> {
    let registry_key = match pinned {
        Some(text) => keys::parse_public_key(text).map_err(|e| anyhow::anyhow!("--registry-key: {e}"))?,
        None => {
            let named = registry
                .get_registry_key(pb::GetRegistryKeyRequest {})
                .await
                .map_err(describe)?
                .into_inner();
            named
                .public_key
                .try_into()
                .map_err(|_| anyhow::anyhow!("the registry named a key that is not 32 bytes"))?
        }
    };
    let key_id = keys::key_id(&registry_key);
    if signed.registry_key_id != key_id {
        bail!(
            "the verdict names registry key {}, not {key_id}: refused",
            signed.registry_key_id
        );
    }
    crate::api::signing::verified_verdict(&registry_key, signed)
        .with_context(|| format!("the verdict does not verify with registry key {key_id}: refused"))
}

//! `trust-registry submit`: signs a command written as JSON and sends it.
//!
//! The file holds `{"rpc": "Service/Method", "command": {...}}`, the command in the proto3 JSON
//! mapping of its `...Command` message. `${NAME}` in the file is replaced by the environment
//! variable NAME. A missing `header` (or its `issuedAt` / `nonce`) is filled in: now, and a
//! random nonce.

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use tonic_types::StatusExt;

use crate::api::convert::timestamp;
use crate::api::write::seal;
use crate::domain::Timestamp;
use crate::pb;

#[derive(Debug, Clone, clap::Args)]
pub struct SubmitArgs {
    /// The command file (JSON).
    pub file: PathBuf,
    /// The signer's private key (PKCS#8 PEM, as written by `keygen`). Not TRUST_REGISTRY_KEY,
    /// which `check-issuer` and `verify` read as the registry's public key.
    #[arg(long, env = "TRUST_REGISTRY_SIGNING_KEY")]
    pub key: PathBuf,
    /// The registry's gRPC address.
    #[arg(long, env = "TRUST_REGISTRY_SERVER", default_value = "http://127.0.0.1:50051")]
    pub server: String,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CommandFile {
    rpc: String,
    command: serde_json::Value,
}

/// Replaces `${NAME}` with the value of the environment variable NAME.
pub fn expand_env(text: &str) -> anyhow::Result<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}').context("unterminated ${ in the command file")?;
        let name = &after[..end];
        let value = std::env::var(name)
            .with_context(|| format!("the command file uses ${{{name}}}, which is not set"))?;
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn fresh_header(header: &mut Option<pb::CommandHeader>) -> anyhow::Result<()> {
    let header = header.get_or_insert_with(Default::default);
    if header.issued_at.is_none() {
        header.issued_at = Some(timestamp(Timestamp::now()));
    }
    if header.nonce.is_empty() {
        header.nonce = hex::encode(super::random_bytes::<16>()?);
    }
    Ok(())
}

/// Sends one command to the RPC its file names, signed with `key`; prints the response as JSON.
macro_rules! dispatch {
    ($rpc:expr, $json:expr, $key:expr, $channel:expr,
     $( $name:literal => $module:ident :: $client:ident . $method:ident ( $command:ident, $request:ident ) ),+ $(,)?) => {
        match $rpc {
            $( $name => {
                let mut command: pb::$command = serde_json::from_value($json)
                    .with_context(|| format!("the command is not a valid {}", stringify!($command)))?;
                fresh_header(&mut command.header)?;
                let envelope = seal($key, &format!("/trustregistry.v1.{}", $name), &command);
                let response = pb::$module::$client::new($channel.clone())
                    .$method(pb::$request { envelope: Some(envelope) })
                    .await
                    .map_err(describe)?;
                serde_json::to_string_pretty(&response.into_inner())?
            } )+
            other => bail!("unknown rpc {other:?}: use Service/Method, e.g. \"AccreditationService/RecordAccreditation\""),
        }
    };
}

fn describe(status: tonic::Status) -> anyhow::Error {
    let mut message = format!("{:?}: {}", status.code(), status.message());
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

pub async fn run(args: &SubmitArgs) -> anyhow::Result<()> {
    let key = super::read_private_key(&args.key)?;
    let text =
        std::fs::read_to_string(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let file: CommandFile = serde_json::from_str(&expand_env(&text)?).with_context(|| {
        format!(
            "{} is not {{\"rpc\": ..., \"command\": {{...}}}}",
            args.file.display()
        )
    })?;
    let channel = super::connect(&args.server).await?;
    let json = file.command;
    let output = dispatch!(file.rpc.as_str(), json, &key, channel,
        "GovernanceService/AdmitQaAgency" => governance_service_client::GovernanceServiceClient.admit_qa_agency(AdmitQaAgencyCommand, AdmitQaAgencyRequest),
        "GovernanceService/RetireQaAgency" => governance_service_client::GovernanceServiceClient.retire_qa_agency(RetireQaAgencyCommand, RetireQaAgencyRequest),
        "GovernanceService/AdmitRecognitionBody" => governance_service_client::GovernanceServiceClient.admit_recognition_body(AdmitRecognitionBodyCommand, AdmitRecognitionBodyRequest),
        "GovernanceService/RetireRecognitionBody" => governance_service_client::GovernanceServiceClient.retire_recognition_body(RetireRecognitionBodyCommand, RetireRecognitionBodyRequest),
        "GovernanceService/AddFramework" => governance_service_client::GovernanceServiceClient.add_framework(AddFrameworkCommand, AddFrameworkRequest),
        "AccreditationService/RegisterProvider" => accreditation_service_client::AccreditationServiceClient.register_provider(RegisterProviderCommand, RegisterProviderRequest),
        "AccreditationService/RecordAccreditation" => accreditation_service_client::AccreditationServiceClient.record_accreditation(RecordAccreditationCommand, RecordAccreditationRequest),
        "AccreditationService/ChangeAccreditationStatus" => accreditation_service_client::AccreditationServiceClient.change_accreditation_status(ChangeAccreditationStatusCommand, ChangeAccreditationStatusRequest),
        "ProviderService/PublishQualification" => provider_service_client::ProviderServiceClient.publish_qualification(PublishQualificationCommand, PublishQualificationRequest),
        "ProviderService/ReviseQualification" => provider_service_client::ProviderServiceClient.revise_qualification(ReviseQualificationCommand, ReviseQualificationRequest),
        "ProviderService/WithdrawQualification" => provider_service_client::ProviderServiceClient.withdraw_qualification(WithdrawQualificationCommand, WithdrawQualificationRequest),
        "RecognitionService/PublishRecognition" => recognition_service_client::RecognitionServiceClient.publish_recognition(PublishRecognitionCommand, PublishRecognitionRequest),
        "RecognitionService/RetractRecognition" => recognition_service_client::RecognitionServiceClient.retract_recognition(RetractRecognitionCommand, RetractRecognitionRequest),
        "KeyService/AddKey" => key_service_client::KeyServiceClient.add_key(AddKeyCommand, AddKeyRequest),
        "KeyService/RotateKey" => key_service_client::KeyServiceClient.rotate_key(RotateKeyCommand, RotateKeyRequest),
        "KeyService/RevokeKey" => key_service_client::KeyServiceClient.revoke_key(RevokeKeyCommand, RevokeKeyRequest),
    );
    println!("{output}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_environment_variables() {
        // SAFETY: single-threaded test; the variable name is unique to it.
        unsafe { std::env::set_var("TR_SUBMIT_TEST_ID", "prov_x") };
        assert_eq!(
            expand_env(r#"{"id": "${TR_SUBMIT_TEST_ID}"}"#).unwrap(),
            r#"{"id": "prov_x"}"#
        );
        assert!(expand_env("${TR_SUBMIT_TEST_UNSET_VARIABLE}").is_err());
        assert!(expand_env("${unterminated").is_err());
    }
}

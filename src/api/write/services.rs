//! The write services: Governance, Accreditation, Provider, Recognition, Key; and the log
//! lookup of stored envelopes.

use tonic::{Request, Response, Status};

use super::Writes;
use crate::api::convert::{actor_keys, timestamp};
use crate::domain::write::{Applied, Receipt};
use crate::pb;

type Reply<T> = Result<Response<T>, Status>;

fn receipt_to_pb(receipt: &Receipt) -> pb::WriteReceipt {
    pb::WriteReceipt {
        envelope_id: receipt.envelope_id.clone(),
        accepted_at: Some(timestamp(receipt.accepted_at)),
        replayed: receipt.replayed,
        signer_key_id: receipt.signer_key_id.clone(),
        signer_id: receipt.signer_id.clone(),
        log_index: receipt.log_index,
    }
}

fn unexpected(applied: &Applied) -> Status {
    tracing::error!(?applied, "a write produced an unexpected result");
    Status::internal("internal error")
}

fn one_key(key: crate::domain::model::ActorKey) -> Option<pb::ActorKey> {
    actor_keys(vec![key]).pop()
}

/// A write service: each RPC submits its envelope, then answers with the receipt and what the
/// write produced. (The whole impl is generated so that `async_trait` sees every method.)
macro_rules! write_service {
    ($api:ident, $service_trait:path, $service:literal,
     $( $method:ident, $name:literal, $command:ident, $request:ident, $response:ident,
        $pattern:pat => { $($field:ident: $out:expr),+ } ;)+) => {
        #[tonic::async_trait]
        impl $service_trait for $api {
            $(
            #[tracing::instrument(skip_all, fields(rpc = $name))]
            async fn $method(&self, request: Request<pb::$request>) -> Reply<pb::$response> {
                const RPC: &str = concat!("/trustregistry.v1.", $service, "/", $name);
                let receipt = self.0.submit::<pb::$command>(RPC, request.into_inner().envelope).await?;
                tracing::info!(envelope_id = %receipt.envelope_id, signer = %receipt.signer_id,
                    replayed = receipt.replayed, "write accepted");
                let out = receipt_to_pb(&receipt);
                match receipt.applied {
                    $pattern => Ok(Response::new(pb::$response { receipt: Some(out), $($field: $out),+ })),
                    #[allow(unreachable_patterns)]
                    other => Err(unexpected(&other)),
                }
            }
            )+
        }
    };
}

/// `trustregistry.v1.GovernanceService`.
#[derive(Clone)]
pub struct GovernanceApi(pub Writes);

write_service!(GovernanceApi, pb::governance_service_server::GovernanceService, "GovernanceService",
    admit_qa_agency, "AdmitQaAgency", AdmitQaAgencyCommand, AdmitQaAgencyRequest, AdmitQaAgencyResponse,
        Applied::QaAgency(a) => { qa_agency: Some(a.into()) };
    retire_qa_agency, "RetireQaAgency", RetireQaAgencyCommand, RetireQaAgencyRequest, RetireQaAgencyResponse,
        Applied::QaAgency(a) => { qa_agency: Some(a.into()) };
    admit_recognition_body, "AdmitRecognitionBody", AdmitRecognitionBodyCommand, AdmitRecognitionBodyRequest,
        AdmitRecognitionBodyResponse, Applied::RecognitionBody(b) => { recognition_body: Some(b.into()) };
    retire_recognition_body, "RetireRecognitionBody", RetireRecognitionBodyCommand, RetireRecognitionBodyRequest,
        RetireRecognitionBodyResponse, Applied::RecognitionBody(b) => { recognition_body: Some(b.into()) };
    add_framework, "AddFramework", AddFrameworkCommand, AddFrameworkRequest, AddFrameworkResponse,
        Applied::Framework(f) => { framework: Some(f.into()) };
);

/// `trustregistry.v1.AccreditationService`.
#[derive(Clone)]
pub struct AccreditationApi(pub Writes);

write_service!(AccreditationApi, pb::accreditation_service_server::AccreditationService, "AccreditationService",
    register_provider, "RegisterProvider", RegisterProviderCommand, RegisterProviderRequest, RegisterProviderResponse,
        Applied::Provider(p) => { provider: Some(p.into()) };
    record_accreditation, "RecordAccreditation", RecordAccreditationCommand, RecordAccreditationRequest,
        RecordAccreditationResponse, Applied::Accreditation(a) => { accreditation: Some(a.into()) };
    change_accreditation_status, "ChangeAccreditationStatus", ChangeAccreditationStatusCommand,
        ChangeAccreditationStatusRequest, ChangeAccreditationStatusResponse,
        Applied::Accreditation(a) => { accreditation: Some(a.into()) };
);

/// `trustregistry.v1.ProviderService`.
#[derive(Clone)]
pub struct ProviderApi(pub Writes);

write_service!(ProviderApi, pb::provider_service_server::ProviderService, "ProviderService",
    publish_qualification, "PublishQualification", PublishQualificationCommand, PublishQualificationRequest,
        PublishQualificationResponse, Applied::Qualification(q) => { qualification: Some(q.into()) };
    revise_qualification, "ReviseQualification", ReviseQualificationCommand, ReviseQualificationRequest,
        ReviseQualificationResponse, Applied::Qualification(q) => { qualification: Some(q.into()) };
    withdraw_qualification, "WithdrawQualification", WithdrawQualificationCommand, WithdrawQualificationRequest,
        WithdrawQualificationResponse, Applied::Qualification(q) => { qualification: Some(q.into()) };
);

/// `trustregistry.v1.RecognitionService`.
#[derive(Clone)]
pub struct RecognitionApi(pub Writes);

write_service!(RecognitionApi, pb::recognition_service_server::RecognitionService, "RecognitionService",
    publish_recognition, "PublishRecognition", PublishRecognitionCommand, PublishRecognitionRequest,
        PublishRecognitionResponse, Applied::Recognition(r) => { recognition: Some(r.into()) };
    retract_recognition, "RetractRecognition", RetractRecognitionCommand, RetractRecognitionRequest,
        RetractRecognitionResponse, Applied::Recognition(r) => { recognition: Some(r.into()) };
);

/// `trustregistry.v1.KeyService`.
#[derive(Clone)]
pub struct KeyApi(pub Writes);

write_service!(KeyApi, pb::key_service_server::KeyService, "KeyService",
    add_key, "AddKey", AddKeyCommand, AddKeyRequest, AddKeyResponse, Applied::Key(k) => { key: one_key(k) };
    rotate_key, "RotateKey", RotateKeyCommand, RotateKeyRequest, RotateKeyResponse,
        Applied::KeyRotation { old_key, new_key } => { old_key: one_key(old_key), new_key: one_key(new_key) };
    revoke_key, "RevokeKey", RevokeKeyCommand, RevokeKeyRequest, RevokeKeyResponse,
        Applied::Key(k) => { key: one_key(k) };
);

//! The fixture world of the rule tests, a generic sender for every write RPC, the table of
//! write RPCs with a valid command for each, and the assertions on accepted and refused writes.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use ed25519_dalek::SigningKey;
use prost::Message;
use tonic::{Code, Status};
use tonic_types::StatusExt;
use trust_registry::api::convert::timestamp;
use trust_registry::domain::{Timestamp, envelope, keys::key_id};
use trust_registry::pb;

use crate::commands::{publish_recognition_of, record_accreditation_for};
use crate::common::TestApp;
use crate::common::signed::{
    self, description, en, header, key, key_spec, operator_key, provider_registration,
};

/// The four roles that sign writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    Operator,
    Agency,
    Provider,
    Body,
}

pub const EVERY_ROLE: [Who; 4] = [Who::Operator, Who::Agency, Who::Provider, Who::Body];

/// The service of a write method.
pub fn service_of(method: &str) -> &'static str {
    match method {
        "AdmitQaAgency"
        | "RetireQaAgency"
        | "AdmitRecognitionBody"
        | "RetireRecognitionBody"
        | "AddFramework" => "GovernanceService",
        "RegisterProvider" | "RecordAccreditation" | "ChangeAccreditationStatus" => "AccreditationService",
        "PublishQualification" | "ReviseQualification" | "WithdrawQualification" => "ProviderService",
        "PublishRecognition" | "RetractRecognition" => "RecognitionService",
        "AddKey" | "RotateKey" | "RevokeKey" => "KeyService",
        other => panic!("{other} is not a write RPC"),
    }
}

/// The full RPC name of a write method, as signatures cover it.
pub fn rpc_name(method: &str) -> String {
    signed::rpc(service_of(method), method)
}

pub fn key_id_of(key: &SigningKey) -> String {
    key_id(&key.verifying_key().to_bytes())
}

/// Signs encoded command bytes for `method` with `key`.
pub fn seal(key: &SigningKey, method: &str, bytes: Vec<u8>) -> pb::SignedEnvelope {
    let signature = envelope::sign(key, &rpc_name(method), &bytes);
    pb::SignedEnvelope {
        command: bytes,
        key_id: key_id_of(key),
        signature: signature.to_vec(),
    }
}

/// A key never registered before in this test run.
pub fn fresh_key() -> SigningKey {
    static N: AtomicU64 = AtomicU64::new(0);
    key(&format!("fresh {}", N.fetch_add(1, Ordering::Relaxed)))
}

pub fn at(text: &str) -> Option<pbjson_types::Timestamp> {
    Some(timestamp(
        Timestamp::parse_rfc3339(text).expect("an RFC 3339 time"),
    ))
}

pub fn secs_from_now(seconds: i64) -> Option<pbjson_types::Timestamp> {
    Some(timestamp(Timestamp::now().plus_seconds(seconds)))
}

/// A key spec valid from 2020 on, so that the key signs at any issue time the tests use.
pub fn old_key_spec(key: &SigningKey) -> pb::KeySpec {
    pb::KeySpec {
        valid_from: at("2020-01-01T00:00:00Z"),
        ..key_spec(key)
    }
}

/// What an accepted write answered: its receipt, the id of the object it wrote (a key id for
/// key RPCs), and the rest of the response as text.
#[derive(Debug)]
pub struct Written {
    pub receipt: pb::WriteReceipt,
    pub id: String,
    pub result: String,
}

/// Sends an envelope to any write RPC by method name.
pub async fn send(
    app: &TestApp,
    method: &str,
    envelope: Option<pb::SignedEnvelope>,
) -> Result<Written, Status> {
    macro_rules! call {
        ($client:ident . $call:ident ( $request:ident ), $object:ident . $id:ident) => {{
            let mut answer = app.$client().$call(pb::$request { envelope }).await?.into_inner();
            let receipt = answer.receipt.take().expect("an accepted write has a receipt");
            let id = answer
                .$object
                .as_ref()
                .expect("an accepted write returns what it wrote")
                .$id
                .clone();
            Ok(Written {
                receipt,
                id,
                result: format!("{answer:?}"),
            })
        }};
    }
    match method {
        "AdmitQaAgency" => call!(governance.admit_qa_agency(AdmitQaAgencyRequest), qa_agency.id),
        "RetireQaAgency" => call!(governance.retire_qa_agency(RetireQaAgencyRequest), qa_agency.id),
        "AdmitRecognitionBody" => call!(
            governance.admit_recognition_body(AdmitRecognitionBodyRequest),
            recognition_body.id
        ),
        "RetireRecognitionBody" => call!(
            governance.retire_recognition_body(RetireRecognitionBodyRequest),
            recognition_body.id
        ),
        "AddFramework" => call!(governance.add_framework(AddFrameworkRequest), framework.id),
        "RegisterProvider" => call!(
            accreditations.register_provider(RegisterProviderRequest),
            provider.id
        ),
        "RecordAccreditation" => call!(
            accreditations.record_accreditation(RecordAccreditationRequest),
            accreditation.id
        ),
        "ChangeAccreditationStatus" => call!(
            accreditations.change_accreditation_status(ChangeAccreditationStatusRequest),
            accreditation.id
        ),
        "PublishQualification" => call!(
            providers.publish_qualification(PublishQualificationRequest),
            qualification.id
        ),
        "ReviseQualification" => call!(
            providers.revise_qualification(ReviseQualificationRequest),
            qualification.id
        ),
        "WithdrawQualification" => call!(
            providers.withdraw_qualification(WithdrawQualificationRequest),
            qualification.id
        ),
        "PublishRecognition" => call!(
            recognitions.publish_recognition(PublishRecognitionRequest),
            recognition.id
        ),
        "RetractRecognition" => call!(
            recognitions.retract_recognition(RetractRecognitionRequest),
            recognition.id
        ),
        "AddKey" => call!(keys.add_key(AddKeyRequest), key.key_id),
        "RotateKey" => call!(keys.rotate_key(RotateKeyRequest), new_key.key_id),
        "RevokeKey" => call!(keys.revoke_key(RevokeKeyRequest), key.key_id),
        other => panic!("{other} is not a write RPC"),
    }
}

/// Everything the catalogue shows, to compare before and after a refused write.
#[derive(Debug, PartialEq)]
pub struct Snapshot {
    pub agencies: Vec<pb::QaAgency>,
    pub bodies: Vec<pb::RecognitionBody>,
    pub frameworks: Vec<pb::Framework>,
    pub providers: Vec<pb::Provider>,
    pub accreditations: Vec<pb::Accreditation>,
    pub qualifications: Vec<pb::Qualification>,
    pub recognitions: Vec<pb::Recognition>,
}

impl Snapshot {
    /// How many objects of each kind, and keys of all actors, the catalogue lists.
    pub fn counts(&self) -> [usize; 8] {
        let keys = self.agencies.iter().map(|a| a.keys.len()).sum::<usize>()
            + self.bodies.iter().map(|b| b.keys.len()).sum::<usize>()
            + self.providers.iter().map(|p| p.keys.len()).sum::<usize>();
        [
            self.agencies.len(),
            self.bodies.len(),
            self.frameworks.len(),
            self.providers.len(),
            self.accreditations.len(),
            self.qualifications.len(),
            self.recognitions.len(),
            keys,
        ]
    }
}

pub async fn snapshot(app: &TestApp) -> Snapshot {
    // Read concurrently: each catalogue answer takes a round trip of its own.
    macro_rules! all {
        ($call:ident, $request:ident { $($field:ident: $value:expr),* }, $items:ident) => {{
            let mut client = app.catalogue.clone();
            async move {
                let request = pb::$request { page_size: 500, $($field: $value,)* ..Default::default() };
                let answer = client.$call(request).await.expect(stringify!($call)).into_inner();
                assert!(answer.next_page_token.is_empty(), "{} fits in one page", stringify!($call));
                answer.$items
            }
        }};
    }
    let (agencies, bodies, frameworks, providers, accreditations, qualifications, recognitions) = tokio::join!(
        all!(list_qa_agencies, ListQaAgenciesRequest {}, qa_agencies),
        all!(
            list_recognition_bodies,
            ListRecognitionBodiesRequest {},
            recognition_bodies
        ),
        all!(list_frameworks, ListFrameworksRequest {}, frameworks),
        all!(search_providers, SearchProvidersRequest {}, providers),
        all!(list_accreditations, ListAccreditationsRequest {}, accreditations),
        all!(
            search_qualifications,
            SearchQualificationsRequest {
                include_withdrawn: true
            },
            qualifications
        ),
        all!(
            search_recognitions,
            SearchRecognitionsRequest {
                include_retracted: true
            },
            recognitions
        ),
    );
    Snapshot {
        agencies,
        bodies,
        frameworks,
        providers,
        accreditations,
        qualifications,
        recognitions,
    }
}

/// An actor of the fixture: its main key and spare keys (all registered, valid from 2020).
pub struct Actor {
    pub id: String,
    pub key: SigningKey,
    pub spares: Vec<SigningKey>,
    next_spare: AtomicUsize,
}

const SPARES: usize = 6;

impl Actor {
    fn keys(label: &str) -> (SigningKey, Vec<SigningKey>) {
        (
            key(label),
            (0..SPARES).map(|i| key(&format!("{label} spare {i}"))).collect(),
        )
    }

    fn specs(main: &SigningKey, spares: &[SigningKey]) -> Vec<pb::KeySpec> {
        std::iter::once(main).chain(spares).map(old_key_spec).collect()
    }

    fn new(id: String, (key, spares): (SigningKey, Vec<SigningKey>)) -> Self {
        Self {
            id,
            key,
            spares,
            next_spare: AtomicUsize::new(0),
        }
    }

    pub fn key_id(&self) -> String {
        key_id_of(&self.key)
    }

    /// A registered spare key not handed out before.
    pub fn spare(&self) -> &SigningKey {
        let i = self.next_spare.fetch_add(1, Ordering::Relaxed);
        self.spares
            .get(i)
            .unwrap_or_else(|| panic!("{} has no spare key left", self.id))
    }
}

/// The fixture: two agencies, two bodies and two providers for the tests, one agency and one
/// body to retire, an accreditation, qualifications and recognitions of each.
pub struct World {
    pub agency: Actor,
    pub agency2: Actor,
    pub retirable_agency: Actor,
    pub body: Actor,
    pub body2: Actor,
    pub retirable_body: Actor,
    pub provider: Actor,
    pub provider2: Actor,
    /// A key of `provider` that was valid in 2020 only.
    pub expired_key: SigningKey,
    /// By `agency` for `provider`, granted from 2021-01-01.
    pub accreditation: String,
    /// By `agency2` for `provider2`, granted from 2021-01-01.
    pub accreditation2: String,
    /// By `provider`.
    pub qualification: String,
    pub withdrawable: String,
    /// By `provider2`.
    pub qualification2: String,
    /// By `body`, on `qualification`.
    pub recognition: String,
    pub retractable: String,
    /// By `body2`, on `qualification`.
    pub recognition2: String,
    /// Log position the next accepted write must take.
    next_log_index: AtomicU64,
}

impl World {
    pub async fn build(app: &TestApp) -> Self {
        let log = AtomicU64::new(0);
        let write = async |key: &SigningKey, method: &str, bytes: Vec<u8>| {
            let written = send(app, method, Some(seal(key, method, bytes)))
                .await
                .unwrap_or_else(|s| panic!("{method}: {s:?}"));
            assert_eq!(
                written.receipt.log_index,
                log.fetch_add(1, Ordering::Relaxed),
                "{method} takes the next log position"
            );
            written
        };
        let id = |written: Written| written.id;
        let op = operator_key();
        let admit_agency = async |label: &str| {
            let keys = Actor::keys(label);
            let command = pb::AdmitQaAgencyCommand {
                header: header(),
                names: en(label),
                country: "IE".into(),
                keys: Actor::specs(&keys.0, &keys.1),
                admitted_at: at("2020-01-01T00:00:00Z"),
                ..Default::default()
            };
            Actor::new(
                id(write(&op, "AdmitQaAgency", command.encode_to_vec()).await),
                keys,
            )
        };
        let agency = admit_agency("agency").await;
        let agency2 = admit_agency("agency 2").await;
        let retirable_agency = admit_agency("retirable agency").await;
        let admit_body = async |label: &str| {
            let keys = Actor::keys(label);
            let command = pb::AdmitRecognitionBodyCommand {
                header: header(),
                names: en(label),
                country: "IE".into(),
                kind: pb::RecognitionBodyKind::EnicNaric as i32,
                keys: Actor::specs(&keys.0, &keys.1),
                admitted_at: at("2020-01-01T00:00:00Z"),
                ..Default::default()
            };
            Actor::new(
                id(write(&op, "AdmitRecognitionBody", command.encode_to_vec()).await),
                keys,
            )
        };
        let body = admit_body("body").await;
        let body2 = admit_body("body 2").await;
        let retirable_body = admit_body("retirable body").await;

        let expired_key = key("provider expired");
        let register = async |agency: &Actor, label: &str, extra: Vec<pb::KeySpec>| {
            let keys = Actor::keys(label);
            let mut specs = Actor::specs(&keys.0, &keys.1);
            specs.extend(extra);
            let command = provider_registration(label, specs);
            Actor::new(
                id(write(&agency.key, "RegisterProvider", command.encode_to_vec()).await),
                keys,
            )
        };
        let expired = pb::KeySpec {
            valid_until: at("2021-01-01T00:00:00Z"),
            ..old_key_spec(&expired_key)
        };
        let provider = register(&agency, "provider", vec![expired]).await;
        let provider2 = register(&agency2, "provider 2", vec![]).await;

        let accredit = async |agency: &Actor, provider: &Actor| {
            let command = record_accreditation_for(&provider.id);
            id(write(&agency.key, "RecordAccreditation", command.encode_to_vec()).await)
        };
        let accreditation = accredit(&agency, &provider).await;
        let accreditation2 = accredit(&agency2, &provider2).await;

        let publish = async |provider: &Actor, title: &str| {
            let command = pb::PublishQualificationCommand {
                header: header(),
                description: Some(description(title)),
            };
            id(write(&provider.key, "PublishQualification", command.encode_to_vec()).await)
        };
        let qualification = publish(&provider, "Relational Database Design").await;
        let withdrawable = publish(&provider, "Legacy Course").await;
        let qualification2 = publish(&provider2, "Second Provider Course").await;

        let recognise = async |body: &Actor, qualification: &str| {
            let command = publish_recognition_of(qualification);
            id(write(&body.key, "PublishRecognition", command.encode_to_vec()).await)
        };
        let recognition = recognise(&body, &qualification).await;
        let retractable = recognise(&body, &qualification).await;
        let recognition2 = recognise(&body2, &qualification).await;

        let next_log_index = AtomicU64::new(log.load(Ordering::Relaxed));
        World {
            agency,
            agency2,
            retirable_agency,
            body,
            body2,
            retirable_body,
            provider,
            provider2,
            expired_key,
            accreditation,
            accreditation2,
            qualification,
            withdrawable,
            qualification2,
            recognition,
            retractable,
            recognition2,
            next_log_index,
        }
    }

    /// The key a role signs with.
    pub fn signer(&self, who: Who) -> &SigningKey {
        match who {
            Who::Operator => {
                static OPERATOR: std::sync::OnceLock<SigningKey> = std::sync::OnceLock::new();
                OPERATOR.get_or_init(operator_key)
            }
            Who::Agency => &self.agency.key,
            Who::Provider => &self.provider.key,
            Who::Body => &self.body.key,
        }
    }

    /// The registry id a role signs as.
    pub fn signer_id(&self, who: Who) -> &str {
        match who {
            Who::Operator => "operator",
            Who::Agency => &self.agency.id,
            Who::Provider => &self.provider.id,
            Who::Body => &self.body.id,
        }
    }

    /// Sends an envelope that must be accepted as a new write at the next log position.
    pub async fn accept(&self, app: &TestApp, method: &str, envelope: pb::SignedEnvelope) -> Written {
        let written = send(app, method, Some(envelope))
            .await
            .unwrap_or_else(|s| panic!("{method} refused: {s:?}"));
        assert!(!written.receipt.replayed, "{method}: a new write is not a replay");
        let expected = self.next_log_index.fetch_add(1, Ordering::Relaxed);
        assert_eq!(
            written.receipt.log_index, expected,
            "{method} takes the next log position: refused writes took none"
        );
        written
    }

    /// Signs and sends a command that must be accepted.
    pub async fn ok(&self, app: &TestApp, key: &SigningKey, method: &str, bytes: Vec<u8>) -> Written {
        self.accept(app, method, seal(key, method, bytes)).await
    }

    /// Sends an envelope that must be refused with `code` and a message containing `fragment`,
    /// and checks that the catalogue is the same afterwards.
    pub async fn refused(
        &self,
        app: &TestApp,
        method: &str,
        envelope: Option<pb::SignedEnvelope>,
        code: Code,
        fragment: &str,
    ) -> Status {
        let before = snapshot(app).await;
        let status = match send(app, method, envelope).await {
            Ok(written) => panic!("{method} was accepted, expected {code:?} ({fragment}): {written:?}"),
            Err(status) => status,
        };
        assert_eq!(status.code(), code, "{method}: {status:?}");
        assert!(
            status.message().contains(fragment),
            "{method}: message {:?} should mention {fragment:?}",
            status.message()
        );
        assert!(
            snapshot(app).await == before,
            "{method} was refused ({code:?}) but changed the catalogue"
        );
        status
    }

    /// Sends an envelope that must be refused as INVALID_ARGUMENT naming `field`, changing nothing.
    pub async fn invalid(
        &self,
        app: &TestApp,
        method: &str,
        envelope: Option<pb::SignedEnvelope>,
        field: &str,
    ) -> Status {
        let status = self
            .refused(app, method, envelope, Code::InvalidArgument, "")
            .await;
        assert!(
            status.message().starts_with(&format!("{field}: ")),
            "{method}: message {:?} should start with the field path {field:?}",
            status.message()
        );
        let violations = status
            .get_details_bad_request()
            .expect("a google.rpc.BadRequest detail")
            .field_violations;
        assert_eq!(violations.len(), 1, "{violations:?}");
        assert_eq!(violations[0].field, field);
        status
    }
}

//! Assertions on gRPC answers shared by the catalogue tests.

use std::fmt::Debug;

use tonic::{Code, Status};
use tonic_types::StatusExt;
use trust_registry::pb;

use super::TestApp;

/// Asserts that a call was refused with INVALID_ARGUMENT naming `field`: the message starts
/// with `field:` and the status carries a google.rpc.BadRequest violation of that field.
#[track_caller]
pub fn expect_invalid<T: Debug>(result: Result<T, Status>, field: &str) -> Status {
    let status = match result {
        Ok(answer) => panic!("a request with a bad {field} was answered: {answer:?}"),
        Err(status) => status,
    };
    assert_eq!(status.code(), Code::InvalidArgument, "bad {field}: {status:?}");
    assert!(
        status.message().starts_with(&format!("{field}: ")),
        "the message names {field}: {:?}",
        status.message()
    );
    let bad_request = status
        .get_details_bad_request()
        .unwrap_or_else(|| panic!("bad {field}: no google.rpc.BadRequest in {status:?}"));
    assert_eq!(bad_request.field_violations.len(), 1, "{bad_request:?}");
    let violation = &bad_request.field_violations[0];
    assert_eq!(violation.field, field);
    assert!(
        !violation.description.is_empty(),
        "the violation says what is wrong: {violation:?}"
    );
    assert!(
        status.message().ends_with(&violation.description),
        "message {:?} and violation {:?} agree",
        status.message(),
        violation.description
    );
    status
}

/// Asserts that a lookup of `id` was answered NOT_FOUND with the id in the message.
#[track_caller]
pub fn expect_not_found<T: Debug>(result: Result<T, Status>, id: &str) -> Status {
    let status = match result {
        Ok(answer) => panic!("a lookup of unknown {id} was answered: {answer:?}"),
        Err(status) => status,
    };
    assert_eq!(status.code(), Code::NotFound, "unknown {id}: {status:?}");
    assert!(
        status.message().contains(id),
        "the message names {id}: {:?}",
        status.message()
    );
    status
}

/// Owned ids in ascending order, the order every catalogue list uses.
pub fn sorted<S: AsRef<str>>(ids: impl IntoIterator<Item = S>) -> Vec<String> {
    let mut ids: Vec<String> = ids.into_iter().map(|id| id.as_ref().to_owned()).collect();
    ids.sort();
    ids
}

/// A `google.protobuf.Timestamp` of an answer (whatever Rust type it is generated as) as a
/// registry instant: `instant!(accreditation.valid_from)` is an `Option<Timestamp>`.
#[macro_export]
macro_rules! instant {
    ($stamp:expr) => {
        $stamp.as_ref().map(|stamp| {
            trust_registry::domain::Timestamp::from_seconds_nanos(stamp.seconds, stamp.nanos)
                .expect("a valid time")
        })
    };
}

/// Everything the catalogue holds, read through the client in one page of 500 per list.
#[derive(Debug, PartialEq)]
pub struct Snapshot {
    pub providers: Vec<pb::Provider>,
    pub qualifications: Vec<pb::Qualification>,
    pub accreditations: Vec<pb::Accreditation>,
    pub recognitions: Vec<pb::Recognition>,
    pub qa_agencies: Vec<pb::QaAgency>,
    pub recognition_bodies: Vec<pb::RecognitionBody>,
    pub frameworks: Vec<pb::Framework>,
}

pub async fn snapshot(app: &TestApp) -> Snapshot {
    let mut client = app.catalogue.clone();
    let page_size = 500;
    Snapshot {
        providers: client
            .search_providers(pb::SearchProvidersRequest {
                page_size,
                ..Default::default()
            })
            .await
            .expect("SearchProviders")
            .into_inner()
            .providers,
        qualifications: client
            .search_qualifications(pb::SearchQualificationsRequest {
                page_size,
                include_withdrawn: true,
                ..Default::default()
            })
            .await
            .expect("SearchQualifications")
            .into_inner()
            .qualifications,
        accreditations: client
            .list_accreditations(pb::ListAccreditationsRequest {
                page_size,
                ..Default::default()
            })
            .await
            .expect("ListAccreditations")
            .into_inner()
            .accreditations,
        recognitions: client
            .search_recognitions(pb::SearchRecognitionsRequest {
                page_size,
                include_retracted: true,
                ..Default::default()
            })
            .await
            .expect("SearchRecognitions")
            .into_inner()
            .recognitions,
        qa_agencies: client
            .list_qa_agencies(pb::ListQaAgenciesRequest {
                page_size,
                ..Default::default()
            })
            .await
            .expect("ListQaAgencies")
            .into_inner()
            .qa_agencies,
        recognition_bodies: client
            .list_recognition_bodies(pb::ListRecognitionBodiesRequest {
                page_size,
                ..Default::default()
            })
            .await
            .expect("ListRecognitionBodies")
            .into_inner()
            .recognition_bodies,
        frameworks: client
            .list_frameworks(pb::ListFrameworksRequest {
                page_size,
                page_token: String::new(),
            })
            .await
            .expect("ListFrameworks")
            .into_inner()
            .frameworks,
    }
}

impl Snapshot {
    /// Providers, qualifications, accreditations, recognitions, QA agencies, recognition
    /// bodies and frameworks.
    pub fn counts(&self) -> [usize; 7] {
        [
            self.providers.len(),
            self.qualifications.len(),
            self.accreditations.len(),
            self.recognitions.len(),
            self.qa_agencies.len(),
            self.recognition_bodies.len(),
            self.frameworks.len(),
        ]
    }
}

/// GetQualification's answer for `id`, which must exist.
pub async fn get_qualification(app: &TestApp, id: &str) -> pb::Qualification {
    app.catalogue
        .clone()
        .get_qualification(pb::GetQualificationRequest { id: id.into() })
        .await
        .expect("GetQualification")
        .into_inner()
        .qualification
        .expect("qualification")
}

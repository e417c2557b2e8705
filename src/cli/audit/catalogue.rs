//! The live catalogue and the replayed one, listed through the catalogue API and compared item
//! by item.

use anyhow::bail;
use serde_json::Value;
use tonic::transport::Channel;

use crate::pb::{self, catalogue_service_client::CatalogueServiceClient};

/// Every item of every catalogue list, as proto3 JSON, in list order.
#[allow(
    clippy::field_reassign_with_default,
    reason = "the paging macro sets the page fields of whichever request it is given"
)]
pub(super) async fn catalogue(channel: Channel) -> anyhow::Result<Vec<(&'static str, Vec<Value>)>> {
    let mut client = CatalogueServiceClient::new(channel);
    macro_rules! all_pages {
        ($method:ident, $request:expr, $field:ident) => {{
            let mut items = Vec::new();
            let mut page_token = String::new();
            loop {
                let mut request = $request;
                request.page_size = 500;
                request.page_token = page_token;
                let response = client.$method(request).await?.into_inner();
                for item in response.$field {
                    items.push(serde_json::to_value(&item)?);
                }
                if response.next_page_token.is_empty() {
                    break items;
                }
                page_token = response.next_page_token;
            }
        }};
    }
    Ok(vec![
        (
            "frameworks",
            all_pages!(list_frameworks, pb::ListFrameworksRequest::default(), frameworks),
        ),
        (
            "qa_agencies",
            all_pages!(
                list_qa_agencies,
                pb::ListQaAgenciesRequest::default(),
                qa_agencies
            ),
        ),
        (
            "recognition_bodies",
            all_pages!(
                list_recognition_bodies,
                pb::ListRecognitionBodiesRequest::default(),
                recognition_bodies
            ),
        ),
        (
            "providers",
            all_pages!(search_providers, pb::SearchProvidersRequest::default(), providers),
        ),
        (
            "accreditations",
            all_pages!(
                list_accreditations,
                pb::ListAccreditationsRequest::default(),
                accreditations
            ),
        ),
        (
            "qualifications",
            all_pages!(
                search_qualifications,
                pb::SearchQualificationsRequest {
                    include_withdrawn: true,
                    view: pb::QualificationView::Full.into(),
                    ..Default::default()
                },
                qualifications
            ),
        ),
        (
            "recognitions",
            all_pages!(
                search_recognitions,
                pb::SearchRecognitionsRequest {
                    include_retracted: true,
                    ..Default::default()
                },
                recognitions
            ),
        ),
    ])
}

/// The path of the first difference between two JSON values.
pub(super) fn first_difference(path: &str, live: &Value, replayed: &Value) -> Option<String> {
    match (live, replayed) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter().find_map(|k| {
                first_difference(
                    &format!("{path}.{k}"),
                    a.get(k).unwrap_or(&Value::Null),
                    b.get(k).unwrap_or(&Value::Null),
                )
            })
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => a
            .iter()
            .zip(b)
            .enumerate()
            .find_map(|(i, (x, y))| first_difference(&format!("{path}[{i}]"), x, y)),
        (a, b) if a == b => None,
        (a, b) => Some(format!("{path}: live {a}, log replay {b}")),
    }
}

pub(super) fn compare(live: &[(&str, Vec<Value>)], replayed: &[(&str, Vec<Value>)]) -> anyhow::Result<()> {
    for ((list, live_items), (_, replayed_items)) in live.iter().zip(replayed) {
        for i in 0..live_items.len().max(replayed_items.len()) {
            let id = |v: Option<&Value>| v.and_then(|v| v["id"].as_str()).unwrap_or("(none)").to_owned();
            match (live_items.get(i), replayed_items.get(i)) {
                (Some(a), Some(b)) if a["id"] != b["id"] => bail!(
                    "MISMATCH in {list}: live has {} where the log replay has {} (an object added or removed outside the log)",
                    id(Some(a)),
                    id(Some(b))
                ),
                (Some(a), Some(b)) => {
                    if let Some(diff) = first_difference("", a, b) {
                        bail!("MISMATCH in {list} {}: {diff}", id(Some(a)));
                    }
                }
                (Some(a), None) => bail!(
                    "MISMATCH in {list}: live has {}, which no log entry created",
                    id(Some(a))
                ),
                (None, Some(b)) => bail!(
                    "MISMATCH in {list}: the log creates {}, which the live catalogue lacks",
                    id(Some(b))
                ),
                (None, None) => {}
            }
        }
    }
    Ok(())
}

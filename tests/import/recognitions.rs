//! Recognitions in a batch find the qualifications they name: committed, queued in the same
//! batch, or never published.

use super::*;
use crate::both_backends;

/// Recognition decisions of `qualification_id` in the registry.
async fn recognitions_of(app: &TestApp, qualification_id: &str) -> usize {
    app.catalogue
        .clone()
        .search_recognitions(pb::SearchRecognitionsRequest {
            page_size: 100,
            qualification_id: qualification_id.into(),
            ..Default::default()
        })
        .await
        .expect("SearchRecognitions")
        .into_inner()
        .recognitions
        .len()
}

// A batch's recognitions look their qualification up in the committed registry first (on
// SQLite on a connection of their own) and only then in the batch: a qualification committed
// before the batch, one published earlier in the same batch (its rows still queued) and one
// never published must be told apart, whichever way the lookup goes.
both_backends!(
    a_batch_finds_the_qualifications_its_recognitions_name,
    async |app: &TestApp| {
        use trust_registry::domain::ids::IdKind;
        use trust_registry::domain::{DomainError, Timestamp};

        let importer = importer(app);
        let agency_key = key("recognising agency");
        let college_key = key("recognised college");
        let body_key = key("recognising body");
        app.admit_agency("Recognising Agency", "IE", &agency_key).await;
        app.register_provider(&agency_key, "Recognised College", "IE", &college_key)
            .await;
        app.admit_body("Recognising Body", "IE", &body_key).await;
        let committed = app
            .providers()
            .publish_qualification(pb::PublishQualificationRequest {
                envelope: envelope(
                    &college_key,
                    "ProviderService",
                    "PublishQualification",
                    &pb::PublishQualificationCommand {
                        header: header(),
                        description: Some(description("Committed Course")),
                    },
                ),
            })
            .await
            .expect("PublishQualification")
            .into_inner()
            .qualification
            .unwrap()
            .id;

        let (publish, in_batch) = minting(
            &college_key,
            "ProviderService",
            "PublishQualification",
            &pb::PublishQualificationCommand {
                header: header(),
                description: Some(description("Batch Course")),
            },
            IdKind::Qualification,
        );
        let mut requests = vec![publish];
        for id in [&committed, &in_batch, &committed] {
            requests.push(request(
                &body_key,
                "RecognitionService",
                "PublishRecognition",
                &publish_recognition_of(id),
            ));
        }
        let outcome = importer
            .import_batch(&pairs(&requests), Timestamp::now())
            .await
            .expect("import_batch");
        assert!(outcome.refused.is_none(), "{:?}", outcome.refused);
        assert!(!outcome.retried, "the deferred first try commits");
        assert_eq!(outcome.receipts.len(), 4);
        assert_eq!(recognitions_of(app, &committed).await, 2);
        assert_eq!(recognitions_of(app, &in_batch).await, 1);

        // A qualification id of the right form that nothing published: refused by name, and
        // the recognition before it stays applied.
        let never = IdKind::Qualification.mint(b"never published");
        let requests = [&committed, &never].map(|id| {
            request(
                &body_key,
                "RecognitionService",
                "PublishRecognition",
                &publish_recognition_of(id),
            )
        });
        let before = log_size(app).await;
        let outcome = importer
            .import_batch(&pairs(&requests), Timestamp::now())
            .await
            .expect("import_batch");
        match &outcome.refused {
            Some((1, DomainError::InvalidArgument { field, rule })) => {
                assert_eq!(field, "qualification_id");
                assert_eq!(rule, "names no registered qualification");
            }
            other => panic!("the recognition of an unknown qualification is refused: {other:?}"),
        }
        assert_eq!(outcome.receipts.len(), 1);
        assert_eq!(log_size(app).await, before + 1);
        assert_eq!(recognitions_of(app, &committed).await, 3);
        assert_eq!(recognitions_of(app, &never).await, 0);
    }
);

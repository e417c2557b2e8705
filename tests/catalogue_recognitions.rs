//! GetRecognition and SearchRecognitions through a real gRPC channel, on SQLite and PostgreSQL.

mod common;

use common::TestApp;
use common::builders::at;
use common::checks::sorted;
use trust_registry::domain::enums::*;
use trust_registry::pb;

async fn recognition_ids(app: &TestApp, request: pb::SearchRecognitionsRequest) -> Vec<String> {
    let answer = app
        .catalogue
        .clone()
        .search_recognitions(request)
        .await
        .expect("SearchRecognitions")
        .into_inner();
    assert!(
        answer.next_page_token.is_empty(),
        "every match fits on the first page"
    );
    answer.recognitions.into_iter().map(|r| r.id).collect()
}

both_backends!(get_recognition_returns_the_decision, async |app: &TestApp| {
    let body = app
        .recognition_body("Recognition Centre", "NL", RecognitionBodyKind::EnicNaric)
        .await;
    let provider = app.provider("Provider").insert().await;
    let qualification = app.qualification(&provider, "Data Basics").insert().await;
    let mut builder = app
        .recognition(&body, &qualification)
        .purpose(RecognitionPurpose::Admission)
        .route(RecognitionRoute::LisbonRecognitionConvention)
        .outcome(RecognitionOutcome::RecognisedWithConditions);
    builder.recognition.credits_granted = 7.5;
    builder.recognition.target_programme = "MSc Data Science".into();
    builder.recognition.conditions = "Pass a bridging module.".into();
    let recognition = builder.insert().await;
    let retracted = app
        .recognition(&body, &qualification)
        .retracted("2025-01-15T00:00:00Z")
        .insert()
        .await;

    let mut client = app.catalogue.clone();
    let got = client
        .get_recognition(pb::GetRecognitionRequest {
            id: recognition.id.clone(),
        })
        .await
        .expect("GetRecognition")
        .into_inner()
        .recognition
        .expect("recognition");
    assert_eq!(got.id, recognition.id);
    assert_eq!(got.body_id, body.id);
    assert_eq!(got.qualification_id, qualification.id);
    assert_eq!(got.purpose, pb::RecognitionPurpose::Admission as i32);
    assert_eq!(
        got.route,
        pb::RecognitionRoute::LisbonRecognitionConvention as i32
    );
    assert_eq!(
        got.outcome,
        pb::RecognitionOutcome::RecognisedWithConditions as i32
    );
    assert_eq!(got.credits_granted, 7.5);
    assert_eq!(got.credit_system, pb::CreditSystem::Ects as i32);
    assert_eq!(got.target_programme, "MSc Data Science");
    assert_eq!(got.conditions, "Pass a bridging module.");
    assert_eq!(instant!(got.decided_at), Some(at("2024-01-01T00:00:00Z")));
    assert_eq!(got.retracted_at, None);

    // A retracted decision can still be read by id.
    let got = client
        .get_recognition(pb::GetRecognitionRequest {
            id: retracted.id.clone(),
        })
        .await
        .expect("GetRecognition")
        .into_inner()
        .recognition
        .expect("recognition");
    assert_eq!(instant!(got.retracted_at), Some(at("2025-01-15T00:00:00Z")));
});

both_backends!(
    search_recognitions_filters_and_leaves_out_retracted,
    async |app: &TestApp| {
        let centre = app
            .recognition_body("Recognition Centre", "NL", RecognitionBodyKind::EnicNaric)
            .await;
        let university = app
            .recognition_body(
                "University",
                "IE",
                RecognitionBodyKind::HigherEducationInstitution,
            )
            .await;
        let provider = app.provider("Provider").insert().await;
        let q1 = app.qualification(&provider, "First").insert().await;
        let q2 = app.qualification(&provider, "Second").insert().await;
        let r1 = app.recognition(&centre, &q1).insert().await.id;
        let r2 = app
            .recognition(&centre, &q2)
            .purpose(RecognitionPurpose::Admission)
            .route(RecognitionRoute::LisbonRecognitionConvention)
            .outcome(RecognitionOutcome::PartiallyRecognised)
            .insert()
            .await
            .id;
        let r3 = app
            .recognition(&university, &q1)
            .purpose(RecognitionPurpose::Exemption)
            .route(RecognitionRoute::PriorLearning)
            .outcome(RecognitionOutcome::Refused)
            .insert()
            .await
            .id;
        let r4 = app
            .recognition(&university, &q2)
            .route(RecognitionRoute::FreeElective)
            .retracted("2025-01-01T00:00:00Z")
            .insert()
            .await
            .id;

        let current = pb::SearchRecognitionsRequest::default();
        let everything = pb::SearchRecognitionsRequest {
            include_retracted: true,
            ..Default::default()
        };
        assert_eq!(
            recognition_ids(app, current.clone()).await,
            sorted([&r1, &r2, &r3])
        );
        assert_eq!(
            recognition_ids(app, everything.clone()).await,
            sorted([&r1, &r2, &r3, &r4])
        );

        let of = |q: &str, base: &pb::SearchRecognitionsRequest| pb::SearchRecognitionsRequest {
            qualification_id: q.into(),
            ..base.clone()
        };
        assert_eq!(
            recognition_ids(app, of(&q1.id, &current)).await,
            sorted([&r1, &r3])
        );
        assert_eq!(recognition_ids(app, of(&q2.id, &current)).await, [r2.clone()]);
        assert_eq!(
            recognition_ids(app, of(&q2.id, &everything)).await,
            sorted([&r2, &r4])
        );

        let by = |b: &str, base: &pb::SearchRecognitionsRequest| pb::SearchRecognitionsRequest {
            body_id: b.into(),
            ..base.clone()
        };
        assert_eq!(
            recognition_ids(app, by(&centre.id, &current)).await,
            sorted([&r1, &r2])
        );
        assert_eq!(
            recognition_ids(app, by(&university.id, &current)).await,
            [r3.clone()]
        );
        assert_eq!(
            recognition_ids(app, by(&university.id, &everything)).await,
            sorted([&r3, &r4])
        );

        let purpose = |p: pb::RecognitionPurpose| pb::SearchRecognitionsRequest {
            purpose: p as i32,
            ..Default::default()
        };
        assert_eq!(
            recognition_ids(app, purpose(pb::RecognitionPurpose::CreditTransfer)).await,
            [r1.clone()]
        );
        assert_eq!(
            recognition_ids(app, purpose(pb::RecognitionPurpose::Admission)).await,
            [r2.clone()]
        );
        assert!(
            recognition_ids(app, purpose(pb::RecognitionPurpose::Employment))
                .await
                .is_empty()
        );
        let retracted_too = pb::SearchRecognitionsRequest {
            include_retracted: true,
            ..purpose(pb::RecognitionPurpose::CreditTransfer)
        };
        assert_eq!(recognition_ids(app, retracted_too).await, sorted([&r1, &r4]));

        let route = |r: pb::RecognitionRoute| pb::SearchRecognitionsRequest {
            route: r as i32,
            ..Default::default()
        };
        assert_eq!(
            recognition_ids(app, route(pb::RecognitionRoute::LisbonRecognitionConvention)).await,
            [r2.clone()]
        );
        assert_eq!(
            recognition_ids(app, route(pb::RecognitionRoute::PriorLearning)).await,
            [r3.clone()]
        );
        assert!(
            recognition_ids(app, route(pb::RecognitionRoute::FreeElective))
                .await
                .is_empty()
        );

        let outcome = |o: pb::RecognitionOutcome| pb::SearchRecognitionsRequest {
            outcome: o as i32,
            ..Default::default()
        };
        assert_eq!(
            recognition_ids(app, outcome(pb::RecognitionOutcome::Recognised)).await,
            [r1.clone()]
        );
        assert_eq!(
            recognition_ids(app, outcome(pb::RecognitionOutcome::Refused)).await,
            [r3.clone()]
        );
        let combined = pb::SearchRecognitionsRequest {
            body_id: university.id.clone(),
            include_retracted: true,
            ..outcome(pb::RecognitionOutcome::Recognised)
        };
        assert_eq!(recognition_ids(app, combined).await, [r4.clone()]);
    }
);

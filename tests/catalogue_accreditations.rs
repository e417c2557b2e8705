//! GetAccreditation and ListAccreditations through a real gRPC channel, on SQLite and PostgreSQL.

mod common;

use common::TestApp;
use common::builders::at;
use common::checks::sorted;
use trust_registry::domain::enums::*;
use trust_registry::pb;

async fn accreditation_ids(app: &TestApp, request: pb::ListAccreditationsRequest) -> Vec<String> {
    let answer = app
        .catalogue
        .clone()
        .list_accreditations(request)
        .await
        .expect("ListAccreditations")
        .into_inner();
    assert!(
        answer.next_page_token.is_empty(),
        "every match fits on the first page"
    );
    answer.accreditations.into_iter().map(|a| a.id).collect()
}

async fn get(app: &TestApp, id: &str) -> pb::Accreditation {
    app.catalogue
        .clone()
        .get_accreditation(pb::GetAccreditationRequest { id: id.into() })
        .await
        .expect("GetAccreditation")
        .into_inner()
        .accreditation
        .expect("accreditation")
}

both_backends!(
    get_accreditation_returns_scope_validity_and_history_in_order,
    async |app: &TestApp| {
        let agency = app.agency("Agency", "IE").await;
        let provider = app.provider("Provider").insert().await;
        let record = app
            .accreditation(&agency, &provider)
            .kind(AccreditationKind::Iso21001Certification)
            .eqf_levels(&[5, 6, 7])
            .valid("2022-01-01T00:00:00Z", Some("2028-12-31T00:00:00Z"))
            .status(
                AccreditationStatus::Granted,
                "2022-01-01T00:00:00Z",
                Some("2024-03-01T00:00:00Z"),
                "Granted.",
            )
            .status(
                AccreditationStatus::Suspended,
                "2024-03-01T00:00:00Z",
                Some("2024-06-01T00:00:00Z"),
                "Audit.",
            )
            .status(
                AccreditationStatus::Reinstated,
                "2024-06-01T00:00:00Z",
                None,
                "Closed.",
            )
            .insert()
            .await;

        let got = get(app, &record.accreditation.id).await;
        assert_eq!(got.id, record.accreditation.id);
        assert_eq!(got.agency_id, agency.id);
        assert_eq!(got.provider_id, provider.id);
        assert_eq!(got.kind, pb::AccreditationKind::Iso21001Certification as i32);
        assert_eq!(got.decision, pb::Decision::Positive as i32);
        assert_eq!(got.scope.expect("scope").eqf_levels, [5, 6, 7]);
        assert_eq!(instant!(got.valid_from), Some(at("2022-01-01T00:00:00Z")));
        assert_eq!(instant!(got.valid_until), Some(at("2028-12-31T00:00:00Z")));
        assert_eq!(
            instant!(got.effective_until),
            Some(at("2028-12-31T00:00:00Z")),
            "the decided end applies"
        );
        assert_eq!(instant!(got.recorded_at), Some(record.accreditation.recorded_at));
        let history: Vec<_> = got
            .status_history
            .iter()
            .map(|p| {
                (
                    p.status,
                    instant!(p.effective_from),
                    instant!(p.effective_until),
                    p.reason.as_str(),
                )
            })
            .collect();
        assert_eq!(
            history,
            [
                (
                    pb::AccreditationStatus::Granted as i32,
                    Some(at("2022-01-01T00:00:00Z")),
                    Some(at("2024-03-01T00:00:00Z")),
                    "Granted."
                ),
                (
                    pb::AccreditationStatus::Suspended as i32,
                    Some(at("2024-03-01T00:00:00Z")),
                    Some(at("2024-06-01T00:00:00Z")),
                    "Audit."
                ),
                (
                    pb::AccreditationStatus::Reinstated as i32,
                    Some(at("2024-06-01T00:00:00Z")),
                    None,
                    "Closed."
                ),
            ]
        );

        // A negative decision is never in force and has no status history.
        let negative = app
            .accreditation(&agency, &provider)
            .decision(Decision::Negative)
            .accreditation;
        app.store
            .insert_accreditation(&negative, &[])
            .await
            .expect("insert accreditation");
        let got = get(app, &negative.id).await;
        assert_eq!(got.decision, pb::Decision::Negative as i32);
        assert!(got.status_history.is_empty());
    }
);

both_backends!(
    list_accreditations_filters_by_provider_agency_decision_and_kind,
    async |app: &TestApp| {
        let first_agency = app.agency("First Agency", "IE").await;
        let second_agency = app.agency("Second Agency", "NL").await;
        let first = app.provider("First Provider").insert().await;
        let second = app.provider("Second Provider").insert().await;
        let a1 = app
            .accreditation(&first_agency, &first)
            .insert()
            .await
            .accreditation
            .id;
        let a2 = app
            .accreditation(&first_agency, &second)
            .kind(AccreditationKind::ProgrammeAccreditation)
            .decision(Decision::PositiveWithConditions)
            .insert()
            .await
            .accreditation
            .id;
        let a3 = app
            .accreditation(&second_agency, &first)
            .kind(AccreditationKind::Licensing)
            .decision(Decision::Negative)
            .insert()
            .await
            .accreditation
            .id;
        let a4 = app
            .accreditation(&second_agency, &second)
            .insert()
            .await
            .accreditation
            .id;

        let all = pb::ListAccreditationsRequest::default();
        assert_eq!(
            accreditation_ids(app, all.clone()).await,
            sorted([&a1, &a2, &a3, &a4])
        );
        let by_provider = pb::ListAccreditationsRequest {
            provider_id: first.id.clone(),
            ..all.clone()
        };
        assert_eq!(accreditation_ids(app, by_provider).await, sorted([&a1, &a3]));
        let by_agency = pb::ListAccreditationsRequest {
            agency_id: second_agency.id.clone(),
            ..all.clone()
        };
        assert_eq!(accreditation_ids(app, by_agency).await, sorted([&a3, &a4]));
        let decision = |d: pb::Decision| pb::ListAccreditationsRequest {
            decision: d as i32,
            ..Default::default()
        };
        assert_eq!(
            accreditation_ids(app, decision(pb::Decision::Positive)).await,
            sorted([&a1, &a4])
        );
        assert_eq!(
            accreditation_ids(app, decision(pb::Decision::PositiveWithConditions)).await,
            [a2.clone()]
        );
        assert_eq!(
            accreditation_ids(app, decision(pb::Decision::Negative)).await,
            [a3.clone()]
        );
        let kind = |k: pb::AccreditationKind| pb::ListAccreditationsRequest {
            kind: k as i32,
            ..Default::default()
        };
        assert_eq!(
            accreditation_ids(app, kind(pb::AccreditationKind::InstitutionalReview)).await,
            sorted([&a1, &a4])
        );
        assert_eq!(
            accreditation_ids(app, kind(pb::AccreditationKind::Licensing)).await,
            [a3.clone()]
        );
        assert!(
            accreditation_ids(app, kind(pb::AccreditationKind::EmployerEndorsement))
                .await
                .is_empty()
        );
        let combined = pb::ListAccreditationsRequest {
            provider_id: second.id.clone(),
            ..kind(pb::AccreditationKind::InstitutionalReview)
        };
        assert_eq!(accreditation_ids(app, combined).await, [a4.clone()]);
        let none = pb::ListAccreditationsRequest {
            agency_id: first_agency.id.clone(),
            ..decision(pb::Decision::Negative)
        };
        assert!(accreditation_ids(app, none).await.is_empty());
    }
);

both_backends!(
    demo_status_histories_are_contiguous_and_end_open,
    async |app: &TestApp| {
        trust_registry::demo::load(&app.store)
            .await
            .expect("demo loads")
            .expect("store was empty");
        let all = app
            .catalogue
            .clone()
            .list_accreditations(pb::ListAccreditationsRequest {
                page_size: 500,
                ..Default::default()
            })
            .await
            .expect("ListAccreditations")
            .into_inner()
            .accreditations;
        assert_eq!(all.len(), 26);
        for accreditation in &all {
            let history = &accreditation.status_history;
            if accreditation.decision == pb::Decision::Negative as i32 {
                assert!(history.is_empty(), "{}", accreditation.id);
                continue;
            }
            assert!(!history.is_empty(), "{}", accreditation.id);
            assert_eq!(
                instant!(history[0].effective_from),
                instant!(accreditation.valid_from)
            );
            for pair in history.windows(2) {
                assert_eq!(
                    instant!(pair[0].effective_until),
                    instant!(pair[1].effective_from),
                    "{}",
                    accreditation.id
                );
                assert!(instant!(pair[0].effective_from) < instant!(pair[1].effective_from));
            }
            assert_eq!(
                history.last().expect("a period").effective_until,
                None,
                "{}",
                accreditation.id
            );
        }

        // The demo's one suspended certification (Inishfall's ISO 21001), read through the list
        // and by id alike.
        let suspended: Vec<_> = all
            .iter()
            .filter(|a| {
                a.status_history
                    .iter()
                    .any(|p| p.status == pb::AccreditationStatus::Suspended as i32)
            })
            .collect();
        assert_eq!(suspended.len(), 1);
        let listed = suspended[0];
        assert_eq!(*listed, get(app, &listed.id).await);
        let history: Vec<_> = listed
            .status_history
            .iter()
            .map(|p| (p.status, instant!(p.effective_from), instant!(p.effective_until)))
            .collect();
        assert_eq!(
            history,
            [
                (
                    pb::AccreditationStatus::Granted as i32,
                    Some(at("2022-01-01T00:00:00Z")),
                    Some(at("2024-03-01T00:00:00Z"))
                ),
                (
                    pb::AccreditationStatus::Suspended as i32,
                    Some(at("2024-03-01T00:00:00Z")),
                    Some(at("2024-06-01T00:00:00Z"))
                ),
                (
                    pb::AccreditationStatus::Reinstated as i32,
                    Some(at("2024-06-01T00:00:00Z")),
                    None
                ),
            ]
        );
        // Kolkheti's refused renewal has no stated end: the six-year rule applies.
        let refused: Vec<_> = all
            .iter()
            .filter(|a| a.decision == pb::Decision::Negative as i32)
            .collect();
        assert_eq!(refused.len(), 1);
        let refused = get(app, &refused[0].id).await;
        assert_eq!(instant!(refused.valid_from), Some(at("2024-07-01T00:00:00Z")));
        assert_eq!(refused.valid_until, None);
        assert_eq!(
            instant!(refused.effective_until),
            Some(at("2024-07-01T00:00:00Z").plus_six_years())
        );
    }
);

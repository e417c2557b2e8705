//! The accreditation side of the rule: validity (the DEQAR six-year rule included), status
//! histories, decisions, scopes and agency admission.

use super::*;
use crate::{both_backends, instant};

// ---------------------------------------------------------------------------------------------
// Validity

both_backends!(accreditation_validity_is_half_open, async |app: &TestApp| {
    let agency = app.agency("Harbour Quality Agency", "IE").await;
    let provider = app
        .provider("Harbour College")
        .name("ga", "Coláiste an Chuain")
        .insert()
        .await;
    let record = app
        .accreditation(&agency, &provider)
        .valid("2021-01-01T00:00:00Z", Some("2024-01-01T00:00:00Z"))
        .eqf_levels(&[5, 6])
        .insert()
        .await;
    let id = record.accreditation.id.as_str();

    let early = check(
        app,
        by_provider(&provider).at_instant(just_before("2021-01-01T00:00:00Z")),
    )
    .await;
    expect_about(&early, &[(R::AccreditationNotYetValid, id)]);
    assert!(listed(&early).is_empty());
    assert_eq!(next_update(&early), Some(at("2021-01-01T00:00:00Z")));

    // Valid at valid_from exactly, with everything a verdict says about the accreditation.
    let first = check(app, by_provider(&provider).at("2021-01-01T00:00:00Z")).await;
    expect(&first, Trusted, &[]);
    assert_eq!(listed(&first), vec![id]);
    let a = &first.accreditations[0];
    assert_eq!(a.agency_id, agency.id);
    assert_eq!(a.agency_names[0].value, "Harbour Quality Agency");
    assert_eq!(a.kind(), pb::AccreditationKind::InstitutionalReview);
    assert_eq!(a.decision(), pb::Decision::Positive);
    assert_eq!(a.status(), pb::AccreditationStatus::Granted);
    assert_eq!(instant!(a.valid_from), Some(at("2021-01-01T00:00:00Z")));
    assert_eq!(instant!(a.effective_until), Some(at("2024-01-01T00:00:00Z")));
    assert_eq!(a.scope.as_ref().unwrap().eqf_levels, vec![5, 6]);
    let summary = first.provider.as_ref().unwrap();
    assert_eq!(summary.id, provider.id);
    assert_eq!(summary.country, "IE");
    assert_eq!(summary.kind(), pb::ProviderKind::HigherEducation);
    assert_eq!(summary.names.len(), 2);
    assert_eq!(first.key, None, "no key was named");
    assert_eq!(next_update(&first), Some(at("2024-01-01T00:00:00Z")));

    let last = check(
        app,
        by_provider(&provider).at_instant(just_before("2024-01-01T00:00:00Z")),
    )
    .await;
    expect(&last, Trusted, &[]);
    assert_eq!(next_update(&last), Some(at("2024-01-01T00:00:00Z")));

    // Not valid at valid_until exactly, nor after.
    for t in ["2024-01-01T00:00:00Z", "2025-06-01T00:00:00Z"] {
        let expired = check(app, by_provider(&provider).at(t)).await;
        expect_about(&expired, &[(R::AccreditationExpired, id)]);
        assert!(listed(&expired).is_empty());
        assert_eq!(expired.provider.as_ref().unwrap().id, provider.id);
        assert_eq!(next_update(&expired), None, "nothing changes any more");
    }
});

both_backends!(
    deqar_six_years_apply_without_valid_until,
    async |app: &TestApp| {
        let agency = app.agency("Leap Quality Agency", "IE").await;
        // From 29 February: six calendar years later is 28 February (not 6 x 365.25 days).
        let leap = app.provider("Leap Day College").insert().await;
        let leap_id = app
            .accreditation(&agency, &leap)
            .valid("2020-02-29T10:00:00Z", None)
            .insert()
            .await
            .accreditation
            .id;
        let end = at("2026-02-28T10:00:00Z");
        assert_eq!(at("2020-02-29T10:00:00Z").plus_six_years(), end);
        let inside = check(
            app,
            by_provider(&leap).at_instant(Timestamp::from_micros(end.as_micros() - 1)),
        )
        .await;
        expect(&inside, Trusted, &[]);
        assert_eq!(instant!(inside.accreditations[0].effective_until), Some(end));
        assert_eq!(next_update(&inside), Some(end));
        let at_end = check(app, by_provider(&leap).at("2026-02-28T10:00:00Z")).await;
        expect_about(&at_end, &[(R::AccreditationExpired, &leap_id)]);

        let summer = app.provider("Summer College").insert().await;
        let summer_id = app
            .accreditation(&agency, &summer)
            .valid("2021-07-01T00:00:00Z", None)
            .insert()
            .await
            .accreditation
            .id;
        let before_end = check(app, by_provider(&summer).at("2027-06-30T23:59:59Z")).await;
        expect(&before_end, Trusted, &[]);
        assert_eq!(
            instant!(before_end.accreditations[0].effective_until),
            Some(at("2027-07-01T00:00:00Z"))
        );
        assert_eq!(next_update(&before_end), Some(at("2027-07-01T00:00:00Z")));
        let after_end = check(app, by_provider(&summer).at("2027-07-01T00:00:00Z")).await;
        expect_about(&after_end, &[(R::AccreditationExpired, &summer_id)]);
    }
);

// ---------------------------------------------------------------------------------------------
// Status histories

both_backends!(
    suspension_is_half_open_and_reinstatement_restores_trust,
    async |app: &TestApp| {
        let agency = app.agency("Harbour Quality Agency", "IE").await;
        let provider = app.provider("Harbour College").insert().await;
        let id = app
            .accreditation(&agency, &provider)
            .valid("2021-01-01T00:00:00Z", Some("2028-01-01T00:00:00Z"))
            .status(
                S::Granted,
                "2021-01-01T00:00:00Z",
                Some("2024-03-01T00:00:00Z"),
                "",
            )
            .status(
                S::Suspended,
                "2024-03-01T00:00:00Z",
                Some("2024-06-01T00:00:00Z"),
                "complaint under review",
            )
            .status(S::Reinstated, "2024-06-01T00:00:00Z", None, "complaint dismissed")
            .insert()
            .await
            .accreditation
            .id;
        let ask = |t: Timestamp| by_provider(&provider).at_instant(t);

        let before = check(app, ask(at("2024-02-01T00:00:00Z"))).await;
        expect(&before, Trusted, &[]);
        assert_eq!(
            before.accreditations[0].status(),
            pb::AccreditationStatus::Granted
        );
        assert_eq!(next_update(&before), Some(at("2024-03-01T00:00:00Z")));
        let last_granted = check(app, ask(just_before("2024-03-01T00:00:00Z"))).await;
        expect(&last_granted, Trusted, &[]);
        assert_eq!(next_update(&last_granted), Some(at("2024-03-01T00:00:00Z")));

        // The start of the suspension is suspended; its last instant too.
        for t in [
            at("2024-03-01T00:00:00Z"),
            at("2024-04-15T12:00:00Z"),
            just_before("2024-06-01T00:00:00Z"),
        ] {
            let suspended = check(app, ask(t)).await;
            expect_about(&suspended, &[(R::AccreditationSuspended, &id)]);
            assert!(suspended.reasons[0].message.contains("complaint under review"));
            assert!(listed(&suspended).is_empty());
            assert_eq!(next_update(&suspended), Some(at("2024-06-01T00:00:00Z")));
        }

        // The end of the suspension is reinstated.
        let reinstated = check(app, ask(at("2024-06-01T00:00:00Z"))).await;
        expect(&reinstated, Trusted, &[]);
        assert_eq!(listed(&reinstated), vec![id.as_str()]);
        assert_eq!(
            reinstated.accreditations[0].status(),
            pb::AccreditationStatus::Reinstated
        );
        assert_eq!(next_update(&reinstated), Some(at("2028-01-01T00:00:00Z")));
        let later = check(app, ask(at("2026-01-01T00:00:00Z"))).await;
        expect(&later, Trusted, &[]);

        // A suspension of one accreditation does not hide another in force.
        let second = app.agency("Second Quality Agency", "IE").await;
        let other = app
            .accreditation(&second, &provider)
            .valid("2022-01-01T00:00:00Z", Some("2027-01-01T00:00:00Z"))
            .insert()
            .await
            .accreditation
            .id;
        let covered = check(app, ask(at("2024-04-15T12:00:00Z"))).await;
        expect(&covered, Trusted, &[]);
        assert_eq!(listed(&covered), vec![other.as_str()]);
        assert_eq!(next_update(&covered), Some(at("2024-06-01T00:00:00Z")));
    }
);

both_backends!(withdrawal_ends_trust_from_its_instant, async |app: &TestApp| {
    let (agency_key, p1) = (key("agency"), key("provider"));
    app.admit_agency("Harbour Quality Agency", "IE", &agency_key)
        .await;
    let provider_id = app
        .register_provider(&agency_key, "Harbour College", "IE", &p1)
        .await;
    let record = pb::RecordAccreditationCommand {
        header: header(),
        provider_id: provider_id.clone(),
        kind: pb::AccreditationKind::ProgrammeAccreditation as i32,
        decision: pb::Decision::Positive as i32,
        scope: Some(pb::AccreditationScope::default()),
        valid_from: Some(timestamp(at("2021-01-01T00:00:00Z"))),
        valid_until: Some(timestamp(at("2031-01-01T00:00:00Z"))),
        ..Default::default()
    };
    let id = app.record_accreditation(&agency_key, &record).await.id;
    let withdraw = pb::ChangeAccreditationStatusCommand {
        header: header(),
        accreditation_id: id.clone(),
        status: pb::AccreditationStatus::Withdrawn as i32,
        effective_at: Some(timestamp(at("2025-01-01T00:00:00Z"))),
        reason: "provider closed the programme".into(),
    };
    app.accreditations()
        .change_accreditation_status(pb::ChangeAccreditationStatusRequest {
            envelope: envelope(
                &agency_key,
                "AccreditationService",
                "ChangeAccreditationStatus",
                &withdraw,
            ),
        })
        .await
        .expect("ChangeAccreditationStatus");
    let ask = |t: Timestamp| issuer(Issuer::ProviderId(provider_id.clone())).at_instant(t);

    // Withdrawn after T: T is still covered.
    for t in [at("2024-06-01T00:00:00Z"), just_before("2025-01-01T00:00:00Z")] {
        let trusted = check(app, ask(t)).await;
        expect(&trusted, Trusted, &[]);
        assert_eq!(listed(&trusted), vec![id.as_str()]);
        assert_eq!(
            trusted.accreditations[0].kind(),
            pb::AccreditationKind::ProgrammeAccreditation
        );
        assert_eq!(next_update(&trusted), Some(at("2025-01-01T00:00:00Z")));
    }
    for t in [at("2025-01-01T00:00:00Z"), at("2030-01-01T00:00:00Z")] {
        let withdrawn = check(app, ask(t)).await;
        expect_about(&withdrawn, &[(R::AccreditationWithdrawn, &id)]);
        assert!(
            withdrawn.reasons[0]
                .message
                .contains("provider closed the programme")
        );
        assert!(listed(&withdrawn).is_empty());
        assert_eq!(next_update(&withdrawn), Some(at("2031-01-01T00:00:00Z")));
    }
});

both_backends!(
    negative_decisions_and_missing_accreditations,
    async |app: &TestApp| {
        let agency = app.agency("Harbour Quality Agency", "IE").await;
        let second = app.agency("Second Quality Agency", "IE").await;
        let t = "2024-01-01T00:00:00Z";

        let refused = app.provider("Refused College").insert().await;
        let negative = app
            .accreditation(&agency, &refused)
            .decision(Decision::Negative)
            .insert()
            .await
            .accreditation
            .id;
        let v = check(app, by_provider(&refused).at(t)).await;
        expect_about(&v, &[(R::NegativeDecision, &negative)]);
        assert!(listed(&v).is_empty());

        let unaccredited = app.provider("Unaccredited College").insert().await;
        let v = check(app, by_provider(&unaccredited).at(t)).await;
        expect(&v, NotTrusted, &[R::NoAccreditation]);
        assert_eq!(v.reasons[0].accreditation_id, "");
        assert_eq!(resolved(&v), unaccredited.id);
        assert_eq!(next_update(&v), None);

        // A positive decision (with conditions) by another agency is enough on its own.
        let mixed = app.provider("Mixed College").insert().await;
        app.accreditation(&agency, &mixed)
            .decision(Decision::Negative)
            .insert()
            .await;
        let conditional = app
            .accreditation(&second, &mixed)
            .decision(Decision::PositiveWithConditions)
            .insert()
            .await
            .accreditation
            .id;
        let v = check(app, by_provider(&mixed).at(t)).await;
        expect(&v, Trusted, &[]);
        assert_eq!(listed(&v), vec![conditional.as_str()]);
        assert_eq!(
            v.accreditations[0].decision(),
            pb::Decision::PositiveWithConditions
        );
        assert_eq!(v.accreditations[0].agency_id, second.id);
    }
);

// ---------------------------------------------------------------------------------------------
// Scope

both_backends!(
    scope_levels_types_fields_and_jurisdictions,
    async |app: &TestApp| {
        let agency = app.agency("Harbour Quality Agency", "IE").await;
        let provider = app.provider("Harbour College").insert().await;
        let broad = isced("06");
        let id = app
            .accreditation(&agency, &provider)
            .eqf_levels(&[5, 6])
            .credential_types(&[MICRO])
            .fields_of_study(&[broad.as_str()])
            .jurisdictions(&["IE"])
            .insert()
            .await
            .accreditation
            .id;
        let ask = |s: pb::TrustScope| by_provider(&provider).at("2024-01-01T00:00:00Z").scope(s);

        // In scope: TRUSTED with the accreditation and its scope listed.
        for in_scope in [
            scope(Some(6), MICRO, &isced("0613"), "IE"),
            scope(Some(5), MICRO, &isced("061"), "IE"),
            scope(Some(6), MICRO, &isced("06"), "IE"),
            scope(None, "", "", ""),
            scope(Some(5), "", "", ""),
        ] {
            let v = check(app, ask(in_scope.clone())).await;
            expect(&v, Trusted, &[]);
            assert_eq!(listed(&v), vec![id.as_str()], "{in_scope:?}");
            let listed_scope = v.accreditations[0].scope.as_ref().unwrap();
            assert_eq!(listed_scope.eqf_levels, vec![5, 6]);
            assert_eq!(listed_scope.credential_types, vec![MICRO.to_owned()]);
            assert_eq!(listed_scope.fields_of_study, vec![broad.clone()]);
            assert_eq!(listed_scope.jurisdictions, vec!["IE".to_owned()]);
        }

        // Each dimension out of scope on its own.
        for out in [
            scope(Some(7), MICRO, &isced("0613"), "IE"),
            scope(Some(4), "", "", ""),
            scope(Some(6), OTHER_TYPE, &isced("0613"), "IE"),
            scope(Some(6), MICRO, &isced("0913"), "IE"),
            scope(Some(6), MICRO, &isced("07"), "IE"),
            scope(Some(6), MICRO, "http://example.org/isced-f/0613", "IE"),
            scope(Some(6), MICRO, &isced("0613"), "FR"),
            scope(None, "", "", "FR"),
        ] {
            let v = check(app, ask(out.clone())).await;
            expect_about(&v, &[(R::OutOfScope, &id)]);
            assert!(listed(&v).is_empty(), "{out:?}");
        }

        // Another accreditation covering what the first does not.
        let second = app.agency("Second Quality Agency", "IE").await;
        let level_7 = app
            .accreditation(&second, &provider)
            .eqf_levels(&[7])
            .insert()
            .await
            .accreditation
            .id;
        let v = check(app, ask(scope(Some(7), MICRO, &isced("0613"), "IE"))).await;
        expect(&v, Trusted, &[]);
        assert_eq!(listed(&v), vec![level_7.as_str()]);
        let v = check(app, ask(scope(Some(8), "", "", ""))).await;
        expect_about(&v, &[(R::OutOfScope, &id), (R::OutOfScope, &level_7)]);
    }
);

// ---------------------------------------------------------------------------------------------
// Agencies

both_backends!(retired_agencies_decisions_stop_counting, async |app: &TestApp| {
    let retired = app
        .qa_agency("Retired Quality Agency", "IE")
        .retired("2023-01-01T00:00:00Z")
        .insert()
        .await;
    let provider = app.provider("Harbour College").insert().await;
    let id = app
        .accreditation(&retired, &provider)
        .valid("2021-01-01T00:00:00Z", Some("2027-01-01T00:00:00Z"))
        .insert()
        .await
        .accreditation
        .id;
    for t in [at("2022-01-01T00:00:00Z"), just_before("2023-01-01T00:00:00Z")] {
        let v = check(app, by_provider(&provider).at_instant(t)).await;
        expect(&v, Trusted, &[]);
        assert_eq!(listed(&v), vec![id.as_str()]);
        assert_eq!(next_update(&v), Some(at("2023-01-01T00:00:00Z")));
    }
    for t in ["2023-01-01T00:00:00Z", "2024-06-01T00:00:00Z"] {
        let v = check(app, by_provider(&provider).at(t)).await;
        expect_about(&v, &[(R::AgencyNotAdmitted, &id)]);
        assert!(listed(&v).is_empty());
        assert_eq!(next_update(&v), Some(at("2027-01-01T00:00:00Z")));
    }

    // Before its admission an agency's decisions do not count either.
    let late = app
        .qa_agency("Late Quality Agency", "IE")
        .admitted("2021-06-01T00:00:00Z")
        .insert()
        .await;
    let early = app.provider("Early College").insert().await;
    let early_id = app
        .accreditation(&late, &early)
        .valid("2021-01-01T00:00:00Z", Some("2027-01-01T00:00:00Z"))
        .insert()
        .await
        .accreditation
        .id;
    let v = check(app, by_provider(&early).at("2021-03-01T00:00:00Z")).await;
    expect_about(&v, &[(R::AgencyNotAdmitted, &early_id)]);
    assert_eq!(next_update(&v), Some(at("2021-06-01T00:00:00Z")));
    let v = check(app, by_provider(&early).at("2021-06-01T00:00:00Z")).await;
    expect(&v, Trusted, &[]);
});

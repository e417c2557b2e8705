//! GetProvider and SearchProviders through a real gRPC channel, on SQLite and PostgreSQL.

mod common;

use common::TestApp;
use common::builders::at;
use common::checks::sorted;
use trust_registry::domain::Timestamp;
use trust_registry::domain::enums::*;
use trust_registry::domain::keys;
use trust_registry::pb;

/// Ids of the providers matching `request`, which must all fit on one page.
async fn provider_ids(app: &TestApp, request: pb::SearchProvidersRequest) -> Vec<String> {
    let answer = app
        .catalogue
        .clone()
        .search_providers(request)
        .await
        .expect("SearchProviders")
        .into_inner();
    assert!(
        answer.next_page_token.is_empty(),
        "every match fits on the first page"
    );
    answer.providers.into_iter().map(|p| p.id).collect()
}

fn text(text: &str) -> pb::SearchProvidersRequest {
    pb::SearchProvidersRequest {
        text: text.into(),
        ..Default::default()
    }
}

fn accredited_at(t: Timestamp) -> pb::SearchProvidersRequest {
    let mut request = pb::SearchProvidersRequest::default();
    let (seconds, nanos) = t.to_seconds_nanos();
    let mut stamp = request.accredited_at.take().unwrap_or_default();
    stamp.seconds = seconds;
    stamp.nanos = nanos;
    request.accredited_at = Some(stamp);
    request
}

/// Ids of the providers accredited at `t` (RFC 3339 or an instant).
async fn accredited(app: &TestApp, t: Timestamp) -> Vec<String> {
    provider_ids(app, accredited_at(t)).await
}

fn just_before(t: &str) -> Timestamp {
    Timestamp::from_micros(at(t).as_micros() - 1)
}

both_backends!(
    get_provider_returns_names_identifiers_and_own_keys,
    async |app: &TestApp| {
        let quay = app
            .provider("Quayside Institute")
            .name("ga", "Institiúid na Cé")
            .kind(ProviderKind::NonFormal)
            .identifier(IdentifierScheme::Deqar, "DEMO-Q-1")
            .identifier(IdentifierScheme::WebsiteDomain, "quayside.example")
            .key([7; 32], at("2021-01-01T00:00:00Z"))
            .insert()
            .await;
        let other = app
            .provider("Other Institute")
            .key([8; 32], at("2022-01-01T00:00:00Z"))
            .insert()
            .await;

        let mut client = app.catalogue.clone();
        let got = client
            .get_provider(pb::GetProviderRequest { id: quay.id.clone() })
            .await
            .expect("GetProvider")
            .into_inner()
            .provider
            .expect("provider");
        assert_eq!(got.id, quay.id);
        let names: Vec<_> = got
            .names
            .iter()
            .map(|n| (n.language.as_str(), n.value.as_str()))
            .collect();
        assert_eq!(names, [("en", "Quayside Institute"), ("ga", "Institiúid na Cé")]);
        assert_eq!(got.country, "IE");
        assert_eq!(got.kind, pb::ProviderKind::NonFormal as i32);
        let identifiers: Vec<_> = got
            .identifiers
            .iter()
            .map(|i| (i.scheme, i.value.as_str()))
            .collect();
        assert_eq!(
            identifiers,
            [
                (pb::IdentifierScheme::Deqar as i32, "DEMO-Q-1"),
                (pb::IdentifierScheme::WebsiteDomain as i32, "quayside.example")
            ]
        );
        assert_eq!(instant!(got.registered_at), Some(at("2020-06-01T00:00:00Z")));
        assert_eq!(got.keys.len(), 1, "only the provider's own key: {:?}", got.keys);
        let key = &got.keys[0];
        assert_eq!(key.public_key, vec![7u8; 32]);
        assert_eq!(key.key_id, keys::key_id(&[7; 32]));
        assert_eq!(key.public_key_multibase, keys::multibase(&[7; 32]));
        assert_eq!(instant!(key.valid_from), Some(at("2021-01-01T00:00:00Z")));
        assert_eq!(key.valid_until, None);
        assert_eq!(key.revoked_at, None);

        let got_other = client
            .get_provider(pb::GetProviderRequest { id: other.id.clone() })
            .await
            .expect("GetProvider")
            .into_inner()
            .provider
            .expect("provider");
        assert_eq!(got_other.keys.len(), 1);
        assert_eq!(got_other.keys[0].public_key, vec![8u8; 32]);
    }
);

both_backends!(
    search_providers_text_is_a_case_insensitive_literal_substring,
    async |app: &TestApp| {
        let data = app
            .provider("Northside Data Institute")
            .name("ka", "მონაცემთა ინსტიტუტი")
            .insert()
            .await;
        let lumiere = app
            .provider("Lumière Institute")
            .name("fr", "Université Lumière")
            .insert()
            .await;
        let percent = app.provider("100% Skills_Lab").insert().await;
        let decoy = app.provider("1000 SkillsXLab").insert().await;
        let backslash = app.provider("Back\\slash Academy").insert().await;

        let all = provider_ids(app, text("")).await;
        assert_eq!(
            all,
            sorted([&data.id, &lumiere.id, &percent.id, &decoy.id, &backslash.id])
        );

        assert_eq!(provider_ids(app, text("DATA institute")).await, [data.id.clone()]);
        assert_eq!(
            provider_ids(app, text("  data institute  ")).await,
            [data.id.clone()]
        );
        // A Georgian name matches as well as the English one.
        assert_eq!(provider_ids(app, text("ინსტიტუტი")).await, [data.id.clone()]);
        assert_eq!(provider_ids(app, text("მონაცემთა")).await, [data.id.clone()]);
        // Case folding beyond ASCII: "UNIVERSITÉ" finds "Université".
        assert_eq!(provider_ids(app, text("UNIVERSITÉ")).await, [lumiere.id.clone()]);
        assert_eq!(provider_ids(app, text("lumière")).await, [lumiere.id.clone()]);
        assert_eq!(
            provider_ids(app, text("institute")).await,
            sorted([&data.id, &lumiere.id])
        );
        // LIKE wildcards in the text are literal characters: "100%" is not "100 followed by
        // anything" and "s_l" is not "s, any character, l" (which would find "SkillsXLab").
        assert_eq!(provider_ids(app, text("100%")).await, [percent.id.clone()]);
        assert_eq!(provider_ids(app, text("%")).await, [percent.id.clone()]);
        assert_eq!(provider_ids(app, text("s_l")).await, [percent.id.clone()]);
        assert_eq!(provider_ids(app, text("_")).await, [percent.id.clone()]);
        assert_eq!(provider_ids(app, text("sxl")).await, [decoy.id.clone()]);
        assert_eq!(provider_ids(app, text("k\\s")).await, [backslash.id.clone()]);
        assert_eq!(provider_ids(app, text("\\")).await, [backslash.id.clone()]);
        assert!(provider_ids(app, text("no such provider")).await.is_empty());
    }
);

both_backends!(
    search_providers_by_country_kind_and_identifier,
    async |app: &TestApp| {
        let ie_he = app
            .provider("Irish University")
            .country("IE")
            .kind(ProviderKind::HigherEducation)
            .identifier(IdentifierScheme::Deqar, "DEMO-1")
            .insert()
            .await;
        let ie_vet = app
            .provider("Irish College")
            .country("IE")
            .kind(ProviderKind::VocationalEducation)
            .identifier(IdentifierScheme::NationalRegister, "DEMO-1")
            .insert()
            .await;
        let ge_he = app
            .provider("Georgian University")
            .country("GE")
            .kind(ProviderKind::HigherEducation)
            .identifier(IdentifierScheme::Deqar, "DEMO-2")
            .identifier(IdentifierScheme::WebsiteDomain, "georgian-university.example")
            .insert()
            .await;

        let country = |c: &str| pb::SearchProvidersRequest {
            country: c.into(),
            ..Default::default()
        };
        assert_eq!(
            provider_ids(app, country("IE")).await,
            sorted([&ie_he.id, &ie_vet.id])
        );
        assert_eq!(
            provider_ids(app, country("ie")).await,
            sorted([&ie_he.id, &ie_vet.id])
        );
        assert_eq!(provider_ids(app, country("GE")).await, [ge_he.id.clone()]);
        assert!(provider_ids(app, country("FR")).await.is_empty());

        let kind = |k: pb::ProviderKind| pb::SearchProvidersRequest {
            kind: k as i32,
            ..Default::default()
        };
        assert_eq!(
            provider_ids(app, kind(pb::ProviderKind::HigherEducation)).await,
            sorted([&ie_he.id, &ge_he.id])
        );
        assert_eq!(
            provider_ids(app, kind(pb::ProviderKind::VocationalEducation)).await,
            [ie_vet.id.clone()]
        );
        assert!(
            provider_ids(app, kind(pb::ProviderKind::Company))
                .await
                .is_empty()
        );
        let both = pb::SearchProvidersRequest {
            country: "IE".into(),
            kind: pb::ProviderKind::HigherEducation as i32,
            ..Default::default()
        };
        assert_eq!(provider_ids(app, both).await, [ie_he.id.clone()]);
        let with_text = pb::SearchProvidersRequest {
            country: "GE".into(),
            text: "irish".into(),
            ..Default::default()
        };
        assert!(provider_ids(app, with_text).await.is_empty());

        let identifier = |scheme: pb::IdentifierScheme, value: &str| pb::SearchProvidersRequest {
            identifier_scheme: scheme as i32,
            identifier_value: value.into(),
            ..Default::default()
        };
        // The same value in another scheme is another identifier.
        assert_eq!(
            provider_ids(app, identifier(pb::IdentifierScheme::Deqar, "DEMO-1")).await,
            [ie_he.id.clone()]
        );
        assert_eq!(
            provider_ids(app, identifier(pb::IdentifierScheme::NationalRegister, "DEMO-1")).await,
            [ie_vet.id.clone()]
        );
        assert_eq!(
            provider_ids(
                app,
                identifier(pb::IdentifierScheme::WebsiteDomain, "georgian-university.example")
            )
            .await,
            [ge_he.id.clone()]
        );
        // The value is matched whole, not as a substring.
        assert!(
            provider_ids(app, identifier(pb::IdentifierScheme::Deqar, "DEMO"))
                .await
                .is_empty()
        );
        assert!(
            provider_ids(app, identifier(pb::IdentifierScheme::Lei, "DEMO-1"))
                .await
                .is_empty()
        );
    }
);

both_backends!(
    accredited_at_leaves_out_expired_withdrawn_and_negative_decisions,
    async |app: &TestApp| {
        let agency = app.agency("Agency", "IE").await;
        let current = app.provider("Current").insert().await;
        app.accreditation(&agency, &current)
            .valid("2021-01-01T00:00:00Z", Some("2027-01-01T00:00:00Z"))
            .insert()
            .await;
        let conditions = app.provider("With Conditions").insert().await;
        app.accreditation(&agency, &conditions)
            .decision(Decision::PositiveWithConditions)
            .valid("2021-01-01T00:00:00Z", Some("2028-01-01T00:00:00Z"))
            .insert()
            .await;
        let expired = app.provider("Expired").insert().await;
        app.accreditation(&agency, &expired)
            .valid("2020-01-01T00:00:00Z", Some("2023-01-01T00:00:00Z"))
            .insert()
            .await;
        let withdrawn = app.provider("Withdrawn").insert().await;
        app.accreditation(&agency, &withdrawn)
            .valid("2021-01-01T00:00:00Z", Some("2028-01-01T00:00:00Z"))
            .status(
                AccreditationStatus::Granted,
                "2021-01-01T00:00:00Z",
                Some("2024-02-01T00:00:00Z"),
                "granted",
            )
            .status(
                AccreditationStatus::Withdrawn,
                "2024-02-01T00:00:00Z",
                None,
                "malpractice",
            )
            .insert()
            .await;
        // A negative decision with (unusually) a granted period: the decision alone keeps it out.
        let negative = app.provider("Negative").insert().await;
        app.accreditation(&agency, &negative)
            .decision(Decision::Negative)
            .valid("2021-01-01T00:00:00Z", Some("2028-01-01T00:00:00Z"))
            .insert()
            .await;
        let never = app.provider("Never Accredited").insert().await;
        let georgian = app.provider("Georgian Current").country("GE").insert().await;
        app.accreditation(&agency, &georgian)
            .valid("2021-01-01T00:00:00Z", None)
            .insert()
            .await;

        assert_eq!(
            provider_ids(app, text("")).await,
            sorted([
                &current.id,
                &conditions.id,
                &expired.id,
                &withdrawn.id,
                &negative.id,
                &never.id,
                &georgian.id
            ])
        );
        assert_eq!(
            accredited(app, at("2022-06-01T00:00:00Z")).await,
            sorted([
                &current.id,
                &conditions.id,
                &expired.id,
                &withdrawn.id,
                &georgian.id
            ])
        );
        assert_eq!(
            accredited(app, at("2024-04-15T00:00:00Z")).await,
            sorted([&current.id, &conditions.id, &georgian.id])
        );
        assert!(
            accredited(app, at("2024-01-31T00:00:00Z"))
                .await
                .contains(&withdrawn.id)
        );
        assert!(accredited(app, at("2019-06-01T00:00:00Z")).await.is_empty());

        let mut in_ireland = accredited_at(at("2024-04-15T00:00:00Z"));
        in_ireland.country = "IE".into();
        assert_eq!(
            provider_ids(app, in_ireland).await,
            sorted([&current.id, &conditions.id])
        );
    }
);

both_backends!(
    accredited_at_follows_suspension_and_reinstatement,
    async |app: &TestApp| {
        let agency = app.agency("Agency", "IE").await;
        let control = app.provider("Always Accredited").insert().await;
        app.accreditation(&agency, &control)
            .valid("2021-01-01T00:00:00Z", Some("2028-01-01T00:00:00Z"))
            .insert()
            .await;
        let suspended = app.provider("Suspended For A While").insert().await;
        app.accreditation(&agency, &suspended)
            .valid("2021-01-01T00:00:00Z", Some("2028-01-01T00:00:00Z"))
            .status(
                AccreditationStatus::Granted,
                "2021-01-01T00:00:00Z",
                Some("2024-03-01T00:00:00Z"),
                "granted",
            )
            .status(
                AccreditationStatus::Suspended,
                "2024-03-01T00:00:00Z",
                Some("2024-06-01T00:00:00Z"),
                "audit",
            )
            .status(
                AccreditationStatus::Reinstated,
                "2024-06-01T00:00:00Z",
                None,
                "closed",
            )
            .insert()
            .await;

        let both = sorted([&control.id, &suspended.id]);
        let only_control = vec![control.id.clone()];
        assert_eq!(accredited(app, at("2023-01-01T00:00:00Z")).await, both);
        assert_eq!(accredited(app, just_before("2024-03-01T00:00:00Z")).await, both);
        // The suspension starts at its first instant.
        assert_eq!(accredited(app, at("2024-03-01T00:00:00Z")).await, only_control);
        assert_eq!(accredited(app, at("2024-04-15T12:00:00Z")).await, only_control);
        assert_eq!(
            accredited(app, just_before("2024-06-01T00:00:00Z")).await,
            only_control
        );
        // Reinstated from its first instant, with no end.
        assert_eq!(accredited(app, at("2024-06-01T00:00:00Z")).await, both);
        assert_eq!(accredited(app, at("2027-06-01T00:00:00Z")).await, both);
        assert!(accredited(app, at("2028-01-01T00:00:00Z")).await.is_empty());
    }
);

both_backends!(
    accredited_at_applies_the_six_year_rule_without_valid_until,
    async |app: &TestApp| {
        let agency = app.agency("Agency", "IE").await;
        let open_ended = app.provider("Open Ended").insert().await;
        app.accreditation(&agency, &open_ended)
            .valid("2019-03-01T00:00:00Z", None)
            .insert()
            .await;
        let stated = app.provider("Stated End").insert().await;
        app.accreditation(&agency, &stated)
            .valid("2019-03-01T00:00:00Z", Some("2030-01-01T00:00:00Z"))
            .insert()
            .await;

        let listed = app
            .catalogue
            .clone()
            .list_accreditations(pb::ListAccreditationsRequest {
                provider_id: open_ended.id.clone(),
                ..Default::default()
            })
            .await
            .expect("ListAccreditations")
            .into_inner()
            .accreditations;
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].valid_until, None, "no end was decided");
        let effective_until = instant!(listed[0].effective_until).expect("effective_until is always set");
        assert_eq!(effective_until, at("2019-03-01T00:00:00Z").plus_six_years());
        assert!(
            (at("2025-02-27T00:00:00Z")..at("2025-03-02T00:00:00Z")).contains(&effective_until),
            "about six years: {}",
            effective_until.to_rfc3339()
        );

        let both = sorted([&open_ended.id, &stated.id]);
        assert_eq!(accredited(app, at("2024-12-01T00:00:00Z")).await, both);
        let last_instant = Timestamp::from_micros(effective_until.as_micros() - 1);
        assert_eq!(accredited(app, last_instant).await, both);
        assert_eq!(accredited(app, effective_until).await, [stated.id.clone()]);
        assert_eq!(
            accredited(app, at("2025-06-01T00:00:00Z")).await,
            [stated.id.clone()]
        );
    }
);

both_backends!(
    accredited_at_needs_an_agency_admitted_and_not_retired,
    async |app: &TestApp| {
        let retiring = app
            .qa_agency("Retiring Agency", "DE")
            .admitted("2019-01-01T00:00:00Z")
            .retired("2024-12-31T00:00:00Z")
            .insert()
            .await;
        let late = app
            .qa_agency("Late Agency", "IE")
            .admitted("2023-01-01T00:00:00Z")
            .insert()
            .await;
        let by_retiring = app.provider("Accredited By Retiring").insert().await;
        app.accreditation(&retiring, &by_retiring)
            .valid("2021-01-01T00:00:00Z", Some("2028-01-01T00:00:00Z"))
            .insert()
            .await;
        let by_late = app.provider("Accredited By Late").insert().await;
        app.accreditation(&late, &by_late)
            .valid("2021-01-01T00:00:00Z", Some("2028-01-01T00:00:00Z"))
            .insert()
            .await;

        // Before its admission an agency's decisions do not count.
        assert_eq!(
            accredited(app, at("2022-06-01T00:00:00Z")).await,
            [by_retiring.id.clone()]
        );
        assert_eq!(
            accredited(app, just_before("2023-01-01T00:00:00Z")).await,
            [by_retiring.id.clone()]
        );
        let both = sorted([&by_retiring.id, &by_late.id]);
        assert_eq!(accredited(app, at("2023-01-01T00:00:00Z")).await, both);
        assert_eq!(accredited(app, just_before("2024-12-31T00:00:00Z")).await, both);
        // From its retirement on, they do not count either, though the accreditation runs to 2028.
        assert_eq!(
            accredited(app, at("2024-12-31T00:00:00Z")).await,
            [by_late.id.clone()]
        );
        assert_eq!(
            accredited(app, at("2025-06-01T00:00:00Z")).await,
            [by_late.id.clone()]
        );
    }
);

both_backends!(
    accredited_at_validity_bounds_are_half_open,
    async |app: &TestApp| {
        let agency = app.agency("Agency", "IE").await;
        let provider = app.provider("Bounded").insert().await;
        // The granted period is wider than the validity, so only the validity bounds decide.
        app.accreditation(&agency, &provider)
            .valid("2022-01-01T00:00:00Z", Some("2026-01-01T00:00:00Z"))
            .status(
                AccreditationStatus::Granted,
                "2021-01-01T00:00:00Z",
                None,
                "granted",
            )
            .insert()
            .await;

        let only = vec![provider.id.clone()];
        assert!(
            accredited(app, just_before("2022-01-01T00:00:00Z"))
                .await
                .is_empty()
        );
        assert_eq!(
            accredited(app, at("2022-01-01T00:00:00Z")).await,
            only,
            "valid_from is included"
        );
        assert_eq!(accredited(app, just_before("2026-01-01T00:00:00Z")).await, only);
        assert!(
            accredited(app, at("2026-01-01T00:00:00Z")).await.is_empty(),
            "valid_until is excluded"
        );
    }
);

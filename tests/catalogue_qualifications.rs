//! GetQualification and SearchQualifications through a real gRPC channel, on SQLite and PostgreSQL.

mod common;

use common::TestApp;
use common::builders::at;
use common::checks::{get_qualification, sorted};
use trust_registry::domain::enums::*;
use trust_registry::domain::model::{Provider, Qualification};
use trust_registry::pb;

const SKILL_1: &str = "http://data.europa.eu/esco/skill/test-0001";
const SKILL_2: &str = "http://data.europa.eu/esco/skill/test-0002";
const SKILL_UNUSED: &str = "http://data.europa.eu/esco/skill/test-0003";

/// Six qualifications of three providers, one withdrawn.
struct Seeded {
    ie: Provider,
    ge: Provider,
    /// ie-nfq 8 (EQF 6), 5 ECTS, stackable, SKILL_1 (named by two outcomes), Irish title.
    python: Qualification,
    /// ie-nfq 9 (EQF 7), 10 ECTS, standalone, SKILL_2.
    ethics: Qualification,
    /// eqf 6, 2.5 ECTS, standalone, SKILL_1.
    cloud: Qualification,
    /// ge-nqf 6 (no EQF level), 10 ECTS, integrated, SKILL_1, Georgian title.
    georgian: Qualification,
    /// nz-nzqcf 8 (no EQF level), hours without ECTS, stackable.
    kiwi: Qualification,
    /// ie-nfq 8 (EQF 6), 5 ECTS, stackable, SKILL_1, withdrawn.
    withdrawn: Qualification,
}

async fn seed(app: &TestApp) -> Seeded {
    let ie = app.provider("Quay College").country("IE").insert().await;
    let ge = app
        .provider("Mtkvari Test University")
        .country("GE")
        .insert()
        .await;
    let nz = app.provider("Kauri Test University").country("NZ").insert().await;
    let python = app
        .qualification(&ie, "Python for Data Work")
        .title("ga", "Python don Obair Sonraí")
        .level("ie-nfq", "8")
        .await
        .ects(5.0)
        .skill("Write Python programs.", SKILL_1)
        .skill("Automate data tasks in Python.", SKILL_1)
        .stackability(Stackability::Stackable)
        .insert()
        .await;
    let ethics = app
        .qualification(&ie, "Data Ethics")
        .level("ie-nfq", "9")
        .await
        .ects(10.0)
        .skill("Weigh ethical questions.", SKILL_2)
        .insert()
        .await;
    let cloud = app
        .qualification(&ie, "Cloud Operations")
        .level("eqf", "6")
        .await
        .ects(2.5)
        .skill("Operate cloud services.", SKILL_1)
        .insert()
        .await;
    let georgian = app
        .qualification(&ge, "Data Analysis")
        .title("ka", "მონაცემთა ანალიზი")
        .level("ge-nqf", "6")
        .await
        .ects(10.0)
        .skill("Analyse data sets.", SKILL_1)
        .stackability(Stackability::Integrated)
        .insert()
        .await;
    let kiwi = app
        .qualification(&nz, "Freshwater Monitoring")
        .level("nz-nzqcf", "8")
        .await
        .hours_without_ects(150.0)
        .stackability(Stackability::Stackable)
        .insert()
        .await;
    let withdrawn = app
        .qualification(&ie, "Legacy Data Course")
        .level("ie-nfq", "8")
        .await
        .ects(5.0)
        .skill("Old outcome.", SKILL_1)
        .stackability(Stackability::Stackable)
        .withdrawn("2024-01-01T00:00:00Z")
        .insert()
        .await;
    Seeded {
        ie,
        ge,
        python,
        ethics,
        cloud,
        georgian,
        kiwi,
        withdrawn,
    }
}

/// Ids of the qualifications matching `request`, which must all fit on one page.
async fn qualification_ids(app: &TestApp, request: pb::SearchQualificationsRequest) -> Vec<String> {
    let answer = app
        .catalogue
        .clone()
        .search_qualifications(request)
        .await
        .expect("SearchQualifications")
        .into_inner();
    assert!(
        answer.next_page_token.is_empty(),
        "every match fits on the first page"
    );
    answer.qualifications.into_iter().map(|q| q.id).collect()
}

fn ids<'a>(qualifications: impl IntoIterator<Item = &'a Qualification>) -> Vec<String> {
    sorted(qualifications.into_iter().map(|q| q.id.as_str()))
}

both_backends!(
    get_qualification_returns_its_annex_i_elements,
    async |app: &TestApp| {
        let s = seed(app).await;

        let python = get_qualification(app, &s.python.id).await;
        assert_eq!(python.id, s.python.id);
        assert_eq!(
            python.uri,
            format!("urn:trust-registry:qualification:{}", s.python.id)
        );
        assert_eq!(python.provider_id, s.ie.id);
        let titles: Vec<_> = python
            .titles
            .iter()
            .map(|t| (t.language.as_str(), t.value.as_str()))
            .collect();
        assert_eq!(
            titles,
            [("en", "Python for Data Work"), ("ga", "Python don Obair Sonraí")]
        );
        assert_eq!(python.awarding_body_ids, [s.ie.id.clone()]);
        assert_eq!(python.countries, ["IE"]);
        let level = python.level.expect("level");
        assert_eq!(
            (
                level.framework_id.as_str(),
                level.level_code.as_str(),
                level.eqf_level
            ),
            ("ie-nfq", "8", Some(6))
        );
        let workload = python.workload.expect("workload");
        assert_eq!(workload.credit_system, pb::CreditSystem::Ects as i32);
        assert_eq!((workload.value, workload.ects), (5.0, Some(5.0)));
        let outcomes: Vec<_> = python
            .learning_outcomes
            .iter()
            .map(|o| (o.text.as_str(), o.skill_uris.clone()))
            .collect();
        assert_eq!(
            outcomes,
            [
                ("Write Python programs.", vec![SKILL_1.to_string()]),
                ("Automate data tasks in Python.", vec![SKILL_1.to_string()])
            ]
        );
        assert_eq!(python.assessment_types, [pb::AssessmentType::Project as i32]);
        assert_eq!(python.participation, pb::ParticipationForm::Online as i32);
        assert_eq!(
            python.stackability.expect("stackability").stackability,
            pb::Stackability::Stackable as i32
        );
        assert_eq!(python.grading_scheme, "pass/fail");
        assert_eq!(python.languages, ["en"]);
        assert_eq!(python.version, 1);
        assert_eq!(instant!(python.published_at), Some(at("2022-01-01T00:00:00Z")));
        assert_eq!(python.withdrawn_at, None);

        // A Georgian NQF level carries no EQF level: Georgia's referencing is in preparation.
        let georgian = get_qualification(app, &s.georgian.id).await;
        let level = georgian.level.expect("level");
        assert_eq!(
            (
                level.framework_id.as_str(),
                level.level_code.as_str(),
                level.eqf_level
            ),
            ("ge-nqf", "6", None)
        );
        assert_eq!(georgian.titles[1].value, "მონაცემთა ანალიზი");

        let kiwi = get_qualification(app, &s.kiwi.id).await;
        let workload = kiwi.workload.expect("workload");
        assert_eq!(workload.credit_system, pb::CreditSystem::Hours as i32);
        assert_eq!((workload.value, workload.ects), (150.0, None));
        assert_eq!(
            kiwi.level.expect("level").eqf_level,
            None,
            "NZQCF level 8 has no EQF level"
        );

        // A withdrawn description can still be read by id, with its withdrawal.
        let withdrawn = get_qualification(app, &s.withdrawn.id).await;
        assert_eq!(instant!(withdrawn.withdrawn_at), Some(at("2024-01-01T00:00:00Z")));
    }
);

both_backends!(
    search_qualifications_leaves_out_withdrawn_unless_asked,
    async |app: &TestApp| {
        let s = seed(app).await;
        let current = ids([&s.python, &s.ethics, &s.cloud, &s.georgian, &s.kiwi]);
        assert_eq!(qualification_ids(app, Default::default()).await, current);
        let everything = pb::SearchQualificationsRequest {
            include_withdrawn: true,
            ..Default::default()
        };
        assert_eq!(
            qualification_ids(app, everything).await,
            ids([&s.python, &s.ethics, &s.cloud, &s.georgian, &s.kiwi, &s.withdrawn])
        );
    }
);

both_backends!(
    search_qualifications_by_text_and_provider,
    async |app: &TestApp| {
        let s = seed(app).await;
        let text = |t: &str| pb::SearchQualificationsRequest {
            text: t.into(),
            ..Default::default()
        };
        assert_eq!(
            qualification_ids(app, text("DATA")).await,
            ids([&s.python, &s.ethics, &s.georgian])
        );
        let with_withdrawn = pb::SearchQualificationsRequest {
            include_withdrawn: true,
            ..text("data")
        };
        assert_eq!(
            qualification_ids(app, with_withdrawn).await,
            ids([&s.python, &s.ethics, &s.georgian, &s.withdrawn])
        );
        // Titles in other languages match too.
        assert_eq!(
            qualification_ids(app, text("OBAIR SONRAÍ")).await,
            ids([&s.python])
        );
        assert_eq!(qualification_ids(app, text("ანალიზი")).await, ids([&s.georgian]));
        // Wildcards are literal: no title has a "%" or "_".
        assert!(qualification_ids(app, text("%")).await.is_empty());
        assert!(qualification_ids(app, text("d_ta")).await.is_empty());

        let provider = |id: &str| pb::SearchQualificationsRequest {
            provider_id: id.into(),
            ..Default::default()
        };
        assert_eq!(
            qualification_ids(app, provider(&s.ie.id)).await,
            ids([&s.python, &s.ethics, &s.cloud])
        );
        assert_eq!(
            qualification_ids(app, provider(&s.ge.id)).await,
            ids([&s.georgian])
        );
        let unknown = trust_registry::domain::ids::IdKind::Provider.mint(b"nobody");
        assert!(qualification_ids(app, provider(&unknown)).await.is_empty());
        let both = pb::SearchQualificationsRequest {
            text: "data".into(),
            ..provider(&s.ie.id)
        };
        assert_eq!(qualification_ids(app, both).await, ids([&s.python, &s.ethics]));
    }
);

both_backends!(
    search_qualifications_by_framework_level_and_eqf_level,
    async |app: &TestApp| {
        let s = seed(app).await;
        let level = |framework: &str, code: &str| pb::SearchQualificationsRequest {
            framework_id: framework.into(),
            level_code: code.into(),
            ..Default::default()
        };
        assert_eq!(
            qualification_ids(app, level("ie-nfq", "")).await,
            ids([&s.python, &s.ethics])
        );
        assert_eq!(
            qualification_ids(app, level("ie-nfq", "8")).await,
            ids([&s.python])
        );
        let with_withdrawn = pb::SearchQualificationsRequest {
            include_withdrawn: true,
            ..level("ie-nfq", "8")
        };
        assert_eq!(
            qualification_ids(app, with_withdrawn).await,
            ids([&s.python, &s.withdrawn])
        );
        assert_eq!(
            qualification_ids(app, level("ie-nfq", "9")).await,
            ids([&s.ethics])
        );
        assert_eq!(qualification_ids(app, level("eqf", "6")).await, ids([&s.cloud]));
        assert_eq!(
            qualification_ids(app, level("ge-nqf", "")).await,
            ids([&s.georgian])
        );
        assert_eq!(
            qualification_ids(app, level("ge-nqf", "6")).await,
            ids([&s.georgian])
        );
        assert!(qualification_ids(app, level("ge-nqf", "7")).await.is_empty());
        assert_eq!(
            qualification_ids(app, level("nz-nzqcf", "8")).await,
            ids([&s.kiwi])
        );
        assert!(qualification_ids(app, level("xx-unknown", "")).await.is_empty());

        let eqf = |l: u32| pb::SearchQualificationsRequest {
            eqf_level: Some(l),
            ..Default::default()
        };
        // ie-nfq 8 and eqf 6 are both EQF 6; ge-nqf 6 is not, though its code is "6".
        assert_eq!(qualification_ids(app, eqf(6)).await, ids([&s.python, &s.cloud]));
        assert_eq!(qualification_ids(app, eqf(7)).await, ids([&s.ethics]));
        let mut found_at_some_level = Vec::new();
        for l in 1..=8 {
            let found = qualification_ids(
                app,
                pb::SearchQualificationsRequest {
                    include_withdrawn: true,
                    ..eqf(l)
                },
            )
            .await;
            assert!(
                !found.contains(&s.georgian.id),
                "the Georgian NQF level has no EQF level, found at {l}"
            );
            assert!(
                !found.contains(&s.kiwi.id),
                "NZQCF level 8 has no EQF level, found at {l}"
            );
            found_at_some_level.extend(found);
        }
        assert_eq!(
            sorted(found_at_some_level),
            ids([&s.python, &s.ethics, &s.cloud, &s.withdrawn])
        );
        let both = pb::SearchQualificationsRequest {
            framework_id: "ie-nfq".into(),
            ..eqf(6)
        };
        assert_eq!(qualification_ids(app, both).await, ids([&s.python]));
    }
);

both_backends!(
    search_qualifications_by_inclusive_ects_range,
    async |app: &TestApp| {
        let s = seed(app).await;
        let range = |min: Option<f64>, max: Option<f64>| pb::SearchQualificationsRequest {
            ects_min: min,
            ects_max: max,
            ..Default::default()
        };
        // ECTS: cloud 2.5, python 5, ethics 10, georgian 10; kiwi states none (withdrawn: 5).
        assert_eq!(
            qualification_ids(app, range(Some(5.0), None)).await,
            ids([&s.python, &s.ethics, &s.georgian])
        );
        assert_eq!(
            qualification_ids(app, range(None, Some(5.0))).await,
            ids([&s.python, &s.cloud])
        );
        assert_eq!(
            qualification_ids(app, range(Some(5.0), Some(5.0))).await,
            ids([&s.python])
        );
        assert_eq!(
            qualification_ids(app, range(Some(10.0), Some(10.0))).await,
            ids([&s.ethics, &s.georgian])
        );
        assert_eq!(
            qualification_ids(app, range(Some(5.000001), None)).await,
            ids([&s.ethics, &s.georgian])
        );
        assert_eq!(
            qualification_ids(app, range(None, Some(4.999999))).await,
            ids([&s.cloud])
        );
        assert_eq!(
            qualification_ids(app, range(Some(2.5), Some(10.0))).await,
            ids([&s.python, &s.ethics, &s.cloud, &s.georgian])
        );
        // Without an ECTS equivalent a qualification matches no ECTS bound at all.
        assert_eq!(
            qualification_ids(app, range(Some(0.0), None)).await,
            ids([&s.python, &s.ethics, &s.cloud, &s.georgian])
        );
        assert!(qualification_ids(app, range(Some(10.5), None)).await.is_empty());
        let with_withdrawn = pb::SearchQualificationsRequest {
            include_withdrawn: true,
            ..range(Some(5.0), Some(5.0))
        };
        assert_eq!(
            qualification_ids(app, with_withdrawn).await,
            ids([&s.python, &s.withdrawn])
        );
    }
);

both_backends!(
    search_qualifications_by_skill_and_stackability,
    async |app: &TestApp| {
        let s = seed(app).await;
        let skill = |uri: &str| pb::SearchQualificationsRequest {
            skill_uri: uri.into(),
            ..Default::default()
        };
        // Python names SKILL_1 in two outcomes and still comes back once.
        assert_eq!(
            qualification_ids(app, skill(SKILL_1)).await,
            ids([&s.python, &s.cloud, &s.georgian])
        );
        assert_eq!(qualification_ids(app, skill(SKILL_2)).await, ids([&s.ethics]));
        assert!(qualification_ids(app, skill(SKILL_UNUSED)).await.is_empty());
        let with_withdrawn = pb::SearchQualificationsRequest {
            include_withdrawn: true,
            ..skill(SKILL_1)
        };
        assert_eq!(
            qualification_ids(app, with_withdrawn).await,
            ids([&s.python, &s.cloud, &s.georgian, &s.withdrawn])
        );

        let stack = |st: pb::Stackability| pb::SearchQualificationsRequest {
            stackability: st as i32,
            ..Default::default()
        };
        assert_eq!(
            qualification_ids(app, stack(pb::Stackability::Stackable)).await,
            ids([&s.python, &s.kiwi])
        );
        assert_eq!(
            qualification_ids(app, stack(pb::Stackability::Standalone)).await,
            ids([&s.ethics, &s.cloud])
        );
        assert_eq!(
            qualification_ids(app, stack(pb::Stackability::Integrated)).await,
            ids([&s.georgian])
        );
        let combined = pb::SearchQualificationsRequest {
            skill_uri: SKILL_1.into(),
            include_withdrawn: true,
            ..stack(pb::Stackability::Stackable)
        };
        assert_eq!(
            qualification_ids(app, combined).await,
            ids([&s.python, &s.withdrawn])
        );
    }
);

both_backends!(
    demo_eqf_filter_finds_exactly_the_levels_with_an_eqf_level,
    async |app: &TestApp| {
        trust_registry::demo::load(&app.store)
            .await
            .expect("demo loads")
            .expect("store was empty");
        let mut client = app.catalogue.clone();
        let everything = client
            .search_qualifications(pb::SearchQualificationsRequest {
                page_size: 500,
                include_withdrawn: true,
                ..Default::default()
            })
            .await
            .expect("SearchQualifications")
            .into_inner()
            .qualifications;
        assert_eq!(everything.len(), 50);
        let eqf_of = |q: &pb::Qualification| q.level.as_ref().and_then(|l| l.eqf_level);
        let framework_of = |q: &pb::Qualification| {
            q.level
                .as_ref()
                .map(|l| l.framework_id.clone())
                .unwrap_or_default()
        };
        let georgian: Vec<_> = everything
            .iter()
            .filter(|q| framework_of(q) == "ge-nqf")
            .collect();
        assert!(georgian.len() >= 5, "the demo has Georgian qualifications");
        assert!(georgian.iter().all(|q| eqf_of(q).is_none()));
        let nz_8: Vec<_> = everything
            .iter()
            .filter(|q| {
                framework_of(q) == "nz-nzqcf" && q.level.as_ref().is_some_and(|l| l.level_code == "8")
            })
            .collect();
        assert_eq!(nz_8.len(), 1, "Freshwater Quality Monitoring");
        assert_eq!(eqf_of(nz_8[0]), None);

        for level in 1..=8 {
            let found = qualification_ids(
                app,
                pb::SearchQualificationsRequest {
                    page_size: 500,
                    eqf_level: Some(level),
                    include_withdrawn: true,
                    ..Default::default()
                },
            )
            .await;
            let expected = sorted(
                everything
                    .iter()
                    .filter(|q| eqf_of(q) == Some(level))
                    .map(|q| q.id.as_str()),
            );
            assert_eq!(found, expected, "EQF level {level}");
            assert!(georgian.iter().chain(&nz_8).all(|q| !found.contains(&q.id)));
        }
    }
);

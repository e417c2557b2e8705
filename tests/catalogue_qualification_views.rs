//! SearchQualifications' views (AIP-157): summaries by default, whole descriptions on request,
//! kept current by every write and by the migration that introduced them; on SQLite and
//! PostgreSQL.

mod common;

use common::TestApp;
use common::builders::QualificationBuilder;
use common::checks::{expect_invalid, get_qualification, sorted};
use common::signed::{description, envelope, header, key};
use migrations::{Migrator, MigratorTrait};
use trust_registry::domain::enums::Stackability;
use trust_registry::domain::model::{Provider, Qualification};
use trust_registry::pb;

const SKILL: &str = "http://data.europa.eu/esco/skill/views-0001";
const OTHER_SKILL: &str = "http://data.europa.eu/esco/skill/views-0002";

/// Sets every optional detail the builder leaves empty.
fn detailed(mut builder: QualificationBuilder<'_>) -> QualificationBuilder<'_> {
    let q = &mut builder.qualification;
    q.assessment_description = "A project marked by two examiners.".into();
    q.prerequisites = "None.".into();
    q.further_information = "https://example.test/course".into();
    q.credential_type = "https://example.test/types/micro-credential".into();
    q.field_of_study = "http://data.europa.eu/snb/isced-f/0613".into();
    q.quality_assurance.description = "Internal review.".into();
    q.stackability.description = "Counts towards a postgraduate certificate.".into();
    builder
}

/// Four qualifications of two providers with every detail set: three name SKILL (one of them
/// withdrawn), one OTHER_SKILL.
async fn seed(app: &TestApp) -> (Provider, Vec<Qualification>) {
    let ie = app.provider("Views Test College").country("IE").insert().await;
    let nl = app.provider("Views Test Hogeschool").country("NL").insert().await;
    let mut made = Vec::new();
    made.push(
        detailed(app.qualification(&ie, "Data Pipelines"))
            .title("ga", "Píblínte Sonraí")
            .level("ie-nfq", "8")
            .await
            .skill("Builds data pipelines.", SKILL)
            .skill("Tests them.", OTHER_SKILL)
            .stackability(Stackability::Stackable)
            .insert()
            .await,
    );
    made.push(
        detailed(app.qualification(&nl, "Datapijplijnen"))
            .level("eqf", "6")
            .await
            .ects(2.5)
            .skill("Bouwt pijplijnen.", SKILL)
            .insert()
            .await,
    );
    made.push(
        detailed(app.qualification(&ie, "Old Pipelines"))
            .level("ie-nfq", "7")
            .await
            .skill("Builds old pipelines.", SKILL)
            .withdrawn("2024-01-01T00:00:00Z")
            .insert()
            .await,
    );
    made.push(
        detailed(app.qualification(&nl, "Data Testing"))
            .skill("Tests data.", OTHER_SKILL)
            .insert()
            .await,
    );
    (ie, made)
}

async fn search(app: &TestApp, request: pb::SearchQualificationsRequest) -> Vec<pb::Qualification> {
    let answer = app
        .catalogue
        .clone()
        .search_qualifications(request)
        .await
        .expect("SearchQualifications")
        .into_inner();
    assert!(answer.next_page_token.is_empty(), "every match fits on one page");
    answer.qualifications
}

/// The `BASIC` view of a whole description, as the contract documents it.
fn basic(full: pb::Qualification) -> pb::Qualification {
    pb::Qualification {
        id: full.id,
        uri: full.uri,
        provider_id: full.provider_id,
        titles: full.titles,
        countries: full.countries,
        workload: full.workload,
        level: full.level,
        stackability: full.stackability.map(|s| pb::StackabilityOptions {
            stackability: s.stackability,
            ..Default::default()
        }),
        credential_type: full.credential_type,
        field_of_study: full.field_of_study,
        languages: full.languages,
        published_at: full.published_at,
        withdrawn_at: full.withdrawn_at,
        version: full.version,
        ..Default::default()
    }
}

/// Each answer is the given view of what GetQualification returns for its id.
async fn assert_views(app: &TestApp, answers: &[pb::Qualification], full: bool) {
    for answer in answers {
        let whole = get_qualification(app, &answer.id).await;
        let expected = if full { whole } else { basic(whole) };
        assert_eq!(answer, &expected);
    }
}

fn ids(answers: &[pb::Qualification]) -> Vec<String> {
    sorted(answers.iter().map(|q| q.id.as_str()))
}

fn ids_of<'a>(qualifications: impl IntoIterator<Item = &'a Qualification>) -> Vec<String> {
    sorted(qualifications.into_iter().map(|q| q.id.as_str()))
}

both_backends!(
    searches_answer_summaries_unless_the_full_view_is_asked_for,
    async |app: &TestApp| {
        let (ie, made) = seed(app).await;
        let by_skill = |view: pb::QualificationView| pb::SearchQualificationsRequest {
            skill_uri: SKILL.into(),
            view: view as i32,
            ..Default::default()
        };
        // From the skill rows (by skill), from the documents (no skill), and from the skill rows
        // with a filter on the qualification's own columns.
        let requests = [
            by_skill(pb::QualificationView::Unspecified),
            pb::SearchQualificationsRequest {
                include_withdrawn: true,
                ..Default::default()
            },
            pb::SearchQualificationsRequest {
                provider_id: ie.id.clone(),
                include_withdrawn: true,
                ..by_skill(pb::QualificationView::Unspecified)
            },
        ];
        let expected_ids = [
            ids_of([&made[0], &made[1]]),
            ids_of(&made),
            ids_of([&made[0], &made[2]]),
        ];
        for (request, expected) in requests.into_iter().zip(expected_ids) {
            for view in [pb::QualificationView::Unspecified, pb::QualificationView::Basic] {
                let answers = search(
                    app,
                    pb::SearchQualificationsRequest {
                        view: view as i32,
                        ..request.clone()
                    },
                )
                .await;
                assert_eq!(ids(&answers), expected, "{request:?}");
                assert_views(app, &answers, false).await;
                for answer in &answers {
                    assert!(answer.learning_outcomes.is_empty() && answer.grading_scheme.is_empty());
                    assert!(!answer.titles.is_empty() && answer.workload.is_some());
                }
            }
            let answers = search(
                app,
                pb::SearchQualificationsRequest {
                    view: pb::QualificationView::Full as i32,
                    ..request.clone()
                },
            )
            .await;
            assert_eq!(ids(&answers), expected, "{request:?}");
            assert_views(app, &answers, true).await;
            assert!(answers.iter().all(|a| !a.learning_outcomes.is_empty()));
        }
        let withdrawn = search(
            app,
            pb::SearchQualificationsRequest {
                include_withdrawn: true,
                ..by_skill(pb::QualificationView::Basic)
            },
        )
        .await;
        assert_eq!(ids(&withdrawn), ids_of([&made[0], &made[1], &made[2]]));
        assert_views(app, &withdrawn, false).await;

        expect_invalid(
            app.catalogue
                .clone()
                .search_qualifications(pb::SearchQualificationsRequest {
                    view: 7,
                    ..Default::default()
                })
                .await,
            "view",
        );
    }
);

both_backends!(
    revisions_and_withdrawals_reach_the_summaries,
    async |app: &TestApp| {
        let agency = key("views agency");
        let provider = key("views provider");
        app.admit_agency("Views Agency", "IE", &agency).await;
        app.register_provider(&agency, "Views Revision College", "IE", &provider)
            .await;
        let mut described = description("First Title");
        described.learning_outcomes[0].skill_uris = vec![SKILL.into()];
        let published = app
            .providers()
            .publish_qualification(pb::PublishQualificationRequest {
                envelope: envelope(
                    &provider,
                    "ProviderService",
                    "PublishQualification",
                    &pb::PublishQualificationCommand {
                        header: header(),
                        description: Some(described.clone()),
                    },
                ),
            })
            .await
            .expect("PublishQualification")
            .into_inner()
            .qualification
            .expect("qualification");
        let by_skill = |uri: &str, include_withdrawn: bool| pb::SearchQualificationsRequest {
            skill_uri: uri.into(),
            include_withdrawn,
            ..Default::default()
        };

        // The revision moves the qualification to another skill under a new title.
        described.titles[0].value = "Second Title".into();
        described.learning_outcomes[0].skill_uris = vec![OTHER_SKILL.into()];
        app.providers()
            .revise_qualification(pb::ReviseQualificationRequest {
                envelope: envelope(
                    &provider,
                    "ProviderService",
                    "ReviseQualification",
                    &pb::ReviseQualificationCommand {
                        header: header(),
                        qualification_id: published.id.clone(),
                        description: Some(described),
                    },
                ),
            })
            .await
            .expect("ReviseQualification");
        assert!(search(app, by_skill(SKILL, true)).await.is_empty());
        let revised = search(app, by_skill(OTHER_SKILL, false)).await;
        assert_eq!(ids(&revised), [published.id.clone()]);
        assert_eq!(revised[0].version, 2);
        assert_eq!(revised[0].titles[0].value, "Second Title");
        assert_views(app, &revised, false).await;

        app.providers()
            .withdraw_qualification(pb::WithdrawQualificationRequest {
                envelope: envelope(
                    &provider,
                    "ProviderService",
                    "WithdrawQualification",
                    &pb::WithdrawQualificationCommand {
                        header: header(),
                        qualification_id: published.id.clone(),
                        withdrawn_at: None,
                        reason: "no longer offered".into(),
                    },
                ),
            })
            .await
            .expect("WithdrawQualification");
        assert!(search(app, by_skill(OTHER_SKILL, false)).await.is_empty());
        let withdrawn = search(app, by_skill(OTHER_SKILL, true)).await;
        assert_eq!(ids(&withdrawn), [published.id.clone()]);
        assert!(withdrawn[0].withdrawn_at.is_some());
        assert_views(app, &withdrawn, false).await;
    }
);

both_backends!(
    the_migration_gives_stored_qualifications_their_summaries,
    async |app: &TestApp| {
        let (_, made) = seed(app).await;
        let tables = app.store.tables();
        let written = tables.rows("qualification_skill").await.expect("skill rows");
        assert_eq!(written.len(), 5, "one row per qualification and skill");
        let request = pb::SearchQualificationsRequest {
            skill_uri: SKILL.into(),
            include_withdrawn: true,
            ..Default::default()
        };
        let answered = search(app, request.clone()).await;
        assert_eq!(ids(&answered), ids_of(&made[..3]));

        // Back to the schema without summaries, then forward again, as on a database that
        // stored these qualifications before summaries existed.
        let db = sea_orm::Database::connect(app.database_url.as_str())
            .await
            .expect("connects");
        Migrator::down(&db, Some(1)).await.expect("migrates down");
        use sea_orm::ConnectionTrait as _;
        let query =
            |sql: &str| db.query_all_raw(sea_orm::Statement::from_string(db.get_database_backend(), sql));
        let old_rows = query("SELECT skill_uri, qualification_id FROM qualification_skill")
            .await
            .expect("the skill rows are kept");
        assert_eq!(old_rows.len(), 5);
        let without = query("SELECT summary FROM qualification_skill").await;
        assert!(without.is_err(), "the schema before has no summaries");
        Migrator::up(&db, None).await.expect("migrates up");
        db.close().await.expect("closes");

        let migrated = tables.rows("qualification_skill").await.expect("skill rows");
        assert_eq!(migrated, written, "the migration's summaries are the server's");
        assert_eq!(search(app, request).await, answered);
    }
);

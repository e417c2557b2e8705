//! CatalogueService through a real gRPC channel, on SQLite and PostgreSQL.

mod common;

use common::TestApp;
use common::builders::at;
use common::checks::sorted;
use tonic::Code;
use trust_registry::domain::enums::*;
use trust_registry::pb;

both_backends!(
    get_provider_round_trips_and_rejects_bad_ids,
    async |app: &TestApp| {
        let agency = app.agency("Test Agency", "IE").await;
        let provider = app
            .provider("Harbour Test College")
            .country("IE")
            .identifier(IdentifierScheme::Deqar, "DEMO-1")
            .insert()
            .await;
        app.accreditation(&agency, &provider).insert().await;

        let mut client = app.catalogue.clone();
        let got = client
            .get_provider(pb::GetProviderRequest {
                id: provider.id.clone(),
            })
            .await
            .expect("GetProvider")
            .into_inner()
            .provider
            .expect("provider");
        assert_eq!(got.id, provider.id);
        assert_eq!(got.names[0].value, "Harbour Test College");
        assert_eq!(got.identifiers[0].value, "DEMO-1");
        assert_eq!(got.kind, pb::ProviderKind::HigherEducation as i32);

        let unknown = trust_registry::domain::ids::IdKind::Provider.mint(b"nobody");
        let err = client
            .get_provider(pb::GetProviderRequest { id: unknown })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::NotFound);
        for bad in [
            "",
            "prov_short",
            "qual_0000000000000000000a",
            "prov_!!!!!!!!!!!!!!!!!!!!",
        ] {
            let err = client
                .get_provider(pb::GetProviderRequest { id: bad.into() })
                .await
                .unwrap_err();
            assert_eq!(err.code(), Code::InvalidArgument, "id {bad:?}");
            assert!(
                err.message().starts_with("id:"),
                "message names the field: {}",
                err.message()
            );
        }
        let _ = at("2020-01-01T00:00:00Z");
    }
);

const FRAMEWORK_IDS: [&str; 4] = ["eqf", "ge-nqf", "ie-nfq", "nz-nzqcf"];

async fn framework(app: &TestApp, id: &str) -> pb::Framework {
    app.catalogue
        .clone()
        .get_framework(pb::GetFrameworkRequest { id: id.into() })
        .await
        .expect("GetFramework")
        .into_inner()
        .framework
        .expect("framework")
}

fn eqf_levels(framework: &pb::Framework) -> Vec<(&str, Option<u32>)> {
    framework
        .levels
        .iter()
        .map(|l| (l.code.as_str(), l.eqf_level))
        .collect()
}

both_backends!(
    list_frameworks_returns_the_seeded_frameworks_in_id_order,
    async |app: &TestApp| {
        let mut client = app.catalogue.clone();
        let answer = client
            .list_frameworks(pb::ListFrameworksRequest::default())
            .await
            .expect("ListFrameworks")
            .into_inner();
        let ids: Vec<_> = answer.frameworks.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(ids, FRAMEWORK_IDS);
        assert!(answer.next_page_token.is_empty());
        for listed in &answer.frameworks {
            assert_eq!(
                *listed,
                framework(app, &listed.id).await,
                "the list holds whole frameworks"
            );
        }

        // Two pages of two.
        let first = client
            .list_frameworks(pb::ListFrameworksRequest {
                page_size: 2,
                page_token: String::new(),
            })
            .await
            .expect("ListFrameworks")
            .into_inner();
        let ids: Vec<_> = first.frameworks.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(ids, ["eqf", "ge-nqf"]);
        assert!(!first.next_page_token.is_empty());
        let second = client
            .list_frameworks(pb::ListFrameworksRequest {
                page_size: 2,
                page_token: first.next_page_token,
            })
            .await
            .expect("ListFrameworks")
            .into_inner();
        let ids: Vec<_> = second.frameworks.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(ids, ["ie-nfq", "nz-nzqcf"]);
        assert!(second.next_page_token.is_empty());
    }
);

both_backends!(
    get_framework_returns_levels_eqf_links_and_sources,
    async |app: &TestApp| {
        let eqf = framework(app, "eqf").await;
        assert!(eqf.is_eqf);
        assert_eq!(eqf.jurisdiction, "EU");
        let expected: Vec<(String, Option<u32>)> = (1..=8).map(|l| (l.to_string(), Some(l))).collect();
        let got: Vec<(String, Option<u32>)> =
            eqf.levels.iter().map(|l| (l.code.clone(), l.eqf_level)).collect();
        assert_eq!(got, expected);

        let ie = framework(app, "ie-nfq").await;
        assert!(!ie.is_eqf);
        assert_eq!((ie.code.as_str(), ie.jurisdiction.as_str()), ("NFQ", "IE"));
        assert_eq!(ie.referencing, pb::ReferencingStatus::Referenced as i32);
        assert_eq!(
            eqf_levels(&ie),
            [
                ("1", Some(1)),
                ("2", Some(1)),
                ("3", Some(2)),
                ("4", Some(3)),
                ("5", Some(4)),
                ("6", Some(5)),
                ("7", Some(6)),
                ("8", Some(6)),
                ("9", Some(7)),
                ("10", Some(8))
            ]
        );
        let ordinals: Vec<u32> = ie.levels.iter().map(|l| l.ordinal).collect();
        assert_eq!(
            ordinals,
            (1..=10).collect::<Vec<_>>(),
            "levels in ascending order"
        );

        let nz = framework(app, "nz-nzqcf").await;
        assert_eq!(nz.referencing, pb::ReferencingStatus::Compared as i32);
        let level = |f: &pb::Framework, code: &str| {
            f.levels.iter().find(|l| l.code == code).expect("level").eqf_level
        };
        assert_eq!(level(&nz, "7"), Some(6));
        assert_eq!(level(&nz, "8"), None, "NZQCF level 8 has no EQF comparison");
        assert_eq!(level(&nz, "9"), Some(7));

        let ge = framework(app, "ge-nqf").await;
        assert_eq!(ge.referencing, pb::ReferencingStatus::InPreparation as i32);
        assert_eq!(ge.levels.len(), 8);
        assert!(
            ge.levels.iter().all(|l| l.eqf_level.is_none()),
            "Georgia's referencing is in preparation"
        );

        for id in FRAMEWORK_IDS {
            let f = framework(app, id).await;
            assert_eq!(f.id, id);
            assert!(!f.title.is_empty(), "{id} has a title");
            assert!(!f.sources.is_empty(), "{id} names its sources");
            for source in &f.sources {
                assert!(
                    source.url.starts_with("http://") || source.url.starts_with("https://"),
                    "{id}: source {:?} has a URL",
                    source.title
                );
                assert!(!source.title.is_empty());
            }
        }
    }
);

both_backends!(
    qa_agencies_by_id_and_by_seat_or_operating_country,
    async |app: &TestApp| {
        let lowlands = app
            .qa_agency("Lowlands Agency", "NL")
            .name("nl", "Accreditatieorganisatie Laaglanden")
            .operating(&["NL", "BE", "DE"])
            .key([9; 32], at("2020-01-01T00:00:00Z"))
            .insert()
            .await;
        let rhine = app
            .qa_agency("Rhine Agency", "DE")
            .operating(&["DE", "AT"])
            .admitted("2019-01-01T00:00:00Z")
            .retired("2024-12-31T00:00:00Z")
            .insert()
            .await;
        let irish = app.agency("Irish Agency", "IE").await;

        let mut client = app.catalogue.clone();
        let got = client
            .get_qa_agency(pb::GetQaAgencyRequest { id: rhine.id.clone() })
            .await
            .expect("GetQaAgency")
            .into_inner()
            .qa_agency
            .expect("agency");
        assert_eq!(got.id, rhine.id);
        assert_eq!(got.names[0].value, "Rhine Agency");
        assert_eq!(got.country, "DE");
        assert_eq!(got.operating_countries, ["DE", "AT"]);
        assert_eq!(instant!(got.admitted_at), Some(at("2019-01-01T00:00:00Z")));
        assert_eq!(instant!(got.retired_at), Some(at("2024-12-31T00:00:00Z")));
        assert!(got.keys.is_empty());
        let got = client
            .get_qa_agency(pb::GetQaAgencyRequest {
                id: lowlands.id.clone(),
            })
            .await
            .expect("GetQaAgency")
            .into_inner()
            .qa_agency
            .expect("agency");
        assert_eq!(got.names[1].value, "Accreditatieorganisatie Laaglanden");
        assert_eq!(got.retired_at, None);
        assert_eq!(got.keys.len(), 1);
        assert_eq!(got.keys[0].public_key, vec![9u8; 32]);

        let country = |c: &str| {
            let mut client = app.catalogue.clone();
            let request = pb::ListQaAgenciesRequest {
                country: c.into(),
                ..Default::default()
            };
            async move {
                let answer = client
                    .list_qa_agencies(request)
                    .await
                    .expect("ListQaAgencies")
                    .into_inner();
                assert!(answer.next_page_token.is_empty());
                answer.qa_agencies.into_iter().map(|a| a.id).collect::<Vec<_>>()
            }
        };
        assert_eq!(country("").await, sorted([&lowlands.id, &rhine.id, &irish.id]));
        // Seated in Germany (Rhine) or operating there (Lowlands).
        assert_eq!(country("DE").await, sorted([&lowlands.id, &rhine.id]));
        assert_eq!(country("de").await, sorted([&lowlands.id, &rhine.id]));
        assert_eq!(country("BE").await, [lowlands.id.clone()]);
        assert_eq!(country("AT").await, [rhine.id.clone()]);
        assert_eq!(country("NL").await, [lowlands.id.clone()]);
        assert_eq!(country("IE").await, [irish.id.clone()]);
        assert!(country("FR").await.is_empty());
    }
);

both_backends!(
    recognition_bodies_by_id_and_by_country_and_kind,
    async |app: &TestApp| {
        let centre = app
            .recognition_body("Recognition Centre", "NL", RecognitionBodyKind::EnicNaric)
            .await;
        let university = app
            .recognition_body(
                "University Admissions",
                "IE",
                RecognitionBodyKind::HigherEducationInstitution,
            )
            .await;
        let employer = app
            .recognition_body("Big Employer", "IE", RecognitionBodyKind::Employer)
            .await;

        let mut client = app.catalogue.clone();
        let got = client
            .get_recognition_body(pb::GetRecognitionBodyRequest {
                id: university.id.clone(),
            })
            .await
            .expect("GetRecognitionBody")
            .into_inner()
            .recognition_body
            .expect("body");
        assert_eq!(got.id, university.id);
        assert_eq!(got.names[0].value, "University Admissions");
        assert_eq!(got.country, "IE");
        assert_eq!(
            got.kind,
            pb::RecognitionBodyKind::HigherEducationInstitution as i32
        );
        assert_eq!(instant!(got.admitted_at), Some(at("2020-01-01T00:00:00Z")));
        assert_eq!(got.retired_at, None);

        let list = |country: &str, kind: pb::RecognitionBodyKind| {
            let mut client = app.catalogue.clone();
            let request = pb::ListRecognitionBodiesRequest {
                country: country.into(),
                kind: kind as i32,
                ..Default::default()
            };
            async move {
                let answer = client
                    .list_recognition_bodies(request)
                    .await
                    .expect("ListRecognitionBodies")
                    .into_inner();
                assert!(answer.next_page_token.is_empty());
                answer
                    .recognition_bodies
                    .into_iter()
                    .map(|b| b.id)
                    .collect::<Vec<_>>()
            }
        };
        use pb::RecognitionBodyKind as K;
        assert_eq!(
            list("", K::Unspecified).await,
            sorted([&centre.id, &university.id, &employer.id])
        );
        assert_eq!(
            list("IE", K::Unspecified).await,
            sorted([&university.id, &employer.id])
        );
        assert_eq!(
            list("ie", K::Unspecified).await,
            sorted([&university.id, &employer.id])
        );
        assert_eq!(list("", K::EnicNaric).await, [centre.id.clone()]);
        assert_eq!(list("IE", K::Employer).await, [employer.id.clone()]);
        assert!(list("NL", K::Employer).await.is_empty());
        assert!(list("", K::PublicAuthority).await.is_empty());
    }
);

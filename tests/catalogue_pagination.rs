//! Pagination of every CatalogueService list over the demo dataset, and page token binding,
//! through a real gRPC channel on SQLite and PostgreSQL.

mod common;

use std::future::Future;

use common::TestApp;
use common::builders::at;
use common::checks::expect_invalid;
use trust_registry::pb;

async fn load_demo(app: &TestApp) {
    trust_registry::demo::load(&app.store)
        .await
        .expect("demo loads")
        .expect("store was empty");
}

/// Walks a list page by page from the first page; `fetch(token)` returns a page's ids and the
/// next token. Checks that every page but the last is full and only the last has no token.
async fn walk<F, Fut>(page_size: usize, mut fetch: F) -> Vec<Vec<String>>
where
    F: FnMut(String) -> Fut,
    Fut: Future<Output = (Vec<String>, String)>,
{
    let mut pages: Vec<Vec<String>> = Vec::new();
    let mut token = String::new();
    loop {
        let (ids, next) = fetch(token).await;
        assert!(
            ids.len() <= page_size,
            "a page of {} items for page_size {page_size}",
            ids.len()
        );
        pages.push(ids);
        if next.is_empty() {
            return pages;
        }
        assert_eq!(
            pages.last().map(Vec::len),
            Some(page_size),
            "a page before the last is full"
        );
        assert!(pages.len() < 100, "the walk ends");
        token = next;
    }
}

/// The pages together are `full` (the one-page listing): same ids, same order, strictly
/// ascending, no repeats, in as few pages as the page size allows.
#[track_caller]
fn assert_pages_cover(pages: &[Vec<String>], full: &[String], page_size: usize) {
    let joined = pages.concat();
    assert_eq!(joined, full, "the pages together are the unpaged list");
    assert!(
        joined.windows(2).all(|w| w[0] < w[1]),
        "ascending by id, no repeats: {joined:?}"
    );
    assert_eq!(pages.len(), full.len().div_ceil(page_size).max(1));
    assert!(
        !pages.last().expect("a page").is_empty() || full.is_empty(),
        "no empty last page"
    );
}

/// One page's ids and the next page token.
type PageFuture = std::pin::Pin<Box<dyn Future<Output = (Vec<String>, String)> + Send>>;

fn provider_page(app: &TestApp, request: pb::SearchProvidersRequest) -> impl FnMut(String) -> PageFuture {
    let client = app.catalogue.clone();
    move |page_token| {
        let mut client = client.clone();
        let request = pb::SearchProvidersRequest {
            page_token,
            ..request.clone()
        };
        Box::pin(async move {
            let answer = client
                .search_providers(request)
                .await
                .expect("SearchProviders")
                .into_inner();
            (
                answer.providers.into_iter().map(|p| p.id).collect(),
                answer.next_page_token,
            )
        })
    }
}

fn qualification_page(
    app: &TestApp,
    request: pb::SearchQualificationsRequest,
) -> impl FnMut(String) -> PageFuture {
    let client = app.catalogue.clone();
    move |page_token| {
        let mut client = client.clone();
        let request = pb::SearchQualificationsRequest {
            page_token,
            ..request.clone()
        };
        Box::pin(async move {
            let answer = client
                .search_qualifications(request)
                .await
                .expect("SearchQualifications")
                .into_inner();
            (
                answer.qualifications.into_iter().map(|q| q.id).collect(),
                answer.next_page_token,
            )
        })
    }
}

/// The whole list in one page of 500.
async fn all_at_once<F, Fut>(mut fetch: F) -> Vec<String>
where
    F: FnMut(String) -> Fut,
    Fut: Future<Output = (Vec<String>, String)>,
{
    let (ids, next) = fetch(String::new()).await;
    assert!(next.is_empty(), "everything fits in a page of 500");
    ids
}

both_backends!(
    search_qualifications_pages_of_seven_cover_the_demo_dataset,
    async |app: &TestApp| {
        load_demo(app).await;
        let current = pb::SearchQualificationsRequest::default();
        let everything = pb::SearchQualificationsRequest {
            include_withdrawn: true,
            ..Default::default()
        };
        let stackable = pb::SearchQualificationsRequest {
            stackability: pb::Stackability::Stackable as i32,
            ..Default::default()
        };
        let mut counts = Vec::new();
        for request in [current, everything, stackable] {
            let full = all_at_once(qualification_page(
                app,
                pb::SearchQualificationsRequest {
                    page_size: 500,
                    ..request.clone()
                },
            ))
            .await;
            let pages = walk(
                7,
                qualification_page(
                    app,
                    pb::SearchQualificationsRequest {
                        page_size: 7,
                        ..request
                    },
                ),
            )
            .await;
            assert_pages_cover(&pages, &full, 7);
            counts.push(full.len());
        }
        // 50 descriptions, of which two are withdrawn; 25 current ones are stackable.
        assert_eq!(counts, [48, 50, 25]);
    }
);

both_backends!(
    search_providers_pages_of_three_cover_the_demo_dataset,
    async |app: &TestApp| {
        load_demo(app).await;
        let mut accredited = pb::SearchProvidersRequest::default();
        let (seconds, nanos) = at("2025-06-01T00:00:00Z").to_seconds_nanos();
        let mut stamp = accredited.accredited_at.take().unwrap_or_default();
        (stamp.seconds, stamp.nanos) = (seconds, nanos);
        accredited.accredited_at = Some(stamp);
        let irish = pb::SearchProvidersRequest {
            country: "IE".into(),
            ..Default::default()
        };
        let mut fulls = Vec::new();
        for request in [pb::SearchProvidersRequest::default(), accredited, irish] {
            let full = all_at_once(provider_page(
                app,
                pb::SearchProvidersRequest {
                    page_size: 500,
                    ..request.clone()
                },
            ))
            .await;
            let pages = walk(
                3,
                provider_page(
                    app,
                    pb::SearchProvidersRequest {
                        page_size: 3,
                        ..request
                    },
                ),
            )
            .await;
            assert_pages_cover(&pages, &full, 3);
            fulls.push(full);
        }
        let counts: Vec<_> = fulls.iter().map(Vec::len).collect();
        assert_eq!(counts, [20, 17, 4]);
        // By mid-2025 Kolkheti's licence has expired (its renewal was refused), Tōtara's consent
        // is withdrawn and Nordlicht's only agency has retired.
        let providers = app
            .catalogue
            .clone()
            .search_providers(pb::SearchProvidersRequest {
                page_size: 500,
                ..Default::default()
            })
            .await
            .expect("SearchProviders")
            .into_inner()
            .providers;
        let mut not_accredited: Vec<_> = providers
            .iter()
            .filter(|p| !fulls[1].contains(&p.id))
            .map(|p| p.names[0].value.as_str())
            .collect();
        not_accredited.sort();
        assert_eq!(
            not_accredited,
            [
                "Kolkheti Vocational College",
                "Nordlicht Certification Centre",
                "Tōtara Skills Awarding Body"
            ]
        );
    }
);

both_backends!(
    every_other_list_pages_through_the_demo_dataset,
    async |app: &TestApp| {
        load_demo(app).await;
        let client = app.catalogue.clone();
        macro_rules! check_list {
            ($method:ident, $request:expr, $items:ident, $page_size:expr, $expected:expr) => {{
                let fetch = |size: i32| {
                    let client = client.clone();
                    move |page_token: String| {
                        let mut client = client.clone();
                        let request = $request(size, page_token);
                        async move {
                            let answer = client
                                .$method(request)
                                .await
                                .expect(stringify!($method))
                                .into_inner();
                            (
                                answer
                                    .$items
                                    .into_iter()
                                    .map(|x| x.id)
                                    .collect::<Vec<String>>(),
                                answer.next_page_token,
                            )
                        }
                    }
                };
                let full = all_at_once(fetch(500)).await;
                assert_eq!(full.len(), $expected, stringify!($method));
                let pages = walk($page_size as usize, fetch($page_size)).await;
                assert_pages_cover(&pages, &full, $page_size as usize);
            }};
        }
        check_list!(
            list_accreditations,
            |page_size, page_token| pb::ListAccreditationsRequest {
                page_size,
                page_token,
                ..Default::default()
            },
            accreditations,
            4,
            26
        );
        check_list!(
            search_recognitions,
            |page_size, page_token| pb::SearchRecognitionsRequest {
                page_size,
                page_token,
                include_retracted: true,
                ..Default::default()
            },
            recognitions,
            6,
            20
        );
        check_list!(
            list_qa_agencies,
            |page_size, page_token| pb::ListQaAgenciesRequest {
                page_size,
                page_token,
                ..Default::default()
            },
            qa_agencies,
            2,
            5
        );
        check_list!(
            list_recognition_bodies,
            |page_size, page_token| pb::ListRecognitionBodiesRequest {
                page_size,
                page_token,
                ..Default::default()
            },
            recognition_bodies,
            2,
            3
        );
        check_list!(
            list_frameworks,
            |page_size, page_token| pb::ListFrameworksRequest {
                page_size,
                page_token
            },
            frameworks,
            3,
            4
        );
    }
);

both_backends!(page_size_zero_means_fifty, async |app: &TestApp| {
    load_demo(app).await;
    let extra = app.provider("One More Provider").insert().await;
    app.qualification(&extra, "The Fifty-First").insert().await;
    let mut client = app.catalogue.clone();
    let request = pb::SearchQualificationsRequest {
        include_withdrawn: true,
        ..Default::default()
    };
    let first = client
        .search_qualifications(request.clone())
        .await
        .expect("SearchQualifications")
        .into_inner();
    assert_eq!(first.qualifications.len(), 50);
    assert!(
        !first.next_page_token.is_empty(),
        "51 descriptions do not fit in one default page"
    );
    let rest = client
        .search_qualifications(pb::SearchQualificationsRequest {
            page_token: first.next_page_token,
            ..request
        })
        .await
        .expect("SearchQualifications")
        .into_inner();
    assert_eq!(rest.qualifications.len(), 1);
    assert!(rest.next_page_token.is_empty());
});

both_backends!(
    page_tokens_are_bound_to_their_list_and_filters,
    async |app: &TestApp| {
        load_demo(app).await;
        let mut client = app.catalogue.clone();
        let irish = pb::SearchProvidersRequest {
            country: "IE".into(),
            page_size: 1,
            ..Default::default()
        };
        let all_irish = client
            .search_providers(pb::SearchProvidersRequest {
                page_size: 500,
                ..irish.clone()
            })
            .await
            .expect("SearchProviders")
            .into_inner()
            .providers;
        let first = client
            .search_providers(irish.clone())
            .await
            .expect("SearchProviders")
            .into_inner();
        assert_eq!(first.providers[0].id, all_irish[0].id);
        let token = first.next_page_token;
        assert!(!token.is_empty());

        // The same filters with another page size go on after the first page.
        let next = client
            .search_providers(pb::SearchProvidersRequest {
                page_size: 2,
                page_token: token.clone(),
                ..irish.clone()
            })
            .await
            .expect("SearchProviders")
            .into_inner();
        let ids: Vec<_> = next.providers.iter().map(|p| p.id.clone()).collect();
        let expected: Vec<_> = all_irish[1..3].iter().map(|p| p.id.clone()).collect();
        assert_eq!(ids, expected);

        // Other filters: refused, and the message says why.
        let georgian = pb::SearchProvidersRequest {
            country: "GE".into(),
            page_token: token.clone(),
            ..irish.clone()
        };
        let status = expect_invalid(client.search_providers(georgian).await, "page_token");
        assert!(status.message().contains("other filters"), "{}", status.message());
        let unfiltered = pb::SearchProvidersRequest {
            page_token: token.clone(),
            page_size: 1,
            ..Default::default()
        };
        expect_invalid(client.search_providers(unfiltered).await, "page_token");
        let narrower = pb::SearchProvidersRequest {
            text: "college".into(),
            page_token: token.clone(),
            ..irish.clone()
        };
        expect_invalid(client.search_providers(narrower).await, "page_token");

        // A token of one instant is not a token of another.
        let mut at_2024 = pb::SearchProvidersRequest {
            page_size: 1,
            ..Default::default()
        };
        let mut stamp = at_2024.accredited_at.take().unwrap_or_default();
        stamp.seconds = at("2024-01-01T00:00:00Z").to_seconds_nanos().0;
        at_2024.accredited_at = Some(stamp);
        let token_2024 = client
            .search_providers(at_2024.clone())
            .await
            .expect("SearchProviders")
            .into_inner()
            .next_page_token;
        assert!(!token_2024.is_empty());
        stamp.seconds += 1;
        let at_2024_plus_1s = pb::SearchProvidersRequest {
            accredited_at: Some(stamp),
            page_token: token_2024,
            ..at_2024
        };
        expect_invalid(client.search_providers(at_2024_plus_1s).await, "page_token");

        // Garbage.
        for garbage in ["garbage!", "bm90IGEgdG9rZW4", "cDEKcHJvdmlkZXJzCg", "%00"] {
            let request = pb::SearchProvidersRequest {
                page_token: garbage.into(),
                ..irish.clone()
            };
            expect_invalid(client.search_providers(request).await, "page_token");
        }

        // A token of one list is refused by another, even with no filters on either.
        let providers_token = client
            .search_providers(pb::SearchProvidersRequest {
                page_size: 1,
                ..Default::default()
            })
            .await
            .expect("SearchProviders")
            .into_inner()
            .next_page_token;
        let request = pb::SearchQualificationsRequest {
            page_token: providers_token.clone(),
            ..Default::default()
        };
        expect_invalid(client.search_qualifications(request).await, "page_token");
        let request = pb::ListAccreditationsRequest {
            page_token: providers_token,
            ..Default::default()
        };
        expect_invalid(client.list_accreditations(request).await, "page_token");
        let qualifications_token = client
            .search_qualifications(pb::SearchQualificationsRequest {
                page_size: 1,
                ..Default::default()
            })
            .await
            .expect("SearchQualifications")
            .into_inner()
            .next_page_token;
        let request = pb::SearchRecognitionsRequest {
            page_token: qualifications_token.clone(),
            ..Default::default()
        };
        expect_invalid(client.search_recognitions(request).await, "page_token");
        // ...and by the same list with include_withdrawn changed.
        let request = pb::SearchQualificationsRequest {
            page_token: qualifications_token,
            page_size: 1,
            include_withdrawn: true,
            ..Default::default()
        };
        expect_invalid(client.search_qualifications(request).await, "page_token");
        // QA agencies and recognition bodies share a filter shape but not their tokens.
        let agencies_token = client
            .list_qa_agencies(pb::ListQaAgenciesRequest {
                page_size: 1,
                ..Default::default()
            })
            .await
            .expect("ListQaAgencies")
            .into_inner()
            .next_page_token;
        let request = pb::ListRecognitionBodiesRequest {
            page_token: agencies_token,
            ..Default::default()
        };
        expect_invalid(client.list_recognition_bodies(request).await, "page_token");
        let frameworks_token = client
            .list_frameworks(pb::ListFrameworksRequest {
                page_size: 1,
                page_token: String::new(),
            })
            .await
            .expect("ListFrameworks")
            .into_inner()
            .next_page_token;
        let request = pb::ListQaAgenciesRequest {
            page_token: frameworks_token,
            ..Default::default()
        };
        expect_invalid(client.list_qa_agencies(request).await, "page_token");
    }
);

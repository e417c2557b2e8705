//! The read cache never serves a stale answer, on SQLite and PostgreSQL: after a write is
//! acknowledged, the next CheckIssuer sees it — on another connection to the same server, and on
//! another server (a replica with its own cache) on the same database.

mod common;

use ed25519_dalek::SigningKey;
use tonic::transport::Channel;
use trust_registry::api::convert::timestamp;
use trust_registry::domain::Timestamp;
use trust_registry::domain::keys::{did_key, key_id, multibase};
use trust_registry::pb;
use trust_registry::pb::issuer_query::Issuer;
use trust_registry::pb::trust_service_client::TrustServiceClient;

use common::TestApp;
use common::replica::Replica;
use common::signed::*;

/// A provider with one positive accreditation (2021-2031), registered through signed writes.
struct Setup {
    agency_key: SigningKey,
    provider_key: SigningKey,
    accreditation_id: String,
}

/// A positive institutional accreditation of `provider_id`, 2021-2031.
fn positive_accreditation(provider_id: String) -> pb::RecordAccreditationCommand {
    let ts = |s: &str| Some(timestamp(Timestamp::parse_rfc3339(s).unwrap()));
    pb::RecordAccreditationCommand {
        header: header(),
        provider_id,
        kind: pb::AccreditationKind::InstitutionalReview as i32,
        decision: pb::Decision::Positive as i32,
        scope: Some(pb::AccreditationScope::default()),
        valid_from: ts("2021-01-01T00:00:00Z"),
        valid_until: ts("2031-01-01T00:00:00Z"),
        report_url: String::new(),
        conditions: String::new(),
    }
}

async fn setup(app: &TestApp) -> Setup {
    let agency_key = key("cache agency");
    let provider_key = key("cache provider");
    app.admit_agency("Cache Test Agency", "IE", &agency_key).await;
    let provider_id = app
        .register_provider(&agency_key, "Cache Test College", "IE", &provider_key)
        .await;
    let accreditation_id = app
        .record_accreditation(&agency_key, &positive_accreditation(provider_id))
        .await
        .id;
    Setup {
        agency_key,
        provider_key,
        accreditation_id,
    }
}

/// A new connection to a server, as another client would open.
async fn connect(addr: &str) -> Channel {
    Channel::from_shared(addr.to_owned())
        .expect("endpoint")
        .connect()
        .await
        .expect("connect")
}

/// The verdict for the provider's key, now: status, reason codes, key state, checkpoint size.
async fn check(
    channel: &Channel,
    provider_key: &SigningKey,
) -> (pb::TrustStatus, Vec<pb::TrustReasonCode>, pb::KeyState, u64) {
    let public = provider_key.verifying_key().to_bytes();
    let verdict = common::verdict_about(channel, Issuer::PublicKeyMultibase(multibase(&public))).await;
    let checkpoint_size = verdict
        .checkpoint
        .lines()
        .nth(1)
        .and_then(|line| line.parse().ok())
        .expect("the checkpoint's second line is the log size");
    (
        verdict.status(),
        verdict.reasons.iter().map(|r| r.code()).collect(),
        verdict.key.map(|k| k.state()).unwrap_or_default(),
        checkpoint_size,
    )
}

/// The verdict for the issuer `did`, now: status and reason codes.
async fn check_did(channel: &Channel, did: &str) -> (pb::TrustStatus, Vec<pb::TrustReasonCode>) {
    let verdict = common::verdict_about(channel, Issuer::Did(did.into())).await;
    (
        verdict.status(),
        verdict.reasons.iter().map(|r| r.code()).collect(),
    )
}

/// Suspends (or reinstates) the accreditation from an hour ago, through `channel`.
async fn change_status(channel: &Channel, setup: &Setup, status: pb::AccreditationStatus) {
    let command = pb::ChangeAccreditationStatusCommand {
        header: header(),
        accreditation_id: setup.accreditation_id.clone(),
        status: status as i32,
        effective_at: Some(timestamp(Timestamp::now().plus_seconds(-3600))),
        reason: "cache test".into(),
    };
    pb::accreditation_service_client::AccreditationServiceClient::new(channel.clone())
        .change_accreditation_status(pb::ChangeAccreditationStatusRequest {
            envelope: envelope(
                &setup.agency_key,
                "AccreditationService",
                "ChangeAccreditationStatus",
                &command,
            ),
        })
        .await
        .expect("ChangeAccreditationStatus");
}

async fn revoke_provider_key(channel: &Channel, setup: &Setup) {
    let command = pb::RevokeKeyCommand {
        header: header(),
        actor_id: String::new(),
        key_id: key_id(&setup.provider_key.verifying_key().to_bytes()),
        revoked_at: None,
        reason: "cache test".into(),
    };
    pb::key_service_client::KeyServiceClient::new(channel.clone())
        .revoke_key(pb::RevokeKeyRequest {
            envelope: envelope(&setup.provider_key, "KeyService", "RevokeKey", &command),
        })
        .await
        .expect("RevokeKey");
}

const TRUSTED: pb::TrustStatus = pb::TrustStatus::Trusted;
const NOT_TRUSTED: pb::TrustStatus = pb::TrustStatus::NotTrusted;

/// One server, writes on one connection, reads on fresh ones: every read follows the last write.
async fn write_then_read_on_other_connections(app: &TestApp) {
    let setup = setup(app).await;
    let addr = format!("http://{}", app.addr);
    let reader = connect(&addr).await;
    // Warm the cache: the same answer twice.
    let first = check(&reader, &setup.provider_key).await;
    assert_eq!(first.0, TRUSTED, "{first:?}");
    assert_eq!(check(&reader, &setup.provider_key).await, first);

    change_status(&app.channel, &setup, pb::AccreditationStatus::Suspended).await;
    let after = check(&connect(&addr).await, &setup.provider_key).await;
    assert_eq!(after.0, NOT_TRUSTED, "the suspension is seen at once: {after:?}");
    assert!(
        after.1.contains(&pb::TrustReasonCode::AccreditationSuspended),
        "{after:?}"
    );
    assert_eq!(
        after.3,
        first.3 + 1,
        "the verdict names the checkpoint with the write"
    );
    assert_eq!(
        check(&reader, &setup.provider_key).await.0,
        NOT_TRUSTED,
        "and on the warm connection"
    );

    change_status(&app.channel, &setup, pb::AccreditationStatus::Reinstated).await;
    let reinstated = check(&reader, &setup.provider_key).await;
    assert_eq!(reinstated.0, TRUSTED, "{reinstated:?}");
    assert_eq!(reinstated.3, first.3 + 2);

    revoke_provider_key(&app.channel, &setup).await;
    let revoked = check(&connect(&addr).await, &setup.provider_key).await;
    assert_eq!(revoked.2, pb::KeyState::Revoked, "{revoked:?}");
    assert_eq!(revoked.0, NOT_TRUSTED, "{revoked:?}");
}

/// Two servers on one database, each with its own cache: a write through one is seen by the
/// next read on the other, whose cache was warm.
async fn write_on_one_server_read_on_another(app: &TestApp) {
    let setup = setup(app).await;
    let replica = Replica::start(&app.database_url).await;
    let warm = check(&replica.channel, &setup.provider_key).await;
    assert_eq!(warm.0, TRUSTED, "{warm:?}");
    assert_eq!(check(&replica.channel, &setup.provider_key).await, warm);

    change_status(&app.channel, &setup, pb::AccreditationStatus::Suspended).await;
    let seen = check(&replica.channel, &setup.provider_key).await;
    assert_eq!(
        seen.0, NOT_TRUSTED,
        "the other server's write is seen at once: {seen:?}"
    );
    assert!(
        seen.1.contains(&pb::TrustReasonCode::AccreditationSuspended),
        "{seen:?}"
    );
    assert_eq!(seen.3, warm.3 + 1, "the replica's checkpoint includes the write");

    // And the other way round: a write through the replica, read on the first server (warm).
    assert_eq!(check(&app.channel, &setup.provider_key).await.0, NOT_TRUSTED);
    change_status(&replica.channel, &setup, pb::AccreditationStatus::Reinstated).await;
    let back = check(&app.channel, &setup.provider_key).await;
    assert_eq!(back.0, TRUSTED, "{back:?}");
    assert_eq!(back.3, warm.3 + 2);
    replica.stop().await;
}

both_backends!(other_connections_see_each_write, async |app: &TestApp| {
    write_then_read_on_other_connections(app).await
});
both_backends!(other_servers_see_each_write, async |app: &TestApp| {
    write_on_one_server_read_on_another(app).await
});

/// Lookups of qualifications by id are coalesced into shared queries under load: hundreds at
/// once, known and unknown ids mixed and repeated, each gets its own answer.
async fn concurrent_lookups_each_get_their_own_answer(app: &TestApp) {
    let provider = app.provider("Coalesced Lookups College").insert().await;
    let mut ids = Vec::new();
    for i in 0..20 {
        ids.push(
            app.qualification(&provider, &format!("Lookup {i}"))
                .insert()
                .await
                .id,
        );
    }
    let unknown = "qual_aaaaaaaaaaaaaaaaaaaa".to_owned();
    let mut calls = Vec::new();
    for n in 0..400 {
        let id = if n % 7 == 0 {
            unknown.clone()
        } else {
            ids[n % ids.len()].clone()
        };
        let mut catalogue = app.catalogue.clone();
        calls.push(tokio::spawn(async move {
            let answer = catalogue
                .get_qualification(pb::GetQualificationRequest { id: id.clone() })
                .await;
            (id, answer)
        }));
    }
    for call in calls {
        let (id, answer) = call.await.expect("call task");
        if id == unknown {
            let status = answer.expect_err("unknown id");
            assert_eq!(status.code(), tonic::Code::NotFound, "{status:?}");
            assert!(status.message().contains(&unknown), "{}", status.message());
        } else {
            let found = answer
                .expect("GetQualification")
                .into_inner()
                .qualification
                .expect("qualification");
            assert_eq!(found.id, id, "each lookup gets the qualification it asked for");
            let i: usize = ids.iter().position(|q| *q == id).unwrap();
            assert_eq!(found.titles[0].value, format!("Lookup {i}"));
        }
    }
}

both_backends!(coalesced_lookups_answer_each_caller, async |app: &TestApp| {
    concurrent_lookups_each_get_their_own_answer(app).await
});

/// The qualification a lookup by id on `channel` finds.
async fn lookup(channel: &Channel, id: &str) -> pb::Qualification {
    pb::catalogue_service_client::CatalogueServiceClient::new(channel.clone())
        .get_qualification(pb::GetQualificationRequest { id: id.to_owned() })
        .await
        .expect("GetQualification")
        .into_inner()
        .qualification
        .expect("qualification")
}

/// The ids a search by skill on `channel` finds (withdrawn ones left out).
async fn by_skill(channel: &Channel, skill_uri: &str) -> Vec<String> {
    pb::catalogue_service_client::CatalogueServiceClient::new(channel.clone())
        .search_qualifications(pb::SearchQualificationsRequest {
            skill_uri: skill_uri.to_owned(),
            ..Default::default()
        })
        .await
        .expect("SearchQualifications")
        .into_inner()
        .qualifications
        .into_iter()
        .map(|q| q.id)
        .collect()
}

/// A compact JWS credential (VC-JOSE, EdDSA) signed by `key`, naming the registry
/// micro-credential `qualification_id`, issued at `valid_from`.
fn credential_naming(key: &SigningKey, qualification_id: &str, valid_from: Timestamp) -> String {
    let did = did_key(&key.verifying_key().to_bytes());
    let header = serde_json::json!({"alg": "EdDSA", "kid": did, "typ": "vc+jwt"});
    let payload = serde_json::json!({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": did, "type": ["Profile"]},
        "validFrom": valid_from.to_rfc3339(),
        "credentialSubject": {
            "id": "did:example:learner",
            "type": ["AchievementSubject"],
            "achievement": {
                "id": format!("urn:trust-registry:qualification:{qualification_id}"),
                "type": ["Achievement"],
            },
        },
    });
    trust_registry::domain::credential::sign_jws(key, &header, &payload)
}

/// VerifyCredential's QUALIFICATION check of `credential`: result and detail.
async fn qualification_check(channel: &Channel, credential: &str) -> (pb::CheckResult, String) {
    let response = TrustServiceClient::new(channel.clone())
        .verify_credential(pb::VerifyCredentialRequest {
            credential: credential.to_owned(),
            format: pb::CredentialFormat::Jws as i32,
            at: None,
        })
        .await
        .expect("VerifyCredential")
        .into_inner();
    let check = response
        .checks
        .iter()
        .find(|c| c.kind == pb::CheckKind::Qualification as i32)
        .expect("a QUALIFICATION check");
    (
        pb::CheckResult::try_from(check.result).expect("a known result"),
        check.detail.clone(),
    )
}

/// Qualification lookups and searches (read on SQLite without the pool's driver) see each
/// write at once: on the server that took it, on a new connection, and on another server.
/// So does VerifyCredential's QUALIFICATION check, whose answers are cached.
async fn qualification_writes_are_seen_by_the_next_read(app: &TestApp) {
    let setup = setup(app).await;
    let replica = Replica::start(&app.database_url).await;
    let skill = "http://data.europa.eu/esco/skill/read-cache-freshness";
    let servers = [app.channel.clone(), replica.channel.clone()];
    for channel in &servers {
        assert!(
            by_skill(channel, skill).await.is_empty(),
            "nothing has the skill yet"
        );
    }
    let mut described = description("Freshness of Reads");
    described.learning_outcomes[0].skill_uris = vec![skill.into()];
    let published = publish(app, &setup, described).await;
    let addr = format!("http://{}", app.addr);
    for channel in servers.iter().chain([&connect(&addr).await]) {
        assert_eq!(
            by_skill(channel, skill).await,
            std::slice::from_ref(&published.id)
        );
        let found = lookup(channel, &published.id).await;
        assert_eq!(found.withdrawn_at, None, "{found:?}");
    }
    // Verified on both servers before the withdrawal, so each has the answer cached.
    let before = credential_naming(&setup.provider_key, &published.id, Timestamp::now());
    for channel in &servers {
        for _ in 0..2 {
            let (result, detail) = qualification_check(channel, &before).await;
            assert_eq!(result, pb::CheckResult::Passed, "{detail}");
        }
    }

    // Withdrawn through the replica: both servers, warm, see it on the next read.
    withdraw(&replica.channel, &setup, &published.id).await;
    for channel in &servers {
        assert!(
            lookup(channel, &published.id).await.withdrawn_at.is_some(),
            "the withdrawal is seen at once"
        );
        assert!(
            by_skill(channel, skill).await.is_empty(),
            "and searches leave it out"
        );
    }
    // A credential issued after the withdrawal names a withdrawn micro-credential; one issued
    // before it still names a registered one.
    let after = credential_naming(
        &setup.provider_key,
        &published.id,
        Timestamp::now().plus_seconds(1),
    );
    for channel in servers.iter().chain([&connect(&addr).await]) {
        let (result, detail) = qualification_check(channel, &after).await;
        assert_eq!(result, pb::CheckResult::Failed, "{detail}");
        assert!(detail.contains("withdrawn"), "{detail}");
        let (result, detail) = qualification_check(channel, &before).await;
        assert_eq!(result, pb::CheckResult::Passed, "{detail}");
    }
    replica.stop().await;
}

both_backends!(qualification_reads_see_each_write, async |app: &TestApp| {
    qualification_writes_are_seen_by_the_next_read(app).await
});

/// Withdraws a micro-credential of the setup's provider through `channel`.
async fn withdraw(channel: &Channel, setup: &Setup, qualification_id: &str) {
    pb::provider_service_client::ProviderServiceClient::new(channel.clone())
        .withdraw_qualification(pb::WithdrawQualificationRequest {
            envelope: envelope(
                &setup.provider_key,
                "ProviderService",
                "WithdrawQualification",
                &pb::WithdrawQualificationCommand {
                    header: header(),
                    qualification_id: qualification_id.to_owned(),
                    withdrawn_at: None,
                    reason: "no longer offered".into(),
                },
            ),
        })
        .await
        .expect("WithdrawQualification");
}

/// Publishes a micro-credential by the setup's provider, through a signed write, under the
/// setup's accreditation.
async fn publish(
    app: &TestApp,
    setup: &Setup,
    mut described: pb::QualificationDescription,
) -> pb::Qualification {
    described.quality_assurance.as_mut().unwrap().accreditation_ids = vec![setup.accreditation_id.clone()];
    app.providers()
        .publish_qualification(pb::PublishQualificationRequest {
            envelope: envelope(
                &setup.provider_key,
                "ProviderService",
                "PublishQualification",
                &pb::PublishQualificationCommand {
                    header: header(),
                    description: Some(described),
                },
            ),
        })
        .await
        .expect("PublishQualification")
        .into_inner()
        .qualification
        .expect("qualification")
}

/// A store opened on a registry (a server starting) reads the qualifications' documents into
/// memory and answers lookups from there; a write through another server is seen by its next
/// lookup all the same.
async fn documents_read_at_start_are_served_and_never_stale(app: &TestApp) {
    let setup = setup(app).await;
    let mut ids = Vec::new();
    for i in 0..12 {
        ids.push(
            publish(app, &setup, description(&format!("Read at Start {i}")))
                .await
                .id,
        );
    }
    let store = trust_registry::store::Store::open(&app.database_url, &Default::default())
        .await
        .expect("a second store on the database");
    let loaded = || store.document_stats().expect("documents kept").lookups.entries;
    for _ in 0..500 {
        if loaded() == 12 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(loaded(), 12, "every document read at start");
    let lookup = async |id: &str| store.qualification(id).await.expect("lookup").expect("found");
    let stats = || store.document_stats().unwrap().lookups;
    for (i, id) in ids.iter().enumerate() {
        let found = lookup(id).await;
        assert_eq!(found.titles[0].value, format!("Read at Start {i}"));
        assert_eq!(found.withdrawn_at, None);
    }
    let lookups = stats();
    assert_eq!(
        (lookups.hits, lookups.misses, lookups.stale),
        (12, 0, 0),
        "{lookups:?}"
    );

    withdraw(&app.channel, &setup, &ids[3]).await;
    let found = lookup(&ids[3]).await;
    assert!(
        found.withdrawn_at.is_some(),
        "the withdrawal is seen at once: {found:?}"
    );
    let lookups = stats();
    assert_eq!(
        lookups.stale, 1,
        "the kept document was read before the write: {lookups:?}"
    );
    // Kept again, now as withdrawn, and served from memory.
    let again = lookup(&ids[3]).await;
    assert_eq!(again, found);
    assert_eq!(stats().hits, lookups.hits + 1);

    // The withdrawal changed one document: the others, read before it, are served on (kept),
    // without reading their rows again, and tagged anew (the next lookup is a hit).
    let before = stats();
    let five = lookup(&ids[5]).await;
    assert_eq!(
        (five.titles[0].value.as_str(), five.withdrawn_at),
        ("Read at Start 5", None)
    );
    let after = stats();
    assert_eq!(
        (after.kept, after.stale, after.misses),
        (before.kept + 1, before.stale, before.misses),
        "{after:?}"
    );
    assert_eq!(store.qualification(&ids[5]).await.unwrap().unwrap(), five);
    assert_eq!(stats().hits, after.hits + 1);

    // A change of an accreditation changes its provider's trust facts, no document.
    change_status(&app.channel, &setup, pb::AccreditationStatus::Suspended).await;
    let before = stats();
    let six = lookup(&ids[6]).await;
    assert_eq!(six.withdrawn_at, None);
    assert_eq!(stats().kept, before.kept + 1);
    change_status(&app.channel, &setup, pb::AccreditationStatus::Reinstated).await;

    // Another server withdraws the very document this store keeps: seen at once.
    let replica = Replica::start(&app.database_url).await;
    withdraw(&replica.channel, &setup, &ids[6]).await;
    replica.stop().await;
    let before = stats();
    let six = lookup(&ids[6]).await;
    assert!(
        six.withdrawn_at.is_some(),
        "the withdrawal is seen at once: {six:?}"
    );
    assert_eq!(stats().stale, before.stale + 1);

    // A write that changes every trust fact but no qualification (an agency admitted): the
    // documents are served on.
    app.admit_agency("Second Cache Agency", "FR", &key("second cache agency"))
        .await;
    let before = stats();
    let seven = lookup(&ids[7]).await;
    assert_eq!(seven.titles[0].value, "Read at Start 7");
    let after = stats();
    assert_eq!(
        (after.kept, after.stale),
        (before.kept + 1, before.stale),
        "{after:?}"
    );

    // A write that may change anything (a framework added): every document is read again.
    app.add_framework("cache-test-nqf").await;
    let before = stats();
    let eight = lookup(&ids[8]).await;
    assert_eq!(eight.titles[0].value, "Read at Start 8");
    let after = stats();
    assert_eq!(
        (after.kept, after.stale),
        (before.kept, before.stale + 1),
        "{after:?}"
    );
    store.close().await.expect("close");
}

both_backends!(documents_in_memory_are_never_stale, async |app: &TestApp| {
    documents_read_at_start_are_served_and_never_stale(app).await
});

/// The stats of one kind of the server's read cache.
fn cache_kind(app: &TestApp, kind: &str) -> trust_registry::store::CacheStats {
    app.store
        .cache_stats()
        .into_iter()
        .find(|stats| stats.kind == kind)
        .unwrap_or_else(|| panic!("no cache kind {kind}"))
}

/// A change of one provider's accreditation is seen at once by CheckIssuer for that provider,
/// while other providers' trust facts, read before it, are served on from the cache; a provider
/// registered is found at once by its key and its DID, which were looked up before, and a key
/// revoked at once; a write that changes every trust fact (an agency admitted) has every
/// provider's facts read again.
async fn writes_change_only_what_they_touch(app: &TestApp) {
    let setup = setup(app).await;
    let other_key = key("cache provider two");
    let provider_id = app
        .register_provider(&setup.agency_key, "Cache Test Academy", "IE", &other_key)
        .await;
    app.record_accreditation(&setup.agency_key, &positive_accreditation(provider_id))
        .await;
    let first = check(&app.channel, &setup.provider_key).await;
    let other = check(&app.channel, &other_key).await;
    assert_eq!((first.0, other.0), (TRUSTED, TRUSTED));

    change_status(&app.channel, &setup, pb::AccreditationStatus::Suspended).await;
    let before = cache_kind(app, "providers");
    let seen = check(&app.channel, &other_key).await;
    assert_eq!(seen.0, TRUSTED, "{seen:?}");
    assert_eq!(
        seen.3,
        other.3 + 1,
        "the verdict names the checkpoint with the write"
    );
    let after = cache_kind(app, "providers");
    assert_eq!(
        (after.kept, after.stale, after.misses),
        (before.kept + 1, before.stale, before.misses),
        "the other provider's facts were served on: {after:?}"
    );
    let suspended = check(&app.channel, &setup.provider_key).await;
    assert_eq!(
        suspended.0, NOT_TRUSTED,
        "the suspension is seen at once: {suspended:?}"
    );
    assert_eq!(cache_kind(app, "providers").stale, after.stale + 1);

    // The same through another server with a warm cache of its own.
    let replica = Replica::start(&app.database_url).await;
    assert_eq!(check(&replica.channel, &other_key).await.0, TRUSTED);
    assert_eq!(check(&replica.channel, &setup.provider_key).await.0, NOT_TRUSTED);
    change_status(&app.channel, &setup, pb::AccreditationStatus::Reinstated).await;
    assert_eq!(check(&replica.channel, &setup.provider_key).await.0, TRUSTED);
    assert_eq!(check(&replica.channel, &other_key).await.0, TRUSTED);
    replica.stop().await;

    // A provider registered: the lookups of its key and of its DID, which found nothing before,
    // find it at once; every other provider's facts are served on.
    let new_key = key("cache provider three");
    let did = "did:web:cache-three.example";
    let unknown = vec![pb::TrustReasonCode::UnknownIssuer];
    assert_eq!(check(&app.channel, &new_key).await.1, unknown);
    assert_eq!(check_did(&app.channel, did).await.1, unknown);
    assert_eq!(check(&app.channel, &other_key).await.0, TRUSTED);
    let (providers, keys, identifiers) = (
        cache_kind(app, "providers"),
        cache_kind(app, "issuer_keys"),
        cache_kind(app, "identifiers"),
    );
    let mut command = provider_registration("Cache Test Institute", vec![key_spec(&new_key)]);
    command.identifiers = vec![pb::ExternalIdentifier {
        scheme: pb::IdentifierScheme::Did as i32,
        value: did.into(),
        ..Default::default()
    }];
    app.accreditations()
        .register_provider(pb::RegisterProviderRequest {
            envelope: envelope(
                &setup.agency_key,
                "AccreditationService",
                "RegisterProvider",
                &command,
            ),
        })
        .await
        .expect("RegisterProvider");
    let no_accreditation = vec![pb::TrustReasonCode::NoAccreditation];
    let by_key = check(&app.channel, &new_key).await;
    assert_eq!(
        (by_key.0, &by_key.1),
        (NOT_TRUSTED, &no_accreditation),
        "{by_key:?}"
    );
    let by_did = check_did(&app.channel, did).await;
    assert_eq!(
        (by_did.0, &by_did.1),
        (NOT_TRUSTED, &no_accreditation),
        "{by_did:?}"
    );
    assert_eq!(cache_kind(app, "issuer_keys").stale, keys.stale + 1);
    assert_eq!(cache_kind(app, "identifiers").stale, identifiers.stale + 1);
    assert_eq!(check(&app.channel, &other_key).await.0, TRUSTED);
    let after = cache_kind(app, "providers");
    assert_eq!(
        (after.kept, after.stale),
        (providers.kept + 1, providers.stale),
        "the other provider's facts were served on: {after:?}"
    );

    // A key revoked: its owner's facts and the key's lookups are seen at once, through this
    // server and through another with a warm cache of its own; other providers' facts are served
    // on.
    let replica = Replica::start(&app.database_url).await;
    assert_eq!(check(&replica.channel, &setup.provider_key).await.0, TRUSTED);
    assert_eq!(check(&replica.channel, &other_key).await.0, TRUSTED);
    assert_eq!(check(&app.channel, &setup.provider_key).await.0, TRUSTED);
    let before = cache_kind(app, "providers");
    revoke_provider_key(&app.channel, &setup).await;
    for channel in [&app.channel, &replica.channel] {
        let revoked = check(channel, &setup.provider_key).await;
        assert_eq!(
            (revoked.0, revoked.2),
            (NOT_TRUSTED, pb::KeyState::Revoked),
            "{revoked:?}"
        );
        assert_eq!(check(channel, &other_key).await.0, TRUSTED);
    }
    replica.stop().await;
    let after = cache_kind(app, "providers");
    assert_eq!(
        (after.kept, after.stale),
        (before.kept + 1, before.stale + 1),
        "the other provider's facts served on, the key's owner's read again: {after:?}"
    );

    // An agency admitted: a write that changes every trust fact (providers' facts carry their
    // agencies), so nothing is served on past it.
    app.admit_agency("Third Cache Agency", "FR", &key("third cache agency"))
        .await;
    let before = cache_kind(app, "providers");
    assert_eq!(check(&app.channel, &other_key).await.0, TRUSTED);
    let after = cache_kind(app, "providers");
    assert_eq!(
        (after.kept, after.stale),
        (before.kept, before.stale + 1),
        "nothing served on past it: {after:?}"
    );
}

both_backends!(writes_invalidate_only_what_they_touch, async |app: &TestApp| {
    writes_change_only_what_they_touch(app).await
});

//! The in-process batch: reads of rows it queued, and forged or copied writes found before the
//! lock.

use super::*;
use crate::both_backends;

// One batch whose writes read what its earlier writes inserted, still queued or sent in the
// background: 400 providers first (over 1,000 rows, enough for a background send on SQLite),
// then a provider registered and accredited, 400 more providers (the accreditation's rows are
// sent), the accreditation suspended (read back inside the transaction) and reinstated (its
// rows, queued again, replaced in the queue), a qualification of the provider naming it. The
// batch commits on its first, deferred try. A key registered twice in a batch, left to the
// unique index on the first try, fails it (the repeat is among the rows sent in the
// background); the second try names the write.
both_backends!(a_batch_reads_the_rows_it_queued, async |app: &TestApp| {
    use trust_registry::domain::ids::IdKind;
    use trust_registry::domain::{DomainError, Timestamp};

    let importer = importer(app);
    let agency_key = key("queued agency");
    let college_key = key("queued college");
    let mut requests = writes(&agency_key, 400);
    let register = pb::RegisterProviderCommand {
        header: header(),
        names: en("Queued Test College"),
        country: "IE".into(),
        kind: pb::ProviderKind::HigherEducation as i32,
        keys: vec![key_spec(&college_key)],
        ..Default::default()
    };
    let (write, provider_id) = minting(
        &agency_key,
        "AccreditationService",
        "RegisterProvider",
        &register,
        IdKind::Provider,
    );
    requests.push(write);
    let valid_from = Timestamp::parse_rfc3339("2021-01-01T00:00:00Z").unwrap();
    let record = pb::RecordAccreditationCommand {
        header: header(),
        provider_id: provider_id.clone(),
        kind: pb::AccreditationKind::InstitutionalReview as i32,
        decision: pb::Decision::Positive as i32,
        valid_from: Some(trust_registry::api::convert::timestamp(valid_from)),
        ..Default::default()
    };
    let (write, accreditation_id) = minting(
        &agency_key,
        "AccreditationService",
        "RecordAccreditation",
        &record,
        IdKind::Accreditation,
    );
    requests.push(write);
    // 400 more providers: the accreditation's rows leave the queue in a background send, so
    // the suspension reads them back, after waiting for that send.
    requests.extend((0..400).map(|i| {
        let name = format!("Queued Later College {i}");
        registration(&agency_key, &name, &key(&name))
    }));
    // Suspended, then reinstated: the second change replaces the rows the first queued again.
    for (status, at, reason) in [
        (
            pb::AccreditationStatus::Suspended,
            "2024-01-01T00:00:00Z",
            "queued test",
        ),
        (
            pb::AccreditationStatus::Reinstated,
            "2024-06-01T00:00:00Z",
            "queued test, reinstated",
        ),
    ] {
        let change = pb::ChangeAccreditationStatusCommand {
            header: header(),
            accreditation_id: accreditation_id.clone(),
            status: status as i32,
            effective_at: Some(trust_registry::api::convert::timestamp(
                Timestamp::parse_rfc3339(at).unwrap(),
            )),
            reason: reason.into(),
        };
        requests.push(request(
            &agency_key,
            "AccreditationService",
            "ChangeAccreditationStatus",
            &change,
        ));
    }
    let mut described = description("Queued Test Course");
    described.quality_assurance.as_mut().unwrap().accreditation_ids = vec![accreditation_id.clone()];
    let publish = pb::PublishQualificationCommand {
        header: header(),
        description: Some(described),
    };
    let (write, qualification_id) = minting(
        &college_key,
        "ProviderService",
        "PublishQualification",
        &publish,
        IdKind::Qualification,
    );
    requests.push(write);

    let before = log_size(app).await;
    let outcome = importer
        .import_batch(&pairs(&requests), Timestamp::now())
        .await
        .expect("import_batch");
    assert!(outcome.refused.is_none(), "{:?}", outcome.refused);
    assert!(!outcome.retried, "the deferred first try commits");
    assert_eq!(outcome.receipts.len(), 806);
    assert_eq!(log_size(app).await, before + 806);
    assert_eq!(providers_named(app, "Import Test College").await, 400);
    assert_eq!(providers_named(app, "Queued Later College").await, 400);
    assert!(known(app, 0).await && known(app, 399).await);
    let mut catalogue = app.catalogue.clone();
    let accreditation = catalogue
        .get_accreditation(pb::GetAccreditationRequest {
            id: accreditation_id.clone(),
        })
        .await
        .expect("GetAccreditation")
        .into_inner()
        .accreditation
        .unwrap();
    let statuses: Vec<_> = accreditation
        .status_history
        .iter()
        .map(|period| period.status())
        .collect();
    assert_eq!(
        statuses,
        [
            pb::AccreditationStatus::Granted,
            pb::AccreditationStatus::Suspended,
            pb::AccreditationStatus::Reinstated
        ]
    );
    let reasons: Vec<_> = accreditation
        .status_history
        .iter()
        .map(|period| period.reason.as_str())
        .collect();
    assert_eq!(reasons[1..], ["queued test", "queued test, reinstated"]);
    let qualification = catalogue
        .get_qualification(pb::GetQualificationRequest { id: qualification_id })
        .await
        .expect("GetQualification")
        .into_inner()
        .qualification
        .unwrap();
    assert_eq!(qualification.provider_id, provider_id);

    // Two providers with one key in one batch: the second is refused, the first applied.
    let twice = key("queued twice");
    let mut requests = Vec::new();
    let names = ["Queued Twin One".to_owned(), "Queued Twin Two".to_owned()]
        .into_iter()
        .chain((0..400).map(|i| format!("Queued Filler {i}")));
    for (i, name) in names.enumerate() {
        let provider_key = if i < 2 { twice.clone() } else { key(&name) };
        requests.push(registration(&agency_key, &name, &provider_key));
    }
    let before = log_size(app).await;
    let outcome = importer
        .import_batch(&pairs(&requests), Timestamp::now())
        .await
        .expect("import_batch");
    assert!(outcome.retried, "the repeated key fails the deferred try");
    match &outcome.refused {
        Some((1, DomainError::AlreadyExists(message))) => {
            assert!(message.contains("is registered already"), "{message}")
        }
        other => panic!("the second write is refused as a repeated key: {other:?}"),
    }
    assert_eq!(outcome.receipts.len(), 1);
    assert_eq!(log_size(app).await, before + 1);
    assert_eq!(providers_named(app, "Queued Twin").await, 1);
    assert_eq!(providers_named(app, "Queued Filler").await, 0);
});

// Signatures by registered keys are verified before a batch takes the write lock, and copies
// of logged writes are found then too: a batch holding either is not applied as a whole and
// rolled back at its commit (`retried`), but write by write at once. The writes before a
// forged one stay applied and it is refused; copies are answered as replays.
both_backends!(
    forged_or_copied_writes_are_found_before_the_lock,
    async |app: &TestApp| {
        use trust_registry::domain::{DomainError, Timestamp};

        let importer = importer(app);
        let agency_key = key("ahead agency");
        let setup = writes(&agency_key, 2);
        let outcome = importer
            .import_batch(&pairs(&setup), Timestamp::now())
            .await
            .expect("import_batch");
        assert!(outcome.refused.is_none() && !outcome.retried, "{outcome:?}");

        // Control: fresh writes by the registered agency go the fast way, in one try.
        let fresh: Vec<_> = (0..3)
            .map(|i| {
                registration(
                    &agency_key,
                    &format!("Ahead Control {i}"),
                    &key(&format!("ahead control {i}")),
                )
            })
            .collect();
        let outcome = importer
            .import_batch(&pairs(&fresh), Timestamp::now())
            .await
            .expect("import_batch");
        assert!(outcome.refused.is_none() && !outcome.retried, "{outcome:?}");

        // A forged signature by the agency's registered key, third of five.
        let mut forged: Vec<_> = (0..5)
            .map(|i| {
                registration(
                    &agency_key,
                    &format!("Ahead Forged {i}"),
                    &key(&format!("ahead forged {i}")),
                )
            })
            .collect();
        forged[2].envelope.as_mut().unwrap().signature[0] ^= 1;
        let before = log_size(app).await;
        let outcome = importer
            .import_batch(&pairs(&forged), Timestamp::now())
            .await
            .expect("import_batch");
        assert!(
            !outcome.retried,
            "the forged signature is found before the batch: {outcome:?}"
        );
        match &outcome.refused {
            Some((2, DomainError::Unauthenticated(message))) => {
                assert!(message.contains("envelope.signature"), "{message}")
            }
            other => panic!("the forged write is refused: {other:?}"),
        }
        assert_eq!(outcome.receipts.len(), 2);
        assert_eq!(log_size(app).await, before + 2);
        assert_eq!(providers_named(app, "Ahead Forged").await, 2);

        // The control's writes again, with a new one: the copies are replays, nothing twice.
        let mut again = fresh.clone();
        again.push(registration(&agency_key, "Ahead Late", &key("ahead late")));
        let before = log_size(app).await;
        let outcome = importer
            .import_batch(&pairs(&again), Timestamp::now())
            .await
            .expect("import_batch");
        assert!(outcome.refused.is_none() && !outcome.retried, "{outcome:?}");
        let replayed: Vec<bool> = outcome.receipts.iter().map(|r| r.replayed).collect();
        assert_eq!(replayed, [true, true, true, false]);
        assert_eq!(log_size(app).await, before + 1);
    }
);

//! Verdicts name the checkpoint of the state they were drawn from.

use super::*;
use crate::both_backends;

async fn verdict_checkpoint(app: &TestApp, provider_id: &str) -> String {
    common::verdict_about(&app.channel, Issuer::ProviderId(provider_id.to_owned()))
        .await
        .checkpoint
}

both_backends!(verdicts_name_their_facts_checkpoint, async |app: &TestApp| {
    // Before any write: the empty tree.
    let empty = verdict_checkpoint(app, UNKNOWN_PROVIDER).await;
    assert_eq!(empty, format!("{ORIGIN}\n0\n{}\n", b64(&merkle::empty_root())));
    assert_eq!(empty, checkpoint(app).await.body());

    let agency = key("verdict agency");
    admit(app, "Verdict Agency", &agency).await;
    let (provider, _) = register(
        app.accreditations(),
        &agency,
        "Verdict College",
        &key("verdict college"),
    )
    .await;
    let first = verdict_checkpoint(app, &provider).await;
    let head = checkpoint(app).await;
    assert_eq!(head.size, 2);
    assert_eq!(first, head.body(), "the verdict names the current checkpoint");
    assert_eq!(Checkpoint::from_body(&first), Ok(head));

    writes(app, "verdict more", 4).await;
    let second = verdict_checkpoint(app, &provider).await;
    let head = checkpoint(app).await;
    assert_eq!(head.size, 6);
    assert_ne!(second, first, "a later verdict names a later checkpoint");
    assert_eq!(second, head.body());
    // An unknown issuer's verdict names it too.
    assert_eq!(verdict_checkpoint(app, UNKNOWN_PROVIDER).await, head.body());

    // A verdict names the log size its facts were loaded under, which the log may have grown
    // past by the time it is signed: the root of an earlier size is the one that size had.
    let earlier = Checkpoint::from_body(&first).expect("a checkpoint body");
    assert_eq!(app.store.log_root(earlier.size).await.ok(), Some(earlier.root));
    assert_eq!(app.store.log_root(head.size).await.ok(), Some(head.root));
    assert!(
        app.store.log_root(head.size + 1).await.is_err(),
        "no root beyond the log"
    );
});

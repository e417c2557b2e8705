//! The commit as other readers see it.

use std::task::Poll;

use super::*;

/// Inserts log entry `index` (a bare row: the freshness check reads the log's size alone).
async fn log_row(tx: &DatabaseTransaction, index: i64) {
    let row = signed_write::ActiveModel {
        log_index: Set(index),
        id: Set(format!("envelope {index}")),
        rpc: Set("rpc".into()),
        command: Set(vec![1]),
        key_id: Set("key".into()),
        signature: Set(vec![0; 64]),
        signer_id: Set("signer".into()),
        nonce: Set(format!("nonce {index}")),
        issued_at: Set(0),
        received_at: Set(0),
        applied: Set("null".into()),
        leaf_hash: Set(vec![7; 32]),
    };
    signed_write::Entity::insert(row).exec(tx).await.unwrap();
}

/// A write whose caller is dropped while its commit is under way (a cancelled call) is
/// still seen by the reads after that commit: the commit was counted as finished when the
/// caller was dropped, while SQLite's driver thread still had it to do, so a read at that
/// moment took the log size from before it under the count after it, and every later read
/// trusted that old size until the next write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_whose_caller_is_dropped_is_seen_by_later_reads() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("r.db").display());
    let store = Store::open(&url, &crate::store::StoreOptions::default())
        .await
        .unwrap();
    for index in 0..20 {
        assert_eq!(store.generation().await.unwrap().log_size, index as u64);
        let turn = store.writer.clone().lock_owned().await;
        let tx = store.begin_write().await.unwrap();
        log_row(&tx, index).await;
        let mut commit = Box::pin(store.commit_counted(tx, turn));
        // Polled once, so that the commit is under way (or done), then dropped.
        let _ = std::future::poll_fn(|cx| Poll::Ready(commit.as_mut().poll(cx))).await;
        drop(commit);
        // A read while the commit is under way may or may not see it.
        store.generation().await.unwrap();
        // Once it has been carried out and counted, every read sees it.
        while next_log_index(&store.db).await.unwrap() <= index || store.commits.settled().is_none() {
            tokio::task::yield_now().await;
        }
        assert_eq!(
            store.generation().await.unwrap().log_size,
            index as u64 + 1,
            "write {index}, committed after its caller was dropped, is seen"
        );
    }
}

/// A database opened by two names (one a symbolic link to the file, which SQLite follows)
/// counts its commits in one place: a write through one name is seen by the next read
/// through the other, whose generation was taken before it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_through_one_name_of_the_file_is_seen_through_another() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("r.db");
    let link = dir.path().join("link.db");
    let options = crate::store::StoreOptions::default();
    let writer = Store::open(&format!("sqlite://{}?mode=rwc", file.display()), &options)
        .await
        .unwrap();
    std::os::unix::fs::symlink(&file, &link).unwrap();
    let reader = Store::open(&format!("sqlite://{}", link.display()), &options)
        .await
        .unwrap();
    assert_eq!(reader.generation().await.unwrap().log_size, 0);
    let turn = writer.writer.clone().lock_owned().await;
    let tx = writer.begin_write().await.unwrap();
    log_row(&tx, 0).await;
    writer.commit_counted(tx, turn).await.unwrap();
    assert_eq!(
        next_log_index(&reader.db).await.unwrap(),
        1,
        "the reader's database has it"
    );
    assert_eq!(
        reader.generation().await.unwrap().log_size,
        1,
        "and its next read sees it"
    );
}

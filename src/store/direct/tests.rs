//! Tests of the direct reads: freshness, plans kept, the byte limit, the row hints.

use super::*;

#[test]
fn reads_see_every_committed_write_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let writer = Connection::open(&path).unwrap();
    writer
        .execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (id TEXT PRIMARY KEY, n INTEGER);")
        .unwrap();
    let reads = DirectReads::open(&path, 0).unwrap();
    let select = |n: i64| Statement {
        sql: "SELECT id FROM t WHERE n >= ? ORDER BY id".into(),
        values: Some(sea_orm::sea_query::Values(vec![Value::BigInt(Some(n))])),
        db_backend: sea_orm::DbBackend::Sqlite,
    };
    assert!(reads.texts(&select(0), usize::MAX).unwrap().is_empty());
    writer
        .execute("INSERT INTO t VALUES ('a', 1), ('b', 2)", [])
        .unwrap();
    assert_eq!(reads.texts(&select(2), usize::MAX).unwrap(), ["b"]);
    writer.execute("UPDATE t SET n = 3 WHERE id = 'a'", []).unwrap();
    assert_eq!(reads.texts(&select(2), usize::MAX).unwrap(), ["a", "b"]);
    let write = Statement {
        sql: "DELETE FROM t RETURNING id".into(),
        values: None,
        db_backend: sea_orm::DbBackend::Sqlite,
    };
    let refused = reads.texts(&write, usize::MAX).unwrap_err().to_string();
    assert!(
        refused.contains("readonly") || refused.contains("read-only"),
        "{refused}"
    );
    let count: i64 = writer
        .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
        .unwrap();
    assert_eq!(count, 2);
}

/// The value of `SQLITE_DBCONFIG_ENABLE_QPSG` on a connection.
async fn plans_kept(connection: &mut sea_orm::sqlx::SqliteConnection) -> bool {
    let mut handle = connection.lock_handle().await.unwrap();
    let mut value: std::ffi::c_int = -1;
    // SAFETY: the handle is locked for the call; -1 reads the option without changing it.
    let rc = unsafe {
        rusqlite::ffi::sqlite3_db_config(
            handle.as_raw_handle().as_ptr(),
            rusqlite::ffi::SQLITE_DBCONFIG_ENABLE_QPSG,
            -1 as std::ffi::c_int,
            &mut value as *mut std::ffi::c_int,
        )
    };
    assert_eq!(rc, rusqlite::ffi::SQLITE_OK);
    value == 1
}

#[tokio::test]
async fn pooled_connections_keep_their_plans() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("p.db").display());
    let mut plain = sea_orm::ConnectOptions::new(url.clone());
    plain.max_connections(2);
    let plain = sea_orm::Database::connect(plain).await.unwrap();
    let mut connection = plain.get_sqlite_connection_pool().acquire().await.unwrap();
    assert!(
        !plans_kept(&mut connection).await,
        "SQLite's default changed: the check means nothing"
    );
    let mut kept = sea_orm::ConnectOptions::new(url);
    kept.max_connections(2);
    keep_plans(&mut kept);
    let kept = sea_orm::Database::connect(kept).await.unwrap();
    // Both connections of the pool: the second is opened while the first is held.
    let pool = kept.get_sqlite_connection_pool();
    let mut first = pool.acquire().await.unwrap();
    let mut second = pool.acquire().await.unwrap();
    assert!(plans_kept(&mut first).await);
    assert!(plans_kept(&mut second).await);
}

#[tokio::test]
async fn the_stores_pools_keep_their_plans() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("s.db").display());
    let store = crate::store::Store::open(&url, &crate::store::StoreOptions::default())
        .await
        .unwrap();
    let mut reading = store.db.get_sqlite_connection_pool().acquire().await.unwrap();
    assert!(plans_kept(&mut reading).await);
    let write_db = store
        .write_db
        .as_ref()
        .expect("a SQLite file has a writing connection");
    let mut writing = write_db.get_sqlite_connection_pool().acquire().await.unwrap();
    assert!(plans_kept(&mut writing).await);
}

#[test]
fn reads_stop_after_the_row_that_crosses_the_byte_limit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let writer = Connection::open(&path).unwrap();
    writer
        .execute_batch(
            "PRAGMA journal_mode = WAL; CREATE TABLE t (id TEXT PRIMARY KEY, doc TEXT);
             INSERT INTO t VALUES ('a', 'xxxx'), ('b', 'yyyy'), ('c', 'zzzz'), ('d', 'wwww');",
        )
        .unwrap();
    let reads = DirectReads::open(&path, 0).unwrap();
    let all = Statement::from_string(sea_orm::DbBackend::Sqlite, "SELECT doc FROM t ORDER BY id");
    assert_eq!(reads.texts(&all, usize::MAX).unwrap().len(), 4);
    // 4 + 4 bytes fit in 8; the third row crosses 8 and is the last one read.
    assert_eq!(reads.texts(&all, 8).unwrap(), ["xxxx", "yyyy", "zzzz"]);
    assert_eq!(reads.texts(&all, 7).unwrap(), ["xxxx", "yyyy"]);
    assert_eq!(reads.texts(&all, 0).unwrap(), ["xxxx"]);
}

/// Waits for the row hints' loader to have loaded `n` hints.
fn loaded(reads: &DirectReads, n: u64) {
    let started = std::time::Instant::now();
    while reads.hint_stats().entries < n {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{:?}",
            reads.hint_stats()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A SQLite file in `dir` with a `qualification` table as GetQualification reads it (an id
/// and a document), in WAL mode, and the connection that made it, to write with.
fn qualification_file(dir: &Path) -> (PathBuf, Connection) {
    let path = dir.join("q.db");
    let writer = Connection::open(&path).unwrap();
    writer
        .execute_batch(
            "PRAGMA journal_mode = WAL;
             CREATE TABLE qualification (id TEXT PRIMARY KEY, doc TEXT NOT NULL);",
        )
        .unwrap();
    (path, writer)
}

#[test]
fn qualification_lookups_by_row_hint_never_answer_for_another_row() {
    let dir = tempfile::tempdir().unwrap();
    let (path, writer) = qualification_file(dir.path());
    writer
        .execute(
            "INSERT INTO qualification VALUES ('qual_a', 'A'), ('qual_b', 'B'), ('qual_c', 'C')",
            [],
        )
        .unwrap();
    let plan = |sql: &str| -> String {
        let mut explain = writer.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        // Parameters left unbound: the plan does not depend on their values.
        let mut rows = explain.raw_query();
        let mut steps = Vec::new();
        while let Some(row) = rows.next().unwrap() {
            steps.push(row.get::<_, String>(3).unwrap());
        }
        steps.join("; ")
    };
    // One descent of the table, not of the id index; the load reads the index alone.
    assert!(
        plan(DOC_BY_ROWID).contains("INTEGER PRIMARY KEY (rowid=?)"),
        "{}",
        plan(DOC_BY_ROWID)
    );
    assert!(
        plan(ROWIDS_AFTER).contains("COVERING INDEX"),
        "{}",
        plan(ROWIDS_AFTER)
    );

    let reads = DirectReads::open(&path, 100).unwrap();
    loaded(&reads, 3);
    let doc = |id: &str| reads.qualification_doc(id).unwrap();
    assert_eq!(doc("qual_b").as_deref(), Some("B"));
    assert_eq!(reads.hint_stats().hits, 1, "read by its hint");
    // A change to the row is seen by the next lookup.
    writer
        .execute("UPDATE qualification SET doc = 'B2' WHERE id = 'qual_b'", [])
        .unwrap();
    assert_eq!(doc("qual_b").as_deref(), Some("B2"));

    // qual_c's row goes, and the next row inserted takes its rowid (the largest + 1).
    writer
        .execute("DELETE FROM qualification WHERE id = 'qual_c'", [])
        .unwrap();
    writer
        .execute("INSERT INTO qualification VALUES ('qual_d', 'D')", [])
        .unwrap();
    let rowid_of = |id: &str| -> i64 {
        writer
            .query_row("SELECT rowid FROM qualification WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .unwrap()
    };
    assert_eq!(
        rowid_of("qual_d"),
        3,
        "the rowid was not reused: the case is not tested"
    );
    assert_eq!(doc("qual_c"), None, "qual_c's hint names qual_d's row now");
    assert_eq!(reads.hint_stats().stale, 1);
    assert_eq!(doc("qual_c"), None);
    assert_eq!(doc("qual_d").as_deref(), Some("D"));
    assert_eq!(doc("qual_d").as_deref(), Some("D"));

    // Rows that trade rowids (as a renumbering might leave them): each hint names the
    // other's row now, and neither answers for the other.
    writer
        .execute_batch(
            "UPDATE qualification SET rowid = 100 WHERE id = 'qual_b';
             UPDATE qualification SET rowid = 2 WHERE id = 'qual_d';
             UPDATE qualification SET rowid = 3 WHERE id = 'qual_b';",
        )
        .unwrap();
    assert_eq!((rowid_of("qual_b"), rowid_of("qual_d")), (3, 2));
    let stale = reads.hint_stats().stale;
    assert_eq!(doc("qual_b").as_deref(), Some("B2"));
    assert_eq!(doc("qual_d").as_deref(), Some("D"));
    assert_eq!(reads.hint_stats().stale, stale + 2);
    assert_eq!(doc("qual_b").as_deref(), Some("B2"));
    assert_eq!(doc("qual_d").as_deref(), Some("D"));
    assert_eq!(reads.hint_stats().stale, stale + 2, "both learned their new rows");
    assert_eq!(doc("qual_x"), None);

    // Without hints the same answers, through the index.
    let plain = DirectReads::open(&path, 0).unwrap();
    for (id, want) in [("qual_c", None), ("qual_b", Some("B2")), ("qual_d", Some("D"))] {
        assert_eq!(plain.qualification_doc(id).unwrap().as_deref(), want);
    }
    assert_eq!(plain.hint_stats().hits, 0);
}

#[test]
fn the_hints_load_in_chunks_up_to_their_bound() {
    let dir = tempfile::tempdir().unwrap();
    let (path, writer) = qualification_file(dir.path());
    let rows = LOAD_CHUNK as usize * 2 + 7;
    let insert = (0..rows)
        .map(|i| format!("('qual_{i:06}', 'doc {i}')"))
        .collect::<Vec<_>>()
        .join(", ");
    writer
        .execute_batch(&format!("INSERT INTO qualification VALUES {insert};"))
        .unwrap();
    let all = DirectReads::open(&path, rows + 10).unwrap();
    loaded(&all, rows as u64);
    for i in [0, LOAD_CHUNK as usize, rows - 1] {
        let id = format!("qual_{i:06}");
        assert_eq!(all.qualification_doc(&id).unwrap(), Some(format!("doc {i}")));
    }
    assert_eq!((all.hint_stats().hits, all.hint_stats().misses), (3, 0));

    let some = DirectReads::open(&path, 100).unwrap();
    loaded(&some, 100);
    // The loader stops at the bound; a lookup past it still answers, through the index.
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(some.hint_stats().entries, 100);
    let last = format!("qual_{:06}", rows - 1);
    assert_eq!(
        some.qualification_doc(&last).unwrap(),
        Some(format!("doc {}", rows - 1))
    );
    assert_eq!(some.hint_stats().misses, 1);
}

#[test]
fn values_bind_as_sqlite_stores_them() {
    assert_eq!(sql_value(&Value::SmallInt(Some(5))).unwrap(), Sql::Integer(5));
    assert_eq!(sql_value(&Value::String(None)).unwrap(), Sql::Null);
    assert_eq!(sql_value(&Value::Bool(Some(true))).unwrap(), Sql::Integer(1));
    // LIMIT is bound as an unsigned 64-bit value.
    assert_eq!(
        sql_value(&Value::BigUnsigned(Some(21))).unwrap(),
        Sql::Integer(21)
    );
    assert!(sql_value(&Value::BigUnsigned(Some(u64::MAX))).is_err());
    assert_eq!(
        sql_value(&Value::String(Some("x".into()))).unwrap(),
        Sql::Text("x".into())
    );
}

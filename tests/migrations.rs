//! Migrations on a database that other servers open at the same time, and again.

mod common;

use common::Backend;
use common::replica::with_database;
use trust_registry::store::{Store, StoreOptions};

/// Servers started together on a fresh database (replicas deployed at once) all start: one
/// brings the schema up, the others find it done; opening it again changes nothing.
async fn servers_started_together_all_open(backend: Backend) {
    with_database(backend, async |url: String| {
        let opens: Vec<_> = (0..4)
            .map(|_| {
                let url = url.clone();
                tokio::spawn(async move { Store::open(&url, &StoreOptions::default()).await })
            })
            .collect();
        let mut stores = Vec::new();
        for open in opens {
            match open.await.expect("open task") {
                Ok(store) => stores.push(store),
                Err(err) => panic!("a server started with the others failed to open the store: {err}"),
            }
        }
        let again = Store::open(&url, &StoreOptions::default())
            .await
            .expect("opens again");
        stores.push(again);
        for store in stores {
            store.close().await.expect("closes");
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_started_together_on_sqlite() {
    servers_started_together_all_open(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_started_together_on_postgres() {
    servers_started_together_all_open(Backend::Postgres).await;
}

/// An audit refuses a database this version has not migrated yet, naming the first migration
/// missing. A database that a later version has migrated is refused, by the server and by the
/// audit, with an error that names what this version does not know; and it is left as it was.
async fn a_schema_from_a_later_version_is_refused(backend: Backend) {
    use sea_orm::{ConnectionTrait, Database, Statement};
    const LATER: &str = "m20991231_000001_from_a_later_version";
    with_database(backend, async |url: String| {
        let refused = trust_registry::store::Tables::connect(&url)
            .await
            .err()
            .expect("an audit refuses a database with no schema")
            .to_string();
        let all = <migrations::Migrator as migrations::MigratorTrait>::migrations().len();
        assert!(
            refused.contains(&format!(
                "{all} migrations not applied, from m20261128_000001_catalogue"
            )),
            "{refused}"
        );
        Store::open(&url, &StoreOptions::default())
            .await
            .expect("opens")
            .close()
            .await
            .expect("closes");
        let db = Database::connect(&url).await.expect("connects");
        let backend = db.get_database_backend();
        let count = async |db: &sea_orm::DatabaseConnection| -> i64 {
            db.query_one_raw(Statement::from_string(
                backend,
                r#"SELECT count(*) AS "n" FROM "seaql_migrations""#,
            ))
            .await
            .unwrap()
            .unwrap()
            .try_get("", "n")
            .unwrap()
        };
        let before = count(&db).await;
        db.execute_raw(Statement::from_string(
            backend,
            format!(r#"INSERT INTO "seaql_migrations" ("version", "applied_at") VALUES ('{LATER}', 0)"#),
        ))
        .await
        .expect("records a later migration");

        let refused = Store::open(&url, &StoreOptions::default())
            .await
            .err()
            .expect("a server of this version refuses the database")
            .to_string();
        assert!(
            refused.contains("later version") && refused.contains(LATER),
            "{refused}"
        );
        let refused = trust_registry::store::Tables::connect(&url)
            .await
            .err()
            .expect("an audit of this version refuses the database")
            .to_string();
        assert!(
            refused.contains("later version") && refused.contains(LATER),
            "{refused}"
        );
        assert_eq!(count(&db).await, before + 1, "nothing was migrated or undone");

        db.execute_raw(Statement::from_string(
            backend,
            format!(r#"DELETE FROM "seaql_migrations" WHERE "version" = '{LATER}'"#),
        ))
        .await
        .unwrap();
        db.close().await.unwrap();
        Store::open(&url, &StoreOptions::default())
            .await
            .expect("the same database opens once it holds no later migration")
            .close()
            .await
            .unwrap();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_later_schema_is_refused_on_sqlite() {
    a_schema_from_a_later_version_is_refused(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_later_schema_is_refused_on_postgres() {
    a_schema_from_a_later_version_is_refused(Backend::Postgres).await;
}

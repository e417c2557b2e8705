//! Every row of every table, in a canonical order and form that do not depend on the backend,
//! for comparing two stores row by row (`trust-registry audit`).
//!
//! The catalogue's documents are not the whole state: trust decisions also read the identifier
//! bindings, the keys, the accreditations by their `provider_id` column, the status rows, and
//! searches read the qualifications' index columns and skill rows. A row changed there outside
//! the log changes answers while every document stays as the log made it, so an audit has to
//! compare every column of every table.

use sea_orm::{ConnectionTrait, Database, DatabaseConnection, EntityTrait};
use serde::Serialize;
use serde_json::{Map, Value};

use super::Store;
use super::entity::*;
use crate::domain::DomainError;

type Result<T> = std::result::Result<T, DomainError>;

/// The tables of the schema, in the order an audit compares them: the log first (a store
/// behind a different log differs there before anywhere else), then what trust decisions read,
/// then the rest of the catalogue.
pub const TABLES: [&str; 12] = [
    "signed_write",
    "qa_agency",
    "provider",
    "external_identifier",
    "actor_key",
    "accreditation",
    "accreditation_status",
    "framework",
    "qualification",
    "qualification_skill",
    "recognition_body",
    "recognition",
];

/// One row: a name for it in reports (its key), and every column by name.
#[derive(Debug, Clone, PartialEq)]
pub struct TableRow {
    pub key: String,
    pub columns: Map<String, Value>,
}

/// Read access to every table of a store's database.
#[derive(Clone)]
pub struct Tables {
    db: DatabaseConnection,
}

impl Store {
    /// The tables of this store, read through its pool.
    pub fn tables(&self) -> Tables {
        Tables { db: self.db.clone() }
    }
}

impl Tables {
    /// Connects to the database at `url` without migrating it (an audit must not change what it
    /// audits), and checks that its schema is the one this version reads.
    pub async fn connect(url: &str) -> Result<Self> {
        let db = Database::connect(url).await?;
        let pending = super::pending_migrations(&db).await?;
        if let Some(first) = pending.first() {
            return Err(DomainError::Storage(format!(
                "the database has no trust-registry schema of this version ({} migrations not applied, from {}): start this version's server on it first",
                pending.len(),
                first
            )));
        }
        Ok(Self { db })
    }

    pub async fn close(self) -> Result<()> {
        self.db.close().await.map_err(Into::into)
    }

    /// Every row of `table` (one of [`TABLES`]), in canonical order.
    pub async fn rows(&self, table: &str) -> Result<Vec<TableRow>> {
        let db = &self.db;
        match table {
            "signed_write" => canonical(
                all::<signed_write::Entity>(db).await?,
                |row| row.log_index,
                |row| format!("entry {}", row.log_index),
            ),
            "qa_agency" => by_id(all::<qa_agency::Entity>(db).await?, |row| &row.id),
            "provider" => by_id(all::<provider::Entity>(db).await?, |row| &row.id),
            "external_identifier" => identifier_rows(db).await,
            "actor_key" => by_id(all::<actor_key::Entity>(db).await?, |row| &row.key_id),
            "accreditation" => by_id(all::<accreditation::Entity>(db).await?, |row| &row.id),
            "accreditation_status" => canonical(
                all::<accreditation_status::Entity>(db).await?,
                |row| (row.accreditation_id.clone(), row.seq),
                |row| format!("{} #{}", row.accreditation_id, row.seq),
            ),
            "framework" => by_id(all::<framework::Entity>(db).await?, |row| &row.id),
            "qualification" => by_id(all::<qualification::Entity>(db).await?, |row| &row.id),
            "qualification_skill" => skill_rows(db).await,
            "recognition_body" => by_id(all::<recognition_body::Entity>(db).await?, |row| &row.id),
            "recognition" => by_id(all::<recognition::Entity>(db).await?, |row| &row.id),
            other => Err(DomainError::Storage(format!("no table {other} in the schema"))),
        }
    }
}

/// The identifier bindings in the order they were made, which is the order trust resolution
/// prefers them in. Their surrogate `id` is left out: a PostgreSQL sequence skips the values of
/// rolled-back inserts, so two faithful stores may number the same bindings differently.
async fn identifier_rows(db: &DatabaseConnection) -> Result<Vec<TableRow>> {
    let mut rows = canonical(
        all::<external_identifier::Entity>(db).await?,
        |row| row.id,
        |row| format!("{} {} {}", row.owner_id, row.scheme, row.value),
    )?;
    for row in &mut rows {
        row.columns.remove("id");
    }
    Ok(rows)
}

/// The skill rows, each summary compared as the JSON value it holds: the migration that added
/// summaries wrote them with the database's JSON functions (PostgreSQL's `jsonb` spaces them and
/// orders the keys of their objects its own way), the server writes them with serde, and both
/// say the same.
async fn skill_rows(db: &DatabaseConnection) -> Result<Vec<TableRow>> {
    let mut rows = canonical(
        all::<qualification_skill::Entity>(db).await?,
        |row| (row.qualification_id.clone(), row.skill_uri.clone()),
        |row| format!("{} {}", row.qualification_id, row.skill_uri),
    )?;
    for row in &mut rows {
        if let Some(Value::String(summary)) = row.columns.get("summary") {
            let value = serde_json::from_str(summary).unwrap_or_else(|_| Value::String(summary.clone()));
            row.columns.insert("summary".into(), value);
        }
    }
    Ok(rows)
}

async fn all<E: EntityTrait>(db: &impl ConnectionTrait) -> Result<Vec<E::Model>> {
    Ok(E::find().all(db).await?)
}

/// Rows named and ordered by their text id.
fn by_id<M: Serialize>(models: Vec<M>, id: impl Fn(&M) -> &String) -> Result<Vec<TableRow>> {
    canonical(models, |m| id(m).clone(), |m| id(m).clone())
}

/// Rows sorted here by `sort` (PostgreSQL orders text by its collation, SQLite by bytes), named
/// by `name`, every column serialized as the entity declares it.
fn canonical<M: Serialize, K: Ord>(
    mut models: Vec<M>,
    sort: impl Fn(&M) -> K,
    name: impl Fn(&M) -> String,
) -> Result<Vec<TableRow>> {
    models.sort_by_cached_key(|m| sort(m));
    models
        .iter()
        .map(|model| match serde_json::to_value(model) {
            Ok(Value::Object(columns)) => Ok(TableRow {
                key: name(model),
                columns,
            }),
            Ok(_) => Err(DomainError::Storage(
                "a row did not serialize as its columns".into(),
            )),
            Err(e) => Err(DomainError::Storage(format!("serializing a row: {e}"))),
        })
        .collect()
}

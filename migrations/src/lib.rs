//! Database schema and reference data of trust-registry, for SQLite and PostgreSQL alike.
//!
//! Instants are BIGINT microseconds since the Unix epoch (UTC); intervals are half-open.
//! Each object is kept whole as a JSON document (`doc`), beside the columns that lookups and
//! filters need, each of which is indexed together with the id that lists are ordered by.

pub use sea_orm_migration::prelude::*;
/// The table of applied migrations, read by the server to refuse a schema newer than itself.
pub use sea_orm_migration::seaql_migrations;

mod m20261128_000001_catalogue;
mod m20261128_000002_seed_frameworks;
mod m20261128_000003_signed_writes;
mod m20261206_000001_skill_summaries;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261128_000001_catalogue::Migration),
            Box::new(m20261128_000002_seed_frameworks::Migration),
            Box::new(m20261128_000003_signed_writes::Migration),
            Box::new(m20261206_000001_skill_summaries::Migration),
        ]
    }
}

/// The reference frameworks seeded at install, with the sources of their EQF referencing.
pub const FRAMEWORKS_JSON: &str = include_str!("../data/frameworks.json");

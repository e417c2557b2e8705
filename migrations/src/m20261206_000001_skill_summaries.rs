//! Qualification summaries kept by skill, so that a search by skill reads one run of rows.
//!
//! A search by skill used to find its qualifications' ids in `qualification_skill` and then
//! each qualification through the id index, some forty B-tree descents to pages spread over
//! the file. Each skill row now also holds the qualification's withdrawal time (a search's
//! default filter) and its summary, the document less the detailed elements, which is what a
//! search answers by default. On SQLite the table is `WITHOUT ROWID`, so its rows are stored in
//! key order and the twenty results of a skill sit together in one or two leaves.
//!
//! The summary is a JSON array of these parts of the qualification's document, in this order;
//! the server writes the same array (`QualificationSummary` in the service crate). Existing rows
//! get theirs here. The skill rows are found by skill and id alone now, so the index on the
//! qualification id goes: a new version or a withdrawal deletes the old rows by their key.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend as DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The summary's elements, as paths in the qualification's document.
const SUMMARY_PATHS: [&[&str]; 13] = [
    &["id"],
    &["provider_id"],
    &["titles"],
    &["countries"],
    &["workload"],
    &["level"],
    &["stackability", "stackability"],
    &["credential_type"],
    &["field_of_study"],
    &["languages"],
    &["published_at"],
    &["withdrawn_at"],
    &["version"],
];

/// SQL for the summary of the document in `doc`.
fn summary_of(backend: DatabaseBackend, doc: &str) -> String {
    let parts: Vec<String> = SUMMARY_PATHS
        .iter()
        .map(|path| match backend {
            DatabaseBackend::Postgres => {
                let keys: Vec<String> = path.iter().map(|key| format!("'{key}'")).collect();
                format!("({doc}::jsonb) -> {}", keys.join(" -> "))
            }
            _ => format!("{doc} -> '$.{}'", path.join(".")),
        })
        .collect();
    match backend {
        DatabaseBackend::Postgres => format!("jsonb_build_array({})::text", parts.join(", ")),
        _ => format!("json_array({})", parts.join(", ")),
    }
}

const SQLITE_UP: &str = r#"
CREATE TABLE "qualification_skill_by_skill" (
    "skill_uri" varchar NOT NULL,
    "qualification_id" varchar NOT NULL,
    "withdrawn_at" bigint NULL,
    "summary" text NOT NULL,
    PRIMARY KEY ("skill_uri", "qualification_id")
) WITHOUT ROWID;
INSERT INTO "qualification_skill_by_skill"
    SELECT s."skill_uri", s."qualification_id", q."withdrawn_at", {summary}
    FROM "qualification_skill" s JOIN "qualification" q ON q."id" = s."qualification_id";
DROP TABLE "qualification_skill";
ALTER TABLE "qualification_skill_by_skill" RENAME TO "qualification_skill";
"#;

const SQLITE_DOWN: &str = r#"
CREATE TABLE "qualification_skill_by_row" (
    "skill_uri" varchar NOT NULL,
    "qualification_id" varchar NOT NULL,
    PRIMARY KEY ("skill_uri", "qualification_id")
);
INSERT INTO "qualification_skill_by_row" SELECT "skill_uri", "qualification_id" FROM "qualification_skill";
DROP TABLE "qualification_skill";
ALTER TABLE "qualification_skill_by_row" RENAME TO "qualification_skill";
CREATE INDEX "ix_qualification_skill_qualification_id" ON "qualification_skill" ("qualification_id");
"#;

const POSTGRES_UP: &str = r#"
ALTER TABLE "qualification_skill" ADD COLUMN "withdrawn_at" bigint NULL, ADD COLUMN "summary" text NULL;
UPDATE "qualification_skill" s SET "withdrawn_at" = q."withdrawn_at", "summary" = {summary}
    FROM "qualification" q WHERE q."id" = s."qualification_id";
ALTER TABLE "qualification_skill" ALTER COLUMN "summary" SET NOT NULL;
DROP INDEX "ix_qualification_skill_qualification_id";
"#;

const POSTGRES_DOWN: &str = r#"
ALTER TABLE "qualification_skill" DROP COLUMN "withdrawn_at", DROP COLUMN "summary";
CREATE INDEX "ix_qualification_skill_qualification_id" ON "qualification_skill" ("qualification_id");
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        let sql = match backend {
            DatabaseBackend::Postgres => POSTGRES_UP.replace("{summary}", &summary_of(backend, r#"q."doc""#)),
            _ => SQLITE_UP.replace("{summary}", &summary_of(backend, r#"q."doc""#)),
        };
        manager.get_connection().execute_unprepared(&sql).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sql = match manager.get_database_backend() {
            DatabaseBackend::Postgres => POSTGRES_DOWN,
            _ => SQLITE_DOWN,
        };
        manager.get_connection().execute_unprepared(sql).await?;
        Ok(())
    }
}

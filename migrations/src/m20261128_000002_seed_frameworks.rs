//! Seeds the EQF and the national frameworks of `data/frameworks.json`, whose sources are
//! named in that file. Each framework is stored as its JSON document.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Framework {
    Table,
    Id,
    Jurisdiction,
    Doc,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let data: serde_json::Value = serde_json::from_str(crate::FRAMEWORKS_JSON)
            .map_err(|e| DbErr::Migration(format!("frameworks.json: {e}")))?;
        let frameworks = data["frameworks"]
            .as_array()
            .ok_or_else(|| DbErr::Migration("frameworks.json: no \"frameworks\" array".into()))?;
        let mut insert = Query::insert();
        insert
            .into_table(Framework::Table)
            .columns([Framework::Id, Framework::Jurisdiction, Framework::Doc]);
        for framework in frameworks {
            let field = |name: &str| {
                framework[name]
                    .as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| DbErr::Migration(format!("frameworks.json: a framework has no {name}")))
            };
            insert.values_panic([
                field("id")?.into(),
                field("jurisdiction")?.into(),
                framework.to_string().into(),
            ]);
        }
        manager.exec_stmt(insert).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .exec_stmt(Query::delete().from_table(Framework::Table).to_owned())
            .await
    }
}

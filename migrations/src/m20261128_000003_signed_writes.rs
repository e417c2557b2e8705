//! Accepted signed writes, stored exactly as received, in the order they were accepted.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum SignedWrite {
    Table,
    /// Position in the log, from 0.
    LogIndex,
    /// Hex SHA-256 of the envelope.
    Id,
    Rpc,
    Command,
    KeyId,
    Signature,
    SignerId,
    Nonce,
    IssuedAt,
    ReceivedAt,
    /// JSON of what the write produced, returned again when the envelope is resent.
    Applied,
    /// RFC 9162 leaf hash of the log entry (the encoded `LogEntry`).
    LeafHash,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SignedWrite::Table)
                    .col(big_integer(SignedWrite::LogIndex).primary_key())
                    .col(string(SignedWrite::Id).unique_key())
                    .col(string(SignedWrite::Rpc))
                    .col(binary(SignedWrite::Command))
                    .col(string(SignedWrite::KeyId))
                    .col(binary(SignedWrite::Signature))
                    .col(string(SignedWrite::SignerId))
                    .col(string(SignedWrite::Nonce))
                    .col(big_integer(SignedWrite::IssuedAt))
                    .col(big_integer(SignedWrite::ReceivedAt))
                    .col(text(SignedWrite::Applied))
                    .col(binary(SignedWrite::LeafHash))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_signed_write_signer_nonce")
                    .table(SignedWrite::Table)
                    .col(SignedWrite::SignerId)
                    .col(SignedWrite::Nonce)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SignedWrite::Table).to_owned())
            .await
    }
}

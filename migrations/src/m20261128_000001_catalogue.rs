//! The catalogue: frameworks, QA agencies, recognition bodies, providers, their identifiers
//! and keys, accreditations with their status history, qualifications and recognitions.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Framework {
    Table,
    Id,
    Jurisdiction,
    Doc,
}

#[derive(DeriveIden, Clone, Copy)]
enum QaAgency {
    Table,
    Id,
    Country,
    /// The seat and every operating country, as ",IE,GB,".
    Countries,
    AdmittedAt,
    RetiredAt,
    Doc,
}

#[derive(DeriveIden, Clone, Copy)]
enum RecognitionBody {
    Table,
    Id,
    Country,
    Kind,
    AdmittedAt,
    RetiredAt,
    Doc,
}

#[derive(DeriveIden, Clone, Copy)]
enum Provider {
    Table,
    Id,
    Country,
    Kind,
    SearchText,
    Doc,
}

#[derive(DeriveIden, Clone, Copy)]
enum ExternalIdentifier {
    Table,
    Id,
    OwnerId,
    Scheme,
    Value,
    ValidFrom,
    ValidUntil,
}

#[derive(DeriveIden, Clone, Copy)]
enum ActorKey {
    Table,
    KeyId,
    OwnerId,
    PublicKey,
    ValidFrom,
    ValidUntil,
    RevokedAt,
    RevocationReason,
}

#[derive(DeriveIden, Clone, Copy)]
enum Accreditation {
    Table,
    Id,
    AgencyId,
    ProviderId,
    Kind,
    Decision,
    ValidFrom,
    EffectiveUntil,
    Doc,
}

#[derive(DeriveIden, Clone, Copy)]
enum AccreditationStatus {
    Table,
    AccreditationId,
    Seq,
    Status,
    EffectiveFrom,
    EffectiveUntil,
    Reason,
}

#[derive(DeriveIden, Clone, Copy)]
enum Qualification {
    Table,
    Id,
    ProviderId,
    SearchText,
    FrameworkId,
    LevelCode,
    EqfLevel,
    Ects,
    Stackability,
    WithdrawnAt,
    Doc,
}

#[derive(DeriveIden, Clone, Copy)]
enum QualificationSkill {
    Table,
    SkillUri,
    QualificationId,
}

#[derive(DeriveIden, Clone, Copy)]
enum Recognition {
    Table,
    Id,
    BodyId,
    QualificationId,
    Purpose,
    Route,
    Outcome,
    DecidedAt,
    RetractedAt,
    Doc,
}

/// An index named after its table and columns.
fn index<T: IntoIden + Copy + 'static, C: IntoIden + Copy + 'static>(
    table: T,
    columns: &[C],
) -> IndexCreateStatement {
    let mut name = table.into_iden().to_string();
    let mut statement = Index::create();
    for column in columns {
        name.push('_');
        name.push_str(&column.into_iden().to_string());
        statement.col(*column);
    }
    statement.name(format!("ix_{name}")).table(table).to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Framework::Table)
                    .col(string(Framework::Id).primary_key())
                    .col(string(Framework::Jurisdiction))
                    .col(text(Framework::Doc))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(QaAgency::Table)
                    .col(string(QaAgency::Id).primary_key())
                    .col(string(QaAgency::Country))
                    .col(text(QaAgency::Countries))
                    .col(big_integer(QaAgency::AdmittedAt))
                    .col(big_integer_null(QaAgency::RetiredAt))
                    .col(text(QaAgency::Doc))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(QaAgency::Table, &[QaAgency::Country, QaAgency::Id]))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(RecognitionBody::Table)
                    .col(string(RecognitionBody::Id).primary_key())
                    .col(string(RecognitionBody::Country))
                    .col(string(RecognitionBody::Kind))
                    .col(big_integer(RecognitionBody::AdmittedAt))
                    .col(big_integer_null(RecognitionBody::RetiredAt))
                    .col(text(RecognitionBody::Doc))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                RecognitionBody::Table,
                &[RecognitionBody::Country, RecognitionBody::Id],
            ))
            .await?;
        manager
            .create_index(index(
                RecognitionBody::Table,
                &[RecognitionBody::Kind, RecognitionBody::Id],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Provider::Table)
                    .col(string(Provider::Id).primary_key())
                    .col(string(Provider::Country))
                    .col(string(Provider::Kind))
                    .col(text(Provider::SearchText))
                    .col(text(Provider::Doc))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(Provider::Table, &[Provider::Country, Provider::Id]))
            .await?;
        manager
            .create_index(index(Provider::Table, &[Provider::Kind, Provider::Id]))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ExternalIdentifier::Table)
                    .col(big_pk_auto(ExternalIdentifier::Id))
                    .col(string(ExternalIdentifier::OwnerId))
                    .col(string(ExternalIdentifier::Scheme))
                    .col(string(ExternalIdentifier::Value))
                    .col(big_integer_null(ExternalIdentifier::ValidFrom))
                    .col(big_integer_null(ExternalIdentifier::ValidUntil))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                ExternalIdentifier::Table,
                &[
                    ExternalIdentifier::Scheme,
                    ExternalIdentifier::Value,
                    ExternalIdentifier::OwnerId,
                ],
            ))
            .await?;
        manager
            .create_index(index(ExternalIdentifier::Table, &[ExternalIdentifier::OwnerId]))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ActorKey::Table)
                    .col(string(ActorKey::KeyId).primary_key())
                    .col(string(ActorKey::OwnerId))
                    .col(binary(ActorKey::PublicKey).unique_key())
                    .col(big_integer(ActorKey::ValidFrom))
                    .col(big_integer_null(ActorKey::ValidUntil))
                    .col(big_integer_null(ActorKey::RevokedAt))
                    .col(text(ActorKey::RevocationReason))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(ActorKey::Table, &[ActorKey::OwnerId, ActorKey::ValidFrom]))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Accreditation::Table)
                    .col(string(Accreditation::Id).primary_key())
                    .col(string(Accreditation::AgencyId))
                    .col(string(Accreditation::ProviderId))
                    .col(string(Accreditation::Kind))
                    .col(string(Accreditation::Decision))
                    .col(big_integer(Accreditation::ValidFrom))
                    .col(big_integer(Accreditation::EffectiveUntil))
                    .col(text(Accreditation::Doc))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                Accreditation::Table,
                &[Accreditation::ProviderId, Accreditation::Id],
            ))
            .await?;
        manager
            .create_index(index(
                Accreditation::Table,
                &[Accreditation::AgencyId, Accreditation::Id],
            ))
            .await?;
        manager
            .create_index(index(
                Accreditation::Table,
                &[
                    Accreditation::Decision,
                    Accreditation::ValidFrom,
                    Accreditation::EffectiveUntil,
                ],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AccreditationStatus::Table)
                    .col(string(AccreditationStatus::AccreditationId))
                    .col(integer(AccreditationStatus::Seq))
                    .col(string(AccreditationStatus::Status))
                    .col(big_integer(AccreditationStatus::EffectiveFrom))
                    .col(big_integer_null(AccreditationStatus::EffectiveUntil))
                    .col(text(AccreditationStatus::Reason))
                    .primary_key(
                        Index::create()
                            .col(AccreditationStatus::AccreditationId)
                            .col(AccreditationStatus::Seq),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Qualification::Table)
                    .col(string(Qualification::Id).primary_key())
                    .col(string(Qualification::ProviderId))
                    .col(text(Qualification::SearchText))
                    .col(string_null(Qualification::FrameworkId))
                    .col(string_null(Qualification::LevelCode))
                    .col(small_integer_null(Qualification::EqfLevel))
                    .col(double_null(Qualification::Ects))
                    .col(string(Qualification::Stackability))
                    .col(big_integer_null(Qualification::WithdrawnAt))
                    .col(text(Qualification::Doc))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                Qualification::Table,
                &[Qualification::ProviderId, Qualification::Id],
            ))
            .await?;
        manager
            .create_index(index(
                Qualification::Table,
                &[
                    Qualification::FrameworkId,
                    Qualification::LevelCode,
                    Qualification::Id,
                ],
            ))
            .await?;
        manager
            .create_index(index(
                Qualification::Table,
                &[Qualification::EqfLevel, Qualification::Id],
            ))
            .await?;
        manager
            .create_index(index(Qualification::Table, &[Qualification::Ects]))
            .await?;
        manager
            .create_index(index(
                Qualification::Table,
                &[Qualification::Stackability, Qualification::Id],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(QualificationSkill::Table)
                    .col(string(QualificationSkill::SkillUri))
                    .col(string(QualificationSkill::QualificationId))
                    .primary_key(
                        Index::create()
                            .col(QualificationSkill::SkillUri)
                            .col(QualificationSkill::QualificationId),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                QualificationSkill::Table,
                &[QualificationSkill::QualificationId],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Recognition::Table)
                    .col(string(Recognition::Id).primary_key())
                    .col(string(Recognition::BodyId))
                    .col(string(Recognition::QualificationId))
                    .col(string(Recognition::Purpose))
                    .col(string(Recognition::Route))
                    .col(string(Recognition::Outcome))
                    .col(big_integer(Recognition::DecidedAt))
                    .col(big_integer_null(Recognition::RetractedAt))
                    .col(text(Recognition::Doc))
                    .to_owned(),
            )
            .await?;
        for columns in [
            [Recognition::QualificationId, Recognition::Id],
            [Recognition::BodyId, Recognition::Id],
            [Recognition::Purpose, Recognition::Id],
            [Recognition::Route, Recognition::Id],
            [Recognition::Outcome, Recognition::Id],
        ] {
            manager.create_index(index(Recognition::Table, &columns)).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Recognition::Table.into_iden(),
            QualificationSkill::Table.into_iden(),
            Qualification::Table.into_iden(),
            AccreditationStatus::Table.into_iden(),
            Accreditation::Table.into_iden(),
            ActorKey::Table.into_iden(),
            ExternalIdentifier::Table.into_iden(),
            Provider::Table.into_iden(),
            RecognitionBody::Table.into_iden(),
            QaAgency::Table.into_iden(),
            Framework::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}

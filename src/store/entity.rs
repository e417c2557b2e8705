//! SeaORM entities, one module per table (see the migrations crate for the schema).
//! Objects are kept as JSON documents in `doc`; the other columns serve lookups and filters.
//! Each model serializes as its columns by name (bytes in hex): the canonical form in which an
//! audit compares two stores row by row (see tables.rs).

/// Bytes as lowercase hex, as an audit report shows them.
fn hex_bytes<S: serde::Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&hex::encode(bytes))
}

macro_rules! no_relations {
    () => {
        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}

        impl ActiveModelBehavior for ActiveModel {}
    };
}

pub mod framework {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
    #[sea_orm(table_name = "framework")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub jurisdiction: String,
        pub doc: String,
    }
    no_relations!();
}

pub mod qa_agency {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
    #[sea_orm(table_name = "qa_agency")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub country: String,
        pub countries: String,
        pub admitted_at: i64,
        pub retired_at: Option<i64>,
        pub doc: String,
    }
    no_relations!();
}

pub mod recognition_body {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
    #[sea_orm(table_name = "recognition_body")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub country: String,
        pub kind: String,
        pub admitted_at: i64,
        pub retired_at: Option<i64>,
        pub doc: String,
    }
    no_relations!();
}

pub mod provider {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
    #[sea_orm(table_name = "provider")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub country: String,
        pub kind: String,
        pub search_text: String,
        pub doc: String,
    }
    no_relations!();
}

pub mod external_identifier {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
    #[sea_orm(table_name = "external_identifier")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub owner_id: String,
        pub scheme: String,
        pub value: String,
        pub valid_from: Option<i64>,
        pub valid_until: Option<i64>,
    }
    no_relations!();
}

pub mod actor_key {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
    #[sea_orm(table_name = "actor_key")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub key_id: String,
        pub owner_id: String,
        #[serde(serialize_with = "super::hex_bytes")]
        pub public_key: Vec<u8>,
        pub valid_from: i64,
        pub valid_until: Option<i64>,
        pub revoked_at: Option<i64>,
        pub revocation_reason: String,
    }
    no_relations!();
}

pub mod accreditation {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
    #[sea_orm(table_name = "accreditation")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub agency_id: String,
        pub provider_id: String,
        pub kind: String,
        pub decision: String,
        pub valid_from: i64,
        pub effective_until: i64,
        pub doc: String,
    }
    no_relations!();
}

pub mod accreditation_status {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
    #[sea_orm(table_name = "accreditation_status")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub accreditation_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub seq: i32,
        pub status: String,
        pub effective_from: i64,
        pub effective_until: Option<i64>,
        pub reason: String,
    }
    no_relations!();
}

pub mod qualification {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
    #[sea_orm(table_name = "qualification")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub provider_id: String,
        pub search_text: String,
        pub framework_id: Option<String>,
        pub level_code: Option<String>,
        pub eqf_level: Option<i16>,
        pub ects: Option<f64>,
        pub stackability: String,
        pub withdrawn_at: Option<i64>,
        pub doc: String,
    }
    no_relations!();
}

pub mod qualification_skill {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
    #[sea_orm(table_name = "qualification_skill")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub skill_uri: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub qualification_id: String,
        /// The qualification's, copied for a search's default filter.
        pub withdrawn_at: Option<i64>,
        /// JSON of the qualification's `QualificationSummary`, which a search by skill answers
        /// without reading the qualification's row.
        pub summary: String,
    }
    no_relations!();
}

pub mod recognition {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
    #[sea_orm(table_name = "recognition")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub body_id: String,
        pub qualification_id: String,
        pub purpose: String,
        pub route: String,
        pub outcome: String,
        pub decided_at: i64,
        pub retracted_at: Option<i64>,
        pub doc: String,
    }
    no_relations!();
}

pub mod signed_write {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
    #[sea_orm(table_name = "signed_write")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub log_index: i64,
        pub id: String,
        pub rpc: String,
        #[serde(serialize_with = "super::hex_bytes")]
        pub command: Vec<u8>,
        pub key_id: String,
        #[serde(serialize_with = "super::hex_bytes")]
        pub signature: Vec<u8>,
        pub signer_id: String,
        pub nonce: String,
        pub issued_at: i64,
        pub received_at: i64,
        pub applied: String,
        #[serde(serialize_with = "super::hex_bytes")]
        pub leaf_hash: Vec<u8>,
    }
    no_relations!();
}

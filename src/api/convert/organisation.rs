//! Providers, QA agencies and recognition bodies, with their keys and identifiers.

use super::*;

impl From<Keyed<Provider>> for pb::Provider {
    fn from(Keyed { item, keys }: Keyed<Provider>) -> Self {
        let Provider {
            id,
            names,
            country,
            kind,
            identifiers: ids,
            website,
            registered_by,
            registered_at,
        } = item;
        Self {
            id,
            names: localized(names),
            country,
            kind: pb::ProviderKind::from(kind).into(),
            identifiers: identifiers(ids),
            keys: actor_keys(keys),
            website,
            registered_by,
            registered_at: Some(timestamp(registered_at)),
        }
    }
}

impl From<Keyed<QaAgency>> for pb::QaAgency {
    fn from(Keyed { item, keys }: Keyed<QaAgency>) -> Self {
        let QaAgency {
            id,
            names,
            country,
            operating_countries,
            identifiers: ids,
            website,
            admitted_at,
            retired_at,
        } = item;
        Self {
            id,
            names: localized(names),
            country,
            operating_countries,
            identifiers: identifiers(ids),
            keys: actor_keys(keys),
            website,
            admitted_at: Some(timestamp(admitted_at)),
            retired_at: opt_timestamp(retired_at),
        }
    }
}

impl From<Keyed<RecognitionBody>> for pb::RecognitionBody {
    fn from(Keyed { item, keys }: Keyed<RecognitionBody>) -> Self {
        let RecognitionBody {
            id,
            names,
            country,
            kind,
            identifiers: ids,
            website,
            admitted_at,
            retired_at,
        } = item;
        Self {
            id,
            names: localized(names),
            country,
            kind: pb::RecognitionBodyKind::from(kind).into(),
            identifiers: identifiers(ids),
            keys: actor_keys(keys),
            website,
            admitted_at: Some(timestamp(admitted_at)),
            retired_at: opt_timestamp(retired_at),
        }
    }
}

//! Exact-size collections in what the read cache keeps.
//!
//! A `Vec` that grows by pushing starts with room for four elements (for elements up to 1 KiB),
//! and so do the ones collected through a `Result` and the ones serde's `Vec` visitor builds
//! from JSON (which gives no length). A provider with one name, one identifier, one key and one
//! accreditation kept that spare room in every one of them: in a heap profile of a cache primed
//! with 100,000 such providers, a quarter of the cache's ~450 MB was room never used. The
//! cache's loaders shrink what they load before it is shared.
//!
//! Each impl destructures its type, so a new field does not compile until it is considered here.

use super::cache::QualificationScope;
use crate::domain::model::{
    Accreditation, AccreditationRecord, AccreditationScope, ActorKey, ExternalIdentifier, LocalizedString,
    Provider, QaAgency, StatusPeriod,
};
use crate::domain::query::Keyed;

/// A value that can give back the spare capacity of its collections.
pub(super) trait Compact {
    fn compact(&mut self);
}

impl Compact for String {
    fn compact(&mut self) {
        self.shrink_to_fit();
    }
}

impl Compact for u8 {
    fn compact(&mut self) {}
}

impl<T: Compact> Compact for Vec<T> {
    fn compact(&mut self) {
        self.iter_mut().for_each(Compact::compact);
        self.shrink_to_fit();
    }
}

impl<A: Compact, B: Compact> Compact for (A, B) {
    fn compact(&mut self) {
        self.0.compact();
        self.1.compact();
    }
}

impl<T: Compact> Compact for Keyed<T> {
    fn compact(&mut self) {
        let Keyed { item, keys } = self;
        item.compact();
        keys.compact();
    }
}

impl Compact for LocalizedString {
    fn compact(&mut self) {
        let LocalizedString { language, value } = self;
        language.compact();
        value.compact();
    }
}

impl Compact for ExternalIdentifier {
    fn compact(&mut self) {
        let ExternalIdentifier {
            scheme: _,
            value,
            valid_from: _,
            valid_until: _,
        } = self;
        value.compact();
    }
}

impl Compact for ActorKey {
    fn compact(&mut self) {
        let ActorKey {
            key_id,
            public_key: _,
            valid_from: _,
            valid_until: _,
            revoked_at: _,
            revocation_reason,
        } = self;
        key_id.compact();
        revocation_reason.compact();
    }
}

impl Compact for Provider {
    fn compact(&mut self) {
        let Provider {
            id,
            names,
            country,
            kind: _,
            identifiers,
            website,
            registered_by,
            registered_at: _,
        } = self;
        id.compact();
        names.compact();
        country.compact();
        identifiers.compact();
        website.compact();
        registered_by.compact();
    }
}

impl Compact for QaAgency {
    fn compact(&mut self) {
        let QaAgency {
            id,
            names,
            country,
            operating_countries,
            identifiers,
            website,
            admitted_at: _,
            retired_at: _,
        } = self;
        id.compact();
        names.compact();
        country.compact();
        operating_countries.compact();
        identifiers.compact();
        website.compact();
    }
}

impl Compact for AccreditationScope {
    fn compact(&mut self) {
        let AccreditationScope {
            eqf_levels,
            credential_types,
            fields_of_study,
            jurisdictions,
        } = self;
        eqf_levels.compact();
        credential_types.compact();
        fields_of_study.compact();
        jurisdictions.compact();
    }
}

impl Compact for Accreditation {
    fn compact(&mut self) {
        let Accreditation {
            id,
            agency_id,
            provider_id,
            kind: _,
            decision: _,
            scope,
            valid_from: _,
            valid_until: _,
            report_url,
            conditions,
            recorded_at: _,
        } = self;
        id.compact();
        agency_id.compact();
        provider_id.compact();
        scope.compact();
        report_url.compact();
        conditions.compact();
    }
}

impl Compact for StatusPeriod {
    fn compact(&mut self) {
        let StatusPeriod {
            status: _,
            effective_from: _,
            effective_until: _,
            reason,
        } = self;
        reason.compact();
    }
}

impl Compact for AccreditationRecord {
    fn compact(&mut self) {
        let AccreditationRecord {
            accreditation,
            history,
        } = self;
        accreditation.compact();
        history.compact();
    }
}

impl Compact for QualificationScope {
    fn compact(&mut self) {
        let QualificationScope {
            provider_id,
            awarding_body_ids,
            withdrawn_at: _,
            eqf_level: _,
            credential_type,
            field_of_study,
        } = self;
        provider_id.compact();
        awarding_body_ids.compact();
        credential_type.compact();
        field_of_study.compact();
    }
}

/// `value` with its collections shrunk to their lengths.
pub(super) fn compacted<T: Compact>(mut value: T) -> T {
    value.compact();
    value
}

/// `items`, each compacted, as one shared slice: `Arc<[T]>` copies them into an allocation of
/// their exact size, so the vector itself need not be shrunk first.
pub(super) fn shared<T: Compact>(mut items: Vec<T>) -> std::sync::Arc<[T]> {
    items.iter_mut().for_each(Compact::compact);
    std::sync::Arc::from(items)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Timestamp;
    use crate::domain::enums::IdentifierScheme;

    /// `value` as the store reads it: from its JSON document.
    fn as_loaded<T: serde::Serialize + serde::de::DeserializeOwned>(value: &T) -> T {
        let doc = serde_json::to_string(value).expect("serialisable");
        serde_json::from_str(&doc).expect("a document")
    }

    /// A provider as the store reads it: from its JSON document, then its keys pushed one by one.
    #[allow(
        clippy::vec_init_then_push,
        reason = "built as the store builds it, by pushing"
    )]
    fn provider_as_loaded() -> Keyed<Provider> {
        let item = as_loaded(&Provider {
            id: "prov_1".into(),
            names: vec![LocalizedString {
                language: "en".into(),
                value: "Example Provider".into(),
            }],
            country: "IE".into(),
            kind: crate::domain::enums::ProviderKind::ALL[0],
            identifiers: vec![ExternalIdentifier {
                scheme: IdentifierScheme::Did,
                value: "did:web:provider.example".into(),
                valid_from: None,
                valid_until: None,
            }],
            website: "https://provider.example/".into(),
            registered_by: "agency_1".into(),
            registered_at: Timestamp::from_micros(0),
        });
        let mut keys = Vec::new();
        keys.push(ActorKey {
            key_id: "key-1".into(),
            public_key: [7; 32],
            valid_from: Timestamp::from_micros(0),
            valid_until: None,
            revoked_at: None,
            revocation_reason: String::with_capacity(64),
        });
        Keyed { item, keys }
    }

    #[test]
    fn loaded_values_keep_spare_room_until_compacted() {
        let loaded = provider_as_loaded();
        // What the compaction is for: as loaded, the one-element vectors have room for more.
        assert!(loaded.item.names.capacity() > 1);
        assert!(loaded.keys.capacity() > 1);

        let provider = compacted(loaded);
        assert_eq!(provider.item.names.capacity(), 1);
        assert_eq!(provider.item.identifiers.capacity(), 1);
        assert_eq!(provider.keys.capacity(), 1);
        assert_eq!(provider.keys[0].revocation_reason.capacity(), 0);
        // Nothing but capacity changed.
        assert_eq!(provider, compacted(provider_as_loaded()));
        assert_eq!(provider.item.names[0].value, "Example Provider");
        assert_eq!(provider.item.identifiers[0].scheme, IdentifierScheme::Did);
    }

    /// A provider's accreditation records as the store reads them: each pushed, its history too.
    #[allow(
        clippy::vec_init_then_push,
        reason = "built as the store builds it, by pushing"
    )]
    fn records_as_loaded() -> Vec<AccreditationRecord> {
        let mut records = Vec::new();
        let mut history = Vec::new();
        history.push(StatusPeriod {
            status: crate::domain::enums::AccreditationStatus::Granted,
            effective_from: Timestamp::from_micros(0),
            effective_until: None,
            reason: String::new(),
        });
        let scope = as_loaded(&AccreditationScope {
            eqf_levels: vec![6],
            ..Default::default()
        });
        records.push(AccreditationRecord {
            accreditation: Accreditation {
                id: "accr_1".into(),
                agency_id: "agency_1".into(),
                provider_id: "prov_1".into(),
                kind: crate::domain::enums::AccreditationKind::InstitutionalReview,
                decision: crate::domain::enums::Decision::Positive,
                scope,
                valid_from: Timestamp::from_micros(0),
                valid_until: None,
                report_url: String::new(),
                conditions: String::new(),
                recorded_at: Timestamp::from_micros(0),
            },
            history,
        });
        records
    }

    #[test]
    fn accreditation_records_shrink_to_their_histories() {
        let records = records_as_loaded();
        assert!(records.capacity() > 1 && records[0].history.capacity() > 1);
        let as_shared = shared(records_as_loaded());
        let records = compacted(records);
        assert_eq!(records.capacity(), 1);
        assert_eq!(records[0].history.capacity(), 1);
        // Shared, the slice holds the one record, whose history is shrunk too.
        assert_eq!(*as_shared, *records);
        assert_eq!(as_shared[0].history.capacity(), 1);
        assert_eq!(records[0].accreditation.scope.eqf_levels, vec![6]);
        assert_eq!(records[0].accreditation.scope.eqf_levels.capacity(), 1);
    }
}

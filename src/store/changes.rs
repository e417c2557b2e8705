//! What each write changed, so that a cached value no write has touched since it was loaded is
//! served on, rather than loaded again after every write to anything.
//!
//! A cached value is tagged with the generation it was loaded under (cache.rs). When a read of
//! a later generation finds it, the writes between the two are looked up here: each accepted
//! write is in the log with what it applied (`signed_write.applied`), whichever process made
//! it, and that names what it changed. A value is served on only if no write since its tag
//! changed anything it was drawn from; otherwise, or when those writes are not known here, it
//! is loaded again as before. So nothing stale is served, and a registry that takes a write
//! now and then keeps its caches.
//!
//! What a write changes, by what it applied:
//!
//! - a qualification (publish, revise, withdraw): that qualification's document and what
//!   credential verification keeps of it;
//! - an accreditation (record, change of status): the trust facts of its provider;
//! - a recognition: nothing cached (no cached value is drawn from recognitions);
//! - a provider registered: that provider's trust facts, and the lookups of its identifiers and
//!   keys (each of them may have been looked up, and found nothing, before);
//! - a key added, rotated or revoked: its owner's facts and the lookups of the key (the stored
//!   result names the key, not its owner, which is read from the key table: a key never changes
//!   owner);
//! - an agency or recognition body admitted or retired: every trust fact (keys, identifiers,
//!   agencies, any provider's facts, which carry their agencies), but no qualification (a
//!   qualification's document names its provider and awarding bodies by id only, and none of
//!   these writes changes a qualification);
//! - anything else (frameworks), and any write whose result this module does not recognise:
//!   everything.
//!
//! The writes are read from the log only when a value tagged before them is asked for, a few at
//! a time; a gap of more than [`MAX_CATCH_UP`] writes, or more than [`MAX_TOUCHED`] values
//! touched, starts the record again from the newest write, and values tagged before it are
//! loaded again.

use std::collections::HashMap;

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Deserialize;

use super::Store;
use super::cache::Generation;
use super::entity::signed_write;
use crate::domain::DomainError;
use crate::domain::enums::IdentifierScheme;
use crate::domain::model::{ActorKey, Provider};
use crate::domain::query::Keyed;

type Result<T> = std::result::Result<T, DomainError>;

/// Writes read from the log at most to bring the record up to a read's generation; a larger gap
/// (a bulk import, say) starts the record again instead.
pub const MAX_CATCH_UP: u64 = 2_000;
/// Qualifications, providers, identifiers and keys the record holds at most before it starts
/// again.
pub const MAX_TOUCHED: usize = 100_000;

/// What a cached value is drawn from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject<'a> {
    /// A qualification's document, or what credential verification keeps of it.
    Qualification(&'a str),
    /// A provider's trust facts: the provider, its keys, its accreditations and their agencies.
    Provider(&'a str),
    /// The owners bound to an external identifier.
    Identifier(IdentifierScheme, &'a str),
    /// The key with this Ed25519 public key, and its owner.
    Key(&'a [u8; 32]),
    /// Any other trust fact: agencies. Writes that change every trust fact, or everything,
    /// change these.
    Other,
}

/// What one write changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Touch {
    Qualification(String),
    Provider(String),
    /// An actor's own facts, and the lookups of these identifiers and keys: a provider
    /// registered, or a key added, rotated or revoked.
    Owner {
        owner: String,
        identifiers: Vec<(IdentifierScheme, String)>,
        keys: Vec<[u8; 32]>,
    },
    /// Keys added, rotated or revoked (key id, public key), whose owner the stored result does
    /// not name: made a [`Touch::Owner`] from the key table before it is recorded; recorded as
    /// it is, it counts as [`Touch::Trust`].
    Keys(Vec<(String, [u8; 32])>),
    Nothing,
    /// Every trust fact ([`Subject::Provider`] and [`Subject::Other`]), no qualification.
    Trust,
    Everything,
}

/// The parts of a stored `Applied` (domain/write.rs, as JSON) that say what a write changed;
/// any other variant fails to decode and counts as changing everything.
#[derive(Deserialize)]
enum AppliedSubject {
    Qualification { id: String },
    Accreditation { accreditation: AccreditationOf },
    Recognition(serde::de::IgnoredAny),
    Provider(Keyed<Provider>),
    QaAgency(serde::de::IgnoredAny),
    RecognitionBody(serde::de::IgnoredAny),
    Key(ActorKey),
    KeyRotation { old_key: ActorKey, new_key: ActorKey },
}

#[derive(Deserialize)]
struct AccreditationOf {
    provider_id: String,
}

/// What the write whose stored result is `applied` changed.
pub fn touch_of(applied: &str) -> Touch {
    match serde_json::from_str::<AppliedSubject>(applied) {
        Ok(AppliedSubject::Qualification { id }) => Touch::Qualification(id),
        Ok(AppliedSubject::Accreditation { accreditation }) => Touch::Provider(accreditation.provider_id),
        Ok(AppliedSubject::Recognition(_)) => Touch::Nothing,
        Ok(AppliedSubject::Provider(Keyed { item, keys })) => Touch::Owner {
            owner: item.id,
            identifiers: item
                .identifiers
                .into_iter()
                .map(|i| (i.scheme, i.value))
                .collect(),
            keys: keys.into_iter().map(|k| k.public_key).collect(),
        },
        Ok(AppliedSubject::Key(key)) => Touch::Keys(vec![(key.key_id, key.public_key)]),
        Ok(AppliedSubject::KeyRotation { old_key, new_key }) => Touch::Keys(vec![
            (old_key.key_id, old_key.public_key),
            (new_key.key_id, new_key.public_key),
        ]),
        Ok(AppliedSubject::QaAgency(_) | AppliedSubject::RecognitionBody(_)) => Touch::Trust,
        Err(_) => Touch::Everything,
    }
}

/// The record of what the writes from `floor` to `covered` (log sizes) changed. A write at log
/// index `i` is kept as `i + 1`, the first log size that holds it: a value tagged with log size
/// `t` was loaded after every write below `t`, so the writes that can have changed it since are
/// those kept as more than `t`.
#[derive(Debug, Default)]
pub struct Record {
    /// Values tagged before this log size cannot be told apart from the writes before it.
    floor: u64,
    /// The writes below this log size are recorded.
    covered: u64,
    /// The last write that changed everything, kept as above (0: none since the floor).
    everything: u64,
    /// The last write that changed every trust fact, kept as above (0: none since the floor).
    trust: u64,
    qualifications: HashMap<String, u64>,
    providers: HashMap<String, u64>,
    /// By scheme, then value: a lookup needs no owned key.
    identifiers: HashMap<IdentifierScheme, HashMap<String, u64>>,
    keys: HashMap<[u8; 32], u64>,
    /// Set once `start` was called: until then nothing is served on.
    started: bool,
}

impl Record {
    /// Starts recording at log size `size`: values tagged before it are loaded again.
    pub fn start(&mut self, size: u64) {
        *self = Record {
            floor: size,
            covered: size,
            started: true,
            ..Record::default()
        };
    }

    /// The log size up to which writes are recorded (`None` before `start`).
    pub fn covered(&self) -> Option<u64> {
        self.started.then_some(self.covered)
    }

    /// Records the write at log index `index`, which must be the next one (`covered`);
    /// otherwise, or when the record is full, starts again after it.
    pub fn push(&mut self, index: u64, touch: Touch) {
        if !self.started || index != self.covered {
            self.start(index + 1);
            return;
        }
        let size = index + 1;
        self.covered = size;
        match touch {
            Touch::Qualification(id) => {
                self.qualifications.insert(id, size);
            }
            Touch::Provider(id) => {
                self.providers.insert(id, size);
            }
            Touch::Owner {
                owner,
                identifiers,
                keys,
            } => {
                self.providers.insert(owner, size);
                for (scheme, value) in identifiers {
                    self.identifiers.entry(scheme).or_default().insert(value, size);
                }
                self.keys.extend(keys.into_iter().map(|k| (k, size)));
            }
            Touch::Nothing => {}
            Touch::Keys(_) | Touch::Trust => self.trust = size,
            Touch::Everything => self.everything = size,
        }
        let identifiers: usize = self.identifiers.values().map(HashMap::len).sum();
        if self.qualifications.len() + self.providers.len() + identifiers + self.keys.len() > MAX_TOUCHED {
            self.start(size);
        }
    }

    /// Whether a value drawn from `subject` and tagged with log size `tag` is unchanged by every
    /// write up to log size `now`: `None` when the writes up to `now` are not all recorded.
    pub fn unchanged(&self, subject: Subject<'_>, tag: u64, now: u64) -> Option<bool> {
        if !self.started || self.covered < now {
            return None;
        }
        if tag < self.floor || self.everything > tag {
            return Some(false);
        }
        let changed = match subject {
            Subject::Qualification(id) => self.qualifications.get(id).copied(),
            Subject::Provider(id) => self.providers.get(id).copied().max(Some(self.trust)),
            Subject::Identifier(scheme, value) => self
                .identifiers
                .get(&scheme)
                .and_then(|values| values.get(value))
                .copied()
                .max(Some(self.trust)),
            Subject::Key(public_key) => self.keys.get(public_key).copied().max(Some(self.trust)),
            Subject::Other => Some(self.trust),
        };
        Some(changed.is_none_or(|size| size <= tag))
    }
}

/// The record, shared by the clones of a store, and the one catch-up with the log at a time.
#[derive(Debug, Default)]
pub struct Changes {
    record: std::sync::Mutex<Record>,
    catching_up: tokio::sync::Mutex<()>,
}

impl Changes {
    /// Starts recording at log size `size` (when the store opens).
    pub fn start(&self, size: u64) {
        self.lock().start(size);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Record> {
        self.record.lock().expect("changes record lock")
    }
}

impl Store {
    /// Whether a value drawn from `subject` and loaded under `tag` still holds for a read of
    /// `now`: no write since `tag` changed it. Reads the writes not yet recorded from the log
    /// (at most [`MAX_CATCH_UP`]); `false` whenever that cannot be told.
    pub(super) async fn unchanged_since(
        &self,
        subject: Subject<'_>,
        tag: Generation,
        now: Generation,
    ) -> Result<bool> {
        if !tag.same_local(&now) {
            return Ok(false);
        }
        // Loaded under a later generation than the read's: newer than the read needs.
        if tag.log_size >= now.log_size {
            return Ok(true);
        }
        let changes = &self.cache.changes;
        if let Some(unchanged) = changes.lock().unchanged(subject, tag.log_size, now.log_size) {
            return Ok(unchanged);
        }
        let _turn = changes.catching_up.lock().await;
        let Some(covered) = changes.lock().covered() else {
            return Ok(false);
        };
        if covered < now.log_size {
            if now.log_size - covered > MAX_CATCH_UP {
                changes.start(now.log_size);
            } else {
                let rows: Vec<(i64, String)> = signed_write::Entity::find()
                    .select_only()
                    .column(signed_write::Column::LogIndex)
                    .column(signed_write::Column::Applied)
                    .filter(signed_write::Column::LogIndex.gte(covered as i64))
                    .filter(signed_write::Column::LogIndex.lt(now.log_size as i64))
                    .order_by_asc(signed_write::Column::LogIndex)
                    .into_tuple()
                    .all(&self.db)
                    .await?;
                let mut touches: Vec<(u64, Touch)> = rows
                    .into_iter()
                    .map(|(index, applied)| (index as u64, touch_of(&applied)))
                    .collect();
                self.owners_of_keys(&mut touches).await?;
                let mut record = changes.lock();
                for (index, touch) in touches {
                    record.push(index, touch);
                }
            }
        }
        Ok(changes
            .lock()
            .unchanged(subject, tag.log_size, now.log_size)
            .unwrap_or(false))
    }

    /// Makes each [`Touch::Keys`] in `touches` the [`Touch::Owner`] of the keys' owner, read
    /// from the key table (one query for all of them). Keys whose owner is not found there, or
    /// that name more than one, stay as they are, and count as changing every trust fact.
    async fn owners_of_keys(&self, touches: &mut [(u64, Touch)]) -> Result<()> {
        use super::entity::actor_key;
        let key_ids: Vec<&str> = touches
            .iter()
            .filter_map(|(_, touch)| match touch {
                Touch::Keys(keys) => Some(keys.iter().map(|(key_id, _)| key_id.as_str())),
                _ => None,
            })
            .flatten()
            .collect();
        if key_ids.is_empty() {
            return Ok(());
        }
        let owners: HashMap<String, String> = actor_key::Entity::find()
            .select_only()
            .column(actor_key::Column::KeyId)
            .column(actor_key::Column::OwnerId)
            .filter(actor_key::Column::KeyId.is_in(key_ids))
            .into_tuple::<(String, String)>()
            .all(&self.db)
            .await?
            .into_iter()
            .collect();
        for (_, touch) in touches.iter_mut() {
            let Touch::Keys(keys) = touch else { continue };
            let mut found = keys.iter().map(|(key_id, _)| owners.get(key_id));
            let Some(Some(owner)) = found.next() else { continue };
            if found.any(|other| other != Some(owner)) {
                continue;
            }
            *touch = Touch::Owner {
                owner: owner.clone(),
                identifiers: Vec::new(),
                keys: keys.iter().map(|(_, public_key)| *public_key).collect(),
            };
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::demo::data;
    use crate::domain::model::{AccreditationRecord, Framework};
    use crate::domain::write::Applied;

    fn applied(value: &Applied) -> String {
        serde_json::to_string(value).unwrap()
    }

    /// What a write touched is read from the result the log stores for it, for each kind of
    /// result: a change in how results are stored fails here rather than serving stale values.
    #[test]
    fn touches_come_from_the_stored_results() {
        #[derive(serde::Deserialize)]
        struct File {
            frameworks: Vec<Framework>,
        }
        let file: File = serde_json::from_str(migrations::FRAMEWORKS_JSON).unwrap();
        let frameworks: HashMap<String, Framework> =
            file.frameworks.into_iter().map(|f| (f.id.clone(), f)).collect();
        let qualification = data::qualifications(&frameworks).unwrap().remove(0);
        let id = qualification.id.clone();
        assert_eq!(
            touch_of(&applied(&Applied::Qualification(qualification))),
            Touch::Qualification(id)
        );
        let (accreditation, history) = data::accreditations().remove(0);
        let provider = accreditation.provider_id.clone();
        let record = AccreditationRecord {
            accreditation,
            history,
        };
        assert_eq!(
            touch_of(&applied(&Applied::Accreditation(record))),
            Touch::Provider(provider)
        );
        let recognition = data::recognitions().remove(0);
        assert_eq!(
            touch_of(&applied(&Applied::Recognition(recognition))),
            Touch::Nothing
        );
        let (provider, keys) = data::providers().remove(0);
        let key = |k: &ActorKey| (k.key_id.clone(), k.public_key);
        assert_eq!(
            touch_of(&applied(&Applied::Key(keys[0].clone()))),
            Touch::Keys(vec![key(&keys[0])])
        );
        let (_, other_keys) = data::providers().remove(1);
        assert_eq!(
            touch_of(&applied(&Applied::KeyRotation {
                old_key: keys[0].clone(),
                new_key: other_keys[0].clone(),
            })),
            Touch::Keys(vec![key(&keys[0]), key(&other_keys[0])])
        );
        let registered = Touch::Owner {
            owner: provider.id.clone(),
            identifiers: provider
                .identifiers
                .iter()
                .map(|i| (i.scheme, i.value.clone()))
                .collect(),
            keys: keys.iter().map(|k| k.public_key).collect(),
        };
        assert!(
            matches!(&registered, Touch::Owner { identifiers, keys, .. } if !identifiers.is_empty() && !keys.is_empty()),
            "the demo provider has identifiers and keys"
        );
        assert_eq!(
            touch_of(&applied(&Applied::Provider(crate::domain::query::Keyed {
                item: provider,
                keys,
            }))),
            registered
        );
        let (agency, keys) = data::qa_agencies().remove(0);
        assert_eq!(
            touch_of(&applied(&Applied::QaAgency(crate::domain::query::Keyed {
                item: agency,
                keys,
            }))),
            Touch::Trust
        );
        let (body, keys) = data::recognition_bodies().remove(0);
        assert_eq!(
            touch_of(&applied(&Applied::RecognitionBody(crate::domain::query::Keyed {
                item: body,
                keys,
            }))),
            Touch::Trust
        );
        let framework = frameworks.into_values().next().unwrap();
        assert_eq!(
            touch_of(&applied(&Applied::Framework(framework))),
            Touch::Everything
        );
        assert_eq!(touch_of("not json"), Touch::Everything);
    }

    #[test]
    fn a_value_is_served_on_only_past_writes_that_did_not_change_it() {
        let mut record = Record::default();
        // Not started: nothing can be told.
        assert_eq!(record.unchanged(Subject::Other, 10, 11), None);
        record.start(10);
        // Writes 10..13 not recorded yet.
        assert_eq!(record.unchanged(Subject::Qualification("q1"), 10, 13), None);
        record.push(10, Touch::Qualification("q1".into()));
        record.push(11, Touch::Provider("p1".into()));
        record.push(12, Touch::Nothing);
        // q1 changed by write 10 (log size 11): a value tagged 10 is stale, one tagged 11 is not.
        assert_eq!(
            record.unchanged(Subject::Qualification("q1"), 10, 13),
            Some(false)
        );
        assert_eq!(record.unchanged(Subject::Qualification("q1"), 11, 13), Some(true));
        assert_eq!(record.unchanged(Subject::Qualification("q2"), 10, 13), Some(true));
        assert_eq!(record.unchanged(Subject::Provider("p1"), 11, 13), Some(false));
        assert_eq!(record.unchanged(Subject::Provider("p1"), 12, 13), Some(true));
        assert_eq!(record.unchanged(Subject::Provider("p2"), 10, 13), Some(true));
        assert_eq!(record.unchanged(Subject::Other, 10, 13), Some(true));
        // Tagged before the record began: cannot be told apart.
        assert_eq!(record.unchanged(Subject::Qualification("q2"), 9, 13), Some(false));
        // A write that changes every trust fact (a key revoked, say), no qualification.
        record.push(13, Touch::Trust);
        assert_eq!(record.unchanged(Subject::Other, 13, 14), Some(false));
        assert_eq!(record.unchanged(Subject::Provider("p2"), 13, 14), Some(false));
        assert_eq!(record.unchanged(Subject::Provider("p2"), 14, 14), Some(true));
        assert_eq!(record.unchanged(Subject::Qualification("q2"), 13, 14), Some(true));
        assert_eq!(
            record.unchanged(Subject::Qualification("q1"), 10, 14),
            Some(false),
            "a qualification's own write still counts past it"
        );
        // A provider's own write after it.
        record.push(14, Touch::Provider("p2".into()));
        assert_eq!(record.unchanged(Subject::Provider("p2"), 14, 15), Some(false));
        assert_eq!(record.unchanged(Subject::Provider("p1"), 14, 15), Some(true));
        // A provider registered: its facts, its identifiers' and its keys' lookups.
        let did = IdentifierScheme::Did;
        record.push(
            15,
            Touch::Owner {
                owner: "p3".into(),
                identifiers: vec![(did, "did:web:p3.example".into())],
                keys: vec![[3; 32]],
            },
        );
        assert_eq!(record.unchanged(Subject::Provider("p3"), 15, 16), Some(false));
        assert_eq!(
            record.unchanged(Subject::Identifier(did, "did:web:p3.example"), 15, 16),
            Some(false)
        );
        assert_eq!(record.unchanged(Subject::Key(&[3; 32]), 15, 16), Some(false));
        assert_eq!(
            record.unchanged(
                Subject::Identifier(IdentifierScheme::Deqar, "did:web:p3.example"),
                15,
                16
            ),
            Some(true),
            "another scheme's identifier of the same value"
        );
        assert_eq!(
            record.unchanged(Subject::Identifier(did, "did:web:p4.example"), 15, 16),
            Some(true)
        );
        assert_eq!(record.unchanged(Subject::Key(&[4; 32]), 15, 16), Some(true));
        assert_eq!(record.unchanged(Subject::Provider("p1"), 15, 16), Some(true));
        assert_eq!(record.unchanged(Subject::Other, 15, 16), Some(true));
        // Identifiers' and keys' lookups are trust facts too.
        assert_eq!(record.unchanged(Subject::Key(&[4; 32]), 13, 16), Some(false));
        // Keys whose owner was not found change every trust fact.
        record.push(16, Touch::Keys(vec![("k5".into(), [5; 32])]));
        assert_eq!(record.unchanged(Subject::Provider("p1"), 16, 17), Some(false));
        assert_eq!(record.unchanged(Subject::Key(&[4; 32]), 16, 17), Some(false));
        assert_eq!(record.unchanged(Subject::Qualification("q2"), 16, 17), Some(true));
        // A write that changes everything.
        record.push(17, Touch::Everything);
        assert_eq!(record.unchanged(Subject::Other, 17, 18), Some(false));
        assert_eq!(
            record.unchanged(Subject::Qualification("q2"), 17, 18),
            Some(false)
        );
        assert_eq!(record.unchanged(Subject::Qualification("q2"), 18, 18), Some(true));
        // A write out of order starts the record again after it.
        record.push(20, Touch::Nothing);
        assert_eq!(record.covered(), Some(21));
        assert_eq!(
            record.unchanged(Subject::Qualification("q2"), 18, 21),
            Some(false)
        );
        assert_eq!(record.unchanged(Subject::Qualification("q2"), 21, 21), Some(true));
    }

    #[test]
    fn a_full_record_starts_again() {
        let mut record = Record::default();
        record.start(0);
        for i in 0..=MAX_TOUCHED as u64 {
            record.push(i, Touch::Qualification(format!("q{i}")));
        }
        let size = MAX_TOUCHED as u64 + 1;
        assert_eq!(record.covered(), Some(size));
        assert!(record.qualifications.is_empty());
        assert_eq!(
            record.unchanged(Subject::Qualification("q0"), size - 1, size),
            Some(false)
        );
        assert_eq!(
            record.unchanged(Subject::Qualification("q0"), size, size),
            Some(true)
        );
    }
}

//! Signing verdicts in trees (see [`crate::domain::verdict`]): when no other verdict is being
//! signed, a call signs its own as a tree of one, at once, on its own task; otherwise it hands
//! its verdict to one signing task, which signs whatever verdicts are waiting as one tree. Under
//! load one Ed25519 signature covers many verdicts; a lone call waits for nobody.
//!
//! Under load calls reach the signing step in bursts, and the first of a burst finds nothing
//! else in progress although the rest are ready to run right behind it. So while verdicts come
//! faster than one call at a time could bring them (see [`BUSY_RATE`]), and always on a runtime
//! with one worker thread, a call that finds itself alone first yields once; if others came
//! meanwhile it joins their tree. Measured on a
//! 2-core machine at 64 calls in flight, this took trees from about 5 verdicts a signature (most
//! signatures being lone first-of-burst verdicts) to about 20.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use prost::Message;
use tokio::sync::{mpsc, oneshot};

use crate::domain::merkle::Hash;
use crate::domain::verdict::{RegistryKey, SignedTree, TreePlace, verdict_leaf, verify_verdict};
use crate::pb;

/// Most verdicts in one signed tree: proofs stay at most 8 hashes long.
pub const MAX_TREE: usize = 256;

/// Verdicts signed in a [`RATE_WINDOW`] that mean calls overlap (15,000 a second): one call in
/// flight over loopback comes some 100 µs after the last, under 10,000 a second. Counted only
/// with more than one runtime worker (see [`VerdictSigner::busy`]).
const BUSY_RATE: u64 = 150;
/// The window the signing rate is counted in. Under load calls come in bursts (a connection's
/// requests are read together) with pauses between them of about a round trip; the window spans
/// several, so the first verdict of a burst still finds the server busy.
const RATE_WINDOW: Duration = Duration::from_millis(10);

/// Counts events by [`RATE_WINDOW`]: the current one's and the last one's. Updates that race
/// may lose a count; the rate stays a rate.
struct Rate {
    /// Where windows are counted from.
    started: Instant,
    /// The window `current` counts.
    window: AtomicU64,
    current: AtomicU64,
    previous: AtomicU64,
}

impl Rate {
    fn new() -> Self {
        Self {
            started: Instant::now(),
            window: AtomicU64::new(0),
            current: AtomicU64::new(0),
            previous: AtomicU64::new(0),
        }
    }

    /// Counts one event now; the counts of this window (with it) and the last.
    fn count_now(&self) -> (u64, u64) {
        let now = self.started.elapsed().as_nanos() / RATE_WINDOW.as_nanos();
        self.count(now as u64)
    }

    /// Counts one event in window `now`; the counts of this window (with it) and the last.
    fn count(&self, now: u64) -> (u64, u64) {
        let counted = self.window.swap(now, Ordering::Relaxed);
        if counted != now {
            let last = if counted + 1 == now {
                self.current.load(Ordering::Relaxed)
            } else {
                0
            };
            self.previous.store(last, Ordering::Relaxed);
            self.current.store(0, Ordering::Relaxed);
        }
        let current = self.current.fetch_add(1, Ordering::Relaxed) + 1;
        (current, self.previous.load(Ordering::Relaxed))
    }
}

/// A verdict leaf waiting for its tree.
struct Waiting {
    leaf: Hash,
    signed: oneshot::Sender<(Arc<SignedTree>, usize)>,
}

/// Signs verdicts with the registry key, in trees.
#[derive(Clone)]
pub struct VerdictSigner {
    key: RegistryKey,
    /// The signing task; `None` when made outside a Tokio runtime (then each verdict is
    /// signed alone, on the caller's task). Unbounded, but it never holds more than the calls
    /// in flight (each waits for its answer), and one round signs up to [`MAX_TREE`] of them
    /// with one signature, far faster than calls can bring verdicts.
    queue: Option<mpsc::UnboundedSender<Waiting>>,
    /// Verdicts being signed or waiting to be, across clones.
    in_progress: Arc<AtomicUsize>,
    /// Verdicts that came to be signed in this rate window and the last one, across clones.
    rate: Arc<Rate>,
    /// Whether the runtime has one worker thread (see [`VerdictSigner::busy`]).
    one_worker: bool,
}

/// Counts one verdict in progress until dropped (also when the call is cancelled).
struct InProgress<'a>(&'a AtomicUsize);

impl Drop for InProgress<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl VerdictSigner {
    /// A signer; inside a Tokio runtime it starts the signing task, which ends when the last
    /// clone of the signer is dropped.
    pub fn new(key: RegistryKey) -> Self {
        let runtime = tokio::runtime::Handle::try_current().ok();
        let one_worker = runtime
            .as_ref()
            .is_some_and(|runtime| runtime.metrics().num_workers() == 1);
        let queue = runtime.map(|runtime| {
            let (queue, waiting) = mpsc::unbounded_channel();
            runtime.spawn(sign_waiting(key.clone(), waiting));
            queue
        });
        Self {
            key,
            queue,
            in_progress: Arc::new(AtomicUsize::new(0)),
            rate: Arc::new(Rate::new()),
            one_worker,
        }
    }

    pub fn key(&self) -> &RegistryKey {
        &self.key
    }

    /// Signs one verdict, in a tree with the others waiting at the time.
    pub async fn sign(&self, verdict: &pb::Verdict) -> pb::SignedVerdict {
        let verdict_bytes = verdict.encode_to_vec();
        let leaf = verdict_leaf(&verdict_bytes);
        let busy = self.busy();
        let mut alone = self.in_progress.fetch_add(1, Ordering::AcqRel) == 0;
        let _counted = InProgress(&self.in_progress);
        if alone && busy {
            // Under load the calls that are ready to run are about to sign too: let them
            // catch up, and this verdict joins their tree instead of costing a signature of
            // its own.
            tokio::task::yield_now().await;
            alone = self.in_progress.load(Ordering::Acquire) == 1;
        }
        let queued = if alone { None } else { self.in_tree(leaf).await };
        let (tree, index) = match queued {
            Some(signed) => signed,
            // Nothing else in progress, or the signing task is gone (its runtime shut down):
            // a tree of one, signed here.
            None => (Arc::new(self.key.sign_verdicts([leaf])), 0),
        };
        self.signed(verdict_bytes, &tree, index)
    }

    /// Whether a verdict that finds nothing else in progress should first wait one scheduling
    /// round for the calls that may be about to sign.
    ///
    /// With more than one worker thread: when [`BUSY_RATE`] verdicts or more came to be signed
    /// in this rate window or the last one (counting this one). Calls that come one at a time
    /// sign at once: there the yield would only wake the other worker thread, for nothing.
    ///
    /// With one worker thread (a server limited to one CPU): always. There a call that signs
    /// alone runs to its end before the next one starts, so calls never overlap, each costs a
    /// signature, and the rate stays below any threshold a lone client could not reach. With
    /// the rate rule alone, a server on one core (a 2-core guest, server and bench on a core
    /// each) answered CheckIssuer at 64 in flight at 10,386-11,350 calls/s for 87-94 µs of server
    /// CPU a call, every verdict signed alone; with this rule, 21,803 calls/s for 45 µs. The
    /// yield wakes no other thread: with nothing else to run, the call goes on at once.
    fn busy(&self) -> bool {
        if self.queue.is_none() {
            return false;
        }
        if self.one_worker {
            return true;
        }
        let (current, previous) = self.rate.count_now();
        current.max(previous) >= BUSY_RATE
    }

    async fn in_tree(&self, leaf: Hash) -> Option<(Arc<SignedTree>, usize)> {
        let (signed, receive) = oneshot::channel();
        self.queue.as_ref()?.send(Waiting { leaf, signed }).ok()?;
        receive.await.ok()
    }

    /// Signs the given verdicts as one tree (the answers of one batch call), in order.
    pub fn sign_all(&self, verdicts: &[pb::Verdict]) -> Vec<pb::SignedVerdict> {
        if verdicts.is_empty() {
            return Vec::new();
        }
        let encoded: Vec<Vec<u8>> = verdicts.iter().map(Message::encode_to_vec).collect();
        let tree = self
            .key
            .sign_verdicts(encoded.iter().map(|bytes| verdict_leaf(bytes)));
        encoded
            .into_iter()
            .enumerate()
            .map(|(index, bytes)| self.signed(bytes, &tree, index))
            .collect()
    }

    fn signed(&self, verdict_bytes: Vec<u8>, tree: &SignedTree, index: usize) -> pb::SignedVerdict {
        let TreePlace { index, size, proof } = tree.place(index);
        pb::SignedVerdict {
            verdict_bytes,
            signature: tree.signature.to_vec(),
            registry_key_id: self.key.key_id().to_owned(),
            tree_index: index,
            tree_size: size,
            inclusion_proof: proof.iter().map(|hash| hash.to_vec()).collect(),
        }
    }
}

/// The signing task: each round signs every verdict that waited while the last tree was being
/// signed (at most [`MAX_TREE`]).
async fn sign_waiting(key: RegistryKey, mut waiting: mpsc::UnboundedReceiver<Waiting>) {
    let mut round = Vec::with_capacity(MAX_TREE);
    while waiting.recv_many(&mut round, MAX_TREE).await > 0 {
        // Let the calls that are ready to run reach this round first: under load the tree
        // grows; with nothing else ready to run the yield returns at once.
        tokio::task::yield_now().await;
        while round.len() < MAX_TREE {
            match waiting.try_recv() {
                Ok(w) => round.push(w),
                Err(_) => break,
            }
        }
        let tree = Arc::new(key.sign_verdicts(round.iter().map(|w| w.leaf)));
        for (index, w) in round.drain(..).enumerate() {
            // A caller that went away (deadline, cancel) no longer needs its answer.
            let _ = w.signed.send((tree.clone(), index));
        }
    }
}

/// Checks a signed verdict offline with the registry's public key: the signature over the root
/// its inclusion proof leads to (see [`verify_verdict`]). False for a malformed proof.
pub fn verify_signed_verdict(public_key: &[u8; 32], signed: &pb::SignedVerdict) -> bool {
    let Ok(proof) = signed
        .inclusion_proof
        .iter()
        .map(|hash| Hash::try_from(hash.as_slice()))
        .collect::<Result<Vec<_>, _>>()
    else {
        return false;
    };
    let place = TreePlace {
        index: signed.tree_index,
        size: signed.tree_size,
        proof,
    };
    verify_verdict(public_key, &signed.verdict_bytes, &place, &signed.signature)
}

/// The verdict a signed verdict carries, decoded only once its signature checks out (see
/// [`verify_signed_verdict`]); `None` when it does not, or when the signed bytes are no verdict.
pub fn verified_verdict(public_key: &[u8; 32], signed: &pb::SignedVerdict) -> Option<pb::Verdict> {
    if !verify_signed_verdict(public_key, signed) {
        return None;
    }
    pb::Verdict::decode(signed.verdict_bytes.as_slice()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(n: usize) -> pb::Verdict {
        pb::Verdict {
            query_hash: format!("{n:064x}"),
            ..Default::default()
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn verdicts_signed_together_each_verify_alone() {
        let key = RegistryKey::new(ed25519_dalek::SigningKey::from_bytes(&[7; 32]));
        let signer = VerdictSigner::new(key.clone());
        let tasks: Vec<_> = (0..200)
            .map(|n| {
                let signer = signer.clone();
                tokio::spawn(async move { signer.sign(&verdict(n)).await })
            })
            .collect();
        let mut largest = 0;
        for (n, task) in tasks.into_iter().enumerate() {
            let signed = task.await.unwrap();
            assert_eq!(
                verified_verdict(&key.public_key(), &signed),
                Some(verdict(n)),
                "verdict {n}"
            );
            let mut altered = signed.clone();
            altered.verdict_bytes.push(0);
            assert!(!verify_signed_verdict(&key.public_key(), &altered));
            assert_eq!(verified_verdict(&key.public_key(), &altered), None);
            let mut bad_proof = signed.clone();
            bad_proof.inclusion_proof.push(vec![0; 31]);
            assert!(!verify_signed_verdict(&key.public_key(), &bad_proof));
            largest = largest.max(signed.tree_size);
        }
        // 200 calls at once on two workers: some waited for the same tree.
        assert!(largest > 1, "every verdict was signed alone");
        // With nothing else in progress a call signs its verdict alone, without waiting.
        let alone = signer.sign(&verdict(0)).await;
        assert_eq!((alone.tree_index, alone.tree_size), (0, 1));
        assert!(verify_signed_verdict(&key.public_key(), &alone));
        assert_eq!(signer.in_progress.load(Ordering::Acquire), 0);

        let all = signer.sign_all(&(0..5).map(verdict).collect::<Vec<_>>());
        assert!(
            all.iter()
                .all(|s| s.tree_size == 5 && s.signature == all[0].signature)
        );
        assert!(all.iter().all(|s| verify_signed_verdict(&key.public_key(), s)));
    }

    #[test]
    fn rate_counts_this_window_and_the_last() {
        let rate = Rate::new();
        assert_eq!(rate.count(0), (1, 0));
        assert_eq!(rate.count(0), (2, 0));
        assert_eq!(rate.count(0), (3, 0));
        assert_eq!(rate.count(1), (1, 3));
        assert_eq!(rate.count(1), (2, 3));
        // A window with no event in between: nothing carries over.
        assert_eq!(rate.count(3), (1, 0));
    }

    /// On one thread the calls of a burst run one after the other, each until it waits: the
    /// first finds nothing else in progress. The number of signatures a burst of eight took.
    #[tokio::test(flavor = "current_thread")]
    async fn on_one_worker_a_burst_shares_signatures_at_any_rate() {
        let key = RegistryKey::new(ed25519_dalek::SigningKey::from_bytes(&[7; 32]));
        let public_key = key.public_key();
        let burst = |signer: &VerdictSigner| {
            let tasks: Vec<_> = (0..8)
                .map(|n| {
                    let signer = signer.clone();
                    tokio::spawn(async move { signer.sign(&verdict(n)).await })
                })
                .collect();
            async move {
                let mut signatures = std::collections::HashSet::new();
                for task in tasks {
                    let signed = task.await.unwrap();
                    assert!(verify_signed_verdict(&public_key, &signed));
                    signatures.insert(signed.signature);
                }
                signatures.len()
            }
        };
        // However few verdicts came before, the first call yields and the other seven catch
        // up: it joins the signing task's queue instead of taking a signature of its own first.
        let signer = VerdictSigner::new(key.clone());
        assert!(signer.busy());
        assert!(burst(&signer).await <= 2);
        assert_eq!(signer.in_progress.load(Ordering::Acquire), 0);
        // A lone call still signs a tree of one: its yield finds nobody.
        let alone = signer.sign(&verdict(0)).await;
        assert_eq!((alone.tree_index, alone.tree_size), (0, 1));
        assert!(verify_signed_verdict(&public_key, &alone));
    }

    /// With two worker threads a verdict that finds itself alone waits only while verdicts
    /// come at [`BUSY_RATE`] or more: calls one at a time sign at once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn with_more_workers_only_a_high_rate_is_busy() {
        let key = RegistryKey::new(ed25519_dalek::SigningKey::from_bytes(&[7; 32]));
        let signer = VerdictSigner::new(key);
        assert!(!signer.busy());
        // Twice the rate: one rate window's boundary at most falls among these calls, so
        // this window or the last one counts at least BUSY_RATE of them.
        let mut busy = false;
        for _ in 0..2 * BUSY_RATE {
            busy = signer.busy();
        }
        assert!(busy);
    }

    #[test]
    fn outside_a_runtime_each_verdict_is_signed_alone() {
        let key = RegistryKey::new(ed25519_dalek::SigningKey::from_bytes(&[7; 32]));
        let signer = VerdictSigner::new(key.clone());
        let signed = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(signer.sign(&verdict(1)));
        assert_eq!((signed.tree_index, signed.tree_size), (0, 1));
        assert!(verify_signed_verdict(&key.public_key(), &signed));
    }
}

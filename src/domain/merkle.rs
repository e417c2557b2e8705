//! Merkle tree hashing of the write log, as in RFC 9162 (Certificate Transparency v2), §2.1,
//! with SHA-256.
//!
//! Leaf `i` of the tree is the `signed_write` row with `log_index = i`; what bytes make up a
//! leaf is decided by the caller, this module only sees leaf hashes.
//!
//! - [`leaf_hash`] = SHA-256(0x00 || data), [`node_hash`] = SHA-256(0x01 || left || right),
//!   [`empty_root`] = SHA-256("").
//! - [`root`], [`inclusion_proof`] and [`consistency_proof`] follow the recursive definitions of
//!   RFC 9162 §2.1.1, §2.1.3.1 and §2.1.4.1 over a slice of leaf hashes; each is O(n) hashes.
//!   They are the reference the faster structures are tested against.
//! - [`verify_inclusion`] and [`verify_consistency`] are the algorithms of §2.1.3.2 and §2.1.4.2,
//!   O(log n) hashes each, for clients and tests.
//! - [`CompactRange`] keeps only the O(log n) roots of the complete subtrees of a growing log
//!   ("frontier"): append in O(log n) (amortised O(1)), root in O(log n).
//! - [`Tree`] keeps every leaf hash and every complete-subtree hash in memory (about 2n hashes,
//!   64 MiB per million leaves) and answers roots and proofs for any past size quickly.

use sha2::{Digest, Sha256};

/// A SHA-256 digest: a leaf hash, an interior node hash or a tree root.
pub type Hash = [u8; 32];

/// Why a [`Tree`] or [`CompactRange`] request cannot be answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MerkleError {
    /// The leaf index is not below the tree size it is asked about.
    #[error("leaf index {index} is not below tree size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    /// The tree size asked about is larger than the number of leaves known.
    #[error("tree size {size} is larger than the {len} leaves in the log")]
    SizeOutOfRange { size: u64, len: u64 },
    /// A consistency proof was asked from a larger to a smaller tree.
    #[error("old tree size {old_size} is larger than new tree size {new_size}")]
    OldSizeAboveNewSize { old_size: u64, new_size: u64 },
    /// A stored frontier does not have one hash per set bit of its size.
    #[error("a compact range of size {size} needs {expected} hashes, got {got}")]
    FrontierLength { size: u64, expected: u32, got: usize },
}

/// The root of the empty tree: SHA-256 of the empty string (RFC 9162 §2.1.1).
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// The hash of one log entry: SHA-256(0x00 || data).
pub fn leaf_hash(data: &[u8]) -> Hash {
    Sha256::new()
        .chain_update([0x00])
        .chain_update(data)
        .finalize()
        .into()
}

/// The hash of an interior node: SHA-256(0x01 || left || right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut input = [0x01; 65];
    input[1..33].copy_from_slice(left);
    input[33..].copy_from_slice(right);
    Sha256::digest(input).into()
}

/// The largest power of two strictly below `n`; `n` must be at least 2.
fn split(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// MTH(D[n]) of RFC 9162 §2.1.1 for the given leaf hashes: the empty root for no leaves,
/// the leaf hash for one, otherwise `node_hash(MTH(D[0:k]), MTH(D[k:n]))` with `k` the largest
/// power of two below `n`. O(n) hashes, recursion depth O(log n).
pub fn root(leaf_hashes: &[Hash]) -> Hash {
    match leaf_hashes.len() {
        0 => empty_root(),
        1 => leaf_hashes[0],
        n => {
            let k = split(n as u64) as usize;
            node_hash(&root(&leaf_hashes[..k]), &root(&leaf_hashes[k..]))
        }
    }
}

/// The audit path PATH(index, D[n]) of RFC 9162 §2.1.3.1 for leaf `index` in the tree made of
/// all of `leaf_hashes`, ordered from the leaf's sibling up to the child of the root.
/// O(n) hashes. Use [`Tree::inclusion_proof`] for a large log.
///
/// # Panics
/// If `index` is not below `leaf_hashes.len()`.
pub fn inclusion_proof(leaf_hashes: &[Hash], index: u64) -> Vec<Hash> {
    let n = leaf_hashes.len() as u64;
    assert!(index < n, "leaf index {index} is not below tree size {n}");
    let mut proof = Vec::new();
    path(
        index,
        0,
        n,
        &|s, e| root(&leaf_hashes[s as usize..e as usize]),
        &mut proof,
    );
    proof
}

/// The consistency proof PROOF(old_size, D[n]) of RFC 9162 §2.1.4.1 between the tree of the
/// first `old_size` leaves and the tree of all of `leaf_hashes`. It is empty when `old_size`
/// is 0 or equals the number of leaves (nothing to prove). O(n) hashes.
///
/// # Panics
/// If `old_size` is larger than `leaf_hashes.len()`.
pub fn consistency_proof(leaf_hashes: &[Hash], old_size: u64) -> Vec<Hash> {
    let n = leaf_hashes.len() as u64;
    assert!(
        old_size <= n,
        "old tree size {old_size} is larger than new tree size {n}"
    );
    let mut proof = Vec::new();
    if old_size > 0 {
        subproof(
            old_size,
            0,
            n,
            true,
            &|s, e| root(&leaf_hashes[s as usize..e as usize]),
            &mut proof,
        );
    }
    proof
}

/// PATH(m, D[start:end]) appended to `out`; `mth(s, e)` gives MTH(D[s:e]).
fn path(m: u64, start: u64, end: u64, mth: &impl Fn(u64, u64) -> Hash, out: &mut Vec<Hash>) {
    let n = end - start;
    if n <= 1 {
        return;
    }
    let k = split(n);
    if m < k {
        path(m, start, start + k, mth, out);
        out.push(mth(start + k, end));
    } else {
        path(m - k, start + k, end, mth, out);
        out.push(mth(start, start + k));
    }
}

/// SUBPROOF(m, D[start:end], b) of RFC 9162 §2.1.4.1 appended to `out`.
fn subproof(m: u64, start: u64, end: u64, b: bool, mth: &impl Fn(u64, u64) -> Hash, out: &mut Vec<Hash>) {
    let n = end - start;
    if m == n {
        if !b {
            out.push(mth(start, end));
        }
        return;
    }
    let k = split(n);
    if m <= k {
        subproof(m, start, start + k, b, mth, out);
        out.push(mth(start + k, end));
    } else {
        subproof(m - k, start + k, end, false, mth, out);
        out.push(mth(start, start + k));
    }
}

/// Checks an inclusion proof with the algorithm of RFC 9162 §2.1.3.2: true when `proof` shows
/// that `leaf_hash` is leaf `index` of the tree of size `tree_size` whose root is `root`.
/// O(log n) hashes.
pub fn verify_inclusion(leaf_hash: &Hash, index: u64, tree_size: u64, proof: &[Hash], root: &Hash) -> bool {
    root_from_inclusion_proof(leaf_hash, index, tree_size, proof).is_some_and(|r| r == *root)
}

/// The root that an inclusion proof of `leaf_hash` as leaf `index` of a tree of size
/// `tree_size` leads to (RFC 9162 §2.1.3.2), or `None` when the proof's shape does not fit the
/// index and size. O(log n) hashes.
pub fn root_from_inclusion_proof(
    leaf_hash: &Hash,
    index: u64,
    tree_size: u64,
    proof: &[Hash],
) -> Option<Hash> {
    if index >= tree_size {
        return None;
    }
    let (mut fn_, mut sn) = (index, tree_size - 1);
    let mut r = *leaf_hash;
    for p in proof {
        if sn == 0 {
            return None;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    (sn == 0).then_some(r)
}

/// Checks a consistency proof with the algorithm of RFC 9162 §2.1.4.2: true when `proof` shows
/// that the tree of size `old_size` with root `old_root` is a prefix of the tree of size
/// `new_size` with root `new_root`. O(log n) hashes.
///
/// Two cases the RFC algorithm leaves out are accepted only with an empty proof: equal sizes
/// (the roots must be equal) and `old_size == 0` (`old_root` must be [`empty_root`]; the empty
/// tree is a prefix of every tree). An old size above the new size never verifies.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> bool {
    if old_size > new_size {
        return false;
    }
    if old_size == 0 {
        return proof.is_empty() && *old_root == empty_root();
    }
    if old_size == new_size {
        return proof.is_empty() && old_root == new_root;
    }
    // Step 1: an empty path proves nothing between different sizes.
    if proof.is_empty() {
        return false;
    }
    // Step 2: a complete old tree is itself a node of the new tree; its root starts the path.
    let mut path = proof.iter();
    let first = if old_size.is_power_of_two() {
        old_root
    } else {
        path.next().expect("non-empty")
    };
    // Steps 3 and 4.
    let (mut fn_, mut sn) = (old_size - 1, new_size - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    // Step 5.
    let (mut fr, mut sr) = (*first, *first);
    // Step 6.
    for c in path {
        if sn == 0 {
            return false;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    // Step 7.
    fr == *old_root && sr == *new_root && sn == 0
}

/// The frontier of a growing log: the roots of its maximal complete subtrees, largest (leftmost)
/// first, one per set bit of the size. Enough to append leaves and compute the current root
/// without the leaves themselves; small enough to persist next to each checkpoint.
///
/// [`append`](Self::append) costs O(log n) hashes in the worst case and amortised O(1);
/// [`root`](Self::root) costs at most log2(n) hashes; memory is O(log n).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompactRange {
    size: u64,
    peaks: Vec<Hash>,
}

impl CompactRange {
    /// The frontier of the empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Rebuilds a frontier from a stored size and [`peaks`](Self::peaks).
    pub fn from_parts(size: u64, peaks: Vec<Hash>) -> Result<Self, MerkleError> {
        if peaks.len() != size.count_ones() as usize {
            return Err(MerkleError::FrontierLength {
                size,
                expected: size.count_ones(),
                got: peaks.len(),
            });
        }
        Ok(Self { size, peaks })
    }

    /// Number of leaves appended so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Roots of the complete subtrees, leftmost (largest) first.
    pub fn peaks(&self) -> &[Hash] {
        &self.peaks
    }

    /// Appends the next leaf hash, merging equal-sized subtrees as the size's low bits carry.
    pub fn append(&mut self, leaf_hash: Hash) {
        let mut carry = leaf_hash;
        let mut size = self.size;
        while size & 1 == 1 {
            let left = self.peaks.pop().expect("one peak per set bit of the size");
            carry = node_hash(&left, &carry);
            size >>= 1;
        }
        self.peaks.push(carry);
        self.size += 1;
    }

    /// MTH of the leaves appended so far: the peaks folded from the right.
    pub fn root(&self) -> Hash {
        fold_peaks(&self.peaks)
    }
}

/// Folds the roots of consecutive complete subtrees (largest first) into the MTH of their union.
fn fold_peaks(peaks: &[Hash]) -> Hash {
    let mut iter = peaks.iter().rev();
    let Some(last) = iter.next() else {
        return empty_root();
    };
    iter.fold(*last, |right, left| node_hash(left, &right))
}

/// All leaf hashes of the log plus the hashes of all complete subtrees, for answering roots and
/// proofs at any size up to [`len`](Self::len).
///
/// `levels[k][i]` is the root of the complete subtree of the 2^k leaves starting at `i * 2^k`
/// (`levels[0]` are the leaf hashes). Because every range that RFC 9162's recursions ask about
/// starts at a multiple of its size rounded up to a power of two, its MTH is the fold of at most
/// log2(n) cached nodes. Costs: [`push`](Self::push) amortised 1 hash (O(log n) worst);
/// [`root`](Self::root) O(log n) hashes; [`inclusion_proof`](Self::inclusion_proof) and
/// [`consistency_proof`](Self::consistency_proof) O(log² n) hashes worst case; memory about 2n
/// hashes (64 MiB for a million leaves).
#[derive(Debug, Clone, Default)]
pub struct Tree {
    levels: Vec<Vec<Hash>>,
}

impl Tree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// A tree of the given leaf hashes, in log order. O(n) hashes.
    pub fn from_leaf_hashes(leaf_hashes: impl IntoIterator<Item = Hash>) -> Self {
        let mut tree = Self::new();
        for leaf in leaf_hashes {
            tree.push(leaf);
        }
        tree
    }

    /// Number of leaves.
    pub fn len(&self) -> u64 {
        self.levels.first().map_or(0, |leaves| leaves.len() as u64)
    }

    /// True when the tree has no leaves.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The leaf hashes, in log order.
    pub fn leaf_hashes(&self) -> &[Hash] {
        self.levels.first().map_or(&[], Vec::as_slice)
    }

    /// Appends a leaf hash and the complete subtrees it closes.
    pub fn push(&mut self, leaf_hash: Hash) {
        let mut hash = leaf_hash;
        let mut level = 0;
        loop {
            if self.levels.len() == level {
                self.levels.push(Vec::new());
            }
            let nodes = &mut self.levels[level];
            nodes.push(hash);
            if nodes.len() % 2 == 1 {
                return;
            }
            hash = node_hash(&nodes[nodes.len() - 2], &nodes[nodes.len() - 1]);
            level += 1;
        }
    }

    /// MTH of the first `size` leaves.
    pub fn root(&self, size: u64) -> Result<Hash, MerkleError> {
        self.check_size(size)?;
        Ok(self.range_root(0, size))
    }

    /// PATH(index, D[size]): the inclusion proof of leaf `index` in the tree of the first
    /// `size` leaves; the same hashes as [`inclusion_proof`] on those leaves.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, MerkleError> {
        self.check_size(size)?;
        if index >= size {
            return Err(MerkleError::IndexOutOfRange { index, size });
        }
        let mut proof = Vec::new();
        path(index, 0, size, &|s, e| self.range_root(s, e), &mut proof);
        Ok(proof)
    }

    /// PROOF(old_size, D[new_size]): the consistency proof between the trees of the first
    /// `old_size` and `new_size` leaves; empty when `old_size` is 0 or equal to `new_size`.
    pub fn consistency_proof(&self, old_size: u64, new_size: u64) -> Result<Vec<Hash>, MerkleError> {
        self.check_size(new_size)?;
        if old_size > new_size {
            return Err(MerkleError::OldSizeAboveNewSize { old_size, new_size });
        }
        let mut proof = Vec::new();
        if old_size > 0 {
            subproof(
                old_size,
                0,
                new_size,
                true,
                &|s, e| self.range_root(s, e),
                &mut proof,
            );
        }
        Ok(proof)
    }

    /// The [`CompactRange`] of all the leaves, from the cached complete subtrees: O(log n),
    /// where appending every leaf to a new range would cost about n hashes.
    pub fn frontier(&self) -> CompactRange {
        let size = self.len();
        CompactRange {
            size,
            peaks: self.range_peaks(0, size).collect(),
        }
    }

    fn check_size(&self, size: u64) -> Result<(), MerkleError> {
        let len = self.len();
        if size > len {
            return Err(MerkleError::SizeOutOfRange { size, len });
        }
        Ok(())
    }

    /// MTH(D[start:end]) from cached complete subtrees. `start` must be a multiple of
    /// `end - start` rounded up to a power of two, which holds for the root and for every range
    /// of the RFC 9162 recursions.
    fn range_root(&self, start: u64, end: u64) -> Hash {
        let mut peaks = [[0u8; 32]; 64];
        let mut count = 0;
        for (slot, peak) in peaks.iter_mut().zip(self.range_peaks(start, end)) {
            *slot = peak;
            count += 1;
        }
        fold_peaks(&peaks[..count])
    }

    /// The cached complete subtrees that cover `[start, end)`, largest first; the same
    /// alignment as [`range_root`](Self::range_root) asks.
    fn range_peaks(&self, start: u64, end: u64) -> impl Iterator<Item = Hash> + '_ {
        let mut pos = start;
        std::iter::from_fn(move || {
            (pos < end).then(|| {
                let level = 63 - (end - pos).leading_zeros();
                debug_assert_eq!(pos % (1 << level), 0, "range [{start}, {end}) is not aligned");
                let peak = self.levels[level as usize][(pos >> level) as usize];
                pos += 1 << level;
                peak
            })
        })
    }
}

#[cfg(test)]
mod tests;

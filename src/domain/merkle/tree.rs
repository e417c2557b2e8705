//! The structures that keep a growing log's hashes: the frontier alone ([`CompactRange`]), or
//! every complete subtree's hash ([`Tree`]).

use super::*;

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

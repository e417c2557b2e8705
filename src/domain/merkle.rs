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
mod tests {
    use super::*;

    fn h(hex: &str) -> Hash {
        assert_eq!(hex.len(), 64, "{hex}");
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
        }
        out
    }

    /// SHA-256(0x01 || left || right) over byte strings of any length: the published hasher
    /// vector hashes two short strings.
    fn hash_children(left: &[u8], right: &[u8]) -> Hash {
        Sha256::new()
            .chain_update([0x01])
            .chain_update(left)
            .chain_update(right)
            .finalize()
            .into()
    }

    fn hashes(hexes: &[&str]) -> Vec<Hash> {
        hexes.iter().map(|x| h(x)).collect()
    }

    // ---- Known answers -------------------------------------------------------------------
    //
    // Unless said otherwise, the expected values below are copied from github.com/transparency-dev/merkle
    // (commit 417fb0c): `testonly/constants.go` (LeafInputs, NodeHashes, RootHashes, CompactTrees),
    // `rfc6962/rfc6962_test.go` (TestRFC6962Hasher), and the proof vectors of `proof/verify_test.go`
    // as of commit 9ca563d (inclusionProofs, consistencyProofs; its leaf numbers are 1-based),
    // which are also published as `testdata/inclusion/*/happy-path.json` and
    // `testdata/consistency/*/happy-path.json` (base64 there).

    /// LeafInputs() of testonly/constants.go.
    fn leaf_inputs() -> Vec<Vec<u8>> {
        [
            "",
            "00",
            "10",
            "2021",
            "3031",
            "40414243",
            "5051525354555657",
            "606162636465666768696a6b6c6d6e6f",
        ]
        .iter()
        .map(|x| {
            (0..x.len() / 2)
                .map(|i| u8::from_str_radix(&x[2 * i..2 * i + 2], 16).unwrap())
                .collect()
        })
        .collect()
    }

    fn kat_leaves() -> Vec<Hash> {
        leaf_inputs().iter().map(|d| leaf_hash(d)).collect()
    }

    /// NodeHashes() of testonly/constants.go: level 0 (leaves) to level 3 (root of 8).
    fn kat_node_hashes() -> Vec<Vec<Hash>> {
        vec![
            hashes(&[
                "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
                "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
                "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
                "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
            ]),
            hashes(&[
                "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            ]),
            hashes(&[
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ]),
            hashes(&["5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"]),
        ]
    }

    /// RootHashes() of testonly/constants.go, indexed by tree size 0..=8.
    fn kat_roots() -> Vec<Hash> {
        hashes(&[
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
            "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
            "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        ])
    }

    #[test]
    fn hasher_known_answers() {
        // rfc6962/rfc6962_test.go, TestRFC6962Hasher.
        assert_eq!(
            empty_root(),
            h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        );
        assert_eq!(
            leaf_hash(b""),
            h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")
        );
        assert_eq!(
            leaf_hash(b"L123456"),
            h("395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56")
        );
        assert_eq!(
            hash_children(b"N123", b"N456"),
            h("aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb")
        );
        assert_ne!(
            node_hash(&leaf_hash(b"a"), &leaf_hash(b"b")),
            node_hash(&leaf_hash(b"b"), &leaf_hash(b"a"))
        );
    }

    #[test]
    fn leaf_and_node_hashes_known_answers() {
        let leaves = kat_leaves();
        let nodes = kat_node_hashes();
        assert_eq!(leaves, nodes[0]);
        for (level, expected) in nodes.iter().enumerate() {
            let width = 1usize << level;
            for (i, node) in expected.iter().enumerate() {
                assert_eq!(
                    root(&leaves[i * width..(i + 1) * width]),
                    *node,
                    "level {level} node {i}"
                );
            }
        }
    }

    #[test]
    fn roots_known_answers_for_every_structure() {
        let leaves = kat_leaves();
        let roots = kat_roots();
        let tree = Tree::from_leaf_hashes(leaves.clone());
        let mut frontier = CompactRange::new();
        assert_eq!(frontier.root(), roots[0]);
        for size in 0..=8 {
            assert_eq!(root(&leaves[..size]), roots[size], "root({size})");
            assert_eq!(tree.root(size as u64).unwrap(), roots[size], "Tree::root({size})");
            if size > 0 {
                frontier.append(leaves[size - 1]);
                assert_eq!(frontier.root(), roots[size], "CompactRange::root at {size}");
            }
        }
        assert_eq!(tree.root(9), Err(MerkleError::SizeOutOfRange { size: 9, len: 8 }));
    }

    #[test]
    fn a_trees_frontier_is_the_range_of_its_leaves() {
        let leaves: Vec<Hash> = (0u32..70).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let mut tree = Tree::new();
        let mut range = CompactRange::new();
        assert_eq!(tree.frontier(), range);
        for leaf in &leaves {
            tree.push(*leaf);
            range.append(*leaf);
            assert_eq!(tree.frontier(), range, "at size {}", tree.len());
        }
    }

    #[test]
    fn compact_range_peaks_known_answers() {
        // CompactTrees() of testonly/constants.go: nh[level][index] per size.
        let nh = kat_node_hashes();
        let expected: Vec<Vec<Hash>> = vec![
            vec![],
            vec![nh[0][0]],
            vec![nh[1][0]],
            vec![nh[1][0], nh[0][2]],
            vec![nh[2][0]],
            vec![nh[2][0], nh[0][4]],
            vec![nh[2][0], nh[1][2]],
            vec![nh[2][0], nh[1][2], nh[0][6]],
            vec![nh[3][0]],
        ];
        let mut frontier = CompactRange::new();
        for (size, peaks) in expected.iter().enumerate() {
            if size > 0 {
                frontier.append(kat_leaves()[size - 1]);
            }
            assert_eq!(frontier.size(), size as u64);
            assert_eq!(frontier.peaks(), peaks.as_slice(), "peaks at size {size}");
            let restored = CompactRange::from_parts(size as u64, peaks.clone()).unwrap();
            assert_eq!(restored, frontier);
        }
        assert_eq!(
            CompactRange::from_parts(3, vec![nh[1][0]]),
            Err(MerkleError::FrontierLength {
                size: 3,
                expected: 2,
                got: 1
            })
        );
    }

    /// (leaf index, tree size, proof): verify_test.go inclusionProofs (leaf numbers made 0-based).
    fn kat_inclusion_proofs() -> Vec<(u64, u64, Vec<Hash>)> {
        vec![
            (0, 1, vec![]),
            (
                0,
                8,
                hashes(&[
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ]),
            ),
            (
                5,
                8,
                hashes(&[
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ]),
            ),
            (
                2,
                3,
                hashes(&["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
            ),
            (
                1,
                5,
                hashes(&[
                    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ]),
            ),
        ]
    }

    /// (old size, new size, proof): verify_test.go consistencyProofs.
    fn kat_consistency_proofs() -> Vec<(u64, u64, Vec<Hash>)> {
        vec![
            (1, 1, vec![]),
            (
                1,
                8,
                hashes(&[
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ]),
            ),
            (
                6,
                8,
                hashes(&[
                    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ]),
            ),
            (
                2,
                5,
                hashes(&[
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ]),
            ),
            (
                6,
                7,
                hashes(&[
                    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                    "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ]),
            ),
        ]
    }

    #[test]
    fn inclusion_proofs_known_answers() {
        let leaves = kat_leaves();
        let roots = kat_roots();
        let tree = Tree::from_leaf_hashes(leaves.clone());
        for (index, size, expected) in kat_inclusion_proofs() {
            let n = size as usize;
            assert_eq!(
                inclusion_proof(&leaves[..n], index),
                expected,
                "PATH({index}, D[{size}])"
            );
            assert_eq!(
                tree.inclusion_proof(index, size).unwrap(),
                expected,
                "Tree PATH({index}, {size})"
            );
            assert!(verify_inclusion(
                &leaves[index as usize],
                index,
                size,
                &expected,
                &roots[n]
            ));
        }
    }

    #[test]
    fn consistency_proofs_known_answers() {
        let leaves = kat_leaves();
        let roots = kat_roots();
        let tree = Tree::from_leaf_hashes(leaves.clone());
        for (old, new, expected) in kat_consistency_proofs() {
            let (m, n) = (old as usize, new as usize);
            assert_eq!(
                consistency_proof(&leaves[..n], old),
                expected,
                "PROOF({old}, D[{new}])"
            );
            assert_eq!(
                tree.consistency_proof(old, new).unwrap(),
                expected,
                "Tree PROOF({old}, {new})"
            );
            assert!(verify_consistency(old, new, &roots[m], &roots[n], &expected));
        }
    }

    #[test]
    fn verifiers_reject_malformed_requests() {
        let roots = kat_roots();
        let leaves = kat_leaves();
        let some = h("abacaba000000000000000000000000000000000000000000060061e00123456");
        // Index not below size, and empty trees, never verify.
        for (index, size) in [(0, 0), (1, 0), (1, 1), (2, 1)] {
            assert!(!verify_inclusion(&some, index, size, &[], &roots[0]));
            assert!(!verify_inclusion(&roots[0], index, size, &[], &roots[0]));
        }
        // One-leaf tree: the leaf hash is the root, the proof is empty.
        assert!(verify_inclusion(&leaves[0], 0, 1, &[], &roots[1]));
        assert!(!verify_inclusion(&leaves[1], 0, 1, &[], &roots[1]));
        assert!(!verify_inclusion(&leaves[0], 0, 1, &[some], &roots[1]));

        let (r1, r2) = (roots[1], roots[2]);
        assert!(!verify_consistency(2, 1, &r2, &r1, &[])); // shrinking
        assert!(!verify_consistency(1, 2, &r1, &r2, &[])); // empty proof between sizes
        assert!(!verify_consistency(1, 1, &r1, &r2, &[])); // same size, other root
        assert!(verify_consistency(1, 1, &r1, &r1, &[]));
        assert!(!verify_consistency(1, 1, &r1, &r1, &[some])); // same size, proof not empty
        assert!(verify_consistency(0, 0, &roots[0], &roots[0], &[]));
        assert!(verify_consistency(0, 5, &roots[0], &roots[5], &[])); // empty tree is a prefix
        assert!(!verify_consistency(0, 5, &some, &roots[5], &[])); // ...with the empty root only
        assert!(!verify_consistency(0, 5, &roots[0], &roots[5], &[some]));
        assert_eq!(consistency_proof(&leaves, 0), Vec::<Hash>::new());

        let tree = Tree::from_leaf_hashes(leaves);
        assert_eq!(
            tree.inclusion_proof(8, 8),
            Err(MerkleError::IndexOutOfRange { index: 8, size: 8 })
        );
        assert_eq!(
            tree.inclusion_proof(0, 9),
            Err(MerkleError::SizeOutOfRange { size: 9, len: 8 })
        );
        assert_eq!(
            tree.consistency_proof(5, 4),
            Err(MerkleError::OldSizeAboveNewSize {
                old_size: 5,
                new_size: 4
            })
        );
        assert_eq!(tree.consistency_proof(0, 8).unwrap(), Vec::<Hash>::new());
        assert!(Tree::new().root(0).unwrap() == empty_root() && Tree::new().is_empty());
    }

    // ---- Properties, against an independent verifier -------------------------------------

    /// Rebuilds the root from an inclusion proof by following the recursive definition of PATH
    /// (the last element is the sibling of the top split), independently of the RFC's bit
    /// arithmetic. None when the proof has the wrong length.
    fn root_from_path(index: u64, size: u64, leaf: Hash, proof: &[Hash]) -> Option<Hash> {
        if size == 1 {
            return proof.is_empty().then_some(leaf);
        }
        let (top, rest) = proof.split_last()?;
        let k = split(size);
        Some(if index < k {
            node_hash(&root_from_path(index, k, leaf, rest)?, top)
        } else {
            node_hash(top, &root_from_path(index - k, size - k, leaf, rest)?)
        })
    }

    fn independent_verify_inclusion(leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash) -> bool {
        index < size && root_from_path(index, size, *leaf, proof).as_ref() == Some(root)
    }

    /// Follows SUBPROOF(m, D[n], b) backwards: returns (old root, new root) implied by the proof,
    /// where `old` is the old root the caller claims (used when the old tree is this subtree).
    fn roots_from_subproof(m: u64, n: u64, b: bool, old: Hash, proof: &[Hash]) -> Option<(Hash, Hash)> {
        if m == n {
            return match (b, proof) {
                (true, []) => Some((old, old)),
                (false, [node]) => Some((*node, *node)),
                _ => None,
            };
        }
        let (top, rest) = proof.split_last()?;
        let k = split(n);
        if m <= k {
            let (o, new) = roots_from_subproof(m, k, b, old, rest)?;
            Some((o, node_hash(&new, top)))
        } else {
            let (o, new) = roots_from_subproof(m - k, n - k, false, old, rest)?;
            Some((node_hash(top, &o), node_hash(top, &new)))
        }
    }

    fn independent_verify_consistency(m: u64, n: u64, old: &Hash, new: &Hash, proof: &[Hash]) -> bool {
        0 < m && m <= n && roots_from_subproof(m, n, true, *old, proof) == Some((*old, *new))
    }

    fn test_leaves(n: u64) -> Vec<Hash> {
        (0..n)
            .map(|i| leaf_hash(format!("signed_write {i}").as_bytes()))
            .collect()
    }

    fn corruptions(proof: &[Hash]) -> Vec<Vec<Hash>> {
        let mut out = Vec::new();
        for i in 0..proof.len() {
            let mut bad = proof.to_vec();
            bad[i][i % 32] ^= 0x01;
            out.push(bad);
            let mut removed = proof.to_vec();
            removed.remove(i);
            out.push(removed);
        }
        let mut longer = proof.to_vec();
        longer.push(empty_root());
        out.push(longer);
        let mut prefixed = proof.to_vec();
        prefixed.insert(0, empty_root());
        out.push(prefixed);
        out
    }

    #[test]
    fn inclusion_proofs_verify_for_all_sizes_to_64_and_corruptions_fail() {
        let leaves = test_leaves(64);
        let tree = Tree::from_leaf_hashes(leaves.clone());
        for size in 1..=64u64 {
            let n = size as usize;
            let root_n = root(&leaves[..n]);
            assert_eq!(tree.root(size).unwrap(), root_n);
            for index in 0..size {
                let leaf = &leaves[index as usize];
                let proof = inclusion_proof(&leaves[..n], index);
                assert_eq!(tree.inclusion_proof(index, size).unwrap(), proof);
                assert!(
                    verify_inclusion(leaf, index, size, &proof, &root_n),
                    "{index}/{size}"
                );
                assert!(
                    independent_verify_inclusion(leaf, index, size, &proof, &root_n),
                    "{index}/{size}"
                );
                for bad in corruptions(&proof) {
                    assert!(
                        !verify_inclusion(leaf, index, size, &bad, &root_n),
                        "{index}/{size} {bad:?}"
                    );
                    assert!(!independent_verify_inclusion(leaf, index, size, &bad, &root_n));
                }
                let other = leaf_hash(b"not in the log");
                assert!(!verify_inclusion(&other, index, size, &proof, &root_n));
                assert!(!verify_inclusion(leaf, index, size, &proof, &empty_root()));
                for wrong in [index ^ 1, index + 1, index.wrapping_sub(1), index ^ 2] {
                    if wrong != index && wrong < size {
                        assert!(
                            !verify_inclusion(leaf, wrong, size, &proof, &root_n),
                            "{wrong}/{size}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn consistency_proofs_verify_for_all_sizes_to_64_and_corruptions_fail() {
        let leaves = test_leaves(64);
        let tree = Tree::from_leaf_hashes(leaves.clone());
        let roots: Vec<Hash> = (0..=64).map(|n| root(&leaves[..n])).collect();
        for new in 1..=64u64 {
            for old in 0..=new {
                let (m, n) = (old as usize, new as usize);
                let proof = consistency_proof(&leaves[..n], old);
                assert_eq!(tree.consistency_proof(old, new).unwrap(), proof);
                assert!(
                    verify_consistency(old, new, &roots[m], &roots[n], &proof),
                    "{old}->{new}"
                );
                if old == 0 {
                    assert!(proof.is_empty());
                    continue;
                }
                assert!(independent_verify_consistency(
                    old, new, &roots[m], &roots[n], &proof
                ));
                for bad in corruptions(&proof) {
                    assert!(
                        !verify_consistency(old, new, &roots[m], &roots[n], &bad),
                        "{old}->{new} {bad:?}"
                    );
                    assert!(!independent_verify_consistency(
                        old, new, &roots[m], &roots[n], &bad
                    ));
                }
                let tampered = leaf_hash(b"rewritten history");
                assert!(!verify_consistency(old, new, &tampered, &roots[n], &proof));
                assert!(!verify_consistency(old, new, &roots[m], &tampered, &proof));
                if old < new {
                    assert!(
                        !verify_consistency(old, new, &roots[n], &roots[m], &proof),
                        "swapped roots"
                    );
                    assert!(!verify_consistency(new, old, &roots[n], &roots[m], &proof));
                    // The old root must commit to exactly the first `old` leaves.
                    let mut forked = leaves[..n].to_vec();
                    forked[m - 1] = tampered;
                    assert!(!verify_consistency(old, new, &roots[m], &root(&forked), &proof));
                }
            }
        }
    }

    #[test]
    fn incremental_structures_match_reference_for_every_size() {
        let leaves = test_leaves(300);
        let mut tree = Tree::new();
        let mut frontier = CompactRange::new();
        for (i, leaf) in leaves.iter().enumerate() {
            tree.push(*leaf);
            frontier.append(*leaf);
            let reference = root(&leaves[..=i]);
            assert_eq!(frontier.root(), reference, "frontier at {}", i + 1);
            assert_eq!(tree.root(i as u64 + 1).unwrap(), reference);
            let restored = CompactRange::from_parts(frontier.size(), frontier.peaks().to_vec()).unwrap();
            assert_eq!(restored.root(), reference);
        }
        assert_eq!(tree.leaf_hashes(), leaves.as_slice());
        for size in [1u64, 7, 64, 65, 200, 300] {
            for old in [1u64, 3, 64, 100, size] {
                if old <= size {
                    let proof = tree.consistency_proof(old, size).unwrap();
                    assert_eq!(proof, consistency_proof(&leaves[..size as usize], old));
                }
            }
        }
    }

    #[test]
    fn a_million_leaves() {
        const N: u64 = 1_000_000;
        // Synthetic leaf hashes keep the test about tree hashing, not about hashing leaves.
        let leaf = |i: u64| {
            let mut hash = [0u8; 32];
            hash[..8].copy_from_slice(&i.to_be_bytes());
            hash
        };
        let mut frontier = CompactRange::new();
        let mut tree = Tree::new();
        for i in 0..N {
            tree.push(leaf(i));
            frontier.append(leaf(i));
        }
        let root_n = tree.root(N).unwrap();
        assert_eq!(root_n, frontier.root());
        for index in [0, 1, 524_287, 524_288, 999_999] {
            let proof = tree.inclusion_proof(index, N).unwrap();
            assert!(proof.len() <= 20);
            assert!(verify_inclusion(&leaf(index), index, N, &proof, &root_n));
        }
        for old in [1, 2, 1000, 524_288, 777_777, 999_999] {
            let proof = tree.consistency_proof(old, N).unwrap();
            assert!(
                verify_consistency(old, N, &tree.root(old).unwrap(), &root_n, &proof),
                "{old}"
            );
        }
    }
}

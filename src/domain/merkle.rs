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

mod tree;

pub use tree::{CompactRange, Tree};

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

#[cfg(test)]
mod tests;

//! Unit tests of [`super`] (merkle.rs).

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

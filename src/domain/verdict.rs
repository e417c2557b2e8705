//! Signed verdicts: what the registry's signature on a trust answer covers, and the canonical
//! form of a query that the verdict binds.
//!
//! Verdicts are signed in trees: the registry hashes each verdict's bytes as an RFC 9162 leaf,
//! builds the Merkle tree of the verdicts it signs together (those that were waiting while the
//! previous tree was being signed, or the answers of one `CheckIssuers` call) and signs its
//! root once. Each verdict carries its place in the tree and its inclusion proof, so it is
//! checked on its own, offline: one Ed25519 signature then costs a verifier nothing more than
//! log2(tree size) hashes, and the registry one signature per tree instead of per verdict
//! (the batching of Roughtime's signed responses). A tree of one verdict has its leaf hash as
//! the root and an empty proof.

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use super::keys;
use super::merkle::{self, Hash, Tree};

/// Context string separating verdict signatures from every other use of the registry key.
pub const VERDICT_CONTEXT: &[u8] = b"trust-registry/v1 verdict tree";

/// The registry's own signing key (verdicts, checkpoints).
#[derive(Clone)]
pub struct RegistryKey {
    signing: SigningKey,
    key_id: String,
}

impl std::fmt::Debug for RegistryKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret.
        f.debug_struct("RegistryKey")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// Where a verdict sits in the tree whose root the registry signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreePlace {
    /// The verdict's leaf index.
    pub index: u64,
    /// Leaves in the tree.
    pub size: u64,
    /// RFC 9162 inclusion proof of the leaf, from its sibling up.
    pub proof: Vec<Hash>,
}

/// Verdicts signed together: one signature over the root of their tree.
pub struct SignedTree {
    pub signature: [u8; 64],
    tree: Tree,
}

impl SignedTree {
    /// The place of leaf `index`.
    ///
    /// # Panics
    /// If `index` is not a leaf of the tree.
    pub fn place(&self, index: usize) -> TreePlace {
        let size = self.tree.len();
        TreePlace {
            index: index as u64,
            size,
            proof: self
                .tree
                .inclusion_proof(index as u64, size)
                .expect("a leaf of the tree"),
        }
    }
}

impl RegistryKey {
    pub fn new(signing: SigningKey) -> Self {
        let key_id = keys::key_id(&signing.verifying_key().to_bytes());
        Self { signing, key_id }
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    pub fn public_key(&self) -> [u8; 32] {
        self.signing.verifying_key().to_bytes()
    }

    pub fn signing_key(&self) -> &SigningKey {
        &self.signing
    }

    /// Signs the tree of the given verdict leaf hashes (see [`verdict_leaf`]): Ed25519 over
    /// context || 0x00 || the tree's RFC 9162 root.
    ///
    /// # Panics
    /// If `leaves` is empty.
    pub fn sign_verdicts(&self, leaves: impl IntoIterator<Item = Hash>) -> SignedTree {
        let tree = Tree::from_leaf_hashes(leaves);
        assert!(!tree.is_empty(), "a verdict tree has at least one verdict");
        let root = tree.root(tree.len()).expect("the whole tree");
        SignedTree {
            signature: self.signing.sign(&verdict_message(&root)).to_bytes(),
            tree,
        }
    }
}

/// A verdict's leaf hash: SHA-256(0x00 || verdict bytes).
pub fn verdict_leaf(verdict_bytes: &[u8]) -> Hash {
    merkle::leaf_hash(verdict_bytes)
}

fn verdict_message(root: &Hash) -> Vec<u8> {
    let mut message = Vec::with_capacity(VERDICT_CONTEXT.len() + 33);
    message.extend_from_slice(VERDICT_CONTEXT);
    message.push(0);
    message.extend_from_slice(root);
    message
}

/// Checks a verdict signature offline, with the registry's public key: the verdict's leaf with
/// its inclusion proof gives the root of a tree of `place.size` verdicts, and the signature
/// (`verify_strict`) is over that root.
pub fn verify_verdict(
    public_key: &[u8; 32],
    verdict_bytes: &[u8],
    place: &TreePlace,
    signature: &[u8],
) -> bool {
    let (Ok(key), Ok(signature)) = (
        VerifyingKey::from_bytes(public_key),
        Signature::from_slice(signature),
    ) else {
        return false;
    };
    let Some(root) = merkle::root_from_inclusion_proof(
        &verdict_leaf(verdict_bytes),
        place.index,
        place.size,
        &place.proof,
    ) else {
        return false;
    };
    key.verify_strict(&verdict_message(&root), &signature).is_ok()
}

/// Hex SHA-256 of a query's canonical form: the lines `issuer=`, `key_id=`, `credential_type=`,
/// `eqf_level=`, `field_of_study=`, `jurisdiction=`, `at=` (RFC 3339 UTC with `Z`, or empty),
/// each ending in `\n`, with empty values for unset fields.
pub fn query_hash(lines: &[(&str, String)]) -> String {
    let mut hasher = Sha256::new();
    for (name, value) in lines {
        hasher.update(name.as_bytes());
        hasher.update(b"=");
        hasher.update(value.as_bytes());
        hasher.update(b"\n");
    }
    hex::encode(hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdict_signatures_verify_and_bind_bytes_and_place() {
        let key = RegistryKey::new(SigningKey::from_bytes(&[3; 32]));
        let other = RegistryKey::new(SigningKey::from_bytes(&[4; 32]));
        for size in [1usize, 2, 3, 5, 8, 13] {
            let verdicts: Vec<Vec<u8>> = (0..size).map(|i| format!("verdict {i}").into_bytes()).collect();
            let signed = key.sign_verdicts(verdicts.iter().map(|v| verdict_leaf(v)));
            let verifies = |public: &RegistryKey, bytes: &[u8], place: &TreePlace| {
                verify_verdict(&public.public_key(), bytes, place, &signed.signature)
            };
            for (i, bytes) in verdicts.iter().enumerate() {
                let place = signed.place(i);
                assert_eq!((place.index, place.size), (i as u64, size as u64));
                assert!(verifies(&key, bytes, &place));
                assert!(!verifies(&other, bytes, &place));
                let mut altered = bytes.clone();
                altered[0] ^= 1;
                assert!(!verifies(&key, &altered, &place));
                if size > 1 {
                    // Another verdict's place, or a proof cut short, does not lead to the root.
                    let elsewhere = signed.place((i + 1) % size);
                    assert!(!verifies(&key, bytes, &elsewhere));
                    let mut short = place.clone();
                    short.proof.pop();
                    assert!(!verifies(&key, bytes, &short));
                }
            }
        }
        assert!(!format!("{key:?}").contains("signing"));
    }

    #[test]
    fn a_tree_of_one_signs_the_leaf_hash() {
        let key = RegistryKey::new(SigningKey::from_bytes(&[3; 32]));
        let signed = key.sign_verdicts([verdict_leaf(b"verdict")]);
        assert!(signed.place(0).proof.is_empty());
        let mut message = VERDICT_CONTEXT.to_vec();
        message.push(0);
        message.extend_from_slice(
            &Sha256::new()
                .chain_update([0])
                .chain_update(b"verdict")
                .finalize(),
        );
        let public = VerifyingKey::from_bytes(&key.public_key()).unwrap();
        assert!(
            public
                .verify_strict(&message, &Signature::from_bytes(&signed.signature))
                .is_ok()
        );
    }
}

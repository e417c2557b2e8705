//! Inclusion and consistency proofs check out, in Rust and in the independent Python verifier.

use super::*;
use crate::both_backends;

fn run_verifier(file: &Path) -> Output {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/verify_log.py");
    Command::new("python3")
        .arg(&script)
        .arg(file)
        .output()
        .expect("python3 runs tests/fixtures/verify_log.py")
}

fn describe(output: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Flips one bit of the first hash of the proof at `path` in the JSON document.
fn corrupt(doc: &serde_json::Value, list: &str, at: usize) -> serde_json::Value {
    let mut doc = doc.clone();
    let hash = &mut doc[list][at]["hashes"][0];
    let mut bytes = STANDARD.decode(hash.as_str().expect("a hash")).expect("base64");
    bytes[0] ^= 0x01;
    *hash = serde_json::Value::String(b64(&bytes));
    doc
}

both_backends!(proofs_verify_in_rust_and_python, async |app: &TestApp| {
    let written = writes(app, "proofs", 21).await;
    assert_positions(&written);
    let head = checkpoint(app).await;
    let size = head.size;
    assert_eq!(size, 21);
    let entries = entries(app, size, 7).await;
    let leaves = leaf_hashes(&entries);
    let roots: Vec<Hash> = (0..=size as usize).map(|n| merkle::root(&leaves[..n])).collect();
    assert_eq!(roots[size as usize], head.root);

    // Every leaf in every tree size, and every pair of sizes.
    let mut inclusion_proofs = Vec::new();
    for n in 1..=size {
        for i in 0..n {
            let proof = inclusion(app, i, n).await;
            assert_eq!((proof.leaf_index, proof.tree_size), (i, n));
            assert_eq!(proof.leaf_hash, leaves[i as usize], "leaf hash of entry {i}");
            let path = hashes(&proof.hashes);
            assert!(
                merkle::verify_inclusion(&leaves[i as usize], i, n, &path, &roots[n as usize]),
                "inclusion of {i} in {n}"
            );
            inclusion_proofs.push(serde_json::json!({
                "leaf_index": i,
                "tree_size": n,
                "leaf_hash": b64(&proof.leaf_hash),
                "hashes": proof.hashes.iter().map(|h| b64(h)).collect::<Vec<_>>(),
            }));
        }
    }
    let mut consistency_proofs = Vec::new();
    for m in 1..=size {
        for n in m..=size {
            let proof = consistency(app, m, n).await;
            assert_eq!((proof.old_size, proof.new_size), (m, n));
            let path = hashes(&proof.hashes);
            assert!(
                merkle::verify_consistency(m, n, &roots[m as usize], &roots[n as usize], &path),
                "consistency of {m} with {n}"
            );
            consistency_proofs.push(serde_json::json!({
                "old_size": m,
                "new_size": n,
                "hashes": proof.hashes.iter().map(|h| b64(h)).collect::<Vec<_>>(),
            }));
        }
    }
    let (inclusion_count, consistency_count) = (inclusion_proofs.len(), consistency_proofs.len());
    assert_eq!(inclusion_count, 231);
    assert_eq!(consistency_count, 231);
    let doc = serde_json::json!({
        "size": size,
        "root": b64(&head.root),
        "entries": entries.iter().map(|e| b64(e)).collect::<Vec<_>>(),
        "inclusion": inclusion_proofs,
        "consistency": consistency_proofs,
    });

    let dir = tempfile::tempdir().expect("a temporary directory");
    let write = |name: &str, doc: &serde_json::Value| {
        let path = dir.path().join(name);
        std::fs::write(&path, serde_json::to_vec_pretty(doc).expect("JSON")).expect("write the proofs");
        path
    };
    let output = run_verifier(&write("proofs.json", &doc));
    assert_eq!(
        output.status.code(),
        Some(0),
        "the Python verifier accepts: {}",
        describe(&output)
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        format!(
            "ok: root of {size} entries, {inclusion_count} inclusion proofs, \
             {consistency_count} consistency proofs"
        ),
        "it checked every proof"
    );

    // One corrupted proof of each kind fails there, and in Rust.
    let (i, n) = (5, size);
    let at = inclusion_proofs_index(i, n);
    let bad = corrupt(&doc, "inclusion", at);
    let output = run_verifier(&write("bad-inclusion.json", &bad));
    assert_eq!(
        output.status.code(),
        Some(1),
        "a corrupted inclusion proof: {}",
        describe(&output)
    );
    assert!(
        String::from_utf8_lossy(&output.stderr).contains(&format!("inclusion ({i}, {n})")),
        "{}",
        describe(&output)
    );
    let bad_path: Vec<Hash> = bad["inclusion"][at]["hashes"]
        .as_array()
        .expect("hashes")
        .iter()
        .map(|h| STANDARD.decode(h.as_str().unwrap()).unwrap().try_into().unwrap())
        .collect();
    assert!(!merkle::verify_inclusion(
        &leaves[i as usize],
        i,
        n,
        &bad_path,
        &roots[n as usize]
    ));

    let (m, n) = (6, 19);
    let at = consistency_proofs_index(m, n, size);
    assert_eq!(doc["consistency"][at]["old_size"], m);
    assert_eq!(doc["consistency"][at]["new_size"], n);
    let bad = corrupt(&doc, "consistency", at);
    let output = run_verifier(&write("bad-consistency.json", &bad));
    assert_eq!(
        output.status.code(),
        Some(1),
        "a corrupted consistency proof: {}",
        describe(&output)
    );
    assert!(
        String::from_utf8_lossy(&output.stderr).contains(&format!("consistency ({m}, {n})")),
        "{}",
        describe(&output)
    );
    let bad_path: Vec<Hash> = bad["consistency"][at]["hashes"]
        .as_array()
        .expect("hashes")
        .iter()
        .map(|h| STANDARD.decode(h.as_str().unwrap()).unwrap().try_into().unwrap())
        .collect();
    assert!(!merkle::verify_consistency(
        m,
        n,
        &roots[m as usize],
        &roots[n as usize],
        &bad_path
    ));

    // A changed entry no longer hashes to the checkpoint root.
    let mut bad = doc.clone();
    bad["entries"][3] = serde_json::Value::String(b64(b"not the entry"));
    let output = run_verifier(&write("bad-entry.json", &bad));
    assert_eq!(
        output.status.code(),
        Some(1),
        "a changed entry: {}",
        describe(&output)
    );
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("do not hash to the checkpoint root"),
        "{}",
        describe(&output)
    );
});

/// Position of the inclusion proof (i, n) in the list built above (n = 1.., i = 0..n).
fn inclusion_proofs_index(i: u64, n: u64) -> usize {
    ((n - 1) * n / 2 + i) as usize
}

/// Position of the consistency proof (m, n) in the list built above (m = 1..=size, n = m..=size).
fn consistency_proofs_index(m: u64, n: u64, size: u64) -> usize {
    let before: u64 = (1..m).map(|k| size - k + 1).sum();
    (before + (n - m)) as usize
}

both_backends!(
    checkpoints_stay_consistent_as_the_log_grows,
    async |app: &TestApp| {
        let mut heads = Vec::new();
        let mut written = Vec::new();
        for (tag, count) in [("grow a", 1), ("grow b", 4), ("grow c", 3), ("grow d", 6)] {
            written.extend(writes(app, tag, count).await);
            let head = checkpoint(app).await;
            assert_eq!(head.size, written.len() as u64);
            heads.push(head);
        }
        assert_positions(&written);
        assert_eq!(heads.iter().map(|h| h.size).collect::<Vec<_>>(), [1, 5, 8, 14]);

        for (a, old) in heads.iter().enumerate() {
            for new in &heads[a..] {
                let proof = consistency(app, old.size, new.size).await;
                let path = hashes(&proof.hashes);
                assert!(
                    merkle::verify_consistency(old.size, new.size, &old.root, &new.root, &path),
                    "checkpoint {} is a prefix of checkpoint {}",
                    old.size,
                    new.size
                );
                if old.size < new.size {
                    assert!(!merkle::verify_consistency(
                        old.size, new.size, &new.root, &old.root, &path
                    ));
                    let mut forked = old.root;
                    forked[31] ^= 0x80;
                    assert!(
                        !merkle::verify_consistency(old.size, new.size, &forked, &new.root, &path),
                        "the proof does not vouch for another old root"
                    );
                }
            }
        }

        // The saved checkpoints still describe prefixes of the entries now served.
        let leaves = leaf_hashes(&entries(app, 14, 7).await);
        for head in &heads {
            assert_eq!(
                merkle::root(&leaves[..head.size as usize]),
                head.root,
                "checkpoint {}",
                head.size
            );
        }
    }
);

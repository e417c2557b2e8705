//! Unit tests of [`super`] (note.rs).

use super::*;
use crate::domain::merkle::leaf_hash;

// Published examples. Unless said otherwise they are copied from golang.org/x/mod
// (github.com/golang/mod, commit fe2ec04), `sumdb/note/note_test.go` (TestNewVerifier,
// TestSign, TestOpen), which also publishes the signer key of PeterNeumann.
const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const PETER_SKEY: &str = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
const TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                    then you don't know what your problem is.\n";
const PETER_SIG: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
const ENOCH_SIG: &str = "\u{2014} EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

// golang.org/x/mod `sumdb/client_test.go`: test log keys and the signed tree
// ("new database") shown in TestClientFork's comment.
const SUMDB_VKEY: &str = "localhost.localdev/sumdb+00000c67+AcTrnkbUA+TU4heY3hkjiSES/DSQniBqIeQ/YppAUtK6";
const SUMDB_SKEY: &str =
    "PRIVATE+KEY+localhost.localdev/sumdb+00000c67+AXu6+oaVaOYuQOFrf1V59JK1owcFlJcHwwXHDfDGxSPk";
const SUMDB_TREE_6: &str = "go.sum database tree\n6\nwc4SkQt52o5W2nQ8To2ARs+mWuUJjss+sdleoiqxMmM=\n\n\
    \u{2014} localhost.localdev/sumdb AAAMZ6oRNswlEZ6ZZhxrCvgl1MBy+nusq4JU+TG6Fe2NihWLqOzb+y2c2kzRLoCr4tvw9o36ucQEnhc20e4nA4Qc/wc=\n";

/// Decodes a published `PRIVATE+KEY+<name>+<id>+<base64(0x01 || seed)>` signer key.
fn signer_key(skey: &str) -> (String, SigningKey) {
    let parts: Vec<&str> = skey.splitn(5, '+').collect();
    assert_eq!(parts[..2], ["PRIVATE", "KEY"]);
    let bytes = STANDARD.decode(parts[4]).unwrap();
    assert_eq!(bytes[0], ALG_ED25519);
    (
        parts[2].to_owned(),
        SigningKey::from_bytes(&bytes[1..].try_into().unwrap()),
    )
}

fn test_key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

#[test]
fn published_vkey_parses_and_is_rebuilt_from_the_published_signer_key() {
    let (name, id, public) = parse_verifier_key(PETER_VKEY).unwrap();
    assert_eq!((name.as_str(), id), ("PeterNeumann", 0xc74f20a3));
    let (skey_name, key) = signer_key(PETER_SKEY);
    assert_eq!(key.verifying_key().to_bytes(), public);
    assert_eq!(key_hash(&skey_name, &public), 0xc74f20a3);
    assert_eq!(verifier_key(&skey_name, &public).unwrap(), PETER_VKEY);
    assert_eq!(parse_verifier_key(ENOCH_VKEY).unwrap().1, 0xaf0cfe78);
    let (sumdb_name, sumdb_key) = signer_key(SUMDB_SKEY);
    assert_eq!(
        verifier_key(&sumdb_name, &sumdb_key.verifying_key().to_bytes()).unwrap(),
        SUMDB_VKEY
    );
}

#[test]
fn mangled_vkeys_are_refused() {
    // As TestNewVerifier: every proper substring and every single-byte change is refused.
    let bytes = PETER_VKEY.as_bytes();
    for i in 0..=bytes.len() {
        for j in i + 1..=bytes.len() {
            if (i, j) != (0, bytes.len()) {
                let part = &PETER_VKEY[i..j];
                assert!(parse_verifier_key(part).is_err(), "{part}");
            }
        }
    }
    for i in 0..bytes.len() {
        let mut changed = bytes.to_vec();
        changed[i] += 1;
        let changed = String::from_utf8(changed).unwrap();
        assert!(parse_verifier_key(&changed).is_err(), "{changed}");
    }
    // Published in TestNewVerifier: wrong key length and unknown algorithm, ids adjusted.
    for bad in [
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    ] {
        assert!(parse_verifier_key(bad).is_err(), "{bad}");
    }
    assert!(verifier_key("two words", &[1; 32]).is_err());
    assert!(verifier_key("a+b", &[1; 32]).is_err());
    assert!(verifier_key("", &[1; 32]).is_err());
}

#[test]
fn sign_reproduces_the_published_signed_note() {
    let (name, key) = signer_key(PETER_SKEY);
    let expected = format!("{TEXT}\n{PETER_SIG}");
    assert_eq!(sign_note(TEXT, &name, &key).unwrap(), expected);
    assert_eq!(verify_note(&expected, PETER_VKEY).unwrap(), TEXT);
}

#[test]
fn published_notes_verify_for_their_keys_only() {
    let both = format!("{TEXT}\n{PETER_SIG}{ENOCH_SIG}");
    assert_eq!(verify_note(&both, PETER_VKEY).unwrap(), TEXT);
    assert_eq!(verify_note(&both, ENOCH_VKEY).unwrap(), TEXT);
    let enoch_only = format!("{TEXT}\n{ENOCH_SIG}");
    assert_eq!(verify_note(&enoch_only, ENOCH_VKEY).unwrap(), TEXT);
    assert_eq!(
        verify_note(&enoch_only, PETER_VKEY),
        Err(NoteError::NotSigned("PeterNeumann+c74f20a3".into()))
    );
    // TestOpen's invalid signature: "ABCD" spliced into the base64.
    let spliced = format!("{TEXT}\n{}ABCD{}", &PETER_SIG[..60], &PETER_SIG[60..]);
    assert_eq!(
        verify_note(&spliced, PETER_VKEY),
        Err(NoteError::InvalidSignature("PeterNeumann+c74f20a3".into()))
    );
    // Same text signed under the same name by another key: id differs, so it is ignored.
    let other = sign_note(TEXT, "PeterNeumann", &test_key(7)).unwrap();
    assert!(matches!(
        verify_note(&other, PETER_VKEY),
        Err(NoteError::NotSigned(_))
    ));
}

#[test]
fn c2sp_signed_note_example_verifies() {
    // c2sp.org/signed-note, "Verifier keys" > "Example" (github.com/C2SP/C2SP signed-note.md).
    let vkey = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
    let note = "This is an example message.\n\n\u{2014} example.com/foo \
        Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";
    assert_eq!(verify_note(note, vkey).unwrap(), "This is an example message.\n");
    assert!(verify_note(&note.replace("example message", "example massage"), vkey).is_err());
}

#[test]
fn published_sumdb_tree_note_opens_as_a_checkpoint() {
    let checkpoint = open_note(SUMDB_TREE_6, SUMDB_VKEY).unwrap();
    assert_eq!(checkpoint.origin, "go.sum database tree");
    assert_eq!(checkpoint.size, 6);
    assert_eq!(
        STANDARD.encode(checkpoint.root),
        "wc4SkQt52o5W2nQ8To2ARs+mWuUJjss+sdleoiqxMmM="
    );
    let (name, key) = signer_key(SUMDB_SKEY);
    assert_eq!(checkpoint.sign(&name, &key).unwrap(), SUMDB_TREE_6);
    let tampered = SUMDB_TREE_6.replacen("\n6\n", "\n7\n", 1);
    assert!(matches!(
        open_note(&tampered, SUMDB_VKEY),
        Err(NoteError::InvalidSignature(_))
    ));
}

#[test]
fn published_checkpoint_bodies_parse_and_format_exactly() {
    // golang.org/x/mod sumdb/tlog/note_test.go, TestFormatTree: the root is
    // RecordHash("hello world") = SHA-256(0x00 || "hello world"), the RFC 9162 leaf hash.
    let golden = "go.sum database tree\n123456789012\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n";
    let tree = Checkpoint {
        origin: "go.sum database tree".into(),
        size: 123_456_789_012,
        root: leaf_hash(b"hello world"),
    };
    assert_eq!(tree.body(), golden);
    assert_eq!(Checkpoint::from_body(golden).unwrap(), tree);
    // TestParseTree's bad trees.
    assert!(Checkpoint::from_body(&golden.replace("123456789012", "0xabcdef")).is_err());
    assert!(Checkpoint::from_body(&golden.replace("HmuwBb0=", "HmuwBTOOBIG=")).is_err());

    // c2sp.org/tlog-checkpoint example (C2SP tlog-checkpoint.md); its key is not published,
    // so only the body is checked, and another key's vkey must not accept it.
    let body = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
    let sofa = Checkpoint::from_body(body).unwrap();
    assert_eq!(
        (sofa.origin.as_str(), sofa.size),
        ("example.com/behind-the-sofa", 20_852_163)
    );
    assert_eq!(sofa.body(), body);
    let note = format!(
        "{body}\n\u{2014} example.com/behind-the-sofa \
         Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
    );
    assert!(matches!(
        open_note(&note, PETER_VKEY),
        Err(NoteError::NotSigned(_))
    ));
}

#[test]
fn checkpoint_round_trip_and_rejections() {
    let key = test_key(1);
    let name = "registry.example.org/log";
    let vkey = verifier_key(name, &key.verifying_key().to_bytes()).unwrap();
    let checkpoint = Checkpoint {
        origin: name.into(),
        size: 42,
        root: leaf_hash(b"x"),
    };
    let note = checkpoint.sign(name, &key).unwrap();
    assert_eq!(note, sign_note(&checkpoint.body(), name, &key).unwrap());
    assert!(
        note.starts_with(&format!("{name}\n42\n")) && note.contains("\n\n\u{2014} registry.example.org/log ")
    );
    assert_eq!(open_note(&note, &vkey).unwrap(), checkpoint);

    // Signed by another key (same name, or another name).
    let other = test_key(2);
    for signed in [
        checkpoint.sign(name, &other).unwrap(),
        checkpoint.sign("other.example/log", &other).unwrap(),
    ] {
        assert!(
            matches!(open_note(&signed, &vkey), Err(NoteError::NotSigned(_))),
            "{signed}"
        );
    }
    // Tampered size or root; an extra signature by an unknown key is ignored.
    assert!(matches!(
        open_note(&note.replacen("\n42\n", "\n43\n", 1), &vkey),
        Err(NoteError::InvalidSignature(_))
    ));
    let b64 = STANDARD.encode(checkpoint.root);
    let other_root = STANDARD.encode(leaf_hash(b"y"));
    assert!(open_note(&note.replacen(&b64, &other_root, 1), &vkey).is_err());
    let cosigned = format!(
        "{note}{}",
        sign_note(&checkpoint.body(), "witness", &other)
            .unwrap()
            .split("\n\n")
            .nth(1)
            .unwrap()
    );
    assert_eq!(open_note(&cosigned, &vkey).unwrap(), checkpoint);

    // Bodies that sign but are not checkpoints of the accepted form.
    let root = &b64;
    for body in [
        format!("{name}\n42\n{root}\nextension line\n"),
        format!("{name}\n042\n{root}\n"),
        format!("{name}\n+42\n{root}\n"),
        format!("{name}\n 42\n{root}\n"),
        format!("{name}\n\n{root}\n"),
        format!("{name}\n18446744073709551616\n{root}\n"),
        format!("{name}\n42\n{}\n", STANDARD.encode([7u8; 31])),
        format!("{name}\n42\n{}\n", STANDARD.encode([7u8; 33])),
        format!("{name}\n42\n{}\n", &root[..root.len() - 1]),
        format!("{name}\n42\n{}\n", root.replace('=', "")),
        format!("\n42\n{root}\n"),
        format!("{name}\n42\n"),
    ] {
        let signed = sign_note(&body, name, &key).unwrap();
        let err = open_note(&signed, &vkey).unwrap_err();
        assert!(
            matches!(err, NoteError::MalformedCheckpoint(_)),
            "{body:?}: {err}"
        );
    }
    assert_eq!(
        Checkpoint::from_body(&format!("{name}\n0\n{root}\n"))
            .unwrap()
            .size,
        0
    );
    assert!(Checkpoint::from_body(&format!("{name}\n42\n{root}")).is_err());
    let bad_origin = Checkpoint {
        origin: "a\nb".into(),
        ..checkpoint.clone()
    };
    assert!(bad_origin.sign(name, &key).is_err());
    assert!(
        Checkpoint {
            origin: String::new(),
            ..checkpoint
        }
        .sign(name, &key)
        .is_err()
    );
}

#[test]
fn malformed_notes_are_refused() {
    // After TestOpen's badMsgs.
    for bad in [
        TEXT.to_owned(),
        format!("{TEXT}\n"),
        format!("{TEXT}\n{}", &PETER_SIG[..PETER_SIG.len() - 1]),
        format!("\x01{TEXT}\n{PETER_SIG}"),
        format!(
            "{TEXT}\n\u{2014} Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
        ),
        format!("{TEXT}\n{PETER_SIG}Unexpected line.\n"),
        format!("{TEXT}\n{}", PETER_SIG.replace('\u{2014}', "-")),
        format!("{TEXT}\n{}", PETER_SIG.replace(" x08", " x 08")),
        format!("{TEXT}\n\u{2014} PeterNeumann AAAA\n"),
        format!("{TEXT}\r\n{PETER_SIG}"),
        format!("{TEXT}\n{}", PETER_SIG.repeat(MAX_SIGNATURES + 1)),
    ] {
        let err = verify_note(&bad, PETER_VKEY).unwrap_err();
        assert!(matches!(err, NoteError::MalformedNote(_)), "{bad:?}: {err}");
    }
    assert_eq!(
        verify_note(&format!("{TEXT}\n{}", PETER_SIG.repeat(3)), PETER_VKEY).unwrap(),
        TEXT
    );
    assert!(matches!(
        verify_note("x\n\n— a AAAAAAA=\n", "bad vkey"),
        Err(NoteError::MalformedVerifierKey(_))
    ));

    let key = test_key(3);
    assert!(matches!(
        sign_note("no newline", "n", &key),
        Err(NoteError::MalformedNote(_))
    ));
    assert!(matches!(
        sign_note("", "n", &key),
        Err(NoteError::MalformedNote(_))
    ));
    assert!(matches!(
        sign_note("tab\there\n", "n", &key),
        Err(NoteError::MalformedNote(_))
    ));
    assert!(matches!(
        sign_note("ok\n", "bad name", &key),
        Err(NoteError::InvalidKeyName(_))
    ));
}

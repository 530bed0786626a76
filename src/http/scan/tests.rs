use proptest::prelude::*;

use super::*;

fn whole(text: &str) -> Result<Stats, ScanError> {
    scan(text.as_bytes())
}

/// The same text fed one byte at a time gives the same answer.
fn bytewise(text: &[u8], depth: usize, values: usize) -> Result<Stats, ScanError> {
    let mut s = Scanner::new(depth, values);
    for b in text {
        s.feed(std::slice::from_ref(b))?;
    }
    s.finish()
}

#[test]
fn counts_values_keys_and_depth() {
    let s = whole(r#"{"jsonrpc":"2.0","id":1,"method":"ping","params":{"a":[1,2,{"b":null}]}}"#)
        .unwrap();
    // object, 4 keys, 3 scalars; params, "a", the array, 1, 2, its object, "b", null
    assert_eq!(s.values, 16);
    assert_eq!(s.depth, 4);
    assert_eq!(s.top, b'{');
    assert_eq!(whole(" [ ] ").unwrap().top, b'[');
    assert_eq!(whole("-12.5e3").unwrap().values, 1);
    assert_eq!(whole(r#""a\"b\\c\u00e9""#).unwrap().values, 1);
}

#[test]
fn refuses_what_json_refuses_and_names_the_byte() {
    for (text, at) in [
        ("", 0),
        ("{", 1),
        (r#"{"a" 1}"#, 5),
        (r#"{"a":1,}"#, 7),
        ("[1,]", 3),
        ("[1 2]", 3),
        ("{1:2}", 1),
        ("[tru]", 4),
        ("[nul", 4),
        (r#""a"#, 2),
        ("\"a\u{1}\"", 2),
        (r#""\x""#, 2),
        (r#""\u12g4""#, 5),
        ("{}}", 2),
        ("[}", 1),
        ("{} {}", 3),
        ("1x", 1),
        ("'a'", 0),
        ("[01]", 2),
        ("-", 1),
        ("[1.]", 3),
        ("1e+", 3),
        ("[.5]", 1),
        ("[1.5e]", 5),
        ("+1", 0),
    ] {
        assert_eq!(whole(text), Err(ScanError::Syntax(at)), "{text:?}");
        assert!(
            serde_json::from_str::<serde_json::Value>(text).is_err(),
            "{text:?}"
        );
    }
}

#[test]
fn limits_hold_before_the_end_of_the_text() {
    let deep = "[".repeat(MAX_DEPTH + 1);
    assert_eq!(whole(&deep), Err(ScanError::TooDeep(MAX_DEPTH)));
    let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
    assert_eq!(whole(&ok).unwrap().depth, MAX_DEPTH);
    // The issue's body: two million zeros. Refused after MAX_VALUES of them, unfinished.
    let mut zeros = String::from("{\"params\":[");
    zeros.push_str(&"0,".repeat(2_000_000));
    assert_eq!(whole(&zeros), Err(ScanError::TooManyValues(MAX_VALUES)));
    let mut s = Scanner::new(4, 3);
    assert_eq!(s.feed(b"[1,2,"), Ok(()));
    assert_eq!(s.feed(b"3]"), Err(ScanError::TooManyValues(3)));
}

fn json() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(".{0,6}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn count(v: &serde_json::Value) -> (usize, usize) {
    use serde_json::Value;
    match v {
        Value::Array(items) => items
            .iter()
            .map(count)
            .fold((1, 1), |(n, d), (cn, cd)| (n + cn, d.max(cd + 1))),
        Value::Object(m) => m
            .values()
            .map(count)
            .fold((1, 1), |(n, d), (cn, cd)| (n + cn + 1, d.max(cd + 1))),
        _ => (1, 0),
    }
}

proptest! {
    // Failure seeds are kept next to this file (`tests.regressions`), not in a top-level
    // `proptest-regressions/` folder.
    #![proptest_config(ProptestConfig {
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::WithSource("regressions"),
        )),
        ..ProptestConfig::default()
    })]
    /// Any JSON serde writes (compact or pretty) passes, with serde's own count and depth,
    /// whole or byte by byte.
    #[test]
    fn agrees_with_serde_on_valid_json(v in json(), pretty in any::<bool>()) {
        let text = if pretty { serde_json::to_vec_pretty(&v) } else { serde_json::to_vec(&v) }
            .unwrap();
        let (values, depth) = count(&v);
        let s = scan(&text).unwrap();
        prop_assert_eq!((s.values, s.depth), (values, depth));
        prop_assert_eq!(bytewise(&text, MAX_DEPTH, MAX_VALUES), Ok(s));
    }

    /// Cutting a valid text short, or changing one byte, never gets past the scan unless
    /// serde would accept the result too (a number serde finds out of range aside).
    #[test]
    fn what_it_accepts_serde_accepts(v in json(), cut in any::<prop::sample::Index>(),
                                     byte in any::<u8>()) {
        let mut text = serde_json::to_vec(&v).unwrap();
        let at = cut.index(text.len());
        text[at] = byte;
        let serde_takes = |t: &[u8]| match serde_json::from_slice::<serde_json::Value>(t) {
            Ok(_) => true,
            Err(e) => e.to_string().contains("out of range"),
        };
        if scan(&text).is_ok() && std::str::from_utf8(&text).is_ok() {
            prop_assert!(serde_takes(&text), "{}", String::from_utf8_lossy(&text));
        }
        let cut = &text[..at];
        prop_assert!(scan(cut).is_err() || serde_takes(cut), "{}", String::from_utf8_lossy(cut));
    }
}

//! Whatever a profile file holds, loading it and printing its diagnostics never panics.

use gonogo::profile::{self, Purpose, Source};
use proptest::prelude::*;

const EXAMPLE: &str = include_str!("../profiles/example.toml");

/// Loads, resolves and renders everything, as `gonogo plan` would.
fn exercise(text: &str) {
    let source = Source::new("fuzz.toml", text);
    let (loaded, mut diags) = profile::load(&source);
    if let Some(p) = &loaded {
        let vars = profile::resolve(
            p,
            &[("version".into(), "v1".into())],
            |_| None,
            Purpose::Plan,
            &mut diags,
        );
        let plan = gonogo::profile::release_plan(p, &vars);
        let _ = gonogo::report::plan::to_markdown(&plan);
        let _ = gonogo::report::plan::to_json(&plan);
    }
    for d in diags.into_sorted() {
        let _ = source.render(&d, true);
    }
}

/// A copy of the example with one edit: a span of characters replaced by `insert`.
fn mutate(start: usize, len: usize, insert: &str) -> String {
    let chars: Vec<char> = EXAMPLE.chars().collect();
    let start = start % chars.len();
    let end = (start + len).min(chars.len());
    chars[..start]
        .iter()
        .copied()
        .chain(insert.chars())
        .chain(chars[end..].iter().copied())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        exercise(&text);
    }

    #[test]
    fn toml_shaped_text_never_panics(text in r#"(\[\[?[a-z._-]{0,12}\]\]?\n|[a-z_]{1,10} = ("[^"\n]{0,20}"|'[^'\n]{0,20}'|[0-9]{1,4}|true|\[[^\]\n]{0,20}\]|\{[^}\n]{0,20}\})\n){0,12}"#) {
        exercise(&format!("version = 1\n{text}"));
    }

    #[test]
    fn edits_of_a_valid_profile_never_panic(
        start in 0usize..10_000,
        len in 0usize..40,
        insert in r#"[a-z{}\[\]"'=#\n .,%0-9é•-]{0,12}"#,
    ) {
        exercise(&mutate(start, len, &insert));
    }
}

#[test]
fn the_unedited_example_loads() {
    let (loaded, diags) = profile::load(&Source::new("example.toml", EXAMPLE));
    assert!(loaded.is_some(), "{diags:?}");
}

//! The string-handling code never panics, whatever text a model generates or a file holds.

#![allow(clippy::unwrap_used)] // A property that cannot set itself up should fail loudly.

use proptest::prelude::*;
use rung_items::{
    Extractor, Filter, FilterOp, Item, Template, boxed_all, math_equiv, normalize_math, presets,
};

/// Text rich in the characters the parsers care about: braces, backslashes, digits, signs,
/// labels, line breaks and some multi-byte characters.
fn tricky() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("\\boxed{".to_string()),
            Just("\\fbox ".to_string()),
            Just("\\frac".to_string()),
            Just("\\sqrt".to_string()),
            Just("\\text{".to_string()),
            Just("\\left(".to_string()),
            Just("\\right".to_string()),
            Just("So the answer is ".to_string()),
            "[{}()\\\\$.,=/^ \n0-9A-Ja-z\u{2212}\u{e9}\u{20ac}-]{0,4}",
        ],
        0..24,
    )
    .prop_map(|pieces| pieces.concat())
}

fn all_filters() -> Vec<Filter> {
    let ops = [
        FilterOp::Number,
        FilterOp::Boxed,
        FilterOp::Letter,
        FilterOp::FirstLine,
        FilterOp::Strip,
        FilterOp::Lowercase,
        FilterOp::MathNormalize,
    ];
    ops.into_iter().map(Filter::new).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn filters_and_latex_never_panic(text in tricky(), other in tricky()) {
        let labels: Vec<String> = ('A'..='J').map(String::from).collect();
        for filter in all_filters() {
            let one = Extractor::new(std::slice::from_ref(&filter), &labels).unwrap();
            one.extract(&text);
            let last = Extractor::new(&[filter.last()], &labels).unwrap();
            last.extract(&text);
        }
        for task in [presets::gsm8k(), presets::mmlu_pro(), presets::bbh(), presets::math()] {
            Extractor::new(&task.filters, &task.choice_labels).unwrap().extract(&text);
        }
        boxed_all(&text);
        normalize_math(&text);
        math_equiv(&text, &other);
    }

    #[test]
    fn templates_never_panic(source in tricky(), prompt in tricky()) {
        let mut item = Item::new("x", prompt);
        item.choices = vec!["a".into(), "b".into()];
        item.gold = Some(1);
        if let Ok(template) = Template::parse(&source) {
            let _ = template.render(&item, &["A".to_string()]);
        }
    }
}

//! Answer extraction and scoring on real-looking outputs, preset by preset.

#![allow(clippy::unwrap_used)] // A test that cannot read its fixtures should fail loudly.

use rung_items::{Extractor, Item, Task, presets, render_target, score_generation};

/// One row of the table: a task, a model output, the answer the filters should extract, the
/// reference answer and whether the task's primary metric should count it correct.
struct Case {
    task: fn() -> Task,
    output: &'static str,
    extracted: &'static str,
    reference: &'static str,
    correct: bool,
}

const CASES: &[Case] = &[
    // GSM8K: the strict "So the answer is" first, the last number otherwise.
    Case {
        task: presets::gsm8k,
        output: "She sells 9 eggs for $2 each.\nSo the answer is 18.",
        extracted: "18",
        reference: "18",
        correct: true,
    },
    Case {
        task: presets::gsm8k,
        output: "So the answer is $1,234.",
        extracted: "1234",
        reference: "1234",
        correct: true,
    },
    Case {
        task: presets::gsm8k,
        output: "so the answer is: 18.00",
        extracted: "18",
        reference: "18",
        correct: true,
    },
    Case {
        task: presets::gsm8k,
        output: "So the answer is 5, not the 7 I said first. 12 in all",
        extracted: "5",
        reference: "12",
        correct: false,
    },
    Case {
        task: presets::gsm8k,
        output: "9 * 2 = $18 every day.",
        extracted: "18",
        reference: "18",
        correct: true,
    },
    Case {
        task: presets::gsm8k,
        output: "The total is 1,234,567 dollars.",
        extracted: "1234567",
        reference: "1234567",
        correct: true,
    },
    Case {
        task: presets::gsm8k,
        output: "It falls 3 - 8 = -5 degrees. So the answer is -5.",
        extracted: "-5",
        reference: "-5",
        correct: true,
    },
    Case {
        task: presets::gsm8k,
        output: "The loss was -$40.50 overall",
        extracted: "-40.5",
        reference: "-40.5",
        correct: true,
    },
    Case {
        task: presets::gsm8k,
        output: "I cannot tell.",
        extracted: "",
        reference: "3",
        correct: false,
    },
    // MMLU-Pro: the first choice label, clear forms first.
    Case {
        task: presets::mmlu_pro,
        output: "(B)",
        extracted: "B",
        reference: "B",
        correct: true,
    },
    Case {
        task: presets::mmlu_pro,
        output: "B) 42 joules",
        extracted: "B",
        reference: "B",
        correct: true,
    },
    Case {
        task: presets::mmlu_pro,
        output: "A careful reading shows the answer is C.",
        extracted: "C",
        reference: "C",
        correct: true,
    },
    Case {
        task: presets::mmlu_pro,
        output: "I believe J",
        extracted: "J",
        reference: "J",
        correct: true,
    },
    Case {
        task: presets::mmlu_pro,
        output: "Answer: I",
        extracted: "I",
        reference: "I",
        correct: true,
    },
    Case {
        task: presets::mmlu_pro,
        output: "D. Because of friction.",
        extracted: "D",
        reference: "E",
        correct: false,
    },
    Case {
        task: presets::mmlu_pro,
        output: "None of them.",
        extracted: "",
        reference: "A",
        correct: false,
    },
    // BBH: the first line, trimmed, without a final period, compared ignoring case.
    Case {
        task: presets::bbh,
        output: " (B)\n\nBecause the date is...",
        extracted: "(B)",
        reference: "(B)",
        correct: true,
    },
    Case {
        task: presets::bbh,
        output: "True.",
        extracted: "True",
        reference: "True",
        correct: true,
    },
    Case {
        task: presets::bbh,
        output: "Yes",
        extracted: "Yes",
        reference: "yes",
        correct: true,
    },
    Case {
        task: presets::bbh,
        output: "B",
        extracted: "B",
        reference: "(B)",
        correct: false,
    },
    // MATH: the last box, compared by equivalence.
    Case {
        task: presets::math,
        output: r"So $x = \boxed{\frac{1}{2}}$.",
        extracted: r"\frac{1}{2}",
        reference: "0.5",
        correct: true,
    },
    Case {
        task: presets::math,
        output: r"First \boxed{3}, then \boxed{\dfrac{9}{7}}",
        extracted: r"\dfrac{9}{7}",
        reference: r"\dfrac{9}{7}",
        correct: true,
    },
    Case {
        task: presets::math,
        output: r"$\boxed{90^\circ}$",
        extracted: r"90^\circ",
        reference: "90",
        correct: true,
    },
    Case {
        task: presets::math,
        output: r"\boxed{1,000}",
        extracted: "1,000",
        reference: "1000",
        correct: true,
    },
    Case {
        task: presets::math,
        output: r"\boxed{\left( 3, \frac{\pi}{2} \right)}",
        extracted: r"\left( 3, \frac{\pi}{2} \right)",
        reference: r"\left( 3, \frac{\pi}{2} \right)",
        correct: true,
    },
    Case {
        task: presets::math,
        output: r"\boxed{10\text{ inches}}",
        extracted: r"10\text{ inches}",
        reference: "10",
        correct: true,
    },
    Case {
        task: presets::math,
        output: "1/2",
        extracted: "1/2",
        reference: r"\frac12",
        correct: true,
    },
    Case {
        task: presets::math,
        output: r"\boxed{\frac{1}{3}}",
        extracted: r"\frac{1}{3}",
        reference: "0.33",
        correct: false,
    },
];

#[test]
fn the_extraction_table() {
    let mut failures = Vec::new();
    for (row, case) in CASES.iter().enumerate() {
        let task = (case.task)();
        let extractor = Extractor::new(&task.filters, &task.choice_labels).unwrap();
        let extracted = extractor.extract(case.output);
        let scores = score_generation(&task, &extracted, case.reference);
        let correct = scores.first().map(|(_, correct)| *correct);
        if extracted != case.extracted || correct != Some(case.correct) {
            failures.push(format!(
                "row {row}: {:?} gave {extracted:?} (correct: {correct:?}); expected {:?} (correct: {})",
                case.output, case.extracted, case.correct
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_target_template_gives_the_reference() {
    let mut item = Item::new("q", "Which?");
    item.choices = vec!["x".into(), "y".into(), "z".into()];
    item.gold = Some(2);
    assert_eq!(render_target(&presets::mmlu_pro(), &item).unwrap(), "C");
    item.target = Some("18".into());
    assert_eq!(render_target(&presets::gsm8k(), &item).unwrap(), "18");
}

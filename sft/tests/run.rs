//! Whole runs: completion-only masks, truncation, and resuming a killed run from its checkpoint
//! to the same weights as an uninterrupted run.

mod support;

use std::ops::ControlFlow;
use std::panic::{AssertUnwindSafe, catch_unwind};

use rung_sft::data::tokenize;
use rung_sft::{Checkpointing, Example, Format, Precision, Recipe, SftError, fine_tune};
use support::{Train, tiny_chat_model, weights};

fn examples() -> Vec<Example> {
    (0..12)
        .map(|i| Example {
            prompt: format!("{i}+{i}="),
            completion: format!("{}", 2 * i),
        })
        .collect()
}

fn format() -> Format {
    Format {
        chat_template: true,
        system_prompt: Some("add".into()),
        completion_only: true,
        max_length: 64,
    }
}

#[test]
fn only_the_completion_and_its_end_of_turn_carry_loss() {
    let model = tiny_chat_model("0123456789+=adsytemurin\n", 32, 1, 0);
    let example = Example {
        prompt: "12+3=".into(),
        completion: "15".into(),
    };
    let (sequences, report) = tokenize(&model, &[example], &format()).expect("tokenizes");
    let sequence = &sequences[0];
    let pick = |keep: bool| -> Vec<u32> {
        sequence
            .ids
            .iter()
            .zip(&sequence.loss_mask)
            .filter(|(_, m)| **m == keep)
            .map(|(id, _)| *id)
            .collect()
    };
    let decode = |ids: &[u32]| model.tokenizer.decode(ids, false).expect("decodes");
    assert_eq!(decode(&pick(true)), "15<|im_end|>\n");
    assert_eq!(
        decode(&pick(false)),
        "<|im_start|>system\nadd<|im_end|>\n<|im_start|>user\n12+3=<|im_end|>\n<|im_start|>assistant\n"
    );
    assert_eq!(report.truncated + report.boundary_mismatches, 0);

    let everything = Format {
        completion_only: false,
        ..format()
    };
    let (all, _) = tokenize(&model, &[examples()[3].clone()], &everything).expect("tokenizes");
    assert!(all[0].loss_mask.iter().all(|&m| m));
}

#[test]
fn long_examples_are_cut_and_counted() {
    let model = tiny_chat_model("0123456789+=", 32, 1, 0);
    let short = Format {
        max_length: 40,
        ..format()
    };
    let long = Example {
        prompt: "1".repeat(60),
        completion: "2".into(),
    };
    let (sequences, report) =
        tokenize(&model, &[long, examples()[1].clone()], &short).expect("tokenizes");
    assert_eq!(sequences[0].ids.len(), 40);
    assert!(sequences[1].ids.len() < 40);
    assert_eq!((report.truncated, report.without_targets), (1, 1));
    let plain = Format {
        chat_template: false,
        ..format()
    };
    let (sequences, _) = tokenize(&model, &examples()[..1], &plain).expect("tokenizes");
    assert_eq!(
        sequences[0].ids.last(),
        Some(&2),
        "plain text ends with the EOS token"
    );
}

fn recipe() -> Recipe {
    Recipe {
        epochs: 3,
        lr: 1e-2,
        micro_batch: 2,
        grad_accum: 2,
        max_length: 64,
        precision: Precision::F32,
        ..Recipe::study()
    }
}

#[test]
fn a_killed_run_resumes_to_the_same_weights_bit_for_bit() {
    let uninterrupted = fine_tune::<Train>(
        tiny_chat_model("0123456789+=", 32, 2, 1),
        &examples(),
        &format(),
        &recipe(),
        &Checkpointing::default(),
        &mut |_| ControlFlow::Continue(()),
    )
    .expect("trains");
    assert_eq!(uninterrupted.metrics.len(), 9, "3 epochs of 3 steps");

    let dir = tempfile::tempdir().expect("a temporary directory");
    let checkpointing = Checkpointing {
        dir: Some(dir.path().to_path_buf()),
        every: Some(2),
    };
    // Killed during step 5: the checkpoint of step 4 is the last one written.
    let killed = catch_unwind(AssertUnwindSafe(|| {
        fine_tune::<Train>(
            tiny_chat_model("0123456789+=", 32, 2, 1),
            &examples(),
            &format(),
            &recipe(),
            &checkpointing,
            &mut |progress| {
                assert!(progress.stats.step < 5, "killed");
                ControlFlow::Continue(())
            },
        )
        .map(|_| ())
    }));
    assert!(killed.is_err(), "the run was killed");
    let resumed = fine_tune::<Train>(
        tiny_chat_model("0123456789+=", 32, 2, 1),
        &examples(),
        &format(),
        &recipe(),
        &checkpointing,
        &mut |_| ControlFlow::Continue(()),
    )
    .expect("resumes");
    assert_eq!(resumed.resumed_from, 4);
    assert_eq!(
        weights(&resumed.model.model),
        weights(&uninterrupted.model.model)
    );
    assert_eq!(resumed.metrics.len(), 9);
    for (a, b) in resumed.metrics.iter().zip(&uninterrupted.metrics) {
        assert_eq!(a["loss"], b["loss"]);
        assert_eq!(a["lr"], b["lr"]);
    }
}

#[test]
fn a_cancelled_run_checkpoints_and_a_checkpoint_of_another_run_is_ignored() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let checkpointing = Checkpointing {
        dir: Some(dir.path().to_path_buf()),
        every: None,
    };
    let cancelled = fine_tune::<Train>(
        tiny_chat_model("0123456789+=", 32, 2, 1),
        &examples(),
        &format(),
        &recipe(),
        &checkpointing,
        &mut |progress| {
            if progress.stats.step == 2 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        },
    );
    assert!(matches!(cancelled, Err(SftError::Cancelled)));
    let other = Recipe {
        lr: 2e-2,
        ..recipe()
    };
    let fresh = fine_tune::<Train>(
        tiny_chat_model("0123456789+=", 32, 2, 1),
        &examples(),
        &format(),
        &other,
        &checkpointing,
        &mut |_| ControlFlow::Continue(()),
    )
    .expect("trains");
    assert_eq!(
        fresh.resumed_from, 0,
        "another recipe's checkpoint is not resumed"
    );
}

#[test]
fn tokens_past_the_embedding_are_refused_with_a_message() {
    let mut model = tiny_chat_model("0123456789+=", 32, 1, 0);
    // A tokenizer with more characters than the model has embeddings.
    model.tokenizer =
        rung_models::tokenizer::Tokenizer::characters("0123456789+=abcdefghij").expect("builds");
    let example = Example {
        prompt: "j".into(),
        completion: "1".into(),
    };
    let result = fine_tune::<Train>(
        model,
        &[example],
        &format(),
        &recipe(),
        &Checkpointing::default(),
        &mut |_| ControlFlow::Continue(()),
    );
    match result {
        Err(SftError::Data(message)) => assert!(message.contains("embeddings"), "{message}"),
        Err(other) => panic!("{other}"),
        Ok(_) => panic!("trained on tokens the model has no embedding for"),
    }
}

//! Trains a toy population and prints each subject's accuracy and the time taken: the
//! quickstart's most expensive node, on its own.
//!
//! `cargo run -p rung-toy --example population -- [members] [max_digits] [steps,steps,...]`

use std::time::Instant;

use burn::backend::Autodiff;
use burn::backend::Flex;
use rung_toy::{ItemsConfig, Operation, PopulationConfig, generate, population};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let members = args.first().map_or(Ok(8), |a| a.parse())?;
    let max_digits = args.get(1).map_or(Ok(2), |a| a.parse())?;
    let checkpoints: Vec<usize> = match args.get(2) {
        Some(list) => list.split(',').map(str::parse).collect::<Result<_, _>>()?,
        None => vec![50, 150, 400],
    };
    let items = |count, seed| {
        generate(&ItemsConfig {
            count,
            operations: vec![Operation::Add, Operation::Sub, Operation::Mul],
            min_digits: 1,
            max_digits,
            max_terms: 3,
            seed,
        })
    };
    let test = items(2000, 2)?;
    let train = match std::env::var("TOY_TRAIN").as_deref() {
        Ok("fresh") => items(4000, 1)?,
        _ => Vec::new(),
    };
    let config = PopulationConfig {
        members,
        widths: vec![32, 48, 64],
        depths: vec![1, 2],
        checkpoints,
        batch_size: std::env::var("TOY_B").map_or(Ok(64), |v| v.parse())?,
        lr: std::env::var("TOY_LR").map_or(Ok(3e-3), |v| v.parse())?,
        sample: 0.5,
        seed: 0,
    };
    let started = Instant::now();
    let threads = std::env::var("TOY_THREADS").map_or(Ok(1), |v| v.parse())?;
    let subjects = population::<Autodiff<Flex>>(
        &train,
        &test,
        &config,
        &Default::default(),
        threads,
        &|status| {
            if status.done % 100 == 0 {
                eprintln!(
                    "member {} step {} loss {:.3}",
                    status.member, status.done, status.loss
                );
            }
            std::ops::ControlFlow::Continue(())
        },
    )?;
    let seconds = started.elapsed().as_secs_f64();
    for subject in &subjects {
        let right = subject.correct.iter().filter(|&&c| c).count();
        println!(
            "{:<20} {:.3}",
            subject.name,
            right as f64 / test.len() as f64
        );
    }
    println!(
        "{} subjects x {} items in {seconds:.1} s",
        subjects.len(),
        test.len()
    );
    Ok(())
}

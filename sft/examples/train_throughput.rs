//! Full fine-tuning throughput of a GGUF model, for bench/sft: optimizer steps over fixed
//! token rows, every token a target, timed after warm-up.
//!
//! Usage: train_throughput GGUF [--threads N] [--seq-len S] [--batch B] [--steps N]
//!                              [--warmup-steps N] [--grad-accum N] [--recompute on|off]
//!                              [--loss-chunk N]
//!                              [--precision f32|bf16] [--device cpu|cuda]
//! Prints one JSON object: tokens per second, seconds per step, peak resident memory.
//! `--device cuda` needs the `cuda` feature.

use std::time::Instant;

use burn::backend::{Autodiff, Flex};
use burn::tensor::DType;
use burn::tensor::backend::AutodiffBackend;
use rung_models::gguf::GgufFile;
use rung_models::{CausalLm, load_gguf};
use rung_sft::{Decay, Precision, Recipe, Schedule, Sequence, Trainer};

struct Args {
    gguf: String,
    threads: usize,
    seq_len: usize,
    batch: usize,
    steps: usize,
    warmup_steps: usize,
    grad_accum: usize,
    recompute: bool,
    loss_chunk: usize,
    precision: Precision,
    cuda: bool,
}

fn parse() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let mut parsed = Args {
        gguf: String::new(),
        threads: 2,
        seq_len: 512,
        batch: 2,
        steps: 3,
        warmup_steps: 1,
        grad_accum: 1,
        recompute: false,
        loss_chunk: 1024,
        precision: Precision::F32,
        cuda: false,
    };
    let number = |value: Option<String>, flag: &str| -> Result<usize, String> {
        value
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("{flag} expects an integer"))
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--threads" => parsed.threads = number(args.next(), "--threads")?,
            "--seq-len" => parsed.seq_len = number(args.next(), "--seq-len")?,
            "--batch" => parsed.batch = number(args.next(), "--batch")?,
            "--steps" => parsed.steps = number(args.next(), "--steps")?,
            "--warmup-steps" => parsed.warmup_steps = number(args.next(), "--warmup-steps")?,
            "--grad-accum" => parsed.grad_accum = number(args.next(), "--grad-accum")?,
            "--loss-chunk" => parsed.loss_chunk = number(args.next(), "--loss-chunk")?,
            "--recompute" => {
                parsed.recompute = match args.next().as_deref() {
                    Some("on") => true,
                    Some("off") => false,
                    other => return Err(format!("--recompute expects on or off, found {other:?}")),
                };
            }
            "--precision" => {
                parsed.precision = match args.next().as_deref() {
                    Some("f32") => Precision::F32,
                    Some("bf16") => Precision::Bf16,
                    other => {
                        return Err(format!("--precision expects f32 or bf16, found {other:?}"));
                    }
                };
            }
            "--device" => {
                parsed.cuda = match args.next().as_deref() {
                    Some("cpu") => false,
                    Some("cuda") if cfg!(feature = "cuda") => true,
                    Some("cuda") => return Err("--device cuda needs the `cuda` feature".into()),
                    other => return Err(format!("--device expects cpu or cuda, found {other:?}")),
                };
            }
            path if parsed.gguf.is_empty() && !path.starts_with("--") => parsed.gguf = path.into(),
            other => return Err(format!("unexpected argument {other:?}")),
        }
    }
    if parsed.gguf.is_empty() || parsed.steps == 0 || parsed.batch == 0 || parsed.seq_len < 2 {
        return Err(
            "usage: train_throughput GGUF [--threads N] [--seq-len S] [--batch B] \
                    [--steps N] [--warmup-steps N] [--grad-accum N] [--recompute on|off] [--loss-chunk N] \
                    [--precision f32|bf16] [--device cpu|cuda]"
                .into(),
        );
    }
    Ok(parsed)
}

/// The rows bench/sft/peer.py trains on: token i of row r is
/// `100 + ((i + 31 r) * 7919) % (vocab - 200)`.
fn rows(args: &Args, vocab: usize) -> Vec<Sequence> {
    (0..args.batch * args.grad_accum)
        .map(|r| Sequence {
            ids: (0..args.seq_len)
                .map(|i| (100 + ((i + 31 * r) * 7919) % (vocab - 200)) as u32)
                .collect(),
            loss_mask: vec![true; args.seq_len],
        })
        .collect()
}

/// The peak resident memory of this process, in MB (Linux).
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("VmHWM:"))
                .and_then(|line| line.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() {
    let args = match parse() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
    };
    rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads)
        .build_global()
        .expect("the global thread pool is set once");
    let file = GgufFile::open(std::path::Path::new(&args.gguf)).expect("the GGUF parses");
    #[cfg(feature = "cuda")]
    if args.cuda {
        type Cuda = burn::backend::Cuda;
        let device = burn::backend::cuda::CudaDevice::default();
        let (_, model) = load_gguf::<Cuda>(&file, &device, DType::F32).expect("loads");
        return measure::<Autodiff<Cuda>>(model, &args, "cuda");
    }
    let (_, model) = load_gguf::<Flex>(&file, &Default::default(), DType::F32).expect("loads");
    measure::<Autodiff<Flex>>(model, &args, "cpu");
}

fn measure<B: AutodiffBackend>(model: CausalLm<B::InnerBackend>, args: &Args, device: &str) {
    let sequences = rows(args, model.vocab_size());
    let micro_batches: Vec<Vec<usize>> = (0..args.grad_accum)
        .map(|m| (m * args.batch..(m + 1) * args.batch).collect())
        .collect();
    let recipe = Recipe {
        lr: 5e-6,
        micro_batch: args.batch,
        grad_accum: args.grad_accum,
        max_length: args.seq_len,
        precision: args.precision,
        recompute: args.recompute,
        loss_chunk: args.loss_chunk,
        ..Recipe::study()
    };
    let total = args.warmup_steps + args.steps;
    let schedule = Schedule {
        peak: recipe.lr,
        warmup_steps: 0,
        total_steps: total,
        decay: Decay::Constant,
        min_ratio: 0.0,
    };
    let mut trainer = Trainer::<B>::new(model, recipe, schedule, 0);
    for _ in 0..args.warmup_steps {
        trainer.step(&sequences, &micro_batches);
    }
    let mut seconds = Vec::with_capacity(args.steps);
    let mut loss = 0.0;
    for _ in 0..args.steps {
        let start = Instant::now();
        loss = trainer.step(&sequences, &micro_batches).loss;
        seconds.push(start.elapsed().as_secs_f64());
    }
    let elapsed: f64 = seconds.iter().sum();
    let tokens = args.steps * args.batch * args.grad_accum * args.seq_len;
    let line = serde_json::json!({
        "tool": "rung",
        "device": device,
        "threads": args.threads,
        "seq_len": args.seq_len,
        "batch": args.batch,
        "grad_accum": args.grad_accum,
        "steps": args.steps,
        "recompute": args.recompute,
        "loss_chunk": args.loss_chunk,
        "precision": args.precision.name(),
        "tokens_per_s": tokens as f64 / elapsed,
        "seconds_per_step": seconds,
        "last_loss": loss,
        "peak_rss_mb": peak_rss_mb(),
    });
    println!("{line}");
}

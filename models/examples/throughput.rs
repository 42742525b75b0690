//! Prefill and greedy-decode throughput of a GGUF model on the CPU, for bench/models.
//!
//! Usage: throughput GGUF [--threads N] [--prompt-tokens P] [--new-tokens N] [--batch B,...]
//!                        [--dtype f32|bf16] [--repeats R] [--device cpu|cuda]
//! Prints one JSON object per batch size: prefill and decode tokens per second (best of R).
//! `--device cuda` needs the `cuda` feature.

use std::time::Instant;

use burn::backend::Flex;
use burn::prelude::*;
use burn::tensor::{DType, TensorData};
use rung_models::gguf::GgufFile;
use rung_models::{CausalLm, KvCache, load_gguf};

struct Args {
    gguf: String,
    threads: usize,
    prompt_tokens: usize,
    new_tokens: usize,
    batches: Vec<usize>,
    dtype: DType,
    repeats: usize,
    cuda: bool,
}

fn parse() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let mut parsed = Args {
        gguf: String::new(),
        threads: 2,
        prompt_tokens: 512,
        new_tokens: 32,
        batches: vec![1, 8],
        dtype: DType::F32,
        repeats: 2,
        cuda: false,
    };
    let number = |value: Option<String>, flag: &str| -> Result<usize, String> {
        value
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("{flag} expects a positive integer"))
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--threads" => parsed.threads = number(args.next(), "--threads")?,
            "--prompt-tokens" => parsed.prompt_tokens = number(args.next(), "--prompt-tokens")?,
            "--new-tokens" => parsed.new_tokens = number(args.next(), "--new-tokens")?,
            "--repeats" => parsed.repeats = number(args.next(), "--repeats")?,
            "--batch" => {
                parsed.batches = args
                    .next()
                    .unwrap_or_default()
                    .split(',')
                    .map(|b| {
                        b.parse()
                            .map_err(|_| format!("--batch: {b:?} is not a number"))
                    })
                    .collect::<Result<_, _>>()?;
            }
            "--dtype" => {
                parsed.dtype = match args.next().as_deref() {
                    Some("f32") => DType::F32,
                    Some("bf16") => DType::BF16,
                    other => return Err(format!("--dtype expects f32 or bf16, found {other:?}")),
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
    if parsed.gguf.is_empty() {
        return Err(
            "usage: throughput GGUF [--threads N] [--prompt-tokens P] [--new-tokens N] \
                    [--batch B,...] [--dtype f32|bf16] [--repeats R] [--device cpu|cuda]"
                .into(),
        );
    }
    Ok(parsed)
}

/// The same prompt ids as bench/models/peer.py: a fixed walk through the vocabulary.
fn prompt(length: usize, vocab: usize) -> Vec<i64> {
    (0..length)
        .map(|i| (100 + (i * 7919) % (vocab - 200)) as i64)
        .collect()
}

/// Seconds for a prefill of `batch` copies of the prompt and for `new` greedy steps after it.
fn run<B: Backend>(model: &CausalLm<B>, prompt: &[i64], batch: usize, new: usize) -> (f64, f64) {
    let device = model.device();
    let width = prompt.len();
    let tokens: Vec<i64> = (0..batch).flat_map(|_| prompt.iter().copied()).collect();
    let input = Tensor::<B, 2, Int>::from_data(TensorData::new(tokens, [batch, width]), &device);
    let mut cache = KvCache::new(batch, width + new, model.layers.len());
    let start = Instant::now();
    let hidden = model
        .step(input, &vec![vec![true; width]; batch], &mut cache)
        .expect("fits");
    let mut next = model.logits(hidden.narrow(1, width - 1, 1)).argmax(2);
    let _ = next.to_data();
    let prefill = start.elapsed().as_secs_f64();
    let start = Instant::now();
    for _ in 0..new {
        let hidden = model
            .step(next.squeeze_dim(2), &vec![vec![true]; batch], &mut cache)
            .expect("fits");
        next = model.logits(hidden).argmax(2);
        let _ = next.to_data();
    }
    (prefill, start.elapsed().as_secs_f64())
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
        let device = burn::backend::cuda::CudaDevice::default();
        let (_, model) =
            load_gguf::<burn::backend::Cuda>(&file, &device, args.dtype).expect("loads");
        return measure(&model, &args, "cuda");
    }
    let (_, model) = load_gguf::<Flex>(&file, &Default::default(), args.dtype).expect("loads");
    measure(&model, &args, "cpu");
}

fn measure<B: Backend>(model: &CausalLm<B>, args: &Args, device: &str) {
    let prompt = prompt(args.prompt_tokens, model.vocab_size());
    run(model, &prompt[..16], 1, 2);
    for &batch in &args.batches {
        let mut best = (f64::INFINITY, f64::INFINITY);
        for _ in 0..args.repeats {
            let (prefill, decode) = run(model, &prompt, batch, args.new_tokens);
            best = (best.0.min(prefill), best.1.min(decode));
        }
        println!(
            "{{\"tool\": \"rung\", \"device\": \"{device}\", \"batch\": {batch}, \"threads\": {}, \
             \"dtype\": \"{:?}\", \"prefill_tokens_per_s\": {:.2}, \"decode_tokens_per_s\": {:.2}}}",
            args.threads,
            args.dtype,
            (batch * args.prompt_tokens) as f64 / best.0,
            (batch * args.new_tokens) as f64 / best.1
        );
    }
}

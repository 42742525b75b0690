//! `rung generate`: greedy continuations from a Hugging Face model directory or a GGUF file,
//! outside a spec, to try a model and its chat template.

use std::path::PathBuf;
use std::time::Instant;

use burn::prelude::Backend;
use burn::tensor::DType;
use rung_models::chat::Message;
use rung_models::{GenerateOptions, LanguageModel};
use rung_stdlib::backend::{Cpu, CpuDevice};
use rung_stdlib::ops::Device;

use crate::commands::{Outcome, fail, parse_device, set_threads, usage};

/// What `rung generate` is asked to do.
#[derive(Debug, clap::Args)]
pub(crate) struct GenerateArgs {
    /// A Hugging Face model directory (config.json, safetensors, tokenizer.json) or a .gguf file.
    pub(crate) model: PathBuf,
    /// The prompts; each is continued separately.
    #[arg(required = true)]
    pub(crate) prompts: Vec<String>,
    /// Send each prompt as a user turn through the model's chat template.
    #[arg(long)]
    pub(crate) chat: bool,
    /// A system turn before each prompt (with --chat).
    #[arg(long, requires = "chat")]
    pub(crate) system: Option<String>,
    /// Most tokens generated per prompt.
    #[arg(long, default_value_t = 64)]
    pub(crate) max_new_tokens: usize,
    /// Stop when the text contains this (repeatable); the text is cut before it.
    #[arg(long = "stop", value_name = "TEXT")]
    pub(crate) stop: Vec<String>,
    /// Prompts run together.
    #[arg(long, default_value_t = 8)]
    pub(crate) batch_size: usize,
    /// The dtype weights are held in: f32 or bf16.
    #[arg(long, default_value = "f32")]
    pub(crate) dtype: String,
    /// Where to run: cpu, or cuda / cuda:N in CUDA builds.
    #[arg(long, default_value = "cpu")]
    pub(crate) device: String,
    /// CPU threads (default: all cores).
    #[arg(long, value_name = "N")]
    pub(crate) threads: Option<usize>,
}

/// `rung generate`: loads the model, renders the prompts, prints each continuation.
pub(crate) fn generate(args: &GenerateArgs) -> Outcome {
    let dtype = match args.dtype.as_str() {
        "f32" => DType::F32,
        "bf16" => DType::BF16,
        other => return usage(format!("expected --dtype f32 or bf16, found `{other}`")),
    };
    let device = match parse_device(&args.device) {
        Ok(device) => device,
        Err(message) => return usage(message),
    };
    if let Err(error) = set_threads(args.threads) {
        return usage(error);
    }
    match device {
        Device::Cpu => run::<Cpu>(args, &CpuDevice::default(), dtype),
        #[cfg(feature = "cuda")]
        Device::Cuda(index) => run::<rung_stdlib::backend::Cuda>(
            args,
            &rung_stdlib::backend::CudaDevice::new(index),
            dtype,
        ),
        #[cfg(not(feature = "cuda"))]
        Device::Cuda(_) => {
            fail("this build of rung has no CUDA backend: build it with `--features cuda`")
        }
    }
}

fn run<B: Backend>(args: &GenerateArgs, device: &B::Device, dtype: DType) -> Outcome {
    let started = Instant::now();
    let model = match LanguageModel::<B>::load(&args.model, device, dtype) {
        Ok(model) => model,
        Err(error) => return fail(error),
    };
    eprintln!(
        "loaded {} ({:?}, {} layers, {:.1}M parameters) in {:.1} s",
        args.model.display(),
        model.config.architecture,
        model.config.num_layers,
        model.config.parameter_count() as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    let prompts = if args.chat {
        let mut rendered = Vec::with_capacity(args.prompts.len());
        for prompt in &args.prompts {
            let mut messages: Vec<Message> = args.system.iter().map(Message::system).collect();
            messages.push(Message::user(prompt));
            match model.chat_prompt(&messages) {
                Ok(text) => rendered.push(text),
                Err(error) => return fail(error),
            }
        }
        rendered
    } else {
        args.prompts.clone()
    };
    let options = GenerateOptions {
        max_new_tokens: args.max_new_tokens,
        eos_token_ids: Vec::new(),
        stop: args.stop.clone(),
        batch_size: args.batch_size,
    };
    let started = Instant::now();
    // Chat prompts carry the template's special tokens; plain text gets the tokenizer's.
    let completions = match model.generate(&prompts, !args.chat, &options) {
        Ok(completions) => completions,
        Err(error) => return fail(error),
    };
    let tokens: usize = completions.iter().map(|c| c.tokens.len()).sum();
    for (index, completion) in completions.iter().enumerate() {
        if completions.len() > 1 {
            println!("[{}]", index + 1);
        }
        println!("{}", completion.text);
    }
    eprintln!(
        "{tokens} tokens in {:.1} s ({})",
        started.elapsed().as_secs_f64(),
        completions
            .iter()
            .map(|c| format!("{:?}", c.finish).to_lowercase())
            .collect::<Vec<_>>()
            .join(", ")
    );
    Outcome::Ok
}

//! `rung-bench`: rung's command line plus `blob_step`, a trivial operation that writes a small
//! file whose content depends on its parameters and inputs (and keeps its progress in its
//! checkpoint folder, so a killed attempt resumes). The engine benchmark (`bench/grid`)
//! and the engine's end-to-end tests (crashes, concurrent runs, explanations) use it, so they
//! measure and exercise the engine rather than any real computation.

use std::fs;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use rung_engine::content::ContentHasher;
use rung_engine::signature::DuplicateName;
use rung_engine::{
    ArtifactKind, Catalog, Context, OpError, OpSignature, Operation, ParamSig, Resources, Type,
    Value,
};

fn main() -> ExitCode {
    let mut registry = rung_stdlib::registry();
    let declared = declare(registry.catalog_mut())
        .map_err(|e| e.to_string())
        .and_then(|()| {
            registry
                .implement(Arc::new(BlobStep))
                .map_err(|e| e.to_string())
        });
    if let Err(error) = declared {
        eprintln!("error: {error}");
        return ExitCode::from(2);
    }
    rung::main(registry)
}

/// Declares the `blob` kind and the `blob_step` operation.
fn declare(catalog: &mut Catalog) -> Result<(), DuplicateName> {
    catalog.add_kind(ArtifactKind {
        name: "blob",
        doc: "A small file written by `blob_step`.",
        parent: Some("artifact"),
        index: None,
        members: vec![],
    })?;
    let int = |name, doc| ParamSig::with_default(name, Type::Int, Value::Int(0), doc);
    catalog.add_op(OpSignature {
        name: "blob_step",
        version: 1,
        doc: "Writes `out.txt`: the tag, value / quantum, lr and a digest of the inputs' bytes.",
        params: vec![
            ParamSig::with_default(
                "inputs",
                Type::list(Type::Artifact("blob")),
                Value::List(vec![]),
                "Upstream blobs.",
            ),
            ParamSig::with_default(
                "files",
                Type::list(Type::File),
                Value::List(vec![]),
                "Input files.",
            ),
            ParamSig::with_default("tag", Type::Str, Value::Str(String::new()), "A label."),
            int("value", "A value; the output holds value / quantum."),
            ParamSig::with_default("quantum", Type::Int, Value::Int(1), "Divides `value`."),
            ParamSig::with_default("lr", Type::Float, Value::Float(0.0), "A rate, copied."),
            int(
                "work_ms",
                "Milliseconds of (cancellable) waiting, in 10 reported steps.",
            ),
            int(
                "fail_attempts",
                "The first this many attempts fail (2 retries allowed).",
            ),
            ParamSig::with_default("threads", Type::Int, Value::Int(1), "Threads it declares."),
        ],
        output: "blob",
    })
}

/// The trivial operation.
struct BlobStep;

impl Operation for BlobStep {
    fn name(&self) -> &'static str {
        "blob_step"
    }

    fn version(&self) -> u32 {
        1
    }

    fn resources(&self, params: &[(String, Value)]) -> Resources {
        let threads = params
            .iter()
            .find_map(|(name, value)| match (name.as_str(), value) {
                ("threads", Value::Int(n)) => u32::try_from(*n).ok(),
                _ => None,
            })
            .unwrap_or(1);
        Resources {
            threads,
            ..Resources::default()
        }
    }

    fn retries(&self) -> u32 {
        2
    }

    fn run(&self, ctx: &mut Context<'_>) -> Result<(), OpError> {
        let work_ms = u64::try_from(ctx.int("work_ms")?).unwrap_or(0);
        // The steps done so far live in the checkpoint folder, so an attempt that was killed
        // (a Slurm time limit) resumes where it stopped.
        let done_file = ctx.checkpoint_dir()?.join("steps");
        let first = fs::read_to_string(&done_file)
            .ok()
            .and_then(|text| text.trim().parse().ok())
            .unwrap_or(0u64);
        if first > 0 {
            ctx.log(format_args!("resuming after step {first}"));
        }
        for step in first..10 {
            ctx.check_cancelled()?;
            ctx.progress(step, 10, "steps");
            std::thread::sleep(Duration::from_millis(work_ms / 10));
            fs::write(&done_file, (step + 1).to_string())?;
        }
        if i64::from(ctx.attempt()) < ctx.int("fail_attempts")? {
            return Err(OpError::failed(format!(
                "failing on purpose (attempt {})",
                ctx.attempt() + 1
            )));
        }
        let contents = ContentHasher::in_memory();
        let mut hasher = blake3::Hasher::new();
        for name in ["inputs", "files"] {
            for path in ctx.paths(name)? {
                hasher.update(contents.path_digest(path)?.as_bytes());
            }
        }
        let quantum = ctx.int("quantum")?.max(1);
        let text = format!(
            "{}\n{}\n{}\n{}\n",
            ctx.str("tag")?,
            ctx.int("value")? / quantum,
            ctx.float("lr")?,
            hasher.finalize()
        );
        fs::write(ctx.out_dir().join("out.txt"), text)?;
        Ok(())
    }
}

//! `irt`: an IRT model fitted to a response matrix, on the CPU backend or, in CUDA builds, a GPU.

use std::ops::ControlFlow;

use burn::backend::Autodiff;
use rung_engine::{Context, OpError, Operation};
use rung_irt::files::{open_matrix, save_fit};
use rung_irt::{Fit, FitError, FitOptions, Observer, ResponseMatrix};

use crate::backend::{Cpu, CpuDevice};

/// Where a fit runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Device {
    /// burn's CPU backend.
    Cpu,
    /// A CUDA GPU, by index (CUDA builds only).
    Cuda(usize),
}

/// Fits `matrix` on `device`: the one code path of the `irt` node and of `rung irt fit`.
pub fn fit_matrix(
    matrix: &ResponseMatrix,
    options: &FitOptions,
    device: Device,
    observer: &mut Observer<'_>,
) -> Result<Fit, FitError> {
    match device {
        Device::Cpu => {
            rung_irt::fit::<Autodiff<Cpu>>(matrix, options, &CpuDevice::default(), observer)
        }
        #[cfg(feature = "cuda")]
        Device::Cuda(index) => rung_irt::fit::<Autodiff<crate::backend::Cuda>>(
            matrix,
            options,
            &crate::backend::CudaDevice::new(index),
            observer,
        ),
        #[cfg(not(feature = "cuda"))]
        Device::Cuda(_) => Err(FitError::Unsupported(
            "this build of rung has no CUDA backend: build it with `--features cuda`".into(),
        )),
    }
}

/// Fits an IRT model; see the catalog for its parameters.
pub(super) struct IrtOp;

impl Operation for IrtOp {
    fn name(&self) -> &'static str {
        "irt"
    }

    fn version(&self) -> u32 {
        2
    }

    fn run(&self, ctx: &mut Context<'_>) -> Result<(), OpError> {
        let options = super::fit_options(ctx)?;
        let matrix = open_matrix(ctx.paths("responses")?[0])?;
        let max_iter = options.max_iter as u64;
        let mut cancelled = false;
        let fit = {
            let ctx_ref = &*ctx;
            let mut observer = |step: &rung_irt::TraceStep| {
                ctx_ref.progress(step.iteration as u64, max_iter, "iterations");
                if ctx_ref.cancelled() {
                    cancelled = true;
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            };
            fit_matrix(&matrix, &options, Device::Cpu, &mut observer)
        };
        let fit = match fit {
            Ok(fit) => fit,
            Err(FitError::Cancelled) if cancelled => return Err(OpError::Cancelled),
            Err(error) => return Err(OpError::failed(error.to_string())),
        };
        ctx.record("backend", fit.backend.clone());
        for line in fit.summary() {
            ctx.log(line);
        }
        save_fit(&fit, ctx.out_dir())?;
        super::sets::carry_items(ctx.paths("responses")?[0], ctx.out_dir())?;
        Ok(())
    }
}

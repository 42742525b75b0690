//! The burn backends compiled into this build, named for `rung --version`.
//!
//! The CPU backend is always present; CUDA comes with the `cuda` feature.

/// The CPU backend: burn's pure-Rust Flex backend.
pub type Cpu = burn::backend::Flex;

/// The device of the CPU backend (there is only one).
pub type CpuDevice = burn::backend::flex::FlexDevice;

/// The CUDA backend, with kernel fusion.
#[cfg(feature = "cuda")]
pub type Cuda = burn::backend::Cuda;

/// A CUDA device, chosen by index.
#[cfg(feature = "cuda")]
pub type CudaDevice = burn::backend::cuda::CudaDevice;

/// The backends this build can run on, the CPU one first.
pub fn compiled_backends() -> Vec<&'static str> {
    let mut backends = vec!["flex (CPU)"];
    if cfg!(feature = "cuda") {
        backends.push("cuda");
    }
    backends
}

#[cfg(test)]
mod tests {
    use burn::tensor::Tensor;

    use super::*;

    #[test]
    fn the_cpu_backend_computes() {
        let device = CpuDevice::default();
        let tensor = Tensor::<Cpu, 1>::from_floats([1.0, 2.0, 3.5], &device);
        let sum: f32 = tensor.sum().into_scalar();
        assert!((sum - 6.5).abs() < 1e-6);
    }

    #[test]
    fn the_cpu_backend_is_always_listed() {
        assert_eq!(compiled_backends()[0], "flex (CPU)");
    }
}

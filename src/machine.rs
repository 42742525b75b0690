//! What this machine offers a run by default: its GPUs and its memory (Linux; elsewhere none and
//! no bound, and `--gpus` / `--memory` say it).

use std::path::Path;

/// The GPUs a run may use: those `CUDA_VISIBLE_DEVICES` lists, else the NVIDIA devices present.
pub(crate) fn gpus() -> u32 {
    if let Ok(visible) = std::env::var("CUDA_VISIBLE_DEVICES") {
        let count = visible
            .split(',')
            .filter(|d| !d.trim().is_empty() && d.trim() != "-1")
            .count();
        return u32::try_from(count).unwrap_or(0);
    }
    let Ok(entries) = std::fs::read_dir("/dev") else {
        return 0;
    };
    let count = entries
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_prefix("nvidia"))
                .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()))
        })
        .count();
    u32::try_from(count).unwrap_or(0)
}

/// The machine's memory in bytes (`MemTotal`), or 0 (no bound) when it cannot be read.
pub(crate) fn memory() -> u64 {
    mem_total(Path::new("/proc/meminfo")).unwrap_or(0)
}

/// The memory of the smallest visible NVIDIA GPU in bytes, as `nvidia-smi` reports it, or 0
/// (unknown: GPU nodes are not checked before they run) without one.
pub(crate) fn gpu_memory() -> u64 {
    if gpus() == 0 {
        return 0;
    }
    let Ok(output) = std::process::Command::new("nvidia-smi")
        .args(["--query-gpu=memory.total", "--format=csv,noheader,nounits"])
        .output()
    else {
        return 0;
    };
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.trim().parse::<u64>().ok())
        .min()
        .map_or(0, |mib| mib << 20)
}

fn mem_total(meminfo: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(meminfo).ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mem_total_reads_meminfo() {
        let dir = std::env::temp_dir().join(format!("rung-meminfo-{}", std::process::id()));
        std::fs::write(&dir, "MemTotal:       24684084 kB\nMemFree: 1 kB\n").unwrap();
        assert_eq!(mem_total(&dir), Some(24684084 * 1024));
        std::fs::remove_file(&dir).unwrap();
        assert_eq!(mem_total(Path::new("/nonexistent/meminfo")), None);
    }
}

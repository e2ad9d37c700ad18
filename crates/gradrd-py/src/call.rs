//! How every call runs: off the GIL (other Python threads go on, and two
//! threads analysing two tensors run in parallel), on a worker thread that
//! the calling thread watches for Ctrl-C, and with any Rust panic turned
//! into a `GradrdError` — none crosses into Python.
//!
//! On Ctrl-C the stop flag is raised: an analysis reading arrays stops at
//! its next tensor (what is being computed finishes first), and the call
//! raises `KeyboardInterrupt`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use pyo3::prelude::*;

use crate::errors::internal_error;

/// How often the calling thread looks for a pending signal.
const SIGNAL_POLL: Duration = Duration::from_millis(50);

/// Runs `work` without the GIL, raising `stop` on Ctrl-C.
pub fn detached<T: Send>(
    py: Python<'_>,
    stop: &AtomicBool,
    work: impl FnOnce() -> T + Send,
) -> PyResult<T> {
    let (outcome, interrupt) = py.detach(|| {
        let caller = std::thread::current();
        std::thread::scope(|scope| {
            let worker = scope.spawn(move || {
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
                caller.unpark();
                outcome
            });
            let mut interrupt = None;
            while !worker.is_finished() {
                std::thread::park_timeout(SIGNAL_POLL);
                if interrupt.is_none() && !worker.is_finished() {
                    if let Err(error) = Python::attach(|py| py.check_signals()) {
                        stop.store(true, Ordering::Relaxed);
                        interrupt = Some(error);
                    }
                }
            }
            // the worker catches its own panics, so joining cannot fail
            let outcome = worker.join().unwrap_or_else(|panic| Err(panic));
            (outcome, interrupt)
        })
    });
    if let Some(interrupt) = interrupt {
        return Err(interrupt);
    }
    outcome.map_err(|panic| {
        let reason = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown cause".to_string());
        internal_error(py, format!("gradrd internal error: {reason}"))
    })
}

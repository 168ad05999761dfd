//! The signals a live capture answers: SIGTERM and SIGINT stop it cleanly, SIGHUP reloads its
//! identity map and delegations.
//!
//! Handlers only set flags (through `signal-hook`, which does so async-signal-safely); the
//! capture thread looks at them between packets, at least every read timeout. A second SIGTERM
//! or SIGINT while the capture is finishing ends the process at once (exit code 1): an operator
//! who insists gets the process gone, and the next start recovers the spools.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{Context, Result};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::flag;

/// Flags set by the signal handlers.
pub struct Signals {
    stop: Arc<AtomicBool>,
    reload: Arc<AtomicBool>,
}

impl Signals {
    /// Installs the handlers.
    ///
    /// # Errors
    ///
    /// The system refuses a handler.
    pub fn register() -> Result<Signals> {
        let stop = Arc::new(AtomicBool::new(false));
        let reload = Arc::new(AtomicBool::new(false));

        for signal in [SIGTERM, SIGINT] {
            // Order matters: the conditional exit sees the flag the previous signal set.
            flag::register_conditional_shutdown(signal, 1, stop.clone())
                .context("installing a signal handler")?;
            flag::register(signal, stop.clone()).context("installing a signal handler")?;
        }
        flag::register(SIGHUP, reload.clone()).context("installing a signal handler")?;
        Ok(Signals { stop, reload })
    }

    pub fn stop_requested(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Whether a reload was asked for since the last call.
    pub fn take_reload(&self) -> bool {
        self.reload.swap(false, Ordering::Relaxed)
    }
}

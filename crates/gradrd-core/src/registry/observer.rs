//! Progress of a running analysis, reported to whoever runs it: the command
//! line draws a bar, the report runner names the analysis, Python calls a
//! callback. Calls come from the thread that called `run`.

/// Receives an analysis's progress.
pub trait Observer {
    /// Work of `total` items begins; `verb` says what is done to each
    /// (`"fitting"`).
    fn begin(&mut self, _total: u64, _verb: &str) {}
    /// Work on the item `label` (a tensor's name) starts.
    fn item(&mut self, _label: &str) {}
    /// `n` more items are done.
    fn advance(&mut self, _n: u64) {}
    /// The work is over.
    fn end(&mut self) {}
}

/// Reports nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Observer for Silent {}

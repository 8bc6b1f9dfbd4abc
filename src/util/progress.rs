//! How long work reports its progress without printing: library code calls a [`Progress`];
//! the CLI passes one that draws a bar on a terminal, the preview and tests pass [`Silent`].
pub trait Progress: Sync {
    /// A step of `total` units begins (`what` names it: "images").
    fn start(&self, what: &str, total: u64) {
        let _ = (what, total);
    }
    /// One more unit of the current step is done.
    fn advance(&self) {}
    /// The current step is over.
    fn finish(&self) {}
}

/// Reports nothing.
pub struct Silent;

impl Progress for Silent {}

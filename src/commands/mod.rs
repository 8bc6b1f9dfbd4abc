//! One short module per subcommand: a readable sequence of stage calls, and the terminal output.
pub mod archive;
pub mod build;
pub mod check;
pub mod doctor;
pub mod init;
pub mod preview;
pub mod publish;
pub mod report;
pub mod sandbox;
pub mod stats;
pub mod status;
pub mod survey;
pub mod sync;

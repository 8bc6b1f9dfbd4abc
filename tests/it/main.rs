//! One integration-test binary; one module per feature. Tests run the real `wxpub` binary on
//! copies of real projects in temporary folders.
mod architecture;
mod browser;
mod build;
mod check;
mod comments;
mod doctor;
mod evidence;
mod exactly_once;
mod fuzz;
mod hardening;
mod images;
mod incremental;
mod interactive;
mod mcp;
mod metrics;
mod monitor;
mod pace;
mod phone;
mod postgres;
mod preview;
mod publish;
mod relay;
mod render;
mod support;
mod video;
mod wechat;

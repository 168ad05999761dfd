//! The `otwitness` sensor: capture sources, the analysis pipeline, the command line and the
//! evidence sinks. This is the only crate that touches the outside world (files, interfaces,
//! the terminal).

pub mod capture;
pub mod evidence;
pub mod latency_table;
pub mod live;
pub mod pipeline;
pub mod report;
pub mod signing;
pub mod site_key;
pub mod summary;

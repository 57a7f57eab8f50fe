//! Stack lifecycle decisions, independent of the screen: classify a state, wait with our own
//! poll loop, and find the root cause of a failure.

pub mod failure;
pub mod state;
pub mod wait;

pub use state::{classify, State};
pub use wait::{wait, Mark, Pacing, Waited, Watch};

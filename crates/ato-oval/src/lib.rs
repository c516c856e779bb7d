//! OVAL 5.11 evaluation: datatypes and operations, variables, objects, states, tests,
//! criteria, and the probes that collect items through an `ato_target::Target`.

pub mod compare;
pub mod engine;
pub mod item;
pub mod pcre;
pub mod probes;
pub mod result;
pub mod variables;

pub use engine::{Evaluator, TestOutcome};
pub use item::{Collected, Field, Flag, Item, Status};
pub use result::OvalResult;
